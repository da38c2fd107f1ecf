// SPDX-License-Identifier: GPL-2.0
/*
 * afx: ancillary data of stream connections: the credentials and files
 * that stream writes carry, kept beside the bytes in the stream buffer.
 */

/**
 * DOC: Stream ancillary data
 *
 * A stream write may carry credentials (SCM_CREDENTIALS, or the writer's
 * own when either end has SO_PASSCRED at the time of the write, as for
 * messages: afx_msg_creds_for()) and files (SCM_RIGHTS, with the limits
 * of msg.c). The bytes go to the receiver's stream buffer (sbuf.c), which
 * knows nothing of this; what they carry hangs beside it, in the
 * receiver's struct afx_anc: a list of marks, each saying "from byte
 * number @start on, the bytes carry this", up to the next mark. A mark
 * that carries nothing (a null mark) ends the one before it when an
 * unmarked write follows a marked one. A receiver with no mark, or whose
 * only mark is a null mark its reader has reached, is unmarked, and then
 * neither its writer nor its reader takes any lock here.
 *
 * Writes are never merged across what they carry, AF_UNIX's rule. A
 * segment is the run of bytes under one mark, and one read returns bytes
 * of one segment only: a read stops where the next mark starts, and a
 * read that starts in a segment with files gets the files (the first
 * read of the segment that is not a peek takes them, with its first byte;
 * a peek gets duplicates) and stops at the segment's end. Credentials
 * matter only to a reader with SO_PASSCRED, so for any other reader the
 * marks that carry credentials alone do not end a segment. A write whose
 * credentials equal those of the last mark and that passes no files adds
 * no mark, so the writes of one process read as one stream, as on
 * AF_UNIX. A write carries what it carries for all its bytes: one that
 * waits for room part-way and finds that another thread of the writer
 * wrote in between marks its remaining bytes again (without the files,
 * which went with its first bytes).
 *
 * Who writes what (the buffer's producer and consumer, DOC: Stream
 * buffer):
 *
 * - The producer, the peer's sendmsg() under its afx_sock.tx_lock,
 *   allocates the struct afx_anc on first need and publishes it with
 *   smp_store_release(&afx_sock.rx_anc), and appends marks under
 *   afx_anc.lock *before* it pushes the bytes they cover. A consumer that
 *   has seen those bytes (the acquire of the buffer's head in
 *   afx_sbuf_readable()) and then looks here finds their mark. A mark's
 *   fields other than @fpl are constant once it is on the list.
 * - The consumer, recvmsg() under the owner's rx_lock (or release() or
 *   the destructor), removes the marks it has read past and takes a
 *   segment's files, both under afx_anc.lock. Only the consumer removes
 *   marks, and never the last one unless it is a null mark, so a mark it
 *   found stays until it looks again, and the producer's last mark tells
 *   it what the bytes it pushes next carry.
 * - afx_anc.count is written under the lock and read locklessly: a
 *   producer that reads 0 and carries nothing needs no mark (only it adds
 *   marks); a consumer that reads 0 after the acquire of the bytes it is
 *   about to read knows they are unmarked.
 *
 * A writer never copies straight into a reader's posted memory (direct
 * copies, DOC: Stream buffer) unless the receiver is unmarked and the
 * write carries nothing, so every byte that carries something goes
 * through the buffer and the rule above.
 *
 * Bounds: at most AFX_ANC_MARKS marks wait at a receiver. A write that
 * needs one more waits for the reader as a write waits for room (EAGAIN
 * when nonblocking), and poll() reports POLLOUT only while there is room
 * for one more mark too. Marks are charged to the writer's memory cgroup,
 * and files in flight count against the sender's RLIMIT_NOFILE (msg.c).
 */

#include <linux/list.h>
#include <linux/pid.h>
#include <linux/slab.h>
#include <net/scm.h>
#include <net/sock.h>
#include <kunit/visibility.h>

#include "afx.h"

/**
 * struct afx_anc_mark - what the bytes from one byte number on carry
 * @node: entry in afx_anc.marks, in the order of @start
 * @start: the number of the first byte it covers (afx_sbuf_pushed())
 * @id: names its segment in a read (afx_anc_seg.id); never 0
 * @files: it was made with files (it is not a null mark even after they
 *	were taken)
 * @creds: the credentials, @creds.pid NULL for none; the mark owns the
 *	pid reference
 * @fpl: the files, until a read takes them; the mark owns them
 */
struct afx_anc_mark {
	struct list_head node;
	u32 start;
	u32 id;
	bool files;
	struct afx_msg_creds creds;
	struct scm_fp_list *fpl;
};

static bool afx_anc_null(const struct afx_anc_mark *m)
{
	return !m->creds.pid && !m->files;
}

/* Do the bytes after @m carry @creds and no files, as a write would? */
static bool afx_anc_same(const struct afx_anc_mark *m,
			 const struct afx_msg_creds *creds)
{
	if (m->files)
		return false;
	if (!creds)
		return !m->creds.pid;
	return m->creds.pid == creds->pid && uid_eq(m->creds.uid, creds->uid) &&
	       gid_eq(m->creds.gid, creds->gid);
}

static void afx_anc_mark_free(struct afx_anc_mark *m)
{
	put_pid(m->creds.pid);
	afx_msg_files_put(m->fpl);
	kfree(m);
}

/* Does a write need a new mark after @last, under afx_anc.lock? */
static bool afx_anc_needed(const struct afx_anc_mark *last,
			   const struct afx_msg_creds *creds,
			   const struct scm_fp_list *fpl, u32 *id)
{
	if (fpl)
		return true;
	if (!last)
		return !!creds;
	/* A write that went on after waiting: still under its own mark. */
	if (*id == last->id)
		return false;
	if (afx_anc_same(last, creds) || (!creds && afx_anc_null(last))) {
		*id = last->id;
		return false;
	}
	return true;
}

/**
 * afx_anc_mark() - set what the bytes a stream writer pushes next carry
 * @rcv: the receiver; the caller is the producer of its buffer
 * @creds: the credentials they carry, or NULL
 * @fpl: the files they pass, or NULL; set to NULL once a mark owns them
 * @id: the mark the caller's write is under, 0 before its first bytes;
 *	updated, so that the rest of a write that waited for room stays
 *	under its first mark unless another write came in between
 *
 * Adds a mark at the next byte to be pushed if what is there does not
 * already say what the write carries (DOC: Stream ancillary data).
 *
 * Return: 1 when it added a mark, which the caller takes back with
 * afx_anc_unmark() if it then pushes nothing; 0 when none was needed;
 * -EAGAIN when AFX_ANC_MARKS marks wait already (the caller waits for
 * afx_anc_room()), -EPIPE once @rcv shut down reading, -ENOMEM.
 */
int afx_anc_mark(struct sock *rcv, const struct afx_msg_creds *creds,
		 struct scm_fp_list **fpl, u32 *id)
{
	struct afx_sock *rax = afx_sk(rcv);
	struct afx_anc *anc = rax->rx_anc;
	struct afx_anc_mark *last, *m = NULL;
	int err = 0;

	if (!creds && !*fpl && !afx_anc_busy(rcv)) {
		*id = 0;
		return 0;
	}
	if (READ_ONCE(rcv->sk_shutdown) & RCV_SHUTDOWN)
		return -EPIPE;
	if (!anc) {
		anc = kmalloc(sizeof(*anc), GFP_KERNEL_ACCOUNT);
		if (!anc)
			return -ENOMEM;
		spin_lock_init(&anc->lock);
		anc->count = 0;
		anc->next_id = 0;
		INIT_LIST_HEAD(&anc->marks);
		/* Initialised before it is seen: pairs with afx_anc_busy(). */
		smp_store_release(&rax->rx_anc, anc);
	}

	spin_lock(&anc->lock);
	for (;;) {
		last = list_empty(&anc->marks) ? NULL :
		       list_last_entry(&anc->marks, struct afx_anc_mark, node);
		if (!afx_anc_needed(last, creds, *fpl, id) || m)
			break;
		/* Rare: allocate outside the lock, then look again. */
		spin_unlock(&anc->lock);
		m = kmalloc(sizeof(*m), GFP_KERNEL_ACCOUNT);
		if (!m)
			return -ENOMEM;
		spin_lock(&anc->lock);
	}
	if (!m || !afx_anc_needed(last, creds, *fpl, id))
		goto out;
	if (anc->count >= AFX_ANC_MARKS) {
		err = -EAGAIN;
		goto out;
	}
	m->start = afx_sbuf_pushed(&rax->rx);
	anc->next_id = anc->next_id + 1 ?: 1;
	m->id = anc->next_id;
	memset(&m->creds, 0, sizeof(m->creds));
	if (creds) {
		m->creds = *creds;
		get_pid(m->creds.pid);
	}
	m->files = *fpl;
	m->fpl = *fpl;
	*fpl = NULL;
	*id = m->id;
	list_add_tail(&m->node, &anc->marks);
	WRITE_ONCE(anc->count, anc->count + 1);
	m = NULL;
	err = 1;
out:
	spin_unlock(&anc->lock);
	kfree(m);
	return err;
}
EXPORT_SYMBOL_IF_KUNIT(afx_anc_mark);

/**
 * afx_anc_unmark() - take back the mark of a write that pushed nothing
 * @rcv: the receiver; the caller is the producer of its buffer and has
 *	pushed nothing since afx_anc_mark() returned 1
 * @fpl: gets back the files the mark took, for the caller to release
 * @id: as afx_anc_mark() set it; reset to 0
 *
 * So that a write that fails before its first byte leaves nothing queued:
 * no reader can have reached the mark, which covers no byte.
 */
void afx_anc_unmark(struct sock *rcv, struct scm_fp_list **fpl, u32 *id)
{
	struct afx_sock *rax = afx_sk(rcv);
	struct afx_anc *anc = rax->rx_anc;
	struct afx_anc_mark *m;

	spin_lock(&anc->lock);
	m = list_last_entry(&anc->marks, struct afx_anc_mark, node);
	if (WARN_ON_ONCE(m->id != *id ||
			 m->start != afx_sbuf_pushed(&rax->rx))) {
		spin_unlock(&anc->lock);
		return;
	}
	list_del(&m->node);
	WRITE_ONCE(anc->count, anc->count - 1);
	spin_unlock(&anc->lock);
	*fpl = m->fpl;
	m->fpl = NULL;
	afx_anc_mark_free(m);
	*id = 0;
}
EXPORT_SYMBOL_IF_KUNIT(afx_anc_unmark);

/* The id a reader sees for the segment of @m: 0 for what it ignores. */
static u32 afx_anc_seg_id(const struct afx_anc_mark *m, bool passcred)
{
	if (m->files || (passcred && m->creds.pid))
		return m->id;
	return 0;
}

/*
 * Drop the marks the reader has read past, under @anc's lock, onto @gone.
 * Return: whether @anc was full (AFX_ANC_MARKS) before.
 */
static bool afx_anc_drop_passed(struct afx_anc *anc, u32 tail,
				struct list_head *gone)
{
	bool was_full = anc->count >= AFX_ANC_MARKS;
	struct afx_anc_mark *m, *end;

	lockdep_assert_held(&anc->lock);
	while ((m = list_first_entry_or_null(&anc->marks,
					     struct afx_anc_mark, node))) {
		end = list_is_last(&m->node, &anc->marks) ? NULL :
		      list_next_entry(m, node);
		if (end ? (s32)(end->start - tail) > 0 :
			  !afx_anc_null(m) || (s32)(m->start - tail) > 0)
			break;
		list_move_tail(&m->node, gone);
		WRITE_ONCE(anc->count, anc->count - 1);
	}
	return was_full;
}

/*
 * After afx_anc_drop_passed(), out of the lock: free what it dropped and
 * wake a writer waiting for room for a mark (pairs with its afx_io_wait()).
 */
static void afx_anc_dropped(struct sock *sk, struct list_head *gone,
			    bool was_full)
{
	struct afx_anc_mark *m;
	struct sock *peer;

	while ((m = list_first_entry_or_null(gone, struct afx_anc_mark,
					     node))) {
		list_del(&m->node);
		afx_anc_mark_free(m);
	}
	peer = READ_ONCE(afx_sk(sk)->peer);
	if (was_full && peer && afx_anc_room(sk))
		peer->sk_write_space(peer);
}

/**
 * afx_anc_next() - the consumer: how far its read may go on
 * @sk: the reader, holding its rx_lock, which saw bytes to read with
 *	afx_sbuf_readable() just before
 * @seg: the read's segment: zeroed before a read's first call, which
 *	fills it in (with a reference on the credentials and, unless
 *	@peek, the files taken from their mark); later calls compare
 * @passcred: the reader has SO_PASSCRED
 * @peek: the read is a peek
 *
 * Also drops the marks the reader has read past, and wakes a writer that
 * waits for room for a mark.
 *
 * Return: how many bytes from the next one belong to @seg (U32_MAX: no
 * end known yet), 0 when the next byte starts another segment.
 */
u32 afx_anc_next(struct sock *sk, struct afx_anc_seg *seg, bool passcred,
		 bool peek)
{
	struct afx_sock *ax = afx_sk(sk);
	struct afx_anc_mark *m, *cur = NULL;
	u32 tail, id = 0, limit = U32_MAX;
	struct afx_anc *anc;
	bool was_full;
	LIST_HEAD(gone);

	lockdep_assert_held(&ax->rx_lock);
	/* Pairs with the release in afx_anc_mark(): initialised. */
	anc = smp_load_acquire(&ax->rx_anc);
	if (!anc || !READ_ONCE(anc->count))
		goto decide;
	tail = afx_sbuf_pulled(&ax->rx);
	spin_lock(&anc->lock);
	was_full = afx_anc_drop_passed(anc, tail, &gone);
	m = list_first_entry_or_null(&anc->marks, struct afx_anc_mark, node);
	if (m && (s32)(m->start - tail) <= 0) {
		cur = m;
		id = afx_anc_seg_id(cur, passcred);
		m = list_is_last(&m->node, &anc->marks) ? NULL :
		    list_next_entry(m, node);
	}
	/* Where the segment ends: a later mark a reader sees as another. */
	for (; m; m = list_is_last(&m->node, &anc->marks) ? NULL :
		      list_next_entry(m, node)) {
		if (id || afx_anc_seg_id(m, passcred)) {
			limit = m->start - tail;
			break;
		}
	}
	if (!seg->started && cur) {
		seg->mark = cur;
		if (cur->creds.pid) {
			seg->x.creds = cur->creds;
			get_pid(seg->x.creds.pid);
		}
		seg->x.fpl = cur->fpl;
		if (!peek)
			cur->fpl = NULL;
	}
	spin_unlock(&anc->lock);
	afx_anc_dropped(sk, &gone, was_full);
decide:
	if (!seg->started) {
		seg->started = true;
		seg->id = id;
		return limit;
	}
	return id == seg->id ? limit : 0;
}
EXPORT_SYMBOL_IF_KUNIT(afx_anc_next);

/**
 * afx_anc_end() - the consumer: the control messages of a stream read
 * @sock: the reader, holding its rx_lock
 * @msg: its message
 * @seg: the read's segment, as afx_anc_next() filled it in, or zeroed
 * @flags: recvmsg() flags
 * @copied: what the read returns
 *
 * A read that returned bytes gets what their segment carries (credentials
 * for a reader with SO_PASSCRED, nobody's when they carry none, and the
 * files), and the marks it read past are dropped; one that returned none
 * puts the files back on their mark. Lets go of @seg's references.
 */
void afx_anc_end(struct socket *sock, struct msghdr *msg,
		 struct afx_anc_seg *seg, int flags, int copied)
{
	struct afx_sock *ax = afx_sk(sock->sk);
	bool peek = flags & MSG_PEEK;
	struct afx_anc *anc;
	bool was_full;
	LIST_HEAD(gone);

	lockdep_assert_held(&ax->rx_lock);
	/* Pairs with the release in afx_anc_mark(): initialised. */
	anc = smp_load_acquire(&ax->rx_anc);
	if (copied > 0) {
		afx_msg_recv_scm(sock, msg, &seg->x, flags);
	} else if (seg->x.fpl && !peek) {
		/* Only this consumer removes marks: seg->mark is there. */
		spin_lock(&anc->lock);
		seg->mark->fpl = seg->x.fpl;
		spin_unlock(&anc->lock);
		seg->x.fpl = NULL;
	}
	if (!peek)
		afx_msg_files_put(seg->x.fpl);
	put_pid(seg->x.creds.pid);
	memset(seg, 0, sizeof(*seg));
	/* What the read finished: room for marks before the writer's next. */
	if (copied > 0 && !peek && anc && READ_ONCE(anc->count)) {
		spin_lock(&anc->lock);
		was_full = afx_anc_drop_passed(anc, afx_sbuf_pulled(&ax->rx),
					       &gone);
		spin_unlock(&anc->lock);
		afx_anc_dropped(sock->sk, &gone, was_full);
	}
}
EXPORT_SYMBOL_IF_KUNIT(afx_anc_end);

/**
 * afx_anc_discard() - drop every mark of a stream receiver
 * @sk: the receiver, closing after it discarded its bytes (its consumer),
 *	or from its destructor; a producer may still add marks until the
 *	destructor
 *
 * Closes the files the marks still hold.
 */
void afx_anc_discard(struct sock *sk)
{
	struct afx_anc *anc = afx_sk(sk)->rx_anc;
	struct afx_anc_mark *m;
	LIST_HEAD(gone);

	if (!anc)
		return;
	spin_lock(&anc->lock);
	list_splice_init(&anc->marks, &gone);
	WRITE_ONCE(anc->count, 0);
	spin_unlock(&anc->lock);
	while ((m = list_first_entry_or_null(&gone, struct afx_anc_mark,
					     node))) {
		list_del(&m->node);
		afx_anc_mark_free(m);
	}
}
EXPORT_SYMBOL_IF_KUNIT(afx_anc_discard);

/**
 * afx_anc_free() - free a stream receiver's marks and their list
 * @sk: the sock, from its destructor: nobody else can reach it (it may
 *	run in softirq context, from an RCU callback)
 */
void afx_anc_free(struct sock *sk)
{
	struct afx_sock *ax = afx_sk(sk);
	struct afx_anc *anc = ax->rx_anc;
	struct afx_anc_mark *m, *tmp;

	if (!anc)
		return;
	/* No lock: afx_anc.lock is never taken in softirq context otherwise. */
	list_for_each_entry_safe(m, tmp, &anc->marks, node)
		afx_anc_mark_free(m);
	kfree(anc);
	ax->rx_anc = NULL;
}
EXPORT_SYMBOL_IF_KUNIT(afx_anc_free);
