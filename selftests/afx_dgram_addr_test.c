// SPDX-License-Identifier: GPL-2.0
/*
 * afx_dgram_addr_test.c - datagram addressing: the sender's
 * address, EDESTADDRREQ, ECONNREFUSED, sendto() on a connected socket,
 * connect() as a filter and AF_UNSPEC.
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

static unsigned char rbuf[AFX_MAX_DGRAM + 64];

/* -------------------------------------------------------------- addressing */

TEST_F(dg, recvfrom_sender)
{
	unsigned char big[64];
	struct sockaddr_x *from = (struct sockaddr_x *)big;
	struct iovec iov = { rbuf, sizeof(rbuf) };
	struct msghdr mh;
	socklen_t len;
	int l, a;
	long pa;

	l = afx_dg_bound(AFX_ADDR_LOCAL, self->p3, 0);
	a = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, l);
	ASSERT_LE(0, a);

	ASSERT_EQ(1, afx_send_to(self->s, "s", 1, AFX_ADDR_LOCAL, self->p1, 0));
	ASSERT_EQ(1, afx_send_to(l, "l", 1, AFX_ADDR_ANY, self->p1, 0));
	ASSERT_EQ(1, afx_send_to(a, "a", 1, AFX_ADDR_LOCAL, self->p1, 0));
	pa = afx_local_port(a);

	/* a larger address buffer: addrlen comes back as 16 */
	memset(big, 0xa5, sizeof(big));
	len = sizeof(big);
	EXPECT_EQ(1, recvfrom(self->r, rbuf, sizeof(rbuf), 0, AFX_SA(from),
			      &len));
	EXPECT_EQ(AFX_ADDRLEN, len);
	EXPECT_EQ(afx_family(), from->sx_family);
	EXPECT_EQ(0, from->sx_reserved1);
	EXPECT_EQ(self->p2, from->sx_port);
	EXPECT_EQ(AFX_ADDR_LOCAL, from->sx_addr);
	EXPECT_EQ(0, from->sx_zero[0] | from->sx_zero[1] | from->sx_zero[2] |
		  from->sx_zero[3]);

	/* a sender bound to LOCAL */
	len = sizeof(big);
	EXPECT_EQ(1, recvfrom(self->r, rbuf, sizeof(rbuf), 0, AFX_SA(from),
			      &len));
	EXPECT_EQ('l', rbuf[0]);
	EXPECT_EQ(self->p3, from->sx_port);
	EXPECT_EQ(AFX_ADDR_LOCAL, from->sx_addr);

	/* an autobound sender, through recvmsg */
	memset(&mh, 0, sizeof(mh));
	mh.msg_name = big;
	mh.msg_namelen = sizeof(big);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	EXPECT_EQ(1, recvmsg(self->r, &mh, 0));
	EXPECT_EQ('a', rbuf[0]);
	EXPECT_EQ(AFX_ADDRLEN, mh.msg_namelen);
	EXPECT_EQ(pa, (long)from->sx_port);
	EXPECT_EQ(AFX_ADDR_LOCAL, from->sx_addr);

	/* replying to the reported address works */
	ASSERT_EQ(2, sendto(self->r, "re", 2, 0, AFX_SA(from), AFX_ADDRLEN));
	EXPECT_EQ(2, recv(a, rbuf, sizeof(rbuf), MSG_DONTWAIT));
	close(l);
	close(a);
}

TEST_F(dg, edestaddrreq)
{
	struct iovec iov = { (void *)"x", 1 };
	struct msghdr mh;
	int u = afx_socket(SOCK_DGRAM);

	ASSERT_LE(0, u);
	errno = 0;
	EXPECT_EQ(-1, send(u, "x", 1, 0));
	EXPECT_EQ(EDESTADDRREQ, errno);
	errno = 0;
	EXPECT_EQ(-1, write(u, "x", 1));
	EXPECT_EQ(EDESTADDRREQ, errno);
	/* bound is not enough */
	errno = 0;
	EXPECT_EQ(-1, send(self->s, "x", 1, 0));
	EXPECT_EQ(EDESTADDRREQ, errno);
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	errno = 0;
	EXPECT_EQ(-1, sendmsg(self->s, &mh, 0));
	EXPECT_EQ(EDESTADDRREQ, errno);
	errno = 0;
	EXPECT_EQ(-1, send(self->s, NULL, 0, 0));
	EXPECT_EQ(EDESTADDRREQ, errno);
	close(u);
}

TEST_F(dg, econnrefused)
{
	int u = afx_socket(SOCK_DGRAM), l;

	ASSERT_LE(0, u);
	/* nobody on p3 */
	errno = 0;
	EXPECT_EQ(-1, afx_send_to(self->s, "x", 1, AFX_ADDR_LOCAL, self->p3, 0));
	EXPECT_EQ(ECONNREFUSED, errno);
	errno = 0;
	EXPECT_EQ(-1, afx_send_to(u, "x", 1, AFX_ADDR_ANY, self->p3, 0));
	EXPECT_EQ(ECONNREFUSED, errno);

	/* connect() does not check, send() does */
	ASSERT_EQ(0, afx_connect(u, AFX_ADDR_LOCAL, self->p3));
	errno = 0;
	EXPECT_EQ(-1, send(u, "x", 1, 0));
	EXPECT_EQ(ECONNREFUSED, errno);
	EXPECT_EQ(POLLOUT, afx_poll(u, POLLOUT, 0) & POLLOUT);

	/* once somebody binds p3 it works */
	l = afx_dg_bound(AFX_ADDR_ANY, self->p3, 0);
	ASSERT_LE(0, l);
	EXPECT_EQ(1, send(u, "y", 1, 0));
	EXPECT_EQ(1, recv(l, rbuf, sizeof(rbuf), MSG_DONTWAIT));
	EXPECT_EQ('y', rbuf[0]);

	/* and refused again after it is closed, queued data and all */
	EXPECT_EQ(1, send(u, "z", 1, 0));
	close(l);
	errno = 0;
	EXPECT_EQ(-1, send(u, "x", 1, 0));
	EXPECT_EQ(ECONNREFUSED, errno);
	/* a stream socket on the port does not count */
	l = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, l);
	ASSERT_EQ(0, afx_bind(l, AFX_ADDR_ANY, self->p3));
	ASSERT_EQ(0, listen(l, 1));
	errno = 0;
	EXPECT_EQ(-1, send(u, "x", 1, 0));
	EXPECT_EQ(ECONNREFUSED, errno);
	close(l);
	close(u);
}

TEST_F(dg, sendto_on_connected)
{
	int r2 = afx_dg_bound(AFX_ADDR_LOCAL, self->p3, 0);

	ASSERT_LE(0, r2);
	ASSERT_EQ(0, afx_connect(self->s, AFX_ADDR_LOCAL, self->p1));
	EXPECT_EQ(2, afx_send_to(self->s, "to", 2, AFX_ADDR_LOCAL, self->p3, 0));
	EXPECT_EQ(1, send(self->s, "c", 1, 0));
	EXPECT_EQ(2, recv(r2, rbuf, sizeof(rbuf), MSG_DONTWAIT));
	EXPECT_EQ(0, memcmp(rbuf, "to", 2));
	EXPECT_EQ(1, recv(self->r, rbuf, sizeof(rbuf), MSG_DONTWAIT));
	EXPECT_EQ('c', rbuf[0]);
	errno = 0;
	EXPECT_EQ(-1, recv(r2, rbuf, sizeof(rbuf), MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
	close(r2);
}

TEST_F(dg, connect_filters)
{
	struct sockaddr_x from;
	socklen_t len = sizeof(from);
	int a, u;

	a = afx_dg_bound(AFX_ADDR_ANY, self->p3, 0);
	u = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, a);
	ASSERT_LE(0, u);
	/* r only accepts datagrams from port p3 now */
	ASSERT_EQ(0, afx_connect(self->r, AFX_ADDR_LOCAL, self->p3));

	errno = 0;
	EXPECT_EQ(-1, afx_send_to(self->s, "x", 1, AFX_ADDR_LOCAL, self->p1, 0));
	EXPECT_EQ(ECONNREFUSED, errno);
	errno = 0;
	EXPECT_EQ(-1, afx_send_to(u, "x", 1, AFX_ADDR_LOCAL, self->p1, 0));
	EXPECT_EQ(ECONNREFUSED, errno);
	/* a connected sender from the wrong port is refused as well */
	ASSERT_EQ(0, afx_connect(self->s, AFX_ADDR_LOCAL, self->p1));
	errno = 0;
	EXPECT_EQ(-1, send(self->s, "x", 1, 0));
	EXPECT_EQ(ECONNREFUSED, errno);

	EXPECT_EQ(1, afx_send_to(a, "a", 1, AFX_ADDR_LOCAL, self->p1, 0));
	EXPECT_EQ(1, recvfrom(self->r, rbuf, sizeof(rbuf), MSG_DONTWAIT,
			      AFX_SA(&from), &len));
	EXPECT_EQ('a', rbuf[0]);
	EXPECT_EQ(self->p3, from.sx_port);
	errno = 0;
	EXPECT_EQ(-1, recv(self->r, rbuf, sizeof(rbuf), MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);

	/* r itself may still sendto others, s is not filtering */
	EXPECT_EQ(1, afx_send_to(self->r, "b", 1, AFX_ADDR_LOCAL, self->p2, 0));
	EXPECT_EQ(1, recv(self->s, rbuf, sizeof(rbuf), MSG_DONTWAIT));
	close(a);
	close(u);
}

TEST_F(dg, af_unspec_dissolves)
{
	struct sockaddr_x sx, un;

	ASSERT_EQ(0, afx_connect(self->r, AFX_ADDR_LOCAL, self->p3));
	ASSERT_EQ(0, afx_getpeername(self->r, &sx));
	EXPECT_EQ(self->p3, sx.sx_port);
	EXPECT_EQ(AFX_ADDR_LOCAL, sx.sx_addr);
	errno = 0;
	EXPECT_EQ(-1, afx_send_to(self->s, "x", 1, AFX_ADDR_LOCAL, self->p1, 0));
	EXPECT_EQ(ECONNREFUSED, errno);

	memset(&un, 0, sizeof(un));
	un.sx_family = AF_UNSPEC;
	ASSERT_EQ(0, connect(self->r, AFX_SA(&un), sizeof(un)))
		TH_LOG("connect(AF_UNSPEC): %s", strerror(errno));
	errno = 0;
	EXPECT_EQ(-1, afx_getpeername(self->r, &sx));
	EXPECT_EQ(ENOTCONN, errno);
	errno = 0;
	EXPECT_EQ(-1, send(self->r, "x", 1, 0));
	EXPECT_EQ(EDESTADDRREQ, errno);
	/* still bound to p1, and open to everyone again */
	EXPECT_EQ(self->p1, afx_local_port(self->r));
	EXPECT_EQ(1, afx_send_to(self->s, "x", 1, AFX_ADDR_LOCAL, self->p1, 0));
	EXPECT_EQ(1, recv(self->r, rbuf, sizeof(rbuf), MSG_DONTWAIT));
	/* and can connect again */
	ASSERT_EQ(0, afx_connect(self->r, AFX_ADDR_LOCAL, self->p2));
	EXPECT_EQ(1, send(self->r, "y", 1, 0));
	EXPECT_EQ(1, recv(self->s, rbuf, sizeof(rbuf), MSG_DONTWAIT));
}

AFX_TEST_MAIN
