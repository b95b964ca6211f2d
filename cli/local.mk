# cli/local.mk - the `hawk` command (run, ps, serve) and its man page
# (included from the top-level Makefile.am).  It reads segments through
# ipc/ only; `hawk serve` execs pkglibexecdir/hawk-serve (conf/ installs it).
bin_PROGRAMS += cli/hawk
cli_hawk_SOURCES = cli/hawk.c
cli_hawk_CPPFLAGS = $(AM_CPPFLAGS) $(IPC_CPPFLAGS)
cli_hawk_LDADD = ipc/libipc.la
dist_man_MANS += cli/hawk.1
