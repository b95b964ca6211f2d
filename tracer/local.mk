# tracer/local.mk - libhawk, the tracer that runs inside target processes
# (included from the top-level Makefile.am).  Never built with sanitizers:
# it is preloaded into other programs and interposes malloc.
lib_LTLIBRARIES += tracer/libhawk.la
include_HEADERS += tracer/hawk.h
dist_man_MANS += tracer/libhawk.3
tracer_libhawk_la_SOURCES = \
	tracer/guard.h tracer/arena.h tracer/arena.c \
	tracer/intern.h tracer/intern.c tracer/blocks.h tracer/blocks.c \
	tracer/unwind.h tracer/unwind.c tracer/fastunw.h tracer/fastunw.c tracer/caches.h \
	tracer/core.h tracer/core.c tracer/defer.h tracer/defer.c \
	tracer/interpose.c tracer/interpose_cxx.c tracer/interpose_sample.c \
	tracer/sample.h tracer/sample.c \
	tracer/modules.h tracer/modules.c tracer/snapshot.h tracer/snapshot.c \
	tracer/agent.h tracer/agent.c tracer/fork.c tracer/boot.c tracer/api.c
# -fno-plt: the off path jumps to glibc through the GOT directly
tracer_libhawk_la_CFLAGS = $(BASE_CFLAGS) -fvisibility=hidden -fno-plt \
	$(UNWIND_CFLAGS)
tracer_libhawk_la_LDFLAGS = -version-info 0:0:0 -no-undefined
tracer_libhawk_la_LIBADD = ipc/libipc-nosan.la $(UNWIND_LIBS) -ldl -lpthread
