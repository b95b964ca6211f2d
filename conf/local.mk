# conf/local.mk - rules for conf/ (included from the top-level Makefile.am)
# SPDX-License-Identifier: MIT
#
# What goes where (GNU coding standards, "Directory Variables"):
#  - $(sysconfdir)/hawk/hawk.conf          the responder's configuration
#  - $(sysconfdir)/hawk/lighttpd/hawk.conf snippets an operator includes from
#    $(sysconfdir)/hawk/apache/*.conf      the web server's configuration and
#                                          may edit (the "allow" line)
#    These are installed only when absent: `make install` never overwrites
#    an operator's edits (the pristine copies are in $(pkgdatadir)/conf).
#  - $(pkgdatadir)/conf/...                pristine copies of all of the above
#  - $(pkgdatadir)/systemd/hawk-fcgi.{socket,service}  units to copy to
#                                          /etc/systemd/system
#  - $(pkglibexecdir)/hawk-serve           `hawk serve` (cli/hawk-serve.in)
# Paths inside the snippets are substituted at build time.

conf_snippets = conf/lighttpd/hawk.conf conf/apache/hawk-fcgid.conf \
	conf/apache/hawk-proxy-fcgi.conf
conf_units = conf/systemd/hawk-fcgi.socket conf/systemd/hawk-fcgi.service

hawkconf_lighttpddir = $(pkgdatadir)/conf/lighttpd
hawkconf_lighttpd_DATA = conf/lighttpd/hawk.conf
hawkconf_apachedir = $(pkgdatadir)/conf/apache
hawkconf_apache_DATA = conf/apache/hawk-fcgid.conf conf/apache/hawk-proxy-fcgi.conf
hawkconf_systemddir = $(pkgdatadir)/systemd
hawkconf_systemd_DATA = $(conf_units)
hawkservedir = $(pkglibexecdir)
hawkserve_SCRIPTS = cli/hawk-serve

EXTRA_DIST += $(conf_snippets:=.in) $(conf_units:=.in) cli/hawk-serve.in scripts/demo \
	conf/hawk.conf
CLEANFILES += $(conf_snippets) $(conf_units) cli/hawk-serve

# The segment directory and the sockets are runtime paths fixed by
# convention (/dev/shm/hawk as in ipc/segment.h; lighttpd's own run
# directory on Debian; /run/hawk as systemd's RuntimeDirectory would make).
conf_edit = sed \
	-e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	-e 's|@pkgdatadir[@]|$(pkgdatadir)|g' \
	-e 's|@pkglibexecdir[@]|$(pkglibexecdir)|g' \
	-e 's|@HAWK_FCGI_DIR[@]|$(pkglibexecdir)|g' \
	-e 's|@HAWK_FCGI[@]|$(pkglibexecdir)/hawk-fcgi|g' \
	-e 's|@HAWK_DIR[@]|/dev/shm/hawk|g' \
	-e 's|@LIGHTTPD[@]|$(LIGHTTPD)|g' \
	-e 's|@VERSION[@]|$(VERSION)|g'

conf/lighttpd/hawk.conf: $(srcdir)/conf/lighttpd/hawk.conf.in Makefile
	$(AM_V_GEN)$(MKDIR_P) $(@D) && $(conf_edit) \
	  -e 's|@HAWK_SOCKET[@]|/run/lighttpd/hawk-fcgi.sock|g' \
	  $(srcdir)/$@.in >$@.tmp && mv $@.tmp $@
conf/apache/hawk-fcgid.conf: $(srcdir)/conf/apache/hawk-fcgid.conf.in Makefile
	$(AM_V_GEN)$(MKDIR_P) $(@D) && $(conf_edit) \
	  $(srcdir)/$@.in >$@.tmp && mv $@.tmp $@
conf/apache/hawk-proxy-fcgi.conf: $(srcdir)/conf/apache/hawk-proxy-fcgi.conf.in Makefile
	$(AM_V_GEN)$(MKDIR_P) $(@D) && $(conf_edit) \
	  -e 's|@HAWK_SOCKET[@]|/run/hawk/hawk-fcgi.sock|g' \
	  $(srcdir)/$@.in >$@.tmp && mv $@.tmp $@
conf/systemd/hawk-fcgi.socket: $(srcdir)/conf/systemd/hawk-fcgi.socket.in Makefile
	$(AM_V_GEN)$(MKDIR_P) $(@D) && $(conf_edit) \
	  -e 's|@HAWK_SOCKET[@]|/run/hawk/hawk-fcgi.sock|g' \
	  $(srcdir)/$@.in >$@.tmp && mv $@.tmp $@
conf/systemd/hawk-fcgi.service: $(srcdir)/conf/systemd/hawk-fcgi.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) $(@D) && $(conf_edit) \
	  -e 's|@HAWK_SOCKET[@]|/run/hawk/hawk-fcgi.sock|g' \
	  $(srcdir)/$@.in >$@.tmp && mv $@.tmp $@
cli/hawk-serve: $(srcdir)/cli/hawk-serve.in Makefile
	$(AM_V_GEN)$(MKDIR_P) $(@D) && $(conf_edit) \
	  $(srcdir)/$@.in >$@.tmp && chmod +x $@.tmp && mv $@.tmp $@

# Configuration the operator edits: install when absent, keep otherwise;
# uninstall only when unchanged.  hawk.conf comes from the source tree.
conf_etc = hawk.conf lighttpd/hawk.conf apache/hawk-fcgid.conf \
	apache/hawk-proxy-fcgi.conf

install-data-local: $(conf_snippets)
	@for f in $(conf_etc); do \
	  if test -f conf/$$f; then src=conf/$$f; else src=$(srcdir)/conf/$$f; fi; \
	  test -f "$$src" || continue; \
	  dst="$(DESTDIR)$(sysconfdir)/hawk/$$f"; \
	  if test -f "$$dst"; then \
	    echo "keeping existing $$dst (new version in $(pkgdatadir)/conf/$$f)"; \
	  else \
	    $(MKDIR_P) "$$(dirname "$$dst")" && \
	    echo " $(INSTALL_DATA) $$src '$$dst'" && \
	    $(INSTALL_DATA) "$$src" "$$dst" || exit 1; \
	  fi; \
	done
	@if test -f $(srcdir)/conf/hawk.conf; then \
	  $(MKDIR_P) "$(DESTDIR)$(pkgdatadir)/conf" && \
	  $(INSTALL_DATA) $(srcdir)/conf/hawk.conf "$(DESTDIR)$(pkgdatadir)/conf/hawk.conf"; \
	fi

uninstall-local:
	@for f in $(conf_etc); do \
	  if test -f conf/$$f; then src=conf/$$f; else src=$(srcdir)/conf/$$f; fi; \
	  dst="$(DESTDIR)$(sysconfdir)/hawk/$$f"; \
	  if test -f "$$dst" && test -f "$$src" && cmp -s "$$src" "$$dst"; then \
	    echo " rm -f '$$dst'"; rm -f "$$dst"; \
	  elif test -f "$$dst"; then \
	    echo "keeping modified $$dst"; \
	  fi; \
	done
	rm -f "$(DESTDIR)$(pkgdatadir)/conf/hawk.conf"
	-rmdir "$(DESTDIR)$(sysconfdir)/hawk/lighttpd" "$(DESTDIR)$(sysconfdir)/hawk/apache" \
	  "$(DESTDIR)$(sysconfdir)/hawk" 2>/dev/null
