// SPDX-License-Identifier: GPL-2.0
/*
 * afx: the per-namespace list of all sockets, the one registry that
 * introspection walks, and the common part of what it reports about one.
 *
 * Every afx sock is in its namespace's afx_net.all from afx_sk_alloc()
 * until its destructor runs, including stream children that no one has
 * accepted yet. afx_net.all is an XArray indexed by afx_sock.all_id, an
 * id allocated cyclically when the sock is created and fixed for its life.
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
 * The destructor runs from an RCU callback (afx socks are SOCK_RCU_FREE)
 * and frees the sock right after erasing it, so a walk looks entries up
 * and takes its reference under the XArray's lock, taken with BHs off,
 * not under RCU alone; nothing else is ever taken under that lock.
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
 * afx_sklist_reserve() - give a new sock its place in its namespace's list
 * @an: the namespace's afx state
 * @ax: the sock, just allocated; walks do not see it until
 *	afx_sklist_add()
 *
 * Return: 0, or -ENOMEM (or -EBUSY, with 2^31 socks alive in @an).
 */
int afx_sklist_reserve(struct afx_net *an, struct afx_sock *ax)
{
	int err;

	/* A NULL entry is a reservation: walks skip it. */
	err = xa_alloc_cyclic_bh(&an->all, &ax->all_id, NULL, xa_limit_31b,
				 &an->all_next, GFP_KERNEL_ACCOUNT |
				 __GFP_RETRY_MAYFAIL | __GFP_NOWARN);
	return err < 0 ? err : 0;
}

/**
 * afx_sklist_add() - make a new sock visible to walks
 * @sk: the sock, fully initialised, with a place from afx_sklist_reserve()
 */
void afx_sklist_add(struct sock *sk)
{
	struct afx_sock *ax = afx_sk(sk);

	/* Into the reserved slot: allocates nothing, cannot fail. */
	WARN_ON_ONCE(xa_is_err(xa_store_bh(&ax->an->all, ax->all_id, sk,
					   GFP_KERNEL)));
}

/**
 * afx_sklist_del() - take a sock off its namespace's list
 * @sk: the sock, from its destructor (a sock that got no place is freed
 *	before it has one)
 */
void afx_sklist_del(struct sock *sk)
{
	struct afx_sock *ax = afx_sk(sk);

	xa_erase_bh(&ax->an->all, ax->all_id);
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

	xa_lock_bh(&an->all);
	for (;;) {
		sk = xa_find(&an->all, index, ULONG_MAX, XA_PRESENT);
		if (!sk)
			break;
		if (!sock_flag(sk, SOCK_DEAD) &&
		    refcount_inc_not_zero(&sk->sk_refcnt))
			break;
		++*index;
	}
	xa_unlock_bh(&an->all);
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

	xa_lock_bh(&an->all);
	sk = xa_load(&an->all, id);
	if (sk && (sock_flag(sk, SOCK_DEAD) ||
		   !refcount_inc_not_zero(&sk->sk_refcnt)))
		sk = NULL;
	xa_unlock_bh(&an->all);
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
