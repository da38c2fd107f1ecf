#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Print the path of an extracted Debian linux-source tree, extracting the
# parts the rig uses (checkpatch.pl and its data files, the kselftest
# headers) from /usr/src/linux-source-6.1.tar.xz into a cache directory
# outside the repository if they are not there yet.
#
# AFX_LINUX_SOURCE (default $AFX_CACHE/linux-source-6.1, AFX_CACHE default
# /var/cache/afx) is the tree; its basename names the tarball in /usr/src.
set -euo pipefail

src=${AFX_LINUX_SOURCE:-${AFX_CACHE:-/var/cache/afx}/linux-source-6.1}
name=$(basename "$src")
cache=$(dirname "$src")
tarball=/usr/src/$name.tar.xz

needed=(
	scripts/checkpatch.pl
	scripts/spelling.txt
	scripts/const_structs.checkpatch
	tools/testing/selftests/kselftest.h
	tools/testing/selftests/kselftest_harness.h
)

have_all() {
	local f
	for f in "${needed[@]}"; do
		[[ -e "$src/$f" ]] || return 1
	done
}

if ! have_all; then
	if [[ ! -f "$tarball" ]]; then
		echo "linux-source.sh: $tarball missing (run scripts/deps.sh)" >&2
		exit 1
	fi
	mkdir -p "$cache"
	# Serialise concurrent extractions (two make runs at once).
	exec 9>"$cache/.$name.lock"
	flock 9
	if ! have_all; then
		echo "linux-source.sh: extracting $name/{scripts,tools/testing/selftests} into $cache" >&2
		tar -xJf "$tarball" -C "$cache" \
			"$name/scripts" "$name/tools/testing/selftests"
		have_all || { echo "linux-source.sh: $tarball lacks ${needed[*]}" >&2; exit 1; }
	fi
fi
echo "$src"
