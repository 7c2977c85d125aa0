/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of policy/redact_dlp: outbound staff messages with private phone
 * numbers, e-mail addresses, messenger handles and profile links are flagged;
 * the clinic's official contacts, in any spelling, are not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "redact.h"
#include "redact_dlp.h"

#include <string.h>

static const char *const official[] = {"+49 30 1234567", "praxis@example.de",
                                       "https://www.instagram.com/praxis_example/",
                                       "@praxis_example"};

static size_t dlp(const char *s, redact_dlp_hit *h, size_t max)
{
    redact_engine *eng = redact_engine_new();
    assert_non_null(eng);
    redact_finding f[64];
    size_t n = 0, nh = 0;
    assert_int_equal(redact_scan(eng, s, strlen(s), REDACT_LANG_DE, f, 64, &n), REDACT_OK);
    assert_int_equal(redact_dlp_scan(s, strlen(s), f, n, official, 4, h, max, &nh), REDACT_OK);
    redact_engine_free(eng);
    return nh;
}

static void test_official_allowed(void **state)
{
    (void)state;
    redact_dlp_hit h[8];
    assert_int_equal(dlp("Rufen Sie uns an: 030 1234567 oder praxis@example.de", h, 8), 0);
    assert_int_equal(dlp("Folgen Sie uns: instagram.com/praxis_example oder @praxis_example", h, 8),
                     0);
    assert_int_equal(dlp("Tel. +49 (0)30 1234567, PRAXIS@example.de", h, 8), 0);
}

static void test_private_blocked(void **state)
{
    (void)state;
    redact_dlp_hit h[8];
    const char *s = "Schreib mir privat: 0171 9876543, anna.privat@gmail.com, @anna_p, "
                    "https://wa.me/491719876543 oder instagram.com/anna.p";
    size_t n = dlp(s, h, 8);
    assert_int_equal(n, 5);
    assert_int_equal(h[0].kind, REDACT_DLP_PHONE);
    assert_int_equal(h[1].kind, REDACT_DLP_EMAIL);
    assert_int_equal(h[2].kind, REDACT_DLP_HANDLE);
    assert_int_equal(h[3].kind, REDACT_DLP_PROFILE_LINK);
    assert_int_equal(h[4].kind, REDACT_DLP_PROFILE_LINK);
    assert_int_equal(strncmp(s + h[2].start, "@anna_p", h[2].end - h[2].start), 0);
    assert_int_equal(strncmp(s + h[4].start, "instagram.com/anna.p", h[4].end - h[4].start), 0);
    for (size_t i = 1; i < n; i++)
        assert_true(h[i - 1].start < h[i].start);
    assert_string_equal(redact_dlp_kind_name(REDACT_DLP_HANDLE), "handle");
}

static void test_nospace_and_inval(void **state)
{
    (void)state;
    redact_dlp_hit h[1];
    size_t n;
    const char *s = "@one @two";
    assert_int_equal(redact_dlp_scan(s, strlen(s), NULL, 0, NULL, 0, h, 1, &n), REDACT_E_NOSPACE);
    assert_int_equal(n, 1);
    assert_int_equal(redact_dlp_scan(NULL, 3, NULL, 0, NULL, 0, h, 1, &n), REDACT_E_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_official_allowed),
        cmocka_unit_test(test_private_blocked),
        cmocka_unit_test(test_nospace_and_inval),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
