/* SPDX-License-Identifier: Apache-2.0 */
/*
 * redact_test.h: what every redaction unit test needs, in one place: the engine as a
 * cmocka group fixture, red() (scan + apply, checking the findings' invariants on every
 * call: non-empty, in bounds, sorted, not overlapping) and small assertion helpers.
 * Include after <cmocka.h>. Each test file is its own program, so the static state here
 * is per test binary.
 */
#ifndef CAREGATE_REDACT_TEST_H
#define CAREGATE_REDACT_TEST_H

#include "redact.h"

#include <string.h>

/* The engine under test; created by redact_test_setup, owned by the group. */
static redact_engine *eng;

static inline int redact_test_setup(void **state)
{
    (void)state;
    eng = redact_engine_new();
    return eng ? 0 : -1;
}

static inline int redact_test_teardown(void **state)
{
    (void)state;
    redact_engine_free(eng);
    eng = NULL;
    return 0;
}

/* Scans s and returns the redacted text in a static buffer (valid until the next call). */
static inline const char *red(const char *s, redact_lang lang)
{
    static char out[4096];
    redact_finding f[256];
    size_t n = 0, olen = 0;
    assert_int_equal(redact_scan(eng, s, strlen(s), lang, f, 256, &n), REDACT_OK);
    for (size_t i = 0; i < n; i++) {
        assert_true(f[i].start < f[i].end);
        assert_true(f[i].end <= strlen(s));
        if (i)
            assert_true(f[i - 1].end <= f[i].start);
    }
    assert_int_equal(redact_apply(s, strlen(s), f, n, out, sizeof out, &olen), REDACT_OK);
    assert_int_equal(olen, strlen(out));
    return out;
}

/* The rule name of the only finding in s. */
static inline const char *rule_of(const char *s, redact_lang lang)
{
    redact_finding f[16];
    size_t n = 0;
    assert_int_equal(redact_scan(eng, s, strlen(s), lang, f, 16, &n), REDACT_OK);
    assert_int_equal(n, 1);
    return redact_rule_name(f[0].rule_id);
}

/* Every text in clean[0..n) comes back unchanged. */
static inline void expect_clean(const char *const *clean, size_t n, redact_lang lang)
{
    for (size_t i = 0; i < n; i++)
        assert_string_equal(red(clean[i], lang), clean[i]);
}

#define N(a) (sizeof a / sizeof a[0])
#define EQ(text, lang, want) assert_string_equal(red(text, REDACT_LANG_##lang), want)
#define CLEAN(text, lang) assert_string_equal(red(text, REDACT_LANG_##lang), text)

#endif
