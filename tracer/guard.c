/* SPDX-License-Identifier: MIT */
/*
 * guard.c - the reentrancy flag's definition and, in a debug build, the
 * lock-order check's per-thread state and its failure report (guard.h).
 * A leaf: the small files that only need the flag (defer.c, fastunw.c,
 * unwind.c, the tables) and their unit tests link this and nothing of the
 * recording core.
 */
#include "config.h"

#include "guard.h"

#ifdef HAWK_DEBUG
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#endif

__thread int guard_active __attribute__((tls_model("initial-exec")));

#ifdef HAWK_DEBUG
__thread uint64_t guard_witness_held[LOCK_RANK_N]
	__attribute__((tls_model("initial-exec")));

static const char *const rank_name[LOCK_RANK_N] = {
	"creds_lock", "control_lock", "defer registry", "intern shard",
	"blocks shard",
};

/* "hawk: lock order violated: taking <lock> <idx> while holding: <lock>"
 * on stderr (write(2): no stdio, no allocation), then abort. */
void
guard_witness_fail(unsigned rank, unsigned idx, unsigned held_rank)
{
	char line[160], num[12];
	size_t len = 0;
	int n = 0;
	const char *parts[] = {
		"hawk: lock order violated: taking ", rank_name[rank], " ",
		NULL, " while holding: ", rank_name[held_rank], "\n",
	};
	unsigned i;

	do {
		num[n++] = (char)('0' + idx % 10);
		idx /= 10;
	} while (idx);
	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (!parts[i]) {
			while (n)
				line[len++] = num[--n];
			continue;
		}
		memcpy(line + len, parts[i], strlen(parts[i]));
		len += strlen(parts[i]);
	}
	if (write(2, line, len) < 0)
		abort();
	abort();
}
#endif
