# SPDX-License-Identifier: GPL-2.0
#
# Helpers shared by the guest scripts (sourced by /bin/sh).

AFX_ROOT=${AFX_ROOT:-/afx}
AFX_KO=${AFX_KO:-$AFX_ROOT/afx.ko}

# load_afx: insmod the modules afx depends on (if any), then afx.ko.
load_afx() {
	if [ -d /sys/module/afx ]; then
		return 0
	fi
	if [ -s "$AFX_ROOT/module-deps" ]; then
		while read -r dep; do
			insmod "$dep" || true
		done <"$AFX_ROOT/module-deps"
	fi
	insmod "$AFX_KO" && [ -d /sys/module/afx ]
}

# afx_family: print the address family number afx registered (its family
# parameter), or AF_X's default 18 with exit status 1 when afx is not
# loaded. The shell twin of include/afx_family.h.
afx_family() {
	cat /sys/module/afx/parameters/family 2>/dev/null || { echo 18; return 1; }
}
