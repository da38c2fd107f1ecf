/* SPDX-License-Identifier: GPL-2.0 */
/*
 * afx_test_util.h - helpers shared by the AF_X selftests.
 *
 * Harness-agnostic: nothing here uses ASSERT_xx or EXPECT_xx. Functions return
 * 0 / a file descriptor / a count on success and -1 with errno set on
 * failure, so tests write e.g. ASSERT_EQ(0, afx_stream_pair(fds)).
 *
 * Include after the libc headers you need; it pulls in what it uses itself.
 * Every function is static inline so unused helpers cost nothing and do not
 * trigger -Wunused-function.
 *
 * Stable API (other test files depend on it; only add, never change):
 *
 *   int  afx_family(void)                  runtime family number
 *   struct sockaddr_x afx_sockaddr(addr, port)
 *   AFX_SA(p)                              (struct sockaddr *)(p)
 *   AFX_ADDRLEN                            sizeof(struct sockaddr_x)
 *   int  afx_socket(int type)              socket(afx_family(), type, 0)
 *   int  afx_bind(fd, addr, port)
 *   int  afx_connect(fd, addr, port)
 *   int  afx_connect_port(fd, port)        connect to {LOCAL, port}
 *   int  afx_getsockname(fd, sx) / afx_getpeername(fd, sx)
 *   long afx_local_port(fd)                port from getsockname, -1 on error
 *   int  afx_listener(type, backlog, &port) socket+bind(ANY,0)+listen
 *   int  afx_stream_pair(fds)              fds[0] client, fds[1] accepted
 *   int  afx_stream_pair_ex(type, &l, &c, &a) keep the listener too
 *   int  afx_dgram_pair(fds)               two bound dgram sockets connected
 *                                          to each other
 *   int  afx_poll(fd, events, timeout_ms)  revents (0 on timeout), -1 error
 *   int  afx_wait_event(fd, events, ms)    1 if any of events, 0 timeout
 *   int  afx_get_int(fd, level, opt, &v) / afx_set_int(fd, level, opt, v)
 *   int  afx_so_error(fd)                  SO_ERROR value (>=0) or -1
 *   int  afx_set_nonblock(fd, on)          O_NONBLOCK via fcntl
 *   long afx_fill(fd, chunk)               send MSG_DONTWAIT until EAGAIN,
 *                                          returns bytes queued
 *   long afx_drain(fd)                     recv MSG_DONTWAIT until EAGAIN/EOF
 *   int  afx_send_all(fd, buf, len) / afx_recv_all(fd, buf, len)
 *   void afx_watchdog(sec)                 SIGALRM after sec kills with a
 *                                          message (0 disables) and a dump
 *                                          of every thread's kernel stack
 *   void afx_dump_threads(void)            that dump, to stderr
 *   int  afx_wait_blocked(tid, nr, ms)     wait until thread tid sleeps in
 *                                          syscall nr (-1: any) ; 0 ok
 *   pid_t afx_gettid(void)
 *   int  afx_read_sysctl_int(path, &v) / afx_write_sysctl_int(path, v)
 *   void afx_fill_pattern(buf, len, off) / size_t afx_check_pattern(...)
 */
#ifndef AFX_TEST_UTIL_H
#define AFX_TEST_UTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <linux/afx.h>

#define AFX_SA(p)	((struct sockaddr *)(p))
#define AFX_ADDRLEN	((socklen_t)sizeof(struct sockaddr_x))
#define AFX_FAMILY_PARAM "/sys/module/afx/parameters/family"

/* Runtime family number: module parameter if readable, else AF_X. */
static inline int afx_family(void)
{
	static int family = -1;
	FILE *f;
	int v;

	if (family >= 0)
		return family;
	family = AF_X;
	f = fopen(AFX_FAMILY_PARAM, "r");
	if (f) {
		if (fscanf(f, "%d", &v) == 1 && v > 0)
			family = v;
		fclose(f);
	}
	return family;
}

static inline struct sockaddr_x afx_sockaddr(uint32_t addr, uint32_t port)
{
	struct sockaddr_x sx;

	memset(&sx, 0, sizeof(sx));
	sx.sx_family = (__kernel_sa_family_t)afx_family();
	sx.sx_port = port;
	sx.sx_addr = addr;
	return sx;
}

static inline int afx_socket(int type)
{
	return socket(afx_family(), type, 0);
}

static inline int afx_bind(int fd, uint32_t addr, uint32_t port)
{
	struct sockaddr_x sx = afx_sockaddr(addr, port);

	return bind(fd, AFX_SA(&sx), AFX_ADDRLEN);
}

static inline int afx_connect(int fd, uint32_t addr, uint32_t port)
{
	struct sockaddr_x sx = afx_sockaddr(addr, port);

	return connect(fd, AFX_SA(&sx), AFX_ADDRLEN);
}

static inline int afx_connect_port(int fd, uint32_t port)
{
	return afx_connect(fd, AFX_ADDR_LOCAL, port);
}

static inline int afx_getsockname(int fd, struct sockaddr_x *sx)
{
	socklen_t len = sizeof(*sx);

	memset(sx, 0xa5, sizeof(*sx));
	return getsockname(fd, AFX_SA(sx), &len);
}

static inline int afx_getpeername(int fd, struct sockaddr_x *sx)
{
	socklen_t len = sizeof(*sx);

	memset(sx, 0xa5, sizeof(*sx));
	return getpeername(fd, AFX_SA(sx), &len);
}

/* Local port of fd (from getsockname), or -1 with errno. */
static inline long afx_local_port(int fd)
{
	struct sockaddr_x sx;

	if (afx_getsockname(fd, &sx))
		return -1;
	return (long)sx.sx_port;
}

/*
 * A listening stream socket bound to {ANY, ephemeral}. type may carry
 * SOCK_NONBLOCK/SOCK_CLOEXEC (SOCK_STREAM is implied when type has no
 * socket type bits). Stores the port in *port if port != NULL.
 */
static inline int afx_listener(int type, int backlog, uint32_t *port)
{
	int fd, err;
	long p;

	if ((type & 0xf) == 0)
		type |= SOCK_STREAM;
	fd = afx_socket(type);
	if (fd < 0)
		return -1;
	if (afx_bind(fd, AFX_ADDR_ANY, AFX_PORT_ANY) || listen(fd, backlog))
		goto fail;
	p = afx_local_port(fd);
	if (p <= 0) {
		if (p == 0)
			errno = EADDRNOTAVAIL;
		goto fail;
	}
	if (port)
		*port = (uint32_t)p;
	return fd;
fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

/*
 * Connected stream pair through a temporary listener: *client is the
 * connecting socket, *accepted the accept()ed one, *listener stays open
 * if listener != NULL (else it is closed). type: extra SOCK_* flags for
 * the client socket (0 for none).
 */
static inline int afx_stream_pair_ex(int type, int *listener, int *client,
				     int *accepted)
{
	int l = -1, c = -1, a = -1, err;
	uint32_t port;

	l = afx_listener(SOCK_STREAM, 16, &port);
	if (l < 0)
		return -1;
	c = afx_socket(SOCK_STREAM | type);
	if (c < 0)
		goto fail;
	if (afx_connect_port(c, port)) {
		if (errno != EINPROGRESS)
			goto fail;
		/* Queue has room, so this should not happen; be lenient. */
	}
	a = accept(l, NULL, NULL);
	if (a < 0)
		goto fail;
	*client = c;
	*accepted = a;
	if (listener)
		*listener = l;
	else
		close(l);
	return 0;
fail:
	err = errno;
	if (a >= 0)
		close(a);
	if (c >= 0)
		close(c);
	close(l);
	errno = err;
	return -1;
}

/* fds[0]: client (connect()ed), fds[1]: server side (accept()ed). */
static inline int afx_stream_pair(int fds[2])
{
	return afx_stream_pair_ex(0, NULL, &fds[0], &fds[1]);
}

/* Two dgram sockets bound to {ANY, ephemeral} and connected to each other. */
static inline int afx_dgram_pair(int fds[2])
{
	int a = -1, b = -1, err;
	long pa, pb;

	a = afx_socket(SOCK_DGRAM);
	b = afx_socket(SOCK_DGRAM);
	if (a < 0 || b < 0)
		goto fail;
	if (afx_bind(a, AFX_ADDR_ANY, 0) || afx_bind(b, AFX_ADDR_ANY, 0))
		goto fail;
	pa = afx_local_port(a);
	pb = afx_local_port(b);
	if (pa < 0 || pb < 0)
		goto fail;
	if (afx_connect_port(a, (uint32_t)pb) ||
	    afx_connect_port(b, (uint32_t)pa))
		goto fail;
	fds[0] = a;
	fds[1] = b;
	return 0;
fail:
	err = errno;
	if (a >= 0)
		close(a);
	if (b >= 0)
		close(b);
	errno = err;
	return -1;
}

/* revents of one poll() (0 on timeout), -1 on error. */
static inline int afx_poll(int fd, short events, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int n;

	do {
		n = poll(&pfd, 1, timeout_ms);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	return n ? pfd.revents : 0;
}

/* 1 when one of events (or POLLERR/POLLHUP if asked) shows up, 0 on timeout. */
static inline int afx_wait_event(int fd, short events, int timeout_ms)
{
	int r = afx_poll(fd, events, timeout_ms);

	if (r < 0)
		return -1;
	return (r & events) ? 1 : 0;
}

static inline int afx_get_int(int fd, int level, int opt, int *val)
{
	socklen_t len = sizeof(*val);

	return getsockopt(fd, level, opt, val, &len);
}

static inline int afx_set_int(int fd, int level, int opt, int val)
{
	return setsockopt(fd, level, opt, &val, sizeof(val));
}

/* Pending socket error (0 if none), -1 if getsockopt itself fails. */
static inline int afx_so_error(int fd)
{
	int v = -1;

	if (afx_get_int(fd, SOL_SOCKET, SO_ERROR, &v))
		return -1;
	return v;
}

static inline int afx_set_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -1;
	fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
	return fcntl(fd, F_SETFL, fl);
}

/*
 * Send chunk-byte pieces with MSG_DONTWAIT|MSG_NOSIGNAL until EAGAIN.
 * Shrinks the chunk down to 1 byte so that the result is exactly what
 * fits. Returns bytes queued, -1 on another error (errno set).
 */
static inline long afx_fill(int fd, size_t chunk)
{
	static char buf[65536];
	long total = 0;
	ssize_t n;

	if (chunk > sizeof(buf))
		chunk = sizeof(buf);
	if (chunk == 0)
		chunk = 1;
	memset(buf, 'f', chunk);
	for (;;) {
		n = send(fd, buf, chunk, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			total += n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (chunk == 1)
				return total;
			chunk /= 2;
			continue;
		}
		if (n == 0)
			errno = EIO;
		return -1;
	}
}

/* recv MSG_DONTWAIT until EAGAIN or EOF. Returns bytes read, -1 on error. */
static inline long afx_drain(int fd)
{
	static char buf[65536];
	long total = 0;
	ssize_t n;

	for (;;) {
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0) {
			total += n;
			continue;
		}
		if (n == 0)
			return total;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return total;
		return -1;
	}
}

/* Blocking send of all len bytes (MSG_NOSIGNAL). 0 or -1. */
static inline int afx_send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Blocking recv of exactly len bytes. 0, or -1 with errno (EOF: ENODATA). */
static inline int afx_recv_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	ssize_t n;

	while (len) {
		n = recv(fd, p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = ENODATA;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* write(2) a whole file (async-signal-safe), prefixed, for diagnostics. */
static inline void afx__dump_file(const char *path, const char *prefix)
{
	char buf[2048];
	ssize_t n, r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	r = write(2, prefix, strlen(prefix));
	r = write(2, buf, n);
	if (buf[n - 1] != '\n')
		r = write(2, "\n", 1);
	(void)r;
}

/*
 * Print, for every thread of this process, its /proc syscall line and
 * kernel stack: shows where a hung test is stuck. Uses only raw system
 * calls (getdents64, open, read, write), as it runs in a signal handler.
 */
static inline void afx_dump_threads(void)
{
	char dents[4096], path[96], prefix[48];
	long n, off;
	int dir = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dir < 0)
		return;
	while ((n = syscall(SYS_getdents64, dir, dents, sizeof(dents))) > 0) {
		for (off = 0; off < n;) {
			/* struct linux_dirent64: ino, off, reclen, type, name */
			unsigned short reclen;
			const char *name = dents + off + 19;

			memcpy(&reclen, dents + off + 16, sizeof(reclen));
			off += reclen;
			if (name[0] < '0' || name[0] > '9')
				continue;
			snprintf(prefix, sizeof(prefix), "#   tid %s syscall: ",
				 name);
			snprintf(path, sizeof(path), "/proc/self/task/%s/syscall",
				 name);
			afx__dump_file(path, prefix);
			snprintf(prefix, sizeof(prefix), "#   tid %s stack:\n",
				 name);
			snprintf(path, sizeof(path), "/proc/self/task/%s/stack",
				 name);
			afx__dump_file(path, prefix);
		}
	}
	close(dir);
}

static inline void afx__watchdog_handler(int sig)
{
	static const char msg[] = "# afx watchdog: test hung, giving up\n";
	ssize_t r;

	(void)sig;
	r = write(2, msg, sizeof(msg) - 1);
	(void)r;
	afx_dump_threads();
	_exit(1);
}

/*
 * Watchdog for a test process: after sec seconds SIGALRM makes the process
 * print a message and _exit(1) (a failure for the harness). Uses SIGALRM
 * and alarm(); tests that need signals for EINTR should use another signal
 * (e.g. SIGUSR1). sec == 0 cancels. Not inherited by fork() children;
 * call it there again if they can block.
 */
static inline void afx_watchdog(unsigned int sec)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = afx__watchdog_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	alarm(sec);
}

static inline pid_t afx_gettid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/*
 * Wait (up to timeout_ms) until thread tid of this process is sleeping
 * ('S' in /proc/self/task/<tid>/stat) and, if nr >= 0, blocked in system
 * call nr according to /proc/self/task/<tid>/syscall. Returns 0 once it
 * is, -1 with errno ETIMEDOUT otherwise. Works for a child process too:
 * pass its pid as tid (looked up under /proc/<tid>/).
 */
static inline int afx_wait_blocked(pid_t tid, long nr, int timeout_ms)
{
	char path[96], buf[512];
	struct timespec ts = { 0, 2 * 1000 * 1000 };
	int waited = 0;

	for (;;) {
		FILE *f;
		char *p, state = 0;
		int ok = 0;

		snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
		f = fopen(path, "r");
		if (!f) {
			snprintf(path, sizeof(path), "/proc/%d/stat", tid);
			f = fopen(path, "r");
		}
		if (f) {
			if (fgets(buf, sizeof(buf), f)) {
				p = strrchr(buf, ')');
				if (p && p[1] == ' ')
					state = p[2];
			}
			fclose(f);
		}
		if (state == 'S') {
			ok = 1;
			if (nr >= 0) {
				long cur = -2;

				p = strstr(path, "/stat");
				if (p)
					strcpy(p, "/syscall");
				f = fopen(path, "r");
				if (f) {
					if (fgets(buf, sizeof(buf), f) &&
					    sscanf(buf, "%ld", &cur) == 1)
						ok = (cur == nr);
					/* "running" etc.: not in a syscall */
					else
						ok = 0;
					fclose(f);
				}
				/* no syscall file: trust the state only */
			}
		}
		if (ok) {
			/* let it settle in the wait queue */
			nanosleep(&ts, NULL);
			return 0;
		}
		if (waited >= timeout_ms) {
			errno = ETIMEDOUT;
			return -1;
		}
		nanosleep(&ts, NULL);
		waited += 2;
	}
}

static inline int afx_read_sysctl_int(const char *path, int *val)
{
	FILE *f = fopen(path, "r");
	int r;

	if (!f)
		return -1;
	r = fscanf(f, "%d", val);
	fclose(f);
	if (r != 1) {
		errno = EIO;
		return -1;
	}
	return 0;
}

static inline int afx_write_sysctl_int(const char *path, int val)
{
	FILE *f = fopen(path, "w");
	int r;

	if (!f)
		return -1;
	r = fprintf(f, "%d\n", val);
	if (fclose(f) || r < 0)
		return -1;
	return 0;
}

/* Deterministic byte stream: byte at absolute offset off. */
static inline unsigned char afx_pattern_byte(uint64_t off)
{
	uint64_t x = off * 0x9e3779b97f4a7c15ULL;

	return (unsigned char)((x >> 56) ^ (off >> 12) ^ off);
}

static inline void afx_fill_pattern(void *buf, size_t len, uint64_t off)
{
	unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = afx_pattern_byte(off + i);
}

/* Returns len if buf matches the pattern at off, else the first bad index. */
static inline size_t afx_check_pattern(const void *buf, size_t len,
				       uint64_t off)
{
	const unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != afx_pattern_byte(off + i))
			return i;
	return len;
}

#endif /* AFX_TEST_UTIL_H */
