// SPDX-License-Identifier: GPL-2.0
/*
 * afx_ephemeral_test.c - ephemeral ports: bind() to port 0, the
 * whole range taken (EADDRNOTAVAIL), autobind on connect()/sendto()/listen().
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

#define EPH_LO		((int)AFX_EPH_MIN)
#define EPH_HI		((int)AFX_EPH_MAX)
#define EPH_COUNT	(EPH_HI - EPH_LO + 1)
/* Below the range; the test that uses it has a netns of its own. */
#define PORT_OUTSIDE	(AFX_EPH_MIN - 1)

static int check_eph(long port)
{
	return port >= EPH_LO && port <= EPH_HI;
}

TEST_F(common, bind_ephemeral)
{
	struct sockaddr_x sx;
	long p1, p2;
	int a, b;

	a = afx_socket(self->type);
	b = afx_socket(self->type);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	ASSERT_EQ(0, afx_bind(a, AFX_ADDR_ANY, AFX_PORT_ANY));
	ASSERT_EQ(0, afx_bind(b, AFX_ADDR_LOCAL, AFX_PORT_ANY));
	p1 = afx_local_port(a);
	p2 = afx_local_port(b);
	EXPECT_TRUE(check_eph(p1)) TH_LOG("port %ld", p1);
	EXPECT_TRUE(check_eph(p2)) TH_LOG("port %ld", p2);
	EXPECT_NE(p1, p2);
	ASSERT_EQ(0, afx_getsockname(a, &sx));
	EXPECT_EQ(AFX_ADDR_ANY, sx.sx_addr);
	ASSERT_EQ(0, afx_getsockname(b, &sx));
	EXPECT_EQ(AFX_ADDR_LOCAL, sx.sx_addr);
	close(a);
	close(b);
}

/*
 * Bind every ephemeral port of this type in a fresh netns (so that nothing
 * else holds one), then expect EADDRNOTAVAIL for bind(port 0), as fast as
 * a refusal of one port, and for autobind.
 */
TEST_F_TIMEOUT(common, ephemeral_exhaustion, 600)
{
	static unsigned char seen[EPH_COUNT];
	struct rlimit rl = { EPH_COUNT + 256, EPH_COUNT + 256 };
	int *fds, n = 0, i, fd, other, err = 0;
	double t0;
	long p;

	afx_watchdog(590);
	if (unshare(CLONE_NEWNET))
		SKIP(return, "unshare(CLONE_NEWNET): %s", strerror(errno));
	if (setrlimit(RLIMIT_NOFILE, &rl))
		SKIP(return, "setrlimit(NOFILE, %d): %s", EPH_COUNT + 256,
		     strerror(errno));
	fds = calloc(EPH_COUNT + 1, sizeof(*fds));
	ASSERT_NE(NULL, fds);

	t0 = afx_now_ms();
	for (;;) {
		fd = afx_socket(self->type);
		ASSERT_LE(0, fd) TH_LOG("socket #%d: %s", n, strerror(errno));
		if (afx_bind(fd, AFX_ADDR_ANY, 0)) {
			err = errno;
			close(fd);
			break;
		}
		p = afx_local_port(fd);
		ASSERT_TRUE(check_eph(p)) TH_LOG("port %ld", p);
		ASSERT_EQ(0, seen[p - EPH_LO]) TH_LOG("port %ld twice", p);
		seen[p - EPH_LO] = 1;
		fds[n++] = fd;
		if (n > EPH_COUNT)
			break;
	}
	TH_LOG("bound %d ephemeral ports in %.0f ms", n, afx_now_ms() - t0);
	EXPECT_EQ(EPH_COUNT, n);
	EXPECT_EQ(EADDRNOTAVAIL, err) TH_LOG("got %s", strerror(err));

	/*
	 * and fast: no slower than a bind() that one bucket lookup refuses
	 * (the search reads a bitmap of the ports in use, not the tables)
	 */
	fd = afx_socket(self->type);
	ASSERT_LE(0, fd);
	{
		double full = 1e9, inuse = 1e9, t;

		for (i = 0; i < 200; i++) {
			t = afx_now_ms();
			ASSERT_EQ(-1, afx_bind(fd, AFX_ADDR_ANY, 0));
			t = afx_now_ms() - t;
			full = t < full ? t : full;
			t = afx_now_ms();
			ASSERT_EQ(-1, afx_bind(fd, AFX_ADDR_ANY, EPH_LO));
			t = afx_now_ms() - t;
			inuse = t < inuse ? t : inuse;
		}
		TH_LOG("bind(0) refused in %.1f us, bind(port in use) in %.1f us",
		       full * 1e3, inuse * 1e3);
		EXPECT_LT(full, 5 * inuse);
	}
	close(fd);

	/* autobind fails the same way */
	fd = afx_socket(self->type);
	ASSERT_LE(0, fd);
	errno = 0;
	if (self->type == SOCK_STREAM) {
		EXPECT_EQ(-1, listen(fd, 1));
	} else {
		EXPECT_EQ(-1, afx_connect(fd, AFX_ADDR_LOCAL, PORT_OUTSIDE));
	}
	EXPECT_EQ(EADDRNOTAVAIL, errno) TH_LOG("autobind: %s", strerror(errno));
	close(fd);

	/* explicit ports outside the range still work */
	fd = afx_socket(self->type);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, afx_bind(fd, AFX_ADDR_ANY, PORT_OUTSIDE));
	close(fd);

	/* the other type has its own ephemeral space */
	other = afx_socket(self->type == SOCK_STREAM ? SOCK_DGRAM : SOCK_STREAM);
	ASSERT_LE(0, other);
	EXPECT_EQ(0, afx_bind(other, AFX_ADDR_ANY, 0));
	EXPECT_TRUE(check_eph(afx_local_port(other)));
	close(other);

	/* free one port: port 0 gets exactly that one */
	if (n > 100) {
		p = afx_local_port(fds[100]);
		close(fds[100]);
		fds[100] = -1;
		fd = afx_socket(self->type);
		ASSERT_LE(0, fd);
		EXPECT_EQ(0, afx_bind(fd, AFX_ADDR_ANY, 0))
			TH_LOG("%s", strerror(errno));
		EXPECT_EQ(p, afx_local_port(fd));
		close(fd);
	}

	t0 = afx_now_ms();
	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	TH_LOG("closed them in %.0f ms", afx_now_ms() - t0);
}

/* ---------------------------------------------------------------- autobind */

TEST_F(common, autobind)
{
	struct sockaddr_x sx;
	int tgt, fd, fd2;
	long p;

	tgt = afx_target(self->type, AFX_ADDR_ANY, self->port_a);
	ASSERT_LE(0, tgt);

	/* unbound: {AF_X, 0, 0} */
	fd = afx_socket(self->type);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, afx_getsockname(fd, &sx));
	EXPECT_EQ(afx_family(), sx.sx_family);
	EXPECT_EQ(0, sx.sx_reserved1);
	EXPECT_EQ(0U, sx.sx_port);
	EXPECT_EQ(0U, sx.sx_addr);
	EXPECT_EQ(0, sx.sx_zero[0] | sx.sx_zero[1] | sx.sx_zero[2] |
		  sx.sx_zero[3]);

	/* connect() autobinds, addr ANY */
	ASSERT_EQ(0, afx_connect(fd, AFX_ADDR_LOCAL, self->port_a))
		TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, afx_getsockname(fd, &sx));
	EXPECT_TRUE(check_eph(sx.sx_port)) TH_LOG("port %u", sx.sx_port);
	EXPECT_EQ(AFX_ADDR_ANY, sx.sx_addr);
	close(fd);

	if (self->type == SOCK_DGRAM) {
		/* sendto() autobinds */
		fd = afx_socket(SOCK_DGRAM);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, afx_reach(fd, SOCK_DGRAM, AFX_ADDR_LOCAL, self->port_a));
		ASSERT_EQ(0, afx_getsockname(fd, &sx));
		EXPECT_TRUE(check_eph(sx.sx_port));
		EXPECT_EQ(AFX_ADDR_ANY, sx.sx_addr);
		p = sx.sx_port;
		/* a second sendto keeps the port */
		ASSERT_EQ(0, afx_reach(fd, SOCK_DGRAM, AFX_ADDR_LOCAL, self->port_a));
		EXPECT_EQ(p, afx_local_port(fd));
		close(fd);
		/* connect() to a port nobody bound still autobinds */
		fd = afx_socket(SOCK_DGRAM);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, afx_connect(fd, AFX_ADDR_LOCAL, self->port_b));
		EXPECT_TRUE(check_eph(afx_local_port(fd)));
		close(fd);
	} else {
		/* listen() autobinds */
		fd = afx_socket(SOCK_STREAM);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, listen(fd, 1));
		ASSERT_EQ(0, afx_getsockname(fd, &sx));
		EXPECT_TRUE(check_eph(sx.sx_port));
		EXPECT_EQ(AFX_ADDR_ANY, sx.sx_addr);
		/* and that port can be connected to */
		fd2 = afx_socket(SOCK_STREAM);
		ASSERT_LE(0, fd2);
		EXPECT_EQ(0, afx_connect(fd2, AFX_ADDR_LOCAL, sx.sx_port));
		close(fd2);
		close(fd);
	}
	close(tgt);
}

AFX_TEST_MAIN
