/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the pure parts of retention and rights: the --now clock parser (RFC 3339
 * with Z or an offset; anything else refused, so a typo cannot move the retention clock),
 * id validation, the export's HTML escaping (patient text is untrusted) and the progress
 * bar's non-terminal output. The decisions themselves are policy/retain (its own tests);
 * the database steps are covered by tests/integration/retention.test.mjs.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gw_retention.h"
#include "gw_rights.h"

static void test_parse_time(void **state)
{
    (void)state;
    int64_t t = 0;
    assert_int_equal(gw_retention_parse_time("1970-01-01T00:00:00Z", &t), 0);
    assert_int_equal(t, 0);
    assert_int_equal(gw_retention_parse_time("2026-04-02T00:00:00Z", &t), 0);
    assert_int_equal(t, 1775088000);
    assert_int_equal(gw_retention_parse_time("2026-04-02T02:00:00+02:00", &t), 0);
    assert_int_equal(t, 1775088000);
    assert_int_equal(gw_retention_parse_time("2026-04-01T19:00:00.123456-05:00", &t), 0);
    assert_int_equal(t, 1775088000);
    const char *bad[] = {"",
                         "yesterday",
                         "2026-04-02",
                         "2026-04-02T00:00:00",
                         "2026-04-02T00:00:00Zjunk",
                         "2026-04-02 00:00:00Z",
                         "2026-04-02T00:00:00+2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(gw_retention_parse_time(bad[i], &t), -1);
}

static void test_uuid(void **state)
{
    (void)state;
    assert_true(gw_retention_uuid_ok("0b7c6a3e-5a43-4d54-9b8f-2f1d1c0e9a11"));
    assert_true(gw_retention_uuid_ok("0B7C6A3E-5A43-4D54-9B8F-2F1D1C0E9A11"));
    assert_false(gw_retention_uuid_ok(NULL));
    assert_false(gw_retention_uuid_ok("0b7c6a3e5a434d549b8f2f1d1c0e9a11"));
    assert_false(gw_retention_uuid_ok("0b7c6a3e-5a43-4d54-9b8f-2f1d1c0e9a1g"));
    assert_false(gw_retention_uuid_ok("0b7c6a3e-5a43-4d54-9b8f-2f1d1c0e9a11'; DROP"));
}

static void test_html_escape(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    const char in[] = "<script>alert('x')</script> & \"q\" Grüße\0end";
    gw_rights_html_escape(f, in, sizeof in - 1);
    fclose(f);
    assert_string_equal(buf, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot; "
                             "Grüße&#xFFFD;end");
    free(buf);
}

static void test_progress_lines(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    for (long i = 0; i <= 20; i++)
        gw_retention__progress(f, "x", i, 20);
    gw_retention__progress(NULL, "x", 1, 1); /* no stream: nothing, no crash */
    fclose(f);
    /* not a terminal: a line at 0, every 10 % and at the end, never \r */
    assert_null(strchr(buf, '\r'));
    assert_non_null(strstr(buf, "x [..............................] 0/20\n"));
    assert_non_null(strstr(buf, "x [###############...............] 10/20\n"));
    assert_non_null(strstr(buf, "x [##############################] 20/20\n"));
    size_t lines = 0;
    for (char *p = buf; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 11);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_time),
        cmocka_unit_test(test_uuid),
        cmocka_unit_test(test_html_escape),
        cmocka_unit_test(test_progress_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
