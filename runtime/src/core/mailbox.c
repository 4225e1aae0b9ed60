/* Messages and their queues: one block per message, linked in place. */
#include "mailbox.h"

#include <string.h>

#include "molt/common.h"

#include "molt/banned.h"

molt__msg *molt__msg_new(int kind, molt_pid from, molt_ref ref,
			 const void *data, size_t len, const char *reason)
{
	size_t rlen = reason ? strlen(reason) + 1 : 0;
	molt__msg *m;

	if (len > UINT32_MAX)
		return NULL;
	m = molt_malloc(sizeof(*m) + len + rlen);
	if (!m)
		return NULL;
	m->next = NULL;
	m->kind = (uint8_t)kind;
	m->flags = 0;
	m->len = (uint32_t)len;
	m->from = from;
	m->ref = ref;
	if (len)
		memcpy(m->data, data, len);
	m->reason = NULL;
	if (reason) {
		memcpy(m->data + len, reason, rlen);
		m->reason = m->data + len;
	}
	return m;
}

void molt__mqueue_push(molt__mqueue *q, molt__msg *m)
{
	m->next = NULL;
	if (q->tail)
		q->tail->next = m;
	else
		q->head = m;
	q->tail = m;
	q->len++;
}

molt__msg *molt__mqueue_pop(molt__mqueue *q)
{
	molt__msg *m = q->head;

	if (!m)
		return NULL;
	q->head = m->next;
	if (!q->head)
		q->tail = NULL;
	q->len--;
	m->next = NULL;
	return m;
}

molt__msg *molt__mqueue_take(molt__mqueue *q)
{
	molt__msg *m = q->head;

	q->head = q->tail = NULL;
	q->len = 0;
	return m;
}
