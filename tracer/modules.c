/* SPDX-License-Identifier: MIT */
/*
 * modules.c - dl_iterate_phdr + build-id list for snapshots.
 *
 * Runs in the agent thread only (guard set, so anything the loader
 * allocates is not traced), at snapshot time: the loader's lock is never
 * taken on the allocation path.  Two passes: count and size, then fill
 * buffers from arena_map.  dlpi_name is "" for the main program; its path
 * comes from /proc/self/exe.  The build-id is the descriptor of the
 * NT_GNU_BUILD_ID note (owner "GNU") found in a PT_NOTE segment.
 */
#include "config.h"

#include "modules.h"

#include <elf.h>
#include <errno.h>
#include <link.h>             /* dl_iterate_phdr, ElfW */
#include <string.h>
#include <unistd.h>

#include "arena.h"

struct pass {
	struct modules *m;
	int fill;
	uint64_t n, strings;
	char exe[4096];
};

static const char *
path_of(struct dl_phdr_info *info, struct pass *ps, uint64_t i)
{
	if (i == 0 && (!info->dlpi_name || !info->dlpi_name[0]))
		return ps->exe;
	return info->dlpi_name ? info->dlpi_name : "";
}

static void
build_id(struct dl_phdr_info *info, struct snap_module *sm)
{
	int i;

	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		const char *p, *end;

		if (ph->p_type != PT_NOTE)
			continue;
		p = (const char *)(info->dlpi_addr + ph->p_vaddr);
		end = p + ph->p_memsz;
		while (p + sizeof(ElfW(Nhdr)) <= end) {
			const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
			size_t nsz = (nh->n_namesz + 3) & ~3u;
			size_t dsz = (nh->n_descsz + 3) & ~3u;
			const char *name = p + sizeof(*nh);
			const char *desc = name + nsz;

			if (desc + dsz > end)
				break;
			if (nh->n_type == NT_GNU_BUILD_ID &&
			    nh->n_namesz == 4 && !memcmp(name, "GNU", 4)) {
				uint32_t len = nh->n_descsz;

				if (len > SNAP_BUILD_ID_MAX)
					len = SNAP_BUILD_ID_MAX;
				memcpy(sm->build_id, desc, len);
				sm->build_id_len = len;
				return;
			}
			p = desc + dsz;
		}
	}
}

static int
cb(struct dl_phdr_info *info, size_t size, void *data)
{
	struct pass *ps = data;
	const char *path = path_of(info, ps, ps->n);
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	size_t len = strlen(path);
	int i;

	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD)
			continue;
		if (info->dlpi_addr + ph->p_vaddr < lo)
			lo = info->dlpi_addr + ph->p_vaddr;
		if (info->dlpi_addr + ph->p_vaddr + ph->p_memsz > hi)
			hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
	}
	if (ps->fill) {
		struct modules *m = ps->m;
		struct snap_module *sm;

		/* objects loaded between the passes are left out */
		if (m->n * sizeof(*sm) >= m->mods_map ||
		    m->strings_size + len + 1 > m->strings_map)
			return 1;
		sm = &m->mods[m->n++];
		memset(sm, 0, sizeof(*sm));
		sm->lo = lo == UINTPTR_MAX ? 0 : lo;
		sm->hi = hi;
		sm->bias = info->dlpi_addr;
		sm->path_off = (uint32_t)m->strings_size;
		sm->path_len = (uint32_t)len;
		memcpy(m->strings + m->strings_size, path, len + 1);
		m->strings_size += len + 1;
		build_id(info, sm);
	}
	ps->n++;
	ps->strings += len + 1;
	return 0;
}

int
modules_collect(struct modules *m)
{
	static struct pass ps;     /* agent only (control lock held) */
	ssize_t n;

	memset(m, 0, sizeof(*m));
	memset(&ps, 0, sizeof(ps));
	n = readlink("/proc/self/exe", ps.exe, sizeof(ps.exe) - 1);
	ps.exe[n > 0 ? n : 0] = '\0';
	ps.m = m;
	dl_iterate_phdr(cb, &ps);
	/* room for a few objects loaded meanwhile */
	m->mods_map = arena_round((ps.n + 16) * sizeof(struct snap_module));
	m->strings_map = arena_round(ps.strings + 16 * 4096);
	m->mods = arena_map(m->mods_map);
	m->strings = arena_map(m->strings_map);
	if (!m->mods || !m->strings) {
		modules_free(m);
		return -ENOMEM;
	}
	ps.fill = 1;
	ps.n = 0;
	dl_iterate_phdr(cb, &ps);
	return 0;
}

void
modules_free(struct modules *m)
{
	arena_unmap(m->mods, m->mods_map);
	arena_unmap(m->strings, m->strings_map);
	memset(m, 0, sizeof(*m));
}
