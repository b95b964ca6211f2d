/* SPDX-License-Identifier: MIT */
/*
 * route_status.c - the one errno -> HTTP status table of the responder,
 * and the reason phrases (route_status.h).  Every layer below returns 0
 * or a negative errno; serve.c turns it into a status here and nowhere
 * else.  Routing itself is route.c.
 */
#include "config.h"

#include <errno.h>

#include "route_status.h"

int
route_status(int err)
{
	switch (err) {
	case 0:
		return 200;
	case -EINVAL:
		return 400;
	case -EACCES:
	case -EPERM:
		return 403;
	case -ENOENT:
	case -ESRCH:
		return 404;
	case -EOPNOTSUPP:
		return 405;
	case -EALREADY:
	case -ENOTCONN:
		return 409;
	case -ENOMEM:
		return 503;
	case -EPROTO:
	case -EFBIG:
		return 502;
	case -ETIMEDOUT:
	case -EINPROGRESS:
	case -EBUSY:
		return 504;
	default:
		return 500;
	}
}

const char *
route_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 207: return "Multi-Status";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 502: return "Bad Gateway";
	case 413: return "Payload Too Large";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Internal Server Error";
	}
}
