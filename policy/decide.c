/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Policy decisions around redaction; the defaults are documented in decide.h
 * and docs/redaction.md. Pure function of its input: no clock, no state.
 * The order of the checks matters: secondary sinks first (they are always
 * redacted, whatever else holds), then outbound DLP (a private contact is
 * blocked even on the web chat, and no override applies), then health data
 * and identifiers, each by the channel's settings, the stricter one winning.
 */
#include "decide.h"

static int is_health(redact_category c)
{
    return c == REDACT_CONDITION || c == REDACT_MEDICATION || c == REDACT_TREATMENT ||
           c == REDACT_HEALTH_ID;
}

const char *decide_action_name(decide_action a)
{
    switch (a) {
    case DECIDE_ALLOW: return "allow";
    case DECIDE_REDACT: return "redact";
    case DECIDE_BLOCK: return "block";
    case DECIDE_NEEDS_CONFIRMATION: return "needs_confirmation";
    }
    return "unknown";
}

const char *decide_reason_name(decide_reason r)
{
    switch (r) {
    case DECIDE_R_CLEAN: return "clean";
    case DECIDE_R_HEALTH_TO_PLATFORM: return "health_to_platform";
    case DECIDE_R_HEALTH_TO_PLATFORM_OVERRIDE: return "health_to_platform_override";
    case DECIDE_R_HEALTH_FROM_PLATFORM: return "health_from_platform";
    case DECIDE_R_UNOFFICIAL_CONTACT: return "unofficial_contact";
    case DECIDE_R_SECONDARY_SINK: return "secondary_sink";
    case DECIDE_R_SECURE_CHANNEL: return "secure_channel";
    case DECIDE_R_IDENTIFIER_TO_PLATFORM: return "identifier_to_platform";
    case DECIDE_R_IDENTIFIER_TO_PLATFORM_CONFIRMED: return "identifier_to_platform_confirmed";
    case DECIDE_R_HEALTH_TO_PLATFORM_CONFIRMED: return "health_to_platform_confirmed";
    case DECIDE_R_HEALTH_TO_PLATFORM_REDACTED: return "health_to_platform_redacted";
    case DECIDE_R_IDENTIFIER_TO_PLATFORM_REDACTED: return "identifier_to_platform_redacted";
    }
    return "unknown";
}

void decide_settings_default(decide_settings *s)
{
    for (int c = 0; c < DECIDE_CHANNELS; c++) {
        int platform = c != DECIDE_CH_WEB;
        s->outbound_health[c] = platform ? DECIDE_BLOCK : DECIDE_ALLOW;
        s->health_override[c] = platform;
        s->outbound_identifiers[c] = platform ? DECIDE_NEEDS_CONFIRMATION : DECIDE_ALLOW;
        s->suggest_secure[c] = platform;
    }
}

/* Strictness order for combining the health and identifier verdicts. */
static int rank(decide_action a)
{
    switch (a) {
    case DECIDE_BLOCK: return 3;
    case DECIDE_NEEDS_CONFIRMATION: return 2;
    case DECIDE_REDACT: return 1;
    case DECIDE_ALLOW: return 0;
    }
    return 3;
}

typedef struct {
    decide_action action;
    decide_reason reason;
    unsigned flags;
} verdict;

static int health_verdict(const decide_settings *st, decide_channel ch, int ovr, verdict *v)
{
    switch (st->outbound_health[ch]) {
    case DECIDE_ALLOW:
        /* privacy floor: only the clinic's own web chat may carry health data as is */
        if (ch != DECIDE_CH_WEB)
            return REDACT_E_INVAL;
        *v = (verdict){DECIDE_ALLOW, DECIDE_R_SECURE_CHANNEL, 0};
        return REDACT_OK;
    case DECIDE_REDACT:
        *v = (verdict){DECIDE_REDACT, DECIDE_R_HEALTH_TO_PLATFORM_REDACTED, DECIDE_F_REDACT_HEALTH};
        return REDACT_OK;
    case DECIDE_BLOCK:
        if (ovr && st->health_override[ch])
            *v = (verdict){DECIDE_REDACT, DECIDE_R_HEALTH_TO_PLATFORM_OVERRIDE,
                           DECIDE_F_OVERRIDE_USED | DECIDE_F_REDACT_HEALTH};
        else
            *v = (verdict){DECIDE_BLOCK, DECIDE_R_HEALTH_TO_PLATFORM, 0};
        return REDACT_OK;
    case DECIDE_NEEDS_CONFIRMATION:
        /* confirmed health data still goes out redacted: confirmation is not a way
         * around the floor, only a second look */
        if (ovr)
            *v = (verdict){DECIDE_REDACT, DECIDE_R_HEALTH_TO_PLATFORM_CONFIRMED,
                           DECIDE_F_OVERRIDE_USED | DECIDE_F_REDACT_HEALTH};
        else
            *v = (verdict){DECIDE_NEEDS_CONFIRMATION, DECIDE_R_HEALTH_TO_PLATFORM, 0};
        return REDACT_OK;
    }
    return REDACT_E_INVAL;
}

static int ids_verdict(const decide_settings *st, decide_channel ch, int ovr, verdict *v)
{
    switch (st->outbound_identifiers[ch]) {
    case DECIDE_ALLOW:
        if (ch != DECIDE_CH_WEB)
            return REDACT_E_INVAL;
        *v = (verdict){DECIDE_ALLOW, DECIDE_R_SECURE_CHANNEL, 0};
        return REDACT_OK;
    case DECIDE_REDACT:
        *v =
            (verdict){DECIDE_REDACT, DECIDE_R_IDENTIFIER_TO_PLATFORM_REDACTED, DECIDE_F_REDACT_IDS};
        return REDACT_OK;
    case DECIDE_BLOCK:
        *v = (verdict){DECIDE_BLOCK, DECIDE_R_IDENTIFIER_TO_PLATFORM, 0};
        return REDACT_OK;
    case DECIDE_NEEDS_CONFIRMATION:
        /* A tax id or IBAN may be what the patient asked for (a refund), so this is
         * a question to the staff member; once confirmed it goes out as written. */
        if (ovr)
            *v = (verdict){DECIDE_ALLOW, DECIDE_R_IDENTIFIER_TO_PLATFORM_CONFIRMED,
                           DECIDE_F_OVERRIDE_USED};
        else
            *v = (verdict){DECIDE_NEEDS_CONFIRMATION, DECIDE_R_IDENTIFIER_TO_PLATFORM, 0};
        return REDACT_OK;
    }
    return REDACT_E_INVAL;
}

int decide_message(const decide_input *in, decide_result *out)
{
    if (!in || !out || (!in->findings && in->n_findings) || (!in->dlp && in->n_dlp) ||
        (unsigned)in->channel > DECIDE_CH_INSTAGRAM || (unsigned)in->direction > DECIDE_OUTBOUND ||
        (unsigned)in->sink > DECIDE_SINK_ANALYTICS)
        return REDACT_E_INVAL;
    decide_settings defaults;
    const decide_settings *st = in->settings;
    if (!st) {
        decide_settings_default(&defaults);
        st = &defaults;
    }
    out->action = DECIDE_ALLOW;
    out->flags = 0;
    out->reason = DECIDE_R_CLEAN;
    out->n_health = 0;
    size_t n_ids = 0;
    for (size_t i = 0; i < in->n_findings; i++) {
        out->n_health += (size_t)is_health(in->findings[i].cat);
        n_ids += (size_t)(in->findings[i].cat == REDACT_NATIONAL_ID ||
                          in->findings[i].cat == REDACT_IBAN);
    }
    int third_party = in->channel != DECIDE_CH_WEB;

    /* Previews, notifications, logs and analytics only ever see redacted
     * text, with or without findings: a later dictionary may find more.
     * No setting reaches this (privacy floor). */
    if (in->sink != DECIDE_SINK_DELIVERY) {
        out->action = DECIDE_REDACT;
        out->reason = DECIDE_R_SECONDARY_SINK;
        return REDACT_OK;
    }

    if (in->direction == DECIDE_OUTBOUND) {
        /* unofficial contacts: blocked on every channel, no setting, no override */
        if (in->n_dlp > 0) {
            out->action = DECIDE_BLOCK;
            out->reason = DECIDE_R_UNOFFICIAL_CONTACT;
            return REDACT_OK;
        }
        verdict v = {DECIDE_ALLOW, third_party ? DECIDE_R_CLEAN : DECIDE_R_SECURE_CHANNEL, 0};
        if (out->n_health > 0) {
            verdict h;
            if (health_verdict(st, in->channel, in->staff_override, &h) != REDACT_OK)
                return REDACT_E_INVAL;
            if (rank(h.action) >= rank(v.action))
                v = h;
        }
        if (n_ids > 0) {
            verdict d;
            if (ids_verdict(st, in->channel, in->staff_override, &d) != REDACT_OK)
                return REDACT_E_INVAL;
            unsigned keep = v.flags;
            if (rank(d.action) > rank(v.action))
                v = d;
            /* both redact / override marks survive the combination */
            v.flags |= keep | d.flags;
            if (v.action != DECIDE_REDACT)
                v.flags &= ~(DECIDE_F_REDACT_HEALTH | DECIDE_F_REDACT_IDS);
        }
        out->action = v.action;
        out->reason = v.reason;
        out->flags = v.flags;
        if (v.action == DECIDE_ALLOW)
            out->flags |= DECIDE_F_STORE_SEALED;
        return REDACT_OK;
    }

    /* Inbound: the patient chose the channel; we store what they wrote
     * (sealed), never show it unredacted outside the conversation, and on a
     * third-party platform suggest the secure web chat (when the policy asks). */
    out->flags = DECIDE_F_STORE_SEALED | DECIDE_F_PREVIEW_REDACTED;
    if (third_party && out->n_health > 0) {
        if (st->suggest_secure[in->channel])
            out->flags |= DECIDE_F_SUGGEST_SECURE;
        out->reason = DECIDE_R_HEALTH_FROM_PLATFORM;
    } else if (!third_party) {
        out->reason = DECIDE_R_SECURE_CHANNEL;
    }
    return REDACT_OK;
}
