/* SPDX-License-Identifier: Apache-2.0 */
/*
 * retain: the retention decision (see retain.h). Kept separate from rules.c so the
 * deletion rule reads in one place and is tested on its own with an injected clock.
 */
#include "retain.h"

retain_verdict retain_decide(const rules *r, const retain_conv *c, int64_t now, int64_t *due_at)
{
    /* IMPLEMENTATION-OF: RET-1 legal hold beats every period. */
    if (c->legal_hold)
        return RETAIN_KEEP_HOLD;
    if (c->closed_at <= 0)
        return RETAIN_KEEP_OPEN;
    long days;
    if (!rules_retention_days(r, c->cls, &days))
        return RETAIN_KEEP_UNKNOWN_CLASS;
    int64_t due = c->closed_at + (int64_t)days * 86400;
    if (due_at)
        *due_at = due;
    return now >= due ? RETAIN_DUE : RETAIN_KEEP_PERIOD;
}

const char *retain_verdict_name(retain_verdict v)
{
    switch (v) {
    case RETAIN_DUE:
        return "due";
    case RETAIN_KEEP_OPEN:
        return "open";
    case RETAIN_KEEP_HOLD:
        return "legal_hold";
    case RETAIN_KEEP_PERIOD:
        return "period";
    case RETAIN_KEEP_UNKNOWN_CLASS:
        return "unknown_class";
    }
    return "unknown";
}
