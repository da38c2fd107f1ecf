#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Build (once) and print a debug-lane kernel tree: Debian's
# linux-source-<series> (6.1 by default, or 6.12) configured from tinyconfig
# plus scripts/debug-kernel.config (KASAN, lockdep, kmemleak, UBSAN, KUnit,
# fault injection) and, where it exists, scripts/debug-kernel-<series>.config
# (what that series needs on top), built out of tree into a cache directory
# outside the repository:
#
#   $AFX_CACHE/debug-kernel-<source version>-<hash>
#
# where <hash> covers the config fragments, the compiler and this recipe.
# A tree whose build finished carries a stamp file and is reused as is, so
# a warm call takes well under a second; a cold build needs about 9 CPU
# minutes for 6.1 (13 minutes wall clock on 2 busy cores, 5 to 7 on idle
# ones). The source tree ($AFX_CACHE/linux-source-<series>, extracted in
# full from /usr/src/linux-source-<series>.tar.xz if needed) is never
# written to.
#
#   scripts/debug-kernel.sh            build if needed, print the tree (KDIR)
#   scripts/debug-kernel.sh --image    ... print its bzImage
#   scripts/debug-kernel.sh --key      print the cache key, build nothing
#
# The kbuild output goes to <tree>/afx-build.log; progress to stderr.
# Environment: AFX_DEBUG_SERIES (6.1 or 6.12, default 6.1), AFX_CACHE
# (default /var/cache/afx), AFX_JOBS (default nproc).
set -euo pipefail

cd "$(dirname "$0")/.."
repo=$(pwd)
cache=${AFX_CACHE:-/var/cache/afx}
series=${AFX_DEBUG_SERIES:-6.1}
case "$series" in
6.1|6.12) ;;
*)	echo "debug-kernel.sh: AFX_DEBUG_SERIES=$series: not 6.1 or 6.12" >&2; exit 2 ;;
esac
src=$cache/linux-source-$series
tarball=/usr/src/linux-source-$series.tar.xz
frags=("$repo/scripts/debug-kernel.config")
[[ ! -f "$repo/scripts/debug-kernel-$series.config" ]] ||
	frags+=("$repo/scripts/debug-kernel-$series.config")
jobs=${AFX_JOBS:-$(nproc)}
# Bump when the build steps below change in a way that needs a new tree.
recipe=1

srcver=$(dpkg-query -W -f='${Version}' "linux-source-$series" 2>/dev/null || true)
if [[ -z "$srcver" ]]; then
	srcver=$(stat -c %Y "$tarball" 2>/dev/null || echo unknown)
fi
hash=$( { echo "recipe=$recipe"; gcc --version | head -n 1; cat "${frags[@]}"; } |
	sha256sum | cut -c1-12)
key=debug-kernel-$srcver-$hash
out=$cache/$key
stamp=$out/.afx-built
image=$out/arch/x86/boot/bzImage

print() {
	case "${1:-}" in
	--image)	echo "$image" ;;
	*)		echo "$out" ;;
	esac
}

case "${1:-}" in
""|--image) ;;
--key)	echo "$key"; exit 0 ;;
*)	echo "usage: $0 [--image|--key]" >&2; exit 2 ;;
esac

if [[ -f "$stamp" && -f "$image" ]]; then
	print "$@"
	exit 0
fi

mkdir -p "$cache"
exec 9>"$cache/.debug-kernel-$series.lock"
if ! flock -n 9; then
	echo "debug-kernel.sh: waiting for another build of the debug kernel" >&2
	flock 9
fi
if [[ -f "$stamp" && -f "$image" ]]; then
	print "$@"
	exit 0
fi

# --- a complete source tree ------------------------------------------------------
have_source() {
	[[ -f "$src/Makefile" && -d "$src/kernel" && -d "$src/arch/x86" &&
		-f "$src/tools/testing/kunit/kunit.py" &&
		-x "$src/scripts/kconfig/merge_config.sh" ]]
}
if ! have_source; then
	[[ -f "$tarball" ]] || { echo "debug-kernel.sh: $tarball missing (run scripts/deps.sh)" >&2; exit 1; }
	# The same lock as scripts/linux-source.sh, which extracts parts of it.
	exec 8>"$cache/.linux-source-$series.lock"
	flock 8
	if ! have_source; then
		echo "debug-kernel.sh: extracting $tarball into $cache" >&2
		tar -xJf "$tarball" -C "$cache"
	fi
	exec 8>&-
	have_source || { echo "debug-kernel.sh: $src incomplete after extraction" >&2; exit 1; }
fi

# --- configure -------------------------------------------------------------------
mkdir -p "$out"
log=$out/afx-build.log
: >"$log"
kmake() {
	make -C "$src" O="$out" "$@" >>"$log" 2>&1
}
fail() {
	echo "debug-kernel.sh: $*; last lines of $log:" >&2
	tail -n 40 "$log" >&2
	exit 1
}

start=$(date +%s)
echo "debug-kernel.sh: building $key in $out (log: $log)" >&2
kmake tinyconfig || fail "make tinyconfig failed"
"$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "${frags[@]}" \
	>>"$log" 2>&1 || fail "merge_config.sh failed"
kmake olddefconfig || fail "make olddefconfig failed"

# Kconfig silently drops what it cannot satisfy: insist on every line.
bad=()
while read -r line; do
	case "$line" in
	CONFIG_*=*)
		grep -qxF "$line" "$out/.config" || bad+=("$line")
		;;
	"# CONFIG_"*" is not set")
		sym=${line#\# }
		sym=${sym%% *}
		if grep -q "^$sym=" "$out/.config"; then
			bad+=("$line")
		fi
		;;
	esac
done < <(cat "${frags[@]}")
if ((${#bad[@]})); then
	echo "debug-kernel.sh: the final .config lacks these fragment lines:" >&2
	printf '  %s\n' "${bad[@]}" >&2
	exit 1
fi

# --- build -------------------------------------------------------------------------
# vmlinux, bzImage, in-tree modules and Module.symvers (external modules
# need it).
kmake -j"$jobs" all || fail "kernel build failed"
[[ -f "$image" && -f "$out/Module.symvers" ]] || fail "no bzImage or Module.symvers"
echo "$key built in $(($(date +%s) - start))s" >"$stamp"
echo "debug-kernel.sh: built in $(($(date +%s) - start))s" >&2
print "$@"
