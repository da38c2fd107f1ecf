// SPDX-License-Identifier: GPL-2.0
/*
 * afx_proc_test.c - /proc/net/afx: its format, the
 * states and queues of stream and datagram sockets, owners (uid).
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

/* afx_diag loaded for these tests, and unloaded after them if we loaded it. */
static void __attribute__((constructor)) diag_setup(void)
{
	afx_diag_setup();
}

static void __attribute__((destructor)) diag_restore(void)
{
	afx_diag_restore();
}

TEST(proc_format)
{
	static struct pline all[4096];
	char hdr[256], line[512];
	int fd, n;
	FILE *f;

	afx_watchdog(WATCHDOG_SEC);
	fd = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, fd);

	n = proc_read(all, 4096, hdr, sizeof(hdr));
	ASSERT_LE(1, n) TH_LOG("%s: %s", PROC_AFX, strerror(errno));
	EXPECT_STREQ(PROC_HEADER, hdr);

	/* No kernel pointers: no 16-digit hex word anywhere. */
	f = fopen(PROC_AFX, "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		char *save, *w;

		for (w = strtok_r(line, " \n:", &save); w;
		     w = strtok_r(NULL, " \n:", &save))
			EXPECT_GT(16, (int)strlen(w)) TH_LOG("word '%s'", w);
	}
	fclose(f);
	close(fd);
}

TEST(proc_stream_states)
{
	uint32_t port_listen = afx_free_port(0);
	int l, c1, c2, a1, u;
	struct pline p, pc1, pa1;
	unsigned long c1_port, c2_port;
	char buf[100];

	afx_watchdog(WATCHDOG_SEC);
	/* Backlog 0: the accept queue holds one connection. */
	l = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, l);
	ASSERT_EQ(0, afx_bind(l, AFX_ADDR_ANY, port_listen));
	ASSERT_EQ(0, listen(l, 0));
	u = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, u);

	ASSERT_EQ(1, proc_find(ino_of(l), &p));
	EXPECT_EQ(SOCK_STREAM, p.type);
	EXPECT_EQ(ST_LISTEN, p.state);
	EXPECT_EQ(AFX_ADDR_ANY, p.laddr);
	EXPECT_EQ(port_listen, p.lport);
	EXPECT_EQ(0, p.paddr);
	EXPECT_EQ(0, p.pport);
	EXPECT_EQ(0, p.rq);
	EXPECT_EQ(0, p.uid);

	ASSERT_EQ(1, proc_find(ino_of(u), &p));
	EXPECT_EQ(ST_CLOSE, p.state);
	EXPECT_EQ(0, p.lport);
	EXPECT_EQ(0, p.pport);

	/* The first connection goes on the accept queue at once. */
	c1 = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, c1);
	ASSERT_EQ(0, afx_connect_port(c1, port_listen));
	c1_port = afx_local_port(c1);
	ASSERT_EQ(1, proc_find(ino_of(c1), &pc1));
	EXPECT_EQ(ST_ESTABLISHED, pc1.state);
	EXPECT_EQ(c1_port, pc1.lport);
	EXPECT_EQ(AFX_ADDR_LOCAL, pc1.paddr);
	EXPECT_EQ(port_listen, pc1.pport);
	ASSERT_EQ(1, proc_find(ino_of(l), &p));
	EXPECT_EQ(1, p.rq);		/* one connection to accept */

	/* The second waits for room: connecting; its child is SYN-RECV. */
	c2 = afx_socket(SOCK_STREAM | SOCK_NONBLOCK);
	ASSERT_LE(0, c2);
	ASSERT_EQ(-1, afx_connect_port(c2, port_listen));
	ASSERT_EQ(EINPROGRESS, errno);
	c2_port = afx_local_port(c2);
	ASSERT_EQ(1, proc_find(ino_of(c2), &p));
	EXPECT_EQ(ST_SYN_SENT, p.state);
	EXPECT_EQ(port_listen, p.pport);

	/* Children nobody accepted yet have inode 0. */
	{
		static struct pline all[4096];
		int n = proc_read(all, 4096, NULL, 0), i, est = 0, syn = 0;

		ASSERT_LT(0, n);
		for (i = 0; i < n && i < 4096; i++) {
			if (all[i].ino || all[i].lport != port_listen)
				continue;
			EXPECT_EQ(AFX_ADDR_LOCAL, all[i].laddr);
			if (all[i].pport == c1_port && all[i].state == ST_ESTABLISHED)
				est++;
			if (all[i].pport == c2_port && all[i].state == ST_SYN_RECV)
				syn++;
		}
		EXPECT_EQ(1, est);
		EXPECT_EQ(1, syn);
	}

	/* accept() hands out c1's child and lets c2 in. */
	a1 = accept(l, NULL, NULL);
	ASSERT_LE(0, a1);
	ASSERT_EQ(1, proc_find(ino_of(a1), &pa1));
	EXPECT_EQ(ST_ESTABLISHED, pa1.state);
	EXPECT_EQ(AFX_ADDR_LOCAL, pa1.laddr);
	EXPECT_EQ(port_listen, pa1.lport);
	EXPECT_EQ(c1_port, pa1.pport);
	ASSERT_EQ(1, afx_wait_event(c2, POLLOUT, 2000));
	ASSERT_EQ(1, proc_find(ino_of(c2), &p));
	EXPECT_EQ(ST_ESTABLISHED, p.state);

	/* Queues: bytes waiting at a1 are c1's send queue. */
	memset(buf, 'q', sizeof(buf));
	ASSERT_EQ(100, send(c1, buf, 100, 0));
	ASSERT_EQ(1, proc_find(ino_of(a1), &p));
	EXPECT_EQ(100, p.rq);
	EXPECT_EQ(0, p.wq);
	ASSERT_EQ(1, proc_find(ino_of(c1), &p));
	EXPECT_EQ(0, p.rq);
	EXPECT_EQ(100, p.wq);
	ASSERT_EQ(40, recv(a1, buf, 40, 0));
	ASSERT_EQ(1, proc_find(ino_of(a1), &p));
	EXPECT_EQ(60, p.rq);
	ASSERT_EQ(1, proc_find(ino_of(c1), &p));
	EXPECT_EQ(60, p.wq);

	close(u);
	close(a1);
	close(c1);
	close(c2);
	close(l);
}

TEST(proc_closed_sockets_vanish)
{
	unsigned long ino;
	struct pline p;
	int fd;

	afx_watchdog(WATCHDOG_SEC);
	fd = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, fd);
	ino = ino_of(fd);
	ASSERT_EQ(1, proc_find(ino, &p));
	close(fd);
	EXPECT_EQ(0, proc_find(ino, &p));
}

TEST(proc_dgram)
{
	uint32_t port_dgram = afx_free_port(0);
	int r, s, c;
	struct pline p;
	char buf[64];
	long sport;

	afx_watchdog(WATCHDOG_SEC);
	r = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, r);
	ASSERT_EQ(0, afx_bind(r, AFX_ADDR_LOCAL, port_dgram));
	s = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, s);

	ASSERT_EQ(1, proc_find(ino_of(r), &p));
	EXPECT_EQ(SOCK_DGRAM, p.type);
	EXPECT_EQ(ST_CLOSE, p.state);
	EXPECT_EQ(AFX_ADDR_LOCAL, p.laddr);
	EXPECT_EQ(port_dgram, p.lport);
	EXPECT_EQ(0, p.pport);
	EXPECT_EQ(0, p.rq);

	/* Two datagrams, 10 and 20 bytes: 30 payload bytes queued. */
	ASSERT_EQ(0, afx_connect_port(s, port_dgram));
	sport = afx_local_port(s);
	memset(buf, 'd', sizeof(buf));
	ASSERT_EQ(10, send(s, buf, 10, 0));
	ASSERT_EQ(20, send(s, buf, 20, 0));
	ASSERT_EQ(1, proc_find(ino_of(r), &p));
	EXPECT_EQ(30, p.rq);
	EXPECT_EQ(0, p.wq);

	/* A connected datagram socket is established, with its peer. */
	ASSERT_EQ(1, proc_find(ino_of(s), &p));
	EXPECT_EQ(ST_ESTABLISHED, p.state);
	EXPECT_EQ(sport, (long)p.lport);
	EXPECT_EQ(AFX_ADDR_ANY, p.laddr);
	EXPECT_EQ(AFX_ADDR_LOCAL, p.paddr);
	EXPECT_EQ(port_dgram, p.pport);

	ASSERT_EQ(10, recv(r, buf, sizeof(buf), 0));
	ASSERT_EQ(1, proc_find(ino_of(r), &p));
	EXPECT_EQ(20, p.rq);

	/* connect(AF_UNSPEC) dissolves the association. */
	{
		struct sockaddr sa = { .sa_family = AF_UNSPEC };

		ASSERT_EQ(0, connect(s, &sa, sizeof(sa)));
		ASSERT_EQ(1, proc_find(ino_of(s), &p));
		EXPECT_EQ(ST_CLOSE, p.state);
		EXPECT_EQ(0, p.pport);
	}

	c = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, c);
	ASSERT_EQ(1, proc_find(ino_of(c), &p));
	EXPECT_EQ(0, p.lport);
	close(c);
	close(s);
	close(r);
}

/* A socket of uid 65534 shows that uid, in /proc and sock_diag. */
TEST(proc_diag_uid)
{
	uint32_t port_uid = afx_free_port(0);
	int pfd[2], gate[2];
	unsigned long ino;
	struct pline p;
	struct dent d;
	struct afx_diag_req req;
	pid_t pid;
	char c;

	afx_watchdog(WATCHDOG_SEC);
	if (geteuid() != 0)
		SKIP(return, "needs root to switch uid");
	ASSERT_EQ(0, pipe(pfd));
	ASSERT_EQ(0, pipe(gate));
	pid = afx_child_fork(0);
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd;

		afx_watchdog(WATCHDOG_SEC);
		if (setgid(65534) || setuid(65534))
			_exit(2);
		fd = afx_socket(SOCK_DGRAM);
		if (fd < 0 || afx_bind(fd, AFX_ADDR_ANY, port_uid))
			_exit(3);
		ino = ino_of(fd);
		if (write(pfd[1], &ino, sizeof(ino)) != sizeof(ino))
			_exit(4);
		if (read(gate[0], &c, 1) < 0)
			_exit(5);
		_exit(0);
	}
	ASSERT_EQ(sizeof(ino), read(pfd[0], &ino, sizeof(ino)));

	ASSERT_EQ(1, proc_find(ino, &p));
	EXPECT_EQ(65534, p.uid);
	EXPECT_EQ(port_uid, p.lport);

	req = diag_req(AFX_DIAG_SHOW_UID);
	req.adiag_ino = (uint32_t)ino;
	ASSERT_EQ(1, diag_query(&req, 0, &d, 1));
	EXPECT_TRUE(d.has_uid);
	EXPECT_EQ(65534, d.uid);

	ASSERT_EQ(1, write(gate[1], "x", 1));
	ASSERT_EQ(pid, waitpid(pid, NULL, 0));
}

AFX_TEST_MAIN
