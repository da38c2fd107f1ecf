// SPDX-License-Identifier: GPL-2.0
/*
 * afx_socketpair_test.c - socketpair(AF_X, SOCK_STREAM or SOCK_DGRAM):
 * two connected, unbound sockets that behave as a connected pair does.
 *
 * Documentation/afx.rst, "Other calls".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "afx_harness.h"
#include "afx_introspect.h"

#define WATCHDOG_SEC	20

FIXTURE(sp) {
	int sv[2];
};

FIXTURE_SETUP(sp)
{
	int fd;

	afx_watchdog(WATCHDOG_SEC);
	self->sv[0] = self->sv[1] = -1;
	fd = afx_socket(SOCK_STREAM);
	AFX_SKIP_IF_NO_AFX(fd);
	close(fd);
	ASSERT_EQ(0, socketpair(afx_family(), SOCK_STREAM, 0, self->sv));
}

FIXTURE_TEARDOWN(sp)
{
	afx_close_all(self->sv, 2);
}

/* Bytes both ways, in order, through both ends. */
TEST_F(sp, bytes_both_ways)
{
	static unsigned char out[200000], in[200000];
	pid_t pid;

	afx_fill_pattern(out, sizeof(out), 0);
	pid = afx_child_fork(0);
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* Echo everything back until EOF. */
		ssize_t n;

		close(self->sv[0]);
		while ((n = recv(self->sv[1], in, sizeof(in), 0)) > 0)
			if (afx_send_all(self->sv[1], in, n))
				_exit(1);
		_exit(n == 0 ? 0 : 2);
	}
	close(self->sv[1]);
	self->sv[1] = -1;
	ASSERT_EQ(0, afx_send_all(self->sv[0], out, sizeof(out)));
	ASSERT_EQ(0, shutdown(self->sv[0], SHUT_WR));
	ASSERT_EQ(0, afx_recv_all(self->sv[0], in, sizeof(in)));
	EXPECT_EQ(sizeof(in), afx_check_pattern(in, sizeof(in), 0));
	EXPECT_EQ(0, recv(self->sv[0], in, 1, 0));
	EXPECT_EQ(0, afx_wait_child(pid));
}

/* Both ends unbound: their names and their peers' are {ANY, port 0}. */
/* Both ends' names and peer names are {AFX_ADDR_ANY, port 0}. */
static void check_names_unbound(struct __test_metadata *_metadata,
				const int sv[2])
{
	struct sockaddr_x sx;
	socklen_t len;
	int i;

	for (i = 0; i < 2; i++) {
		len = sizeof(sx);
		memset(&sx, 0xff, sizeof(sx));
		ASSERT_EQ(0, getsockname(sv[i], (struct sockaddr *)&sx, &len));
		EXPECT_EQ(sizeof(sx), len);
		EXPECT_EQ(afx_family(), sx.sx_family);
		EXPECT_EQ(AFX_ADDR_ANY, sx.sx_addr);
		EXPECT_EQ(AFX_PORT_ANY, sx.sx_port);
		len = sizeof(sx);
		memset(&sx, 0xff, sizeof(sx));
		ASSERT_EQ(0, getpeername(sv[i], (struct sockaddr *)&sx, &len));
		EXPECT_EQ(afx_family(), sx.sx_family);
		EXPECT_EQ(AFX_ADDR_ANY, sx.sx_addr);
		EXPECT_EQ(AFX_PORT_ANY, sx.sx_port);
	}
}

/* SO_PEERCRED of each end is the creator; SO_TYPE is @type. */
static void check_peercred_and_type(struct __test_metadata *_metadata,
				    const int sv[2], int type)
{
	struct ucred uc;
	socklen_t len;
	int t, i;

	for (i = 0; i < 2; i++) {
		len = sizeof(uc);
		ASSERT_EQ(0, getsockopt(sv[i], SOL_SOCKET, SO_PEERCRED,
					&uc, &len));
		EXPECT_EQ(getpid(), uc.pid);
		EXPECT_EQ(getuid(), uc.uid);
		EXPECT_EQ(getgid(), uc.gid);
		len = sizeof(t);
		ASSERT_EQ(0, getsockopt(sv[i], SOL_SOCKET, SO_TYPE, &t, &len));
		EXPECT_EQ(type, t);
	}
}

/* /proc/net/afx lists both ends as connected, unbound. */
static void check_proc(struct __test_metadata *_metadata, const int sv[2],
		       int type)
{
	struct pline p;
	int i;

	for (i = 0; i < 2; i++) {
		ASSERT_EQ(1, proc_find(ino_of(sv[i]), &p));
		EXPECT_EQ(type, p.type);
		EXPECT_EQ(ST_ESTABLISHED, p.state);
		EXPECT_EQ(0, p.lport);
		EXPECT_EQ(0, p.pport);
	}
}

TEST_F(sp, names_are_unbound)
{
	check_names_unbound(_metadata, self->sv);
}

TEST_F(sp, peercred_and_type)
{
	check_peercred_and_type(_metadata, self->sv, SOCK_STREAM);
}

/* Connected already: bind, listen and connect are refused. */
TEST_F(sp, bind_listen_connect_refused)
{
	errno = 0;
	EXPECT_EQ(-1, afx_bind(self->sv[0], AFX_ADDR_ANY, 0));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, listen(self->sv[0], 1));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, afx_connect_port(self->sv[1], 50000));
	EXPECT_EQ(EISCONN, errno);
	/* Still a working pair. */
	ASSERT_EQ(1, send(self->sv[0], "x", 1, 0));
	EXPECT_EQ(POLLIN, afx_poll(self->sv[1], POLLIN, 1000) & POLLIN);
}

/* Close with unread data: the other end reads ECONNRESET, then EOF. */
TEST_F(sp, close_with_unread_data_resets_peer)
{
	char b;

	ASSERT_EQ(1, send(self->sv[1], "x", 1, 0));
	close(self->sv[0]);
	self->sv[0] = -1;
	EXPECT_EQ(-1, recv(self->sv[1], &b, 1, 0));
	EXPECT_EQ(ECONNRESET, errno);
	EXPECT_EQ(0, recv(self->sv[1], &b, 1, 0));
	EXPECT_EQ(-1, send(self->sv[1], "x", 1, MSG_NOSIGNAL));
	EXPECT_EQ(EPIPE, errno);
}

TEST_F(sp, proc_lists_both_ends)
{
	check_proc(_metadata, self->sv, SOCK_STREAM);
}

/* ---- datagram pairs ---------------------------------------------------- */

FIXTURE(dsp) {
	int sv[2];
};

FIXTURE_SETUP(dsp)
{
	int fd;

	afx_watchdog(WATCHDOG_SEC);
	self->sv[0] = self->sv[1] = -1;
	fd = afx_socket(SOCK_DGRAM);
	AFX_SKIP_IF_NO_AFX(fd);
	close(fd);
	ASSERT_EQ(0, socketpair(afx_family(), SOCK_DGRAM, 0, self->sv));
}

FIXTURE_TEARDOWN(dsp)
{
	afx_close_all(self->sv, 2);
}

/*
 * Datagrams both ways, whole and in order, of 0, 1 and 1000 bytes; the
 * sender shows as {AFX_ADDR_ANY, port 0}, and sending binds nothing.
 */
TEST_F(dsp, datagrams_both_ways)
{
	static const size_t sizes[] = { 0, 1, 1000 };
	unsigned char out[1000], in[1001];
	struct sockaddr_x from;
	socklen_t len;
	int d, i;

	afx_fill_pattern(out, sizeof(out), 0);
	for (d = 0; d < 2; d++) {
		for (i = 0; i < 3; i++)
			ASSERT_EQ((ssize_t)sizes[i],
				  send(self->sv[d], out, sizes[i], 0));
		for (i = 0; i < 3; i++) {
			len = sizeof(from);
			memset(&from, 0xff, sizeof(from));
			ASSERT_EQ((ssize_t)sizes[i],
				  recvfrom(self->sv[!d], in, sizeof(in),
					   MSG_DONTWAIT, (struct sockaddr *)&from,
					   &len));
			EXPECT_EQ(0, memcmp(in, out, sizes[i]));
			EXPECT_EQ(sizeof(from), len);
			EXPECT_EQ(afx_family(), from.sx_family);
			EXPECT_EQ(AFX_ADDR_ANY, from.sx_addr);
			EXPECT_EQ(AFX_PORT_ANY, from.sx_port);
		}
		errno = 0;
		EXPECT_EQ(-1, recv(self->sv[!d], in, sizeof(in), MSG_DONTWAIT));
		EXPECT_EQ(EAGAIN, errno);
	}
	check_names_unbound(_metadata, self->sv);
}

/* A short buffer truncates one datagram, as on any datagram socket. */
TEST_F(dsp, msg_trunc)
{
	char buf[4];
	struct msghdr mh = { 0 };
	struct iovec iov = { buf, sizeof(buf) };

	ASSERT_EQ(10, send(self->sv[0], "0123456789", 10, 0));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	EXPECT_EQ(4, recvmsg(self->sv[1], &mh, 0));
	EXPECT_EQ(MSG_TRUNC, mh.msg_flags & MSG_TRUNC);
	EXPECT_EQ(0, memcmp(buf, "0123", 4));
	errno = 0;
	EXPECT_EQ(-1, recv(self->sv[1], buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
}

TEST_F(dsp, names_are_unbound)
{
	check_names_unbound(_metadata, self->sv);
}

TEST_F(dsp, peercred_and_type)
{
	check_peercred_and_type(_metadata, self->sv, SOCK_DGRAM);
}

TEST_F(dsp, proc_lists_both_ends)
{
	check_proc(_metadata, self->sv, SOCK_DGRAM);
}

/*
 * Connected for good: bind, connect (AF_UNSPEC too) and sendto with a
 * destination are refused; the pair still works and stays unbound.
 */
TEST_F(dsp, bind_connect_sendto_refused)
{
	struct sockaddr_x sx = afx_sockaddr(AFX_ADDR_LOCAL, 50000);
	struct sockaddr unspec = { .sa_family = AF_UNSPEC };
	uint32_t port;
	int other;
	char b;

	other = afx_dg_bound(AFX_ADDR_ANY, 0, 0);
	ASSERT_LE(0, other);
	port = afx_local_port(other);
	errno = 0;
	EXPECT_EQ(-1, afx_bind(self->sv[0], AFX_ADDR_ANY, 0));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, afx_connect_port(self->sv[0], port));
	EXPECT_EQ(EISCONN, errno);
	errno = 0;
	EXPECT_EQ(-1, connect(self->sv[1], &unspec, sizeof(unspec)));
	EXPECT_EQ(EISCONN, errno);
	sx.sx_port = port;
	errno = 0;
	EXPECT_EQ(-1, sendto(self->sv[0], "x", 1, 0, (struct sockaddr *)&sx,
			     sizeof(sx)));
	EXPECT_EQ(EISCONN, errno);
	errno = 0;
	EXPECT_EQ(-1, listen(self->sv[0], 1));
	EXPECT_EQ(EOPNOTSUPP, errno);
	EXPECT_EQ(1, afx_dg_queue_empty(other));
	/* Still a working pair, still unbound. */
	ASSERT_EQ(1, send(self->sv[1], "y", 1, 0));
	ASSERT_EQ(1, recv(self->sv[0], &b, 1, MSG_DONTWAIT));
	EXPECT_EQ('y', b);
	check_names_unbound(_metadata, self->sv);
	close(other);
}

/*
 * When one end closes, the other reads what was queued to it, then
 * nothing; its sends fail with ECONNREFUSED.
 */
TEST_F(dsp, close_refuses_sends_keeps_queue)
{
	char b;

	ASSERT_EQ(1, send(self->sv[0], "a", 1, 0));
	ASSERT_EQ(1, send(self->sv[0], "b", 1, 0));
	ASSERT_EQ(1, send(self->sv[1], "c", 1, 0));
	close(self->sv[0]);
	self->sv[0] = -1;
	errno = 0;
	EXPECT_EQ(-1, send(self->sv[1], "d", 1, 0));
	EXPECT_EQ(ECONNREFUSED, errno);
	ASSERT_EQ(1, recv(self->sv[1], &b, 1, MSG_DONTWAIT));
	EXPECT_EQ('a', b);
	ASSERT_EQ(1, recv(self->sv[1], &b, 1, MSG_DONTWAIT));
	EXPECT_EQ('b', b);
	errno = 0;
	EXPECT_EQ(-1, recv(self->sv[1], &b, 1, MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
	/* Nothing to wait for, so POLLOUT: a send returns at once. */
	EXPECT_EQ(POLLOUT, afx_poll(self->sv[1], POLLOUT, 0) & POLLOUT);
	errno = 0;
	EXPECT_EQ(-1, send(self->sv[1], "e", 1, MSG_DONTWAIT));
	EXPECT_EQ(ECONNREFUSED, errno);
}

/*
 * A sender waits for room at the other end; POLLOUT comes back when that
 * end reads; a blocked sender is let go with ECONNREFUSED when it closes.
 */
TEST_F(dsp, full_peer_blocks_until_read_or_close)
{
	struct afx_call c = { .kind = AFX_CALL_SEND };
	char buf[512];
	long n;

	memset(buf, 'z', sizeof(buf));
	ASSERT_EQ(0, afx_set_int(self->sv[1], SOL_SOCKET, SO_RCVBUF, 4096));
	n = afx_fill(self->sv[0], sizeof(buf));
	ASSERT_LT(0, n);
	EXPECT_EQ(0, afx_poll(self->sv[0], POLLOUT, 0) & POLLOUT);
	ASSERT_EQ((ssize_t)sizeof(buf), recv(self->sv[1], buf, sizeof(buf), 0));
	EXPECT_EQ(POLLOUT, afx_poll(self->sv[0], POLLOUT, 5000) & POLLOUT);

	ASSERT_LT(0, afx_fill(self->sv[0], sizeof(buf)));
	c.fd = self->sv[0];
	c.buf = buf;
	c.len = sizeof(buf);
	ASSERT_EQ(0, afx_call_start(&c));
	ASSERT_EQ(0, afx_call_blocked(&c));
	close(self->sv[1]);
	self->sv[1] = -1;
	ASSERT_EQ(1, afx_call_done(&c, 5000));
	afx_call_join(&c);
	EXPECT_EQ(-1, c.ret);
	EXPECT_EQ(ECONNREFUSED, c.err);
}

/* The module's reference count: one per AF_X socket, -1 if unknown. */
static long module_refs(void)
{
	FILE *f = fopen("/sys/module/afx/refcnt", "r");
	long n = -1;

	if (f) {
		if (fscanf(f, "%ld", &n) != 1)
			n = -1;
		fclose(f);
	}
	return n;
}

/*
 * The module's reference count once it has stopped falling (sockets closed
 * earlier are freed after an RCU grace period): a bounded wait.
 */
static long settled_module_refs(void)
{
	long n = module_refs(), m;
	int still = 0;
	double until = afx_now_ms() + 5000;

	while (still < 20 && afx_now_ms() < until) {
		usleep(10000);
		m = module_refs();
		still = m == n ? still + 1 : 0;
		n = m;
	}
	return n;
}

/*
 * Closing both ends, each with a datagram queued from the other, frees
 * both. Each socket holds two module references, one of them until it is
 * freed, so a reference one end kept on the other would keep the count
 * above where it started.
 */
TEST(dgram_pair_both_closed_both_freed)
{
	long base, now;
	double until;
	int sv[2];

	afx_watchdog(WATCHDOG_SEC);
	base = settled_module_refs();
	ASSERT_LE(0, base) TH_LOG("/sys/module/afx/refcnt");
	ASSERT_EQ(0, socketpair(afx_family(), SOCK_DGRAM, 0, sv));
	EXPECT_EQ(base + 4, module_refs());
	ASSERT_EQ(1, send(sv[0], "a", 1, 0));
	ASSERT_EQ(1, send(sv[1], "b", 1, 0));
	close(sv[0]);
	close(sv[1]);
	until = afx_now_ms() + 5000;
	while ((now = module_refs()) > base && afx_now_ms() < until)
		usleep(10000);
	EXPECT_EQ(base, now);
}

/* The other end shut down reading: sends are refused, as after close. */
TEST_F(dsp, other_end_shut_rd_refuses)
{
	ASSERT_EQ(0, shutdown(self->sv[1], SHUT_RD));
	errno = 0;
	EXPECT_EQ(-1, send(self->sv[0], "x", 1, 0));
	EXPECT_EQ(ECONNREFUSED, errno);
	EXPECT_EQ(1, send(self->sv[1], "y", 1, 0));
}

/* Broadcast on a pair end: EACCES without SO_BROADCAST, EISCONN with. */
TEST_F(dsp, broadcast_refused)
{
	int one = 1;

	errno = 0;
	EXPECT_EQ(-1, afx_send_to(self->sv[0], "x", 1, AFX_ADDR_BROADCAST,
				  50000, 0));
	EXPECT_EQ(EACCES, errno);
	ASSERT_EQ(0, setsockopt(self->sv[0], SOL_SOCKET, SO_BROADCAST, &one,
				sizeof(one)));
	errno = 0;
	EXPECT_EQ(-1, afx_send_to(self->sv[0], "x", 1, AFX_ADDR_BROADCAST,
				  50000, 0));
	EXPECT_EQ(EISCONN, errno);
}

AFX_TEST_MAIN
