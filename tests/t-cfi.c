/* SPDX-License-Identifier: MIT */
/*
 * t-cfi.c - unit test of tracer/cfi.c, the CFI reader and interpreter,
 * and of tracer/fastunw.c's walk, on a synthetic module built here byte
 * by byte: an .eh_frame_hdr, a CIE and
 * FDEs whose rows are known (prologue with a frame pointer, remember/
 * restore state, a CFA expression, an undefined return address, a signal
 * frame), a walk over a fake stack laid out for them, a walk that leaves
 * the stack, and then 20000 randomly corrupted copies of the CFI, which
 * must only ever give "libunwind's" or a row - never a crash or a read
 * outside the bytes (run under ASan/UBSan in the sanitizer build).
 * Linked with cfi.c and fastunw.c; the synthetic module reaches the
 * walker through fu_modules_publish, the walk runs on this thread's real
 * stack.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfi.h"
#include "fastunw.h"
#include "tap.h"

#if defined(__x86_64__)

static uint8_t img[4096] __attribute__((aligned(16)));
static uint8_t pristine[sizeof(img)];
static size_t cfi_end;            /* bytes of img in use */

/* fake code addresses: never executed, only looked up */
static uint8_t text[0x200] __attribute__((aligned(16)));
#define F(n) ((uint64_t)(uintptr_t)text + 0x40u * (n))

static size_t at;

static void put(const void *p, size_t n) { memcpy(img + at, p, n); at += n; }
static void u8(uint8_t v) { put(&v, 1); }
static void u32(uint32_t v) { put(&v, 4); }
static void s32(int32_t v) { put(&v, 4); }
static uint64_t addr(size_t off) { return (uint64_t)(uintptr_t)img + off; }

/* a CIE: "zR" (pcrel sdata4 pointers), or "zRS" when signal */
static size_t
cie(int signal)
{
	size_t start = at, len;

	u32(0);                    /* length, patched */
	u32(0);                    /* CIE id */
	u8(1);                     /* version */
	put(signal ? "zRS" : "zR", signal ? 4 : 3);
	u8(1);                     /* code alignment */
	u8(0x78);                  /* data alignment -8 */
	u8(16);                    /* return address column */
	u8(1);                     /* augmentation length */
	u8(0x1b);                  /* R: pcrel sdata4 */
	u8(0x0c); u8(7); u8(8);    /* def_cfa rsp+8 */
	u8(0x80 | 16); u8(1);      /* RA at cfa-8 */
	while ((at - start) % 4)
		u8(0);             /* nop */
	len = at - start - 4;
	memcpy(img + start, &(uint32_t){ (uint32_t)len }, 4);
	return start;
}

static size_t
fde(size_t cie_at, uint64_t pc, uint32_t range, const uint8_t *ops,
    size_t nops)
{
	size_t start = at, len;

	u32(0);
	u32((uint32_t)(at - cie_at));
	s32((int32_t)(pc - addr(at)));
	s32((int32_t)range);
	u8(0);                     /* augmentation length */
	put(ops, nops);
	while ((at - start) % 4)
		u8(0);
	len = at - start - 4;
	memcpy(img + start, &(uint32_t){ (uint32_t)len }, 4);
	return start;
}

static void
build(void)
{
	static const uint8_t f0[] = {
		0x41, 0x0e, 0x10,          /* +1: cfa rsp+16 */
		0x86, 0x02,                /* rbp at cfa-16 */
		0x43, 0x0d, 0x06,          /* +4: cfa rbp(+16) */
		0x60, 0x0c, 0x07, 0x08,    /* +36: cfa rsp+8 (epilogue) */
		0xc6,                      /* rbp restored */
	};
	static const uint8_t f1[] = {
		0x41, 0x0e, 0x20,          /* +1: cfa rsp+32 */
		0x0a,                      /* remember */
		0x44, 0x0e, 0x08,          /* +5: cfa rsp+8 */
		0x41, 0x0b,                /* +6: restore: rsp+32 */
	};
	static const uint8_t f2[] = {
		0x42, 0x0f, 0x03, 0x77, 0x08, 0x06,   /* +2: CFA expression */
	};
	static const uint8_t f3[] = {
		0x07, 0x10,                /* RA undefined: outermost */
	};
	size_t hdr_table, c, cs, fdes[5];
	uint64_t pcs[5] = { F(0), F(1), F(2), F(3), F(4) };
	int i;

	/* .eh_frame_hdr at 0, table filled below; .eh_frame at 128 */
	at = 0;
	u8(1); u8(0x1b); u8(0x03); u8(0x3b);
	s32((int32_t)(128 - 4));   /* eh_frame_ptr, pcrel */
	u32(5);                    /* FDE count */
	hdr_table = at;
	at = 128;
	c = cie(0);
	fdes[0] = fde(c, F(0), 0x40, f0, sizeof(f0));
	fdes[1] = fde(c, F(1), 0x40, f1, sizeof(f1));
	fdes[2] = fde(c, F(2), 0x40, f2, sizeof(f2));
	fdes[3] = fde(c, F(3), 0x40, f3, sizeof(f3));
	cs = cie(1);
	fdes[4] = fde(cs, F(4), 0x40, f3, 0);
	u32(0);                    /* terminator */
	cfi_end = at;
	at = hdr_table;
	for (i = 0; i < 5; i++) {
		s32((int32_t)(pcs[i] - addr(0)));
		s32((int32_t)fdes[i]);
	}
	memcpy(pristine, img, sizeof(img));

	fu_modules_publish(&(struct fu_mod){ F(0), F(0) + sizeof(text),
					     addr(0) }, 1);
}

/* The rule at pc, looked up as the walker does: the module, then its
 * CFI (no module: libunwind's). */
static void
rule(uint64_t pc, struct cfi_rule *r)
{
	int in = pc >= F(0) && pc < F(0) + sizeof(text);

	cfi_rule_at(in ? addr(0) : 0, pc, r);
}

/* "rsp+16 rbp@-16 ra@-8", "rbp+16 ...", "libunwind", "end" */
static const char *
row_at(uint64_t pc)
{
	static char s[64];
	struct cfi_rule e;

	rule(pc, &e);
	if (e.flags & CFI_LIBUNWIND)
		return "libunwind";
	if (e.flags & CFI_END)
		return "end";
	snprintf(s, sizeof(s), "%s+%d rbp@%d ra@%d",
		 (e.flags & CFI_CFA_RBP) ? "rbp" : "rsp", e.cfa_off, e.rbp_off,
		 e.ra_off);
	return s;
}

static void
rows(void)
{
	is_str(row_at(F(0)), "rsp+8 rbp@0 ra@-8", "entry: CIE's row");
	is_str(row_at(F(0) + 1), "rsp+16 rbp@-16 ra@-8", "after push rbp");
	is_str(row_at(F(0) + 3), "rsp+16 rbp@-16 ra@-8", "still");
	is_str(row_at(F(0) + 4), "rbp+16 rbp@-16 ra@-8", "frame pointer set");
	is_str(row_at(F(0) + 35), "rbp+16 rbp@-16 ra@-8", "body");
	is_str(row_at(F(0) + 36), "rsp+8 rbp@0 ra@-8",
	       "epilogue: cfa rsp+8, rbp restored");
	is_str(row_at(F(1) + 4), "rsp+32 rbp@0 ra@-8", "before remember");
	is_str(row_at(F(1) + 5), "rsp+8 rbp@0 ra@-8", "remembered, changed");
	is_str(row_at(F(1) + 6), "rsp+32 rbp@0 ra@-8", "restore_state");
	is_str(row_at(F(2) + 1), "rsp+8 rbp@0 ra@-8", "before the expression");
	is_str(row_at(F(2) + 2), "libunwind", "CFA by expression: libunwind's");
	is_str(row_at(F(3)), "end", "RA undefined: the outermost frame");
	is_str(row_at(F(4)), "libunwind", "signal frame (S): libunwind's");
	is_str(row_at(F(0) + sizeof(text) + 64), "libunwind",
	       "outside every module: libunwind's");
	is_str(row_at(F(5) + 8), "libunwind",
	       "in the module but no FDE covers it: libunwind's");
}

static void
bail(const char *what)
{
	printf("Bail out! %s\n", what);
	exit(1);
}

/* Not on any thread's stack. */
static uint64_t off_stack[16];

/*
 * A fake stack, laid out in an array on this thread's real stack (the
 * walker only reads inside the thread's stack): frame A in F(1)'s body
 * (cfa rsp+32), called from F(0)'s body (cfa rbp+16, rbp saved at
 * cfa-16), called from F(3) (outermost).
 */
static void
walk(void)
{
	uint64_t stk[64];
	uint64_t buf[16], sp = (uint64_t)(uintptr_t)&stk[4], bp;
	uint64_t cfa_a = sp + 32, cfa_b, stack_lo, stack_hi;
	pthread_attr_t a;
	void *lo;
	size_t size;
	int n;

	memset(stk, 0, sizeof(stk));
	if (pthread_getattr_np(pthread_self(), &a) != 0 ||
	    pthread_attr_getstack(&a, &lo, &size) != 0)
		bail("this thread's stack");
	pthread_attr_destroy(&a);
	stack_lo = (uint64_t)(uintptr_t)stk;
	stack_hi = (uint64_t)(uintptr_t)lo + size;
	/* A's caller, in F(0) at +20, has cfa = its rbp + 16 */
	cfa_b = cfa_a + 64;
	bp = cfa_b - 16;           /* F(0)'s rbp, saved by nobody below */
	stk[(cfa_a - 8 - stack_lo) / 8] = F(0) + 21;   /* RA: pc - 1 = +20 */
	stk[(cfa_b - 8 - stack_lo) / 8] = F(3) + 9;    /* into F(3) */
	stk[(cfa_b - 16 - stack_lo) / 8] = 0x1234;     /* saved rbp */
	__asm__ volatile("" : : "r"(stk) : "memory");  /* the walk reads it */
	n = fu_walk(buf, 16, F(1) + 6, sp, bp);
	is_int(n, 3, "walk: three frames, the last one outermost");
	ok(n == 3 && buf[0] == F(1) + 6 && buf[1] == F(0) + 21 &&
	   buf[2] == F(3) + 9, "walk: the exact addresses");
	n = fu_walk(buf, 2, F(1) + 6, sp, bp);
	is_int(n, 2, "walk: stops at `want`");
	/* an RA slot outside the stack: libunwind's, nothing read */
	n = fu_walk(buf, 16, F(1) + 6, stack_hi - 16, bp);
	is_int(n, -1, "walk: a CFA past the stack's top: libunwind's");
	n = fu_walk(buf, 16, F(1) + 6, (uint64_t)(uintptr_t)off_stack, bp);
	is_int(n, -1, "walk: sp not on the thread's stack: libunwind's");
	/* frame B's rbp points off the stack */
	n = fu_walk(buf, 16, F(1) + 6, sp, 8);
	is_int(n, -1, "walk: an rbp-based CFA off the stack: libunwind's");
}

static void
fuzz(void)
{
	unsigned seed = 12345, i, bad = 0;

	for (i = 0; i < 20000; i++) {
		unsigned k, flips = 1 + rand_r(&seed) % 8;
		struct cfi_rule e;
		uint64_t pc;

		memcpy(img, pristine, sizeof(img));
		for (k = 0; k < flips; k++) {
			size_t off = (size_t)rand_r(&seed) % cfi_end;

			img[off] = (uint8_t)rand_r(&seed);
		}
		pc = F(0) - 64 + (uint64_t)(rand_r(&seed) % (6 * 0x40 + 128));
		rule(pc, &e);
		if (e.flags & ~(CFI_LIBUNWIND | CFI_END | CFI_CFA_RBP))
			bad++;
	}
	memcpy(img, pristine, sizeof(img));
	is_int(bad, 0, "20000 corrupted copies of the CFI: only rows or "
	       "libunwind's, no crash");
}

int
main(void)
{
	if (fu_init("fast") != 0 || fu_mode != FU_FAST)
		bail("fu_init: the walker does not work here");
	build();
	rows();
	walk();
	fuzz();
	return done_testing();
}

#else

int
main(void)
{
	skip("the walker is x86-64 only");
	return done_testing();
}

#endif
