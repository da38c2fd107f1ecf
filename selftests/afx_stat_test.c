// SPDX-License-Identifier: GPL-2.0
/*
 * afx_stat_test.c - /proc/net/afx_stat, the per-netns
 * counters of connections, refusals, datagrams, drops, bytes and sockets.
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

/* ---- counters ---------------------------------------------------------------- */

static void expect_stats(struct __test_metadata *_metadata,
			 const unsigned long long *want)
{
	unsigned long long got[NSTATS];
	size_t i;

	ASSERT_EQ(0, stats_read(got));
	for (i = 0; i < NSTATS; i++)
		EXPECT_EQ(want[i], got[i]) TH_LOG("counter %s", stat_names[i]);
}

TEST(stat_format)
{
	char line[256], name[128];
	unsigned long long v;
	size_t i = 0;
	FILE *f;

	f = fopen(PROC_STAT, "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		ASSERT_EQ(2, sscanf(line, "%127s %llu", name, &v));
		ASSERT_GT(NSTATS, i);
		EXPECT_STREQ(stat_names[i], name);
		i++;
	}
	fclose(f);
	EXPECT_EQ(NSTATS, i);
}

TEST(stat_stream)
{
	uint32_t port_listen = afx_free_port(0);
	uint32_t port_nobody = afx_free_port(0);
	unsigned long long want[NSTATS] = { 0 };
	int l, c1, c2, c3, c4, a1, a2, x;
	char buf[100];

	afx_watchdog(WATCHDOG_SEC);
	if (unshare(CLONE_NEWNET))
		SKIP(return, "unshare(CLONE_NEWNET): %s", strerror(errno));
	expect_stats(_metadata, want);

	l = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, l);
	ASSERT_EQ(0, afx_bind(l, AFX_ADDR_ANY, port_listen));
	ASSERT_EQ(0, listen(l, 1));

	/* A connection. */
	c1 = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, c1);
	ASSERT_EQ(0, afx_connect_port(c1, port_listen));
	want[S_CONN]++;
	want[S_SOCKS] += 3;	/* l, c1 and the server side of c1's */
	expect_stats(_metadata, want);

	/* Nobody listening. */
	x = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, x);
	ASSERT_EQ(-1, afx_connect_port(x, port_nobody));
	ASSERT_EQ(ECONNREFUSED, errno);
	want[S_REF_NOLISTEN]++;
	want[S_SOCKS]++;	/* x: a refusal creates no server side */
	expect_stats(_metadata, want);

	/* A full accept queue: the connector waits (overflow)... */
	c2 = afx_socket(SOCK_STREAM | SOCK_NONBLOCK);
	ASSERT_LE(0, c2);
	ASSERT_EQ(-1, afx_connect_port(c2, port_listen));
	ASSERT_EQ(EINPROGRESS, errno);
	want[S_OVERFLOW]++;
	want[S_SOCKS] += 2;	/* c2, and its server side, waiting */
	expect_stats(_metadata, want);
	/* ...until accept() makes room: then it is connected. */
	a1 = accept(l, NULL, NULL);
	ASSERT_LE(0, a1);
	want[S_CONN]++;
	expect_stats(_metadata, want);

	/* Full again, and the listener refuses when full. */
	ASSERT_EQ(0, afx_set_int(l, SOL_X, X_REFUSE_WHEN_FULL, 1));
	c3 = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, c3);
	ASSERT_EQ(-1, afx_connect_port(c3, port_listen));
	ASSERT_EQ(ECONNREFUSED, errno);
	want[S_OVERFLOW]++;
	want[S_REF_FULL]++;
	want[S_SOCKS]++;	/* c3 alone */
	expect_stats(_metadata, want);

	/* A waiting connector whose listener closes is refused. */
	ASSERT_EQ(0, afx_set_int(l, SOL_X, X_REFUSE_WHEN_FULL, 0));
	c4 = afx_socket(SOCK_STREAM | SOCK_NONBLOCK);
	ASSERT_LE(0, c4);
	ASSERT_EQ(-1, afx_connect_port(c4, port_listen));
	ASSERT_EQ(EINPROGRESS, errno);
	want[S_OVERFLOW]++;
	want[S_SOCKS] += 2;
	expect_stats(_metadata, want);

	/* Bytes both ways; a MSG_PEEK is not a read. */
	memset(buf, 'b', sizeof(buf));
	ASSERT_EQ(100, send(c1, buf, 100, 0));
	want[S_BOUT] += 100;
	expect_stats(_metadata, want);
	ASSERT_EQ(10, recv(a1, buf, 10, MSG_PEEK));
	expect_stats(_metadata, want);
	ASSERT_EQ(100, recv(a1, buf, sizeof(buf), MSG_WAITALL));
	want[S_BIN] += 100;
	expect_stats(_metadata, want);

	/* Taking c2's connection lets c4's in. */
	a2 = accept(l, NULL, NULL);
	ASSERT_LE(0, a2);
	want[S_CONN]++;
	expect_stats(_metadata, want);

	/*
	 * The queue is full with c4's connection; a new waiter is refused
	 * when the listener closes.
	 */
	c3 = afx_socket(SOCK_STREAM | SOCK_NONBLOCK);
	ASSERT_LE(0, c3);
	ASSERT_EQ(-1, afx_connect_port(c3, port_listen));
	ASSERT_EQ(EINPROGRESS, errno);
	want[S_OVERFLOW]++;
	want[S_SOCKS] += 2;
	close(l);
	want[S_REF_NOLISTEN]++;
	expect_stats(_metadata, want);
	EXPECT_EQ(ECONNREFUSED, afx_so_error(c3));
}

TEST(stat_dgram)
{
	uint32_t port_dgram = afx_free_port(0);
	uint32_t port_dgram2 = afx_free_port(0);
	uint32_t port_ns = afx_free_port(0);
	uint32_t port_ns2 = afx_free_port(0);
	uint32_t port_nobody = afx_free_port(0);
	unsigned long long want[NSTATS] = { 0 };
	int a, b, f, r, s, one = 1, small = 1;
	struct sockaddr_x sx;
	char buf[4096];

	afx_watchdog(WATCHDOG_SEC);
	if (unshare(CLONE_NEWNET))
		SKIP(return, "unshare(CLONE_NEWNET): %s", strerror(errno));
	memset(buf, 'g', sizeof(buf));

	a = afx_socket(SOCK_DGRAM);
	b = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	ASSERT_EQ(0, afx_bind(a, AFX_ADDR_ANY, port_dgram));
	ASSERT_EQ(0, afx_bind(b, AFX_ADDR_ANY, port_dgram2));
	want[S_SOCKS] += 2;

	/* Sent, then received. */
	sx = afx_sockaddr(AFX_ADDR_LOCAL, port_dgram2);
	ASSERT_EQ(30, sendto(a, buf, 30, 0, AFX_SA(&sx), AFX_ADDRLEN));
	want[S_DSENT]++;
	want[S_BOUT] += 30;
	expect_stats(_metadata, want);
	ASSERT_EQ(30, recv(b, buf, sizeof(buf), MSG_PEEK));
	expect_stats(_metadata, want);
	ASSERT_EQ(30, recv(b, buf, sizeof(buf), 0));
	want[S_DRCVD]++;
	want[S_BIN] += 30;
	expect_stats(_metadata, want);

	/* No such port. */
	sx = afx_sockaddr(AFX_ADDR_LOCAL, port_nobody);
	ASSERT_EQ(-1, sendto(a, buf, 5, 0, AFX_SA(&sx), AFX_ADDRLEN));
	ASSERT_EQ(ECONNREFUSED, errno);
	want[S_DROP_NOPORT]++;
	expect_stats(_metadata, want);

	/* Filtered: f is connected to a, so b's datagram is refused. */
	f = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, f);
	ASSERT_EQ(0, afx_bind(f, AFX_ADDR_ANY, port_ns));
	ASSERT_EQ(0, afx_connect_port(f, port_dgram));
	want[S_SOCKS]++;
	sx = afx_sockaddr(AFX_ADDR_LOCAL, port_ns);
	ASSERT_EQ(-1, sendto(b, buf, 5, 0, AFX_SA(&sx), AFX_ADDRLEN));
	ASSERT_EQ(ECONNREFUSED, errno);
	want[S_DROP_FILT]++;
	expect_stats(_metadata, want);

	/*
	 * Broadcast to a full receiver: r has the smallest receive buffer
	 * and one big datagram queued (an empty queue takes any size).
	 */
	r = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, r);
	ASSERT_EQ(0, setsockopt(r, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)));
	ASSERT_EQ(0, afx_bind(r, AFX_ADDR_ANY, port_ns2));
	sx = afx_sockaddr(AFX_ADDR_LOCAL, port_ns2);
	ASSERT_EQ(4000, sendto(a, buf, 4000, 0, AFX_SA(&sx), AFX_ADDRLEN));
	want[S_DSENT]++;
	want[S_BOUT] += 4000;
	s = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, s);
	ASSERT_EQ(0, setsockopt(s, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)));
	sx = afx_sockaddr(AFX_ADDR_BROADCAST, port_ns2);
	ASSERT_EQ(8, sendto(s, buf, 8, 0, AFX_SA(&sx), AFX_ADDRLEN));
	want[S_DSENT]++;
	want[S_BOUT] += 8;
	want[S_DROP_BCAST]++;
	want[S_SOCKS] += 2;	/* r and s */
	expect_stats(_metadata, want);

	/* A broadcast copy a connected socket refuses is a filtered drop. */
	sx = afx_sockaddr(AFX_ADDR_BROADCAST, port_ns);
	ASSERT_EQ(8, sendto(s, buf, 8, 0, AFX_SA(&sx), AFX_ADDRLEN));
	want[S_DSENT]++;
	want[S_BOUT] += 8;
	want[S_DROP_FILT]++;
	expect_stats(_metadata, want);
}

/* Counters are per namespace: the init namespace's do not move. */
TEST(stat_per_netns)
{
	uint32_t port_nobody = afx_free_port(0);
	unsigned long long before[NSTATS], after[NSTATS];
	pid_t pid;
	int status;
	size_t i;

	afx_watchdog(WATCHDOG_SEC);
	ASSERT_EQ(0, stats_read(before));
	pid = afx_child_fork(0);
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd;
		struct sockaddr_x sx = afx_sockaddr(AFX_ADDR_LOCAL, port_nobody);

		if (unshare(CLONE_NEWNET))
			_exit(4);
		fd = afx_socket(SOCK_DGRAM);
		if (fd < 0 || afx_connect_port(afx_socket(SOCK_STREAM), port_nobody) == 0)
			_exit(10);
		if (sendto(fd, "x", 1, 0, AFX_SA(&sx), AFX_ADDRLEN) != -1)
			_exit(11);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	if (WEXITSTATUS(status) == 4)
		SKIP(return, "unshare(CLONE_NEWNET) failed");
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(0, stats_read(after));
	for (i = 0; i < NSTATS; i++)
		EXPECT_EQ(before[i], after[i]) TH_LOG("counter %s", stat_names[i]);
}

AFX_TEST_MAIN
