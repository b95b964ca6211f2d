/* SPDX-License-Identifier: MIT */
/*
 * modules.h - the loaded objects, for a snapshot's module table.
 */
#ifndef HAWK_TRACER_MODULES_H
#define HAWK_TRACER_MODULES_H

#include <stddef.h>
#include <stdint.h>

#include "segment.h"

struct modules {
	struct snap_module *mods;  /* n entries, path_off into strings */
	uint64_t n;
	char *strings;
	uint64_t strings_size;     /* bytes used, each path NUL-ended */
	size_t mods_map, strings_map;  /* mapping sizes */
};

/*
 * Collect every loaded object with dl_iterate_phdr: path (the main
 * program's from /proc/self/exe), [lo, hi) of its PT_LOADs, load bias and
 * GNU build-id.  Agent only: takes the loader's lock, never on the
 * allocation path.  Memory from arena_map.  Returns 0 or -ENOMEM.
 */
int modules_collect(struct modules *m);
void modules_free(struct modules *m);

#endif /* HAWK_TRACER_MODULES_H */
