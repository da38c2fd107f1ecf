// SPDX-License-Identifier: GPL-2.0
/*
 * afx_scale_test.c - one user cannot make the bind tables slow for
 * everyone: the port hash is keyed (an adversary cannot fill a bucket it
 * chooses) and a lookup costs the same with 20,000 sockets bound as with
 * none.
 *
 * Documentation/afx.rst, "Network namespaces". Each test has a network
 * namespace of its own, so that the only sockets in its tables are its
 * own.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "afx_harness.h"

#define FLOOD		20000
/* The bucket count of the kernel's table (AFX_BIND_HASH_BITS). */
#define HASH_BITS	12
#define TRIES		300

/* The kernel's unkeyed hash_32(): what an adversary could aim at. */
static uint32_t unkeyed_bucket(uint32_t port)
{
	return (port * 0x61C88647u) >> (32 - HASH_BITS);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/*
 * The cheapest of TRIES sendto()s from @fd to @port, bound by nobody: the
 * lookup walks the port's bucket and finds no receiver (ECONNREFUSED).
 * The minimum filters out preemption and interrupts.
 */
static uint64_t sendto_unbound_ns(int fd, uint32_t port)
{
	struct sockaddr_x sx = afx_sockaddr(AFX_ADDR_LOCAL, port);
	uint64_t best = UINT64_MAX, t0, t;
	int i;

	for (i = 0; i < TRIES; i++) {
		t0 = now_ns();
		if (sendto(fd, "x", 1, 0, AFX_SA(&sx), AFX_ADDRLEN) != -1 ||
		    errno != ECONNREFUSED)
			return 0;
		t = now_ns() - t0;
		if (t < best)
			best = t;
	}
	return best;
}

/*
 * Bind FLOOD datagram sockets to ports that an unkeyed hash puts in the
 * bucket of one victim port, as an adversary would, and time a send to
 * the victim port before and after.
 * With the unkeyed table this cost 144x; with the keyed one the flood
 * spreads over every bucket and the send costs what it did.
 */
TEST(flooded_bucket_slows_nobody)
{
	struct rlimit rl = { FLOOD + 256, FLOOD + 256 };
	uint32_t victim = 40000, port;
	uint64_t before, after;
	int *fds, n = 0, fd;

	afx_watchdog(600);
	if (unshare(CLONE_NEWNET))
		SKIP(return, "unshare(CLONE_NEWNET): %s", strerror(errno));
	if (setrlimit(RLIMIT_NOFILE, &rl))
		SKIP(return, "setrlimit(NOFILE, %d): %s", FLOOD + 256,
		     strerror(errno));
	fds = calloc(FLOOD, sizeof(*fds));
	ASSERT_NE(NULL, fds);
	fd = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, afx_bind(fd, AFX_ADDR_ANY, 0));

	before = sendto_unbound_ns(fd, victim);
	ASSERT_NE(0, before) TH_LOG("sendto: %s", strerror(errno));

	for (port = 1024; n < FLOOD; port++) {
		if (port == victim ||
		    unkeyed_bucket(port) != unkeyed_bucket(victim))
			continue;
		fds[n] = afx_socket(SOCK_DGRAM);
		ASSERT_LE(0, fds[n]) TH_LOG("socket #%d: %s", n, strerror(errno));
		ASSERT_EQ(0, afx_bind(fds[n], AFX_ADDR_ANY, port))
			TH_LOG("bind %u: %s", port, strerror(errno));
		n++;
	}

	after = sendto_unbound_ns(fd, victim);
	ASSERT_NE(0, after) TH_LOG("sendto: %s", strerror(errno));
	TH_LOG("sendto an unbound port: %llu ns alone, %llu ns with %d sockets aimed at its bucket",
	       (unsigned long long)before, (unsigned long long)after, FLOOD);
	EXPECT_LT(after, 2 * before);

	afx_close_all(fds, n);
	close(fd);
	free(fds);
}

AFX_TEST_MAIN
