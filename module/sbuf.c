// SPDX-License-Identifier: GPL-2.0
/*
 * afx: the stream buffer.
 *
 * One direction of a stream connection: the bytes a writer has sent and
 * its peer has not read yet. stream.c reaches it only through the
 * functions below.
 */

/**
 * DOC: Stream buffer
 *
 * Each stream socket embeds a struct afx_sbuf for the bytes sent to it
 * (afx_sock.rx). It is a ring of AFX_SBUF_SLOTS page pointers over a
 * byte stream: byte number p lives in slot (p / PAGE_SIZE) % AFX_SBUF_SLOTS
 * at offset p % PAGE_SIZE. @head counts the bytes pushed, @tail those
 * pulled, both modulo 2^32 (a multiple of the ring's span, so the
 * arithmetic wraps with them); head - tail bytes are readable. The page
 * pointers and the spares below live in a struct afx_sbuf_ring that the
 * first push allocates, so an idle socket carries 48 bytes of buffer.
 *
 * There is one producer, the peer's sendmsg(), serialised by the peer's
 * afx_sock.tx_lock, and one consumer, the owner's recvmsg(), serialised
 * by the owner's afx_sock.rx_lock, or its release(). No lock is shared
 * between them:
 *
 * - The producer writes bytes into pages, then publishes them with
 *   smp_store_release(&head); the consumer reads @head with
 *   smp_load_acquire() before it reads those bytes or the slot pointers
 *   that lead to them. Small writes are appended to the page @head is in,
 *   as a pipe's are, so a 1-byte write costs a copy of one byte.
 * - The consumer copies bytes out, and when @tail passes the end of a
 *   page it clears the slot and hands the page back (to the spares, or to
 *   the page allocator if they are full) before smp_store_release(&tail);
 *   the producer reads @tail with smp_load_acquire() before it computes
 *   room, so a slot it is about to fill is always one the consumer has
 *   let go of.
 * - The ring holds at most AFX_SBUF_CAP bytes, one slot short of the
 *   whole ring: the producer never starts a page in the slot the
 *   consumer is still reading, and the page @head is in is never freed
 *   by the consumer, even when head == tail, because @tail cannot pass
 *   its end before @head does.
 *
 * Pages are only ever in the slots from @tail's to @head's, both
 * included: the consumer clears the slots it leaves, a push publishes up
 * to each page it fills, and a record push that fails frees the pages it
 * took past the one @head is in; so purge looks at those slots alone.
 *
 * Pages are allocated by the producer, GFP_KERNEL_ACCOUNT, so they are
 * charged to the writer's memory cgroup, and __GFP_RETRY_MAYFAIL, so that
 * a writer at its cgroup's memory.max gets -ENOBUFS instead of an OOM
 * kill; without __GFP_ZERO (a byte is read only after it is written).
 * Steady streaming allocates nothing: the pages the consumer finishes
 * become the producer's next ones through the spares, a second
 * single-producer, single-consumer ring of AFX_SBUF_SPARES page pointers
 * (afx_sbuf_ring.spares), in the other direction: the consumer puts a page there and
 * publishes it with smp_store_release(&spare_in), the producer takes it
 * after smp_load_acquire() of that and lets go of the entry with
 * smp_store_release(&spare_out). So a writer and a reader that keep up
 * with each other, and messages of up to AFX_SBUF_SPARES pages, allocate
 * no page and zero none (the kernel zeroes every new page when
 * init_on_alloc is on, as Debian's is). The price: a buffer that once held
 * that much keeps up to AFX_SBUF_SPARES pages until the socket is freed,
 * as TCP keeps its socket's page fragment; they stay charged to the cgroup
 * of the writer that allocated them, also when, on a datagram socket,
 * another sender reuses them. A push that faults or cannot get a page
 * pushes what it could and reports the error only if that is nothing.
 *
 * Pages also pass from buffer to buffer, so that a short connection's
 * first bytes cost no page allocation and no zeroing either: a page a
 * buffer gives back (its spares full, or the buffer purged) joins a
 * per-CPU set of up to AFX_SBUF_PCP_PAGES pages, and a producer that
 * starts a page takes one from its CPU's set before it asks the page
 * allocator, if that page is charged to the memory cgroup a new one would
 * be charged to: no cgroup writes into pages on another's account. The
 * pages of a set stay charged to the cgroups that allocated them until a
 * buffer takes them, a newer page pushes them out, or the module is
 * unloaded. A set is used in task context only: a page given back from
 * an RCU callback goes to the page allocator, which is why afx_sock_put()
 * frees a dead socket's buffer when its last reference goes rather than
 * leaving it to the destructor, a grace period later. As within one
 * buffer, a page is reused without zeroing: no byte of it is read before
 * it is written.
 *
 * Shutdown (the owner shut down reading, or is closing) makes later
 * pushes fail with -EPIPE; the owner discards what is readable when it
 * closes. A producer already past its check may still push after that;
 * those bytes, like the page @head is in, are freed with the socket
 * (afx_sbuf_purge(), from the destructor, once no producer can run).
 *
 * Direct copies. A consumer about to wait on an empty buffer, with room
 * for a large write (the producer's last write was at least
 * AFX_SBUF_DIRECT_MIN bytes, @write_hint), may post its own memory
 * instead: afx_sbuf_post() pins the pages of its buffer, as O_DIRECT
 * does, and hangs them on @direct. A producer that finds a
 * posted buffer and the ring empty copies its bytes straight into those
 * pages (afx_sbuf_push_direct()), so they are copied once, not twice, and
 * need no page of the ring. Ordering holds because of when each side acts:
 * the consumer posts only after it found the ring empty and takes the
 * buffer back (afx_sbuf_unpost()) before it reads the ring again, and the
 * producer copies into it only while the ring is empty, so every byte
 * that goes direct comes after every byte pulled before the post and
 * before every byte pushed to the ring after it. @dlock guards @direct
 * and its progress: the producer copies one page at a time under it with
 * page faults disabled (a copy that would fault stops there, and the rest
 * goes through the ring, which may fault), so the consumer takes its
 * buffer back after at most one page's copy, and the bytes counted in
 * afx_sbuf_direct.done are the bytes written.
 *
 * Wakeups are the caller's: stream.c calls sk_data_ready() after a push
 * and sk_write_space() after a pull. Their skwq_has_sleeper() and the
 * smp_mb() a sleeper executes after queueing itself (afx_io_wait(),
 * sock_poll_wait()) order the index stores against the sleeper checks.
 */

#include <linux/atomic.h>
#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/local_lock.h>
#include <linux/memcontrol.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <kunit/visibility.h>

#include "compat.h"
#include "sbuf.h"

/* One slot always free: the producer never enters the consumer's page. */
static_assert(AFX_SBUF_CAP <= (AFX_SBUF_SLOTS - 1) * PAGE_SIZE);
/* afx_sbuf.write_hint counts KiB in 16 bits. */
static_assert((AFX_SBUF_DIRECT_MAX >> 10) <= U16_MAX);

/*
 * Charged to the writer's memory cgroup; at its limit, or when memory is
 * short, the push fails (-ENOBUFS) rather than invoking the OOM killer.
 */
#define AFX_SBUF_GFP	(GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL | __GFP_NOWARN)

/* struct afx_sbuf_ring: a size of its own, between two kmalloc sizes. */
static struct kmem_cache *afx_sbuf_ring_cache __read_mostly;

/*
 * Pages between buffers (DOC: Stream buffer): per CPU, up to
 * AFX_SBUF_PCP_PAGES pages that buffers gave back, the oldest first to go
 * when a page arrives at a full set. Used in task context only, under
 * @lock; a page given back from an RCU callback goes to the page
 * allocator instead.
 */
struct afx_sbuf_pcp {
	local_lock_t lock;
	unsigned int n;
	struct page *pages[AFX_SBUF_PCP_PAGES];
};

static DEFINE_PER_CPU(struct afx_sbuf_pcp, afx_sbuf_pcp) = {
	.lock = INIT_LOCAL_LOCK(lock),
};

/* The memory cgroup a page allocated here now would be charged to. */
static struct mem_cgroup *afx_sbuf_memcg(void)
{
#ifdef CONFIG_MEMCG
	struct mem_cgroup *memcg = mem_cgroup_from_task(current);

	/* The root (no parent) is charged nothing: its pages carry no memcg. */
	return memcg && parent_mem_cgroup(memcg) ? memcg : NULL;
#else
	return NULL;
#endif
}

/* A page of this CPU's set charged where a new one would be, or NULL. */
static struct page *afx_sbuf_pcp_take(void)
{
	struct page *page = NULL;
	struct afx_sbuf_pcp *pcp;
	struct mem_cgroup *memcg;
	unsigned int i;

	local_lock(&afx_sbuf_pcp.lock);
	pcp = this_cpu_ptr(&afx_sbuf_pcp);
	if (pcp->n) {
		/* The memcgs are compared, not used: RCU keeps them apart. */
		rcu_read_lock();
		memcg = afx_sbuf_memcg();
		for (i = pcp->n; i--; ) {
			if (folio_memcg(page_folio(pcp->pages[i])) != memcg)
				continue;
			page = pcp->pages[i];
			pcp->pages[i] = pcp->pages[--pcp->n];
			break;
		}
		rcu_read_unlock();
	}
	local_unlock(&afx_sbuf_pcp.lock);
	return page;
}

/* Give a page back to this CPU's set, freeing its oldest if it is full. */
static void afx_sbuf_free_page(struct page *page)
{
	struct afx_sbuf_pcp *pcp;
	struct page *old = NULL;

	if (!in_task()) {
		__free_page(page);
		return;
	}
	local_lock(&afx_sbuf_pcp.lock);
	pcp = this_cpu_ptr(&afx_sbuf_pcp);
	if (pcp->n == AFX_SBUF_PCP_PAGES) {
		old = pcp->pages[0];
		memmove(&pcp->pages[0], &pcp->pages[1],
			(AFX_SBUF_PCP_PAGES - 1) * sizeof(pcp->pages[0]));
		pcp->n--;
	}
	pcp->pages[pcp->n++] = page;
	local_unlock(&afx_sbuf_pcp.lock);
	if (old)
		__free_page(old);
}

/* Free the pages of every CPU's set: no buffer is left. */
static void afx_sbuf_pcp_drain(void)
{
	struct afx_sbuf_pcp *pcp;
	int cpu;

	for_each_possible_cpu(cpu) {
		pcp = per_cpu_ptr(&afx_sbuf_pcp, cpu);
		while (pcp->n)
			__free_page(pcp->pages[--pcp->n]);
	}
}

/**
 * afx_sbuf_cache_init() - create the cache of stream buffer rings
 *
 * Return: 0 or -ENOMEM.
 */
int __init afx_sbuf_cache_init(void)
{
	afx_sbuf_ring_cache = KMEM_CACHE(afx_sbuf_ring, SLAB_ACCOUNT);
	return afx_sbuf_ring_cache ? 0 : -ENOMEM;
}

/**
 * afx_sbuf_cache_exit() - destroy it, once every buffer is purged
 */
void afx_sbuf_cache_exit(void)
{
	afx_sbuf_pcp_drain();
	kmem_cache_destroy(afx_sbuf_ring_cache);
}

static unsigned int afx_sbuf_slot(u32 pos)
{
	return (pos >> PAGE_SHIFT) & (AFX_SBUF_SLOTS - 1);
}

/**
 * afx_sbuf_init() - initialise an empty stream buffer
 * @sb: the buffer
 */
void afx_sbuf_init(struct afx_sbuf *sb)
{
	memset(sb, 0, sizeof(*sb));
	spin_lock_init(&sb->dlock);
}
EXPORT_SYMBOL_IF_KUNIT(afx_sbuf_init);

static struct page **afx_sbuf_spare_entry(struct afx_sbuf *sb, u32 n)
{
	return &sb->ring->spares[n & (AFX_SBUF_SPARES - 1)];
}

/* The producer: a page the consumer finished with, or NULL. */
static struct page *afx_sbuf_take_spare(struct afx_sbuf *sb)
{
	u32 out = sb->ring->spare_out;
	struct page *page;

	/* The entry before its count: pairs with afx_sbuf_release_page(). */
	if (smp_load_acquire(&sb->ring->spare_in) == out)
		return NULL;
	page = *afx_sbuf_spare_entry(sb, out);
	/* Done with the entry: pairs with afx_sbuf_release_page(). */
	smp_store_release(&sb->ring->spare_out, out + 1);
	return page;
}

/* The producer's page for the slot of @head, allocated if it starts one. */
static struct page *afx_sbuf_page(struct afx_sbuf *sb, u32 head)
{
	unsigned int slot = afx_sbuf_slot(head);
	struct page *page = sb->ring->slots[slot];

	/*
	 * A page in the slot of a page boundary is one an earlier push
	 * put there and could not fill (a fault): reuse it.
	 */
	if (page)
		return page;
	page = afx_sbuf_take_spare(sb);
	if (!page)
		page = afx_sbuf_pcp_take();
	if (!page)
		page = alloc_page(AFX_SBUF_GFP);
	sb->ring->slots[slot] = page;
	return page;
}

/*
 * The producer: the page pointers, allocated by the first push. Return: 0
 * or -ENOBUFS.
 */
static int afx_sbuf_get_ring(struct afx_sbuf *sb)
{
	struct afx_sbuf_ring *ring;

	if (sb->ring)
		return 0;
	ring = kmem_cache_zalloc(afx_sbuf_ring_cache, AFX_SBUF_GFP);
	if (!ring)
		return -ENOBUFS;
	/* Published by the release of the first @head. */
	sb->ring = ring;
	return 0;
}

/**
 * afx_sbuf_push() - the producer: append bytes from @from
 * @sb: the buffer
 * @from: the source; advanced by what was pushed
 * @len: bytes to push at most; the caller's limit (SO_SNDBUF,
 *	SO_RCVBUF) is applied by passing no more than afx_sbuf_room()
 *
 * May sleep (page allocation, user copy). Producers of one buffer must be
 * serialised by the caller.
 *
 * Return: bytes pushed; 0 if the buffer is full or @len is 0; -EPIPE after
 * afx_sbuf_shutdown(); -EFAULT or -ENOBUFS if nothing could be pushed.
 */
int afx_sbuf_push(struct afx_sbuf *sb, struct iov_iter *from, size_t len)
{
	u32 head = sb->head, tail, off, chunk;
	size_t done = 0, n;
	struct page *page;
	int err = 0;

	if (READ_ONCE(sb->shut))
		return -EPIPE;
	/* The consumer let go of the pages behind @tail: pairs with pull. */
	tail = smp_load_acquire(&sb->tail);
	len = min_t(size_t, len, AFX_SBUF_CAP - (head - tail));
	if (!len)
		return 0;
	if (afx_sbuf_get_ring(sb))
		return -ENOBUFS;

	while (done < len) {
		off = head & ~PAGE_MASK;
		page = afx_sbuf_page(sb, head);
		if (!page) {
			err = -ENOBUFS;
			break;
		}
		chunk = min_t(size_t, len - done, PAGE_SIZE - off);
		n = copy_page_from_iter(page, off, chunk, from);
		done += n;
		head += n;
		/* Bytes and slot before @head: pairs with pull's acquire. */
		smp_store_release(&sb->head, head);
		if (n < chunk) {
			err = -EFAULT;
			break;
		}
	}
	return done ? done : err;
}
EXPORT_SYMBOL_IF_KUNIT(afx_sbuf_push);

/*
 * Write @len bytes from @from at @pos, past @head, without publishing them
 * and without taking page faults. Return: 0, -ENOBUFS or -EFAULT.
 */
static int afx_sbuf_write_at(struct afx_sbuf *sb, u32 pos, struct iov_iter *from,
			     size_t len)
{
	struct page *page;
	size_t chunk, n;
	u32 off;

	while (len) {
		off = pos & ~PAGE_MASK;
		page = afx_sbuf_page(sb, pos);
		if (!page)
			return -ENOBUFS;
		chunk = min_t(size_t, len, PAGE_SIZE - off);
		pagefault_disable();
		n = copy_page_from_iter(page, off, chunk, from);
		pagefault_enable();
		if (n < chunk) {
			iov_iter_revert(from, n);
			return -EFAULT;
		}
		pos += n;
		len -= n;
	}
	return 0;
}

/* Write @len bytes of @buf at @pos, past @head, without publishing them. */
static int afx_sbuf_write_kernel(struct afx_sbuf *sb, u32 pos, const void *buf,
				 u32 len)
{
	struct page *page;
	u32 off, chunk;

	while (len) {
		off = pos & ~PAGE_MASK;
		page = afx_sbuf_page(sb, pos);
		if (!page)
			return -ENOBUFS;
		chunk = min_t(u32, len, PAGE_SIZE - off);
		memcpy_to_page(page, off, buf, chunk);
		buf += chunk;
		pos += chunk;
		len -= chunk;
	}
	return 0;
}

/*
 * A record push failed: free the pages it took for the bytes from @head to
 * @end, except the page @head is in, which the next push fills.
 */
static void afx_sbuf_unwind(struct afx_sbuf *sb, u32 head, u32 end)
{
	unsigned int slot;
	u32 pos;

	for (pos = (head | ~PAGE_MASK) + 1; pos - head < end - head;
	     pos += PAGE_SIZE) {
		slot = afx_sbuf_slot(pos);
		if (sb->ring->slots[slot]) {
			afx_sbuf_free_page(sb->ring->slots[slot]);
			sb->ring->slots[slot] = NULL;
		}
	}
}

/**
 * afx_sbuf_push_record() - the producer: append a record, whole or not at all
 * @sb: the buffer
 * @hdr: header bytes, written first
 * @hlen: their number
 * @from: the payload; advanced by @len on success, left as it was on error
 * @len: payload bytes
 *
 * The record becomes readable with one store of @head, so the consumer
 * sees all of it or nothing. The caller checks the room first. The copy
 * from @from takes no page faults, so that a producer holding a lock other
 * producers wait for never sleeps on one: where it would fault, nothing is
 * published and the caller faults the source in without its lock
 * (fault_in_iov_iter_readable()) and tries again. Pages are allocated as
 * by afx_sbuf_push(). Producers of one buffer must be serialised by the
 * caller.
 *
 * Return: 0; -EPIPE after afx_sbuf_shutdown(); -EMSGSIZE if the record is
 * larger than the space left below AFX_SBUF_CAP; -ENOBUFS; -EFAULT.
 */
int afx_sbuf_push_record(struct afx_sbuf *sb, const void *hdr, u32 hlen,
			 struct iov_iter *from, size_t len)
{
	u32 head = sb->head, tail;
	size_t left;
	int err;

	if (READ_ONCE(sb->shut))
		return -EPIPE;
	/* As push: the consumer let go of the pages behind @tail. */
	tail = smp_load_acquire(&sb->tail);
	if (len > AFX_SBUF_CAP || hlen + len > AFX_SBUF_CAP - (head - tail))
		return -EMSGSIZE;
	if (afx_sbuf_get_ring(sb))
		return -ENOBUFS;
	err = afx_sbuf_write_kernel(sb, head, hdr, hlen);
	if (err) {
		afx_sbuf_unwind(sb, head, head + hlen);
		return err;
	}
	left = iov_iter_count(from);
	err = afx_sbuf_write_at(sb, head + hlen, from, len);
	if (err) {
		/* write_at reverted its last chunk; revert the ones before. */
		iov_iter_revert(from, left - iov_iter_count(from));
		afx_sbuf_unwind(sb, head, head + hlen + (u32)len);
		return err;
	}
	/* As push: bytes and slots before @head, for pull's acquire. */
	smp_store_release(&sb->head, head + hlen + (u32)len);
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(afx_sbuf_push_record);

/* The consumer is done with the page of @slot: keep it for the producer. */
static void afx_sbuf_release_page(struct afx_sbuf *sb, unsigned int slot)
{
	struct page *page = sb->ring->slots[slot];
	u32 in = sb->ring->spare_in;

	sb->ring->slots[slot] = NULL;
	/* The producer let go of the entry: pairs with afx_sbuf_take_spare(). */
	if (in - smp_load_acquire(&sb->ring->spare_out) >= AFX_SBUF_SPARES) {
		afx_sbuf_free_page(page);
		return;
	}
	*afx_sbuf_spare_entry(sb, in) = page;
	/* The entry before its count: pairs with afx_sbuf_take_spare(). */
	smp_store_release(&sb->ring->spare_in, in + 1);
}

/* Copy out from @skip bytes past @tail; consume what is copied unless @peek. */
static int __afx_sbuf_pull(struct afx_sbuf *sb, u32 skip, struct iov_iter *to,
			   size_t len, bool peek)
{
	u32 tail = sb->tail, head, off, chunk, slot;
	size_t done = 0, n;

	/* The bytes below @head are written: pairs with push. */
	head = smp_load_acquire(&sb->head);
	if (skip > head - tail)
		return 0;
	tail += skip;
	len = min_t(size_t, len, head - tail);
	while (done < len) {
		off = tail & ~PAGE_MASK;
		slot = afx_sbuf_slot(tail);
		chunk = min_t(size_t, len - done, PAGE_SIZE - off);
		/*
		 * A copy, never a reference: copy_page_to_iter() would hand
		 * the ring's page itself to a pipe (splice() out of the
		 * socket on kernels before 6.4), which then reads it as a
		 * truncated page cache page (ENODATA), and would see it
		 * rewritten once the ring reuses it. Ring pages are never
		 * highmem (AFX_SBUF_GFP). _copy_to_iter(), as
		 * copy_page_to_iter() calls it for other iterators: the range
		 * lies within one page, so the hardened usercopy check of a
		 * slab object or stack range has nothing to check.
		 */
		n = _copy_to_iter(page_address(sb->ring->slots[slot]) + off,
				  chunk, to);
		done += n;
		tail += n;
		if (!peek) {
			if (!(tail & ~PAGE_MASK) && n)
				afx_sbuf_release_page(sb, slot);
			/* Done with the slot: pairs with push's acquire. */
			smp_store_release(&sb->tail, tail);
		}
		if (n < chunk)
			return done ? done : -EFAULT;
	}
	return done;
}

/**
 * afx_sbuf_pull() - the consumer: copy bytes out to @to
 * @sb: the buffer
 * @to: the destination; advanced by what was copied
 * @len: bytes to copy at most
 * @peek: copy without consuming
 *
 * May sleep (user copy). Consumers of one buffer must be serialised by
 * the caller.
 *
 * Return: bytes copied (consumed unless @peek); 0 if nothing is readable
 * or @len is 0; -EFAULT if nothing could be copied.
 */
int afx_sbuf_pull(struct afx_sbuf *sb, struct iov_iter *to, size_t len,
		  bool peek)
{
	return __afx_sbuf_pull(sb, 0, to, len, peek);
}
EXPORT_SYMBOL_IF_KUNIT(afx_sbuf_pull);

/**
 * afx_sbuf_peek_kernel() - the consumer: copy bytes from an offset to @buf
 * @sb: the buffer
 * @skip: bytes after the oldest readable one to start at
 * @buf: the destination, kernel memory
 * @len: bytes to copy at most
 *
 * For small fixed parts of what is queued (a record's header). Consumers
 * of one buffer must be serialised by the caller.
 *
 * Return: bytes copied, less than @len only if fewer are readable there.
 */
u32 afx_sbuf_peek_kernel(struct afx_sbuf *sb, u32 skip, void *buf, u32 len)
{
	u32 tail = sb->tail, head, off, chunk, done = 0;

	/* As pull: the bytes below @head are written. */
	head = smp_load_acquire(&sb->head);
	if (skip > head - tail)
		return 0;
	tail += skip;
	len = min_t(u32, len, head - tail);
	while (done < len) {
		off = tail & ~PAGE_MASK;
		chunk = min_t(u32, len - done, PAGE_SIZE - off);
		memcpy_from_page(buf + done, sb->ring->slots[afx_sbuf_slot(tail)],
				 off, chunk);
		done += chunk;
		tail += chunk;
	}
	return done;
}
EXPORT_SYMBOL_IF_KUNIT(afx_sbuf_peek_kernel);

/**
 * afx_sbuf_peek_at() - the consumer: copy bytes from an offset, keeping them
 * @sb: the buffer
 * @skip: bytes after the oldest readable one to start at
 * @to: the destination; advanced by what was copied
 * @len: bytes to copy at most
 *
 * May sleep (user copy). Consumers of one buffer must be serialised by
 * the caller.
 *
 * Return: bytes copied; 0 if nothing is readable there or @len is 0;
 * -EFAULT if nothing could be copied.
 */
int afx_sbuf_peek_at(struct afx_sbuf *sb, u32 skip, struct iov_iter *to,
		     size_t len)
{
	return __afx_sbuf_pull(sb, skip, to, len, true);
}
EXPORT_SYMBOL_IF_KUNIT(afx_sbuf_peek_at);

/**
 * afx_sbuf_spare_pages() - pages the buffer keeps for its producer
 * @sb: the buffer
 *
 * Exact when neither side runs; a snapshot otherwise.
 *
 * Return: the page count, at most AFX_SBUF_SPARES.
 */
u32 afx_sbuf_spare_pages(const struct afx_sbuf *sb)
{
	const struct afx_sbuf_ring *ring = READ_ONCE(sb->ring);

	return ring ? READ_ONCE(ring->spare_in) - READ_ONCE(ring->spare_out) : 0;
}
EXPORT_SYMBOL_IF_KUNIT(afx_sbuf_spare_pages);

/**
 * afx_sbuf_shutdown() - refuse further pushes
 * @sb: the buffer
 *
 * What is readable stays readable.
 */
void afx_sbuf_shutdown(struct afx_sbuf *sb)
{
	WRITE_ONCE(sb->shut, true);
}
EXPORT_SYMBOL_IF_KUNIT(afx_sbuf_shutdown);

/**
 * afx_sbuf_consume() - the consumer: drop bytes without copying them
 * @sb: the buffer
 * @len: bytes to drop; no more than are readable are dropped
 *
 * Frees the pages that hold only dropped bytes. Consumers must be
 * serialised by the caller.
 */
void afx_sbuf_consume(struct afx_sbuf *sb, u32 len)
{
	u32 tail = sb->tail, end, next;

	/* As pull: pages below @head are complete. */
	end = smp_load_acquire(&sb->head);
	if (len < end - tail)
		end = tail + len;
	while (tail != end) {
		next = (tail | ~PAGE_MASK) + 1;
		if (next - tail > end - tail) {
			tail = end;
			break;
		}
		tail = next;
		afx_sbuf_release_page(sb, afx_sbuf_slot(tail - 1));
	}
	/* As pull: the slots behind @tail are free for the producer. */
	smp_store_release(&sb->tail, tail);
}
EXPORT_SYMBOL_IF_KUNIT(afx_sbuf_consume);

/**
 * afx_sbuf_discard() - the consumer: drop everything readable
 * @sb: the buffer, shut down
 *
 * Frees the pages that hold only dropped bytes. Consumers must be
 * serialised by the caller.
 */
void afx_sbuf_discard(struct afx_sbuf *sb)
{
	afx_sbuf_consume(sb, U32_MAX);
}
EXPORT_SYMBOL_IF_KUNIT(afx_sbuf_discard);

/**
 * afx_sbuf_purge() - empty a buffer nobody uses any more, freeing its pages
 * @sb: the buffer; no producer or consumer can reach it
 *
 * Its indices stay, so that a lockless reader of afx_sbuf_readable() sees
 * the bytes that were there or none; a later push starts a new ring.
 */
void afx_sbuf_purge(struct afx_sbuf *sb)
{
	struct afx_sbuf_ring *ring = sb->ring;
	unsigned int slot, last;
	struct page *spare;
	u32 pos;

	if (ring) {
		/* Only the slots from @tail's to @head's hold pages. */
		last = afx_sbuf_slot(sb->head);
		for (pos = sb->tail & PAGE_MASK;; pos += PAGE_SIZE) {
			slot = afx_sbuf_slot(pos);
			if (ring->slots[slot])
				afx_sbuf_free_page(ring->slots[slot]);
			if (slot == last)
				break;
		}
		for (; ring->spare_out != ring->spare_in; ring->spare_out++) {
			spare = *afx_sbuf_spare_entry(sb, ring->spare_out);
			afx_sbuf_free_page(spare);
		}
		kmem_cache_free(afx_sbuf_ring_cache, ring);
		sb->ring = NULL;
	}
	WRITE_ONCE(sb->tail, sb->head);
}
EXPORT_SYMBOL_IF_KUNIT(afx_sbuf_purge);

/**
 * __afx_sbuf_push_direct() - the producer: copy into the posted memory
 * @sb: the buffer
 * @from: the source; advanced by what was copied
 * @len: bytes to copy at most
 *
 * Copies only while the ring is empty, one page at a time under @dlock,
 * with page faults disabled. Producers of one buffer must be serialised
 * by the caller.
 *
 * Return: bytes copied: 0 if no memory is posted, the ring holds bytes,
 * the buffer is shut down, or the first byte would fault (push them with
 * afx_sbuf_push(), which may fault).
 */
size_t __afx_sbuf_push_direct(struct afx_sbuf *sb, struct iov_iter *from,
			      size_t len)
{
	struct afx_sbuf_direct *d;
	size_t done = 0, pos, off, chunk, n;
	struct page *page;

	if (!READ_ONCE(sb->direct) || READ_ONCE(sb->shut))
		return 0;
	/* Behind every byte of the ring: only while it is empty. */
	if (sb->head != smp_load_acquire(&sb->tail))
		return 0;
	while (done < len) {
		spin_lock(&sb->dlock);
		d = sb->direct;
		if (!d || d->done == d->len) {
			spin_unlock(&sb->dlock);
			break;
		}
		pos = d->start + d->done;
		off = pos & ~PAGE_MASK;
		page = d->pages[pos >> PAGE_SHIFT];
		chunk = min3(len - done, d->len - d->done, PAGE_SIZE - off);
		pagefault_disable();
		n = copy_page_from_iter(page, off, chunk, from);
		pagefault_enable();
		flush_dcache_page(page);
		/* Read locklessly by afx_sbuf_direct_done(). */
		WRITE_ONCE(d->done, d->done + n);
		spin_unlock(&sb->dlock);
		done += n;
		if (n < chunk)
			break;
	}
	return done;
}
EXPORT_SYMBOL_IF_KUNIT(__afx_sbuf_push_direct);

/**
 * afx_sbuf_hang_direct() - the consumer: post pages it holds
 * @sb: the buffer
 * @d: @pages, @start and @len filled in; no other posting is hung
 *
 * The second half of afx_sbuf_post(), after the pages are pinned.
 */
VISIBLE_IF_KUNIT void afx_sbuf_hang_direct(struct afx_sbuf *sb,
					   struct afx_sbuf_direct *d)
{
	d->done = 0;
	spin_lock(&sb->dlock);
	WRITE_ONCE(sb->direct, d);
	spin_unlock(&sb->dlock);
}
EXPORT_SYMBOL_IF_KUNIT(afx_sbuf_hang_direct);

/**
 * afx_sbuf_take_direct() - the consumer: take a posting back
 * @sb: the buffer
 * @d: the posting afx_sbuf_hang_direct() hung
 *
 * The first half of afx_sbuf_unpost(): after it, the producer no longer
 * writes to the pages of @d.
 *
 * Return: the bytes the producer copied in.
 */
VISIBLE_IF_KUNIT size_t afx_sbuf_take_direct(struct afx_sbuf *sb,
					     struct afx_sbuf_direct *d)
{
	size_t done;

	spin_lock(&sb->dlock);
	WRITE_ONCE(sb->direct, NULL);
	done = d->done;
	spin_unlock(&sb->dlock);
	return done;
}
EXPORT_SYMBOL_IF_KUNIT(afx_sbuf_take_direct);

/*
 * The first user segment of @to: its address, and its length in *@len
 * (no more than *@len). Return: false if @to is not plain user memory.
 */
static bool afx_sbuf_user_segment(const struct iov_iter *to,
				  unsigned long *addr, size_t *len)
{
	struct iovec iov;

	if (iter_is_ubuf(to)) {
		*addr = (unsigned long)to->ubuf + to->iov_offset;
		*len = min(*len, iov_iter_count(to));
	} else if (iter_is_iovec(to)) {
		iov = afx_iov_iter_iovec(to);
		*addr = (unsigned long)iov.iov_base;
		*len = min(*len, iov.iov_len);
	} else {
		return false;
	}
	return *len;
}

/**
 * __afx_sbuf_post() - the consumer: offer its memory for a direct copy
 * @sb: the buffer, found empty by the consumer
 * @d: the posting, in the caller's frame until afx_sbuf_unpost()
 * @to: the consumer's destination; not advanced
 * @len: bytes the consumer still wants
 *
 * Posts only user memory, only while the producer's last write was
 * large, and no more than that write or the first segment of @to. The
 * pages are pinned (FOLL_PIN), so that a fork() while they are posted
 * leaves them with the consumer. Consumers of one buffer must be
 * serialised by the caller.
 *
 * Return: 0 if posted (afx_sbuf_unpost() must follow); -EAGAIN if not
 * worth it; -EFAULT or -ENOMEM if the pages could not be had.
 */
int __afx_sbuf_post(struct afx_sbuf *sb, struct afx_sbuf_direct *d,
		    const struct iov_iter *to, size_t len)
{
	size_t want = (size_t)READ_ONCE(sb->write_hint) << 10;
	unsigned long addr;
	unsigned int nr;
	int pinned;

	len = min(len, want);
	if (len < AFX_SBUF_DIRECT_MIN || READ_ONCE(sb->direct) ||
	    !afx_sbuf_user_segment(to, &addr, &len) ||
	    len < AFX_SBUF_DIRECT_MIN)
		return -EAGAIN;
	d->start = addr & ~PAGE_MASK;
	nr = DIV_ROUND_UP(d->start + len, PAGE_SIZE);
	d->pages = kvmalloc_array(nr, sizeof(*d->pages), GFP_KERNEL);
	if (!d->pages)
		return -ENOMEM;
	pinned = pin_user_pages_fast(addr & PAGE_MASK, nr, FOLL_WRITE,
				     d->pages);
	if (pinned <= 0) {
		kvfree(d->pages);
		return pinned ? pinned : -EFAULT;
	}
	d->len = min_t(size_t, len, pinned * PAGE_SIZE - d->start);
	afx_sbuf_hang_direct(sb, d);
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(__afx_sbuf_post);

/**
 * afx_sbuf_unpost() - the consumer: take its posted memory back
 * @sb: the buffer
 * @d: what afx_sbuf_post() posted
 * @to: the consumer's destination; advanced by the bytes copied into it
 *
 * Return: the bytes the producer copied in, which the consumer has now
 * received, ahead of anything in the ring.
 */
size_t afx_sbuf_unpost(struct afx_sbuf *sb, struct afx_sbuf_direct *d,
		       struct iov_iter *to)
{
	unsigned int nr = DIV_ROUND_UP(d->start + d->len, PAGE_SIZE);
	unsigned int written;
	size_t done;

	done = afx_sbuf_take_direct(sb, d);
	/* Written through the kernel's mapping: the PTEs do not say so. */
	written = done ? DIV_ROUND_UP(d->start + done, PAGE_SIZE) : 0;
	unpin_user_pages_dirty_lock(d->pages, written, true);
	unpin_user_pages(d->pages + written, nr - written);
	kvfree(d->pages);
	iov_iter_advance(to, done);
	return done;
}
EXPORT_SYMBOL_IF_KUNIT(afx_sbuf_unpost);

/**
 * afx_sbuf_direct_done() - bytes copied into the posted memory so far
 * @sb: the buffer
 *
 * For the wait condition of the consumer that posted.
 *
 * Return: the byte count; 0 when nothing is posted.
 */
size_t afx_sbuf_direct_done(const struct afx_sbuf *sb)
{
	const struct afx_sbuf_direct *d = READ_ONCE(sb->direct);

	/* Only the consumer that posted @d asks: @d is in its own frame. */
	return d ? READ_ONCE(d->done) : 0;
}
EXPORT_SYMBOL_IF_KUNIT(afx_sbuf_direct_done);
