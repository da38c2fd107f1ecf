// SPDX-License-Identifier: GPL-2.0
/*
 * afx_ss_test.c - afx-ss, the socket lister: sockets,
 * states, queues, owners, the summary, its version; seqpacket sockets
 * (x_seq, -S) as well as stream and datagram ones.
 *
 * Documentation/afx-introspection.rst. Ports come from ephemeral binds
 * (afx_free_port()), so that what a test looks for is its own.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "afx_harness.h"
#include "afx_introspect.h"

#define WATCHDOG_SEC	60

/* afx_diag loaded for these tests, and unloaded after them if we loaded it. */
static void __attribute__((constructor)) diag_setup(void)
{
	afx_diag_setup();
}

static void __attribute__((destructor)) diag_restore(void)
{
	afx_diag_restore();
}

TEST(afx_ss_lists_sockets)
{
	uint32_t port_ss = afx_free_port(0);
	uint32_t port_ss_dgram = afx_free_port(0);
	static struct ssline ss[4096];
	static char raw[65536];
	int l, c, a, d, u, n, fd;
	struct ssline *s;
	char want[128], args[64];
	long cport;

	afx_watchdog(WATCHDOG_SEC);
	if (unshare(CLONE_NEWNET))
		SKIP(return, "unshare(CLONE_NEWNET): %s", strerror(errno));
	l = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, l);
	ASSERT_EQ(0, afx_bind(l, AFX_ADDR_ANY, port_ss));
	ASSERT_EQ(0, listen(l, 16));
	c = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, c);
	ASSERT_EQ(0, afx_connect_port(c, port_ss));
	a = accept(l, NULL, NULL);
	ASSERT_LE(0, a);
	cport = afx_local_port(c);
	d = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, d);
	ASSERT_EQ(0, afx_bind(d, AFX_ADDR_LOCAL, port_ss_dgram));
	u = afx_socket(SOCK_DGRAM);	/* unbound */
	ASSERT_LE(0, u);
	ASSERT_EQ(5, send(c, "hello", 5, 0));

	/* -a -e -p: everything, with owners. */
	n = afx_ss("-a -e -p", ss, 4096, raw, sizeof(raw));
	ASSERT_EQ(5, n) TH_LOG("afx-ss output:\n%s", raw);

	s = ss_find(ss, n, ino_of(l));
	ASSERT_NE(NULL, s) TH_LOG("%s", raw);
	EXPECT_STREQ("x_str", s->netid);
	EXPECT_STREQ("LISTEN", s->state);
	EXPECT_EQ(0, s->rq);
	EXPECT_EQ(16, s->wq);
	snprintf(want, sizeof(want), "*:%u", port_ss);
	EXPECT_STREQ(want, s->local);
	EXPECT_STREQ("*:*", s->peer);
	snprintf(want, sizeof(want), "(\"%.15s\",pid=%d,fd=%d)",
		 program_invocation_short_name, getpid(), l);
	EXPECT_NE(NULL, strstr(s->users, want)) TH_LOG("%s", s->users);
	EXPECT_TRUE(s->has_uid);
	EXPECT_EQ(geteuid(), s->uid);
	EXPECT_TRUE(s->has_skmem);

	s = ss_find(ss, n, ino_of(c));
	ASSERT_NE(NULL, s) TH_LOG("%s", raw);
	EXPECT_STREQ("ESTAB", s->state);
	EXPECT_EQ(0, s->rq);
	EXPECT_EQ(5, s->wq);
	snprintf(want, sizeof(want), "*:%ld", cport);
	EXPECT_STREQ(want, s->local);
	snprintf(want, sizeof(want), "local:%u", port_ss);
	EXPECT_STREQ(want, s->peer);
	EXPECT_TRUE(s->has_peer_ino);
	EXPECT_EQ(ino_of(a), s->peer_ino);

	s = ss_find(ss, n, ino_of(a));
	ASSERT_NE(NULL, s) TH_LOG("%s", raw);
	EXPECT_STREQ("ESTAB", s->state);
	EXPECT_EQ(5, s->rq);
	EXPECT_EQ(0, s->wq);
	snprintf(want, sizeof(want), "local:%u", port_ss);
	EXPECT_STREQ(want, s->local);
	snprintf(want, sizeof(want), "(\"%.15s\",pid=%d,fd=%d)",
		 program_invocation_short_name, getpid(), a);
	EXPECT_NE(NULL, strstr(s->users, want)) TH_LOG("%s", s->users);

	s = ss_find(ss, n, ino_of(d));
	ASSERT_NE(NULL, s) TH_LOG("%s", raw);
	EXPECT_STREQ("x_dgr", s->netid);
	EXPECT_STREQ("UNCONN", s->state);
	snprintf(want, sizeof(want), "local:%u", port_ss_dgram);
	EXPECT_STREQ(want, s->local);

	s = ss_find(ss, n, ino_of(u));
	ASSERT_NE(NULL, s) TH_LOG("%s", raw);
	EXPECT_STREQ("*:*", s->local);

	/* -n: numeric addresses. */
	n = afx_ss("-a -n -e", ss, 4096, raw, sizeof(raw));
	ASSERT_EQ(5, n);
	s = ss_find(ss, n, ino_of(a));
	ASSERT_NE(NULL, s);
	snprintf(want, sizeof(want), "0x00000001:%u", port_ss);
	EXPECT_STREQ(want, s->local);
	s = ss_find(ss, n, ino_of(l));
	ASSERT_NE(NULL, s);
	snprintf(want, sizeof(want), "0x00000000:%u", port_ss);
	EXPECT_STREQ(want, s->local);

	/* Default: connected sockets only. */
	n = afx_ss("-e", ss, 4096, raw, sizeof(raw));
	ASSERT_EQ(2, n) TH_LOG("%s", raw);
	EXPECT_NE(NULL, ss_find(ss, n, ino_of(c)));
	EXPECT_NE(NULL, ss_find(ss, n, ino_of(a)));

	/* -l: the listener and the bound datagram socket. */
	n = afx_ss("-l -e", ss, 4096, raw, sizeof(raw));
	ASSERT_EQ(2, n) TH_LOG("%s", raw);
	EXPECT_NE(NULL, ss_find(ss, n, ino_of(l)));
	EXPECT_NE(NULL, ss_find(ss, n, ino_of(d)));

	/* -t and -d. */
	n = afx_ss("-a -t -e", ss, 4096, raw, sizeof(raw));
	ASSERT_EQ(3, n) TH_LOG("%s", raw);
	EXPECT_EQ(NULL, ss_find(ss, n, ino_of(d)));
	n = afx_ss("-a -d -e", ss, 4096, raw, sizeof(raw));
	ASSERT_EQ(2, n) TH_LOG("%s", raw);
	EXPECT_NE(NULL, ss_find(ss, n, ino_of(d)));
	EXPECT_NE(NULL, ss_find(ss, n, ino_of(u)));

	/* Port filters. */
	snprintf(args, sizeof(args), "-a -e sport = :%u", port_ss);
	n = afx_ss(args, ss, 4096, raw, sizeof(raw));
	ASSERT_EQ(2, n) TH_LOG("%s", raw);
	EXPECT_NE(NULL, ss_find(ss, n, ino_of(l)));
	EXPECT_NE(NULL, ss_find(ss, n, ino_of(a)));
	snprintf(args, sizeof(args), "-a -e dport %u", port_ss);
	n = afx_ss(args, ss, 4096, raw, sizeof(raw));
	ASSERT_EQ(1, n) TH_LOG("%s", raw);
	EXPECT_NE(NULL, ss_find(ss, n, ino_of(c)));
	n = afx_ss("-a -e state listening", ss, 4096, raw, sizeof(raw));
	ASSERT_EQ(1, n) TH_LOG("%s", raw);
	EXPECT_NE(NULL, ss_find(ss, n, ino_of(l)));

	/* Bad usage fails. */
	EXPECT_EQ(-1, afx_ss("--no-such-option", ss, 4096, raw, sizeof(raw)));
	EXPECT_EQ(-1, afx_ss("sport x", ss, 4096, raw, sizeof(raw)));

	/* A socket another process holds shows that process. */
	fd = dup(l);
	ASSERT_LE(0, fd);
	n = afx_ss("-l -e -p", ss, 4096, raw, sizeof(raw));
	s = ss_find(ss, n, ino_of(l));
	ASSERT_NE(NULL, s);
	snprintf(want, sizeof(want), "fd=%d", fd);
	EXPECT_NE(NULL, strstr(s->users, want)) TH_LOG("%s", s->users);
	close(fd);
}

TEST(afx_ss_summary)
{
	static char raw[16384];
	unsigned long long v[NSTATS];
	char line[256];
	size_t i;
	int c, a, n;
	FILE *f;

	afx_watchdog(WATCHDOG_SEC);
	if (unshare(CLONE_NEWNET))
		SKIP(return, "unshare(CLONE_NEWNET): %s", strerror(errno));
	ASSERT_EQ(0, afx_stream_pair_ex(0, NULL, &c, &a));
	ASSERT_EQ(3, send(c, "abc", 3, 0));
	ASSERT_EQ(0, stats_read(v));
	EXPECT_EQ(1, v[S_CONN]);
	EXPECT_EQ(3, v[S_BOUT]);

	n = afx_ss("-s", (struct ssline[1]){}, 0, raw, sizeof(raw));
	ASSERT_LE(0, n) TH_LOG("%s", raw);
	EXPECT_NE(NULL, strstr(raw, "Total: 2\n")) TH_LOG("%s", raw);
	f = fmemopen(raw, strlen(raw), "r");
	ASSERT_NE(NULL, f);
	{
		int found = 0;

		while (fgets(line, sizeof(line), f)) {
			for (i = 0; i < NSTATS; i++) {
				char name[64];
				unsigned long long x;

				if (sscanf(line, " %63s %llu", name, &x) == 2 &&
				    !strcmp(name, stat_names[i])) {
					EXPECT_EQ(v[i], x) TH_LOG("%s", name);
					found++;
				}
			}
			if (!strncmp(line, "stream", 6)) {
				/* Total 2: both ends established. */
				EXPECT_EQ(2, atoi(line + 8)) TH_LOG("%s", line);
			}
		}
		EXPECT_EQ(NSTATS, found);
	}
	fclose(f);
	close(c);
	close(a);
}

/* The rows of @ss whose netid is @netid. */
static int ss_count_netid(const struct ssline *ss, int n, const char *netid)
{
	int i, k = 0;

	for (i = 0; i < n; i++)
		k += !strcmp(ss[i].netid, netid);
	return k;
}

/*
 * SOCK_SEQPACKET sockets are x_seq and show the states and queues of
 * stream sockets: a listener, both ends of a connection (the queues in
 * payload bytes, without the message headers), a bound socket that
 * neither listens nor connects.
 */
TEST(afx_ss_lists_seqpacket_sockets)
{
	static struct ssline ss[4096];
	static char raw[65536];
	int l, c, a, u, n;
	uint32_t port;
	long cport, uport;
	struct ssline *s;
	char want[128];

	afx_watchdog(WATCHDOG_SEC);
	if (unshare(CLONE_NEWNET))
		SKIP(return, "unshare(CLONE_NEWNET): %s", strerror(errno));
	l = afx_listener(SOCK_SEQPACKET, 16, &port);
	ASSERT_LE(0, l);
	c = afx_socket(SOCK_SEQPACKET);
	ASSERT_LE(0, c);
	ASSERT_EQ(0, afx_connect_port(c, port));
	a = accept(l, NULL, NULL);
	ASSERT_LE(0, a);
	cport = afx_local_port(c);
	u = afx_socket(SOCK_SEQPACKET);
	ASSERT_LE(0, u);
	ASSERT_EQ(0, afx_bind(u, AFX_ADDR_ANY, AFX_PORT_ANY));
	uport = afx_local_port(u);
	/* Two messages, 5 payload bytes. */
	ASSERT_EQ(3, send(c, "hel", 3, 0));
	ASSERT_EQ(2, send(c, "lo", 2, 0));

	n = afx_ss("-a -e -p", ss, 4096, raw, sizeof(raw));
	ASSERT_EQ(4, n) TH_LOG("afx-ss output:\n%s", raw);
	EXPECT_EQ(4, ss_count_netid(ss, n, "x_seq")) TH_LOG("%s", raw);

	s = ss_find(ss, n, ino_of(l));
	ASSERT_NE(NULL, s) TH_LOG("%s", raw);
	EXPECT_STREQ("x_seq", s->netid);
	EXPECT_STREQ("LISTEN", s->state);
	EXPECT_EQ(0, s->rq);
	EXPECT_EQ(16, s->wq);
	snprintf(want, sizeof(want), "*:%u", port);
	EXPECT_STREQ(want, s->local);
	EXPECT_STREQ("*:*", s->peer);
	snprintf(want, sizeof(want), "(\"%.15s\",pid=%d,fd=%d)",
		 program_invocation_short_name, getpid(), l);
	EXPECT_NE(NULL, strstr(s->users, want)) TH_LOG("%s", s->users);

	s = ss_find(ss, n, ino_of(c));
	ASSERT_NE(NULL, s) TH_LOG("%s", raw);
	EXPECT_STREQ("x_seq", s->netid);
	EXPECT_STREQ("ESTAB", s->state);
	EXPECT_EQ(0, s->rq);
	EXPECT_EQ(5, s->wq);
	snprintf(want, sizeof(want), "*:%ld", cport);
	EXPECT_STREQ(want, s->local);
	snprintf(want, sizeof(want), "local:%u", port);
	EXPECT_STREQ(want, s->peer);
	EXPECT_TRUE(s->has_peer_ino);
	EXPECT_EQ(ino_of(a), s->peer_ino);

	s = ss_find(ss, n, ino_of(a));
	ASSERT_NE(NULL, s) TH_LOG("%s", raw);
	EXPECT_STREQ("x_seq", s->netid);
	EXPECT_STREQ("ESTAB", s->state);
	EXPECT_EQ(5, s->rq);
	EXPECT_EQ(0, s->wq);
	snprintf(want, sizeof(want), "local:%u", port);
	EXPECT_STREQ(want, s->local);
	EXPECT_TRUE(s->has_peer_ino);
	EXPECT_EQ(ino_of(c), s->peer_ino);

	s = ss_find(ss, n, ino_of(u));
	ASSERT_NE(NULL, s) TH_LOG("%s", raw);
	EXPECT_STREQ("x_seq", s->netid);
	EXPECT_STREQ("UNCONN", s->state);
	snprintf(want, sizeof(want), "*:%ld", uport);
	EXPECT_STREQ(want, s->local);

	/* Default: the connection. */
	n = afx_ss("-e", ss, 4096, raw, sizeof(raw));
	ASSERT_EQ(2, n) TH_LOG("%s", raw);
	EXPECT_NE(NULL, ss_find(ss, n, ino_of(c)));
	EXPECT_NE(NULL, ss_find(ss, n, ino_of(a)));

	/* -l: the listener, not the bound socket (it is no datagram one). */
	n = afx_ss("-l -e", ss, 4096, raw, sizeof(raw));
	ASSERT_EQ(1, n) TH_LOG("%s", raw);
	EXPECT_NE(NULL, ss_find(ss, n, ino_of(l)));
}

/*
 * -S (--seqpacket) shows the seqpacket sockets and nothing else, as -t
 * the stream and -d the datagram ones; the three add up.
 */
TEST(afx_ss_seqpacket_filter)
{
	static struct ssline ss[4096];
	static char raw[65536];
	int l, c, a, sv[2], sl, sc, sa, d, n, i;
	uint32_t port;

	afx_watchdog(WATCHDOG_SEC);
	if (unshare(CLONE_NEWNET))
		SKIP(return, "unshare(CLONE_NEWNET): %s", strerror(errno));
	/* Seqpacket: a listener, a connection, a socketpair. */
	l = afx_listener(SOCK_SEQPACKET, 16, &port);
	ASSERT_LE(0, l);
	c = afx_socket(SOCK_SEQPACKET);
	ASSERT_LE(0, c);
	ASSERT_EQ(0, afx_connect_port(c, port));
	a = accept(l, NULL, NULL);
	ASSERT_LE(0, a);
	ASSERT_EQ(0, socketpair(afx_family(), SOCK_SEQPACKET, 0, sv));
	/* The others: a stream listener and connection, a datagram socket. */
	ASSERT_EQ(0, afx_stream_pair_ex(0, &sl, &sc, &sa));
	d = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, d);
	ASSERT_EQ(0, afx_bind(d, AFX_ADDR_LOCAL, AFX_PORT_ANY));

	n = afx_ss("-a -e", ss, 4096, raw, sizeof(raw));
	ASSERT_EQ(9, n) TH_LOG("%s", raw);
	EXPECT_EQ(5, ss_count_netid(ss, n, "x_seq")) TH_LOG("%s", raw);

	n = afx_ss("-a -S -e", ss, 4096, raw, sizeof(raw));
	ASSERT_EQ(5, n) TH_LOG("%s", raw);
	EXPECT_EQ(5, ss_count_netid(ss, n, "x_seq")) TH_LOG("%s", raw);
	EXPECT_NE(NULL, ss_find(ss, n, ino_of(l)));
	EXPECT_NE(NULL, ss_find(ss, n, ino_of(c)));
	EXPECT_NE(NULL, ss_find(ss, n, ino_of(a)));
	for (i = 0; i < 2; i++) {
		struct ssline *s = ss_find(ss, n, ino_of(sv[i]));

		ASSERT_NE(NULL, s) TH_LOG("%s", raw);
		EXPECT_STREQ("ESTAB", s->state);
		EXPECT_TRUE(s->has_peer_ino);
		EXPECT_EQ(ino_of(sv[!i]), s->peer_ino);
	}

	/* The long option. */
	n = afx_ss("-a --seqpacket -e", ss, 4096, raw, sizeof(raw));
	ASSERT_EQ(5, n) TH_LOG("%s", raw);
	EXPECT_EQ(5, ss_count_netid(ss, n, "x_seq")) TH_LOG("%s", raw);

	/* With the default states: both connections, not the listener. */
	n = afx_ss("-S -e", ss, 4096, raw, sizeof(raw));
	ASSERT_EQ(4, n) TH_LOG("%s", raw);
	EXPECT_EQ(4, ss_count_netid(ss, n, "x_seq")) TH_LOG("%s", raw);
	EXPECT_EQ(NULL, ss_find(ss, n, ino_of(l)));

	/* With -l: the listener alone. */
	n = afx_ss("-l -S -e", ss, 4096, raw, sizeof(raw));
	ASSERT_EQ(1, n) TH_LOG("%s", raw);
	EXPECT_NE(NULL, ss_find(ss, n, ino_of(l)));

	/* -t and -d show none of them. */
	n = afx_ss("-a -t -e", ss, 4096, raw, sizeof(raw));
	ASSERT_EQ(3, n) TH_LOG("%s", raw);
	EXPECT_EQ(3, ss_count_netid(ss, n, "x_str")) TH_LOG("%s", raw);
	n = afx_ss("-a -d -e", ss, 4096, raw, sizeof(raw));
	ASSERT_EQ(1, n) TH_LOG("%s", raw);
	EXPECT_NE(NULL, ss_find(ss, n, ino_of(d)));

	/* -t -S: stream and seqpacket, no datagram socket. */
	n = afx_ss("-a -tS -e", ss, 4096, raw, sizeof(raw));
	ASSERT_EQ(8, n) TH_LOG("%s", raw);
	EXPECT_EQ(NULL, ss_find(ss, n, ino_of(d)));
}

/* -s counts seqpacket sockets on a line of their own. */
TEST(afx_ss_summary_seqpacket)
{
	static char raw[16384];
	unsigned int v[6];
	char line[256];
	int l, c, a, u, found = 0;
	uint32_t port;
	FILE *f;

	afx_watchdog(WATCHDOG_SEC);
	if (unshare(CLONE_NEWNET))
		SKIP(return, "unshare(CLONE_NEWNET): %s", strerror(errno));
	l = afx_listener(SOCK_SEQPACKET, 16, &port);
	ASSERT_LE(0, l);
	c = afx_socket(SOCK_SEQPACKET);
	ASSERT_LE(0, c);
	ASSERT_EQ(0, afx_connect_port(c, port));
	a = accept(l, NULL, NULL);
	ASSERT_LE(0, a);
	u = afx_socket(SOCK_SEQPACKET);
	ASSERT_LE(0, u);

	ASSERT_LE(0, afx_ss("-s", (struct ssline[1]){}, 0, raw, sizeof(raw)))
		TH_LOG("%s", raw);
	EXPECT_NE(NULL, strstr(raw, "Total: 4\n")) TH_LOG("%s", raw);
	f = fmemopen(raw, strlen(raw), "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "seqpacket %u %u %u %u %u %u", &v[0], &v[1],
			   &v[2], &v[3], &v[4], &v[5]) == 6) {
			/* Total, Listen, Estab, SynSent, SynRecv, Unconn */
			EXPECT_EQ(4, v[0]) TH_LOG("%s", line);
			EXPECT_EQ(1, v[1]) TH_LOG("%s", line);
			EXPECT_EQ(2, v[2]) TH_LOG("%s", line);
			EXPECT_EQ(0, v[3]) TH_LOG("%s", line);
			EXPECT_EQ(0, v[4]) TH_LOG("%s", line);
			EXPECT_EQ(1, v[5]) TH_LOG("%s", line);
			found++;
		} else if (!strncmp(line, "stream", 6)) {
			EXPECT_EQ(0, atoi(line + 6)) TH_LOG("%s", line);
		}
	}
	fclose(f);
	EXPECT_EQ(1, found) TH_LOG("%s", raw);
}

/* afx-ss -V names the same version as the module. */
TEST(afx_ss_version)
{
	char ss[PATH_MAX], cmd[PATH_MAX + 16], out[256] = "", ver[128] = "";
	FILE *p, *f;

	afx_ss_path(ss, sizeof(ss));
	snprintf(cmd, sizeof(cmd), "%s -V", ss);
	p = popen(cmd, "r");
	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, fgets(out, sizeof(out), p));
	ASSERT_EQ(0, pclose(p));
	f = fopen("/sys/module/afx/version", "r");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(ver, sizeof(ver), f));
	fclose(f);
	ver[strcspn(ver, "\n")] = 0;
	out[strcspn(out, "\n")] = 0;
	ASSERT_EQ(0, strncmp(out, "afx-ss (afx) ", 13)) TH_LOG("%s", out);
	/*
	 * Both come from git describe at build time; a commit between
	 * `make module` and `make userspace` makes them differ legitimately.
	 */
	if (strcmp(out + 13, ver) && strstr(out, "-g") && strstr(ver, "-g"))
		SKIP(return, "afx-ss %s and afx.ko %s were built at different commits",
		     out + 13, ver);
	EXPECT_STREQ(ver, out + 13);
}

AFX_TEST_MAIN
