// SPDX-License-Identifier: GPL-2.0
/*
 * afx_stream_accept_test.c - accept() and accept4(), what an accepted
 * socket inherits, and SO_PEERCRED.
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

#define WATCHDOG_SEC	20	/* harness default timeout is 30 s */

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
	struct afx_call op = { .kind = AFX_CALL_ACCEPT };
	uint32_t port;
	int l, c;

	afx_watchdog(WATCHDOG_SEC);
	l = afx_listener(SOCK_STREAM, 4, &port);
	ASSERT_LE(0, l);
	op.fd = l;
	ASSERT_EQ(0, afx_call_start(&op));
	ASSERT_EQ(0, afx_call_blocked(&op)) TH_LOG("accept did not block");
	EXPECT_FALSE(afx_call_done(&op, AFX_STILL_BLOCKED_MS));
	c = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, c);
	ASSERT_EQ(0, afx_connect_port(c, port));
	ASSERT_TRUE(afx_call_done(&op, AFX_DONE_WAIT_MS))
		TH_LOG("accept not woken by connect");
	afx_call_join(&op);
	ASSERT_LE(0, op.ret) TH_LOG("accept: %s", strerror(op.err));
	EXPECT_EQ(afx_local_port(c), op.from.sx_port);
	EXPECT_EQ(AFX_ADDR_LOCAL, op.from.sx_addr);
	close(op.ret);
	close(c);
	close(l);
}

#define ACCEPTORS	6

/* voluntary_ctxt_switches of thread @tid of this process, or -1. */
static long voluntary_switches(pid_t tid)
{
	char path[64], line[128];
	long n = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "voluntary_ctxt_switches: %ld", &n) == 1)
			break;
	fclose(f);
	return n;
}

/*
 * ACCEPTORS threads block in accept() on one listener; each connection
 * wakes exactly one of them. An acceptor woken for nothing would wake,
 * find the queue empty and sleep again: one more voluntary context
 * switch, counted here once it sleeps again.
 */
TEST(one_connection_wakes_one_acceptor)
{
	struct afx_call op[ACCEPTORS];
	long before[ACCEPTORS], now;
	int c[ACCEPTORS], l, i, k, got, woken_for_nothing = 0;
	int done[ACCEPTORS] = { 0 };
	uint32_t port;

	afx_watchdog(WATCHDOG_SEC);
	l = afx_listener(SOCK_STREAM, 16, &port);
	ASSERT_LE(0, l);
	for (i = 0; i < ACCEPTORS; i++) {
		op[i] = (struct afx_call){ .kind = AFX_CALL_ACCEPT, .fd = l };
		ASSERT_EQ(0, afx_call_start(&op[i]));
	}
	for (i = 0; i < ACCEPTORS; i++)
		ASSERT_EQ(0, afx_call_blocked(&op[i])) TH_LOG("acceptor %d", i);

	for (k = 0; k < ACCEPTORS; k++) {
		for (i = 0; i < ACCEPTORS; i++)
			if (!done[i])
				before[i] = voluntary_switches(op[i].tid);
		c[k] = afx_socket(SOCK_STREAM);
		ASSERT_LE(0, c[k]);
		ASSERT_EQ(0, afx_connect_port(c[k], port));
		/* One acceptor returns with the connection... */
		for (got = -1; got < 0;) {
			for (i = 0; i < ACCEPTORS && got < 0; i++)
				if (!done[i] && afx_call_done(&op[i], 1))
					got = i;
		}
		done[got] = 1;
		afx_call_join(&op[got]);
		ASSERT_LE(0, op[got].ret) TH_LOG("accept: %s", strerror(op[got].err));
		/* ...and the others were not woken: asleep, as many switches. */
		for (i = 0; i < ACCEPTORS; i++) {
			if (done[i])
				continue;
			ASSERT_EQ(0, afx_call_blocked(&op[i]));
			now = voluntary_switches(op[i].tid);
			ASSERT_LE(0, now);
			woken_for_nothing += now - before[i];
		}
	}
	EXPECT_EQ(0, woken_for_nothing);
	for (i = 0; i < ACCEPTORS; i++) {
		close(op[i].ret);
		close(c[i]);
	}
	close(l);
}

TEST(blocking_accept_signal_eintr)
{
	struct afx_call op = { .kind = AFX_CALL_ACCEPT };
	uint32_t port;
	int l;

	afx_watchdog(WATCHDOG_SEC);
	ASSERT_EQ(0, afx_catch_signal(SIGUSR1, 0));
	l = afx_listener(SOCK_STREAM, 4, &port);
	ASSERT_LE(0, l);
	op.fd = l;
	ASSERT_EQ(0, afx_call_start(&op));
	ASSERT_EQ(0, afx_call_blocked(&op));
	ASSERT_EQ(0, afx_call_signal(&op, SIGUSR1));
	ASSERT_TRUE(afx_call_done(&op, AFX_DONE_WAIT_MS))
		TH_LOG("accept not interrupted");
	afx_call_join(&op);
	EXPECT_EQ(1, afx_sig_hits[SIGUSR1]);
	EXPECT_EQ(-1, op.ret);
	EXPECT_EQ(EINTR, op.err);
	close(l);
}

TEST(blocking_accept_restarts_with_sa_restart)
{
	struct afx_call op = { .kind = AFX_CALL_ACCEPT };
	uint32_t port;
	int l, c;

	afx_watchdog(WATCHDOG_SEC);
	ASSERT_EQ(0, afx_catch_signal(SIGUSR1, SA_RESTART));
	l = afx_listener(SOCK_STREAM, 4, &port);
	ASSERT_LE(0, l);
	op.fd = l;
	ASSERT_EQ(0, afx_call_start(&op));
	ASSERT_EQ(0, afx_call_blocked(&op));
	ASSERT_EQ(0, afx_call_signal(&op, SIGUSR1));
	/* handler ran, accept went back to sleep */
	EXPECT_FALSE(afx_call_done(&op, AFX_STILL_BLOCKED_MS));
	EXPECT_EQ(1, afx_sig_hits[SIGUSR1]);
	ASSERT_EQ(0, afx_call_blocked(&op));
	c = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, c);
	ASSERT_EQ(0, afx_connect_port(c, port));
	ASSERT_TRUE(afx_call_done(&op, AFX_DONE_WAIT_MS));
	afx_call_join(&op);
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
	ASSERT_EQ(0, afx_set_timeo(l, SO_SNDTIMEO, 1500));
	ASSERT_EQ(0, afx_set_timeo(l, SO_RCVTIMEO, 2500));
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
	pid = afx_child_fork(0);
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
	pid = afx_child_fork(0);
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

AFX_TEST_MAIN
