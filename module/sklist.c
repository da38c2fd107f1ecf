// SPDX-License-Identifier: GPL-2.0
/*
 * afx: the per-namespace list of all sockets, the one registry that
 * introspection walks, and the common part of what it reports about one.
 *
 * Every live afx sock is in its namespace's afx_net.all, from the end of
 * afx_sk_alloc() until it dies: its release() or, for a stream child that
 * no one accepted, its removal from the listener's queues
 * (afx_sklist_del(), in process context, before the sock's last reference
 * can go). afx_net.all is an XArray indexed by afx_sock.all_id, the
 * lowest id free when the sock is listed, fixed for its life (ids are
 * reused: what names a socket for good is its id with its cookie).
 * /proc/net/afx (proc.c) and the afx_diag module walk it with
 * afx_sklist_next(), which hands out one referenced socket at a time and
 * holds no lock in between, so that the caller may sleep. A walk's cursor
 * is an index: it resumes in O(log n) wherever it stopped, holds nothing
 * while the reader is away, and sees every socket that lives through the
 * walk exactly once, in the order of their ids (sockets created during it
 * may or may not be seen). afx_sock_info() takes no socket lock: a reader
 * of /proc/net/afx must never wait for a socket whose owner is stuck in a
 * user copy. It reads each field once; the socket type's own file fills
 * in the rest.
 *
 * Lookups (afx_sklist_next(), afx_sklist_get()) run under RCU alone: a
 * sock leaves the XArray before its last reference can go, and afx socks
 * are SOCK_RCU_FREE, so one found under rcu_read_lock() is not freed
 * before rcu_read_unlock(), and refcount_inc_not_zero() tells whether it
 * can still be used. Only listing and delisting take the XArray's lock,
 * both in process context, and nothing else is taken under it.
 */

#include <linux/list.h>
#include <linux/module.h>
#include <linux/skbuff.h>
#include <linux/spinlock.h>
#include <linux/xarray.h>
#include <net/sock.h>
#include <net/tcp_states.h>

#include "afx.h"

/**
 * afx_info_family() - the address family number afx registered
 *
 * Return: AF_X, or the value of the family= module parameter.
 */
int afx_info_family(void)
{
	return afx_family;
}
EXPORT_SYMBOL_GPL(afx_info_family);

/**
 * afx_sklist_add() - put a new sock on its namespace's list
 * @sk: the sock, fully initialised: walks may see it at once
 *
 * Return: 0, or -ENOMEM (or -EBUSY, with 2^31 socks alive in the
 * namespace); the sock is then not listed, and is freed as it is.
 */
int afx_sklist_add(struct sock *sk)
{
	struct afx_sock *ax = afx_sk(sk);
	int err;

	/*
	 * The lowest free id: the tree stays dense and its nodes stay put
	 * while sockets come and go. The store publishes the sock: walks
	 * read it under RCU alone.
	 */
	err = xa_alloc(&ax->an->all, &ax->all_id, sk, xa_limit_31b,
		       GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL | __GFP_NOWARN);
	if (err)
		return err;
	ax->listed = true;
	return 0;
}

/**
 * afx_sklist_del() - take a sock that dies off its namespace's list
 * @sk: the sock, marked SOCK_DEAD, with its last reference not yet gone
 */
void afx_sklist_del(struct sock *sk)
{
	struct afx_sock *ax = afx_sk(sk);

	might_sleep();
	if (!ax->listed)
		return;
	xa_erase(&ax->an->all, ax->all_id);
	ax->listed = false;
}

/**
 * afx_sklist_next() - the next live socket of a namespace
 * @net: the namespace
 * @index: where the walk is: the first id to look at (0 to start); set
 *	to the id of the socket returned, so the caller continues at
 *	*@index + 1 or, to see that socket again, at *@index
 *
 * Skips the sockets that are closed and only wait to be freed.
 *
 * Return: the socket with the smallest id at or after *@index, with a
 * reference held, or NULL at the end.
 */
struct sock *afx_sklist_next(struct net *net, unsigned long *index)
{
	struct afx_net *an = afx_net(net);
	struct sock *sk;

	rcu_read_lock();
	for (;;) {
		sk = xa_find(&an->all, index, ULONG_MAX, XA_PRESENT);
		if (!sk)
			break;
		if (!sock_flag(sk, SOCK_DEAD) &&
		    refcount_inc_not_zero(&sk->sk_refcnt))
			break;
		++*index;
	}
	rcu_read_unlock();
	return sk;
}
EXPORT_SYMBOL_GPL(afx_sklist_next);

/**
 * afx_sklist_get() - the live socket with a given id
 * @net: the namespace
 * @id: its afx_sock.all_id
 *
 * Return: the socket with a reference held, or NULL if no live socket
 * has that id.
 */
struct sock *afx_sklist_get(struct net *net, unsigned long id)
{
	struct afx_net *an = afx_net(net);
	struct sock *sk;

	rcu_read_lock();
	sk = xa_load(&an->all, id);
	if (sk && (sock_flag(sk, SOCK_DEAD) ||
		   !refcount_inc_not_zero(&sk->sk_refcnt)))
		sk = NULL;
	rcu_read_unlock();
	return sk;
}
EXPORT_SYMBOL_GPL(afx_sklist_get);

/**
 * afx_sock_info() - describe one socket for introspection
 * @sk: the socket, with a reference held; no locks held
 * @info: filled in
 *
 * Takes no socket lock (see the top of this file); the socket type's
 * afx_stream_info() or afx_dgram_info() adds queues and peer.
 */
void afx_sock_info(struct sock *sk, struct afx_sock_info *info)
{
	struct afx_sock *ax = afx_sk(sk);

	memset(info, 0, sizeof(*info));
	info->type = sk->sk_type;
	info->state = READ_ONCE(sk->sk_state);
	info->shutdown = READ_ONCE(sk->sk_shutdown);
	info->ino = sock_i_ino(sk);
	info->uid = sock_i_uid(sk);
	if (afx_is_bound(sk))
		info->local = ax->local;
	info->peer = ax->peer_addr;
	info->rmem = afx_sbuf_readable(&ax->rx);

	if (afx_is_conn(sk))
		afx_stream_info(sk, info);
	else
		afx_dgram_info(sk, info);
}
EXPORT_SYMBOL_GPL(afx_sock_info);
