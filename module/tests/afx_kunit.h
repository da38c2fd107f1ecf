/* SPDX-License-Identifier: GPL-2.0 */
/*
 * afx: helpers shared by the KUnit suites of afx_kunit.ko.
 *
 * The suites live next to each other in module/tests/, one file per unit
 * of module/ (addr_kunit.c tests addr.c, stream_kunit.c stream.c, ...);
 * what more than one of them needs is here and in tests/afx_kunit.c.
 *
 * Everything runs on kernel sockets (sock_create_kern(), kernel_bind(),
 * ...), nonblocking, so that a broken unit fails a case instead of hanging
 * it. Every suite uses kt_init() and kt_exit() as its init and exit: the
 * sockets a case opens with kt_sock() and friends are closed when the case
 * ends, also when an assertion aborts it.
 */
#ifndef AFX_KUNIT_H
#define AFX_KUNIT_H

#include <kunit/test.h>
#include <linux/net.h>
#include <linux/skbuff.h>
#include <linux/wait.h>
#include <net/net_namespace.h>
#include <net/sock.h>

#include "afx.h"

/* Sockets one case may have open at a time. */
#define KT_SOCKS	24

/* The length of an AF_X address, as the int the socket calls return. */
#define SX	((int)sizeof(struct sockaddr_x))

/* Fixed ports for the conflict cases, away from the ephemeral range. */
#define KT_PORT	23400U

/**
 * struct afx_kt - per-case state
 * @socks: kernel sockets the case opened and has not closed yet; the
 *	suite exit closes them, so that a failed assertion leaks nothing
 * @net2: the second namespace of the netns cases, with a reference
 */
struct afx_kt {
	struct socket *socks[KT_SOCKS];
	struct net *net2;
};

/**
 * struct kt_waiter - a wait queue entry that records its wakeups
 * @wq: the entry
 * @calls: how often it was woken
 * @keys: the poll events of every keyed wakeup, or-ed
 */
struct kt_waiter {
	wait_queue_entry_t wq;
	int calls;
	__poll_t keys;
};

int kt_init(struct kunit *test);
void kt_exit(struct kunit *test);

struct socket *kt_sock_net(struct kunit *test, struct net *net, int type);
struct socket *kt_sock(struct kunit *test, int type);
void kt_close(struct kunit *test, struct socket *sock);
struct net *kt_net2(struct kunit *test);

struct sockaddr_x kt_addr(u32 addr, u32 port);
int kt_bind(struct socket *sock, u32 addr, u32 port);
int kt_connect(struct socket *sock, u32 port, int flags);
u32 kt_port(struct socket *sock);

int kt_sendto(struct socket *sock, const struct sockaddr_x *to,
	      const void *buf, size_t len, int flags);
int kt_send(struct socket *sock, const void *buf, size_t len);
int kt_recvfrom(struct socket *sock, void *buf, size_t len, int flags,
		int *mflags, struct sockaddr_x *from);
int kt_recv(struct socket *sock, void *buf, size_t len, int flags);
__poll_t kt_poll(struct socket *sock);

/* A poll mask as a plain number, for KUNIT_EXPECT_EQ() (sparse). */
static inline u32 kt_mask(__poll_t mask)
{
	return (__force u32)mask;
}

int kt_setsockopt_int(struct socket *sock, int name, int val);
s64 kt_stat(struct net *net, enum afx_stat s);

struct socket *kt_listener(struct kunit *test, int backlog);
struct socket *kt_accept(struct kunit *test, struct socket *l);
void kt_pair_on(struct kunit *test, struct socket *l, struct socket **c,
		struct socket **s);
void kt_pair(struct kunit *test, struct socket **c, struct socket **s);
struct socket *kt_dgram(struct kunit *test, u32 port, bool reuse);

u32 kt_dgrams(struct sock *sk);
u32 kt_queued_bytes(struct sock *sk);
struct kt_waiter *kt_waiter(struct kunit *test, struct wait_queue_head *head);

#endif /* AFX_KUNIT_H */
