// SPDX-License-Identifier: GPL-2.0
/*
 * afx: KUnit suite for sbuf.c, the stream buffer, through its interface
 * only: order, peeking, the limit and the capacity, laps of the ring,
 * records, shutdown, discard, purge, the pages kept for reuse, direct
 * copies into a consumer's posting, and a producer and a consumer on two
 * CPUs.
 */

#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/kthread.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uio.h>

#include "afx_kunit.h"

static int ks_push(struct afx_sbuf *sb, const void *buf, size_t len)
{
	struct kvec kv = { .iov_base = (void *)buf, .iov_len = len };
	struct iov_iter it;

	iov_iter_kvec(&it, ITER_SOURCE, &kv, 1, len);
	return afx_sbuf_push(sb, &it, len);
}

static int ks_pull(struct afx_sbuf *sb, void *buf, size_t len, bool peek)
{
	struct kvec kv = { .iov_base = buf, .iov_len = len };
	struct iov_iter it;

	iov_iter_kvec(&it, ITER_DEST, &kv, 1, len);
	return afx_sbuf_pull(sb, &it, len, peek);
}

/* Byte @pos of the test stream: not periodic in any power of two. */
static u8 ks_byte(u64 pos)
{
	return (u8)(pos % 251);
}

static void ks_fill(u8 *buf, u64 pos, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = ks_byte(pos + i);
}

/* The index of the first byte of @buf that is not the stream's, or -1. */
static long ks_check(const u8 *buf, u64 pos, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (buf[i] != ks_byte(pos + i))
			return i;
	return -1;
}

static struct afx_sbuf *ks_sbuf(struct kunit *test)
{
	struct afx_sbuf *sb = kunit_kzalloc(test, sizeof(*sb), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, sb);
	afx_sbuf_init(sb);
	return sb;
}

static void sbuf_order_and_peek(struct kunit *test)
{
	struct afx_sbuf *sb = ks_sbuf(test);
	const size_t size = 3 * PAGE_SIZE + 123;
	u8 *in = kunit_kmalloc(test, size, GFP_KERNEL);
	u8 *out = kunit_kzalloc(test, size, GFP_KERNEL);
	size_t got = 0;
	int n;

	KUNIT_ASSERT_NOT_NULL(test, in);
	KUNIT_ASSERT_NOT_NULL(test, out);
	ks_fill(in, 0, size);
	KUNIT_EXPECT_EQ(test, afx_sbuf_readable(sb), 0U);
	KUNIT_EXPECT_EQ(test, ks_pull(sb, out, size, false), 0);

	/* Writes of 1 byte, part of a page, and across page boundaries. */
	KUNIT_ASSERT_EQ(test, ks_push(sb, in, 1), 1);
	KUNIT_ASSERT_EQ(test, ks_push(sb, in + 1, 99), 99);
	KUNIT_ASSERT_EQ(test, ks_push(sb, in + 100, 2 * PAGE_SIZE),
			(int)(2 * PAGE_SIZE));
	KUNIT_ASSERT_EQ(test, ks_push(sb, in + 100 + 2 * PAGE_SIZE,
				      size - 100 - 2 * PAGE_SIZE),
			(int)(size - 100 - 2 * PAGE_SIZE));
	KUNIT_EXPECT_EQ(test, afx_sbuf_readable(sb), (u32)size);

	/* A peek copies without consuming, from the same place each time. */
	KUNIT_ASSERT_EQ(test, ks_pull(sb, out, size, true), (int)size);
	KUNIT_EXPECT_EQ(test, ks_check(out, 0, size), -1L);
	KUNIT_ASSERT_EQ(test, ks_pull(sb, out, 10, true), 10);
	KUNIT_EXPECT_EQ(test, ks_check(out, 0, 10), -1L);
	KUNIT_EXPECT_EQ(test, afx_sbuf_readable(sb), (u32)size);

	/* Reads that cut pages in odd places see every byte once. */
	while (got < size) {
		n = ks_pull(sb, out + got, min_t(size_t, 777, size - got),
			    false);
		KUNIT_ASSERT_GT(test, n, 0);
		got += n;
		KUNIT_EXPECT_EQ(test, afx_sbuf_readable(sb), (u32)(size - got));
		if (got == 1554) {
			/* A peek after reads starts where they stopped. */
			KUNIT_ASSERT_EQ(test, ks_pull(sb, out + got, 5, true), 5);
			KUNIT_EXPECT_EQ(test, ks_check(out + got, got, 5), -1L);
		}
	}
	KUNIT_EXPECT_EQ(test, ks_check(out, 0, size), -1L);
	KUNIT_EXPECT_EQ(test, ks_pull(sb, out, size, false), 0);
	afx_sbuf_purge(sb);
}

static void sbuf_limit_and_room(struct kunit *test)
{
	struct afx_sbuf *sb = ks_sbuf(test);
	const size_t size = 64 * 1024;
	u8 *buf = kunit_kzalloc(test, size, GFP_KERNEL);
	u32 room, filled = 0;
	int n;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_EXPECT_EQ(test, afx_sbuf_room(sb, 5000), 5000U);
	KUNIT_EXPECT_EQ(test, afx_sbuf_room(sb, U32_MAX), AFX_SBUF_CAP);
	KUNIT_ASSERT_EQ(test, ks_push(sb, buf, 3000), 3000);
	KUNIT_EXPECT_EQ(test, afx_sbuf_room(sb, 5000), 2000U);
	KUNIT_EXPECT_EQ(test, afx_sbuf_room(sb, 2000), 0U);
	KUNIT_EXPECT_EQ(test, afx_sbuf_room(sb, 1000), 0U);

	/* The capacity holds whatever the caller asks for. */
	room = afx_sbuf_room(sb, U32_MAX);
	KUNIT_EXPECT_EQ(test, room, AFX_SBUF_CAP - 3000);
	while ((n = ks_push(sb, buf, size)) > 0)
		filled += n;
	KUNIT_EXPECT_EQ(test, n, 0);
	KUNIT_EXPECT_EQ(test, filled, room);
	KUNIT_EXPECT_EQ(test, afx_sbuf_readable(sb), AFX_SBUF_CAP);
	KUNIT_EXPECT_EQ(test, afx_sbuf_room(sb, U32_MAX), 0U);
	KUNIT_EXPECT_EQ(test, ks_push(sb, buf, 1), 0);
	KUNIT_EXPECT_EQ(test, ks_pull(sb, buf, 1, false), 1);
	KUNIT_EXPECT_EQ(test, afx_sbuf_room(sb, U32_MAX), 1U);
	KUNIT_EXPECT_EQ(test, ks_push(sb, buf, 2), 1);
	afx_sbuf_purge(sb);
}

/*
 * What the producer finds readable from before its push: the reader may
 * have read into the bytes the push added (it publishes page by page),
 * and then nothing from before is left.
 */
static void sbuf_readable_before(struct kunit *test)
{
	struct afx_sbuf *sb = ks_sbuf(test);
	u8 *buf = kunit_kzalloc(test, 2 * PAGE_SIZE, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_ASSERT_EQ(test, ks_push(sb, buf, 10), 10);
	KUNIT_EXPECT_EQ(test, afx_sbuf_readable_before(sb, 10), 0U);
	KUNIT_ASSERT_EQ(test, ks_push(sb, buf, 5), 5);
	KUNIT_EXPECT_EQ(test, afx_sbuf_readable_before(sb, 5), 10U);
	KUNIT_ASSERT_EQ(test, ks_pull(sb, buf, 4, false), 4);
	KUNIT_EXPECT_EQ(test, afx_sbuf_readable_before(sb, 5), 6U);
	KUNIT_ASSERT_EQ(test, ks_pull(sb, buf, 8, false), 8);
	KUNIT_EXPECT_EQ(test, afx_sbuf_readable_before(sb, 5), 0U);
	KUNIT_ASSERT_EQ(test, ks_push(sb, buf, 2 * PAGE_SIZE),
			(int)(2 * PAGE_SIZE));
	KUNIT_ASSERT_EQ(test, ks_pull(sb, buf, PAGE_SIZE, false),
			(int)PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, afx_sbuf_readable_before(sb, 2 * PAGE_SIZE), 0U);
	afx_sbuf_purge(sb);
}

/* Many laps of the ring with the buffer kept part full: nothing is lost. */
/* Byte numbers: the producer's count of bytes pushed, the consumer's pulled. */
static void sbuf_byte_numbers(struct kunit *test)
{
	struct afx_sbuf *sb = ks_sbuf(test);
	u8 *buf = kunit_kzalloc(test, 2 * PAGE_SIZE, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_EXPECT_EQ(test, afx_sbuf_pushed(sb), 0U);
	KUNIT_EXPECT_EQ(test, afx_sbuf_pulled(sb), 0U);
	KUNIT_ASSERT_EQ(test, ks_push(sb, buf, 10), 10);
	KUNIT_EXPECT_EQ(test, afx_sbuf_pushed(sb), 10U);
	KUNIT_ASSERT_EQ(test, ks_pull(sb, buf, 4, true), 4);
	KUNIT_EXPECT_EQ(test, afx_sbuf_pulled(sb), 0U);
	KUNIT_ASSERT_EQ(test, ks_pull(sb, buf, 4, false), 4);
	KUNIT_EXPECT_EQ(test, afx_sbuf_pulled(sb), 4U);
	KUNIT_ASSERT_EQ(test, ks_push(sb, buf, 2 * PAGE_SIZE),
			(int)(2 * PAGE_SIZE));
	KUNIT_EXPECT_EQ(test, afx_sbuf_pushed(sb), (u32)(10 + 2 * PAGE_SIZE));
	KUNIT_EXPECT_EQ(test, afx_sbuf_pushed(sb) - afx_sbuf_pulled(sb),
			afx_sbuf_readable(sb));
	afx_sbuf_purge(sb);
}

static void sbuf_laps(struct kunit *test)
{
	struct afx_sbuf *sb = ks_sbuf(test);
	const size_t chunk = 3 * PAGE_SIZE + 17;
	const u64 total = 8ULL * AFX_SBUF_CAP + 1234;
	u8 *buf = kunit_kmalloc(test, chunk, GFP_KERNEL);
	u64 in = 0, out = 0;
	int n;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	while (out < total) {
		while (in < total && afx_sbuf_room(sb, U32_MAX)) {
			n = min_t(u64, chunk, total - in);
			ks_fill(buf, in, n);
			n = ks_push(sb, buf, n);
			KUNIT_ASSERT_GT(test, n, 0);
			in += n;
		}
		/* Read less than was written: the reader trails by pages. */
		n = ks_pull(sb, buf, chunk - 1000, false);
		KUNIT_ASSERT_GT(test, n, 0);
		KUNIT_ASSERT_EQ(test, ks_check(buf, out, n), -1L);
		out += n;
		KUNIT_ASSERT_EQ(test, (u64)afx_sbuf_readable(sb), in - out);
	}
	KUNIT_EXPECT_EQ(test, in, out);
	afx_sbuf_purge(sb);
}

static void sbuf_shutdown_and_discard(struct kunit *test)
{
	struct afx_sbuf *sb = ks_sbuf(test);
	u8 buf[64];

	ks_fill(buf, 0, sizeof(buf));
	KUNIT_ASSERT_EQ(test, ks_push(sb, buf, 40), 40);
	afx_sbuf_shutdown(sb);
	/* Refused, even when empty-handed; queued bytes stay readable. */
	KUNIT_EXPECT_EQ(test, ks_push(sb, buf, 1), -EPIPE);
	KUNIT_EXPECT_EQ(test, ks_push(sb, buf, 0), -EPIPE);
	KUNIT_EXPECT_EQ(test, afx_sbuf_readable(sb), 40U);
	KUNIT_ASSERT_EQ(test, ks_pull(sb, buf, 10, false), 10);
	KUNIT_EXPECT_EQ(test, ks_check(buf, 0, 10), -1L);
	afx_sbuf_discard(sb);
	KUNIT_EXPECT_EQ(test, afx_sbuf_readable(sb), 0U);
	KUNIT_EXPECT_EQ(test, ks_pull(sb, buf, sizeof(buf), false), 0);
	afx_sbuf_purge(sb);
}

/* Discarding pages' worth, from the middle of a page, leaves it empty. */
static void sbuf_discard_pages(struct kunit *test)
{
	struct afx_sbuf *sb = ks_sbuf(test);
	const size_t size = 5 * PAGE_SIZE + 10;
	u8 *buf = kunit_kzalloc(test, size, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_ASSERT_EQ(test, ks_push(sb, buf, size), (int)size);
	KUNIT_ASSERT_EQ(test, ks_pull(sb, buf, 100, false), 100);
	afx_sbuf_discard(sb);
	KUNIT_EXPECT_EQ(test, afx_sbuf_readable(sb), 0U);
	KUNIT_EXPECT_EQ(test, afx_sbuf_room(sb, U32_MAX), AFX_SBUF_CAP);
	/* Not shut down: the buffer goes on from where it was. */
	ks_fill(buf, 0, 50);
	KUNIT_ASSERT_EQ(test, ks_push(sb, buf, 50), 50);
	KUNIT_ASSERT_EQ(test, ks_pull(sb, buf + 100, 50, false), 50);
	KUNIT_EXPECT_EQ(test, ks_check(buf + 100, 0, 50), -1L);
	afx_sbuf_purge(sb);
}

/* Purge frees what is queued; the buffer is as new after it. */
static void sbuf_purge(struct kunit *test)
{
	struct afx_sbuf *sb = ks_sbuf(test);
	u8 *buf = kunit_kzalloc(test, 3 * PAGE_SIZE, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_ASSERT_EQ(test, ks_push(sb, buf, 3 * PAGE_SIZE),
			(int)(3 * PAGE_SIZE));
	KUNIT_ASSERT_EQ(test, ks_pull(sb, buf, PAGE_SIZE + 1, false),
			(int)(PAGE_SIZE + 1));
	afx_sbuf_purge(sb);
	KUNIT_EXPECT_EQ(test, afx_sbuf_readable(sb), 0U);
	ks_fill(buf, 0, 10);
	KUNIT_ASSERT_EQ(test, ks_push(sb, buf, 10), 10);
	KUNIT_ASSERT_EQ(test, ks_pull(sb, buf + 20, 10, false), 10);
	KUNIT_EXPECT_EQ(test, ks_check(buf + 20, 0, 10), -1L);
	afx_sbuf_purge(sb);
	/* Purging an empty or never used buffer is fine too. */
	afx_sbuf_purge(sb);
}

/*
 * Pages the consumer finishes are kept, up to AFX_SBUF_SPARES, and the
 * producer's next pages are those: steady streaming allocates nothing.
 */
static void sbuf_spares(struct kunit *test)
{
	struct afx_sbuf *sb = ks_sbuf(test);
	const size_t size = (AFX_SBUF_SPARES + 4) * PAGE_SIZE;
	u8 *buf = kunit_kzalloc(test, size, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_EXPECT_EQ(test, afx_sbuf_spare_pages(sb), 0U);
	ks_fill(buf, 0, size);
	KUNIT_ASSERT_EQ(test, ks_push(sb, buf, size), (int)size);
	KUNIT_EXPECT_EQ(test, afx_sbuf_spare_pages(sb), 0U);
	/* A peek finishes no page. */
	KUNIT_ASSERT_EQ(test, ks_pull(sb, buf, size, true), (int)size);
	KUNIT_EXPECT_EQ(test, afx_sbuf_spare_pages(sb), 0U);
	/* 20 pages read: 16 kept, the other 4 freed. */
	KUNIT_ASSERT_EQ(test, ks_pull(sb, buf, size, false), (int)size);
	KUNIT_EXPECT_EQ(test, ks_check(buf, 0, size), -1L);
	KUNIT_EXPECT_EQ(test, afx_sbuf_spare_pages(sb), (u32)AFX_SBUF_SPARES);
	/* The next 8 pages written are 8 of those, ... */
	ks_fill(buf, size, 8 * PAGE_SIZE);
	KUNIT_ASSERT_EQ(test, ks_push(sb, buf, 8 * PAGE_SIZE),
			(int)(8 * PAGE_SIZE));
	KUNIT_EXPECT_EQ(test, afx_sbuf_spare_pages(sb),
			(u32)AFX_SBUF_SPARES - 8);
	/* ... which come back when read, with the right bytes in them. */
	KUNIT_ASSERT_EQ(test, ks_pull(sb, buf, 8 * PAGE_SIZE, false),
			(int)(8 * PAGE_SIZE));
	KUNIT_EXPECT_EQ(test, ks_check(buf, size, 8 * PAGE_SIZE), -1L);
	KUNIT_EXPECT_EQ(test, afx_sbuf_spare_pages(sb), (u32)AFX_SBUF_SPARES);
	/* Purge frees them too (kmemleak on the debug kernel checks it). */
	afx_sbuf_purge(sb);
	KUNIT_EXPECT_EQ(test, afx_sbuf_spare_pages(sb), 0U);
}

/**
 * struct ks_race - a producer and a consumer of one buffer on two CPUs
 * @sb: the buffer
 * @total: bytes to move
 * @bad: the consumer saw a wrong byte at this position (U64_MAX if not)
 * @pulled: bytes the consumer got
 * @stop: the consumer gave up; the producer stops too
 * @produced: the producer is done, or gave up
 * @done: completed by each thread as it ends
 * @pbuf: the producer's buffer
 * @cbuf: the consumer's buffer
 */
struct ks_race {
	struct afx_sbuf sb;
	u64 total;
	u64 bad;
	u64 pulled;
	bool stop;
	bool produced;
	struct completion done;
	u8 pbuf[700];
	u8 cbuf[1000];
};

static int ks_producer(void *arg)
{
	struct ks_race *r = arg;
	u8 *buf = r->pbuf;
	u64 pos = 0;
	size_t len = 1;
	int n;

	while (pos < r->total && !READ_ONCE(r->stop)) {
		len = len % sizeof(r->pbuf) + 1 + (pos & 63);
		len = min_t(u64, min_t(size_t, len, sizeof(r->pbuf)),
			    r->total - pos);
		ks_fill(buf, pos, len);
		n = ks_push(&r->sb, buf, len);
		if (n < 0)
			break;
		if (!n)
			cond_resched();
		pos += n;
	}
	WRITE_ONCE(r->produced, true);
	complete(&r->done);
	return 0;
}

static int ks_consumer(void *arg)
{
	struct ks_race *r = arg;
	unsigned long deadline = jiffies + 120 * HZ;
	u8 *buf = r->cbuf;
	size_t len = 1;
	long at;
	int n;

	while (r->pulled < r->total) {
		if (time_after(jiffies, deadline))
			break;
		len = len * 7 % sizeof(r->cbuf) + 1;
		n = ks_pull(&r->sb, buf, len, false);
		if (n < 0)
			break;
		if (!n) {
			/* The producer gave up early: nothing more comes. */
			if (READ_ONCE(r->produced) && !afx_sbuf_readable(&r->sb))
				break;
			cond_resched();
			continue;
		}
		at = ks_check(buf, r->pulled, n);
		if (at >= 0) {
			r->bad = r->pulled + at;
			break;
		}
		r->pulled += n;
	}
	WRITE_ONCE(r->stop, true);
	complete(&r->done);
	return 0;
}

static void sbuf_two_cpus(struct kunit *test)
{
	struct ks_race *r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	struct task_struct *prod, *cons;
	int cpu0, cpu1;

	KUNIT_ASSERT_NOT_NULL(test, r);
	if (num_online_cpus() < 2)
		kunit_skip(test, "needs two online CPUs, has %u",
			   num_online_cpus());
	cpu0 = cpumask_first(cpu_online_mask);
	cpu1 = cpumask_next(cpu0, cpu_online_mask);

	afx_sbuf_init(&r->sb);
	r->total = 16ULL * AFX_SBUF_CAP;
	r->bad = U64_MAX;
	init_completion(&r->done);
	prod = kthread_create(ks_producer, r, "afx-ks-prod");
	KUNIT_ASSERT_FALSE(test, IS_ERR(prod));
	cons = kthread_create(ks_consumer, r, "afx-ks-cons");
	if (IS_ERR(cons)) {
		WRITE_ONCE(r->stop, true);
		wake_up_process(prod);
		wait_for_completion(&r->done);
		KUNIT_FAIL(test, "no consumer thread");
		return;
	}
	kthread_bind(prod, cpu0);
	kthread_bind(cons, cpu1);
	wake_up_process(prod);
	wake_up_process(cons);
	wait_for_completion(&r->done);
	wait_for_completion(&r->done);

	KUNIT_EXPECT_EQ(test, r->bad, U64_MAX);
	KUNIT_EXPECT_EQ(test, r->pulled, r->total);
	KUNIT_EXPECT_EQ(test, afx_sbuf_readable(&r->sb), 0U);
	afx_sbuf_purge(&r->sb);
}

/* Records: whole or nothing, read at offsets, consumed across pages. */
static void sbuf_records(struct kunit *test)
{
	struct afx_sbuf *sb = ks_sbuf(test);
	const size_t big = PAGE_SIZE + 100;
	u8 *in = kunit_kmalloc(test, big, GFP_KERNEL);
	u8 *out = kunit_kzalloc(test, big, GFP_KERNEL);
	struct iovec iov = { .iov_base = (void __user *)1, .iov_len = 64 };
	u32 hdr = 0xabcd1234, h = 0;
	struct kvec kv;
	struct iov_iter it;
	int i;

	KUNIT_ASSERT_NOT_NULL(test, in);
	KUNIT_ASSERT_NOT_NULL(test, out);
	ks_fill(in, 0, big);
	/* Push records until one straddles a page boundary. */
	for (i = 0; i < 3; i++) {
		kv.iov_base = in;
		kv.iov_len = big;
		iov_iter_kvec(&it, ITER_SOURCE, &kv, 1, big);
		KUNIT_ASSERT_EQ(test, afx_sbuf_push_record(sb, &hdr, sizeof(hdr),
							   &it, big), 0);
		KUNIT_EXPECT_EQ(test, iov_iter_count(&it), (size_t)0);
	}
	KUNIT_EXPECT_EQ(test, afx_sbuf_readable(sb), 3 * (sizeof(hdr) + big));

	/* A source that faults publishes nothing and is left as it was. */
	iov_iter_init(&it, ITER_SOURCE, &iov, 1, 64);
	KUNIT_EXPECT_EQ(test, afx_sbuf_push_record(sb, &hdr, sizeof(hdr), &it,
						   64), -EFAULT);
	KUNIT_EXPECT_EQ(test, iov_iter_count(&it), (size_t)64);
	KUNIT_EXPECT_EQ(test, afx_sbuf_readable(sb), 3 * (sizeof(hdr) + big));

	for (i = 0; i < 3; i++) {
		kv.iov_base = &h;
		kv.iov_len = sizeof(h);
		iov_iter_kvec(&it, ITER_DEST, &kv, 1, sizeof(h));
		KUNIT_ASSERT_EQ(test, afx_sbuf_peek_at(sb, 0, &it, sizeof(h)),
				(int)sizeof(h));
		KUNIT_EXPECT_EQ(test, h, hdr);
		memset(out, 0, big);
		kv.iov_base = out;
		kv.iov_len = big;
		iov_iter_kvec(&it, ITER_DEST, &kv, 1, big);
		KUNIT_ASSERT_EQ(test, afx_sbuf_peek_at(sb, sizeof(h), &it, big),
				(int)big);
		KUNIT_EXPECT_EQ(test, ks_check(out, 0, big), -1L);
		afx_sbuf_consume(sb, sizeof(h) + big);
		KUNIT_EXPECT_EQ(test, afx_sbuf_readable(sb),
				(2 - i) * (sizeof(hdr) + big));
	}
	/* Past the end: nothing. */
	iov_iter_kvec(&it, ITER_DEST, &kv, 1, big);
	KUNIT_EXPECT_EQ(test, afx_sbuf_peek_at(sb, 1, &it, big), 0);

	/* A record larger than the capacity left is refused whole. */
	kv.iov_base = in;
	kv.iov_len = big;
	iov_iter_kvec(&it, ITER_SOURCE, &kv, 1, big);
	KUNIT_EXPECT_EQ(test, afx_sbuf_push_record(sb, &hdr, sizeof(hdr), &it,
						   AFX_SBUF_CAP), -EMSGSIZE);
	afx_sbuf_shutdown(sb);
	KUNIT_EXPECT_EQ(test, afx_sbuf_push_record(sb, &hdr, sizeof(hdr), &it,
						   big), -EPIPE);
	KUNIT_EXPECT_EQ(test, afx_sbuf_readable(sb), 0U);
	afx_sbuf_purge(sb);
}

/* A record header that straddles two pages reads back whole. */
static void sbuf_record_header_straddles(struct kunit *test)
{
	struct afx_sbuf *sb = ks_sbuf(test);
	const size_t first = PAGE_SIZE - 8 - 3;
	u8 *in = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);
	u64 hdr = 0x0102030405060708ULL, h = 0;
	struct kvec kv;
	struct iov_iter it;

	KUNIT_ASSERT_NOT_NULL(test, in);
	kv.iov_base = in;
	kv.iov_len = first;
	iov_iter_kvec(&it, ITER_SOURCE, &kv, 1, first);
	KUNIT_ASSERT_EQ(test, afx_sbuf_push_record(sb, &hdr, sizeof(hdr), &it,
						   first), 0);
	/* The second header starts 3 bytes before the end of page 0. */
	hdr = 0x1122334455667788ULL;
	kv.iov_len = 10;
	iov_iter_kvec(&it, ITER_SOURCE, &kv, 1, 10);
	KUNIT_ASSERT_EQ(test, afx_sbuf_push_record(sb, &hdr, sizeof(hdr), &it,
						   10), 0);
	afx_sbuf_consume(sb, sizeof(hdr) + first);
	KUNIT_EXPECT_EQ(test, afx_sbuf_peek_kernel(sb, 0, &h, sizeof(h)),
			(u32)sizeof(h));
	KUNIT_EXPECT_EQ(test, h, hdr);
	/* Short where fewer bytes are readable. */
	KUNIT_EXPECT_EQ(test, afx_sbuf_peek_kernel(sb, 12, &h, sizeof(h)), 6U);
	KUNIT_EXPECT_EQ(test, afx_sbuf_peek_kernel(sb, 19, &h, sizeof(h)), 0U);
	afx_sbuf_purge(sb);
}

static size_t ks_push_direct(struct afx_sbuf *sb, u64 pos, size_t len)
{
	u8 *buf = kmalloc(len, GFP_KERNEL);
	struct kvec kv = { .iov_base = buf, .iov_len = len };
	struct iov_iter it;
	size_t n;

	if (!buf)
		return 0;
	ks_fill(buf, pos, len);
	iov_iter_kvec(&it, ITER_SOURCE, &kv, 1, len);
	n = afx_sbuf_push_direct(sb, &it, len);
	kfree(buf);
	return n;
}

/*
 * Direct copies: into a posting only, in order from its start, no more
 * than it holds, only while the ring is empty and not shut down; taking
 * it back reports what was copied and stops the producer.
 */
static void sbuf_direct(struct kunit *test)
{
	struct afx_sbuf *sb = ks_sbuf(test);
	struct page *pages[3] = {};
	struct afx_sbuf_direct d = {
		.pages = pages, .start = 100, .len = 2 * PAGE_SIZE,
	};
	const size_t total = 2 * PAGE_SIZE;
	u8 *out = kunit_kzalloc(test, total, GFP_KERNEL);
	u8 ring[10];
	size_t off, chunk, i;

	KUNIT_ASSERT_NOT_NULL(test, out);
	for (i = 0; i < ARRAY_SIZE(pages); i++) {
		pages[i] = alloc_page(GFP_KERNEL | __GFP_ZERO);
		KUNIT_ASSERT_NOT_NULL(test, pages[i]);
	}

	/* Nothing posted: nothing goes direct. */
	KUNIT_EXPECT_EQ(test, ks_push_direct(sb, 0, 5000), 0);

	afx_sbuf_hang_direct(sb, &d);
	KUNIT_EXPECT_EQ(test, ks_push_direct(sb, 0, 5000), 5000);
	KUNIT_EXPECT_EQ(test, afx_sbuf_direct_done(sb), 5000);
	/* Only what the posting holds, then nothing more. */
	KUNIT_EXPECT_EQ(test, ks_push_direct(sb, 5000, 10000), total - 5000);
	KUNIT_EXPECT_EQ(test, ks_push_direct(sb, total, 10), 0);
	KUNIT_EXPECT_EQ(test, afx_sbuf_take_direct(sb, &d), total);
	KUNIT_EXPECT_EQ(test, afx_sbuf_direct_done(sb), 0);
	for (off = 0; off < total; off += chunk) {
		chunk = min_t(size_t, total - off,
			      PAGE_SIZE - (d.start + off) % PAGE_SIZE);
		memcpy_from_page(out + off, pages[(d.start + off) / PAGE_SIZE],
				 (d.start + off) % PAGE_SIZE, chunk);
	}
	KUNIT_EXPECT_EQ(test, ks_check(out, 0, total), -1);
	/* Taken back: the producer no longer writes there. */
	KUNIT_EXPECT_EQ(test, ks_push_direct(sb, 0, 10), 0);

	/* Bytes in the ring come first: no direct copy behind them. */
	ks_fill(ring, 0, sizeof(ring));
	KUNIT_ASSERT_EQ(test, ks_push(sb, ring, sizeof(ring)), sizeof(ring));
	afx_sbuf_hang_direct(sb, &d);
	KUNIT_EXPECT_EQ(test, ks_push_direct(sb, 0, 10), 0);
	KUNIT_ASSERT_EQ(test, ks_pull(sb, ring, sizeof(ring), false),
			sizeof(ring));
	KUNIT_EXPECT_EQ(test, ks_push_direct(sb, 0, 10), 10);

	/* Shut down: nothing more goes direct either. */
	afx_sbuf_shutdown(sb);
	KUNIT_EXPECT_EQ(test, ks_push_direct(sb, 10, 10), 0);
	KUNIT_EXPECT_EQ(test, afx_sbuf_take_direct(sb, &d), 10);

	afx_sbuf_purge(sb);
	for (i = 0; i < ARRAY_SIZE(pages); i++)
		__free_page(pages[i]);
}

static struct kunit_case afx_sbuf_cases[] = {
	KUNIT_CASE(sbuf_record_header_straddles),
	KUNIT_CASE(sbuf_records),
	KUNIT_CASE(sbuf_order_and_peek),
	KUNIT_CASE(sbuf_limit_and_room),
	KUNIT_CASE(sbuf_readable_before),
	KUNIT_CASE(sbuf_laps),
	KUNIT_CASE(sbuf_byte_numbers),
	KUNIT_CASE(sbuf_shutdown_and_discard),
	KUNIT_CASE(sbuf_discard_pages),
	KUNIT_CASE(sbuf_purge),
	KUNIT_CASE(sbuf_spares),
	KUNIT_CASE(sbuf_direct),
	KUNIT_CASE(sbuf_two_cpus),
	{}
};

static struct kunit_suite afx_sbuf_suite = {
	.name = "afx_sbuf",
	.test_cases = afx_sbuf_cases,
};

kunit_test_suite(afx_sbuf_suite);
