# tests/sym.mk - tests of the symbolizer (included from tests/local.mk)
