// SPDX-License-Identifier: GPL-2.0
/*
 * afx_sysctl_test.c - the net.afx sysctls: the ephemeral
 * port range and dgram_max, per network namespace.
 *
 * Documentation/afx-introspection.rst. Ports come from ephemeral binds
 * (afx_free_port()), so that what a test looks for is its own.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "afx_harness.h"
#include "afx_introspect.h"

#define WATCHDOG_SEC	60

/* ---- sysctls ------------------------------------------------------------- */

TEST(sysctl_port_range)
{
	static const char *const bad[] = {
		"1023 2000", "2000 1999", "1024 65536", "0 0", "-5 100",
		"50000 70000", "abc",
	};
	int lo, hi, fd1, fd2, fd3;
	size_t i;

	afx_watchdog(WATCHDOG_SEC);
	if (unshare(CLONE_NEWNET))
		SKIP(return, "unshare(CLONE_NEWNET): %s", strerror(errno));
	ASSERT_EQ(0, sysctl_range(&lo, &hi));
	EXPECT_EQ(49152, lo);
	EXPECT_EQ(65535, hi);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(EINVAL, sysctl_write(SYSCTL_RANGE, bad[i]))
			TH_LOG("writing '%s'", bad[i]);
		ASSERT_EQ(0, sysctl_range(&lo, &hi));
		EXPECT_EQ(49152, lo) TH_LOG("after '%s'", bad[i]);
		EXPECT_EQ(65535, hi) TH_LOG("after '%s'", bad[i]);
	}

	/* A one-port range: the second ephemeral bind finds none. */
	ASSERT_EQ(0, sysctl_write(SYSCTL_RANGE, "50000 50000"));
	ASSERT_EQ(0, sysctl_range(&lo, &hi));
	EXPECT_EQ(50000, lo);
	EXPECT_EQ(50000, hi);
	fd1 = afx_socket(SOCK_DGRAM);
	fd2 = afx_socket(SOCK_DGRAM);
	fd3 = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, fd1);
	ASSERT_LE(0, fd2);
	ASSERT_LE(0, fd3);
	ASSERT_EQ(0, afx_bind(fd1, AFX_ADDR_ANY, 0));
	EXPECT_EQ(50000, afx_local_port(fd1));
	EXPECT_EQ(-1, afx_bind(fd2, AFX_ADDR_ANY, 0));
	EXPECT_EQ(EADDRNOTAVAIL, errno);
	/* Stream ports are a space of their own. */
	ASSERT_EQ(0, afx_bind(fd3, AFX_ADDR_ANY, 0));
	EXPECT_EQ(50000, afx_local_port(fd3));

	/* Writing lo alone above hi is refused too. */
	EXPECT_EQ(EINVAL, sysctl_write(SYSCTL_RANGE, "50001"));
	ASSERT_EQ(0, sysctl_write(SYSCTL_RANGE, "1024 65535"));
	ASSERT_EQ(0, sysctl_range(&lo, &hi));
	EXPECT_EQ(1024, lo);
	EXPECT_EQ(65535, hi);
	ASSERT_EQ(0, afx_bind(fd2, AFX_ADDR_ANY, 0));
	EXPECT_LE(1024, afx_local_port(fd2));
}

TEST(sysctl_dgram_max)
{
	uint32_t port_dgram = afx_free_port(0);
	static const char *const bad[] = { "0", "65537", "-1", "x", "4294967296" };
	int a, b, v;
	size_t i;
	char buf[200];

	afx_watchdog(WATCHDOG_SEC);
	if (unshare(CLONE_NEWNET))
		SKIP(return, "unshare(CLONE_NEWNET): %s", strerror(errno));
	ASSERT_EQ(0, afx_read_sysctl_int(SYSCTL_DGRAM, &v));
	EXPECT_EQ(65536, v);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(EINVAL, sysctl_write(SYSCTL_DGRAM, bad[i]))
			TH_LOG("writing '%s'", bad[i]);
		ASSERT_EQ(0, afx_read_sysctl_int(SYSCTL_DGRAM, &v));
		EXPECT_EQ(65536, v);
	}

	ASSERT_EQ(0, sysctl_write(SYSCTL_DGRAM, "100"));
	a = afx_socket(SOCK_DGRAM);
	b = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	ASSERT_EQ(0, afx_bind(b, AFX_ADDR_ANY, port_dgram));
	ASSERT_EQ(0, afx_connect_port(a, port_dgram));
	memset(buf, 'm', sizeof(buf));
	EXPECT_EQ(100, send(a, buf, 100, 0));
	EXPECT_EQ(-1, send(a, buf, 101, 0));
	EXPECT_EQ(EMSGSIZE, errno);
	ASSERT_EQ(0, sysctl_write(SYSCTL_DGRAM, "65536"));
	EXPECT_EQ(101, send(a, buf, 101, 0));
}

/* Each namespace has its own values; a child's changes stay there. */
TEST(sysctl_per_netns)
{
	int lo, hi, lo2, hi2, v, v2, status;
	pid_t pid;

	afx_watchdog(WATCHDOG_SEC);
	ASSERT_EQ(0, sysctl_range(&lo, &hi));
	ASSERT_EQ(0, afx_read_sysctl_int(SYSCTL_DGRAM, &v));
	pid = afx_child_fork(0);
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (unshare(CLONE_NEWNET))
			_exit(4);
		if (sysctl_write(SYSCTL_RANGE, "40000 40010") ||
		    sysctl_write(SYSCTL_DGRAM, "1000"))
			_exit(10);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	if (WEXITSTATUS(status) == 4)
		SKIP(return, "unshare(CLONE_NEWNET) failed");
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(0, sysctl_range(&lo2, &hi2));
	ASSERT_EQ(0, afx_read_sysctl_int(SYSCTL_DGRAM, &v2));
	EXPECT_EQ(lo, lo2);
	EXPECT_EQ(hi, hi2);
	EXPECT_EQ(v, v2);
}

/* ---- afx-ss ------------------------------------------------------------------ */

AFX_TEST_MAIN
