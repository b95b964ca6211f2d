# ipc/local.mk - the segment writer, reader and command client.  Built twice
# as convenience libraries: libipc.la for the responder and tools (with
# sanitizers in a sanitizer build), libipc-nosan.la for libhawk, which runs
# inside traced processes and must never carry a sanitizer runtime.
ipc_sources = ipc/segment.h ipc/seg.h ipc/seg_live.h ipc/seg_write.c ipc/seg_read.c ipc/cmd.c ipc/estimate.c
noinst_LTLIBRARIES += ipc/libipc.la ipc/libipc-nosan.la
ipc_libipc_la_SOURCES = $(ipc_sources)
ipc_libipc_nosan_la_SOURCES = $(ipc_sources)
ipc_libipc_nosan_la_CFLAGS = $(BASE_CFLAGS) -fvisibility=hidden
