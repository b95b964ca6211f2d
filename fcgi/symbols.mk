# fcgi/symbols.mk - the libdw symbolizer (included from fcgi/local.mk).
# hawk-fcgi (fcgi/local.mk) and tests/t-symbols (tests/sym.mk) compile
# these sources with these flags; __cxa_demangle comes from libstdc++.
fcgi_symbols_sources = fcgi/symbols.c fcgi/symbols.h
fcgi_symbols_cflags = $(DW_CFLAGS)
fcgi_symbols_libs = $(DW_LIBS) -lstdc++ -lpthread
