// SPDX-License-Identifier: GPL-2.0
/*
 * libafx-run.so - move a program's loopback TCP (and UDP) sockets onto AF_X.
 *
 * Preloaded by afx-run(1). A program's AF_INET and AF_INET6 sockets start
 * as what they are. The moment one binds to a loopback or wildcard
 * address, or connects to a loopback address, on a selected port, it is
 * replaced under the same file descriptor by an AF_X socket of the same
 * type that binds or connects to the same port number. Everything the
 * program set before (O_NONBLOCK, FD_CLOEXEC, the SOL_SOCKET options)
 * goes with it. From then on the descriptor is an AF_X socket that
 * answers as the program expects an inet socket to:
 *
 *   - getsockname(), getpeername(), accept(), recvfrom() and recvmsg()
 *     report inet addresses: the loopback address of the socket's family
 *     (127.0.0.1, ::1, or ::ffff:127.0.0.1 for a socket that used that
 *     form), or the wildcard it was bound to, and the AF_X port number;
 *   - sendto() and sendmsg() to a loopback address reach the AF_X port;
 *   - SO_DOMAIN and SO_PROTOCOL read AF_INET/AF_INET6 and IPPROTO_TCP or
 *     IPPROTO_UDP;
 *   - the IPPROTO_TCP, IPPROTO_IP and IPPROTO_IPV6 options of the table
 *     below are accepted and read back as set, with no effect; any other
 *     option of those levels fails with ENOPROTOOPT, as on a kernel that
 *     lacks it (TCP_INFO among them).
 *
 * Sockets that bind or connect elsewhere (another address, a port not
 * selected, another family) are never touched, and neither is anything
 * else the program does. The table of descriptors is guarded by one
 * mutex, never held across a call that can block.
 *
 * Environment (set by afx-run; see afx-run(1)):
 *   AFX_RUN_PORTS     "all", or a list of ports and ranges: 6379,8000-8080
 *   AFX_RUN_UDP       1: datagram sockets too
 *   AFX_RUN_FALLBACK  1: a connect() refused on AF_X goes to TCP instead
 *   AFX_RUN_DEBUG     1: log each decision to stderr
 *   AFX_RUN_STRICT    1 (the default, unless AFX_RUN_FALLBACK): a move
 *                     that fails fails the call;
 *                     0: the socket stays on TCP/UDP
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/afx.h>
#include "afx_family.h"

#define EXPORT __attribute__((visibility("default")))

/* ---- the real functions ------------------------------------------------- */

static int (*real_socket)(int, int, int);
static int (*real_bind)(int, const struct sockaddr *, socklen_t);
static int (*real_connect)(int, const struct sockaddr *, socklen_t);
static int (*real_accept4)(int, struct sockaddr *, socklen_t *, int);
static int (*real_getsockname)(int, struct sockaddr *, socklen_t *);
static int (*real_getpeername)(int, struct sockaddr *, socklen_t *);
static int (*real_setsockopt)(int, int, int, const void *, socklen_t);
static int (*real_getsockopt)(int, int, int, void *, socklen_t *);
static ssize_t (*real_sendto)(int, const void *, size_t, int,
			      const struct sockaddr *, socklen_t);
static ssize_t (*real_recvfrom)(int, void *, size_t, int, struct sockaddr *,
				socklen_t *);
static ssize_t (*real_sendmsg)(int, const struct msghdr *, int);
static ssize_t (*real_recvmsg)(int, struct msghdr *, int);
static int (*real_close)(int);
static int (*real_dup)(int);
static int (*real_dup2)(int, int);
static int (*real_dup3)(int, int, int);
static int (*real_fcntl)(int, int, ...);

/* ---- configuration ------------------------------------------------------ */

#define MAX_RANGES	64

static struct {
	int all;			/* every port */
	int nranges;
	unsigned int lo[MAX_RANGES], hi[MAX_RANGES];
	int udp, fallback, debug, strict;
	int family;			/* AF_X's number */
} cfg;

static void dbg(const char *fmt, ...)
{
	va_list ap;

	if (!cfg.debug)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "afx-run[%d]: ", (int)getpid());
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* "all" or "p,p-q,...": 0, or -1 when malformed (checked by afx-run too). */
static int parse_ports(const char *s)
{
	char *end;

	if (!s || !*s || !strcmp(s, "all")) {
		cfg.all = 1;
		return 0;
	}
	while (*s) {
		unsigned long lo, hi;

		if (cfg.nranges == MAX_RANGES)
			return -1;
		lo = strtoul(s, &end, 10);
		if (end == s || lo < 1 || lo > 65535)
			return -1;
		hi = lo;
		s = end;
		if (*s == '-') {
			hi = strtoul(++s, &end, 10);
			if (end == s || hi < lo || hi > 65535)
				return -1;
			s = end;
		}
		cfg.lo[cfg.nranges] = lo;
		cfg.hi[cfg.nranges++] = hi;
		if (*s == ',')
			s++;
		else if (*s)
			return -1;
	}
	return 0;
}

static int port_selected(unsigned int port)
{
	int i;

	if (cfg.all)
		return 1;
	for (i = 0; i < cfg.nranges; i++)
		if (port >= cfg.lo[i] && port <= cfg.hi[i])
			return 1;
	return 0;
}

static int env_flag(const char *name, int def)
{
	const char *v = getenv(name);

	return v && *v ? atoi(v) != 0 : def;
}

#define RESOLVE(name) do {						\
	real_##name = dlsym(RTLD_NEXT, #name);				\
	if (!real_##name) {						\
		fprintf(stderr, "afx-run: cannot find %s: %s\n", #name,	\
			dlerror());					\
		_exit(127);						\
	}								\
} while (0)

static void tab_lock_take(void);
static void tab_lock_give(void);

__attribute__((constructor)) static void afx_run_init(void)
{
	RESOLVE(socket); RESOLVE(bind); RESOLVE(connect);
	RESOLVE(accept4); RESOLVE(getsockname); RESOLVE(getpeername);
	RESOLVE(setsockopt); RESOLVE(getsockopt); RESOLVE(sendto);
	RESOLVE(recvfrom); RESOLVE(sendmsg); RESOLVE(recvmsg); RESOLVE(close);
	RESOLVE(dup); RESOLVE(dup2); RESOLVE(dup3); RESOLVE(fcntl);

	if (parse_ports(getenv("AFX_RUN_PORTS"))) {
		fprintf(stderr, "afx-run: bad AFX_RUN_PORTS \"%s\"\n",
			getenv("AFX_RUN_PORTS"));
		_exit(127);
	}
	cfg.udp = env_flag("AFX_RUN_UDP", 0);
	cfg.fallback = env_flag("AFX_RUN_FALLBACK", 0);
	cfg.debug = env_flag("AFX_RUN_DEBUG", 0);
	cfg.strict = env_flag("AFX_RUN_STRICT", !cfg.fallback);
	cfg.family = afx_family();
	pthread_atfork(tab_lock_take, tab_lock_give, tab_lock_give);
	/* Children started with exec() stay on AF_X too: keep the env. */
	dbg("loaded: ports %s, udp %d, fallback %d, AF_X is %d",
	    cfg.all ? "all" : getenv("AFX_RUN_PORTS"), cfg.udp, cfg.fallback,
	    cfg.family);
}

/* ---- the descriptor table ------------------------------------------------ */

/* Options replayed on the AF_X socket, and emulated ones read back. */
#define MAX_OPTS	16
#define OPT_LEN		16

struct opt {
	int level, name;
	socklen_t len;
	unsigned char val[OPT_LEN];
};

enum fd_state {
	FD_NONE,	/* not ours: untouched */
	FD_INET,	/* an inet socket that may still move */
	FD_AFX,		/* moved: an AF_X socket */
};

/**
 * struct fd_info - what the library knows of one descriptor
 * @state: enum fd_state
 * @domain: AF_INET or AF_INET6, as the program created it
 * @type: SOCK_STREAM or SOCK_DGRAM (no flags)
 * @protocol: as the program gave it
 * @mapped: an AF_INET6 socket that bound or connected to ::ffff:127.x
 * @bound_any: bound to the wildcard (getsockname reports it)
 * @port: the port it asked to bind on AF_X (0: none)
 * @nopts: entries of @opts
 * @opts: SOL_SOCKET options set before the move (replayed), and the
 *	emulated options of the other levels (read back)
 */
struct fd_info {
	int state, domain, type, protocol;
	int mapped, bound_any;
	unsigned int port;
	int nopts;
	struct opt opts[MAX_OPTS];
};

static pthread_mutex_t tab_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fd_info **tab;
static int tab_size;

/*
 * A fork() while another thread holds tab_lock would leave the child's
 * copy locked for ever: hold it across the fork, as glibc does its own.
 */
static void tab_lock_take(void)
{
	pthread_mutex_lock(&tab_lock);
}

static void tab_lock_give(void)
{
	pthread_mutex_unlock(&tab_lock);
}

/* The entry of fd, created if @create; under tab_lock. */
static struct fd_info *entry(int fd, int create)
{
	if (fd < 0)
		return NULL;
	if (fd >= tab_size) {
		int n = tab_size ? tab_size : 1024;
		struct fd_info **t;

		if (!create)
			return NULL;
		while (n <= fd)
			n *= 2;
		t = realloc(tab, n * sizeof(*t));
		if (!t)
			return NULL;
		memset(t + tab_size, 0, (n - tab_size) * sizeof(*t));
		tab = t;
		tab_size = n;
	}
	if (!tab[fd] && create)
		tab[fd] = calloc(1, sizeof(*tab[fd]));
	return tab[fd];
}

/* A copy of fd's entry (state FD_NONE if it has none). */
static struct fd_info lookup(int fd)
{
	struct fd_info e = { .state = FD_NONE }, *p;

	pthread_mutex_lock(&tab_lock);
	p = entry(fd, 0);
	if (p)
		e = *p;
	pthread_mutex_unlock(&tab_lock);
	return e;
}

static void store(int fd, const struct fd_info *e)
{
	struct fd_info *p;

	pthread_mutex_lock(&tab_lock);
	p = entry(fd, e->state != FD_NONE);
	if (p) {
		if (e->state == FD_NONE) {
			free(p);
			tab[fd] = NULL;
		} else {
			*p = *e;
		}
	}
	pthread_mutex_unlock(&tab_lock);
}

static void forget(int fd)
{
	struct fd_info none = { .state = FD_NONE };

	store(fd, &none);
}

/* ---- addresses ------------------------------------------------------------- */

/* The port of an inet address of fd's family, or -1 if it is none. */
static int inet_port(int domain, const struct sockaddr *sa, socklen_t len)
{
	if (!sa)
		return -1;
	if (domain == AF_INET && sa->sa_family == AF_INET &&
	    len >= sizeof(struct sockaddr_in))
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (domain == AF_INET6 && sa->sa_family == AF_INET6 &&
	    len >= sizeof(struct sockaddr_in6))
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return -1;
}

enum addr_kind { ADDR_OTHER, ADDR_LOOPBACK, ADDR_MAPPED, ADDR_ANY };

static enum addr_kind addr_kind(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		in_addr_t a = ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr);

		if (a == INADDR_ANY)
			return ADDR_ANY;
		return (a >> 24) == 127 ? ADDR_LOOPBACK : ADDR_OTHER;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;

		if (IN6_IS_ADDR_UNSPECIFIED(a))
			return ADDR_ANY;
		if (IN6_IS_ADDR_LOOPBACK(a))
			return ADDR_LOOPBACK;
		if (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127)
			return ADDR_MAPPED;
	}
	return ADDR_OTHER;
}

static struct sockaddr_x afx_addr(unsigned int addr, unsigned int port)
{
	struct sockaddr_x sx;

	memset(&sx, 0, sizeof(sx));
	sx.sx_family = cfg.family;
	sx.sx_addr = addr;
	sx.sx_port = port;
	return sx;
}

/*
 * The inet form of AF_X address @sx for a socket @e: the wildcard if it is
 * AFX_ADDR_ANY on a socket bound to the wildcard, else loopback. Written
 * to @sa as the kernel writes names: truncated to *@len, *@len set to the
 * full size.
 */
static void inet_name(const struct fd_info *e, const struct sockaddr_x *sx,
		      struct sockaddr *sa, socklen_t *len)
{
	int any = sx->sx_addr == AFX_ADDR_ANY && e->bound_any;
	struct sockaddr_in6 s6;
	struct sockaddr_in s4;
	const void *src;
	socklen_t n;

	if (!sa || !len)
		return;
	if (e->domain == AF_INET) {
		memset(&s4, 0, sizeof(s4));
		s4.sin_family = AF_INET;
		s4.sin_port = htons(sx->sx_port);
		s4.sin_addr.s_addr = htonl(any ? INADDR_ANY : INADDR_LOOPBACK);
		src = &s4;
		n = sizeof(s4);
	} else {
		memset(&s6, 0, sizeof(s6));
		s6.sin6_family = AF_INET6;
		s6.sin6_port = htons(sx->sx_port);
		if (any) {
			s6.sin6_addr = in6addr_any;
		} else if (e->mapped) {
			s6.sin6_addr.s6_addr[10] = 0xff;
			s6.sin6_addr.s6_addr[11] = 0xff;
			s6.sin6_addr.s6_addr[12] = 127;
			s6.sin6_addr.s6_addr[15] = 1;
		} else {
			s6.sin6_addr = in6addr_loopback;
		}
		src = &s6;
		n = sizeof(s6);
	}
	memcpy(sa, src, *len < n ? *len : n);
	*len = n;
}

/* ---- options ----------------------------------------------------------------- */

/*
 * The options of the other levels that are accepted, read back and
 * otherwise ignored on a moved socket (see afx-run(1)).
 */
static const struct { int level, name; } emulated[] = {
	{ IPPROTO_TCP, TCP_NODELAY },
	{ IPPROTO_TCP, TCP_CORK },
	{ IPPROTO_TCP, TCP_QUICKACK },
	{ IPPROTO_TCP, TCP_KEEPIDLE },
	{ IPPROTO_TCP, TCP_KEEPINTVL },
	{ IPPROTO_TCP, TCP_KEEPCNT },
	{ IPPROTO_TCP, TCP_DEFER_ACCEPT },
	{ IPPROTO_TCP, TCP_FASTOPEN },
	{ IPPROTO_TCP, TCP_USER_TIMEOUT },
	{ IPPROTO_TCP, TCP_NOTSENT_LOWAT },
	{ IPPROTO_IP, IP_TOS },
	{ IPPROTO_IP, IP_TTL },
	{ IPPROTO_IP, IP_FREEBIND },
	{ IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT },
	{ IPPROTO_IPV6, IPV6_V6ONLY },
	{ IPPROTO_IPV6, IPV6_TCLASS },
	{ IPPROTO_IPV6, IPV6_FREEBIND },
};

static int is_emulated(int level, int name)
{
	size_t i;

	for (i = 0; i < sizeof(emulated) / sizeof(emulated[0]); i++)
		if (emulated[i].level == level && emulated[i].name == name)
			return 1;
	return 0;
}

static int other_level(int level)
{
	return level == IPPROTO_TCP || level == IPPROTO_IP ||
	       level == IPPROTO_IPV6 || level == IPPROTO_UDP;
}

/* Remember (level, name) = val in e, replacing an earlier value. */
static int remember(struct fd_info *e, int level, int name, const void *val,
		    socklen_t len)
{
	int i;

	if (len > OPT_LEN)
		return -1;
	for (i = 0; i < e->nopts; i++)
		if (e->opts[i].level == level && e->opts[i].name == name)
			break;
	if (i == e->nopts) {
		if (e->nopts == MAX_OPTS)
			return -1;
		e->nopts++;
	}
	e->opts[i].level = level;
	e->opts[i].name = name;
	e->opts[i].len = len;
	memcpy(e->opts[i].val, val, len);
	return 0;
}

/* ---- moving a socket -------------------------------------------------------- */

/*
 * Put a new socket of (@domain, @e's type, @protocol) under @fd in place
 * of the one there, with its status flags, FD_CLOEXEC and the options
 * @e remembers (the SOL_SOCKET ones only, unless @all_levels: the
 * emulated ones mean nothing to AF_X). 0, or -1 with errno.
 */
static int replace_socket(int fd, const struct fd_info *e, int domain,
			  int protocol, int all_levels)
{
	int s, fl, fdfl, i, saved;

	fl = real_fcntl(fd, F_GETFL);
	fdfl = real_fcntl(fd, F_GETFD);
	if (fl < 0 || fdfl < 0)
		return -1;
	s = real_socket(domain, e->type | SOCK_CLOEXEC, protocol);
	if (s < 0)
		return -1;
	if (real_fcntl(s, F_SETFL, fl & O_NONBLOCK) < 0)
		goto fail;
	for (i = 0; i < e->nopts; i++) {
		if (!all_levels && e->opts[i].level != SOL_SOCKET)
			continue;
		if (real_setsockopt(s, e->opts[i].level, e->opts[i].name,
				    e->opts[i].val, e->opts[i].len) < 0)
			dbg("fd %d: option %d/%d not carried over: %s", fd,
			    e->opts[i].level, e->opts[i].name, strerror(errno));
	}
	if (real_dup3(s, fd, (fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0) < 0)
		goto fail;
	real_close(s);
	return 0;
fail:
	saved = errno;
	real_close(s);
	errno = saved;
	return -1;
}

/* Replace inet socket @fd by an AF_X socket of @e's type. */
static int move_to_afx(int fd, struct fd_info *e)
{
	if (replace_socket(fd, e, cfg.family, 0, 0) < 0)
		return -1;
	e->state = FD_AFX;
	return 0;
}

/* Back from AF_X to a new inet socket (connect() fallback, dual stack). */
static int move_to_inet(int fd, struct fd_info *e)
{
	if (replace_socket(fd, e, e->domain, e->protocol, 1) < 0)
		return -1;
	e->state = FD_NONE;
	e->port = 0;
	return 0;
}

/*
 * Whether another descriptor of this process, of the other inet family
 * and the same type, is on AF_X bound to @e's port.
 */
static int other_family_holds(const struct fd_info *e)
{
	int fd, found = 0;

	pthread_mutex_lock(&tab_lock);
	for (fd = 0; fd < tab_size && !found; fd++) {
		const struct fd_info *o = tab[fd];

		found = o && o->state == FD_AFX && o->port == e->port &&
			o->type == e->type && o->domain != e->domain;
	}
	pthread_mutex_unlock(&tab_lock);
	return found;
}

/* Which inet sockets may move: stream, and datagram with --udp. */
static int movable_type(int type)
{
	return type == SOCK_STREAM || (type == SOCK_DGRAM && cfg.udp);
}

/* ---- the interposed calls ------------------------------------------------------ */

EXPORT int socket(int domain, int type, int protocol)
{
	int fd = real_socket(domain, type, protocol);
	int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	struct fd_info e = { .state = FD_NONE };

	if (fd < 0)
		return fd;
	if ((domain == AF_INET || domain == AF_INET6) && movable_type(base) &&
	    (protocol == 0 || protocol == IPPROTO_TCP || protocol == IPPROTO_UDP)) {
		e.state = FD_INET;
		e.domain = domain;
		e.type = base;
		e.protocol = protocol;
	}
	store(fd, &e);
	return fd;
}

EXPORT int bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct fd_info e = lookup(fd);
	struct sockaddr_x sx;
	enum addr_kind kind;
	int port, ret;

	if (e.state != FD_INET)
		return real_bind(fd, sa, len);
	port = inet_port(e.domain, sa, len);
	if (port < 0)
		return real_bind(fd, sa, len);
	kind = addr_kind(sa);
	/* Port 0 moves only when every port is selected. */
	if (kind == ADDR_OTHER || !(port ? port_selected(port) : cfg.all)) {
		dbg("fd %d: bind to port %d stays on %s", fd, port,
		    e.type == SOCK_STREAM ? "TCP" : "UDP");
		e.state = FD_NONE;
		store(fd, &e);
		return real_bind(fd, sa, len);
	}
	if (move_to_afx(fd, &e) < 0) {
		dbg("fd %d: cannot move to AF_X: %s", fd, strerror(errno));
		if (cfg.strict)
			return -1;
		e.state = FD_NONE;
		store(fd, &e);
		return real_bind(fd, sa, len);
	}
	e.bound_any = kind == ADDR_ANY;
	e.mapped = kind == ADDR_MAPPED;
	e.port = port;
	store(fd, &e);
	sx = afx_addr(kind == ADDR_ANY ? AFX_ADDR_ANY : AFX_ADDR_LOCAL, port);
	ret = real_bind(fd, (struct sockaddr *)&sx, sizeof(sx));
	dbg("fd %d: bind to port %d on AF_X: %s", fd, port,
	    ret ? strerror(errno) : "ok");
	if (ret && errno == EADDRINUSE && port && other_family_holds(&e)) {
		/*
		 * A dual-stack server binding the same port on both
		 * families: AF_X has one port space, and the first bind
		 * took the port. This one stays on TCP/UDP, where it was
		 * going; clients of either family reach the AF_X one.
		 */
		if (move_to_inet(fd, &e) == 0) {
			store(fd, &e);
			dbg("fd %d: port %d is on AF_X for the other family already; this bind stays on %s",
			    fd, port, e.type == SOCK_STREAM ? "TCP" : "UDP");
			return real_bind(fd, sa, len);
		}
		errno = EADDRINUSE;
	}
	return ret;
}

EXPORT int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct fd_info e = lookup(fd);
	struct sockaddr_x sx;
	enum addr_kind kind;
	int port, ret, saved;

	if (e.state == FD_NONE)
		return real_connect(fd, sa, len);
	if (sa && sa->sa_family == AF_UNSPEC && e.state == FD_AFX) {
		/* Dissolving a datagram association. */
		sx = afx_addr(0, 0);
		sx.sx_family = AF_UNSPEC;
		return real_connect(fd, (struct sockaddr *)&sx, sizeof(sx));
	}
	port = inet_port(e.domain, sa, len);
	kind = port < 0 ? ADDR_OTHER : addr_kind(sa);
	if (kind != ADDR_LOOPBACK && kind != ADDR_MAPPED) {
		if (e.state == FD_AFX) {
			/* Moved already (bound), now aimed elsewhere. */
			errno = ENETUNREACH;
			return -1;
		}
		return real_connect(fd, sa, len);
	}
	if (!port_selected(port)) {
		if (e.state == FD_AFX) {
			errno = ECONNREFUSED;
			return -1;
		}
		dbg("fd %d: connect to port %d stays on TCP", fd, port);
		forget(fd);
		return real_connect(fd, sa, len);
	}
	if (e.state == FD_INET) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);

		/* A socket the program bound itself stays where it is. */
		if (!real_getsockname(fd, (struct sockaddr *)&ss, &sl) &&
		    inet_port(e.domain, (struct sockaddr *)&ss, sl) > 0) {
			dbg("fd %d: bound on TCP, connect stays there", fd);
			forget(fd);
			return real_connect(fd, sa, len);
		}
		if (move_to_afx(fd, &e) < 0) {
			dbg("fd %d: cannot move to AF_X: %s", fd, strerror(errno));
			if (cfg.strict)
				return -1;
			forget(fd);
			return real_connect(fd, sa, len);
		}
		e.mapped = kind == ADDR_MAPPED;
		store(fd, &e);
	}
	sx = afx_addr(AFX_ADDR_LOCAL, port);
	ret = real_connect(fd, (struct sockaddr *)&sx, sizeof(sx));
	saved = errno;
	dbg("fd %d: connect to port %d on AF_X: %s", fd, port,
	    ret ? strerror(errno) : "ok");
	if (ret && saved == ECONNREFUSED && cfg.fallback &&
	    e.type == SOCK_STREAM) {
		if (move_to_inet(fd, &e) == 0) {
			store(fd, &e);
			dbg("fd %d: falling back to TCP", fd);
			return real_connect(fd, sa, len);
		}
	}
	errno = saved;
	return ret;
}

/* The accepted descriptor inherits the listener's view. */
static int accepted(int lfd, int fd, struct sockaddr *sa, socklen_t *len,
		    const struct sockaddr_x *sx)
{
	struct fd_info e = lookup(lfd);

	if (fd < 0)
		return fd;
	if (e.state != FD_AFX) {
		forget(fd);
		return fd;
	}
	/* TCP's accepted sockets inherit the listener's options too. */
	e.bound_any = 0;
	e.port = 0;
	store(fd, &e);
	inet_name(&e, sx, sa, len);
	return fd;
}

EXPORT int accept4(int lfd, struct sockaddr *sa, socklen_t *len, int flags)
{
	struct fd_info e = lookup(lfd);
	struct sockaddr_x sx;
	socklen_t sl = sizeof(sx);
	int fd;

	if (e.state != FD_AFX) {
		fd = real_accept4(lfd, sa, len, flags);
		if (fd >= 0)
			forget(fd);
		return fd;
	}
	fd = real_accept4(lfd, (struct sockaddr *)&sx, &sl, flags);
	return accepted(lfd, fd, sa, len, &sx);
}

EXPORT int accept(int lfd, struct sockaddr *sa, socklen_t *len)
{
	return accept4(lfd, sa, len, 0);
}

static int name_of(int fd, struct sockaddr *sa, socklen_t *len, int peer)
{
	struct fd_info e = lookup(fd);
	struct sockaddr_x sx;
	socklen_t sl = sizeof(sx);
	int ret;

	if (e.state != FD_AFX)
		return peer ? real_getpeername(fd, sa, len) :
			      real_getsockname(fd, sa, len);
	ret = peer ? real_getpeername(fd, (struct sockaddr *)&sx, &sl) :
		     real_getsockname(fd, (struct sockaddr *)&sx, &sl);
	if (ret)
		return ret;
	if (!len) {
		errno = EFAULT;
		return -1;
	}
	if (peer)
		e.bound_any = 0;
	inet_name(&e, &sx, sa, len);
	return 0;
}

EXPORT int getsockname(int fd, struct sockaddr *sa, socklen_t *len)
{
	return name_of(fd, sa, len, 0);
}

EXPORT int getpeername(int fd, struct sockaddr *sa, socklen_t *len)
{
	return name_of(fd, sa, len, 1);
}

EXPORT int setsockopt(int fd, int level, int name, const void *val,
		      socklen_t len)
{
	struct fd_info e = lookup(fd);
	int ret;

	if (e.state == FD_NONE)
		return real_setsockopt(fd, level, name, val, len);
	if (e.state == FD_AFX && other_level(level)) {
		if (!is_emulated(level, name)) {
			errno = ENOPROTOOPT;
			return -1;
		}
		if (!val || len < sizeof(int)) {
			errno = EINVAL;
			return -1;
		}
		pthread_mutex_lock(&tab_lock);
		/* Re-read: the table may have changed meanwhile. */
		ret = entry(fd, 0) ? remember(entry(fd, 0), level, name, val,
					      len > OPT_LEN ? OPT_LEN : len) : 0;
		pthread_mutex_unlock(&tab_lock);
		return ret < 0 ? (errno = ENOBUFS, -1) : 0;
	}
	ret = real_setsockopt(fd, level, name, val, len);
	if (ret == 0 && e.state == FD_INET &&
	    (level == SOL_SOCKET || is_emulated(level, name))) {
		pthread_mutex_lock(&tab_lock);
		if (entry(fd, 0) && remember(entry(fd, 0), level, name, val,
					     len) < 0)
			dbg("fd %d: option %d/%d too large to carry over",
			    fd, level, name);
		pthread_mutex_unlock(&tab_lock);
	}
	return ret;
}

EXPORT int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	struct fd_info e = lookup(fd);
	int i, v;

	if (e.state != FD_AFX)
		return real_getsockopt(fd, level, name, val, len);
	if (level == SOL_SOCKET && (name == SO_DOMAIN || name == SO_PROTOCOL)) {
		if (!val || !len || *len < sizeof(int)) {
			errno = EINVAL;
			return -1;
		}
		v = name == SO_DOMAIN ? e.domain :
		    e.type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP;
		memcpy(val, &v, sizeof(v));
		*len = sizeof(v);
		return 0;
	}
	if (!other_level(level))
		return real_getsockopt(fd, level, name, val, len);
	if (!is_emulated(level, name)) {
		errno = ENOPROTOOPT;
		return -1;
	}
	if (!val || !len) {
		errno = EFAULT;
		return -1;
	}
	v = 0;
	for (i = 0; i < e.nopts; i++)
		if (e.opts[i].level == level && e.opts[i].name == name)
			memcpy(&v, e.opts[i].val, sizeof(v));
	if (*len > sizeof(v))
		*len = sizeof(v);
	memcpy(val, &v, *len);
	return 0;
}

/* A destination for sendto()/sendmsg() on a moved socket. */
static int dest(const struct fd_info *e, const struct sockaddr *sa,
		socklen_t len, struct sockaddr_x *sx)
{
	int port = inet_port(e->domain, sa, len);
	enum addr_kind kind;

	if (port < 0) {
		errno = sa && sa->sa_family != e->domain ? EAFNOSUPPORT : EINVAL;
		return -1;
	}
	kind = addr_kind(sa);
	if (kind != ADDR_LOOPBACK && kind != ADDR_MAPPED) {
		errno = ENETUNREACH;
		return -1;
	}
	*sx = afx_addr(AFX_ADDR_LOCAL, port);
	return 0;
}

/*
 * A datagram socket that sends to a selected loopback port before any
 * bind() or connect() moves there and then (AF_X binds it on the send).
 * True if @e is now on AF_X.
 */
static int send_moves(int fd, struct fd_info *e, const struct sockaddr *sa,
		      socklen_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	enum addr_kind kind;
	int port;

	if (e->state == FD_AFX)
		return 1;
	if (e->state != FD_INET || e->type != SOCK_DGRAM)
		return 0;
	port = inet_port(e->domain, sa, len);
	kind = port > 0 ? addr_kind(sa) : ADDR_OTHER;
	if ((kind != ADDR_LOOPBACK && kind != ADDR_MAPPED) ||
	    !port_selected(port))
		return 0;
	/* Bound on UDP already (an earlier send): it stays there. */
	if (!real_getsockname(fd, (struct sockaddr *)&ss, &sl) &&
	    inet_port(e->domain, (struct sockaddr *)&ss, sl) > 0)
		return 0;
	if (move_to_afx(fd, e) < 0) {
		dbg("fd %d: cannot move to AF_X: %s", fd, strerror(errno));
		return 0;
	}
	e->mapped = kind == ADDR_MAPPED;
	store(fd, e);
	dbg("fd %d: datagram to port %d moves to AF_X", fd, port);
	return 1;
}

EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags,
		      const struct sockaddr *sa, socklen_t len)
{
	struct fd_info e;
	struct sockaddr_x sx;

	if (!sa)
		return real_sendto(fd, buf, n, flags, sa, len);
	e = lookup(fd);
	if (!send_moves(fd, &e, sa, len))
		return real_sendto(fd, buf, n, flags, sa, len);
	if (dest(&e, sa, len, &sx))
		return -1;
	return real_sendto(fd, buf, n, flags, (struct sockaddr *)&sx,
			   sizeof(sx));
}

EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	struct fd_info e;
	struct sockaddr_x sx;
	struct msghdr m;

	if (!msg || !msg->msg_name)
		return real_sendmsg(fd, msg, flags);
	e = lookup(fd);
	if (!send_moves(fd, &e, msg->msg_name, msg->msg_namelen))
		return real_sendmsg(fd, msg, flags);
	if (dest(&e, msg->msg_name, msg->msg_namelen, &sx))
		return -1;
	m = *msg;
	m.msg_name = &sx;
	m.msg_namelen = sizeof(sx);
	return real_sendmsg(fd, &m, flags);
}

EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags,
			struct sockaddr *sa, socklen_t *len)
{
	struct fd_info e;
	struct sockaddr_x sx;
	socklen_t sl = sizeof(sx);
	ssize_t ret;

	if (!sa)
		return real_recvfrom(fd, buf, n, flags, sa, len);
	e = lookup(fd);
	if (e.state != FD_AFX)
		return real_recvfrom(fd, buf, n, flags, sa, len);
	ret = real_recvfrom(fd, buf, n, flags, (struct sockaddr *)&sx, &sl);
	if (ret >= 0 && len) {
		e.bound_any = 0;
		if (sl >= sizeof(sx))
			inet_name(&e, &sx, sa, len);
		else
			*len = 0;	/* a stream socket reports no name */
	}
	return ret;
}

EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	struct fd_info e;
	struct sockaddr_x sx;
	void *name;
	socklen_t namelen;
	ssize_t ret;

	if (!msg || !msg->msg_name)
		return real_recvmsg(fd, msg, flags);
	e = lookup(fd);
	if (e.state != FD_AFX)
		return real_recvmsg(fd, msg, flags);
	name = msg->msg_name;
	namelen = msg->msg_namelen;
	msg->msg_name = &sx;
	msg->msg_namelen = sizeof(sx);
	ret = real_recvmsg(fd, msg, flags);
	if (ret >= 0) {
		e.bound_any = 0;
		if (msg->msg_namelen >= sizeof(sx)) {
			inet_name(&e, &sx, name, &namelen);
			msg->msg_namelen = namelen;
		} else {
			msg->msg_namelen = 0;
		}
	}
	msg->msg_name = name;
	if (ret < 0)
		msg->msg_namelen = namelen;
	return ret;
}

EXPORT int close(int fd)
{
	forget(fd);
	return real_close(fd);
}

/* newfd gets a copy of oldfd's entry (after a successful dup). */
static int duped(int oldfd, int newfd)
{
	struct fd_info e;

	if (newfd < 0 || newfd == oldfd)
		return newfd;
	e = lookup(oldfd);
	store(newfd, &e);
	return newfd;
}

EXPORT int dup(int fd)
{
	return duped(fd, real_dup(fd));
}

EXPORT int dup2(int fd, int newfd)
{
	return duped(fd, real_dup2(fd, newfd));
}

EXPORT int dup3(int fd, int newfd, int flags)
{
	return duped(fd, real_dup3(fd, newfd, flags));
}

/* fcntl()'s third argument is an int or a pointer: pass it on as one. */
EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;
	int ret;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	ret = real_fcntl(fd, cmd, arg);
	if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
		return duped(fd, ret);
	return ret;
}

/* What glibc's <fcntl.h> calls with _FILE_OFFSET_BITS=64: the same. */
EXPORT int fcntl64(int fd, int cmd, ...) __attribute__((alias("fcntl")));
