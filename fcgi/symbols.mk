# fcgi/symbols.mk - the libdw symbolizer (included from fcgi/local.mk)
