// SPDX-License-Identifier: GPL-2.0
/*
 * afx: /proc/net/afx and /proc/net/afx_stat, one of each per network
 * namespace.
 *
 * /proc/net/afx has a header line, then one line per socket:
 *
 *   Type St Local            Peer             RecvQ    SendQ    Uid   Inode
 *   0001 0A 00000000:31001   00000000:0       0        128      0     18426
 *
 * Type is SOCK_STREAM (1), SOCK_DGRAM (2) or SOCK_SEQPACKET (5) and St
 * the state (01 connected, 02 connecting, 03 connection not on the accept
 * queue yet, 07 unconnected, 0A listening), both in hex as in
 * /proc/net/unix. Local and
 * Peer are address:port, the address in hex and the port in decimal,
 * 00000000:0 when unbound or without a peer. RecvQ and SendQ are as
 * struct afx_sock_info describes them. Uid is in the reader's user
 * namespace; Inode is 0 for a connection nobody has accepted yet. No
 * kernel address appears: the inode number identifies a socket.
 *
 * /proc/net/afx_stat has one "name value" line per counter of enum
 * afx_stat, in enum order. Names are never renamed or reused; new
 * counters are added at the end.
 */

#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/uidgid.h>
#include <net/net_namespace.h>
#include <net/sock.h>

#include "afx.h"

static const char *const afx_stat_names[AFX_STAT_MAX] = {
	[AFX_STAT_CONNECTS]		= "connections",
	[AFX_STAT_REFUSED_NOLISTEN]	= "refused_no_listener",
	[AFX_STAT_REFUSED_FULL]		= "refused_backlog_full",
	[AFX_STAT_ACCEPTQ_OVERFLOW]	= "accept_queue_overflows",
	[AFX_STAT_DGRAM_SENT]		= "datagrams_sent",
	[AFX_STAT_DGRAM_RCVD]		= "datagrams_received",
	[AFX_STAT_DROP_BCAST_FULL]	= "drops_broadcast_full",
	[AFX_STAT_DROP_FILTERED]	= "drops_filtered",
	[AFX_STAT_DROP_NOPORT]		= "drops_no_port",
	[AFX_STAT_BYTES_OUT]		= "bytes_sent",
	[AFX_STAT_BYTES_IN]		= "bytes_received",
	[AFX_STAT_BYTES_DIRECT]		= "bytes_direct",
	[AFX_STAT_SOCKETS]		= "sockets_created",
};

/**
 * struct afx_seq_state - where a reader of /proc/net/afx is
 * @p: for seq_file_net(); must be first
 * @pos: the seq_file position of the socket last returned, 0 if none
 * @index: its afx_sock.all_id
 *
 * A read() that resumes at the socket last returned, or the one after,
 * finds its place in O(log n) (afx_sklist_next()); only a seek elsewhere
 * walks from the start.
 */
struct afx_seq_state {
	struct seq_net_private p;
	loff_t pos;
	unsigned long index;
};

/* The socket at position @pos, looking from @index; the state follows. */
static struct sock *afx_seq_get(struct seq_file *seq, loff_t pos,
				unsigned long index)
{
	struct afx_seq_state *st = seq->private;
	struct sock *sk;

	sk = afx_sklist_next(seq_file_net(seq), &index);
	if (sk) {
		st->pos = pos;
		st->index = index;
	}
	return sk;
}

static void *afx_seq_start(struct seq_file *seq, loff_t *pos)
{
	struct afx_seq_state *st = seq->private;
	unsigned long index = 0;
	struct sock *sk;
	loff_t n;

	if (!*pos)
		return SEQ_START_TOKEN;
	if (st->pos && *pos == st->pos)
		return afx_seq_get(seq, *pos, st->index);
	if (st->pos && *pos == st->pos + 1)
		return afx_seq_get(seq, *pos, st->index + 1);
	/* A seek: walk from the start. */
	for (n = 1;; n++, index++) {
		sk = afx_sklist_next(seq_file_net(seq), &index);
		if (!sk || n == *pos)
			break;
		afx_sock_put(sk);
	}
	if (sk) {
		st->pos = *pos;
		st->index = index;
	}
	return sk;
}

static void *afx_seq_next(struct seq_file *seq, void *v, loff_t *pos)
{
	struct afx_seq_state *st = seq->private;
	unsigned long index = 0;

	if (v != SEQ_START_TOKEN) {
		index = st->index + 1;
		afx_sock_put(v);
	}
	++*pos;
	return afx_seq_get(seq, *pos, index);
}

static void afx_seq_stop(struct seq_file *seq, void *v)
{
	if (v && v != SEQ_START_TOKEN)
		afx_sock_put(v);
}

static int afx_seq_show(struct seq_file *seq, void *v)
{
	struct afx_sock_info info;

	if (v == SEQ_START_TOKEN) {
		seq_puts(seq, "Type St Local            Peer             RecvQ    SendQ    Uid   Inode\n");
		return 0;
	}

	afx_sock_info(v, &info);
	seq_printf(seq, "%04X %02X %08X:%-7u %08X:%-7u %-8u %-8u %-5u %lu\n",
		   info.type, info.state,
		   info.local.sx_addr, info.local.sx_port,
		   info.peer.sx_addr, info.peer.sx_port,
		   info.rqueue, info.wqueue,
		   from_kuid_munged(seq_user_ns(seq), info.uid), info.ino);
	return 0;
}

static const struct seq_operations afx_seq_ops = {
	.start	= afx_seq_start,
	.next	= afx_seq_next,
	.stop	= afx_seq_stop,
	.show	= afx_seq_show,
};

static int afx_stat_show(struct seq_file *seq, void *v)
{
	struct afx_net *an = afx_net(seq_file_single_net(seq));
	int i;

	BUILD_BUG_ON(ARRAY_SIZE(afx_stat_names) != AFX_STAT_MAX);
	for (i = 0; i < AFX_STAT_MAX; i++)
		seq_printf(seq, "%s %llu\n", afx_stat_names[i],
			   afx_stat_read(an, i));
	return 0;
}

/**
 * afx_proc_init_net() - create /proc/net/afx and /proc/net/afx_stat
 * @net: the namespace being set up
 *
 * Return: 0 or -ENOMEM.
 */
int afx_proc_init_net(struct net *net)
{
	if (!proc_create_net("afx", 0444, net->proc_net, &afx_seq_ops,
			     sizeof(struct afx_seq_state)))
		return -ENOMEM;
	if (!proc_create_net_single("afx_stat", 0444, net->proc_net,
				    afx_stat_show, NULL)) {
		remove_proc_entry("afx", net->proc_net);
		return -ENOMEM;
	}
	return 0;
}

/**
 * afx_proc_exit_net() - remove the namespace's /proc/net files
 * @net: the namespace going away
 */
void afx_proc_exit_net(struct net *net)
{
	remove_proc_entry("afx_stat", net->proc_net);
	remove_proc_entry("afx", net->proc_net);
}
