// SPDX-License-Identifier: GPL-2.0
/*
 * afx-discover - "who is there?" service discovery with AF_X broadcast.
 *
 * Shows:
 *  - SO_REUSEADDR on datagram sockets: several servers bind the same port
 *    (every one of them must set it before bind());
 *  - SO_BROADCAST and the AFX_ADDR_BROADCAST address: one sendto() hands a
 *    copy of the datagram to every datagram socket bound to that port;
 *  - replying to the address recvfrom() returned;
 *  - collecting answers with poll() until a deadline.
 *
 * Run:
 *   afx-discover serve [-n N] PORT NAME
 *       Bind PORT and answer each "WHO" datagram with "I AM NAME", sent
 *       back to the asker. -n N: exit after N answers (default: forever).
 *   afx-discover ask PORT [TIMEOUT_MS]
 *       Broadcast "WHO" to PORT, then print every answer arriving within
 *       TIMEOUT_MS milliseconds (default 500).
 *
 * Try it:
 *   afx-discover serve 7003 alpha &
 *   afx-discover serve 7003 beta &
 *   afx-discover ask 7003
 */
#include <sys/socket.h>
#include "linux/afx.h"

#include <err.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "afx_demo.h"

#define QUESTION	"WHO"
#define ANSWER_PREFIX	"I AM "

static void usage(void)
{
	fprintf(stderr,
		"usage: afx-discover serve [-n N] PORT NAME\n"
		"       afx-discover ask PORT [TIMEOUT_MS]\n");
	exit(2);
}

/* Milliseconds on a clock that never jumps, for the deadline. */
static long long now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		err(1, "clock_gettime");
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int serve(uint32_t port, const char *name, long max_answers)
{
	char buf[512], answer[256];
	struct sockaddr_x addr;
	long answered = 0;
	int fd, one = 1, alen;

	alen = snprintf(answer, sizeof(answer), ANSWER_PREFIX "%s", name);
	if (alen < 0 || (size_t)alen >= sizeof(answer))
		errx(2, "name too long");

	fd = socket(afx_family(), SOCK_DGRAM, 0);
	if (fd < 0)
		err(1, "socket");

	/*
	 * Let other discovery servers share this port. Only works if every
	 * socket on the port sets SO_REUSEADDR, and before bind().
	 */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		err(1, "setsockopt(SO_REUSEADDR)");

	addr = afx_addr(AFX_ADDR_ANY, port);
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		err(1, "bind to port %u", port);
	printf("%s: waiting for " QUESTION " on port %u\n", name, port);

	while (max_answers < 0 || answered < max_answers) {
		struct sockaddr_x from;
		socklen_t from_len = sizeof(from);
		ssize_t n;

		n = recvfrom(fd, buf, sizeof(buf), 0,
			     (struct sockaddr *)&from, &from_len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err(1, "recvfrom");
		}
		if ((size_t)n != strlen(QUESTION) || memcmp(buf, QUESTION, n)) {
			printf("%s: ignoring a %zd-byte datagram from port %u\n",
			       name, n, from.sx_port);
			continue;
		}

		/*
		 * Answer the asker directly (unicast): recvfrom() filled in
		 * its address, ready to use with sendto().
		 */
		if (sendto(fd, answer, alen, 0,
			   (struct sockaddr *)&from, from_len) < 0) {
			/* e.g. ECONNREFUSED: the asker has gone already */
			warn("answering port %u", from.sx_port);
			continue;
		}
		answered++;
		printf("%s: answered " QUESTION " from port %u\n",
		       name, from.sx_port);
	}

	if (close(fd) < 0)
		err(1, "close");
	printf("%s: answered %ld time(s), exiting\n", name, answered);
	return 0;
}

static int ask(uint32_t port, long timeout_ms)
{
	struct sockaddr_x to;
	long long deadline;
	int fd, one = 1, answers = 0;

	fd = socket(afx_family(), SOCK_DGRAM, 0);
	if (fd < 0)
		err(1, "socket");

	/* Without SO_BROADCAST a send to AFX_ADDR_BROADCAST fails with EACCES. */
	if (setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)) < 0)
		err(1, "setsockopt(SO_BROADCAST)");

	/*
	 * Every datagram socket bound to PORT gets a copy. Our own socket is
	 * bound to an ephemeral port by this sendto(): that is where the
	 * answers come back to.
	 */
	to = afx_addr(AFX_ADDR_BROADCAST, port);
	if (sendto(fd, QUESTION, strlen(QUESTION), 0,
		   (struct sockaddr *)&to, sizeof(to)) < 0)
		err(1, "sendto broadcast port %u", port);
	printf("asker: broadcast " QUESTION " to port %u, waiting %ld ms for answers\n",
	       port, timeout_ms);

	deadline = now_ms() + timeout_ms;
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		struct sockaddr_x from;
		socklen_t from_len = sizeof(from);
		long long left = deadline - now_ms();
		char buf[512];
		ssize_t n;
		int ready;

		if (left <= 0)
			break;
		/* Wait for the next answer, but not past the deadline. */
		ready = poll(&pfd, 1, (int)left);
		if (ready < 0) {
			if (errno == EINTR)
				continue;
			err(1, "poll");
		}
		if (ready == 0)
			break;			/* timed out */

		n = recvfrom(fd, buf, sizeof(buf), 0,
			     (struct sockaddr *)&from, &from_len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err(1, "recvfrom");
		}
		printf("asker: answer from port %u: \"%.*s\"\n",
		       from.sx_port, (int)n, buf);
		answers++;
	}

	if (close(fd) < 0)
		err(1, "close");
	printf("asker: %d answer(s)\n", answers);
	return 0;
}

int main(int argc, char **argv)
{
	/* Our stdout may be a pipe read by a script: print whole lines at once. */
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (argc >= 2 && strcmp(argv[1], "serve") == 0) {
		long max_answers = -1;
		int opt;

		/* Options come after the subcommand: parse argv[1..]. */
		argc--;
		argv++;
		while ((opt = getopt(argc, argv, "n:")) != -1) {
			switch (opt) {
			case 'n':
				max_answers = afx_parse_count(optarg);
				break;
			default:
				usage();
			}
		}
		if (argc - optind != 2)
			usage();
		return serve(afx_parse_port(argv[optind]), argv[optind + 1],
			     max_answers);
	}

	if (argc >= 2 && strcmp(argv[1], "ask") == 0) {
		long timeout_ms = 500;

		if (argc != 3 && argc != 4)
			usage();
		if (argc == 4)
			timeout_ms = afx_parse_count(argv[3]);
		return ask(afx_parse_port(argv[2]), timeout_ms);
	}

	usage();
}
