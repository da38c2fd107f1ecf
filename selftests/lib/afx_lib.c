// SPDX-License-Identifier: GPL-2.0
/*
 * afx_lib.c - the AF_X selftest library; see afx_lib.h. Compiled once and
 * linked into every selftest program.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "afx_lib.h"

/* ---- sockets, waiting, data (what was once a header-only helper file) --------------- */

struct sockaddr_x afx_sockaddr(uint32_t addr, uint32_t port)
{
	struct sockaddr_x sx;

	memset(&sx, 0, sizeof(sx));
	sx.sx_family = (__kernel_sa_family_t)afx_family();
	sx.sx_port = port;
	sx.sx_addr = addr;
	return sx;
}

int afx_socket(int type)
{
	return socket(afx_family(), type, 0);
}

int afx_bind(int fd, uint32_t addr, uint32_t port)
{
	struct sockaddr_x sx = afx_sockaddr(addr, port);

	return bind(fd, AFX_SA(&sx), AFX_ADDRLEN);
}

int afx_connect(int fd, uint32_t addr, uint32_t port)
{
	struct sockaddr_x sx = afx_sockaddr(addr, port);

	return connect(fd, AFX_SA(&sx), AFX_ADDRLEN);
}

int afx_connect_port(int fd, uint32_t port)
{
	return afx_connect(fd, AFX_ADDR_LOCAL, port);
}

int afx_getsockname(int fd, struct sockaddr_x *sx)
{
	socklen_t len = sizeof(*sx);

	memset(sx, 0xa5, sizeof(*sx));
	return getsockname(fd, AFX_SA(sx), &len);
}

int afx_getpeername(int fd, struct sockaddr_x *sx)
{
	socklen_t len = sizeof(*sx);

	memset(sx, 0xa5, sizeof(*sx));
	return getpeername(fd, AFX_SA(sx), &len);
}

/* Local port of fd (from getsockname), or -1 with errno. */
long afx_local_port(int fd)
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
int afx_listener(int type, int backlog, uint32_t *port)
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
int afx_stream_pair_ex(int type, int *listener, int *client, int *accepted)
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
int afx_stream_pair(int fds[2])
{
	return afx_stream_pair_ex(0, NULL, &fds[0], &fds[1]);
}

/* Two dgram sockets bound to {ANY, ephemeral} and connected to each other. */
int afx_dgram_pair(int fds[2])
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
int afx_poll(int fd, short events, int timeout_ms)
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
int afx_wait_event(int fd, short events, int timeout_ms)
{
	int r = afx_poll(fd, events, timeout_ms);

	if (r < 0)
		return -1;
	return (r & events) ? 1 : 0;
}

int afx_get_int(int fd, int level, int opt, int *val)
{
	socklen_t len = sizeof(*val);

	return getsockopt(fd, level, opt, val, &len);
}

int afx_set_int(int fd, int level, int opt, int val)
{
	return setsockopt(fd, level, opt, &val, sizeof(val));
}

/* Pending socket error (0 if none), -1 if getsockopt itself fails. */
int afx_so_error(int fd)
{
	int v = -1;

	if (afx_get_int(fd, SOL_SOCKET, SO_ERROR, &v))
		return -1;
	return v;
}

int afx_set_nonblock(int fd, int on)
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
long afx_fill(int fd, size_t chunk)
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
long afx_drain(int fd)
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
int afx_send_all(int fd, const void *buf, size_t len)
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
int afx_recv_all(int fd, void *buf, size_t len)
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
static void afx__dump_file(const char *path, const char *prefix)
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
void afx_dump_threads(void)
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

static void afx__watchdog_handler(int sig)
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
void afx_watchdog(unsigned int sec)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = afx__watchdog_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	alarm(sec);
}

pid_t afx_gettid(void)
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
int afx_wait_blocked(pid_t tid, long nr, int timeout_ms)
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

int afx_read_sysctl_int(const char *path, int *val)
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

int afx_overflow_id(const char *name)
{
	char path[64];
	int v = -1;

	snprintf(path, sizeof(path), "/proc/sys/kernel/%s", name);
	if (afx_read_sysctl_int(path, &v))
		return -1;
	return v;
}

int afx_write_sysctl_int(const char *path, int val)
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

/* Write @val to the file @path in one write(); 0 if all of it went. */
int afx_write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -1;
}

/* Deterministic byte stream: byte at absolute offset off. */
unsigned char afx_pattern_byte(uint64_t off)
{
	uint64_t x = off * 0x9e3779b97f4a7c15ULL;

	return (unsigned char)((x >> 56) ^ (off >> 12) ^ off);
}

void afx_fill_pattern(void *buf, size_t len, uint64_t off)
{
	unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = afx_pattern_byte(off + i);
}

/* Returns len if buf matches the pattern at off, else the first bad index. */
size_t afx_check_pattern(const void *buf, size_t len, uint64_t off)
{
	const unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != afx_pattern_byte(off + i))
			return i;
	return len;
}

/* A port free in space type (0: in both), from an ephemeral bind. */
uint32_t afx_free_port(int type)
{
	int fd, other;
	long p;

	if (type)
		fd = afx_socket(type);
	else
		fd = afx_socket(SOCK_STREAM);
	if (fd < 0)
		return 0;
	for (;;) {
		if (afx_bind(fd, AFX_ADDR_ANY, AFX_PORT_ANY))
			break;
		p = afx_local_port(fd);
		close(fd);
		if (p <= 0)
			return 0;
		if (type)
			return (uint32_t)p;
		/* free for datagrams too? */
		other = afx_socket(SOCK_DGRAM);
		if (other < 0)
			return 0;
		if (!afx_bind(other, AFX_ADDR_ANY, (uint32_t)p)) {
			close(other);
			return (uint32_t)p;
		}
		close(other);
		if (errno != EADDRINUSE)
			return 0;
		/* try another one */
		fd = afx_socket(SOCK_STREAM);
		if (fd < 0)
			return 0;
	}
	close(fd);
	return 0;
}

int afx_target(int type, uint32_t addr, uint32_t port)
{
	int fd = afx_socket(type);

	if (fd < 0)
		return -1;
	if (afx_bind(fd, addr, port))
		goto fail;
	if (type == SOCK_STREAM && listen(fd, 16))
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

int afx_reach(int fd, int type, uint32_t addr, uint32_t port)
{
	struct sockaddr_x sx = afx_sockaddr(addr, port);

	if (type == SOCK_STREAM)
		return connect(fd, AFX_SA(&sx), AFX_ADDRLEN);
	if (sendto(fd, "r", 1, 0, AFX_SA(&sx), AFX_ADDRLEN) != 1)
		return -1;
	return 0;
}

int afx_set_timeo(int fd, int opt, long ms)
{
	struct timeval tv = { .tv_sec = ms / 1000,
			      .tv_usec = (ms % 1000) * 1000 };

	return setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof(tv));
}

int afx_ioctl_int(int fd, unsigned long req, int *val)
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
int afx_count_queue_capacity(uint32_t port, int *fds, int n)
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
int afx_accept_nonblocking(int l)
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

void afx_close_all(int *fds, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (fds[i] > 0)
			close(fds[i]);
}

double afx_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* ---- one blocking call in a helper thread ------------------------------- */

static void *afx_call_fn(void *arg)
{
	struct afx_call *c = arg;
	struct sockaddr_x sx;
	struct pollfd pfd;
	ssize_t w;

	__atomic_store_n(&c->tid, afx_gettid(), __ATOMIC_SEQ_CST);
	errno = 0;
	switch (c->kind) {
	case AFX_CALL_CONNECT:
		c->ret = afx_connect(c->fd, c->addr ? c->addr : AFX_ADDR_LOCAL,
				     c->port);
		break;
	case AFX_CALL_ACCEPT:
		c->fromlen = sizeof(c->from);
		c->ret = accept4(c->fd, AFX_SA(&c->from), &c->fromlen,
				 c->flags);
		break;
	case AFX_CALL_SEND:
		c->ret = send(c->fd, c->buf, c->len, c->flags);
		break;
	case AFX_CALL_SENDTO:
		sx = afx_sockaddr(c->addr ? c->addr : AFX_ADDR_LOCAL, c->port);
		c->ret = sendto(c->fd, c->buf, c->len, c->flags, AFX_SA(&sx),
				AFX_ADDRLEN);
		break;
	case AFX_CALL_RECV:
		c->fromlen = sizeof(c->from);
		c->ret = recvfrom(c->fd, c->buf, c->len, c->flags,
				  AFX_SA(&c->from), &c->fromlen);
		break;
	case AFX_CALL_POLL:
		pfd.fd = c->fd;
		pfd.events = c->events;
		pfd.revents = 0;
		c->ret = poll(&pfd, 1, c->timeout_ms);
		c->revents = pfd.revents;
		break;
	}
	c->err = errno;
	w = write(c->done[1], "x", 1);
	(void)w;
	return NULL;
}

static long afx_call_nr(enum afx_call_kind kind)
{
	switch (kind) {
	case AFX_CALL_CONNECT:
		return SYS_connect;
	case AFX_CALL_ACCEPT:
		return SYS_accept4;
	case AFX_CALL_SEND:
	case AFX_CALL_SENDTO:
		return SYS_sendto;
	case AFX_CALL_RECV:
		return SYS_recvfrom;
	case AFX_CALL_POLL:
		return SYS_poll;
	}
	return -1;
}

int afx_call_start(struct afx_call *c)
{
	struct timespec ts = { 0, 1000 * 1000 };
	int i;

	c->tid = 0;
	c->ret = -2;
	c->err = 0;
	if (pipe2(c->done, O_CLOEXEC))
		return -1;
	if (pthread_create(&c->th, NULL, afx_call_fn, c))
		return -1;
	for (i = 0; i < 5000; i++) {
		if (__atomic_load_n(&c->tid, __ATOMIC_SEQ_CST))
			return 0;
		nanosleep(&ts, NULL);
	}
	errno = ETIMEDOUT;
	return -1;
}

int afx_call_blocked(struct afx_call *c)
{
	return afx_wait_blocked(c->tid, afx_call_nr(c->kind),
				AFX_BLOCK_WAIT_MS);
}

int afx_call_done(struct afx_call *c, int ms)
{
	return afx_wait_event(c->done[0], POLLIN, ms) == 1;
}

void afx_call_join(struct afx_call *c)
{
	pthread_join(c->th, NULL);
	close(c->done[0]);
	close(c->done[1]);
}

int afx_call_signal(struct afx_call *c, int sig)
{
	return pthread_kill(c->th, sig);
}

/* ---- child processes ------------------------------------------------------ */

pid_t afx_child_fork(unsigned int alarm_sec)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		signal(SIGALRM, SIG_DFL);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		alarm(alarm_sec ? alarm_sec : AFX_CHILD_ALARM_SEC);
	}
	return pid;
}

int afx_wait_child(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

/* ---- signals ---------------------------------------------------------------- */

volatile sig_atomic_t afx_sig_hits[NSIG];

static void afx_count_sig(int sig)
{
	afx_sig_hits[sig]++;
}

int afx_catch_signal(int sig, int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = afx_count_sig;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	afx_sig_hits[sig] = 0;
	return sigaction(sig, &sa, NULL);
}

/* ---- numbered datagrams --------------------------------------------------- */

static unsigned char afx_dg_sbuf[AFX_MAX_DGRAM + 64];
static unsigned char afx_dg_rbuf[AFX_MAX_DGRAM + 64];

void afx_dg_make(unsigned char *buf, uint32_t seq, size_t len)
{
	struct afx_dg_hdr h = { .seq = seq, .len = (uint32_t)len };

	afx_fill_pattern(buf, len, seq * 131ULL);
	if (len >= sizeof(h))
		memcpy(buf, &h, sizeof(h));
}

int afx_dg_check(const unsigned char *buf, size_t len, uint32_t seq)
{
	struct afx_dg_hdr h;

	if (len < sizeof(h))
		return 0;
	memcpy(&h, buf, sizeof(h));
	if (h.seq != seq || h.len != len)
		return 0;
	return afx_check_pattern(buf + sizeof(h), len - sizeof(h),
				 seq * 131ULL + sizeof(h)) == len - sizeof(h);
}

size_t afx_dg_var_size(uint32_t seq)
{
	return sizeof(struct afx_dg_hdr) + (seq * 7919U) % 1500U;
}

int afx_dg_bound(uint32_t addr, uint32_t port, int reuse)
{
	int fd = afx_socket(SOCK_DGRAM), err;

	if (fd < 0)
		return -1;
	if (reuse && afx_set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1))
		goto fail;
	if (afx_bind(fd, addr, port))
		goto fail;
	return fd;
fail:
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

ssize_t afx_send_to(int fd, const void *buf, size_t len, uint32_t addr,
		    uint32_t port, int flags)
{
	struct sockaddr_x sx = afx_sockaddr(addr, port);

	return sendto(fd, buf, len, flags | MSG_NOSIGNAL, AFX_SA(&sx),
		      AFX_ADDRLEN);
}

long afx_dg_fill(int s, uint32_t port, size_t len, uint32_t *seq, long max)
{
	long n = 0;
	ssize_t r;

	for (;;) {
		afx_dg_make(afx_dg_sbuf, *seq, len);
		if (port)
			r = afx_send_to(s, afx_dg_sbuf, len, AFX_ADDR_LOCAL,
					port, MSG_DONTWAIT);
		else
			r = send(s, afx_dg_sbuf, len,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r < 0 && errno == EAGAIN)
			return n;
		if (r != (ssize_t)len)
			return -1;
		(*seq)++;
		if (++n > max) {
			errno = E2BIG;
			return -1;
		}
	}
}

long afx_dg_fill_full(int s, uint32_t port)
{
	uint32_t seq = 0;
	long a, b, c;

	a = afx_dg_fill(s, port, 1000, &seq, 100000);
	if (a < 0)
		return -1;
	b = afx_dg_fill(s, port, 1, &seq, 100000);
	if (b < 0)
		return -1;
	c = afx_dg_fill(s, port, 0, &seq, 100000);
	if (c < 0)
		return -1;
	return a + b + c;
}

long afx_dg_drain_check(int r, uint32_t *seq, size_t (*size)(uint32_t),
			size_t len)
{
	return afx_dg_drain_some(r, seq, size, len, LONG_MAX);
}

long afx_dg_drain_some(int r, uint32_t *seq, size_t (*size)(uint32_t),
		       size_t len, long max)
{
	unsigned char *rbuf = afx_dg_rbuf;
	long n = 0;
	ssize_t got;

	while (n < max) {
		got = recv(r, rbuf, sizeof(afx_dg_rbuf), MSG_DONTWAIT);
		if (got < 0 && errno == EAGAIN)
			return n;
		if (got < 0) {
			fprintf(stderr, "# drain: recv: %s\n", strerror(errno));
			return -1;
		}
		if (size)
			len = size(*seq);
		if ((size_t)got != len || !afx_dg_check(rbuf, got, *seq)) {
			struct afx_dg_hdr h = { 0, 0 };

			memcpy(&h, rbuf, got < 8 ? 0 : sizeof(h));
			fprintf(stderr,
				"# drain: want seq %u len %zu, got %zd bytes seq %u len %u\n",
				*seq, len, got, h.seq, h.len);
			return -1;
		}
		(*seq)++;
		n++;
	}
	return n;
}

int afx_dg_queue_empty(int fd)
{
	return recv(fd, afx_dg_rbuf, sizeof(afx_dg_rbuf), MSG_DONTWAIT) < 0 &&
	       errno == EAGAIN;
}
