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
    decide_input in = {dir, ch, sink, ovr, f, nf, d, nd, NULL};
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

/* ---- non-default settings (the policy file's "decisions" section) ---------------------- */

static const redact_finding iban_f[] = {{5, 27, REDACT_IBAN, 0}};
static const redact_finding both_f[] = {{0, 4, REDACT_MEDICATION, 0},
                                        {10, 32, REDACT_NATIONAL_ID, 0}};

static decide_result run_s(const decide_settings *st, decide_direction dir, decide_channel ch,
                           int ovr, const redact_finding *f, size_t nf)
{
    decide_input in = {dir, ch, DECIDE_SINK_DELIVERY, ovr, f, nf, NULL, 0, st};
    decide_result r;
    assert_int_equal(decide_message(&in, &r), REDACT_OK);
    return r;
}

static void test_settings_health_needs_confirmation(void **state)
{
    (void)state;
    decide_settings st;
    decide_settings_default(&st);
    st.outbound_health[DECIDE_CH_WHATSAPP] = DECIDE_NEEDS_CONFIRMATION;
    decide_result r = run_s(&st, DECIDE_OUTBOUND, DECIDE_CH_WHATSAPP, 0, health, 1);
    assert_int_equal(r.action, DECIDE_NEEDS_CONFIRMATION);
    assert_int_equal(r.reason, DECIDE_R_HEALTH_TO_PLATFORM);
    /* confirmed: sent redacted, never as written */
    r = run_s(&st, DECIDE_OUTBOUND, DECIDE_CH_WHATSAPP, 1, health, 1);
    assert_int_equal(r.action, DECIDE_REDACT);
    assert_int_equal(r.reason, DECIDE_R_HEALTH_TO_PLATFORM_CONFIRMED);
    assert_true(r.flags & DECIDE_F_OVERRIDE_USED);
    assert_true(r.flags & DECIDE_F_REDACT_HEALTH);
    assert_false(r.flags & DECIDE_F_REDACT_IDS);
    /* other channels keep the default block */
    r = run_s(&st, DECIDE_OUTBOUND, DECIDE_CH_MESSENGER, 0, health, 1);
    assert_int_equal(r.action, DECIDE_BLOCK);
    assert_string_equal(decide_reason_name(DECIDE_R_HEALTH_TO_PLATFORM_CONFIRMED),
                        "health_to_platform_confirmed");
}

static void test_settings_health_redact_and_no_override(void **state)
{
    (void)state;
    decide_settings st;
    decide_settings_default(&st);
    st.outbound_health[DECIDE_CH_INSTAGRAM] = DECIDE_REDACT;
    st.health_override[DECIDE_CH_MESSENGER] = false;
    decide_result r = run_s(&st, DECIDE_OUTBOUND, DECIDE_CH_INSTAGRAM, 0, health, 1);
    assert_int_equal(r.action, DECIDE_REDACT);
    assert_int_equal(r.reason, DECIDE_R_HEALTH_TO_PLATFORM_REDACTED);
    assert_true(r.flags & DECIDE_F_REDACT_HEALTH);
    assert_false(r.flags & DECIDE_F_OVERRIDE_USED);
    /* block without override: the staff override changes nothing */
    r = run_s(&st, DECIDE_OUTBOUND, DECIDE_CH_MESSENGER, 1, health, 1);
    assert_int_equal(r.action, DECIDE_BLOCK);
    assert_int_equal(r.reason, DECIDE_R_HEALTH_TO_PLATFORM);
    /* WhatsApp still has the default override */
    r = run_s(&st, DECIDE_OUTBOUND, DECIDE_CH_WHATSAPP, 1, health, 1);
    assert_int_equal(r.action, DECIDE_REDACT);
    assert_int_equal(r.reason, DECIDE_R_HEALTH_TO_PLATFORM_OVERRIDE);
}

static void test_settings_identifiers(void **state)
{
    (void)state;
    decide_settings st;
    decide_settings_default(&st);
    st.outbound_identifiers[DECIDE_CH_WHATSAPP] = DECIDE_BLOCK;
    st.outbound_identifiers[DECIDE_CH_MESSENGER] = DECIDE_REDACT;
    decide_result r = run_s(&st, DECIDE_OUTBOUND, DECIDE_CH_WHATSAPP, 1, iban_f, 1);
    assert_int_equal(r.action, DECIDE_BLOCK); /* no confirmation gets past a block */
    assert_int_equal(r.reason, DECIDE_R_IDENTIFIER_TO_PLATFORM);
    r = run_s(&st, DECIDE_OUTBOUND, DECIDE_CH_MESSENGER, 0, iban_f, 1);
    assert_int_equal(r.action, DECIDE_REDACT);
    assert_int_equal(r.reason, DECIDE_R_IDENTIFIER_TO_PLATFORM_REDACTED);
    assert_true(r.flags & DECIDE_F_REDACT_IDS);
    assert_false(r.flags & DECIDE_F_REDACT_HEALTH);
    /* web: unchanged, allowed */
    r = run_s(&st, DECIDE_OUTBOUND, DECIDE_CH_WEB, 0, iban_f, 1);
    assert_int_equal(r.action, DECIDE_ALLOW);
}

static void test_settings_combined_stricter_wins(void **state)
{
    (void)state;
    decide_settings st;
    decide_settings_default(&st);
    /* health redact + id needs confirmation: the question comes first */
    st.outbound_health[DECIDE_CH_WHATSAPP] = DECIDE_REDACT;
    decide_result r = run_s(&st, DECIDE_OUTBOUND, DECIDE_CH_WHATSAPP, 0, both_f, 2);
    assert_int_equal(r.action, DECIDE_NEEDS_CONFIRMATION);
    assert_int_equal(r.reason, DECIDE_R_IDENTIFIER_TO_PLATFORM);
    assert_false(r.flags & (DECIDE_F_REDACT_HEALTH | DECIDE_F_REDACT_IDS));
    /* confirmed: the health data is still redacted, the id goes as written */
    r = run_s(&st, DECIDE_OUTBOUND, DECIDE_CH_WHATSAPP, 1, both_f, 2);
    assert_int_equal(r.action, DECIDE_REDACT);
    assert_true(r.flags & DECIDE_F_REDACT_HEALTH);
    assert_false(r.flags & DECIDE_F_REDACT_IDS);
    assert_true(r.flags & DECIDE_F_OVERRIDE_USED);
    /* both redact: both categories replaced */
    st.outbound_identifiers[DECIDE_CH_WHATSAPP] = DECIDE_REDACT;
    r = run_s(&st, DECIDE_OUTBOUND, DECIDE_CH_WHATSAPP, 0, both_f, 2);
    assert_int_equal(r.action, DECIDE_REDACT);
    assert_true(r.flags & DECIDE_F_REDACT_HEALTH);
    assert_true(r.flags & DECIDE_F_REDACT_IDS);
    /* health block beats an id redact */
    st.outbound_health[DECIDE_CH_WHATSAPP] = DECIDE_BLOCK;
    r = run_s(&st, DECIDE_OUTBOUND, DECIDE_CH_WHATSAPP, 0, both_f, 2);
    assert_int_equal(r.action, DECIDE_BLOCK);
    assert_int_equal(r.reason, DECIDE_R_HEALTH_TO_PLATFORM);
}

static void test_settings_suggestion_off(void **state)
{
    (void)state;
    decide_settings st;
    decide_settings_default(&st);
    st.suggest_secure[DECIDE_CH_MESSENGER] = false;
    decide_result r = run_s(&st, DECIDE_INBOUND, DECIDE_CH_MESSENGER, 0, health, 1);
    assert_int_equal(r.action, DECIDE_ALLOW);
    assert_int_equal(r.reason, DECIDE_R_HEALTH_FROM_PLATFORM);
    assert_true(r.flags & DECIDE_F_STORE_SEALED);
    assert_true(r.flags & DECIDE_F_PREVIEW_REDACTED);
    assert_false(r.flags & DECIDE_F_SUGGEST_SECURE);
    r = run_s(&st, DECIDE_INBOUND, DECIDE_CH_INSTAGRAM, 0, health, 1);
    assert_true(r.flags & DECIDE_F_SUGGEST_SECURE);
}

/* The floor holds even if a settings struct did not come from rules_parse. */
static void test_settings_below_floor_refused(void **state)
{
    (void)state;
    decide_settings st;
    decide_settings_default(&st);
    st.outbound_health[DECIDE_CH_WHATSAPP] = DECIDE_ALLOW;
    decide_input in = {
        DECIDE_OUTBOUND, DECIDE_CH_WHATSAPP, DECIDE_SINK_DELIVERY, 0, health, 1, NULL, 0, &st};
    decide_result r;
    assert_int_equal(decide_message(&in, &r), REDACT_E_INVAL);
    decide_settings_default(&st);
    st.outbound_identifiers[DECIDE_CH_INSTAGRAM] = DECIDE_ALLOW;
    in.channel = DECIDE_CH_INSTAGRAM;
    in.findings = iban_f;
    assert_int_equal(decide_message(&in, &r), REDACT_E_INVAL);
    st.outbound_health[DECIDE_CH_INSTAGRAM] = (decide_action)42;
    in.findings = health;
    assert_int_equal(decide_message(&in, &r), REDACT_E_INVAL);
    /* no setting reaches secondary sinks or unofficial contacts */
    decide_settings_default(&st);
    for (int c = 0; c < DECIDE_CHANNELS; c++) {
        st.outbound_health[c] = DECIDE_REDACT;
        st.outbound_identifiers[c] = DECIDE_REDACT;
    }
    in.sink = DECIDE_SINK_NOTIFICATION;
    assert_int_equal(decide_message(&in, &r), REDACT_OK);
    assert_int_equal(r.action, DECIDE_REDACT);
    assert_int_equal(r.reason, DECIDE_R_SECONDARY_SINK);
    in.sink = DECIDE_SINK_DELIVERY;
    in.dlp = contact;
    in.n_dlp = 1;
    in.staff_override = 1;
    assert_int_equal(decide_message(&in, &r), REDACT_OK);
    assert_int_equal(r.action, DECIDE_BLOCK);
    assert_int_equal(r.reason, DECIDE_R_UNOFFICIAL_CONTACT);
}

static void test_invalid(void **state)
{
    (void)state;
    decide_result r;
    decide_input in = {
        DECIDE_INBOUND, (decide_channel)7, DECIDE_SINK_DELIVERY, 0, NULL, 0, NULL, 0, NULL};
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
        cmocka_unit_test(test_settings_health_needs_confirmation),
        cmocka_unit_test(test_settings_health_redact_and_no_override),
        cmocka_unit_test(test_settings_identifiers),
        cmocka_unit_test(test_settings_combined_stricter_wins),
        cmocka_unit_test(test_settings_suggestion_off),
        cmocka_unit_test(test_settings_below_floor_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
