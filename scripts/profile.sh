#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make profile`: where the instructions go, function by function, in afx
# against AF_UNIX and a pipe (bench/prof/README). Two QEMU TCG plugins,
# bench/prof/tbcount.c (self) and callstk.c (inclusive), count the guest's
# instructions between two marker functions of the benchmark programs, in
# a 1-vCPU guest under instruction counting (-icount shift=0,sleep=off,
# nokaslr), on the stock kernel.
#
#   scripts/profile.sh [MODE...]   MODE: churn, ow, pp or all (default
#                                  $PROFILE, else all; commas work too)
#
#   churn  W4: one process creates a connection, sends a byte each way and
#          closes both ends; afxs, unixs (bench/prof/ow.c, OW_CHURN=1)
#   ow     W2/W3: one-way messages of 1 and 64 B, from a writer to a reader
#          process ("two") and within one process ("self"); afxs, pipe,
#          unixs, afxdg, unixdg (ow.c)
#   pp     W1: the 64 B ping-pong round trip; afx, pipe, unix (pp.c)
#
# 1. a snapshot of the tree (module sources, guest scripts, bench/prof)
#    in DIR/build/tree, where afx.ko, build/ow, build/pp and the plugins
#    are built and scripts/mkinitramfs.sh makes the initramfs: the tree is
#    only read, and edits made meanwhile change nothing
# 2. the address of __switch_to_asm in the guest kernel, where callstk.so
#    tells the tasks apart: cached per kernel version (and image) in
#    $AFX_CACHE/prof/, else read from the guest's /proc/kallsyms in a short
#    boot first
# 3. per mode, one boot (scripts/vm.sh prof ...) with both plugins loaded:
#    the raw counts (tb.I.txt, cs.I.txt per window), windows, guest.log,
#    kallsyms and afx.ko in DIR/MODE/
# 4. bench/prof/summary.py: DIR/MODE/summary.txt and the per-window and
#    pairwise tables in DIR/MODE/out/; the totals and categories printed
#
# Environment:
#   PROFILE           the modes when none are given (default all)
#   AFX_PROFILE_DIR   output directory DIR (default build/profile)
#   AFX_PROFILE_N     operations per window (default 20000: shorter runs
#                     leave RCU callbacks of one window to the next)
#   AFX_PROFILE_TR    transports of every mode (default: per mode, above)
#   AFX_PROFILE_SIZES ow's message sizes (default 1,64)
#   AFX_PROFILE_SELF=1  ow: only the one-process windows
#   AFX_PROFILE_ARGS  more kernel arguments for the profiled boots
#   AFX_KVER          the guest kernel (default scripts/kver.sh)
#   AFX_VM_TIMEOUT    limit per guest boot (default 3600 s)
#   AFX_CACHE         where the cache lives (default /var/cache/afx; when
#                     not writable, DIR/cache)
#
# Exit status: non-zero when a build or a guest failed or a window's counts
# are missing; the counts themselves never fail anything.
set -euo pipefail

cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
t_start=$SECONDS

modes=()
for arg in "${@:-${PROFILE:-all}}"; do
	for m in ${arg//,/ }; do
		case $m in
		all) modes+=(churn ow pp) ;;
		churn | ow | pp) modes+=("$m") ;;
		*)
			echo "profile.sh: unknown mode $m (churn, ow, pp or all)" >&2
			exit 2
			;;
		esac
	done
done
((${#modes[@]})) || { echo "profile.sh: no mode" >&2; exit 2; }

out=${AFX_PROFILE_DIR:-build/profile}
mkdir -p "$out"
out=$(cd "$out" && pwd)
# The plugins' options are split on commas, AFX_VM_QEMU_ARGS on spaces.
[[ "$out" != *[,\ ]* ]] || { echo "profile.sh: no commas or spaces in $out, please" >&2; exit 2; }
work=$out/build
n=${AFX_PROFILE_N:-20000}
timeout_s=${AFX_VM_TIMEOUT:-3600}
kver=${AFX_KVER:-$(scripts/kver.sh)}
kimg=/boot/vmlinuz-$kver
[[ -r "$kimg" ]] || { echo "profile.sh: no kernel image $kimg" >&2; exit 1; }
kdir=$(AFX_KVER=$kver scripts/kver.sh --kdir)
echo "profile.sh: modes ${modes[*]}, N=$n, kernel $kver, output in $out"

echo "===== dependencies"
scripts/deps.sh

# --- 1. snapshot and build ------------------------------------------------------
echo "===== build (snapshot in $work/tree)"
rm -rf "$work"
mkdir -p "$work/tree/build" "$work/plugins"
tree=$work/tree
stage_tree "$tree"
stage_sources "$tree"
cp -a include "$tree/"
# What was measured: the commit, and the files that differ from it.
changed=$(git status --porcelain --untracked-files=no -- Kbuild module uapi include bench/prof \
	2>/dev/null | awk '{ printf " %s", $2 }')
echo "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)${changed:+ + changes to$changed}" \
	>"$work/commit"
echo "tree: $(cat "$work/commit")"

if ! make -C "$kdir" M="$tree" modules >"$work/module.log" 2>&1; then
	tail -n 40 "$work/module.log"
	echo "profile.sh: module build failed (log: $work/module.log)" >&2
	exit 1
fi
for b in ow pp; do
	"${CC:-gcc}" -static -O2 -Wall -I "$tree/uapi" -I "$tree/include" \
		-o "$tree/build/$b" "$tree/bench/prof/$b.c"
done
for p in tbcount callstk; do
	"${CC:-gcc}" -shared -fPIC -O2 -Wall -o "$work/plugins/$p.so" "$tree/bench/prof/$p.c"
done
# sym BINARY NAME: the address of a function in a static binary.
sym() {
	nm "$1" | awk -v s="$2" '$3 == s { print "0x" $1; f = 1 } END { exit !f }'
}
declare -A start end
for b in ow pp; do
	start[$b]=$(sym "$tree/build/$b" pp_mark_start)
	end[$b]=$(sym "$tree/build/$b" pp_mark_end)
done
echo "afx.ko, build/ow (markers ${start[ow]} ${end[ow]}), build/pp (${start[pp]} ${end[pp]}), plugins"

echo "===== initramfs"
if ! AFX_GUEST_KVER=$kver "$tree/scripts/mkinitramfs.sh" "$work/initramfs.cpio.gz" \
	>"$work/initramfs.log" 2>&1; then
	tail -n 40 "$work/initramfs.log"
	echo "profile.sh: mkinitramfs.sh failed (log: $work/initramfs.log)" >&2
	exit 1
fi
rm -rf "$work/initramfs.d"
tail -n 1 "$work/initramfs.log"

# vm LOG QEMU_ARGS KERNEL_ARGS...: one guest boot; the serial log in LOG.
vm() {
	local log=$1 qa=$2 rc=0
	shift 2
	AFX_VM_SMP=1 AFX_VM_TIMEOUT=$timeout_s AFX_VM_LOG=$log \
		AFX_INITRD=$work/initramfs.cpio.gz AFX_KERNEL=$kimg \
		AFX_VM_QEMU_ARGS="-icount shift=0,sleep=off $qa" \
		scripts/vm.sh prof nokaslr "$@" >/dev/null || rc=$?
	if ((rc == 0)) && ! tr -d '\r' <"$log" | grep -q '^AFX-GUEST-EXIT: mode=prof rc=0$'; then
		rc=1
	fi
	if ((rc != 0)); then
		tr -d '\r' <"$log" | grep -aE '^(OW|PROF|PP-RESULT|AFX-GUEST)' | tail -n 20 >&2 || true
		echo "profile.sh: guest failed (status $rc, log: $log)" >&2
	fi
	return "$rc"
}

# decode_syms LOG FILE: the guest's text symbols (OWSYMS-BEGIN/END).
decode_syms() {
	tr -d '\r' <"$1" | sed -n '/^OWSYMS-BEGIN$/,/^OWSYMS-END$/p' | sed '1d;$d' |
		base64 -d | gunzip >"$2" && [[ -s "$2" ]]
}

# switch_range FILE: "ADDR NEXT" of __switch_to_asm and the symbol after it.
switch_range() {
	sort "$1" | awk '$3 == "__switch_to_asm" { a = $1; next }
		a != "" && $1 != a && !done { print "0x" a, "0x" $1; done = 1 }'
}

# --- 2. __switch_to_asm -----------------------------------------------------------
cache=${AFX_CACHE:-/var/cache/afx}/prof
mkdir -p "$cache" 2>/dev/null && [[ -w "$cache" ]] || cache=$out/cache
mkdir -p "$cache"
swfile=$cache/switch_to_asm-$kver-$(sha256sum "$kimg" | cut -c1-16)
if [[ -s "$swfile" ]]; then
	read -r sw swend <"$swfile"
	echo "__switch_to_asm: $sw-$swend (cached: $swfile)"
else
	echo "===== guest: symbols (__switch_to_asm)"
	vm "$work/guest-syms.log" "" afx_ow_syms=only
	decode_syms "$work/guest-syms.log" "$work/kallsyms" ||
		{ echo "profile.sh: no symbols in $work/guest-syms.log" >&2; exit 1; }
	read -r sw swend < <(switch_range "$work/kallsyms") ||
		{ echo "profile.sh: no __switch_to_asm in the guest's kallsyms" >&2; exit 1; }
	echo "$sw $swend" >"$swfile"
	echo "__switch_to_asm: $sw-$swend (cached in $swfile)"
fi

# --- 3. the profiled boots ----------------------------------------------------------
# profile MODE: one boot with both plugins; 0 when every window has its
# counts, 3 when __switch_to_asm moved (the cache is mended: run it again).
# Called in an || list, where set -e does not act: every step checks.
profile() {
	local mode=$1 dir=$out/$1 bin=ow qa t0 nw i f ksw
	local args=(afx_ow_syms=1)
	case $mode in
	churn) args+=(afx_ow_churn=1 "afx_ow_tr=${AFX_PROFILE_TR:-afxs,unixs}" "afx_ow_n=$n") ;;
	ow)
		args+=("afx_ow_tr=${AFX_PROFILE_TR:-afxs,pipe,unixs,afxdg,unixdg}"
			"afx_ow_sizes=${AFX_PROFILE_SIZES:-1,64}" "afx_ow_n=$n")
		[[ -z "${AFX_PROFILE_SELF:-}" ]] || args+=(afx_ow_self=1)
		;;
	pp)
		bin=pp
		args+=(afx_prof=pp "afx_prof_tr=${AFX_PROFILE_TR:-afx,pipe,unix}" "afx_prof_n=$n")
		;;
	esac
	# shellcheck disable=SC2206 # a list of words
	args+=(${AFX_PROFILE_ARGS:-})
	rm -rf "$dir"
	mkdir -p "$dir" && cp "$work/commit" "$tree/afx.ko" "$dir/" || return 1
	qa="-plugin $work/plugins/tbcount.so,start=${start[$bin]},end=${end[$bin]},out=$dir/tb"
	qa+=" -plugin $work/plugins/callstk.so,start=${start[$bin]},end=${end[$bin]},sw=$sw,swend=$swend,out=$dir/cs"
	echo
	echo "===== guest: $mode (${args[*]})"
	t0=$SECONDS
	vm "$dir/guest.log" "$qa" "${args[@]}" || return 1
	echo "($mode: guest $((SECONDS - t0)) s)"
	grep -ao 'callstk: .*' "$dir/guest.log" | tr -d '\r' | sort -u || true
	if grep -qs 'two-stack toggle' "$dir"/cs.*.txt; then
		echo "profile.sh: warning: callstk.so did not find the task switch (inclusive counts mix tasks)" >&2
	fi
	decode_syms "$dir/guest.log" "$dir/kallsyms" ||
		{ echo "profile.sh: no symbols in $dir/guest.log" >&2; return 1; }
	ksw=$(switch_range "$dir/kallsyms")
	[[ -n "$ksw" ]] || { echo "profile.sh: no __switch_to_asm in $dir/kallsyms" >&2; return 1; }
	if [[ "$ksw" != "$sw $swend" ]]; then
		echo "profile.sh: __switch_to_asm is $ksw in this boot, not $sw $swend: dropping $swfile" >&2
		rm -f "$swfile"
		read -r sw swend <<<"$ksw"
		echo "$ksw" >"$swfile"
		return 3
	fi
	tr -d '\r' <"$dir/guest.log" | awk '$1 == "OWWIN" { print $2, $3, $4, $5, $6 }' >"$dir/windows"
	nw=$(wc -l <"$dir/windows")
	((nw > 0)) || { echo "profile.sh: no windows in $dir/guest.log" >&2; return 1; }
	for ((i = 0; i < nw; i++)); do
		for f in tb cs; do
			[[ -s "$dir/$f.$i.txt" ]] ||
				{ echo "profile.sh: $dir/$f.$i.txt missing: window $i did not close" >&2; return 1; }
		done
	done
	[[ ! -e "$dir/tb.$nw.txt" ]] ||
		{ echo "profile.sh: more windows than runs ($dir/tb.$nw.txt)" >&2; return 1; }

	# --- 4. the report
	echo "$nw windows"
	python3 bench/prof/summary.py "$dir" >"$dir/summary.txt" || return 1
	echo
	python3 bench/prof/summary.py --brief "$dir" || return 1
	echo
	echo "(full report: $dir/summary.txt; every function: $dir/out/)"
}

failed=()
for mode in "${modes[@]}"; do
	rc=0
	profile "$mode" || rc=$?
	if ((rc == 3)); then
		echo "profile.sh: $mode again, with the address of this boot" >&2
		rc=0
		profile "$mode" || rc=$?
	fi
	((rc == 0)) || failed+=("$mode")
done

echo
echo "profile.sh: done in $((SECONDS - t_start)) s; results in $out/: ${modes[*]}"
if ((${#failed[@]})); then
	echo "profile.sh: FAILED: ${failed[*]}" >&2
	exit 1
fi
