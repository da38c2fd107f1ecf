// SPDX-License-Identifier: GPL-2.0
/*
 * afx: the net.afx sysctls, one set per network namespace.
 *
 *   net.afx.ephemeral_port_range  "lo hi", the ports bind() picks from
 *                                 for port 0 and autobind; 1024 <= lo <=
 *                                 hi <= 65535 (default 49152 65535)
 *   net.afx.dgram_max             largest datagram payload in bytes,
 *                                 1..65536 (default 65536); SO_SNDBUF
 *                                 lowers it further per socket
 *
 * Out-of-range values fail with EINVAL and change nothing. The range is
 * one word (afx_net.port_range), read and written whole, so that the port
 * allocator never sees lo > hi.
 */

#include <linux/slab.h>
#include <linux/sysctl.h>
#include <net/net_namespace.h>

#include "afx.h"
#include "compat.h"

static int afx_port_range_min = AFX_PROT_PORT_MAX + 1;
static int afx_port_range_max = 65535;
static unsigned int afx_dgram_max_min = 1;
static unsigned int afx_dgram_max_max = AFX_SKB_MAX;

static int afx_sysctl_port_range(AFX_CTL_TABLE *table, int write,
				 void *buffer, size_t *lenp, loff_t *ppos)
{
	struct afx_net *an = table->data;
	int range[2];
	struct ctl_table tmp = {
		.data		= range,
		.maxlen		= sizeof(range),
		.mode		= table->mode,
		.extra1		= &afx_port_range_min,
		.extra2		= &afx_port_range_max,
	};
	u32 lo, hi;
	int err;

	afx_port_range(an, &lo, &hi);
	range[0] = lo;
	range[1] = hi;

	err = proc_dointvec_minmax(&tmp, write, buffer, lenp, ppos);
	if (err || !write)
		return err;
	if (range[0] > range[1])
		return -EINVAL;

	WRITE_ONCE(an->port_range, (u32)range[0] | (u32)range[1] << 16);
	return 0;
}

/* The data pointers are set per namespace in afx_sysctl_init_net(). */
static struct ctl_table afx_sysctl_template[] = {
	{
		.procname	= "ephemeral_port_range",
		.maxlen		= 2 * sizeof(int),
		.mode		= 0644,
		.proc_handler	= afx_sysctl_port_range,
	},
	{
		.procname	= "dgram_max",
		.maxlen		= sizeof(unsigned int),
		.mode		= 0644,
		.proc_handler	= proc_douintvec_minmax,
		.extra1		= &afx_dgram_max_min,
		.extra2		= &afx_dgram_max_max,
	},
	{ }
};

/**
 * afx_sysctl_init_net() - register net.afx for a namespace
 * @net: the namespace being set up
 *
 * Return: 0 or -ENOMEM.
 */
int afx_sysctl_init_net(struct net *net)
{
	struct afx_net *an = afx_net(net);
	struct ctl_table *table;

	table = kmemdup(afx_sysctl_template, sizeof(afx_sysctl_template),
			GFP_KERNEL);
	if (!table)
		return -ENOMEM;
	table[0].data = an;
	table[1].data = &an->dgram_max;

	an->sysctl_hdr = afx_register_net_sysctl(net, "net/afx", table,
						 ARRAY_SIZE(afx_sysctl_template) - 1);
	if (!an->sysctl_hdr) {
		kfree(table);
		return -ENOMEM;
	}
	return 0;
}

/**
 * afx_sysctl_exit_net() - unregister net.afx for a namespace
 * @net: the namespace going away
 */
void afx_sysctl_exit_net(struct net *net)
{
	struct afx_net *an = afx_net(net);
	const struct ctl_table *table;

	table = an->sysctl_hdr->ctl_table_arg;
	unregister_net_sysctl_table(an->sysctl_hdr);
	kfree(table);
}
