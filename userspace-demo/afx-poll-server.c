// SPDX-License-Identifier: GPL-2.0
/*
 * afx-poll-server - an echo server for many clients at once, with poll().
 *
 * Shows the event-loop style of server: one thread, nonblocking sockets,
 * and poll() to learn which socket can make progress. The listener and
 * each accepted socket are made nonblocking with the AF_X socket option
 *
 *	int one = 1;
 *	setsockopt(fd, SOL_X, X_NONBLOCK, &one, sizeof(one));
 *
 * instead of fcntl(O_NONBLOCK): the option belongs to the socket itself,
 * not to one open file. Note that accepted sockets do NOT inherit
 * X_NONBLOCK from the listener, so we set it on each one.
 *
 * With nonblocking sockets, accept(), recv() and send() fail with EAGAIN
 * (== EWOULDBLOCK) instead of waiting; that simply means "nothing to do
 * now, poll() again". send() may also take only part of the data, so we
 * keep the rest in a per-client buffer and wait for POLLOUT. While a
 * client has unsent echo bytes we stop reading from it: it cannot make us
 * buffer without limit if it does not read its echoes.
 *
 * Run:
 *   afx-poll-server [-n N] PORT
 *     -n N   exit after N clients have disconnected (default: forever)
 *
 * Try it (afx-echo-client speaks the same protocol):
 *   afx-poll-server 7002 &
 *   afx-echo-client 7002 one & afx-echo-client 7002 two & wait
 */
#include <sys/socket.h>
#include "linux/afx.h"

#include <err.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "afx_demo.h"

#define MAX_CLIENTS	64
/* Rounds of recv+send for one client per poll(), so no client starves others. */
#define ROUNDS_PER_WAKEUP 16

struct client {
	int fd;
	unsigned int port;	/* the client's port, for messages */
	char buf[4096];		/* bytes received but not yet echoed back */
	size_t len;		/* bytes in buf */
	size_t off;		/* bytes of buf already sent back */
	long long total;	/* bytes echoed in all */
};

static struct client clients[MAX_CLIENTS];
static int nclients;

static void usage(void)
{
	fprintf(stderr, "usage: afx-poll-server [-n N] PORT\n");
	exit(2);
}

static int set_x_nonblock(int fd)
{
	int one = 1;

	return setsockopt(fd, SOL_X, X_NONBLOCK, &one, sizeof(one));
}

static int would_block(void)
{
	return errno == EAGAIN || errno == EWOULDBLOCK;
}

/*
 * Make as much progress with one client as possible without blocking:
 * first send back what we still owe it, then read more and echo that,
 * until a call says EAGAIN. Returns 0 to keep the client, -1 when it is
 * finished (EOF or an error): the caller closes it.
 */
static int serve_client(struct client *c)
{
	int round;

	for (round = 0; round < ROUNDS_PER_WAKEUP; round++) {
		ssize_t n;

		/* 1. Flush pending echo bytes. */
		while (c->off < c->len) {
			n = send(c->fd, c->buf + c->off, c->len - c->off,
				 MSG_NOSIGNAL);	/* EPIPE, not SIGPIPE */
			if (n < 0) {
				if (would_block())
					return 0;	/* client's queue full: wait for POLLOUT */
				if (errno == EINTR)
					continue;
				warn("send to port %u", c->port);
				return -1;
			}
			c->off += n;
			c->total += n;
		}
		c->len = c->off = 0;

		/* 2. All echoed: read what the client sent next. */
		n = recv(c->fd, c->buf, sizeof(c->buf), 0);
		if (n > 0) {
			c->len = n;
			continue;		/* go and echo it */
		}
		if (n == 0)
			return -1;		/* EOF: the client is done */
		if (would_block())
			return 0;		/* nothing more for now: wait for POLLIN */
		if (errno == EINTR)
			continue;
		warn("recv from port %u", c->port);
		return -1;
	}
	return 0;	/* more may be waiting; poll() will tell us again */
}

/* Accept every connection waiting on the listener, until EAGAIN. */
static void accept_clients(int lfd)
{
	for (;;) {
		struct sockaddr_x peer;
		socklen_t peer_len = sizeof(peer);
		struct client *c;
		int cfd;

		cfd = accept(lfd, (struct sockaddr *)&peer, &peer_len);
		if (cfd < 0) {
			if (would_block())
				return;		/* queue empty: back to poll() */
			if (errno == EINTR)
				continue;
			err(1, "accept");
		}

		if (nclients == MAX_CLIENTS) {
			warnx("too many clients, closing the one from port %u",
			      peer.sx_port);
			close(cfd);
			continue;
		}
		/* Not inherited from the listener: set it on every new socket. */
		if (set_x_nonblock(cfd) < 0) {
			warn("setsockopt(X_NONBLOCK) for port %u", peer.sx_port);
			close(cfd);
			continue;
		}

		c = &clients[nclients++];
		c->fd = cfd;
		c->port = peer.sx_port;
		c->len = c->off = 0;
		c->total = 0;
		printf("poll server: client from port %u connected (%d active)\n",
		       c->port, nclients);
	}
}

int main(int argc, char **argv)
{
	long max_clients = -1;	/* -1: forever */
	long finished = 0;
	struct sockaddr_x addr;
	socklen_t len;
	uint32_t port;
	int lfd, opt, i;

	while ((opt = getopt(argc, argv, "n:")) != -1) {
		switch (opt) {
		case 'n':
			max_clients = afx_parse_count(optarg);
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1)
		usage();
	port = afx_parse_port(argv[optind]);

	/* Our stdout may be a pipe read by a script: print whole lines at once. */
	setvbuf(stdout, NULL, _IOLBF, 0);

	lfd = socket(afx_family(), SOCK_STREAM, 0);
	if (lfd < 0)
		err(1, "socket");

	/* accept() on the listener must not block either. */
	if (set_x_nonblock(lfd) < 0)
		err(1, "setsockopt(X_NONBLOCK)");

	addr = afx_addr(AFX_ADDR_ANY, port);
	if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		err(1, "bind to port %u", port);
	if (listen(lfd, 16) < 0)
		err(1, "listen");

	len = sizeof(addr);
	if (getsockname(lfd, (struct sockaddr *)&addr, &len) < 0)
		err(1, "getsockname");
	printf("poll server: listening on port %u\n", addr.sx_port);

	while (max_clients < 0 || finished < max_clients) {
		/* pfd[0] is the listener, pfd[1 + i] is clients[i]. */
		struct pollfd pfd[1 + MAX_CLIENTS];
		int nfds = 0, old_nclients = nclients, active = nclients, kept;

		pfd[nfds].fd = lfd;
		pfd[nfds].events = POLLIN;	/* POLLIN: accept() will not block */
		nfds++;
		for (i = 0; i < nclients; i++) {
			pfd[nfds].fd = clients[i].fd;
			/* Owe it bytes? Wait until it can take them, else wait for data. */
			pfd[nfds].events = clients[i].off < clients[i].len ?
					   POLLOUT : POLLIN;
			nfds++;
		}

		if (poll(pfd, nfds, -1) < 0) {
			if (errno == EINTR)
				continue;
			err(1, "poll");
		}

		/*
		 * Serve the clients poll() woke up (POLLIN, POLLOUT, or
		 * POLLHUP/POLLERR, which poll() reports even unasked; then
		 * recv()/send() tells us what happened). Finished clients are
		 * closed and the array is compacted as we go.
		 */
		kept = 0;
		for (i = 0; i < old_nclients; i++) {
			struct client *c = &clients[i];

			if (pfd[1 + i].revents && serve_client(c) < 0) {
				if (close(c->fd) < 0)
					warn("close");
				finished++;
				active--;
				printf("poll server: client from port %u disconnected, %lld bytes echoed (%d active)\n",
				       c->port, c->total, active);
				continue;
			}
			if (kept != i)
				clients[kept] = *c;
			kept++;
		}
		nclients = kept;

		if (pfd[0].revents & POLLIN)
			accept_clients(lfd);
	}

	/* Done: close whoever is still connected, then the listener. */
	for (i = 0; i < nclients; i++)
		close(clients[i].fd);
	if (close(lfd) < 0)
		err(1, "close");
	printf("poll server: %ld clients finished, exiting\n", finished);
	return 0;
}
