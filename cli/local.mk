# cli/local.mk - rules for cli/ (included from the top-level Makefile.am)
