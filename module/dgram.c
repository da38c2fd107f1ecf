// SPDX-License-Identifier: GPL-2.0
/*
 * afx: SOCK_DGRAM sockets.
 *
 * Unicast delivery is reliable: a datagram waits at the sender until the
 * receiver has room (counted in bytes against its SO_RCVBUF), and is
 * never dropped silently. Broadcast copies never wait: a full receiver
 * drops its copy and the drop is counted.
 *
 * Senders that wait for room sleep on the receiver's peer_wait. A
 * connected socket's poll() turns room at its peer into POLLOUT by
 * parking its own peer_wake entry on the peer's peer_wait, as AF_UNIX
 * does; the entry removes itself when it fires or when the peer closes.
 */

#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/sockios.h>
#include <asm/ioctls.h>
#include <net/sock.h>
#include <kunit/visibility.h>

#include "afx.h"
#include "compat.h"

/**
 * struct afx_dgram_cb - per-datagram state in skb->cb
 * @from: the sender's port
 */
struct afx_dgram_cb {
	u32 from;
};

#define AFX_DGRAM_CB(skb)	((struct afx_dgram_cb *)(skb)->cb)

/* Does @ax take datagrams from port @from? Connected sockets filter. */
VISIBLE_IF_KUNIT bool afx_dgram_accepts(const struct afx_sock *ax, u32 from)
{
	return !READ_ONCE(ax->peer_addr.sx_family) ||
	       READ_ONCE(ax->peer_addr.sx_port) == from;
}
EXPORT_SYMBOL_IF_KUNIT(afx_dgram_accepts);

/* Memory an empty datagram costs: POLLOUT means at least that much room. */
static unsigned int afx_dgram_min_truesize __read_mostly;

/**
 * afx_dgram_init() - measure what the smallest datagram costs
 *
 * Return: 0 or -ENOMEM.
 */
int afx_dgram_init(void)
{
	struct sk_buff *skb = alloc_skb(0, GFP_KERNEL);

	if (!skb)
		return -ENOMEM;
	afx_dgram_min_truesize = skb->truesize;
	kfree_skb(skb);
	return 0;
}

/* May @truesize more bytes be queued at @rcv? An empty queue takes any. */
VISIBLE_IF_KUNIT bool afx_dgram_room(const struct sock *rcv,
				     unsigned int truesize)
{
	unsigned int used = atomic_read(&rcv->sk_rmem_alloc);

	return !used || used + truesize <= READ_ONCE(rcv->sk_rcvbuf);
}
EXPORT_SYMBOL_IF_KUNIT(afx_dgram_room);

/*
 * The socket on @port that takes datagrams from @from, with a reference,
 * or NULL; *@filtered tells whether one was there but connected elsewhere.
 */
static struct sock *afx_dgram_lookup(struct net *net, u32 port, u32 from,
				     bool *filtered)
{
	struct afx_net *an = afx_net(net);
	struct sock *found = NULL;
	struct afx_sock *ax;

	*filtered = false;
	rcu_read_lock();
	for (ax = afx_port_first(an, AFX_SPACE_DGRAM, port); ax;
	     ax = afx_port_next(an, ax)) {
		if (!afx_dgram_accepts(ax, from)) {
			*filtered = true;
			continue;
		}
		if (refcount_inc_not_zero(&ax->sk.sk_refcnt)) {
			found = &ax->sk;
			break;
		}
	}
	rcu_read_unlock();
	return found;
}

/* Queue @skb at @rcv if it has room: 0, -EAGAIN (full) or -ECONNREFUSED. */
VISIBLE_IF_KUNIT int afx_dgram_queue(struct sock *rcv, struct sk_buff *skb)
{
	struct afx_sock *rax = afx_sk(rcv);
	int err = 0;

	spin_lock(&rax->lock);
	if (rcv->sk_shutdown & RCV_SHUTDOWN)
		err = -ECONNREFUSED;
	else if (!afx_dgram_room(rcv, skb->truesize))
		err = -EAGAIN;
	else
		__skb_queue_tail(&rcv->sk_receive_queue, skb);
	if (!err)
		skb_set_owner_r(skb, rcv);
	spin_unlock(&rax->lock);

	if (!err)
		rcv->sk_data_ready(rcv);
	return err;
}
EXPORT_SYMBOL_IF_KUNIT(afx_dgram_queue);

static void afx_dgram_peer_wake_arm(struct sock *sk, struct sock *rcv);

/* Is @port where @sk is connected to? */
static bool afx_dgram_is_peer(const struct sock *sk, u32 port)
{
	const struct afx_sock *ax = afx_sk(sk);

	return READ_ONCE(ax->peer_addr.sx_family) &&
	       READ_ONCE(ax->peer_addr.sx_port) == port;
}

static int afx_dgram_unicast(struct sock *sk, u32 port, struct sk_buff *skb,
			     long *timeo)
{
	u32 from = AFX_DGRAM_CB(skb)->from;
	struct sock *rcv;
	bool filtered;
	int err;

	for (;;) {
		DEFINE_WAIT(wait);

		rcv = afx_dgram_lookup(sock_net(sk), port, from, &filtered);
		if (!rcv) {
			afx_stat_inc(sk, filtered ? AFX_STAT_DROP_FILTERED :
						    AFX_STAT_DROP_NOPORT);
			return -ECONNREFUSED;
		}
		err = afx_dgram_queue(rcv, skb);
		if (err == -EAGAIN && !*timeo && afx_dgram_is_peer(sk, port)) {
			/*
			 * A nonblocking sender to its connected peer waits
			 * for POLLOUT next: make sure room will report it.
			 */
			sk_set_bit(SOCKWQ_ASYNC_NOSPACE, sk);
			afx_dgram_peer_wake_arm(sk, rcv);
			err = afx_dgram_queue(rcv, skb);
		}
		if (err != -EAGAIN || !*timeo) {
			sock_put(rcv);
			return err;
		}

		prepare_to_wait(&afx_sk(rcv)->peer_wait, &wait,
				TASK_INTERRUPTIBLE);
		if (!afx_dgram_room(rcv, skb->truesize) &&
		    !(READ_ONCE(rcv->sk_shutdown) & RCV_SHUTDOWN) &&
		    !signal_pending(current))
			*timeo = schedule_timeout(*timeo);
		finish_wait(&afx_sk(rcv)->peer_wait, &wait);
		sock_put(rcv);
		if (signal_pending(current))
			return sock_intr_errno(*timeo);
	}
}

static void afx_dgram_broadcast(struct sock *sk, u32 port, struct sk_buff *skb)
{
	struct afx_net *an = afx_net(sock_net(sk));
	u32 from = AFX_DGRAM_CB(skb)->from;
	struct sk_buff *copy;
	struct afx_sock *ax;

	rcu_read_lock();
	for (ax = afx_port_first(an, AFX_SPACE_DGRAM, port); ax;
	     ax = afx_port_next(an, ax)) {
		if (!afx_dgram_accepts(ax, from)) {
			afx_stat_inc(sk, AFX_STAT_DROP_FILTERED);
			continue;
		}
		copy = skb_clone(skb, GFP_ATOMIC);
		if (!copy || afx_dgram_queue(&ax->sk, copy)) {
			kfree_skb(copy);
			afx_stat_inc(sk, AFX_STAT_DROP_BCAST_FULL);
		}
	}
	rcu_read_unlock();
	consume_skb(skb);
}

static int afx_dgram_sendmsg(struct socket *sock, struct msghdr *msg,
			     size_t len)
{
	DECLARE_SOCKADDR(struct sockaddr_x *, sx, msg->msg_name);
	struct sock *sk = sock->sk;
	struct afx_sock *ax = afx_sk(sk);
	struct afx_net *an = afx_net(sock_net(sk));
	struct sk_buff *skb;
	u32 daddr, dport;
	long timeo;
	int err;

	if (msg->msg_flags & MSG_OOB)
		return -EOPNOTSUPP;
	if (len > min_t(u32, READ_ONCE(an->dgram_max), READ_ONCE(sk->sk_sndbuf)))
		return -EMSGSIZE;
	if (sx) {
		err = afx_check_addr((struct sockaddr *)sx, msg->msg_namelen);
		if (err)
			return err;
		err = afx_check_dest(sk, sx);
		if (err)
			return err;
		if (sx->sx_port == AFX_PORT_ANY)
			return -EINVAL;
		daddr = sx->sx_addr;
		dport = sx->sx_port;
	}

	lock_sock(sk);
	if (sk->sk_shutdown & SEND_SHUTDOWN) {
		err = -EPIPE;
	} else if (!sx && !ax->peer_addr.sx_family) {
		err = -EDESTADDRREQ;
	} else {
		if (!sx) {
			daddr = ax->peer_addr.sx_addr;
			dport = ax->peer_addr.sx_port;
		}
		err = afx_autobind(sk);
	}
	release_sock(sk);
	if (err)
		goto out_err;

	skb = afx_skb_from_msg(sk, msg, len, &err);
	if (!skb)
		return err;
	AFX_DGRAM_CB(skb)->from = afx_port(sk);

	if (daddr == AFX_ADDR_BROADCAST) {
		afx_dgram_broadcast(sk, dport, skb);
	} else {
		timeo = sock_sndtimeo(sk, afx_nonblock(sk, msg->msg_flags &
						       MSG_DONTWAIT));
		err = afx_dgram_unicast(sk, dport, skb, &timeo);
		if (err) {
			kfree_skb(skb);
			goto out_err;
		}
	}
	afx_stat_inc(sk, AFX_STAT_DGRAM_SENT);
	afx_stat_add(sk, AFX_STAT_BYTES_OUT, len);
	return len;

out_err:
	return afx_send_error(msg, err);
}

/* Room was made in @sk's queue: wake blocked senders and peer_wake relays. */
static void afx_dgram_wake_senders(struct sock *sk)
{
	struct afx_sock *ax = afx_sk(sk);

	if (wq_has_sleeper(&ax->peer_wait))
		wake_up_interruptible_sync_poll(&ax->peer_wait, EPOLLOUT |
						EPOLLWRNORM | EPOLLWRBAND);
}

static bool afx_dgram_can_read(struct sock *sk)
{
	return !skb_queue_empty_lockless(&sk->sk_receive_queue) ||
	       (READ_ONCE(sk->sk_shutdown) & RCV_SHUTDOWN);
}

static int afx_dgram_recvmsg(struct socket *sock, struct msghdr *msg,
			     size_t len, int flags)
{
	DECLARE_SOCKADDR(struct sockaddr_x *, sx, msg->msg_name);
	struct sock *sk = sock->sk;
	struct afx_sock *ax = afx_sk(sk);
	bool peek = flags & MSG_PEEK;
	struct sk_buff *skb;
	size_t copied;
	bool eof;
	long timeo;
	int err;

	if (flags & MSG_OOB)
		return -EOPNOTSUPP;

	lock_sock(sk);
	timeo = sock_rcvtimeo(sk, afx_nonblock(sk, flags & MSG_DONTWAIT));
	for (;;) {
		/* EOF only with the queue seen empty under the same lock. */
		spin_lock(&ax->lock);
		skb = skb_peek(&sk->sk_receive_queue);
		if (skb && peek)
			skb_get(skb);
		else if (skb)
			__skb_unlink(skb, &sk->sk_receive_queue);
		eof = sk->sk_shutdown & RCV_SHUTDOWN;
		spin_unlock(&ax->lock);
		if (skb)
			break;
		if (eof) {
			err = 0;
			goto out;
		}
		err = afx_sock_wait(sk, &timeo, EPOLLIN, afx_dgram_can_read);
		if (err)
			goto out;
	}

	copied = min_t(size_t, len, skb->len);
	if (copied < skb->len)
		msg->msg_flags |= MSG_TRUNC;
	err = skb_copy_datagram_msg(skb, 0, msg, copied);
	if (err) {
		/* Keep the datagram for a reader with a valid buffer. */
		if (!peek) {
			spin_lock(&ax->lock);
			__skb_queue_head(&sk->sk_receive_queue, skb);
			spin_unlock(&ax->lock);
			skb = NULL;
		}
		goto out_free;
	}
	if (sx) {
		afx_fill_addr(sx, AFX_ADDR_LOCAL, AFX_DGRAM_CB(skb)->from);
		msg->msg_namelen = sizeof(*sx);
	}
	err = (flags & MSG_TRUNC) ? skb->len : copied;
	if (!peek) {
		afx_stat_inc(sk, AFX_STAT_DGRAM_RCVD);
		afx_stat_add(sk, AFX_STAT_BYTES_IN, skb->len);
	}
out_free:
	if (peek) {
		kfree_skb(skb);
	} else if (skb) {
		consume_skb(skb);
		afx_dgram_wake_senders(sk);
	}
out:
	release_sock(sk);
	return err;
}

/* peer_wake fired: the peer made room. Detach and report POLLOUT. */
static int afx_dgram_peer_wake_relay(wait_queue_entry_t *q, unsigned int mode,
				     int flags, void *key)
{
	struct afx_sock *ax = container_of(q, struct afx_sock, peer_wake);
	struct sock *target = ax->peer_wake_target;

	__remove_wait_queue(&afx_sk(target)->peer_wait, q);
	WRITE_ONCE(ax->peer_wake_target, NULL);
	ax->sk.sk_write_space(&ax->sk);
	return 0;
}

/* Take @sk's peer_wake entry off whatever peer_wait it is on. */
static void afx_dgram_peer_wake_detach(struct sock *sk)
{
	struct afx_sock *ax = afx_sk(sk);
	struct sock *target;

	rcu_read_lock();
	target = READ_ONCE(ax->peer_wake_target);
	if (target) {
		spin_lock_irq(&afx_sk(target)->peer_wait.lock);
		if (ax->peer_wake_target == target) {
			__remove_wait_queue(&afx_sk(target)->peer_wait,
					    &ax->peer_wake);
			WRITE_ONCE(ax->peer_wake_target, NULL);
		}
		spin_unlock_irq(&afx_sk(target)->peer_wait.lock);
	}
	rcu_read_unlock();
}

/* Park @sk's peer_wake on @rcv's peer_wait unless @rcv is closing. */
static void afx_dgram_peer_wake_arm(struct sock *sk, struct sock *rcv)
{
	struct afx_sock *ax = afx_sk(sk);
	struct afx_sock *rax = afx_sk(rcv);

	if (READ_ONCE(ax->peer_wake_target) == rcv)
		return;
	afx_dgram_peer_wake_detach(sk);

	spin_lock_irq(&rax->peer_wait.lock);
	/*
	 * Two pollers may arm at once on different targets, each under its
	 * own target's lock: the cmpxchg lets only one put the entry on a
	 * list.
	 */
	if (!(READ_ONCE(rcv->sk_shutdown) & RCV_SHUTDOWN) &&
	    !cmpxchg(&ax->peer_wake_target, NULL, rcv)) {
		init_waitqueue_func_entry(&ax->peer_wake,
					  afx_dgram_peer_wake_relay);
		__add_wait_queue(&rax->peer_wait, &ax->peer_wake);
	}
	spin_unlock_irq(&rax->peer_wait.lock);
}

/*
 * Would a send to @rcv return at once? It does when there is room, and when
 * @rcv has shut down reading (ECONNREFUSED): both are POLLOUT.
 */
static bool afx_dgram_send_returns(const struct sock *rcv)
{
	return afx_dgram_room(rcv, afx_dgram_min_truesize) ||
	       (READ_ONCE(rcv->sk_shutdown) & RCV_SHUTDOWN);
}

/* Would a send to the connected peer return at once? */
static bool afx_dgram_writable(struct sock *sk)
{
	struct afx_sock *ax = afx_sk(sk);
	struct sock *rcv;
	bool filtered, room;

	if (!READ_ONCE(ax->peer_addr.sx_family) ||
	    READ_ONCE(ax->peer_addr.sx_addr) == AFX_ADDR_BROADCAST)
		return true;

	/* Nobody to take it: the send fails at once, so it does not block. */
	rcv = afx_dgram_lookup(sock_net(sk), READ_ONCE(ax->peer_addr.sx_port),
			       afx_port(sk), &filtered);
	if (!rcv)
		return true;
	room = afx_dgram_send_returns(rcv);
	if (!room) {
		sk_set_bit(SOCKWQ_ASYNC_NOSPACE, sk);
		afx_dgram_peer_wake_arm(sk, rcv);
		/*
		 * Room may have appeared, or the peer shut down reading, before
		 * the entry was parked (a peer that has shut down reading
		 * refuses to park it).
		 */
		smp_mb();
		room = afx_dgram_send_returns(rcv);
	}
	sock_put(rcv);
	return room;
}

static __poll_t afx_dgram_poll(struct file *file, struct socket *sock,
			       poll_table *wait)
{
	struct sock *sk = sock->sk;
	__poll_t mask;
	u8 shutdown;

	mask = afx_poll_begin(file, sock, wait, &shutdown);
	mask |= afx_poll_shutdown(shutdown);
	if (!skb_queue_empty_lockless(&sk->sk_receive_queue))
		mask |= EPOLLIN | EPOLLRDNORM;
	if (afx_dgram_writable(sk))
		mask |= EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND;
	return mask;
}

static int afx_dgram_connect(struct socket *sock, struct sockaddr *uaddr,
			     int len, int flags)
{
	const struct sockaddr_x *sx = (const struct sockaddr_x *)uaddr;
	struct sock *sk = sock->sk;
	struct afx_sock *ax = afx_sk(sk);
	int err;

	if (len >= (int)sizeof(sa_family_t) && uaddr->sa_family == AF_UNSPEC) {
		lock_sock(sk);
		memset(&ax->peer_addr, 0, sizeof(ax->peer_addr));
		sock->state = SS_UNCONNECTED;
		afx_dgram_peer_wake_detach(sk);
		release_sock(sk);
		return 0;
	}
	err = afx_check_addr(uaddr, len);
	if (err)
		return err;
	err = afx_check_dest(sk, sx);
	if (err)
		return err;
	if (sx->sx_port == AFX_PORT_ANY)
		return -EINVAL;

	lock_sock(sk);
	err = afx_autobind(sk);
	if (!err) {
		afx_dgram_peer_wake_detach(sk);
		afx_fill_addr(&ax->peer_addr, sx->sx_addr == AFX_ADDR_BROADCAST ?
			      AFX_ADDR_BROADCAST : AFX_ADDR_LOCAL, sx->sx_port);
		sock->state = SS_CONNECTED;
	}
	release_sock(sk);
	return err;
}

static int afx_dgram_shutdown(struct socket *sock, int how)
{
	struct sock *sk = sock->sk;
	struct afx_sock *ax = afx_sk(sk);

	if (how < SHUT_RD || how > SHUT_RDWR)
		return -EINVAL;

	lock_sock(sk);
	afx_shutdown_add(sk, how + 1);
	if (sk->sk_shutdown & RCV_SHUTDOWN)
		wake_up_interruptible_all(&ax->peer_wait);
	sk->sk_state_change(sk);
	release_sock(sk);
	return 0;
}

/* afx_release() callback: let go of senders and of the peer we poll. */
static void afx_dgram_close(struct sock *sk)
{
	/* Blocked senders look again and relays parked here detach. */
	wake_up_interruptible_all(&afx_sk(sk)->peer_wait);
	afx_dgram_peer_wake_detach(sk);
}

static int afx_dgram_release(struct socket *sock)
{
	return afx_release(sock, afx_dgram_close);
}

static int afx_dgram_ioctl(struct socket *sock, unsigned int cmd,
			   unsigned long arg)
{
	struct sock *sk = sock->sk;
	struct afx_sock *ax = afx_sk(sk);
	struct sk_buff *skb;
	int amount = 0;

	switch (cmd) {
	case SIOCINQ:
		spin_lock(&ax->lock);
		skb = skb_peek(&sk->sk_receive_queue);
		if (skb)
			amount = skb->len;
		spin_unlock(&ax->lock);
		break;
	case SIOCOUTQ:
		break;
	default:
		return -ENOIOCTLCMD;
	}
	return put_user(amount, (int __user *)arg);
}

/* Payload bytes of the datagrams queued at @sk. */
static u32 afx_dgram_queued(struct sock *sk)
{
	struct afx_sock *ax = afx_sk(sk);
	struct sk_buff *skb;
	u32 bytes = 0;

	spin_lock(&ax->lock);
	skb_queue_walk(&sk->sk_receive_queue, skb)
		bytes += skb->len;
	spin_unlock(&ax->lock);
	return bytes;
}

/**
 * afx_dgram_info() - the datagram part of afx_sock_info()
 * @sk: a datagram socket, with a reference held; no locks held
 * @info: filled in; the common fields are already there
 */
void afx_dgram_info(struct sock *sk, struct afx_sock_info *info)
{
	if (info->peer.sx_family)
		info->state = TCP_ESTABLISHED;
	info->rqueue = afx_dgram_queued(sk);
}

const struct proto_ops afx_dgram_ops = {
	.family		= AF_X,
	.owner		= THIS_MODULE,
	.release	= afx_dgram_release,
	.bind		= afx_bind,
	.connect	= afx_dgram_connect,
	.socketpair	= sock_no_socketpair,
	.accept		= sock_no_accept,
	.getname	= afx_getname,
	.poll		= afx_dgram_poll,
	.ioctl		= afx_dgram_ioctl,
	.listen		= sock_no_listen,
	.shutdown	= afx_dgram_shutdown,
	.setsockopt	= afx_setsockopt,
	.getsockopt	= afx_getsockopt,
	.sendmsg	= afx_dgram_sendmsg,
	.recvmsg	= afx_dgram_recvmsg,
	.mmap		= sock_no_mmap,
	AFX_NO_SENDPAGE
};
