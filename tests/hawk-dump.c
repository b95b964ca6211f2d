/* SPDX-License-Identifier: MIT */
/*
 * hawk-dump.c - command and snapshot tool for the tests: runs one command
 * against a target through the segment alone (ipc/ reader and command
 * client) and prints what the reader validated, one fact per line, in a
 * format shell tests can grep.
 *
 *   hawk-dump [--timeout MS] [--sizes] [--no-sizes] [--wrong-token]
 *             [--stall S] [--save FILE] DIR PID
 *             start FRAMES [gc] [sample=BYTES] | stop | status |
 *             snapshot [live|allocated|peak]
 *
 * --save FILE writes the snapshot's stream there (re-encoded from what was
 * read: the fuzzers' seeds, fuzz/make-seeds.sh).  --no-sizes asks for no
 * per-block sizes (the stream every output but the pickle reads).
 * --wrong-token first connects with another token than the command's
 * (and says what came of it), then reads the snapshot; --stall S reads
 * the snapshot's header, then nothing for S seconds, then the rest.
 *
 * Exit status: 0 ok; 1 error (message on stderr); 2 usage; 3 already
 * started; 4 not started; 5 timeout (the target did not answer in time,
 * took it without finishing, or other clients held it for the whole time).
 * status of a dead target prints its last header with alive=0 and exits 0.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "estimate.h"
#include "seg_read.h"
#include "snap-build.h"

static void
usage(void)
{
	fprintf(stderr, "usage: hawk-dump [--timeout MS] [--sizes] [--no-sizes] "
		"[--wrong-token] [--stall S] [--save "
		"FILE] DIR PID "
		"start FRAMES [gc] [sample=BYTES] | stop | status |\n"
		"       snapshot [live|allocated|peak]\n");
	exit(2);
}

static long
number(const char *s, long lo, long hi, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi) {
		fprintf(stderr, "hawk-dump: bad %s '%s'\n", what, s);
		exit(2);
	}
	return v;
}

static int
exit_code(int rc)
{
	switch (rc) {
	case 0: return 0;
	case -EALREADY: return 3;
	case -ENOTCONN: return 4;
	case -ETIMEDOUT: case -EINPROGRESS: case -EBUSY: return 5;
	default: return 1;
	}
}

static void
print_status(const struct seg_info *i)
{
	printf("pid=%" PRId32 " name=%s alive=%d tracing=%d frames=%" PRIu32
	       " current=%" PRIu64 " peak=%" PRIu64 " memory=%" PRIu64
	       " dropped=%" PRIu64 " alloc=%" PRIu32 " alloc_path=%s"
	       " rss=%" PRIu64 " anon=%" PRIu64 " sampling=%" PRIu64 "\n",
	       i->pid, i->name,
	       i->alive, i->tracing, i->frames, i->traced_current,
	       i->traced_peak, i->tracer_memory, i->dropped, i->alloc_mode,
	       i->alloc_path[0] ? i->alloc_path : "-", i->rss_bytes,
	       i->anon_bytes, i->sampling);
}

static const struct snap_module *
find_module(const struct snap *s, uint64_t addr)
{
	uint64_t i;

	for (i = 0; i < s->h->n_modules; i++)
		if (addr >= s->modules[i].lo && addr < s->modules[i].hi)
			return &s->modules[i];
	return NULL;
}

static void
print_snapshot(const struct snap *s, int sizes)
{
	const struct snap_header *h = s->h;
	uint64_t i, j, blocks = 0;

	/* the live blocks, whether or not their sizes came along */
	for (i = 0; h->view != SNAP_VIEW_ALLOCATED && i < h->n_traces; i++)
		blocks += s->traces[i].count;

	printf("snapshot pid=%" PRId32 " frames=%" PRIu32 " current=%" PRIu64
	       " peak=%" PRIu64 " memory=%" PRIu64 " traces=%" PRIu64
	       " blocks=%" PRIu64 " dropped_allocs=%" PRIu64
	       " dropped_traces=%" PRIu64 " dropped_blocks=%" PRIu64
	       " sampling=%" PRIu64 " view=%" PRIu32 " alloc_count=%" PRIu64
	       " alloc_bytes=%" PRIu64 " peak_time=%" PRIu64 "\n",
	       h->pid, h->frames, h->traced_current, h->traced_peak,
	       h->tracer_memory, h->n_traces, blocks, h->dropped_allocs,
	       h->dropped_traces, h->dropped_blocks, h->sampling_bytes,
	       h->view, h->alloc_count, h->alloc_bytes, h->peak_time_ns);
	for (i = 0; i < h->n_modules; i++) {
		const struct snap_module *m = &s->modules[i];

		printf("module lo=0x%" PRIx64 " hi=0x%" PRIx64 " bias=0x%"
		       PRIx64 " build_id=", m->lo, m->hi, m->bias);
		for (j = 0; j < m->build_id_len; j++)
			printf("%02x", m->build_id[j]);
		printf(" path=%s\n", snap_module_path(s, i));
	}
	for (i = 0; i < h->n_traces; i++) {
		const struct snap_trace *t = &s->traces[i];

		printf("trace size=%" PRIu64 " count=%" PRIu64 " nframes=%"
		       PRIu32 " total=%" PRIu32 " est_size=%" PRIu64
		       " est_count=%" PRIu64 "\n", t->size, t->count,
		       t->nframes, t->total_nframe, t->est_size,
		       t->est_count);
		for (j = 0; j < t->nframes; j++) {
			uint64_t a = s->frames[t->frame_first + j];
			const struct snap_module *m = find_module(s, a);

			if (m)
				printf("  frame 0x%" PRIx64 " %s 0x%" PRIx64
				       "\n", a, s->strings + m->path_off,
				       a - m->bias - 1);
			else
				printf("  frame 0x%" PRIx64 " ? 0x0\n", a);
		}
		if (sizes && h->n_sizes) {
			printf("  sizes");
			for (j = 0; j < t->count; j++)
				printf(" %" PRIu64,
				       s->sizes[t->block_first + j]);
			printf("\n");
		}
	}
}

/* Write the stream of s (as the target sent it, re-encoded from what
 * was read) to `to`: 0, or -1 with errno. */
static int
save_snapshot(const struct snap *s, const char *to)
{
	struct snap_bytes b;
	int out, rc = 0;

	snap_build(&b, s->h, s->modules, s->strings, s->traces,
		   s->h->n_traces, s->frames, s->sizes, s->h->traced_peak);
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0 || write(out, b.buf, b.len) != (ssize_t)b.len)
		rc = -1;
	if (out >= 0 && close(out) < 0)
		rc = -1;
	free(b.buf);
	return rc;
}

int
main(int argc, char **argv)
{
	int timeout = 5000, sizes = 0, no_sizes = 0, rc, ai = 1;
	int wrong_token = 0, stall = -1;
	uint32_t frames = 0, flags = 0, seq = 0;
	uint64_t sampling = 0;
	enum seg_cmd_op op;
	struct seg_client c;
	struct seg_info info;
	char err[4600];
	const char *dir, *verb, *save = NULL;
	int32_t pid;

	while (ai < argc && strncmp(argv[ai], "--", 2) == 0) {
		if (strcmp(argv[ai], "--timeout") == 0 && ai + 1 < argc) {
			timeout = (int)number(argv[ai + 1], 0, 3600000,
					      "timeout");
			ai += 2;
		} else if (strcmp(argv[ai], "--sizes") == 0) {
			sizes = 1;
			ai++;
		} else if (strcmp(argv[ai], "--no-sizes") == 0) {
			no_sizes = 1;
			ai++;
		} else if (strcmp(argv[ai], "--wrong-token") == 0) {
			wrong_token = 1;
			ai++;
		} else if (strcmp(argv[ai], "--stall") == 0 && ai + 1 < argc) {
			stall = (int)number(argv[ai + 1], 0, 3600, "stall");
			ai += 2;
		} else if (strcmp(argv[ai], "--save") == 0 && ai + 1 < argc) {
			save = argv[ai + 1];
			ai += 2;
		} else {
			usage();
		}
	}
	if (argc - ai < 3)
		usage();
	dir = argv[ai];
	pid = (int32_t)number(argv[ai + 1], 1, INT32_MAX, "pid");
	verb = argv[ai + 2];
	ai += 3;
	if (strcmp(verb, "start") == 0) {
		op = CMD_START;
		if (ai >= argc)
			usage();
		/* out-of-range frames go to the target, which must say
		 * -EINVAL: the tests check that too */
		frames = (uint32_t)number(argv[ai++], 0, (long)UINT32_MAX,
					  "frames");
		if (ai < argc && strcmp(argv[ai], "gc") == 0) {
			flags |= CMD_FLAG_GC;
			ai++;
		}
		if (ai < argc && strncmp(argv[ai], "sample=", 7) == 0) {
			if (snap_parse_sampling(argv[ai] + 7, &sampling) < 0)
				usage();
			ai++;
		}
	} else if (strcmp(verb, "stop") == 0) {
		op = CMD_STOP;
	} else if (strcmp(verb, "status") == 0) {
		op = CMD_STATUS;
	} else if (strcmp(verb, "snapshot") == 0) {
		op = CMD_SNAPSHOT;
		if (ai < argc) {
			static const char *const views[] = {
				"live", "allocated", "peak"
			};

			for (flags = 0; flags < 3; flags++)
				if (strcmp(argv[ai], views[flags]) == 0)
					break;
			if (flags == 3)
				usage();
			ai++;
		}
	} else {
		usage();
	}
	if (ai != argc)
		usage();

	rc = seg_client_open(&c, dir, pid, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "hawk-dump: %s\n", err);
		return 1;
	}
	if (op == CMD_STATUS && !c.info.alive) {
		print_status(&c.info);
		seg_client_close(&c);
		return 0;
	}
	/* every block's size unless told otherwise (blocks= counts them) */
	if (op == CMD_SNAPSHOT && !no_sizes && flags != SNAP_VIEW_ALLOCATED)
		flags |= CMD_FLAG_SNAP_SIZES;
	rc = cmd_run_sampled(&c, op, frames, flags, sampling, timeout, &seq,
			     err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "hawk-dump: %s\n", err);
		seg_client_close(&c);
		return exit_code(rc);
	}
	if (op == CMD_STATUS) {
		int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		/* the file the client opened: "<pid>.seg" or, when that
		 * name was taken, "<pid>.<tag>.seg" */
		rc = dirfd < 0 ? -errno :
			seg_info_read(dirfd, c.info.file, &info, err,
				      sizeof(err));
		if (dirfd >= 0)
			close(dirfd);
		if (rc < 0) {
			fprintf(stderr, "hawk-dump: %s\n", dirfd < 0 ?
				strerror(-rc) : err);
			seg_client_close(&c);
			return 1;
		}
		print_status(&info);
	} else if (op == CMD_SNAPSHOT && stall >= 0) {
		struct snap_stream ss;
		struct snap_trace t;
		const uint64_t *f;

		/* the header, then nothing read for `stall` seconds, then
		 * the rest */
		rc = snap_stream_open(&ss, &c, seq, 0, err, sizeof(err));
		if (rc < 0) {
			fprintf(stderr, "hawk-dump: %s\n", err);
			seg_client_close(&c);
			return 1;
		}
		printf("stalled\n");
		fflush(stdout);
		sleep((unsigned)stall);
		while ((rc = snap_stream_next(&ss, &t, &f, err,
					      sizeof(err))) == 1)
			;
		if (rc == 0)
			printf("read traces=%" PRIu64 " current=%" PRIu64 "\n",
			       ss.h.n_traces, ss.h.traced_current);
		snap_stream_close(&ss);
		if (rc < 0) {
			fprintf(stderr, "hawk-dump: %s\n", err);
			seg_client_close(&c);
			return 1;
		}
	} else if (op == CMD_SNAPSHOT) {
		struct snap s;

		if (wrong_token) {
			struct snap_stream ss;
			uint64_t right = c.snap_token;

			/* another token first: nothing, and the right one
			 * still gets the snapshot */
			c.snap_token ^= 1;
			rc = snap_stream_open(&ss, &c, seq, 0, err, sizeof(err));
			printf("wrong token: %s\n", rc == 0 ? "read" : err);
			if (rc == 0)
				snap_stream_close(&ss);
			c.snap_token = right;
		}
		rc = snap_load(&s, &c, seq, 0, err, sizeof(err));
		if (rc < 0) {
			fprintf(stderr, "hawk-dump: %s\n", err);
			seg_client_close(&c);
			return 1;
		}
		if (save && save_snapshot(&s, save) < 0) {
			fprintf(stderr, "hawk-dump: saving the snapshot to "
				"%s: %s\n", save, strerror(errno));
			snap_free(&s);
			seg_client_close(&c);
			return 1;
		}
		print_snapshot(&s, sizes);
		snap_free(&s);
	}
	seg_client_close(&c);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "hawk-dump: writing output: %s\n",
			strerror(errno));
		return 1;
	}
	return 0;
}
