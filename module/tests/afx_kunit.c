// SPDX-License-Identifier: GPL-2.0
/*
 * afx: afx_kunit.ko, the KUnit suites for the internal units of afx.ko,
 * and the helpers they share (declared in afx_kunit.h).
 *
 * A separate module, because on 6.1 the KUnit suites of a module run
 * before its own module_init: afx.ko has to be loaded (and its family
 * registered) before these run. The units are reached through
 * VISIBLE_IF_KUNIT / EXPORT_SYMBOL_IF_KUNIT, so afx.ko built for a kernel
 * without KUnit exports nothing new. Only the debug lane builds this
 * module (see Kbuild and scripts/debug-kernel.sh).
 *
 * Suites, one file per unit of module/, run in this order (the link order
 * in Kbuild):
 *   addr_kunit.c    afx_addr    address validation (table-driven) and
 *                               destination checks
 *                   afx_port    ephemeral port allocation on a private
 *                               bind table
 *                   afx_bind    the bind tables: conflicts, wildcard vs
 *                               local, SO_REUSEADDR, stream lookup,
 *                               network namespace separation
 *   stream_kunit.c  afx_stream  stream buffer accounting, wakeups, poll,
 *                               the accept and pending queues
 *   dgram_kunit.c   afx_dgram   datagram queue accounting, truncation,
 *                               unicast refusal, broadcast fan-out
 *   e2e_kunit.c     afx_e2e     open/close cycles on kernel sockets that
 *                               must return every reference count to
 *                               where it started
 *
 * Everything runs on kernel sockets in init_net, nonblocking. The netns
 * cases need a second namespace, which a module cannot create, nor be told
 * about: its parameters are parsed after the suites ran. They use the
 * namespace of any process outside init_net (kt_net2();
 * scripts/guest/debug-check.sh starts one) and are skipped without one.
 *
 * The debug lane counts the cases that reported against the cases these
 * files declare (scripts/kunit-results.py --expect): a suite that did not
 * run fails the lane.
 */

#include <kunit/test.h>
#include <linux/module.h>
#include <linux/net.h>
#include <linux/nsproxy.h>
#include <linux/poll.h>
#include <linux/rcupdate.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/skbuff.h>
#include <linux/uio.h>
#include <net/net_namespace.h>
#include <net/sock.h>

#include "afx_kunit.h"
#include "compat.h"

/**
 * kt_init() - the init of every suite: the per-case state
 * @test: the case
 *
 * Return: 0, or -ENOMEM.
 */
int kt_init(struct kunit *test)
{
	test->priv = kunit_kzalloc(test, sizeof(struct afx_kt), GFP_KERNEL);
	return test->priv ? 0 : -ENOMEM;
}

/**
 * kt_exit() - the exit of every suite: close what the case left open
 * @test: the case
 *
 * Releases every socket the case still owns and the reference on its
 * second namespace, also after an assertion aborted the case.
 */
void kt_exit(struct kunit *test)
{
	struct afx_kt *kt = test->priv;
	int i;

	for (i = 0; i < KT_SOCKS; i++) {
		if (kt->socks[i])
			sock_release(kt->socks[i]);
		kt->socks[i] = NULL;
	}
	if (kt->net2)
		put_net(kt->net2);
	kt->net2 = NULL;
}

static void kt_track(struct kunit *test, struct socket *sock)
{
	struct afx_kt *kt = test->priv;
	int i;

	for (i = 0; i < KT_SOCKS; i++) {
		if (!kt->socks[i]) {
			kt->socks[i] = sock;
			return;
		}
	}
	sock_release(sock);
	AFX_KUNIT_FAIL_AND_ABORT(test, "more than %d sockets open", KT_SOCKS);
}

/**
 * kt_sock_net() - a kernel AF_X socket in @net, owned by the case
 * @test: the case
 * @net: the network namespace
 * @type: SOCK_STREAM or SOCK_DGRAM
 *
 * Asserts that sock_create_kern() succeeds. kt_exit() closes the socket
 * unless the case does (kt_close()).
 *
 * Return: the socket.
 */
struct socket *kt_sock_net(struct kunit *test, struct net *net, int type)
{
	struct socket *sock = NULL;
	int err;

	err = sock_create_kern(net, afx_family, type, 0, &sock);
	KUNIT_ASSERT_EQ_MSG(test, err, 0, "sock_create_kern(type %d)", type);
	kt_track(test, sock);
	return sock;
}

/**
 * kt_sock() - a kernel AF_X socket in init_net, owned by the case
 * @test: the case
 * @type: SOCK_STREAM or SOCK_DGRAM
 *
 * Return: the socket.
 */
struct socket *kt_sock(struct kunit *test, int type)
{
	return kt_sock_net(test, &init_net, type);
}

/**
 * kt_close() - close a socket the case owns
 * @test: the case
 * @sock: a socket from kt_sock(), kt_sock_net() or kt_accept()
 */
void kt_close(struct kunit *test, struct socket *sock)
{
	struct afx_kt *kt = test->priv;
	int i;

	for (i = 0; i < KT_SOCKS; i++) {
		if (kt->socks[i] == sock) {
			kt->socks[i] = NULL;
			sock_release(sock);
			return;
		}
	}
	KUNIT_FAIL(test, "closing a socket the case does not own");
}

/**
 * kt_net2() - the network namespace of some process outside init_net
 * @test: the case
 *
 * The case holds a reference on it until kt_exit(). Skips the case when
 * no process is in another namespace.
 *
 * Return: the namespace.
 */
struct net *kt_net2(struct kunit *test)
{
	struct afx_kt *kt = test->priv;
	struct task_struct *p;
	struct net *net = NULL;

	rcu_read_lock();
	for_each_process(p) {
		task_lock(p);
		if (p->nsproxy && p->nsproxy->net_ns != &init_net)
			net = maybe_get_net(p->nsproxy->net_ns);
		task_unlock(p);
		if (net)
			break;
	}
	rcu_read_unlock();
	if (!net)
		kunit_skip(test, "needs a process in a network namespace other than init_net");
	kt->net2 = net;
	return net;
}

/**
 * kt_addr() - an AF_X address
 * @addr: sx_addr (AFX_ADDR_*)
 * @port: sx_port
 *
 * Return: the address, in the family afx.ko registered.
 */
struct sockaddr_x kt_addr(u32 addr, u32 port)
{
	struct sockaddr_x sx = {
		.sx_family = afx_family,
		.sx_addr = addr,
		.sx_port = port,
	};

	return sx;
}

/**
 * kt_bind() - kernel_bind() to (@addr, @port)
 * @sock: the socket
 * @addr: sx_addr
 * @port: sx_port, 0 for an ephemeral one
 *
 * Return: what bind() returns.
 */
int kt_bind(struct socket *sock, u32 addr, u32 port)
{
	struct sockaddr_x sx = kt_addr(addr, port);

	return kernel_bind(sock, (struct sockaddr *)&sx, sizeof(sx));
}

/**
 * kt_connect() - kernel_connect() to (AFX_ADDR_LOCAL, @port)
 * @sock: the socket
 * @port: sx_port
 * @flags: O_NONBLOCK or 0
 *
 * Return: what connect() returns.
 */
int kt_connect(struct socket *sock, u32 port, int flags)
{
	struct sockaddr_x sx = kt_addr(AFX_ADDR_LOCAL, port);

	return kernel_connect(sock, (struct sockaddr *)&sx, sizeof(sx), flags);
}

/**
 * kt_port() - the port @sock is bound to
 * @sock: the socket
 *
 * Return: the port, 0 when unbound.
 */
u32 kt_port(struct socket *sock)
{
	return afx_port(sock->sk);
}

/**
 * kt_sendto() - nonblocking send
 * @sock: the socket
 * @to: the destination (AFX_ADDR_* and port), or NULL for none
 * @buf: the data
 * @len: its length
 * @flags: MSG_* flags besides MSG_DONTWAIT and MSG_NOSIGNAL
 *
 * Return: what sendmsg() returns.
 */
int kt_sendto(struct socket *sock, const struct sockaddr_x *to,
	      const void *buf, size_t len, int flags)
{
	struct sockaddr_x sx;
	struct msghdr msg = {
		.msg_flags = flags | MSG_DONTWAIT | MSG_NOSIGNAL,
	};
	struct kvec vec = { .iov_base = (void *)buf, .iov_len = len };

	if (to) {
		sx = *to;
		msg.msg_name = &sx;
		msg.msg_namelen = sizeof(sx);
	}
	return kernel_sendmsg(sock, &msg, &vec, 1, len);
}

/**
 * kt_send() - nonblocking send without a destination
 * @sock: the socket
 * @buf: the data
 * @len: its length
 *
 * Return: what sendmsg() returns.
 */
int kt_send(struct socket *sock, const void *buf, size_t len)
{
	return kt_sendto(sock, NULL, buf, len, 0);
}

/**
 * kt_recvfrom() - nonblocking receive
 * @sock: the socket
 * @buf: where the data goes
 * @len: its size
 * @flags: MSG_* flags besides MSG_DONTWAIT
 * @mflags: gets msg_flags, unless NULL
 * @from: gets the sender's address, unless NULL
 *
 * Return: what recvmsg() returns.
 */
int kt_recvfrom(struct socket *sock, void *buf, size_t len, int flags,
		int *mflags, struct sockaddr_x *from)
{
	struct sockaddr_x sx = {};
	struct msghdr msg = {
		.msg_name = &sx,
		.msg_namelen = sizeof(sx),
	};
	struct kvec vec = { .iov_base = buf, .iov_len = len };
	int ret;

	ret = kernel_recvmsg(sock, &msg, &vec, 1, len, flags | MSG_DONTWAIT);
	if (mflags)
		*mflags = msg.msg_flags;
	if (from)
		*from = sx;
	return ret;
}

/**
 * kt_recv() - nonblocking receive, without the sender
 * @sock: the socket
 * @buf: where the data goes
 * @len: its size
 * @flags: MSG_* flags besides MSG_DONTWAIT
 *
 * Return: what recvmsg() returns.
 */
int kt_recv(struct socket *sock, void *buf, size_t len, int flags)
{
	return kt_recvfrom(sock, buf, len, flags, NULL, NULL);
}

/**
 * kt_poll() - the poll mask of @sock, as poll() sees it
 * @sock: the socket
 *
 * Return: the EPOLL* mask.
 */
__poll_t kt_poll(struct socket *sock)
{
	return sock->ops->poll(NULL, sock, NULL);
}

/**
 * kt_setsockopt_int() - an int SOL_X option, through proto_ops
 * @sock: the socket
 * @name: the option
 * @val: its value
 *
 * Return: what setsockopt() returns.
 */
int kt_setsockopt_int(struct socket *sock, int name, int val)
{
	return sock->ops->setsockopt(sock, SOL_X, name, KERNEL_SOCKPTR(&val),
				     sizeof(val));
}

/**
 * kt_stat() - one of afx's per-namespace counters
 * @net: the namespace
 * @s: the counter
 *
 * Return: its value.
 */
s64 kt_stat(struct net *net, enum afx_stat s)
{
	return afx_stat_read(afx_net(net), s);
}

/**
 * kt_listener() - a listener on an ephemeral port in init_net
 * @test: the case
 * @backlog: the listen() backlog
 *
 * Return: the socket.
 */
struct socket *kt_listener(struct kunit *test, int backlog)
{
	struct socket *l = kt_sock(test, SOCK_STREAM);

	KUNIT_ASSERT_EQ(test, kt_bind(l, AFX_ADDR_ANY, 0), 0);
	KUNIT_ASSERT_EQ(test, kernel_listen(l, backlog), 0);
	return l;
}

/**
 * kt_accept() - a nonblocking accept that must succeed
 * @test: the case
 * @l: the listener
 *
 * Return: the accepted socket, owned by the case.
 */
struct socket *kt_accept(struct kunit *test, struct socket *l)
{
	struct socket *s = NULL;

	KUNIT_ASSERT_EQ(test, kernel_accept(l, &s, O_NONBLOCK), 0);
	kt_track(test, s);
	return s;
}

/**
 * kt_pair_on() - a connected stream pair through listener @l
 * @test: the case
 * @l: the listener
 * @c: gets the connecting end
 * @s: gets the accepted end
 */
void kt_pair_on(struct kunit *test, struct socket *l, struct socket **c,
		struct socket **s)
{
	*c = kt_sock(test, SOCK_STREAM);
	KUNIT_ASSERT_EQ(test, kt_connect(*c, kt_port(l), 0), 0);
	*s = kt_accept(test, l);
}

/**
 * kt_pair() - a connected stream pair through a listener of its own
 * @test: the case
 * @c: gets the connecting end
 * @s: gets the accepted end
 */
void kt_pair(struct kunit *test, struct socket **c, struct socket **s)
{
	kt_pair_on(test, kt_listener(test, 8), c, s);
}

/**
 * kt_dgram() - a bound datagram socket in init_net
 * @test: the case
 * @port: the port, 0 for an ephemeral one
 * @reuse: set SO_REUSEADDR before binding
 *
 * Return: the socket.
 */
struct socket *kt_dgram(struct kunit *test, u32 port, bool reuse)
{
	struct socket *d = kt_sock(test, SOCK_DGRAM);

	if (reuse)
		sock_set_reuseaddr(d->sk);
	KUNIT_ASSERT_EQ(test, kt_bind(d, AFX_ADDR_ANY, port), 0);
	return d;
}

/**
 * kt_dgrams() - how many datagrams wait at @sk
 * @sk: a datagram socket
 *
 * Return: datagrams queued and not yet read.
 */
u32 kt_dgrams(struct sock *sk)
{
	/* 1 unit of header per datagram: these tests send no credentials. */
	return READ_ONCE(afx_sk(sk)->rx_hdr_units) -
	       READ_ONCE(afx_sk(sk)->rx_hdr_units_read);
}

/**
 * kt_queued_bytes() - what @sk's receive buffer holds
 * @sk: the socket
 *
 * Return: bytes readable: stream payload, or datagram records with their
 * headers.
 */
u32 kt_queued_bytes(struct sock *sk)
{
	return afx_sbuf_readable(&afx_sk(sk)->rx);
}

static int kt_waiter_fn(wait_queue_entry_t *wq, unsigned int mode, int sync,
			void *key)
{
	struct kt_waiter *w = container_of(wq, struct kt_waiter, wq);

	w->calls++;
	if (key)
		w->keys |= key_to_poll(key);
	return 0;
}

/**
 * kt_waiter() - a waiter on @head that counts its wakeups
 * @test: the case
 * @head: the wait queue
 *
 * It lives as long as the case's other allocations, so that a case
 * aborted while it is queued leaves no dangling entry: the sockets the
 * queues belong to are closed first.
 *
 * Return: the waiter, queued on @head.
 */
struct kt_waiter *kt_waiter(struct kunit *test, struct wait_queue_head *head)
{
	struct kt_waiter *w = kunit_kzalloc(test, sizeof(*w), GFP_KERNEL);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, w);
	init_waitqueue_func_entry(&w->wq, kt_waiter_fn);
	add_wait_queue(head, &w->wq);
	return w;
}

MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
MODULE_LICENSE("GPL");
MODULE_AUTHOR("The afx developers");
MODULE_DESCRIPTION("KUnit suites for afx.ko's internal units");
