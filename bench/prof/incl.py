# SPDX-License-Identifier: GPL-2.0
import bisect, collections
sym = {}
for l in open('/tmp/prof/syms'):
    a, s = l.split(None, 1); s = s.strip()
    name, off = s.rsplit('+0x', 1)
    sym[int(a, 16)] = (name, int(off, 16))
# function starts from syms: addr - off
starts = sorted({a - o: n for a, (n, o) in sym.items()}.items())
sa = [x[0] for x in starts]
def name(a):
    if a < 0xffff800000000000: return '[user]'
    i = bisect.bisect_right(sa, a) - 1
    if i < 0: return '?%x' % a
    n = starts[i][1]
    return n if a == sa[i] else '%s+0x%x' % (n, a - sa[i])
N = 2000
out = {}
for i, t in enumerate(['afx', 'unix', 'pipe']):
    d = collections.defaultdict(lambda: [0, 0])
    for l in open(f'/tmp/prof/cs.{i}.txt'):
        if l.startswith('#'): continue
        a, c, inc = l.split(); n = name(int(a, 16))
        d[n][0] += int(c); d[n][1] += int(inc)
    out[t] = d
    with open(f'/tmp/prof/out/inclusive.{t}.txt', 'w') as o:
        o.write(f'# {t}: exact inclusive instructions per round trip (shadow call stack plugin, N={N}; callee time only of the same task)\n')
        o.write('%10s %8s %9s  %s\n' % ('incl/RT', 'calls/RT', 'per call', 'function'))
        for n, (c, inc) in sorted(d.items(), key=lambda x: -x[1][1]):
            if inc / N < 3: continue
            o.write('%10.1f %8.2f %9.1f  %s\n' % (inc / N, c / N, inc / c, n))
