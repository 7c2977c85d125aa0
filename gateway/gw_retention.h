/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gw_retention: deleting conversations — by retention period (policy/retain decides) and
 * by erasure request (GDPR Art. 17) — plus legal hold. Blocking libpq on a connection the
 * caller owns: used by the CLI (`caregate retention run`, `erase`, `hold`) and, in the
 * gateway, from a worker thread (gw_rights.c), never on the event loop.
 *
 * Deletion of one conversation is two transactions, each idempotent (030_retention.sql):
 *   1. lock the row, re-check that it may go (hold, period, request), set shredded_at,
 *      DELETE its data_key (crypto-shredding), audit <reason>.key_destroyed, NOTIFY
 *      caregate_shred '<conversation id>' so gateways wipe a cached key;
 *   2. delete messages, patient sessions and the conversation (other tables cascade),
 *      then the contact when no other conversation refers to it; audit <reason>.deleted
 *      with counts.
 * A crash anywhere leaves either nothing done, or a shredded conversation that every
 * later run finishes first. Audit records carry ids and counts, never content.
 * Not here: the CLI wrappers (gw_rights.c), key rotation (gw_rotate.c).
 */
#ifndef GW_RETENTION_H
#define GW_RETENTION_H

#include "rules.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
    GW_RET_OK = 0,
    GW_RET_ERR = -1,       /* database error or bad input: err says which */
    GW_RET_BUSY = -2,      /* another retention run holds the lock: nothing was done */
    GW_RET_HOLD = -3,      /* legal hold: refused, nothing changed */
    GW_RET_NOT_FOUND = -4, /* no such conversation / contact */
} gw_ret_status;

typedef enum { GW_RET_REASON_RETENTION = 0, GW_RET_REASON_ERASURE = 1 } gw_ret_reason;

/* What one run did. */
typedef struct {
    long examined;       /* conversations looked at */
    long due;            /* due by period, pending erasure or left half-done */
    long keys_destroyed; /* data key rows deleted */
    long deleted;        /* conversations whose rows are gone */
    long messages;       /* message rows deleted */
    long contacts;       /* contacts deleted */
    long kept_open, kept_hold, kept_period, kept_unknown_class;
    long skipped; /* due when listed, no longer when locked (reopened, hold placed) */
    long webhook_keys; /* webhook de-duplication keys past the platforms' retry window, deleted */
    long sessions;     /* staff and patient session rows expired or revoked long ago, deleted */
} gw_ret_counts;

typedef struct {
    int64_t now;       /* Unix seconds: the retention clock (injected: --now) */
    bool dry_run;      /* decide and count, change nothing */
    const char *actor; /* audit actor: "system", "cli", "staff:<uuid>" */
    FILE *progress;    /* progress bar (stderr) or NULL */
} gw_ret_opts;

/*
 * One retention pass: finishes shredded conversations, carries out pending erasures
 * (unless on hold) and deletes every conversation retain_decide calls due at o->now.
 * Takes a session advisory lock so only one runner works at a time (GW_RET_BUSY).
 * Writes one retention.run audit record with the counts (not in dry-run mode).
 * Returns a gw_ret_status; *out is filled in any case.
 */
int gw_retention_run(PGconn *c, const rules *r, const gw_ret_opts *o, gw_ret_counts *out, char *err,
                     size_t errlen) __attribute__((warn_unused_result));

/*
 * Deletes one conversation (both steps) for `reason`. For retention, r and now decide
 * (a conversation that is not due is left alone: *done false); for erasure, the
 * conversation must have erase_requested_at set and no legal hold. A conversation
 * already shredded is always finished. counts (may be NULL) is incremented.
 * Returns GW_RET_OK (*done says whether it is gone), GW_RET_NOT_FOUND or GW_RET_ERR.
 */
int gw_retention_delete_one(PGconn *c, const char *conv, gw_ret_reason reason, const rules *r,
                            int64_t now, const char *actor, bool *done, gw_ret_counts *counts,
                            char *err, size_t errlen) __attribute__((warn_unused_result));

/*
 * Records an erasure request for one conversation (conv) or every conversation of a
 * contact (contact), then carries it out. Refuses with GW_RET_HOLD when any of them is on
 * legal hold (nothing changes). A contact without conversations is deleted directly.
 */
int gw_retention_erase(PGconn *c, const char *conv, const char *contact, const char *actor,
                       FILE *progress, gw_ret_counts *counts, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Places (on = true) or lifts a legal hold; reason_code may be NULL. Audited as
 * legal_hold.set / legal_hold.lifted. GW_RET_NOT_FOUND for an unknown or erased id. */
int gw_retention_hold(PGconn *c, const char *conv, bool on, const char *reason_code,
                      const char *actor, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Parses "2026-11-23T01:02:03Z" (or with a numeric offset) into Unix seconds. 0 or -1. */
int gw_retention_parse_time(const char *s, int64_t *out) __attribute__((warn_unused_result));

/* Is s an acceptable legal hold reason code (1-64 of A-Z a-z 0-9 - _ . /)? Codes, not
 * sentences: free text could carry names into the audit log. */
bool gw_retention_reason_code_ok(const char *s);

/* Is s a canonical 36-character UUID text? */
bool gw_retention_uuid_ok(const char *s);

/*
 * Test hook for crash tests: every committed step (one transaction of retention, one batch
 * of rotation) calls this; when CAREGATE_TEST_CRASH_AFTER=N is set in the environment the
 * process kills itself with SIGKILL after the N-th step, at a deterministic point.
 */
void gw_retention__step_done(void);

/* Draws "label [#####.....] done/total" on f (\r-updated on a terminal, a line per ~10%
 * otherwise). f may be NULL. */
void gw_retention__progress(FILE *f, const char *label, long done, long total);

#endif
