// SPDX-License-Identifier: GPL-2.0
/*
 * afx: message records, the receive-buffer format of the two message
 * socket types, SOCK_DGRAM (dgram.c) and SOCK_SEQPACKET (seqpacket.c),
 * and the control messages they carry.
 *
 * Each message is one record of the receiver's stream buffer (sbuf.c),
 * pushed whole with afx_sbuf_push_record(): a struct afx_msg_hdr, then
 * the sender's credentials (struct afx_msg_creds) if it carries them,
 * then a pointer to the files it passes (struct scm_fp_list) if any, then
 * the payload. The header of a queued message counts against the
 * receiver's SO_RCVBUF with its payload: 8 bytes, 16 more with
 * credentials, 8 more with files.
 *
 * A queued message owns what its header points to: a reference on the
 * sender's struct pid, and the file list with a reference on each file.
 * They go when the message is read (the files to the reader's new
 * descriptors), consumed unread at close (afx_msg_drop_all()) or by the
 * destructor (afx_msg_purge()), which finds what a sender still pushed
 * after close.
 *
 * Passing files (SCM_RIGHTS) never needs a garbage collector: a file that
 * can itself hold files in flight, an AF_UNIX or AF_X socket or an
 * io_uring, is refused (afx_msg_file_refused()), so no queued file can
 * keep the queue it sits in alive. Files in flight are counted per user
 * (afx_inflight) and limited by the sender's RLIMIT_NOFILE, as AF_UNIX
 * limits its own.
 *
 * Producers of one buffer are serialised by the caller (a datagram
 * receiver's rx_wlock, a seqpacket sender's tx_lock); consumers by the
 * receiver's rx_lock.
 */

#include <linux/cred.h>
#include <linux/file.h>
#include <linux/magic.h>
#include <linux/pid.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/slab.h>
#include <linux/xarray.h>
#include <net/scm.h>
#include <net/sock.h>
#include <kunit/visibility.h>

#include "afx.h"

/*
 * Files in flight in afx messages, per user id (the sender's real uid, as
 * AF_UNIX counts them), stored as xarray values. Taken with BHs off: a
 * destructor that runs from an RCU callback gives files back.
 */
static DEFINE_XARRAY_FLAGS(afx_inflight, XA_FLAGS_LOCK_BH);

/*
 * Count @n more files in flight for @user, unless that passes the
 * caller's RLIMIT_NOFILE and the caller has neither CAP_SYS_RESOURCE nor
 * CAP_SYS_ADMIN (checked only when the limit is reached, as AF_UNIX does).
 * Return: 0, -ETOOMANYREFS or -ENOMEM.
 */
VISIBLE_IF_KUNIT int afx_inflight_add(const struct user_struct *user,
				      unsigned int n)
{
	unsigned long key = __kuid_val(user->uid), v, limit;
	bool exempt = false, checked = false;
	void *cur, *old;
	int err = 0;

	limit = rlimit(RLIMIT_NOFILE);
again:
	xa_lock_bh(&afx_inflight);
	cur = xa_load(&afx_inflight, key);
	for (;;) {
		v = cur ? xa_to_value(cur) : 0;
		if (v + n > limit && !exempt) {
			if (checked) {
				err = -ETOOMANYREFS;
				break;
			}
			/* capable() may audit: not under the lock. */
			xa_unlock_bh(&afx_inflight);
			exempt = capable(CAP_SYS_RESOURCE) ||
				 capable(CAP_SYS_ADMIN);
			checked = true;
			goto again;
		}
		/* The allocation may drop the lock: compare and retry. */
		old = __xa_cmpxchg(&afx_inflight, key, cur,
				   xa_mk_value(v + n), GFP_KERNEL_ACCOUNT);
		if (xa_is_err(old)) {
			err = xa_err(old);
			break;
		}
		if (old == cur)
			break;
		cur = old;
	}
	xa_unlock_bh(&afx_inflight);
	return err;
}
EXPORT_SYMBOL_IF_KUNIT(afx_inflight_add);

/* The @n files counted by afx_inflight_add() for @user left flight. */
static void afx_inflight_sub(const struct user_struct *user, unsigned int n)
{
	unsigned long key = __kuid_val(user->uid), v;
	void *cur;

	/* Also from a destructor in softirq context. */
	xa_lock_bh(&afx_inflight);
	cur = xa_load(&afx_inflight, key);
	v = cur ? xa_to_value(cur) : 0;
	if (WARN_ON_ONCE(v < n))
		n = v;
	if (v == n)
		__xa_erase(&afx_inflight, key);
	else
		/* Replaces an existing entry: allocates nothing. */
		__xa_store(&afx_inflight, key, xa_mk_value(v - n), GFP_ATOMIC);
	xa_unlock_bh(&afx_inflight);
}

/*
 * Can @file hold files in flight itself? Then passing it could make a
 * reference cycle that nothing collects: refused.
 */
static bool afx_msg_file_refused(struct file *file)
{
	struct socket *sock = sock_from_file(file);
	struct inode *inode = file_inode(file);

	if (sock && sock->sk)
		return sock->sk->sk_family == AF_UNIX ||
		       sock->sk->sk_family == afx_family;
	/*
	 * io_uring does not export its file operations; its files are the
	 * anonymous inodes named "[io_uring]", and nothing else is.
	 */
	return inode->i_sb->s_magic == ANON_INODE_FS_MAGIC &&
	       !strcmp(file->f_path.dentry->d_name.name, "[io_uring]");
}

/**
 * afx_msg_files_put() - let go of a file list nobody will receive
 * @fpl: from afx_msg_scm_send(), or NULL
 *
 * Closes the files, ends their flight and frees the list; may be called
 * from softirq context.
 */
void afx_msg_files_put(struct scm_fp_list *fpl)
{
	struct scm_cookie scm;

	/* Most sends pass no file: nothing to set up for them. */
	if (!fpl)
		return;
	memset(&scm, 0, sizeof(scm));
	scm.fp = fpl;
	afx_inflight_sub(fpl->user, fpl->count);
	__scm_destroy(&scm);
}
EXPORT_SYMBOL_IF_KUNIT(afx_msg_files_put);

/*
 * The files of the @n descriptors in @msg's SCM_RIGHTS messages, counted
 * in flight. Return: the list, or an ERR_PTR(): -EBADF for a descriptor
 * that is not open, -EOPNOTSUPP for a file afx_msg_file_refused(),
 * -ETOOMANYREFS past the in-flight limit, -ENOMEM.
 */
static struct scm_fp_list *afx_msg_files_get(struct msghdr *msg,
					     unsigned int n)
{
	struct scm_cookie scm = {};
	struct scm_fp_list *fpl;
	struct cmsghdr *cmsg;
	struct file *file;
	unsigned int i;
	int err, *fds;

	fpl = kzalloc(offsetof(struct scm_fp_list, fp[n]), GFP_KERNEL_ACCOUNT);
	if (!fpl)
		return ERR_PTR(-ENOMEM);
	fpl->max = n;
	fpl->user = get_uid(current_user());
	scm.fp = fpl;
	for_each_cmsghdr(cmsg, msg) {
		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		fds = (int *)CMSG_DATA(cmsg);
		for (i = 0; i < (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		     i++) {
			file = fget_raw(fds[i]);
			if (!file) {
				err = -EBADF;
				goto out_err;
			}
			if (afx_msg_file_refused(file)) {
				fput(file);
				err = -EOPNOTSUPP;
				goto out_err;
			}
			fpl->fp[fpl->count++] = file;
		}
	}
	err = afx_inflight_add(fpl->user, fpl->count);
	if (err)
		goto out_err;
	return fpl;

out_err:
	__scm_destroy(&scm);
	return ERR_PTR(err);
}

/**
 * afx_msg_scm_send() - the control messages of a message socket's sendmsg()
 * @sock: the sender
 * @msg: its message; the control messages are in kernel memory (copied
 *	by the socket layer)
 * @scm: filled in as scm_send() fills it; scm_destroy() it after
 * @fpl: the files to pass (SCM_RIGHTS), or NULL; the caller queues them
 *	with the message or gives them to afx_msg_files_put()
 *
 * SCM_RIGHTS, which the generic parser accepts from AF_UNIX only, is
 * taken here; every other control message goes to scm_send(), which
 * checks SCM_CREDENTIALS against what the sender may claim.
 *
 * Return: 0, or an errno of scm_send() or afx_msg_files_get(); -EINVAL
 * for a malformed control message or more than SCM_MAX_FD descriptors.
 */
int afx_msg_scm_send(struct socket *sock, struct msghdr *msg,
		     struct scm_cookie *scm, struct scm_fp_list **fpl)
{
	struct msghdr rest = { .msg_flags = msg->msg_flags };
	unsigned int nfds = 0, rights = 0;
	struct cmsghdr *cmsg;
	size_t used = 0;
	void *buf;
	int err;

	*fpl = NULL;
	/* A user buffer would be a kernel caller's oddity: no files then. */
	if (!msg->msg_controllen || msg->msg_control_is_user)
		return scm_send(sock, msg, scm, false);

	for_each_cmsghdr(cmsg, msg) {
		if (!CMSG_OK(msg, cmsg))
			return -EINVAL;
		if (cmsg->cmsg_level == SOL_SOCKET &&
		    cmsg->cmsg_type == SCM_RIGHTS) {
			rights++;
			nfds += (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			if (nfds > SCM_MAX_FD)
				return -EINVAL;
		}
	}
	if (!rights)
		return scm_send(sock, msg, scm, false);

	/* The other control messages, for scm_send(). */
	buf = kmalloc(msg->msg_controllen, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	for_each_cmsghdr(cmsg, msg) {
		if (cmsg->cmsg_level == SOL_SOCKET &&
		    cmsg->cmsg_type == SCM_RIGHTS)
			continue;
		memcpy(buf + used, cmsg, cmsg->cmsg_len);
		used += min_t(size_t, CMSG_ALIGN(cmsg->cmsg_len),
			      msg->msg_controllen - used);
	}
	rest.msg_control = buf;
	rest.msg_controllen = used;
	err = scm_send(sock, &rest, scm, false);
	kfree(buf);
	if (err)
		return err;
	if (!nfds)
		return 0;
	*fpl = afx_msg_files_get(msg, nfds);
	if (IS_ERR(*fpl)) {
		err = PTR_ERR(*fpl);
		*fpl = NULL;
		scm_destroy(scm);
	}
	return err;
}

/* Has the socket of @sk asked for credentials (SO_PASSCRED)? */
static bool afx_msg_passcred(const struct sock *sk)
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
 * @sk: the sender, in its own sendmsg() (so it has its struct socket)
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
	/* The sender's own socket is stable in its own call: no RCU. */
	if (!test_bit(SOCK_PASSCRED, &sk->sk_socket->flags) &&
	    !afx_msg_passcred(rcv))
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
 * @fpl: the files it passes, or NULL; the queued message owns them once
 *	this returns 0
 * @msg: the payload; advanced by @len on success only
 * @len: payload bytes, at most AFX_MSG_LEN
 *
 * The caller serialises the producers of @rcv's buffer and checked the
 * room (afx_msg_size() bytes).
 *
 * Return: 0, or the error of afx_sbuf_push_record(): -EPIPE once @rcv
 * shut down reading, -EFAULT where the payload must be faulted in first,
 * -EMSGSIZE, -ENOBUFS.
 */
int afx_msg_push(struct sock *rcv, u32 from, const struct afx_msg_creds *creds,
		 struct scm_fp_list *fpl, struct iov_iter *msg, size_t len)
{
	struct afx_msg_hdr hdr = { .len = len, .from = from };
	struct afx_sock *rax = afx_sk(rcv);
	u8 h[AFX_MSG_HDR_MAX];
	u32 n = sizeof(hdr);
	u64 ptr;
	int err;

	if (creds) {
		hdr.len |= AFX_MSG_CREDS;
		memcpy(h + n, creds, sizeof(*creds));
		n += sizeof(*creds);
	}
	if (fpl) {
		hdr.len |= AFX_MSG_FILES;
		ptr = (uintptr_t)fpl;
		memcpy(h + n, &ptr, sizeof(ptr));
		n += sizeof(ptr);
	}
	memcpy(h, &hdr, sizeof(hdr));
	err = afx_sbuf_push_record(&rax->rx, h, n, msg, len);
	if (err)
		return err;
	if (creds)
		get_pid(creds->pid);
	WRITE_ONCE(rax->rx_hdr_units, rax->rx_hdr_units + n / 8);
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(afx_msg_push);

/*
 * The oldest message at @sk, which is there: its header, with the payload
 * length in @hdr->len, and what it holds in @x (the references stay with
 * the message). Only its consumer may call this.
 */
static void afx_msg_peek(struct sock *sk, struct afx_msg_hdr *hdr,
			 struct afx_msg_extra *x)
{
	u8 h[AFX_MSG_HDR_MAX];
	u32 n, want = sizeof(*hdr);
	u64 ptr;

	/* Short of a whole h when the record is. */
	n = afx_sbuf_peek_kernel(&afx_sk(sk)->rx, 0, h, sizeof(h));
	memset(x, 0, sizeof(*x));
	if (WARN_ON_ONCE(n < sizeof(*hdr))) {
		memset(hdr, 0, sizeof(*hdr));
		return;
	}
	memcpy(hdr, h, sizeof(*hdr));
	want += hdr->len & AFX_MSG_CREDS ? sizeof(x->creds) : 0;
	want += hdr->len & AFX_MSG_FILES ? sizeof(ptr) : 0;
	if (WARN_ON_ONCE(n < want))
		want = sizeof(*hdr);
	x->units = want / 8;
	n = sizeof(*hdr);
	if (hdr->len & AFX_MSG_CREDS) {
		memcpy(&x->creds, h + n, sizeof(x->creds));
		n += sizeof(x->creds);
	}
	if (hdr->len & AFX_MSG_FILES) {
		memcpy(&ptr, h + n, sizeof(ptr));
		x->fpl = (struct scm_fp_list *)(uintptr_t)ptr;
	}
	hdr->len &= AFX_MSG_LEN;
}

/*
 * Drop the oldest message at @sk, @hdr and @x as afx_msg_peek() gave
 * them; what @x still holds goes with it.
 */
static void afx_msg_consume(struct sock *sk, const struct afx_msg_hdr *hdr,
			    struct afx_msg_extra *x)
{
	struct afx_sock *ax = afx_sk(sk);

	afx_sbuf_consume(&ax->rx, x->units * 8 + hdr->len);
	WRITE_ONCE(ax->rx_hdr_units_read, ax->rx_hdr_units_read + x->units);
	put_pid(x->creds.pid);
	afx_msg_files_put(x->fpl);
}

/**
 * afx_msg_next() - the header of the next message at @sk
 * @sk: the receiver; the caller holds its rx_lock
 * @hdr: its header, the payload length in @hdr->len
 *
 * Return: false if no message is queued (@hdr is then zeroed).
 */
bool afx_msg_next(struct sock *sk, struct afx_msg_hdr *hdr)
{
	struct afx_msg_extra x;

	lockdep_assert_held(&afx_sk(sk)->rx_lock);
	if (!afx_sbuf_readable(&afx_sk(sk)->rx)) {
		memset(hdr, 0, sizeof(*hdr));
		return false;
	}
	afx_msg_peek(sk, hdr, &x);
	return true;
}

/**
 * afx_msg_recv_scm() - the control messages of a read
 * @sock: the reader
 * @msg: its message, where they go
 * @x: what the bytes read carry: credentials (@x->creds.pid NULL for
 *	none) and files (@x->fpl, or NULL)
 * @flags: recvmsg() flags
 *
 * Credentials for a reader with SO_PASSCRED (nobody's, as AF_UNIX, when
 * the bytes came without), the files as new descriptors. A read that is
 * not a peek takes the files from @x (@x->fpl becomes NULL); a peek gets
 * new references, as AF_UNIX. Used by the message sockets and, for a
 * segment of a stream, by anc.c.
 */
void afx_msg_recv_scm(struct socket *sock, struct msghdr *msg,
		      struct afx_msg_extra *x, int flags)
{
	struct scm_cookie scm;

	/* The common case, nothing to pass on: nothing to set up. */
	if (!x->fpl && !test_bit(SOCK_PASSCRED, &sock->flags))
		return;
	memset(&scm, 0, sizeof(scm));
	if (x->fpl) {
		if (flags & MSG_PEEK) {
			scm.fp = scm_fp_dup(x->fpl);
			if (!scm.fp)
				msg->msg_flags |= MSG_CTRUNC;
		} else {
			afx_inflight_sub(x->fpl->user, x->fpl->count);
			swap(scm.fp, x->fpl);
		}
		/* Descriptors go to user memory only: a kernel reader's are closed. */
		if (scm.fp && msg->msg_control && !msg->msg_control_is_user) {
			msg->msg_flags |= MSG_CTRUNC;
			__scm_destroy(&scm);
		}
	}
	if (!test_bit(SOCK_PASSCRED, &sock->flags) && !scm.fp)
		return;
	if (test_bit(SOCK_PASSCRED, &sock->flags)) {
		if (x->creds.pid)
			scm_set_cred(&scm, x->creds.pid, x->creds.uid,
				     x->creds.gid);
		else
			scm_set_cred(&scm, NULL, INVALID_UID, INVALID_GID);
	}
	scm_recv(sock, msg, &scm, flags);
}
EXPORT_SYMBOL_IF_KUNIT(afx_msg_recv_scm);

/**
 * afx_msg_read() - recvmsg() of the oldest message queued at @sock
 * @sock: the reader, holding its rx_lock; a message is queued
 * @msg: where the payload and control messages go; MSG_TRUNC is set in
 *	msg_flags when the payload did not fit
 * @len: the room for the payload
 * @flags: recvmsg() flags: MSG_PEEK leaves the message queued, MSG_TRUNC
 *	returns its whole length
 * @hdr: its header, the payload length in @hdr->len
 * @size: the bytes it took in the buffer, for a read that consumed it
 *
 * A read that fails leaves the message queued.
 *
 * Return: what recvmsg() returns, or -EFAULT.
 */
int afx_msg_read(struct socket *sock, struct msghdr *msg, size_t len,
		 int flags, struct afx_msg_hdr *hdr, u32 *size)
{
	struct sock *sk = sock->sk;
	struct afx_msg_extra x;
	size_t copied;

	lockdep_assert_held(&afx_sk(sk)->rx_lock);
	afx_msg_peek(sk, hdr, &x);
	copied = min_t(size_t, len, hdr->len);
	if (copied < hdr->len)
		msg->msg_flags |= MSG_TRUNC;
	/* Copied before it is consumed: a reader that faults keeps it. */
	if (afx_sbuf_peek_at(&afx_sk(sk)->rx, x.units * 8, &msg->msg_iter,
			     copied) != copied)
		return -EFAULT;
	*size = x.units * 8 + hdr->len;
	afx_msg_recv_scm(sock, msg, &x, flags);
	if (!(flags & MSG_PEEK))
		afx_msg_consume(sk, hdr, &x);
	return (flags & MSG_TRUNC) ? hdr->len : copied;
}
EXPORT_SYMBOL_IF_KUNIT(afx_msg_read);

/**
 * afx_msg_drop_all() - drop every message queued at @sk
 * @sk: the receiver, closing; takes its rx_lock
 *
 * Lets go of the pages and of what the messages hold. A message pushed
 * later is dropped by afx_msg_purge().
 */
void afx_msg_drop_all(struct sock *sk)
{
	struct afx_sock *ax = afx_sk(sk);
	struct afx_msg_extra x;
	struct afx_msg_hdr hdr;

	mutex_lock(&ax->rx_lock);
	while (afx_sbuf_readable(&ax->rx)) {
		afx_msg_peek(sk, &hdr, &x);
		afx_msg_consume(sk, &hdr, &x);
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
	struct afx_msg_extra x;
	struct afx_msg_hdr hdr;

	while (afx_sbuf_readable(&afx_sk(sk)->rx)) {
		afx_msg_peek(sk, &hdr, &x);
		afx_msg_consume(sk, &hdr, &x);
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

#if IS_ENABLED(CONFIG_KUNIT)
/**
 * afx_msg_inflight() - files @user has in flight in afx messages
 * @user: the user
 *
 * Return: a snapshot of the count.
 */
unsigned long afx_msg_inflight(const struct user_struct *user)
{
	void *v = xa_load(&afx_inflight, __kuid_val(user->uid));

	return v ? xa_to_value(v) : 0;
}
EXPORT_SYMBOL_IF_KUNIT(afx_msg_inflight);
#endif
