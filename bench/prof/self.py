# SPDX-License-Identifier: GPL-2.0
import sys, collections
sym = {}
for l in open('/tmp/prof/syms'):
    a, s = l.split(None, 1)
    s = s.strip()
    name = s.rsplit('+0x', 1)[0]
    sym[int(a, 16)] = name
N = 2000
names = ['afx', 'unix', 'pipe']
res = {}
for i, t in enumerate(names):
    c = collections.Counter(); tbs = collections.Counter()
    for l in open(f'/tmp/prof/tb.{i}.txt'):
        if l.startswith('#'): continue
        a, n, cnt = l.split(); a = int(a, 16); n = int(n); cnt = int(cnt)
        if a < 0xffff800000000000: f = '[user]'
        else: f = sym.get(a, '?%x' % a)
        c[f] += n * cnt
        tbs[f] += cnt
    res[t] = (c, tbs)
    tot = sum(c.values())
    with open(f'/tmp/prof/out/self.{t}.txt', 'w') as o:
        o.write(f'# {t}: exact instructions per round trip (QEMU TB counts, N={N}), total {tot/N:.1f}\n')
        for f, v in c.most_common():
            o.write(f'{v/N:9.1f}  {f}\n')
# comparison table
allf = set()
for t in names: allf |= set(res[t][0])
rows = sorted(allf, key=lambda f: -max(res[t][0][f] for t in names))
with open('/tmp/prof/out/self.compare.txt', 'w') as o:
    o.write('%-45s %9s %9s %9s %9s\n' % ('function (self instr/RT)', 'afx', 'unix', 'pipe', 'afx-pipe'))
    for t in ['TOTAL']:
        o.write('%-45s %9.0f %9.0f %9.0f %9.0f\n' % ('TOTAL', *(sum(res[t][0].values())/N for t in names), (sum(res['afx'][0].values())-sum(res['pipe'][0].values()))/N))
    for f in rows:
        v = [res[t][0][f]/N for t in names]
        if max(v) < 5: continue
        o.write('%-45s %9.1f %9.1f %9.1f %9.1f\n' % (f[:45], *v, v[0]-v[2]))
