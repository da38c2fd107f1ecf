// SPDX-License-Identifier: GPL-2.0
/*
 * afx_netns_test.c - network namespaces: names, reachability
 * and broadcast stay inside one.
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
#include "afx_introspect.h"

/* ------------------------------------------------------------------- netns */

/*
 * Child in a new netns: binds the parent's port (allowed), cannot reach the
 * parent's other port, then publishes a port of its own and waits for the
 * parent to try it. Exit code: 0 ok, else the failing step.
 */
static int netns_child(FIXTURE_DATA(common) *self, int to_parent,
		       int from_parent)
{
	int type = self->type;
	int fd, own, fd2;
	char c = 0;

	if (unshare(CLONE_NEWNET))
		return 100;
	/* the parent's port_a is free in here */
	own = afx_target(type, AFX_ADDR_ANY, self->port_a);
	if (own < 0)
		return 2;
	/* the parent's port_b is not visible */
	fd = afx_socket(type);
	if (fd < 0)
		return 3;
	errno = 0;
	if (afx_reach(fd, type, AFX_ADDR_LOCAL, self->port_b) == 0 ||
	    errno != ECONNREFUSED)
		return 4;
	close(fd);
	/* but our own port_a is */
	fd = afx_socket(type);
	if (fd < 0 || afx_reach(fd, type, AFX_ADDR_LOCAL, self->port_a))
		return 5;
	close(fd);
	/* broadcast in here does not reach the parent's port_d */
	if (type == SOCK_DGRAM) {
		fd = afx_socket(SOCK_DGRAM);
		if (fd < 0 || afx_set_int(fd, SOL_SOCKET, SO_BROADCAST, 1))
			return 6;
		if (afx_reach(fd, SOCK_DGRAM, AFX_ADDR_BROADCAST, self->port_d))
			return 7;
		close(fd);
	}
	/* a port only we have: port_c */
	fd2 = afx_target(type, AFX_ADDR_LOCAL, self->port_c);
	if (fd2 < 0)
		return 8;
	if (write(to_parent, "r", 1) != 1)
		return 9;
	if (read(from_parent, &c, 1) != 1)
		return 10;
	close(fd2);
	close(own);
	return 0;
}

TEST_F(common, netns_isolation)
{
	int a, b, bc = -1, fd, p2c[2], c2p[2], rc;
	char c;
	pid_t pid;

	a = afx_target(self->type, AFX_ADDR_ANY, self->port_a);
	b = afx_target(self->type, AFX_ADDR_LOCAL, self->port_b);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	if (self->type == SOCK_DGRAM) {
		bc = afx_socket(SOCK_DGRAM);
		ASSERT_LE(0, bc);
		ASSERT_EQ(0, afx_set_int(bc, SOL_SOCKET, SO_REUSEADDR, 1));
		ASSERT_EQ(0, afx_bind(bc, AFX_ADDR_ANY, self->port_d));
	}
	ASSERT_EQ(0, pipe(p2c));
	ASSERT_EQ(0, pipe(c2p));
	pid = afx_child_fork(0);
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(p2c[1]);
		close(c2p[0]);
		_exit(netns_child(self, c2p[1], p2c[0]));
	}
	close(p2c[0]);
	close(c2p[1]);

	if (read(c2p[0], &c, 1) == 1) {
		/* the child's port_c does not exist for us */
		fd = afx_socket(self->type);
		ASSERT_LE(0, fd);
		errno = 0;
		EXPECT_EQ(-1, afx_reach(fd, self->type, AFX_ADDR_LOCAL, self->port_c));
		EXPECT_EQ(ECONNREFUSED, errno) TH_LOG("%s", strerror(errno));
		close(fd);
	}
	ASSERT_EQ(1, write(p2c[1], "x", 1));
	rc = afx_wait_child(pid);
	if (rc == 100)
		SKIP(return, "unshare(CLONE_NEWNET) failed in the child");
	EXPECT_EQ(0, rc) TH_LOG("netns child failed at step %d", rc);

	/* nothing from the child's netns arrived here */
	if (self->type == SOCK_DGRAM) {
		errno = 0;
		EXPECT_EQ(-1, recv(a, &c, 1, MSG_DONTWAIT));
		EXPECT_EQ(EAGAIN, errno);
		errno = 0;
		EXPECT_EQ(-1, recv(bc, &c, 1, MSG_DONTWAIT));
		EXPECT_EQ(EAGAIN, errno);
		close(bc);
	} else {
		EXPECT_EQ(0, afx_poll(a, POLLIN, 0));
	}
	/* our own sockets still work */
	fd = afx_socket(self->type);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, afx_reach(fd, self->type, AFX_ADDR_LOCAL, self->port_b));
	close(fd);
	close(a);
	close(b);
	close(p2c[1]);
	close(c2p[0]);
}

/* ---- network namespaces ---------------------------------------------------- */

/*
 * A child in a new network namespace and the parent each see their own
 * sockets only, in /proc/net/afx, sock_diag dumps and afx-ss; both may
 * bind the same port.
 */
TEST(netns_isolation)
{
	uint32_t port_ns = afx_free_port(0);
	uint32_t port_ns2 = afx_free_port(0);
	int tochild[2], toparent[2], l, d, i, n;
	unsigned long child_ino[2], parent_ino;
	static struct dent dents[4096];
	static struct ssline ss[4096];
	struct afx_diag_req req;
	struct pline p;
	pid_t pid;
	int status;

	afx_watchdog(WATCHDOG_SEC);
	ASSERT_EQ(0, pipe(tochild));
	ASSERT_EQ(0, pipe(toparent));
	pid = afx_child_fork(0);
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int cl, cd, m, bad = 0;

		afx_watchdog(WATCHDOG_SEC);
		if (unshare(CLONE_NEWNET))
			_exit(4);	/* skip */
		cl = afx_socket(SOCK_STREAM);
		cd = afx_socket(SOCK_DGRAM);
		if (cl < 0 || cd < 0 || afx_bind(cl, AFX_ADDR_ANY, port_ns) ||
		    listen(cl, 4) || afx_bind(cd, AFX_ADDR_ANY, port_ns2))
			_exit(10);
		child_ino[0] = ino_of(cl);
		child_ino[1] = ino_of(cd);
		if (write(toparent[1], child_ino, sizeof(child_ino)) < 0)
			_exit(11);
		/* Wait for the parent's sockets on the same ports. */
		if (read(tochild[0], &parent_ino, sizeof(parent_ino)) !=
		    sizeof(parent_ino))
			_exit(12);
		/* Only our two sockets: /proc, sock_diag and afx-ss. */
		m = proc_read(&p, 1, NULL, 0);
		if (m != 2)
			bad |= 1;
		if (proc_find(parent_ino, &p) != 0)
			bad |= 2;
		req = diag_req(SHOW_ALL);
		m = diag_query(&req, 1, dents, 4096);
		if (m != 2 || !dent_find(dents, m, child_ino[0]) ||
		    !dent_find(dents, m, child_ino[1]))
			bad |= 4;
		m = afx_ss("-a -e", ss, 4096, NULL, 0);
		if (m != 2 || !ss_find(ss, m, child_ino[0]) ||
		    !ss_find(ss, m, child_ino[1]))
			bad |= 8;
		_exit(bad ? 20 + bad : 0);
	}
	ASSERT_EQ(sizeof(child_ino), read(toparent[0], child_ino,
					  sizeof(child_ino)));

	/* The parent namespace does not see the child's sockets... */
	EXPECT_EQ(0, proc_find(child_ino[0], &p));
	EXPECT_EQ(0, proc_find(child_ino[1], &p));
	EXPECT_EQ(0, proc_count_port(port_ns));
	EXPECT_EQ(0, proc_count_port(port_ns2));
	req = diag_req(SHOW_ALL);
	n = diag_query(&req, 1, dents, 4096);
	ASSERT_LE(0, n);
	EXPECT_EQ(NULL, dent_find(dents, n, child_ino[0]));
	EXPECT_EQ(NULL, dent_find(dents, n, child_ino[1]));
	for (i = 0; i < n && i < 4096; i++)
		EXPECT_NE(port_ns, dents[i].has_name ? dents[i].name.adiag_port : 0);
	n = afx_ss("-a -e", ss, 4096, NULL, 0);
	ASSERT_LE(0, n);
	EXPECT_EQ(NULL, ss_find(ss, n, child_ino[0]));
	EXPECT_EQ(NULL, ss_find(ss, n, child_ino[1]));
	/* ...nor can a single-socket request reach them. */
	req.adiag_ino = (uint32_t)child_ino[0];
	EXPECT_EQ(-ENOENT, diag_query(&req, 0, dents, 1));

	/* The same ports are free here. */
	l = afx_socket(SOCK_STREAM);
	d = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, l);
	ASSERT_LE(0, d);
	ASSERT_EQ(0, afx_bind(l, AFX_ADDR_ANY, port_ns));
	ASSERT_EQ(0, listen(l, 4));
	ASSERT_EQ(0, afx_bind(d, AFX_ADDR_ANY, port_ns2));
	EXPECT_EQ(1, proc_count_port(port_ns));
	parent_ino = ino_of(l);
	ASSERT_EQ(sizeof(parent_ino), write(tochild[1], &parent_ino,
					    sizeof(parent_ino)));

	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	if (WEXITSTATUS(status) == 4)
		SKIP(return, "unshare(CLONE_NEWNET) failed");
	EXPECT_EQ(0, WEXITSTATUS(status))
		TH_LOG("child status %d (20 + bits: 1 proc count, 2 parent visible, 4 diag, 8 afx-ss)",
		       WEXITSTATUS(status));
	close(l);
	close(d);
}

/* ---- sock_diag ------------------------------------------------------------- */

/* afx_diag loaded for these tests, and unloaded after them if we loaded it. */
static void __attribute__((constructor)) diag_setup(void)
{
	afx_diag_setup();
}

static void __attribute__((destructor)) diag_restore(void)
{
	afx_diag_restore();
}

AFX_TEST_MAIN
