# fuzz/local.mk - libFuzzer targets (included from the top-level
# Makefile.am), built by clang ($(FUZZ_CC), found by configure) with
# AddressSanitizer and UndefinedBehaviorSanitizer, from the sources they
# exercise (so whatever CC and flags the rest of the build uses):
#   fuzz-snapshot  a snapshot stream: parser, statistics, JSON and pickle
#   fuzz-segment   a segment file: reader, listing, client, command
#   fuzz-query     a request: route matching, query parsing, error body
# Seed corpora (fuzz/corpus/NAME/) come from real snapshots and segments
# (fuzz/make-seeds.sh makes them again).  `make fuzz` runs each target for
# FUZZ_SECONDS (default 60) on a copy of its corpus in the build tree and
# fails on any finding (a crash file, fuzz/NAME.crash-*, is kept).
fuzz_names = fuzz-snapshot fuzz-segment fuzz-query
EXTRA_DIST += fuzz/fuzz-snapshot.c fuzz/fuzz-segment.c fuzz/fuzz-query.c \
	fuzz/make-seeds.sh fuzz/corpus
FUZZ_SECONDS = 60
FUZZ_FLAGS = -g -O1 -fno-omit-frame-pointer \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_INC = -I$(top_builddir) $(IPC_CPPFLAGS) $(FCGI_CPPFLAGS) $(CJSON_CFLAGS)
fuzz_reader_src = ipc/seg_read.c ipc/seg_list.c ipc/seg_dir.c \
	ipc/seg_client.c ipc/seg_remove.c ipc/seg_live.c ipc/seg_proc.c \
	ipc/snap_read.c ipc/snap_stream.c ipc/cmd.c ipc/shmguard.c ipc/utf8.c \
	ipc/estimate.c
fuzz_resp_src = fcgi/sink.c fcgi/stats.c fcgi/fmt_json.c fcgi/fmt_pickle.c \
	fcgi/params.c fcgi/route.c fcgi/route_status.c fcgi/textpool.c
fuzz_snapshot_deps = fuzz/fuzz-snapshot.c $(fuzz_reader_src) $(fuzz_resp_src)
fuzz_segment_deps = fuzz/fuzz-segment.c $(fuzz_reader_src)
fuzz_query_deps = fuzz/fuzz-query.c $(fuzz_reader_src) $(fuzz_resp_src)

if HAVE_LIBFUZZER
fuzz/fuzz-snapshot: $(fuzz_snapshot_deps:%=$(top_srcdir)/%)
	@mkdir -p fuzz
	$(AM_V_CCLD)$(FUZZ_CC) $(FUZZ_FLAGS) $(DEFS) $(FUZZ_INC) $^ -o $@ \
		$(CJSON_LIBS) -lm
fuzz/fuzz-segment: $(fuzz_segment_deps:%=$(top_srcdir)/%)
	@mkdir -p fuzz
	$(AM_V_CCLD)$(FUZZ_CC) $(FUZZ_FLAGS) $(DEFS) $(FUZZ_INC) $^ -o $@
fuzz/fuzz-query: $(fuzz_query_deps:%=$(top_srcdir)/%)
	@mkdir -p fuzz
	$(AM_V_CCLD)$(FUZZ_CC) $(FUZZ_FLAGS) $(DEFS) $(FUZZ_INC) $^ -o $@ \
		$(CJSON_LIBS) -lm

# Each fuzzer for FUZZ_SECONDS on a copy of its seeds; prints the
# executions and findings; fails if any fuzzer found something.
fuzz: $(fuzz_names:%=fuzz/%)
	@rc=0; for f in $(fuzz_names); do \
	  rm -rf fuzz/$$f.corpus; mkdir -p fuzz/$$f.corpus; \
	  cp $(top_srcdir)/fuzz/corpus/$$f/* fuzz/$$f.corpus/ 2>/dev/null; \
	  HAWK_FUZZ_DIR=fuzz/$$f.dir \
	  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ./fuzz/$$f -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
	    -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
	    -artifact_prefix=fuzz/$$f. fuzz/$$f.corpus \
	    >fuzz/$$f.log 2>&1; r=$$?; rm -rf fuzz/$$f.dir; \
	  execs=$$(sed -n 's/^stat::number_of_executed_units: *//p' fuzz/$$f.log); \
	  echo "$$f: $${execs:-0} executions in $(FUZZ_SECONDS) s, exit $$r"; \
	  if [ $$r -ne 0 ]; then rc=1; grep -E 'ERROR|SUMMARY|runtime error' fuzz/$$f.log | head -n 5; fi; \
	done; exit $$rc
else
fuzz:
	@echo "make fuzz: skipped: configure found no clang with libFuzzer (Debian: clang libclang-rt-14-dev)"
endif
.PHONY: fuzz
CLEANFILES += $(fuzz_names:%=fuzz/%)
clean-local: clean-local-fuzz
clean-local-fuzz:
	rm -rf $(fuzz_names:%=fuzz/%.corpus) $(fuzz_names:%=fuzz/%.log) \
		$(fuzz_names:%=fuzz/%.dir)
