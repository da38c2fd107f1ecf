// SPDX-License-Identifier: GPL-2.0
/*
 * afx-memfd - a privilege-separated service that hands its client a
 * sealed memory file over an AF_X seqpacket connection (SCM_RIGHTS).
 *
 * Shows: SOCK_SEQPACKET (each send is one whole message), SO_PEERCRED to
 * see who connected, memfd_create() with seals, and passing the file
 * descriptor in an SCM_RIGHTS control message. The client maps the file
 * read-only; the seals guarantee it nobody can change or shrink the
 * contents under it, not even the server. The client can drop its
 * privileges first (-u UID): what it gets is the open file, not a right
 * to open anything.
 *
 * Run:
 *   afx-memfd serve [-n N] PORT TEXT
 *     Listens on PORT; each client that sends "GET" gets a sealed memfd
 *     holding TEXT. -n N: exit after N clients.
 *   afx-memfd get [-u UID] PORT
 *     Connects to PORT (then becomes UID, if given), asks for the file,
 *     prints its contents, and shows that the seals refuse a write.
 *
 * Try it:
 *   afx-memfd serve -n 1 7004 "configuration from the privileged side" &
 *   afx-memfd get -u 65534 7004
 */
#define _GNU_SOURCE
#include <sys/socket.h>
#include "linux/afx.h"

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "afx_demo.h"

#define SEALS	(F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

/* A memfd holding @text, sealed against any change. */
static int make_sealed_file(const char *text)
{
	size_t len = strlen(text);
	int fd;

	fd = memfd_create("afx-memfd", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		err(1, "memfd_create");
	if (write(fd, text, len) != (ssize_t)len)
		err(1, "write memfd");
	if (fcntl(fd, F_ADD_SEALS, SEALS) < 0)
		err(1, "F_ADD_SEALS");
	return fd;
}

/* Send one message, "OK", with @fd attached as SCM_RIGHTS. */
static void send_fd(int sock, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = "OK", .iov_len = 2 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = u.buf,
		.msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);

	memset(u.buf, 0, sizeof(u.buf));
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	if (sendmsg(sock, &msg, MSG_NOSIGNAL) != 2)
		err(1, "sendmsg with SCM_RIGHTS");
}

static int serve(int argc, char **argv)
{
	long clients = -1, served = 0;
	struct sockaddr_x me;
	int l, c, fd, opt;

	while ((opt = getopt(argc, argv, "n:")) != -1) {
		if (opt != 'n')
			return 2;
		clients = afx_parse_count(optarg);
	}
	if (argc - optind != 2) {
		fprintf(stderr, "usage: afx-memfd serve [-n N] PORT TEXT\n");
		return 2;
	}

	/* 1. A seqpacket listener: connections like a stream's, messages kept whole. */
	l = socket(afx_family(), SOCK_SEQPACKET, 0);
	if (l < 0)
		err(1, "socket");
	me = afx_addr(AFX_ADDR_ANY, afx_parse_port(argv[optind]));
	if (bind(l, (struct sockaddr *)&me, sizeof(me)) < 0 ||
	    listen(l, 8) < 0)
		err(1, "bind/listen");
	printf("memfd server: listening on port %u\n", me.sx_port);
	fflush(stdout);

	while (clients < 0 || served < clients) {
		struct ucred peer;
		socklen_t len = sizeof(peer);
		char req[16];
		ssize_t n;

		c = accept(l, NULL, NULL);
		if (c < 0)
			err(1, "accept");
		/* 2. Who is asking: the kernel says, the client cannot lie. */
		if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &peer, &len) < 0)
			err(1, "SO_PEERCRED");
		/* 3. One recv() is one request message. */
		n = recv(c, req, sizeof(req), 0);
		if (n == 3 && !memcmp(req, "GET", 3)) {
			fd = make_sealed_file(argv[optind + 1]);
			send_fd(c, fd);
			/* The client holds its own reference now. */
			close(fd);
			printf("memfd server: sent a sealed file to pid %d uid %u\n",
			       (int)peer.pid, (unsigned int)peer.uid);
		} else {
			printf("memfd server: bad request from pid %d\n",
			       (int)peer.pid);
		}
		fflush(stdout);
		close(c);
		served++;
	}
	printf("memfd server: exiting\n");
	close(l);
	return 0;
}

/* Receive the reply and the descriptor that comes with it. */
static int recv_fd(int sock)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	char reply[8];
	struct iovec iov = { .iov_base = reply, .iov_len = sizeof(reply) };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = u.buf,
		.msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *cmsg;
	int fd = -1;

	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 2 ||
	    memcmp(reply, "OK", 2))
		errx(1, "no OK reply from the server");
	if (msg.msg_flags & MSG_CTRUNC)
		errx(1, "control message truncated");
	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg))
		if (cmsg->cmsg_level == SOL_SOCKET &&
		    cmsg->cmsg_type == SCM_RIGHTS &&
		    cmsg->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
	if (fd < 0)
		errx(1, "the reply carried no file descriptor");
	return fd;
}

static int get(int argc, char **argv)
{
	long uid = -1;
	struct sockaddr_x to;
	struct stat st;
	int s, fd, opt;
	char *map;

	while ((opt = getopt(argc, argv, "u:")) != -1) {
		if (opt != 'u')
			return 2;
		uid = afx_parse_count(optarg);
	}
	if (argc - optind != 1) {
		fprintf(stderr, "usage: afx-memfd get [-u UID] PORT\n");
		return 2;
	}

	s = socket(afx_family(), SOCK_SEQPACKET, 0);
	if (s < 0)
		err(1, "socket");
	to = afx_addr(AFX_ADDR_LOCAL, afx_parse_port(argv[optind]));
	if (connect(s, (struct sockaddr *)&to, sizeof(to)) < 0)
		err(1, "connect");
	/* 1. Drop privileges: the file comes as an open descriptor. */
	if (uid >= 0 && (setgid(uid) < 0 || setuid(uid) < 0))
		err(1, "setuid %ld", uid);
	if (send(s, "GET", 3, 0) != 3)
		err(1, "send");

	/* 2. The descriptor arrives with the reply message. */
	fd = recv_fd(s);
	close(s);
	if (fstat(fd, &st) < 0)
		err(1, "fstat");
	if (fcntl(fd, F_GET_SEALS) != SEALS)
		errx(1, "the file is not sealed as promised");
	map = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED)
		err(1, "mmap");
	printf("memfd client (uid %u): got %lld bytes: %.*s\n",
	       (unsigned int)getuid(), (long long)st.st_size,
	       (int)st.st_size, map);

	/* 3. The seals hold: nobody can write it. */
	if (pwrite(fd, "x", 1, 0) == 1)
		errx(1, "wrote to a sealed file");
	printf("memfd client: a write fails (%s): the contents cannot change\n",
	       strerror(errno));
	munmap(map, st.st_size);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "serve"))
		return serve(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "get"))
		return get(argc - 1, argv + 1);
	fprintf(stderr, "usage: afx-memfd serve [-n N] PORT TEXT\n"
			"       afx-memfd get [-u UID] PORT\n");
	return 2;
}
