// SPDX-License-Identifier: GPL-2.0
/*
 * afx_dgram_test - AF_X SOCK_DGRAM sockets.
 *
 * Message boundaries and sizes (EMSGSIZE, zero-length datagrams, MSG_TRUNC,
 * MSG_PEEK), addressing (recvfrom sender, EDESTADDRREQ, ECONNREFUSED,
 * connect() filtering and AF_UNSPEC), reliable delivery with byte-accounted
 * receive queues (EAGAIN, blocking senders, SO_SNDTIMEO, EINTR, no loss
 * across fill/drain cycles, POLLOUT wakeups), broadcast and SO_REUSEADDR,
 * shutdown(), FIONREAD/SIOCOUTQ and listen()/accept().
 *
 * Blocking is always bounded: every test arms afx_watchdog() and every
 * forked child arms alarm(). Waiting for another process to block is done
 * with afx_wait_blocked() (it reads /proc/<pid>/stat and syscall), never
 * with a fixed sleep. Children report through their exit status and pipes,
 * never through the ASSERT/EXPECT macros.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <linux/sockios.h>

/* The 6.1 harness and its macros trip these -Wextra warnings by themselves. */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wmisleading-indentation"

#include "kselftest_harness.h"
#include "afx_test_util.h"

#define WATCHDOG_SEC	25
#define CHILD_ALARM	20

/* Fixed ports of this file (outside the ephemeral range). */
#define P1		32001U
#define P2		32002U
#define P3		32003U
#define P4		32004U
#define P5		32005U

#define MAX_DGRAM	65536
#define SMALL_RCVBUF	16384	/* setsockopt value; the kernel doubles it */

/* Every test datagram starts with this header, the rest is a pattern. */
struct hdr {
	uint32_t seq;
	uint32_t len;
};

static unsigned char sbuf[MAX_DGRAM + 64];
static unsigned char rbuf[MAX_DGRAM + 64];

static void make_dgram(unsigned char *buf, uint32_t seq, size_t len)
{
	struct hdr h = { .seq = seq, .len = (uint32_t)len };

	afx_fill_pattern(buf, len, seq * 131ULL);
	if (len >= sizeof(h))
		memcpy(buf, &h, sizeof(h));
}

/* 1 if buf/len is datagram seq as made by make_dgram(). */
static int check_dgram(const unsigned char *buf, size_t len, uint32_t seq)
{
	struct hdr h;

	if (len < sizeof(h))
		return 0;
	memcpy(&h, buf, sizeof(h));
	if (h.seq != seq || h.len != len)
		return 0;
	return afx_check_pattern(buf + sizeof(h), len - sizeof(h),
				 seq * 131ULL + sizeof(h)) == len - sizeof(h);
}

static size_t var_size(uint32_t seq)
{
	return sizeof(struct hdr) + (seq * 7919U) % 1500U;
}

/* Datagram socket bound to {addr, port}, with SO_REUSEADDR if reuse. */
static int dg_bound(uint32_t addr, uint32_t port, int reuse)
{
	int fd = afx_socket(SOCK_DGRAM), err;

	if (fd < 0)
		return -1;
	if (reuse && afx_set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1))
		goto fail;
	if (afx_bind(fd, addr, port))
		goto fail;
	return fd;
fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

static ssize_t send_to(int fd, const void *buf, size_t len, uint32_t addr,
		       uint32_t port, int flags)
{
	struct sockaddr_x sx = afx_sockaddr(addr, port);

	return sendto(fd, buf, len, flags | MSG_NOSIGNAL, AFX_SA(&sx),
		      AFX_ADDRLEN);
}

/*
 * Send datagrams of size len (port 0: on the connected socket) with
 * MSG_DONTWAIT until EAGAIN, numbering them from *seq. Returns how many
 * went, -1 on another error or after max datagrams.
 */
static long fill(int s, uint32_t port, size_t len, uint32_t *seq, long max)
{
	long n = 0;
	ssize_t r;

	for (;;) {
		make_dgram(sbuf, *seq, len);
		if (port)
			r = send_to(s, sbuf, len, AFX_ADDR_LOCAL, port,
				    MSG_DONTWAIT);
		else
			r = send(s, sbuf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r < 0 && errno == EAGAIN)
			return n;
		if (r != (ssize_t)len)
			return -1;
		(*seq)++;
		if (++n > max) {
			errno = E2BIG;
			return -1;
		}
	}
}

/*
 * Fill the receiver completely: 1000-byte datagrams, then 1-byte ones
 * until not even those fit. Returns the number sent, -1 on error.
 */
static long fill_full(int s, uint32_t port)
{
	uint32_t seq = 0;
	long a, b;

	a = fill(s, port, 1000, &seq, 100000);
	if (a < 0)
		return -1;
	b = fill(s, port, 1, &seq, 100000);
	if (b < 0)
		return -1;
	return a + b;
}

/*
 * Read every queued datagram (MSG_DONTWAIT) and check that they are
 * numbered *seq, *seq+1, ... with sizes from size(seq) (or fixed len if
 * size is NULL). Returns the count, -1 on a bad datagram (message on
 * stderr).
 */
static long drain_check(int r, uint32_t *seq, size_t (*size)(uint32_t),
			size_t len)
{
	long n = 0;
	ssize_t got;

	for (;;) {
		got = recv(r, rbuf, sizeof(rbuf), MSG_DONTWAIT);
		if (got < 0 && errno == EAGAIN)
			return n;
		if (got < 0) {
			fprintf(stderr, "# drain: recv: %s\n", strerror(errno));
			return -1;
		}
		if (size)
			len = size(*seq);
		if ((size_t)got != len || !check_dgram(rbuf, got, *seq)) {
			struct hdr h = { 0, 0 };

			memcpy(&h, rbuf, got < 8 ? 0 : sizeof(h));
			fprintf(stderr,
				"# drain: want seq %u len %zu, got %zd bytes seq %u len %u\n",
				*seq, len, got, h.seq, h.len);
			return -1;
		}
		(*seq)++;
		n++;
	}
}

static int wait_child(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

/*
 * First thing in a forked child: die with the test process (so a failed
 * test leaves no child holding its ports) and after sec seconds at most.
 */
static void child_init(unsigned int sec)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	alarm(sec);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* Result of a child's blocking call, sent through a pipe. */
struct result {
	long ret;
	int err;
	int revents;
};

static void put_result(int fd, long ret, int err, int revents)
{
	struct result res = { ret, err, revents };

	if (write(fd, &res, sizeof(res)) != sizeof(res))
		_exit(99);
}

static int pipe_readable(int fd, int ms)
{
	return afx_poll(fd, POLLIN, ms) & (POLLIN | POLLHUP);
}

static int get_result(int fd, struct result *res)
{
	return read(fd, res, sizeof(*res)) == sizeof(*res) ? 0 : -1;
}

static volatile sig_atomic_t got_usr1;

static void on_usr1(int sig)
{
	(void)sig;
	got_usr1++;
}

FIXTURE(dg) {
	int r;		/* receiver bound to {ANY, P1} */
	int s;		/* sender bound to {ANY, P2} */
};

FIXTURE_SETUP(dg)
{
	afx_watchdog(WATCHDOG_SEC);
	self->r = dg_bound(AFX_ADDR_ANY, P1, 0);
	if (self->r < 0 && errno == EAFNOSUPPORT)
		SKIP(return, "AF_X (family %d) not available: is afx.ko loaded?",
		     afx_family());
	ASSERT_LE(0, self->r) TH_LOG("bind P1: %s", strerror(errno));
	self->s = dg_bound(AFX_ADDR_ANY, P2, 0);
	ASSERT_LE(0, self->s) TH_LOG("bind P2: %s", strerror(errno));
}

FIXTURE_TEARDOWN(dg)
{
	if (self->s > 0)
		close(self->s);
	if (self->r >= 0)
		close(self->r);
	afx_watchdog(0);
}

/* ------------------------------------------------------- messages & sizes */

TEST_F(dg, boundaries)
{
	static const size_t sizes[] = { 8, 100, 1000, 5000, 9, 60000, 8 };
	unsigned int i, n = sizeof(sizes) / sizeof(sizes[0]);
	ssize_t got;

	for (i = 0; i < n; i++) {
		make_dgram(sbuf, i, sizes[i]);
		ASSERT_EQ((ssize_t)sizes[i], send_to(self->s, sbuf, sizes[i],
						     AFX_ADDR_LOCAL, P1, 0))
			TH_LOG("size %zu: %s", sizes[i], strerror(errno));
	}
	for (i = 0; i < n; i++) {
		got = recv(self->r, rbuf, sizeof(rbuf), 0);
		ASSERT_EQ((ssize_t)sizes[i], got);
		EXPECT_TRUE(check_dgram(rbuf, got, i)) TH_LOG("datagram %u", i);
	}
	errno = 0;
	EXPECT_EQ(-1, recv(self->r, rbuf, sizeof(rbuf), MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);

	/* read()/write() on connected sockets keep boundaries too */
	ASSERT_EQ(0, afx_connect(self->s, AFX_ADDR_LOCAL, P1));
	ASSERT_EQ(3, write(self->s, "abc", 3));
	ASSERT_EQ(2, write(self->s, "de", 2));
	EXPECT_EQ(3, read(self->r, rbuf, sizeof(rbuf)));
	EXPECT_EQ(0, memcmp(rbuf, "abc", 3));
	EXPECT_EQ(2, read(self->r, rbuf, sizeof(rbuf)));
	EXPECT_EQ(0, memcmp(rbuf, "de", 2));
}

TEST_F(dg, emsgsize)
{
	int sb = 0, big = 1 << 20;
	ssize_t got;

	/* room for a maximal datagram at the receiver */
	ASSERT_EQ(0, afx_set_int(self->r, SOL_SOCKET, SO_RCVBUF, big));
	ASSERT_EQ(0, afx_get_int(self->s, SOL_SOCKET, SO_SNDBUF, &sb));
	ASSERT_LE(MAX_DGRAM, sb) TH_LOG("default SO_SNDBUF %d is small", sb);

	make_dgram(sbuf, 1, MAX_DGRAM);
	EXPECT_EQ(MAX_DGRAM, send_to(self->s, sbuf, MAX_DGRAM, AFX_ADDR_LOCAL,
				     P1, 0)) TH_LOG("%s", strerror(errno));
	errno = 0;
	EXPECT_EQ(-1, send_to(self->s, sbuf, MAX_DGRAM + 1, AFX_ADDR_LOCAL,
			      P1, 0));
	EXPECT_EQ(EMSGSIZE, errno);
	errno = 0;
	EXPECT_EQ(-1, send_to(self->s, sbuf, sizeof(sbuf), AFX_ADDR_LOCAL,
			      P1, 0));
	EXPECT_EQ(EMSGSIZE, errno);
	got = recv(self->r, rbuf, sizeof(rbuf), MSG_DONTWAIT);
	EXPECT_EQ(MAX_DGRAM, got);
	EXPECT_TRUE(check_dgram(rbuf, MAX_DGRAM, 1));

	/* the limit follows SO_SNDBUF as getsockopt reports it */
	ASSERT_EQ(0, afx_set_int(self->s, SOL_SOCKET, SO_SNDBUF, 4096));
	ASSERT_EQ(0, afx_get_int(self->s, SOL_SOCKET, SO_SNDBUF, &sb));
	ASSERT_GT(MAX_DGRAM, sb);
	TH_LOG("SO_SNDBUF now reads %d", sb);
	make_dgram(sbuf, 2, sb);
	EXPECT_EQ(sb, send_to(self->s, sbuf, sb, AFX_ADDR_LOCAL, P1, 0))
		TH_LOG("%s", strerror(errno));
	errno = 0;
	EXPECT_EQ(-1, send_to(self->s, sbuf, sb + 1, AFX_ADDR_LOCAL, P1, 0));
	EXPECT_EQ(EMSGSIZE, errno);
	/* connected send() too */
	ASSERT_EQ(0, afx_connect(self->s, AFX_ADDR_LOCAL, P1));
	errno = 0;
	EXPECT_EQ(-1, send(self->s, sbuf, sb + 1, 0));
	EXPECT_EQ(EMSGSIZE, errno);
	got = recv(self->r, rbuf, sizeof(rbuf), MSG_DONTWAIT);
	EXPECT_EQ(sb, got);
	EXPECT_TRUE(check_dgram(rbuf, sb, 2));
	/* the refused ones were not queued */
	errno = 0;
	EXPECT_EQ(-1, recv(self->r, rbuf, sizeof(rbuf), MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
}

TEST_F(dg, zero_length)
{
	struct sockaddr_x from;
	socklen_t len = sizeof(from);
	int v = -1;

	EXPECT_EQ(0, afx_poll(self->r, POLLIN, 0));
	ASSERT_EQ(0, send_to(self->s, "", 0, AFX_ADDR_LOCAL, P1, 0))
		TH_LOG("%s", strerror(errno));
	/* a queued empty datagram is readable */
	EXPECT_EQ(POLLIN, afx_poll(self->r, POLLIN, 0) & POLLIN);
	EXPECT_EQ(0, ioctl(self->r, FIONREAD, &v));
	EXPECT_EQ(0, v);
	memset(&from, 0xa5, sizeof(from));
	EXPECT_EQ(0, recvfrom(self->r, rbuf, sizeof(rbuf), MSG_DONTWAIT,
			      AFX_SA(&from), &len));
	EXPECT_EQ(AFX_ADDRLEN, len);
	EXPECT_EQ(afx_family(), from.sx_family);
	EXPECT_EQ(P2, from.sx_port);
	EXPECT_EQ(AFX_ADDR_LOCAL, from.sx_addr);
	/* it was consumed: nothing left */
	errno = 0;
	EXPECT_EQ(-1, recv(self->r, rbuf, sizeof(rbuf), MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);

	/* connected send() of nothing, received by a blocking recv */
	ASSERT_EQ(0, afx_connect(self->s, AFX_ADDR_LOCAL, P1));
	EXPECT_EQ(0, send(self->s, NULL, 0, 0));
	EXPECT_EQ(1, send(self->s, "x", 1, 0));
	EXPECT_EQ(0, recv(self->r, rbuf, sizeof(rbuf), 0));
	EXPECT_EQ(1, recv(self->r, rbuf, sizeof(rbuf), 0));
}

TEST_F(dg, msg_trunc)
{
	struct iovec iov;
	struct msghdr mh;
	ssize_t got;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;

	/* short buffer: truncated, MSG_TRUNC in msg_flags, copied length */
	make_dgram(sbuf, 7, 100);
	ASSERT_EQ(100, send_to(self->s, sbuf, 100, AFX_ADDR_LOCAL, P1, 0));
	iov.iov_base = rbuf;
	iov.iov_len = 10;
	memset(rbuf, 0, 100);
	got = recvmsg(self->r, &mh, MSG_DONTWAIT);
	EXPECT_EQ(10, got);
	EXPECT_EQ(MSG_TRUNC, mh.msg_flags & MSG_TRUNC);
	EXPECT_EQ(0, memcmp(rbuf, sbuf, 10));
	EXPECT_EQ(0, rbuf[10]);
	/* the rest of the datagram is gone */
	errno = 0;
	EXPECT_EQ(-1, recv(self->r, rbuf, sizeof(rbuf), MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);

	/* MSG_TRUNC passed in: the real length comes back */
	ASSERT_EQ(100, send_to(self->s, sbuf, 100, AFX_ADDR_LOCAL, P1, 0));
	mh.msg_flags = 0;
	iov.iov_len = 10;
	got = recvmsg(self->r, &mh, MSG_DONTWAIT | MSG_TRUNC);
	EXPECT_EQ(100, got);
	EXPECT_EQ(MSG_TRUNC, mh.msg_flags & MSG_TRUNC);
	EXPECT_EQ(0, memcmp(rbuf, sbuf, 10));
	errno = 0;
	EXPECT_EQ(-1, recv(self->r, rbuf, sizeof(rbuf), MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);

	/* big enough buffer: no MSG_TRUNC in msg_flags, either way */
	ASSERT_EQ(100, send_to(self->s, sbuf, 100, AFX_ADDR_LOCAL, P1, 0));
	ASSERT_EQ(100, send_to(self->s, sbuf, 100, AFX_ADDR_LOCAL, P1, 0));
	mh.msg_flags = 0;
	iov.iov_len = 200;
	EXPECT_EQ(100, recvmsg(self->r, &mh, MSG_DONTWAIT));
	EXPECT_EQ(0, mh.msg_flags & MSG_TRUNC);
	mh.msg_flags = 0;
	EXPECT_EQ(100, recvmsg(self->r, &mh, MSG_DONTWAIT | MSG_TRUNC));
	EXPECT_EQ(0, mh.msg_flags & MSG_TRUNC);

	/* recv(MSG_TRUNC) into a short buffer */
	ASSERT_EQ(100, send_to(self->s, sbuf, 100, AFX_ADDR_LOCAL, P1, 0));
	EXPECT_EQ(100, recv(self->r, rbuf, 1, MSG_TRUNC | MSG_DONTWAIT));

	/* the size probe idiom: MSG_PEEK|MSG_TRUNC with no buffer */
	ASSERT_EQ(100, send_to(self->s, sbuf, 100, AFX_ADDR_LOCAL, P1, 0));
	EXPECT_EQ(100, recv(self->r, NULL, 0, MSG_PEEK | MSG_TRUNC |
			    MSG_DONTWAIT));
	EXPECT_EQ(100, recv(self->r, rbuf, sizeof(rbuf), MSG_DONTWAIT));
	EXPECT_TRUE(check_dgram(rbuf, 100, 7));
}

TEST_F(dg, msg_peek)
{
	struct sockaddr_x from;
	socklen_t len;
	int v = -1;

	ASSERT_EQ(5, send_to(self->s, "first", 5, AFX_ADDR_LOCAL, P1, 0));
	ASSERT_EQ(6, send_to(self->s, "second", 6, AFX_ADDR_LOCAL, P1, 0));

	len = sizeof(from);
	memset(&from, 0, sizeof(from));
	EXPECT_EQ(5, recvfrom(self->r, rbuf, sizeof(rbuf), MSG_PEEK,
			      AFX_SA(&from), &len));
	EXPECT_EQ(0, memcmp(rbuf, "first", 5));
	EXPECT_EQ(P2, from.sx_port);
	EXPECT_EQ(5, recv(self->r, rbuf, sizeof(rbuf), MSG_PEEK));
	/* a short peek truncates but still keeps it */
	EXPECT_EQ(2, recv(self->r, rbuf, 2, MSG_PEEK));
	EXPECT_EQ(0, ioctl(self->r, FIONREAD, &v));
	EXPECT_EQ(5, v);
	EXPECT_EQ(5, recv(self->r, rbuf, sizeof(rbuf), 0));
	EXPECT_EQ(0, memcmp(rbuf, "first", 5));
	EXPECT_EQ(6, recv(self->r, rbuf, sizeof(rbuf), MSG_PEEK));
	EXPECT_EQ(0, memcmp(rbuf, "second", 6));
	EXPECT_EQ(6, recv(self->r, rbuf, sizeof(rbuf), 0));
	EXPECT_EQ(0, memcmp(rbuf, "second", 6));
	errno = 0;
	EXPECT_EQ(-1, recv(self->r, rbuf, sizeof(rbuf), MSG_PEEK |
			   MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
}

/* -------------------------------------------------------------- addressing */

TEST_F(dg, recvfrom_sender)
{
	unsigned char big[64];
	struct sockaddr_x *from = (struct sockaddr_x *)big;
	struct iovec iov = { rbuf, sizeof(rbuf) };
	struct msghdr mh;
	socklen_t len;
	int l, a;
	long pa;

	l = dg_bound(AFX_ADDR_LOCAL, P3, 0);
	a = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, l);
	ASSERT_LE(0, a);

	ASSERT_EQ(1, send_to(self->s, "s", 1, AFX_ADDR_LOCAL, P1, 0));
	ASSERT_EQ(1, send_to(l, "l", 1, AFX_ADDR_ANY, P1, 0));
	ASSERT_EQ(1, send_to(a, "a", 1, AFX_ADDR_LOCAL, P1, 0));
	pa = afx_local_port(a);

	/* a larger address buffer: addrlen comes back as 16 */
	memset(big, 0xa5, sizeof(big));
	len = sizeof(big);
	EXPECT_EQ(1, recvfrom(self->r, rbuf, sizeof(rbuf), 0, AFX_SA(from),
			      &len));
	EXPECT_EQ(AFX_ADDRLEN, len);
	EXPECT_EQ(afx_family(), from->sx_family);
	EXPECT_EQ(0, from->sx_reserved1);
	EXPECT_EQ(P2, from->sx_port);
	EXPECT_EQ(AFX_ADDR_LOCAL, from->sx_addr);
	EXPECT_EQ(0, from->sx_zero[0] | from->sx_zero[1] | from->sx_zero[2] |
		  from->sx_zero[3]);

	/* a sender bound to LOCAL */
	len = sizeof(big);
	EXPECT_EQ(1, recvfrom(self->r, rbuf, sizeof(rbuf), 0, AFX_SA(from),
			      &len));
	EXPECT_EQ('l', rbuf[0]);
	EXPECT_EQ(P3, from->sx_port);
	EXPECT_EQ(AFX_ADDR_LOCAL, from->sx_addr);

	/* an autobound sender, through recvmsg */
	memset(&mh, 0, sizeof(mh));
	mh.msg_name = big;
	mh.msg_namelen = sizeof(big);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	EXPECT_EQ(1, recvmsg(self->r, &mh, 0));
	EXPECT_EQ('a', rbuf[0]);
	EXPECT_EQ(AFX_ADDRLEN, mh.msg_namelen);
	EXPECT_EQ(pa, (long)from->sx_port);
	EXPECT_EQ(AFX_ADDR_LOCAL, from->sx_addr);

	/* replying to the reported address works */
	ASSERT_EQ(2, sendto(self->r, "re", 2, 0, AFX_SA(from), AFX_ADDRLEN));
	EXPECT_EQ(2, recv(a, rbuf, sizeof(rbuf), MSG_DONTWAIT));
	close(l);
	close(a);
}

TEST_F(dg, edestaddrreq)
{
	struct iovec iov = { (void *)"x", 1 };
	struct msghdr mh;
	int u = afx_socket(SOCK_DGRAM);

	ASSERT_LE(0, u);
	errno = 0;
	EXPECT_EQ(-1, send(u, "x", 1, 0));
	EXPECT_EQ(EDESTADDRREQ, errno);
	errno = 0;
	EXPECT_EQ(-1, write(u, "x", 1));
	EXPECT_EQ(EDESTADDRREQ, errno);
	/* bound is not enough */
	errno = 0;
	EXPECT_EQ(-1, send(self->s, "x", 1, 0));
	EXPECT_EQ(EDESTADDRREQ, errno);
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	errno = 0;
	EXPECT_EQ(-1, sendmsg(self->s, &mh, 0));
	EXPECT_EQ(EDESTADDRREQ, errno);
	errno = 0;
	EXPECT_EQ(-1, send(self->s, NULL, 0, 0));
	EXPECT_EQ(EDESTADDRREQ, errno);
	close(u);
}

TEST_F(dg, econnrefused)
{
	int u = afx_socket(SOCK_DGRAM), l;

	ASSERT_LE(0, u);
	/* nobody on P3 */
	errno = 0;
	EXPECT_EQ(-1, send_to(self->s, "x", 1, AFX_ADDR_LOCAL, P3, 0));
	EXPECT_EQ(ECONNREFUSED, errno);
	errno = 0;
	EXPECT_EQ(-1, send_to(u, "x", 1, AFX_ADDR_ANY, P3, 0));
	EXPECT_EQ(ECONNREFUSED, errno);

	/* connect() does not check, send() does */
	ASSERT_EQ(0, afx_connect(u, AFX_ADDR_LOCAL, P3));
	errno = 0;
	EXPECT_EQ(-1, send(u, "x", 1, 0));
	EXPECT_EQ(ECONNREFUSED, errno);
	EXPECT_EQ(POLLOUT, afx_poll(u, POLLOUT, 0) & POLLOUT);

	/* once somebody binds P3 it works */
	l = dg_bound(AFX_ADDR_ANY, P3, 0);
	ASSERT_LE(0, l);
	EXPECT_EQ(1, send(u, "y", 1, 0));
	EXPECT_EQ(1, recv(l, rbuf, sizeof(rbuf), MSG_DONTWAIT));
	EXPECT_EQ('y', rbuf[0]);

	/* and refused again after it is closed, queued data and all */
	EXPECT_EQ(1, send(u, "z", 1, 0));
	close(l);
	errno = 0;
	EXPECT_EQ(-1, send(u, "x", 1, 0));
	EXPECT_EQ(ECONNREFUSED, errno);
	/* a stream socket on the port does not count */
	l = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, l);
	ASSERT_EQ(0, afx_bind(l, AFX_ADDR_ANY, P3));
	ASSERT_EQ(0, listen(l, 1));
	errno = 0;
	EXPECT_EQ(-1, send(u, "x", 1, 0));
	EXPECT_EQ(ECONNREFUSED, errno);
	close(l);
	close(u);
}

TEST_F(dg, sendto_on_connected)
{
	int r2 = dg_bound(AFX_ADDR_LOCAL, P3, 0);

	ASSERT_LE(0, r2);
	ASSERT_EQ(0, afx_connect(self->s, AFX_ADDR_LOCAL, P1));
	EXPECT_EQ(2, send_to(self->s, "to", 2, AFX_ADDR_LOCAL, P3, 0));
	EXPECT_EQ(1, send(self->s, "c", 1, 0));
	EXPECT_EQ(2, recv(r2, rbuf, sizeof(rbuf), MSG_DONTWAIT));
	EXPECT_EQ(0, memcmp(rbuf, "to", 2));
	EXPECT_EQ(1, recv(self->r, rbuf, sizeof(rbuf), MSG_DONTWAIT));
	EXPECT_EQ('c', rbuf[0]);
	errno = 0;
	EXPECT_EQ(-1, recv(r2, rbuf, sizeof(rbuf), MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
	close(r2);
}

TEST_F(dg, connect_filters)
{
	struct sockaddr_x from;
	socklen_t len = sizeof(from);
	int a, u;

	a = dg_bound(AFX_ADDR_ANY, P3, 0);
	u = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, a);
	ASSERT_LE(0, u);
	/* r only accepts datagrams from port P3 now */
	ASSERT_EQ(0, afx_connect(self->r, AFX_ADDR_LOCAL, P3));

	errno = 0;
	EXPECT_EQ(-1, send_to(self->s, "x", 1, AFX_ADDR_LOCAL, P1, 0));
	EXPECT_EQ(ECONNREFUSED, errno);
	errno = 0;
	EXPECT_EQ(-1, send_to(u, "x", 1, AFX_ADDR_LOCAL, P1, 0));
	EXPECT_EQ(ECONNREFUSED, errno);
	/* a connected sender from the wrong port is refused as well */
	ASSERT_EQ(0, afx_connect(self->s, AFX_ADDR_LOCAL, P1));
	errno = 0;
	EXPECT_EQ(-1, send(self->s, "x", 1, 0));
	EXPECT_EQ(ECONNREFUSED, errno);

	EXPECT_EQ(1, send_to(a, "a", 1, AFX_ADDR_LOCAL, P1, 0));
	EXPECT_EQ(1, recvfrom(self->r, rbuf, sizeof(rbuf), MSG_DONTWAIT,
			      AFX_SA(&from), &len));
	EXPECT_EQ('a', rbuf[0]);
	EXPECT_EQ(P3, from.sx_port);
	errno = 0;
	EXPECT_EQ(-1, recv(self->r, rbuf, sizeof(rbuf), MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);

	/* r itself may still sendto others, s is not filtering */
	EXPECT_EQ(1, send_to(self->r, "b", 1, AFX_ADDR_LOCAL, P2, 0));
	EXPECT_EQ(1, recv(self->s, rbuf, sizeof(rbuf), MSG_DONTWAIT));
	close(a);
	close(u);
}

TEST_F(dg, af_unspec_dissolves)
{
	struct sockaddr_x sx, un;

	ASSERT_EQ(0, afx_connect(self->r, AFX_ADDR_LOCAL, P3));
	ASSERT_EQ(0, afx_getpeername(self->r, &sx));
	EXPECT_EQ(P3, sx.sx_port);
	EXPECT_EQ(AFX_ADDR_LOCAL, sx.sx_addr);
	errno = 0;
	EXPECT_EQ(-1, send_to(self->s, "x", 1, AFX_ADDR_LOCAL, P1, 0));
	EXPECT_EQ(ECONNREFUSED, errno);

	memset(&un, 0, sizeof(un));
	un.sx_family = AF_UNSPEC;
	ASSERT_EQ(0, connect(self->r, AFX_SA(&un), sizeof(un)))
		TH_LOG("connect(AF_UNSPEC): %s", strerror(errno));
	errno = 0;
	EXPECT_EQ(-1, afx_getpeername(self->r, &sx));
	EXPECT_EQ(ENOTCONN, errno);
	errno = 0;
	EXPECT_EQ(-1, send(self->r, "x", 1, 0));
	EXPECT_EQ(EDESTADDRREQ, errno);
	/* still bound to P1, and open to everyone again */
	EXPECT_EQ(P1, afx_local_port(self->r));
	EXPECT_EQ(1, send_to(self->s, "x", 1, AFX_ADDR_LOCAL, P1, 0));
	EXPECT_EQ(1, recv(self->r, rbuf, sizeof(rbuf), MSG_DONTWAIT));
	/* and can connect again */
	ASSERT_EQ(0, afx_connect(self->r, AFX_ADDR_LOCAL, P2));
	EXPECT_EQ(1, send(self->r, "y", 1, 0));
	EXPECT_EQ(1, recv(self->s, rbuf, sizeof(rbuf), MSG_DONTWAIT));
}

/* ------------------------------------------------ queue limits & blocking */

TEST_F(dg, fill_is_byte_accounted)
{
	uint32_t seq = 0, rseq = 0;
	long n1, n2, n3;
	int rb = 0, r2;

	ASSERT_EQ(0, afx_set_int(self->r, SOL_SOCKET, SO_RCVBUF, SMALL_RCVBUF));
	ASSERT_EQ(0, afx_get_int(self->r, SOL_SOCKET, SO_RCVBUF, &rb));

	/* 1000-byte datagrams until the receiver is full */
	n1 = fill(self->s, P1, 1000, &seq, 100000);
	ASSERT_LT(0, n1) TH_LOG("%s", strerror(errno));
	TH_LOG("SO_RCVBUF %d: %ld datagrams of 1000 bytes", rb, n1);
	EXPECT_GE(rb + 1000, n1 * 1000);
	/* full in bytes: not even one byte fits now */
	errno = 0;
	EXPECT_EQ(-1, send_to(self->s, "x", 1, AFX_ADDR_LOCAL, P1,
			      MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(n1, drain_check(self->r, &rseq, NULL, 1000));

	/* many tiny datagrams fill it too (each costs its truesize) */
	r2 = dg_bound(AFX_ADDR_ANY, P3, 0);
	ASSERT_LE(0, r2);
	ASSERT_EQ(0, afx_set_int(r2, SOL_SOCKET, SO_RCVBUF, SMALL_RCVBUF));
	seq = 0;
	n2 = fill(self->s, P3, sizeof(struct hdr), &seq, 100000);
	ASSERT_LT(0, n2) TH_LOG("small datagrams never filled the receiver");
	TH_LOG("%ld datagrams of %zu bytes", n2, sizeof(struct hdr));
	EXPECT_LT(n1, n2);

	/* a bigger SO_RCVBUF on the full receiver lets more in */
	ASSERT_EQ(0, afx_set_int(r2, SOL_SOCKET, SO_RCVBUF, 4 * SMALL_RCVBUF));
	n3 = fill(self->s, P3, sizeof(struct hdr), &seq, 100000);
	ASSERT_LT(0, n3);
	TH_LOG("after raising SO_RCVBUF: %ld more", n3);
	EXPECT_LE(2 * n2, n2 + n3);
	rseq = 0;
	EXPECT_EQ(n2 + n3, drain_check(r2, &rseq, NULL, sizeof(struct hdr)));
	close(r2);
}

TEST_F(dg, full_nonblocking_variants)
{
	uint32_t seq = 0, rseq = 0;
	int s2;
	long n;

	ASSERT_EQ(0, afx_set_int(self->r, SOL_SOCKET, SO_RCVBUF, SMALL_RCVBUF));
	n = fill(self->s, P1, 500, &seq, 100000);
	ASSERT_LT(0, n);

	/* MSG_DONTWAIT: see fill(); O_NONBLOCK */
	s2 = afx_socket(SOCK_DGRAM | SOCK_NONBLOCK);
	ASSERT_LE(0, s2);
	errno = 0;
	EXPECT_EQ(-1, send_to(s2, sbuf, 500, AFX_ADDR_LOCAL, P1, 0));
	EXPECT_EQ(EAGAIN, errno);
	close(s2);
	/* X_NONBLOCK, file blocking */
	s2 = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, s2);
	ASSERT_EQ(0, afx_set_int(s2, SOL_X, X_NONBLOCK, 1));
	errno = 0;
	EXPECT_EQ(-1, send_to(s2, sbuf, 500, AFX_ADDR_LOCAL, P1, 0));
	EXPECT_EQ(EAGAIN, errno);
	/* connected and X_NONBLOCK */
	ASSERT_EQ(0, afx_connect(s2, AFX_ADDR_LOCAL, P1));
	errno = 0;
	EXPECT_EQ(-1, send(s2, sbuf, 500, 0));
	EXPECT_EQ(EAGAIN, errno);
	close(s2);
	/* nothing extra was queued */
	EXPECT_EQ(n, drain_check(self->r, &rseq, NULL, 500));
}

/*
 * With r (bound to P1) full, fork a child that does one more blocking
 * send of datagram seq from s to P1 (and closes its copy of r). Returns the child's pid, *rfd the read end
 * of its result pipe. The child arms alarm() and, if usr1, a SIGUSR1
 * handler without SA_RESTART.
 */
static pid_t blocked_sender(int s, int r, size_t len, uint32_t seq, int usr1,
			    int *rfd)
{
	int p[2];
	pid_t pid;

	if (pipe(p))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		struct sigaction sa;
		ssize_t ret;

		close(p[0]);
		close(r);	/* the receiver's life is the parent's */
		child_init(CHILD_ALARM);
		if (usr1) {
			memset(&sa, 0, sizeof(sa));
			sa.sa_handler = on_usr1;
			sigemptyset(&sa.sa_mask);
			sigaction(SIGUSR1, &sa, NULL);
		}
		make_dgram(sbuf, seq, len);
		ret = send_to(s, sbuf, len, AFX_ADDR_LOCAL, P1, 0);
		put_result(p[1], ret, ret < 0 ? errno : 0, 0);
		_exit(0);
	}
	close(p[1]);
	*rfd = p[0];
	return pid;
}

TEST_F(dg, blocking_send_waits_for_reader)
{
	uint32_t seq = 0, rseq = 0;
	struct result res;
	int pfd;
	pid_t pid;
	long n;

	ASSERT_EQ(0, afx_set_int(self->r, SOL_SOCKET, SO_RCVBUF, SMALL_RCVBUF));
	n = fill(self->s, P1, 1000, &seq, 100000);
	ASSERT_LT(0, n);

	pid = blocked_sender(self->s, self->r, 1000, seq, 0, &pfd);
	ASSERT_LT(0, pid);
	/* it sleeps in sendto() and has not returned */
	ASSERT_EQ(0, afx_wait_blocked(pid, SYS_sendto, 5000))
		TH_LOG("the sender never blocked");
	EXPECT_EQ(0, pipe_readable(pfd, 0)) TH_LOG("send returned early");

	/* reading one datagram lets it in */
	ASSERT_EQ(1000, recv(self->r, rbuf, sizeof(rbuf), 0));
	EXPECT_TRUE(check_dgram(rbuf, 1000, 0));
	rseq = 1;
	ASSERT_NE(0, pipe_readable(pfd, 10000)) TH_LOG("sender still blocked");
	ASSERT_EQ(0, get_result(pfd, &res));
	EXPECT_EQ(1000, res.ret) TH_LOG("send: %s", strerror(res.err));
	EXPECT_EQ(0, wait_child(pid));
	/* everything, the late one last */
	EXPECT_EQ(n, drain_check(self->r, &rseq, NULL, 1000));
	EXPECT_EQ(seq + 1, rseq);
	close(pfd);
}

TEST_F(dg, blocking_send_sndtimeo)
{
	struct timeval tv = { 0, 300 * 1000 };
	uint32_t seq = 0, rseq = 0;
	double t0, dt;
	long n;

	ASSERT_EQ(0, afx_set_int(self->r, SOL_SOCKET, SO_RCVBUF, SMALL_RCVBUF));
	n = fill(self->s, P1, 1000, &seq, 100000);
	ASSERT_LT(0, n);
	ASSERT_EQ(0, setsockopt(self->s, SOL_SOCKET, SO_SNDTIMEO, &tv,
				sizeof(tv)));
	make_dgram(sbuf, seq, 1000);
	t0 = now_ms();
	errno = 0;
	EXPECT_EQ(-1, send_to(self->s, sbuf, 1000, AFX_ADDR_LOCAL, P1, 0));
	dt = now_ms() - t0;
	EXPECT_EQ(EAGAIN, errno) TH_LOG("%s", strerror(errno));
	EXPECT_LE(250, (int)dt) TH_LOG("timed out after %.1f ms", dt);
	EXPECT_GT(5000, (int)dt) TH_LOG("timed out after %.1f ms", dt);

	/* connected send() as well */
	ASSERT_EQ(0, afx_connect(self->s, AFX_ADDR_LOCAL, P1));
	t0 = now_ms();
	errno = 0;
	EXPECT_EQ(-1, send(self->s, sbuf, 1000, 0));
	dt = now_ms() - t0;
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_LE(250, (int)dt) TH_LOG("timed out after %.1f ms", dt);
	/* the timed-out ones were not queued */
	EXPECT_EQ(n, drain_check(self->r, &rseq, NULL, 1000));
}

TEST_F(dg, blocking_send_eintr)
{
	uint32_t seq = 0, rseq = 0;
	struct result res;
	int pfd, tries;
	pid_t pid;
	long n;

	ASSERT_EQ(0, afx_set_int(self->r, SOL_SOCKET, SO_RCVBUF, SMALL_RCVBUF));
	n = fill(self->s, P1, 1000, &seq, 100000);
	ASSERT_LT(0, n);

	pid = blocked_sender(self->s, self->r, 1000, seq, 1, &pfd);
	ASSERT_LT(0, pid);
	for (tries = 0; tries < 50; tries++) {
		ASSERT_EQ(0, afx_wait_blocked(pid, SYS_sendto, 5000))
			TH_LOG("the sender never blocked");
		ASSERT_EQ(0, kill(pid, SIGUSR1));
		if (pipe_readable(pfd, 200))
			break;
	}
	ASSERT_EQ(0, get_result(pfd, &res)) TH_LOG("no result from sender");
	EXPECT_EQ(-1, res.ret);
	EXPECT_EQ(EINTR, res.err) TH_LOG("send: %s", strerror(res.err));
	EXPECT_EQ(0, wait_child(pid));
	/* the interrupted datagram was not queued */
	EXPECT_EQ(n, drain_check(self->r, &rseq, NULL, 1000));
	close(pfd);
}

/* A sender blocked on a full receiver fails once that receiver is closed. */
TEST_F(dg, blocked_send_receiver_closes)
{
	uint32_t seq = 0;
	struct result res;
	int pfd;
	pid_t pid;
	long n;

	ASSERT_EQ(0, afx_set_int(self->r, SOL_SOCKET, SO_RCVBUF, SMALL_RCVBUF));
	n = fill(self->s, P1, 1000, &seq, 100000);
	ASSERT_LT(0, n);
	pid = blocked_sender(self->s, self->r, 1000, seq, 0, &pfd);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, afx_wait_blocked(pid, SYS_sendto, 5000))
		TH_LOG("the sender never blocked");
	EXPECT_EQ(0, pipe_readable(pfd, 0));
	close(self->r);
	self->r = -1;
	ASSERT_NE(0, pipe_readable(pfd, 10000))
		TH_LOG("sender still blocked after the receiver closed");
	ASSERT_EQ(0, get_result(pfd, &res));
	EXPECT_EQ(-1, res.ret);
	EXPECT_EQ(ECONNREFUSED, res.err) TH_LOG("send: %s", strerror(res.err));
	EXPECT_EQ(0, wait_child(pid));
	close(pfd);
}

/* A blocking recv() sleeps until a datagram arrives. */
TEST_F(dg, blocking_recv_wakes_up)
{
	struct sockaddr_x from;
	socklen_t len = sizeof(from);
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		child_init(CHILD_ALARM);
		/* wait until the parent sleeps in recvfrom() */
		if (afx_wait_blocked(getppid(), SYS_recvfrom, 10000))
			_exit(1);
		if (send_to(self->s, "wake", 4, AFX_ADDR_LOCAL, P1, 0) != 4)
			_exit(2);
		_exit(0);
	}
	EXPECT_EQ(4, recvfrom(self->r, rbuf, sizeof(rbuf), 0, AFX_SA(&from),
			      &len));
	EXPECT_EQ(0, memcmp(rbuf, "wake", 4));
	EXPECT_EQ(P2, from.sx_port);
	EXPECT_EQ(0, wait_child(pid));
}

/*
 * A child sends N numbered datagrams of varying sizes with blocking
 * sends; the parent lets the queue fill up (waits until the child blocks)
 * and drains it, again and again. Every datagram arrives once, in order.
 */
#define NOLOSS_N	3000U

TEST_F_TIMEOUT(dg, no_loss_fill_drain, 120)
{
	uint32_t rseq = 0;
	int blocked = 0, cycles = 0, status;
	pid_t pid;
	long n;

	afx_watchdog(110);
	ASSERT_EQ(0, afx_set_int(self->r, SOL_SOCKET, SO_RCVBUF, SMALL_RCVBUF));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		uint32_t i;

		child_init(100);
		for (i = 0; i < NOLOSS_N; i++) {
			size_t len = var_size(i);

			make_dgram(sbuf, i, len);
			if (send_to(self->s, sbuf, len, AFX_ADDR_LOCAL, P1, 0)
			    != (ssize_t)len)
				_exit(1);
		}
		_exit(0);
	}
	while (rseq < NOLOSS_N) {
		/* wait until the sender is stuck on a full queue (or done) */
		if (afx_wait_blocked(pid, SYS_sendto, 100) == 0)
			blocked++;
		n = drain_check(self->r, &rseq, var_size, 0);
		ASSERT_LE(0, n) TH_LOG("bad datagram after %u", rseq);
		cycles++;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			n = drain_check(self->r, &rseq, var_size, 0);
			ASSERT_LE(0, n);
			ASSERT_TRUE(WIFEXITED(status) &&
				    WEXITSTATUS(status) == 0)
				TH_LOG("sender failed");
			pid = 0;
			break;
		}
	}
	if (pid)
		EXPECT_EQ(0, wait_child(pid));
	EXPECT_EQ(NOLOSS_N, rseq);
	TH_LOG("%u datagrams, %d drain cycles, sender seen blocked %d times",
	       rseq, cycles, blocked);
	EXPECT_LE(2, blocked) TH_LOG("the queue never filled up");
	errno = 0;
	EXPECT_EQ(-1, recv(self->r, rbuf, sizeof(rbuf), MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
}

/* ------------------------------------------------------------------- poll */

TEST_F(dg, poll_in_out)
{
	int u, ghost;
	long n;

	/* POLLIN only with a datagram queued */
	EXPECT_EQ(0, afx_poll(self->r, POLLIN, 0));
	ASSERT_EQ(1, send_to(self->s, "x", 1, AFX_ADDR_LOCAL, P1, 0));
	EXPECT_EQ(POLLIN, afx_poll(self->r, POLLIN, 0) & POLLIN);
	ASSERT_EQ(1, recv(self->r, rbuf, sizeof(rbuf), 0));
	EXPECT_EQ(0, afx_poll(self->r, POLLIN, 0));

	/* connected: POLLOUT while the peer has room */
	ASSERT_EQ(0, afx_set_int(self->r, SOL_SOCKET, SO_RCVBUF, SMALL_RCVBUF));
	ASSERT_EQ(0, afx_connect(self->s, AFX_ADDR_LOCAL, P1));
	EXPECT_EQ(POLLOUT, afx_poll(self->s, POLLOUT, 0) & POLLOUT);
	/* full: not even a 1-byte datagram fits any more */
	n = fill_full(self->s, 0);
	ASSERT_LT(0, n);
	errno = 0;
	ASSERT_EQ(-1, send(self->s, "", 0, MSG_DONTWAIT));
	ASSERT_EQ(EAGAIN, errno);
	EXPECT_EQ(0, afx_poll(self->s, POLLOUT, 0) & POLLOUT)
		TH_LOG("POLLOUT on a sender whose peer has no room");
	/* unconnected: always POLLOUT, even though the sendto would block */
	u = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, u);
	EXPECT_EQ(POLLOUT, afx_poll(u, POLLOUT, 0) & POLLOUT);
	ASSERT_EQ(0, afx_bind(u, AFX_ADDR_ANY, 0));
	errno = 0;
	EXPECT_EQ(-1, send_to(u, "x", 1, AFX_ADDR_LOCAL, P1, MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(POLLOUT, afx_poll(u, POLLOUT, 0) & POLLOUT);
	/* room again after a read */
	ASSERT_EQ(1000, recv(self->r, rbuf, sizeof(rbuf), 0));
	EXPECT_EQ(POLLOUT, afx_poll(self->s, POLLOUT, 0) & POLLOUT);
	/* connected to a port nobody has: POLLOUT */
	ghost = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, ghost);
	ASSERT_EQ(0, afx_connect(ghost, AFX_ADDR_LOCAL, P4));
	EXPECT_EQ(POLLOUT, afx_poll(ghost, POLLOUT, 0) & POLLOUT);
	close(ghost);
	close(u);
}

TEST_F(dg, pollout_wakeup_on_read)
{
	struct result res;
	int p[2];
	pid_t pid;
	long n;

	ASSERT_EQ(0, afx_set_int(self->r, SOL_SOCKET, SO_RCVBUF, SMALL_RCVBUF));
	ASSERT_EQ(0, afx_connect(self->s, AFX_ADDR_LOCAL, P1));
	n = fill_full(self->s, 0);
	ASSERT_LT(0, n);
	EXPECT_EQ(0, afx_poll(self->s, POLLOUT, 0) & POLLOUT)
		TH_LOG("POLLOUT on a sender whose peer has no room");

	ASSERT_EQ(0, pipe(p));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct pollfd pfd = { .fd = self->s, .events = POLLOUT };
		int r;

		child_init(CHILD_ALARM);
		close(p[0]);
		close(self->r);
		r = poll(&pfd, 1, 15000);
		put_result(p[1], r, r < 0 ? errno : 0, pfd.revents);
		_exit(0);
	}
	close(p[1]);
	ASSERT_EQ(0, afx_wait_blocked(pid, -1, 5000))
		TH_LOG("the poller never slept");
	EXPECT_EQ(0, pipe_readable(p[0], 0)) TH_LOG("poll returned early");
	/* the peer reads: the poller wakes up with POLLOUT */
	ASSERT_EQ(1000, recv(self->r, rbuf, sizeof(rbuf), 0));
	ASSERT_NE(0, pipe_readable(p[0], 10000)) TH_LOG("poller not woken");
	ASSERT_EQ(0, get_result(p[0], &res));
	EXPECT_EQ(1, res.ret);
	EXPECT_EQ(POLLOUT, res.revents & POLLOUT);
	EXPECT_EQ(0, wait_child(pid));
	EXPECT_LT(0, afx_drain(self->r));
	close(p[0]);
}

/*
 * EPOLLET: a connected sender that filled its peer with nonblocking sends,
 * never polling in between, gets an EPOLLOUT edge when the peer reads.
 */
TEST_F(dg, epollet_pollout_edge_after_eagain)
{
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLET };
	struct epoll_event out[2];
	int ep;

	ASSERT_EQ(0, afx_set_int(self->r, SOL_SOCKET, SO_RCVBUF, SMALL_RCVBUF));
	ASSERT_EQ(0, afx_connect(self->s, AFX_ADDR_LOCAL, P1));
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->s, &ev));
	/* the first edge: there is room */
	ASSERT_EQ(1, epoll_wait(ep, out, 2, 1000));
	ASSERT_LT(0, fill_full(self->s, 0));
	EXPECT_EQ(0, epoll_wait(ep, out, 2, 0));
	ASSERT_EQ(1000, recv(self->r, rbuf, sizeof(rbuf), 0));
	ASSERT_EQ(1, epoll_wait(ep, out, 2, 5000)) TH_LOG("no EPOLLOUT edge");
	EXPECT_EQ(EPOLLOUT, out[0].events & EPOLLOUT);
	close(ep);
	EXPECT_LT(0, afx_drain(self->r));
}

/*
 * A nonblocking connected sender that waits in poll(POLLOUT) whenever it
 * gets EAGAIN, against a blocking reader: no lost wakeup, no loss.
 */
TEST_F_TIMEOUT(dg, pollout_stream_no_loss, 120)
{
	uint32_t i, rseq = 0;
	int p[2];
	pid_t pid;
	char c;

	afx_watchdog(110);
	ASSERT_EQ(0, afx_set_int(self->r, SOL_SOCKET, SO_RCVBUF, SMALL_RCVBUF));
	ASSERT_EQ(0, afx_connect(self->s, AFX_ADDR_LOCAL, P1));
	ASSERT_EQ(0, pipe(p));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int waits = 0;

		child_init(100);
		close(p[0]);
		for (i = 0; i < NOLOSS_N; i++) {
			size_t len = var_size(i);
			ssize_t r;

			make_dgram(sbuf, i, len);
			for (;;) {
				r = send(self->s, sbuf, len, MSG_DONTWAIT);
				if (r == (ssize_t)len)
					break;
				if (r >= 0 || errno != EAGAIN)
					_exit(1);
				/* the queue is full: tell the reader once */
				if (!waits && write(p[1], "f", 1) != 1)
					_exit(4);
				/* must come back with POLLOUT, not time out */
				if (!(afx_poll(self->s, POLLOUT, 10000) &
				      POLLOUT))
					_exit(2);
				waits++;
			}
		}
		_exit(waits ? 0 : 3);
	}
	close(p[1]);
	/* start reading only once the sender has filled the queue */
	ASSERT_EQ(1, read(p[0], &c, 1)) TH_LOG("the sender never filled the queue");
	for (i = 0; i < NOLOSS_N; i++) {
		ssize_t got = recv(self->r, rbuf, sizeof(rbuf), 0);

		ASSERT_EQ((ssize_t)var_size(i), got) TH_LOG("datagram %u", i);
		ASSERT_TRUE(check_dgram(rbuf, got, i)) TH_LOG("datagram %u", i);
		rseq++;
	}
	EXPECT_EQ(0, wait_child(pid))
		TH_LOG("sender: 1 send error, 2 POLLOUT never came, 3 never had to wait");
	EXPECT_EQ(NOLOSS_N, rseq);
	close(p[0]);
}

/* -------------------------------------------------------------- broadcast */

TEST_F(dg, broadcast_needs_so_broadcast)
{
	int v = -1;

	errno = 0;
	EXPECT_EQ(-1, send_to(self->s, "b", 1, AFX_ADDR_BROADCAST, P1, 0));
	EXPECT_EQ(EACCES, errno);
	/* r got nothing */
	errno = 0;
	EXPECT_EQ(-1, recv(self->r, rbuf, sizeof(rbuf), MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);

	ASSERT_EQ(0, afx_set_int(self->s, SOL_SOCKET, SO_BROADCAST, 1));
	ASSERT_EQ(0, afx_get_int(self->s, SOL_SOCKET, SO_BROADCAST, &v));
	EXPECT_EQ(1, v);
	EXPECT_EQ(1, send_to(self->s, "b", 1, AFX_ADDR_BROADCAST, P1, 0));
	EXPECT_EQ(1, recv(self->r, rbuf, sizeof(rbuf), MSG_DONTWAIT));
	/* no receivers at all: still succeeds */
	EXPECT_EQ(5, send_to(self->s, "empty", 5, AFX_ADDR_BROADCAST, P4, 0))
		TH_LOG("%s", strerror(errno));
	/* broadcast to port 0 is a bad destination like unicast */
	errno = 0;
	EXPECT_EQ(-1, send_to(self->s, "b", 1, AFX_ADDR_BROADCAST, 0, 0));
	EXPECT_EQ(EINVAL, errno);

	/* switched off again */
	ASSERT_EQ(0, afx_set_int(self->s, SOL_SOCKET, SO_BROADCAST, 0));
	errno = 0;
	EXPECT_EQ(-1, send_to(self->s, "b", 1, AFX_ADDR_BROADCAST, P1, 0));
	EXPECT_EQ(EACCES, errno);
}

static int recv_one(int fd, const char *want, uint32_t from_port)
{
	struct sockaddr_x from;
	socklen_t len = sizeof(from);
	size_t wl = strlen(want);
	ssize_t got;

	got = recvfrom(fd, rbuf, sizeof(rbuf), MSG_DONTWAIT, AFX_SA(&from),
		       &len);
	if (got != (ssize_t)wl || memcmp(rbuf, want, wl))
		return 0;
	return from.sx_port == from_port && from.sx_addr == AFX_ADDR_LOCAL;
}

static int queue_empty(int fd)
{
	return recv(fd, rbuf, sizeof(rbuf), MSG_DONTWAIT) < 0 &&
	       errno == EAGAIN;
}

TEST_F(dg, broadcast_copies)
{
	int rx[3], b, t, c_other, c_t, other;
	unsigned int i;

	for (i = 0; i < 3; i++) {
		rx[i] = dg_bound(AFX_ADDR_ANY, P3, 1);
		ASSERT_LE(0, rx[i]) TH_LOG("rx %u: %s", i, strerror(errno));
	}
	/* a sender bound to the port itself gets a copy too */
	b = dg_bound(AFX_ADDR_ANY, P3, 1);
	ASSERT_LE(0, b);
	ASSERT_EQ(0, afx_set_int(b, SOL_SOCKET, SO_BROADCAST, 1));
	/* a sender from elsewhere */
	t = dg_bound(AFX_ADDR_ANY, P4, 0);
	ASSERT_LE(0, t);
	ASSERT_EQ(0, afx_set_int(t, SOL_SOCKET, SO_BROADCAST, 1));
	/* connected members: one to someone else, one to t */
	c_other = dg_bound(AFX_ADDR_ANY, P3, 1);
	c_t = dg_bound(AFX_ADDR_ANY, P3, 1);
	ASSERT_LE(0, c_other);
	ASSERT_LE(0, c_t);
	ASSERT_EQ(0, afx_connect(c_other, AFX_ADDR_LOCAL, P5));
	ASSERT_EQ(0, afx_connect(c_t, AFX_ADDR_LOCAL, P4));
	/* a socket on another port */
	other = dg_bound(AFX_ADDR_ANY, P5, 1);
	ASSERT_LE(0, other);

	EXPECT_EQ(5, send_to(b, "hello", 5, AFX_ADDR_BROADCAST, P3, 0))
		TH_LOG("%s", strerror(errno));
	for (i = 0; i < 3; i++)
		EXPECT_TRUE(recv_one(rx[i], "hello", P3)) TH_LOG("rx %u", i);
	EXPECT_TRUE(recv_one(b, "hello", P3));
	EXPECT_TRUE(queue_empty(c_other));
	EXPECT_TRUE(queue_empty(c_t));
	EXPECT_TRUE(queue_empty(other));
	EXPECT_TRUE(queue_empty(self->r));

	EXPECT_EQ(3, send_to(t, "all", 3, AFX_ADDR_BROADCAST, P3, 0));
	for (i = 0; i < 3; i++)
		EXPECT_TRUE(recv_one(rx[i], "all", P4)) TH_LOG("rx %u", i);
	EXPECT_TRUE(recv_one(b, "all", P4));
	EXPECT_TRUE(recv_one(c_t, "all", P4));
	EXPECT_TRUE(queue_empty(c_other));
	EXPECT_TRUE(queue_empty(other));
	/* exactly one copy each */
	for (i = 0; i < 3; i++)
		EXPECT_TRUE(queue_empty(rx[i]));
	EXPECT_TRUE(queue_empty(b));
	EXPECT_TRUE(queue_empty(c_t));

	/* a connected broadcast sender */
	ASSERT_EQ(0, afx_connect(t, AFX_ADDR_BROADCAST, P3));
	EXPECT_EQ(2, send(t, "cb", 2, 0)) TH_LOG("%s", strerror(errno));
	for (i = 0; i < 3; i++)
		EXPECT_TRUE(recv_one(rx[i], "cb", P4)) TH_LOG("rx %u", i);

	for (i = 0; i < 3; i++)
		close(rx[i]);
	close(b);
	close(t);
	close(c_other);
	close(c_t);
	close(other);
}

TEST_F(dg, broadcast_full_receiver_drops)
{
	uint32_t seq = 0, rseq = 0;
	int r2, r1, b;
	long n;

	/* r2 first, r1 last: unicast to P3 goes to r1, the newest */
	r2 = dg_bound(AFX_ADDR_ANY, P3, 1);
	r1 = dg_bound(AFX_ADDR_ANY, P3, 1);
	ASSERT_LE(0, r2);
	ASSERT_LE(0, r1);
	ASSERT_EQ(0, afx_set_int(r1, SOL_SOCKET, SO_RCVBUF, SMALL_RCVBUF));
	n = fill(self->s, P3, 1000, &seq, 100000);
	ASSERT_LT(0, n);
	EXPECT_TRUE(queue_empty(r2)) TH_LOG("unicast went to r2, not r1");

	/* a blocking broadcast sender does not wait for the full r1 */
	b = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, b);
	ASSERT_EQ(0, afx_set_int(b, SOL_SOCKET, SO_BROADCAST, 1));
	make_dgram(sbuf, 1000000, 1000);
	EXPECT_EQ(1000, send_to(b, sbuf, 1000, AFX_ADDR_BROADCAST, P3, 0))
		TH_LOG("%s", strerror(errno));
	EXPECT_EQ(1000, send_to(b, sbuf, 1000, AFX_ADDR_BROADCAST, P3,
				MSG_DONTWAIT)) TH_LOG("%s", strerror(errno));
	/* r2 has both copies */
	EXPECT_EQ(1000, recv(r2, rbuf, sizeof(rbuf), MSG_DONTWAIT));
	EXPECT_TRUE(check_dgram(rbuf, 1000, 1000000));
	EXPECT_EQ(1000, recv(r2, rbuf, sizeof(rbuf), MSG_DONTWAIT));
	EXPECT_TRUE(queue_empty(r2));
	/* r1 has exactly the unicast ones: its copies were dropped */
	EXPECT_EQ(n, drain_check(r1, &rseq, NULL, 1000));
	close(b);
	close(r1);
	close(r2);
}

TEST_F(dg, reuseaddr_rules)
{
	int a, b, c;

	/* first with, second without */
	a = dg_bound(AFX_ADDR_ANY, P3, 1);
	ASSERT_LE(0, a);
	b = dg_bound(AFX_ADDR_ANY, P3, 0);
	EXPECT_EQ(-1, b);
	EXPECT_EQ(EADDRINUSE, errno);
	/* both with (LOCAL and ANY share too) */
	b = dg_bound(AFX_ADDR_LOCAL, P3, 1);
	EXPECT_LE(0, b) TH_LOG("%s", strerror(errno));
	c = dg_bound(AFX_ADDR_ANY, P3, 1);
	EXPECT_LE(0, c) TH_LOG("%s", strerror(errno));
	close(a);
	close(b);
	close(c);

	/* first without, second with */
	a = dg_bound(AFX_ADDR_ANY, P3, 0);
	ASSERT_LE(0, a);
	b = dg_bound(AFX_ADDR_ANY, P3, 1);
	EXPECT_EQ(-1, b);
	EXPECT_EQ(EADDRINUSE, errno);
	close(a);

	/* SO_REUSEADDR reads back */
	a = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, a);
	ASSERT_EQ(0, afx_set_int(a, SOL_SOCKET, SO_REUSEADDR, 1));
	c = 0;
	ASSERT_EQ(0, afx_get_int(a, SOL_SOCKET, SO_REUSEADDR, &c));
	EXPECT_EQ(1, c);
	close(a);
}

TEST_F(dg, reuseaddr_unicast_to_newest)
{
	int old, young, t;

	old = dg_bound(AFX_ADDR_ANY, P3, 1);
	young = dg_bound(AFX_ADDR_ANY, P3, 1);
	ASSERT_LE(0, old);
	ASSERT_LE(0, young);
	EXPECT_EQ(1, send_to(self->s, "1", 1, AFX_ADDR_LOCAL, P3, 0));
	EXPECT_TRUE(recv_one(young, "1", P2));
	EXPECT_TRUE(queue_empty(old));

	/* the newest refuses s (connected elsewhere): the older one gets it */
	ASSERT_EQ(0, afx_connect(young, AFX_ADDR_LOCAL, P5));
	EXPECT_EQ(1, send_to(self->s, "2", 1, AFX_ADDR_LOCAL, P3, 0))
		TH_LOG("%s", strerror(errno));
	EXPECT_TRUE(recv_one(old, "2", P2));
	EXPECT_TRUE(queue_empty(young));
	/* ...but a sender from P5 still goes to the newest */
	t = dg_bound(AFX_ADDR_ANY, P5, 0);
	ASSERT_LE(0, t);
	EXPECT_EQ(1, send_to(t, "3", 1, AFX_ADDR_LOCAL, P3, 0));
	EXPECT_TRUE(recv_one(young, "3", P5));
	EXPECT_TRUE(queue_empty(old));
	/* nobody accepts s: refused */
	ASSERT_EQ(0, afx_connect(old, AFX_ADDR_LOCAL, P5));
	errno = 0;
	EXPECT_EQ(-1, send_to(self->s, "4", 1, AFX_ADDR_LOCAL, P3, 0));
	EXPECT_EQ(ECONNREFUSED, errno);
	close(t);
	close(old);
	close(young);
}

/* --------------------------------------------------- shutdown, ioctl, misc */

TEST_F(dg, shutdown_rd)
{
	ASSERT_EQ(0, afx_connect(self->r, AFX_ADDR_LOCAL, P2));
	ASSERT_EQ(0, afx_connect(self->s, AFX_ADDR_LOCAL, P1));
	ASSERT_EQ(4, send(self->s, "data", 4, 0));
	ASSERT_EQ(0, shutdown(self->r, SHUT_RD));
	/* queued data first, then 0 instead of blocking */
	EXPECT_EQ(4, recv(self->r, rbuf, sizeof(rbuf), 0));
	EXPECT_EQ(0, recv(self->r, rbuf, sizeof(rbuf), 0));
	EXPECT_EQ(0, recv(self->r, rbuf, sizeof(rbuf), 0));
}

TEST_F(dg, shutdown_wr)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	ASSERT_EQ(0, afx_connect(self->s, AFX_ADDR_LOCAL, P1));
	ASSERT_EQ(0, shutdown(self->s, SHUT_WR));
	errno = 0;
	EXPECT_EQ(-1, send(self->s, "x", 1, MSG_NOSIGNAL));
	EXPECT_EQ(EPIPE, errno);
	errno = 0;
	EXPECT_EQ(-1, write(self->s, "x", 1));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_TRUE(queue_empty(self->r));
	/* receiving still works */
	ASSERT_EQ(1, send_to(self->r, "y", 1, AFX_ADDR_LOCAL, P2, 0));
	EXPECT_EQ(1, recv(self->s, rbuf, sizeof(rbuf), MSG_DONTWAIT));
}

TEST_F(dg, fionread_siocoutq)
{
	int v;

	v = -1;
	ASSERT_EQ(0, ioctl(self->r, FIONREAD, &v));
	EXPECT_EQ(0, v);
	make_dgram(sbuf, 1, 100);
	ASSERT_EQ(100, send_to(self->s, sbuf, 100, AFX_ADDR_LOCAL, P1, 0));
	ASSERT_EQ(9, send_to(self->s, sbuf, 9, AFX_ADDR_LOCAL, P1, 0));
	v = -1;
	ASSERT_EQ(0, ioctl(self->r, FIONREAD, &v));
	EXPECT_EQ(100, v);
	v = -1;
	ASSERT_EQ(0, ioctl(self->r, SIOCINQ, &v));
	EXPECT_EQ(100, v);
	v = -1;
	ASSERT_EQ(0, ioctl(self->s, SIOCOUTQ, &v));
	EXPECT_EQ(0, v);
	ASSERT_EQ(100, recv(self->r, rbuf, sizeof(rbuf), 0));
	v = -1;
	ASSERT_EQ(0, ioctl(self->r, FIONREAD, &v));
	EXPECT_EQ(9, v);
	ASSERT_EQ(9, recv(self->r, rbuf, sizeof(rbuf), 0));
	v = -1;
	ASSERT_EQ(0, ioctl(self->r, FIONREAD, &v));
	EXPECT_EQ(0, v);
	/* an ioctl nobody implements */
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->r, SIOCATMARK + 0x7f0, &v));
	EXPECT_EQ(ENOTTY, errno);
}

TEST_F(dg, listen_accept_eopnotsupp)
{
	int u = afx_socket(SOCK_DGRAM);

	ASSERT_LE(0, u);
	errno = 0;
	EXPECT_EQ(-1, listen(u, 1));
	EXPECT_EQ(EOPNOTSUPP, errno);
	errno = 0;
	EXPECT_EQ(-1, listen(self->r, 5));
	EXPECT_EQ(EOPNOTSUPP, errno);
	errno = 0;
	EXPECT_EQ(-1, accept(self->r, NULL, NULL));
	EXPECT_EQ(EOPNOTSUPP, errno);
	errno = 0;
	EXPECT_EQ(-1, accept4(u, NULL, NULL, SOCK_NONBLOCK));
	EXPECT_EQ(EOPNOTSUPP, errno);
	close(u);
}

TEST_HARNESS_MAIN
