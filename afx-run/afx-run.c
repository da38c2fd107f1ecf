// SPDX-License-Identifier: GPL-2.0
/*
 * afx-run - run a program with its loopback TCP (and UDP) sockets on AF_X.
 *
 *   afx-run [--ports LIST] [--udp] [--fallback] [--debug] [--lib PATH]
 *           [--] PROGRAM [ARGS...]
 *
 * Preloads libafx-run.so (see its header for what it moves and how) and
 * runs PROGRAM. The options and exit statuses (EXIT_* below) are
 * documented in afx-run(1).
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* <elf.h>'s PF_X is a program header flag; afx.h's is the family. */
#undef PF_X
#include <linux/afx.h>
#include "afx_family.h"

#define LIB_NAME	"libafx-run.so"
#define EXIT_OWN	125
#define EXIT_CANNOT	126
#define EXIT_NOTFOUND	127

static void usage(FILE *f)
{
	fprintf(f,
		"usage: afx-run [--ports LIST] [--udp] [--fallback] [--debug] [--lib PATH]\n"
		"               [--] PROGRAM [ARGS...]\n"
		"Run PROGRAM with its loopback TCP sockets (and UDP ones with --udp) on AF_X.\n"
		"  --ports LIST  all (default), or ports and ranges: 6379,8000-8080\n"
		"  --udp         datagram sockets too\n"
		"  --fallback    a connect() with no AF_X listener goes to TCP instead\n"
		"  --debug       log every decision to stderr (AFX_RUN_DEBUG=1)\n"
		"  --lib PATH    the library to preload (default: next to afx-run)\n");
}

/* "all" or "p[-q][,...]" with 1 <= p <= q <= 65535. */
static int ports_ok(const char *s)
{
	char *end;

	if (!strcmp(s, "all"))
		return 1;
	if (!*s)
		return 0;
	while (*s) {
		unsigned long lo, hi;

		if (*s < '0' || *s > '9')
			return 0;
		lo = strtoul(s, &end, 10);
		if (lo < 1 || lo > 65535)
			return 0;
		hi = lo;
		s = end;
		if (*s == '-') {
			if (s[1] < '0' || s[1] > '9')
				return 0;
			hi = strtoul(s + 1, &end, 10);
			if (hi < lo || hi > 65535)
				return 0;
			s = end;
		}
		if (*s == ',' && s[1])
			s++;
		else if (*s)
			return 0;
	}
	return 1;
}

/* The library: --lib, $AFX_RUN_LIB, next to us, or ../lib/afx/. */
static int find_lib(const char *given, char *out, size_t size)
{
	char self[PATH_MAX], *slash;
	ssize_t n;

	if (!given)
		given = getenv("AFX_RUN_LIB");
	if (given) {
		if (!realpath(given, out) || access(out, R_OK))
			return -1;
		return 0;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n < 0)
		return -1;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	if (snprintf(out, size, "%s/%s", self, LIB_NAME) >= (int)size)
		return -1;
	if (!access(out, R_OK))
		return 0;
	if (snprintf(out, size, "%s/../lib/afx/%s", self, LIB_NAME) >= (int)size)
		return -1;
	if (!access(out, R_OK)) {
		char real[PATH_MAX];

		if (realpath(out, real))
			snprintf(out, size, "%s", real);
		return 0;
	}
	return -1;
}

/* PROGRAM's path as execvp() would find it, or NULL. */
static char *find_program(const char *prog, char *buf, size_t size)
{
	const char *path = getenv("PATH"), *p, *colon;

	if (strchr(prog, '/'))
		return access(prog, F_OK) ? NULL : (char *)prog;
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; ; p = colon + 1) {
		size_t len;

		colon = strchr(p, ':');
		len = colon ? (size_t)(colon - p) : strlen(p);
		snprintf(buf, size, "%.*s%s%s", (int)len, p, len ? "/" : "",
			 prog);
		if (!access(buf, X_OK))
			return buf;
		if (!colon)
			return NULL;
	}
}

/*
 * 1 if @path is a 64-bit ELF executable without an interpreter (static,
 * so the preload cannot reach it), 0 if it has one or is not ELF (a
 * script: its interpreter is dynamic as a rule), -1 if unreadable.
 */
static int is_static_elf(const char *path)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	int fd, i, interp = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64) {
		close(fd);
		return 0;
	}
	for (i = 0; i < eh.e_phnum; i++) {
		if (pread(fd, &ph, sizeof(ph), eh.e_phoff +
			  (off_t)i * eh.e_phentsize) != sizeof(ph))
			break;
		if (ph.p_type == PT_INTERP)
			interp = 1;
	}
	close(fd);
	return !interp;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ports", required_argument, NULL, 'p' },
		{ "udp", no_argument, NULL, 'u' },
		{ "fallback", no_argument, NULL, 'f' },
		{ "debug", no_argument, NULL, 'd' },
		{ "lib", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *ports = "all", *lib = NULL, *pre;
	char libpath[PATH_MAX], progbuf[PATH_MAX], *preload, *prog;
	int c, udp = 0, fallback = 0, debug = 0, s;

	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			ports = optarg;
			break;
		case 'u':
			udp = 1;
			break;
		case 'f':
			fallback = 1;
			break;
		case 'd':
			debug = 1;
			break;
		case 'l':
			lib = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_OWN;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "afx-run: no program given\n");
		usage(stderr);
		return EXIT_OWN;
	}
	if (!ports_ok(ports)) {
		fprintf(stderr, "afx-run: bad --ports \"%s\": want all, or ports 1-65535 and ranges like 6379,8000-8080\n",
			ports);
		return EXIT_OWN;
	}
	if (find_lib(lib, libpath, sizeof(libpath))) {
		fprintf(stderr, "afx-run: cannot find %s%s%s\n",
			lib ? lib : LIB_NAME, lib ? "" : " next to afx-run or in ../lib/afx",
			lib ? "" : " (give --lib PATH)");
		return EXIT_OWN;
	}
	s = socket(afx_family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0) {
		fprintf(stderr, "afx-run: no AF_X sockets here (family %d: %s); is afx.ko loaded?%s\n",
			afx_family(), strerror(errno),
			fallback ? " Going on: --fallback" : "");
		if (!fallback)
			return EXIT_OWN;
	} else {
		close(s);
	}
	prog = find_program(argv[optind], progbuf, sizeof(progbuf));
	if (!prog) {
		fprintf(stderr, "afx-run: %s: not found\n", argv[optind]);
		return EXIT_NOTFOUND;
	}
	if (is_static_elf(prog) == 1)
		fprintf(stderr, "afx-run: warning: %s is statically linked: the preload cannot reach it, its sockets stay on TCP/UDP\n",
			prog);

	pre = getenv("LD_PRELOAD");
	if (pre && *pre) {
		if (asprintf(&preload, "%s:%s", libpath, pre) < 0)
			return EXIT_OWN;
	} else {
		preload = libpath;
	}
	if (setenv("LD_PRELOAD", preload, 1) ||
	    setenv("AFX_RUN_PORTS", ports, 1) ||
	    setenv("AFX_RUN_UDP", udp ? "1" : "0", 1) ||
	    setenv("AFX_RUN_FALLBACK", fallback ? "1" : "0", 1) ||
	    (debug && setenv("AFX_RUN_DEBUG", "1", 1))) {
		perror("afx-run: setenv");
		return EXIT_OWN;
	}
	execv(prog, argv + optind);
	fprintf(stderr, "afx-run: %s: %s\n", prog, strerror(errno));
	return errno == ENOENT ? EXIT_NOTFOUND : EXIT_CANNOT;
}
