// SPDX-License-Identifier: GPL-2.0
/*
 * ow: one-way messages, for bench/prof (see README there).
 *
 *   ow TRANSPORT SIZE N    TRANSPORT: afxs, unixs (stream sockets), afxdg,
 *                          unixdg (datagram sockets) or pipe
 *
 * Default: a writer sends N messages of SIZE bytes to a reader in another
 * process; it prints ns per message (instructions under icount), each
 * side's CPU time and context switches (getrusage()), and how many
 * messages the reader got per read. The plugin window (pp_mark_start/end)
 * opens once the reader is ready (blocked in, or about to enter, its first
 * read), spans the N messages and the reader's drain, and closes when the
 * writer has the reader's report: the reader's printf, exit and the wait
 * fall outside.
 * OW_SELF=1: one process writes 8 messages and reads them back, N times
 * in all: the cost of a send plus a receive without any scheduling.
 * OW_CHURN=1: one process N times creates a connection, sends a byte each
 * way and closes both ends (socket, connect, accept, ...): the W4 cycle.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include "afx_family.h"

/* The QEMU plugins of this directory key on these two functions. */
__attribute__((noinline)) void pp_mark_start(void) { asm volatile("" ::: "memory"); }
__attribute__((noinline)) void pp_mark_end(void) { asm volatile("" ::: "memory"); }

/* The listening address: abstract @name for AF_UNIX, else @port. */
static socklen_t ow_addr(int fam, unsigned int port, const char *name,
			 struct sockaddr_storage *ss)
{
	if (fam == AF_UNIX) {
		struct sockaddr_un *su = (void *)ss;

		su->sun_family = AF_UNIX;
		strcpy(su->sun_path + 1, name);
		return offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name);
	} else {
		struct sockaddr_x *sx = (void *)ss;

		sx->sx_family = fam;
		sx->sx_port = port;
		sx->sx_addr = AFX_ADDR_LOCAL;
		return sizeof(*sx);
	}
}

static void die(const char *m) { perror(m); exit(1); }
static long long now(void)
{ struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts); return ts.tv_sec * 1000000000LL + ts.tv_nsec; }
/* This process's CPU time (sum_exec_runtime): under icount, instructions. */
static long long cpu(void)
{ struct timespec ts; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); return ts.tv_sec * 1000000000LL + ts.tv_nsec; }

int main(int argc, char **argv)
{
	const char *tr;
	size_t sz;
	long n;
	int fd[2], p[2], stream = 0, rfd, wfd;
	char buf[65536], msg[65536];
	struct rusage ru;
	long long t0, t1;
	pid_t pid;

	if (argc != 4) {
		fprintf(stderr, "usage: [OW_SELF=1|OW_CHURN=1] ow afxs|unixs|afxdg|unixdg|pipe SIZE N\n");
		return 2;
	}
	tr = argv[1];
	sz = atol(argv[2]);
	n = atol(argv[3]);
	if (n <= 0 || sz > sizeof(msg) || (sz == 0 && !getenv("OW_CHURN"))) {
		fprintf(stderr, "ow: bad SIZE or N\n");
		return 2;
	}
	memset(msg, 'x', sizeof(msg));
	if (getenv("OW_CHURN")) {	/* one process: connect, 1 B each way, close */
		int fam = strncmp(tr, "afx", 3) ? AF_UNIX : afx_family();
		struct sockaddr_storage ss = { 0 };
		socklen_t len;
		int l, c, a;
		char b;

		len = ow_addr(fam, 4244, "owc", &ss);
		l = socket(fam, SOCK_STREAM, 0);
		if (l < 0 || bind(l, (void *)&ss, len) || listen(l, 16)) die("churn listen");
		pp_mark_start();
		t0 = now();
		for (long i = 0; i < n; i++) {
			c = socket(fam, SOCK_STREAM, 0);
			if (c < 0 || connect(c, (void *)&ss, len)) die("churn connect");
			a = accept(l, NULL, NULL);
			if (a < 0) die("churn accept");
			if (write(c, "q", 1) != 1 || read(a, &b, 1) != 1) die("churn req");
			if (write(a, "r", 1) != 1 || read(c, &b, 1) != 1) die("churn rep");
			close(c);
			if (read(a, &b, 1) != 0) die("churn eof");
			close(a);
		}
		t1 = now();
		pp_mark_end();
		printf("OW churn %s: %.1f ns per connection\n", tr, (double)(t1 - t0) / n);
		return 0;
	}
	if (!strcmp(tr, "pipe")) {
		if (pipe(fd)) die("pipe");
		rfd = fd[0]; wfd = fd[1]; stream = 1;
	} else {
		int type = strstr(tr, "dg") ? SOCK_DGRAM : SOCK_STREAM;
		struct sockaddr_storage ss = { 0 };
		socklen_t len;
		int fam = strncmp(tr, "afx", 3) ? AF_UNIX : afx_family();
		stream = type == SOCK_STREAM;
		len = ow_addr(fam, 4243, "ow", &ss);
		rfd = socket(fam, type, 0);
		if (rfd < 0 || bind(rfd, (void *)&ss, len)) die("bind");
		wfd = socket(fam, type, 0);
		if (stream) {
			int l = rfd;
			if (listen(l, 4)) die("listen");
			if (connect(wfd, (void *)&ss, len)) die("connect");
			rfd = accept(l, NULL, NULL);
			close(l);
		} else if (connect(wfd, (void *)&ss, len)) die("connect");
	}
	if (getenv("OW_SELF")) {	/* one process: cost of a send plus a recv */
		long batch = sz > 8192 ? 1 : 8;
		pp_mark_start();
		t0 = now();
		for (long i = 0; i < n; i += batch) {
			for (long k = 0; k < batch; k++)
				if (write(wfd, msg, sz) != (ssize_t)sz) die("self write");
			for (long k = 0; k < batch; k++)
				if (read(rfd, buf, stream ? sz : sizeof(buf)) != (ssize_t)sz) die("self read");
		}
		t1 = now();
		pp_mark_end();
		printf("OW self %s size %zu: %.1f ns per send+recv\n", tr, sz, (double)(t1 - t0) / n);
		return 0;
	}
	int rdy[2], rel[2];
	char rep[1024];
	ssize_t rl;
	if (pipe(p) || pipe(rdy) || pipe(rel)) die("pipe");
	pid = fork();
	if (pid == 0) {	/* reader */
		long got = 0, msgs = 0, hist[11] = { 0 }, hmsg[11] = { 0 };
		static const long hlim[11] = { 1, 2, 3, 4, 8, 16, 64, 256, 1024, 4096, 1L << 40 };
		ssize_t r;
		int l, h;
		long long c0;
		close(wfd);
		c0 = cpu();
		if (write(rdy[1], "r", 1) != 1) die("ready");
		for (;;) {
			r = read(rfd, buf, stream ? sizeof(buf) : sz);
			if (r < 0) die("read");
			if (r == 0 || (!stream && r == 0)) break;
			got += r; msgs++;
			for (h = 0; (long)r > hlim[h] * (long)sz; h++) ;
			hist[h]++; hmsg[h] += r / sz;
			if (!stream && r == 1 && buf[0] == 'E') break;
			if (stream && got >= (long)sz * n) break;
		}
		c0 = cpu() - c0;
		getrusage(RUSAGE_SELF, &ru);
		l = snprintf(rep, sizeof(rep), "OW reader %s: %ld reads (%.2f msgs/read), vcsw %ld ivcsw %ld, cpu %.1f ns/msg\n", tr, msgs,
			     (double)got / sz / msgs, ru.ru_nvcsw, ru.ru_nivcsw, (double)c0 / n);
		/* msgs per read: reads (messages) with <=1, 2, 3, 4, <=8, ... */
		l += snprintf(rep + l, sizeof(rep) - l, "OW reader-hist %s: msgs/read <=LIMIT reads (msgs):", tr);
		for (h = 0; h < 11; h++)
			if (hist[h])
				l += snprintf(rep + l, sizeof(rep) - l, " <=%ld %ld (%ld)", hlim[h], hist[h], hmsg[h]);
		l += snprintf(rep + l, sizeof(rep) - l, "\n");
		if (write(p[1], rep, l) != l) die("ack");
		if (read(rel[0], rep, 1) != 1) die("release");	/* blocks: the writer closes the window */
		_exit(0);
	}
	close(rfd);
	if (read(rdy[0], rep, 1) != 1) die("ready read");
	long long c0 = cpu();
	pp_mark_start();
	t0 = now();
	for (long i = 0; i < n; i++) {
		size_t off = 0;
		while (off < sz) {
			ssize_t w = write(wfd, msg + off, sz - off);
			if (w < 0) die("write");
			off += w;
		}
	}
	if (!stream && write(wfd, "E", 1) != 1) die("end");
	rl = read(p[0], rep, sizeof(rep) - 1);
	if (rl <= 0) die("ack read");
	t1 = now();
	c0 = cpu() - c0;
	getrusage(RUSAGE_SELF, &ru);
	pp_mark_end();
	rep[rl] = 0;
	fputs(rep, stdout);
	printf("OW writer %s size %zu n %ld: %.1f ns/msg, vcsw %ld ivcsw %ld, cpu %.1f ns/msg\n", tr, sz, n,
	       (double)(t1 - t0) / n, ru.ru_nvcsw, ru.ru_nivcsw, (double)c0 / n);
	fflush(stdout);
	if (write(rel[1], "g", 1) != 1) die("release");
	waitpid(pid, NULL, 0);
	return 0;
}
