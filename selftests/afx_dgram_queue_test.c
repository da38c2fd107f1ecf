// SPDX-License-Identifier: GPL-2.0
/*
 * afx_dgram_queue_test.c - reliable datagram delivery with
 * byte-accounted receive queues: EAGAIN, blocking senders, SO_SNDTIMEO,
 * EINTR, a receiver closing, no loss across fill/drain cycles.
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
/* What the receive buffer holds for each datagram besides its payload. */
#define AFX_DGRAM_OVERHEAD	8

/* fill_is_byte_accounted: n1 datagrams of 1000 bytes, then one of left. */
static long fill_n1, fill_left;

static size_t fill_size(uint32_t seq)
{
	return seq < fill_n1 ? 1000 : fill_left;
}
static unsigned char rbuf[AFX_MAX_DGRAM + 64];

/* ------------------------------------------------ queue limits & blocking */

TEST_F(dg, fill_is_byte_accounted)
{
	uint32_t seq = 0, rseq = 0;
	long n1, n2, n3, left;
	int rb = 0, r2;

	ASSERT_EQ(0, afx_set_int(self->r, SOL_SOCKET, SO_RCVBUF, SMALL_RCVBUF));
	ASSERT_EQ(0, afx_get_int(self->r, SOL_SOCKET, SO_RCVBUF, &rb));

	/* 1000-byte datagrams until the receiver is full */
	n1 = afx_dg_fill(self->s, self->p1, 1000, &seq, 100000);
	ASSERT_LT(0, n1) TH_LOG("%s", strerror(errno));
	TH_LOG("SO_RCVBUF %d: %ld datagrams of 1000 bytes", rb, n1);
	/* each takes its payload and an 8-byte header, nothing else */
	EXPECT_EQ(rb / (1000 + AFX_DGRAM_OVERHEAD), n1);
	/* what is left still takes a datagram that fits in it, not more */
	left = rb % (1000 + AFX_DGRAM_OVERHEAD) - AFX_DGRAM_OVERHEAD;
	ASSERT_LT(0, left);
	errno = 0;
	EXPECT_EQ(-1, afx_send_to(self->s, sbuf, left + 1, AFX_ADDR_LOCAL,
				  self->p1, MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
	afx_dg_make(sbuf, seq, left);
	EXPECT_EQ(left, afx_send_to(self->s, sbuf, left, AFX_ADDR_LOCAL,
				    self->p1, MSG_DONTWAIT));
	fill_n1 = n1;
	fill_left = left;
	/* and then not even an empty one */
	errno = 0;
	EXPECT_EQ(-1, afx_send_to(self->s, sbuf, 0, AFX_ADDR_LOCAL, self->p1,
				  MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(n1 + 1, afx_dg_drain_check(self->r, &rseq, fill_size, 0));

	/* many tiny datagrams fill it too (each costs its header too) */
	r2 = afx_dg_bound(AFX_ADDR_ANY, self->p3, 0);
	ASSERT_LE(0, r2);
	ASSERT_EQ(0, afx_set_int(r2, SOL_SOCKET, SO_RCVBUF, SMALL_RCVBUF));
	seq = 0;
	n2 = afx_dg_fill(self->s, self->p3, sizeof(struct afx_dg_hdr), &seq, 100000);
	ASSERT_LT(0, n2) TH_LOG("small datagrams never filled the receiver");
	TH_LOG("%ld datagrams of %zu bytes", n2, sizeof(struct afx_dg_hdr));
	EXPECT_EQ(rb / (sizeof(struct afx_dg_hdr) + AFX_DGRAM_OVERHEAD), n2);

	/* a bigger SO_RCVBUF on the full receiver lets more in */
	ASSERT_EQ(0, afx_set_int(r2, SOL_SOCKET, SO_RCVBUF, 4 * SMALL_RCVBUF));
	n3 = afx_dg_fill(self->s, self->p3, sizeof(struct afx_dg_hdr), &seq, 100000);
	ASSERT_LT(0, n3);
	TH_LOG("after raising SO_RCVBUF: %ld more", n3);
	ASSERT_EQ(0, afx_get_int(r2, SOL_SOCKET, SO_RCVBUF, &rb));
	EXPECT_EQ(rb / (sizeof(struct afx_dg_hdr) + AFX_DGRAM_OVERHEAD), n2 + n3);
	rseq = 0;
	EXPECT_EQ(n2 + n3, afx_dg_drain_check(r2, &rseq, NULL, sizeof(struct afx_dg_hdr)));
	close(r2);
}

TEST_F(dg, full_nonblocking_variants)
{
	uint32_t seq = 0, rseq = 0;
	int s2;
	long n;

	ASSERT_EQ(0, afx_set_int(self->r, SOL_SOCKET, SO_RCVBUF, SMALL_RCVBUF));
	n = afx_dg_fill(self->s, self->p1, 500, &seq, 100000);
	ASSERT_LT(0, n);

	/* MSG_DONTWAIT: see afx_dg_fill(); O_NONBLOCK */
	s2 = afx_socket(SOCK_DGRAM | SOCK_NONBLOCK);
	ASSERT_LE(0, s2);
	errno = 0;
	EXPECT_EQ(-1, afx_send_to(s2, sbuf, 500, AFX_ADDR_LOCAL, self->p1, 0));
	EXPECT_EQ(EAGAIN, errno);
	close(s2);
	/* X_NONBLOCK, file blocking */
	s2 = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, s2);
	ASSERT_EQ(0, afx_set_int(s2, SOL_X, X_NONBLOCK, 1));
	errno = 0;
	EXPECT_EQ(-1, afx_send_to(s2, sbuf, 500, AFX_ADDR_LOCAL, self->p1, 0));
	EXPECT_EQ(EAGAIN, errno);
	/* connected and X_NONBLOCK */
	ASSERT_EQ(0, afx_connect(s2, AFX_ADDR_LOCAL, self->p1));
	errno = 0;
	EXPECT_EQ(-1, send(s2, sbuf, 500, 0));
	EXPECT_EQ(EAGAIN, errno);
	close(s2);
	/* nothing extra was queued */
	EXPECT_EQ(n, afx_dg_drain_check(self->r, &rseq, NULL, 500));
}

/*
 * With the receiver on port full, start one more blocking send of datagram
 * seq (len bytes) from s to {LOCAL, port} in a helper thread.
 */
static int blocked_sender(struct afx_call *c, int s, uint32_t port,
			  size_t len, uint32_t seq)
{
	memset(c, 0, sizeof(*c));
	afx_dg_make(sbuf, seq, len);
	c->kind = AFX_CALL_SENDTO;
	c->fd = s;
	c->port = port;
	c->buf = sbuf;
	c->len = len;
	c->flags = MSG_NOSIGNAL;
	return afx_call_start(c);
}

TEST_F(dg, blocking_send_waits_for_reader)
{
	uint32_t seq = 0, rseq = 0;
	struct afx_call c;
	long n;

	ASSERT_EQ(0, afx_set_int(self->r, SOL_SOCKET, SO_RCVBUF, SMALL_RCVBUF));
	n = afx_dg_fill(self->s, self->p1, 1000, &seq, 100000);
	ASSERT_LT(0, n);

	ASSERT_EQ(0, blocked_sender(&c, self->s, self->p1, 1000, seq));
	/* it sleeps in sendto() and has not returned */
	ASSERT_EQ(0, afx_call_blocked(&c)) TH_LOG("the sender never blocked");
	EXPECT_FALSE(afx_call_done(&c, 0)) TH_LOG("send returned early");

	/* reading one datagram lets it in */
	ASSERT_EQ(1000, recv(self->r, rbuf, sizeof(rbuf), 0));
	EXPECT_TRUE(afx_dg_check(rbuf, 1000, 0));
	rseq = 1;
	ASSERT_TRUE(afx_call_done(&c, 10000)) TH_LOG("sender still blocked");
	afx_call_join(&c);
	EXPECT_EQ(1000, c.ret) TH_LOG("send: %s", strerror(c.err));
	/* everything, the late one last */
	EXPECT_EQ(n, afx_dg_drain_check(self->r, &rseq, NULL, 1000));
	EXPECT_EQ(seq + 1, rseq);
}

TEST_F(dg, blocking_send_sndtimeo)
{
	struct timeval tv = { 0, 300 * 1000 };
	uint32_t seq = 0, rseq = 0;
	double t0, dt;
	long n;

	ASSERT_EQ(0, afx_set_int(self->r, SOL_SOCKET, SO_RCVBUF, SMALL_RCVBUF));
	n = afx_dg_fill(self->s, self->p1, 1000, &seq, 100000);
	ASSERT_LT(0, n);
	ASSERT_EQ(0, setsockopt(self->s, SOL_SOCKET, SO_SNDTIMEO, &tv,
				sizeof(tv)));
	afx_dg_make(sbuf, seq, 1000);
	t0 = afx_now_ms();
	errno = 0;
	EXPECT_EQ(-1, afx_send_to(self->s, sbuf, 1000, AFX_ADDR_LOCAL, self->p1, 0));
	dt = afx_now_ms() - t0;
	EXPECT_EQ(EAGAIN, errno) TH_LOG("%s", strerror(errno));
	EXPECT_LE(250, (int)dt) TH_LOG("timed out after %.1f ms", dt);
	EXPECT_GT(5000, (int)dt) TH_LOG("timed out after %.1f ms", dt);

	/* connected send() as well */
	ASSERT_EQ(0, afx_connect(self->s, AFX_ADDR_LOCAL, self->p1));
	t0 = afx_now_ms();
	errno = 0;
	EXPECT_EQ(-1, send(self->s, sbuf, 1000, 0));
	dt = afx_now_ms() - t0;
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_LE(250, (int)dt) TH_LOG("timed out after %.1f ms", dt);
	/* the timed-out ones were not queued */
	EXPECT_EQ(n, afx_dg_drain_check(self->r, &rseq, NULL, 1000));
}

TEST_F(dg, blocking_send_eintr)
{
	uint32_t seq = 0, rseq = 0;
	struct afx_call c;
	int tries;
	long n;

	ASSERT_EQ(0, afx_set_int(self->r, SOL_SOCKET, SO_RCVBUF, SMALL_RCVBUF));
	n = afx_dg_fill(self->s, self->p1, 1000, &seq, 100000);
	ASSERT_LT(0, n);

	/* a SIGUSR1 handler without SA_RESTART */
	ASSERT_EQ(0, afx_catch_signal(SIGUSR1, 0));
	ASSERT_EQ(0, blocked_sender(&c, self->s, self->p1, 1000, seq));
	for (tries = 0; tries < 50; tries++) {
		ASSERT_EQ(0, afx_call_blocked(&c))
			TH_LOG("the sender never blocked");
		ASSERT_EQ(0, afx_call_signal(&c, SIGUSR1));
		if (afx_call_done(&c, 200))
			break;
	}
	ASSERT_TRUE(afx_call_done(&c, 0)) TH_LOG("no result from sender");
	afx_call_join(&c);
	EXPECT_EQ(-1, c.ret);
	EXPECT_EQ(EINTR, c.err) TH_LOG("send: %s", strerror(c.err));
	EXPECT_LE(1, afx_sig_hits[SIGUSR1]);
	/* the interrupted datagram was not queued */
	EXPECT_EQ(n, afx_dg_drain_check(self->r, &rseq, NULL, 1000));
}

/* A sender blocked on a full receiver fails once that receiver is closed. */
TEST_F(dg, blocked_send_receiver_closes)
{
	uint32_t seq = 0;
	struct afx_call c;
	long n;

	ASSERT_EQ(0, afx_set_int(self->r, SOL_SOCKET, SO_RCVBUF, SMALL_RCVBUF));
	n = afx_dg_fill(self->s, self->p1, 1000, &seq, 100000);
	ASSERT_LT(0, n);
	ASSERT_EQ(0, blocked_sender(&c, self->s, self->p1, 1000, seq));
	ASSERT_EQ(0, afx_call_blocked(&c)) TH_LOG("the sender never blocked");
	EXPECT_FALSE(afx_call_done(&c, 0));
	close(self->r);
	self->r = -1;
	ASSERT_TRUE(afx_call_done(&c, 10000))
		TH_LOG("sender still blocked after the receiver closed");
	afx_call_join(&c);
	EXPECT_EQ(-1, c.ret);
	EXPECT_EQ(ECONNREFUSED, c.err) TH_LOG("send: %s", strerror(c.err));
}

/* A blocking recv() sleeps until a datagram arrives. */
TEST_F(dg, blocking_recv_wakes_up)
{
	struct afx_call c = {
		.kind = AFX_CALL_RECV, .fd = self->r,
		.buf = rbuf, .len = sizeof(rbuf),
	};

	ASSERT_EQ(0, afx_call_start(&c));
	ASSERT_EQ(0, afx_call_blocked(&c)) TH_LOG("recvfrom() never slept");
	EXPECT_FALSE(afx_call_done(&c, AFX_STILL_BLOCKED_MS));
	ASSERT_EQ(4, afx_send_to(self->s, "wake", 4, AFX_ADDR_LOCAL, self->p1,
				 0));
	ASSERT_TRUE(afx_call_done(&c, AFX_DONE_WAIT_MS))
		TH_LOG("recvfrom() not woken");
	afx_call_join(&c);
	EXPECT_EQ(4, c.ret) TH_LOG("recvfrom: %s", strerror(c.err));
	EXPECT_EQ(0, memcmp(rbuf, "wake", 4));
	EXPECT_EQ(AFX_ADDRLEN, c.fromlen);
	EXPECT_EQ(self->p2, c.from.sx_port);
}

/*
 * A child sends N numbered datagrams of varying sizes with blocking
 * sends; the parent lets the queue fill up (waits until the child blocks)
 * and drains it, again and again. Every datagram arrives once, in order.
 */
#define NOLOSS_N	3000U

TEST_F_TIMEOUT(dg, no_loss_fill_drain, 120)
{
	uint32_t rseq = 0;
	int blocked = 0, cycles = 0, status;
	pid_t pid;
	long n;

	afx_watchdog(110);
	ASSERT_EQ(0, afx_set_int(self->r, SOL_SOCKET, SO_RCVBUF, SMALL_RCVBUF));
	pid = afx_child_fork(100);
	ASSERT_LE(0, pid);
	if (pid == 0) {
		uint32_t i;

		for (i = 0; i < NOLOSS_N; i++) {
			size_t len = afx_dg_var_size(i);

			afx_dg_make(sbuf, i, len);
			if (afx_send_to(self->s, sbuf, len, AFX_ADDR_LOCAL, self->p1, 0)
			    != (ssize_t)len)
				_exit(1);
		}
		_exit(0);
	}
	while (rseq < NOLOSS_N) {
		/* wait until the sender is stuck on a full queue (or done) */
		if (afx_wait_blocked(pid, SYS_sendto, 100) == 0)
			blocked++;
		/*
		 * Part of what fits: a sender as fast as the reader would
		 * otherwise keep one drain going to the end.
		 */
		n = afx_dg_drain_some(self->r, &rseq, afx_dg_var_size, 0, 16);
		ASSERT_LE(0, n) TH_LOG("bad datagram after %u", rseq);
		cycles++;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			n = afx_dg_drain_check(self->r, &rseq, afx_dg_var_size, 0);
			ASSERT_LE(0, n);
			ASSERT_TRUE(WIFEXITED(status) &&
				    WEXITSTATUS(status) == 0)
				TH_LOG("sender failed");
			pid = 0;
			break;
		}
	}
	if (pid)
		EXPECT_EQ(0, afx_wait_child(pid));
	EXPECT_EQ(NOLOSS_N, rseq);
	TH_LOG("%u datagrams, %d drain cycles, sender seen blocked %d times",
	       rseq, cycles, blocked);
	EXPECT_LE(2, blocked) TH_LOG("the queue never filled up");
	errno = 0;
	EXPECT_EQ(-1, recv(self->r, rbuf, sizeof(rbuf), MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
}

AFX_TEST_MAIN
