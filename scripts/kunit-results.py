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
#
#   scripts/kunit-results.py --expect SRCDIR RESULTS
#
# The expected-case check of the debug lane: the cases SRCDIR's *.c files
# declare (every suite registered with kunit_test_suite[s](), every case of
# its kunit_case array, each KUNIT_CASE_PARAM counted once per row of the
# KUNIT_ARRAY_PARAM table behind it) against the results in RESULTS (the
# output above). Prints what differs and the counts; exit status 1 when a
# suite, case or parameter is missing or unexpected, or the sources cannot
# be read that way.

import json
import os
import re
import subprocess
import sys

TS = re.compile(r'^\[\s*\d+\.\d+\]\s?')
SUITE_SUBTEST = re.compile(r'^ {4}# Subtest: (\S+)$')
CASE_SUBTEST = re.compile(r'^ {8}# Subtest: (\S+)$')
TOP_RESULT = re.compile(r'^(not )?ok \d+ (.*)$')


def prefixed(lines, tag):
    out = []
    for line in lines:
        if line.startswith(tag):
            rest = line[len(tag):]
            out.append(rest[1:] if rest.startswith(' ') else rest)
    return out


def case_result(name):
    """The result line of case @name, whole: no truncated line matches."""
    return re.compile(r'^ {4}(not )?ok \d+ ' + re.escape(name) + r'( # .*)?$')


def split_docs(lines):
    """KTAP documents, one per debugfs results file."""
    docs = []
    for line in lines:
        if line == 'KTAP version 1':
            docs.append([])
        if docs:
            docs[-1].append(line)
    return docs


def klog_suites(klog):
    """suite -> (case names in order, case -> its lines, trailer lines)."""
    suites = {}
    suite = None
    for line in klog:
        m = SUITE_SUBTEST.match(line)
        if m:
            suite = m.group(1)
            suites[suite] = ([], {}, [])
            chunk = []
            continue
        if suite is None:
            continue
        if TOP_RESULT.match(line):
            suites[suite][2].extend(chunk)
            suite = None
            continue
        chunk.append(line)
        m = re.match(r'^ {4}(?:not )?ok \d+ (\S+)', line)
        if m and case_result(m.group(1)).match(line):
            suites[suite][0].append(m.group(1))
            suites[suite][1][m.group(1)] = chunk
            chunk = []
    return suites


def repair(doc, ksuites):
    """One suite's debugfs document, whole again.

    On 6.1 the debugfs log of a case is a 512-byte buffer, and that of a
    parameterised case is emptied before each parameter: a case whose
    result line is missing or cut, or whose parameters are gone, takes
    its lines from the kernel log instead.
    """
    suite = next((m.group(1) for m in map(SUITE_SUBTEST.match, doc) if m), None)
    if suite not in ksuites:
        return doc
    names, kchunks, _ = ksuites[suite]
    head = []
    i = 0
    while i < len(doc):
        head.append(doc[i])
        i += 1
        if doc[i - 1].startswith('    1..'):
            break
    out = list(head)
    rest = doc[i:]
    for name in names:
        pat = case_result(name)
        at = next((k for k, line in enumerate(rest) if pat.match(line)), None)
        kchunk = kchunks[name]
        param = any(CASE_SUBTEST.match(line) for line in kchunk)
        if at is None or (param and not any(CASE_SUBTEST.match(line) for line in rest[:at + 1])):
            print(f'kunit-results: {suite}.{name}: debugfs log incomplete, '
                  'lines from the kernel log', file=sys.stderr)
            out += kchunk
            if at is not None:
                rest = rest[at + 1:]
            continue
        out += rest[:at + 1]
        rest = rest[at + 1:]
    # The suite's own lines: after the last intact case line of debugfs.
    tail = [line for line in rest if line.startswith('#') or TOP_RESULT.match(line)]
    return out + tail


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


def c_code(text):
    """@text without comments and with string literals emptied."""
    text = re.sub(r'/\*.*?\*/|//[^\n]*', ' ', text, flags=re.S)
    return re.sub(r'"(?:\\.|[^"\\])*"', '""', text)


def initializer(code, name):
    """The elements of the brace initializer of array @name, or None."""
    m = re.search(r'\b' + re.escape(name) + r'\s*\[\s*\w*\s*\]\s*=\s*\{', code)
    if not m:
        return None
    depth, elems, cur = 0, [], ''
    for ch in code[m.end():]:
        if ch == '}' and depth == 0:
            break
        if ch in '{(':
            depth += 1
        elif ch in '})':
            depth -= 1
        if ch == ',' and depth == 0:
            elems.append(cur.strip())
            cur = ''
        else:
            cur += ch
    elems.append(cur.strip())
    return [e for e in elems if e]


def expected_cases(srcdir):
    """suite -> {case: number of results (1, or the rows of its table)}."""
    code = ''
    for f in sorted(os.listdir(srcdir)):
        if f.endswith('.c'):
            with open(os.path.join(srcdir, f)) as fh:
                code += c_code(fh.read()) + '\n'
    params = {m.group(1) + '_gen_params': m.group(2) for m in
              re.finditer(r'KUNIT_ARRAY_PARAM\(\s*(\w+)\s*,\s*(\w+)\s*,', code)}
    suites = {}
    for reg in re.finditer(r'\bkunit_test_suites?\s*\(([^;]*)\)\s*;', code):
        for var in re.findall(r'\w+', reg.group(1)):
            m = re.search(r'struct\s+kunit_suite\s+' + var + r'\s*=\s*\{(.*?)\};', code, re.S)
            if not m:
                raise ValueError(f'suite {var}: definition not found')
            cases_var = re.search(r'\.test_cases\s*=\s*(\w+)', m.group(1))
            if not cases_var:
                raise ValueError(f'suite {var}: no .test_cases')
            suites[var] = cases_var.group(1)
    # The names are string literals, emptied in @code: read them raw.
    raw = ''
    for f in sorted(os.listdir(srcdir)):
        if f.endswith('.c'):
            with open(os.path.join(srcdir, f)) as fh:
                raw += re.sub(r'/\*.*?\*/|//[^\n]*', ' ', fh.read(), flags=re.S) + '\n'
    out = {}
    for var, cases_var in suites.items():
        m = re.search(r'struct\s+kunit_suite\s+' + var + r'\s*=\s*\{[^}]*?\.name\s*=\s*"([^"]+)"', raw, re.S)
        if not m:
            raise ValueError(f'suite {var}: .name is not a string literal')
        cases = {}
        for entry in initializer(code, cases_var) or []:
            if entry == '{}':
                continue
            c = re.fullmatch(r'KUNIT_CASE\(\s*(\w+)\s*\)', entry)
            cp = re.fullmatch(r'KUNIT_CASE_PARAM\(\s*(\w+)\s*,\s*(\w+)\s*\)', entry)
            if c:
                cases[c.group(1)] = 1
            elif cp:
                table = params.get(cp.group(2))
                rows = initializer(code, table) if table else None
                if not rows:
                    raise ValueError(f'{m.group(1)}.{cp.group(1)}: {cp.group(2)} is not '
                                     'a KUNIT_ARRAY_PARAM table these sources define')
                cases[cp.group(1)] = len(rows)
            else:
                raise ValueError(f'{cases_var}: cannot count "{entry}"')
        if not cases:
            raise ValueError(f'{cases_var}: no cases found')
        out[m.group(1)] = cases
    if not out:
        raise ValueError(f'no suite registered in {srcdir}/*.c')
    return out


def check_expected(srcdir, results):
    """The --expect mode; see the top of the file."""
    try:
        want = expected_cases(srcdir)
    except (OSError, ValueError) as e:
        print(f'kunit-results: expected cases from {srcdir}: {e}')
        return 1
    got = {}
    with open(results) as f:
        for line in f:
            path = line.rstrip('\n').split('\t', 1)[-1].split('.')
            if len(path) >= 2:
                key = (path[0], path[1])
                got[key] = got.get(key, 0) + 1
    bad = []
    for suite, cases in want.items():
        for case, n in cases.items():
            have = got.pop((suite, case), 0)
            if have != n:
                bad.append(f'{suite}.{case}: {have} result(s), expected {n}')
    bad += [f'{s}.{c}: {n} result(s), not declared in {srcdir}' for (s, c), n in got.items()]
    for line in bad:
        print(line)
    nwant = sum(sum(c.values()) for c in want.values())
    ncases = sum(len(c) for c in want.values())
    print(f'kunit: {ncases} cases in {len(want)} suites declared, {nwant} results expected'
          + (', all reported' if not bad else f'; {len(bad)} case(s) differ'))
    return 1 if bad else 0


def main():
    if len(sys.argv) == 4 and sys.argv[1] == '--expect':
        return check_expected(sys.argv[2], sys.argv[3])
    log, prefix = sys.argv[1], os.path.abspath(sys.argv[2])
    with open(log, errors='backslashreplace') as f:
        lines = f.read().splitlines()
    debugfs = prefixed(lines, 'AFX-KTAP:')
    klog = [TS.sub('', line) for line in prefixed(lines, 'AFX-KLOG:')]

    docs = split_docs(debugfs)
    if not docs:
        print('kunit-results: no KUnit results in the guest log', file=sys.stderr)
        return 1
    ksuites = klog_suites(klog)
    ktap = merge([repair(doc, ksuites) for doc in docs])
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
