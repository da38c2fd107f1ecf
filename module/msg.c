// SPDX-License-Identifier: GPL-2.0
/*
 * afx: message records, the receive-buffer format of the two message
 * socket types, SOCK_DGRAM (dgram.c) and SOCK_SEQPACKET (seqpacket.c).
 *
 * Each message is one record of the receiver's stream buffer (sbuf.c),
 * pushed whole with afx_sbuf_push_record(): a struct afx_msg_hdr, then
 * the sender's credentials (struct afx_msg_creds) if it carries them,
 * then the payload. The header of a queued message counts against the
 * receiver's SO_RCVBUF with its payload: 8 bytes, 24 with credentials.
 * A queued message with credentials owns a reference on the sender's
 * struct pid, put when the message is consumed, dropped at close
 * (afx_msg_drop_all()) or purged by the destructor (afx_msg_purge()).
 *
 * Producers of one buffer are serialised by the caller (a datagram
 * receiver's rx_wlock, a seqpacket sender's tx_lock); consumers by the
 * receiver's rx_lock.
 */

#include <linux/cred.h>
#include <linux/pid.h>
#include <net/scm.h>
#include <net/sock.h>
#include <kunit/visibility.h>

#include "afx.h"

/**
 * afx_msg_passcred() - has the socket of @sk asked for credentials?
 * @sk: a message socket, with a reference held
 *
 * Return: true if its struct socket has SO_PASSCRED set.
 */
bool afx_msg_passcred(const struct sock *sk)
{
	struct socket *sock;
	bool pass;

	/* A closing receiver's struct socket is freed after a grace period. */
	rcu_read_lock();
	sock = READ_ONCE(sk->sk_socket);
	pass = sock && test_bit(SOCK_PASSCRED, &sock->flags);
	rcu_read_unlock();
	return pass;
}

/**
 * afx_msg_creds_for() - the credentials a message from @sk to @rcv carries
 * @buf: where to build them
 * @scm: the sender's control messages, or NULL
 * @sk: the sender
 * @rcv: the receiver
 *
 * Those the sender gave in @scm (SCM_CREDENTIALS, already checked by
 * scm_send()), else its own when either end has SO_PASSCRED, as AF_UNIX
 * does. The pid is not referenced: afx_msg_push() takes the reference the
 * queued message owns.
 *
 * Return: @buf, or NULL for none.
 */
const struct afx_msg_creds *afx_msg_creds_for(struct afx_msg_creds *buf,
					      const struct scm_cookie *scm,
					      struct sock *sk, struct sock *rcv)
{
	if (scm && scm->pid) {
		buf->pid = scm->pid;
		buf->uid = scm->creds.uid;
		buf->gid = scm->creds.gid;
		return buf;
	}
	if (!afx_msg_passcred(sk) && !afx_msg_passcred(rcv))
		return NULL;
	buf->pid = task_tgid(current);
	buf->uid = current_uid();
	buf->gid = current_gid();
	return buf;
}

/**
 * afx_msg_push() - queue one message at @rcv
 * @rcv: the receiver
 * @from: the sender's port, reported by recvfrom() (0: none)
 * @creds: the credentials it carries, or NULL
 * @msg: the payload; advanced by @len on success only
 * @len: payload bytes
 *
 * The caller serialises the producers of @rcv's buffer and checked the
 * room (afx_msg_size() bytes).
 *
 * Return: 0, or the error of afx_sbuf_push_record(): -EPIPE once @rcv
 * shut down reading, -EFAULT where the payload must be faulted in first,
 * -EMSGSIZE, -ENOBUFS.
 */
int afx_msg_push(struct sock *rcv, u32 from, const struct afx_msg_creds *creds,
		 struct iov_iter *msg, size_t len)
{
	struct {
		struct afx_msg_hdr hdr;
		struct afx_msg_creds creds;
	} h = { .hdr = { .len = len, .from = from } };
	struct afx_sock *rax = afx_sk(rcv);
	int err;

	if (creds) {
		h.hdr.len |= AFX_MSG_CREDS;
		h.creds = *creds;
	}
	err = afx_sbuf_push_record(&rax->rx, &h, afx_msg_hdr_units(!!creds) * 8,
				   msg, len);
	if (err)
		return err;
	if (creds)
		get_pid(creds->pid);
	WRITE_ONCE(rax->rx_hdr_units,
		   rax->rx_hdr_units + afx_msg_hdr_units(!!creds));
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(afx_msg_push);

/* The header of the oldest message at @sk; see afx_msg_peek_hdr(). */
static bool __afx_msg_peek_hdr(struct sock *sk, struct afx_msg_hdr *hdr,
			       struct afx_msg_creds *creds)
{
	struct {
		struct afx_msg_hdr hdr;
		struct afx_msg_creds creds;
	} h;
	u32 n;

	/* Short of a whole h when the record is: only the header counts. */
	n = afx_sbuf_peek_kernel(&afx_sk(sk)->rx, 0, &h, sizeof(h));
	memset(creds, 0, sizeof(*creds));
	if (WARN_ON_ONCE(n < sizeof(h.hdr))) {
		memset(hdr, 0, sizeof(*hdr));
		return false;
	}
	*hdr = h.hdr;
	if (!(hdr->len & AFX_MSG_CREDS))
		return false;
	hdr->len &= ~AFX_MSG_CREDS;
	if (WARN_ON_ONCE(n < sizeof(h)))
		return false;
	*creds = h.creds;
	return true;
}

/**
 * afx_msg_peek_hdr() - the header of the oldest message queued at @sk
 * @sk: the receiver; the caller holds its rx_lock and knows a message is
 *	queued
 * @hdr: its header, with the length flag cleared
 * @creds: its credentials (NULL pid if none); the reference stays with the
 *	message
 *
 * Return: true if it carries credentials.
 */
bool afx_msg_peek_hdr(struct sock *sk, struct afx_msg_hdr *hdr,
		      struct afx_msg_creds *creds)
{
	lockdep_assert_held(&afx_sk(sk)->rx_lock);
	return __afx_msg_peek_hdr(sk, hdr, creds);
}
EXPORT_SYMBOL_IF_KUNIT(afx_msg_peek_hdr);

/* Drop the oldest message at @sk; see afx_msg_consume(). */
static void __afx_msg_consume(struct sock *sk, u32 len,
			      const struct afx_msg_creds *creds, bool has_creds)
{
	struct afx_sock *ax = afx_sk(sk);

	afx_sbuf_consume(&ax->rx, afx_msg_size(len, has_creds));
	WRITE_ONCE(ax->rx_hdr_units_read,
		   ax->rx_hdr_units_read + afx_msg_hdr_units(has_creds));
	if (has_creds)
		put_pid(creds->pid);
}

/**
 * afx_msg_consume() - drop the oldest message at @sk, read or not
 * @sk: the receiver; the caller holds its rx_lock
 * @len: its payload length, as afx_msg_peek_hdr() gave it
 * @creds: its credentials, as afx_msg_peek_hdr() gave them
 * @has_creds: what afx_msg_peek_hdr() returned
 */
void afx_msg_consume(struct sock *sk, u32 len,
		     const struct afx_msg_creds *creds, bool has_creds)
{
	lockdep_assert_held(&afx_sk(sk)->rx_lock);
	__afx_msg_consume(sk, len, creds, has_creds);
}
EXPORT_SYMBOL_IF_KUNIT(afx_msg_consume);

/**
 * afx_msg_recv_creds() - the SCM_CREDENTIALS of the message a reader reads
 * @sock: the reader
 * @msg: its recvmsg() arguments
 * @creds: the message's credentials
 * @has_creds: whether it carries any
 * @flags: the recvmsg() flags
 *
 * Only for a reader with SO_PASSCRED; as AF_UNIX, a message that came
 * without credentials reports nobody's.
 */
void afx_msg_recv_creds(struct socket *sock, struct msghdr *msg,
			const struct afx_msg_creds *creds, bool has_creds,
			int flags)
{
	struct scm_cookie scm;

	if (!test_bit(SOCK_PASSCRED, &sock->flags))
		return;
	memset(&scm, 0, sizeof(scm));
	if (has_creds)
		scm_set_cred(&scm, creds->pid, creds->uid, creds->gid);
	else
		scm_set_cred(&scm, NULL, INVALID_UID, INVALID_GID);
	scm_recv(sock, msg, &scm, flags);
}

/**
 * afx_msg_drop_all() - drop every message queued at @sk
 * @sk: the receiver, closing; takes its rx_lock
 *
 * Lets go of the pages and of the credentials the messages hold. A
 * message pushed later is dropped by afx_msg_purge().
 */
void afx_msg_drop_all(struct sock *sk)
{
	struct afx_sock *ax = afx_sk(sk);
	struct afx_msg_creds creds;
	struct afx_msg_hdr hdr;
	bool has_creds;

	mutex_lock(&ax->rx_lock);
	while (afx_sbuf_readable(&ax->rx)) {
		has_creds = afx_msg_peek_hdr(sk, &hdr, &creds);
		afx_msg_consume(sk, hdr.len, &creds, has_creds);
	}
	mutex_unlock(&ax->rx_lock);
}
EXPORT_SYMBOL_IF_KUNIT(afx_msg_drop_all);

/**
 * afx_msg_purge() - drop what is still queued at a sock being destroyed
 * @sk: the sock, from its destructor: nobody else can reach it, so no
 *	lock is taken (the destructor may run in an RCU callback)
 */
void afx_msg_purge(struct sock *sk)
{
	struct afx_msg_creds creds;
	struct afx_msg_hdr hdr;
	bool has_creds;

	while (afx_sbuf_readable(&afx_sk(sk)->rx)) {
		has_creds = __afx_msg_peek_hdr(sk, &hdr, &creds);
		__afx_msg_consume(sk, hdr.len, &creds, has_creds);
	}
}
EXPORT_SYMBOL_IF_KUNIT(afx_msg_purge);

/**
 * afx_msg_queued() - payload bytes of the messages queued at @sk
 * @sk: a message socket, with a reference held; no lock needed
 *
 * Return: a snapshot, headers not counted.
 */
u32 afx_msg_queued(struct sock *sk)
{
	struct afx_sock *ax = afx_sk(sk);
	u32 hdr_bytes, bytes;

	hdr_bytes = 8 * (READ_ONCE(ax->rx_hdr_units) -
			 READ_ONCE(ax->rx_hdr_units_read));
	bytes = afx_sbuf_readable(&ax->rx);
	/* The two counts are read apart: never report less than nothing. */
	return bytes > hdr_bytes ? bytes - hdr_bytes : 0;
}
EXPORT_SYMBOL_IF_KUNIT(afx_msg_queued);
