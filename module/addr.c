// SPDX-License-Identifier: GPL-2.0
/*
 * afx: addresses, ports and the per-namespace bind tables.
 */

#include <linux/capability.h>
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
	return sk->sk_type == SOCK_STREAM ? AFX_SPACE_STREAM : AFX_SPACE_DGRAM;
}

/* Is @port taken for @sk (NULL: for anyone, as for an ephemeral port)? */
VISIBLE_IF_KUNIT bool afx_port_taken(struct afx_net *an, enum afx_space space,
				     u32 port, const struct sock *sk)
{
	struct afx_sock *ax;

	lockdep_assert_held(&an->lock);
	for (ax = afx_port_first(an, space, port); ax;
	     ax = afx_port_next(an, ax)) {
		if (sk && space == AFX_SPACE_DGRAM && sk->sk_reuse &&
		    ax->sk.sk_reuse)
			continue;
		return true;
	}
	return false;
}
EXPORT_SYMBOL_IF_KUNIT(afx_port_taken);

/* Find a free ephemeral port, or 0 when the range is exhausted. */
VISIBLE_IF_KUNIT u32 afx_pick_port(struct afx_net *an, enum afx_space space)
{
	u32 lo = an->port_lo, hi = an->port_hi;
	u32 span = hi - lo + 1, start, i, port;

	lockdep_assert_held(&an->lock);
	start = an->next_port[space];
	if (start < lo || start > hi)
		start = lo;
	for (i = 0; i < span; i++) {
		port = lo + (start - lo + i) % span;
		if (!afx_port_taken(an, space, port, NULL)) {
			an->next_port[space] = port == hi ? lo : port + 1;
			return port;
		}
	}
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(afx_pick_port);

static int __afx_bind(struct sock *sk, u32 addr, u32 port)
{
	struct afx_net *an = afx_net(sock_net(sk));
	enum afx_space space = afx_space_of(sk);
	struct afx_sock *ax = afx_sk(sk);

	sock_owned_by_me(sk);
	spin_lock(&an->lock);
	if (port == AFX_PORT_ANY) {
		port = afx_pick_port(an, space);
		if (!port) {
			spin_unlock(&an->lock);
			return -EADDRNOTAVAIL;
		}
	} else if (afx_port_taken(an, space, port, sk)) {
		spin_unlock(&an->lock);
		return -EADDRINUSE;
	}
	ax->local.sx_addr = addr;
	ax->local.sx_port = port;
	/* Address before family: pairs with afx_is_bound()'s acquire. */
	smp_store_release(&ax->local.sx_family, afx_family);
	hlist_add_head_rcu(&ax->bind_node, afx_bucket(an, space, port));
	spin_unlock(&an->lock);
	return 0;
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
	if (afx_is_bound(sk) || sk->sk_state != TCP_CLOSE)
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
	struct afx_sock *ax = afx_sk(sk);

	spin_lock(&an->lock);
	if (!hlist_unhashed(&ax->bind_node))
		hlist_del_init_rcu(&ax->bind_node);
	spin_unlock(&an->lock);
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
	struct sock *found = NULL;
	struct afx_sock *ax;

	rcu_read_lock();
	for (ax = afx_port_first(an, AFX_SPACE_STREAM, port); ax;
	     ax = afx_port_next(an, ax)) {
		if (refcount_inc_not_zero(&ax->sk.sk_refcnt)) {
			found = &ax->sk;
			break;
		}
	}
	rcu_read_unlock();
	return found;
}
EXPORT_SYMBOL_IF_KUNIT(afx_stream_lookup);
