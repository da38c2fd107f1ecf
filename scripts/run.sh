#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# `make run` / `make shell`: build everything, boot the VM, load afx.ko and
# either run the demos (scripts/guest/run-demos.sh) or give a shell.
#
#   scripts/run.sh demos|shell
#
# Exit status: 0 when the guest finished and (demos) every demo passed.
set -euo pipefail

cd "$(dirname "$0")/.."
mode=${1:-demos}

scripts/deps.sh
make module
make userspace
scripts/mkinitramfs.sh
AFX_VM_LOG=build/$mode.log scripts/vm.sh "$mode"

# The guest's verdict: "AFX-GUEST-EXIT: mode=demos rc=N".
rc=$(tr -d '\r' <"build/$mode.log" | sed -n 's/^AFX-GUEST-EXIT: .* rc=\([0-9]*\)$/\1/p')
exit "${rc:-1}"
