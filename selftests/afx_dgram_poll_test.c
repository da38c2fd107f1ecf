// SPDX-License-Identifier: GPL-2.0
/*
 * afx_dgram_poll_test.c - poll() and epoll on datagram sockets:
 * POLLIN/POLLOUT, POLLOUT wakeups and EPOLLET edges, no lost wakeup.
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

#define NOLOSS_N	3000U

/* ------------------------------------------------------------------- poll */

TEST_F(dg, poll_in_out)
{
	int u, ghost;
	long n;

	/* POLLIN only with a datagram queued */
	EXPECT_EQ(0, afx_poll(self->r, POLLIN, 0));
	ASSERT_EQ(1, afx_send_to(self->s, "x", 1, AFX_ADDR_LOCAL, self->p1, 0));
	EXPECT_EQ(POLLIN, afx_poll(self->r, POLLIN, 0) & POLLIN);
	ASSERT_EQ(1, recv(self->r, rbuf, sizeof(rbuf), 0));
	EXPECT_EQ(0, afx_poll(self->r, POLLIN, 0));

	/* connected: POLLOUT while the peer has room */
	ASSERT_EQ(0, afx_set_int(self->r, SOL_SOCKET, SO_RCVBUF, SMALL_RCVBUF));
	ASSERT_EQ(0, afx_connect(self->s, AFX_ADDR_LOCAL, self->p1));
	EXPECT_EQ(POLLOUT, afx_poll(self->s, POLLOUT, 0) & POLLOUT);
	/* full: not even a 1-byte datagram fits any more */
	n = afx_dg_fill_full(self->s, 0);
	ASSERT_LT(0, n);
	errno = 0;
	ASSERT_EQ(-1, send(self->s, "", 0, MSG_DONTWAIT));
	ASSERT_EQ(EAGAIN, errno);
	EXPECT_EQ(0, afx_poll(self->s, POLLOUT, 0) & POLLOUT)
		TH_LOG("POLLOUT on a sender whose peer has no room");
	/* unconnected: always POLLOUT, even though the sendto would block */
	u = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, u);
	EXPECT_EQ(POLLOUT, afx_poll(u, POLLOUT, 0) & POLLOUT);
	ASSERT_EQ(0, afx_bind(u, AFX_ADDR_ANY, 0));
	errno = 0;
	EXPECT_EQ(-1, afx_send_to(u, "x", 1, AFX_ADDR_LOCAL, self->p1, MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(POLLOUT, afx_poll(u, POLLOUT, 0) & POLLOUT);
	/* room again after a read */
	ASSERT_EQ(1000, recv(self->r, rbuf, sizeof(rbuf), 0));
	EXPECT_EQ(POLLOUT, afx_poll(self->s, POLLOUT, 0) & POLLOUT);
	/* connected to a port nobody has: POLLOUT */
	ghost = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, ghost);
	ASSERT_EQ(0, afx_connect(ghost, AFX_ADDR_LOCAL, self->p4));
	EXPECT_EQ(POLLOUT, afx_poll(ghost, POLLOUT, 0) & POLLOUT);
	close(ghost);
	close(u);
}

TEST_F(dg, pollout_wakeup_on_read)
{
	struct afx_call c = {
		.kind = AFX_CALL_POLL, .events = POLLOUT, .timeout_ms = 15000,
	};
	long n;

	ASSERT_EQ(0, afx_set_int(self->r, SOL_SOCKET, SO_RCVBUF, SMALL_RCVBUF));
	ASSERT_EQ(0, afx_connect(self->s, AFX_ADDR_LOCAL, self->p1));
	n = afx_dg_fill_full(self->s, 0);
	ASSERT_LT(0, n);
	EXPECT_EQ(0, afx_poll(self->s, POLLOUT, 0) & POLLOUT)
		TH_LOG("POLLOUT on a sender whose peer has no room");

	c.fd = self->s;
	ASSERT_EQ(0, afx_call_start(&c));
	ASSERT_EQ(0, afx_call_blocked(&c)) TH_LOG("the poller never slept");
	EXPECT_FALSE(afx_call_done(&c, 0)) TH_LOG("poll returned early");
	/* the peer reads: the poller wakes up with POLLOUT */
	ASSERT_EQ(1000, recv(self->r, rbuf, sizeof(rbuf), 0));
	ASSERT_TRUE(afx_call_done(&c, 10000)) TH_LOG("poller not woken");
	afx_call_join(&c);
	EXPECT_EQ(1, c.ret);
	EXPECT_EQ(POLLOUT, c.revents & POLLOUT);
	EXPECT_LT(0, afx_drain(self->r));
}

/*
 * EPOLLET: a connected sender that filled its peer with nonblocking sends,
 * never polling in between, gets an EPOLLOUT edge when the peer reads.
 */
TEST_F(dg, epollet_pollout_edge_after_eagain)
{
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLET };
	struct epoll_event out[2];
	int ep;

	ASSERT_EQ(0, afx_set_int(self->r, SOL_SOCKET, SO_RCVBUF, SMALL_RCVBUF));
	ASSERT_EQ(0, afx_connect(self->s, AFX_ADDR_LOCAL, self->p1));
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->s, &ev));
	/* the first edge: there is room */
	ASSERT_EQ(1, epoll_wait(ep, out, 2, 1000));
	ASSERT_LT(0, afx_dg_fill_full(self->s, 0));
	EXPECT_EQ(0, epoll_wait(ep, out, 2, 0));
	ASSERT_EQ(1000, recv(self->r, rbuf, sizeof(rbuf), 0));
	ASSERT_EQ(1, epoll_wait(ep, out, 2, 5000)) TH_LOG("no EPOLLOUT edge");
	EXPECT_EQ(EPOLLOUT, out[0].events & EPOLLOUT);
	close(ep);
	EXPECT_LT(0, afx_drain(self->r));
}

/*
 * A nonblocking connected sender that waits in poll(POLLOUT) whenever it
 * gets EAGAIN, against a blocking reader: no lost wakeup, no loss.
 */
TEST_F_TIMEOUT(dg, pollout_stream_no_loss, 120)
{
	uint32_t i, rseq = 0;
	int p[2];
	pid_t pid;
	char c;

	afx_watchdog(110);
	ASSERT_EQ(0, afx_set_int(self->r, SOL_SOCKET, SO_RCVBUF, SMALL_RCVBUF));
	ASSERT_EQ(0, afx_connect(self->s, AFX_ADDR_LOCAL, self->p1));
	ASSERT_EQ(0, pipe(p));
	pid = afx_child_fork(100);
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int waits = 0;

		close(p[0]);
		for (i = 0; i < NOLOSS_N; i++) {
			size_t len = afx_dg_var_size(i);
			ssize_t r;

			afx_dg_make(sbuf, i, len);
			for (;;) {
				r = send(self->s, sbuf, len, MSG_DONTWAIT);
				if (r == (ssize_t)len)
					break;
				if (r >= 0 || errno != EAGAIN)
					_exit(1);
				/* the queue is full: tell the reader once */
				if (!waits && write(p[1], "f", 1) != 1)
					_exit(4);
				/* must come back with POLLOUT, not time out */
				if (!(afx_poll(self->s, POLLOUT, 10000) &
				      POLLOUT))
					_exit(2);
				waits++;
			}
		}
		_exit(waits ? 0 : 3);
	}
	close(p[1]);
	/* start reading only once the sender has filled the queue */
	ASSERT_EQ(1, read(p[0], &c, 1)) TH_LOG("the sender never filled the queue");
	for (i = 0; i < NOLOSS_N; i++) {
		ssize_t got = recv(self->r, rbuf, sizeof(rbuf), 0);

		ASSERT_EQ((ssize_t)afx_dg_var_size(i), got) TH_LOG("datagram %u", i);
		ASSERT_TRUE(afx_dg_check(rbuf, got, i)) TH_LOG("datagram %u", i);
		rseq++;
	}
	EXPECT_EQ(0, afx_wait_child(pid))
		TH_LOG("sender: 1 send error, 2 POLLOUT never came, 3 never had to wait");
	EXPECT_EQ(NOLOSS_N, rseq);
	close(p[0]);
}

AFX_TEST_MAIN
