# fcgi/local.mk - hawk-fcgi, the FastCGI/CGI responder.
include fcgi/symbols.mk

# Everything but the accept loop, the targets and the symbolizer lives in a
# convenience library that the unit tests link as well.
noinst_LTLIBRARIES += fcgi/libresponder.la
fcgi_libresponder_la_SOURCES = \
	fcgi/sink.c fcgi/sink.h \
	fcgi/stats.c fcgi/stats.h \
	fcgi/fmt_json.c fcgi/fmt_json.h \
	fcgi/fmt_pickle.c fcgi/fmt_pickle.h \
	fcgi/params.c fcgi/params.h \
	fcgi/route.c fcgi/route.h fcgi/route_status.c fcgi/route_status.h \
	fcgi/config.c fcgi/fcgi_config.h
fcgi_libresponder_la_CPPFLAGS = $(AM_CPPFLAGS) $(IPC_CPPFLAGS) $(CJSON_CFLAGS)
fcgi_libresponder_la_LIBADD = $(CJSON_LIBS) -lm

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
