// SPDX-License-Identifier: GPL-2.0
/*
 * afx_common_test - the parts of the AF_X contract that stream and datagram
 * sockets share: socket() arguments, sockaddr validation, bind()/ports,
 * connect() destinations, getsockname()/getpeername(), SOL_X options,
 * SO_TYPE/SO_PROTOCOL/SO_DOMAIN and network namespace isolation.
 *
 * Most tests run twice through FIXTURE_VARIANT: once on SOCK_STREAM and once
 * on SOCK_DGRAM sockets.
 *
 * Every test arms afx_watchdog() so that a call that blocks by mistake
 * fails the test instead of hanging the run. Forked children never use the
 * ASSERT/EXPECT macros; they report through their exit status.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <linux/capability.h>

/* The 6.1 harness and its macros trip these -Wextra warnings by themselves. */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wmisleading-indentation"

#include "kselftest_harness.h"
#include "afx_test_util.h"

#define WATCHDOG_SEC	25

/* Fixed ports used by this file (outside the ephemeral range). */
#define PORT_A		31001U
#define PORT_B		31002U
#define PORT_C		31003U
#define PORT_D		31004U
#define PORT_LOW	1023U

#define EPH_LO		49152
#define EPH_HI		65535
#define EPH_COUNT	(EPH_HI - EPH_LO + 1)

/* A bad user pointer: the first page is never mapped. */
#define BAD_PTR		((void *)8)

/*
 * Something that can be reached at {LOCAL, port}: a listener for stream,
 * a bound socket for dgram. Returns the fd or -1.
 */
static int make_target(int type, uint32_t addr, uint32_t port)
{
	int fd = afx_socket(type);

	if (fd < 0)
		return -1;
	if (afx_bind(fd, addr, port))
		goto fail;
	if (type == SOCK_STREAM && listen(fd, 16))
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

/*
 * "Reach" port on this host the way the socket type does it: stream
 * connect(), dgram sendto() of one byte. 0 or -1 with errno.
 */
static int reach(int fd, int type, uint32_t addr, uint32_t port)
{
	struct sockaddr_x sx = afx_sockaddr(addr, port);

	if (type == SOCK_STREAM)
		return connect(fd, AFX_SA(&sx), AFX_ADDRLEN);
	if (sendto(fd, "r", 1, 0, AFX_SA(&sx), AFX_ADDRLEN) != 1)
		return -1;
	return 0;
}

static int check_eph(long port)
{
	return port >= EPH_LO && port <= EPH_HI;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* Wait for pid; its exit code, or 128+signal, or -1. */
static int wait_child(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

FIXTURE(common) {
	int type;
};

FIXTURE_VARIANT(common) {
	int type;
};

FIXTURE_VARIANT_ADD(common, stream) {
	.type = SOCK_STREAM,
};

FIXTURE_VARIANT_ADD(common, dgram) {
	.type = SOCK_DGRAM,
};

FIXTURE_SETUP(common)
{
	int fd;

	afx_watchdog(WATCHDOG_SEC);
	self->type = variant->type;
	fd = afx_socket(self->type);
	if (fd < 0 && errno == EAFNOSUPPORT)
		SKIP(return, "AF_X (family %d) not available: is afx.ko loaded?",
		     afx_family());
	ASSERT_LE(0, fd) TH_LOG("socket: %s", strerror(errno));
	close(fd);
}

FIXTURE_TEARDOWN(common)
{
	afx_watchdog(0);
}

/* ---------------------------------------------------------------- socket() */

TEST_F(common, socket_args)
{
	int fd, fl;

	/* protocol must be 0 */
	EXPECT_EQ(-1, socket(afx_family(), self->type, 1));
	EXPECT_EQ(EPROTONOSUPPORT, errno);
	EXPECT_EQ(-1, socket(afx_family(), self->type, 6));
	EXPECT_EQ(EPROTONOSUPPORT, errno);

	/* SOCK_NONBLOCK | SOCK_CLOEXEC are accepted and honoured */
	fd = socket(afx_family(), self->type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ASSERT_LE(0, fd);
	fl = fcntl(fd, F_GETFL);
	EXPECT_TRUE(fl & O_NONBLOCK);
	fl = fcntl(fd, F_GETFD);
	EXPECT_TRUE(fl & FD_CLOEXEC);
	close(fd);
}

TEST(socket_bad_type)
{
	static const int types[] = { SOCK_SEQPACKET, SOCK_RAW, SOCK_RDM };
	unsigned int i;
	int fd;

	afx_watchdog(WATCHDOG_SEC);
	fd = afx_socket(SOCK_DGRAM);
	if (fd < 0 && errno == EAFNOSUPPORT)
		SKIP(return, "afx.ko not loaded");
	close(fd);
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		errno = 0;
		EXPECT_EQ(-1, socket(afx_family(), types[i], 0))
			TH_LOG("type %d", types[i]);
		EXPECT_EQ(ESOCKTNOSUPPORT, errno) TH_LOG("type %d", types[i]);
	}
}

TEST_F(common, so_type_protocol_domain)
{
	int fd = afx_socket(self->type), v;

	ASSERT_LE(0, fd);
	v = -1;
	ASSERT_EQ(0, afx_get_int(fd, SOL_SOCKET, SO_TYPE, &v));
	EXPECT_EQ(self->type, v);
	v = -1;
	ASSERT_EQ(0, afx_get_int(fd, SOL_SOCKET, SO_PROTOCOL, &v));
	EXPECT_EQ(0, v);
	v = -1;
	ASSERT_EQ(0, afx_get_int(fd, SOL_SOCKET, SO_DOMAIN, &v));
	EXPECT_EQ(afx_family(), v);
	v = -1;
	ASSERT_EQ(0, afx_get_int(fd, SOL_SOCKET, SO_ACCEPTCONN, &v));
	EXPECT_EQ(0, v);
	close(fd);
}

/* ------------------------------------------------------ sockaddr validation */

enum addr_op { OP_BIND, OP_CONNECT, OP_SENDTO };
static const char *const op_names[] = { "bind", "connect", "sendto" };

static int do_op(enum addr_op op, int fd, const void *sa, socklen_t len)
{
	switch (op) {
	case OP_BIND:
		return bind(fd, sa, len);
	case OP_CONNECT:
		return connect(fd, sa, len);
	case OP_SENDTO:
		if (sendto(fd, "v", 1, 0, sa, len) == 1)
			return 0;
		return -1;
	}
	return -1;
}

/* Expect op on a fresh socket with (sa, len) to fail with err. */
static void expect_op_err(struct __test_metadata *_metadata, int type,
			  enum addr_op op, const void *sa, socklen_t len,
			  int err, const char *what)
{
	int fd = afx_socket(type);

	ASSERT_LE(0, fd);
	errno = 0;
	EXPECT_EQ(-1, do_op(op, fd, sa, len))
		TH_LOG("%s: %s succeeded", op_names[op], what);
	EXPECT_EQ(err, errno)
		TH_LOG("%s: %s: want %s got %s", op_names[op], what,
		       strerror(err), strerror(errno));
	close(fd);
}

static void check_validation(struct __test_metadata *_metadata, int type,
			     enum addr_op op, uint32_t port)
{
	unsigned char buf[128];
	struct sockaddr_x sx, *p = (struct sockaddr_x *)buf;
	unsigned int i;
	int fd, tgt = -1;
	char msg[64];

	/* addrlen shorter than struct sockaddr_x: EINVAL, checked first */
	sx = afx_sockaddr(AFX_ADDR_LOCAL, port);
	expect_op_err(_metadata, type, op, &sx, AFX_ADDRLEN - 1, EINVAL,
		      "addrlen 15");
	expect_op_err(_metadata, type, op, &sx, 8, EINVAL, "addrlen 8");
	expect_op_err(_metadata, type, op, &sx, 2, EINVAL, "addrlen 2");
	if (op != OP_SENDTO)
		expect_op_err(_metadata, type, op, &sx, 0, EINVAL, "addrlen 0");
	sx.sx_family = AF_INET;
	sx.sx_reserved1 = 7;
	expect_op_err(_metadata, type, op, &sx, AFX_ADDRLEN - 1, EINVAL,
		      "addrlen 15 + wrong family");

	/* wrong family: EAFNOSUPPORT, checked before the reserved fields */
	sx = afx_sockaddr(AFX_ADDR_LOCAL, port);
	sx.sx_family = AF_INET;
	expect_op_err(_metadata, type, op, &sx, AFX_ADDRLEN, EAFNOSUPPORT,
		      "AF_INET");
	sx.sx_family = AF_UNIX;
	expect_op_err(_metadata, type, op, &sx, AFX_ADDRLEN, EAFNOSUPPORT,
		      "AF_UNIX");
	sx.sx_family = afx_family() + 1;
	expect_op_err(_metadata, type, op, &sx, AFX_ADDRLEN, EAFNOSUPPORT,
		      "family+1");
	sx.sx_family = AF_INET;
	sx.sx_reserved1 = 1;
	sx.sx_zero[2] = 9;
	expect_op_err(_metadata, type, op, &sx, AFX_ADDRLEN, EAFNOSUPPORT,
		      "AF_INET + nonzero reserved");
	/* AF_UNSPEC is only special for connect() on a dgram socket */
	if (!(op == OP_CONNECT && type == SOCK_DGRAM)) {
		sx = afx_sockaddr(AFX_ADDR_LOCAL, port);
		sx.sx_family = AF_UNSPEC;
		expect_op_err(_metadata, type, op, &sx, AFX_ADDRLEN,
			      EAFNOSUPPORT, "AF_UNSPEC");
	}

	/* nonzero reserved fields: EINVAL */
	sx = afx_sockaddr(AFX_ADDR_LOCAL, port);
	sx.sx_reserved1 = 1;
	expect_op_err(_metadata, type, op, &sx, AFX_ADDRLEN, EINVAL,
		      "sx_reserved1=1");
	sx.sx_reserved1 = 0x8000;
	expect_op_err(_metadata, type, op, &sx, AFX_ADDRLEN, EINVAL,
		      "sx_reserved1=0x8000");
	for (i = 0; i < sizeof(sx.sx_zero); i++) {
		sx = afx_sockaddr(AFX_ADDR_LOCAL, port);
		sx.sx_zero[i] = 0x80;
		snprintf(msg, sizeof(msg), "sx_zero[%u]!=0", i);
		expect_op_err(_metadata, type, op, &sx, AFX_ADDRLEN, EINVAL,
			      msg);
	}

	/* bad pointer: EFAULT */
	expect_op_err(_metadata, type, op, BAD_PTR, AFX_ADDRLEN, EFAULT,
		      "bad pointer");

	/* addrlen longer than 16 is fine, the extra bytes are ignored */
	memset(buf, 0xee, sizeof(buf));
	sx = afx_sockaddr(AFX_ADDR_LOCAL, port);
	memcpy(buf, &sx, sizeof(sx));
	if (op != OP_BIND) {
		tgt = make_target(type, AFX_ADDR_ANY, port);
		ASSERT_LE(0, tgt) TH_LOG("target on %u: %s", port,
					 strerror(errno));
	}
	fd = afx_socket(type);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, do_op(op, fd, p, 17))
		TH_LOG("%s addrlen 17: %s", op_names[op], strerror(errno));
	close(fd);
	if (tgt >= 0 && type == SOCK_STREAM) {
		/* keep the accept queue from filling up */
		close(tgt);
		tgt = make_target(type, AFX_ADDR_ANY, port);
		ASSERT_LE(0, tgt);
	}
	fd = afx_socket(type);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, do_op(op, fd, p, sizeof(buf)))
		TH_LOG("%s addrlen 128: %s", op_names[op], strerror(errno));
	if (op == OP_BIND)
		EXPECT_EQ(port, afx_local_port(fd));
	close(fd);
	if (tgt >= 0) {
		if (op == OP_SENDTO) {
			char c[4];

			/* both datagrams arrived */
			EXPECT_EQ(1, recv(tgt, c, sizeof(c), MSG_DONTWAIT));
			EXPECT_EQ(1, recv(tgt, c, sizeof(c), MSG_DONTWAIT));
		}
		close(tgt);
	}
}

TEST_F(common, addr_validation_bind)
{
	check_validation(_metadata, self->type, OP_BIND, PORT_A);
}

TEST_F(common, addr_validation_connect)
{
	check_validation(_metadata, self->type, OP_CONNECT, PORT_A);
}

/* sendto() addresses are a datagram feature */
TEST(dgram_addr_validation_sendto)
{
	int fd;

	afx_watchdog(WATCHDOG_SEC);
	fd = afx_socket(SOCK_DGRAM);
	if (fd < 0 && errno == EAFNOSUPPORT)
		SKIP(return, "afx.ko not loaded");
	close(fd);
	check_validation(_metadata, SOCK_DGRAM, OP_SENDTO, PORT_A);
}

/* ------------------------------------------------------------------ bind() */

TEST_F(common, bind_addresses)
{
	static const uint32_t bad[] = {
		AFX_ADDR_BROADCAST, 2, 0x7f000001, 0x80000000, 0xfffffffe,
	};
	struct sockaddr_x sx;
	unsigned int i;
	int fd;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fd = afx_socket(self->type);
		ASSERT_LE(0, fd);
		errno = 0;
		EXPECT_EQ(-1, afx_bind(fd, bad[i], PORT_A))
			TH_LOG("bind to addr %#x", bad[i]);
		EXPECT_EQ(EADDRNOTAVAIL, errno) TH_LOG("addr %#x", bad[i]);
		/* still unbound, a good bind works afterwards */
		EXPECT_EQ(0, afx_bind(fd, AFX_ADDR_ANY, PORT_A));
		close(fd);
	}

	/* ANY and LOCAL are accepted and reported back as given */
	fd = afx_socket(self->type);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, afx_bind(fd, AFX_ADDR_LOCAL, PORT_A));
	ASSERT_EQ(0, afx_getsockname(fd, &sx));
	EXPECT_EQ(afx_family(), sx.sx_family);
	EXPECT_EQ(0, sx.sx_reserved1);
	EXPECT_EQ(PORT_A, sx.sx_port);
	EXPECT_EQ(AFX_ADDR_LOCAL, sx.sx_addr);
	EXPECT_EQ(0, sx.sx_zero[0] | sx.sx_zero[1] | sx.sx_zero[2] |
		  sx.sx_zero[3]);
	close(fd);

	fd = afx_socket(self->type);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, afx_bind(fd, AFX_ADDR_ANY, PORT_A));
	ASSERT_EQ(0, afx_getsockname(fd, &sx));
	EXPECT_EQ(PORT_A, sx.sx_port);
	EXPECT_EQ(AFX_ADDR_ANY, sx.sx_addr);
	close(fd);
}

TEST_F(common, bind_twice)
{
	int fd = afx_socket(self->type);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, afx_bind(fd, AFX_ADDR_ANY, PORT_A));
	errno = 0;
	EXPECT_EQ(-1, afx_bind(fd, AFX_ADDR_ANY, PORT_B));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, afx_bind(fd, AFX_ADDR_ANY, 0));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, afx_bind(fd, AFX_ADDR_ANY, PORT_A));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(PORT_A, afx_local_port(fd));
	close(fd);

	/* an autobound socket is bound too */
	fd = afx_socket(self->type);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, afx_bind(fd, AFX_ADDR_ANY, 0));
	errno = 0;
	EXPECT_EQ(-1, afx_bind(fd, AFX_ADDR_ANY, PORT_B));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
}

TEST_F(common, bind_addrinuse)
{
	static const uint32_t addrs[][2] = {
		{ AFX_ADDR_ANY, AFX_ADDR_ANY },
		{ AFX_ADDR_LOCAL, AFX_ADDR_LOCAL },
		{ AFX_ADDR_ANY, AFX_ADDR_LOCAL },
		{ AFX_ADDR_LOCAL, AFX_ADDR_ANY },
	};
	unsigned int i;
	int a, b;

	for (i = 0; i < 4; i++) {
		a = afx_socket(self->type);
		b = afx_socket(self->type);
		ASSERT_LE(0, a);
		ASSERT_LE(0, b);
		ASSERT_EQ(0, afx_bind(a, addrs[i][0], PORT_A));
		errno = 0;
		EXPECT_EQ(-1, afx_bind(b, addrs[i][1], PORT_A))
			TH_LOG("addr %#x then %#x", addrs[i][0], addrs[i][1]);
		EXPECT_EQ(EADDRINUSE, errno)
			TH_LOG("addr %#x then %#x", addrs[i][0], addrs[i][1]);
		/* b is still unbound: another port works */
		EXPECT_EQ(0, afx_bind(b, addrs[i][1], PORT_B));
		close(a);
		close(b);
	}

	/* the port is free again once the owner is closed */
	a = afx_socket(self->type);
	ASSERT_LE(0, a);
	ASSERT_EQ(0, afx_bind(a, AFX_ADDR_ANY, PORT_A));
	close(a);
	a = afx_socket(self->type);
	ASSERT_LE(0, a);
	EXPECT_EQ(0, afx_bind(a, AFX_ADDR_LOCAL, PORT_A));
	close(a);

	/* an ephemeral port in use cannot be bound explicitly either */
	a = afx_socket(self->type);
	b = afx_socket(self->type);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	ASSERT_EQ(0, afx_bind(a, AFX_ADDR_ANY, 0));
	errno = 0;
	EXPECT_EQ(-1, afx_bind(b, AFX_ADDR_LOCAL, afx_local_port(a)));
	EXPECT_EQ(EADDRINUSE, errno);
	close(a);
	close(b);
}

/* Datagram SO_REUSEADDR sharing is in afx_dgram_test. */
TEST(stream_bind_reuseaddr_no_effect)
{
	int a, b;

	afx_watchdog(WATCHDOG_SEC);
	a = afx_socket(SOCK_STREAM);
	if (a < 0 && errno == EAFNOSUPPORT)
		SKIP(return, "afx.ko not loaded");
	b = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	ASSERT_EQ(0, afx_set_int(a, SOL_SOCKET, SO_REUSEADDR, 1));
	ASSERT_EQ(0, afx_set_int(b, SOL_SOCKET, SO_REUSEADDR, 1));
	ASSERT_EQ(0, afx_bind(a, AFX_ADDR_ANY, PORT_A));
	errno = 0;
	EXPECT_EQ(-1, afx_bind(b, AFX_ADDR_ANY, PORT_A));
	EXPECT_EQ(EADDRINUSE, errno);
	close(a);
	close(b);
}

TEST(bind_type_spaces_separate)
{
	int s, d, s2, d2;

	afx_watchdog(WATCHDOG_SEC);
	s = afx_socket(SOCK_STREAM);
	if (s < 0 && errno == EAFNOSUPPORT)
		SKIP(return, "afx.ko not loaded");
	d = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, s);
	ASSERT_LE(0, d);
	ASSERT_EQ(0, afx_bind(s, AFX_ADDR_ANY, PORT_C));
	EXPECT_EQ(0, afx_bind(d, AFX_ADDR_ANY, PORT_C));
	/* and LOCAL of the other type too */
	s2 = afx_socket(SOCK_STREAM);
	d2 = afx_socket(SOCK_DGRAM);
	ASSERT_LE(0, s2);
	ASSERT_LE(0, d2);
	ASSERT_EQ(0, afx_bind(d2, AFX_ADDR_LOCAL, PORT_D));
	EXPECT_EQ(0, afx_bind(s2, AFX_ADDR_LOCAL, PORT_D));
	close(s);
	close(d);
	close(s2);
	close(d2);
}

/* Drop CAP_NET_BIND_SERVICE from every set of this process. */
static int drop_bind_cap(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
		.pid = 0,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -1;
	data[0].effective &= ~(1U << CAP_NET_BIND_SERVICE);
	data[0].permitted &= ~(1U << CAP_NET_BIND_SERVICE);
	data[0].inheritable &= ~(1U << CAP_NET_BIND_SERVICE);
	return (int)syscall(SYS_capset, &hdr, data);
}

static int have_bind_cap(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
		.pid = 0,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return 0;
	return !!(data[0].effective & (1U << CAP_NET_BIND_SERVICE));
}

TEST_F(common, bind_privileged_port)
{
	int fd;

	if (!have_bind_cap())
		SKIP(return, "needs CAP_NET_BIND_SERVICE to start with");

	/* with the capability: ports 1 and 1023 */
	fd = afx_socket(self->type);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, afx_bind(fd, AFX_ADDR_ANY, 1)) TH_LOG("%s", strerror(errno));
	close(fd);
	fd = afx_socket(self->type);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, afx_bind(fd, AFX_ADDR_LOCAL, PORT_LOW))
		TH_LOG("%s", strerror(errno));
	close(fd);

	/* this test process is disposable: drop the capability here */
	ASSERT_EQ(0, drop_bind_cap()) TH_LOG("capset: %s", strerror(errno));
	ASSERT_EQ(0, have_bind_cap());

	fd = afx_socket(self->type);
	ASSERT_LE(0, fd);
	errno = 0;
	EXPECT_EQ(-1, afx_bind(fd, AFX_ADDR_ANY, PORT_LOW));
	EXPECT_EQ(EACCES, errno);
	errno = 0;
	EXPECT_EQ(-1, afx_bind(fd, AFX_ADDR_LOCAL, 1));
	EXPECT_EQ(EACCES, errno);
	errno = 0;
	EXPECT_EQ(-1, afx_bind(fd, AFX_ADDR_ANY, 80));
	EXPECT_EQ(EACCES, errno);
	/* 1024 and up, and ephemeral ports, need nothing */
	EXPECT_EQ(0, afx_bind(fd, AFX_ADDR_ANY, 1024)) TH_LOG("%s", strerror(errno));
	close(fd);
	fd = afx_socket(self->type);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, afx_bind(fd, AFX_ADDR_ANY, 0));
	EXPECT_TRUE(check_eph(afx_local_port(fd)));
	close(fd);
}

/*
 * The capability counts in the user namespace that owns the netns: a
 * child in a new user namespace has every capability there, but not in the
 * initial one, which owns the initial netns; with a netns of its own
 * (owned by its new user namespace) it may bind privileged ports again.
 * Exit code: 0 ok, 100 unshare failed, else the failing step.
 */
static int userns_child(int type, int with_netns)
{
	int fd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	alarm(20);
	if (unshare(CLONE_NEWUSER | (with_netns ? CLONE_NEWNET : 0)))
		return 100;
	if (!have_bind_cap())
		return 2;	/* full capabilities in the new userns */
	fd = afx_socket(type);
	if (fd < 0)
		return 3;
	errno = 0;
	if (with_netns) {
		if (afx_bind(fd, AFX_ADDR_ANY, PORT_LOW))
			return 4;
	} else {
		if (afx_bind(fd, AFX_ADDR_ANY, PORT_LOW) == 0)
			return 5;
		if (errno != EACCES)
			return 6;
		if (afx_bind(fd, AFX_ADDR_ANY, 1024))
			return 7;
	}
	close(fd);
	return 0;
}

TEST_F(common, bind_privileged_port_userns)
{
	int with_netns, rc;
	pid_t pid;

	for (with_netns = 0; with_netns < 2; with_netns++) {
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0)
			_exit(userns_child(self->type, with_netns));
		rc = wait_child(pid);
		if (rc == 100)
			SKIP(return, "unshare(CLONE_NEWUSER%s) failed",
			     with_netns ? "|CLONE_NEWNET" : "");
		EXPECT_EQ(0, rc) TH_LOG("%s: child failed at step %d",
					with_netns ? "new userns+netns" :
						     "new userns, initial netns",
					rc);
	}
}

TEST_F(common, bind_ephemeral)
{
	struct sockaddr_x sx;
	long p1, p2;
	int a, b;

	a = afx_socket(self->type);
	b = afx_socket(self->type);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	ASSERT_EQ(0, afx_bind(a, AFX_ADDR_ANY, AFX_PORT_ANY));
	ASSERT_EQ(0, afx_bind(b, AFX_ADDR_LOCAL, AFX_PORT_ANY));
	p1 = afx_local_port(a);
	p2 = afx_local_port(b);
	EXPECT_TRUE(check_eph(p1)) TH_LOG("port %ld", p1);
	EXPECT_TRUE(check_eph(p2)) TH_LOG("port %ld", p2);
	EXPECT_NE(p1, p2);
	ASSERT_EQ(0, afx_getsockname(a, &sx));
	EXPECT_EQ(AFX_ADDR_ANY, sx.sx_addr);
	ASSERT_EQ(0, afx_getsockname(b, &sx));
	EXPECT_EQ(AFX_ADDR_LOCAL, sx.sx_addr);
	close(a);
	close(b);
}

/*
 * Bind every ephemeral port of this type in a fresh netns (so that nothing
 * else holds one), then expect EADDRNOTAVAIL for bind(port 0) and for
 * autobind.
 */
TEST_F_TIMEOUT(common, ephemeral_exhaustion, 600)
{
	static unsigned char seen[EPH_COUNT];
	struct rlimit rl = { EPH_COUNT + 256, EPH_COUNT + 256 };
	int *fds, n = 0, i, fd, other, err = 0;
	double t0;
	long p;

	afx_watchdog(590);
	if (unshare(CLONE_NEWNET))
		SKIP(return, "unshare(CLONE_NEWNET): %s", strerror(errno));
	if (setrlimit(RLIMIT_NOFILE, &rl))
		SKIP(return, "setrlimit(NOFILE, %d): %s", EPH_COUNT + 256,
		     strerror(errno));
	fds = calloc(EPH_COUNT + 1, sizeof(*fds));
	ASSERT_NE(NULL, fds);

	t0 = now_ms();
	for (;;) {
		fd = afx_socket(self->type);
		ASSERT_LE(0, fd) TH_LOG("socket #%d: %s", n, strerror(errno));
		if (afx_bind(fd, AFX_ADDR_ANY, 0)) {
			err = errno;
			close(fd);
			break;
		}
		p = afx_local_port(fd);
		ASSERT_TRUE(check_eph(p)) TH_LOG("port %ld", p);
		ASSERT_EQ(0, seen[p - EPH_LO]) TH_LOG("port %ld twice", p);
		seen[p - EPH_LO] = 1;
		fds[n++] = fd;
		if (n > EPH_COUNT)
			break;
	}
	TH_LOG("bound %d ephemeral ports in %.0f ms", n, now_ms() - t0);
	EXPECT_EQ(EPH_COUNT, n);
	EXPECT_EQ(EADDRNOTAVAIL, err) TH_LOG("got %s", strerror(err));

	/* autobind fails the same way */
	fd = afx_socket(self->type);
	ASSERT_LE(0, fd);
	errno = 0;
	if (self->type == SOCK_STREAM) {
		EXPECT_EQ(-1, listen(fd, 1));
	} else {
		EXPECT_EQ(-1, afx_connect(fd, AFX_ADDR_LOCAL, PORT_A));
	}
	EXPECT_EQ(EADDRNOTAVAIL, errno) TH_LOG("autobind: %s", strerror(errno));
	close(fd);

	/* explicit ports outside the range still work */
	fd = afx_socket(self->type);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, afx_bind(fd, AFX_ADDR_ANY, PORT_A));
	close(fd);

	/* the other type has its own ephemeral space */
	other = afx_socket(self->type == SOCK_STREAM ? SOCK_DGRAM : SOCK_STREAM);
	ASSERT_LE(0, other);
	EXPECT_EQ(0, afx_bind(other, AFX_ADDR_ANY, 0));
	EXPECT_TRUE(check_eph(afx_local_port(other)));
	close(other);

	/* free one port: port 0 gets exactly that one */
	if (n > 100) {
		p = afx_local_port(fds[100]);
		close(fds[100]);
		fds[100] = -1;
		fd = afx_socket(self->type);
		ASSERT_LE(0, fd);
		EXPECT_EQ(0, afx_bind(fd, AFX_ADDR_ANY, 0))
			TH_LOG("%s", strerror(errno));
		EXPECT_EQ(p, afx_local_port(fd));
		close(fd);
	}

	t0 = now_ms();
	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	TH_LOG("closed them in %.0f ms", now_ms() - t0);
}

/* ---------------------------------------------------------------- autobind */

TEST_F(common, autobind)
{
	struct sockaddr_x sx;
	int tgt, fd, fd2;
	long p;

	tgt = make_target(self->type, AFX_ADDR_ANY, PORT_A);
	ASSERT_LE(0, tgt);

	/* unbound: {AF_X, 0, 0} */
	fd = afx_socket(self->type);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, afx_getsockname(fd, &sx));
	EXPECT_EQ(afx_family(), sx.sx_family);
	EXPECT_EQ(0, sx.sx_reserved1);
	EXPECT_EQ(0U, sx.sx_port);
	EXPECT_EQ(0U, sx.sx_addr);
	EXPECT_EQ(0, sx.sx_zero[0] | sx.sx_zero[1] | sx.sx_zero[2] |
		  sx.sx_zero[3]);

	/* connect() autobinds, addr ANY */
	ASSERT_EQ(0, afx_connect(fd, AFX_ADDR_LOCAL, PORT_A))
		TH_LOG("%s", strerror(errno));
	ASSERT_EQ(0, afx_getsockname(fd, &sx));
	EXPECT_TRUE(check_eph(sx.sx_port)) TH_LOG("port %u", sx.sx_port);
	EXPECT_EQ(AFX_ADDR_ANY, sx.sx_addr);
	close(fd);

	if (self->type == SOCK_DGRAM) {
		/* sendto() autobinds */
		fd = afx_socket(SOCK_DGRAM);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, reach(fd, SOCK_DGRAM, AFX_ADDR_LOCAL, PORT_A));
		ASSERT_EQ(0, afx_getsockname(fd, &sx));
		EXPECT_TRUE(check_eph(sx.sx_port));
		EXPECT_EQ(AFX_ADDR_ANY, sx.sx_addr);
		p = sx.sx_port;
		/* a second sendto keeps the port */
		ASSERT_EQ(0, reach(fd, SOCK_DGRAM, AFX_ADDR_LOCAL, PORT_A));
		EXPECT_EQ(p, afx_local_port(fd));
		close(fd);
		/* connect() to a port nobody bound still autobinds */
		fd = afx_socket(SOCK_DGRAM);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, afx_connect(fd, AFX_ADDR_LOCAL, PORT_B));
		EXPECT_TRUE(check_eph(afx_local_port(fd)));
		close(fd);
	} else {
		/* listen() autobinds */
		fd = afx_socket(SOCK_STREAM);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, listen(fd, 1));
		ASSERT_EQ(0, afx_getsockname(fd, &sx));
		EXPECT_TRUE(check_eph(sx.sx_port));
		EXPECT_EQ(AFX_ADDR_ANY, sx.sx_addr);
		/* and that port can be connected to */
		fd2 = afx_socket(SOCK_STREAM);
		ASSERT_LE(0, fd2);
		EXPECT_EQ(0, afx_connect(fd2, AFX_ADDR_LOCAL, sx.sx_port));
		close(fd2);
		close(fd);
	}
	close(tgt);
}

TEST_F(common, getpeername)
{
	struct sockaddr_x sx;
	int tgt, fd;
	long p;

	fd = afx_socket(self->type);
	ASSERT_LE(0, fd);
	errno = 0;
	EXPECT_EQ(-1, afx_getpeername(fd, &sx));
	EXPECT_EQ(ENOTCONN, errno);
	/* bound but not connected: still ENOTCONN */
	ASSERT_EQ(0, afx_bind(fd, AFX_ADDR_ANY, 0));
	errno = 0;
	EXPECT_EQ(-1, afx_getpeername(fd, &sx));
	EXPECT_EQ(ENOTCONN, errno);
	close(fd);

	tgt = make_target(self->type, AFX_ADDR_ANY, PORT_A);
	ASSERT_LE(0, tgt);
	fd = afx_socket(self->type);
	ASSERT_LE(0, fd);
	/* connect to {ANY, port}: ANY means this host too */
	ASSERT_EQ(0, afx_connect(fd, AFX_ADDR_ANY, PORT_A));
	ASSERT_EQ(0, afx_getpeername(fd, &sx));
	EXPECT_EQ(afx_family(), sx.sx_family);
	EXPECT_EQ(0, sx.sx_reserved1);
	EXPECT_EQ(PORT_A, sx.sx_port);
	EXPECT_EQ(AFX_ADDR_LOCAL, sx.sx_addr);
	EXPECT_EQ(0, sx.sx_zero[0] | sx.sx_zero[1] | sx.sx_zero[2] |
		  sx.sx_zero[3]);
	p = afx_local_port(fd);
	close(fd);

	if (self->type == SOCK_STREAM) {
		int a;
		struct sockaddr_x from;
		socklen_t len = sizeof(from);

		memset(&from, 0xa5, sizeof(from));
		a = accept(tgt, AFX_SA(&from), &len);
		ASSERT_LE(0, a);
		EXPECT_EQ(AFX_ADDRLEN, len);
		EXPECT_EQ(p, from.sx_port);
		EXPECT_EQ(AFX_ADDR_LOCAL, from.sx_addr);
		/* accepted: {LOCAL, listener port} */
		ASSERT_EQ(0, afx_getsockname(a, &sx));
		EXPECT_EQ(PORT_A, sx.sx_port);
		EXPECT_EQ(AFX_ADDR_LOCAL, sx.sx_addr);
		ASSERT_EQ(0, afx_getpeername(a, &sx));
		EXPECT_EQ(p, sx.sx_port);
		EXPECT_EQ(AFX_ADDR_LOCAL, sx.sx_addr);
		close(a);
	}
	close(tgt);
}

TEST_F(common, getsockname_short_buffer)
{
	struct sockaddr_x sx;
	socklen_t len;
	int fd = afx_socket(self->type);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, afx_bind(fd, AFX_ADDR_LOCAL, PORT_A));
	memset(&sx, 0xa5, sizeof(sx));
	len = 4;
	ASSERT_EQ(0, getsockname(fd, AFX_SA(&sx), &len));
	/* truncated copy, full length reported */
	EXPECT_EQ(AFX_ADDRLEN, len);
	EXPECT_EQ(afx_family(), sx.sx_family);
	EXPECT_EQ(0xa5a5a5a5U, sx.sx_port);
	len = sizeof(sx);
	ASSERT_EQ(0, getsockname(fd, AFX_SA(&sx), &len));
	EXPECT_EQ(AFX_ADDRLEN, len);
	close(fd);
}

/* ----------------------------------------------------- connect destinations */

TEST_F(common, connect_destinations)
{
	static const uint32_t other[] = { 2, 0x7f000001, 0xfffffffe, 0x10000 };
	unsigned int i;
	int tgt, fd;

	tgt = make_target(self->type, AFX_ADDR_ANY, PORT_A);
	ASSERT_LE(0, tgt);

	/* another address than ANY/LOCAL/BROADCAST: ENETUNREACH */
	for (i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		fd = afx_socket(self->type);
		ASSERT_LE(0, fd);
		errno = 0;
		EXPECT_EQ(-1, afx_connect(fd, other[i], PORT_A))
			TH_LOG("addr %#x", other[i]);
		EXPECT_EQ(ENETUNREACH, errno) TH_LOG("addr %#x", other[i]);
		if (self->type == SOCK_DGRAM) {
			errno = 0;
			EXPECT_EQ(-1, reach(fd, SOCK_DGRAM, other[i], PORT_A));
			EXPECT_EQ(ENETUNREACH, errno)
				TH_LOG("sendto addr %#x", other[i]);
		}
		close(fd);
	}

	/* BROADCAST */
	fd = afx_socket(self->type);
	ASSERT_LE(0, fd);
	errno = 0;
	EXPECT_EQ(-1, afx_connect(fd, AFX_ADDR_BROADCAST, PORT_A));
	EXPECT_EQ(self->type == SOCK_STREAM ? ENETUNREACH : EACCES, errno)
		TH_LOG("connect BROADCAST: %s", strerror(errno));
	close(fd);
	fd = afx_socket(self->type);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, afx_set_int(fd, SOL_SOCKET, SO_BROADCAST, 1));
	errno = 0;
	if (self->type == SOCK_STREAM) {
		/* SO_BROADCAST does not make a stream broadcast */
		EXPECT_EQ(-1, afx_connect(fd, AFX_ADDR_BROADCAST, PORT_A));
		EXPECT_EQ(ENETUNREACH, errno);
	} else {
		EXPECT_EQ(0, afx_connect(fd, AFX_ADDR_BROADCAST, PORT_A))
			TH_LOG("%s", strerror(errno));
	}
	close(fd);

	/* port 0: stream ECONNREFUSED, dgram EINVAL */
	fd = afx_socket(self->type);
	ASSERT_LE(0, fd);
	errno = 0;
	EXPECT_EQ(-1, afx_connect(fd, AFX_ADDR_LOCAL, 0));
	EXPECT_EQ(self->type == SOCK_STREAM ? ECONNREFUSED : EINVAL, errno)
		TH_LOG("connect port 0: %s", strerror(errno));
	if (self->type == SOCK_DGRAM) {
		errno = 0;
		EXPECT_EQ(-1, reach(fd, SOCK_DGRAM, AFX_ADDR_LOCAL, 0));
		EXPECT_EQ(EINVAL, errno) TH_LOG("sendto port 0: %s",
						strerror(errno));
		errno = 0;
		EXPECT_EQ(-1, reach(fd, SOCK_DGRAM, AFX_ADDR_ANY, 0));
		EXPECT_EQ(EINVAL, errno);
	}
	close(fd);

	/* ANY and LOCAL both reach this host */
	fd = afx_socket(self->type);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, reach(fd, self->type, AFX_ADDR_ANY, PORT_A))
		TH_LOG("%s", strerror(errno));
	close(fd);
	fd = afx_socket(self->type);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, reach(fd, self->type, AFX_ADDR_LOCAL, PORT_A))
		TH_LOG("%s", strerror(errno));
	close(fd);

	/* nobody on the port */
	fd = afx_socket(self->type);
	ASSERT_LE(0, fd);
	errno = 0;
	EXPECT_EQ(-1, reach(fd, self->type, AFX_ADDR_LOCAL, PORT_B));
	EXPECT_EQ(ECONNREFUSED, errno) TH_LOG("%s", strerror(errno));
	close(fd);
	close(tgt);
}

/* ----------------------------------------------------------- SOL_X options */

TEST_F(common, solx_nonblock_option)
{
	int fd = afx_socket(self->type), v;
	socklen_t len;

	ASSERT_LE(0, fd);
	v = -1;
	len = sizeof(v);
	ASSERT_EQ(0, getsockopt(fd, SOL_X, X_NONBLOCK, &v, &len));
	EXPECT_EQ(0, v);
	EXPECT_EQ(sizeof(int), len);

	ASSERT_EQ(0, afx_set_int(fd, SOL_X, X_NONBLOCK, 1));
	ASSERT_EQ(0, afx_get_int(fd, SOL_X, X_NONBLOCK, &v));
	EXPECT_EQ(1, v);
	/* any nonzero value reads back as 1 */
	ASSERT_EQ(0, afx_set_int(fd, SOL_X, X_NONBLOCK, 0));
	ASSERT_EQ(0, afx_get_int(fd, SOL_X, X_NONBLOCK, &v));
	EXPECT_EQ(0, v);
	ASSERT_EQ(0, afx_set_int(fd, SOL_X, X_NONBLOCK, 42));
	ASSERT_EQ(0, afx_get_int(fd, SOL_X, X_NONBLOCK, &v));
	EXPECT_EQ(1, v);
	ASSERT_EQ(0, afx_set_int(fd, SOL_X, X_NONBLOCK, -1));
	ASSERT_EQ(0, afx_get_int(fd, SOL_X, X_NONBLOCK, &v));
	EXPECT_EQ(1, v);

	/* a larger getsockopt buffer: optlen comes back as sizeof(int) */
	{
		int big[2] = { -1, -1 };

		len = sizeof(big);
		ASSERT_EQ(0, getsockopt(fd, SOL_X, X_NONBLOCK, big, &len));
		EXPECT_EQ(sizeof(int), len);
		EXPECT_EQ(1, big[0]);
	}
	/* a larger setsockopt buffer is fine too */
	{
		long long big = 0;

		EXPECT_EQ(0, setsockopt(fd, SOL_X, X_NONBLOCK, &big,
					sizeof(big)));
		ASSERT_EQ(0, afx_get_int(fd, SOL_X, X_NONBLOCK, &v));
		EXPECT_EQ(0, v);
	}
	/* X_NONBLOCK does not touch the file flags */
	ASSERT_EQ(0, afx_set_int(fd, SOL_X, X_NONBLOCK, 1));
	EXPECT_EQ(0, fcntl(fd, F_GETFL) & O_NONBLOCK);
	close(fd);
}

TEST_F(common, solx_errors)
{
	int fd = afx_socket(self->type), v = 1;
	short sv = 1;
	socklen_t len;

	ASSERT_LE(0, fd);

	/* short optlen */
	errno = 0;
	EXPECT_EQ(-1, setsockopt(fd, SOL_X, X_NONBLOCK, &sv, sizeof(sv)));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, setsockopt(fd, SOL_X, X_NONBLOCK, &v, 0));
	EXPECT_EQ(EINVAL, errno);
	len = sizeof(sv);
	errno = 0;
	EXPECT_EQ(-1, getsockopt(fd, SOL_X, X_NONBLOCK, &sv, &len));
	EXPECT_EQ(EINVAL, errno);
	len = 0;
	errno = 0;
	EXPECT_EQ(-1, getsockopt(fd, SOL_X, X_NONBLOCK, &v, &len));
	EXPECT_EQ(EINVAL, errno);

	/* unknown SOL_X options */
	errno = 0;
	EXPECT_EQ(-1, afx_set_int(fd, SOL_X, 0, 1));
	EXPECT_EQ(ENOPROTOOPT, errno);
	errno = 0;
	EXPECT_EQ(-1, afx_set_int(fd, SOL_X, 3, 1));
	EXPECT_EQ(ENOPROTOOPT, errno);
	errno = 0;
	EXPECT_EQ(-1, afx_get_int(fd, SOL_X, 3, &v));
	EXPECT_EQ(ENOPROTOOPT, errno);
	errno = 0;
	EXPECT_EQ(-1, afx_get_int(fd, SOL_X, 1000, &v));
	EXPECT_EQ(ENOPROTOOPT, errno);

	/* other levels */
	errno = 0;
	EXPECT_EQ(-1, afx_set_int(fd, 6 /* SOL_TCP */, X_NONBLOCK, 1));
	EXPECT_EQ(ENOPROTOOPT, errno);
	errno = 0;
	EXPECT_EQ(-1, afx_get_int(fd, 6, X_NONBLOCK, &v));
	EXPECT_EQ(ENOPROTOOPT, errno);
	errno = 0;
	EXPECT_EQ(-1, afx_set_int(fd, 0 /* SOL_IP */, 1, 1));
	EXPECT_EQ(ENOPROTOOPT, errno);
	errno = 0;
	EXPECT_EQ(-1, afx_get_int(fd, SOL_X + 1, X_NONBLOCK, &v));
	EXPECT_EQ(ENOPROTOOPT, errno);

	/* X_REFUSE_WHEN_FULL is a stream option */
	if (self->type == SOCK_DGRAM) {
		errno = 0;
		EXPECT_EQ(-1, afx_set_int(fd, SOL_X, X_REFUSE_WHEN_FULL, 1));
		EXPECT_EQ(ENOPROTOOPT, errno);
		errno = 0;
		EXPECT_EQ(-1, afx_get_int(fd, SOL_X, X_REFUSE_WHEN_FULL, &v));
		EXPECT_EQ(ENOPROTOOPT, errno);
	} else {
		v = -1;
		EXPECT_EQ(0, afx_get_int(fd, SOL_X, X_REFUSE_WHEN_FULL, &v));
		EXPECT_EQ(0, v);
		EXPECT_EQ(0, afx_set_int(fd, SOL_X, X_REFUSE_WHEN_FULL, 7));
		EXPECT_EQ(0, afx_get_int(fd, SOL_X, X_REFUSE_WHEN_FULL, &v));
		EXPECT_EQ(1, v);
	}

	/* bad pointers */
	errno = 0;
	EXPECT_EQ(-1, setsockopt(fd, SOL_X, X_NONBLOCK, BAD_PTR, sizeof(int)));
	EXPECT_EQ(EFAULT, errno);
	len = sizeof(int);
	errno = 0;
	EXPECT_EQ(-1, getsockopt(fd, SOL_X, X_NONBLOCK, BAD_PTR, &len));
	EXPECT_EQ(EFAULT, errno);
	errno = 0;
	EXPECT_EQ(-1, getsockopt(fd, SOL_X, X_NONBLOCK, &v, BAD_PTR));
	EXPECT_EQ(EFAULT, errno);
	close(fd);
}

TEST_F(common, solx_nonblock_behaviour)
{
	struct timeval tv = { 0, 200 * 1000 };
	int fd, peer = -1, fds[2];
	double t0, dt;
	char c;

	if (self->type == SOCK_STREAM) {
		ASSERT_EQ(0, afx_stream_pair(fds));
		fd = fds[0];
		peer = fds[1];
	} else {
		fd = afx_socket(SOCK_DGRAM);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, afx_bind(fd, AFX_ADDR_ANY, 0));
	}
	ASSERT_EQ(0, fcntl(fd, F_GETFL) & O_NONBLOCK);
	ASSERT_EQ(0, afx_set_int(fd, SOL_X, X_NONBLOCK, 1));
	ASSERT_EQ(0, fcntl(fd, F_GETFL) & O_NONBLOCK);

	/* nothing queued: EAGAIN right away instead of blocking */
	errno = 0;
	EXPECT_EQ(-1, recv(fd, &c, 1, 0));
	EXPECT_EQ(EAGAIN, errno);
	errno = 0;
	EXPECT_EQ(-1, read(fd, &c, 1));
	EXPECT_EQ(EAGAIN, errno);
	errno = 0;
	EXPECT_EQ(-1, recvfrom(fd, &c, 1, 0, NULL, NULL));
	EXPECT_EQ(EAGAIN, errno);

	/* a dup()ed descriptor shares the socket, and the option */
	{
		int d = dup(fd);

		ASSERT_LE(0, d);
		errno = 0;
		EXPECT_EQ(-1, recv(d, &c, 1, 0));
		EXPECT_EQ(EAGAIN, errno);
		close(d);
	}

	/* switched off: recv blocks again (until SO_RCVTIMEO here) */
	ASSERT_EQ(0, afx_set_int(fd, SOL_X, X_NONBLOCK, 0));
	ASSERT_EQ(0, setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
	t0 = now_ms();
	errno = 0;
	EXPECT_EQ(-1, recv(fd, &c, 1, 0));
	dt = now_ms() - t0;
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_LE(150, (int)dt) TH_LOG("returned after %.1f ms", dt);
	close(fd);
	if (peer >= 0)
		close(peer);
}

/* ------------------------------------------------------------------- netns */

/*
 * Child in a new netns: binds the parent's port (allowed), cannot reach the
 * parent's other port, then publishes a port of its own and waits for the
 * parent to try it. Exit code: 0 ok, else the failing step.
 */
static int netns_child(int type, int to_parent, int from_parent)
{
	int fd, own, fd2;
	char c = 0;

	/* die with the test process, and a hang fails */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	alarm(20);
	if (unshare(CLONE_NEWNET))
		return 100;
	/* the parent's PORT_A is free in here */
	own = make_target(type, AFX_ADDR_ANY, PORT_A);
	if (own < 0)
		return 2;
	/* the parent's PORT_B is not visible */
	fd = afx_socket(type);
	if (fd < 0)
		return 3;
	errno = 0;
	if (reach(fd, type, AFX_ADDR_LOCAL, PORT_B) == 0 ||
	    errno != ECONNREFUSED)
		return 4;
	close(fd);
	/* but our own PORT_A is */
	fd = afx_socket(type);
	if (fd < 0 || reach(fd, type, AFX_ADDR_LOCAL, PORT_A))
		return 5;
	close(fd);
	/* broadcast in here does not reach the parent's PORT_D */
	if (type == SOCK_DGRAM) {
		fd = afx_socket(SOCK_DGRAM);
		if (fd < 0 || afx_set_int(fd, SOL_SOCKET, SO_BROADCAST, 1))
			return 6;
		if (reach(fd, SOCK_DGRAM, AFX_ADDR_BROADCAST, PORT_D))
			return 7;
		close(fd);
	}
	/* a port only we have: PORT_C */
	fd2 = make_target(type, AFX_ADDR_LOCAL, PORT_C);
	if (fd2 < 0)
		return 8;
	if (write(to_parent, "r", 1) != 1)
		return 9;
	if (read(from_parent, &c, 1) != 1)
		return 10;
	close(fd2);
	close(own);
	return 0;
}

TEST_F(common, netns_isolation)
{
	int a, b, bc = -1, fd, p2c[2], c2p[2], rc;
	char c;
	pid_t pid;

	a = make_target(self->type, AFX_ADDR_ANY, PORT_A);
	b = make_target(self->type, AFX_ADDR_LOCAL, PORT_B);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	if (self->type == SOCK_DGRAM) {
		bc = afx_socket(SOCK_DGRAM);
		ASSERT_LE(0, bc);
		ASSERT_EQ(0, afx_set_int(bc, SOL_SOCKET, SO_REUSEADDR, 1));
		ASSERT_EQ(0, afx_bind(bc, AFX_ADDR_ANY, PORT_D));
	}
	ASSERT_EQ(0, pipe(p2c));
	ASSERT_EQ(0, pipe(c2p));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(p2c[1]);
		close(c2p[0]);
		_exit(netns_child(self->type, c2p[1], p2c[0]));
	}
	close(p2c[0]);
	close(c2p[1]);

	if (read(c2p[0], &c, 1) == 1) {
		/* the child's PORT_C does not exist for us */
		fd = afx_socket(self->type);
		ASSERT_LE(0, fd);
		errno = 0;
		EXPECT_EQ(-1, reach(fd, self->type, AFX_ADDR_LOCAL, PORT_C));
		EXPECT_EQ(ECONNREFUSED, errno) TH_LOG("%s", strerror(errno));
		close(fd);
	}
	ASSERT_EQ(1, write(p2c[1], "x", 1));
	rc = wait_child(pid);
	if (rc == 100)
		SKIP(return, "unshare(CLONE_NEWNET) failed in the child");
	EXPECT_EQ(0, rc) TH_LOG("netns child failed at step %d", rc);

	/* nothing from the child's netns arrived here */
	if (self->type == SOCK_DGRAM) {
		errno = 0;
		EXPECT_EQ(-1, recv(a, &c, 1, MSG_DONTWAIT));
		EXPECT_EQ(EAGAIN, errno);
		errno = 0;
		EXPECT_EQ(-1, recv(bc, &c, 1, MSG_DONTWAIT));
		EXPECT_EQ(EAGAIN, errno);
		close(bc);
	} else {
		EXPECT_EQ(0, afx_poll(a, POLLIN, 0));
	}
	/* our own sockets still work */
	fd = afx_socket(self->type);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, reach(fd, self->type, AFX_ADDR_LOCAL, PORT_B));
	close(fd);
	close(a);
	close(b);
	close(p2c[1]);
	close(c2p[0]);
}

TEST_HARNESS_MAIN
