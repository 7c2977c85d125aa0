/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gw_retention: retention runs, erasure and legal hold on a blocking libpq connection
 * (the two-step deletion and why it is crash-safe are described in gw_retention.h).
 *
 * Every transaction here is short and per conversation, so a gateway writing messages
 * meanwhile waits on at most one row lock. Eligibility is decided twice: once on the
 * listing (cheap, unlocked) and again on the row locked FOR UPDATE in step 1, because a
 * patient may have written (reopening the conversation) or an admin placed a hold in
 * between. Only step 1 decides; step 2 runs for anything already shredded.
 *
 * Implements DPO requirements RET-1 (deletion after the class period), RET-2 (legal hold
 * stops deletion), RET-3 (crypto-shredding first), RET-4 (every deletion is audited with
 * ids and counts only), ERA-1 (erasure on request unless on legal hold).
 * Not here: CLI parsing and role checks (gw_rights.c), key rotation (gw_rotate.c).
 */
#define _GNU_SOURCE /* strptime, timegm */
#include "gw_retention.h"
#include "gw_clidb.h"

#include "retain.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* pg_try_advisory_lock key of the retention runner ("cgRT" in ASCII). */
#define RETENTION_LOCK_KEY "1667715668"

/* ---- test hook and progress ----------------------------------------------------------- */

void gw_retention__step_done(void)
{
    static long steps, crash_after = -1;
    if (crash_after < 0) {
        const char *e = getenv("CAREGATE_TEST_CRASH_AFTER");
        crash_after = e && *e ? strtol(e, NULL, 10) : 0;
    }
    steps++;
    if (crash_after > 0 && steps >= crash_after) {
        fprintf(stderr, "caregate: CAREGATE_TEST_CRASH_AFTER=%ld reached: killing myself\n",
                crash_after);
        fflush(stderr);
        raise(SIGKILL);
    }
}

void gw_retention__progress(FILE *f, const char *label, long done, long total)
{
    if (!f)
        return;
    enum { WIDTH = 30 };
    long filled = total > 0 ? done * WIDTH / total : WIDTH;
    if (filled > WIDTH)
        filled = WIDTH;
    char bar[WIDTH + 1];
    for (long i = 0; i < WIDTH; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[WIDTH] = '\0';
    if (isatty(fileno(f))) {
        fprintf(f, "\r%s [%s] %ld/%ld", label, bar, done, total);
        if (done >= total)
            fputc('\n', f);
    } else {
        /* Logs and test pipes: one line at the start, every ~10% and at the end. */
        long step = total / 10 > 0 ? total / 10 : 1;
        if (done == 0 || done >= total || done % step == 0)
            fprintf(f, "%s [%s] %ld/%ld\n", label, bar, done, total);
    }
    fflush(f);
}

/* ---- small helpers ------------------------------------------------------------------- */

bool gw_retention_uuid_ok(const char *s)
{
    if (!s || strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        char ch = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (ch != '-')
                return false;
        } else if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
                     (ch >= 'A' && ch <= 'F'))) {
            return false;
        }
    }
    return true;
}

int gw_retention_parse_time(const char *s, int64_t *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p)
        return -1;
    if (*p == '.') /* fractions of a second are accepted and ignored */
        for (p++; *p >= '0' && *p <= '9'; p++)
            ;
    long off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
        int hh = (p[1] - '0') * 10 + (p[2] - '0'), mm = (p[4] - '0') * 10 + (p[5] - '0');
        off = (hh * 60L + mm) * 60L * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return -1;
    }
    if (*p)
        return -1;
    *out = (int64_t)timegm(&tm) - off;
    return 0;
}

/* ---- the two steps --------------------------------------------------------------------- */

static const char *reason_name(gw_ret_reason reason)
{
    return reason == GW_RET_REASON_ERASURE ? "erasure" : "retention";
}

/*
 * What both steps share: one short transaction per conversation, opened by locking its
 * row (sql has one parameter, the id) and rolled back on any failure. step_begin returns
 * the locked row (new) with the transaction open, or NULL with it rolled back and *rc set:
 * GW_RET_ERR (err set) or GW_RET_NOT_FOUND (no row). step_exec runs one statement of the
 * step (rolling back when it fails); step_commit ends the step.
 */
static PGresult *step_begin(PGconn *c, const char *sql, const char *conv, int *rc, char *err,
                            size_t errlen)
{
    *rc = GW_RET_ERR;
    if (gw_clidb_cmd(c, "BEGIN", 0, NULL, err, errlen) != 0)
        return NULL;
    const char *v[1] = {conv};
    PGresult *res = gw_clidb_exec(c, PGRES_TUPLES_OK, sql, 1, v, err, errlen);
    if (res && PQntuples(res) == 0) {
        PQclear(res);
        res = NULL;
        *rc = GW_RET_NOT_FOUND;
    }
    if (!res)
        gw_clidb_rollback(c);
    return res;
}

static PGresult *step_exec(PGconn *c, ExecStatusType want, const char *sql, int n,
                           const char *const *vals, char *err, size_t errlen)
{
    PGresult *res = gw_clidb_exec(c, want, sql, n, vals, err, errlen);
    if (!res)
        gw_clidb_rollback(c);
    return res;
}

static int step_commit(PGconn *c, char *err, size_t errlen)
{
    if (gw_clidb_cmd(c, "COMMIT", 0, NULL, err, errlen) != 0)
        return GW_RET_ERR;
    gw_retention__step_done();
    return GW_RET_OK;
}

/*
 * Step 1. Returns 1 when the conversation is (now or already) shredded, 0 when it may not
 * go (not due any more, hold, no request), GW_RET_NOT_FOUND or GW_RET_ERR.
 */
static int shred_key(PGconn *c, const char *conv, gw_ret_reason reason, const rules *r, int64_t now,
                     const char *actor, gw_ret_counts *counts, char *err, size_t errlen)
{
    int src;
    const char *v1[1] = {conv};
    PGresult *res = step_begin(c,
                               "SELECT coalesce(extract(epoch FROM closed_at)::bigint, 0), "
                               "retention_class, legal_hold, shredded_at IS NOT NULL, "
                               "erase_requested_at IS NOT NULL, coalesce(shred_reason, '') "
                               "FROM conversation WHERE id = $1::uuid FOR UPDATE",
                               conv, &src, err, errlen);
    if (!res)
        return src;
    bool hold = PQgetvalue(res, 0, 2)[0] == 't';
    bool shredded = PQgetvalue(res, 0, 3)[0] == 't';
    bool requested = PQgetvalue(res, 0, 4)[0] == 't';
    retain_conv rc = {.closed_at = strtoll(PQgetvalue(res, 0, 0), NULL, 10),
                      .cls = PQgetvalue(res, 0, 1),
                      .legal_hold = hold};
    bool go;
    if (shredded)
        go = false; /* step 1 already committed: nothing to decide */
    else if (reason == GW_RET_REASON_ERASURE)
        go = requested && !hold;
    else
        go = r && retain_decide(r, &rc, now, NULL) == RETAIN_DUE;
    PQclear(res);
    if (shredded) {
        gw_clidb_rollback(c);
        return 1;
    }
    if (!go) {
        gw_clidb_rollback(c);
        return 0;
    }
    const char *v2[2] = {conv, reason_name(reason)};
    res = step_exec(c, PGRES_COMMAND_OK,
                    "UPDATE conversation SET shredded_at = now(), shred_reason = $2 WHERE id = "
                    "$1::uuid",
                    2, v2, err, errlen);
    if (!res)
        return GW_RET_ERR;
    PQclear(res);
    res = step_exec(c, PGRES_COMMAND_OK, "DELETE FROM data_key WHERE conversation_id = $1::uuid", 1,
                    v1, err, errlen);
    if (!res)
        return GW_RET_ERR;
    long keys = strtol(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    char event[64];
    snprintf(event, sizeof event, "%s.key_destroyed", reason_name(reason));
    char nkeys[24];
    snprintf(nkeys, sizeof nkeys, "%ld", keys);
    const char *v3[4] = {event, actor, conv, nkeys};
    res = step_exec(c, PGRES_TUPLES_OK,
                    "SELECT audit_append($1, $2, 'conversation:' || $3, "
                    "jsonb_build_object('data_keys', $4::bigint)), "
                    "pg_notify('caregate_shred', $3)",
                    4, v3, err, errlen);
    if (!res)
        return GW_RET_ERR;
    PQclear(res);
    if (step_commit(c, err, errlen) != GW_RET_OK)
        return GW_RET_ERR;
    if (counts)
        counts->keys_destroyed += keys;
    return 1;
}

/* Step 2, for a shredded conversation. Returns GW_RET_OK (also when already gone). */
static int delete_rows(PGconn *c, const char *conv, const char *actor, gw_ret_counts *counts,
                       char *err, size_t errlen)
{
    int src;
    const char *v1[1] = {conv};
    PGresult *res = step_begin(c,
                               "SELECT contact_id::text, coalesce(shred_reason, 'retention') "
                               "FROM conversation WHERE id = $1::uuid AND shredded_at IS NOT NULL "
                               "FOR UPDATE",
                               conv, &src, err, errlen);
    if (!res)
        return src == GW_RET_NOT_FOUND ? GW_RET_OK : src;
    char contact[40], event[64];
    snprintf(contact, sizeof contact, "%s", PQgetvalue(res, 0, 0));
    snprintf(event, sizeof event, "%s.deleted", PQgetvalue(res, 0, 1));
    PQclear(res);

    /* The same statement deletes everything and counts it; other tables referring to the
     * conversation (outbox, channel threads) cascade. The contact goes only when no other
     * conversation refers to it (a platform patient may have several). */
    res = step_exec(
        c, PGRES_TUPLES_OK,
        "WITH m AS (DELETE FROM message WHERE conversation_id = $1::uuid RETURNING 1), "
        "s AS (DELETE FROM patient_session WHERE conversation_id = $1::uuid RETURNING 1), "
        "k AS (DELETE FROM data_key WHERE conversation_id = $1::uuid RETURNING 1) "
        "SELECT (SELECT count(*) FROM m), (SELECT count(*) FROM s), (SELECT count(*) FROM k)",
        1, v1, err, errlen);
    if (!res)
        return GW_RET_ERR;
    char nmsg[24], nsess[24];
    snprintf(nmsg, sizeof nmsg, "%s", PQgetvalue(res, 0, 0));
    snprintf(nsess, sizeof nsess, "%s", PQgetvalue(res, 0, 1));
    PQclear(res);
    res = step_exec(c, PGRES_COMMAND_OK, "DELETE FROM conversation WHERE id = $1::uuid", 1, v1, err,
                    errlen);
    if (!res)
        return GW_RET_ERR;
    PQclear(res);
    const char *v2[1] = {contact};
    res = step_exec(c, PGRES_COMMAND_OK,
                    "DELETE FROM contact WHERE id = $1::uuid AND NOT EXISTS "
                    "(SELECT 1 FROM conversation WHERE contact_id = $1::uuid)",
                    1, v2, err, errlen);
    if (!res)
        return GW_RET_ERR;
    long ncontact = strtol(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    const char *v3[7] = {event, actor, conv, nmsg, nsess, contact, ncontact ? "t" : "f"};
    res = step_exec(c, PGRES_TUPLES_OK,
                    "SELECT audit_append($1, $2, 'conversation:' || $3, jsonb_build_object("
                    "'messages', $4::bigint, 'sessions', $5::bigint, 'contact', $6::text, "
                    "'contact_deleted', $7::boolean))",
                    7, v3, err, errlen);
    if (!res)
        return GW_RET_ERR;
    PQclear(res);
    if (step_commit(c, err, errlen) != GW_RET_OK)
        return GW_RET_ERR;
    if (counts) {
        counts->deleted++;
        counts->messages += strtol(nmsg, NULL, 10);
        counts->contacts += ncontact;
    }
    return GW_RET_OK;
}

int gw_retention_delete_one(PGconn *c, const char *conv, gw_ret_reason reason, const rules *r,
                            int64_t now, const char *actor, bool *done, gw_ret_counts *counts,
                            char *err, size_t errlen)
{
    *done = false;
    if (!gw_retention_uuid_ok(conv)) {
        gw_clidb_seterr(err, errlen, "not a conversation id");
        return GW_RET_ERR;
    }
    int rc = shred_key(c, conv, reason, r, now, actor, counts, err, errlen);
    if (rc <= 0)
        return rc == 0 ? GW_RET_OK : rc;
    rc = delete_rows(c, conv, actor, counts, err, errlen);
    if (rc == GW_RET_OK)
        *done = true;
    return rc;
}

/* ---- a run -------------------------------------------------------------------------------- */

typedef struct {
    char id[40];
    gw_ret_reason reason;
} todo;

/* Housekeeping rows that can no longer do anything, so no table only grows:
 *  - webhook de-duplication keys: the platforms redeliver for at most 7 days
 *    (meta-platforms.md); a day of slack covers clock skew and a delivery in flight;
 *  - staff sessions expired or revoked more than 30 days ago (the DPO console lists live
 *    sessions only; 30 days keep a recent logout visible to whoever investigates one);
 *  - patient resume tokens expired more than a day ago (the widget starts afresh then).
 * All three hold keyed hashes and ids, no personal data, but a table nobody empties is a
 * liability. One statement, so a run counts exactly what it deleted. */
static int purge_expired(PGconn *c, int64_t now, gw_ret_counts *out, char *err, size_t errlen)
{
    char t[24];
    snprintf(t, sizeof t, "%lld", (long long)now);
    const char *v[] = {t};
    PGresult *res = gw_clidb_exec(
        c, PGRES_TUPLES_OK,
        "WITH w AS (DELETE FROM webhook_dedup WHERE received_at < "
        "to_timestamp($1::bigint) - interval '8 days' RETURNING 1), "
        "s AS (DELETE FROM staff_session WHERE coalesce(revoked_at, expires_at) < "
        "to_timestamp($1::bigint) - interval '30 days' RETURNING 1), "
        "p AS (DELETE FROM patient_session WHERE expires_at < "
        "to_timestamp($1::bigint) - interval '1 day' RETURNING 1) "
        "SELECT (SELECT count(*) FROM w), (SELECT count(*) FROM s) + (SELECT count(*) FROM p)",
        1, v, err, errlen);
    if (!res)
        return -1;
    out->webhook_keys = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    out->sessions = strtol(PQgetvalue(res, 0, 1), NULL, 10);
    PQclear(res);
    return 0;
}

static int audit_run(PGconn *c, const gw_ret_opts *o, const gw_ret_counts *n, char *err,
                     size_t errlen)
{
    char buf[13][24];
    long vals[13] = {
        n->examined, n->due,       n->keys_destroyed, n->deleted,     n->messages,
        n->contacts, n->kept_open, n->kept_hold,      n->kept_period, n->kept_unknown_class,
        n->skipped,  n->webhook_keys, n->sessions};
    const char *v[15];
    for (int i = 0; i < 13; i++) {
        snprintf(buf[i], sizeof buf[i], "%ld", vals[i]);
        v[i] = buf[i];
    }
    char now[24];
    snprintf(now, sizeof now, "%lld", (long long)o->now);
    v[13] = o->actor;
    v[14] = now;
    PGresult *res = gw_clidb_exec(
        c, PGRES_TUPLES_OK,
        "SELECT audit_append('retention.run', $14, '', jsonb_build_object("
        "'examined', $1::bigint, 'due', $2::bigint, 'data_keys_destroyed', $3::bigint, "
        "'conversations_deleted', $4::bigint, 'messages_deleted', $5::bigint, "
        "'contacts_deleted', $6::bigint, 'kept_open', $7::bigint, 'kept_legal_hold', $8::bigint, "
        "'kept_period', $9::bigint, 'kept_unknown_class', $10::bigint, 'skipped', $11::bigint, "
        "'webhook_keys_deleted', $12::bigint, 'sessions_deleted', $13::bigint, "
        "'clock', to_char(to_timestamp($15::bigint) AT TIME ZONE 'UTC', "
        "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')))",
        15, v, err, errlen);
    if (!res)
        return -1;
    PQclear(res);
    return 0;
}

int gw_retention_run(PGconn *c, const rules *r, const gw_ret_opts *o, gw_ret_counts *out, char *err,
                     size_t errlen)
{
    memset(out, 0, sizeof *out);
    PGresult *res =
        gw_clidb_exec(c, PGRES_TUPLES_OK, "SELECT pg_try_advisory_lock(" RETENTION_LOCK_KEY ")", 0,
                      NULL, err, errlen);
    if (!res)
        return GW_RET_ERR;
    bool locked = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (!locked) {
        gw_clidb_seterr(err, errlen, "another retention run is in progress");
        return GW_RET_BUSY;
    }
    int rc = GW_RET_OK;
    todo *list = NULL;

    /* Shredded ones first: they are half-done work of an interrupted run. */
    res = gw_clidb_exec(c, PGRES_TUPLES_OK,
                        "SELECT id::text, coalesce(extract(epoch FROM closed_at)::bigint, 0), "
                        "retention_class, legal_hold, shredded_at IS NOT NULL, "
                        "erase_requested_at IS NOT NULL FROM conversation "
                        "WHERE shredded_at IS NOT NULL OR erase_requested_at IS NOT NULL "
                        "OR closed_at IS NOT NULL "
                        "ORDER BY shredded_at IS NULL, closed_at NULLS FIRST, id",
                        0, NULL, err, errlen);
    if (!res) {
        rc = GW_RET_ERR;
        goto out;
    }
    int nrows = PQntuples(res);
    list = calloc((size_t)nrows + 1, sizeof *list);
    if (!list)
        abort();
    long ntodo = 0;
    for (int i = 0; i < nrows; i++) {
        bool hold = PQgetvalue(res, i, 3)[0] == 't';
        bool shredded = PQgetvalue(res, i, 4)[0] == 't';
        bool requested = PQgetvalue(res, i, 5)[0] == 't';
        retain_conv rcv = {.closed_at = strtoll(PQgetvalue(res, i, 1), NULL, 10),
                           .cls = PQgetvalue(res, i, 2),
                           .legal_hold = hold};
        out->examined++;
        gw_ret_reason reason = GW_RET_REASON_RETENTION;
        bool go = false;
        if (shredded) {
            go = true;
        } else if (requested && !hold) {
            go = true;
            reason = GW_RET_REASON_ERASURE;
        } else {
            switch (retain_decide(r, &rcv, o->now, NULL)) {
            case RETAIN_DUE: go = true; break;
            case RETAIN_KEEP_OPEN: out->kept_open++; break;
            case RETAIN_KEEP_HOLD: out->kept_hold++; break;
            case RETAIN_KEEP_PERIOD: out->kept_period++; break;
            case RETAIN_KEEP_UNKNOWN_CLASS: out->kept_unknown_class++; break;
            }
        }
        if (go) {
            snprintf(list[ntodo].id, sizeof list[ntodo].id, "%s", PQgetvalue(res, i, 0));
            list[ntodo].reason = reason;
            ntodo++;
        }
    }
    PQclear(res);
    out->due = ntodo;
    if (o->dry_run) {
        for (long i = 0; o->progress && i < ntodo; i++)
            fprintf(o->progress, "would delete conversation %s (%s)\n", list[i].id,
                    reason_name(list[i].reason));
        goto out;
    }
    gw_retention__progress(o->progress, "retention: deleting", 0, ntodo);
    for (long i = 0; i < ntodo; i++) {
        bool done = false;
        int drc = gw_retention_delete_one(c, list[i].id, list[i].reason, r, o->now, o->actor, &done,
                                          out, err, errlen);
        if (drc == GW_RET_ERR) {
            rc = GW_RET_ERR;
            goto out;
        }
        if (!done)
            out->skipped++;
        gw_retention__progress(o->progress, "retention: deleting", i + 1, ntodo);
    }
    if (purge_expired(c, o->now, out, err, errlen) != 0) {
        rc = GW_RET_ERR;
        goto out;
    }
    if (audit_run(c, o, out, err, errlen) != 0)
        rc = GW_RET_ERR;
out:
    free(list);
    PQclear(PQexec(c, "SELECT pg_advisory_unlock(" RETENTION_LOCK_KEY ")"));
    return rc;
}

/* ---- erasure and hold ------------------------------------------------------------------ */

int gw_retention_erase(PGconn *c, const char *conv, const char *contact, const char *actor,
                       FILE *progress, gw_ret_counts *counts, char *err, size_t errlen)
{
    const char *id = conv ? conv : contact;
    if (!gw_retention_uuid_ok(id) || (conv && contact)) {
        gw_clidb_seterr(err, errlen, "give one valid --conversation or --contact id");
        return GW_RET_ERR;
    }
    if (gw_clidb_cmd(c, "BEGIN", 0, NULL, err, errlen) != 0)
        return GW_RET_ERR;
    const char *v1[1] = {id};
    PGresult *res;
    if (conv) {
        res = gw_clidb_exec(
            c, PGRES_TUPLES_OK,
            "SELECT id::text, legal_hold FROM conversation WHERE id = $1::uuid FOR UPDATE", 1, v1,
            err, errlen);
    } else {
        PGresult *k = gw_clidb_exec(c, PGRES_TUPLES_OK,
                                    "SELECT 1 FROM contact WHERE id = $1::uuid FOR UPDATE", 1, v1,
                                    err, errlen);
        if (!k) {
            gw_clidb_rollback(c);
            return GW_RET_ERR;
        }
        int found = PQntuples(k);
        PQclear(k);
        if (!found) {
            gw_clidb_rollback(c);
            gw_clidb_seterr(err, errlen, "no such contact");
            return GW_RET_NOT_FOUND;
        }
        res = gw_clidb_exec(
            c, PGRES_TUPLES_OK,
            "SELECT id::text, legal_hold FROM conversation WHERE contact_id = $1::uuid "
            "ORDER BY id FOR UPDATE",
            1, v1, err, errlen);
    }
    if (!res) {
        gw_clidb_rollback(c);
        return GW_RET_ERR;
    }
    int n = PQntuples(res);
    if (conv && n == 0) {
        PQclear(res);
        gw_clidb_rollback(c);
        gw_clidb_seterr(err, errlen, "no such conversation");
        return GW_RET_NOT_FOUND;
    }
    for (int i = 0; i < n; i++) {
        if (PQgetvalue(res, i, 1)[0] == 't') {
            gw_clidb_seterr(err, errlen,
                            "legal_hold: conversation %s is on legal hold; erasure refused",
                            PQgetvalue(res, i, 0));
            PQclear(res);
            gw_clidb_rollback(c);
            /* The refusal itself is recorded, outside the rolled-back transaction. */
            const char *va[3] = {actor, conv ? "conversation:" : "contact:", id};
            PQclear(PQexecParams(c,
                                 "SELECT audit_append('erasure.refused', $1, $2 || $3, "
                                 "jsonb_build_object('reason', 'legal_hold'))",
                                 3, NULL, va, NULL, NULL, 0));
            return GW_RET_HOLD;
        }
    }
    char(*ids)[40] = calloc((size_t)n + 1, sizeof *ids);
    if (!ids)
        abort();
    for (int i = 0; i < n; i++)
        snprintf(ids[i], sizeof ids[i], "%s", PQgetvalue(res, i, 0));
    PQclear(res);
    char nconv[24];
    snprintf(nconv, sizeof nconv, "%d", n);
    const char *v2[4] = {actor, conv ? "conversation:" : "contact:", id, nconv};
    int rc = GW_RET_OK;
    if (conv)
        res = gw_clidb_exec(
            c, PGRES_COMMAND_OK,
            "UPDATE conversation SET erase_requested_at = coalesce(erase_requested_at, "
            "now()) WHERE id = $1::uuid",
            1, v1, err, errlen);
    else
        res = gw_clidb_exec(
            c, PGRES_COMMAND_OK,
            "UPDATE conversation SET erase_requested_at = coalesce(erase_requested_at, "
            "now()) WHERE contact_id = $1::uuid",
            1, v1, err, errlen);
    if (!res)
        goto fail;
    PQclear(res);
    res = gw_clidb_exec(c, PGRES_TUPLES_OK,
                        "SELECT audit_append('erasure.requested', $1, $2 || $3, "
                        "jsonb_build_object('conversations', $4::bigint))",
                        4, v2, err, errlen);
    if (!res)
        goto fail;
    PQclear(res);
    if (gw_clidb_cmd(c, "COMMIT", 0, NULL, err, errlen) != 0) {
        free(ids);
        return GW_RET_ERR;
    }
    gw_retention__step_done();

    gw_retention__progress(progress, "erasure: deleting", 0, n);
    for (int i = 0; i < n; i++) {
        bool done = false;
        rc = gw_retention_delete_one(c, ids[i], GW_RET_REASON_ERASURE, NULL, 0, actor, &done,
                                     counts, err, errlen);
        if (rc == GW_RET_ERR)
            break;
        gw_retention__progress(progress, "erasure: deleting", i + 1, n);
    }
    if (rc == GW_RET_OK && contact) {
        /* A contact without conversations (or whose last one went above) is removed too. */
        const char *v3[2] = {contact, actor};
        res =
            gw_clidb_exec(c, PGRES_TUPLES_OK,
                          "WITH d AS (DELETE FROM contact WHERE id = $1::uuid AND NOT EXISTS "
                          "(SELECT 1 FROM conversation WHERE contact_id = $1::uuid) RETURNING id) "
                          "SELECT audit_append('erasure.deleted', $2, 'contact:' || id::text, "
                          "jsonb_build_object('contact_deleted', true)) FROM d",
                          2, v3, err, errlen);
        if (!res)
            rc = GW_RET_ERR;
        else if (counts)
            counts->contacts += PQntuples(res);
        PQclear(res);
    }
    free(ids);
    return rc;
fail:
    free(ids);
    gw_clidb_rollback(c);
    return GW_RET_ERR;
}

bool gw_retention_reason_code_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_' || ch == '.' || ch == '/'))
            return false;
    }
    return true;
}

int gw_retention_hold(PGconn *c, const char *conv, bool on, const char *reason_code,
                      const char *actor, char *err, size_t errlen)
{
    if (!gw_retention_uuid_ok(conv)) {
        gw_clidb_seterr(err, errlen, "not a conversation id");
        return GW_RET_ERR;
    }
    /* A reason code, not a sentence: free text could carry names into the audit log. */
    if (reason_code && !gw_retention_reason_code_ok(reason_code)) {
        gw_clidb_seterr(err, errlen, "reason code: 1-64 characters of A-Z a-z 0-9 - _ . /");
        return GW_RET_ERR;
    }
    if (gw_clidb_cmd(c, "BEGIN", 0, NULL, err, errlen) != 0)
        return GW_RET_ERR;
    const char *v[4] = {conv, on ? "t" : "f", reason_code, actor};
    /* A shredded conversation is on its way out: a hold cannot bring its key back. */
    PGresult *res =
        gw_clidb_exec(c, PGRES_TUPLES_OK,
                      "WITH u AS (UPDATE conversation SET legal_hold = $2::boolean, "
                      "legal_hold_reason = CASE WHEN $2::boolean THEN $3 ELSE NULL END "
                      "WHERE id = $1::uuid AND shredded_at IS NULL RETURNING id) "
                      "SELECT audit_append(CASE WHEN $2::boolean THEN 'legal_hold.set' "
                      "ELSE 'legal_hold.lifted' END, $4, 'conversation:' || id::text, "
                      "jsonb_strip_nulls(jsonb_build_object('reason_code', $3::text))) FROM u",
                      4, v, err, errlen);
    if (!res) {
        gw_clidb_rollback(c);
        return GW_RET_ERR;
    }
    int n = PQntuples(res);
    PQclear(res);
    if (n == 0) {
        gw_clidb_rollback(c);
        gw_clidb_seterr(err, errlen, "no such conversation (or it is being deleted)");
        return GW_RET_NOT_FOUND;
    }
    return gw_clidb_cmd(c, "COMMIT", 0, NULL, err, errlen) == 0 ? GW_RET_OK : GW_RET_ERR;
}
