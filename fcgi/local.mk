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
	fcgi/route.c fcgi/route.h \
	fcgi/config.c fcgi/fcgi_config.h
fcgi_libresponder_la_CPPFLAGS = $(AM_CPPFLAGS) $(CJSON_CFLAGS)
fcgi_libresponder_la_LIBADD = $(CJSON_LIBS) -lm
