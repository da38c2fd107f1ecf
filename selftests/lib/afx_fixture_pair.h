/* SPDX-License-Identifier: GPL-2.0 */
/*
 * afx_fixture_pair.h - FIXTURE(pair): a connected stream pair, for the
 * stream test programs that include it (after afx_harness.h).
 *
 *   self->l  the listener, bound to {ANY, self->port}, backlog 4
 *   self->c  the client, connect()ed to it
 *   self->a  the accepted socket
 */
#ifndef AFX_FIXTURE_PAIR_H
#define AFX_FIXTURE_PAIR_H

#include "afx_harness.h"

#ifndef WATCHDOG_SEC
#define WATCHDOG_SEC	20	/* harness default timeout is 30 s */
#endif

FIXTURE(pair) {
	int l, c, a;
	uint32_t port;
};

FIXTURE_SETUP(pair)
{
	afx_watchdog(WATCHDOG_SEC);
	self->c = self->a = -1;
	self->l = afx_listener(SOCK_STREAM, 4, &self->port);
	AFX_SKIP_IF_NO_AFX(self->l);
	ASSERT_LE(0, self->l);
	self->c = afx_socket(SOCK_STREAM);
	ASSERT_LE(0, self->c);
	ASSERT_EQ(0, afx_connect_port(self->c, self->port));
	self->a = accept(self->l, NULL, NULL);
	ASSERT_LE(0, self->a);
}

FIXTURE_TEARDOWN(pair)
{
	if (self->a >= 0)
		close(self->a);
	if (self->c >= 0)
		close(self->c);
	if (self->l >= 0)
		close(self->l);
}

#endif /* AFX_FIXTURE_PAIR_H */
