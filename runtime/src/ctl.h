/* The control socket: DIR/run/moltd.sock, one JSON object per line. */
#ifndef MOLT_RUNTIME_CTL_H
#define MOLT_RUNTIME_CTL_H

/*
 * One control thread polls the listening socket, its clients and a wake
 * pipe. A request is parsed and looked up in the op table (ctl.c, `ops`):
 * synchronous ops answer at once; asynchronous ones (call) answer later
 * from a completion that another thread queues under mu and announces on
 * the wake pipe, so a slow process never blocks other clients. A client
 * has at most one request in progress; further lines wait, so replies
 * keep request order. The ctl object is reference-counted: pending
 * completions keep it alive after molt_runtime_ctl_close.
 */

struct molt__ctl;

#endif
