#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Print afx's version, for MODULE_VERSION, afx-ss -V and DKMS.
#
#   scripts/version.sh [SRCDIR]
#
# SRCDIR (default: the directory above this script) is where Kbuild is.
# A VERSION file there wins: `make dkms-install` writes one into the copy
# it hands to DKMS, which has no git history. Otherwise the version comes
# from git describe: the nearest v* tag, e.g. 0.1-3-g1234abc, or
# 0.0-<commits>-g<hash> while there is no tag yet, with -dirty appended
# when tracked files have changes. Outside git and without VERSION:
# 0.0-unknown.
#
# The dirty test uses GIT_OPTIONAL_LOCKS=0 so that a build never takes
# the index lock from under a concurrent git command.
set -eu

src=${1:-$(dirname "$0")/..}

if [ -s "$src/VERSION" ]; then
	head -n 1 "$src/VERSION"
	exit 0
fi

if git -C "$src" rev-parse --verify -q HEAD >/dev/null 2>&1; then
	if v=$(git -C "$src" describe --tags --long --match 'v[0-9]*' 2>/dev/null); then
		v=${v#v}
	else
		v="0.0-$(git -C "$src" rev-list --count HEAD)-g$(git -C "$src" rev-parse --short HEAD)"
	fi
	if [ -n "$(GIT_OPTIONAL_LOCKS=0 git -C "$src" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
		v="$v-dirty"
	fi
	echo "$v"
	exit 0
fi

echo "0.0-unknown"
