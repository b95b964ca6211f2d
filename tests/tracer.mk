# tests/tracer.mk - tests of tracer (included from tests/local.mk)
