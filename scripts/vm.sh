#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot the test VM: the installed Debian kernel plus build/initramfs.cpio.gz
# under QEMU/TCG, with the serial console on stdout and in the log file.
#
#   scripts/vm.sh MODE [KERNEL_ARGS...]
#
# MODE is handed to the guest init as afx_run=MODE (check, demos or shell,
# see scripts/guest/init); KERNEL_ARGS are appended to the command line
# (e.g. afx_only=stream afx_test_timeout=300).
#
# Environment:
#   AFX_VM_TIMEOUT  host-side limit in seconds (default 1800)
#   AFX_VM_LOG      serial log (default build/guest.log)
#   AFX_INITRD      initramfs (default build/initramfs.cpio.gz)
#   AFX_KERNEL      kernel image (default: scripts/kver.sh --image)
#   AFX_VM_MEM, AFX_VM_SMP  (default 1G, 2)
#   AFX_VM_QEMU_ARGS  extra qemu options, split on spaces
#                   (make bench: -icount shift=0,sleep=off)
#
# Exit status: 0 when the guest init finished and rebooted cleanly (the
# guest's own verdict is in the log, see AFX-GUEST-EXIT); 1 when the guest
# panicked or stopped without finishing; 124 on timeout.
set -euo pipefail

cd "$(dirname "$0")/.."
mode=${1:?usage: scripts/vm.sh MODE [KERNEL_ARGS...]}
shift

timeout_s=${AFX_VM_TIMEOUT:-1800}
log=${AFX_VM_LOG:-build/guest.log}
initrd=${AFX_INITRD:-build/initramfs.cpio.gz}
kernel=${AFX_KERNEL:-$(scripts/kver.sh --image)}

[[ -r "$initrd" ]] || { echo "vm.sh: $initrd missing (run scripts/mkinitramfs.sh)" >&2; exit 1; }
[[ -r "$kernel" ]] || { echo "vm.sh: kernel image $kernel not readable" >&2; exit 1; }

# panic=-1: reboot at once on panic, which -no-reboot turns into a qemu exit.
# oops=panic: an oops in afx usually leaves a lock held and the guest wedged
# until the host timeout; stop at once instead, with the oops on the
# console. Append panic_on_oops=0 to carry on after an oops.
append="console=ttyS0 quiet panic=-1 oops=panic afx_run=$mode $*"

qemu=(
	qemu-system-x86_64
	-accel tcg		# KVM hangs on this host
	# RDRAND seeds the guest's CRNG at boot, as on real machines; without
	# it the CRNG stays unready and every get_random_u32() runs a ChaCha
	# block (10k instructions per afx ephemeral bind, TCP's ports too).
	-cpu qemu64,+rdrand
	-m "${AFX_VM_MEM:-1G}"
	-smp "${AFX_VM_SMP:-2}"
	-nographic		# serial console on stdio, no display
	-no-reboot		# guest `reboot -f` or panic ends qemu
	-nic none		# no NIC, so no iPXE option ROM needed
	-kernel "$kernel"
	-initrd "$initrd"
	-append "$append"
)
# shellcheck disable=SC2206 # word splitting wanted
qemu+=(${AFX_VM_QEMU_ARGS:-})

mkdir -p "$(dirname "$log")"
echo "vm.sh: booting $kernel, afx_run=$mode, timeout ${timeout_s}s, log $log" >&2

# Only an interactive shell gets our stdin; everything else must not wait
# for input (CI has none). --foreground keeps Ctrl-C working in a terminal.
set +e
if [[ "$mode" == shell && -t 0 ]]; then
	timeout --foreground -k 10 "$timeout_s" "${qemu[@]}" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
else
	# SeaBIOS resets and clears the terminal (ESC c ...); drop that.
	timeout --foreground -k 10 "$timeout_s" "${qemu[@]}" </dev/null 2>&1 |
		sed -u 's/\x1bc\x1b\[?7l\x1b\[2J\(\x1b\[0m\)\?//g' | tee "$log"
	rc=${PIPESTATUS[0]}
fi
set -e

if ((rc == 124 || rc == 137)); then
	echo "vm.sh: TIMEOUT: guest still running after ${timeout_s}s, killed" >&2
	exit 124
fi
if grep -q 'Kernel panic' "$log"; then
	echo "vm.sh: guest kernel PANIC (see $log)" >&2
	exit 1
fi
if ((rc != 0)); then
	echo "vm.sh: qemu exited with status $rc" >&2
	exit 1
fi
if ! grep -q '^AFX-GUEST-EXIT:' "$log"; then
	echo "vm.sh: guest stopped without finishing (no AFX-GUEST-EXIT line)" >&2
	exit 1
fi
exit 0
