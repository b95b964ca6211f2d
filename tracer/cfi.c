/* SPDX-License-Identifier: MIT */
/*
 * cfi.c - the CFI reader and interpreter (cfi.h): from a module's
 * .eh_frame_hdr and an address, the row of the DWARF call frame
 * information that covers it, narrowed to the rules the walk follows.
 * Self-contained: it knows no cache, no module table and no walk
 * (fastunw.c has those) and reads the bytes with process_vm_readv on
 * ourselves, so a module unloaded meanwhile, or corrupt CFI, can never
 * fault (tests/t-cfi.c feeds it a synthetic module and 20000 corrupted
 * copies of it).
 *
 * Exactness: a rule is the row of the frame's FDE for its address,
 * computed by the CFA interpreter below.  Only rows of the form
 *   CFA = rsp + N or rbp + N;  RA at CFA + M;  rbp unchanged or at CFA + K
 * are used; every other form (expressions, registers saved in registers,
 * signal frames) is CFI_LIBUNWIND.  A row with RA undefined ends the
 * stack (_start, clone3's child), as in libunwind: CFI_END.
 */
#include "config.h"

#include "cfi.h"

#include <stddef.h>
#include <string.h>
#include <sys/uio.h>          /* process_vm_readv */
#include <unistd.h>

#if defined(__x86_64__)

static pid_t self_pid;

/* DWARF register numbers (x86-64 psABI) */
#define R_RBP 6
#define R_RSP 7
#define R_RA  16

/* Copy n bytes of our own memory at src, or fail if any is unmapped. */
static int
safe_read(void *dst, uint64_t src, size_t n)
{
	struct iovec l = { dst, n }, r = { (void *)(uintptr_t)src, n };

	return process_vm_readv(self_pid, &l, 1, &r, 1, 0) == (ssize_t)n
		       ? 0 : -1;
}

/* ---- reading DWARF from a local copy of remote bytes ---- */

struct rd {
	const uint8_t *p, *end;
	uint64_t base;            /* remote address of the copy's first byte */
	const uint8_t *start;
	int bad;
};

static uint64_t
rd_u(struct rd *r, unsigned n)
{
	uint64_t v = 0;
	unsigned i;

	if (r->bad || (size_t)(r->end - r->p) < n) {
		r->bad = 1;
		return 0;
	}
	for (i = 0; i < n; i++)
		v |= (uint64_t)r->p[i] << (8 * i);
	r->p += n;
	return v;
}

static uint64_t
rd_uleb(struct rd *r)
{
	uint64_t v = 0;
	unsigned shift = 0;

	for (;;) {
		uint8_t b;

		if (r->bad || r->p >= r->end || shift > 63) {
			r->bad = 1;
			return 0;
		}
		b = *r->p++;
		v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80))
			return v;
	}
}

static int64_t
rd_sleb(struct rd *r)
{
	uint64_t v = 0;
	unsigned shift = 0;
	uint8_t b;

	do {
		if (r->bad || r->p >= r->end || shift > 63) {
			r->bad = 1;
			return 0;
		}
		b = *r->p++;
		v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
	} while (b & 0x80);
	if (shift < 64 && (b & 0x40))
		v |= ~UINT64_C(0) << shift;
	return (int64_t)v;
}

/* A DW_EH_PE-encoded pointer: absolute and pc-relative forms only. */
static uint64_t
rd_enc(struct rd *r, uint8_t enc)
{
	uint64_t at = r->base + (uint64_t)(r->p - r->start), v;

	if (enc == 0xff) {         /* omit */
		r->bad = 1;
		return 0;
	}
	switch (enc & 0x0f) {
	case 0x00: case 0x04: case 0x0c: v = rd_u(r, 8); break;
	case 0x01: v = rd_uleb(r); break;
	case 0x02: v = rd_u(r, 2); break;
	case 0x03: v = rd_u(r, 4); break;
	case 0x09: v = (uint64_t)rd_sleb(r); break;
	case 0x0a: v = (uint64_t)(int64_t)(int16_t)rd_u(r, 2); break;
	case 0x0b: v = (uint64_t)(int64_t)(int32_t)rd_u(r, 4); break;
	default: r->bad = 1; return 0;
	}
	switch (enc & 0x70) {
	case 0x00: break;
	case 0x10: v += at; break;
	default: r->bad = 1; return 0;
	}
	if (enc & 0x80)            /* indirect: not in the fields we read */
		r->bad = 1;
	return v;
}

/* ---- the CFA program ---- */

enum { RULE_SAME, RULE_OFF, RULE_UNDEF, RULE_OTHER };

struct row {
	int64_t cfa_off, rbp_off, ra_off;
	uint8_t cfa_reg;           /* DWARF number; 0xff: an expression */
	uint8_t rbp, ra;           /* RULE_* */
};

#define STATE_DEPTH 16

struct cfi {
	uint64_t caf;              /* code alignment */
	int64_t daf;               /* data alignment */
	uint8_t fde_enc;
	int has_z;                 /* augmentation data in each FDE */
	struct row init;           /* after the CIE's instructions */
};

static void
set_reg(struct row *w, uint64_t reg, int rule, int64_t off)
{
	if (reg == R_RBP) {
		w->rbp = (uint8_t)rule;
		w->rbp_off = off;
	} else if (reg == R_RA) {
		w->ra = (uint8_t)rule;
		w->ra_off = off;
	} else if (reg == R_RSP && rule != RULE_SAME) {
		w->cfa_reg = 0xfe;     /* rsp is the CFA by definition here */
	}
}

/* DW_CFA_restore: the register's rule as the CIE left it. */
static void
restore_reg(struct row *w, const struct cfi *ci, uint64_t reg)
{
	if (reg == R_RBP) {
		w->rbp = ci->init.rbp;
		w->rbp_off = ci->init.rbp_off;
	} else if (reg == R_RA) {
		w->ra = ci->init.ra;
		w->ra_off = ci->init.ra_off;
	}
}

/*
 * Run instructions [r) from location `loc` until the row that covers
 * `pc` (for the CIE: all of them).  Returns 0, or -1 on a form we do not
 * follow.
 */
static int
run(struct rd *r, const struct cfi *ci, struct row *w, uint64_t loc,
    uint64_t pc, int is_cie)
{
	struct row stack[STATE_DEPTH];
	int depth = 0;

	while (r->p < r->end && !r->bad) {
		uint8_t op = *r->p++, lo = op & 0x3f;
		uint64_t reg, adv = 0;

		switch (op >> 6) {
		case 1:                /* advance_loc */
			adv = lo;
			goto advance;
		case 2:                /* offset */
			set_reg(w, lo, RULE_OFF,
				(int64_t)rd_uleb(r) * ci->daf);
			continue;
		case 3:                /* restore */
			if (is_cie)
				return -1;
			restore_reg(w, ci, lo);
			continue;
		}
		switch (op) {
		case 0x00:             /* nop */
			break;
		case 0x01:             /* set_loc */
			loc = rd_enc(r, ci->fde_enc);
			if (!is_cie && loc > pc)
				return 0;
			break;
		case 0x02: adv = rd_u(r, 1); goto advance;
		case 0x03: adv = rd_u(r, 2); goto advance;
		case 0x04: adv = rd_u(r, 4); goto advance;
		case 0x05:             /* offset_extended */
			reg = rd_uleb(r);
			set_reg(w, reg, RULE_OFF,
				(int64_t)rd_uleb(r) * ci->daf);
			break;
		case 0x06:             /* restore_extended */
			if (is_cie)
				return -1;
			restore_reg(w, ci, rd_uleb(r));
			break;
		case 0x07:             /* undefined */
			set_reg(w, rd_uleb(r), RULE_UNDEF, 0);
			break;
		case 0x08:             /* same_value */
			set_reg(w, rd_uleb(r), RULE_SAME, 0);
			break;
		case 0x09:             /* register */
			reg = rd_uleb(r);
			rd_uleb(r);
			set_reg(w, reg, RULE_OTHER, 0);
			break;
		case 0x0a:             /* remember_state */
			if (depth == STATE_DEPTH)
				return -1;
			stack[depth++] = *w;
			break;
		case 0x0b:             /* restore_state */
			if (depth == 0)
				return -1;
			*w = stack[--depth];   /* CFA included */
			break;
		case 0x0c:             /* def_cfa */
			reg = rd_uleb(r);
			w->cfa_reg = reg < 0xfe ? (uint8_t)reg : 0xff;
			w->cfa_off = (int64_t)rd_uleb(r);
			break;
		case 0x0d:             /* def_cfa_register */
			reg = rd_uleb(r);
			w->cfa_reg = reg < 0xfe ? (uint8_t)reg : 0xff;
			break;
		case 0x0e:             /* def_cfa_offset */
			w->cfa_off = (int64_t)rd_uleb(r);
			break;
		case 0x0f:             /* def_cfa_expression */
			w->cfa_reg = 0xff;
			{
				uint64_t len = rd_uleb(r);

				if (len > (uint64_t)(r->end - r->p))
					return -1;
				r->p += len;
			}
			break;
		case 0x10:             /* expression */
		case 0x16:             /* val_expression */
			reg = rd_uleb(r);
			{
				uint64_t len = rd_uleb(r);

				if (len > (uint64_t)(r->end - r->p))
					return -1;
				r->p += len;
			}
			set_reg(w, reg, RULE_OTHER, 0);
			break;
		case 0x11:             /* offset_extended_sf */
			reg = rd_uleb(r);
			set_reg(w, reg, RULE_OFF, rd_sleb(r) * ci->daf);
			break;
		case 0x12:             /* def_cfa_sf */
			reg = rd_uleb(r);
			w->cfa_reg = reg < 0xfe ? (uint8_t)reg : 0xff;
			w->cfa_off = rd_sleb(r) * ci->daf;
			break;
		case 0x13:             /* def_cfa_offset_sf */
			w->cfa_off = rd_sleb(r) * ci->daf;
			break;
		case 0x14:             /* val_offset */
			reg = rd_uleb(r);
			rd_uleb(r);
			set_reg(w, reg, RULE_OTHER, 0);
			break;
		case 0x15:             /* val_offset_sf */
			reg = rd_uleb(r);
			rd_sleb(r);
			set_reg(w, reg, RULE_OTHER, 0);
			break;
		case 0x2e:             /* GNU_args_size */
			rd_uleb(r);
			break;
		case 0x2f:             /* GNU_negative_offset_extended */
			reg = rd_uleb(r);
			set_reg(w, reg, RULE_OFF,
				-(int64_t)rd_uleb(r) * ci->daf);
			break;
		default:
			return -1;
		}
		continue;
advance:
		if (is_cie)
			return -1;
		loc += adv * ci->caf;
		if (loc > pc)
			return 0;
	}
	return r->bad ? -1 : 0;
}

/* ---- FDE lookup ---- */

#define FDE_MAX 2048u
#define CIE_MAX 512u

/* Find the FDE covering pc through the module's .eh_frame_hdr table. */
static uint64_t
find_fde(uint64_t hdr, uint64_t pc)
{
	uint8_t h[16];
	struct rd r;
	uint64_t count, table, lo, hi;

	if (safe_read(h, hdr, sizeof(h)) < 0)
		return 0;
	/* version 1; eh_frame_ptr any; count udata4; table datarel sdata4 */
	if (h[0] != 1 || h[2] != 0x03 || h[3] != 0x3b)
		return 0;
	r = (struct rd){ h + 4, h + sizeof(h), hdr, h, 0 };
	rd_enc(&r, h[1] & 0x0f);   /* skipped: its format only */
	count = rd_u(&r, 4);
	if (r.bad || !count)
		return 0;
	table = hdr + (uint64_t)(r.p - h);
	lo = 0;
	hi = count;
	while (hi - lo > 1) {      /* last entry with start <= pc */
		uint64_t mid = lo + (hi - lo) / 2;
		int32_t e[2];

		if (safe_read(e, table + mid * 8, 8) < 0)
			return 0;
		if (hdr + (uint64_t)(int64_t)e[0] <= pc)
			lo = mid;
		else
			hi = mid;
	}
	{
		int32_t e[2];

		if (safe_read(e, table + lo * 8, 8) < 0 ||
		    hdr + (uint64_t)(int64_t)e[0] > pc)
			return 0;
		return hdr + (uint64_t)(int64_t)e[1];
	}
}

/* Read one CIE or FDE record (32-bit length form) into buf. */
static int
read_rec(uint64_t at, uint8_t *buf, size_t cap, size_t *len)
{
	uint32_t n;

	if (safe_read(&n, at, 4) < 0 || n == 0 || n == 0xffffffffu ||
	    n > cap - 4)
		return -1;
	if (safe_read(buf, at, n + 4) < 0)
		return -1;
	*len = n + 4;
	return 0;
}

static int
parse_cie(uint64_t at, struct cfi *ci)
{
	uint8_t buf[CIE_MAX];
	const char *aug;
	size_t len;
	struct rd r;
	uint8_t ver;
	uint64_t ra;
	const uint8_t *aug_end = NULL;

	if (read_rec(at, buf, sizeof(buf), &len) < 0)
		return -1;
	r = (struct rd){ buf + 4, buf + len, at, buf, 0 };
	if (rd_u(&r, 4) != 0)      /* CIE id in .eh_frame */
		return -1;
	ver = (uint8_t)rd_u(&r, 1);
	if (ver != 1 && ver != 3)
		return -1;
	aug = (const char *)r.p;
	while (r.p < r.end && *r.p)
		r.p++;
	if (r.p >= r.end)
		return -1;
	r.p++;
	ci->caf = rd_uleb(&r);
	ci->daf = rd_sleb(&r);
	ra = ver == 1 ? rd_u(&r, 1) : rd_uleb(&r);
	if (ra != R_RA)
		return -1;
	ci->fde_enc = 0;           /* absptr */
	ci->has_z = aug[0] == 'z';
	if (ci->has_z) {
		uint64_t alen = rd_uleb(&r);
		const char *a;

		if (r.bad || alen > (uint64_t)(r.end - r.p))
			return -1;
		aug_end = r.p + alen;
		for (a = aug + 1; *a; a++) {
			uint8_t enc;

			switch (*a) {
			case 'L':
				rd_u(&r, 1);
				break;
			case 'P':
				enc = (uint8_t)rd_u(&r, 1);
				rd_enc(&r, enc & 0x0f);   /* skipped */
				break;
			case 'R':
				ci->fde_enc = (uint8_t)rd_u(&r, 1);
				break;
			default:       /* 'S' (signal frame) and others */
				return -1;
			}
		}
		if (r.bad || r.p > aug_end)
			return -1;
		r.p = aug_end;
	} else if (aug[0]) {
		return -1;
	}
	memset(&ci->init, 0, sizeof(ci->init));
	ci->init.cfa_reg = 0xff;
	ci->init.rbp = RULE_SAME;
	ci->init.ra = RULE_UNDEF;
	return run(&r, ci, &ci->init, 0, 0, 1);
}

/*
 * The row at pc of the module whose .eh_frame_hdr is at hdr: 0 and *w
 * filled, or -1 (libunwind's).  A few process_vm_readv calls.
 */
static int
rule_at(uint64_t hdr, uint64_t pc, struct row *w)
{
	uint8_t buf[FDE_MAX];
	struct cfi ci;
	struct rd r;
	uint64_t fde, start, range;
	size_t len;
	int32_t cie_off;

	if (!hdr || !(fde = find_fde(hdr, pc)))
		return -1;
	if (read_rec(fde, buf, sizeof(buf), &len) < 0)
		return -1;
	memcpy(&cie_off, buf + 4, 4);
	if (cie_off == 0 || parse_cie(fde + 4 - (uint64_t)(int64_t)cie_off,
				      &ci) < 0)
		return -1;
	r = (struct rd){ buf + 8, buf + len, fde, buf, 0 };
	start = rd_enc(&r, ci.fde_enc);
	range = rd_enc(&r, ci.fde_enc & 0x0f);
	if (r.bad || pc < start || pc - start >= range)
		return -1;
	if (ci.has_z) {            /* the FDE's augmentation data */
		uint64_t alen = rd_uleb(&r);

		if (r.bad || alen > (uint64_t)(r.end - r.p))
			return -1;
		r.p += alen;
	}
	*w = ci.init;
	return run(&r, &ci, w, start, pc, 0);
}

int
cfi_init(void)
{
	uint64_t probe = 0x6861776b, got = 0;

	self_pid = getpid();
	if (safe_read(&got, (uint64_t)(uintptr_t)&probe, 8) < 0 ||
	    got != probe)
		return -1;
	return 0;
}

void
cfi_after_fork_child(void)
{
	self_pid = getpid();
}

void
cfi_rule_at(uint64_t hdr, uint64_t pc, struct cfi_rule *r)
{
	struct row w;
	uint8_t flags = CFI_LIBUNWIND;

	memset(r, 0, sizeof(*r));
	if (rule_at(hdr, pc, &w) == 0) {
		if (w.ra == RULE_UNDEF) {
			flags = CFI_END;
		} else if (w.ra == RULE_OFF && w.ra_off >= -128 &&
			   w.ra_off <= 127 &&
			   (w.cfa_reg == R_RSP || w.cfa_reg == R_RBP) &&
			   w.cfa_off >= INT32_MIN && w.cfa_off <= INT32_MAX &&
			   (w.rbp == RULE_SAME ||
			    (w.rbp == RULE_OFF && w.rbp_off != 0 &&
			     w.rbp_off >= INT16_MIN &&
			     w.rbp_off <= INT16_MAX))) {
			flags = CFI_STD;
			r->cfa_off = (int32_t)w.cfa_off;
			r->ra_off = (int8_t)w.ra_off;
			if (w.rbp == RULE_OFF)
				r->rbp_off = (int16_t)w.rbp_off;
			if (w.cfa_reg == R_RBP)
				flags |= CFI_CFA_RBP;
		}
	}
	r->flags = flags;
}

#else /* not x86-64: no rule is ever ours */

int
cfi_init(void)
{
	return -1;
}

void
cfi_after_fork_child(void)
{
}

void
cfi_rule_at(uint64_t hdr, uint64_t pc, struct cfi_rule *r)
{
	(void)hdr; (void)pc;
	memset(r, 0, sizeof(*r));
	r->flags = CFI_LIBUNWIND;
}

#endif
