// SPDX-License-Identifier: GPL-2.0
/*
 * afx_broadcast_test.c - datagram broadcast (SO_BROADCAST, a copy
 * per receiver, full receivers dropping) and SO_REUSEADDR sharing.
 *
 * Documentation/afx.rst, "Datagram semantics". Every test arms
 * afx_watchdog(); blocking calls run in a helper thread (struct afx_call)
 * or a child (afx_child_fork()) whose state is read from /proc, never
 * with a fixed sleep.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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
#include <sys/uio.h>
#include <sys/wait.h>
#include <linux/sockios.h>

#include "afx_harness.h"
#include "afx_fixture_dg.h"

static unsigned char sbuf[AFX_MAX_DGRAM + 64];
static unsigned char rbuf[AFX_MAX_DGRAM + 64];

/* -------------------------------------------------------------- broadcast */

TEST_F(dg, broadcast_needs_so_broadcast)
{
	int v = -1;

	errno = 0;
	EXPECT_EQ(-1, afx_send_to(self->s, "b", 1, AFX_ADDR_BROADCAST, self->p1, 0));
	EXPECT_EQ(EACCES, errno);
	/* r got nothing */
	errno = 0;
	EXPECT_EQ(-1, recv(self->r, rbuf, sizeof(rbuf), MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);

	ASSERT_EQ(0, afx_set_int(self->s, SOL_SOCKET, SO_BROADCAST, 1));
	ASSERT_EQ(0, afx_get_int(self->s, SOL_SOCKET, SO_BROADCAST, &v));
	EXPECT_EQ(1, v);
	EXPECT_EQ(1, afx_send_to(self->s, "b", 1, AFX_ADDR_BROADCAST, self->p1, 0));
	EXPECT_EQ(1, recv(self->r, rbuf, sizeof(rbuf), MSG_DONTWAIT));
	/* no receivers at all: still succeeds */
	EXPECT_EQ(5, afx_send_to(self->s, "empty", 5, AFX_ADDR_BROADCAST, self->p4, 0))
		TH_LOG("%s", strerror(errno));
	/* broadcast to port 0 is a bad destination like unicast */
	errno = 0;
	EXPECT_EQ(-1, afx_send_to(self->s, "b", 1, AFX_ADDR_BROADCAST, 0, 0));
	EXPECT_EQ(EINVAL, errno);

	/* switched off again */
	ASSERT_EQ(0, afx_set_int(self->s, SOL_SOCKET, SO_BROADCAST, 0));
	errno = 0;
	EXPECT_EQ(-1, afx_send_to(self->s, "b", 1, AFX_ADDR_BROADCAST, self->p1, 0));
	EXPECT_EQ(EACCES, errno);
}

static int recv_one(int fd, const char *want, uint32_t from_port)
{
	struct sockaddr_x from;
	socklen_t len = sizeof(from);
	size_t wl = strlen(want);
	ssize_t got;

	got = recvfrom(fd, rbuf, sizeof(rbuf), MSG_DONTWAIT, AFX_SA(&from),
		       &len);
	if (got != (ssize_t)wl || memcmp(rbuf, want, wl))
		return 0;
	return from.sx_port == from_port && from.sx_addr == AFX_ADDR_LOCAL;
}

TEST_F(dg, broadcast_copies)
{
	int rx[3], b, t, c_other, c_t, other;
	unsigned int i;

	for (i = 0; i < 3; i++) {
		rx[i] = afx_dg_bound(AFX_ADDR_ANY, self->p3, 1);
		ASSERT_LE(0, rx[i]) TH_LOG("rx %u: %s", i, strerror(errno));
	}
	/* a sender bound to the port itself gets a copy too */
	b = afx_dg_bound(AFX_ADDR_ANY, self->p3, 1);
	ASSERT_LE(0, b);
	ASSERT_EQ(0, afx_set_int(b, SOL_SOCKET, SO_BROADCAST, 1));
	/* a sender from elsewhere */
	t = afx_dg_bound(AFX_ADDR_ANY, self->p4, 0);
	ASSERT_LE(0, t);
	ASSERT_EQ(0, afx_set_int(t, SOL_SOCKET, SO_BROADCAST, 1));
	/* connected members: one to someone else, one to t */
	c_other = afx_dg_bound(AFX_ADDR_ANY, self->p3, 1);
	c_t = afx_dg_bound(AFX_ADDR_ANY, self->p3, 1);
	ASSERT_LE(0, c_other);
	ASSERT_LE(0, c_t);
	ASSERT_EQ(0, afx_connect(c_other, AFX_ADDR_LOCAL, self->p5));
	ASSERT_EQ(0, afx_connect(c_t, AFX_ADDR_LOCAL, self->p4));
	/* a socket on another port */
	other = afx_dg_bound(AFX_ADDR_ANY, self->p5, 1);
	ASSERT_LE(0, other);

	EXPECT_EQ(5, afx_send_to(b, "hello", 5, AFX_ADDR_BROADCAST, self->p3, 0))
		TH_LOG("%s", strerror(errno));
	for (i = 0; i < 3; i++)
		EXPECT_TRUE(recv_one(rx[i], "hello", self->p3)) TH_LOG("rx %u", i);
	EXPECT_TRUE(recv_one(b, "hello", self->p3));
	EXPECT_TRUE(afx_dg_queue_empty(c_other));
	EXPECT_TRUE(afx_dg_queue_empty(c_t));
	EXPECT_TRUE(afx_dg_queue_empty(other));
	EXPECT_TRUE(afx_dg_queue_empty(self->r));

	EXPECT_EQ(3, afx_send_to(t, "all", 3, AFX_ADDR_BROADCAST, self->p3, 0));
	for (i = 0; i < 3; i++)
		EXPECT_TRUE(recv_one(rx[i], "all", self->p4)) TH_LOG("rx %u", i);
	EXPECT_TRUE(recv_one(b, "all", self->p4));
	EXPECT_TRUE(recv_one(c_t, "all", self->p4));
	EXPECT_TRUE(afx_dg_queue_empty(c_other));
	EXPECT_TRUE(afx_dg_queue_empty(other));
	/* exactly one copy each */
	for (i = 0; i < 3; i++)
		EXPECT_TRUE(afx_dg_queue_empty(rx[i]));
	EXPECT_TRUE(afx_dg_queue_empty(b));
	EXPECT_TRUE(afx_dg_queue_empty(c_t));

	/* a connected broadcast sender */
	ASSERT_EQ(0, afx_connect(t, AFX_ADDR_BROADCAST, self->p3));
	EXPECT_EQ(2, send(t, "cb", 2, 0)) TH_LOG("%s", strerror(errno));
	for (i = 0; i < 3; i++)
		EXPECT_TRUE(recv_one(rx[i], "cb", self->p4)) TH_LOG("rx %u", i);

	for (i = 0; i < 3; i++)
		close(rx[i]);
	close(b);
	close(t);
	close(c_other);
	close(c_t);
	close(other);
}

TEST_F(dg, broadcast_full_receiver_drops)
{
	uint32_t seq = 0, rseq = 0;
	int r2, r1, b;
	long n;

	/* r2 first, r1 last: unicast to p3 goes to r1, the newest */
	r2 = afx_dg_bound(AFX_ADDR_ANY, self->p3, 1);
	r1 = afx_dg_bound(AFX_ADDR_ANY, self->p3, 1);
	ASSERT_LE(0, r2);
	ASSERT_LE(0, r1);
	ASSERT_EQ(0, afx_set_int(r1, SOL_SOCKET, SO_RCVBUF, SMALL_RCVBUF));
	n = afx_dg_fill(self->s, self->p3, 1000, &seq, 100000);
	ASSERT_LT(0, n);
	EXPECT_TRUE(afx_dg_queue_empty(r2)) TH_LOG("unicast went to r2, not r1");

	/* a blocking broadcast sender does not wait for the full r1 */
	b = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, b);
	ASSERT_EQ(0, afx_set_int(b, SOL_SOCKET, SO_BROADCAST, 1));
	afx_dg_make(sbuf, 1000000, 1000);
	EXPECT_EQ(1000, afx_send_to(b, sbuf, 1000, AFX_ADDR_BROADCAST, self->p3, 0))
		TH_LOG("%s", strerror(errno));
	EXPECT_EQ(1000, afx_send_to(b, sbuf, 1000, AFX_ADDR_BROADCAST, self->p3,
				    MSG_DONTWAIT)) TH_LOG("%s", strerror(errno));
	/* r2 has both copies */
	EXPECT_EQ(1000, recv(r2, rbuf, sizeof(rbuf), MSG_DONTWAIT));
	EXPECT_TRUE(afx_dg_check(rbuf, 1000, 1000000));
	EXPECT_EQ(1000, recv(r2, rbuf, sizeof(rbuf), MSG_DONTWAIT));
	EXPECT_TRUE(afx_dg_queue_empty(r2));
	/* r1 has exactly the unicast ones: its copies were dropped */
	EXPECT_EQ(n, afx_dg_drain_check(r1, &rseq, NULL, 1000));
	close(b);
	close(r1);
	close(r2);
}

TEST_F(dg, reuseaddr_rules)
{
	int a, b, c;

	/* first with, second without */
	a = afx_dg_bound(AFX_ADDR_ANY, self->p3, 1);
	ASSERT_LE(0, a);
	b = afx_dg_bound(AFX_ADDR_ANY, self->p3, 0);
	EXPECT_EQ(-1, b);
	EXPECT_EQ(EADDRINUSE, errno);
	/* both with (LOCAL and ANY share too) */
	b = afx_dg_bound(AFX_ADDR_LOCAL, self->p3, 1);
	EXPECT_LE(0, b) TH_LOG("%s", strerror(errno));
	c = afx_dg_bound(AFX_ADDR_ANY, self->p3, 1);
	EXPECT_LE(0, c) TH_LOG("%s", strerror(errno));
	close(a);
	close(b);
	close(c);

	/* first without, second with */
	a = afx_dg_bound(AFX_ADDR_ANY, self->p3, 0);
	ASSERT_LE(0, a);
	b = afx_dg_bound(AFX_ADDR_ANY, self->p3, 1);
	EXPECT_EQ(-1, b);
	EXPECT_EQ(EADDRINUSE, errno);
	close(a);

	/* SO_REUSEADDR reads back */
	a = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, a);
	ASSERT_EQ(0, afx_set_int(a, SOL_SOCKET, SO_REUSEADDR, 1));
	c = 0;
	ASSERT_EQ(0, afx_get_int(a, SOL_SOCKET, SO_REUSEADDR, &c));
	EXPECT_EQ(1, c);
	close(a);
}

#define SHARERS_MAX	256

/*
 * At most SHARERS_MAX sockets share a port; a broadcast reaches each of
 * them once, and a closed sharer's place can be taken again.
 */
TEST_F(dg, reuseaddr_sharers_limited)
{
	static int fds[SHARERS_MAX];
	struct sockaddr_x to = afx_sockaddr(AFX_ADDR_BROADCAST, self->p3);
	int i, extra, got = 0;

	for (i = 0; i < SHARERS_MAX; i++) {
		fds[i] = afx_dg_bound(AFX_ADDR_ANY, self->p3, 1);
		ASSERT_LE(0, fds[i]) TH_LOG("sharer %d: %s", i, strerror(errno));
	}
	extra = afx_dg_bound(AFX_ADDR_ANY, self->p3, 1);
	EXPECT_EQ(-1, extra);
	EXPECT_EQ(EADDRINUSE, errno);

	ASSERT_EQ(0, afx_set_int(fds[0], SOL_SOCKET, SO_BROADCAST, 1));
	ASSERT_EQ(3, sendto(fds[0], "all", 3, 0, AFX_SA(&to), AFX_ADDRLEN));
	for (i = 0; i < SHARERS_MAX; i++) {
		if (recv(fds[i], rbuf, sizeof(rbuf), MSG_DONTWAIT) == 3)
			got++;
		EXPECT_EQ(-1, recv(fds[i], rbuf, sizeof(rbuf), MSG_DONTWAIT));
	}
	EXPECT_EQ(SHARERS_MAX, got);

	close(fds[SHARERS_MAX - 1]);
	fds[SHARERS_MAX - 1] = afx_dg_bound(AFX_ADDR_ANY, self->p3, 1);
	EXPECT_LE(0, fds[SHARERS_MAX - 1]) TH_LOG("%s", strerror(errno));
	afx_close_all(fds, SHARERS_MAX);
}

TEST_F(dg, reuseaddr_unicast_to_newest)
{
	int old, young, t;

	old = afx_dg_bound(AFX_ADDR_ANY, self->p3, 1);
	young = afx_dg_bound(AFX_ADDR_ANY, self->p3, 1);
	ASSERT_LE(0, old);
	ASSERT_LE(0, young);
	EXPECT_EQ(1, afx_send_to(self->s, "1", 1, AFX_ADDR_LOCAL, self->p3, 0));
	EXPECT_TRUE(recv_one(young, "1", self->p2));
	EXPECT_TRUE(afx_dg_queue_empty(old));

	/* the newest refuses s (connected elsewhere): the older one gets it */
	ASSERT_EQ(0, afx_connect(young, AFX_ADDR_LOCAL, self->p5));
	EXPECT_EQ(1, afx_send_to(self->s, "2", 1, AFX_ADDR_LOCAL, self->p3, 0))
		TH_LOG("%s", strerror(errno));
	EXPECT_TRUE(recv_one(old, "2", self->p2));
	EXPECT_TRUE(afx_dg_queue_empty(young));
	/* ...but a sender from p5 still goes to the newest */
	t = afx_dg_bound(AFX_ADDR_ANY, self->p5, 0);
	ASSERT_LE(0, t);
	EXPECT_EQ(1, afx_send_to(t, "3", 1, AFX_ADDR_LOCAL, self->p3, 0));
	EXPECT_TRUE(recv_one(young, "3", self->p5));
	EXPECT_TRUE(afx_dg_queue_empty(old));
	/* nobody accepts s: refused */
	ASSERT_EQ(0, afx_connect(old, AFX_ADDR_LOCAL, self->p5));
	errno = 0;
	EXPECT_EQ(-1, afx_send_to(self->s, "4", 1, AFX_ADDR_LOCAL, self->p3, 0));
	EXPECT_EQ(ECONNREFUSED, errno);
	close(t);
	close(old);
	close(young);
}

AFX_TEST_MAIN
