# tracer/local.mk - rules for tracer/ (included from the top-level Makefile.am)
