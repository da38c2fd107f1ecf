// SPDX-License-Identifier: GPL-2.0
/*
 * afx_names_test.c - getsockname()/getpeername() and the
 * destinations connect() accepts (LOCAL, ANY, broadcast, port 0).
 *
 * Documentation/afx.rst, the parts stream and datagram sockets share: most
 * tests run twice, on SOCK_STREAM and SOCK_DGRAM (FIXTURE(common)). Every
 * test arms afx_watchdog(); forked children report through their exit
 * status, never through ASSERT/EXPECT.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <linux/capability.h>

#include "afx_harness.h"
#include "afx_fixture_common.h"

/* A bad user pointer: the first page is never mapped. */
#define BAD_PTR		((void *)8)

TEST_F(common, getpeername)
{
	struct sockaddr_x sx;
	int tgt, fd;
	long p;

	fd = afx_socket(self->type);
	ASSERT_LE(0, fd);
	errno = 0;
	EXPECT_EQ(-1, afx_getpeername(fd, &sx));
	EXPECT_EQ(ENOTCONN, errno);
	/* bound but not connected: still ENOTCONN */
	ASSERT_EQ(0, afx_bind(fd, AFX_ADDR_ANY, 0));
	errno = 0;
	EXPECT_EQ(-1, afx_getpeername(fd, &sx));
	EXPECT_EQ(ENOTCONN, errno);
	close(fd);

	tgt = afx_target(self->type, AFX_ADDR_ANY, self->port_a);
	ASSERT_LE(0, tgt);
	fd = afx_socket(self->type);
	ASSERT_LE(0, fd);
	/* connect to {ANY, port}: ANY means this host too */
	ASSERT_EQ(0, afx_connect(fd, AFX_ADDR_ANY, self->port_a));
	ASSERT_EQ(0, afx_getpeername(fd, &sx));
	EXPECT_EQ(afx_family(), sx.sx_family);
	EXPECT_EQ(0, sx.sx_reserved1);
	EXPECT_EQ(self->port_a, sx.sx_port);
	EXPECT_EQ(AFX_ADDR_LOCAL, sx.sx_addr);
	EXPECT_EQ(0, sx.sx_zero[0] | sx.sx_zero[1] | sx.sx_zero[2] |
		  sx.sx_zero[3]);
	p = afx_local_port(fd);
	close(fd);

	if (self->type == SOCK_STREAM) {
		int a;
		struct sockaddr_x from;
		socklen_t len = sizeof(from);

		memset(&from, 0xa5, sizeof(from));
		a = accept(tgt, AFX_SA(&from), &len);
		ASSERT_LE(0, a);
		EXPECT_EQ(AFX_ADDRLEN, len);
		EXPECT_EQ(p, from.sx_port);
		EXPECT_EQ(AFX_ADDR_LOCAL, from.sx_addr);
		/* accepted: {LOCAL, listener port} */
		ASSERT_EQ(0, afx_getsockname(a, &sx));
		EXPECT_EQ(self->port_a, sx.sx_port);
		EXPECT_EQ(AFX_ADDR_LOCAL, sx.sx_addr);
		ASSERT_EQ(0, afx_getpeername(a, &sx));
		EXPECT_EQ(p, sx.sx_port);
		EXPECT_EQ(AFX_ADDR_LOCAL, sx.sx_addr);
		close(a);
	}
	close(tgt);
}

TEST_F(common, getsockname_short_buffer)
{
	struct sockaddr_x sx;
	socklen_t len;
	int fd = afx_socket(self->type);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, afx_bind(fd, AFX_ADDR_LOCAL, self->port_a));
	memset(&sx, 0xa5, sizeof(sx));
	len = 4;
	ASSERT_EQ(0, getsockname(fd, AFX_SA(&sx), &len));
	/* truncated copy, full length reported */
	EXPECT_EQ(AFX_ADDRLEN, len);
	EXPECT_EQ(afx_family(), sx.sx_family);
	EXPECT_EQ(0xa5a5a5a5U, sx.sx_port);
	len = sizeof(sx);
	ASSERT_EQ(0, getsockname(fd, AFX_SA(&sx), &len));
	EXPECT_EQ(AFX_ADDRLEN, len);
	close(fd);
}

/* ----------------------------------------------------- connect destinations */

TEST_F(common, connect_destinations)
{
	static const uint32_t other[] = { 2, 0x7f000001, 0xfffffffe, 0x10000 };
	unsigned int i;
	int tgt, fd;

	tgt = afx_target(self->type, AFX_ADDR_ANY, self->port_a);
	ASSERT_LE(0, tgt);

	/* another address than ANY/LOCAL/BROADCAST: ENETUNREACH */
	for (i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		fd = afx_socket(self->type);
		ASSERT_LE(0, fd);
		errno = 0;
		EXPECT_EQ(-1, afx_connect(fd, other[i], self->port_a))
			TH_LOG("addr %#x", other[i]);
		EXPECT_EQ(ENETUNREACH, errno) TH_LOG("addr %#x", other[i]);
		if (self->type == SOCK_DGRAM) {
			errno = 0;
			EXPECT_EQ(-1, afx_reach(fd, SOCK_DGRAM, other[i], self->port_a));
			EXPECT_EQ(ENETUNREACH, errno)
				TH_LOG("sendto addr %#x", other[i]);
		}
		close(fd);
	}

	/* BROADCAST */
	fd = afx_socket(self->type);
	ASSERT_LE(0, fd);
	errno = 0;
	EXPECT_EQ(-1, afx_connect(fd, AFX_ADDR_BROADCAST, self->port_a));
	EXPECT_EQ(self->type == SOCK_STREAM ? ENETUNREACH : EACCES, errno)
		TH_LOG("connect BROADCAST: %s", strerror(errno));
	close(fd);
	fd = afx_socket(self->type);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, afx_set_int(fd, SOL_SOCKET, SO_BROADCAST, 1));
	errno = 0;
	if (self->type == SOCK_STREAM) {
		/* SO_BROADCAST does not make a stream broadcast */
		EXPECT_EQ(-1, afx_connect(fd, AFX_ADDR_BROADCAST, self->port_a));
		EXPECT_EQ(ENETUNREACH, errno);
	} else {
		EXPECT_EQ(0, afx_connect(fd, AFX_ADDR_BROADCAST, self->port_a))
			TH_LOG("%s", strerror(errno));
	}
	close(fd);

	/* port 0: stream ECONNREFUSED, dgram EINVAL */
	fd = afx_socket(self->type);
	ASSERT_LE(0, fd);
	errno = 0;
	EXPECT_EQ(-1, afx_connect(fd, AFX_ADDR_LOCAL, 0));
	EXPECT_EQ(self->type == SOCK_STREAM ? ECONNREFUSED : EINVAL, errno)
		TH_LOG("connect port 0: %s", strerror(errno));
	if (self->type == SOCK_DGRAM) {
		errno = 0;
		EXPECT_EQ(-1, afx_reach(fd, SOCK_DGRAM, AFX_ADDR_LOCAL, 0));
		EXPECT_EQ(EINVAL, errno) TH_LOG("sendto port 0: %s",
						strerror(errno));
		errno = 0;
		EXPECT_EQ(-1, afx_reach(fd, SOCK_DGRAM, AFX_ADDR_ANY, 0));
		EXPECT_EQ(EINVAL, errno);
	}
	close(fd);

	/* ANY and LOCAL both reach this host */
	fd = afx_socket(self->type);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, afx_reach(fd, self->type, AFX_ADDR_ANY, self->port_a))
		TH_LOG("%s", strerror(errno));
	close(fd);
	fd = afx_socket(self->type);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, afx_reach(fd, self->type, AFX_ADDR_LOCAL, self->port_a))
		TH_LOG("%s", strerror(errno));
	close(fd);

	/* nobody on the port */
	fd = afx_socket(self->type);
	ASSERT_LE(0, fd);
	errno = 0;
	EXPECT_EQ(-1, afx_reach(fd, self->type, AFX_ADDR_LOCAL, self->port_b));
	EXPECT_EQ(ECONNREFUSED, errno) TH_LOG("%s", strerror(errno));
	close(fd);
	close(tgt);
}

AFX_TEST_MAIN
