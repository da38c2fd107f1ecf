// SPDX-License-Identifier: GPL-2.0
/*
 * afx_socket_test.c - socket() arguments, SO_TYPE/SO_PROTOCOL/
 * SO_DOMAIN and the validation of every sockaddr_x passed in.
 *
 * Documentation/afx.rst, the parts stream and datagram sockets share: most
 * tests run twice, on SOCK_STREAM and SOCK_DGRAM (FIXTURE(common)). Every
 * test arms afx_watchdog(); forked children report through their exit
 * status, never through ASSERT/EXPECT.
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
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <linux/capability.h>

#include "afx_harness.h"
#include "afx_fixture_common.h"

/* A bad user pointer: the first page is never mapped. */
#define BAD_PTR		((void *)8)

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
	static const int types[] = { SOCK_RAW, SOCK_RDM, SOCK_DCCP, SOCK_PACKET };
	unsigned int i;
	int fd;

	afx_watchdog(WATCHDOG_SEC);
	fd = afx_socket(SOCK_DGRAM);
	AFX_SKIP_IF_NO_AFX(fd);
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
		tgt = afx_target(type, AFX_ADDR_ANY, port);
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
		tgt = afx_target(type, AFX_ADDR_ANY, port);
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
	check_validation(_metadata, self->type, OP_BIND, self->port_a);
}

TEST_F(common, addr_validation_connect)
{
	check_validation(_metadata, self->type, OP_CONNECT, self->port_a);
}

/* sendto() addresses are a datagram feature */
TEST(dgram_addr_validation_sendto)
{
	uint32_t port_a = afx_free_port(0);
	int fd;

	afx_watchdog(WATCHDOG_SEC);
	fd = afx_socket(SOCK_DGRAM);
	AFX_SKIP_IF_NO_AFX(fd);
	close(fd);
	check_validation(_metadata, SOCK_DGRAM, OP_SENDTO, port_a);
}

/* "Other calls": no mmap() of a socket (socketpair: afx_socketpair_test). */
TEST_F(common, mmap_unsupported)
{
	int fd;
	void *p;

	fd = afx_socket(self->type);
	ASSERT_LE(0, fd);
	errno = 0;
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(ENODEV, errno) TH_LOG("mmap: %s", strerror(errno));
	close(fd);
}

AFX_TEST_MAIN
