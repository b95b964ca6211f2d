/* SPDX-License-Identifier: MIT */
/*
 * serve.h - answer one HTTP request (CGI/FastCGI variables in, a complete
 * CGI response out: "Status:" line, headers, body).
 */
#ifndef HAWK_FCGI_SERVE_H
#define HAWK_FCGI_SERVE_H

#include "fcgi_config.h"
#include "route.h"
#include "sink.h"
#include "symbols.h"

/*
 * Serve request `r` with settings `c` and the shared symbolizer, writing
 * the response through fn(arg, ...).  Thread-safe (several workers call it
 * at once).  Returns the HTTP status sent, or a negative errno when the
 * response could not be written (the client went away); targets are left
 * as the route demands either way (a fixed-duration profile always stops
 * the tracing it started).
 */
int serve_request(const struct config *c, struct symbolizer *sym,
		  const struct route_req *r, sink_fn fn, void *arg);

#endif /* HAWK_FCGI_SERVE_H */
