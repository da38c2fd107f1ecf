// SPDX-License-Identifier: GPL-2.0
/*
 * afx_seqpacket_test.c - SOCK_SEQPACKET: connections as on stream sockets,
 * data as messages.
 *
 *   socket(), SO_TYPE, accept()ed children, the stream port space shared
 *   (EADDRINUSE) and connects across types refused (EPROTOTYPE); each send
 *   one message, whole, in order, exactly once, zero-length ones included;
 *   MSG_TRUNC (in msg_flags and as a flag), MSG_PEEK, MSG_WAITALL,
 *   MSG_EOR, SO_RCVLOWAT ignored; EMSGSIZE above min(SO_SNDBUF, 520192) -
 *   32; flow control by messages (8-byte headers, 24 with credentials),
 *   POLLOUT for the message that got EAGAIN, blocked senders woken, the
 *   timeouts; EOF after every queued message, ECONNRESET, EPIPE and
 *   SIGPIPE; EISCONN, ENOTCONN, EOPNOTSUPP; socketpair(); recvfrom()'s
 *   address; SIOCINQ/SIOCOUTQ and /proc/net/afx in payload bytes;
 *   credentials; 20000 messages of random sizes, twice.
 *
 * Documentation/afx.rst, "Seqpacket semantics". Blocking calls run in a
 * helper thread (struct afx_call) or a child (afx_child_fork()) whose
 * state is read from /proc, never with a fixed sleep; every test arms
 * afx_watchdog() below the harness timeout.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <linux/sockios.h>

#include "afx_harness.h"
#include "afx_introspect.h"

#define WATCHDOG_SEC	20	/* harness default timeout is 30 s */

#define MSG_CAP		520192	/* the largest SO_SNDBUF the size limit uses */
#define MSG_HDR		8	/* queue cost of a message besides its payload */
#define MSG_HDR_CREDS	24	/* the same with credentials */
#define MSG_HDR_MAX	32	/* with credentials and files: the size limit's */
#define BIGBUF		(MSG_CAP + 64)

#define STRESS_N	20000U
#define STRESS_MAX	2000U

static unsigned char sbuf[BIGBUF];	/* what the main thread sends */
static unsigned char cbuf[BIGBUF];	/* what a helper thread sends */
static unsigned char rbuf[BIGBUF];	/* what is received */
static unsigned char xbuf[BIGBUF];	/* what was expected */

/* ---- helpers ---------------------------------------------------------- */

static int int_min(int a, int b)
{
	return a < b ? a : b;
}

/*
 * recvmsg() into @buf: the count, and msg_flags in *@mflags (-1 on an
 * error).
 */
static ssize_t recv_flags(int fd, void *buf, size_t len, int flags,
			  int *mflags)
{
	struct iovec iov = { buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	n = recvmsg(fd, &mh, flags);
	*mflags = n < 0 ? -1 : mh.msg_flags;
	return n;
}

/* One message numbered @seq of @len bytes (afx_dg_make()), from sbuf. */
static ssize_t send_num(int fd, uint32_t seq, size_t len, int flags)
{
	afx_dg_make(sbuf, seq, len);
	return send(fd, sbuf, len, flags | MSG_NOSIGNAL);
}

/*
 * Receive one message and check it is message @seq of @len bytes, whole
 * (no MSG_TRUNC, no MSG_EOR): 0, or -1 with a diagnostic on stderr.
 */
static int recv_num(int fd, uint32_t seq, size_t len, int flags)
{
	ssize_t n;
	int mf;

	n = recv_flags(fd, rbuf, sizeof(rbuf), flags, &mf);
	if (n < 0) {
		fprintf(stderr, "# message %u: recv: %s\n", seq,
			strerror(errno));
		return -1;
	}
	afx_dg_make(xbuf, seq, len);
	if ((size_t)n != len || memcmp(rbuf, xbuf, len) ||
	    (mf & (MSG_TRUNC | MSG_EOR | MSG_CTRUNC))) {
		fprintf(stderr,
			"# message %u: want %zu bytes, got %zd (%s), msg_flags %#x\n",
			seq, len, n,
			(size_t)n == len ? "other bytes" : "other size", mf);
		return -1;
	}
	return 0;
}

/*
 * MSG_DONTWAIT messages of @len bytes numbered from *@seq until EAGAIN:
 * how many went, -1 on another error or after @max.
 */
static long fill_num(int fd, size_t len, uint32_t *seq, long max)
{
	long n = 0;
	ssize_t r;

	for (;;) {
		r = send_num(fd, *seq, len, MSG_DONTWAIT);
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

/* SIOCINQ or SIOCOUTQ of @fd, -1 on an error. */
static int ioctl_q(int fd, unsigned long req)
{
	int v;

	if (afx_ioctl_int(fd, req, &v))
		return -1;
	return v;
}

static int so_type(int fd)
{
	int v = -1;

	if (afx_get_int(fd, SOL_SOCKET, SO_TYPE, &v))
		return -1;
	return v;
}

/* sendmsg() of @len bytes from @buf on a connected socket with one cmsg. */
static ssize_t send_cmsg(int fd, const void *buf, size_t len, int type,
			 const void *data, size_t dlen)
{
	union {
		char buf[CMSG_SPACE(64)];
		struct cmsghdr align;
	} u;
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = u.buf,
		.msg_controllen = CMSG_SPACE(dlen),
	};
	struct cmsghdr *c;

	memset(&u, 0, sizeof(u));
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = type;
	c->cmsg_len = CMSG_LEN(dlen);
	memcpy(CMSG_DATA(c), data, dlen);
	return sendmsg(fd, &mh, MSG_NOSIGNAL);
}

/*
 * recvmsg() one message without waiting; *@has tells whether it came
 * with SCM_CREDENTIALS (then in *@uc).
 */
static ssize_t recv_creds(int fd, void *buf, size_t len, struct ucred *uc,
			  int *has)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct ucred)) + 64];
		struct cmsghdr align;
	} u;
	struct iovec iov = { buf, len };
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = u.buf,
		.msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *c;
	ssize_t n;

	*has = 0;
	n = recvmsg(fd, &mh, MSG_DONTWAIT);
	if (n < 0)
		return n;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level == SOL_SOCKET &&
		    c->cmsg_type == SCM_CREDENTIALS &&
		    c->cmsg_len == CMSG_LEN(sizeof(*uc))) {
			memcpy(uc, CMSG_DATA(c), sizeof(*uc));
			(*has)++;
		}
	}
	return n;
}

/*
 * A connected seqpacket pair through a listener of @backlog on an
 * ephemeral port: 0, or -1 with errno (and whatever was opened closed).
 */
static int seq_pair(int *l, int *c, int *a, uint32_t *port)
{
	int err;

	*c = *a = -1;
	*l = afx_listener(SOCK_SEQPACKET, 4, port);
	if (*l < 0)
		return -1;
	*c = afx_socket(SOCK_SEQPACKET);
	if (*c < 0 || afx_connect_port(*c, *port))
		goto fail;
	*a = accept(*l, NULL, NULL);
	if (*a < 0)
		goto fail;
	return 0;
fail:
	err = errno;
	if (*c >= 0)
		close(*c);
	close(*l);
	*l = *c = -1;
	errno = err;
	return -1;
}

/* ---- sockets and connections --------------------------------------------- */

/*
 * FIXTURE(sq): a connected seqpacket pair.
 *
 *   self->l  the listener, bound to {ANY, self->port}, backlog 4
 *   self->c  the client, connect()ed to it
 *   self->a  the accepted socket
 */
FIXTURE(sq) {
	int l, c, a;
	uint32_t port;
};

FIXTURE_SETUP(sq)
{
	int fd;

	afx_watchdog(WATCHDOG_SEC);
	self->l = self->c = self->a = -1;
	fd = afx_socket(SOCK_SEQPACKET);
	AFX_SKIP_IF_NO_AFX(fd);
	ASSERT_LE(0, fd) TH_LOG("socket(SOCK_SEQPACKET): %s", strerror(errno));
	close(fd);
	ASSERT_EQ(0, seq_pair(&self->l, &self->c, &self->a, &self->port))
		TH_LOG("connected pair: %s", strerror(errno));
}

FIXTURE_TEARDOWN(sq)
{
	if (self->a >= 0)
		close(self->a);
	if (self->c >= 0)
		close(self->c);
	if (self->l >= 0)
		close(self->l);
	afx_watchdog(0);
}

/* socket(AF_X, SOCK_SEQPACKET, 0), with and without flags: SO_TYPE 5. */
TEST(socket_so_type_is_seqpacket)
{
	int fd, v;

	afx_watchdog(WATCHDOG_SEC);
	fd = afx_socket(SOCK_SEQPACKET);
	AFX_SKIP_IF_NO_AFX(fd);
	ASSERT_LE(0, fd) TH_LOG("socket: %s", strerror(errno));
	EXPECT_EQ(SOCK_SEQPACKET, so_type(fd));
	v = -1;
	ASSERT_EQ(0, afx_get_int(fd, SOL_SOCKET, SO_PROTOCOL, &v));
	EXPECT_EQ(0, v);
	v = -1;
	ASSERT_EQ(0, afx_get_int(fd, SOL_SOCKET, SO_DOMAIN, &v));
	EXPECT_EQ(afx_family(), v);
	v = -1;
	ASSERT_EQ(0, afx_get_int(fd, SOL_SOCKET, SO_ACCEPTCONN, &v));
	EXPECT_EQ(0, v);
	close(fd);
	fd = afx_socket(SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC);
	ASSERT_LE(0, fd) TH_LOG("socket: %s", strerror(errno));
	EXPECT_EQ(SOCK_SEQPACKET, so_type(fd));
	EXPECT_EQ(O_NONBLOCK, fcntl(fd, F_GETFL) & O_NONBLOCK);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
}

/*
 * Listener, client and accept()ed socket are all SOCK_SEQPACKET; accept4()
 * flags, the address it returns and SO_PEERCRED are the stream ones.
 */
TEST_F(sq, listener_client_and_accepted_are_seqpacket)
{
	struct sockaddr_x sx;
	socklen_t len = sizeof(sx);
	struct ucred uc;
	int c2, a2, v;

	EXPECT_EQ(SOCK_SEQPACKET, so_type(self->l));
	EXPECT_EQ(SOCK_SEQPACKET, so_type(self->c));
	EXPECT_EQ(SOCK_SEQPACKET, so_type(self->a));
	ASSERT_EQ(0, afx_get_int(self->l, SOL_SOCKET, SO_ACCEPTCONN, &v));
	EXPECT_EQ(1, v);
	ASSERT_EQ(0, afx_get_int(self->a, SOL_SOCKET, SO_ACCEPTCONN, &v));
	EXPECT_EQ(0, v);
	len = sizeof(uc);
	ASSERT_EQ(0, getsockopt(self->a, SOL_SOCKET, SO_PEERCRED, &uc, &len));
	EXPECT_EQ(getpid(), uc.pid);
	EXPECT_EQ(getuid(), uc.uid);

	c2 = afx_socket(SOCK_SEQPACKET);
	ASSERT_LE(0, c2);
	ASSERT_EQ(0, afx_connect_port(c2, self->port));
	len = sizeof(sx);
	memset(&sx, 0xa5, sizeof(sx));
	a2 = accept4(self->l, AFX_SA(&sx), &len,
		     SOCK_NONBLOCK | SOCK_CLOEXEC);
	ASSERT_LE(0, a2) TH_LOG("accept4: %s", strerror(errno));
	EXPECT_EQ(AFX_ADDRLEN, len);
	EXPECT_EQ(afx_family(), sx.sx_family);
	EXPECT_EQ(afx_local_port(c2), (long)sx.sx_port);
	EXPECT_EQ(SOCK_SEQPACKET, so_type(a2));
	EXPECT_EQ(O_NONBLOCK, fcntl(a2, F_GETFL) & O_NONBLOCK);
	EXPECT_EQ(FD_CLOEXEC, fcntl(a2, F_GETFD) & FD_CLOEXEC);
	/* and it is connected to c2 */
	ASSERT_EQ(2, send(c2, "c2", 2, 0));
	EXPECT_EQ(2, recv(a2, rbuf, sizeof(rbuf), MSG_DONTWAIT));
	close(a2);
	close(c2);
}

/*
 * A connect() to a listener of the other connection-oriented type fails
 * with EPROTOTYPE, both ways, queueing nothing; the socket may connect
 * again to a listener of its own type.
 */
TEST(connect_to_other_type_listener_eprototype)
{
	uint32_t sport, qport;
	int ls, lq, s, q, a;

	afx_watchdog(WATCHDOG_SEC);
	lq = afx_listener(SOCK_SEQPACKET, 4, &qport);
	AFX_SKIP_IF_NO_AFX(lq);
	ASSERT_LE(0, lq) TH_LOG("seqpacket listener: %s", strerror(errno));
	ls = afx_listener(SOCK_STREAM, 4, &sport);
	ASSERT_LE(0, ls);

	q = afx_socket(SOCK_SEQPACKET);
	ASSERT_LE(0, q);
	errno = 0;
	EXPECT_EQ(-1, afx_connect_port(q, sport));
	EXPECT_EQ(EPROTOTYPE, errno);
	errno = 0;
	EXPECT_EQ(-1, afx_accept_nonblocking(ls));
	EXPECT_EQ(EAGAIN, errno);

	s = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, s);
	errno = 0;
	EXPECT_EQ(-1, afx_connect_port(s, qport));
	EXPECT_EQ(EPROTOTYPE, errno);
	errno = 0;
	EXPECT_EQ(-1, afx_accept_nonblocking(lq));
	EXPECT_EQ(EAGAIN, errno);

	/* the refused seqpacket socket connects to its own type */
	ASSERT_EQ(0, afx_connect_port(q, qport)) TH_LOG("%s", strerror(errno));
	a = accept(lq, NULL, NULL);
	ASSERT_LE(0, a);
	EXPECT_EQ(SOCK_SEQPACKET, so_type(a));
	close(a);
	close(s);
	close(q);
	close(ls);
	close(lq);
}

/* Nobody listening on the port (nothing bound, or bound only): refused. */
TEST(connect_nobody_listening_econnrefused)
{
	uint32_t port;
	int q, b;

	afx_watchdog(WATCHDOG_SEC);
	q = afx_socket(SOCK_SEQPACKET);
	AFX_SKIP_IF_NO_AFX(q);
	ASSERT_LE(0, q);
	port = afx_free_port(SOCK_STREAM);
	ASSERT_NE(0, port);
	errno = 0;
	EXPECT_EQ(-1, afx_connect_port(q, port));
	EXPECT_EQ(ECONNREFUSED, errno);
	b = afx_socket(SOCK_SEQPACKET);
	ASSERT_LE(0, b);
	ASSERT_EQ(0, afx_bind(b, AFX_ADDR_ANY, port));
	errno = 0;
	EXPECT_EQ(-1, afx_connect_port(q, port));
	EXPECT_EQ(ECONNREFUSED, errno);
	close(b);
	close(q);
}

/*
 * Seqpacket and stream sockets share one port space: a port held by one
 * type is taken for the other (EADDRINUSE), free again once closed;
 * datagram ports are another space.
 */
TEST(bind_shares_stream_port_space)
{
	int q, s, d;
	long port;

	afx_watchdog(WATCHDOG_SEC);
	q = afx_socket(SOCK_SEQPACKET);
	AFX_SKIP_IF_NO_AFX(q);
	ASSERT_LE(0, q);
	ASSERT_EQ(0, afx_bind(q, AFX_ADDR_ANY, AFX_PORT_ANY));
	port = afx_local_port(q);
	ASSERT_LT(0, port);

	s = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, s);
	errno = 0;
	EXPECT_EQ(-1, afx_bind(s, AFX_ADDR_ANY, (uint32_t)port));
	EXPECT_EQ(EADDRINUSE, errno);
	errno = 0;
	EXPECT_EQ(-1, afx_bind(s, AFX_ADDR_LOCAL, (uint32_t)port));
	EXPECT_EQ(EADDRINUSE, errno);
	d = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, d);
	EXPECT_EQ(0, afx_bind(d, AFX_ADDR_ANY, (uint32_t)port))
		TH_LOG("datagram bind: %s", strerror(errno));
	close(d);
	close(q);
	EXPECT_EQ(0, afx_bind(s, AFX_ADDR_ANY, (uint32_t)port))
		TH_LOG("bind after the seqpacket socket closed: %s",
		       strerror(errno));

	/* and the other way round: a port a stream socket holds */
	q = afx_socket(SOCK_SEQPACKET);
	ASSERT_LE(0, q);
	errno = 0;
	EXPECT_EQ(-1, afx_bind(q, AFX_ADDR_ANY, (uint32_t)port));
	EXPECT_EQ(EADDRINUSE, errno);
	close(q);
	close(s);
}

/* ---- messages ------------------------------------------------------------ */

/*
 * Every send(), write() and sendmsg() is one message: each recv() returns
 * exactly one, in order, whatever their sizes (0 and 1 byte included), in
 * both directions; a sendmsg() of several iovecs is one message.
 */
TEST_F(sq, boundaries_kept_in_order)
{
	static const size_t sizes[] = { 1, 0, 1000, 7, 0, 20000, 2, 3 };
	unsigned int i, n = ARRAY_SIZE(sizes);
	struct iovec iov[3];
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 3 };
	int d, from, to;

	for (d = 0; d < 2; d++) {
		from = d ? self->a : self->c;
		to = d ? self->c : self->a;
		for (i = 0; i < n; i++) {
			afx_dg_make(sbuf, i, sizes[i]);
			if (i % 2) {
				ASSERT_EQ((ssize_t)sizes[i],
					  write(from, sbuf, sizes[i]));
			} else {
				ASSERT_EQ((ssize_t)sizes[i],
					  send(from, sbuf, sizes[i], 0));
			}
		}
		/* three iovecs, one message */
		afx_dg_make(sbuf, n, 3000);
		iov[0].iov_base = sbuf;
		iov[0].iov_len = 10;
		iov[1].iov_base = sbuf + 10;
		iov[1].iov_len = 0;
		iov[2].iov_base = sbuf + 10;
		iov[2].iov_len = 2990;
		ASSERT_EQ(3000, sendmsg(from, &mh, 0));
		for (i = 0; i < n; i++)
			ASSERT_EQ(0, recv_num(to, i, sizes[i], MSG_DONTWAIT))
				TH_LOG("direction %d, message %u", d, i);
		ASSERT_EQ(0, recv_num(to, n, 3000, MSG_DONTWAIT));
		errno = 0;
		EXPECT_EQ(-1, recv(to, rbuf, sizeof(rbuf), MSG_DONTWAIT));
		EXPECT_EQ(EAGAIN, errno);
	}
}

/*
 * A zero-length message: send() returns 0, the reader sees POLLIN for it
 * and its recv() returns 0 (no EOF: the next recv() would block).
 */
TEST_F(sq, zero_length_message_gives_pollin_and_recv_zero)
{
	struct msghdr mh = { 0 };
	int mf;

	EXPECT_EQ(0, afx_poll(self->a, POLLIN | POLLRDNORM | POLLRDHUP, 0));
	ASSERT_EQ(0, send(self->c, "", 0, 0));
	EXPECT_EQ(POLLIN | POLLRDNORM,
		  afx_poll(self->a, POLLIN | POLLRDNORM | POLLRDHUP, 0));
	EXPECT_EQ(0, ioctl_q(self->a, SIOCINQ));
	EXPECT_EQ(0, recv_flags(self->a, rbuf, 16, MSG_DONTWAIT, &mf));
	EXPECT_EQ(0, mf & (MSG_TRUNC | MSG_EOR));
	EXPECT_EQ(0, afx_poll(self->a, POLLIN | POLLRDHUP, 0));
	errno = 0;
	EXPECT_EQ(-1, recv(self->a, rbuf, 16, MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);

	/* a sendmsg() without any iovec is one too, and so is the next */
	ASSERT_EQ(0, sendmsg(self->c, &mh, 0));
	ASSERT_EQ(0, send(self->c, "", 0, 0));
	ASSERT_EQ(1, send(self->c, "z", 1, 0));
	EXPECT_EQ(POLLIN, afx_poll(self->a, POLLIN, 0));
	EXPECT_EQ(0, recv(self->a, rbuf, 16, MSG_DONTWAIT));
	EXPECT_EQ(POLLIN, afx_poll(self->a, POLLIN, 0));
	EXPECT_EQ(0, recv(self->a, rbuf, 16, MSG_DONTWAIT));
	EXPECT_EQ(1, recv(self->a, rbuf, 16, MSG_DONTWAIT));
	EXPECT_EQ('z', rbuf[0]);
	EXPECT_EQ(0, afx_poll(self->a, POLLIN, 0));
}

/*
 * A buffer shorter than the message: the bytes that fit, MSG_TRUNC in
 * msg_flags, the rest discarded; the next recv() gets the next message.
 */
TEST_F(sq, short_buffer_sets_msg_trunc_and_discards_rest)
{
	char buf[64];
	int mf;

	ASSERT_EQ(10, send(self->c, "0123456789", 10, 0));
	ASSERT_EQ(4, send(self->c, "next", 4, 0));
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(4, recv_flags(self->a, buf, 4, 0, &mf));
	EXPECT_EQ(0, memcmp(buf, "0123", 4));
	EXPECT_EQ(0, buf[4]);
	EXPECT_EQ(MSG_TRUNC, mf & MSG_TRUNC);
	EXPECT_EQ(4, ioctl_q(self->a, SIOCINQ));
	EXPECT_EQ(4, ioctl_q(self->c, SIOCOUTQ));
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(4, recv_flags(self->a, buf, sizeof(buf), 0, &mf));
	EXPECT_EQ(0, memcmp(buf, "next", 4));
	EXPECT_EQ(0, mf & MSG_TRUNC);
	errno = 0;
	EXPECT_EQ(-1, recv(self->a, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
}

/* The MSG_TRUNC flag: recv() returns the message's full length. */
TEST_F(sq, msg_trunc_flag_returns_full_length)
{
	char buf[64];
	int mf;

	ASSERT_EQ(10, send(self->c, "0123456789", 10, 0));
	ASSERT_EQ(2, send(self->c, "zz", 2, 0));
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(10, recv(self->a, buf, 4, MSG_TRUNC));
	EXPECT_EQ(0, memcmp(buf, "0123", 4));
	EXPECT_EQ(0, buf[4]);
	/* the message is gone; a buffer large enough: just its length */
	EXPECT_EQ(2, recv_flags(self->a, buf, sizeof(buf), MSG_TRUNC, &mf));
	EXPECT_EQ(0, memcmp(buf, "zz", 2));
	EXPECT_EQ(0, mf & MSG_TRUNC);
	errno = 0;
	EXPECT_EQ(-1, recv(self->a, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
}

/*
 * MSG_PEEK returns the first message and leaves it queued, whole, even
 * through a short buffer (MSG_TRUNC set, with the flag its full length).
 */
TEST_F(sq, msg_peek_leaves_message_queued)
{
	char buf[64];
	int mf;

	ASSERT_EQ(5, send(self->c, "first", 5, 0));
	ASSERT_EQ(7, send(self->c, "second!", 7, 0));
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(5, recv_flags(self->a, buf, sizeof(buf), MSG_PEEK, &mf));
	EXPECT_EQ(0, memcmp(buf, "first", 5));
	EXPECT_EQ(0, mf & MSG_TRUNC);
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(5, recv(self->a, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT));
	EXPECT_EQ(0, memcmp(buf, "first", 5));
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(2, recv_flags(self->a, buf, 2, MSG_PEEK, &mf));
	EXPECT_EQ(0, memcmp(buf, "fi", 2));
	EXPECT_EQ(MSG_TRUNC, mf & MSG_TRUNC);
	EXPECT_EQ(5, recv(self->a, buf, 2, MSG_PEEK | MSG_TRUNC));
	EXPECT_EQ(12, ioctl_q(self->a, SIOCINQ));
	EXPECT_EQ(12, ioctl_q(self->c, SIOCOUTQ));
	/* the peeked message is still whole and first */
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(5, recv_flags(self->a, buf, sizeof(buf), 0, &mf));
	EXPECT_EQ(0, memcmp(buf, "first", 5));
	EXPECT_EQ(0, mf & MSG_TRUNC);
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(7, recv(self->a, buf, sizeof(buf), 0));
	EXPECT_EQ(0, memcmp(buf, "second!", 7));
	errno = 0;
	EXPECT_EQ(-1, recv(self->a, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
}

/*
 * MSG_WAITALL changes nothing: one message per recv(), however large the
 * buffer, and a blocked one returns as soon as one message came.
 */
TEST_F(sq, msg_waitall_still_returns_one_message)
{
	char buf[100], in[100];
	struct afx_call op = { .kind = AFX_CALL_RECV, .buf = in,
			       .len = sizeof(in), .flags = MSG_WAITALL };

	/* a recv() that waited for 100 bytes would time out instead */
	ASSERT_EQ(0, afx_set_timeo(self->a, SO_RCVTIMEO, 2000));
	ASSERT_EQ(3, send(self->c, "abc", 3, 0));
	ASSERT_EQ(5, send(self->c, "defgh", 5, 0));
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(3, recv(self->a, buf, sizeof(buf), MSG_WAITALL));
	EXPECT_EQ(0, memcmp(buf, "abc", 3));
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(5, recv(self->a, buf, sizeof(buf), MSG_WAITALL));
	EXPECT_EQ(0, memcmp(buf, "defgh", 5));

	ASSERT_EQ(0, afx_set_timeo(self->a, SO_RCVTIMEO, 0));
	op.fd = self->a;
	ASSERT_EQ(0, afx_call_start(&op));
	ASSERT_EQ(0, afx_call_blocked(&op));
	ASSERT_EQ(2, send(self->c, "xy", 2, 0));
	ASSERT_TRUE(afx_call_done(&op, AFX_DONE_WAIT_MS))
		TH_LOG("MSG_WAITALL recv() waits for more than one message");
	afx_call_join(&op);
	EXPECT_EQ(2, op.ret);
	EXPECT_EQ(0, memcmp(in, "xy", 2));
}

/* MSG_EOR is accepted on send and never set in msg_flags on receive. */
TEST_F(sq, msg_eor_accepted_and_not_reported)
{
	struct iovec iov[2] = { { "ab", 2 }, { "cd", 2 } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	char buf[64];
	int mf;

	ASSERT_EQ(4, send(self->c, "rec1", 4, MSG_EOR));
	ASSERT_EQ(4, sendmsg(self->c, &mh, MSG_EOR));
	ASSERT_EQ(3, send(self->c, "eor", 3, 0));
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(4, recv_flags(self->a, buf, sizeof(buf), 0, &mf));
	EXPECT_EQ(0, memcmp(buf, "rec1", 4));
	EXPECT_EQ(0, mf & (MSG_EOR | MSG_TRUNC));
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(4, recv_flags(self->a, buf, sizeof(buf), 0, &mf));
	EXPECT_EQ(0, memcmp(buf, "abcd", 4));
	EXPECT_EQ(0, mf & (MSG_EOR | MSG_TRUNC));
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(3, recv_flags(self->a, buf, sizeof(buf), 0, &mf));
	EXPECT_EQ(0, memcmp(buf, "eor", 3));
	EXPECT_EQ(0, mf & (MSG_EOR | MSG_TRUNC));
}

/* SO_RCVLOWAT is ignored: POLLIN and recv() for a message below it. */
TEST_F(sq, so_rcvlowat_ignored)
{
	char buf[200];

	ASSERT_EQ(0, afx_set_int(self->a, SOL_SOCKET, SO_RCVLOWAT, 100));
	/* a recv() that waited for 100 bytes would time out instead */
	ASSERT_EQ(0, afx_set_timeo(self->a, SO_RCVTIMEO, 2000));
	ASSERT_EQ(3, send(self->c, "low", 3, 0));
	EXPECT_EQ(POLLIN, afx_poll(self->a, POLLIN, 0));
	EXPECT_EQ(3, recv(self->a, buf, sizeof(buf), 0));
}

/* ---- message size ---------------------------------------------------- */

/*
 * Check the size limit of @c (min(SO_SNDBUF, 520192) - 32, SO_SNDBUF as
 * getsockopt() reads it): one byte more is EMSGSIZE with nothing queued,
 * the largest goes through whole to a reader waiting on @a.
 */
static void check_size_limit(struct __test_metadata *_metadata, int c, int a)
{
	struct afx_call op = { .kind = AFX_CALL_RECV, .buf = rbuf,
			       .len = sizeof(rbuf) };
	int sb = 0, max;

	ASSERT_EQ(0, afx_get_int(c, SOL_SOCKET, SO_SNDBUF, &sb));
	max = int_min(sb, MSG_CAP) - MSG_HDR_MAX;
	TH_LOG("SO_SNDBUF %d: largest message %d bytes", sb, max);
	ASSERT_LT(0, max);
	afx_dg_make(sbuf, 7, max + 1);
	errno = 0;
	EXPECT_EQ(-1, send(c, sbuf, max + 1, MSG_DONTWAIT | MSG_NOSIGNAL));
	EXPECT_EQ(EMSGSIZE, errno);
	errno = 0;
	EXPECT_EQ(-1, send(c, sbuf, sizeof(sbuf), MSG_NOSIGNAL));
	EXPECT_EQ(EMSGSIZE, errno);
	EXPECT_EQ(0, ioctl_q(c, SIOCOUTQ));
	EXPECT_EQ(0, ioctl_q(a, SIOCINQ));
	EXPECT_EQ(0, afx_poll(a, POLLIN, 0));

	op.fd = a;
	ASSERT_EQ(0, afx_call_start(&op));
	ASSERT_EQ(0, afx_call_blocked(&op));
	afx_dg_make(sbuf, 8, max);
	EXPECT_EQ(max, send(c, sbuf, max, MSG_NOSIGNAL))
		TH_LOG("send of the largest message: %s", strerror(errno));
	ASSERT_TRUE(afx_call_done(&op, AFX_DONE_WAIT_MS));
	afx_call_join(&op);
	ASSERT_EQ(max, op.ret) TH_LOG("recv: %s", strerror(op.err));
	EXPECT_EQ(0, memcmp(rbuf, sbuf, max));
}

/*
 * The largest message is min(SO_SNDBUF, 520192) - 32 bytes: with the
 * default SO_SNDBUF, and with a smaller one.
 */
TEST_F(sq, emsgsize_above_sndbuf_minus_32)
{
	check_size_limit(_metadata, self->c, self->a);
	ASSERT_EQ(0, afx_set_int(self->c, SOL_SOCKET, SO_SNDBUF, 16384));
	check_size_limit(_metadata, self->c, self->a);
}

/*
 * Above 520192 bytes SO_SNDBUF no longer raises the limit: 520160 bytes
 * go through (into an empty queue whatever the reader's SO_RCVBUF),
 * 520161 are EMSGSIZE.
 */
TEST_F(sq, emsgsize_limit_capped_at_520192_minus_32)
{
	int sb = 0;

	if (afx_set_int(self->c, SOL_SOCKET, SO_SNDBUFFORCE, 1 << 20) &&
	    errno == EPERM)
		SKIP(return, "SO_SNDBUFFORCE needs CAP_NET_ADMIN");
	ASSERT_EQ(0, afx_get_int(self->c, SOL_SOCKET, SO_SNDBUF, &sb));
	ASSERT_LT(MSG_CAP, sb);
	check_size_limit(_metadata, self->c, self->a);
}

/* ---- flow control ------------------------------------------------------ */

/*
 * FIXTURE(flow): a connected pair whose receiving queue, c to a, is
 * limited to self->limit = min(c's SO_SNDBUF, a's SO_RCVBUF) bytes, read
 * back after setting the variant's (the kernel doubles them). Messages
 * of FLOW_SMALL bytes fill it, one of self->big bytes waits.
 */
#define FLOW_SMALL	100

FIXTURE(flow) {
	int l, c, a;
	uint32_t port;
	int limit;
	int big;
	uint32_t seq;
};

FIXTURE_VARIANT(flow) {
	int sndbuf;	/* on the sender, 0: default */
	int rcvbuf;	/* on the receiver, 0: default */
};

FIXTURE_VARIANT_ADD(flow, small_rcvbuf) { .sndbuf = 0, .rcvbuf = 4096 };
FIXTURE_VARIANT_ADD(flow, small_sndbuf) { .sndbuf = 4096, .rcvbuf = 0 };
FIXTURE_VARIANT_ADD(flow, defaults) { .sndbuf = 0, .rcvbuf = 0 };

FIXTURE_SETUP(flow)
{
	int fd, sb = 0, rb = 0;

	afx_watchdog(WATCHDOG_SEC);
	self->l = self->c = self->a = -1;
	fd = afx_socket(SOCK_SEQPACKET);
	AFX_SKIP_IF_NO_AFX(fd);
	ASSERT_LE(0, fd) TH_LOG("socket(SOCK_SEQPACKET): %s", strerror(errno));
	close(fd);
	ASSERT_EQ(0, seq_pair(&self->l, &self->c, &self->a, &self->port));
	if (variant->sndbuf)
		ASSERT_EQ(0, afx_set_int(self->c, SOL_SOCKET, SO_SNDBUF,
					 variant->sndbuf));
	if (variant->rcvbuf)
		ASSERT_EQ(0, afx_set_int(self->a, SOL_SOCKET, SO_RCVBUF,
					 variant->rcvbuf));
	ASSERT_EQ(0, afx_get_int(self->c, SOL_SOCKET, SO_SNDBUF, &sb));
	ASSERT_EQ(0, afx_get_int(self->a, SOL_SOCKET, SO_RCVBUF, &rb));
	self->limit = int_min(sb, rb);
	/* the 508 KiB bound of a stream direction; not reached by default */
	self->limit = int_min(self->limit, MSG_CAP);
	self->big = self->limit / 2;
	self->seq = 0;
	TH_LOG("SO_SNDBUF %d, SO_RCVBUF %d: queue limit %d", sb, rb,
	       self->limit);
}

FIXTURE_TEARDOWN(flow)
{
	if (self->a >= 0)
		close(self->a);
	if (self->c >= 0)
		close(self->c);
	if (self->l >= 0)
		close(self->l);
	afx_watchdog(0);
}

/*
 * Fill @c's peer with FLOW_SMALL messages numbered from *@seq until
 * EAGAIN: how many fit, -1 on an error.
 */
static long flow_fill(int c, uint32_t *seq)
{
	return fill_num(c, FLOW_SMALL, seq, 1000000);
}

/*
 * How many of @n queued FLOW_SMALL messages must be read before @need
 * bytes (payload and header) fit in the queue.
 */
static long reads_until_fits(int limit, long n, long need)
{
	long k;

	for (k = 0; k <= n; k++)
		if (limit - (n - k) * (FLOW_SMALL + MSG_HDR) >= need)
			return k;
	return -1;
}

/*
 * The queue holds exactly limit / (size + 8) messages of one size; the
 * room left takes one message of that room - 8 bytes and then nothing,
 * not even an empty message. All of them read back whole and in order.
 */
TEST_F(flow, fill_holds_limit_over_size_plus_8)
{
	long n, i, want = self->limit / (FLOW_SMALL + MSG_HDR);
	int room;

	n = flow_fill(self->c, &self->seq);
	ASSERT_LT(0, n) TH_LOG("fill: %s", strerror(errno));
	EXPECT_EQ(want, n);
	EXPECT_EQ(n * FLOW_SMALL, ioctl_q(self->a, SIOCINQ));
	EXPECT_EQ(n * FLOW_SMALL, ioctl_q(self->c, SIOCOUTQ));
	EXPECT_EQ(0, afx_poll(self->c, POLLOUT | POLLWRNORM, 0))
		TH_LOG("POLLOUT after EAGAIN with no room for the message");
	room = self->limit - (int)n * (FLOW_SMALL + MSG_HDR);
	if (room >= MSG_HDR) {
		ASSERT_EQ(room - MSG_HDR,
			  send_num(self->c, self->seq, room - MSG_HDR,
				   MSG_DONTWAIT))
			TH_LOG("%d bytes of room left: %s", room,
			       strerror(errno));
		self->seq++;
	}
	errno = 0;
	EXPECT_EQ(-1, send(self->c, "", 0, MSG_DONTWAIT | MSG_NOSIGNAL));
	EXPECT_EQ(EAGAIN, errno);
	for (i = 0; i < n; i++)
		ASSERT_EQ(0, recv_num(self->a, i, FLOW_SMALL, MSG_DONTWAIT));
	if (room >= MSG_HDR)
		ASSERT_EQ(0, recv_num(self->a, n, room - MSG_HDR,
				      MSG_DONTWAIT));
	errno = 0;
	EXPECT_EQ(-1, recv(self->a, rbuf, sizeof(rbuf), MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(0, ioctl_q(self->c, SIOCOUTQ));
}

/* With credentials attached each message costs 24 bytes besides its payload. */
TEST_F(flow, fill_with_passcred_counts_24_per_message)
{
	long n, want = self->limit / (FLOW_SMALL + MSG_HDR_CREDS);
	struct ucred uc;
	int has;

	ASSERT_EQ(0, afx_set_int(self->a, SOL_SOCKET, SO_PASSCRED, 1));
	n = flow_fill(self->c, &self->seq);
	ASSERT_LT(0, n) TH_LOG("fill: %s", strerror(errno));
	EXPECT_EQ(want, n);
	EXPECT_EQ(n * FLOW_SMALL, ioctl_q(self->a, SIOCINQ));
	ASSERT_EQ(FLOW_SMALL, recv_creds(self->a, rbuf, sizeof(rbuf), &uc,
					 &has));
	EXPECT_EQ(1, has);
	EXPECT_EQ(getpid(), uc.pid);
}

/*
 * After a message got EAGAIN, POLLOUT comes back when that message
 * fits, not as soon as anything fits: read one message at a time and
 * watch.
 */
TEST_F(flow, pollout_when_eagain_message_fits)
{
	long n, i, k;
	int r;

	n = flow_fill(self->c, &self->seq);
	ASSERT_LT(0, n);
	k = reads_until_fits(self->limit, n, self->big + MSG_HDR);
	ASSERT_LT(1, k) TH_LOG("the test needs a message that fits later");
	errno = 0;
	ASSERT_EQ(-1, send_num(self->c, 999999, self->big, MSG_DONTWAIT));
	ASSERT_EQ(EAGAIN, errno);
	EXPECT_EQ(0, afx_poll(self->c, POLLOUT | POLLWRNORM, 0));
	for (i = 1; i <= k; i++) {
		ASSERT_EQ(0, recv_num(self->a, i - 1, FLOW_SMALL, MSG_DONTWAIT));
		r = afx_poll(self->c, POLLOUT | POLLWRNORM, 0);
		if (i < k) {
			ASSERT_EQ(0, r)
				TH_LOG("POLLOUT after %ld reads, the %d-byte message fits after %ld",
				       i, self->big, k);
		} else {
			ASSERT_EQ(POLLOUT | POLLWRNORM, r)
				TH_LOG("no POLLOUT after %ld reads", i);
		}
	}
	ASSERT_EQ(self->big, send_num(self->c, self->seq, self->big,
				      MSG_DONTWAIT));
	for (i = k; i < n; i++)
		ASSERT_EQ(0, recv_num(self->a, i, FLOW_SMALL, MSG_DONTWAIT));
	ASSERT_EQ(0, recv_num(self->a, self->seq, self->big, MSG_DONTWAIT));
}

/* A poll() waiting for POLLOUT is woken when the message that got EAGAIN fits. */
TEST_F(flow, pollout_waiter_woken_when_eagain_message_fits)
{
	struct afx_call op = { .kind = AFX_CALL_POLL, .events = POLLOUT,
			       .timeout_ms = 15000 };
	long n, i, k;

	n = flow_fill(self->c, &self->seq);
	ASSERT_LT(0, n);
	k = reads_until_fits(self->limit, n, self->big + MSG_HDR);
	ASSERT_LT(1, k);
	errno = 0;
	ASSERT_EQ(-1, send_num(self->c, 999999, self->big, MSG_DONTWAIT));
	ASSERT_EQ(EAGAIN, errno);
	op.fd = self->c;
	ASSERT_EQ(0, afx_call_start(&op));
	ASSERT_EQ(0, afx_call_blocked(&op)) TH_LOG("the poller never slept");
	for (i = 0; i < k - 1; i++)
		ASSERT_EQ(0, recv_num(self->a, i, FLOW_SMALL, MSG_DONTWAIT));
	EXPECT_FALSE(afx_call_done(&op, AFX_STILL_BLOCKED_MS))
		TH_LOG("POLLOUT before the %d-byte message fits", self->big);
	ASSERT_EQ(0, recv_num(self->a, k - 1, FLOW_SMALL, MSG_DONTWAIT));
	ASSERT_TRUE(afx_call_done(&op, AFX_DONE_WAIT_MS))
		TH_LOG("poller not woken when the message fits");
	afx_call_join(&op);
	EXPECT_EQ(1, op.ret);
	EXPECT_EQ(POLLOUT, op.revents);
}

/*
 * A blocking send() of a message larger than the room waits, through
 * reads that make some room, until the message fits; then it goes, whole,
 * after the messages queued before it.
 */
TEST_F(flow, blocked_send_woken_when_message_fits)
{
	struct afx_call op = { .kind = AFX_CALL_SEND, .buf = cbuf,
			       .flags = MSG_NOSIGNAL };
	uint32_t bigseq = 777777;
	long n, i, k;

	n = flow_fill(self->c, &self->seq);
	ASSERT_LT(0, n);
	k = reads_until_fits(self->limit, n, self->big + MSG_HDR);
	ASSERT_LT(1, k);
	afx_dg_make(cbuf, bigseq, self->big);
	op.fd = self->c;
	op.len = self->big;
	ASSERT_EQ(0, afx_call_start(&op));
	ASSERT_EQ(0, afx_call_blocked(&op)) TH_LOG("send did not block");
	for (i = 0; i < k - 1; i++)
		ASSERT_EQ(0, recv_num(self->a, i, FLOW_SMALL, MSG_DONTWAIT));
	EXPECT_FALSE(afx_call_done(&op, AFX_STILL_BLOCKED_MS))
		TH_LOG("send returned before its message fits");
	ASSERT_EQ(0, recv_num(self->a, k - 1, FLOW_SMALL, MSG_DONTWAIT));
	ASSERT_TRUE(afx_call_done(&op, AFX_DONE_WAIT_MS))
		TH_LOG("blocked sender not woken when its message fits");
	afx_call_join(&op);
	EXPECT_EQ(self->big, op.ret) TH_LOG("send: %s", strerror(op.err));
	for (i = k; i < n; i++)
		ASSERT_EQ(0, recv_num(self->a, i, FLOW_SMALL, MSG_DONTWAIT));
	ASSERT_EQ(0, recv_num(self->a, bigseq, self->big, MSG_DONTWAIT));
}

/* SO_SNDTIMEO: a send() whose message does not fit gives EAGAIN after it. */
TEST_F(flow, sndtimeo_eagain_when_message_does_not_fit)
{
	double ts;
	long n, t;

	n = flow_fill(self->c, &self->seq);
	ASSERT_LT(0, n);
	ASSERT_EQ(0, afx_set_timeo(self->c, SO_SNDTIMEO, 300));
	ts = afx_now_ms();
	errno = 0;
	EXPECT_EQ(-1, send_num(self->c, self->seq, FLOW_SMALL, 0));
	EXPECT_EQ(EAGAIN, errno);
	t = (long)(afx_now_ms() - ts);
	EXPECT_LE(250, t);
	EXPECT_GT(5000, t);
	EXPECT_EQ(n * FLOW_SMALL, ioctl_q(self->a, SIOCINQ));
	EXPECT_EQ(n * FLOW_SMALL, ioctl_q(self->c, SIOCOUTQ));
}

/*
 * O_NONBLOCK, MSG_DONTWAIT and X_NONBLOCK each give EAGAIN: on a send()
 * whose message does not fit, and on a recv() with nothing queued.
 */
TEST_F(flow, every_nonblocking_mode_eagain)
{
	char ch;
	long n;

	errno = 0;
	EXPECT_EQ(-1, recv(self->a, &ch, 1, MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, afx_set_nonblock(self->a, 1));
	errno = 0;
	EXPECT_EQ(-1, recv(self->a, &ch, 1, 0));
	EXPECT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, afx_set_nonblock(self->a, 0));
	ASSERT_EQ(0, afx_set_int(self->a, SOL_X, X_NONBLOCK, 1));
	errno = 0;
	EXPECT_EQ(-1, recv(self->a, &ch, 1, 0));
	EXPECT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, afx_set_int(self->a, SOL_X, X_NONBLOCK, 0));

	n = flow_fill(self->c, &self->seq);
	ASSERT_LT(0, n);
	ASSERT_EQ(0, afx_set_nonblock(self->c, 1));
	errno = 0;
	EXPECT_EQ(-1, send_num(self->c, self->seq, FLOW_SMALL, 0));
	EXPECT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, afx_set_nonblock(self->c, 0));
	ASSERT_EQ(0, afx_set_int(self->c, SOL_X, X_NONBLOCK, 1));
	errno = 0;
	EXPECT_EQ(-1, send_num(self->c, self->seq, FLOW_SMALL, 0));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(n * FLOW_SMALL, ioctl_q(self->a, SIOCINQ));
}

/* A sender blocked on a full queue gets EPIPE when the peer closes. */
TEST_F(flow, blocked_send_woken_by_peer_close_with_epipe)
{
	struct afx_call op = { .kind = AFX_CALL_SEND, .buf = cbuf,
			       .len = FLOW_SMALL, .flags = MSG_NOSIGNAL };

	ASSERT_LT(0, flow_fill(self->c, &self->seq));
	op.fd = self->c;
	ASSERT_EQ(0, afx_call_start(&op));
	ASSERT_EQ(0, afx_call_blocked(&op)) TH_LOG("send did not block");
	close(self->a);
	self->a = -1;
	ASSERT_TRUE(afx_call_done(&op, AFX_DONE_WAIT_MS))
		TH_LOG("blocked send not woken by the peer's close");
	afx_call_join(&op);
	EXPECT_EQ(-1, op.ret);
	EXPECT_EQ(EPIPE, op.err);
}

/*
 * A message larger than the queue's limit goes into an empty queue (and
 * then not even an empty message fits until it is read).
 */
TEST_F(sq, message_larger_than_limit_fits_empty_queue)
{
	int rb = 0, size;

	ASSERT_EQ(0, afx_set_int(self->a, SOL_SOCKET, SO_RCVBUF, 4096));
	ASSERT_EQ(0, afx_get_int(self->a, SOL_SOCKET, SO_RCVBUF, &rb));
	size = 2 * rb;
	ASSERT_EQ(size, send_num(self->c, 1, size, MSG_DONTWAIT))
		TH_LOG("%d bytes to an empty queue of %d: %s", size, rb,
		       strerror(errno));
	errno = 0;
	EXPECT_EQ(-1, send(self->c, "", 0, MSG_DONTWAIT | MSG_NOSIGNAL));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(0, afx_poll(self->c, POLLOUT, 0));
	ASSERT_EQ(0, recv_num(self->a, 1, size, MSG_DONTWAIT));
	EXPECT_EQ(POLLOUT, afx_poll(self->c, POLLOUT, 0));
	EXPECT_EQ(0, send(self->c, "", 0, MSG_DONTWAIT | MSG_NOSIGNAL));
}

/* SO_RCVTIMEO: recv() with nothing queued gives EAGAIN after it. */
TEST_F(sq, so_rcvtimeo_eagain)
{
	double ts;
	char ch;
	long t;

	ASSERT_EQ(0, afx_set_timeo(self->a, SO_RCVTIMEO, 300));
	ts = afx_now_ms();
	errno = 0;
	EXPECT_EQ(-1, recv(self->a, &ch, 1, 0));
	EXPECT_EQ(EAGAIN, errno);
	t = (long)(afx_now_ms() - ts);
	EXPECT_LE(250, t);
	EXPECT_GT(5000, t);
	/* a message within the timeout is returned */
	ASSERT_EQ(1, send(self->c, "r", 1, 0));
	EXPECT_EQ(1, recv(self->a, &ch, 1, 0));
	EXPECT_EQ('r', ch);
}

/* ---- end of the connection ----------------------------------------------- */

static const size_t eof_sizes[] = { 3, 0, 7, 1, 2000 };
#define EOF_N	ARRAY_SIZE(eof_sizes)

/* Read the EOF_N messages and then EOF, twice (blocking and not). */
static void check_messages_then_eof(struct __test_metadata *_metadata, int fd)
{
	unsigned int i;

	for (i = 0; i < EOF_N; i++)
		ASSERT_EQ(0, recv_num(fd, i, eof_sizes[i], 0))
			TH_LOG("message %u before EOF", i);
	EXPECT_EQ(0, recv(fd, rbuf, sizeof(rbuf), 0));
	EXPECT_EQ(0, recv(fd, rbuf, sizeof(rbuf), MSG_DONTWAIT));
	EXPECT_EQ(0, afx_so_error(fd));
}

/*
 * The peer sends messages (a zero-length one among them) and closes: the
 * reader gets every one of them, then EOF.
 */
TEST_F(sq, eof_after_every_message_of_closed_peer)
{
	unsigned int i;
	int r;

	for (i = 0; i < EOF_N; i++)
		ASSERT_EQ((ssize_t)eof_sizes[i],
			  send_num(self->c, i, eof_sizes[i], 0));
	close(self->c);
	self->c = -1;
	r = afx_poll(self->a, AFX_POLL_ALL, 0);
	EXPECT_EQ(POLLIN | POLLRDHUP | POLLHUP,
		  r & (POLLIN | POLLRDHUP | POLLHUP | POLLERR));
	check_messages_then_eof(_metadata, self->a);
	/* still readable at EOF, and both directions are shut */
	r = afx_poll(self->a, AFX_POLL_ALL, 0);
	EXPECT_EQ(POLLIN | POLLRDHUP | POLLHUP,
		  r & (POLLIN | POLLRDHUP | POLLHUP | POLLERR));
}

/* The same after the peer's shutdown(SHUT_WR). */
TEST_F(sq, eof_after_every_message_after_shut_wr)
{
	unsigned int i;
	int r;

	for (i = 0; i < EOF_N; i++)
		ASSERT_EQ((ssize_t)eof_sizes[i],
			  send_num(self->c, i, eof_sizes[i], 0));
	ASSERT_EQ(0, shutdown(self->c, SHUT_WR));
	r = afx_poll(self->a, AFX_POLL_ALL, 0);
	EXPECT_EQ(POLLIN | POLLRDHUP, r & (POLLIN | POLLRDHUP | POLLHUP));
	check_messages_then_eof(_metadata, self->a);
	/* the other direction still works */
	ASSERT_EQ(4, send(self->a, "back", 4, 0));
	EXPECT_EQ(4, recv(self->c, rbuf, sizeof(rbuf), 0));
}

/* A reader blocked on an empty queue is woken with EOF by SHUT_WR. */
TEST_F(sq, shut_wr_wakes_blocked_reader_with_eof)
{
	struct afx_call op = { .kind = AFX_CALL_RECV, .buf = rbuf,
			       .len = sizeof(rbuf) };

	op.fd = self->a;
	ASSERT_EQ(0, afx_call_start(&op));
	ASSERT_EQ(0, afx_call_blocked(&op));
	ASSERT_EQ(0, shutdown(self->c, SHUT_WR));
	ASSERT_TRUE(afx_call_done(&op, AFX_DONE_WAIT_MS));
	afx_call_join(&op);
	EXPECT_EQ(0, op.ret);
}

/*
 * The peer closes with a message of ours unread: we read the messages it
 * queued for us first (an empty one among them), then ECONNRESET once,
 * then EOF.
 */
TEST_F(sq, close_with_unread_messages_resets_peer_after_queued_ones)
{
	char buf[16];
	int r;

	ASSERT_EQ(6, send(self->c, "unread", 6, 0));
	ASSERT_EQ(2, send(self->a, "m1", 2, 0));
	ASSERT_EQ(0, send(self->a, "", 0, 0));
	ASSERT_EQ(2, send(self->a, "m3", 2, 0));
	close(self->a);
	self->a = -1;
	ASSERT_EQ(2, recv(self->c, buf, sizeof(buf), 0));
	EXPECT_EQ(0, memcmp(buf, "m1", 2));
	ASSERT_EQ(0, recv(self->c, buf, sizeof(buf), 0));
	ASSERT_EQ(2, recv(self->c, buf, sizeof(buf), 0))
		TH_LOG("the reset overtook a queued message");
	EXPECT_EQ(0, memcmp(buf, "m3", 2));
	r = afx_poll(self->c, AFX_POLL_ALL, 0);
	EXPECT_EQ(POLLERR, r & POLLERR);
	errno = 0;
	EXPECT_EQ(-1, recv(self->c, buf, sizeof(buf), 0));
	EXPECT_EQ(ECONNRESET, errno);
	EXPECT_EQ(0, recv(self->c, buf, sizeof(buf), 0));
	EXPECT_EQ(0, recv(self->c, buf, sizeof(buf), MSG_DONTWAIT));
	errno = 0;
	EXPECT_EQ(-1, send(self->c, "x", 1, MSG_NOSIGNAL));
	EXPECT_EQ(EPIPE, errno);
}

/*
 * Sends that fail with EPIPE on @fd: SIGPIPE for each (a zero-length one
 * and write() included), none with MSG_NOSIGNAL.
 */
static void check_epipe(struct __test_metadata *_metadata, int fd)
{
	struct iovec iov = { "m", 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	ASSERT_EQ(0, afx_catch_signal(SIGPIPE, 0));
	errno = 0;
	EXPECT_EQ(-1, send(fd, "x", 1, 0));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(1, afx_sig_hits[SIGPIPE]);
	errno = 0;
	EXPECT_EQ(-1, send(fd, "", 0, 0));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(2, afx_sig_hits[SIGPIPE]);
	errno = 0;
	EXPECT_EQ(-1, write(fd, "x", 1));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(3, afx_sig_hits[SIGPIPE]);
	errno = 0;
	EXPECT_EQ(-1, send(fd, "x", 1, MSG_NOSIGNAL));
	EXPECT_EQ(EPIPE, errno);
	errno = 0;
	EXPECT_EQ(-1, sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(3, afx_sig_hits[SIGPIPE]);
	/* a send fails at once: POLLOUT (with POLLHUP after a close) */
	EXPECT_EQ(POLLOUT, afx_poll(fd, POLLOUT, 0) & POLLOUT);
}

/* After the socket's own SHUT_WR: EPIPE and SIGPIPE; the peer gets EOF. */
TEST_F(sq, epipe_and_sigpipe_after_shut_wr)
{
	ASSERT_EQ(0, shutdown(self->c, SHUT_WR));
	check_epipe(_metadata, self->c);
	EXPECT_EQ(0, recv(self->a, rbuf, sizeof(rbuf), MSG_DONTWAIT));
}

/* After the peer closed: EPIPE and SIGPIPE. */
TEST_F(sq, epipe_and_sigpipe_after_peer_close)
{
	close(self->a);
	self->a = -1;
	check_epipe(_metadata, self->c);
	EXPECT_EQ(0, recv(self->c, rbuf, sizeof(rbuf), MSG_DONTWAIT));
}

/* After the peer's SHUT_RD: EPIPE and SIGPIPE. */
TEST_F(sq, epipe_and_sigpipe_after_peer_shut_rd)
{
	ASSERT_EQ(0, shutdown(self->a, SHUT_RD));
	check_epipe(_metadata, self->c);
	/* the other direction still works */
	ASSERT_EQ(2, send(self->a, "ok", 2, 0));
	EXPECT_EQ(2, recv(self->c, rbuf, sizeof(rbuf), 0));
}

/* ---- errors ----------------------------------------------------------- */

/* A destination address on a connected socket: EISCONN, nothing sent. */
TEST_F(sq, sendto_with_address_on_connected_eisconn)
{
	struct sockaddr_x sx = afx_sockaddr(AFX_ADDR_LOCAL, self->port);
	struct sockaddr_x peer;
	socklen_t len = sizeof(peer);
	struct iovec iov = { "y", 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	errno = 0;
	EXPECT_EQ(-1, sendto(self->c, "x", 1, MSG_NOSIGNAL, AFX_SA(&sx),
			     AFX_ADDRLEN));
	EXPECT_EQ(EISCONN, errno);
	/* the peer's own address too */
	ASSERT_EQ(0, getpeername(self->c, AFX_SA(&peer), &len));
	mh.msg_name = &peer;
	mh.msg_namelen = len;
	errno = 0;
	EXPECT_EQ(-1, sendmsg(self->c, &mh, MSG_NOSIGNAL));
	EXPECT_EQ(EISCONN, errno);
	errno = 0;
	EXPECT_EQ(-1, recv(self->a, rbuf, sizeof(rbuf), MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(0, ioctl_q(self->c, SIOCOUTQ));
}

/*
 * send() and recv() on a socket that is not connected, bound or not, and
 * on a listener: ENOTCONN (an address given or not).
 */
TEST_F(sq, send_recv_unconnected_enotconn)
{
	struct sockaddr_x sx = afx_sockaddr(AFX_ADDR_LOCAL, self->port);
	int u, i;
	char ch;

	u = afx_socket(SOCK_SEQPACKET);
	ASSERT_LE(0, u);
	/* a recv() that waited would time out instead */
	ASSERT_EQ(0, afx_set_timeo(u, SO_RCVTIMEO, 2000));
	ASSERT_EQ(0, afx_set_timeo(self->l, SO_RCVTIMEO, 2000));
	for (i = 0; i < 2; i++) {
		if (i)
			ASSERT_EQ(0, afx_bind(u, AFX_ADDR_ANY, 0));
		errno = 0;
		EXPECT_EQ(-1, send(u, "x", 1, MSG_NOSIGNAL));
		EXPECT_EQ(ENOTCONN, errno);
		errno = 0;
		EXPECT_EQ(-1, sendto(u, "x", 1, MSG_NOSIGNAL, AFX_SA(&sx),
				     AFX_ADDRLEN));
		EXPECT_EQ(ENOTCONN, errno);
		errno = 0;
		EXPECT_EQ(-1, recv(u, &ch, 1, 0));
		EXPECT_EQ(ENOTCONN, errno);
		errno = 0;
		EXPECT_EQ(-1, recv(u, &ch, 1, MSG_DONTWAIT));
		EXPECT_EQ(ENOTCONN, errno);
	}
	close(u);
	errno = 0;
	EXPECT_EQ(-1, send(self->l, "x", 1, MSG_NOSIGNAL));
	EXPECT_EQ(ENOTCONN, errno);
	errno = 0;
	EXPECT_EQ(-1, recv(self->l, &ch, 1, 0));
	EXPECT_EQ(ENOTCONN, errno);
}

/* MSG_OOB: EOPNOTSUPP for send() (nothing sent) and recv() (nothing taken). */
TEST_F(sq, msg_oob_eopnotsupp)
{
	char ch;

	errno = 0;
	EXPECT_EQ(-1, send(self->c, "o", 1, MSG_OOB | MSG_NOSIGNAL));
	EXPECT_EQ(EOPNOTSUPP, errno);
	EXPECT_EQ(0, ioctl_q(self->c, SIOCOUTQ));
	ASSERT_EQ(1, send(self->c, "x", 1, 0));
	errno = 0;
	EXPECT_EQ(-1, recv(self->a, &ch, 1, MSG_OOB));
	EXPECT_EQ(EOPNOTSUPP, errno);
	ASSERT_EQ(1, recv(self->a, &ch, 1, MSG_DONTWAIT));
	EXPECT_EQ('x', ch);
}

/* ---- addresses, ioctls, /proc -------------------------------------------- */

/*
 * recvfrom() and recvmsg() with an address buffer report the peer's
 * address, what getpeername() says, on both ends.
 */
TEST_F(sq, recvfrom_reports_peer_address)
{
	struct sockaddr_x from, peer;
	struct iovec iov = { rbuf, sizeof(rbuf) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	socklen_t len;
	int d, fd;

	for (d = 0; d < 2; d++) {
		fd = d ? self->c : self->a;
		ASSERT_EQ(0, afx_getpeername(fd, &peer));
		ASSERT_EQ(2, send(d ? self->a : self->c, "hi", 2, 0));
		ASSERT_EQ(3, send(d ? self->a : self->c, "hey", 3, 0));
		len = sizeof(from);
		memset(&from, 0xa5, sizeof(from));
		ASSERT_EQ(2, recvfrom(fd, rbuf, sizeof(rbuf), MSG_DONTWAIT,
				      AFX_SA(&from), &len));
		EXPECT_EQ(AFX_ADDRLEN, len);
		EXPECT_EQ(peer.sx_family, from.sx_family);
		EXPECT_EQ(peer.sx_addr, from.sx_addr);
		EXPECT_EQ(peer.sx_port, from.sx_port);
		memset(&from, 0xa5, sizeof(from));
		mh.msg_name = &from;
		mh.msg_namelen = sizeof(from);
		ASSERT_EQ(3, recvmsg(fd, &mh, MSG_DONTWAIT));
		EXPECT_EQ(AFX_ADDRLEN, mh.msg_namelen);
		EXPECT_EQ(peer.sx_family, from.sx_family);
		EXPECT_EQ(peer.sx_addr, from.sx_addr);
		EXPECT_EQ(peer.sx_port, from.sx_port);
	}
	/* the accepted end's peer is the client's port */
	ASSERT_EQ(0, afx_getpeername(self->a, &peer));
	EXPECT_EQ(afx_local_port(self->c), (long)peer.sx_port);
}

/*
 * SIOCINQ (FIONREAD) is the payload of every queued message, SIOCOUTQ on
 * the sender the same until read; a truncated read takes its whole
 * message off both.
 */
TEST_F(sq, siocinq_siocoutq_count_payload)
{
	char buf[16];

	EXPECT_EQ(0, ioctl_q(self->a, SIOCINQ));
	EXPECT_EQ(0, ioctl_q(self->c, SIOCOUTQ));
	ASSERT_EQ(10, send_num(self->c, 0, 10, 0));
	ASSERT_EQ(0, send_num(self->c, 1, 0, 0));
	ASSERT_EQ(300, send_num(self->c, 2, 300, 0));
	EXPECT_EQ(310, ioctl_q(self->a, SIOCINQ));
	EXPECT_EQ(310, ioctl_q(self->a, FIONREAD));
	EXPECT_EQ(310, ioctl_q(self->c, SIOCOUTQ));
	EXPECT_EQ(0, ioctl_q(self->c, SIOCINQ));
	EXPECT_EQ(0, ioctl_q(self->a, SIOCOUTQ));
	ASSERT_EQ(0, recv_num(self->a, 0, 10, MSG_DONTWAIT));
	EXPECT_EQ(300, ioctl_q(self->a, SIOCINQ));
	EXPECT_EQ(300, ioctl_q(self->c, SIOCOUTQ));
	ASSERT_EQ(0, recv_num(self->a, 1, 0, MSG_DONTWAIT));
	EXPECT_EQ(300, ioctl_q(self->a, SIOCINQ));
	EXPECT_EQ(300, ioctl_q(self->c, SIOCOUTQ));
	ASSERT_EQ(16, recv(self->a, buf, sizeof(buf), MSG_PEEK));
	EXPECT_EQ(300, ioctl_q(self->a, SIOCINQ));
	ASSERT_EQ(16, recv(self->a, buf, sizeof(buf), 0));
	EXPECT_EQ(0, ioctl_q(self->a, SIOCINQ));
	EXPECT_EQ(0, ioctl_q(self->c, SIOCOUTQ));
}

/* SIOCINQ and SIOCOUTQ on a listener: EINVAL. */
TEST_F(sq, ioctls_on_listener_einval)
{
	int v;

	errno = 0;
	EXPECT_EQ(-1, afx_ioctl_int(self->l, SIOCINQ, &v));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, afx_ioctl_int(self->l, SIOCOUTQ, &v));
	EXPECT_EQ(EINVAL, errno);
}

/*
 * /proc/net/afx lists the three sockets with Type 5 and the queues in
 * payload bytes.
 */
TEST_F(sq, proc_type_5_and_payload_queues)
{
	struct pline p;

	ASSERT_EQ(1, proc_find(ino_of(self->l), &p));
	EXPECT_EQ(SOCK_SEQPACKET, p.type);
	EXPECT_EQ(ST_LISTEN, p.state);
	ASSERT_EQ(10, send_num(self->c, 0, 10, 0));
	ASSERT_EQ(0, send_num(self->c, 1, 0, 0));
	ASSERT_EQ(300, send_num(self->c, 2, 300, 0));
	ASSERT_EQ(1, proc_find(ino_of(self->c), &p));
	EXPECT_EQ(SOCK_SEQPACKET, p.type);
	EXPECT_EQ(ST_ESTABLISHED, p.state);
	EXPECT_EQ(0, p.rq);
	EXPECT_EQ(310, p.wq);
	ASSERT_EQ(1, proc_find(ino_of(self->a), &p));
	EXPECT_EQ(SOCK_SEQPACKET, p.type);
	EXPECT_EQ(ST_ESTABLISHED, p.state);
	EXPECT_EQ(310, p.rq);
	EXPECT_EQ(0, p.wq);
}

/* ---- credentials ---------------------------------------------------- */

/*
 * A reader with SO_PASSCRED gets, with each message, the pid, uid and
 * gid of the process that sent it: a child (as nobody when we are root)
 * and then this process, on one connection.
 */
TEST_F(sq, passcred_reader_gets_each_senders_creds)
{
	uid_t cuid = getuid();
	gid_t cgid = getgid();
	struct ucred uc;
	char b[16];
	pid_t pid;
	int has;

	if (geteuid() == 0)
		cuid = cgid = 65534;
	ASSERT_EQ(0, afx_set_int(self->a, SOL_SOCKET, SO_PASSCRED, 1));
	pid = afx_child_fork(0);
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (geteuid() == 0 && (setgid(cgid) || setuid(cuid)))
			_exit(10);
		if (send(self->c, "child1", 6, MSG_NOSIGNAL) != 6 ||
		    send(self->c, "child2", 6, MSG_NOSIGNAL) != 6)
			_exit(11);
		_exit(0);
	}
	ASSERT_EQ(0, afx_wait_child(pid));
	ASSERT_EQ(6, send(self->c, "parent", 6, 0));

	ASSERT_EQ(6, recv_creds(self->a, b, sizeof(b), &uc, &has));
	EXPECT_EQ(0, memcmp(b, "child1", 6));
	ASSERT_EQ(1, has);
	EXPECT_EQ(pid, uc.pid);
	EXPECT_EQ(cuid, uc.uid);
	EXPECT_EQ(cgid, uc.gid);
	ASSERT_EQ(6, recv_creds(self->a, b, sizeof(b), &uc, &has));
	EXPECT_EQ(0, memcmp(b, "child2", 6));
	ASSERT_EQ(1, has);
	EXPECT_EQ(pid, uc.pid);
	ASSERT_EQ(6, recv_creds(self->a, b, sizeof(b), &uc, &has));
	EXPECT_EQ(0, memcmp(b, "parent", 6));
	ASSERT_EQ(1, has);
	EXPECT_EQ(getpid(), uc.pid);
	EXPECT_EQ(getuid(), uc.uid);
	EXPECT_EQ(getgid(), uc.gid);
}

/*
 * Credentials travel when either end had SO_PASSCRED at send time; a
 * reader without it gets none; a message that came without reads as
 * pid 0 and the overflow ids.
 */
TEST_F(sq, creds_attached_when_either_end_asks)
{
	struct ucred uc;
	char b[4];
	int has;

	ASSERT_EQ(0, afx_set_int(self->c, SOL_SOCKET, SO_PASSCRED, 1));
	ASSERT_EQ(1, send(self->c, "1", 1, 0));
	ASSERT_EQ(1, send(self->c, "2", 1, 0));
	ASSERT_EQ(0, afx_set_int(self->c, SOL_SOCKET, SO_PASSCRED, 0));
	ASSERT_EQ(1, send(self->c, "3", 1, 0));

	ASSERT_EQ(1, recv_creds(self->a, b, sizeof(b), &uc, &has));
	EXPECT_EQ('1', b[0]);
	EXPECT_EQ(0, has);
	ASSERT_EQ(0, afx_set_int(self->a, SOL_SOCKET, SO_PASSCRED, 1));
	ASSERT_EQ(1, recv_creds(self->a, b, sizeof(b), &uc, &has));
	EXPECT_EQ('2', b[0]);
	ASSERT_EQ(1, has);
	EXPECT_EQ(getpid(), uc.pid);
	EXPECT_EQ(getuid(), uc.uid);
	ASSERT_EQ(1, recv_creds(self->a, b, sizeof(b), &uc, &has));
	EXPECT_EQ('3', b[0]);
	ASSERT_EQ(1, has);
	EXPECT_EQ(0, uc.pid);
	EXPECT_EQ((uid_t)afx_overflow_id("overflowuid"), uc.uid);
	EXPECT_EQ((gid_t)afx_overflow_id("overflowgid"), uc.gid);
	/* the reader asks, the sender does not */
	ASSERT_EQ(1, send(self->c, "4", 1, 0));
	ASSERT_EQ(1, recv_creds(self->a, b, sizeof(b), &uc, &has));
	EXPECT_EQ('4', b[0]);
	ASSERT_EQ(1, has);
	EXPECT_EQ(getpid(), uc.pid);
}

/*
 * SCM_CREDENTIALS with the sender's own ids passes, even when neither
 * end has SO_PASSCRED; SIOCINQ counts the payload only.
 */
TEST_F(sq, scm_credentials_with_own_ids_pass)
{
	struct ucred own = { getpid(), getuid(), getgid() }, uc;
	char b[16];
	int has;

	ASSERT_EQ(5, send_cmsg(self->c, "hello", 5, SCM_CREDENTIALS, &own,
			       sizeof(own)))
		TH_LOG("sendmsg: %s", strerror(errno));
	EXPECT_EQ(5, ioctl_q(self->a, SIOCINQ));
	EXPECT_EQ(5, ioctl_q(self->c, SIOCOUTQ));
	ASSERT_EQ(0, afx_set_int(self->a, SOL_SOCKET, SO_PASSCRED, 1));
	ASSERT_EQ(5, recv_creds(self->a, b, sizeof(b), &uc, &has));
	EXPECT_EQ(0, memcmp(b, "hello", 5));
	ASSERT_EQ(1, has);
	EXPECT_EQ(own.pid, uc.pid);
	EXPECT_EQ(own.uid, uc.uid);
	EXPECT_EQ(own.gid, uc.gid);
}

/*
 * SCM_RIGHTS with an AF_X socket, which could hold descriptors itself:
 * EOPNOTSUPP, nothing queued (files that pass: afx_scm_rights_test).
 */
TEST_F(sq, scm_rights_refuses_sockets)
{
	int fd = self->c;

	errno = 0;
	EXPECT_EQ(-1, send_cmsg(self->c, "r", 1, SCM_RIGHTS, &fd, sizeof(fd)));
	EXPECT_EQ(EOPNOTSUPP, errno);
	errno = 0;
	EXPECT_EQ(-1, recv(self->a, rbuf, sizeof(rbuf), MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(0, ioctl_q(self->c, SIOCOUTQ));
}

/* ---- socketpair() -------------------------------------------------------- */

FIXTURE(ssp) {
	int sv[2];
};

FIXTURE_SETUP(ssp)
{
	int fd;

	afx_watchdog(WATCHDOG_SEC);
	self->sv[0] = self->sv[1] = -1;
	fd = afx_socket(SOCK_SEQPACKET);
	AFX_SKIP_IF_NO_AFX(fd);
	ASSERT_LE(0, fd) TH_LOG("socket(SOCK_SEQPACKET): %s", strerror(errno));
	close(fd);
	ASSERT_EQ(0, socketpair(afx_family(), SOCK_SEQPACKET, 0, self->sv))
		TH_LOG("socketpair: %s", strerror(errno));
}

FIXTURE_TEARDOWN(ssp)
{
	afx_close_all(self->sv, 2);
	afx_watchdog(0);
}

/*
 * Both ends: SOCK_SEQPACKET, connected, unbound ({AFX_ADDR_ANY, 0} for
 * their names and their peers'), SO_PEERCRED the creator.
 */
TEST_F(ssp, connected_unbound_seqpacket_ends)
{
	struct sockaddr_x sx;
	struct ucred uc;
	socklen_t len;
	int i;

	for (i = 0; i < 2; i++) {
		EXPECT_EQ(SOCK_SEQPACKET, so_type(self->sv[i]));
		ASSERT_EQ(0, afx_getsockname(self->sv[i], &sx));
		EXPECT_EQ(afx_family(), sx.sx_family);
		EXPECT_EQ(AFX_ADDR_ANY, sx.sx_addr);
		EXPECT_EQ(AFX_PORT_ANY, sx.sx_port);
		ASSERT_EQ(0, afx_getpeername(self->sv[i], &sx));
		EXPECT_EQ(afx_family(), sx.sx_family);
		EXPECT_EQ(AFX_ADDR_ANY, sx.sx_addr);
		EXPECT_EQ(AFX_PORT_ANY, sx.sx_port);
		len = sizeof(uc);
		ASSERT_EQ(0, getsockopt(self->sv[i], SOL_SOCKET, SO_PEERCRED,
					&uc, &len));
		EXPECT_EQ(getpid(), uc.pid);
	}
	EXPECT_EQ(POLLOUT, afx_poll(self->sv[0], AFX_POLL_ALL, 0));
}

/*
 * Messages of 0, 1, 100 and 2000 bytes both ways, one per recv(), in
 * order, from {AFX_ADDR_ANY, 0}; a short buffer truncates one.
 */
TEST_F(ssp, boundaries_both_ways)
{
	static const size_t sizes[] = { 0, 1, 100, 2000, 0 };
	unsigned int i, n = ARRAY_SIZE(sizes);
	struct sockaddr_x from;
	socklen_t len;
	char buf[8];
	int d, mf;

	for (d = 0; d < 2; d++) {
		for (i = 0; i < n; i++)
			ASSERT_EQ((ssize_t)sizes[i],
				  send_num(self->sv[d], i, sizes[i], 0));
		for (i = 0; i < n; i++)
			ASSERT_EQ(0, recv_num(self->sv[!d], i, sizes[i],
					      MSG_DONTWAIT))
				TH_LOG("direction %d, message %u", d, i);
		ASSERT_EQ(9, send(self->sv[d], "truncated", 9, 0));
		ASSERT_EQ(3, send(self->sv[d], "end", 3, 0));
		ASSERT_EQ(4, recv_flags(self->sv[!d], buf, 4, 0, &mf));
		EXPECT_EQ(MSG_TRUNC, mf & MSG_TRUNC);
		len = sizeof(from);
		memset(&from, 0xa5, sizeof(from));
		ASSERT_EQ(3, recvfrom(self->sv[!d], buf, sizeof(buf), 0,
				      AFX_SA(&from), &len));
		EXPECT_EQ(0, memcmp(buf, "end", 3));
		EXPECT_EQ(AFX_ADDRLEN, len);
		EXPECT_EQ(afx_family(), from.sx_family);
		EXPECT_EQ(AFX_ADDR_ANY, from.sx_addr);
		EXPECT_EQ(AFX_PORT_ANY, from.sx_port);
		errno = 0;
		EXPECT_EQ(-1, recv(self->sv[!d], buf, sizeof(buf),
				   MSG_DONTWAIT));
		EXPECT_EQ(EAGAIN, errno);
	}
}

/* ---- ordering and exactly-once under load ------------------------------ */

/* Size of stress message @seq: pseudo-random 0..STRESS_MAX, 0 and 1 often. */
static size_t stress_size(uint32_t seq)
{
	uint32_t x = seq * 2654435761u;

	if (seq % 97 == 0)
		return 0;
	if (seq % 89 == 0)
		return 1;
	x ^= x >> 15;
	x *= 2246822519u;
	x ^= x >> 13;
	return x % (STRESS_MAX + 1);
}

/*
 * The parent's side of a stress run: every message numbered, sized and
 * whole, in order, then EOF.
 */
static void stress_read(struct __test_metadata *_metadata, int fd)
{
	uint32_t seq;

	for (seq = 0; seq < STRESS_N; seq++)
		ASSERT_EQ(0, recv_num(fd, seq, stress_size(seq), 0))
			TH_LOG("message %u of %u", seq, STRESS_N);
	EXPECT_EQ(0, recv(fd, rbuf, sizeof(rbuf), 0))
		TH_LOG("something after the last message");
}

/*
 * A child sends STRESS_N messages of sizes 0 to 2000 with blocking send()s
 * into a small queue, so it waits again and again; the reader gets each
 * exactly once, in order, whole.
 */
TEST_F_TIMEOUT(sq, stress_blocking_sender_every_message_once_in_order, 150)
{
	uint32_t seq;
	pid_t pid;

	afx_watchdog(140);
	ASSERT_EQ(0, afx_set_int(self->a, SOL_SOCKET, SO_RCVBUF, 16384));
	pid = afx_child_fork(130);
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(self->a);
		for (seq = 0; seq < STRESS_N; seq++)
			if (send_num(self->c, seq, stress_size(seq), 0) !=
			    (ssize_t)stress_size(seq))
				_exit(1);
		_exit(0);
	}
	close(self->c);
	self->c = -1;
	/* the sender blocks on the full queue before we start reading */
	ASSERT_EQ(0, afx_wait_blocked(pid, SYS_sendto, AFX_BLOCK_WAIT_MS))
		TH_LOG("the sender never blocked");
	stress_read(_metadata, self->a);
	EXPECT_EQ(0, afx_wait_child(pid)) TH_LOG("sender: 1 send failed");
}

/*
 * The same with a nonblocking sender that waits in poll(POLLOUT) after
 * each EAGAIN: POLLOUT always comes back, nothing is lost.
 */
TEST_F_TIMEOUT(sq, stress_polling_sender_every_message_once_in_order, 150)
{
	uint32_t seq;
	int p[2];
	pid_t pid;
	char ch;

	afx_watchdog(140);
	ASSERT_EQ(0, afx_set_int(self->a, SOL_SOCKET, SO_RCVBUF, 16384));
	ASSERT_EQ(0, pipe(p));
	pid = afx_child_fork(130);
	ASSERT_LE(0, pid);
	if (pid == 0) {
		long waits = 0;
		size_t len;
		ssize_t r;

		close(self->a);
		close(p[0]);
		for (seq = 0; seq < STRESS_N; seq++) {
			len = stress_size(seq);
			for (;;) {
				r = send_num(self->c, seq, len, MSG_DONTWAIT);
				if (r == (ssize_t)len)
					break;
				if (r >= 0 || errno != EAGAIN)
					_exit(1);
				/* the queue is full: tell the reader once */
				if (!waits && write(p[1], "f", 1) != 1)
					_exit(4);
				if (!(afx_poll(self->c, POLLOUT, 10000) &
				      POLLOUT))
					_exit(2);
				waits++;
			}
		}
		_exit(waits ? 0 : 3);
	}
	close(p[1]);
	close(self->c);
	self->c = -1;
	ASSERT_EQ(1, read(p[0], &ch, 1)) TH_LOG("the sender never filled the queue");
	close(p[0]);
	stress_read(_metadata, self->a);
	EXPECT_EQ(0, afx_wait_child(pid))
		TH_LOG("sender: 1 send error, 2 POLLOUT never came, 3 never had to wait");
}

AFX_TEST_MAIN
