# tests/ipc.mk - tests of ipc/ and cli/ (included from tests/local.mk)
# hawk-dump is the command/snapshot tool the tracer tests drive targets with.
check_PROGRAMS += tests/hawk-dump tests/t-seg-read tests/t-cmd
ipc_test_cppflags = $(AM_CPPFLAGS) $(IPC_CPPFLAGS) $(TESTS_CPPFLAGS)
tests_hawk_dump_CPPFLAGS = $(ipc_test_cppflags)
tests_hawk_dump_SOURCES = tests/hawk-dump.c
tests_hawk_dump_LDADD = ipc/libipc.la
tests_t_seg_read_CPPFLAGS = $(ipc_test_cppflags)
tests_t_seg_read_SOURCES = tests/t-seg-read.c
tests_t_seg_read_LDADD = ipc/libipc.la
tests_t_cmd_CPPFLAGS = $(ipc_test_cppflags)
tests_t_cmd_SOURCES = tests/t-cmd.c
tests_t_cmd_LDADD = ipc/libipc.la
TESTS += tests/t-seg-read tests/t-cmd

# the writer (linked into libhawk) and libhawk: no reader, malloc or stdio
dist_check_SCRIPTS += tests/t-ipc-writer.sh
TESTS += tests/t-ipc-writer.sh

# the `hawk` command; seg-fake makes hand-made segments for `hawk ps`
check_PROGRAMS += tests/seg-fake
tests_seg_fake_CPPFLAGS = $(ipc_test_cppflags)
tests_seg_fake_SOURCES = tests/seg-fake.c
dist_check_SCRIPTS += tests/t-cli-usage.sh tests/t-cli-ps.sh tests/t-cli-run.sh
TESTS += tests/t-cli-usage.sh tests/t-cli-ps.sh tests/t-cli-run.sh

# snap_stream.c, the snapshot reader through bounded windows
check_PROGRAMS += tests/t-snap-stream
tests_t_snap_stream_CPPFLAGS = $(ipc_test_cppflags)
tests_t_snap_stream_SOURCES = tests/t-snap-stream.c
tests_t_snap_stream_LDADD = ipc/libipc.la
TESTS += tests/t-snap-stream
