// SPDX-License-Identifier: GPL-2.0
/*
 * afx_stream_connect_wait_test.c - connect() to a listener whose accept
 * queue is full: blocking connectors (timeouts, signals, withdrawal,
 * X_REFUSE_WHEN_FULL) and nonblocking ones (EINPROGRESS, poll, SO_ERROR).
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
	struct afx_call op = { .kind = AFX_CALL_CONNECT, .fd = self->c,
			       .port = self->port };
	struct sockaddr_x sx;
	long cport;
	int a1, a2;
	char ch;

	ASSERT_EQ(0, afx_call_start(&op));
	ASSERT_EQ(0, afx_call_blocked(&op)) TH_LOG("connect did not block");
	EXPECT_FALSE(afx_call_done(&op, AFX_STILL_BLOCKED_MS));
	/* connecting: no events yet */
	EXPECT_EQ(0, afx_poll(self->c, POLLIN | POLLOUT | POLLRDHUP, 0));

	a1 = accept(self->l, NULL, NULL);
	ASSERT_LE(0, a1);
	ASSERT_TRUE(afx_call_done(&op, AFX_DONE_WAIT_MS))
		TH_LOG("connect not woken by accept");
	afx_call_join(&op);
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
	double ts;
	struct sockaddr_x sx;
	int a, r;
	long t;

	ASSERT_EQ(0, afx_set_timeo(self->c, SO_SNDTIMEO, 300));
	ts = afx_now_ms();
	r = afx_connect_port(self->c, self->port);
	t = (long)(afx_now_ms() - ts);
	ASSERT_EQ(-1, r);
	EXPECT_EQ(ETIMEDOUT, errno);
	EXPECT_LE(250, t);
	EXPECT_GT(5000, t);
	/* unconnected again */
	EXPECT_EQ(-1, afx_getpeername(self->c, &sx));
	EXPECT_EQ(ENOTCONN, errno);
	EXPECT_EQ(POLLOUT | POLLHUP, afx_poll(self->c, AFX_POLL_ALL, 0));
	/* the attempt was cancelled: only the first connection is queued */
	a = accept(self->l, NULL, NULL);
	ASSERT_LE(0, a);
	close(a);
	EXPECT_EQ(-1, afx_accept_nonblocking(self->l));
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
	struct afx_call op = { .kind = AFX_CALL_CONNECT, .fd = self->c,
			       .port = self->port };
	struct sockaddr_x sx;
	int a;

	ASSERT_EQ(0, afx_catch_signal(SIGUSR1, 0));
	ASSERT_EQ(0, afx_call_start(&op));
	ASSERT_EQ(0, afx_call_blocked(&op));
	ASSERT_EQ(0, afx_call_signal(&op, SIGUSR1));
	ASSERT_TRUE(afx_call_done(&op, AFX_DONE_WAIT_MS))
		TH_LOG("connect not interrupted by the signal");
	afx_call_join(&op);
	EXPECT_EQ(1, afx_sig_hits[SIGUSR1]);
	EXPECT_EQ(-1, op.ret);
	EXPECT_EQ(EINTR, op.err);
	EXPECT_EQ(-1, afx_getpeername(self->c, &sx));
	EXPECT_EQ(ENOTCONN, errno);
	/* cancelled: not let in when accept makes room */
	a = accept(self->l, NULL, NULL);
	ASSERT_LE(0, a);
	close(a);
	EXPECT_EQ(-1, afx_accept_nonblocking(self->l));
	EXPECT_EQ(EAGAIN, errno);
}

TEST_F(fullq, blocking_connect_then_listener_close_econnrefused)
{
	struct afx_call op = { .kind = AFX_CALL_CONNECT, .fd = self->c,
			       .port = self->port };

	ASSERT_EQ(0, afx_call_start(&op));
	ASSERT_EQ(0, afx_call_blocked(&op));
	EXPECT_FALSE(afx_call_done(&op, AFX_STILL_BLOCKED_MS));
	close(self->l);
	self->l = -1;
	ASSERT_TRUE(afx_call_done(&op, AFX_DONE_WAIT_MS))
		TH_LOG("connect not woken by listener close");
	afx_call_join(&op);
	EXPECT_EQ(-1, op.ret);
	EXPECT_EQ(ECONNREFUSED, op.err);
}

TEST_F(fullq, refuse_when_full_blocking_connect_econnrefused_at_once)
{
	double ts;
	int v, r, a;
	long t;

	ASSERT_EQ(0, afx_set_int(self->l, SOL_X, X_REFUSE_WHEN_FULL, 1));
	ASSERT_EQ(0, afx_get_int(self->l, SOL_X, X_REFUSE_WHEN_FULL, &v));
	EXPECT_EQ(1, v);
	ts = afx_now_ms();
	r = afx_connect_port(self->c, self->port);
	t = (long)(afx_now_ms() - ts);
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
	struct afx_call cn = { .kind = AFX_CALL_CONNECT, .fd = self->c,
			       .port = self->port };
	struct afx_call rd = { .kind = AFX_CALL_RECV, .fd = self->c, .buf = buf,
			       .len = sizeof(buf) };

	ASSERT_EQ(0, afx_catch_signal(SIGUSR1, 0));
	ASSERT_EQ(0, afx_call_start(&cn));
	ASSERT_EQ(0, afx_call_blocked(&cn));
	/* a second thread waits in recv() for the attempt to finish */
	ASSERT_EQ(0, afx_call_start(&rd));
	ASSERT_EQ(0, afx_call_blocked(&rd));
	ASSERT_EQ(0, afx_call_signal(&cn, SIGUSR1));
	ASSERT_TRUE(afx_call_done(&cn, AFX_DONE_WAIT_MS));
	EXPECT_TRUE(afx_call_done(&rd, AFX_DONE_WAIT_MS))
		TH_LOG("recv() still waits for a withdrawn attempt");
	afx_call_signal(&rd, SIGUSR1);
	afx_call_join(&cn);
	afx_call_join(&rd);
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
	EXPECT_EQ(POLLOUT, afx_poll(nb1, POLLOUT, AFX_DONE_WAIT_MS) & POLLOUT);
	EXPECT_EQ(0, afx_so_error(nb1));
	EXPECT_EQ(0, afx_poll(nb2, POLLOUT, 0));
	p1 = afx_local_port(nb1);

	/* the queue now holds first and nb1, in that order */
	a = accept(self->l, NULL, NULL);
	ASSERT_LE(0, a);
	close(a);
	/* that accept made room for nb2 */
	EXPECT_EQ(POLLOUT, afx_poll(nb2, POLLOUT, AFX_DONE_WAIT_MS) & POLLOUT);
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
	EXPECT_EQ(POLLERR, afx_poll(nb, POLLOUT, AFX_DONE_WAIT_MS) & POLLERR);

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
	EXPECT_EQ(POLLOUT, afx_poll(self->c, AFX_POLL_ALL, AFX_DONE_WAIT_MS));
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
	ASSERT_EQ(POLLIN, afx_poll(self->c, POLLIN, AFX_DONE_WAIT_MS));
	ASSERT_EQ(1, recv(self->c, &ch, 1, 0));
	EXPECT_EQ('y', ch);
	close(a1);
	close(a2);
}

TEST_F(nbconnect, pending_connect_wakes_poll_waiter_on_accept)
{
	struct afx_call op = { .kind = AFX_CALL_POLL, .fd = self->c,
			       .events = POLLOUT, .timeout_ms = 10000 };
	int a;

	ASSERT_EQ(-1, afx_connect_port(self->c, self->port));
	ASSERT_EQ(EINPROGRESS, errno);
	ASSERT_EQ(0, afx_call_start(&op));
	ASSERT_EQ(0, afx_call_blocked(&op));
	EXPECT_FALSE(afx_call_done(&op, AFX_STILL_BLOCKED_MS));
	a = accept(self->l, NULL, NULL);
	ASSERT_LE(0, a);
	ASSERT_TRUE(afx_call_done(&op, AFX_DONE_WAIT_MS))
		TH_LOG("poll(POLLOUT) not woken when the connect completed");
	afx_call_join(&op);
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
	r = afx_poll(self->c, POLLIN | POLLOUT | POLLRDHUP, AFX_DONE_WAIT_MS);
	EXPECT_EQ(POLLERR | POLLHUP, r & (POLLERR | POLLHUP));
	EXPECT_EQ(POLLOUT, r & POLLOUT);
	EXPECT_EQ(ECONNREFUSED, afx_so_error(self->c));
	EXPECT_EQ(0, afx_so_error(self->c));
}

TEST_F(nbconnect, listener_close_wakes_poll_waiter)
{
	struct afx_call op = { .kind = AFX_CALL_POLL, .fd = self->c,
			       .events = POLLOUT, .timeout_ms = 10000 };

	ASSERT_EQ(-1, afx_connect_port(self->c, self->port));
	ASSERT_EQ(EINPROGRESS, errno);
	ASSERT_EQ(0, afx_call_start(&op));
	ASSERT_EQ(0, afx_call_blocked(&op));
	close(self->l);
	self->l = -1;
	ASSERT_TRUE(afx_call_done(&op, AFX_DONE_WAIT_MS));
	afx_call_join(&op);
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
	EXPECT_EQ(POLLOUT, afx_poll(self->c, POLLOUT, AFX_DONE_WAIT_MS));
	EXPECT_EQ(0, afx_poll(d, POLLIN | POLLOUT | POLLRDHUP, 100));
	EXPECT_EQ(-1, afx_connect_port(d, self->port));
	EXPECT_EQ(EALREADY, errno);

	a = accept(self->l, AFX_SA(&sx), &(socklen_t){ sizeof(sx) });
	ASSERT_LE(0, a);
	EXPECT_EQ(port_c, sx.sx_port);
	close(a);
	EXPECT_EQ(POLLOUT, afx_poll(d, POLLOUT, AFX_DONE_WAIT_MS));
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
	ASSERT_EQ(1, epoll_wait(ep, out, 2, AFX_DONE_WAIT_MS))
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

AFX_TEST_MAIN
