/* SPDX-License-Identifier: MIT */
/*
 * sym_dwarf.c - what DWARF says of an address of a module: the innermost
 * line, the chain of inlined calls up to the physical function, and the
 * (demangled) names.  A per-CU index of functions sorted by address keeps a
 * lookup O(function), not O(CU).  Never invents a line: lines come only
 * from the line table (innermost frame) and DW_AT_call_line (outer inline
 * frames).
 */
#include <config.h>

#include <dwarf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sym_int.h"

/* libstdc++ / libsupc++ (C linkage): the Itanium C++ ABI demangler */
extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len,
			    int *status);

/* Demangle (when mangled) and intern; whole, however long. */
const char *
sym_dwarf_symbol(struct symbolizer *s, const char *name, const char *suffix)
{
	char *dem = NULL, *cat = NULL;
	const char *out;
	int status = -1;

	if (name[0] == '_' && name[1] == 'Z')
		dem = __cxa_demangle(name, NULL, NULL, &status);
	if (status == 0 && dem)
		name = dem;
	if (suffix) {
		if (asprintf(&cat, "%s%s", name, suffix) < 0)
			cat = NULL;
		out = cat ? sym_intern(s, cat) : NULL;
	} else {
		out = sym_intern(s, name);
	}
	free(cat);
	free(dem);
	return out;
}

/* The function name of a subprogram or inlined-subroutine DIE. */
static const char *
die_function(struct symbolizer *s, Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	const char *name;

	name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name,
						     &attr));
	if (!name)
		name = dwarf_formstring(
			dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name,
					     &attr));
	if (!name)
		name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name,
							     &attr));
	return name ? sym_dwarf_symbol(s, name, NULL) : s->s_empty;
}

static int
fn_cmp(const void *a, const void *b)
{
	const struct sym_fn *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Collect the code ranges of the functions below `parent` (descending
 * into namespaces and classes, where C++ compilers put some). */
static int
cu_collect(struct sym_cu *c, Dwarf_Die *parent, int depth)
{
	Dwarf_Die child;

	if (depth > 32 || dwarf_child(parent, &child) != 0)
		return 0;
	do {
		int tag = dwarf_tag(&child);

		if (tag == DW_TAG_subprogram) {
			Dwarf_Addr base, lo, hi;
			ptrdiff_t off = 0;

			while ((off = dwarf_ranges(&child, off, &base, &lo,
						   &hi)) > 0) {
				if (lo >= hi)
					continue;
				if (c->n == c->cap) {
					size_t cap = c->cap ? 2 * c->cap : 64;
					struct sym_fn *t;

					t = realloc(c->fns, cap * sizeof(*t));
					if (!t)
						return -ENOMEM;
					c->fns = t;
					c->cap = cap;
				}
				c->fns[c->n++] = (struct sym_fn){
					lo, hi, dwarf_dieoffset(&child) };
			}
		} else if (tag == DW_TAG_namespace ||
			   tag == DW_TAG_class_type ||
			   tag == DW_TAG_structure_type ||
			   tag == DW_TAG_union_type ||
			   tag == DW_TAG_module) {
			if (cu_collect(c, &child, depth + 1) < 0)
				return -ENOMEM;
		}
	} while (dwarf_siblingof(&child, &child) == 0);
	return 0;
}

static struct sym_cu *
cu_get(struct sym_file *f, Dwarf_Die *cudie)
{
	Dwarf_Off off = dwarf_dieoffset(cudie);
	struct sym_cu *c;

	HASH_FIND(hh, f->cus, &off, sizeof(off), c);
	if (c)
		return c;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->off = off;
	if (cu_collect(c, cudie, 0) < 0) {
		free(c->fns);
		free(c);
		return NULL;
	}
	qsort(c->fns, c->n, sizeof(*c->fns), fn_cmp);
	sym_hash_oom = false;
	HASH_ADD(hh, f->cus, off, sizeof(c->off), c);
	if (sym_hash_oom) {
		free(c->fns);
		free(c);
		return NULL;
	}
	return c;
}

/* Innermost-last chain of the scopes below chain[depth - 1] containing
 * pc: lexical blocks and inlined subroutines.  Returns the new depth.
 * GCC may give a lexical block ranges that miss code of an inline inside
 * it, so when no child contains pc the blocks are searched too (as
 * dwarf_getscopes walks the whole tree); still O(function), not O(CU). */
static int
descend(Dwarf_Die *chain, int depth, int max, Dwarf_Addr pc)
{
	Dwarf_Die child;

	if (depth >= max || dwarf_child(&chain[depth - 1], &child) != 0)
		return depth;
	do {
		int tag = dwarf_tag(&child);

		if (tag != DW_TAG_lexical_block &&
		    tag != DW_TAG_inlined_subroutine &&
		    tag != DW_TAG_try_block && tag != DW_TAG_catch_block)
			continue;
		if (dwarf_haspc(&child, pc) > 0) {
			chain[depth] = child;
			return descend(chain, depth + 1, max, pc);
		}
	} while (dwarf_siblingof(&child, &child) == 0);
	if (dwarf_child(&chain[depth - 1], &child) != 0)
		return depth;
	do {
		int tag = dwarf_tag(&child), d;

		if (tag != DW_TAG_lexical_block &&
		    tag != DW_TAG_try_block && tag != DW_TAG_catch_block)
			continue;
		chain[depth] = child;
		d = descend(chain, depth + 1, max, pc);
		if (d > depth + 1)
			return d;
	} while (dwarf_siblingof(&child, &child) == 0);
	return depth;
}

/*
 * The scopes containing pc, innermost first, in *scopes (malloc'd), from
 * the CU index; falls back to dwarf_getscopes + dwarf_getscopes_die (as
 * eu-addr2line -i: dwarf_getscopes alone continues from an inline into its
 * abstract definition, not into its caller).  Returns the count or <= 0.
 */
static int
scopes_at(struct sym_file *f, Dwarf_Die *cudie, Dwarf_Addr pc,
	  Dwarf_Die **scopes)
{
	struct sym_cu *c = cu_get(f, cudie);
	Dwarf_Die chain[SYM_FRAMES_MAX], inner;
	int n;

	*scopes = NULL;
	if (c && c->n) {
		size_t lo = 0, hi = c->n;

		/* the last function starting at or before pc */
		while (hi - lo > 1) {
			size_t mid = lo + (hi - lo) / 2;

			if (c->fns[mid].lo <= pc)
				lo = mid;
			else
				hi = mid;
		}
		if (c->fns[lo].lo <= pc && pc < c->fns[lo].hi &&
		    dwarf_offdie(dwarf_cu_getdwarf(cudie->cu), c->fns[lo].die,
				 &chain[0])) {
			n = descend(chain, 1, SYM_FRAMES_MAX, pc);
			*scopes = malloc((size_t)n * sizeof(**scopes));
			if (!*scopes)
				return -1;
			for (int i = 0; i < n; i++)
				(*scopes)[i] = chain[n - 1 - i];
			return n;
		}
	}
	n = dwarf_getscopes(cudie, pc, scopes);
	if (n <= 0)
		return n;
	inner = (*scopes)[0];
	free(*scopes);
	*scopes = NULL;
	return dwarf_getscopes_die(&inner, scopes);
}

/* Intern a source path from the line table: a relative one is relative
 * to the CU's DW_AT_comp_dir (DWARF 5, 6.2.4; eu-addr2line joins them the
 * same way), even if that is relative too (-fdebug-prefix-map). */
static const char *
intern_src(struct symbolizer *s, const struct sym_file *f, const char *src,
	   const char *comp_dir)
{
	const char *out;
	char *cat;

	if (src[0] == '/' || !comp_dir || !*comp_dir)
		return sym_source_name(s, f->cred, src);
	if (asprintf(&cat, "%s%s%s", comp_dir,
		     comp_dir[strlen(comp_dir) - 1] == '/' ? "" : "/",
		     src) < 0)
		return NULL;
	out = sym_source_name(s, f->cred, cat);
	free(cat);
	return out;
}

/*
 * Frames from the DWARF of the CU covering `rel`; returns how many (0: no
 * line info or no function scope there, use the symbol table).
 */
uint32_t
sym_dwarf_frames(struct symbolizer *s, struct sym_file *f, uint64_t rel,
	     struct sym_frame *out, uint32_t max)
{
	Dwarf_Die *cudie, *scopes = NULL;
	Dwarf_Files *files = NULL;
	Dwarf_Addr dbias = 0;
	Dwarf_Attribute cattr;
	const char *src, *comp_dir;
	Dwfl_Line *line;
	uint32_t n = 0;
	int nscopes, lineno = 0;

	cudie = dwfl_module_addrdie(f->mod, rel, &dbias);
	if (!cudie)
		return 0;
	line = dwfl_module_getsrc(f->mod, rel);
	src = line ? dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL)
		   : NULL;
	if (!src || lineno <= 0)
		return 0;
	comp_dir = dwarf_formstring(dwarf_attr(cudie, DW_AT_comp_dir,
					       &cattr));
	nscopes = scopes_at(f, cudie, rel - dbias, &scopes);
	if (nscopes > 0)
		dwarf_getsrcfiles(cudie, &files, NULL);
	for (int i = 0; i < nscopes && n < max; i++) {
		Dwarf_Die *die = &scopes[i];
		int tag = dwarf_tag(die);
		Dwarf_Attribute attr;
		Dwarf_Word val;

		if (tag != DW_TAG_subprogram &&
		    tag != DW_TAG_inlined_subroutine)
			continue;
		out[n].file = intern_src(s, f, src, comp_dir);
		out[n].line = (uint32_t)lineno;
		out[n].function = die_function(s, die);
		out[n].module = NULL;
		if (!out[n].file || !out[n].function)
			break;
		n++;
		if (tag == DW_TAG_subprogram)
			break;
		/* the caller's location is the call site of this inline */
		src = NULL;
		lineno = 0;
		if (files && dwarf_formudata(dwarf_attr(die, DW_AT_call_file,
							&attr), &val) == 0)
			src = dwarf_filesrc(files, val, NULL, NULL);
		if (dwarf_formudata(dwarf_attr(die, DW_AT_call_line, &attr),
				    &val) == 0 && val <= UINT32_MAX)
			lineno = (int)val;
		if (!src || lineno <= 0) {
			/* cannot place the caller: stop rather than guess */
			break;
		}
	}
	free(scopes);
	if (!n && max) {
		/* a line but no function DIE around it (padding after a
		 * noreturn call, code from a CU without DIEs for it): keep
		 * the line, name the function from the symbol table */
		GElf_Off off;
		GElf_Sym sym;
		const char *name = dwfl_module_addrinfo(f->mod, rel, &off,
							&sym, NULL, NULL,
							NULL);

		out[0].file = intern_src(s, f, src, comp_dir);
		out[0].line = (uint32_t)lineno;
		out[0].function = name ? sym_dwarf_symbol(s, name, NULL)
				       : s->s_empty;
		out[0].module = NULL;
		if (out[0].file && out[0].function)
			n = 1;
	}
	return n;
}

/* Index the names of f's symbol table (the one dwfl_module_addrinfo
 * searches): each name with the first address seen, flagged when another
 * address has the same name.  0 or -ENOMEM (then nothing is ambiguous). */
static int
names_build(struct sym_file *f)
{
	int n = dwfl_module_getsymtab(f->mod);

	for (int i = 1; i < n; i++) {
		struct sym_name *e;
		GElf_Sym sym;
		GElf_Addr addr;
		GElf_Word shndx;
		const char *name = dwfl_module_getsym_info(f->mod, i, &sym,
							   &addr, &shndx,
							   NULL, NULL);

		if (!name || !*name || shndx == SHN_UNDEF)
			continue;
		HASH_FIND_STR(f->names, name, e);
		if (e) {
			if (e->addr != addr)
				e->ambiguous = true;
			continue;
		}
		e = calloc(1, sizeof(*e));
		if (!e)
			return -ENOMEM;
		e->name = name;
		e->addr = addr;
		sym_hash_oom = false;
		HASH_ADD_KEYPTR(hh, f->names, e->name, strlen(e->name), e);
		if (sym_hash_oom) {
			free(e);
			return -ENOMEM;
		}
	}
	return 0;
}

bool
sym_dwarf_name_ambiguous(struct sym_file *f, const char *name)
{
	struct sym_name *e;

	if (!f->names_built) {
		f->names_built = true;
		names_build(f);
	}
	HASH_FIND_STR(f->names, name, e);
	return e && e->ambiguous;
}
