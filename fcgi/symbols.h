/* SPDX-License-Identifier: MIT */
/*
 * symbols.h - turn a target's return addresses into source frames with
 * elfutils libdw; the cache lives as long as the responder process.
 *
 * The symbolizer knows snapshots (ipc/seg_read.h) but nothing of HTTP, statistics
 * or formats.  It is thread-safe: the responder's worker threads share one.
 */
#ifndef HAWK_FCGI_SYMBOLS_H
#define HAWK_FCGI_SYMBOLS_H

#include <stdint.h>

#include "seg_read.h"

/*
 * One source frame.  Strings are interned in the symbolizer and stay valid
 * until sym_free(); equal strings have equal pointers (compare pointers to
 * group by file).
 *   file      source path from DWARF; without line info the module path;
 *             with nothing known "<unknown>" (as CPython writes it)
 *   line      source line, 0 when unknown (never invented)
 *   function  demangled name; without DWARF "symbol+0xOFF" from the ELF
 *             symbol table; "" when nothing is known
 *   module    path of the loaded object containing the address, or ""
 */
struct sym_frame {
	const char *file;
	uint32_t line;
	const char *function;
	const char *module;
};

struct symbolizer;

/* Returns NULL only when out of memory. */
struct symbolizer *sym_new(void);
void sym_free(struct symbolizer *s);

/*
 * Resolve the return address `addr` of process `pid` described by snapshot
 * `snap` (its module table).  The lookup uses addr - 1 so that it lands in
 * the call instruction.  Inlined calls are frames of their own: out[0] is
 * the innermost (most recent) one, out[n-1] the physical function.  Fills
 * at most `max` (>= 1) frames and returns how many (>= 1); never fails:
 * what cannot be resolved becomes a "<unknown>"/module frame with line 0.
 * Module files are opened through /proc/<pid>/root when that is readable
 * (targets in another mount namespace), else by their path.  Results are
 * cached per (module file identity: build-id, else device+inode+mtime+size;
 * address relative to the module), so a rebuilt binary is never served
 * stale lines.
 */
int sym_resolve(struct symbolizer *s, const struct snap *snap,
		uint64_t addr, struct sym_frame *out, int max);

/*
 * The text of line `line` of source file `file`, stripped of leading and
 * trailing white space as Python's linecache + str.strip() give it, or ""
 * when the file or line cannot be read.  Interned, cached, thread-safe.
 */
const char *sym_source_line(struct symbolizer *s, const char *file,
			    uint32_t line);

#endif /* HAWK_FCGI_SYMBOLS_H */
