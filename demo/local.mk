# demo/local.mk - the demo target of the quick start (included from Makefile.am)
