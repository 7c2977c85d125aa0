/* SPDX-License-Identifier: Apache-2.0 */
/*
 * decide: the pure policy part around redaction. Given where a message goes
 * (channel, direction, sink) and what redact_scan / redact_dlp_scan found in
 * it, returns allow / redact / block / needs-confirmation plus the follow-up
 * duties (store sealed, redacted preview, suggest the secure web chat).
 *
 * Defaults (issue 6):
 *  - staff → WhatsApp/Messenger/Instagram with health data: BLOCK; with the
 *    staff override: REDACT (the redacted text is sent);
 *  - patient → clinic over those platforms with health data: ALLOW (stored
 *    sealed), preview redacted, auto-reply suggesting the secure web chat;
 *  - previews, notifications, logs and analytics: always REDACT (or counts);
 *  - staff messages with a phone, e-mail, handle or profile link that is not
 *    an official clinic contact: BLOCK (no override);
 *  - staff → those platforms with a national id or IBAN (but no health data):
 *    NEEDS_CONFIRMATION; once staff confirm (staff_override), ALLOW.
 * "Health data" here is CONDITION, MEDICATION, TREATMENT and HEALTH_ID.
 *
 * Not here: reading the policy file (rules), sealing (seal), audit records
 * (audit), I/O of any kind. No state; every call is independent.
 */
#ifndef DECIDE_H
#define DECIDE_H

#include "redact.h"
#include "redact_dlp.h"

#include <stddef.h>
#include <stdint.h>

typedef enum {
    DECIDE_ALLOW = 0,
    DECIDE_REDACT,
    DECIDE_BLOCK,
    DECIDE_NEEDS_CONFIRMATION
} decide_action;

typedef enum {
    DECIDE_CH_WEB = 0, /* the clinic's own widget: the secure channel */
    DECIDE_CH_WHATSAPP,
    DECIDE_CH_MESSENGER,
    DECIDE_CH_INSTAGRAM
} decide_channel;

typedef enum {
    DECIDE_INBOUND = 0, /* patient → clinic */
    DECIDE_OUTBOUND     /* staff → patient */
} decide_direction;

/* Where the text is about to go. DELIVERY is the message itself (to the
 * patient's platform for outbound, into the conversation for inbound). */
typedef enum {
    DECIDE_SINK_DELIVERY = 0,
    DECIDE_SINK_PREVIEW,
    DECIDE_SINK_NOTIFICATION,
    DECIDE_SINK_LOG,
    DECIDE_SINK_ANALYTICS
} decide_sink;

/* Follow-up duties, as bit flags. */
#define DECIDE_F_STORE_SEALED (1u << 0)     /* keep the original, sealed */
#define DECIDE_F_PREVIEW_REDACTED (1u << 1) /* show previews redacted */
#define DECIDE_F_SUGGEST_SECURE (1u << 2)   /* auto-reply: use the web chat */
#define DECIDE_F_OVERRIDE_USED (1u << 3)    /* staff override turned a block into redact */

/* Stable reason codes for audit records. */
typedef enum {
    DECIDE_R_CLEAN = 0,
    DECIDE_R_HEALTH_TO_PLATFORM,
    DECIDE_R_HEALTH_TO_PLATFORM_OVERRIDE,
    DECIDE_R_HEALTH_FROM_PLATFORM,
    DECIDE_R_UNOFFICIAL_CONTACT,
    DECIDE_R_SECONDARY_SINK,
    DECIDE_R_SECURE_CHANNEL,
    DECIDE_R_IDENTIFIER_TO_PLATFORM,
    DECIDE_R_IDENTIFIER_TO_PLATFORM_CONFIRMED
} decide_reason;

/* A message in context. All pointers are borrowed for the call. */
typedef struct {
    decide_direction direction;
    decide_channel channel;
    decide_sink sink;
    int staff_override;             /* staff confirmed: "send redacted" / "send anyway" */
    const redact_finding *findings; /* from redact_scan */
    size_t n_findings;
    const redact_dlp_hit *dlp; /* from redact_dlp_scan (outbound only) */
    size_t n_dlp;
} decide_input;

typedef struct {
    decide_action action;
    unsigned flags; /* DECIDE_F_* */
    decide_reason reason;
    size_t n_health; /* health findings counted (for audit: counts only) */
} decide_result;

/* Decides for one message and sink. Returns REDACT_OK or REDACT_E_INVAL
 * (NULL pointers, unknown enum values, findings pointer NULL with a count). */
REDACT_MUSTCHECK int decide_message(const decide_input *in, decide_result *out);

/* Names for logs and audit records ("allow", "health_to_platform"). */
const char *decide_action_name(decide_action a);
const char *decide_reason_name(decide_reason r);

#endif
