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
u32 afx_sbuf_readable(const struct afx_sbuf *sb);
u32 afx_sbuf_pushed(const struct afx_sbuf *sb);
u32 afx_sbuf_pulled(const struct afx_sbuf *sb);
u32 afx_sbuf_readable_before(const struct afx_sbuf *sb, u32 pushed);
u32 afx_sbuf_room(const struct afx_sbuf *sb, u32 limit);
u32 afx_sbuf_spare_pages(const struct afx_sbuf *sb);
void afx_sbuf_shutdown(struct afx_sbuf *sb);
void afx_sbuf_discard(struct afx_sbuf *sb);
void afx_sbuf_purge(struct afx_sbuf *sb);
void afx_sbuf_write_hint(struct afx_sbuf *sb, size_t len);
size_t afx_sbuf_push_direct(struct afx_sbuf *sb, struct iov_iter *from,
			    size_t len);
int afx_sbuf_post(struct afx_sbuf *sb, struct afx_sbuf_direct *d,
		  const struct iov_iter *to, size_t len);
size_t afx_sbuf_unpost(struct afx_sbuf *sb, struct afx_sbuf_direct *d,
		       struct iov_iter *to);
size_t afx_sbuf_direct_done(const struct afx_sbuf *sb);
#if IS_ENABLED(CONFIG_KUNIT)
void afx_sbuf_hang_direct(struct afx_sbuf *sb, struct afx_sbuf_direct *d);
size_t afx_sbuf_take_direct(struct afx_sbuf *sb, struct afx_sbuf_direct *d);
#endif

#endif /* _AFX_SBUF_H */
