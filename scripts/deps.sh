#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Install the Debian packages the afx build and test rig needs.
#
# Idempotent and silent when everything is already installed; otherwise it
# runs `apt-get update` once and installs only the missing packages, without
# recommends. Needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(
	build-essential gcc-12 make	# userspace build; Debian's kbuild wants gcc-12
	linux-headers-amd64		# kbuild tree for the module
	linux-image-amd64		# the kernel booted in QEMU
	qemu-system-x86			# the test VM (TCG)
	busybox-static			# the guest userland
	socat perl strace		# tools copied into the guest
	cpio kmod xz-utils		# initramfs, modinfo, linux-source tarball
	sparse				# static analysis (C=2)
	linux-source-6.1		# checkpatch.pl and kselftest_harness.h
	linux-source-6.12		# the 6.12 debug lane's kernel
	linux-image-rt-amd64		# the PREEMPT_RT lane's kernel ...
	linux-headers-rt-amd64		# ... and its kbuild tree
	bc flex bison libelf-dev libssl-dev python3	# the debug kernel, kunit.py, the guest's Python
	dkms				# make dkms-install; checked by package-check.sh
	gnuplot-nox			# make bench: the plots
	trinity				# the fuzzing of the debug lane
	redis-server redis-tools nginx curl iperf3	# real programs under afx-run
)

missing=()
for pkg in "${packages[@]}"; do
	# "ii " means installed; dpkg -s also succeeds for removed-with-config.
	status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
	[[ "$status" == ii* ]] || missing+=("$pkg")
done

((${#missing[@]} == 0)) && exit 0

sudo=()
if ((EUID != 0)); then
	if command -v sudo >/dev/null 2>&1; then
		sudo=(sudo)
	else
		echo "deps.sh: missing packages: ${missing[*]} (run as root)" >&2
		exit 1
	fi
fi

echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q >&2
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
