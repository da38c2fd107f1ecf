// SPDX-License-Identifier: GPL-2.0
/*
 * afx-bench - AF_X (stream, datagram, seqpacket) side by side with the
 * local transports a user would pick instead: AF_UNIX (stream, datagram,
 * seqpacket), a pipe, TCP and UDP over loopback, and vsock over
 * vsock_loopback.
 *
 * Every transport is one row of a table (domain, type, address builder),
 * and every workload is written once against a small channel API, so the
 * transports run exactly the same code:
 *
 *   W1        ping-pong, one message in flight: round trip percentiles
 *   W2        one-way byte stream: MiB/s and writes/s
 *   W3        one-way datagrams, every message checked for size: msgs/s
 *   W4        connection churn: connect, 1-byte request/reply, close
 *   W5-pairs  N ping-pong pairs at once: aggregate round trips/s
 *   W5-idle   W1 (64 B) with many idle connections open
 *   W6        W4 with N sockets bound and listening in the namespace
 *
 * Each measurement (a "cell") runs in fresh processes: a server and a
 * client (N of each for W5-pairs) forked by a coordinator that only
 * waits. Transports and repetitions are interleaved (for each workload
 * and size: rep 1 runs every transport, rep 2 runs them again in reverse
 * order, ...), and the summary reports the median over repetitions with
 * its spread, plus the ratio to AF_UNIX of the same socket type and to a
 * pipe. With --validate every byte is compared with what was sent and
 * checksummed at both ends, so no transport can win by losing data.
 *
 * Usage: afx-bench [options]   (see usage() below)
 * Exit status: 0 when every cell ran and validated, 1 otherwise. The
 * numbers never decide the exit status.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>

#include <linux/vm_sockets.h>
#include <linux/afx.h>

#include "afx_family.h"

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#ifndef VMADDR_CID_LOCAL
#define VMADDR_CID_LOCAL 1
#endif

#define MAXPAIRS	8
#define MAXSIZES	8
#define NSAMPLES	(256 * 1024)	/* W1 round trips kept per cell */
#define PATP		4093u		/* pattern period (prime) */
#define MIB		(1024.0 * 1024.0)

/* ------------------------------------------------------------------------ */
/* Transports                                                                */

enum kind { K_STREAM, K_SEQPACKET, K_DGRAM, K_PIPE };

struct transport {
	const char *name;
	int domain;		/* -1: AF_X (number read at run time) */
	int type;
	enum kind kind;
	bool lossy;		/* may drop datagrams silently (UDP) */
	bool optional;		/* may be missing without failing the run */
	size_t max_msg;		/* largest message (message kinds) */
	/* Address of a port; port 0 asks for an automatic one (bind). */
	socklen_t (*addr)(struct sockaddr_storage *ss, unsigned int port);
	void (*tune)(int fd);	/* after socket() and accept() */
	const char *ref;	/* AF_UNIX transport of the same type */
};

static socklen_t addr_afx(struct sockaddr_storage *ss, unsigned int port)
{
	struct sockaddr_x *sx = (struct sockaddr_x *)ss;

	memset(ss, 0, sizeof(*ss));
	sx->sx_family = afx_family();
	sx->sx_port = port;
	sx->sx_addr = AFX_ADDR_LOCAL;
	return sizeof(*sx);
}

static socklen_t addr_unix(struct sockaddr_storage *ss, unsigned int port)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)ss;
	int n;

	memset(ss, 0, sizeof(*ss));
	sun->sun_family = AF_UNIX;
	if (port == 0)		/* autobind */
		return sizeof(sa_family_t);
	/* Abstract name: no file system, like the other families' ports. */
	n = snprintf(sun->sun_path + 1, sizeof(sun->sun_path) - 1,
		     "afx-bench.%d.%u", (int)getpgrp(), port);
	return offsetof(struct sockaddr_un, sun_path) + 1 + n;
}

static socklen_t addr_inet(struct sockaddr_storage *ss, unsigned int port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sizeof(*sin);
}

static socklen_t addr_vsock(struct sockaddr_storage *ss, unsigned int port)
{
	struct sockaddr_vm *svm = (struct sockaddr_vm *)ss;

	memset(ss, 0, sizeof(*ss));
	svm->svm_family = AF_VSOCK;
	svm->svm_cid = VMADDR_CID_LOCAL;
	svm->svm_port = port ? port : VMADDR_PORT_ANY;
	return sizeof(*svm);
}

static void tune_nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static const struct transport transports[] = {
	{ "afx-stream", -1, SOCK_STREAM, K_STREAM, false, false, 0,
	  addr_afx, NULL, "unix-stream" },
	{ "afx-dgram", -1, SOCK_DGRAM, K_DGRAM, false, false, 65536,
	  addr_afx, NULL, "unix-dgram" },
	/*
	 * AF_X takes messages up to min(SO_SNDBUF, 520192) - 24 bytes
	 * (212968 with the default SO_SNDBUF, 212992); the cap is
	 * unix-seqpacket's, so that the two run the same cells.
	 */
	{ "afx-seqpacket", -1, SOCK_SEQPACKET, K_SEQPACKET, false, false,
	  65536, addr_afx, NULL, "unix-seqpacket" },
	{ "unix-stream", AF_UNIX, SOCK_STREAM, K_STREAM, false, false, 0,
	  addr_unix, NULL, "unix-stream" },
	{ "unix-dgram", AF_UNIX, SOCK_DGRAM, K_DGRAM, false, false, 65536,
	  addr_unix, NULL, "unix-dgram" },
	{ "unix-seqpacket", AF_UNIX, SOCK_SEQPACKET, K_SEQPACKET, false, false,
	  65536, addr_unix, NULL, "unix-stream" },
	{ "pipe", 0, 0, K_PIPE, false, false, 0, NULL, NULL, "unix-stream" },
	{ "tcp", AF_INET, SOCK_STREAM, K_STREAM, false, false, 0,
	  addr_inet, tune_nodelay, "unix-stream" },
	/* 65535 - 8 (UDP header) - 20 (IPv4 header) */
	{ "udp", AF_INET, SOCK_DGRAM, K_DGRAM, true, false, 65507,
	  addr_inet, NULL, "unix-dgram" },
	{ "vsock", AF_VSOCK, SOCK_STREAM, K_STREAM, false, true, 0,
	  addr_vsock, NULL, "unix-stream" },
};
#define NTRANSPORTS ((int)(sizeof(transports) / sizeof(transports[0])))

static bool t_selected[NTRANSPORTS];
static bool t_available[NTRANSPORTS];
static char t_why[NTRANSPORTS][400];

static int t_domain(const struct transport *t)
{
	return t->domain < 0 ? afx_family() : t->domain;
}

static bool t_connected(const struct transport *t)	/* listen/accept */
{
	return t->kind == K_STREAM || t->kind == K_SEQPACKET;
}

static int t_index(const char *name)
{
	for (int i = 0; i < NTRANSPORTS; i++)
		if (!strcmp(transports[i].name, name))
			return i;
	return -1;
}

/* ------------------------------------------------------------------------ */
/* Workloads                                                                 */

enum wl { W1, W2, W3, W4, W5P, W5I, W6, NWL };

static const char *const wl_name[NWL] = {
	"W1", "W2", "W3", "W4", "W5-pairs", "W5-idle", "W6",
};

struct sizes {
	int n;
	size_t v[MAXSIZES];
};

/*
 * For W5-pairs the "size" is the number of pairs (64-byte messages), for W6
 * the number of sockets open besides the ones measured.
 */
static const struct sizes full_sizes[NWL] = {
	[W1] = { 6, { 1, 64, 1024, 4096, 16384, 65536 } },
	[W2] = { 7, { 1, 64, 1024, 16384, 65536, 262144, 1048576 } },
	[W3] = { 5, { 1, 64, 1024, 16384, 65536 } },
	[W4] = { 1, { 1 } },
	[W5P] = { 4, { 1, 2, 4, 8 } },
	[W5I] = { 1, { 64 } },
	[W6] = { 2, { 1000, 100000 } },
};

static const struct sizes quick_sizes[NWL] = {
	[W1] = { 2, { 1, 65536 } },
	[W2] = { 2, { 64, 1048576 } },
	[W3] = { 2, { 1, 65536 } },
	[W4] = { 1, { 1 } },
	[W5P] = { 2, { 1, 4 } },
	[W5I] = { 1, { 64 } },
	[W6] = { 2, { 1000, 10000 } },
};

/* Measured interval of one cell, guest seconds (times --time-scale). */
static const double wl_secs[NWL] = {
	[W1] = 0.2, [W2] = 0.2, [W3] = 0.2, [W4] = 0.3, [W5P] = 0.2,
	[W5I] = 0.2, [W6] = 0.3,
};

#define PAIR_MSG	64	/* message size of W5-pairs and W5-idle */

static bool wl_applies(enum wl w, const struct transport *t)
{
	switch (w) {
	case W2:	/* byte streams */
		return t->kind == K_STREAM || t->kind == K_PIPE;
	case W3:	/* message transports */
		return t->kind == K_DGRAM || t->kind == K_SEQPACKET;
	case W4:	/* connection-oriented sockets */
		return t_connected(t);
	case W6:	/* stream sockets whose names go past 16-bit ports */
		return t->kind == K_STREAM &&
		       (t->domain < 0 || t->domain == AF_UNIX);
	default:
		return true;
	}
}

/* Message size the cell sends (W5-pairs: size is the pair count). */
static size_t cell_msg(enum wl w, size_t size)
{
	if (w == W6)
		return 1;
	return (w == W5P || w == W5I) ? PAIR_MSG : size;
}

static bool size_applies(enum wl w, const struct transport *t, size_t size)
{
	if (t->max_msg && (t->kind == K_DGRAM || t->kind == K_SEQPACKET) &&
	    cell_msg(w, size) > t->max_msg)
		return false;
	return true;
}

/* Metrics: name, lower-is-better. */
enum metric {
	M_P50, M_P90, M_P99, M_P999, M_MAX,
	M_MIBS, M_MSGS, M_LOST, M_CONNS, M_RTS, M_IDLE_MEM,
	NMETRICS,
};

static const struct {
	const char *name;
	bool lower_better;
} metrics[NMETRICS] = {
	[M_P50] = { "rtt_p50_ns", true },
	[M_P90] = { "rtt_p90_ns", true },
	[M_P99] = { "rtt_p99_ns", true },
	[M_P999] = { "rtt_p999_ns", true },
	[M_MAX] = { "rtt_max_ns", true },
	[M_MIBS] = { "MiB_s", false },
	[M_MSGS] = { "msgs_s", false },
	[M_LOST] = { "lost_pct", true },
	[M_CONNS] = { "conns_s", false },
	[M_RTS] = { "roundtrips_s", false },
	[M_IDLE_MEM] = { "idle_kmem_B", true },
};

/* ------------------------------------------------------------------------ */
/* Options and global state                                                  */

/*
 * Where the endpoints run: anywhere, both on CPU 0 (same), client on 0 and
 * server on 1 (split), or both ends of pair i on CPU i % ncpu (spread:
 * W5-pairs only, to see whether pairs on different CPUs scale).
 */
enum placement { PL_NONE, PL_SAME, PL_SPLIT, PL_SPREAD, NPL };
static const char *const pl_name[NPL] = { "", "same", "split", "spread" };

static const char *g_mode = "local";
static bool g_quick, g_validate, g_progress_tty;
static int g_reps = 3;
static double g_tscale = 1.0;
static int g_nidle = 4096;
static bool g_wl_selected[NWL];
static bool g_pl_selected[NPL];
static const char *g_csv_path, *g_raw_path;

static unsigned char *g_pat;	/* g_pat[i] = pattern byte (i mod PATP) */
static size_t g_pat_len;

static unsigned int g_next_port = 20000;

static unsigned int next_port(void)
{
	unsigned int p = g_next_port++;

	/* 20000..31999: below the inet and AF_X ephemeral ranges. */
	if (g_next_port >= 32000)
		g_next_port = 20000;
	return p;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n)
{
	while (n--) {
		h ^= *p++;
		h *= 0x100000001b3ULL;
	}
	return h;
}
#define FNV0 0xcbf29ce484222325ULL

/* The bytes at stream offset off. */
static const unsigned char *pat_at(uint64_t off)
{
	return g_pat + off % PATP;
}

/* ------------------------------------------------------------------------ */
/* One cell: shared state between the coordinator and its children          */

struct side {
	uint64_t msgs;		/* messages / round trips / connections */
	uint64_t bytes;
	uint64_t sum;		/* FNV-1a of the payload (--validate) */
	uint64_t mark_msgs;	/* count when the measured interval began */
	uint64_t mark_bytes;
	int64_t t0, t1;		/* measured interval */
	double lat[5];		/* W1 percentiles */
	double idle_kmem;	/* W5-idle: slab bytes per idle channel */
	uint32_t nsamples;
	int failed;
	char err[240];
};

struct shared {
	volatile int sender_done[MAXPAIRS];
	volatile uint64_t warm_mark[MAXPAIRS];	/* W2: bytes sent in warm-up */
	struct side cli[MAXPAIRS], srv[MAXPAIRS];
};

struct cell {
	const struct transport *t;
	enum wl wl;
	size_t size;		/* message size, W5-pairs: pairs */
	size_t msg;		/* message size */
	int pairs;
	enum placement pl;
	double secs;
	unsigned int sport[MAXPAIRS], cport[MAXPAIRS];
	int a[MAXPAIRS][2];	/* pipe transport: client -> server */
	int b[MAXPAIRS][2];	/* pipe transport: server -> client */
	int ack[MAXPAIRS][2];	/* W3: receiver -> sender, end of run */
	int rdy[2];		/* children -> coordinator: 'R' or 'E' */
	int go[2];		/* coordinator -> clients: start */
};

static struct shared *g_sh;

/* Child side of a failure: record, tell the coordinator, exit. */
static struct side *g_me;
static int g_rdy_fd = -1;

static void __attribute__((noreturn, format(printf, 1, 2)))
fail(const char *fmt, ...)
{
	int e = errno;
	va_list ap;
	size_t n;

	if (g_me) {
		va_start(ap, fmt);
		n = vsnprintf(g_me->err, sizeof(g_me->err), fmt, ap);
		va_end(ap);
		if (e && n < sizeof(g_me->err))
			snprintf(g_me->err + n, sizeof(g_me->err) - n, ": %s",
				 strerror(e));
		g_me->failed = 1;
	}
	if (g_rdy_fd >= 0)
		(void)!write(g_rdy_fd, "E", 1);
	_exit(1);
}

static void *xalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		fail("out of memory (%zu bytes)", n);
	memset(p, 0, n);	/* fault the pages in before measuring */
	return p;
}

static void pin(enum placement pl, bool server, int pair)
{
	cpu_set_t set;
	int cpu;

	if (pl == PL_NONE)
		return;
	if (pl == PL_SPREAD)
		cpu = pair % sysconf(_SC_NPROCESSORS_ONLN);
	else
		cpu = (pl == PL_SPLIT && server) ? 1 : 0;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		fail("sched_setaffinity(cpu %d)", cpu);
}

/* Close every inherited pipe end that is not ours. */
static void close_others(struct cell *c, int pair, bool server)
{
	for (int i = 0; i < c->pairs; i++) {
		int keep_a = i == pair ? (server ? 0 : 1) : -1;
		int keep_b = i == pair ? (server ? 1 : 0) : -1;
		int keep_k = i == pair ? (server ? 1 : 0) : -1;

		for (int e = 0; e < 2; e++) {
			if (c->a[i][e] >= 0 && e != keep_a)
				close(c->a[i][e]);
			if (c->b[i][e] >= 0 && e != keep_b)
				close(c->b[i][e]);
			if (c->ack[i][e] >= 0 && e != keep_k)
				close(c->ack[i][e]);
		}
	}
	close(c->rdy[0]);
	if (server)
		close(c->go[0]);
	close(c->go[1]);
}

/* ------------------------------------------------------------------------ */
/* Channels                                                                  */

struct chan {
	int rfd, wfd;
	bool sock;
};

static ssize_t ch_send(struct chan *ch, const void *p, size_t n)
{
	if (ch->sock)
		return send(ch->wfd, p, n, MSG_NOSIGNAL);
	return write(ch->wfd, p, n);
}

static ssize_t ch_recv(struct chan *ch, void *p, size_t n)
{
	if (ch->sock)
		return recv(ch->rfd, p, n, 0);
	return read(ch->rfd, p, n);
}

static void send_all(struct chan *ch, const unsigned char *p, size_t n)
{
	while (n) {
		ssize_t r = ch_send(ch, p, n);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			fail("send(%zu)", n);
		}
		p += r;
		n -= r;
	}
}

/* Returns false on EOF before the first byte. */
static bool recv_all(struct chan *ch, unsigned char *p, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = ch_recv(ch, p + got, n - got);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			fail("recv(%zu)", n - got);
		}
		if (r == 0) {
			if (got == 0)
				return false;
			errno = 0;
			fail("EOF after %zu of %zu bytes", got, n);
		}
		got += r;
	}
	return true;
}

/* One message of exactly n bytes (message kinds), false on 0 (end). */
static bool recv_msg(struct chan *ch, unsigned char *p, size_t n)
{
	ssize_t r;

	do
		r = ch_recv(ch, p, n + 1);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		fail("recv(message of %zu)", n);
	if (r == 0)
		return false;
	if ((size_t)r != n) {
		errno = 0;
		fail("message size %zd, sent %zu", r, n);
	}
	return true;
}

static void send_msg(struct chan *ch, const unsigned char *p, size_t n)
{
	ssize_t r;

	do
		r = ch_send(ch, p, n);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		fail("send(message of %zu)", n);
	if ((size_t)r != n) {
		errno = 0;
		fail("send of a %zu-byte message returned %zd", n, r);
	}
}

static bool is_msg(const struct transport *t)
{
	return t->kind == K_DGRAM || t->kind == K_SEQPACKET;
}

static int new_socket(const struct transport *t)
{
	int fd = socket(t_domain(t), t->type | SOCK_CLOEXEC, 0);

	if (fd < 0)
		fail("socket(%d, %d)", t_domain(t), t->type);
	if (t->tune)
		t->tune(fd);
	return fd;
}

/* Server: the listening (or bound datagram) socket. */
static int server_socket(const struct transport *t, unsigned int port,
			 int backlog)
{
	struct sockaddr_storage ss;
	socklen_t len = t->addr(&ss, port);
	int fd = new_socket(t), one = 1;

	if (t->domain == AF_INET &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		fail("SO_REUSEADDR");
	if (bind(fd, (struct sockaddr *)&ss, len))
		fail("bind(port %u)", port);
	if (t_connected(t) && listen(fd, backlog))
		fail("listen");
	return fd;
}

static int server_accept(const struct transport *t, int lfd)
{
	int fd;

	do
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		fail("accept");
	if (t->tune)
		t->tune(fd);
	return fd;
}

/* Datagram server: learn the client from its hello, connect back, ack. */
static void server_dgram_hello(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char c;
	ssize_t r;

	do
		r = recvfrom(fd, &c, 1, 0, (struct sockaddr *)&ss, &len);
	while (r < 0 && errno == EINTR);
	if (r != 1 || c != 'H')
		fail("hello: recvfrom returned %zd", r);
	if (connect(fd, (struct sockaddr *)&ss, len))
		fail("connect back to the client");
	if (send(fd, "A", 1, 0) != 1)
		fail("hello ack");
}

/* Client: a connected socket (datagram: bound, connected, greeted). */
static int client_socket(const struct transport *t, unsigned int sport,
			 unsigned int cport)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = new_socket(t), r;
	char c;

	if (t->kind == K_DGRAM) {
		len = t->addr(&ss, cport);
		if (bind(fd, (struct sockaddr *)&ss, len))
			fail("bind(client port %u)", cport);
	}
	len = t->addr(&ss, sport);
	do
		r = connect(fd, (struct sockaddr *)&ss, len);
	while (r < 0 && errno == EINTR);
	if (r)
		fail("connect(port %u)", sport);
	if (t->kind == K_DGRAM) {
		if (send(fd, "H", 1, 0) != 1)
			fail("hello");
		if (recv(fd, &c, 1, 0) != 1 || c != 'A')
			fail("hello ack");
	}
	return fd;
}

/* ------------------------------------------------------------------------ */
/* Roles                                                                     */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted samples. */
static double pct(const uint32_t *s, uint32_t n, double p)
{
	uint64_t rank = (uint64_t)((p / 100.0) * n + 0.999999);

	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return s[rank - 1];
}

/*
 * Ping-pong client (W1, W5-pairs, W5-idle): send one message, wait for
 * the echo, repeat for secs after a warm-up. keep_samples: W1 percentiles.
 */
static void client_pingpong(struct chan *ch, const struct transport *t,
			    size_t n, double secs, bool keep_samples)
{
	const int64_t warm_ns = (int64_t)(secs * 0.1e9), run_ns = (int64_t)(secs * 1e9);
	uint32_t *samples = keep_samples ? xalloc(NSAMPLES * sizeof(*samples)) : NULL;
	unsigned char *rbuf = xalloc(n + 1);
	uint64_t k = 0, nsamp = 0, sent_sum = FNV0;
	int64_t start, ta, tb, mstart = 0;
	bool measuring = false;

	start = now_ns();
	for (;;) {
		const unsigned char *m = pat_at(k * n);

		ta = now_ns();
		if (is_msg(t)) {
			send_msg(ch, m, n);
			if (!recv_msg(ch, rbuf, n)) {
				errno = 0;
				fail("peer ended the exchange");
			}
		} else {
			send_all(ch, m, n);
			if (!recv_all(ch, rbuf, n)) {
				errno = 0;
				fail("EOF from the echo server");
			}
		}
		tb = now_ns();
		if (g_validate) {
			if (memcmp(rbuf, m, n)) {
				errno = 0;
				fail("round trip %" PRIu64 ": echo differs from the message", k);
			}
			sent_sum = fnv(sent_sum, m, n);
		}
		k++;
		if (!measuring) {
			if (tb - start >= warm_ns && k >= 10) {
				measuring = true;
				mstart = tb;
				g_me->mark_msgs = k;
			}
			continue;
		}
		if (samples)
			samples[nsamp] = (uint32_t)((tb - ta) > UINT32_MAX ? UINT32_MAX : tb - ta);
		nsamp++;
		if ((tb - mstart >= run_ns && nsamp >= 20) ||
		    (samples && nsamp >= NSAMPLES))
			break;
	}
	g_me->t0 = mstart;
	g_me->t1 = tb;
	g_me->msgs = k;
	g_me->bytes = k * n;
	g_me->sum = sent_sum;
	if (samples) {
		qsort(samples, nsamp, sizeof(*samples), cmp_u32);
		g_me->nsamples = nsamp;
		g_me->lat[0] = pct(samples, nsamp, 50);
		g_me->lat[1] = pct(samples, nsamp, 90);
		g_me->lat[2] = pct(samples, nsamp, 99);
		g_me->lat[3] = pct(samples, nsamp, 99.9);
		g_me->lat[4] = samples[nsamp - 1];
	}
}

/* Tell the echo server we are done. */
static void client_end(struct chan *ch, const struct transport *t)
{
	if (t->kind == K_DGRAM)
		send_msg(ch, (const unsigned char *)"", 0);
	else if (ch->sock)
		shutdown(ch->wfd, SHUT_WR);
	else
		close(ch->wfd);
}

/* Echo server: returns at the client's end marker / EOF. */
static void server_echo(struct chan *ch, const struct transport *t, size_t n)
{
	unsigned char *buf = xalloc(n + 1);
	uint64_t k = 0, sum = FNV0;

	for (;;) {
		if (is_msg(t)) {
			if (!recv_msg(ch, buf, n))
				break;
		} else if (!recv_all(ch, buf, n)) {
			break;
		}
		if (g_validate) {
			if (memcmp(buf, pat_at(k * n), n)) {
				errno = 0;
				fail("message %" PRIu64 " corrupted", k);
			}
			sum = fnv(sum, buf, n);
		}
		if (is_msg(t))
			send_msg(ch, buf, n);
		else
			send_all(ch, buf, n);
		k++;
	}
	g_me->msgs = k;
	g_me->bytes = k * n;
	g_me->sum = sum;
}

/*
 * W2 sender: write n-byte chunks, warm up for a tenth of secs, publish how
 * far the warm-up got, then go on for secs; then EOF.
 */
static void client_stream(struct chan *ch, size_t n, double secs, int pair)
{
	const int64_t warm_ns = (int64_t)(secs * 0.1e9), run_ns = (int64_t)(secs * 1e9);
	const uint64_t mask = n >= 4096 ? 0 : 63;
	uint64_t off = 0, k = 0, sum = FNV0, mark = 0;
	int64_t start = now_ns(), tn;

	for (;;) {
		const unsigned char *m = pat_at(off);

		send_all(ch, m, n);
		if (g_validate)
			sum = fnv(sum, m, n);
		off += n;
		k++;
		if ((k & mask) != 0)
			continue;
		tn = now_ns();
		if (!mark) {
			if (tn - start >= warm_ns && k >= 4) {
				mark = off;
				g_sh->warm_mark[pair] = mark;
				start = tn;
			}
		} else if (tn - start >= run_ns && off >= mark + 4 * n) {
			break;
		}
	}
	if (ch->sock) {
		if (shutdown(ch->wfd, SHUT_WR))
			fail("shutdown(SHUT_WR)");
	} else {
		close(ch->wfd);
	}
	g_me->msgs = k;
	g_me->bytes = off;
	g_me->sum = sum;
}

/* W2 receiver: read until EOF, time from the sender's warm-up mark on. */
static void server_stream(struct chan *ch, size_t n, int pair)
{
	size_t cap = n > 65536 ? n : 65536;
	unsigned char *buf = xalloc(cap);
	uint64_t total = 0, sum = FNV0;
	bool marked = false;

	for (;;) {
		ssize_t r = ch_recv(ch, buf, cap);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			fail("read");
		}
		if (r == 0)
			break;
		if (g_validate) {
			size_t done = 0;

			while (done < (size_t)r) {
				size_t len = r - done;

				if (len > PATP)
					len = PATP;
				if (memcmp(buf + done, pat_at(total + done), len)) {
					errno = 0;
					fail("stream corrupted near byte %" PRIu64,
					     total + done);
				}
				done += len;
			}
			sum = fnv(sum, buf, r);
		}
		total += r;
		if (!marked && total >= g_sh->warm_mark[pair]) {
			marked = true;
			g_me->t0 = now_ns();
			g_me->mark_bytes = total;
		}
	}
	g_me->t1 = now_ns();
	g_me->bytes = total;
	g_me->sum = sum;
}

#define W3_WARM_MSGS 64

/* W3 sender: n-byte datagrams for secs, then an empty end marker. */
static void client_dgram(struct chan *ch, const struct transport *t,
			 size_t n, double secs, int pair, int ackfd)
{
	const int64_t run_ns = (int64_t)(secs * 1e9);
	const uint64_t mask = n >= 4096 ? 0 : 31;
	uint64_t k = 0, sum = FNV0;
	int64_t start = now_ns();
	char c;

	for (;;) {
		const unsigned char *m = pat_at(k * n);

		send_msg(ch, m, n);
		if (g_validate)
			sum = fnv(sum, m, n);
		k++;
		if ((k & mask) == 0 && k >= 2 * W3_WARM_MSGS &&
		    now_ns() - start >= run_ns)
			break;
	}
	g_sh->sender_done[pair] = 1;
	g_me->msgs = k;
	g_me->bytes = k * n;
	g_me->sum = sum;
	/*
	 * The end marker. A lossy transport may drop it too: resend until
	 * the receiver acknowledges on the side channel.
	 */
	for (int tries = 0;; tries++) {
		struct pollfd p = { .fd = ackfd, .events = POLLIN };
		int r;

		send_msg(ch, (const unsigned char *)"", 0);
		r = poll(&p, 1, t->lossy ? 20 : -1);
		if (r > 0)
			break;
		if (r < 0 && errno != EINTR)
			fail("poll(ack)");
		if (tries > 500) {
			errno = 0;
			fail("receiver never saw the end marker");
		}
	}
	if (read(ackfd, &c, 1) != 1)
		fail("read(ack)");
}

/* W3 receiver: count, check and time datagrams until the end marker. */
static void server_dgram(struct chan *ch, const struct transport *t,
			 size_t n, int pair, int ackfd)
{
	unsigned char *buf = xalloc(n + 1);
	uint64_t got = 0, expect = 0, sum = FNV0;
	int64_t last = 0, first = 0;

	for (;;) {
		if (!recv_msg(ch, buf, n))
			break;
		if (g_validate) {
			if (memcmp(buf, pat_at(expect * n), n)) {
				uint64_t k = expect + 1;

				/* Lossy: find the next message that fits. */
				if (t->lossy)
					for (; k < expect + 100000; k++)
						if (!memcmp(buf, pat_at(k * n), n))
							break;
				if (!t->lossy || k == expect + 100000) {
					errno = 0;
					fail("datagram %" PRIu64 " corrupted or out of order",
					     expect);
				}
				expect = k;
			}
			expect++;
			sum = fnv(sum, buf, n);
		}
		got++;
		if (got == 1) {
			first = now_ns();
		} else if (got == W3_WARM_MSGS) {
			g_me->t0 = now_ns();
			g_me->mark_msgs = got;
		}
		if (g_sh->sender_done[pair])
			last = now_ns();
	}
	g_me->t1 = last ? last : now_ns();
	if (got < W3_WARM_MSGS + 16 || g_me->t1 <= g_me->t0) {
		/*
		 * A lossy transport delivered little, or the clock is too
		 * coarse (a guest on jiffies) to time the messages after the
		 * warm-up: time from the first.
		 */
		g_me->t0 = first;
		g_me->mark_msgs = 1;
	}
	g_me->msgs = got;
	g_me->bytes = got * n;
	g_me->sum = sum;
	if (write(ackfd, "A", 1) != 1)
		fail("write(ack)");
}

/* W4 client: connect, 1-byte request, 1-byte reply, EOF, close. */
static void client_churn(const struct transport *t, unsigned int sport,
			 double secs)
{
	const int64_t warm_ns = (int64_t)(secs * 0.1e9), run_ns = (int64_t)(secs * 1e9);
	int64_t start = now_ns(), t0 = 0, tn;
	uint64_t k = 0, mark = 0;
	unsigned char c;

	for (;;) {
		int fd = client_socket(t, sport, 0);
		struct chan ch = { fd, fd, true };

		send_msg(&ch, (const unsigned char *)"r", 1);
		if (!recv_all(&ch, &c, 1)) {
			errno = 0;
			fail("connection %" PRIu64 ": no reply", k);
		}
		if (c != 'a') {
			errno = 0;
			fail("connection %" PRIu64 ": bad reply", k);
		}
		/* The server closes first (its side keeps any TIME_WAIT). */
		if (recv(fd, &c, 1, 0) != 0)
			fail("connection %" PRIu64 ": expected EOF", k);
		close(fd);
		k++;
		tn = now_ns();
		if (!t0) {
			if (tn - start >= warm_ns && k >= 5) {
				t0 = tn;
				mark = k;
			}
		} else if (tn - t0 >= run_ns && k - mark >= 5) {
			break;
		}
	}
	g_me->t0 = t0;
	g_me->t1 = tn;
	g_me->msgs = k;
	g_me->mark_msgs = mark;
	/* Stop the server. */
	{
		int fd = client_socket(t, sport, 0);

		if (send(fd, "Q", 1, MSG_NOSIGNAL) != 1)
			fail("send(quit)");
		recv(fd, &c, 1, 0);
		close(fd);
	}
}

static void server_churn(const struct transport *t, int lfd)
{
	uint64_t k = 0;
	unsigned char c;

	for (;;) {
		int fd = server_accept(t, lfd);
		struct chan ch = { fd, fd, true };

		if (!recv_all(&ch, &c, 1)) {
			errno = 0;
			fail("connection %" PRIu64 ": EOF before the request", k);
		}
		if (c == 'Q') {
			close(fd);
			break;
		}
		if (c != 'r') {
			errno = 0;
			fail("connection %" PRIu64 ": bad request", k);
		}
		send_msg(&ch, (const unsigned char *)"a", 1);
		close(fd);
		k++;
	}
	g_me->msgs = k;
}

/* ------------------------------------------------------------------------ */
/* Children                                                                  */

static void child_setup(struct cell *c, int pair, bool server)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };

	sigaction(SIGALRM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	g_me = server ? &g_sh->srv[pair] : &g_sh->cli[pair];
	g_rdy_fd = c->rdy[1];
	close_others(c, pair, server);
	pin(c->pl, server, pair);
}

static void __attribute__((noreturn)) run_server(struct cell *c, int pair)
{
	const struct transport *t = c->t;
	struct chan ch = { -1, -1, t->kind != K_PIPE };
	int lfd = -1, *idle = NULL, nidle = 0;

	child_setup(c, pair, true);
	if (t->kind == K_PIPE) {
		ch.rfd = c->a[pair][0];
		ch.wfd = c->b[pair][1];
	} else {
		int backlog = c->wl == W5I ? g_nidle + 1 : 128;

		lfd = server_socket(t, c->sport[pair], backlog);
	}
	if (write(c->rdy[1], "R", 1) != 1)
		fail("write(ready)");

	if (c->wl == W4 || c->wl == W6) {
		server_churn(t, lfd);
		_exit(0);
	}
	if (t_connected(t)) {
		if (c->wl == W5I) {
			/* The client connects the idle ones first. */
			idle = xalloc(g_nidle * sizeof(*idle));
			for (nidle = 0; nidle < g_nidle; nidle++)
				idle[nidle] = server_accept(t, lfd);
		}
		ch.rfd = ch.wfd = server_accept(t, lfd);
		close(lfd);
	} else if (t->kind == K_DGRAM) {
		server_dgram_hello(lfd);
		ch.rfd = ch.wfd = lfd;
	}

	switch (c->wl) {
	case W1:
	case W5P:
	case W5I:
		server_echo(&ch, t, c->msg);
		break;
	case W2:
		server_stream(&ch, c->msg, pair);
		break;
	case W3:
		server_dgram(&ch, t, c->msg, pair, c->ack[pair][1]);
		break;
	default:
		break;
	}
	/* W5-idle: close the idle ones before the client does. */
	for (int i = 0; i < nidle; i++)
		close(idle[i]);
	_exit(0);
}

/* The kernel's slab memory in bytes (/proc/meminfo Slab), -1 if unknown. */
static double slab_bytes(void)
{
	char line[128];
	double kb = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Slab: %lf kB", &kb) == 1)
			break;
	fclose(f);
	return kb < 0 ? -1 : kb * 1024;
}

/* W5-idle: open g_nidle idle channels of the transport. */
static void open_idle(const struct transport *t, unsigned int sport)
{
	for (int i = 0; i < g_nidle; i++) {
		if (t->kind == K_PIPE) {
			int p[2];

			if (pipe2(p, O_CLOEXEC))
				fail("pipe (idle %d)", i);
		} else if (t->kind == K_DGRAM) {
			struct sockaddr_storage ss;
			socklen_t len = t->addr(&ss, 0);
			int fd = new_socket(t);

			if (bind(fd, (struct sockaddr *)&ss, len))
				fail("bind (idle %d)", i);
		} else {
			client_socket(t, sport, 0);
		}
	}
}

/*
 * W6: open @n sockets, each bound to a name of its own and listening, as a
 * busy host would have them; ports from W6_PORT up, above every port the
 * cells use (and, for AF_X, above the 16-bit range).
 */
#define W6_PORT	100000u
static void open_bound(const struct transport *t, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t len;

	for (size_t i = 0; i < n; i++) {
		int fd = new_socket(t);

		len = t->addr(&ss, W6_PORT + i);
		if (bind(fd, (struct sockaddr *)&ss, len))
			fail("bind (W6 socket %zu)", i);
		if (listen(fd, 1))
			fail("listen (W6 socket %zu)", i);
	}
}

static void __attribute__((noreturn)) run_client(struct cell *c, int pair)
{
	const struct transport *t = c->t;
	struct chan ch = { -1, -1, t->kind != K_PIPE };
	char go;

	child_setup(c, pair, false);
	if (c->wl == W5I) {
		/* Let the RCU frees of earlier cells' sockets finish first. */
		usleep(300 * 1000);
		g_me->idle_kmem = slab_bytes();
		open_idle(t, c->sport[pair]);
	}
	if (c->wl == W6) {
		open_bound(t, c->size);
		/*
		 * Let earlier cells' RCU frees and other deferred work finish
		 * first: in icount mode they would count against a short cell
		 * (the first 1,000-socket cells after W5 ran 35 % slow).
		 */
		usleep(300 * 1000);
	}
	if (t->kind == K_PIPE) {
		ch.wfd = c->a[pair][1];
		ch.rfd = c->b[pair][0];
	} else if (c->wl != W4 && c->wl != W6) {
		ch.rfd = ch.wfd = client_socket(t, c->sport[pair], c->cport[pair]);
	}
	/* All pairs connected before anyone starts. */
	if (write(c->rdy[1], "R", 1) != 1)
		fail("write(ready)");
	if (read(c->go[0], &go, 1) != 1)
		fail("read(go)");
	g_rdy_fd = -1;

	switch (c->wl) {
	case W1:
	case W5I:
		client_pingpong(&ch, t, c->msg, c->secs, true);
		/*
		 * Every idle channel is set up at both ends by now (the server
		 * accepted them before the measured one): the slab memory they
		 * added, per channel.
		 */
		if (c->wl == W5I && g_me->idle_kmem >= 0 && slab_bytes() >= 0)
			g_me->idle_kmem = (slab_bytes() - g_me->idle_kmem) / g_nidle;
		else
			g_me->idle_kmem = -1;
		client_end(&ch, t);
		break;
	case W5P:
		client_pingpong(&ch, t, c->msg, c->secs, false);
		client_end(&ch, t);
		break;
	case W2:
		client_stream(&ch, c->msg, c->secs, pair);
		break;
	case W3:
		client_dgram(&ch, t, c->msg, c->secs, pair, c->ack[pair][0]);
		break;
	case W4:
	case W6:
		client_churn(t, c->sport[pair], c->secs);
		break;
	default:
		break;
	}
	if (c->wl == W5I && t_connected(t)) {
		/* Wait for the server to close the idle connections first. */
		unsigned char b;

		while (recv(ch.rfd, &b, 1, 0) > 0)
			;
	}
	_exit(0);
}

/* ------------------------------------------------------------------------ */
/* Coordinator                                                               */

static volatile sig_atomic_t g_alarm;

static void on_alarm(int sig)
{
	(void)sig;
	g_alarm = 1;
}

struct outcome {
	bool ok;
	char err[400];
	double v[NMETRICS];
	bool has[NMETRICS];
};

static void set_metric(struct outcome *o, enum metric m, double v)
{
	o->v[m] = v;
	o->has[m] = true;
}

static void outcome_fail(struct outcome *o, const char *fmt, ...)
{
	va_list ap;
	size_t n = strlen(o->err);

	if (!o->ok && n)	/* keep the first error */
		return;
	o->ok = false;
	va_start(ap, fmt);
	vsnprintf(o->err + n, sizeof(o->err) - n, fmt, ap);
	va_end(ap);
}

/* Read one byte per child from rdy; false on error or timeout. */
static bool wait_ready(struct cell *c, int n, struct outcome *o)
{
	for (int i = 0; i < n; i++) {
		char b;
		ssize_t r = read(c->rdy[0], &b, 1);

		if (r < 0 && errno == EINTR && !g_alarm) {
			i--;
			continue;
		}
		if (r != 1) {
			outcome_fail(o, g_alarm ? "timed out during setup" :
				     "setup failed");
			return false;
		}
		if (b != 'R') {
			outcome_fail(o, "setup failed");
			return false;
		}
	}
	return true;
}

static void evaluate(struct cell *c, struct outcome *o)
{
	const double ns = 1e9;
	struct side *cl = &g_sh->cli[0];
	struct side *sv = &g_sh->srv[0];
	double secs;

	switch (c->wl) {
	case W1:
	case W5I:
		for (int m = 0; m < 5; m++)
			set_metric(o, M_P50 + m, cl->lat[m]);
		if (c->wl == W5I && cl->idle_kmem > 0)
			set_metric(o, M_IDLE_MEM, cl->idle_kmem);
		if (g_validate && cl->sum != sv->sum)
			outcome_fail(o, "checksum: client sent %016" PRIx64
				     ", server received %016" PRIx64,
				     cl->sum, sv->sum);
		if (sv->msgs != cl->msgs)
			outcome_fail(o, "server echoed %" PRIu64 " of %" PRIu64
				     " messages", sv->msgs, cl->msgs);
		break;
	case W5P: {
		double total = 0;

		for (int i = 0; i < c->pairs; i++) {
			struct side *p = &g_sh->cli[i];

			secs = (p->t1 - p->t0) / ns;
			if (secs <= 0) {
				outcome_fail(o, "pair %d: empty interval", i);
				return;
			}
			total += (p->msgs - p->mark_msgs) / secs;
			if (g_validate && p->sum != g_sh->srv[i].sum)
				outcome_fail(o, "pair %d: checksum mismatch", i);
		}
		set_metric(o, M_RTS, total);
		break;
	}
	case W2:
		if (sv->bytes != cl->bytes)
			outcome_fail(o, "receiver got %" PRIu64 " of %" PRIu64
				     " bytes", sv->bytes, cl->bytes);
		if (g_validate && cl->sum != sv->sum)
			outcome_fail(o, "checksum: sent %016" PRIx64
				     ", received %016" PRIx64, cl->sum, sv->sum);
		secs = (sv->t1 - sv->t0) / ns;
		if (secs <= 0 || !sv->t0) {
			outcome_fail(o, "empty interval");
			return;
		}
		set_metric(o, M_MIBS, (sv->bytes - sv->mark_bytes) / MIB / secs);
		set_metric(o, M_MSGS,
			   (double)(sv->bytes - sv->mark_bytes) / c->msg / secs);
		break;
	case W3: {
		double msgs;

		if (sv->msgs > cl->msgs)
			outcome_fail(o, "receiver got %" PRIu64 " datagrams, %"
				     PRIu64 " sent", sv->msgs, cl->msgs);
		if (!c->t->lossy && sv->msgs != cl->msgs)
			outcome_fail(o, "lost %" PRIu64 " of %" PRIu64
				     " datagrams", cl->msgs - sv->msgs, cl->msgs);
		if (g_validate && !c->t->lossy && cl->sum != sv->sum)
			outcome_fail(o, "checksum: sent %016" PRIx64
				     ", received %016" PRIx64, cl->sum, sv->sum);
		secs = (sv->t1 - sv->t0) / ns;
		if (sv->msgs < 2 || sv->msgs <= sv->mark_msgs || secs <= 0) {
			outcome_fail(o, "only %" PRIu64 " datagrams arrived",
				     sv->msgs);
			return;
		}
		msgs = (sv->msgs - sv->mark_msgs) / secs;
		set_metric(o, M_MSGS, msgs);
		set_metric(o, M_MIBS, msgs * c->msg / MIB);
		set_metric(o, M_LOST, cl->msgs ?
			   100.0 * (cl->msgs - sv->msgs) / cl->msgs : 0);
		break;
	}
	case W4:
	case W6:
		secs = (cl->t1 - cl->t0) / ns;
		if (secs <= 0) {
			outcome_fail(o, "empty interval");
			return;
		}
		set_metric(o, M_CONNS, (cl->msgs - cl->mark_msgs) / secs);
		if (sv->msgs != cl->msgs)
			outcome_fail(o, "server served %" PRIu64 " of %" PRIu64
				     " connections", sv->msgs, cl->msgs);
		break;
	default:
		break;
	}
}

static double cell_timeout(const struct cell *c)
{
	double s = 60 + 20 * c->secs * (c->pairs > 1 ? 2 : 1);

	if (c->wl == W5I)
		s += g_nidle * 0.02;
	if (c->wl == W6)
		s += c->size * 0.005;
	return s;
}

static void run_cell(struct cell *c, struct outcome *o)
{
	pid_t pids[2 * MAXPAIRS];
	int npids = 0, status;
	bool setup_ok;

	memset(o, 0, sizeof(*o));
	o->ok = true;
	memset(g_sh, 0, sizeof(*g_sh));
	for (int i = 0; i < MAXPAIRS; i++)
		g_sh->warm_mark[i] = UINT64_MAX;
	for (int i = 0; i < MAXPAIRS; i++) {
		c->a[i][0] = c->a[i][1] = c->b[i][0] = c->b[i][1] = -1;
		c->ack[i][0] = c->ack[i][1] = -1;
	}
	for (int i = 0; i < c->pairs; i++) {
		c->sport[i] = next_port();
		c->cport[i] = next_port();
		if (c->t->kind == K_PIPE &&
		    (pipe2(c->a[i], O_CLOEXEC) || pipe2(c->b[i], O_CLOEXEC))) {
			outcome_fail(o, "pipe: %s", strerror(errno));
			goto close_fds;
		}
		if (c->wl == W3 && pipe2(c->ack[i], O_CLOEXEC)) {
			outcome_fail(o, "pipe: %s", strerror(errno));
			goto close_fds;
		}
	}
	if (pipe2(c->rdy, O_CLOEXEC) || pipe2(c->go, O_CLOEXEC)) {
		outcome_fail(o, "pipe: %s", strerror(errno));
		goto close_fds;
	}

	fflush(stdout);
	fflush(stderr);
	g_alarm = 0;
	alarm((unsigned int)cell_timeout(c));

	for (int i = 0; i < c->pairs; i++) {
		pid_t p = fork();

		if (p == 0)
			run_server(c, i);
		if (p < 0) {
			outcome_fail(o, "fork: %s", strerror(errno));
			break;
		}
		pids[npids++] = p;
	}
	setup_ok = o->ok && wait_ready(c, c->pairs, o);
	for (int i = 0; setup_ok && i < c->pairs; i++) {
		pid_t p = fork();

		if (p == 0)
			run_client(c, i);
		if (p < 0) {
			outcome_fail(o, "fork: %s", strerror(errno));
			setup_ok = false;
			break;
		}
		pids[npids++] = p;
	}
	/* Only the children hold pipe ends from here on. */
	for (int i = 0; i < c->pairs; i++)
		for (int e = 0; e < 2; e++) {
			if (c->a[i][e] >= 0)
				close(c->a[i][e]);
			if (c->b[i][e] >= 0)
				close(c->b[i][e]);
			if (c->ack[i][e] >= 0)
				close(c->ack[i][e]);
			c->a[i][e] = c->b[i][e] = c->ack[i][e] = -1;
		}
	close(c->go[0]);
	if (setup_ok && wait_ready(c, c->pairs, o)) {
		char gobuf[MAXPAIRS];

		memset(gobuf, 'G', sizeof(gobuf));
		if (write(c->go[1], gobuf, c->pairs) != c->pairs)
			outcome_fail(o, "write(go): %s", strerror(errno));
	} else {
		setup_ok = false;
	}

	/*
	 * Wait for every child. A timeout, a failed setup or one child
	 * failing ends the cell: the others are killed at once (a datagram
	 * peer would otherwise wait for a message that never comes).
	 */
	{
		int left = npids;
		bool killed = false;

		while (left > 0) {
			pid_t r;
			int i;

			if (!killed && (!setup_ok || g_alarm || !o->ok)) {
				for (int j = 0; j < npids; j++)
					if (pids[j] > 0)
						kill(pids[j], SIGKILL);
				killed = true;
			}
			r = waitpid(-1, &status, 0);
			if (r < 0) {
				if (errno != EINTR)
					break;
				if (g_alarm && !killed)
					outcome_fail(o, "timed out after %.0f s",
						     cell_timeout(c));
				continue;
			}
			for (i = 0; i < npids && pids[i] != r; i++)
				;
			if (i == npids)
				continue;
			pids[i] = -1;
			left--;
			if (killed || (WIFEXITED(status) && WEXITSTATUS(status) == 0))
				continue;
			if (WIFSIGNALED(status))
				outcome_fail(o, "child killed by signal %d",
					     WTERMSIG(status));
			else
				outcome_fail(o, "child exited with %d",
					     WEXITSTATUS(status));
		}
	}
	alarm(0);
	close(c->go[1]);
	close(c->rdy[0]);
	close(c->rdy[1]);

	/* The children's own words come first. */
	for (int i = 0; i < c->pairs; i++) {
		if (g_sh->srv[i].failed) {
			o->err[0] = 0;
			o->ok = true;
			outcome_fail(o, "server%s: %s", c->pairs > 1 ? " (pair)" : "",
				     g_sh->srv[i].err);
			break;
		}
		if (g_sh->cli[i].failed) {
			o->err[0] = 0;
			o->ok = true;
			outcome_fail(o, "client: %s", g_sh->cli[i].err);
			break;
		}
	}
	if (o->ok)
		evaluate(c, o);
	if (!o->ok)
		memset(o->has, 0, sizeof(o->has));
	return;

close_fds:
	for (int i = 0; i < MAXPAIRS; i++)
		for (int e = 0; e < 2; e++) {
			if (c->a[i][e] >= 0)
				close(c->a[i][e]);
			if (c->b[i][e] >= 0)
				close(c->b[i][e]);
			if (c->ack[i][e] >= 0)
				close(c->ack[i][e]);
		}
}

/* ------------------------------------------------------------------------ */
/* Results                                                                   */

struct rec {
	short pl, wl, t, m;
	size_t size;
	int rep;
	double v;
};

static struct rec *g_recs;
static size_t g_nrecs, g_caprecs;

struct failure {
	short pl, wl, t;
	size_t size;
	int rep;
	char err[400];
};

static struct failure *g_fails;
static size_t g_nfails;

static void add_rec(int pl, int w, int t, size_t size, int rep, int m, double v)
{
	if (g_nrecs == g_caprecs) {
		g_caprecs = g_caprecs ? 2 * g_caprecs : 4096;
		g_recs = realloc(g_recs, g_caprecs * sizeof(*g_recs));
		if (!g_recs) {
			perror("realloc");
			exit(1);
		}
	}
	g_recs[g_nrecs++] = (struct rec){ pl, w, t, m, size, rep, v };
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median over repetitions; false if there is no value. */
static bool summarise(int pl, int w, int t, size_t size, int m,
		      double *med, double *spread, int *n)
{
	double v[256];
	int k = 0;

	for (size_t i = 0; i < g_nrecs && k < 256; i++) {
		const struct rec *r = &g_recs[i];

		if (r->pl == pl && r->wl == w && r->t == t && r->size == size &&
		    r->m == m)
			v[k++] = r->v;
	}
	if (!k)
		return false;
	qsort(v, k, sizeof(v[0]), cmp_double);
	*med = k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
	*spread = *med > 0 ? 100.0 * (v[k - 1] - v[0]) / *med : 0;
	*n = k;
	return true;
}

/* Spreading pairs over CPUs means something for W5-pairs only. */
/* spread is for W5-pairs; W6 measures costs, not CPUs: unpinned only. */
static bool pl_applies(int pl, int w)
{
	if (w == W6)
		return pl == PL_NONE;
	return pl != PL_SPREAD || w == W5P;
}

static const char *mode_name(int pl)
{
	static char buf[128];

	if (pl == PL_NONE)
		return g_mode;
	snprintf(buf, sizeof(buf), "%s-%s", g_mode, pl_name[pl]);
	return buf;
}

/*
 * The AF_UNIX transport a cell is compared with: the transport's own
 * reference, or unix-dgram where that one does not run the workload (W3
 * of unix-seqpacket, whose reference is unix-stream).
 */
static int ref_of(int w, int t)
{
	int ref = t_index(transports[t].ref);

	if (!wl_applies(w, &transports[ref]))
		ref = t_index("unix-dgram");
	return ref;
}

/*
 * W6's 100,000 sockets take minutes to set up under TCG; validation (its
 * data path is W4's) does with the quick sizes.
 */
static const struct sizes *wl_sizes(int w)
{
	if (w == W6 && g_validate)
		return &quick_sizes[w];
	return g_quick ? &quick_sizes[w] : &full_sizes[w];
}

static void fmt_ratio(char *buf, size_t len, bool ok, double r)
{
	if (ok)
		snprintf(buf, len, "%.3f", r);
	else
		buf[0] = 0;
}

static void write_csv(FILE *f)
{
	fprintf(f, "mode,workload,size,transport,metric,value,ratio_unix,"
		"ratio_pipe,spread_pct,reps\n");
	for (int pl = 0; pl < NPL; pl++) {
		if (!g_pl_selected[pl])
			continue;
		for (int w = 0; w < NWL; w++) {
			const struct sizes *sz = wl_sizes(w);

			if (!g_wl_selected[w])
				continue;
			for (int s = 0; s < sz->n; s++)
				for (int t = 0; t < NTRANSPORTS; t++)
					for (int m = 0; m < NMETRICS; m++) {
						double med, sp, rm = 0, rsp;
						int n, rn, ref = ref_of(w, t);
						int pipe = t_index("pipe");
						char ru[32], rp[32];
						bool ok;

						if (!summarise(pl, w, t, sz->v[s], m, &med, &sp, &n))
							continue;
						ok = summarise(pl, w, ref, sz->v[s], m, &rm, &rsp, &rn) && rm > 0;
						fmt_ratio(ru, sizeof(ru), ok, ok ? med / rm : 0);
						ok = summarise(pl, w, pipe, sz->v[s], m, &rm, &rsp, &rn) && rm > 0;
						fmt_ratio(rp, sizeof(rp), ok, ok ? med / rm : 0);
						fprintf(f, "%s,%s,%zu,%s,%s,%.6g,%s,%s,%.2f,%d\n",
							mode_name(pl), wl_name[w], sz->v[s],
							transports[t].name, metrics[m].name, med,
							ru, rp, sp, n);
					}
		}
	}
}

static enum metric primary_metric(int w)
{
	switch (w) {
	case W2: return M_MIBS;
	case W3: return M_MSGS;
	case W4:
	case W6: return M_CONNS;
	case W5P: return M_RTS;
	default: return M_P50;
	}
}

static void fmt_value(char *buf, size_t len, enum metric m, double v)
{
	if (m <= M_MAX)
		snprintf(buf, len, "%.1fus", v / 1000);
	else if (m == M_MIBS)
		snprintf(buf, len, "%.1f", v);
	else if (v >= 1e6)
		snprintf(buf, len, "%.2fM", v / 1e6);
	else if (v >= 1e3)
		snprintf(buf, len, "%.1fk", v / 1e3);
	else
		snprintf(buf, len, "%.0f", v);
}

/* The human table: per mode and workload, the primary metric. */
static void print_tables(FILE *f)
{
	for (int pl = 0; pl < NPL; pl++) {
		if (!g_pl_selected[pl])
			continue;
		for (int w = 0; w < NWL; w++) {
			const struct sizes *sz = wl_sizes(w);
			enum metric m = primary_metric(w);
			int cols[NTRANSPORTS], nc = 0;

			if (!g_wl_selected[w] || !pl_applies(pl, w))
				continue;
			for (int t = 0; t < NTRANSPORTS; t++)
				if (t_selected[t] && t_available[t] &&
				    wl_applies(w, &transports[t]))
					cols[nc++] = t;
			if (!nc)
				continue;
			fprintf(f, "\n%s %s: %s (%s; ratio to AF_UNIX of the same type: "
				"%s)\n", mode_name(pl), wl_name[w], metrics[m].name,
				"median", metrics[m].lower_better ?
				"< 1.00 is faster" : "> 1.00 is faster");
			fprintf(f, "%8s", w == W5P ? "pairs" : "size");
			for (int i = 0; i < nc; i++)
				fprintf(f, " %14.14s", transports[cols[i]].name);
			fprintf(f, "\n");
			for (int s = 0; s < sz->n; s++) {
				fprintf(f, "%8zu", sz->v[s]);
				for (int i = 0; i < nc; i++) {
					int t = cols[i], ref = ref_of(w, t), n;
					double med, sp, rm;
					char cell[64], val[32];

					if (!summarise(pl, w, t, sz->v[s], m, &med, &sp, &n)) {
						fprintf(f, " %14s", "-");
						continue;
					}
					fmt_value(val, sizeof(val), m, med);
					if (summarise(pl, w, ref, sz->v[s], m, &rm, &sp, &n) && rm > 0)
						snprintf(cell, sizeof(cell), "%s x%.2f", val, med / rm);
					else
						snprintf(cell, sizeof(cell), "%s", val);
					fprintf(f, " %14s", cell);
				}
				fprintf(f, "\n");
			}
		}
	}
}

/* ------------------------------------------------------------------------ */
/* Startup                                                                   */

/* A transport is available when one W1 round trip of 1 byte works. */
static void probe(int t)
{
	struct cell c = {
		.t = &transports[t], .wl = W1, .size = 1, .msg = 1, .pairs = 1,
		.pl = PL_NONE, .secs = 0.001,
	};
	struct outcome o;
	bool v = g_validate;

	g_validate = true;
	run_cell(&c, &o);
	g_validate = v;
	t_available[t] = o.ok;
	if (!o.ok)
		snprintf(t_why[t], sizeof(t_why[t]), "%s", o.err);
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: afx-bench [options]\n"
"  --quick              small matrix, short runs (make check)\n"
"  --validate           compare and checksum every byte (slower numbers)\n"
"  --reps N             repetitions of every cell (default 3, --quick 1)\n"
"  --time-scale F       multiply every measured interval by F\n"
"  --mode NAME          label for the mode column (default local)\n"
"  --placement LIST     none,same,split,spread: pin both endpoints to CPU 0\n"
"                       (same), the server to CPU 1 (split), or both ends of\n"
"                       pair i to CPU i %% ncpu (spread, W5-pairs only);\n"
"                       default none\n"
"  --transports LIST    comma separated names (default all), see --list\n"
"  --workloads LIST     W1,W2,W3,W4,W5-pairs,W5-idle,W6 (default all)\n"
"  --idle N             idle connections for W5-idle (default 4096)\n"
"  --csv FILE           summary: mode,workload,size,transport,metric,value,\n"
"                       ratio_unix,ratio_pipe,spread_pct,reps\n"
"  --raw FILE           every repetition: mode,workload,size,transport,rep,\n"
"                       metric,value\n"
"  --list               list the transports and exit\n");
}

static bool parse_list(const char *arg, const char *const *names, int n,
		       bool *sel, bool by_transport)
{
	char *copy = strdup(arg), *save = NULL, *tok;

	memset(sel, 0, n * sizeof(*sel));
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int i;

		for (i = 0; i < n; i++)
			if (!strcmp(tok, by_transport ? transports[i].name : names[i]))
				break;
		if (i == n) {
			fprintf(stderr, "afx-bench: unknown name '%s'\n", tok);
			free(copy);
			return false;
		}
		sel[i] = true;
	}
	free(copy);
	return true;
}

static bool parse_placements(const char *arg)
{
	char *copy = strdup(arg), *save = NULL, *tok;
	bool ok = true;

	memset(g_pl_selected, 0, sizeof(g_pl_selected));
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "none"))
			g_pl_selected[PL_NONE] = true;
		else if (!strcmp(tok, "same"))
			g_pl_selected[PL_SAME] = true;
		else if (!strcmp(tok, "split"))
			g_pl_selected[PL_SPLIT] = true;
		else if (!strcmp(tok, "spread"))
			g_pl_selected[PL_SPREAD] = true;
		else
			ok = false;
	}
	free(copy);
	if (!ok)
		fprintf(stderr, "afx-bench: --placement takes none, same, split\n");
	return ok;
}

static void progress(int done, int total, const char *what)
{
	fprintf(stderr, "%safx-bench: [%4d/%d] %s%s", g_progress_tty ? "\r" : "",
		done, total, what, g_progress_tty ? "\033[K" : "\n");
	/* Let the console drain now, not during the next measurement. */
	if (isatty(STDERR_FILENO))
		tcdrain(STDERR_FILENO);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "validate", no_argument, NULL, 'V' },
		{ "reps", required_argument, NULL, 'r' },
		{ "time-scale", required_argument, NULL, 's' },
		{ "mode", required_argument, NULL, 'm' },
		{ "placement", required_argument, NULL, 'p' },
		{ "transports", required_argument, NULL, 't' },
		{ "workloads", required_argument, NULL, 'w' },
		{ "idle", required_argument, NULL, 'i' },
		{ "csv", required_argument, NULL, 'c' },
		{ "raw", required_argument, NULL, 'R' },
		{ "list", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	bool reps_set = false, idle_set = false, any_fail = false;
	struct rlimit rl = { 65536, 65536 };
	rlim_t need;
	int opt, total = 0, done = 0;
	FILE *raw = NULL;
	struct sigaction sa = { .sa_handler = on_alarm };

	for (int i = 0; i < NTRANSPORTS; i++)
		t_selected[i] = true;
	for (int w = 0; w < NWL; w++)
		g_wl_selected[w] = true;
	g_pl_selected[PL_NONE] = true;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'q': g_quick = true; break;
		case 'V': g_validate = true; break;
		case 'r': g_reps = atoi(optarg); reps_set = true; break;
		case 's': g_tscale = atof(optarg); break;
		case 'm': g_mode = optarg; break;
		case 'p':
			if (!parse_placements(optarg))
				return 2;
			break;
		case 't':
			if (!parse_list(optarg, NULL, NTRANSPORTS, t_selected, true))
				return 2;
			break;
		case 'w':
			if (!parse_list(optarg, wl_name, NWL, g_wl_selected, false))
				return 2;
			break;
		case 'i': g_nidle = atoi(optarg); idle_set = true; break;
		case 'c': g_csv_path = optarg; break;
		case 'R': g_raw_path = optarg; break;
		case 'l':
			for (int i = 0; i < NTRANSPORTS; i++)
				printf("%s\n", transports[i].name);
			return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (g_quick) {
		if (!reps_set)
			g_reps = 1;
		if (!idle_set)
			g_nidle = 256;
		g_tscale *= 0.1;
	}
	if (g_reps < 1 || g_reps > 200 || g_tscale <= 0 || g_nidle < 0) {
		usage(stderr);
		return 2;
	}

	afx_family();	/* looked up once, now: see include/afx_family.h */
	g_progress_tty = isatty(STDERR_FILENO) && getenv("TERM") &&
			 strcmp(getenv("TERM"), "dumb") && !getenv("AFX_GUEST");
	setvbuf(stdout, NULL, _IOLBF, 0);
	need = 2 * (rlim_t)g_nidle + 64;
	if (g_wl_selected[W6]) {
		const struct sizes *sz = wl_sizes(W6);

		for (int i = 0; i < sz->n; i++)
			if (sz->v[i] + 64 > need)
				need = sz->v[i] + 64;
	}
	if (need > rl.rlim_max)
		rl.rlim_cur = rl.rlim_max = need;
	if (setrlimit(RLIMIT_NOFILE, &rl)) {
		getrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_max < need) {
			fprintf(stderr, "afx-bench: RLIMIT_NOFILE below %llu, too low for --idle %d and W6\n",
				(unsigned long long)need, g_nidle);
			return 2;
		}
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if ((g_pl_selected[PL_SPLIT] || g_pl_selected[PL_SPREAD]) &&
	    sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		fprintf(stderr, "afx-bench: --placement split and spread need 2 CPUs\n");
		return 2;
	}
	sigaction(SIGALRM, &sa, NULL);	/* no SA_RESTART: waits return EINTR */
	signal(SIGPIPE, SIG_IGN);

	g_sh = mmap(NULL, sizeof(*g_sh), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (g_sh == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	g_pat_len = 2 * 1024 * 1024 + PATP;
	g_pat = malloc(g_pat_len);
	if (!g_pat) {
		perror("malloc");
		return 1;
	}
	for (size_t i = 0; i < g_pat_len; i++) {
		uint32_t x = (uint32_t)(i % PATP) * 2654435761u;

		g_pat[i] = (unsigned char)(x >> 13);
	}
	if (g_raw_path) {
		raw = fopen(g_raw_path, "w");
		if (!raw) {
			perror(g_raw_path);
			return 1;
		}
		fprintf(raw, "mode,workload,size,transport,rep,metric,value\n");
	}

	{
		struct utsname u;

		uname(&u);
		printf("afx-bench: mode %s, kernel %s, %ld CPU(s), AF_X family %d, "
		       "%d rep(s), time scale %.3g%s%s\n", g_mode, u.release,
		       sysconf(_SC_NPROCESSORS_ONLN), afx_family(), g_reps, g_tscale,
		       g_quick ? ", quick" : "", g_validate ? ", validate" : "");
	}
	for (int t = 0; t < NTRANSPORTS; t++) {
		if (!t_selected[t])
			continue;
		probe(t);
		if (t_available[t]) {
			printf("afx-bench: transport %-14s available\n", transports[t].name);
		} else {
			printf("afx-bench: transport %-14s UNAVAILABLE: %s\n",
			       transports[t].name, t_why[t]);
			if (!transports[t].optional)
				any_fail = true;
		}
	}

	/* Count the cells for the progress line. */
	for (int w = 0; w < NWL; w++) {
		const struct sizes *sz = wl_sizes(w);

		if (!g_wl_selected[w])
			continue;
		for (int s = 0; s < sz->n; s++)
			for (int t = 0; t < NTRANSPORTS; t++)
				if (t_selected[t] && t_available[t] &&
				    wl_applies(w, &transports[t]) &&
				    size_applies(w, &transports[t], sz->v[s]))
					for (int pl = 0; pl < NPL; pl++)
						total += g_pl_selected[pl] *
							 pl_applies(pl, w) * g_reps;
	}

	/*
	 * The matrix. For each workload and size: every repetition runs
	 * every placement and every transport, the order of the transports
	 * reversed on odd repetitions (A B C, C B A, A B C ...).
	 */
	for (int w = 0; w < NWL; w++) {
		const struct sizes *sz = wl_sizes(w);

		if (!g_wl_selected[w])
			continue;
		for (int s = 0; s < sz->n; s++)
			for (int rep = 0; rep < g_reps; rep++)
				for (int pl = 0; pl < NPL; pl++) {
					if (!g_pl_selected[pl] || !pl_applies(pl, w))
						continue;
					for (int i = 0; i < NTRANSPORTS; i++) {
						int t = rep % 2 ? NTRANSPORTS - 1 - i : i;
						const struct transport *tr = &transports[t];
						struct cell c = { 0 };
						struct outcome o;
						char what[200];

						if (!t_selected[t] || !t_available[t] ||
						    !wl_applies(w, tr) ||
						    !size_applies(w, tr, sz->v[s]))
							continue;
						c.t = tr;
						c.wl = w;
						c.size = sz->v[s];
						c.msg = cell_msg(w, c.size);
						c.pairs = w == W5P ? (int)c.size : 1;
						c.pl = pl;
						c.secs = wl_secs[w] * g_tscale;
						snprintf(what, sizeof(what), "%s %s %s=%zu %s rep %d/%d",
							 mode_name(pl), wl_name[w],
							 w == W5P ? "pairs" : w == W6 ? "sockets" : "size", c.size,
							 tr->name, rep + 1, g_reps);
						progress(++done, total, what);
						run_cell(&c, &o);
						if (!o.ok) {
							any_fail = true;
							printf("afx-bench: FAILED %s: %s\n", what, o.err);
							if (g_nfails % 64 == 0)
								g_fails = realloc(g_fails, (g_nfails + 64) * sizeof(*g_fails));
							g_fails[g_nfails] = (struct failure){ pl, w, t, c.size, rep, "" };
							snprintf(g_fails[g_nfails].err, sizeof(g_fails[0].err), "%s", o.err);
							g_nfails++;
							continue;
						}
						for (int m = 0; m < NMETRICS; m++) {
							if (!o.has[m])
								continue;
							add_rec(pl, w, t, c.size, rep, m, o.v[m]);
							if (raw)
								fprintf(raw, "%s,%s,%zu,%s,%d,%s,%.6g\n",
									mode_name(pl), wl_name[w], c.size,
									tr->name, rep + 1, metrics[m].name,
									o.v[m]);
						}
					}
				}
	}
	if (g_progress_tty)
		fprintf(stderr, "\n");
	if (raw)
		fclose(raw);

	print_tables(stdout);
	if (g_csv_path) {
		FILE *f = fopen(g_csv_path, "w");

		if (!f) {
			perror(g_csv_path);
			return 1;
		}
		write_csv(f);
		fclose(f);
	}
	printf("\nafx-bench: %d cell(s) run, %zu failed", done, g_nfails);
	for (int t = 0; t < NTRANSPORTS; t++)
		if (t_selected[t] && !t_available[t])
			printf(", %s unavailable%s", transports[t].name,
			       transports[t].optional ? " (optional)" : "");
	printf("%s\n", g_validate ? ", every byte validated" : "");
	for (size_t i = 0; i < g_nfails; i++)
		printf("afx-bench: failure: %s %s size %zu %s rep %d: %s\n",
		       mode_name(g_fails[i].pl), wl_name[g_fails[i].wl],
		       g_fails[i].size, transports[g_fails[i].t].name,
		       g_fails[i].rep + 1, g_fails[i].err);
	return any_fail ? 1 : 0;
}
