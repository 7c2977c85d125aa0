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

/* ---- decisions (issue 6) ---------------------------------------------------------------- */

static void test_decisions_defaults(void **state)
{
    (void)state;
    /* absent section == built-in behaviour == decide_settings_default */
    rules *r = parse_ok("{}");
    decide_settings d;
    decide_settings_default(&d);
    assert_memory_equal(rules_decisions(r), &d, sizeof d);
    for (int c = DECIDE_CH_WHATSAPP; c <= DECIDE_CH_INSTAGRAM; c++) {
        assert_int_equal(d.outbound_health[c], DECIDE_BLOCK);
        assert_true(d.health_override[c]);
        assert_int_equal(d.outbound_identifiers[c], DECIDE_NEEDS_CONFIRMATION);
        assert_true(d.suggest_secure[c]);
    }
    assert_int_equal(d.outbound_health[DECIDE_CH_WEB], DECIDE_ALLOW);
    assert_false(d.suggest_secure[DECIDE_CH_WEB]);
    assert_true(rules_may_override(r, "agent"));
    assert_true(rules_may_override(r, "admin"));
    assert_false(rules_may_override(r, "dpo"));
    assert_false(rules_may_override(r, NULL));
    assert_int_equal(rules_suggest_secure_every_s(r), 24 * 3600);
    rules_free(r);
    /* an empty section and the sample policy's written-out defaults are the same */
    r = parse_ok("{\"decisions\":{}}");
    assert_memory_equal(rules_decisions(r), &d, sizeof d);
    rules_free(r);
    size_t len = 0;
    char *json = read_file(GW_TEST_DATA "/../deploy/policy.json", &len);
    char err[256] = "";
    assert_int_equal(rules_parse(json, len, &r, err, sizeof err), RULES_OK);
    assert_memory_equal(rules_decisions(r), &d, sizeof d);
    assert_int_equal(rules_suggest_secure_every_s(r), 24 * 3600);
    assert_true(rules_may_override(r, "agent"));
    rules_free(r);
    free(json);
}

static void test_decisions_each_value(void **state)
{
    (void)state;
    static const struct {
        const char *v;
        decide_action a;
    } health[] = {{"block", DECIDE_BLOCK},
                  {"needs_confirmation", DECIDE_NEEDS_CONFIRMATION},
                  {"redact", DECIDE_REDACT}};
    static const char *const ch[] = {"whatsapp", "messenger", "instagram"};
    for (size_t c = 0; c < 3; c++)
        for (size_t i = 0; i < 3; i++) {
            char js[512];
            snprintf(js, sizeof js,
                     "{\"decisions\":{\"outbound\":{\"%s\":{\"health\":\"%s\",\"identifiers\":"
                     "\"%s\",\"health_override\":false}},\"inbound\":{\"%s\":"
                     "{\"suggest_secure_chat\":false}}}}",
                     ch[c], health[i].v, health[i].v, ch[c]);
            rules *r = parse_ok(js);
            const decide_settings *d = rules_decisions(r);
            int idx = (int)c + 1; /* decide_channel: web first */
            assert_int_equal(d->outbound_health[idx], health[i].a);
            assert_int_equal(d->outbound_identifiers[idx], health[i].a);
            assert_false(d->health_override[idx]);
            assert_false(d->suggest_secure[idx]);
            /* the other platforms keep their defaults */
            int other = idx == 1 ? 2 : 1;
            assert_int_equal(d->outbound_health[other], DECIDE_BLOCK);
            assert_true(d->suggest_secure[other]);
            rules_free(r);
        }
    rules *r = parse_ok("{\"decisions\":{\"override_roles\":[\"admin\"],"
                        "\"suggest_secure_chat_every_hours\":1,\"unofficial_contacts\":\"block\","
                        "\"previews\":\"redact\",\"notifications\":\"redact\",\"logs\":\"redact\","
                        "\"analytics\":\"redact\"}}");
    assert_false(rules_may_override(r, "agent"));
    assert_true(rules_may_override(r, "admin"));
    assert_int_equal(rules_suggest_secure_every_s(r), 3600);
    rules_free(r);
    r = parse_ok("{\"decisions\":{\"override_roles\":[]}}");
    assert_false(rules_may_override(r, "agent"));
    assert_false(rules_may_override(r, "admin"));
    rules_free(r);
    /* a changed decision is a new policy version (the config.loaded audit record) */
    rules *a = parse_ok("{\"decisions\":{\"outbound\":{\"whatsapp\":{\"health\":\"block\"}}}}");
    rules *b = parse_ok("{\"decisions\":{\"outbound\":{\"whatsapp\":{\"health\":\"redact\"}}}}");
    assert_string_not_equal(rules_version_hash(a), rules_version_hash(b));
    rules_free(a);
    rules_free(b);
}

static void test_decisions_privacy_floor_refused(void **state)
{
    (void)state;
    /* health data unredacted to a platform */
    for (const char *const *c = (const char *const[]){"whatsapp", "messenger", "instagram", NULL};
         *c; c++) {
        char js[256], path[96];
        snprintf(js, sizeof js, "{\"decisions\":{\"outbound\":{\"%s\":{\"health\":\"allow\"}}}}",
                 *c);
        snprintf(path, sizeof path, "decisions.outbound.%s.health: \"allow\" would send health "
                                    "data unredacted", *c);
        expect_error(js, path);
        expect_error(js, "privacy floor");
    }
    /* previews, notifications, logs, analytics are never unredacted */
    static const char *const sinks[] = {"previews", "notifications", "logs", "analytics"};
    for (size_t i = 0; i < 4; i++) {
        char js[128], path[96];
        snprintf(js, sizeof js, "{\"decisions\":{\"%s\":\"allow\"}}", sinks[i]);
        snprintf(path, sizeof path, "decisions.%s: only \"redact\" is allowed", sinks[i]);
        expect_error(js, path);
        expect_error(js, "privacy floor");
        snprintf(js, sizeof js, "{\"decisions\":{\"%s\":false}}", sinks[i]);
        expect_error(js, path);
    }
    /* unofficial contacts stay blocked (DLP) */
    for (const char *const *v =
             (const char *const[]){"\"allow\"", "\"redact\"", "\"needs_confirmation\"", "null", NULL};
         *v; v++) {
        char js[128];
        snprintf(js, sizeof js, "{\"decisions\":{\"unofficial_contacts\":%s}}", *v);
        expect_error(js, "decisions.unofficial_contacts: only \"block\" is allowed: contact details");
    }
    /* the web chat's decisions are fixed; the DPO cannot confirm */
    expect_error("{\"decisions\":{\"outbound\":{\"web\":{\"health\":\"block\"}}}}",
                 "decisions.outbound.web: the web chat is the clinic's secure channel");
    expect_error("{\"decisions\":{\"inbound\":{\"web\":{\"suggest_secure_chat\":true}}}}",
                 "decisions.inbound.web");
    expect_error("{\"decisions\":{\"override_roles\":[\"agent\",\"dpo\"]}}",
                 "decisions.override_roles[1]: the DPO role cannot write messages");
    /* identifiers: allow is not offered */
    expect_error("{\"decisions\":{\"outbound\":{\"instagram\":{\"identifiers\":\"allow\"}}}}",
                 "decisions.outbound.instagram.identifiers: \"allow\" is not offered");
}

static void test_decisions_bad_values_name_the_key(void **state)
{
    (void)state;
    expect_error("{\"decisions\":[]}", "decisions: expected an object");
    expect_error("{\"decisions\":{\"outbnd\":{}}}", "decisions.outbnd: unknown key");
    expect_error("{\"decisions\":{\"outbound\":{\"telegram\":{}}}}",
                 "decisions.outbound.telegram: unknown channel");
    expect_error("{\"decisions\":{\"outbound\":{\"whatsapp\":\"block\"}}}",
                 "decisions.outbound.whatsapp: expected an object");
    expect_error("{\"decisions\":{\"outbound\":{\"whatsapp\":{\"health\":\"Block\"}}}}",
                 "decisions.outbound.whatsapp.health: expected \"block\", \"needs_confirmation\" or \"redact\"");
    expect_error("{\"decisions\":{\"outbound\":{\"messenger\":{\"health\":1}}}}",
                 "decisions.outbound.messenger.health: expected");
    expect_error("{\"decisions\":{\"outbound\":{\"whatsapp\":{\"healt\":\"block\"}}}}",
                 "decisions.outbound.whatsapp.healt: unknown key");
    expect_error("{\"decisions\":{\"outbound\":{\"whatsapp\":{\"health_override\":\"yes\"}}}}",
                 "decisions.outbound.whatsapp.health_override: expected true or false");
    expect_error("{\"decisions\":{\"inbound\":{\"whatsapp\":{\"suggest_secure_chat\":1}}}}",
                 "decisions.inbound.whatsapp.suggest_secure_chat: expected true or false");
    expect_error("{\"decisions\":{\"inbound\":{\"whatsapp\":{\"action\":\"block\"}}}}",
                 "decisions.inbound.whatsapp.action: unknown key");
    expect_error("{\"decisions\":{\"override_roles\":\"admin\"}}",
                 "decisions.override_roles: expected a list");
    expect_error("{\"decisions\":{\"override_roles\":[\"boss\"]}}",
                 "decisions.override_roles[0]: expected");
    expect_error("{\"decisions\":{\"suggest_secure_chat_every_hours\":0}}",
                 "decisions.suggest_secure_chat_every_hours: expected an integer from 1 to 8760");
    expect_error("{\"decisions\":{\"suggest_secure_chat_every_hours\":8761}}",
                 "decisions.suggest_secure_chat_every_hours");
    expect_error("{\"decisions\":{\"suggest_secure_chat_every_hours\":\"24\"}}",
                 "decisions.suggest_secure_chat_every_hours");
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
        cmocka_unit_test(test_decisions_defaults),
        cmocka_unit_test(test_decisions_each_value),
        cmocka_unit_test(test_decisions_privacy_floor_refused),
        cmocka_unit_test(test_decisions_bad_values_name_the_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
