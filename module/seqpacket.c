// SPDX-License-Identifier: GPL-2.0
/*
 * afx: the data path of SOCK_SEQPACKET sockets.
 *
 * A seqpacket socket is a stream connection (stream.c sets it up, shuts
 * it down and closes it) that carries whole messages: each sendmsg() is
 * one record of msg.c in the peer's receive buffer, pushed under the
 * sender's tx_lock once it fits, and each recvmsg() reads one record.
 * The limit is the stream's (afx_stream_limit()), headers included, and
 * an empty buffer takes any message that is not too large
 * (afx_seqpacket_max()); the wakeup rules are the stream's, with a blocked
 * writer's tx_wait_limit lowered to the level at which its message stops
 * fitting (afx_seqpacket_can_write()). Where Linux AF_UNIX and the BSDs
 * differ (MSG_EOR, MSG_TRUNC), afx follows Linux: Documentation/afx.rst,
 * "Seqpacket semantics".
 */

#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/uio.h>
#include <net/scm.h>
#include <net/sock.h>

#include "afx.h"

/*
 * The largest message @sk may send: it must fit in its own SO_SNDBUF and
 * in the buffer, with the largest header.
 */
static u32 afx_seqpacket_max(const struct sock *sk)
{
	return min_t(u32, READ_ONCE(sk->sk_sndbuf), AFX_SBUF_CAP) -
	       AFX_MSG_HDR_MAX;
}

/*
 * The level of bytes queued at the peer from which a message taking
 * @need bytes does not fit under @limit: it fits below it, and always in
 * an empty buffer.
 */
static u32 afx_seqpacket_blocked_at(u32 limit, u32 need)
{
	return need <= limit ? limit - need + 1 : 1;
}

/* Does a message taking @need bytes fit at @sk's peer now? */
static bool afx_seqpacket_fits(const struct sock *sk, const struct sock *peer,
			       u32 need)
{
	u32 limit = min_t(u32, afx_stream_limit(sk, peer), AFX_SBUF_CAP);

	return afx_sbuf_readable(&afx_sk(peer)->rx) <
	       afx_seqpacket_blocked_at(limit, need);
}

/*
 * The wait condition of a blocked sender. As afx_stream_can_write(), it
 * records where it is blocked before it looks at the buffer, for the
 * reader's afx_stream_write_space().
 */
static bool afx_seqpacket_can_write(struct sock *sk)
{
	struct afx_sock *ax = afx_sk(sk);
	struct sock *peer = ax->peer;
	u32 limit;

	if ((READ_ONCE(sk->sk_shutdown) & SEND_SHUTDOWN) ||
	    READ_ONCE(sk->sk_state) != TCP_ESTABLISHED)
		return true;
	limit = min_t(u32, afx_stream_limit(sk, peer), AFX_SBUF_CAP);
	WRITE_ONCE(ax->tx_wait_limit,
		   afx_seqpacket_blocked_at(limit, READ_ONCE(ax->tx_need)));
	/* The record before the look at the room: see the reader's side. */
	smp_mb();
	return afx_seqpacket_fits(sk, peer, READ_ONCE(ax->tx_need));
}

/*
 * Push one message to @peer, waiting for it to fit. Called with @sk's
 * tx_lock held; the wait lets go of it.
 * Return: 0 once queued (with @fpl, which the message then owns) or an
 * error; *@timeo is the time left.
 */
static int afx_seqpacket_push(struct sock *sk, struct sock *peer,
			      struct msghdr *msg, size_t len,
			      const struct afx_msg_creds *creds,
			      struct scm_fp_list *fpl, long *timeo)
{
	struct afx_sock *ax = afx_sk(sk);
	u32 size = afx_msg_size(len, !!creds, !!fpl);
	int err;

	lockdep_assert_held(&ax->tx_lock);
	for (;;) {
		if (READ_ONCE(sk->sk_shutdown) & SEND_SHUTDOWN)
			return -EPIPE;
		if (afx_seqpacket_fits(sk, peer, size)) {
			/* recvmsg() names the peer, not a port in the record. */
			err = afx_msg_push(peer, 0, creds, fpl, &msg->msg_iter,
					   len);
			if (!err) {
				WRITE_ONCE(ax->tx_need, 0);
				afx_stream_data_ready(peer, size);
				return 0;
			}
			if (err != -EFAULT)
				return err;
			/* No lock but our own is held: fault it in here. */
			if (fault_in_iov_iter_readable(&msg->msg_iter, len))
				return -EFAULT;
			continue;
		}
		/* Poll reports POLLOUT when this one fits. */
		WRITE_ONCE(ax->tx_need, size);
		if (!*timeo)
			return -EAGAIN;
		/* O_ASYNC writers get SIGIO when the peer makes room. */
		sk_set_bit(SOCKWQ_ASYNC_NOSPACE, sk);
		err = afx_io_wait(sk, &ax->tx_lock, timeo, EPOLLOUT,
				  afx_seqpacket_can_write);
		if (err)
			return err;
	}
}

/**
 * afx_seqpacket_sendmsg() - proto_ops.sendmsg of SOCK_SEQPACKET
 * @sock: the socket
 * @msg: the message, one record whatever its flags (MSG_EOR is implied)
 * @len: its length
 *
 * Return: @len, or a negative errno (Documentation/afx.rst, "Errors").
 */
int afx_seqpacket_sendmsg(struct socket *sock, struct msghdr *msg, size_t len)
{
	struct sock *sk = sock->sk;
	struct afx_sock *ax = afx_sk(sk);
	struct scm_cookie scm, *scmp = NULL;
	struct scm_fp_list *fpl = NULL;
	const struct afx_msg_creds *creds;
	struct afx_msg_creds cbuf;
	struct sock *peer;
	long timeo;
	int err;

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
	if (len > afx_seqpacket_max(sk)) {
		err = -EMSGSIZE;
		goto out_err;
	}
	if (msg->msg_controllen) {
		/* As a datagram's: SCM_CREDENTIALS checked, SCM_RIGHTS taken. */
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
	err = afx_seqpacket_push(sk, peer, msg, len, creds, fpl, &timeo);
	mutex_unlock(&ax->tx_lock);
	if (!err) {
		fpl = NULL;
		afx_stat_add(sk, AFX_STAT_BYTES_OUT, len);
	}
out_scm:
	afx_msg_files_put(fpl);
	if (scmp)
		scm_destroy(scmp);
out_err:
	return err ? afx_send_error(msg, err) : len;
}

/*
 * Wait under @sk's rx_lock for a message, EOF or an error.
 * Return: 1 when a message is queued, else what recvmsg() returns: 0 at
 * EOF, or a negative errno.
 */
static int afx_seqpacket_wait(struct sock *sk, long *timeo)
{
	struct afx_sock *ax = afx_sk(sk);
	int reset, err;
	bool eof;

	lockdep_assert_held(&ax->rx_lock);
	for (;;) {
		if (afx_sbuf_readable(&ax->rx))
			return 1;
		/* EOF and errors after the data: see afx_stream_recvmsg(). */
		spin_lock(&ax->lock);
		reset = READ_ONCE(sk->sk_err);
		eof = sk->sk_shutdown & RCV_SHUTDOWN;
		spin_unlock(&ax->lock);
		if (afx_sbuf_readable(&ax->rx))
			return 1;
		if (reset)
			return sock_error(sk);
		if (eof)
			return 0;
		if (!*timeo)
			return -EAGAIN;
		err = afx_io_wait(sk, &ax->rx_lock, timeo, EPOLLIN,
				  afx_stream_can_read);
		if (err)
			return err;
	}
}

/**
 * afx_seqpacket_recvmsg() - proto_ops.recvmsg of SOCK_SEQPACKET
 * @sock: the socket
 * @msg: where the message goes; msg_flags gets MSG_TRUNC when it was
 *	longer than @len (the rest is dropped, unless MSG_PEEK)
 * @len: the room in @msg
 * @flags: MSG_PEEK, MSG_TRUNC (return the whole length), MSG_DONTWAIT;
 *	MSG_WAITALL means nothing here
 *
 * Return: the bytes copied (the message's length with MSG_TRUNC), 0 at
 * EOF, or a negative errno.
 */
int afx_seqpacket_recvmsg(struct socket *sock, struct msghdr *msg, size_t len,
			  int flags)
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
	err = afx_stream_connected(sk, &timeo, EPOLLIN);
	if (err)
		return err;
	if (mutex_lock_interruptible(&ax->rx_lock))
		return sock_intr_errno(timeo);
	err = afx_seqpacket_wait(sk, &timeo);
	if (err <= 0)
		goto out;

	err = afx_msg_read(sock, msg, len, flags, &hdr, &size);
	if (err < 0)
		goto out;
	if (sx) {
		/* Set before the socket was connected, and kept. */
		*sx = ax->peer_addr;
		msg->msg_namelen = sizeof(*sx);
	}
	if (!(flags & MSG_PEEK)) {
		afx_stream_write_space(sk, size);
		afx_stat_add(sk, AFX_STAT_BYTES_IN, hdr.len);
	}
out:
	mutex_unlock(&ax->rx_lock);
	return err;
}

/**
 * afx_seqpacket_poll() - proto_ops.poll of SOCK_SEQPACKET
 * @file: the socket's file
 * @sock: the socket
 * @wait: the poll table
 *
 * POLLIN while a message, even an empty one, is queued. POLLOUT when the
 * last message that could not be sent at once would fit now, or, if none
 * is pending, when an empty one would.
 *
 * Return: the events.
 */
__poll_t afx_seqpacket_poll(struct file *file, struct socket *sock,
			    poll_table *wait)
{
	struct sock *sk = sock->sk;
	struct afx_sock *ax = afx_sk(sk);
	struct sock *peer;
	__poll_t mask;
	u8 shutdown;

	if (!afx_conn_poll_begin(file, sock, wait, &mask, &shutdown))
		return mask;
	if (afx_sbuf_readable(&ax->rx))
		mask |= EPOLLIN | EPOLLRDNORM;
	peer = READ_ONCE(ax->peer);
	if (shutdown & SEND_SHUTDOWN ||
	    (peer && afx_seqpacket_fits(sk, peer,
					max_t(u32, READ_ONCE(ax->tx_need),
					      afx_msg_size(0, false, false)))))
		mask |= EPOLLOUT | EPOLLWRNORM;
	else
		sk_set_bit(SOCKWQ_ASYNC_NOSPACE, sk);
	return mask;
}
