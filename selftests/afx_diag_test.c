// SPDX-License-Identifier: GPL-2.0
/*
 * afx_diag_test.c - sock_diag for AF_X (afx_diag.ko):
 * dumps agree with /proc/net/afx, peers and shutdown, filters, single
 * socket queries, big dumps, unloading the module.
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
#include <sys/resource.h>
#include <pthread.h>

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

/* Every socket of the test agrees between sock_diag and /proc/net/afx. */
TEST(diag_matches_proc)
{
	uint32_t port_dgram2 = afx_free_port(0);
	static struct dent dents[4096];
	static struct pline all[4096];
	int l, c, a, r, s, n, m, i, checked = 0;
	struct afx_diag_req req;
	unsigned long inos[5];
	char buf[77];

	afx_watchdog(WATCHDOG_SEC);
	ASSERT_EQ(0, afx_stream_pair_ex(0, &l, &c, &a));
	r = afx_socket(SOCK_DGRAM);
	s = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, r);
	ASSERT_LE(0, s);
	ASSERT_EQ(0, afx_bind(r, AFX_ADDR_ANY, port_dgram2));
	ASSERT_EQ(0, afx_connect_port(s, port_dgram2));
	memset(buf, 'm', sizeof(buf));
	ASSERT_EQ(77, send(s, buf, 77, 0));
	ASSERT_EQ(33, send(c, buf, 33, 0));
	inos[0] = ino_of(l);
	inos[1] = ino_of(c);
	inos[2] = ino_of(a);
	inos[3] = ino_of(r);
	inos[4] = ino_of(s);

	req = diag_req(SHOW_ALL);
	n = diag_query(&req, 1, dents, 4096);
	ASSERT_LE(5, n);
	m = proc_read(all, 4096, NULL, 0);
	ASSERT_LE(5, m);

	for (i = 0; i < m && i < 4096; i++) {
		struct pline *p = &all[i];
		struct dent *d;
		int j, ours = 0;

		for (j = 0; j < 5; j++)
			ours |= p->ino == inos[j];
		if (!ours)
			continue;
		d = dent_find(dents, n, p->ino);
		ASSERT_NE(NULL, d) TH_LOG("inode %lu not in the dump", p->ino);
		EXPECT_EQ(afx_family(), d->m.adiag_family);
		EXPECT_EQ(p->type, d->m.adiag_type);
		EXPECT_EQ(p->state, d->m.adiag_state);
		EXPECT_TRUE(d->has_rqlen);
		EXPECT_EQ(p->rq, d->rq.adiag_rqueue);
		EXPECT_EQ(p->wq, d->rq.adiag_wqueue);
		EXPECT_TRUE(d->has_uid);
		EXPECT_EQ(p->uid, d->uid);
		EXPECT_TRUE(d->has_name);
		EXPECT_EQ(p->laddr, d->name.adiag_addr);
		EXPECT_EQ(p->lport, d->name.adiag_port);
		if (p->pport) {
			EXPECT_TRUE(d->has_peer_name);
			EXPECT_EQ(p->paddr, d->peer.adiag_addr);
			EXPECT_EQ(p->pport, d->peer.adiag_port);
		} else {
			EXPECT_FALSE(d->has_peer_name);
		}
		EXPECT_EQ(SK_MEMINFO_VARS * 4, d->memlen);
		EXPECT_TRUE(d->has_shutdown);
		checked++;
	}
	EXPECT_EQ(5, checked);

	/* The numbers themselves. */
	{
		struct dent *d = dent_find(dents, n, inos[3]);

		ASSERT_NE(NULL, d);
		EXPECT_EQ(77, d->rq.adiag_rqueue);
		/* The datagram and its 8-byte header wait at the receiver. */
		EXPECT_EQ(77 + 8, d->mem[SK_MEMINFO_RMEM_ALLOC]);
		d = dent_find(dents, n, inos[2]);
		ASSERT_NE(NULL, d);
		EXPECT_EQ(33, d->rq.adiag_rqueue);
		d = dent_find(dents, n, inos[1]);
		ASSERT_NE(NULL, d);
		EXPECT_EQ(33, d->rq.adiag_wqueue);
	}
	close(l);
	close(c);
	close(a);
	close(r);
	close(s);
}

TEST(diag_peer_and_shutdown)
{
	static struct dent dents[4096];
	struct afx_diag_req req;
	struct dent *dc, *da;
	int c, a, n;

	afx_watchdog(WATCHDOG_SEC);
	ASSERT_EQ(0, afx_stream_pair_ex(0, NULL, &c, &a));
	ASSERT_EQ(0, shutdown(c, SHUT_WR));

	req = diag_req(AFX_DIAG_SHOW_PEER);
	n = diag_query(&req, 1, dents, 4096);
	ASSERT_LE(2, n);
	dc = dent_find(dents, n, ino_of(c));
	da = dent_find(dents, n, ino_of(a));
	ASSERT_NE(NULL, dc);
	ASSERT_NE(NULL, da);
	ASSERT_TRUE(dc->has_peer_ino);
	ASSERT_TRUE(da->has_peer_ino);
	EXPECT_EQ(ino_of(a), dc->peer_ino);
	EXPECT_EQ(ino_of(c), da->peer_ino);
	/* Only what was asked for comes back. */
	EXPECT_FALSE(dc->has_name);
	EXPECT_FALSE(dc->has_rqlen);
	EXPECT_FALSE(dc->has_uid);
	EXPECT_EQ(0, dc->memlen);
	/* c stopped sending: c has SEND_SHUTDOWN (2), a RCV_SHUTDOWN (1). */
	EXPECT_EQ(2, dc->shutdown);
	EXPECT_EQ(1, da->shutdown);
	close(c);
	close(a);
}

TEST(diag_filters)
{
	uint32_t port_listen = afx_free_port(0);
	uint32_t port_dgram = afx_free_port(0);
	uint32_t port_nobody = afx_free_port(0);
	static struct dent dents[4096];
	struct afx_diag_req req;
	int l, c, a, r, n, i;
	long cport;

	afx_watchdog(WATCHDOG_SEC);
	l = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, l);
	ASSERT_EQ(0, afx_bind(l, AFX_ADDR_ANY, port_listen));
	ASSERT_EQ(0, listen(l, 4));
	c = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, c);
	ASSERT_EQ(0, afx_connect_port(c, port_listen));
	a = accept(l, NULL, NULL);
	ASSERT_LE(0, a);
	cport = afx_local_port(c);
	r = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, r);
	ASSERT_EQ(0, afx_bind(r, AFX_ADDR_ANY, port_dgram));

	/* States: listeners only. */
	req = diag_req(AFX_DIAG_SHOW_NAME);
	req.adiag_states = 1U << ST_LISTEN;
	n = diag_query(&req, 1, dents, 4096);
	ASSERT_LE(1, n);
	for (i = 0; i < n; i++)
		EXPECT_EQ(ST_LISTEN, dents[i].m.adiag_state);
	EXPECT_NE(NULL, dent_find(dents, n, ino_of(l)));
	EXPECT_EQ(NULL, dent_find(dents, n, ino_of(a)));

	/* Types: datagram sockets only. */
	req = diag_req(AFX_DIAG_SHOW_NAME);
	req.adiag_types = 1U << SOCK_DGRAM;
	n = diag_query(&req, 1, dents, 4096);
	ASSERT_LE(1, n);
	for (i = 0; i < n; i++)
		EXPECT_EQ(SOCK_DGRAM, dents[i].m.adiag_type);
	EXPECT_NE(NULL, dent_find(dents, n, ino_of(r)));

	/* Local port: the listener and the accepted socket. */
	req = diag_req(AFX_DIAG_SHOW_NAME);
	req.adiag_sport = port_listen;
	n = diag_query(&req, 1, dents, 4096);
	EXPECT_EQ(2, n);
	EXPECT_NE(NULL, dent_find(dents, n, ino_of(l)));
	EXPECT_NE(NULL, dent_find(dents, n, ino_of(a)));

	/* Peer port: the client. */
	req = diag_req(AFX_DIAG_SHOW_NAME);
	req.adiag_dport = port_listen;
	n = diag_query(&req, 1, dents, 4096);
	EXPECT_EQ(1, n);
	EXPECT_NE(NULL, dent_find(dents, n, ino_of(c)));

	/* Everything combined: the accepted stream socket only. */
	req = diag_req(AFX_DIAG_SHOW_NAME);
	req.adiag_types = 1U << SOCK_STREAM;
	req.adiag_states = 1U << ST_ESTABLISHED;
	req.adiag_sport = port_listen;
	req.adiag_dport = (uint32_t)cport;
	n = diag_query(&req, 1, dents, 4096);
	EXPECT_EQ(1, n);
	EXPECT_NE(NULL, dent_find(dents, n, ino_of(a)));

	/* A port nobody uses matches nothing. */
	req = diag_req(0);
	req.adiag_sport = port_nobody;
	EXPECT_EQ(0, diag_query(&req, 1, dents, 4096));
	close(a);
	close(c);
	close(l);
	close(r);
}

TEST(diag_single)
{
	uint32_t port_dgram = afx_free_port(0);
	struct afx_diag_req req;
	struct dent d, d2;
	int fd;

	afx_watchdog(WATCHDOG_SEC);
	fd = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, afx_bind(fd, AFX_ADDR_ANY, port_dgram));

	req = diag_req(SHOW_ALL);
	req.adiag_ino = (uint32_t)ino_of(fd);
	ASSERT_EQ(1, diag_query(&req, 0, &d, 1));
	EXPECT_EQ(ino_of(fd), d.m.adiag_ino);
	EXPECT_EQ(SOCK_DGRAM, d.m.adiag_type);
	EXPECT_EQ(port_dgram, d.name.adiag_port);

	/* The cookie of the reply names the same socket... */
	req.adiag_cookie[0] = d.m.adiag_cookie[0];
	req.adiag_cookie[1] = d.m.adiag_cookie[1];
	ASSERT_EQ(1, diag_query(&req, 0, &d2, 1));
	EXPECT_EQ(d.m.adiag_cookie[0], d2.m.adiag_cookie[0]);
	EXPECT_EQ(d.m.adiag_cookie[1], d2.m.adiag_cookie[1]);
	/* ...and another cookie is stale. */
	req.adiag_cookie[0] ^= 1;
	EXPECT_EQ(-ESTALE, diag_query(&req, 0, &d2, 1));

	/* Inode 0, an unknown inode, short or bad requests. */
	req = diag_req(0);
	EXPECT_EQ(-EINVAL, diag_query(&req, 0, &d2, 1));
	req.adiag_ino = (uint32_t)ino_of(fd);
	close(fd);
	EXPECT_EQ(-ENOENT, diag_query(&req, 0, &d2, 1));
	req = diag_req(0);
	EXPECT_EQ(-EINVAL, diag_query_len(&req, sizeof(req) - 4, 1, &d2, 1));
	req.sdiag_protocol = 1;
	EXPECT_EQ(-EINVAL, diag_query(&req, 1, &d2, 1));
}

/* A dump larger than one netlink message buffer comes in several parts. */
TEST(diag_big_dump)
{
	static struct dent dents[4096];
	struct afx_diag_req req;
	int fds[600], i, n, found = 0;

	afx_watchdog(WATCHDOG_SEC);
	for (i = 0; i < 600; i++) {
		fds[i] = afx_socket(SOCK_DGRAM);
		ASSERT_LE(0, fds[i]);
	}
	req = diag_req(SHOW_ALL);
	n = diag_query(&req, 1, dents, 4096);
	ASSERT_LE(600, n);
	for (i = 0; i < 600; i++)
		found += dent_find(dents, n, ino_of(fds[i])) != NULL;
	EXPECT_EQ(600, found);
	for (i = 0; i < 600; i++)
		close(fds[i]);
}

/* ---- walks in parts while sockets come and go ---------------------------- */

#define WALK_SOCKS	2400	/* every 4th a victim, the rest survivors */

struct churn {
	int *victims;
	int nvictims;
	volatile int stop;
	long closed;
};

/*
 * Close the victims in random order, paced over the walk, so that many
 * close behind the walk's cursor while it is between two parts.
 */
static void *churn_victims(void *p)
{
	struct churn *c = p;
	int i, j, fd;

	for (i = c->nvictims - 1; i > 0; i--) {
		j = random() % (i + 1);
		fd = c->victims[i];
		c->victims[i] = c->victims[j];
		c->victims[j] = fd;
	}
	for (i = 0; i < c->nvictims && !c->stop; i++) {
		close(c->victims[i]);
		c->victims[i] = -1;
		c->closed++;
		usleep(20);
	}
	return NULL;
}

/* Sockets, every 4th of them a victim, and a thread that closes those. */
static void walk_setup(struct __test_metadata *_metadata, int *fds,
		       int *survivors, int *nsurv, struct churn *c,
		       pthread_t *t)
{
	struct rlimit rl = { WALK_SOCKS + 256, WALK_SOCKS + 256 };
	int i;

	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &rl));
	c->victims = fds;
	c->nvictims = 0;
	*nsurv = 0;
	for (i = 0; i < WALK_SOCKS; i++) {
		int fd = afx_socket(SOCK_DGRAM);

		ASSERT_LE(0, fd);
		if (i % 4 == 0)
			fds[c->nvictims++] = fd;
		else
			survivors[(*nsurv)++] = fd;
	}
	c->stop = 0;
	ASSERT_EQ(0, pthread_create(t, NULL, churn_victims, c));
}

static void walk_teardown(int *survivors, int nsurv, struct churn *c,
			  pthread_t t)
{
	int i;

	c->stop = 1;
	pthread_join(t, NULL);
	for (i = 0; i < c->nvictims; i++)
		if (c->victims[i] >= 0)
			close(c->victims[i]);
	for (i = 0; i < nsurv; i++)
		close(survivors[i]);
}

static int cmp_ul(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;

	return x < y ? -1 : x > y;
}

/* How many times each survivor's inode is among the @n sorted in @seen. */
static long survivors_not_once(const unsigned long *seen, int n,
			       const int *survivors, int nsurv)
{
	unsigned long ino;
	long bad = 0;
	int i, lo, hi, mid, k;

	for (i = 0; i < nsurv; i++) {
		ino = ino_of(survivors[i]);
		lo = 0;
		hi = n;
		while (lo < hi) {
			mid = (lo + hi) / 2;
			if (seen[mid] < ino)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (k = lo; k < n && seen[k] == ino; k++)
			;
		if (k - lo != 1)
			bad++;
	}
	return bad;
}

/* One walk: the inodes it reports, into @seen (at most 4 * WALK_SOCKS). */
typedef void (*walk_fn)(struct __test_metadata *_metadata,
			unsigned long *seen, int *n);

/*
 * Five rounds of: sockets and a thread closing the victims among them, one
 * walk meanwhile, and the check that each survivor was reported once.
 */
static void walk_rounds(struct __test_metadata *_metadata, walk_fn walk,
			const char *what)
{
	static int fds[WALK_SOCKS], survivors[WALK_SOCKS];
	static unsigned long seen[4 * WALK_SOCKS];
	int nsurv = 0, round, n;
	struct churn c = { 0 };
	pthread_t t;
	long bad = 0;

	afx_watchdog(WATCHDOG_SEC);
	for (round = 0; round < 5; round++) {
		walk_setup(_metadata, fds, survivors, &nsurv, &c, &t);
		walk(_metadata, seen, &n);
		ASSERT_LE(nsurv, n);
		qsort(seen, n, sizeof(seen[0]), cmp_ul);
		bad += survivors_not_once(seen, n, survivors, nsurv);
		walk_teardown(survivors, nsurv, &c, t);
	}
	TH_LOG("%d survivors, 5 %s, %ld victims closed during them, %ld not seen once",
	       nsurv, what, c.closed, bad);
	EXPECT_EQ(0, bad);
}

/* Read /proc/net/afx 100 bytes at a time. */
static void proc_walk(struct __test_metadata *_metadata, unsigned long *seen,
		      int *n)
{
	static char text[512 * WALK_SOCKS];
	char *line, *save, *last;
	size_t len = 0;
	ssize_t r;
	int fd;

	fd = open("/proc/net/afx", O_RDONLY);
	ASSERT_LE(0, fd);
	while ((r = read(fd, text + len, 100)) > 0) {
		len += r;
		ASSERT_GT(sizeof(text) - 100, len);
	}
	ASSERT_EQ(0, r);
	close(fd);
	text[len] = 0;
	*n = 0;
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (line == text && !strncmp(line, "Type", 4))
			continue;
		last = strrchr(line, ' ');
		ASSERT_NE(NULL, last);
		ASSERT_GT(4 * WALK_SOCKS, *n);
		seen[(*n)++] = strtoul(last + 1, NULL, 10);
	}
}

/* A sock_diag dump of every socket, which comes in several parts. */
static void diag_walk(struct __test_metadata *_metadata, unsigned long *seen,
		      int *n)
{
	static struct dent dents[4 * WALK_SOCKS];
	struct afx_diag_req req = diag_req(SHOW_ALL);
	int i;

	*n = diag_query(&req, 1, dents, 4 * WALK_SOCKS);
	ASSERT_LE(0, *n);
	for (i = 0; i < *n; i++)
		seen[i] = dents[i].m.adiag_ino;
}

/*
 * /proc/net/afx read in parts of 100 bytes while sockets created
 * between the others close, many behind the reader's position: every
 * socket that lives through the read is listed exactly once (a reader
 * that counts its position in sockets skips one for each that closes
 * behind it).
 */
TEST(proc_read_in_parts_lists_each_survivor_once)
{
	walk_rounds(_metadata, proc_walk, "reads");
}

/* The same for a sock_diag dump. */
TEST(diag_dump_in_parts_reports_each_survivor_once)
{
	walk_rounds(_metadata, diag_walk, "dumps");
}

/*
 * afx_diag can be unloaded (it pins afx.ko while loaded) and loaded again;
 * the program's destructor then leaves it as it was found.
 */
TEST(diag_unload_and_reload)
{
	struct afx_diag_req req;
	struct dent d;

	afx_watchdog(WATCHDOG_SEC);
	if (!module_loaded("afx_diag"))
		afx_diag_setup();
	ASSERT_TRUE(module_loaded("afx_diag")) TH_LOG("afx_diag did not load");
	ASSERT_EQ(0, syscall(SYS_delete_module, "afx_diag", O_NONBLOCK))
		TH_LOG("delete_module(afx_diag): %s", strerror(errno));
	EXPECT_FALSE(module_loaded("afx_diag"));
	/* back again, by autoload or from the .ko next to the binaries */
	req = diag_req(0);
	req.adiag_states = 1U << ST_LISTEN;
	if (diag_query(&req, 1, &d, 1) < 0 || !module_loaded("afx_diag"))
		EXPECT_EQ(0, load_diag_ko());
	EXPECT_TRUE(module_loaded("afx_diag"));
	req = diag_req(0);
	req.adiag_states = 1U << ST_LISTEN;
	EXPECT_LE(0, diag_query(&req, 1, &d, 1)) TH_LOG("%s", strerror(errno));
}

AFX_TEST_MAIN
