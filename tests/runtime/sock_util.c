/* Helpers for runtime.sock. */
#include "sock_util.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "molt/banned.h"

unsigned char sk_pattern(uint64_t i)
{
	/* the same as fixtures/modules/sockprobe.c */
	return (unsigned char)((i * 131) ^ (i >> 9) ^ (i >> 17));
}

static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3u;
	}
	return h;
}

size_t sk_fill_until_blocked(int fd, uint64_t *off, unsigned ms)
{
	unsigned char buf[16384];
	size_t sent = 0;

	for (;;) {
		struct pollfd p = {fd, POLLOUT, 0};
		ssize_t n;

		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = sk_pattern(*off + i);
		n = send(fd, buf, sizeof(buf), MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			*off += (uint64_t)n;
			sent += (size_t)n;
			ck_assert_msg(sent < 64u * 1024 * 1024,
				      "64 MiB sent and no push back");
			continue;
		}
		ck_assert_msg(errno == EAGAIN, "send: %s", strerror(errno));
		if (poll(&p, 1, (int)ms) == 0)
			return sent;
	}
}

void sk_send_pattern(int fd, uint64_t *off, size_t n)
{
	unsigned char buf[16384];

	while (n > 0) {
		size_t len = n < sizeof(buf) ? n : sizeof(buf);

		for (size_t i = 0; i < len; i++)
			buf[i] = sk_pattern(*off + i);
		sk_write_all(fd, buf, len, 5000);
		*off += len;
		n -= len;
	}
}

void sk_expect_pattern(int fd, uint64_t *off, size_t n, unsigned ms)
{
	unsigned char buf[65536], want[65536];

	/* no check macro per byte: each one writes to Check's pipe */
	while (n > 0) {
		size_t len = n < sizeof(buf) ? n : sizeof(buf);

		ck_assert_msg(sk_read_n(fd, buf, len, ms) == len,
			      "read stopped at offset %" PRIu64, *off);
		for (size_t i = 0; i < len; i++)
			want[i] = sk_pattern(*off + i);
		ck_assert_msg(memcmp(buf, want, len) == 0,
			      "bytes differ after offset %" PRIu64, *off);
		*off += len;
		n -= len;
	}
}

uint64_t sk_pattern_hash(uint64_t n)
{
	uint64_t h = 0xcbf29ce484222325u;

	for (uint64_t i = 0; i < n; i++) {
		unsigned char b = sk_pattern(i);

		h = fnv(h, &b, 1);
	}
	return h;
}

int sk_connect(const char *addr, unsigned port)
{
	struct sockaddr_storage sa;
	struct sockaddr_in *a4 = (void *)&sa;
	struct sockaddr_in6 *a6 = (void *)&sa;
	socklen_t len;
	int fd, e;

	memset(&sa, 0, sizeof(sa));
	if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		len = sizeof(*a4);
	} else {
		ck_assert(inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1);
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		len = sizeof(*a6);
	}
	if ((fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, len) < 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

void sk_nonblock(int fd)
{
	ck_assert(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == 0);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void sk_write_all(int fd, const void *data, size_t len, unsigned ms)
{
	uint64_t end = now_ms() + ms;
	size_t off = 0;

	while (off < len) {
		struct pollfd p = {fd, POLLOUT, 0};
		ssize_t n;

		ck_assert_msg(now_ms() < end,
			      "write: %zu of %zu bytes in %u ms", off, len, ms);
		if (poll(&p, 1, 100) <= 0)
			continue;
		n = send(fd, (const char *)data + off, len - off,
			 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		ck_assert_msg(n > 0, "write: %s", strerror(errno));
		off += (size_t)n;
	}
}

size_t sk_read_n(int fd, void *buf, size_t len, unsigned ms)
{
	uint64_t end = now_ms() + ms;
	size_t off = 0;

	while (off < len && now_ms() < end) {
		struct pollfd p = {fd, POLLIN, 0};
		ssize_t n;

		if (poll(&p, 1, 50) <= 0)
			continue;
		n = recv(fd, (char *)buf + off, len - off, MSG_DONTWAIT);
		if (n == 0)
			break;
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0)
			break;
		off += (size_t)n;
	}
	return off;
}

int sk_wait_eof(int fd, unsigned ms)
{
	char c;
	struct pollfd p = {fd, POLLIN, 0};
	ssize_t n;

	if (poll(&p, 1, (int)ms) <= 0)
		return 0;
	n = recv(fd, &c, 1, MSG_DONTWAIT);
	return n == 0 || (n < 0 && errno == ECONNRESET);
}

int sk_readable(int fd, unsigned ms)
{
	struct pollfd p = {fd, POLLIN, 0};

	return poll(&p, 1, (int)ms) > 0;
}

size_t sk_count_socket_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	size_t n = 0;

	ck_assert(d != NULL);
	while ((e = readdir(d)) != NULL) {
		char path[300], target[64];
		ssize_t len;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		len = readlink(path, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		n += strncmp(target, "socket:", 7) == 0;
	}
	closedir(d);
	return n;
}

size_t sk_rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long size = 0, rss = 0;

	ck_assert(f != NULL);
	ck_assert(fscanf(f, "%lu %lu", &size, &rss) == 2);
	fclose(f);
	return (size_t)rss * (size_t)sysconf(_SC_PAGESIZE);
}

int sk_raise_nofile(size_t want)
{
	struct rlimit r;

	ck_assert(getrlimit(RLIMIT_NOFILE, &r) == 0);
	if (r.rlim_cur != RLIM_INFINITY && r.rlim_cur >= want)
		return 1;
	if (r.rlim_max != RLIM_INFINITY && r.rlim_max < want)
		return 0;
	r.rlim_cur = want;
	return setrlimit(RLIMIT_NOFILE, &r) == 0;
}
