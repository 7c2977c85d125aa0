/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gw_staff: caregate.staff.v1 (see gw_staff.h and docs/protocol.md).
 *
 * Authentication is asynchronous: the upgrade handler (gw_server.c) only checks that a
 * session cookie is present; the token is copied here in FILTER_PROTOCOL_CONNECTION
 * while the headers are still attached, and verified against staff_session once the
 * socket is established. Frames arriving before that answer are held (a few, bounded)
 * and handled in order afterwards; a bad cookie gets `unauthorized` and close 1008.
 *
 * Every conversation-changing statement carries its audit_append and its
 * pg_notify('caregate_conv') in the same statement, so consoles of every gateway
 * process learn about it only if it committed.
 */
#include "gw_staff.h"
#include "gw_fanout.h"
#include "gw_log.h"
#include "gw_wsframe.h"

#include <assert.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define CLIENT_ID_MAX 128
#define EARLY_MAX 16
#define OPEN_MAX 32 /* conversations whose keys one console keeps warm */

typedef struct early {
    struct early *next;
    size_t len;
    char buf[];
} early;

/* per socket, owned by lws */
typedef struct {
    gw_conn *conn;
    gw_wsframe rx;
    char token[128]; /* cookie token, copied at the upgrade and wiped after use */
} pss;

/* per session, owned by the gw_conn */
typedef struct {
    gw_app *app;
    bool authed, auth_failed, registered;
    char staff_id[GW_UUID_LEN + 1];
    char role[16];
    char *alias;
    early *early_head, *early_tail;
    unsigned n_early;
    char open[OPEN_MAX][GW_UUID_LEN + 1]; /* conversations opened: their keys are held */
    unsigned n_open;
} ssess;

size_t gw_staff_pss_size(void)
{
    return sizeof(pss);
}

static ssess *sess(gw_conn *c)
{
    return gw_conn_ext(c);
}

static void ssess_free(void *ext)
{
    ssess *s = ext;
    free(s->alias);
    while (s->early_head) {
        early *e = s->early_head;
        s->early_head = e->next;
        sodium_memzero(e->buf, e->len);
        free(e);
    }
}

int gw_staff_cookie_value(const char *header, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    const char *p = header;
    while (p && *p) {
        while (*p == ' ' || *p == ';')
            p++;
        if (strncmp(p, name, nl) == 0 && p[nl] == '=') {
            const char *v = p + nl + 1, *e = strchr(v, ';');
            size_t vl = e ? (size_t)(e - v) : strlen(v);
            while (vl && v[vl - 1] == ' ')
                vl--;
            if (vl == 0 || vl >= outlen)
                return -1;
            memcpy(out, v, vl);
            out[vl] = '\0';
            return (int)vl;
        }
        p = strchr(p, ';');
    }
    return -1;
}

static const char *store_code(int status)
{
    return status == GW_STORE_ERR_UNAVAILABLE ? "unavailable"
           : status == GW_STORE_ERR_NOT_FOUND ? "not_found"
                                              : "internal";
}

static const char *db_code(gw_db_status st)
{
    return st == GW_DB_ERR_QUERY ? "internal" : "unavailable";
}

/* ---- frames out -------------------------------------------------------------------------- */

static json_t *msg_json(const gw_msg *m, const char *type)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s%, s:s}", "type", type, "conversation",
                          m->conversation, "id", m->id, "from", m->sender, "kind", m->kind,
                          "text", m->text, m->text_len, "ts", m->ts);
    if (m->author_staff[0]) {
        json_object_set_new(o, "author_staff", json_string(m->author_staff));
        json_object_set_new(o, "author", json_string(m->author_alias ? m->author_alias : ""));
    }
    if (m->client_id)
        json_object_set_new(o, "client_id", json_string(m->client_id));
    return o;
}

void gw_staff_deliver(gw_app *app, gw_conn *c, const gw_msg *m)
{
    (void)app;
    ssess *s = sess(c);
    if (!s->authed)
        return;
    json_t *o = msg_json(m, "msg");
    gw_conn_send_json(c, o);
    json_decref(o);
}

#define SQL_CONV_COLS                                                                            \
    "SELECT c.id, c.status, c.channel, c.assignee, caregate_ts(c.waiting_since), "               \
    "caregate_ts(c.last_message_at), c.lang, caregate_ts(c.created_at) FROM conversation c "

static json_t *conv_json(PGresult *res, int r)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "id", PQgetvalue(res, r, 0), "status",
                          PQgetvalue(res, r, 1), "channel", PQgetvalue(res, r, 2), "lang",
                          PQgetvalue(res, r, 6));
    json_object_set_new(o, "assignee",
                        PQgetisnull(res, r, 3) ? json_null() : json_string(PQgetvalue(res, r, 3)));
    json_object_set_new(o, "waiting_since", PQgetisnull(res, r, 4)
                                                ? json_null()
                                                : json_string(PQgetvalue(res, r, 4)));
    json_object_set_new(o, "last_message_at", json_string(PQgetvalue(res, r, 5)));
    json_object_set_new(o, "created_at", json_string(PQgetvalue(res, r, 7)));
    /* previews need the redaction engine: until it is wired in, none is sent rather
     * than unredacted text */
    json_object_set_new(o, "preview", json_null());
    return o;
}

static void send_each(void *arg, gw_conn *c)
{
    if (sess(c)->authed)
        gw_conn_send_json(c, arg);
}

static void conv_changed_done(void *arg, gw_db_status status, PGresult *res, const char *sqlstate,
                              const char *errmsg)
{
    gw_app *app = arg;
    (void)sqlstate;
    (void)errmsg;
    if (status != GW_DB_OK || PQntuples(res) != 1)
        return;
    json_t *o = conv_json(res, 0);
    json_object_set_new(o, "type", json_string("conversation"));
    gw_fanout_staff_each(app->fanout, send_each, o);
    json_decref(o);
}

void gw_staff_conversation_changed(gw_app *app, const char *conv)
{
    if (gw_fanout_staff(app->fanout) == 0)
        return;
    const char *vals[1] = {conv};
    gw_db_params p = {vals, NULL, NULL, 1};
    if (gw_db_query(app->db, SQL_CONV_COLS "WHERE c.id = $1::uuid", &p, false, conv_changed_done,
                    app) != 0)
        return;
}

static const char SQL_QUEUE[] =
    SQL_CONV_COLS "WHERE c.status <> 'done' OR c.last_message_at > now() - interval '1 day' "
                  "ORDER BY c.waiting_since NULLS LAST, c.last_message_at DESC LIMIT 500";

static json_t *queue_json(PGresult *res)
{
    json_t *arr = json_array();
    for (int r = 0; r < PQntuples(res); r++)
        json_array_append_new(arr, conv_json(res, r));
    return json_pack("{s:s, s:o}", "type", "queue", "conversations", arr);
}

static void queue_done(void *arg, gw_db_status status, PGresult *res, const char *sqlstate,
                       const char *errmsg)
{
    gw_conn *c = arg;
    (void)sqlstate;
    (void)errmsg;
    if (gw_conn_alive(c)) {
        if (status == GW_DB_OK) {
            json_t *o = queue_json(res);
            gw_conn_send_json(c, o);
            json_decref(o);
        } else {
            gw_conn_send_error(c, db_code(status), "queue not available: try again", NULL);
        }
    }
    gw_conn_unref(c);
}

static void send_queue(gw_conn *c)
{
    gw_conn_ref(c);
    if (gw_db_query(sess(c)->app->db, SQL_QUEUE, NULL, false, queue_done, c) != 0)
        gw_conn_unref(c);
}

static void refresh_all_done(void *arg, gw_db_status status, PGresult *res, const char *sqlstate,
                             const char *errmsg)
{
    gw_app *app = arg;
    (void)sqlstate;
    (void)errmsg;
    if (status != GW_DB_OK)
        return;
    json_t *o = queue_json(res);
    gw_fanout_staff_each(app->fanout, send_each, o);
    json_decref(o);
}

void gw_staff_refresh_all(gw_app *app)
{
    if (gw_fanout_staff(app->fanout) == 0)
        return;
    if (gw_db_query(app->db, SQL_QUEUE, NULL, false, refresh_all_done, app) != 0)
        return;
}

/* ---- frames in ---------------------------------------------------------------------------- */

static const char *conv_arg(gw_conn *c, json_t *o, const char *cid)
{
    const char *conv = gw_wsframe_str(o, "conversation", GW_UUID_LEN, c, cid);
    if (conv && !gw_uuid_valid(conv)) {
        gw_conn_send_error(c, "bad_request", "field 'conversation' must be a UUID", cid);
        return NULL;
    }
    return conv;
}

/* open -> audit + history */
typedef struct {
    gw_conn *c;
    char conv[GW_UUID_LEN + 1];
} convop;

static convop *convop_new(gw_conn *c, const char *conv)
{
    convop *op = calloc(1, sizeof *op);
    if (!op)
        abort();
    op->c = c;
    snprintf(op->conv, sizeof op->conv, "%s", conv);
    gw_conn_ref(c);
    return op;
}

static void convop_free(convop *op)
{
    gw_conn_unref(op->c);
    free(op);
}

static void history_done(void *arg, int status, const gw_msg *msgs, size_t n)
{
    convop *op = arg;
    gw_conn *c = op->c;
    if (gw_conn_alive(c)) {
        if (status == GW_STORE_OK) {
            json_t *arr = json_array();
            for (size_t i = 0; i < n; i++) {
                json_t *m = msg_json(&msgs[i], "msg");
                json_object_del(m, "conversation");
                json_array_append_new(arr, m);
            }
            json_t *o = json_pack("{s:s, s:s, s:o}", "type", "history", "conversation", op->conv,
                                  "messages", arr);
            gw_conn_send_json(c, o);
            json_decref(o);
        } else {
            gw_conn_send_error(c, store_code(status), "history not available", NULL);
        }
    }
    convop_free(op);
}

static void hold_open(gw_conn *c, const char *conv)
{
    ssess *s = sess(c);
    for (unsigned i = 0; i < s->n_open; i++)
        if (strcmp(s->open[i], conv) == 0)
            return;
    if (s->n_open == OPEN_MAX) { /* forget the oldest */
        gw_store_key_release(s->app->store, s->open[0]);
        memmove(s->open[0], s->open[1], sizeof s->open[0] * (OPEN_MAX - 1));
        s->n_open--;
    }
    snprintf(s->open[s->n_open++], sizeof s->open[0], "%s", conv);
    gw_store_key_hold(s->app->store, conv);
}

static void open_audited(void *arg, gw_db_status status, PGresult *res, const char *sqlstate,
                         const char *errmsg)
{
    convop *op = arg;
    gw_conn *c = op->c;
    (void)sqlstate;
    (void)errmsg;
    if (!gw_conn_alive(c)) {
        convop_free(op);
        return;
    }
    if (status != GW_DB_OK) {
        gw_conn_send_error(c, db_code(status), "open failed: try again", NULL);
        convop_free(op);
        return;
    }
    if (PQntuples(res) != 1) {
        gw_conn_send_error(c, "not_found", "conversation not found", NULL);
        convop_free(op);
        return;
    }
    hold_open(c, op->conv);
    if (gw_store_history(sess(c)->app->store, op->conv, true, 200, history_done, op) != 0) {
        gw_conn_send_error(c, "unavailable", "shutting down", NULL);
        convop_free(op);
    }
}

static void on_open(gw_conn *c, json_t *o)
{
    ssess *s = sess(c);
    const char *conv = conv_arg(c, o, NULL);
    if (!conv)
        return;
    convop *op = convop_new(c, conv);
    const char *vals[2] = {s->staff_id, conv};
    gw_db_params p = {vals, NULL, NULL, 2};
    /* the access is recorded in the same statement that checks the conversation exists */
    if (gw_db_query(s->app->db,
                    "SELECT audit_append('conversation.opened', $1, c.id::text, '{}'::jsonb) "
                    "FROM conversation c WHERE c.id = $2::uuid",
                    &p, false, open_audited, op) != 0) {
        gw_conn_send_error(c, "unavailable", "shutting down", NULL);
        convop_free(op);
    }
}

/* reply / note -> store -> ack */
static void write_done(void *arg, int status, const gw_msg *m, bool fresh)
{
    gw_conn *c = ((void **)arg)[0];
    char *client_id = ((void **)arg)[1];
    free(arg);
    (void)fresh;
    if (gw_conn_alive(c)) {
        if (status == GW_STORE_OK) {
            json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "ack", "client_id",
                                  client_id, "id", m->id, "ts", m->ts, "conversation",
                                  m->conversation);
            gw_conn_send_json(c, o);
            json_decref(o);
        } else {
            gw_conn_send_error(c, store_code(status),
                               status == GW_STORE_ERR_UNAVAILABLE
                                   ? "temporarily unavailable: send again (same client_id)"
                               : status == GW_STORE_ERR_NOT_FOUND ? "conversation not found"
                                                                  : "internal error",
                               client_id);
        }
    }
    free(client_id);
    gw_conn_unref(c);
}

static void write_msg(gw_conn *c, json_t *o, const char *kind)
{
    ssess *s = sess(c);
    const gw_config *cfg = s->app->cfg;
    const char *cid = json_string_value(json_object_get(o, "client_id"));
    const char *client_id = gw_wsframe_str(o, "client_id", CLIENT_ID_MAX, c, NULL);
    if (!client_id)
        return;
    if (!*client_id) {
        gw_conn_send_error(c, "bad_request", "field 'client_id' must not be empty", NULL);
        return;
    }
    const char *conv = conv_arg(c, o, cid);
    if (!conv)
        return;
    json_t *t = json_object_get(o, "text");
    if (!json_is_string(t) || json_string_length(t) == 0) {
        gw_conn_send_error(c, "bad_request", "field 'text' must be a non-empty string", cid);
        return;
    }
    if (json_string_length(t) > (size_t)cfg->max_message_bytes) {
        gw_conn_send_error(c, "too_large", "message text is longer than allowed", cid);
        return;
    }
    if (!gw_conn_rate_take(c, uv_now(s->app->loop), cfg->rate_limit_per_minute,
                           cfg->rate_limit_burst)) {
        gw_conn_send_error(c, "rate_limited", "too many messages: slow down", cid);
        return;
    }
    if (s->app->draining) {
        gw_conn_send_error(c, "unavailable", "the gateway is restarting: send again", cid);
        return;
    }
    gw_store_item it = {conv, client_id, "staff", kind, s->staff_id, s->alias,
                        json_string_value(t), json_string_length(t)};
    void **ctx = calloc(2, sizeof *ctx);
    if (!ctx)
        abort();
    ctx[0] = c;
    ctx[1] = strdup(client_id);
    if (!ctx[1])
        abort();
    gw_conn_ref(c);
    if (gw_store_append(s->app->store, &it, write_done, ctx) != 0) {
        gw_conn_unref(c);
        free(ctx[1]);
        free(ctx);
        gw_conn_send_error(c, "unavailable", "the gateway is restarting: send again", cid);
    }
}

static void on_reply(gw_conn *c, json_t *o)
{
    write_msg(c, o, "text");
}

static void on_note(gw_conn *c, json_t *o)
{
    write_msg(c, o, "note"); /* kind 'note': gw_fanout never delivers it to a patient */
}

/* status / assign */
static void change_done(void *arg, gw_db_status status, PGresult *res, const char *sqlstate,
                        const char *errmsg)
{
    convop *op = arg;
    gw_conn *c = op->c;
    (void)errmsg;
    if (gw_conn_alive(c)) {
        if (status == GW_DB_ERR_QUERY && sqlstate && strcmp(sqlstate, "23503") == 0)
            gw_conn_send_error(c, "not_found", "no such staff member", NULL);
        else if (status != GW_DB_OK)
            gw_conn_send_error(c, db_code(status), "change failed: try again", NULL);
        else if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "0") == 0)
            gw_conn_send_error(c, "not_found", "conversation not found", NULL);
        /* success: every console (this one too) gets a "conversation" frame via NOTIFY */
    }
    convop_free(op);
}

static void on_status(gw_conn *c, json_t *o)
{
    ssess *s = sess(c);
    const char *conv = conv_arg(c, o, NULL);
    if (!conv)
        return;
    const char *st = gw_wsframe_str(o, "status", 16, c, NULL);
    if (!st)
        return;
    if (strcmp(st, "open") && strcmp(st, "pending") && strcmp(st, "snoozed") && strcmp(st, "done")) {
        gw_conn_send_error(c, "bad_request", "status must be open, pending, snoozed or done", NULL);
        return;
    }
    convop *op = convop_new(c, conv);
    const char *vals[3] = {conv, st, s->staff_id};
    gw_db_params p = {vals, NULL, NULL, 3};
    if (gw_db_query(s->app->db,
                    "WITH u AS (UPDATE conversation SET status = $2, closed_at = CASE WHEN $2 = "
                    "'done' THEN now() ELSE NULL END WHERE id = $1::uuid RETURNING id), a AS "
                    "(SELECT audit_append('conversation.status', $3, u.id::text, "
                    "jsonb_build_object('status', $2::text)) FROM u), n AS (SELECT "
                    "pg_notify('caregate_conv', json_build_object('c', u.id, 'e', "
                    "'status')::text) FROM u) SELECT (SELECT count(*) FROM u) + 0 * (SELECT "
                    "count(*) FROM a) + 0 * (SELECT count(*) FROM n)",
                    &p, false, change_done, op) != 0) {
        gw_conn_send_error(c, "unavailable", "shutting down", NULL);
        convop_free(op);
    }
}

static void on_assign(gw_conn *c, json_t *o)
{
    ssess *s = sess(c);
    const char *conv = conv_arg(c, o, NULL);
    if (!conv)
        return;
    const char *who = NULL;
    if (!gw_wsframe_opt_str(o, "staff", GW_UUID_LEN, &who, c))
        return;
    if (who && !gw_uuid_valid(who)) {
        gw_conn_send_error(c, "bad_request", "field 'staff' must be a UUID or null", NULL);
        return;
    }
    convop *op = convop_new(c, conv);
    const char *vals[3] = {conv, who, s->staff_id};
    gw_db_params p = {vals, NULL, NULL, 3};
    if (gw_db_query(s->app->db,
                    "WITH u AS (UPDATE conversation SET assignee = $2::uuid WHERE id = $1::uuid "
                    "AND ($2::uuid IS NULL OR EXISTS (SELECT 1 FROM staff WHERE id = $2::uuid AND "
                    "disabled_at IS NULL)) RETURNING id), a AS (SELECT "
                    "audit_append('conversation.assigned', $3, u.id::text, "
                    "jsonb_build_object('assignee', $2::text)) FROM u), n AS (SELECT "
                    "pg_notify('caregate_conv', json_build_object('c', u.id, 'e', "
                    "'assign')::text) FROM u) SELECT (SELECT count(*) FROM u) + 0 * (SELECT "
                    "count(*) FROM a) + 0 * (SELECT count(*) FROM n)",
                    &p, false, change_done, op) != 0) {
        gw_conn_send_error(c, "unavailable", "shutting down", NULL);
        convop_free(op);
    }
}

static void on_queue(gw_conn *c, json_t *o)
{
    (void)o;
    send_queue(c);
}

static void on_typing(gw_conn *c, json_t *o)
{
    (void)c;
    (void)o;
}

static const struct {
    const char *type;
    void (*fn)(gw_conn *c, json_t *o);
} handlers[] = {
    {"open", on_open},     {"reply", on_reply}, {"note", on_note},   {"status", on_status},
    {"assign", on_assign}, {"queue", on_queue}, {"typing", on_typing},
};

static void handle_frame(gw_conn *c, gw_wsframe *rx)
{
    const char *type = NULL;
    json_t *o = gw_wsframe_parse(rx, c, &type);
    if (!o)
        return;
    size_t i = 0;
    for (; i < sizeof handlers / sizeof handlers[0]; i++)
        if (strcmp(handlers[i].type, type) == 0)
            break;
    if (i < sizeof handlers / sizeof handlers[0])
        handlers[i].fn(c, o);
    else
        gw_conn_send_error(c, "unknown_type", "unknown frame type",
                           json_string_value(json_object_get(o, "client_id")));
    json_decref(o);
}

/* ---- authentication ------------------------------------------------------------------------ */

static void auth_done(void *arg, gw_db_status status, PGresult *res, const char *sqlstate,
                      const char *errmsg)
{
    gw_conn *c = arg;
    ssess *s = sess(c);
    (void)sqlstate;
    (void)errmsg;
    if (!gw_conn_alive(c)) {
        gw_conn_unref(c);
        return;
    }
    if (status != GW_DB_OK) {
        gw_conn_send_error(c, "unavailable", "cannot check the session now: reconnect", NULL);
        gw_conn_close(c, 1011, "unavailable");
    } else if (PQntuples(res) != 1) {
        s->auth_failed = true;
        gw_info(gw_conn_tag(c), "staff socket refused: session not valid");
        gw_conn_send_error(c, "unauthorized", "log in again", NULL);
        gw_conn_close(c, 1008, "unauthorized");
    } else if (strcmp(PQgetvalue(res, 0, 1), "dpo") == 0) {
        /* DPO hook (issue 7): the dpo role reads the audit log (/api/audit/, gw_dpo.c) and
         * never conversations: no queue, previews, history or messages on this socket. */
        s->auth_failed = true;
        gw_info(gw_conn_tag(c), "staff socket refused: dpo role");
        gw_conn_send_error(c, "forbidden", "the DPO role has no access to conversations", NULL);
        gw_conn_close(c, 1008, "forbidden");
    } else {
        s->authed = true;
        snprintf(s->staff_id, sizeof s->staff_id, "%s", PQgetvalue(res, 0, 0));
        snprintf(s->role, sizeof s->role, "%s", PQgetvalue(res, 0, 1));
        s->alias = strdup(PQgetvalue(res, 0, 2));
        gw_fanout_staff_add(s->app->fanout, c, s->staff_id);
        s->registered = true;
        json_t *o = json_pack("{s:s, s:{s:s, s:s, s:s}}", "type", "welcome", "staff", "id",
                              s->staff_id, "role", s->role, "alias", s->alias ? s->alias : "");
        gw_conn_send_json(c, o);
        json_decref(o);
        send_queue(c);
        gw_info(gw_conn_tag(c), "staff socket authenticated");
        /* frames that arrived while the session was being checked, in order */
        while (s->early_head && gw_conn_alive(c)) {
            early *e = s->early_head;
            s->early_head = e->next;
            s->n_early--;
            gw_wsframe rx = {e->buf, e->len, e->len, false, 0};
            handle_frame(c, &rx);
            sodium_memzero(e->buf, e->len);
            free(e);
        }
        s->early_tail = NULL;
    }
    gw_conn_unref(c);
}

static int on_established(struct lws *wsi, pss *p, gw_app *app)
{
    p->conn = gw_conn_new(wsi, 's', sizeof(ssess), ssess_free);
    ssess *s = sess(p->conn);
    s->app = app;
    gw_info(gw_conn_tag(p->conn), "staff socket open");
    if (app->draining) {
        gw_conn_close(p->conn, LWS_CLOSE_STATUS_GOINGAWAY, "restarting");
        return 0;
    }
    uint8_t h[32];
    crypto_generichash(h, sizeof h, (const uint8_t *)p->token, strlen(p->token), NULL, 0);
    sodium_memzero(p->token, sizeof p->token);
    char hx[2 + 64 + 1] = "\\x";
    sodium_bin2hex(hx + 2, sizeof hx - 2, h, sizeof h);
    const char *vals[1] = {hx};
    gw_db_params prm = {vals, NULL, NULL, 1};
    gw_conn_ref(p->conn);
    if (gw_db_query(app->db,
                    "SELECT s.id, s.role, s.alias FROM staff_session ss JOIN staff s ON s.id = "
                    "ss.staff_id WHERE ss.token_hash = $1::bytea AND ss.revoked_at IS NULL AND "
                    "ss.expires_at > now() AND s.disabled_at IS NULL",
                    &prm, false, auth_done, p->conn) != 0) {
        gw_conn_unref(p->conn);
        gw_conn_close(p->conn, LWS_CLOSE_STATUS_GOINGAWAY, "restarting");
    }
    return 0;
}

static int on_receive(struct lws *wsi, pss *p, const void *in, size_t len)
{
    gw_conn *c = p->conn;
    ssess *s = sess(c);
    int st = gw_wsframe_feed(&p->rx, wsi, in, len, (size_t)s->app->cfg->max_frame_bytes);
    if (st == GW_WSFRAME_MORE)
        return 0;
    if (st == GW_WSFRAME_TOO_LARGE) {
        gw_info(gw_conn_tag(c), "frame over max_frame_bytes: too_large, closing 1009");
        gw_conn_send_error(c, "too_large", "frame larger than the limit", NULL);
        if (lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0)
            st = GW_WSFRAME_DISCARDED;
        else
            return 0;
    }
    if (st == GW_WSFRAME_DISCARDED) {
        gw_wsframe_reset(&p->rx);
        gw_conn_close(c, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "frame too large");
        return 0;
    }
    if (st == GW_WSFRAME_ABUSE) {
        gw_wsframe_reset(&p->rx);
        lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, NULL, 0);
        return -1;
    }
    if (!gw_conn_alive(c) || s->auth_failed) {
        gw_wsframe_reset(&p->rx);
        return 0;
    }
    if (!s->authed) {
        if (s->n_early >= EARLY_MAX) {
            gw_conn_send_error(c, "rate_limited", "wait for welcome before sending more", NULL);
        } else {
            early *e = malloc(sizeof *e + p->rx.len + 1);
            if (!e)
                abort();
            e->next = NULL;
            e->len = p->rx.len;
            memcpy(e->buf, p->rx.buf, p->rx.len);
            e->buf[p->rx.len] = '\0';
            if (s->early_tail)
                s->early_tail->next = e;
            else
                s->early_head = e;
            s->early_tail = e;
            s->n_early++;
        }
        gw_wsframe_reset(&p->rx);
        return 0;
    }
    handle_frame(c, &p->rx);
    gw_wsframe_reset(&p->rx);
    return 0;
}

static void on_closed(pss *p)
{
    gw_conn *c = p->conn;
    gw_wsframe_reset(&p->rx);
    sodium_memzero(p->token, sizeof p->token);
    if (!c)
        return;
    ssess *s = sess(c);
    if (s->registered) {
        gw_fanout_staff_remove(s->app->fanout, c);
        s->registered = false;
    }
    for (unsigned i = 0; i < s->n_open; i++)
        gw_store_key_release(s->app->store, s->open[i]);
    s->n_open = 0;
    gw_info(gw_conn_tag(c), "staff socket closed");
    p->conn = NULL;
    gw_conn_detach(c);
}

static int on_filter(struct lws *wsi, pss *p)
{
    char cookies[2048] = "";
    /* headers are still attached here, not in ESTABLISHED: keep only the token */
    if (lws_hdr_copy(wsi, cookies, sizeof cookies, WSI_TOKEN_HTTP_COOKIE) <= 0 ||
        gw_staff_cookie_value(cookies, GW_STAFF_COOKIE, p->token, sizeof p->token) <= 0)
        return 1; /* refuse (gw_server.c already answered 401 for a missing cookie) */
    sodium_memzero(cookies, sizeof cookies);
    return 0;
}

int gw_staff_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                      size_t len)
{
    pss *p = user;
    const struct lws_protocols *proto = lws_get_protocol(wsi);
    gw_app *app = proto ? proto->user : NULL;

    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        return on_filter(wsi, p);
    case LWS_CALLBACK_ESTABLISHED:
        return on_established(wsi, p, app);
    case LWS_CALLBACK_RECEIVE:
        assert(p->conn);
        return on_receive(wsi, p, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return p->conn ? gw_conn_writeable(p->conn) : 0;
    case LWS_CALLBACK_CLOSED:
        on_closed(p);
        return 0;
    default:
        return 0;
    }
}
