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
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <poll.h>
#include <sys/socket.h>

#include "kselftest_harness.h"
#include "afx_test_util.h"

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
			       enum ending how)
{
	long iters = 0, lost = 0;
	double end = now_s() + race_seconds(), t0 = now_s();
	struct ending_arg arg = { .how = how };
	struct race r;
	int l, c, a, rc;
	uint32_t port;
	char b = 'u';

	l = afx_listener(SOCK_STREAM, 64, &port);
	ASSERT_LE(0, l);
	ASSERT_EQ(0, race_start(&r, send_then_end));
	while (now_s() < end) {
		c = afx_socket(SOCK_STREAM);
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
	stream_ending_race(_metadata, END_SHUT_WR);
}

/* ECONNRESET from a close with unread data came before the queued byte. */
TEST_F_TIMEOUT(race, reset_never_overtakes_queued_byte, RACE_TIMEOUT)
{
	stream_ending_race(_metadata, END_CLOSE_UNREAD);
}

/* ---- stream: SO_RCVLOWAT and small writes --------------------------------- */

/*
 * 1-byte writes fill SO_RCVBUF with buffer overhead long before 1024
 * bytes are queued: poll() must still report POLLIN, or the reader waits
 * for bytes the writer can never send.
 */
TEST(rcvlowat_poll_reports_data_a_full_queue_holds)
{
	int fds[2], lowat = 1024;
	long queued = 0;
	char b = 'y';

	ASSERT_EQ(0, afx_stream_pair(fds));
	ASSERT_EQ(0, setsockopt(fds[1], SOL_SOCKET, SO_RCVLOWAT, &lowat,
				sizeof(lowat)));
	while (send(fds[0], &b, 1, MSG_DONTWAIT) == 1)
		queued++;
	ASSERT_EQ(EAGAIN, errno);
	TH_LOG("%ld one-byte writes queued before EAGAIN", queued);
	ASSERT_LT(0, queued);
	if (queued < lowat)
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
	struct writer_arg w = { .count = 20000 };
	int fds[2], lowat = 1024, rev;
	long got = 0, i;
	pthread_t t;
	char buf[4096];
	ssize_t n;

	ASSERT_EQ(0, afx_stream_pair(fds));
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

TEST_HARNESS_MAIN
