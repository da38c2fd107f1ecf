// SPDX-License-Identifier: GPL-2.0
/*
 * afx-dgram-send - the classic UDP-style sender, on AF_X.
 *
 * Shows: socket(SOCK_DGRAM) -> sendto(port) for each message.
 * No connect() and no bind(): the first sendto() gives the socket a free
 * ephemeral port, which the receiver sees as the sender's port.
 *
 * Run:
 *   afx-dgram-send PORT MESSAGE...
 *     Sends each MESSAGE as one datagram to PORT on this host.
 *
 * If no socket is bound to PORT, sendto() fails with ECONNREFUSED (AF_X
 * knows at once that nobody is there; UDP would silently lose the data).
 *
 * Try it:
 *   afx-dgram-recv -n 2 7001 &
 *   afx-dgram-send 7001 hello world
 */
#include <sys/socket.h>
#include "linux/afx.h"

#include <err.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "afx_demo.h"

int main(int argc, char **argv)
{
	struct sockaddr_x to, me;
	socklen_t len;
	uint32_t port;
	int fd, i;

	if (argc < 3) {
		fprintf(stderr, "usage: afx-dgram-send PORT MESSAGE...\n");
		return 2;
	}
	port = afx_parse_port(argv[1]);

	/* 1. A datagram socket of the AF_X family. */
	fd = socket(afx_family(), SOCK_DGRAM, 0);
	if (fd < 0)
		err(1, "socket");

	/* 2. Where the datagrams go: PORT on this host. */
	to = afx_addr(AFX_ADDR_LOCAL, port);

	/*
	 * 3. One sendto() = one datagram. It is sent whole or not at all, so
	 * unlike a stream send() there is no partial count to handle.
	 */
	for (i = 2; i < argc; i++) {
		size_t msg_len = strlen(argv[i]);
		ssize_t n;

		n = sendto(fd, argv[i], msg_len, 0,
			   (struct sockaddr *)&to, sizeof(to));
		if (n < 0)
			err(1, "sendto port %u", port);

		if (i == 2) {
			/* The kernel bound us to an ephemeral port on the way. */
			len = sizeof(me);
			if (getsockname(fd, (struct sockaddr *)&me, &len) < 0)
				err(1, "getsockname");
			printf("dgram sender: sending from port %u\n", me.sx_port);
		}
		printf("dgram sender: sent %zd bytes to port %u: \"%s\"\n",
		       n, port, argv[i]);
	}

	if (close(fd) < 0)
		err(1, "close");
	return 0;
}
