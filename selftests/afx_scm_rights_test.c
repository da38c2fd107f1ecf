// SPDX-License-Identifier: GPL-2.0
/*
 * afx_scm_rights_test.c - passing open files (SCM_RIGHTS) on datagram,
 * seqpacket and stream sockets.
 *
 *   the reader gets new descriptors for the same open files (one file
 *   offset, one set of status flags), all in one SCM_RIGHTS message, with
 *   FD_CLOEXEC only for MSG_CMSG_CLOEXEC; up to 253 descriptors over all
 *   the SCM_RIGHTS messages of a send, EINVAL beyond and for a malformed
 *   control message; EBADF for a descriptor that is not open, EOPNOTSUPP
 *   for AF_UNIX and AF_X sockets and io_uring; O_PATH descriptors, memfds,
 *   pipes, eventfds, pidfds, regular files and other families' sockets
 *   pass; a refused send queues nothing and keeps no file; the reader's
 *   short or missing control buffer, or its RLIMIT_NOFILE, gets it those
 *   that fit and MSG_CTRUNC, the rest are closed; MSG_PEEK gives new
 *   descriptors each time; a message never read closes its files when
 *   its receiver closes (an unaccepted seqpacket connection's when its
 *   listener closes); credentials in the same message; 8 more bytes of
 *   the receiver's queue per message; broadcasts refuse files (EINVAL);
 *   the in-flight limit (ETOOMANYREFS past RLIMIT_NOFILE, per real uid,
 *   waived by CAP_SYS_RESOURCE or CAP_SYS_ADMIN, released on receipt and
 *   on close); the send errors in their documented order; a storm of
 *   2000 messages per socket type, half read, half dropped.
 *
 * Every case runs on a unicast datagram pair, a connected datagram pair,
 * a datagram socketpair(), an accepted seqpacket connection, a seqpacket
 * socketpair(), an accepted stream connection and a stream socketpair()
 * (FIXTURE(fx)), unless it is about one of them; on streams a "message"
 * is the bytes of one write (afx_stream_anc_test has the stream rules).
 *
 * Documentation/afx.rst, "File descriptors" (and "Errors", the send
 * tables). That a passed file was closed, and not before it should be, is
 * read from a pipe: its write end is passed, the sender closes its own
 * copy, and the read end sees EOF (POLLHUP, read() 0) once the last copy
 * is gone. The debug lane's KASAN and kmemleak watch the storm.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <linux/capability.h>
#include <linux/netlink.h>
#if __has_include(<linux/io_uring.h>)
#include <linux/io_uring.h>
#define HAVE_IO_URING_H	1
#endif

#include "afx_harness.h"

#define WATCHDOG_SEC	25	/* harness default timeout is 30 s */

#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup	425
#endif
#ifndef __NR_pidfd_open
#define __NR_pidfd_open		434
#endif

#define MAX_FD		253	/* SCM_MAX_FD: descriptors in one message */
#define NOBODY		65534
#define NOBODY2		65533
#define LIMIT		16	/* RLIMIT_NOFILE of the limited senders */
#define CLOSE_MS	5000	/* the longest wait for a last close */
#define BIG_NOFILE	20000	/* RLIMIT_NOFILE for the many descriptors */

/* FIXTURE(dg): self->r bound to self->p1, self->s a bound sender. */
#include "afx_fixture_dg.h"

/* ---- control messages ---------------------------------------------------- */

#define CTL_ROOM	(2 * CMSG_SPACE(sizeof(int) * (MAX_FD + 8)) + \
			 CMSG_SPACE(sizeof(struct ucred)))

/* Control messages being built for a sendmsg(). */
struct ctl {
	union {
		char buf[CTL_ROOM];
		struct cmsghdr align;
	} u;
	size_t len;
};

/* Append a SOL_SOCKET control message of @type; its header is returned. */
static struct cmsghdr *ctl_add(struct ctl *c, int type, const void *data,
			       size_t dlen)
{
	struct cmsghdr *h = (struct cmsghdr *)(c->u.buf + c->len);

	if (c->len + CMSG_SPACE(dlen) > sizeof(c->u.buf))
		abort();
	memset(h, 0, CMSG_SPACE(dlen));
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = type;
	h->cmsg_len = CMSG_LEN(dlen);
	memcpy(CMSG_DATA(h), data, dlen);
	c->len += CMSG_SPACE(dlen);
	return h;
}

static struct cmsghdr *ctl_rights(struct ctl *c, const int *fds, int n)
{
	return ctl_add(c, SCM_RIGHTS, fds, sizeof(int) * n);
}

static struct cmsghdr *ctl_creds(struct ctl *c, pid_t pid, uid_t uid,
				 gid_t gid)
{
	struct ucred uc = { pid, uid, gid };

	return ctl_add(c, SCM_CREDENTIALS, &uc, sizeof(uc));
}

/*
 * sendmsg() of @len bytes to @to (NULL: the connected peer) with the
 * control messages @ctl, without waiting: what sendmsg() returns.
 */
static ssize_t send_ctl(int fd, const struct sockaddr_x *to, const void *buf,
			size_t len, const void *ctl, size_t ctllen)
{
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = {
		.msg_name = (void *)to,
		.msg_namelen = to ? sizeof(*to) : 0,
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctllen ? (void *)ctl : NULL,
		.msg_controllen = ctllen,
	};

	return sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* The same with one SCM_RIGHTS message of the @n descriptors @fds. */
static ssize_t send_fds(int fd, const struct sockaddr_x *to, const void *buf,
			size_t len, const int *fds, int n)
{
	struct ctl c = { .len = 0 };

	ctl_rights(&c, fds, n);
	return send_ctl(fd, to, buf, len, c.u.buf, c.len);
}

/* What recv_fds() read: one message and its control messages. */
struct rcvd {
	ssize_t n;		/* recvmsg()'s return */
	int flags;		/* msg_flags */
	int nrights;		/* SCM_RIGHTS messages */
	int nfds;		/* descriptors in them */
	int fds[MAX_FD + 8];
	int ncreds;		/* SCM_CREDENTIALS messages */
	struct ucred uc;
	int nother;		/* any other control message */
	char data[512];
};

#define CTL_FULL	(-1L)	/* recv_fds(): room for every control message */

/*
 * recvmsg() one message from @fd without waiting, with @flags, into @r;
 * the control buffer is @ctllen bytes long (0: none, CTL_FULL: room for
 * everything). Return: recvmsg()'s.
 */
static ssize_t recv_fds(int fd, struct rcvd *r, int flags, long ctllen)
{
	static struct ctl in;
	struct iovec iov = { r->data, sizeof(r->data) };
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctllen ? in.u.buf : NULL,
		.msg_controllen = ctllen < 0 ? sizeof(in.u.buf) : (size_t)ctllen,
	};
	struct cmsghdr *c;
	int i, k;

	r->flags = r->nrights = r->nfds = r->ncreds = r->nother = 0;
	memset(&in, 0, sizeof(in));
	r->n = recvmsg(fd, &mh, flags | MSG_DONTWAIT);
	if (r->n < 0)
		return r->n;
	r->flags = mh.msg_flags;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			r->nrights++;
			k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (i = 0; i < k && r->nfds < MAX_FD + 8; i++)
				memcpy(&r->fds[r->nfds++],
				       CMSG_DATA(c) + i * sizeof(int),
				       sizeof(int));
		} else if (c->cmsg_level == SOL_SOCKET &&
			   c->cmsg_type == SCM_CREDENTIALS &&
			   c->cmsg_len == CMSG_LEN(sizeof(struct ucred))) {
			r->ncreds++;
			memcpy(&r->uc, CMSG_DATA(c), sizeof(r->uc));
		} else {
			r->nother++;
		}
	}
	return r->n;
}

static void rcvd_close(struct rcvd *r)
{
	int i;

	for (i = 0; i < r->nfds; i++)
		close(r->fds[i]);
	r->nfds = 0;
}

/* 1 if nothing is queued at @fd (a peek finds nothing), else 0. */
static int queue_empty(int fd)
{
	char c;

	return recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) < 0 && errno == EAGAIN;
}

/* ---- files ----------------------------------------------------------------- */

/* A pipe, its read end nonblocking: p[0] read, p[1] write. */
static int mkpipe(int p[2])
{
	if (pipe2(p, O_CLOEXEC))
		return -1;
	return fcntl(p[0], F_SETFL, O_NONBLOCK);
}

/*
 * Has every copy of the write end of the empty pipe whose read end is
 * @rd been closed, within @ms (0: now)? 1: EOF (POLLHUP and read() 0);
 * 0: a write end is still open; -1: the pipe holds data, or poll failed.
 */
static int pipe_eof(int rd, int ms)
{
	struct pollfd p = { .fd = rd, .events = POLLIN };
	char c;
	int n;

	n = poll(&p, 1, ms);
	if (n <= 0)
		return n;
	if (!(p.revents & POLLHUP))
		return -1;
	return read(rd, &c, 1) == 0 ? 1 : -1;
}

/* Do @a and @b name the same inode? */
static int same_inode(int a, int b)
{
	struct stat x, y;

	if (fstat(a, &x) || fstat(b, &y))
		return 0;
	return x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

/* A number that is no open descriptor (now). */
static int closed_fd(void)
{
	int fd = dup(0);

	if (fd < 0)
		fd = open("/", O_PATH);
	if (fd >= 0)
		close(fd);
	return fd;
}

/* The counter of eventfd @fd (it reads as 0 after), -1 on an error. */
static int64_t eventfd_take(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return -1;
	return (int64_t)v;
}

static int io_uring_fd(void)
{
#ifdef HAVE_IO_URING_H
	struct io_uring_params p;
#else
	char p[120];
#endif

	memset(&p, 0, sizeof(p));
	return syscall(__NR_io_uring_setup, 1, &p);
}

/* RLIMIT_NOFILE raised to @n (lowered never): 0 or -1. */
static int nofile_at_least(rlim_t n)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return -1;
	if (rl.rlim_cur >= n)
		return 0;
	rl.rlim_cur = n;
	if (rl.rlim_max < n)
		rl.rlim_max = n;
	return setrlimit(RLIMIT_NOFILE, &rl);
}

/* "Pid:" of /proc/self/fdinfo/@fd (a pidfd), -1 if none. */
static long fdinfo_pid(int fd)
{
	char path[64], line[256];
	long pid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Pid: %ld", &pid) == 1)
			break;
	fclose(f);
	return pid;
}

/* ---- limited senders --------------------------------------------------------- */

/*
 * In a child: RLIMIT_NOFILE @limit, then real uid and gid @ruid, effective
 * and saved @euid (all capabilities gone unless both are 0). 0 or -1.
 */
static int become(rlim_t limit, uid_t ruid, uid_t euid)
{
	struct rlimit rl = { limit, limit };

	if (setrlimit(RLIMIT_NOFILE, &rl))
		return -1;
	if (ruid == 0 && euid == 0)
		return 0;
	if (setgroups(0, NULL) || setresgid(ruid, euid, euid) ||
	    setresuid(ruid, euid, euid))
		return -1;
	return 0;
}

/* Keep only the capabilities of @keep (bit numbers) effective: 0 or -1. */
static int effective_caps(uint64_t keep)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return -1;
	d[0].effective = (uint32_t)keep & d[0].permitted;
	d[1].effective = (uint32_t)(keep >> 32) & d[1].permitted;
	return syscall(SYS_capset, &h, d);
}

/*
 * Send one-descriptor messages ("f", passing @fd) from @s to @to until
 * one fails, at most @max: how many went; *@err the failure's errno (0 if
 * none failed).
 */
static int send_until_refused(int s, const struct sockaddr_x *to, int fd,
			      int max, int *err)
{
	int n;

	*err = 0;
	for (n = 0; n < max; n++) {
		if (send_fds(s, to, "f", 1, &fd, 1) != 1) {
			*err = errno;
			break;
		}
	}
	return n;
}

/*
 * Read every message queued at @r, closing the descriptors: how many
 * messages, and in *@files how many descriptors came with them (-1 on a
 * message with MSG_CTRUNC).
 */
static int drain_files(int r, int *files)
{
	struct rcvd m;
	int n = 0;

	*files = 0;
	while (recv_fds(r, &m, 0, CTL_FULL) >= 0) {
		n++;
		if (m.flags & MSG_CTRUNC)
			*files = -1;
		else if (*files >= 0)
			*files += m.nfds;
		rcvd_close(&m);
	}
	return n;
}

/* ---- FIXTURE(fx): the five ways to a receiver ---------------------------------- */

enum how {
	UNICAST,	/* bound datagram sockets, sendto() */
	CONNECTED,	/* datagram sockets connected to each other */
	PAIR,		/* socketpair() */
	ACCEPTED,	/* seqpacket or stream connect() and accept() */
};

/*
 * FIXTURE(fx): self->s sends to self->r, through self->dest (the
 * receiver's address for sendto(), NULL on a connected socket); self->l
 * the seqpacket listener.
 */
FIXTURE(fx) {
	int s, r, l;
	int type;
	struct sockaddr_x to;
	const struct sockaddr_x *dest;
};

FIXTURE_VARIANT(fx) {
	int type;
	enum how how;
};

FIXTURE_VARIANT_ADD(fx, dgram_unicast) {
	.type = SOCK_DGRAM, .how = UNICAST,
};

FIXTURE_VARIANT_ADD(fx, dgram_connected) {
	.type = SOCK_DGRAM, .how = CONNECTED,
};

FIXTURE_VARIANT_ADD(fx, dgram_pair) {
	.type = SOCK_DGRAM, .how = PAIR,
};

FIXTURE_VARIANT_ADD(fx, seqpacket) {
	.type = SOCK_SEQPACKET, .how = ACCEPTED,
};

FIXTURE_VARIANT_ADD(fx, seqpacket_pair) {
	.type = SOCK_SEQPACKET, .how = PAIR,
};

FIXTURE_VARIANT_ADD(fx, stream) {
	.type = SOCK_STREAM, .how = ACCEPTED,
};

FIXTURE_VARIANT_ADD(fx, stream_pair) {
	.type = SOCK_STREAM, .how = PAIR,
};

FIXTURE_SETUP(fx)
{
	uint32_t port;
	int fd, sv[2];
	long p;

	afx_watchdog(WATCHDOG_SEC);
	self->s = self->r = self->l = -1;
	self->dest = NULL;
	self->type = variant->type;
	fd = afx_socket(variant->type);
	AFX_SKIP_IF_NO_AFX(fd);
	ASSERT_LE(0, fd) TH_LOG("socket: %s", strerror(errno));
	close(fd);
	switch (variant->how) {
	case UNICAST:
		self->r = afx_dg_bound(AFX_ADDR_ANY, AFX_PORT_ANY, 0);
		ASSERT_LE(0, self->r);
		self->s = afx_dg_bound(AFX_ADDR_ANY, AFX_PORT_ANY, 0);
		ASSERT_LE(0, self->s);
		p = afx_local_port(self->r);
		ASSERT_LT(0, p);
		self->to = afx_sockaddr(AFX_ADDR_LOCAL, (uint32_t)p);
		self->dest = &self->to;
		break;
	case CONNECTED:
		ASSERT_EQ(0, afx_dgram_pair(sv));
		self->s = sv[0];
		self->r = sv[1];
		break;
	case PAIR:
		ASSERT_EQ(0, socketpair(afx_family(), variant->type, 0, sv))
			TH_LOG("socketpair: %s", strerror(errno));
		self->s = sv[0];
		self->r = sv[1];
		break;
	case ACCEPTED:
		self->l = afx_listener(variant->type, 4, &port);
		ASSERT_LE(0, self->l);
		self->s = afx_socket(variant->type);
		ASSERT_LE(0, self->s);
		ASSERT_EQ(0, afx_connect_port(self->s, port));
		self->r = accept(self->l, NULL, NULL);
		ASSERT_LE(0, self->r);
		break;
	}
}

FIXTURE_TEARDOWN(fx)
{
	if (self->s >= 0)
		close(self->s);
	if (self->r >= 0)
		close(self->r);
	if (self->l >= 0)
		close(self->l);
	afx_watchdog(0);
}

static ssize_t fx_send(FIXTURE_DATA(fx) *self, const void *buf, size_t len,
		       const int *fds, int n)
{
	return send_fds(self->s, self->dest, buf, len, fds, n);
}

/* ---- the same open file ------------------------------------------------------ */

/*
 * A memfd arrives as a new descriptor for the same open file: the same
 * inode and content, one file offset and one set of status flags shared
 * with the sender's descriptor; the payload comes whole, in one
 * SCM_RIGHTS message, without FD_CLOEXEC.
 */
TEST_F(fx, memfd_arrives_as_the_same_open_file)
{
	static const char text[] = "written before it was passed";
	struct rcvd r;
	char back[64];
	int m, fl;

	m = memfd_create("afx_scm_rights", MFD_CLOEXEC);
	ASSERT_LE(0, m);
	ASSERT_EQ((ssize_t)sizeof(text), write(m, text, sizeof(text)));
	ASSERT_EQ(3, fx_send(self, "mem", 3, &m, 1))
		TH_LOG("sendmsg: %s", strerror(errno));
	ASSERT_EQ(3, recv_fds(self->r, &r, 0, CTL_FULL))
		TH_LOG("recvmsg: %s", strerror(errno));
	EXPECT_EQ(0, memcmp(r.data, "mem", 3));
	EXPECT_EQ(0, r.flags & (MSG_CTRUNC | MSG_TRUNC));
	EXPECT_EQ(1, r.nrights);
	EXPECT_EQ(0, r.ncreds + r.nother);
	ASSERT_EQ(1, r.nfds);
	EXPECT_NE(m, r.fds[0]);
	EXPECT_EQ(1, same_inode(m, r.fds[0]));
	/* one open file description: one offset */
	EXPECT_EQ((off_t)sizeof(text), lseek(r.fds[0], 0, SEEK_CUR));
	ASSERT_EQ(0, lseek(r.fds[0], 0, SEEK_SET));
	EXPECT_EQ(0, lseek(m, 0, SEEK_CUR));
	ASSERT_EQ((ssize_t)sizeof(text), read(r.fds[0], back, sizeof(back)));
	EXPECT_EQ(0, memcmp(back, text, sizeof(text)));
	EXPECT_EQ((off_t)sizeof(text), lseek(m, 0, SEEK_CUR));
	/* ... and one set of status flags */
	fl = fcntl(m, F_GETFL);
	ASSERT_EQ(0, fl & O_NONBLOCK);
	ASSERT_EQ(0, fcntl(r.fds[0], F_SETFL, fl | O_NONBLOCK));
	EXPECT_EQ(O_NONBLOCK, fcntl(m, F_GETFL) & O_NONBLOCK);
	/* written through one descriptor, read through the other */
	ASSERT_EQ(4, pwrite(r.fds[0], "back", 4, 100));
	ASSERT_EQ(4, pread(m, back, 4, 100));
	EXPECT_EQ(0, memcmp(back, "back", 4));
	/* FD_CLOEXEC is the descriptor's: ours has it, the new one not */
	EXPECT_EQ(FD_CLOEXEC, fcntl(m, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(0, fcntl(r.fds[0], F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(1, queue_empty(self->r));
	rcvd_close(&r);
	close(m);
}

/* MSG_CMSG_CLOEXEC gives the new descriptors FD_CLOEXEC; without, none. */
TEST_F(fx, msg_cmsg_cloexec_sets_fd_cloexec)
{
	struct rcvd r;
	int p[2];

	ASSERT_EQ(0, mkpipe(p));
	ASSERT_EQ(1, fx_send(self, "1", 1, &p[1], 1));
	ASSERT_EQ(1, fx_send(self, "2", 1, &p[1], 1));
	ASSERT_EQ(1, recv_fds(self->r, &r, MSG_CMSG_CLOEXEC, CTL_FULL));
	ASSERT_EQ(1, r.nfds);
	EXPECT_EQ('1', r.data[0]);
	EXPECT_EQ(FD_CLOEXEC, fcntl(r.fds[0], F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(1, same_inode(p[1], r.fds[0]));
	rcvd_close(&r);
	ASSERT_EQ(0, fcntl(p[1], F_SETFD, 0));
	ASSERT_EQ(1, recv_fds(self->r, &r, 0, CTL_FULL));
	ASSERT_EQ(1, r.nfds);
	EXPECT_EQ('2', r.data[0]);
	EXPECT_EQ(0, fcntl(r.fds[0], F_GETFD) & FD_CLOEXEC);
	rcvd_close(&r);
	close(p[0]);
	close(p[1]);
}

/*
 * The descriptors of two SCM_RIGHTS messages of one send arrive in one
 * SCM_RIGHTS message, in order, each a new descriptor (a file given twice
 * arrives twice).
 */
TEST_F(fx, all_descriptors_arrive_in_one_cmsg_in_order)
{
	int p[2], m, e, a[2], b[2], i, j;
	struct ctl c = { .len = 0 };
	struct rcvd r;
	char x;

	ASSERT_EQ(0, mkpipe(p));
	m = memfd_create("afx_scm_rights", MFD_CLOEXEC);
	ASSERT_LE(0, m);
	e = eventfd(7, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, e);
	a[0] = p[1];
	a[1] = m;
	b[0] = m;
	b[1] = e;
	ctl_rights(&c, a, 2);
	ctl_rights(&c, b, 2);
	ASSERT_EQ(2, send_ctl(self->s, self->dest, "ab", 2, c.u.buf, c.len))
		TH_LOG("sendmsg: %s", strerror(errno));
	ASSERT_EQ(2, recv_fds(self->r, &r, 0, CTL_FULL));
	EXPECT_EQ(0, r.flags & MSG_CTRUNC);
	EXPECT_EQ(1, r.nrights);
	ASSERT_EQ(4, r.nfds);
	for (i = 0; i < 4; i++) {
		EXPECT_NE(p[1], r.fds[i]);
		EXPECT_NE(m, r.fds[i]);
		EXPECT_NE(e, r.fds[i]);
		for (j = 0; j < i; j++) {
			EXPECT_NE(r.fds[j], r.fds[i]);
		}
	}
	/* [0] the pipe's write end */
	ASSERT_EQ(1, write(r.fds[0], "x", 1));
	ASSERT_EQ(1, read(p[0], &x, 1));
	EXPECT_EQ('x', x);
	/* [1] and [2] the memfd */
	EXPECT_EQ(1, same_inode(m, r.fds[1]));
	EXPECT_EQ(1, same_inode(m, r.fds[2]));
	/* [3] the eventfd */
	EXPECT_EQ(7, eventfd_take(r.fds[3]));
	rcvd_close(&r);
	close(p[0]);
	close(p[1]);
	close(m);
	close(e);
}

/* 253 descriptors pass, in one SCM_RIGHTS message or in two. */
TEST_F(fx, max_253_descriptors_pass)
{
	int fds[MAX_FD], m, i, j, bad;
	struct ctl c = { .len = 0 };
	struct rcvd r;

	ASSERT_EQ(0, nofile_at_least(1024)) TH_LOG("%s", strerror(errno));
	m = memfd_create("afx_scm_rights", MFD_CLOEXEC);
	ASSERT_LE(0, m);
	for (i = 0; i < MAX_FD; i++)
		fds[i] = m;
	ASSERT_EQ(1, fx_send(self, "1", 1, fds, MAX_FD))
		TH_LOG("sendmsg: %s", strerror(errno));
	ctl_rights(&c, fds, 200);
	ctl_rights(&c, fds, MAX_FD - 200);
	ASSERT_EQ(1, send_ctl(self->s, self->dest, "2", 1, c.u.buf, c.len))
		TH_LOG("sendmsg: %s", strerror(errno));
	for (i = 1; i <= 2; i++) {
		ASSERT_EQ(1, recv_fds(self->r, &r, 0, CTL_FULL));
		EXPECT_EQ('0' + i, r.data[0]);
		EXPECT_EQ(0, r.flags & MSG_CTRUNC);
		EXPECT_EQ(1, r.nrights);
		EXPECT_EQ(MAX_FD, r.nfds);
		bad = 0;
		for (j = 0; j < r.nfds; j++)
			bad += !same_inode(m, r.fds[j]);
		EXPECT_EQ(0, bad);
		rcvd_close(&r);
	}
	EXPECT_EQ(1, queue_empty(self->r));
	close(m);
}

/*
 * 254 descriptors: EINVAL, in one SCM_RIGHTS message or over two, and
 * before the descriptors are looked at; nothing queued, no file kept.
 */
TEST_F(fx, more_than_253_descriptors_einval)
{
	int fds[MAX_FD + 1], p[2], i;
	struct ctl c = { .len = 0 };

	ASSERT_EQ(0, mkpipe(p));
	for (i = 0; i <= MAX_FD; i++)
		fds[i] = p[1];
	errno = 0;
	EXPECT_EQ(-1, fx_send(self, "x", 1, fds, MAX_FD + 1));
	EXPECT_EQ(EINVAL, errno);
	ctl_rights(&c, fds, 200);
	ctl_rights(&c, fds, MAX_FD + 1 - 200);
	errno = 0;
	EXPECT_EQ(-1, send_ctl(self->s, self->dest, "x", 1, c.u.buf, c.len));
	EXPECT_EQ(EINVAL, errno);
	for (i = 0; i <= MAX_FD; i++)
		fds[i] = -1;
	errno = 0;
	EXPECT_EQ(-1, fx_send(self, "x", 1, fds, MAX_FD + 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(1, queue_empty(self->r));
	close(p[1]);
	EXPECT_EQ(1, pipe_eof(p[0], 0));
	close(p[0]);
}

/*
 * A malformed control message (cmsg_len shorter than its header, or
 * beyond msg_controllen), alone or after a good SCM_RIGHTS one: EINVAL,
 * nothing queued, no file kept.
 */
TEST_F(fx, malformed_cmsg_einval)
{
	struct ctl c = { .len = 0 };
	struct cmsghdr *h;
	int p[2];

	ASSERT_EQ(0, mkpipe(p));
	h = ctl_rights(&c, &p[1], 1);
	h->cmsg_len = sizeof(struct cmsghdr) - 4;
	errno = 0;
	EXPECT_EQ(-1, send_ctl(self->s, self->dest, "x", 1, c.u.buf, c.len));
	EXPECT_EQ(EINVAL, errno);

	h->cmsg_len = CMSG_LEN(4 * sizeof(int));
	ASSERT_LT(c.len, h->cmsg_len);
	errno = 0;
	EXPECT_EQ(-1, send_ctl(self->s, self->dest, "x", 1, c.u.buf, c.len));
	EXPECT_EQ(EINVAL, errno);

	c.len = 0;
	ctl_rights(&c, &p[1], 1);
	h = ctl_rights(&c, &p[1], 1);
	h->cmsg_len = CMSG_LEN(64);
	errno = 0;
	EXPECT_EQ(-1, send_ctl(self->s, self->dest, "x", 1, c.u.buf, c.len));
	EXPECT_EQ(EINVAL, errno);

	EXPECT_EQ(1, queue_empty(self->r));
	close(p[1]);
	EXPECT_EQ(1, pipe_eof(p[0], 0));
	close(p[0]);
}

/*
 * A descriptor that is not open, alone, as -1 or after a good one:
 * EBADF, nothing queued, no file kept.
 */
TEST_F(fx, descriptor_not_open_ebadf)
{
	int p[2], fds[2];

	ASSERT_EQ(0, mkpipe(p));
	fds[0] = closed_fd();
	errno = 0;
	EXPECT_EQ(-1, fx_send(self, "x", 1, fds, 1));
	EXPECT_EQ(EBADF, errno);
	fds[0] = -1;
	errno = 0;
	EXPECT_EQ(-1, fx_send(self, "x", 1, fds, 1));
	EXPECT_EQ(EBADF, errno);
	fds[0] = p[1];
	fds[1] = closed_fd();
	errno = 0;
	EXPECT_EQ(-1, fx_send(self, "x", 1, fds, 2));
	EXPECT_EQ(EBADF, errno);
	EXPECT_EQ(1, queue_empty(self->r));
	close(p[1]);
	EXPECT_EQ(1, pipe_eof(p[0], 0));
	close(p[0]);
}

/*
 * AF_UNIX sockets of every type (a socketpair() end too): EOPNOTSUPP,
 * alone or after a good descriptor; nothing queued, no file kept.
 */
TEST_F(fx, unix_sockets_eopnotsupp)
{
	static const int types[] = { SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET };
	int p[2], u[5], fds[2], i;

	ASSERT_EQ(0, mkpipe(p));
	for (i = 0; i < 3; i++) {
		u[i] = socket(AF_UNIX, types[i] | SOCK_CLOEXEC, 0);
		ASSERT_LE(0, u[i]) TH_LOG("AF_UNIX %d: %s", types[i],
					  strerror(errno));
	}
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, &u[3]));
	for (i = 0; i < 5; i++) {
		errno = 0;
		EXPECT_EQ(-1, fx_send(self, "x", 1, &u[i], 1))
			TH_LOG("AF_UNIX socket %d passed", i);
		EXPECT_EQ(EOPNOTSUPP, errno);
	}
	fds[0] = p[1];
	fds[1] = u[1];
	errno = 0;
	EXPECT_EQ(-1, fx_send(self, "x", 1, fds, 2));
	EXPECT_EQ(EOPNOTSUPP, errno);
	EXPECT_EQ(1, queue_empty(self->r));
	close(p[1]);
	EXPECT_EQ(1, pipe_eof(p[0], 0));
	close(p[0]);
	for (i = 0; i < 5; i++)
		close(u[i]);
}

/*
 * AF_X sockets of every type, a listener, the sending and the receiving
 * socket themselves: EOPNOTSUPP, nothing queued.
 */
TEST_F(fx, afx_sockets_eopnotsupp)
{
	int x[4], i, fds[2];
	uint32_t port;

	x[0] = afx_socket(SOCK_STREAM);
	x[1] = afx_socket(SOCK_DGRAM);
	x[2] = afx_socket(SOCK_SEQPACKET);
	x[3] = afx_listener(SOCK_STREAM, 1, &port);
	for (i = 0; i < 4; i++) {
		ASSERT_LE(0, x[i]);
		errno = 0;
		EXPECT_EQ(-1, fx_send(self, "x", 1, &x[i], 1))
			TH_LOG("AF_X socket %d passed", i);
		EXPECT_EQ(EOPNOTSUPP, errno);
	}
	fds[0] = self->s;
	fds[1] = self->r;
	for (i = 0; i < 2; i++) {
		errno = 0;
		EXPECT_EQ(-1, fx_send(self, "x", 1, &fds[i], 1))
			TH_LOG("%s passed", i ? "the receiver" : "the sender");
		EXPECT_EQ(EOPNOTSUPP, errno);
	}
	EXPECT_EQ(1, queue_empty(self->r));
	for (i = 0; i < 4; i++)
		close(x[i]);
}

/*
 * An io_uring: EOPNOTSUPP, nothing queued. (Once, on datagrams: the
 * check is the one every send with SCM_RIGHTS makes.)
 */
TEST_F(dg, io_uring_eopnotsupp)
{
	const struct sockaddr_x to = afx_sockaddr(AFX_ADDR_LOCAL, self->p1);
	int u;

	u = io_uring_fd();
	if (u < 0 && (errno == ENOSYS || errno == EPERM))
		SKIP(return, "io_uring_setup: %s: the kernel has no io_uring",
		     strerror(errno));
	ASSERT_LE(0, u) TH_LOG("io_uring_setup: %s", strerror(errno));
	errno = 0;
	EXPECT_EQ(-1, send_fds(self->s, &to, "x", 1, &u, 1));
	EXPECT_EQ(EOPNOTSUPP, errno);
	EXPECT_EQ(1, queue_empty(self->r));
	close(u);
}

/* ---- what passes ----------------------------------------------------------------- */

/* An O_PATH descriptor passes and stays one. */
TEST_F(fx, o_path_descriptor_passes)
{
	struct rcvd r;
	int o;

	o = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	ASSERT_LE(0, o);
	ASSERT_EQ(1, fx_send(self, "o", 1, &o, 1))
		TH_LOG("sendmsg: %s", strerror(errno));
	ASSERT_EQ(1, recv_fds(self->r, &r, 0, CTL_FULL));
	ASSERT_EQ(1, r.nfds);
	EXPECT_EQ(O_PATH, fcntl(r.fds[0], F_GETFL) & O_PATH);
	EXPECT_EQ(1, same_inode(o, r.fds[0]));
	rcvd_close(&r);
	close(o);
}

/*
 * A pipe's read end and an eventfd pass: bytes written into our write
 * end come out of the received read end, a count added through the
 * received eventfd is read from ours.
 */
TEST_F(fx, pipe_and_eventfd_pass)
{
	int p[2], e, fds[2];
	struct rcvd r;
	char b[4];

	ASSERT_EQ(0, mkpipe(p));
	e = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, e);
	fds[0] = p[0];
	fds[1] = e;
	ASSERT_EQ(1, fx_send(self, "p", 1, fds, 2))
		TH_LOG("sendmsg: %s", strerror(errno));
	ASSERT_EQ(1, recv_fds(self->r, &r, 0, CTL_FULL));
	ASSERT_EQ(2, r.nfds);
	ASSERT_EQ(3, write(p[1], "abc", 3));
	ASSERT_EQ(3, read(r.fds[0], b, sizeof(b)));
	EXPECT_EQ(0, memcmp(b, "abc", 3));
	ASSERT_EQ(0, eventfd_write(r.fds[1], 5));
	EXPECT_EQ(5, eventfd_take(e));
	rcvd_close(&r);
	close(p[0]);
	close(p[1]);
	close(e);
}

/* A pidfd passes and names the same process. */
TEST_F(fx, pidfd_passes)
{
	struct rcvd r;
	int pfd;

	pfd = syscall(__NR_pidfd_open, getpid(), 0);
	ASSERT_LE(0, pfd) TH_LOG("pidfd_open: %s", strerror(errno));
	ASSERT_EQ((long)getpid(), fdinfo_pid(pfd));
	ASSERT_EQ(1, fx_send(self, "d", 1, &pfd, 1))
		TH_LOG("sendmsg: %s", strerror(errno));
	ASSERT_EQ(1, recv_fds(self->r, &r, 0, CTL_FULL));
	ASSERT_EQ(1, r.nfds);
	EXPECT_EQ((long)getpid(), fdinfo_pid(r.fds[0]));
	rcvd_close(&r);
	close(pfd);
}

/* A regular file passes: the same inode, content and offset. */
TEST_F(fx, regular_file_passes)
{
	char path[] = "/tmp/afx_scm_rights.XXXXXX", b[8];
	struct rcvd r;
	int f;

	f = mkostemp(path, O_CLOEXEC);
	ASSERT_LE(0, f) TH_LOG("mkstemp: %s", strerror(errno));
	unlink(path);
	ASSERT_EQ(7, write(f, "regular", 7));
	ASSERT_EQ(1, fx_send(self, "f", 1, &f, 1))
		TH_LOG("sendmsg: %s", strerror(errno));
	ASSERT_EQ(1, recv_fds(self->r, &r, 0, CTL_FULL));
	ASSERT_EQ(1, r.nfds);
	EXPECT_EQ(1, same_inode(f, r.fds[0]));
	EXPECT_EQ(7, lseek(r.fds[0], 0, SEEK_CUR));
	ASSERT_EQ(7, pread(r.fds[0], b, sizeof(b), 0));
	EXPECT_EQ(0, memcmp(b, "regular", 7));
	rcvd_close(&r);
	close(f);
}

/* Sockets of other families (AF_INET, AF_NETLINK) pass. */
TEST_F(fx, inet_and_netlink_sockets_pass)
{
	struct sockaddr_in in = { .sin_family = AF_INET }, in2;
	struct sockaddr_nl nl = { .nl_family = AF_NETLINK }, nl2;
	socklen_t len;
	struct rcvd r;
	int fds[2], dom;

	fds[0] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, fds[0]) TH_LOG("AF_INET: %s", strerror(errno));
	ASSERT_EQ(0, bind(fds[0], (struct sockaddr *)&in, sizeof(in)));
	fds[1] = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	ASSERT_LE(0, fds[1]) TH_LOG("AF_NETLINK: %s", strerror(errno));
	ASSERT_EQ(0, bind(fds[1], (struct sockaddr *)&nl, sizeof(nl)));
	len = sizeof(in);
	ASSERT_EQ(0, getsockname(fds[0], (struct sockaddr *)&in, &len));
	len = sizeof(nl);
	ASSERT_EQ(0, getsockname(fds[1], (struct sockaddr *)&nl, &len));

	ASSERT_EQ(1, fx_send(self, "s", 1, fds, 2))
		TH_LOG("sendmsg: %s", strerror(errno));
	ASSERT_EQ(1, recv_fds(self->r, &r, 0, CTL_FULL));
	ASSERT_EQ(2, r.nfds);
	ASSERT_EQ(0, afx_get_int(r.fds[0], SOL_SOCKET, SO_DOMAIN, &dom));
	EXPECT_EQ(AF_INET, dom);
	len = sizeof(in2);
	ASSERT_EQ(0, getsockname(r.fds[0], (struct sockaddr *)&in2, &len));
	EXPECT_EQ(in.sin_port, in2.sin_port);
	ASSERT_EQ(0, afx_get_int(r.fds[1], SOL_SOCKET, SO_DOMAIN, &dom));
	EXPECT_EQ(AF_NETLINK, dom);
	len = sizeof(nl2);
	ASSERT_EQ(0, getsockname(r.fds[1], (struct sockaddr *)&nl2, &len));
	EXPECT_EQ(nl.nl_pid, nl2.nl_pid);
	rcvd_close(&r);
	close(fds[0]);
	close(fds[1]);
}

/* An empty message carries files too. */
TEST_F(fx, empty_message_carries_files)
{
	struct rcvd r;
	int p[2];

	ASSERT_EQ(0, mkpipe(p));
	ASSERT_EQ(0, fx_send(self, "", 0, &p[1], 1))
		TH_LOG("sendmsg: %s", strerror(errno));
	if (self->type == SOCK_STREAM) {
		/* A stream's empty write sends nothing, files included. */
		close(p[1]);
		EXPECT_EQ(1, pipe_eof(p[0], CLOSE_MS));
		EXPECT_EQ(1, queue_empty(self->r));
		close(p[0]);
		return;
	}
	ASSERT_EQ(0, recv_fds(self->r, &r, 0, CTL_FULL))
		TH_LOG("recvmsg: %s", strerror(errno));
	ASSERT_EQ(1, r.nfds);
	EXPECT_EQ(1, same_inode(p[1], r.fds[0]));
	EXPECT_EQ(1, queue_empty(self->r));
	rcvd_close(&r);
	close(p[0]);
	close(p[1]);
}

/* ---- receiving ---------------------------------------------------------------- */

/*
 * A control buffer with room for k < 3 descriptors: the first k are
 * installed, MSG_CTRUNC, the others are closed at once; the kept ones
 * only when the reader closes them.
 */
TEST_F(fx, short_control_buffer_installs_what_fits_closes_rest)
{
	int p[3][2], w[3], i, k;
	struct rcvd r;
	char c;

	for (k = 1; k <= 2; k++) {
		for (i = 0; i < 3; i++) {
			ASSERT_EQ(0, mkpipe(p[i]));
			w[i] = p[i][1];
		}
		ASSERT_EQ(1, fx_send(self, "t", 1, w, 3));
		for (i = 0; i < 3; i++) {
			close(p[i][1]);
			EXPECT_EQ(0, pipe_eof(p[i][0], 0))
				TH_LOG("pipe %d closed while queued", i);
		}
		ASSERT_EQ(1, recv_fds(self->r, &r, 0,
				      CMSG_LEN(k * sizeof(int))));
		EXPECT_EQ('t', r.data[0]);
		EXPECT_EQ(MSG_CTRUNC, r.flags & MSG_CTRUNC);
		ASSERT_EQ(k, r.nfds) TH_LOG("room for %d", k);
		for (i = k; i < 3; i++) {
			EXPECT_EQ(1, pipe_eof(p[i][0], CLOSE_MS))
				TH_LOG("pipe %d, not received, still open", i);
		}
		for (i = 0; i < k; i++) {
			/* the first ones, in order */
			EXPECT_EQ(0, pipe_eof(p[i][0], 0));
			c = '0' + i;
			ASSERT_EQ(1, write(r.fds[i], &c, 1));
			c = 0;
			ASSERT_EQ(1, read(p[i][0], &c, 1));
			EXPECT_EQ('0' + i, c);
			close(r.fds[i]);
			EXPECT_EQ(1, pipe_eof(p[i][0], CLOSE_MS));
		}
		for (i = 0; i < 3; i++)
			close(p[i][0]);
		EXPECT_EQ(1, queue_empty(self->r));
	}
}

/* No control buffer: the payload, MSG_CTRUNC, and every file closed. */
TEST_F(fx, no_control_buffer_closes_every_file_ctrunc)
{
	int p[3][2], w[3], i;
	struct rcvd r;

	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, mkpipe(p[i]));
		w[i] = p[i][1];
	}
	ASSERT_EQ(2, fx_send(self, "nc", 2, w, 3));
	for (i = 0; i < 3; i++) {
		close(p[i][1]);
		EXPECT_EQ(0, pipe_eof(p[i][0], 0));
	}
	ASSERT_EQ(2, recv_fds(self->r, &r, 0, 0));
	EXPECT_EQ(0, memcmp(r.data, "nc", 2));
	EXPECT_EQ(MSG_CTRUNC, r.flags & MSG_CTRUNC);
	EXPECT_EQ(0, r.nfds);
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(1, pipe_eof(p[i][0], CLOSE_MS)) TH_LOG("pipe %d", i);
		close(p[i][0]);
	}
	EXPECT_EQ(1, queue_empty(self->r));
}

/*
 * A reader that may open one more descriptor only (RLIMIT_NOFILE) gets
 * the first of three, MSG_CTRUNC; the other two are closed.
 */
TEST_F(fx, reader_out_of_descriptors_gets_what_fits_ctrunc)
{
	int go[2], res[2], p[3][2], w[3], i;
	char c, code;
	pid_t pid;

	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(res));
	/* The child has no copy of the pipes below: forked before them. */
	pid = afx_child_fork(0);
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct rlimit rl;
		struct rcvd r;
		int lowest;

		close(go[1]);
		close(res[0]);
		if (read(go[0], &c, 1) != 1)
			_exit(10);
		lowest = dup(self->r);
		if (lowest < 0 || close(lowest) || getrlimit(RLIMIT_NOFILE, &rl))
			_exit(11);
		rl.rlim_cur = lowest + 1;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			_exit(12);
		code = 0;
		if (recv_fds(self->r, &r, 0, CTL_FULL) != 1)
			code = 1;
		else if (!(r.flags & MSG_CTRUNC))
			code = 2;
		else if (r.nfds != 1)
			code = 3;
		else if (write(r.fds[0], "c", 1) != 1)
			code = 4;
		if (write(res[1], &code, 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(13);
		_exit(0);
	}
	close(go[0]);
	close(res[1]);
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, mkpipe(p[i]));
		w[i] = p[i][1];
	}
	ASSERT_EQ(1, fx_send(self, "l", 1, w, 3));
	for (i = 0; i < 3; i++)
		close(p[i][1]);
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(1, read(res[0], &code, 1)) TH_LOG("the child died");
	EXPECT_EQ(0, code)
		TH_LOG("child: 1 recvmsg failed, 2 no MSG_CTRUNC, 3 not 1 fd, 4 not the first pipe");
	ASSERT_EQ(1, read(p[0][0], &c, 1));
	EXPECT_EQ('c', c);
	EXPECT_EQ(0, pipe_eof(p[0][0], 0));
	EXPECT_EQ(1, pipe_eof(p[1][0], CLOSE_MS));
	EXPECT_EQ(1, pipe_eof(p[2][0], CLOSE_MS));
	ASSERT_EQ(1, write(go[1], "q", 1));
	EXPECT_EQ(0, afx_wait_child(pid));
	EXPECT_EQ(1, pipe_eof(p[0][0], CLOSE_MS));
	for (i = 0; i < 3; i++)
		close(p[i][0]);
	close(go[1]);
	close(res[0]);
}

/*
 * MSG_PEEK gives new descriptors for the queued files each time (without
 * a control buffer: MSG_CTRUNC, none) and leaves the files queued: closing
 * what the peeks gave keeps the pipe open, the read takes the files.
 */
TEST_F(fx, msg_peek_gives_new_descriptors_files_stay_queued)
{
	struct rcvd a, b, r;
	int p[2];
	char c;

	ASSERT_EQ(0, mkpipe(p));
	ASSERT_EQ(2, fx_send(self, "pk", 2, &p[1], 1));
	close(p[1]);
	ASSERT_EQ(2, recv_fds(self->r, &a, MSG_PEEK, CTL_FULL));
	ASSERT_EQ(1, a.nfds);
	ASSERT_EQ(2, recv_fds(self->r, &b, MSG_PEEK, CTL_FULL));
	ASSERT_EQ(1, b.nfds);
	EXPECT_NE(a.fds[0], b.fds[0]);
	EXPECT_EQ(1, same_inode(a.fds[0], b.fds[0]));
	ASSERT_EQ(1, write(a.fds[0], "a", 1));
	ASSERT_EQ(1, read(p[0], &c, 1));
	EXPECT_EQ('a', c);
	rcvd_close(&a);
	rcvd_close(&b);
	ASSERT_EQ(2, recv_fds(self->r, &a, MSG_PEEK, 0));
	EXPECT_EQ(MSG_CTRUNC, a.flags & MSG_CTRUNC);
	EXPECT_EQ(0, pipe_eof(p[0], 0)) TH_LOG("peeked files closed");

	ASSERT_EQ(2, recv_fds(self->r, &r, 0, CTL_FULL));
	EXPECT_EQ(0, memcmp(r.data, "pk", 2));
	EXPECT_EQ(0, r.flags & MSG_CTRUNC);
	ASSERT_EQ(1, r.nfds);
	EXPECT_EQ(1, queue_empty(self->r));
	EXPECT_EQ(0, pipe_eof(p[0], 0));
	rcvd_close(&r);
	EXPECT_EQ(1, pipe_eof(p[0], CLOSE_MS));
	close(p[0]);
}

/* ---- files in flight closed -------------------------------------------------- */

/*
 * Messages never read keep their files open until their receiver
 * closes, then every one is closed.
 */
TEST_F(fx, unread_files_closed_when_receiver_closes)
{
	int p[3][2], w[2], i;

	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, mkpipe(p[i]));
	}
	ASSERT_EQ(1, fx_send(self, "1", 1, &p[0][1], 1));
	w[0] = p[1][1];
	w[1] = p[2][1];
	ASSERT_EQ(1, fx_send(self, "2", 1, w, 2));
	ASSERT_EQ(1, fx_send(self, "3", 1, &p[2][1], 1));
	for (i = 0; i < 3; i++) {
		close(p[i][1]);
		EXPECT_EQ(0, pipe_eof(p[i][0], 0));
	}
	close(self->r);
	self->r = -1;
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(1, pipe_eof(p[i][0], CLOSE_MS)) TH_LOG("pipe %d", i);
		close(p[i][0]);
	}
}

/* The sender closing changes nothing: the message, files and all, stays. */
TEST_F(fx, files_stay_queued_after_sender_closes)
{
	struct rcvd r;
	int p[2];
	char c;

	ASSERT_EQ(0, mkpipe(p));
	ASSERT_EQ(1, fx_send(self, "s", 1, &p[1], 1));
	close(p[1]);
	close(self->s);
	self->s = -1;
	EXPECT_EQ(0, pipe_eof(p[0], 0));
	ASSERT_EQ(1, recv_fds(self->r, &r, 0, CTL_FULL));
	ASSERT_EQ(1, r.nfds);
	ASSERT_EQ(1, write(r.fds[0], "s", 1));
	ASSERT_EQ(1, read(p[0], &c, 1));
	rcvd_close(&r);
	EXPECT_EQ(1, pipe_eof(p[0], CLOSE_MS));
	close(p[0]);
}

/*
 * A send that fails after the files were taken (the receiver is gone)
 * keeps none of them.
 */
TEST_F(fx, send_to_closed_receiver_keeps_no_file)
{
	int p[2];

	ASSERT_EQ(0, mkpipe(p));
	close(self->r);
	self->r = -1;
	errno = 0;
	EXPECT_EQ(-1, fx_send(self, "x", 1, &p[1], 1));
	EXPECT_EQ(self->type == SOCK_DGRAM ? ECONNREFUSED : EPIPE, errno);
	close(p[1]);
	EXPECT_EQ(1, pipe_eof(p[0], CLOSE_MS));
	close(p[0]);
}

/* ---- credentials and queue room ----------------------------------------------- */

/*
 * SCM_CREDENTIALS and SCM_RIGHTS in one message, in either order: a reader
 * with SO_PASSCRED gets both, one without gets the files only. Credentials
 * attached for SO_PASSCRED travel with files too.
 */
TEST_F(fx, credentials_and_files_in_one_message)
{
	struct ctl c;
	struct rcvd r;
	int m, order;

	m = memfd_create("afx_scm_rights", MFD_CLOEXEC);
	ASSERT_LE(0, m);
	ASSERT_EQ(0, afx_set_int(self->r, SOL_SOCKET, SO_PASSCRED, 1));
	for (order = 0; order < 2; order++) {
		c.len = 0;
		if (order)
			ctl_rights(&c, &m, 1);
		ctl_creds(&c, getpid(), getuid(), getgid());
		if (!order)
			ctl_rights(&c, &m, 1);
		ASSERT_EQ(1, send_ctl(self->s, self->dest, "c", 1, c.u.buf,
				      c.len))
			TH_LOG("order %d: %s", order, strerror(errno));
		ASSERT_EQ(1, recv_fds(self->r, &r, 0, CTL_FULL));
		EXPECT_EQ(0, r.flags & MSG_CTRUNC);
		ASSERT_EQ(1, r.ncreds) TH_LOG("order %d", order);
		EXPECT_EQ(getpid(), r.uc.pid);
		EXPECT_EQ(getuid(), r.uc.uid);
		EXPECT_EQ(getgid(), r.uc.gid);
		EXPECT_EQ(1, r.nrights);
		ASSERT_EQ(1, r.nfds);
		EXPECT_EQ(1, same_inode(m, r.fds[0]));
		rcvd_close(&r);
	}
	/* SO_PASSCRED alone attaches them */
	ASSERT_EQ(1, fx_send(self, "p", 1, &m, 1));
	ASSERT_EQ(1, recv_fds(self->r, &r, 0, CTL_FULL));
	ASSERT_EQ(1, r.ncreds);
	EXPECT_EQ(getpid(), r.uc.pid);
	ASSERT_EQ(1, r.nfds);
	rcvd_close(&r);
	/* a reader without SO_PASSCRED: the files only */
	ASSERT_EQ(0, afx_set_int(self->r, SOL_SOCKET, SO_PASSCRED, 0));
	c.len = 0;
	ctl_creds(&c, getpid(), getuid(), getgid());
	ctl_rights(&c, &m, 1);
	ASSERT_EQ(1, send_ctl(self->s, self->dest, "n", 1, c.u.buf, c.len));
	ASSERT_EQ(1, recv_fds(self->r, &r, 0, CTL_FULL));
	EXPECT_EQ(0, r.ncreds);
	EXPECT_EQ(0, r.nother);
	ASSERT_EQ(1, r.nfds);
	EXPECT_EQ(1, same_inode(m, r.fds[0]));
	rcvd_close(&r);
	close(m);
}

/*
 * SCM_CREDENTIALS are checked before the descriptors: a claimed process
 * that does not exist is ESRCH even with a descriptor that is not open.
 */
TEST_F(fx, credentials_checked_before_descriptors)
{
	struct ctl c = { .len = 0 };
	pid_t gone;
	int bad, st;

	if (geteuid() != 0)
		SKIP(return, "claiming another pid needs CAP_SYS_ADMIN");
	gone = fork();
	ASSERT_LE(0, gone);
	if (gone == 0)
		_exit(0);
	ASSERT_EQ(gone, waitpid(gone, &st, 0));
	bad = closed_fd();
	ctl_creds(&c, gone, getuid(), getgid());
	ctl_rights(&c, &bad, 1);
	errno = 0;
	EXPECT_EQ(-1, send_ctl(self->s, self->dest, "x", 1, c.u.buf, c.len));
	EXPECT_EQ(ESRCH, errno);
	EXPECT_EQ(1, queue_empty(self->r));
}

/*
 * A message passing files takes 8 bytes more of the receiver's queue:
 * exactly limit / (size + 16) such messages of one size fit (limit: the
 * receiver's SO_RCVBUF, and for seqpacket the sender's SO_SNDBUF if
 * smaller); the one that does not fit (EAGAIN) keeps no file; each read
 * gives its file.
 */
/*
 * A stream's bytes fill SO_RCVBUF (or the writer's SO_SNDBUF) whether
 * their writes pass files or not: the last write that fits in part
 * carries its file with the bytes it wrote; the next one gets EAGAIN and
 * keeps no file. Each write's bytes are read by one read, with its file.
 */
static void stream_files_take_no_queue_bytes(struct __test_metadata *_metadata,
					     FIXTURE_DATA(fx) *self, int limit,
					     int e)
{
	static char buf[100];
	int total = 0, n, i, p[2];
	ssize_t w, len[200];
	struct rcvd r;

	for (n = 0; n < 200; n++) {
		w = fx_send(self, buf, sizeof(buf), &e, 1);
		if (w <= 0)
			break;
		len[n] = w;
		total += w;
	}
	ASSERT_GT(200, n);
	EXPECT_EQ(limit, total) TH_LOG("%d writes", n);
	EXPECT_EQ(limit % (int)sizeof(buf), (int)(len[n - 1] % sizeof(buf)));
	ASSERT_EQ(0, mkpipe(p));
	errno = 0;
	EXPECT_EQ(-1, fx_send(self, buf, sizeof(buf), &p[1], 1));
	EXPECT_EQ(EAGAIN, errno);
	close(p[1]);
	EXPECT_EQ(1, pipe_eof(p[0], 0));
	close(p[0]);
	for (i = 0; i < n; i++) {
		ASSERT_EQ(len[i], recv_fds(self->r, &r, 0, CTL_FULL))
			TH_LOG("write %d", i);
		ASSERT_EQ(1, r.nfds) TH_LOG("write %d", i);
		EXPECT_EQ(0, r.flags & MSG_CTRUNC);
		rcvd_close(&r);
	}
	EXPECT_EQ(1, queue_empty(self->r));
}

TEST_F(fx, message_with_files_takes_8_more_bytes_of_queue)
{
	int limit, sb = 0, rb = 0, e, p[2], n, i, err = 0;
	static char buf[100];
	struct rcvd r;

	ASSERT_EQ(0, afx_set_int(self->r, SOL_SOCKET, SO_RCVBUF, 4096));
	ASSERT_EQ(0, afx_get_int(self->r, SOL_SOCKET, SO_RCVBUF, &rb));
	ASSERT_EQ(0, afx_get_int(self->s, SOL_SOCKET, SO_SNDBUF, &sb));
	limit = rb;
	if (self->type != SOCK_DGRAM && sb < limit)
		limit = sb;
	e = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ASSERT_LE(0, e);
	if (self->type == SOCK_STREAM) {
		stream_files_take_no_queue_bytes(_metadata, self, limit, e);
		close(e);
		return;
	}
	for (n = 0; n < 10000; n++) {
		if (fx_send(self, buf, sizeof(buf), &e, 1) != sizeof(buf)) {
			err = errno;
			break;
		}
	}
	EXPECT_EQ(EAGAIN, err);
	EXPECT_EQ(limit / (int)(sizeof(buf) + 16), n)
		TH_LOG("limit %d: %d messages of %zu bytes with a file", limit,
		       n, sizeof(buf));
	ASSERT_EQ(0, mkpipe(p));
	errno = 0;
	EXPECT_EQ(-1, fx_send(self, buf, sizeof(buf), &p[1], 1));
	EXPECT_EQ(EAGAIN, errno);
	close(p[1]);
	EXPECT_EQ(1, pipe_eof(p[0], 0));
	close(p[0]);
	for (i = 0; i < n; i++) {
		ASSERT_EQ((ssize_t)sizeof(buf), recv_fds(self->r, &r, 0,
							 CTL_FULL));
		ASSERT_EQ(1, r.nfds) TH_LOG("message %d", i);
		EXPECT_EQ(0, r.flags & MSG_CTRUNC);
		rcvd_close(&r);
	}
	EXPECT_EQ(1, queue_empty(self->r));
	close(e);
}

/* ---- the in-flight limit ------------------------------------------------------ */

/*
 * An unprivileged sender with RLIMIT_NOFILE 16 has 16 files in flight,
 * then ETOOMANYREFS (a message without files still goes; a descriptor
 * that is not open is still EBADF); each message read gives it room for
 * one more file.
 */
TEST_F(fx, inflight_limit_etoomanyrefs_unprivileged)
{
	int c2p[2], p2c[2], p[2], files, n;
	struct rcvd r;
	pid_t pid;
	char c;

	if (geteuid() != 0)
		SKIP(return, "needs root to become nobody");
	ASSERT_EQ(0, pipe(c2p));
	ASSERT_EQ(0, pipe(p2c));
	ASSERT_EQ(0, mkpipe(p));
	pid = afx_child_fork(0);
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int err, bad;

		close(c2p[0]);
		close(p2c[1]);
		if (become(LIMIT, NOBODY, NOBODY))
			_exit(10);
		if (send_until_refused(self->s, self->dest, p[1], 100,
				       &err) != LIMIT)
			_exit(1);
		if (err != ETOOMANYREFS)
			_exit(2);
		if (send_ctl(self->s, self->dest, "p", 1, NULL, 0) != 1)
			_exit(3);
		bad = closed_fd();
		if (send_fds(self->s, self->dest, "x", 1, &bad, 1) != -1 ||
		    errno != EBADF)
			_exit(4);
		if (write(c2p[1], "f", 1) != 1 || read(p2c[0], &c, 1) != 1)
			_exit(11);
		if (send_fds(self->s, self->dest, "f", 1, &p[1], 1) != 1)
			_exit(5);
		if (send_fds(self->s, self->dest, "f", 1, &p[1], 1) != -1 ||
		    errno != ETOOMANYREFS)
			_exit(6);
		_exit(0);
	}
	close(c2p[1]);
	close(p2c[0]);
	close(p[1]);
	ASSERT_EQ(1, read(c2p[0], &c, 1)) TH_LOG("the child ended early");
	ASSERT_EQ(1, recv_fds(self->r, &r, 0, CTL_FULL));
	EXPECT_EQ('f', r.data[0]);
	EXPECT_EQ(1, r.nfds);
	rcvd_close(&r);
	ASSERT_EQ(1, write(p2c[1], "g", 1));
	EXPECT_EQ(0, afx_wait_child(pid))
		TH_LOG("child: 1 not %d sent, 2 not ETOOMANYREFS, 3 plain message refused, 4 not EBADF, 5 no room after a read, 6 room for more",
		       LIMIT);
	/* 15 + 1 with a file, the plain one: nothing more was queued */
	n = drain_files(self->r, &files);
	EXPECT_EQ(LIMIT + 1, n);
	EXPECT_EQ(LIMIT, files);
	EXPECT_EQ(1, pipe_eof(p[0], CLOSE_MS));
	close(p[0]);
	close(c2p[0]);
	close(p2c[1]);
}

/*
 * Files in flight count per real uid: a sender whose real uid is
 * another's has a count of its own, whatever its effective uid; one
 * whose real uid is full is refused. Reading the messages gives the
 * room back.
 */
TEST_F(dg, inflight_counted_per_real_uid)
{
	const struct sockaddr_x to = afx_sockaddr(AFX_ADDR_LOCAL, self->p1);
	static const uid_t ids[4][2] = {
		{ NOBODY, NOBODY },	/* fills nobody's count */
		{ NOBODY2, NOBODY },	/* real 65533: its own count */
		{ NOBODY, NOBODY2 },	/* real nobody: refused */
		{ NOBODY, NOBODY },	/* after the reads: room again */
	};
	static const int want[4] = { LIMIT, LIMIT, 0, LIMIT };
	int p[2], i, err, files;
	pid_t pid;

	if (geteuid() != 0)
		SKIP(return, "needs root to change uids");
	ASSERT_EQ(0, mkpipe(p));
	for (i = 0; i < 4; i++) {
		if (i == 3) {
			EXPECT_EQ(2 * LIMIT, drain_files(self->r, &files));
			EXPECT_EQ(2 * LIMIT, files);
		}
		pid = afx_child_fork(0);
		ASSERT_LE(0, pid);
		if (pid == 0) {
			if (become(LIMIT, ids[i][0], ids[i][1]))
				_exit(10);
			if (send_until_refused(self->s, &to, p[1], 100,
					       &err) != want[i])
				_exit(1);
			_exit(err == ETOOMANYREFS ? 0 : 2);
		}
		EXPECT_EQ(0, afx_wait_child(pid))
			TH_LOG("sender %d (real uid %u, effective %u): 1 not %d sent, 2 not ETOOMANYREFS",
			       i, ids[i][0], ids[i][1], want[i]);
	}
	EXPECT_EQ(LIMIT, drain_files(self->r, &files));
	close(p[1]);
	EXPECT_EQ(1, pipe_eof(p[0], 0));
	close(p[0]);
}

/*
 * The files of messages dropped unread leave flight when their receiver
 * closes: the sender that reached its limit sends as many again.
 */
TEST_F(dg, inflight_count_released_when_receiver_closes)
{
	const struct sockaddr_x to1 = afx_sockaddr(AFX_ADDR_LOCAL, self->p1);
	const struct sockaddr_x to3 = afx_sockaddr(AFX_ADDR_LOCAL, self->p3);
	int c2p[2], p2c[2], p[2], r3, files;
	pid_t pid;
	char c;

	if (geteuid() != 0)
		SKIP(return, "needs root to become nobody");
	ASSERT_EQ(0, pipe(c2p));
	ASSERT_EQ(0, pipe(p2c));
	ASSERT_EQ(0, mkpipe(p));
	pid = afx_child_fork(0);
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int err;

		/* the receiver must close when the parent closes it */
		close(self->r);
		close(c2p[0]);
		close(p2c[1]);
		if (become(LIMIT, NOBODY, NOBODY))
			_exit(10);
		if (send_until_refused(self->s, &to1, p[1], 100, &err) !=
		    LIMIT || err != ETOOMANYREFS)
			_exit(1);
		if (write(c2p[1], "f", 1) != 1 || read(p2c[0], &c, 1) != 1)
			_exit(11);
		if (send_until_refused(self->s, &to3, p[1], 100, &err) !=
		    LIMIT || err != ETOOMANYREFS)
			_exit(2);
		_exit(0);
	}
	close(c2p[1]);
	close(p2c[0]);
	close(p[1]);
	ASSERT_EQ(1, read(c2p[0], &c, 1)) TH_LOG("the child ended early");
	close(self->r);
	self->r = -1;
	r3 = afx_dg_bound(AFX_ADDR_ANY, self->p3, 0);
	ASSERT_LE(0, r3);
	ASSERT_EQ(1, write(p2c[1], "g", 1));
	EXPECT_EQ(0, afx_wait_child(pid))
		TH_LOG("child: 1 first fill not %d, 2 no room after the receiver closed",
		       LIMIT);
	EXPECT_EQ(LIMIT, drain_files(r3, &files));
	EXPECT_EQ(LIMIT, files);
	EXPECT_EQ(1, pipe_eof(p[0], CLOSE_MS));
	close(r3);
	close(p[0]);
	close(c2p[0]);
	close(p2c[1]);
}

/*
 * The limit is waived for a sender with CAP_SYS_RESOURCE or with
 * CAP_SYS_ADMIN, and only then (root with neither is held to it).
 */
TEST_F(dg, inflight_limit_waived_by_cap_sys_resource_or_cap_sys_admin)
{
	const struct sockaddr_x to = afx_sockaddr(AFX_ADDR_LOCAL, self->p1);
	static const struct {
		uint64_t caps;
		int sent, err;
	} k[3] = {
		{ 1ULL << CAP_SYS_RESOURCE, 2 * LIMIT, 0 },
		{ 1ULL << CAP_SYS_ADMIN, 2 * LIMIT, 0 },
		{ 0, LIMIT, ETOOMANYREFS },
	};
	int p[2], i, err, files;
	pid_t pid;

	if (geteuid() != 0)
		SKIP(return, "needs root's capabilities");
	ASSERT_EQ(0, mkpipe(p));
	for (i = 0; i < 3; i++) {
		pid = afx_child_fork(0);
		ASSERT_LE(0, pid);
		if (pid == 0) {
			if (become(LIMIT, 0, 0) || effective_caps(k[i].caps))
				_exit(10);
			if (send_until_refused(self->s, &to, p[1], 2 * LIMIT,
					       &err) != k[i].sent)
				_exit(1);
			_exit(err == k[i].err ? 0 : 2);
		}
		EXPECT_EQ(0, afx_wait_child(pid))
			TH_LOG("sender %d: 1 not %d sent, 2 not error %d", i,
			       k[i].sent, k[i].err);
		EXPECT_EQ(k[i].sent, drain_files(self->r, &files));
		EXPECT_EQ(k[i].sent, files);
	}
	close(p[1]);
	EXPECT_EQ(1, pipe_eof(p[0], 0));
	close(p[0]);
}

/* ---- datagram send errors ----------------------------------------------------- */

/*
 * Broadcast: SCM_RIGHTS is EINVAL, sent to the broadcast address or on a
 * socket connected to it; no reader gets anything, no file is kept. The
 * same broadcast without files reaches both readers.
 */
TEST(broadcast_with_files_einval)
{
	uint32_t port = afx_free_port(SOCK_DGRAM);
	const struct sockaddr_x bc = afx_sockaddr(AFX_ADDR_BROADCAST, port);
	int r1, r2, s, p[2];

	afx_watchdog(WATCHDOG_SEC);
	r1 = afx_dg_bound(AFX_ADDR_ANY, port, 1);
	AFX_SKIP_IF_NO_AFX(r1);
	ASSERT_LE(0, r1);
	r2 = afx_dg_bound(AFX_ADDR_ANY, port, 1);
	ASSERT_LE(0, r2);
	s = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, s);
	ASSERT_EQ(0, afx_set_int(s, SOL_SOCKET, SO_BROADCAST, 1));
	ASSERT_EQ(0, mkpipe(p));
	errno = 0;
	EXPECT_EQ(-1, send_fds(s, &bc, "b", 1, &p[1], 1));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, afx_connect(s, AFX_ADDR_BROADCAST, port));
	errno = 0;
	EXPECT_EQ(-1, send_fds(s, NULL, "b", 1, &p[1], 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(1, queue_empty(r1));
	EXPECT_EQ(1, queue_empty(r2));
	close(p[1]);
	EXPECT_EQ(1, pipe_eof(p[0], 0));
	close(p[0]);
	ASSERT_EQ(1, send_ctl(s, NULL, "b", 1, NULL, 0));
	EXPECT_EQ(0, queue_empty(r1));
	EXPECT_EQ(0, queue_empty(r2));
	close(s);
	close(r1);
	close(r2);
	afx_watchdog(0);
}

/*
 * The send table of "Errors" lists "Broadcast with SCM_RIGHTS" (EINVAL)
 * after EBADF, EOPNOTSUPP and EPIPE: a broadcast passing a descriptor
 * that is not open gets EBADF, one passing an AF_UNIX socket EOPNOTSUPP,
 * one from a socket shut down for writing EPIPE; nothing is queued.
 */
TEST(broadcast_files_einval_after_descriptor_and_shutdown_errors)
{
	uint32_t port = afx_free_port(SOCK_DGRAM);
	const struct sockaddr_x bc = afx_sockaddr(AFX_ADDR_BROADCAST, port);
	int r1, s, u, bad, p[2];

	afx_watchdog(WATCHDOG_SEC);
	r1 = afx_dg_bound(AFX_ADDR_ANY, port, 1);
	AFX_SKIP_IF_NO_AFX(r1);
	ASSERT_LE(0, r1);
	s = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, s);
	ASSERT_EQ(0, afx_set_int(s, SOL_SOCKET, SO_BROADCAST, 1));
	u = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, u);
	ASSERT_EQ(0, mkpipe(p));
	bad = closed_fd();
	errno = 0;
	EXPECT_EQ(-1, send_fds(s, &bc, "b", 1, &bad, 1));
	EXPECT_EQ(EBADF, errno) TH_LOG("not open: %s", strerror(errno));
	errno = 0;
	EXPECT_EQ(-1, send_fds(s, &bc, "b", 1, &u, 1));
	EXPECT_EQ(EOPNOTSUPP, errno) TH_LOG("AF_UNIX: %s", strerror(errno));
	errno = 0;
	EXPECT_EQ(-1, send_fds(s, &bc, "b", 1, &p[1], 1));
	EXPECT_EQ(EINVAL, errno) TH_LOG("a pipe: %s", strerror(errno));
	ASSERT_EQ(0, shutdown(s, SHUT_WR));
	errno = 0;
	EXPECT_EQ(-1, send_fds(s, &bc, "b", 1, &p[1], 1));
	EXPECT_EQ(EPIPE, errno) TH_LOG("after SHUT_WR: %s", strerror(errno));
	EXPECT_EQ(1, queue_empty(r1));
	close(p[1]);
	EXPECT_EQ(1, pipe_eof(p[0], 0));
	close(p[0]);
	close(u);
	close(s);
	close(r1);
	afx_watchdog(0);
}

/*
 * Checked before the descriptors (the table's order): EMSGSIZE, EACCES
 * (broadcast without SO_BROADCAST), EINVAL for destination port 0 and
 * for 254 descriptors.
 */
TEST_F(dg, size_address_and_count_errors_before_descriptor_errors)
{
	static char big[AFX_MAX_DGRAM + 1];
	const struct sockaddr_x to = afx_sockaddr(AFX_ADDR_LOCAL, self->p1);
	const struct sockaddr_x bc = afx_sockaddr(AFX_ADDR_BROADCAST, self->p1);
	const struct sockaddr_x zero = afx_sockaddr(AFX_ADDR_LOCAL, 0);
	int bad[MAX_FD + 1], i;

	for (i = 0; i <= MAX_FD; i++)
		bad[i] = -1;
	errno = 0;
	EXPECT_EQ(-1, send_fds(self->s, &to, big, sizeof(big), bad, 1));
	EXPECT_EQ(EMSGSIZE, errno);
	errno = 0;
	EXPECT_EQ(-1, send_fds(self->s, &bc, "x", 1, bad, 1));
	EXPECT_EQ(EACCES, errno);
	errno = 0;
	EXPECT_EQ(-1, send_fds(self->s, &zero, "x", 1, bad, 1));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, send_fds(self->s, &to, "x", 1, bad, MAX_FD + 1));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, send_fds(self->s, &to, "x", 1, bad, 1));
	EXPECT_EQ(EBADF, errno);
	EXPECT_EQ(1, queue_empty(self->r));
}

/*
 * Checked after them: a descriptor that is not open (EBADF) or an AF_UNIX
 * socket (EOPNOTSUPP) wins over ECONNREFUSED (nobody on the port),
 * EDESTADDRREQ (no destination) and EPIPE (SHUT_WR); a good descriptor
 * to nobody is ECONNREFUSED and keeps no file.
 */
TEST_F(dg, descriptor_errors_before_destination_errors)
{
	const struct sockaddr_x nobody = afx_sockaddr(AFX_ADDR_LOCAL, self->p3);
	int bad, u, p[2];

	u = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, u);
	ASSERT_EQ(0, mkpipe(p));
	bad = closed_fd();
	errno = 0;
	EXPECT_EQ(-1, send_fds(self->s, &nobody, "x", 1, &bad, 1));
	EXPECT_EQ(EBADF, errno);
	errno = 0;
	EXPECT_EQ(-1, send_fds(self->s, &nobody, "x", 1, &u, 1));
	EXPECT_EQ(EOPNOTSUPP, errno);
	errno = 0;
	EXPECT_EQ(-1, send_fds(self->s, NULL, "x", 1, &bad, 1));
	EXPECT_EQ(EBADF, errno);
	errno = 0;
	EXPECT_EQ(-1, send_fds(self->s, &nobody, "x", 1, &p[1], 1));
	EXPECT_EQ(ECONNREFUSED, errno);
	errno = 0;
	EXPECT_EQ(-1, send_fds(self->s, NULL, "x", 1, &p[1], 1));
	EXPECT_EQ(EDESTADDRREQ, errno);
	ASSERT_EQ(0, shutdown(self->s, SHUT_WR));
	errno = 0;
	EXPECT_EQ(-1, send_fds(self->s, &nobody, "x", 1, &bad, 1));
	EXPECT_EQ(EBADF, errno);
	errno = 0;
	EXPECT_EQ(-1, send_fds(self->s, &nobody, "x", 1, &p[1], 1));
	EXPECT_EQ(EPIPE, errno);
	close(p[1]);
	EXPECT_EQ(1, pipe_eof(p[0], 0));
	close(p[0]);
	close(u);
}

/* ---- seqpacket: a connection never accepted --------------------------------- */

/*
 * Messages sent on a connection the listener never accepted keep their
 * files until the listener closes, which closes the connection and them.
 */
static void unaccepted_files_closed_with_listener(struct __test_metadata *_metadata,
						 int type)
{
	uint32_t port;
	int l, c, p[2];

	afx_watchdog(WATCHDOG_SEC);
	l = afx_listener(type, 4, &port);
	AFX_SKIP_IF_NO_AFX(l);
	ASSERT_LE(0, l);
	c = afx_socket(type);
	ASSERT_LE(0, c);
	ASSERT_EQ(0, afx_connect_port(c, port));
	ASSERT_EQ(0, mkpipe(p));
	ASSERT_EQ(1, send_fds(c, NULL, "u", 1, &p[1], 1))
		TH_LOG("sendmsg: %s", strerror(errno));
	ASSERT_EQ(1, send_fds(c, NULL, "v", 1, &p[1], 1));
	close(p[1]);
	EXPECT_EQ(0, pipe_eof(p[0], 0));
	close(l);
	EXPECT_EQ(1, pipe_eof(p[0], CLOSE_MS));
	close(p[0]);
	close(c);
	afx_watchdog(0);
}

TEST(seqpacket_unaccepted_connection_files_closed_with_listener)
{
	unaccepted_files_closed_with_listener(_metadata, SOCK_SEQPACKET);
}

TEST(stream_unaccepted_connection_files_closed_with_listener)
{
	unaccepted_files_closed_with_listener(_metadata, SOCK_STREAM);
}

/* ---- storm -------------------------------------------------------------------- */

#define STORM_N		2000	/* messages per socket type */
#define STORM_MAX	8	/* files per message, at most */

/*
 * FIXTURE(storm): a socketpair() of the variant's type; sv[0] sends,
 * sv[1] receives.
 */
FIXTURE(storm) {
	int sv[2];
};

FIXTURE_VARIANT(storm) {
	int type;
};

FIXTURE_VARIANT_ADD(storm, dgram_pair) {
	.type = SOCK_DGRAM,
};

FIXTURE_VARIANT_ADD(storm, seqpacket_pair) {
	.type = SOCK_SEQPACKET,
};

FIXTURE_SETUP(storm)
{
	int fd;

	afx_watchdog(170);
	self->sv[0] = self->sv[1] = -1;
	fd = afx_socket(variant->type);
	AFX_SKIP_IF_NO_AFX(fd);
	ASSERT_LE(0, fd);
	close(fd);
	ASSERT_EQ(0, socketpair(afx_family(), variant->type, 0, self->sv));
}

FIXTURE_TEARDOWN(storm)
{
	afx_close_all(self->sv, 2);
	afx_watchdog(0);
}

/* Per message: how many files, and for each the pipe's read end or -1. */
static int storm_nf[STORM_N];
static int storm_rd[STORM_N][STORM_MAX];

/* The tag of file @j of message @i: an eventfd's count, a pipe's bytes. */
static uint32_t storm_tag(int i, int j)
{
	return (uint32_t)(i * STORM_MAX + j + 1);
}

/*
 * Read message @i and check each file: an eventfd holds its tag, a pipe
 * write end carries the tag to the read end we kept, which sees EOF once
 * the received descriptor is closed. The number of wrong things.
 */
static int storm_read(int r, int i)
{
	uint32_t hdr[2], tag;
	struct rcvd m;
	int j, bad = 0;

	if (recv_fds(r, &m, 0, CTL_FULL) != sizeof(hdr)) {
		fprintf(stderr, "# message %d: recvmsg: %s\n", i,
			strerror(errno));
		return 1;
	}
	memcpy(hdr, m.data, sizeof(hdr));
	if (hdr[0] != (uint32_t)i || hdr[1] != (uint32_t)storm_nf[i] ||
	    m.nfds != storm_nf[i] || m.nrights != 1 ||
	    (m.flags & MSG_CTRUNC)) {
		fprintf(stderr,
			"# message %d: got %u with %d files (%u sent), %d SCM_RIGHTS, msg_flags %#x\n",
			i, hdr[0], m.nfds, hdr[1], m.nrights, m.flags);
		rcvd_close(&m);
		return 1;
	}
	for (j = 0; j < m.nfds; j++) {
		int rd = storm_rd[i][j];

		if (rd < 0) {
			bad += eventfd_take(m.fds[j]) != storm_tag(i, j);
			close(m.fds[j]);
			continue;
		}
		tag = storm_tag(i, j);
		if (write(m.fds[j], &tag, sizeof(tag)) != sizeof(tag) ||
		    read(rd, &tag, sizeof(tag)) != sizeof(tag) ||
		    tag != storm_tag(i, j))
			bad++;
		close(m.fds[j]);
		if (pipe_eof(rd, CLOSE_MS) != 1)
			bad++;
		close(rd);
		storm_rd[i][j] = -1;
	}
	if (bad)
		fprintf(stderr, "# message %d: %d wrong files\n", i, bad);
	return bad;
}

/*
 * 2000 messages passing 1 to 8 files each (pipe write ends and eventfds,
 * every one a file of its own); every other send reads the oldest
 * message, so the first half is read, checked and closed as it goes and
 * the second half is still queued (its pipes open) when the receiver
 * closes; then every pipe sees EOF: no file is left behind.
 */
TEST_F_TIMEOUT(storm, half_read_half_dropped_every_file_closed, 180)
{
	int fds[STORM_MAX], p[2], i, j, next = 0, bad = 0, open_bad = 0;
	uint32_t hdr[2], seed = 12345;

	ASSERT_EQ(0, nofile_at_least(BIG_NOFILE))
		TH_LOG("RLIMIT_NOFILE %d: %s", BIG_NOFILE, strerror(errno));
	for (i = 0; i < STORM_N; i++) {
		seed = seed * 1103515245 + 12345;
		storm_nf[i] = 1 + (seed >> 16) % STORM_MAX;
		for (j = 0; j < storm_nf[i]; j++) {
			if ((i + j) % 3 == 2) {
				fds[j] = eventfd(storm_tag(i, j),
						 EFD_CLOEXEC | EFD_NONBLOCK);
				ASSERT_LE(0, fds[j]);
				storm_rd[i][j] = -1;
				continue;
			}
			ASSERT_EQ(0, mkpipe(p)) TH_LOG("pipe: %s",
						       strerror(errno));
			fds[j] = p[1];
			storm_rd[i][j] = p[0];
		}
		hdr[0] = i;
		hdr[1] = storm_nf[i];
		ASSERT_EQ((ssize_t)sizeof(hdr),
			  send_fds(self->sv[0], NULL, hdr, sizeof(hdr), fds,
				   storm_nf[i]))
			TH_LOG("message %d: %s", i, strerror(errno));
		for (j = 0; j < storm_nf[i]; j++)
			close(fds[j]);
		if (i % 2)
			bad += storm_read(self->sv[1], next++);
	}
	ASSERT_EQ(STORM_N / 2, next);
	EXPECT_EQ(0, bad);
	/* The unread half: still queued, still open. */
	for (i = next; i < STORM_N; i++)
		for (j = 0; j < storm_nf[i]; j++)
			if (storm_rd[i][j] >= 0 &&
			    pipe_eof(storm_rd[i][j], 0) != 0)
				open_bad++;
	EXPECT_EQ(0, open_bad) TH_LOG("queued files closed or written");
	close(self->sv[1]);
	self->sv[1] = -1;
	bad = 0;
	for (i = next; i < STORM_N; i++)
		for (j = 0; j < storm_nf[i]; j++) {
			if (storm_rd[i][j] < 0)
				continue;
			if (pipe_eof(storm_rd[i][j], CLOSE_MS) != 1)
				bad++;
			close(storm_rd[i][j]);
		}
	EXPECT_EQ(0, bad) TH_LOG("files of dropped messages still open");
}

AFX_TEST_MAIN
