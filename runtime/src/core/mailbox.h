/* Messages and the intrusive FIFO queues that hold them. */
#ifndef MOLT_RUNTIME_MAILBOX_H
#define MOLT_RUNTIME_MAILBOX_H

#include <stddef.h>
#include <stdint.h>

#include "molt/module.h"

/*
 * A message is one allocation: this header, the payload bytes, then the
 * exit reason (NUL-terminated) if any. It embeds its queue link, so
 * queueing never allocates (STYLE §5). Kinds below 16 are the public
 * enum molt_msg_kind; the others are signals, handled even while the
 * process is suspended.
 */
enum {
	MOLT__SIG_EXIT = 16, /* exit signal: from, reason, flags */
	MOLT__SIG_SYS = 17,  /* system request: data holds a molt__sysreq * */
};

#define MOLT__MSGF_LINKED 0x1u /* exit signal came from a link */
#define MOLT__MSGF_KILL	  0x2u /* untrappable (molt_exit "kill") */

typedef struct molt__msg {
	struct molt__msg *next; /* queue link */
	uint8_t kind;		/* enum molt_msg_kind or MOLT__SIG_* */
	uint8_t flags;		/* MOLT__MSGF_* */
	uint32_t len;		/* payload length */
	molt_pid from;		/* sender or 0 */
	molt_ref ref;		/* call, monitor or timer reference */
	const char *reason;	/* points into this block, or NULL */
	char data[];		/* payload, then reason */
} molt__msg;

/* A FIFO of messages. Not thread-safe: the owner's lock guards it. */
typedef struct molt__mqueue {
	molt__msg *head; /* oldest, or NULL */
	molt__msg *tail; /* newest, or NULL */
	size_t len;	 /* number of messages */
} molt__mqueue;

/*
 * One message block with a copy of data and reason (either may be NULL).
 * Returns owned (molt_free) or NULL when out of memory.
 */
molt__msg *molt__msg_new(int kind, molt_pid from, molt_ref ref,
			 const void *data, size_t len, const char *reason);
void molt__mqueue_push(molt__mqueue *q, molt__msg *m);
/* Oldest message, removed, or NULL. */
molt__msg *molt__mqueue_pop(molt__mqueue *q);
/* Take every message out of q (q becomes empty); returns the list head. */
molt__msg *molt__mqueue_take(molt__mqueue *q);

#endif
