#!/bin/sh
# SPDX-License-Identifier: MIT
# t-ipc-writer.sh - the writer side of ipc/ and libhawk carry no reader
# code, no malloc, no stdio, no directory streams (ipc/local.mk): checked
# on the built objects with nm, since it is a property of what the linker
# pulled in, not of the sources.  The reader library is checked to use
# them, so that a broken nm cannot make this test pass.
. "$top_srcdir/tests/lib.sh"
command -v nm >/dev/null 2>&1 || skip_all "nm (binutils) not installed"
writer=$top_builddir/ipc/.libs/libipc-writer.a
reader=$top_builddir/ipc/.libs/libipc.a
lib=$top_builddir/tracer/.libs/libhawk.so

# allocation, stdio, directory streams and what calls malloc inside libc
banned='^(malloc|calloc|realloc|reallocarray|free|posix_memalign|aligned_alloc|memalign|valloc|strdup|strndup|qsort|asprintf|vasprintf|[v]?[sdf]?n?printf|fopen|fdopen|fclose|fread|fwrite|fputs|fputc|fgets|fflush|puts|perror|getline|getdelim|stdin|stdout|stderr|opendir|fdopendir|readdir|closedir|rewinddir|scandir)(@.*)?$'
# the reader's functions (seg_read.h), which must not ship in libhawk
reader_fns='^(seg_info_read|seg_list|seg_remove_dead|seg_client_open|seg_client_close|cmd_run|snap_load|snap_parse|snap_free|seg_alive|seg_seterr|seg_open_check)$'

# undefined NAMES of an object, archive or (with -D) shared library
undef() { nm "$@" 2>/dev/null | awk '$1 == "U" { print $2 }' | sort -u; }

[ -f "$writer" ]
ok $? "the writer library is built on its own ($writer)"
got=$(undef "$writer" | grep -E "$banned" | tr '\n' ' ')
is "$got" "" "the writer calls no malloc, stdio or directory function"
got=$(nm "$writer" 2>/dev/null | awk '$2 ~ /^[TDBR]$/ { print $3 }' |
	grep -E "$reader_fns" | tr '\n' ' ')
is "$got" "" "the writer defines none of the reader's functions"

undef "$reader" | grep -qx malloc && undef "$reader" | grep -qx fdopendir
ok $? "the reader library does use malloc and fdopendir (nm works)"

[ -f "$lib" ]
ok $? "libhawk is built"
got=$(undef -D "$lib" | sed 's/@.*//' | grep -E "$banned" | tr '\n' ' ')
is "$got" "" "libhawk imports no malloc, stdio or directory function"
got=$(nm "$lib" 2>/dev/null | awk '{ print $NF }' | grep -E "$reader_fns" |
	tr '\n' ' ')
is "$got" "" "libhawk carries none of the reader's functions"
done_testing
