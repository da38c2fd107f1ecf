// SPDX-License-Identifier: GPL-2.0
/*
 * afx: SOCK_STREAM sockets, and the connections of SOCK_SEQPACKET ones.
 *
 * Connection setup, the listen/accept/pending queues, shutdown and close
 * of both connection-oriented types (DOC: Socket kinds), and the stream
 * data path and poll. The bytes themselves live in the stream buffer
 * (sbuf.c), which this file reaches only through its interface; the
 * message data path of seqpacket sockets is seqpacket.c.
 */

#include <linux/cred.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/sockios.h>
#include <asm/ioctls.h>
#include <net/scm.h>
#include <net/sock.h>
#include <kunit/visibility.h>

#include "afx.h"
#include "compat.h"

/* ---- data path ---------------------------------------------------------- */

/**
 * afx_stream_limit() - the most @sk may have queued, unread, at @peer
 * @sk: a connected socket
 * @peer: its peer
 *
 * Return: the smaller of @sk's SO_SNDBUF and @peer's SO_RCVBUF, in bytes
 * queued (a seqpacket message's header counts).
 */
u32 afx_stream_limit(const struct sock *sk, const struct sock *peer)
{
	return min_t(u32, READ_ONCE(sk->sk_sndbuf), READ_ONCE(peer->sk_rcvbuf));
}
EXPORT_SYMBOL_IF_KUNIT(afx_stream_limit);

/**
 * afx_stream_data_ready() - wake the reader of @peer after a push
 * @peer: the socket pushed to
 * @pushed: the bytes the push added
 *
 * Unless the reader cannot be waiting for them. recvmsg() sleeps only on
 * an empty buffer, so bytes that land behind unread ones wake nobody, as a
 * pipe's do; pollers (whose
 * low-water mark or edge trigger may want every byte) and O_ASYNC owners
 * are woken by every push. The smp_mb() orders the push before the look
 * at the reader; it pairs with the one a sleeper executes after queueing
 * itself and before looking at the buffer (afx_io_wait(),
 * sock_poll_wait()), so one of the two sees the other.
 */
void afx_stream_data_ready(struct sock *peer, u32 pushed)
{
	struct afx_sock *pax = afx_sk(peer);

	/* The push before the reader's state: see above. */
	smp_mb();
	if (afx_sbuf_readable_before(&pax->rx, pushed) &&
	    !READ_ONCE(pax->polled) && !sock_flag(peer, SOCK_FASYNC))
		return;
	peer->sk_data_ready(peer);
}

/**
 * afx_stream_write_space() - wake the writer of @sk's peer after a read
 * @sk: the socket read from
 * @pulled: the bytes the read consumed
 *
 * Unless the writer cannot be waiting for the room: a sendmsg() sleeps
 * only when the bytes queued reached the level it saw itself blocked at,
 * recorded in its tx_wait_limit before it looks at the buffer
 * (afx_stream_can_write(), afx_seqpacket_can_write()). The first read it did
 * not see finds at least that many queued before it and wakes it; later
 * ones need not, as a pipe wakes writers only when it was full. Pollers
 * and O_ASYNC owners are woken by every read. The smp_mb() orders our
 * consumption before the look at the writer, pairing with the writer's.
 */
void afx_stream_write_space(struct sock *sk, u32 pulled)
{
	struct sock *peer = afx_sk(sk)->peer;
	struct afx_sock *pax;
	u32 before;

	if (!peer)
		return;
	pax = afx_sk(peer);
	/* The read before the writer's state: see above. */
	smp_mb();
	before = afx_sbuf_readable(&afx_sk(sk)->rx) + pulled;
	if (before < READ_ONCE(pax->tx_wait_limit) &&
	    !READ_ONCE(pax->polled) && !sock_flag(peer, SOCK_FASYNC))
		return;
	peer->sk_write_space(peer);
}

/* Bytes @sk may write to @peer now without passing the limit. */
VISIBLE_IF_KUNIT u32 afx_stream_room(const struct sock *sk,
				     const struct sock *peer)
{
	return afx_sbuf_room(&afx_sk(peer)->rx, afx_stream_limit(sk, peer));
}
EXPORT_SYMBOL_IF_KUNIT(afx_stream_room);

/* ---- connection state --------------------------------------------------- */

static void afx_copy_peercred(struct sock *sk, struct sock *from)
{
	const struct cred *cred;
	struct pid *pid;

	spin_lock(&from->sk_peer_lock);
	pid = get_pid(from->sk_peer_pid);
	cred = from->sk_peer_cred ? get_cred(from->sk_peer_cred) : NULL;
	spin_unlock(&from->sk_peer_lock);

	afx_set_peercred(sk, pid, cred);
	put_pid(pid);
	if (cred)
		put_cred(cred);
}

VISIBLE_IF_KUNIT bool afx_acceptq_full(const struct sock *listener)
{
	return READ_ONCE(listener->sk_ack_backlog) >=
	       max_t(u32, READ_ONCE(listener->sk_max_ack_backlog), 1);
}
EXPORT_SYMBOL_IF_KUNIT(afx_acceptq_full);

/*
 * Does @listener refuse a connection from @sk now? Counts the refusal.
 * connect() asks before it allocates the child, so that a refusal costs
 * no allocation, and again under afx_conn_lock() to decide.
 */
static bool afx_stream_refuses(struct sock *sk, struct sock *listener)
{
	if (READ_ONCE(listener->sk_state) != TCP_LISTEN) {
		afx_stat_inc(sk, AFX_STAT_REFUSED_NOLISTEN);
		return true;
	}
	if (READ_ONCE(afx_sk(listener)->refuse_when_full) &&
	    afx_acceptq_full(listener)) {
		afx_stat_inc(sk, AFX_STAT_ACCEPTQ_OVERFLOW);
		afx_stat_inc(sk, AFX_STAT_REFUSED_FULL);
		return true;
	}
	return false;
}

/* Put @child on the accept queue and connect both ends. */
static void afx_stream_establish(struct sock *listener, struct sock *child)
{
	struct sock *client = afx_sk(child)->peer;

	/* Only where lockdep checks it: the hash is not free. */
	if (IS_ENABLED(CONFIG_LOCKDEP))
		lockdep_assert_held(afx_conn_lock(afx_sk(listener)->an,
						  afx_port(listener)));
	list_add_tail(&afx_sk(child)->conn_node, &afx_sk(listener)->acceptq);
	sk_acceptq_added(listener);
	/* After the peer links: pairs with afx_stream_connected(). */
	smp_store_release(&child->sk_state, TCP_ESTABLISHED);
	/* The same for the client. */
	smp_store_release(&client->sk_state, TCP_ESTABLISHED);
	afx_stat_inc(listener, AFX_STAT_CONNECTS);
}

/*
 * Let the oldest waiting connector into room on the accept queue.
 * Return: its client with a reference, for afx_stream_admitted(), or NULL.
 */
static struct sock *afx_stream_admit(struct sock *listener)
{
	struct afx_sock *pend;
	struct sock *client;

	/* Only where lockdep checks it: the hash is not free. */
	if (IS_ENABLED(CONFIG_LOCKDEP))
		lockdep_assert_held(afx_conn_lock(afx_sk(listener)->an,
						  afx_port(listener)));
	if (afx_acceptq_full(listener))
		return NULL;
	pend = list_first_entry_or_null(&afx_sk(listener)->pendq,
					struct afx_sock, conn_node);
	if (!pend)
		return NULL;
	list_del_init(&pend->conn_node);
	afx_stream_establish(listener, &pend->sk);
	client = pend->peer;
	sock_hold(client);
	return client;
}

/* Tell a client afx_stream_admit() let in that it is connected. */
static void afx_stream_admitted(struct sock *client)
{
	client->sk_state_change(client);
	afx_sock_put(client);
}

/* Drop a child that never got a connection: it and the link to its client. */
static void afx_stream_drop_child(struct sock *child)
{
	struct afx_sock *cax = afx_sk(child);

	afx_sock_put(cax->peer);
	WRITE_ONCE(cax->peer, NULL);
	sock_set_flag(child, SOCK_DEAD);
	afx_sklist_del(child);
	afx_sock_put(child);
}

/* Forget the child left over from a connect attempt that did not succeed. */
static void afx_stream_forget_attempt(struct sock *sk)
{
	struct afx_sock *ax = afx_sk(sk);
	struct sock *peer;

	sock_owned_by_me(sk);
	if (sk->sk_state == TCP_CLOSE && ax->peer) {
		peer = ax->peer;
		WRITE_ONCE(ax->peer, NULL);
		afx_sock_put(peer);
		memset(&ax->peer_addr, 0, sizeof(ax->peer_addr));
		afx_set_peercred(sk, NULL, NULL);
	}
}

/*
 * Tell the peer that @sk is going away: it sees EOF, EPIPE, and
 * ECONNRESET if @sk leaves data unread. Drops the peer link.
 */
static void afx_stream_disconnect(struct sock *sk)
{
	struct afx_sock *ax = afx_sk(sk);
	struct sock *peer = ax->peer;
	struct afx_sock *pax;
	bool unread;

	if (!peer)
		return;
	pax = afx_sk(peer);

	afx_shutdown_add(sk, SHUTDOWN_MASK);
	unread = afx_sbuf_readable(&ax->rx);

	/* Under the lock a reader checks EOF under: after the data. */
	spin_lock(&pax->lock);
	WRITE_ONCE(peer->sk_shutdown, SHUTDOWN_MASK);
	if (unread)
		WRITE_ONCE(peer->sk_err, ECONNRESET);
	spin_unlock(&pax->lock);
	afx_sbuf_shutdown(&pax->rx);

	peer->sk_state_change(peer);
	if (unread)
		sk_error_report(peer);
	sk_wake_async(peer, SOCK_WAKE_WAITD, POLL_HUP);

	WRITE_ONCE(ax->peer, NULL);
	afx_sock_put(peer);
}

/*
 * Drop what was sent to closing @sk and not read: bytes, or messages with
 * the credentials they hold.
 */
static void afx_conn_discard(struct sock *sk)
{
	if (sk->sk_type == SOCK_SEQPACKET) {
		afx_msg_drop_all(sk);
	} else {
		afx_sbuf_discard(&afx_sk(sk)->rx);
		afx_anc_discard(sk);
	}
}

/*
 * What @sk has to read, as SIOCINQ and introspection report it: bytes, or
 * the payload bytes of a seqpacket socket's messages.
 */
static u32 afx_conn_queued(struct sock *sk)
{
	if (sk->sk_type == SOCK_SEQPACKET)
		return afx_msg_queued(sk);
	return afx_sbuf_readable(&afx_sk(sk)->rx);
}

/* Close a child that was on the accept queue but never accepted. */
static void afx_stream_close_child(struct sock *child)
{
	afx_stream_disconnect(child);
	afx_conn_discard(child);
	sock_set_flag(child, SOCK_DEAD);
	afx_sklist_del(child);
	afx_sock_put(child);
}

/*
 * Stop listening: refuse the pending connectors, close the unaccepted
 * children and wake accept() callers. The port stays bound.
 */
static void afx_stream_listen_stop(struct sock *sk)
{
	struct afx_sock *ax = afx_sk(sk), *cax, *tmp;
	spinlock_t *conn = afx_conn_lock(ax->an, afx_port(sk));
	LIST_HEAD(acceptq);
	LIST_HEAD(pendq);

	sock_owned_by_me(sk);
	spin_lock(conn);
	list_splice_init(&ax->acceptq, &acceptq);
	list_splice_init(&ax->pendq, &pendq);
	WRITE_ONCE(sk->sk_ack_backlog, 0);
	WRITE_ONCE(sk->sk_state, TCP_CLOSE);
	list_for_each_entry(cax, &pendq, conn_node) {
		WRITE_ONCE(cax->peer->sk_err, ECONNREFUSED);
		WRITE_ONCE(cax->peer->sk_state, TCP_CLOSE);
	}
	spin_unlock(conn);

	list_for_each_entry_safe(cax, tmp, &pendq, conn_node) {
		struct sock *client = cax->peer;

		list_del_init(&cax->conn_node);
		afx_stat_inc(sk, AFX_STAT_REFUSED_NOLISTEN);
		client->sk_state_change(client);
		sk_error_report(client);
		afx_stream_drop_child(&cax->sk);
	}
	list_for_each_entry_safe(cax, tmp, &acceptq, conn_node) {
		list_del_init(&cax->conn_node);
		afx_stream_close_child(&cax->sk);
	}
	sk->sk_state_change(sk);
}

/* ---- proto_ops ---------------------------------------------------------- */

/*
 * Withdraw a connect() still waiting for room at the listener.
 * Return: true if it was still waiting (its child is dropped), false if
 * accept() or the listener decided first.
 */
static bool afx_stream_withdraw(struct sock *sk)
{
	struct afx_sock *ax = afx_sk(sk);
	struct sock *child = NULL;
	spinlock_t *conn; /* afx_conn_lock() of the listener's port */

	sock_owned_by_me(sk);
	/* The port we connect to; its listener may be gone by now. */
	conn = afx_conn_lock(ax->an, ax->peer_addr.sx_port);
	spin_lock(conn);
	if (sk->sk_state == TCP_SYN_SENT) {
		child = ax->peer;
		list_del_init(&afx_sk(child)->conn_node);
		WRITE_ONCE(sk->sk_state, TCP_CLOSE);
	}
	spin_unlock(conn);
	if (!child)
		return false;
	afx_stream_drop_child(child);
	return true;
}

/* afx_release() callback: leave the listener, pending attempt or peer. */
static void afx_stream_close(struct sock *sk)
{
	/* A listener may move us from SYN_SENT to CLOSE or ESTABLISHED. */
	switch (READ_ONCE(sk->sk_state)) {
	case TCP_LISTEN:
		afx_stream_listen_stop(sk);
		break;
	case TCP_SYN_SENT:
		afx_stream_withdraw(sk);
		break;
	}
	afx_stream_forget_attempt(sk);
	afx_stream_disconnect(sk);
	/* Free the unread bytes now, not when the peer lets go of us. */
	afx_conn_discard(sk);
}

static int afx_stream_release(struct socket *sock)
{
	return afx_release(sock, afx_stream_close);
}

static int afx_stream_listen(struct socket *sock, int backlog)
{
	struct sock *sk = sock->sk;
	bool admitted = false;
	spinlock_t *conn; /* afx_conn_lock() of the listener's port */
	unsigned int somaxconn;
	struct sock *client;
	int err;

	lock_sock(sk);
	if (sk->sk_state != TCP_CLOSE && sk->sk_state != TCP_LISTEN) {
		err = -EINVAL;
		goto out;
	}
	afx_stream_forget_attempt(sk);
	err = afx_autobind(sk);
	if (err)
		goto out;

	somaxconn = READ_ONCE(sock_net(sk)->core.sysctl_somaxconn);
	if ((unsigned int)backlog > somaxconn)
		backlog = somaxconn;
	if (sk->sk_state != TCP_LISTEN)
		afx_set_peercred(sk, task_tgid(current), current_cred());

	conn = afx_conn_lock(afx_sk(sk)->an, afx_port(sk));
	spin_lock(conn);
	WRITE_ONCE(sk->sk_max_ack_backlog, backlog);
	WRITE_ONCE(sk->sk_state, TCP_LISTEN);
	spin_unlock(conn);

	/* A larger backlog lets waiting connectors in, oldest first. */
	for (;;) {
		spin_lock(conn);
		client = afx_stream_admit(sk);
		spin_unlock(conn);
		if (!client)
			break;
		afx_stream_admitted(client);
		admitted = true;
	}
	if (admitted)
		sk->sk_data_ready(sk);
out:
	release_sock(sk);
	return err;
}

static bool afx_stream_not_connecting(struct sock *sk)
{
	return READ_ONCE(sk->sk_state) != TCP_SYN_SENT;
}

/* Prepare the server-side end of a connection from @sk to @listener. */
static void afx_stream_init_child(struct sock *child, struct sock *sk,
				  struct sock *listener)
{
	struct afx_sock *cax = afx_sk(child), *ax = afx_sk(sk);

	child->sk_sndbuf = READ_ONCE(listener->sk_sndbuf);
	child->sk_rcvbuf = READ_ONCE(listener->sk_rcvbuf);
	child->sk_rcvlowat = READ_ONCE(listener->sk_rcvlowat);
	child->sk_rcvtimeo = READ_ONCE(listener->sk_rcvtimeo);
	child->sk_sndtimeo = READ_ONCE(listener->sk_sndtimeo);
	child->sk_state = TCP_SYN_RECV;
	afx_fill_addr(&cax->local, AFX_ADDR_LOCAL, afx_port(listener));
	afx_fill_addr(&cax->peer_addr, AFX_ADDR_LOCAL, afx_port(sk));
	afx_set_peercred(child, task_tgid(current), current_cred());
	afx_copy_peercred(sk, listener);
	afx_fill_addr(&ax->peer_addr, AFX_ADDR_LOCAL, afx_port(listener));

	/* Each end holds a reference on the other. */
	sock_hold(sk);
	cax->peer = sk;
	sock_hold(child);
	ax->peer = child;
}

static int afx_stream_connect(struct socket *sock, struct sockaddr *uaddr,
			      int len, int flags)
{
	const struct sockaddr_x *sx = (const struct sockaddr_x *)uaddr;
	struct sock *sk = sock->sk, *listener, *child;
	spinlock_t *conn; /* afx_conn_lock() of the listener's port */
	bool nonblock = afx_nonblock(sk, flags & O_NONBLOCK);
	long timeo;
	int err;

	err = afx_check_addr(uaddr, len);
	if (err)
		return err;

	lock_sock(sk);
	switch (sk->sk_state) {
	case TCP_ESTABLISHED:
		err = -EISCONN;
		goto out;
	case TCP_LISTEN:
		err = -EINVAL;
		goto out;
	case TCP_SYN_SENT:
		if (nonblock) {
			err = -EALREADY;
			goto out;
		}
		goto wait;
	}

	err = afx_check_dest(sk, sx);
	if (err)
		goto out;
	afx_stream_forget_attempt(sk);
	/* A new attempt: an unread error of the last one is history. */
	WRITE_ONCE(sk->sk_err, 0);
	err = afx_autobind(sk);
	if (err)
		goto out;

	listener = sx->sx_port ? afx_stream_lookup(sock_net(sk), sx->sx_port) :
				 NULL;
	if (!listener) {
		afx_stat_inc(sk, AFX_STAT_REFUSED_NOLISTEN);
		err = -ECONNREFUSED;
		goto out;
	}
	/* The two connection-oriented types share ports, not connections. */
	if (listener->sk_type != sk->sk_type) {
		err = -EPROTOTYPE;
		goto out_put;
	}
	if (afx_stream_refuses(sk, listener)) {
		err = -ECONNREFUSED;
		goto out_put;
	}
	child = afx_sk_alloc(sock_net(sk), NULL, sk->sk_type,
			     listener->sk_kern_sock);
	if (!child) {
		err = -ENOMEM;
		goto out_put;
	}
	afx_stream_init_child(child, sk, listener);

	conn = afx_conn_lock(afx_sk(sk)->an, afx_port(listener));
	spin_lock(conn);
	if (afx_stream_refuses(sk, listener)) {
		err = -ECONNREFUSED;
	} else if (afx_acceptq_full(listener)) {
		afx_stat_inc(sk, AFX_STAT_ACCEPTQ_OVERFLOW);
		list_add_tail(&afx_sk(child)->conn_node,
			      &afx_sk(listener)->pendq);
		WRITE_ONCE(sk->sk_state, TCP_SYN_SENT);
		err = -EINPROGRESS;
	} else {
		afx_stream_establish(listener, child);
	}
	spin_unlock(conn);

	if (err == -ECONNREFUSED) {
		afx_stream_drop_child(child);
		afx_stream_forget_attempt(sk);
		goto out_put;
	}
	if (!err)
		listener->sk_data_ready(listener);
	afx_sock_put(listener);
	if (!err) {
		sock->state = SS_CONNECTED;
		goto out;
	}
	sock->state = SS_CONNECTING;
	if (nonblock)
		goto out;

wait:
	timeo = sock_sndtimeo(sk, nonblock);
	err = afx_sock_wait(sk, &timeo, EPOLLOUT, afx_stream_not_connecting);
	if (err) {
		/* Timed out or interrupted: withdraw unless accept() just won. */
		if (afx_stream_withdraw(sk)) {
			afx_stream_forget_attempt(sk);
			/* Others waiting for the outcome of the attempt. */
			sk->sk_state_change(sk);
			sock->state = SS_UNCONNECTED;
			if (err == -EAGAIN)
				err = -ETIMEDOUT;
			goto out;
		}
	}
	if (sk->sk_state == TCP_ESTABLISHED) {
		sock->state = SS_CONNECTED;
		err = 0;
	} else {
		sock->state = SS_UNCONNECTED;
		err = sock_error(sk) ? : -ECONNREFUSED;
		afx_stream_forget_attempt(sk);
	}
	goto out;

out_put:
	afx_sock_put(listener);
out:
	release_sock(sk);
	return err;
}

static bool afx_stream_acceptable(struct sock *sk)
{
	return READ_ONCE(sk->sk_ack_backlog) ||
	       READ_ONCE(sk->sk_state) != TCP_LISTEN;
}

static int afx_stream_accept_flags(struct socket *sock, struct socket *newsock,
				   int flags)
{
	struct sock *sk = sock->sk, *child = NULL, *promoted = NULL;
	struct afx_sock *ax = afx_sk(sk);
	spinlock_t *conn; /* afx_conn_lock() of the listener's port */
	long timeo;
	int err = 0;

	lock_sock(sk);
	timeo = sock_rcvtimeo(sk, afx_nonblock(sk, flags & O_NONBLOCK));
	for (;;) {
		if (sk->sk_state != TCP_LISTEN) {
			err = -EINVAL;
			goto out;
		}
		conn = afx_conn_lock(ax->an, afx_port(sk));
		spin_lock(conn);
		if (!list_empty(&ax->acceptq)) {
			child = &list_first_entry(&ax->acceptq, struct afx_sock,
						  conn_node)->sk;
			list_del_init(&afx_sk(child)->conn_node);
			sk_acceptq_removed(sk);
			/* The room just made goes to the oldest waiter. */
			promoted = afx_stream_admit(sk);
		}
		spin_unlock(conn);
		if (child)
			break;
		err = afx_sock_wait_exclusive(sk, &timeo, EPOLLIN,
					      afx_stream_acceptable);
		if (err)
			goto out;
	}

	if (promoted) {
		afx_stream_admitted(promoted);
		sk->sk_data_ready(sk);
	}

	lock_sock_nested(child, SINGLE_DEPTH_NESTING);
	sock_graft(child, newsock);
	newsock->state = SS_CONNECTED;
	release_sock(child);
out:
	release_sock(sk);
	return err;
}

/*
 * socketpair(): two new, unbound sockets connected to each other, as a
 * connect() and accept() would leave them, except that each end's name
 * and its peer's name are {AFX_ADDR_ANY, port 0}, what getsockname()
 * reports for an unbound socket, and each end's SO_PEERCRED is the
 * caller's. Neither has a file yet, so nothing else can call into them;
 * walks of the socket list may look, so the peer links go before the
 * state, as in afx_stream_establish().
 */
static int afx_stream_socketpair(struct socket *sock1, struct socket *sock2)
{
	struct sock *a = sock1->sk, *b = sock2->sk;
	struct afx_sock *ax = afx_sk(a), *bx = afx_sk(b);

	lock_sock(a);
	lock_sock_nested(b, SINGLE_DEPTH_NESTING);
	afx_fill_addr(&ax->peer_addr, AFX_ADDR_ANY, AFX_PORT_ANY);
	afx_fill_addr(&bx->peer_addr, AFX_ADDR_ANY, AFX_PORT_ANY);
	afx_set_peercred(a, task_tgid(current), current_cred());
	afx_set_peercred(b, task_tgid(current), current_cred());
	sock_hold(b);
	WRITE_ONCE(ax->peer, b);
	sock_hold(a);
	WRITE_ONCE(bx->peer, a);
	/* After the peer links: pairs with afx_stream_connected(). */
	smp_store_release(&a->sk_state, TCP_ESTABLISHED);
	/* The same for the other end. */
	smp_store_release(&b->sk_state, TCP_ESTABLISHED);
	sock1->state = SS_CONNECTED;
	sock2->state = SS_CONNECTED;
	release_sock(b);
	release_sock(a);
	return 0;
}

static int afx_stream_accept(struct socket *sock, struct socket *newsock,
			     AFX_ACCEPT_PARAMS)
{
	return afx_stream_accept_flags(sock, newsock, AFX_ACCEPT_FLAGS);
}

/**
 * __afx_stream_connected() - afx_stream_connected() for a socket that was
 *	not connected when it looked
 * @sk: a connection-oriented socket, socket lock not held
 * @timeo: the time left to wait
 * @events: the poll events the wait is for
 *
 * Return: as afx_stream_connected().
 */
int __afx_stream_connected(struct sock *sk, long *timeo, __poll_t events)
{
	int err = 0;

	lock_sock(sk);
	if (sk->sk_state == TCP_SYN_SENT)
		err = afx_sock_wait(sk, timeo, events,
				    afx_stream_not_connecting);
	if (!err && sk->sk_state != TCP_ESTABLISHED)
		err = -ENOTCONN;
	release_sock(sk);
	return err;
}

/*
 * The wait condition of a blocked writer. Before it looks at the room it
 * records the limit it measures against, for afx_stream_write_space().
 */
VISIBLE_IF_KUNIT bool afx_stream_can_write(struct sock *sk)
{
	struct sock *peer = afx_sk(sk)->peer;
	u32 limit;

	if ((READ_ONCE(sk->sk_shutdown) & SEND_SHUTDOWN) ||
	    READ_ONCE(sk->sk_state) != TCP_ESTABLISHED)
		return true;
	limit = min_t(u32, afx_stream_limit(sk, peer), AFX_SBUF_CAP);
	WRITE_ONCE(afx_sk(sk)->tx_wait_limit, limit);
	/* The record before the look at the room: see the reader's side. */
	smp_mb();
	return afx_sbuf_room(&afx_sk(peer)->rx, limit);
}
EXPORT_SYMBOL_IF_KUNIT(afx_stream_can_write);

/*
 * The wait condition of a writer whose bytes need a mark of ancillary
 * data at the peer (DOC: Stream ancillary data in anc.c).
 */
static bool afx_stream_can_mark(struct sock *sk)
{
	if ((READ_ONCE(sk->sk_shutdown) & SEND_SHUTDOWN) ||
	    READ_ONCE(sk->sk_state) != TCP_ESTABLISHED)
		return true;
	return afx_anc_room(afx_sk(sk)->peer);
}

static int afx_stream_sendmsg(struct socket *sock, struct msghdr *msg,
			      size_t len)
{
	struct sock *sk = sock->sk;
	struct afx_sock *ax = afx_sk(sk);
	struct scm_cookie scm, *scmp = NULL;
	const struct afx_msg_creds *creds;
	struct scm_fp_list *fpl = NULL;
	struct afx_msg_creds cbuf;
	struct sock *peer;
	int err, n, marked;
	size_t sent = 0;
	u32 anc_id = 0;
	long timeo;
	bool carry;

	if (msg->msg_flags & MSG_OOB)
		return -EOPNOTSUPP;

	timeo = sock_sndtimeo(sk, afx_nonblock(sk, msg->msg_flags & MSG_DONTWAIT));
	err = afx_stream_connected(sk, &timeo, EPOLLOUT);
	if (err)
		goto out_err;
	if (msg->msg_namelen) {
		err = -EISCONN;
		goto out_err;
	}
	if (msg->msg_controllen) {
		/* As a message's: SCM_CREDENTIALS checked, SCM_RIGHTS taken. */
		err = afx_msg_scm_send(sock, msg, &scm, &fpl);
		if (err)
			goto out_err;
		scmp = &scm;
	}
	peer = ax->peer;
	creds = afx_msg_creds_for(&cbuf, scmp, sk, peer);
	if (mutex_lock_interruptible(&ax->tx_lock)) {
		err = sock_intr_errno(timeo);
		goto out_scm;
	}

	afx_sbuf_write_hint(&afx_sk(peer)->rx, len);
	/* Checked before the first byte too: a zero-length send gets EPIPE. */
	for (;;) {
		if (READ_ONCE(sk->sk_shutdown) & SEND_SHUTDOWN) {
			err = -EPIPE;
			goto out_unlock;
		}
		if (sent >= len)
			break;
		carry = creds || fpl || afx_anc_busy(peer);
		if (!carry) {
			/* Straight into a waiting reader's memory if posted. */
			n = afx_sbuf_push_direct(&afx_sk(peer)->rx,
						 &msg->msg_iter, len - sent);
			if (n) {
				peer->sk_data_ready(peer);
				afx_stat_add(sk, AFX_STAT_BYTES_DIRECT, n);
				sent += n;
				continue;
			}
		}
		n = min_t(size_t, len - sent, afx_stream_room(sk, peer));
		/* Marked only when bytes follow (DOC: Stream ancillary data). */
		marked = 0;
		if (n && carry) {
			marked = afx_anc_mark(peer, creds, &fpl, &anc_id);
			if (marked == -EAGAIN) {
				err = afx_io_wait(sk, &ax->tx_lock, &timeo,
						  EPOLLOUT, afx_stream_can_mark);
				if (err)
					goto out_unlock;
				continue;
			}
			if (marked < 0) {
				err = marked;
				goto out_unlock;
			}
		}
		n = afx_sbuf_push(&afx_sk(peer)->rx, &msg->msg_iter, n);
		if (n > 0)
			afx_stream_data_ready(peer, n);
		else if (marked > 0)
			afx_anc_unmark(peer, &fpl, &anc_id);
		if (n < 0) {
			err = n;
			goto out_unlock;
		}
		sent += n;
		if (n)
			continue;
		/* O_ASYNC writers get SIGIO when the peer makes room. */
		sk_set_bit(SOCKWQ_ASYNC_NOSPACE, sk);
		err = afx_io_wait(sk, &ax->tx_lock, &timeo, EPOLLOUT,
				  afx_stream_can_write);
		if (err)
			goto out_unlock;
	}
	err = 0;
out_unlock:
	mutex_unlock(&ax->tx_lock);
out_scm:
	/* Files no mark took: a zero-length or failed write sends none. */
	afx_msg_files_put(fpl);
	if (scmp)
		scm_destroy(scmp);
out_err:
	if (sent) {
		afx_stat_add(sk, AFX_STAT_BYTES_OUT, sent);
		return sent;
	}
	return err ? afx_send_error(msg, err) : 0;
}

/**
 * afx_stream_can_read() - the wait condition of a blocked reader
 * @sk: a connection-oriented socket
 *
 * Return: true when it has something to read, an error, EOF, or is no
 * longer connected.
 */
bool afx_stream_can_read(struct sock *sk)
{
	return afx_sbuf_readable(&afx_sk(sk)->rx) || READ_ONCE(sk->sk_err) ||
	       (READ_ONCE(sk->sk_shutdown) & RCV_SHUTDOWN) ||
	       READ_ONCE(sk->sk_state) != TCP_ESTABLISHED;
}
EXPORT_SYMBOL_IF_KUNIT(afx_stream_can_read);

/* The wait condition of a reader that posted its memory (DOC: Stream buffer). */
static bool afx_stream_can_read_direct(struct sock *sk)
{
	return afx_sbuf_direct_done(&afx_sk(sk)->rx) || afx_stream_can_read(sk);
}

/*
 * Wait for data on an empty buffer, posting the reader's own memory for a
 * direct copy when the writer writes large (afx_sbuf_post()). Return: the
 * result of the wait; *@copied grows by the bytes copied direct.
 */
static int afx_stream_wait_data(struct sock *sk, struct msghdr *msg,
				size_t want, int *copied, long *timeo)
{
	struct afx_sock *ax = afx_sk(sk);
	struct afx_sbuf_direct d;
	int err;

	if (afx_sbuf_post(&ax->rx, &d, &msg->msg_iter, want))
		return afx_io_wait(sk, &ax->rx_lock, timeo, EPOLLIN,
				   afx_stream_can_read);
	err = afx_io_wait(sk, &ax->rx_lock, timeo, EPOLLIN,
			  afx_stream_can_read_direct);
	*copied += afx_sbuf_unpost(&ax->rx, &d, &msg->msg_iter);
	return err;
}

static int afx_stream_recvmsg(struct socket *sock, struct msghdr *msg,
			      size_t len, int flags)
{
	struct sock *sk = sock->sk;
	struct afx_sock *ax = afx_sk(sk);
	bool passcred = test_bit(SOCK_PASSCRED, &sock->flags);
	bool peek = flags & MSG_PEEK;
	struct afx_anc_seg seg = {};
	int copied = 0, target, n;
	bool empty, eof;
	u32 avail, want;
	int reset;
	long timeo;
	int err = 0;

	if (flags & MSG_OOB)
		return -EOPNOTSUPP;

	timeo = sock_rcvtimeo(sk, afx_nonblock(sk, flags & MSG_DONTWAIT));
	target = sock_rcvlowat(sk, flags & MSG_WAITALL, len);
	err = afx_stream_connected(sk, &timeo, EPOLLIN);
	if (err || !len)
		return err;
	if (mutex_lock_interruptible(&ax->rx_lock))
		return sock_intr_errno(timeo);

	for (;;) {
		/*
		 * No further than the bytes seen, then no further than their
		 * segment: a mark is there before the bytes it covers
		 * (DOC: Stream ancillary data in anc.c).
		 */
		avail = afx_sbuf_readable(&ax->rx);
		want = min_t(size_t, len - copied, avail);
		/* Bytes already read carried nothing if no segment started. */
		if (copied)
			seg.started = true;
		if (want && (seg.started || afx_anc_busy(sk) || passcred)) {
			want = min(want, afx_anc_next(sk, &seg, passcred, peek));
			if (!want)
				break;
		}
		n = want ? afx_sbuf_pull(&ax->rx, &msg->msg_iter, want, peek) : 0;
		if (n < 0) {
			if (!copied)
				err = n;
			break;
		}
		if (n && !peek)
			afx_stream_write_space(sk, n);
		copied += n;
		if (copied >= target || (peek && copied))
			break;
		/*
		 * EOF and errors come only after the data queued before them.
		 * A peer pushes before it shuts down or resets us under our
		 * afx_sock.lock: seen under that lock, they are final once the
		 * buffer is seen empty after them.
		 */
		spin_lock(&ax->lock);
		reset = READ_ONCE(sk->sk_err);
		eof = sk->sk_shutdown & RCV_SHUTDOWN;
		spin_unlock(&ax->lock);
		empty = !afx_sbuf_readable(&ax->rx);
		if (!empty)
			continue;
		if (reset) {
			if (!copied)
				err = sock_error(sk);
			break;
		}
		if (eof)
			break;
		if (!timeo) {
			if (!copied)
				err = -EAGAIN;
			break;
		}
		err = afx_stream_wait_data(sk, msg, peek ? 0 : len - copied,
					   &copied, &timeo);
		if (err) {
			if (copied)
				err = 0;
			break;
		}
	}
	if (passcred || seg.mark || afx_anc_busy(sk))
		afx_anc_end(sock, msg, &seg, flags, err ? err : copied);
	mutex_unlock(&ax->rx_lock);
	if (copied > 0 && !peek)
		afx_stat_add(sk, AFX_STAT_BYTES_IN, copied);
	return err ? err : copied;
}

static int afx_stream_shutdown(struct socket *sock, int how)
{
	struct sock *sk = sock->sk, *peer;
	struct afx_sock *ax = afx_sk(sk);
	int mode, peer_mode, err = 0;

	if (how < SHUT_RD || how > SHUT_RDWR)
		return -EINVAL;
	mode = how + 1;	/* SHUT_RD -> RCV_SHUTDOWN, SHUT_WR -> SEND_SHUTDOWN */

	lock_sock(sk);
	if (sk->sk_state == TCP_LISTEN) {
		if (mode & RCV_SHUTDOWN)
			afx_stream_listen_stop(sk);
		goto out;
	}
	if (sk->sk_state != TCP_ESTABLISHED) {
		err = -ENOTCONN;
		goto out;
	}

	/*
	 * A send in progress finishes first: EOF comes after its bytes. It
	 * may be stalled in a page fault of its own (userfaultfd), so a
	 * fatal signal ends the wait.
	 */
	if ((mode & SEND_SHUTDOWN) && mutex_lock_killable(&ax->tx_lock)) {
		err = -EINTR;
		goto out;
	}
	afx_shutdown_add(sk, mode);
	if (mode & SEND_SHUTDOWN)
		mutex_unlock(&ax->tx_lock);
	peer = ax->peer;
	peer_mode = (mode & RCV_SHUTDOWN ? SEND_SHUTDOWN : 0) |
		    (mode & SEND_SHUTDOWN ? RCV_SHUTDOWN : 0);
	afx_shutdown_add(peer, peer_mode);

	peer->sk_state_change(peer);
	if (peer_mode & RCV_SHUTDOWN)
		sk_wake_async(peer, SOCK_WAKE_WAITD, POLL_HUP);
	else
		sk_wake_async(peer, SOCK_WAKE_SPACE, POLL_HUP);
	sk->sk_state_change(sk);
out:
	release_sock(sk);
	return err;
}

/*
 * Enough queued for POLLIN: SO_RCVLOWAT bytes, or whatever is queued once
 * the writer can add no more (SO_SNDBUF or SO_RCVBUF may be below the
 * low-water mark), so that a poller never waits for data that cannot come.
 */
static bool afx_stream_readable(struct sock *sk, struct sock *peer)
{
	u32 queued = afx_sbuf_readable(&afx_sk(sk)->rx);

	if (!queued)
		return false;
	return queued >= (u32)max(READ_ONCE(sk->sk_rcvlowat), 1) ||
	       (peer && !afx_stream_room(peer, sk));
}

/**
 * afx_conn_poll_begin() - poll() of a connection-oriented socket, up to its data
 * @file: the socket's file
 * @sock: the socket
 * @wait: the poll table
 * @mask: the events found so far
 * @shutdown: sk_shutdown, as read once for the whole call
 *
 * Marks the socket polled, so that every push to it and every read by its
 * peer wake it (afx_stream_data_ready(), afx_stream_write_space()), and
 * reports what the connection state says.
 *
 * Return: true if the socket is connected and the caller adds the events
 * of its data path.
 */
bool afx_conn_poll_begin(struct file *file, struct socket *sock,
			 poll_table *wait, __poll_t *mask, u8 *shutdown)
{
	struct sock *sk = sock->sk;
	int state;

	/* Before queueing: see afx_stream_data_ready(). */
	if (!READ_ONCE(afx_sk(sk)->polled))
		WRITE_ONCE(afx_sk(sk)->polled, true);
	*mask = afx_poll_begin(file, sock, wait, shutdown);
	state = READ_ONCE(sk->sk_state);
	switch (state) {
	case TCP_LISTEN:
		if (READ_ONCE(sk->sk_ack_backlog))
			*mask |= EPOLLIN | EPOLLRDNORM;
		return false;
	case TCP_SYN_SENT:
		return false;
	case TCP_CLOSE:
		*mask |= EPOLLHUP | EPOLLOUT | EPOLLWRNORM;
		return false;
	}
	*mask |= afx_poll_shutdown(*shutdown);
	return true;
}

static __poll_t afx_stream_poll(struct file *file, struct socket *sock,
				poll_table *wait)
{
	struct sock *sk = sock->sk;
	struct sock *peer;
	__poll_t mask;
	u8 shutdown;

	if (!afx_conn_poll_begin(file, sock, wait, &mask, &shutdown))
		return mask;
	peer = READ_ONCE(afx_sk(sk)->peer);
	if (afx_stream_readable(sk, peer))
		mask |= EPOLLIN | EPOLLRDNORM;
	if (shutdown & SEND_SHUTDOWN ||
	    (peer && afx_stream_room(sk, peer) && afx_anc_room(peer)))
		mask |= EPOLLOUT | EPOLLWRNORM;
	else
		sk_set_bit(SOCKWQ_ASYNC_NOSPACE, sk);
	return mask;
}

static int afx_stream_ioctl(struct socket *sock, unsigned int cmd,
			    unsigned long arg)
{
	struct sock *sk = sock->sk;
	struct afx_sock *ax = afx_sk(sk);
	int amount = 0;

	switch (cmd) {
	case SIOCINQ:
	case SIOCOUTQ:
		break;
	default:
		return -ENOIOCTLCMD;
	}

	lock_sock(sk);
	if (sk->sk_state == TCP_LISTEN) {
		release_sock(sk);
		return -EINVAL;
	}
	if (sk->sk_state == TCP_ESTABLISHED)
		amount = afx_conn_queued(cmd == SIOCINQ ? sk : ax->peer);
	release_sock(sk);
	return put_user(amount, (int __user *)arg);
}

/**
 * afx_stream_info() - the connection part of afx_sock_info()
 * @sk: a stream or seqpacket socket, with a reference held; no locks held
 * @info: filled in; the common fields are already there
 *
 * Reads without the socket lock (see DOC: Locks and lifetimes). A child
 * that is not accepted yet has no struct socket and its peer link belongs
 * to the listener's queues, so neither its peer inode nor its send queue
 * is reported.
 */
void afx_stream_info(struct sock *sk, struct afx_sock_info *info)
{
	struct afx_sock *ax = afx_sk(sk);
	struct sock *peer;

	if (info->state == TCP_LISTEN) {
		info->rqueue = READ_ONCE(sk->sk_ack_backlog);
		info->wqueue = READ_ONCE(sk->sk_max_ack_backlog);
		return;
	}
	/* A stream socket keeps the address of a failed attempt. */
	if (info->state == TCP_CLOSE)
		memset(&info->peer, 0, sizeof(info->peer));
	info->rqueue = afx_conn_queued(sk);
	/* A peer outlives, by RCU, the pointer that names it. */
	rcu_read_lock();
	peer = READ_ONCE(ax->peer);
	if (peer && sk->sk_socket && info->state == TCP_ESTABLISHED) {
		info->wqueue = afx_conn_queued(peer);
		info->peer_ino = sock_i_ino(peer);
	}
	rcu_read_unlock();
}

const struct proto_ops afx_stream_ops = {
	.family		= AF_X,
	.owner		= THIS_MODULE,
	.release	= afx_stream_release,
	.bind		= afx_bind,
	.connect	= afx_stream_connect,
	.socketpair	= afx_stream_socketpair,
	.accept		= afx_stream_accept,
	.getname	= afx_getname,
	.poll		= afx_stream_poll,
	.ioctl		= afx_stream_ioctl,
	.listen		= afx_stream_listen,
	.shutdown	= afx_stream_shutdown,
	.setsockopt	= afx_setsockopt,
	.getsockopt	= afx_getsockopt,
	.sendmsg	= afx_stream_sendmsg,
	.recvmsg	= afx_stream_recvmsg,
	.mmap		= sock_no_mmap,
	AFX_NO_SENDPAGE
};

/* SOCK_SEQPACKET: the connections of a stream, the data path of seqpacket.c. */
const struct proto_ops afx_seqpacket_ops = {
	.family		= AF_X,
	.owner		= THIS_MODULE,
	.release	= afx_stream_release,
	.bind		= afx_bind,
	.connect	= afx_stream_connect,
	.socketpair	= afx_stream_socketpair,
	.accept		= afx_stream_accept,
	.getname	= afx_getname,
	.poll		= afx_seqpacket_poll,
	.ioctl		= afx_stream_ioctl,
	.listen		= afx_stream_listen,
	.shutdown	= afx_stream_shutdown,
	.setsockopt	= afx_setsockopt,
	.getsockopt	= afx_getsockopt,
	.sendmsg	= afx_seqpacket_sendmsg,
	.recvmsg	= afx_seqpacket_recvmsg,
	.mmap		= sock_no_mmap,
	AFX_NO_SENDPAGE
};
