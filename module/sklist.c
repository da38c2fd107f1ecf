// SPDX-License-Identifier: GPL-2.0
/*
 * afx: the per-namespace list of all sockets, the one registry that
 * introspection walks, and the common part of what it reports about one.
 *
 * Every afx sock is on its namespace's afx_net.all from afx_sk_alloc()
 * until its destructor runs, including stream children that no one has
 * accepted yet. /proc/net/afx (proc.c) and the afx_diag module walk the
 * list with afx_sklist_next(), which hands out one referenced socket at a
 * time and holds no lock in between, so that the caller may sleep.
 * afx_sock_info() takes no socket lock: a reader of /proc/net/afx must
 * never wait for a socket whose owner is stuck in a user copy. It reads
 * each field once; the socket type's own file fills in the rest.
 *
 * The destructor runs from an RCU callback (afx socks are SOCK_RCU_FREE),
 * so afx_net.all_lock is taken with BHs off and nothing else is ever
 * taken under it.
 */

#include <linux/list.h>
#include <linux/module.h>
#include <linux/skbuff.h>
#include <linux/spinlock.h>
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
 * @sk: the sock, fully initialised
 */
void afx_sklist_add(struct sock *sk)
{
	struct afx_net *an = afx_net(sock_net(sk));

	spin_lock_bh(&an->all_lock);
	list_add_tail(&afx_sk(sk)->all_node, &an->all);
	spin_unlock_bh(&an->all_lock);
}

/**
 * afx_sklist_del() - take a sock off its namespace's list
 * @sk: the sock, from its destructor
 */
void afx_sklist_del(struct sock *sk)
{
	struct afx_net *an = afx_net(sock_net(sk));

	spin_lock_bh(&an->all_lock);
	list_del_init(&afx_sk(sk)->all_node);
	spin_unlock_bh(&an->all_lock);
}

/**
 * afx_sklist_next() - the next live socket of a namespace
 * @net: the namespace
 * @prev: the socket this walk returned last, or NULL to start; the
 *	reference on it is dropped
 *
 * Walks the sockets in the order they were created, skipping the ones
 * that are closed and only wait to be freed. A socket holds its place in
 * the list while a reference is held, so the walk can resume from @prev
 * even after sleeping.
 *
 * Return: the next socket with a reference held, or NULL at the end.
 */
struct sock *afx_sklist_next(struct net *net, struct sock *prev)
{
	struct afx_net *an = afx_net(net);
	struct list_head *pos;
	struct sock *found = NULL;
	struct afx_sock *ax;

	spin_lock_bh(&an->all_lock);
	pos = prev ? afx_sk(prev)->all_node.next : an->all.next;
	for (; pos != &an->all; pos = pos->next) {
		ax = list_entry(pos, struct afx_sock, all_node);
		if (sock_flag(&ax->sk, SOCK_DEAD))
			continue;
		if (refcount_inc_not_zero(&ax->sk.sk_refcnt)) {
			found = &ax->sk;
			break;
		}
	}
	spin_unlock_bh(&an->all_lock);

	if (prev)
		sock_put(prev);
	return found;
}
EXPORT_SYMBOL_GPL(afx_sklist_next);

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

	if (sk->sk_type == SOCK_DGRAM)
		afx_dgram_info(sk, info);
	else
		afx_stream_info(sk, info);
}
EXPORT_SYMBOL_GPL(afx_sock_info);
