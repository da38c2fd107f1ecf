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
 *
 * The two ends of a socketpair() stay unbound: each reaches the other by
 * its id (afx_sock.pair_id), not by a port, and nobody else can reach
 * either. Closing one makes the other's sends fail with ECONNREFUSED,
 * as sending to a closed port does.
 */

#include <linux/cred.h>
#include <linux/mm.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/sockios.h>
#include <linux/uio.h>
#include <asm/ioctls.h>
#include <net/scm.h>
#include <net/sock.h>
#include <kunit/visibility.h>

#include "afx.h"
#include "compat.h"

/* Does @ax take datagrams from port @from? Connected sockets filter. */
VISIBLE_IF_KUNIT bool afx_dgram_accepts(const struct afx_sock *ax, u32 from)
{
	return !READ_ONCE(ax->peer_addr.sx_family) ||
	       READ_ONCE(ax->peer_addr.sx_port) == from;
}
EXPORT_SYMBOL_IF_KUNIT(afx_dgram_accepts);

/*
 * May a datagram taking @size bytes be queued at @rcv? SO_RCVBUF bounds the
 * bytes queued, headers included; an empty buffer takes any datagram.
 */
VISIBLE_IF_KUNIT bool afx_dgram_room(const struct sock *rcv, u32 size)
{
	const struct afx_sbuf *rx = &afx_sk(rcv)->rx;

	return afx_sbuf_room(rx, READ_ONCE(rcv->sk_rcvbuf)) >= size ||
	       !afx_sbuf_readable(rx);
}
EXPORT_SYMBOL_IF_KUNIT(afx_dgram_room);

/*
 * The socket on @port that takes datagrams from @from, with a reference,
 * or NULL; *@filtered tells whether one was there but connected elsewhere.
 */
static struct sock *afx_dgram_lookup(struct afx_net *an, u32 port, u32 from,
				     bool *filtered)
{
	struct afx_bind_bucket *b = afx_bucket(an, AFX_SPACE_DGRAM, port);
	struct sock *found = NULL;
	struct afx_sock *ax;

	*filtered = false;
	rcu_read_lock();
	for (ax = afx_port_first(an, b, port); ax; ax = afx_port_next(b, ax)) {
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

/*
 * Queue a datagram of @len bytes from @from at @rcv if it has room, with
 * @creds unless NULL (the queued datagram takes its own pid reference)
 * and the files of @fpl unless NULL (the queued datagram owns them once
 * this returns 0).
 * Return: 0, -EAGAIN (full), -ECONNREFUSED (@rcv shut down reading),
 * -EFAULT (@from must be faulted in first, see afx_sbuf_push_record()) or
 * -ENOBUFS.
 */
VISIBLE_IF_KUNIT int afx_dgram_queue(struct sock *rcv, u32 from,
				     const struct afx_msg_creds *creds,
				     struct scm_fp_list *fpl,
				     struct iov_iter *msg, size_t len)
{
	struct afx_sock *rax = afx_sk(rcv);
	u32 size = afx_msg_size(len, !!creds, !!fpl);
	bool wake = false;
	int err;

	mutex_lock(&rax->rx_wlock);
	if (READ_ONCE(rcv->sk_shutdown) & RCV_SHUTDOWN) {
		err = -ECONNREFUSED;
	} else if (!afx_dgram_room(rcv, size)) {
		err = -EAGAIN;
	} else {
		err = afx_msg_push(rcv, from, creds, fpl, msg, len);
		if (err == -EPIPE)
			err = -ECONNREFUSED;
	}
	if (!err) {
		/* The push before the reader's state: as stream.c. */
		smp_mb();
		wake = !afx_sbuf_readable_before(&rax->rx, size) ||
		       READ_ONCE(rax->polled) ||
		       sock_flag(rcv, SOCK_FASYNC);
	}
	mutex_unlock(&rax->rx_wlock);

	if (wake)
		rcv->sk_data_ready(rcv);
	return err;
}
EXPORT_SYMBOL_IF_KUNIT(afx_dgram_queue);

static void afx_dgram_peer_wake_arm(struct sock *sk, struct sock *rcv);

/*
 * The other end of socketpair() end @sk, with a reference, or NULL once it
 * is closed. Ids are reused after 2^31 sockets: the one found must name
 * @sk as its other end.
 */
static struct sock *afx_dgram_pair_get(struct sock *sk)
{
	struct sock *other = afx_sklist_get(sock_net(sk),
					    afx_sk(sk)->pair_id - 1);

	if (other && (other->sk_type != SOCK_DGRAM ||
		      READ_ONCE(afx_sk(other)->pair_id) !=
		      afx_sk(sk)->all_id + 1)) {
		afx_sock_put(other);
		other = NULL;
	}
	return other;
}

/*
 * The socket a datagram from @sk to @port goes to, with a reference, or
 * NULL (*@filtered as for afx_dgram_lookup()). A socketpair() end sends
 * to the other end, while it is open, whatever @port is.
 */
static struct sock *afx_dgram_receiver(struct sock *sk, u32 port, u32 from,
				       bool *filtered)
{
	if (afx_paired(sk)) {
		*filtered = false;
		return afx_dgram_pair_get(sk);
	}
	return afx_dgram_lookup(afx_sk(sk)->an, port, from, filtered);
}

/* Is @port where @sk is connected to? */
static bool afx_dgram_is_peer(const struct sock *sk, u32 port)
{
	const struct afx_sock *ax = afx_sk(sk);

	return READ_ONCE(ax->peer_addr.sx_family) &&
	       READ_ONCE(ax->peer_addr.sx_port) == port;
}

/* Return: 0 once queued (with @fpl, which the datagram then owns), or an errno. */
static int afx_dgram_unicast(struct sock *sk, u32 port, struct msghdr *msg,
			     size_t len, long *timeo,
			     const struct scm_cookie *scm,
			     struct scm_fp_list *fpl)
{
	const struct afx_msg_creds *creds;
	struct afx_msg_creds cbuf;
	u32 from = afx_port(sk), size;
	struct sock *rcv;
	bool filtered;
	int err;

	for (;;) {
		DEFINE_WAIT(wait);

		rcv = afx_dgram_receiver(sk, port, from, &filtered);
		if (!rcv) {
			afx_stat_inc(sk, filtered ? AFX_STAT_DROP_FILTERED :
						    AFX_STAT_DROP_NOPORT);
			return -ECONNREFUSED;
		}
		creds = afx_msg_creds_for(&cbuf, scm, sk, rcv);
		size = afx_msg_size(len, !!creds, !!fpl);
		err = afx_dgram_queue(rcv, from, creds, fpl, &msg->msg_iter,
				      len);
		if (err == -EAGAIN && !*timeo && afx_dgram_is_peer(sk, port)) {
			/*
			 * A nonblocking sender to its connected peer waits
			 * for POLLOUT next: make sure room will report it.
			 */
			sk_set_bit(SOCKWQ_ASYNC_NOSPACE, sk);
			afx_dgram_peer_wake_arm(sk, rcv);
			err = afx_dgram_queue(rcv, from, creds, fpl,
					      &msg->msg_iter, len);
		}
		if (err == -EFAULT) {
			/* Fault the payload in without the receiver's lock. */
			afx_sock_put(rcv);
			if (fault_in_iov_iter_readable(&msg->msg_iter, len))
				return -EFAULT;
			continue;
		}
		if (err != -EAGAIN || !*timeo) {
			afx_sock_put(rcv);
			return err;
		}

		prepare_to_wait(&afx_sk(rcv)->peer_wait, &wait,
				TASK_INTERRUPTIBLE);
		if (!afx_dgram_room(rcv, size) &&
		    !(READ_ONCE(rcv->sk_shutdown) & RCV_SHUTDOWN) &&
		    !signal_pending(current))
			*timeo = schedule_timeout(*timeo);
		finish_wait(&afx_sk(rcv)->peer_wait, &wait);
		afx_sock_put(rcv);
		if (signal_pending(current))
			return sock_intr_errno(*timeo);
	}
}

/* The datagram sockets bound to @port, with a reference each. */
static struct sock **afx_dgram_receivers(struct afx_net *an, u32 port,
					 unsigned int *n)
{
	struct afx_bind_bucket *b = afx_bucket(an, AFX_SPACE_DGRAM, port);
	unsigned int max = 0, i = 0;
	struct afx_sock *ax;
	struct sock **rcv;

	rcu_read_lock();
	for (ax = afx_port_first(an, b, port); ax; ax = afx_port_next(b, ax))
		max++;
	rcu_read_unlock();
	*n = 0;
	if (!max)
		return NULL;
	rcv = kvmalloc_array(max, sizeof(*rcv), GFP_KERNEL);
	if (!rcv)
		return ERR_PTR(-ENOMEM);
	/* Sockets bound since the count was taken do not get this one. */
	rcu_read_lock();
	for (ax = afx_port_first(an, b, port); ax && i < max;
	     ax = afx_port_next(b, ax))
		if (refcount_inc_not_zero(&ax->sk.sk_refcnt))
			rcv[i++] = &ax->sk;
	rcu_read_unlock();
	*n = i;
	return rcv;
}

/*
 * A copy to every socket on @port that takes datagrams from us and has
 * room; the others' copies are dropped and counted. The payload is copied
 * from the user once, then from that copy to each receiver, with no lock
 * or RCU section held across the fan-out.
 */
static int afx_dgram_broadcast(struct sock *sk, u32 port, struct msghdr *msg,
			       size_t len, const struct scm_cookie *scm)
{
	const struct afx_msg_creds *creds;
	struct afx_msg_creds cbuf;
	u32 from = afx_port(sk);
	struct sock **rcv;
	struct iov_iter it;
	struct kvec kv;
	unsigned int i, n;
	void *data;

	data = kvmalloc(len ?: 1, GFP_KERNEL_ACCOUNT);
	if (!data)
		return -ENOBUFS;
	if (!copy_from_iter_full(data, len, &msg->msg_iter)) {
		kvfree(data);
		return -EFAULT;
	}
	rcv = afx_dgram_receivers(afx_sk(sk)->an, port, &n);
	if (IS_ERR(rcv)) {
		kvfree(data);
		return PTR_ERR(rcv);
	}
	for (i = 0; i < n; i++) {
		if (!afx_dgram_accepts(afx_sk(rcv[i]), from)) {
			afx_stat_inc(sk, AFX_STAT_DROP_FILTERED);
		} else {
			kv.iov_base = data;
			kv.iov_len = len;
			iov_iter_kvec(&it, ITER_SOURCE, &kv, 1, len);
			creds = afx_msg_creds_for(&cbuf, scm, sk, rcv[i]);
			if (afx_dgram_queue(rcv[i], from, creds, NULL, &it,
					    len))
				afx_stat_inc(sk, AFX_STAT_DROP_BCAST_FULL);
		}
		afx_sock_put(rcv[i]);
	}
	kvfree(rcv);
	kvfree(data);
	return 0;
}

static int afx_dgram_sendmsg(struct socket *sock, struct msghdr *msg,
			     size_t len)
{
	DECLARE_SOCKADDR(struct sockaddr_x *, sx, msg->msg_name);
	struct sock *sk = sock->sk;
	struct afx_sock *ax = afx_sk(sk);
	struct scm_cookie scm, *scmp = NULL;
	struct scm_fp_list *fpl = NULL;
	struct afx_net *an = ax->an;
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
		if (afx_paired(sk))
			return -EISCONN;
		daddr = sx->sx_addr;
		dport = sx->sx_port;
	}

	if (msg->msg_controllen) {
		/*
		 * SCM_CREDENTIALS checked against what the caller may claim,
		 * SCM_RIGHTS taken as files (msg.c).
		 */
		err = afx_msg_scm_send(sock, msg, &scm, &fpl);
		if (err)
			return err;
		scmp = &scm;
	}

	/* Racing shutdown() or connect() may go either way, as with a lock. */
	err = -EPIPE;
	if (READ_ONCE(sk->sk_shutdown) & SEND_SHUTDOWN)
		goto out_scm;
	if (!sx) {
		spin_lock(&ax->lock);
		err = ax->peer_addr.sx_family ? 0 : -EDESTADDRREQ;
		daddr = ax->peer_addr.sx_addr;
		dport = ax->peer_addr.sx_port;
		spin_unlock(&ax->lock);
		if (err)
			goto out_scm;
	}
	if (!afx_is_bound(sk) && !afx_paired(sk)) {
		lock_sock(sk);
		err = afx_autobind(sk);
		release_sock(sk);
		if (err)
			goto out_scm;
	}

	if (daddr == AFX_ADDR_BROADCAST) {
		/* Files go to one reader; a broadcast has many. */
		err = fpl ? -EINVAL : afx_dgram_broadcast(sk, dport, msg, len,
							  scmp);
	} else {
		timeo = sock_sndtimeo(sk, afx_nonblock(sk, msg->msg_flags &
						       MSG_DONTWAIT));
		err = afx_dgram_unicast(sk, dport, msg, len, &timeo, scmp,
					fpl);
		if (!err)
			fpl = NULL;
	}
	if (!err) {
		afx_stat_inc(sk, AFX_STAT_DGRAM_SENT);
		afx_stat_add(sk, AFX_STAT_BYTES_OUT, len);
	}
out_scm:
	afx_msg_files_put(fpl);
	if (scmp)
		scm_destroy(scmp);
	return err ? afx_send_error(msg, err) : len;
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
	return afx_sbuf_readable(&afx_sk(sk)->rx) ||
	       (READ_ONCE(sk->sk_shutdown) & RCV_SHUTDOWN);
}

static int afx_dgram_recvmsg(struct socket *sock, struct msghdr *msg,
			     size_t len, int flags)
{
	DECLARE_SOCKADDR(struct sockaddr_x *, sx, msg->msg_name);
	struct sock *sk = sock->sk;
	struct afx_sock *ax = afx_sk(sk);
	struct afx_msg_hdr hdr;
	long timeo;
	u32 size;
	int err;

	if (flags & MSG_OOB)
		return -EOPNOTSUPP;

	timeo = sock_rcvtimeo(sk, afx_nonblock(sk, flags & MSG_DONTWAIT));
	if (mutex_lock_interruptible(&ax->rx_lock))
		return sock_intr_errno(timeo);
	while (!afx_sbuf_readable(&ax->rx)) {
		if (READ_ONCE(sk->sk_shutdown) & RCV_SHUTDOWN) {
			/* A datagram may have come in just before. */
			if (afx_sbuf_readable(&ax->rx))
				break;
			err = 0;
			goto out;
		}
		err = afx_io_wait(sk, &ax->rx_lock, &timeo, EPOLLIN,
				  afx_dgram_can_read);
		if (err)
			goto out;
	}

	err = afx_msg_read(sock, msg, len, flags, &hdr, &size);
	if (err < 0)
		goto out;
	if (sx) {
		/* Port 0: an unbound sender, the other end of a socketpair(). */
		afx_fill_addr(sx, hdr.from ? AFX_ADDR_LOCAL : AFX_ADDR_ANY,
			      hdr.from);
		msg->msg_namelen = sizeof(*sx);
	}
	if (!(flags & MSG_PEEK)) {
		afx_stat_inc(sk, AFX_STAT_DGRAM_RCVD);
		afx_stat_add(sk, AFX_STAT_BYTES_IN, hdr.len);
		afx_dgram_wake_senders(sk);
	}
out:
	mutex_unlock(&ax->rx_lock);
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
	return afx_dgram_room(rcv, afx_msg_size(0, false, false)) ||
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
	rcv = afx_dgram_receiver(sk, READ_ONCE(ax->peer_addr.sx_port),
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
	afx_sock_put(rcv);
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
	/* From now on every datagram queued here wakes us (afx_dgram_queue()). */
	if (!READ_ONCE(afx_sk(sk)->polled))
		WRITE_ONCE(afx_sk(sk)->polled, true);
	/* polled before the ring: pairs with afx_dgram_queue()'s smp_mb(). */
	smp_mb();
	if (afx_sbuf_readable(&afx_sk(sk)->rx))
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

	/* A socketpair() end stays connected to the other end. */
	if (afx_paired(sk))
		return -EISCONN;
	if (len >= (int)sizeof(sa_family_t) && uaddr->sa_family == AF_UNSPEC) {
		lock_sock(sk);
		spin_lock(&ax->lock);
		memset(&ax->peer_addr, 0, sizeof(ax->peer_addr));
		spin_unlock(&ax->lock);
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
		spin_lock(&ax->lock);
		afx_fill_addr(&ax->peer_addr, sx->sx_addr == AFX_ADDR_BROADCAST ?
			      AFX_ADDR_BROADCAST : AFX_ADDR_LOCAL, sx->sx_port);
		spin_unlock(&ax->lock);
		sock->state = SS_CONNECTED;
	}
	release_sock(sk);
	return err;
}

/*
 * A sender that found @sk open for reading before it shut down reading
 * has finished its push when this returns; later ones see the shutdown.
 */
static void afx_dgram_push_barrier(struct sock *sk)
{
	mutex_lock(&afx_sk(sk)->rx_wlock);
	mutex_unlock(&afx_sk(sk)->rx_wlock);
}

static int afx_dgram_shutdown(struct socket *sock, int how)
{
	struct sock *sk = sock->sk;
	struct afx_sock *ax = afx_sk(sk);

	if (how < SHUT_RD || how > SHUT_RDWR)
		return -EINVAL;

	lock_sock(sk);
	afx_shutdown_add(sk, how + 1);
	if (sk->sk_shutdown & RCV_SHUTDOWN) {
		afx_dgram_push_barrier(sk);
		wake_up_interruptible_all(&ax->peer_wait);
	}
	sk->sk_state_change(sk);
	release_sock(sk);
	return 0;
}

/* afx_release() callback: let go of senders and of the peer we poll. */
static void afx_dgram_close(struct sock *sk)
{
	afx_dgram_push_barrier(sk);
	afx_msg_drop_all(sk);
	/* Blocked senders look again and relays parked here detach. */
	wake_up_interruptible_all(&afx_sk(sk)->peer_wait);
	afx_dgram_peer_wake_detach(sk);
}

/*
 * socketpair(): two new, unbound sockets, each connected to the other
 * through its id, with the names, peer names and SO_PEERCRED of a stream
 * pair (afx_stream_socketpair()). Neither has a file yet: nothing else
 * calls into them, and walks of the socket list do not read @pair_id.
 */
static int afx_dgram_socketpair(struct socket *sock1, struct socket *sock2)
{
	struct sock *a = sock1->sk, *b = sock2->sk;
	struct afx_sock *ax = afx_sk(a), *bx = afx_sk(b);

	lock_sock(a);
	lock_sock_nested(b, SINGLE_DEPTH_NESTING);
	/* Read locklessly by afx_dgram_pair_get() of a socket with a reused id. */
	WRITE_ONCE(ax->pair_id, bx->all_id + 1);
	WRITE_ONCE(bx->pair_id, ax->all_id + 1);
	afx_set_peercred(a, task_tgid(current), current_cred());
	afx_set_peercred(b, task_tgid(current), current_cred());
	spin_lock(&ax->lock);
	afx_fill_addr(&ax->peer_addr, AFX_ADDR_ANY, AFX_PORT_ANY);
	spin_unlock(&ax->lock);
	spin_lock(&bx->lock);
	afx_fill_addr(&bx->peer_addr, AFX_ADDR_ANY, AFX_PORT_ANY);
	spin_unlock(&bx->lock);
	sock1->state = SS_CONNECTED;
	sock2->state = SS_CONNECTED;
	release_sock(b);
	release_sock(a);
	return 0;
}

static int afx_dgram_release(struct socket *sock)
{
	return afx_release(sock, afx_dgram_close);
}

static int afx_dgram_ioctl(struct socket *sock, unsigned int cmd,
			   unsigned long arg)
{
	struct sock *sk = sock->sk;
	struct afx_msg_hdr hdr;
	int amount = 0;

	switch (cmd) {
	case SIOCINQ:
		/* The length of the next datagram. */
		mutex_lock(&afx_sk(sk)->rx_lock);
		afx_msg_next(sk, &hdr);
		amount = hdr.len;
		mutex_unlock(&afx_sk(sk)->rx_lock);
		break;
	case SIOCOUTQ:
		break;
	default:
		return -ENOIOCTLCMD;
	}
	return put_user(amount, (int __user *)arg);
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
	info->rqueue = afx_msg_queued(sk);
}

const struct proto_ops afx_dgram_ops = {
	.family		= AF_X,
	.owner		= THIS_MODULE,
	.release	= afx_dgram_release,
	.bind		= afx_bind,
	.connect	= afx_dgram_connect,
	.socketpair	= afx_dgram_socketpair,
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
