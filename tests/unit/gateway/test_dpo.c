/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gateway/gw_dpo: the parts of the DPO audit API that need no socket and no database -
 * routing, parameter validation (what reaches SQL and the audit record), which parameters
 * each endpoint takes, and the retention verdicts added to the report from the policy.
 * The HTTP and database paths run end to end in tests/integration/dpo.test.mjs.
 * Includes the .c for its statics (STYLE.md rule 24); leaks are checked by the ASan lane.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "gw_dpo.c"

static const char CONV[] = "7454d803-2ed4-4241-b0b1-7c0cda4f75dd";

static void routes(void **state)
{
    (void)state;
    endpoint ep = EP_EXPORT;
    char conv[40];
    assert_int_equal(route("events", &ep, conv, sizeof conv), 0);
    assert_int_equal(ep, EP_EVENTS);
    assert_int_equal(route("chain", &ep, conv, sizeof conv), 0);
    assert_int_equal(ep, EP_CHAIN);
    assert_int_equal(route("export", &ep, conv, sizeof conv), 0);
    assert_int_equal(ep, EP_EXPORT);
    assert_int_equal(
        route("conversation/7454D803-2ED4-4241-B0B1-7C0CDA4F75DD", &ep, conv, sizeof conv), 0);
    assert_int_equal(ep, EP_CONVERSATION);
    assert_string_equal(conv, CONV); /* stored ids are lower case */
    assert_int_equal(route("conversation/1234", &ep, conv, sizeof conv), 1);
    assert_int_equal(route("conversation/../../etc", &ep, conv, sizeof conv), 1);
    assert_int_equal(route("", &ep, conv, sizeof conv), -1);
    assert_int_equal(route("events/", &ep, conv, sizeof conv), -1);
    assert_int_equal(route("messages", &ep, conv, sizeof conv), -1);
}

static const char *check1(endpoint ep, int q, const char *v)
{
    dpo_req r;
    memset(&r, 0, sizeof r);
    r.ep = ep;
    r.q[q] = (char *)v;
    return check_params(&r);
}

static void params(void **state)
{
    (void)state;
    assert_null(check1(EP_EVENTS, Q_FROM, "2026-11-23T00:00:00Z"));
    assert_null(check1(EP_EVENTS, Q_TO, "2026-11-23T01:02:03.5+01:00"));
    assert_non_null(check1(EP_EVENTS, Q_FROM, "yesterday"));
    assert_non_null(check1(EP_EVENTS, Q_FROM, "epoch"));
    assert_non_null(check1(EP_EVENTS, Q_FROM, "infinity"));
    assert_non_null(check1(EP_EVENTS, Q_FROM, "2026-11-23'; DROP TABLE x"));
    assert_null(check1(EP_EVENTS, Q_EVENT, "conversation.opened"));
    assert_null(check1(EP_EVENTS, Q_EVENT, "conversation"));
    assert_non_null(check1(EP_EVENTS, Q_EVENT, "Conversation"));
    assert_non_null(check1(EP_EVENTS, Q_EVENT, "a%"));
    assert_null(check1(EP_EVENTS, Q_ACTOR,
                       "staff:"
                       "7454d803-2ed4-4241-b0b1-7c0cda4f75dd"));
    assert_non_null(check1(EP_EVENTS, Q_ACTOR, "a'b"));
    assert_null(check1(EP_EVENTS, Q_CONVERSATION, CONV));
    assert_non_null(check1(EP_EVENTS, Q_CONVERSATION, "123"));
    assert_null(check1(EP_EVENTS, Q_LIMIT, "500"));
    assert_non_null(check1(EP_EVENTS, Q_LIMIT, "501"));
    assert_non_null(check1(EP_EVENTS, Q_LIMIT, "0"));
    assert_non_null(check1(EP_EVENTS, Q_LIMIT, "10x"));
    assert_null(check1(EP_EVENTS, Q_BEFORE, "42"));
    assert_non_null(check1(EP_EVENTS, Q_BEFORE, "-1"));
    assert_null(check1(EP_STATS, Q_BUCKET, "hour"));
    assert_non_null(check1(EP_STATS, Q_BUCKET, "week"));
    assert_null(check1(EP_CHAIN, Q_FULL, "1"));
    assert_non_null(check1(EP_CHAIN, Q_FULL, "yes"));
}

static void params_per_endpoint(void **state)
{
    (void)state;
    /* only what an endpoint reads is kept, so the audit record names only filters used */
    assert_true(param_applies(EP_EVENTS, Q_CONVERSATION));
    assert_false(param_applies(EP_EVENTS, Q_BUCKET));
    assert_true(param_applies(EP_STATS, Q_BUCKET));
    assert_false(param_applies(EP_STATS, Q_ACTOR));
    assert_true(param_applies(EP_EXPORT, Q_TO));
    assert_false(param_applies(EP_EXPORT, Q_EVENT));
    assert_true(param_applies(EP_CHAIN, Q_FULL));
    for (int q = 0; q < Q_N; q++) {
        assert_false(param_applies(EP_CONVERSATION, q));
        assert_false(param_applies(EP_RETENTION, q));
    }
    /* roles: the agent role reads nothing; admin only the operational views */
    for (int e = 0; e <= EP_EXPORT; e++)
        assert_true(EP[e].roles & ROLE_DPO);
    assert_false(EP[EP_EVENTS].roles & ROLE_ADMIN);
    assert_false(EP[EP_CONVERSATION].roles & ROLE_ADMIN);
    assert_false(EP[EP_EXPORT].roles & ROLE_ADMIN);
    assert_true(EP[EP_CHAIN].roles & ROLE_ADMIN);
}

static void retention_verdicts(void **state)
{
    (void)state;
    char err[200];
    assert_int_equal(rules_parse("{}", 2, &prep.rules, err, sizeof err), RULES_OK);
    long days = 0;
    assert_true(rules_retention_days(prep.rules, "general", &days));
    const long long now = 1800000000LL, closed = now - 86400;
    char in[1024];
    snprintf(in, sizeof in,
             "{\"deletions\":[],\"kept\":["
             "{\"id\":\"a\",\"class\":\"general\",\"legal_hold\":true,\"closed_epoch\":%lld},"
             "{\"id\":\"b\",\"class\":\"general\",\"legal_hold\":false,\"closed_epoch\":%lld},"
             "{\"id\":\"c\",\"class\":\"nope\",\"legal_hold\":false,\"closed_epoch\":%lld},"
             "{\"id\":\"d\",\"class\":\"general\",\"legal_hold\":false,\"closed_epoch\":%lld}],"
             "\"open_conversations\":0,\"now_epoch\":%lld}",
             closed, closed, closed, now - (days + 1) * 86400LL, now);
    char *out = retention_decorate(in);
    assert_non_null(out);
    json_t *o = json_loads(out, 0, NULL);
    assert_non_null(o);
    assert_null(json_object_get(o, "now_epoch"));
    json_t *k = json_object_get(o, "kept");
    assert_string_equal(json_string_value(json_object_get(json_array_get(k, 0), "verdict")),
                        "legal_hold");
    assert_true(json_is_null(json_object_get(json_array_get(k, 0), "due_at")));
    assert_string_equal(json_string_value(json_object_get(json_array_get(k, 1), "verdict")),
                        "period");
    assert_non_null(json_string_value(json_object_get(json_array_get(k, 1), "due_at")));
    assert_null(json_object_get(json_array_get(k, 1), "closed_epoch"));
    assert_string_equal(json_string_value(json_object_get(json_array_get(k, 2), "verdict")),
                        "unknown_class");
    assert_string_equal(json_string_value(json_object_get(json_array_get(k, 3), "verdict")), "due");
    json_decref(o);
    free(out);
    assert_null(retention_decorate("not json"));
    gw_dpo_shutdown();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(routes),
        cmocka_unit_test(params),
        cmocka_unit_test(params_per_endpoint),
        cmocka_unit_test(retention_verdicts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
