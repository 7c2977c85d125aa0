/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Meta webhooks and the bridge's shared state (see gw_meta.h).
 *
 * One POST is one `req` that walks four stages, each a single SQL statement or a set of
 * independent ones, so the request is answered only after everything is durable:
 *   1. dedup   which platform message ids were already processed (webhook_dedup);
 *   2. ensure  contact + conversation + data key + bridge row per (channel, user)
 *              (bridge_conv_ensure; a new conversation's data key is made and wrapped
 *              here, because its id is bound into the wrapping);
 *   3. store   every new message through gw_store_append (the widget's path: sealed,
 *              group commit, NOTIFY caregate_msg), client_id derived from the id hash so
 *              a retry after a partial failure stores nothing twice; media get a
 *              placeholder plus the automatic RULES_TEXT_MEDIA_REFUSED system text;
 *   4. tail    dedup rows, statuses, echoes, watermarks and the unknown-account audit
 *              record (bridge_ingest_tail), then 200.
 * Any failure answers 503 and Meta retries; every stage is idempotent.
 *
 * The lws side (a protocol on a callback mount at /webhooks/meta) collects the body up
 * to GW_META_MAX_BODY and never holds per-session memory past CLOSED_HTTP: the session
 * and the request point at each other through a link cut on close (rule 13).
 *
 * Secrets (app secrets, verify token) are read from their files at start and when
 * NOTIFY caregate_channel says the channel table changed; they are small local files, so
 * reading them on the loop is accepted. Nothing here logs payloads, names or ids.
 */
#include "gw_meta.h"
#include "gw_bridgekey.h"
#include "gw_conn.h"
#include "gw_log.h"
#include "gw_meta_parse.h"
#include "gw_outbox.h"
#include "gw_policy.h"
#include "gw_server.h"
#include "gw_store.h"
#include "rules.h"
#include "seal.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libwebsockets.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONV_BUCKETS 1024u
#define SIG_ALERT_EVERY 5

typedef struct {
    char id[GW_UUID_LEN + 1];
    gw_meta_platform platform;
    char *account_id;
    char *pnid; /* NULL unless WhatsApp */
    uint8_t *secret;
    size_t secret_len;
    bool human_agent;
} chan;

typedef struct cent {
    struct cent *next;
    char conv[GW_UUID_LEN + 1];
    gw_meta_platform platform;
    bool human_agent;
    bool template_only;
    int64_t last_user_ms;
    int64_t last_suggest_ms; /* last automatic secure-chat suggestion (wall clock), 0: none */
} cent;

struct gw_meta {
    gw_app *app;
    gw_bridgekey *key;
    rules *rules;
    char verify_token[256];
    size_t verify_len;
    chan *chans;
    size_t nchans;
    bool chans_loaded;
    bool convs_loaded; /* the full SQL_CONV_STATE load has completed once */
    cent *conv[CONV_BUCKETS];
    gw_outbox *outbox;
    size_t inflight;
    unsigned sig_failures;
    bool stopping;
    bool warned_nokey;
};

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz ? sz : 1);
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

/* Reads a small secret file; trailing whitespace/newlines are not part of the secret. */
static int read_secret(const char *path, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    uint8_t buf[8193];
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    if (n <= 0 || n > 8192) {
        sodium_memzero(buf, sizeof buf);
        return -1;
    }
    while (n > 0 &&
           (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
        n--;
    if (n == 0)
        return -1;
    *out = malloc((size_t)n + 1);
    if (!*out)
        abort();
    memcpy(*out, buf, (size_t)n);
    (*out)[n] = 0;
    *len = (size_t)n;
    sodium_memzero(buf, sizeof buf);
    return 0;
}

static void wipe_free(uint8_t *p, size_t n)
{
    if (p) {
        sodium_memzero(p, n);
        free(p);
    }
}

static void chans_free(chan *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(c[i].account_id);
        free(c[i].pnid);
        wipe_free(c[i].secret, c[i].secret_len);
    }
    free(c);
}

static void hex_of(const uint8_t *b, size_t n, char *out)
{
    sodium_bin2hex(out, n * 2 + 1, b, n);
}

static void uuid_new(char out[GW_UUID_LEN + 1], uint8_t raw[16])
{
    randombytes_buf(raw, 16);
    raw[6] = (uint8_t)((raw[6] & 0x0f) | 0x40);
    raw[8] = (uint8_t)((raw[8] & 0x3f) | 0x80);
    char h[33];
    hex_of(raw, 16, h);
    snprintf(out, GW_UUID_LEN + 1, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
}

/* ---- conversation window cache ------------------------------------------------------- */

static unsigned conv_bucket(const char *conv)
{
    unsigned h = 2166136261u;
    for (const char *p = conv; *p; p++)
        h = (h ^ (unsigned char)(*p | 0x20)) * 16777619u;
    return h % CONV_BUCKETS;
}

static cent *conv_find(gw_meta *m, const char *conv)
{
    for (cent *e = m->conv[conv_bucket(conv)]; e; e = e->next)
        if (strcasecmp(e->conv, conv) == 0)
            return e;
    return NULL;
}

static cent *conv_put(gw_meta *m, const char *conv)
{
    cent *e = conv_find(m, conv);
    if (e)
        return e;
    e = xcalloc(1, sizeof *e);
    snprintf(e->conv, sizeof e->conv, "%s", conv);
    unsigned b = conv_bucket(conv);
    e->next = m->conv[b];
    m->conv[b] = e;
    return e;
}

#define SQL_CONV_STATE                                                                             \
    "SELECT bc.conversation_id, ch.platform, ch.human_agent, bc.template_only, "                   \
    "(extract(epoch FROM bc.last_user_at) * 1000)::bigint, "                                       \
    "coalesce((SELECT (extract(epoch FROM max(sm.created_at)) * 1000)::bigint FROM message sm "    \
    "WHERE sm.conversation_id = bc.conversation_id AND sm.sender = 'system' AND "                  \
    "sm.client_id LIKE 'meta-secure:%'), 0) FROM bridge_conversation bc JOIN "                     \
    "channel ch ON ch.id = bc.channel_id "

static void conv_rows(gw_meta *m, PGresult *res)
{
    for (int r = 0; r < PQntuples(res); r++) {
        cent *e = conv_put(m, PQgetvalue(res, r, 0));
        e->platform = gw_meta_platform_parse(PQgetvalue(res, r, 1));
        e->human_agent = PQgetvalue(res, r, 2)[0] == 't';
        e->template_only = PQgetvalue(res, r, 3)[0] == 't';
        e->last_user_ms = strtoll(PQgetvalue(res, r, 4), NULL, 10);
        /* the stored suggestions survive restarts and reach the other processes here */
        int64_t sug = strtoll(PQgetvalue(res, r, 5), NULL, 10);
        if (sug > e->last_suggest_ms)
            e->last_suggest_ms = sug;
    }
}

static void conv_loaded(void *arg, gw_db_status st, PGresult *res, const char *sqlstate,
                        const char *errmsg)
{
    gw_meta *m = arg;
    (void)errmsg;
    m->inflight--;
    if (st != GW_DB_OK) {
        gw_warn("meta", "conversation window load failed: status=%d sqlstate=%s", (int)st,
                sqlstate ? sqlstate : "");
        return;
    }
    conv_rows(m, res);
}

static void conv_loaded_all(void *arg, gw_db_status st, PGresult *res, const char *sqlstate,
                            const char *errmsg)
{
    gw_meta *m = arg;
    conv_loaded(arg, st, res, sqlstate, errmsg);
    if (st == GW_DB_OK)
        m->convs_loaded = true;
}

static void conv_refresh(gw_meta *m, const char *conv)
{
    const char *vals[1] = {conv};
    gw_db_params p = {vals, NULL, NULL, conv ? 1 : 0};
    m->inflight++;
    if (gw_db_query(m->app->db,
                    conv ? SQL_CONV_STATE "WHERE bc.conversation_id = $1::uuid" : SQL_CONV_STATE,
                    conv ? &p : NULL, false, conv ? conv_loaded : conv_loaded_all, m) != 0)
        m->inflight--;
}

/* ---- channels ------------------------------------------------------------------------- */

static void chans_loaded(void *arg, gw_db_status st, PGresult *res, const char *sqlstate,
                         const char *errmsg)
{
    gw_meta *m = arg;
    (void)errmsg;
    m->inflight--;
    if (st != GW_DB_OK) {
        gw_warn("meta", "channel load failed: status=%d sqlstate=%s", (int)st,
                sqlstate ? sqlstate : "");
        return;
    }
    size_t n = (size_t)PQntuples(res);
    chan *c = xcalloc(n, sizeof *c);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int r = (int)i;
        chan *x = &c[k];
        snprintf(x->id, sizeof x->id, "%s", PQgetvalue(res, r, 0));
        x->platform = gw_meta_platform_parse(PQgetvalue(res, r, 1));
        x->account_id = xstrdup(PQgetvalue(res, r, 2));
        x->pnid = PQgetisnull(res, r, 3) ? NULL : xstrdup(PQgetvalue(res, r, 3));
        x->human_agent = PQgetvalue(res, r, 5)[0] == 't';
        if (read_secret(PQgetvalue(res, r, 4), &x->secret, &x->secret_len) != 0) {
            gw_err("meta", "channel %s: app secret file unreadable: its webhooks are refused",
                   x->id);
            free(x->account_id);
            free(x->pnid);
            memset(x, 0, sizeof *x);
            continue;
        }
        k++;
    }
    chans_free(m->chans, m->nchans);
    m->chans = c;
    m->nchans = k;
    m->chans_loaded = true;
    gw_info("meta", "%zu channel(s) active", k);
}

static void chans_reload(gw_meta *m)
{
    m->inflight++;
    if (gw_db_query(m->app->db,
                    "SELECT id, platform, account_id, phone_number_id, app_secret_file, "
                    "human_agent FROM channel WHERE removed_at IS NULL",
                    NULL, false, chans_loaded, m) != 0)
        m->inflight--;
}

/* Routing (§3.1, §5.1, §6.1): WhatsApp by phone_number_id (and its WABA), Messenger and
 * Instagram by the entry id. Only channels whose app secret signed the body qualify. */
static const chan *route(const gw_meta *m, const bool *signed_by, const gw_meta_event *e)
{
    for (size_t i = 0; i < m->nchans; i++) {
        const chan *c = &m->chans[i];
        if (!signed_by[i] || c->platform != e->platform || !e->account_id)
            continue;
        if (strcmp(c->account_id, e->account_id) != 0)
            continue;
        if (c->platform == GW_META_WHATSAPP &&
            (!e->phone_number_id || strcmp(c->pnid, e->phone_number_id) != 0))
            continue;
        return c;
    }
    return NULL;
}

/* ---- notifications -------------------------------------------------------------------- */

/* The first `caregate channel add` creates the bridge key while the gateway runs. */
static void ensure_key(gw_meta *m)
{
    char err[256];
    if (m->key)
        return;
    m->key = gw_bridgekey_load(m->app->cfg->meta_bridge_key_file, 0, err, sizeof err);
    if (!m->key)
        return;
    m->outbox = gw_outbox_new(m->app, m->key);
    if (!m->outbox || gw_outbox_start(m->outbox) != 0)
        gw_err("meta", "cannot start the outbox");
    else
        gw_info("meta", "bridge key loaded: bridges enabled");
}

static void on_notify(void *arg, gw_db_notify_kind kind, const char *channel, const char *payload)
{
    gw_meta *m = arg;
    if (m->stopping)
        return;
    if (kind == GW_DB_NOTIFY_RESYNC) {
        chans_reload(m);
        conv_refresh(m, NULL);
        gw_outbox_kick(m->outbox);
        return;
    }
    if (!channel)
        return;
    if (strcmp(channel, "caregate_channel") == 0) {
        ensure_key(m);
        chans_reload(m);
        gw_outbox_kick(m->outbox);
    } else if (strcmp(channel, "caregate_msg") == 0) {
        gw_outbox_kick(m->outbox); /* a staff reply to a bridged conversation may be waiting */
    } else if (strcmp(channel, "caregate_conv") == 0 && payload) {
        json_t *o = json_loads(payload, 0, NULL);
        const char *c = o ? json_string_value(json_object_get(o, "c")) : NULL;
        if (c && gw_uuid_valid(c))
            conv_refresh(m, c); /* window / template_only may have moved */
        json_decref(o);
    }
}

/* ---- lifecycle ------------------------------------------------------------------------- */

static rules *load_rules(const gw_config *cfg)
{
    rules *r = NULL;
    char err[256];
    char *buf = NULL;
    size_t len = 0;
    if (cfg->policy_file && *cfg->policy_file) {
        FILE *f = fopen(cfg->policy_file, "rb");
        if (f) {
            struct stat st;
            if (fstat(fileno(f), &st) == 0 && st.st_size > 0 && st.st_size < (1 << 20)) {
                buf = malloc((size_t)st.st_size);
                if (!buf)
                    abort();
                len = fread(buf, 1, (size_t)st.st_size, f);
            }
            fclose(f);
        }
    }
    if (!buf || rules_parse(buf, len, &r, err, sizeof err) != RULES_OK) {
        if (buf)
            gw_warn("meta", "policy file not usable for automatic texts: built-in defaults");
        if (rules_parse("{}", 2, &r, err, sizeof err) != RULES_OK)
            r = NULL;
    }
    free(buf);
    return r;
}

gw_meta *gw_meta_new(gw_app *app)
{
    if (!app || !app->db || !app->store || !app->cfg)
        return NULL;
    gw_meta *m = xcalloc(1, sizeof *m);
    m->app = app;
    const gw_config *cfg = app->cfg;
    char err[512];
    m->key = gw_bridgekey_load(cfg->meta_bridge_key_file, 0, err, sizeof err);
    if (!m->key)
        gw_info("meta", "bridges disabled until a channel is added (%s)", "no bridge key");
    m->rules = load_rules(cfg);
    if (*cfg->meta_verify_token_file) {
        uint8_t *t = NULL;
        size_t tl = 0;
        if (read_secret(cfg->meta_verify_token_file, &t, &tl) == 0 && tl < sizeof m->verify_token) {
            memcpy(m->verify_token, t, tl);
            m->verify_len = tl;
        } else {
            gw_err("meta", "meta_verify_token_file unreadable: the webhook handshake will fail");
        }
        wipe_free(t, tl);
    }
    if (m->key)
        m->outbox = gw_outbox_new(app, m->key);
    return m;
}

int gw_meta_start(gw_meta *m)
{
    if (gw_db_listen(m->app->db, "caregate_channel", on_notify, m) != 0 ||
        gw_db_listen(m->app->db, "caregate_msg", on_notify, m) != 0 ||
        gw_db_listen(m->app->db, "caregate_conv", on_notify, m) != 0)
        return -1;
    chans_reload(m);
    conv_refresh(m, NULL);
    if (m->outbox && gw_outbox_start(m->outbox) != 0)
        return -1;
    return 0;
}

void gw_meta_stop(gw_meta *m)
{
    if (!m || m->stopping)
        return;
    m->stopping = true;
    if (m->outbox)
        gw_outbox_stop(m->outbox);
}

void gw_meta_free(gw_meta *m)
{
    if (!m)
        return;
    gw_outbox_free(m->outbox);
    for (unsigned b = 0; b < CONV_BUCKETS; b++)
        for (cent *e = m->conv[b], *n; e; e = n) {
            n = e->next;
            free(e);
        }
    chans_free(m->chans, m->nchans);
    gw_bridgekey_free(m->key);
    rules_free(m->rules);
    sodium_memzero(m->verify_token, sizeof m->verify_token);
    free(m);
}

size_t gw_meta_pending(const gw_meta *m)
{
    return m ? m->inflight + gw_outbox_pending(m->outbox) : 0;
}

/* ---- staff reply check ----------------------------------------------------------------- */

const char *gw_meta_reply_check(gw_meta *m, const char *conv, const char *kind, const char *text,
                                size_t len, const char **message)
{
    if (!m || !conv || (kind && strcmp(kind, "note") == 0))
        return NULL;
    const cent *e = conv_find(m, conv);
    if (!e)
        return NULL; /* a web conversation (or not yet known here: the outbox re-checks) */
    uv_update_time(m->app->loop);
    int64_t now_ms = (int64_t)time(NULL) * 1000;
    gw_meta_window w =
        gw_meta_window_at(e->platform, e->last_user_ms, now_ms, e->human_agent, true, NULL);
    if (e->template_only && e->platform == GW_META_WHATSAPP)
        w = GW_META_WIN_TEMPLATE;
    if (w == GW_META_WIN_TEMPLATE) {
        *message = "the WhatsApp 24-hour window is closed: the patient must write first "
                   "(only an approved template without health data can be sent)";
        return "window_closed";
    }
    if (w == GW_META_WIN_CLOSED) {
        *message = "the messaging window of this conversation is closed";
        return "window_closed";
    }
    if (text && !gw_meta_text_fits(e->platform, text, len)) {
        *message = "the text is longer than this platform accepts";
        return "too_large";
    }
    return NULL;
}

/* ---- re-engagement template ----------------------------------------------------------- */

typedef struct {
    gw_conn *c;
    char *client_id;
} reop;

static void reengage_done(void *arg, int status, const gw_msg *msg, bool fresh)
{
    reop *r = arg;
    (void)fresh;
    if (gw_conn_alive(r->c)) {
        if (status == GW_STORE_OK) {
            json_t *o =
                json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "ack", "client_id", r->client_id,
                          "id", msg->id, "ts", msg->ts, "conversation", msg->conversation);
            gw_conn_send_json(r->c, o);
            json_decref(o);
        } else {
            gw_conn_send_error(r->c, "unavailable", "not stored: send again (same client_id)",
                               r->client_id);
        }
    }
    gw_conn_unref(r->c);
    free(r->client_id);
    free(r);
}

void gw_meta_staff_reengage(gw_meta *m, gw_conn *c, json_t *o, const char *staff_id,
                            const char *alias)
{
    const char *conv = json_string_value(json_object_get(o, "conversation"));
    const char *cid = json_string_value(json_object_get(o, "client_id"));
    if (!cid || !*cid || strlen(cid) > 128 || !conv || !gw_uuid_valid(conv)) {
        gw_conn_send_error(c, "bad_request", "fields 'conversation' (UUID) and 'client_id' needed",
                           cid);
        return;
    }
    const cent *e = m ? conv_find(m, conv) : NULL;
    if (!e || e->platform != GW_META_WHATSAPP) {
        gw_conn_send_error(c, "bad_request", "re-engagement templates exist for WhatsApp only",
                           cid);
        return;
    }
    const gw_config *cfg = m->app->cfg;
    if (!*cfg->meta_wa_template || !m->outbox) {
        gw_conn_send_error(c, "not_configured",
                           "no approved template is configured "
                           "(meta_wa_template)",
                           cid);
        return;
    }
    if (m->app->draining) {
        gw_conn_send_error(c, "unavailable", "the gateway is restarting: send again", cid);
        return;
    }
    /* the stored text says what the patient receives; the outbox recognises the client_id */
    char text[160], client_id[160];
    snprintf(text, sizeof text, "[template: %s]", cfg->meta_wa_template);
    snprintf(client_id, sizeof client_id, "reengage:%s", cid);
    gw_store_item it = {conv, client_id,    "staff", "text", staff_id, alias,
                        text, strlen(text), NULL,    NULL,   NULL};
    reop *r = xcalloc(1, sizeof *r);
    r->c = c;
    r->client_id = xstrdup(cid);
    gw_conn_ref(c);
    if (gw_store_append(m->app->store, &it, reengage_done, r) != 0) {
        gw_conn_unref(c);
        free(r->client_id);
        free(r);
        gw_conn_send_error(c, "unavailable", "the gateway is restarting: send again", cid);
    }
}

/* ---- webhook requests ------------------------------------------------------------------ */

typedef struct {
    const gw_meta_event *e;
    char chan_id[GW_UUID_LEN + 1];
    uint8_t msg_hash[GW_BRIDGEKEY_HASH_BYTES];
    uint8_t user_hash[GW_BRIDGEKEY_HASH_BYTES];
    int group;
    bool skip;
} evs;

typedef struct {
    char chan_id[GW_UUID_LEN + 1];
    gw_meta_platform platform;
    bool human_agent;
    uint8_t user_hash[GW_BRIDGEKEY_HASH_BYTES];
    const char *address; /* reply address: WA phone (or BSUID), PSID, IGSID */
    const char *name;
    int64_t last_ms;
    char conv[GW_UUID_LEN + 1];
    char lang[16];
} group;

typedef struct req {
    gw_meta *m;
    gw_meta_reply_cb cb;
    void *arg;
    gw_meta_batch *b;
    evs *ev;
    size_t nev;
    group *g;
    size_t ng;
    int outstanding;
    bool failed;
    int unknown;
    gw_meta_platform platform;
} req;

static void req_finish(req *q, int status, const char *body)
{
    q->cb(q->arg, status, "text/plain", body, strlen(body));
    q->m->inflight--;
    gw_meta_batch_free(q->b);
    free(q->ev);
    free(q->g);
    free(q);
}

static const char *hash_domain(gw_meta_platform p, const char *what, char *buf, size_t n)
{
    snprintf(buf, n, "%s-%s", gw_meta_platform_name(p), what);
    return buf;
}

static void stage_tail(req *q);
static void stage_store(req *q);

static void tail_done(void *arg, gw_db_status st, PGresult *res, const char *sqlstate,
                      const char *errmsg)
{
    req *q = arg;
    (void)res;
    (void)errmsg;
    if (st != GW_DB_OK) {
        gw_warn("meta", "webhook tail failed: status=%d sqlstate=%s", (int)st,
                sqlstate ? sqlstate : "");
        req_finish(q, 503, "retry");
        return;
    }
    gw_outbox_kick(q->m->outbox);
    req_finish(q, 200, "EVENT_RECEIVED");
}

static void stage_tail(req *q)
{
    gw_meta *m = q->m;
    json_t *dedup = json_array(), *status = json_array(), *echo = json_array(),
           *mark = json_array();
    char hx[2 * GW_BRIDGEKEY_HASH_BYTES + 1], dom[40];
    for (size_t i = 0; i < q->nev; i++) {
        evs *v = &q->ev[i];
        const gw_meta_event *e = v->e;
        if (!v->chan_id[0])
            continue;
        if (e->kind == GW_META_EV_MESSAGE && !v->skip && e->msg_id) {
            hex_of(v->msg_hash, sizeof v->msg_hash, hx);
            json_array_append_new(dedup,
                                  json_pack("{s:s,s:s,s:s}", "c", v->chan_id, "k", "msg", "h", hx));
        } else if ((e->kind == GW_META_EV_STATUS && e->msg_id && e->status) ||
                   (e->kind == GW_META_EV_READ && e->msg_id)) {
            const char *s = e->kind == GW_META_EV_READ ? "read" : e->status;
            if (strcmp(s, "sent") && strcmp(s, "delivered") && strcmp(s, "read") &&
                strcmp(s, "failed"))
                continue; /* played, deleted, warning: ignored */
            uint8_t d[GW_BRIDGEKEY_HASH_BYTES];
            char dx[sizeof hx];
            size_t il = strlen(e->msg_id), sl = strlen(s);
            char *buf = xcalloc(il + sl + 2, 1);
            memcpy(buf, e->msg_id, il);
            memcpy(buf + il + 1, s, sl);
            gw_bridgekey_hash(m->key, hash_domain(e->platform, "status", dom, sizeof dom), buf,
                              il + 1 + sl, d);
            free(buf);
            hex_of(v->msg_hash, sizeof v->msg_hash, hx);
            hex_of(d, sizeof d, dx);
            json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:I}", "c", v->chan_id, "h", hx, "d", dx, "s",
                                  s, "e", (json_int_t)e->error_code);
            json_object_set_new(o, "cb", e->callback ? json_string(e->callback) : json_null());
            json_array_append_new(status, o);
        } else if (e->kind == GW_META_EV_ECHO && e->msg_id) {
            hex_of(v->msg_hash, sizeof v->msg_hash, hx);
            json_t *o = json_pack("{s:s,s:s}", "c", v->chan_id, "h", hx);
            json_object_set_new(o, "cb", e->callback ? json_string(e->callback) : json_null());
            json_array_append_new(echo, o);
        } else if ((e->kind == GW_META_EV_DELIVERY || e->kind == GW_META_EV_READ) && e->user_id &&
                   e->watermark_ms > 0) {
            hex_of(v->user_hash, sizeof v->user_hash, hx);
            json_array_append_new(mark,
                                  json_pack("{s:s,s:s,s:I,s:s}", "c", v->chan_id, "u", hx, "w",
                                            (json_int_t)e->watermark_ms, "s",
                                            e->kind == GW_META_EV_READ ? "read" : "delivered"));
        }
    }
    json_t *p = json_pack("{s:o,s:o,s:o,s:o}", "dedup", dedup, "status", status, "echo", echo,
                          "mark", mark);
    char *js = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    char unknown[16];
    snprintf(unknown, sizeof unknown, "%d", q->unknown);
    const char *vals[3] = {js, unknown, gw_meta_platform_name(q->platform)};
    gw_db_params prm = {vals, NULL, NULL, 3};
    /* Unregistered accounts: rejected (nothing stored) and audited by platform and count
     * only; the account id itself is a platform id and stays out of the audit log. */
    int rc = gw_db_query(m->app->db,
                         "SELECT bridge_ingest_tail($1::jsonb), CASE WHEN $2::integer > 0 THEN "
                         "audit_append('meta.webhook.unknown_account', 'gateway', '', "
                         "jsonb_build_object('platform', $3::text, 'events', $2::integer)) END",
                         &prm, false, tail_done, q);
    free(js);
    if (rc != 0)
        req_finish(q, 503, "retry");
}

/* ---- stage 3: messages through the store --------------------------------------------- */

static void store_done(void *arg, int status, const gw_msg *msg, bool fresh)
{
    req *q = arg;
    (void)msg;
    (void)fresh;
    if (status != GW_STORE_OK)
        q->failed = true;
    if (--q->outstanding > 0)
        return;
    if (q->failed) {
        gw_warn("meta", "webhook messages not stored: answering 503 for a retry");
        req_finish(q, 503, "retry");
        return;
    }
    stage_tail(q);
}

static const char *placeholder(const gw_meta_event *e, char *buf, size_t n)
{
    snprintf(buf, n, "[%s]", e->type ? e->type : "message");
    for (char *p = buf + 1; *p && *p != ']'; p++)
        if (!((*p >= 'a' && *p <= 'z') || *p == '_'))
            *p = '_'; /* the type is platform input: keep the placeholder boring */
    return buf;
}

static int store_one(req *q, const char *conv, const char *client_id, const char *sender,
                     const char *text, size_t len, const json_t *findings, const json_t *decision)
{
    gw_store_item it = {conv,    client_id, sender, "text",   NULL,
                        NULL,    text,      len,    findings, decision ? "policy.decision" : NULL,
                        decision};
    q->outstanding++;
    if (gw_store_append(q->m->app->store, &it, store_done, q) != 0) {
        q->outstanding--;
        q->failed = true;
        return -1;
    }
    return 0;
}

/* Health data from a platform (decisions.inbound.<channel>.suggest_secure_chat): the
 * patient gets the policy's RULES_TEXT_SECURE_CHANNEL text, at most once per conversation
 * within decisions.suggest_secure_chat_every_hours, so a patient who keeps writing is not
 * answered with the same text after every message. The last suggestion's time comes from
 * the stored system messages (client_id "meta-secure:…", SQL_CONV_STATE), so a restart
 * does not reset the clock. The client_id is derived from the triggering message, so a
 * webhook retry stores nothing twice. Until the first full load has completed (just after a
 * start) the clock is unknown and no suggestion is sent: one missed courtesy text is better
 * than a repeated one. Returns true (and starts the clock) when one is due. */
static bool suggest_due(req *q, group *g)
{
    const rules *pol = q->m->app->rules;
    if (!q->m->convs_loaded)
        return false;
    cent *e = conv_put(q->m, g->conv);
    int64_t now_ms = (int64_t)time(NULL) * 1000;
    if (!pol || (e->last_suggest_ms &&
                 now_ms - e->last_suggest_ms < (int64_t)rules_suggest_secure_every_s(pol) * 1000))
        return false;
    e->last_suggest_ms = now_ms;
    return true;
}

static void stage_store(req *q)
{
    char hx[2 * GW_BRIDGEKEY_HASH_BYTES + 1], cid[96], ph[48];
    q->outstanding = 1; /* held while queueing so completion cannot run early */
    for (size_t i = 0; i < q->nev; i++) {
        evs *v = &q->ev[i];
        const gw_meta_event *e = v->e;
        if (v->skip || e->kind != GW_META_EV_MESSAGE || v->group < 0)
            continue;
        group *g = &q->g[v->group];
        if (!g->conv[0])
            continue;
        hex_of(v->msg_hash, 16, hx);
        snprintf(cid, sizeof cid, "meta:%s", hx);
        if (e->text && e->text_len && !e->has_media) {
            /* the widget's policy path: findings (categories, counts) with the row and the
             * decision as an audit record in the same commit (gw_policy.h) */
            gw_policy_scan scan;
            memset(&scan, 0, sizeof scan);
            json_t *decision =
                q->m->app->rules ? gw_policy_inbound(q->m->app, gw_meta_platform_name(g->platform),
                                                     e->text, e->text_len, &scan)
                                 : NULL;
            /* the decision record says whether the suggestion went out (the rate limit may
             * hold it back), so a DPO sees every automatic answer */
            bool suggest = scan.suggest_secure && suggest_due(q, g);
            if (decision && scan.suggest_secure)
                json_object_set_new(decision, "secure_chat_suggested", json_boolean(suggest));
            store_one(q, g->conv, cid, "patient", e->text, e->text_len, scan.findings, decision);
            if (suggest) {
                char scid[96];
                snprintf(scid, sizeof scid, "meta-secure:%s", hx);
                const char *t = rules_text(q->m->app->rules, RULES_TEXT_SECURE_CHANNEL, g->lang);
                store_one(q, g->conv, scid, "system", t, strlen(t), NULL, NULL);
            }
            json_decref(decision);
            gw_policy_scan_clear(&scan);
        } else {
            placeholder(e, ph, sizeof ph);
            store_one(q, g->conv, cid, "patient", ph, strlen(ph), NULL, NULL);
        }
        const rules *pol = q->m->app->rules ? q->m->app->rules : q->m->rules;
        if (e->has_media && pol) {
            /* media are not downloaded (default): tell the patient where to send them */
            const char *t = rules_text(pol, RULES_TEXT_MEDIA_REFUSED, g->lang);
            snprintf(cid, sizeof cid, "meta-auto:%s", hx);
            store_one(q, g->conv, cid, "system", t, strlen(t), NULL, NULL);
        }
    }
    store_done(q, GW_STORE_OK, NULL, false); /* drop the hold */
}

/* ---- stage 2: conversations ----------------------------------------------------------- */

static void ensure_release(req *q)
{
    if (--q->outstanding > 0)
        return;
    if (q->failed) {
        req_finish(q, 503, "retry");
        return;
    }
    stage_store(q);
}

static void ensure_done(void *arg, gw_db_status st, PGresult *res, const char *sqlstate,
                        const char *errmsg)
{
    void **ctx = arg;
    req *q = ctx[0];
    group *g = ctx[1];
    free(ctx);
    (void)errmsg;
    if (st != GW_DB_OK || PQntuples(res) != 1) {
        gw_warn("meta", "conversation ensure failed: status=%d sqlstate=%s", (int)st,
                sqlstate ? sqlstate : "");
        q->failed = true;
    } else {
        snprintf(g->conv, sizeof g->conv, "%s", PQgetvalue(res, 0, 0));
        snprintf(g->lang, sizeof g->lang, "%s", PQgetvalue(res, 0, 1));
        cent *e = conv_put(q->m, g->conv);
        e->platform = g->platform;
        e->human_agent = g->human_agent;
        if (g->last_ms > e->last_user_ms) {
            e->last_user_ms = g->last_ms;
            e->template_only = false;
        }
    }
    ensure_release(q);
}

static char *bytea_hex(const uint8_t *b, size_t n)
{
    char *s = malloc(2 + 2 * n + 1);
    if (!s)
        abort();
    s[0] = '\\';
    s[1] = 'x';
    sodium_bin2hex(s + 2, 2 * n + 1, b, n);
    return s;
}

static int ensure_group(req *q, group *g)
{
    gw_meta *m = q->m;
    char conv[GW_UUID_LEN + 1], dom[40];
    uint8_t raw[16], wrapped[SEAL_WRAPPED_BYTES];
    size_t wlen = 0;
    uint32_t ver = 0;
    uuid_new(conv, raw);
    seal_datakey *dk = NULL;
    if (seal_datakey_new(&dk) != SEAL_OK ||
        seal_datakey_wrap(m->app->kr, dk, raw, wrapped, sizeof wrapped, &wlen, &ver) != SEAL_OK) {
        seal_datakey_free(dk);
        return -1;
    }
    seal_datakey_free(dk);
    char uh[2 * GW_BRIDGEKEY_HASH_BYTES + 1];
    hex_of(g->user_hash, sizeof g->user_hash, uh);
    /* sealed reply address and display name, bound to platform + user hash */
    char aad[160];
    size_t alen = 0, dlen = 0;
    snprintf(aad, sizeof aad, "caregate.addr.v1:%s:%s", g->chan_id, uh);
    uint8_t *addr = gw_bridgekey_seal(m->key, aad, g->address, strlen(g->address), &alen);
    uint8_t *disp = NULL;
    if (g->name) {
        snprintf(aad, sizeof aad, "caregate.disp.v1:%s:%s",
                 hash_domain(g->platform, "user", dom, sizeof dom), uh);
        disp = gw_bridgekey_seal(m->key, aad, g->name, strlen(g->name), &dlen);
    }
    char *hx_user = bytea_hex(g->user_hash, sizeof g->user_hash);
    char *hx_wrap = bytea_hex(wrapped, wlen);
    char *hx_addr = bytea_hex(addr, alen);
    char *hx_disp = disp ? bytea_hex(disp, dlen) : NULL;
    char vs[16], last[32];
    snprintf(vs, sizeof vs, "%u", ver);
    snprintf(last, sizeof last, "%lld", (long long)g->last_ms);
    const char *vals[9] = {g->chan_id, hx_user, conv, vs, hx_wrap, hx_addr, hx_disp, last, "de"};
    gw_db_params p = {vals, NULL, NULL, 9};
    void **ctx = xcalloc(2, sizeof *ctx);
    ctx[0] = q;
    ctx[1] = g;
    q->outstanding++;
    int rc = gw_db_query(m->app->db,
                         "SELECT conversation_id, lang, created FROM bridge_conv_ensure($1::uuid, "
                         "$2::bytea, $3::uuid, $4::integer, $5::bytea, $6::bytea, $7::bytea, "
                         "to_timestamp($8::double precision / 1000), $9)",
                         &p, false, ensure_done, ctx);
    if (rc != 0) {
        q->outstanding--;
        free(ctx);
    }
    free(hx_user);
    free(hx_wrap);
    free(hx_addr);
    free(hx_disp);
    free(addr);
    free(disp);
    sodium_memzero(wrapped, sizeof wrapped);
    return rc;
}

static void stage_ensure(req *q)
{
    /* groups: one per (channel, user) with new messages */
    q->g = xcalloc(q->nev, sizeof *q->g);
    for (size_t i = 0; i < q->nev; i++) {
        evs *v = &q->ev[i];
        v->group = -1;
        if (v->skip || v->e->kind != GW_META_EV_MESSAGE)
            continue;
        size_t k;
        for (k = 0; k < q->ng; k++)
            if (strcmp(q->g[k].chan_id, v->chan_id) == 0 &&
                memcmp(q->g[k].user_hash, v->user_hash, sizeof v->user_hash) == 0)
                break;
        if (k == q->ng) {
            group *g = &q->g[q->ng++];
            memcpy(g->chan_id, v->chan_id, sizeof g->chan_id);
            memcpy(g->user_hash, v->user_hash, sizeof g->user_hash);
            g->platform = v->e->platform;
            for (size_t c = 0; c < q->m->nchans; c++)
                if (strcmp(q->m->chans[c].id, v->chan_id) == 0)
                    g->human_agent = q->m->chans[c].human_agent;
            g->address = v->e->user_phone ? v->e->user_phone : v->e->user_id;
        }
        group *g = &q->g[k];
        v->group = (int)k;
        if (v->e->display_name)
            g->name = v->e->display_name;
        int64_t ts = v->e->ts_ms ? v->e->ts_ms : (int64_t)time(NULL) * 1000;
        if (ts > g->last_ms)
            g->last_ms = ts;
    }
    q->outstanding = 1;
    for (size_t k = 0; k < q->ng; k++)
        if (ensure_group(q, &q->g[k]) != 0)
            q->failed = true;
    ensure_release(q); /* drop the hold */
}

/* ---- stage 1: de-duplication ---------------------------------------------------------- */

static void dedup_done(void *arg, gw_db_status st, PGresult *res, const char *sqlstate,
                       const char *errmsg)
{
    req *q = arg;
    (void)errmsg;
    if (st != GW_DB_OK) {
        gw_warn("meta", "dedup check failed: status=%d sqlstate=%s", (int)st,
                sqlstate ? sqlstate : "");
        req_finish(q, 503, "retry");
        return;
    }
    for (int r = 0; r < PQntuples(res); r++) {
        long i = strtol(PQgetvalue(res, r, 0), NULL, 10);
        if (i >= 0 && (size_t)i < q->nev)
            q->ev[i].skip = true;
    }
    /* the same id twice inside one body counts once */
    for (size_t i = 0; i < q->nev; i++)
        for (size_t j = 0; j < i && !q->ev[i].skip; j++)
            if (q->ev[j].e->kind == GW_META_EV_MESSAGE && q->ev[i].e->kind == GW_META_EV_MESSAGE &&
                !q->ev[j].skip && strcmp(q->ev[i].chan_id, q->ev[j].chan_id) == 0 &&
                memcmp(q->ev[i].msg_hash, q->ev[j].msg_hash, sizeof q->ev[i].msg_hash) == 0)
                q->ev[i].skip = true;
    stage_ensure(q);
}

static void stage_dedup(req *q)
{
    json_t *arr = json_array();
    char hx[2 * GW_BRIDGEKEY_HASH_BYTES + 1];
    for (size_t i = 0; i < q->nev; i++) {
        evs *v = &q->ev[i];
        if (v->skip || v->e->kind != GW_META_EV_MESSAGE)
            continue;
        hex_of(v->msg_hash, sizeof v->msg_hash, hx);
        json_array_append_new(
            arr, json_pack("{s:I,s:s,s:s}", "i", (json_int_t)i, "c", v->chan_id, "h", hx));
    }
    char *js = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    const char *vals[1] = {js};
    gw_db_params p = {vals, NULL, NULL, 1};
    int rc =
        gw_db_query(q->m->app->db,
                    "SELECT (d->>'i')::integer FROM jsonb_array_elements($1::jsonb) d WHERE "
                    "EXISTS (SELECT 1 FROM webhook_dedup w WHERE w.channel_id = (d->>'c')::uuid "
                    "AND w.kind = 'msg' AND w.key_hash = decode(d->>'h', 'hex'))",
                    &p, false, dedup_done, q);
    free(js);
    if (rc != 0)
        req_finish(q, 503, "retry");
}

/* ---- entry ------------------------------------------------------------------------------- */

static int handle_post(gw_meta *m, const char *sig, const uint8_t *body, size_t len,
                       gw_meta_reply_cb cb, void *arg)
{
    if (len > GW_META_MAX_BODY) {
        cb(arg, 413, "text/plain", "too large", 9);
        return 0;
    }
    if (!m->key || !m->chans_loaded) {
        if (!m->warned_nokey)
            gw_warn("meta", "webhook refused: bridges not ready (bridge key or channels missing)");
        m->warned_nokey = true;
        cb(arg, 503, "text/plain", "not ready", 9);
        return 0;
    }
    /* §2.1: signature over the raw bytes BEFORE parsing, against every app secret */
    bool *signed_by = xcalloc(m->nchans, sizeof *signed_by);
    bool any = false;
    size_t sl = sig ? strlen(sig) : 0;
    for (size_t i = 0; i < m->nchans; i++) {
        if (i > 0 && m->chans[i].secret_len == m->chans[i - 1].secret_len &&
            sodium_memcmp(m->chans[i].secret, m->chans[i - 1].secret, m->chans[i].secret_len) ==
                0) {
            signed_by[i] = signed_by[i - 1];
        } else {
            signed_by[i] = gw_meta_signature_ok(body, len, sig, sl, m->chans[i].secret,
                                                m->chans[i].secret_len);
        }
        any = any || signed_by[i];
    }
    if (!any) {
        free(signed_by);
        m->sig_failures++;
        if (m->sig_failures % SIG_ALERT_EVERY == 0)
            gw_err("meta",
                   "webhook signature failures in a row: %u (wrong or rotated app "
                   "secret?)",
                   m->sig_failures);
        else
            gw_info("meta", "webhook refused: signature %s", sig ? "does not verify" : "missing");
        cb(arg, 401, "text/plain", "bad signature", 13);
        return 0;
    }
    m->sig_failures = 0;
    gw_meta_batch *b = NULL;
    int pr = gw_meta_parse((const char *)body, len, &b);
    if (pr == GW_META_ERR_OBJECT) {
        free(signed_by);
        cb(arg, 200, "text/plain", "EVENT_RECEIVED", 14); /* §2.2: not interesting, no retry */
        return 0;
    }
    if (pr != GW_META_OK) {
        free(signed_by);
        cb(arg, 400, "text/plain", "bad request", 11);
        return 0;
    }
    req *q = xcalloc(1, sizeof *q);
    q->m = m;
    q->cb = cb;
    q->arg = arg;
    q->b = b;
    q->platform = gw_meta_batch_platform(b);
    q->nev = gw_meta_batch_count(b);
    q->ev = xcalloc(q->nev, sizeof *q->ev);
    char dom[40];
    size_t routed = 0;
    for (size_t i = 0; i < q->nev; i++) {
        evs *v = &q->ev[i];
        v->e = gw_meta_batch_event(b, i);
        v->group = -1;
        if (v->e->kind == GW_META_EV_OTHER) {
            v->skip = true;
            continue;
        }
        const chan *c = route(m, signed_by, v->e);
        if (!c) {
            v->skip = true;
            q->unknown++;
            continue;
        }
        memcpy(v->chan_id, c->id, sizeof v->chan_id);
        if (v->e->msg_id)
            gw_bridgekey_hash(m->key, hash_domain(v->e->platform, "msg", dom, sizeof dom),
                              v->e->msg_id, strlen(v->e->msg_id), v->msg_hash);
        if (v->e->user_id)
            gw_bridgekey_hash(m->key, hash_domain(v->e->platform, "user", dom, sizeof dom),
                              v->e->user_id, strlen(v->e->user_id), v->user_hash);
        if (v->e->kind == GW_META_EV_MESSAGE && (!v->e->msg_id || !v->e->user_id))
            v->skip = true; /* nothing to key it by: cannot be stored idempotently */
        routed++;
    }
    free(signed_by);
    if (q->unknown)
        gw_warn("meta", "webhook: %d event(s) for unregistered accounts rejected", q->unknown);
    m->inflight++;
    if (routed == 0) {
        stage_tail(q); /* only the audit record (if any) */
        return 0;
    }
    stage_dedup(q);
    return 0;
}

int gw_meta_webhook_request(gw_meta *m, const char *method, const char *query, const char *sig,
                            const uint8_t *body, size_t len, gw_meta_reply_cb cb, void *arg)
{
    if (!m || m->stopping || !cb)
        return -1;
    if (method && strcmp(method, "GET") == 0) {
        /* §1: no database, no signature; the DB may be down and verification still works */
        char ch[GW_META_MAX_CHALLENGE + 1];
        int st = gw_meta_verify_handshake(query ? query : "", query ? strlen(query) : 0,
                                          m->verify_token, m->verify_len, ch, sizeof ch);
        gw_info("meta", "webhook verification %s", st == 200 ? "accepted" : "refused");
        if (st == 200)
            cb(arg, 200, "text/plain", ch, strlen(ch));
        else
            cb(arg, 403, "text/plain", "", 0);
        return 0;
    }
    if (method && strcmp(method, "POST") == 0)
        return handle_post(m, sig, body, len, cb, arg);
    cb(arg, 405, "text/plain", "", 0);
    return 0;
}

/* ---- lws glue ------------------------------------------------------------------------------ */

typedef struct wpss wpss;

typedef struct {
    struct lws *wsi;
    wpss *p; /* NULL once the connection closed */
} hlink;

struct wpss {
    hlink *link;
    uint8_t *body;
    size_t len, cap;
    bool over;
    bool post;
    bool resp_ready;
    int status;
    char ctype[32];
    char *resp;
    size_t resp_len;
    /* Answered before the body was read (413 on the announced length, 503 while draining):
     * the connection closes after the answer, since the unread body would otherwise be read
     * as the next request of a kept-alive connection. */
    bool close_after;
    bool answered;  /* with close_after: the answer has been written */
    bool body_done; /* with close_after: the client finished sending the body */
    bool shut;      /* with close_after: our side is shut down, draining until the client closes */
    size_t dropped; /* with close_after: body bytes read and dropped */
    size_t drain;   /* with close_after: at most this much is drained (the announced length) */
};

/* An unread body is drained up to its announced length, but never more than this, so the
 * client (Meta's sender writes the whole body before it reads) gets the answer instead of a
 * reset; beyond it, or after GW_HTTP_LINGER_SECS, the connection is cut (gw_http_linger). */
#define META_LINGER_MAX (8u << 20)

static void set_reply(struct lws *wsi, wpss *p, int status, const char *ctype, const char *body,
                      size_t len)
{
    p->link = NULL;
    p->status = status;
    snprintf(p->ctype, sizeof p->ctype, "%s", ctype);
    free(p->resp);
    p->resp = malloc(len + 1);
    if (!p->resp)
        abort();
    memcpy(p->resp, body, len);
    p->resp_len = len;
    p->resp_ready = true;
    lws_callback_on_writable(wsi);
}

static void on_reply(void *arg, int status, const char *ctype, const char *body, size_t len)
{
    hlink *l = arg;
    if (l->p)
        set_reply(l->wsi, l->p, status, ctype, body, len);
    free(l);
}

static void start_request(gw_meta *m, struct lws *wsi, wpss *p, const char *method)
{
    char query[1024] = "", sig[128] = "";
    bool has_sig = false;
    if (strcmp(method, "GET") == 0) {
        /* lws keeps the arguments as '&'-joined fragments */
        for (int i = 0;; i++) {
            char frag[512];
            int n = lws_hdr_copy_fragment(wsi, frag, sizeof frag, WSI_TOKEN_HTTP_URI_ARGS, i);
            if (n <= 0)
                break;
            size_t ql = strlen(query);
            snprintf(query + ql, sizeof query - ql, "%s%s", ql ? "&" : "", frag);
        }
    } else {
        has_sig = lws_hdr_custom_copy(wsi, sig, sizeof sig, "x-hub-signature-256:", 20) > 0;
    }
    hlink *l = xcalloc(1, sizeof *l);
    l->wsi = wsi;
    l->p = p;
    p->link = l;
    if (gw_meta_webhook_request(m, method, query, has_sig ? sig : NULL, p->body, p->len, on_reply,
                                l) != 0) {
        free(l);
        set_reply(wsi, p, 503, "text/plain", "", 0);
    }
    if (p->body) {
        sodium_memzero(p->body, p->len); /* patient data */
        free(p->body);
        p->body = NULL;
    }
    p->len = p->cap = 0;
}

static int write_reply(struct lws *wsi, wpss *p)
{
    unsigned char hdr[LWS_PRE + 512], *start = hdr + LWS_PRE, *q = start,
                                      *end = hdr + sizeof hdr - 1;
    if (lws_add_http_common_headers(wsi, (unsigned)p->status, p->ctype, (lws_filepos_t)p->resp_len,
                                    &q, end) ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
                                    (const unsigned char *)"no-store", 8, &q, end) ||
        lws_add_http_header_by_name(wsi, (const unsigned char *)"x-content-type-options:",
                                    (const unsigned char *)"nosniff", 7, &q, end) ||
        (p->close_after &&
         lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION, (const unsigned char *)"close",
                                      5, &q, end)) ||
        lws_finalize_write_http_header(wsi, start, &q, end))
        return -1;
    unsigned char *b = malloc(LWS_PRE + p->resp_len + 1);
    if (!b)
        abort();
    memcpy(b + LWS_PRE, p->resp, p->resp_len);
    int n = lws_write(wsi, b + LWS_PRE, p->resp_len, LWS_WRITE_HTTP_FINAL);
    free(b);
    free(p->resp);
    p->resp = NULL;
    p->resp_ready = false;
    if (n < (int)p->resp_len)
        return -1;
    if (p->close_after) {
        p->answered = true;
        return gw_http_linger(wsi, p->body_done, &p->shut);
    }
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int on_body(wpss *p, const void *in, size_t len)
{
    if (p->over || p->len + len > GW_META_MAX_BODY) {
        p->over = true;
        return 0;
    }
    if (p->len + len > p->cap) {
        size_t nc = p->cap ? p->cap * 2 : 16384;
        while (nc < p->len + len)
            nc *= 2;
        if (nc > GW_META_MAX_BODY)
            nc = GW_META_MAX_BODY;
        uint8_t *nb = malloc(nc);
        if (!nb)
            abort();
        if (p->body) {
            memcpy(nb, p->body, p->len);
            sodium_memzero(p->body, p->len);
            free(p->body);
        }
        p->body = nb;
        p->cap = nc;
    }
    memcpy(p->body + p->len, in, len);
    p->len += len;
    return 0;
}

static void reply_now(struct lws *wsi, wpss *p, int status)
{
    set_reply(wsi, p, status, "text/plain", "", 0);
}

static int meta_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len)
{
    wpss *p = user;
    const struct lws_protocols *proto = lws_get_protocol(wsi);
    gw_meta *m = proto ? proto->user : NULL;
    switch (reason) {
    case LWS_CALLBACK_HTTP: {
        memset(p, 0, sizeof *p);
        p->post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
        char cl[32] = "";
        bool has_body = p->post &&
                        lws_hdr_copy(wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0 &&
                        strtoull(cl, NULL, 10) > 0;
        unsigned long long announced = has_body ? strtoull(cl, NULL, 10) : 0;
        p->drain = announced < META_LINGER_MAX ? (size_t)announced : META_LINGER_MAX;
        if (announced > GW_META_MAX_BODY) {
            p->close_after = true;
            reply_now(wsi, p, 413); /* refuse before reading 4 MiB of it */
            return 0;
        }
        if (!m || m->app->draining) {
            p->close_after = has_body;
            reply_now(wsi, p, 503);
            return 0;
        }
        if (!p->post)
            start_request(m, wsi, p, "GET");
        return 0;
    }
    case LWS_CALLBACK_HTTP_BODY:
        if (p->close_after) { /* answered already: drop it, within bounds */
            p->dropped += len;
            return p->dropped > p->drain ? -1 : 0;
        }
        return p->resp_ready ? 0 : on_body(p, in, len);
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        if (p->close_after) {
            p->body_done = true;
            return p->answered ? -1 : 0; /* not yet written: write_reply closes after it */
        }
        if (p->resp_ready || p->link)
            return 0;
        if (p->over) {
            reply_now(wsi, p, 413);
            return 0;
        }
        start_request(m, wsi, p, "POST");
        return 0;
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (p && p->resp_ready)
            return write_reply(wsi, p);
        return p && p->close_after && p->answered ? gw_http_linger(wsi, p->body_done, &p->shut)
                                                   : 0;
    case LWS_CALLBACK_CLOSED_HTTP:
        if (p) {
            if (p->link)
                p->link->p = NULL;
            p->link = NULL;
            if (p->body) {
                sodium_memzero(p->body, p->len);
                free(p->body);
                p->body = NULL;
            }
            free(p->resp);
            p->resp = NULL;
        }
        return 0;
    default: return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

static struct lws_protocols meta_protocol;

const struct lws_protocols *gw_meta_protocol(gw_meta *m)
{
    meta_protocol =
        (struct lws_protocols){GW_META_PROTOCOL, meta_callback, sizeof(wpss), 0, 0, m, 0};
    return &meta_protocol;
}

static const struct lws_http_mount meta_mount = {
    .mountpoint = GW_META_PATH,
    .mountpoint_len = sizeof GW_META_PATH - 1,
    .origin = GW_META_PROTOCOL,
    .origin_protocol = LWSMPRO_CALLBACK,
};

const struct lws_http_mount *gw_meta_mount(void)
{
    return &meta_mount;
}
