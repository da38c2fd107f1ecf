// SPDX-License-Identifier: GPL-2.0
/*
 * afx_stream_shutdown_test.c - shutdown() and close() of a stream
 * pair: EOF, EPIPE and SIGPIPE, ECONNRESET, woken blocked readers and writers.
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

TEST_F(pair, shutdown_invalid_how_einval)
{
	EXPECT_EQ(-1, shutdown(self->c, 3));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, shutdown(self->c, -1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, shutdown(self->a, 42));
	EXPECT_EQ(EINVAL, errno);
	/* nothing happened */
	EXPECT_EQ(POLLOUT, afx_poll(self->c, AFX_POLL_ALL, 0));
	ASSERT_EQ(1, send(self->c, "k", 1, 0));
}

TEST(shutdown_not_connected_enotconn)
{
	int u;

	afx_watchdog(WATCHDOG_SEC);
	u = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, u);
	EXPECT_EQ(-1, shutdown(u, SHUT_RD));
	EXPECT_EQ(ENOTCONN, errno);
	EXPECT_EQ(-1, shutdown(u, SHUT_WR));
	EXPECT_EQ(ENOTCONN, errno);
	EXPECT_EQ(-1, shutdown(u, SHUT_RDWR));
	EXPECT_EQ(ENOTCONN, errno);
	ASSERT_EQ(0, afx_bind(u, AFX_ADDR_ANY, 0));
	EXPECT_EQ(-1, shutdown(u, SHUT_RDWR));
	EXPECT_EQ(ENOTCONN, errno);
	close(u);
}

TEST_F(pair, shut_wr_peer_drains_then_eof_and_sees_pollrdhup)
{
	char buf[16];
	int r;

	ASSERT_EQ(0, afx_catch_signal(SIGPIPE, 0));
	ASSERT_EQ(4, send(self->c, "last", 4, 0));
	ASSERT_EQ(0, shutdown(self->c, SHUT_WR));
	r = afx_poll(self->a, AFX_POLL_ALL, AFX_DONE_WAIT_MS);
	EXPECT_EQ(POLLIN | POLLRDHUP, r & (POLLIN | POLLRDHUP));
	EXPECT_EQ(0, r & (POLLHUP | POLLERR));
	EXPECT_EQ(POLLOUT, r & POLLOUT);
	ASSERT_EQ(4, recv(self->a, buf, sizeof(buf), 0));
	EXPECT_EQ(0, memcmp(buf, "last", 4));
	EXPECT_EQ(0, recv(self->a, buf, sizeof(buf), 0));
	EXPECT_EQ(0, recv(self->a, buf, sizeof(buf), 0));
	/* still POLLIN|POLLRDHUP after the drain (EOF is readable) */
	r = afx_poll(self->a, POLLIN | POLLRDHUP, 0);
	EXPECT_EQ(POLLIN | POLLRDHUP, r);
	/* own send: EPIPE + SIGPIPE */
	EXPECT_EQ(-1, send(self->c, "x", 1, 0));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(1, afx_sig_hits[SIGPIPE]);
	/* the other direction still works */
	ASSERT_EQ(4, send(self->a, "back", 4, 0));
	ASSERT_EQ(4, recv(self->c, buf, sizeof(buf), 0));
	EXPECT_EQ(0, memcmp(buf, "back", 4));
}

TEST_F(pair, shut_wr_wakes_blocked_reader_with_eof)
{
	char buf[16];
	struct afx_call op = { .kind = AFX_CALL_RECV, .buf = buf,
			       .len = sizeof(buf) };

	op.fd = self->a;
	ASSERT_EQ(0, afx_call_start(&op));
	ASSERT_EQ(0, afx_call_blocked(&op));
	ASSERT_EQ(0, shutdown(self->c, SHUT_WR));
	ASSERT_TRUE(afx_call_done(&op, AFX_DONE_WAIT_MS));
	afx_call_join(&op);
	EXPECT_EQ(0, op.ret);
}

TEST_F(pair, shut_rd_own_reads_return_queued_then_eof_peer_gets_epipe)
{
	char buf[16];

	ASSERT_EQ(0, afx_catch_signal(SIGPIPE, 0));
	ASSERT_EQ(3, send(self->c, "abc", 3, 0));
	ASSERT_EQ(0, shutdown(self->a, SHUT_RD));
	ASSERT_EQ(3, recv(self->a, buf, sizeof(buf), 0));
	EXPECT_EQ(0, memcmp(buf, "abc", 3));
	/* no blocking: EOF */
	EXPECT_EQ(0, recv(self->a, buf, sizeof(buf), 0));
	EXPECT_EQ(POLLIN, afx_poll(self->a, POLLIN, 0));
	/* peer's sends fail */
	EXPECT_EQ(-1, send(self->c, "x", 1, 0));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(1, afx_sig_hits[SIGPIPE]);
	/* we can still send to the peer */
	ASSERT_EQ(2, send(self->a, "ok", 2, 0));
	ASSERT_EQ(2, recv(self->c, buf, sizeof(buf), 0));
}

TEST_F(pair, shut_rd_wakes_blocked_writer_with_epipe)
{
	static char big[1 << 20];
	struct afx_call op = { .kind = AFX_CALL_SEND, .buf = big, .len = 1,
			       .flags = MSG_NOSIGNAL };

	ASSERT_LT(0, afx_fill(self->c, 65536));
	op.fd = self->c;
	ASSERT_EQ(0, afx_call_start(&op));
	ASSERT_EQ(0, afx_call_blocked(&op));
	ASSERT_EQ(0, shutdown(self->a, SHUT_RD));
	ASSERT_TRUE(afx_call_done(&op, AFX_DONE_WAIT_MS))
		TH_LOG("blocked send not woken by the peer's SHUT_RD");
	afx_call_join(&op);
	EXPECT_EQ(-1, op.ret);
	EXPECT_EQ(EPIPE, op.err);
}

TEST_F(pair, shut_rdwr_seen_by_peer)
{
	char buf[8];
	int r;

	ASSERT_EQ(0, afx_catch_signal(SIGPIPE, 0));
	ASSERT_EQ(2, send(self->c, "hi", 2, 0));
	ASSERT_EQ(0, shutdown(self->c, SHUT_RDWR));
	/* own side: both directions shut */
	r = afx_poll(self->c, AFX_POLL_ALL, 0);
	EXPECT_EQ(POLLHUP, r & POLLHUP);
	EXPECT_EQ(-1, send(self->c, "x", 1, 0));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(1, afx_sig_hits[SIGPIPE]);
	EXPECT_EQ(0, recv(self->c, buf, sizeof(buf), 0));
	/* peer: reads drain then EOF, writes EPIPE, both directions shut */
	r = afx_poll(self->a, AFX_POLL_ALL, AFX_DONE_WAIT_MS);
	EXPECT_EQ(POLLIN | POLLRDHUP | POLLHUP,
		  r & (POLLIN | POLLRDHUP | POLLHUP));
	ASSERT_EQ(2, recv(self->a, buf, sizeof(buf), 0));
	EXPECT_EQ(0, recv(self->a, buf, sizeof(buf), 0));
	EXPECT_EQ(-1, send(self->a, "x", 1, 0));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(2, afx_sig_hits[SIGPIPE]);
}

TEST_F(pair, peer_close_reader_drains_then_eof)
{
	char buf[16];
	int r;

	ASSERT_EQ(5, send(self->c, "bye!!", 5, 0));
	close(self->c);
	self->c = -1;
	r = afx_poll(self->a, AFX_POLL_ALL, AFX_DONE_WAIT_MS);
	EXPECT_EQ(POLLIN | POLLRDHUP | POLLHUP,
		  r & (POLLIN | POLLRDHUP | POLLHUP));
	EXPECT_EQ(0, r & POLLERR);
	ASSERT_EQ(5, recv(self->a, buf, sizeof(buf), 0));
	EXPECT_EQ(0, memcmp(buf, "bye!!", 5));
	EXPECT_EQ(0, recv(self->a, buf, sizeof(buf), 0));
	EXPECT_EQ(0, recv(self->a, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(0, afx_so_error(self->a));
}

TEST_F(pair, peer_close_wakes_blocked_reader)
{
	char buf[16];
	struct afx_call op = { .kind = AFX_CALL_RECV, .buf = buf,
			       .len = sizeof(buf) };

	op.fd = self->a;
	ASSERT_EQ(0, afx_call_start(&op));
	ASSERT_EQ(0, afx_call_blocked(&op));
	close(self->c);
	self->c = -1;
	ASSERT_TRUE(afx_call_done(&op, AFX_DONE_WAIT_MS));
	afx_call_join(&op);
	EXPECT_EQ(0, op.ret);
}

TEST_F(pair, send_after_peer_close_epipe_and_sigpipe_delivered)
{
	ASSERT_EQ(0, afx_catch_signal(SIGPIPE, 0));
	close(self->a);
	self->a = -1;
	EXPECT_EQ(-1, send(self->c, "x", 1, 0));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(1, afx_sig_hits[SIGPIPE]);
	EXPECT_EQ(-1, write(self->c, "x", 1));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(2, afx_sig_hits[SIGPIPE]);
}

TEST_F(pair, msg_nosignal_epipe_without_sigpipe)
{
	ASSERT_EQ(0, afx_catch_signal(SIGPIPE, 0));
	close(self->a);
	self->a = -1;
	EXPECT_EQ(-1, send(self->c, "x", 1, MSG_NOSIGNAL));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(0, afx_sig_hits[SIGPIPE]);
	/* after own SHUT_WR too */
	close(self->c);
	self->c = -1;
	ASSERT_EQ(0, afx_stream_pair_ex(0, NULL, &self->c, &self->a));
	ASSERT_EQ(0, shutdown(self->c, SHUT_WR));
	EXPECT_EQ(-1, send(self->c, "x", 1, MSG_NOSIGNAL));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(0, afx_sig_hits[SIGPIPE]);
}

TEST_F_SIGNAL(pair, sigpipe_default_action_kills, SIGPIPE)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };

	sigaction(SIGPIPE, &sa, NULL);
	close(self->a);
	self->a = -1;
	send(self->c, "x", 1, 0);
	/* not reached when SIGPIPE is sent */
}

TEST_F(pair, peer_close_wakes_blocked_writer_with_epipe)
{
	static char big[16];
	struct afx_call op = { .kind = AFX_CALL_SEND, .buf = big, .len = 1 };

	ASSERT_EQ(0, afx_catch_signal(SIGPIPE, 0));
	ASSERT_LT(0, afx_fill(self->c, 65536));
	op.fd = self->c;
	ASSERT_EQ(0, afx_call_start(&op));
	ASSERT_EQ(0, afx_call_blocked(&op));
	close(self->a);
	self->a = -1;
	ASSERT_TRUE(afx_call_done(&op, AFX_DONE_WAIT_MS))
		TH_LOG("blocked send not woken by the peer's close");
	afx_call_join(&op);
	EXPECT_EQ(-1, op.ret);
	EXPECT_EQ(EPIPE, op.err);
	EXPECT_EQ(1, afx_sig_hits[SIGPIPE]);
}

TEST_F(pair, close_with_unread_data_gives_peer_econnreset_once)
{
	char buf[16];

	/* a has unread data from c; a has also sent "data" to c */
	ASSERT_EQ(5, send(self->c, "xxxxx", 5, 0));
	ASSERT_EQ(4, send(self->a, "data", 4, 0));
	ASSERT_EQ(POLLIN, afx_poll(self->a, POLLIN, AFX_DONE_WAIT_MS));
	close(self->a);
	self->a = -1;
	/* data already queued to c comes first */
	ASSERT_EQ(4, recv(self->c, buf, sizeof(buf), 0));
	EXPECT_EQ(0, memcmp(buf, "data", 4));
	EXPECT_EQ(-1, recv(self->c, buf, sizeof(buf), 0));
	EXPECT_EQ(ECONNRESET, errno);
	/* reported once */
	EXPECT_EQ(0, recv(self->c, buf, sizeof(buf), 0));
	EXPECT_EQ(0, recv(self->c, buf, sizeof(buf), 0));
}

TEST_F(pair, close_with_unread_data_wakes_blocked_reader_econnreset)
{
	char buf[16];
	struct afx_call op = { .kind = AFX_CALL_RECV, .buf = buf,
			       .len = sizeof(buf) };

	ASSERT_EQ(3, send(self->c, "zzz", 3, 0));
	ASSERT_EQ(POLLIN, afx_poll(self->a, POLLIN, AFX_DONE_WAIT_MS));
	op.fd = self->c;
	ASSERT_EQ(0, afx_call_start(&op));
	ASSERT_EQ(0, afx_call_blocked(&op));
	close(self->a);
	self->a = -1;
	ASSERT_TRUE(afx_call_done(&op, AFX_DONE_WAIT_MS));
	afx_call_join(&op);
	EXPECT_EQ(-1, op.ret);
	EXPECT_EQ(ECONNRESET, op.err);
	EXPECT_EQ(0, recv(self->c, buf, sizeof(buf), 0));
}

TEST_F(pair, close_without_unread_data_is_plain_eof)
{
	char buf[16];

	ASSERT_EQ(2, send(self->c, "ab", 2, 0));
	ASSERT_EQ(2, recv(self->a, buf, sizeof(buf), 0));
	close(self->a);
	self->a = -1;
	EXPECT_EQ(0, recv(self->c, buf, sizeof(buf), 0));
}

/* ------------------------------------------------------------------ */
/* poll / epoll                                                       */

AFX_TEST_MAIN
