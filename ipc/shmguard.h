/* SPDX-License-Identifier: MIT */
/*
 * shmguard.h - touch a shared mapping whose file someone else may shrink.
 * Private to ipc/'s reader side (cmd.c).
 */
#ifndef HAWK_IPC_SHMGUARD_H
#define HAWK_IPC_SHMGUARD_H

/*
 * Run fn(arg) and return its result; if fn touches a page of a shared
 * mapping that lies beyond the end of its file (the file was truncated
 * under us: SIGBUS), fn is abandoned at that point and -EFAULT is
 * returned instead.  fn must own nothing that needs releasing when it is
 * abandoned (no malloc, no lock taken inside it).  Thread-safe; the first
 * call installs a SIGBUS handler for the process, which passes every
 * SIGBUS that is not ours to the handler installed before it (or to the
 * default action).
 */
int shmguard_call(int (*fn)(void *), void *arg);

#endif /* HAWK_IPC_SHMGUARD_H */
