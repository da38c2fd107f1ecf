// SPDX-License-Identifier: GPL-2.0
/*
 * afx_stream_connect_test.c - stream socket identity and names,
 * listen() and its backlog, connect() to a listener and its errors.
 *
 * Documentation/afx.rst, "Stream semantics". Blocking calls run in a helper
 * thread (struct afx_call) whose state is checked through /proc, never
 * with sleep(); every test arms afx_watchdog() below the harness timeout.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <linux/sockios.h>

#include "afx_harness.h"

#define WATCHDOG_SEC	20	/* harness default timeout is 30 s */

/* ------------------------------------------------------------------ */
/* socket identity and addresses                                      */

TEST(stream_socket_type_protocol_domain_options)
{
	int fd, v;

	afx_watchdog(WATCHDOG_SEC);
	fd = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, fd) TH_LOG("socket(%d, SOCK_STREAM): %s", afx_family(),
				strerror(errno));
	ASSERT_EQ(0, afx_get_int(fd, SOL_SOCKET, SO_TYPE, &v));
	EXPECT_EQ(SOCK_STREAM, v);
	ASSERT_EQ(0, afx_get_int(fd, SOL_SOCKET, SO_PROTOCOL, &v));
	EXPECT_EQ(0, v);
	ASSERT_EQ(0, afx_get_int(fd, SOL_SOCKET, SO_DOMAIN, &v));
	EXPECT_EQ(afx_family(), v);
	ASSERT_EQ(0, afx_get_int(fd, SOL_SOCKET, SO_ACCEPTCONN, &v));
	EXPECT_EQ(0, v);
	ASSERT_EQ(0, afx_get_int(fd, SOL_SOCKET, SO_ERROR, &v));
	EXPECT_EQ(0, v);
	close(fd);
}

TEST(so_acceptconn_only_on_listener)
{
	int l, c, a, v;

	afx_watchdog(WATCHDOG_SEC);
	ASSERT_EQ(0, afx_stream_pair_ex(0, &l, &c, &a));
	ASSERT_EQ(0, afx_get_int(l, SOL_SOCKET, SO_ACCEPTCONN, &v));
	EXPECT_EQ(1, v);
	ASSERT_EQ(0, afx_get_int(c, SOL_SOCKET, SO_ACCEPTCONN, &v));
	EXPECT_EQ(0, v);
	ASSERT_EQ(0, afx_get_int(a, SOL_SOCKET, SO_ACCEPTCONN, &v));
	EXPECT_EQ(0, v);
	/* types of the accepted socket */
	ASSERT_EQ(0, afx_get_int(a, SOL_SOCKET, SO_TYPE, &v));
	EXPECT_EQ(SOCK_STREAM, v);
	ASSERT_EQ(0, afx_get_int(a, SOL_SOCKET, SO_DOMAIN, &v));
	EXPECT_EQ(afx_family(), v);
	close(a);
	close(c);
	close(l);
}

TEST(getsockname_getpeername_of_all_three_sockets)
{
	struct sockaddr_x sx, acc;
	socklen_t len = sizeof(acc);
	int l, c, a;
	uint32_t lport;
	long cport;

	afx_watchdog(WATCHDOG_SEC);
	c = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, c);
	/* unbound: {AF_X, 0, 0}; not connected: ENOTCONN */
	ASSERT_EQ(0, afx_getsockname(c, &sx));
	EXPECT_EQ(afx_family(), sx.sx_family);
	EXPECT_EQ(0U, sx.sx_port);
	EXPECT_EQ(0U, sx.sx_addr);
	EXPECT_EQ(-1, afx_getpeername(c, &sx));
	EXPECT_EQ(ENOTCONN, errno);

	/* listener bound to LOCAL reports LOCAL and its port */
	l = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, l);
	ASSERT_EQ(0, afx_bind(l, AFX_ADDR_LOCAL, 0));
	ASSERT_EQ(0, listen(l, 4));
	ASSERT_EQ(0, afx_getsockname(l, &sx));
	EXPECT_EQ(afx_family(), sx.sx_family);
	EXPECT_EQ(AFX_ADDR_LOCAL, sx.sx_addr);
	lport = sx.sx_port;
	EXPECT_LE(AFX_EPH_MIN, lport);
	EXPECT_GE(AFX_EPH_MAX, lport);
	EXPECT_EQ(-1, afx_getpeername(l, &sx));
	EXPECT_EQ(ENOTCONN, errno);

	ASSERT_EQ(0, afx_connect_port(c, lport));
	/* autobound client: addr ANY, ephemeral port */
	ASSERT_EQ(0, afx_getsockname(c, &sx));
	EXPECT_EQ(afx_family(), sx.sx_family);
	EXPECT_EQ(AFX_ADDR_ANY, sx.sx_addr);
	cport = sx.sx_port;
	EXPECT_LE(AFX_EPH_MIN, cport);
	EXPECT_GE(AFX_EPH_MAX, cport);
	EXPECT_NE(lport, cport);
	ASSERT_EQ(0, afx_getpeername(c, &sx));
	EXPECT_EQ(afx_family(), sx.sx_family);
	EXPECT_EQ(lport, sx.sx_port);
	EXPECT_EQ(AFX_ADDR_LOCAL, sx.sx_addr);

	memset(&acc, 0xa5, sizeof(acc));
	a = accept(l, AFX_SA(&acc), &len);
	ASSERT_LE(0, a);
	EXPECT_EQ(AFX_ADDRLEN, len);
	EXPECT_EQ(afx_family(), acc.sx_family);
	EXPECT_EQ(0, acc.sx_reserved1);
	EXPECT_EQ(cport, acc.sx_port);
	EXPECT_EQ(AFX_ADDR_LOCAL, acc.sx_addr);

	/* accepted: {LOCAL, listener port}; peer {LOCAL, client port} */
	ASSERT_EQ(0, afx_getsockname(a, &sx));
	EXPECT_EQ(afx_family(), sx.sx_family);
	EXPECT_EQ(AFX_ADDR_LOCAL, sx.sx_addr);
	EXPECT_EQ(lport, sx.sx_port);
	ASSERT_EQ(0, afx_getpeername(a, &sx));
	EXPECT_EQ(afx_family(), sx.sx_family);
	EXPECT_EQ(AFX_ADDR_LOCAL, sx.sx_addr);
	EXPECT_EQ(cport, sx.sx_port);
	close(a);
	close(c);
	close(l);
}

TEST(accepted_socket_name_is_local_even_for_any_listener)
{
	struct sockaddr_x sx;
	int l, c, a;
	uint32_t port;

	afx_watchdog(WATCHDOG_SEC);
	l = afx_listener(SOCK_STREAM, 4, &port);	/* bound to ANY */
	ASSERT_LE(0, l);
	ASSERT_EQ(0, afx_getsockname(l, &sx));
	EXPECT_EQ(AFX_ADDR_ANY, sx.sx_addr);
	c = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, c);
	/* destination ANY means this host as well */
	ASSERT_EQ(0, afx_connect(c, AFX_ADDR_ANY, port));
	a = accept(l, NULL, NULL);
	ASSERT_LE(0, a);
	ASSERT_EQ(0, afx_getsockname(a, &sx));
	EXPECT_EQ(AFX_ADDR_LOCAL, sx.sx_addr);
	EXPECT_EQ(port, sx.sx_port);
	ASSERT_EQ(0, afx_getpeername(c, &sx));
	EXPECT_EQ(AFX_ADDR_LOCAL, sx.sx_addr);
	EXPECT_EQ(port, sx.sx_port);
	close(a);
	close(c);
	close(l);
}

/* ------------------------------------------------------------------ */
/* listen                                                             */

TEST(listen_on_unbound_socket_autobinds_ephemeral)
{
	struct sockaddr_x sx;
	int l, v;

	afx_watchdog(WATCHDOG_SEC);
	l = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, l);
	ASSERT_EQ(0, listen(l, 1));
	ASSERT_EQ(0, afx_getsockname(l, &sx));
	EXPECT_EQ(AFX_ADDR_ANY, sx.sx_addr);
	EXPECT_LE(AFX_EPH_MIN, sx.sx_port);
	EXPECT_GE(AFX_EPH_MAX, sx.sx_port);
	ASSERT_EQ(0, afx_get_int(l, SOL_SOCKET, SO_ACCEPTCONN, &v));
	EXPECT_EQ(1, v);
	close(l);
}

TEST(listen_on_connected_socket_einval)
{
	int fds[2];

	afx_watchdog(WATCHDOG_SEC);
	ASSERT_EQ(0, afx_stream_pair(fds));
	EXPECT_EQ(-1, listen(fds[0], 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, listen(fds[1], 1));
	EXPECT_EQ(EINVAL, errno);
	close(fds[0]);
	close(fds[1]);
}

FIXTURE(backlog) {
	int l;
	uint32_t port;
	int cl[16];
};

FIXTURE_VARIANT(backlog) {
	int backlog;
	int expect;
};

FIXTURE_VARIANT_ADD(backlog, zero) { .backlog = 0, .expect = 1 };
FIXTURE_VARIANT_ADD(backlog, one) { .backlog = 1, .expect = 1 };
FIXTURE_VARIANT_ADD(backlog, three) { .backlog = 3, .expect = 3 };
FIXTURE_VARIANT_ADD(backlog, seven) { .backlog = 7, .expect = 7 };

FIXTURE_SETUP(backlog)
{
	afx_watchdog(WATCHDOG_SEC);
	memset(self->cl, 0, sizeof(self->cl));
	self->l = afx_listener(SOCK_STREAM, variant->backlog, &self->port);
	ASSERT_LE(0, self->l);
}

FIXTURE_TEARDOWN(backlog)
{
	afx_close_all(self->cl, 16);
	close(self->l);
}

TEST_F(backlog, queue_holds_max_backlog_1_connections)
{
	struct pollfd pfd = { .fd = self->l, .events = POLLIN };
	int n;

	/* empty listener: no POLLIN, accept would block */
	EXPECT_EQ(0, poll(&pfd, 1, 0));
	n = afx_count_queue_capacity(self->port, self->cl, 16);
	EXPECT_EQ(variant->expect, n);
	/* the listener sees POLLIN once something is queued */
	EXPECT_EQ(POLLIN, afx_poll(self->l, POLLIN | POLLOUT, 0) & POLLIN);
}

TEST_F(backlog, listen_again_changes_backlog)
{
	int n, a;

	/* grow: listen(backlog + 2) */
	ASSERT_EQ(0, listen(self->l, variant->expect + 2));
	n = afx_count_queue_capacity(self->port, self->cl, 16);
	EXPECT_EQ(variant->expect + 2, n);
	afx_close_all(self->cl, 16);
	memset(self->cl, 0, sizeof(self->cl));
	/* closed clients may still sit in the queue: empty it */
	ASSERT_EQ(0, afx_set_nonblock(self->l, 1));
	while ((a = accept(self->l, NULL, NULL)) >= 0)
		close(a);
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, afx_set_nonblock(self->l, 0));
	/* shrink to 1 */
	ASSERT_EQ(0, listen(self->l, 1));
	n = afx_count_queue_capacity(self->port, self->cl, 16);
	EXPECT_EQ(1, n);
}

TEST(backlog_capped_at_somaxconn_and_negative_means_somaxconn)
{
	static const char *path = "/proc/sys/net/core/somaxconn";
	int cl[16] = { 0 };
	int l, n, a, old = -1, restore = 0;
	uint32_t port;

	afx_watchdog(WATCHDOG_SEC);
	/* private netns so the sysctl change cannot leak */
	if (unshare(CLONE_NEWNET)) {
		TH_LOG("unshare(CLONE_NEWNET): %s; changing somaxconn of the current netns",
		       strerror(errno));
		ASSERT_EQ(0, afx_read_sysctl_int(path, &old));
		restore = 1;
	}
	ASSERT_EQ(0, afx_write_sysctl_int(path, 2));

	l = afx_listener(SOCK_STREAM, 10, &port);
	ASSERT_LE(0, l);
	n = afx_count_queue_capacity(port, cl, 16);
	EXPECT_EQ(2, n) TH_LOG("listen(10) with somaxconn=2");
	afx_close_all(cl, 16);
	close(l);

	memset(cl, 0, sizeof(cl));
	l = afx_listener(SOCK_STREAM, -1, &port);
	ASSERT_LE(0, l);
	n = afx_count_queue_capacity(port, cl, 16);
	EXPECT_EQ(2, n) TH_LOG("listen(-1) with somaxconn=2");
	afx_close_all(cl, 16);
	/* listen() again re-reads the cap */
	ASSERT_EQ(0, afx_set_nonblock(l, 1));
	while ((a = accept(l, NULL, NULL)) >= 0)
		close(a);
	ASSERT_EQ(0, afx_write_sysctl_int(path, 3));
	ASSERT_EQ(0, listen(l, 1000));
	memset(cl, 0, sizeof(cl));
	n = afx_count_queue_capacity(port, cl, 16);
	EXPECT_EQ(3, n) TH_LOG("listen(1000) with somaxconn=3");
	afx_close_all(cl, 16);
	close(l);
	if (restore)
		afx_write_sysctl_int(path, old);
}

/* ------------------------------------------------------------------ */
/* connect: refused and simple errors                                 */

TEST(connect_without_any_socket_on_port_econnrefused)
{
	uint32_t port;
	int c;

	afx_watchdog(WATCHDOG_SEC);
	port = afx_free_port(SOCK_STREAM);
	ASSERT_NE(0U, port);
	c = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, c);
	EXPECT_EQ(-1, afx_connect_port(c, port));
	EXPECT_EQ(ECONNREFUSED, errno);
	/* nonblocking: refused at once as well, not EINPROGRESS */
	close(c);
	c = afx_socket(SOCK_STREAM | SOCK_NONBLOCK);
	ASSERT_LE(0, c);
	EXPECT_EQ(-1, afx_connect_port(c, port));
	EXPECT_EQ(ECONNREFUSED, errno);
	close(c);
}

TEST(connect_to_bound_but_not_listening_econnrefused)
{
	int b, c, d;
	long port;

	afx_watchdog(WATCHDOG_SEC);
	b = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, b);
	ASSERT_EQ(0, afx_bind(b, AFX_ADDR_ANY, 0));
	port = afx_local_port(b);
	ASSERT_LT(0, port);
	c = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, c);
	EXPECT_EQ(-1, afx_connect_port(c, port));
	EXPECT_EQ(ECONNREFUSED, errno);
	close(c);
	/* a datagram socket on the port is another space: still refused */
	close(b);
	d = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, d);
	ASSERT_EQ(0, afx_bind(d, AFX_ADDR_ANY, port));
	c = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, c);
	EXPECT_EQ(-1, afx_connect_port(c, port));
	EXPECT_EQ(ECONNREFUSED, errno);
	close(c);
	close(d);
}

TEST(connect_after_listener_closed_econnrefused)
{
	uint32_t port;
	int l, c;

	afx_watchdog(WATCHDOG_SEC);
	l = afx_listener(SOCK_STREAM, 4, &port);
	ASSERT_LE(0, l);
	close(l);
	c = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, c);
	EXPECT_EQ(-1, afx_connect_port(c, port));
	EXPECT_EQ(ECONNREFUSED, errno);
	close(c);
}

TEST(connect_returns_at_once_and_listener_sees_pollin)
{
	uint32_t port;
	int l, c;
	long t;
	double ts;

	afx_watchdog(WATCHDOG_SEC);
	l = afx_listener(SOCK_STREAM, 4, &port);
	ASSERT_LE(0, l);
	EXPECT_EQ(0, afx_poll(l, POLLIN, 0));
	c = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, c);
	ts = afx_now_ms();
	ASSERT_EQ(0, afx_connect_port(c, port));
	t = (long)(afx_now_ms() - ts);
	EXPECT_GT(1000, t);
	EXPECT_EQ(POLLIN, afx_poll(l, POLLIN, 0));
	/* connected right away: POLLOUT, SO_ERROR 0 */
	EXPECT_EQ(POLLOUT, afx_poll(c, AFX_POLL_ALL, 0));
	EXPECT_EQ(0, afx_so_error(c));
	close(c);
	close(l);
}

TEST(connect_on_connected_eisconn_and_on_listener_einval)
{
	int l, c, a;
	long lport;

	afx_watchdog(WATCHDOG_SEC);
	ASSERT_EQ(0, afx_stream_pair_ex(0, &l, &c, &a));
	lport = afx_local_port(l);
	ASSERT_LT(0, lport);
	EXPECT_EQ(-1, afx_connect_port(c, lport));
	EXPECT_EQ(EISCONN, errno);
	EXPECT_EQ(-1, afx_connect_port(a, lport));
	EXPECT_EQ(EISCONN, errno);
	/* connect on a listener: EINVAL, even to a live listener */
	EXPECT_EQ(-1, afx_connect_port(l, lport));
	EXPECT_EQ(EINVAL, errno);
	close(a);
	close(c);
	close(l);
}

/* ------------------------------------------------------------------ */
/* connect with a full accept queue: blocking                         */

AFX_TEST_MAIN
