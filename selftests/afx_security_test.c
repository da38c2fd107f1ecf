// SPDX-License-Identifier: GPL-2.0
/*
 * afx_security_test - what an unprivileged process can learn and reach.
 *
 *   - No uninitialised byte or kernel pointer reaches userspace: every
 *     output buffer (socket addresses from getsockname, getpeername,
 *     accept and recvfrom; getsockopt values) is filled with a pattern
 *     first, and every byte the call reports is checked, padding
 *     included; bytes past the reported length stay untouched.
 *     /proc/net/afx and /proc/net/afx_stat hold no kernel address.
 *   - SO_PEERCRED read in another user namespace shows the ids mapped
 *     into the reader's namespace (overflow ids where unmapped).
 *   - An unprivileged user in another network namespace neither sees
 *     (/proc/net/afx) nor reaches (connect, sendto) the sockets of this
 *     one, and the other way round.
 *
 * Runs as root in the test VM; drops to nobody (65534) where it says so.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "afx_harness.h"

#define PAT		0xa5
#define NOBODY		65534

/* Every byte of @sx past sx_family/sx_addr/sx_port is zero. */
static bool sockaddr_clean(const struct sockaddr_x *sx)
{
	static const struct sockaddr_x zero;

	return !sx->sx_reserved1 &&
	       !memcmp(sx->sx_zero, zero.sx_zero, sizeof(sx->sx_zero));
}

/* A buffer bigger than the address, filled with the pattern first. */
struct addrbuf {
	struct sockaddr_x sx;
	unsigned char tail[32];
};

static void addrbuf_init(struct addrbuf *b, socklen_t *len)
{
	memset(b, PAT, sizeof(*b));
	*len = sizeof(*b);
}

/* Reported length exact, padding zero, the tail untouched. */
static bool addrbuf_ok(const struct addrbuf *b, socklen_t len)
{
	size_t i;

	if (len != sizeof(struct sockaddr_x) || !sockaddr_clean(&b->sx) ||
	    b->sx.sx_family != afx_family())
		return false;
	for (i = 0; i < sizeof(b->tail); i++)
		if (b->tail[i] != PAT)
			return false;
	return true;
}

TEST(sockaddr_outputs_have_no_stray_bytes)
{
	int l, c, a, d1, d2;
	struct addrbuf b;
	socklen_t len;
	uint32_t port;

	l = afx_listener(SOCK_STREAM, 4, &port);
	ASSERT_LE(0, l);
	c = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, c);
	ASSERT_EQ(0, afx_connect_port(c, port));

	addrbuf_init(&b, &len);
	a = accept(l, AFX_SA(&b), &len);
	ASSERT_LE(0, a);
	EXPECT_TRUE(addrbuf_ok(&b, len));

	addrbuf_init(&b, &len);
	ASSERT_EQ(0, getsockname(c, AFX_SA(&b), &len));
	EXPECT_TRUE(addrbuf_ok(&b, len));
	addrbuf_init(&b, &len);
	ASSERT_EQ(0, getpeername(c, AFX_SA(&b), &len));
	EXPECT_TRUE(addrbuf_ok(&b, len));
	addrbuf_init(&b, &len);
	ASSERT_EQ(0, getpeername(a, AFX_SA(&b), &len));
	EXPECT_TRUE(addrbuf_ok(&b, len));
	/* An unbound socket's name too. */
	d1 = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, d1);
	addrbuf_init(&b, &len);
	ASSERT_EQ(0, getsockname(d1, AFX_SA(&b), &len));
	EXPECT_TRUE(addrbuf_ok(&b, len));

	/* recvfrom's source address. */
	d2 = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, d2);
	ASSERT_EQ(0, afx_bind(d2, AFX_ADDR_ANY, 0));
	ASSERT_EQ(0, afx_connect_port(d1, (uint32_t)afx_local_port(d2)));
	ASSERT_EQ(3, send(d1, "abc", 3, 0));
	{
		char m[8];

		addrbuf_init(&b, &len);
		ASSERT_EQ(3, recvfrom(d2, m, sizeof(m), 0, AFX_SA(&b), &len));
		EXPECT_TRUE(addrbuf_ok(&b, len));
	}
	close(d1);
	close(d2);
	close(a);
	close(c);
	close(l);
}

/* Each option: int value, optlen 4, the rest of the buffer untouched. */
TEST(getsockopt_outputs_have_no_stray_bytes)
{
	static const struct { int level, name; } opts[] = {
		{ SOL_X, X_NONBLOCK }, { SOL_X, X_REFUSE_WHEN_FULL },
		{ SOL_SOCKET, SO_TYPE }, { SOL_SOCKET, SO_ERROR },
		{ SOL_SOCKET, SO_RCVBUF }, { SOL_SOCKET, SO_SNDBUF },
		{ SOL_SOCKET, SO_RCVLOWAT }, { SOL_SOCKET, SO_ACCEPTCONN },
		{ SOL_SOCKET, SO_DOMAIN }, { SOL_SOCKET, SO_PROTOCOL },
		{ SOL_SOCKET, SO_REUSEADDR }, { SOL_SOCKET, SO_BROADCAST },
	};
	unsigned char buf[64];
	socklen_t len;
	size_t i, k;
	int fds[2];

	ASSERT_EQ(0, afx_stream_pair(fds));
	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		memset(buf, PAT, sizeof(buf));
		len = sizeof(buf);
		ASSERT_EQ(0, getsockopt(fds[0], opts[i].level, opts[i].name,
					buf, &len)) TH_LOG("option %zu", i);
		EXPECT_EQ(sizeof(int), len) TH_LOG("option %zu", i);
		for (k = sizeof(int); k < sizeof(buf); k++)
			ASSERT_EQ(PAT, buf[k]) TH_LOG("option %zu byte %zu", i, k);
	}
	/* SO_PEERCRED: exactly a struct ucred, every field meaningful. */
	{
		struct ucred uc;

		memset(&uc, PAT, sizeof(uc));
		len = sizeof(uc);
		ASSERT_EQ(0, getsockopt(fds[0], SOL_SOCKET, SO_PEERCRED, &uc,
					&len));
		EXPECT_EQ(sizeof(uc), len);
		EXPECT_EQ(getpid(), uc.pid);
		EXPECT_EQ(getuid(), uc.uid);
		EXPECT_EQ(getgid(), uc.gid);
	}
	close(fds[0]);
	close(fds[1]);
}

/* A kernel address in text: 16 hex digits beginning ffff (x86-64). */
static bool has_kernel_pointer(const char *text)
{
	const char *p = text;
	int run;

	for (; (p = strstr(p, "ffff")); p++) {
		const char *q = p;

		while (q > text && strchr("0123456789abcdefABCDEF", q[-1]))
			q--;
		for (run = 0; q[run] && strchr("0123456789abcdefABCDEF", q[run]);
		     run++)
			;
		if (run >= 16)
			return true;
	}
	return false;
}

static char *slurp(const char *path)
{
	static char buf[1 << 20];
	ssize_t n, got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	while ((n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += n;
	close(fd);
	buf[got] = 0;
	return buf;
}

TEST(proc_files_show_no_kernel_addresses)
{
	int fds[2], d[2];
	char *t;

	ASSERT_EQ(0, afx_stream_pair(fds));
	ASSERT_EQ(0, afx_dgram_pair(d));
	ASSERT_EQ(1, send(fds[0], "x", 1, 0));
	t = slurp("/proc/net/afx");
	ASSERT_NE(NULL, t);
	EXPECT_FALSE(has_kernel_pointer(t)) TH_LOG("%s", t);
	t = slurp("/proc/net/afx_stat");
	ASSERT_NE(NULL, t);
	EXPECT_FALSE(has_kernel_pointer(t)) TH_LOG("%s", t);
	close(fds[0]);
	close(fds[1]);
	close(d[0]);
	close(d[1]);
}

/* ---- user and network namespaces ---------------------------------------- */

static int count_lines(const char *t)
{
	int n = 0;

	for (; *t; t++)
		n += *t == '\n';
	return n;
}

/*
 * Drop to nobody, staying dumpable: /proc/self/{uid,gid}_map of a process
 * that is not dumpable belong to root, and a user namespace's maps must
 * be written by its owner.
 */
static int become_nobody(void)
{
	if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY))
		return -1;
	return prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
}

/*
 * As nobody, make a user namespace (mapping nobody to 0 inside) and
 * connect to @port; report the SO_PEERCRED ids the listener's process is
 * shown with, as seen from inside. Exit codes: 0 ok, 2 setup failed, 3
 * unprivileged user namespaces are off.
 */
static void peercred_in_userns(uint32_t port, int out)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);
	char map[64];
	int c;

	if (become_nobody())
		_exit(2);
	if (unshare(CLONE_NEWUSER))
		_exit(errno == EPERM || errno == EINVAL ? 3 : 2);
	snprintf(map, sizeof(map), "0 %d 1", NOBODY);
	if (afx_write_file("/proc/self/setgroups", "deny") ||
	    afx_write_file("/proc/self/uid_map", map) ||
	    afx_write_file("/proc/self/gid_map", map))
		_exit(2);
	c = afx_socket(SOCK_STREAM);
	if (c < 0 || afx_connect_port(c, port) ||
	    getsockopt(c, SOL_SOCKET, SO_PEERCRED, &uc, &len))
		_exit(2);
	if (write(out, &uc, sizeof(uc)) != sizeof(uc))
		_exit(2);
	_exit(0);
}

TEST(peercred_is_mapped_into_the_readers_user_namespace)
{
	struct ucred uc, mine;
	socklen_t len = sizeof(mine);
	int l, a, p[2], st;
	uint32_t port;
	pid_t pid;

	l = afx_listener(SOCK_STREAM, 4, &port);
	ASSERT_LE(0, l);
	ASSERT_EQ(0, pipe(p));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(p[0]);
		peercred_in_userns(port, p[1]);
	}
	close(p[1]);
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	ASSERT_TRUE(WIFEXITED(st));
	if (WEXITSTATUS(st) == 3)
		SKIP(return, "unprivileged user namespaces are disabled");
	ASSERT_EQ(0, WEXITSTATUS(st));
	ASSERT_EQ(sizeof(uc), read(p[0], &uc, sizeof(uc)));
	/* Root (the listener's owner) is unmapped in the child's namespace. */
	EXPECT_EQ(NOBODY, uc.uid);
	EXPECT_EQ(NOBODY, uc.gid);
	/* And the accepted end shows the child's nobody as nobody here. */
	a = accept(l, NULL, NULL);
	ASSERT_LE(0, a);
	ASSERT_EQ(0, getsockopt(a, SOL_SOCKET, SO_PEERCRED, &mine, &len));
	EXPECT_EQ(NOBODY, mine.uid);
	EXPECT_EQ(NOBODY, mine.gid);
	close(a);
	close(l);
	close(p[0]);
}

/*
 * As nobody in a new user + network namespace: the sockets of the
 * namespace we came from are neither listed nor reachable, and a port
 * below 1024 is ours to bind there (we own the namespace).
 */
TEST(other_netns_sockets_invisible_and_unreachable)
{
	int l, d, p[2], st;
	uint32_t port, dport;
	char res[8] = "";
	pid_t pid;

	l = afx_listener(SOCK_STREAM, 4, &port);
	ASSERT_LE(0, l);
	d = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, d);
	ASSERT_EQ(0, afx_bind(d, AFX_ADDR_ANY, 0));
	dport = (uint32_t)afx_local_port(d);
	ASSERT_EQ(0, pipe(p));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct sockaddr_x to = afx_sockaddr(AFX_ADDR_LOCAL, dport);
		char map[64], line[64], *t;
		int c, s, low;

		close(p[0]);
		if (become_nobody())
			_exit(2);
		if (unshare(CLONE_NEWUSER | CLONE_NEWNET))
			_exit(errno == EPERM || errno == EINVAL ? 3 : 2);
		snprintf(map, sizeof(map), "0 %d 1", NOBODY);
		if (afx_write_file("/proc/self/setgroups", "deny") ||
		    afx_write_file("/proc/self/uid_map", map) ||
		    afx_write_file("/proc/self/gid_map", map))
			_exit(2);
		c = afx_socket(SOCK_STREAM);
		s = afx_socket(SOCK_DGRAM);
		low = afx_socket(SOCK_STREAM);
		/* c: refused; s: refused; low: bind 80 ok; /proc empty */
		line[0] = afx_connect_port(c, port) == -1 &&
			  errno == ECONNREFUSED ? 'r' : 'x';
		line[1] = sendto(s, "x", 1, 0, AFX_SA(&to), AFX_ADDRLEN) == -1 &&
			  errno == ECONNREFUSED ? 'r' : 'x';
		line[2] = afx_bind(low, AFX_ADDR_ANY, 80) == 0 ? 'b' : 'x';
		t = slurp("/proc/net/afx");
		/* Only our own three sockets: header + 3 lines. */
		line[3] = t && count_lines(t) == 4 ? 'p' : 'x';
		if (write(p[1], line, 4) != 4)
			_exit(2);
		_exit(0);
	}
	close(p[1]);
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	ASSERT_TRUE(WIFEXITED(st));
	if (WEXITSTATUS(st) == 3)
		SKIP(return, "unprivileged user namespaces are disabled");
	ASSERT_EQ(0, WEXITSTATUS(st));
	ASSERT_EQ(4, read(p[0], res, 4));
	EXPECT_EQ('r', res[0]) TH_LOG("connect across namespaces");
	EXPECT_EQ('r', res[1]) TH_LOG("sendto across namespaces");
	EXPECT_EQ('b', res[2]) TH_LOG("port 80 in an owned namespace");
	EXPECT_EQ('p', res[3]) TH_LOG("/proc/net/afx lists other namespaces");
	/* Nothing arrived here from there. */
	EXPECT_EQ(0, afx_poll(l, POLLIN, 0));
	EXPECT_EQ(0, afx_poll(d, POLLIN, 0));
	close(d);
	close(l);
	close(p[0]);
}

AFX_TEST_MAIN
