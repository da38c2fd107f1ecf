// SPDX-License-Identifier: GPL-2.0
/*
 * afx: KUnit suites for the internal units of afx.ko.
 *
 * A separate module, afx_kunit.ko, because on 6.1 the KUnit suites of a
 * module run before its own module_init: afx.ko has to be loaded (and its
 * family registered) before these run. The units are reached through
 * VISIBLE_IF_KUNIT / EXPORT_SYMBOL_IF_KUNIT, so afx.ko built for a kernel
 * without KUnit exports nothing new. Only the debug lane builds this file
 * (see Kbuild and scripts/debug-kernel.sh).
 *
 * Suites:
 *   afx_addr    address validation (table-driven) and destination checks
 *   afx_port    ephemeral port allocation on a private bind table
 *   afx_bind    the bind tables: conflicts, wildcard vs local, SO_REUSEADDR,
 *               stream lookup, network namespace separation
 *   afx_stream  stream buffer accounting, wakeups, poll, the accept and
 *               pending queues
 *   afx_dgram   datagram queue accounting, truncation, unicast refusal,
 *               broadcast fan-out
 *   afx_e2e     open/close cycles on kernel sockets that must return every
 *               reference count to where it started
 *
 * Everything runs on kernel sockets (sock_create_kern(), kernel_bind(),
 * ...) in init_net, nonblocking, so that a broken unit fails a case
 * instead of hanging it. The netns cases need a second namespace, which a
 * module cannot create, nor be told about: its parameters are parsed after
 * the suites ran. They use the namespace of any process outside init_net
 * (scripts/guest/debug-check.sh starts one) and are skipped without one.
 */

#include <kunit/test.h>
#include <linux/module.h>
#include <linux/net.h>
#include <linux/nsproxy.h>
#include <linux/poll.h>
#include <linux/rcupdate.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/skbuff.h>
#include <linux/uio.h>
#include <net/net_namespace.h>
#include <net/sock.h>

#include "afx.h"

#define KT_SOCKS	24

/**
 * struct afx_kt - per-case state
 * @socks: kernel sockets the case opened and has not closed yet; the
 *	suite exit closes them, so that a failed assertion leaks nothing
 * @net2: the second namespace of the netns cases, with a reference
 */
struct afx_kt {
	struct socket *socks[KT_SOCKS];
	struct net *net2;
};

static int kt_init(struct kunit *test)
{
	test->priv = kunit_kzalloc(test, sizeof(struct afx_kt), GFP_KERNEL);
	return test->priv ? 0 : -ENOMEM;
}

static void kt_exit(struct kunit *test)
{
	struct afx_kt *kt = test->priv;
	int i;

	for (i = 0; i < KT_SOCKS; i++) {
		if (kt->socks[i])
			sock_release(kt->socks[i]);
		kt->socks[i] = NULL;
	}
	if (kt->net2)
		put_net(kt->net2);
	kt->net2 = NULL;
}

static void kt_track(struct kunit *test, struct socket *sock)
{
	struct afx_kt *kt = test->priv;
	int i;

	for (i = 0; i < KT_SOCKS; i++) {
		if (!kt->socks[i]) {
			kt->socks[i] = sock;
			return;
		}
	}
	sock_release(sock);
	KUNIT_ASSERT_FAILURE(test, "more than %d sockets open", KT_SOCKS);
}

static struct socket *kt_sock_net(struct kunit *test, struct net *net, int type)
{
	struct socket *sock = NULL;
	int err;

	err = sock_create_kern(net, afx_family, type, 0, &sock);
	KUNIT_ASSERT_EQ_MSG(test, err, 0, "sock_create_kern(type %d)", type);
	kt_track(test, sock);
	return sock;
}

static struct socket *kt_sock(struct kunit *test, int type)
{
	return kt_sock_net(test, &init_net, type);
}

static void kt_close(struct kunit *test, struct socket *sock)
{
	struct afx_kt *kt = test->priv;
	int i;

	for (i = 0; i < KT_SOCKS; i++) {
		if (kt->socks[i] == sock) {
			kt->socks[i] = NULL;
			sock_release(sock);
			return;
		}
	}
	KUNIT_FAIL(test, "closing a socket the case does not own");
}

static struct sockaddr_x kt_addr(u32 addr, u32 port)
{
	struct sockaddr_x sx = {
		.sx_family = afx_family,
		.sx_addr = addr,
		.sx_port = port,
	};

	return sx;
}

static int kt_bind(struct socket *sock, u32 addr, u32 port)
{
	struct sockaddr_x sx = kt_addr(addr, port);

	return kernel_bind(sock, (struct sockaddr *)&sx, sizeof(sx));
}

static int kt_connect(struct socket *sock, u32 port, int flags)
{
	struct sockaddr_x sx = kt_addr(AFX_ADDR_LOCAL, port);

	return kernel_connect(sock, (struct sockaddr *)&sx, sizeof(sx), flags);
}

static u32 kt_port(struct socket *sock)
{
	return afx_port(sock->sk);
}

/* Nonblocking send, to @to (AFX_ADDR_* and port) when @to is not NULL. */
static int kt_sendto(struct socket *sock, const struct sockaddr_x *to,
		     const void *buf, size_t len, int flags)
{
	struct sockaddr_x sx;
	struct msghdr msg = {
		.msg_flags = flags | MSG_DONTWAIT | MSG_NOSIGNAL,
	};
	struct kvec vec = { .iov_base = (void *)buf, .iov_len = len };

	if (to) {
		sx = *to;
		msg.msg_name = &sx;
		msg.msg_namelen = sizeof(sx);
	}
	return kernel_sendmsg(sock, &msg, &vec, 1, len);
}

static int kt_send(struct socket *sock, const void *buf, size_t len)
{
	return kt_sendto(sock, NULL, buf, len, 0);
}

/* Nonblocking receive; *@mflags gets msg_flags, *@from the sender. */
static int kt_recvfrom(struct socket *sock, void *buf, size_t len, int flags,
		       int *mflags, struct sockaddr_x *from)
{
	struct sockaddr_x sx = {};
	struct msghdr msg = {
		.msg_name = &sx,
		.msg_namelen = sizeof(sx),
	};
	struct kvec vec = { .iov_base = buf, .iov_len = len };
	int ret;

	ret = kernel_recvmsg(sock, &msg, &vec, 1, len, flags | MSG_DONTWAIT);
	if (mflags)
		*mflags = msg.msg_flags;
	if (from)
		*from = sx;
	return ret;
}

static int kt_recv(struct socket *sock, void *buf, size_t len, int flags)
{
	return kt_recvfrom(sock, buf, len, flags, NULL, NULL);
}

static __poll_t kt_poll(struct socket *sock)
{
	return sock->ops->poll(NULL, sock, NULL);
}

/* An int SOL_X option, through proto_ops as setsockopt() would. */
static int kt_setsockopt_int(struct socket *sock, int name, int val)
{
	return sock->ops->setsockopt(sock, SOL_X, name, KERNEL_SOCKPTR(&val),
				     sizeof(val));
}

static s64 kt_stat(struct net *net, enum afx_stat s)
{
	return atomic64_read(&afx_net(net)->stats[s]);
}

/* A listener on an ephemeral port, backlog @backlog. */
static struct socket *kt_listener(struct kunit *test, int backlog)
{
	struct socket *l = kt_sock(test, SOCK_STREAM);

	KUNIT_ASSERT_EQ(test, kt_bind(l, AFX_ADDR_ANY, 0), 0);
	KUNIT_ASSERT_EQ(test, kernel_listen(l, backlog), 0);
	return l;
}

static struct socket *kt_accept(struct kunit *test, struct socket *l)
{
	struct socket *s = NULL;

	KUNIT_ASSERT_EQ(test, kernel_accept(l, &s, O_NONBLOCK), 0);
	kt_track(test, s);
	return s;
}

/* A connected stream pair: *@c connected to *@s, accepted from @l. */
static void kt_pair_on(struct kunit *test, struct socket *l, struct socket **c,
		       struct socket **s)
{
	*c = kt_sock(test, SOCK_STREAM);
	KUNIT_ASSERT_EQ(test, kt_connect(*c, kt_port(l), 0), 0);
	*s = kt_accept(test, l);
}

static void kt_pair(struct kunit *test, struct socket **c, struct socket **s)
{
	kt_pair_on(test, kt_listener(test, 8), c, s);
}

/* A datagram socket bound to @port (0: ephemeral), SO_REUSEADDR if @reuse. */
static struct socket *kt_dgram(struct kunit *test, u32 port, bool reuse)
{
	struct socket *d = kt_sock(test, SOCK_DGRAM);

	if (reuse)
		sock_set_reuseaddr(d->sk);
	KUNIT_ASSERT_EQ(test, kt_bind(d, AFX_ADDR_ANY, port), 0);
	return d;
}

/* The sum of the truesize of everything in @sk's receive queue. */
static unsigned int kt_queued_truesize(struct sock *sk)
{
	struct afx_sock *ax = afx_sk(sk);
	unsigned int sum = 0;
	struct sk_buff *skb;

	spin_lock(&ax->lock);
	skb_queue_walk(&sk->sk_receive_queue, skb)
		sum += skb->truesize;
	spin_unlock(&ax->lock);
	return sum;
}

/**
 * struct kt_waiter - a wait queue entry that records its wakeups
 * @wq: the entry
 * @calls: how often it was woken
 * @keys: the poll events of every keyed wakeup, or-ed
 */
struct kt_waiter {
	wait_queue_entry_t wq;
	int calls;
	__poll_t keys;
};

static int kt_waiter_fn(wait_queue_entry_t *wq, unsigned int mode, int sync,
			void *key)
{
	struct kt_waiter *w = container_of(wq, struct kt_waiter, wq);

	w->calls++;
	if (key)
		w->keys |= key_to_poll(key);
	return 0;
}

/*
 * A waiter on @head. It lives as long as the case's other allocations, so
 * that a case aborted while it is queued leaves no dangling entry: the
 * sockets the queues belong to are closed first.
 */
static struct kt_waiter *kt_waiter(struct kunit *test,
				   struct wait_queue_head *head)
{
	struct kt_waiter *w = kunit_kzalloc(test, sizeof(*w), GFP_KERNEL);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, w);
	init_waitqueue_func_entry(&w->wq, kt_waiter_fn);
	add_wait_queue(head, &w->wq);
	return w;
}

/* ---- afx_addr: address validation ------------------------------------------- */

/**
 * struct kt_addr_case - one row of the afx_check_addr() table
 * @desc: the case name
 * @len: the address length passed
 * @family: sx_family; KT_FAM means afx_family
 * @reserved1: sx_reserved1
 * @zero_byte: index of a nonzero sx_zero byte, or -1
 * @port: sx_port
 * @addr: sx_addr
 * @want: the expected return
 */
struct kt_addr_case {
	const char *desc;
	int len;
	int family;
	u16 reserved1;
	int zero_byte;
	u32 port;
	u32 addr;
	int want;
};

#define SX	((int)sizeof(struct sockaddr_x))
#define KT_FAM	(-1)

static const struct kt_addr_case kt_addr_cases[] = {
	{ "any_addr", SX, KT_FAM, 0, -1, 5000, AFX_ADDR_ANY, 0 },
	{ "local_addr", SX, KT_FAM, 0, -1, 5000, AFX_ADDR_LOCAL, 0 },
	{ "broadcast_addr", SX, KT_FAM, 0, -1, 5000, AFX_ADDR_BROADCAST, 0 },
	{ "remote_addr_is_valid_syntax", SX, KT_FAM, 0, -1, 1, 0x0a000001, 0 },
	{ "port_zero", SX, KT_FAM, 0, -1, 0, AFX_ADDR_ANY, 0 },
	{ "port_all_bits", SX, KT_FAM, 0, -1, 0xffffffff, AFX_ADDR_ANY, 0 },
	{ "longer_len_ignored", SX + 16, KT_FAM, 0, -1, 5000, AFX_ADDR_ANY, 0 },
	{ "len_one_short", SX - 1, KT_FAM, 0, -1, 5000, AFX_ADDR_ANY, -EINVAL },
	{ "len_family_only", 2, KT_FAM, 0, -1, 5000, AFX_ADDR_ANY, -EINVAL },
	{ "len_zero", 0, KT_FAM, 0, -1, 5000, AFX_ADDR_ANY, -EINVAL },
	{ "len_negative", -1, KT_FAM, 0, -1, 5000, AFX_ADDR_ANY, -EINVAL },
	{ "family_unspec", SX, AF_UNSPEC, 0, -1, 5000, AFX_ADDR_ANY, -EAFNOSUPPORT },
	{ "family_inet", SX, AF_INET, 0, -1, 5000, AFX_ADDR_ANY, -EAFNOSUPPORT },
	{ "family_unix", SX, AF_UNIX, 0, -1, 5000, AFX_ADDR_ANY, -EAFNOSUPPORT },
	{ "reserved1_set", SX, KT_FAM, 1, -1, 5000, AFX_ADDR_ANY, -EINVAL },
	{ "reserved1_high_bit", SX, KT_FAM, 0x8000, -1, 5000, AFX_ADDR_ANY, -EINVAL },
	{ "zero0_set", SX, KT_FAM, 0, 0, 5000, AFX_ADDR_ANY, -EINVAL },
	{ "zero3_set", SX, KT_FAM, 0, 3, 5000, AFX_ADDR_ANY, -EINVAL },
	{ "short_len_before_family", SX - 1, AF_INET, 0, -1, 5000, AFX_ADDR_ANY, -EINVAL },
	{ "family_before_reserved", SX, AF_INET, 1, 2, 5000, AFX_ADDR_ANY, -EAFNOSUPPORT },
};

static void kt_addr_case_desc(const struct kt_addr_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(kt_addr, kt_addr_cases, kt_addr_case_desc);

static void addr_validation(struct kunit *test)
{
	const struct kt_addr_case *c = test->param_value;
	/* Room for the "longer than needed" rows. */
	union {
		struct sockaddr_x sx;
		struct sockaddr_storage ss;
	} u;

	memset(&u, 0, sizeof(u));
	u.sx.sx_family = c->family == KT_FAM ? afx_family : c->family;
	u.sx.sx_reserved1 = c->reserved1;
	u.sx.sx_port = c->port;
	u.sx.sx_addr = c->addr;
	if (c->zero_byte >= 0)
		u.sx.sx_zero[c->zero_byte] = 0x5a;
	KUNIT_EXPECT_EQ(test, afx_check_addr((struct sockaddr *)&u.sx, c->len),
			c->want);
}

/**
 * struct kt_dest_case - one row of the afx_check_dest() table
 * @desc: the case name
 * @type: the sending socket's type
 * @broadcast: SO_BROADCAST set on it
 * @addr: the destination address
 * @want: the expected return
 */
struct kt_dest_case {
	const char *desc;
	int type;
	bool broadcast;
	u32 addr;
	int want;
};

static const struct kt_dest_case kt_dest_cases[] = {
	{ "stream_any", SOCK_STREAM, false, AFX_ADDR_ANY, 0 },
	{ "stream_local", SOCK_STREAM, false, AFX_ADDR_LOCAL, 0 },
	{ "stream_broadcast", SOCK_STREAM, true, AFX_ADDR_BROADCAST, -ENETUNREACH },
	{ "stream_remote", SOCK_STREAM, false, 2, -ENETUNREACH },
	{ "dgram_any", SOCK_DGRAM, false, AFX_ADDR_ANY, 0 },
	{ "dgram_local", SOCK_DGRAM, false, AFX_ADDR_LOCAL, 0 },
	{ "dgram_broadcast_no_flag", SOCK_DGRAM, false, AFX_ADDR_BROADCAST, -EACCES },
	{ "dgram_broadcast_flag", SOCK_DGRAM, true, AFX_ADDR_BROADCAST, 0 },
	{ "dgram_remote", SOCK_DGRAM, true, 0x7f000001, -ENETUNREACH },
};

static void kt_dest_case_desc(const struct kt_dest_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(kt_dest, kt_dest_cases, kt_dest_case_desc);

static void addr_destination(struct kunit *test)
{
	const struct kt_dest_case *c = test->param_value;
	struct sockaddr_x sx = kt_addr(c->addr, 5000);
	struct socket *sock = kt_sock(test, c->type);

	sock_valbool_flag(sock->sk, SOCK_BROADCAST, c->broadcast);
	KUNIT_EXPECT_EQ(test, afx_check_dest(sock->sk, &sx), c->want);
}

/* getsockname()/getpeername() report what the validation accepted. */
static void addr_names(struct kunit *test)
{
	struct socket *s = kt_sock(test, SOCK_STREAM);
	struct sockaddr_x sx;

	memset(&sx, 0xff, sizeof(sx));
	KUNIT_EXPECT_EQ(test, kernel_getsockname(s, (struct sockaddr *)&sx),
			SX);
	KUNIT_EXPECT_EQ(test, sx.sx_family, afx_family);
	KUNIT_EXPECT_EQ(test, sx.sx_port, 0U);
	KUNIT_EXPECT_EQ(test, sx.sx_addr, AFX_ADDR_ANY);
	KUNIT_EXPECT_EQ(test, afx_check_addr((struct sockaddr *)&sx, SX), 0);
	KUNIT_EXPECT_EQ(test, kernel_getpeername(s, (struct sockaddr *)&sx),
			-ENOTCONN);

	KUNIT_ASSERT_EQ(test, kt_bind(s, AFX_ADDR_LOCAL, 0), 0);
	KUNIT_EXPECT_EQ(test, kernel_getsockname(s, (struct sockaddr *)&sx),
			SX);
	KUNIT_EXPECT_EQ(test, sx.sx_addr, AFX_ADDR_LOCAL);
	KUNIT_EXPECT_EQ(test, sx.sx_port, kt_port(s));
	KUNIT_EXPECT_EQ(test, afx_check_addr((struct sockaddr *)&sx, SX), 0);
}

/* bind() and connect() run the validation before anything else. */
static void addr_checked_by_bind_and_connect(struct kunit *test)
{
	struct socket *s = kt_sock(test, SOCK_STREAM);
	struct sockaddr_x sx = kt_addr(AFX_ADDR_ANY, 0);

	sx.sx_zero[1] = 1;
	KUNIT_EXPECT_EQ(test, kernel_bind(s, (struct sockaddr *)&sx, SX),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, kernel_connect(s, (struct sockaddr *)&sx, SX, 0),
			-EINVAL);
	sx = kt_addr(AFX_ADDR_ANY, 0);
	sx.sx_family = AF_INET;
	KUNIT_EXPECT_EQ(test, kernel_bind(s, (struct sockaddr *)&sx, SX),
			-EAFNOSUPPORT);
	sx = kt_addr(AFX_ADDR_BROADCAST, 0);
	KUNIT_EXPECT_EQ(test, kernel_bind(s, (struct sockaddr *)&sx, SX),
			-EADDRNOTAVAIL);
	sx = kt_addr(0x1234, 0);
	KUNIT_EXPECT_EQ(test, kernel_bind(s, (struct sockaddr *)&sx, SX),
			-EADDRNOTAVAIL);
	KUNIT_EXPECT_FALSE(test, afx_is_bound(s->sk));
}

static struct kunit_case afx_addr_cases[] = {
	KUNIT_CASE_PARAM(addr_validation, kt_addr_gen_params),
	KUNIT_CASE_PARAM(addr_destination, kt_dest_gen_params),
	KUNIT_CASE(addr_names),
	KUNIT_CASE(addr_checked_by_bind_and_connect),
	{}
};

static struct kunit_suite afx_addr_suite = {
	.name = "afx_addr",
	.init = kt_init,
	.exit = kt_exit,
	.test_cases = afx_addr_cases,
};

/* ---- afx_port: ephemeral ports on a private table ---------------------------- */

#define KT_LO	100U
#define KT_HI	107U

/* A bind table of our own, ephemeral range KT_LO..KT_HI. */
static struct afx_net *kt_table(struct kunit *test)
{
	struct afx_net *an = kunit_kzalloc(test, sizeof(*an), GFP_KERNEL);
	int s, i;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, an);
	spin_lock_init(&an->lock);
	for (s = 0; s < AFX_SPACES; s++) {
		for (i = 0; i < ARRAY_SIZE(an->bind[s]); i++)
			INIT_HLIST_HEAD(&an->bind[s][i]);
		an->next_port[s] = KT_LO;
	}
	an->port_lo = KT_LO;
	an->port_hi = KT_HI;
	return an;
}

/* A fake socket bound to @port in @space of @an. */
static struct afx_sock *kt_take(struct kunit *test, struct afx_net *an,
				enum afx_space space, u32 port, bool reuse)
{
	struct afx_sock *ax = kunit_kzalloc(test, sizeof(*ax), GFP_KERNEL);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, ax);
	ax->sk.sk_type = space == AFX_SPACE_STREAM ? SOCK_STREAM : SOCK_DGRAM;
	ax->sk.sk_reuse = reuse;
	ax->local = kt_addr(AFX_ADDR_ANY, port);
	spin_lock(&an->lock);
	hlist_add_head_rcu(&ax->bind_node, afx_bucket(an, space, port));
	spin_unlock(&an->lock);
	return ax;
}

static void kt_untake(struct afx_net *an, struct afx_sock *ax)
{
	spin_lock(&an->lock);
	hlist_del_init_rcu(&ax->bind_node);
	spin_unlock(&an->lock);
}

static u32 kt_pick(struct afx_net *an, enum afx_space space)
{
	u32 port;

	spin_lock(&an->lock);
	port = afx_pick_port(an, space);
	spin_unlock(&an->lock);
	return port;
}

static bool kt_taken(struct afx_net *an, enum afx_space space, u32 port,
		     const struct sock *sk)
{
	bool taken;

	spin_lock(&an->lock);
	taken = afx_port_taken(an, space, port, sk);
	spin_unlock(&an->lock);
	return taken;
}

/* Pick and take, as bind() with port 0 does. */
static u32 kt_pick_take(struct kunit *test, struct afx_net *an,
			enum afx_space space)
{
	u32 port = kt_pick(an, space);

	if (port)
		kt_take(test, an, space, port, false);
	return port;
}

static void port_range_in_order(struct kunit *test)
{
	struct afx_net *an = kt_table(test);
	u32 p;

	for (p = KT_LO; p <= KT_HI; p++)
		KUNIT_EXPECT_EQ(test, kt_pick_take(test, an, AFX_SPACE_STREAM), p);
}

static void port_never_outside_range(struct kunit *test)
{
	struct afx_net *an = kt_table(test);
	int i;
	u32 p;

	an->next_port[AFX_SPACE_DGRAM] = 5;	/* below the range */
	KUNIT_EXPECT_EQ(test, kt_pick(an, AFX_SPACE_DGRAM), KT_LO);
	an->next_port[AFX_SPACE_DGRAM] = KT_HI + 9;	/* above it */
	KUNIT_EXPECT_EQ(test, kt_pick(an, AFX_SPACE_DGRAM), KT_LO);
	for (i = 0; i < 20; i++) {
		p = kt_pick(an, AFX_SPACE_DGRAM);
		KUNIT_EXPECT_GE(test, p, KT_LO);
		KUNIT_EXPECT_LE(test, p, KT_HI);
	}
}

static void port_wraps_to_start(struct kunit *test)
{
	struct afx_net *an = kt_table(test);

	an->next_port[AFX_SPACE_STREAM] = KT_HI;
	KUNIT_EXPECT_EQ(test, kt_pick_take(test, an, AFX_SPACE_STREAM), KT_HI);
	KUNIT_EXPECT_EQ(test, an->next_port[AFX_SPACE_STREAM], KT_LO);
	KUNIT_EXPECT_EQ(test, kt_pick_take(test, an, AFX_SPACE_STREAM), KT_LO);
}

static void port_search_wraps_past_taken(struct kunit *test)
{
	struct afx_net *an = kt_table(test);

	/* Only KT_LO + 1 is free; the search starts at KT_HI - 1. */
	kt_take(test, an, AFX_SPACE_STREAM, KT_LO, false);
	kt_take(test, an, AFX_SPACE_STREAM, KT_LO + 2, false);
	kt_take(test, an, AFX_SPACE_STREAM, KT_LO + 3, false);
	kt_take(test, an, AFX_SPACE_STREAM, KT_LO + 4, false);
	kt_take(test, an, AFX_SPACE_STREAM, KT_LO + 5, false);
	kt_take(test, an, AFX_SPACE_STREAM, KT_HI - 1, false);
	kt_take(test, an, AFX_SPACE_STREAM, KT_HI, false);
	an->next_port[AFX_SPACE_STREAM] = KT_HI - 1;
	KUNIT_EXPECT_EQ(test, kt_pick(an, AFX_SPACE_STREAM), KT_LO + 1);
	KUNIT_EXPECT_EQ(test, an->next_port[AFX_SPACE_STREAM], KT_LO + 2);
}

static void port_exhaustion(struct kunit *test)
{
	struct afx_net *an = kt_table(test);
	u32 p;

	for (p = KT_LO; p <= KT_HI; p++)
		KUNIT_ASSERT_NE(test, kt_pick_take(test, an, AFX_SPACE_DGRAM), 0U);
	KUNIT_EXPECT_EQ(test, kt_pick(an, AFX_SPACE_DGRAM), 0U);
	KUNIT_EXPECT_EQ(test, kt_pick(an, AFX_SPACE_DGRAM), 0U);
	/* The other space is untouched. */
	KUNIT_EXPECT_EQ(test, kt_pick(an, AFX_SPACE_STREAM), KT_LO);
}

static void port_reuse_after_close(struct kunit *test)
{
	struct afx_net *an = kt_table(test);
	struct afx_sock *freed = NULL, *ax;
	u32 p;

	for (p = KT_LO; p <= KT_HI; p++) {
		ax = kt_take(test, an, AFX_SPACE_STREAM, p, false);
		if (p == KT_LO + 5)
			freed = ax;
	}
	KUNIT_ASSERT_EQ(test, kt_pick(an, AFX_SPACE_STREAM), 0U);
	kt_untake(an, freed);
	KUNIT_EXPECT_EQ(test, kt_pick_take(test, an, AFX_SPACE_STREAM), KT_LO + 5);
	KUNIT_EXPECT_EQ(test, kt_pick(an, AFX_SPACE_STREAM), 0U);
}

static void port_reuseaddr_still_taken_for_ephemeral(struct kunit *test)
{
	struct afx_net *an = kt_table(test);

	kt_take(test, an, AFX_SPACE_DGRAM, KT_LO, true);
	KUNIT_EXPECT_EQ(test, kt_pick(an, AFX_SPACE_DGRAM), KT_LO + 1);
}

/* A port in the same hash bucket is not the port. */
static void port_same_bucket_other_port(struct kunit *test)
{
	struct afx_net *an = kt_table(test);
	u32 p = 40000, q;

	for (q = p + 1; q < p + (1U << 22); q++)
		if (hash_32(q, AFX_BIND_HASH_BITS) == hash_32(p, AFX_BIND_HASH_BITS))
			break;
	KUNIT_ASSERT_PTR_EQ(test, afx_bucket(an, AFX_SPACE_STREAM, p),
			    afx_bucket(an, AFX_SPACE_STREAM, q));
	kt_take(test, an, AFX_SPACE_STREAM, q, false);
	KUNIT_EXPECT_FALSE(test, kt_taken(an, AFX_SPACE_STREAM, p, NULL));
	KUNIT_EXPECT_TRUE(test, kt_taken(an, AFX_SPACE_STREAM, q, NULL));
}

/* The real thing: bind port 0, listen and connect on unbound sockets. */
static void port_autobind_real_sockets(struct kunit *test)
{
	struct socket *a = kt_sock(test, SOCK_STREAM);
	struct socket *l = kt_sock(test, SOCK_STREAM);
	struct socket *d = kt_sock(test, SOCK_DGRAM);
	struct sockaddr_x sx;

	KUNIT_ASSERT_EQ(test, kt_bind(a, AFX_ADDR_LOCAL, 0), 0);
	KUNIT_EXPECT_GE(test, kt_port(a), AFX_EPHEMERAL_LO);
	KUNIT_EXPECT_LE(test, kt_port(a), AFX_EPHEMERAL_HI);
	KUNIT_EXPECT_EQ(test, afx_sk(a->sk)->local.sx_addr, AFX_ADDR_LOCAL);

	KUNIT_ASSERT_EQ(test, kernel_listen(l, 1), 0);
	KUNIT_EXPECT_TRUE(test, afx_is_bound(l->sk));
	KUNIT_EXPECT_NE(test, kt_port(l), kt_port(a));
	KUNIT_EXPECT_GE(test, kt_port(l), AFX_EPHEMERAL_LO);
	KUNIT_ASSERT_EQ(test, kernel_getsockname(l, (struct sockaddr *)&sx), SX);
	KUNIT_EXPECT_EQ(test, sx.sx_addr, AFX_ADDR_ANY);

	sx = kt_addr(AFX_ADDR_LOCAL, kt_port(a));
	KUNIT_EXPECT_EQ(test, kt_sendto(d, &sx, "x", 1, 0), -ECONNREFUSED);
	KUNIT_EXPECT_TRUE(test, afx_is_bound(d->sk));
	KUNIT_EXPECT_GE(test, kt_port(d), AFX_EPHEMERAL_LO);
}

static struct kunit_case afx_port_cases[] = {
	KUNIT_CASE(port_range_in_order),
	KUNIT_CASE(port_never_outside_range),
	KUNIT_CASE(port_wraps_to_start),
	KUNIT_CASE(port_search_wraps_past_taken),
	KUNIT_CASE(port_exhaustion),
	KUNIT_CASE(port_reuse_after_close),
	KUNIT_CASE(port_reuseaddr_still_taken_for_ephemeral),
	KUNIT_CASE(port_same_bucket_other_port),
	KUNIT_CASE(port_autobind_real_sockets),
	{}
};

static struct kunit_suite afx_port_suite = {
	.name = "afx_port",
	.init = kt_init,
	.exit = kt_exit,
	.test_cases = afx_port_cases,
};

/* ---- afx_bind: the bind tables ------------------------------------------------ */

/* Fixed ports for the conflict cases, away from the ephemeral range. */
#define KT_PORT	23400U

static void bind_taken_rules(struct kunit *test)
{
	struct afx_net *an = kt_table(test);
	struct afx_sock *plain, *reuse;

	plain = kunit_kzalloc(test, sizeof(*plain), GFP_KERNEL);
	reuse = kunit_kzalloc(test, sizeof(*reuse), GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, plain);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, reuse);
	reuse->sk.sk_reuse = 1;

	kt_take(test, an, AFX_SPACE_STREAM, KT_PORT, true);
	kt_take(test, an, AFX_SPACE_DGRAM, KT_PORT + 1, true);
	kt_take(test, an, AFX_SPACE_DGRAM, KT_PORT + 2, false);

	/* Stream: SO_REUSEADDR changes nothing. */
	KUNIT_EXPECT_TRUE(test, kt_taken(an, AFX_SPACE_STREAM, KT_PORT, &reuse->sk));
	KUNIT_EXPECT_TRUE(test, kt_taken(an, AFX_SPACE_STREAM, KT_PORT, &plain->sk));
	/* Datagram: shared only when both set it. */
	KUNIT_EXPECT_FALSE(test, kt_taken(an, AFX_SPACE_DGRAM, KT_PORT + 1, &reuse->sk));
	KUNIT_EXPECT_TRUE(test, kt_taken(an, AFX_SPACE_DGRAM, KT_PORT + 1, &plain->sk));
	KUNIT_EXPECT_TRUE(test, kt_taken(an, AFX_SPACE_DGRAM, KT_PORT + 2, &reuse->sk));
	/* Separate spaces. */
	KUNIT_EXPECT_FALSE(test, kt_taken(an, AFX_SPACE_DGRAM, KT_PORT, &plain->sk));
	KUNIT_EXPECT_FALSE(test, kt_taken(an, AFX_SPACE_STREAM, KT_PORT + 1, &plain->sk));
}

static void bind_tables_per_namespace(struct kunit *test)
{
	struct afx_net *a = kt_table(test), *b = kt_table(test);

	kt_take(test, a, AFX_SPACE_STREAM, KT_PORT, false);
	KUNIT_EXPECT_TRUE(test, kt_taken(a, AFX_SPACE_STREAM, KT_PORT, NULL));
	KUNIT_EXPECT_FALSE(test, kt_taken(b, AFX_SPACE_STREAM, KT_PORT, NULL));
	/* Ephemeral allocation is per table, too. */
	a->next_port[AFX_SPACE_STREAM] = KT_HI;
	kt_take(test, a, AFX_SPACE_STREAM, KT_HI, false);
	b->next_port[AFX_SPACE_STREAM] = KT_HI;
	KUNIT_EXPECT_EQ(test, kt_pick(b, AFX_SPACE_STREAM), KT_HI);
}

static void bind_conflict_same_addr(struct kunit *test)
{
	struct socket *a = kt_sock(test, SOCK_STREAM);
	struct socket *b = kt_sock(test, SOCK_STREAM);
	struct socket *c = kt_sock(test, SOCK_DGRAM);
	struct socket *d = kt_sock(test, SOCK_DGRAM);

	KUNIT_ASSERT_EQ(test, kt_bind(a, AFX_ADDR_LOCAL, KT_PORT), 0);
	KUNIT_EXPECT_EQ(test, kt_bind(b, AFX_ADDR_LOCAL, KT_PORT), -EADDRINUSE);
	KUNIT_ASSERT_EQ(test, kt_bind(c, AFX_ADDR_ANY, KT_PORT), 0);
	KUNIT_EXPECT_EQ(test, kt_bind(d, AFX_ADDR_ANY, KT_PORT), -EADDRINUSE);
	KUNIT_EXPECT_FALSE(test, afx_is_bound(b->sk));
	KUNIT_EXPECT_FALSE(test, afx_is_bound(d->sk));
}

static void bind_wildcard_vs_local(struct kunit *test)
{
	struct socket *any = kt_sock(test, SOCK_STREAM);
	struct socket *local = kt_sock(test, SOCK_STREAM);
	struct socket *any2 = kt_sock(test, SOCK_DGRAM);
	struct socket *local2 = kt_sock(test, SOCK_DGRAM);

	KUNIT_ASSERT_EQ(test, kt_bind(any, AFX_ADDR_ANY, KT_PORT), 0);
	KUNIT_EXPECT_EQ(test, kt_bind(local, AFX_ADDR_LOCAL, KT_PORT), -EADDRINUSE);
	KUNIT_ASSERT_EQ(test, kt_bind(local2, AFX_ADDR_LOCAL, KT_PORT + 1), 0);
	KUNIT_EXPECT_EQ(test, kt_bind(any2, AFX_ADDR_ANY, KT_PORT + 1), -EADDRINUSE);
}

static void bind_spaces_separate(struct kunit *test)
{
	struct socket *s = kt_sock(test, SOCK_STREAM);
	struct socket *d = kt_sock(test, SOCK_DGRAM);

	KUNIT_EXPECT_EQ(test, kt_bind(s, AFX_ADDR_ANY, KT_PORT), 0);
	KUNIT_EXPECT_EQ(test, kt_bind(d, AFX_ADDR_ANY, KT_PORT), 0);
}

static void bind_reuseaddr(struct kunit *test)
{
	struct socket *d1 = kt_sock(test, SOCK_DGRAM);
	struct socket *d2 = kt_sock(test, SOCK_DGRAM);
	struct socket *d3 = kt_sock(test, SOCK_DGRAM);
	struct socket *s1 = kt_sock(test, SOCK_STREAM);
	struct socket *s2 = kt_sock(test, SOCK_STREAM);

	sock_set_reuseaddr(d1->sk);
	sock_set_reuseaddr(d2->sk);
	KUNIT_EXPECT_EQ(test, kt_bind(d1, AFX_ADDR_ANY, KT_PORT), 0);
	KUNIT_EXPECT_EQ(test, kt_bind(d2, AFX_ADDR_LOCAL, KT_PORT), 0);
	KUNIT_EXPECT_EQ(test, kt_bind(d3, AFX_ADDR_ANY, KT_PORT), -EADDRINUSE);

	sock_set_reuseaddr(s1->sk);
	sock_set_reuseaddr(s2->sk);
	KUNIT_EXPECT_EQ(test, kt_bind(s1, AFX_ADDR_ANY, KT_PORT), 0);
	KUNIT_EXPECT_EQ(test, kt_bind(s2, AFX_ADDR_ANY, KT_PORT), -EADDRINUSE);
}

static void bind_once(struct kunit *test)
{
	struct socket *s = kt_sock(test, SOCK_STREAM);

	KUNIT_ASSERT_EQ(test, kt_bind(s, AFX_ADDR_ANY, KT_PORT), 0);
	KUNIT_EXPECT_EQ(test, kt_bind(s, AFX_ADDR_ANY, KT_PORT + 1), -EINVAL);
	KUNIT_EXPECT_EQ(test, kt_bind(s, AFX_ADDR_ANY, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, kt_port(s), KT_PORT);
}

static void bind_close_frees_port(struct kunit *test)
{
	struct socket *a = kt_sock(test, SOCK_STREAM);
	struct socket *b = kt_sock(test, SOCK_STREAM);
	struct socket *l;

	KUNIT_ASSERT_EQ(test, kt_bind(a, AFX_ADDR_ANY, KT_PORT), 0);
	kt_close(test, a);
	KUNIT_EXPECT_EQ(test, kt_bind(b, AFX_ADDR_ANY, KT_PORT), 0);

	/* A listener with a connection still frees its port on close. */
	l = kt_sock(test, SOCK_STREAM);
	KUNIT_ASSERT_EQ(test, kt_bind(l, AFX_ADDR_ANY, KT_PORT + 1), 0);
	KUNIT_ASSERT_EQ(test, kernel_listen(l, 4), 0);
	a = kt_sock(test, SOCK_STREAM);
	KUNIT_ASSERT_EQ(test, kt_connect(a, KT_PORT + 1, 0), 0);
	kt_close(test, l);
	l = kt_sock(test, SOCK_STREAM);
	KUNIT_EXPECT_EQ(test, kt_bind(l, AFX_ADDR_ANY, KT_PORT + 1), 0);
}

static void bind_stream_lookup(struct kunit *test)
{
	struct socket *s = kt_sock(test, SOCK_STREAM);
	struct socket *d = kt_sock(test, SOCK_DGRAM);
	struct sock *found;
	int ref;

	KUNIT_ASSERT_EQ(test, kt_bind(d, AFX_ADDR_ANY, KT_PORT), 0);
	KUNIT_EXPECT_NULL(test, afx_stream_lookup(&init_net, KT_PORT));

	KUNIT_ASSERT_EQ(test, kt_bind(s, AFX_ADDR_ANY, KT_PORT), 0);
	ref = refcount_read(&s->sk->sk_refcnt);
	found = afx_stream_lookup(&init_net, KT_PORT);
	KUNIT_EXPECT_PTR_EQ(test, found, s->sk);
	if (found) {
		KUNIT_EXPECT_EQ(test, refcount_read(&found->sk_refcnt), ref + 1);
		sock_put(found);
	}
	KUNIT_EXPECT_NULL(test, afx_stream_lookup(&init_net, KT_PORT + 1));

	kt_close(test, s);
	KUNIT_EXPECT_NULL(test, afx_stream_lookup(&init_net, KT_PORT));
}

/* The network namespace of some process outside init_net, referenced. */
static struct net *kt_net2(struct kunit *test)
{
	struct afx_kt *kt = test->priv;
	struct task_struct *p;
	struct net *net = NULL;

	rcu_read_lock();
	for_each_process(p) {
		task_lock(p);
		if (p->nsproxy && p->nsproxy->net_ns != &init_net)
			net = maybe_get_net(p->nsproxy->net_ns);
		task_unlock(p);
		if (net)
			break;
	}
	rcu_read_unlock();
	if (!net)
		kunit_skip(test, "needs a process in a network namespace other than init_net");
	kt->net2 = net;
	return net;
}

static void bind_netns_separation(struct kunit *test)
{
	struct net *net2 = kt_net2(test);
	struct socket *a = kt_sock(test, SOCK_STREAM);
	struct socket *b = kt_sock_net(test, net2, SOCK_STREAM);
	struct socket *c = kt_sock_net(test, net2, SOCK_STREAM);
	struct socket *d1 = kt_sock(test, SOCK_DGRAM);
	struct socket *d2 = kt_sock_net(test, net2, SOCK_DGRAM);
	struct sockaddr_x to = kt_addr(AFX_ADDR_LOCAL, KT_PORT);

	KUNIT_ASSERT_EQ(test, kt_bind(a, AFX_ADDR_ANY, KT_PORT), 0);
	KUNIT_ASSERT_EQ(test, kernel_listen(a, 4), 0);
	/* Same port in the other namespace: free there. */
	KUNIT_EXPECT_EQ(test, kt_bind(b, AFX_ADDR_ANY, KT_PORT), 0);
	KUNIT_EXPECT_NULL(test, afx_stream_lookup(net2, KT_PORT + 1));
	/* Nobody listens on it in net2. */
	KUNIT_EXPECT_EQ(test, kt_connect(c, KT_PORT, 0), -ECONNREFUSED);
	KUNIT_EXPECT_EQ(test, a->sk->sk_ack_backlog, 0);

	KUNIT_ASSERT_EQ(test, kt_bind(d1, AFX_ADDR_ANY, KT_PORT), 0);
	KUNIT_EXPECT_EQ(test, kt_sendto(d2, &to, "x", 1, 0), -ECONNREFUSED);
	KUNIT_EXPECT_TRUE(test, skb_queue_empty(&d1->sk->sk_receive_queue));
	/* Broadcast stays in its namespace too. */
	sock_valbool_flag(d2->sk, SOCK_BROADCAST, true);
	to.sx_addr = AFX_ADDR_BROADCAST;
	KUNIT_EXPECT_EQ(test, kt_sendto(d2, &to, "x", 1, 0), 1);
	KUNIT_EXPECT_TRUE(test, skb_queue_empty(&d1->sk->sk_receive_queue));
}

static struct kunit_case afx_bind_cases[] = {
	KUNIT_CASE(bind_taken_rules),
	KUNIT_CASE(bind_tables_per_namespace),
	KUNIT_CASE(bind_conflict_same_addr),
	KUNIT_CASE(bind_wildcard_vs_local),
	KUNIT_CASE(bind_spaces_separate),
	KUNIT_CASE(bind_reuseaddr),
	KUNIT_CASE(bind_once),
	KUNIT_CASE(bind_close_frees_port),
	KUNIT_CASE(bind_stream_lookup),
	KUNIT_CASE(bind_netns_separation),
	{}
};

static struct kunit_suite afx_bind_suite = {
	.name = "afx_bind",
	.init = kt_init,
	.exit = kt_exit,
	.test_cases = afx_bind_cases,
};

/* ---- afx_stream: buffer accounting and wakeups --------------------------------- */

static void stream_sbuf_limit(struct kunit *test)
{
	struct socket *c, *s;

	kt_pair(test, &c, &s);
	WRITE_ONCE(c->sk->sk_sndbuf, 10000);
	WRITE_ONCE(s->sk->sk_rcvbuf, 6000);
	KUNIT_EXPECT_EQ(test, afx_sbuf_limit(c->sk, s->sk), 6000U);
	WRITE_ONCE(c->sk->sk_sndbuf, 5000);
	KUNIT_EXPECT_EQ(test, afx_sbuf_limit(c->sk, s->sk), 5000U);
	/* The other direction uses the other two values. */
	WRITE_ONCE(s->sk->sk_sndbuf, 7000);
	WRITE_ONCE(c->sk->sk_rcvbuf, 8000);
	KUNIT_EXPECT_EQ(test, afx_sbuf_limit(s->sk, c->sk), 7000U);
}

static void stream_accounting(struct kunit *test)
{
	static const char data[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	struct socket *c, *s;
	struct afx_sock *sax;
	char buf[64];

	kt_pair(test, &c, &s);
	sax = afx_sk(s->sk);
	KUNIT_EXPECT_EQ(test, atomic_read(&s->sk->sk_rmem_alloc), 0);
	KUNIT_ASSERT_EQ(test, kt_send(c, data, 10), 10);
	KUNIT_ASSERT_EQ(test, kt_send(c, data + 10, 26), 26);
	KUNIT_EXPECT_EQ(test, READ_ONCE(sax->rx_bytes), 36U);
	KUNIT_EXPECT_EQ(test, atomic_read(&s->sk->sk_rmem_alloc),
			(int)kt_queued_truesize(s->sk));
	KUNIT_EXPECT_GE(test, atomic_read(&s->sk->sk_rmem_alloc), 36);
	/* Nothing is charged to the sender. */
	KUNIT_EXPECT_EQ(test, atomic_read(&c->sk->sk_rmem_alloc), 0);

	/* A read across the two skbs, then the rest: in order, all gone. */
	KUNIT_ASSERT_EQ(test, kt_recv(s, buf, 15, 0), 15);
	KUNIT_EXPECT_EQ(test, memcmp(buf, data, 15), 0);
	KUNIT_EXPECT_EQ(test, READ_ONCE(sax->rx_bytes), 21U);
	KUNIT_EXPECT_EQ(test, skb_queue_len(&s->sk->sk_receive_queue), 1U);
	KUNIT_ASSERT_EQ(test, kt_recv(s, buf, sizeof(buf), 0), 21);
	KUNIT_EXPECT_EQ(test, memcmp(buf, data + 15, 21), 0);
	KUNIT_EXPECT_EQ(test, READ_ONCE(sax->rx_bytes), 0U);
	KUNIT_EXPECT_EQ(test, atomic_read(&s->sk->sk_rmem_alloc), 0);
	KUNIT_EXPECT_EQ(test, kt_recv(s, buf, sizeof(buf), 0), -EAGAIN);
}

static void stream_partial_skb_consumed(struct kunit *test)
{
	struct socket *c, *s;
	char buf[8];
	int i;

	kt_pair(test, &c, &s);
	KUNIT_ASSERT_EQ(test, kt_send(c, "abcdefgh", 8), 8);
	for (i = 0; i < 8; i++) {
		KUNIT_ASSERT_EQ(test, kt_recv(s, buf, 1, 0), 1);
		KUNIT_EXPECT_EQ(test, buf[0], "abcdefgh"[i]);
		KUNIT_EXPECT_EQ(test, READ_ONCE(afx_sk(s->sk)->rx_bytes), 7U - i);
	}
	KUNIT_EXPECT_TRUE(test, skb_queue_empty(&s->sk->sk_receive_queue));
	KUNIT_EXPECT_EQ(test, atomic_read(&s->sk->sk_rmem_alloc), 0);
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
	KUNIT_EXPECT_EQ(test, READ_ONCE(afx_sk(s->sk)->rx_bytes), 10U);
	KUNIT_EXPECT_EQ(test, kt_recv(s, buf, 3, 0), 3);
	KUNIT_EXPECT_EQ(test, kt_recv(s, buf, sizeof(buf), MSG_PEEK), 7);
	KUNIT_EXPECT_EQ(test, memcmp(buf, "loworld", 7), 0);
	KUNIT_EXPECT_EQ(test, kt_recv(s, buf, sizeof(buf), 0), 7);
	KUNIT_EXPECT_EQ(test, READ_ONCE(afx_sk(s->sk)->rx_bytes), 0U);
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

	KUNIT_EXPECT_TRUE(test, afx_sbuf_room(c->sk, s->sk));
	n = kt_send(c, big, 65536);
	KUNIT_EXPECT_GT(test, n, 0);
	KUNIT_EXPECT_LE(test, n, 4096);
	KUNIT_EXPECT_FALSE(test, afx_sbuf_room(c->sk, s->sk));
	KUNIT_EXPECT_FALSE(test, afx_stream_can_write(c->sk));
	KUNIT_EXPECT_FALSE(test, kt_poll(c) & EPOLLOUT);
	KUNIT_EXPECT_EQ(test, kt_send(c, big, 1), -EAGAIN);

	while ((r = kt_recv(s, big, 65536, 0)) > 0)
		got += r;
	KUNIT_EXPECT_EQ(test, got, n);
	KUNIT_EXPECT_TRUE(test, afx_sbuf_room(c->sk, s->sk));
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

	KUNIT_EXPECT_EQ(test, kt_poll(u), EPOLLOUT | EPOLLWRNORM | EPOLLHUP);
	KUNIT_EXPECT_EQ(test, kt_poll(l), 0U);

	kt_pair_on(test, l, &c, &s);
	KUNIT_EXPECT_EQ(test, kt_poll(s), EPOLLOUT | EPOLLWRNORM);
	c = kt_sock(test, SOCK_STREAM);
	KUNIT_ASSERT_EQ(test, kt_connect(c, kt_port(l), 0), 0);
	KUNIT_EXPECT_EQ(test, kt_poll(l), EPOLLIN | EPOLLRDNORM);

	KUNIT_ASSERT_EQ(test, kt_send(c, "ab", 2), 2);
	s = kt_accept(test, l);
	KUNIT_EXPECT_EQ(test, kt_poll(l), 0U);
	KUNIT_EXPECT_EQ(test, kt_poll(s), EPOLLIN | EPOLLRDNORM | EPOLLOUT |
			EPOLLWRNORM);

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

	/* Reading wakes the writer with POLLOUT. */
	rw->calls = 0;
	KUNIT_ASSERT_EQ(test, kt_recv(s, buf, 3, 0), 3);
	KUNIT_EXPECT_GE(test, ww->calls, 1);
	KUNIT_EXPECT_TRUE(test, ww->keys & EPOLLOUT);
	KUNIT_EXPECT_FALSE(test, ww->keys & EPOLLIN);
	/* Peeking frees nothing, so it wakes nobody. */
	KUNIT_ASSERT_EQ(test, kt_send(c, "d", 1), 1);
	ww->calls = 0;
	KUNIT_ASSERT_EQ(test, kt_recv(s, buf, 1, MSG_PEEK), 1);
	KUNIT_EXPECT_EQ(test, ww->calls, 0);

	/* sk_data_ready is what a sender calls. */
	old = s->sk->sk_data_ready;
	kt_ready_calls = 0;
	s->sk->sk_data_ready = kt_count_ready;
	KUNIT_EXPECT_EQ(test, kt_send(c, "e", 1), 1);
	s->sk->sk_data_ready = old;
	KUNIT_EXPECT_EQ(test, kt_ready_calls, 1);

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
	KUNIT_EXPECT_EQ(test, kt_poll(b), 0U);
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

static void stream_refuse_when_full(struct kunit *test)
{
	struct socket *l = kt_listener(test, 1), *a, *b;
	s64 refused = kt_stat(&init_net, AFX_STAT_REFUSED_FULL);

	KUNIT_ASSERT_EQ(test, kt_setsockopt_int(l, X_REFUSE_WHEN_FULL, 1), 0);
	a = kt_sock(test, SOCK_STREAM);
	b = kt_sock(test, SOCK_STREAM);
	KUNIT_ASSERT_EQ(test, kt_connect(a, kt_port(l), 0), 0);
	KUNIT_EXPECT_EQ(test, kt_connect(b, kt_port(l), 0), -ECONNREFUSED);
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

	KUNIT_EXPECT_EQ(test, kt_connect(c, KT_PORT, 0), -ECONNREFUSED);
	KUNIT_ASSERT_EQ(test, kt_bind(bound, AFX_ADDR_ANY, KT_PORT), 0);
	KUNIT_EXPECT_EQ(test, kt_connect(c, KT_PORT, 0), -ECONNREFUSED);
	KUNIT_EXPECT_EQ(test, kt_connect(c, 0, 0), -ECONNREFUSED);
	KUNIT_EXPECT_EQ(test, kt_stat(&init_net, AFX_STAT_REFUSED_NOLISTEN),
			nolisten + 3);
	KUNIT_EXPECT_EQ(test, READ_ONCE(c->sk->sk_state), TCP_CLOSE);
	KUNIT_EXPECT_NULL(test, afx_sk(c->sk)->peer);
}

static struct kunit_case afx_stream_cases[] = {
	KUNIT_CASE(stream_sbuf_limit),
	KUNIT_CASE(stream_accounting),
	KUNIT_CASE(stream_partial_skb_consumed),
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

/* ---- afx_dgram: queue accounting, truncation, broadcast ------------------------ */

static void dgram_room(struct kunit *test)
{
	struct socket *d = kt_sock(test, SOCK_DGRAM);
	struct sock *sk = d->sk;

	WRITE_ONCE(sk->sk_rcvbuf, 1000);
	/* An empty queue takes anything, however large. */
	KUNIT_EXPECT_TRUE(test, afx_dgram_room(sk, 5000));
	atomic_set(&sk->sk_rmem_alloc, 600);
	KUNIT_EXPECT_TRUE(test, afx_dgram_room(sk, 400));
	KUNIT_EXPECT_FALSE(test, afx_dgram_room(sk, 401));
	KUNIT_EXPECT_TRUE(test, afx_dgram_room(sk, 0));
	atomic_set(&sk->sk_rmem_alloc, 1000);
	KUNIT_EXPECT_FALSE(test, afx_dgram_room(sk, 1));
	atomic_set(&sk->sk_rmem_alloc, 0);
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

static struct sk_buff *kt_skb(struct kunit *test, unsigned int len)
{
	struct sk_buff *skb = alloc_skb(len, GFP_KERNEL);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, skb);
	skb_put_zero(skb, len);
	return skb;
}

static void dgram_queue(struct kunit *test)
{
	struct socket *d = kt_sock(test, SOCK_DGRAM);
	struct sock *sk = d->sk;
	struct sk_buff *a = kt_skb(test, 100), *b = kt_skb(test, 100);
	struct sk_buff *c = kt_skb(test, 100);
	unsigned int ta = a->truesize;
	int err;

	WRITE_ONCE(sk->sk_rcvbuf, ta + ta / 2);
	KUNIT_ASSERT_EQ(test, afx_dgram_queue(sk, a), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&sk->sk_rmem_alloc), (int)ta);
	KUNIT_EXPECT_PTR_EQ(test, a->sk, sk);
	KUNIT_EXPECT_EQ(test, skb_queue_len(&sk->sk_receive_queue), 1U);

	err = afx_dgram_queue(sk, b);
	KUNIT_EXPECT_EQ(test, err, -EAGAIN);
	KUNIT_EXPECT_EQ(test, atomic_read(&sk->sk_rmem_alloc), (int)ta);
	KUNIT_EXPECT_EQ(test, skb_queue_len(&sk->sk_receive_queue), 1U);
	if (err)
		kfree_skb(b);

	KUNIT_ASSERT_EQ(test, kernel_sock_shutdown(d, SHUT_RD), 0);
	WRITE_ONCE(sk->sk_rcvbuf, 1 << 20);
	err = afx_dgram_queue(sk, c);
	KUNIT_EXPECT_EQ(test, err, -ECONNREFUSED);
	if (err)
		kfree_skb(c);
	KUNIT_EXPECT_EQ(test, skb_queue_len(&sk->sk_receive_queue), 1U);
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
	KUNIT_EXPECT_EQ(test, skb_queue_len(&r->sk->sk_receive_queue), 3U);
	KUNIT_EXPECT_EQ(test, atomic_read(&r->sk->sk_rmem_alloc),
			(int)kt_queued_truesize(r->sk));
	KUNIT_EXPECT_EQ(test, kt_stat(&init_net, AFX_STAT_DGRAM_SENT), sent + 3);
	KUNIT_EXPECT_EQ(test, atomic_read(&s->sk->sk_rmem_alloc), 0);

	for (i = 1; i <= 3; i++) {
		KUNIT_EXPECT_EQ(test, kt_recvfrom(r, buf, sizeof(buf), 0, NULL,
						  &from), i);
		KUNIT_EXPECT_EQ(test, from.sx_port, kt_port(s));
		KUNIT_EXPECT_EQ(test, from.sx_addr, AFX_ADDR_LOCAL);
	}
	KUNIT_EXPECT_EQ(test, atomic_read(&r->sk->sk_rmem_alloc), 0);
	KUNIT_EXPECT_EQ(test, kt_stat(&init_net, AFX_STAT_DGRAM_RCVD), rcvd + 3);
	KUNIT_EXPECT_EQ(test, kt_recv(r, buf, sizeof(buf), 0), -EAGAIN);

	/* Zero-length datagrams are datagrams. */
	KUNIT_EXPECT_EQ(test, kt_sendto(s, &to, "", 0, 0), 0);
	KUNIT_EXPECT_EQ(test, skb_queue_len(&r->sk->sk_receive_queue), 1U);
	KUNIT_EXPECT_EQ(test, kt_recv(r, buf, sizeof(buf), 0), 0);
	KUNIT_EXPECT_TRUE(test, skb_queue_empty(&r->sk->sk_receive_queue));
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
	KUNIT_EXPECT_LE(test, atomic_read(&r->sk->sk_rmem_alloc), 4096);

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
	KUNIT_EXPECT_EQ(test, skb_queue_len(&r->sk->sk_receive_queue), 2U);

	/* MSG_TRUNC asked for: the real length. */
	KUNIT_EXPECT_EQ(test, kt_recvfrom(r, buf, 10, MSG_TRUNC, &mflags, NULL),
			100);
	KUNIT_EXPECT_TRUE(test, mflags & MSG_TRUNC);

	/* Peek keeps it; a full-size read has no MSG_TRUNC. */
	KUNIT_EXPECT_EQ(test, kt_recvfrom(r, buf, 5, MSG_PEEK, &mflags, NULL), 5);
	KUNIT_EXPECT_EQ(test, skb_queue_len(&r->sk->sk_receive_queue), 1U);
	KUNIT_EXPECT_EQ(test, kt_recvfrom(r, buf, 100, 0, &mflags, NULL), 100);
	KUNIT_EXPECT_FALSE(test, mflags & MSG_TRUNC);
	KUNIT_EXPECT_EQ(test, memcmp(buf, data, 100), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&r->sk->sk_rmem_alloc), 0);
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
	KUNIT_EXPECT_TRUE(test, skb_queue_empty(&r->sk->sk_receive_queue));

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
		KUNIT_EXPECT_EQ(test, skb_queue_len(&r[i]->sk->sk_receive_queue), 1U);
		KUNIT_EXPECT_EQ(test, kt_recvfrom(r[i], buf, sizeof(buf), 0, NULL,
						  &from), 3);
		KUNIT_EXPECT_EQ(test, memcmp(buf, "all", 3), 0);
		KUNIT_EXPECT_EQ(test, from.sx_port, KT_PORT);
		KUNIT_EXPECT_EQ(test, atomic_read(&r[i]->sk->sk_rmem_alloc), 0);
	}

	/* Unicast to the shared port reaches exactly one of them. */
	KUNIT_ASSERT_EQ(test, kt_sendto(s, &u, "one", 3, 0), 3);
	for (i = 0; i < 4; i++)
		queued += skb_queue_len(&r[i]->sk->sk_receive_queue);
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
	KUNIT_EXPECT_EQ(test, skb_queue_len(&full->sk->sk_receive_queue), 1U);
	KUNIT_EXPECT_EQ(test, skb_queue_len(&open->sk->sk_receive_queue), 1U);
	KUNIT_EXPECT_TRUE(test, skb_queue_empty(&picky->sk->sk_receive_queue));
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

kunit_test_suites(&afx_addr_suite, &afx_port_suite, &afx_bind_suite,
		  &afx_stream_suite, &afx_dgram_suite, &afx_e2e_suite);

MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
MODULE_LICENSE("GPL");
MODULE_AUTHOR("The afx developers");
MODULE_DESCRIPTION("KUnit suites for afx.ko's internal units");
