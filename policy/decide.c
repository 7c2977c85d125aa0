/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Policy decisions around redaction; the defaults are documented in decide.h
 * and docs/redaction.md. Pure function of its input: no clock, no state.
 * The order of the checks matters: secondary sinks first (they are always
 * redacted, whatever else holds), then outbound DLP (a private contact is
 * blocked even on the web chat, and no override applies), then health data.
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
    }
    return "unknown";
}

int decide_message(const decide_input *in, decide_result *out)
{
    if (!in || !out || (!in->findings && in->n_findings) || (!in->dlp && in->n_dlp) ||
        (unsigned)in->channel > DECIDE_CH_INSTAGRAM || (unsigned)in->direction > DECIDE_OUTBOUND ||
        (unsigned)in->sink > DECIDE_SINK_ANALYTICS)
        return REDACT_E_INVAL;
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
     * text, with or without findings: a later dictionary may find more. */
    if (in->sink != DECIDE_SINK_DELIVERY) {
        out->action = DECIDE_REDACT;
        out->reason = DECIDE_R_SECONDARY_SINK;
        return REDACT_OK;
    }

    if (in->direction == DECIDE_OUTBOUND) {
        if (in->n_dlp > 0) {
            out->action = DECIDE_BLOCK;
            out->reason = DECIDE_R_UNOFFICIAL_CONTACT;
            return REDACT_OK;
        }
        if (third_party && out->n_health > 0) {
            if (in->staff_override) {
                out->action = DECIDE_REDACT;
                out->flags = DECIDE_F_OVERRIDE_USED;
                out->reason = DECIDE_R_HEALTH_TO_PLATFORM_OVERRIDE;
            } else {
                out->action = DECIDE_BLOCK;
                out->reason = DECIDE_R_HEALTH_TO_PLATFORM;
            }
            return REDACT_OK;
        }
        /* A tax id or IBAN may be what the patient asked for (a refund), so
         * this is a question to the staff member, not a block. */
        if (third_party && n_ids > 0) {
            if (!in->staff_override) {
                out->action = DECIDE_NEEDS_CONFIRMATION;
                out->reason = DECIDE_R_IDENTIFIER_TO_PLATFORM;
                return REDACT_OK;
            }
            out->flags = DECIDE_F_OVERRIDE_USED;
            out->reason = DECIDE_R_IDENTIFIER_TO_PLATFORM_CONFIRMED;
        }
        if (!third_party)
            out->reason = DECIDE_R_SECURE_CHANNEL;
        out->flags |= DECIDE_F_STORE_SEALED;
        return REDACT_OK;
    }

    /* Inbound: the patient chose the channel; we store what they wrote
     * (sealed), never show it unredacted outside the conversation, and on a
     * third-party platform suggest the secure web chat. */
    out->flags = DECIDE_F_STORE_SEALED | DECIDE_F_PREVIEW_REDACTED;
    if (third_party && out->n_health > 0) {
        out->flags |= DECIDE_F_SUGGEST_SECURE;
        out->reason = DECIDE_R_HEALTH_FROM_PLATFORM;
    } else if (!third_party) {
        out->reason = DECIDE_R_SECURE_CHANNEL;
    }
    return REDACT_OK;
}
