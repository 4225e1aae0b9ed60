/*
 * kvs_abuse: clients that misbehave, against a Redis-protocol server on
 * 127.0.0.1 (e2e.kvs_abuse drives it against kvs on a real moltd).
 *
 *   kvs_abuse bigline PORT
 *	sends an unterminated line of up to 1 GiB; prints "sent N reply R"
 *	once the server has closed the connection (N: bytes it took, R:
 *	its first reply line). Exit 1 if the server never closes.
 *   kvs_abuse halfclose PORT
 *	sends "PING" and "GET nosuchkey", shuts its writing side down, and
 *	prints every reply line until the server closes.
 *   kvs_abuse noread PORT SECONDS
 *	sends "GET big" (the caller makes the key big, so that replies pile
 *	up fast) without ever reading a reply, until the server has taken
 *	nothing for SECONDS; prints "sent N" (N: bytes the server took).
 *
 * Plain blocking sockets with SO_SNDTIMEO/SO_RCVTIMEO, so a server that
 * hangs makes this exit 1 instead of the test hanging.
 */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "molt/banned.h"

#define GIB ((size_t)1 << 30)

static int connect_to(int port, int timeout_s)
{
	struct sockaddr_in sa;
	struct timeval tv = {timeout_s, 0};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("kvs_abuse: connect");
		close(fd);
		return -1;
	}
	return fd;
}

/* One line of reply (without "\r\n") into buf; 0 at end of stream. */
static ssize_t read_line(int fd, char *buf, size_t size)
{
	size_t n = 0;

	while (n + 1 < size) {
		ssize_t r = recv(fd, buf + n, 1, 0);

		if (r <= 0)
			return r < 0 ? -1 : (ssize_t)n;
		if (buf[n] == '\n')
			break;
		n++;
	}
	while (n && (buf[n - 1] == '\r' || buf[n - 1] == '\n'))
		n--;
	buf[n] = '\0';
	return (ssize_t)n + 1;
}

static int bigline(int port)
{
	static char chunk[64 * 1024];
	char reply[256] = "(none)";
	size_t sent = 0;
	int fd = connect_to(port, 10);

	if (fd < 0)
		return 1;
	memset(chunk, 'a', sizeof(chunk));
	while (sent < GIB) {
		ssize_t n = send(fd, chunk, sizeof(chunk), MSG_NOSIGNAL);

		if (n <= 0)
			break; /* closed by the server (EPIPE, ECONNRESET) */
		sent += (size_t)n;
	}
	if (sent >= GIB) {
		fprintf(stderr,
			"kvs_abuse: the server took 1 GiB of one line\n");
		return 1;
	}
	if (read_line(fd, reply, sizeof(reply)) <= 0)
		snprintf(reply, sizeof(reply), "(none)");
	printf("sent %zu reply %s\n", sent, reply);
	close(fd);
	return 0;
}

static int halfclose(int port)
{
	static const char cmds[] = "PING\r\nGET nosuchkey\r\n";
	char line[256];
	int fd = connect_to(port, 10);
	ssize_t n;

	if (fd < 0)
		return 1;
	if (send(fd, cmds, sizeof(cmds) - 1, MSG_NOSIGNAL) < 0 ||
	    shutdown(fd, SHUT_WR) < 0) {
		perror("kvs_abuse: halfclose");
		return 1;
	}
	while ((n = read_line(fd, line, sizeof(line))) > 0)
		printf("%s\n", line);
	close(fd);
	if (n < 0) {
		fprintf(stderr, "kvs_abuse: the server did not close\n");
		return 1;
	}
	printf("closed\n");
	return 0;
}

static int noread(int port, int seconds)
{
	static char cmds[64 * 1024];
	size_t len = 0, sent = 0;
	int fd = connect_to(port, seconds);

	if (fd < 0)
		return 1;
	while (len + 16 < sizeof(cmds))
		len += (size_t)snprintf(cmds + len, sizeof(cmds) - len,
					"GET big\r\n");
	for (;;) {
		ssize_t n = send(fd, cmds, len, MSG_NOSIGNAL);

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break; /* nothing taken for SECONDS: back-pressure */
		if (n <= 0) {
			perror("kvs_abuse: noread: send");
			return 1;
		}
		sent += (size_t)n;
		if (sent > 4 * GIB) {
			fprintf(stderr, "kvs_abuse: the server read 4 GiB of "
					"commands without sending replies\n");
			return 1;
		}
	}
	printf("sent %zu\n", sent);
	fflush(stdout);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	int port = argc > 2 ? atoi(argv[2]) : 0;

	signal(SIGPIPE, SIG_IGN);
	if (argc == 3 && strcmp(argv[1], "bigline") == 0)
		return bigline(port);
	if (argc == 3 && strcmp(argv[1], "halfclose") == 0)
		return halfclose(port);
	if (argc == 4 && strcmp(argv[1], "noread") == 0)
		return noread(port, atoi(argv[3]));
	fprintf(stderr, "usage: kvs_abuse bigline|halfclose PORT\n"
			"       kvs_abuse noread PORT SECONDS\n");
	return 2;
}
