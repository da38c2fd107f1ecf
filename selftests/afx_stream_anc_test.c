// SPDX-License-Identifier: GPL-2.0
/*
 * afx_stream_anc_test.c - ancillary data on stream sockets: what a write
 * carries (SCM_RIGHTS, SCM_CREDENTIALS, SO_PASSCRED) and the rule that
 * reads never merge writes across it.
 *
 *   a read returns bytes of one segment only: it stops before the bytes
 *   of a write with files and at their end, also with MSG_WAITALL; the
 *   files come with the first read of their write's bytes, once; MSG_PEEK
 *   gives duplicates; for a reader with SO_PASSCRED, writes with
 *   different credentials are not merged, writes with the same are, and
 *   bytes written while neither end asked read as pid 0 and the overflow
 *   ids; a reader without SO_PASSCRED reads across credentials; explicit
 *   SCM_CREDENTIALS are checked (EPERM as nobody); at most 256 writes
 *   with their own marks wait at a receiver: the next waits (EAGAIN
 *   nonblocking, no POLLOUT) until a read makes room; a write that waited
 *   part-way keeps its bytes in one segment.
 *
 * Documentation/afx.rst, "Ancillary data on streams". The file-passing
 * cases that every socket type shares (limits, refused files, MSG_CTRUNC,
 * closing) run on streams in afx_scm_rights_test.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "afx_harness.h"

#define WATCHDOG_SEC	25
#define NOBODY		65534
#define MARKS		256	/* AFX_ANC_MARKS */

/* What one recvmsg() got. */
struct got {
	ssize_t n;
	int flags;
	int nfds;
	int fds[8];
	int has_creds;
	struct ucred uc;
	char data[4096];
};

static ssize_t send_anc(int fd, const void *buf, size_t len, const int *fds,
			int nfds, const struct ucred *uc, int flags)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 8) +
			 CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = u.buf,
	};
	struct cmsghdr *c;
	size_t used = 0;

	memset(&u, 0, sizeof(u));
	c = (struct cmsghdr *)u.buf;
	if (nfds) {
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
		used += CMSG_SPACE(sizeof(int) * nfds);
		c = (struct cmsghdr *)(u.buf + used);
	}
	if (uc) {
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_CREDENTIALS;
		c->cmsg_len = CMSG_LEN(sizeof(*uc));
		memcpy(CMSG_DATA(c), uc, sizeof(*uc));
		used += CMSG_SPACE(sizeof(*uc));
	}
	mh.msg_controllen = used;
	if (!used)
		mh.msg_control = NULL;
	return sendmsg(fd, &mh, MSG_NOSIGNAL | flags);
}

static ssize_t recv_anc(int fd, struct got *g, size_t len, int flags)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 8) +
			 CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { g->data, len };
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = u.buf,
		.msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *c;
	int k;

	g->nfds = g->has_creds = g->flags = 0;
	g->n = recvmsg(fd, &mh, flags);
	if (g->n < 0)
		return g->n;
	g->flags = mh.msg_flags;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_type == SCM_RIGHTS) {
			k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			if (k > 8)
				k = 8;
			memcpy(g->fds, CMSG_DATA(c), sizeof(int) * k);
			g->nfds += k;
		} else if (c->cmsg_type == SCM_CREDENTIALS) {
			memcpy(&g->uc, CMSG_DATA(c), sizeof(g->uc));
			g->has_creds = 1;
		}
	}
	return g->n;
}

static void got_close(struct got *g)
{
	while (g->nfds)
		close(g->fds[--g->nfds]);
}

static int set_passcred(int fd)
{
	int one = 1;

	return setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one));
}

/* FIXTURE(sp): a connected stream pair, self->s writes to self->r. */
FIXTURE(sp) {
	int s, r, e;
};

FIXTURE_VARIANT(sp) {
	int accepted;
};

FIXTURE_VARIANT_ADD(sp, pair) {
	.accepted = 0,
};

FIXTURE_VARIANT_ADD(sp, accepted) {
	.accepted = 1,
};

FIXTURE_SETUP(sp)
{
	uint32_t port;
	int fd, sv[2], l;

	afx_watchdog(WATCHDOG_SEC);
	self->s = self->r = self->e = -1;
	fd = afx_socket(SOCK_STREAM);
	AFX_SKIP_IF_NO_AFX(fd);
	close(fd);
	if (variant->accepted) {
		l = afx_listener(SOCK_STREAM, 4, &port);
		ASSERT_LE(0, l);
		self->s = afx_socket(SOCK_STREAM);
		ASSERT_LE(0, self->s);
		ASSERT_EQ(0, afx_connect_port(self->s, port));
		self->r = accept(l, NULL, NULL);
		ASSERT_LE(0, self->r);
		close(l);
	} else {
		ASSERT_EQ(0, socketpair(afx_family(), SOCK_STREAM, 0, sv));
		self->s = sv[0];
		self->r = sv[1];
	}
	self->e = eventfd(0, EFD_CLOEXEC);
	ASSERT_LE(0, self->e);
}

FIXTURE_TEARDOWN(sp)
{
	if (self->s >= 0)
		close(self->s);
	if (self->r >= 0)
		close(self->r);
	if (self->e >= 0)
		close(self->e);
	afx_watchdog(0);
}

/*
 * "aaa", then "bbb" with a file, then "ccc": three reads, even with room
 * for all nine bytes; the file comes with "bbb" only.
 */
TEST_F(sp, reads_stop_at_a_write_with_files)
{
	struct got g;

	ASSERT_EQ(3, send_anc(self->s, "aaa", 3, NULL, 0, NULL, 0));
	ASSERT_EQ(3, send_anc(self->s, "bbb", 3, &self->e, 1, NULL, 0));
	ASSERT_EQ(3, send_anc(self->s, "ccc", 3, NULL, 0, NULL, 0));
	ASSERT_EQ(3, recv_anc(self->r, &g, 9, MSG_DONTWAIT));
	EXPECT_EQ(0, memcmp(g.data, "aaa", 3));
	EXPECT_EQ(0, g.nfds);
	ASSERT_EQ(3, recv_anc(self->r, &g, 9, MSG_DONTWAIT));
	EXPECT_EQ(0, memcmp(g.data, "bbb", 3));
	ASSERT_EQ(1, g.nfds);
	EXPECT_EQ(0, g.flags & MSG_CTRUNC);
	got_close(&g);
	ASSERT_EQ(3, recv_anc(self->r, &g, 9, MSG_DONTWAIT));
	EXPECT_EQ(0, memcmp(g.data, "ccc", 3));
	EXPECT_EQ(0, g.nfds);
}

/* MSG_WAITALL does not merge across a write with files either. */
TEST_F(sp, waitall_stops_at_a_write_with_files)
{
	struct got g;

	ASSERT_EQ(3, send_anc(self->s, "aaa", 3, NULL, 0, NULL, 0));
	ASSERT_EQ(3, send_anc(self->s, "bbb", 3, &self->e, 1, NULL, 0));
	ASSERT_EQ(3, recv_anc(self->r, &g, 6, MSG_WAITALL));
	EXPECT_EQ(0, g.nfds);
	ASSERT_EQ(3, recv_anc(self->r, &g, 6, MSG_WAITALL | MSG_DONTWAIT));
	ASSERT_EQ(1, g.nfds);
	got_close(&g);
}

/* Two writes with files: two reads, one file each, in order. */
TEST_F(sp, two_writes_with_files_two_reads)
{
	int e2 = eventfd(7, EFD_CLOEXEC);
	struct got g;
	uint64_t v;

	ASSERT_LE(0, e2);
	ASSERT_EQ(2, send_anc(self->s, "ab", 2, &self->e, 1, NULL, 0));
	ASSERT_EQ(2, send_anc(self->s, "cd", 2, &e2, 1, NULL, 0));
	ASSERT_EQ(2, recv_anc(self->r, &g, 100, MSG_DONTWAIT));
	ASSERT_EQ(1, g.nfds);
	ASSERT_EQ(0, eventfd_write(g.fds[0], 1));
	got_close(&g);
	ASSERT_EQ(0, eventfd_read(self->e, &v));
	EXPECT_EQ(1, v);
	ASSERT_EQ(2, recv_anc(self->r, &g, 100, MSG_DONTWAIT));
	EXPECT_EQ(0, memcmp(g.data, "cd", 2));
	ASSERT_EQ(1, g.nfds);
	ASSERT_EQ(0, eventfd_read(g.fds[0], &v));
	EXPECT_EQ(7, v);
	got_close(&g);
	close(e2);
}

/* The files come with the first bytes of their write, once. */
TEST_F(sp, files_come_with_the_first_read_of_their_write)
{
	struct got g;

	ASSERT_EQ(10, send_anc(self->s, "0123456789", 10, &self->e, 1, NULL, 0));
	ASSERT_EQ(4, recv_anc(self->r, &g, 4, MSG_DONTWAIT));
	EXPECT_EQ(1, g.nfds);
	got_close(&g);
	ASSERT_EQ(6, recv_anc(self->r, &g, 100, MSG_DONTWAIT));
	EXPECT_EQ(0, memcmp(g.data, "456789", 6));
	EXPECT_EQ(0, g.nfds);
}

/* A peek gets duplicates each time; the read then gets the files. */
TEST_F(sp, peek_gives_duplicates)
{
	struct got g;
	int i;

	ASSERT_EQ(3, send_anc(self->s, "xyz", 3, &self->e, 1, NULL, 0));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(3, recv_anc(self->r, &g, 100, MSG_PEEK | MSG_DONTWAIT));
		ASSERT_EQ(1, g.nfds);
		got_close(&g);
	}
	ASSERT_EQ(3, recv_anc(self->r, &g, 100, MSG_DONTWAIT));
	ASSERT_EQ(1, g.nfds);
	got_close(&g);
	errno = 0;
	EXPECT_EQ(-1, recv_anc(self->r, &g, 100, MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
}

/* A read that faults keeps the files queued for the next read. */
TEST_F(sp, faulting_read_keeps_the_files)
{
	struct iovec iov = { (void *)8, 3 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct got g;

	ASSERT_EQ(3, send_anc(self->s, "xyz", 3, &self->e, 1, NULL, 0));
	errno = 0;
	EXPECT_EQ(-1, recvmsg(self->r, &mh, MSG_DONTWAIT));
	EXPECT_EQ(EFAULT, errno);
	ASSERT_EQ(3, recv_anc(self->r, &g, 100, MSG_DONTWAIT));
	ASSERT_EQ(1, g.nfds);
	got_close(&g);
}

/*
 * A reader with SO_PASSCRED: the credentials of each write; writes of two
 * processes are not merged, two writes of one process are.
 */
TEST_F(sp, passcred_reader_does_not_merge_writers)
{
	struct got g;
	pid_t child;
	int st;

	ASSERT_EQ(0, set_passcred(self->r));
	ASSERT_EQ(2, send_anc(self->s, "p1", 2, NULL, 0, NULL, 0));
	ASSERT_EQ(2, send_anc(self->s, "p2", 2, NULL, 0, NULL, 0));
	child = fork();
	ASSERT_LE(0, child);
	if (!child)
		_exit(send_anc(self->s, "c1", 2, NULL, 0, NULL, 0) == 2 ? 0 : 1);
	ASSERT_EQ(child, waitpid(child, &st, 0));
	ASSERT_EQ(0, st);
	ASSERT_EQ(2, send_anc(self->s, "p3", 2, NULL, 0, NULL, 0));

	ASSERT_EQ(4, recv_anc(self->r, &g, 100, MSG_DONTWAIT));
	EXPECT_EQ(0, memcmp(g.data, "p1p2", 4));
	ASSERT_TRUE(g.has_creds);
	EXPECT_EQ(getpid(), g.uc.pid);
	EXPECT_EQ(getuid(), g.uc.uid);
	EXPECT_EQ(getgid(), g.uc.gid);
	ASSERT_EQ(2, recv_anc(self->r, &g, 100, MSG_DONTWAIT));
	EXPECT_EQ(0, memcmp(g.data, "c1", 2));
	ASSERT_TRUE(g.has_creds);
	EXPECT_EQ(child, g.uc.pid);
	ASSERT_EQ(2, recv_anc(self->r, &g, 100, MSG_DONTWAIT));
	EXPECT_EQ(0, memcmp(g.data, "p3", 2));
	EXPECT_EQ(getpid(), g.uc.pid);
}

/* A reader without SO_PASSCRED reads across the writers' credentials. */
TEST_F(sp, reader_without_passcred_merges_writers)
{
	struct got g;
	pid_t child;
	int st;

	/* The writer asks, so every write carries credentials. */
	ASSERT_EQ(0, set_passcred(self->s));
	ASSERT_EQ(2, send_anc(self->s, "p1", 2, NULL, 0, NULL, 0));
	child = fork();
	ASSERT_LE(0, child);
	if (!child)
		_exit(send_anc(self->s, "c1", 2, NULL, 0, NULL, 0) == 2 ? 0 : 1);
	ASSERT_EQ(child, waitpid(child, &st, 0));
	ASSERT_EQ(0, st);
	ASSERT_EQ(4, recv_anc(self->r, &g, 100, MSG_DONTWAIT));
	EXPECT_EQ(0, memcmp(g.data, "p1c1", 4));
	EXPECT_FALSE(g.has_creds);
}

/*
 * Bytes written while neither end asked read as pid 0 and the overflow
 * ids, and end before the first write that carries credentials.
 */
TEST_F(sp, unmarked_bytes_read_as_nobody)
{
	int ouid = afx_overflow_id("overflowuid"), ogid = afx_overflow_id("overflowgid");
	struct got g;

	ASSERT_LE(0, ouid);
	ASSERT_LE(0, ogid);
	ASSERT_EQ(3, send_anc(self->s, "old", 3, NULL, 0, NULL, 0));
	ASSERT_EQ(0, set_passcred(self->r));
	ASSERT_EQ(3, send_anc(self->s, "new", 3, NULL, 0, NULL, 0));
	ASSERT_EQ(3, recv_anc(self->r, &g, 100, MSG_DONTWAIT));
	EXPECT_EQ(0, memcmp(g.data, "old", 3));
	ASSERT_TRUE(g.has_creds);
	EXPECT_EQ(0, g.uc.pid);
	EXPECT_EQ(ouid, (int)g.uc.uid);
	EXPECT_EQ(ogid, (int)g.uc.gid);
	ASSERT_EQ(3, recv_anc(self->r, &g, 100, MSG_DONTWAIT));
	EXPECT_EQ(0, memcmp(g.data, "new", 3));
	ASSERT_TRUE(g.has_creds);
	EXPECT_EQ(getpid(), g.uc.pid);
}

/* Explicit SCM_CREDENTIALS: one's own pass, root's claimed by nobody EPERM. */
TEST_F(sp, explicit_credentials_checked)
{
	struct ucred mine = { getpid(), getuid(), getgid() };
	struct ucred root = { 1, 0, 0 };
	struct got g;
	pid_t child;
	int st;

	ASSERT_EQ(0, set_passcred(self->r));
	ASSERT_EQ(1, send_anc(self->s, "m", 1, NULL, 0, &mine, 0));
	ASSERT_EQ(1, recv_anc(self->r, &g, 100, MSG_DONTWAIT));
	ASSERT_TRUE(g.has_creds);
	EXPECT_EQ(getpid(), g.uc.pid);
	if (geteuid() != 0)
		return;
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		if (setgid(NOBODY) || setuid(NOBODY))
			_exit(2);
		errno = 0;
		if (send_anc(self->s, "r", 1, NULL, 0, &root, 0) != -1)
			_exit(3);
		_exit(errno == EPERM ? 0 : 4);
	}
	ASSERT_EQ(child, waitpid(child, &st, 0));
	EXPECT_EQ(0, st);
	/* Nothing was queued by the refused write. */
	errno = 0;
	EXPECT_EQ(-1, recv_anc(self->r, &g, 100, MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
}

/*
 * At most MARKS writes with files wait at a receiver: the next gets
 * EAGAIN though bytes still fit, and no POLLOUT; one read makes room for
 * one more, and POLLOUT comes back. Every file arrives with its byte.
 */
TEST_F(sp, marks_bounded_then_room_after_a_read)
{
	struct pollfd p = { .fd = self->s, .events = POLLOUT };
	struct got g;
	int i;

	for (i = 0; i < MARKS; i++)
		ASSERT_EQ(1, send_anc(self->s, "f", 1, &self->e, 1, NULL,
				      MSG_DONTWAIT)) TH_LOG("write %d: %s", i,
							    strerror(errno));
	errno = 0;
	EXPECT_EQ(-1, send_anc(self->s, "f", 1, &self->e, 1, NULL, MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(0, poll(&p, 1, 0));
	ASSERT_EQ(1, recv_anc(self->r, &g, 100, MSG_DONTWAIT));
	ASSERT_EQ(1, g.nfds);
	got_close(&g);
	ASSERT_EQ(1, poll(&p, 1, 0));
	EXPECT_TRUE(p.revents & POLLOUT);
	ASSERT_EQ(1, send_anc(self->s, "f", 1, &self->e, 1, NULL, MSG_DONTWAIT));
	for (i = 0; i < MARKS; i++) {
		ASSERT_EQ(1, recv_anc(self->r, &g, 100, MSG_DONTWAIT))
			TH_LOG("read %d", i);
		ASSERT_EQ(1, g.nfds) TH_LOG("read %d", i);
		got_close(&g);
	}
	errno = 0;
	EXPECT_EQ(-1, recv_anc(self->r, &g, 100, MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
}

/* A writer blocked on the bound of marks is woken by the reader's read. */
TEST_F(sp, writer_blocked_on_marks_woken_by_read)
{
	struct got g;
	pid_t child;
	int i, st;

	for (i = 0; i < MARKS; i++)
		ASSERT_EQ(1, send_anc(self->s, "f", 1, &self->e, 1, NULL,
				      MSG_DONTWAIT));
	child = fork();
	ASSERT_LE(0, child);
	if (!child)
		_exit(send_anc(self->s, "L", 1, &self->e, 1, NULL, 0) == 1 ? 0 : 1);
	for (i = 0; i < MARKS + 1; i++) {
		/* Blocking reads: the last waits for the child's write. */
		ASSERT_EQ(1, recv_anc(self->r, &g, 100, 0)) TH_LOG("read %d", i);
		ASSERT_EQ(1, g.nfds);
		got_close(&g);
	}
	EXPECT_EQ('L', g.data[0]);
	ASSERT_EQ(child, waitpid(child, &st, 0));
	EXPECT_EQ(0, st);
}

/*
 * A write with a file bigger than the buffer waits part-way; all its
 * bytes read as one segment (no other bytes between), with its file once.
 */
TEST_F(sp, write_that_waits_stays_one_segment)
{
	static char out[256 * 1024], in[256 * 1024];
	size_t got = 0, i;
	int files = 0;
	struct got g;
	pid_t child;
	int st;

	for (i = 0; i < sizeof(out); i++)
		out[i] = (char)(i * 7 + 1);
	ASSERT_EQ(0, afx_set_int(self->r, SOL_SOCKET, SO_RCVBUF, 16384));
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		ssize_t n = send_anc(self->s, out, sizeof(out), &self->e, 1,
				     NULL, 0);

		if (n != (ssize_t)sizeof(out))
			_exit(1);
		_exit(send_anc(self->s, "z", 1, NULL, 0, NULL, 0) == 1 ? 0 : 2);
	}
	while (got < sizeof(out)) {
		ASSERT_LT(0, recv_anc(self->r, &g, sizeof(g.data), 0));
		ASSERT_GE(sizeof(out) - got, (size_t)g.n);
		memcpy(in + got, g.data, g.n);
		got += g.n;
		files += g.nfds;
		got_close(&g);
	}
	EXPECT_EQ(0, memcmp(in, out, sizeof(out)));
	EXPECT_EQ(1, files);
	ASSERT_EQ(1, recv_anc(self->r, &g, 100, 0));
	EXPECT_EQ('z', g.data[0]);
	ASSERT_EQ(child, waitpid(child, &st, 0));
	EXPECT_EQ(0, st);
}

/* Control messages still checked: a malformed one is EINVAL, nothing queued. */
TEST_F(sp, malformed_control_einval_nothing_queued)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { "x", 1 };
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = u.buf,
		.msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *c = (struct cmsghdr *)u.buf;
	struct got g;

	memset(&u, 0, sizeof(u));
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = sizeof(u.buf) + 8;
	errno = 0;
	EXPECT_EQ(-1, sendmsg(self->s, &mh, MSG_DONTWAIT));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, recv_anc(self->r, &g, 100, MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
}

TEST_HARNESS_MAIN
