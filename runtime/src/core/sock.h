/* TCP sockets owned by processes, and the poll that turns their readiness
 * into messages. */
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
 * There is no poller thread: an idle scheduler waits in epoll_wait (one
 * at a time, holding the poll token; the others sleep on the schedulers'
 * condition variable), and handles the readiness itself, so the process
 * an event wakes goes on that scheduler's own queue and runs there with
 * no thread woken and no context switch. A busy scheduler polls without
 * blocking every few turns (sched.c), so sockets are served while every
 * scheduler is busy. Work queued while a scheduler waits in epoll pokes
 * it through an eventfd (molt__socks_poke).
 *
 * Each socket is registered once, edge-triggered, for input and output:
 * no event costs a system call to re-arm it. An input edge sets rd_ready;
 * if the owner wants data (active > 0) the poller reads one chunk,
 * delivers it as one message and clears rd_ready only once the socket
 * was seen empty, so one busy connection cannot starve the others. If
 * the owner did not want it, molt_sock_active reads it later on the
 * owner's thread (the edge will not come again). An output edge flushes
 * the send queue. All of it under the socket's mutex.
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
	int rd_ready;		  /* reported readable (or the end) and not
				     yet read empty: an edge has passed */
	int rd_end;		  /* the peer's end or an error was reported:
				     rd_ready stays until it is read */
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
	int wake;	    /* eventfd: wakes the scheduler in epoll_wait */
	atomic_int used;    /* a socket was ever made: polling is worth it */
	atomic_int token;   /* a scheduler polls (only one at a time) */
	atomic_int poked;   /* the eventfd was written since the last wait */
	char *buf;	    /* the token holder's read buffer */
	void *events;	    /* the token holder's struct epoll_event[] */
} molt__socks;

int molt__socks_init(struct molt_runtime *rt);
/* Close every socket (after the processes exited and the schedulers
 * stopped) and free the table. */
void molt__socks_free(struct molt_runtime *rt);

/*
 * The scheduler-side poll (sched.c). molt__socks_poll_try takes the poll
 * token (0: no socket was ever made, or another scheduler holds it);
 * with wait set it also says a scheduler is about to block, so that work
 * pushed from now on pokes it. The holder then either calls
 * molt__socks_poll (timeout_ms -1 blocks until readiness or a poke;
 * returns the events handled) or molt__socks_poll_cancel; both give the
 * token back. Readiness is handled on the calling thread: the messages
 * it makes go on that scheduler's queue.
 */
int molt__socks_poll_try(struct molt_runtime *rt, int wait);
int molt__socks_poll(struct molt_runtime *rt, int timeout_ms);
void molt__socks_poll_cancel(struct molt_runtime *rt);
/* Sockets were made and nobody holds the poll token. */
int molt__socks_unattended(struct molt_runtime *rt);
/* Wake the scheduler blocked in epoll_wait, if one is (force: write the
 * eventfd even if none seems to be, as the schedulers' stop does). */
void molt__socks_poke(struct molt_runtime *rt, int force);

/* Process p is exiting: close the sockets it owns (list taken from p). */
void molt__socks_owner_exit(struct molt_runtime *rt, struct molt_proc *p);
/* How many sockets p owns (p's lock held). */
size_t molt__socks_count(const struct molt_proc *p);

#endif
