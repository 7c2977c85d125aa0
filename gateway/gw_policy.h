/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gw_policy: the gateway's side of the policy layer. It loads the policy file at start
 * and on SIGHUP (policy/rules), owns the one redaction engine of the process (policy/redact), and
 * turns their answers into what the protocol files need: the office block of a welcome,
 * the automatic out-of-hours reply with its placeholders filled, findings as categories
 * and counts, redacted previews, and the outbound decision for staff messages
 * (policy/redact_dlp + policy/decide) with the audit details that go with it.
 *
 * Time zone: rules_office_state wants local time in the policy's zone. localtime_r reads
 * the process-wide TZ, so gw_policy_load sets TZ to rules_timezone() ONCE, before the loop
 * runs and before any other thread exists, and never changes it again. Nothing else in
 * the gateway uses local time (logs and the wire protocol are UTC), so this is safe; the
 * zone must exist under /usr/share/zoneinfo or start-up stops.
 *
 * Not here: I/O other than reading the policy file, audit writes (the callers
 * put the details returned here into their statements), protocol framing.
 */
#ifndef GW_POLICY_H
#define GW_POLICY_H

#include "gw_app.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/*
 * Reads cfg->policy_file (empty: the built-in policy, rules_parse("{}")), sets TZ,
 * creates the redaction engine and stores both in app->rules / app->redact.
 * Returns 0, or -1 with a message in err (the rules error names the offending path).
 */
int gw_policy_load(gw_app *app, char *err, size_t errlen) __attribute__((warn_unused_result));

/*
 * SIGHUP: reads cfg->policy_file again and, if it parses (the privacy floor included) and
 * keeps the time zone, replaces app->rules; otherwise keeps the loaded policy and returns
 * -1 with the reason in err. Loop thread only. The redaction engine is not rebuilt: its
 * dictionaries are compiled into the binary.
 */
int gw_policy_reload(gw_app *app, char *err, size_t errlen) __attribute__((warn_unused_result));

/* Frees app->rules and app->redact; idempotent. */
void gw_policy_free(gw_app *app);

/* Office state at `now`: *open, and the next opening as RFC 3339 UTC in next_iso (""
 * when open or when no opening exists within 14 days). */
void gw_policy_office(const gw_app *app, time_t now, bool *open, char next_iso[32]);

/* {"open","next_open","emergency":[{number,label}],"first_reply_minutes"} in lang. New. */
json_t *gw_policy_office_json(const gw_app *app, time_t now, const char *lang);

/* The automatic closed reply in lang, placeholders filled; next_iso as from
 * gw_policy_office. Returns a new string (free()). */
char *gw_policy_closed_reply(const gw_app *app, const char *lang, const char *next_iso);

/* Result of scanning one message. */
typedef struct gw_policy_scan {
    json_t *findings; /* {"CAT":count}: new reference, NULL when nothing was found */
    json_t *rules;    /* {"rule.name":count} for audit records, NULL when empty */
    size_t n;         /* findings total */
    size_t n_health;  /* CONDITION, MEDICATION, TREATMENT, HEALTH_ID */
    bool suggest_secure; /* inbound: the decision asks for the secure-chat suggestion
                          * (decisions.inbound; the caller applies the rate limit) */
} gw_policy_scan;

void gw_policy_scan_clear(gw_policy_scan *s);

/* Inbound (patient) message: scans text and fills *s; returns the audit details of the
 * decision (new reference): {"action","reason","channel","direction","categories",
 * "rules","policy"}. Never text. */
json_t *gw_policy_inbound(const gw_app *app, const char *channel, const char *text, size_t len,
                          gw_policy_scan *s);

/* Outbound verdict for a staff reply. */
typedef struct gw_policy_out {
    int action;          /* decide_action */
    const char *event;   /* "policy.decision" | "policy.blocked" | "policy.override" */
    json_t *details;     /* audit details (new reference) */
    json_t *findings;    /* [{"category","count"}] for the error frame (new), may be empty */
    char *text;          /* the text to send: original (allow) or redacted (override), new */
    size_t text_len;
    const char *message; /* human explanation for a block */
    bool can_override;   /* blocked, but this sender may send it with "override":true */
    bool override_redacts; /* that override sends the health data redacted (false: an id or
                            * IBAN confirmed and sent as written) */
} gw_policy_out;

void gw_policy_out_clear(gw_policy_out *o);

/* May staff of this role confirm a held reply or override a block (the policy's
 * decisions.override_roles)? Pass the result as allowed_override below. */
bool gw_policy_may_override(const gw_app *app, const char *role);

/* Runs DLP and the channel decision (the policy's decisions settings) over a staff reply.
 * override: the staff member confirmed / asked to send redacted (honoured only when
 * allowed_override). */
void gw_policy_outbound(const gw_app *app, const char *channel, const char *text, size_t len,
                        bool override, bool allowed_override, gw_policy_out *out);

/* Redacted preview of text (scanned in the language it is written in, see langid.h), cut
 * at a character boundary to at most ~80 bytes with "…" appended when cut. New string. */
char *gw_policy_preview(const gw_app *app, const char *text, size_t len);

/* Opens one stored message (as the queue query returns it: bytea text of the wrapped
 * data key and of the body) and returns its redacted preview, or NULL. */
char *gw_policy_preview_row(const gw_app *app, const char *conv, const char *msg_id,
                            const char *key_version,
                            const char *wrapped_hex, const char *body_hex);

#endif
