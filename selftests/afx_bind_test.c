// SPDX-License-Identifier: GPL-2.0
/*
 * afx_bind_test.c - bind(): addresses, EINVAL, EADDRINUSE,
 * SO_REUSEADDR on streams, separate port spaces, privileged ports.
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

#define PORT_LOW	1023U	/* the highest privileged port */
/* A bad user pointer: the first page is never mapped. */
#define BAD_PTR		((void *)8)

/* ------------------------------------------------------------------ bind() */

TEST_F(common, bind_addresses)
{
	static const uint32_t bad[] = {
		AFX_ADDR_BROADCAST, 2, 0x7f000001, 0x80000000, 0xfffffffe,
	};
	struct sockaddr_x sx;
	unsigned int i;
	int fd;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fd = afx_socket(self->type);
		ASSERT_LE(0, fd);
		errno = 0;
		EXPECT_EQ(-1, afx_bind(fd, bad[i], self->port_a))
			TH_LOG("bind to addr %#x", bad[i]);
		EXPECT_EQ(EADDRNOTAVAIL, errno) TH_LOG("addr %#x", bad[i]);
		/* still unbound, a good bind works afterwards */
		EXPECT_EQ(0, afx_bind(fd, AFX_ADDR_ANY, self->port_a));
		close(fd);
	}

	/* ANY and LOCAL are accepted and reported back as given */
	fd = afx_socket(self->type);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, afx_bind(fd, AFX_ADDR_LOCAL, self->port_a));
	ASSERT_EQ(0, afx_getsockname(fd, &sx));
	EXPECT_EQ(afx_family(), sx.sx_family);
	EXPECT_EQ(0, sx.sx_reserved1);
	EXPECT_EQ(self->port_a, sx.sx_port);
	EXPECT_EQ(AFX_ADDR_LOCAL, sx.sx_addr);
	EXPECT_EQ(0, sx.sx_zero[0] | sx.sx_zero[1] | sx.sx_zero[2] |
		  sx.sx_zero[3]);
	close(fd);

	fd = afx_socket(self->type);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, afx_bind(fd, AFX_ADDR_ANY, self->port_a));
	ASSERT_EQ(0, afx_getsockname(fd, &sx));
	EXPECT_EQ(self->port_a, sx.sx_port);
	EXPECT_EQ(AFX_ADDR_ANY, sx.sx_addr);
	close(fd);
}

TEST_F(common, bind_twice)
{
	int fd = afx_socket(self->type);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, afx_bind(fd, AFX_ADDR_ANY, self->port_a));
	errno = 0;
	EXPECT_EQ(-1, afx_bind(fd, AFX_ADDR_ANY, self->port_b));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, afx_bind(fd, AFX_ADDR_ANY, 0));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, afx_bind(fd, AFX_ADDR_ANY, self->port_a));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(self->port_a, afx_local_port(fd));
	close(fd);

	/* an autobound socket is bound too */
	fd = afx_socket(self->type);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, afx_bind(fd, AFX_ADDR_ANY, 0));
	errno = 0;
	EXPECT_EQ(-1, afx_bind(fd, AFX_ADDR_ANY, self->port_b));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
}

TEST_F(common, bind_addrinuse)
{
	static const uint32_t addrs[][2] = {
		{ AFX_ADDR_ANY, AFX_ADDR_ANY },
		{ AFX_ADDR_LOCAL, AFX_ADDR_LOCAL },
		{ AFX_ADDR_ANY, AFX_ADDR_LOCAL },
		{ AFX_ADDR_LOCAL, AFX_ADDR_ANY },
	};
	unsigned int i;
	int a, b;

	for (i = 0; i < 4; i++) {
		a = afx_socket(self->type);
		b = afx_socket(self->type);
		ASSERT_LE(0, a);
		ASSERT_LE(0, b);
		ASSERT_EQ(0, afx_bind(a, addrs[i][0], self->port_a));
		errno = 0;
		EXPECT_EQ(-1, afx_bind(b, addrs[i][1], self->port_a))
			TH_LOG("addr %#x then %#x", addrs[i][0], addrs[i][1]);
		EXPECT_EQ(EADDRINUSE, errno)
			TH_LOG("addr %#x then %#x", addrs[i][0], addrs[i][1]);
		/* b is still unbound: another port works */
		EXPECT_EQ(0, afx_bind(b, addrs[i][1], self->port_b));
		close(a);
		close(b);
	}

	/* the port is free again once the owner is closed */
	a = afx_socket(self->type);
	ASSERT_LE(0, a);
	ASSERT_EQ(0, afx_bind(a, AFX_ADDR_ANY, self->port_a));
	close(a);
	a = afx_socket(self->type);
	ASSERT_LE(0, a);
	EXPECT_EQ(0, afx_bind(a, AFX_ADDR_LOCAL, self->port_a));
	close(a);

	/* an ephemeral port in use cannot be bound explicitly either */
	a = afx_socket(self->type);
	b = afx_socket(self->type);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	ASSERT_EQ(0, afx_bind(a, AFX_ADDR_ANY, 0));
	errno = 0;
	EXPECT_EQ(-1, afx_bind(b, AFX_ADDR_LOCAL, afx_local_port(a)));
	EXPECT_EQ(EADDRINUSE, errno);
	close(a);
	close(b);
}

/* Datagram SO_REUSEADDR sharing is in afx_broadcast_test. */
TEST(stream_bind_reuseaddr_no_effect)
{
	uint32_t port_a = afx_free_port(0);
	int a, b;

	afx_watchdog(WATCHDOG_SEC);
	a = afx_socket(SOCK_STREAM);
	AFX_SKIP_IF_NO_AFX(a);
	b = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	ASSERT_EQ(0, afx_set_int(a, SOL_SOCKET, SO_REUSEADDR, 1));
	ASSERT_EQ(0, afx_set_int(b, SOL_SOCKET, SO_REUSEADDR, 1));
	ASSERT_EQ(0, afx_bind(a, AFX_ADDR_ANY, port_a));
	errno = 0;
	EXPECT_EQ(-1, afx_bind(b, AFX_ADDR_ANY, port_a));
	EXPECT_EQ(EADDRINUSE, errno);
	close(a);
	close(b);
}

TEST(bind_type_spaces_separate)
{
	uint32_t port_c = afx_free_port(0);
	uint32_t port_d = afx_free_port(0);
	int s, d, s2, d2;

	afx_watchdog(WATCHDOG_SEC);
	s = afx_socket(SOCK_STREAM);
	AFX_SKIP_IF_NO_AFX(s);
	d = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, s);
	ASSERT_LE(0, d);
	ASSERT_EQ(0, afx_bind(s, AFX_ADDR_ANY, port_c));
	EXPECT_EQ(0, afx_bind(d, AFX_ADDR_ANY, port_c));
	/* and LOCAL of the other type too */
	s2 = afx_socket(SOCK_STREAM);
	d2 = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, s2);
	ASSERT_LE(0, d2);
	ASSERT_EQ(0, afx_bind(d2, AFX_ADDR_LOCAL, port_d));
	EXPECT_EQ(0, afx_bind(s2, AFX_ADDR_LOCAL, port_d));
	close(s);
	close(d);
	close(s2);
	close(d2);
}

/* Drop CAP_NET_BIND_SERVICE from every set of this process. */
static int drop_bind_cap(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
		.pid = 0,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -1;
	data[0].effective &= ~(1U << CAP_NET_BIND_SERVICE);
	data[0].permitted &= ~(1U << CAP_NET_BIND_SERVICE);
	data[0].inheritable &= ~(1U << CAP_NET_BIND_SERVICE);
	return (int)syscall(SYS_capset, &hdr, data);
}

static int have_bind_cap(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
		.pid = 0,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return 0;
	return !!(data[0].effective & (1U << CAP_NET_BIND_SERVICE));
}

TEST_F(common, bind_privileged_port)
{
	int fd;

	if (!have_bind_cap())
		SKIP(return, "needs CAP_NET_BIND_SERVICE to start with");

	/* with the capability: ports 1 and 1023 */
	fd = afx_socket(self->type);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, afx_bind(fd, AFX_ADDR_ANY, 1)) TH_LOG("%s", strerror(errno));
	close(fd);
	fd = afx_socket(self->type);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, afx_bind(fd, AFX_ADDR_LOCAL, PORT_LOW))
		TH_LOG("%s", strerror(errno));
	close(fd);

	/* this test process is disposable: drop the capability here */
	ASSERT_EQ(0, drop_bind_cap()) TH_LOG("capset: %s", strerror(errno));
	ASSERT_EQ(0, have_bind_cap());

	fd = afx_socket(self->type);
	ASSERT_LE(0, fd);
	errno = 0;
	EXPECT_EQ(-1, afx_bind(fd, AFX_ADDR_ANY, PORT_LOW));
	EXPECT_EQ(EACCES, errno);
	errno = 0;
	EXPECT_EQ(-1, afx_bind(fd, AFX_ADDR_LOCAL, 1));
	EXPECT_EQ(EACCES, errno);
	errno = 0;
	EXPECT_EQ(-1, afx_bind(fd, AFX_ADDR_ANY, 80));
	EXPECT_EQ(EACCES, errno);
	/* 1024 and up, and ephemeral ports, need nothing */
	EXPECT_EQ(0, afx_bind(fd, AFX_ADDR_ANY, 1024)) TH_LOG("%s", strerror(errno));
	close(fd);
	fd = afx_socket(self->type);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, afx_bind(fd, AFX_ADDR_ANY, 0));
	EXPECT_TRUE(afx_local_port(fd) >= AFX_EPH_MIN &&
		    afx_local_port(fd) <= AFX_EPH_MAX);
	close(fd);
}

/*
 * The capability counts in the user namespace that owns the netns: a
 * child in a new user namespace has every capability there, but not in the
 * initial one, which owns the initial netns; with a netns of its own
 * (owned by its new user namespace) it may bind privileged ports again.
 * Exit code: 0 ok, 100 unshare failed, else the failing step.
 */
static int userns_child(int type, int with_netns)
{
	int fd;

	if (unshare(CLONE_NEWUSER | (with_netns ? CLONE_NEWNET : 0)))
		return 100;
	if (!have_bind_cap())
		return 2;	/* full capabilities in the new userns */
	fd = afx_socket(type);
	if (fd < 0)
		return 3;
	errno = 0;
	if (with_netns) {
		if (afx_bind(fd, AFX_ADDR_ANY, PORT_LOW))
			return 4;
	} else {
		if (afx_bind(fd, AFX_ADDR_ANY, PORT_LOW) == 0)
			return 5;
		if (errno != EACCES)
			return 6;
		if (afx_bind(fd, AFX_ADDR_ANY, 1024))
			return 7;
	}
	close(fd);
	return 0;
}

TEST_F(common, bind_privileged_port_userns)
{
	int with_netns, rc;
	pid_t pid;

	for (with_netns = 0; with_netns < 2; with_netns++) {
		pid = afx_child_fork(0);
		ASSERT_LE(0, pid);
		if (pid == 0)
			_exit(userns_child(self->type, with_netns));
		rc = afx_wait_child(pid);
		if (rc == 100)
			SKIP(return, "unshare(CLONE_NEWUSER%s) failed",
			     with_netns ? "|CLONE_NEWNET" : "");
		EXPECT_EQ(0, rc) TH_LOG("%s: child failed at step %d",
					with_netns ? "new userns+netns" :
						     "new userns, initial netns",
					rc);
	}
}

AFX_TEST_MAIN
