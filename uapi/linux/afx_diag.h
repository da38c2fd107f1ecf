/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * afx_diag: the sock_diag interface of AF_X sockets.
 *
 * Send a SOCK_DIAG_BY_FAMILY request (<linux/sock_diag.h>) on a
 * NETLINK_SOCK_DIAG socket with a struct afx_diag_req payload whose
 * sdiag_family is AF_X (or the family= value the afx module was loaded
 * with). With NLM_F_DUMP the reply lists every socket of the sender's
 * network namespace that passes the filters; without it, the one socket
 * named by adiag_ino. Each socket is a SOCK_DIAG_BY_FAMILY message holding
 * a struct afx_diag_msg followed by the attributes adiag_show asks for.
 * The handler is the afx_diag module, which the first request loads.
 */
#ifndef _UAPI_LINUX_AFX_DIAG_H
#define _UAPI_LINUX_AFX_DIAG_H

#include <linux/types.h>

/**
 * struct afx_diag_req - a request
 * @sdiag_family: AF_X
 * @sdiag_protocol: must be 0
 * @adiag_types: dump: bit (1 << type) for each of SOCK_STREAM, SOCK_DGRAM
 *	and SOCK_SEQPACKET to report; 0 reports every type
 * @adiag_states: dump: bit (1 << AFX_DIAG_SS_*) for each state to
 *	report; 0 reports every state
 * @adiag_ino: single socket: its inode number (not 0)
 * @adiag_show: AFX_DIAG_SHOW_* flags, the attributes wanted
 * @adiag_cookie: single socket: the cookie of an earlier reply, which
 *	must still match (ESTALE otherwise), or AFX_DIAG_NOCOOKIE twice
 * @adiag_sport: dump: only sockets bound to this local port; 0 for any
 * @adiag_dport: dump: only sockets whose peer has this port; 0 for any
 */
struct afx_diag_req {
	__u8	sdiag_family;
	__u8	sdiag_protocol;
	__u16	adiag_types;
	__u32	adiag_states;
	__u32	adiag_ino;
	__u32	adiag_show;
	__u32	adiag_cookie[2];
	__u32	adiag_sport;
	__u32	adiag_dport;
};

#define AFX_DIAG_NOCOOKIE	(~0U)

/* adiag_show */
#define AFX_DIAG_SHOW_NAME	0x00000001	/* AFX_DIAG_NAME, AFX_DIAG_PEER_NAME */
#define AFX_DIAG_SHOW_PEER	0x00000002	/* AFX_DIAG_PEER_INO */
#define AFX_DIAG_SHOW_RQLEN	0x00000004	/* AFX_DIAG_RQLEN */
#define AFX_DIAG_SHOW_UID	0x00000008	/* AFX_DIAG_UID */
#define AFX_DIAG_SHOW_MEMINFO	0x00000010	/* AFX_DIAG_MEMINFO */

/*
 * Socket states, the values of the kernel's TCP states. A connected
 * datagram socket reports ESTABLISHED, any other datagram socket CLOSE.
 */
enum {
	AFX_DIAG_SS_ESTABLISHED = 1,	/* connected */
	AFX_DIAG_SS_SYN_SENT = 2,	/* connect() waits for accept-queue room */
	AFX_DIAG_SS_SYN_RECV = 3,	/* server end, not on the accept queue yet */
	AFX_DIAG_SS_CLOSE = 7,		/* unconnected */
	AFX_DIAG_SS_LISTEN = 10,	/* listening */
};

#define AFX_DIAG_SS_ALL	((1U << AFX_DIAG_SS_ESTABLISHED) |		\
			 (1U << AFX_DIAG_SS_SYN_SENT) |			\
			 (1U << AFX_DIAG_SS_SYN_RECV) |			\
			 (1U << AFX_DIAG_SS_CLOSE) |			\
			 (1U << AFX_DIAG_SS_LISTEN))

/**
 * struct afx_diag_msg - one socket in a reply
 * @adiag_family: AF_X
 * @adiag_type: SOCK_STREAM, SOCK_DGRAM or SOCK_SEQPACKET
 * @adiag_state: AFX_DIAG_SS_*
 * @pad: 0
 * @adiag_ino: inode number; 0 for a connection nobody has accepted yet
 * @adiag_cookie: identifies the socket for as long as it exists: its
 *	index in its namespace's socket table and the low 32 bits of its
 *	SO_COOKIE. Given back in a request, it finds the socket at once.
 */
struct afx_diag_msg {
	__u8	adiag_family;
	__u8	adiag_type;
	__u8	adiag_state;
	__u8	pad;
	__u32	adiag_ino;
	__u32	adiag_cookie[2];
};

/* Attributes after struct afx_diag_msg. */
enum {
	AFX_DIAG_UNSPEC,
	AFX_DIAG_NAME,		/* struct afx_diag_addr: bound address, absent if unbound */
	AFX_DIAG_PEER_NAME,	/* struct afx_diag_addr: peer address, absent if none */
	AFX_DIAG_PEER_INO,	/* __u32: inode of the other end of a connection */
	AFX_DIAG_RQLEN,		/* struct afx_diag_rqlen */
	AFX_DIAG_UID,		/* __u32: owner, in the requester's user namespace */
	AFX_DIAG_MEMINFO,	/* __u32[SK_MEMINFO_VARS], see <linux/sock_diag.h> */
	AFX_DIAG_SHUTDOWN,	/* __u8: 1 no more receiving, 2 no more sending */

	__AFX_DIAG_MAX,
};

#define AFX_DIAG_MAX (__AFX_DIAG_MAX - 1)

/**
 * struct afx_diag_addr - an AF_X address
 * @adiag_addr: AFX_ADDR_* (host byte order)
 * @adiag_port: port (host byte order)
 */
struct afx_diag_addr {
	__u32	adiag_addr;
	__u32	adiag_port;
};

/**
 * struct afx_diag_rqlen - queue sizes
 * @adiag_rqueue: listener: connections waiting for accept(); stream:
 *	bytes not read yet; seqpacket, datagram: payload bytes of the queued
 *	messages
 * @adiag_wqueue: listener: the backlog; stream: bytes sent that the peer
 *	has not read yet; seqpacket: the same, payload bytes only; datagram:
 *	0 (afx queues datagrams at the receiver)
 */
struct afx_diag_rqlen {
	__u32	adiag_rqueue;
	__u32	adiag_wqueue;
};

#endif /* _UAPI_LINUX_AFX_DIAG_H */
