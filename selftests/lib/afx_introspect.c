// SPDX-License-Identifier: GPL-2.0
/*
 * afx_introspect.c - helpers of the introspection selftests; see
 * afx_introspect.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include "afx_lib.h"
#include "afx_introspect.h"

const char *const stat_names[] = {
	"connections", "refused_no_listener", "refused_backlog_full",
	"accept_queue_overflows", "datagrams_sent", "datagrams_received",
	"drops_broadcast_full", "drops_filtered", "drops_no_port",
	"bytes_sent", "bytes_received", "bytes_direct", "sockets_created",
};

_Static_assert(sizeof(stat_names) / sizeof(stat_names[0]) == NSTATS,
	       "NSTATS and stat_names[] disagree");

unsigned long ino_of(int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		return 0;
	return st.st_ino;
}

int module_loaded(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/module/%s", name);
	return access(path, F_OK) == 0;
}

/* Directory of this program, for afx-ss and afx_diag.ko. */
void self_dir(char *buf, size_t size)
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

void afx_ss_path(char *buf, size_t size)
{
	char dir[PATH_MAX - 16];

	self_dir(dir, sizeof(dir));
	snprintf(buf, size, "%s/afx-ss", dir);
	if (access(buf, X_OK))
		snprintf(buf, size, "afx-ss");
}

/* All lines of /proc/net/afx; the count, or -1. *hdr gets the header. */
int proc_read(struct pline *out, int max, char *hdr, size_t hdrsize)
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
int proc_find(unsigned long ino, struct pline *p)
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
int proc_count_port(uint32_t port)
{
	static struct pline all[4096];
	int n = proc_read(all, 4096, NULL, 0), i, c = 0;

	for (i = 0; i < n && i < 4096; i++)
		c += all[i].lport == port;
	return n < 0 ? -1 : c;
}

/* Counter values from /proc/net/afx_stat, in stat_names order. */
int stats_read(unsigned long long *v)
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
int sysctl_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY), err = 0;

	if (fd < 0)
		return errno;
	if (write(fd, val, strlen(val)) < 0)
		err = errno;
	close(fd);
	return err;
}

int sysctl_range(int *lo, int *hi)
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

struct afx_diag_req diag_req(uint32_t show)
{
	struct afx_diag_req r;

	memset(&r, 0, sizeof(r));
	r.sdiag_family = (uint8_t)afx_family();
	r.adiag_show = show;
	r.adiag_cookie[0] = AFX_DIAG_NOCOOKIE;
	r.adiag_cookie[1] = AFX_DIAG_NOCOOKIE;
	return r;
}

void diag_parse(const struct nlmsghdr *h, struct dent *d)
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
int diag_query_len(const void *req, size_t reqlen, int dump,
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

int diag_query(const struct afx_diag_req *req, int dump,
	       struct dent *out, int max)
{
	return diag_query_len(req, sizeof(*req), dump, out, max);
}

/* The dump entry of inode @ino among @n entries, or NULL. */
struct dent *dent_find(struct dent *d, int n, unsigned long ino)
{
	int i;

	for (i = 0; i < n; i++)
		if (d[i].m.adiag_ino == ino)
			return &d[i];
	return NULL;
}

/* finit_module() the afx_diag.ko next to the binaries; 0 or -1. */
int load_diag_ko(void)
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

/* Run afx-ss with @args; parse its socket lines. Count, or -1. */
int afx_ss(const char *args, struct ssline *out, int max, char *raw,
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

struct ssline *ss_find(struct ssline *s, int n, unsigned long ino)
{
	int i;

	for (i = 0; i < n; i++)
		if (s[i].has_ino && s[i].ino == ino)
			return &s[i];
	return NULL;
}

/* ---- /proc/net/afx ------------------------------------------------------- */

/* Was afx_diag loaded when this program started, and did we load it? */
static int diag_preloaded;
static int diag_loaded_by_us;

void afx_diag_setup(void)
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

void afx_diag_restore(void)
{
	if (diag_loaded_by_us && module_loaded("afx_diag"))
		syscall(SYS_delete_module, "afx_diag", O_NONBLOCK);
}
