/* SPDX-License-Identifier: Apache-2.0 */
/*
 * retain: when may a conversation be deleted? Pure decision from the policy's retention
 * classes, the conversation's class, close time and legal hold, and the current time —
 * all passed in (the clock is injected, so tests can move it freely).
 *
 * Rules: an open conversation (never closed) is kept; a conversation on legal hold is
 * kept whatever its age; otherwise it is due once closed_at + period(class) has passed.
 * A class the policy no longer defines is kept and reported (RETAIN_KEEP_UNKNOWN_CLASS)
 * rather than deleted: removing a class from the policy must never delete data early.
 * Not here: the deletion itself (crypto-shredding and row deletion live in the gateway).
 */
#ifndef CAREGATE_RETAIN_H
#define CAREGATE_RETAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "rules.h"

typedef enum {
    RETAIN_DUE = 0,                  /* delete now */
    RETAIN_KEEP_OPEN = 1,            /* not closed yet */
    RETAIN_KEEP_HOLD = 2,            /* legal hold */
    RETAIN_KEEP_PERIOD = 3,          /* period not over: *due_at says when */
    RETAIN_KEEP_UNKNOWN_CLASS = 4,   /* class not in the policy: kept, to be fixed by an admin */
} retain_verdict;

typedef struct {
    int64_t closed_at; /* Unix seconds; 0 when the conversation is not closed */
    const char *cls;   /* retention class name (borrowed) */
    bool legal_hold;
} retain_conv;

/*
 * Decides for one conversation at time now (Unix seconds). When the verdict is
 * RETAIN_DUE or RETAIN_KEEP_PERIOD and due_at is not NULL, *due_at receives the moment
 * the period ends. Never fails.
 */
retain_verdict retain_decide(const rules *r, const retain_conv *c, int64_t now, int64_t *due_at);

/* A short stable name for a verdict ("due", "open", "legal_hold", "period", "unknown_class"),
 * for reports and audit details. */
const char *retain_verdict_name(retain_verdict v);

#endif
