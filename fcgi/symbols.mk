# fcgi/symbols.mk - the libdw symbolizer (included from fcgi/local.mk).
# hawk-fcgi (fcgi/local.mk) and tests/t-symbols (tests/sym.mk) compile
# these sources with these flags (ipc/utf8.c, the UTF-8 validator, comes
# along: the test programs do not link ipc/); __cxa_demangle comes from
# libstdc++.
fcgi_symbols_sources = fcgi/symbols.c fcgi/symbols.h fcgi/sym_int.h \
	fcgi/sym_open.c fcgi/sym_dwarf.c fcgi/sym_source.c fcgi/sym_cred.c \
	ipc/utf8.c ipc/utf8.h
fcgi_symbols_cflags = $(DW_CFLAGS)
fcgi_symbols_libs = $(DW_LIBS) -lstdc++ -lpthread
