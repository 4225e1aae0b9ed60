/* The control socket client: one JSON line out, one JSON line back. */
#include "ctlclient.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "molt/buf.h"

#include "cli.h"

#include "molt/banned.h"

#define MAX_REPLY (16 * 1024 * 1024)

static int connect_to(int *out, const char *root, molt_err *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, n;

	n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/run/moltd.sock",
		     root);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
		return molt_err_set(err, MOLT_EINVAL,
				    "%s/run/moltd.sock: path too long", root);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return molt_err_set(err, MOLT_EIO, "socket: %s",
				    strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		molt_err_set(err, MOLT_ECLOSED, "no moltd at %s: %s",
			     sa.sun_path, strerror(errno));
		close(fd);
		return MOLT_ECLOSED;
	}
	*out = fd;
	return MOLT_OK;
}

static int send_all(int fd, const char *p, size_t n, molt_err *err)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return molt_err_set(err, MOLT_ECLOSED,
					    "moltd hung up: %s",
					    strerror(errno));
		p += w;
		n -= (size_t)w;
	}
	return MOLT_OK;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Read until a newline; the line (without it) is left in b. */
static int read_line(int fd, molt_buf *b, uint32_t timeout_ms, molt_err *err)
{
	uint64_t deadline = now_ms() + timeout_ms;
	char chunk[4096];

	while (!memchr(b->ptr, '\n', b->len)) {
		struct pollfd pfd = {fd, POLLIN, 0};
		uint64_t now = now_ms();
		ssize_t n;

		if (now >= deadline)
			return molt_err_set(err, MOLT_ETIMEOUT,
					    "no reply from moltd within %u ms",
					    timeout_ms);
		if (poll(&pfd, 1, (int)(deadline - now)) <= 0)
			continue;
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return molt_err_set(err, MOLT_ECLOSED,
					    "moltd closed the connection");
		if (b->len + (size_t)n > MAX_REPLY ||
		    molt_buf_put(b, chunk, (size_t)n) < 0)
			return molt_err_set(err, MOLT_ENOMEM,
					    "reply from moltd too large");
	}
	b->len = (size_t)((char *)memchr(b->ptr, '\n', b->len) - b->ptr);
	b->ptr[b->len] = '\0';
	return MOLT_OK;
}

int molt__ctlclient_request(cJSON **out, char **raw_out, const char *root,
			    const cJSON *req, uint32_t timeout_ms,
			    molt_err *err)
{
	char *line = cJSON_PrintUnformatted(req);
	molt_buf b = MOLT_BUF_INIT;
	int fd = -1, rc;

	if (!line)
		return molt_err_set(err, MOLT_ENOMEM, "out of memory");
	if ((rc = connect_to(&fd, root, err)) < 0)
		goto out;
	if ((rc = send_all(fd, line, strlen(line), err)) < 0 ||
	    (rc = send_all(fd, "\n", 1, err)) < 0 ||
	    (rc = read_line(fd, &b, timeout_ms, err)) < 0)
		goto out;
	*out = cJSON_Parse(b.ptr);
	if (!*out) {
		rc = molt_err_set(err, MOLT_EPARSE,
				  "reply from moltd is not JSON");
		goto out;
	}
	if (raw_out)
		*raw_out = molt_buf_detach(&b);
out:
	if (fd >= 0)
		close(fd);
	cJSON_free(line);
	molt_buf_release(&b);
	return rc;
}

static const char *const names[] = {
	"ok",	   "error",   "enomem",	  "einval",   "enotfound",
	"eexists", "ebusy",   "eversion", "etimeout", "eparse",
	"eio",	   "eclosed", "eunsafe",
};

int molt__ctlclient_reply_error(const cJSON *reply, molt_err *err)
{
	const cJSON *e = cJSON_GetObjectItem(reply, "error");
	const cJSON *code = cJSON_GetObjectItem(e, "code");
	const cJSON *msg = cJSON_GetObjectItem(e, "message");
	int rc = MOLT_ERROR;

	if (cJSON_IsTrue(cJSON_GetObjectItem(reply, "ok")))
		return MOLT_OK;
	for (int i = 1; cJSON_IsString(code) && i < 13; i++)
		if (strcmp(code->valuestring, names[i]) == 0)
			rc = -i;
	return molt_err_set(err, rc, "%s",
			    cJSON_IsString(msg) ? msg->valuestring
						: "moltd refused the request");
}

int molt__ctlclient_verb(struct molt_cli *cli, cJSON *req, cJSON **out,
			 uint32_t timeout_ms)
{
	molt_err err = MOLT_ERR_INIT;
	const char *root;
	cJSON *reply = NULL;
	char *raw = NULL;
	int rc;

	*out = NULL;
	if ((rc = molt__cli_need_root(cli, &root)) != MOLT_EXIT_OK) {
		cJSON_Delete(req);
		return rc;
	}
	rc = molt__ctlclient_request(&reply, &raw, root, req, timeout_ms, &err);
	cJSON_Delete(req);
	if (rc < 0)
		return molt__cli_fail(cli, &err);
	rc = molt__ctlclient_reply_error(reply, &err);
	if (cli->json) {
		printf("%s\n", raw);
		cJSON_Delete(reply);
		molt_free(raw);
		return rc < 0 ? MOLT_EXIT_FAILED : MOLT_EXIT_OK;
	}
	molt_free(raw);
	if (rc < 0) {
		cJSON_Delete(reply);
		return molt__cli_fail(cli, &err);
	}
	*out = reply;
	return MOLT_EXIT_OK;
}
