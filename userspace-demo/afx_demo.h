/* SPDX-License-Identifier: GPL-2.0 */
/*
 * afx_demo.h - the few helpers every AF_X demo program shares.
 *
 * Include it after <sys/socket.h> and "linux/afx.h". It gives you:
 *
 *   afx_family()          the address family number to pass to socket()
 *                         and to put in sx_family
 *   afx_addr(addr, port)  a ready-to-use struct sockaddr_x
 *   afx_parse_port(str)   a port number from the command line
 *   afx_parse_count(str)  a positive count from the command line (for -n N)
 *
 * Why afx_family() and not simply AF_X? AF_X is an out-of-tree family, so
 * its number is not reserved in the kernel. The module uses AF_X (18) by
 * default, but on a system where 18 is taken it is loaded with family=N,
 * and then every program must use N. The loaded module publishes the
 * number it registered in /sys/module/afx/parameters/family;
 * include/afx_family.h, the project's one copy of that lookup, reads it
 * from there and falls back to AF_X when the file does not exist.
 */
#ifndef AFX_DEMO_H
#define AFX_DEMO_H

#include <err.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "linux/afx.h"
#include "afx_family.h"

/*
 * Build an AF_X address. Ports and addresses are in host byte order (no
 * htons()/htonl() as with AF_INET). The kernel rejects an address whose
 * reserved fields (sx_reserved1, sx_zero) are not zero, so always start
 * from a zeroed structure.
 */
static inline struct sockaddr_x afx_addr(uint32_t addr, uint32_t port)
{
	struct sockaddr_x sx;

	memset(&sx, 0, sizeof(sx));
	sx.sx_family = afx_family();
	sx.sx_addr = addr;
	sx.sx_port = port;
	return sx;
}

/*
 * Parse a port number (sx_port is a 32-bit number; port 0 in bind() means
 * "pick a free ephemeral port for me"). Exits with a message on bad input.
 */
static inline uint32_t afx_parse_port(const char *s)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v > UINT32_MAX)
		errx(2, "bad port number '%s'", s);
	return (uint32_t)v;
}

/* Parse a count such as the N of "-n N" (1 or more). Exits on bad input. */
static inline long afx_parse_count(const char *s)
{
	long v;
	char *end;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1)
		errx(2, "bad count '%s' (want a number >= 1)", s);
	return v;
}

#endif /* AFX_DEMO_H */
