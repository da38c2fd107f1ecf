/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * afx: the AF_X socket family.
 *
 * Stream and datagram sockets addressed by (address, port) inside one
 * network namespace. Ports and addresses are carried in host byte order.
 * See Documentation/afx.rst for the full contract and errno table.
 */
#ifndef _UAPI_LINUX_AFX_H
#define _UAPI_LINUX_AFX_H

#include <linux/types.h>
#include <linux/socket.h>

/*
 * Address family number. 18 (AF_ASH) has no in-tree user; a system where
 * it is taken loads the module with family=N and uses N instead.
 */
#define AF_X			18
/*
 * The kernel's ELF headers (and userspace <elf.h>) use PF_X for the
 * executable segment flag; inside the kernel use AF_X only.
 */
#ifndef __KERNEL__
#define PF_X			AF_X
#endif

/* Socket level of the AF_X options below (no in-tree SOL_* uses it). */
#define SOL_X			299

/*
 * X_NONBLOCK (int): when nonzero the socket behaves as if O_NONBLOCK
 * were set on every file that refers to it, whatever the file flags say.
 */
#define X_NONBLOCK		1
/*
 * X_REFUSE_WHEN_FULL (int, stream listeners): when nonzero a connect to
 * a listener whose accept queue is full fails at once with ECONNREFUSED
 * instead of waiting for room.
 */
#define X_REFUSE_WHEN_FULL	2

/* Addresses. */
#define AFX_ADDR_ANY		0x00000000U	/* wildcard / this host */
#define AFX_ADDR_LOCAL		0x00000001U	/* this host */
#define AFX_ADDR_BROADCAST	0xffffffffU	/* every datagram socket on a port */

/* Port 0 in bind() asks for an ephemeral port. */
#define AFX_PORT_ANY		0U

/**
 * struct sockaddr_x - an AF_X socket address
 * @sx_family: AF_X
 * @sx_reserved1: must be zero
 * @sx_port: port, host byte order
 * @sx_addr: address, host byte order (AFX_ADDR_*)
 * @sx_zero: must be zero
 *
 * The same size as struct sockaddr.
 */
struct sockaddr_x {
	__kernel_sa_family_t	sx_family;
	__u16			sx_reserved1;
	__u32			sx_port;
	__u32			sx_addr;
	__u8			sx_zero[4];
};

#endif /* _UAPI_LINUX_AFX_H */
