// SPDX-License-Identifier: GPL-2.0
/*
 * afx-ss - list AF_X sockets, in the manner of ss -x.
 *
 * Speaks the sock_diag interface of uapi/linux/afx_diag.h over
 * NETLINK_SOCK_DIAG (the first request loads afx_diag.ko, and with it
 * afx.ko), finds owning processes through /proc/<pid>/fd and reads the
 * namespace's counters from /proc/net/afx_stat. See afx-ss(8).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>

#include <linux/afx.h>
#include <linux/afx_diag.h>

#include "afx_family.h"

#ifndef AFX_VERSION
#define AFX_VERSION "unknown"
#endif

#define STAT_FILE	"/proc/net/afx_stat"

static const char *prog = "afx-ss";

/* One socket of the reply. */
struct row {
	uint8_t type, state, shutdown;
	int has_local, has_peer, has_peer_ino, has_rqlen, has_uid, has_mem;
	uint32_t ino, cookie[2];
	struct afx_diag_addr local, peer;
	uint32_t peer_ino;
	struct afx_diag_rqlen rq;
	uint32_t uid;
	uint32_t mem[SK_MEMINFO_VARS];
	char *procs;	/* -p: users:(...) or NULL */
};

static struct {
	int all, listening, numeric, procs, extended, memory, summary;
	int no_header;
	unsigned int types;	/* bit per SOCK_* type; 0 = every type */
	unsigned int states;	/* from "state" words; 0 = by -a/-l */
	uint32_t sport, dport;
} opt;

static struct row *rows;
static size_t nrows;

/*
 * The socket types: netid (as ss prints u_str, u_dgr, u_seq) and name in
 * the summary. SOCK_SEQPACKET is connection-oriented like SOCK_STREAM
 * (LISTEN, ESTAB, ...), SOCK_DGRAM the only connectionless type.
 */
static const struct {
	uint8_t type;
	const char *netid, *name;
} types[] = {
	{ SOCK_STREAM, "x_str", "stream" },
	{ SOCK_DGRAM, "x_dgr", "dgram" },
	{ SOCK_SEQPACKET, "x_seq", "seqpacket" },
};

#define NTYPES	(sizeof(types) / sizeof(types[0]))

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void usage(FILE *f, int status)
{
	fprintf(f,
"Usage: %s [options] [filter]\n"
"List the AF_X sockets of this network namespace.\n"
"\n"
"  -a, --all          all sockets (default: connected and connecting only)\n"
"  -l, --listening    listening stream and seqpacket sockets, and bound\n"
"                     unconnected datagram sockets\n"
"  -t, --stream       stream sockets only\n"
"  -d, --dgram        datagram sockets only\n"
"  -S, --seqpacket    seqpacket sockets only (-t, -d and -S add up)\n"
"  -n, --numeric      addresses as numbers (0x00000001 for local)\n"
"  -p, --processes    show the processes that hold each socket\n"
"  -e, --extended     uid, inode, peer inode, cookie, shutdown, memory\n"
"  -m, --memory       socket memory (skmem)\n"
"  -s, --summary      socket counts and the counters of /proc/net/afx_stat\n"
"  -H, --no-header    no column header\n"
"  -N, --net NETNS    enter a network namespace first (name in /run/netns,\n"
"                     or a path such as /proc/PID/ns/net)\n"
"  -V, --version      print the version\n"
"  -h, --help         this text\n"
"\n"
"Filter words (all must match):\n"
"  sport [=] [:]PORT   local port\n"
"  dport [=] [:]PORT   peer port\n"
"  state STATE         established, syn-sent, syn-recv, unconnected,\n"
"                      listening, connected (the first three) or all;\n"
"                      may be repeated, overrides -a and -l\n",
		prog);
	exit(status);
}

static uint32_t parse_port(const char *s)
{
	unsigned long v;
	char *end;

	if (*s == ':')
		s++;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (!*s || *end || errno || v > UINT32_MAX || !isdigit((unsigned char)*s))
		die("bad port '%s'", s);
	return (uint32_t)v;
}

static unsigned int parse_state(const char *s)
{
	static const struct {
		const char *name;
		unsigned int mask;
	} names[] = {
		{ "established", 1U << AFX_DIAG_SS_ESTABLISHED },
		{ "estab", 1U << AFX_DIAG_SS_ESTABLISHED },
		{ "syn-sent", 1U << AFX_DIAG_SS_SYN_SENT },
		{ "connecting", 1U << AFX_DIAG_SS_SYN_SENT },
		{ "syn-recv", 1U << AFX_DIAG_SS_SYN_RECV },
		{ "unconnected", 1U << AFX_DIAG_SS_CLOSE },
		{ "unconn", 1U << AFX_DIAG_SS_CLOSE },
		{ "close", 1U << AFX_DIAG_SS_CLOSE },
		{ "listening", 1U << AFX_DIAG_SS_LISTEN },
		{ "listen", 1U << AFX_DIAG_SS_LISTEN },
		{ "connected", (1U << AFX_DIAG_SS_ESTABLISHED) |
			       (1U << AFX_DIAG_SS_SYN_SENT) |
			       (1U << AFX_DIAG_SS_SYN_RECV) },
		{ "all", AFX_DIAG_SS_ALL },
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcasecmp(s, names[i].name))
			return names[i].mask;
	die("unknown state '%s'", s);
	return 0;
}

/* Filter words after the options. */
static void parse_filter(int argc, char **argv)
{
	int i = 0;

	while (i < argc) {
		const char *w = argv[i++];
		const char *v;

		if (i >= argc)
			die("'%s' needs a value", w);
		v = argv[i++];
		if (!strcmp(w, "sport") || !strcmp(w, "dport")) {
			if (!strcmp(v, "=") || !strcmp(v, "==") ||
			    !strcmp(v, "eq")) {
				if (i >= argc)
					die("'%s =' needs a port", w);
				v = argv[i++];
			}
			if (w[0] == 's')
				opt.sport = parse_port(v);
			else
				opt.dport = parse_port(v);
		} else if (!strcmp(w, "state")) {
			opt.states |= parse_state(v);
		} else {
			die("unknown filter word '%s' (try --help)", w);
		}
	}
}

static void enter_netns(const char *name)
{
	char path[PATH_MAX];
	int fd;

	if (strchr(name, '/'))
		snprintf(path, sizeof(path), "%s", name);
	else
		snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	if (setns(fd, CLONE_NEWNET))
		die("setns %s: %s", path, strerror(errno));
	close(fd);
}

static void parse_reply(const struct nlmsghdr *h)
{
	const struct afx_diag_msg *m = NLMSG_DATA(h);
	const struct nlattr *a;
	struct row *r;
	int len;

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
		die("short reply");
	rows = realloc(rows, (nrows + 1) * sizeof(*rows));
	if (!rows)
		die("out of memory");
	r = &rows[nrows++];
	memset(r, 0, sizeof(*r));
	r->type = m->adiag_type;
	r->state = m->adiag_state;
	r->ino = m->adiag_ino;
	r->cookie[0] = m->adiag_cookie[0];
	r->cookie[1] = m->adiag_cookie[1];

	len = h->nlmsg_len - NLMSG_LENGTH(sizeof(*m));
	a = (const struct nlattr *)((const char *)m + NLMSG_ALIGN(sizeof(*m)));
	while (len >= (int)sizeof(*a) && a->nla_len >= sizeof(*a) &&
	       a->nla_len <= len) {
		const void *d = (const char *)a + NLA_HDRLEN;
		size_t dl = a->nla_len - NLA_HDRLEN;

		switch (a->nla_type & NLA_TYPE_MASK) {
		case AFX_DIAG_NAME:
			if (dl >= sizeof(r->local)) {
				memcpy(&r->local, d, sizeof(r->local));
				r->has_local = 1;
			}
			break;
		case AFX_DIAG_PEER_NAME:
			if (dl >= sizeof(r->peer)) {
				memcpy(&r->peer, d, sizeof(r->peer));
				r->has_peer = 1;
			}
			break;
		case AFX_DIAG_PEER_INO:
			if (dl >= 4) {
				memcpy(&r->peer_ino, d, 4);
				r->has_peer_ino = 1;
			}
			break;
		case AFX_DIAG_RQLEN:
			if (dl >= sizeof(r->rq)) {
				memcpy(&r->rq, d, sizeof(r->rq));
				r->has_rqlen = 1;
			}
			break;
		case AFX_DIAG_UID:
			if (dl >= 4) {
				memcpy(&r->uid, d, 4);
				r->has_uid = 1;
			}
			break;
		case AFX_DIAG_MEMINFO:
			memcpy(r->mem, d, dl < sizeof(r->mem) ? dl : sizeof(r->mem));
			r->has_mem = 1;
			break;
		case AFX_DIAG_SHUTDOWN:
			if (dl >= 1)
				r->shutdown = *(const uint8_t *)d;
			break;
		}
		len -= NLA_ALIGN(a->nla_len);
		a = (const struct nlattr *)((const char *)a + NLA_ALIGN(a->nla_len));
	}
}

/* Dump the sockets the options ask for into rows[]. 0, or -errno. */
static int dump(unsigned int states)
{
	struct {
		struct nlmsghdr nlh;
		struct afx_diag_req r;
	} req;
	struct sockaddr_nl nl = { .nl_family = AF_NETLINK };
	static char buf[32768];
	int fd, done = 0, err = 0;

	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		die("netlink socket: %s", strerror(errno));

	memset(&req, 0, sizeof(req));
	req.nlh.nlmsg_len = sizeof(req);
	req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.nlh.nlmsg_seq = 1;
	req.r.sdiag_family = (uint8_t)afx_family();
	req.r.adiag_types = (uint16_t)opt.types;
	req.r.adiag_states = states;
	req.r.adiag_sport = opt.sport;
	req.r.adiag_dport = opt.dport;
	req.r.adiag_show = AFX_DIAG_SHOW_NAME | AFX_DIAG_SHOW_PEER |
			   AFX_DIAG_SHOW_RQLEN | AFX_DIAG_SHOW_UID |
			   AFX_DIAG_SHOW_MEMINFO;

	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&nl,
		   sizeof(nl)) < 0)
		die("netlink send: %s", strerror(errno));

	while (!done) {
		struct nlmsghdr *h;
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("netlink recv: %s", strerror(errno));
		}
		if (n == 0)
			break;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE) {
				done = 1;
				break;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				err = e->error;
				done = 1;
				break;
			}
			if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY)
				parse_reply(h);
		}
	}
	close(fd);
	return err;
}

/* -p: which processes hold socket inode @ino, as ss prints them. */
struct fdref {
	uint32_t ino;
	int pid, fd;
	char comm[64];
};

static struct fdref *fdrefs;
static size_t nfdrefs;

static void scan_procs(void)
{
	DIR *proc = opendir("/proc");
	struct dirent *p, *f;

	if (!proc)
		return;
	while ((p = readdir(proc))) {
		char path[64], link[128], comm[64] = "?";
		unsigned long ino;
		DIR *fds;
		FILE *cf;
		int pid = atoi(p->d_name);

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/comm", pid);
		cf = fopen(path, "r");
		if (cf) {
			if (fgets(comm, sizeof(comm), cf))
				comm[strcspn(comm, "\n")] = 0;
			fclose(cf);
		}
		snprintf(path, sizeof(path), "/proc/%d/fd", pid);
		fds = opendir(path);
		if (!fds)
			continue;
		while ((f = readdir(fds))) {
			char fpath[sizeof(path) + 256 + 2];
			ssize_t n;

			if (f->d_name[0] == '.')
				continue;
			snprintf(fpath, sizeof(fpath), "%s/%s", path, f->d_name);
			n = readlink(fpath, link, sizeof(link) - 1);
			if (n <= 0)
				continue;
			link[n] = 0;
			if (sscanf(link, "socket:[%lu]", &ino) != 1)
				continue;
			fdrefs = realloc(fdrefs, (nfdrefs + 1) * sizeof(*fdrefs));
			if (!fdrefs)
				die("out of memory");
			fdrefs[nfdrefs].ino = (uint32_t)ino;
			fdrefs[nfdrefs].pid = pid;
			fdrefs[nfdrefs].fd = atoi(f->d_name);
			snprintf(fdrefs[nfdrefs].comm, sizeof(fdrefs[nfdrefs].comm),
				 "%s", comm);
			nfdrefs++;
		}
		closedir(fds);
	}
	closedir(proc);
}

static char *procs_of(uint32_t ino)
{
	char *s = NULL;
	size_t len = 0, i;
	FILE *f;

	if (!ino)
		return NULL;
	f = open_memstream(&s, &len);
	if (!f)
		die("out of memory");
	for (i = 0; i < nfdrefs; i++) {
		if (fdrefs[i].ino != ino)
			continue;
		fprintf(f, "%s(\"%s\",pid=%d,fd=%d)", ftell(f) ? "," : "users:(",
			fdrefs[i].comm, fdrefs[i].pid, fdrefs[i].fd);
	}
	if (ftell(f))
		fputc(')', f);
	fclose(f);
	if (!len) {
		free(s);
		return NULL;
	}
	return s;
}

static const char *state_name(const struct row *r)
{
	switch (r->state) {
	case AFX_DIAG_SS_ESTABLISHED:	return "ESTAB";
	case AFX_DIAG_SS_SYN_SENT:	return "SYN-SENT";
	case AFX_DIAG_SS_SYN_RECV:	return "SYN-RECV";
	case AFX_DIAG_SS_CLOSE:		return "UNCONN";
	case AFX_DIAG_SS_LISTEN:	return "LISTEN";
	}
	return "UNKNOWN";
}

static const char *netid(uint8_t type)
{
	size_t i;

	for (i = 0; i < NTYPES; i++)
		if (types[i].type == type)
			return types[i].netid;
	return "x_???";
}

static void fmt_addr(char *buf, size_t size, int has,
		     const struct afx_diag_addr *a)
{
	char host[16];

	if (!has) {
		snprintf(buf, size, "*:*");
		return;
	}
	if (opt.numeric)
		snprintf(host, sizeof(host), "0x%08x", a->adiag_addr);
	else if (a->adiag_addr == AFX_ADDR_ANY)
		snprintf(host, sizeof(host), "*");
	else if (a->adiag_addr == AFX_ADDR_LOCAL)
		snprintf(host, sizeof(host), "local");
	else if (a->adiag_addr == AFX_ADDR_BROADCAST)
		snprintf(host, sizeof(host), "broadcast");
	else
		snprintf(host, sizeof(host), "0x%08x", a->adiag_addr);
	snprintf(buf, size, "%s:%u", host, a->adiag_port);
}

static void print_rows(void)
{
	static const char *const hdr[] = {
		"Netid", "State", "Recv-Q", "Send-Q",
		"Local Address:Port", "Peer Address:Port",
	};
	char (*cell)[6][48];
	int w[6], c;
	size_t i;

	cell = calloc(nrows ? nrows : 1, sizeof(*cell));
	if (!cell)
		die("out of memory");
	for (c = 0; c < 6; c++)
		w[c] = opt.no_header ? 0 : (int)strlen(hdr[c]);
	for (i = 0; i < nrows; i++) {
		struct row *r = &rows[i];

		snprintf(cell[i][0], 48, "%s", netid(r->type));
		snprintf(cell[i][1], 48, "%s", state_name(r));
		snprintf(cell[i][2], 48, "%u", r->rq.adiag_rqueue);
		snprintf(cell[i][3], 48, "%u", r->rq.adiag_wqueue);
		fmt_addr(cell[i][4], 48, r->has_local, &r->local);
		fmt_addr(cell[i][5], 48, r->has_peer, &r->peer);
		for (c = 0; c < 6; c++)
			if ((int)strlen(cell[i][c]) > w[c])
				w[c] = (int)strlen(cell[i][c]);
	}

	if (!opt.no_header) {
		for (c = 0; c < 6; c++)
			printf("%-*s%s", w[c], hdr[c], c < 5 ? " " : "");
		if (opt.procs)
			printf(" Process");
		putchar('\n');
	}
	for (i = 0; i < nrows; i++) {
		struct row *r = &rows[i];

		for (c = 0; c < 6; c++)
			printf("%-*s%s", w[c], cell[i][c], c < 5 ? " " : "");
		if (opt.procs && r->procs)
			printf(" %s", r->procs);
		if (opt.extended) {
			printf(" uid:%u ino:%u sk:%08x%08x", r->uid, r->ino,
			       r->cookie[1], r->cookie[0]);
			if (r->has_peer_ino)
				printf(" peer:%u", r->peer_ino);
			printf(" %c-%c", r->shutdown & 1 ? '-' : '<',
			       r->shutdown & 2 ? '-' : '>');
		}
		if ((opt.extended || opt.memory) && r->has_mem)
			printf(" skmem:(r%u,rb%u,t%u,tb%u,f%u,w%u,o%u,bl%u,d%u)",
			       r->mem[SK_MEMINFO_RMEM_ALLOC],
			       r->mem[SK_MEMINFO_RCVBUF],
			       r->mem[SK_MEMINFO_WMEM_ALLOC],
			       r->mem[SK_MEMINFO_SNDBUF],
			       r->mem[SK_MEMINFO_FWD_ALLOC],
			       r->mem[SK_MEMINFO_WMEM_QUEUED],
			       r->mem[SK_MEMINFO_OPTMEM],
			       r->mem[SK_MEMINFO_BACKLOG],
			       r->mem[SK_MEMINFO_DROPS]);
		putchar('\n');
	}
	free(cell);
}

static void print_summary(void)
{
	static const uint8_t states[] = {
		AFX_DIAG_SS_LISTEN, AFX_DIAG_SS_ESTABLISHED,
		AFX_DIAG_SS_SYN_SENT, AFX_DIAG_SS_SYN_RECV, AFX_DIAG_SS_CLOSE,
	};
	char line[256];
	size_t i, t, s;
	FILE *f;

	printf("Total: %zu\n\n", nrows);
	printf("%-9s %6s %6s %6s %8s %8s %6s\n", "Type", "Total", "Listen",
	       "Estab", "SynSent", "SynRecv", "Unconn");
	for (t = 0; t < NTYPES; t++) {
		unsigned int n[5] = { 0 }, total = 0;

		for (i = 0; i < nrows; i++) {
			if (rows[i].type != types[t].type)
				continue;
			total++;
			for (s = 0; s < 5; s++)
				n[s] += rows[i].state == states[s];
		}
		printf("%-9s %6u %6u %6u %8u %8u %6u\n", types[t].name, total,
		       n[0], n[1], n[2], n[3], n[4]);
	}

	f = fopen(STAT_FILE, "r");
	if (!f) {
		fprintf(stderr, "%s: %s: %s\n", prog, STAT_FILE, strerror(errno));
		return;
	}
	printf("\nCounters (%s):\n", STAT_FILE);
	while (fgets(line, sizeof(line), f)) {
		char name[128];
		unsigned long long v;

		if (sscanf(line, "%127s %llu", name, &v) == 2)
			printf("  %-24s %llu\n", name, v);
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "listening", no_argument, NULL, 'l' },
		{ "stream", no_argument, NULL, 't' },
		{ "dgram", no_argument, NULL, 'd' },
		{ "seqpacket", no_argument, NULL, 'S' },
		{ "numeric", no_argument, NULL, 'n' },
		{ "processes", no_argument, NULL, 'p' },
		{ "extended", no_argument, NULL, 'e' },
		{ "memory", no_argument, NULL, 'm' },
		{ "summary", no_argument, NULL, 's' },
		{ "no-header", no_argument, NULL, 'H' },
		{ "net", required_argument, NULL, 'N' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned int states;
	size_t i, kept;
	int c, err;

	if (argv[0] && strrchr(argv[0], '/'))
		prog = strrchr(argv[0], '/') + 1;
	else if (argv[0])
		prog = argv[0];

	while ((c = getopt_long(argc, argv, "+altdSnpemsHN:Vh", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'a': opt.all = 1; break;
		case 'l': opt.listening = 1; break;
		case 't': opt.types |= 1U << SOCK_STREAM; break;
		case 'd': opt.types |= 1U << SOCK_DGRAM; break;
		case 'S': opt.types |= 1U << SOCK_SEQPACKET; break;
		case 'n': opt.numeric = 1; break;
		case 'p': opt.procs = 1; break;
		case 'e': opt.extended = 1; break;
		case 'm': opt.memory = 1; break;
		case 's': opt.summary = 1; break;
		case 'H': opt.no_header = 1; break;
		case 'N': enter_netns(optarg); break;
		case 'V':
			printf("%s (afx) %s\n", prog, AFX_VERSION);
			return 0;
		case 'h': usage(stdout, 0); break;
		default: usage(stderr, 2); break;
		}
	}
	parse_filter(argc - optind, argv + optind);

	if (opt.summary)
		states = AFX_DIAG_SS_ALL;
	else if (opt.states)
		states = opt.states;
	else if (opt.all)
		states = AFX_DIAG_SS_ALL;
	else if (opt.listening)
		states = (1U << AFX_DIAG_SS_LISTEN) | (1U << AFX_DIAG_SS_CLOSE);
	else
		states = (1U << AFX_DIAG_SS_ESTABLISHED) |
			 (1U << AFX_DIAG_SS_SYN_SENT) |
			 (1U << AFX_DIAG_SS_SYN_RECV);

	err = dump(states);
	if (err == -ENOENT)
		die("no sock_diag handler for AF_X (family %d): afx_diag.ko is not loaded and could not be loaded (modprobe afx_diag)",
		    afx_family());
	if (err)
		die("sock_diag request failed: %s", strerror(-err));

	/*
	 * -l: listening stream and seqpacket sockets, and bound unconnected
	 * datagram sockets, which take datagrams from anyone (ss -l shows
	 * UDP so).
	 */
	if (opt.listening && !opt.states && !opt.all && !opt.summary) {
		for (i = 0, kept = 0; i < nrows; i++)
			if (rows[i].state == AFX_DIAG_SS_LISTEN ||
			    (rows[i].type == SOCK_DGRAM && rows[i].has_local))
				rows[kept++] = rows[i];
		nrows = kept;
	}

	if (opt.summary) {
		print_summary();
		return 0;
	}
	if (opt.procs) {
		scan_procs();
		for (i = 0; i < nrows; i++)
			rows[i].procs = procs_of(rows[i].ino);
	}
	print_rows();
	return 0;
}
