/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The outbox worker (see gw_outbox.h): enqueue scan, SKIP LOCKED claims, pacing, and
 * the Send API over libcurl's multi-socket interface on the libuv loop.
 *
 * curl on libuv follows curl's docs/examples/multi-uv.c in shape, without its shortcuts:
 * no globals (the multi handle and timer live in gw_outbox), every allocation checked,
 * poll errors passed to curl as CURL_CSELECT_ERR, socket contexts released through
 * uv_close callbacks, and the timer callback never calls curl_multi_socket_action
 * re-entrantly (it only arms the uv timer).
 *
 * One tick (after a kick, and every second) runs three statements in sequence: lease
 * maintenance ('sending' past its lease -> 'uncertain'; 'uncertain' past its wait ->
 * failed), the enqueue scan, and a claim. A tick never overlaps another; kicks during
 * a tick schedule one more.
 *
 * Request bodies exist in plain text only in memory, between opening the sealed row and
 * the end of the transfer, and are wiped afterwards. Tokens are read from their files
 * per send (they are rotated out of band) and wiped. Nothing is logged but ids, classes
 * and error codes.
 */
#include "gw_outbox.h"
#include "gw_log.h"
#include "gw_meta_parse.h"
#include "gw_store.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TICK_MS 1000
#define CLAIM_MAX 16
#define RESP_MAX (256 * 1024)
#define SCAN_MAX 50
#define HASH_HEX (2 * GW_BRIDGEKEY_HASH_BYTES)

typedef struct bucket {
    struct bucket *next;
    char key[GW_UUID_LEN + HASH_HEX + 2];
    double tokens;
    uint64_t at_ms;
} bucket;

struct gw_outbox {
    gw_app *app;
    const gw_bridgekey *key;
    CURLM *multi;
    uv_timer_t curl_timer;
    uv_timer_t tick;
    bool started, stopping, ticking, again;
    size_t db_inflight, transfers;
    bucket *buckets;
    struct xfer *active; /* transfers attached to the multi handle */
};

typedef struct {
    uv_poll_t poll;
    curl_socket_t fd;
    gw_outbox *o;
} sockctx;

typedef struct xfer {
    struct xfer *next, *prev;
    gw_outbox *o;
    CURL *easy;
    struct curl_slist *hdrs;
    char id[GW_UUID_LEN + 1];
    char chan[GW_UUID_LEN + 1];
    gw_meta_platform platform;
    int attempts;
    char *body;
    size_t body_len;
    char *resp;
    size_t resp_len;
    bool resp_over;
    long regain_s;
    char errbuf[CURL_ERROR_SIZE];
} xfer;

static void tick_start(gw_outbox *o);
static void tick_next(gw_outbox *o);

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz ? sz : 1);
    if (!p)
        abort();
    return p;
}

/* ---- pacing --------------------------------------------------------------------------- */

/* Token bucket keyed by channel (key = channel id) or channel+recipient. Returns 0 when a
 * token was taken, else the milliseconds until one is available. */
static uint64_t bucket_take(gw_outbox *o, const char *key, double rate_per_ms, double burst)
{
    uint64_t now = uv_now(o->app->loop);
    bucket *b;
    for (b = o->buckets; b; b = b->next)
        if (strcmp(b->key, key) == 0)
            break;
    if (!b) {
        b = xcalloc(1, sizeof *b);
        snprintf(b->key, sizeof b->key, "%s", key);
        b->tokens = burst;
        b->at_ms = now;
        b->next = o->buckets;
        o->buckets = b;
    }
    if (rate_per_ms > 0) {
        b->tokens += (double)(now - b->at_ms) * rate_per_ms;
        if (b->tokens > burst)
            b->tokens = burst;
    } else {
        b->tokens = burst;
    }
    b->at_ms = now;
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
        return 0;
    }
    return (uint64_t)((1.0 - b->tokens) / rate_per_ms) + 1;
}

/* ---- results ---------------------------------------------------------------------------- */

static void result_done(void *arg, gw_db_status st, PGresult *res, const char *sqlstate,
                        const char *errmsg)
{
    gw_outbox *o = arg;
    (void)errmsg;
    o->db_inflight--;
    if (st != GW_DB_OK)
        gw_warn("outbox", "result not recorded: status=%d sqlstate=%s (lease will expire)", (int)st,
                sqlstate ? sqlstate : "");
    else if (PQntuples(res) == 1)
        gw_debug("outbox", "result: %s", PQgetvalue(res, 0, 0));
    tick_start(o);
}

static void record(gw_outbox *o, const char *id, const char *outcome, double delay_s,
                   const char *cls, long code, const char *hash_hex)
{
    char d[32], c[24], w[24], hx[HASH_HEX + 3];
    snprintf(d, sizeof d, "%.3f", delay_s);
    snprintf(c, sizeof c, "%ld", code);
    snprintf(w, sizeof w, "%ld", o->app->cfg->meta_uncertain_wait_s);
    if (hash_hex)
        snprintf(hx, sizeof hx, "\\x%s", hash_hex);
    const char *vals[7] = {id, outcome, d, cls, c, hash_hex ? hx : NULL, w};
    gw_db_params p = {vals, NULL, NULL, 7};
    o->db_inflight++;
    if (gw_db_query(o->app->db,
                    "SELECT bridge_outbox_result($1::uuid, $2, $3::double precision, $4, "
                    "$5::integer, $6::bytea, $7::integer)",
                    &p, false, result_done, o) != 0)
        o->db_inflight--;
}

static double backoff(int attempt, double base, double factor, double cap)
{
    double d = base;
    for (int i = 1; i < attempt && d < cap; i++)
        d *= factor;
    if (d > cap)
        d = cap;
    /* full jitter (§7.2), but never below a tenth so a storm cannot form */
    double j = (double)randombytes_uniform(1000) / 1000.0;
    return d * (0.1 + 0.9 * j);
}

static void xfer_unlink(gw_outbox *o, xfer *x)
{
    if (x->prev)
        x->prev->next = x->next;
    else if (o->active == x)
        o->active = x->next;
    if (x->next)
        x->next->prev = x->prev;
    x->next = x->prev = NULL;
}

static void xfer_free(xfer *x)
{
    if (x->body) {
        sodium_memzero(x->body, x->body_len);
        free(x->body);
    }
    if (x->resp) {
        sodium_memzero(x->resp, x->resp_len);
        free(x->resp);
    }
    curl_slist_free_all(x->hdrs); /* holds the Authorization header */
    free(x);
}

static void classify_done(gw_outbox *o, xfer *x, CURLcode cc, long http)
{
    const gw_config *cfg = o->app->cfg;
    if (cc != CURLE_OK) {
        /* §7.3: before the connection existed nothing can have been sent: retry. After
         * that, the platform may have accepted it: uncertain, matched by webhook later. */
        bool not_sent = cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
                        cc == CURLE_COULDNT_RESOLVE_PROXY;
        gw_info("outbox", "send %s: transport error %d -> %s", x->id, (int)cc,
                not_sent ? "retry" : "uncertain");
        if (not_sent)
            record(o, x->id, "retry", backoff(x->attempts, 2, 2, 600), "transport", 0, NULL);
        else
            record(o, x->id, "uncertain", 0, "transport", 0, NULL);
        return;
    }
    gw_meta_send_result r;
    int prc = gw_meta_parse_send_response(x->platform, http, x->resp, x->resp_len, &r);
    if (r.ok && http >= 200 && http < 300) {
        char hx[HASH_HEX + 1] = "";
        const char *h = NULL;
        if (r.msg_id[0]) {
            uint8_t hash[GW_BRIDGEKEY_HASH_BYTES];
            char dom[40];
            snprintf(dom, sizeof dom, "%s-msg", gw_meta_platform_name(x->platform));
            gw_bridgekey_hash(o->key, dom, r.msg_id, strlen(r.msg_id), hash);
            sodium_bin2hex(hx, sizeof hx, hash, sizeof hash);
            h = hx;
        }
        gw_info("outbox", "send %s: accepted (http %ld)", x->id, http);
        record(o, x->id, "sent", 0, "ok", 0, h);
        return;
    }
    if (prc != 0) {
        /* no Graph error envelope: judge by transport status */
        const char *out = http >= 500 ? "retry" : http == 429 ? "throttle" : "fail";
        gw_info("outbox", "send %s: http %ld without error body -> %s", x->id, http, out);
        record(o, x->id, out,
               http == 429 ? backoff(x->attempts, 1, 2, 900) : backoff(x->attempts, 2, 2, 600),
               http >= 500   ? "retry"
               : http == 429 ? "throttle"
                             : "permanent",
               0, NULL);
        return;
    }
    gw_meta_class c = gw_meta_classify(x->platform, r.code, r.subcode);
    gw_info("outbox", "send %s: error code=%ld subcode=%ld class=%s (http %ld)", x->id, r.code,
            r.subcode, gw_meta_class_name(c), http);
    double regain = x->regain_s > 0 ? (double)x->regain_s : 0;
    switch (c) {
    case GW_META_CLASS_RETRY:
        record(o, x->id, "retry", backoff(x->attempts, 2, 2, 600), "retry", r.code, NULL);
        break;
    case GW_META_CLASS_THROTTLE: {
        double d = backoff(x->attempts, 1, 2, 900);
        record(o, x->id, "throttle", regain > d ? regain : d, "throttle", r.code, NULL);
        break;
    }
    case GW_META_CLASS_THROTTLE_RECIPIENT:
        /* Meta's advice for 131056: retry after 4^X seconds */
        record(o, x->id, "throttle_recipient", backoff(x->attempts, 4, 4, 900) + 1,
               "throttle_recipient", r.code, NULL);
        break;
    case GW_META_CLASS_AUTH: record(o, x->id, "stop", 60, "auth", r.code, NULL); break;
    case GW_META_CLASS_CONFIG: record(o, x->id, "stop", 60, "config", r.code, NULL); break;
    case GW_META_CLASS_PAUSE: record(o, x->id, "stop", 60, "pause", r.code, NULL); break;
    case GW_META_CLASS_WINDOW: record(o, x->id, "fail", 0, "window", r.code, NULL); break;
    default: record(o, x->id, "fail", 0, "permanent", r.code, NULL); break;
    }
    (void)cfg;
}

static void check_done(gw_outbox *o)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(o->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *e = msg->easy_handle;
        CURLcode cc = msg->data.result;
        xfer *x = NULL;
        long http = 0;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&x);
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &http);
        curl_multi_remove_handle(o->multi, e);
        curl_easy_cleanup(e);
        o->transfers--;
        if (x) {
            xfer_unlink(o, x);
            if (!o->stopping)
                classify_done(o, x, cc, http);
            xfer_free(x);
        }
    }
}

/* ---- curl on libuv ----------------------------------------------------------------------- */

static void sock_closed(uv_handle_t *h)
{
    free(h->data);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    sockctx *c = h->data;
    gw_outbox *o = c->o;
    int flags = 0, running = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    else {
        if (events & UV_READABLE)
            flags |= CURL_CSELECT_IN;
        if (events & UV_WRITABLE)
            flags |= CURL_CSELECT_OUT;
    }
    curl_multi_socket_action(o->multi, c->fd, flags, &running);
    check_done(o);
}

static int sock_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
    gw_outbox *o = userp;
    sockctx *c = socketp;
    (void)e;
    if (what == CURL_POLL_REMOVE) {
        if (c) {
            uv_poll_stop(&c->poll);
            curl_multi_assign(o->multi, s, NULL);
            uv_close((uv_handle_t *)&c->poll, sock_closed);
        }
        return 0;
    }
    if (!c) {
        c = xcalloc(1, sizeof *c);
        c->o = o;
        c->fd = s;
        if (uv_poll_init_socket(o->app->loop, &c->poll, s) != 0) {
            free(c);
            return -1;
        }
        c->poll.data = c;
        curl_multi_assign(o->multi, s, c);
    }
    int ev = 0;
    if (what & CURL_POLL_IN)
        ev |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        ev |= UV_WRITABLE;
    return uv_poll_start(&c->poll, ev, on_poll) == 0 ? 0 : -1;
}

static void on_curl_timeout(uv_timer_t *t)
{
    gw_outbox *o = t->data;
    int running = 0;
    curl_multi_socket_action(o->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(o);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    gw_outbox *o = userp;
    (void)multi;
    if (timeout_ms < 0)
        uv_timer_stop(&o->curl_timer);
    else /* 0 means "as soon as possible": a 0 ms uv timer, never a re-entrant call */
        uv_timer_start(&o->curl_timer, on_curl_timeout, (uint64_t)timeout_ms, 0);
    return 0;
}

static size_t on_write(char *ptr, size_t size, size_t n, void *ud)
{
    xfer *x = ud;
    size_t len = size * n;
    if (x->resp_over || x->resp_len + len > RESP_MAX) {
        x->resp_over = true;
        return len; /* keep reading, ignore the rest */
    }
    char *nb = realloc(x->resp, x->resp_len + len + 1);
    if (!nb)
        abort();
    x->resp = nb;
    memcpy(x->resp + x->resp_len, ptr, len);
    x->resp_len += len;
    x->resp[x->resp_len] = '\0';
    return len;
}

/* X-Business-Use-Case-Usage: honour estimated_time_to_regain_access (minutes, §7.1). */
static size_t on_header(char *buf, size_t size, size_t n, void *ud)
{
    xfer *x = ud;
    size_t len = size * n;
    static const char name[] = "x-business-use-case-usage:";
    if (len > sizeof name && strncasecmp(buf, name, sizeof name - 1) == 0) {
        char tmp[2048];
        size_t l = len < sizeof tmp - 1 ? len : sizeof tmp - 1;
        memcpy(tmp, buf, l);
        tmp[l] = '\0';
        const char *k = strstr(tmp, "\"estimated_time_to_regain_access\":");
        if (k) {
            long mins = strtol(k + 34, NULL, 10);
            if (mins > 0 && mins < 24 * 60)
                x->regain_s = mins * 60;
        }
    }
    return len;
}

/* ---- sending --------------------------------------------------------------------------- */

static char *read_token(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    char buf[4097];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) {
        sodium_memzero(buf, sizeof buf);
        return NULL;
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        n--;
    buf[n] = '\0';
    for (ssize_t i = 0; i < n; i++)
        if ((unsigned char)buf[i] < 0x21 || (unsigned char)buf[i] > 0x7e) {
            sodium_memzero(buf, sizeof buf);
            return NULL; /* a header injection or a binary file: refuse */
        }
    char *t = n > 0 ? strdup(buf) : NULL;
    sodium_memzero(buf, sizeof buf);
    return t;
}

static int start_transfer(gw_outbox *o, xfer *x, const char *url, const char *token)
{
    CURL *e = curl_easy_init();
    if (!e)
        return -1;
    size_t al = strlen(token) + 32;
    char *auth = malloc(al);
    if (!auth)
        abort();
    snprintf(auth, al, "Authorization: Bearer %s", token);
    x->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    x->hdrs = curl_slist_append(x->hdrs, auth);
    x->hdrs = curl_slist_append(x->hdrs, "Expect:");
    sodium_memzero(auth, strlen(auth));
    free(auth);
    if (!x->hdrs) {
        curl_easy_cleanup(e);
        return -1;
    }
    x->easy = e;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)x->body_len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, o->app->cfg->meta_send_timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_USERAGENT, "caregate/" GW_VERSION);
    if (curl_multi_add_handle(o->multi, e) != CURLM_OK) {
        curl_easy_cleanup(e);
        x->easy = NULL;
        return -1;
    }
    o->transfers++;
    x->next = o->active;
    if (o->active)
        o->active->prev = x;
    o->active = x;
    return 0;
}

/* One claimed row: columns of SQL_CLAIM. */
static void send_row(gw_outbox *o, PGresult *res, int r)
{
    const gw_config *cfg = o->app->cfg;
    xfer *x = xcalloc(1, sizeof *x);
    x->o = o;
    snprintf(x->id, sizeof x->id, "%s", PQgetvalue(res, r, 0));
    snprintf(x->chan, sizeof x->chan, "%s", PQgetvalue(res, r, 1));
    x->platform = gw_meta_platform_parse(PQgetvalue(res, r, 2));
    const char *account = PQgetvalue(res, r, 3);
    const char *pnid = PQgetvalue(res, r, 4);
    const char *token_file = PQgetvalue(res, r, 5);
    const char *enc_hex = PQgetvalue(res, r, 6);
    x->attempts = atoi(PQgetvalue(res, r, 7));
    const char *rcpt = PQgetvalue(res, r, 8);

    /* pacing: per channel (throughput) and per recipient (WhatsApp pair limit) */
    char key[sizeof((bucket *)0)->key];
    uint64_t wait = bucket_take(o, x->chan, (double)cfg->meta_channel_rate_per_s / 1000.0,
                                (double)cfg->meta_channel_rate_per_s);
    if (wait == 0) {
        snprintf(key, sizeof key, "%s/%s", x->chan, rcpt);
        wait = bucket_take(
            o, key,
            cfg->meta_recipient_interval_ms > 0 ? 1.0 / (double)cfg->meta_recipient_interval_ms : 0,
            (double)cfg->meta_recipient_burst);
    }
    if (wait > 0) {
        record(o, x->id, "throttle_recipient", (double)wait / 1000.0, "paced", 0, NULL);
        xfer_free(x);
        return;
    }
    size_t enc_len = strlen(enc_hex) / 2, bl = 0;
    uint8_t *enc = malloc(enc_len + 1);
    if (!enc)
        abort();
    char aad[64];
    snprintf(aad, sizeof aad, "caregate.outbox.v1:%s", x->id);
    if (sodium_hex2bin(enc, enc_len, enc_hex, strlen(enc_hex), NULL, &bl, NULL) != 0 ||
        !(x->body = gw_bridgekey_open(o->key, aad, enc, bl, &x->body_len))) {
        free(enc);
        gw_err("outbox", "send %s: sealed request does not open (bridge key changed?)", x->id);
        record(o, x->id, "fail", 0, "sealed", 0, NULL);
        xfer_free(x);
        return;
    }
    free(enc);
    char *token = read_token(token_file);
    if (!token) {
        gw_err("outbox", "channel %s: token file unreadable: channel stopped", x->chan);
        record(o, x->id, "stop", 60, "auth", 0, NULL);
        xfer_free(x);
        return;
    }
    /* §4.1, §5.2, §6.2: WhatsApp by phone number id, Messenger by Page, Instagram via
     * /me (the Page token of the Facebook-Login flavour, or an IG-Login token) */
    char url[1024];
    const char *id = x->platform == GW_META_WHATSAPP    ? pnid
                     : x->platform == GW_META_MESSENGER ? account
                                                        : "me";
    snprintf(url, sizeof url, "%s/%s/%s/messages", cfg->meta_graph_base_url,
             cfg->meta_graph_version, id);
    int rc = start_transfer(o, x, url, token);
    sodium_memzero(token, strlen(token));
    free(token);
    if (rc != 0) {
        record(o, x->id, "retry", 5, "transport", 0, NULL);
        xfer_free(x);
        return;
    }
    gw_debug("outbox", "send %s: started (attempt %d)", x->id, x->attempts);
}

/* ---- claim ----------------------------------------------------------------------------- */

static const char SQL_CLAIM[] =
    "WITH c AS (SELECT o.id FROM outbox o JOIN channel ch ON ch.id = o.channel_id "
    " WHERE o.state = 'queued' AND o.next_at <= now() AND ch.removed_at IS NULL "
    "   AND ch.state = 'active' AND (ch.throttled_until IS NULL OR ch.throttled_until <= now()) "
    "   AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.channel_id = o.channel_id "
    "        AND p.recipient_hash = o.recipient_hash AND (p.state IN ('sending', 'uncertain') "
    "        OR (p.state = 'queued' AND p.created_at < o.created_at))) "
    " ORDER BY o.created_at LIMIT $1 FOR UPDATE OF o SKIP LOCKED) "
    "UPDATE outbox o SET state = 'sending', attempts = o.attempts + 1, updated_at = now(), "
    "       lease_until = now() + make_interval(secs => $2::double precision) "
    "  FROM c, channel ch WHERE o.id = c.id AND ch.id = o.channel_id "
    "RETURNING o.id, o.channel_id, ch.platform, ch.account_id, coalesce(ch.phone_number_id, ''), "
    "          ch.token_file, encode(o.request_enc, 'hex'), o.attempts, "
    "          encode(o.recipient_hash, 'hex')";

static void claim_done(void *arg, gw_db_status st, PGresult *res, const char *sqlstate,
                       const char *errmsg)
{
    gw_outbox *o = arg;
    (void)errmsg;
    o->db_inflight--;
    if (st != GW_DB_OK) {
        gw_warn("outbox", "claim failed: status=%d sqlstate=%s", (int)st, sqlstate ? sqlstate : "");
    } else if (!o->stopping) {
        for (int r = 0; r < PQntuples(res); r++)
            send_row(o, res, r);
    }
    tick_next(o);
}

static void claim(gw_outbox *o)
{
    size_t room = o->transfers >= CLAIM_MAX ? 0 : CLAIM_MAX - o->transfers;
    if (room == 0 || o->stopping) {
        tick_next(o);
        return;
    }
    char lim[16], lease[32];
    snprintf(lim, sizeof lim, "%zu", room);
    /* the lease outlives the transfer's own timeout, so only a dead process leaves a row
     * 'sending' past it */
    snprintf(lease, sizeof lease, "%.3f", (double)o->app->cfg->meta_send_timeout_ms / 1000.0 + 2.0);
    const char *vals[2] = {lim, lease};
    gw_db_params p = {vals, NULL, NULL, 2};
    o->db_inflight++;
    if (gw_db_query(o->app->db, SQL_CLAIM, &p, false, claim_done, o) != 0) {
        o->db_inflight--;
        tick_next(o);
    }
}

/* ---- enqueue scan ------------------------------------------------------------------------ */

typedef struct {
    gw_outbox *o;
    char msg[GW_UUID_LEN + 1], conv[GW_UUID_LEN + 1], chan[GW_UUID_LEN + 1];
    gw_meta_platform platform;
    bool human, human_agent, template_only;
    int64_t last_user_ms, now_ms;
    char user_hex[HASH_HEX + 1];
    uint8_t *addr_enc;
    size_t addr_len;
} enq;

static void enq_free(enq *q)
{
    free(q->addr_enc);
    free(q);
}

static void insert_done(void *arg, gw_db_status st, PGresult *res, const char *sqlstate,
                        const char *errmsg)
{
    gw_outbox *o = arg;
    (void)res;
    (void)errmsg;
    o->db_inflight--;
    if (st != GW_DB_OK)
        gw_warn("outbox", "enqueue failed: status=%d sqlstate=%s", (int)st,
                sqlstate ? sqlstate : "");
    tick_start(o);
}

static void insert_row(gw_outbox *o, const enq *q, const char *id, const char *state,
                       const char *cls, const uint8_t *sealed, size_t sealed_len)
{
    char *enc = NULL;
    if (sealed) {
        enc = malloc(2 * sealed_len + 3);
        if (!enc)
            abort();
        enc[0] = '\\';
        enc[1] = 'x';
        sodium_bin2hex(enc + 2, 2 * sealed_len + 1, sealed, sealed_len);
    }
    char rh[HASH_HEX + 3];
    snprintf(rh, sizeof rh, "\\x%s", q->user_hex);
    const char *vals[8] = {id, q->chan, q->conv, q->msg, rh, enc, state, cls};
    gw_db_params p = {vals, NULL, NULL, 8};
    o->db_inflight++;
    if (gw_db_query(o->app->db,
                    "WITH o AS (INSERT INTO outbox (id, channel_id, conversation_id, message_id, "
                    "recipient_hash, request_enc, state, error_class) VALUES ($1::uuid, $2::uuid, "
                    "$3::uuid, $4::uuid, $5::bytea, $6::bytea, $7, $8) ON CONFLICT (message_id) "
                    "WHERE message_id IS NOT NULL DO NOTHING RETURNING message_id, state, "
                    "conversation_id), f AS (UPDATE message m SET delivery = 'failed' FROM o "
                    "WHERE m.id = o.message_id AND o.state = 'failed' RETURNING m.conversation_id) "
                    "SELECT (SELECT count(*) FROM o), (SELECT count(pg_notify('caregate_conv', "
                    "json_build_object('c', f.conversation_id, 'e', 'delivery')::text)) FROM f)",
                    &p, false, insert_done, o) != 0)
        o->db_inflight--;
    free(enc);
}

static void uuid_text(char out[GW_UUID_LEN + 1])
{
    uint8_t r[16];
    char h[33];
    randombytes_buf(r, sizeof r);
    r[6] = (uint8_t)((r[6] & 0x0f) | 0x40);
    r[8] = (uint8_t)((r[8] & 0x3f) | 0x80);
    sodium_bin2hex(h, sizeof h, r, sizeof r);
    snprintf(out, GW_UUID_LEN + 1, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
}

static void fetched(void *arg, int status, const gw_msg *msgs, size_t n)
{
    enq *q = arg;
    gw_outbox *o = q->o;
    o->db_inflight--;
    if (status != GW_STORE_OK || n != 1 || o->stopping) {
        if (status != GW_STORE_OK)
            gw_warn("outbox", "message %s not readable for sending: status=%d", q->msg, status);
        enq_free(q);
        tick_start(o);
        return;
    }
    const gw_msg *m = &msgs[0];
    char id[GW_UUID_LEN + 1];
    uuid_text(id);
    gw_meta_window w =
        gw_meta_window_at(q->platform, q->last_user_ms, q->now_ms, q->human_agent, q->human, NULL);
    if (q->template_only && q->platform == GW_META_WHATSAPP)
        w = GW_META_WIN_TEMPLATE;
    /* a staff "reengage" frame: the configured no-PHI template, allowed in any window */
    bool tmpl = q->platform == GW_META_WHATSAPP && q->human && m->client_id &&
                strncmp(m->client_id, "reengage:", 9) == 0 && *o->app->cfg->meta_wa_template;
    if (!tmpl && (w == GW_META_WIN_TEMPLATE || w == GW_META_WIN_CLOSED)) {
        gw_info("outbox", "message %s: window closed, not sent", q->msg);
        insert_row(o, q, id, "failed", "window", NULL, 0);
        enq_free(q);
        return;
    }
    if (!tmpl && !gw_meta_text_fits(q->platform, m->text, m->text_len)) {
        insert_row(o, q, id, "failed", "too_large", NULL, 0);
        enq_free(q);
        return;
    }
    char aad[200];
    snprintf(aad, sizeof aad, "caregate.addr.v1:%s:%s", q->chan, q->user_hex);
    size_t alen = 0;
    char *addr = gw_bridgekey_open(o->key, aad, q->addr_enc, q->addr_len, &alen);
    if (!addr) {
        gw_err("outbox", "message %s: reply address does not open", q->msg);
        insert_row(o, q, id, "failed", "sealed", NULL, 0);
        enq_free(q);
        return;
    }
    char *body = tmpl ? gw_meta_build_template(addr, o->app->cfg->meta_wa_template,
                                               o->app->cfg->meta_wa_template_lang, id)
                      : gw_meta_build_text(q->platform, addr, m->text, m->text_len, id,
                                           w == GW_META_WIN_HUMAN_AGENT ? GW_META_TAG_HUMAN_AGENT
                                                                        : GW_META_TAG_NONE);
    sodium_memzero(addr, alen);
    free(addr);
    if (!body) {
        insert_row(o, q, id, "failed", "permanent", NULL, 0);
        enq_free(q);
        return;
    }
    snprintf(aad, sizeof aad, "caregate.outbox.v1:%s", id);
    size_t sl = 0, bl = strlen(body);
    uint8_t *sealed = gw_bridgekey_seal(o->key, aad, body, bl, &sl);
    sodium_memzero(body, bl);
    free(body);
    insert_row(o, q, id, "queued", NULL, sealed, sl);
    free(sealed);
    enq_free(q);
}

static const char SQL_SCAN[] =
    "SELECT m.id, m.conversation_id, m.sender, bc.channel_id, ch.platform, ch.human_agent, "
    "       bc.template_only, (extract(epoch FROM bc.last_user_at) * 1000)::bigint, "
    "       encode(bc.address_enc, 'hex'), encode(ct.platform_hash, 'hex'), "
    "       (extract(epoch FROM now()) * 1000)::bigint "
    "  FROM message m JOIN bridge_conversation bc ON bc.conversation_id = m.conversation_id "
    "  JOIN channel ch ON ch.id = bc.channel_id JOIN contact ct ON ct.id = bc.contact_id "
    " WHERE m.sender IN ('staff', 'system') AND m.kind = 'text' AND m.delivery = 'stored' "
    "   AND m.created_at > now() - interval '8 days' AND ch.removed_at IS NULL "
    "   AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.message_id = m.id) "
    " ORDER BY m.created_at LIMIT "
    "50";

static void scan_done(void *arg, gw_db_status st, PGresult *res, const char *sqlstate,
                      const char *errmsg)
{
    gw_outbox *o = arg;
    (void)errmsg;
    o->db_inflight--;
    if (st != GW_DB_OK) {
        gw_warn("outbox", "scan failed: status=%d sqlstate=%s", (int)st, sqlstate ? sqlstate : "");
    } else if (!o->stopping) {
        for (int r = 0; r < PQntuples(res); r++) {
            enq *q = xcalloc(1, sizeof *q);
            q->o = o;
            snprintf(q->msg, sizeof q->msg, "%s", PQgetvalue(res, r, 0));
            snprintf(q->conv, sizeof q->conv, "%s", PQgetvalue(res, r, 1));
            q->human = strcmp(PQgetvalue(res, r, 2), "staff") == 0;
            snprintf(q->chan, sizeof q->chan, "%s", PQgetvalue(res, r, 3));
            q->platform = gw_meta_platform_parse(PQgetvalue(res, r, 4));
            q->human_agent = PQgetvalue(res, r, 5)[0] == 't';
            q->template_only = PQgetvalue(res, r, 6)[0] == 't';
            q->last_user_ms = strtoll(PQgetvalue(res, r, 7), NULL, 10);
            const char *ah = PQgetvalue(res, r, 8);
            snprintf(q->user_hex, sizeof q->user_hex, "%s", PQgetvalue(res, r, 9));
            q->now_ms = strtoll(PQgetvalue(res, r, 10), NULL, 10);
            q->addr_enc = malloc(strlen(ah) / 2 + 1);
            if (!q->addr_enc)
                abort();
            if (sodium_hex2bin(q->addr_enc, strlen(ah) / 2 + 1, ah, strlen(ah), NULL, &q->addr_len,
                               NULL) != 0) {
                enq_free(q);
                continue;
            }
            o->db_inflight++;
            if (gw_store_fetch(o->app->store, q->conv, q->msg, fetched, q) != 0) {
                o->db_inflight--;
                enq_free(q);
            }
        }
    }
    claim(o);
}

static void scan(gw_outbox *o)
{
    o->db_inflight++;
    if (gw_db_query(o->app->db, SQL_SCAN, NULL, false, scan_done, o) != 0) {
        o->db_inflight--;
        tick_next(o);
    }
}

/* ---- tick -------------------------------------------------------------------------------- */

static void maint_done(void *arg, gw_db_status st, PGresult *res, const char *sqlstate,
                       const char *errmsg)
{
    gw_outbox *o = arg;
    (void)errmsg;
    o->db_inflight--;
    if (st != GW_DB_OK) {
        gw_warn("outbox", "lease maintenance failed: status=%d sqlstate=%s", (int)st,
                sqlstate ? sqlstate : "");
        tick_next(o);
        return;
    }
    if (PQntuples(res) == 1 && (atoi(PQgetvalue(res, 0, 0)) || atoi(PQgetvalue(res, 0, 1))))
        gw_info("outbox", "leases: %s send(s) now uncertain, %s uncertain send(s) failed",
                PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
    if (o->stopping) {
        tick_next(o);
        return;
    }
    scan(o);
}

static void maintain(gw_outbox *o)
{
    char wait[24];
    snprintf(wait, sizeof wait, "%ld", o->app->cfg->meta_uncertain_wait_s);
    const char *vals[1] = {wait};
    gw_db_params p = {vals, NULL, NULL, 1};
    o->db_inflight++;
    if (gw_db_query(o->app->db,
                    "WITH a AS (UPDATE outbox SET state = 'uncertain', error_class = 'lease', "
                    "lease_until = now() + make_interval(secs => $1::integer), updated_at = now() "
                    "WHERE state = 'sending' AND lease_until < now() RETURNING id), "
                    "b AS (UPDATE outbox SET state = 'failed', error_class = 'uncertain', "
                    "request_enc = NULL, updated_at = now() WHERE state = 'uncertain' AND "
                    "lease_until < now() RETURNING message_id), "
                    "c AS (UPDATE message m SET delivery = 'failed' FROM b WHERE m.id = "
                    "b.message_id AND m.delivery = 'stored' RETURNING m.conversation_id) "
                    "SELECT (SELECT count(*) FROM a), (SELECT count(*) FROM b), (SELECT "
                    "count(pg_notify('caregate_conv', json_build_object('c', c.conversation_id, "
                    "'e', 'delivery')::text)) FROM c)",
                    &p, false, maint_done, o) != 0) {
        o->db_inflight--;
        tick_next(o);
    }
}

static void on_tick(uv_timer_t *t)
{
    gw_outbox *o = t->data;
    if (o->ticking || o->stopping)
        return;
    o->ticking = true;
    o->again = false;
    maintain(o);
}

/* End of one tick: run again at once when kicked meanwhile, else in TICK_MS. */
static void tick_next(gw_outbox *o)
{
    o->ticking = false;
    if (o->stopping)
        return;
    uv_timer_start(&o->tick, on_tick, o->again ? 0 : TICK_MS, 0);
}

static void tick_start(gw_outbox *o)
{
    if (o->stopping || !o->started)
        return;
    if (o->ticking) {
        o->again = true;
        return;
    }
    uv_timer_start(&o->tick, on_tick, 0, 0);
}

void gw_outbox_kick(gw_outbox *o)
{
    if (o)
        tick_start(o);
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

gw_outbox *gw_outbox_new(gw_app *app, const gw_bridgekey *key)
{
    if (!app || !key)
        return NULL;
    gw_outbox *o = xcalloc(1, sizeof *o);
    o->app = app;
    o->key = key;
    return o;
}

int gw_outbox_start(gw_outbox *o)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -1;
    o->multi = curl_multi_init();
    if (!o->multi)
        return -1;
    curl_multi_setopt(o->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
    curl_multi_setopt(o->multi, CURLMOPT_SOCKETDATA, o);
    curl_multi_setopt(o->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(o->multi, CURLMOPT_TIMERDATA, o);
    uv_timer_init(o->app->loop, &o->curl_timer);
    o->curl_timer.data = o;
    uv_timer_init(o->app->loop, &o->tick);
    o->tick.data = o;
    o->started = true;
    uv_timer_start(&o->tick, on_tick, 200, 0);
    return 0;
}

void gw_outbox_stop(gw_outbox *o)
{
    if (!o || o->stopping)
        return;
    o->stopping = true;
    if (!o->started)
        return;
    uv_timer_stop(&o->tick);
    uv_close((uv_handle_t *)&o->tick, NULL);
    /* In-flight transfers are abandoned: their rows stay 'sending' and become uncertain
     * when the lease runs out, exactly as after a crash (never resent blindly). Removing
     * the handles makes curl release its sockets through sock_cb (uv_close). */
    while (o->active) {
        xfer *x = o->active;
        xfer_unlink(o, x);
        curl_multi_remove_handle(o->multi, x->easy);
        curl_easy_cleanup(x->easy);
        o->transfers--;
        xfer_free(x);
    }
    curl_multi_cleanup(o->multi); /* closes cached connections, again via sock_cb */
    o->multi = NULL;
    uv_timer_stop(&o->curl_timer);
    uv_close((uv_handle_t *)&o->curl_timer, NULL);
}

void gw_outbox_free(gw_outbox *o)
{
    if (!o)
        return;
    for (bucket *b = o->buckets, *n; b; b = n) {
        n = b->next;
        free(b);
    }
    free(o);
}

size_t gw_outbox_pending(const gw_outbox *o)
{
    return o ? o->db_inflight + o->transfers : 0;
}
