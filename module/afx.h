/* SPDX-License-Identifier: GPL-2.0 */
/*
 * afx: internal definitions shared by the family, address, stream and
 * datagram files. The design notes are the DOC: sections of af_x.c; which
 * lock guards which field is said once, in the kernel-doc below.
 */
#ifndef _AFX_H
#define _AFX_H

#include <linux/bitmap.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/siphash.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/xarray.h>
#include <net/sock.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <linux/afx.h>

#include "sbuf.h"

/* The bucket count of each bind table (afx_bind_hash_init()). */
#define AFX_BIND_BUCKETS_MIN	4096U
#define AFX_BIND_BUCKETS_MAX	65536U
#define AFX_EPHEMERAL_LO	49152U
#define AFX_EPHEMERAL_HI	65535U
#define AFX_PROT_PORT_MAX	1023U
/* Datagram sockets that may share one port with SO_REUSEADDR. */
#define AFX_PORT_SHARERS_MAX	256U
/* Ephemeral ports: the largest random step from one to the next. */
#define AFX_PORT_STEP		500U
/* The largest datagram net.afx.dgram_max allows. */
#define AFX_SKB_MAX		(64U * 1024)

/**
 * enum afx_space - the separate port spaces of a namespace
 * @AFX_SPACE_STREAM: SOCK_STREAM ports
 * @AFX_SPACE_DGRAM: SOCK_DGRAM ports
 * @AFX_SPACES: number of spaces
 */
enum afx_space {
	AFX_SPACE_STREAM,
	AFX_SPACE_DGRAM,
	AFX_SPACES,
};

/**
 * enum afx_stat - per-namespace event counters
 * @AFX_STAT_CONNECTS: stream connections established
 * @AFX_STAT_REFUSED_NOLISTEN: connects refused, nobody listening
 * @AFX_STAT_REFUSED_FULL: connects refused, accept queue full (X_REFUSE_WHEN_FULL)
 * @AFX_STAT_ACCEPTQ_OVERFLOW: connects that found the accept queue full
 * @AFX_STAT_DGRAM_SENT: datagrams sent (a broadcast counts once)
 * @AFX_STAT_DGRAM_RCVD: datagrams received by a reader
 * @AFX_STAT_DROP_BCAST_FULL: broadcast copies dropped at a full receiver
 * @AFX_STAT_DROP_FILTERED: datagrams refused by a receiver connected elsewhere
 * @AFX_STAT_DROP_NOPORT: datagrams to a port nobody bound
 * @AFX_STAT_BYTES_OUT: payload bytes sent, both types
 * @AFX_STAT_BYTES_IN: payload bytes received, both types
 * @AFX_STAT_BYTES_DIRECT: stream payload bytes a writer copied straight
 *	into the memory of a waiting reader (DOC: Stream buffer)
 * @AFX_STAT_SOCKETS: sockets created, stream children included
 * @AFX_STAT_MAX: number of counters
 */
enum afx_stat {
	AFX_STAT_CONNECTS,
	AFX_STAT_REFUSED_NOLISTEN,
	AFX_STAT_REFUSED_FULL,
	AFX_STAT_ACCEPTQ_OVERFLOW,
	AFX_STAT_DGRAM_SENT,
	AFX_STAT_DGRAM_RCVD,
	AFX_STAT_DROP_BCAST_FULL,
	AFX_STAT_DROP_FILTERED,
	AFX_STAT_DROP_NOPORT,
	AFX_STAT_BYTES_OUT,
	AFX_STAT_BYTES_IN,
	AFX_STAT_BYTES_DIRECT,
	AFX_STAT_SOCKETS,
	AFX_STAT_MAX,
};

/**
 * struct afx_stats - one CPU's share of the event counters
 * @v: indexed by enum afx_stat
 */
struct afx_stats {
	u64 v[AFX_STAT_MAX];
};

/**
 * struct afx_bind_bucket - one chain of a bind table
 * @lock: taken to add a socket to @chain or take one off, and to decide
 *	whether a port is free (afx_port_taken()) and claim it in one step;
 *	in the stream table, also the connection lock of its ports
 *	(afx_conn_lock())
 * @chain: the sockets whose (namespace, port) hashes here, newest first;
 *	walked under @lock or under RCU (afx_port_first(), afx_port_next())
 */
struct afx_bind_bucket {
	spinlock_t lock; /* @chain, and the @used bits of its ports */
	struct hlist_head chain;
};

/**
 * struct afx_bind_hash - the chains of one port space, for every namespace
 * @bucket: 1 << @bits buckets, indexed by afx_bucket(); allocated at
 *	module load (afx_bind_hash_init()), sized by the machine's memory
 * @bits: log2 of the bucket count
 *
 * Both fields are written once, before the family is registered.
 */
struct afx_bind_hash {
	struct afx_bind_bucket *bucket;
	unsigned int bits;
};

extern struct afx_bind_hash afx_bind_hash[AFX_SPACES];

/**
 * struct afx_bind_table - the ports a namespace has bound in one space
 * @used: one bit per port up to AFX_EPHEMERAL_HI, set while some socket
 *	of the namespace holds the port: set and cleared with atomic bit
 *	operations under the lock of the port's bucket, read without a lock
 *	by the ephemeral search (afx_bind_ephemeral()) as a hint it confirms
 *	under that lock
 */
struct afx_bind_table {
	DECLARE_BITMAP(used, AFX_EPHEMERAL_HI + 1);
};

/**
 * struct afx_net - per network namespace state
 * @bind: the ports in use, one table per port space (addr.c), allocated
 *	with the namespace
 * @hash_key: the secret key of afx_bucket()'s hash, random per
 *	namespace, so that nobody can choose ports that share a bucket
 * @next_port: per space, the last ephemeral port handed out, where the
 *	next search starts (afx_bind_ephemeral()): a hint, read and
 *	written with READ_ONCE()/WRITE_ONCE() and no lock
 * @port_range: the ephemeral range, first port in the low 16 bits and
 *	last in the high 16, so that it is read and written whole with
 *	READ_ONCE()/WRITE_ONCE() (sysctl.c, afx_port_range())
 * @dgram_max: largest datagram payload
 * @stats: event counters, per CPU: added to with this_cpu_add(), summed
 *	by afx_stat_read()
 * @all: every live afx sock of the namespace, by afx_sock.all_id
 *	(sklist.c); its lock is taken in process context only, to list a
 *	new sock and delist one that dies; lookups run under RCU
 * @sysctl_hdr: the net.afx sysctl table (sysctl.c)
 */
struct afx_net {
	struct afx_bind_table *bind[AFX_SPACES];
	hsiphash_key_t hash_key;
	u32 next_port[AFX_SPACES];
	u32 port_range;
	u32 dgram_max;
	struct afx_stats __percpu *stats;
	struct xarray all;
	struct ctl_table_header *sysctl_hdr;
};

/* The ephemeral range of @an: *@lo to *@hi, lo <= hi. */
static inline void afx_port_range(const struct afx_net *an, u32 *lo, u32 *hi)
{
	u32 range = READ_ONCE(an->port_range);

	*lo = range & 0xffff;
	*hi = range >> 16;
}

/**
 * struct afx_sock - an AF_X socket
 * @sk: the generic socket; must be first. Of its fields, sk_shutdown is
 *	written under @lock (afx_shutdown_add()), and so
 *	is sk_err once connected, except that sock_error() clears it
 *	locklessly; sk_state is written by the socket's own calls (holding
 *	its socket lock) and, for a stream socket, under the connection lock
 *	(afx_conn_lock()) of the listener's port; for a connector waiting
 *	on the pending queue, also by the listener's accept(), listen() or
 *	close.
 *	A stream socket enters TCP_ESTABLISHED with a release, after
 *	@peer is set, and leaves it only in release(): the data path reads
 *	it with an acquire (afx_stream_connected()) and then uses @peer
 *	without the socket lock.
 *	Lockless readers (poll, wait conditions, introspection) use
 *	READ_ONCE(); a reader that must see the queue, sk_err and
 *	sk_shutdown consistently takes @lock (stream recvmsg).
 * @an: the afx state of the socket's namespace (afx_net(sock_net(sk))),
 *	set at allocation; the namespace outlives the socket, so the data
 *	path reads it without net_generic()'s RCU section
 * @lock: protects sk_shutdown, once connected sk_err, and a datagram
 *	socket's @peer_addr: the one lock a closing or shutting down stream
 *	peer takes on its receiver
 * @rx: what was sent to this socket and not read yet: stream bytes, or
 *	datagram records (DOC: Data in af_x.c). Producers: the stream peer's
 *	sendmsg() under the peer's @tx_lock, or datagram senders under
 *	@rx_wlock; consumer: this socket's recvmsg() under @rx_lock, or its
 *	release(), which no other call of the socket can overlap. See
 *	DOC: Stream buffer
 * @rx_wlock: datagram: serialises the senders pushing to @rx
 * @rx_lock: serialises the consumers of @rx: recvmsg() of either type, a
 *	datagram socket's SIOCINQ. Held across the user copy, so only the
 *	socket's own calls take it
 * @tx_lock: stream: serialises this socket's sendmsg() calls, the
 *	producer of the peer's @rx, and shutdown(SHUT_WR) against them.
 *	Held across the user copy, which may fault and sleep, so only the
 *	socket's own calls take it, never its peer's
 * @rx_hdr_units: message sockets (datagram, seqpacket): header bytes ever
 *	pushed to @rx, in units of 8 (1 per message, 3 with credentials:
 *	msg.c); written by @rx's producers (under @rx_wlock, or the
 *	seqpacket peer's @tx_lock), read locklessly for introspection
 * @rx_hdr_units_read: message sockets: the same, consumed from @rx;
 *	written under @rx_lock, read locklessly for introspection
 * @local: bound address; sx_family is 0 while unbound. Written once, by
 *	bind or autobind under the socket lock and its bucket's lock, before
 *	the socket is put in the bind table, sx_family last with a release:
 *	lockless readers test it with afx_is_bound() first
 * @peer_addr: stream or datagram peer address; sx_family is 0 if none.
 *	Written under the socket lock, and for a datagram socket also under
 *	@lock, under which its sendmsg() reads it
 * @peer: stream only: the other end of the connection (reference held).
 *	Set at connect() before either end is visible, and stays set while
 *	the socket is TCP_ESTABLISHED (see @sk); cleared with
 *	WRITE_ONCE() under the socket lock, or, for a child that never got a
 *	struct socket, by whoever drops it from the listener's queues; others
 *	read it under RCU (the peer is SOCK_RCU_FREE)
 * @bind_node: entry in a bucket of the namespace bind table; under the
 *	bucket's lock, read under RCU
 * @conn_node: stream: entry in a listener's accept or pending queue;
 *	under the listener's afx_conn_lock()
 * @acceptq: stream listener: connected children waiting for accept(); under
 *	afx_conn_lock() of its port
 * @pendq: stream listener: children whose connector waits for room; under
 *	afx_conn_lock() of its port
 * @peer_wait: datagram: senders waiting for room in our receive queue
 * @peer_wake: datagram: our entry on a connected peer's @peer_wait, which
 *	turns room at the peer into POLLOUT on this socket
 * @peer_wake_target: datagram: the sock whose @peer_wait holds
 *	@peer_wake, or NULL;
 *	written under that sock's peer_wait.lock, read under RCU
 * @polled: the socket has been polled, so every push to it and, for a
 *	stream, every read by its peer wakes it (afx_stream_data_ready(),
 *	afx_dgram_queue(), afx_stream_write_space()); set once, never cleared
 * @tx_wait_limit: stream: the bytes queued at the peer at which a writer
 *	of this socket last found itself blocked before sleeping (U32_MAX
 *	until one does): the limit for a stream writer, less for a seqpacket
 *	message that needs more room than one byte; written by that writer
 *	before an smp_mb() (afx_stream_can_write(),
 *	afx_seqpacket_can_write()), read by the peer's recvmsg() after one
 *	(afx_stream_write_space())
 * @rx_anc: stream: what the bytes in @rx carry, NULL until a write first
 *	carries something (DOC: Stream ancillary data in anc.c); published
 *	by @rx's producer with a release, freed by the destructor
 * @tx_need: seqpacket: the bytes the last message this socket could not
 *	send at once needs at the peer, 0 after one went through (seqpacket.c);
 *	written under @tx_lock, read locklessly by the wait condition and poll
 * @nonblock: X_NONBLOCK; WRITE_ONCE()/READ_ONCE()
 * @refuse_when_full: X_REFUSE_WHEN_FULL; WRITE_ONCE()/READ_ONCE()
 * @pair_id: datagram socketpair() end (afx_paired()): 1 + the @all_id of
 *	the other end, which sends find with afx_sklist_get(), so that
 *	neither end holds a reference on the other; 0 for every other
 *	socket. Written before the sockets have files, then constant
 * @all_id: the index of the sock in afx_net.all, allocated when the
 *	initialised sock is listed and fixed for its life
 * @listed: the sock is in afx_net.all (sklist.c); set when it is listed,
 *	cleared when it dies, by whoever creates or kills it, never both at
 *	once
 *
 * The fields marked "stream" and "datagram" above share their memory (an
 * anonymous union), so that a socket carries only its own kind's: the
 * stream ones belong to the connection-oriented types (SOCK_STREAM and
 * SOCK_SEQPACKET: stream.c, seqpacket.c), the datagram ones to
 * SOCK_DGRAM (dgram.c), and afx_sk_alloc() and the destructor pick by
 * afx_is_conn().
 */
struct afx_sock {
	struct sock sk;
	struct afx_net *an;
	spinlock_t lock; /* sk_shutdown, sk_err */
	u32 all_id;
	struct afx_sbuf rx;
	struct mutex rx_lock; /* consumers of @rx */
	struct sockaddr_x local;
	struct sockaddr_x peer_addr;
	struct hlist_node bind_node;
	bool listed;
	bool polled;
	bool nonblock;
	bool refuse_when_full;
	u32 pair_id;
	u32 rx_hdr_units;
	u32 rx_hdr_units_read;
	/* What only one kind of socket uses: afx_is_conn() says which. */
	union {
		struct {
			struct mutex tx_lock; /* producer of the peer's @rx */
			u32 tx_wait_limit;
			u32 tx_need;
			struct sock *peer;
			struct afx_anc *rx_anc;
			struct list_head conn_node;
			struct list_head acceptq;
			struct list_head pendq;
		};
		struct {
			struct mutex rx_wlock; /* senders pushing to @rx */
			wait_queue_head_t peer_wait;
			wait_queue_entry_t peer_wake;
			struct sock *peer_wake_target;
		};
	};
};

static inline struct afx_sock *afx_sk(const struct sock *sk)
{
	return (struct afx_sock *)sk;
}

/*
 * Is @sk connection-oriented, SOCK_STREAM or SOCK_SEQPACKET? Those share
 * the connection machinery of stream.c, the stream port space and the
 * stream fields of struct afx_sock.
 */
static inline bool afx_is_conn(const struct sock *sk)
{
	return sk->sk_type != SOCK_DGRAM;
}

extern unsigned int afx_net_id;
extern int afx_family;
extern struct proto afx_proto;

/*
 * The proto_ops tables say .family = AF_X even when the module registers
 * another number (family=): they stay const (read-only function
 * pointers), the core reads a socket's family from sk_family, which is
 * the registered number, and compares proto_ops.family only with PF_UNIX.
 */
extern const struct proto_ops afx_stream_ops;
extern const struct proto_ops afx_seqpacket_ops;
extern const struct proto_ops afx_dgram_ops;

static inline struct afx_net *afx_net(const struct net *net)
{
	return net_generic(net, afx_net_id);
}

static inline void afx_stat_add(const struct sock *sk, enum afx_stat s, u64 n)
{
	this_cpu_add(afx_sk(sk)->an->stats->v[s], n);
}

static inline void afx_stat_inc(const struct sock *sk, enum afx_stat s)
{
	afx_stat_add(sk, s, 1);
}

/*
 * Is @sk one end of a datagram socketpair()? Set before the socket has a
 * file and never changed, so unlike @peer_addr it reads the same to every
 * call. (A stream pair's ends are TCP_ESTABLISHED, which says enough.)
 */
static inline bool afx_paired(const struct sock *sk)
{
	return READ_ONCE(afx_sk(sk)->pair_id) != 0;
}

/* Once true, afx_sk(sk)->local is complete and stays as it is. */
static inline bool afx_is_bound(const struct sock *sk)
{
	/* Pairs with the release in __afx_bind(): the address is there. */
	return smp_load_acquire(&afx_sk(sk)->local.sx_family) != 0;
}

static inline u32 afx_port(const struct sock *sk)
{
	return afx_sk(sk)->local.sx_port;
}

/**
 * afx_shutdown_add() - shut down directions of @sk
 * @sk: the socket
 * @mode: RCV_SHUTDOWN, SEND_SHUTDOWN or both
 *
 * Under afx_sock.lock, so that a datagram sender that queues under that
 * lock never queues to a socket that has shut down reading, and so that a
 * stream reader that sees RCV_SHUTDOWN under it also sees every byte
 * pushed before. Shutting down reading also shuts the stream buffer.
 */
static inline void afx_shutdown_add(struct sock *sk, u8 mode)
{
	struct afx_sock *ax = afx_sk(sk);

	spin_lock(&ax->lock);
	WRITE_ONCE(sk->sk_shutdown, sk->sk_shutdown | mode);
	spin_unlock(&ax->lock);
	if (mode & RCV_SHUTDOWN)
		afx_sbuf_shutdown(&ax->rx);
}

/* Effective nonblocking mode: the file's or the call's flag, or X_NONBLOCK. */
static inline bool afx_nonblock(const struct sock *sk, bool flag)
{
	return flag || READ_ONCE(afx_sk(sk)->nonblock);
}

/* af_x.c */
u64 afx_stat_read(struct afx_net *an, enum afx_stat s);
void afx_sock_put(struct sock *sk);
struct sock *afx_sk_alloc(struct net *net, struct socket *sock, int type,
			  bool kern);
void afx_fill_addr(struct sockaddr_x *sx, u32 addr, u32 port);
void afx_set_peercred(struct sock *sk, struct pid *pid,
		      const struct cred *cred);
int afx_getname(struct socket *sock, struct sockaddr *uaddr, int peer);
int afx_setsockopt(struct socket *sock, int level, int optname,
		   sockptr_t optval, unsigned int optlen);
int afx_getsockopt(struct socket *sock, int level, int optname,
		   char __user *optval, int __user *optlen);
int afx_sock_wait(struct sock *sk, long *timeo, __poll_t events,
		  bool (*cond)(struct sock *sk));
int afx_sock_wait_exclusive(struct sock *sk, long *timeo, __poll_t events,
			    bool (*cond)(struct sock *sk));
int afx_io_wait(struct sock *sk, struct mutex *lock, long *timeo,
		__poll_t events, bool (*cond)(struct sock *sk));
int afx_release(struct socket *sock, void (*close)(struct sock *sk));
void afx_purge(struct sock *sk);
__poll_t afx_poll_begin(struct file *file, struct socket *sock,
			poll_table *wait, u8 *shutdown);
__poll_t afx_poll_shutdown(u8 shutdown);
int afx_send_error(const struct msghdr *msg, int err);

/* addr.c */
int afx_check_addr(const struct sockaddr *uaddr, int len);
int afx_check_dest(struct sock *sk, const struct sockaddr_x *sx);
int afx_bind(struct socket *sock, struct sockaddr *uaddr, int len);
int afx_autobind(struct sock *sk);
void afx_unhash(struct sock *sk);
int afx_bind_init_net(struct afx_net *an);
void afx_bind_exit_net(struct afx_net *an);
int afx_bind_hash_init(void);
void afx_bind_hash_exit(void);
struct sock *afx_stream_lookup(struct net *net, u32 port);

/**
 * struct afx_sock_info - one socket as /proc/net/afx and afx_diag report it
 * @local: bound address; sx_family is 0 while unbound
 * @peer: peer address; sx_family is 0 if none
 * @uid: owner of the socket's inode
 * @ino: inode number, 0 for a connection not accepted yet
 * @peer_ino: stream: inode of the other end, 0 if none or not accepted yet
 * @rqueue: listener: connections waiting for accept(); stream: bytes not
 *	yet read; datagram: payload bytes of the queued datagrams
 * @wqueue: listener: the backlog; stream: bytes sent that the peer has
 *	not read yet; datagram: 0
 * @rmem: bytes queued for reading as held: stream payload, or datagrams
 *	with their headers
 * @type: SOCK_STREAM, SOCK_SEQPACKET or SOCK_DGRAM
 * @state: sk_state, except TCP_ESTABLISHED for a connected datagram socket
 * @shutdown: sk_shutdown (RCV_SHUTDOWN, SEND_SHUTDOWN)
 */
struct afx_sock_info {
	struct sockaddr_x local;
	struct sockaddr_x peer;
	kuid_t uid;
	unsigned long ino;
	unsigned long peer_ino;
	u32 rqueue;
	u32 wqueue;
	u32 rmem;
	u8 type;
	u8 state;
	u8 shutdown;
};

/* sklist.c */
int afx_info_family(void);
int afx_sklist_add(struct sock *sk);
void afx_sklist_del(struct sock *sk);
struct sock *afx_sklist_next(struct net *net, unsigned long *index);
struct sock *afx_sklist_get(struct net *net, unsigned long id);
void afx_sock_info(struct sock *sk, struct afx_sock_info *info);

/* stream.c: the connection machinery, shared with seqpacket.c */
void afx_stream_info(struct sock *sk, struct afx_sock_info *info);
u32 afx_stream_limit(const struct sock *sk, const struct sock *peer);
int __afx_stream_connected(struct sock *sk, long *timeo, __poll_t events);
void afx_stream_data_ready(struct sock *peer, u32 pushed);
void afx_stream_write_space(struct sock *sk, u32 pulled);
bool afx_stream_can_read(struct sock *sk);
bool afx_conn_poll_begin(struct file *file, struct socket *sock,
			 poll_table *wait, __poll_t *mask, u8 *shutdown);

/* seqpacket.c */
int afx_seqpacket_sendmsg(struct socket *sock, struct msghdr *msg,
			  size_t len);
int afx_seqpacket_recvmsg(struct socket *sock, struct msghdr *msg,
			  size_t len, int flags);
__poll_t afx_seqpacket_poll(struct file *file, struct socket *sock,
			    poll_table *wait);

/* dgram.c */
void afx_dgram_info(struct sock *sk, struct afx_sock_info *info);

/**
 * struct afx_msg_hdr - what precedes each message in a message socket's
 *	receive buffer (msg.c)
 * @len: payload bytes that follow the header's other parts, ORed with
 *	AFX_MSG_CREDS when a struct afx_msg_creds follows the header and
 *	with AFX_MSG_FILES when the struct scm_fp_list of the files it
 *	passes follows (a pointer in 8 bytes, after the credentials if any)
 * @from: the sender's port (datagram), 0 for an unbound sender
 */
struct afx_msg_hdr {
	u32 len;
	u32 from;
};

#define AFX_MSG_CREDS	BIT(31)
#define AFX_MSG_FILES	BIT(30)
#define AFX_MSG_LEN	GENMASK(29, 0)

/**
 * struct afx_msg_creds - the sender's credentials, queued with a message
 *	when the sender or the receiver asked for them (SO_PASSCRED) or the
 *	sender gave them (SCM_CREDENTIALS)
 * @pid: the sender's process, a reference owned by the queued message
 * @uid: its user id, translated into the reader's user namespace when read
 * @gid: its group id, likewise
 */
struct afx_msg_creds {
	struct pid *pid;
	kuid_t uid;
	kgid_t gid;
};

/**
 * struct afx_msg_extra - what a queued message holds besides its payload
 * @creds: its credentials; @creds.pid is NULL when it has none
 * @fpl: the files it passes, or NULL
 * @units: its header bytes, in units of 8
 */
struct afx_msg_extra {
	struct afx_msg_creds creds;
	struct scm_fp_list *fpl;
	u32 units;
};

/* Header bytes of a message, in units of 8 (afx_sock.rx_hdr_units). */
static inline u32 afx_msg_hdr_units(bool creds, bool files)
{
	BUILD_BUG_ON(sizeof(struct afx_msg_hdr) != 8 ||
		     sizeof(struct afx_msg_creds) != 16);
	return 1 + (creds ? 2 : 0) + (files ? 1 : 0);
}

/* The most header bytes one message takes: with credentials and files. */
#define AFX_MSG_HDR_MAX		32U

/* Bytes a message of @len payload bytes takes in the receive buffer. */
static inline u32 afx_msg_size(u32 len, bool creds, bool files)
{
	return afx_msg_hdr_units(creds, files) * 8 + len;
}

struct scm_cookie;
struct scm_fp_list;
struct afx_anc_mark;

/* Most marks of ancillary data waiting at one stream receiver (anc.c). */
#define AFX_ANC_MARKS		256

/**
 * struct afx_anc_seg - the segment a stream read returns bytes of (anc.c)
 * @started: afx_anc_next() has filled it in
 * @id: the segment's id, 0 for bytes that carry nothing the reader sees
 * @mark: the mark it started at, if any; valid while the reader has not
 *	called afx_anc_next() again
 * @x: what its first bytes carry: the credentials, with a reference on
 *	the pid, and the files, taken from the mark unless the read peeks
 */
struct afx_anc_seg {
	bool started;
	u32 id;
	struct afx_anc_mark *mark;
	struct afx_msg_extra x;
};

/**
 * struct afx_anc - the marks of a stream receiver (DOC: Stream
 *	ancillary data)
 * @lock: guards @marks, @count, @next_id and each mark's @fpl
 * @count: marks on @marks; read locklessly as a hint
 * @next_id: the id of the last mark made
 * @marks: the marks, oldest first
 */
struct afx_anc {
	spinlock_t lock; /* @marks, @count */
	unsigned int count;
	u32 next_id;
	struct list_head marks;
};

/**
 * afx_anc_busy() - might a stream receiver have marks?
 * @rcv: the receiver
 *
 * Return: false when it certainly has none, as its producer or consumer
 * sees it (DOC: Stream ancillary data).
 */
static inline bool afx_anc_busy(const struct sock *rcv)
{
	struct afx_anc *anc;

	/* Pairs with the release in afx_anc_mark(): initialised. */
	anc = smp_load_acquire(&afx_sk(rcv)->rx_anc);
	return anc && READ_ONCE(anc->count);
}

/**
 * afx_anc_room() - can one more mark wait at a stream receiver?
 * @rcv: the receiver
 *
 * Return: true while fewer than AFX_ANC_MARKS wait; a snapshot.
 */
static inline bool afx_anc_room(const struct sock *rcv)
{
	struct afx_anc *anc;

	/* Pairs with the release in afx_anc_mark(): initialised. */
	anc = smp_load_acquire(&afx_sk(rcv)->rx_anc);
	return !anc || READ_ONCE(anc->count) < AFX_ANC_MARKS;
}

/* anc.c */
int afx_anc_mark(struct sock *rcv, const struct afx_msg_creds *creds,
		 struct scm_fp_list **fpl, u32 *id);
void afx_anc_unmark(struct sock *rcv, struct scm_fp_list **fpl, u32 *id);
u32 afx_anc_next(struct sock *sk, struct afx_anc_seg *seg, bool passcred,
		 bool peek);
void afx_anc_end(struct socket *sock, struct msghdr *msg,
		 struct afx_anc_seg *seg, int flags, int copied);
void afx_anc_discard(struct sock *sk);
void afx_anc_free(struct sock *sk);

/* msg.c */
const struct afx_msg_creds *afx_msg_creds_for(struct afx_msg_creds *buf,
					      const struct scm_cookie *scm,
					      struct sock *sk, struct sock *rcv);
int afx_msg_scm_send(struct socket *sock, struct msghdr *msg,
		     struct scm_cookie *scm, struct scm_fp_list **fpl);
void afx_msg_files_put(struct scm_fp_list *fpl);
void afx_msg_recv_scm(struct socket *sock, struct msghdr *msg,
		      struct afx_msg_extra *x, int flags);
int afx_msg_push(struct sock *rcv, u32 from, const struct afx_msg_creds *creds,
		 struct scm_fp_list *fpl, struct iov_iter *msg, size_t len);
bool afx_msg_next(struct sock *sk, struct afx_msg_hdr *hdr);
int afx_msg_read(struct socket *sock, struct msghdr *msg, size_t len,
		 int flags, struct afx_msg_hdr *hdr, u32 *size);
void afx_msg_drop_all(struct sock *sk);
void afx_msg_purge(struct sock *sk);
u32 afx_msg_queued(struct sock *sk);

/* proc.c */
int afx_proc_init_net(struct net *net);
void afx_proc_exit_net(struct net *net);

/* sysctl.c */
int afx_sysctl_init_net(struct net *net);
void afx_sysctl_exit_net(struct net *net);

/**
 * afx_stream_connected() - wait for a connection to be usable
 * @sk: a connection-oriented socket, socket lock not held
 * @timeo: the time left to wait
 * @events: the poll events the wait is for
 *
 * The data path runs without the socket lock once the socket is connected,
 * which it stays until release(): wait under the lock only while a
 * connect() is in progress (__afx_stream_connected()).
 *
 * Return: 0 once connected (afx_sock.peer is then set and stays), else
 * -ENOTCONN or the error of the wait.
 */
static inline int afx_stream_connected(struct sock *sk, long *timeo,
				       __poll_t events)
{
	/* The peer link before the state: pairs with afx_stream_establish(). */
	if (smp_load_acquire(&sk->sk_state) == TCP_ESTABLISHED)
		return 0;
	return __afx_stream_connected(sk, timeo, events);
}

/* The bucket of @port of namespace @an in @space. */
static inline struct afx_bind_bucket *afx_bucket(struct afx_net *an,
						 enum afx_space space, u32 port)
{
	const struct afx_bind_hash *t = &afx_bind_hash[space];

	return &t->bucket[hsiphash_1u32(port, &an->hash_key) >>
			  (32 - t->bits)];
}

/*
 * The stream connection lock of @port: the lock of its stream bind
 * bucket. It guards what the listener on @port and the sockets connecting
 * to it change together: the listener's state, backlog and accept and
 * pending queues, and the state of a connector waiting on them. Port, not
 * listener: a connector that gives up finds it without a reference on
 * the listener, which may be gone.
 */
static inline spinlock_t *afx_conn_lock(struct afx_net *an, u32 port)
{
	return &afx_bucket(an, AFX_SPACE_STREAM, port)->lock;
}

/*
 * The one walk of a bind bucket, for the sockets of namespace @an bound to
 * one port:
 *
 *	b = afx_bucket(an, space, port);
 *	for (ax = afx_port_first(an, b, port); ax; ax = afx_port_next(b, ax))
 *
 * under rcu_read_lock() (a socket found may be on its way out: take a
 * reference with refcount_inc_not_zero()) or under the bucket's lock.
 */
static inline struct afx_sock *afx_port_scan(struct afx_bind_bucket *b,
					     struct hlist_node *node,
					     const struct afx_net *an, u32 port)
{
	struct afx_sock *ax;

	for (; node; node = rcu_dereference_check(hlist_next_rcu(node),
						  lockdep_is_held(&b->lock))) {
		ax = hlist_entry(node, struct afx_sock, bind_node);
		if (ax->local.sx_port == port && ax->an == an)
			return ax;
	}
	return NULL;
}

/* The first socket of @an in @b bound to @port, or NULL. */
static inline struct afx_sock *afx_port_first(const struct afx_net *an,
					      struct afx_bind_bucket *b,
					      u32 port)
{
	return afx_port_scan(b, rcu_dereference_check(hlist_first_rcu(&b->chain),
				lockdep_is_held(&b->lock)), an, port);
}

/* The next socket of @b bound to the namespace and port of @ax, or NULL. */
static inline struct afx_sock *afx_port_next(struct afx_bind_bucket *b,
					     struct afx_sock *ax)
{
	return afx_port_scan(b, rcu_dereference_check(hlist_next_rcu(&ax->bind_node),
				lockdep_is_held(&b->lock)), ax->an, ax->local.sx_port);
}

#if IS_ENABLED(CONFIG_KUNIT)
/*
 * Internal units that the KUnit suites (module/tests/) test; static
 * unless the kernel has KUnit (VISIBLE_IF_KUNIT), exported only to the
 * KUnit namespace.
 */
bool afx_port_taken(struct afx_net *an, struct afx_bind_bucket *b,
		    enum afx_space space, u32 port, const struct sock *sk);
u32 afx_bind_ephemeral_from(struct afx_net *an, enum afx_space space,
			    struct afx_sock *ax, u32 addr, u32 start);
void afx_bind_add(struct afx_net *an, enum afx_space space,
		  struct afx_bind_bucket *b, struct afx_sock *ax);
void afx_bind_del(struct afx_net *an, enum afx_space space,
		  struct afx_bind_bucket *b, struct afx_sock *ax);
u32 afx_stream_room(const struct sock *sk, const struct sock *peer);
bool afx_acceptq_full(const struct sock *listener);
bool afx_stream_can_write(struct sock *sk);
unsigned long afx_msg_inflight(const struct user_struct *user);
int afx_inflight_add(const struct user_struct *user, unsigned int n);
bool afx_dgram_accepts(const struct afx_sock *ax, u32 from);
bool afx_dgram_room(const struct sock *rcv, u32 size);
int afx_dgram_queue(struct sock *rcv, u32 from,
		    const struct afx_msg_creds *creds, struct scm_fp_list *fpl,
		    struct iov_iter *msg, size_t len);
#endif

#endif /* _AFX_H */
