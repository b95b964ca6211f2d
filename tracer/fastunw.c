/* SPDX-License-Identifier: MIT */
/*
 * fastunw.c - see fastunw.h.
 *
 * Why: libunwind's unw_backtrace costs about 33 ns of set-up per call
 * (unw_getcontext, a cursor of every register) and 5.5 ns per frame (a
 * probed hash of the frame's address, then the rule) on this machine -
 * the largest part of a traced malloc.  Here a walk starts from three
 * registers read by the caller, and a frame is one direct-mapped lookup,
 * an add and one or two loads.
 *
 * Exactness: a rule is the row of the frame's FDE for its address
 * (return addresses are looked up at ra - 1, inside the call), computed
 * by the DWARF CFA interpreter below.  Only rows of the form
 *   CFA = rsp + N or rbp + N;  RA at CFA + M;  rbp unchanged or at CFA + K
 * are used; every other form (expressions, registers saved in registers,
 * signal frames) is recorded as "libunwind's" and a walk that meets one
 * returns -1.  A row with RA undefined ends the stack (_start,
 * clone3's child), as in libunwind.  Every load from the stack is checked
 * against the thread's stack, [sp at the capture, top) - never a fault.
 *
 * Modules: fu_refresh (control path) publishes a table of executable
 * ranges and their .eh_frame_hdr, in one of FU_TABS static slots (a
 * reader that holds an older table reads consistent, if stale, data; a
 * slot is reused only FU_TABS refreshes later, and refreshes are at least
 * a second apart).  .eh_frame bytes are read with process_vm_readv on
 * ourselves, so a module unloaded since the table was built cannot fault:
 * the read fails and the frame goes to libunwind.  When the loader's set
 * changes, the cache generation moves and every thread's rules are
 * recomputed (a rule cached for code since unloaded cannot outlive the
 * next refresh, at most about a second).
 */
#include "config.h"

#include "fastunw.h"

#include <errno.h>
#include <link.h>             /* dl_iterate_phdr */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/uio.h>          /* process_vm_readv */
#include <unistd.h>

#include "arena.h"
#include "guard.h"

int fu_mode;

static _Atomic uint64_t n_fallback, n_checked, n_mismatch, n_parsed;
static pid_t self_pid;

/* HAWK_UNWIND: unset or "" is fast; 0 or -EINVAL (then fast). */
static int
parse_mode(const char *env, int *want)
{
	*want = FU_FAST;
	if (!env || !*env || !strcmp(env, "fast"))
		return 0;
	if (!strcmp(env, "libunwind"))
		*want = FU_OFF;
	else if (!strcmp(env, "check"))
		*want = FU_CHECK;
	else
		return -EINVAL;
	return 0;
}

#if defined(__x86_64__)

/* DWARF register numbers (x86-64 psABI) */
#define R_RBP 6
#define R_RSP 7
#define R_RA  16

/* ---- the module table ---- */

#define FU_MODS 1024u
#define FU_TABS 4u

struct fu_mod {
	uint64_t lo, hi;          /* executable range */
	uint64_t hdr;             /* .eh_frame_hdr, 0: none */
};

struct fu_tab {
	uint32_t n;
	struct fu_mod m[FU_MODS];
};

static struct fu_tab tabs[FU_TABS];
static struct fu_tab *_Atomic cur_tab;
static unsigned next_tab;
static unsigned long long seen_adds = ~0ull, seen_subs = ~0ull;
static _Atomic uint32_t fu_gen = 1;

struct scan {
	struct fu_tab *t;
	unsigned long long adds, subs;
};

static int
scan_cb(struct dl_phdr_info *info, size_t size, void *data)
{
	struct scan *sc = data;
	uint64_t hdr = 0;
	int i;

	if (size >= offsetof(struct dl_phdr_info, dlpi_subs) +
		    sizeof(info->dlpi_subs)) {
		sc->adds = info->dlpi_adds;
		sc->subs = info->dlpi_subs;
	}
	if (!sc->t)
		return 1;              /* counters only */
	for (i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_GNU_EH_FRAME)
			hdr = info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		struct fu_mod *m;
		uint32_t j;

		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X) ||
		    sc->t->n == FU_MODS)
			continue;
		/* sorted by lo: insertion, n is small */
		j = sc->t->n++;
		m = sc->t->m;
		while (j > 0 && m[j - 1].lo > info->dlpi_addr + ph->p_vaddr) {
			m[j] = m[j - 1];
			j--;
		}
		m[j].lo = info->dlpi_addr + ph->p_vaddr;
		m[j].hi = m[j].lo + ph->p_memsz;
		m[j].hdr = hdr;
	}
	return 0;
}

void
fu_refresh(void)
{
	struct scan sc = { NULL, 0, 0 };
	struct fu_tab *t;

	if (fu_mode == FU_OFF)
		return;
	dl_iterate_phdr(scan_cb, &sc);
	if (sc.adds == seen_adds && sc.subs == seen_subs)
		return;
	t = &tabs[next_tab];
	next_tab = (next_tab + 1) % FU_TABS;
	t->n = 0;
	sc.t = t;
	dl_iterate_phdr(scan_cb, &sc);
	seen_adds = sc.adds;
	seen_subs = sc.subs;
	atomic_store_explicit(&cur_tab, t, memory_order_release);
	atomic_fetch_add_explicit(&fu_gen, 1, memory_order_release);
}

static const struct fu_mod *
mod_of(uint64_t pc)
{
	const struct fu_tab *t =
		atomic_load_explicit(&cur_tab, memory_order_acquire);
	uint32_t lo = 0, hi;

	if (!t)
		return NULL;
	hi = t->n;
	while (lo < hi) {          /* first with m.hi > pc */
		uint32_t mid = (lo + hi) / 2;

		if (t->m[mid].hi <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < t->n && t->m[lo].lo <= pc && pc < t->m[lo].hi)
		return &t->m[lo];
	return NULL;
}

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
 * The rule at pc: 0 and *w filled, or -1 (libunwind's).  Slow path: a
 * few process_vm_readv calls, once per address per thread.
 */
static int
rule_at(uint64_t pc, struct row *w)
{
	const struct fu_mod *m = mod_of(pc);
	uint8_t buf[FDE_MAX];
	struct cfi ci;
	struct rd r;
	uint64_t fde, start, range;
	size_t len;
	int32_t cie_off;

	if (!m || !m->hdr || !(fde = find_fde(m->hdr, pc)))
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

/* ---- the per-thread cache and the walk ---- */

enum { E_STD = 0, E_END = 1, E_LIBUNWIND = 2 };
#define E_CFA_RBP 4u

struct ent {
	uint64_t pc;               /* lookup address; 0 empty */
	int32_t cfa_off;
	int16_t rbp_off;           /* 0: rbp unchanged */
	int8_t ra_off;
	uint8_t flags;             /* E_* | E_CFA_RBP */
};
_Static_assert(sizeof(struct ent) == 16, "one entry, 16 bytes");
_Static_assert(FU_CACHE_BYTES == (1u << FU_CACHE_BITS) * sizeof(struct ent),
	       "cache size");

static __thread struct ent *cache __attribute__((tls_model("initial-exec")));
static __thread uint32_t cache_gen __attribute__((tls_model("initial-exec")));
static __thread uint64_t stack_lo __attribute__((tls_model("initial-exec")));
static __thread uint64_t stack_hi __attribute__((tls_model("initial-exec")));
static pthread_key_t cache_key;
static int cache_ok;

static void
cache_release(void *p)
{
	int saved = guard_active;

	guard_active = 1;
	arena_unmap(p, FU_CACHE_BYTES);
	cache = NULL;
	stack_lo = stack_hi = 0;
	guard_active = saved;
}

static struct ent *
cache_get(void)
{
	pthread_attr_t a;
	void *lo;
	size_t size;

	if (cache || !cache_ok)
		return cache;
	/* the thread's stack: every load of the walk stays inside it */
	if (pthread_getattr_np(pthread_self(), &a) != 0)
		return NULL;
	if (pthread_attr_getstack(&a, &lo, &size) != 0) {
		pthread_attr_destroy(&a);
		return NULL;
	}
	pthread_attr_destroy(&a);
	cache = arena_map(FU_CACHE_BYTES);
	if (!cache)
		return NULL;
	if (pthread_setspecific(cache_key, cache) != 0) {
		arena_unmap(cache, FU_CACHE_BYTES);
		cache = NULL;
		return NULL;
	}
	stack_lo = (uint64_t)(uintptr_t)lo;
	stack_hi = stack_lo + size;
	cache_gen = atomic_load_explicit(&fu_gen, memory_order_acquire);
	return cache;
}

/* The rule at `key`, from the module's CFI: the slow path. */
static void
compute(struct ent *e, uint64_t key)
{
	struct row w;
	uint8_t flags = E_LIBUNWIND;

	memset(e, 0, sizeof(*e));
	atomic_fetch_add_explicit(&n_parsed, 1, memory_order_relaxed);
	if (rule_at(key, &w) == 0) {
		if (w.ra == RULE_UNDEF) {
			flags = E_END;
		} else if (w.ra == RULE_OFF && w.ra_off >= -128 &&
			   w.ra_off <= 127 &&
			   (w.cfa_reg == R_RSP || w.cfa_reg == R_RBP) &&
			   w.cfa_off >= INT32_MIN && w.cfa_off <= INT32_MAX &&
			   (w.rbp == RULE_SAME ||
			    (w.rbp == RULE_OFF && w.rbp_off != 0 &&
			     w.rbp_off >= INT16_MIN &&
			     w.rbp_off <= INT16_MAX))) {
			flags = E_STD;
			e->cfa_off = (int32_t)w.cfa_off;
			e->ra_off = (int8_t)w.ra_off;
			if (w.rbp == RULE_OFF)
				e->rbp_off = (int16_t)w.rbp_off;
			if (w.cfa_reg == R_RBP)
				flags |= E_CFA_RBP;
		}
	}
	e->flags = flags;
	e->pc = key;
}

/*
 * The shared second level: every thread's misses land here first, so a
 * frame's CFI is parsed once per process (per module generation), not
 * once per thread and again after every eviction.  Direct-mapped,
 * FU_SHARED_BYTES, mapped at the first miss.  Each entry is a seqlock:
 * a writer makes `seq` odd with a compare-exchange (and gives up if
 * another writer holds it), stores, and makes it even again; a reader
 * never waits - a torn or busy entry is a miss.
 */
struct shared_ent {
	_Atomic uint32_t seq;
	_Atomic uint32_t gen;
	_Atomic uint64_t pc;
	_Atomic uint64_t rule;     /* struct ent without its pc */
	uint64_t pad;
};
#define SHARED_N (FU_SHARED_BYTES / sizeof(struct shared_ent))
_Static_assert((SHARED_N & (SHARED_N - 1)) == 0, "a power of two");

static struct shared_ent *_Atomic shared;

static inline struct shared_ent *
shared_slot(struct shared_ent *t, uint64_t key)
{
	return &t[(key * UINT64_C(0x9e3779b97f4a7c15)) >> 40 &
		  (SHARED_N - 1)];
}

static int
shared_get(uint64_t key, uint32_t gen, struct ent *e)
{
	struct shared_ent *t =
		atomic_load_explicit(&shared, memory_order_acquire);
	struct shared_ent *x;
	uint32_t s1;
	uint64_t pc, rule;

	if (!t)
		return -1;
	x = shared_slot(t, key);
	s1 = atomic_load_explicit(&x->seq, memory_order_acquire);
	if (s1 & 1)
		return -1;
	pc = atomic_load_explicit(&x->pc, memory_order_relaxed);
	rule = atomic_load_explicit(&x->rule, memory_order_relaxed);
	if (atomic_load_explicit(&x->gen, memory_order_relaxed) != gen)
		return -1;
	atomic_thread_fence(memory_order_acquire);
	if (atomic_load_explicit(&x->seq, memory_order_relaxed) != s1 ||
	    pc != key)
		return -1;
	e->pc = key;
	memcpy((char *)e + 8, &rule, 8);
	return 0;
}

static void
shared_put(const struct ent *e, uint32_t gen)
{
	struct shared_ent *t =
		atomic_load_explicit(&shared, memory_order_acquire);
	struct shared_ent *x;
	uint64_t rule;
	uint32_t s;

	if (!t) {
		struct shared_ent *nt = arena_map(FU_SHARED_BYTES);

		if (!nt)
			return;
		t = NULL;
		if (atomic_compare_exchange_strong(&shared, &t, nt)) {
			t = nt;
		} else {                /* another thread's won */
			arena_unmap(nt, FU_SHARED_BYTES);
		}
	}
	x = shared_slot(t, e->pc);
	s = atomic_load_explicit(&x->seq, memory_order_relaxed);
	if ((s & 1) ||
	    !atomic_compare_exchange_strong_explicit(&x->seq, &s, s + 1,
						     memory_order_acquire,
						     memory_order_relaxed))
		return;
	atomic_thread_fence(memory_order_release);
	memcpy(&rule, (const char *)e + 8, 8);
	atomic_store_explicit(&x->pc, e->pc, memory_order_relaxed);
	atomic_store_explicit(&x->rule, rule, memory_order_relaxed);
	atomic_store_explicit(&x->gen, gen, memory_order_relaxed);
	atomic_store_explicit(&x->seq, s + 2, memory_order_release);
}

/* A first-level miss: the shared level, else the CFI; into set[0]. */
static __attribute__((noinline)) void
fill(struct ent *set, uint64_t key, uint32_t gen)
{
	struct ent e;

	if (shared_get(key, gen, &e) < 0) {
		compute(&e, key);
		shared_put(&e, gen);
	}
	set[1] = set[0];
	set[0] = e;
}

/* The first of the two ways of key's set in a thread's cache. */
static inline uint64_t
set_of(uint64_t key)
{
	return ((key * UINT64_C(0x9e3779b97f4a7c15)) >>
		(64 - (FU_CACHE_BITS - 1))) * 2;
}

int
fu_walk(uint64_t *buf, int want, uint64_t pc, uint64_t sp, uint64_t bp)
{
	struct ent *c = cache;
	uint64_t lo = sp, hi, key = pc;
	uint32_t g = atomic_load_explicit(&fu_gen, memory_order_acquire);
	int n = 0;

	if (unlikely(!c)) {
		if (!(c = cache_get()))
			goto libunwind;
	}
	if (unlikely(cache_gen != g)) {
		memset(c, 0, FU_CACHE_BYTES);
		cache_gen = g;
	}
	hi = stack_hi;
	if (unlikely(sp < stack_lo || sp >= hi))
		goto libunwind;        /* a signal or coroutine stack */
	buf[n++] = pc;
	while (n < want) {
		struct ent *e = &c[set_of(key)];
		uint64_t cfa, at;

		if (unlikely(e->pc != key)) {
			if (e[1].pc == key) {
				struct ent t = e[1];   /* most recent first */

				e[1] = e[0];
				e[0] = t;
			} else {
				fill(e, key, g);
			}
		}
		if (unlikely(e->flags & (E_END | E_LIBUNWIND))) {
			if (e->flags & E_END)
				break;
			goto libunwind;
		}
		cfa = ((e->flags & E_CFA_RBP) ? bp : sp) +
		      (uint64_t)(int64_t)e->cfa_off;
		at = cfa + (uint64_t)(int64_t)e->ra_off;
		if (unlikely(cfa <= sp || at < lo || at > hi - 8))
			goto libunwind;
		pc = *(const uint64_t *)(uintptr_t)at;
		if (e->rbp_off) {
			at = cfa + (uint64_t)(int64_t)e->rbp_off;
			if (unlikely(at < lo || at > hi - 8))
				goto libunwind;
			bp = *(const uint64_t *)(uintptr_t)at;
		}
		sp = cfa;
		if (!pc)
			break;
		buf[n++] = pc;
		key = pc - 1;          /* inside the call instruction */
	}
	return n;
libunwind:
	atomic_fetch_add_explicit(&n_fallback, 1, memory_order_relaxed);
	return -1;
}

int
fu_init(const char *env)
{
	uint64_t probe = 0x6861776b, got = 0;
	int want, rc = parse_mode(env, &want);

	fu_mode = FU_OFF;
	if (want == FU_OFF)
		return rc;
	self_pid = getpid();
	if (pthread_key_create(&cache_key, cache_release) != 0 ||
	    safe_read(&got, (uint64_t)(uintptr_t)&probe, 8) < 0 ||
	    got != probe)
		return rc;
	cache_ok = 1;
	fu_mode = want;
	fu_refresh();
	return rc;
}

#else /* not x86-64: libunwind only */

int
fu_walk(uint64_t *buf, int want, uint64_t pc, uint64_t sp, uint64_t bp)
{
	(void)buf; (void)want; (void)pc; (void)sp; (void)bp;
	return -1;
}

int
fu_init(const char *env)
{
	int want;

	fu_mode = FU_OFF;
	return parse_mode(env, &want);
}

void
fu_refresh(void)
{
}

#endif

void
fu_count(int same)
{
	atomic_fetch_add_explicit(&n_checked, 1, memory_order_relaxed);
	if (!same)
		atomic_fetch_add_explicit(&n_mismatch, 1,
					  memory_order_relaxed);
}

void
fu_get_stats(struct fu_stats *st)
{
	st->fallback = atomic_load(&n_fallback);
	st->parsed = atomic_load(&n_parsed);
	st->checked = atomic_load(&n_checked);
	st->mismatch = atomic_load(&n_mismatch);
}

void
fu_after_fork_child(void)
{
	self_pid = getpid();
}
