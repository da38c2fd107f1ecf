#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Print the version of the kernel the module is built for and tested on:
# the newest /boot/vmlinuz-* that has matching kbuild headers. The stock
# lane skips PREEMPT_RT kernels (*-rt-*); `--rt` picks the newest of those
# instead (the PREEMPT_RT lane, scripts/lane.sh rt).
#
#   scripts/kver.sh           -> e.g. 6.1.0-56-amd64
#   scripts/kver.sh --kdir    -> its kbuild dir, e.g. /lib/modules/6.1.0-56-amd64/build
#   scripts/kver.sh --image   -> its kernel image, e.g. /boot/vmlinuz-6.1.0-56-amd64
#   scripts/kver.sh --rt [--kdir|--image]  the same for the newest *-rt-* kernel
#
# AFX_KVER=<version> overrides the choice (AFX_RT_KVER with --rt).
set -euo pipefail

kdir_of() {
	local v=$1
	if [[ -d /lib/modules/$v/build ]]; then
		echo "/lib/modules/$v/build"
	elif [[ -d /usr/src/linux-headers-$v ]]; then
		echo "/usr/src/linux-headers-$v"
	else
		return 1
	fi
}

rt=0
if [[ "${1:-}" == --rt ]]; then
	rt=1
	shift
fi

kver=${AFX_KVER:-}
((rt)) && kver=${AFX_RT_KVER:-}
if [[ -z "$kver" ]]; then
	# Newest first; sort -V orders 6.1.0-9 before 6.1.0-56.
	while read -r img; do
		v=${img#/boot/vmlinuz-}
		case "$v" in
		*-rt-*)	((rt)) || continue ;;
		*)	((rt)) && continue ;;
		esac
		if kdir_of "$v" >/dev/null; then
			kver=$v
			break
		fi
	done < <(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V -r)
fi
if [[ -z "$kver" ]]; then
	echo "kver.sh: no /boot/vmlinuz-*$( ((rt)) && echo '-rt-*') with matching headers (run scripts/deps.sh)" >&2
	exit 1
fi

case "${1:-}" in
"")		echo "$kver" ;;
--kdir)		kdir_of "$kver" ;;
--image)	echo "/boot/vmlinuz-$kver" ;;
*)		echo "usage: $0 [--kdir|--image]" >&2; exit 2 ;;
esac
