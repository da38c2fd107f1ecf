/* SPDX-License-Identifier: GPL-2.0 */
/*
 * afx_lib.h - the AF_X selftest library (selftests/lib/afx_lib.c), linked
 * into every test program.
 *
 * Harness-agnostic: nothing here uses ASSERT_xx or EXPECT_xx. Functions
 * return 0 / a file descriptor / a count on success and -1 with errno set
 * on failure, so tests write e.g. ASSERT_EQ(0, afx_stream_pair(fds)).
 * Test programs include "afx_harness.h", which adds the kselftest harness,
 * the skip macro and the main() that can run tests by name.
 *
 *   sockets      afx_socket, afx_bind, afx_connect, afx_listener,
 *                afx_stream_pair, afx_dgram_pair, afx_free_port, ...
 *   waiting      afx_poll, afx_wait_event, afx_wait_blocked, afx_now_ms
 *   blocking     struct afx_call: one blocking call in a helper thread
 *   children     afx_child_fork, afx_wait_child
 *   signals      afx_catch_signal, afx_sig_hits[]
 *   hangs        afx_watchdog, afx_dump_threads
 *   data         afx_fill, afx_drain, afx_send_all, afx_recv_all, patterns,
 *                numbered datagrams (afx_dg_*)
 *
 * The family number comes from include/afx_family.h (afx_family()).
 */
#ifndef AFX_LIB_H
#define AFX_LIB_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
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
#include "afx_family.h"

#ifndef POLLRDHUP
#define POLLRDHUP 0x2000
#endif

#define AFX_SA(p)	((struct sockaddr *)(p))
#define AFX_ADDRLEN	((socklen_t)sizeof(struct sockaddr_x))

/* The default ephemeral port range (net.afx.ephemeral_port_range). */
#define AFX_EPH_MIN	49152U
#define AFX_EPH_MAX	65535U

/* ---- sockets --------------------------------------------------------- */

struct sockaddr_x afx_sockaddr(uint32_t addr, uint32_t port);
int afx_socket(int type);			/* socket(afx_family(), type, 0) */
int afx_bind(int fd, uint32_t addr, uint32_t port);
int afx_connect(int fd, uint32_t addr, uint32_t port);
int afx_connect_port(int fd, uint32_t port);	/* to {LOCAL, port} */
int afx_getsockname(int fd, struct sockaddr_x *sx);
int afx_getpeername(int fd, struct sockaddr_x *sx);
long afx_local_port(int fd);			/* from getsockname, -1 */
/*
 * A port of the type's space (SOCK_STREAM or SOCK_DGRAM; 0: of both) with
 * nothing bound: an ephemeral bind released again. 0 on error. Each
 * ephemeral port is a random step of 1 to 500 past the last one, so it
 * stays free until the binds have gone round the range (at least 33
 * binds in the default range). Tests use it for
 * "nobody is on this port" and for names they bind several sockets to.
 */
uint32_t afx_free_port(int type);
/* socket + bind {ANY, 0} + listen; type may carry SOCK_NONBLOCK etc. */
int afx_listener(int type, int backlog, uint32_t *port);
/* client (*client) and accepted (*accepted) socket; listener kept if asked */
int afx_stream_pair_ex(int type, int *listener, int *client, int *accepted);
int afx_stream_pair(int fds[2]);		/* [0] client, [1] accepted */
int afx_dgram_pair(int fds[2]);			/* bound, connected to each other */

/*
 * Something reachable at {addr, port}: a listener for SOCK_STREAM, a bound
 * socket for SOCK_DGRAM; afx_reach() reaches port the way the type does
 * (stream connect(), datagram sendto() of one byte): 0 or -1 with errno.
 */
int afx_target(int type, uint32_t addr, uint32_t port);
int afx_reach(int fd, int type, uint32_t addr, uint32_t port);

int afx_get_int(int fd, int level, int opt, int *val);
int afx_set_int(int fd, int level, int opt, int val);
int afx_so_error(int fd);			/* SO_ERROR (>= 0) or -1 */
int afx_set_nonblock(int fd, int on);		/* O_NONBLOCK via fcntl */
int afx_set_timeo(int fd, int opt, long ms);	/* SO_RCVTIMEO/SO_SNDTIMEO */
int afx_ioctl_int(int fd, unsigned long req, int *val);	/* *val preset */
/*
 * How many nonblocking connects to port complete at once before one gets
 * EINPROGRESS (the accept queue's capacity). The clients stay open in
 * fds[] (at most n, the pending one too). The count, -1 on an error.
 */
int afx_count_queue_capacity(uint32_t port, int *fds, int n);
/* accept() that does not wait, whatever the listener's O_NONBLOCK */
int afx_accept_nonblocking(int l);
void afx_close_all(int *fds, int n);	/* close the fds > 0 */

/* ---- waiting --------------------------------------------------------- */

#define AFX_DONE_WAIT_MS	5000	/* max time for a woken call to return */
#define AFX_STILL_BLOCKED_MS	150	/* "has not returned" observation window */
#define AFX_POLL_ALL	(POLLIN | POLLOUT | POLLRDHUP | POLLERR | POLLHUP)

int afx_poll(int fd, short events, int timeout_ms);	/* revents, 0, -1 */
int afx_wait_event(int fd, short events, int timeout_ms); /* 1, 0, -1 */
double afx_now_ms(void);			/* CLOCK_MONOTONIC */
pid_t afx_gettid(void);
/*
 * Wait (up to timeout_ms) until thread or process tid sleeps, in system
 * call nr if nr >= 0 (from /proc/.../stat and /proc/.../syscall). 0 once
 * it does, -1 with ETIMEDOUT otherwise.
 */
int afx_wait_blocked(pid_t tid, long nr, int timeout_ms);

/* ---- one blocking call in a helper thread ---------------------------- */

#define AFX_BLOCK_WAIT_MS	5000	/* max time for a call to block */

enum afx_call_kind {
	AFX_CALL_CONNECT,	/* connect(fd, {addr, port}) */
	AFX_CALL_ACCEPT,	/* accept4(fd, &addr, flags) */
	AFX_CALL_SEND,		/* send(fd, buf, len, flags) */
	AFX_CALL_SENDTO,	/* sendto(fd, buf, len, flags, {addr, port}) */
	AFX_CALL_RECV,		/* recvfrom(fd, buf, len, flags, &addr) */
	AFX_CALL_POLL,		/* poll({fd, events}, timeout_ms) */
};

/*
 * Fill in the kind and its arguments, afx_call_start() it, check with
 * afx_call_blocked() that it sleeps in its system call and with
 * afx_call_done() whether it returned, then afx_call_join() and read ret,
 * err (errno), revents and addr. afx_call_signal() interrupts it.
 */
struct afx_call {
	enum afx_call_kind kind;
	int fd;
	uint32_t addr;		/* CONNECT, SENDTO: destination (0: LOCAL) */
	uint32_t port;
	void *buf;		/* SEND, SENDTO, RECV */
	size_t len;
	int flags;		/* send/recv flags, accept4 flags */
	short events;		/* POLL */
	int timeout_ms;		/* POLL */

	long ret;
	int err;
	short revents;		/* POLL */
	struct sockaddr_x from;	/* ACCEPT, RECV: peer address */
	socklen_t fromlen;

	pid_t tid;
	pthread_t th;
	int done[2];
};

int afx_call_start(struct afx_call *c);	/* returns once the thread runs */
int afx_call_blocked(struct afx_call *c); /* 0 once asleep in the call */
int afx_call_done(struct afx_call *c, int ms); /* 1 if it returned within ms */
void afx_call_join(struct afx_call *c);
int afx_call_signal(struct afx_call *c, int sig);

/* ---- child processes ------------------------------------------------- */

#define AFX_CHILD_ALARM_SEC	20

/*
 * fork(); in the child, die with the parent (PR_SET_PDEATHSIG) and after
 * alarm_sec seconds at most (0: AFX_CHILD_ALARM_SEC). Children report
 * through their exit status (and pipes), never through ASSERT/EXPECT.
 */
pid_t afx_child_fork(unsigned int alarm_sec);
/* Wait for pid: its exit code, 128 + signal, or -1. */
int afx_wait_child(pid_t pid);

/* ---- signals --------------------------------------------------------- */

extern volatile sig_atomic_t afx_sig_hits[NSIG];
/* Counting handler for sig (count reset); flags 0: no SA_RESTART (EINTR). */
int afx_catch_signal(int sig, int flags);

/* ---- hangs ----------------------------------------------------------- */

/*
 * After sec seconds SIGALRM makes the process print a message, dump every
 * thread's kernel stack and _exit(1); 0 cancels. Not inherited by fork().
 */
void afx_watchdog(unsigned int sec);
void afx_dump_threads(void);

/* ---- data ------------------------------------------------------------ */

long afx_fill(int fd, size_t chunk);	/* MSG_DONTWAIT sends until EAGAIN */
long afx_drain(int fd);			/* MSG_DONTWAIT recvs until EAGAIN/EOF */
int afx_send_all(int fd, const void *buf, size_t len);
int afx_recv_all(int fd, void *buf, size_t len);	/* EOF: ENODATA */
int afx_read_sysctl_int(const char *path, int *val);
/* kernel.overflowuid or kernel.overflowgid (@name), -1 if unreadable. */
int afx_overflow_id(const char *name);
int afx_write_sysctl_int(const char *path, int val);
int afx_write_file(const char *path, const char *val);	/* proc, debugfs, cgroupfs */

unsigned char afx_pattern_byte(uint64_t off);
void afx_fill_pattern(void *buf, size_t len, uint64_t off);
/* len if buf matches the pattern at off, else the first bad index */
size_t afx_check_pattern(const void *buf, size_t len, uint64_t off);

/* ---- numbered datagrams ---------------------------------------------- */

#define AFX_MAX_DGRAM	65536

/* Every numbered datagram starts with this header, the rest a pattern. */
struct afx_dg_hdr {
	uint32_t seq;
	uint32_t len;
};

void afx_dg_make(unsigned char *buf, uint32_t seq, size_t len);
int afx_dg_check(const unsigned char *buf, size_t len, uint32_t seq);
size_t afx_dg_var_size(uint32_t seq);	/* 8 to 1507 bytes by seq */
/* datagram socket bound to {addr, port}, SO_REUSEADDR first if reuse */
int afx_dg_bound(uint32_t addr, uint32_t port, int reuse);
/* sendto {addr, port} with MSG_NOSIGNAL added */
ssize_t afx_send_to(int fd, const void *buf, size_t len, uint32_t addr,
		    uint32_t port, int flags);
/*
 * MSG_DONTWAIT datagrams of len bytes to {LOCAL, port} (port 0: on the
 * connected socket), numbered from *seq, until EAGAIN: how many went, -1
 * on another error or after max.
 */
long afx_dg_fill(int s, uint32_t port, size_t len, uint32_t *seq, long max);
/*
 * 1000-byte datagrams, then 1-byte ones, then empty ones, until not even
 * those fit
 */
long afx_dg_fill_full(int s, uint32_t port);
/*
 * Read every queued datagram (MSG_DONTWAIT), checking they are numbered
 * *seq, *seq + 1, ... with sizes size(seq) (or len if size is NULL): the
 * count, -1 on a bad one (message on stderr).
 */
long afx_dg_drain_check(int r, uint32_t *seq, size_t (*size)(uint32_t),
			size_t len);
/* The same, reading at most max datagrams. */
long afx_dg_drain_some(int r, uint32_t *seq, size_t (*size)(uint32_t),
		       size_t len, long max);

/* 1 if nothing is queued on fd (a MSG_DONTWAIT recv says EAGAIN) */
int afx_dg_queue_empty(int fd);

#endif /* AFX_LIB_H */
