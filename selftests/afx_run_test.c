// SPDX-License-Identifier: GPL-2.0
/*
 * afx_run_test.c - what libafx-run.so does to an ordinary inet program.
 *
 * afx-run(1). This program uses only AF_INET sockets; it runs itself
 * under build/afx-run (all ports, no --udp), so each of its loopback TCP
 * sockets becomes an AF_X socket once it binds or connects, and the
 * tests check from the program's side and from /proc/net/afx's:
 *   - the descriptor keeps its number, O_NONBLOCK, FD_CLOEXEC and the
 *     SOL_SOCKET options set before the move;
 *   - names read as 127.0.0.1 (or the wildcard bound) and the port, and
 *     accept()'s and getsockname()'s truncation rules are the kernel's;
 *   - a nonblocking connect() completes through epoll and SO_ERROR;
 *   - fork() after socket(), and dup2() onto a moved descriptor, keep
 *     each descriptor what it is;
 *   - TCP options: TCP_NODELAY is accepted and read back, TCP_INFO and
 *     unknown ones fail with ENOPROTOOPT; SO_DOMAIN/SO_PROTOCOL read
 *     AF_INET/IPPROTO_TCP;
 *   - other addresses, and datagram sockets without --udp, stay inet;
 *   - a move that fails (here: no descriptor left for the AF_X socket)
 *     fails the call, and with AFX_RUN_STRICT=0 leaves the socket inet.
 * The program is linked dynamically (the preload cannot reach a static
 * one).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "afx_harness.h"

#define WATCHDOG_SEC	20

/* Run under afx-run (next to this program, else on PATH) unless already there. */
__attribute__((constructor)) static void under_afx_run(int argc, char **argv)
{
	char self[PATH_MAX], run[PATH_MAX + 16], **av;
	ssize_t n;
	int i;

	if (getenv("AFX_RUN_PORTS"))
		return;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return;
	self[n] = '\0';
	snprintf(run, sizeof(run), "%.*s/afx-run",
		 (int)(strrchr(self, '/') - self), self);
	av = calloc(argc + 3, sizeof(*av));
	if (!av)
		return;
	av[0] = run;
	av[1] = "--";
	av[2] = self;
	for (i = 1; i < argc; i++)
		av[i + 2] = argv[i];
	execv(run, av);
	/* Built elsewhere (selftests/Makefile): afx-run from PATH. */
	av[0] = "afx-run";
	execvp("afx-run", av);
	fprintf(stderr, "afx_run_test: cannot run %s or afx-run from PATH: %s\n",
		run, strerror(errno));
	_exit(1);
}

static struct sockaddr_in loopback(unsigned short port)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};

	return sin;
}

/* 1 if fd is an AF_X socket (its inode is in /proc/net/afx), else 0. */
static int on_afx(int fd)
{
	char path[64], line[256];
	unsigned long ino, i;
	struct stat st;
	FILE *f;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (stat(path, &st))
		return 0;
	ino = st.st_ino;
	f = fopen("/proc/net/afx", "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *last = strrchr(line, ' ');

		if (last && sscanf(last, "%lu", &i) == 1 && i == ino)
			found = 1;
	}
	fclose(f);
	return found;
}

/* Bind @fd to 127.0.0.1 and a free port from 7300 on: the port, or 0. */
static unsigned short bind_loopback(int fd)
{
	unsigned short p;

	for (p = 7300; p < 7400; p++) {
		struct sockaddr_in sin = loopback(p);

		if (!bind(fd, (struct sockaddr *)&sin, sizeof(sin)))
			return p;
		if (errno != EADDRINUSE)
			break;
	}
	return 0;
}

/* A listener moved to AF_X on a free port from 7300 on; its port in *port. */
static int listener(unsigned short *port, int type_flags)
{
	int fd = socket(AF_INET, SOCK_STREAM | type_flags, 0);

	if (fd < 0)
		return -1;
	*port = bind_loopback(fd);
	if (*port && !listen(fd, 8))
		return fd;
	close(fd);
	return -1;
}

static int connected(unsigned short port)
{
	struct sockaddr_in sin = loopback(port);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* A moved listener on *port and a client connected to it. 0, or -1. */
static int listener_and_client(int *l, int *c, unsigned short *port)
{
	*l = listener(port, 0);
	if (*l < 0)
		return -1;
	*c = connected(*port);
	if (*c < 0) {
		close(*l);
		return -1;
	}
	return 0;
}

TEST(bind_moves_keeping_number_flags_and_options)
{
	int fd, plain, v = 0, want = 0;
	socklen_t len = sizeof(v);
	struct sockaddr_in sin;
	unsigned short port;

	afx_watchdog(WATCHDOG_SEC);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, on_afx(fd));
	ASSERT_EQ(0, afx_set_int(fd, SOL_SOCKET, SO_RCVBUF, 65536));
	port = bind_loopback(fd);
	ASSERT_NE(0, port);
	EXPECT_EQ(1, on_afx(fd));
	EXPECT_EQ(O_NONBLOCK, fcntl(fd, F_GETFL) & O_NONBLOCK);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	/* What an AF_X socket reports for the same setting. */
	plain = socket(afx_family(), SOCK_STREAM, 0);
	ASSERT_LE(0, plain);
	ASSERT_EQ(0, afx_set_int(plain, SOL_SOCKET, SO_RCVBUF, 65536));
	ASSERT_EQ(0, afx_get_int(plain, SOL_SOCKET, SO_RCVBUF, &want));
	ASSERT_EQ(0, getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, &len));
	EXPECT_EQ(want, v);
	len = sizeof(sin);
	memset(&sin, 0x5a, sizeof(sin));
	ASSERT_EQ(0, getsockname(fd, (struct sockaddr *)&sin, &len));
	EXPECT_EQ(sizeof(sin), len);
	EXPECT_EQ(AF_INET, sin.sin_family);
	EXPECT_EQ(htonl(INADDR_LOOPBACK), sin.sin_addr.s_addr);
	EXPECT_EQ(htons(port), sin.sin_port);
	close(plain);
	close(fd);
}

TEST(wildcard_bind_reads_back_as_the_wildcard)
{
	struct sockaddr_in sin = loopback(7399), got;
	socklen_t len = sizeof(got);
	int fd;

	afx_watchdog(WATCHDOG_SEC);
	sin.sin_addr.s_addr = htonl(INADDR_ANY);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, bind(fd, (struct sockaddr *)&sin, sizeof(sin)));
	EXPECT_EQ(1, on_afx(fd));
	ASSERT_EQ(0, getsockname(fd, (struct sockaddr *)&got, &len));
	EXPECT_EQ(htonl(INADDR_ANY), got.sin_addr.s_addr);
	EXPECT_EQ(htons(7399), got.sin_port);
	close(fd);
}

TEST(nonblocking_connect_through_epoll_and_accept4_flags)
{
	struct sockaddr_in sin, peer, mine;
	struct epoll_event ev = { .events = EPOLLOUT };
	socklen_t len;
	unsigned short port;
	int l, c, a, ep, r;
	char buf[8];

	afx_watchdog(WATCHDOG_SEC);
	l = listener(&port, 0);
	ASSERT_LE(0, l);
	c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	ASSERT_LE(0, c);
	sin = loopback(port);
	r = connect(c, (struct sockaddr *)&sin, sizeof(sin));
	ASSERT_TRUE(r == 0 || errno == EINPROGRESS);
	EXPECT_EQ(1, on_afx(c));
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev));
	ASSERT_EQ(1, epoll_wait(ep, &ev, 1, 5000));
	EXPECT_TRUE(ev.events & EPOLLOUT);
	EXPECT_EQ(0, afx_so_error(c));
	len = sizeof(peer);
	ASSERT_EQ(0, getpeername(c, (struct sockaddr *)&peer, &len));
	EXPECT_EQ(htonl(INADDR_LOOPBACK), peer.sin_addr.s_addr);
	EXPECT_EQ(htons(port), peer.sin_port);
	len = sizeof(mine);
	ASSERT_EQ(0, getsockname(c, (struct sockaddr *)&mine, &len));
	EXPECT_NE(0, mine.sin_port);

	len = sizeof(peer);
	memset(&peer, 0, sizeof(peer));
	a = accept4(l, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
	ASSERT_LE(0, a);
	EXPECT_EQ(sizeof(peer), len);
	EXPECT_EQ(AF_INET, peer.sin_family);
	EXPECT_EQ(htonl(INADDR_LOOPBACK), peer.sin_addr.s_addr);
	EXPECT_EQ(mine.sin_port, peer.sin_port);
	EXPECT_EQ(O_NONBLOCK, fcntl(a, F_GETFL) & O_NONBLOCK);
	EXPECT_EQ(FD_CLOEXEC, fcntl(a, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(-1, recv(a, buf, sizeof(buf), 0));
	EXPECT_EQ(EAGAIN, errno);
	ASSERT_EQ(4, send(c, "ping", 4, 0));
	ASSERT_EQ(POLLIN, afx_poll(a, POLLIN, 5000) & POLLIN);
	ASSERT_EQ(4, recv(a, buf, sizeof(buf), 0));
	EXPECT_EQ(0, memcmp(buf, "ping", 4));
	close(ep);
	close(a);
	close(c);
	close(l);
}

/* accept() and getsockname() with a short buffer: truncated, full length. */
TEST(short_name_buffers_truncate_as_the_kernel_does)
{
	unsigned char buf[sizeof(struct sockaddr_in)];
	struct sockaddr_in full;
	unsigned short port;
	socklen_t len = 4;
	int l, c, a;

	afx_watchdog(WATCHDOG_SEC);
	ASSERT_EQ(0, listener_and_client(&l, &c, &port));
	memset(buf, 0xee, sizeof(buf));
	a = accept(l, (struct sockaddr *)buf, &len);
	ASSERT_LE(0, a);
	EXPECT_EQ(sizeof(struct sockaddr_in), len);
	full = loopback(port);
	EXPECT_EQ(0, memcmp(buf, &full, 2));		/* the family */
	EXPECT_EQ(0xee, buf[4]);			/* nothing past 4 */
	len = 4;
	memset(buf, 0xee, sizeof(buf));
	ASSERT_EQ(0, getsockname(c, (struct sockaddr *)buf, &len));
	EXPECT_EQ(sizeof(struct sockaddr_in), len);
	EXPECT_EQ(0, memcmp(buf, &full, 2));
	EXPECT_EQ(0xee, buf[4]);
	close(a);
	close(c);
	close(l);
}

TEST(fork_after_socket_keeps_each_side_working)
{
	unsigned short port;
	int l, c, res[2];
	pid_t pid;
	char buf[16];

	afx_watchdog(WATCHDOG_SEC);
	l = listener(&port, 0);
	ASSERT_LE(0, l);
	c = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_LE(0, c);
	ASSERT_EQ(0, pipe(res));
	pid = afx_child_fork(WATCHDOG_SEC);
	ASSERT_LE(0, pid);
	if (pid == 0) {
		/* The child's copy moves on its connect(); it accepts too. */
		struct sockaddr_in sin = loopback(port), peer;
		socklen_t len = sizeof(peer);
		int a, ok;

		if (connect(c, (struct sockaddr *)&sin, sizeof(sin)))
			_exit(2);
		a = accept(l, (struct sockaddr *)&peer, &len);
		ok = a >= 0 && on_afx(c) && on_afx(a) &&
		     peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK) &&
		     send(c, "child", 5, 0) == 5 && recv(a, buf, 5, 0) == 5;
		_exit(ok && write(res[1], "y", 1) == 1 ? 0 : 3);
	}
	EXPECT_EQ(0, afx_wait_child(pid));
	ASSERT_EQ(1, read(res[0], buf, 1));
	/* The parent's c was never connected: still a plain inet socket. */
	EXPECT_EQ(0, on_afx(c));
	close(res[0]);
	close(res[1]);
	close(c);
	close(l);
}

/* Another thread churns the descriptor table while this one forks. */
static volatile int churn_stop;

static void *churn(void *arg)
{
	(void)arg;
	while (!churn_stop) {
		int s = socket(AF_INET, SOCK_STREAM, 0);

		if (s >= 0)
			close(s);
	}
	return NULL;
}

/*
 * A child forked while another thread holds the library's table lock
 * must not inherit it locked: each child uses the table and exits; one
 * that hangs is killed by its alarm and fails the test. Up to 300 forks
 * in FORK_BUDGET_MS, at least FORK_MIN: a fork takes 1 ms on the stock
 * kernel and 70 on the 6.12 PREEMPT_RT debug one, where 300 did not fit
 * in the watchdog's 20 s.
 */
#define FORK_BUDGET_MS	8000
#define FORK_MIN	30

TEST(fork_while_another_thread_uses_sockets)
{
	double end = afx_now_ms() + FORK_BUDGET_MS;
	pthread_t t;
	int i, bad = 0;

	afx_watchdog(WATCHDOG_SEC);
	churn_stop = 0;
	ASSERT_EQ(0, pthread_create(&t, NULL, churn, NULL));
	for (i = 0; i < 300 && (i < FORK_MIN || afx_now_ms() < end); i++) {
		pid_t pid = afx_child_fork(5);

		if (pid == 0) {
			int s = socket(AF_INET, SOCK_STREAM, 0);

			_exit(s >= 0 && !close(s) ? 0 : 2);
		}
		ASSERT_LE(0, pid);
		if (afx_wait_child(pid))
			bad++;
	}
	churn_stop = 1;
	pthread_join(t, NULL);
	TH_LOG("%d forks, %d of them hung or failed", i, bad);
	EXPECT_EQ(0, bad);
}

TEST(dup2_onto_and_over_a_moved_descriptor)
{
	struct sockaddr_in sin;
	unsigned short port;
	socklen_t len;
	int l, other, plain;

	afx_watchdog(WATCHDOG_SEC);
	l = listener(&port, 0);
	ASSERT_LE(0, l);
	other = open("/dev/null", O_RDONLY);
	ASSERT_LE(0, other);
	ASSERT_EQ(other, dup2(l, other));
	len = sizeof(sin);
	ASSERT_EQ(0, getsockname(other, (struct sockaddr *)&sin, &len));
	EXPECT_EQ(AF_INET, sin.sin_family);
	EXPECT_EQ(htons(port), sin.sin_port);
	/* A plain TCP socket dup2()ed over it is just that again. */
	plain = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_LE(0, plain);
	ASSERT_EQ(other, dup2(plain, other));
	EXPECT_EQ(0, on_afx(other));
	len = sizeof(sin);
	ASSERT_EQ(0, getsockname(other, (struct sockaddr *)&sin, &len));
	EXPECT_EQ(0, sin.sin_port);
	close(plain);
	close(other);
	close(l);
}

TEST(tcp_options_accepted_or_refused_as_documented)
{
	unsigned char info[256];
	unsigned short port;
	socklen_t len;
	int l, c, v;

	afx_watchdog(WATCHDOG_SEC);
	ASSERT_EQ(0, listener_and_client(&l, &c, &port));
	ASSERT_EQ(0, afx_set_int(c, IPPROTO_TCP, TCP_NODELAY, 1));
	ASSERT_EQ(0, afx_get_int(c, IPPROTO_TCP, TCP_NODELAY, &v));
	EXPECT_EQ(1, v);
	ASSERT_EQ(0, afx_get_int(c, IPPROTO_TCP, TCP_KEEPIDLE, &v));
	EXPECT_EQ(0, v);
	len = sizeof(info);
	EXPECT_EQ(-1, getsockopt(c, IPPROTO_TCP, TCP_INFO, info, &len));
	EXPECT_EQ(ENOPROTOOPT, errno);
	EXPECT_EQ(-1, afx_set_int(c, IPPROTO_TCP, 9999, 1));
	EXPECT_EQ(ENOPROTOOPT, errno);
	ASSERT_EQ(0, afx_get_int(c, SOL_SOCKET, SO_DOMAIN, &v));
	EXPECT_EQ(AF_INET, v);
	ASSERT_EQ(0, afx_get_int(c, SOL_SOCKET, SO_PROTOCOL, &v));
	EXPECT_EQ(IPPROTO_TCP, v);
	ASSERT_EQ(0, afx_get_int(c, SOL_SOCKET, SO_TYPE, &v));
	EXPECT_EQ(SOCK_STREAM, v);
	close(c);
	close(l);
}

TEST(other_addresses_and_udp_stay_inet)
{
	struct sockaddr_in sin = loopback(7390);
	int s, d, r;

	afx_watchdog(WATCHDOG_SEC);
	/* 192.0.2.1 (TEST-NET-1): not loopback; no route in the guest. */
	s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	ASSERT_LE(0, s);
	sin.sin_addr.s_addr = htonl(0xc0000201);
	r = connect(s, (struct sockaddr *)&sin, sizeof(sin));
	EXPECT_EQ(-1, r);
	EXPECT_TRUE(errno == ENETUNREACH || errno == EINPROGRESS);
	EXPECT_EQ(0, on_afx(s));
	/* Without --udp a datagram socket bound to loopback stays UDP. */
	d = socket(AF_INET, SOCK_DGRAM, 0);
	ASSERT_LE(0, d);
	sin = loopback(7391);
	ASSERT_EQ(0, bind(d, (struct sockaddr *)&sin, sizeof(sin)));
	EXPECT_EQ(0, on_afx(d));
	close(d);
	close(s);
}

/*
 * bind() must move the socket, and the move needs a new descriptor: at
 * RLIMIT_NOFILE there is none. Strict (the default), bind() fails with
 * EMFILE and the socket, untouched, moves at the next bind. With
 * AFX_RUN_STRICT=0 (the test runs itself again so) bind() succeeds on
 * TCP and the socket stays there.
 */
#define STRICT0_LOG	"/tmp/afx_run_test.strict0.log"

TEST(failed_move_fails_the_call_unless_not_strict)
{
	const char *strict = getenv("AFX_RUN_STRICT");
	struct sockaddr_in sin = loopback(7350);
	struct rlimit rl, low;
	int fd, r, err, st;
	pid_t pid;

	afx_watchdog(WATCHDOG_SEC);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &rl));
	/* socket() took the lowest free number: none is left up to it. */
	low = rl;
	low.rlim_cur = fd + 1;
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &low));
	r = bind(fd, (struct sockaddr *)&sin, sizeof(sin));
	err = errno;
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &rl));
	if (strict && !strcmp(strict, "0")) {
		EXPECT_EQ(0, r) TH_LOG("bind: %s", strerror(err));
		EXPECT_EQ(0, on_afx(fd));
		close(fd);
		return;
	}
	EXPECT_EQ(-1, r);
	EXPECT_EQ(EMFILE, err);
	EXPECT_EQ(0, on_afx(fd));
	ASSERT_NE(0, bind_loopback(fd));
	EXPECT_EQ(1, on_afx(fd));
	close(fd);

	/* Again, not strict. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char self[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

		if (n < 0)
			_exit(2);
		self[n] = '\0';
		/* Its TAP output is its own: kept out of this program's. */
		n = open(STRICT0_LOG, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (n < 0 || dup2(n, 1) < 0 || dup2(n, 2) < 0)
			_exit(2);
		setenv("AFX_RUN_STRICT", "0", 1);
		execl(self, self, "-r", "failed_move_fails_the_call_unless_not_strict",
		      (char *)NULL);
		_exit(3);
	}
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		char line[256];
		FILE *f = fopen(STRICT0_LOG, "r");

		TH_LOG("with AFX_RUN_STRICT=0: status %#x, output:", st);
		while (f && fgets(line, sizeof(line), f))
			printf("#   %s", line);
		if (f)
			fclose(f);
	}
}

AFX_TEST_MAIN
