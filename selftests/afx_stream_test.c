// SPDX-License-Identifier: GPL-2.0
/*
 * afx_stream_test.c - SOCK_STREAM behaviour of the AF_X socket family.
 *
 * Every test asserts the behaviour of /tmp/afx-spec.md "Stream sockets"
 * (and the stream parts of "Socket options"). Blocking calls run either in
 * a helper thread whose state is checked through /proc/<tid>/stat and
 * /proc/<tid>/syscall (no sleep()-based synchronisation), or with SO_*TIMEO
 * set; every test arms an alarm()-based watchdog shorter than the harness
 * timeout so that a hang is reported as a failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <linux/sockios.h>

#include "kselftest_harness.h"
#include "afx_test_util.h"

#ifndef POLLRDHUP
#define POLLRDHUP 0x2000
#endif

#define WATCHDOG_SEC	20	/* harness default timeout is 30 s */
#define BLOCK_WAIT_MS	5000	/* max time for a thread to block */
#define DONE_WAIT_MS	5000	/* max time for a woken call to return */
#define STILL_BLOCKED_MS 150	/* "has not returned" observation window */
#define EPH_MIN		49152U
#define EPH_MAX		65535U
#define POLL_ALL	(POLLIN | POLLOUT | POLLRDHUP | POLLERR | POLLHUP)

/* ------------------------------------------------------------------ */
/* signals                                                            */

static volatile sig_atomic_t sig_hits[NSIG];

static void count_sig(int sig)
{
	sig_hits[sig]++;
}

/* Counting handler; flags 0 means no SA_RESTART (-> EINTR). */
static int catch_signal(int sig, int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = count_sig;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	sig_hits[sig] = 0;
	return sigaction(sig, &sa, NULL);
}

static long elapsed_ms(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000 +
	       (now.tv_nsec - start->tv_nsec) / 1000000;
}

static int set_timeo(int fd, int opt, long ms)
{
	struct timeval tv = { .tv_sec = ms / 1000,
			      .tv_usec = (ms % 1000) * 1000 };

	return setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof(tv));
}

/* ------------------------------------------------------------------ */
/* a blocking call run in a helper thread                             */

enum async_kind { OP_CONNECT, OP_ACCEPT, OP_SEND, OP_RECV, OP_POLL };

struct async_op {
	enum async_kind kind;
	int fd;
	uint32_t port;		/* OP_CONNECT */
	void *buf;		/* OP_SEND / OP_RECV */
	size_t len;
	int flags;		/* send/recv flags, accept4 flags */
	short events;		/* OP_POLL */
	int timeout_ms;		/* OP_POLL */
	struct sockaddr_x addr;	/* OP_ACCEPT: peer address */
	socklen_t addrlen;

	long ret;
	int err;
	short revents;
	pid_t tid;
	pthread_t th;
	int done[2];
};

static void *async_fn(void *arg)
{
	struct async_op *a = arg;
	struct pollfd pfd;
	ssize_t w;

	__atomic_store_n(&a->tid, afx_gettid(), __ATOMIC_SEQ_CST);
	errno = 0;
	switch (a->kind) {
	case OP_CONNECT:
		a->ret = afx_connect_port(a->fd, a->port);
		break;
	case OP_ACCEPT:
		a->addrlen = sizeof(a->addr);
		a->ret = accept4(a->fd, AFX_SA(&a->addr), &a->addrlen,
				 a->flags);
		break;
	case OP_SEND:
		a->ret = send(a->fd, a->buf, a->len, a->flags);
		break;
	case OP_RECV:
		a->ret = recv(a->fd, a->buf, a->len, a->flags);
		break;
	case OP_POLL:
		pfd.fd = a->fd;
		pfd.events = a->events;
		pfd.revents = 0;
		a->ret = poll(&pfd, 1, a->timeout_ms);
		a->revents = pfd.revents;
		break;
	}
	a->err = errno;
	w = write(a->done[1], "x", 1);
	(void)w;
	return NULL;
}

static long async_syscall_nr(enum async_kind kind)
{
	switch (kind) {
	case OP_CONNECT:
		return SYS_connect;
	case OP_ACCEPT:
		return SYS_accept4;
	case OP_SEND:
		return SYS_sendto;
	case OP_RECV:
		return SYS_recvfrom;
	case OP_POLL:
		return SYS_poll;
	}
	return -1;
}

/* Start the call in a thread; returns once the thread runs. */
static int async_start(struct async_op *a)
{
	struct timespec ts = { 0, 1000 * 1000 };
	int i;

	a->tid = 0;
	a->ret = -2;
	a->err = 0;
	if (pipe2(a->done, O_CLOEXEC))
		return -1;
	if (pthread_create(&a->th, NULL, async_fn, a))
		return -1;
	for (i = 0; i < 5000; i++) {
		if (__atomic_load_n(&a->tid, __ATOMIC_SEQ_CST))
			return 0;
		nanosleep(&ts, NULL);
	}
	errno = ETIMEDOUT;
	return -1;
}

/* 0 once the thread sleeps inside the expected system call. */
static int async_blocked(struct async_op *a)
{
	return afx_wait_blocked(a->tid, async_syscall_nr(a->kind),
				BLOCK_WAIT_MS);
}

/* 1 if the call has returned within ms. */
static int async_done(struct async_op *a, int ms)
{
	return afx_wait_event(a->done[0], POLLIN, ms) == 1;
}

static void async_join(struct async_op *a)
{
	pthread_join(a->th, NULL);
	close(a->done[0]);
	close(a->done[1]);
}

/* Interrupt the thread's call with sig. */
static int async_signal(struct async_op *a, int sig)
{
	return pthread_kill(a->th, sig);
}

/* ------------------------------------------------------------------ */
/* small helpers                                                      */

/* A port with nothing bound in the stream space (just released). */
static uint32_t unused_stream_port(void)
{
	int fd = afx_socket(SOCK_STREAM);
	long p;

	if (fd < 0)
		return 0;
	if (afx_bind(fd, AFX_ADDR_ANY, 0)) {
		close(fd);
		return 0;
	}
	p = afx_local_port(fd);
	close(fd);
	return p > 0 ? (uint32_t)p : 0;
}

static int ioctl_int(int fd, unsigned long req, int *val)
{
	*val = -12345;
	return ioctl(fd, req, val);
}

/*
 * How many nonblocking connects to port are accepted at once before one
 * gets EINPROGRESS (the accept queue capacity). The clients stay open in
 * fds[] (max n); the pending one is also stored so it does not vanish.
 * Returns the count, or -1 on an unexpected error.
 */
static int count_queue_capacity(uint32_t port, int *fds, int n)
{
	int i, r;

	for (i = 0; i < n; i++) {
		fds[i] = afx_socket(SOCK_STREAM | SOCK_NONBLOCK);
		if (fds[i] < 0)
			return -1;
		r = afx_connect_port(fds[i], port);
		if (r == 0)
			continue;
		if (errno == EINPROGRESS)
			return i;
		return -1;
	}
	return n;
}

/*
 * accept() that does not wait, whatever the listener's mode (accept4's
 * SOCK_NONBLOCK only applies to the new file, not to the call).
 */
static int accept_nonblocking(int l)
{
	int fl = fcntl(l, F_GETFL), r, err;

	if (fl < 0 || fcntl(l, F_SETFL, fl | O_NONBLOCK))
		return -2;
	r = accept(l, NULL, NULL);
	err = errno;
	fcntl(l, F_SETFL, fl);
	errno = err;
	return r;
}

static void close_all(int *fds, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (fds[i] > 0)
			close(fds[i]);
}

/* ------------------------------------------------------------------ */
/* socket identity and addresses                                      */

TEST(stream_socket_type_protocol_domain_options)
{
	int fd, v;

	afx_watchdog(WATCHDOG_SEC);
	fd = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, fd) TH_LOG("socket(%d, SOCK_STREAM): %s", afx_family(),
				strerror(errno));
	ASSERT_EQ(0, afx_get_int(fd, SOL_SOCKET, SO_TYPE, &v));
	EXPECT_EQ(SOCK_STREAM, v);
	ASSERT_EQ(0, afx_get_int(fd, SOL_SOCKET, SO_PROTOCOL, &v));
	EXPECT_EQ(0, v);
	ASSERT_EQ(0, afx_get_int(fd, SOL_SOCKET, SO_DOMAIN, &v));
	EXPECT_EQ(afx_family(), v);
	ASSERT_EQ(0, afx_get_int(fd, SOL_SOCKET, SO_ACCEPTCONN, &v));
	EXPECT_EQ(0, v);
	ASSERT_EQ(0, afx_get_int(fd, SOL_SOCKET, SO_ERROR, &v));
	EXPECT_EQ(0, v);
	close(fd);
}

TEST(so_acceptconn_only_on_listener)
{
	int l, c, a, v;

	afx_watchdog(WATCHDOG_SEC);
	ASSERT_EQ(0, afx_stream_pair_ex(0, &l, &c, &a));
	ASSERT_EQ(0, afx_get_int(l, SOL_SOCKET, SO_ACCEPTCONN, &v));
	EXPECT_EQ(1, v);
	ASSERT_EQ(0, afx_get_int(c, SOL_SOCKET, SO_ACCEPTCONN, &v));
	EXPECT_EQ(0, v);
	ASSERT_EQ(0, afx_get_int(a, SOL_SOCKET, SO_ACCEPTCONN, &v));
	EXPECT_EQ(0, v);
	/* types of the accepted socket */
	ASSERT_EQ(0, afx_get_int(a, SOL_SOCKET, SO_TYPE, &v));
	EXPECT_EQ(SOCK_STREAM, v);
	ASSERT_EQ(0, afx_get_int(a, SOL_SOCKET, SO_DOMAIN, &v));
	EXPECT_EQ(afx_family(), v);
	close(a);
	close(c);
	close(l);
}

TEST(getsockname_getpeername_of_all_three_sockets)
{
	struct sockaddr_x sx, acc;
	socklen_t len = sizeof(acc);
	int l, c, a;
	uint32_t lport;
	long cport;

	afx_watchdog(WATCHDOG_SEC);
	c = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, c);
	/* unbound: {AF_X, 0, 0}; not connected: ENOTCONN */
	ASSERT_EQ(0, afx_getsockname(c, &sx));
	EXPECT_EQ(afx_family(), sx.sx_family);
	EXPECT_EQ(0U, sx.sx_port);
	EXPECT_EQ(0U, sx.sx_addr);
	EXPECT_EQ(-1, afx_getpeername(c, &sx));
	EXPECT_EQ(ENOTCONN, errno);

	/* listener bound to LOCAL reports LOCAL and its port */
	l = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, l);
	ASSERT_EQ(0, afx_bind(l, AFX_ADDR_LOCAL, 0));
	ASSERT_EQ(0, listen(l, 4));
	ASSERT_EQ(0, afx_getsockname(l, &sx));
	EXPECT_EQ(afx_family(), sx.sx_family);
	EXPECT_EQ(AFX_ADDR_LOCAL, sx.sx_addr);
	lport = sx.sx_port;
	EXPECT_LE(EPH_MIN, lport);
	EXPECT_GE(EPH_MAX, lport);
	EXPECT_EQ(-1, afx_getpeername(l, &sx));
	EXPECT_EQ(ENOTCONN, errno);

	ASSERT_EQ(0, afx_connect_port(c, lport));
	/* autobound client: addr ANY, ephemeral port */
	ASSERT_EQ(0, afx_getsockname(c, &sx));
	EXPECT_EQ(afx_family(), sx.sx_family);
	EXPECT_EQ(AFX_ADDR_ANY, sx.sx_addr);
	cport = sx.sx_port;
	EXPECT_LE(EPH_MIN, cport);
	EXPECT_GE(EPH_MAX, cport);
	EXPECT_NE(lport, cport);
	ASSERT_EQ(0, afx_getpeername(c, &sx));
	EXPECT_EQ(afx_family(), sx.sx_family);
	EXPECT_EQ(lport, sx.sx_port);
	EXPECT_EQ(AFX_ADDR_LOCAL, sx.sx_addr);

	memset(&acc, 0xa5, sizeof(acc));
	a = accept(l, AFX_SA(&acc), &len);
	ASSERT_LE(0, a);
	EXPECT_EQ(AFX_ADDRLEN, len);
	EXPECT_EQ(afx_family(), acc.sx_family);
	EXPECT_EQ(0, acc.sx_reserved1);
	EXPECT_EQ(cport, acc.sx_port);
	EXPECT_EQ(AFX_ADDR_LOCAL, acc.sx_addr);

	/* accepted: {LOCAL, listener port}; peer {LOCAL, client port} */
	ASSERT_EQ(0, afx_getsockname(a, &sx));
	EXPECT_EQ(afx_family(), sx.sx_family);
	EXPECT_EQ(AFX_ADDR_LOCAL, sx.sx_addr);
	EXPECT_EQ(lport, sx.sx_port);
	ASSERT_EQ(0, afx_getpeername(a, &sx));
	EXPECT_EQ(afx_family(), sx.sx_family);
	EXPECT_EQ(AFX_ADDR_LOCAL, sx.sx_addr);
	EXPECT_EQ(cport, sx.sx_port);
	close(a);
	close(c);
	close(l);
}

TEST(accepted_socket_name_is_local_even_for_any_listener)
{
	struct sockaddr_x sx;
	int l, c, a;
	uint32_t port;

	afx_watchdog(WATCHDOG_SEC);
	l = afx_listener(SOCK_STREAM, 4, &port);	/* bound to ANY */
	ASSERT_LE(0, l);
	ASSERT_EQ(0, afx_getsockname(l, &sx));
	EXPECT_EQ(AFX_ADDR_ANY, sx.sx_addr);
	c = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, c);
	/* destination ANY means this host as well */
	ASSERT_EQ(0, afx_connect(c, AFX_ADDR_ANY, port));
	a = accept(l, NULL, NULL);
	ASSERT_LE(0, a);
	ASSERT_EQ(0, afx_getsockname(a, &sx));
	EXPECT_EQ(AFX_ADDR_LOCAL, sx.sx_addr);
	EXPECT_EQ(port, sx.sx_port);
	ASSERT_EQ(0, afx_getpeername(c, &sx));
	EXPECT_EQ(AFX_ADDR_LOCAL, sx.sx_addr);
	EXPECT_EQ(port, sx.sx_port);
	close(a);
	close(c);
	close(l);
}

/* ------------------------------------------------------------------ */
/* listen                                                             */

TEST(listen_on_unbound_socket_autobinds_ephemeral)
{
	struct sockaddr_x sx;
	int l, v;

	afx_watchdog(WATCHDOG_SEC);
	l = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, l);
	ASSERT_EQ(0, listen(l, 1));
	ASSERT_EQ(0, afx_getsockname(l, &sx));
	EXPECT_EQ(AFX_ADDR_ANY, sx.sx_addr);
	EXPECT_LE(EPH_MIN, sx.sx_port);
	EXPECT_GE(EPH_MAX, sx.sx_port);
	ASSERT_EQ(0, afx_get_int(l, SOL_SOCKET, SO_ACCEPTCONN, &v));
	EXPECT_EQ(1, v);
	close(l);
}

TEST(listen_on_connected_socket_einval)
{
	int fds[2];

	afx_watchdog(WATCHDOG_SEC);
	ASSERT_EQ(0, afx_stream_pair(fds));
	EXPECT_EQ(-1, listen(fds[0], 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, listen(fds[1], 1));
	EXPECT_EQ(EINVAL, errno);
	close(fds[0]);
	close(fds[1]);
}

FIXTURE(backlog) {
	int l;
	uint32_t port;
	int cl[16];
};

FIXTURE_VARIANT(backlog) {
	int backlog;
	int expect;
};

FIXTURE_VARIANT_ADD(backlog, zero) { .backlog = 0, .expect = 1 };
FIXTURE_VARIANT_ADD(backlog, one) { .backlog = 1, .expect = 1 };
FIXTURE_VARIANT_ADD(backlog, three) { .backlog = 3, .expect = 3 };
FIXTURE_VARIANT_ADD(backlog, seven) { .backlog = 7, .expect = 7 };

FIXTURE_SETUP(backlog)
{
	afx_watchdog(WATCHDOG_SEC);
	memset(self->cl, 0, sizeof(self->cl));
	self->l = afx_listener(SOCK_STREAM, variant->backlog, &self->port);
	ASSERT_LE(0, self->l);
}

FIXTURE_TEARDOWN(backlog)
{
	close_all(self->cl, 16);
	close(self->l);
}

TEST_F(backlog, queue_holds_max_backlog_1_connections)
{
	struct pollfd pfd = { .fd = self->l, .events = POLLIN };
	int n;

	/* empty listener: no POLLIN, accept would block */
	EXPECT_EQ(0, poll(&pfd, 1, 0));
	n = count_queue_capacity(self->port, self->cl, 16);
	EXPECT_EQ(variant->expect, n);
	/* the listener sees POLLIN once something is queued */
	EXPECT_EQ(POLLIN, afx_poll(self->l, POLLIN | POLLOUT, 0) & POLLIN);
}

TEST_F(backlog, listen_again_changes_backlog)
{
	int n, a;

	/* grow: listen(backlog + 2) */
	ASSERT_EQ(0, listen(self->l, variant->expect + 2));
	n = count_queue_capacity(self->port, self->cl, 16);
	EXPECT_EQ(variant->expect + 2, n);
	close_all(self->cl, 16);
	memset(self->cl, 0, sizeof(self->cl));
	/* closed clients may still sit in the queue: empty it */
	ASSERT_EQ(0, afx_set_nonblock(self->l, 1));
	while ((a = accept(self->l, NULL, NULL)) >= 0)
		close(a);
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, afx_set_nonblock(self->l, 0));
	/* shrink to 1 */
	ASSERT_EQ(0, listen(self->l, 1));
	n = count_queue_capacity(self->port, self->cl, 16);
	EXPECT_EQ(1, n);
}

TEST(backlog_capped_at_somaxconn_and_negative_means_somaxconn)
{
	static const char *path = "/proc/sys/net/core/somaxconn";
	int cl[16] = { 0 };
	int l, n, a, old = -1, restore = 0;
	uint32_t port;

	afx_watchdog(WATCHDOG_SEC);
	/* private netns so the sysctl change cannot leak */
	if (unshare(CLONE_NEWNET)) {
		TH_LOG("unshare(CLONE_NEWNET): %s; changing somaxconn of the current netns",
		       strerror(errno));
		ASSERT_EQ(0, afx_read_sysctl_int(path, &old));
		restore = 1;
	}
	ASSERT_EQ(0, afx_write_sysctl_int(path, 2));

	l = afx_listener(SOCK_STREAM, 10, &port);
	ASSERT_LE(0, l);
	n = count_queue_capacity(port, cl, 16);
	EXPECT_EQ(2, n) TH_LOG("listen(10) with somaxconn=2");
	close_all(cl, 16);
	close(l);

	memset(cl, 0, sizeof(cl));
	l = afx_listener(SOCK_STREAM, -1, &port);
	ASSERT_LE(0, l);
	n = count_queue_capacity(port, cl, 16);
	EXPECT_EQ(2, n) TH_LOG("listen(-1) with somaxconn=2");
	close_all(cl, 16);
	/* listen() again re-reads the cap */
	ASSERT_EQ(0, afx_set_nonblock(l, 1));
	while ((a = accept(l, NULL, NULL)) >= 0)
		close(a);
	ASSERT_EQ(0, afx_write_sysctl_int(path, 3));
	ASSERT_EQ(0, listen(l, 1000));
	memset(cl, 0, sizeof(cl));
	n = count_queue_capacity(port, cl, 16);
	EXPECT_EQ(3, n) TH_LOG("listen(1000) with somaxconn=3");
	close_all(cl, 16);
	close(l);
	if (restore)
		afx_write_sysctl_int(path, old);
}

/* ------------------------------------------------------------------ */
/* connect: refused and simple errors                                 */

TEST(connect_without_any_socket_on_port_econnrefused)
{
	uint32_t port;
	int c;

	afx_watchdog(WATCHDOG_SEC);
	port = unused_stream_port();
	ASSERT_NE(0U, port);
	c = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, c);
	EXPECT_EQ(-1, afx_connect_port(c, port));
	EXPECT_EQ(ECONNREFUSED, errno);
	/* nonblocking: refused at once as well, not EINPROGRESS */
	close(c);
	c = afx_socket(SOCK_STREAM | SOCK_NONBLOCK);
	ASSERT_LE(0, c);
	EXPECT_EQ(-1, afx_connect_port(c, port));
	EXPECT_EQ(ECONNREFUSED, errno);
	close(c);
}

TEST(connect_to_bound_but_not_listening_econnrefused)
{
	int b, c, d;
	long port;

	afx_watchdog(WATCHDOG_SEC);
	b = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, b);
	ASSERT_EQ(0, afx_bind(b, AFX_ADDR_ANY, 0));
	port = afx_local_port(b);
	ASSERT_LT(0, port);
	c = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, c);
	EXPECT_EQ(-1, afx_connect_port(c, port));
	EXPECT_EQ(ECONNREFUSED, errno);
	close(c);
	/* a datagram socket on the port is another space: still refused */
	close(b);
	d = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, d);
	ASSERT_EQ(0, afx_bind(d, AFX_ADDR_ANY, port));
	c = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, c);
	EXPECT_EQ(-1, afx_connect_port(c, port));
	EXPECT_EQ(ECONNREFUSED, errno);
	close(c);
	close(d);
}

TEST(connect_after_listener_closed_econnrefused)
{
	uint32_t port;
	int l, c;

	afx_watchdog(WATCHDOG_SEC);
	l = afx_listener(SOCK_STREAM, 4, &port);
	ASSERT_LE(0, l);
	close(l);
	c = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, c);
	EXPECT_EQ(-1, afx_connect_port(c, port));
	EXPECT_EQ(ECONNREFUSED, errno);
	close(c);
}

TEST(connect_returns_at_once_and_listener_sees_pollin)
{
	uint32_t port;
	int l, c;
	long t;
	struct timespec ts;

	afx_watchdog(WATCHDOG_SEC);
	l = afx_listener(SOCK_STREAM, 4, &port);
	ASSERT_LE(0, l);
	EXPECT_EQ(0, afx_poll(l, POLLIN, 0));
	c = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, c);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ASSERT_EQ(0, afx_connect_port(c, port));
	t = elapsed_ms(&ts);
	EXPECT_GT(1000, t);
	EXPECT_EQ(POLLIN, afx_poll(l, POLLIN, 0));
	/* connected right away: POLLOUT, SO_ERROR 0 */
	EXPECT_EQ(POLLOUT, afx_poll(c, POLL_ALL, 0));
	EXPECT_EQ(0, afx_so_error(c));
	close(c);
	close(l);
}

TEST(connect_on_connected_eisconn_and_on_listener_einval)
{
	int l, c, a;
	long lport;

	afx_watchdog(WATCHDOG_SEC);
	ASSERT_EQ(0, afx_stream_pair_ex(0, &l, &c, &a));
	lport = afx_local_port(l);
	ASSERT_LT(0, lport);
	EXPECT_EQ(-1, afx_connect_port(c, lport));
	EXPECT_EQ(EISCONN, errno);
	EXPECT_EQ(-1, afx_connect_port(a, lport));
	EXPECT_EQ(EISCONN, errno);
	/* connect on a listener: EINVAL, even to a live listener */
	EXPECT_EQ(-1, afx_connect_port(l, lport));
	EXPECT_EQ(EINVAL, errno);
	close(a);
	close(c);
	close(l);
}

/* ------------------------------------------------------------------ */
/* connect with a full accept queue: blocking                         */

FIXTURE(fullq) {
	int l;		/* listener, backlog 1 */
	uint32_t port;
	int first;	/* connected client filling the queue */
	int c;		/* the client under test (blocking) */
};

FIXTURE_SETUP(fullq)
{
	afx_watchdog(WATCHDOG_SEC);
	self->l = afx_listener(SOCK_STREAM, 1, &self->port);
	ASSERT_LE(0, self->l);
	self->first = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, self->first);
	ASSERT_EQ(0, afx_connect_port(self->first, self->port));
	self->c = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, self->c);
}

FIXTURE_TEARDOWN(fullq)
{
	close(self->c);
	close(self->first);
	if (self->l >= 0)
		close(self->l);
}

TEST_F(fullq, blocking_connect_waits_until_accept)
{
	struct async_op op = { .kind = OP_CONNECT, .fd = self->c,
			       .port = self->port };
	struct sockaddr_x sx;
	long cport;
	int a1, a2;
	char ch;

	ASSERT_EQ(0, async_start(&op));
	ASSERT_EQ(0, async_blocked(&op)) TH_LOG("connect did not block");
	EXPECT_FALSE(async_done(&op, STILL_BLOCKED_MS));
	/* connecting: no events yet */
	EXPECT_EQ(0, afx_poll(self->c, POLLIN | POLLOUT | POLLRDHUP, 0));

	a1 = accept(self->l, NULL, NULL);
	ASSERT_LE(0, a1);
	ASSERT_TRUE(async_done(&op, DONE_WAIT_MS))
		TH_LOG("connect not woken by accept");
	async_join(&op);
	ASSERT_EQ(0, op.ret) TH_LOG("connect: %s", strerror(op.err));

	cport = afx_local_port(self->c);
	a2 = accept(self->l, AFX_SA(&sx), &(socklen_t){ sizeof(sx) });
	ASSERT_LE(0, a2);
	EXPECT_EQ(cport, sx.sx_port);
	ASSERT_EQ(0, afx_getpeername(self->c, &sx));
	EXPECT_EQ(self->port, sx.sx_port);
	/* the connection works */
	ASSERT_EQ(1, send(self->c, "q", 1, 0));
	ASSERT_EQ(1, recv(a2, &ch, 1, 0));
	EXPECT_EQ('q', ch);
	close(a1);
	close(a2);
}

TEST_F(fullq, blocking_connect_sndtimeo_etimedout_and_cancelled)
{
	struct timespec ts;
	struct sockaddr_x sx;
	int a, r;
	long t;

	ASSERT_EQ(0, set_timeo(self->c, SO_SNDTIMEO, 300));
	clock_gettime(CLOCK_MONOTONIC, &ts);
	r = afx_connect_port(self->c, self->port);
	t = elapsed_ms(&ts);
	ASSERT_EQ(-1, r);
	EXPECT_EQ(ETIMEDOUT, errno);
	EXPECT_LE(250, t);
	EXPECT_GT(5000, t);
	/* unconnected again */
	EXPECT_EQ(-1, afx_getpeername(self->c, &sx));
	EXPECT_EQ(ENOTCONN, errno);
	EXPECT_EQ(POLLOUT | POLLHUP, afx_poll(self->c, POLL_ALL, 0));
	/* the attempt was cancelled: only the first connection is queued */
	a = accept(self->l, NULL, NULL);
	ASSERT_LE(0, a);
	close(a);
	EXPECT_EQ(-1, accept_nonblocking(self->l));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(0, afx_poll(self->l, POLLIN, 50));
	/* ... and the socket can connect again */
	ASSERT_EQ(0, afx_connect_port(self->c, self->port));
	a = accept(self->l, NULL, NULL);
	ASSERT_LE(0, a);
	close(a);
}

TEST_F(fullq, blocking_connect_signal_eintr_and_cancelled)
{
	struct async_op op = { .kind = OP_CONNECT, .fd = self->c,
			       .port = self->port };
	struct sockaddr_x sx;
	int a;

	ASSERT_EQ(0, catch_signal(SIGUSR1, 0));
	ASSERT_EQ(0, async_start(&op));
	ASSERT_EQ(0, async_blocked(&op));
	ASSERT_EQ(0, async_signal(&op, SIGUSR1));
	ASSERT_TRUE(async_done(&op, DONE_WAIT_MS))
		TH_LOG("connect not interrupted by the signal");
	async_join(&op);
	EXPECT_EQ(1, sig_hits[SIGUSR1]);
	EXPECT_EQ(-1, op.ret);
	EXPECT_EQ(EINTR, op.err);
	EXPECT_EQ(-1, afx_getpeername(self->c, &sx));
	EXPECT_EQ(ENOTCONN, errno);
	/* cancelled: not let in when accept makes room */
	a = accept(self->l, NULL, NULL);
	ASSERT_LE(0, a);
	close(a);
	EXPECT_EQ(-1, accept_nonblocking(self->l));
	EXPECT_EQ(EAGAIN, errno);
}

TEST_F(fullq, blocking_connect_then_listener_close_econnrefused)
{
	struct async_op op = { .kind = OP_CONNECT, .fd = self->c,
			       .port = self->port };

	ASSERT_EQ(0, async_start(&op));
	ASSERT_EQ(0, async_blocked(&op));
	EXPECT_FALSE(async_done(&op, STILL_BLOCKED_MS));
	close(self->l);
	self->l = -1;
	ASSERT_TRUE(async_done(&op, DONE_WAIT_MS))
		TH_LOG("connect not woken by listener close");
	async_join(&op);
	EXPECT_EQ(-1, op.ret);
	EXPECT_EQ(ECONNREFUSED, op.err);
}

TEST_F(fullq, refuse_when_full_blocking_connect_econnrefused_at_once)
{
	struct timespec ts;
	int v, r, a;
	long t;

	ASSERT_EQ(0, afx_set_int(self->l, SOL_X, X_REFUSE_WHEN_FULL, 1));
	ASSERT_EQ(0, afx_get_int(self->l, SOL_X, X_REFUSE_WHEN_FULL, &v));
	EXPECT_EQ(1, v);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	r = afx_connect_port(self->c, self->port);
	t = elapsed_ms(&ts);
	EXPECT_EQ(-1, r);
	EXPECT_EQ(ECONNREFUSED, errno);
	EXPECT_GT(1000, t);
	/* once there is room again connects succeed */
	a = accept(self->l, NULL, NULL);
	ASSERT_LE(0, a);
	close(a);
	close(self->c);
	self->c = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, self->c);
	EXPECT_EQ(0, afx_connect_port(self->c, self->port));
}

TEST_F(fullq, refuse_when_full_nonblocking_connect_econnrefused)
{
	int nb;

	ASSERT_EQ(0, afx_set_int(self->l, SOL_X, X_REFUSE_WHEN_FULL, 1));
	nb = afx_socket(SOCK_STREAM | SOCK_NONBLOCK);
	ASSERT_LE(0, nb);
	EXPECT_EQ(-1, afx_connect_port(nb, self->port));
	EXPECT_EQ(ECONNREFUSED, errno);
	close(nb);
	/* switching it off again makes the connect wait (EINPROGRESS) */
	ASSERT_EQ(0, afx_set_int(self->l, SOL_X, X_REFUSE_WHEN_FULL, 0));
	nb = afx_socket(SOCK_STREAM | SOCK_NONBLOCK);
	ASSERT_LE(0, nb);
	EXPECT_EQ(-1, afx_connect_port(nb, self->port));
	EXPECT_EQ(EINPROGRESS, errno);
	close(nb);
}

/* A withdrawn attempt wakes the other threads waiting for its outcome. */
TEST_F(fullq, withdrawn_connect_wakes_other_waiters)
{
	char buf[8];
	struct async_op cn = { .kind = OP_CONNECT, .fd = self->c,
			       .port = self->port };
	struct async_op rd = { .kind = OP_RECV, .fd = self->c, .buf = buf,
			       .len = sizeof(buf) };

	ASSERT_EQ(0, catch_signal(SIGUSR1, 0));
	ASSERT_EQ(0, async_start(&cn));
	ASSERT_EQ(0, async_blocked(&cn));
	/* a second thread waits in recv() for the attempt to finish */
	ASSERT_EQ(0, async_start(&rd));
	ASSERT_EQ(0, async_blocked(&rd));
	ASSERT_EQ(0, async_signal(&cn, SIGUSR1));
	ASSERT_TRUE(async_done(&cn, DONE_WAIT_MS));
	EXPECT_TRUE(async_done(&rd, DONE_WAIT_MS))
		TH_LOG("recv() still waits for a withdrawn attempt");
	async_signal(&rd, SIGUSR1);
	async_join(&cn);
	async_join(&rd);
	EXPECT_EQ(EINTR, cn.err);
	EXPECT_EQ(-1, rd.ret);
	EXPECT_EQ(ENOTCONN, rd.err);
}

/* A refused attempt leaves no credentials of the listener behind. */
TEST_F(fullq, refused_connect_leaves_no_peercred)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	ASSERT_EQ(0, afx_set_int(self->l, SOL_X, X_REFUSE_WHEN_FULL, 1));
	EXPECT_EQ(-1, afx_connect_port(self->c, self->port));
	EXPECT_EQ(ECONNREFUSED, errno);
	ASSERT_EQ(0, getsockopt(self->c, SOL_SOCKET, SO_PEERCRED, &cred, &len));
	EXPECT_EQ(0, cred.pid);
	EXPECT_EQ((uid_t)-1, cred.uid);
	EXPECT_EQ((gid_t)-1, cred.gid);
}

/* A larger backlog lets the waiting connectors in, oldest first. */
TEST_F(fullq, raising_backlog_admits_waiting_connectors)
{
	struct sockaddr_x sx;
	int nb1, nb2, a;
	long p1;

	nb1 = afx_socket(SOCK_STREAM | SOCK_NONBLOCK);
	nb2 = afx_socket(SOCK_STREAM | SOCK_NONBLOCK);
	ASSERT_LE(0, nb1);
	ASSERT_LE(0, nb2);
	EXPECT_EQ(-1, afx_connect_port(nb1, self->port));
	EXPECT_EQ(EINPROGRESS, errno);
	EXPECT_EQ(-1, afx_connect_port(nb2, self->port));
	EXPECT_EQ(EINPROGRESS, errno);
	EXPECT_EQ(0, afx_poll(nb1, POLLOUT, 0));

	/* room for one more: only the oldest waiter gets in */
	ASSERT_EQ(0, listen(self->l, 2));
	EXPECT_EQ(POLLOUT, afx_poll(nb1, POLLOUT, DONE_WAIT_MS) & POLLOUT);
	EXPECT_EQ(0, afx_so_error(nb1));
	EXPECT_EQ(0, afx_poll(nb2, POLLOUT, 0));
	p1 = afx_local_port(nb1);

	/* the queue now holds first and nb1, in that order */
	a = accept(self->l, NULL, NULL);
	ASSERT_LE(0, a);
	close(a);
	/* that accept made room for nb2 */
	EXPECT_EQ(POLLOUT, afx_poll(nb2, POLLOUT, DONE_WAIT_MS) & POLLOUT);
	a = accept(self->l, NULL, NULL);
	ASSERT_LE(0, a);
	ASSERT_EQ(0, afx_getpeername(a, &sx));
	EXPECT_EQ(p1, sx.sx_port);
	close(a);
	close(nb1);
	close(nb2);
}

/* An unread error of a failed nonblocking attempt does not haunt the next. */
TEST_F(fullq, new_connect_clears_unread_error)
{
	char ch;
	int nb;

	nb = afx_socket(SOCK_STREAM | SOCK_NONBLOCK);
	ASSERT_LE(0, nb);
	EXPECT_EQ(-1, afx_connect_port(nb, self->port));
	EXPECT_EQ(EINPROGRESS, errno);
	close(self->l);
	self->l = -1;
	EXPECT_EQ(POLLERR, afx_poll(nb, POLLOUT, DONE_WAIT_MS) & POLLERR);

	/* SO_ERROR never read; connect to a new listener */
	self->l = afx_listener(SOCK_STREAM, 4, &self->port);
	ASSERT_LE(0, self->l);
	ASSERT_EQ(0, afx_connect_port(nb, self->port));
	EXPECT_EQ(0, afx_so_error(nb));
	EXPECT_EQ(-1, recv(nb, &ch, 1, 0));
	EXPECT_EQ(EAGAIN, errno);
	close(nb);
}

/* ------------------------------------------------------------------ */
/* connect with a full accept queue: nonblocking                      */

FIXTURE(nbconnect) {
	int l;
	uint32_t port;
	int first;
	int c;
};

FIXTURE_VARIANT(nbconnect) {
	int mode;	/* 0: SOCK_NONBLOCK, 1: fcntl O_NONBLOCK, 2: X_NONBLOCK */
};

FIXTURE_VARIANT_ADD(nbconnect, sock_nonblock) { .mode = 0 };
FIXTURE_VARIANT_ADD(nbconnect, fcntl_o_nonblock) { .mode = 1 };
FIXTURE_VARIANT_ADD(nbconnect, x_nonblock_only) { .mode = 2 };

static int nb_client(int mode)
{
	int fd = afx_socket(SOCK_STREAM | (mode == 0 ? SOCK_NONBLOCK : 0));

	if (fd < 0)
		return -1;
	if (mode == 1 && afx_set_nonblock(fd, 1))
		return -1;
	if (mode == 2 && afx_set_int(fd, SOL_X, X_NONBLOCK, 1))
		return -1;
	return fd;
}

FIXTURE_SETUP(nbconnect)
{
	int v;

	afx_watchdog(WATCHDOG_SEC);
	self->l = afx_listener(SOCK_STREAM, 1, &self->port);
	ASSERT_LE(0, self->l);
	self->first = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, self->first);
	ASSERT_EQ(0, afx_connect_port(self->first, self->port));
	self->c = nb_client(variant->mode);
	ASSERT_LE(0, self->c);
	if (variant->mode == 2) {
		/* file is blocking, only the socket option says otherwise */
		EXPECT_EQ(0, fcntl(self->c, F_GETFL) & O_NONBLOCK);
		ASSERT_EQ(0, afx_get_int(self->c, SOL_X, X_NONBLOCK, &v));
		EXPECT_EQ(1, v);
	}
}

FIXTURE_TEARDOWN(nbconnect)
{
	close(self->c);
	close(self->first);
	if (self->l >= 0)
		close(self->l);
}

TEST_F(nbconnect, einprogress_ealready_pollout_after_accept_then_eisconn)
{
	struct sockaddr_x sx;
	long cport;
	int a1, a2, r;
	char ch;

	r = afx_connect_port(self->c, self->port);
	ASSERT_EQ(-1, r);
	ASSERT_EQ(EINPROGRESS, errno);
	/* connecting: poll reports nothing */
	EXPECT_EQ(0, afx_poll(self->c, POLLIN | POLLOUT | POLLRDHUP, 0));
	EXPECT_EQ(0, afx_poll(self->c, POLLIN | POLLOUT | POLLRDHUP, 50));
	EXPECT_EQ(-1, afx_connect_port(self->c, self->port));
	EXPECT_EQ(EALREADY, errno);
	EXPECT_EQ(0, afx_so_error(self->c));

	a1 = accept(self->l, NULL, NULL);
	ASSERT_LE(0, a1);
	/* completes by itself */
	EXPECT_EQ(POLLOUT, afx_poll(self->c, POLL_ALL, DONE_WAIT_MS));
	EXPECT_EQ(0, afx_so_error(self->c));
	EXPECT_EQ(-1, afx_connect_port(self->c, self->port));
	EXPECT_EQ(EISCONN, errno);
	ASSERT_EQ(0, afx_getpeername(self->c, &sx));
	EXPECT_EQ(self->port, sx.sx_port);

	cport = afx_local_port(self->c);
	a2 = accept(self->l, AFX_SA(&sx), &(socklen_t){ sizeof(sx) });
	ASSERT_LE(0, a2);
	EXPECT_EQ(cport, sx.sx_port);
	ASSERT_EQ(1, send(self->c, "z", 1, 0));
	ASSERT_EQ(1, recv(a2, &ch, 1, 0));
	EXPECT_EQ('z', ch);
	ASSERT_EQ(1, send(a2, "y", 1, 0));
	ASSERT_EQ(POLLIN, afx_poll(self->c, POLLIN, DONE_WAIT_MS));
	ASSERT_EQ(1, recv(self->c, &ch, 1, 0));
	EXPECT_EQ('y', ch);
	close(a1);
	close(a2);
}

TEST_F(nbconnect, pending_connect_wakes_poll_waiter_on_accept)
{
	struct async_op op = { .kind = OP_POLL, .fd = self->c,
			       .events = POLLOUT, .timeout_ms = 10000 };
	int a;

	ASSERT_EQ(-1, afx_connect_port(self->c, self->port));
	ASSERT_EQ(EINPROGRESS, errno);
	ASSERT_EQ(0, async_start(&op));
	ASSERT_EQ(0, async_blocked(&op));
	EXPECT_FALSE(async_done(&op, STILL_BLOCKED_MS));
	a = accept(self->l, NULL, NULL);
	ASSERT_LE(0, a);
	ASSERT_TRUE(async_done(&op, DONE_WAIT_MS))
		TH_LOG("poll(POLLOUT) not woken when the connect completed");
	async_join(&op);
	EXPECT_EQ(1, op.ret);
	EXPECT_EQ(POLLOUT, op.revents);
	EXPECT_EQ(0, afx_so_error(self->c));
	close(a);
}

TEST_F(nbconnect, listener_close_gives_pollerr_and_so_error_econnrefused_once)
{
	int r;

	ASSERT_EQ(-1, afx_connect_port(self->c, self->port));
	ASSERT_EQ(EINPROGRESS, errno);
	close(self->l);
	self->l = -1;
	r = afx_poll(self->c, POLLIN | POLLOUT | POLLRDHUP, DONE_WAIT_MS);
	EXPECT_EQ(POLLERR | POLLHUP, r & (POLLERR | POLLHUP));
	EXPECT_EQ(POLLOUT, r & POLLOUT);
	EXPECT_EQ(ECONNREFUSED, afx_so_error(self->c));
	EXPECT_EQ(0, afx_so_error(self->c));
}

TEST_F(nbconnect, listener_close_wakes_poll_waiter)
{
	struct async_op op = { .kind = OP_POLL, .fd = self->c,
			       .events = POLLOUT, .timeout_ms = 10000 };

	ASSERT_EQ(-1, afx_connect_port(self->c, self->port));
	ASSERT_EQ(EINPROGRESS, errno);
	ASSERT_EQ(0, async_start(&op));
	ASSERT_EQ(0, async_blocked(&op));
	close(self->l);
	self->l = -1;
	ASSERT_TRUE(async_done(&op, DONE_WAIT_MS));
	async_join(&op);
	EXPECT_EQ(1, op.ret);
	EXPECT_EQ(POLLERR, op.revents & POLLERR);
	EXPECT_EQ(ECONNREFUSED, afx_so_error(self->c));
}

TEST_F(nbconnect, each_accept_lets_oldest_waiting_connector_in)
{
	struct sockaddr_x sx;
	long port_c, port_d;
	int d, a;

	ASSERT_EQ(-1, afx_connect_port(self->c, self->port));
	ASSERT_EQ(EINPROGRESS, errno);
	d = nb_client(variant->mode);
	ASSERT_LE(0, d);
	ASSERT_EQ(-1, afx_connect_port(d, self->port));
	ASSERT_EQ(EINPROGRESS, errno);
	port_c = afx_local_port(self->c);
	port_d = afx_local_port(d);

	/* takes "first", lets c (older) in, d keeps waiting */
	a = accept(self->l, NULL, NULL);
	ASSERT_LE(0, a);
	close(a);
	EXPECT_EQ(POLLOUT, afx_poll(self->c, POLLOUT, DONE_WAIT_MS));
	EXPECT_EQ(0, afx_poll(d, POLLIN | POLLOUT | POLLRDHUP, 100));
	EXPECT_EQ(-1, afx_connect_port(d, self->port));
	EXPECT_EQ(EALREADY, errno);

	a = accept(self->l, AFX_SA(&sx), &(socklen_t){ sizeof(sx) });
	ASSERT_LE(0, a);
	EXPECT_EQ(port_c, sx.sx_port);
	close(a);
	EXPECT_EQ(POLLOUT, afx_poll(d, POLLOUT, DONE_WAIT_MS));
	EXPECT_EQ(0, afx_so_error(d));
	a = accept(self->l, AFX_SA(&sx), &(socklen_t){ sizeof(sx) });
	ASSERT_LE(0, a);
	EXPECT_EQ(port_d, sx.sx_port);
	close(a);
	close(d);
}

TEST_F(nbconnect, epollet_epollout_edge_when_pending_connect_completes)
{
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLIN | EPOLLET };
	struct epoll_event out[2];
	int ep, a;

	ASSERT_EQ(-1, afx_connect_port(self->c, self->port));
	ASSERT_EQ(EINPROGRESS, errno);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->c, &ev));
	/* connecting: nothing to report */
	EXPECT_EQ(0, epoll_wait(ep, out, 2, 0));
	a = accept(self->l, NULL, NULL);
	ASSERT_LE(0, a);
	ASSERT_EQ(1, epoll_wait(ep, out, 2, DONE_WAIT_MS))
		TH_LOG("no EPOLLOUT edge when the connect completed");
	EXPECT_EQ((uint32_t)EPOLLOUT, out[0].events);
	EXPECT_EQ(0, afx_so_error(self->c));
	close(a);
	close(ep);
}

TEST_F(nbconnect, listen_on_connecting_socket_einval)
{
	ASSERT_EQ(-1, afx_connect_port(self->c, self->port));
	ASSERT_EQ(EINPROGRESS, errno);
	EXPECT_EQ(-1, listen(self->c, 1));
	EXPECT_EQ(EINVAL, errno);
}

/* ------------------------------------------------------------------ */
/* accept                                                             */

TEST(accept_on_non_listener_einval)
{
	int u, fds[2];

	afx_watchdog(WATCHDOG_SEC);
	u = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, u);
	EXPECT_EQ(-1, accept(u, NULL, NULL));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, afx_bind(u, AFX_ADDR_ANY, 0));
	EXPECT_EQ(-1, accept(u, NULL, NULL));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, afx_stream_pair(fds));
	EXPECT_EQ(-1, accept(fds[0], NULL, NULL));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, accept4(fds[1], NULL, NULL, SOCK_NONBLOCK));
	EXPECT_EQ(EINVAL, errno);
	close(fds[0]);
	close(fds[1]);
	close(u);
}

TEST(accept_nonblocking_empty_queue_eagain)
{
	int l, v;
	uint32_t port;

	afx_watchdog(WATCHDOG_SEC);
	/* O_NONBLOCK listener */
	l = afx_listener(SOCK_STREAM | SOCK_NONBLOCK, 4, &port);
	ASSERT_LE(0, l);
	EXPECT_EQ(-1, accept(l, NULL, NULL));
	EXPECT_EQ(EAGAIN, errno);
	close(l);
	/* blocking file, X_NONBLOCK on the socket */
	l = afx_listener(SOCK_STREAM, 4, &port);
	ASSERT_LE(0, l);
	ASSERT_EQ(0, afx_set_int(l, SOL_X, X_NONBLOCK, 1));
	ASSERT_EQ(0, afx_get_int(l, SOL_X, X_NONBLOCK, &v));
	EXPECT_EQ(1, v);
	EXPECT_EQ(-1, accept(l, NULL, NULL));
	EXPECT_EQ(EAGAIN, errno);
	close(l);
}

FIXTURE(accept4_flags) {
	int l, c;
	uint32_t port;
};

FIXTURE_VARIANT(accept4_flags) {
	int flags;
};

FIXTURE_VARIANT_ADD(accept4_flags, none) { .flags = 0 };
FIXTURE_VARIANT_ADD(accept4_flags, nonblock) { .flags = SOCK_NONBLOCK };
FIXTURE_VARIANT_ADD(accept4_flags, cloexec) { .flags = SOCK_CLOEXEC };
FIXTURE_VARIANT_ADD(accept4_flags, both) {
	.flags = SOCK_NONBLOCK | SOCK_CLOEXEC
};

FIXTURE_SETUP(accept4_flags)
{
	afx_watchdog(WATCHDOG_SEC);
	/* the listener has the opposite flags: nothing may be inherited */
	self->l = afx_listener(SOCK_STREAM | (~variant->flags &
				(SOCK_NONBLOCK | SOCK_CLOEXEC)), 4,
			       &self->port);
	ASSERT_LE(0, self->l);
	self->c = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, self->c);
	ASSERT_EQ(0, afx_connect_port(self->c, self->port));
}

FIXTURE_TEARDOWN(accept4_flags)
{
	close(self->c);
	close(self->l);
}

TEST_F(accept4_flags, flags_visible_via_fcntl)
{
	struct sockaddr_x sx;
	socklen_t len = sizeof(sx);
	int a, fl, fd;
	char ch;

	a = accept4(self->l, AFX_SA(&sx), &len, variant->flags);
	ASSERT_LE(0, a);
	EXPECT_EQ(AFX_ADDRLEN, len);
	EXPECT_EQ(afx_local_port(self->c), sx.sx_port);
	fl = fcntl(a, F_GETFL);
	fd = fcntl(a, F_GETFD);
	ASSERT_LE(0, fl);
	ASSERT_LE(0, fd);
	EXPECT_EQ(!!(variant->flags & SOCK_NONBLOCK), !!(fl & O_NONBLOCK));
	EXPECT_EQ(!!(variant->flags & SOCK_CLOEXEC), !!(fd & FD_CLOEXEC));
	/* and O_NONBLOCK really works on it */
	if (variant->flags & SOCK_NONBLOCK) {
		EXPECT_EQ(-1, recv(a, &ch, 1, 0));
		EXPECT_EQ(EAGAIN, errno);
	}
	close(a);
}

TEST(blocking_accept_woken_by_connect)
{
	struct async_op op = { .kind = OP_ACCEPT };
	uint32_t port;
	int l, c;

	afx_watchdog(WATCHDOG_SEC);
	l = afx_listener(SOCK_STREAM, 4, &port);
	ASSERT_LE(0, l);
	op.fd = l;
	ASSERT_EQ(0, async_start(&op));
	ASSERT_EQ(0, async_blocked(&op)) TH_LOG("accept did not block");
	EXPECT_FALSE(async_done(&op, STILL_BLOCKED_MS));
	c = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, c);
	ASSERT_EQ(0, afx_connect_port(c, port));
	ASSERT_TRUE(async_done(&op, DONE_WAIT_MS))
		TH_LOG("accept not woken by connect");
	async_join(&op);
	ASSERT_LE(0, op.ret) TH_LOG("accept: %s", strerror(op.err));
	EXPECT_EQ(afx_local_port(c), op.addr.sx_port);
	EXPECT_EQ(AFX_ADDR_LOCAL, op.addr.sx_addr);
	close(op.ret);
	close(c);
	close(l);
}

TEST(blocking_accept_signal_eintr)
{
	struct async_op op = { .kind = OP_ACCEPT };
	uint32_t port;
	int l;

	afx_watchdog(WATCHDOG_SEC);
	ASSERT_EQ(0, catch_signal(SIGUSR1, 0));
	l = afx_listener(SOCK_STREAM, 4, &port);
	ASSERT_LE(0, l);
	op.fd = l;
	ASSERT_EQ(0, async_start(&op));
	ASSERT_EQ(0, async_blocked(&op));
	ASSERT_EQ(0, async_signal(&op, SIGUSR1));
	ASSERT_TRUE(async_done(&op, DONE_WAIT_MS))
		TH_LOG("accept not interrupted");
	async_join(&op);
	EXPECT_EQ(1, sig_hits[SIGUSR1]);
	EXPECT_EQ(-1, op.ret);
	EXPECT_EQ(EINTR, op.err);
	close(l);
}

TEST(blocking_accept_restarts_with_sa_restart)
{
	struct async_op op = { .kind = OP_ACCEPT };
	uint32_t port;
	int l, c;

	afx_watchdog(WATCHDOG_SEC);
	ASSERT_EQ(0, catch_signal(SIGUSR1, SA_RESTART));
	l = afx_listener(SOCK_STREAM, 4, &port);
	ASSERT_LE(0, l);
	op.fd = l;
	ASSERT_EQ(0, async_start(&op));
	ASSERT_EQ(0, async_blocked(&op));
	ASSERT_EQ(0, async_signal(&op, SIGUSR1));
	/* handler ran, accept went back to sleep */
	EXPECT_FALSE(async_done(&op, STILL_BLOCKED_MS));
	EXPECT_EQ(1, sig_hits[SIGUSR1]);
	ASSERT_EQ(0, async_blocked(&op));
	c = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, c);
	ASSERT_EQ(0, afx_connect_port(c, port));
	ASSERT_TRUE(async_done(&op, DONE_WAIT_MS));
	async_join(&op);
	ASSERT_LE(0, op.ret) TH_LOG("accept: %s", strerror(op.err));
	close(op.ret);
	close(c);
	close(l);
}

TEST(accepted_socket_inherits_buffers_and_timeouts_not_x_options)
{
	struct timeval tv_s, tv_r, tv;
	socklen_t len;
	int l, c, a, v, lsnd, lrcv, llow;
	uint32_t port;

	afx_watchdog(WATCHDOG_SEC);
	l = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, l);
	ASSERT_EQ(0, afx_set_int(l, SOL_SOCKET, SO_SNDBUF, 20000));
	ASSERT_EQ(0, afx_set_int(l, SOL_SOCKET, SO_RCVBUF, 30000));
	ASSERT_EQ(0, afx_set_int(l, SOL_SOCKET, SO_RCVLOWAT, 7));
	ASSERT_EQ(0, set_timeo(l, SO_SNDTIMEO, 1500));
	ASSERT_EQ(0, set_timeo(l, SO_RCVTIMEO, 2500));
	ASSERT_EQ(0, afx_set_int(l, SOL_X, X_NONBLOCK, 1));
	ASSERT_EQ(0, afx_set_int(l, SOL_X, X_REFUSE_WHEN_FULL, 1));
	ASSERT_EQ(0, afx_bind(l, AFX_ADDR_ANY, 0));
	ASSERT_EQ(0, listen(l, 4));
	port = afx_local_port(l);
	c = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, c);
	ASSERT_EQ(0, afx_connect_port(c, port));
	a = accept(l, NULL, NULL);	/* X_NONBLOCK: queued, no wait */
	ASSERT_LE(0, a);

	ASSERT_EQ(0, afx_get_int(l, SOL_SOCKET, SO_SNDBUF, &lsnd));
	ASSERT_EQ(0, afx_get_int(l, SOL_SOCKET, SO_RCVBUF, &lrcv));
	ASSERT_EQ(0, afx_get_int(l, SOL_SOCKET, SO_RCVLOWAT, &llow));
	ASSERT_EQ(0, afx_get_int(a, SOL_SOCKET, SO_SNDBUF, &v));
	EXPECT_EQ(lsnd, v);
	ASSERT_EQ(0, afx_get_int(a, SOL_SOCKET, SO_RCVBUF, &v));
	EXPECT_EQ(lrcv, v);
	ASSERT_EQ(0, afx_get_int(a, SOL_SOCKET, SO_RCVLOWAT, &v));
	EXPECT_EQ(7, llow);
	EXPECT_EQ(llow, v);
	len = sizeof(tv_s);
	ASSERT_EQ(0, getsockopt(l, SOL_SOCKET, SO_SNDTIMEO, &tv_s, &len));
	len = sizeof(tv);
	ASSERT_EQ(0, getsockopt(a, SOL_SOCKET, SO_SNDTIMEO, &tv, &len));
	EXPECT_EQ(tv_s.tv_sec, tv.tv_sec);
	EXPECT_EQ(tv_s.tv_usec, tv.tv_usec);
	EXPECT_EQ(1, tv.tv_sec);
	len = sizeof(tv_r);
	ASSERT_EQ(0, getsockopt(l, SOL_SOCKET, SO_RCVTIMEO, &tv_r, &len));
	len = sizeof(tv);
	ASSERT_EQ(0, getsockopt(a, SOL_SOCKET, SO_RCVTIMEO, &tv, &len));
	EXPECT_EQ(tv_r.tv_sec, tv.tv_sec);
	EXPECT_EQ(tv_r.tv_usec, tv.tv_usec);
	EXPECT_EQ(2, tv.tv_sec);

	ASSERT_EQ(0, afx_get_int(a, SOL_X, X_NONBLOCK, &v));
	EXPECT_EQ(0, v);
	ASSERT_EQ(0, afx_get_int(a, SOL_X, X_REFUSE_WHEN_FULL, &v));
	EXPECT_EQ(0, v);
	close(a);
	close(c);
	close(l);
}

/* ------------------------------------------------------------------ */
/* data transfer                                                      */

FIXTURE(pair) {
	int l, c, a;
	uint32_t port;
};

FIXTURE_SETUP(pair)
{
	afx_watchdog(WATCHDOG_SEC);
	self->c = self->a = -1;
	self->l = afx_listener(SOCK_STREAM, 4, &self->port);
	ASSERT_LE(0, self->l);
	self->c = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, self->c);
	ASSERT_EQ(0, afx_connect_port(self->c, self->port));
	self->a = accept(self->l, NULL, NULL);
	ASSERT_LE(0, self->a);
}

FIXTURE_TEARDOWN(pair)
{
	if (self->a >= 0)
		close(self->a);
	if (self->c >= 0)
		close(self->c);
	close(self->l);
}

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
	struct timespec ts;
	uint64_t got, bad;
	int status, r;
	pid_t pid;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	pid = fork();
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
	TH_LOG("%u bytes in %ld ms", BIG_TRANSFER, elapsed_ms(&ts));
}

/* we write on the connecting end, the child reads on the accepted end */
TEST_F_TIMEOUT(transfer, pattern_8mib_in_order_to_child, 60)
{
	struct timespec ts;
	uint64_t got, bad;
	int status, r;
	pid_t pid;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	pid = fork();
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
	TH_LOG("%u bytes in %ld ms", BIG_TRANSFER, elapsed_ms(&ts));
}

/* O_ASYNC: a writer that filled its peer gets SIGIO when the peer reads. */
TEST_F(pair, o_async_writer_gets_sigio_when_peer_makes_room)
{
	ASSERT_EQ(0, catch_signal(SIGIO, SA_RESTART));
	ASSERT_EQ(0, fcntl(self->c, F_SETOWN, getpid()));
	ASSERT_EQ(0, fcntl(self->c, F_SETFL, fcntl(self->c, F_GETFL) | O_ASYNC));
	ASSERT_LT(0, afx_fill(self->c, 65536));
	sig_hits[SIGIO] = 0;
	/* the kernel queues the signal before recv() returns */
	ASSERT_LT(0, afx_drain(self->a));
	EXPECT_LT(0, sig_hits[SIGIO]) TH_LOG("no SIGIO for the writer");
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
	ASSERT_EQ(POLLIN, afx_poll(self->a, POLLIN, DONE_WAIT_MS));
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(5, recv(self->a, buf, 5, MSG_PEEK));
	EXPECT_EQ(0, memcmp(buf, "hello", 5));
	ASSERT_EQ(0, ioctl_int(self->a, FIONREAD, &v));
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
	struct async_op op = { .kind = OP_RECV, .fd = self->a, .buf = buf,
			       .len = sizeof(buf), .flags = MSG_PEEK };

	ASSERT_EQ(0, async_start(&op));
	ASSERT_EQ(0, async_blocked(&op));
	ASSERT_EQ(2, send(self->c, "pk", 2, 0));
	ASSERT_TRUE(async_done(&op, DONE_WAIT_MS));
	async_join(&op);
	EXPECT_EQ(2, op.ret);
	EXPECT_EQ(0, memcmp(buf, "pk", 2));
	ASSERT_EQ(2, recv(self->a, buf, sizeof(buf), MSG_DONTWAIT));
}

TEST_F(pair, msg_waitall_waits_for_the_full_count)
{
	char out[100], in[100];
	struct async_op op = { .kind = OP_RECV, .fd = self->a, .buf = in,
			       .len = sizeof(in), .flags = MSG_WAITALL };

	afx_fill_pattern(out, sizeof(out), 0);
	memset(in, 0, sizeof(in));
	ASSERT_EQ(0, async_start(&op));
	ASSERT_EQ(0, async_blocked(&op));
	ASSERT_EQ(30, send(self->c, out, 30, 0));
	EXPECT_FALSE(async_done(&op, STILL_BLOCKED_MS));
	ASSERT_EQ(0, async_blocked(&op));
	ASSERT_EQ(30, send(self->c, out + 30, 30, 0));
	EXPECT_FALSE(async_done(&op, STILL_BLOCKED_MS));
	ASSERT_EQ(40, send(self->c, out + 60, 40, 0));
	ASSERT_TRUE(async_done(&op, DONE_WAIT_MS));
	async_join(&op);
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
	ASSERT_EQ(0, set_timeo(self->c, SO_SNDTIMEO, 100));
	EXPECT_EQ(-1, send(self->c, "x", 1, 0));
	EXPECT_EQ(EAGAIN, errno);
}

FIXTURE(sndbuf_limit) {
	int l, c, a;
	uint32_t port;
};

FIXTURE_VARIANT(sndbuf_limit) {
	int sndbuf;	/* on the sender, 0: default */
	int rcvbuf;	/* on the receiver, 0: default */
};

FIXTURE_VARIANT_ADD(sndbuf_limit, defaults) { 0, 0 };
FIXTURE_VARIANT_ADD(sndbuf_limit, small_receiver_rcvbuf) { 0, 16384 };
FIXTURE_VARIANT_ADD(sndbuf_limit, small_sender_sndbuf) { 16384, 0 };

FIXTURE_SETUP(sndbuf_limit)
{
	afx_watchdog(WATCHDOG_SEC);
	ASSERT_EQ(0, afx_stream_pair_ex(0, &self->l, &self->c, &self->a));
	if (variant->sndbuf)
		ASSERT_EQ(0, afx_set_int(self->c, SOL_SOCKET, SO_SNDBUF,
					 variant->sndbuf));
	if (variant->rcvbuf)
		ASSERT_EQ(0, afx_set_int(self->a, SOL_SOCKET, SO_RCVBUF,
					 variant->rcvbuf));
}

FIXTURE_TEARDOWN(sndbuf_limit)
{
	close(self->a);
	close(self->c);
	close(self->l);
}

TEST_F(sndbuf_limit, nonblocking_fill_bounded_by_min_of_buffers)
{
	int snd, rcv, limit, v;
	long n;

	ASSERT_EQ(0, afx_get_int(self->c, SOL_SOCKET, SO_SNDBUF, &snd));
	ASSERT_EQ(0, afx_get_int(self->a, SOL_SOCKET, SO_RCVBUF, &rcv));
	limit = snd < rcv ? snd : rcv;
	n = afx_fill(self->c, 1024);
	ASSERT_LT(0, n);
	TH_LOG("sndbuf %d rcvbuf %d: %ld bytes queued", snd, rcv, n);
	/* truesize accounting: never more than the limit (+ one send) */
	EXPECT_GE(limit + 1024, n);
	EXPECT_LE(limit / 4, n);
	EXPECT_EQ(-1, send(self->c, "x", 1, MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
	/* no POLLOUT while full */
	EXPECT_EQ(0, afx_poll(self->c, POLLOUT, 0));
	ASSERT_EQ(0, ioctl_int(self->a, FIONREAD, &v));
	EXPECT_EQ(n, v);
	ASSERT_EQ(0, ioctl_int(self->c, SIOCOUTQ, &v));
	EXPECT_EQ(n, v);
	/* reading everything makes room again */
	EXPECT_EQ(n, afx_drain(self->a));
	EXPECT_EQ(POLLOUT, afx_poll(self->c, POLLOUT, DONE_WAIT_MS));
	EXPECT_EQ(1, send(self->c, "x", 1, MSG_DONTWAIT));
}

TEST_F(pair, blocked_send_completes_after_peer_reads)
{
	char out[100];
	struct async_op op = { .kind = OP_SEND, .fd = -1, .buf = out,
			       .len = sizeof(out) };
	long n, total;
	char tail[100];

	op.fd = self->c;
	memset(out, 'T', sizeof(out));
	n = afx_fill(self->c, 65536);
	ASSERT_LT(0, n);
	ASSERT_EQ(0, async_start(&op));
	ASSERT_EQ(0, async_blocked(&op)) TH_LOG("send did not block");
	EXPECT_FALSE(async_done(&op, STILL_BLOCKED_MS));
	/*
	 * Read what was queued so far, and no more: the sender continues,
	 * and its 100 bytes may already be queued behind it.
	 */
	total = 0;
	while (total < n) {
		static char sink[65536];
		size_t want = n - total < (long)sizeof(sink) ? (size_t)(n - total) :
							      sizeof(sink);
		long r = recv(self->a, sink, want, 0);

		ASSERT_LT(0, r);
		total += r;
	}
	ASSERT_TRUE(async_done(&op, DONE_WAIT_MS))
		TH_LOG("blocked send not woken by the reader");
	async_join(&op);
	EXPECT_EQ(100, op.ret);
	ASSERT_EQ(0, afx_recv_all(self->a, tail, sizeof(tail)));
	EXPECT_EQ(0, memcmp(tail, out, sizeof(out)));
}

TEST_F(pair, nonblocking_send_returns_partial_count)
{
	static unsigned char big[4 << 20], in[65536];
	long n, got = 0, r;

	afx_fill_pattern(big, sizeof(big), 0);
	n = send(self->c, big, sizeof(big), MSG_DONTWAIT);
	ASSERT_LT(0, n) TH_LOG("send: %s", strerror(errno));
	EXPECT_GT((long)sizeof(big), n);
	EXPECT_EQ(-1, send(self->c, big + n, sizeof(big) - n, MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
	while (got < n) {
		r = recv(self->a, in, sizeof(in), MSG_DONTWAIT);
		ASSERT_LT(0, r);
		ASSERT_EQ((size_t)r, afx_check_pattern(in, r, got));
		got += r;
	}
	EXPECT_EQ(-1, recv(self->a, in, sizeof(in), MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
}

TEST_F(pair, so_sndtimeo_blocked_send_partial_then_eagain)
{
	static unsigned char big[4 << 20];
	struct timespec ts;
	long n, t;

	ASSERT_EQ(0, set_timeo(self->c, SO_SNDTIMEO, 300));
	clock_gettime(CLOCK_MONOTONIC, &ts);
	n = send(self->c, big, sizeof(big), 0);
	t = elapsed_ms(&ts);
	ASSERT_LT(0, n) TH_LOG("send: %s", strerror(errno));
	EXPECT_GT((long)sizeof(big), n);
	EXPECT_LE(250, t);
	EXPECT_GT(5000, t);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	EXPECT_EQ(-1, send(self->c, big, 1, 0));
	EXPECT_EQ(EAGAIN, errno);
	t = elapsed_ms(&ts);
	EXPECT_LE(250, t);
	EXPECT_GT(5000, t);
}

TEST_F(pair, signal_during_blocked_send_partial_then_eintr)
{
	static unsigned char big[4 << 20];
	struct async_op op = { .kind = OP_SEND, .buf = big,
			       .len = sizeof(big) };

	ASSERT_EQ(0, catch_signal(SIGUSR1, 0));
	op.fd = self->c;
	ASSERT_EQ(0, async_start(&op));
	ASSERT_EQ(0, async_blocked(&op));
	ASSERT_EQ(0, async_signal(&op, SIGUSR1));
	ASSERT_TRUE(async_done(&op, DONE_WAIT_MS));
	async_join(&op);
	EXPECT_EQ(1, sig_hits[SIGUSR1]);
	EXPECT_LT(0, op.ret) TH_LOG("send: %s", strerror(op.err));
	EXPECT_GT((long)sizeof(big), op.ret);

	/* now full: nothing goes before the signal -> EINTR */
	op.len = 1;
	ASSERT_EQ(0, async_start(&op));
	ASSERT_EQ(0, async_blocked(&op));
	ASSERT_EQ(0, async_signal(&op, SIGUSR1));
	ASSERT_TRUE(async_done(&op, DONE_WAIT_MS));
	async_join(&op);
	EXPECT_EQ(2, sig_hits[SIGUSR1]);
	EXPECT_EQ(-1, op.ret);
	EXPECT_EQ(EINTR, op.err);
}

TEST_F(pair, so_rcvtimeo_eagain_when_nothing_arrives)
{
	struct timespec ts;
	char ch;
	long t;

	ASSERT_EQ(0, set_timeo(self->a, SO_RCVTIMEO, 300));
	clock_gettime(CLOCK_MONOTONIC, &ts);
	EXPECT_EQ(-1, recv(self->a, &ch, 1, 0));
	EXPECT_EQ(EAGAIN, errno);
	t = elapsed_ms(&ts);
	EXPECT_LE(250, t);
	EXPECT_GT(5000, t);
	/* data within the timeout is returned */
	ASSERT_EQ(1, send(self->c, "r", 1, 0));
	EXPECT_EQ(1, recv(self->a, &ch, 1, 0));
	EXPECT_EQ('r', ch);
}

TEST_F(pair, blocking_recv_woken_by_send)
{
	char buf[16] = { 0 };
	struct async_op op = { .kind = OP_RECV, .buf = buf,
			       .len = sizeof(buf) };

	op.fd = self->a;
	ASSERT_EQ(0, async_start(&op));
	ASSERT_EQ(0, async_blocked(&op));
	EXPECT_FALSE(async_done(&op, STILL_BLOCKED_MS));
	ASSERT_EQ(4, send(self->c, "wake", 4, 0));
	ASSERT_TRUE(async_done(&op, DONE_WAIT_MS));
	async_join(&op);
	EXPECT_EQ(4, op.ret);
	EXPECT_EQ(0, memcmp(buf, "wake", 4));
}

TEST_F(pair, so_rcvlowat_recv_waits_for_lowat_bytes)
{
	char buf[100] = { 0 };
	struct async_op op = { .kind = OP_RECV, .buf = buf,
			       .len = sizeof(buf) };
	int v;

	ASSERT_EQ(0, afx_set_int(self->a, SOL_SOCKET, SO_RCVLOWAT, 10));
	ASSERT_EQ(0, afx_get_int(self->a, SOL_SOCKET, SO_RCVLOWAT, &v));
	EXPECT_EQ(10, v);
	op.fd = self->a;
	ASSERT_EQ(0, async_start(&op));
	ASSERT_EQ(0, async_blocked(&op));
	ASSERT_EQ(5, send(self->c, "01234", 5, 0));
	EXPECT_FALSE(async_done(&op, STILL_BLOCKED_MS))
		TH_LOG("recv returned with 5 < SO_RCVLOWAT bytes");
	ASSERT_EQ(5, send(self->c, "56789", 5, 0));
	ASSERT_TRUE(async_done(&op, DONE_WAIT_MS));
	async_join(&op);
	EXPECT_EQ(10, op.ret);
	EXPECT_EQ(0, memcmp(buf, "0123456789", 10));
}

TEST_F(pair, so_rcvlowat_poll)
{
	struct async_op op = { .kind = OP_POLL, .events = POLLIN,
			       .timeout_ms = 10000 };
	char buf[16];

	ASSERT_EQ(0, afx_set_int(self->a, SOL_SOCKET, SO_RCVLOWAT, 10));
	ASSERT_EQ(5, send(self->c, "01234", 5, 0));
	EXPECT_EQ(0, afx_poll(self->a, POLLIN, 50));
	/* a poll waiter is woken only once the low-water mark is reached */
	op.fd = self->a;
	ASSERT_EQ(0, async_start(&op));
	ASSERT_EQ(0, async_blocked(&op));
	ASSERT_EQ(4, send(self->c, "5678", 4, 0));
	EXPECT_FALSE(async_done(&op, STILL_BLOCKED_MS));
	ASSERT_EQ(1, send(self->c, "9", 1, 0));
	ASSERT_TRUE(async_done(&op, DONE_WAIT_MS));
	async_join(&op);
	EXPECT_EQ(1, op.ret);
	EXPECT_EQ(POLLIN, op.revents);
	/* lowering the mark below what is queued gives POLLIN at once */
	ASSERT_EQ(10, recv(self->a, buf, 10, 0));
	ASSERT_EQ(3, send(self->c, "abc", 3, 0));
	EXPECT_EQ(0, afx_poll(self->a, POLLIN, 50));
	ASSERT_EQ(0, afx_set_int(self->a, SOL_SOCKET, SO_RCVLOWAT, 3));
	EXPECT_EQ(POLLIN, afx_poll(self->a, POLLIN, 0));
}

TEST_F(pair, so_rcvlowat_eof_gives_pollin_and_short_read)
{
	char buf[16];

	ASSERT_EQ(0, afx_set_int(self->a, SOL_SOCKET, SO_RCVLOWAT, 10));
	ASSERT_EQ(3, send(self->c, "abc", 3, 0));
	ASSERT_EQ(0, shutdown(self->c, SHUT_WR));
	EXPECT_EQ(POLLIN, afx_poll(self->a, POLLIN, DONE_WAIT_MS));
	EXPECT_EQ(3, recv(self->a, buf, sizeof(buf), 0));
	EXPECT_EQ(0, recv(self->a, buf, sizeof(buf), 0));
}

TEST_F(pair, fionread_siocinq_siocoutq)
{
	char buf[100];
	int v;

	ASSERT_EQ(0, ioctl_int(self->a, FIONREAD, &v));
	EXPECT_EQ(0, v);
	ASSERT_EQ(0, ioctl_int(self->c, SIOCOUTQ, &v));
	EXPECT_EQ(0, v);
	memset(buf, 'i', sizeof(buf));
	ASSERT_EQ(100, send(self->c, buf, 100, 0));
	ASSERT_EQ(50, send(self->c, buf, 50, 0));
	ASSERT_EQ(0, ioctl_int(self->a, FIONREAD, &v));
	EXPECT_EQ(150, v);
	ASSERT_EQ(0, ioctl_int(self->a, SIOCINQ, &v));
	EXPECT_EQ(150, v);
	ASSERT_EQ(0, ioctl_int(self->c, SIOCOUTQ, &v));
	EXPECT_EQ(150, v);
	/* sender side has nothing to read; receiver nothing outstanding */
	ASSERT_EQ(0, ioctl_int(self->c, FIONREAD, &v));
	EXPECT_EQ(0, v);
	ASSERT_EQ(0, ioctl_int(self->a, SIOCOUTQ, &v));
	EXPECT_EQ(0, v);
	ASSERT_EQ(40, recv(self->a, buf, 40, 0));
	ASSERT_EQ(0, ioctl_int(self->a, FIONREAD, &v));
	EXPECT_EQ(110, v);
	ASSERT_EQ(0, ioctl_int(self->c, SIOCOUTQ, &v));
	EXPECT_EQ(110, v);
	ASSERT_EQ(100, recv(self->a, buf, 100, 0));
	ASSERT_EQ(10, recv(self->a, buf, 100, 0));
	ASSERT_EQ(0, ioctl_int(self->a, FIONREAD, &v));
	EXPECT_EQ(0, v);
	ASSERT_EQ(0, ioctl_int(self->c, SIOCOUTQ, &v));
	EXPECT_EQ(0, v);
	/* listener: EINVAL */
	EXPECT_EQ(-1, ioctl_int(self->l, FIONREAD, &v));
	EXPECT_EQ(EINVAL, errno);
	/* an ioctl the family does not know */
	EXPECT_EQ(-1, ioctl(self->a, TCGETS, buf));
	EXPECT_EQ(ENOTTY, errno);
}

/* ------------------------------------------------------------------ */
/* shutdown and close                                                 */

TEST_F(pair, shutdown_invalid_how_einval)
{
	EXPECT_EQ(-1, shutdown(self->c, 3));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, shutdown(self->c, -1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, shutdown(self->a, 42));
	EXPECT_EQ(EINVAL, errno);
	/* nothing happened */
	EXPECT_EQ(POLLOUT, afx_poll(self->c, POLL_ALL, 0));
	ASSERT_EQ(1, send(self->c, "k", 1, 0));
}

TEST(shutdown_not_connected_enotconn)
{
	int u;

	afx_watchdog(WATCHDOG_SEC);
	u = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, u);
	EXPECT_EQ(-1, shutdown(u, SHUT_RD));
	EXPECT_EQ(ENOTCONN, errno);
	EXPECT_EQ(-1, shutdown(u, SHUT_WR));
	EXPECT_EQ(ENOTCONN, errno);
	EXPECT_EQ(-1, shutdown(u, SHUT_RDWR));
	EXPECT_EQ(ENOTCONN, errno);
	ASSERT_EQ(0, afx_bind(u, AFX_ADDR_ANY, 0));
	EXPECT_EQ(-1, shutdown(u, SHUT_RDWR));
	EXPECT_EQ(ENOTCONN, errno);
	close(u);
}

TEST_F(pair, shut_wr_peer_drains_then_eof_and_sees_pollrdhup)
{
	char buf[16];
	int r;

	ASSERT_EQ(0, catch_signal(SIGPIPE, 0));
	ASSERT_EQ(4, send(self->c, "last", 4, 0));
	ASSERT_EQ(0, shutdown(self->c, SHUT_WR));
	r = afx_poll(self->a, POLL_ALL, DONE_WAIT_MS);
	EXPECT_EQ(POLLIN | POLLRDHUP, r & (POLLIN | POLLRDHUP));
	EXPECT_EQ(0, r & (POLLHUP | POLLERR));
	EXPECT_EQ(POLLOUT, r & POLLOUT);
	ASSERT_EQ(4, recv(self->a, buf, sizeof(buf), 0));
	EXPECT_EQ(0, memcmp(buf, "last", 4));
	EXPECT_EQ(0, recv(self->a, buf, sizeof(buf), 0));
	EXPECT_EQ(0, recv(self->a, buf, sizeof(buf), 0));
	/* still POLLIN|POLLRDHUP after the drain (EOF is readable) */
	r = afx_poll(self->a, POLLIN | POLLRDHUP, 0);
	EXPECT_EQ(POLLIN | POLLRDHUP, r);
	/* own send: EPIPE + SIGPIPE */
	EXPECT_EQ(-1, send(self->c, "x", 1, 0));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(1, sig_hits[SIGPIPE]);
	/* the other direction still works */
	ASSERT_EQ(4, send(self->a, "back", 4, 0));
	ASSERT_EQ(4, recv(self->c, buf, sizeof(buf), 0));
	EXPECT_EQ(0, memcmp(buf, "back", 4));
}

TEST_F(pair, shut_wr_wakes_blocked_reader_with_eof)
{
	char buf[16];
	struct async_op op = { .kind = OP_RECV, .buf = buf,
			       .len = sizeof(buf) };

	op.fd = self->a;
	ASSERT_EQ(0, async_start(&op));
	ASSERT_EQ(0, async_blocked(&op));
	ASSERT_EQ(0, shutdown(self->c, SHUT_WR));
	ASSERT_TRUE(async_done(&op, DONE_WAIT_MS));
	async_join(&op);
	EXPECT_EQ(0, op.ret);
}

TEST_F(pair, shut_rd_own_reads_return_queued_then_eof_peer_gets_epipe)
{
	char buf[16];

	ASSERT_EQ(0, catch_signal(SIGPIPE, 0));
	ASSERT_EQ(3, send(self->c, "abc", 3, 0));
	ASSERT_EQ(0, shutdown(self->a, SHUT_RD));
	ASSERT_EQ(3, recv(self->a, buf, sizeof(buf), 0));
	EXPECT_EQ(0, memcmp(buf, "abc", 3));
	/* no blocking: EOF */
	EXPECT_EQ(0, recv(self->a, buf, sizeof(buf), 0));
	EXPECT_EQ(POLLIN, afx_poll(self->a, POLLIN, 0));
	/* peer's sends fail */
	EXPECT_EQ(-1, send(self->c, "x", 1, 0));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(1, sig_hits[SIGPIPE]);
	/* we can still send to the peer */
	ASSERT_EQ(2, send(self->a, "ok", 2, 0));
	ASSERT_EQ(2, recv(self->c, buf, sizeof(buf), 0));
}

TEST_F(pair, shut_rd_wakes_blocked_writer_with_epipe)
{
	static char big[1 << 20];
	struct async_op op = { .kind = OP_SEND, .buf = big, .len = 1,
			       .flags = MSG_NOSIGNAL };

	ASSERT_LT(0, afx_fill(self->c, 65536));
	op.fd = self->c;
	ASSERT_EQ(0, async_start(&op));
	ASSERT_EQ(0, async_blocked(&op));
	ASSERT_EQ(0, shutdown(self->a, SHUT_RD));
	ASSERT_TRUE(async_done(&op, DONE_WAIT_MS))
		TH_LOG("blocked send not woken by the peer's SHUT_RD");
	async_join(&op);
	EXPECT_EQ(-1, op.ret);
	EXPECT_EQ(EPIPE, op.err);
}

TEST_F(pair, shut_rdwr_seen_by_peer)
{
	char buf[8];
	int r;

	ASSERT_EQ(0, catch_signal(SIGPIPE, 0));
	ASSERT_EQ(2, send(self->c, "hi", 2, 0));
	ASSERT_EQ(0, shutdown(self->c, SHUT_RDWR));
	/* own side: both directions shut */
	r = afx_poll(self->c, POLL_ALL, 0);
	EXPECT_EQ(POLLHUP, r & POLLHUP);
	EXPECT_EQ(-1, send(self->c, "x", 1, 0));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(1, sig_hits[SIGPIPE]);
	EXPECT_EQ(0, recv(self->c, buf, sizeof(buf), 0));
	/* peer: reads drain then EOF, writes EPIPE, both directions shut */
	r = afx_poll(self->a, POLL_ALL, DONE_WAIT_MS);
	EXPECT_EQ(POLLIN | POLLRDHUP | POLLHUP,
		  r & (POLLIN | POLLRDHUP | POLLHUP));
	ASSERT_EQ(2, recv(self->a, buf, sizeof(buf), 0));
	EXPECT_EQ(0, recv(self->a, buf, sizeof(buf), 0));
	EXPECT_EQ(-1, send(self->a, "x", 1, 0));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(2, sig_hits[SIGPIPE]);
}

TEST_F(pair, peer_close_reader_drains_then_eof)
{
	char buf[16];
	int r;

	ASSERT_EQ(5, send(self->c, "bye!!", 5, 0));
	close(self->c);
	self->c = -1;
	r = afx_poll(self->a, POLL_ALL, DONE_WAIT_MS);
	EXPECT_EQ(POLLIN | POLLRDHUP | POLLHUP,
		  r & (POLLIN | POLLRDHUP | POLLHUP));
	EXPECT_EQ(0, r & POLLERR);
	ASSERT_EQ(5, recv(self->a, buf, sizeof(buf), 0));
	EXPECT_EQ(0, memcmp(buf, "bye!!", 5));
	EXPECT_EQ(0, recv(self->a, buf, sizeof(buf), 0));
	EXPECT_EQ(0, recv(self->a, buf, sizeof(buf), MSG_DONTWAIT));
	EXPECT_EQ(0, afx_so_error(self->a));
}

TEST_F(pair, peer_close_wakes_blocked_reader)
{
	char buf[16];
	struct async_op op = { .kind = OP_RECV, .buf = buf,
			       .len = sizeof(buf) };

	op.fd = self->a;
	ASSERT_EQ(0, async_start(&op));
	ASSERT_EQ(0, async_blocked(&op));
	close(self->c);
	self->c = -1;
	ASSERT_TRUE(async_done(&op, DONE_WAIT_MS));
	async_join(&op);
	EXPECT_EQ(0, op.ret);
}

TEST_F(pair, send_after_peer_close_epipe_and_sigpipe_delivered)
{
	ASSERT_EQ(0, catch_signal(SIGPIPE, 0));
	close(self->a);
	self->a = -1;
	EXPECT_EQ(-1, send(self->c, "x", 1, 0));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(1, sig_hits[SIGPIPE]);
	EXPECT_EQ(-1, write(self->c, "x", 1));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(2, sig_hits[SIGPIPE]);
}

TEST_F(pair, msg_nosignal_epipe_without_sigpipe)
{
	ASSERT_EQ(0, catch_signal(SIGPIPE, 0));
	close(self->a);
	self->a = -1;
	EXPECT_EQ(-1, send(self->c, "x", 1, MSG_NOSIGNAL));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(0, sig_hits[SIGPIPE]);
	/* after own SHUT_WR too */
	close(self->c);
	self->c = -1;
	ASSERT_EQ(0, afx_stream_pair_ex(0, NULL, &self->c, &self->a));
	ASSERT_EQ(0, shutdown(self->c, SHUT_WR));
	EXPECT_EQ(-1, send(self->c, "x", 1, MSG_NOSIGNAL));
	EXPECT_EQ(EPIPE, errno);
	EXPECT_EQ(0, sig_hits[SIGPIPE]);
}

TEST_F_SIGNAL(pair, sigpipe_default_action_kills, SIGPIPE)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };

	sigaction(SIGPIPE, &sa, NULL);
	close(self->a);
	self->a = -1;
	send(self->c, "x", 1, 0);
	/* not reached when SIGPIPE is sent */
}

TEST_F(pair, peer_close_wakes_blocked_writer_with_epipe)
{
	static char big[16];
	struct async_op op = { .kind = OP_SEND, .buf = big, .len = 1 };

	ASSERT_EQ(0, catch_signal(SIGPIPE, 0));
	ASSERT_LT(0, afx_fill(self->c, 65536));
	op.fd = self->c;
	ASSERT_EQ(0, async_start(&op));
	ASSERT_EQ(0, async_blocked(&op));
	close(self->a);
	self->a = -1;
	ASSERT_TRUE(async_done(&op, DONE_WAIT_MS))
		TH_LOG("blocked send not woken by the peer's close");
	async_join(&op);
	EXPECT_EQ(-1, op.ret);
	EXPECT_EQ(EPIPE, op.err);
	EXPECT_EQ(1, sig_hits[SIGPIPE]);
}

TEST_F(pair, close_with_unread_data_gives_peer_econnreset_once)
{
	char buf[16];

	/* a has unread data from c; a has also sent "data" to c */
	ASSERT_EQ(5, send(self->c, "xxxxx", 5, 0));
	ASSERT_EQ(4, send(self->a, "data", 4, 0));
	ASSERT_EQ(POLLIN, afx_poll(self->a, POLLIN, DONE_WAIT_MS));
	close(self->a);
	self->a = -1;
	/* data already queued to c comes first */
	ASSERT_EQ(4, recv(self->c, buf, sizeof(buf), 0));
	EXPECT_EQ(0, memcmp(buf, "data", 4));
	EXPECT_EQ(-1, recv(self->c, buf, sizeof(buf), 0));
	EXPECT_EQ(ECONNRESET, errno);
	/* reported once */
	EXPECT_EQ(0, recv(self->c, buf, sizeof(buf), 0));
	EXPECT_EQ(0, recv(self->c, buf, sizeof(buf), 0));
}

TEST_F(pair, close_with_unread_data_wakes_blocked_reader_econnreset)
{
	char buf[16];
	struct async_op op = { .kind = OP_RECV, .buf = buf,
			       .len = sizeof(buf) };

	ASSERT_EQ(3, send(self->c, "zzz", 3, 0));
	ASSERT_EQ(POLLIN, afx_poll(self->a, POLLIN, DONE_WAIT_MS));
	op.fd = self->c;
	ASSERT_EQ(0, async_start(&op));
	ASSERT_EQ(0, async_blocked(&op));
	close(self->a);
	self->a = -1;
	ASSERT_TRUE(async_done(&op, DONE_WAIT_MS));
	async_join(&op);
	EXPECT_EQ(-1, op.ret);
	EXPECT_EQ(ECONNRESET, op.err);
	EXPECT_EQ(0, recv(self->c, buf, sizeof(buf), 0));
}

TEST_F(pair, close_without_unread_data_is_plain_eof)
{
	char buf[16];

	ASSERT_EQ(2, send(self->c, "ab", 2, 0));
	ASSERT_EQ(2, recv(self->a, buf, sizeof(buf), 0));
	close(self->a);
	self->a = -1;
	EXPECT_EQ(0, recv(self->c, buf, sizeof(buf), 0));
}

/* ------------------------------------------------------------------ */
/* poll / epoll                                                       */

TEST(poll_unconnected_stream_socket_pollout_pollhup)
{
	int u;

	afx_watchdog(WATCHDOG_SEC);
	u = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, u);
	EXPECT_EQ(POLLOUT | POLLHUP, afx_poll(u, POLL_ALL, 0));
	ASSERT_EQ(0, afx_bind(u, AFX_ADDR_ANY, 0));
	EXPECT_EQ(POLLOUT | POLLHUP, afx_poll(u, POLL_ALL, 0));
	close(u);
}

TEST(poll_listener_pollin_only_when_accept_would_not_block)
{
	uint32_t port;
	int l, c, a;

	afx_watchdog(WATCHDOG_SEC);
	l = afx_listener(SOCK_STREAM, 4, &port);
	ASSERT_LE(0, l);
	EXPECT_EQ(0, afx_poll(l, POLL_ALL, 0));
	c = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, c);
	ASSERT_EQ(0, afx_connect_port(c, port));
	EXPECT_EQ(POLLIN, afx_poll(l, POLL_ALL, 0));
	a = accept(l, NULL, NULL);
	ASSERT_LE(0, a);
	EXPECT_EQ(0, afx_poll(l, POLL_ALL, 0));
	close(a);
	close(c);
	close(l);
}

TEST(poll_listener_waiter_woken_by_connect)
{
	struct async_op op = { .kind = OP_POLL, .events = POLLIN,
			       .timeout_ms = 10000 };
	uint32_t port;
	int l, c;

	afx_watchdog(WATCHDOG_SEC);
	l = afx_listener(SOCK_STREAM, 4, &port);
	ASSERT_LE(0, l);
	op.fd = l;
	ASSERT_EQ(0, async_start(&op));
	ASSERT_EQ(0, async_blocked(&op));
	c = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, c);
	ASSERT_EQ(0, afx_connect_port(c, port));
	ASSERT_TRUE(async_done(&op, DONE_WAIT_MS));
	async_join(&op);
	EXPECT_EQ(1, op.ret);
	EXPECT_EQ(POLLIN, op.revents);
	close(c);
	close(l);
}

/* EPOLLET on a listener: an edge for every connection queued later. */
TEST(epollet_listener_gets_edge_for_every_connect)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET };
	struct epoll_event out[2];
	int l, ep, i, a, c[10];
	uint32_t port;

	afx_watchdog(WATCHDOG_SEC);
	l = afx_listener(SOCK_STREAM | SOCK_NONBLOCK, 16, &port);
	ASSERT_LE(0, l);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev));
	EXPECT_EQ(0, epoll_wait(ep, out, 2, 0));
	for (i = 0; i < 10; i++) {
		c[i] = afx_socket(SOCK_STREAM);
		ASSERT_LE(0, c[i]);
		ASSERT_EQ(0, afx_connect_port(c[i], port));
		ASSERT_EQ(1, epoll_wait(ep, out, 2, DONE_WAIT_MS))
			TH_LOG("no EPOLLIN edge for connection %d", i);
		EXPECT_EQ((uint32_t)EPOLLIN, out[0].events);
		/* drain to EAGAIN, as an edge-triggered server does */
		a = accept(l, NULL, NULL);
		ASSERT_LE(0, a);
		close(a);
		EXPECT_EQ(-1, accept(l, NULL, NULL));
		EXPECT_EQ(EAGAIN, errno);
	}
	for (i = 0; i < 10; i++)
		close(c[i]);
	close(ep);
	close(l);
}

TEST_F(pair, poll_connected_pollout_then_pollin)
{
	char ch;

	EXPECT_EQ(POLLOUT, afx_poll(self->c, POLL_ALL, 0));
	EXPECT_EQ(POLLOUT, afx_poll(self->a, POLL_ALL, 0));
	ASSERT_EQ(1, send(self->c, "p", 1, 0));
	EXPECT_EQ(POLLIN | POLLOUT, afx_poll(self->a, POLL_ALL, DONE_WAIT_MS));
	EXPECT_EQ(POLLOUT, afx_poll(self->c, POLL_ALL, 0));
	ASSERT_EQ(1, recv(self->a, &ch, 1, 0));
	EXPECT_EQ(POLLOUT, afx_poll(self->a, POLL_ALL, 0));
}

TEST_F(pair, poll_waiter_woken_by_data)
{
	struct async_op op = { .kind = OP_POLL, .events = POLLIN,
			       .timeout_ms = 10000 };

	op.fd = self->a;
	ASSERT_EQ(0, async_start(&op));
	ASSERT_EQ(0, async_blocked(&op));
	EXPECT_FALSE(async_done(&op, STILL_BLOCKED_MS));
	ASSERT_EQ(1, send(self->c, "w", 1, 0));
	ASSERT_TRUE(async_done(&op, DONE_WAIT_MS));
	async_join(&op);
	EXPECT_EQ(1, op.ret);
	EXPECT_EQ(POLLIN, op.revents);
}

TEST_F(pair, poll_pollout_waiter_woken_when_peer_reads)
{
	struct async_op op = { .kind = OP_POLL, .events = POLLOUT,
			       .timeout_ms = 10000 };

	ASSERT_LT(0, afx_fill(self->c, 65536));
	EXPECT_EQ(0, afx_poll(self->c, POLLOUT, 0));
	op.fd = self->c;
	ASSERT_EQ(0, async_start(&op));
	ASSERT_EQ(0, async_blocked(&op));
	EXPECT_FALSE(async_done(&op, STILL_BLOCKED_MS));
	ASSERT_LT(0, afx_drain(self->a));
	ASSERT_TRUE(async_done(&op, DONE_WAIT_MS))
		TH_LOG("POLLOUT waiter not woken by the reader");
	async_join(&op);
	EXPECT_EQ(1, op.ret);
	EXPECT_EQ(POLLOUT, op.revents);
}

TEST_F(pair, poll_pollrdhup_waiter_woken_by_shut_wr)
{
	struct async_op op = { .kind = OP_POLL, .events = POLLRDHUP,
			       .timeout_ms = 10000 };

	op.fd = self->a;
	ASSERT_EQ(0, async_start(&op));
	ASSERT_EQ(0, async_blocked(&op));
	ASSERT_EQ(0, shutdown(self->c, SHUT_WR));
	ASSERT_TRUE(async_done(&op, DONE_WAIT_MS));
	async_join(&op);
	EXPECT_EQ(1, op.ret);
	EXPECT_EQ(POLLRDHUP, op.revents & POLLRDHUP);
	EXPECT_EQ(0, op.revents & POLLHUP);
}

TEST_F(pair, poll_pollhup_waiter_woken_by_peer_close)
{
	struct async_op op = { .kind = OP_POLL, .events = 0,
			       .timeout_ms = 10000 };

	op.fd = self->a;
	ASSERT_EQ(0, async_start(&op));
	ASSERT_EQ(0, async_blocked(&op));
	close(self->c);
	self->c = -1;
	ASSERT_TRUE(async_done(&op, DONE_WAIT_MS));
	async_join(&op);
	EXPECT_EQ(1, op.ret);
	EXPECT_EQ(POLLHUP, op.revents & (POLLHUP | POLLERR));
}

/* EPOLLET: a reader that drains to EAGAIN gets an event per later write. */
TEST_F(pair, epollet_reader_gets_event_for_every_write)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | EPOLLET };
	struct epoll_event out[4];
	int ep, i, n;
	long got;

	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->a, &ev));
	EXPECT_EQ(0, epoll_wait(ep, out, 4, 0));
	for (i = 1; i <= 50; i++) {
		ASSERT_EQ(i, send(self->c, (char[64]){ 0 }, i, 0));
		n = epoll_wait(ep, out, 4, DONE_WAIT_MS);
		ASSERT_EQ(1, n) TH_LOG("no EPOLLIN edge for write %d", i);
		EXPECT_EQ((uint32_t)(EPOLLIN), out[0].events);
		got = afx_drain(self->a);
		EXPECT_EQ(i, got);
	}
	/* the EOF edge too */
	ASSERT_EQ(0, shutdown(self->c, SHUT_WR));
	n = epoll_wait(ep, out, 4, DONE_WAIT_MS);
	ASSERT_EQ(1, n);
	EXPECT_EQ((uint32_t)(EPOLLIN | EPOLLRDHUP), out[0].events & (EPOLLIN | EPOLLRDHUP));
	close(ep);
}

struct et_writer {
	int fd;
	int n;
	int ack;	/* pipe read end: reader got byte i */
	int fail;
};

static void *et_writer_fn(void *arg)
{
	struct et_writer *w = arg;
	struct timespec ts = { 0, 0 };
	char ch;
	int i;

	for (i = 0; i < w->n; i++) {
		/* vary the timing a little around the reader's epoll_wait */
		ts.tv_nsec = (i % 7) * 20000;
		if (ts.tv_nsec)
			nanosleep(&ts, NULL);
		if (send(w->fd, "e", 1, MSG_NOSIGNAL) != 1 ||
		    afx_wait_event(w->ack, POLLIN, DONE_WAIT_MS) != 1 ||
		    read(w->ack, &ch, 1) != 1) {
			w->fail = i + 1;
			break;
		}
	}
	return NULL;
}

/* Concurrent writer: an ET reader waiting in epoll_wait never misses one. */
TEST_F_TIMEOUT(pair, epollet_no_lost_wakeup_with_concurrent_writer, 120)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET };
	struct epoll_event out[2];
	struct et_writer w = { .n = 1000 };
	int ep, ack[2], n;
	long total = 0, got;
	pthread_t th;

	/* Each round is a few context switches: slow under TCG on a busy host. */
	afx_watchdog(110);
	ASSERT_EQ(0, pipe(ack));
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->a, &ev));
	w.fd = self->c;
	w.ack = ack[0];
	ASSERT_EQ(0, pthread_create(&th, NULL, et_writer_fn, &w));
	while (total < w.n) {
		n = epoll_wait(ep, out, 2, 2000);
		if (n != 1)
			break;
		got = afx_drain(self->a);
		if (got < 0)
			break;
		total += got;
		while (got-- > 0)
			ASSERT_EQ(1, write(ack[1], "a", 1));
	}
	EXPECT_EQ(w.n, total) TH_LOG("lost wakeup after %ld bytes", total);
	close(ack[1]);	/* unblock the writer if stuck */
	pthread_join(th, NULL);
	EXPECT_EQ(0, w.fail);
	close(ack[0]);
	close(ep);
}

/* EPOLLET writer that filled the buffer gets EPOLLOUT after the peer reads. */
TEST_F(pair, epollet_writer_gets_epollout_after_peer_reads)
{
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLET };
	struct epoll_event out[2];
	int ep, round, n;

	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->c, &ev));
	ASSERT_EQ(1, epoll_wait(ep, out, 2, DONE_WAIT_MS));
	EXPECT_EQ((uint32_t)(EPOLLOUT), out[0].events);
	for (round = 0; round < 10; round++) {
		ASSERT_LT(0, afx_fill(self->c, 65536));
		/* consume any edge the fill itself may have produced */
		epoll_wait(ep, out, 2, 0);
		EXPECT_EQ(0, afx_poll(self->c, POLLOUT, 0));
		ASSERT_LT(0, afx_drain(self->a));
		n = epoll_wait(ep, out, 2, DONE_WAIT_MS);
		ASSERT_EQ(1, n) TH_LOG("no EPOLLOUT edge in round %d", round);
		EXPECT_EQ((uint32_t)(EPOLLOUT), out[0].events);
	}
	close(ep);
}

/* EPOLLET writer blocked in epoll_wait is woken by a concurrent reader. */
TEST_F(pair, epollet_writer_waiting_is_woken_by_reader_thread)
{
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLET };
	struct epoll_event out[2];
	char buf[65536];
	int ep;
	struct async_op op = { .kind = OP_RECV, .buf = buf,
			       .len = sizeof(buf) };

	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->c, &ev));
	ASSERT_EQ(1, epoll_wait(ep, out, 2, DONE_WAIT_MS));
	ASSERT_LT(0, afx_fill(self->c, 65536));
	epoll_wait(ep, out, 2, 0);
	EXPECT_EQ(0, afx_poll(self->c, POLLOUT, 0));
	/* the reader thread reads, possibly while we wait */
	op.fd = self->a;
	ASSERT_EQ(0, async_start(&op));
	EXPECT_EQ(1, epoll_wait(ep, out, 2, DONE_WAIT_MS));
	ASSERT_TRUE(async_done(&op, DONE_WAIT_MS));
	async_join(&op);
	EXPECT_LT(0, op.ret);
	close(ep);
}

TEST_F(pair, epoll_peer_close_reports_in_rdhup_hup_not_err)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
	struct epoll_event out[2];
	int ep;

	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->a, &ev));
	EXPECT_EQ(0, epoll_wait(ep, out, 2, 0));
	close(self->c);
	self->c = -1;
	ASSERT_EQ(1, epoll_wait(ep, out, 2, DONE_WAIT_MS));
	EXPECT_EQ((uint32_t)(EPOLLIN | EPOLLRDHUP | EPOLLHUP),
		  out[0].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR));
	close(ep);
}

/* ------------------------------------------------------------------ */
/* SO_PEERCRED                                                        */

#define CHILD_UID 1234U
#define CHILD_GID 4321U

TEST(so_peercred_unconnected)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);
	int u;

	afx_watchdog(WATCHDOG_SEC);
	u = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, u);
	memset(&uc, 0x5a, sizeof(uc));
	ASSERT_EQ(0, getsockopt(u, SOL_SOCKET, SO_PEERCRED, &uc, &len));
	EXPECT_EQ(sizeof(uc), len);
	EXPECT_EQ(0, uc.pid);
	EXPECT_EQ((uid_t)-1, uc.uid);
	EXPECT_EQ((gid_t)-1, uc.gid);
	close(u);
}

/*
 * The parent listens (as root); a forked child drops to CHILD_UID/GID and
 * connects. Each side must see the other process' credentials.
 */
TEST(so_peercred_both_directions_with_forked_client)
{
	struct ucred uc, child_view;
	socklen_t len = sizeof(uc);
	int l, a, status, res[2];
	uint32_t port;
	pid_t pid;
	ssize_t r;

	afx_watchdog(WATCHDOG_SEC);
	l = afx_listener(SOCK_STREAM, 4, &port);
	ASSERT_LE(0, l);
	ASSERT_EQ(0, pipe(res));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct ucred cu = { 0 };
		socklen_t cl = sizeof(cu);
		int c;

		alarm(15);
		close(res[0]);
		if (setresgid(CHILD_GID, CHILD_GID, CHILD_GID) ||
		    setresuid(CHILD_UID, CHILD_UID, CHILD_UID))
			_exit(3);
		c = afx_socket(SOCK_STREAM);
		if (c < 0 || afx_connect_port(c, port))
			_exit(4);
		if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cu, &cl) ||
		    cl != sizeof(cu))
			_exit(5);
		if (write(res[1], &cu, sizeof(cu)) != sizeof(cu))
			_exit(6);
		/* keep the connection until the parent has checked */
		r = read(c, &cu, 1);
		_exit(r == 0 ? 0 : 7);
	}
	close(res[1]);
	a = accept(l, NULL, NULL);
	ASSERT_LE(0, a);
	memset(&uc, 0x5a, sizeof(uc));
	ASSERT_EQ(0, getsockopt(a, SOL_SOCKET, SO_PEERCRED, &uc, &len));
	EXPECT_EQ(sizeof(uc), len);
	EXPECT_EQ(pid, uc.pid);
	EXPECT_EQ(CHILD_UID, uc.uid);
	EXPECT_EQ(CHILD_GID, uc.gid);

	memset(&child_view, 0, sizeof(child_view));
	r = read(res[0], &child_view, sizeof(child_view));
	ASSERT_EQ((ssize_t)sizeof(child_view), r);
	EXPECT_EQ(getpid(), child_view.pid);
	EXPECT_EQ(getuid(), child_view.uid);
	EXPECT_EQ(getgid(), child_view.gid);

	close(a);	/* child reads EOF and exits 0 */
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	close(res[0]);
	close(l);
}

/* The listener side credential is the one of the process that called listen(). */
TEST(so_peercred_client_sees_listen_caller_not_socket_creator)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);
	int l, c, a, status, sync[2];
	long port;
	pid_t pid;
	char ch;

	afx_watchdog(WATCHDOG_SEC);
	/* we create and bind the socket, a child calls listen() on it */
	l = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, l);
	ASSERT_EQ(0, afx_bind(l, AFX_ADDR_ANY, 0));
	port = afx_local_port(l);
	ASSERT_LT(0, port);
	ASSERT_EQ(0, pipe(sync));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		alarm(15);
		close(sync[0]);
		if (listen(l, 4))
			_exit(2);
		if (write(sync[1], "L", 1) != 1)
			_exit(3);
		/* stay alive until the parent is done */
		pause();
		_exit(0);
	}
	close(sync[1]);
	ASSERT_EQ(1, read(sync[0], &ch, 1));
	c = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, c);
	ASSERT_EQ(0, afx_connect_port(c, port));
	ASSERT_EQ(0, getsockopt(c, SOL_SOCKET, SO_PEERCRED, &uc, &len));
	EXPECT_EQ(pid, uc.pid);
	a = accept(l, NULL, NULL);
	ASSERT_LE(0, a);
	len = sizeof(uc);
	ASSERT_EQ(0, getsockopt(a, SOL_SOCKET, SO_PEERCRED, &uc, &len));
	EXPECT_EQ(getpid(), uc.pid);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	close(a);
	close(c);
	close(l);
	close(sync[0]);
}

TEST_HARNESS_MAIN
