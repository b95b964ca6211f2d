# SPDX-License-Identifier: MIT
# tests/fcgi_client.py - a minimal FastCGI client (one request per
# connection) for the responder's tests and benchmark.
#   python3 fcgi_client.py SOCKET [-n N] [-o FILE] NAME=VALUE...
# SOCKET is /path (unix) or host:port.  Sends the NAME=VALUE pairs as
# FastCGI params (FCGI_RESPONDER, empty stdin) N times (default 1), writes
# the last response's stdout (CGI headers + body) to FILE or stdout and, with
# -n, the seconds each request took to stderr, one per line.
import socket
import struct
import sys
import time

BEGIN, END, PARAMS, STDIN, STDOUT, STDERR = 1, 3, 4, 5, 6, 7


def record(rtype, content, rid=1):
    return struct.pack("!BBHHBx", 1, rtype, rid, len(content), 0) + content


def pairs(params):
    out = b""
    for k, v in params:
        k, v = k.encode(), v.encode()
        for n in (len(k), len(v)):
            out += bytes([n]) if n < 128 else struct.pack("!I", n | 1 << 31)
        out += k + v
    return out


def request(addr, params):
    if addr.startswith("/"):
        s = socket.socket(socket.AF_UNIX)
        s.connect(addr)
    else:
        host, port = addr.rsplit(":", 1)
        s = socket.create_connection((host or "127.0.0.1", int(port)))
    body = pairs(params)
    msg = record(BEGIN, struct.pack("!HB5x", 1, 0))
    for i in range(0, len(body), 65535):
        msg += record(PARAMS, body[i:i + 65535])
    msg += record(PARAMS, b"") + record(STDIN, b"")
    s.sendall(msg)
    f = s.makefile("rb")
    out = []
    while True:
        hdr = f.read(8)
        if len(hdr) < 8:
            raise SystemExit("fcgi_client: connection closed early")
        _, rtype, _, clen, plen = struct.unpack("!BBHHBx", hdr)
        content = f.read(clen)
        f.read(plen)
        if rtype == STDOUT:
            out.append(content)
        elif rtype == STDERR:
            sys.stderr.buffer.write(content)
        elif rtype == END:
            break
    s.close()
    return b"".join(out)


def main():
    args = sys.argv[1:]
    addr = args.pop(0)
    n, outfile, timing = 1, None, False
    while args and args[0] in ("-n", "-o"):
        if args[0] == "-n":
            n, timing = int(args[1]), True
        else:
            outfile = args[1]
        del args[:2]
    params = [a.split("=", 1) for a in args]
    for _ in range(n):
        t = time.monotonic()
        resp = request(addr, params)
        if timing:
            print("%.3f" % (time.monotonic() - t), file=sys.stderr)
    if outfile:
        with open(outfile, "wb") as f:
            f.write(resp)
    else:
        sys.stdout.buffer.write(resp)


main()
