/* moltd and a service manager: READY=1 once the node serves, STOPPING=1
 * when it stops (sd_notify, as systemd's Type=notify expects). The test
 * plays systemd: a datagram socket named by NOTIFY_SOCKET. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <check.h>

#include "node_util.h"
#include "test_util.h"

#define TREE                                                                   \
	"{\"strategy\":\"one_for_one\",\"intensity\":10,\"period\":10,"        \
	"\"children\":[{\"id\":\"c\",\"module\":\"counter\",\"name\":\"c\"}]}"

/* A datagram socket at path, for moltd's notifications. */
static int notify_socket(char *path, size_t size)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	snprintf(path, size, "/tmp/molt-notify-%ld", (long)getpid());
	unlink(path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* The next notification, within ms, into buf ("" on timeout). */
static const char *next_note(int fd, char *buf, size_t size, int ms)
{
	struct pollfd p = {fd, POLLIN, 0};
	ssize_t n;

	buf[0] = '\0';
	if (poll(&p, 1, ms) != 1)
		return buf;
	n = recv(fd, buf, size - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

START_TEST(test_moltd_notifies_ready_and_stopping)
{
	char path[108], note[512];
	int fd = notify_socket(path, sizeof(path));
	rt_node n;

	setenv("NOTIFY_SOCKET", path, 1);
	rt_node_boot(&n, TREE); /* returns once the control socket answers */
	unsetenv("NOTIFY_SOCKET");
	next_note(fd, note, sizeof(note), 5000);
	ck_assert_msg(strstr(note, "READY=1") &&
			      strstr(note, "STATUS=running a boot spec"),
		      "got '%s'", note);
	ck_assert_int_eq(rt_node_stop(&n), 0);
	next_note(fd, note, sizeof(note), 5000);
	ck_assert_msg(strstr(note, "STOPPING=1"), "got '%s'", note);
	rt_node_clean(&n);
	close(fd);
	unlink(path);
}
END_TEST

Suite *notify_suite(void)
{
	Suite *s = suite_create("notify");
	TCase *tc = tcase_create("notify");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_moltd_notifies_ready_and_stopping);
	suite_add_tcase(s, tc);
	return s;
}
