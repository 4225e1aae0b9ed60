/* TCP sockets owned by processes, and the poller that turns their
 * readiness into messages. */
#ifndef MOLT_RUNTIME_SOCK_H
#define MOLT_RUNTIME_SOCK_H

/*
 * Every socket is a slot of one table, named by its index and a
 * generation (molt_sock: gen << 32 | index + 1), so a stale name never
 * reaches a reused slot. Slots are allocated once and kept until the
 * runtime is freed, so a pointer to one stays valid; its mutex guards its
 * fields and the generation says whether it is still the socket a caller
 * named.
 *
 * One poller thread waits in epoll_wait. Each socket is registered with
 * EPOLLONESHOT: it is armed only while its owner wants events (active >
 * 0: EPOLLIN) or bytes wait in its send queue (EPOLLOUT), and whoever
 * changes either, under the socket's mutex, arms it again. The poller
 * reads at most one chunk per readiness, delivers it as one message and
 * re-arms, so one busy connection cannot starve the others.
 *
 * Lock order: a socket's mutex, then its owner's process lock (its list
 * of sockets, p->socks), then the table's mutex. A process's exit takes
 * its list under its lock, lets go, and closes each socket after.
 */

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "molt/buf.h"
#include "molt/module.h"

struct molt_runtime;
struct molt_proc;

typedef struct molt__sock {
	pthread_mutex_t mu;	  /* guards every field below */
	uint32_t idx;		  /* its slot */
	_Atomic uint32_t gen;	  /* generation: the name's high half (changed
				     under mu; read without it only to name a
				     socket that lookup then checks) */
	int fd;			  /* -1: the slot is free */
	int listener;		  /* a listening socket */
	int connecting;		  /* molt_tcp_connect in progress */
	unsigned active;	  /* events still to deliver */
	int refused;		  /* a send was refused: SENT is owed */
	int broken;		  /* a send failed: the connection is gone */
	int keep_open;		  /* MOLT_SO_EXIT_ON_CLOSE is 0 */
	int peer_done;		  /* keep_open, and the peer closed its side:
				     nothing more to read */
	uint32_t armed;		  /* the events it is armed for, 0: none (a
				     one-shot event that fired disarms it) */
	molt_pid owner;		  /* the owning process */
	molt_buf out;		  /* bytes queued to send */
	size_t out_off;		  /* of which already sent */
	size_t sendq_max;	  /* limit of out.len - out_off */
	size_t charged;		  /* bytes counted in the owner's heap */
	uint64_t bytes_in;	  /* received, ever */
	uint64_t bytes_out;	  /* sent, ever */
	char local[64];		  /* "ADDR:PORT" */
	char peer[64];		  /* "ADDR:PORT", "" for a listener */
	struct molt__sock *onext; /* the owner's list (owner's lock) */
	struct molt__sock *oprev;
	uint32_t free_next; /* free list: next free slot + 1 (table mu) */
} molt__sock;

typedef struct molt__socks {
	pthread_mutex_t mu; /* guards the table and the free list */
	molt__sock **slot;  /* cap slots, each allocated once */
	uint32_t cap;	    /* slots allocated */
	uint32_t n;	    /* slots in use */
	uint32_t free_head; /* first free slot + 1, 0: none */
	int epfd;	    /* the poller's epoll */
	int wake;	    /* eventfd: stop the poller */
	pthread_t thread;   /* the poller */
	int running;	    /* the poller was started */
} molt__socks;

int molt__socks_init(struct molt_runtime *rt);
int molt__socks_start(struct molt_runtime *rt);
/* Stop the poller and close every socket (after the processes exited). */
void molt__socks_stop(struct molt_runtime *rt);
void molt__socks_free(struct molt_runtime *rt);

/* Process p is exiting: close the sockets it owns (list taken from p). */
void molt__socks_owner_exit(struct molt_runtime *rt, struct molt_proc *p);
/* How many sockets p owns (p's lock held). */
size_t molt__socks_count(const struct molt_proc *p);

#endif
