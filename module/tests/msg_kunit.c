// SPDX-License-Identifier: GPL-2.0
/*
 * afx: KUnit suite for msg.c, the message records of datagram and
 * seqpacket receive buffers: sizes, the credentials a queued message
 * holds, and their release by every path that drops a message.
 */

#include <kunit/test.h>
#include <linux/anon_inodes.h>
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/net.h>
#include <linux/pid.h>
#include <linux/uio.h>
#include <net/scm.h>
#include <net/sock.h>

#include "afx_kunit.h"

static const struct file_operations kt_fops;

/*
 * A struct pid only these cases reference, so that its count moves only
 * with the messages (a kthread's own pid is referenced by others as
 * well). It starts with our reference, which is never dropped: put_pid()
 * would free it at 0. Readers here never ask for the credentials, so
 * nothing looks into its namespace numbers.
 */
static struct pid *kt_pid(struct kunit *test)
{
	struct pid *pid = kunit_kzalloc(test, sizeof(*pid) +
					sizeof(struct upid), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, pid);
	refcount_set(&pid->count, 1);
	return pid;
}

/* Push @len bytes of "abc..." to @sk, with credentials naming @pid or none. */
static int kt_push(struct sock *sk, size_t len, struct pid *pid)
{
	static const char text[] = "abcdefghijklmnopqrstuvwxyz";
	struct afx_msg_creds c = {
		.pid = pid,
		.uid = current_uid(),
		.gid = current_gid(),
	};
	struct kvec kv = { .iov_base = (void *)text, .iov_len = len };
	struct iov_iter it;
	int err;

	iov_iter_kvec(&it, ITER_SOURCE, &kv, 1, len);
	mutex_lock(&afx_sk(sk)->rx_wlock);
	err = afx_msg_push(sk, 7, pid ? &c : NULL, NULL, &it, len);
	mutex_unlock(&afx_sk(sk)->rx_wlock);
	return err;
}

/* References on @pid besides ours. */
static unsigned int kt_refs(struct pid *pid)
{
	return refcount_read(&pid->count) - 1;
}

/* Headers count 8 bytes, 24 with credentials; queued reports payload only. */
static void msg_sizes(struct kunit *test)
{
	struct sock *sk = kt_sock(test, SOCK_DGRAM)->sk;
	struct pid *pid = kt_pid(test);

	KUNIT_EXPECT_EQ(test, afx_msg_size(0, false, false), 8U);
	KUNIT_EXPECT_EQ(test, afx_msg_size(10, true, false), 34U);
	KUNIT_EXPECT_EQ(test, afx_msg_size(10, false, true), 26U);
	KUNIT_EXPECT_EQ(test, afx_msg_size(0, true, true), AFX_MSG_HDR_MAX);
	KUNIT_ASSERT_EQ(test, kt_push(sk, 10, NULL), 0);
	KUNIT_ASSERT_EQ(test, kt_push(sk, 0, pid), 0);
	KUNIT_ASSERT_EQ(test, kt_push(sk, 26, pid), 0);
	KUNIT_EXPECT_EQ(test, afx_sbuf_readable(&afx_sk(sk)->rx),
			18U + 24U + 50U);
	KUNIT_EXPECT_EQ(test, afx_msg_queued(sk), 36U);
}

/* Each message read back whole, in order, with its sender and credentials. */
static void msg_read_in_order(struct kunit *test)
{
	struct socket *d = kt_sock(test, SOCK_DGRAM);
	struct sock *sk = d->sk;
	struct pid *pid = kt_pid(test);
	struct sockaddr_x from;
	char buf[32];

	KUNIT_ASSERT_EQ(test, kt_push(sk, 3, pid), 0);
	KUNIT_ASSERT_EQ(test, kt_push(sk, 5, NULL), 0);
	KUNIT_EXPECT_EQ(test, kt_refs(pid), 1U);
	KUNIT_EXPECT_EQ(test, afx_msg_queued(sk), 8U);

	KUNIT_EXPECT_EQ(test, kt_recvfrom(d, buf, sizeof(buf), 0, NULL, &from),
			3);
	KUNIT_EXPECT_EQ(test, from.sx_port, 7U);
	KUNIT_EXPECT_EQ(test, memcmp(buf, "abc", 3), 0);
	KUNIT_EXPECT_EQ(test, kt_refs(pid), 0U);
	/* A peek leaves it; a short read drops the rest. */
	KUNIT_EXPECT_EQ(test, kt_recv(d, buf, 2, MSG_PEEK), 2);
	KUNIT_EXPECT_EQ(test, kt_recv(d, buf, 2, 0), 2);
	KUNIT_EXPECT_EQ(test, afx_sbuf_readable(&afx_sk(sk)->rx), 0U);
	KUNIT_EXPECT_EQ(test, afx_msg_queued(sk), 0U);
}

/* A kernel reader gets no descriptors: the files are closed, not leaked. */
static void msg_files_to_kernel_reader_closed(struct kunit *test)
{
	struct socket *d = kt_sock(test, SOCK_DGRAM);
	unsigned long before = afx_msg_inflight(current_user());
	struct scm_fp_list *fpl;
	struct iov_iter it;
	struct file *f;
	struct kvec kv = { .iov_base = "x", .iov_len = 1 };
	char buf[4], cbuf[64];
	struct msghdr msg = {
		.msg_control = cbuf,
		.msg_controllen = sizeof(cbuf),
	};

	f = anon_inode_getfile("[afx-kunit]", &kt_fops, NULL, O_RDONLY);
	KUNIT_ASSERT_FALSE(test, IS_ERR(f));
	fpl = kzalloc(offsetof(struct scm_fp_list, fp[1]), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, fpl);
	fpl->max = 1;
	fpl->count = 1;
	fpl->fp[0] = f;
	fpl->user = get_uid(current_user());
	get_file(f);
	/* Counted as afx_msg_scm_send() counts them. */
	KUNIT_ASSERT_EQ(test, afx_inflight_add(fpl->user, 1), 0);
	KUNIT_EXPECT_EQ(test, afx_msg_inflight(current_user()), before + 1);

	iov_iter_kvec(&it, ITER_SOURCE, &kv, 1, 1);
	mutex_lock(&afx_sk(d->sk)->rx_wlock);
	KUNIT_ASSERT_EQ(test, afx_msg_push(d->sk, 7, NULL, fpl, &it, 1), 0);
	mutex_unlock(&afx_sk(d->sk)->rx_wlock);
	KUNIT_EXPECT_EQ(test, afx_msg_queued(d->sk), 1U);
	KUNIT_EXPECT_EQ(test, file_count(f), 2L);

	kv.iov_base = buf;
	kv.iov_len = sizeof(buf);
	KUNIT_EXPECT_EQ(test, kernel_recvmsg(d, &msg, &kv, 1, sizeof(buf), 0),
			1);
	KUNIT_EXPECT_TRUE(test, msg.msg_flags & MSG_CTRUNC);
	KUNIT_EXPECT_EQ(test, afx_msg_inflight(current_user()), before);
	/* fput() of the message's reference may be deferred. */
	flush_delayed_fput();
	KUNIT_EXPECT_EQ(test, file_count(f), 1L);
	fput(f);
}

/* Messages nobody reads give their pid references back, at close or later. */
static void msg_drop_and_purge_put_pids(struct kunit *test)
{
	struct sock *sk = kt_sock(test, SOCK_DGRAM)->sk;
	struct pid *pid = kt_pid(test);
	int i;

	for (i = 0; i < 4; i++)
		KUNIT_ASSERT_EQ(test, kt_push(sk, i, i & 1 ? pid : NULL), 0);
	KUNIT_EXPECT_EQ(test, kt_refs(pid), 2U);
	afx_msg_drop_all(sk);
	KUNIT_EXPECT_EQ(test, kt_refs(pid), 0U);
	KUNIT_EXPECT_EQ(test, afx_sbuf_readable(&afx_sk(sk)->rx), 0U);

	/* What the destructor finds: no lock, credentials still held. */
	for (i = 0; i < 3; i++)
		KUNIT_ASSERT_EQ(test, kt_push(sk, 20, pid), 0);
	KUNIT_EXPECT_EQ(test, kt_refs(pid), 3U);
	afx_msg_purge(sk);
	KUNIT_EXPECT_EQ(test, kt_refs(pid), 0U);
	KUNIT_EXPECT_EQ(test, afx_msg_queued(sk), 0U);
}

/* A refused push takes no reference and queues nothing. */
static void msg_refused_push_holds_nothing(struct kunit *test)
{
	struct socket *d = kt_sock(test, SOCK_DGRAM);
	struct pid *pid = kt_pid(test);

	KUNIT_ASSERT_EQ(test, kernel_sock_shutdown(d, SHUT_RD), 0);
	KUNIT_EXPECT_EQ(test, kt_push(d->sk, 10, pid), -EPIPE);
	KUNIT_EXPECT_EQ(test, kt_refs(pid), 0U);
	KUNIT_EXPECT_EQ(test, afx_sbuf_readable(&afx_sk(d->sk)->rx), 0U);
	KUNIT_EXPECT_EQ(test, afx_sk(d->sk)->rx_hdr_units, 0U);
}

static struct kunit_case msg_cases[] = {
	KUNIT_CASE(msg_sizes),
	KUNIT_CASE(msg_read_in_order),
	KUNIT_CASE(msg_files_to_kernel_reader_closed),
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
