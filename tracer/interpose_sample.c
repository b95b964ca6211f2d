/* SPDX-License-Identifier: MIT */
/*
 * interpose_sample.c - malloc, calloc, realloc and free while tracing
 * sampled: what control.c points the jump table (interpose.h) at in that
 * mode.
 *
 * - an unsampled malloc costs the countdown and a tail call to the real
 *   allocator (interpose_real: glibc's or the program's own): after the
 *   exported function's jump, a subtraction from initial-exec TLS and a
 *   branch straight to the allocator in the page jit_build writes (four
 *   instructions in the assembly stubs: the TLS offset's load, the
 *   subtraction, a branch, the jump); no guard, no generation, no table;
 * - the countdown decides before the allocation, so that a sampled block
 *   is placed (sample.h: bits 5..9 of its address 0; a kept chunk or the
 *   allocator's memalign); an unsampled free then costs a test of the
 *   address and a branch (the stub: and the jump); the few unsampled
 *   blocks whose bits match go on to the free filter's bit (smp_free_unit,
 *   6 instructions), and only its hits to the table;
 * - while a sampled block that is not so placed is live (the other
 *   allocation functions record through core_alloc after allocating; a
 *   large calloc or realloc may stay where it is), free is the filter for
 *   every block (sample_free_switch);
 * - otherwise the exact mode's path: guard, real call, record
 *   (core_alloc_chosen) or forget (core_free_sampled), keeping the chunk
 *   of a small placed block for the next sample (sample_keep_put).
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core.h"
#include "interpose.h"
#include "sample.h"

/* calloc places a sampled block of at most this many bytes as malloc does
 * and clears it (as glibc's calloc clears a reused chunk); a larger one
 * comes from calloc (glibc mmaps it: placed) and is moved only if the
 * allocator put it elsewhere.  realloc moves a sampled block the
 * allocator left elsewhere if it has at most PLACE_MOVE_MAX bytes (one
 * copy per sample); a larger one stays unplaced. */
#define PLACE_MAX ((size_t)64 << 10)
#define PLACE_MOVE_MAX ((size_t)1 << 20)

/* A block of `size` bytes for a sampled allocation: a kept chunk it fits
 * or one at a multiple of SAMPLE_ALIGN, or anywhere if the allocator has
 * no room for that. */
void *
sample_place(size_t size)
{
	void *p = size <= SAMPLE_KEEP_MAX ? sample_keep_take(size) : NULL;

	if (!p)
		p = interpose_real.memalign(SAMPLE_ALIGN, size);
	return p ? p : interpose_real.malloc(size);
}

void
sample_hooks_release(void)
{
	void *p;

	while (sample_keep_drop(NULL, &p))
		interpose_real.free(p);
}

/* ---- malloc -------------------------------------------------------- */

static __attribute__((noinline)) void *
malloc_chosen(size_t size)
{
	void *p;

	guard_active = 1;
	p = sample_place(size);
	if (p)
		core_alloc_chosen(p, size);
	guard_active = 0;
	return p;
}

/* The slow half, with the countdown as sample_skip left it. */
static __attribute__((used, noinline)) void *
smp_malloc_slow(size_t size)
{
	if (guard_active || !sample_decide(size))
		return interpose_real.malloc(size);
	return malloc_chosen(size);
}

/* ---- free ---------------------------------------------------------- */

static __attribute__((noinline)) void
free_sampled(void *p)
{
	guard_active = 1;
	if (core_free_sampled(p)) {
		if (!sample_placed(p) ||
		    !sample_keep_put(p, interpose_real.usable_size(p)))
			interpose_real.free(p);
	} else if (sample_keep_drop(p, NULL)) {
		/* a chunk we keep, freed again: the program's double free,
		 * passed on as the program made it (the allocator may catch
		 * it as it would have) */
		interpose_real.free(p);
		interpose_real.free(p);
	} else {
		interpose_real.free(p);
	}
	guard_active = 0;
}

/* The filter for every block (while some sampled block is unplaced). */
static void
smp_free_filtered(void *p)
{
	if (likely(!sample_maybe(p)) || guard_active || !p) {
		interpose_real.free(p);
		return;
	}
	free_sampled(p);
}

/* A block whose low bits are those of a placed sampled block (or NULL). */
static __attribute__((used, noinline)) void
smp_free_slow(void *p)
{
	smp_free_filtered(p);
}

_Static_assert(offsetof(struct interpose_real, malloc) == 0, "asm below");
_Static_assert(offsetof(struct interpose_real, free) == 24, "asm below");

#if defined(__x86_64__)
#define STR_(x) #x
#define STR(x) STR_(x)
/*
 * The hot halves.  C would load, subtract, compare and store the
 * countdown; one subtraction from memory sets the carry when the size
 * reaches it, and the slow half undoes it.  Only jumps: no frame, so
 * they never appear in a captured traceback.
 */
void *smp_malloc_fast(size_t size) __attribute__((visibility("hidden")));
void smp_free_fast(void *p) __attribute__((visibility("hidden")));
/* smp_free_fast past its test of the low bits: the filter's bit */
void smp_free_unit(void *p) __attribute__((visibility("hidden")));

__asm__(
	"	.text\n"
	"	.p2align 4\n"
	"	.globl smp_malloc_fast\n"
	"	.hidden smp_malloc_fast\n"
	"	.type smp_malloc_fast, @function\n"
	"smp_malloc_fast:\n"
	"	.cfi_startproc\n"
	"	movq sample_left@gottpoff(%rip), %rax\n"
	"	subq %rdi, %fs:(%rax)\n"
	"	jbe 1f\n"
	"	jmp *interpose_real(%rip)\n"
	"1:	addq %rdi, %fs:(%rax)\n"
	"	jmp smp_malloc_slow\n"
	"	.cfi_endproc\n"
	"	.size smp_malloc_fast, .-smp_malloc_fast\n"
	"	.p2align 4\n"
	"	.globl smp_free_fast\n"
	"	.hidden smp_free_fast\n"
	"	.type smp_free_fast, @function\n"
	"smp_free_fast:\n"
	"	.cfi_startproc\n"
	"	testl $((1 << " STR(SAMPLE_ALIGN_BITS) ") - 32), %edi\n"
	"	jz 2f\n"
	"1:	jmp *interpose_real+24(%rip)\n"
	"	.globl smp_free_unit\n"
	"	.hidden smp_free_unit\n"
	"smp_free_unit:\n"
	"2:	movq %rdi, %rax\n"
	"	shrq $" STR(SAMPLE_ALIGN_BITS) ", %rax\n"
	"	andl $((1 << " STR(SAMPLE_FILTER_BITS) ") - 1), %eax\n"
	"	btq %rax, sample_filter(%rip)\n"
	"	jnc 1b\n"
	"	jmp smp_free_slow\n"
	"	.cfi_endproc\n"
	"	.size smp_free_fast, .-smp_free_fast\n");
#else
static void *
smp_malloc_fast(size_t size)
{
	if (likely(sample_skip(size)))
		return interpose_real.malloc(size);
	return smp_malloc_slow(size);
}

static void
smp_free_fast(void *p)
{
	if (likely(!sample_placed(p))) {
		interpose_real.free(p);
		return;
	}
	smp_free_slow(p);
}
#endif

/* The short free: smp_free_fast or its copy (jit_build). */
static void (*free_fast)(void *) = smp_free_fast;

#if defined(__x86_64__) && defined(__linux__)
/*
 * The hot halves once more, written at the first sampled start into a
 * page of their own near the allocator, where a conditional jump reaches
 * it directly and the countdown's TLS offset is a constant: an unsampled
 * malloc is then a subtraction and a branch (sub %rdi,%fs:OFF; ja
 * malloc), an unsampled free a test and a branch (test $MASK,%edi; jnz
 * free).  The page is written, then made read-only and executable (never
 * both writable and executable), and kept for the life of the process
 * (a fork's child inherits it; a thread may still be jumping into it
 * after a stop).  It is code, as libhawk's text is, and is not counted in
 * the tracer's memory.  Where that cannot be done (no page
 * within 2 GiB of both functions, PROT_EXEC refused, an offset out of
 * range) the stubs above serve.
 */
#include <sys/mman.h>

static int jit_tried;
static uint8_t *jit_page;

static uint8_t *
put32(uint8_t *c, uint32_t v)
{
	memcpy(c, &v, 4);
	return c + 4;
}

/* a jump with a 32-bit displacement: jcc (0f cc) or jmp (e9, cc = 0) */
static uint8_t *
emit_jump(uint8_t *c, uint8_t cc, const void *to)
{
	if (cc) {
		*c++ = 0x0f;
		*c++ = cc;
	} else {
		*c++ = 0xe9;
	}
	return put32(c, (uint32_t)(int32_t)((intptr_t)to -
					    (intptr_t)(c + 4)));
}

/* jmp *0(%rip) followed by the address */
static uint8_t *
emit_jump_far(uint8_t *c, const void *to)
{
	uint64_t a = (uint64_t)(uintptr_t)to;

	*c++ = 0xff;
	*c++ = 0x25;
	c = put32(c, 0);
	memcpy(c, &a, 8);
	return c + 8;
}

/* op %rdi, %fs:off (op 0x29 sub, 0x01 add) */
static uint8_t *
emit_tls_op(uint8_t *c, uint8_t op, int32_t off)
{
	static const uint8_t pre[] = { 0x64, 0x48, 0, 0x3c, 0x25 };

	memcpy(c, pre, sizeof(pre));
	c[2] = op;
	return put32(c + sizeof(pre), (uint32_t)off);
}

static int
near(const uint8_t *page, const void *fn)
{
	intptr_t d = (intptr_t)fn - (intptr_t)page;

	return d > INT32_MIN / 2 && d < INT32_MAX / 2;
}

static void
jit_build(void)
{
	static const uint64_t steps[] = { 1u << 24, 1u << 27, 1u << 30 };
	void *fm = (void *)interpose_real.malloc;
	void *ff = (void *)interpose_real.free;
	uintptr_t tp, lo, hi;
	intptr_t off;
	uint8_t *page = NULL, *c;
	unsigned i, j;

	__asm__("movq %%fs:0, %0" : "=r"(tp));
	off = (intptr_t)(uintptr_t)&sample_left - (intptr_t)tp;
	if (off < INT32_MIN || off > INT32_MAX)
		return;
	lo = (uintptr_t)fm < (uintptr_t)ff ? (uintptr_t)fm : (uintptr_t)ff;
	hi = (uintptr_t)fm < (uintptr_t)ff ? (uintptr_t)ff : (uintptr_t)fm;
	for (i = 0; i < 3 && !page; i++) {
		for (j = 0; j < 2 && !page; j++) {
			uintptr_t hint = j ? hi + steps[i] : lo - steps[i];

			page = mmap((void *)(hint & ~(uintptr_t)4095), 4096,
				    PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (page == MAP_FAILED)
				return;
			if (!near(page, fm) || !near(page, ff)) {
				munmap(page, 4096);
				page = NULL;
			}
		}
	}
	if (!page)
		return;
	/* malloc at 0: the countdown, ja to the allocator; else undo */
	c = emit_tls_op(page, 0x29, (int32_t)off);
	c = emit_jump(c, 0x87, fm);
	c = emit_tls_op(c, 0x01, (int32_t)off);
	emit_jump_far(c, (const void *)smp_malloc_slow);
	/* free at 64: the low bits, jnz to the allocator; else the filter */
	c = page + 64;
	*c++ = 0xf7;
	*c++ = 0xc7;
	c = put32(c, (uint32_t)SAMPLE_PLACE_MASK);
	c = emit_jump(c, 0x85, ff);
	emit_jump_far(c, (const void *)smp_free_unit);
	if (mprotect(page, 4096, PROT_READ | PROT_EXEC) != 0) {
		munmap(page, 4096);
		return;
	}
	jit_page = page;
}
#endif

void
sample_hooks_prepare(void)
{
#if defined(__x86_64__) && defined(__linux__)
	if (!jit_tried) {
		jit_tried = 1;
		jit_build();
		if (jit_page) {
			interpose_sample.malloc =
				(void *(*)(size_t))(void *)jit_page;
			__atomic_store_n(&free_fast,
					 (void (*)(void *))(void *)(jit_page + 64),
					 __ATOMIC_RELAXED);
		}
	}
#endif
}

void
sample_free_switch(int filtered)
{
	void (*fast)(void *) = __atomic_load_n(&free_fast, __ATOMIC_RELAXED);
	void (*from)(void *) = filtered ? fast : smp_free_filtered;
	void (*to)(void *) = filtered ? smp_free_filtered : fast;

	/* a plain load first: a compare-exchange would take the line that
	 * every malloc and free reads even when it fails */
	if (__atomic_load_n(&core_hot.free, __ATOMIC_RELAXED) == from)
		__atomic_compare_exchange_n(&core_hot.free, &from, to, 0,
					    __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED);
}

/* ---- calloc -------------------------------------------------------- */

static __attribute__((noinline)) void *
calloc_chosen(size_t n, size_t size, size_t total)
{
	void *p, *q;

	guard_active = 1;
	if (total <= PLACE_MAX) {
		p = sample_place(total);
		if (p)
			memset(p, 0, total);
	} else {
		p = interpose_real.calloc(n, size);
		if (p && !sample_placed(p) && total <= PLACE_MOVE_MAX &&
		    (q = interpose_real.memalign(SAMPLE_ALIGN, total))) {
			memset(q, 0, total);
			interpose_real.free(p);
			p = q;
		}
	}
	if (p)
		core_alloc_chosen(p, total);
	guard_active = 0;
	return p;
}

static void *
smp_calloc(size_t n, size_t size)
{
	size_t total;

	/* an overflowing product: glibc fails it, nothing to record */
	if (__builtin_mul_overflow(n, size, &total) ||
	    likely(sample_skip(total)) || guard_active ||
	    !sample_decide(total))
		return interpose_real.calloc(n, size);
	return calloc_chosen(n, size, total);
}

/* ---- realloc ------------------------------------------------------- */

static __attribute__((noinline)) void *
slow_realloc(void *old, size_t size)
{
	struct core_moved m;
	void *p, *q;
	int chosen;

	guard_active = 1;
	core_realloc_take(old, &m);
	chosen = !sample_skip(size) && sample_decide(size);
	p = interpose_real.realloc(old, size);
	if (p && chosen) {
		/* move a small sampled block to its place (one copy per
		 * sample: rare) */
		if (!sample_placed(p) && size <= PLACE_MOVE_MAX) {
			q = interpose_real.memalign(SAMPLE_ALIGN, size);
			if (q) {
				memcpy(q, p, size);
				interpose_real.free(p);
				p = q;
			}
		}
		core_alloc_chosen(p, size);
	} else if (!p && size) {
		core_realloc_failed(old, &m);   /* old block still live */
	}
	guard_active = 0;
	return p;
}

static void *
smp_realloc(void *old, size_t size)
{
	if (guard_active)
		return interpose_real.realloc(old, size);
	if (!old)
		return smp_malloc_fast(size);
	/* the old block may be sampled: forget it first (interpose.c) */
	if (likely(!sample_maybe(old)) && likely(sample_skip(size)))
		return interpose_real.realloc(old, size);
	return slow_realloc(old, size);
}

struct core_hot interpose_sample = {
	/* free starts with the filter: sample_free_switch moves it to the
	 * short one once a placed block is recorded and none unplaced is
	 * live (sample.h) */
	smp_malloc_fast, smp_calloc, smp_realloc, smp_free_filtered
};
