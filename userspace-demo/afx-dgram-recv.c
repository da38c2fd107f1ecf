// SPDX-License-Identifier: GPL-2.0
/*
 * afx-dgram-recv - the classic UDP-style receiver, on AF_X.
 *
 * Shows: socket(SOCK_DGRAM) -> bind(port) -> loop { recvfrom() }
 * Each recvfrom() returns exactly one datagram (message boundaries are
 * kept) together with the address of the socket that sent it.
 *
 * Unlike UDP, AF_X datagrams are never dropped silently: when this
 * receiver's queue is full the sender waits (or gets EAGAIN).
 *
 * Run:
 *   afx-dgram-recv [-n N] PORT
 *     -n N   exit after N datagrams (default: run forever)
 *
 * Try it:
 *   afx-dgram-recv -n 2 7001 &
 *   afx-dgram-send 7001 hello world
 */
#include <sys/socket.h>
#include "linux/afx.h"

#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "afx_demo.h"

/* The largest AF_X datagram is 64 KiB, so this buffer holds any of them. */
static char buf[65536];

static void usage(void)
{
	fprintf(stderr, "usage: afx-dgram-recv [-n N] PORT\n");
	exit(2);
}

int main(int argc, char **argv)
{
	long max_count = -1;	/* -1: forever */
	long count;
	struct sockaddr_x addr;
	socklen_t len;
	uint32_t port;
	int fd, opt;

	while ((opt = getopt(argc, argv, "n:")) != -1) {
		switch (opt) {
		case 'n':
			max_count = afx_parse_count(optarg);
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

	/* 1. A datagram socket of the AF_X family. */
	fd = socket(afx_family(), SOCK_DGRAM, 0);
	if (fd < 0)
		err(1, "socket");

	/* 2. Bind the port senders will address. No listen()/accept(). */
	addr = afx_addr(AFX_ADDR_ANY, port);
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		err(1, "bind to port %u", port);

	len = sizeof(addr);
	if (getsockname(fd, (struct sockaddr *)&addr, &len) < 0)
		err(1, "getsockname");
	printf("dgram receiver: listening on port %u\n", addr.sx_port);

	/* 3. One recvfrom() = one datagram, plus who sent it. */
	for (count = 0; max_count < 0 || count < max_count; count++) {
		struct sockaddr_x from;
		socklen_t from_len = sizeof(from);
		ssize_t n;

		n = recvfrom(fd, buf, sizeof(buf), 0,
			     (struct sockaddr *)&from, &from_len);
		if (n < 0) {
			if (errno == EINTR) {
				count--;	/* nothing was received */
				continue;
			}
			err(1, "recvfrom");
		}
		printf("dgram receiver: %zd bytes from port %u: \"%.*s\"\n",
		       n, from.sx_port, (int)n, buf);
	}

	if (close(fd) < 0)
		err(1, "close");
	printf("dgram receiver: got %ld datagrams, exiting\n", count);
	return 0;
}
