// SPDX-License-Identifier: GPL-2.0
/*
 * afx: KUnit suite for dgram.c, the datagram sockets:
 * queue accounting, truncation, unicast refusal, broadcast fan-out.
 */

#include <kunit/test.h>
#include <linux/net.h>
#include <linux/poll.h>
#include <linux/uio.h>
#include <linux/wait.h>
#include <net/sock.h>

#include "afx_kunit.h"

/* ---- afx_dgram: queue accounting, truncation, broadcast ------------------------ */

/* Queue a datagram of @len zero bytes from port @from at @sk. */
static int kt_queue(struct sock *sk, u32 from, size_t len)
{
	static const char zeros[256];
	struct kvec kv = { .iov_base = (void *)zeros, .iov_len = len };
	struct iov_iter it;

	iov_iter_kvec(&it, ITER_SOURCE, &kv, 1, len);
	return afx_dgram_queue(sk, from, NULL, NULL, &it, len);
}

static void dgram_room(struct kunit *test)
{
	struct socket *d = kt_sock(test, SOCK_DGRAM);
	struct sock *sk = d->sk;

	WRITE_ONCE(sk->sk_rcvbuf, 1000);
	/* An empty queue takes anything, however large. */
	KUNIT_EXPECT_TRUE(test, afx_dgram_room(sk, 5000));
	/* 200 payload bytes take 208: the header counts. */
	KUNIT_ASSERT_EQ(test, kt_queue(sk, 1, 200), 0);
	KUNIT_EXPECT_EQ(test, kt_queued_bytes(sk), 208U);
	KUNIT_EXPECT_TRUE(test, afx_dgram_room(sk, 792));
	KUNIT_EXPECT_FALSE(test, afx_dgram_room(sk, 793));
	/* SO_RCVBUF is read at each send. */
	WRITE_ONCE(sk->sk_rcvbuf, 208);
	KUNIT_EXPECT_FALSE(test, afx_dgram_room(sk, 8));
	KUNIT_EXPECT_EQ(test, kt_queue(sk, 1, 0), -EAGAIN);
}

static void dgram_accepts(struct kunit *test)
{
	struct socket *d = kt_dgram(test, 0, false);
	struct sockaddr_x to = kt_addr(AFX_ADDR_LOCAL, KT_PORT);
	struct afx_sock *ax = afx_sk(d->sk);

	KUNIT_EXPECT_TRUE(test, afx_dgram_accepts(ax, KT_PORT));
	KUNIT_EXPECT_TRUE(test, afx_dgram_accepts(ax, 1));
	KUNIT_ASSERT_EQ(test, kernel_connect(d, (struct sockaddr *)&to,
					     sizeof(to), 0), 0);
	KUNIT_EXPECT_TRUE(test, afx_dgram_accepts(ax, KT_PORT));
	KUNIT_EXPECT_FALSE(test, afx_dgram_accepts(ax, KT_PORT + 1));
	to.sx_family = AF_UNSPEC;
	KUNIT_ASSERT_EQ(test, kernel_connect(d, (struct sockaddr *)&to,
					     sizeof(to), 0), 0);
	KUNIT_EXPECT_TRUE(test, afx_dgram_accepts(ax, KT_PORT + 1));
}

static void dgram_queue(struct kunit *test)
{
	struct socket *d = kt_sock(test, SOCK_DGRAM);
	struct sock *sk = d->sk;

	WRITE_ONCE(sk->sk_rcvbuf, 150);
	KUNIT_ASSERT_EQ(test, kt_queue(sk, 5, 100), 0);
	KUNIT_EXPECT_EQ(test, kt_queued_bytes(sk), 108U);
	KUNIT_EXPECT_EQ(test, kt_dgrams(sk), 1U);

	/* Full: refused whole, nothing of it queued. */
	KUNIT_EXPECT_EQ(test, kt_queue(sk, 5, 100), -EAGAIN);
	KUNIT_EXPECT_EQ(test, kt_queued_bytes(sk), 108U);
	KUNIT_EXPECT_EQ(test, kt_dgrams(sk), 1U);

	KUNIT_ASSERT_EQ(test, kernel_sock_shutdown(d, SHUT_RD), 0);
	WRITE_ONCE(sk->sk_rcvbuf, 1 << 20);
	KUNIT_EXPECT_EQ(test, kt_queue(sk, 5, 100), -ECONNREFUSED);
	KUNIT_EXPECT_EQ(test, kt_dgrams(sk), 1U);
}

static void dgram_accounting(struct kunit *test)
{
	struct socket *r = kt_dgram(test, 0, false), *s = kt_dgram(test, 0, false);
	struct sockaddr_x to = kt_addr(AFX_ADDR_LOCAL, kt_port(r)), from;
	s64 sent = kt_stat(&init_net, AFX_STAT_DGRAM_SENT);
	s64 rcvd = kt_stat(&init_net, AFX_STAT_DGRAM_RCVD);
	char buf[64];
	int i;

	for (i = 1; i <= 3; i++)
		KUNIT_ASSERT_EQ(test, kt_sendto(s, &to, "abcdefgh", i, 0), i);
	KUNIT_EXPECT_EQ(test, kt_dgrams(r->sk), 3U);
	/* Each datagram takes its payload and an 8-byte header. */
	KUNIT_EXPECT_EQ(test, kt_queued_bytes(r->sk), 3 * 8U + 1 + 2 + 3);
	KUNIT_EXPECT_EQ(test, kt_stat(&init_net, AFX_STAT_DGRAM_SENT), sent + 3);
	KUNIT_EXPECT_EQ(test, kt_queued_bytes(s->sk), 0U);

	for (i = 1; i <= 3; i++) {
		KUNIT_EXPECT_EQ(test, kt_recvfrom(r, buf, sizeof(buf), 0, NULL,
						  &from), i);
		KUNIT_EXPECT_EQ(test, from.sx_port, kt_port(s));
		KUNIT_EXPECT_EQ(test, from.sx_addr, AFX_ADDR_LOCAL);
	}
	KUNIT_EXPECT_EQ(test, kt_queued_bytes(r->sk), 0U);
	KUNIT_EXPECT_EQ(test, kt_stat(&init_net, AFX_STAT_DGRAM_RCVD), rcvd + 3);
	KUNIT_EXPECT_EQ(test, kt_recv(r, buf, sizeof(buf), 0), -EAGAIN);

	/* Zero-length datagrams are datagrams. */
	KUNIT_EXPECT_EQ(test, kt_sendto(s, &to, "", 0, 0), 0);
	KUNIT_EXPECT_EQ(test, kt_dgrams(r->sk), 1U);
	KUNIT_EXPECT_EQ(test, kt_recv(r, buf, sizeof(buf), 0), 0);
	KUNIT_EXPECT_TRUE(test, !kt_dgrams(r->sk));
}

static void dgram_full_never_dropped(struct kunit *test)
{
	struct socket *r = kt_dgram(test, 0, false), *s = kt_dgram(test, 0, false);
	struct sockaddr_x to = kt_addr(AFX_ADDR_LOCAL, kt_port(r));
	char buf[200] = {};
	int sent = 0, got = 0, err = 0;

	WRITE_ONCE(r->sk->sk_rcvbuf, 4096);
	while (sent < 1000) {
		err = kt_sendto(s, &to, buf, sizeof(buf), 0);
		if (err < 0)
			break;
		sent++;
	}
	KUNIT_EXPECT_EQ(test, err, -EAGAIN);
	KUNIT_EXPECT_GT(test, sent, 0);
	/* Exactly as many as fit in 4096 bytes, headers included. */
	KUNIT_EXPECT_EQ(test, sent, 4096 / (int)(sizeof(buf) + 8));
	KUNIT_EXPECT_LE(test, kt_queued_bytes(r->sk), 4096U);

	while (kt_recv(r, buf, sizeof(buf), 0) == sizeof(buf))
		got++;
	KUNIT_EXPECT_EQ(test, got, sent);
	KUNIT_EXPECT_EQ(test, kt_sendto(s, &to, buf, sizeof(buf), 0), 200);
}

static void dgram_truncation(struct kunit *test)
{
	struct socket *r = kt_dgram(test, 0, false), *s = kt_dgram(test, 0, false);
	struct sockaddr_x to = kt_addr(AFX_ADDR_LOCAL, kt_port(r));
	char data[100], buf[100];
	int mflags, i;

	for (i = 0; i < (int)sizeof(data); i++)
		data[i] = i;
	for (i = 0; i < 3; i++)
		KUNIT_ASSERT_EQ(test, kt_sendto(s, &to, data, 100, 0), 100);

	/* Short buffer: copied length, MSG_TRUNC in msg_flags, rest gone. */
	KUNIT_EXPECT_EQ(test, kt_recvfrom(r, buf, 10, 0, &mflags, NULL), 10);
	KUNIT_EXPECT_TRUE(test, mflags & MSG_TRUNC);
	KUNIT_EXPECT_EQ(test, memcmp(buf, data, 10), 0);
	KUNIT_EXPECT_EQ(test, kt_dgrams(r->sk), 2U);

	/* MSG_TRUNC asked for: the real length. */
	KUNIT_EXPECT_EQ(test, kt_recvfrom(r, buf, 10, MSG_TRUNC, &mflags, NULL),
			100);
	KUNIT_EXPECT_TRUE(test, mflags & MSG_TRUNC);

	/* Peek keeps it; a full-size read has no MSG_TRUNC. */
	KUNIT_EXPECT_EQ(test, kt_recvfrom(r, buf, 5, MSG_PEEK, &mflags, NULL), 5);
	KUNIT_EXPECT_EQ(test, kt_dgrams(r->sk), 1U);
	KUNIT_EXPECT_EQ(test, kt_recvfrom(r, buf, 100, 0, &mflags, NULL), 100);
	KUNIT_EXPECT_FALSE(test, mflags & MSG_TRUNC);
	KUNIT_EXPECT_EQ(test, memcmp(buf, data, 100), 0);
	KUNIT_EXPECT_EQ(test, kt_queued_bytes(r->sk), 0U);
}

static void dgram_unicast_refused(struct kunit *test)
{
	struct socket *s = kt_dgram(test, 0, false), *r = kt_dgram(test, 0, false);
	struct sockaddr_x to = kt_addr(AFX_ADDR_LOCAL, KT_PORT);
	struct sockaddr_x elsewhere = kt_addr(AFX_ADDR_LOCAL, KT_PORT + 1);
	char *big = kunit_kzalloc(test, 4609, GFP_KERNEL);
	s64 noport = kt_stat(&init_net, AFX_STAT_DROP_NOPORT);
	s64 filtered = kt_stat(&init_net, AFX_STAT_DROP_FILTERED);

	KUNIT_EXPECT_EQ(test, kt_sendto(s, &to, "x", 1, 0), -ECONNREFUSED);
	KUNIT_EXPECT_EQ(test, kt_stat(&init_net, AFX_STAT_DROP_NOPORT), noport + 1);

	/* A receiver connected to another port refuses us. */
	KUNIT_ASSERT_EQ(test, kernel_connect(r, (struct sockaddr *)&elsewhere,
					     sizeof(elsewhere), 0), 0);
	to.sx_port = kt_port(r);
	KUNIT_EXPECT_EQ(test, kt_sendto(s, &to, "x", 1, 0), -ECONNREFUSED);
	KUNIT_EXPECT_EQ(test, kt_stat(&init_net, AFX_STAT_DROP_FILTERED),
			filtered + 1);
	KUNIT_EXPECT_TRUE(test, !kt_dgrams(r->sk));

	/* Other errors, checked before anything is queued. */
	to.sx_port = 0;
	KUNIT_EXPECT_EQ(test, kt_sendto(s, &to, "x", 1, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, kt_send(s, "x", 1), -EDESTADDRREQ);
	to.sx_port = kt_port(r);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, big);
	elsewhere.sx_family = AF_UNSPEC;
	KUNIT_ASSERT_EQ(test, kernel_connect(r, (struct sockaddr *)&elsewhere,
					     sizeof(elsewhere), 0), 0);
	WRITE_ONCE(s->sk->sk_sndbuf, 4608);
	KUNIT_EXPECT_EQ(test, kt_sendto(s, &to, big, 4609, 0), -EMSGSIZE);
	KUNIT_EXPECT_EQ(test, kt_sendto(s, &to, big, 4608, 0), 4608);
}

/* n receivers on one port, every one of them gets one copy. */
static void dgram_broadcast_fanout(struct kunit *test)
{
	struct socket *r[4], *s;
	struct sockaddr_x to = kt_addr(AFX_ADDR_BROADCAST, KT_PORT), from;
	struct sockaddr_x u = kt_addr(AFX_ADDR_LOCAL, KT_PORT);
	unsigned int queued = 0;
	char buf[8];
	int i;

	for (i = 0; i < 3; i++)
		r[i] = kt_dgram(test, KT_PORT, true);
	/* The sender is bound there too: it hears itself. */
	s = kt_dgram(test, KT_PORT, true);
	r[3] = s;
	KUNIT_EXPECT_EQ(test, kt_sendto(s, &to, "all", 3, 0), -EACCES);
	sock_valbool_flag(s->sk, SOCK_BROADCAST, true);
	KUNIT_ASSERT_EQ(test, kt_sendto(s, &to, "all", 3, 0), 3);

	for (i = 0; i < 4; i++) {
		KUNIT_EXPECT_EQ(test, kt_dgrams(r[i]->sk), 1U);
		KUNIT_EXPECT_EQ(test, kt_recvfrom(r[i], buf, sizeof(buf), 0, NULL,
						  &from), 3);
		KUNIT_EXPECT_EQ(test, memcmp(buf, "all", 3), 0);
		KUNIT_EXPECT_EQ(test, from.sx_port, KT_PORT);
		KUNIT_EXPECT_EQ(test, kt_queued_bytes(r[i]->sk), 0U);
	}

	/* Unicast to the shared port reaches exactly one of them. */
	KUNIT_ASSERT_EQ(test, kt_sendto(s, &u, "one", 3, 0), 3);
	for (i = 0; i < 4; i++)
		queued += kt_dgrams(r[i]->sk);
	KUNIT_EXPECT_EQ(test, queued, 1U);
}

static void dgram_broadcast_drops_and_filters(struct kunit *test)
{
	struct socket *full, *open, *picky, *s;
	struct sockaddr_x to = kt_addr(AFX_ADDR_BROADCAST, KT_PORT);
	struct sockaddr_x other = kt_addr(AFX_ADDR_LOCAL, KT_PORT + 7);
	s64 drops = kt_stat(&init_net, AFX_STAT_DROP_BCAST_FULL);
	s64 filtered = kt_stat(&init_net, AFX_STAT_DROP_FILTERED);
	char buf[256] = {};

	full = kt_dgram(test, KT_PORT, true);
	open = kt_dgram(test, KT_PORT, true);
	picky = kt_dgram(test, KT_PORT, true);
	s = kt_dgram(test, 0, false);
	sock_valbool_flag(s->sk, SOCK_BROADCAST, true);
	KUNIT_ASSERT_EQ(test, kernel_connect(picky, (struct sockaddr *)&other,
					     sizeof(other), 0), 0);

	/* Fill one receiver: one queued datagram and a tiny SO_RCVBUF. */
	KUNIT_ASSERT_EQ(test, kt_sendto(s, &to, buf, sizeof(buf), 0), 256);
	KUNIT_ASSERT_EQ(test, kt_recv(open, buf, sizeof(buf), 0), 256);
	WRITE_ONCE(full->sk->sk_rcvbuf, 1);
	drops = kt_stat(&init_net, AFX_STAT_DROP_BCAST_FULL);
	filtered = kt_stat(&init_net, AFX_STAT_DROP_FILTERED);

	/* The sender never blocks or fails; the full one drops its copy. */
	KUNIT_EXPECT_EQ(test, kt_sendto(s, &to, buf, sizeof(buf), 0), 256);
	KUNIT_EXPECT_EQ(test, kt_dgrams(full->sk), 1U);
	KUNIT_EXPECT_EQ(test, kt_dgrams(open->sk), 1U);
	KUNIT_EXPECT_TRUE(test, !kt_dgrams(picky->sk));
	KUNIT_EXPECT_EQ(test, kt_stat(&init_net, AFX_STAT_DROP_BCAST_FULL), drops + 1);
	KUNIT_EXPECT_EQ(test, kt_stat(&init_net, AFX_STAT_DROP_FILTERED), filtered + 1);

	/* Nobody on the port at all: still a success. */
	to.sx_port = KT_PORT + 99;
	KUNIT_EXPECT_EQ(test, kt_sendto(s, &to, buf, 1, 0), 1);
}

static void dgram_wakeups(struct kunit *test)
{
	struct socket *r = kt_dgram(test, 0, false), *s = kt_dgram(test, 0, false);
	struct sockaddr_x to = kt_addr(AFX_ADDR_LOCAL, kt_port(r));
	struct afx_sock *sax = afx_sk(s->sk), *rax = afx_sk(r->sk);
	struct kt_waiter *senders, *reader;
	char buf[128] = {};

	reader = kt_waiter(test, sk_sleep(r->sk));
	KUNIT_EXPECT_EQ(test, kt_sendto(s, &to, buf, 100, 0), 100);
	KUNIT_EXPECT_TRUE(test, reader->keys & EPOLLIN);
	remove_wait_queue(sk_sleep(r->sk), &reader->wq);

	/* A connected sender polling a full receiver parks on it... */
	KUNIT_ASSERT_EQ(test, kernel_connect(s, (struct sockaddr *)&to,
					     sizeof(to), 0), 0);
	WRITE_ONCE(r->sk->sk_rcvbuf, 1);
	KUNIT_EXPECT_FALSE(test, kt_poll(s) & EPOLLOUT);
	KUNIT_EXPECT_PTR_EQ(test, READ_ONCE(sax->peer_wake_target), r->sk);

	/* ...and a read wakes blocked senders with POLLOUT and unparks it. */
	senders = kt_waiter(test, &rax->peer_wait);
	KUNIT_EXPECT_EQ(test, kt_recv(r, buf, sizeof(buf), 0), 100);
	KUNIT_EXPECT_GE(test, senders->calls, 1);
	KUNIT_EXPECT_TRUE(test, senders->keys & EPOLLOUT);
	KUNIT_EXPECT_NULL(test, READ_ONCE(sax->peer_wake_target));
	KUNIT_EXPECT_TRUE(test, kt_poll(s) & EPOLLOUT);
	remove_wait_queue(&rax->peer_wait, &senders->wq);

	/* Closing the receiver detaches a parked sender. */
	KUNIT_ASSERT_EQ(test, kt_sendto(s, NULL, buf, 100, 0), 100);
	KUNIT_EXPECT_FALSE(test, kt_poll(s) & EPOLLOUT);
	KUNIT_EXPECT_PTR_EQ(test, READ_ONCE(sax->peer_wake_target), r->sk);
	kt_close(test, r);
	KUNIT_EXPECT_NULL(test, READ_ONCE(sax->peer_wake_target));
}

static struct kunit_case afx_dgram_cases[] = {
	KUNIT_CASE(dgram_room),
	KUNIT_CASE(dgram_accepts),
	KUNIT_CASE(dgram_queue),
	KUNIT_CASE(dgram_accounting),
	KUNIT_CASE(dgram_full_never_dropped),
	KUNIT_CASE(dgram_truncation),
	KUNIT_CASE(dgram_unicast_refused),
	KUNIT_CASE(dgram_broadcast_fanout),
	KUNIT_CASE(dgram_broadcast_drops_and_filters),
	KUNIT_CASE(dgram_wakeups),
	{}
};

static struct kunit_suite afx_dgram_suite = {
	.name = "afx_dgram",
	.init = kt_init,
	.exit = kt_exit,
	.test_cases = afx_dgram_cases,
};

kunit_test_suite(afx_dgram_suite);
