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
 * until sym_free().
 *   file      source path from DWARF.  Without a line, the frame's own
 *             identity in the form of backtrace_symbols(3):
 *             "MODULE(SYMBOL+0xOFF)", or "MODULE(+0xREL)" when no symbol
 *             covers the address (or the module cannot be read), or
 *             "MODULE(SYMBOL+0xOFF) [+0xREL]" when SYMBOL names several
 *             addresses of the module (local symbols of the same name):
 *             so two return addresses never share a (file, line 0) and
 *             tracemalloc, which keys a frame by (filename, lineno) only,
 *             keeps them apart.  With no module at all "<unknown>" (as
 *             CPython writes it).
 *   line      source line, 0 when unknown (never invented)
 *   function  demangled name; without DWARF "symbol+0xOFF" from the ELF
 *             symbol table (.symtab, else .dynsym), OFF being the return
 *             address's offset from the symbol; "" when nothing is known
 *   module    path of the loaded object containing the address, or ""
 *   offset    REL: the return address minus the module's load bias, i.e.
 *             its ELF virtual address in the module file (what addr2line
 *             -e MODULE takes, after subtracting 1), 0 without a module
 *   build_id  the module's build-id in hex as the target reported it, or ""
 *             (with offset, enough to symbolize the frame elsewhere)
 */
struct sym_frame {
	const char *file;
	uint32_t line;
	const char *function;
	const char *module;
	uint64_t offset;
	const char *build_id;
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
 * (targets in another mount namespace), else by their path, else through
 * /proc/<pid>/map_files (replaced since loaded) -- always with the rights
 * of process snap->h->pid (started at snap->h->start_time) and never more
 * than the responder's own (sym_cred.c), regular files only, without the
 * lock held.  Results are cached per (those rights; module file identity:
 * build-id, else device+inode+mtime+size; address relative to the module),
 * so a rebuilt binary is never served stale lines and one user's target
 * is never served what another's made the symbolizer read.
 */
int sym_resolve(struct symbolizer *s, const struct snap *snap,
		uint64_t addr, struct sym_frame *out, int max);

/*
 * The text of line `line` of source file `file`, stripped of leading and
 * trailing white space as Python's linecache + str.strip() give it, or ""
 * when the file or line cannot be read.  `file` must be a frame's file
 * pointer from sym_resolve: the file is read with the rights of the target
 * whose debug info named it (any other string reads as "").  Interned,
 * cached, thread-safe.
 */
const char *sym_source_line(struct symbolizer *s, const char *file,
			    uint32_t line);

#endif /* HAWK_FCGI_SYMBOLS_H */
