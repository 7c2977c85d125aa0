/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rules: the clinic's policy file (JSON), parsed and validated into an opaque handle.
 * It answers the questions the gateway asks per conversation: is the clinic open now and
 * when does it open next (office hours, holidays), which form of address (Sie/Du), which
 * emergency numbers and automatic texts in the patient's language, the privacy notice
 * version, the first-reply target, the clinic's official contact details (for outbound
 * data-loss prevention), the retention classes with their periods, and the per-channel
 * decisions around redaction (the "decisions" section, docs/policy.md).
 *
 * Pure: the caller reads the file and passes its bytes; the caller passes local time as
 * a broken-down struct tm (the gateway converts with the policy's time zone). Nothing here
 * touches files, clocks or the environment. The version hash (BLAKE2b-256 of the exact
 * bytes) names the policy in audit records, so a DPO can tell which rules applied.
 *
 * Ownership: rules_parse returns a new handle (free with rules_free); every string a
 * getter returns is borrowed from the handle and lives as long as it does.
 */
#ifndef CAREGATE_RULES_H
#define CAREGATE_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "decide.h"

typedef struct rules rules;

typedef enum {
    RULES_OK = 0,
    RULES_ERR_SYNTAX = -1, /* not JSON */
    RULES_ERR_INVALID = -2, /* JSON, but a key, type or value is wrong: err names the path */
} rules_status;

/* Texts the gateway sends or shows on the clinic's behalf, per language. */
typedef enum {
    RULES_TEXT_CLOSED_REPLY = 0, /* automatic reply when a patient writes out of hours */
    RULES_TEXT_SECURE_CHANNEL,   /* suggestion to move health topics to the secure web chat */
    RULES_TEXT_MEDIA_REFUSED,    /* photos/documents: please use the secure web chat */
    RULES_TEXT_PRIVACY_NOTICE,   /* the privacy notice shown before the first message */
    RULES_TEXT_COUNT
} rules_text_id;

/*
 * Parses a policy file. Keys not given take the built-in defaults (rules_parse of "{}"
 * is the default policy). Unknown keys are errors, so typos cannot silently disable a
 * rule. On error returns a negative rules_status, sets *out to NULL and writes a
 * message naming the offending path ("office_hours.mon[1]: expected HH:MM-HH:MM").
 */
int rules_parse(const char *json, size_t len, rules **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Frees the handle. NULL is fine. */
void rules_free(rules *r);

/* Lower-case hex BLAKE2b-256 of the parsed bytes (64 chars). */
const char *rules_version_hash(const rules *r);

/* The policy's own version label ("version" key; "builtin" by default). */
const char *rules_version_label(const rules *r);

/* IANA time zone the office hours are written in ("Europe/Berlin" by default). */
const char *rules_timezone(const rules *r);

/* "Sie" or "Du". */
const char *rules_address_form(const rules *r);

/*
 * Office hours at local time `now` (tm_year, tm_mon, tm_mday, tm_wday, tm_hour, tm_min
 * are read). Sets *open, and when closed and next_open is not NULL, the local date and
 * time of the next opening within 14 days (tm_year/mon/mday/wday/hour/min set, seconds 0);
 * returns false in *has_next when no opening exists in that window.
 */
void rules_office_state(const rules *r, const struct tm *now, bool *open, struct tm *next_open,
                        bool *has_next);

/* Text in lang ("de", "en", "pl", "hu"), falling back to English, then German.
 * For German texts with both forms the policy's address form picks one. Never NULL. */
const char *rules_text(const rules *r, rules_text_id id, const char *lang);

/* Privacy notice version the patient must accept (e.g. "2026-01"). */
const char *rules_privacy_notice_version(const rules *r);

/* Emergency numbers shown when closed: count, then number and label in lang. */
size_t rules_emergency_count(const rules *r);
const char *rules_emergency_number(const rules *r, size_t i);
const char *rules_emergency_label(const rules *r, size_t i, const char *lang);

/* Minutes within which a first reply is expected (queue clock colours). */
long rules_first_reply_minutes(const rules *r);

/*
 * Is s (len bytes) one of the clinic's official contacts? Phone numbers compare by
 * their digits (a leading 00 or national 0 aside, "+49 30 123" == "030-123" when the
 * policy's default country code is 49), e-mail addresses case-insensitively, links
 * without scheme, "www." and trailing slash.
 */
bool rules_is_official_contact(const rules *r, const char *s, size_t len);

/* Retention: period in days of a class (false when the class does not exist), the
 * default class for a channel ("web", "whatsapp", "messenger", "instagram"), and the
 * number/name of classes for listings. */
bool rules_retention_days(const rules *r, const char *cls, long *days);
const char *rules_retention_default(const rules *r, const char *channel);
size_t rules_retention_count(const rules *r);
const char *rules_retention_name(const rules *r, size_t i);

/* Staff roles that may confirm a held reply or override a block (bit flags). */
#define RULES_ROLE_AGENT (1u << 0)
#define RULES_ROLE_ADMIN (1u << 1)

/* The per-channel decision settings for decide_message (decide_input.settings): the
 * "decisions" section over the built-in defaults. Borrowed; lives as long as r. The
 * parser has already refused values below the privacy floor. */
const decide_settings *rules_decisions(const rules *r);

/* May a staff member of this role ("agent", "admin") confirm a reply that needs
 * confirmation or override a block? ("decisions.override_roles"; default both.) */
bool rules_may_override(const rules *r, const char *role);

/* At most one automatic secure-chat suggestion per conversation within this many
 * seconds ("decisions.suggest_secure_chat_every_hours"; default 24 h). */
long rules_suggest_secure_every_s(const rules *r);

#endif
