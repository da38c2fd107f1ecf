// SPDX-License-Identifier: GPL-2.0
/*
 * afx_socketpair_test.c - socketpair(AF_X, SOCK_STREAM): two connected,
 * unbound stream sockets that behave as a connected pair does.
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
	if (self->sv[0] >= 0)
		close(self->sv[0]);
	if (self->sv[1] >= 0)
		close(self->sv[1]);
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
TEST_F(sp, names_are_unbound)
{
	struct sockaddr_x sx;
	socklen_t len;
	int i;

	for (i = 0; i < 2; i++) {
		len = sizeof(sx);
		memset(&sx, 0xff, sizeof(sx));
		ASSERT_EQ(0, getsockname(self->sv[i], (struct sockaddr *)&sx, &len));
		EXPECT_EQ(sizeof(sx), len);
		EXPECT_EQ(afx_family(), sx.sx_family);
		EXPECT_EQ(AFX_ADDR_ANY, sx.sx_addr);
		EXPECT_EQ(AFX_PORT_ANY, sx.sx_port);
		len = sizeof(sx);
		memset(&sx, 0xff, sizeof(sx));
		ASSERT_EQ(0, getpeername(self->sv[i], (struct sockaddr *)&sx, &len));
		EXPECT_EQ(afx_family(), sx.sx_family);
		EXPECT_EQ(AFX_ADDR_ANY, sx.sx_addr);
		EXPECT_EQ(AFX_PORT_ANY, sx.sx_port);
	}
}

/* SO_PEERCRED of each end is the creator; SO_TYPE is SOCK_STREAM. */
TEST_F(sp, peercred_and_type)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);
	int type, i;

	for (i = 0; i < 2; i++) {
		len = sizeof(uc);
		ASSERT_EQ(0, getsockopt(self->sv[i], SOL_SOCKET, SO_PEERCRED,
					&uc, &len));
		EXPECT_EQ(getpid(), uc.pid);
		EXPECT_EQ(getuid(), uc.uid);
		EXPECT_EQ(getgid(), uc.gid);
		len = sizeof(type);
		ASSERT_EQ(0, getsockopt(self->sv[i], SOL_SOCKET, SO_TYPE,
					&type, &len));
		EXPECT_EQ(SOCK_STREAM, type);
	}
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

/* /proc/net/afx lists both ends as connected, unbound. */
TEST_F(sp, proc_lists_both_ends)
{
	struct pline p;
	int i;

	for (i = 0; i < 2; i++) {
		ASSERT_EQ(1, proc_find(ino_of(self->sv[i]), &p));
		EXPECT_EQ(SOCK_STREAM, p.type);
		EXPECT_EQ(ST_ESTABLISHED, p.state);
		EXPECT_EQ(0, p.lport);
		EXPECT_EQ(0, p.pport);
	}
}

/* Datagram pairs are not supported (yet): EOPNOTSUPP, nothing leaks. */
TEST(dgram_socketpair_eopnotsupp)
{
	int sv[2] = { -1, -1 }, fd;

	fd = afx_socket(SOCK_DGRAM);
	AFX_SKIP_IF_NO_AFX(fd);
	close(fd);
	errno = 0;
	EXPECT_EQ(-1, socketpair(afx_family(), SOCK_DGRAM, 0, sv));
	EXPECT_EQ(EOPNOTSUPP, errno);
}

AFX_TEST_MAIN
