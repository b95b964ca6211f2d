# tracer/local.mk - libhawk, the tracer that runs inside target processes
# (included from the top-level Makefile.am).  Never built with sanitizers:
# it is preloaded into other programs and interposes malloc.
lib_LTLIBRARIES += tracer/libhawk.la
include_HEADERS += tracer/hawk.h
dist_man_MANS += tracer/libhawk.3
# Every call points down, by layer (README, "How it fits together"):
#   interpose            the exported malloc family, C++ operators
#   core                 the recording hot path and its per-thread cache
#   unwind, fastunw, cfi, intern, blocks, defer, modules
#                        capture and tables
#   arena, guard         memory and the reentrancy flag, lock order
# control (start/stop/status, the jump table's switch) sits above core,
# with gc_hooks below it; snapshot, agent, api, boot and fork above
# control.
tracer_libhawk_la_SOURCES = \
	tracer/guard.h tracer/guard.c tracer/arena.h tracer/arena.c \
	tracer/intern.h tracer/intern.c tracer/blocks.h tracer/blocks.c \
	tracer/unwind.h tracer/unwind.c tracer/fastunw.h tracer/fastunw.c \
	tracer/cfi.h tracer/cfi.c tracer/caches.h \
	tracer/core.h tracer/core.c tracer/defer.h tracer/defer.c \
	tracer/interpose.h tracer/interpose.c tracer/interpose_cxx.c \
	tracer/gc_hooks.h tracer/gc_hooks.c tracer/control.h tracer/control.c \
	tracer/interpose_sample.c tracer/sample.h tracer/sample.c \
	tracer/modules.h tracer/modules.c tracer/snapshot.h tracer/snapshot.c \
	tracer/agent.h tracer/agent.c tracer/fork.h tracer/fork.c \
	tracer/boot.c tracer/api.c tracer/creds.c
# -fno-plt: the off path jumps to glibc through the GOT directly
tracer_libhawk_la_CFLAGS = $(BASE_CFLAGS) -fvisibility=hidden -fno-plt \
	$(UNWIND_CFLAGS)
# the tracer includes ipc/ for the writer (seg_write.h) and the format
tracer_libhawk_la_CPPFLAGS = $(AM_CPPFLAGS) $(IPC_CPPFLAGS)
tracer_libhawk_la_LDFLAGS = -version-info 0:0:0 -no-undefined
tracer_libhawk_la_LIBADD = ipc/libipc-writer.la $(UNWIND_LIBS) -ldl -lpthread
