/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gw_dpo: the DPO's read-only audit API (see gw_dpo.h and docs/dpo.md).
 *
 * Shape of one request: validate method, path and parameters without touching the
 * database; then ONE statement checks the session cookie, the role, the timestamps and
 * appends the audit record of the read (dpo.viewed, or dpo.denied for a refused role) -
 * so a read that is not recorded cannot happen, and a malformed time fails the statement
 * before anything is recorded. Then the endpoint runs: most endpoints are a single
 * statement that builds the whole JSON answer in PostgreSQL (json_build_object), which
 * keeps the column lists - and the guarantee that no message table is read - in one
 * place per endpoint. The chain check and the export need several statements and state,
 * and live below in their own sections.
 *
 * What is never read here: message.body, contact.display_enc, patient sessions, staff
 * e-mail addresses or password hashes. Audit details are returned as stored; by the audit
 * log's own rule they hold ids, categories and counts only.
 *
 * Module state (trusted key, policy for retention due dates, progress of the incremental
 * chain verification) is per process and file-static: the server's gw_app has no slot
 * for it, and one gateway process has one audit log.
 */
#define _GNU_SOURCE
#include "gw_dpo.h"

#include "audit.h"
#include "gw_audit.h"
#include "gw_log.h"
#include "gw_staff.h"
#include "retain.h"
#include "rules.h"

#if __has_include("gw_keys.h")
#include "gw_keys.h"
#define HAVE_GW_KEYS 1
#endif

#include <stdarg.h>
#include <jansson.h>
#include <libwebsockets.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EXPORT_MAX_BYTES (64u << 20)             /* larger: use `caregate audit export` */
#define EXPORT_BATCH "5000"
#define CHAIN_BATCH 2000
#define CHAIN_BATCH_S "2000"
#define EVENTS_LIMIT_DEFAULT 100
#define EVENTS_LIMIT_MAX 500
#define WRITE_CHUNK 16384
#define POLICY_MAX_BYTES (1u << 20)

/* ---- small helpers ---------------------------------------------------------------------- */

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        abort();
    return p;
}

static char *xstrdup(const char *s)
{
    char *p = strdup(s ? s : "");
    if (!p)
        abort();
    return p;
}

/* Growing output buffer (response bodies, the export). */
typedef struct {
    char *p;
    size_t len, cap;
} obuf;

static void obuf_add(obuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np)
            abort();
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static int obuf_dump_cb(const char *buffer, size_t size, void *data)
{
    obuf_add(data, buffer, size);
    return 0;
}

static int hex_exact(const char *hex, uint8_t *out, size_t n)
{
    size_t got = 0;
    const char *end = NULL;
    if (!hex || sodium_hex2bin(out, n, hex, strlen(hex), NULL, &got, &end) != 0 || got != n ||
        *end != '\0')
        return -1;
    return 0;
}

static bool chars_ok(const char *s, const char *allowed, size_t maxlen)
{
    size_t n = strlen(s);
    if (n == 0 || n > maxlen)
        return false;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr(allowed, c)))
            return false;
    }
    return true;
}

static bool is_uuid(const char *s)
{
    if (strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        char c = s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return false;
        }
    }
    return true;
}

static void now_ts(char out[AUDIT_TS_LEN + 1])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (audit_ts_format((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000, out, AUDIT_TS_LEN + 1) !=
        AUDIT_OK)
        snprintf(out, AUDIT_TS_LEN + 1, "1970-01-01T00:00:00.000000Z");
}

/* ---- endpoints and requests ---------------------------------------------------------------- */

typedef enum {
    EP_EVENTS = 0,
    EP_STATS,
    EP_CONVERSATION,
    EP_RETENTION,
    EP_CHAIN,
    EP_EXPORT
} endpoint;

#define ROLE_DPO (1u << 0)
#define ROLE_ADMIN (1u << 1)

static const struct {
    const char *name;
    unsigned roles;
} EP[] = {
    [EP_EVENTS] = {"events", ROLE_DPO},
    [EP_STATS] = {"stats", ROLE_DPO | ROLE_ADMIN},
    [EP_CONVERSATION] = {"conversation", ROLE_DPO},
    [EP_RETENTION] = {"retention", ROLE_DPO | ROLE_ADMIN},
    [EP_CHAIN] = {"chain", ROLE_DPO | ROLE_ADMIN},
    [EP_EXPORT] = {"export", ROLE_DPO},
};

/* Query parameters we accept, in this order in audit details ("filters": kinds only). */
enum {
    Q_FROM = 0,
    Q_TO,
    Q_EVENT,
    Q_ACTOR,
    Q_CONVERSATION,
    Q_LIMIT,
    Q_BEFORE,
    Q_BUCKET,
    Q_FULL,
    Q_N
};
static const char *const QNAMES[Q_N] = {"from",  "to",     "event",  "actor", "conversation",
                                        "limit", "before", "bucket", "full"};

typedef struct dpo_req dpo_req;

/* One request. Owned by this module; reachable from the server's slot while the
 * connection lives (slot != NULL) and from a pending database callback (pending). */
struct dpo_req {
    gw_app *app;
    struct lws *wsi; /* NULL once the connection closed */
    void **slot;     /* the server's per-connection pointer, NULL once closed */
    endpoint ep;
    char *q[Q_N];  /* query parameters (NULL when absent) */
    char conv[40]; /* conversation/<id> */
    char token_hex[2 + 64 + 1];
    char staff_id[40];
    bool pending; /* a database or pool operation will call back */
    /* response */
    bool ready, headers_sent;
    unsigned status;
    const char *ctype;
    bool attachment;
    obuf body;
    size_t off;
    /* export state */
    struct export_state *x;
    dpo_req *next_waiter; /* chain / prep waiting lists */
};

static void req_free(dpo_req *r)
{
    if (!r)
        return;
    for (int i = 0; i < Q_N; i++)
        free(r->q[i]);
    free(r->body.p);
    free(r->x);
    sodium_memzero(r->token_hex, sizeof r->token_hex);
    free(r);
}

/* Sets the response and asks lws for a writable callback. */
static void respond(dpo_req *r, unsigned status, const char *ctype, const char *body, size_t len)
{
    r->status = status;
    r->ctype = ctype;
    r->body.len = 0;
    obuf_add(&r->body, body, len);
    r->off = 0;
    r->ready = true;
    if (r->wsi)
        lws_callback_on_writable(r->wsi);
}

static void respond_json(dpo_req *r, unsigned status, const char *json)
{
    respond(r, status, "application/json", json, strlen(json));
}

static void respond_error(dpo_req *r, unsigned status, const char *code, const char *message)
{
    json_t *o = json_pack("{s:s, s:s}", "error", code, "message", message);
    char *s = json_dumps(o, JSON_COMPACT);
    respond_json(r, status, s);
    free(s);
    json_decref(o);
}

/* A database callback ended for r: false (and r freed) when the client went away. */
static bool req_still_wanted(dpo_req *r)
{
    r->pending = false;
    if (!r->wsi) {
        req_free(r);
        return false;
    }
    return true;
}

static void respond_db_error(dpo_req *r, gw_db_status st, const char *sqlstate)
{
    gw_warn("dpo", "%s: query failed status=%d sqlstate=%s", EP[r->ep].name, (int)st,
            sqlstate ? sqlstate : "");
    if (st == GW_DB_ERR_QUERY)
        respond_error(r, 500, "internal", "the audit query failed");
    else
        respond_error(r, 503, "unavailable", "the database is not reachable: try again");
}

/* Queues a query for r; on a stopped pool answers 503 at once. */
static void req_query(dpo_req *r, const char *sql, const char *const *vals, int n,
                      gw_db_result_cb cb)
{
    gw_db_params p = {vals, NULL, NULL, n};
    r->pending = true;
    if (gw_db_query(r->app->db, sql, n ? &p : NULL, false, cb, r) != 0) {
        r->pending = false;
        respond_error(r, 503, "unavailable", "shutting down");
    }
}

/* ---- module state: trusted key and policy, loaded once in the thread pool ------------------ */

typedef struct {
    bool done, running;
    bool have_pk;
    uint8_t pk[AUDIT_PK_BYTES];
    char key_id[AUDIT_KEY_ID_LEN + 1];
    char pk_err[200];
    rules *rules; /* the policy (built-in defaults when no policy file) */
    uv_work_t work;
    const gw_config *cfg;
    dpo_req *waiters;
} prep_state;

static prep_state prep;

static void run_endpoint(dpo_req *r);

static void prep_work(uv_work_t *w)
{
    (void)w;
    /* Runs off the loop thread: touches only `prep` fields nobody else uses until done. */
#ifdef HAVE_GW_KEYS
    if (gw_keys_audit_public(prep.cfg, prep.pk, prep.pk_err, sizeof prep.pk_err) == 0) {
        prep.have_pk = true;
        audit_key_id(prep.pk, prep.key_id);
    }
#else
    snprintf(prep.pk_err, sizeof prep.pk_err, "this build has no key file support");
#endif
    char *text = NULL;
    size_t len = 0;
    const char *path = prep.cfg->policy_file;
    if (path && *path) {
        FILE *f = fopen(path, "re");
        if (f) {
            text = xmalloc(POLICY_MAX_BYTES + 1);
            len = fread(text, 1, POLICY_MAX_BYTES, f);
            fclose(f);
        }
    }
    char err[200];
    if (!text || rules_parse(text, len, &prep.rules, err, sizeof err) != RULES_OK)
        if (rules_parse("{}", 2, &prep.rules, err, sizeof err) != RULES_OK)
            prep.rules = NULL;
    free(text);
}

static void prep_done(uv_work_t *w, int status)
{
    (void)w;
    (void)status;
    prep.running = false;
    prep.done = true;
    if (!prep.have_pk)
        gw_warn("dpo", "no trusted audit public key: chain status will be unverifiable");
    dpo_req *r = prep.waiters;
    prep.waiters = NULL;
    while (r) {
        dpo_req *next = r->next_waiter;
        r->next_waiter = NULL;
        if (req_still_wanted(r))
            run_endpoint(r);
        r = next;
    }
}

/* Runs r's endpoint once the key and policy are loaded (at once when they are). */
static void with_prep(dpo_req *r)
{
    if (prep.done) {
        run_endpoint(r);
        return;
    }
    r->pending = true;
    r->next_waiter = prep.waiters;
    prep.waiters = r;
    if (prep.running)
        return;
    prep.running = true;
    prep.cfg = r->app->cfg;
    prep.work.data = NULL;
    if (uv_queue_work(r->app->loop, &prep.work, prep_work, prep_done) != 0) {
        prep.running = false;
        prep.waiters = NULL;
        while (r) {
            dpo_req *next = r->next_waiter;
            if (req_still_wanted(r))
                respond_error(r, 503, "unavailable", "try again");
            r = next;
        }
    }
}

/* ---- events ----------------------------------------------------------------------------- */

/*
 * Timeline, newest first, paginated by seq (before = the smallest seq of the previous
 * page). The event filter matches a name or a prefix ("conversation" matches
 * "conversation.opened"); actor matches the stored actor or 'staff:'||actor;
 * conversation matches the subject or details.conversation. Staff actors are shown
 * with their role and alias (the name patients see), never with their e-mail.
 */
static const char EVENTS_SQL[] =
    "SELECT json_build_object('events', coalesce(json_agg(json_build_object("
    "'seq', e.seq, 'ts', audit_ts_text(e.ts), 'event', e.event, 'actor', e.actor, "
    "'actor_role', st.role, 'actor_alias', st.alias, 'subject', e.subject, "
    "'details', e.details::json) ORDER BY e.seq DESC), '[]'::json), "
    "'next_before', CASE WHEN count(*) >= $7::int THEN min(e.seq) END)::text "
    "FROM (SELECT * FROM audit_log a "
    "WHERE ($1::timestamptz IS NULL OR a.ts >= $1::timestamptz) "
    "AND ($2::timestamptz IS NULL OR a.ts < $2::timestamptz) "
    "AND ($3::text IS NULL OR a.event = $3 OR a.event LIKE $3 || '.%') "
    "AND ($4::text IS NULL OR a.actor = $4 OR a.actor = 'staff:' || $4) "
    "AND ($5::text IS NULL OR a.subject = $5 OR a.subject = 'conversation:' || $5 "
    "     OR (a.details LIKE '%' || $5 || '%' AND a.details::jsonb ->> 'conversation' = $5)) "
    "AND ($6::bigint IS NULL OR a.seq < $6::bigint) "
    "ORDER BY a.seq DESC LIMIT $7::int) e "
    "LEFT JOIN staff st ON st.id::text = e.actor OR 'staff:' || st.id::text = e.actor";

/* ---- stats ------------------------------------------------------------------------------ */

/*
 * Redactions and blocks per category and time bucket. A policy decision is any audit
 * record whose details carry "findings", either {"CATEGORY": count, ...} or
 * [{"category": ..., "count": ...}, ...] (or a list of category names). It is a block
 * when details.decision (or .action) is "block"/"blocked" or the event ends in ".blocked"
 * (docs/audit.md plans message.policy with the decision and counts), otherwise
 * a redaction. Buckets are UTC days or hours. Defaults: the last 30 days (day) or 48
 * hours (hour).
 */
static const char STATS_SQL[] =
    "WITH p AS (SELECT coalesce($2::timestamptz, now()) AS t_to), "
    "p2 AS (SELECT coalesce($1::timestamptz, p.t_to - CASE WHEN $3 = 'hour' "
    "       THEN interval '48 hours' ELSE interval '30 days' END) AS t_from, p.t_to FROM p), "
    "r AS (SELECT date_trunc($3, a.ts AT TIME ZONE 'UTC') AS b, a.event, a.details::jsonb AS d "
    "      FROM audit_log a, p2 WHERE a.ts >= p2.t_from AND a.ts < p2.t_to "
    "      AND a.details LIKE '%\"findings\"%'), "
    "k AS (SELECT b, d, CASE WHEN coalesce(d ->> 'decision', d ->> 'action') "
    "      IN ('block', 'blocked') OR event LIKE '%.blocked' "
    "      THEN 'block' ELSE 'redact' END AS kind FROM r WHERE d ? 'findings'), "
    "f AS (SELECT b, kind, e.key AS cat, CASE WHEN jsonb_typeof(e.value) = 'number' "
    "      THEN (e.value::text)::numeric::bigint ELSE 1 END AS cnt "
    "      FROM k, jsonb_each(CASE WHEN jsonb_typeof(d -> 'findings') = 'object' "
    "           THEN d -> 'findings' ELSE '{}'::jsonb END) e "
    "      UNION ALL "
    "      SELECT b, kind, coalesce(x ->> 'category', "
    "      CASE WHEN jsonb_typeof(x) = 'string' THEN x #>> '{}' END), "
    "      CASE WHEN jsonb_typeof(x -> 'count') = 'number' THEN (x ->> 'count')::numeric::bigint "
    "      ELSE 1 END "
    "      FROM k, jsonb_array_elements(CASE WHEN jsonb_typeof(d -> 'findings') = 'array' "
    "           THEN d -> 'findings' ELSE '[]'::jsonb END) x), "
    "g AS (SELECT b, kind, cat, sum(cnt)::bigint AS n FROM f WHERE cat IS NOT NULL "
    "      GROUP BY b, kind, cat) "
    "SELECT json_build_object('bucket', $3, 'from', audit_ts_text(p2.t_from), "
    "'to', audit_ts_text(p2.t_to), 'series', (SELECT coalesce(json_agg(json_build_object("
    "'t', to_char(g.b, 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), 'kind', g.kind, 'category', g.cat, "
    "'count', g.n) ORDER BY g.b, g.kind, g.cat), '[]'::json) FROM g))::text FROM p2";

/* ---- conversation ------------------------------------------------------------------------ */

/* Access history of one conversation: its retention metadata (no content, no contact)
 * and every audit record naming it, oldest first. */
static const char CONV_SQL[] =
    "SELECT json_build_object('id', $1::text, "
    "'conversation', (SELECT json_build_object('exists', true, 'channel', c.channel, "
    "  'status', c.status, 'retention_class', c.retention_class, 'legal_hold', c.legal_hold, "
    "  'created_at', audit_ts_text(c.created_at), 'closed_at', audit_ts_text(c.closed_at)) "
    "  FROM conversation c WHERE c.id = $1::uuid), "
    "'records', (SELECT coalesce(json_agg(json_build_object('seq', a.seq, "
    "  'ts', audit_ts_text(a.ts), 'event', a.event, 'actor', a.actor, 'actor_role', st.role, "
    "  'actor_alias', st.alias, 'subject', a.subject, 'details', a.details::json) "
    "  ORDER BY a.seq), '[]'::json) "
    "  FROM (SELECT * FROM audit_log WHERE subject = $1 OR subject = 'conversation:' || $1 "
    "        OR (details LIKE '%' || $1 || '%' AND details::jsonb ->> 'conversation' = $1) "
    "        ORDER BY seq DESC LIMIT 2000) a "
    "  LEFT JOIN staff st ON st.id::text = a.actor OR 'staff:' || st.id::text = a.actor))::text";

/* ---- retention ------------------------------------------------------------------------- */

/*
 * What was deleted when (retention runs, erasures, legal hold changes: from the audit
 * log) and what is kept: conversations on legal hold or closed and waiting for their
 * period, with class and hold flag; the due date is computed here from the policy
 * (retain_decide), so the report agrees with what the retention run will do.
 */
static const char RETENTION_SQL[] =
    "SELECT json_build_object("
    "'deletions', (SELECT coalesce(json_agg(json_build_object('seq', d.seq, "
    "  'ts', audit_ts_text(d.ts), 'event', d.event, 'actor', d.actor, 'subject', d.subject, "
    "  'details', d.details::json) ORDER BY d.seq DESC), '[]'::json) "
    "  FROM (SELECT * FROM audit_log WHERE event LIKE 'retention.%' OR event LIKE 'erasure.%' "
    "        OR event LIKE 'legal_hold.%' OR event LIKE 'data.erase%' OR event LIKE '%.erased' "
    "        OR event LIKE '%.deleted' "
    "        OR event LIKE '%.erasure%' OR event LIKE '%.legal_hold%' "
    "        ORDER BY seq DESC LIMIT 500) d), "
    "'kept', (SELECT coalesce(json_agg(json_build_object('id', c.id, 'channel', c.channel, "
    "  'status', c.status, 'class', c.retention_class, 'legal_hold', c.legal_hold, "
    "  'created_at', audit_ts_text(c.created_at), 'closed_at', audit_ts_text(c.closed_at), "
    "  'closed_epoch', extract(epoch FROM c.closed_at)::bigint) "
    "  ORDER BY c.legal_hold DESC, c.closed_at), '[]'::json) "
    "  FROM (SELECT * FROM conversation WHERE legal_hold OR closed_at IS NOT NULL "
    "        ORDER BY legal_hold DESC, closed_at LIMIT 2000) c), "
    "'open_conversations', (SELECT count(*) FROM conversation WHERE closed_at IS NULL "
    "  AND NOT legal_hold), "
    "'now_epoch', extract(epoch FROM now())::bigint)::text";

static char *iso_from_epoch(int64_t t, char *buf, size_t n)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

/* Adds verdict and due_at to every kept conversation (policy from prep). */
static char *retention_decorate(const char *json)
{
    json_error_t je;
    json_t *o = json_loads(json, 0, &je);
    if (!o)
        return NULL;
    int64_t now = json_integer_value(json_object_get(o, "now_epoch"));
    json_object_del(o, "now_epoch");
    json_t *kept = json_object_get(o, "kept");
    size_t i;
    json_t *c;
    json_array_foreach (kept, i, c) {
        json_t *ce = json_object_get(c, "closed_epoch");
        retain_conv rc = {
            .closed_at = json_is_integer(ce) ? json_integer_value(ce) : 0,
            .cls = json_string_value(json_object_get(c, "class")),
            .legal_hold = json_is_true(json_object_get(c, "legal_hold")),
        };
        json_object_del(c, "closed_epoch");
        if (!prep.rules || !rc.cls) {
            json_object_set_new(c, "verdict", json_string("unknown"));
            json_object_set_new(c, "due_at", json_null());
            continue;
        }
        int64_t due = 0;
        retain_verdict v = retain_decide(prep.rules, &rc, now, &due);
        char buf[32];
        json_object_set_new(c, "verdict", json_string(retain_verdict_name(v)));
        json_object_set_new(c, "due_at",
                            (v == RETAIN_DUE || v == RETAIN_KEEP_PERIOD)
                                ? json_string(iso_from_epoch(due, buf, sizeof buf))
                                : json_null());
    }
    json_object_set_new(o, "policy_version",
                        prep.rules ? json_string(rules_version_label(prep.rules)) : json_null());
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}

/* The simple endpoints: one statement, one JSON text. */
static void json_done(void *arg, gw_db_status st, PGresult *res, const char *sqlstate,
                      const char *errmsg)
{
    dpo_req *r = arg;
    (void)errmsg;
    if (!req_still_wanted(r))
        return;
    if (st != GW_DB_OK || PQntuples(res) != 1) {
        respond_db_error(r, st == GW_DB_OK ? GW_DB_ERR_QUERY : st, sqlstate);
        return;
    }
    const char *json = PQgetvalue(res, 0, 0);
    if (r->ep == EP_RETENTION) {
        char *s = retention_decorate(json);
        if (!s) {
            respond_error(r, 500, "internal", "retention report unreadable");
            return;
        }
        respond_json(r, 200, s);
        free(s);
        return;
    }
    respond_json(r, 200, json);
}

/* ---- chain: incremental verification ----------------------------------------------------- */

/*
 * The gateway remembers how far the log verified: the last checkpoint (n, seq, hash, ts)
 * whose signature, chain and announcement checked out. A run reads the head, the
 * checkpoints after that one and the records after its seq (in batches, each a separate
 * query on the pool, so the loop never waits), and lets policy/audit.c judge them in
 * PARTIAL mode; this file adds the checks that PARTIAL mode leaves to the caller: the
 * first new record follows the remembered one (seq and prev_hash), checkpoint numbers
 * continue without a gap, the log reaches the head and ends in the head's hash, and
 * every new checkpoint was matched by a record. Records after the newest checkpoint are
 * chain-checked on every run but the remembered point only moves to a signed checkpoint.
 * ?full=1 forgets the remembered point and checks from seq 1.
 *
 * Only one run at a time; requests arriving meanwhile wait for its verdict. Records the
 * run already passed are not re-read, so a superuser who rewrites old rows AND their
 * successors is caught by the full check (`caregate audit verify` or ?full=1), not here:
 * docs/dpo.md says so.
 */
typedef struct {
    /* remembered point */
    int64_t base_n, base_seq;
    uint8_t base_hash[AUDIT_HASH_BYTES];
    char base_ts[AUDIT_TS_LEN + 1];
    /* the run */
    bool running;
    dpo_req *waiters;
    gw_app *app;
    audit_verifier *v;
    int64_t head_seq;
    uint8_t head_hash[AUDIT_HASH_BYTES];
    int64_t next_seq, fed, last_seq;
    uint8_t last_hash[AUDIT_HASH_BYTES];
    int64_t new_last_n, new_last_seq, new_cps;
    uint8_t new_last_hash[AUDIT_HASH_BYTES];
    char new_last_ts[AUDIT_TS_LEN + 1];
    char my_fail[300];
    int64_t my_bad_seq;
} chain_state;

static chain_state chain;

static const char CHAIN_HEAD_SQL[] = "SELECT seq, encode(hash, 'hex') FROM audit_head";
static const char CHAIN_CP_SQL[] =
    "SELECT n, seq, encode(hash, 'hex'), audit_ts_text(ts), encode(signature, 'hex'), key_id "
    "FROM audit_checkpoint WHERE n > $1::bigint AND seq <= $2::bigint ORDER BY n";
static const char CHAIN_REC_SQL[] =
    "SELECT seq, audit_ts_text(ts), event, actor, subject, details, encode(prev_hash, 'hex'), "
    "encode(hash, 'hex') FROM audit_log WHERE seq >= $1::bigint AND seq <= $2::bigint "
    "ORDER BY seq LIMIT " CHAIN_BATCH_S;

static void chain_fail(int64_t seq, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void chain_fail(int64_t seq, const char *fmt, ...)
{
    if (chain.my_fail[0])
        return; /* keep the first problem */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(chain.my_fail, sizeof chain.my_fail, fmt, ap);
    va_end(ap);
    chain.my_bad_seq = seq;
}

/* Ends the run: builds the verdict, answers every waiter. unavailable: database trouble. */
static void chain_end(bool unavailable)
{
    json_t *o = NULL;
    char now[AUDIT_TS_LEN + 1];
    now_ts(now);
    if (unavailable) {
        o = NULL;
    } else {
        int st = chain.v ? audit_verifier_finish(chain.v, chain.head_seq, NULL) : AUDIT_OK;
        bool ok = st == AUDIT_OK && !chain.my_fail[0];
        int64_t bad = 0;
        const char *reason = "";
        if (!ok) {
            if (st != AUDIT_OK) {
                bad = audit_verifier_bad_seq(chain.v);
                reason = audit_verifier_reason(chain.v);
            } else {
                bad = chain.my_bad_seq;
                reason = chain.my_fail;
            }
        }
        bool unsigned_key = !prep.have_pk && chain.new_cps > 0;
        if (ok && chain.new_cps > 0) {
            chain.base_n = chain.new_last_n;
            chain.base_seq = chain.new_last_seq;
            memcpy(chain.base_hash, chain.new_last_hash, AUDIT_HASH_BYTES);
            snprintf(chain.base_ts, sizeof chain.base_ts, "%s", chain.new_last_ts);
        }
        const char *status = ok ? "verified" : unsigned_key ? "unverifiable" : "failed";
        o = json_pack(
            "{s:s, s:s, s:I, s:I, s:I, s:s?, s:s?}", "status", status, "checked_at", now,
            "head_seq", (json_int_t)chain.head_seq, "records_checked", (json_int_t)chain.fed,
            "unsigned_records", (json_int_t)(chain.head_seq - chain.base_seq), "key_id",
            prep.have_pk ? prep.key_id : NULL, "key_error", prep.have_pk ? NULL : prep.pk_err);
        json_object_set_new(o, "checkpoint",
                            chain.base_n > 0
                                ? json_pack("{s:I, s:I, s:s}", "n", (json_int_t)chain.base_n, "seq",
                                            (json_int_t)chain.base_seq, "ts", chain.base_ts)
                                : json_null());
        if (!ok) {
            json_object_set_new(o, "bad_seq", bad ? json_integer(bad) : json_null());
            json_object_set_new(o, "reason", json_string(reason));
            gw_warn("dpo", "audit chain check failed at seq %lld", (long long)bad);
        }
    }
    audit_verifier_free(chain.v);
    chain.v = NULL;
    chain.running = false;
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    dpo_req *r = chain.waiters;
    chain.waiters = NULL;
    while (r) {
        dpo_req *next = r->next_waiter;
        r->next_waiter = NULL;
        if (req_still_wanted(r)) {
            if (s)
                respond_json(r, 200, s);
            else
                respond_error(r, 503, "unavailable", "the database is not reachable: try again");
        }
        r = next;
    }
    free(s);
}

static void chain_next_batch(void);

static void chain_records(void *arg, gw_db_status st, PGresult *res, const char *sqlstate,
                          const char *errmsg)
{
    (void)arg;
    (void)errmsg;
    if (st != GW_DB_OK) {
        gw_warn("dpo", "chain: reading records failed status=%d sqlstate=%s", (int)st, sqlstate);
        chain_end(true);
        return;
    }
    int n = PQntuples(res);
    for (int i = 0; i < n && !chain.my_fail[0]; i++) {
        audit_record rec;
        memset(&rec, 0, sizeof rec);
        rec.seq = atoll(PQgetvalue(res, i, 0));
        rec.ts = PQgetvalue(res, i, 1);
        rec.event = PQgetvalue(res, i, 2);
        rec.actor = PQgetvalue(res, i, 3);
        rec.subject = PQgetvalue(res, i, 4);
        rec.details = PQgetvalue(res, i, 5);
        (void)hex_exact(PQgetvalue(res, i, 6), rec.prev_hash, sizeof rec.prev_hash);
        (void)hex_exact(PQgetvalue(res, i, 7), rec.hash, sizeof rec.hash);
        if (chain.fed == 0) {
            /* PARTIAL mode takes the first record's prev_hash as given: tie it to the
             * remembered point (or to the genesis value) here. */
            static const uint8_t zero[AUDIT_HASH_BYTES];
            const uint8_t *want = chain.base_seq ? chain.base_hash : zero;
            if (rec.seq != chain.base_seq + 1)
                chain_fail(chain.base_seq + 1, "seq %lld: missing (the log continues at seq %lld)",
                           (long long)(chain.base_seq + 1), (long long)rec.seq);
            else if (sodium_memcmp(rec.prev_hash, want, AUDIT_HASH_BYTES) != 0)
                chain_fail(rec.seq,
                           "seq %lld: prev_hash does not match the hash of seq %lld verified "
                           "before (record replaced or history rewritten)",
                           (long long)rec.seq, (long long)chain.base_seq);
        }
        if (audit_verifier_record(chain.v, &rec) != AUDIT_OK)
            break;
        chain.fed++;
        chain.last_seq = rec.seq;
        memcpy(chain.last_hash, rec.hash, AUDIT_HASH_BYTES);
    }
    bool verdict_bad = chain.my_fail[0] || audit_verifier_bad_seq(chain.v) != 0 ||
                       audit_verifier_reason(chain.v)[0];
    if (!verdict_bad && n == CHAIN_BATCH && chain.last_seq < chain.head_seq) {
        chain.next_seq = chain.last_seq + 1;
        chain_next_batch();
        return;
    }
    if (!verdict_bad) {
        if (chain.last_seq < chain.head_seq)
            chain_fail(chain.last_seq + 1,
                       "seq %lld: missing: the head row says seq %lld but the log ends at seq "
                       "%lld (truncated)",
                       (long long)(chain.last_seq + 1), (long long)chain.head_seq,
                       (long long)chain.last_seq);
        else if (chain.fed > 0 &&
                 sodium_memcmp(chain.last_hash, chain.head_hash, AUDIT_HASH_BYTES) != 0)
            chain_fail(chain.last_seq, "seq %lld: differs from the head row's hash",
                       (long long)chain.last_seq);
        else if (chain.new_cps > 0 && audit_verifier_covered_seq(chain.v) < chain.new_last_seq)
            chain_fail(chain.new_last_seq,
                       "checkpoint n=%lld points to seq %lld, which was not found",
                       (long long)chain.new_last_n, (long long)chain.new_last_seq);
    }
    chain_end(false);
}

static void chain_next_batch(void)
{
    char a[24], b[24];
    snprintf(a, sizeof a, "%lld", (long long)chain.next_seq);
    snprintf(b, sizeof b, "%lld", (long long)chain.head_seq);
    const char *vals[2] = {a, b};
    gw_db_params p = {vals, NULL, NULL, 2};
    if (gw_db_query(chain.app->db, CHAIN_REC_SQL, &p, false, chain_records, NULL) != 0)
        chain_end(true);
}

static void chain_checkpoints(void *arg, gw_db_status st, PGresult *res, const char *sqlstate,
                              const char *errmsg)
{
    (void)arg;
    (void)errmsg;
    if (st != GW_DB_OK) {
        gw_warn("dpo", "chain: reading checkpoints failed status=%d sqlstate=%s", (int)st,
                sqlstate);
        chain_end(true);
        return;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        audit_checkpoint cp;
        memset(&cp, 0, sizeof cp);
        cp.n = atoll(PQgetvalue(res, i, 0));
        cp.seq = atoll(PQgetvalue(res, i, 1));
        cp.ts = PQgetvalue(res, i, 3);
        snprintf(cp.key_id, sizeof cp.key_id, "%s", PQgetvalue(res, i, 5));
        (void)hex_exact(PQgetvalue(res, i, 2), cp.hash, sizeof cp.hash);
        (void)hex_exact(PQgetvalue(res, i, 4), cp.signature, sizeof cp.signature);
        if (i == 0 && cp.n != chain.base_n + 1)
            chain_fail(cp.seq, "checkpoint n=%lld follows n=%lld: checkpoint(s) deleted",
                       (long long)cp.n, (long long)chain.base_n);
        if (audit_verifier_checkpoint(chain.v, &cp) != AUDIT_OK)
            break;
        chain.new_cps++;
        chain.new_last_n = cp.n;
        chain.new_last_seq = cp.seq;
        memcpy(chain.new_last_hash, cp.hash, AUDIT_HASH_BYTES);
        snprintf(chain.new_last_ts, sizeof chain.new_last_ts, "%s", cp.ts);
    }
    if (chain.my_fail[0] || audit_verifier_reason(chain.v)[0] || chain.head_seq <= chain.base_seq) {
        if (chain.head_seq < chain.base_seq)
            chain_fail(chain.head_seq + 1,
                       "seq %lld: missing: the head row went back to seq %lld after seq %lld was "
                       "verified (truncated)",
                       (long long)(chain.head_seq + 1), (long long)chain.head_seq,
                       (long long)chain.base_seq);
        chain_end(false);
        return;
    }
    chain.next_seq = chain.base_seq + 1;
    chain_next_batch();
}

static void chain_head(void *arg, gw_db_status st, PGresult *res, const char *sqlstate,
                       const char *errmsg)
{
    (void)arg;
    (void)errmsg;
    if (st != GW_DB_OK || PQntuples(res) != 1 ||
        hex_exact(PQgetvalue(res, 0, 1), chain.head_hash, sizeof chain.head_hash) != 0) {
        if (st == GW_DB_OK) {
            chain_fail(0, "the audit_head row is missing or malformed");
            chain_end(false);
            return;
        }
        gw_warn("dpo", "chain: reading the head failed status=%d sqlstate=%s", (int)st, sqlstate);
        chain_end(true);
        return;
    }
    chain.head_seq = atoll(PQgetvalue(res, 0, 0));
    char a[24], b[24];
    snprintf(a, sizeof a, "%lld", (long long)chain.base_n);
    snprintf(b, sizeof b, "%lld", (long long)chain.head_seq);
    const char *vals[2] = {a, b};
    gw_db_params p = {vals, NULL, NULL, 2};
    if (gw_db_query(chain.app->db, CHAIN_CP_SQL, &p, false, chain_checkpoints, NULL) != 0)
        chain_end(true);
}

static void chain_run(dpo_req *r)
{
    r->pending = true;
    r->next_waiter = chain.waiters;
    chain.waiters = r;
    if (chain.running)
        return;
    chain.running = true;
    chain.app = r->app;
    if (r->q[Q_FULL] && strcmp(r->q[Q_FULL], "1") == 0) {
        chain.base_n = chain.base_seq = 0;
        memset(chain.base_hash, 0, sizeof chain.base_hash);
        chain.base_ts[0] = '\0';
    }
    chain.fed = chain.last_seq = chain.new_cps = chain.new_last_n = chain.new_last_seq = 0;
    chain.my_fail[0] = '\0';
    chain.my_bad_seq = 0;
    chain.v = NULL;
    if (audit_verifier_new(AUDIT_VERIFY_PARTIAL, &chain.v) != AUDIT_OK) {
        chain_end(true);
        return;
    }
    if (prep.have_pk)
        audit_verifier_trust(chain.v, prep.pk);
    if (gw_db_query(r->app->db, CHAIN_HEAD_SQL, NULL, false, chain_head, NULL) != 0)
        chain_end(true);
}

/* ---- export ------------------------------------------------------------------------------ */

/*
 * The same JSON lines as `caregate audit export` (gw_audit.c), so `caregate audit verify
 * --file` accepts a download: header, key(s), head (complete export only), checkpoints,
 * records. The range [from, to) becomes a seq range first, so a clock step cannot punch
 * holes into the exported chain. Records are read in batches by seq; the log is
 * append-only, so reading below the head fixed at the start gives a consistent picture
 * without one long transaction (the pool has no snapshot across statements).
 */

typedef struct export_state {
    bool complete;
    char first[24], last[24], now[40], head_seq[24], head_hash[80];
    char next[24];
    char local_id[AUDIT_KEY_ID_LEN + 1];
    bool too_big;
} export_state;

static void x_emit(dpo_req *r, const char *const cols[GW_AUDIT_X_NCOLS])
{
    if (r->body.len > EXPORT_MAX_BYTES) {
        r->x->too_big = true;
        return;
    }
    (void)gw_audit_export_line(cols, obuf_dump_cb, &r->body); /* obuf_add cannot fail */
}

static const char X_RANGE_SQL[] =
    "SELECT coalesce((SELECT min(seq) FROM audit_log WHERE $1::timestamptz IS NULL "
    "OR ts >= $1::timestamptz), 0), "
    "coalesce((SELECT max(seq) FROM audit_log WHERE $2::timestamptz IS NULL "
    "OR ts < $2::timestamptz), 0), "
    "audit_ts_text(clock_timestamp()), h.seq, encode(h.hash, 'hex') FROM audit_head h";
static const char X_KEYS_SQL[] =
    "SELECT DISTINCT key_id, encode(public_key, 'base64') FROM audit_checkpoint "
    "WHERE seq BETWEEN $1::bigint AND $2::bigint AND key_id <> $3";
static const char X_CP_SQL[] =
    "SELECT n, seq, audit_ts_text(ts), encode(hash, 'hex'), key_id, encode(signature, 'hex') "
    "FROM audit_checkpoint WHERE ($3 = 'complete' OR seq >= $1::bigint) AND seq <= $2::bigint "
    "ORDER BY n";
static const char X_REC_SQL[] =
    "SELECT seq, audit_ts_text(ts), event, actor, subject, details, encode(prev_hash, 'hex'), "
    "encode(hash, 'hex') FROM audit_log WHERE seq >= $1::bigint AND seq <= $2::bigint "
    "ORDER BY seq LIMIT " EXPORT_BATCH;

static void x_finish(dpo_req *r)
{
    if (r->x->too_big) {
        r->body.len = 0;
        respond_error(r, 413, "too_large",
                      "the export is too large for the browser: choose a shorter time range or "
                      "use `caregate audit export`");
        return;
    }
    obuf b = r->body;
    memset(&r->body, 0, sizeof r->body);
    r->attachment = true;
    respond(r, 200, "application/x-ndjson", b.p ? b.p : "", b.len);
    free(b.p);
}

/* The start of each export stage's callback: may the stage go on? A request whose client
 * left is dropped; a failed query is answered with its error, dropping what was collected. */
static bool x_stage_ok(dpo_req *r, gw_db_status st, const char *sqlstate)
{
    if (!req_still_wanted(r))
        return false;
    if (st != GW_DB_OK) {
        r->body.len = 0;
        respond_db_error(r, st, sqlstate);
        return false;
    }
    return true;
}

static void x_records(void *arg, gw_db_status st, PGresult *res, const char *sqlstate,
                      const char *errmsg)
{
    dpo_req *r = arg;
    (void)errmsg;
    if (!x_stage_ok(r, st, sqlstate))
        return;
    int n = PQntuples(res);
    long long lastseq = 0;
    for (int i = 0; i < n; i++) {
        const char *cols[GW_AUDIT_X_NCOLS];
        gw_audit_export_record(res, i, cols);
        x_emit(r, cols);
        lastseq = atoll(cols[GW_AUDIT_X_SEQ]);
    }
    if (n == atoi(EXPORT_BATCH) && lastseq < atoll(r->x->last) && !r->x->too_big) {
        snprintf(r->x->next, sizeof r->x->next, "%lld", lastseq + 1);
        const char *vals[2] = {r->x->next, r->x->last};
        req_query(r, X_REC_SQL, vals, 2, x_records);
        return;
    }
    x_finish(r);
}

static void x_checkpoints(void *arg, gw_db_status st, PGresult *res, const char *sqlstate,
                          const char *errmsg)
{
    dpo_req *r = arg;
    (void)errmsg;
    if (!x_stage_ok(r, st, sqlstate))
        return;
    for (int i = 0; i < PQntuples(res); i++) {
        const char *cols[GW_AUDIT_X_NCOLS];
        gw_audit_export_checkpoint(res, i, cols);
        x_emit(r, cols);
    }
    const char *vals[2] = {r->x->first, r->x->last};
    req_query(r, X_REC_SQL, vals, 2, x_records);
}

static void x_keys(void *arg, gw_db_status st, PGresult *res, const char *sqlstate,
                   const char *errmsg)
{
    dpo_req *r = arg;
    (void)errmsg;
    if (!x_stage_ok(r, st, sqlstate))
        return;
    for (int i = 0; i < PQntuples(res); i++) {
        const char *cols[GW_AUDIT_X_NCOLS] = {0};
        cols[GW_AUDIT_X_KIND] = "key";
        cols[GW_AUDIT_X_KEYID] = PQgetvalue(res, i, 0);
        cols[GW_AUDIT_X_PK] = PQgetvalue(res, i, 1);
        x_emit(r, cols);
    }
    if (r->x->complete) {
        const char *cols[GW_AUDIT_X_NCOLS] = {0};
        cols[GW_AUDIT_X_KIND] = "head";
        cols[GW_AUDIT_X_SEQ] = r->x->head_seq;
        cols[GW_AUDIT_X_HASH] = r->x->head_hash;
        x_emit(r, cols);
    }
    const char *vals[3] = {r->x->first, r->x->last, r->x->complete ? "complete" : "range"};
    req_query(r, X_CP_SQL, vals, 3, x_checkpoints);
}

static void x_range(void *arg, gw_db_status st, PGresult *res, const char *sqlstate,
                    const char *errmsg)
{
    dpo_req *r = arg;
    (void)errmsg;
    if (!req_still_wanted(r))
        return;
    if (st != GW_DB_OK || PQntuples(res) != 1) {
        respond_db_error(r, st == GW_DB_OK ? GW_DB_ERR_QUERY : st, sqlstate);
        return;
    }
    export_state *x = r->x;
    snprintf(x->first, sizeof x->first, "%s", PQgetvalue(res, 0, 0));
    snprintf(x->last, sizeof x->last, "%s", PQgetvalue(res, 0, 1));
    snprintf(x->now, sizeof x->now, "%s", PQgetvalue(res, 0, 2));
    snprintf(x->head_seq, sizeof x->head_seq, "%s", PQgetvalue(res, 0, 3));
    snprintf(x->head_hash, sizeof x->head_hash, "%s", PQgetvalue(res, 0, 4));
    if (x->complete) /* records up to the head read now; later appends are not part of it */
        snprintf(x->last, sizeof x->last, "%s", x->head_seq);
    r->body.len = 0;
    {
        const char *cols[GW_AUDIT_X_NCOLS] = {0};
        cols[GW_AUDIT_X_KIND] = "header";
        cols[GW_AUDIT_X_EVENT] = GW_AUDIT_EXPORT_FORMAT;
        cols[GW_AUDIT_X_SUBJECT] = x->complete ? "complete" : "range";
        cols[GW_AUDIT_X_TS] = x->now;
        x_emit(r, cols);
    }
    if (prep.have_pk) {
        char b64[sodium_base64_ENCODED_LEN(AUDIT_PK_BYTES, sodium_base64_VARIANT_ORIGINAL)];
        sodium_bin2base64(b64, sizeof b64, prep.pk, AUDIT_PK_BYTES, sodium_base64_VARIANT_ORIGINAL);
        snprintf(x->local_id, sizeof x->local_id, "%s", prep.key_id);
        const char *cols[GW_AUDIT_X_NCOLS] = {0};
        cols[GW_AUDIT_X_KIND] = "key";
        cols[GW_AUDIT_X_KEYID] = x->local_id;
        cols[GW_AUDIT_X_PK] = b64;
        x_emit(r, cols);
    }
    const char *vals[3] = {x->first, x->last, x->local_id};
    req_query(r, X_KEYS_SQL, vals, 3, x_keys);
}

static void export_start(dpo_req *r)
{
    r->x = calloc(1, sizeof *r->x);
    if (!r->x)
        abort();
    r->x->complete = !r->q[Q_FROM] && !r->q[Q_TO];
    const char *vals[2] = {r->q[Q_FROM], r->q[Q_TO]};
    req_query(r, X_RANGE_SQL, vals, 2, x_range);
}

/* ---- dispatch ----------------------------------------------------------------------------- */

static void run_endpoint(dpo_req *r)
{
    switch (r->ep) {
    case EP_EVENTS: {
        char limit[16];
        long l = r->q[Q_LIMIT] ? strtol(r->q[Q_LIMIT], NULL, 10) : EVENTS_LIMIT_DEFAULT;
        snprintf(limit, sizeof limit, "%ld", l);
        const char *vals[7] = {r->q[Q_FROM],         r->q[Q_TO],     r->q[Q_EVENT], r->q[Q_ACTOR],
                               r->q[Q_CONVERSATION], r->q[Q_BEFORE], limit};
        req_query(r, EVENTS_SQL, vals, 7, json_done);
        return;
    }
    case EP_STATS: {
        const char *vals[3] = {r->q[Q_FROM], r->q[Q_TO], r->q[Q_BUCKET] ? r->q[Q_BUCKET] : "day"};
        req_query(r, STATS_SQL, vals, 3, json_done);
        return;
    }
    case EP_CONVERSATION: {
        const char *vals[1] = {r->conv};
        req_query(r, CONV_SQL, vals, 1, json_done);
        return;
    }
    case EP_RETENTION: req_query(r, RETENTION_SQL, NULL, 0, json_done); return;
    case EP_CHAIN: chain_run(r); return;
    case EP_EXPORT: export_start(r); return;
    }
}

/*
 * The gate: session, role, well-formed times, and the audit record of this read, in one
 * statement. It returns no row when the session is not valid (401); otherwise the role
 * and the seq of the record written: dpo.viewed when the role may read this endpoint,
 * dpo.denied when not (403). The from/to casts sit in the same statement so that a
 * malformed time fails it (SQLSTATE 22007/22008: 400) before anything is recorded.
 */
static const char GATE_SQL[] =
    "WITH s AS (SELECT st.id::text AS id, st.role FROM staff_session ss "
    "JOIN staff st ON st.id = ss.staff_id WHERE ss.token_hash = $1::bytea "
    "AND ss.revoked_at IS NULL AND ss.expires_at > now() AND st.disabled_at IS NULL), "
    "t AS (SELECT $5::timestamptz AS f, $6::timestamptz AS u) "
    "SELECT s.id, s.role, CASE WHEN s.role = ANY ($4::text[]) "
    "THEN audit_append('dpo.viewed', s.id, $2, $3::jsonb) "
    "ELSE audit_append('dpo.denied', s.id, $2, $3::jsonb) END FROM s, t";

static void gate_done(void *arg, gw_db_status st, PGresult *res, const char *sqlstate,
                      const char *errmsg)
{
    dpo_req *r = arg;
    (void)errmsg;
    if (!req_still_wanted(r))
        return;
    if (st == GW_DB_ERR_QUERY && sqlstate &&
        (strncmp(sqlstate, "22007", 5) == 0 || strncmp(sqlstate, "22008", 5) == 0 ||
         strncmp(sqlstate, "22009", 5) == 0)) {
        respond_error(r, 400, "bad_request", "from/to must be RFC 3339 times");
        return;
    }
    if (st != GW_DB_OK) {
        respond_db_error(r, st, sqlstate);
        return;
    }
    if (PQntuples(res) != 1) {
        respond_error(r, 401, "unauthorized", "log in again");
        return;
    }
    snprintf(r->staff_id, sizeof r->staff_id, "%s", PQgetvalue(res, 0, 0));
    const char *role = PQgetvalue(res, 0, 1);
    unsigned bit = strcmp(role, "dpo") == 0     ? ROLE_DPO
                   : strcmp(role, "admin") == 0 ? ROLE_ADMIN
                                                : 0;
    if (!(EP[r->ep].roles & bit)) {
        gw_info("dpo", "%s refused for role %s", EP[r->ep].name, role);
        respond_error(r, 403, "forbidden", "this view is for the data-protection officer");
        return;
    }
    gw_info("dpo", "%s read (audit seq %s)", EP[r->ep].name, PQgetvalue(res, 0, 2));
    if (r->ep == EP_RETENTION || r->ep == EP_CHAIN || r->ep == EP_EXPORT)
        with_prep(r);
    else
        run_endpoint(r);
}

static void start_gate(dpo_req *r)
{
    /* details: the endpoint and which filters were used, never their values (a filter
     * value could be anything a DPO typed); the conversation id is the subject. */
    json_t *filters = json_array();
    for (int i = 0; i < Q_N; i++)
        if (r->q[i])
            json_array_append_new(filters, json_string(QNAMES[i]));
    json_t *d = json_pack("{s:s, s:o}", "endpoint", EP[r->ep].name, "filters", filters);
    char *details = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    char subject[64];
    if (r->ep == EP_CONVERSATION)
        snprintf(subject, sizeof subject, "%s", r->conv);
    else
        snprintf(subject, sizeof subject, "audit:%s", EP[r->ep].name);
    char roles[32];
    snprintf(roles, sizeof roles, "{%s%s%s}", (EP[r->ep].roles & ROLE_DPO) ? "dpo" : "",
             (EP[r->ep].roles & ROLE_DPO) && (EP[r->ep].roles & ROLE_ADMIN) ? "," : "",
             (EP[r->ep].roles & ROLE_ADMIN) ? "admin" : "");
    const char *vals[6] = {r->token_hex, subject, details, roles, r->q[Q_FROM], r->q[Q_TO]};
    req_query(r, GATE_SQL, vals, 6, gate_done);
    free(details);
}

/* Validates the query parameters the endpoint takes; unknown ones are ignored. */
static const char *check_params(dpo_req *r)
{
    for (int i = 0; i < Q_N; i++) {
        const char *v = r->q[i];
        if (!v)
            continue;
        switch (i) {
        case Q_FROM:
        case Q_TO:
            /* digits first: PostgreSQL would also take 'yesterday', 'epoch', 'infinity' */
            if (!chars_ok(v, ":.+- ", 40) || !(v[0] >= '0' && v[0] <= '9') || strlen(v) < 10 ||
                v[4] != '-' || v[7] != '-')
                return "from/to must be RFC 3339 times";
            break;
        case Q_EVENT:
            if (!chars_ok(v, "._", 64))
                return "event must be an event name or prefix";
            for (const char *s = v; *s; s++)
                if (*s >= 'A' && *s <= 'Z')
                    return "event must be an event name or prefix";
            break;
        case Q_ACTOR:
            if (!chars_ok(v, "-:_.", 80))
                return "actor must be an actor id";
            break;
        case Q_CONVERSATION:
            if (!is_uuid(v))
                return "conversation must be a conversation id";
            break;
        case Q_LIMIT: {
            char *end = NULL;
            long l = strtol(v, &end, 10);
            if (*v == '\0' || *end || l < 1 || l > EVENTS_LIMIT_MAX)
                return "limit must be 1..500";
            break;
        }
        case Q_BEFORE: {
            char *end = NULL;
            long long b = strtoll(v, &end, 10);
            if (*v == '\0' || *end || b < 1)
                return "before must be a sequence number";
            break;
        }
        case Q_BUCKET:
            if (strcmp(v, "day") != 0 && strcmp(v, "hour") != 0)
                return "bucket must be day or hour";
            break;
        case Q_FULL:
            if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0)
                return "full must be 0 or 1";
            break;
        }
    }
    return NULL;
}

/* Which parameters each endpoint reads; others are dropped before the audit record. */
static bool param_applies(endpoint ep, int q)
{
    switch (ep) {
    case EP_EVENTS: return q <= Q_BEFORE;
    case EP_STATS: return q == Q_FROM || q == Q_TO || q == Q_BUCKET;
    case EP_EXPORT: return q == Q_FROM || q == Q_TO;
    case EP_CHAIN: return q == Q_FULL;
    case EP_CONVERSATION:
    case EP_RETENTION: return false;
    }
    return false;
}

static void read_params(dpo_req *r, struct lws *wsi)
{
    char frag[256];
    for (int idx = 0; idx < 32; idx++) {
        int n = lws_hdr_copy_fragment(wsi, frag, sizeof frag, WSI_TOKEN_HTTP_URI_ARGS, idx);
        if (n < 0)
            break;
        char *eq = strchr(frag, '=');
        if (!eq)
            continue;
        *eq = '\0';
        for (int q = 0; q < Q_N; q++)
            if (strcmp(frag, QNAMES[q]) == 0 && param_applies(r->ep, q) && eq[1]) {
                free(r->q[q]);
                r->q[q] = xstrdup(eq + 1);
                if (q == Q_CONVERSATION) /* ids are stored in lower case */
                    for (char *c = r->q[q]; *c; c++)
                        if (*c >= 'A' && *c <= 'F')
                            *c = (char)(*c - 'A' + 'a');
            }
    }
}

static int route(const char *rest, endpoint *ep, char *conv, size_t convlen)
{
    static const char *const simple[] = {
        [EP_EVENTS] = "events",       [EP_STATS] = "stats", [EP_CONVERSATION] = NULL,
        [EP_RETENTION] = "retention", [EP_CHAIN] = "chain", [EP_EXPORT] = "export"};
    for (int i = 0; i <= EP_EXPORT; i++)
        if (simple[i] && strcmp(rest, simple[i]) == 0) {
            *ep = (endpoint)i;
            return 0;
        }
    if (strncmp(rest, "conversation/", 13) == 0) {
        *ep = EP_CONVERSATION;
        snprintf(conv, convlen, "%s", rest + 13);
        for (char *c = conv; *c; c++)
            if (*c >= 'A' && *c <= 'F')
                *c = (char)(*c - 'A' + 'a');
        return is_uuid(conv) ? 0 : 1; /* 1: malformed id */
    }
    return -1;
}

int gw_dpo_http(gw_app *app, struct lws *wsi, void **slot, const char *uri)
{
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0) {
        /* read-only API: nothing to collect, so no body handling and no state */
        lws_return_http_status(wsi, HTTP_STATUS_METHOD_NOT_ALLOWED, NULL);
        return 1;
    }
    dpo_req *r = calloc(1, sizeof *r);
    if (!r)
        abort();
    r->app = app;
    r->wsi = wsi;
    r->slot = slot;
    *slot = r;
    endpoint ep = EP_EVENTS;
    int rt = route(uri + strlen(GW_DPO_PREFIX), &ep, r->conv, sizeof r->conv);
    r->ep = ep;
    if (rt < 0) {
        respond_error(r, 404, "not_found", "no such audit view");
        return 0;
    }
    if (rt > 0) {
        respond_error(r, 400, "bad_request", "conversation must be a conversation id");
        return 0;
    }
    char cookies[2048] = "", token[128];
    if (lws_hdr_copy(wsi, cookies, sizeof cookies, WSI_TOKEN_HTTP_COOKIE) <= 0 ||
        gw_staff_cookie_value(cookies, GW_STAFF_COOKIE, token, sizeof token) <= 0) {
        sodium_memzero(cookies, sizeof cookies);
        respond_error(r, 401, "unauthorized", "log in first");
        return 0;
    }
    sodium_memzero(cookies, sizeof cookies);
    uint8_t h[32];
    crypto_generichash(h, sizeof h, (const uint8_t *)token, strlen(token), NULL, 0);
    sodium_memzero(token, sizeof token);
    memcpy(r->token_hex, "\\x", 2);
    sodium_bin2hex(r->token_hex + 2, sizeof r->token_hex - 2, h, sizeof h);
    read_params(r, wsi);
    const char *bad = check_params(r);
    if (bad) {
        respond_error(r, 400, "bad_request", bad);
        return 0;
    }
    if (app->draining) {
        respond_error(r, 503, "unavailable", "restarting");
        return 0;
    }
    start_gate(r);
    return 0;
}

/* ---- writing ----------------------------------------------------------------------------- */

static int add_header(struct lws *wsi, const char *name, const char *value, unsigned char **p,
                      unsigned char *end)
{
    return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
                                       (const unsigned char *)value, (int)strlen(value), p, end);
}

static int write_headers(dpo_req *r, struct lws *wsi)
{
    unsigned char buf[LWS_PRE + 2048], *start = buf + LWS_PRE, *p = start,
                                       *end = buf + sizeof buf - 1;
    if (lws_add_http_common_headers(wsi, r->status, r->ctype, (lws_filepos_t)r->body.len, &p, end))
        return -1;
    /* An API answer is data, never a document: nothing may run or be framed from it. */
    if (add_header(wsi, "content-security-policy:", "default-src 'none'; frame-ancestors 'none'",
                   &p, end) ||
        add_header(wsi, "x-content-type-options:", "nosniff", &p, end) ||
        add_header(wsi, "referrer-policy:", "no-referrer", &p, end) ||
        add_header(wsi, "cache-control:", "no-store", &p, end))
        return -1;
    if (r->attachment) {
        char cd[96], now[AUDIT_TS_LEN + 1];
        now_ts(now);
        now[19] = '\0';
        for (char *c = now; *c; c++)
            if (*c == ':')
                *c = '-';
        snprintf(cd, sizeof cd, "attachment; filename=\"caregate-audit-%sZ.jsonl\"", now);
        if (add_header(wsi, "content-disposition:", cd, &p, end))
            return -1;
    }
    if (lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    r->headers_sent = true;
    return 0;
}

int gw_dpo_writeable(struct lws *wsi, void **slot)
{
    dpo_req *r = *slot;
    if (!r || !r->ready)
        return 0;
    if (!r->headers_sent) {
        if (write_headers(r, wsi) != 0)
            return -1;
        if (r->body.len > 0) {
            lws_callback_on_writable(wsi);
            return 0;
        }
    }
    size_t left = r->body.len - r->off;
    size_t n = left < WRITE_CHUNK ? left : WRITE_CHUNK;
    bool final = n == left;
    unsigned char *b = xmalloc(LWS_PRE + n + 1);
    if (n)
        memcpy(b + LWS_PRE, r->body.p + r->off, n);
    int w = lws_write(wsi, b + LWS_PRE, n, final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP);
    free(b);
    if (w < (int)n)
        return -1;
    r->off += n;
    if (!final) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    /* done: the connection may carry the next request, which starts with an empty slot */
    *slot = NULL;
    req_free(r);
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

void gw_dpo_closed(void **slot)
{
    dpo_req *r = slot ? *slot : NULL;
    if (!r)
        return;
    *slot = NULL;
    r->slot = NULL;
    r->wsi = NULL;
    if (!r->pending) /* otherwise the pending callback frees it */
        req_free(r);
}

void gw_dpo_reload(void)
{
    /* A preparation in flight reads the files now anyway; otherwise the next request
     * prepares again. Requests already answered keep what they showed. */
    if (!prep.done || prep.running)
        return;
    rules_free(prep.rules);
    prep.rules = NULL;
    sodium_memzero(prep.pk, sizeof prep.pk);
    prep.done = prep.have_pk = false;
    prep.pk_err[0] = '\0';
}

void gw_dpo_shutdown(void)
{
    rules_free(prep.rules);
    prep.rules = NULL;
    sodium_memzero(prep.pk, sizeof prep.pk);
    prep.done = prep.have_pk = false;
    memset(&chain, 0, sizeof chain);
}
