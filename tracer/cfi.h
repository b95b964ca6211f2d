/* SPDX-License-Identifier: MIT */
/*
 * cfi.h - the CFI reader and interpreter (cfi.c): the frame rule at an
 * address, from the module's .eh_frame_hdr.  Used by the stack walker
 * (fastunw.c) on its slow path, once per address per process; knows
 * nothing of the walker's caches or module table.  Never faults: every
 * byte is read with process_vm_readv.
 */
#ifndef HAWK_TRACER_CFI_H
#define HAWK_TRACER_CFI_H

#include <stdint.h>

/* struct cfi_rule's flags */
enum {
	CFI_STD = 0,               /* the offsets below */
	CFI_END = 1,               /* the outermost frame: RA undefined */
	CFI_LIBUNWIND = 2          /* a form the walk does not follow */
};
#define CFI_CFA_RBP 4u             /* CFA = rbp + cfa_off, else rsp + */

/* How to go from a frame to its caller (CFI_STD): CFA = rsp or rbp +
 * cfa_off; the return address at CFA + ra_off; the caller's rbp at
 * CFA + rbp_off, or unchanged when rbp_off is 0. */
struct cfi_rule {
	int32_t cfa_off;
	int16_t rbp_off;
	int8_t ra_off;
	uint8_t flags;             /* CFI_* | CFI_CFA_RBP */
};

/* Once, and in a fork child: this process's pid, for process_vm_readv.
 * cfi_init returns -1 when process_vm_readv does not work here (then
 * every rule would be CFI_LIBUNWIND), else 0. */
int cfi_init(void);
void cfi_after_fork_child(void);

/*
 * The rule at pc (a return address is looked up at ra - 1, inside the
 * call) in the module whose .eh_frame_hdr is at hdr (0: none, then
 * CFI_LIBUNWIND).  Can't fail: anything it cannot read or follow is
 * CFI_LIBUNWIND.  Not async-signal-safe only in that it reads memory
 * with a system call; takes no lock, allocates nothing.
 */
void cfi_rule_at(uint64_t hdr, uint64_t pc, struct cfi_rule *r);

#endif /* HAWK_TRACER_CFI_H */
