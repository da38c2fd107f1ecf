// SPDX-License-Identifier: GPL-2.0
/*
 * afx_stream_poll_test.c - poll() and epoll on stream sockets:
 * listeners, connected pairs, wakeups, EPOLLET edges.
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

TEST(poll_unconnected_stream_socket_pollout_pollhup)
{
	int u;

	afx_watchdog(WATCHDOG_SEC);
	u = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, u);
	EXPECT_EQ(POLLOUT | POLLHUP, afx_poll(u, AFX_POLL_ALL, 0));
	ASSERT_EQ(0, afx_bind(u, AFX_ADDR_ANY, 0));
	EXPECT_EQ(POLLOUT | POLLHUP, afx_poll(u, AFX_POLL_ALL, 0));
	close(u);
}

TEST(poll_listener_pollin_only_when_accept_would_not_block)
{
	uint32_t port;
	int l, c, a;

	afx_watchdog(WATCHDOG_SEC);
	l = afx_listener(SOCK_STREAM, 4, &port);
	ASSERT_LE(0, l);
	EXPECT_EQ(0, afx_poll(l, AFX_POLL_ALL, 0));
	c = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, c);
	ASSERT_EQ(0, afx_connect_port(c, port));
	EXPECT_EQ(POLLIN, afx_poll(l, AFX_POLL_ALL, 0));
	a = accept(l, NULL, NULL);
	ASSERT_LE(0, a);
	EXPECT_EQ(0, afx_poll(l, AFX_POLL_ALL, 0));
	close(a);
	close(c);
	close(l);
}

TEST(poll_listener_waiter_woken_by_connect)
{
	struct afx_call op = { .kind = AFX_CALL_POLL, .events = POLLIN,
			       .timeout_ms = 10000 };
	uint32_t port;
	int l, c;

	afx_watchdog(WATCHDOG_SEC);
	l = afx_listener(SOCK_STREAM, 4, &port);
	ASSERT_LE(0, l);
	op.fd = l;
	ASSERT_EQ(0, afx_call_start(&op));
	ASSERT_EQ(0, afx_call_blocked(&op));
	c = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, c);
	ASSERT_EQ(0, afx_connect_port(c, port));
	ASSERT_TRUE(afx_call_done(&op, AFX_DONE_WAIT_MS));
	afx_call_join(&op);
	EXPECT_EQ(1, op.ret);
	EXPECT_EQ(POLLIN, op.revents);
	close(c);
	close(l);
}

/* EPOLLET on a listener: an edge for every connection queued later. */
TEST(epollet_listener_gets_edge_for_every_connect)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET };
	struct epoll_event out[2];
	int l, ep, i, a, c[10];
	uint32_t port;

	afx_watchdog(WATCHDOG_SEC);
	l = afx_listener(SOCK_STREAM | SOCK_NONBLOCK, 16, &port);
	ASSERT_LE(0, l);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev));
	EXPECT_EQ(0, epoll_wait(ep, out, 2, 0));
	for (i = 0; i < 10; i++) {
		c[i] = afx_socket(SOCK_STREAM);
		ASSERT_LE(0, c[i]);
		ASSERT_EQ(0, afx_connect_port(c[i], port));
		ASSERT_EQ(1, epoll_wait(ep, out, 2, AFX_DONE_WAIT_MS))
			TH_LOG("no EPOLLIN edge for connection %d", i);
		EXPECT_EQ((uint32_t)EPOLLIN, out[0].events);
		/* drain to EAGAIN, as an edge-triggered server does */
		a = accept(l, NULL, NULL);
		ASSERT_LE(0, a);
		close(a);
		EXPECT_EQ(-1, accept(l, NULL, NULL));
		EXPECT_EQ(EAGAIN, errno);
	}
	for (i = 0; i < 10; i++)
		close(c[i]);
	close(ep);
	close(l);
}

TEST_F(pair, poll_connected_pollout_then_pollin)
{
	char ch;

	EXPECT_EQ(POLLOUT, afx_poll(self->c, AFX_POLL_ALL, 0));
	EXPECT_EQ(POLLOUT, afx_poll(self->a, AFX_POLL_ALL, 0));
	ASSERT_EQ(1, send(self->c, "p", 1, 0));
	EXPECT_EQ(POLLIN | POLLOUT, afx_poll(self->a, AFX_POLL_ALL, AFX_DONE_WAIT_MS));
	EXPECT_EQ(POLLOUT, afx_poll(self->c, AFX_POLL_ALL, 0));
	ASSERT_EQ(1, recv(self->a, &ch, 1, 0));
	EXPECT_EQ(POLLOUT, afx_poll(self->a, AFX_POLL_ALL, 0));
}

TEST_F(pair, poll_waiter_woken_by_data)
{
	struct afx_call op = { .kind = AFX_CALL_POLL, .events = POLLIN,
			       .timeout_ms = 10000 };

	op.fd = self->a;
	ASSERT_EQ(0, afx_call_start(&op));
	ASSERT_EQ(0, afx_call_blocked(&op));
	EXPECT_FALSE(afx_call_done(&op, AFX_STILL_BLOCKED_MS));
	ASSERT_EQ(1, send(self->c, "w", 1, 0));
	ASSERT_TRUE(afx_call_done(&op, AFX_DONE_WAIT_MS));
	afx_call_join(&op);
	EXPECT_EQ(1, op.ret);
	EXPECT_EQ(POLLIN, op.revents);
}

TEST_F(pair, poll_pollout_waiter_woken_when_peer_reads)
{
	struct afx_call op = { .kind = AFX_CALL_POLL, .events = POLLOUT,
			       .timeout_ms = 10000 };

	ASSERT_LT(0, afx_fill(self->c, 65536));
	EXPECT_EQ(0, afx_poll(self->c, POLLOUT, 0));
	op.fd = self->c;
	ASSERT_EQ(0, afx_call_start(&op));
	ASSERT_EQ(0, afx_call_blocked(&op));
	EXPECT_FALSE(afx_call_done(&op, AFX_STILL_BLOCKED_MS));
	ASSERT_LT(0, afx_drain(self->a));
	ASSERT_TRUE(afx_call_done(&op, AFX_DONE_WAIT_MS))
		TH_LOG("POLLOUT waiter not woken by the reader");
	afx_call_join(&op);
	EXPECT_EQ(1, op.ret);
	EXPECT_EQ(POLLOUT, op.revents);
}

TEST_F(pair, poll_pollrdhup_waiter_woken_by_shut_wr)
{
	struct afx_call op = { .kind = AFX_CALL_POLL, .events = POLLRDHUP,
			       .timeout_ms = 10000 };

	op.fd = self->a;
	ASSERT_EQ(0, afx_call_start(&op));
	ASSERT_EQ(0, afx_call_blocked(&op));
	ASSERT_EQ(0, shutdown(self->c, SHUT_WR));
	ASSERT_TRUE(afx_call_done(&op, AFX_DONE_WAIT_MS));
	afx_call_join(&op);
	EXPECT_EQ(1, op.ret);
	EXPECT_EQ(POLLRDHUP, op.revents & POLLRDHUP);
	EXPECT_EQ(0, op.revents & POLLHUP);
}

TEST_F(pair, poll_pollhup_waiter_woken_by_peer_close)
{
	struct afx_call op = { .kind = AFX_CALL_POLL, .events = 0,
			       .timeout_ms = 10000 };

	op.fd = self->a;
	ASSERT_EQ(0, afx_call_start(&op));
	ASSERT_EQ(0, afx_call_blocked(&op));
	close(self->c);
	self->c = -1;
	ASSERT_TRUE(afx_call_done(&op, AFX_DONE_WAIT_MS));
	afx_call_join(&op);
	EXPECT_EQ(1, op.ret);
	EXPECT_EQ(POLLHUP, op.revents & (POLLHUP | POLLERR));
}

/* EPOLLET: a reader that drains to EAGAIN gets an event per later write. */
TEST_F(pair, epollet_reader_gets_event_for_every_write)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | EPOLLET };
	struct epoll_event out[4];
	int ep, i, n;
	long got;

	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->a, &ev));
	EXPECT_EQ(0, epoll_wait(ep, out, 4, 0));
	for (i = 1; i <= 50; i++) {
		ASSERT_EQ(i, send(self->c, (char[64]){ 0 }, i, 0));
		n = epoll_wait(ep, out, 4, AFX_DONE_WAIT_MS);
		ASSERT_EQ(1, n) TH_LOG("no EPOLLIN edge for write %d", i);
		EXPECT_EQ((uint32_t)(EPOLLIN), out[0].events);
		got = afx_drain(self->a);
		EXPECT_EQ(i, got);
	}
	/* the EOF edge too */
	ASSERT_EQ(0, shutdown(self->c, SHUT_WR));
	n = epoll_wait(ep, out, 4, AFX_DONE_WAIT_MS);
	ASSERT_EQ(1, n);
	EXPECT_EQ((uint32_t)(EPOLLIN | EPOLLRDHUP), out[0].events & (EPOLLIN | EPOLLRDHUP));
	close(ep);
}

struct et_writer {
	int fd;
	int n;
	int ack;	/* pipe read end: reader got byte i */
	int fail;
};

static void *et_writer_fn(void *arg)
{
	struct et_writer *w = arg;
	struct timespec ts = { 0, 0 };
	char ch;
	int i;

	for (i = 0; i < w->n; i++) {
		/* vary the timing a little around the reader's epoll_wait */
		ts.tv_nsec = (i % 7) * 20000;
		if (ts.tv_nsec)
			nanosleep(&ts, NULL);
		if (send(w->fd, "e", 1, MSG_NOSIGNAL) != 1 ||
		    afx_wait_event(w->ack, POLLIN, AFX_DONE_WAIT_MS) != 1 ||
		    read(w->ack, &ch, 1) != 1) {
			w->fail = i + 1;
			break;
		}
	}
	return NULL;
}

/* Concurrent writer: an ET reader waiting in epoll_wait never misses one. */
TEST_F_TIMEOUT(pair, epollet_no_lost_wakeup_with_concurrent_writer, 120)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET };
	struct epoll_event out[2];
	struct et_writer w = { .n = 1000 };
	int ep, ack[2], n;
	long total = 0, got;
	pthread_t th;

	/* Each round is a few context switches: slow under TCG on a busy host. */
	afx_watchdog(110);
	ASSERT_EQ(0, pipe(ack));
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->a, &ev));
	w.fd = self->c;
	w.ack = ack[0];
	ASSERT_EQ(0, pthread_create(&th, NULL, et_writer_fn, &w));
	while (total < w.n) {
		n = epoll_wait(ep, out, 2, 2000);
		if (n != 1)
			break;
		got = afx_drain(self->a);
		if (got < 0)
			break;
		total += got;
		while (got-- > 0)
			ASSERT_EQ(1, write(ack[1], "a", 1));
	}
	EXPECT_EQ(w.n, total) TH_LOG("lost wakeup after %ld bytes", total);
	close(ack[1]);	/* unblock the writer if stuck */
	pthread_join(th, NULL);
	EXPECT_EQ(0, w.fail);
	close(ack[0]);
	close(ep);
}

/* EPOLLET writer that filled the buffer gets EPOLLOUT after the peer reads. */
TEST_F(pair, epollet_writer_gets_epollout_after_peer_reads)
{
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLET };
	struct epoll_event out[2];
	int ep, round, n;

	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->c, &ev));
	ASSERT_EQ(1, epoll_wait(ep, out, 2, AFX_DONE_WAIT_MS));
	EXPECT_EQ((uint32_t)(EPOLLOUT), out[0].events);
	for (round = 0; round < 10; round++) {
		ASSERT_LT(0, afx_fill(self->c, 65536));
		/* consume any edge the fill itself may have produced */
		epoll_wait(ep, out, 2, 0);
		EXPECT_EQ(0, afx_poll(self->c, POLLOUT, 0));
		ASSERT_LT(0, afx_drain(self->a));
		n = epoll_wait(ep, out, 2, AFX_DONE_WAIT_MS);
		ASSERT_EQ(1, n) TH_LOG("no EPOLLOUT edge in round %d", round);
		EXPECT_EQ((uint32_t)(EPOLLOUT), out[0].events);
	}
	close(ep);
}

/* EPOLLET writer blocked in epoll_wait is woken by a concurrent reader. */
TEST_F(pair, epollet_writer_waiting_is_woken_by_reader_thread)
{
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLET };
	struct epoll_event out[2];
	char buf[65536];
	int ep;
	struct afx_call op = { .kind = AFX_CALL_RECV, .buf = buf,
			       .len = sizeof(buf) };

	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->c, &ev));
	ASSERT_EQ(1, epoll_wait(ep, out, 2, AFX_DONE_WAIT_MS));
	ASSERT_LT(0, afx_fill(self->c, 65536));
	epoll_wait(ep, out, 2, 0);
	EXPECT_EQ(0, afx_poll(self->c, POLLOUT, 0));
	/* the reader thread reads, possibly while we wait */
	op.fd = self->a;
	ASSERT_EQ(0, afx_call_start(&op));
	EXPECT_EQ(1, epoll_wait(ep, out, 2, AFX_DONE_WAIT_MS));
	ASSERT_TRUE(afx_call_done(&op, AFX_DONE_WAIT_MS));
	afx_call_join(&op);
	EXPECT_LT(0, op.ret);
	close(ep);
}

TEST_F(pair, epoll_peer_close_reports_in_rdhup_hup_not_err)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
	struct epoll_event out[2];
	int ep;

	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->a, &ev));
	EXPECT_EQ(0, epoll_wait(ep, out, 2, 0));
	close(self->c);
	self->c = -1;
	ASSERT_EQ(1, epoll_wait(ep, out, 2, AFX_DONE_WAIT_MS));
	EXPECT_EQ((uint32_t)(EPOLLIN | EPOLLRDHUP | EPOLLHUP),
		  out[0].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR));
	close(ep);
}

/* ------------------------------------------------------------------ */
/* SO_PEERCRED                                                        */

AFX_TEST_MAIN
