// SPDX-License-Identifier: GPL-2.0
/*
 * afx: the AF_X socket family.
 *
 * Family registration, socket creation, what every socket type shares
 * (names, SOL_X options, waiting, release, the poll preamble) and module
 * init. The DOC: sections below are the design notes of the whole module;
 * Documentation/afx.rst points here instead of restating them.
 */

/**
 * DOC: Socket kinds
 *
 * One struct proto (afx_proto) and one proto_ops per socket type:
 * afx_stream_ops and afx_seqpacket_ops (stream.c) and afx_dgram_ops
 * (dgram.c). Every socket is a struct afx_sock with struct sock first;
 * afx_sk() converts.
 *
 * The types come in two kinds. The connection-oriented ones (afx_is_conn()),
 * SOCK_STREAM and SOCK_SEQPACKET, share the stream port space and the
 * connection machinery of stream.c (listen, connect, accept, socketpair,
 * shutdown, close); they differ only in their data path: bytes for a
 * stream (stream.c), whole messages for a seqpacket socket (seqpacket.c).
 * The message types, SOCK_DGRAM and SOCK_SEQPACKET, share the record
 * format of their receive buffers (msg.c). What each kind reports to
 * introspection is filled in by its own file (afx_stream_info(),
 * afx_dgram_info()); sklist.c only keeps the list.
 */

/**
 * DOC: Tables
 *
 * Each port space (stream and seqpacket, datagram) has one bind table for every
 * namespace: buckets by a keyed hash of the port (hsiphash with a random
 * key per namespace, so that nobody can aim sockets at the bucket of
 * someone else's port, and namespaces do not share a layout), each with
 * its own spinlock. Its size is fixed at module load by the machine's
 * memory (afx_bind_hash_init(); the bind_buckets parameter shows it), as
 * inet sizes its tables, so that a chain
 * holds a socket or two even when the machine is full of them: the
 * chains are the only part of a bind or lookup that grows with the
 * number of sockets. A chain mixes namespaces; its walk
 * (afx_port_first(), afx_port_next()) compares namespace and port. Each
 * namespace (struct afx_net, net_generic()) keeps a bitmap per space of
 * the ephemeral-range ports it uses. A bind decides that a port is free
 * and takes it under the port's bucket lock (addr.c). Readers on the
 * data path (datagram sends, stream connect) walk a bucket under RCU and
 * take a reference with refcount_inc_not_zero(). All afx sockets are
 * SOCK_RCU_FREE so that such a walk never touches freed memory. A socket
 * leaves its table before its last reference can go.
 *
 * Ephemeral ports follow RFC 6056's random increments: the search starts
 * a random 1 to AFX_PORT_STEP ports past the last port handed out and
 * takes the first port whose bit is clear and that its bucket confirms
 * free: one pass over the bitmap at most, and one bucket walk per
 * candidate (more than one candidate only when another bind takes the
 * same port first), never holding more than one bucket's lock.
 *
 * Independently, every live sock is in the namespace's afx_net.all
 * (sklist.c), from allocation until it dies.
 */

/**
 * DOC: Stream connections
 *
 * connect() refuses at once, allocating nothing, when the socket on the
 * port does not listen or its full queue refuses (X_REFUSE_WHEN_FULL).
 * Otherwise it allocates the server-side socket (the child), links the
 * two ends (each holds a reference on the other through afx_sock.peer)
 * and, under the connection lock of the listener's port (afx_conn_lock(),
 * the lock of its stream bind bucket), either puts the child on the
 * listener's accept queue (connected at once) or, when the queue is full,
 * on the listener's pending queue (connector in TCP_SYN_SENT). accept()
 * takes the oldest child and promotes the oldest pending child into the
 * room it made, moving both ends to TCP_ESTABLISHED and waking the
 * connector; a second listen() with a larger backlog promotes as many as
 * now fit. A listener that closes refuses its pending connectors
 * (ECONNREFUSED) and closes its unaccepted children. accept() callers
 * wait exclusively (afx_sock_wait_exclusive()): a connection wakes one.
 *
 * Socket states (sk_state): TCP_CLOSE (unconnected, or a failed attempt),
 * TCP_LISTEN, TCP_SYN_SENT (waiting for accept queue room), TCP_SYN_RECV
 * (a child not yet on the accept queue), TCP_ESTABLISHED. Shutdowns, our
 * own and those the peer causes, are kept in sk_shutdown as AF_UNIX does.
 */

/**
 * DOC: Data
 *
 * Streams: each socket embeds the stream buffer of the bytes sent to it
 * (afx_sock.rx, DOC: Stream buffer in sbuf.c), a ring of pages with one
 * producer, the peer's sendmsg() under the peer's afx_sock.tx_lock, and
 * one consumer, our own recvmsg() under our afx_sock.rx_lock; they share
 * no lock, and neither takes the socket lock once the socket is
 * connected: TCP_ESTABLISHED is final until release(), and the peer link
 * with it (afx_stream_connected()), so a socket's sending and receiving
 * do not serialise each other either. A writer copies straight from its
 * user buffer into the pages, a reader straight out of them. SO_SNDBUF
 * and SO_RCVBUF bound the payload bytes queued (afx_stream_limit()), so
 * the low-water mark and the limits are in the same unit. Shutting down
 * and resetting go through the receiver's afx_sock.lock
 * (afx_shutdown_add()), after the writer's last push (shutdown(SHUT_WR)
 * takes the writer's tx_lock, and a closing writer has no send in
 * progress), so a reader that sees EOF or an error under that lock and
 * then an empty buffer has read every byte sent before them.
 *
 * Datagrams: each socket's afx_sock.rx holds the datagrams sent to it as
 * records (msg.c: a struct afx_msg_hdr with the length and the sender's
 * port, the credentials if any, and the payload) in the same ring of
 * pages. Senders are its producers, serialised by the
 * receiver's afx_sock.rx_wlock; the receiver's recvmsg() under its
 * afx_sock.rx_lock is the consumer. A record is published whole, with one
 * release of the ring's head, and copied from the sender's buffer with
 * page faults disabled: a sender never sleeps on a fault while others wait
 * for rx_wlock, it faults its buffer in after letting go and tries again.
 * A broadcast copies the payload from the user once and pushes that copy
 * to each receiver in turn, holding references, not RCU. SO_RCVBUF bounds
 * the bytes queued, headers included; pages are charged to the sender's
 * memory cgroup. Shutting down reading and closing take rx_wlock once
 * after setting sk_shutdown, so a sender still pushing has finished and
 * later ones are refused: nothing is queued to a socket that has shut down
 * reading once that call returns.
 *
 * Seqpackets: the records of msg.c in the ring of a connection, whose one
 * producer is the peer's sendmsg() under the peer's tx_lock, as for a
 * stream, pushing each message whole once it fits (seqpacket.c); the
 * stream rules below for waking, shutting down and EOF hold unchanged,
 * with a writer's tx_wait_limit lowered by the size of its message.
 *
 * A datagram reader wakes the senders blocked on its queue after it frees
 * room, if any sleep (wq_has_sleeper()). A stream reader wakes its peer's
 * writer only when that writer can be waiting for the room it made: what
 * was queued before the read had reached the limit the writer last slept
 * on, or the writer is polled or O_ASYNC (afx_stream_write_space()). A
 * writer of either type wakes the reader only when the reader can be
 * waiting for what it added: the buffer held nothing before, or the socket
 * is polled or O_ASYNC (afx_stream_data_ready(), afx_dgram_queue()).
 *
 * Sleeping: socket calls sleep in afx_sock_wait(), or afx_io_wait() for
 * the data path, which drops the direction lock instead of the socket
 * lock; the wait entry is woken only by the poll events it waits for.
 * Datagram senders waiting for room sleep on the receiver's
 * afx_sock.peer_wait instead (they hold no lock on the receiver), and a
 * connected datagram socket's poll() parks its peer_wake entry there to
 * turn room at its peer into POLLOUT, as AF_UNIX does.
 */

/**
 * DOC: Locks and lifetimes
 *
 * Lock order: lock_sock(sk) -> afx_bind_bucket.lock (bind, autobind,
 *                 close; as afx_conn_lock(), listen, connect, accept),
 *                 one bucket at a time
 *             lock_sock(sk) -> afx_sock.lock (own or peer's, one at a time)
 *             afx_sock.peer_wait.lock -> the wait queue of the socket
 *                 whose peer_wake entry is parked there (the relay
 *                 wakes its poller under it)
 *             lock_sock(sk) -> afx_sock.rx_wlock (a datagram socket's
 *                 own, when it shuts down reading or closes)
 *             lock_sock(sk) -> afx_sock.tx_lock (a connection's own,
 *                 when it shuts down writing)
 *             the lock of afx_net.all is taken alone, in process
 *                 context
 * The data path takes the direction locks, afx_sock.rx_lock (reading) and
 * afx_sock.tx_lock (stream writing), with the socket lock not held, and
 * never takes the socket lock while holding one: it lets go of the socket
 * lock before (afx_stream_connected()).
 * afx_bind_bucket.lock and afx_sock.lock are never held together, and no
 * spinlock is held across a user copy or an allocation other than
 * GFP_ATOMIC.
 * rx_lock and tx_lock are held across the user copy, which may fault and
 * sleep (userfaultfd: indefinitely), so only the socket's own calls take
 * them; a peer, a sender or introspection never waits for either.
 * A datagram sender holds its receiver's rx_wlock, and nothing else,
 * across the copy of one datagram, which takes no page faults, and the
 * page allocations it needs.
 * Which lock guards which field is in the kernel-doc of struct afx_net
 * and struct afx_sock (afx.h).
 *
 * Lifetimes: struct socket owns one reference on its sock; a stream peer
 * link owns one on each end; a child on a listener queue is owned by the
 * queue, and accept() hands that reference to the new struct socket. A
 * sock and the netns it lives in outlive any RCU reader. A sock leaves
 * afx_net.all when it dies (release(), or a child's removal from its
 * listener's queues), before its last reference can go.
 */

#include <linux/cred.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/net.h>
#include <linux/sched/signal.h>
#include <linux/socket.h>
#include <net/sock.h>
#include <kunit/visibility.h>

#include "afx.h"
#include "compat.h"

static int family = AF_X;
module_param(family, int, 0444);
MODULE_PARM_DESC(family, "address family number to register (default 18, AF_X)");

/* The family number in force; fixed once the module is loaded. */
int afx_family __read_mostly = AF_X;
EXPORT_SYMBOL_IF_KUNIT(afx_family);
unsigned int afx_net_id __read_mostly;
EXPORT_SYMBOL_IF_KUNIT(afx_net_id);

struct proto afx_proto = {
	.name		= "AF_X",
	.owner		= THIS_MODULE,
	.obj_size	= sizeof(struct afx_sock),
};

/**
 * afx_set_peercred() - set what SO_PEERCRED reports for @sk
 * @sk: the socket
 * @pid: the peer's process
 * @cred: its credentials
 */
void afx_set_peercred(struct sock *sk, struct pid *pid,
		      const struct cred *cred)
{
	const struct cred *old_cred;
	struct pid *old_pid;

	spin_lock(&sk->sk_peer_lock);
	old_pid = sk->sk_peer_pid;
	old_cred = sk->sk_peer_cred;
	sk->sk_peer_pid = get_pid(pid);
	sk->sk_peer_cred = get_cred(cred);
	spin_unlock(&sk->sk_peer_lock);

	put_pid(old_pid);
	put_cred(old_cred);
}

/**
 * afx_fill_addr() - build a complete AF_X address
 * @sx: the address to fill
 * @addr: AFX_ADDR_*
 * @port: port number
 */
void afx_fill_addr(struct sockaddr_x *sx, u32 addr, u32 port)
{
	memset(sx, 0, sizeof(*sx));
	sx->sx_family = afx_family;
	sx->sx_addr = addr;
	sx->sx_port = port;
}

/*
 * Free what a sock nobody can reach any more keeps queued: its receive
 * buffer's pages and what its messages or marks hold. Twice is harmless.
 */
static void afx_sk_free_queued(struct sock *sk)
{
	/* Messages pushed after close (msg.c) still hold credentials. */
	if (sk->sk_type != SOCK_STREAM)
		afx_msg_purge(sk);
	afx_sbuf_purge(&afx_sk(sk)->rx);
	if (sk->sk_type == SOCK_STREAM)
		afx_anc_free(sk);
}

static void afx_sk_destruct(struct sock *sk)
{
	struct afx_sock *ax = afx_sk(sk);

	/* Delisted when it died, before its last reference went. */
	WARN_ON_ONCE(ax->listed);
	/* Left for us only by a last reference not dropped by afx_sock_put(). */
	afx_sk_free_queued(sk);
	mutex_destroy(&ax->rx_lock);
	if (afx_is_conn(sk)) {
		mutex_destroy(&ax->tx_lock);
		WARN_ON_ONCE(ax->peer);
	} else {
		mutex_destroy(&ax->rx_wlock);
	}
	WARN_ON_ONCE(!hlist_unhashed(&ax->bind_node));
}

/**
 * afx_sock_put() - drop a reference on an AF_X sock
 * @sk: the sock
 *
 * sock_put(), except that the last reference frees what the sock has
 * queued at once, in the caller's context: its pages go back while they
 * are warm (to the next buffer that starts one, DOC: Stream buffer), not
 * a grace period later in the RCU callback that frees the sock. Nobody
 * can reach the buffer any more: every producer and consumer of it holds
 * a reference, and lockless readers of a sock they hold no reference on
 * read only its indices, which stay until the sock is freed.
 */
void afx_sock_put(struct sock *sk)
{
	if (refcount_dec_and_test(&sk->sk_refcnt)) {
		afx_sk_free_queued(sk);
		sk_free(sk);
	}
}

/* Wake those waiting to write, and only them. */
static void afx_write_space(struct sock *sk)
{
	struct socket_wq *wq;

	rcu_read_lock();
	wq = rcu_dereference(sk->sk_wq);
	if (skwq_has_sleeper(wq))
		wake_up_interruptible_sync_poll(&wq->wait, EPOLLOUT |
						EPOLLWRNORM | EPOLLWRBAND);
	sk_wake_async(sk, SOCK_WAKE_SPACE, POLL_OUT);
	rcu_read_unlock();
}

/**
 * afx_sk_alloc() - allocate and initialise an AF_X sock
 * @net: namespace the sock lives in
 * @sock: the struct socket it belongs to, or NULL for a stream child
 * @type: SOCK_STREAM, SOCK_SEQPACKET or SOCK_DGRAM
 * @kern: a kernel socket (holds no reference on @net)
 *
 * Return: the new sock with one reference, or NULL.
 */
struct sock *afx_sk_alloc(struct net *net, struct socket *sock, int type,
			  bool kern)
{
	struct afx_sock *ax;
	struct sock *sk;

	BUILD_BUG_ON(offsetof(struct afx_sock, sk) != 0);

	/* At the memory cgroup's limit: ENOMEM, not an OOM kill. */
	sk = sk_alloc(net, afx_family,
		      GFP_KERNEL | __GFP_RETRY_MAYFAIL | __GFP_NOWARN,
		      &afx_proto, kern);
	if (!sk)
		return NULL;

	sock_init_data(sock, sk);
	sk->sk_type = type;
	sk->sk_protocol = 0;
	sk->sk_destruct = afx_sk_destruct;
	sk->sk_write_space = afx_write_space;
	sock_set_flag(sk, SOCK_RCU_FREE);

	ax = afx_sk(sk);
	ax->an = afx_net(net);
	spin_lock_init(&ax->lock);
	afx_sbuf_init(&ax->rx);
	mutex_init(&ax->rx_lock);
	INIT_HLIST_NODE(&ax->bind_node);
	if (afx_is_conn(sk)) {
		mutex_init(&ax->tx_lock);
		ax->tx_wait_limit = U32_MAX;
		INIT_LIST_HEAD(&ax->conn_node);
		INIT_LIST_HEAD(&ax->acceptq);
		INIT_LIST_HEAD(&ax->pendq);
	} else {
		mutex_init(&ax->rx_wlock);
		init_waitqueue_head(&ax->peer_wait);
		INIT_LIST_HEAD(&ax->peer_wake.entry);
	}
	/* Last: walks see the sock from here on. */
	if (afx_sklist_add(sk)) {
		if (sock)
			sock->sk = NULL;
		sk_free(sk);
		return NULL;
	}
	afx_stat_inc(sk, AFX_STAT_SOCKETS);
	return sk;
}

static int afx_create(struct net *net, struct socket *sock, int protocol,
		      int kern)
{
	switch (sock->type) {
	case SOCK_STREAM:
		sock->ops = &afx_stream_ops;
		break;
	case SOCK_SEQPACKET:
		sock->ops = &afx_seqpacket_ops;
		break;
	case SOCK_DGRAM:
		sock->ops = &afx_dgram_ops;
		break;
	default:
		return -ESOCKTNOSUPPORT;
	}
	if (protocol)
		return -EPROTONOSUPPORT;

	sock->state = SS_UNCONNECTED;
	if (!afx_sk_alloc(net, sock, sock->type, kern))
		return -ENOMEM;
	return 0;
}

/**
 * afx_getname() - proto_ops.getname for every AF_X socket type
 * @sock: the socket
 * @uaddr: where to store the address
 * @peer: nonzero for the peer's address
 *
 * Return: the address length, or -ENOTCONN for the peer of an
 * unconnected socket.
 */
int afx_getname(struct socket *sock, struct sockaddr *uaddr, int peer)
{
	struct sockaddr_x *sx = (struct sockaddr_x *)uaddr;
	struct sock *sk = sock->sk;
	struct afx_sock *ax = afx_sk(sk);
	int err = sizeof(*sx);

	lock_sock(sk);
	if (peer) {
		if (!ax->peer_addr.sx_family ||
		    (afx_is_conn(sk) && sk->sk_state != TCP_ESTABLISHED))
			err = -ENOTCONN;
		else
			*sx = ax->peer_addr;
	} else if (afx_is_bound(sk)) {
		*sx = ax->local;
	} else {
		afx_fill_addr(sx, AFX_ADDR_ANY, AFX_PORT_ANY);
	}
	release_sock(sk);
	return err;
}

/**
 * afx_setsockopt() - proto_ops.setsockopt: the SOL_X options
 * @sock: the socket
 * @level: must be SOL_X
 * @optname: X_NONBLOCK or X_REFUSE_WHEN_FULL
 * @optval: an int
 * @optlen: at least sizeof(int)
 *
 * Return: 0, -ENOPROTOOPT, -EINVAL or -EFAULT.
 */
int afx_setsockopt(struct socket *sock, int level, int optname,
		   sockptr_t optval, unsigned int optlen)
{
	struct afx_sock *ax = afx_sk(sock->sk);
	int val;

	if (level != SOL_X)
		return -ENOPROTOOPT;
	if (optname != X_NONBLOCK &&
	    (optname != X_REFUSE_WHEN_FULL || !afx_is_conn(sock->sk)))
		return -ENOPROTOOPT;
	if (optlen < sizeof(int))
		return -EINVAL;
	if (copy_from_sockptr(&val, optval, sizeof(val)))
		return -EFAULT;

	if (optname == X_NONBLOCK)
		WRITE_ONCE(ax->nonblock, !!val);
	else
		WRITE_ONCE(ax->refuse_when_full, !!val);
	return 0;
}

/**
 * afx_getsockopt() - proto_ops.getsockopt: the SOL_X options
 * @sock: the socket
 * @level: must be SOL_X
 * @optname: X_NONBLOCK or X_REFUSE_WHEN_FULL
 * @optval: receives an int, 0 or 1
 * @optlen: in: buffer size, at least sizeof(int); out: sizeof(int)
 *
 * Return: 0, -ENOPROTOOPT, -EINVAL or -EFAULT.
 */
int afx_getsockopt(struct socket *sock, int level, int optname,
		   char __user *optval, int __user *optlen)
{
	struct afx_sock *ax = afx_sk(sock->sk);
	int val, len;

	if (level != SOL_X)
		return -ENOPROTOOPT;
	if (optname == X_NONBLOCK)
		val = READ_ONCE(ax->nonblock);
	else if (optname == X_REFUSE_WHEN_FULL && afx_is_conn(sock->sk))
		val = READ_ONCE(ax->refuse_when_full);
	else
		return -ENOPROTOOPT;

	if (get_user(len, optlen))
		return -EFAULT;
	if (len < (int)sizeof(int))
		return -EINVAL;
	len = sizeof(int);
	if (put_user(len, optlen) || copy_to_user(optval, &val, len))
		return -EFAULT;
	return 0;
}

/**
 * struct afx_wait - a socket waiter that filters wakeups by poll events
 * @wq: the wait queue entry, for woken_wake_function()
 * @events: the events that can end the wait
 */
struct afx_wait {
	struct wait_queue_entry wq;
	__poll_t events;
};

/* Wake a waiter only for the events it waits for; keyless wakes wake all. */
static int afx_wake_filter(struct wait_queue_entry *wq_entry, unsigned int mode,
			   int sync, void *key)
{
	struct afx_wait *w = container_of(wq_entry, struct afx_wait, wq);

	if (key && !(key_to_poll(key) & w->events))
		return 0;
	return woken_wake_function(wq_entry, mode, sync, key);
}

/*
 * Sleep on @sk until @cond holds, dropping @lock (a mutex) while asleep,
 * or the socket lock if @lock is NULL.
 */
static int __afx_sock_wait(struct sock *sk, struct mutex *lock, long *timeo,
			   __poll_t events, bool (*cond)(struct sock *sk),
			   bool exclusive)
{
	struct afx_wait wait = {
		.events = events | EPOLLERR | EPOLLHUP,
	};
	int err = 0;

	init_wait(&wait.wq);
	wait.wq.func = afx_wake_filter;
	if (exclusive)
		add_wait_queue_exclusive(sk_sleep(sk), &wait.wq);
	else
		add_wait_queue(sk_sleep(sk), &wait.wq);
	/* Queued before @cond reads: pairs with skwq_has_sleeper(). */
	smp_mb();
	while (!cond(sk)) {
		if (!*timeo) {
			err = -EAGAIN;
			break;
		}
		if (signal_pending(current)) {
			err = sock_intr_errno(*timeo);
			break;
		}
		if (lock)
			mutex_unlock(lock);
		else
			release_sock(sk);
		*timeo = wait_woken(&wait.wq, TASK_INTERRUPTIBLE, *timeo);
		if (lock)
			mutex_lock(lock);
		else
			lock_sock(sk);
	}
	remove_wait_queue(sk_sleep(sk), &wait.wq);
	/*
	 * An exclusive waiter that gives up may have taken the one wakeup
	 * meant for the next waiter: pass it on.
	 */
	if (err && exclusive && cond(sk))
		wake_up_interruptible_poll(sk_sleep(sk), events);
	return err;
}

/**
 * afx_sock_wait() - sleep on the socket until a condition holds
 * @sk: the socket; its lock is held and dropped while sleeping
 * @timeo: remaining timeout, updated
 * @events: the poll events that can make @cond true
 * @cond: the condition, evaluated with the socket lock held
 *
 * Wakeups for other events (a reader's data arriving while we wait to
 * write, say) do not wake us.
 *
 * Return: 0 once @cond holds, -EAGAIN when @timeo runs out, or the
 * signal errno from sock_intr_errno().
 */
int afx_sock_wait(struct sock *sk, long *timeo, __poll_t events,
		  bool (*cond)(struct sock *sk))
{
	sock_owned_by_me(sk);
	return __afx_sock_wait(sk, NULL, timeo, events, cond, false);
}

/**
 * afx_sock_wait_exclusive() - afx_sock_wait() for one waiter per event
 * @sk: the socket; its lock is held and dropped while sleeping
 * @timeo: remaining timeout, updated
 * @events: the poll events that can make @cond true
 * @cond: the condition, evaluated with the socket lock held
 *
 * A wakeup for @events wakes one exclusive waiter, not all of them, as
 * for accept(): one connection, one acceptor woken. A waiter that times
 * out or is interrupted when @cond holds wakes the next.
 *
 * Return: as afx_sock_wait().
 */
int afx_sock_wait_exclusive(struct sock *sk, long *timeo, __poll_t events,
			    bool (*cond)(struct sock *sk))
{
	sock_owned_by_me(sk);
	return __afx_sock_wait(sk, NULL, timeo, events, cond, true);
}

/**
 * afx_io_wait() - afx_sock_wait() for the data path's direction locks
 * @sk: the socket
 * @lock: afx_sock.rx_lock or afx_sock.tx_lock of @sk, held and dropped
 *	while sleeping
 * @timeo: remaining timeout, updated
 * @events: the poll events that can make @cond true
 * @cond: the condition, evaluated with @lock held
 *
 * Return: as afx_sock_wait().
 */
int afx_io_wait(struct sock *sk, struct mutex *lock, long *timeo,
		__poll_t events, bool (*cond)(struct sock *sk))
{
	lockdep_assert_held(lock);
	return __afx_sock_wait(sk, lock, timeo, events, cond, false);
}

/**
 * afx_purge() - drop what is queued at @sk and not read
 * @sk: the socket; it has shut down reading, so nothing more can arrive
 */
void afx_purge(struct sock *sk)
{
	sock_owned_by_me(sk);
	afx_sbuf_discard(&afx_sk(sk)->rx);
}

/**
 * afx_release() - proto_ops.release for every AF_X socket type
 * @sock: the socket being closed
 * @close: what the socket type does to take leave of others: runs with the
 *	socket lock held, after the port is given up and sk_shutdown is
 *	SHUTDOWN_MASK (nothing more can be queued here), before the purge
 *
 * Return: 0.
 */
int afx_release(struct socket *sock, void (*close)(struct sock *sk))
{
	struct sock *sk = sock->sk;

	if (!sk)
		return 0;

	lock_sock(sk);
	afx_unhash(sk);
	afx_shutdown_add(sk, SHUTDOWN_MASK);
	close(sk);
	afx_purge(sk);

	sock_orphan(sk);
	sock->sk = NULL;
	release_sock(sk);
	afx_sklist_del(sk);
	afx_sock_put(sk);
	return 0;
}

/**
 * afx_poll_begin() - what every AF_X poll() starts with
 * @file: the file polled
 * @sock: its socket
 * @wait: the poll table
 * @shutdown: receives sk_shutdown, read once
 *
 * Return: EPOLLERR if an error is pending, else 0.
 */
__poll_t afx_poll_begin(struct file *file, struct socket *sock,
			poll_table *wait, u8 *shutdown)
{
	struct sock *sk = sock->sk;

	sock_poll_wait(file, sock, wait);
	*shutdown = READ_ONCE(sk->sk_shutdown);
	return READ_ONCE(sk->sk_err) ? EPOLLERR : 0;
}

/**
 * afx_poll_shutdown() - the poll events sk_shutdown implies
 * @shutdown: the value afx_poll_begin() read
 *
 * Return: EPOLLHUP once both directions are shut down; EPOLLIN and
 * EPOLLRDHUP once reading is (a read then does not block).
 */
__poll_t afx_poll_shutdown(u8 shutdown)
{
	__poll_t mask = 0;

	if (shutdown == SHUTDOWN_MASK)
		mask |= EPOLLHUP;
	if (shutdown & RCV_SHUTDOWN)
		mask |= EPOLLIN | EPOLLRDNORM | EPOLLRDHUP;
	return mask;
}

/**
 * afx_send_error() - the errno a failed send returns
 * @msg: the message of the send
 * @err: its error
 *
 * EPIPE raises SIGPIPE unless the caller said MSG_NOSIGNAL.
 *
 * Return: @err.
 */
int afx_send_error(const struct msghdr *msg, int err)
{
	if (err == -EPIPE && !(msg->msg_flags & MSG_NOSIGNAL))
		send_sig(SIGPIPE, current, 0);
	return err;
}

/**
 * afx_stat_read() - the value of one event counter
 * @an: the namespace
 * @s: the counter
 *
 * Sums the CPUs' shares without stopping the writers: a snapshot, exact
 * once the counted events are over.
 *
 * Return: the sum.
 */
u64 afx_stat_read(struct afx_net *an, enum afx_stat s)
{
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += READ_ONCE(per_cpu_ptr(an->stats, cpu)->v[s]);
	return sum;
}
EXPORT_SYMBOL_IF_KUNIT(afx_stat_read);

static int __net_init afx_net_init(struct net *net)
{
	struct afx_net *an = afx_net(net);
	int err;

	an->dgram_max = AFX_SKB_MAX;
	xa_init_flags(&an->all, XA_FLAGS_ALLOC);

	err = afx_bind_init_net(an);
	if (err)
		return err;
	an->stats = alloc_percpu(struct afx_stats);
	if (!an->stats) {
		err = -ENOMEM;
		goto err_bind;
	}
	err = afx_sysctl_init_net(net);
	if (err)
		goto err_stats;
	err = afx_proc_init_net(net);
	if (err)
		goto err_sysctl;
	return 0;

err_sysctl:
	afx_sysctl_exit_net(net);
err_stats:
	free_percpu(an->stats);
err_bind:
	afx_bind_exit_net(an);
	return err;
}

static void __net_exit afx_net_exit(struct net *net)
{
	afx_proc_exit_net(net);
	afx_sysctl_exit_net(net);
}

/* After every afx_net_exit() of the batch: one RCU barrier for them all. */
static void __net_exit afx_net_exit_batch(struct list_head *net_exit_list)
{
	struct afx_net *an;
	struct net *net;

	/*
	 * Kernel socks hold no reference on their namespace: the
	 * destructors of those freed by RCU still reach their afx_net.
	 */
	rcu_barrier();
	list_for_each_entry(net, net_exit_list, exit_list) {
		an = afx_net(net);
		WARN_ON_ONCE(!xa_empty(&an->all));
		xa_destroy(&an->all);
		free_percpu(an->stats);
		afx_bind_exit_net(an);
	}
}

static struct pernet_operations afx_net_ops = {
	.init		= afx_net_init,
	.exit		= afx_net_exit,
	.exit_batch	= afx_net_exit_batch,
	.id		= &afx_net_id,
	.size		= sizeof(struct afx_net),
};

static struct net_proto_family afx_family_ops = {
	.create	= afx_create,
	.owner	= THIS_MODULE,
};

static int __init afx_init(void)
{
	int err;

	if (family <= AF_UNSPEC || family >= NPROTO) {
		pr_err("afx: family %d out of range\n", family);
		return -EINVAL;
	}
	afx_family = family;
	afx_family_ops.family = family;
	err = afx_bind_hash_init();
	if (err)
		return err;
	err = afx_sbuf_cache_init();
	if (err)
		goto err_hash;
	err = proto_register(&afx_proto, 1);
	if (err)
		goto err_cache;
	err = register_pernet_subsys(&afx_net_ops);
	if (err)
		goto err_proto;
	err = sock_register(&afx_family_ops);
	if (err)
		goto err_pernet;
	return 0;

err_pernet:
	unregister_pernet_subsys(&afx_net_ops);
err_proto:
	proto_unregister(&afx_proto);
err_cache:
	afx_sbuf_cache_exit();
err_hash:
	afx_bind_hash_exit();
	return err;
}

static void __exit afx_exit(void)
{
	sock_unregister(afx_family);
	unregister_pernet_subsys(&afx_net_ops);
	proto_unregister(&afx_proto);
	afx_sbuf_cache_exit();
	afx_bind_hash_exit();
}

module_init(afx_init);
module_exit(afx_exit);

MODULE_LICENSE("GPL");
MODULE_VERSION(AFX_VERSION);
MODULE_AUTHOR("The afx developers");
MODULE_DESCRIPTION("AF_X: stream and datagram sockets addressed by (address, port)");
MODULE_ALIAS_NETPROTO(AF_X);
