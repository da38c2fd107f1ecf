// SPDX-License-Identifier: GPL-2.0
/*
 * afx-fuzz - a fuzzer that knows AF_X.
 *
 * trinity throws random arguments at the socket syscalls; this program
 * throws valid-ish ones, so that the calls get past argument checking
 * into afx's state machines: struct sockaddr_x values over a few ports
 * (AFX_ADDR_ANY, AFX_ADDR_LOCAL, AFX_ADDR_BROADCAST, now and then a bad
 * family, length, address or reserved field), every SOL_X option and
 * every SOL_SOCKET option number with values of the right shape, MSG_*
 * flag combinations, stream and datagram sockets in every state, shared
 * between threads and processes.
 *
 * Workers (threads, -j, in each of -P processes) loop over random calls
 * on a shared pool of file descriptors: socket, bind, listen, connect,
 * accept, accept4, send, sendto, sendmsg, sendmmsg, recv, recvfrom,
 * recvmsg, recvmmsg, read, write, shutdown, close, poll, epoll,
 * setsockopt, getsockopt, getsockname, getpeername, ioctl (SIOCINQ,
 * SIOCOUTQ, FIONBIO, ...), fcntl (O_NONBLOCK, O_ASYNC, F_SETOWN), dup,
 * splice, fork (a child that runs a few calls on the inherited
 * descriptors) and signals that interrupt blocked calls (EINTR paths).
 *
 * Every socket gets SO_RCVTIMEO/SO_SNDTIMEO of at most one second and
 * the fuzzer never sets a larger or infinite one, so every blocking call
 * must return. The invariants checked, each a failure when broken:
 *   - a call that does not return within -w seconds (watchdog: the stuck
 *     thread's last calls are printed, the run fails with exit 3)
 *   - a kernel-internal errno (>= 512, e.g. ERESTARTSYS) reaching us
 *   - a byte count larger than the buffer, an address length larger than
 *     the buffer, a name of the wrong family, nonzero sx_reserved1 or
 *     sx_zero in an address the kernel wrote
 *   - SO_DOMAIN, SO_TYPE, SO_PROTOCOL of a pool socket not AF_X's
 *   - SIOCINQ/SIOCOUTQ negative or absurd
 *
 * With one thread and one process (-j 1 -P 1) the sequence of calls is a
 * function of the seed (-s; printed at start), so a finding can be
 * replayed; -v logs every call. At the end it prints calls, successes
 * and the errnos seen per call, the sockets created and one summary line
 * "afx-fuzz: seed=S calls=N sockets=N ...". Exit status: 0 clean, 1 a
 * broken invariant, 2 usage, 3 a hung call.
 *
 * The family number comes from include/afx_family.h (the loaded module's
 * family= parameter, AF_X by default).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <linux/filter.h>
#include <linux/sockios.h>

#include <linux/afx.h>
#include "afx_family.h"

#define MAX_THREADS	32
#define MAX_PROCS	16
#define MAX_POOL	256
#define ERRMAX		600	/* errnos counted one by one; above: "other" */
#define RING		16	/* calls remembered per worker */
#define BUFSZ		(64 * 1024)

/* ---- options ------------------------------------------------------------- */

static uint64_t opt_seed;
static double opt_seconds = 10;
static unsigned long opt_calls;		/* 0: no limit */
static int opt_threads = 4;
static int opt_procs = 2;
static int opt_pool = 48;
static int opt_ports = 4;
static unsigned int opt_base_port = 41000;
static int opt_watchdog = 30;
static int opt_verbose;
static int opt_no_fork;
static int fam;

/* ---- the calls ------------------------------------------------------------ */

#define OPS(X) \
	X(SOCKET, 10) X(CLOSE, 5) X(BIND, 8) X(LISTEN, 5) X(CONNECT, 8) \
	X(ACCEPT, 5) X(ACCEPT4, 3) X(SEND, 8) X(SENDTO, 6) X(SENDMSG, 5) \
	X(SENDMMSG, 2) X(RECV, 7) X(RECVFROM, 5) X(RECVMSG, 5) \
	X(RECVMMSG, 2) X(READ, 2) X(WRITE, 2) X(SHUTDOWN, 3) \
	X(SETSOCKOPT, 10) X(GETSOCKOPT, 6) X(GETSOCKNAME, 2) \
	X(GETPEERNAME, 2) X(POLL, 4) X(EPOLL, 3) X(IOCTL, 4) X(FCNTL, 3) \
	X(DUP, 2) X(SPLICE, 1) X(FORK, 1) X(SIGNAL, 1) X(SOCKETPAIR, 1) \
	X(SEQ_SERVER, 4) X(SEQ_CLIENT, 6) X(SEQ_DGRAM, 3)

#define X_ENUM(n, w) OP_##n,
enum op { OPS(X_ENUM) NOPS };
#define X_NAME(n, w) #n,
static const char *const op_names[] = { OPS(X_NAME) };
#define X_WEIGHT(n, w) w,
static const int op_weights[] = { OPS(X_WEIGHT) };
static int weight_total;

/* Shared between the processes (MAP_SHARED). */
struct stats {
	unsigned long calls[NOPS];
	unsigned long ok[NOPS];
	unsigned long err[NOPS][ERRMAX + 1];
	unsigned long total;
	unsigned long sockets;		/* socket() and accept() successes */
	unsigned long accepted;
	unsigned long connected;
	unsigned long bytes_out, bytes_in;
	unsigned long forks;
	unsigned long violations;
	int stop;
	int hung;
};
static struct stats *st;

static void add(unsigned long *p, unsigned long n)
{
	__atomic_fetch_add(p, n, __ATOMIC_RELAXED);
}

/* ---- random numbers: splitmix64, one state per worker ---------------------- */

struct rng {
	uint64_t s;
};

static uint64_t next(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned int rnd(struct rng *r, unsigned int n)
{
	return n ? (unsigned int)(next(r) % n) : 0;
}

/* true with probability pct percent */
static int chance(struct rng *r, unsigned int pct)
{
	return rnd(r, 100) < pct;
}

/* ---- per-worker state, watched by the watchdog ------------------------------ */

struct rec {
	int op, fd;
	long arg, ret;
	int err;
};

struct worker {
	int id;
	pthread_t th;
	struct rng r;
	int epfd;
	int pipefd[2];
	pid_t kids[8];
	volatile int alive;		/* running: may be sent SIGUSR1 */
	/* the call in progress: start time (0 when none), what it is */
	volatile uint64_t start_ns;
	volatile int cur_op, cur_fd;
	volatile long cur_arg;
	unsigned long seq;
	struct rec ring[RING];
	char buf[BUFSZ];
	char buf2[BUFSZ];
};

static struct worker *workers;
static int nworkers;
static int pool[MAX_POOL];
static int in_child;		/* a FORK child: no printing, no watchdog */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void violation(struct worker *w, const char *fmt, ...)
{
	va_list ap;
	char msg[512];

	add(&st->violations, 1);
	if (in_child)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "afx-fuzz: VIOLATION (pid %d worker %d, call #%lu): %s\n",
		getpid(), w->id, w->seq, msg);
}

static void enter(struct worker *w, int op, int fd, long arg)
{
	w->cur_op = op;
	w->cur_fd = fd;
	w->cur_arg = arg;
	__atomic_store_n(&w->start_ns, now_ns(), __ATOMIC_RELEASE);
}

/* leave W RET: the call returned RET (errno in errno); count it. */
static long leave(struct worker *w, long ret)
{
	int e = errno;
	int op = w->cur_op;
	struct rec *rc = &w->ring[w->seq % RING];

	__atomic_store_n(&w->start_ns, 0, __ATOMIC_RELEASE);
	rc->op = op;
	rc->fd = w->cur_fd;
	rc->arg = w->cur_arg;
	rc->ret = ret;
	rc->err = ret < 0 ? e : 0;
	w->seq++;
	add(&st->calls[op], 1);
	add(&st->total, 1);
	if (ret >= 0) {
		add(&st->ok[op], 1);
	} else {
		add(&st->err[op][e > 0 && e < ERRMAX ? e : ERRMAX], 1);
		if (e >= 512)
			violation(w, "%s(fd %d) returned kernel-internal errno %d",
				  op_names[op], w->cur_fd, e);
	}
	if (opt_verbose && !in_child)
		fprintf(stderr, "[%d.%d #%lu] %s fd=%d arg=%#lx -> %ld%s%s\n",
			getpid(), w->id, w->seq, op_names[op], w->cur_fd,
			w->cur_arg, ret, ret < 0 ? " " : "",
			ret < 0 ? strerror(e) : "");
	errno = e;
	return ret;
}

/* ---- the descriptor pool ---------------------------------------------------- */

/* A descriptor from the pool (maybe -1 or one another worker is closing). */
static int pool_get(struct worker *w)
{
	int i, fd;

	for (i = 0; i < 4; i++) {
		fd = __atomic_load_n(&pool[rnd(&w->r, opt_pool)], __ATOMIC_RELAXED);
		if (fd >= 0)
			return fd;
	}
	return chance(&w->r, 50) ? -1 : fd;
}

/* Take a descriptor out of the pool (for close): it is ours alone now. */
static int pool_take(struct worker *w)
{
	return __atomic_exchange_n(&pool[rnd(&w->r, opt_pool)], -1, __ATOMIC_ACQ_REL);
}

/* Put FD into the pool; when it is full, a random occupant is closed. */
static void pool_put(struct worker *w, int fd)
{
	int i, start = rnd(&w->r, opt_pool), old;

	for (i = 0; i < opt_pool; i++) {
		int expect = -1;

		if (__atomic_compare_exchange_n(&pool[(start + i) % opt_pool], &expect,
						fd, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			return;
	}
	old = __atomic_exchange_n(&pool[start], fd, __ATOMIC_ACQ_REL);
	if (old >= 0) {
		enter(w, OP_CLOSE, old, 0);
		leave(w, close(old));
	}
}

/* ---- arguments -------------------------------------------------------------- */

static unsigned int gen_port(struct worker *w)
{
	unsigned int p = rnd(&w->r, 100);

	if (p < 85)
		return opt_base_port + rnd(&w->r, opt_ports);
	if (p < 91)
		return AFX_PORT_ANY;
	if (p < 96)
		return rnd(&w->r, 1024);	/* privileged: EACCES for users */
	return (unsigned int)next(&w->r);
}

static unsigned int gen_xaddr(struct worker *w)
{
	unsigned int p = rnd(&w->r, 100);

	if (p < 40)
		return AFX_ADDR_ANY;
	if (p < 75)
		return AFX_ADDR_LOCAL;
	if (p < 90)
		return AFX_ADDR_BROADCAST;
	return (unsigned int)next(&w->r);
}

/* A valid-ish struct sockaddr_x in SS; returns its length. */
static socklen_t gen_addr(struct worker *w, struct sockaddr_storage *ss)
{
	struct sockaddr_x *sx = (struct sockaddr_x *)ss;
	static const socklen_t odd_lens[] = { 0, 1, 2, 4, 8, 12, 15, 17, 32, 128 };
	unsigned int p;

	memset(ss, 0, sizeof(*ss));
	p = rnd(&w->r, 100);
	if (p < 93)
		sx->sx_family = fam;
	else if (p < 97)
		sx->sx_family = AF_UNSPEC;	/* datagram disconnect */
	else
		sx->sx_family = rnd(&w->r, 64);
	sx->sx_port = gen_port(w);
	sx->sx_addr = gen_xaddr(w);
	if (chance(&w->r, 3))
		sx->sx_reserved1 = next(&w->r);
	if (chance(&w->r, 3))
		sx->sx_zero[rnd(&w->r, 4)] = 1 + rnd(&w->r, 255);
	if (chance(&w->r, 92))
		return sizeof(*sx);
	return odd_lens[rnd(&w->r, sizeof(odd_lens) / sizeof(odd_lens[0]))];
}

static int gen_msg_flags(struct worker *w)
{
	static const int flags[] = {
		MSG_OOB, MSG_PEEK, MSG_DONTROUTE, MSG_CTRUNC, MSG_TRUNC,
		MSG_DONTWAIT, MSG_EOR, MSG_WAITALL, MSG_NOSIGNAL, MSG_MORE,
		MSG_CMSG_CLOEXEC, MSG_ERRQUEUE, MSG_CONFIRM, MSG_ZEROCOPY,
		MSG_FASTOPEN, MSG_BATCH, MSG_PROXY, MSG_WAITFORONE,
	};
	int f = 0, n;

	if (chance(&w->r, 35))
		return 0;
	if (chance(&w->r, 2))
		return (int)next(&w->r);
	n = 1 + rnd(&w->r, 3);
	while (n--)
		f |= flags[rnd(&w->r, sizeof(flags) / sizeof(flags[0]))];
	/* Mostly nonblocking, so that the workers keep moving. */
	if (chance(&w->r, 50))
		f |= MSG_DONTWAIT;
	return f;
}

static size_t gen_len(struct worker *w)
{
	unsigned int p = rnd(&w->r, 100);

	if (p < 10)
		return 0;
	if (p < 40)
		return 1 + rnd(&w->r, 16);
	if (p < 80)
		return 1 + rnd(&w->r, 2048);
	return 1 + rnd(&w->r, BUFSZ);
}

/* A timeout for SO_RCVTIMEO/SO_SNDTIMEO: 1 us .. 1 s, never 0 (forever). */
static struct timeval gen_timeo(struct worker *w)
{
	struct timeval tv = { 0, 1 + rnd(&w->r, 1000000) };

	if (tv.tv_usec >= 1000000) {
		tv.tv_sec = 1;
		tv.tv_usec = 0;
	}
	return tv;
}

/* Bound every blocking call on a new socket (accepted ones inherit). */
static void set_timeouts(struct worker *w, int fd)
{
	struct timeval tv = gen_timeo(w);

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	tv = gen_timeo(w);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* ---- invariants on what the kernel wrote ------------------------------------ */

static void check_name(struct worker *w, const char *what, int fd,
		       const struct sockaddr_storage *ss, socklen_t len,
		       socklen_t given)
{
	const struct sockaddr_x *sx = (const struct sockaddr_x *)ss;

	/*
	 * A short buffer gets a truncated name and the full length, as
	 * move_addr_to_user() does; only a full one can be checked.
	 */
	if (given < sizeof(*sx) || len < sizeof(*sx))
		return;
	if (len > sizeof(*sx))
		violation(w, "%s(fd %d): address length %u, struct sockaddr_x is %zu",
			  what, fd, len, sizeof(*sx));
	if (sx->sx_family != fam && sx->sx_family != AF_UNSPEC)
		violation(w, "%s(fd %d): family %u, not %d", what, fd,
			  sx->sx_family, fam);
	if (sx->sx_reserved1 || sx->sx_zero[0] || sx->sx_zero[1] ||
	    sx->sx_zero[2] || sx->sx_zero[3])
		violation(w, "%s(fd %d): reserved/zero bytes not zero "
			  "(%04x %02x%02x%02x%02x): uninitialised memory?",
			  what, fd, sx->sx_reserved1, sx->sx_zero[0],
			  sx->sx_zero[1], sx->sx_zero[2], sx->sx_zero[3]);
}

static void check_count(struct worker *w, const char *what, int fd, long ret,
			size_t max)
{
	if (ret > 0 && (size_t)ret > max)
		violation(w, "%s(fd %d): %ld bytes, buffer %zu", what, fd, ret, max);
}

static void one_call(struct worker *w, int op);

/* ---- one call of each kind ------------------------------------------------- */

/* One of the three AF_X socket types, streams and datagrams most often. */
static int any_type(struct worker *w)
{
	static const int types[] = {
		SOCK_STREAM, SOCK_STREAM, SOCK_DGRAM, SOCK_DGRAM, SOCK_SEQPACKET,
	};

	return types[rnd(&w->r, sizeof(types) / sizeof(types[0]))];
}

/* A connection-oriented type, for the server and client sequences. */
static int conn_type(struct worker *w)
{
	return chance(&w->r, 70) ? SOCK_STREAM : SOCK_SEQPACKET;
}

static void do_socket(struct worker *w)
{
	int type = any_type(w), fd;
	int proto = 0, domain = fam;

	if (chance(&w->r, 20))
		type |= SOCK_NONBLOCK;
	if (chance(&w->r, 20))
		type |= SOCK_CLOEXEC;
	if (chance(&w->r, 3))
		type = rnd(&w->r, 12);		/* RAW, RDM, ...: refused */
	if (chance(&w->r, 3))
		proto = rnd(&w->r, 300);
	enter(w, OP_SOCKET, -1, type);
	fd = leave(w, socket(domain, type, proto));
	if (fd < 0)
		return;
	add(&st->sockets, 1);
	set_timeouts(w, fd);
	pool_put(w, fd);
}

static void do_socketpair(struct worker *w)
{
	int sv[2];

	enter(w, OP_SOCKETPAIR, -1, 0);
	if (leave(w, socketpair(fam, any_type(w), 0, sv)) == 0) {
		add(&st->sockets, 2);
		set_timeouts(w, sv[0]);
		set_timeouts(w, sv[1]);
		pool_put(w, sv[0]);
		pool_put(w, sv[1]);
	}
}

static void do_close(struct worker *w)
{
	int fd = pool_take(w);

	if (fd < 0)
		return;
	enter(w, OP_CLOSE, fd, 0);
	leave(w, close(fd));
}

static void do_bind(struct worker *w)
{
	struct sockaddr_storage ss;
	socklen_t len = gen_addr(w, &ss);
	int fd = pool_get(w);

	enter(w, OP_BIND, fd, ((struct sockaddr_x *)&ss)->sx_port);
	leave(w, bind(fd, (struct sockaddr *)&ss, len));
}

static void do_listen(struct worker *w)
{
	static const int backlogs[] = { -1, 0, 1, 2, 8, 128, 4096, 0x7fffffff };
	int fd = pool_get(w), b = backlogs[rnd(&w->r, 8)];

	enter(w, OP_LISTEN, fd, b);
	leave(w, listen(fd, b));
}

static void do_connect(struct worker *w)
{
	struct sockaddr_storage ss;
	socklen_t len = gen_addr(w, &ss);
	int fd = pool_get(w);

	enter(w, OP_CONNECT, fd, ((struct sockaddr_x *)&ss)->sx_port);
	if (leave(w, connect(fd, (struct sockaddr *)&ss, len)) == 0)
		add(&st->connected, 1);
}

static void do_accept(struct worker *w, int four)
{
	struct sockaddr_storage ss;
	socklen_t given = chance(&w->r, 10) ? rnd(&w->r, 20) : sizeof(ss), len = given;
	int fd = pool_get(w), nfd, flags = 0;
	int noaddr = chance(&w->r, 30);

	memset(&ss, 0xa5, sizeof(ss));
	if (four) {
		if (chance(&w->r, 50))
			flags |= SOCK_NONBLOCK;
		if (chance(&w->r, 30))
			flags |= SOCK_CLOEXEC;
		if (chance(&w->r, 3))
			flags = (int)next(&w->r);
		enter(w, OP_ACCEPT4, fd, flags);
		nfd = leave(w, accept4(fd, noaddr ? NULL : (struct sockaddr *)&ss,
				       noaddr ? NULL : &len, flags));
	} else {
		enter(w, OP_ACCEPT, fd, 0);
		nfd = leave(w, accept(fd, noaddr ? NULL : (struct sockaddr *)&ss,
				      noaddr ? NULL : &len));
	}
	if (nfd < 0)
		return;
	if (!noaddr)
		check_name(w, "accept", fd, &ss, len, given);
	add(&st->sockets, 1);
	add(&st->accepted, 1);
	set_timeouts(w, nfd);
	pool_put(w, nfd);
}

static void fill(struct worker *w, char *b, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		b[i] = (char)(w->seq + i);
}

static void do_send(struct worker *w, int op)
{
	struct sockaddr_storage ss;
	socklen_t alen = gen_addr(w, &ss);
	size_t len = gen_len(w);
	int fd = pool_get(w), flags = gen_msg_flags(w);
	long n;

	fill(w, w->buf, len);
	enter(w, op, fd, len);
	switch (op) {
	case OP_SEND:
		n = send(fd, w->buf, len, flags);
		break;
	case OP_WRITE:
		n = write(fd, w->buf, len);
		break;
	default:
		n = sendto(fd, w->buf, len, flags,
			   chance(&w->r, 10) ? NULL : (struct sockaddr *)&ss,
			   alen);
		break;
	}
	n = leave(w, n);
	check_count(w, op_names[op], fd, n, len);
	if (n > 0)
		add(&st->bytes_out, n);
}

/* A control message: SCM_RIGHTS (our own fd), SCM_CREDENTIALS or junk. */
static size_t gen_cmsg(struct worker *w, char *cbuf, size_t max, int fd)
{
	struct cmsghdr *c = (struct cmsghdr *)cbuf;
	unsigned int p = rnd(&w->r, 100);

	memset(cbuf, 0, max);
	if (p < 60)
		return 0;
	if (p < 75) {
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
		return CMSG_SPACE(sizeof(int));
	}
	if (p < 90) {
		struct ucred uc = { getpid(), getuid(), getgid() };

		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_CREDENTIALS;
		c->cmsg_len = CMSG_LEN(sizeof(uc));
		memcpy(CMSG_DATA(c), &uc, sizeof(uc));
		return CMSG_SPACE(sizeof(uc));
	}
	c->cmsg_level = chance(&w->r, 50) ? SOL_SOCKET : SOL_X;
	c->cmsg_type = rnd(&w->r, 80);
	c->cmsg_len = CMSG_LEN(rnd(&w->r, 32));
	return CMSG_SPACE(32);
}

static void do_sendmsg(struct worker *w, int mm)
{
	struct sockaddr_storage ss[4];
	struct iovec iov[4][4];
	struct mmsghdr m[4];
	char cbuf[4][64];
	int fd = pool_get(w), flags = gen_msg_flags(w), vlen = mm ? 1 + rnd(&w->r, 4) : 1;
	int i, j;
	long n;
	size_t total = 0;

	memset(m, 0, sizeof(m));
	for (i = 0; i < vlen; i++) {
		int niov = rnd(&w->r, 4) + (chance(&w->r, 90) ? 1 : 0);

		for (j = 0; j < niov; j++) {
			size_t off = rnd(&w->r, BUFSZ / 2);

			iov[i][j].iov_base = w->buf + off;
			iov[i][j].iov_len = gen_len(w) % (BUFSZ - off);
			total += iov[i][j].iov_len;
		}
		m[i].msg_hdr.msg_iov = iov[i];
		m[i].msg_hdr.msg_iovlen = niov;
		if (chance(&w->r, 60)) {
			m[i].msg_hdr.msg_name = &ss[i];
			m[i].msg_hdr.msg_namelen = gen_addr(w, &ss[i]);
		}
		m[i].msg_hdr.msg_controllen = gen_cmsg(w, cbuf[i], sizeof(cbuf[i]), fd);
		if (m[i].msg_hdr.msg_controllen)
			m[i].msg_hdr.msg_control = cbuf[i];
	}
	fill(w, w->buf, BUFSZ);
	if (mm) {
		enter(w, OP_SENDMMSG, fd, vlen);
		n = leave(w, sendmmsg(fd, m, vlen, flags));
		if (n > vlen)
			violation(w, "sendmmsg(fd %d): %ld > vlen %d", fd, n, vlen);
		for (i = 0; i < n && i < vlen; i++)
			add(&st->bytes_out, m[i].msg_len);
	} else {
		enter(w, OP_SENDMSG, fd, total);
		n = leave(w, sendmsg(fd, &m[0].msg_hdr, flags));
		check_count(w, "sendmsg", fd, n, total);
		if (n > 0)
			add(&st->bytes_out, n);
	}
}

static void do_recv(struct worker *w, int op)
{
	struct sockaddr_storage ss;
	socklen_t given = chance(&w->r, 10) ? rnd(&w->r, 20) : sizeof(ss), len = given;
	size_t blen = gen_len(w);
	int fd = pool_get(w), flags = gen_msg_flags(w);
	long n;

	memset(&ss, 0xa5, sizeof(ss));
	enter(w, op, fd, blen);
	switch (op) {
	case OP_RECV:
		n = recv(fd, w->buf2, blen, flags);
		break;
	case OP_READ:
		n = read(fd, w->buf2, blen);
		break;
	default:
		n = recvfrom(fd, w->buf2, blen, flags, (struct sockaddr *)&ss, &len);
		break;
	}
	n = leave(w, n);
	if (n < 0)
		return;
	add(&st->bytes_in, n);
	/* MSG_TRUNC on a datagram socket reports the real length. */
	if (!(flags & MSG_TRUNC))
		check_count(w, op_names[op], fd, n, blen);
	if (op == OP_RECVFROM)
		check_name(w, "recvfrom", fd, &ss, len, given);
}

static void do_recvmsg(struct worker *w, int mm)
{
	struct sockaddr_storage ss[4];
	struct iovec iov[4][4];
	struct mmsghdr m[4];
	char cbuf[4][128];
	int fd = pool_get(w), flags = gen_msg_flags(w), vlen = mm ? 1 + rnd(&w->r, 4) : 1;
	int i, j;
	long n;
	size_t total[4] = { 0 };
	socklen_t given[4];
	struct timespec ts = { 0, rnd(&w->r, 200) * 1000000L };

	memset(m, 0, sizeof(m));
	memset(ss, 0xa5, sizeof(ss));
	for (i = 0; i < vlen; i++) {
		int niov = rnd(&w->r, 4) + (chance(&w->r, 90) ? 1 : 0);

		for (j = 0; j < niov; j++) {
			size_t off = rnd(&w->r, BUFSZ / 2);

			iov[i][j].iov_base = w->buf2 + off;
			iov[i][j].iov_len = gen_len(w) % (BUFSZ - off);
			total[i] += iov[i][j].iov_len;
		}
		m[i].msg_hdr.msg_iov = iov[i];
		m[i].msg_hdr.msg_iovlen = niov;
		given[i] = chance(&w->r, 10) ? rnd(&w->r, 20) : sizeof(ss[i]);
		if (chance(&w->r, 80)) {
			m[i].msg_hdr.msg_name = &ss[i];
			m[i].msg_hdr.msg_namelen = given[i];
		}
		if (chance(&w->r, 40)) {
			m[i].msg_hdr.msg_control = cbuf[i];
			m[i].msg_hdr.msg_controllen = rnd(&w->r, sizeof(cbuf[i]) + 1);
		}
	}
	if (mm) {
		enter(w, OP_RECVMMSG, fd, vlen);
		n = leave(w, recvmmsg(fd, m, vlen, flags,
				      chance(&w->r, 50) ? &ts : NULL));
		if (n > vlen)
			violation(w, "recvmmsg(fd %d): %ld > vlen %d", fd, n, vlen);
	} else {
		enter(w, OP_RECVMSG, fd, total[0]);
		n = leave(w, recvmsg(fd, &m[0].msg_hdr, flags));
		if (n >= 0) {
			m[0].msg_len = n;
			n = 1;
		}
	}
	for (i = 0; i < n && i < vlen; i++) {
		add(&st->bytes_in, m[i].msg_len);
		if (!(flags & MSG_TRUNC) && !(m[i].msg_hdr.msg_flags & MSG_TRUNC))
			check_count(w, op_names[mm ? OP_RECVMMSG : OP_RECVMSG], fd,
				    m[i].msg_len, total[i]);
		if (m[i].msg_hdr.msg_name)
			check_name(w, op_names[mm ? OP_RECVMMSG : OP_RECVMSG], fd,
				   &ss[i], m[i].msg_hdr.msg_namelen, given[i]);
	}
}

static void do_shutdown(struct worker *w)
{
	int fd = pool_get(w), how = chance(&w->r, 95) ? (int)rnd(&w->r, 3) : (int)rnd(&w->r, 10);

	enter(w, OP_SHUTDOWN, fd, how);
	leave(w, shutdown(fd, how));
}

/* The value for a SOL_SOCKET option: int, linger, timeval or a filter. */
static void do_setsockopt(struct worker *w)
{
	union {
		int i;
		struct linger l;
		struct timeval tv;
		struct sock_fprog prog;
		char raw[64];
	} v;
	static struct sock_filter filters[3][1] = {
		{ BPF_STMT(BPF_RET | BPF_K, 0xffffffff) },	/* accept */
		{ BPF_STMT(BPF_RET | BPF_K, 0) },		/* drop */
		{ BPF_STMT(BPF_RET | BPF_K, 1) },		/* truncate */
	};
	static const int ints[] = { 0, 1, 2, -1, 7, 128, 1024, 4096, 65536,
				    0x7fffffff, (int)0x80000000 };
	int fd = pool_get(w), level, name;
	socklen_t len = sizeof(int);
	unsigned int p = rnd(&w->r, 100);

	memset(&v, 0, sizeof(v));
	v.i = ints[rnd(&w->r, sizeof(ints) / sizeof(ints[0]))];
	if (p < 40) {
		level = SOL_X;
		name = chance(&w->r, 85) ? 1 + (int)rnd(&w->r, 2) : (int)rnd(&w->r, 8);
		if (chance(&w->r, 70))
			v.i = rnd(&w->r, 2);
	} else if (p < 95) {
		level = SOL_SOCKET;
		name = rnd(&w->r, 80);
		switch (name) {
		case SO_RCVTIMEO_OLD:
		case SO_SNDTIMEO_OLD:
		case SO_RCVTIMEO_NEW:
		case SO_SNDTIMEO_NEW:
			/* never longer than 1 s, never 0 (forever) */
			v.tv = gen_timeo(w);
			len = sizeof(v.tv);
			if (name == SO_RCVTIMEO_NEW || name == SO_SNDTIMEO_NEW) {
				long long t[2] = { v.tv.tv_sec, v.tv.tv_usec };

				memcpy(v.raw, t, sizeof(t));
				len = sizeof(t);
			}
			break;
		case SO_LINGER:
			v.l.l_onoff = rnd(&w->r, 2);
			v.l.l_linger = rnd(&w->r, 2);
			len = sizeof(v.l);
			break;
		case SO_ATTACH_FILTER:
			v.prog.len = 1;
			v.prog.filter = filters[rnd(&w->r, 3)];
			len = sizeof(v.prog);
			break;
		case SO_BINDTODEVICE:
			strcpy(v.raw, chance(&w->r, 50) ? "lo" : "");
			len = strlen(v.raw);
			break;
		case SO_RCVBUF:
		case SO_SNDBUF:
			/* small buffers fill up: senders block */
			v.i = chance(&w->r, 50) ? (int)rnd(&w->r, 4096) : v.i;
			break;
		default:
			break;
		}
	} else {
		level = chance(&w->r, 50) ? (int)rnd(&w->r, 300) : (int)next(&w->r);
		name = rnd(&w->r, 100);
	}
	if (chance(&w->r, 3))
		len = rnd(&w->r, 20);
	enter(w, OP_SETSOCKOPT, fd, (long)level << 16 | name);
	leave(w, setsockopt(fd, level, name, &v, len));
}

static void do_getsockopt(struct worker *w)
{
	union {
		int i;
		char raw[256];
	} v;
	static const socklen_t lens[] = { 0, 1, 2, 4, 8, 16, 32, 256 };
	socklen_t given, len;
	int fd = pool_get(w), level, name;
	unsigned int p = rnd(&w->r, 100);

	if (p < 35) {
		level = SOL_X;
		name = chance(&w->r, 85) ? 1 + (int)rnd(&w->r, 2) : (int)rnd(&w->r, 8);
	} else if (p < 95) {
		level = SOL_SOCKET;
		name = rnd(&w->r, 80);
	} else {
		level = rnd(&w->r, 300);
		name = rnd(&w->r, 100);
	}
	given = chance(&w->r, 70) ? (socklen_t)sizeof(int) : lens[rnd(&w->r, 8)];
	len = given;
	memset(&v, 0xa5, sizeof(v));
	enter(w, OP_GETSOCKOPT, fd, (long)level << 16 | name);
	if (leave(w, getsockopt(fd, level, name, &v, &len)) < 0)
		return;
	if (len > given && name != SO_PEERSEC && name != SO_PEERGROUPS)
		violation(w, "getsockopt(fd %d, %d, %d): optlen %u > %u given",
			  fd, level, name, len, given);
	if (level != SOL_SOCKET || len < sizeof(int))
		return;
	if (name == SO_DOMAIN && v.i != fam)
		violation(w, "SO_DOMAIN of fd %d is %d, not %d", fd, v.i, fam);
	if (name == SO_TYPE && v.i != SOCK_STREAM && v.i != SOCK_DGRAM &&
	    v.i != SOCK_SEQPACKET)
		violation(w, "SO_TYPE of fd %d is %d", fd, v.i);
	if (name == SO_PROTOCOL && v.i != 0)
		violation(w, "SO_PROTOCOL of fd %d is %d", fd, v.i);
}

static void do_name(struct worker *w, int peer)
{
	struct sockaddr_storage ss;
	socklen_t given = chance(&w->r, 15) ? rnd(&w->r, 20) : sizeof(ss), len = given;
	int fd = pool_get(w);

	memset(&ss, 0xa5, sizeof(ss));
	enter(w, peer ? OP_GETPEERNAME : OP_GETSOCKNAME, fd, 0);
	if (leave(w, peer ? getpeername(fd, (struct sockaddr *)&ss, &len) :
		     getsockname(fd, (struct sockaddr *)&ss, &len)) == 0)
		check_name(w, peer ? "getpeername" : "getsockname", fd, &ss, len, given);
}

static void do_poll(struct worker *w)
{
	struct pollfd pf[8];
	int i, n = 1 + rnd(&w->r, 8);

	for (i = 0; i < n; i++) {
		pf[i].fd = pool_get(w);
		pf[i].events = chance(&w->r, 10) ? (short)next(&w->r) :
			(short)(POLLIN | POLLOUT | POLLPRI | POLLRDHUP |
				(chance(&w->r, 30) ? POLLRDNORM | POLLWRNORM : 0));
		pf[i].revents = 0;
	}
	enter(w, OP_POLL, pf[0].fd, n);
	leave(w, poll(pf, n, rnd(&w->r, 100)));
}

static void do_epoll(struct worker *w)
{
	struct epoll_event ev = { 0 }, out[8];
	int fd = pool_get(w), p = rnd(&w->r, 100);

	ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI;
	if (chance(&w->r, 40))
		ev.events |= EPOLLET;
	if (chance(&w->r, 10))
		ev.events |= EPOLLONESHOT;
	if (chance(&w->r, 5))
		ev.events |= EPOLLEXCLUSIVE;
	ev.data.fd = fd;
	enter(w, OP_EPOLL, fd, p);
	if (p < 35)
		leave(w, epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev));
	else if (p < 45)
		leave(w, epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, NULL));
	else if (p < 55)
		leave(w, epoll_ctl(w->epfd, EPOLL_CTL_MOD, fd, &ev));
	else
		leave(w, epoll_wait(w->epfd, out, 8, rnd(&w->r, 50)));
}

static void do_ioctl(struct worker *w)
{
	static const unsigned long cmds[] = {
		SIOCINQ, SIOCOUTQ, SIOCOUTQNSD, FIONBIO, FIOASYNC, SIOCATMARK,
		SIOCGSTAMP_OLD, SIOCGSTAMPNS_OLD, FIOSETOWN, FIOGETOWN,
		SIOCSPGRP, SIOCGPGRP, SIOCGIFNAME, SIOCPROTOPRIVATE,
		SIOCPROTOPRIVATE + 1, SIOCPROTOPRIVATE + 15,
	};
	unsigned long cmd = cmds[rnd(&w->r, sizeof(cmds) / sizeof(cmds[0]))];
	union {
		int i;
		char raw[64];
	} v;
	int fd = pool_get(w);

	memset(&v, 0, sizeof(v));
	if (cmd == SIOCINQ || cmd == SIOCOUTQ)
		v.i = -12345;
	else if (cmd == FIONBIO || cmd == FIOASYNC)
		v.i = rnd(&w->r, 2);
	else if (cmd == FIOSETOWN || cmd == SIOCSPGRP)
		v.i = chance(&w->r, 50) ? getpid() : 0;
	enter(w, OP_IOCTL, fd, cmd);
	if (leave(w, ioctl(fd, cmd, &v)) < 0)
		return;
	if ((cmd == SIOCINQ || cmd == SIOCOUTQ) && (v.i < 0 || v.i > (64 << 20)))
		violation(w, "ioctl(fd %d, %s) reports %d", fd,
			  cmd == SIOCINQ ? "SIOCINQ" : "SIOCOUTQ", v.i);
}

static void do_fcntl(struct worker *w)
{
	int fd = pool_get(w), p = rnd(&w->r, 100), fl;

	enter(w, OP_FCNTL, fd, p);
	if (p < 60) {
		fl = fcntl(fd, F_GETFL);
		if (fl >= 0)
			fl = chance(&w->r, 50) ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
		if (fl >= 0 && chance(&w->r, 15))
			fl ^= O_ASYNC;
		leave(w, fl < 0 ? -1 : fcntl(fd, F_SETFL, fl));
	} else if (p < 80) {
		leave(w, fcntl(fd, F_SETOWN, chance(&w->r, 50) ? getpid() : 0));
	} else {
		leave(w, fcntl(fd, F_GETFL));
	}
}

static void do_dup(struct worker *w)
{
	int fd = pool_get(w), nfd;

	enter(w, OP_DUP, fd, 0);
	nfd = leave(w, chance(&w->r, 50) ? dup(fd) : fcntl(fd, F_DUPFD_CLOEXEC, 3));
	if (nfd >= 0)
		pool_put(w, nfd);
}

static void do_splice(struct worker *w)
{
	int fd = pool_get(w);
	size_t len = 1 + rnd(&w->r, 8192);
	char junk[512];

	/* keep our pipe from filling up: drain it first */
	while (read(w->pipefd[0], junk, sizeof(junk)) > 0)
		;
	if (chance(&w->r, 50)) {
		if (write(w->pipefd[1], w->buf, len % 4096) < 0)
			return;
		enter(w, OP_SPLICE, fd, 1);
		leave(w, splice(w->pipefd[0], NULL, fd, NULL, len, SPLICE_F_NONBLOCK));
	} else {
		enter(w, OP_SPLICE, fd, 0);
		leave(w, splice(fd, NULL, w->pipefd[1], NULL, len, SPLICE_F_NONBLOCK));
	}
}

static void do_signal(struct worker *w)
{
	struct worker *t = &workers[rnd(&w->r, nworkers)];

	/* interrupts whatever T is blocked in: EINTR, ERESTARTSYS paths */
	int e = 0;

	enter(w, OP_SIGNAL, -1, t->id);
	/* only threads that have started and not yet returned */
	if (!in_child && t != w && __atomic_load_n(&t->alive, __ATOMIC_ACQUIRE))
		e = pthread_kill(t->th, SIGUSR1);
	errno = e;
	leave(w, e ? -1 : 0);
}

/* A well-formed name: one of our ports, AFX_ADDR_ANY or AFX_ADDR_LOCAL. */
static socklen_t good_addr(struct worker *w, struct sockaddr_storage *ss)
{
	struct sockaddr_x *sx = (struct sockaddr_x *)ss;

	memset(ss, 0, sizeof(*ss));
	sx->sx_family = fam;
	sx->sx_port = opt_base_port + rnd(&w->r, opt_ports);
	sx->sx_addr = chance(&w->r, 50) ? AFX_ADDR_ANY : AFX_ADDR_LOCAL;
	return sizeof(*sx);
}

/*
 * Sequences that reach the states random calls seldom reach: a
 * listener on one of our ports, a client connected to one, a bound
 * datagram socket (sometimes connected). Each call is counted as
 * itself; the sequence is counted under its SEQ_ name.
 */
static void do_sequence(struct worker *w, int op)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, type = op == OP_SEQ_SERVER ? conn_type(w) :
		       op == OP_SEQ_DGRAM ? SOCK_DGRAM :
		       chance(&w->r, 75) ? conn_type(w) : SOCK_DGRAM;

	add(&st->calls[op], 1);
	if (chance(&w->r, 30))
		type |= SOCK_NONBLOCK;
	enter(w, OP_SOCKET, -1, type);
	fd = leave(w, socket(fam, type, 0));
	if (fd < 0)
		return;
	add(&st->sockets, 1);
	set_timeouts(w, fd);
	if (op == OP_SEQ_SERVER || op == OP_SEQ_DGRAM) {
		len = good_addr(w, &ss);
		enter(w, OP_BIND, fd, ((struct sockaddr_x *)&ss)->sx_port);
		leave(w, bind(fd, (struct sockaddr *)&ss, len));
	}
	if (op == OP_SEQ_SERVER) {
		enter(w, OP_LISTEN, fd, 0);
		leave(w, listen(fd, 1 + rnd(&w->r, 8)));
	}
	if (op == OP_SEQ_CLIENT || (op == OP_SEQ_DGRAM && chance(&w->r, 40))) {
		len = good_addr(w, &ss);
		enter(w, OP_CONNECT, fd, ((struct sockaddr_x *)&ss)->sx_port);
		if (leave(w, connect(fd, (struct sockaddr *)&ss, len)) == 0)
			add(&st->connected, 1);
	}
	add(&st->ok[op], 1);
	pool_put(w, fd);
}

static void one_call(struct worker *w, int op);

static void reap(struct worker *w, int block)
{
	unsigned int i;
	int status;

	for (i = 0; i < sizeof(w->kids) / sizeof(w->kids[0]); i++) {
		if (!w->kids[i] || waitpid(w->kids[i], &status, block ? 0 : WNOHANG) <= 0)
			continue;
		w->kids[i] = 0;
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) {
			st->hung = 1;
			violation(w, "a forked child hung for %d s (alarm)", opt_watchdog);
		}
	}
}

/* A child process that makes a few calls on the descriptors it inherited. */
static void do_fork(struct worker *w)
{
	unsigned int i, slot = rnd(&w->r, sizeof(w->kids) / sizeof(w->kids[0]));
	uint64_t seed = next(&w->r);
	pid_t pid;

	if (opt_no_fork || w->kids[slot]) {
		reap(w, 0);
		return;
	}
	enter(w, OP_FORK, -1, 0);
	pid = fork();
	if (pid != 0 && leave(w, pid) < 0)
		return;
	if (pid > 0) {
		w->kids[slot] = pid;
		add(&st->forks, 1);
		return;
	}
	in_child = 1;
	signal(SIGALRM, SIG_DFL);
	alarm(opt_watchdog);
	w->r.s = seed;
	for (i = 0, w->kids[slot] = 0; i < 5 + rnd(&w->r, 30); i++) {
		int op = rnd(&w->r, NOPS);

		if (op != OP_FORK && op != OP_SIGNAL)
			one_call(w, op);
	}
	_exit(0);
}

static void one_call(struct worker *w, int op)
{
	switch (op) {
	case OP_SOCKET: do_socket(w); break;
	case OP_SOCKETPAIR: do_socketpair(w); break;
	case OP_CLOSE: do_close(w); break;
	case OP_BIND: do_bind(w); break;
	case OP_LISTEN: do_listen(w); break;
	case OP_CONNECT: do_connect(w); break;
	case OP_ACCEPT: do_accept(w, 0); break;
	case OP_ACCEPT4: do_accept(w, 1); break;
	case OP_SEND: case OP_SENDTO: case OP_WRITE: do_send(w, op); break;
	case OP_SENDMSG: do_sendmsg(w, 0); break;
	case OP_SENDMMSG: do_sendmsg(w, 1); break;
	case OP_RECV: case OP_RECVFROM: case OP_READ: do_recv(w, op); break;
	case OP_RECVMSG: do_recvmsg(w, 0); break;
	case OP_RECVMMSG: do_recvmsg(w, 1); break;
	case OP_SHUTDOWN: do_shutdown(w); break;
	case OP_SETSOCKOPT: do_setsockopt(w); break;
	case OP_GETSOCKOPT: do_getsockopt(w); break;
	case OP_GETSOCKNAME: do_name(w, 0); break;
	case OP_GETPEERNAME: do_name(w, 1); break;
	case OP_POLL: do_poll(w); break;
	case OP_EPOLL: do_epoll(w); break;
	case OP_IOCTL: do_ioctl(w); break;
	case OP_FCNTL: do_fcntl(w); break;
	case OP_DUP: do_dup(w); break;
	case OP_SPLICE: do_splice(w); break;
	case OP_FORK: do_fork(w); break;
	case OP_SIGNAL: do_signal(w); break;
	case OP_SEQ_SERVER: case OP_SEQ_CLIENT: case OP_SEQ_DGRAM:
		do_sequence(w, op);
		break;
	}
}

static int pick_op(struct worker *w)
{
	int x = rnd(&w->r, weight_total), op;

	for (op = 0; op < NOPS; op++) {
		x -= op_weights[op];
		if (x < 0)
			return op;
	}
	return OP_SOCKET;
}

static uint64_t deadline_ns;
static int workers_done;

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	w->th = pthread_self();
	__atomic_store_n(&w->alive, 1, __ATOMIC_RELEASE);

	while (!__atomic_load_n(&st->stop, __ATOMIC_RELAXED)) {
		if (opt_calls && __atomic_load_n(&st->total, __ATOMIC_RELAXED) >= opt_calls)
			break;
		if ((w->seq & 15) == 0 && now_ns() >= deadline_ns)
			break;
		one_call(w, pick_op(w));
	}
	reap(w, 1);
	/*
	 * Stay until every worker is done: the others may still signal
	 * this thread, and pthread_kill() on a finished one is undefined.
	 */
	__atomic_fetch_add(&workers_done, 1, __ATOMIC_ACQ_REL);
	while (__atomic_load_n(&workers_done, __ATOMIC_ACQUIRE) < nworkers)
		usleep(1000);
	return NULL;
}

/* ---- the watchdog -------------------------------------------------------------- */

static void dump_worker(struct worker *w)
{
	unsigned long i;

	fprintf(stderr, "afx-fuzz: worker %d (pid %d, call #%lu) is in %s(fd %d, arg %#lx)\n",
		w->id, getpid(), w->seq, op_names[w->cur_op], w->cur_fd, w->cur_arg);
	fprintf(stderr, "afx-fuzz: its last calls:\n");
	for (i = w->seq > RING ? w->seq - RING : 0; i < w->seq; i++) {
		struct rec *r = &w->ring[i % RING];

		fprintf(stderr, "  #%lu %s(fd %d, arg %#lx) = %ld %s\n", i + 1,
			op_names[r->op], r->fd, r->arg, r->ret,
			r->ret < 0 ? strerror(r->err) : "");
	}
}

static int is_main = 1;
static uint64_t t0_ns;
static void report(double secs);

static void *watchdog_main(void *arg)
{
	char path[64], wchan[64];
	int i;

	(void)arg;
	for (;;) {
		uint64_t t = now_ns();

		sleep(1);
		for (i = 0; i < nworkers; i++) {
			struct worker *w = &workers[i];
			uint64_t s = __atomic_load_n(&w->start_ns, __ATOMIC_ACQUIRE);

			if (!s || t < s || t - s < (uint64_t)opt_watchdog * 1000000000ULL)
				continue;
			fprintf(stderr, "afx-fuzz: HUNG: a call blocked for over %d s "
				"although every socket has timeouts <= 1 s\n", opt_watchdog);
			dump_worker(w);
			snprintf(path, sizeof(path), "/proc/%d/wchan", getpid());
			FILE *f = fopen(path, "r");

			if (f && fgets(wchan, sizeof(wchan), f))
				fprintf(stderr, "afx-fuzz: wchan %s\n", wchan);
			if (f)
				fclose(f);
			st->hung = 1;
			add(&st->violations, 1);
			if (is_main)
				report((now_ns() - t0_ns) / 1e9);
			_exit(3);
		}
	}
	return NULL;
}

/* ---- one process: its workers, then its descriptors closed --------------------- */

static void on_usr1(int sig)
{
	(void)sig;
}

static int run_process(int first_id, uint64_t seed)
{
	pthread_t wd;
	int i;

	workers = calloc(opt_threads, sizeof(*workers));
	if (!workers) {
		perror("calloc");
		return 1;
	}
	nworkers = opt_threads;
	/* Private descriptors first, so that no pool number aliases them. */
	for (i = 0; i < nworkers; i++) {
		struct worker *w = &workers[i];

		w->id = first_id + i;
		w->r.s = seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(w->id + 1));
		w->epfd = epoll_create1(EPOLL_CLOEXEC);
		if (w->epfd < 0 || pipe2(w->pipefd, O_NONBLOCK | O_CLOEXEC) < 0) {
			perror("afx-fuzz: epoll_create1/pipe2");
			return 1;
		}
	}
	if (pthread_create(&wd, NULL, watchdog_main, NULL)) {
		perror("pthread_create");
		return 1;
	}
	pthread_detach(wd);
	if (nworkers == 1) {
		/* single thread: the sequence depends on the seed alone */
		worker_main(&workers[0]);
	} else {
		for (i = 0; i < nworkers; i++)
			if (pthread_create(&workers[i].th, NULL, worker_main, &workers[i])) {
				perror("pthread_create");
				return 1;
			}
		for (i = 0; i < nworkers; i++)
			pthread_join(workers[i].th, NULL);
	}
	/* Every descriptor of the pool closes. */
	for (i = 0; i < opt_pool; i++) {
		int fd = __atomic_exchange_n(&pool[i], -1, __ATOMIC_ACQ_REL);

		if (fd >= 0 && close(fd) < 0 && errno != EBADF) {
			fprintf(stderr, "afx-fuzz: close(%d) at the end: %s\n", fd,
				strerror(errno));
			add(&st->violations, 1);
		}
	}
	return 0;
}

/*
 * A first pool, made before the processes fork, so that they share
 * sockets: some bound, listening, connected.
 */
static void seed_pool(void)
{
	static struct worker w0;
	int i;

	w0.r.s = opt_seed ^ 0x5eedULL;
	workers = &w0;
	nworkers = 1;
	for (i = 0; i < opt_pool / 2 + 1; i++)
		do_sequence(&w0, OP_SEQ_SERVER + i % 3);
	workers = NULL;
	nworkers = 0;
}

/* ---- main -------------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr,
		"usage: afx-fuzz [-s SEED] [-t SECONDS] [-n CALLS] [-j THREADS] [-P PROCS]\n"
		"                [-p PORTS] [-b BASEPORT] [-z POOL] [-w WATCHDOG_S] [-F] [-v]\n"
		"  -s  seed (default: from the clock; printed)   -t  time limit (10 s)\n"
		"  -n  call limit over all workers (none)          -j  threads per process (4)\n"
		"  -P  processes (2)     -p  ports used (4) from -b (41000)\n"
		"  -z  descriptor pool size (48)   -w  hung-call limit (30 s)\n"
		"  -F  no fork() calls   -v  log every call to stderr\n"
		"One thread in one process (-j 1 -P 1) replays the same calls for a seed.\n");
	exit(2);
}

static void report(double secs)
{
	char line[128];
	int op, e;
	FILE *f;

	printf("%-12s %10s %10s  errnos\n", "call", "calls", "ok");
	for (op = 0; op < NOPS; op++) {
		int shown = 0;

		printf("%-12s %10lu %10lu ", op_names[op], st->calls[op], st->ok[op]);
		for (e = 1; e <= ERRMAX; e++) {
			if (!st->err[op][e])
				continue;
			if (shown++ == 8) {
				printf(" ...");
				break;
			}
			printf(" %s:%lu", e == ERRMAX ? "other" :
			       strerrorname_np(e) ? strerrorname_np(e) : "?",
			       st->err[op][e]);
		}
		printf("\n");
	}
	/* the namespace's counters: what the calls achieved */
	f = fopen("/proc/net/afx_stat", "re");
	if (f) {
		printf("afx_stat:");
		while (fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\n")] = 0;
			printf(" %s", line);
		}
		printf("\n");
		fclose(f);
	}
	printf("afx-fuzz: seed=%llu calls=%lu sockets=%lu accepted=%lu connected=%lu "
	       "bytes_out=%lu bytes_in=%lu forks=%lu seconds=%.1f calls_per_s=%.0f "
	       "violations=%lu hung=%d\n",
	       (unsigned long long)opt_seed, st->total, st->sockets, st->accepted,
	       st->connected, st->bytes_out, st->bytes_in, st->forks, secs,
	       secs > 0 ? st->total / secs : 0.0, st->violations, st->hung);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { 0 };
	pid_t kids[MAX_PROCS];
	int c, i, status, rc = 0, seeded = 0;
	uint64_t t0;

	while ((c = getopt(argc, argv, "s:t:n:j:P:p:b:z:w:Fvh")) != -1) {
		switch (c) {
		case 's': opt_seed = strtoull(optarg, NULL, 0); seeded = 1; break;
		case 't': opt_seconds = atof(optarg); break;
		case 'n': opt_calls = strtoul(optarg, NULL, 0); break;
		case 'j': opt_threads = atoi(optarg); break;
		case 'P': opt_procs = atoi(optarg); break;
		case 'p': opt_ports = atoi(optarg); break;
		case 'b': opt_base_port = strtoul(optarg, NULL, 0); break;
		case 'z': opt_pool = atoi(optarg); break;
		case 'w': opt_watchdog = atoi(optarg); break;
		case 'F': opt_no_fork = 1; break;
		case 'v': opt_verbose = 1; break;
		default: usage();
		}
	}
	if (optind != argc || opt_threads < 1 || opt_threads > MAX_THREADS ||
	    opt_procs < 1 || opt_procs > MAX_PROCS || opt_pool < 1 ||
	    opt_pool > MAX_POOL || opt_ports < 1 || opt_watchdog < 2 || opt_seconds <= 0)
		usage();
	if (!seeded)
		opt_seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	fam = afx_family();
	for (i = 0; i < NOPS; i++)
		weight_total += op_weights[i];
	for (i = 0; i < MAX_POOL; i++)
		pool[i] = -1;

	st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (st == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGIO, SIG_IGN);
	signal(SIGURG, SIG_IGN);
	sa.sa_handler = on_usr1;	/* no SA_RESTART: blocked calls see EINTR */
	sigaction(SIGUSR1, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);

	printf("afx-fuzz: seed=%llu family=%d threads=%d processes=%d ports=%u..%u "
	       "pool=%d seconds=%g calls=%lu uid=%d\n",
	       (unsigned long long)opt_seed, fam, opt_threads, opt_procs,
	       opt_base_port, opt_base_port + opt_ports - 1, opt_pool, opt_seconds,
	       opt_calls, (int)getuid());
	t0 = now_ns();
	t0_ns = t0;
	deadline_ns = t0 + (uint64_t)(opt_seconds * 1e9);

	seed_pool();
	/* The processes share the counters and the sockets of the first pool. */
	for (i = 1; i < opt_procs; i++) {
		kids[i] = fork();
		if (kids[i] < 0) {
			perror("fork");
			return 1;
		}
		if (kids[i] == 0) {
			is_main = 0;
			_exit(run_process(i * opt_threads,
					  opt_seed + 0x1000193ULL * (uint64_t)i));
		}
	}
	if (run_process(0, opt_seed))
		rc = 1;
	st->stop = 1;
	for (i = 1; i < opt_procs; i++) {
		if (waitpid(kids[i], &status, 0) < 0) {
			perror("waitpid");
			rc = 1;
		} else if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			fprintf(stderr, "afx-fuzz: process %d ended with status %#x\n",
				kids[i], status);
			if (WIFEXITED(status) && WEXITSTATUS(status) == 3)
				st->hung = 1;
			else
				rc = 1;
		}
	}
	report((now_ns() - t0) / 1e9);
	if (st->hung)
		return 3;
	if (st->violations)
		return 1;
	return rc;
}
