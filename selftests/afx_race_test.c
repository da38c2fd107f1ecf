// SPDX-License-Identifier: GPL-2.0
/*
 * afx_race_test - races between two threads on two CPUs, and the
 * regressions they found.
 *
 * Each race test runs one side in a worker thread pinned to one CPU and
 * the other side in the test thread pinned to another, starts both sides
 * of an iteration together, and checks the contract after every
 * iteration: stream bytes arrive whole, in order and exactly once, and EOF
 * or an error is seen only after every byte sent before it. A test loops
 * for AFX_RACE_SECONDS (default 3) and prints its iterations per second
 * and its violations; one violation fails it. The race tests belong to
 * the fixture "race", whose time limit leaves room for long runs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include "kselftest_harness.h"
#include "afx_harness.h"
#include "afx_introspect.h"

/* ---- a two-thread race rig ------------------------------------------------ */

/**
 * struct race - one worker thread that runs @work once per iteration
 * @work: the worker's side of an iteration
 * @arg: its argument, set by the test before each iteration
 * @go: iteration number the worker is to run; 0 while idle, -1 to exit
 * @done: iteration number the worker finished last
 */
struct race {
	pthread_t thread;
	void (*work)(void *arg);
	void *arg;
	atomic_long go;
	atomic_long done;
};

static void pin_to_cpu(int cpu)
{
	cpu_set_t set;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	if (ncpu < 2)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu % ncpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static void *race_worker(void *p)
{
	struct race *r = p;
	long seen = 0, go;

	pin_to_cpu(1);
	for (;;) {
		while ((go = atomic_load(&r->go)) == seen)
			sched_yield();
		if (go < 0)
			return NULL;
		r->work(r->arg);
		seen = go;
		atomic_store(&r->done, go);
	}
}

static int race_start(struct race *r, void (*work)(void *))
{
	memset(r, 0, sizeof(*r));
	r->work = work;
	pin_to_cpu(0);
	return pthread_create(&r->thread, NULL, race_worker, r);
}

/* Let the worker run iteration @n with @arg; the caller races it. */
static void race_go(struct race *r, long n, void *arg)
{
	r->arg = arg;
	atomic_store(&r->go, n);
}

static void race_wait(struct race *r, long n)
{
	while (atomic_load(&r->done) != n)
		sched_yield();
}

static void race_stop(struct race *r)
{
	atomic_store(&r->go, -1);
	pthread_join(r->thread, NULL);
}

static double race_seconds(void)
{
	const char *s = getenv("AFX_RACE_SECONDS");
	double v = s ? atof(s) : 3.0;

	return v > 0 ? v : 3.0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- stream: EOF and reset after the queued data -------------------------- */

/* Race tests run for AFX_RACE_SECONDS: the harness's 30 s limit is lifted. */
#define RACE_TIMEOUT	3600

FIXTURE(race) {
};

FIXTURE_SETUP(race)
{
}

FIXTURE_TEARDOWN(race)
{
}

enum ending { END_SHUT_WR, END_CLOSE_UNREAD };

struct ending_arg {
	int fd;
	enum ending how;
};

/* The worker: one byte, then the end of the stream. */
static void send_then_end(void *p)
{
	struct ending_arg *e = p;
	char b = 'x';

	if (send(e->fd, &b, 1, MSG_NOSIGNAL) != 1)
		abort();
	if (e->how == END_SHUT_WR)
		shutdown(e->fd, SHUT_WR);
	else
		close(e->fd);
}

/*
 * Read @fd without blocking until the stream ends. Returns 0 if the byte
 * came before the end, 1 if the end overtook it, -1 on an unexpected
 * result (errno set).
 */
static int read_until_end(int fd, enum ending how)
{
	bool got = false;
	char buf[2];
	ssize_t n;

	for (;;) {
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 1 && buf[0] == 'x' && !got) {
			got = true;
			continue;
		}
		if (n == 0 || (n < 0 && errno == ECONNRESET &&
			       how == END_CLOSE_UNREAD))
			return got ? 0 : 1;
		if (n < 0 && errno == EAGAIN)
			continue;
		if (n >= 0)
			errno = EPROTO;
		return -1;
	}
}

static void stream_ending_race(struct __test_metadata *_metadata,
			       enum ending how, int type)
{
	long iters = 0, lost = 0;
	double end = now_s() + race_seconds(), t0 = now_s();
	struct ending_arg arg = { .how = how };
	struct race r;
	int l, c, a, rc;
	uint32_t port;
	char b = 'u';

	l = afx_listener(type, 64, &port);
	ASSERT_LE(0, l);
	ASSERT_EQ(0, race_start(&r, send_then_end));
	while (now_s() < end) {
		c = afx_socket(type);
		ASSERT_LE(0, c);
		ASSERT_EQ(0, afx_connect_port(c, port));
		a = accept(l, NULL, NULL);
		ASSERT_LE(0, a);
		/* Unread data at the closing end makes its close a reset. */
		if (how == END_CLOSE_UNREAD)
			ASSERT_EQ(1, send(a, &b, 1, 0));
		arg.fd = c;
		race_go(&r, ++iters, &arg);
		rc = read_until_end(a, how);
		race_wait(&r, iters);
		ASSERT_LE(0, rc) TH_LOG("iteration %ld: %s", iters, strerror(errno));
		lost += rc;
		close(a);
		if (how == END_SHUT_WR)
			close(c);
	}
	race_stop(&r);
	close(l);
	TH_LOG("%ld connections, %.0f/s, %ld ends before the queued byte",
	       iters, iters / (now_s() - t0), lost);
	ASSERT_LT(0, iters);
	EXPECT_EQ(0, lost);
}

/* A reader got EOF with a byte still queued behind it (issue: data loss). */
TEST_F_TIMEOUT(race, eof_never_overtakes_queued_byte, RACE_TIMEOUT)
{
	stream_ending_race(_metadata, END_SHUT_WR, SOCK_STREAM);
}

/* ECONNRESET from a close with unread data came before the queued byte. */
TEST_F_TIMEOUT(race, reset_never_overtakes_queued_byte, RACE_TIMEOUT)
{
	stream_ending_race(_metadata, END_CLOSE_UNREAD, SOCK_STREAM);
}

/* The same two races with a one-byte seqpacket message. */
TEST_F_TIMEOUT(race, seqpacket_eof_never_overtakes_queued_message,
	       RACE_TIMEOUT)
{
	stream_ending_race(_metadata, END_SHUT_WR, SOCK_SEQPACKET);
}

TEST_F_TIMEOUT(race, seqpacket_reset_never_overtakes_queued_message,
	       RACE_TIMEOUT)
{
	stream_ending_race(_metadata, END_CLOSE_UNREAD, SOCK_SEQPACKET);
}

/* ---- stream: data against shutdown and close, both directions ------------ */

struct stream_arg {
	int fd;
	size_t len;	/* bytes to send, in writes of 1 to 4096 bytes */
	unsigned int seed;
	bool close_after;
};

/* The worker: a pattern stream in writes of random size, then the end. */
static void send_pattern_then_end(void *p)
{
	struct stream_arg *a = p;
	unsigned char buf[4096];
	size_t off = 0, n;
	ssize_t w;

	while (off < a->len) {
		n = 1 + rand_r(&a->seed) % sizeof(buf);
		if (n > a->len - off)
			n = a->len - off;
		afx_fill_pattern(buf, n, off);
		w = send(a->fd, buf, n, MSG_NOSIGNAL);
		if (w <= 0)
			abort();
		off += w;
	}
	if (a->close_after)
		close(a->fd);
	else
		shutdown(a->fd, SHUT_WR);
}

/*
 * Bytes arrive whole, in order, exactly once, and EOF only after the last
 * of them, while the writer on the other CPU ends the stream by shutdown
 * or close at any point of the reader's loop.
 */
TEST_F_TIMEOUT(race, stream_pattern_then_end_exactly_once, RACE_TIMEOUT)
{
	double end = now_s() + race_seconds(), t0 = now_s();
	struct stream_arg arg = { .seed = 1 };
	long iters = 0, bad = 0;
	unsigned char buf[8192];
	uint64_t got, total = 0;
	struct race r;
	int fds[2];
	ssize_t n;

	ASSERT_EQ(0, race_start(&r, send_pattern_then_end));
	while (now_s() < end) {
		ASSERT_EQ(0, afx_stream_pair(fds));
		arg.fd = fds[0];
		arg.len = 1 + (size_t)(iters * 7919) % (96 * 1024);
		arg.close_after = iters & 1;
		race_go(&r, ++iters, &arg);
		got = 0;
		for (;;) {
			n = recv(fds[1], buf, 1 + iters % sizeof(buf), 0);
			if (n <= 0)
				break;
			if (afx_check_pattern(buf, n, got) != (size_t)n)
				bad++;
			got += n;
		}
		race_wait(&r, iters);
		ASSERT_EQ(0, n) TH_LOG("iteration %ld: %s", iters, strerror(errno));
		if (got != arg.len)
			bad++;
		total += got;
		close(fds[1]);
		if (!arg.close_after)
			close(fds[0]);
	}
	race_stop(&r);
	TH_LOG("%ld streams, %.0f/s, %llu bytes, %ld broken", iters,
	       iters / (now_s() - t0), (unsigned long long)total, bad);
	ASSERT_LT(0, iters);
	EXPECT_EQ(0, bad);
}

/*
 * The same streams read by an edge-triggered epoll loop: after each edge
 * the reader drains to EAGAIN, so a wakeup lost between a send, the
 * shutdown or close and the reader's last look leaves it waiting for
 * ever (the wait has a limit: that fails).
 */
TEST_F_TIMEOUT(race, stream_pattern_epollet_reader_sees_every_byte_and_eof,
	       RACE_TIMEOUT)
{
	double end = now_s() + race_seconds(), t0 = now_s();
	struct stream_arg arg = { .seed = 7 };
	long iters = 0, bad = 0, edges = 0;
	struct epoll_event ev;
	unsigned char buf[8192];
	uint64_t got, total = 0;
	struct race r;
	int fds[2], ep, n_ev;
	bool eof;
	ssize_t n;

	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, race_start(&r, send_pattern_then_end));
	while (now_s() < end) {
		ASSERT_EQ(0, afx_stream_pair(fds));
		ASSERT_EQ(0, afx_set_nonblock(fds[1], 1));
		ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
		ev.data.fd = fds[1];
		ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, fds[1], &ev));
		arg.fd = fds[0];
		arg.len = 1 + (size_t)(iters * 4099) % (64 * 1024);
		arg.close_after = iters & 1;
		race_go(&r, ++iters, &arg);
		got = 0;
		eof = false;
		while (!eof) {
			n_ev = epoll_wait(ep, &ev, 1, 10000);
			ASSERT_EQ(1, n_ev) TH_LOG("iteration %ld: no edge at %llu of %zu bytes",
						  iters, (unsigned long long)got, arg.len);
			edges++;
			for (;;) {
				n = recv(fds[1], buf, sizeof(buf), 0);
				if (n > 0) {
					if (afx_check_pattern(buf, n, got) != (size_t)n)
						bad++;
					got += n;
					continue;
				}
				if (n == 0)
					eof = true;
				else
					ASSERT_EQ(EAGAIN, errno);
				break;
			}
		}
		race_wait(&r, iters);
		if (got != arg.len)
			bad++;
		total += got;
		ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_DEL, fds[1], NULL));
		close(fds[1]);
		if (!arg.close_after)
			close(fds[0]);
	}
	race_stop(&r);
	close(ep);
	TH_LOG("%ld streams, %.0f/s, %llu bytes, %ld edges, %ld broken", iters,
	       iters / (now_s() - t0), (unsigned long long)total, edges, bad);
	ASSERT_LT(0, iters);
	EXPECT_EQ(0, bad);
}

/* ---- stream: connect against accept, through the pending queue ------------- */

struct connects_arg {
	uint32_t port;
	int n;
	int fds[64];
};

/* The worker: n blocking connects, each sending its number. */
static void connect_in_turn(void *p)
{
	struct connects_arg *c = p;
	unsigned char id;
	int i;

	for (i = 0; i < c->n; i++) {
		c->fds[i] = afx_socket(SOCK_STREAM);
		if (c->fds[i] < 0 || afx_connect_port(c->fds[i], c->port))
			abort();
		id = (unsigned char)i;
		if (send(c->fds[i], &id, 1, 0) != 1)
			abort();
	}
}

/*
 * A listener with backlog 1 accepts on one CPU while connects arrive on
 * the other, so that most of them wait on the pending queue and are let in
 * by accept(): every connection arrives exactly once, in order, with its
 * data.
 */
TEST_F_TIMEOUT(race, connect_against_accept_through_pending_queue,
	       RACE_TIMEOUT)
{
	double end = now_s() + race_seconds(), t0 = now_s();
	struct connects_arg c = { .n = 32 };
	long iters = 0, bad = 0, conns = 0;
	unsigned char id;
	struct race r;
	int l, a, i;

	ASSERT_EQ(0, race_start(&r, connect_in_turn));
	while (now_s() < end) {
		l = afx_listener(SOCK_STREAM, 1, &c.port);
		ASSERT_LE(0, l);
		race_go(&r, ++iters, &c);
		for (i = 0; i < c.n; i++) {
			a = accept(l, NULL, NULL);
			ASSERT_LE(0, a);
			if (recv(a, &id, 1, 0) != 1 || id != i)
				bad++;
			close(a);
			conns++;
		}
		race_wait(&r, iters);
		/* Nothing left over: no connection accepted twice or lost. */
		if (afx_poll(l, POLLIN, 0) != 0)
			bad++;
		for (i = 0; i < c.n; i++)
			close(c.fds[i]);
		close(l);
	}
	race_stop(&r);
	TH_LOG("%ld rounds, %ld connections, %.0f/s, %ld out of order or lost",
	       iters, conns, conns / (now_s() - t0), bad);
	ASSERT_LT(0, iters);
	EXPECT_EQ(0, bad);
}

/* ---- stream: close against blocked calls ---------------------------------- */

enum blocked_call { BLOCKED_SEND, BLOCKED_RECV, BLOCKED_ACCEPT };

/* A seqpacket message that fits into an empty buffer, but not twice. */
#define SEQ_BIG		150000

struct blocked_arg {
	int fd;
	enum blocked_call call;
	size_t len;	/* what a send sends */
	atomic_int tid;
	ssize_t ret;
	int err;
};

static void *blocked_worker(void *p)
{
	struct blocked_arg *b = p;
	static char buf[1 << 20];

	pin_to_cpu(1);
	atomic_store(&b->tid, afx_gettid());
	switch (b->call) {
	case BLOCKED_SEND:
		b->ret = send(b->fd, buf, b->len, MSG_NOSIGNAL);
		break;
	case BLOCKED_RECV:
		b->ret = recv(b->fd, buf, sizeof(buf), 0);
		break;
	case BLOCKED_ACCEPT:
		b->ret = accept(b->fd, NULL, NULL);
		break;
	}
	b->err = b->ret < 0 ? errno : 0;
	return NULL;
}

/*
 * A call blocked on one CPU while the other end (send, recv) or the
 * socket's own listener role (accept: shutdown(SHUT_RD) stops listening)
 * goes away on the other CPU, at a random moment around the block. Every
 * blocked call returns, with a documented result.
 */
static void blocked_vs_end(struct __test_metadata *_metadata,
			   enum blocked_call call, int type)
{
	static char big[SEQ_BIG];
	double end = now_s() + race_seconds() / 3, t0 = now_s();
	long iters = 0, odd = 0;
	struct blocked_arg b;
	int fds[2], l = -1, fd;
	pthread_t t;
	uint32_t port;

	pin_to_cpu(0);
	while (now_s() < end) {
		memset(&b, 0, sizeof(b));
		b.call = call;
		b.len = 1 << 20;
		if (call == BLOCKED_ACCEPT) {
			l = afx_listener(type, 4, &port);
			ASSERT_LE(0, l);
			b.fd = l;
			fd = l;
		} else if (type == SOCK_SEQPACKET) {
			ASSERT_EQ(0, socketpair(afx_family(), type, 0, fds));
			b.fd = fds[1];
			fd = fds[0];
			/* The message sent next waits for room that never comes. */
			b.len = SEQ_BIG;
			if (call == BLOCKED_SEND)
				ASSERT_EQ(SEQ_BIG, send(b.fd, big, SEQ_BIG, 0));
		} else {
			ASSERT_EQ(0, afx_stream_pair(fds));
			b.fd = fds[1];
			fd = fds[0];
		}
		ASSERT_EQ(0, pthread_create(&t, NULL, blocked_worker, &b));
		/* Every third time wait until it sleeps; else race it. */
		if (iters % 3 == 0) {
			while (!atomic_load(&b.tid))
				sched_yield();
			ASSERT_EQ(0, afx_wait_blocked(atomic_load(&b.tid), -1,
						      5000));
		}
		if (call == BLOCKED_ACCEPT)
			shutdown(fd, SHUT_RD);
		else
			close(fd);
		pthread_join(t, NULL);
		iters++;
		switch (call) {
		case BLOCKED_SEND:
			/*
			 * Part of the megabyte, or EPIPE if none of it; a
			 * seqpacket message all or nothing: EPIPE.
			 */
			if (!((b.ret > 0 && type == SOCK_STREAM) ||
			      (b.ret < 0 && b.err == EPIPE)))
				odd++;
			break;
		case BLOCKED_RECV:
			if (b.ret != 0)
				odd++;
			break;
		case BLOCKED_ACCEPT:
			if (!(b.ret < 0 && b.err == EINVAL))
				odd++;
			break;
		}
		if (b.ret > 0 && call == BLOCKED_ACCEPT)
			close(b.ret);
		if (call == BLOCKED_ACCEPT)
			close(l);
		else
			close(fds[1]);
	}
	TH_LOG("%ld blocked calls ended, %.0f/s, %ld with an undocumented result",
	       iters, iters / (now_s() - t0), odd);
	ASSERT_LT(0, iters);
	EXPECT_EQ(0, odd);
}

TEST_F_TIMEOUT(race, close_against_blocked_send, RACE_TIMEOUT)
{
	blocked_vs_end(_metadata, BLOCKED_SEND, SOCK_STREAM);
}

TEST_F_TIMEOUT(race, close_against_blocked_recv, RACE_TIMEOUT)
{
	blocked_vs_end(_metadata, BLOCKED_RECV, SOCK_STREAM);
}

TEST_F_TIMEOUT(race, listen_stop_against_blocked_accept, RACE_TIMEOUT)
{
	blocked_vs_end(_metadata, BLOCKED_ACCEPT, SOCK_STREAM);
}

/* The same for seqpacket sockets: a message that waits for room. */
TEST_F_TIMEOUT(race, seqpacket_close_against_blocked_send, RACE_TIMEOUT)
{
	blocked_vs_end(_metadata, BLOCKED_SEND, SOCK_SEQPACKET);
}

TEST_F_TIMEOUT(race, seqpacket_close_against_blocked_recv, RACE_TIMEOUT)
{
	blocked_vs_end(_metadata, BLOCKED_RECV, SOCK_SEQPACKET);
}

/* ---- stream: connectors against a listener that closes -------------------- */

struct connector_arg {
	uint32_t port;
	int n;
	int connected, refused, other;
};

/* The worker: connect n sockets (nonblocking) to the port, close them. */
static void connect_many(void *p)
{
	struct connector_arg *c = p;
	int i, fd;

	c->connected = c->refused = c->other = 0;
	for (i = 0; i < c->n; i++) {
		fd = afx_socket(SOCK_STREAM);
		if (fd < 0)
			abort();
		afx_set_nonblock(fd, 1);
		if (afx_connect_port(fd, c->port) == 0)
			c->connected++;
		else if (errno == ECONNREFUSED)
			c->refused++;
		else if (errno == EINPROGRESS)
			c->connected++;	/* waits for room: fine */
		else
			c->other++;
		close(fd);
	}
}

/*
 * Connectors on one CPU, and on the other a listener with a small backlog
 * that accepts some and closes with a full accept queue and waiting
 * connectors. Every connect ends in a documented result and every socket
 * is freed (the module unloads at the end of the run).
 */
TEST_F_TIMEOUT(race, listener_close_against_connectors, RACE_TIMEOUT)
{
	double end = now_s() + race_seconds(), t0 = now_s();
	struct connector_arg c = { .n = 16 };
	long iters = 0, conns = 0, other = 0;
	struct race r;
	int l, a, i;

	ASSERT_EQ(0, race_start(&r, connect_many));
	while (now_s() < end) {
		l = afx_listener(SOCK_STREAM, 2, &c.port);
		ASSERT_LE(0, l);
		afx_set_nonblock(l, 1);
		race_go(&r, ++iters, &c);
		for (i = 0; i < (int)(iters % 4); i++) {
			a = accept(l, NULL, NULL);
			if (a >= 0)
				close(a);
		}
		close(l);
		race_wait(&r, iters);
		conns += c.connected + c.refused;
		other += c.other;
	}
	race_stop(&r);
	TH_LOG("%ld listeners, %ld connects, %.0f connects/s, %ld odd results",
	       iters, conns, conns / (now_s() - t0), other);
	ASSERT_LT(0, iters);
	EXPECT_EQ(0, other);
}

/* ---- datagram: connect and disconnect against sendto ---------------------- */

struct dgram_arg {
	int fd;
	uint32_t port_a, port_b;
	long flips;
};

/* The worker: the receiver connects to A, to B, and disconnects, in turn. */
static void flip_filter(void *p)
{
	struct dgram_arg *d = p;
	struct sockaddr_x sx;
	long i;

	for (i = 0; i < 64; i++) {
		switch ((d->flips + i) % 3) {
		case 0:
			afx_connect_port(d->fd, d->port_a);
			break;
		case 1:
			afx_connect_port(d->fd, d->port_b);
			break;
		default:
			memset(&sx, 0, sizeof(sx));
			sx.sx_family = AF_UNSPEC;
			connect(d->fd, AFX_SA(&sx), sizeof(sx));
		}
	}
	d->flips += 64;
}

/*
 * A receiver changes whom it is connected to while two senders send to
 * it: every send is delivered whole (and then read back whole, from the
 * sender it names) or refused with ECONNREFUSED; nothing else.
 */
TEST_F_TIMEOUT(race, dgram_connect_disconnect_against_sendto, RACE_TIMEOUT)
{
	double end = now_s() + race_seconds(), t0 = now_s();
	long iters = 0, sent = 0, refused = 0, odd = 0, rcvd = 0;
	struct dgram_arg d = { 0 };
	int rx, tx[2], i, k;
	struct sockaddr_x from;
	unsigned char buf[256];
	socklen_t fl;
	struct race r;
	ssize_t n;
	uint32_t rport;

	rx = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, rx);
	ASSERT_EQ(0, afx_bind(rx, AFX_ADDR_ANY, 0));
	rport = (uint32_t)afx_local_port(rx);
	for (i = 0; i < 2; i++) {
		tx[i] = afx_socket(SOCK_DGRAM);
		ASSERT_LE(0, tx[i]);
		ASSERT_EQ(0, afx_bind(tx[i], AFX_ADDR_ANY, 0));
	}
	d.fd = rx;
	d.port_a = (uint32_t)afx_local_port(tx[0]);
	d.port_b = (uint32_t)afx_local_port(tx[1]);
	ASSERT_EQ(0, race_start(&r, flip_filter));
	while (now_s() < end) {
		race_go(&r, ++iters, &d);
		for (k = 0; k < 64; k++) {
			i = k & 1;
			memset(buf, 'a' + i, sizeof(buf));
			struct sockaddr_x to = afx_sockaddr(AFX_ADDR_LOCAL, rport);

			n = sendto(tx[i], buf, 1 + k, MSG_DONTWAIT, AFX_SA(&to),
				   AFX_ADDRLEN);
			if (n == 1 + k)
				sent++;
			else if (n < 0 && (errno == ECONNREFUSED ||
					   errno == EAGAIN))
				refused++;
			else
				odd++;
		}
		race_wait(&r, iters);
		for (;;) {
			fl = sizeof(from);
			n = recvfrom(rx, buf, sizeof(buf), MSG_DONTWAIT,
				     AFX_SA(&from), &fl);
			if (n < 0)
				break;
			rcvd++;
			/* Whole: 1 + k bytes of the sender's letter. */
			i = from.sx_port == d.port_a ? 0 : 1;
			if (n < 1 || n > 64 || buf[0] != 'a' + i ||
			    buf[n - 1] != 'a' + i || ((n - 1) & 1) != i)
				odd++;
		}
	}
	race_stop(&r);
	TH_LOG("%ld rounds, %ld sent, %ld refused, %ld received, %.0f sends/s, %ld odd",
	       iters, sent, refused, rcvd, (sent + refused) / (now_s() - t0), odd);
	ASSERT_LT(0, sent);
	EXPECT_EQ(sent, rcvd);
	EXPECT_EQ(0, odd);
	close(rx);
	close(tx[0]);
	close(tx[1]);
}

/* ---- datagram: broadcast against receivers closing ------------------------ */

struct bcast_arg {
	uint32_t port;
	long made;
};

/* The worker: receivers on the port come and go. */
static void churn_receivers(void *p)
{
	struct bcast_arg *b = p;
	int fds[8], i, one = 1;

	for (i = 0; i < 8; i++) {
		fds[i] = afx_socket(SOCK_DGRAM);
		if (fds[i] < 0)
			abort();
		setsockopt(fds[i], SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (afx_bind(fds[i], AFX_ADDR_ANY, b->port) == 0)
			b->made++;
	}
	for (i = 0; i < 8; i++)
		close(fds[i]);
}

/*
 * Broadcasts to a port whose receivers are created and closed on the
 * other CPU: no send fails with anything but a documented errno, and a
 * standing receiver gets each datagram whole.
 */
TEST_F_TIMEOUT(race, broadcast_against_receivers_closing, RACE_TIMEOUT)
{
	double end = now_s() + race_seconds(), t0 = now_s();
	long iters = 0, sent = 0, odd = 0, rcvd = 0;
	struct bcast_arg b = { 0 };
	int tx, rx, one = 1, k;
	unsigned char buf[512];
	struct sockaddr_x to;
	struct race r;
	ssize_t n;

	rx = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, rx);
	ASSERT_EQ(0, setsockopt(rx, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)));
	ASSERT_EQ(0, afx_bind(rx, AFX_ADDR_ANY, 0));
	b.port = (uint32_t)afx_local_port(rx);
	tx = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, tx);
	ASSERT_EQ(0, setsockopt(tx, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)));
	to = afx_sockaddr(AFX_ADDR_BROADCAST, b.port);
	ASSERT_EQ(0, race_start(&r, churn_receivers));
	while (now_s() < end) {
		race_go(&r, ++iters, &b);
		for (k = 0; k < 16; k++) {
			memset(buf, k, 100 + k);
			n = sendto(tx, buf, 100 + k, 0, AFX_SA(&to), AFX_ADDRLEN);
			if (n == 100 + k)
				sent++;
			else
				odd++;
		}
		race_wait(&r, iters);
		while ((n = recv(rx, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
			rcvd++;
			if (n < 100 || n > 115 || buf[0] != n - 100 ||
			    buf[n - 1] != n - 100)
				odd++;
		}
	}
	race_stop(&r);
	TH_LOG("%ld rounds, %ld broadcasts, %ld received by the standing receiver, %ld receivers churned, %.0f/s, %ld odd",
	       iters, sent, rcvd, b.made, sent / (now_s() - t0), odd);
	ASSERT_LT(0, sent);
	EXPECT_EQ(0, odd);
	EXPECT_LT(0, rcvd);
	close(rx);
	close(tx);
}

/* ---- datagram: senders and a reader on two CPUs --------------------------- */

/* Datagram @seq of sender @who: its length and its bytes. */
static size_t dg_len(uint32_t seq)
{
	return 5 + (seq * 7919U) % 1400U;
}

static void dg_fill(unsigned char *buf, unsigned char who, uint32_t seq)
{
	size_t i, len = dg_len(seq);

	memcpy(buf, &seq, 4);
	buf[4] = who;
	for (i = 5; i < len; i++)
		buf[i] = (unsigned char)(seq * 7 + who + i);
}

/* Is @buf (@n bytes) datagram @seq of sender @who, whole? */
static bool dg_ok(const unsigned char *buf, ssize_t n, unsigned char who,
		  uint32_t seq)
{
	unsigned char want[1500];

	if (n < 5 || (size_t)n != dg_len(seq))
		return false;
	dg_fill(want, who, seq);
	return !memcmp(buf, want, n);
}

struct senders_arg {
	int fd;
	uint32_t port;
	uint32_t seq;
};

/* The worker: 64 numbered datagrams, blocking sends. */
static void send_numbered(void *p)
{
	struct senders_arg *a = p;
	unsigned char buf[1500];
	struct sockaddr_x to = afx_sockaddr(AFX_ADDR_LOCAL, a->port);
	int k;

	for (k = 0; k < 64; k++) {
		dg_fill(buf, 0, a->seq);
		if (sendto(a->fd, buf, dg_len(a->seq), 0, AFX_SA(&to),
			   AFX_ADDRLEN) != (ssize_t)dg_len(a->seq))
			abort();
		a->seq++;
	}
}

/*
 * Two senders push into one receiver's ring, one on each CPU, while the
 * receiver reads on one of them: every datagram arrives whole, once, and
 * in its sender's order (the producer lock, the whole-record publication
 * and the reader's copy-then-consume).
 */
TEST_F_TIMEOUT(race, dgram_two_senders_against_reader, RACE_TIMEOUT)
{
	double end = now_s() + race_seconds(), t0 = now_s();
	uint32_t next[2] = { 0, 0 }, seq1 = 0;
	long iters = 0, rcvd = 0, odd = 0, eagain = 0;
	struct senders_arg a = { 0 };
	unsigned char buf[2048];
	struct sockaddr_x from, to;
	int rx, tx[2], i, k;
	uint32_t port[2], seq;
	socklen_t fl;
	struct race r;
	ssize_t n;

	rx = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, rx);
	ASSERT_EQ(0, afx_bind(rx, AFX_ADDR_ANY, 0));
	for (i = 0; i < 2; i++) {
		tx[i] = afx_socket(SOCK_DGRAM);
		ASSERT_LE(0, tx[i]);
		ASSERT_EQ(0, afx_bind(tx[i], AFX_ADDR_ANY, 0));
		port[i] = (uint32_t)afx_local_port(tx[i]);
	}
	a.fd = tx[0];
	a.port = (uint32_t)afx_local_port(rx);
	to = afx_sockaddr(AFX_ADDR_LOCAL, a.port);
	ASSERT_EQ(0, race_start(&r, send_numbered));
	while (now_s() < end) {
		race_go(&r, ++iters, &a);
		/* Send and read by turns until the worker is done, then drain. */
		for (k = 0; ; k++) {
			bool done = atomic_load(&r.done) == iters;

			if (k < 64) {
				dg_fill(buf, 1, seq1);
				n = sendto(tx[1], buf, dg_len(seq1), MSG_DONTWAIT,
					   AFX_SA(&to), AFX_ADDRLEN);
				if (n == (ssize_t)dg_len(seq1))
					seq1++;
				else if (n < 0 && errno == EAGAIN)
					eagain++;
				else
					odd++;
			}
			fl = sizeof(from);
			n = recvfrom(rx, buf, sizeof(buf), MSG_DONTWAIT,
				     AFX_SA(&from), &fl);
			if (n < 0) {
				if (errno != EAGAIN)
					odd++;
				if (done && k >= 64)
					break;
				continue;
			}
			rcvd++;
			i = from.sx_port == port[1];
			memcpy(&seq, buf, 4);
			if (from.sx_port != port[i] || seq != next[i] ||
			    !dg_ok(buf, n, (unsigned char)i, seq))
				odd++;
			next[i] = seq + 1;
		}
	}
	race_stop(&r);
	TH_LOG("%ld rounds, %ld received, %u + %u sent, %ld EAGAIN, %.0f/s, %ld odd",
	       iters, rcvd, a.seq, seq1, eagain, rcvd / (now_s() - t0), odd);
	EXPECT_EQ(0, odd);
	EXPECT_EQ(a.seq, next[0]);
	EXPECT_EQ(seq1, next[1]);
	EXPECT_EQ((long)(a.seq + seq1), rcvd);
	close(rx);
	close(tx[0]);
	close(tx[1]);
}

/* ---- seqpacket: two writers on one socket, a reader on two CPUs ---------- */

struct seq_writer_arg {
	int fd;
	uint32_t seq;
	long odd;
};

/* The worker: 64 numbered messages of sender 0, blocking sends. */
static void seq_send_numbered(void *p)
{
	struct seq_writer_arg *a = p;
	unsigned char buf[1500];
	int k;

	for (k = 0; k < 64; k++) {
		dg_fill(buf, 0, a->seq);
		if (send(a->fd, buf, dg_len(a->seq), MSG_NOSIGNAL) !=
		    (ssize_t)dg_len(a->seq)) {
			a->odd++;
			return;
		}
		a->seq++;
	}
}

/*
 * Two threads send messages on the same seqpacket socket, one on each
 * CPU, into a buffer small enough that both keep waiting for room, while
 * the main thread also reads: every message arrives whole, once and in its
 * sender's order, never interleaved with the other's (the writers' lock,
 * the whole-record publication and the wait for room of a whole message).
 */
TEST_F_TIMEOUT(race, seqpacket_two_writers_against_reader, RACE_TIMEOUT)
{
	double end = now_s() + race_seconds(), t0 = now_s();
	long iters = 0, rcvd = 0, odd = 0, eagain = 0;
	uint32_t next[2] = { 0, 0 }, seq1 = 0, seq;
	struct seq_writer_arg a = { 0 };
	unsigned char buf[2048];
	int sv[2], size = 4096, k, i;
	struct race r;
	ssize_t n;

	ASSERT_EQ(0, socketpair(afx_family(), SOCK_SEQPACKET, 0, sv));
	ASSERT_EQ(0, setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &size,
				sizeof(size)));
	a.fd = sv[0];
	ASSERT_EQ(0, race_start(&r, seq_send_numbered));
	while (now_s() < end) {
		race_go(&r, ++iters, &a);
		for (k = 0; ; k++) {
			bool done = atomic_load(&r.done) == iters;

			if (k < 64) {
				dg_fill(buf, 1, seq1);
				n = send(sv[0], buf, dg_len(seq1),
					 MSG_DONTWAIT | MSG_NOSIGNAL);
				if (n == (ssize_t)dg_len(seq1))
					seq1++;
				else if (n < 0 && errno == EAGAIN)
					eagain++;
				else
					odd++;
			}
			n = recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT);
			if (n < 0) {
				if (errno != EAGAIN)
					odd++;
				if (done && k >= 64)
					break;
				continue;
			}
			rcvd++;
			i = n >= 5 && buf[4] == 1;
			memcpy(&seq, buf, 4);
			if (n < 5 || seq != next[i] ||
			    !dg_ok(buf, n, (unsigned char)i, seq))
				odd++;
			next[i] = seq + 1;
		}
	}
	race_stop(&r);
	TH_LOG("%ld rounds, %ld received, %u + %u sent, %ld EAGAIN, %.0f/s, %ld odd",
	       iters, rcvd, a.seq, seq1, eagain, rcvd / (now_s() - t0),
	       odd + a.odd);
	EXPECT_EQ(0, odd);
	EXPECT_EQ(0, a.odd);
	EXPECT_EQ(a.seq, next[0]);
	EXPECT_EQ(seq1, next[1]);
	EXPECT_EQ((long)(a.seq + seq1), rcvd);
	close(sv[0]);
	close(sv[1]);
}

struct shut_arg {
	int fd;
	uint32_t port;
	uint32_t sent;
	long odd;
};

/* The worker: numbered datagrams until the receiver refuses them. */
static void send_until_refused(void *p)
{
	struct shut_arg *a = p;
	struct sockaddr_x to = afx_sockaddr(AFX_ADDR_LOCAL, a->port);
	unsigned char buf[1500];
	ssize_t n;

	for (;;) {
		dg_fill(buf, 0, a->sent);
		n = sendto(a->fd, buf, dg_len(a->sent), MSG_DONTWAIT,
			   AFX_SA(&to), AFX_ADDRLEN);
		if (n == (ssize_t)dg_len(a->sent))
			__atomic_store_n(&a->sent, a->sent + 1, __ATOMIC_RELEASE);
		else if (n < 0 && errno == ECONNREFUSED)
			return;
		else if (!(n < 0 && errno == EAGAIN))
			a->odd++;
	}
}

/*
 * A receiver shuts down reading on one CPU while a sender pushes on the
 * other: every send that succeeded is read back, whole and in order,
 * before the end (0), and nothing is read after it.
 */
TEST_F_TIMEOUT(race, dgram_shutdown_rd_against_sender, RACE_TIMEOUT)
{
	double end = now_s() + race_seconds(), t0 = now_s();
	long iters = 0, rcvd = 0, odd = 0, spin;
	struct shut_arg a = { 0 };
	unsigned char buf[2048];
	uint32_t seq, next;
	struct race r;
	int rx, k;
	ssize_t n;

	a.fd = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, a.fd);
	ASSERT_EQ(0, afx_bind(a.fd, AFX_ADDR_ANY, 0));
	ASSERT_EQ(0, race_start(&r, send_until_refused));
	while (now_s() < end) {
		rx = afx_socket(SOCK_DGRAM);
		ASSERT_LE(0, rx);
		ASSERT_EQ(0, afx_bind(rx, AFX_ADDR_ANY, 0));
		a.port = (uint32_t)afx_local_port(rx);
		a.sent = 0;
		race_go(&r, ++iters, &a);
		/*
		 * Every other round, let the sender get a datagram in first:
		 * on a slow (debug) kernel the spin alone may always end
		 * before its first send, and the test then races nothing.
		 */
		while ((iters & 1) && !__atomic_load_n(&a.sent, __ATOMIC_ACQUIRE))
			;
		for (spin = random() % 20000; spin > 0; spin--)
			__asm__ __volatile__("" ::: "memory");
		ASSERT_EQ(0, shutdown(rx, SHUT_RD));
		for (next = 0;; next++) {
			n = recv(rx, buf, sizeof(buf), MSG_DONTWAIT);
			if (n == 0)
				break;
			memcpy(&seq, buf, 4);
			if (n < 0 || seq != next || !dg_ok(buf, n, 0, seq)) {
				odd++;
				break;
			}
			rcvd++;
		}
		race_wait(&r, iters);
		/* The end stays the end; what was sent was read. */
		for (k = 0; k < 4; k++)
			if (recv(rx, buf, sizeof(buf), MSG_DONTWAIT) != 0)
				odd++;
		if (next != a.sent)
			odd++;
		close(rx);
	}
	race_stop(&r);
	TH_LOG("%ld rounds, %ld read before the end, %.0f rounds/s, %ld odd",
	       iters, rcvd, iters / (now_s() - t0), odd + a.odd);
	EXPECT_EQ(0, odd);
	EXPECT_EQ(0, a.odd);
	EXPECT_LT(0, rcvd);
	close(a.fd);
}

/* ---- stream: SO_RCVLOWAT and small writes --------------------------------- */

/*
 * A low-water mark above what SO_RCVBUF can hold (small writes also pay
 * buffer overhead): once the writer can queue no more, poll() must still
 * report POLLIN, or the reader waits for bytes that can never come.
 */
#define HUGE_LOWAT	(1 << 30)

/* A small receive buffer: full after a few thousand one-byte writes. */
static int small_rcvbuf(int fd)
{
	int size = 4096;

	return setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
}

TEST(rcvlowat_poll_reports_data_a_full_queue_holds)
{
	int fds[2], lowat = HUGE_LOWAT;
	long queued = 0;
	char b = 'y';

	ASSERT_EQ(0, afx_stream_pair(fds));
	ASSERT_EQ(0, small_rcvbuf(fds[1]));
	ASSERT_EQ(0, setsockopt(fds[1], SOL_SOCKET, SO_RCVLOWAT, &lowat,
				sizeof(lowat)));
	while (send(fds[0], &b, 1, MSG_DONTWAIT) == 1)
		queued++;
	ASSERT_EQ(EAGAIN, errno);
	TH_LOG("%ld one-byte writes queued before EAGAIN", queued);
	ASSERT_LT(0, queued);
	ASSERT_GT(lowat, queued);
	ASSERT_EQ(POLLIN, afx_poll(fds[1], POLLIN, 2000) & POLLIN);
	close(fds[0]);
	close(fds[1]);
}

struct writer_arg {
	int fd;
	long count;
	long sent;
};

static void *one_byte_writer(void *p)
{
	struct writer_arg *w = p;
	char b;

	pin_to_cpu(1);
	for (w->sent = 0; w->sent < w->count; w->sent++) {
		b = (char)(w->sent % 251);
		if (send(w->fd, &b, 1, MSG_NOSIGNAL) != 1)
			break;
	}
	/* Less than SO_RCVLOWAT may be left: EOF makes it readable. */
	shutdown(w->fd, SHUT_WR);
	return NULL;
}

/* The same with a blocking writer on another CPU: every byte, in order. */
TEST_F_TIMEOUT(race, rcvlowat_poll_loop_receives_every_small_write,
	       RACE_TIMEOUT)
{
	struct writer_arg w = { .count = 40000 };	/* several times what fits */
	int fds[2], lowat = HUGE_LOWAT, rev;
	long got = 0, i;
	pthread_t t;
	char buf[4096];
	ssize_t n;

	ASSERT_EQ(0, afx_stream_pair(fds));
	ASSERT_EQ(0, small_rcvbuf(fds[1]));
	ASSERT_EQ(0, setsockopt(fds[1], SOL_SOCKET, SO_RCVLOWAT, &lowat,
				sizeof(lowat)));
	w.fd = fds[0];
	pin_to_cpu(0);
	ASSERT_EQ(0, pthread_create(&t, NULL, one_byte_writer, &w));
	for (;;) {
		rev = afx_poll(fds[1], POLLIN, 5000);
		ASSERT_EQ(POLLIN, rev & POLLIN) TH_LOG("poll stuck at %ld bytes", got);
		n = recv(fds[1], buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0)
			break;
		ASSERT_LT(0, n);
		for (i = 0; i < n; i++)
			ASSERT_EQ((char)((got + i) % 251), buf[i]);
		got += n;
	}
	pthread_join(t, NULL);
	EXPECT_EQ(w.count, w.sent);
	EXPECT_EQ(w.count, got);
	close(fds[0]);
	close(fds[1]);
}

/* ---- stream: one socket's own calls against each other -------------------- */

/*
 * A connected stream socket's sendmsg(), recvmsg() and shutdown() run
 * without the socket lock, each direction under its own lock (DOC: Data):
 * these races are between calls on the same socket, from two CPUs.
 */

struct send_once_arg {
	int fd;
	size_t len;
	atomic_int started;
	ssize_t ret;
	int err;
};

/* The worker: one send of a pattern, within the room the peer has. */
static void send_pattern_once(void *p)
{
	struct send_once_arg *a = p;
	static unsigned char buf[48 * 1024];

	afx_fill_pattern(buf, a->len, 0);
	atomic_store(&a->started, 1);
	a->ret = send(a->fd, buf, a->len, MSG_NOSIGNAL);
	a->err = a->ret < 0 ? errno : 0;
}

/*
 * shutdown(SHUT_WR) on the CPU next to a send in progress on the same
 * socket: the reader sees exactly the bytes send() reported, then EOF;
 * never EOF before bytes a send was still queueing.
 */
TEST_F_TIMEOUT(race, shut_wr_against_send_on_same_socket, RACE_TIMEOUT)
{
	double end = now_s() + race_seconds(), t0 = now_s();
	long iters = 0, bad = 0, refused = 0;
	struct send_once_arg arg;
	unsigned char buf[8192];
	volatile long spin;
	uint64_t got;
	struct race r;
	int fds[2];
	ssize_t n;

	ASSERT_EQ(0, race_start(&r, send_pattern_once));
	while (now_s() < end) {
		ASSERT_EQ(0, afx_stream_pair(fds));
		arg.fd = fds[0];
		arg.len = 1 + (size_t)(iters * 7919) % (48 * 1024);
		atomic_store(&arg.started, 0);
		race_go(&r, ++iters, &arg);
		/* Shut down at a different point of the send each time. */
		while (!atomic_load(&arg.started))
			;
		for (spin = iters % 4096; spin > 0; spin--)
			;
		ASSERT_EQ(0, shutdown(fds[0], SHUT_WR));
		got = 0;
		while ((n = recv(fds[1], buf, sizeof(buf), 0)) > 0) {
			if (afx_check_pattern(buf, n, got) != (size_t)n)
				bad++;
			got += n;
		}
		race_wait(&r, iters);
		ASSERT_EQ(0, n) TH_LOG("iteration %ld: %s", iters, strerror(errno));
		if (arg.ret < 0) {
			ASSERT_EQ(EPIPE, arg.err);
			refused++;
		} else {
			ASSERT_EQ(arg.len, (size_t)arg.ret);
		}
		if (got != (uint64_t)(arg.ret < 0 ? 0 : arg.ret))
			bad++;
		close(fds[0]);
		close(fds[1]);
	}
	race_stop(&r);
	TH_LOG("%ld streams, %.0f/s, %ld sends refused, %ld with EOF out of place",
	       iters, iters / (now_s() - t0), refused, bad);
	ASSERT_LT(0, iters);
	EXPECT_EQ(0, bad);
}

/* Echo everything read on @fd back to it until EOF. */
static void *echo_until_eof(void *p)
{
	int fd = *(int *)p;
	char buf[3000];
	ssize_t n, w, off;

	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
		for (off = 0; off < n; off += w) {
			w = send(fd, buf + off, n - off, MSG_NOSIGNAL);
			if (w <= 0)
				return NULL;
		}
	shutdown(fd, SHUT_WR);
	return NULL;
}

/* The worker: a pattern stream in writes of random size, then SHUT_WR. */
static void send_pattern_then_shut(void *p)
{
	struct stream_arg *a = p;

	a->close_after = false;
	send_pattern_then_end(a);
}

/*
 * One socket sends on one CPU and receives on the other at once, through
 * an echo at the far end: both directions move every byte, in order, and
 * neither side's sleep swallows the other's wakeup (a lost one hangs the
 * test until its time limit).
 */
TEST_F_TIMEOUT(race, send_and_recv_on_one_socket_at_once, RACE_TIMEOUT)
{
	double end = now_s() + race_seconds(), t0 = now_s();
	struct stream_arg arg = { .seed = 7 };
	long iters = 0, bad = 0;
	unsigned char buf[5000];
	uint64_t got, total = 0;
	pthread_t echo;
	struct race r;
	int fds[2];
	ssize_t n;

	ASSERT_EQ(0, race_start(&r, send_pattern_then_shut));
	while (now_s() < end) {
		ASSERT_EQ(0, afx_stream_pair(fds));
		ASSERT_EQ(0, pthread_create(&echo, NULL, echo_until_eof, &fds[1]));
		arg.fd = fds[0];
		/* More than both buffers hold: the sender must wait for room. */
		arg.len = 1 + (size_t)(iters * 104729) % (256 * 1024);
		race_go(&r, ++iters, &arg);
		got = 0;
		while ((n = recv(fds[0], buf, 1 + iters % sizeof(buf), 0)) > 0) {
			if (afx_check_pattern(buf, n, got) != (size_t)n)
				bad++;
			got += n;
		}
		race_wait(&r, iters);
		ASSERT_EQ(0, pthread_join(echo, NULL));
		ASSERT_EQ(0, n) TH_LOG("iteration %ld: %s", iters, strerror(errno));
		if (got != arg.len)
			bad++;
		total += got;
		close(fds[0]);
		close(fds[1]);
	}
	race_stop(&r);
	TH_LOG("%ld streams, %.0f/s, %llu bytes each way, %ld broken", iters,
	       iters / (now_s() - t0), (unsigned long long)total, bad);
	ASSERT_LT(0, iters);
	EXPECT_EQ(0, bad);
}

/* Byte i of a counted stream is counted_out[i % its size]: i % 64 Ki % 251. */
static unsigned char counted_out[64 * 1024];

/* Write w->count bytes of the counted stream, then SHUT_WR. */
static void *write_counted(void *p)
{
	struct writer_arg *w = p;
	size_t off, n;
	ssize_t k;

	for (w->sent = 0; w->sent < w->count; w->sent += k) {
		off = w->sent % sizeof(counted_out);
		n = sizeof(counted_out) - off;
		if (n > (size_t)(w->count - w->sent))
			n = w->count - w->sent;
		k = send(w->fd, counted_out + off, n, MSG_NOSIGNAL);
		if (k <= 0)
			break;
	}
	shutdown(w->fd, SHUT_WR);
	return NULL;
}

struct reader_arg {
	int fd;
	unsigned char *buf;	/* bufmin + bufspan - 1 bytes */
	size_t bufmin, bufspan;
	uint64_t hist[256];
	uint64_t bytes;
};

/*
 * The worker: read until EOF with reads of bufmin to bufmin + bufspan - 1
 * bytes, counting each byte value.
 */
static void read_counting(void *p)
{
	struct reader_arg *a = p;
	ssize_t n, i;

	while ((n = recv(a->fd, a->buf, a->bufmin + a->bytes % a->bufspan,
			 0)) > 0) {
		for (i = 0; i < n; i++)
			a->hist[a->buf[i]]++;
		a->bytes += n;
	}
}

/*
 * Two readers of one socket on two CPUs, with reads of bufmin to bufmin +
 * bufspan - 1 bytes, share streams of up to maxlen bytes for
 * AFX_RACE_SECONDS: each byte reaches exactly one of them (the byte
 * values, counted, add up to what was sent), and both see EOF. Return:
 * the streams that broke that, plus one if the rig itself failed;
 * *iters: the streams run.
 */
static long two_readers_run(struct __test_metadata *_metadata, size_t bufmin,
			    size_t bufspan, size_t maxlen, long *iters)
{
	static unsigned char bufs[2][1024 * 1024];
	double end = now_s() + race_seconds();
	struct reader_arg mine, theirs;
	uint64_t want[256];
	size_t len, i, off;
	struct writer_arg w;
	pthread_t writer;
	struct race r;
	long bad = 0;
	int fds[2];

	for (i = 0; i < sizeof(counted_out); i++)
		counted_out[i] = i % 251;
	*iters = 0;
	if (race_start(&r, read_counting))
		return 1;
	while (now_s() < end) {
		if (afx_stream_pair(fds)) {
			bad++;	/* setup failed: the test fails */
			break;
		}
		len = 1 + (size_t)(*iters * 7919) % maxlen;
		memset(&mine, 0, sizeof(mine));
		memset(&theirs, 0, sizeof(theirs));
		mine.fd = theirs.fd = fds[1];
		mine.buf = bufs[0];
		theirs.buf = bufs[1];
		mine.bufmin = theirs.bufmin = bufmin;
		mine.bufspan = theirs.bufspan = bufspan;
		w.fd = fds[0];
		w.count = len;
		if (pthread_create(&writer, NULL, write_counted, &w)) {
			bad++;
			close(fds[0]);
			close(fds[1]);
			break;
		}
		race_go(&r, ++*iters, &theirs);
		read_counting(&mine);
		race_wait(&r, *iters);
		pthread_join(writer, NULL);
		if (w.sent != (long)len)
			bad++;
		memset(want, 0, sizeof(want));
		for (off = 0; off < len; off++)
			want[off % sizeof(counted_out) % 251]++;
		for (i = 0; i < 256; i++)
			if (mine.hist[i] + theirs.hist[i] != want[i])
				bad++;
		if (mine.bytes + theirs.bytes != len)
			bad++;
		close(fds[0]);
		close(fds[1]);
	}
	race_stop(&r);
	return bad;
}

/* Small reads: every byte goes through the ring. */
TEST_F_TIMEOUT(race, two_readers_get_each_byte_once, RACE_TIMEOUT)
{
	double t0 = now_s();
	long iters, bad;

	bad = two_readers_run(_metadata, 1, 777, 2 * 1024 * 1024, &iters);
	TH_LOG("%ld streams, %.0f/s, %ld broken", iters,
	       iters / (now_s() - t0), bad);
	ASSERT_LT(0, iters);
	EXPECT_EQ(0, bad);
}

/* ---- stream: direct copies into a waiting reader ---------------------- */

static unsigned long long direct_bytes(void)
{
	unsigned long long v[NSTATS];

	return stats_read(v) ? 0 : v[S_BDIRECT];
}

struct big_writer {
	int fd;
	uint64_t count;
	uint64_t sent;
	unsigned int seed;
	unsigned int writes;
};

/* Write w->count pattern bytes in writes of 1 B to 200 KiB, then SHUT_WR. */
static void *write_big(void *p)
{
	static unsigned char buf[200 * 1024];
	struct big_writer *w = p;
	size_t n;

	for (w->sent = 0; w->sent < w->count; w->sent += n) {
		w->seed = w->seed * 1103515245u + 12345u;
		n = (w->seed >> 4) % 8 ? 16 * 1024 + (w->seed >> 8) % (184 * 1024) :
					 1 + (w->seed >> 8) % 4096;
		if (n > w->count - w->sent)
			n = w->count - w->sent;
		afx_fill_pattern(buf, n, w->sent);
		/*
		 * Pauses around the reader's 1 ms timeout (a tick or more in
		 * the kernel), and every 8th write one of 12 ms, which the
		 * reader's wait cannot outlast.
		 */
		if (++w->writes % 8 == 0 || (w->seed >> 12) % 4 == 0) {
			double until = now_s() + (w->writes % 8 == 0 ? 0.012 :
				((w->seed >> 14) % 2000) / 1e6);

			while (now_s() < until)
				;
		}
		if (afx_send_all(w->fd, buf, n))
			break;
	}
	shutdown(w->fd, SHUT_WR);
	return NULL;
}

struct timed_reader {
	int fd;
	uint64_t got;
	long timeouts;
	long bad;
};

/*
 * The worker: read until EOF with buffers of 16 KiB to 1 MiB, checking
 * that every byte is the next of the pattern; EAGAIN (SO_RCVTIMEO) is
 * retried.
 */
static void read_big_in_order(void *p)
{
	static unsigned char buf[1024 * 1024];
	struct timed_reader *a = p;
	unsigned int seed = 99;
	ssize_t n;

	for (;;) {
		seed = seed * 1103515245u + 12345u;
		n = recv(a->fd, buf, 16 * 1024 + (seed >> 8) % (1008 * 1024), 0);
		if (n < 0 && errno == EAGAIN) {
			a->timeouts++;
			continue;
		}
		if (n <= 0)
			break;
		if (afx_check_pattern(buf, n, a->got) != (size_t)n)
			a->bad++;
		a->got += n;
	}
}

/*
 * A reader on one CPU whose waits time out every millisecond, so that it
 * takes its posted buffer back while the writer on the other CPU may be
 * copying into it: every byte arrives once and in order, direct or
 * through the ring, then EOF.
 */
TEST_F_TIMEOUT(race, direct_copy_against_reader_timeouts, RACE_TIMEOUT)
{
	double end = now_s() + race_seconds(), t0 = now_s();
	struct timeval tv = { .tv_usec = 1000 };
	unsigned long long direct0 = direct_bytes();
	struct timed_reader rd;
	struct big_writer w;
	long iters = 0, bad = 0, timeouts = 0;
	uint64_t total = 0;
	pthread_t writer;
	struct race r;
	int fds[2];

	ASSERT_EQ(0, race_start(&r, read_big_in_order));
	while (now_s() < end) {
		ASSERT_EQ(0, afx_stream_pair(fds));
		ASSERT_EQ(0, setsockopt(fds[1], SOL_SOCKET, SO_RCVTIMEO, &tv,
					sizeof(tv)));
		memset(&rd, 0, sizeof(rd));
		rd.fd = fds[1];
		w.fd = fds[0];
		w.count = 1 + (uint64_t)(iters * 104729) % (4 * 1024 * 1024);
		w.seed = iters;
		w.writes = 0;
		race_go(&r, ++iters, &rd);
		ASSERT_EQ(0, pthread_create(&writer, NULL, write_big, &w));
		ASSERT_EQ(0, pthread_join(writer, NULL));
		race_wait(&r, iters);
		ASSERT_EQ(w.count, w.sent);
		if (rd.bad || rd.got != w.count)
			bad++;
		timeouts += rd.timeouts;
		total += rd.got;
		close(fds[0]);
		close(fds[1]);
	}
	race_stop(&r);
	TH_LOG("%ld streams, %.0f/s, %llu bytes, %llu direct, %ld timeouts, %ld broken",
	       iters, iters / (now_s() - t0), (unsigned long long)total,
	       direct_bytes() - direct0, timeouts, bad);
	ASSERT_LT(0, iters);
	EXPECT_EQ(0, bad);
	EXPECT_LT(direct0, direct_bytes());
	EXPECT_LT(0, timeouts);
}

/*
 * Large reads: one reader may be waiting with its buffer posted while the
 * other reads the ring.
 */
TEST_F_TIMEOUT(race, direct_copy_with_two_readers, RACE_TIMEOUT)
{
	unsigned long long direct0 = direct_bytes();
	double t0 = now_s();
	long iters, bad;

	bad = two_readers_run(_metadata, 16 * 1024, 496 * 1024,
			      4 * 1024 * 1024, &iters);
	TH_LOG("%ld streams, %.0f/s, %llu direct, %ld broken", iters,
	       iters / (now_s() - t0), direct_bytes() - direct0, bad);
	ASSERT_LT(0, iters);
	EXPECT_EQ(0, bad);
	EXPECT_LT(direct0, direct_bytes());
}

#define REC_SIZE	512
#define REC_COUNT	96	/* two writers' records fit the buffer: no waits */

struct rec_writer {
	int fd;
	int id;
	int failed;
};

/* Write REC_COUNT records of REC_SIZE bytes, each filled with (id, seq). */
static void write_records(void *p)
{
	struct rec_writer *w = p;
	unsigned char rec[REC_SIZE];
	int seq;

	for (seq = 0; seq < REC_COUNT; seq++) {
		memset(rec, (w->id << 7) | seq, sizeof(rec));
		if (send(w->fd, rec, sizeof(rec), MSG_NOSIGNAL | MSG_DONTWAIT) !=
		    (ssize_t)sizeof(rec))
			w->failed++;
	}
}

/*
 * Two threads send on one socket at once, on two CPUs: a send() that does
 * not wait for room puts its bytes in the stream in one piece, so each
 * record arrives whole, and each writer's records in its order.
 */
TEST_F_TIMEOUT(race, two_writers_keep_each_send_whole, RACE_TIMEOUT)
{
	double end = now_s() + race_seconds(), t0 = now_s();
	unsigned char buf[2 * REC_COUNT * REC_SIZE];
	struct rec_writer theirs = { .id = 1 }, mine = { .id = 0 };
	long iters = 0, bad = 0, mixed = 0;
	int next[2], fds[2], i, j, id, seq;
	struct race r;

	ASSERT_EQ(0, race_start(&r, write_records));
	while (now_s() < end) {
		ASSERT_EQ(0, afx_stream_pair(fds));
		theirs.fd = mine.fd = fds[0];
		theirs.failed = mine.failed = 0;
		race_go(&r, ++iters, &theirs);
		write_records(&mine);
		race_wait(&r, iters);
		ASSERT_EQ(0, mine.failed + theirs.failed);
		ASSERT_EQ((ssize_t)sizeof(buf),
			  recv(fds[1], buf, sizeof(buf), MSG_WAITALL));
		next[0] = next[1] = 0;
		for (i = 0; i < 2 * REC_COUNT; i++) {
			id = buf[i * REC_SIZE] >> 7;
			seq = buf[i * REC_SIZE] & 127;
			for (j = 1; j < REC_SIZE; j++)
				if (buf[i * REC_SIZE + j] != buf[i * REC_SIZE])
					break;
			if (j < REC_SIZE || seq != next[id]++)
				bad++;
			if (i && id != buf[(i - 1) * REC_SIZE] >> 7)
				mixed++;
		}
		close(fds[0]);
		close(fds[1]);
	}
	race_stop(&r);
	TH_LOG("%ld rounds, %.0f/s, %ld writer switches, %ld records broken",
	       iters, iters / (now_s() - t0), mixed, bad);
	ASSERT_LT(0, iters);
	EXPECT_EQ(0, bad);
}

/* ---- stream: ancillary data against a concurrent reader ------------------- */

#define ANC_WRITES	64

struct anc_writer {
	int fd;
	int efd;
	int failed;
};

/* The size of write @k of a round: 1 byte to about 7 KiB, crossing pages. */
static size_t anc_len(int k)
{
	return 1 + (size_t)k * 113 % 7000;
}

/*
 * Write ANC_WRITES writes, write k filled with k; the odd ones pass an
 * eventfd (SCM_RIGHTS), so every boundary is where what the bytes carry
 * changes. Then SHUT_WR.
 */
static void write_anc(void *p)
{
	static unsigned char buf[7001];
	struct anc_writer *w = p;
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov;
	struct msghdr mh;
	struct cmsghdr *c;
	size_t len, done;
	ssize_t n;
	int k;

	for (k = 0; k < ANC_WRITES; k++) {
		len = anc_len(k);
		memset(buf, k, len);
		for (done = 0; done < len; done += n) {
			memset(&mh, 0, sizeof(mh));
			iov.iov_base = buf + done;
			iov.iov_len = len - done;
			mh.msg_iov = &iov;
			mh.msg_iovlen = 1;
			if ((k & 1) && !done) {
				memset(&u, 0, sizeof(u));
				mh.msg_control = u.b;
				mh.msg_controllen = sizeof(u.b);
				c = CMSG_FIRSTHDR(&mh);
				c->cmsg_level = SOL_SOCKET;
				c->cmsg_type = SCM_RIGHTS;
				c->cmsg_len = CMSG_LEN(sizeof(int));
				memcpy(CMSG_DATA(c), &w->efd, sizeof(int));
			}
			n = sendmsg(w->fd, &mh, MSG_NOSIGNAL);
			if (n <= 0) {
				w->failed++;
				return;
			}
		}
	}
	shutdown(w->fd, SHUT_WR);
}

/*
 * A writer whose writes alternate between passing a file and not, on one
 * CPU, against a reader of random sizes on the other, with a small
 * receive buffer so that writers wait part-way: every read holds bytes of
 * one write only, the file comes exactly once per odd write, with the
 * read that starts it, and EOF only after the last byte.
 */
TEST_F_TIMEOUT(race, stream_files_never_merged_across_writes, RACE_TIMEOUT)
{
	double end = now_s() + race_seconds(), t0 = now_s();
	long iters = 0, merged = 0, misplaced = 0, lost = 0;
	struct anc_writer w = { 0 };
	unsigned char data[8192];
	size_t off, want;
	int fds[2], k, nfds;
	struct race r;
	ssize_t n;

	ASSERT_EQ(0, race_start(&r, write_anc));
	while (now_s() < end) {
		union {
			char b[CMSG_SPACE(sizeof(int) * 4)];
			struct cmsghdr align;
		} u;
		struct iovec iov;
		struct msghdr mh;
		struct cmsghdr *c;
		int files = 0, i;

		ASSERT_EQ(0, afx_stream_pair(fds));
		ASSERT_EQ(0, afx_set_int(fds[1], SOL_SOCKET, SO_RCVBUF, 8192));
		w.fd = fds[0];
		w.efd = eventfd(0, EFD_CLOEXEC);
		ASSERT_LE(0, w.efd);
		w.failed = 0;
		race_go(&r, ++iters, &w);
		k = 0;
		off = 0;
		for (;;) {
			want = 1 + (size_t)(random() % sizeof(data));
			memset(&mh, 0, sizeof(mh));
			iov.iov_base = data;
			iov.iov_len = want;
			mh.msg_iov = &iov;
			mh.msg_iovlen = 1;
			mh.msg_control = u.b;
			mh.msg_controllen = sizeof(u.b);
			n = recvmsg(fds[1], &mh, 0);
			ASSERT_LE(0, n) TH_LOG("recvmsg: %s", strerror(errno));
			if (!n)
				break;
			nfds = 0;
			for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
				if (c->cmsg_type != SCM_RIGHTS)
					continue;
				for (i = 0; i < (int)((c->cmsg_len - CMSG_LEN(0)) /
						      sizeof(int)); i++) {
					int fd;

					memcpy(&fd, CMSG_DATA(c) + i * sizeof(int),
					       sizeof(fd));
					close(fd);
					nfds++;
				}
			}
			files += nfds;
			if (nfds && (!(k & 1) || off || nfds != 1))
				misplaced++;
			if (!nfds && (k & 1) && !off)
				misplaced++;
			for (i = 0; i < n; i++)
				if (data[i] != (unsigned char)k)
					break;
			if (i < n || off + n > anc_len(k)) {
				merged++;
				break;
			}
			off += n;
			if (off == anc_len(k)) {
				k++;
				off = 0;
			}
		}
		/* A reader that stopped early lets a blocked writer go. */
		close(fds[1]);
		race_wait(&r, iters);
		if (!merged && (w.failed || k != ANC_WRITES ||
				files != ANC_WRITES / 2))
			lost++;
		close(w.efd);
		close(fds[0]);
		if (merged || misplaced || lost)
			break;
	}
	race_stop(&r);
	TH_LOG("%ld rounds, %.0f/s, %ld merged, %ld files misplaced, %ld rounds short",
	       iters, iters / (now_s() - t0), merged, misplaced, lost);
	ASSERT_LT(0, iters);
	EXPECT_EQ(0, merged);
	EXPECT_EQ(0, misplaced);
	EXPECT_EQ(0, lost);
}

/* ---- introspection against sockets dying ---------------------------------- */

#define WALK_MAX	4096	/* lines or diag entries one walk reads */

/*
 * Survivors that live through every walk: a stream pair with bytes unread
 * both ways (3 at sv[0], 5 at sv[1]) and a bound datagram socket.
 */
struct walker {
	int sv[2], dg;
	unsigned long ino[3];
	atomic_int stop;
	long walks, not_once, wrong_queues, errors;
	struct pline lines[WALK_MAX];
	struct dent dents[WALK_MAX];
};

static int survivor_lines(struct walker *w, unsigned long ino,
			  struct pline **found)
{
	int i, n = 0;

	for (i = 0; i < WALK_MAX; i++)
		if (w->lines[i].ino == ino && n++ == 0)
			*found = &w->lines[i];
	return n;
}

/*
 * The walker, on the other CPU: /proc/net/afx, then a sock_diag dump, in
 * a loop; every survivor must be in each exactly once, the stream pair
 * with its queues as they are (the peer's queue is read through the peer
 * link, without a lock).
 */
static void *walk_loop(void *p)
{
	struct walker *w = p;
	struct afx_diag_req req = diag_req(SHOW_ALL | AFX_DIAG_SHOW_PEER);
	struct pline *line;
	int i, n, k, seen;

	pin_to_cpu(1);
	while (!atomic_load(&w->stop)) {
		memset(w->lines, 0, sizeof(w->lines));
		n = proc_read(w->lines, WALK_MAX, NULL, 0);
		if (n < 0 || n > WALK_MAX) {
			w->errors++;
			continue;
		}
		for (i = 0; i < 3; i++) {
			line = NULL;
			if (survivor_lines(w, w->ino[i], &line) != 1) {
				w->not_once++;
				continue;
			}
			if (i < 2 && (line->rq != (i ? 5 : 3) ||
				      line->wq != (i ? 3 : 5)))
				w->wrong_queues++;
		}
		n = diag_query(&req, 1, w->dents, WALK_MAX);
		if (n < 0 || n > WALK_MAX) {
			w->errors++;
			continue;
		}
		for (i = 0; i < 3; i++) {
			for (seen = 0, k = 0; k < n; k++)
				seen += w->dents[k].m.adiag_ino == w->ino[i];
			w->not_once += seen != 1;
		}
		w->walks++;
	}
	return NULL;
}

/*
 * One round of deaths on this CPU: a connection closed from either end
 * after a byte each way; every 8th round also a listener that closes
 * with a child it never accepted (bytes queued at it) and a connector
 * waiting for room, and socketpairs of the message types closed with a
 * message unread.
 */
static int churn_round(int l, uint32_t port, long iter)
{
	int c, a, l2, c1, c2, sp[2], ok = 1;
	uint32_t port2;
	char b = 'c';

	c = afx_socket(SOCK_STREAM);
	if (c < 0 || afx_connect_port(c, port))
		return 0;
	a = accept(l, NULL, NULL);
	ok &= a >= 0 && send(c, &b, 1, 0) == 1 && recv(a, &b, 1, 0) == 1 &&
	      send(a, &b, 1, 0) == 1 && recv(c, &b, 1, 0) == 1;
	close(iter & 1 ? c : a);
	close(iter & 1 ? a : c);
	if (!ok || iter % 8)
		return ok;

	l2 = afx_listener(SOCK_STREAM, 1, &port2);
	c1 = afx_socket(SOCK_STREAM | SOCK_NONBLOCK);
	c2 = afx_socket(SOCK_STREAM | SOCK_NONBLOCK);
	ok &= l2 >= 0 && c1 >= 0 && c2 >= 0 &&
	      !afx_connect_port(c1, port2) && send(c1, &b, 1, 0) == 1 &&
	      afx_connect_port(c2, port2) == -1 && errno == EINPROGRESS;
	close(l2);
	close(c1);
	close(c2);
	ok &= !socketpair(afx_family(), SOCK_DGRAM, 0, sp) &&
	      send(sp[0], &b, 1, 0) == 1;
	close(sp[1]);
	close(sp[0]);
	ok &= !socketpair(afx_family(), SOCK_SEQPACKET, 0, sp) &&
	      send(sp[0], &b, 1, 0) == 1 && send(sp[1], &b, 1, 0) == 1;
	close(sp[0]);
	close(sp[1]);
	return ok;
}

/*
 * Sockets die (released, or dropped from a closing listener's queues)
 * while /proc/net/afx and sock_diag walk the namespace on the other CPU:
 * a walk must see every survivor once, read the queues of a peer it holds
 * no reference on correctly, and never touch a freed socket (the debug
 * kernels' KASAN watches that).
 */
TEST_F_TIMEOUT(race, introspection_against_sockets_dying, RACE_TIMEOUT)
{
	double end = now_s() + race_seconds(), t0 = now_s();
	static struct walker w;
	long iters = 0, failed = 0;
	pthread_t t;
	uint32_t port;
	int l;

	afx_diag_setup();
	memset(&w, 0, sizeof(w));
	ASSERT_EQ(0, afx_stream_pair_ex(SOCK_STREAM, NULL, &w.sv[0], &w.sv[1]));
	ASSERT_EQ(5, send(w.sv[0], "abcde", 5, 0));
	ASSERT_EQ(3, send(w.sv[1], "xyz", 3, 0));
	w.dg = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, w.dg);
	ASSERT_EQ(0, afx_bind(w.dg, AFX_ADDR_ANY, 0));
	w.ino[0] = ino_of(w.sv[0]);
	w.ino[1] = ino_of(w.sv[1]);
	w.ino[2] = ino_of(w.dg);
	l = afx_listener(SOCK_STREAM, 16, &port);
	ASSERT_LE(0, l);

	pin_to_cpu(0);
	ASSERT_EQ(0, pthread_create(&t, NULL, walk_loop, &w));
	while (now_s() < end)
		failed += !churn_round(l, port, ++iters);
	atomic_store(&w.stop, 1);
	pthread_join(t, NULL);
	close(l);
	close(w.sv[0]);
	close(w.sv[1]);
	close(w.dg);
	afx_diag_restore();
	TH_LOG("%ld rounds, %.0f/s; %ld walks: %ld survivors not seen once, %ld wrong queues, %ld errors",
	       iters, iters / (now_s() - t0), w.walks, w.not_once,
	       w.wrong_queues, w.errors);
	EXPECT_EQ(0, failed);
	ASSERT_LT(0, w.walks);
	EXPECT_EQ(0, w.not_once);
	EXPECT_EQ(0, w.wrong_queues);
	EXPECT_EQ(0, w.errors);
}

/* ---- stream: pages passing between buffers on both CPUs ------------------ */

#define SWAP_MAX	(64 * 1024)	/* fits a connection's buffer: no waits */

/**
 * struct swap - two connections an iteration, each written on one CPU and
 * read and closed on the other
 * @a: written by the test thread (CPU 0), read by the worker (CPU 1)
 * @b: written by the worker, read by the test thread
 * @len: bytes written into a and b
 * @keep: bytes read of a and b before closing them (the rest is purged)
 * @phase: 0 to write, 1 to read and close
 * @seed: the worker's random sizes
 * @bad: the worker's violations
 */
struct swap {
	int a[2], b[2];
	size_t len[2], keep[2];
	int phase;
	unsigned int seed;
	long bad;
};

/* Write @len pattern bytes to @fd in sends of 1 byte to 16 KiB. */
static long swap_write(int fd, size_t len, unsigned int *seed)
{
	static __thread unsigned char buf[16384];
	size_t off = 0, n;

	while (off < len) {
		n = 1 + rand_r(seed) % sizeof(buf);
		if (n > len - off)
			n = len - off;
		afx_fill_pattern(buf, n, off);
		if (send(fd, buf, n, MSG_DONTWAIT) != (ssize_t)n)
			return 1;
		off += n;
	}
	return 0;
}

/* Read @keep bytes of pair @fds, check them, close both ends. */
static long swap_read_close(int fds[2], size_t keep)
{
	static __thread unsigned char buf[16384];
	size_t got = 0, want;
	long bad = 0;
	ssize_t n;

	while (got < keep) {
		want = keep - got < sizeof(buf) ? keep - got : sizeof(buf);
		n = recv(fds[1], buf, want, MSG_DONTWAIT);
		if (n <= 0)
			return bad + 1;
		if (afx_check_pattern(buf, n, got) != (size_t)n)
			bad++;
		got += n;
	}
	close(fds[0]);
	close(fds[1]);
	return bad;
}

static void swap_work(void *p)
{
	struct swap *s = p;

	if (s->phase == 0)
		s->bad += swap_write(s->b[0], s->len[1], &s->seed);
	else
		s->bad += swap_read_close(s->a, s->keep[0]);
}

/*
 * Pages pass between buffers through per-CPU sets (DOC: Stream buffer):
 * here each CPU writes a connection while the other reads one and closes
 * it with bytes unread, so pages one CPU's buffers took come back to the
 * other's set and go to its next writer, while that CPU's own set is in
 * use. A page in two buffers at once, or one reused while still queued,
 * breaks a pattern.
 */
TEST_F_TIMEOUT(race, page_sets_on_both_cpus_keep_every_byte, RACE_TIMEOUT)
{
	double end = now_s() + race_seconds(), t0 = now_s();
	struct swap s = { .seed = 7 };
	unsigned int seed = 3;
	long iters = 0, bad = 0;
	uint64_t total = 0;
	struct race r;
	int i;

	ASSERT_EQ(0, race_start(&r, swap_work));
	while (now_s() < end) {
		ASSERT_EQ(0, afx_stream_pair(s.a));
		ASSERT_EQ(0, afx_stream_pair(s.b));
		for (i = 0; i < 2; i++) {
			s.len[i] = 1 + rand_r(&seed) % SWAP_MAX;
			s.keep[i] = rand_r(&seed) % (s.len[i] + 1);
			total += s.len[i];
		}
		s.phase = 0;
		race_go(&r, ++iters, &s);
		bad += swap_write(s.a[0], s.len[0], &seed);
		race_wait(&r, iters);
		s.phase = 1;
		race_go(&r, ++iters, &s);
		bad += swap_read_close(s.b, s.keep[1]);
		race_wait(&r, iters);
	}
	race_stop(&r);
	TH_LOG("%ld connections, %.0f/s, %llu bytes; %ld broken", iters,
	       iters / (now_s() - t0), (unsigned long long)total, bad + s.bad);
	ASSERT_LT(0, iters);
	EXPECT_EQ(0, bad + s.bad);
}

/* ---- stream: zero-length send after SHUT_WR ------------------------------- */

TEST(zero_length_send_after_shut_wr_epipe)
{
	int fds[2];

	ASSERT_EQ(0, afx_stream_pair(fds));
	ASSERT_EQ(0, send(fds[0], "", 0, MSG_NOSIGNAL));
	ASSERT_EQ(0, shutdown(fds[0], SHUT_WR));
	ASSERT_EQ(-1, send(fds[0], "", 0, MSG_NOSIGNAL));
	ASSERT_EQ(EPIPE, errno);
	close(fds[0]);
	close(fds[1]);
}

/* ---- datagram: POLLOUT when a full receiver shuts down reading ------------ */

struct poll_arg {
	atomic_int tid;
	int fd;
	int timeout_ms;
	int revents;
	_Atomic double waited;
};

static void *poll_out(void *p)
{
	struct poll_arg *pa = p;
	double t0 = now_s();

	atomic_store(&pa->tid, afx_gettid());
	pa->revents = afx_poll(pa->fd, POLLOUT, pa->timeout_ms);
	pa->waited = now_s() - t0;
	return NULL;
}

/* Voluntary context switches of thread @tid, or -1. */
static long thread_switches(pid_t tid)
{
	char path[64], line[128];
	long n = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "voluntary_ctxt_switches: %ld", &n) == 1)
			break;
	fclose(f);
	return n;
}

/*
 * A connected sender waits in poll(POLLOUT) on a full receiver; the
 * receiver shuts down reading and drains its queue. The sender must be
 * woken at once, not when its own timeout makes it look again. The
 * shutdown wakes the sender, which looks again and, finding no room,
 * sleeps again: only then does the receiver drain, so that the drain
 * alone must wake it.
 */
TEST(dgram_pollout_wakes_when_full_receiver_shuts_down_reading)
{
	struct poll_arg pa = { .timeout_ms = 20000 };
	long switches;
	int fds[2];
	pthread_t t;

	ASSERT_EQ(0, afx_dgram_pair(fds));
	ASSERT_LT(0, afx_fill(fds[0], 64));
	ASSERT_EQ(0, afx_poll(fds[0], POLLOUT, 0));
	pa.fd = fds[0];
	ASSERT_EQ(0, pthread_create(&t, NULL, poll_out, &pa));
	/* Let the thread reach poll() and sleep there before we act. */
	while (!atomic_load(&pa.tid))
		sched_yield();
	ASSERT_EQ(0, afx_wait_blocked(atomic_load(&pa.tid), -1, 5000));
	switches = thread_switches(atomic_load(&pa.tid));
	ASSERT_LE(0, switches);
	ASSERT_EQ(0, shutdown(fds[1], SHUT_RD));
	/* Woken by the shutdown: either it returned, or it sleeps again. */
	while (!pa.waited &&
	       thread_switches(atomic_load(&pa.tid)) == switches)
		sched_yield();
	if (!pa.waited)
		ASSERT_EQ(0, afx_wait_blocked(atomic_load(&pa.tid), -1, 5000));
	afx_drain(fds[1]);
	pthread_join(t, NULL);
	TH_LOG("poll returned %#x after %.3f s", pa.revents, pa.waited);
	EXPECT_EQ(POLLOUT, pa.revents & POLLOUT);
	EXPECT_GT(5.0, pa.waited);
	close(fds[0]);
	close(fds[1]);
}

AFX_TEST_MAIN
