// SPDX-License-Identifier: GPL-2.0
/*
 * afx_pidfd_test.c - SO_PEERPIDFD and SO_PASSPIDFD on AF_X sockets.
 *
 * Documentation/afx.rst, "Credentials". Kernels from 6.5 have both
 * options; on older ones the kernel refuses them (ENOPROTOOPT) for every
 * family. Each test asks AF_UNIX first, on the same kernel, and holds
 * AF_X to what that answer implies:
 *   - where AF_UNIX has SO_PEERPIDFD, an AF_X socket's SO_PEERPIDFD is a
 *     pidfd of the process SO_PEERCRED names (stream and seqpacket
 *     connections, both ends; stream and datagram socketpairs), and
 *     ENODATA where SO_PEERCRED names nobody; where AF_UNIX lacks it,
 *     AF_X refuses it with AF_UNIX's errno;
 *   - SO_PASSPIDFD is the kernel's own flag: it reads back as set, and
 *     afx delivers no SCM_PIDFD (a module cannot make pidfds), while the
 *     data and any SCM_CREDENTIALS arrive as without it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "afx_harness.h"

#define WATCHDOG_SEC	20

/* From Linux 6.5's asm-generic/socket.h, which Debian 12's lacks. */
#ifndef SO_PASSPIDFD
#define SO_PASSPIDFD	76
#endif
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD	77
#endif
#ifndef SCM_PIDFD
#define SCM_PIDFD	0x04
#endif

/* 0 if this kernel has SO_PEERPIDFD (asked of AF_UNIX), else its errno. */
static int kernel_peerpidfd_errno(void)
{
	int sv[2], fd, err = 0;
	socklen_t len = sizeof(fd);

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return -1;
	if (getsockopt(sv[0], SOL_SOCKET, SO_PEERPIDFD, &fd, &len))
		err = errno;
	else
		close(fd);
	close(sv[0]);
	close(sv[1]);
	return err;
}

/* The pid a pidfd refers to ("Pid:" in its fdinfo), or -1. */
static pid_t pidfd_pid(int pidfd)
{
	char path[64], line[128];
	pid_t pid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Pid: %d", &pid) == 1)
			break;
	fclose(f);
	return pid;
}

/*
 * check_peerpidfd: fd's SO_PEERPIDFD as the kernel's AF_UNIX answer
 * implies: a pidfd of SO_PEERCRED's process, or AF_UNIX's errno.
 */
static void check_peerpidfd(struct __test_metadata *_metadata, int fd,
			    int kerr)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);
	int pidfd = -1;

	ASSERT_EQ(0, getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len));
	ASSERT_NE(0, uc.pid);
	len = sizeof(pidfd);
	if (kerr) {
		EXPECT_EQ(-1, getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD,
					 &pidfd, &len));
		EXPECT_EQ(kerr, errno);
		return;
	}
	ASSERT_EQ(0, getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len));
	EXPECT_EQ(sizeof(int), len);
	ASSERT_LE(0, pidfd);
	EXPECT_EQ(uc.pid, pidfd_pid(pidfd));
	close(pidfd);
}

TEST(peerpidfd_stream_connection_names_the_peer_process)
{
	int kerr = kernel_peerpidfd_errno(), l, a, res[2], go[2], status;
	int pidfd = -1;
	struct ucred uc;
	socklen_t len = sizeof(uc);
	uint32_t port;
	pid_t pid;
	char c;

	afx_watchdog(WATCHDOG_SEC);
	ASSERT_LE(0, kerr);
	l = afx_listener(SOCK_STREAM, 4, &port);
	ASSERT_LE(0, l);
	ASSERT_EQ(0, pipe(res));
	ASSERT_EQ(0, pipe(go));
	pid = afx_child_fork(WATCHDOG_SEC);
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int s = afx_socket(SOCK_STREAM), pidfd = -1, ok;
		socklen_t pl = sizeof(pidfd);

		if (s < 0 || afx_connect_port(s, port))
			_exit(2);
		/* The client's view: a pidfd of the parent, or kerr. */
		if (kerr)
			ok = getsockopt(s, SOL_SOCKET, SO_PEERPIDFD, &pidfd,
					&pl) && errno == kerr;
		else
			ok = !getsockopt(s, SOL_SOCKET, SO_PEERPIDFD, &pidfd,
					 &pl) && pidfd_pid(pidfd) == getppid();
		c = ok ? 'y' : 'n';
		if (write(res[1], &c, 1) != 1)
			_exit(3);
		/* Stay alive until the parent has looked at us. */
		if (read(go[0], &c, 1) != 1)
			_exit(4);
		_exit(0);
	}
	a = accept(l, NULL, NULL);
	ASSERT_LE(0, a);
	ASSERT_EQ(0, getsockopt(a, SOL_SOCKET, SO_PEERCRED, &uc, &len));
	EXPECT_EQ(pid, uc.pid);
	check_peerpidfd(_metadata, a, kerr);
	ASSERT_EQ(1, read(res[0], &c, 1));
	EXPECT_EQ('y', c);
	if (!kerr) {
		len = sizeof(pidfd);
		ASSERT_EQ(0, getsockopt(a, SOL_SOCKET, SO_PEERPIDFD, &pidfd,
					&len));
		/* The peer still runs: its pidfd is not readable yet. */
		EXPECT_EQ(0, afx_poll(pidfd, POLLIN, 0));
	}
	ASSERT_EQ(1, write(go[1], "x", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	if (!kerr) {
		/* The pidfd taken before outlives the peer and reports its exit. */
		EXPECT_EQ(POLLIN, afx_poll(pidfd, POLLIN, 5000) & POLLIN);
		close(pidfd);
		/*
		 * A reaped process gets no new pidfd: the kernel refuses it
		 * (EINVAL) for every family, as for AF_UNIX.
		 */
		len = sizeof(pidfd);
		EXPECT_EQ(-1, getsockopt(a, SOL_SOCKET, SO_PEERPIDFD, &pidfd,
					 &len));
		EXPECT_EQ(EINVAL, errno);
	}
	close(a);
	close(l);
	close(res[0]);
	close(res[1]);
	close(go[0]);
	close(go[1]);
}

TEST(peerpidfd_seqpacket_connection)
{
	int kerr = kernel_peerpidfd_errno(), l, c, a;
	uint32_t port;

	afx_watchdog(WATCHDOG_SEC);
	ASSERT_LE(0, kerr);
	l = afx_listener(SOCK_SEQPACKET, 4, &port);
	ASSERT_LE(0, l);
	c = afx_socket(SOCK_SEQPACKET);
	ASSERT_LE(0, c);
	ASSERT_EQ(0, afx_connect_port(c, port));
	a = accept(l, NULL, NULL);
	ASSERT_LE(0, a);
	check_peerpidfd(_metadata, c, kerr);
	check_peerpidfd(_metadata, a, kerr);
	close(a);
	close(c);
	close(l);
}

TEST(peerpidfd_socketpairs)
{
	static const int types[] = { SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET };
	int kerr = kernel_peerpidfd_errno(), sv[2];
	unsigned int i;

	afx_watchdog(WATCHDOG_SEC);
	ASSERT_LE(0, kerr);
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		TH_LOG("type %d", types[i]);
		ASSERT_EQ(0, socketpair(afx_family(), types[i], 0, sv));
		check_peerpidfd(_metadata, sv[0], kerr);
		check_peerpidfd(_metadata, sv[1], kerr);
		close(sv[0]);
		close(sv[1]);
	}
}

/* SO_PEERCRED names nobody: SO_PEERPIDFD has no process to name. */
TEST(peerpidfd_unconnected_enodata)
{
	int kerr = kernel_peerpidfd_errno(), s, pidfd = -1;
	socklen_t len = sizeof(pidfd);

	afx_watchdog(WATCHDOG_SEC);
	ASSERT_LE(0, kerr);
	s = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, s);
	EXPECT_EQ(-1, getsockopt(s, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len));
	EXPECT_EQ(kerr ? kerr : ENODATA, errno);
	close(s);
}

/*
 * SO_PASSPIDFD is the kernel's flag on every socket; afx reads it back
 * but has no SCM_PIDFD to give: a message arrives whole, with
 * SCM_CREDENTIALS when SO_PASSCRED asks for it and nothing else.
 */
TEST(passpidfd_delivers_data_and_credentials_only)
{
	static const int types[] = { SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET };
	int kerr = kernel_peerpidfd_errno();
	unsigned int i;

	afx_watchdog(WATCHDOG_SEC);
	ASSERT_LE(0, kerr);
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		union {
			char buf[CMSG_SPACE(sizeof(struct ucred)) +
				 CMSG_SPACE(sizeof(int)) + 64];
			struct cmsghdr align;
		} ctl;
		char data[8] = { 0 };
		struct iovec iov = { data, sizeof(data) };
		struct msghdr msg = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
		};
		struct cmsghdr *cm;
		int sv[2], val = -1, creds = 0, others = 0;

		TH_LOG("type %d", types[i]);
		ASSERT_EQ(0, socketpair(afx_family(), types[i], 0, sv));
		if (kerr) {
			/* The kernel has no such option for anyone. */
			EXPECT_EQ(-1, setsockopt(sv[1], SOL_SOCKET,
						 SO_PASSPIDFD, &(int){ 1 },
						 sizeof(int)));
		} else {
			ASSERT_EQ(0, afx_set_int(sv[1], SOL_SOCKET,
						 SO_PASSPIDFD, 1));
			ASSERT_EQ(0, afx_get_int(sv[1], SOL_SOCKET,
						 SO_PASSPIDFD, &val));
			EXPECT_EQ(1, val);
		}
		ASSERT_EQ(0, afx_set_int(sv[1], SOL_SOCKET, SO_PASSCRED, 1));
		ASSERT_EQ(5, send(sv[0], "hello", 5, 0));
		ASSERT_EQ(5, recvmsg(sv[1], &msg, 0));
		EXPECT_EQ(0, memcmp(data, "hello", 5));
		EXPECT_EQ(0, msg.msg_flags & MSG_CTRUNC);
		for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
			if (cm->cmsg_level == SOL_SOCKET &&
			    cm->cmsg_type == SCM_CREDENTIALS) {
				struct ucred uc;

				memcpy(&uc, CMSG_DATA(cm), sizeof(uc));
				EXPECT_EQ(getpid(), uc.pid);
				creds++;
			} else {
				TH_LOG("unexpected cmsg %d/%d",
				       cm->cmsg_level, cm->cmsg_type);
				others++;
			}
		}
		EXPECT_EQ(1, creds);
		EXPECT_EQ(0, others);
		close(sv[0]);
		close(sv[1]);
	}
}

AFX_TEST_MAIN
