# tests/ipc.mk - tests of ipc (included from tests/local.mk)
