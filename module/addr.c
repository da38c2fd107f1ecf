// SPDX-License-Identifier: GPL-2.0
/*
 * afx: addresses, ports and the bind tables.
 */

#include <linux/capability.h>
#include <linux/log2.h>
#include <linux/moduleparam.h>
#include <linux/mm.h>
#include <linux/random.h>
#include <linux/string.h>
#include <net/sock.h>
#include <kunit/visibility.h>

#include "afx.h"

/**
 * afx_check_addr() - validate an AF_X address from userspace
 * @uaddr: the address, already copied into the kernel
 * @len: its length as the caller gave it
 *
 * Return: 0, -EINVAL for a short address or nonzero reserved bytes, or
 * -EAFNOSUPPORT for another family.
 */
int afx_check_addr(const struct sockaddr *uaddr, int len)
{
	const struct sockaddr_x *sx = (const struct sockaddr_x *)uaddr;

	if (len < (int)sizeof(*sx))
		return -EINVAL;
	if (sx->sx_family != afx_family)
		return -EAFNOSUPPORT;
	if (sx->sx_reserved1 || memchr_inv(sx->sx_zero, 0, sizeof(sx->sx_zero)))
		return -EINVAL;
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(afx_check_addr);

/**
 * afx_check_dest() - may @sk send to or connect to this address?
 * @sk: the sending or connecting socket
 * @sx: a validated destination
 *
 * AFX_ADDR_ANY and AFX_ADDR_LOCAL both name this host. Broadcast is for
 * datagram sockets with SO_BROADCAST; other addresses name nodes that do
 * not exist yet.
 *
 * Return: 0, -EACCES or -ENETUNREACH.
 */
int afx_check_dest(struct sock *sk, const struct sockaddr_x *sx)
{
	switch (sx->sx_addr) {
	case AFX_ADDR_ANY:
	case AFX_ADDR_LOCAL:
		return 0;
	case AFX_ADDR_BROADCAST:
		if (sk->sk_type != SOCK_DGRAM)
			return -ENETUNREACH;
		return sock_flag(sk, SOCK_BROADCAST) ? 0 : -EACCES;
	default:
		return -ENETUNREACH;
	}
}
EXPORT_SYMBOL_IF_KUNIT(afx_check_dest);

static enum afx_space afx_space_of(const struct sock *sk)
{
	/* Stream and seqpacket sockets share a port space (DOC: Socket kinds). */
	return afx_is_conn(sk) ? AFX_SPACE_STREAM : AFX_SPACE_DGRAM;
}

/*
 * Is @port taken for @sk (NULL: for anyone, as for an ephemeral port)?
 * @b is the port's bucket, locked.
 */
VISIBLE_IF_KUNIT bool afx_port_taken(struct afx_net *an,
				     struct afx_bind_bucket *b,
				     enum afx_space space, u32 port,
				     const struct sock *sk)
{
	unsigned int sharers = 0;
	struct afx_sock *ax;

	lockdep_assert_held(&b->lock);
	for (ax = afx_port_first(an, b, port); ax; ax = afx_port_next(b, ax)) {
		if (sk && space == AFX_SPACE_DGRAM && sk->sk_reuse &&
		    ax->sk.sk_reuse) {
			/* Bounds a broadcast's fan-out and the walks here. */
			if (++sharers >= AFX_PORT_SHARERS_MAX)
				return true;
			continue;
		}
		return true;
	}
	return false;
}
EXPORT_SYMBOL_IF_KUNIT(afx_port_taken);

/*
 * Put @ax, its local address filled in, on the bind table: on its
 * bucket's chain and in the used bitmap.
 */
VISIBLE_IF_KUNIT void afx_bind_add(struct afx_net *an, enum afx_space space,
				   struct afx_bind_bucket *b,
				   struct afx_sock *ax)
{
	u32 port = ax->local.sx_port;

	lockdep_assert_held(&b->lock);
	hlist_add_head_rcu(&ax->bind_node, &b->chain);
	if (port <= AFX_EPHEMERAL_HI)
		set_bit(port, an->bind[space]->used);
}
EXPORT_SYMBOL_IF_KUNIT(afx_bind_add);

/* Take @ax off the bind table; its port is free once nobody else has it. */
VISIBLE_IF_KUNIT void afx_bind_del(struct afx_net *an, enum afx_space space,
				   struct afx_bind_bucket *b,
				   struct afx_sock *ax)
{
	u32 port = ax->local.sx_port;

	lockdep_assert_held(&b->lock);
	hlist_del_init_rcu(&ax->bind_node);
	if (port <= AFX_EPHEMERAL_HI && !afx_port_first(an, b, port))
		clear_bit(port, an->bind[space]->used);
}
EXPORT_SYMBOL_IF_KUNIT(afx_bind_del);

/* Fill in @ax's address; afx_is_bound() turns true. */
static void afx_set_local(struct afx_sock *ax, u32 addr, u32 port)
{
	ax->local.sx_addr = addr;
	ax->local.sx_port = port;
	/* Address before family: pairs with afx_is_bound()'s acquire. */
	smp_store_release(&ax->local.sx_family, afx_family);
}

/* Bind @ax to @port if nobody holds it. Return: 0 or -EADDRINUSE. */
static int afx_bind_port(struct afx_net *an, enum afx_space space,
			 struct afx_sock *ax, u32 addr, u32 port,
			 const struct sock *sk)
{
	struct afx_bind_bucket *b = afx_bucket(an, space, port);
	int err = -EADDRINUSE;

	spin_lock(&b->lock);
	if (!afx_port_taken(an, b, space, port, sk)) {
		afx_set_local(ax, addr, port);
		afx_bind_add(an, space, b, ax);
		err = 0;
	}
	spin_unlock(&b->lock);
	return err;
}

/*
 * Bind @ax to the first free ephemeral port at or after @start, wrapping
 * around the range once. The used bitmap points at candidates; each is
 * confirmed and claimed under its bucket lock, so the work is one pass
 * over the bitmap plus one bucket per candidate, and no lock is held for
 * longer than one bucket's walk.
 * Return: the port, or 0 when every port of the range is taken.
 */
VISIBLE_IF_KUNIT u32 afx_bind_ephemeral_from(struct afx_net *an,
					     enum afx_space space,
					     struct afx_sock *ax, u32 addr,
					     u32 start)
{
	const unsigned long *used = an->bind[space]->used;
	u32 lo, hi, from, end, port;
	int pass;

	afx_port_range(an, &lo, &hi);
	if (start < lo || start > hi)
		start = lo;
	for (pass = 0; pass < 2; pass++) {
		from = pass ? lo : start;
		end = pass ? start : hi + 1;
		for (port = find_next_zero_bit(used, end, from); port < end;
		     port = find_next_zero_bit(used, end, port + 1))
			if (!afx_bind_port(an, space, ax, addr, port, NULL))
				return port;
	}
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(afx_bind_ephemeral_from);

/*
 * RFC 6056, 3.3.5 (random-increments port selection): search from a
 * random distance of 1 to AFX_PORT_STEP past the last port handed out, so
 * that the next port cannot be told from the last and a port just freed
 * is not handed out again soon.
 */
static u32 afx_bind_ephemeral(struct afx_net *an, enum afx_space space,
			      struct afx_sock *ax, u32 addr)
{
	u32 lo, hi, span, start, port;

	afx_port_range(an, &lo, &hi);
	span = hi - lo + 1;
	start = READ_ONCE(an->next_port[space]);
	if (start < lo || start > hi)
		start = lo;
	start = lo + (start - lo + 1 +
		      reciprocal_scale(get_random_u32(),
				       min(span, AFX_PORT_STEP))) % span;
	port = afx_bind_ephemeral_from(an, space, ax, addr, start);
	if (port)
		WRITE_ONCE(an->next_port[space], port);
	return port;
}

static int __afx_bind(struct sock *sk, u32 addr, u32 port)
{
	struct afx_net *an = afx_net(sock_net(sk));
	enum afx_space space = afx_space_of(sk);
	struct afx_sock *ax = afx_sk(sk);

	sock_owned_by_me(sk);
	if (port != AFX_PORT_ANY)
		return afx_bind_port(an, space, ax, addr, port, sk);
	return afx_bind_ephemeral(an, space, ax, addr) ? 0 : -EADDRNOTAVAIL;
}

/**
 * afx_bind() - proto_ops.bind for every AF_X socket type
 * @sock: the socket
 * @uaddr: the address
 * @len: its length
 *
 * Return: 0 or the errno from the table in Documentation/afx.rst.
 */
int afx_bind(struct socket *sock, struct sockaddr *uaddr, int len)
{
	const struct sockaddr_x *sx = (const struct sockaddr_x *)uaddr;
	struct sock *sk = sock->sk;
	int err;

	err = afx_check_addr(uaddr, len);
	if (err)
		return err;
	if (sx->sx_addr != AFX_ADDR_ANY && sx->sx_addr != AFX_ADDR_LOCAL)
		return -EADDRNOTAVAIL;
	if (sx->sx_port != AFX_PORT_ANY && sx->sx_port <= AFX_PROT_PORT_MAX &&
	    !ns_capable(sock_net(sk)->user_ns, CAP_NET_BIND_SERVICE))
		return -EACCES;

	lock_sock(sk);
	if (afx_is_bound(sk) || sk->sk_state != TCP_CLOSE || afx_paired(sk))
		err = -EINVAL;
	else
		err = __afx_bind(sk, sx->sx_addr, sx->sx_port);
	release_sock(sk);
	return err;
}

/**
 * afx_autobind() - bind @sk to an ephemeral port unless it is bound
 * @sk: the socket, locked
 *
 * Return: 0 or -EADDRNOTAVAIL.
 */
int afx_autobind(struct sock *sk)
{
	sock_owned_by_me(sk);
	if (afx_is_bound(sk))
		return 0;
	return __afx_bind(sk, AFX_ADDR_ANY, AFX_PORT_ANY);
}

/**
 * afx_unhash() - give up @sk's port
 * @sk: the socket
 *
 * The socket keeps its address for getsockname(); RCU readers that found
 * it may still hold it, with a reference, after this returns.
 */
void afx_unhash(struct sock *sk)
{
	struct afx_net *an = afx_net(sock_net(sk));
	enum afx_space space = afx_space_of(sk);
	struct afx_sock *ax = afx_sk(sk);
	struct afx_bind_bucket *b;

	/* Only bind() hashes, under the socket lock. */
	sock_owned_by_me(sk);
	if (hlist_unhashed(&ax->bind_node))
		return;
	b = afx_bucket(an, space, ax->local.sx_port);
	spin_lock(&b->lock);
	afx_bind_del(an, space, b, ax);
	spin_unlock(&b->lock);
}

/**
 * afx_bind_init_net() - set up the bind state of a namespace
 * @an: its afx state
 *
 * Return: 0 or -ENOMEM.
 */
int afx_bind_init_net(struct afx_net *an)
{
	int s;

	get_random_bytes(&an->hash_key, sizeof(an->hash_key));
	an->port_range = AFX_EPHEMERAL_LO | AFX_EPHEMERAL_HI << 16;
	for (s = 0; s < AFX_SPACES; s++) {
		an->next_port[s] = AFX_EPHEMERAL_LO +
			reciprocal_scale(get_random_u32(),
					 AFX_EPHEMERAL_HI - AFX_EPHEMERAL_LO + 1);
		an->bind[s] = kzalloc(sizeof(*an->bind[s]), GFP_KERNEL_ACCOUNT);
		if (!an->bind[s])
			goto err;
	}
	return 0;

err:
	while (s--)
		kfree(an->bind[s]);
	return -ENOMEM;
}
EXPORT_SYMBOL_IF_KUNIT(afx_bind_init_net);

/**
 * afx_bind_exit_net() - free the bind state of a namespace
 * @an: its afx state; every socket of the namespace is gone
 */
void afx_bind_exit_net(struct afx_net *an)
{
	int s;

	for (s = 0; s < AFX_SPACES; s++) {
		WARN_ON_ONCE(!bitmap_empty(an->bind[s]->used,
					   AFX_EPHEMERAL_HI + 1));
		kfree(an->bind[s]);
		an->bind[s] = NULL;
	}
}
EXPORT_SYMBOL_IF_KUNIT(afx_bind_exit_net);

struct afx_bind_hash afx_bind_hash[AFX_SPACES] __read_mostly;
EXPORT_SYMBOL_IF_KUNIT(afx_bind_hash);

static unsigned int bind_buckets;
module_param(bind_buckets, uint, 0444);
MODULE_PARM_DESC(bind_buckets,
		 "buckets per port space, a power of 2 from 4096 to 65536 (default 0: about one per 8 pages of memory)");

/**
 * afx_bind_hash_init() - allocate the bind tables' buckets
 *
 * One table per port space, shared by every namespace, of bind_buckets
 * buckets or, by default, about one per 8 pages of memory between
 * AFX_BIND_BUCKETS_MIN and AFX_BIND_BUCKETS_MAX, so that the chains stay
 * short however many sockets the machine can hold (DOC: Tables). The
 * parameter shows the size chosen.
 *
 * Return: 0, -EINVAL for a bind_buckets that is not a power of 2 in that
 * range, or -ENOMEM.
 */
int afx_bind_hash_init(void)
{
	unsigned long n = bind_buckets;
	struct afx_bind_bucket *b;
	int s, i;

	if (!n) {
		n = min_t(unsigned long, totalram_pages() / 8,
			  AFX_BIND_BUCKETS_MAX);
		n = max_t(unsigned long, n, AFX_BIND_BUCKETS_MIN);
		n = roundup_pow_of_two(n);
	}
	if (!is_power_of_2(n) || n < AFX_BIND_BUCKETS_MIN ||
	    n > AFX_BIND_BUCKETS_MAX)
		return -EINVAL;
	bind_buckets = n;
	for (s = 0; s < AFX_SPACES; s++) {
		b = kvmalloc_array(n, sizeof(*b), GFP_KERNEL);
		if (!b)
			goto err;
		for (i = 0; i < n; i++) {
			spin_lock_init(&b[i].lock);
			INIT_HLIST_HEAD(&b[i].chain);
		}
		afx_bind_hash[s].bucket = b;
		afx_bind_hash[s].bits = ilog2(n);
	}
	return 0;

err:
	while (s--)
		kvfree(afx_bind_hash[s].bucket);
	return -ENOMEM;
}

/**
 * afx_bind_hash_exit() - free the bind tables' buckets
 *
 * Every socket is gone, and so are the RCU readers that walked them.
 */
void afx_bind_hash_exit(void)
{
	unsigned int s, i;

	for (s = 0; s < AFX_SPACES; s++) {
		for (i = 0; i < 1U << afx_bind_hash[s].bits; i++)
			WARN_ON_ONCE(!hlist_empty(&afx_bind_hash[s].bucket[i].chain));
		kvfree(afx_bind_hash[s].bucket);
		afx_bind_hash[s].bucket = NULL;
	}
}

/**
 * afx_stream_lookup() - find the stream socket bound to @port
 * @net: the namespace
 * @port: the port
 *
 * Return: the socket with a reference held, or NULL.
 */
struct sock *afx_stream_lookup(struct net *net, u32 port)
{
	struct afx_net *an = afx_net(net);
	struct afx_bind_bucket *b = afx_bucket(an, AFX_SPACE_STREAM, port);
	struct sock *found = NULL;
	struct afx_sock *ax;

	rcu_read_lock();
	for (ax = afx_port_first(an, b, port); ax; ax = afx_port_next(b, ax)) {
		if (refcount_inc_not_zero(&ax->sk.sk_refcnt)) {
			found = &ax->sk;
			break;
		}
	}
	rcu_read_unlock();
	return found;
}
EXPORT_SYMBOL_IF_KUNIT(afx_stream_lookup);
