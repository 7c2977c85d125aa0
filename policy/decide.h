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
 * The per-channel parts of these defaults can be changed by the policy file's
 * "decisions" section (policy/rules parses it into a decide_settings and
 * refuses values below the privacy floor). decide_message re-checks the floor
 * itself: a settings struct that would send health data unredacted to a
 * platform is an input error, not a decision.
 *
 * Not here: reading the policy file (rules), sealing (seal), audit records
 * (audit), I/O of any kind. No state; every call is independent.
 */
#ifndef DECIDE_H
#define DECIDE_H

#include "redact.h"
#include "redact_dlp.h"

#include <stdbool.h>
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
#define DECIDE_F_OVERRIDE_USED (1u << 3)    /* staff override/confirmation was used */
#define DECIDE_F_REDACT_HEALTH (1u << 4)    /* REDACT: replace the health findings */
#define DECIDE_F_REDACT_IDS (1u << 5)       /* REDACT: replace national ids and IBANs */

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
    DECIDE_R_IDENTIFIER_TO_PLATFORM_CONFIRMED,
    DECIDE_R_HEALTH_TO_PLATFORM_CONFIRMED, /* needs_confirmation, confirmed: sent redacted */
    DECIDE_R_HEALTH_TO_PLATFORM_REDACTED,  /* policy "redact": sent redacted, no question */
    DECIDE_R_IDENTIFIER_TO_PLATFORM_REDACTED
} decide_reason;

#define DECIDE_CHANNELS 4

/*
 * Per-channel settings (the policy file's "decisions" section, see rules.h and
 * docs/policy.md), indexed by decide_channel. A plain struct the caller owns;
 * decide_settings_default fills the built-in behaviour above. The web entries
 * are fixed (the web chat is the secure channel): ALLOW, no suggestion.
 */
typedef struct {
    /* staff → channel with health data: BLOCK, NEEDS_CONFIRMATION or REDACT
     * (ALLOW only for web). */
    decide_action outbound_health[DECIDE_CHANNELS];
    /* a BLOCK of health data may be overridden by staff: sent redacted */
    bool health_override[DECIDE_CHANNELS];
    /* staff → channel with a national id or IBAN: NEEDS_CONFIRMATION, BLOCK or
     * REDACT (ALLOW only for web). */
    decide_action outbound_identifiers[DECIDE_CHANNELS];
    /* patient → clinic with health data: ask for the automatic suggestion */
    bool suggest_secure[DECIDE_CHANNELS];
} decide_settings;

/* Fills *s with the built-in defaults listed at the top of this file. */
void decide_settings_default(decide_settings *s);

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
    const decide_settings *settings; /* NULL: decide_settings_default */
} decide_input;

typedef struct {
    decide_action action;
    unsigned flags; /* DECIDE_F_* */
    decide_reason reason;
    size_t n_health; /* health findings counted (for audit: counts only) */
} decide_result;

/* Decides for one message and sink. Returns REDACT_OK or REDACT_E_INVAL
 * (NULL pointers, unknown enum values, findings pointer NULL with a count,
 * settings that would send health data or identifiers to a third-party
 * platform unredacted without a question). When both health data and
 * identifiers are present, the stricter verdict wins (block, then
 * needs_confirmation, then redact, then allow), and a REDACT carries the
 * DECIDE_F_REDACT_* flags saying which categories to replace. */
REDACT_MUSTCHECK int decide_message(const decide_input *in, decide_result *out);

/* Names for logs and audit records ("allow", "health_to_platform"). */
const char *decide_action_name(decide_action a);
const char *decide_reason_name(decide_reason r);

#endif
