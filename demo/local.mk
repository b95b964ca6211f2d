# demo/local.mk - the demo target of the quick start (included from Makefile.am)
# SPDX-License-Identifier: MIT
# hawk-demo runs under libhawk, so it is never built with sanitizers (their
# runtimes would intercept malloc before the tracer); -g so that the
# responder can name its source lines.  Installed next to hawk-fcgi so that
# `hawk run -- $(pkglibexecdir)/hawk-demo` works after `make install`.
pkglibexec_PROGRAMS += demo/hawk-demo
demo_hawk_demo_SOURCES = demo/hawk-demo.c
demo_hawk_demo_CFLAGS = $(BASE_CFLAGS) -g
demo_hawk_demo_LDFLAGS =
