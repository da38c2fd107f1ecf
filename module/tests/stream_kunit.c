// SPDX-License-Identifier: GPL-2.0
/*
 * afx: KUnit suite for stream.c, the stream sockets:
 * buffer accounting, wakeups, poll, the accept and pending queues.
 */

#include <kunit/test.h>
#include <linux/net.h>
#include <linux/poll.h>
#include <linux/skbuff.h>
#include <linux/wait.h>
#include <net/sock.h>

#include "afx_kunit.h"

/* ---- afx_stream: buffer accounting and wakeups --------------------------------- */

static void stream_limit(struct kunit *test)
{
	struct socket *c, *s;

	kt_pair(test, &c, &s);
	WRITE_ONCE(c->sk->sk_sndbuf, 10000);
	WRITE_ONCE(s->sk->sk_rcvbuf, 6000);
	KUNIT_EXPECT_EQ(test, afx_stream_limit(c->sk, s->sk), 6000U);
	KUNIT_EXPECT_EQ(test, afx_stream_room(c->sk, s->sk), 6000U);
	WRITE_ONCE(c->sk->sk_sndbuf, 5000);
	KUNIT_EXPECT_EQ(test, afx_stream_limit(c->sk, s->sk), 5000U);
	/* The other direction uses the other two values. */
	WRITE_ONCE(s->sk->sk_sndbuf, 7000);
	WRITE_ONCE(c->sk->sk_rcvbuf, 8000);
	KUNIT_EXPECT_EQ(test, afx_stream_limit(s->sk, c->sk), 7000U);
	/* No setting takes a buffer past its capacity. */
	WRITE_ONCE(c->sk->sk_sndbuf, INT_MAX);
	WRITE_ONCE(s->sk->sk_rcvbuf, INT_MAX);
	KUNIT_EXPECT_EQ(test, afx_stream_room(c->sk, s->sk), AFX_SBUF_CAP);
}

static void stream_accounting(struct kunit *test)
{
	static const char data[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	struct socket *c, *s;
	struct afx_sock *sax;
	char buf[64];

	kt_pair(test, &c, &s);
	sax = afx_sk(s->sk);
	WRITE_ONCE(s->sk->sk_rcvbuf, 1000);
	KUNIT_ASSERT_EQ(test, kt_send(c, data, 10), 10);
	KUNIT_ASSERT_EQ(test, kt_send(c, data + 10, 26), 26);
	/* Payload bytes are counted, nothing else. */
	KUNIT_EXPECT_EQ(test, afx_sbuf_readable(&sax->rx), 36U);
	KUNIT_EXPECT_EQ(test, afx_stream_room(c->sk, s->sk), 1000U - 36);
	/* Neither end is charged socket memory for it. */
	KUNIT_EXPECT_EQ(test, atomic_read(&s->sk->sk_rmem_alloc), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&c->sk->sk_rmem_alloc), 0);

	/* A part of what both sends wrote, then the rest. */
	KUNIT_ASSERT_EQ(test, kt_recv(s, buf, 15, 0), 15);
	KUNIT_EXPECT_EQ(test, memcmp(buf, data, 15), 0);
	KUNIT_EXPECT_EQ(test, afx_sbuf_readable(&sax->rx), 21U);
	KUNIT_ASSERT_EQ(test, kt_recv(s, buf, sizeof(buf), 0), 21);
	KUNIT_EXPECT_EQ(test, memcmp(buf, data + 15, 21), 0);
	KUNIT_EXPECT_EQ(test, afx_sbuf_readable(&sax->rx), 0U);
	KUNIT_EXPECT_EQ(test, afx_stream_room(c->sk, s->sk), 1000U);
	KUNIT_EXPECT_EQ(test, kt_recv(s, buf, sizeof(buf), 0), -EAGAIN);
}

static void stream_partial_reads(struct kunit *test)
{
	struct socket *c, *s;
	char buf[8];
	int i;

	kt_pair(test, &c, &s);
	KUNIT_ASSERT_EQ(test, kt_send(c, "abcdefgh", 8), 8);
	for (i = 0; i < 8; i++) {
		KUNIT_ASSERT_EQ(test, kt_recv(s, buf, 1, 0), 1);
		KUNIT_EXPECT_EQ(test, buf[0], "abcdefgh"[i]);
		KUNIT_EXPECT_EQ(test, afx_sbuf_readable(&afx_sk(s->sk)->rx),
				7U - i);
	}
	KUNIT_EXPECT_EQ(test, kt_recv(s, buf, 1, 0), -EAGAIN);
}

static void stream_peek(struct kunit *test)
{
	struct socket *c, *s;
	char buf[16];

	kt_pair(test, &c, &s);
	KUNIT_ASSERT_EQ(test, kt_send(c, "hello", 5), 5);
	KUNIT_ASSERT_EQ(test, kt_send(c, "world", 5), 5);
	KUNIT_EXPECT_EQ(test, kt_recv(s, buf, sizeof(buf), MSG_PEEK), 10);
	KUNIT_EXPECT_EQ(test, memcmp(buf, "helloworld", 10), 0);
	KUNIT_EXPECT_EQ(test, afx_sbuf_readable(&afx_sk(s->sk)->rx), 10U);
	KUNIT_EXPECT_EQ(test, kt_recv(s, buf, 3, 0), 3);
	KUNIT_EXPECT_EQ(test, kt_recv(s, buf, sizeof(buf), MSG_PEEK), 7);
	KUNIT_EXPECT_EQ(test, memcmp(buf, "loworld", 7), 0);
	KUNIT_EXPECT_EQ(test, kt_recv(s, buf, sizeof(buf), 0), 7);
	KUNIT_EXPECT_EQ(test, afx_sbuf_readable(&afx_sk(s->sk)->rx), 0U);
}

static void stream_full_then_room(struct kunit *test)
{
	struct socket *c, *s;
	char *big;
	int n, got = 0, r;

	big = kunit_kzalloc(test, 65536, GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, big);
	kt_pair(test, &c, &s);
	WRITE_ONCE(s->sk->sk_rcvbuf, 4096);

	KUNIT_EXPECT_EQ(test, afx_stream_room(c->sk, s->sk), 4096U);
	n = kt_send(c, big, 65536);
	KUNIT_EXPECT_EQ(test, n, 4096);
	KUNIT_EXPECT_EQ(test, afx_stream_room(c->sk, s->sk), 0U);
	KUNIT_EXPECT_FALSE(test, afx_stream_can_write(c->sk));
	KUNIT_EXPECT_FALSE(test, kt_poll(c) & EPOLLOUT);
	KUNIT_EXPECT_EQ(test, kt_send(c, big, 1), -EAGAIN);

	while ((r = kt_recv(s, big, 65536, 0)) > 0)
		got += r;
	KUNIT_EXPECT_EQ(test, got, n);
	KUNIT_EXPECT_EQ(test, afx_stream_room(c->sk, s->sk), 4096U);
	KUNIT_EXPECT_TRUE(test, afx_stream_can_write(c->sk));
	KUNIT_EXPECT_TRUE(test, kt_poll(c) & EPOLLOUT);
	KUNIT_EXPECT_EQ(test, kt_send(c, big, 1), 1);
}

static void stream_can_read(struct kunit *test)
{
	struct socket *c, *s, *c2, *s2;
	char buf[1];

	kt_pair(test, &c, &s);
	KUNIT_EXPECT_FALSE(test, afx_stream_can_read(s->sk));
	KUNIT_ASSERT_EQ(test, kt_send(c, "x", 1), 1);
	KUNIT_EXPECT_TRUE(test, afx_stream_can_read(s->sk));
	KUNIT_ASSERT_EQ(test, kt_recv(s, buf, 1, 0), 1);
	KUNIT_EXPECT_FALSE(test, afx_stream_can_read(s->sk));
	KUNIT_ASSERT_EQ(test, kernel_sock_shutdown(c, SHUT_WR), 0);
	KUNIT_EXPECT_TRUE(test, afx_stream_can_read(s->sk));

	kt_pair(test, &c2, &s2);
	WRITE_ONCE(s2->sk->sk_err, ECONNRESET);
	KUNIT_EXPECT_TRUE(test, afx_stream_can_read(s2->sk));
	WRITE_ONCE(s2->sk->sk_err, 0);
	KUNIT_EXPECT_FALSE(test, afx_stream_can_read(s2->sk));
	kt_close(test, c2);
	KUNIT_EXPECT_TRUE(test, afx_stream_can_read(s2->sk));
}

static void stream_can_write(struct kunit *test)
{
	struct socket *c, *s;

	kt_pair(test, &c, &s);
	KUNIT_EXPECT_TRUE(test, afx_stream_can_write(c->sk));
	WRITE_ONCE(s->sk->sk_rcvbuf, 1);
	KUNIT_ASSERT_EQ(test, kt_send(c, "x", 1), 1);
	KUNIT_EXPECT_FALSE(test, afx_stream_can_write(c->sk));
	/* A shut down writer must not sleep forever. */
	KUNIT_ASSERT_EQ(test, kernel_sock_shutdown(c, SHUT_WR), 0);
	KUNIT_EXPECT_TRUE(test, afx_stream_can_write(c->sk));
	KUNIT_EXPECT_EQ(test, kt_send(c, "x", 1), -EPIPE);
}

static void stream_poll_masks(struct kunit *test)
{
	struct socket *c, *s, *u = kt_sock(test, SOCK_STREAM);
	struct socket *l = kt_listener(test, 4);
	__poll_t m;

	KUNIT_EXPECT_EQ(test, kt_mask(kt_poll(u)),
			kt_mask(EPOLLOUT | EPOLLWRNORM | EPOLLHUP));
	KUNIT_EXPECT_EQ(test, kt_mask(kt_poll(l)), 0U);

	kt_pair_on(test, l, &c, &s);
	KUNIT_EXPECT_EQ(test, kt_mask(kt_poll(s)),
			kt_mask(EPOLLOUT | EPOLLWRNORM));
	c = kt_sock(test, SOCK_STREAM);
	KUNIT_ASSERT_EQ(test, kt_connect(c, kt_port(l), 0), 0);
	KUNIT_EXPECT_EQ(test, kt_mask(kt_poll(l)),
			kt_mask(EPOLLIN | EPOLLRDNORM));

	KUNIT_ASSERT_EQ(test, kt_send(c, "ab", 2), 2);
	s = kt_accept(test, l);
	KUNIT_EXPECT_EQ(test, kt_mask(kt_poll(l)), 0U);
	KUNIT_EXPECT_EQ(test, kt_mask(kt_poll(s)),
			kt_mask(EPOLLIN | EPOLLRDNORM | EPOLLOUT | EPOLLWRNORM));

	/* SO_RCVLOWAT: POLLIN only from that many bytes on. */
	WRITE_ONCE(s->sk->sk_rcvlowat, 3);
	KUNIT_EXPECT_FALSE(test, kt_poll(s) & EPOLLIN);
	KUNIT_ASSERT_EQ(test, kt_send(c, "c", 1), 1);
	KUNIT_EXPECT_TRUE(test, kt_poll(s) & EPOLLIN);

	KUNIT_ASSERT_EQ(test, kernel_sock_shutdown(c, SHUT_WR), 0);
	m = kt_poll(s);
	KUNIT_EXPECT_TRUE(test, m & EPOLLRDHUP);
	KUNIT_EXPECT_FALSE(test, m & EPOLLHUP);
	kt_close(test, c);
	m = kt_poll(s);
	KUNIT_EXPECT_TRUE(test, m & EPOLLHUP);
	KUNIT_EXPECT_TRUE(test, m & EPOLLIN);
	KUNIT_EXPECT_FALSE(test, m & EPOLLERR);
}

static int kt_ready_calls;

static void kt_count_ready(struct sock *sk)
{
	kt_ready_calls++;
}

static void stream_wakeups(struct kunit *test)
{
	void (*old)(struct sock *sk);
	struct kt_waiter *rw, *ww;
	struct socket *c, *s;
	char buf[4];

	kt_pair(test, &c, &s);
	/* Data wakes the reader's queue with POLLIN, and only the reader. */
	rw = kt_waiter(test, sk_sleep(s->sk));
	ww = kt_waiter(test, sk_sleep(c->sk));
	KUNIT_ASSERT_EQ(test, kt_send(c, "abc", 3), 3);
	KUNIT_EXPECT_GE(test, rw->calls, 1);
	KUNIT_EXPECT_TRUE(test, rw->keys & EPOLLIN);
	KUNIT_EXPECT_EQ(test, ww->calls, 0);

	/* Reading wakes no writer that never found the buffer full... */
	rw->calls = 0;
	KUNIT_ASSERT_EQ(test, kt_recv(s, buf, 3, 0), 3);
	KUNIT_EXPECT_EQ(test, ww->calls, 0);
	/* ... but one that did, with POLLOUT, at the first read after. */
	WRITE_ONCE(s->sk->sk_rcvbuf, 4);
	KUNIT_ASSERT_EQ(test, kt_send(c, "wxyz", 4), 4);
	KUNIT_EXPECT_FALSE(test, afx_stream_can_write(c->sk));
	KUNIT_ASSERT_EQ(test, kt_recv(s, buf, 1, 0), 1);
	KUNIT_EXPECT_GE(test, ww->calls, 1);
	KUNIT_EXPECT_TRUE(test, ww->keys & EPOLLOUT);
	KUNIT_EXPECT_FALSE(test, ww->keys & EPOLLIN);
	ww->calls = 0;
	KUNIT_ASSERT_EQ(test, kt_recv(s, buf, 1, 0), 1);
	KUNIT_EXPECT_EQ(test, ww->calls, 0);
	KUNIT_ASSERT_EQ(test, kt_recv(s, buf, 2, 0), 2);
	WRITE_ONCE(s->sk->sk_rcvbuf, 65536);
	/* Peeking frees nothing, so it wakes nobody. */
	KUNIT_ASSERT_EQ(test, kt_send(c, "d", 1), 1);
	ww->calls = 0;
	KUNIT_ASSERT_EQ(test, kt_recv(s, buf, 1, MSG_PEEK), 1);
	KUNIT_EXPECT_EQ(test, ww->calls, 0);

	/*
	 * sk_data_ready is what a sender calls, when the buffer was empty:
	 * bytes behind unread ones wake nobody (a reader sleeps only on an
	 * empty buffer), unless the socket has been polled.
	 */
	old = s->sk->sk_data_ready;
	kt_ready_calls = 0;
	s->sk->sk_data_ready = kt_count_ready;
	KUNIT_EXPECT_EQ(test, kt_send(c, "e", 1), 1);
	KUNIT_EXPECT_EQ(test, kt_ready_calls, 0);
	KUNIT_ASSERT_EQ(test, kt_recv(s, buf, 4, 0), 2);
	KUNIT_EXPECT_EQ(test, kt_send(c, "f", 1), 1);
	KUNIT_EXPECT_EQ(test, kt_ready_calls, 1);
	KUNIT_EXPECT_EQ(test, kt_send(c, "g", 1), 1);
	KUNIT_EXPECT_EQ(test, kt_ready_calls, 1);
	kt_poll(s);
	KUNIT_EXPECT_EQ(test, kt_send(c, "h", 1), 1);
	KUNIT_EXPECT_EQ(test, kt_ready_calls, 2);
	s->sk->sk_data_ready = old;

	/* Shutdown wakes the peer. */
	rw->calls = 0;
	KUNIT_ASSERT_EQ(test, kernel_sock_shutdown(c, SHUT_WR), 0);
	KUNIT_EXPECT_GE(test, rw->calls, 1);

	remove_wait_queue(sk_sleep(s->sk), &rw->wq);
	remove_wait_queue(sk_sleep(c->sk), &ww->wq);
}

static void stream_shutdown_and_reset(struct kunit *test)
{
	struct socket *c, *s, *c2, *s2;
	char buf[8];

	kt_pair(test, &c, &s);
	KUNIT_ASSERT_EQ(test, kt_send(c, "bye", 3), 3);
	KUNIT_ASSERT_EQ(test, kernel_sock_shutdown(c, SHUT_WR), 0);
	KUNIT_EXPECT_EQ(test, kt_recv(s, buf, sizeof(buf), 0), 3);
	KUNIT_EXPECT_EQ(test, kt_recv(s, buf, sizeof(buf), 0), 0);
	KUNIT_EXPECT_EQ(test, kt_send(c, "x", 1), -EPIPE);
	/* The other direction still works. */
	KUNIT_EXPECT_EQ(test, kt_send(s, "ok", 2), 2);
	KUNIT_EXPECT_EQ(test, kt_recv(c, buf, sizeof(buf), 0), 2);

	/* Closing with unread data: ECONNRESET once, then EOF. */
	kt_pair(test, &c2, &s2);
	KUNIT_ASSERT_EQ(test, kt_send(c2, "unread", 6), 6);
	KUNIT_ASSERT_EQ(test, kt_send(s2, "to c2", 5), 5);
	kt_close(test, s2);
	KUNIT_EXPECT_EQ(test, kt_recv(c2, buf, sizeof(buf), 0), 5);
	KUNIT_EXPECT_EQ(test, kt_recv(c2, buf, sizeof(buf), 0), -ECONNRESET);
	KUNIT_EXPECT_EQ(test, kt_recv(c2, buf, sizeof(buf), 0), 0);
	KUNIT_EXPECT_EQ(test, kt_send(c2, "x", 1), -EPIPE);
}

static void stream_acceptq_full(struct kunit *test)
{
	struct socket *l = kt_listener(test, 2), *c1, *c2;

	KUNIT_EXPECT_FALSE(test, afx_acceptq_full(l->sk));
	c1 = kt_sock(test, SOCK_STREAM);
	KUNIT_ASSERT_EQ(test, kt_connect(c1, kt_port(l), 0), 0);
	KUNIT_EXPECT_FALSE(test, afx_acceptq_full(l->sk));
	c2 = kt_sock(test, SOCK_STREAM);
	KUNIT_ASSERT_EQ(test, kt_connect(c2, kt_port(l), 0), 0);
	KUNIT_EXPECT_TRUE(test, afx_acceptq_full(l->sk));
	kt_accept(test, l);
	KUNIT_EXPECT_FALSE(test, afx_acceptq_full(l->sk));

	/* listen(0) still holds one connection. */
	KUNIT_ASSERT_EQ(test, kernel_listen(l, 0), 0);
	KUNIT_EXPECT_TRUE(test, afx_acceptq_full(l->sk));
	kt_accept(test, l);
	KUNIT_EXPECT_FALSE(test, afx_acceptq_full(l->sk));
}

static void stream_pending_promoted_in_order(struct kunit *test)
{
	struct socket *l = kt_listener(test, 1), *a, *b, *c, *s;
	s64 overflow = kt_stat(&init_net, AFX_STAT_ACCEPTQ_OVERFLOW);

	a = kt_sock(test, SOCK_STREAM);
	b = kt_sock(test, SOCK_STREAM);
	c = kt_sock(test, SOCK_STREAM);
	KUNIT_ASSERT_EQ(test, kt_connect(a, kt_port(l), 0), 0);
	KUNIT_ASSERT_EQ(test, kt_connect(b, kt_port(l), O_NONBLOCK), -EINPROGRESS);
	KUNIT_ASSERT_EQ(test, kt_connect(c, kt_port(l), O_NONBLOCK), -EINPROGRESS);
	KUNIT_EXPECT_EQ(test, kt_stat(&init_net, AFX_STAT_ACCEPTQ_OVERFLOW),
			overflow + 2);
	KUNIT_EXPECT_EQ(test, READ_ONCE(b->sk->sk_state), TCP_SYN_SENT);
	KUNIT_EXPECT_EQ(test, kt_mask(kt_poll(b)), 0U);
	KUNIT_EXPECT_EQ(test, kt_connect(b, kt_port(l), O_NONBLOCK), -EALREADY);

	s = kt_accept(test, l);
	KUNIT_EXPECT_PTR_EQ(test, afx_sk(s->sk)->peer, a->sk);
	KUNIT_EXPECT_EQ(test, READ_ONCE(b->sk->sk_state), TCP_ESTABLISHED);
	KUNIT_EXPECT_EQ(test, READ_ONCE(c->sk->sk_state), TCP_SYN_SENT);
	KUNIT_EXPECT_TRUE(test, kt_poll(b) & EPOLLOUT);
	KUNIT_EXPECT_EQ(test, kt_connect(b, kt_port(l), O_NONBLOCK), -EISCONN);

	s = kt_accept(test, l);
	KUNIT_EXPECT_PTR_EQ(test, afx_sk(s->sk)->peer, b->sk);
	KUNIT_EXPECT_EQ(test, READ_ONCE(c->sk->sk_state), TCP_ESTABLISHED);
	s = kt_accept(test, l);
	KUNIT_EXPECT_PTR_EQ(test, afx_sk(s->sk)->peer, c->sk);
	KUNIT_EXPECT_EQ(test, kernel_accept(l, &s, O_NONBLOCK), -EAGAIN);
}

/* Socks allocated so far: one more with every sock, children included. */
static s64 kt_socks(void)
{
	return kt_stat(&init_net, AFX_STAT_SOCKETS);
}

static void stream_refuse_when_full(struct kunit *test)
{
	struct socket *l = kt_listener(test, 1), *a, *b;
	s64 refused = kt_stat(&init_net, AFX_STAT_REFUSED_FULL);
	s64 id;

	KUNIT_ASSERT_EQ(test, kt_setsockopt_int(l, X_REFUSE_WHEN_FULL, 1), 0);
	a = kt_sock(test, SOCK_STREAM);
	b = kt_sock(test, SOCK_STREAM);

	KUNIT_ASSERT_EQ(test, kt_connect(a, kt_port(l), 0), 0);
	id = kt_socks();
	KUNIT_EXPECT_EQ(test, kt_connect(b, kt_port(l), 0), -ECONNREFUSED);
	/* Refused before a child was allocated. */
	KUNIT_EXPECT_EQ(test, kt_socks(), id);
	KUNIT_EXPECT_EQ(test, kt_stat(&init_net, AFX_STAT_REFUSED_FULL), refused + 1);
	KUNIT_EXPECT_EQ(test, READ_ONCE(b->sk->sk_state), TCP_CLOSE);
	KUNIT_EXPECT_TRUE(test, list_empty(&afx_sk(l->sk)->pendq));
	KUNIT_EXPECT_NULL(test, afx_sk(b->sk)->peer);
}

static void stream_listener_close_refuses_pending(struct kunit *test)
{
	struct socket *l = kt_listener(test, 1), *a, *b;
	char buf[4];

	a = kt_sock(test, SOCK_STREAM);
	b = kt_sock(test, SOCK_STREAM);
	KUNIT_ASSERT_EQ(test, kt_connect(a, kt_port(l), 0), 0);
	KUNIT_ASSERT_EQ(test, kt_connect(b, kt_port(l), O_NONBLOCK), -EINPROGRESS);
	kt_close(test, l);

	KUNIT_EXPECT_EQ(test, READ_ONCE(b->sk->sk_state), TCP_CLOSE);
	KUNIT_EXPECT_EQ(test, READ_ONCE(b->sk->sk_err), ECONNREFUSED);
	KUNIT_EXPECT_TRUE(test, kt_poll(b) & EPOLLERR);
	/* The connection never accept()ed is closed: EOF, link dropped. */
	KUNIT_EXPECT_EQ(test, kt_recv(a, buf, sizeof(buf), 0), 0);
	KUNIT_EXPECT_EQ(test, refcount_read(&a->sk->sk_refcnt), 1);
}

static void stream_connect_refused(struct kunit *test)
{
	struct socket *c = kt_sock(test, SOCK_STREAM);
	struct socket *bound = kt_sock(test, SOCK_STREAM);
	s64 nolisten = kt_stat(&init_net, AFX_STAT_REFUSED_NOLISTEN);
	s64 id;

	KUNIT_EXPECT_EQ(test, kt_connect(c, KT_PORT, 0), -ECONNREFUSED);
	KUNIT_ASSERT_EQ(test, kt_bind(bound, AFX_ADDR_ANY, KT_PORT), 0);
	id = kt_socks();
	KUNIT_EXPECT_EQ(test, kt_connect(c, KT_PORT, 0), -ECONNREFUSED);
	/* A bound socket that does not listen: refused without a child. */
	KUNIT_EXPECT_EQ(test, kt_socks(), id);
	KUNIT_EXPECT_EQ(test, kt_connect(c, 0, 0), -ECONNREFUSED);
	KUNIT_EXPECT_EQ(test, kt_stat(&init_net, AFX_STAT_REFUSED_NOLISTEN),
			nolisten + 3);
	KUNIT_EXPECT_EQ(test, READ_ONCE(c->sk->sk_state), TCP_CLOSE);
	KUNIT_EXPECT_NULL(test, afx_sk(c->sk)->peer);
}

static struct kunit_case afx_stream_cases[] = {
	KUNIT_CASE(stream_limit),
	KUNIT_CASE(stream_accounting),
	KUNIT_CASE(stream_partial_reads),
	KUNIT_CASE(stream_peek),
	KUNIT_CASE(stream_full_then_room),
	KUNIT_CASE(stream_can_read),
	KUNIT_CASE(stream_can_write),
	KUNIT_CASE(stream_poll_masks),
	KUNIT_CASE(stream_wakeups),
	KUNIT_CASE(stream_shutdown_and_reset),
	KUNIT_CASE(stream_acceptq_full),
	KUNIT_CASE(stream_pending_promoted_in_order),
	KUNIT_CASE(stream_refuse_when_full),
	KUNIT_CASE(stream_listener_close_refuses_pending),
	KUNIT_CASE(stream_connect_refused),
	{}
};

static struct kunit_suite afx_stream_suite = {
	.name = "afx_stream",
	.init = kt_init,
	.exit = kt_exit,
	.test_cases = afx_stream_cases,
};

kunit_test_suite(afx_stream_suite);
