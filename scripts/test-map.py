#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Check the contract-to-tests map, Documentation/afx-tests.rst.

Every test it names must exist in the sources: ``program: name`` a
kselftest-harness test of selftests/program.c (name is
fixture[.variant].test as the harness reports it, TEST()s under the
fixture "global"), ``selftests/x.sh`` a shell test. Exits 1 when one does
not, naming it, and when a section of the map is not a heading of
Documentation/afx.rst or afx-introspection.rst. Also lists the harness
tests no section names, and the sections that name none (both only for
information).

The tests are found by reading the sources, not by running them:
TEST(), TEST_SIGNAL(), TEST_F(), TEST_F_TIMEOUT(), TEST_F_SIGNAL() and
the FIXTURE_VARIANT_ADD()s of the program and of the afx_fixture_*.h
headers it includes.

Usage: scripts/test-map.py [MAP]   (run from the repository, or anywhere)
"""
import os
import re
import sys

TOP = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
SELFTESTS = os.path.join(TOP, 'selftests')

TEST_RE = re.compile(r'^TEST(?:_SIGNAL)?\(\s*(\w+)', re.M)
TEST_F_RE = re.compile(r'^TEST_F(?:_TIMEOUT|_SIGNAL)?\(\s*(\w+)\s*,\s*(\w+)', re.M)
VARIANT_RE = re.compile(r'^FIXTURE_VARIANT_ADD\(\s*(\w+)\s*,\s*(\w+)\s*\)', re.M)
INCLUDE_RE = re.compile(r'^#include\s+"([^"]+)"', re.M)
ENTRY_RE = re.compile(r'``(afx_\w+|[\w-]+_test): ([\w.]+)``|``(selftests/[\w.-]+\.sh)``')


def strip_comments(text):
    return re.sub(r'/\*.*?\*/', '', text, flags=re.S)


def harness_tests(path):
    """The harness names of the tests in one program's source."""
    text = strip_comments(open(path).read())
    variants = {}
    sources = [text]
    for inc in INCLUDE_RE.findall(text):
        for d in (SELFTESTS, os.path.join(SELFTESTS, 'lib')):
            p = os.path.join(d, inc)
            if os.path.isfile(p):
                sources.append(strip_comments(open(p).read()))
                break
    for src in sources:
        for f, v in VARIANT_RE.findall(src):
            variants.setdefault(f, []).append(v)
    names = set()
    for t in TEST_RE.findall(text):
        names.add('global.' + t)
    for f, t in TEST_F_RE.findall(text):
        for v in variants.get(f, [None]):
            names.add('%s.%s%s' % (f, v + '.' if v else '', t))
    return names


def main():
    mapfile = sys.argv[1] if len(sys.argv) > 1 else \
        os.path.join(TOP, 'Documentation', 'afx-tests.rst')
    tests = {}
    for fn in sorted(os.listdir(SELFTESTS)):
        if fn.endswith('_test.c'):
            prog = fn[:-2]
            for n in harness_tests(os.path.join(SELFTESTS, fn)):
                tests[prog + ': ' + n] = False

    # The headings of the contract, to check the map's sections against.
    headings = set()
    for doc in ('afx.rst', 'afx-introspection.rst'):
        dl = open(os.path.join(TOP, 'Documentation', doc)).read().split('\n')
        for i in range(1, len(dl)):
            if re.match(r'^([=\-~^"])\1{2,}$', dl[i]) and dl[i - 1].strip() \
                    and len(dl[i]) >= len(dl[i - 1].strip()):
                headings.add(dl[i - 1].strip())

    missing = []
    section, empty, named = None, [], 0
    lines = open(mapfile).read().split('\n')
    for i, line in enumerate(lines):
        if re.match(r'^-{3,}$', line) and i and lines[i - 1].strip():
            if section is not None and named == 0:
                empty.append(section)
            section, named = lines[i - 1].strip(), 0
            if section not in headings:
                missing.append((i, 'no such section in afx.rst or '
                                'afx-introspection.rst: %s' % section))
            continue
        for m in ENTRY_RE.finditer(line):
            named += 1
            if m.group(3):
                if not os.path.isfile(os.path.join(TOP, m.group(3))):
                    missing.append((i + 1, 'no such test: ' + m.group(3)))
                continue
            name = '%s: %s' % (m.group(1), m.group(2))
            if name in tests:
                tests[name] = True
            else:
                missing.append((i + 1, 'no such test: ' + name))
    if section is not None and named == 0:
        empty.append(section)

    unmapped = [t for t, seen in sorted(tests.items()) if not seen]
    print('%s: %d tests in the sources, %d named in the map' %
          (os.path.relpath(mapfile, TOP), len(tests), len(tests) - len(unmapped)))
    for t in unmapped:
        print('  not in any section (add it): %s' % t)
    for s in empty:
        print('  section without tests: %s' % s)
    for ln, name in missing:
        print('%s:%d: %s' % (os.path.relpath(mapfile, TOP), ln, name))
    if missing:
        print('FAIL: %d test(s) or section(s) named in the map do not exist' %
              len(missing))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
