#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# Turn the KUnit output of a debug-lane guest log into results, one per
# KUnit case, using linux-source's tools/testing/kunit/kunit.py parse.
#
#   scripts/kunit-results.py GUEST_LOG OUT_PREFIX
#
# GUEST_LOG is the serial log with CRs removed. scripts/guest/debug-check.sh
# prints each /sys/kernel/debug/kunit/afx_*/results file with its lines
# prefixed "AFX-KTAP: " and the kernel log of the KUnit run prefixed
# "AFX-KLOG: ". The debugfs files are the results; the kernel log only
# repairs them: on 6.1 the debugfs log of a parameterised case keeps just
# its last parameter (kunit_init_test() empties the case's log before every
# parameter), so the subtest block of each parameterised case is taken from
# the kernel log, where it is complete. The suites are merged into one KTAP
# document, OUT_PREFIX.ktap, which kunit.py parses (its report goes to
# stderr, its JSON to OUT_PREFIX.json).
#
# Output on stdout: "STATUS<TAB>suite.case[.parameter]" for every leaf
# case, STATUS PASS, FAIL or SKIP. Exit status 1 when nothing could be
# parsed.
#
# Environment: AFX_CACHE (default /var/cache/afx), whose
# linux-source-6.1/tools/testing/kunit/kunit.py is used.

import json
import os
import re
import subprocess
import sys

TS = re.compile(r'^\[\s*\d+\.\d+\]\s?')
SUITE_SUBTEST = re.compile(r'^ {4}# Subtest: (\S+)$')
CASE_SUBTEST = re.compile(r'^ {8}# Subtest: (\S+)$')
CASE_RESULT = re.compile(r'^ {4}(not )?ok \d+ (\S+)')
TOP_RESULT = re.compile(r'^(not )?ok \d+ (.*)$')


def prefixed(lines, tag):
    out = []
    for line in lines:
        if line.startswith(tag):
            rest = line[len(tag):]
            out.append(rest[1:] if rest.startswith(' ') else rest)
    return out


def param_blocks(klog):
    """(suite, case) -> the case's complete subtest block in the kernel log."""
    blocks = {}
    suite = None
    i = 0
    while i < len(klog):
        m = SUITE_SUBTEST.match(klog[i])
        if m:
            suite = m.group(1)
        m = CASE_SUBTEST.match(klog[i])
        if m and suite:
            case = m.group(1)
            start = i - 1 if i > 0 and klog[i - 1].strip() == 'KTAP version 1' else i
            j = i + 1
            # Up to the case's own lines (4 spaces): stats or result.
            while j < len(klog) and (klog[j].startswith(' ' * 8) or not klog[j].strip()):
                j += 1
            blocks[(suite, case)] = klog[start:j]
            i = j
            continue
        i += 1
    return blocks


def repair(doc, blocks):
    """One suite's debugfs document with complete parameterised cases."""
    suite = None
    out, chunk = [], []
    for line in doc:
        m = SUITE_SUBTEST.match(line)
        if m:
            suite = m.group(1)
        m = CASE_RESULT.match(line)
        if not m:
            chunk.append(line)
            continue
        block = blocks.get((suite, m.group(2)))
        if block and not any(CASE_SUBTEST.match(c) for c in chunk):
            # The block goes where the case's own lines (the parameters
            # left in debugfs, then its stats line) begin.
            stats = '    # ' + m.group(2) + ':'
            at = next((k for k, c in enumerate(chunk)
                       if c.startswith(' ' * 8) or c.startswith(stats)), len(chunk))
            chunk = chunk[:at] + block + [c for c in chunk[at:] if not c.startswith(' ' * 8)]
        out += chunk + [line]
        chunk = []
    return out + chunk


def split_docs(lines):
    docs = []
    for line in lines:
        if line == 'KTAP version 1':
            docs.append([])
        if docs:
            docs[-1].append(line)
    return docs


def merge(docs):
    """One KTAP document with the suites numbered 1..n."""
    out = ['KTAP version 1', f'1..{len(docs)}']
    for n, doc in enumerate(docs, 1):
        body = doc[2:] if len(doc) > 2 and doc[1].startswith('1..') else doc[1:]
        if body and TOP_RESULT.match(body[-1]):
            m = TOP_RESULT.match(body[-1])
            body[-1] = f'{m.group(1) or ""}ok {n} {m.group(2)}'
        out += body
    return out


def leaves(group, path):
    for case in group.get('test_cases', []):
        yield path + [case['name']], case['status']
    for sub in group.get('sub_groups', []):
        yield from leaves(sub, path + [sub['name']])


def main():
    log, prefix = sys.argv[1], os.path.abspath(sys.argv[2])
    with open(log, errors='backslashreplace') as f:
        lines = f.read().splitlines()
    debugfs = prefixed(lines, 'AFX-KTAP:')
    klog = [TS.sub('', line) for line in prefixed(lines, 'AFX-KLOG:')]

    docs = split_docs(debugfs)
    if not docs:
        print('kunit-results: no KUnit results in the guest log', file=sys.stderr)
        return 1
    blocks = param_blocks(klog)
    ktap = merge([repair(doc, blocks) for doc in docs])
    with open(prefix + '.ktap', 'w') as f:
        f.write('\n'.join(ktap) + '\n')

    ksrc = os.path.join(os.environ.get('AFX_CACHE', '/var/cache/afx'), 'linux-source-6.1')
    kunit_py = os.path.join(ksrc, 'tools', 'testing', 'kunit', 'kunit.py')
    if os.path.exists(prefix + '.json'):
        os.unlink(prefix + '.json')
    # kunit.py exits 1 when a case failed; the JSON tells which.
    proc = subprocess.run([sys.executable, kunit_py, 'parse', '--json=' + prefix + '.json',
                           prefix + '.ktap'], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, check=False)
    sys.stderr.write(proc.stdout)
    try:
        with open(prefix + '.json') as f:
            top = json.load(f)
    except (OSError, ValueError) as e:
        print(f'kunit-results: kunit.py parse gave no JSON: {e}', file=sys.stderr)
        return 1

    n = 0
    for path, status in leaves(top, []):
        st = {'PASS': 'PASS', 'SKIP': 'SKIP'}.get(status, 'FAIL')
        print(f'{st}\t{".".join(path)}')
        n += 1
    if not n:
        print('kunit-results: kunit.py found no cases', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
