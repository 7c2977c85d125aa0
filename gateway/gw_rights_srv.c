/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gw_rights_srv: keyring reload, shredded-key eviction, the retention timer and the
 * patient's erasure request inside `caregate serve` (overview in gw_rights_srv.h).
 *
 * Threads: everything here runs on the loop thread except work_cb, which runs in libuv's
 * worker pool with its own blocking PGconn and its own copies of what it reads (conninfo,
 * policy path), and touches nothing else of the gateway. Retention is rare, slow and
 * blocking by nature (one transaction per conversation); the worker keeps it off the
 * loop without a second async implementation of the same steps.
 *
 * Notification callbacks get the gw_app (which lives until the process ends) rather than
 * this handle, because gw_db has no way to unsubscribe: after gw_rights_srv_stop they
 * find app->rights NULL and do only what needs no handle (the keyring reload).
 * Implements DPO requirements RET-1 (scheduled retention), ERA-1 (patient erasure
 * request), KEY-3 (gateways learn new master-key versions without a restart).
 */
#include "gw_rights_srv.h"

#include "gw_log.h"
#include "gw_retention.h"
#include "gw_rotate.h"
#include "gw_store.h"
#include "gw_wsframe.h"
#include "rules.h"

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct gw_rights_srv {
    gw_app *app;
    char *conninfo;
    char *policy_file; /* the worker reads its own copy of the policy per run: app->rules
                        * belongs to the loop thread, which replaces it on SIGHUP */
    uv_timer_t timer;
    uv_signal_t hup;
    uv_work_t work;
    bool running; /* work queued or in the worker */
    bool again;   /* kicked while running: run once more */
    bool stopping;
    int open_handles;
    /* results, written by the worker, read in after_work */
    int rc;
    gw_ret_counts counts;
    char err[256];
};

static void *xstrdup(const char *s)
{
    char *p = strdup(s ? s : "");
    if (!p)
        abort();
    return p;
}

static void maybe_free(gw_rights_srv *rs)
{
    if (rs->stopping && rs->open_handles == 0 && !rs->running) {
        free(rs->conninfo);
        free(rs->policy_file);
        free(rs);
    }
}

/* ---- the worker ------------------------------------------------------------------------ */

static rules *load_policy(const char *path, char *err, size_t errlen)
{
    char *buf = NULL;
    size_t len = 0;
    if (*path) {
        FILE *f = fopen(path, "rb");
        if (!f) {
            snprintf(err, errlen, "cannot open the policy file");
            return NULL;
        }
        size_t cap = 0;
        for (;;) {
            if (len + 4096 > cap) {
                cap = cap ? cap * 2 : 8192;
                buf = realloc(buf, cap);
                if (!buf)
                    abort();
            }
            size_t n = fread(buf + len, 1, cap - len, f);
            len += n;
            if (n == 0)
                break;
        }
        fclose(f);
    } else {
        buf = xstrdup("{}");
        len = 2;
    }
    rules *r = NULL;
    if (rules_parse(buf, len, &r, err, errlen) != RULES_OK)
        r = NULL;
    free(buf);
    return r;
}

/* Worker thread: no gateway state is touched here (see the file comment). */
static void work_cb(uv_work_t *w)
{
    gw_rights_srv *rs = w->data;
    memset(&rs->counts, 0, sizeof rs->counts);
    rs->err[0] = '\0';
    rs->rc = GW_RET_ERR;
    rules *r = load_policy(rs->policy_file, rs->err, sizeof rs->err);
    if (!r)
        return;
    PGconn *c = PQconnectdb(rs->conninfo);
    if (PQstatus(c) == CONNECTION_OK) {
        gw_ret_opts o = {
            .now = (int64_t)time(NULL), .dry_run = false, .actor = "system", .progress = NULL};
        rs->rc = gw_retention_run(c, r, &o, &rs->counts, rs->err, sizeof rs->err);
    } else {
        snprintf(rs->err, sizeof rs->err, "cannot connect to the database");
    }
    PQfinish(c);
    rules_free(r);
}

static void start_work(gw_rights_srv *rs);

static void after_work_cb(uv_work_t *w, int status)
{
    gw_rights_srv *rs = w->data;
    rs->running = false;
    if (status == 0) {
        if (rs->rc == GW_RET_OK && rs->counts.due > 0)
            gw_info("retention", "run: due %ld, deleted %ld conversation(s), %ld message(s)",
                    rs->counts.due, rs->counts.deleted, rs->counts.messages);
        else if (rs->rc == GW_RET_BUSY)
            gw_debug("retention", "another process is running retention");
        else if (rs->rc != GW_RET_OK)
            gw_warn("retention", "run failed: %s", rs->err);
    }
    if (rs->again && !rs->stopping) {
        rs->again = false;
        start_work(rs);
    }
    maybe_free(rs);
}

static void start_work(gw_rights_srv *rs)
{
    if (rs->stopping)
        return;
    if (rs->running) {
        rs->again = true;
        return;
    }
    rs->work.data = rs;
    if (uv_queue_work(rs->app->loop, &rs->work, work_cb, after_work_cb) == 0)
        rs->running = true;
}

static void timer_cb(uv_timer_t *t)
{
    start_work(t->data);
}

void gw_rights_srv_kick(gw_rights_srv *rs)
{
    if (rs)
        start_work(rs);
}

/* ---- keys and shredding --------------------------------------------------------------- */

static void on_keys(void *arg, gw_db_notify_kind kind, const char *channel, const char *payload)
{
    (void)channel;
    (void)payload;
    (void)kind; /* RESYNC too: a rotation's notification may have been missed */
    gw_rotate_reload(arg);
}

static void on_shred(void *arg, gw_db_notify_kind kind, const char *channel, const char *payload)
{
    gw_app *app = arg;
    (void)channel;
    /* After a RESYNC a missed shred only leaves a key cached until its sessions end; the
     * wrapped key is gone from the database either way. */
    if (kind == GW_DB_NOTIFY && payload && gw_uuid_valid(payload) && app->store)
        gw_store_key_forget(app->store, payload);
}

static void on_hup(uv_signal_t *h, int signum)
{
    gw_rights_srv *rs = h->data;
    (void)signum;
    /* the policy file (retention classes included) is reloaded by gw_serve on the same
     * signal; the next retention run reads it afresh anyway */
    gw_info("keys", "SIGHUP: reloading the master key file");
    gw_rotate_reload(rs->app);
}

/* ---- patient erasure request ----------------------------------------------------------- */

typedef struct {
    gw_conn *c;
    gw_app *app;
} erase_ctx;

static void erase_done(void *arg, gw_db_status status, PGresult *res, const char *sqlstate,
                       const char *errmsg)
{
    erase_ctx *x = arg;
    gw_conn *c = x->c;
    gw_app *app = x->app;
    free(x);
    (void)errmsg;
    const char *verdict = status == GW_DB_OK && PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "";
    bool accepted = strcmp(verdict, "accepted") == 0;
    if (gw_conn_alive(c)) {
        if (accepted) {
            json_t *o = json_pack("{s:s}", "type", "erase_accepted");
            gw_conn_send_json(c, o);
            json_decref(o);
            gw_info(gw_conn_tag(c), "erasure requested");
        } else if (strcmp(verdict, "legal_hold") == 0) {
            gw_conn_send_error(c, "legal_hold",
                               "this conversation must be kept for now (legal hold); the clinic "
                               "will erase it when the hold ends",
                               NULL);
        } else if (strcmp(verdict, "gone") == 0) {
            gw_conn_send_error(c, "not_found", "nothing to erase", NULL);
        } else {
            gw_warn(gw_conn_tag(c), "erase request failed: sqlstate=%s", sqlstate ? sqlstate : "");
            gw_conn_send_error(c, "unavailable", "please try again", NULL);
        }
    }
    gw_conn_unref(c);
    /* The request is committed: carry it out now, also if the patient already left. */
    if (accepted)
        gw_rights_srv_kick(app->rights);
}

void gw_rights_srv_patient_erase(gw_app *app, gw_conn *c, const char *conv)
{
    if (!conv || !*conv) {
        gw_conn_send_error(c, "bad_request", "send hello first and wait for welcome", NULL);
        return;
    }
    char actor[48];
    snprintf(actor, sizeof actor, "patient:%s", conv);
    const char *vals[2] = {conv, actor};
    gw_db_params p = {vals, NULL, NULL, 2};
    erase_ctx *x = calloc(1, sizeof *x);
    if (!x)
        abort();
    x->c = c;
    x->app = app;
    gw_conn_ref(c);
    if (gw_db_query(app->db, "SELECT caregate_erase_request($1::uuid, $2)", &p, false, erase_done,
                    x) != 0) {
        free(x);
        gw_conn_unref(c);
        gw_conn_send_error(c, "unavailable", "the gateway is restarting: send again", NULL);
    }
}

/* ---- staff frames ------------------------------------------------------------------------ */

typedef struct {
    gw_conn *c;
    json_t *reply; /* sent when the update found the conversation */
} staff_op;

static void staff_done(void *arg, gw_db_status status, PGresult *res, const char *sqlstate,
                       const char *errmsg)
{
    staff_op *op = arg;
    (void)errmsg;
    if (gw_conn_alive(op->c)) {
        if (status != GW_DB_OK) {
            gw_warn(gw_conn_tag(op->c), "retention/hold change failed: sqlstate=%s",
                    sqlstate ? sqlstate : "");
            gw_conn_send_error(op->c, status == GW_DB_ERR_QUERY ? "internal" : "unavailable",
                               "change failed: try again", NULL);
        } else if (PQntuples(res) != 1) {
            gw_conn_send_error(op->c, "not_found", "conversation not found", NULL);
        } else {
            gw_conn_send_json(op->c, op->reply);
        }
    }
    json_decref(op->reply);
    gw_conn_unref(op->c);
    free(op);
}

static void staff_query(gw_app *app, gw_conn *c, const char *sql, const char *const *vals, int n,
                        json_t *reply)
{
    staff_op *op = calloc(1, sizeof *op);
    if (!op)
        abort();
    op->c = c;
    op->reply = reply;
    gw_db_params p = {vals, NULL, NULL, n};
    gw_conn_ref(c);
    if (gw_db_query(app->db, sql, &p, false, staff_done, op) != 0) {
        json_decref(reply);
        free(op);
        gw_conn_unref(c);
        gw_conn_send_error(c, "unavailable", "shutting down", NULL);
    }
}

void gw_rights_srv_staff_retention(gw_app *app, gw_conn *c, const char *staff_id, json_t *o)
{
    const char *conv = gw_wsframe_str(o, "conversation", GW_UUID_LEN, c, NULL);
    const char *cls = conv ? gw_wsframe_str(o, "class", 64, c, NULL) : NULL;
    if (!conv || !cls)
        return;
    if (!gw_uuid_valid(conv)) {
        gw_conn_send_error(c, "bad_request", "field 'conversation' must be a UUID", NULL);
        return;
    }
    const rules *r = app->rules;
    long days = 0;
    if (!r) {
        gw_conn_send_error(c, "unavailable", "the policy file could not be loaded", NULL);
        return;
    }
    if (!rules_retention_days(r, cls, &days)) {
        gw_conn_send_error(c, "bad_request", "no such retention class in the policy", NULL);
        return;
    }
    char actor[48];
    snprintf(actor, sizeof actor, "staff:%s", staff_id);
    const char *vals[3] = {conv, cls, actor};
    staff_query(
        app, c,
        "WITH u AS (UPDATE conversation SET retention_class = $2 WHERE id = $1::uuid "
        "AND shredded_at IS NULL RETURNING id) SELECT audit_append("
        "'conversation.retention_class', $3, 'conversation:' || u.id::text, "
        "jsonb_build_object('class', $2::text)), pg_notify('caregate_conv', "
        "json_build_object('c', u.id, 'e', 'retention')::text) FROM u",
        vals, 3,
        json_pack("{s:s, s:s, s:s}", "type", "retention", "conversation", conv, "class", cls));
}

void gw_rights_srv_staff_hold(gw_app *app, gw_conn *c, const char *staff_id, const char *role,
                              json_t *o)
{
    const char *conv = gw_wsframe_str(o, "conversation", GW_UUID_LEN, c, NULL);
    if (!conv)
        return;
    json_t *h = json_object_get(o, "hold");
    const char *code = NULL;
    if (!gw_uuid_valid(conv) || !json_is_boolean(h)) {
        gw_conn_send_error(c, "bad_request", "need 'conversation' (UUID) and 'hold' (boolean)",
                           NULL);
        return;
    }
    if (!gw_wsframe_opt_str(o, "reason_code", 64, &code, c))
        return;
    /* ROLE-1: legal hold is for admins and DPOs only. */
    if (strcmp(role, "admin") != 0 && strcmp(role, "dpo") != 0) {
        gw_conn_send_error(c, "forbidden", "only admins and DPOs may place or lift a legal hold",
                           NULL);
        return;
    }
    bool on = json_is_true(h);
    if (code && (!on || !gw_retention_reason_code_ok(code))) {
        gw_conn_send_error(c, "bad_request",
                           "reason_code: only with hold true, 1-64 of A-Z a-z 0-9 - _ . /", NULL);
        return;
    }
    char actor[48];
    snprintf(actor, sizeof actor, "staff:%s", staff_id);
    const char *vals[4] = {conv, on ? "t" : "f", code, actor};
    staff_query(
        app, c,
        "WITH u AS (UPDATE conversation SET legal_hold = $2::boolean, "
        "legal_hold_reason = CASE WHEN $2::boolean THEN $3 ELSE NULL END "
        "WHERE id = $1::uuid AND shredded_at IS NULL RETURNING id) "
        "SELECT audit_append(CASE WHEN $2::boolean THEN 'legal_hold.set' "
        "ELSE 'legal_hold.lifted' END, $4, 'conversation:' || u.id::text, "
        "jsonb_strip_nulls(jsonb_build_object('reason_code', $3::text))), "
        "pg_notify('caregate_conv', json_build_object('c', u.id, 'e', 'hold')::text) "
        "FROM u",
        vals, 4,
        json_pack("{s:s, s:s, s:b}", "type", "legal_hold", "conversation", conv, "hold", on));
}

/* ---- lifecycle ------------------------------------------------------------------------- */

gw_rights_srv *gw_rights_srv_start(gw_app *app, const char *conninfo)
{
    if (gw_db_listen(app->db, "caregate_keys", on_keys, app) != 0 ||
        gw_db_listen(app->db, "caregate_shred", on_shred, app) != 0) {
        gw_err("retention", "cannot subscribe to caregate_keys/caregate_shred");
        return NULL;
    }
    gw_rights_srv *rs = calloc(1, sizeof *rs);
    if (!rs)
        abort();
    rs->app = app;
    rs->conninfo = xstrdup(conninfo);
    rs->policy_file = xstrdup(app->cfg->policy_file);
    uv_timer_init(app->loop, &rs->timer);
    rs->timer.data = rs;
    uv_signal_init(app->loop, &rs->hup);
    rs->hup.data = rs;
    rs->open_handles = 2;
    uint64_t period = (uint64_t)app->cfg->retention_interval_seconds * 1000u;
    /* The first run waits one period: a gateway restarting in a loop must not hammer
     * the database, and `caregate retention run` exists for "now". */
    uv_timer_start(&rs->timer, timer_cb, period, period);
    uv_signal_start(&rs->hup, on_hup, SIGHUP);
    return rs;
}

static void handle_closed(uv_handle_t *h)
{
    gw_rights_srv *rs = h->data;
    rs->open_handles--;
    maybe_free(rs);
}

void gw_rights_srv_stop(gw_rights_srv *rs)
{
    if (!rs || rs->stopping)
        return;
    rs->stopping = true;
    rs->app->rights = NULL;
    uv_timer_stop(&rs->timer);
    uv_signal_stop(&rs->hup);
    uv_close((uv_handle_t *)&rs->timer, handle_closed);
    uv_close((uv_handle_t *)&rs->hup, handle_closed);
}
