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
 * 100 leaf and 100 level functions, each on a line of its own, give 200
 * distinct (file, line) frames; the digit path makes every traceback
 * distinct, also once symbolized.  Built without sibling-call
 * optimisation so that every level is a frame.
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

/* each expands on one line, so that a function's frames have one line */
#define LEAF(n) NOIPA static void leaf##n(void) { int j; \
	for (j = 0; j < PER_CODE; j++) \
		blocks[nblocks++] = malloc(16 + 8 * (size_t)j); }
#define LV(n) NOIPA static void lv##n(int d, unsigned c) { \
	if (d == 0) leaves[cur * 7 % 100](); \
	else lvs[c % 100](d - 1, c / 100); }
/* one function per line: a frame is (file, line) */
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
LEAF(10)
LEAF(11)
LEAF(12)
LEAF(13)
LEAF(14)
LEAF(15)
LEAF(16)
LEAF(17)
LEAF(18)
LEAF(19)
LEAF(20)
LEAF(21)
LEAF(22)
LEAF(23)
LEAF(24)
LEAF(25)
LEAF(26)
LEAF(27)
LEAF(28)
LEAF(29)
LEAF(30)
LEAF(31)
LEAF(32)
LEAF(33)
LEAF(34)
LEAF(35)
LEAF(36)
LEAF(37)
LEAF(38)
LEAF(39)
LEAF(40)
LEAF(41)
LEAF(42)
LEAF(43)
LEAF(44)
LEAF(45)
LEAF(46)
LEAF(47)
LEAF(48)
LEAF(49)
LEAF(50)
LEAF(51)
LEAF(52)
LEAF(53)
LEAF(54)
LEAF(55)
LEAF(56)
LEAF(57)
LEAF(58)
LEAF(59)
LEAF(60)
LEAF(61)
LEAF(62)
LEAF(63)
LEAF(64)
LEAF(65)
LEAF(66)
LEAF(67)
LEAF(68)
LEAF(69)
LEAF(70)
LEAF(71)
LEAF(72)
LEAF(73)
LEAF(74)
LEAF(75)
LEAF(76)
LEAF(77)
LEAF(78)
LEAF(79)
LEAF(80)
LEAF(81)
LEAF(82)
LEAF(83)
LEAF(84)
LEAF(85)
LEAF(86)
LEAF(87)
LEAF(88)
LEAF(89)
LEAF(90)
LEAF(91)
LEAF(92)
LEAF(93)
LEAF(94)
LEAF(95)
LEAF(96)
LEAF(97)
LEAF(98)
LEAF(99)
LV(0)
LV(1)
LV(2)
LV(3)
LV(4)
LV(5)
LV(6)
LV(7)
LV(8)
LV(9)
LV(10)
LV(11)
LV(12)
LV(13)
LV(14)
LV(15)
LV(16)
LV(17)
LV(18)
LV(19)
LV(20)
LV(21)
LV(22)
LV(23)
LV(24)
LV(25)
LV(26)
LV(27)
LV(28)
LV(29)
LV(30)
LV(31)
LV(32)
LV(33)
LV(34)
LV(35)
LV(36)
LV(37)
LV(38)
LV(39)
LV(40)
LV(41)
LV(42)
LV(43)
LV(44)
LV(45)
LV(46)
LV(47)
LV(48)
LV(49)
LV(50)
LV(51)
LV(52)
LV(53)
LV(54)
LV(55)
LV(56)
LV(57)
LV(58)
LV(59)
LV(60)
LV(61)
LV(62)
LV(63)
LV(64)
LV(65)
LV(66)
LV(67)
LV(68)
LV(69)
LV(70)
LV(71)
LV(72)
LV(73)
LV(74)
LV(75)
LV(76)
LV(77)
LV(78)
LV(79)
LV(80)
LV(81)
LV(82)
LV(83)
LV(84)
LV(85)
LV(86)
LV(87)
LV(88)
LV(89)
LV(90)
LV(91)
LV(92)
LV(93)
LV(94)
LV(95)
LV(96)
LV(97)
LV(98)
LV(99)

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
