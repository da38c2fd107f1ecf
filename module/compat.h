/* SPDX-License-Identifier: GPL-2.0 */
/*
 * afx: differences between the kernel APIs afx builds against.
 *
 * Everything version-dependent lives here so the protocol files read the
 * same on every kernel. Kbuild probes the kernel headers and defines:
 *   AFX_HAVE_ACCEPT_ARG - proto_ops.accept takes struct proto_accept_arg
 *			   (6.10 and later)
 *   AFX_HAVE_SENDPAGE   - proto_ops still has .sendpage (before 6.5)
 *   AFX_HAVE_NET_SYSCTL_SZ   - register_net_sysctl_sz() exists (6.5 and later)
 *   AFX_HAVE_CONST_CTL_TABLE - proc handlers take a const struct ctl_table
 *			   (6.11 and later)
 *   AFX_HAVE_IOV_ITER_IOVEC  - iov_iter_iovec() still exists (before 6.4)
 *   AFX_HAVE_KUNIT_FAIL_AND_ABORT - KUnit's KUNIT_ASSERT_FAILURE() is
 *			   called KUNIT_FAIL_AND_ABORT() (6.11 and later)
 */
#ifndef _AFX_COMPAT_H
#define _AFX_COMPAT_H

#include <linux/minmax.h>
#include <linux/net.h>
#include <linux/uio.h>

/*
 * The parameters of proto_ops.accept after sock and newsock, and the
 * O_ flags among them. 6.10 passes a struct proto_accept_arg instead of
 * flags and kern ("net: have do_accept() take a struct proto_accept_arg
 * argument").
 */
#ifdef AFX_HAVE_ACCEPT_ARG
#define AFX_ACCEPT_PARAMS	struct proto_accept_arg *arg
#define AFX_ACCEPT_FLAGS	(arg->flags)
#else
#define AFX_ACCEPT_PARAMS	int flags, bool kern
#define AFX_ACCEPT_FLAGS	(flags)
#endif

/* afx never implements sendpage; older kernels want the stub set. */
#ifdef AFX_HAVE_SENDPAGE
#define AFX_NO_SENDPAGE		.sendpage = sock_no_sendpage,
#else
#define AFX_NO_SENDPAGE
#endif

/* Since 6.5 a net sysctl table is registered with its size. */
#ifdef AFX_HAVE_NET_SYSCTL_SZ
#define afx_register_net_sysctl(net, path, table, size) \
	register_net_sysctl_sz(net, path, table, size)
#else
#define afx_register_net_sysctl(net, path, table, size) \
	register_net_sysctl(net, path, table)
#endif

#ifdef AFX_HAVE_CONST_CTL_TABLE
#define AFX_CTL_TABLE		const struct ctl_table
#else
#define AFX_CTL_TABLE		struct ctl_table
#endif

/*
 * The first segment of an ITER_IOVEC iterator, no longer than the count.
 * 6.4 removed iov_iter_iovec() for iter_iov_addr() and iter_iov_len()
 * ("iov_iter: remove iov_iter_iovec()").
 */
#ifdef AFX_HAVE_IOV_ITER_IOVEC
#define afx_iov_iter_iovec(iter)	iov_iter_iovec(iter)
#else
static inline struct iovec afx_iov_iter_iovec(const struct iov_iter *iter)
{
	return (struct iovec) {
		.iov_base = iter_iov_addr(iter),
		.iov_len = min(iter->count, iter_iov_len(iter)),
	};
}
#endif

/*
 * Fail the KUnit case and abort it. 6.11 renamed KUNIT_ASSERT_FAILURE()
 * ("kunit: Rename KUNIT_ASSERT_FAILURE to KUNIT_FAIL_AND_ABORT for
 * readability"). Only for files that include <kunit/test.h>.
 */
#ifdef AFX_HAVE_KUNIT_FAIL_AND_ABORT
#define AFX_KUNIT_FAIL_AND_ABORT(test, fmt, ...) \
	KUNIT_FAIL_AND_ABORT(test, fmt, ##__VA_ARGS__)
#else
#define AFX_KUNIT_FAIL_AND_ABORT(test, fmt, ...) \
	KUNIT_ASSERT_FAILURE(test, fmt, ##__VA_ARGS__)
#endif

#endif /* _AFX_COMPAT_H */
