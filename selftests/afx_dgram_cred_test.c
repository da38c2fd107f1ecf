// SPDX-License-Identifier: GPL-2.0
/*
 * afx_dgram_cred_test.c - credentials on datagram sockets: SO_PASSCRED and
 * SCM_CREDENTIALS as AF_UNIX has them.
 *
 *   a reader with SO_PASSCRED gets the sender's pid, uid and gid, or, for
 *   a datagram queued while neither end asked, pid 0 and the overflow ids;
 *   a sender may claim only what it is allowed to (EPERM, ESRCH); bad
 *   control messages are refused (EINVAL), and so is passing an AF_X
 *   socket in SCM_RIGHTS (EOPNOTSUPP), with nothing queued; MSG_CTRUNC
 *   without a control buffer; ids are translated into the reader's user
 *   namespace; socketpair and broadcast carry them too; FIONREAD and
 *   /proc count payload only.
 *
 * Documentation/afx.rst, "Credentials". Credentials still queued when a
 * socket closes are released: the debug lane's kmemleak gate checks
 * closed_with_credentials_queued.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "afx_harness.h"
#include "afx_introspect.h"

#define WATCHDOG_SEC	30

/* FIXTURE(dg): self->r bound to self->p1, self->s a bound sender. */
#include "afx_fixture_dg.h"

/* sendmsg() of @len bytes to {LOCAL, port} (0: connected) with one cmsg. */
static ssize_t send_cmsg(int fd, uint32_t port, const void *buf, size_t len,
			 int type, const void *data, size_t dlen, size_t cmsg_len)
{
	struct sockaddr_x sx = afx_sockaddr(AFX_ADDR_LOCAL, port);
	union {
		char buf[CMSG_SPACE(64)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = {
		.msg_name = port ? &sx : NULL,
		.msg_namelen = port ? sizeof(sx) : 0,
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = u.buf,
		.msg_controllen = CMSG_SPACE(dlen),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	memset(&u, 0, sizeof(u));
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = type;
	c->cmsg_len = cmsg_len ? cmsg_len : CMSG_LEN(dlen);
	memcpy(CMSG_DATA(c), data, dlen);
	return sendmsg(fd, &mh, MSG_NOSIGNAL);
}

static ssize_t send_creds(int fd, uint32_t port, pid_t pid, uid_t uid,
			  gid_t gid)
{
	struct ucred uc = { pid, uid, gid };

	return send_cmsg(fd, port, "c", 1, SCM_CREDENTIALS, &uc, sizeof(uc), 0);
}

/*
 * recvmsg() one datagram without waiting; *@has tells whether it came
 * with SCM_CREDENTIALS (then in *@uc), *@mflags is msg_flags. @ctl: give
 * a control buffer or not.
 */
static ssize_t recv_creds(int fd, void *buf, size_t len, struct ucred *uc,
			  int *has, int *mflags, int ctl)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct ucred)) + 64];
		struct cmsghdr align;
	} u;
	struct iovec iov = { buf, len };
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctl ? u.buf : NULL,
		.msg_controllen = ctl ? sizeof(u.buf) : 0,
	};
	struct cmsghdr *c;
	ssize_t n;

	*has = 0;
	n = recvmsg(fd, &mh, MSG_DONTWAIT);
	if (n < 0)
		return n;
	*mflags = mh.msg_flags;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET &&
		    c->cmsg_type == SCM_CREDENTIALS &&
		    c->cmsg_len == CMSG_LEN(sizeof(*uc))) {
			memcpy(uc, CMSG_DATA(c), sizeof(*uc));
			*has = 1;
		}
	}
	return n;
}

/* A reader with SO_PASSCRED gets the sender's pid, uid and gid. */
TEST_F(dg, passcred_reader_gets_sender_creds)
{
	struct ucred uc;
	int has, mf;
	char b[4];

	ASSERT_EQ(0, afx_set_int(self->r, SOL_SOCKET, SO_PASSCRED, 1));
	ASSERT_EQ(3, afx_send_to(self->s, "abc", 3, AFX_ADDR_LOCAL,
				 self->p1, 0));
	ASSERT_EQ(3, recv_creds(self->r, b, sizeof(b), &uc, &has, &mf, 1));
	EXPECT_EQ(0, memcmp(b, "abc", 3));
	ASSERT_EQ(1, has);
	EXPECT_EQ(getpid(), uc.pid);
	EXPECT_EQ(getuid(), uc.uid);
	EXPECT_EQ(getgid(), uc.gid);
	EXPECT_EQ(0, mf & MSG_CTRUNC);
}

/*
 * Credentials travel when either end asked at send time: a sender with
 * SO_PASSCRED attaches them, a reader without it gets no control message,
 * and gets them once it asks. A datagram sent while neither asked reads
 * as pid 0 and the overflow ids, as on AF_UNIX.
 */
TEST_F(dg, either_end_asks)
{
	struct ucred uc;
	int has, mf;
	char b[4];

	ASSERT_EQ(0, afx_set_int(self->s, SOL_SOCKET, SO_PASSCRED, 1));
	ASSERT_EQ(1, afx_send_to(self->s, "1", 1, AFX_ADDR_LOCAL, self->p1, 0));
	ASSERT_EQ(1, afx_send_to(self->s, "2", 1, AFX_ADDR_LOCAL, self->p1, 0));
	ASSERT_EQ(0, afx_set_int(self->s, SOL_SOCKET, SO_PASSCRED, 0));
	ASSERT_EQ(1, afx_send_to(self->s, "3", 1, AFX_ADDR_LOCAL, self->p1, 0));

	ASSERT_EQ(1, recv_creds(self->r, b, sizeof(b), &uc, &has, &mf, 1));
	EXPECT_EQ('1', b[0]);
	EXPECT_EQ(0, has);
	EXPECT_EQ(0, mf & MSG_CTRUNC);
	ASSERT_EQ(0, afx_set_int(self->r, SOL_SOCKET, SO_PASSCRED, 1));
	ASSERT_EQ(1, recv_creds(self->r, b, sizeof(b), &uc, &has, &mf, 1));
	EXPECT_EQ('2', b[0]);
	ASSERT_EQ(1, has);
	EXPECT_EQ(getpid(), uc.pid);
	ASSERT_EQ(1, recv_creds(self->r, b, sizeof(b), &uc, &has, &mf, 1));
	EXPECT_EQ('3', b[0]);
	ASSERT_EQ(1, has);
	EXPECT_EQ(0, uc.pid);
	EXPECT_EQ((uid_t)afx_overflow_id("overflowuid"), uc.uid);
	EXPECT_EQ((gid_t)afx_overflow_id("overflowgid"), uc.gid);
}

/* SCM_CREDENTIALS with the sender's own ids; root may claim others. */
TEST_F(dg, explicit_creds)
{
	struct ucred uc;
	int has, mf;
	char b[4];

	ASSERT_EQ(0, afx_set_int(self->r, SOL_SOCKET, SO_PASSCRED, 1));
	ASSERT_EQ(1, send_creds(self->s, self->p1, getpid(), getuid(),
				getgid()));
	ASSERT_EQ(1, recv_creds(self->r, b, sizeof(b), &uc, &has, &mf, 1));
	ASSERT_EQ(1, has);
	EXPECT_EQ(getpid(), uc.pid);
	EXPECT_EQ(getuid(), uc.uid);
	if (geteuid() != 0)
		SKIP(return, "claiming other ids needs CAP_SETUID/CAP_SETGID");
	ASSERT_EQ(1, send_creds(self->s, self->p1, getpid(), 1234, 4321));
	ASSERT_EQ(1, recv_creds(self->r, b, sizeof(b), &uc, &has, &mf, 1));
	ASSERT_EQ(1, has);
	EXPECT_EQ(1234, uc.uid);
	EXPECT_EQ(4321, uc.gid);
}

/*
 * Claims are checked: a process that is not privileged may not claim
 * another pid or uid (EPERM); a pid that does not exist is ESRCH.
 * Nothing is queued by a refused send.
 */
TEST_F(dg, claims_checked)
{
	pid_t pid, gone;
	int st;

	if (geteuid() != 0)
		SKIP(return, "needs root to become nobody");
	/* A pid that existed and is gone: a reaped child's. */
	gone = fork();
	ASSERT_LE(0, gone);
	if (gone == 0)
		_exit(0);
	ASSERT_EQ(gone, waitpid(gone, &st, 0));
	errno = 0;
	EXPECT_EQ(-1, send_creds(self->s, self->p1, gone, 0, 0));
	EXPECT_EQ(ESRCH, errno);

	pid = afx_child_fork(0);
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int code = 0;

		if (setgid(65534) || setuid(65534))
			_exit(10);
		if (send_creds(self->s, self->p1, getppid(), 65534,
			       65534) != -1 || errno != EPERM)
			code |= 1;
		if (send_creds(self->s, self->p1, getpid(), 0, 65534) != -1 ||
		    errno != EPERM)
			code |= 2;
		if (send_creds(self->s, self->p1, getpid(), 65534, 0) != -1 ||
		    errno != EPERM)
			code |= 4;
		if (send_creds(self->s, self->p1, getpid(), 65534,
			       65534) != 1)
			code |= 8;
		_exit(code);
	}
	EXPECT_EQ(0, afx_wait_child(pid));
	/* Only the allowed claim came through. */
	EXPECT_EQ(1, afx_drain(self->r));
}

/*
 * Bad control messages, and SCM_RIGHTS with a socket (which could hold
 * descriptors itself): refused, nothing queued.
 */
TEST_F(dg, bad_control_refused)
{
	struct ucred uc = { getpid(), getuid(), getgid() };
	int fd = self->s;

	errno = 0;
	EXPECT_EQ(-1, send_cmsg(self->s, self->p1, "x", 1, SCM_CREDENTIALS,
				&uc, sizeof(uc), CMSG_LEN(sizeof(uc) - 4)));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, send_cmsg(self->s, self->p1, "x", 1, 99, &uc,
				sizeof(uc), 0));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, send_cmsg(self->s, self->p1, "x", 1, SCM_RIGHTS, &fd,
				sizeof(fd), 0));
	EXPECT_EQ(EOPNOTSUPP, errno);
	EXPECT_EQ(1, afx_dg_queue_empty(self->r));
}

/* SO_PASSCRED and no control buffer: the data, and MSG_CTRUNC. */
TEST_F(dg, ctrunc_without_control_buffer)
{
	struct ucred uc;
	int has, mf;
	char b[4];

	ASSERT_EQ(0, afx_set_int(self->r, SOL_SOCKET, SO_PASSCRED, 1));
	ASSERT_EQ(2, afx_send_to(self->s, "hi", 2, AFX_ADDR_LOCAL, self->p1, 0));
	ASSERT_EQ(2, recv_creds(self->r, b, sizeof(b), &uc, &has, &mf, 0));
	EXPECT_EQ(0, memcmp(b, "hi", 2));
	EXPECT_EQ(0, has);
	EXPECT_EQ(MSG_CTRUNC, mf & MSG_CTRUNC);
}

/* A reader in another user namespace sees the ids as they map there. */
TEST_F(dg, ids_translated_to_reader_userns)
{
	pid_t pid;
	int go[2];

	if (geteuid() != 0)
		SKIP(return, "the mapping below maps uid 0");
	ASSERT_EQ(0, afx_set_int(self->r, SOL_SOCKET, SO_PASSCRED, 1));
	ASSERT_EQ(0, pipe(go));
	pid = afx_child_fork(0);
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct ucred uc;
		int has, mf;
		char b[4], c;

		close(go[1]);
		if (unshare(CLONE_NEWUSER))
			_exit(10);
		if (afx_write_file("/proc/self/uid_map", "1000 0 1") ||
		    afx_write_file("/proc/self/setgroups", "deny") ||
		    afx_write_file("/proc/self/gid_map", "2000 0 1"))
			_exit(11);
		if (read(go[0], &c, 1) != 1)
			_exit(12);
		if (recv_creds(self->r, b, sizeof(b), &uc, &has, &mf, 1) != 1)
			_exit(13);
		if (!has || uc.uid != 1000 || uc.gid != 2000)
			_exit(14);
		_exit(0);
	}
	close(go[0]);
	ASSERT_EQ(1, afx_send_to(self->s, "u", 1, AFX_ADDR_LOCAL, self->p1, 0));
	ASSERT_EQ(1, write(go[1], "g", 1));
	close(go[1]);
	EXPECT_EQ(0, afx_wait_child(pid));
}

/* socketpair() ends carry credentials too. */
TEST(socketpair_creds)
{
	struct ucred uc;
	int sv[2], has, mf;
	char b[4];

	afx_watchdog(WATCHDOG_SEC);
	if (socketpair(afx_family(), SOCK_DGRAM, 0, sv))
		SKIP(return, "socketpair: %s", strerror(errno));
	ASSERT_EQ(0, afx_set_int(sv[1], SOL_SOCKET, SO_PASSCRED, 1));
	ASSERT_EQ(1, send(sv[0], "p", 1, 0));
	ASSERT_EQ(1, recv_creds(sv[1], b, sizeof(b), &uc, &has, &mf, 1));
	ASSERT_EQ(1, has);
	EXPECT_EQ(getpid(), uc.pid);
	ASSERT_EQ(1, send_creds(sv[1], 0, getpid(), getuid(), getgid()));
	ASSERT_EQ(1, recv_creds(sv[0], b, sizeof(b), &uc, &has, &mf, 1));
	EXPECT_EQ(0, has);	/* sv[0] did not ask */
	close(sv[0]);
	close(sv[1]);
}

/* A broadcast copy carries credentials to the readers that asked only. */
TEST(broadcast_creds)
{
	int r1, r2, s, has, mf, one = 1;
	uint32_t port = afx_free_port(SOCK_DGRAM);
	struct ucred uc;
	char b[4];

	afx_watchdog(WATCHDOG_SEC);
	r1 = afx_dg_bound(AFX_ADDR_ANY, port, 1);
	AFX_SKIP_IF_NO_AFX(r1);
	r2 = afx_dg_bound(AFX_ADDR_ANY, port, 1);
	ASSERT_LE(0, r2);
	s = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, s);
	ASSERT_EQ(0, setsockopt(s, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)));
	ASSERT_EQ(0, afx_set_int(r1, SOL_SOCKET, SO_PASSCRED, 1));
	ASSERT_EQ(1, afx_send_to(s, "B", 1, AFX_ADDR_BROADCAST, port, 0));
	ASSERT_EQ(1, recv_creds(r1, b, sizeof(b), &uc, &has, &mf, 1));
	ASSERT_EQ(1, has);
	EXPECT_EQ(getpid(), uc.pid);
	ASSERT_EQ(1, recv_creds(r2, b, sizeof(b), &uc, &has, &mf, 1));
	EXPECT_EQ(0, has);
	close(s);
	close(r1);
	close(r2);
}

/*
 * FIONREAD is the next datagram's length and /proc/net/afx's receive queue
 * the payload bytes, with or without credentials queued.
 */
TEST_F(dg, queue_sizes_count_payload)
{
	struct pline p;
	int n = -1;

	ASSERT_EQ(0, afx_set_int(self->r, SOL_SOCKET, SO_PASSCRED, 1));
	ASSERT_EQ(5, afx_send_to(self->s, "12345", 5, AFX_ADDR_LOCAL,
				 self->p1, 0));
	ASSERT_EQ(0, afx_set_int(self->r, SOL_SOCKET, SO_PASSCRED, 0));
	ASSERT_EQ(7, afx_send_to(self->s, "1234567", 7, AFX_ADDR_LOCAL,
				 self->p1, 0));
	ASSERT_EQ(0, ioctl(self->r, FIONREAD, &n));
	EXPECT_EQ(5, n);
	ASSERT_EQ(1, proc_find(ino_of(self->r), &p));
	EXPECT_EQ(12, p.rq);
}

/*
 * A child sends datagrams with credentials and exits; the reader closes
 * without reading them. Each held a reference on the child's struct pid:
 * on the debug kernel, kmemleak would report one that was never put.
 */
TEST_F(dg, closed_with_credentials_queued)
{
	pid_t pid;
	int i;

	ASSERT_EQ(0, afx_set_int(self->r, SOL_SOCKET, SO_PASSCRED, 1));
	pid = afx_child_fork(0);
	ASSERT_LE(0, pid);
	if (pid == 0) {
		for (i = 0; i < 50; i++)
			if (afx_send_to(self->s, "z", 1, AFX_ADDR_LOCAL,
					self->p1, 0) != 1)
				_exit(1);
		_exit(0);
	}
	ASSERT_EQ(0, afx_wait_child(pid));
	EXPECT_EQ(0, afx_dg_queue_empty(self->r));
	close(self->r);
	self->r = -1;
}

AFX_TEST_MAIN
