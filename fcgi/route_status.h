/* SPDX-License-Identifier: MIT */
/*
 * route_status.h - errno -> HTTP status, and the reason phrases
 * (route_status.c).
 */
#ifndef HAWK_FCGI_ROUTE_STATUS_H
#define HAWK_FCGI_ROUTE_STATUS_H

/* The one errno -> HTTP status table: 0 -> 200, -EINVAL -> 400,
 * -EACCES/-EPERM -> 403, -ENOENT/-ESRCH -> 404, -EALREADY/-ENOTCONN ->
 * 409, -ETIMEDOUT/-EINPROGRESS/-EBUSY -> 504, -ENOMEM -> 503, else 500. */
int route_status(int err);

/* "OK", "Bad Request", ... for a status code. */
const char *route_reason(int status);

#endif /* HAWK_FCGI_ROUTE_STATUS_H */
