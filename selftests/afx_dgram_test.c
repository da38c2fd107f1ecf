// SPDX-License-Identifier: GPL-2.0
/*
 * afx_dgram_test.c - datagram messages: boundaries and sizes
 * (EMSGSIZE, zero-length datagrams, MSG_TRUNC, MSG_PEEK), shutdown(),
 * FIONREAD/SIOCOUTQ, listen()/accept().
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
#include <sys/mman.h>
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

/* ------------------------------------------------------- messages & sizes */

TEST_F(dg, boundaries)
{
	static const size_t sizes[] = { 8, 100, 1000, 5000, 9, 60000, 8 };
	unsigned int i, n = sizeof(sizes) / sizeof(sizes[0]);
	ssize_t got;

	for (i = 0; i < n; i++) {
		afx_dg_make(sbuf, i, sizes[i]);
		ASSERT_EQ((ssize_t)sizes[i],
			  afx_send_to(self->s, sbuf, sizes[i], AFX_ADDR_LOCAL,
				      self->p1, 0))
			TH_LOG("size %zu: %s", sizes[i], strerror(errno));
	}
	for (i = 0; i < n; i++) {
		got = recv(self->r, rbuf, sizeof(rbuf), 0);
		ASSERT_EQ((ssize_t)sizes[i], got);
		EXPECT_TRUE(afx_dg_check(rbuf, got, i)) TH_LOG("datagram %u", i);
	}
	errno = 0;
	EXPECT_EQ(-1, recv(self->r, rbuf, sizeof(rbuf), MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);

	/* read()/write() on connected sockets keep boundaries too */
	ASSERT_EQ(0, afx_connect(self->s, AFX_ADDR_LOCAL, self->p1));
	ASSERT_EQ(3, write(self->s, "abc", 3));
	ASSERT_EQ(2, write(self->s, "de", 2));
	EXPECT_EQ(3, read(self->r, rbuf, sizeof(rbuf)));
	EXPECT_EQ(0, memcmp(rbuf, "abc", 3));
	EXPECT_EQ(2, read(self->r, rbuf, sizeof(rbuf)));
	EXPECT_EQ(0, memcmp(rbuf, "de", 2));
}

TEST_F(dg, emsgsize)
{
	int sb = 0, big = 1 << 20;
	ssize_t got;

	/* room for a maximal datagram at the receiver */
	ASSERT_EQ(0, afx_set_int(self->r, SOL_SOCKET, SO_RCVBUF, big));
	ASSERT_EQ(0, afx_get_int(self->s, SOL_SOCKET, SO_SNDBUF, &sb));
	ASSERT_LE(AFX_MAX_DGRAM, sb) TH_LOG("default SO_SNDBUF %d is small", sb);

	afx_dg_make(sbuf, 1, AFX_MAX_DGRAM);
	EXPECT_EQ(AFX_MAX_DGRAM, afx_send_to(self->s, sbuf, AFX_MAX_DGRAM,
					     AFX_ADDR_LOCAL, self->p1, 0))
		TH_LOG("%s", strerror(errno));
	errno = 0;
	EXPECT_EQ(-1, afx_send_to(self->s, sbuf, AFX_MAX_DGRAM + 1,
				  AFX_ADDR_LOCAL, self->p1, 0));
	EXPECT_EQ(EMSGSIZE, errno);
	errno = 0;
	EXPECT_EQ(-1, afx_send_to(self->s, sbuf, sizeof(sbuf), AFX_ADDR_LOCAL,
				  self->p1, 0));
	EXPECT_EQ(EMSGSIZE, errno);
	got = recv(self->r, rbuf, sizeof(rbuf), MSG_DONTWAIT);
	EXPECT_EQ(AFX_MAX_DGRAM, got);
	EXPECT_TRUE(afx_dg_check(rbuf, AFX_MAX_DGRAM, 1));

	/* the limit follows SO_SNDBUF as getsockopt reports it */
	ASSERT_EQ(0, afx_set_int(self->s, SOL_SOCKET, SO_SNDBUF, 4096));
	ASSERT_EQ(0, afx_get_int(self->s, SOL_SOCKET, SO_SNDBUF, &sb));
	ASSERT_GT(AFX_MAX_DGRAM, sb);
	TH_LOG("SO_SNDBUF now reads %d", sb);
	afx_dg_make(sbuf, 2, sb);
	EXPECT_EQ(sb, afx_send_to(self->s, sbuf, sb, AFX_ADDR_LOCAL, self->p1, 0))
		TH_LOG("%s", strerror(errno));
	errno = 0;
	EXPECT_EQ(-1, afx_send_to(self->s, sbuf, sb + 1, AFX_ADDR_LOCAL, self->p1, 0));
	EXPECT_EQ(EMSGSIZE, errno);
	/* connected send() too */
	ASSERT_EQ(0, afx_connect(self->s, AFX_ADDR_LOCAL, self->p1));
	errno = 0;
	EXPECT_EQ(-1, send(self->s, sbuf, sb + 1, 0));
	EXPECT_EQ(EMSGSIZE, errno);
	got = recv(self->r, rbuf, sizeof(rbuf), MSG_DONTWAIT);
	EXPECT_EQ(sb, got);
	EXPECT_TRUE(afx_dg_check(rbuf, sb, 2));
	/* the refused ones were not queued */
	errno = 0;
	EXPECT_EQ(-1, recv(self->r, rbuf, sizeof(rbuf), MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
}

TEST_F(dg, zero_length)
{
	struct sockaddr_x from;
	socklen_t len = sizeof(from);
	int v = -1;

	EXPECT_EQ(0, afx_poll(self->r, POLLIN, 0));
	ASSERT_EQ(0, afx_send_to(self->s, "", 0, AFX_ADDR_LOCAL, self->p1, 0))
		TH_LOG("%s", strerror(errno));
	/* a queued empty datagram is readable */
	EXPECT_EQ(POLLIN, afx_poll(self->r, POLLIN, 0) & POLLIN);
	EXPECT_EQ(0, ioctl(self->r, FIONREAD, &v));
	EXPECT_EQ(0, v);
	memset(&from, 0xa5, sizeof(from));
	EXPECT_EQ(0, recvfrom(self->r, rbuf, sizeof(rbuf), MSG_DONTWAIT,
			      AFX_SA(&from), &len));
	EXPECT_EQ(AFX_ADDRLEN, len);
	EXPECT_EQ(afx_family(), from.sx_family);
	EXPECT_EQ(self->p2, from.sx_port);
	EXPECT_EQ(AFX_ADDR_LOCAL, from.sx_addr);
	/* it was consumed: nothing left */
	errno = 0;
	EXPECT_EQ(-1, recv(self->r, rbuf, sizeof(rbuf), MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);

	/* connected send() of nothing, received by a blocking recv */
	ASSERT_EQ(0, afx_connect(self->s, AFX_ADDR_LOCAL, self->p1));
	EXPECT_EQ(0, send(self->s, NULL, 0, 0));
	EXPECT_EQ(1, send(self->s, "x", 1, 0));
	EXPECT_EQ(0, recv(self->r, rbuf, sizeof(rbuf), 0));
	EXPECT_EQ(1, recv(self->r, rbuf, sizeof(rbuf), 0));
}

TEST_F(dg, msg_trunc)
{
	struct iovec iov;
	struct msghdr mh;
	ssize_t got;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;

	/* short buffer: truncated, MSG_TRUNC in msg_flags, copied length */
	afx_dg_make(sbuf, 7, 100);
	ASSERT_EQ(100, afx_send_to(self->s, sbuf, 100, AFX_ADDR_LOCAL, self->p1, 0));
	iov.iov_base = rbuf;
	iov.iov_len = 10;
	memset(rbuf, 0, 100);
	got = recvmsg(self->r, &mh, MSG_DONTWAIT);
	EXPECT_EQ(10, got);
	EXPECT_EQ(MSG_TRUNC, mh.msg_flags & MSG_TRUNC);
	EXPECT_EQ(0, memcmp(rbuf, sbuf, 10));
	EXPECT_EQ(0, rbuf[10]);
	/* the rest of the datagram is gone */
	errno = 0;
	EXPECT_EQ(-1, recv(self->r, rbuf, sizeof(rbuf), MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);

	/* MSG_TRUNC passed in: the real length comes back */
	ASSERT_EQ(100, afx_send_to(self->s, sbuf, 100, AFX_ADDR_LOCAL, self->p1, 0));
	mh.msg_flags = 0;
	iov.iov_len = 10;
	got = recvmsg(self->r, &mh, MSG_DONTWAIT | MSG_TRUNC);
	EXPECT_EQ(100, got);
	EXPECT_EQ(MSG_TRUNC, mh.msg_flags & MSG_TRUNC);
	EXPECT_EQ(0, memcmp(rbuf, sbuf, 10));
	errno = 0;
	EXPECT_EQ(-1, recv(self->r, rbuf, sizeof(rbuf), MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);

	/* big enough buffer: no MSG_TRUNC in msg_flags, either way */
	ASSERT_EQ(100, afx_send_to(self->s, sbuf, 100, AFX_ADDR_LOCAL, self->p1, 0));
	ASSERT_EQ(100, afx_send_to(self->s, sbuf, 100, AFX_ADDR_LOCAL, self->p1, 0));
	mh.msg_flags = 0;
	iov.iov_len = 200;
	EXPECT_EQ(100, recvmsg(self->r, &mh, MSG_DONTWAIT));
	EXPECT_EQ(0, mh.msg_flags & MSG_TRUNC);
	mh.msg_flags = 0;
	EXPECT_EQ(100, recvmsg(self->r, &mh, MSG_DONTWAIT | MSG_TRUNC));
	EXPECT_EQ(0, mh.msg_flags & MSG_TRUNC);

	/* recv(MSG_TRUNC) into a short buffer */
	ASSERT_EQ(100, afx_send_to(self->s, sbuf, 100, AFX_ADDR_LOCAL, self->p1, 0));
	EXPECT_EQ(100, recv(self->r, rbuf, 1, MSG_TRUNC | MSG_DONTWAIT));

	/* the size probe idiom: MSG_PEEK|MSG_TRUNC with no buffer */
	ASSERT_EQ(100, afx_send_to(self->s, sbuf, 100, AFX_ADDR_LOCAL, self->p1, 0));
	EXPECT_EQ(100, recv(self->r, NULL, 0, MSG_PEEK | MSG_TRUNC |
			    MSG_DONTWAIT));
	EXPECT_EQ(100, recv(self->r, rbuf, sizeof(rbuf), MSG_DONTWAIT));
	EXPECT_TRUE(afx_dg_check(rbuf, 100, 7));
}

TEST_F(dg, msg_peek)
{
	struct sockaddr_x from;
	socklen_t len;
	int v = -1;

	ASSERT_EQ(5, afx_send_to(self->s, "first", 5, AFX_ADDR_LOCAL, self->p1, 0));
	ASSERT_EQ(6, afx_send_to(self->s, "second", 6, AFX_ADDR_LOCAL, self->p1, 0));

	len = sizeof(from);
	memset(&from, 0, sizeof(from));
	EXPECT_EQ(5, recvfrom(self->r, rbuf, sizeof(rbuf), MSG_PEEK,
			      AFX_SA(&from), &len));
	EXPECT_EQ(0, memcmp(rbuf, "first", 5));
	EXPECT_EQ(self->p2, from.sx_port);
	EXPECT_EQ(5, recv(self->r, rbuf, sizeof(rbuf), MSG_PEEK));
	/* a short peek truncates but still keeps it */
	EXPECT_EQ(2, recv(self->r, rbuf, 2, MSG_PEEK));
	EXPECT_EQ(0, ioctl(self->r, FIONREAD, &v));
	EXPECT_EQ(5, v);
	EXPECT_EQ(5, recv(self->r, rbuf, sizeof(rbuf), 0));
	EXPECT_EQ(0, memcmp(rbuf, "first", 5));
	EXPECT_EQ(6, recv(self->r, rbuf, sizeof(rbuf), MSG_PEEK));
	EXPECT_EQ(0, memcmp(rbuf, "second", 6));
	EXPECT_EQ(6, recv(self->r, rbuf, sizeof(rbuf), 0));
	EXPECT_EQ(0, memcmp(rbuf, "second", 6));
	errno = 0;
	EXPECT_EQ(-1, recv(self->r, rbuf, sizeof(rbuf), MSG_PEEK |
			   MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
}

/* --------------------------------------------------- shutdown, ioctl, misc */

TEST_F(dg, shutdown_rd)
{
	ASSERT_EQ(0, afx_connect(self->r, AFX_ADDR_LOCAL, self->p2));
	ASSERT_EQ(0, afx_connect(self->s, AFX_ADDR_LOCAL, self->p1));
	ASSERT_EQ(4, send(self->s, "data", 4, 0));
	ASSERT_EQ(0, shutdown(self->r, SHUT_RD));
	/* queued data first, then 0 instead of blocking */
	EXPECT_EQ(4, recv(self->r, rbuf, sizeof(rbuf), 0));
	EXPECT_EQ(0, recv(self->r, rbuf, sizeof(rbuf), 0));
	EXPECT_EQ(0, recv(self->r, rbuf, sizeof(rbuf), 0));
}

TEST_F(dg, shutdown_wr)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	ASSERT_EQ(0, afx_connect(self->s, AFX_ADDR_LOCAL, self->p1));
	ASSERT_EQ(0, shutdown(self->s, SHUT_WR));
	errno = 0;
	EXPECT_EQ(-1, send(self->s, "x", 1, MSG_NOSIGNAL));
	EXPECT_EQ(EPIPE, errno);
	errno = 0;
	EXPECT_EQ(-1, write(self->s, "x", 1));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_TRUE(afx_dg_queue_empty(self->r));
	/* receiving still works */
	ASSERT_EQ(1, afx_send_to(self->r, "y", 1, AFX_ADDR_LOCAL, self->p2, 0));
	EXPECT_EQ(1, recv(self->s, rbuf, sizeof(rbuf), MSG_DONTWAIT));
}

TEST_F(dg, fionread_siocoutq)
{
	int v;

	v = -1;
	ASSERT_EQ(0, ioctl(self->r, FIONREAD, &v));
	EXPECT_EQ(0, v);
	afx_dg_make(sbuf, 1, 100);
	ASSERT_EQ(100, afx_send_to(self->s, sbuf, 100, AFX_ADDR_LOCAL, self->p1, 0));
	ASSERT_EQ(9, afx_send_to(self->s, sbuf, 9, AFX_ADDR_LOCAL, self->p1, 0));
	v = -1;
	ASSERT_EQ(0, ioctl(self->r, FIONREAD, &v));
	EXPECT_EQ(100, v);
	v = -1;
	ASSERT_EQ(0, ioctl(self->r, SIOCINQ, &v));
	EXPECT_EQ(100, v);
	v = -1;
	ASSERT_EQ(0, ioctl(self->s, SIOCOUTQ, &v));
	EXPECT_EQ(0, v);
	ASSERT_EQ(100, recv(self->r, rbuf, sizeof(rbuf), 0));
	v = -1;
	ASSERT_EQ(0, ioctl(self->r, FIONREAD, &v));
	EXPECT_EQ(9, v);
	ASSERT_EQ(9, recv(self->r, rbuf, sizeof(rbuf), 0));
	v = -1;
	ASSERT_EQ(0, ioctl(self->r, FIONREAD, &v));
	EXPECT_EQ(0, v);
	/* an ioctl nobody implements */
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->r, SIOCATMARK + 0x7f0, &v));
	EXPECT_EQ(ENOTTY, errno);
}

/*
 * Unreadable payloads fail with EFAULT and queue nothing, however much of
 * the buffer was readable; a payload the kernel has to fault in (never
 * touched, across pages) is sent whole; an unwritable receive buffer
 * leaves the datagram queued.
 */
TEST_F(dg, efault_whole_or_nothing)
{
	long pg = sysconf(_SC_PAGESIZE);
	unsigned char *m;
	int v;

	m = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, m);
	/* Page 3 is unreadable; pages 0-2 are never touched before the send. */
	ASSERT_EQ(0, mprotect(m + 3 * pg, pg, PROT_NONE));

	errno = 0;
	EXPECT_EQ(-1, afx_send_to(self->s, (void *)8, 100, AFX_ADDR_LOCAL,
				  self->p1, 0));
	EXPECT_EQ(EFAULT, errno);
	/* Readable for 2 pages, then not: nothing of it arrives. */
	errno = 0;
	EXPECT_EQ(-1, afx_send_to(self->s, m + pg, 2 * pg + 100, AFX_ADDR_LOCAL,
				  self->p1, 0));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_TRUE(afx_dg_queue_empty(self->r));

	/* Never touched, so faulted in by the send: all of it arrives. */
	EXPECT_EQ(3 * pg, afx_send_to(self->s, m, 3 * pg, AFX_ADDR_LOCAL,
				      self->p1, 0));
	v = -1;
	ASSERT_EQ(0, ioctl(self->r, FIONREAD, &v));
	EXPECT_EQ(3 * pg, v);
	/* A receive buffer that faults keeps the datagram queued. */
	errno = 0;
	EXPECT_EQ(-1, recv(self->r, m + 3 * pg, 100, 0));
	EXPECT_EQ(EFAULT, errno);
	memset(rbuf, 0xff, 3 * pg);
	EXPECT_EQ(3 * pg, recv(self->r, rbuf, sizeof(rbuf), 0));
	EXPECT_EQ(0, rbuf[0]);
	EXPECT_EQ(0, rbuf[3 * pg - 1]);
	EXPECT_TRUE(afx_dg_queue_empty(self->r));

	/* Broadcast: the same checks, before any receiver is looked at. */
	ASSERT_EQ(0, afx_set_int(self->s, SOL_SOCKET, SO_BROADCAST, 1));
	errno = 0;
	EXPECT_EQ(-1, afx_send_to(self->s, m + pg, 2 * pg + 100,
				  AFX_ADDR_BROADCAST, self->p1, 0));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_TRUE(afx_dg_queue_empty(self->r));
	munmap(m, 4 * pg);
}

TEST_F(dg, listen_accept_eopnotsupp)
{
	int u = afx_socket(SOCK_DGRAM);

	ASSERT_LE(0, u);
	errno = 0;
	EXPECT_EQ(-1, listen(u, 1));
	EXPECT_EQ(EOPNOTSUPP, errno);
	errno = 0;
	EXPECT_EQ(-1, listen(self->r, 5));
	EXPECT_EQ(EOPNOTSUPP, errno);
	errno = 0;
	EXPECT_EQ(-1, accept(self->r, NULL, NULL));
	EXPECT_EQ(EOPNOTSUPP, errno);
	errno = 0;
	EXPECT_EQ(-1, accept4(u, NULL, NULL, SOCK_NONBLOCK));
	EXPECT_EQ(EOPNOTSUPP, errno);
	close(u);
}

AFX_TEST_MAIN
