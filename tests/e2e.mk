# tests/e2e.mk - tests of e2e (included from tests/local.mk)
