// SPDX-License-Identifier: GPL-2.0
/*
 * pp: 64 B ping-pong between two processes, for bench/prof (README there).
 *
 *   pp afx|unix|afxsq|unixsq|pipe [N]   N round trips (default 1000) after
 *                          2000 warm-up (afxsq, unixsq: SOCK_SEQPACKET)
 *                          ones, between pp_mark_start and pp_mark_end
 *
 * The client sends 64 B and waits for them to come back; the server echoes
 * them (blocking send/recv on stream sockets, read/write on two pipes).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include "afx_family.h"

#define MSG 64
static int sock;

static void die(const char *m) { perror(m); exit(1); }

static ssize_t xsend(int fd, const void *p, size_t n)
{ return sock ? send(fd, p, n, MSG_NOSIGNAL) : write(fd, p, n); }
static ssize_t xrecv(int fd, void *p, size_t n)
{ return sock ? recv(fd, p, n, 0) : read(fd, p, n); }

static void sendall(int fd, const char *p, size_t n)
{ while (n) { ssize_t r = xsend(fd, p, n); if (r <= 0) die("send"); p += r; n -= r; } }
static int recvall(int fd, char *p, size_t n)
{ size_t g = 0; while (g < n) { ssize_t r = xrecv(fd, p + g, n - g); if (r < 0) die("recv"); if (r == 0) return 0; g += r; } return 1; }

static long long now(void)
{ struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts); return ts.tv_sec * 1000000000LL + ts.tv_nsec; }

/* The plugin keys on these two functions' addresses. */
__attribute__((noinline)) void pp_mark_start(void) { asm volatile("" ::: "memory"); }
__attribute__((noinline)) void pp_mark_end(void) { asm volatile("" ::: "memory"); }

int main(int argc, char **argv)
{
	const char *tr = argc > 1 ? argv[1] : "afx";
	long n = argc > 2 ? atol(argv[2]) : 1000;
	int cfd, sfd, p1[2], p2[2], crd, cwr, srd, swr;
	char buf[MSG + 1], msg[MSG];
	pid_t pid;

	int type = strstr(tr, "sq") ? SOCK_SEQPACKET : SOCK_STREAM;

	if ((strcmp(tr, "afx") && strcmp(tr, "unix") && strcmp(tr, "afxsq") &&
	     strcmp(tr, "unixsq") && strcmp(tr, "pipe")) || n <= 0) {
		fprintf(stderr, "usage: pp afx|unix|afxsq|unixsq|pipe [N]\n");
		return 2;
	}
	memset(msg, 'x', sizeof(msg));
	if (!strcmp(tr, "pipe")) {
		if (pipe(p1) || pipe(p2)) die("pipe");
		cwr = p1[1]; srd = p1[0]; swr = p2[1]; crd = p2[0];
	} else {
		struct sockaddr_storage ss;
		socklen_t len;
		int lfd;
		sock = 1;
		memset(&ss, 0, sizeof(ss));
		if (!strncmp(tr, "afx", 3)) {
			struct sockaddr_x *sx = (void *)&ss;
			sx->sx_family = afx_family(); sx->sx_port = 4242; sx->sx_addr = AFX_ADDR_LOCAL;
			len = sizeof(*sx);
			lfd = socket(afx_family(), type, 0);
		} else {
			struct sockaddr_un *su = (void *)&ss;
			su->sun_family = AF_UNIX; strcpy(su->sun_path + 1, "pp");
			len = offsetof(struct sockaddr_un, sun_path) + 3;
			lfd = socket(AF_UNIX, type, 0);
		}
		if (lfd < 0) die("socket");
		if (bind(lfd, (void *)&ss, len) || listen(lfd, 8)) die("bind/listen");
		cfd = socket(ss.ss_family, type, 0);
		if (connect(cfd, (void *)&ss, len)) die("connect");
		sfd = accept(lfd, NULL, NULL);
		if (sfd < 0) die("accept");
		close(lfd);
		crd = cwr = cfd; srd = swr = sfd;
	}
	pid = fork();
	if (pid < 0) die("fork");
	if (pid == 0) {
		if (!sock) { close(cwr); close(crd); }
		while (recvall(srd, buf, MSG))
			sendall(swr, buf, MSG);
		_exit(0);
	}
	if (!sock) { close(srd); close(swr); }
	for (int i = 0; i < 2000; i++) {	/* warm-up */
		sendall(cwr, msg, MSG);
		if (!recvall(crd, buf, MSG)) die("eof");
	}
	pp_mark_start();
	long long t0 = now();
	for (long i = 0; i < n; i++) {
		sendall(cwr, msg, MSG);
		if (!recvall(crd, buf, MSG)) die("eof");
	}
	long long t1 = now();
	pp_mark_end();
	printf("PP-RESULT transport=%s n=%ld ns_per_rt=%.1f\n", tr, n, (double)(t1 - t0) / n);
	fflush(stdout);
	if (sock) shutdown(cwr, SHUT_WR); else close(cwr);
	waitpid(pid, NULL, 0);
	return 0;
}
