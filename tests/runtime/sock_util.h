/* Helpers for runtime.sock: the client side of real loopback sockets, and
 * what the test process holds (socket descriptors, resident memory). */
#ifndef MOLT_TESTS_SOCK_UTIL_H
#define MOLT_TESTS_SOCK_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The byte at offset i of sockprobe's pattern stream. */
unsigned char sk_pattern(uint64_t i);

/* Send the pattern from *off (advanced) until the socket stays full for
 * ms; returns the bytes sent. Fails the test past 64 MiB. */
size_t sk_fill_until_blocked(int fd, uint64_t *off, unsigned ms);
/* Send n more bytes of the pattern from *off (advanced). */
void sk_send_pattern(int fd, uint64_t *off, size_t n);
/* Read n bytes within ms each 64 KiB and check they are the pattern from
 * *off (advanced). */
void sk_expect_pattern(int fd, uint64_t *off, size_t n, unsigned ms);
/* sockprobe's hash (FNV-1a) of the pattern's first n bytes. */
uint64_t sk_pattern_hash(uint64_t n);

/* A blocking TCP connection to addr ("127.0.0.1" or "::1"):port, or -1
 * with errno set (ECONNREFUSED when nothing listens). */
int sk_connect(const char *addr, unsigned port);
/* Make fd non-blocking. */
void sk_nonblock(int fd);
/* Write all len bytes (fd blocking or not), asserting success within
 * ms. */
void sk_write_all(int fd, const void *data, size_t len, unsigned ms);
/* Read exactly len bytes within ms; returns the bytes read (less on
 * timeout or EOF). */
size_t sk_read_n(int fd, void *buf, size_t len, unsigned ms);
/* Wait up to ms for EOF: 1 on EOF (or a reset), 0 if data or nothing
 * came. */
int sk_wait_eof(int fd, unsigned ms);
/* Is fd readable within ms? */
int sk_readable(int fd, unsigned ms);

/* Socket descriptors the test process holds now (/proc/self/fd). */
size_t sk_count_socket_fds(void);
/* Resident bytes of the test process (/proc/self/statm). */
size_t sk_rss_bytes(void);
/* Raise RLIMIT_NOFILE's soft limit to at least want; 0 if the hard limit
 * is too low (nothing changes then). */
int sk_raise_nofile(size_t want);

#endif
