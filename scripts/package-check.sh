#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Host-side packaging checks, as TAP (scripts/check.sh counts each result):
#
#   - man --warnings accepts man/afx.7, man/afx-ss.8 and man/afx-run.1
#     silently
#   - modinfo of afx.ko and afx_diag.ko: license, description, author,
#     version (= scripts/version.sh), parameter descriptions, aliases
#   - make install DESTDIR=<tmp>: every file where it belongs, the depmod
#     index names both modules and their aliases, the installed uapi
#     headers compile on their own; make uninstall removes it all again
#   - make dkms-src, then dkms add and dkms build against the installed
#     kernel headers, in a private DKMS tree (nothing under /var/lib/dkms
#     or /usr/src): the built modules carry the same version
#
# Needs the modules and build/afx-ss built (make module userspace). Never
# loads a module on the host. Usage: scripts/package-check.sh
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
kver=$(scripts/kver.sh)
version=$(scripts/version.sh)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/afx-package.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

echo "1..14"

# --- man pages ------------------------------------------------------------------
for page in man/afx.7 man/afx-ss.8 man/afx-run.1; do
	out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null)
	if [[ -z "$out" && -s "$page" ]]; then
		tap_result OK "man --warnings -l $page is silent"
	else
		tap_result FAIL "man --warnings -l $page is silent" "$out"
	fi
done

# --- modinfo ----------------------------------------------------------------------
# check_modinfo KO FIELD=REGEX...: every field matches (a field may repeat).
check_modinfo() {
	local ko=$1 spec field re bad=()
	shift
	if [[ ! -f "$ko" ]]; then
		echo "$ko missing (make module)"
		return 1
	fi
	for spec in "$@"; do
		field=${spec%%=*}
		re=${spec#*=}
		if ! modinfo -F "$field" "$ko" | grep -Eq -- "$re"; then
			bad+=("$field: '$(modinfo -F "$field" "$ko" | tr '\n' '|')' !~ /$re/")
		fi
	done
	((${#bad[@]} == 0)) || { printf '%s\n' "${bad[@]}"; return 1; }
}

# git describe of a commit of this repository: the current one, or an
# earlier one when somebody committed since the modules were built.
describe_re='^[0-9]+\.[0-9]+(-[0-9]+-g[0-9a-f]+)?(-dirty)?$'
version_ok() {
	local v=$1 h
	[[ "$v" == "$version" ]] && return 0
	[[ "$v" =~ $describe_re ]] || return 1
	h=$(sed -n 's/.*-g\([0-9a-f]*\).*/\1/p' <<<"$v")
	[[ -n "$h" ]] && git cat-file -e "$h^{commit}" 2>/dev/null
}
modver=$(modinfo -F version afx.ko 2>/dev/null)
if version_ok "$modver"; then
	vre=$(printf '%s' "$modver" | sed 's/[.[\*^$+?(){}|]/\\&/g')
else
	vre="^$version\$ (have '$modver')"
fi
if out=$(check_modinfo afx.ko "license=^GPL$" "description=AF_X" \
	"author=." "version=^$vre$" \
	"parm=^family:.*address family.*\(int\)$" \
	"parm=^bind_buckets:.*power of 2.*\(uint\)$" "alias=^net-pf-18$"); then
	tap_result OK "modinfo afx.ko: license, description, author, version (git describe), parm"
else
	tap_result FAIL "modinfo afx.ko: license, description, author, version (git describe), parm" "$out"
fi
if out=$(check_modinfo afx_diag.ko "license=^GPL$" "description=." \
	"author=." "version=^$vre$" "depends=^afx$" \
	"alias=^net-pf-16-proto-4-type-18$"); then
	tap_result OK "modinfo afx_diag.ko: license, description, author, version, depends, alias"
else
	tap_result FAIL "modinfo afx_diag.ko: license, description, author, version, depends, alias" "$out"
fi

# --- make install / uninstall ---------------------------------------------------------
dest=$tmp/dest
expected=(
	"lib/modules/$kver/extra/afx.ko 644"
	"lib/modules/$kver/extra/afx_diag.ko 644"
	"usr/local/bin/afx-ss 755"
	"usr/local/bin/afx-run 755"
	"usr/local/lib/afx/libafx-run.so 644"
	"usr/local/share/man/man1/afx-run.1 644"
	"usr/local/include/linux/afx.h 644"
	"usr/local/include/linux/afx_diag.h 644"
	"usr/local/share/man/man7/afx.7 644"
	"usr/local/share/man/man8/afx-ss.8 644"
)
if out=$(make -s --no-print-directory install DESTDIR="$dest" KVER="$kver" 2>&1); then
	bad=()
	for e in "${expected[@]}"; do
		f=${e% *}
		mode=${e#* }
		if [[ ! -f "$dest/$f" ]]; then
			bad+=("missing: $f")
		elif [[ "$(stat -c %a "$dest/$f")" != "$mode" ]]; then
			bad+=("mode of $f: $(stat -c %a "$dest/$f"), want $mode")
		fi
	done
	if ((${#bad[@]} == 0)); then
		tap_result OK "make install DESTDIR: modules in extra/, afx-ss, afx-run, headers, man pages"
	else
		tap_result FAIL "make install DESTDIR: modules in extra/, afx-ss, afx-run, headers, man pages" "${bad[@]}"
	fi
else
	tap_result FAIL "make install DESTDIR: modules in extra/, afx-ss, afx-run, headers, man pages" "$out"
fi

# The installed afx-run finds the installed library (../lib/afx/); with
# --fallback it runs the program even here, where AF_X does not exist.
if out=$("$dest/usr/local/bin/afx-run" --fallback -- true 2>&1) &&
	! grep -q 'cannot find' <<<"$out"; then
	tap_result OK "installed afx-run finds its library in ../lib/afx/"
else
	tap_result FAIL "installed afx-run finds its library in ../lib/afx/" "$out"
fi

# depmod's index in the staged tree, as modprobe reads it.
idx=$dest/lib/modules/$kver
if grep -qx 'extra/afx.ko:' "$idx/modules.dep" 2>/dev/null &&
	grep -qx 'extra/afx_diag.ko: extra/afx.ko' "$idx/modules.dep" &&
	grep -qx 'alias net-pf-18 afx' "$idx/modules.alias" &&
	grep -qx 'alias net-pf-16-proto-4-type-18 afx_diag' "$idx/modules.alias"; then
	tap_result OK "make install runs depmod: modules.dep and modules.alias name afx, afx_diag"
else
	tap_result FAIL "make install runs depmod: modules.dep and modules.alias name afx, afx_diag" \
		"$(cat "$idx/modules.dep" "$idx/modules.alias" 2>&1)"
fi
if out=$(modprobe -d "$dest" -S "$kver" --show-depends afx_diag 2>&1) &&
	grep -q "extra/afx.ko" <<<"$out" && grep -q "extra/afx_diag.ko" <<<"$out"; then
	tap_result OK "modprobe --show-depends afx_diag in the installed tree pulls in afx"
else
	tap_result FAIL "modprobe --show-depends afx_diag in the installed tree pulls in afx" "$out"
fi

# The installed headers are self-contained userspace headers.
printf '#include <sys/socket.h>\n#include <linux/afx.h>\n#include <linux/afx_diag.h>\nint main(void) { struct sockaddr_x sx = { .sx_family = AF_X }; struct afx_diag_req r = { .sdiag_family = AF_X }; return sx.sx_port + r.adiag_ino; }\n' >"$tmp/hdr.c"
if out=$(gcc -Wall -Wextra -Werror -I "$dest/usr/local/include" -o "$tmp/hdr" "$tmp/hdr.c" 2>&1); then
	tap_result OK "installed <linux/afx.h> and <linux/afx_diag.h> compile in userspace"
else
	tap_result FAIL "installed <linux/afx.h> and <linux/afx_diag.h> compile in userspace" "$out"
fi

if out=$(make -s --no-print-directory uninstall DESTDIR="$dest" KVER="$kver" 2>&1); then
	left=$(cd "$dest" && find . -type f ! -name 'modules.*' | sort)
	if [[ -z "$left" ]]; then
		tap_result OK "make uninstall DESTDIR removes every installed file"
	else
		tap_result FAIL "make uninstall DESTDIR removes every installed file" "left: $left"
	fi
else
	tap_result FAIL "make uninstall DESTDIR removes every installed file" "$out"
fi

# --- DKMS -------------------------------------------------------------------------
if ! command -v dkms >/dev/null 2>&1; then
	for t in "dkms add" "dkms build" "dkms: modinfo version"; do
		tap_result SKIP "$t" "dkms not installed (apt-get install dkms)"
	done
	exit $((TAP_FAILS > 0))
fi
src=$tmp/dkms-src
tree=$tmp/dkms-tree
mkdir -p "$src" "$tree" "$tmp/dkms-install"
dkms=(dkms --dkmstree "$tree" --sourcetree "$src" --installtree "$tmp/dkms-install")
id=(-m afx -v "$version")
out=$(make -s --no-print-directory dkms-src DKMS_SRCTREE="$src" 2>&1)
# The version make dkms-src used (a commit may have come in meanwhile).
for f in "$src"/afx-*/VERSION; do
	[[ -f "$f" ]] && version=$(cat "$f")
done
id=(-m afx -v "$version")
if [[ -f "$src/afx-$version/dkms.conf" ]] &&
	out+=$("${dkms[@]}" add "${id[@]}" 2>&1); then
	tap_result OK "dkms add (make dkms-src: /usr/src layout with dkms.conf, VERSION)"
else
	tap_result FAIL "dkms add (make dkms-src: /usr/src layout with dkms.conf, VERSION)" "$out"
fi
if out=$("${dkms[@]}" build "${id[@]}" -k "$kver" 2>&1) &&
	"${dkms[@]}" status "${id[@]}" -k "$kver" 2>/dev/null | grep -q ': built'; then
	tap_result OK "dkms build against the headers of $kver"
else
	tap_result FAIL "dkms build against the headers of $kver" "$out" \
		"$(tail -n 30 "$tree/afx/$version/build/make.log" 2>/dev/null)"
fi
built=$tree/afx/$version/$kver/$(uname -m)/module
bad=()
for m in afx afx_diag; do
	v=$(modinfo -F version "$built/$m.ko" 2>&1)
	[[ "$v" == "$version" ]] || bad+=("$m.ko: version '$v', want '$version'")
done
if ((${#bad[@]} == 0)); then
	tap_result OK "dkms: modinfo version of both modules is $version"
else
	tap_result FAIL "dkms: modinfo version of both modules is $version" "${bad[@]}"
fi

exit $((TAP_FAILS > 0))
