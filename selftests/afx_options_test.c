// SPDX-License-Identifier: GPL-2.0
/*
 * afx_options_test.c - the SOL_X options: X_NONBLOCK (and how it
 * combines with O_NONBLOCK), their errors.
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

/* ----------------------------------------------------------- SOL_X options */

TEST_F(common, solx_nonblock_option)
{
	int fd = afx_socket(self->type), v;
	socklen_t len;

	ASSERT_LE(0, fd);
	v = -1;
	len = sizeof(v);
	ASSERT_EQ(0, getsockopt(fd, SOL_X, X_NONBLOCK, &v, &len));
	EXPECT_EQ(0, v);
	EXPECT_EQ(sizeof(int), len);

	ASSERT_EQ(0, afx_set_int(fd, SOL_X, X_NONBLOCK, 1));
	ASSERT_EQ(0, afx_get_int(fd, SOL_X, X_NONBLOCK, &v));
	EXPECT_EQ(1, v);
	/* any nonzero value reads back as 1 */
	ASSERT_EQ(0, afx_set_int(fd, SOL_X, X_NONBLOCK, 0));
	ASSERT_EQ(0, afx_get_int(fd, SOL_X, X_NONBLOCK, &v));
	EXPECT_EQ(0, v);
	ASSERT_EQ(0, afx_set_int(fd, SOL_X, X_NONBLOCK, 42));
	ASSERT_EQ(0, afx_get_int(fd, SOL_X, X_NONBLOCK, &v));
	EXPECT_EQ(1, v);
	ASSERT_EQ(0, afx_set_int(fd, SOL_X, X_NONBLOCK, -1));
	ASSERT_EQ(0, afx_get_int(fd, SOL_X, X_NONBLOCK, &v));
	EXPECT_EQ(1, v);

	/* a larger getsockopt buffer: optlen comes back as sizeof(int) */
	{
		int big[2] = { -1, -1 };

		len = sizeof(big);
		ASSERT_EQ(0, getsockopt(fd, SOL_X, X_NONBLOCK, big, &len));
		EXPECT_EQ(sizeof(int), len);
		EXPECT_EQ(1, big[0]);
	}
	/* a larger setsockopt buffer is fine too */
	{
		long long big = 0;

		EXPECT_EQ(0, setsockopt(fd, SOL_X, X_NONBLOCK, &big,
					sizeof(big)));
		ASSERT_EQ(0, afx_get_int(fd, SOL_X, X_NONBLOCK, &v));
		EXPECT_EQ(0, v);
	}
	/* X_NONBLOCK does not touch the file flags */
	ASSERT_EQ(0, afx_set_int(fd, SOL_X, X_NONBLOCK, 1));
	EXPECT_EQ(0, fcntl(fd, F_GETFL) & O_NONBLOCK);
	close(fd);
}

TEST_F(common, solx_errors)
{
	int fd = afx_socket(self->type), v = 1;
	short sv = 1;
	socklen_t len;

	ASSERT_LE(0, fd);

	/* short optlen */
	errno = 0;
	EXPECT_EQ(-1, setsockopt(fd, SOL_X, X_NONBLOCK, &sv, sizeof(sv)));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, setsockopt(fd, SOL_X, X_NONBLOCK, &v, 0));
	EXPECT_EQ(EINVAL, errno);
	len = sizeof(sv);
	errno = 0;
	EXPECT_EQ(-1, getsockopt(fd, SOL_X, X_NONBLOCK, &sv, &len));
	EXPECT_EQ(EINVAL, errno);
	len = 0;
	errno = 0;
	EXPECT_EQ(-1, getsockopt(fd, SOL_X, X_NONBLOCK, &v, &len));
	EXPECT_EQ(EINVAL, errno);

	/* unknown SOL_X options */
	errno = 0;
	EXPECT_EQ(-1, afx_set_int(fd, SOL_X, 0, 1));
	EXPECT_EQ(ENOPROTOOPT, errno);
	errno = 0;
	EXPECT_EQ(-1, afx_set_int(fd, SOL_X, 3, 1));
	EXPECT_EQ(ENOPROTOOPT, errno);
	errno = 0;
	EXPECT_EQ(-1, afx_get_int(fd, SOL_X, 3, &v));
	EXPECT_EQ(ENOPROTOOPT, errno);
	errno = 0;
	EXPECT_EQ(-1, afx_get_int(fd, SOL_X, 1000, &v));
	EXPECT_EQ(ENOPROTOOPT, errno);

	/* other levels */
	errno = 0;
	EXPECT_EQ(-1, afx_set_int(fd, 6 /* SOL_TCP */, X_NONBLOCK, 1));
	EXPECT_EQ(ENOPROTOOPT, errno);
	errno = 0;
	EXPECT_EQ(-1, afx_get_int(fd, 6, X_NONBLOCK, &v));
	EXPECT_EQ(ENOPROTOOPT, errno);
	errno = 0;
	EXPECT_EQ(-1, afx_set_int(fd, 0 /* SOL_IP */, 1, 1));
	EXPECT_EQ(ENOPROTOOPT, errno);
	errno = 0;
	EXPECT_EQ(-1, afx_get_int(fd, SOL_X + 1, X_NONBLOCK, &v));
	EXPECT_EQ(ENOPROTOOPT, errno);

	/* X_REFUSE_WHEN_FULL is a stream option */
	if (self->type == SOCK_DGRAM) {
		errno = 0;
		EXPECT_EQ(-1, afx_set_int(fd, SOL_X, X_REFUSE_WHEN_FULL, 1));
		EXPECT_EQ(ENOPROTOOPT, errno);
		errno = 0;
		EXPECT_EQ(-1, afx_get_int(fd, SOL_X, X_REFUSE_WHEN_FULL, &v));
		EXPECT_EQ(ENOPROTOOPT, errno);
	} else {
		v = -1;
		EXPECT_EQ(0, afx_get_int(fd, SOL_X, X_REFUSE_WHEN_FULL, &v));
		EXPECT_EQ(0, v);
		EXPECT_EQ(0, afx_set_int(fd, SOL_X, X_REFUSE_WHEN_FULL, 7));
		EXPECT_EQ(0, afx_get_int(fd, SOL_X, X_REFUSE_WHEN_FULL, &v));
		EXPECT_EQ(1, v);
	}

	/* bad pointers */
	errno = 0;
	EXPECT_EQ(-1, setsockopt(fd, SOL_X, X_NONBLOCK, BAD_PTR, sizeof(int)));
	EXPECT_EQ(EFAULT, errno);
	len = sizeof(int);
	errno = 0;
	EXPECT_EQ(-1, getsockopt(fd, SOL_X, X_NONBLOCK, BAD_PTR, &len));
	EXPECT_EQ(EFAULT, errno);
	errno = 0;
	EXPECT_EQ(-1, getsockopt(fd, SOL_X, X_NONBLOCK, &v, BAD_PTR));
	EXPECT_EQ(EFAULT, errno);
	close(fd);
}

TEST_F(common, solx_nonblock_behaviour)
{
	struct timeval tv = { 0, 200 * 1000 };
	int fd, peer = -1, fds[2];
	double t0, dt;
	char c;

	if (self->type == SOCK_STREAM) {
		ASSERT_EQ(0, afx_stream_pair(fds));
		fd = fds[0];
		peer = fds[1];
	} else {
		fd = afx_socket(SOCK_DGRAM);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, afx_bind(fd, AFX_ADDR_ANY, 0));
	}
	ASSERT_EQ(0, fcntl(fd, F_GETFL) & O_NONBLOCK);
	ASSERT_EQ(0, afx_set_int(fd, SOL_X, X_NONBLOCK, 1));
	ASSERT_EQ(0, fcntl(fd, F_GETFL) & O_NONBLOCK);

	/* nothing queued: EAGAIN right away instead of blocking */
	errno = 0;
	EXPECT_EQ(-1, recv(fd, &c, 1, 0));
	EXPECT_EQ(EAGAIN, errno);
	errno = 0;
	EXPECT_EQ(-1, read(fd, &c, 1));
	EXPECT_EQ(EAGAIN, errno);
	errno = 0;
	EXPECT_EQ(-1, recvfrom(fd, &c, 1, 0, NULL, NULL));
	EXPECT_EQ(EAGAIN, errno);

	/* a dup()ed descriptor shares the socket, and the option */
	{
		int d = dup(fd);

		ASSERT_LE(0, d);
		errno = 0;
		EXPECT_EQ(-1, recv(d, &c, 1, 0));
		EXPECT_EQ(EAGAIN, errno);
		close(d);
	}

	/* switched off: recv blocks again (until SO_RCVTIMEO here) */
	ASSERT_EQ(0, afx_set_int(fd, SOL_X, X_NONBLOCK, 0));
	ASSERT_EQ(0, setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	t0 = afx_now_ms();
	errno = 0;
	EXPECT_EQ(-1, recv(fd, &c, 1, 0));
	dt = afx_now_ms() - t0;
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_LE(150, (int)dt) TH_LOG("returned after %.1f ms", dt);
	close(fd);
	if (peer >= 0)
		close(peer);
}

AFX_TEST_MAIN
