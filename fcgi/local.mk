# fcgi/local.mk - hawk-fcgi, the FastCGI/CGI responder.
include fcgi/symbols.mk

# Everything but the accept loop, the targets and the symbolizer lives in a
# convenience library that the unit tests link as well.
noinst_LTLIBRARIES += fcgi/libresponder.la
fcgi_libresponder_la_SOURCES = \
	fcgi/sink.c fcgi/sink.h \
	fcgi/stats.c fcgi/stats.h fcgi/tbtrie.c fcgi/tbtrie.h \
	fcgi/fmt_json.c fcgi/fmt_json.h \
	fcgi/fmt_pickle.c fcgi/fmt_pickle.h \
	fcgi/fmt_pprof.c fcgi/fmt_pprof.h \
	fcgi/fmt_flame.c fcgi/fmt_flame.h \
	fcgi/fmt_page.c fcgi/fmt_page.h fcgi/keymap.h fcgi/grow.h \
	fcgi/params.c fcgi/params.h \
	fcgi/route.c fcgi/route.h fcgi/route_status.c fcgi/route_status.h \
	fcgi/config.c fcgi/fcgi_config.h
nodist_fcgi_libresponder_la_SOURCES = fcgi/profile.pb-c.c fcgi/profile.pb-c.h \
	fcgi/flame_html.c
fcgi_libresponder_la_CPPFLAGS = $(AM_CPPFLAGS) $(IPC_CPPFLAGS) -I$(top_builddir)/fcgi \
	-I$(top_srcdir)/fcgi \
	$(CJSON_CFLAGS) $(PROTOBUF_C_CFLAGS) $(ZLIB_CFLAGS)
fcgi_libresponder_la_LIBADD = $(CJSON_LIBS) $(PROTOBUF_C_LIBS) $(ZLIB_LIBS) -lm

# pprof's message types, generated from the .proto we wrote (protoc-c)
fcgi/profile.pb-c.c fcgi/profile.pb-c.h: $(top_srcdir)/fcgi/profile.proto
	$(AM_V_GEN)$(MKDIR_P) fcgi && \
	$(PROTOC_C) --c_out=fcgi -I$(top_srcdir)/fcgi \
		$(top_srcdir)/fcgi/profile.proto
BUILT_SOURCES += fcgi/profile.pb-c.c fcgi/profile.pb-c.h
CLEANFILES += fcgi/profile.pb-c.c fcgi/profile.pb-c.h
EXTRA_DIST += fcgi/profile.proto

# the flame-graph page, compiled in as one C string
fcgi/flame_html.c: $(top_srcdir)/fcgi/flame.html
	$(AM_V_GEN)$(MKDIR_P) fcgi && { \
	echo '/* generated from fcgi/flame.html: do not edit */'; \
	echo '#include "fmt_flame.h"'; \
	echo 'const char fmt_flame_html[] ='; \
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/\t"/' -e 's/$$/\\n"/' \
		$(top_srcdir)/fcgi/flame.html; \
	echo ';'; } >$@.tmp && mv $@.tmp $@
BUILT_SOURCES += fcgi/flame_html.c
CLEANFILES += fcgi/flame_html.c
EXTRA_DIST += fcgi/flame.html docs/flamegraph.png

# The responder itself.  Installed in $(pkglibexecdir): web servers and
# `hawk serve` start it; nobody types its name.
pkglibexec_PROGRAMS += fcgi/hawk-fcgi
fcgi_hawk_fcgi_SOURCES = fcgi/main.c fcgi/serve.c fcgi/serve.h \
	fcgi/target.c fcgi/target.h fcgi/snapstat.c fcgi/snapstat.h \
	fcgi/textpool.c fcgi/textpool.h $(fcgi_symbols_sources)
fcgi_hawk_fcgi_CPPFLAGS = $(AM_CPPFLAGS) $(IPC_CPPFLAGS) $(CJSON_CFLAGS) \
	$(FCGI_CFLAGS)
fcgi_hawk_fcgi_CFLAGS = $(AM_CFLAGS) $(fcgi_symbols_cflags)
fcgi_hawk_fcgi_LDADD = fcgi/libresponder.la ipc/libipc.la $(FCGI_LIBS) \
	$(CJSON_LIBS) $(fcgi_symbols_libs) -lpthread -lm
dist_man_MANS += fcgi/hawk-fcgi.8
