# fcgi/symbols.mk - the libdw symbolizer (included from fcgi/local.mk).
# hawk-fcgi (fcgi/local.mk) and tests/t-symbols (tests/sym.mk) compile
# these sources with these flags; __cxa_demangle comes from libstdc++.
fcgi_symbols_sources = fcgi/symbols.c fcgi/symbols.h fcgi/sym_int.h \
	fcgi/sym_open.c fcgi/sym_dwarf.c fcgi/sym_source.c fcgi/sym_cred.c
fcgi_symbols_cflags = $(DW_CFLAGS)
fcgi_symbols_libs = $(DW_LIBS) -lstdc++ -lpthread
