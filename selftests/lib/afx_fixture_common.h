/* SPDX-License-Identifier: GPL-2.0 */
/*
 * afx_fixture_common.h - FIXTURE(common), variants stream and dgram: the
 * tests of what both socket types share run once per type. Include after
 * afx_harness.h.
 *
 *   self->type                 SOCK_STREAM or SOCK_DGRAM
 *   self->port_a ... port_d    ports free in both spaces (ephemeral binds)
 */
#ifndef AFX_FIXTURE_COMMON_H
#define AFX_FIXTURE_COMMON_H

#include "afx_harness.h"

#ifndef WATCHDOG_SEC
#define WATCHDOG_SEC	25
#endif

FIXTURE(common) {
	int type;
	uint32_t port_a, port_b, port_c, port_d;
};

FIXTURE_VARIANT(common) {
	int type;
};

FIXTURE_VARIANT_ADD(common, stream) {
	.type = SOCK_STREAM,
};

FIXTURE_VARIANT_ADD(common, dgram) {
	.type = SOCK_DGRAM,
};

FIXTURE_SETUP(common)
{
	int fd;

	afx_watchdog(WATCHDOG_SEC);
	self->type = variant->type;
	fd = afx_socket(self->type);
	AFX_SKIP_IF_NO_AFX(fd);
	ASSERT_LE(0, fd) TH_LOG("socket: %s", strerror(errno));
	close(fd);
	self->port_a = afx_free_port(0);
	self->port_b = afx_free_port(0);
	self->port_c = afx_free_port(0);
	self->port_d = afx_free_port(0);
	ASSERT_NE(0, self->port_a);
	ASSERT_NE(0, self->port_b);
	ASSERT_NE(0, self->port_c);
	ASSERT_NE(0, self->port_d);
}

FIXTURE_TEARDOWN(common)
{
	afx_watchdog(0);
}

#endif /* AFX_FIXTURE_COMMON_H */
