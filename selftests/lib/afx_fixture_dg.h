/* SPDX-License-Identifier: GPL-2.0 */
/*
 * afx_fixture_dg.h - FIXTURE(dg): two bound datagram sockets and three
 * free ports, for the datagram test programs that include it (after
 * afx_harness.h). Every port comes from an ephemeral bind.
 *
 *   self->r   receiver, bound to {ANY, self->p1}
 *   self->s   sender, bound to {ANY, self->p2}
 *   self->p3, self->p4, self->p5   ports nobody is bound to (yet)
 */
#ifndef AFX_FIXTURE_DG_H
#define AFX_FIXTURE_DG_H

#include "afx_harness.h"

#ifndef WATCHDOG_SEC
#define WATCHDOG_SEC	25
#endif

#define SMALL_RCVBUF	16384	/* setsockopt value; the kernel doubles it */

FIXTURE(dg) {
	int r;
	int s;
	uint32_t p1, p2, p3, p4, p5;
};

FIXTURE_SETUP(dg)
{
	long p;

	afx_watchdog(WATCHDOG_SEC);
	self->s = -1;
	self->r = afx_dg_bound(AFX_ADDR_ANY, AFX_PORT_ANY, 0);
	AFX_SKIP_IF_NO_AFX(self->r);
	ASSERT_LE(0, self->r) TH_LOG("bind r: %s", strerror(errno));
	self->s = afx_dg_bound(AFX_ADDR_ANY, AFX_PORT_ANY, 0);
	ASSERT_LE(0, self->s) TH_LOG("bind s: %s", strerror(errno));
	p = afx_local_port(self->r);
	ASSERT_LT(0, p);
	self->p1 = (uint32_t)p;
	p = afx_local_port(self->s);
	ASSERT_LT(0, p);
	self->p2 = (uint32_t)p;
	self->p3 = afx_free_port(SOCK_DGRAM);
	self->p4 = afx_free_port(SOCK_DGRAM);
	self->p5 = afx_free_port(SOCK_DGRAM);
	ASSERT_NE(0, self->p3);
	ASSERT_NE(0, self->p4);
	ASSERT_NE(0, self->p5);
}

FIXTURE_TEARDOWN(dg)
{
	if (self->s >= 0)
		close(self->s);
	if (self->r >= 0)
		close(self->r);
	afx_watchdog(0);
}

#endif /* AFX_FIXTURE_DG_H */
