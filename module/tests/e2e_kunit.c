// SPDX-License-Identifier: GPL-2.0
/*
 * afx: KUnit suite for the socket lifecycle of af_x.c, stream.c and
 * dgram.c together, end to end: open/close cycles on kernel sockets that
 * must return every reference count (the module's, sk_refcnt) to where it
 * started.
 */

#include <kunit/test.h>
#include <linux/module.h>
#include <linux/net.h>
#include <linux/rcupdate.h>
#include <net/net_namespace.h>
#include <net/sock.h>

#include "afx_kunit.h"

/* ---- afx_e2e: reference counts over open/close cycles -------------------------- */

/*
 * Every struct socket holds a reference on afx.ko, and so does every
 * sock until it is freed (sk_prot_alloc() takes one on afx_proto.owner;
 * SOCK_RCU_FREE frees after a grace period). After rcu_barrier() the
 * module's count therefore tells how many afx sockets and socks are alive.
 */
static struct module *kt_afx_module(struct kunit *test)
{
	struct socket *s = kt_sock(test, SOCK_STREAM);
	struct module *mod = s->ops->owner;

	kt_close(test, s);
	return mod;
}

static int kt_live(struct module *mod)
{
	rcu_barrier();
	return module_refcount(mod);
}

static void e2e_socket_holds_module(struct kunit *test)
{
	struct module *mod = kt_afx_module(test);
	int base = kt_live(mod);
	struct socket *s = kt_sock(test, SOCK_DGRAM);

	/* One for the socket, one for its sock. */
	KUNIT_EXPECT_EQ(test, kt_live(mod), base + 2);
	kt_close(test, s);
	KUNIT_EXPECT_EQ(test, kt_live(mod), base);
}

/* Connect, accept, talk, close: nothing may stay behind. */
static void e2e_stream_cycles(struct kunit *test)
{
	struct module *mod = kt_afx_module(test);
	struct socket *l = kt_listener(test, 4), *c, *s;
	int base = kt_live(mod), lref = refcount_read(&l->sk->sk_refcnt);
	struct sock *csk;
	char buf[32];
	int i;

	for (i = 0; i < 20; i++) {
		kt_pair_on(test, l, &c, &s);
		/* Each end: its socket's reference and its peer's link. */
		KUNIT_EXPECT_EQ(test, refcount_read(&c->sk->sk_refcnt), 2);
		KUNIT_EXPECT_EQ(test, refcount_read(&s->sk->sk_refcnt), 2);
		KUNIT_ASSERT_EQ(test, kt_send(c, "ping", 4), 4);
		KUNIT_ASSERT_EQ(test, kt_recv(s, buf, sizeof(buf), 0), 4);
		KUNIT_ASSERT_EQ(test, kt_send(s, "pong!", 5), 5);
		if (i & 1) {
			kt_close(test, c);
			kt_close(test, s);
		} else {
			/* Our own reference shows what the close leaves. */
			csk = c->sk;
			sock_hold(csk);
			kt_close(test, s);
			KUNIT_EXPECT_EQ(test, refcount_read(&csk->sk_refcnt), 2);
			kt_close(test, c);
			KUNIT_EXPECT_EQ(test, refcount_read(&csk->sk_refcnt), 1);
			sock_put(csk);
		}
	}
	KUNIT_EXPECT_EQ(test, refcount_read(&l->sk->sk_refcnt), lref);
	KUNIT_EXPECT_EQ(test, l->sk->sk_ack_backlog, 0);
	KUNIT_EXPECT_EQ(test, kt_live(mod), base);
}

/* Connections never accepted, pending ones, refused ones, cancelled ones. */
static void e2e_stream_unaccepted_and_pending(struct kunit *test)
{
	struct module *mod = kt_afx_module(test);
	int base = kt_live(mod);
	struct socket *l, *a, *b, *c;
	int i;

	for (i = 0; i < 10; i++) {
		l = kt_listener(test, 1);
		a = kt_sock(test, SOCK_STREAM);
		b = kt_sock(test, SOCK_STREAM);
		c = kt_sock(test, SOCK_STREAM);
		KUNIT_ASSERT_EQ(test, kt_connect(a, kt_port(l), 0), 0);
		KUNIT_ASSERT_EQ(test, kt_connect(b, kt_port(l), O_NONBLOCK),
				-EINPROGRESS);
		KUNIT_ASSERT_EQ(test, kt_connect(c, kt_port(l), O_NONBLOCK),
				-EINPROGRESS);
		/* b gives up while pending; the listener goes with a queued. */
		kt_close(test, b);
		KUNIT_EXPECT_EQ(test, refcount_read(&c->sk->sk_refcnt), 2);
		if (i & 1) {
			kt_close(test, l);
			KUNIT_EXPECT_EQ(test, refcount_read(&a->sk->sk_refcnt), 1);
			KUNIT_EXPECT_EQ(test, refcount_read(&c->sk->sk_refcnt), 1);
			kt_close(test, a);
			kt_close(test, c);
		} else {
			kt_close(test, a);
			kt_close(test, c);
			kt_close(test, l);
		}
	}
	KUNIT_EXPECT_EQ(test, kt_live(mod), base);
}

static void e2e_stream_refused_connects(struct kunit *test)
{
	struct module *mod = kt_afx_module(test);
	int base = kt_live(mod);
	struct socket *l = kt_listener(test, 1), *a, *c;
	int i, cref;

	KUNIT_ASSERT_EQ(test, kt_setsockopt_int(l, X_REFUSE_WHEN_FULL, 1), 0);
	a = kt_sock(test, SOCK_STREAM);
	KUNIT_ASSERT_EQ(test, kt_connect(a, kt_port(l), 0), 0);
	c = kt_sock(test, SOCK_STREAM);
	cref = refcount_read(&c->sk->sk_refcnt);
	for (i = 0; i < 20; i++)
		KUNIT_EXPECT_EQ(test, kt_connect(c, kt_port(l), 0), -ECONNREFUSED);
	KUNIT_EXPECT_EQ(test, refcount_read(&c->sk->sk_refcnt), cref);
	kt_close(test, c);
	kt_close(test, a);
	kt_close(test, l);
	KUNIT_EXPECT_EQ(test, kt_live(mod), base);
}

static void e2e_dgram_cycles(struct kunit *test)
{
	struct module *mod = kt_afx_module(test);
	int base = kt_live(mod);
	struct socket *r = kt_dgram(test, KT_PORT, true), *s;
	struct sockaddr_x to = kt_addr(AFX_ADDR_LOCAL, KT_PORT);
	struct sockaddr_x bc = kt_addr(AFX_ADDR_BROADCAST, KT_PORT);
	int rref = refcount_read(&r->sk->sk_refcnt);
	struct sockaddr_x back;
	char buf[64];
	int i;

	for (i = 0; i < 20; i++) {
		s = kt_dgram(test, 0, false);
		sock_valbool_flag(s->sk, SOCK_BROADCAST, true);
		back = kt_addr(AFX_ADDR_LOCAL, kt_port(s));
		KUNIT_ASSERT_EQ(test, kt_sendto(s, &to, "uni", 3, 0), 3);
		KUNIT_ASSERT_EQ(test, kt_sendto(s, &bc, "bc", 2, 0), 2);
		/* Connected, polled and closed with data still queued. */
		KUNIT_ASSERT_EQ(test, kernel_connect(s, (struct sockaddr *)&to,
						     sizeof(to), 0), 0);
		kt_poll(s);
		KUNIT_ASSERT_EQ(test, kt_sendto(r, &back, "back", 4, 0), 4);
		kt_close(test, s);
		KUNIT_EXPECT_EQ(test, kt_recv(r, buf, sizeof(buf), 0), 3);
		KUNIT_EXPECT_EQ(test, kt_recv(r, buf, sizeof(buf), 0), 2);
	}
	KUNIT_EXPECT_EQ(test, refcount_read(&r->sk->sk_refcnt), rref);
	/* The receiver goes with a datagram queued. */
	KUNIT_EXPECT_EQ(test, kt_sendto(r, &to, "self", 4, 0), 4);
	kt_close(test, r);
	KUNIT_EXPECT_EQ(test, kt_live(mod), base);
}

static void e2e_netns_cycles(struct kunit *test)
{
	struct net *net2 = kt_net2(test);
	struct module *mod = kt_afx_module(test);
	int base = kt_live(mod);
	struct socket *l, *c, *s;
	int i;

	for (i = 0; i < 5; i++) {
		l = kt_sock_net(test, net2, SOCK_STREAM);
		KUNIT_ASSERT_EQ(test, kt_bind(l, AFX_ADDR_ANY, KT_PORT), 0);
		KUNIT_ASSERT_EQ(test, kernel_listen(l, 2), 0);
		c = kt_sock_net(test, net2, SOCK_STREAM);
		KUNIT_ASSERT_EQ(test, kt_connect(c, KT_PORT, 0), 0);
		s = kt_accept(test, l);
		KUNIT_EXPECT_PTR_EQ(test, sock_net(s->sk), net2);
		KUNIT_ASSERT_EQ(test, kt_send(c, "ns", 2), 2);
		kt_close(test, l);
		kt_close(test, c);
		kt_close(test, s);
	}
	KUNIT_EXPECT_EQ(test, kt_live(mod), base);
}

static struct kunit_case afx_e2e_cases[] = {
	KUNIT_CASE(e2e_socket_holds_module),
	KUNIT_CASE(e2e_stream_cycles),
	KUNIT_CASE(e2e_stream_unaccepted_and_pending),
	KUNIT_CASE(e2e_stream_refused_connects),
	KUNIT_CASE(e2e_dgram_cycles),
	KUNIT_CASE(e2e_netns_cycles),
	{}
};

static struct kunit_suite afx_e2e_suite = {
	.name = "afx_e2e",
	.init = kt_init,
	.exit = kt_exit,
	.test_cases = afx_e2e_cases,
};

kunit_test_suite(afx_e2e_suite);
