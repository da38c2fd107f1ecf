/* SPDX-License-Identifier: GPL-2.0 */
/*
 * afx: the stream buffer, one per direction of a stream connection. Its
 * design (representation, who writes which index, memory ordering, page
 * ownership) is DOC: Stream buffer in sbuf.c; nothing outside sbuf.c
 * touches the fields of struct afx_sbuf.
 */
#ifndef _AFX_SBUF_H
#define _AFX_SBUF_H

#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/types.h>
#include <linux/uio.h>

/*
 * Most payload bytes one buffer holds, whatever SO_SNDBUF/SO_RCVBUF say:
 * 508 KiB, in whole pages.
 */
#define AFX_SBUF_CAP		((u32)((508UL * 1024) & PAGE_MASK))
/* Page slots of the ring: one more than AFX_SBUF_CAP needs, a power of 2. */
#define AFX_SBUF_SLOTS		roundup_pow_of_two(AFX_SBUF_CAP / PAGE_SIZE + 1)
/*
 * Pages the consumer finished with that a buffer keeps for its producer,
 * a power of 2: 64 KiB with 4 KiB pages (DOC: Stream buffer).
 */
#define AFX_SBUF_SPARES		16
/*
 * Pages that buffers gave back kept per CPU for the next buffer that
 * starts a page (DOC: Stream buffer): 32 KiB per CPU with 4 KiB pages.
 */
#define AFX_SBUF_PCP_PAGES	8
/*
 * Direct copies (DOC: Stream buffer): a write of at least AFX_SBUF_DIRECT_MIN
 * bytes lets a reader waiting with at least that much room post its own
 * pages, up to AFX_SBUF_DIRECT_MAX bytes at a time.
 */
#define AFX_SBUF_DIRECT_MIN	(16U * 1024)
#define AFX_SBUF_DIRECT_MAX	(1024U * 1024)

/**
 * struct afx_sbuf_direct - a waiting consumer's own memory, posted for a copy
 * @pages: the pages of the consumer's buffer, with a reference each
 * @start: offset of the first byte in @pages[0]
 * @len: bytes posted
 * @done: bytes the producer has copied in, from the first; written
 *	under afx_sbuf.dlock, read locklessly by the consumer that posted
 *	(afx_sbuf_direct_done())
 *
 * Lives in the consumer's recvmsg() frame, between afx_sbuf_post() and
 * afx_sbuf_unpost().
 */
struct afx_sbuf_direct {
	struct page **pages;
	size_t start;
	size_t len;
	size_t done;
};

/**
 * struct afx_sbuf_ring - the page pointers of a stream buffer
 * @slots: AFX_SBUF_SLOTS page pointers; a slot is published before the
 *	afx_sbuf.head that covers it
 * @spare_in: spare pages ever put back by the consumer, modulo 2^32;
 *	written by the consumer only, with smp_store_release()
 * @spare_out: spare pages ever taken by the producer, modulo 2^32;
 *	written by the producer only, with smp_store_release()
 * @spares: pages the consumer finished with, for the producer: a ring
 *	indexed by @spare_in and @spare_out
 *
 * Allocated by the first push, so that a socket nobody writes to costs
 * none of it.
 */
struct afx_sbuf_ring {
	struct page *slots[AFX_SBUF_SLOTS];
	u32 spare_in;
	u32 spare_out;
	struct page *spares[AFX_SBUF_SPARES];
};

/**
 * struct afx_sbuf - a single-producer, single-consumer byte ring of pages
 * @head: bytes ever pushed, modulo 2^32; written by the producer only,
 *	with smp_store_release()
 * @tail: bytes ever pulled, modulo 2^32; written by the consumer only,
 *	with smp_store_release()
 * @ring: the pages, allocated by the first push and published by the
 *	release of the first @head
 * @shut: set by afx_sbuf_shutdown(); pushes fail with -EPIPE after it
 * @dlock: guards @direct and what the producer writes through it
 * @direct: the consumer's posted buffer, or NULL; written under @dlock,
 *	read locklessly as a hint (or by the consumer that posted it)
 * @write_hint: the size of the producer's last write in KiB if it was
 *	large enough for a direct copy, capped at AFX_SBUF_DIRECT_MAX, else
 *	0; written by the producer, read by the consumer, both without a lock
 */
struct afx_sbuf {
	u32 head;
	u32 tail;
	struct afx_sbuf_ring *ring;
	spinlock_t dlock; /* @direct */
	u16 write_hint;
	bool shut;
	struct afx_sbuf_direct *direct;
};

int afx_sbuf_cache_init(void);
void afx_sbuf_cache_exit(void);
void afx_sbuf_init(struct afx_sbuf *sb);
int afx_sbuf_push(struct afx_sbuf *sb, struct iov_iter *from, size_t len);
int afx_sbuf_push_record(struct afx_sbuf *sb, const void *hdr, u32 hlen,
			 struct iov_iter *from, size_t len);
int afx_sbuf_pull(struct afx_sbuf *sb, struct iov_iter *to, size_t len,
		  bool peek);
int afx_sbuf_peek_at(struct afx_sbuf *sb, u32 skip, struct iov_iter *to,
		     size_t len);
u32 afx_sbuf_peek_kernel(struct afx_sbuf *sb, u32 skip, void *buf, u32 len);
void afx_sbuf_consume(struct afx_sbuf *sb, u32 len);
u32 afx_sbuf_spare_pages(const struct afx_sbuf *sb);
void afx_sbuf_shutdown(struct afx_sbuf *sb);
void afx_sbuf_discard(struct afx_sbuf *sb);
void afx_sbuf_purge(struct afx_sbuf *sb);
size_t __afx_sbuf_push_direct(struct afx_sbuf *sb, struct iov_iter *from,
			      size_t len);
int __afx_sbuf_post(struct afx_sbuf *sb, struct afx_sbuf_direct *d,
		    const struct iov_iter *to, size_t len);
size_t afx_sbuf_unpost(struct afx_sbuf *sb, struct afx_sbuf_direct *d,
		       struct iov_iter *to);
size_t afx_sbuf_direct_done(const struct afx_sbuf *sb);
#if IS_ENABLED(CONFIG_KUNIT)
void afx_sbuf_hang_direct(struct afx_sbuf *sb, struct afx_sbuf_direct *d);
size_t afx_sbuf_take_direct(struct afx_sbuf *sb, struct afx_sbuf_direct *d);
#endif

/*
 * The small parts of the interface, inline: they run several times per
 * message on the data path.
 */
/**
 * afx_sbuf_readable() - bytes pushed and not yet pulled
 * @sb: the buffer
 *
 * Exact for the consumer; a snapshot for anyone else (poll,
 * introspection, the producer).
 *
 * Return: the byte count, at most AFX_SBUF_CAP.
 */
static inline u32 afx_sbuf_readable(const struct afx_sbuf *sb)
{
	u32 tail = READ_ONCE(sb->tail);

	/* As pull: the count covers bytes a following pull finds written. */
	return min_t(u32, smp_load_acquire(&sb->head) - tail, AFX_SBUF_CAP);
}

/**
 * afx_sbuf_pushed() - the producer: the number of the next byte it pushes
 * @sb: the buffer
 *
 * Byte numbers count modulo 2^32 from the first byte ever pushed; the
 * producer's own index, so exact for the caller, who must be the
 * producer.
 *
 * Return: the bytes ever pushed, modulo 2^32.
 */
static inline u32 afx_sbuf_pushed(const struct afx_sbuf *sb)
{
	return READ_ONCE(sb->head);
}

/**
 * afx_sbuf_pulled() - the consumer: the number of the next byte it pulls
 * @sb: the buffer
 *
 * As afx_sbuf_pushed(), for the consumer's index.
 *
 * Return: the bytes ever pulled, modulo 2^32.
 */
static inline u32 afx_sbuf_pulled(const struct afx_sbuf *sb)
{
	return READ_ONCE(sb->tail);
}

/**
 * afx_sbuf_readable_before() - the producer: what was readable before a push
 * @sb: the buffer
 * @pushed: what the push added
 *
 * For the producer, right after a push: the bytes that were readable
 * before it, and still are, as far as the consumer's @tail says now. A
 * push publishes @head page by page, so the consumer may already have
 * read into the bytes it added: then nothing from before is left (0),
 * and a reader that went to sleep in between must be woken. The caller
 * orders this after the push itself (smp_mb()).
 *
 * Return: the byte count.
 */
static inline u32 afx_sbuf_readable_before(const struct afx_sbuf *sb, u32 pushed)
{
	u32 before = sb->head - pushed, tail = READ_ONCE(sb->tail);

	return (s32)(before - tail) > 0 ? before - tail : 0;
}

/**
 * afx_sbuf_room() - bytes a push may add under a limit
 * @sb: the buffer
 * @limit: the most the buffer may hold; AFX_SBUF_CAP applies too
 *
 * Exact for the producer; a snapshot for anyone else.
 *
 * Return: the byte count, 0 when full.
 */
static inline u32 afx_sbuf_room(const struct afx_sbuf *sb, u32 limit)
{
	u32 used;

	/* As push: room counts only slots the consumer let go of. */
	used = READ_ONCE(sb->head) - smp_load_acquire(&sb->tail);

	limit = min_t(u32, limit, AFX_SBUF_CAP);
	return used < limit ? limit - used : 0;
}

/**
 * afx_sbuf_write_hint() - the producer: note the size of a write
 * @sb: the buffer
 * @len: the bytes the write asks to push
 *
 * A consumer posts its memory (afx_sbuf_post()) only while the last write
 * was large, and no more of it than that write.
 */
static inline void afx_sbuf_write_hint(struct afx_sbuf *sb, size_t len)
{
	u16 hint = len < AFX_SBUF_DIRECT_MIN ? 0 :
		   min_t(size_t, len, AFX_SBUF_DIRECT_MAX) >> 10;

	if (READ_ONCE(sb->write_hint) != hint)
		WRITE_ONCE(sb->write_hint, hint);
}

/**
 * afx_sbuf_push_direct() - the producer: copy into the consumer's posted memory
 * @sb: the buffer
 * @from: the source; advanced by what was copied
 * @len: bytes to copy at most
 *
 * See __afx_sbuf_push_direct(); without a call while nothing is posted.
 *
 * Return: bytes copied.
 */
static inline size_t afx_sbuf_push_direct(struct afx_sbuf *sb,
					  struct iov_iter *from, size_t len)
{
	if (!READ_ONCE(sb->direct))
		return 0;
	return __afx_sbuf_push_direct(sb, from, len);
}

/**
 * afx_sbuf_post() - the consumer: offer its own memory for a direct copy
 * @sb: the buffer
 * @d: the offer, in the caller's frame
 * @to: the consumer's destination
 * @len: bytes it wants at most
 *
 * See __afx_sbuf_post(); without a call while the last write was small.
 *
 * Return: 0 once posted, or a negative errno (-EAGAIN: not worth it).
 */
static inline int afx_sbuf_post(struct afx_sbuf *sb, struct afx_sbuf_direct *d,
				const struct iov_iter *to, size_t len)
{
	if (!READ_ONCE(sb->write_hint))
		return -EAGAIN;
	return __afx_sbuf_post(sb, d, to, len);
}

#endif /* _AFX_SBUF_H */
