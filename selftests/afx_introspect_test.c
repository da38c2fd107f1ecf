// SPDX-License-Identifier: GPL-2.0
/*
 * afx_introspect_test - what afx tells about its sockets: /proc/net/afx,
 * /proc/net/afx_stat, the sock_diag interface (uapi/linux/afx_diag.h,
 * afx_diag.ko), the afx-ss tool and the net.afx sysctls.
 *
 * Every socket a test opens is looked up by its inode number and checked
 * field by field, in /proc/net/afx, in a sock_diag dump and in afx-ss
 * output; sockets of another network namespace must not show up. Counter
 * and sysctl tests run in a network namespace of their own, where every
 * counter starts at 0 and nothing else happens.
 *
 * afx_diag.ko: the first sock_diag request loads it through modprobe
 * when it is installed; otherwise the test loads it from the directory
 * above the test binary (the guest's /afx) or $AFX_ROOT. The last test
 * unloads it again if this program loaded it, because it pins afx.ko.
 *
 * afx-ss is looked up next to the test binary, then on $PATH.
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
#include <linux/netlink.h>
#include <linux/sock_diag.h>

/* The 6.1 harness and its macros trip these -Wextra warnings by themselves. */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wmisleading-indentation"

#include "kselftest_harness.h"
#include "afx_test_util.h"
#include <linux/afx_diag.h>

#define WATCHDOG_SEC	60

/* Fixed ports of this file; the other selftests use 31xxx. */
#define PORT_LISTEN	32001U
#define PORT_DGRAM	32002U
#define PORT_DGRAM2	32003U
#define PORT_NS		32010U
#define PORT_NS2	32011U
#define PORT_SS		32020U
#define PORT_SS_DGRAM	32021U
#define PORT_UID	32030U
#define PORT_NOBODY	32099U

#define ST_ESTABLISHED	1
#define ST_SYN_SENT	2
#define ST_SYN_RECV	3
#define ST_CLOSE	7
#define ST_LISTEN	10

#define PROC_AFX	"/proc/net/afx"
#define PROC_STAT	"/proc/net/afx_stat"
#define SYSCTL_RANGE	"/proc/sys/net/afx/ephemeral_port_range"
#define SYSCTL_DGRAM	"/proc/sys/net/afx/dgram_max"
#define PROC_HEADER	"Type St Local            Peer             RecvQ    SendQ    Uid   Inode"

static const char *const stat_names[] = {
	"connections", "refused_no_listener", "refused_backlog_full",
	"accept_queue_overflows", "datagrams_sent", "datagrams_received",
	"drops_broadcast_full", "drops_filtered", "drops_no_port",
	"bytes_sent", "bytes_received",
};

#define NSTATS	(sizeof(stat_names) / sizeof(stat_names[0]))

enum {
	S_CONN, S_REF_NOLISTEN, S_REF_FULL, S_OVERFLOW, S_DSENT, S_DRCVD,
	S_DROP_BCAST, S_DROP_FILT, S_DROP_NOPORT, S_BOUT, S_BIN,
};

/* Was afx_diag loaded when this program started, and did we load it? */
static int diag_preloaded;
static int diag_loaded_by_us;

/* ---- small helpers ------------------------------------------------------- */

static unsigned long ino_of(int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		return 0;
	return st.st_ino;
}

static int module_loaded(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/module/%s", name);
	return access(path, F_OK) == 0;
}

/* Directory of this program, for afx-ss and afx_diag.ko. */
static void self_dir(char *buf, size_t size)
{
	ssize_t n = readlink("/proc/self/exe", buf, size - 1);
	char *slash;

	if (n <= 0) {
		snprintf(buf, size, ".");
		return;
	}
	buf[n] = 0;
	slash = strrchr(buf, '/');
	if (slash)
		*slash = 0;
}

static void afx_ss_path(char *buf, size_t size)
{
	char dir[PATH_MAX - 16];

	self_dir(dir, sizeof(dir));
	snprintf(buf, size, "%s/afx-ss", dir);
	if (access(buf, X_OK))
		snprintf(buf, size, "afx-ss");
}

/* One line of /proc/net/afx. */
struct pline {
	unsigned int type, state;
	uint32_t laddr, lport, paddr, pport, rq, wq, uid;
	unsigned long ino;
};

/* All lines of /proc/net/afx; the count, or -1. *hdr gets the header. */
static int proc_read(struct pline *out, int max, char *hdr, size_t hdrsize)
{
	char line[512];
	FILE *f = fopen(PROC_AFX, "r");
	int n = 0;

	if (!f)
		return -1;
	if (!fgets(line, sizeof(line), f)) {
		fclose(f);
		return -1;
	}
	line[strcspn(line, "\n")] = 0;
	if (hdr && hdrsize) {
		size_t len = strlen(line);

		if (len >= hdrsize)
			len = hdrsize - 1;
		memcpy(hdr, line, len);
		hdr[len] = 0;
	}
	while (fgets(line, sizeof(line), f)) {
		struct pline p;

		if (sscanf(line, "%x %x %x:%u %x:%u %u %u %u %lu",
			   &p.type, &p.state, &p.laddr, &p.lport, &p.paddr,
			   &p.pport, &p.rq, &p.wq, &p.uid, &p.ino) != 10) {
			fclose(f);
			errno = EPROTO;
			return -1;
		}
		if (n < max)
			out[n] = p;
		n++;
	}
	fclose(f);
	return n;
}

/* The /proc/net/afx line of inode @ino: 1 found, 0 not, -1 error. */
static int proc_find(unsigned long ino, struct pline *p)
{
	static struct pline all[4096];
	int n = proc_read(all, 4096, NULL, 0), i;

	if (n < 0)
		return -1;
	for (i = 0; i < n && i < 4096; i++) {
		if (all[i].ino == ino) {
			*p = all[i];
			return 1;
		}
	}
	return 0;
}

/* Number of /proc/net/afx lines with local port @port. */
static int proc_count_port(uint32_t port)
{
	static struct pline all[4096];
	int n = proc_read(all, 4096, NULL, 0), i, c = 0;

	for (i = 0; i < n && i < 4096; i++)
		c += all[i].lport == port;
	return n < 0 ? -1 : c;
}

/* Counter values from /proc/net/afx_stat, in stat_names order. */
static int stats_read(unsigned long long *v)
{
	char line[256], name[128];
	unsigned long long x;
	size_t i, found = 0;
	FILE *f = fopen(PROC_STAT, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%127s %llu", name, &x) != 2)
			continue;
		for (i = 0; i < NSTATS; i++) {
			if (!strcmp(name, stat_names[i])) {
				v[i] = x;
				found++;
			}
		}
	}
	fclose(f);
	if (found != NSTATS) {
		errno = ENOENT;
		return -1;
	}
	return 0;
}

/* Write @val to a sysctl file: 0 or the errno of the write. */
static int sysctl_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY), err = 0;

	if (fd < 0)
		return errno;
	if (write(fd, val, strlen(val)) < 0)
		err = errno;
	close(fd);
	return err;
}

static int sysctl_range(int *lo, int *hi)
{
	FILE *f = fopen(SYSCTL_RANGE, "r");
	int n;

	if (!f)
		return -1;
	n = fscanf(f, "%d %d", lo, hi);
	fclose(f);
	return n == 2 ? 0 : -1;
}

/* ---- sock_diag ----------------------------------------------------------- */

struct dent {
	struct afx_diag_msg m;
	int has_name, has_peer_name, has_peer_ino, has_rqlen, has_uid;
	int has_shutdown, memlen;
	struct afx_diag_addr name, peer;
	uint32_t peer_ino, uid;
	struct afx_diag_rqlen rq;
	uint32_t mem[SK_MEMINFO_VARS];
	uint8_t shutdown;
};

static struct afx_diag_req diag_req(uint32_t show)
{
	struct afx_diag_req r;

	memset(&r, 0, sizeof(r));
	r.sdiag_family = (uint8_t)afx_family();
	r.adiag_show = show;
	r.adiag_cookie[0] = AFX_DIAG_NOCOOKIE;
	r.adiag_cookie[1] = AFX_DIAG_NOCOOKIE;
	return r;
}

#define SHOW_ALL	(AFX_DIAG_SHOW_NAME | AFX_DIAG_SHOW_PEER | \
			 AFX_DIAG_SHOW_RQLEN | AFX_DIAG_SHOW_UID | \
			 AFX_DIAG_SHOW_MEMINFO)

static void diag_parse(const struct nlmsghdr *h, struct dent *d)
{
	const struct afx_diag_msg *m = NLMSG_DATA(h);
	const struct nlattr *a;
	int len;

	memset(d, 0, sizeof(*d));
	d->m = *m;
	len = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*m));
	a = (const struct nlattr *)((const char *)m + NLMSG_ALIGN(sizeof(*m)));
	while (len >= (int)sizeof(*a) && a->nla_len >= sizeof(*a) &&
	       a->nla_len <= len) {
		const void *p = (const char *)a + NLA_HDRLEN;
		int dl = a->nla_len - NLA_HDRLEN;

		switch (a->nla_type) {
		case AFX_DIAG_NAME:
			d->has_name = dl == sizeof(d->name);
			memcpy(&d->name, p, sizeof(d->name));
			break;
		case AFX_DIAG_PEER_NAME:
			d->has_peer_name = dl == sizeof(d->peer);
			memcpy(&d->peer, p, sizeof(d->peer));
			break;
		case AFX_DIAG_PEER_INO:
			d->has_peer_ino = dl == 4;
			memcpy(&d->peer_ino, p, 4);
			break;
		case AFX_DIAG_RQLEN:
			d->has_rqlen = dl == sizeof(d->rq);
			memcpy(&d->rq, p, sizeof(d->rq));
			break;
		case AFX_DIAG_UID:
			d->has_uid = dl == 4;
			memcpy(&d->uid, p, 4);
			break;
		case AFX_DIAG_MEMINFO:
			d->memlen = dl;
			memcpy(d->mem, p, dl < (int)sizeof(d->mem) ? dl : (int)sizeof(d->mem));
			break;
		case AFX_DIAG_SHUTDOWN:
			d->has_shutdown = dl == 1;
			d->shutdown = *(const uint8_t *)p;
			break;
		}
		len -= NLA_ALIGN(a->nla_len);
		a = (const struct nlattr *)((const char *)a + NLA_ALIGN(a->nla_len));
	}
}

/*
 * Send @req with @reqlen bytes of payload (dump or single) and collect
 * the replies: their number, or -errno from an NLMSG_ERROR.
 */
static int diag_query_len(const void *req, size_t reqlen, int dump,
			  struct dent *out, int max)
{
	static char buf[65536];
	struct {
		struct nlmsghdr nlh;
		char payload[256];
	} msg;
	struct sockaddr_nl nl = { .nl_family = AF_NETLINK };
	int fd, n = 0, done = 0, err = 0;

	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return -errno;
	memset(&msg, 0, sizeof(msg));
	msg.nlh.nlmsg_len = NLMSG_LENGTH(reqlen);
	msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	msg.nlh.nlmsg_flags = NLM_F_REQUEST | (dump ? NLM_F_DUMP : 0);
	msg.nlh.nlmsg_seq = 7;
	memcpy(msg.payload, req, reqlen);
	if (sendto(fd, &msg, msg.nlh.nlmsg_len, 0, (struct sockaddr *)&nl,
		   sizeof(nl)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	while (!done) {
		ssize_t r = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h;

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			err = r < 0 ? -errno : -EIO;
			break;
		}
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)r);
		     h = NLMSG_NEXT(h, r)) {
			if (h->nlmsg_type == NLMSG_DONE) {
				done = 1;
				break;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				err = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
				done = 1;
				break;
			}
			if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY)
				continue;
			if (n < max)
				diag_parse(h, &out[n]);
			n++;
			if (!dump)
				done = 1;
		}
	}
	close(fd);
	return err ? err : n;
}

static int diag_query(const struct afx_diag_req *req, int dump,
		      struct dent *out, int max)
{
	return diag_query_len(req, sizeof(*req), dump, out, max);
}

/* The dump entry of inode @ino among @n entries, or NULL. */
static struct dent *dent_find(struct dent *d, int n, unsigned long ino)
{
	int i;

	for (i = 0; i < n; i++)
		if (d[i].m.adiag_ino == ino)
			return &d[i];
	return NULL;
}

/* finit_module() the afx_diag.ko next to the binaries; 0 or -1. */
static int load_diag_ko(void)
{
	char dir[PATH_MAX], path[PATH_MAX + 32];
	const char *root = getenv("AFX_ROOT");
	int fd, i;

	self_dir(dir, sizeof(dir));
	for (i = 0; i < 3; i++) {
		if (i == 0)
			snprintf(path, sizeof(path), "%s/../afx_diag.ko", dir);
		else if (i == 1 && root)
			snprintf(path, sizeof(path), "%s/afx_diag.ko", root);
		else
			snprintf(path, sizeof(path), "afx_diag.ko");
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (syscall(SYS_finit_module, fd, "", 0) == 0 || errno == EEXIST) {
			close(fd);
			return 0;
		}
		close(fd);
	}
	return -1;
}

/*
 * Runs before the tests: remember whether afx_diag was there and make
 * sure it is (the kernel's modprobe finds it only when it is installed).
 */
static void __attribute__((constructor)) diag_setup(void)
{
	struct afx_diag_req req;
	struct dent d;

	diag_preloaded = module_loaded("afx_diag");
	if (diag_preloaded)
		return;
	req = diag_req(0);
	req.adiag_states = 1U << ST_LISTEN;
	if (diag_query(&req, 1, &d, 1) >= 0 && module_loaded("afx_diag")) {
		diag_loaded_by_us = 1;
		return;
	}
	if (load_diag_ko() == 0)
		diag_loaded_by_us = 1;
}

/* ---- afx-ss ------------------------------------------------------------ */

/* One socket line of afx-ss output, split in words. */
struct ssline {
	char netid[16], state[16], local[64], peer[64], users[256];
	unsigned long rq, wq, ino, peer_ino, uid;
	int has_ino, has_peer_ino, has_uid, has_skmem;
};

/* Run afx-ss with @args; parse its socket lines. Count, or -1. */
static int afx_ss(const char *args, struct ssline *out, int max, char *raw,
		  size_t rawsize)
{
	char ss[PATH_MAX], cmd[PATH_MAX + 256], line[1024];
	size_t used = 0;
	int n = 0, first = 1, status;
	FILE *p;

	afx_ss_path(ss, sizeof(ss));
	snprintf(cmd, sizeof(cmd), "%s %s 2>&1", ss, args);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	if (raw)
		raw[0] = 0;
	while (fgets(line, sizeof(line), p)) {
		struct ssline s;
		char *save, *w;
		int col = 0;

		if (raw && used + strlen(line) < rawsize) {
			strcpy(raw + used, line);
			used += strlen(line);
		}
		if (first && !strncmp(line, "Netid", 5)) {
			first = 0;
			continue;
		}
		first = 0;
		memset(&s, 0, sizeof(s));
		for (w = strtok_r(line, " \n", &save); w;
		     w = strtok_r(NULL, " \n", &save), col++) {
			switch (col) {
			case 0: snprintf(s.netid, sizeof(s.netid), "%s", w); break;
			case 1: snprintf(s.state, sizeof(s.state), "%s", w); break;
			case 2: s.rq = strtoul(w, NULL, 10); break;
			case 3: s.wq = strtoul(w, NULL, 10); break;
			case 4: snprintf(s.local, sizeof(s.local), "%s", w); break;
			case 5: snprintf(s.peer, sizeof(s.peer), "%s", w); break;
			default:
				if (!strncmp(w, "users:", 6))
					snprintf(s.users, sizeof(s.users), "%s", w);
				else if (sscanf(w, "ino:%lu", &s.ino) == 1)
					s.has_ino = 1;
				else if (sscanf(w, "peer:%lu", &s.peer_ino) == 1)
					s.has_peer_ino = 1;
				else if (sscanf(w, "uid:%lu", &s.uid) == 1)
					s.has_uid = 1;
				else if (!strncmp(w, "skmem:", 6))
					s.has_skmem = 1;
			}
		}
		if (col < 6)
			continue;
		if (n < max)
			out[n] = s;
		n++;
	}
	status = pclose(p);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		errno = EIO;
		return -1;
	}
	return n;
}

static struct ssline *ss_find(struct ssline *s, int n, unsigned long ino)
{
	int i;

	for (i = 0; i < n; i++)
		if (s[i].has_ino && s[i].ino == ino)
			return &s[i];
	return NULL;
}

/* ---- /proc/net/afx ------------------------------------------------------- */

TEST(proc_format)
{
	static struct pline all[4096];
	char hdr[256], line[512];
	int fd, n;
	FILE *f;

	afx_watchdog(WATCHDOG_SEC);
	fd = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, fd);

	n = proc_read(all, 4096, hdr, sizeof(hdr));
	ASSERT_LE(1, n) TH_LOG("%s: %s", PROC_AFX, strerror(errno));
	EXPECT_STREQ(PROC_HEADER, hdr);

	/* No kernel pointers: no 16-digit hex word anywhere. */
	f = fopen(PROC_AFX, "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		char *save, *w;

		for (w = strtok_r(line, " \n:", &save); w;
		     w = strtok_r(NULL, " \n:", &save))
			EXPECT_GT(16, (int)strlen(w)) TH_LOG("word '%s'", w);
	}
	fclose(f);
	close(fd);
}

TEST(proc_stream_states)
{
	int l, c1, c2, a1, u;
	struct pline p, pc1, pa1;
	unsigned long c1_port, c2_port;
	char buf[100];

	afx_watchdog(WATCHDOG_SEC);
	/* Backlog 0: the accept queue holds one connection. */
	l = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, l);
	ASSERT_EQ(0, afx_bind(l, AFX_ADDR_ANY, PORT_LISTEN));
	ASSERT_EQ(0, listen(l, 0));
	u = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, u);

	ASSERT_EQ(1, proc_find(ino_of(l), &p));
	EXPECT_EQ(SOCK_STREAM, p.type);
	EXPECT_EQ(ST_LISTEN, p.state);
	EXPECT_EQ(AFX_ADDR_ANY, p.laddr);
	EXPECT_EQ(PORT_LISTEN, p.lport);
	EXPECT_EQ(0, p.paddr);
	EXPECT_EQ(0, p.pport);
	EXPECT_EQ(0, p.rq);
	EXPECT_EQ(0, p.uid);

	ASSERT_EQ(1, proc_find(ino_of(u), &p));
	EXPECT_EQ(ST_CLOSE, p.state);
	EXPECT_EQ(0, p.lport);
	EXPECT_EQ(0, p.pport);

	/* The first connection goes on the accept queue at once. */
	c1 = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, c1);
	ASSERT_EQ(0, afx_connect_port(c1, PORT_LISTEN));
	c1_port = afx_local_port(c1);
	ASSERT_EQ(1, proc_find(ino_of(c1), &pc1));
	EXPECT_EQ(ST_ESTABLISHED, pc1.state);
	EXPECT_EQ(c1_port, pc1.lport);
	EXPECT_EQ(AFX_ADDR_LOCAL, pc1.paddr);
	EXPECT_EQ(PORT_LISTEN, pc1.pport);
	ASSERT_EQ(1, proc_find(ino_of(l), &p));
	EXPECT_EQ(1, p.rq);		/* one connection to accept */

	/* The second waits for room: connecting; its child is SYN-RECV. */
	c2 = afx_socket(SOCK_STREAM | SOCK_NONBLOCK);
	ASSERT_LE(0, c2);
	ASSERT_EQ(-1, afx_connect_port(c2, PORT_LISTEN));
	ASSERT_EQ(EINPROGRESS, errno);
	c2_port = afx_local_port(c2);
	ASSERT_EQ(1, proc_find(ino_of(c2), &p));
	EXPECT_EQ(ST_SYN_SENT, p.state);
	EXPECT_EQ(PORT_LISTEN, p.pport);

	/* Children nobody accepted yet have inode 0. */
	{
		static struct pline all[4096];
		int n = proc_read(all, 4096, NULL, 0), i, est = 0, syn = 0;

		ASSERT_LT(0, n);
		for (i = 0; i < n && i < 4096; i++) {
			if (all[i].ino || all[i].lport != PORT_LISTEN)
				continue;
			EXPECT_EQ(AFX_ADDR_LOCAL, all[i].laddr);
			if (all[i].pport == c1_port && all[i].state == ST_ESTABLISHED)
				est++;
			if (all[i].pport == c2_port && all[i].state == ST_SYN_RECV)
				syn++;
		}
		EXPECT_EQ(1, est);
		EXPECT_EQ(1, syn);
	}

	/* accept() hands out c1's child and lets c2 in. */
	a1 = accept(l, NULL, NULL);
	ASSERT_LE(0, a1);
	ASSERT_EQ(1, proc_find(ino_of(a1), &pa1));
	EXPECT_EQ(ST_ESTABLISHED, pa1.state);
	EXPECT_EQ(AFX_ADDR_LOCAL, pa1.laddr);
	EXPECT_EQ(PORT_LISTEN, pa1.lport);
	EXPECT_EQ(c1_port, pa1.pport);
	ASSERT_EQ(1, afx_wait_event(c2, POLLOUT, 2000));
	ASSERT_EQ(1, proc_find(ino_of(c2), &p));
	EXPECT_EQ(ST_ESTABLISHED, p.state);

	/* Queues: bytes waiting at a1 are c1's send queue. */
	memset(buf, 'q', sizeof(buf));
	ASSERT_EQ(100, send(c1, buf, 100, 0));
	ASSERT_EQ(1, proc_find(ino_of(a1), &p));
	EXPECT_EQ(100, p.rq);
	EXPECT_EQ(0, p.wq);
	ASSERT_EQ(1, proc_find(ino_of(c1), &p));
	EXPECT_EQ(0, p.rq);
	EXPECT_EQ(100, p.wq);
	ASSERT_EQ(40, recv(a1, buf, 40, 0));
	ASSERT_EQ(1, proc_find(ino_of(a1), &p));
	EXPECT_EQ(60, p.rq);
	ASSERT_EQ(1, proc_find(ino_of(c1), &p));
	EXPECT_EQ(60, p.wq);

	close(u);
	close(a1);
	close(c1);
	close(c2);
	close(l);
}

TEST(proc_closed_sockets_vanish)
{
	unsigned long ino;
	struct pline p;
	int fd;

	afx_watchdog(WATCHDOG_SEC);
	fd = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, fd);
	ino = ino_of(fd);
	ASSERT_EQ(1, proc_find(ino, &p));
	close(fd);
	EXPECT_EQ(0, proc_find(ino, &p));
}

TEST(proc_dgram)
{
	int r, s, c;
	struct pline p;
	char buf[64];
	long sport;

	afx_watchdog(WATCHDOG_SEC);
	r = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, r);
	ASSERT_EQ(0, afx_bind(r, AFX_ADDR_LOCAL, PORT_DGRAM));
	s = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, s);

	ASSERT_EQ(1, proc_find(ino_of(r), &p));
	EXPECT_EQ(SOCK_DGRAM, p.type);
	EXPECT_EQ(ST_CLOSE, p.state);
	EXPECT_EQ(AFX_ADDR_LOCAL, p.laddr);
	EXPECT_EQ(PORT_DGRAM, p.lport);
	EXPECT_EQ(0, p.pport);
	EXPECT_EQ(0, p.rq);

	/* Two datagrams, 10 and 20 bytes: 30 payload bytes queued. */
	ASSERT_EQ(0, afx_connect_port(s, PORT_DGRAM));
	sport = afx_local_port(s);
	memset(buf, 'd', sizeof(buf));
	ASSERT_EQ(10, send(s, buf, 10, 0));
	ASSERT_EQ(20, send(s, buf, 20, 0));
	ASSERT_EQ(1, proc_find(ino_of(r), &p));
	EXPECT_EQ(30, p.rq);
	EXPECT_EQ(0, p.wq);

	/* A connected datagram socket is established, with its peer. */
	ASSERT_EQ(1, proc_find(ino_of(s), &p));
	EXPECT_EQ(ST_ESTABLISHED, p.state);
	EXPECT_EQ(sport, (long)p.lport);
	EXPECT_EQ(AFX_ADDR_ANY, p.laddr);
	EXPECT_EQ(AFX_ADDR_LOCAL, p.paddr);
	EXPECT_EQ(PORT_DGRAM, p.pport);

	ASSERT_EQ(10, recv(r, buf, sizeof(buf), 0));
	ASSERT_EQ(1, proc_find(ino_of(r), &p));
	EXPECT_EQ(20, p.rq);

	/* connect(AF_UNSPEC) dissolves the association. */
	{
		struct sockaddr sa = { .sa_family = AF_UNSPEC };

		ASSERT_EQ(0, connect(s, &sa, sizeof(sa)));
		ASSERT_EQ(1, proc_find(ino_of(s), &p));
		EXPECT_EQ(ST_CLOSE, p.state);
		EXPECT_EQ(0, p.pport);
	}

	c = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, c);
	ASSERT_EQ(1, proc_find(ino_of(c), &p));
	EXPECT_EQ(0, p.lport);
	close(c);
	close(s);
	close(r);
}

/* A socket of uid 65534 shows that uid, in /proc and sock_diag. */
TEST(proc_diag_uid)
{
	int pfd[2], gate[2];
	unsigned long ino;
	struct pline p;
	struct dent d;
	struct afx_diag_req req;
	pid_t pid;
	char c;

	afx_watchdog(WATCHDOG_SEC);
	if (geteuid() != 0)
		SKIP(return, "needs root to switch uid");
	ASSERT_EQ(0, pipe(pfd));
	ASSERT_EQ(0, pipe(gate));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd;

		afx_watchdog(WATCHDOG_SEC);
		if (setgid(65534) || setuid(65534))
			_exit(2);
		fd = afx_socket(SOCK_DGRAM);
		if (fd < 0 || afx_bind(fd, AFX_ADDR_ANY, PORT_UID))
			_exit(3);
		ino = ino_of(fd);
		if (write(pfd[1], &ino, sizeof(ino)) != sizeof(ino))
			_exit(4);
		if (read(gate[0], &c, 1) < 0)
			_exit(5);
		_exit(0);
	}
	ASSERT_EQ(sizeof(ino), read(pfd[0], &ino, sizeof(ino)));

	ASSERT_EQ(1, proc_find(ino, &p));
	EXPECT_EQ(65534, p.uid);
	EXPECT_EQ(PORT_UID, p.lport);

	req = diag_req(AFX_DIAG_SHOW_UID);
	req.adiag_ino = (uint32_t)ino;
	ASSERT_EQ(1, diag_query(&req, 0, &d, 1));
	EXPECT_TRUE(d.has_uid);
	EXPECT_EQ(65534, d.uid);

	ASSERT_EQ(1, write(gate[1], "x", 1));
	ASSERT_EQ(pid, waitpid(pid, NULL, 0));
}

/* ---- network namespaces ---------------------------------------------------- */

/*
 * A child in a new network namespace and the parent each see their own
 * sockets only, in /proc/net/afx, sock_diag dumps and afx-ss; both may
 * bind the same port.
 */
TEST(netns_isolation)
{
	int tochild[2], toparent[2], l, d, i, n;
	unsigned long child_ino[2], parent_ino;
	static struct dent dents[4096];
	static struct ssline ss[4096];
	struct afx_diag_req req;
	struct pline p;
	pid_t pid;
	int status;

	afx_watchdog(WATCHDOG_SEC);
	ASSERT_EQ(0, pipe(tochild));
	ASSERT_EQ(0, pipe(toparent));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int cl, cd, m, bad = 0;

		afx_watchdog(WATCHDOG_SEC);
		if (unshare(CLONE_NEWNET))
			_exit(4);	/* skip */
		cl = afx_socket(SOCK_STREAM);
		cd = afx_socket(SOCK_DGRAM);
		if (cl < 0 || cd < 0 || afx_bind(cl, AFX_ADDR_ANY, PORT_NS) ||
		    listen(cl, 4) || afx_bind(cd, AFX_ADDR_ANY, PORT_NS2))
			_exit(10);
		child_ino[0] = ino_of(cl);
		child_ino[1] = ino_of(cd);
		if (write(toparent[1], child_ino, sizeof(child_ino)) < 0)
			_exit(11);
		/* Wait for the parent's sockets on the same ports. */
		if (read(tochild[0], &parent_ino, sizeof(parent_ino)) !=
		    sizeof(parent_ino))
			_exit(12);
		/* Only our two sockets: /proc, sock_diag and afx-ss. */
		m = proc_read(&p, 1, NULL, 0);
		if (m != 2)
			bad |= 1;
		if (proc_find(parent_ino, &p) != 0)
			bad |= 2;
		req = diag_req(SHOW_ALL);
		m = diag_query(&req, 1, dents, 4096);
		if (m != 2 || !dent_find(dents, m, child_ino[0]) ||
		    !dent_find(dents, m, child_ino[1]))
			bad |= 4;
		m = afx_ss("-a -e", ss, 4096, NULL, 0);
		if (m != 2 || !ss_find(ss, m, child_ino[0]) ||
		    !ss_find(ss, m, child_ino[1]))
			bad |= 8;
		_exit(bad ? 20 + bad : 0);
	}
	ASSERT_EQ(sizeof(child_ino), read(toparent[0], child_ino,
					  sizeof(child_ino)));

	/* The parent namespace does not see the child's sockets... */
	EXPECT_EQ(0, proc_find(child_ino[0], &p));
	EXPECT_EQ(0, proc_find(child_ino[1], &p));
	EXPECT_EQ(0, proc_count_port(PORT_NS));
	EXPECT_EQ(0, proc_count_port(PORT_NS2));
	req = diag_req(SHOW_ALL);
	n = diag_query(&req, 1, dents, 4096);
	ASSERT_LE(0, n);
	EXPECT_EQ(NULL, dent_find(dents, n, child_ino[0]));
	EXPECT_EQ(NULL, dent_find(dents, n, child_ino[1]));
	for (i = 0; i < n && i < 4096; i++)
		EXPECT_NE(PORT_NS, dents[i].has_name ? dents[i].name.adiag_port : 0);
	n = afx_ss("-a -e", ss, 4096, NULL, 0);
	ASSERT_LE(0, n);
	EXPECT_EQ(NULL, ss_find(ss, n, child_ino[0]));
	EXPECT_EQ(NULL, ss_find(ss, n, child_ino[1]));
	/* ...nor can a single-socket request reach them. */
	req.adiag_ino = (uint32_t)child_ino[0];
	EXPECT_EQ(-ENOENT, diag_query(&req, 0, dents, 1));

	/* The same ports are free here. */
	l = afx_socket(SOCK_STREAM);
	d = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, l);
	ASSERT_LE(0, d);
	ASSERT_EQ(0, afx_bind(l, AFX_ADDR_ANY, PORT_NS));
	ASSERT_EQ(0, listen(l, 4));
	ASSERT_EQ(0, afx_bind(d, AFX_ADDR_ANY, PORT_NS2));
	EXPECT_EQ(1, proc_count_port(PORT_NS));
	parent_ino = ino_of(l);
	ASSERT_EQ(sizeof(parent_ino), write(tochild[1], &parent_ino,
					    sizeof(parent_ino)));

	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	if (WEXITSTATUS(status) == 4)
		SKIP(return, "unshare(CLONE_NEWNET) failed");
	EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("child status %d (20 + bits: 1 proc count, 2 parent visible, 4 diag, 8 afx-ss)",
						  WEXITSTATUS(status));
	close(l);
	close(d);
}

/* ---- sock_diag ------------------------------------------------------------- */

/* Every socket of the test agrees between sock_diag and /proc/net/afx. */
TEST(diag_matches_proc)
{
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
	ASSERT_EQ(0, afx_bind(r, AFX_ADDR_ANY, PORT_DGRAM2));
	ASSERT_EQ(0, afx_connect_port(s, PORT_DGRAM2));
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
		/* The datagram is charged to the receiver's memory. */
		EXPECT_LT(77, d->mem[SK_MEMINFO_RMEM_ALLOC]);
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
	static struct dent dents[4096];
	struct afx_diag_req req;
	int l, c, a, r, n, i;
	long cport;

	afx_watchdog(WATCHDOG_SEC);
	l = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, l);
	ASSERT_EQ(0, afx_bind(l, AFX_ADDR_ANY, PORT_LISTEN));
	ASSERT_EQ(0, listen(l, 4));
	c = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, c);
	ASSERT_EQ(0, afx_connect_port(c, PORT_LISTEN));
	a = accept(l, NULL, NULL);
	ASSERT_LE(0, a);
	cport = afx_local_port(c);
	r = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, r);
	ASSERT_EQ(0, afx_bind(r, AFX_ADDR_ANY, PORT_DGRAM));

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
	req.adiag_sport = PORT_LISTEN;
	n = diag_query(&req, 1, dents, 4096);
	EXPECT_EQ(2, n);
	EXPECT_NE(NULL, dent_find(dents, n, ino_of(l)));
	EXPECT_NE(NULL, dent_find(dents, n, ino_of(a)));

	/* Peer port: the client. */
	req = diag_req(AFX_DIAG_SHOW_NAME);
	req.adiag_dport = PORT_LISTEN;
	n = diag_query(&req, 1, dents, 4096);
	EXPECT_EQ(1, n);
	EXPECT_NE(NULL, dent_find(dents, n, ino_of(c)));

	/* Everything combined: the accepted stream socket only. */
	req = diag_req(AFX_DIAG_SHOW_NAME);
	req.adiag_types = 1U << SOCK_STREAM;
	req.adiag_states = 1U << ST_ESTABLISHED;
	req.adiag_sport = PORT_LISTEN;
	req.adiag_dport = (uint32_t)cport;
	n = diag_query(&req, 1, dents, 4096);
	EXPECT_EQ(1, n);
	EXPECT_NE(NULL, dent_find(dents, n, ino_of(a)));

	/* A port nobody uses matches nothing. */
	req = diag_req(0);
	req.adiag_sport = PORT_NOBODY;
	EXPECT_EQ(0, diag_query(&req, 1, dents, 4096));
	close(a);
	close(c);
	close(l);
	close(r);
}

TEST(diag_single)
{
	struct afx_diag_req req;
	struct dent d, d2;
	int fd;

	afx_watchdog(WATCHDOG_SEC);
	fd = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, afx_bind(fd, AFX_ADDR_ANY, PORT_DGRAM));

	req = diag_req(SHOW_ALL);
	req.adiag_ino = (uint32_t)ino_of(fd);
	ASSERT_EQ(1, diag_query(&req, 0, &d, 1));
	EXPECT_EQ(ino_of(fd), d.m.adiag_ino);
	EXPECT_EQ(SOCK_DGRAM, d.m.adiag_type);
	EXPECT_EQ(PORT_DGRAM, d.name.adiag_port);

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

/* ---- counters ---------------------------------------------------------------- */

static void expect_stats(struct __test_metadata *_metadata,
			 const unsigned long long *want)
{
	unsigned long long got[NSTATS];
	size_t i;

	ASSERT_EQ(0, stats_read(got));
	for (i = 0; i < NSTATS; i++)
		EXPECT_EQ(want[i], got[i]) TH_LOG("counter %s", stat_names[i]);
}

TEST(stat_format)
{
	char line[256], name[128];
	unsigned long long v;
	size_t i = 0;
	FILE *f;

	f = fopen(PROC_STAT, "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		ASSERT_EQ(2, sscanf(line, "%127s %llu", name, &v));
		ASSERT_GT(NSTATS, i);
		EXPECT_STREQ(stat_names[i], name);
		i++;
	}
	fclose(f);
	EXPECT_EQ(NSTATS, i);
}

TEST(stat_stream)
{
	unsigned long long want[NSTATS] = { 0 };
	int l, c1, c2, c3, c4, a1, a2, x;
	char buf[100];

	afx_watchdog(WATCHDOG_SEC);
	if (unshare(CLONE_NEWNET))
		SKIP(return, "unshare(CLONE_NEWNET): %s", strerror(errno));
	expect_stats(_metadata, want);

	l = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, l);
	ASSERT_EQ(0, afx_bind(l, AFX_ADDR_ANY, PORT_LISTEN));
	ASSERT_EQ(0, listen(l, 1));

	/* A connection. */
	c1 = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, c1);
	ASSERT_EQ(0, afx_connect_port(c1, PORT_LISTEN));
	want[S_CONN]++;
	expect_stats(_metadata, want);

	/* Nobody listening. */
	x = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, x);
	ASSERT_EQ(-1, afx_connect_port(x, PORT_NOBODY));
	ASSERT_EQ(ECONNREFUSED, errno);
	want[S_REF_NOLISTEN]++;
	expect_stats(_metadata, want);

	/* A full accept queue: the connector waits (overflow)... */
	c2 = afx_socket(SOCK_STREAM | SOCK_NONBLOCK);
	ASSERT_LE(0, c2);
	ASSERT_EQ(-1, afx_connect_port(c2, PORT_LISTEN));
	ASSERT_EQ(EINPROGRESS, errno);
	want[S_OVERFLOW]++;
	expect_stats(_metadata, want);
	/* ...until accept() makes room: then it is connected. */
	a1 = accept(l, NULL, NULL);
	ASSERT_LE(0, a1);
	want[S_CONN]++;
	expect_stats(_metadata, want);

	/* Full again, and the listener refuses when full. */
	ASSERT_EQ(0, afx_set_int(l, SOL_X, X_REFUSE_WHEN_FULL, 1));
	c3 = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, c3);
	ASSERT_EQ(-1, afx_connect_port(c3, PORT_LISTEN));
	ASSERT_EQ(ECONNREFUSED, errno);
	want[S_OVERFLOW]++;
	want[S_REF_FULL]++;
	expect_stats(_metadata, want);

	/* A waiting connector whose listener closes is refused. */
	ASSERT_EQ(0, afx_set_int(l, SOL_X, X_REFUSE_WHEN_FULL, 0));
	c4 = afx_socket(SOCK_STREAM | SOCK_NONBLOCK);
	ASSERT_LE(0, c4);
	ASSERT_EQ(-1, afx_connect_port(c4, PORT_LISTEN));
	ASSERT_EQ(EINPROGRESS, errno);
	want[S_OVERFLOW]++;
	expect_stats(_metadata, want);

	/* Bytes both ways; a MSG_PEEK is not a read. */
	memset(buf, 'b', sizeof(buf));
	ASSERT_EQ(100, send(c1, buf, 100, 0));
	want[S_BOUT] += 100;
	expect_stats(_metadata, want);
	ASSERT_EQ(10, recv(a1, buf, 10, MSG_PEEK));
	expect_stats(_metadata, want);
	ASSERT_EQ(100, recv(a1, buf, sizeof(buf), MSG_WAITALL));
	want[S_BIN] += 100;
	expect_stats(_metadata, want);

	/* Taking c2's connection lets c4's in. */
	a2 = accept(l, NULL, NULL);
	ASSERT_LE(0, a2);
	want[S_CONN]++;
	expect_stats(_metadata, want);

	/*
	 * The queue is full with c4's connection; a new waiter is refused
	 * when the listener closes.
	 */
	c3 = afx_socket(SOCK_STREAM | SOCK_NONBLOCK);
	ASSERT_LE(0, c3);
	ASSERT_EQ(-1, afx_connect_port(c3, PORT_LISTEN));
	ASSERT_EQ(EINPROGRESS, errno);
	want[S_OVERFLOW]++;
	close(l);
	want[S_REF_NOLISTEN]++;
	expect_stats(_metadata, want);
	EXPECT_EQ(ECONNREFUSED, afx_so_error(c3));
}

TEST(stat_dgram)
{
	unsigned long long want[NSTATS] = { 0 };
	int a, b, f, r, s, one = 1, small = 1;
	struct sockaddr_x sx;
	char buf[4096];

	afx_watchdog(WATCHDOG_SEC);
	if (unshare(CLONE_NEWNET))
		SKIP(return, "unshare(CLONE_NEWNET): %s", strerror(errno));
	memset(buf, 'g', sizeof(buf));

	a = afx_socket(SOCK_DGRAM);
	b = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	ASSERT_EQ(0, afx_bind(a, AFX_ADDR_ANY, PORT_DGRAM));
	ASSERT_EQ(0, afx_bind(b, AFX_ADDR_ANY, PORT_DGRAM2));

	/* Sent, then received. */
	sx = afx_sockaddr(AFX_ADDR_LOCAL, PORT_DGRAM2);
	ASSERT_EQ(30, sendto(a, buf, 30, 0, AFX_SA(&sx), AFX_ADDRLEN));
	want[S_DSENT]++;
	want[S_BOUT] += 30;
	expect_stats(_metadata, want);
	ASSERT_EQ(30, recv(b, buf, sizeof(buf), MSG_PEEK));
	expect_stats(_metadata, want);
	ASSERT_EQ(30, recv(b, buf, sizeof(buf), 0));
	want[S_DRCVD]++;
	want[S_BIN] += 30;
	expect_stats(_metadata, want);

	/* No such port. */
	sx = afx_sockaddr(AFX_ADDR_LOCAL, PORT_NOBODY);
	ASSERT_EQ(-1, sendto(a, buf, 5, 0, AFX_SA(&sx), AFX_ADDRLEN));
	ASSERT_EQ(ECONNREFUSED, errno);
	want[S_DROP_NOPORT]++;
	expect_stats(_metadata, want);

	/* Filtered: f is connected to a, so b's datagram is refused. */
	f = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, f);
	ASSERT_EQ(0, afx_bind(f, AFX_ADDR_ANY, PORT_NS));
	ASSERT_EQ(0, afx_connect_port(f, PORT_DGRAM));
	sx = afx_sockaddr(AFX_ADDR_LOCAL, PORT_NS);
	ASSERT_EQ(-1, sendto(b, buf, 5, 0, AFX_SA(&sx), AFX_ADDRLEN));
	ASSERT_EQ(ECONNREFUSED, errno);
	want[S_DROP_FILT]++;
	expect_stats(_metadata, want);

	/*
	 * Broadcast to a full receiver: r has the smallest receive buffer
	 * and one big datagram queued (an empty queue takes any size).
	 */
	r = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, r);
	ASSERT_EQ(0, setsockopt(r, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)));
	ASSERT_EQ(0, afx_bind(r, AFX_ADDR_ANY, PORT_NS2));
	sx = afx_sockaddr(AFX_ADDR_LOCAL, PORT_NS2);
	ASSERT_EQ(4000, sendto(a, buf, 4000, 0, AFX_SA(&sx), AFX_ADDRLEN));
	want[S_DSENT]++;
	want[S_BOUT] += 4000;
	s = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, s);
	ASSERT_EQ(0, setsockopt(s, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)));
	sx = afx_sockaddr(AFX_ADDR_BROADCAST, PORT_NS2);
	ASSERT_EQ(8, sendto(s, buf, 8, 0, AFX_SA(&sx), AFX_ADDRLEN));
	want[S_DSENT]++;
	want[S_BOUT] += 8;
	want[S_DROP_BCAST]++;
	expect_stats(_metadata, want);

	/* A broadcast copy a connected socket refuses is a filtered drop. */
	sx = afx_sockaddr(AFX_ADDR_BROADCAST, PORT_NS);
	ASSERT_EQ(8, sendto(s, buf, 8, 0, AFX_SA(&sx), AFX_ADDRLEN));
	want[S_DSENT]++;
	want[S_BOUT] += 8;
	want[S_DROP_FILT]++;
	expect_stats(_metadata, want);
}

/* Counters are per namespace: the init namespace's do not move. */
TEST(stat_per_netns)
{
	unsigned long long before[NSTATS], after[NSTATS];
	pid_t pid;
	int status;
	size_t i;

	afx_watchdog(WATCHDOG_SEC);
	ASSERT_EQ(0, stats_read(before));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd;
		struct sockaddr_x sx = afx_sockaddr(AFX_ADDR_LOCAL, PORT_NOBODY);

		if (unshare(CLONE_NEWNET))
			_exit(4);
		fd = afx_socket(SOCK_DGRAM);
		if (fd < 0 || afx_connect_port(afx_socket(SOCK_STREAM), PORT_NOBODY) == 0)
			_exit(10);
		if (sendto(fd, "x", 1, 0, AFX_SA(&sx), AFX_ADDRLEN) != -1)
			_exit(11);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	if (WEXITSTATUS(status) == 4)
		SKIP(return, "unshare(CLONE_NEWNET) failed");
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(0, stats_read(after));
	for (i = 0; i < NSTATS; i++)
		EXPECT_EQ(before[i], after[i]) TH_LOG("counter %s", stat_names[i]);
}

/* ---- sysctls ------------------------------------------------------------- */

TEST(sysctl_port_range)
{
	static const char *const bad[] = {
		"1023 2000", "2000 1999", "1024 65536", "0 0", "-5 100",
		"50000 70000", "abc",
	};
	int lo, hi, fd1, fd2, fd3;
	size_t i;

	afx_watchdog(WATCHDOG_SEC);
	if (unshare(CLONE_NEWNET))
		SKIP(return, "unshare(CLONE_NEWNET): %s", strerror(errno));
	ASSERT_EQ(0, sysctl_range(&lo, &hi));
	EXPECT_EQ(49152, lo);
	EXPECT_EQ(65535, hi);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(EINVAL, sysctl_write(SYSCTL_RANGE, bad[i]))
			TH_LOG("writing '%s'", bad[i]);
		ASSERT_EQ(0, sysctl_range(&lo, &hi));
		EXPECT_EQ(49152, lo) TH_LOG("after '%s'", bad[i]);
		EXPECT_EQ(65535, hi) TH_LOG("after '%s'", bad[i]);
	}

	/* A one-port range: the second ephemeral bind finds none. */
	ASSERT_EQ(0, sysctl_write(SYSCTL_RANGE, "50000 50000"));
	ASSERT_EQ(0, sysctl_range(&lo, &hi));
	EXPECT_EQ(50000, lo);
	EXPECT_EQ(50000, hi);
	fd1 = afx_socket(SOCK_DGRAM);
	fd2 = afx_socket(SOCK_DGRAM);
	fd3 = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, fd1);
	ASSERT_LE(0, fd2);
	ASSERT_LE(0, fd3);
	ASSERT_EQ(0, afx_bind(fd1, AFX_ADDR_ANY, 0));
	EXPECT_EQ(50000, afx_local_port(fd1));
	EXPECT_EQ(-1, afx_bind(fd2, AFX_ADDR_ANY, 0));
	EXPECT_EQ(EADDRNOTAVAIL, errno);
	/* Stream ports are a space of their own. */
	ASSERT_EQ(0, afx_bind(fd3, AFX_ADDR_ANY, 0));
	EXPECT_EQ(50000, afx_local_port(fd3));

	/* Writing lo alone above hi is refused too. */
	EXPECT_EQ(EINVAL, sysctl_write(SYSCTL_RANGE, "50001"));
	ASSERT_EQ(0, sysctl_write(SYSCTL_RANGE, "1024 65535"));
	ASSERT_EQ(0, sysctl_range(&lo, &hi));
	EXPECT_EQ(1024, lo);
	EXPECT_EQ(65535, hi);
	ASSERT_EQ(0, afx_bind(fd2, AFX_ADDR_ANY, 0));
	EXPECT_LE(1024, afx_local_port(fd2));
}

TEST(sysctl_dgram_max)
{
	static const char *const bad[] = { "0", "65537", "-1", "x", "4294967296" };
	int a, b, v;
	size_t i;
	char buf[200];

	afx_watchdog(WATCHDOG_SEC);
	if (unshare(CLONE_NEWNET))
		SKIP(return, "unshare(CLONE_NEWNET): %s", strerror(errno));
	ASSERT_EQ(0, afx_read_sysctl_int(SYSCTL_DGRAM, &v));
	EXPECT_EQ(65536, v);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(EINVAL, sysctl_write(SYSCTL_DGRAM, bad[i]))
			TH_LOG("writing '%s'", bad[i]);
		ASSERT_EQ(0, afx_read_sysctl_int(SYSCTL_DGRAM, &v));
		EXPECT_EQ(65536, v);
	}

	ASSERT_EQ(0, sysctl_write(SYSCTL_DGRAM, "100"));
	a = afx_socket(SOCK_DGRAM);
	b = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	ASSERT_EQ(0, afx_bind(b, AFX_ADDR_ANY, PORT_DGRAM));
	ASSERT_EQ(0, afx_connect_port(a, PORT_DGRAM));
	memset(buf, 'm', sizeof(buf));
	EXPECT_EQ(100, send(a, buf, 100, 0));
	EXPECT_EQ(-1, send(a, buf, 101, 0));
	EXPECT_EQ(EMSGSIZE, errno);
	ASSERT_EQ(0, sysctl_write(SYSCTL_DGRAM, "65536"));
	EXPECT_EQ(101, send(a, buf, 101, 0));
}

/* Each namespace has its own values; a child's changes stay there. */
TEST(sysctl_per_netns)
{
	int lo, hi, lo2, hi2, v, v2, status;
	pid_t pid;

	afx_watchdog(WATCHDOG_SEC);
	ASSERT_EQ(0, sysctl_range(&lo, &hi));
	ASSERT_EQ(0, afx_read_sysctl_int(SYSCTL_DGRAM, &v));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (unshare(CLONE_NEWNET))
			_exit(4);
		if (sysctl_write(SYSCTL_RANGE, "40000 40010") ||
		    sysctl_write(SYSCTL_DGRAM, "1000"))
			_exit(10);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	if (WEXITSTATUS(status) == 4)
		SKIP(return, "unshare(CLONE_NEWNET) failed");
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ(0, sysctl_range(&lo2, &hi2));
	ASSERT_EQ(0, afx_read_sysctl_int(SYSCTL_DGRAM, &v2));
	EXPECT_EQ(lo, lo2);
	EXPECT_EQ(hi, hi2);
	EXPECT_EQ(v, v2);
}

/* ---- afx-ss ------------------------------------------------------------------ */

TEST(afx_ss_lists_sockets)
{
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
	ASSERT_EQ(0, afx_bind(l, AFX_ADDR_ANY, PORT_SS));
	ASSERT_EQ(0, listen(l, 16));
	c = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, c);
	ASSERT_EQ(0, afx_connect_port(c, PORT_SS));
	a = accept(l, NULL, NULL);
	ASSERT_LE(0, a);
	cport = afx_local_port(c);
	d = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, d);
	ASSERT_EQ(0, afx_bind(d, AFX_ADDR_LOCAL, PORT_SS_DGRAM));
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
	snprintf(want, sizeof(want), "*:%u", PORT_SS);
	EXPECT_STREQ(want, s->local);
	EXPECT_STREQ("*:*", s->peer);
	snprintf(want, sizeof(want), "(\"afx_introspect_\",pid=%d,fd=%d)",
		 getpid(), l);
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
	snprintf(want, sizeof(want), "local:%u", PORT_SS);
	EXPECT_STREQ(want, s->peer);
	EXPECT_TRUE(s->has_peer_ino);
	EXPECT_EQ(ino_of(a), s->peer_ino);

	s = ss_find(ss, n, ino_of(a));
	ASSERT_NE(NULL, s) TH_LOG("%s", raw);
	EXPECT_STREQ("ESTAB", s->state);
	EXPECT_EQ(5, s->rq);
	EXPECT_EQ(0, s->wq);
	snprintf(want, sizeof(want), "local:%u", PORT_SS);
	EXPECT_STREQ(want, s->local);
	snprintf(want, sizeof(want), "(\"afx_introspect_\",pid=%d,fd=%d)",
		 getpid(), a);
	EXPECT_NE(NULL, strstr(s->users, want)) TH_LOG("%s", s->users);

	s = ss_find(ss, n, ino_of(d));
	ASSERT_NE(NULL, s) TH_LOG("%s", raw);
	EXPECT_STREQ("x_dgr", s->netid);
	EXPECT_STREQ("UNCONN", s->state);
	snprintf(want, sizeof(want), "local:%u", PORT_SS_DGRAM);
	EXPECT_STREQ(want, s->local);

	s = ss_find(ss, n, ino_of(u));
	ASSERT_NE(NULL, s) TH_LOG("%s", raw);
	EXPECT_STREQ("*:*", s->local);

	/* -n: numeric addresses. */
	n = afx_ss("-a -n -e", ss, 4096, raw, sizeof(raw));
	ASSERT_EQ(5, n);
	s = ss_find(ss, n, ino_of(a));
	ASSERT_NE(NULL, s);
	snprintf(want, sizeof(want), "0x00000001:%u", PORT_SS);
	EXPECT_STREQ(want, s->local);
	s = ss_find(ss, n, ino_of(l));
	ASSERT_NE(NULL, s);
	snprintf(want, sizeof(want), "0x00000000:%u", PORT_SS);
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
	snprintf(args, sizeof(args), "-a -e sport = :%u", PORT_SS);
	n = afx_ss(args, ss, 4096, raw, sizeof(raw));
	ASSERT_EQ(2, n) TH_LOG("%s", raw);
	EXPECT_NE(NULL, ss_find(ss, n, ino_of(l)));
	EXPECT_NE(NULL, ss_find(ss, n, ino_of(a)));
	snprintf(args, sizeof(args), "-a -e dport %u", PORT_SS);
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

/* Last: leave afx_diag as we found it; it pins afx.ko. */
TEST(zz_unload_diag)
{
	if (!diag_loaded_by_us)
		SKIP(return, "afx_diag was %s", diag_preloaded ?
		     "loaded before this test" : "not loaded by this test");
	EXPECT_EQ(0, syscall(SYS_delete_module, "afx_diag", O_NONBLOCK))
		TH_LOG("delete_module(afx_diag): %s", strerror(errno));
}

TEST_HARNESS_MAIN
