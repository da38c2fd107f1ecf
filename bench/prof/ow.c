// SPDX-License-Identifier: GPL-2.0
/* ow: one-way messages between two processes: ns/msg and context switches. */
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

int main(int argc, char **argv)
{
	const char *tr = argv[1];
	size_t sz = atol(argv[2]);
	long n = atol(argv[3]);
	int fd[2], p[2], stream = 0, rfd, wfd;
	char buf[65536], msg[65536];
	struct rusage ru;
	long long t0, t1;
	pid_t pid;

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
	if (pipe(p)) die("pipe");
	pid = fork();
	if (pid == 0) {	/* reader */
		long got = 0, msgs = 0;
		ssize_t r;
		close(wfd);
		for (;;) {
			r = read(rfd, buf, stream ? sizeof(buf) : sz);
			if (r < 0) die("read");
			if (r == 0 || (!stream && r == 0)) break;
			got += r; msgs++;
			if (!stream && r == 1 && buf[0] == 'E') break;
			if (stream && got >= (long)sz * n) break;
		}
		getrusage(RUSAGE_SELF, &ru);
		printf("OW reader %s: %ld reads (%.2f msgs/read), vcsw %ld ivcsw %ld\n", tr, msgs,
		       (double)got / sz / msgs, ru.ru_nvcsw, ru.ru_nivcsw);
		fflush(stdout);
		if (write(p[1], "d", 1) != 1) die("ack");
		_exit(0);
	}
	close(rfd);
	for (long i = 0; i < 1000; i++) ;
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
	char c;
	if (read(p[0], &c, 1) != 1) die("ack read");
	t1 = now();
	getrusage(RUSAGE_SELF, &ru);
	printf("OW writer %s size %zu n %ld: %.1f ns/msg, vcsw %ld ivcsw %ld\n", tr, sz, n,
	       (double)(t1 - t0) / n, ru.ru_nvcsw, ru.ru_nivcsw);
	waitpid(pid, NULL, 0);
	return 0;
}
