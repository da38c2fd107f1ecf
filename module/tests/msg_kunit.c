// SPDX-License-Identifier: GPL-2.0
/*
 * afx: KUnit suite for msg.c, the message records of datagram and
 * seqpacket receive buffers: sizes, the credentials a queued message
 * holds, and their release by every path that drops a message.
 */

#include <kunit/test.h>
#include <linux/cred.h>
#include <linux/net.h>
#include <linux/pid.h>
#include <linux/uio.h>
#include <net/sock.h>

#include "afx_kunit.h"

/* Push @len bytes of "abc..." to @sk, with the caller's credentials or none. */
static int kt_push(struct sock *sk, size_t len, bool creds)
{
	static const char text[] = "abcdefghijklmnopqrstuvwxyz";
	struct afx_msg_creds c = {
		.pid = task_tgid(current),
		.uid = current_uid(),
		.gid = current_gid(),
	};
	struct kvec kv = { .iov_base = (void *)text, .iov_len = len };
	struct iov_iter it;
	int err;

	iov_iter_kvec(&it, ITER_SOURCE, &kv, 1, len);
	mutex_lock(&afx_sk(sk)->rx_wlock);
	err = afx_msg_push(sk, 7, creds ? &c : NULL, &it, len);
	mutex_unlock(&afx_sk(sk)->rx_wlock);
	return err;
}

static unsigned int kt_pid_refs(void)
{
	return refcount_read(&task_tgid(current)->count);
}

/* Headers count 8 bytes, 24 with credentials; queued reports payload only. */
static void msg_sizes(struct kunit *test)
{
	struct sock *sk = kt_sock(test, SOCK_DGRAM)->sk;

	KUNIT_EXPECT_EQ(test, afx_msg_size(0, false), 8U);
	KUNIT_EXPECT_EQ(test, afx_msg_size(10, true), 34U);
	KUNIT_EXPECT_EQ(test, afx_msg_size(0, true), AFX_MSG_HDR_MAX);
	KUNIT_ASSERT_EQ(test, kt_push(sk, 10, false), 0);
	KUNIT_ASSERT_EQ(test, kt_push(sk, 0, true), 0);
	KUNIT_ASSERT_EQ(test, kt_push(sk, 26, true), 0);
	KUNIT_EXPECT_EQ(test, afx_sbuf_readable(&afx_sk(sk)->rx),
			18U + 24U + 50U);
	KUNIT_EXPECT_EQ(test, afx_msg_queued(sk), 36U);
}

/* Each message read back whole, in order, with its header and credentials. */
static void msg_peek_consume(struct kunit *test)
{
	struct sock *sk = kt_sock(test, SOCK_DGRAM)->sk;
	struct afx_msg_creds creds;
	struct afx_msg_hdr hdr;
	unsigned int refs = kt_pid_refs();
	bool has;

	KUNIT_ASSERT_EQ(test, kt_push(sk, 3, true), 0);
	KUNIT_ASSERT_EQ(test, kt_push(sk, 5, false), 0);
	KUNIT_EXPECT_EQ(test, kt_pid_refs(), refs + 1);

	mutex_lock(&afx_sk(sk)->rx_lock);
	has = afx_msg_peek_hdr(sk, &hdr, &creds);
	KUNIT_EXPECT_TRUE(test, has);
	KUNIT_EXPECT_EQ(test, hdr.len, 3U);
	KUNIT_EXPECT_EQ(test, hdr.from, 7U);
	KUNIT_EXPECT_PTR_EQ(test, creds.pid, task_tgid(current));
	KUNIT_EXPECT_TRUE(test, uid_eq(creds.uid, current_uid()));
	afx_msg_consume(sk, hdr.len, &creds, has);
	KUNIT_EXPECT_EQ(test, kt_pid_refs(), refs);

	has = afx_msg_peek_hdr(sk, &hdr, &creds);
	KUNIT_EXPECT_FALSE(test, has);
	KUNIT_EXPECT_EQ(test, hdr.len, 5U);
	KUNIT_EXPECT_NULL(test, creds.pid);
	afx_msg_consume(sk, hdr.len, &creds, has);
	mutex_unlock(&afx_sk(sk)->rx_lock);
	KUNIT_EXPECT_EQ(test, afx_sbuf_readable(&afx_sk(sk)->rx), 0U);
	KUNIT_EXPECT_EQ(test, afx_msg_queued(sk), 0U);
}

/* Messages nobody reads give their pid references back, at close or later. */
static void msg_drop_and_purge_put_pids(struct kunit *test)
{
	struct sock *sk = kt_sock(test, SOCK_DGRAM)->sk;
	unsigned int refs = kt_pid_refs();
	int i;

	for (i = 0; i < 4; i++)
		KUNIT_ASSERT_EQ(test, kt_push(sk, i, i & 1), 0);
	KUNIT_EXPECT_EQ(test, kt_pid_refs(), refs + 2);
	afx_msg_drop_all(sk);
	KUNIT_EXPECT_EQ(test, kt_pid_refs(), refs);
	KUNIT_EXPECT_EQ(test, afx_sbuf_readable(&afx_sk(sk)->rx), 0U);

	/* What the destructor finds: no lock, credentials still held. */
	for (i = 0; i < 3; i++)
		KUNIT_ASSERT_EQ(test, kt_push(sk, 20, true), 0);
	KUNIT_EXPECT_EQ(test, kt_pid_refs(), refs + 3);
	afx_msg_purge(sk);
	KUNIT_EXPECT_EQ(test, kt_pid_refs(), refs);
	KUNIT_EXPECT_EQ(test, afx_msg_queued(sk), 0U);
}

/* A refused push takes no reference and queues nothing. */
static void msg_refused_push_holds_nothing(struct kunit *test)
{
	struct socket *d = kt_sock(test, SOCK_DGRAM);
	unsigned int refs = kt_pid_refs();

	KUNIT_ASSERT_EQ(test, kernel_sock_shutdown(d, SHUT_RD), 0);
	KUNIT_EXPECT_EQ(test, kt_push(d->sk, 10, true), -EPIPE);
	KUNIT_EXPECT_EQ(test, kt_pid_refs(), refs);
	KUNIT_EXPECT_EQ(test, afx_sbuf_readable(&afx_sk(d->sk)->rx), 0U);
	KUNIT_EXPECT_EQ(test, afx_sk(d->sk)->rx_hdr_units, 0U);
}

static struct kunit_case msg_cases[] = {
	KUNIT_CASE(msg_sizes),
	KUNIT_CASE(msg_peek_consume),
	KUNIT_CASE(msg_drop_and_purge_put_pids),
	KUNIT_CASE(msg_refused_push_holds_nothing),
	{}
};

static struct kunit_suite afx_msg_suite = {
	.name = "afx_msg",
	.init = kt_init,
	.exit = kt_exit,
	.test_cases = msg_cases,
};

kunit_test_suite(afx_msg_suite);
