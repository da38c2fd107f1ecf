/* SPDX-License-Identifier: GPL-2.0 */
/*
 * afx_harness.h - what every AF_X selftest program includes: the kselftest
 * harness (kselftest_harness.h from linux-source-6.1, never copied here),
 * the library (afx_lib.h), the skip for "afx.ko is not loaded" and
 * AFX_TEST_MAIN, the main() that can list the tests and run some of them:
 *
 *   prog -l             list the tests, fixture[.variant].test, one a line
 *   prog -r NAME        run the test(s) whose name is NAME or ends in .NAME
 *                       (so "pair.msg_peek_does_not_consume" or just
 *                       "msg_peek_does_not_consume"); may be repeated
 *   prog -f FIXTURE     run the tests of fixture FIXTURE (TEST()s: global)
 *
 * The 6.1 harness has no such options of its own (newer ones have -l,
 * -t, -r, -f with the same meaning). Selecting from several variants of
 * a fixture runs the selected tests in every selected variant.
 */
#ifndef AFX_HARNESS_H
#define AFX_HARNESS_H

#include "afx_lib.h"

/* The 6.1 harness and its macros trip these -Wextra warnings by themselves. */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wmisleading-indentation"

#include "kselftest_harness.h"

/* Skip the test when socket() said AF_X is not there (afx.ko not loaded). */
#define AFX_SKIP_IF_NO_AFX(fd)						\
	do {								\
		if ((fd) < 0 && errno == EAFNOSUPPORT)			\
			SKIP(return,					\
			     "AF_X (family %d) not available: is afx.ko loaded?", \
			     afx_family());				\
	} while (0)

/* Is fixture f, variant v, test t selected by the -r/-f words? */
static inline int afx__selected(const char *f, const char *v, const char *t,
				char **names, int nnames, char **fixtures,
				int nfixtures)
{
	char full[512];
	size_t len, nl;
	int i;

	if (!nnames && !nfixtures)
		return 1;
	snprintf(full, sizeof(full), "%s%s%s.%s", f, v[0] ? "." : "", v, t);
	len = strlen(full);
	for (i = 0; i < nfixtures; i++)
		if (!strcmp(fixtures[i], f))
			return 1;
	for (i = 0; i < nnames; i++) {
		nl = strlen(names[i]);
		if (!strcmp(names[i], full))
			return 1;
		if (nl < len && full[len - nl - 1] == '.' &&
		    !strcmp(full + len - nl, names[i]))
			return 1;
	}
	return 0;
}

/*
 * Parse -l/-r/-f, then keep in the harness's lists only what is selected
 * (or print the names for -l). Returns -1 to exit with status 0 (after
 * -l), -2 on a usage error, else 0.
 */
static inline int afx__select_tests(int argc, char **argv)
{
	struct __fixture_variant_metadata no_variant = { .name = "", };
	struct __fixture_variant_metadata *v, *vnext, *vhead, *vtail;
	struct __test_metadata *t, *tnext, *thead, *ttail;
	struct __fixture_metadata *f;
	char **names, **fixtures;
	int list = 0, nnames = 0, nfixtures = 0, opt, keep;

	names = calloc(argc + 1, sizeof(*names));
	fixtures = calloc(argc + 1, sizeof(*fixtures));
	if (!names || !fixtures)
		return -2;
	while ((opt = getopt(argc, argv, "lr:t:f:h")) != -1) {
		switch (opt) {
		case 'l':
			list = 1;
			break;
		case 'r':
		case 't':
			names[nnames++] = optarg;
			break;
		case 'f':
			fixtures[nfixtures++] = optarg;
			break;
		default:
			fprintf(stderr,
				"usage: %s [-l] [-r fixture[.variant].test | -r test]... [-f fixture]...\n",
				argv[0]);
			return -2;
		}
	}
	for (f = __fixture_list; f; f = f->next) {
		if (list) {
			for (v = f->variant ?: &no_variant; v; v = v->next)
				for (t = f->tests; t; t = t->next)
					printf("%s%s%s.%s\n", f->name,
					       v->name[0] ? "." : "", v->name,
					       t->name);
			continue;
		}
		/* keep the tests selected in some variant */
		thead = ttail = NULL;
		for (t = f->tests; t; t = tnext) {
			tnext = t->next;
			keep = 0;
			for (v = f->variant ?: &no_variant; v && !keep;
			     v = v->next)
				keep = afx__selected(f->name, v->name, t->name,
						     names, nnames, fixtures,
						     nfixtures);
			if (!keep)
				continue;
			t->next = NULL;
			if (ttail)
				ttail->next = t;
			else
				thead = t;
			t->prev = ttail ? ttail : t;
			ttail = t;
		}
		if (thead)
			thead->prev = ttail;
		f->tests = thead;
		if (!f->variant)
			continue;
		/* and the variants in which some test is selected */
		vhead = vtail = NULL;
		for (v = f->variant; v; v = vnext) {
			vnext = v->next;
			keep = 0;
			for (t = f->tests; t && !keep; t = t->next)
				keep = afx__selected(f->name, v->name, t->name,
						     names, nnames, fixtures,
						     nfixtures);
			if (!keep)
				continue;
			v->next = NULL;
			if (vtail)
				vtail->next = v;
			else
				vhead = v;
			v->prev = vtail ? vtail : v;
			vtail = v;
		}
		if (vhead)
			vhead->prev = vtail;
		f->variant = vhead;
		if (!vhead)
			f->tests = NULL;
	}
	free(names);
	free(fixtures);
	return list ? -1 : 0;
}

/*
 * Instead of TEST_HARNESS_MAIN: main() with -l, -r and -f. The marker
 * string tells scripts/guest/check.sh that the program takes -l (a 6.1
 * harness main() would ignore it and run every test).
 */
#define AFX_TEST_MAIN_MARKER	"AFX_TEST_MAIN: -l -r -f"
#define AFX_TEST_MAIN							\
	const char afx_test_main_marker[] __attribute__((used)) =	\
		AFX_TEST_MAIN_MARKER;					\
	int main(int argc, char **argv)					\
	{								\
		int r = afx__select_tests(argc, argv);			\
									\
		if (r == -1)						\
			return 0;					\
		if (r < 0)						\
			return 2;					\
		return test_harness_run(argc, argv);			\
	}

#endif /* AFX_HARNESS_H */
