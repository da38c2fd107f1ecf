// SPDX-License-Identifier: GPL-2.0
/*
 * afx_soak - load AF_X for a while and count every byte.
 *
 *   afx_soak [-t seconds] [-c connections] [-p processes]
 *
 * Runs, all at once, for the given time (default 60 s):
 *   - data: `connections` stream connections (default 1000) split over
 *     `processes` client processes (default 2) that connect to listeners
 *     of this process; every client sends a checksummed pattern stream
 *     from two threads' epoll loops, the server side verifies it byte by
 *     byte from two threads of its own and echoes nothing;
 *   - churn: a thread that connects, sends one byte and closes, against a
 *     listener that accepts, reads and closes;
 *   - signals: a thread blocked in recv() on an idle connection, hit by a
 *     storm of SIGUSR1 (no SA_RESTART): it must get EINTR, never data
 *     that was not sent, and read the byte sent at the end;
 *   - rmmod: delete_module("afx") attempts, which must be refused while
 *     sockets exist;
 *   - netns: children that make a network namespace, leave listeners,
 *     unaccepted and pending connections with queued data in it, and
 *     exit, so that the namespace dies with live sockets.
 * At the end every client shuts down writing and the server checks it got
 * exactly what was sent. Prints its figures; exits 0 only with 0 bytes
 * lost, 0 errors, and every part having run. Prints progress every 10 s;
 * a part still running 90 s after the end is named, with the kernel
 * stack of every thread, and the soak fails at once.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "lib/afx_lib.h"

#define CHUNK	4096

static double soak_seconds = 60;
static int nconn = 1000;
static int nproc = 2;
static double t_end;

static atomic_long errors, churned, signals_sent, eintrs, rmmod_refused;
static atomic_long netns_made;
/* Bytes the server threads verified so far, for the progress lines. */
static atomic_ullong verified;
/* Which parts are still running (bit per part), for the watchdog. */
static atomic_uint running;

enum part { P_DATA, P_CHURN_ACCEPT, P_CHURN_CONNECT, P_SIGNALS, P_RMMOD,
	    P_NETNS, NPARTS };
static const char *const part_name[NPARTS] = {
	"data", "churn accept", "churn connect", "signals", "rmmod", "netns",
};

static void part_start(enum part p)
{
	atomic_fetch_or(&running, 1u << p);
}

static void part_done(enum part p)
{
	atomic_fetch_and(&running, ~(1u << p));
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

#define fail(fmt, ...) do {						\
	fprintf(stderr, "afx_soak: " fmt "\n", ##__VA_ARGS__);		\
	atomic_fetch_add(&errors, 1);					\
} while (0)

/* ---- data: servers verify, clients send ------------------------------------ */

/* One end of a data connection: the offset of the pattern it is at. */
struct conn {
	int fd;
	uint64_t off;
	bool done;
};

struct side {
	struct conn *c;
	int n;
	int epfd;
	uint64_t bytes;
};

/* Client thread: write the pattern to each of its sockets until t_end. */
static void *client_loop(void *p)
{
	struct side *s = p;
	struct epoll_event ev[64];
	unsigned char buf[CHUNK];
	struct conn *c;
	int i, n, open = s->n;
	ssize_t w;

	while (open) {
		n = epoll_wait(s->epfd, ev, 64, 1000);
		if (n < 0 && errno != EINTR) {
			fail("client epoll_wait: %s", strerror(errno));
			break;
		}
		for (i = 0; i < n; i++) {
			c = ev[i].data.ptr;
			if (c->done)
				continue;
			if (now() >= t_end) {
				if (shutdown(c->fd, SHUT_WR))
					fail("client shutdown: %s", strerror(errno));
				epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
				c->done = true;
				open--;
				continue;
			}
			afx_fill_pattern(buf, sizeof(buf), c->off);
			w = send(c->fd, buf, 1 + (c->off * 31) % CHUNK,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
			if (w > 0) {
				c->off += w;
				s->bytes += w;
			} else if (w < 0 && errno != EAGAIN) {
				fail("client send: %s", strerror(errno));
				c->done = true;
				open--;
			}
		}
		if (now() >= t_end + 30) {
			fail("clients could not finish");
			break;
		}
	}
	return NULL;
}

/* Server thread: read and check each of its sockets until EOF. */
static void *server_loop(void *p)
{
	struct side *s = p;
	struct epoll_event ev[64];
	unsigned char buf[CHUNK * 2];
	struct conn *c;
	int i, n, open = s->n;
	ssize_t r;
	size_t ok;

	while (open) {
		n = epoll_wait(s->epfd, ev, 64, 1000);
		if (n < 0 && errno != EINTR) {
			fail("server epoll_wait: %s", strerror(errno));
			break;
		}
		for (i = 0; i < n; i++) {
			c = ev[i].data.ptr;
			if (c->done)
				continue;
			r = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (r > 0) {
				ok = afx_check_pattern(buf, r, c->off);
				if (ok != (size_t)r) {
					fail("server: byte %llu of a stream is wrong",
					     (unsigned long long)(c->off + ok));
					r = 0;
				}
				c->off += r;
				s->bytes += r;
				atomic_fetch_add(&verified, r);
				continue;
			}
			if (r < 0 && errno == EAGAIN)
				continue;
			if (r < 0)
				fail("server recv: %s", strerror(errno));
			epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
			c->done = true;
			open--;
		}
		if (now() >= t_end + 60) {
			fail("servers saw no EOF on %d streams", open);
			break;
		}
	}
	return NULL;
}

static int add_epoll(int epfd, struct conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
}

/* Run two threads of @fn over @c[0..n). Returns the bytes they moved. */
static uint64_t run_sides(struct conn *c, int n, void *(*fn)(void *))
{
	struct side s[2];
	pthread_t t[2];
	int i, k;

	for (k = 0; k < 2; k++) {
		s[k].c = c;
		s[k].n = 0;
		s[k].bytes = 0;
		s[k].epfd = epoll_create1(EPOLL_CLOEXEC);
		for (i = k; i < n; i += 2) {
			if (add_epoll(s[k].epfd, &c[i],
				      fn == client_loop ? EPOLLOUT : EPOLLIN))
				fail("epoll_ctl: %s", strerror(errno));
			s[k].n++;
		}
		pthread_create(&t[k], NULL, fn, &s[k]);
	}
	for (k = 0; k < 2; k++) {
		pthread_join(t[k], NULL);
		close(s[k].epfd);
	}
	return s[0].bytes + s[1].bytes;
}

/*
 * A client process: connect @n sockets to @port, send until t_end, report
 * the bytes sent per connection (in connect order) through @out.
 */
static void client_process(uint32_t port, int n, int out)
{
	struct conn *c = calloc(n, sizeof(*c));
	int i, sndbuf = 32 * 1024;

	for (i = 0; i < n; i++) {
		c[i].fd = afx_socket(SOCK_STREAM);
		/* Bounds what 1000 full connections pin in a small guest. */
		if (c[i].fd >= 0)
			setsockopt(c[i].fd, SOL_SOCKET, SO_SNDBUF, &sndbuf,
				   sizeof(sndbuf));
		if (c[i].fd < 0 || afx_connect_port(c[i].fd, port))
			fail("client connect %d: %s", i, strerror(errno));
		/* The server accepts in connect order: tell it when. */
		if (write(out, "c", 1) != 1)
			fail("client pipe");
	}
	run_sides(c, n, client_loop);
	for (i = 0; i < n; i++) {
		if (write(out, &c[i].off, sizeof(c[i].off)) != sizeof(c[i].off))
			fail("client pipe");
		close(c[i].fd);
	}
	_exit(atomic_load(&errors) ? 1 : 0);
}

/* ---- churn ----------------------------------------------------------------- */

/* Set when churn_connect() is done: the acceptor may stop then, not before. */
static atomic_bool churn_connect_done;

static void *churn_accept(void *p)
{
	int l = *(int *)p, a;
	char b;

	part_start(P_CHURN_ACCEPT);
	/*
	 * A connector that found the accept queue full waits, without a
	 * timeout, for room only accept() makes: keep accepting until it is
	 * done, or it waits for ever.
	 */
	while (!atomic_load(&churn_connect_done)) {
		if (afx_poll(l, POLLIN, 200) <= 0)
			continue;
		a = accept(l, NULL, NULL);
		if (a < 0)
			continue;
		if (recv(a, &b, 1, 0) != 1)
			fail("churn: accepted connection lost its byte");
		close(a);
	}
	part_done(P_CHURN_ACCEPT);
	return NULL;
}

static void *churn_connect(void *p)
{
	uint32_t port = *(uint32_t *)p;
	int fd;

	part_start(P_CHURN_CONNECT);
	while (now() < t_end) {
		fd = afx_socket(SOCK_STREAM);
		if (fd < 0) {
			fail("churn socket: %s", strerror(errno));
			break;
		}
		if (afx_connect_port(fd, port) == 0) {
			if (send(fd, "x", 1, MSG_NOSIGNAL) != 1)
				fail("churn send: %s", strerror(errno));
			else
				atomic_fetch_add(&churned, 1);
		} else if (errno != ECONNREFUSED && errno != EAGAIN &&
			   errno != ETIMEDOUT) {
			fail("churn connect: %s", strerror(errno));
		}
		close(fd);
	}
	atomic_store(&churn_connect_done, true);
	part_done(P_CHURN_CONNECT);
	return NULL;
}

/* ---- signals against a blocked recv ---------------------------------------- */

static void on_usr1(int sig)
{
	(void)sig;
}

struct sigvictim {
	int fd;
	atomic_int tid;
	atomic_bool stop;
};

static void *blocked_reader(void *p)
{
	struct sigvictim *v = p;
	char b;
	ssize_t r;

	part_start(P_SIGNALS);
	atomic_store(&v->tid, afx_gettid());
	for (;;) {
		r = recv(v->fd, &b, 1, 0);
		if (r < 0 && errno == EINTR) {
			atomic_fetch_add(&eintrs, 1);
			continue;
		}
		if (!(r == 1 && b == 'z' && atomic_load(&v->stop)))
			fail("signalled reader: recv %zd (%s)", r,
			     r < 0 ? strerror(errno) : "unexpected data");
		part_done(P_SIGNALS);
		return NULL;
	}
}

static void *signal_storm(void *p)
{
	struct sigvictim *v = p;
	struct timespec gap = { 0, 200 * 1000 };

	while (!atomic_load(&v->tid))
		sched_yield();
	while (now() < t_end) {
		syscall(SYS_tgkill, getpid(), atomic_load(&v->tid), SIGUSR1);
		atomic_fetch_add(&signals_sent, 1);
		nanosleep(&gap, NULL);
	}
	return NULL;
}

/* ---- rmmod attempts --------------------------------------------------------- */

static void *rmmod_attempts(void *p)
{
	struct timespec gap = { 0, 50 * 1000 * 1000 };

	(void)p;
	part_start(P_RMMOD);
	while (now() < t_end) {
		if (syscall(SYS_delete_module, "afx", O_NONBLOCK) == 0) {
			fail("rmmod afx succeeded with sockets open");
			break;
		}
		if (errno == EWOULDBLOCK || errno == EBUSY)
			atomic_fetch_add(&rmmod_refused, 1);
		else if (errno != EPERM && errno != ENOENT)
			fail("delete_module: %s", strerror(errno));
		nanosleep(&gap, NULL);
	}
	part_done(P_RMMOD);
	return NULL;
}

/* ---- namespaces that die with live sockets --------------------------------- */

/* In a new netns: a listener, accepted, unaccepted and pending connections. */
static void netns_child(void)
{
	int l, c[6], a, i;
	uint32_t port;

	if (unshare(CLONE_NEWNET))
		_exit(errno == EPERM ? 3 : 2);
	l = afx_listener(SOCK_STREAM, 2, &port);
	if (l < 0)
		_exit(2);
	for (i = 0; i < 6; i++) {
		c[i] = afx_socket(SOCK_STREAM);
		afx_set_nonblock(c[i], 1);
		if (afx_connect_port(c[i], port) && errno != EINPROGRESS)
			_exit(2);
		send(c[i], "data", 4, MSG_DONTWAIT | MSG_NOSIGNAL);
	}
	a = accept(l, NULL, NULL);
	if (a < 0)
		_exit(2);
	send(a, "unread", 6, 0);
	_exit(0);	/* everything still open: the namespace dies with it */
}

static void *netns_churn(void *p)
{
	int st;
	pid_t pid;

	(void)p;
	part_start(P_NETNS);
	while (now() < t_end) {
		pid = fork();
		if (pid == 0)
			netns_child();
		if (pid < 0 || waitpid(pid, &st, 0) != pid) {
			fail("netns child: %s", strerror(errno));
			break;
		}
		if (WIFEXITED(st) && WEXITSTATUS(st) == 3)
			break;	/* no CAP_SYS_ADMIN: not counted */
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			fail("netns child failed (%#x)", st);
		else
			atomic_fetch_add(&netns_made, 1);
	}
	part_done(P_NETNS);
	return NULL;
}

/* Print the kernel stack of every thread of process @pid. */
static void dump_stacks(pid_t pid)
{
	char path[300], line[256];
	struct dirent *d;
	DIR *dir;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	dir = opendir(path);
	if (!dir)
		return;
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stack", pid,
			 d->d_name);
		fprintf(stderr, "afx_soak: task %d/%s kernel stack:\n", pid,
			d->d_name);
		f = fopen(path, "r");
		while (f && fgets(line, sizeof(line), f))
			fprintf(stderr, "    %s", line);
		if (f)
			fclose(f);
	}
	closedir(dir);
}

/*
 * Progress every 10 s; if any part still runs 90 s after the end, name
 * it, show where every thread of ours and of the client processes is
 * in the kernel, and fail at once instead of running into the test's
 * timeout with nothing said.
 */
static pid_t *client_pids;

static void *watchdog(void *p)
{
	double next = now() + 10;
	unsigned int r;
	int k;

	(void)p;
	for (;;) {
		sleep(1);
		r = atomic_load(&running);
		if (!r)
			return NULL;
		if (now() >= next) {
			next += 10;
			printf("afx_soak: %.0f s: %llu bytes verified, %ld churned, %ld EINTR, %ld errors\n",
			       now() - (t_end - soak_seconds),
			       (unsigned long long)atomic_load(&verified),
			       atomic_load(&churned), atomic_load(&eintrs),
			       atomic_load(&errors));
		}
		if (now() < t_end + 90)
			continue;
		for (k = 0; k < NPARTS; k++)
			if (r & (1u << k))
				fprintf(stderr, "afx_soak: stuck 90 s after the end: %s\n",
					part_name[k]);
		dump_stacks(getpid());
		for (k = 0; k < nproc; k++)
			if (client_pids[k] > 0)
				dump_stacks(client_pids[k]);
		_exit(1);
	}
}

/* ---- main ------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	uint64_t sent = 0, got = 0, moved, off;
	pthread_t churn_t[2], sig_t[2], rmmod_t, netns_t, watchdog_t;
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct sigvictim victim = { 0 };
	struct rlimit rl;
	struct conn *srv;
	int opt, i, k, l, churn_l, pair[2], st, *pipes;
	uint32_t port, churn_port;
	pid_t *pids;
	double t0;
	char b;

	while ((opt = getopt(argc, argv, "t:c:p:")) != -1) {
		switch (opt) {
		case 't':
			soak_seconds = atof(optarg);
			break;
		case 'c':
			nconn = atoi(optarg);
			break;
		case 'p':
			nproc = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: %s [-t seconds] [-c connections] [-p processes]\n",
				argv[0]);
			return 2;
		}
	}
	if (soak_seconds <= 0 || nconn < nproc || nproc < 1) {
		fprintf(stderr, "afx_soak: bad arguments\n");
		return 2;
	}
	rl.rlim_cur = rl.rlim_max = 4 * nconn + 256;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		fprintf(stderr, "afx_soak: setrlimit: %s (continuing)\n",
			strerror(errno));
	/* Progress and failures must reach the log even if we are killed. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGUSR1, &sa, NULL);	/* no SA_RESTART */

	srv = calloc(nconn, sizeof(*srv));
	pids = calloc(nproc, sizeof(*pids));
	pipes = calloc(nproc, sizeof(*pipes));
	l = afx_listener(SOCK_STREAM, 4096, &port);
	if (l < 0) {
		perror("afx_soak: listener");
		return 1;
	}
	t0 = now();
	t_end = t0 + soak_seconds;
	client_pids = pids;
	part_start(P_DATA);
	pthread_create(&watchdog_t, NULL, watchdog, NULL);

	/* Clients connect in order; we accept in the same order. */
	for (k = 0, i = 0; k < nproc; k++) {
		int n = nconn / nproc + (k < nconn % nproc);

		if (pipe(pair))
			return 1;
		pids[k] = fork();
		if (pids[k] == 0) {
			close(pair[0]);
			client_process(port, n, pair[1]);
		}
		close(pair[1]);
		pipes[k] = pair[0];
		for (int j = 0; j < n; j++, i++) {
			if (read(pipes[k], &b, 1) != 1) {
				fail("client %d died while connecting", k);
				break;
			}
			srv[i].fd = accept(l, NULL, NULL);
			if (srv[i].fd < 0)
				fail("accept: %s", strerror(errno));
		}
	}
	printf("afx_soak: %d connections up across %d processes in %.1f s\n",
	       nconn, nproc, now() - t0);

	churn_l = afx_listener(SOCK_STREAM, 64, &churn_port);
	pthread_create(&churn_t[0], NULL, churn_accept, &churn_l);
	pthread_create(&churn_t[1], NULL, churn_connect, &churn_port);

	if (afx_stream_pair(pair))
		fail("signal pair: %s", strerror(errno));
	victim.fd = pair[1];
	pthread_create(&sig_t[0], NULL, blocked_reader, &victim);
	pthread_create(&sig_t[1], NULL, signal_storm, &victim);
	pthread_create(&rmmod_t, NULL, rmmod_attempts, NULL);
	pthread_create(&netns_t, NULL, netns_churn, NULL);

	moved = run_sides(srv, nconn, server_loop);

	pthread_join(sig_t[1], NULL);
	atomic_store(&victim.stop, true);
	if (send(pair[0], "z", 1, 0) != 1)
		fail("signal pair send: %s", strerror(errno));
	pthread_join(sig_t[0], NULL);
	pthread_join(churn_t[0], NULL);
	pthread_join(churn_t[1], NULL);
	pthread_join(rmmod_t, NULL);
	pthread_join(netns_t, NULL);

	/* What each client says it sent, against what we verified. */
	for (k = 0, i = 0; k < nproc; k++) {
		int n = nconn / nproc + (k < nconn % nproc);

		for (int j = 0; j < n; j++, i++) {
			if (read(pipes[k], &off, sizeof(off)) != sizeof(off)) {
				fail("client %d did not report", k);
				break;
			}
			sent += off;
			got += srv[i].off;
			if (off != srv[i].off)
				fail("connection %d: sent %llu, received %llu", i,
				     (unsigned long long)off,
				     (unsigned long long)srv[i].off);
		}
		if (waitpid(pids[k], &st, 0) != pids[k] || !WIFEXITED(st) ||
		    WEXITSTATUS(st))
			fail("client process %d failed (%#x)", k, st);
		close(pipes[k]);
	}
	part_done(P_DATA);
	pthread_join(watchdog_t, NULL);
	for (i = 0; i < nconn; i++)
		close(srv[i].fd);
	close(l);
	close(churn_l);
	close(pair[0]);
	close(pair[1]);

	printf("afx_soak: %.1f s, %d connections, %d processes, %llu bytes sent, %llu received and verified, %llu lost\n",
	       now() - t0, nconn, nproc, (unsigned long long)sent,
	       (unsigned long long)got,
	       (unsigned long long)(sent > got ? sent - got : 0));
	printf("afx_soak: %ld connect/close churned, %ld signals sent, %ld EINTR, %ld rmmod refused, %ld namespaces died with live sockets, %ld errors\n",
	       atomic_load(&churned), atomic_load(&signals_sent),
	       atomic_load(&eintrs), atomic_load(&rmmod_refused),
	       atomic_load(&netns_made), atomic_load(&errors));
	if (moved != got)
		fail("server threads counted %llu bytes, connections %llu",
		     (unsigned long long)moved, (unsigned long long)got);
	if (!got || !atomic_load(&churned) || !atomic_load(&eintrs))
		fail("a part of the soak did not run");
	return atomic_load(&errors) ? 1 : 0;
}
