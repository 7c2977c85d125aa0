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
#include "gw_meta.h"
#include "gw_policy.h"
#include "gw_rights_srv.h"
#include "gw_wsframe.h"

#include "decide.h"
#include "rules.h"

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
    bool on_shift;      /* off shift: no new-message notifications (only opened ones) */
    uint64_t typing_ms; /* last typing event forwarded */
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

static bool is_dpo(const ssess *s)
{
    return strcmp(s->role, "dpo") == 0;
}

static bool has_open(const ssess *s, const char *conv)
{
    for (unsigned i = 0; i < s->n_open; i++)
        if (strcasecmp(s->open[i], conv) == 0)
            return true;
    return false;
}

bool gw_staff_wants_event(gw_conn *c, const char *conv)
{
    ssess *s = sess(c);
    return s->authed && !is_dpo(s) && has_open(s, conv);
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

bool gw_staff_deliver(gw_app *app, gw_conn *c, const gw_msg *m)
{
    (void)app;
    ssess *s = sess(c);
    if (!s->authed || is_dpo(s)) /* the DPO never sees message text */
        return false;
    /* off shift: only conversations this console has open, no new-message notifications */
    if (!s->on_shift && !has_open(s, m->conversation))
        return false;
    json_t *o = msg_json(m, "msg");
    gw_conn_send_json(c, o);
    json_decref(o);
    return true;
}

/* Conversation summaries. The last patient message comes with its sealed body and the
 * wrapped data key so that a redacted preview can be made here (gw_policy_preview_row):
 * nothing but redacted text ever leaves for a queue. $1 is the staff id for unread
 * counts (NULL in broadcasts: then no count). */
#define SQL_CONV_COLS                                                                            \
    "SELECT c.id, c.status, c.channel, c.assignee, caregate_ts(c.waiting_since), "               \
    "caregate_ts(c.last_message_at), c.lang, caregate_ts(c.created_at), "                        \
    "caregate_ts(c.first_reply_at), caregate_ts(c.snoozed_until), caregate_ts(c.closed_at), "    \
    "lm.id, lm.body, dk.key_version, dk.wrapped, CASE WHEN $1::uuid IS NULL THEN NULL ELSE "     \
    "(SELECT count(*) FROM message um WHERE um.conversation_id = c.id AND um.sender = "          \
    "'patient' AND um.kind = 'text' AND um.seq > coalesce((SELECT sr.last_seq FROM staff_read "  \
    "sr WHERE sr.staff_id = $1::uuid AND sr.conversation_id = c.id), 0)) END, "                  \
    "bridge_window(c.id) /* Meta bridges: window, channel state */ "                             \
    "FROM conversation c LEFT JOIN LATERAL (SELECT m.id, m.body FROM message m WHERE "           \
    "m.conversation_id = c.id AND m.sender = 'patient' AND m.kind = 'text' ORDER BY m.seq DESC " \
    "LIMIT 1) lm ON true LEFT JOIN data_key dk ON dk.conversation_id = c.id "

static json_t *ts_or_null(PGresult *res, int r, int col)
{
    return PQgetisnull(res, r, col) ? json_null() : json_string(PQgetvalue(res, r, col));
}

static json_t *conv_json(gw_app *app, PGresult *res, int r)
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
    json_object_set_new(o, "first_reply_at", ts_or_null(res, r, 8));
    json_object_set_new(o, "snoozed_until", ts_or_null(res, r, 9));
    json_object_set_new(o, "closed_at", ts_or_null(res, r, 10));
    json_object_set_new(o, "first_reply_minutes",
                        json_integer((json_int_t)rules_first_reply_minutes(app->rules)));
    char *pv = NULL;
    if (!PQgetisnull(res, r, 11) && !PQgetisnull(res, r, 14))
        pv = gw_policy_preview_row(app, PQgetvalue(res, r, 0), PQgetvalue(res, r, 11),
                                   PQgetvalue(res, r, 13),
                                   PQgetvalue(res, r, 14), PQgetvalue(res, r, 12));
    json_object_set_new(o, "preview", pv ? json_string(pv) : json_null());
    free(pv);
    if (!PQgetisnull(res, r, 15))
        json_object_set_new(o, "unread",
                            json_integer((json_int_t)strtoll(PQgetvalue(res, r, 15), NULL, 10)));
    /* Meta bridges (docs/bridges.md): platform, channel state and messaging window */
    if (!PQgetisnull(res, r, 16))
        json_object_set_new(o, "bridge", json_loads(PQgetvalue(res, r, 16), 0, NULL));
    return o;
}

static void send_each(void *arg, gw_conn *c)
{
    ssess *s = sess(c);
    if (!s->authed)
        return;
    if (is_dpo(s)) { /* no text, not even redacted, on a DPO's socket */
        json_t *copy = json_deep_copy(arg);
        json_t *list = json_object_get(copy, "conversations");
        size_t i;
        json_t *x;
        if (list)
            json_array_foreach(list, i, x) json_object_set_new(x, "preview", json_null());
        else
            json_object_set_new(copy, "preview", json_null());
        gw_conn_send_json(c, copy);
        json_decref(copy);
        return;
    }
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
    json_t *o = conv_json(app, res, 0);
    json_object_set_new(o, "type", json_string("conversation"));
    gw_fanout_staff_each(app->fanout, send_each, o);
    json_decref(o);
}

void gw_staff_conversation_changed(gw_app *app, const char *conv)
{
    if (gw_fanout_staff(app->fanout) == 0)
        return;
    const char *vals[2] = {NULL, conv};
    gw_db_params p = {vals, NULL, NULL, 2};
    if (gw_db_query(app->db, SQL_CONV_COLS "WHERE c.id = $2::uuid", &p, false, conv_changed_done,
                    app) != 0)
        return;
}

static const char SQL_QUEUE[] =
    SQL_CONV_COLS "WHERE c.status <> 'done' OR c.last_message_at > now() - interval '1 day' "
                  "ORDER BY c.waiting_since NULLS LAST, c.last_message_at DESC LIMIT 500";

static json_t *queue_json(gw_app *app, PGresult *res, bool previews)
{
    json_t *arr = json_array();
    for (int r = 0; r < PQntuples(res); r++) {
        json_t *o = conv_json(app, res, r);
        if (!previews)
            json_object_set_new(o, "preview", json_null());
        json_array_append_new(arr, o);
    }
    return json_pack("{s:s, s:o, s:I}", "type", "queue", "conversations", arr,
                     "first_reply_minutes",
                     (json_int_t)rules_first_reply_minutes(app->rules));
}

static void queue_done(void *arg, gw_db_status status, PGresult *res, const char *sqlstate,
                       const char *errmsg)
{
    gw_conn *c = arg;
    (void)sqlstate;
    (void)errmsg;
    if (gw_conn_alive(c)) {
        if (status == GW_DB_OK) {
            json_t *o = queue_json(sess(c)->app, res, !is_dpo(sess(c)));
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
    const char *vals[1] = {sess(c)->staff_id};
    gw_db_params p = {vals, NULL, NULL, 1};
    gw_conn_ref(c);
    if (gw_db_query(sess(c)->app->db, SQL_QUEUE, &p, false, queue_done, c) != 0)
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
    json_t *o = queue_json(app, res, true);
    gw_fanout_staff_each(app->fanout, send_each, o);
    json_decref(o);
}

void gw_staff_refresh_all(gw_app *app)
{
    if (gw_fanout_staff(app->fanout) == 0)
        return;
    const char *vals[1] = {NULL};
    gw_db_params p = {vals, NULL, NULL, 1};
    if (gw_db_query(app->db, SQL_QUEUE, &p, false, refresh_all_done, app) != 0)
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
    if (!PQgetisnull(res, 0, 2)) { /* patient messages became read: tell the patient */
        json_t *f = json_pack("{s:s, s:s}", "type", "read", "id", PQgetvalue(res, 0, 2));
        gw_fanout_event(sess(c)->app->fanout, op->conv, "patient", f);
        json_decref(f);
    }
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
    if (is_dpo(s)) {
        gw_conn_send_error(c, "forbidden", "the DPO role has no access to message text", NULL);
        return;
    }
    convop *op = convop_new(c, conv);
    const char *vals[3] = {s->staff_id, conv, s->staff_id};
    gw_db_params p = {vals, NULL, NULL, 3};
    /* the access is recorded in the same statement that checks the conversation exists;
     * opening also moves this staff member's read position (unread counts) and marks the
     * patient's messages read */
    if (gw_db_query(s->app->db,
                    "WITH cv AS (SELECT c.id FROM conversation c WHERE c.id = $2::uuid), a AS "
                    "(SELECT audit_append('conversation.opened', $1, cv.id::text, '{}'::jsonb) "
                    "FROM cv), sr AS (INSERT INTO staff_read (staff_id, conversation_id, "
                    "last_seq) SELECT $3::uuid, cv.id, coalesce((SELECT max(m.seq) FROM message "
                    "m WHERE m.conversation_id = cv.id), 0) FROM cv ON CONFLICT (staff_id, "
                    "conversation_id) DO UPDATE SET last_seq = EXCLUDED.last_seq RETURNING 1), "
                    "rd AS (UPDATE message m SET delivery = 'read' FROM cv WHERE "
                    "m.conversation_id = cv.id AND m.sender = 'patient' AND m.kind = 'text' AND "
                    "m.delivery <> 'read' RETURNING m.id, m.seq) SELECT (SELECT count(*) FROM "
                    "a), (SELECT count(*) FROM sr), (SELECT rd.id FROM rd ORDER BY rd.seq DESC "
                    "LIMIT 1) FROM cv",
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

/* Queues one staff message for the store; event/details: the policy audit record. */
static void store_write(gw_conn *c, const char *conv, const char *client_id, const char *kind,
                        const char *text, size_t len, const char *event, const json_t *details)
{
    ssess *s = sess(c);
    gw_store_item it = {conv, client_id, "staff", kind, s->staff_id, s->alias, text, len,
                        NULL, event, details};
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
        gw_conn_send_error(c, "unavailable", "the gateway is restarting: send again",
                           client_id);
        free(ctx[1]);
        free(ctx);
    }
}

typedef struct {
    gw_conn *c;
    char conv[GW_UUID_LEN + 1];
    char *client_id;
    char *text; /* PHI: wiped */
    size_t len;
    bool override;
    json_t *findings;  /* blocked: the error's findings */
    const char *why;
    bool can_override; /* blocked: this sender may resend with "override":true */
    bool override_redacts; /* ...and that sends the health data redacted */
    const char *action; /* blocked: "block" | "needs_confirmation" (static string) */
} replyop;

static void replyop_free(replyop *op)
{
    gw_conn_unref(op->c);
    if (op->text) {
        sodium_memzero(op->text, op->len);
        free(op->text);
    }
    free(op->client_id);
    json_decref(op->findings);
    free(op);
}

/* policy.blocked was written: now tell the sender (the audit row exists before the error) */
static void blocked_audited(void *arg, gw_db_status status, PGresult *res, const char *sqlstate,
                            const char *errmsg)
{
    replyop *op = arg;
    (void)res;
    (void)sqlstate;
    (void)errmsg;
    if (status != GW_DB_OK)
        gw_warn(gw_conn_tag(op->c), "policy.blocked audit failed: status=%d", (int)status);
    if (gw_conn_alive(op->c)) {
        json_t *e = json_pack("{s:s, s:s, s:s, s:s, s:O, s:s, s:s, s:b}", "type", "error",
                              "code", "policy_blocked", "message", op->why, "client_id",
                              op->client_id, "findings", op->findings, "conversation", op->conv,
                              "action", op->action, "override_allowed", op->can_override);
        /* the console labels its button from this, so it needs no list of health categories */
        if (op->can_override)
            json_object_set_new(e, "override_redacts", json_boolean(op->override_redacts));
        gw_conn_send_json(op->c, e);
        json_decref(e);
    }
    replyop_free(op);
}

static void reply_ctx_done(void *arg, gw_db_status status, PGresult *res, const char *sqlstate,
                           const char *errmsg)
{
    replyop *op = arg;
    gw_conn *c = op->c;
    ssess *s = sess(c);
    (void)sqlstate;
    (void)errmsg;
    if (!gw_conn_alive(c)) {
        replyop_free(op);
        return;
    }
    if (status != GW_DB_OK) {
        gw_conn_send_error(c, db_code(status), "temporarily unavailable: send again (same client_id)",
                           op->client_id);
        replyop_free(op);
        return;
    }
    if (PQntuples(res) != 1) {
        gw_conn_send_error(c, "not_found", "conversation not found", op->client_id);
        replyop_free(op);
        return;
    }
    bool may_override = gw_policy_may_override(s->app, s->role); /* decisions.override_roles */
    gw_policy_out out;
    gw_policy_outbound(s->app, PQgetvalue(res, 0, 0), op->text, op->len, op->override,
                       may_override, &out);
    if (out.action == DECIDE_BLOCK || out.action == DECIDE_NEEDS_CONFIRMATION) {
        gw_info(gw_conn_tag(c), "reply blocked by policy");
        op->findings = json_incref(out.findings);
        op->why = out.message;
        op->can_override = out.can_override;
        op->override_redacts = out.override_redacts;
        op->action = decide_action_name((decide_action)out.action);
        char *d = json_dumps(out.details, JSON_COMPACT);
        const char *vals[3] = {s->staff_id, op->conv, d};
        gw_db_params p = {vals, NULL, NULL, 3};
        if (gw_db_query(s->app->db, "SELECT audit_append('policy.blocked', $1, $2, $3::jsonb)",
                        &p, false, blocked_audited, op) != 0)
            blocked_audited(op, GW_DB_ERR_UNAVAILABLE, NULL, NULL, NULL);
        free(d);
        gw_policy_out_clear(&out);
        return;
    }
    store_write(c, op->conv, op->client_id, "text", out.text, out.text_len, out.event,
                out.details);
    gw_policy_out_clear(&out);
    replyop_free(op);
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
    if (is_dpo(s)) {
        gw_conn_send_error(c, "forbidden", "the DPO role cannot write messages", cid);
        return;
    }
    if (strcmp(kind, "note") == 0) { /* notes stay inside the clinic: no outbound policy */
        store_write(c, conv, client_id, kind, json_string_value(t), json_string_length(t), NULL,
                    NULL);
        return;
    }
    /* Meta bridges (gw_meta.h): messaging windows and platform text limits */
    const char *why = NULL,
               *wcode = gw_meta_reply_check(s->app->meta, conv, kind, json_string_value(t),
                                            json_string_length(t), &why);
    if (wcode) {
        gw_conn_send_error(c, wcode, why, cid);
        return;
    }
    /* replies: the policy needs the conversation's channel and language first */
    replyop *op = calloc(1, sizeof *op);
    if (!op)
        abort();
    op->c = c;
    snprintf(op->conv, sizeof op->conv, "%s", conv);
    op->client_id = strdup(client_id);
    op->len = json_string_length(t);
    op->text = malloc(op->len + 1);
    if (!op->client_id || !op->text)
        abort();
    memcpy(op->text, json_string_value(t), op->len + 1);
    op->override = json_is_true(json_object_get(o, "override"));
    const char *vals[1] = {conv};
    gw_db_params p = {vals, NULL, NULL, 1};
    gw_conn_ref(c);
    if (gw_db_query(s->app->db, "SELECT channel FROM conversation WHERE id = $1::uuid", &p,
                    false, reply_ctx_done, op) != 0) {
        gw_conn_send_error(c, "unavailable", "the gateway is restarting: send again", cid);
        replyop_free(op);
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
        else if (status == GW_DB_ERR_QUERY && sqlstate && strncmp(sqlstate, "22", 2) == 0)
            gw_conn_send_error(c, "bad_request", "'until' is not a valid time", NULL);
        else if (status != GW_DB_OK)
            gw_conn_send_error(c, db_code(status), "change failed: try again", NULL);
        else if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "0") == 0)
            gw_conn_send_error(c, "not_found", "conversation not found", NULL);
        /* success: every console (this one too) gets a "conversation" frame via NOTIFY */
    }
    convop_free(op);
}

/* Runs a conversation change (status, assign) for c; change_done answers failures. The
 * statement audits and notifies itself (see the top of this file). */
static void submit_change(gw_conn *c, const char *conv, const char *sql, const char *const *vals,
                          int n)
{
    convop *op = convop_new(c, conv);
    gw_db_params p = {vals, NULL, NULL, n};
    if (gw_db_query(sess(c)->app->db, sql, &p, false, change_done, op) != 0) {
        gw_conn_send_error(c, "unavailable", "shutting down", NULL);
        convop_free(op);
    }
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
    if (is_dpo(s)) {
        gw_conn_send_error(c, "forbidden", "the DPO role cannot change conversations", NULL);
        return;
    }
    /* snoozed needs "until" (RFC 3339): the snooze timer opens the conversation again */
    const char *until = NULL;
    if (!gw_wsframe_opt_str(o, "until", 40, &until, c))
        return;
    if (strcmp(st, "snoozed") == 0 && !until) {
        gw_conn_send_error(c, "bad_request", "status snoozed needs 'until' (RFC 3339 time)", NULL);
        return;
    }
    if (strcmp(st, "snoozed") != 0)
        until = NULL;
    const char *vals[4] = {conv, st, s->staff_id, until};
    submit_change(c, conv,
                  "WITH u AS (UPDATE conversation SET status = $2, closed_at = CASE WHEN $2 = "
                  "'done' THEN now() ELSE NULL END, snoozed_until = $4::timestamptz WHERE id = "
                  "$1::uuid RETURNING id), a AS "
                  "(SELECT audit_append('conversation.status', $3, u.id::text, "
                  "jsonb_strip_nulls(jsonb_build_object('status', $2::text, 'until', "
                  "caregate_ts($4::timestamptz)))) FROM u), n AS (SELECT "
                  "pg_notify('caregate_conv', json_build_object('c', u.id, 'e', "
                  "'status')::text) FROM u) SELECT (SELECT count(*) FROM u) + 0 * (SELECT "
                  "count(*) FROM a) + 0 * (SELECT count(*) FROM n)",
                  vals, 4);
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
    if (is_dpo(s)) {
        gw_conn_send_error(c, "forbidden", "the DPO role cannot assign conversations", NULL);
        return;
    }
    const char *vals[3] = {conv, who, s->staff_id};
    submit_change(c, conv,
                  "WITH u AS (UPDATE conversation SET assignee = $2::uuid WHERE id = $1::uuid "
                  "AND ($2::uuid IS NULL OR EXISTS (SELECT 1 FROM staff WHERE id = $2::uuid AND "
                  "disabled_at IS NULL AND role <> 'dpo')) RETURNING id), a AS (SELECT "
                  "audit_append('conversation.assigned', $3, u.id::text, "
                  "jsonb_build_object('assignee', $2::text)) FROM u), n AS (SELECT "
                  "pg_notify('caregate_conv', json_build_object('c', u.id, 'e', "
                  "'assign')::text) FROM u) SELECT (SELECT count(*) FROM u) + 0 * (SELECT "
                  "count(*) FROM a) + 0 * (SELECT count(*) FROM n)",
                  vals, 3);
}

static void on_queue(gw_conn *c, json_t *o)
{
    (void)o;
    send_queue(c);
}

/* {"type":"typing","conversation"}: to the patient, as the clinic plus alias only */
static void on_typing(gw_conn *c, json_t *o)
{
    ssess *s = sess(c);
    const char *conv = conv_arg(c, o, NULL);
    if (!conv || is_dpo(s))
        return;
    uint64_t now = uv_now(s->app->loop);
    if (now - s->typing_ms < 1000)
        return;
    s->typing_ms = now;
    char author[512];
    if (s->alias && *s->alias)
        snprintf(author, sizeof author, "%s \xc2\xb7 %s", s->app->cfg->clinic_name, s->alias);
    else
        snprintf(author, sizeof author, "%s", s->app->cfg->clinic_name);
    json_t *f = json_pack("{s:s, s:s}", "type", "typing", "author", author);
    gw_fanout_event(s->app->fanout, conv, "patient", f);
    json_decref(f);
}

static void read_done(void *arg, gw_db_status status, PGresult *res, const char *sqlstate,
                      const char *errmsg)
{
    convop *op = arg;
    (void)sqlstate;
    (void)errmsg;
    if (status == GW_DB_OK && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
        json_t *f = json_pack("{s:s, s:s}", "type", "read", "id", PQgetvalue(res, 0, 0));
        gw_fanout_event(sess(op->c)->app->fanout, op->conv, "patient", f);
        json_decref(f);
    }
    convop_free(op);
}

/* {"type":"read","conversation","id"}: this console has shown the conversation up to id:
 * the staff member's read position moves (unread counts) and the patient's messages up to
 * id become read; the patient gets {"type":"read","id"}. */
static void on_read(gw_conn *c, json_t *o)
{
    ssess *s = sess(c);
    const char *conv = conv_arg(c, o, NULL);
    if (!conv || is_dpo(s))
        return;
    const char *id = gw_wsframe_str(o, "id", GW_UUID_LEN, c, NULL);
    if (!id)
        return;
    if (!gw_uuid_valid(id)) {
        gw_conn_send_error(c, "bad_request", "field 'id' must be a message id", NULL);
        return;
    }
    convop *op = convop_new(c, conv);
    const char *vals[3] = {conv, id, s->staff_id};
    gw_db_params p = {vals, NULL, NULL, 3};
    if (gw_db_query(s->app->db,
                    "WITH t AS (SELECT seq FROM message WHERE id = $2::uuid AND conversation_id = "
                    "$1::uuid), sr AS (INSERT INTO staff_read (staff_id, conversation_id, last_seq) "
                    "SELECT $3::uuid, $1::uuid, t.seq FROM t ON CONFLICT (staff_id, "
                    "conversation_id) DO UPDATE SET last_seq = greatest(staff_read.last_seq, "
                    "EXCLUDED.last_seq) RETURNING 1), rd AS (UPDATE message m SET delivery = "
                    "'read' FROM t WHERE m.conversation_id = $1::uuid AND m.sender = 'patient' "
                    "AND m.kind = 'text' AND m.seq <= t.seq AND m.delivery <> 'read' RETURNING "
                    "m.id, m.seq) SELECT (SELECT rd.id FROM rd ORDER BY rd.seq DESC LIMIT 1), "
                    "(SELECT count(*) FROM sr)",
                    &p, false, read_done, op) != 0)
        convop_free(op);
}

/*
 * The list frames sent at welcome and on request (staff_list, canned): one query without
 * parameters on behalf of c (held by a reference until the answer), and one frame
 * {"type": type, key: [row(res, r)...]} or the error fail. A closed socket gets nothing.
 */
typedef struct {
    const char *type, *key, *fail;
    json_t *(*row)(PGresult *res, int r);
} list_frame;

static void list_done(gw_conn *c, const list_frame *lf, gw_db_status status, PGresult *res)
{
    if (gw_conn_alive(c)) {
        if (status == GW_DB_OK) {
            json_t *arr = json_array();
            for (int r = 0; r < PQntuples(res); r++)
                json_array_append_new(arr, lf->row(res, r));
            json_t *f = json_pack("{s:s, s:o}", "type", lf->type, lf->key, arr);
            gw_conn_send_json(c, f);
            json_decref(f);
        } else {
            gw_conn_send_error(c, db_code(status), lf->fail, NULL);
        }
    }
    gw_conn_unref(c);
}

static void list_query(gw_conn *c, const char *sql, gw_db_result_cb done)
{
    gw_conn_ref(c);
    if (gw_db_query(sess(c)->app->db, sql, NULL, false, done, c) != 0)
        gw_conn_unref(c);
}

/* staff_list: colleagues a conversation can be handed to (no e-mail addresses) */
static json_t *staff_row(PGresult *res, int r)
{
    return json_pack("{s:s, s:s, s:s, s:b}", "id", PQgetvalue(res, r, 0), "alias",
                     PQgetvalue(res, r, 1), "role", PQgetvalue(res, r, 2), "on_shift",
                     PQgetvalue(res, r, 3)[0] == 't');
}

static const list_frame STAFF_LIST = {"staff_list", "staff", "staff list not available: try again",
                                      staff_row};

static void staff_list_done(void *arg, gw_db_status status, PGresult *res, const char *sqlstate,
                            const char *errmsg)
{
    (void)sqlstate;
    (void)errmsg;
    list_done(arg, &STAFF_LIST, status, res);
}

static void send_staff_list(gw_conn *c)
{
    list_query(c,
               "SELECT id, alias, role, on_shift FROM staff WHERE disabled_at IS NULL AND "
               "role IN ('agent', 'admin') ORDER BY alias, id",
               staff_list_done);
}

static void on_staff_list(gw_conn *c, json_t *o)
{
    (void)o;
    send_staff_list(c);
}

static json_t *canned_row(PGresult *res, int r)
{
    return json_pack("{s:s, s:s, s:s}", "id", PQgetvalue(res, r, 0), "title", PQgetvalue(res, r, 1),
                     "text", PQgetvalue(res, r, 2));
}

static const list_frame CANNED = {"canned", "answers", "canned answers not available", canned_row};

static void canned_done(void *arg, gw_db_status status, PGresult *res, const char *sqlstate,
                        const char *errmsg)
{
    (void)sqlstate;
    (void)errmsg;
    list_done(arg, &CANNED, status, res);
}

static void send_canned(gw_conn *c)
{
    list_query(c, "SELECT id, title, body FROM canned ORDER BY title, created_at", canned_done);
}

static void on_canned(gw_conn *c, json_t *o)
{
    (void)o;
    send_canned(c);
}

static void shift_done(void *arg, gw_db_status status, PGresult *res, const char *sqlstate,
                       const char *errmsg)
{
    gw_conn *c = arg;
    (void)sqlstate;
    (void)errmsg;
    if (gw_conn_alive(c)) {
        if (status == GW_DB_OK && PQntuples(res) == 1) {
            bool on = PQgetvalue(res, 0, 0)[0] == 't';
            sess(c)->on_shift = on;
            json_t *f = json_pack("{s:s, s:b}", "type", "shift", "on", on);
            gw_conn_send_json(c, f);
            json_decref(f);
        } else {
            gw_conn_send_error(c, db_code(status), "shift change failed: try again", NULL);
        }
    }
    gw_conn_unref(c);
}

/* {"type":"shift","on":bool}: on/off shift (staff.on_shift, audited staff.shift). Off shift:
 * no new-message notifications and no round-robin assignments. */
static void on_shift(gw_conn *c, json_t *o)
{
    ssess *s = sess(c);
    json_t *on = json_object_get(o, "on");
    if (!json_is_boolean(on)) {
        gw_conn_send_error(c, "bad_request", "field 'on' must be true or false", NULL);
        return;
    }
    const char *vals[3] = {s->staff_id, json_is_true(on) ? "true" : "false", s->staff_id};
    gw_db_params p = {vals, NULL, NULL, 3};
    gw_conn_ref(c);
    if (gw_db_query(s->app->db,
                    "WITH u AS (UPDATE staff SET on_shift = $2::boolean WHERE id = $3::uuid "
                    "RETURNING on_shift), a AS (SELECT audit_append('staff.shift', $1, $1, "
                    "jsonb_build_object('on', $2::boolean)) FROM u) SELECT u.on_shift, (SELECT "
                    "count(*) FROM a) FROM u",
                    &p, false, shift_done, c) != 0)
        gw_conn_unref(c);
}

/* Issue 5 hooks: retention class and legal hold frames live in gw_rights_srv.c. */
static void on_retention(gw_conn *c, json_t *o)
{
    gw_rights_srv_staff_retention(sess(c)->app, c, sess(c)->staff_id, o);
}

static void on_legal_hold(gw_conn *c, json_t *o)
{
    gw_rights_srv_staff_hold(sess(c)->app, c, sess(c)->staff_id, sess(c)->role, o);
}

/* Meta bridges: {"type":"reengage"} sends the approved WhatsApp template (gw_meta.c) */
static void on_reengage(gw_conn *c, json_t *o)
{
    ssess *s = sess(c);
    if (is_dpo(s)) {
        gw_conn_send_error(c, "forbidden", "the DPO role cannot write messages", NULL);
        return;
    }
    gw_meta_staff_reengage(s->app->meta, c, o, s->staff_id, s->alias);
}

static const struct {
    const char *type;
    void (*fn)(gw_conn *c, json_t *o);
} handlers[] = {
    {"open", on_open},     {"reply", on_reply}, {"note", on_note},   {"status", on_status},
    {"assign", on_assign}, {"queue", on_queue}, {"typing", on_typing}, {"read", on_read},
    {"staff_list", on_staff_list}, {"canned", on_canned}, {"shift", on_shift},
    {"retention", on_retention}, {"legal_hold", on_legal_hold},
    {"reengage", on_reengage}, /* Meta bridges */
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
        s->on_shift = PQgetvalue(res, 0, 3)[0] == 't';
        gw_fanout_staff_add(s->app->fanout, c, s->staff_id);
        s->registered = true;
        json_t *o = json_pack("{s:s, s:{s:s, s:s, s:s, s:b}, s:s, s:s, s:I}", "type",
                              "welcome", "staff", "id", s->staff_id, "role", s->role, "alias",
                              s->alias ? s->alias : "", "on_shift", s->on_shift, "address_form",
                              rules_address_form(s->app->rules), "clinic",
                              s->app->cfg->clinic_name, "first_reply_minutes",
                              (json_int_t)rules_first_reply_minutes(s->app->rules));
        if (s->app->clinic_phone[0])
            json_object_set_new(o, "clinic_phone", json_string(s->app->clinic_phone));
        gw_conn_send_json(c, o);
        json_decref(o);
        send_queue(c);
        if (!is_dpo(s)) {
            send_staff_list(c);
            send_canned(c);
        }
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
                    "SELECT s.id, s.role, s.alias, s.on_shift FROM staff_session ss JOIN staff s ON s.id = "
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
    gw_wsframe_rx st =
        gw_wsframe_receive(&p->rx, wsi, c, in, len, (size_t)s->app->cfg->max_frame_bytes);
    if (st != GW_WSFRAME_RX_DONE)
        return st == GW_WSFRAME_RX_CLOSE ? -1 : 0;
    if (s->auth_failed) {
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
