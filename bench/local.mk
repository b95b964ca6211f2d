# bench/local.mk - rules for bench/ (included from the top-level Makefile.am)
include bench/responder.mk
