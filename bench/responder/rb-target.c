/* SPDX-License-Identifier: MIT */
/*
 * rb-target.c - the responder benchmark's target, run under libhawk:
 * 100,000 distinct live tracebacks of 30 frames holding 1,000,000 live
 * blocks.
 *
 *   rb-target DIR
 * Writes DIR/ready; on DIR/go allocates and writes DIR/done; exits on
 * DIR/quit (or after ten minutes).
 *
 * Traceback of block j of code c (0..99999), most recent first:
 *   leafL (malloc call site; L = c * 7 % 100), lvA, lvB, lvC (A, B, C the
 *   base-100 digits of c), start, pad x 25 -> 30 frames before main.
 * 100 leaf and 100 level functions on lines of their own give 200
 * distinct call sites; the digit path makes every traceback distinct.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define NOIPA __attribute__((noipa))
#define NCODES 100000
#define PER_CODE 10

typedef void (*leaf_fn)(void);
typedef void (*lv_fn)(int, unsigned);

static void **blocks;
static size_t nblocks;
static leaf_fn leaves[100];
static lv_fn lvs[100];
static unsigned cur;

#define LEAF(n) NOIPA static void leaf##n(void) { int j; for (j = 0; j < PER_CODE; j++) blocks[nblocks++] = malloc(16 + 8 * (size_t)j); }
#define LV(n) NOIPA static void lv##n(int d, unsigned c) { if (d == 0) leaves[cur * 7 % 100](); else lvs[c % 100](d - 1, c / 100); }
#define LEAF10(n) \
LEAF(n##0) \
LEAF(n##1) \
LEAF(n##2) \
LEAF(n##3) \
LEAF(n##4) \
LEAF(n##5) \
LEAF(n##6) \
LEAF(n##7) \
LEAF(n##8) \
LEAF(n##9)
#define LV10(n) LV(n##0) LV(n##1) LV(n##2) LV(n##3) LV(n##4) \
	LV(n##5) LV(n##6) LV(n##7) LV(n##8) LV(n##9)

LEAF(0)
LEAF(1)
LEAF(2)
LEAF(3)
LEAF(4)
LEAF(5)
LEAF(6)
LEAF(7)
LEAF(8)
LEAF(9)
LEAF10(1)
LEAF10(2)
LEAF10(3)
LEAF10(4)
LEAF10(5)
LEAF10(6)
LEAF10(7)
LEAF10(8)
LEAF10(9)
LV(0) LV(1) LV(2) LV(3) LV(4) LV(5) LV(6) LV(7) LV(8) LV(9)
LV10(1)
LV10(2)
LV10(3)
LV10(4)
LV10(5)
LV10(6)
LV10(7)
LV10(8)
LV10(9)

#define R10(p, n) p##n##0, p##n##1, p##n##2, p##n##3, p##n##4, p##n##5, \
	p##n##6, p##n##7, p##n##8, p##n##9
static void
init(void)
{
	static const leaf_fn l[100] = {
		leaf0, leaf1, leaf2, leaf3, leaf4, leaf5, leaf6, leaf7, leaf8,
		leaf9, R10(leaf, 1), R10(leaf, 2), R10(leaf, 3), R10(leaf, 4),
		R10(leaf, 5), R10(leaf, 6), R10(leaf, 7), R10(leaf, 8),
		R10(leaf, 9) };
	static const lv_fn v[100] = {
		lv0, lv1, lv2, lv3, lv4, lv5, lv6, lv7, lv8, lv9, R10(lv, 1),
		R10(lv, 2), R10(lv, 3), R10(lv, 4), R10(lv, 5), R10(lv, 6),
		R10(lv, 7), R10(lv, 8), R10(lv, 9) };
	int i;

	for (i = 0; i < 100; i++) {
		leaves[i] = l[i];
		lvs[i] = v[i];
	}
}

NOIPA static void
start(unsigned c)
{
	cur = c;
	lvs[c % 100](2, c / 100);
}

NOIPA static void
pad(int n, unsigned c)
{
	if (n)
		pad(n - 1, c);
	else
		start(c);
}

static int
seen(const char *dir, const char *name)
{
	char p[4096];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return access(p, F_OK) == 0;
}

static void
touch(const char *dir, const char *name)
{
	char p[4096];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	if (f)
		fclose(f);
}

int
main(int argc, char **argv)
{
	unsigned c;
	int ticks, done = 0;

	if (argc != 2)
		return 2;
	init();
	blocks = calloc(NCODES * PER_CODE, sizeof(*blocks));
	if (!blocks)
		return 1;
	touch(argv[1], "ready");
	for (ticks = 0; ticks < 60000 && !seen(argv[1], "quit"); ticks++) {
		if (!done && seen(argv[1], "go")) {
			for (c = 0; c < NCODES; c++)
				pad(25, c);
			done = 1;
			touch(argv[1], "done");
		}
		usleep(10000);
	}
	return 0;
}
