// SPDX-License-Identifier: GPL-2.0
/*
 * afx_memcg_test.c - stream buffer memory is charged to the writer's
 * memory cgroup and bounded by it.
 *
 * Documentation/afx.rst, SO_SNDBUF: the pages that hold a stream's unread
 * bytes are charged to the memory cgroup of the writer. A writer in a
 * cgroup whose memory.max is far below what its connections' buffers
 * could hold gets ENOBUFS (a partial count first), nobody in the cgroup
 * is OOM-killed, and every byte it was told was sent arrives. A reader in
 * such a cgroup is charged nothing for what others send it.
 *
 * DOC: Stream buffer (module/sbuf.c): pages a buffer gives back wait in a
 * per-CPU set for the next buffer, which takes one only if it is charged
 * to the cgroup a new page would be: one cgroup never writes into pages
 * on another's account, and one reuses its own.
 *
 * Needs cgroup v2 with the memory controller (mounted here if it is not
 * yet); a kernel without CONFIG_MEMCG skips, saying so.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "afx_harness.h"

#define CGROOT		"/sys/fs/cgroup"
#define MEMMAX		(3L << 20)	/* memory.max of the test cgroup */
#define CONNS		32		/* 32 x 208 KiB: over twice MEMMAX */
#define CHUNK		65536
#define WATCHDOG_SEC	60

static int cg_open(const char *dir, const char *file, int flags)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return open(path, flags | O_CLOEXEC);
}

static int cg_write(const char *dir, const char *file, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return afx_write_file(path, val);
}

/* A number from @file of @dir, or the one after "@key " in it; -1. */
static long cg_read(const char *dir, const char *file, const char *key)
{
	int fd = cg_open(dir, file, O_RDONLY);
	char buf[4096], *p;
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if (!key)
		return strtol(buf, NULL, 10);
	for (p = buf; p; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (!strncmp(p, key, strlen(key)) && p[strlen(key)] == ' ')
			return strtol(p + strlen(key) + 1, NULL, 10);
	}
	return -1;
}

/*
 * Make a fresh cgroup with the memory controller and memory.max MEMMAX.
 * Returns 0, or a reason to skip in @why.
 */
static int cg_make(char *dir, size_t len, const char **why)
{
	char max[32];

	if (access(CGROOT "/cgroup.controllers", R_OK)) {
		mkdir(CGROOT, 0755);
		if (mount("none", CGROOT, "cgroup2", 0, NULL)) {
			*why = "no cgroup v2";
			return -1;
		}
	}
	if (cg_write(CGROOT, "cgroup.subtree_control", "+memory")) {
		*why = "no memory controller (CONFIG_MEMCG)";
		return -1;
	}
	snprintf(dir, len, CGROOT "/afx-memcg-%d", getpid());
	if (mkdir(dir, 0755) && errno != EEXIST) {
		*why = "cannot make a cgroup";
		return -1;
	}
	snprintf(max, sizeof(max), "%ld", MEMMAX);
	if (cg_write(dir, "memory.max", max)) {
		*why = "cannot set memory.max";
		rmdir(dir);
		return -1;
	}
	return 0;
}

static unsigned char fill_buf[CHUNK], drain_buf[CHUNK];

/*
 * Write every page the child will write later, before it joins the
 * cgroup: at memory.max, a copy-on-write fault of its own would be an
 * OOM kill (the socket buffers count against the limit like the rest of
 * its memory), which is not what the test looks at.
 */
static void prefault(void)
{
	volatile unsigned char stack[32768];
	size_t i;

	for (i = 0; i < sizeof(stack); i += 4096)
		stack[i] = 1;
	memset(fill_buf, 0, sizeof(fill_buf));
	memset(drain_buf, 0, sizeof(drain_buf));
}

static int cg_join(const char *dir)
{
	char pid[16];

	snprintf(pid, sizeof(pid), "%d", getpid());
	return cg_write(dir, "cgroup.procs", pid);
}

/*
 * Fill each connection (client end fds[i][0]) with pattern bytes until
 * it is full or a send fails; record what each took in @sent.
 * Returns the errno that ended the fill of some connection (0 if none
 * did but EAGAIN), or -1 on an unexpected error.
 */
static int fill_all(int (*fds)[2], long *sent, int n)
{
	unsigned char *buf = fill_buf;
	int i, stop = 0;
	ssize_t r;

	for (i = 0; i < n; i++) {
		for (;;) {
			afx_fill_pattern(buf, CHUNK, sent[i]);
			r = send(fds[i][0], buf, CHUNK, MSG_DONTWAIT);
			if (r > 0) {
				sent[i] += r;
				continue;
			}
			if (errno == EAGAIN)
				break;
			if (errno != ENOBUFS && errno != ENOMEM)
				return -1;
			stop = errno;
			break;
		}
	}
	return stop;
}

/* Read every connection to EOF; 0 if each gave exactly its pattern. */
static int drain_all(int (*fds)[2], const long *sent, int n)
{
	unsigned char *buf = drain_buf;
	long got;
	ssize_t r;
	int i;

	for (i = 0; i < n; i++) {
		shutdown(fds[i][0], SHUT_WR);
		got = 0;
		while ((r = recv(fds[i][1], buf, CHUNK, 0)) > 0) {
			if (afx_check_pattern(buf, r, got) != (size_t)r)
				return -1;
			got += r;
		}
		if (r < 0 || got != sent[i])
			return -1;
	}
	return 0;
}

/* The writer in the cgroup: bounded by memory.max, ENOBUFS, no OOM kill. */
TEST(writer_bounded_by_its_cgroup)
{
	static int fds[CONNS][2];
	static long sent[CONNS];
	const char *why = NULL;
	char dir[128];
	long total = 0, peak, ooms;
	pid_t pid;
	int i, st;

	afx_watchdog(WATCHDOG_SEC);
	if (cg_make(dir, sizeof(dir), &why))
		SKIP(return, "%s", why);

	pid = afx_child_fork(WATCHDOG_SEC);
	ASSERT_LE(0, pid);
	if (pid == 0) {
		memset(fds, 0, sizeof(fds));
		memset(sent, 0, sizeof(sent));
		prefault();
		if (cg_join(dir))
			_exit(10);
		for (i = 0; i < CONNS; i++)
			if (afx_stream_pair(fds[i]))
				_exit(11);
		st = fill_all(fds, sent, CONNS);
		if (st != ENOBUFS)
			_exit(st < 0 ? 12 : 13);
		for (i = 0; i < CONNS; i++)
			total += sent[i];
		/*
		 * The cgroup held the buffers to its memory.max. Nothing here
		 * may allocate now (the cgroup is full): the parent reads
		 * the counters.
		 */
		if (total > MEMMAX || total < MEMMAX / 2)
			_exit(14);
		if (drain_all(fds, sent, CONNS))
			_exit(15);
		_exit(0);
	}
	st = afx_wait_child(pid);
	ooms = cg_read(dir, "memory.events", "oom_kill");
	peak = cg_read(dir, "memory.peak", NULL);
	rmdir(dir);
	TH_LOG("the cgroup's memory.peak: %ld", peak);
	EXPECT_LT(0, peak);
	EXPECT_GE(MEMMAX, peak);
	EXPECT_EQ(0, st) TH_LOG("child step %d failed (10 join, 11 pair, "
				"12 errno, 13 no ENOBUFS, 14 queued more than "
				"memory.max or less than half, 15 data)",
				st);
	EXPECT_EQ(0, ooms);
}

/* The reader in the cgroup: what others write to it is not charged to it. */
TEST(reader_not_charged)
{
	static int fds[CONNS][2];
	static long sent[CONNS];
	const char *why = NULL;
	char dir[128], c = 0;
	int i, st, sv[2], l;
	long total = 0, cur;
	uint32_t port;
	pid_t pid;

	afx_watchdog(WATCHDOG_SEC);
	if (cg_make(dir, sizeof(dir), &why))
		SKIP(return, "%s", why);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));

	/* The child accepts CONNS connections inside the cgroup, then waits. */
	l = afx_listener(SOCK_STREAM, CONNS, &port);
	ASSERT_LE(0, l);
	pid = afx_child_fork(WATCHDOG_SEC);
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int a[CONNS];

		close(sv[0]);
		if (cg_join(dir) || write(sv[1], "j", 1) != 1)
			_exit(10);
		for (i = 0; i < CONNS; i++) {
			a[i] = accept(l, NULL, NULL);
			if (a[i] < 0)
				_exit(11);
		}
		if (write(sv[1], "a", 1) != 1 || read(sv[1], &c, 1) != 1)
			_exit(12);
		_exit(0);
	}
	close(sv[1]);
	ASSERT_EQ(1, read(sv[0], &c, 1));
	for (i = 0; i < CONNS; i++) {
		fds[i][0] = afx_socket(SOCK_STREAM);
		ASSERT_LE(0, fds[i][0]);
		ASSERT_EQ(0, afx_connect_port(fds[i][0], port));
	}
	ASSERT_EQ(1, read(sv[0], &c, 1));
	/* All of it fits: the reader's cgroup pays nothing for it. */
	EXPECT_EQ(0, fill_all(fds, sent, CONNS));
	for (i = 0; i < CONNS; i++)
		total += sent[i];
	cur = cg_read(dir, "memory.current", NULL);
	TH_LOG("%ld bytes queued to readers in the cgroup, which uses %ld",
	       total, cur);
	EXPECT_LT(MEMMAX, total);
	EXPECT_GT(MEMMAX / 2, cur);

	ASSERT_EQ(1, write(sv[0], "x", 1));
	st = afx_wait_child(pid);
	EXPECT_EQ(0, st);
	for (i = 0; i < CONNS; i++)
		close(fds[i][0]);
	close(l);
	close(sv[0]);
	rmdir(dir);
}

/*
 * A writer in the cgroup connects to someone else's listener that does
 * not accept, fills each connection and closes its end, until the cgroup
 * is full. What stays queued at the listener (the unaccepted children and
 * their bytes) stays charged to the writer's cgroup after the writer has
 * gone: nobody outside it pays, and the writer got ENOBUFS or ENOMEM,
 * not an OOM kill. Accepting then gives every byte, and closing frees it.
 */
TEST(unaccepted_connections_stay_charged_to_their_writer)
{
	static int c[CONNS];
	const char *why = NULL;
	long *res, cur, after, ooms, got, total = 0;
	unsigned char *buf = drain_buf;
	int i, st, l, a, n;
	char dir[128];
	uint32_t port;
	ssize_t r;
	pid_t pid;

	afx_watchdog(WATCHDOG_SEC);
	if (cg_make(dir, sizeof(dir), &why))
		SKIP(return, "%s", why);
	/* The child reports here: at memory.max, a write to a pipe would
	 * allocate, and be an OOM kill.
	 */
	res = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, res);
	res[0] = res[1] = res[2] = 0;
	l = afx_listener(SOCK_STREAM, CONNS, &port);
	ASSERT_LE(0, l);

	pid = afx_child_fork(WATCHDOG_SEC);
	ASSERT_LE(0, pid);
	if (pid == 0) {
		long sent;

		prefault();
		/* Made outside: socket() at memory.max would be an OOM kill. */
		for (i = 0; i < CONNS; i++)
			if ((c[i] = afx_socket(SOCK_STREAM)) < 0)
				_exit(10);
		if (cg_join(dir))
			_exit(11);
		for (i = 0; i < CONNS && !res[2]; i++) {
			if (afx_connect_port(c[i], port)) {
				if (errno != ENOMEM && errno != ENOBUFS)
					_exit(12);
				res[2] = errno;
				break;
			}
			res[0]++;
			for (sent = 0;;) {
				afx_fill_pattern(fill_buf, CHUNK, sent);
				r = send(c[i], fill_buf, CHUNK, MSG_DONTWAIT);
				if (r > 0) {
					sent += r;
					continue;
				}
				if (errno == ENOBUFS || errno == ENOMEM)
					res[2] = errno;
				else if (errno != EAGAIN)
					_exit(13);
				break;
			}
			res[1] += sent;
			close(c[i]);
		}
		_exit(0);
	}
	st = afx_wait_child(pid);
	ASSERT_EQ(0, st) TH_LOG("child step %d failed (10 socket, 11 join, "
				"12 connect errno, 13 send errno)", st);
	n = res[0];
	cur = cg_read(dir, "memory.current", NULL);
	ooms = cg_read(dir, "memory.events", "oom_kill");
	TH_LOG("%d connections with %ld bytes left unaccepted (stopped by %s); the gone writer's cgroup is still charged %ld",
	       n, res[1], strerror(res[2]), cur);
	EXPECT_NE(0, res[2]);
	EXPECT_EQ(0, ooms);
	EXPECT_LE(MEMMAX / 2, res[1]);
	EXPECT_LE(res[1], cur);

	/* Every byte is there for the listener, then EOF. */
	for (i = 0; i < n; i++) {
		a = accept(l, NULL, NULL);
		ASSERT_LE(0, a) TH_LOG("accept #%d: %s", i, strerror(errno));
		got = 0;
		while ((r = recv(a, buf, CHUNK, 0)) > 0) {
			ASSERT_EQ((size_t)r, afx_check_pattern(buf, r, got));
			got += r;
		}
		EXPECT_EQ(0, r);
		total += got;
		close(a);
	}
	EXPECT_EQ(res[1], total);
	/* Socks are freed after an RCU grace period: wait for the drop. */
	for (i = 0; i < 500; i++) {
		after = cg_read(dir, "memory.current", NULL);
		if (after < res[1] / 2)
			break;
		usleep(10000);
	}
	TH_LOG("after accepting and closing them: %ld", after);
	EXPECT_GT(res[1] / 2, after);
	close(l);
	munmap(res, 4096);
	rmdir(dir);
}

/* This process's cgroup v2 directory (/proc/self/cgroup, "0::/path"). */
static int cg_self(char *buf, size_t len)
{
	FILE *f = fopen("/proc/self/cgroup", "r");
	char line[192];
	int ret = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(buf, len, CGROOT "%s", line + 3);
			ret = 0;
		}
	fclose(f);
	return ret;
}

/*
 * memory.current of @dir, read from cgroup @other: the memory controller
 * charges in batches kept per CPU, and a charge for another cgroup on
 * this CPU (the first read's open()) gives back what @dir's batch had
 * left, to within a page. -1 on error.
 */
static long cg_settled(const char *dir, const char *other)
{
	if (cg_join(other) || cg_read(dir, "memory.current", NULL) < 0)
		return -1;
	return cg_read(dir, "memory.current", NULL);
}

/* In cgroup @dir, a new stream pair in @fds with @pages pages queued. */
static int queue_pages(const char *dir, int fds[2], int pages)
{
	size_t len = pages * 4096;

	if (cg_join(dir) || afx_stream_pair(fds))
		return -1;
	afx_fill_pattern(fill_buf, len, 0);
	return send(fds[0], fill_buf, len, MSG_DONTWAIT) == (ssize_t)len ? 0 : -1;
}

#define SET_PAGES	8	/* AFX_SBUF_PCP_PAGES, module/sbuf.h */

/*
 * All on one CPU: a connection in cgroup A queues SET_PAGES pages and
 * closes, so its pages wait in that CPU's set. A connection in cgroup B
 * then queues as many: B must be charged for pages of its own (A's are
 * not B's to take), and a second connection in A, after it, must not (it
 * takes A's). The two connections cost the same otherwise, so B's charge
 * less A's is the pages A reused.
 */
TEST(page_set_reused_only_within_a_cgroup)
{
	char a[128], b[160], c[160], home[208], pid[16];
	int one[2], two[2], three[2];
	long a0, a1, b0, b1;
	const char *why = NULL;
	cpu_set_t cpu;

	if (cg_make(a, sizeof(a), &why))
		SKIP(return, "%s", why);
	snprintf(b, sizeof(b), "%s-b", a);
	snprintf(c, sizeof(c), "%s-c", a);
	ASSERT_EQ(0, mkdir(b, 0755));
	ASSERT_EQ(0, mkdir(c, 0755));
	ASSERT_EQ(0, cg_self(home, sizeof(home)));
	CPU_ZERO(&cpu);
	CPU_SET(0, &cpu);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(cpu), &cpu));
	prefault();

	ASSERT_EQ(0, queue_pages(a, one, SET_PAGES));
	close(one[0]);
	close(one[1]);

	b0 = cg_settled(b, c);
	ASSERT_EQ(0, queue_pages(b, two, SET_PAGES));
	b1 = cg_settled(b, c);

	a0 = cg_settled(a, c);
	ASSERT_EQ(0, queue_pages(a, three, SET_PAGES));
	a1 = cg_settled(a, c);

	snprintf(pid, sizeof(pid), "%d", getpid());
	ASSERT_EQ(0, cg_write(home, "cgroup.procs", pid));
	TH_LOG("a connection with %d pages queued: cgroup B charged %ld bytes, then A %ld",
	       SET_PAGES, b1 - b0, a1 - a0);
	ASSERT_LE(0, b0);
	ASSERT_LE(0, a0);
	EXPECT_LE(SET_PAGES * 4096L / 2, (b1 - b0) - (a1 - a0));
	close(two[0]);
	close(two[1]);
	close(three[0]);
	close(three[1]);
	rmdir(c);
	rmdir(b);
	rmdir(a);
}

TEST_HARNESS_MAIN
