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
 */
#ifndef _AFX_COMPAT_H
#define _AFX_COMPAT_H

#include <linux/net.h>

/*
 * AFX_HAVE_ACCEPT_ARG: stream.c writes out both proto_ops.accept
 * signatures, so that each reads and greps as what it is.
 */

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

#endif /* _AFX_COMPAT_H */
