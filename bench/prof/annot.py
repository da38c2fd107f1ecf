#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# annot.py DIR WINDOW FUNC [KO]: one afx.ko function of a scripts/profile.sh
# run disassembled (objdump -dl), each instruction with how often it ran
# per op in window WINDOW (DIR/tb.WINDOW.txt; N from DIR/windows). KO is
# the module profiled (default DIR/afx.ko, which profile.sh keeps there).
import collections
import re
import subprocess
import sys

if len(sys.argv) not in (4, 5):
    sys.exit('usage: annot.py DIR WINDOW FUNC [KO]')
d, w, func = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ko = sys.argv[4] if len(sys.argv) > 4 else f'{d}/afx.ko'
N = next(int(x[4]) for x in (line.split() for line in open(f'{d}/windows')) if int(x[0]) == w)
ka = None
for line in open(f'{d}/kallsyms'):
    p = line.split()
    if len(p) >= 4 and p[2] == func and p[3] == '[afx]':
        ka = int(p[0], 16)
if ka is None:
    sys.exit(f'annot.py: {func} [afx] not in {d}/kallsyms')
nm = subprocess.run(['nm', ko], capture_output=True, text=True, check=True).stdout
na = next((int(x[0], 16) for x in (line.split() for line in nm.splitlines()) if x[-1] == func), None)
if na is None:
    sys.exit(f'annot.py: {func} not in {ko}')
base = ka - na
dis = subprocess.run(['objdump', '-dl', '--no-show-raw-insn', f'--disassemble={func}', ko],
                     capture_output=True, text=True, check=True).stdout
ins = []
src = ''
for line in dis.splitlines():
    m = re.match(r'^\s+([0-9a-f]+):\s+(.*)$', line)
    if m:
        ins.append((int(m[1], 16) + base, m[2], src))
    elif re.match(r'^/.*:\d+', line):
        src = line.split('/')[-1]
idx = {a: i for i, (a, _, _) in enumerate(ins)}
cnt = collections.Counter()
for line in open(f'{d}/tb.{w}.txt'):
    if line.startswith('#'):
        continue
    a, n, c = (int(x, 16) if i == 0 else int(x) for i, x in enumerate(line.split()))
    if a in idx:
        for k in range(idx[a], min(idx[a] + n, len(ins))):
            cnt[k] += c
print(f'# {func}, window {w}: {sum(cnt.values()) / N:.1f} instructions per op (self)')
last = None
for k, (a, t, s) in enumerate(ins):
    if not cnt[k]:
        continue
    if s != last:
        print(f'            {s}')
        last = s
    print(f'{cnt[k] / N:6.2f}  {a:x}  {t}')
