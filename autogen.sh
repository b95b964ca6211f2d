#!/bin/sh
# autogen.sh - generate ./configure from configure.ac (needs the Debian
# packages autoconf, automake, libtool and pkg-config).
set -e
cd "$(dirname "$0")"
trap 'echo "autogen.sh: failed; install autoconf automake libtool pkg-config" >&2' EXIT
mkdir -p m4 build-aux
autoreconf -fi
trap - EXIT
