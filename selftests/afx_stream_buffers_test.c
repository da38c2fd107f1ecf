// SPDX-License-Identifier: GPL-2.0
/*
 * afx_stream_buffers_test.c - stream buffer limits and blocking:
 * SO_SNDBUF/SO_RCVBUF bounds, blocked and partial sends, SO_SNDTIMEO,
 * SO_RCVTIMEO, SO_RCVLOWAT, FIONREAD/SIOCINQ/SIOCOUTQ.
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
#include "afx_fixture_pair.h"

#define WATCHDOG_SEC	20	/* harness default timeout is 30 s */
/* Documentation/afx.rst, SO_SNDBUF: what one direction holds at most. */
#define AFX_STREAM_BUF_MAX	(508 * 1024)

FIXTURE(sndbuf_limit) {
	int l, c, a;
	uint32_t port;
};

FIXTURE_VARIANT(sndbuf_limit) {
	int sndbuf;	/* on the sender, 0: default */
	int rcvbuf;	/* on the receiver, 0: default */
};

FIXTURE_VARIANT_ADD(sndbuf_limit, defaults) { 0, 0 };
FIXTURE_VARIANT_ADD(sndbuf_limit, small_receiver_rcvbuf) { 0, 16384 };
FIXTURE_VARIANT_ADD(sndbuf_limit, small_sender_sndbuf) { 16384, 0 };

FIXTURE_SETUP(sndbuf_limit)
{
	afx_watchdog(WATCHDOG_SEC);
	ASSERT_EQ(0, afx_stream_pair_ex(0, &self->l, &self->c, &self->a));
	if (variant->sndbuf)
		ASSERT_EQ(0, afx_set_int(self->c, SOL_SOCKET, SO_SNDBUF,
					 variant->sndbuf));
	if (variant->rcvbuf)
		ASSERT_EQ(0, afx_set_int(self->a, SOL_SOCKET, SO_RCVBUF,
					 variant->rcvbuf));
}

FIXTURE_TEARDOWN(sndbuf_limit)
{
	close(self->a);
	close(self->c);
	close(self->l);
}

TEST_F(sndbuf_limit, nonblocking_fill_bounded_by_min_of_buffers)
{
	int snd, rcv, limit, v;
	long n;

	ASSERT_EQ(0, afx_get_int(self->c, SOL_SOCKET, SO_SNDBUF, &snd));
	ASSERT_EQ(0, afx_get_int(self->a, SOL_SOCKET, SO_RCVBUF, &rcv));
	limit = snd < rcv ? snd : rcv;
	if (limit > AFX_STREAM_BUF_MAX)
		limit = AFX_STREAM_BUF_MAX;
	n = afx_fill(self->c, 1024);
	ASSERT_LT(0, n);
	TH_LOG("sndbuf %d rcvbuf %d: %ld bytes queued", snd, rcv, n);
	/* Payload bytes are what counts: exactly the limit fits. */
	EXPECT_EQ(limit, n);
	EXPECT_EQ(-1, send(self->c, "x", 1, MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
	/* no POLLOUT while full */
	EXPECT_EQ(0, afx_poll(self->c, POLLOUT, 0));
	ASSERT_EQ(0, afx_ioctl_int(self->a, FIONREAD, &v));
	EXPECT_EQ(n, v);
	ASSERT_EQ(0, afx_ioctl_int(self->c, SIOCOUTQ, &v));
	EXPECT_EQ(n, v);
	/* reading everything makes room again */
	EXPECT_EQ(n, afx_drain(self->a));
	EXPECT_EQ(POLLOUT, afx_poll(self->c, POLLOUT, AFX_DONE_WAIT_MS));
	EXPECT_EQ(1, send(self->c, "x", 1, MSG_DONTWAIT));
}

TEST_F(pair, blocked_send_completes_after_peer_reads)
{
	char out[100];
	struct afx_call op = { .kind = AFX_CALL_SEND, .fd = -1, .buf = out,
			       .len = sizeof(out) };
	long n, total;
	char tail[100];

	op.fd = self->c;
	memset(out, 'T', sizeof(out));
	n = afx_fill(self->c, 65536);
	ASSERT_LT(0, n);
	ASSERT_EQ(0, afx_call_start(&op));
	ASSERT_EQ(0, afx_call_blocked(&op)) TH_LOG("send did not block");
	EXPECT_FALSE(afx_call_done(&op, AFX_STILL_BLOCKED_MS));
	/*
	 * Read what was queued so far, and no more: the sender continues,
	 * and its 100 bytes may already be queued behind it.
	 */
	total = 0;
	while (total < n) {
		static char sink[65536];
		size_t want = n - total < (long)sizeof(sink) ? (size_t)(n - total) :
							      sizeof(sink);
		long r = recv(self->a, sink, want, 0);

		ASSERT_LT(0, r);
		total += r;
	}
	ASSERT_TRUE(afx_call_done(&op, AFX_DONE_WAIT_MS))
		TH_LOG("blocked send not woken by the reader");
	afx_call_join(&op);
	EXPECT_EQ(100, op.ret);
	ASSERT_EQ(0, afx_recv_all(self->a, tail, sizeof(tail)));
	EXPECT_EQ(0, memcmp(tail, out, sizeof(out)));
}

TEST_F(pair, nonblocking_send_returns_partial_count)
{
	static unsigned char big[4 << 20], in[65536];
	long n, got = 0, r;

	afx_fill_pattern(big, sizeof(big), 0);
	n = send(self->c, big, sizeof(big), MSG_DONTWAIT);
	ASSERT_LT(0, n) TH_LOG("send: %s", strerror(errno));
	EXPECT_GT((long)sizeof(big), n);
	EXPECT_EQ(-1, send(self->c, big + n, sizeof(big) - n, MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
	while (got < n) {
		r = recv(self->a, in, sizeof(in), MSG_DONTWAIT);
		ASSERT_LT(0, r);
		ASSERT_EQ((size_t)r, afx_check_pattern(in, r, got));
		got += r;
	}
	EXPECT_EQ(-1, recv(self->a, in, sizeof(in), MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
}

TEST_F(pair, so_sndtimeo_blocked_send_partial_then_eagain)
{
	static unsigned char big[4 << 20];
	double ts;
	long n, t;

	ASSERT_EQ(0, afx_set_timeo(self->c, SO_SNDTIMEO, 300));
	ts = afx_now_ms();
	n = send(self->c, big, sizeof(big), 0);
	t = (long)(afx_now_ms() - ts);
	ASSERT_LT(0, n) TH_LOG("send: %s", strerror(errno));
	EXPECT_GT((long)sizeof(big), n);
	EXPECT_LE(250, t);
	EXPECT_GT(5000, t);
	ts = afx_now_ms();
	EXPECT_EQ(-1, send(self->c, big, 1, 0));
	EXPECT_EQ(EAGAIN, errno);
	t = (long)(afx_now_ms() - ts);
	EXPECT_LE(250, t);
	EXPECT_GT(5000, t);
}

TEST_F(pair, signal_during_blocked_send_partial_then_eintr)
{
	static unsigned char big[4 << 20];
	struct afx_call op = { .kind = AFX_CALL_SEND, .buf = big,
			       .len = sizeof(big) };

	ASSERT_EQ(0, afx_catch_signal(SIGUSR1, 0));
	op.fd = self->c;
	ASSERT_EQ(0, afx_call_start(&op));
	ASSERT_EQ(0, afx_call_blocked(&op));
	ASSERT_EQ(0, afx_call_signal(&op, SIGUSR1));
	ASSERT_TRUE(afx_call_done(&op, AFX_DONE_WAIT_MS));
	afx_call_join(&op);
	EXPECT_EQ(1, afx_sig_hits[SIGUSR1]);
	EXPECT_LT(0, op.ret) TH_LOG("send: %s", strerror(op.err));
	EXPECT_GT((long)sizeof(big), op.ret);

	/* now full: nothing goes before the signal -> EINTR */
	op.len = 1;
	ASSERT_EQ(0, afx_call_start(&op));
	ASSERT_EQ(0, afx_call_blocked(&op));
	ASSERT_EQ(0, afx_call_signal(&op, SIGUSR1));
	ASSERT_TRUE(afx_call_done(&op, AFX_DONE_WAIT_MS));
	afx_call_join(&op);
	EXPECT_EQ(2, afx_sig_hits[SIGUSR1]);
	EXPECT_EQ(-1, op.ret);
	EXPECT_EQ(EINTR, op.err);
}

TEST_F(pair, so_rcvtimeo_eagain_when_nothing_arrives)
{
	double ts;
	char ch;
	long t;

	ASSERT_EQ(0, afx_set_timeo(self->a, SO_RCVTIMEO, 300));
	ts = afx_now_ms();
	EXPECT_EQ(-1, recv(self->a, &ch, 1, 0));
	EXPECT_EQ(EAGAIN, errno);
	t = (long)(afx_now_ms() - ts);
	EXPECT_LE(250, t);
	EXPECT_GT(5000, t);
	/* data within the timeout is returned */
	ASSERT_EQ(1, send(self->c, "r", 1, 0));
	EXPECT_EQ(1, recv(self->a, &ch, 1, 0));
	EXPECT_EQ('r', ch);
}

TEST_F(pair, blocking_recv_woken_by_send)
{
	char buf[16] = { 0 };
	struct afx_call op = { .kind = AFX_CALL_RECV, .buf = buf,
			       .len = sizeof(buf) };

	op.fd = self->a;
	ASSERT_EQ(0, afx_call_start(&op));
	ASSERT_EQ(0, afx_call_blocked(&op));
	EXPECT_FALSE(afx_call_done(&op, AFX_STILL_BLOCKED_MS));
	ASSERT_EQ(4, send(self->c, "wake", 4, 0));
	ASSERT_TRUE(afx_call_done(&op, AFX_DONE_WAIT_MS));
	afx_call_join(&op);
	EXPECT_EQ(4, op.ret);
	EXPECT_EQ(0, memcmp(buf, "wake", 4));
}

TEST_F(pair, so_rcvlowat_recv_waits_for_lowat_bytes)
{
	char buf[100] = { 0 };
	struct afx_call op = { .kind = AFX_CALL_RECV, .buf = buf,
			       .len = sizeof(buf) };
	int v;

	ASSERT_EQ(0, afx_set_int(self->a, SOL_SOCKET, SO_RCVLOWAT, 10));
	ASSERT_EQ(0, afx_get_int(self->a, SOL_SOCKET, SO_RCVLOWAT, &v));
	EXPECT_EQ(10, v);
	op.fd = self->a;
	ASSERT_EQ(0, afx_call_start(&op));
	ASSERT_EQ(0, afx_call_blocked(&op));
	ASSERT_EQ(5, send(self->c, "01234", 5, 0));
	EXPECT_FALSE(afx_call_done(&op, AFX_STILL_BLOCKED_MS))
		TH_LOG("recv returned with 5 < SO_RCVLOWAT bytes");
	ASSERT_EQ(5, send(self->c, "56789", 5, 0));
	ASSERT_TRUE(afx_call_done(&op, AFX_DONE_WAIT_MS));
	afx_call_join(&op);
	EXPECT_EQ(10, op.ret);
	EXPECT_EQ(0, memcmp(buf, "0123456789", 10));
}

TEST_F(pair, so_rcvlowat_poll)
{
	struct afx_call op = { .kind = AFX_CALL_POLL, .events = POLLIN,
			       .timeout_ms = 10000 };
	char buf[16];

	ASSERT_EQ(0, afx_set_int(self->a, SOL_SOCKET, SO_RCVLOWAT, 10));
	ASSERT_EQ(5, send(self->c, "01234", 5, 0));
	EXPECT_EQ(0, afx_poll(self->a, POLLIN, 50));
	/* a poll waiter is woken only once the low-water mark is reached */
	op.fd = self->a;
	ASSERT_EQ(0, afx_call_start(&op));
	ASSERT_EQ(0, afx_call_blocked(&op));
	ASSERT_EQ(4, send(self->c, "5678", 4, 0));
	EXPECT_FALSE(afx_call_done(&op, AFX_STILL_BLOCKED_MS));
	ASSERT_EQ(1, send(self->c, "9", 1, 0));
	ASSERT_TRUE(afx_call_done(&op, AFX_DONE_WAIT_MS));
	afx_call_join(&op);
	EXPECT_EQ(1, op.ret);
	EXPECT_EQ(POLLIN, op.revents);
	/* lowering the mark below what is queued gives POLLIN at once */
	ASSERT_EQ(10, recv(self->a, buf, 10, 0));
	ASSERT_EQ(3, send(self->c, "abc", 3, 0));
	EXPECT_EQ(0, afx_poll(self->a, POLLIN, 50));
	ASSERT_EQ(0, afx_set_int(self->a, SOL_SOCKET, SO_RCVLOWAT, 3));
	EXPECT_EQ(POLLIN, afx_poll(self->a, POLLIN, 0));
}

TEST_F(pair, so_rcvlowat_eof_gives_pollin_and_short_read)
{
	char buf[16];

	ASSERT_EQ(0, afx_set_int(self->a, SOL_SOCKET, SO_RCVLOWAT, 10));
	ASSERT_EQ(3, send(self->c, "abc", 3, 0));
	ASSERT_EQ(0, shutdown(self->c, SHUT_WR));
	EXPECT_EQ(POLLIN, afx_poll(self->a, POLLIN, AFX_DONE_WAIT_MS));
	EXPECT_EQ(3, recv(self->a, buf, sizeof(buf), 0));
	EXPECT_EQ(0, recv(self->a, buf, sizeof(buf), 0));
}

TEST_F(pair, fionread_siocinq_siocoutq)
{
	char buf[100];
	int v;

	ASSERT_EQ(0, afx_ioctl_int(self->a, FIONREAD, &v));
	EXPECT_EQ(0, v);
	ASSERT_EQ(0, afx_ioctl_int(self->c, SIOCOUTQ, &v));
	EXPECT_EQ(0, v);
	memset(buf, 'i', sizeof(buf));
	ASSERT_EQ(100, send(self->c, buf, 100, 0));
	ASSERT_EQ(50, send(self->c, buf, 50, 0));
	ASSERT_EQ(0, afx_ioctl_int(self->a, FIONREAD, &v));
	EXPECT_EQ(150, v);
	ASSERT_EQ(0, afx_ioctl_int(self->a, SIOCINQ, &v));
	EXPECT_EQ(150, v);
	ASSERT_EQ(0, afx_ioctl_int(self->c, SIOCOUTQ, &v));
	EXPECT_EQ(150, v);
	/* sender side has nothing to read; receiver nothing outstanding */
	ASSERT_EQ(0, afx_ioctl_int(self->c, FIONREAD, &v));
	EXPECT_EQ(0, v);
	ASSERT_EQ(0, afx_ioctl_int(self->a, SIOCOUTQ, &v));
	EXPECT_EQ(0, v);
	ASSERT_EQ(40, recv(self->a, buf, 40, 0));
	ASSERT_EQ(0, afx_ioctl_int(self->a, FIONREAD, &v));
	EXPECT_EQ(110, v);
	ASSERT_EQ(0, afx_ioctl_int(self->c, SIOCOUTQ, &v));
	EXPECT_EQ(110, v);
	ASSERT_EQ(100, recv(self->a, buf, 100, 0));
	ASSERT_EQ(10, recv(self->a, buf, 100, 0));
	ASSERT_EQ(0, afx_ioctl_int(self->a, FIONREAD, &v));
	EXPECT_EQ(0, v);
	ASSERT_EQ(0, afx_ioctl_int(self->c, SIOCOUTQ, &v));
	EXPECT_EQ(0, v);
	/* listener: EINVAL */
	EXPECT_EQ(-1, afx_ioctl_int(self->l, FIONREAD, &v));
	EXPECT_EQ(EINVAL, errno);
	/* an ioctl the family does not know */
	EXPECT_EQ(-1, ioctl(self->a, TCGETS, buf));
	EXPECT_EQ(ENOTTY, errno);
}

/* ------------------------------------------------------------------ */
/* shutdown and close                                                 */

AFX_TEST_MAIN
