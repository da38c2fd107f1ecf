/* SPDX-License-Identifier: GPL-2.0 */
/*
 * afx_test_util.h - the former header-only helpers, now the selftest
 * library: kept so that a test written against it still builds. New
 * tests include "afx_harness.h" (selftests/lib/), see selftests/lib/afx_lib.h.
 */
#ifndef AFX_TEST_UTIL_H
#define AFX_TEST_UTIL_H

#include "lib/afx_lib.h"

#endif /* AFX_TEST_UTIL_H */
