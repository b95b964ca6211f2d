# ipc/local.mk - the segment format, its writer and its reader (included
# from the top-level Makefile.am).  Two convenience libraries around the
# one format header (segment.h):
#  - libipc-writer.la, the writer (seg_write.h): linked into libhawk, which
#    runs inside traced processes, so never built with sanitizers; no
#    malloc, no stdio, no directory streams (tests/t-ipc-writer.sh checks
#    with nm);
#  - libipc.la, the reader and command client (seg_read.h): the responder,
#    the `hawk` command and the tests (with sanitizers in a sanitizer
#    build).
# seg_proc.c (a process's start time) and estimate.c (the sampling
# estimator) are compiled into both; no program links both libraries.
ipc_writer_sources = ipc/segment.h ipc/seg_write.h ipc/seg_write.c \
	ipc/seg_proc.h ipc/seg_proc.c ipc/estimate.h ipc/estimate.c
ipc_reader_sources = ipc/segment.h ipc/seg_read.h \
	ipc/seg_live.h ipc/seg_live.c ipc/seg_check.h ipc/seg_read.c \
	ipc/seg_list.c ipc/seg_dir.c ipc/seg_client.c ipc/seg_remove.c ipc/snap_read.c ipc/snap_stream.c \
	ipc/cmd.c ipc/shmguard.h ipc/shmguard.c ipc/utf8.h ipc/utf8.c \
	ipc/seg_proc.h ipc/seg_proc.c ipc/estimate.h ipc/estimate.c
noinst_LTLIBRARIES += ipc/libipc.la ipc/libipc-writer.la
ipc_libipc_la_SOURCES = $(ipc_reader_sources)
ipc_libipc_writer_la_SOURCES = $(ipc_writer_sources)
ipc_libipc_writer_la_CFLAGS = $(BASE_CFLAGS) -fvisibility=hidden
