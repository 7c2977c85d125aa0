/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of policy/decide: the per-channel, per-direction defaults of
 * issue 6 (block health data to third-party platforms, override sends it
 * redacted, inbound health data is stored and answered with a secure-channel
 * suggestion, secondary sinks always redacted, unofficial contacts blocked).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "decide.h"

static const redact_finding health[] = {{10, 17, REDACT_CONDITION, 0}};
static const redact_finding person[] = {{0, 4, REDACT_PERSON, 0}};
static const redact_dlp_hit contact[] = {{5, 17, REDACT_DLP_PHONE}};

static decide_result run(decide_direction dir, decide_channel ch, decide_sink sink, int ovr,
                         const redact_finding *f, size_t nf, const redact_dlp_hit *d, size_t nd)
{
    decide_input in = {dir, ch, sink, ovr, f, nf, d, nd};
    decide_result r;
    assert_int_equal(decide_message(&in, &r), REDACT_OK);
    return r;
}

static void test_staff_health_to_platforms(void **state)
{
    (void)state;
    decide_channel chs[] = {DECIDE_CH_WHATSAPP, DECIDE_CH_MESSENGER, DECIDE_CH_INSTAGRAM};
    for (size_t i = 0; i < 3; i++) {
        decide_result r = run(DECIDE_OUTBOUND, chs[i], DECIDE_SINK_DELIVERY, 0, health, 1, NULL, 0);
        assert_int_equal(r.action, DECIDE_BLOCK);
        assert_int_equal(r.reason, DECIDE_R_HEALTH_TO_PLATFORM);
        r = run(DECIDE_OUTBOUND, chs[i], DECIDE_SINK_DELIVERY, 1, health, 1, NULL, 0);
        assert_int_equal(r.action, DECIDE_REDACT);
        assert_true(r.flags & DECIDE_F_OVERRIDE_USED);
        r = run(DECIDE_OUTBOUND, chs[i], DECIDE_SINK_DELIVERY, 0, person, 1, NULL, 0);
        assert_int_equal(r.action, DECIDE_ALLOW);
    }
    decide_result r =
        run(DECIDE_OUTBOUND, DECIDE_CH_WEB, DECIDE_SINK_DELIVERY, 0, health, 1, NULL, 0);
    assert_int_equal(r.action, DECIDE_ALLOW);
    assert_int_equal(r.reason, DECIDE_R_SECURE_CHANNEL);
}

static void test_patient_health_from_platforms(void **state)
{
    (void)state;
    decide_result r =
        run(DECIDE_INBOUND, DECIDE_CH_WHATSAPP, DECIDE_SINK_DELIVERY, 0, health, 1, NULL, 0);
    assert_int_equal(r.action, DECIDE_ALLOW);
    assert_true(r.flags & DECIDE_F_STORE_SEALED);
    assert_true(r.flags & DECIDE_F_PREVIEW_REDACTED);
    assert_true(r.flags & DECIDE_F_SUGGEST_SECURE);
    assert_int_equal(r.n_health, 1);
    r = run(DECIDE_INBOUND, DECIDE_CH_WEB, DECIDE_SINK_DELIVERY, 0, health, 1, NULL, 0);
    assert_false(r.flags & DECIDE_F_SUGGEST_SECURE);
    assert_true(r.flags & DECIDE_F_PREVIEW_REDACTED);
}

static void test_secondary_sinks_always_redacted(void **state)
{
    (void)state;
    decide_sink sinks[] = {DECIDE_SINK_PREVIEW, DECIDE_SINK_NOTIFICATION, DECIDE_SINK_LOG,
                           DECIDE_SINK_ANALYTICS};
    for (size_t i = 0; i < 4; i++) {
        decide_result r = run(DECIDE_INBOUND, DECIDE_CH_WEB, sinks[i], 0, NULL, 0, NULL, 0);
        assert_int_equal(r.action, DECIDE_REDACT);
        r = run(DECIDE_OUTBOUND, DECIDE_CH_INSTAGRAM, sinks[i], 1, health, 1, NULL, 0);
        assert_int_equal(r.action, DECIDE_REDACT);
    }
}

static void test_unofficial_contact_blocked(void **state)
{
    (void)state;
    for (int ch = DECIDE_CH_WEB; ch <= DECIDE_CH_INSTAGRAM; ch++) {
        decide_result r =
            run(DECIDE_OUTBOUND, (decide_channel)ch, DECIDE_SINK_DELIVERY, 1, NULL, 0, contact, 1);
        assert_int_equal(r.action, DECIDE_BLOCK);
        assert_int_equal(r.reason, DECIDE_R_UNOFFICIAL_CONTACT);
    }
}

static void test_identifier_needs_confirmation(void **state)
{
    (void)state;
    static const redact_finding iban[] = {{5, 27, REDACT_IBAN, 0}};
    decide_result r =
        run(DECIDE_OUTBOUND, DECIDE_CH_MESSENGER, DECIDE_SINK_DELIVERY, 0, iban, 1, NULL, 0);
    assert_int_equal(r.action, DECIDE_NEEDS_CONFIRMATION);
    assert_int_equal(r.reason, DECIDE_R_IDENTIFIER_TO_PLATFORM);
    r = run(DECIDE_OUTBOUND, DECIDE_CH_MESSENGER, DECIDE_SINK_DELIVERY, 1, iban, 1, NULL, 0);
    assert_int_equal(r.action, DECIDE_ALLOW);
    assert_true(r.flags & DECIDE_F_OVERRIDE_USED);
    r = run(DECIDE_OUTBOUND, DECIDE_CH_WEB, DECIDE_SINK_DELIVERY, 0, iban, 1, NULL, 0);
    assert_int_equal(r.action, DECIDE_ALLOW);
}

static void test_invalid(void **state)
{
    (void)state;
    decide_result r;
    decide_input in = {
        DECIDE_INBOUND, (decide_channel)7, DECIDE_SINK_DELIVERY, 0, NULL, 0, NULL, 0};
    assert_int_equal(decide_message(&in, &r), REDACT_E_INVAL);
    assert_int_equal(decide_message(NULL, &r), REDACT_E_INVAL);
    in.channel = DECIDE_CH_WEB;
    in.n_findings = 2;
    assert_int_equal(decide_message(&in, &r), REDACT_E_INVAL);
    assert_string_equal(decide_action_name(DECIDE_NEEDS_CONFIRMATION), "needs_confirmation");
    assert_string_equal(decide_reason_name(DECIDE_R_UNOFFICIAL_CONTACT), "unofficial_contact");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_staff_health_to_platforms),
        cmocka_unit_test(test_patient_health_from_platforms),
        cmocka_unit_test(test_secondary_sinks_always_redacted),
        cmocka_unit_test(test_unofficial_contact_blocked),
        cmocka_unit_test(test_identifier_needs_confirmation),
        cmocka_unit_test(test_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
