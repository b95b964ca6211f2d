# tests/fcgi.mk - tests of fcgi (included from tests/local.mk)
