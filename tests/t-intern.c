/* SPDX-License-Identifier: MIT */
/*
 * t-intern.c - unit test of tracer/intern.c: identity of tracebacks,
 * generations, growth, memory returned on reset.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>

#include "tap.h"
#include "arena.h"
#include "intern.h"

int
main(void)
{
	uint64_t f[40], g[40];
	uint32_t a = 0, b = 0, c = 0, d = 0, i, j, bad = 0;
	static uint32_t idx[20000];

	for (i = 0; i < 40; i++)
		f[i] = g[i] = 0x400000 + i * 16;
	intern_reset(1);
	is_int(intern_trace(1, f, 30, 30, &a), 0, "intern a traceback");
	is_int(intern_trace(1, g, 30, 30, &b), 0, "intern an equal one");
	is_int(a, b, "equal tracebacks share one index");
	g[29]++;
	intern_trace(1, g, 30, 30, &c);
	ok(c != a, "a different last frame is another traceback");
	intern_trace(1, f, 30, 31, &d);
	ok(d != a && d != c, "a different total depth is another traceback");
	intern_trace(1, f, 29, 29, &d);
	ok(d != a, "a shorter traceback is another one");
	is_int(intern_count(), 4, "4 distinct tracebacks");
	{
		const struct trace *t = intern_get(a);

		ok(t && t->nframes == 30 && t->total == 30 &&
		   t->frames[0] == f[0] && t->frames[29] == f[29],
		   "intern_get returns the frames");
	}
	is_int(intern_trace(3, f, 30, 30, &a), -ESTALE,
	       "another generation is refused");

	for (i = 0; i < 20000; i++) {
		f[0] = 0x1000 + i;
		f[1] = i * 7919u;
		if (intern_trace(1, f, 2 + i % 30, 40, &idx[i]) < 0)
			bad++;
	}
	is_int(bad, 0, "20000 more tracebacks interned (tables grow)");
	is_int(intern_count(), 20004, "count");
	for (i = 0, bad = 0; i < 20000; i++) {
		const struct trace *t = intern_get(idx[i]);
		uint32_t again;

		f[0] = 0x1000 + i;
		f[1] = i * 7919u;
		if (!t || t->nframes != 2 + i % 30 || t->frames[0] != f[0] ||
		    t->frames[1] != f[1])
			bad++;
		for (j = 2; t && j < t->nframes; j++)
			if (t->frames[j] != f[j])
				bad++;
		if (intern_trace(1, f, 2 + i % 30, 40, &again) < 0 ||
		    again != idx[i])
			bad++;
	}
	is_int(bad, 0, "every one found again at its index, frames intact");
	ok(intern_bytes() > 0 && intern_bytes() == arena_bytes(),
	   "memory accounted (%llu bytes)",
	   (unsigned long long)intern_bytes());
	intern_reset(2);
	is_int(intern_count(), 0, "reset forgets");
	is_int(arena_bytes(), 0, "reset returns every byte");
	return done_testing();
}
