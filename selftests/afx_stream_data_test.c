// SPDX-License-Identifier: GPL-2.0
/*
 * afx_stream_data_test.c - the stream data path: ordered bytes
 * without boundaries, big transfers, MSG_PEEK/WAITALL/DONTWAIT/OOB, O_ASYNC.
 *
 * Documentation/afx.rst, "Stream semantics". Blocking calls run in a helper
 * thread (struct afx_call) whose state is checked through /proc, never
 * with sleep(); every test arms afx_watchdog() below the harness timeout.
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
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <linux/sockios.h>

#include "afx_harness.h"
#include "afx_fixture_pair.h"

#define WATCHDOG_SEC	20	/* harness default timeout is 30 s */

#define BIG_TRANSFER	(8u << 20)

/* Send BIG_TRANSFER pattern bytes in irregular chunks; 0 if all went. */
static int send_pattern(int fd)
{
	static unsigned char buf[70000];
	uint64_t off = 0;
	unsigned int seed = 12345;
	size_t n;

	while (off < BIG_TRANSFER) {
		seed = seed * 1103515245u + 12345u;
		n = 1 + (seed >> 8) % sizeof(buf);
		if (n > BIG_TRANSFER - off)
			n = BIG_TRANSFER - off;
		afx_fill_pattern(buf, n, off);
		if (afx_send_all(fd, buf, n))
			return 2;
		off += n;
	}
	return 0;
}

/*
 * Receive and verify BIG_TRANSFER pattern bytes (irregular read sizes)
 * then EOF; 0 if ok, 1 corrupt, 2 wrong length, -errno on error.
 */
static int recv_check_pattern(int fd, uint64_t *got, uint64_t *bad)
{
	static unsigned char buf[70000];
	unsigned int seed = 777;
	ssize_t r;
	size_t n, i;

	*got = 0;
	*bad = ~0ull;
	for (;;) {
		seed = seed * 1103515245u + 12345u;
		n = 1 + (seed >> 8) % sizeof(buf);
		r = recv(fd, buf, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		i = afx_check_pattern(buf, r, *got);
		if (i != (size_t)r) {
			*bad = *got + i;
			return 1;
		}
		*got += r;
	}
	return *got == BIG_TRANSFER ? 0 : 2;
}

/*
 * 8 MiB through a connected pair, one end in a forked child. The small
 * buffer variant makes the sender block and be woken thousands of times.
 */
FIXTURE(transfer) {
	int c, a;	/* connected (client) and accepted ends */
};

FIXTURE_VARIANT(transfer) {
	int bufsize;	/* SO_SNDBUF and SO_RCVBUF on both ends, 0: default */
};

FIXTURE_VARIANT_ADD(transfer, default_buffers) { .bufsize = 0 };
FIXTURE_VARIANT_ADD(transfer, small_buffers) { .bufsize = 4096 };

FIXTURE_SETUP(transfer)
{
	int i, fd;

	afx_watchdog(50);
	ASSERT_EQ(0, afx_stream_pair_ex(0, NULL, &self->c, &self->a));
	for (i = 0; i < 2 && variant->bufsize; i++) {
		fd = i ? self->a : self->c;
		ASSERT_EQ(0, afx_set_int(fd, SOL_SOCKET, SO_SNDBUF,
					 variant->bufsize));
		ASSERT_EQ(0, afx_set_int(fd, SOL_SOCKET, SO_RCVBUF,
					 variant->bufsize));
	}
}

FIXTURE_TEARDOWN(transfer)
{
	if (self->c >= 0)
		close(self->c);
	if (self->a >= 0)
		close(self->a);
}

/* child writes on the accepted end, we read on the connecting end */
TEST_F_TIMEOUT(transfer, pattern_8mib_in_order_from_child, 60)
{
	double ts;
	uint64_t got, bad;
	int status, r;
	pid_t pid;

	ts = afx_now_ms();
	pid = afx_child_fork(0);
	ASSERT_LE(0, pid);
	if (pid == 0) {
		alarm(45);	/* default action: killed, parent sees it */
		signal(SIGALRM, SIG_DFL);
		close(self->c);
		r = send_pattern(self->a);
		_exit(r);
	}
	close(self->a);
	self->a = -1;
	r = recv_check_pattern(self->c, &got, &bad);
	EXPECT_EQ(0, r) TH_LOG("received %llu bytes, first bad byte at %llu",
			       (unsigned long long)got,
			       (unsigned long long)bad);
	EXPECT_EQ(BIG_TRANSFER, got);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	TH_LOG("%u bytes in %ld ms", BIG_TRANSFER, (long)(afx_now_ms() - ts));
}

/* we write on the connecting end, the child reads on the accepted end */
TEST_F_TIMEOUT(transfer, pattern_8mib_in_order_to_child, 60)
{
	double ts;
	uint64_t got, bad;
	int status, r;
	pid_t pid;

	ts = afx_now_ms();
	pid = afx_child_fork(0);
	ASSERT_LE(0, pid);
	if (pid == 0) {
		alarm(45);
		signal(SIGALRM, SIG_DFL);
		close(self->c);
		r = recv_check_pattern(self->a, &got, &bad);
		_exit(r == 0 ? 0 : r > 0 ? 10 + r : 20);
	}
	close(self->a);
	self->a = -1;
	EXPECT_EQ(0, send_pattern(self->c));
	ASSERT_EQ(0, shutdown(self->c, SHUT_WR));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status))
		TH_LOG("child: 11 corrupt, 12 wrong length, 20 recv error");
	TH_LOG("%u bytes in %ld ms", BIG_TRANSFER, (long)(afx_now_ms() - ts));
}

/* O_ASYNC: a writer that filled its peer gets SIGIO when the peer reads. */
TEST_F(pair, o_async_writer_gets_sigio_when_peer_makes_room)
{
	ASSERT_EQ(0, afx_catch_signal(SIGIO, SA_RESTART));
	ASSERT_EQ(0, fcntl(self->c, F_SETOWN, getpid()));
	ASSERT_EQ(0, fcntl(self->c, F_SETFL, fcntl(self->c, F_GETFL) | O_ASYNC));
	ASSERT_LT(0, afx_fill(self->c, 65536));
	afx_sig_hits[SIGIO] = 0;
	/* the kernel queues the signal before recv() returns */
	ASSERT_LT(0, afx_drain(self->a));
	EXPECT_LT(0, afx_sig_hits[SIGIO]) TH_LOG("no SIGIO for the writer");
}

TEST_F(pair, byte_stream_without_message_boundaries)
{
	char buf[64];

	/* a byte stream: two sends can be read with one recv */
	ASSERT_EQ(3, send(self->c, "abc", 3, 0));
	ASSERT_EQ(3, send(self->c, "def", 3, 0));
	ASSERT_EQ(6, recv(self->a, buf, 6, MSG_WAITALL));
	EXPECT_EQ(0, memcmp(buf, "abcdef", 6));
	/* and partial reads split them */
	ASSERT_EQ(4, send(self->a, "wxyz", 4, 0));
	ASSERT_EQ(1, recv(self->c, buf, 1, 0));
	EXPECT_EQ('w', buf[0]);
	ASSERT_EQ(3, recv(self->c, buf, sizeof(buf), 0));
	EXPECT_EQ(0, memcmp(buf, "xyz", 3));
}

TEST_F(pair, send_and_recv_on_unconnected_and_listening_enotconn)
{
	int u;
	char ch;

	u = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, u);
	EXPECT_EQ(-1, send(u, "x", 1, MSG_NOSIGNAL));
	EXPECT_EQ(ENOTCONN, errno);
	EXPECT_EQ(-1, recv(u, &ch, 1, 0));
	EXPECT_EQ(ENOTCONN, errno);
	EXPECT_EQ(-1, recv(u, &ch, 1, MSG_DONTWAIT));
	EXPECT_EQ(ENOTCONN, errno);
	/* bound but unconnected */
	ASSERT_EQ(0, afx_bind(u, AFX_ADDR_ANY, 0));
	EXPECT_EQ(-1, send(u, "x", 1, MSG_NOSIGNAL));
	EXPECT_EQ(ENOTCONN, errno);
	EXPECT_EQ(-1, recv(u, &ch, 1, 0));
	EXPECT_EQ(ENOTCONN, errno);
	close(u);
	/* listener */
	EXPECT_EQ(-1, send(self->l, "x", 1, MSG_NOSIGNAL));
	EXPECT_EQ(ENOTCONN, errno);
}

TEST_F(pair, sendto_with_address_on_connected_eisconn)
{
	struct sockaddr_x sx = afx_sockaddr(AFX_ADDR_LOCAL, self->port);

	EXPECT_EQ(-1, sendto(self->c, "x", 1, 0, AFX_SA(&sx), AFX_ADDRLEN));
	EXPECT_EQ(EISCONN, errno);
}

TEST_F(pair, msg_oob_eopnotsupp)
{
	char ch;

	EXPECT_EQ(-1, send(self->c, "x", 1, MSG_OOB));
	EXPECT_EQ(EOPNOTSUPP, errno);
	ASSERT_EQ(1, send(self->c, "x", 1, 0));
	EXPECT_EQ(-1, recv(self->a, &ch, 1, MSG_OOB));
	EXPECT_EQ(EOPNOTSUPP, errno);
	/* the normal byte is still there */
	ASSERT_EQ(1, recv(self->a, &ch, 1, 0));
	EXPECT_EQ('x', ch);
}

TEST_F(pair, msg_peek_does_not_consume)
{
	char buf[32];
	int v;

	ASSERT_EQ(11, send(self->c, "hello world", 11, 0));
	ASSERT_EQ(POLLIN, afx_poll(self->a, POLLIN, AFX_DONE_WAIT_MS));
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(5, recv(self->a, buf, 5, MSG_PEEK));
	EXPECT_EQ(0, memcmp(buf, "hello", 5));
	ASSERT_EQ(0, afx_ioctl_int(self->a, FIONREAD, &v));
	EXPECT_EQ(11, v);
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(11, recv(self->a, buf, sizeof(buf), MSG_PEEK));
	EXPECT_EQ(0, memcmp(buf, "hello world", 11));
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(6, recv(self->a, buf, 6, 0));
	EXPECT_EQ(0, memcmp(buf, "hello ", 6));
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(5, recv(self->a, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT));
	EXPECT_EQ(0, memcmp(buf, "world", 5));
	ASSERT_EQ(5, recv(self->a, buf, sizeof(buf), 0));
	EXPECT_EQ(0, memcmp(buf, "world", 5));
	EXPECT_EQ(-1, recv(self->a, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
}

TEST_F(pair, msg_peek_blocking_waits_for_data)
{
	char buf[8] = { 0 };
	struct afx_call op = { .kind = AFX_CALL_RECV, .fd = self->a, .buf = buf,
			       .len = sizeof(buf), .flags = MSG_PEEK };

	ASSERT_EQ(0, afx_call_start(&op));
	ASSERT_EQ(0, afx_call_blocked(&op));
	ASSERT_EQ(2, send(self->c, "pk", 2, 0));
	ASSERT_TRUE(afx_call_done(&op, AFX_DONE_WAIT_MS));
	afx_call_join(&op);
	EXPECT_EQ(2, op.ret);
	EXPECT_EQ(0, memcmp(buf, "pk", 2));
	ASSERT_EQ(2, recv(self->a, buf, sizeof(buf), MSG_DONTWAIT));
}

TEST_F(pair, msg_waitall_waits_for_the_full_count)
{
	char out[100], in[100];
	struct afx_call op = { .kind = AFX_CALL_RECV, .fd = self->a, .buf = in,
			       .len = sizeof(in), .flags = MSG_WAITALL };

	afx_fill_pattern(out, sizeof(out), 0);
	memset(in, 0, sizeof(in));
	ASSERT_EQ(0, afx_call_start(&op));
	ASSERT_EQ(0, afx_call_blocked(&op));
	ASSERT_EQ(30, send(self->c, out, 30, 0));
	EXPECT_FALSE(afx_call_done(&op, AFX_STILL_BLOCKED_MS));
	ASSERT_EQ(0, afx_call_blocked(&op));
	ASSERT_EQ(30, send(self->c, out + 30, 30, 0));
	EXPECT_FALSE(afx_call_done(&op, AFX_STILL_BLOCKED_MS));
	ASSERT_EQ(40, send(self->c, out + 60, 40, 0));
	ASSERT_TRUE(afx_call_done(&op, AFX_DONE_WAIT_MS));
	afx_call_join(&op);
	EXPECT_EQ(100, op.ret);
	EXPECT_EQ(0, memcmp(in, out, sizeof(out)));
}

TEST_F(pair, msg_waitall_returns_short_count_at_eof)
{
	char in[100];

	ASSERT_EQ(10, send(self->c, "0123456789", 10, 0));
	ASSERT_EQ(0, shutdown(self->c, SHUT_WR));
	ASSERT_EQ(10, recv(self->a, in, sizeof(in), MSG_WAITALL));
	EXPECT_EQ(0, memcmp(in, "0123456789", 10));
	EXPECT_EQ(0, recv(self->a, in, sizeof(in), MSG_WAITALL));
}

TEST_F(pair, msg_dontwait_on_blocking_socket)
{
	char ch;
	long n;

	EXPECT_EQ(-1, recv(self->a, &ch, 1, MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
	n = afx_fill(self->c, 65536);
	ASSERT_LT(0, n);
	EXPECT_EQ(-1, send(self->c, "x", 1, MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
	/* file stays blocking */
	EXPECT_EQ(0, fcntl(self->c, F_GETFL) & O_NONBLOCK);
}

TEST_F(pair, x_nonblock_applies_to_send_and_recv)
{
	char ch;
	long n;

	ASSERT_EQ(0, afx_set_int(self->a, SOL_X, X_NONBLOCK, 1));
	ASSERT_EQ(0, afx_set_int(self->c, SOL_X, X_NONBLOCK, 1));
	EXPECT_EQ(-1, recv(self->a, &ch, 1, 0));
	EXPECT_EQ(EAGAIN, errno);
	n = afx_fill(self->c, 65536);
	ASSERT_LT(0, n);
	EXPECT_EQ(-1, send(self->c, "x", 1, 0));
	EXPECT_EQ(EAGAIN, errno);
	/* switching it off makes them blocking again */
	ASSERT_EQ(0, afx_set_int(self->c, SOL_X, X_NONBLOCK, 0));
	ASSERT_EQ(0, afx_set_timeo(self->c, SO_SNDTIMEO, 100));
	EXPECT_EQ(-1, send(self->c, "x", 1, 0));
	EXPECT_EQ(EAGAIN, errno);
}

AFX_TEST_MAIN
