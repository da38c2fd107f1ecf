// SPDX-License-Identifier: GPL-2.0
/*
 * afx-echo-client - the classic Berkeley sockets echo client, on AF_X.
 *
 * Shows the client side of a stream (TCP-like) connection:
 *   socket(SOCK_STREAM) -> connect(port) -> send()/recv() -> shutdown() -> close()
 *
 * Run:
 *   afx-echo-client PORT [MESSAGE...]
 *     With MESSAGEs, sends each one in turn; without, sends each line read
 *     from standard input (without its newline).
 *
 * After each message it reads back exactly as many bytes as it sent, prints
 * them and checks they match. At the end it shuts down its sending side
 * (the server sees EOF), and waits for the server to close the connection,
 * the orderly way to end a TCP-like conversation.
 *
 * Like any simple echo client, it sends a whole message before reading the
 * echo, so keep each message smaller than the socket buffers (a few hundred
 * KB): a bigger one fills both directions and client and server wait for
 * each other forever.
 *
 * Exit status: 0 when every message came back intact, 1 otherwise.
 *
 * Try it with afx-echo-server or afx-poll-server:
 *   afx-echo-server 7000 &
 *   afx-echo-client 7000 hello world
 *   printf 'one\ntwo\n' | afx-echo-client 7000
 */
#include <sys/socket.h>
#include "linux/afx.h"

#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "afx_demo.h"

/* send() all of buf; a stream send may take fewer bytes than asked. */
static void send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			err(1, "send");
		}
		buf += n;
		len -= n;
	}
}

/*
 * recv() exactly len bytes. A stream has no message boundaries: the echo
 * may arrive in several pieces, so keep reading until we have it all.
 */
static void recv_all(int fd, char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = recv(fd, buf, len, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			err(1, "recv");
		}
		if (n == 0)
			errx(1, "server closed the connection before echoing everything");
		buf += n;
		len -= n;
	}
}

/* Send one message, read its echo, print it. Returns 0 if it matched. */
static int echo_one(int fd, const char *msg, size_t len)
{
	char *back = malloc(len + 1);

	if (!back)
		err(1, "malloc");

	send_all(fd, msg, len);
	recv_all(fd, back, len);
	back[len] = '\0';

	printf("echo client: sent \"%s\", got back \"%s\"\n", msg, back);
	if (memcmp(msg, back, len) != 0) {
		warnx("the echo differs from what we sent");
		free(back);
		return -1;
	}
	free(back);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_x addr, me;
	socklen_t len;
	uint32_t port;
	int fd, i, bad = 0;
	char buf[1];
	ssize_t n;

	if (argc < 2) {
		fprintf(stderr, "usage: afx-echo-client PORT [MESSAGE...]\n");
		return 2;
	}
	port = afx_parse_port(argv[1]);

	setvbuf(stdout, NULL, _IOLBF, 0);

	/* 1. A stream socket of the AF_X family. */
	fd = socket(afx_family(), SOCK_STREAM, 0);
	if (fd < 0)
		err(1, "socket");

	/*
	 * 2. Connect to the server on this host. No bind() needed: connect()
	 * gives the socket a free ephemeral port, as TCP does.
	 * ECONNREFUSED means nobody is listening on that port.
	 */
	addr = afx_addr(AFX_ADDR_LOCAL, port);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		err(1, "connect to port %u", port);

	len = sizeof(me);
	if (getsockname(fd, (struct sockaddr *)&me, &len) < 0)
		err(1, "getsockname");
	printf("echo client: connected to port %u from port %u\n",
	       port, me.sx_port);

	/* 3. Talk: the messages from the command line, or stdin lines. */
	if (argc > 2) {
		for (i = 2; i < argc; i++)
			if (echo_one(fd, argv[i], strlen(argv[i])) < 0)
				bad = 1;
	} else {
		char *line = NULL;
		size_t cap = 0;
		ssize_t llen;

		while ((llen = getline(&line, &cap, stdin)) >= 0) {
			if (llen > 0 && line[llen - 1] == '\n')
				line[--llen] = '\0';
			if (llen == 0)
				continue;	/* nothing to echo */
			if (echo_one(fd, line, llen) < 0)
				bad = 1;
		}
		if (ferror(stdin))
			err(1, "reading stdin");
		free(line);
	}

	/*
	 * 4. Orderly close: tell the server we are done sending (it reads
	 * EOF), then wait until it closes its end (we read EOF).
	 */
	if (shutdown(fd, SHUT_WR) < 0)
		err(1, "shutdown");
	do
		n = recv(fd, buf, sizeof(buf), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		err(1, "recv");
	if (n > 0) {
		warnx("unexpected data from the server after the last echo");
		bad = 1;
	}

	if (close(fd) < 0)
		err(1, "close");
	printf("echo client: done, server closed the connection\n");
	return bad;
}
