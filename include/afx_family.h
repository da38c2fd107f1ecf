/* SPDX-License-Identifier: GPL-2.0 */
/*
 * afx_family.h - the AF_X family number in force, for userspace programs.
 *
 * AF_X is 18 by default, but on a system where 18 is taken the module is
 * loaded with family=N, and then every program must use N. The loaded
 * module publishes the number it registered in AFX_FAMILY_PARAM; this
 * header reads it from there once and falls back to AF_X when the file
 * does not exist (module not loaded, or no sysfs). The one copy of that
 * lookup: selftests, demos, tools and the benchmark include this file.
 */
#ifndef AFX_FAMILY_H
#define AFX_FAMILY_H

#include <stdio.h>
#include <linux/afx.h>

#define AFX_FAMILY_PARAM "/sys/module/afx/parameters/family"

/* The AF_X family number on this system (looked up once, then cached). */
static inline int afx_family(void)
{
	static int family;	/* 0 until looked up */
	FILE *f;
	int n;

	if (family)
		return family;
	family = AF_X;
	f = fopen(AFX_FAMILY_PARAM, "re");
	if (f) {
		if (fscanf(f, "%d", &n) == 1 && n > 0)
			family = n;
		fclose(f);
	}
	return family;
}

#endif /* AFX_FAMILY_H */
