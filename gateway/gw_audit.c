/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gw_audit: `caregate audit verify|export|checkpoint` and the server's checkpoint tick
 * (see gw_audit.h). Verification reads the log in one REPEATABLE READ snapshot so the
 * head row, checkpoints and records agree with each other, streams records in single-row
 * mode (the log may be large) and lets policy/audit.c judge. Exports carry everything an
 * outsider needs (records exactly as hashed, checkpoints, public keys, and for a whole-log
 * export the head) so that `caregate audit verify --file` needs no database.
 *
 * What this file does not do: append records (SQL does, in the caller's transaction),
 * hold keys beyond one command, or trust keys found in the database or in an export
 * without saying so.
 */
#define _GNU_SOURCE /* getline, O_CLOEXEC */
#include "gw_audit.h"

#include "gw_cli.h"
#include "gw_keys.h"
#include "gw_log.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_TRUSTED 16

static const char HEAD_SQL[] =
    "SELECT h.seq, encode(h.hash, 'hex'), c.n, c.seq "
    "FROM audit_head h LEFT JOIN LATERAL "
    "(SELECT n, seq FROM audit_checkpoint ORDER BY n DESC LIMIT 1) c ON true";
static const char ADD_SQL[] =
    "SELECT audit_checkpoint_add($1::bigint, $2::bigint, decode($3, 'hex'), $4, "
    "decode($5, 'hex'), $6, decode($7, 'hex'))";

static int hex_exact(const char *hex, uint8_t *out, size_t n)
{
    size_t got = 0;
    const char *end = NULL;
    if (!hex || sodium_hex2bin(out, n, hex, strlen(hex), NULL, &got, &end) != 0 || got != n ||
        *end != '\0')
        return -1;
    return 0;
}

/* ---- checkpoints ---------------------------------------------------------------------- */

typedef struct {
    int64_t n, seq;
    char ts[AUDIT_TS_LEN + 1];
    char hash_hex[AUDIT_HASH_BYTES * 2 + 1];
    char sig_hex[AUDIT_SIG_BYTES * 2 + 1];
    char pk_hex[AUDIT_PK_BYTES * 2 + 1];
    char n_s[24], seq_s[24];
    char key_id[AUDIT_KEY_ID_LEN + 1];
} cp_plan;

/*
 * From the HEAD_SQL row: decides whether a checkpoint is due and, if so, signs it.
 * Returns 1 (plan ready), 0 (nothing new) or -1 (unexpected result).
 */
static int plan_checkpoint(PGresult *res, const audit_signer *signer, cp_plan *p)
{
    if (PQntuples(res) != 1 || PQnfields(res) != 4)
        return -1;
    int64_t head = atoll(PQgetvalue(res, 0, 0));
    int64_t last_n = PQgetisnull(res, 0, 2) ? 0 : atoll(PQgetvalue(res, 0, 2));
    int64_t last_seq = PQgetisnull(res, 0, 3) ? 0 : atoll(PQgetvalue(res, 0, 3));
    /* Nothing since the last checkpoint but (at most) its own announcement record. */
    if (head == 0 || (last_n > 0 && head <= last_seq + 1))
        return 0;
    audit_checkpoint cp;
    memset(&cp, 0, sizeof cp);
    cp.n = last_n + 1;
    cp.seq = head;
    if (hex_exact(PQgetvalue(res, 0, 1), cp.hash, sizeof cp.hash) != 0)
        return -1;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    if (audit_ts_format((int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000, p->ts, sizeof p->ts) !=
        AUDIT_OK)
        return -1;
    cp.ts = p->ts;
    if (audit_checkpoint_sign(signer, &cp) != AUDIT_OK)
        return -1;
    uint8_t pk[AUDIT_PK_BYTES];
    audit_signer_public_key(signer, pk);
    p->n = cp.n;
    p->seq = cp.seq;
    snprintf(p->n_s, sizeof p->n_s, "%lld", (long long)cp.n);
    snprintf(p->seq_s, sizeof p->seq_s, "%lld", (long long)cp.seq);
    sodium_bin2hex(p->hash_hex, sizeof p->hash_hex, cp.hash, sizeof cp.hash);
    sodium_bin2hex(p->sig_hex, sizeof p->sig_hex, cp.signature, sizeof cp.signature);
    sodium_bin2hex(p->pk_hex, sizeof p->pk_hex, pk, sizeof pk);
    memcpy(p->key_id, cp.key_id, sizeof p->key_id);
    return 1;
}

static void plan_params(const cp_plan *p, const char *values[7])
{
    values[0] = p->n_s;
    values[1] = p->seq_s;
    values[2] = p->hash_hex;
    values[3] = p->ts;
    values[4] = p->sig_hex;
    values[5] = p->key_id;
    values[6] = p->pk_hex;
}

/* The hash goes to the operational log on purpose: journald then holds an anchor of the
 * chain outside the database (a hash reveals nothing about the records). */
static void log_written(const cp_plan *p)
{
    gw_info("audit", "checkpoint written n=%lld seq=%lld hash=%s key=%s", (long long)p->n,
            (long long)p->seq, p->hash_hex, p->key_id);
}

typedef struct {
    gw_db *db;
    const audit_signer *signer;
    void (*done)(void *arg, int result);
    void *arg;
    cp_plan plan;
} tick_ctx;

static void tick_finish(tick_ctx *t, int result)
{
    if (t->done)
        t->done(t->arg, result);
    free(t);
}

static void tick_added(void *arg, gw_db_status st, PGresult *res, const char *sqlstate,
                       const char *errmsg)
{
    tick_ctx *t = arg;
    (void)res;
    (void)errmsg;
    if (st == GW_DB_OK) {
        log_written(&t->plan);
        tick_finish(t, 1);
    } else if (st == GW_DB_ERR_QUERY && strcmp(sqlstate, "23505") == 0) {
        gw_debug("audit", "checkpoint n=%lld written by another process", (long long)t->plan.n);
        tick_finish(t, 0);
    } else {
        gw_warn("audit", "checkpoint insert failed status=%d sqlstate=%s", (int)st, sqlstate);
        tick_finish(t, -1);
    }
}

static void tick_head(void *arg, gw_db_status st, PGresult *res, const char *sqlstate,
                      const char *errmsg)
{
    tick_ctx *t = arg;
    (void)errmsg;
    if (st != GW_DB_OK) {
        gw_warn("audit", "checkpoint: reading the head failed status=%d sqlstate=%s", (int)st,
                sqlstate);
        tick_finish(t, -1);
        return;
    }
    int r = plan_checkpoint(res, t->signer, &t->plan);
    if (r <= 0) {
        if (r < 0)
            gw_warn("audit", "checkpoint: unexpected head row");
        tick_finish(t, r);
        return;
    }
    const char *values[7];
    plan_params(&t->plan, values);
    gw_db_params params = {.values = values, .n = 7};
    if (gw_db_query(t->db, ADD_SQL, &params, false, tick_added, t) != 0)
        tick_finish(t, -1); /* pool stopped: the callback will not run */
}

void gw_audit_checkpoint_tick(gw_db *db, const audit_signer *signer,
                              void (*done)(void *arg, int result), void *arg)
{
    tick_ctx *t = calloc(1, sizeof *t);
    if (!t)
        abort();
    t->db = db;
    t->signer = signer;
    t->done = done;
    t->arg = arg;
    if (gw_db_query(db, HEAD_SQL, NULL, false, tick_head, t) != 0)
        tick_finish(t, -1);
}

/* ---- the server's timer ---------------------------------------------------------------- */

struct gw_audit_checkpointer {
    uv_timer_t timer;
    gw_db *db;
    audit_signer *signer; /* owned */
    bool inflight;        /* a tick holds signer: free only after it reports */
    bool stopping;
    bool timer_closed;
    void (*done)(void *arg);
    void *done_arg;
};

static void ckpt_maybe_free(gw_audit_checkpointer *ck)
{
    if (!ck->stopping || ck->inflight || !ck->timer_closed)
        return;
    void (*done)(void *) = ck->done;
    void *arg = ck->done_arg;
    audit_signer_free(ck->signer);
    free(ck);
    if (done)
        done(arg);
}

static void ckpt_tick_done(void *arg, int result)
{
    gw_audit_checkpointer *ck = arg;
    (void)result; /* logged by the tick */
    ck->inflight = false;
    ckpt_maybe_free(ck);
}

static void ckpt_timer(uv_timer_t *t)
{
    gw_audit_checkpointer *ck = t->data;
    /* A slow database must not pile up ticks: skip while one is still running. */
    if (ck->inflight || ck->stopping)
        return;
    ck->inflight = true;
    gw_audit_checkpoint_tick(ck->db, ck->signer, ckpt_tick_done, ck);
}

static void ckpt_timer_closed(uv_handle_t *h)
{
    gw_audit_checkpointer *ck = h->data;
    ck->timer_closed = true;
    ckpt_maybe_free(ck);
}

gw_audit_checkpointer *gw_audit_checkpointer_start(uv_loop_t *loop, gw_db *db, const gw_config *cfg,
                                                   char *err, size_t errlen)
{
    audit_signer *s = NULL;
    if (gw_keys_load_audit_signer(cfg, &s, err, errlen) != 0)
        return NULL;
    gw_audit_checkpointer *ck = calloc(1, sizeof *ck);
    if (!ck)
        abort();
    ck->db = db;
    ck->signer = s;
    uv_timer_init(loop, &ck->timer);
    ck->timer.data = ck;
    uint64_t ms =
        (uint64_t)(cfg->audit_checkpoint_seconds > 0 ? cfg->audit_checkpoint_seconds : 60) * 1000;
    uv_timer_start(&ck->timer, ckpt_timer, ms, ms);
    gw_info("audit", "checkpoints every %lds, key %s", cfg->audit_checkpoint_seconds,
            audit_signer_key_id(s));
    return ck;
}

void gw_audit_checkpointer_stop(gw_audit_checkpointer *ck, void (*done)(void *arg), void *arg)
{
    if (!ck) {
        if (done)
            done(arg);
        return;
    }
    assert(!ck->stopping);
    ck->stopping = true;
    ck->done = done;
    ck->done_arg = arg;
    uv_timer_stop(&ck->timer);
    uv_close((uv_handle_t *)&ck->timer, ckpt_timer_closed);
}

int gw_audit_checkpoint_now(PGconn *db, const audit_signer *signer, FILE *report)
{
    PGresult *res = PQexec(db, HEAD_SQL);
    cp_plan plan;
    int r;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "caregate audit checkpoint: %s", PQerrorMessage(db));
        PQclear(res);
        return -1;
    }
    r = plan_checkpoint(res, signer, &plan);
    PQclear(res);
    if (r <= 0) {
        if (r == 0 && report)
            fprintf(report, "audit checkpoint: nothing new since the last checkpoint\n");
        return r;
    }
    const char *values[7];
    plan_params(&plan, values);
    res = PQexecParams(db, ADD_SQL, 7, NULL, values, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        const char *ss = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        int raced = ss && strcmp(ss, "23505") == 0;
        if (!raced)
            fprintf(stderr, "caregate audit checkpoint: %s", PQerrorMessage(db));
        else if (report)
            fprintf(report, "audit checkpoint: written by another process\n");
        PQclear(res);
        return raced ? 0 : -1;
    }
    PQclear(res);
    log_written(&plan);
    if (report)
        fprintf(report, "audit checkpoint n=%lld covers seq %lld (hash %s, key %s)\n",
                (long long)plan.n, (long long)plan.seq, plan.hash_hex, plan.key_id);
    return 1;
}

/* ---- verify the database -------------------------------------------------------------- */

static int report_verdict(audit_verifier *v, int status, FILE *out, const char *what)
{
    if (status == AUDIT_OK) {
        fprintf(out,
                "audit verify: OK: %s: %lld records, %lld checkpoints, signed up to seq %lld\n",
                what, (long long)audit_verifier_records(v),
                (long long)audit_verifier_checkpoints(v), (long long)audit_verifier_covered_seq(v));
        return 0;
    }
    fprintf(out, "audit verify: FAILED at seq %lld: %s: %s\n", (long long)audit_verifier_bad_seq(v),
            audit_strerror(status), audit_verifier_reason(v));
    return 1;
}

static bool exec_ok(PGconn *db, const char *sql)
{
    PGresult *r = PQexec(db, sql);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "caregate audit: %s", PQerrorMessage(db));
    PQclear(r);
    return ok;
}

static int feed_checkpoints(PGconn *db, audit_verifier *v, const char *where)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT n, seq, encode(hash, 'hex'), audit_ts_text(ts), encode(signature, 'hex'), "
             "key_id FROM audit_checkpoint %s ORDER BY n",
             where);
    PGresult *res = PQexec(db, sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "caregate audit: %s", PQerrorMessage(db));
        PQclear(res);
        return -1;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        audit_checkpoint cp;
        memset(&cp, 0, sizeof cp);
        cp.n = atoll(PQgetvalue(res, i, 0));
        cp.seq = atoll(PQgetvalue(res, i, 1));
        cp.ts = PQgetvalue(res, i, 3);
        snprintf(cp.key_id, sizeof cp.key_id, "%s", PQgetvalue(res, i, 5));
        /* The table's CHECKs fix the lengths; a bad value can only come from tampering
         * with constraints off, and then the signature check reports it. */
        (void)hex_exact(PQgetvalue(res, i, 2), cp.hash, sizeof cp.hash);
        (void)hex_exact(PQgetvalue(res, i, 4), cp.signature, sizeof cp.signature);
        audit_verifier_checkpoint(v, &cp);
    }
    PQclear(res);
    return 0;
}

int gw_audit_verify_db(PGconn *db, const uint8_t (*pks)[AUDIT_PK_BYTES], size_t npk, FILE *out)
{
    audit_verifier *v = NULL;
    PGresult *res = NULL;
    int rc = -1, status;
    bool in_tx = false;
    if (audit_verifier_new(AUDIT_VERIFY_FULL, &v) != AUDIT_OK)
        goto out;
    for (size_t i = 0; i < npk; i++)
        audit_verifier_trust(v, pks[i]);
    if (!exec_ok(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"))
        goto out;
    in_tx = true;
    res = PQexec(db, "SELECT seq, encode(hash, 'hex') FROM audit_head");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "caregate audit: %s", PQerrorMessage(db));
        goto out;
    }
    int64_t head_seq = 0;
    uint8_t head_hash[AUDIT_HASH_BYTES];
    bool have_head =
        PQntuples(res) == 1 && hex_exact(PQgetvalue(res, 0, 1), head_hash, sizeof head_hash) == 0;
    if (have_head)
        head_seq = atoll(PQgetvalue(res, 0, 0));
    PQclear(res);
    res = NULL;
    if (feed_checkpoints(db, v, "") != 0)
        goto out;

    if (!PQsendQuery(db,
                     "SELECT seq, audit_ts_text(ts), event, actor, subject, details, "
                     "encode(prev_hash, 'hex'), encode(hash, 'hex') FROM audit_log ORDER BY seq") ||
        !PQsetSingleRowMode(db)) {
        fprintf(stderr, "caregate audit: %s", PQerrorMessage(db));
        goto out;
    }
    bool failed = false;
    while ((res = PQgetResult(db)) != NULL) {
        ExecStatusType es = PQresultStatus(res);
        if (es == PGRES_SINGLE_TUPLE) {
            audit_record r;
            memset(&r, 0, sizeof r);
            r.seq = atoll(PQgetvalue(res, 0, 0));
            r.ts = PQgetvalue(res, 0, 1);
            r.event = PQgetvalue(res, 0, 2);
            r.actor = PQgetvalue(res, 0, 3);
            r.subject = PQgetvalue(res, 0, 4);
            r.details = PQgetvalue(res, 0, 5);
            (void)hex_exact(PQgetvalue(res, 0, 6), r.prev_hash, sizeof r.prev_hash);
            (void)hex_exact(PQgetvalue(res, 0, 7), r.hash, sizeof r.hash);
            /* Keep draining after a failure: libpq needs the whole result consumed. */
            audit_verifier_record(v, &r);
        } else if (es != PGRES_TUPLES_OK) {
            fprintf(stderr, "caregate audit: %s", PQerrorMessage(db));
            failed = true;
        }
        PQclear(res);
    }
    if (failed)
        goto out;
    if (!have_head) {
        /* The head row is gone: that is tampering too, and truncation becomes undetectable. */
        status = audit_verifier_finish(v, audit_verifier_records(v), NULL);
        if (status == AUDIT_OK) {
            fprintf(out,
                    "audit verify: FAILED at seq %lld: truncated: the audit_head row is missing\n",
                    (long long)(audit_verifier_records(v) + 1));
            rc = 1;
            goto out;
        }
    } else {
        status = audit_verifier_finish(v, head_seq, head_hash);
    }
    rc = report_verdict(v, status, out, "database");
out:
    if (in_tx)
        (void)exec_ok(db, "COMMIT");
    audit_verifier_free(v);
    return rc;
}

/* ---- export ----------------------------------------------------------------------------- */

typedef enum { FMT_JSONL, FMT_CSV } export_format;

/* CSV: RFC 4180 quoting, one header line; every row has all columns. */
static const char *const CSV_COLS[GW_AUDIT_X_NCOLS] = {
    "kind",    "seq",       "n",    "ts",     "event",     "actor",     "subject",
    "details", "prev_hash", "hash", "key_id", "signature", "public_key"};

static void csv_field(FILE *f, const char *s)
{
    if (!s)
        s = "";
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void csv_row(FILE *f, const char *const cols[GW_AUDIT_X_NCOLS])
{
    for (size_t i = 0; i < GW_AUDIT_X_NCOLS; i++) {
        if (i)
            fputc(',', f);
        csv_field(f, cols[i]);
    }
    fputs("\r\n", f);
}

int gw_audit_export_line(const char *const cols[GW_AUDIT_X_NCOLS], json_dump_callback_t write,
                         void *data)
{
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string(cols[GW_AUDIT_X_KIND]));
    for (size_t i = 1; i < GW_AUDIT_X_NCOLS; i++) {
        if (!cols[i])
            continue;
        if (i == GW_AUDIT_X_SEQ || i == GW_AUDIT_X_N)
            json_object_set_new(o, CSV_COLS[i], json_integer(atoll(cols[i])));
        else
            json_object_set_new(o, CSV_COLS[i], json_string(cols[i]));
    }
    int rc =
        json_dump_callback(o, write, data, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
    json_decref(o);
    if (rc != 0)
        return -1;
    return write("\n", 1, data) == 0 ? 0 : -1;
}

void gw_audit_export_record(const PGresult *res, int i, const char *cols[GW_AUDIT_X_NCOLS])
{
    for (size_t c = 0; c < GW_AUDIT_X_NCOLS; c++)
        cols[c] = NULL;
    cols[GW_AUDIT_X_KIND] = "record";
    cols[GW_AUDIT_X_SEQ] = PQgetvalue(res, i, 0);
    cols[GW_AUDIT_X_TS] = PQgetvalue(res, i, 1);
    cols[GW_AUDIT_X_EVENT] = PQgetvalue(res, i, 2);
    cols[GW_AUDIT_X_ACTOR] = PQgetvalue(res, i, 3);
    cols[GW_AUDIT_X_SUBJECT] = PQgetvalue(res, i, 4);
    cols[GW_AUDIT_X_DETAILS] = PQgetvalue(res, i, 5);
    cols[GW_AUDIT_X_PREV] = PQgetvalue(res, i, 6);
    cols[GW_AUDIT_X_HASH] = PQgetvalue(res, i, 7);
}

void gw_audit_export_checkpoint(const PGresult *res, int i, const char *cols[GW_AUDIT_X_NCOLS])
{
    for (size_t c = 0; c < GW_AUDIT_X_NCOLS; c++)
        cols[c] = NULL;
    cols[GW_AUDIT_X_KIND] = "checkpoint";
    cols[GW_AUDIT_X_N] = PQgetvalue(res, i, 0);
    cols[GW_AUDIT_X_SEQ] = PQgetvalue(res, i, 1);
    cols[GW_AUDIT_X_TS] = PQgetvalue(res, i, 2);
    cols[GW_AUDIT_X_HASH] = PQgetvalue(res, i, 3);
    cols[GW_AUDIT_X_KEYID] = PQgetvalue(res, i, 4);
    cols[GW_AUDIT_X_SIG] = PQgetvalue(res, i, 5);
}

static int file_write(const char *buf, size_t n, void *data)
{
    return fwrite(buf, 1, n, data) == n ? 0 : -1;
}

static void emit(FILE *f, export_format fmt, const char *const cols[GW_AUDIT_X_NCOLS])
{
    if (fmt == FMT_CSV)
        csv_row(f, cols);
    else
        (void)gw_audit_export_line(cols, file_write, f); /* ferror(f) is checked at the end */
}

/* IMPLEMENTATION-OF: AUD-5 (what an outsider needs is in the file). */
static int audit_export(PGconn *db, const char *from, const char *to, export_format fmt,
                        const uint8_t pk[AUDIT_PK_BYTES], FILE *f)
{
    PGresult *res = NULL;
    int rc = -1;
    bool in_tx = false;
    bool complete = !from && !to;
    if (!exec_ok(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"))
        goto out;
    in_tx = true;
    /* The range is taken as a seq range (first seq at/after from .. last seq before to), so
     * a clock that stepped back cannot punch holes into the exported chain. */
    const char *params[2] = {from, to};
    res = PQexecParams(
        db,
        "SELECT coalesce((SELECT min(seq) FROM audit_log WHERE $1::timestamptz IS NULL "
        "OR ts >= $1::timestamptz), 0), "
        "coalesce((SELECT max(seq) FROM audit_log WHERE $2::timestamptz IS NULL "
        "OR ts < $2::timestamptz), 0), "
        "audit_ts_text(clock_timestamp()), h.seq, encode(h.hash, 'hex') "
        "FROM audit_head h",
        2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        fprintf(stderr, "caregate audit export: %s", PQerrorMessage(db));
        goto out;
    }
    char first[24], last[24], now[40], head_seq[24], head_hash[80];
    snprintf(first, sizeof first, "%s", PQgetvalue(res, 0, 0));
    snprintf(last, sizeof last, "%s", PQgetvalue(res, 0, 1));
    snprintf(now, sizeof now, "%s", PQgetvalue(res, 0, 2));
    snprintf(head_seq, sizeof head_seq, "%s", PQgetvalue(res, 0, 3));
    snprintf(head_hash, sizeof head_hash, "%s", PQgetvalue(res, 0, 4));
    PQclear(res);
    res = NULL;

    if (fmt == FMT_CSV)
        csv_row(f, CSV_COLS);
    {
        const char *cols[GW_AUDIT_X_NCOLS] = {0};
        cols[GW_AUDIT_X_KIND] = "header";
        cols[GW_AUDIT_X_EVENT] = GW_AUDIT_EXPORT_FORMAT;
        cols[GW_AUDIT_X_SUBJECT] = complete ? "complete" : "range";
        cols[GW_AUDIT_X_TS] = now;
        cols[GW_AUDIT_X_DETAILS] = NULL;
        emit(f, fmt, cols);
    }
    /* Public keys: the local one first, then any other key that signed an exported
     * checkpoint (after a signing key rotation). The verifier reports which it used. */
    char local_id[AUDIT_KEY_ID_LEN + 1] = "";
    if (pk) {
        char b64[sodium_base64_ENCODED_LEN(AUDIT_PK_BYTES, sodium_base64_VARIANT_ORIGINAL)];
        sodium_bin2base64(b64, sizeof b64, pk, AUDIT_PK_BYTES, sodium_base64_VARIANT_ORIGINAL);
        audit_key_id(pk, local_id);
        const char *cols[GW_AUDIT_X_NCOLS] = {0};
        cols[GW_AUDIT_X_KIND] = "key";
        cols[GW_AUDIT_X_KEYID] = local_id;
        cols[GW_AUDIT_X_PK] = b64;
        emit(f, fmt, cols);
    }
    const char *rp[3] = {first, last, local_id};
    res = PQexecParams(db,
                       "SELECT DISTINCT key_id, encode(public_key, 'base64') FROM audit_checkpoint "
                       "WHERE seq BETWEEN $1 AND $2 AND key_id <> $3",
                       3, NULL, rp, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "caregate audit export: %s", PQerrorMessage(db));
        goto out;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        const char *cols[GW_AUDIT_X_NCOLS] = {0};
        cols[GW_AUDIT_X_KIND] = "key";
        cols[GW_AUDIT_X_KEYID] = PQgetvalue(res, i, 0);
        cols[GW_AUDIT_X_PK] = PQgetvalue(res, i, 1);
        emit(f, fmt, cols);
    }
    PQclear(res);
    res = NULL;
    if (complete) {
        const char *cols[GW_AUDIT_X_NCOLS] = {0};
        cols[GW_AUDIT_X_KIND] = "head";
        cols[GW_AUDIT_X_SEQ] = head_seq;
        cols[GW_AUDIT_X_HASH] = head_hash;
        emit(f, fmt, cols);
    }
    /* In a complete export every checkpoint goes in, so a checkpoint pointing past the
     * last record (truncation) is visible offline too. */
    res =
        PQexecParams(db,
                     complete ? "SELECT n, seq, audit_ts_text(ts), encode(hash, 'hex'), key_id, "
                                "encode(signature, 'hex') FROM audit_checkpoint "
                                "WHERE $1::bigint IS NOT NULL AND $2::bigint IS NOT NULL ORDER BY n"
                              : "SELECT n, seq, audit_ts_text(ts), encode(hash, 'hex'), key_id, "
                                "encode(signature, 'hex') FROM audit_checkpoint "
                                "WHERE seq BETWEEN $1 AND $2 ORDER BY n",
                     2, NULL, rp, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "caregate audit export: %s", PQerrorMessage(db));
        goto out;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        const char *cols[GW_AUDIT_X_NCOLS];
        gw_audit_export_checkpoint(res, i, cols);
        emit(f, fmt, cols);
    }
    PQclear(res);
    res = NULL;

    if (!PQsendQueryParams(db,
                           "SELECT seq, audit_ts_text(ts), event, actor, subject, details, "
                           "encode(prev_hash, 'hex'), encode(hash, 'hex') FROM audit_log "
                           "WHERE seq BETWEEN $1 AND $2 ORDER BY seq",
                           2, NULL, rp, NULL, NULL, 0) ||
        !PQsetSingleRowMode(db)) {
        fprintf(stderr, "caregate audit export: %s", PQerrorMessage(db));
        goto out;
    }
    bool failed = false;
    while ((res = PQgetResult(db)) != NULL) {
        ExecStatusType es = PQresultStatus(res);
        if (es == PGRES_SINGLE_TUPLE) {
            const char *cols[GW_AUDIT_X_NCOLS];
            gw_audit_export_record(res, 0, cols);
            emit(f, fmt, cols);
        } else if (es != PGRES_TUPLES_OK) {
            fprintf(stderr, "caregate audit export: %s", PQerrorMessage(db));
            failed = true;
        }
        PQclear(res);
    }
    res = NULL;
    if (failed)
        goto out;
    if (fflush(f) != 0 || ferror(f)) {
        fprintf(stderr, "caregate audit export: write failed: %s\n", strerror(errno));
        goto out;
    }
    rc = 0;
out:
    PQclear(res);
    if (in_tx)
        (void)exec_ok(db, "COMMIT");
    return rc;
}

/* ---- verify an export ---------------------------------------------------------------- */

typedef struct {
    char *col[GW_AUDIT_X_NCOLS];
} xrow;

typedef struct {
    xrow *rows;
    size_t n, cap;
} xrows;

static void xrows_free(xrows *x)
{
    for (size_t i = 0; i < x->n; i++)
        for (size_t c = 0; c < GW_AUDIT_X_NCOLS; c++)
            free(x->rows[i].col[c]);
    free(x->rows);
    memset(x, 0, sizeof *x);
}

static xrow *xrows_add(xrows *x)
{
    if (x->n == x->cap) {
        size_t ncap = x->cap ? x->cap * 2 : 256;
        xrow *nr = realloc(x->rows, ncap * sizeof *nr);
        if (!nr)
            abort();
        x->rows = nr;
        x->cap = ncap;
    }
    xrow *r = &x->rows[x->n++];
    memset(r, 0, sizeof *r);
    return r;
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        abort();
    return d;
}

static int parse_jsonl_line(const char *line, xrow *r, char *err, size_t errlen)
{
    json_error_t je;
    json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(o)) {
        json_decref(o);
        snprintf(err, errlen, "not a JSON object");
        return -1;
    }
    json_t *t = json_object_get(o, "type");
    if (!json_is_string(t)) {
        json_decref(o);
        snprintf(err, errlen, "no \"type\"");
        return -1;
    }
    r->col[GW_AUDIT_X_KIND] = xstrdup(json_string_value(t));
    for (size_t i = 1; i < GW_AUDIT_X_NCOLS; i++) {
        json_t *v = json_object_get(o, CSV_COLS[i]);
        char num[32];
        if (json_is_string(v)) {
            r->col[i] = xstrdup(json_string_value(v));
        } else if (json_is_integer(v)) {
            snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
            r->col[i] = xstrdup(num);
        }
    }
    json_decref(o);
    return 0;
}

/* Parses one CSV record starting at *p (RFC 4180); advances *p. Returns fields or -1. */
static int parse_csv_record(const char **p, const char *end, xrow *r)
{
    size_t ncol = 0;
    const char *s = *p;
    char *buf = NULL;
    size_t blen = 0, bcap = 0;
    for (;;) {
        bool quoted = s < end && *s == '"';
        blen = 0;
        if (quoted)
            s++;
        while (s < end) {
            char c = *s;
            if (quoted) {
                if (c == '"') {
                    if (s + 1 < end && s[1] == '"') {
                        s += 2;
                        c = '"';
                    } else {
                        s++;
                        quoted = false;
                        continue;
                    }
                } else {
                    s++;
                }
            } else {
                if (c == ',' || c == '\n' || c == '\r')
                    break;
                s++;
            }
            if (blen + 2 > bcap) {
                bcap = bcap ? bcap * 2 : 64;
                char *nb = realloc(buf, bcap);
                if (!nb)
                    abort();
                buf = nb;
            }
            buf[blen++] = c;
        }
        if (quoted) { /* unterminated quote */
            free(buf);
            return -1;
        }
        if (ncol < GW_AUDIT_X_NCOLS) {
            char *v = malloc(blen + 1);
            if (!v)
                abort();
            if (blen)
                memcpy(v, buf, blen);
            v[blen] = '\0';
            r->col[ncol] = v;
        }
        ncol++;
        if (s < end && *s == ',') {
            s++;
            continue;
        }
        break;
    }
    while (s < end && (*s == '\r' || *s == '\n'))
        s++;
    *p = s;
    free(buf);
    return (int)ncol;
}

/* Splits an export (JSONL or CSV) held in memory into rows. name is for messages.
 * Returns 0, or -2 when the content is malformed (reason written to out). */
static int parse_export(const char *all, size_t len, const char *name, xrows *x, FILE *out)
{
    int rc = 0;
    const char *p = all, *end = all + len;
    if (len > 0 && all[0] == '{') {
        int lineno = 0;
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const char *le = nl ? nl : end;
            lineno++;
            if (le > p) {
                char *line = strndup(p, (size_t)(le - p));
                char err[128] = "out of memory";
                xrow *r = xrows_add(x);
                if (!line || parse_jsonl_line(line, r, err, sizeof err) != 0) {
                    fprintf(out, "audit verify: FAILED: %s line %d: %s\n", name, lineno, err);
                    free(line);
                    rc = -2;
                    break;
                }
                free(line);
            }
            p = nl ? nl + 1 : end;
        }
    } else {
        /* CSV: skip the header row, then records. */
        xrow hdr;
        memset(&hdr, 0, sizeof hdr);
        int nc = parse_csv_record(&p, end, &hdr);
        bool ok = nc == (int)GW_AUDIT_X_NCOLS && hdr.col[0] && strcmp(hdr.col[0], "kind") == 0;
        for (size_t c = 0; c < GW_AUDIT_X_NCOLS; c++)
            free(hdr.col[c]);
        if (!ok) {
            fprintf(out, "audit verify: FAILED: %s: neither a JSONL nor a CSV audit export\n",
                    name);
            rc = -2;
        }
        int lineno = 1;
        while (rc == 0 && p < end) {
            xrow *r = xrows_add(x);
            lineno++;
            if (parse_csv_record(&p, end, r) != (int)GW_AUDIT_X_NCOLS) {
                fprintf(out, "audit verify: FAILED: %s row %d: malformed CSV\n", name, lineno);
                rc = -2;
            }
        }
    }
    return rc;
}

static int64_t col_int(const xrow *r, int c)
{
    /* strtoll saturates where atoll would be undefined; the verifier range-checks. */
    return r->col[c] ? (int64_t)strtoll(r->col[c], NULL, 10) : 0;
}

static const char *col_str(const xrow *r, int c)
{
    return r->col[c] ? r->col[c] : "";
}

int gw_audit_verify_file(const char *path, const uint8_t (*pks)[AUDIT_PK_BYTES], size_t npk,
                         FILE *out)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        fprintf(out, "audit verify: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    char *all = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&all, &len);
    if (!mem)
        abort();
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        fwrite(chunk, 1, n, mem);
    int rerr = ferror(f);
    fclose(f);
    fclose(mem);
    int rc = -1;
    if (rerr)
        fprintf(out, "audit verify: cannot read %s\n", path);
    else
        rc = gw_audit_verify_export(all, len, path, pks, npk, out);
    free(all);
    return rc;
}

int gw_audit_verify_export(const char *data, size_t len, const char *name,
                           const uint8_t (*pks)[AUDIT_PK_BYTES], size_t npk, FILE *out)
{
    xrows x = {0};
    audit_verifier *v = NULL;
    const char *path = name;
    int rc = parse_export(data, len, name, &x, out);
    if (rc == -2) {
        rc = 1; /* unreadable content: the export does not verify */
        goto out;
    }
    rc = -1;
    const xrow *hdr = x.n ? &x.rows[0] : NULL;
    if (!hdr || strcmp(col_str(hdr, GW_AUDIT_X_KIND), "header") != 0 ||
        strcmp(col_str(hdr, GW_AUDIT_X_EVENT), GW_AUDIT_EXPORT_FORMAT) != 0) {
        fprintf(out, "audit verify: FAILED: %s: no %s header\n", path, GW_AUDIT_EXPORT_FORMAT);
        rc = 1;
        goto out;
    }
    bool complete = strcmp(col_str(hdr, GW_AUDIT_X_SUBJECT), "complete") == 0;
    if (audit_verifier_new(complete ? AUDIT_VERIFY_FULL : AUDIT_VERIFY_PARTIAL, &v) != AUDIT_OK)
        goto out;
    for (size_t i = 0; i < npk; i++)
        audit_verifier_trust(v, pks[i]);
    int64_t head_seq = 0;
    uint8_t head_hash[AUDIT_HASH_BYTES];
    bool have_head = false;
    /* Pass 1: keys, head, checkpoints. Keys named in the file are trusted only when the
     * caller gave none, and then reported so a human compares the ids. */
    for (size_t i = 1; i < x.n; i++) {
        const xrow *r = &x.rows[i];
        const char *kind = col_str(r, GW_AUDIT_X_KIND);
        if (strcmp(kind, "key") == 0 && npk == 0) {
            uint8_t pk[AUDIT_PK_BYTES];
            size_t got = 0;
            const char *b64 = col_str(r, GW_AUDIT_X_PK);
            if (sodium_base642bin(pk, sizeof pk, b64, strlen(b64), "\n", &got, NULL,
                                  sodium_base64_VARIANT_ORIGINAL) == 0 &&
                got == sizeof pk) {
                char id[AUDIT_KEY_ID_LEN + 1];
                audit_key_id(pk, id);
                fprintf(out,
                        "audit verify: trusting key id %s named in the export: compare it with "
                        "the clinic's published key id, or pass --pubkey\n",
                        id);
                audit_verifier_trust(v, pk);
            }
        } else if (strcmp(kind, "head") == 0) {
            head_seq = col_int(r, GW_AUDIT_X_SEQ);
            have_head = hex_exact(col_str(r, GW_AUDIT_X_HASH), head_hash, sizeof head_hash) == 0;
        } else if (strcmp(kind, "checkpoint") == 0) {
            audit_checkpoint cp;
            memset(&cp, 0, sizeof cp);
            cp.n = col_int(r, GW_AUDIT_X_N);
            cp.seq = col_int(r, GW_AUDIT_X_SEQ);
            cp.ts = col_str(r, GW_AUDIT_X_TS);
            snprintf(cp.key_id, sizeof cp.key_id, "%s", col_str(r, GW_AUDIT_X_KEYID));
            (void)hex_exact(col_str(r, GW_AUDIT_X_HASH), cp.hash, sizeof cp.hash);
            (void)hex_exact(col_str(r, GW_AUDIT_X_SIG), cp.signature, sizeof cp.signature);
            audit_verifier_checkpoint(v, &cp);
        } else if (strcmp(kind, "record") != 0 && strcmp(kind, "key") != 0) {
            fprintf(out, "audit verify: FAILED: %s: unknown row kind '%s'\n", path, kind);
            rc = 1;
            goto out;
        }
    }
    /* Pass 2: records, in file order (a reordered file is reported as such). */
    for (size_t i = 1; i < x.n; i++) {
        const xrow *r = &x.rows[i];
        if (strcmp(col_str(r, GW_AUDIT_X_KIND), "record") != 0)
            continue;
        audit_record rec;
        memset(&rec, 0, sizeof rec);
        rec.seq = col_int(r, GW_AUDIT_X_SEQ);
        rec.ts = col_str(r, GW_AUDIT_X_TS);
        rec.event = col_str(r, GW_AUDIT_X_EVENT);
        rec.actor = col_str(r, GW_AUDIT_X_ACTOR);
        rec.subject = col_str(r, GW_AUDIT_X_SUBJECT);
        rec.details = col_str(r, GW_AUDIT_X_DETAILS);
        (void)hex_exact(col_str(r, GW_AUDIT_X_PREV), rec.prev_hash, sizeof rec.prev_hash);
        (void)hex_exact(col_str(r, GW_AUDIT_X_HASH), rec.hash, sizeof rec.hash);
        audit_verifier_record(v, &rec);
    }
    if (complete && !have_head) {
        fprintf(out, "audit verify: FAILED: %s: complete export without its head row\n", path);
        rc = 1;
        goto out;
    }
    int status = audit_verifier_finish(v, head_seq, complete ? head_hash : NULL);
    rc = report_verdict(v, status, out, complete ? "complete export" : "export of a range");
    if (rc == 0 && audit_verifier_records(v) > 0 &&
        audit_verifier_covered_seq(v) < (int64_t)col_int(&x.rows[x.n - 1], GW_AUDIT_X_SEQ))
        fprintf(out,
                "audit verify: note: records after seq %lld are not covered by a signed "
                "checkpoint in this export\n",
                (long long)audit_verifier_covered_seq(v));
out:
    audit_verifier_free(v);
    xrows_free(&x);
    return rc;
}

/* ---- CLI ------------------------------------------------------------------------------ */

static void usage(void)
{
    fprintf(stderr,
            "usage: caregate audit verify [--file EXPORT] [--pubkey FILE]...\n"
            "       caregate audit export [--from T] [--to T] [--format jsonl|csv] [--out FILE]\n"
            "       caregate audit checkpoint\n"
            "T is an RFC 3339 time; the range is [from, to).\n");
}

/* IMPLEMENTATION-OF: AUD-3 (keys come from files, never from the database). */
static int cli_verify(const gw_config *cfg, int argc, char **argv)
{
    const char *file = NULL;
    uint8_t pks[MAX_TRUSTED][AUDIT_PK_BYTES];
    size_t npk = 0;
    char err[512];
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--file") == 0 && i + 1 < argc) {
            file = argv[++i];
        } else if (strcmp(argv[i], "--pubkey") == 0 && i + 1 < argc && npk < MAX_TRUSTED) {
            if (gw_keys_read_public(argv[++i], pks[npk], err, sizeof err) != 0) {
                fprintf(stderr, "caregate audit verify: %s\n", err);
                return 2;
            }
            npk++;
        } else {
            usage();
            return 2;
        }
    }
    if (file)
        return gw_audit_verify_file(file, (const uint8_t(*)[AUDIT_PK_BYTES])pks, npk, stdout) == 0
                   ? 0
                   : 1;
    if (npk == 0) {
        if (gw_keys_audit_public(cfg, pks[0], err, sizeof err) != 0) {
            fprintf(stderr, "caregate audit verify: no trusted public key: %s (use --pubkey)\n",
                    err);
            return 1;
        }
        npk = 1;
    }
    PGconn *db = gw_cli_db_connect(cfg);
    if (!db)
        return 1;
    int rc = gw_audit_verify_db(db, (const uint8_t(*)[AUDIT_PK_BYTES])pks, npk, stdout);
    gw_cli_db_close(cfg, db);
    return rc == 0 ? 0 : 1;
}

static int cli_export(const gw_config *cfg, int argc, char **argv)
{
    const char *from = NULL, *to = NULL, *outpath = NULL;
    export_format fmt = FMT_JSONL;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
            from = argv[++i];
        else if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
            to = argv[++i];
        else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            outpath = argv[++i];
        else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc &&
                 strcmp(argv[i + 1], "jsonl") == 0)
            fmt = FMT_JSONL, i++;
        else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc &&
                 strcmp(argv[i + 1], "csv") == 0)
            fmt = FMT_CSV, i++;
        else {
            usage();
            return 2;
        }
    }
    uint8_t pk[AUDIT_PK_BYTES];
    char err[512];
    bool have_pk = gw_keys_audit_public(cfg, pk, err, sizeof err) == 0;
    if (!have_pk)
        fprintf(stderr,
                "caregate audit export: warning: %s; the export names only the keys "
                "recorded with its checkpoints\n",
                err);
    FILE *f = stdout;
    if (outpath) {
        /* No message text is in the log, but who did what is still personal data: 0600. */
        int fd = open(outpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        f = fd >= 0 ? fdopen(fd, "w") : NULL;
        if (!f) {
            fprintf(stderr, "caregate audit export: %s: %s\n", outpath, strerror(errno));
            if (fd >= 0)
                close(fd);
            return 1;
        }
    }
    PGconn *db = gw_cli_db_connect(cfg);
    int rc = db ? audit_export(db, from, to, fmt, have_pk ? pk : NULL, f) : -1;
    if (db) {
        /* An export is itself an audited action (DESIGN: exports are audit records). */
        json_t *d = json_pack("{s:s?, s:s?, s:s, s:b}", "from", from, "to", to, "format",
                              fmt == FMT_CSV ? "csv" : "jsonl", "ok", rc == 0);
        char *dj = json_dumps(d, JSON_COMPACT);
        const char *vals[2] = {dj, rc == 0 ? "audit:export" : "audit:export_failed"};
        PGresult *r = PQexecParams(db, "SELECT audit_append('audit.export', 'cli', $2, $1::jsonb)",
                                   2, NULL, vals, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK)
            fprintf(stderr, "caregate audit export: recording the export failed: %s",
                    PQerrorMessage(db));
        PQclear(r);
        free(dj);
        json_decref(d);
        gw_cli_db_close(cfg, db);
    }
    if (f != stdout && fclose(f) != 0 && rc == 0) {
        fprintf(stderr, "caregate audit export: %s: %s\n", outpath, strerror(errno));
        rc = -1;
    }
    return rc == 0 ? 0 : 1;
}

static int cli_checkpoint(const gw_config *cfg)
{
    char err[512];
    audit_signer *s = NULL;
    if (gw_keys_load_audit_signer(cfg, &s, err, sizeof err) != 0) {
        fprintf(stderr, "caregate audit checkpoint: %s\n", err);
        return 1;
    }
    PGconn *db = gw_cli_db_connect(cfg);
    int rc = db ? gw_audit_checkpoint_now(db, s, stdout) : -1;
    if (db)
        gw_cli_db_close(cfg, db);
    audit_signer_free(s);
    return rc < 0 ? 1 : 0;
}

int gw_audit_cli_main(const gw_config *cfg, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "verify") == 0)
        return cli_verify(cfg, argc, argv);
    if (argc >= 2 && strcmp(argv[1], "export") == 0)
        return cli_export(cfg, argc, argv);
    if (argc == 2 && strcmp(argv[1], "checkpoint") == 0)
        return cli_checkpoint(cfg);
    usage();
    return 2;
}
