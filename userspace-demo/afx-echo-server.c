// SPDX-License-Identifier: GPL-2.0
/*
 * afx-echo-server - the classic Berkeley sockets echo server, on AF_X.
 *
 * Shows the server side of a stream (TCP-like) connection:
 *   socket(SOCK_STREAM) -> bind(port) -> listen() -> loop { accept() ->
 *   read and echo until EOF -> close() }
 * It serves one client at a time; see afx-poll-server.c for many at once.
 *
 * Run:
 *   afx-echo-server [-n N] PORT
 *     PORT   port to listen on; 0 lets the kernel pick a free one
 *     -n N   exit after N clients have come and gone (default: run forever)
 *
 * Try it (the module must be loaded):
 *   afx-echo-server 7000 &
 *   afx-echo-client 7000 hello world
 *
 * Unlike AF_INET, AF_X ports are plain host-order numbers and there is no
 * IP address: AFX_ADDR_ANY (or AFX_ADDR_LOCAL) simply means "this host".
 */
#include <sys/socket.h>
#include "linux/afx.h"

#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "afx_demo.h"

static void usage(void)
{
	fprintf(stderr, "usage: afx-echo-server [-n N] PORT\n");
	exit(2);
}

/* send() all of buf; a stream send may take fewer bytes than asked. */
static int send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		/*
		 * MSG_NOSIGNAL: if the client has gone away, fail with EPIPE
		 * instead of killing the whole server with SIGPIPE.
		 */
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= n;
	}
	return 0;
}

/*
 * Echo everything the client sends until it closes its side (recv()
 * returns 0). Returns the number of bytes echoed, or -1 on error.
 */
static long long echo_until_eof(int fd, unsigned int port)
{
	char buf[4096];
	long long total = 0;

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n == 0)
			return total;		/* EOF: client is done */
		if (n < 0) {
			if (errno == EINTR)
				continue;
			warn("recv from port %u", port);
			return -1;
		}
		if (send_all(fd, buf, n) < 0) {
			warn("send to port %u", port);
			return -1;
		}
		total += n;
	}
}

int main(int argc, char **argv)
{
	long max_clients = -1;	/* -1: forever */
	long served;
	struct sockaddr_x addr;
	socklen_t len;
	uint32_t port;
	int lfd, opt;

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

	/* 1. A stream socket of the AF_X family. Protocol must be 0. */
	lfd = socket(afx_family(), SOCK_STREAM, 0);
	if (lfd < 0)
		err(1, "socket");

	/* 2. Give it a port. AFX_ADDR_ANY: accept connections for this host. */
	addr = afx_addr(AFX_ADDR_ANY, port);
	if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		err(1, "bind to port %u", port);

	/* 3. Start accepting connections; up to 16 may wait for accept(). */
	if (listen(lfd, 16) < 0)
		err(1, "listen");

	/* Which port did we get? (Interesting when PORT was 0.) */
	len = sizeof(addr);
	if (getsockname(lfd, (struct sockaddr *)&addr, &len) < 0)
		err(1, "getsockname");
	printf("echo server: listening on port %u\n", addr.sx_port);

	/* 4. Serve clients one after the other. */
	for (served = 0; max_clients < 0 || served < max_clients; served++) {
		struct sockaddr_x peer;
		socklen_t peer_len = sizeof(peer);
		long long bytes;
		int cfd;

		/* Blocks until a client connects; peer receives its address. */
		cfd = accept(lfd, (struct sockaddr *)&peer, &peer_len);
		if (cfd < 0) {
			if (errno == EINTR) {
				served--;	/* nobody was served */
				continue;
			}
			err(1, "accept");
		}
		printf("echo server: client from port %u connected\n",
		       peer.sx_port);

		bytes = echo_until_eof(cfd, peer.sx_port);
		if (bytes >= 0)
			printf("echo server: client from port %u disconnected, %lld bytes echoed\n",
			       peer.sx_port, bytes);
		else
			printf("echo server: client from port %u disconnected after an error\n",
			       peer.sx_port);

		if (close(cfd) < 0)
			warn("close");
	}

	if (close(lfd) < 0)
		err(1, "close");
	printf("echo server: served %ld clients, exiting\n", served);
	return 0;
}
