/* SPDX-License-Identifier: MIT */
/*
 * fmt_json.c - JSON bodies through cJSON.
 *
 * Shapes follow Python Hawk's responses (hawk-fcgi(8), FORMATS):
 *  - lineno:    stat, mem_blocks_count, mem_blocks_size_bytes,
 *               mem_blocks_size, filename, lineno, code; plus function,
 *               module (of the most recent frame) and pid or pids.
 *  - traceback: stat, mem_blocks_count, mem_blocks_size_bytes,
 *               mem_blocks_size, traceback (Traceback.format() lines, oldest
 *               frame first); plus frames [{filename, lineno, function,
 *               module}] in the same order and pid or pids.
 * A frame without a line that lies in a module (lineno: the most recent
 * frame; traceback: each of frames) also has "offset", the return address
 * minus the module's load bias (its ELF virtual address), and "build_id"
 * (hex, "" when unknown): what symbolizing it elsewhere needs.
 * "pid" is a number when the request covers one target; with several
 * targets every statistic has "pids", the sorted list of the targets that
 * contributed to it.  In a diff (fixed-duration route) mem_blocks_* are the
 * second snapshot's absolute figures and stat is str(StatisticDiff), as in
 * Hawk.  Integers are written as raw decimal (exact beyond 2^53).
 * Every statistics body also says which view it shows ("view": live,
 * allocated or peak) and whether its figures are estimates ("estimated",
 * "sampling_bytes": the mean bytes between samples, 0 = exact).
 * One statistic at a time is built and printed, then freed.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fmt_json.h"
#include "utf8.h"

static int
add_u64(cJSON *o, const char *k, uint64_t v)
{
	char b[32];

	snprintf(b, sizeof(b), "%" PRIu64, v);
	return cJSON_AddRawToObject(o, k, b) ? 0 : -ENOMEM;
}

static int
add_i64(cJSON *o, const char *k, int64_t v)
{
	char b[32];

	snprintf(b, sizeof(b), "%" PRId64, v);
	return cJSON_AddRawToObject(o, k, b) ? 0 : -ENOMEM;
}

/* Every string goes through here, so every body is valid UTF-8: a name
 * or a parameter value that is not gets its bad bytes as \xNN. */
static int
add_str(cJSON *o, const char *k, const char *v)
{
	size_t n = strlen(v), len;
	char probe[1], *fixed;
	int ok;

	if (utf8_valid(v, n))
		return cJSON_AddStringToObject(o, k, v) ? 0 : -ENOMEM;
	len = utf8_repair(v, n, probe, sizeof(probe));
	fixed = malloc(len + 1);
	if (!fixed)
		return -ENOMEM;
	utf8_repair(v, n, fixed, len + 1);
	ok = cJSON_AddStringToObject(o, k, fixed) != NULL;
	free(fixed);
	return ok ? 0 : -ENOMEM;
}

static int
add_pids(cJSON *o, const struct st_set *set, const struct st_list *l,
	 size_t s)
{
	cJSON *a;
	int32_t *v;
	size_t i, n = 0, k;
	char b[16];
	int err = 0;

	if (set->n_pids == 1)
		return add_i64(o, "pid", set->pids[0]);
	v = malloc((set->n_pids ? set->n_pids : 1) * sizeof(*v));
	a = cJSON_AddArrayToObject(o, "pids");
	if (!v || !a) {
		free(v);
		return -ENOMEM;
	}
	for (i = 0; i < set->n_pids; i++)
		if (st_stat_has_target(l, s, i)) {
			/* insertion sort: the list is short */
			for (k = n; k > 0 && v[k - 1] > set->pids[i]; k--)
				v[k] = v[k - 1];
			v[k] = set->pids[i];
			n++;
		}
	for (i = 0; i < n && !err; i++) {
		snprintf(b, sizeof(b), "%" PRId32, v[i]);
		if (!cJSON_AddItemToArray(a, cJSON_CreateRaw(b)))
			err = -ENOMEM;
	}
	free(v);
	return err;
}

static const char *
code_of(const struct fmt_json_stats *j, const struct st_frame *f)
{
	const char *c = j->code ? j->code(j->code_arg, f->file, f->line) :
		NULL;

	return c ? c : "";
}

/* "offset" and "build_id" of a frame without a line in a module. */
static int
add_offset(cJSON *o, const struct st_frame *f)
{
	int err;

	if (f->line || !f->module || !*f->module)
		return 0;
	err = add_u64(o, "offset", f->offset);
	return err ? err : add_str(o, "build_id",
				   f->build_id ? f->build_id : "");
}

static int
frame_obj(cJSON *arr, const struct st_frame *f)
{
	cJSON *o = cJSON_CreateObject();
	int err;

	if (!o || !cJSON_AddItemToArray(arr, o)) {
		cJSON_Delete(o);
		return -ENOMEM;
	}
	err = add_str(o, "filename", f->file);
	err = err ? err : add_u64(o, "lineno", f->line);
	err = err ? err : add_str(o, "function", f->function);
	err = err ? err : add_str(o, "module", f->module);
	return err ? err : add_offset(o, f);
}

/* Build the object of statistic s. */
static int
stat_obj(const struct fmt_json_stats *j, size_t s, cJSON *o, char *buf,
	 size_t len)
{
	const struct st_set *set = j->set;
	const struct st_stat *st = &j->list->v[s];
	const struct st_frame *f;
	char size[64];
	cJSON *tb, *fr;
	uint32_t i;
	int err;

	err = st_stat_str(set, j->list, s, buf, len);
	if (err)
		return err;
	st_format_bytes(size, sizeof(size), (double)st->size);
	err = add_str(o, "stat", buf);
	err = err ? err : add_u64(o, "mem_blocks_count", st->count);
	err = err ? err : add_u64(o, "mem_blocks_size_bytes", st->size);
	err = err ? err : add_str(o, "mem_blocks_size", size);
	if (err)
		return err;
	if (j->key == ST_LINENO) {
		f = &set->frames[set->ids[st->key_off]];
		err = add_str(o, "filename", f->file);
		err = err ? err : add_u64(o, "lineno", f->line);
		err = err ? err : add_str(o, "code", code_of(j, f));
		err = err ? err : add_str(o, "function", f->function);
		err = err ? err : add_str(o, "module", f->module);
		err = err ? err : add_offset(o, f);
		return err ? err : add_pids(o, set, j->list, s);
	}
	tb = cJSON_AddArrayToObject(o, "traceback");
	fr = cJSON_AddArrayToObject(o, "frames");
	if (!tb || !fr)
		return -ENOMEM;
	/* Traceback.format(): oldest frame first */
	for (i = st->key_n; i-- > 0 && !err;) {
		const char *code;

		f = &set->frames[set->ids[st->key_off + i]];
		snprintf(buf, len, "  File \"%s\", line %" PRIu32, f->file,
			 f->line);
		if (!cJSON_AddItemToArray(tb, cJSON_CreateString(buf)))
			return -ENOMEM;
		code = code_of(j, f);
		if (*code) {
			snprintf(buf, len, "    %s", code);
			if (!cJSON_AddItemToArray(tb,
						  cJSON_CreateString(buf)))
				return -ENOMEM;
		}
		err = frame_obj(fr, f);
	}
	return err ? err : add_pids(o, set, j->list, s);
}

/* [{"pid": N, "status": N, "error": "..."}, ...] or NULL (no memory). */
static cJSON *
failures(const struct fmt_json_failure *v, size_t n)
{
	cJSON *a = cJSON_CreateArray(), *o;
	size_t i;
	int err = a ? 0 : -ENOMEM;

	for (i = 0; i < n && !err; i++) {
		o = cJSON_CreateObject();
		if (!o || !cJSON_AddItemToArray(a, o)) {
			cJSON_Delete(o);
			err = -ENOMEM;
			break;
		}
		err = add_i64(o, "pid", v[i].pid);
		err = err ? err : add_i64(o, "status", v[i].status);
		err = err ? err : add_str(o, "error", v[i].error);
	}
	if (err) {
		cJSON_Delete(a);
		return NULL;
	}
	return a;
}

int
fmt_json_stats(const struct fmt_json_stats *j, struct sink *out)
{
	size_t n = j->list->n, s, len = 0, i;
	char size[64], *buf, *txt;
	cJSON *o;
	int err = 0;

	if (j->count && j->count < n)
		n = j->count;
	/* a buffer large enough for any line of any statistic */
	for (i = 0; i < j->set->n_files; i++)
		if (strlen(j->set->files[i]) > len)
			len = strlen(j->set->files[i]);
	len += 8192;
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	sink_puts(out, "{\"stats\": [");
	/* stop early once the client is gone (sticky sink error) */
	for (s = 0; s < n && !err && !out->err; s++) {
		o = cJSON_CreateObject();
		if (!o) {
			err = -ENOMEM;
			break;
		}
		err = stat_obj(j, s, o, buf, len);
		txt = err ? NULL : cJSON_PrintUnformatted(o);
		cJSON_Delete(o);
		if (!err && !txt)
			err = -ENOMEM;
		if (err)
			break;
		if (s)
			sink_puts(out, ", ");
		sink_puts(out, txt);
		cJSON_free(txt);
	}
	free(buf);
	if (err)
		return err;
	st_format_bytes(size, sizeof(size), (double)j->heap_current);
	sink_printf(out, "], \"heap_current_bytes\": %" PRIu64
		    ", \"heap_current\": \"%s\"", j->heap_current, size);
	if (j->has_diff) {
		st_format_bytes(size, sizeof(size), (double)j->heap_diff);
		sink_printf(out, ", \"heap_diff_bytes\": %" PRId64
			    ", \"heap_diff\": \"%s\"", j->heap_diff, size);
	}
	if (j->n_failed) {
		cJSON *a = failures(j->failed, j->n_failed);

		txt = a ? cJSON_PrintUnformatted(a) : NULL;
		cJSON_Delete(a);
		if (!txt)
			return -ENOMEM;
		sink_printf(out, ", \"failed\": %s", txt);
		cJSON_free(txt);
	}
	sink_printf(out, ", \"view\": \"%s\", \"estimated\": %s, "
		    "\"sampling_bytes\": %" PRIu64, st_view_name(j->set->view),
		    j->set->sampling_bytes ? "true" : "false",
		    j->set->sampling_bytes);
	sink_puts(out, "}\n");
	return 0;
}

/*
 * One whole document: print `root` on one line and delete it.  `err`, the
 * result of building it, wins over the printing's -ENOMEM.
 */
static int
emit(struct sink *out, cJSON *root, int err)
{
	char *txt = err ? NULL : cJSON_PrintUnformatted(root);

	cJSON_Delete(root);
	if (!txt)
		return err ? err : -ENOMEM;
	sink_puts(out, txt);
	sink_puts(out, "\n");
	cJSON_free(txt);
	return 0;
}

int
fmt_json_targets(const struct seg_info *v, const int *responding, size_t n,
		 struct sink *out)
{
	cJSON *a = cJSON_CreateArray(), *o;
	size_t i;
	int err = a ? 0 : -ENOMEM;

	for (i = 0; i < n && !err; i++) {
		o = cJSON_CreateObject();
		if (!o || !cJSON_AddItemToArray(a, o)) {
			cJSON_Delete(o);
			err = -ENOMEM;
			break;
		}
		err = add_i64(o, "pid", v[i].pid);
		err = err ? err : add_str(o, "name", v[i].name);
		err = err ? err : add_i64(o, "uid", v[i].uid);
		if (!err && (!cJSON_AddBoolToObject(o, "alive", v[i].alive) ||
			     !cJSON_AddBoolToObject(o, "tracing",
						    v[i].tracing)))
			err = -ENOMEM;
		if (!err && !cJSON_AddBoolToObject(o, "responding",
						   responding && responding[i]))
			err = -ENOMEM;
		err = err ? err : add_u64(o, "frames", v[i].frames);
		err = err ? err : add_u64(o, "max_frames", v[i].max_frames);
		err = err ? err : add_u64(o, "traced_current_bytes",
					  v[i].traced_current);
		err = err ? err : add_u64(o, "traced_peak_bytes",
					  v[i].traced_peak);
		err = err ? err : add_u64(o, "tracer_memory_bytes",
					  v[i].tracer_memory);
		err = err ? err : add_u64(o, "dropped", v[i].dropped);
		err = err ? err : add_i64(o, "last_error", v[i].last_error);
		/* what the traced heap can explain: the process's memory
		 * (0: unknown) and where its malloc goes */
		err = err ? err : add_u64(o, "rss_bytes", v[i].rss_bytes);
		err = err ? err : add_u64(o, "anon_bytes", v[i].anon_bytes);
		err = err ? err : add_str(o, "allocator",
					  seg_alloc_name(v[i].alloc_mode));
		if (!err && v[i].alloc_path[0])
			err = add_str(o, "allocator_path", v[i].alloc_path);
		if (!err && !cJSON_AddBoolToObject(o, "lease_expired",
				v[i].flags & SEG_F_LEASE_EXPIRED))
			err = -ENOMEM;
		err = err ? err : add_str(o, "mode", !v[i].tracing ? "off" :
					  v[i].sampling ? "sampled" : "exact");
		err = err ? err : add_u64(o, "sampling_bytes", v[i].sampling);
	}
	return emit(out, a, err);
}

int
fmt_json_error(struct sink *out, const char *msg, const char *param,
	       const char *accepted, int32_t pid)
{
	cJSON *o = cJSON_CreateObject();
	int err = o ? add_str(o, "error", msg) : -ENOMEM;

	if (!err && param)
		err = add_str(o, "parameter", param);
	if (!err && accepted)
		err = add_str(o, "accepted", accepted);
	if (!err && pid > 0)
		err = add_i64(o, "pid", pid);
	return emit(out, o, err);
}

int
fmt_json_partial(struct sink *out, const char *key, const char *msg,
		 const struct fmt_json_failure *v, size_t n)
{
	cJSON *o = cJSON_CreateObject(), *a = failures(v, n);
	int err = o && a ? add_str(o, key, msg) : -ENOMEM;

	if (!err && !cJSON_AddItemToObject(o, "failed", a))
		err = -ENOMEM;
	else if (!err)
		a = NULL;
	cJSON_Delete(a);
	return emit(out, o, err);
}
