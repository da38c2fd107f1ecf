// SPDX-License-Identifier: GPL-2.0
/*
 * afx: KUnit suites for addr.c, addresses, ports and the bind tables.
 *
 *   afx_addr  address validation (table-driven) and destination checks
 *   afx_port  ephemeral port allocation on a private bind table
 *   afx_bind  the bind tables: conflicts, wildcard vs local, SO_REUSEADDR,
 *             stream lookup, network namespace separation
 */

#include <kunit/resource.h>
#include <kunit/test.h>
#include <linux/hash.h>
#include <linux/mm.h>
#include <linux/net.h>
#include <linux/string.h>
#include <net/net_namespace.h>
#include <net/sock.h>

#include "afx_kunit.h"

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

/* ---- afx_port: ports of a namespace of its own ------------------------------- */

#define KT_LO	100U
#define KT_HI	107U

static int kt_table_init(struct kunit_resource *res, void *context)
{
	struct afx_net *an = kzalloc(sizeof(*an), GFP_KERNEL);

	if (!an)
		return -ENOMEM;
	if (afx_bind_init_net(an)) {
		kfree(an);
		return -ENOMEM;
	}
	an->port_range = KT_LO | KT_HI << 16;
	res->data = an;
	return 0;
}

static void kt_table_free(struct kunit_resource *res)
{
	struct afx_net *an = res->data;

	afx_bind_exit_net(an);
	kfree(an);
}

/* Bind tables of our own with a fresh key, ephemeral range KT_LO..KT_HI. */
static struct afx_net *kt_table(struct kunit *test)
{
	struct afx_net *an = kunit_alloc_resource(test, kt_table_init,
						  kt_table_free, GFP_KERNEL,
						  NULL);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, an);
	return an;
}

static void kt_untake(struct afx_net *an, struct afx_sock *ax);

/**
 * struct kt_fake_ctx - what kt_fake() makes
 * @an: the fake socket's namespace
 * @space: its port space
 * @reuse: SO_REUSEADDR
 */
struct kt_fake_ctx {
	struct afx_net *an;
	enum afx_space space;
	bool reuse;
};

static int kt_fake_init(struct kunit_resource *res, void *context)
{
	const struct kt_fake_ctx *c = context;
	struct afx_sock *ax = kzalloc(sizeof(*ax), GFP_KERNEL);

	if (!ax)
		return -ENOMEM;
	ax->an = c->an;
	ax->sk.sk_type = c->space == AFX_SPACE_STREAM ? SOCK_STREAM : SOCK_DGRAM;
	ax->sk.sk_reuse = c->reuse;
	INIT_HLIST_NODE(&ax->bind_node);
	res->data = ax;
	return 0;
}

/*
 * The bind tables are the module's, shared with real sockets: a fake still
 * on a chain leaves it, before its table goes (resources go newest first),
 * and RCU walkers of the chain may still be on it.
 */
static void kt_fake_free(struct kunit_resource *res)
{
	struct afx_sock *ax = res->data;

	if (!hlist_unhashed(&ax->bind_node))
		kt_untake(ax->an, ax);
	kfree_rcu(ax, sk.sk_rcu);
}

static struct afx_sock *kt_fake(struct kunit *test, struct afx_net *an,
				enum afx_space space, bool reuse)
{
	struct kt_fake_ctx c = { .an = an, .space = space, .reuse = reuse };
	struct afx_sock *ax = kunit_alloc_resource(test, kt_fake_init,
						   kt_fake_free, GFP_KERNEL,
						   &c);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, ax);
	return ax;
}

/* A fake socket bound to @port in @space of @an, taken or not. */
static struct afx_sock *kt_take(struct kunit *test, struct afx_net *an,
				enum afx_space space, u32 port, bool reuse)
{
	struct afx_sock *ax = kt_fake(test, an, space, reuse);
	struct afx_bind_bucket *b = afx_bucket(an, space, port);

	ax->local = kt_addr(AFX_ADDR_ANY, port);
	spin_lock(&b->lock);
	afx_bind_add(an, space, b, ax);
	spin_unlock(&b->lock);
	return ax;
}

static void kt_untake(struct afx_net *an, struct afx_sock *ax)
{
	enum afx_space space = ax->sk.sk_type == SOCK_STREAM ?
			       AFX_SPACE_STREAM : AFX_SPACE_DGRAM;
	struct afx_bind_bucket *b = afx_bucket(an, space, ax->local.sx_port);

	spin_lock(&b->lock);
	afx_bind_del(an, space, b, ax);
	spin_unlock(&b->lock);
}

/* Bind a fake socket to an ephemeral port, searching from @start. */
static u32 kt_claim(struct kunit *test, struct afx_net *an,
		    enum afx_space space, u32 start)
{
	return afx_bind_ephemeral_from(an, space, kt_fake(test, an, space, false),
				       AFX_ADDR_ANY, start);
}

static bool kt_taken(struct afx_net *an, enum afx_space space, u32 port,
		     const struct sock *sk)
{
	struct afx_bind_bucket *b = afx_bucket(an, space, port);
	bool taken;

	spin_lock(&b->lock);
	taken = afx_port_taken(an, b, space, port, sk);
	spin_unlock(&b->lock);
	return taken;
}

static bool kt_used(struct afx_net *an, enum afx_space space, u32 port)
{
	return test_bit(port, an->bind[space]->used);
}

static void port_search_from_start(struct kunit *test)
{
	struct afx_net *an = kt_table(test);

	KUNIT_EXPECT_EQ(test, kt_claim(test, an, AFX_SPACE_STREAM, KT_LO + 3),
			KT_LO + 3);
	KUNIT_EXPECT_EQ(test, kt_claim(test, an, AFX_SPACE_STREAM, KT_LO + 3),
			KT_LO + 4);
	KUNIT_EXPECT_TRUE(test, kt_taken(an, AFX_SPACE_STREAM, KT_LO + 3, NULL));
	KUNIT_EXPECT_TRUE(test, kt_taken(an, AFX_SPACE_STREAM, KT_LO + 4, NULL));
	KUNIT_EXPECT_FALSE(test, kt_taken(an, AFX_SPACE_STREAM, KT_LO + 5, NULL));
}

static void port_never_outside_range(struct kunit *test)
{
	struct afx_net *an = kt_table(test);
	int i;
	u32 p;

	/* A start outside the range (the range shrank) means the start. */
	KUNIT_EXPECT_EQ(test, kt_claim(test, an, AFX_SPACE_DGRAM, 5), KT_LO);
	KUNIT_EXPECT_EQ(test, kt_claim(test, an, AFX_SPACE_DGRAM, KT_HI + 9),
			KT_LO + 1);
	for (i = 0; i < 20; i++) {
		p = kt_claim(test, an, AFX_SPACE_DGRAM, KT_LO + i % 8);
		if (!p)
			break;
		KUNIT_EXPECT_GE(test, p, KT_LO);
		KUNIT_EXPECT_LE(test, p, KT_HI);
	}
	KUNIT_EXPECT_EQ(test, i, (int)(KT_HI - KT_LO - 1));
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
	KUNIT_EXPECT_EQ(test, kt_claim(test, an, AFX_SPACE_STREAM, KT_HI - 1),
			KT_LO + 1);
	KUNIT_EXPECT_EQ(test, kt_claim(test, an, AFX_SPACE_STREAM, KT_HI - 1),
			0U);
}

static void port_exhaustion(struct kunit *test)
{
	struct afx_net *an = kt_table(test);
	u32 p;

	for (p = KT_LO; p <= KT_HI; p++)
		KUNIT_ASSERT_NE(test, kt_claim(test, an, AFX_SPACE_DGRAM, p), 0U);
	for (p = KT_LO - 1; p <= KT_HI + 1; p++)
		KUNIT_EXPECT_EQ(test, kt_claim(test, an, AFX_SPACE_DGRAM, p), 0U);
	/* The other space is untouched. */
	KUNIT_EXPECT_EQ(test, kt_claim(test, an, AFX_SPACE_STREAM, KT_LO), KT_LO);
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
	KUNIT_ASSERT_EQ(test, kt_claim(test, an, AFX_SPACE_STREAM, KT_LO), 0U);
	kt_untake(an, freed);
	KUNIT_EXPECT_EQ(test, kt_claim(test, an, AFX_SPACE_STREAM, KT_LO + 6),
			KT_LO + 5);
	KUNIT_EXPECT_EQ(test, kt_claim(test, an, AFX_SPACE_STREAM, KT_LO), 0U);
}

static void port_reuseaddr_still_taken_for_ephemeral(struct kunit *test)
{
	struct afx_net *an = kt_table(test);

	kt_take(test, an, AFX_SPACE_DGRAM, KT_LO, true);
	KUNIT_EXPECT_EQ(test, kt_claim(test, an, AFX_SPACE_DGRAM, KT_LO),
			KT_LO + 1);
}

/* The used bit of a port stays set until its last socket leaves. */
static void port_used_bit_follows_table(struct kunit *test)
{
	struct afx_net *an = kt_table(test);
	struct afx_sock *a, *b, *far;

	a = kt_take(test, an, AFX_SPACE_DGRAM, KT_LO + 2, true);
	b = kt_take(test, an, AFX_SPACE_DGRAM, KT_LO + 2, true);
	KUNIT_EXPECT_TRUE(test, kt_used(an, AFX_SPACE_DGRAM, KT_LO + 2));
	KUNIT_EXPECT_FALSE(test, kt_used(an, AFX_SPACE_STREAM, KT_LO + 2));
	kt_untake(an, a);
	KUNIT_EXPECT_TRUE(test, kt_used(an, AFX_SPACE_DGRAM, KT_LO + 2));
	kt_untake(an, b);
	KUNIT_EXPECT_FALSE(test, kt_used(an, AFX_SPACE_DGRAM, KT_LO + 2));
	KUNIT_EXPECT_FALSE(test, kt_taken(an, AFX_SPACE_DGRAM, KT_LO + 2, NULL));
	/* Ports above the bitmap are bound and freed all the same. */
	far = kt_take(test, an, AFX_SPACE_DGRAM, U32_MAX, false);
	KUNIT_EXPECT_TRUE(test, kt_taken(an, AFX_SPACE_DGRAM, U32_MAX, NULL));
	kt_untake(an, far);
	KUNIT_EXPECT_FALSE(test, kt_taken(an, AFX_SPACE_DGRAM, U32_MAX, NULL));
}

/* A port in the same hash bucket is not the port. */
static void port_same_bucket_other_port(struct kunit *test)
{
	struct afx_net *an = kt_table(test);
	u32 p = 40000, q;

	for (q = p + 1; q < p + (1U << 22); q++)
		if (afx_bucket(an, AFX_SPACE_STREAM, q) ==
		    afx_bucket(an, AFX_SPACE_STREAM, p))
			break;
	KUNIT_ASSERT_PTR_EQ(test, afx_bucket(an, AFX_SPACE_STREAM, p),
			    afx_bucket(an, AFX_SPACE_STREAM, q));
	kt_take(test, an, AFX_SPACE_STREAM, q, false);
	KUNIT_EXPECT_FALSE(test, kt_taken(an, AFX_SPACE_STREAM, p, NULL));
	KUNIT_EXPECT_TRUE(test, kt_taken(an, AFX_SPACE_STREAM, q, NULL));
}

#define KT_COLLIDERS	64

/*
 * The hash is keyed: ports that an unkeyed hash would put in one bucket
 * spread out, and two namespaces do not share the layout.
 */
static void port_hash_is_keyed(struct kunit *test)
{
	struct afx_net *an = kt_table(test), *other = kt_table(test);
	struct afx_bind_bucket *first = NULL;
	unsigned int same = 0, apart = 0, n = 0;
	u32 p;

	for (p = 1; n < KT_COLLIDERS; p++) {
		if (hash_32(p, afx_bind_hash[AFX_SPACE_DGRAM].bits) != 0)
			continue;
		n++;
		if (!first)
			first = afx_bucket(an, AFX_SPACE_DGRAM, p);
		else if (afx_bucket(an, AFX_SPACE_DGRAM, p) == first)
			same++;
		if (afx_bucket(an, AFX_SPACE_DGRAM, p) !=
		    afx_bucket(other, AFX_SPACE_DGRAM, p))
			apart++;
	}
	/* By chance: about KT_COLLIDERS >> bits of them. */
	KUNIT_EXPECT_LE(test, same, 3U);
	KUNIT_EXPECT_GE(test, apart, (unsigned int)KT_COLLIDERS - 3);
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

/*
 * RFC 6056: the next ephemeral port is a random step of 1 to
 * AFX_PORT_STEP past the last. Bind port 0 20 times: a search that went
 * on from the last port would step by 1 each time.
 */
static void port_ephemeral_steps_are_random(struct kunit *test)
{
	u32 prev = 0, port, first_step = 0;
	int i, ones = 0, differ = 0;

	for (i = 0; i < 20; i++) {
		struct socket *s = kt_sock(test, SOCK_STREAM);

		KUNIT_ASSERT_EQ(test, kt_bind(s, AFX_ADDR_ANY, 0), 0);
		port = kt_port(s);
		if (i) {
			u32 step = port > prev ? port - prev :
				   port + AFX_EPHEMERAL_HI - AFX_EPHEMERAL_LO + 1 - prev;

			KUNIT_EXPECT_GE(test, step, 1U);
			if (step == 1)
				ones++;
			if (i == 1)
				first_step = step;
			else if (step != first_step)
				differ++;
		}
		prev = port;
	}
	KUNIT_EXPECT_LE(test, ones, 3);
	KUNIT_EXPECT_GE(test, differ, 10);
}

static struct kunit_case afx_port_cases[] = {
	KUNIT_CASE(port_search_from_start),
	KUNIT_CASE(port_never_outside_range),
	KUNIT_CASE(port_search_wraps_past_taken),
	KUNIT_CASE(port_exhaustion),
	KUNIT_CASE(port_reuse_after_close),
	KUNIT_CASE(port_reuseaddr_still_taken_for_ephemeral),
	KUNIT_CASE(port_used_bit_follows_table),
	KUNIT_CASE(port_same_bucket_other_port),
	KUNIT_CASE(port_hash_is_keyed),
	KUNIT_CASE(port_autobind_real_sockets),
	KUNIT_CASE(port_ephemeral_steps_are_random),
	{}
};

static struct kunit_suite afx_port_suite = {
	.name = "afx_port",
	.init = kt_init,
	.exit = kt_exit,
	.test_cases = afx_port_cases,
};

/* ---- afx_bind: the bind tables ------------------------------------------------ */

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

	/* One chain for both: its walk must tell the namespaces apart. */
	b->hash_key = a->hash_key;
	kt_take(test, a, AFX_SPACE_STREAM, KT_PORT, false);
	KUNIT_EXPECT_TRUE(test, kt_taken(a, AFX_SPACE_STREAM, KT_PORT, NULL));
	KUNIT_EXPECT_FALSE(test, kt_taken(b, AFX_SPACE_STREAM, KT_PORT, NULL));
	/* Ephemeral allocation is per table, too. */
	kt_take(test, a, AFX_SPACE_STREAM, KT_HI, false);
	KUNIT_EXPECT_EQ(test, kt_claim(test, b, AFX_SPACE_STREAM, KT_HI), KT_HI);
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
	KUNIT_EXPECT_TRUE(test, !kt_dgrams(d1->sk));
	/* Broadcast stays in its namespace too. */
	sock_valbool_flag(d2->sk, SOCK_BROADCAST, true);
	to.sx_addr = AFX_ADDR_BROADCAST;
	KUNIT_EXPECT_EQ(test, kt_sendto(d2, &to, "x", 1, 0), 1);
	KUNIT_EXPECT_TRUE(test, !kt_dgrams(d1->sk));
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

kunit_test_suites(&afx_addr_suite, &afx_port_suite, &afx_bind_suite);
