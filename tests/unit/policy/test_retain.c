/* SPDX-License-Identifier: Apache-2.0 */
/* policy/retain with an injected clock: periods per class, legal hold, open and unknown classes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "retain.h"

static rules *policy(void)
{
    static const char j[] = "{\"retention\":{\"classes\":{\"general\":365,\"appointment\":90,\"now\":0}}}";
    rules *r = NULL;
    char err[128];
    assert_int_equal(rules_parse(j, sizeof j - 1, &r, err, sizeof err), RULES_OK);
    return r;
}

static void test_periods(void **state)
{
    rules *r = policy();
    const int64_t day = 86400, closed = 1700000000;
    retain_conv c = {.closed_at = closed, .cls = "appointment"};
    int64_t due = 0;
    assert_int_equal(retain_decide(r, &c, closed + 89 * day, &due), RETAIN_KEEP_PERIOD);
    assert_int_equal(due, closed + 90 * day);
    assert_int_equal(retain_decide(r, &c, closed + 90 * day, &due), RETAIN_DUE);
    c.cls = "general";
    assert_int_equal(retain_decide(r, &c, closed + 90 * day, NULL), RETAIN_KEEP_PERIOD);
    assert_int_equal(retain_decide(r, &c, closed + 365 * day, NULL), RETAIN_DUE);
    c.cls = "now";
    assert_int_equal(retain_decide(r, &c, closed, NULL), RETAIN_DUE);
    rules_free(r);
}

static void test_hold_open_unknown(void **state)
{
    rules *r = policy();
    retain_conv c = {.closed_at = 1, .cls = "general", .legal_hold = true};
    assert_int_equal(retain_decide(r, &c, INT64_MAX / 2, NULL), RETAIN_KEEP_HOLD);
    c.legal_hold = false;
    c.closed_at = 0;
    assert_int_equal(retain_decide(r, &c, INT64_MAX / 2, NULL), RETAIN_KEEP_OPEN);
    c.closed_at = 1;
    c.cls = "documentation"; /* not in this policy: never deleted early */
    assert_int_equal(retain_decide(r, &c, INT64_MAX / 2, NULL), RETAIN_KEEP_UNKNOWN_CLASS);
    assert_string_equal(retain_verdict_name(RETAIN_KEEP_HOLD), "legal_hold");
    assert_string_equal(retain_verdict_name(RETAIN_DUE), "due");
    rules_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_periods),
        cmocka_unit_test(test_hold_open_unknown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
