/* SPDX-License-Identifier: Apache-2.0 */
/*
 * policy/rules: defaults, the sample policy in deploy/, office hours with holidays and
 * next opening (injected local time), Sie/Du texts and language fallback, official
 * contacts normalisation, retention classes, and precise errors for bad files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rules.h"

static rules *parse_ok(const char *json)
{
    rules *r = NULL;
    char err[256] = "";
    int rc = rules_parse(json, strlen(json), &r, err, sizeof err);
    if (rc != RULES_OK)
        fail_msg("unexpected parse error: %s", err);
    return r;
}

static void expect_error(const char *json, const char *needle)
{
    rules *r = (rules *)1;
    char err[256] = "";
    assert_true(rules_parse(json, strlen(json), &r, err, sizeof err) < 0);
    assert_null(r);
    if (!strstr(err, needle))
        fail_msg("error '%s' lacks '%s'", err, needle);
}

static struct tm local(int y, int mo, int d, int wday, int h, int mi)
{
    struct tm t = {0};
    t.tm_year = y - 1900;
    t.tm_mon = mo - 1;
    t.tm_mday = d;
    t.tm_wday = wday;
    t.tm_hour = h;
    t.tm_min = mi;
    return t;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    b[n] = 0;
    *len = (size_t)n;
    return b;
}

static void test_defaults(void **state)
{
    rules *r = parse_ok("{}");
    assert_string_equal(rules_address_form(r), "Sie");
    assert_string_equal(rules_timezone(r), "Europe/Berlin");
    assert_string_equal(rules_version_label(r), "builtin");
    assert_int_equal(strlen(rules_version_hash(r)), 64);
    assert_int_equal(rules_emergency_count(r), 2);
    assert_string_equal(rules_emergency_number(r, 0), "112");
    long days;
    assert_true(rules_retention_days(r, "general", &days));
    assert_int_equal(days, 365);
    assert_false(rules_retention_days(r, "nope", &days));
    assert_string_equal(rules_retention_default(r, "whatsapp"), "general");
    rules_free(r);
}

static void test_sample_policy_office_hours(void **state)
{
    size_t len;
    char *json = read_file(GW_TEST_DATA "/../deploy/policy.json", &len);
    rules *r = NULL;
    char err[256];
    assert_int_equal(rules_parse(json, len, &r, err, sizeof err), RULES_OK);
    bool open, has_next;
    struct tm next;

    /* Monday 2026-11-23 10:00: open. 12:45: lunch break, opens 13:30 the same day. */
    struct tm t = local(2026, 11, 23, 1, 10, 0);
    rules_office_state(r, &t, &open, &next, &has_next);
    assert_true(open);
    t = local(2026, 11, 23, 1, 12, 45);
    rules_office_state(r, &t, &open, &next, &has_next);
    assert_false(open);
    assert_true(has_next);
    assert_int_equal(next.tm_mday, 23);
    assert_int_equal(next.tm_hour, 13);
    assert_int_equal(next.tm_min, 30);

    /* Friday 14:00 is closing time: next opening Monday 08:00. */
    t = local(2026, 11, 27, 5, 14, 0);
    rules_office_state(r, &t, &open, &next, &has_next);
    assert_false(open);
    assert_int_equal(next.tm_mday, 30);
    assert_int_equal(next.tm_wday, 1);
    assert_int_equal(next.tm_hour, 8);

    /* Wednesday 2026-12-23 evening: 24th, 25th (Fri) are holidays, weekend, so Monday 28th;
     * crossing into the new year: 31st and 1st are holidays too. */
    t = local(2026, 12, 23, 3, 18, 0);
    rules_office_state(r, &t, &open, &next, &has_next);
    assert_int_equal(next.tm_mon, 11);
    assert_int_equal(next.tm_mday, 28);
    t = local(2026, 12, 30, 3, 18, 0);
    rules_office_state(r, &t, &open, &next, &has_next);
    assert_int_equal(next.tm_year, 127);
    assert_int_equal(next.tm_mon, 0);
    assert_int_equal(next.tm_mday, 4);
    /* On a holiday during office hours the clinic is closed. */
    t = local(2026, 12, 24, 4, 10, 0);
    rules_office_state(r, &t, &open, &next, &has_next);
    assert_false(open);

    assert_true(rules_is_official_contact(r, "030 1234567", 11));
    assert_true(rules_is_official_contact(r, "0049-30-123 4567", 16));
    assert_true(rules_is_official_contact(r, "INFO@demo-clinic.example", 24));
    assert_true(rules_is_official_contact(r, "facebook.com/reha-sonnenhof/", 28));
    assert_false(rules_is_official_contact(r, "0171 5551234", 12));
    assert_false(rules_is_official_contact(r, "anna.private@gmail.com", 22));
    rules_free(r);
    free(json);
}

static void test_no_opening_at_all(void **state)
{
    rules *r = parse_ok("{\"office_hours\":{\"mon\":[],\"tue\":[],\"wed\":[],\"thu\":[],\"fri\":[]}}");
    struct tm t = local(2026, 11, 23, 1, 10, 0), next;
    bool open, has_next = true;
    rules_office_state(r, &t, &open, &next, &has_next);
    assert_false(open);
    assert_false(has_next);
    rules_free(r);
}

static void test_texts_forms_and_languages(void **state)
{
    rules *r = parse_ok("{\"address_form\":\"Du\",\"texts\":{\"secure_channel\":{\"de\":{\"Sie\":\"S\",\"Du\":\"D\"},\"pl\":\"P\"}}}");
    assert_string_equal(rules_address_form(r), "Du");
    assert_string_equal(rules_text(r, RULES_TEXT_SECURE_CHANNEL, "de"), "D");
    assert_string_equal(rules_text(r, RULES_TEXT_SECURE_CHANNEL, "pl"), "P");
    /* hu not given in the file: the built-in Hungarian default stays. */
    assert_non_null(strstr(rules_text(r, RULES_TEXT_SECURE_CHANNEL, "hu"), "biztonságos"));
    /* Unknown language: English. */
    assert_non_null(strstr(rules_text(r, RULES_TEXT_CLOSED_REPLY, "fr"), "Thank you"));
    /* Built-in German Du form. */
    assert_non_null(strstr(rules_text(r, RULES_TEXT_CLOSED_REPLY, "de"), "deine"));
    rules_free(r);
    r = parse_ok("{}");
    assert_non_null(strstr(rules_text(r, RULES_TEXT_CLOSED_REPLY, "de"), "Ihre"));
    rules_free(r);
}

static void test_errors_name_the_path(void **state)
{
    expect_error("{", "line 1");
    expect_error("[]", "top");
    expect_error("{\"office_hours\":{\"mon\":[\"08:00-07:00\"]}}", "office_hours.mon[0]");
    expect_error("{\"office_hours\":{\"funday\":[]}}", "office_hours.funday");
    expect_error("{\"adress_form\":\"Sie\"}", "adress_form: unknown key");
    expect_error("{\"address_form\":\"Ihr\"}", "address_form");
    expect_error("{\"holidays\":[\"24.12.2026\"]}", "holidays[0]");
    expect_error("{\"texts\":{\"closed_reply\":{\"fr\":\"x\"}}}", "texts.closed_reply.fr");
    expect_error("{\"retention\":{\"classes\":{\"short\":30}}}", "class 'general' is not defined");
    expect_error("{\"retention\":{\"classes\":{\"general\":-1}}}", "retention.classes.general");
    expect_error("{\"first_reply_minutes\":0}", "first_reply_minutes");
    expect_error("{\"version\":\"a\",\"version\":\"b\"}", "duplicate");
}

static void test_hash_changes_with_content(void **state)
{
    rules *a = parse_ok("{\"first_reply_minutes\":10}");
    rules *b = parse_ok("{\"first_reply_minutes\":11}");
    assert_string_not_equal(rules_version_hash(a), rules_version_hash(b));
    assert_int_equal(rules_first_reply_minutes(a), 10);
    rules_free(a);
    rules_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_sample_policy_office_hours),
        cmocka_unit_test(test_no_opening_at_all),
        cmocka_unit_test(test_texts_forms_and_languages),
        cmocka_unit_test(test_errors_name_the_path),
        cmocka_unit_test(test_hash_changes_with_content),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
