// SPDX-License-Identifier: GPL-2.0
/*
 * afx_stream_direct_test.c - direct copies: a large write lands in the
 * memory of a reader already waiting in recv(), copied once.
 *
 * Documentation/afx.rst, "Stream semantics" (what a reader sees is the
 * same either way) and DOC: Stream buffer in module/sbuf.c (when a copy
 * goes direct). The bytes_direct counter of /proc/net/afx_stat tells
 * which way bytes went; every test checks the bytes themselves too.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "afx_harness.h"
#include "afx_introspect.h"
#include "afx_fixture_pair.h"

#define KIB	1024u
#define BIG	(64u * KIB)	/* large enough to go direct */

static unsigned long long direct_bytes(void)
{
	unsigned long long v[NSTATS];

	if (stats_read(v))
		return ~0ull;
	return v[S_BDIRECT];
}

/* A large write the reader reads from the ring: the writer writes large. */
static int prime(int w, int r, unsigned char *buf, uint64_t *off)
{
	afx_fill_pattern(buf, BIG, *off);
	if (afx_send_all(w, buf, BIG) || afx_recv_all(r, buf, BIG) ||
	    afx_check_pattern(buf, BIG, *off) != BIG)
		return -1;
	*off += BIG;
	return 0;
}

/* Start a recv() of len bytes into buf on fd and wait until it sleeps. */
static int start_recv(struct afx_call *c, int fd, void *buf, size_t len,
		      int flags)
{
	memset(c, 0, sizeof(*c));
	c->kind = AFX_CALL_RECV;
	c->fd = fd;
	c->buf = buf;
	c->len = len;
	c->flags = flags;
	if (afx_call_start(c))
		return -1;
	return afx_call_blocked(c);
}

/*
 * Send n pattern bytes from stream offset off to the reader of call c and
 * collect the call's result. 0, or -1 if the send or the call failed.
 */
static int send_to_waiting(struct afx_call *c, int fd, unsigned char *wbuf,
			   size_t n, uint64_t off)
{
	afx_fill_pattern(wbuf, n, off);
	if (send(fd, wbuf, n, 0) != (ssize_t)n ||
	    afx_call_done(c, AFX_DONE_WAIT_MS) != 1)
		return -1;
	afx_call_join(c);
	return 0;
}

/* A waiting reader gets a large write straight into its buffer, intact. */
TEST_F(pair, large_write_lands_in_waiting_reader)
{
	static unsigned char wbuf[BIG], rbuf[BIG];
	unsigned long long before;
	struct afx_call c;
	uint64_t off = 0;

	ASSERT_EQ(0, prime(self->c, self->a, wbuf, &off));
	before = direct_bytes();
	ASSERT_EQ(0, start_recv(&c, self->a, rbuf, sizeof(rbuf), 0));
	ASSERT_EQ(0, send_to_waiting(&c, self->c, wbuf, BIG, off));
	ASSERT_EQ(BIG, c.ret) TH_LOG("recv: %s", strerror(c.err));
	EXPECT_EQ(BIG, afx_check_pattern(rbuf, BIG, off));
	EXPECT_EQ(before + BIG, direct_bytes());
}

/* Small writes go through the ring even to a waiting reader. */
TEST_F(pair, small_writes_never_go_direct)
{
	static unsigned char wbuf[BIG], rbuf[BIG];
	unsigned long long before;
	struct afx_call c;
	uint64_t off = 0;

	before = direct_bytes();
	ASSERT_EQ(0, start_recv(&c, self->a, rbuf, sizeof(rbuf), 0));
	ASSERT_EQ(0, send_to_waiting(&c, self->c, wbuf, 1000, off));
	ASSERT_EQ(1000, c.ret);
	EXPECT_EQ(1000, afx_check_pattern(rbuf, 1000, off));
	EXPECT_EQ(before, direct_bytes());
}

/*
 * A reader posts no more than the last write: a short write fills part of
 * what it posted and the reader returns with that (no MSG_WAITALL).
 */
TEST_F(pair, short_write_returns_what_came)
{
	static unsigned char wbuf[BIG], rbuf[4 * BIG];
	unsigned long long before;
	struct afx_call c;
	uint64_t off = 0;

	ASSERT_EQ(0, prime(self->c, self->a, wbuf, &off));
	before = direct_bytes();
	ASSERT_EQ(0, start_recv(&c, self->a, rbuf, sizeof(rbuf), 0));
	ASSERT_EQ(0, send_to_waiting(&c, self->c, wbuf, 20 * KIB, off));
	ASSERT_EQ(20 * KIB, c.ret);
	EXPECT_EQ(20 * KIB, afx_check_pattern(rbuf, 20 * KIB, off));
	EXPECT_EQ(before + 20 * KIB, direct_bytes());
}

/*
 * MSG_WAITALL over several writes, some direct and some through the
 * ring: every byte once, in order.
 */
TEST_F(pair, waitall_across_direct_and_ring)
{
	static unsigned char wbuf[100 * KIB], rbuf[1024 * KIB];
	unsigned long long before;
	struct afx_call c;
	uint64_t off = 0, sent;
	size_t n;

	ASSERT_EQ(0, prime(self->c, self->a, wbuf, &off));
	before = direct_bytes();
	ASSERT_EQ(0, start_recv(&c, self->a, rbuf, sizeof(rbuf), MSG_WAITALL));
	for (sent = 0; sent < sizeof(rbuf); sent += n) {
		n = sizeof(rbuf) - sent < sizeof(wbuf) ? sizeof(rbuf) - sent :
							 sizeof(wbuf);
		afx_fill_pattern(wbuf, n, off + sent);
		ASSERT_EQ(0, afx_send_all(self->c, wbuf, n));
	}
	ASSERT_EQ(1, afx_call_done(&c, AFX_DONE_WAIT_MS));
	afx_call_join(&c);
	ASSERT_EQ(sizeof(rbuf), c.ret) TH_LOG("recv: %s", strerror(c.err));
	EXPECT_EQ(sizeof(rbuf), afx_check_pattern(rbuf, sizeof(rbuf), off));
	EXPECT_LT(before, direct_bytes());
}

/* SO_RCVTIMEO ends a wait with posted memory; the next write is kept. */
TEST_F(pair, timeout_takes_the_posted_buffer_back)
{
	static unsigned char wbuf[BIG], rbuf[BIG];
	struct timeval tv = { .tv_usec = 100 * 1000 };
	unsigned long long before;
	uint64_t off = 0;

	ASSERT_EQ(0, prime(self->c, self->a, wbuf, &off));
	ASSERT_EQ(0, setsockopt(self->a, SOL_SOCKET, SO_RCVTIMEO, &tv,
				sizeof(tv)));
	before = direct_bytes();
	EXPECT_EQ(-1, recv(self->a, rbuf, sizeof(rbuf), 0));
	EXPECT_EQ(EAGAIN, errno);
	afx_fill_pattern(wbuf, BIG, off);
	ASSERT_EQ(BIG, send(self->c, wbuf, BIG, 0));
	ASSERT_EQ(0, afx_recv_all(self->a, rbuf, BIG));
	EXPECT_EQ(BIG, afx_check_pattern(rbuf, BIG, off));
	EXPECT_EQ(before, direct_bytes());
}

/* A signal ends a wait with posted memory; nothing is lost. */
TEST_F(pair, signal_takes_the_posted_buffer_back)
{
	static unsigned char wbuf[BIG], rbuf[BIG];
	struct afx_call c;
	uint64_t off = 0;

	ASSERT_EQ(0, afx_catch_signal(SIGUSR1, 0));
	ASSERT_EQ(0, prime(self->c, self->a, wbuf, &off));
	ASSERT_EQ(0, start_recv(&c, self->a, rbuf, sizeof(rbuf), 0));
	ASSERT_EQ(0, afx_call_signal(&c, SIGUSR1));
	ASSERT_EQ(1, afx_call_done(&c, AFX_DONE_WAIT_MS));
	afx_call_join(&c);
	EXPECT_EQ(-1, c.ret);
	EXPECT_EQ(EINTR, c.err);
	afx_fill_pattern(wbuf, BIG, off);
	ASSERT_EQ(BIG, send(self->c, wbuf, BIG, 0));
	ASSERT_EQ(0, afx_recv_all(self->a, rbuf, BIG));
	EXPECT_EQ(BIG, afx_check_pattern(rbuf, BIG, off));
}

/*
 * A buffer the reader cannot write is not posted: recv() fails with
 * EFAULT and the bytes stay queued for the next one.
 */
TEST_F(pair, read_only_buffer_efault_keeps_the_bytes)
{
	static unsigned char wbuf[BIG], rbuf[BIG];
	unsigned long long before;
	struct afx_call c;
	uint64_t off = 0;
	void *ro;

	ro = mmap(NULL, BIG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	ASSERT_EQ(0, prime(self->c, self->a, wbuf, &off));
	before = direct_bytes();
	ASSERT_EQ(0, start_recv(&c, self->a, ro, BIG, 0));
	ASSERT_EQ(0, send_to_waiting(&c, self->c, wbuf, BIG, off));
	EXPECT_EQ(-1, c.ret);
	EXPECT_EQ(EFAULT, c.err);
	ASSERT_EQ(0, afx_recv_all(self->a, rbuf, BIG));
	EXPECT_EQ(BIG, afx_check_pattern(rbuf, BIG, off));
	EXPECT_EQ(before, direct_bytes());
	munmap(ro, BIG);
}

/*
 * The reader's buffer is a shared file mapping: the bytes written direct
 * reach the file (the pages are marked dirty).
 */
TEST_F(pair, shared_file_mapping_sees_the_bytes)
{
	static unsigned char wbuf[BIG], fbuf[BIG];
	unsigned long long before;
	struct afx_call c;
	uint64_t off = 0;
	void *map;
	int fd;

	fd = memfd_create("afx-direct", 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, BIG));
	map = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, prime(self->c, self->a, wbuf, &off));
	before = direct_bytes();
	ASSERT_EQ(0, start_recv(&c, self->a, map, BIG, MSG_WAITALL));
	ASSERT_EQ(0, send_to_waiting(&c, self->c, wbuf, BIG, off));
	ASSERT_EQ(BIG, c.ret);
	EXPECT_EQ(before + BIG, direct_bytes());
	munmap(map, BIG);
	ASSERT_EQ(BIG, pread(fd, fbuf, BIG, 0));
	EXPECT_EQ(BIG, afx_check_pattern(fbuf, BIG, off));
	close(fd);
}

/*
 * fork() while the reader's memory is posted: the bytes written direct
 * go to the reader, and the child's copy of the buffer never sees them.
 */
TEST_F(pair, fork_while_posted_keeps_the_bytes_with_the_reader)
{
	static unsigned char wbuf[BIG];
	unsigned char *rbuf;
	unsigned long long before;
	struct afx_call c;
	int go[2], status;
	uint64_t off = 0;
	char x;
	pid_t pid;

	rbuf = mmap(NULL, BIG, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, rbuf);
	memset(rbuf, 0x5a, BIG);
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, prime(self->c, self->a, wbuf, &off));
	before = direct_bytes();
	ASSERT_EQ(0, start_recv(&c, self->a, rbuf, BIG, MSG_WAITALL));
	pid = afx_child_fork(0);
	ASSERT_LE(0, pid);
	if (pid == 0) {
		size_t i;

		close(go[1]);
		if (read(go[0], &x, 1) != 1)
			_exit(2);
		for (i = 0; i < BIG; i++)
			if (rbuf[i] != 0x5a)
				_exit(1);
		_exit(0);
	}
	close(go[0]);
	ASSERT_EQ(0, send_to_waiting(&c, self->c, wbuf, BIG, off));
	ASSERT_EQ(BIG, c.ret);
	EXPECT_EQ(BIG, afx_check_pattern(rbuf, BIG, off));
	EXPECT_EQ(before + BIG, direct_bytes());
	ASSERT_EQ(1, write(go[1], "x", 1));
	close(go[1]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("the child saw the bytes");
	munmap(rbuf, BIG);
}

/* The writer closes after a direct copy: the reader gets the bytes, then EOF. */
TEST_F(pair, eof_after_direct_bytes)
{
	static unsigned char wbuf[BIG], rbuf[2 * BIG];
	unsigned long long before;
	struct afx_call c;
	uint64_t off = 0;

	ASSERT_EQ(0, prime(self->c, self->a, wbuf, &off));
	before = direct_bytes();
	ASSERT_EQ(0, start_recv(&c, self->a, rbuf, sizeof(rbuf),
				MSG_WAITALL));
	afx_fill_pattern(wbuf, BIG, off);
	ASSERT_EQ(BIG, send(self->c, wbuf, BIG, 0));
	close(self->c);
	self->c = -1;
	ASSERT_EQ(1, afx_call_done(&c, AFX_DONE_WAIT_MS));
	afx_call_join(&c);
	ASSERT_EQ(BIG, c.ret);
	EXPECT_EQ(BIG, afx_check_pattern(rbuf, BIG, off));
	EXPECT_EQ(before + BIG, direct_bytes());
	EXPECT_EQ(0, recv(self->a, rbuf, sizeof(rbuf), 0));
}

TEST_HARNESS_MAIN
