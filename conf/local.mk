# conf/local.mk - rules for conf/ (included from the top-level Makefile.am)
