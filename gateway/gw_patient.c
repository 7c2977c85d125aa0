/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gw_patient: caregate.patient.v1 (see gw_patient.h and docs/protocol.md).
 *
 * Three structs: the pss (lws-owned per-socket memory: a gw_conn pointer and the
 * receive buffer), psess (the session, hanging off the gw_conn so database callbacks
 * can still reach it after the socket closed) and the per-message handlers' locals.
 * The lws callback only dispatches; each frame type has its own static handler.
 *
 * Ordering guarantees: an ack is queued only in the store's commit callback, so an
 * acknowledged message is durable. Messages are not held back while an earlier one
 * commits: acks may arrive in a different order than the msgs were sent, each
 * carrying its client_id.
 */
#include "gw_patient.h"
#include "gw_fanout.h"
#include "gw_log.h"
#include "gw_policy.h"
#include "gw_rights_srv.h"
#include "gw_wsframe.h"

#include "rules.h"

#include <assert.h>
#include <string.h>

#define CLIENT_ID_MAX 128
#define TOKEN_MAX 128

/* per socket, owned by lws */
typedef struct {
    gw_conn *conn;
    gw_wsframe rx;
} pss;

/* per session, owned by the gw_conn (outlives the socket while callbacks are pending) */
typedef struct {
    gw_app *app;
    char conv[GW_UUID_LEN + 1]; /* "" until welcomed */
    char lang[8];               /* the patient's language (hello), "de" by default */
    char notice[40];            /* privacy notice version accepted in hello, "" if none */
    bool hello_sent;
    bool registered; /* in the fan-out registry and holding the conversation key */
    uint64_t typing_ms; /* last typing event forwarded */
} psess;

size_t gw_patient_pss_size(void)
{
    return sizeof(pss);
}

static void psess_free(void *ext)
{
    (void)ext; /* nothing owned: registry and key hold were released in CLOSED */
}

static psess *sess(gw_conn *c)
{
    return gw_conn_ext(c);
}

static json_t *msg_json(gw_app *app, const gw_msg *m, bool with_client_id)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s%, s:s}", "type", "msg", "id", m->id, "from",
                          m->sender, "text", m->text, m->text_len, "ts", m->ts);
    if (strcmp(m->sender, "staff") == 0) {
        /* the clinic's identity plus the alias, never an account or full name */
        char author[512];
        if (m->author_alias && *m->author_alias)
            snprintf(author, sizeof author, "%s \xc2\xb7 %s", app->cfg->clinic_name,
                     m->author_alias);
        else
            snprintf(author, sizeof author, "%s", app->cfg->clinic_name);
        json_object_set_new(o, "author", json_string(author));
    } else if (strcmp(m->sender, "system") == 0) {
        json_object_set_new(o, "author", json_string(app->cfg->clinic_name));
    } else {
        json_object_set_new(o, "author", json_null());
    }
    if (with_client_id && m->client_id && strcmp(m->sender, "patient") == 0)
        json_object_set_new(o, "client_id", json_string(m->client_id));
    /* history: how far the clinic got with the patient's own messages */
    if (with_client_id && strcmp(m->sender, "patient") == 0 && m->delivery[0]) {
        bool rd = strcmp(m->delivery, "read") == 0;
        json_object_set_new(o, "delivered", json_boolean(rd || strcmp(m->delivery, "delivered") == 0));
        json_object_set_new(o, "read", json_boolean(rd));
    }
    return o;
}

void gw_patient_deliver(gw_app *app, gw_conn *c, const gw_msg *m)
{
    json_t *o = msg_json(app, m, false);
    gw_conn_send_json(c, o);
    json_decref(o);
}

static const char *store_code(int status)
{
    switch (status) {
    case GW_STORE_ERR_UNAVAILABLE:
        return "unavailable";
    case GW_STORE_ERR_NOT_FOUND:
        return "not_found";
    default:
        return "internal";
    }
}

static const char *store_text(int status)
{
    switch (status) {
    case GW_STORE_ERR_UNAVAILABLE:
        return "the service is temporarily unavailable: send again (same client_id)";
    case GW_STORE_ERR_NOT_FOUND:
        return "conversation not found";
    default:
        return "internal error";
    }
}

/* ---- hello ----------------------------------------------------------------------------- */

static void db_ignore(void *arg, gw_db_status status, PGresult *res, const char *sqlstate,
                      const char *errmsg)
{
    (void)res;
    (void)errmsg;
    if (status != GW_DB_OK)
        gw_warn("patient", "%s failed: status=%d sqlstate=%s", (const char *)arg, (int)status,
                sqlstate ? sqlstate : "");
}

/* The privacy notice version the patient accepted (hello's "privacy_notice"), recorded on
 * the conversation with an audit record when it changes. */
static void record_notice(gw_app *app, const char *conv, const char *version)
{
    const char *vals[2] = {conv, version};
    gw_db_params p = {vals, NULL, NULL, 2};
    if (gw_db_query(app->db,
                    "WITH u AS (UPDATE conversation SET privacy_notice = $2 WHERE id = $1::uuid "
                    "AND privacy_notice IS DISTINCT FROM $2 RETURNING id) SELECT "
                    "audit_append('privacy_notice.accepted', NULL, u.id::text, "
                    "jsonb_build_object('version', $2::text)) FROM u",
                    &p, false, db_ignore, "recording the privacy notice") != 0)
        gw_debug("patient", "privacy notice not recorded: shutting down");
}

static void hello_done(void *arg, int status, const gw_patient_hello *h)
{
    gw_conn *c = arg;
    psess *s = sess(c);
    if (!gw_conn_alive(c)) {
        gw_conn_unref(c);
        return;
    }
    if (status != GW_STORE_OK) {
        gw_warn(gw_conn_tag(c), "hello failed: status=%d", status);
        s->hello_sent = false; /* may try again */
        gw_conn_send_error(c, store_code(status), store_text(status), NULL);
        gw_conn_unref(c);
        return;
    }
    snprintf(s->conv, sizeof s->conv, "%s", h->conversation);
    gw_fanout_patient_add(s->app->fanout, c, s->conv);
    gw_store_key_hold(s->app->store, s->conv);
    s->registered = true;
    json_t *hist = json_array();
    for (size_t i = 0; i < h->n_history; i++)
        json_array_append_new(hist, msg_json(s->app, &h->history[i], true));
    const rules *r = s->app->rules;
    json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:o, s:o, s:s, s:{s:s, s:s}, s:s, s:{s:I}}",
                          "type", "welcome", "session", h->token, "conversation",
                          h->conversation, "resumed", h->resumed, "history", hist, "office",
                          gw_policy_office_json(s->app, time(NULL), s->lang), "address_form",
                          rules_address_form(r), "privacy_notice", "version",
                          rules_privacy_notice_version(r), "text",
                          rules_text(r, RULES_TEXT_PRIVACY_NOTICE, s->lang), "clinic",
                          s->app->cfg->clinic_name, "limits", "max_message_bytes",
                          (json_int_t)s->app->cfg->max_message_bytes);
    if (s->notice[0])
        record_notice(s->app, s->conv, s->notice);
    gw_conn_send_json(c, o);
    json_decref(o);
    gw_info(gw_conn_tag(c), "welcome resumed=%d history=%zu", (int)h->resumed, h->n_history);
    gw_conn_unref(c);
}

static void on_hello(gw_conn *c, json_t *o)
{
    psess *s = sess(c);
    if (s->hello_sent) {
        gw_conn_send_error(c, "bad_request", "hello was already sent on this socket", NULL);
        return;
    }
    const char *token = NULL, *lang = NULL, *notice = NULL;
    if (!gw_wsframe_opt_str(o, "session", TOKEN_MAX, &token, c) ||
        !gw_wsframe_opt_str(o, "lang", 8, &lang, c) ||
        !gw_wsframe_opt_str(o, "privacy_notice", 32, &notice, c))
        return;
    snprintf(s->lang, sizeof s->lang, "%s", lang && *lang ? lang : "de");
    snprintf(s->notice, sizeof s->notice, "%s", notice ? notice : "");
    if (token && *token == '\0')
        token = NULL;
    s->hello_sent = true;
    gw_conn_ref(c);
    if (gw_store_patient_hello(s->app->store, token, lang, hello_done, c) != 0) {
        s->hello_sent = false;
        gw_conn_unref(c);
        gw_conn_send_error(c, "unavailable", "the service is shutting down", NULL);
    }
}

/* ---- msg ------------------------------------------------------------------------------- */

static void auto_done(void *arg, int status, const gw_msg *m, bool fresh)
{
    (void)arg;
    (void)m;
    if (status != GW_STORE_OK)
        gw_warn("patient", "automatic closed reply not stored: status=%d", status);
    else
        gw_debug("patient", "automatic closed reply fresh=%d", (int)fresh);
}

/* Out of hours: the automatic reply in the patient's language, at most once per closed
 * period per conversation. The client_id names the period (its next opening), so the
 * store's idempotency does the "at most once", on every gateway process alike. */
static void maybe_closed_reply(gw_app *app, const char *conv, const char *lang)
{
    bool open = true;
    char next[32];
    gw_policy_office(app, time(NULL), &open, next);
    if (open)
        return;
    char cid[64];
    snprintf(cid, sizeof cid, "auto:closed:%s", *next ? next : "none");
    char *text = gw_policy_closed_reply(app, lang, next);
    json_t *d = json_pack("{s:s, s:s, s:s}", "action", "allow", "reason", "closed_reply",
                          "policy", rules_version_hash(app->rules));
    gw_store_item it = {conv, cid, "system", "text", NULL, NULL, text, strlen(text), NULL,
                        "policy.decision", d};
    if (gw_store_append(app->store, &it, auto_done, NULL) != 0)
        gw_debug("patient", "automatic reply not queued: shutting down");
    json_decref(d);
    free(text);
}

static void msg_done(void *arg, int status, const gw_msg *m, bool fresh)
{
    gw_conn *c = ((void **)arg)[0];
    char *client_id = ((void **)arg)[1];
    free(arg);
    if (status == GW_STORE_OK && fresh) {
        psess *s = sess(c);
        maybe_closed_reply(s->app, m->conversation, s->lang[0] ? s->lang : "de");
    }
    if (gw_conn_alive(c)) {
        if (status == GW_STORE_OK) {
            json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "type", "ack", "client_id", client_id,
                                  "id", m->id, "ts", m->ts);
            gw_conn_send_json(c, o);
            json_decref(o);
            gw_debug(gw_conn_tag(c), "ack fresh=%d", (int)fresh);
        } else {
            gw_conn_send_error(c, store_code(status), store_text(status), client_id);
        }
    }
    free(client_id);
    gw_conn_unref(c);
}

static void on_msg(gw_conn *c, json_t *o)
{
    psess *s = sess(c);
    const gw_config *cfg = s->app->cfg;
    const char *cid = json_string_value(json_object_get(o, "client_id"));
    const char *client_id = gw_wsframe_str(o, "client_id", CLIENT_ID_MAX, c, NULL);
    if (!client_id)
        return;
    if (*client_id == '\0') {
        gw_conn_send_error(c, "bad_request", "field 'client_id' must not be empty", NULL);
        return;
    }
    json_t *t = json_object_get(o, "text");
    if (!json_is_string(t)) {
        gw_conn_send_error(c, "bad_request", "field 'text' must be a string", cid);
        return;
    }
    size_t tl = json_string_length(t);
    if (tl == 0) {
        gw_conn_send_error(c, "bad_request", "field 'text' must not be empty", cid);
        return;
    }
    if (tl > (size_t)cfg->max_message_bytes) {
        gw_conn_send_error(c, "too_large", "message text is longer than allowed", cid);
        return;
    }
    if (!s->registered) {
        gw_conn_send_error(c, "bad_request", "send hello first and wait for welcome", cid);
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
    /* policy: web patients' messages are stored in full (sealed); their findings
     * (categories and counts) go with the row, and the decision is an audit record */
    gw_policy_scan scan;
    json_t *decision = gw_policy_inbound(s->app, "web", json_string_value(t), tl, &scan);
    gw_store_item it = {s->conv,     client_id, "patient", "text", NULL, NULL,
                        json_string_value(t), tl, scan.findings, "policy.decision", decision};
    void **ctx = calloc(2, sizeof *ctx);
    if (!ctx)
        abort();
    ctx[0] = c;
    ctx[1] = strdup(client_id);
    if (!ctx[1])
        abort();
    gw_conn_ref(c);
    int rc = gw_store_append(s->app->store, &it, msg_done, ctx);
    json_decref(decision);
    gw_policy_scan_clear(&scan);
    if (rc != 0) {
        gw_conn_unref(c);
        free(ctx[1]);
        free(ctx);
        gw_conn_send_error(c, "unavailable", "the gateway is restarting: send again", cid);
    }
}

typedef struct {
    gw_app *app;
    char conv[GW_UUID_LEN + 1];
} readop;

static void read_done(void *arg, gw_db_status status, PGresult *res, const char *sqlstate,
                      const char *errmsg)
{
    readop *op = arg;
    (void)sqlstate;
    (void)errmsg;
    if (status == GW_DB_OK && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
        json_t *f = json_pack("{s:s, s:s, s:s, s:s}", "type", "read", "conversation", op->conv,
                              "id", PQgetvalue(res, 0, 0), "by", "patient");
        gw_fanout_event(op->app->fanout, op->conv, "staff", f);
        json_decref(f);
    }
    free(op);
}

/* {"type":"read","id"}: the patient has read the clinic's messages up to id. Updates
 * message.delivery of that message and the earlier ones; consoles get
 * {"type":"read","conversation","id","by":"patient"}. */
static void on_read(gw_conn *c, json_t *o)
{
    psess *s = sess(c);
    const char *id = gw_wsframe_str(o, "id", GW_UUID_LEN, c, NULL);
    if (!id)
        return;
    if (!gw_uuid_valid(id)) {
        gw_conn_send_error(c, "bad_request", "field 'id' must be a message id", NULL);
        return;
    }
    if (!s->registered)
        return;
    readop *op = calloc(1, sizeof *op);
    if (!op)
        abort();
    op->app = s->app;
    snprintf(op->conv, sizeof op->conv, "%s", s->conv);
    const char *vals[2] = {s->conv, id};
    gw_db_params p = {vals, NULL, NULL, 2};
    if (gw_db_query(s->app->db,
                    "WITH t AS (SELECT seq FROM message WHERE id = $2::uuid AND conversation_id = "
                    "$1::uuid), u AS (UPDATE message m SET delivery = 'read' FROM t WHERE "
                    "m.conversation_id = $1::uuid AND m.sender <> 'patient' AND m.kind = 'text' "
                    "AND m.seq <= t.seq AND m.delivery <> 'read' RETURNING m.id) SELECT "
                    "CASE WHEN EXISTS (SELECT 1 FROM u) THEN $2::text END",
                    &p, false, read_done, op) != 0)
        free(op);
}

/* {"type":"typing"}: to the consoles that opened this conversation. Nothing stored. */
static void on_typing(gw_conn *c, json_t *o)
{
    psess *s = sess(c);
    (void)o;
    if (!s->registered)
        return;
    uint64_t now = uv_now(s->app->loop);
    if (now - s->typing_ms < 1000) /* at most one a second */
        return;
    s->typing_ms = now;
    json_t *f = json_pack("{s:s, s:s, s:s}", "type", "typing", "conversation", s->conv, "from",
                          "patient");
    gw_fanout_event(s->app->fanout, s->conv, "staff", f);
    json_decref(f);
}

/* GDPR Art. 17 request from the widget: recorded and carried out by gw_rights_srv.c. */
static void on_erase_request(gw_conn *c, json_t *o)
{
    (void)o;
    gw_rights_srv_patient_erase(sess(c)->app, c, sess(c)->registered ? sess(c)->conv : NULL);
}

static const struct {
    const char *type;
    void (*fn)(gw_conn *c, json_t *o);
} handlers[] = {
    {"hello", on_hello},
    {"msg", on_msg},
    {"read", on_read},
    {"typing", on_typing},
    {"erase_request", on_erase_request},
};

/* ---- lws callback ---------------------------------------------------------------------- */

static int on_established(struct lws *wsi, pss *p, gw_app *app)
{
    p->conn = gw_conn_new(wsi, 'p', sizeof(psess), psess_free);
    psess *s = sess(p->conn);
    s->app = app;
    char peer[64] = "";
    lws_get_peer_simple(wsi, peer, sizeof peer);
    gw_info(gw_conn_tag(p->conn), "patient socket open");
    if (app->draining)
        gw_conn_close(p->conn, LWS_CLOSE_STATUS_GOINGAWAY, "restarting");
    return 0;
}

static int on_receive(struct lws *wsi, pss *p, const void *in, size_t len)
{
    gw_conn *c = p->conn;
    psess *s = sess(c);
    gw_wsframe_rx st =
        gw_wsframe_receive(&p->rx, wsi, c, in, len, (size_t)s->app->cfg->max_frame_bytes);
    if (st != GW_WSFRAME_RX_DONE)
        return st == GW_WSFRAME_RX_CLOSE ? -1 : 0;
    const char *type = NULL;
    json_t *o = gw_wsframe_parse(&p->rx, c, &type);
    gw_wsframe_reset(&p->rx);
    if (!o)
        return 0;
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
    return 0;
}

static void on_closed(pss *p)
{
    gw_conn *c = p->conn;
    gw_wsframe_reset(&p->rx);
    if (!c)
        return;
    psess *s = sess(c);
    if (s->registered) {
        gw_fanout_patient_remove(s->app->fanout, c);
        gw_store_key_release(s->app->store, s->conv);
        s->registered = false;
    }
    gw_info(gw_conn_tag(c), "patient socket closed");
    p->conn = NULL;
    gw_conn_detach(c); /* drops lws's reference; pending callbacks keep theirs */
}

int gw_patient_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                        size_t len)
{
    pss *p = user;
    const struct lws_protocols *proto = lws_get_protocol(wsi);
    gw_app *app = proto ? proto->user : NULL;

    switch (reason) {
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
