// SPDX-License-Identifier: GPL-2.0
/*
 * afx_splice_test.c - sendfile() and splice() into and out of AF_X stream
 * sockets.
 *
 * Documentation/afx.rst, "Data transfer". The kernel moves these bytes
 * through afx's sendmsg and recvmsg with kernel iterators: on 6.1 through
 * sock_no_sendpage() (kernel_sendmsg(), a kvec), from 6.5 on with
 * MSG_SPLICE_PAGES and a bvec, and out of a socket through the generic
 * splice_read. Each test moves a pattern through one of those ways and
 * checks every byte at the other end, on every kernel lane.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "afx_harness.h"

#define WATCHDOG_SEC	60
#define TOTAL		(1U << 20)	/* more than any socket buffer */
#define CHUNK		65536

/*
 * reader: a child that reads @len bytes from @fd, checks them against the
 * pattern and then expects EOF. Exit status 0 if all was well.
 */
static pid_t reader(int fd, size_t len)
{
	pid_t pid = afx_child_fork(WATCHDOG_SEC);
	static char buf[CHUNK];
	size_t got = 0;
	ssize_t n;

	if (pid)
		return pid;
	while (got < len) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			_exit(2);
		if (afx_check_pattern(buf, n, got) != (size_t)n)
			_exit(3);
		got += n;
	}
	n = recv(fd, buf, 1, 0);
	_exit(n == 0 ? 0 : 4);
}

/* A memfd holding @len bytes of the pattern. */
static int pattern_file(size_t len)
{
	static char buf[CHUNK];
	size_t off;
	int fd;

	fd = memfd_create("afx-splice", 0);
	if (fd < 0)
		return -1;
	for (off = 0; off < len; off += sizeof(buf)) {
		afx_fill_pattern(buf, sizeof(buf), off);
		if (write(fd, buf, sizeof(buf)) != sizeof(buf)) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

FIXTURE(sp)
{
	int fds[2];	/* [0] client, [1] accepted */
};

FIXTURE_SETUP(sp)
{
	afx_watchdog(WATCHDOG_SEC);
	ASSERT_EQ(0, afx_stream_pair(self->fds));
}

FIXTURE_TEARDOWN(sp)
{
	afx_close_all(self->fds, 2);
}

TEST_F(sp, sendfile_from_a_file_arrives_whole)
{
	int f = pattern_file(TOTAL);
	off_t off = 0;
	pid_t pid;

	ASSERT_LE(0, f);
	pid = reader(self->fds[1], TOTAL);
	ASSERT_LE(0, pid);
	while (off < (off_t)TOTAL) {
		ssize_t n = sendfile(self->fds[0], f, &off, TOTAL - off);

		ASSERT_LT(0, n);
	}
	EXPECT_EQ(TOTAL, off);
	ASSERT_EQ(0, shutdown(self->fds[0], SHUT_WR));
	EXPECT_EQ(0, afx_wait_child(pid));
	close(f);
}

TEST_F(sp, splice_from_a_pipe_arrives_whole)
{
	static char buf[CHUNK];
	size_t off = 0;
	int p[2];
	pid_t pid;

	ASSERT_EQ(0, pipe(p));
	pid = reader(self->fds[1], TOTAL);
	ASSERT_LE(0, pid);
	while (off < TOTAL) {
		ssize_t left = sizeof(buf), n;

		afx_fill_pattern(buf, sizeof(buf), off);
		ASSERT_EQ(sizeof(buf), write(p[1], buf, sizeof(buf)));
		while (left > 0) {
			n = splice(p[0], NULL, self->fds[0], NULL, left, 0);
			ASSERT_LT(0, n);
			left -= n;
		}
		off += sizeof(buf);
	}
	ASSERT_EQ(0, shutdown(self->fds[0], SHUT_WR));
	EXPECT_EQ(0, afx_wait_child(pid));
	close(p[0]);
	close(p[1]);
}

TEST_F(sp, splice_to_a_pipe_keeps_order_and_ends_at_eof)
{
	static char buf[CHUNK];
	size_t got = 0;
	int p[2];
	pid_t pid;
	ssize_t n, r;

	ASSERT_EQ(0, pipe(p));
	pid = afx_child_fork(WATCHDOG_SEC);
	ASSERT_LE(0, pid);
	if (pid == 0) {
		size_t off;

		for (off = 0; off < TOTAL; off += sizeof(buf)) {
			afx_fill_pattern(buf, sizeof(buf), off);
			if (afx_send_all(self->fds[0], buf, sizeof(buf)))
				_exit(2);
		}
		_exit(shutdown(self->fds[0], SHUT_WR) ? 3 : 0);
	}
	for (;;) {
		n = splice(self->fds[1], NULL, p[1], NULL, sizeof(buf), 0);
		ASSERT_LE(0, n);
		if (n == 0)
			break;
		r = read(p[0], buf, n);
		if (r != n)
			TH_LOG("read of %zd from the pipe: %zd (%s), %zu bytes so far",
			       n, r, strerror(errno), got);
		ASSERT_EQ(n, r);
		ASSERT_EQ((size_t)n, afx_check_pattern(buf, n, got));
		got += n;
	}
	EXPECT_EQ(TOTAL, got);
	EXPECT_EQ(0, afx_wait_child(pid));
	close(p[0]);
	close(p[1]);
}

/* A full socket: nonblocking sendfile() and splice() say EAGAIN. */
TEST_F(sp, nonblocking_sendfile_and_splice_eagain_when_full)
{
	int f = pattern_file(CHUNK), p[2];
	off_t off = 0;

	ASSERT_LE(0, f);
	ASSERT_EQ(0, pipe(p));
	ASSERT_EQ(0, afx_set_nonblock(self->fds[0], 1));
	ASSERT_LT(0, afx_fill(self->fds[0], 4096));
	EXPECT_EQ(-1, sendfile(self->fds[0], f, &off, CHUNK));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(0, off);
	ASSERT_EQ(1, write(p[1], "x", 1));
	EXPECT_EQ(-1, splice(p[0], NULL, self->fds[0], NULL, 1,
			     SPLICE_F_NONBLOCK));
	EXPECT_EQ(EAGAIN, errno);
	close(p[0]);
	close(p[1]);
	close(f);
}

AFX_TEST_MAIN
