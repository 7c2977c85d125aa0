/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gw_store: sealing, group commit, idempotency, data-key cache and patient sessions (see
 * gw_store.h). Everything runs on the loop thread through gw_db; the only CPU work done
 * inline is XChaCha20-Poly1305 of single messages, which is microseconds.
 *
 * Group commit: items are sealed as soon as their conversation key is at hand and then
 * wait in `queue`. When no batch is in flight the queue is flushed at once; while one is
 * in flight, arrivals accumulate and leave together when it returns. A batch that the
 * server rejects (for instance a conversation erased meanwhile) is retried item by item
 * so one bad item cannot fail its neighbours.
 *
 * What this file does not do: decide policy (redaction, blocking), frame protocol
 * messages, or route deliveries; the commit hook hands fresh messages to gw_fanout.
 */
#include "gw_store.h"
#include "gw_log.h"
#include "seal.h"

#include <assert.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_BUCKETS 256u
#define KEY_IDLE_MS 60000u      /* an unheld key is wiped after this long unused */
#define KEY_SWEEP_MS 15000u
#define TOKEN_BYTES 32u         /* 256-bit resume tokens */
#define HISTORY_LIMIT 200

/* ---- helpers ---------------------------------------------------------------------- */

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n, sz);
    if (!p)
        abort();
    return p;
}

static char *xstrdup(const char *s)
{
    if (!s)
        return NULL;
    char *p = strdup(s);
    if (!p)
        abort();
    return p;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool gw_uuid_valid(const char *s)
{
    if (!s || strlen(s) != GW_UUID_LEN)
        return false;
    for (int i = 0; i < GW_UUID_LEN; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return false;
        } else if (hexval((unsigned char)s[i]) < 0) {
            return false;
        }
    }
    return true;
}

/* 36-char UUID text to 16 bytes; the text must be gw_uuid_valid. */
static void uuid_raw(const char *s, uint8_t out[16])
{
    int j = 0;
    for (int i = 0; i < GW_UUID_LEN && j < 16; i++) {
        if (s[i] == '-')
            continue;
        out[j++] = (uint8_t)(hexval((unsigned char)s[i]) << 4 | hexval((unsigned char)s[i + 1]));
        i++;
    }
}

static void uuid_new(char out[GW_UUID_LEN + 1])
{
    uint8_t b[16];
    randombytes_buf(b, sizeof b);
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    snprintf(out, GW_UUID_LEN + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
}

/* PostgreSQL bytea text output ("\x0a0b…") or plain hex to bytes; returns length or -1. */
static long hex_decode(const char *s, uint8_t **out)
{
    if (s[0] == '\\' && s[1] == 'x')
        s += 2;
    size_t n = strlen(s);
    if (n % 2)
        return -1;
    uint8_t *b = xcalloc(n / 2 + 1, 1);
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval((unsigned char)s[2 * i]), lo = hexval((unsigned char)s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(b);
            return -1;
        }
        b[i] = (uint8_t)(hi << 4 | lo);
    }
    *out = b;
    return (long)(n / 2);
}

/* "\x" + hex, as bytea text input. */
static char *bytea_hex(const uint8_t *b, size_t n)
{
    char *s = xcalloc(2 * n + 3, 1);
    s[0] = '\\';
    s[1] = 'x';
    sodium_bin2hex(s + 2, 2 * n + 1, b, n);
    return s;
}

void gw_msg_clear(gw_msg *m)
{
    if (!m)
        return;
    if (m->text) {
        sodium_memzero(m->text, m->text_len);
        free(m->text);
    }
    free(m->client_id);
    free(m->author_alias);
    m->text = m->client_id = m->author_alias = NULL;
    m->text_len = 0;
}

static int map_db(gw_db_status s, const char *sqlstate)
{
    switch (s) {
    case GW_DB_OK:
        return GW_STORE_OK;
    case GW_DB_ERR_QUERY:
        if (sqlstate && strcmp(sqlstate, "23503") == 0)
            return GW_STORE_ERR_NOT_FOUND; /* foreign key: the conversation is gone */
        return GW_STORE_ERR_INTERNAL;
    default:
        return GW_STORE_ERR_UNAVAILABLE;
    }
}

/* ---- the store ---------------------------------------------------------------------- */

typedef struct kwait kwait;
typedef struct kent kent;
typedef struct pend pend;

struct gw_store {
    uv_loop_t *loop;
    gw_db *db;
    const gw_config *cfg;
    const seal_keyring *kr;
    char origin[17];
    bool stopped;
    size_t pending;           /* operations whose callback has not run yet */
    pend *q_head, *q_tail;    /* sealed, waiting for the next batch */
    size_t q_len;
    bool inflight;
    kent *keys[KEY_BUCKETS];
    uv_timer_t sweep;
    gw_store_commit_hook hook;
    void *hook_arg;
};

/* A conversation's data key in the cache. */
struct kwait {
    kwait *next;
    void (*fn)(gw_store *st, void *arg, int status, const seal_datakey *dk);
    void *arg;
};
struct kent {
    kent *next;
    char conv[GW_UUID_LEN + 1];
    uint8_t conv_raw[16];
    seal_datakey *dk;   /* NULL while loading or after a failed load */
    unsigned holders;
    uint64_t used_ms;
    bool loading;
    kwait *waiters;
};

/* One message on its way to the database. */
struct pend {
    pend *next;        /* queue / batch link */
    pend *dups;        /* later items with the same (conversation, client_id) in one batch */
    bool solo;         /* retry alone after a rejected batch */
    gw_store_append_cb cb;
    void *arg;
    gw_msg m;          /* id chosen here; ts filled from the commit */
    char *body_hex;    /* sealed body, hex */
    json_t *findings;  /* categories and counts, or NULL */
    char *audit_event; /* policy audit record written with the row, or NULL */
    json_t *audit_details;
};

static unsigned key_hash(const char *conv)
{
    unsigned h = 2166136261u;
    for (const char *p = conv; *p; p++)
        h = (h ^ (unsigned char)(*p | 0x20)) * 16777619u;
    return h % KEY_BUCKETS;
}

static kent *key_find(gw_store *st, const char *conv)
{
    for (kent *e = st->keys[key_hash(conv)]; e; e = e->next)
        if (strcasecmp(e->conv, conv) == 0)
            return e;
    return NULL;
}

static kent *key_add(gw_store *st, const char *conv)
{
    kent *e = xcalloc(1, sizeof *e);
    snprintf(e->conv, sizeof e->conv, "%s", conv);
    for (char *p = e->conv; *p; p++)
        if (*p >= 'A' && *p <= 'F')
            *p = (char)(*p - 'A' + 'a');
    uuid_raw(e->conv, e->conv_raw);
    unsigned h = key_hash(conv);
    e->next = st->keys[h];
    st->keys[h] = e;
    return e;
}

static void key_remove(gw_store *st, kent *e)
{
    kent **pp = &st->keys[key_hash(e->conv)];
    while (*pp && *pp != e)
        pp = &(*pp)->next;
    if (*pp)
        *pp = e->next;
    seal_datakey_free(e->dk); /* wipes the key */
    e->dk = NULL;
    free(e);
}

static void key_loaded(void *arg, gw_db_status status, PGresult *res, const char *sqlstate,
                       const char *errmsg)
{
    gw_store *st = ((void **)arg)[0];
    kent *e = ((void **)arg)[1];
    free(arg);
    st->pending--;
    int rc = map_db(status, sqlstate);
    if (rc == GW_STORE_OK && PQntuples(res) != 1)
        rc = GW_STORE_ERR_NOT_FOUND;
    if (rc == GW_STORE_OK) {
        uint8_t *w = NULL;
        long wl = hex_decode(PQgetvalue(res, 0, 1), &w);
        long ver = strtol(PQgetvalue(res, 0, 0), NULL, 10);
        int src = wl < 0 ? SEAL_ERR_ARG
                         : seal_datakey_unwrap(st->kr, (uint32_t)ver, e->conv_raw, w,
                                               (size_t)wl, &e->dk);
        free(w);
        if (src != SEAL_OK) {
            gw_err("store", "data key unwrap failed: %s (key version %ld)", seal_strerror(src),
                   ver);
            rc = GW_STORE_ERR_INTERNAL;
        }
    } else if (rc != GW_STORE_ERR_NOT_FOUND) {
        gw_warn("store", "data key load failed: status=%d sqlstate=%s", (int)status,
                sqlstate ? sqlstate : "");
    }
    (void)errmsg;
    e->loading = false;
    e->used_ms = uv_now(st->loop);
    kwait *w = e->waiters;
    e->waiters = NULL;
    while (w) {
        kwait *n = w->next;
        w->fn(st, w->arg, rc, e->dk);
        free(w);
        w = n;
    }
    if (!e->dk && e->holders == 0 && !e->loading)
        key_remove(st, e);
}

/* Gets the key of conv, loading it when needed; fn runs exactly once (maybe at once). */
static void key_get(gw_store *st, const char *conv,
                    void (*fn)(gw_store *, void *, int, const seal_datakey *), void *arg)
{
    kent *e = key_find(st, conv);
    if (!e)
        e = key_add(st, conv);
    if (e->dk) {
        e->used_ms = uv_now(st->loop);
        fn(st, arg, GW_STORE_OK, e->dk);
        return;
    }
    kwait *w = xcalloc(1, sizeof *w);
    w->fn = fn;
    w->arg = arg;
    w->next = e->waiters;
    e->waiters = w;
    if (e->loading)
        return;
    e->loading = true;
    const char *vals[1] = {e->conv};
    gw_db_params p = {vals, NULL, NULL, 1};
    void **ctx = xcalloc(2, sizeof *ctx);
    ctx[0] = st;
    ctx[1] = e;
    st->pending++;
    if (gw_db_query(st->db, "SELECT key_version, wrapped FROM data_key WHERE conversation_id = $1",
                    &p, false, key_loaded, ctx) != 0) {
        st->pending--;
        free(ctx);
        /* pool stopped: fail the waiters as if the load had failed */
        e->loading = false;
        kwait *x = e->waiters;
        e->waiters = NULL;
        while (x) {
            kwait *n = x->next;
            x->fn(st, x->arg, GW_STORE_ERR_UNAVAILABLE, NULL);
            free(x);
            x = n;
        }
        if (!e->dk && e->holders == 0)
            key_remove(st, e);
    }
}

void gw_store_key_hold(gw_store *st, const char *conv)
{
    kent *e = key_find(st, conv);
    if (!e)
        e = key_add(st, conv);
    e->holders++;
}

void gw_store_key_release(gw_store *st, const char *conv)
{
    kent *e = key_find(st, conv);
    if (!e || e->holders == 0)
        return;
    e->holders--;
    e->used_ms = uv_now(st->loop);
}

void gw_store_key_forget(gw_store *st, const char *conv)
{
    kent *e = key_find(st, conv);
    if (!e || e->loading)
        return; /* a load in flight finds no row and caches nothing */
    seal_datakey_free(e->dk); /* wipes */
    e->dk = NULL;
    if (e->holders == 0 && !e->waiters)
        key_remove(st, e);
}

static void sweep_cb(uv_timer_t *t)
{
    gw_store *st = t->data;
    uint64_t now = uv_now(st->loop);
    for (unsigned b = 0; b < KEY_BUCKETS; b++) {
        kent *e = st->keys[b];
        while (e) {
            kent *n = e->next;
            if (e->holders == 0 && !e->loading && !e->waiters && now - e->used_ms > KEY_IDLE_MS)
                key_remove(st, e);
            e = n;
        }
    }
}

gw_store *gw_store_new(uv_loop_t *loop, gw_db *db, const gw_config *cfg, const seal_keyring *kr)
{
    gw_store *st = xcalloc(1, sizeof *st);
    st->loop = loop;
    st->db = db;
    st->cfg = cfg;
    st->kr = kr;
    uint8_t o[8];
    randombytes_buf(o, sizeof o);
    sodium_bin2hex(st->origin, sizeof st->origin, o, sizeof o);
    uv_timer_init(loop, &st->sweep);
    st->sweep.data = st;
    uv_timer_start(&st->sweep, sweep_cb, KEY_SWEEP_MS, KEY_SWEEP_MS);
    uv_unref((uv_handle_t *)&st->sweep);
    return st;
}

static void sweep_closed(uv_handle_t *h)
{
    free(h->data);
}

void gw_store_free(gw_store *st)
{
    if (!st)
        return;
    assert(st->pending == 0 && !st->q_head);
    for (unsigned b = 0; b < KEY_BUCKETS; b++)
        while (st->keys[b])
            key_remove(st, st->keys[b]);
    uv_timer_stop(&st->sweep);
    st->sweep.data = st;
    uv_close((uv_handle_t *)&st->sweep, sweep_closed);
}

void gw_store_set_commit_hook(gw_store *st, gw_store_commit_hook hook, void *arg)
{
    st->hook = hook;
    st->hook_arg = arg;
}

const char *gw_store_origin(const gw_store *st)
{
    return st->origin;
}

size_t gw_store_pending(const gw_store *st)
{
    return st->pending;
}

/* ---- append and group commit ---------------------------------------------------------- */

static void pend_free(pend *p)
{
    gw_msg_clear(&p->m);
    free(p->body_hex);
    json_decref(p->findings);
    free(p->audit_event);
    json_decref(p->audit_details);
    free(p);
}

/* Completes p and its duplicates, then frees them. */
static void pend_finish(gw_store *st, pend *p, int status, bool fresh)
{
    pend *d = p->dups;
    p->dups = NULL;
    if (status == GW_STORE_OK && fresh && st->hook)
        st->hook(st->hook_arg, &p->m);
    st->pending--;
    p->cb(p->arg, status, status == GW_STORE_OK ? &p->m : NULL, fresh);
    while (d) {
        pend *n = d->next;
        st->pending--;
        /* a duplicate inside one batch: the first one is the stored message */
        d->cb(d->arg, status, status == GW_STORE_OK ? &p->m : NULL, false);
        pend_free(d);
        d = n;
    }
    pend_free(p);
}

static void flush(gw_store *st);

static const char SQL_STORE[] =
    "SELECT idx, id, ts, fresh, seq FROM caregate_store_messages($1::jsonb, $2, $3::boolean)";

typedef struct {
    gw_store *st;
    pend **items;
    size_t n;
} batch;

static void batch_done(void *arg, gw_db_status status, PGresult *res, const char *sqlstate,
                       const char *errmsg)
{
    batch *b = arg;
    gw_store *st = b->st;
    st->inflight = false;
    int rc = map_db(status, sqlstate);
    (void)errmsg;
    if (status == GW_DB_ERR_QUERY && b->n > 1) {
        /* one bad item must not fail the others: retry each alone, at the queue's front */
        gw_warn("store", "batch of %zu rejected (sqlstate %s): retrying one by one", b->n,
                sqlstate ? sqlstate : "");
        pend *head = NULL, *tail = NULL;
        for (size_t i = 0; i < b->n; i++) {
            pend *p = b->items[i];
            pend *d = p->dups;
            p->dups = NULL;
            for (pend *x = p; x;) {
                pend *n = (x == p) ? d : x->next;
                x->solo = true;
                x->next = NULL;
                if (tail)
                    tail->next = x;
                else
                    head = x;
                tail = x;
                x = n;
            }
        }
        tail->next = st->q_head;
        st->q_head = head;
        st->q_len = 0;
        for (pend *x = st->q_head; x; x = x->next) {
            st->q_len++;
            st->q_tail = x;
        }
        free(b->items);
        free(b);
        flush(st);
        return;
    }
    if (rc != GW_STORE_OK) {
        gw_warn("store", "batch of %zu failed: status=%d sqlstate=%s", b->n, (int)status,
                sqlstate ? sqlstate : "");
        for (size_t i = 0; i < b->n; i++)
            pend_finish(st, b->items[i], rc, false);
    } else {
        int rows = PQntuples(res);
        bool *done = xcalloc(b->n, sizeof *done);
        for (int r = 0; r < rows; r++) {
            long i = strtol(PQgetvalue(res, r, 0), NULL, 10);
            if (i < 0 || (size_t)i >= b->n || done[i])
                continue;
            pend *p = b->items[i];
            done[i] = true;
            snprintf(p->m.id, sizeof p->m.id, "%s", PQgetvalue(res, r, 1));
            snprintf(p->m.ts, sizeof p->m.ts, "%s", PQgetvalue(res, r, 2));
            bool fresh = PQgetvalue(res, r, 3)[0] == 't';
            p->m.seq = strtoll(PQgetvalue(res, r, 4), NULL, 10);
            pend_finish(st, p, GW_STORE_OK, fresh);
        }
        for (size_t i = 0; i < b->n; i++)
            if (!done[i]) /* committed elsewhere concurrently and not yet visible: retry */
                pend_finish(st, b->items[i], GW_STORE_ERR_UNAVAILABLE, false);
        free(done);
    }
    free(b->items);
    free(b);
    flush(st);
}

static void flush(gw_store *st)
{
    if (st->inflight || !st->q_head)
        return;
    size_t max = (size_t)st->cfg->group_commit_max;
    if (st->q_head->solo)
        max = 1;
    batch *b = xcalloc(1, sizeof *b);
    b->st = st;
    b->items = xcalloc(max, sizeof *b->items);
    json_t *arr = json_array();
    while (st->q_head && b->n < max) {
        pend *p = st->q_head;
        st->q_head = p->next;
        if (!st->q_head)
            st->q_tail = NULL;
        st->q_len--;
        p->next = NULL;
        pend *first = NULL;
        for (size_t i = 0; i < b->n && !first; i++)
            if (strcmp(b->items[i]->m.conversation, p->m.conversation) == 0 &&
                strcmp(b->items[i]->m.client_id, p->m.client_id) == 0)
                first = b->items[i];
        if (first) {
            p->next = first->dups;
            first->dups = p;
            continue;
        }
        json_array_append_new(
            arr, json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:o, s:s}", "i", (int)b->n, "id",
                           p->m.id, "c", p->m.conversation, "k", p->m.client_id, "s",
                           p->m.sender, "t", p->m.kind, "a",
                           p->m.author_staff[0] ? json_string(p->m.author_staff) : json_null(),
                           "b", p->body_hex));
        json_t *item = json_array_get(arr, json_array_size(arr) - 1);
        if (p->findings)
            json_object_set(item, "f", p->findings);
        if (p->audit_event) {
            json_object_set_new(item, "e", json_string(p->audit_event));
            json_object_set(item, "d", p->audit_details ? p->audit_details : json_null());
        }
        b->items[b->n++] = p;
        if (p->solo)
            break;
    }
    char *js = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    const char *vals[3] = {js, st->origin, st->cfg->assign_round_robin ? "true" : "false"};
    gw_db_params prm = {vals, NULL, NULL, 3};
    st->inflight = true;
    if (gw_db_query(st->db, SQL_STORE, &prm, false, batch_done, b) != 0) {
        st->inflight = false;
        for (size_t i = 0; i < b->n; i++)
            pend_finish(st, b->items[i], GW_STORE_ERR_UNAVAILABLE, false);
        free(b->items);
        free(b);
    } else {
        gw_debug("store", "group commit: %zu messages in one statement", b->n);
    }
    free(js);
}

static void append_key_ready(gw_store *st, void *arg, int status, const seal_datakey *dk)
{
    pend *p = arg;
    if (status != GW_STORE_OK) {
        pend_finish(st, p, status, false);
        return;
    }
    uint8_t conv[16], mid[16];
    uuid_raw(p->m.conversation, conv);
    uuid_raw(p->m.id, mid);
    size_t cap = seal_sealed_len(p->m.text_len), outlen = 0;
    uint8_t *sealed = xcalloc(cap ? cap : 1, 1);
    int src = seal_message_seal(dk, conv, mid, p->m.text, p->m.text_len, sealed, cap, &outlen);
    if (src != SEAL_OK) {
        free(sealed);
        gw_err("store", "seal failed: %s", seal_strerror(src));
        pend_finish(st, p, GW_STORE_ERR_INTERNAL, false);
        return;
    }
    p->body_hex = xcalloc(2 * outlen + 1, 1);
    sodium_bin2hex(p->body_hex, 2 * outlen + 1, sealed, outlen);
    free(sealed);
    if (st->stopped) {
        pend_finish(st, p, GW_STORE_ERR_UNAVAILABLE, false);
        return;
    }
    if (st->q_tail)
        st->q_tail->next = p;
    else
        st->q_head = p;
    st->q_tail = p;
    st->q_len++;
    flush(st);
}

int gw_store_append(gw_store *st, const gw_store_item *it, gw_store_append_cb cb, void *arg)
{
    if (st->stopped || !gw_uuid_valid(it->conversation))
        return -1;
    pend *p = xcalloc(1, sizeof *p);
    p->cb = cb;
    p->arg = arg;
    uuid_new(p->m.id);
    snprintf(p->m.conversation, sizeof p->m.conversation, "%s", it->conversation);
    for (char *c = p->m.conversation; *c; c++)
        if (*c >= 'A' && *c <= 'F')
            *c = (char)(*c - 'A' + 'a');
    snprintf(p->m.sender, sizeof p->m.sender, "%s", it->sender);
    snprintf(p->m.kind, sizeof p->m.kind, "%s", it->kind);
    snprintf(p->m.author_staff, sizeof p->m.author_staff, "%s",
             it->author_staff ? it->author_staff : "");
    p->m.client_id = xstrdup(it->client_id);
    p->m.author_alias = xstrdup(it->author_alias);
    p->m.text = xcalloc(it->text_len + 1, 1);
    memcpy(p->m.text, it->text, it->text_len);
    p->m.text_len = it->text_len;
    if (it->findings)
        p->findings = json_deep_copy(it->findings);
    if (it->audit_event) {
        p->audit_event = xstrdup(it->audit_event);
        p->audit_details = it->audit_details ? json_deep_copy(it->audit_details) : NULL;
    }
    st->pending++;
    key_get(st, p->m.conversation, append_key_ready, p);
    return 0;
}

void gw_store_stop(gw_store *st)
{
    st->stopped = true;
    while (st->q_head) {
        pend *p = st->q_head;
        st->q_head = p->next;
        p->next = NULL;
        pend_finish(st, p, GW_STORE_ERR_UNAVAILABLE, false);
    }
    st->q_tail = NULL;
    st->q_len = 0;
}

/* ---- reading: history and single messages ---------------------------------------------- */

typedef struct {
    gw_store *st;
    gw_store_history_cb cb;
    void *arg;
    char conv[GW_UUID_LEN + 1];
    char one[GW_UUID_LEN + 1]; /* fetch: the message id; "" for history */
    bool with_notes;
    int limit;
    /* hello continuation (resume) */
    gw_store_hello_cb hello_cb;
    char *token;
} readq;

#define SQL_MSG_COLS                                                                             \
    "SELECT m.id, m.client_id, m.sender, m.kind, coalesce(m.author_staff::text, ''), s.alias, " \
    "caregate_ts(m.created_at), m.body, m.seq, m.delivery FROM "

static const char SQL_HISTORY[] =
    SQL_MSG_COLS "(SELECT * FROM message WHERE conversation_id = $1 AND ($2::boolean OR kind = "
                 "'text') ORDER BY seq DESC LIMIT $3) m LEFT JOIN staff s ON s.id = m.author_staff "
                 "ORDER BY m.seq";
static const char SQL_FETCH[] =
    SQL_MSG_COLS "message m LEFT JOIN staff s ON s.id = m.author_staff WHERE m.id = $1 AND "
                 "m.conversation_id = $2";

static void hello_finish_history(readq *q, int status, const gw_msg *msgs, size_t n);

static void read_done(void *arg, gw_db_status status, PGresult *res, const char *sqlstate,
                      const char *errmsg)
{
    readq *q = arg;
    gw_store *st = q->st;
    st->pending--;
    int rc = map_db(status, sqlstate);
    (void)errmsg;
    gw_msg *msgs = NULL;
    size_t n = 0;
    if (rc == GW_STORE_OK) {
        int rows = PQntuples(res);
        kent *e = key_find(st, q->conv);
        const seal_datakey *dk = e ? e->dk : NULL;
        if (!dk && rows > 0)
            rc = GW_STORE_ERR_INTERNAL;
        msgs = xcalloc((size_t)rows + 1, sizeof *msgs);
        uint8_t conv[16];
        uuid_raw(q->conv, conv);
        for (int r = 0; r < rows && rc == GW_STORE_OK; r++) {
            gw_msg *m = &msgs[n];
            snprintf(m->id, sizeof m->id, "%s", PQgetvalue(res, r, 0));
            snprintf(m->conversation, sizeof m->conversation, "%s", q->conv);
            m->client_id = xstrdup(PQgetvalue(res, r, 1));
            snprintf(m->sender, sizeof m->sender, "%s", PQgetvalue(res, r, 2));
            snprintf(m->kind, sizeof m->kind, "%s", PQgetvalue(res, r, 3));
            snprintf(m->author_staff, sizeof m->author_staff, "%s", PQgetvalue(res, r, 4));
            if (!PQgetisnull(res, r, 5))
                m->author_alias = xstrdup(PQgetvalue(res, r, 5));
            snprintf(m->ts, sizeof m->ts, "%s", PQgetvalue(res, r, 6));
            m->seq = strtoll(PQgetvalue(res, r, 8), NULL, 10);
            snprintf(m->delivery, sizeof m->delivery, "%s", PQgetvalue(res, r, 9));
            uint8_t *body = NULL, mid[16];
            long bl = hex_decode(PQgetvalue(res, r, 7), &body);
            uuid_raw(m->id, mid);
            size_t cap = bl > 0 ? seal_opened_len((size_t)bl) + 1 : 1, tl = 0;
            m->text = xcalloc(cap, 1);
            int src = bl < 0 ? SEAL_ERR_ARG
                             : seal_message_open(dk, conv, mid, body, (size_t)bl, m->text, cap, &tl);
            free(body);
            n++;
            if (src != SEAL_OK) {
                gw_err("store", "message does not open: %s", seal_strerror(src));
                rc = GW_STORE_ERR_INTERNAL;
                break;
            }
            m->text_len = tl;
        }
        if (rc == GW_STORE_OK && q->one[0] && n == 0)
            rc = GW_STORE_ERR_NOT_FOUND;
    }
    if (q->hello_cb)
        hello_finish_history(q, rc, msgs, rc == GW_STORE_OK ? n : 0);
    else
        q->cb(q->arg, rc, rc == GW_STORE_OK ? msgs : NULL, rc == GW_STORE_OK ? n : 0);
    for (size_t i = 0; i < n; i++)
        gw_msg_clear(&msgs[i]);
    free(msgs);
    free(q->token);
    free(q);
}

static void read_key_ready(gw_store *st, void *arg, int status, const seal_datakey *dk)
{
    readq *q = arg;
    (void)dk;
    if (status == GW_STORE_OK && !st->stopped) {
        char lim[16];
        snprintf(lim, sizeof lim, "%d", q->limit);
        const char *hv[3] = {q->conv, q->with_notes ? "true" : "false", lim};
        const char *fv[2] = {q->one, q->conv};
        gw_db_params p = {q->one[0] ? fv : hv, NULL, NULL, q->one[0] ? 2 : 3};
        if (gw_db_query(st->db, q->one[0] ? SQL_FETCH : SQL_HISTORY, &p, false, read_done, q) == 0)
            return;
        status = GW_STORE_ERR_UNAVAILABLE;
    }
    if (status == GW_STORE_OK)
        status = GW_STORE_ERR_UNAVAILABLE;
    st->pending--;
    if (q->hello_cb)
        hello_finish_history(q, status, NULL, 0);
    else
        q->cb(q->arg, status, NULL, 0);
    free(q->token);
    free(q);
}

static int read_start(gw_store *st, readq *q)
{
    st->pending++;
    key_get(st, q->conv, read_key_ready, q);
    return 0;
}

int gw_store_history(gw_store *st, const char *conv, bool with_notes, int limit,
                     gw_store_history_cb cb, void *arg)
{
    if (st->stopped || !gw_uuid_valid(conv))
        return -1;
    readq *q = xcalloc(1, sizeof *q);
    q->st = st;
    q->cb = cb;
    q->arg = arg;
    snprintf(q->conv, sizeof q->conv, "%s", conv);
    q->with_notes = with_notes;
    q->limit = limit > 0 ? limit : HISTORY_LIMIT;
    return read_start(st, q);
}

int gw_store_fetch(gw_store *st, const char *conv, const char *id, gw_store_history_cb cb,
                   void *arg)
{
    if (st->stopped || !gw_uuid_valid(conv) || !gw_uuid_valid(id))
        return -1;
    readq *q = xcalloc(1, sizeof *q);
    q->st = st;
    q->cb = cb;
    q->arg = arg;
    snprintf(q->conv, sizeof q->conv, "%s", conv);
    snprintf(q->one, sizeof q->one, "%s", id);
    return read_start(st, q);
}

/* ---- patient sessions ------------------------------------------------------------------- */

typedef struct {
    gw_store *st;
    gw_store_hello_cb cb;
    void *arg;
    char *token;
    char lang[4];
    char conv[GW_UUID_LEN + 1];
    seal_datakey *dk; /* new conversation's key until committed */
} helloq;

static void token_hash_hex(const char *token, char **out)
{
    uint8_t h[32];
    crypto_generichash(h, sizeof h, (const uint8_t *)token, strlen(token), NULL, 0);
    *out = bytea_hex(h, sizeof h);
}

static void hello_new_done(void *arg, gw_db_status status, PGresult *res, const char *sqlstate,
                           const char *errmsg)
{
    helloq *h = arg;
    gw_store *st = h->st;
    st->pending--;
    int rc = map_db(status, sqlstate);
    (void)res;
    (void)errmsg;
    if (rc == GW_STORE_OK) {
        /* the key is committed: keep it unwrapped for the session about to hold it */
        kent *e = key_find(st, h->conv);
        if (!e)
            e = key_add(st, h->conv);
        if (!e->dk) {
            e->dk = h->dk;
            h->dk = NULL;
        }
        e->used_ms = uv_now(st->loop);
        gw_patient_hello r = {h->token, h->conv, false, NULL, 0};
        h->cb(h->arg, GW_STORE_OK, &r);
    } else {
        gw_warn("store", "new patient session failed: status=%d sqlstate=%s", (int)status,
                sqlstate ? sqlstate : "");
        h->cb(h->arg, rc, NULL);
    }
    seal_datakey_free(h->dk);
    if (h->token)
        sodium_memzero(h->token, strlen(h->token));
    free(h->token);
    free(h);
}

static int hello_new(gw_store *st, helloq *h)
{
    uint8_t tok[TOKEN_BYTES], conv_raw[16], wrapped[SEAL_WRAPPED_BYTES];
    randombytes_buf(tok, sizeof tok);
    size_t tl = sodium_base64_ENCODED_LEN(sizeof tok, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    if (h->token) {
        sodium_memzero(h->token, strlen(h->token));
        free(h->token);
    }
    h->token = xcalloc(tl, 1);
    sodium_bin2base64(h->token, tl, tok, sizeof tok, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(tok, sizeof tok);
    uuid_new(h->conv);
    uuid_raw(h->conv, conv_raw);
    size_t wl = 0;
    uint32_t ver = 0;
    if (seal_datakey_new(&h->dk) != SEAL_OK ||
        seal_datakey_wrap(st->kr, h->dk, conv_raw, wrapped, sizeof wrapped, &wl, &ver) != SEAL_OK) {
        gw_err("store", "cannot create a data key (is a master key loaded?)");
        return GW_STORE_ERR_INTERNAL;
    }
    char *hash = NULL, *wr = bytea_hex(wrapped, wl), vs[16], days[16];
    token_hash_hex(h->token, &hash);
    snprintf(vs, sizeof vs, "%u", ver);
    snprintf(days, sizeof days, "%ld", st->cfg->patient_session_days);
    const char *vals[6] = {hash, h->conv, h->lang, vs, wr, days};
    gw_db_params p = {vals, NULL, NULL, 6};
    st->pending++;
    int rc = gw_db_query(st->db,
                         "SELECT caregate_patient_new($1::bytea, $2::uuid, $3, $4::integer, "
                         "$5::bytea, $6::integer)",
                         &p, false, hello_new_done, h);
    free(hash);
    free(wr);
    if (rc != 0) {
        st->pending--;
        return GW_STORE_ERR_UNAVAILABLE;
    }
    return GW_STORE_OK;
}

static void hello_finish_history(readq *q, int status, const gw_msg *msgs, size_t n)
{
    gw_patient_hello r = {q->token, q->conv, true, msgs, n};
    q->hello_cb(q->arg, status, status == GW_STORE_OK ? &r : NULL);
    if (q->token)
        sodium_memzero(q->token, strlen(q->token));
}

static void hello_resume_done(void *arg, gw_db_status status, PGresult *res,
                              const char *sqlstate, const char *errmsg)
{
    helloq *h = arg;
    gw_store *st = h->st;
    st->pending--;
    int rc = map_db(status, sqlstate);
    (void)errmsg;
    if (rc == GW_STORE_OK && PQntuples(res) == 1) {
        readq *q = xcalloc(1, sizeof *q);
        q->st = st;
        q->hello_cb = h->cb;
        q->arg = h->arg;
        q->token = h->token;
        h->token = NULL;
        snprintf(q->conv, sizeof q->conv, "%s", PQgetvalue(res, 0, 0));
        q->limit = HISTORY_LIMIT;
        free(h);
        read_start(st, q);
        return;
    }
    if (rc == GW_STORE_OK) {
        /* unknown or expired token: a fresh conversation (welcome says resumed:false) */
        rc = hello_new(st, h);
        if (rc == GW_STORE_OK)
            return;
    }
    h->cb(h->arg, rc, NULL);
    if (h->token)
        sodium_memzero(h->token, strlen(h->token));
    free(h->token);
    seal_datakey_free(h->dk);
    free(h);
}

int gw_store_patient_hello(gw_store *st, const char *token, const char *lang,
                           gw_store_hello_cb cb, void *arg)
{
    if (st->stopped)
        return -1;
    helloq *h = xcalloc(1, sizeof *h);
    h->st = st;
    h->cb = cb;
    h->arg = arg;
    snprintf(h->lang, sizeof h->lang, "%s", lang && strlen(lang) == 2 ? lang : "de");
    if (!token) {
        int rc = hello_new(st, h);
        if (rc != GW_STORE_OK) {
            seal_datakey_free(h->dk);
            free(h->token);
            free(h);
            return -1;
        }
        return 0;
    }
    h->token = xstrdup(token);
    char *hash = NULL, days[16];
    token_hash_hex(token, &hash);
    snprintf(days, sizeof days, "%ld", st->cfg->patient_session_days);
    const char *vals[2] = {hash, days};
    gw_db_params p = {vals, NULL, NULL, 2};
    st->pending++;
    int rc = gw_db_query(st->db,
                         "UPDATE patient_session SET last_seen = now(), expires_at = now() + "
                         "make_interval(days => $2::integer) WHERE token_hash = $1::bytea AND "
                         "expires_at > now() RETURNING conversation_id",
                         &p, false, hello_resume_done, h);
    free(hash);
    if (rc != 0) {
        st->pending--;
        sodium_memzero(h->token, strlen(h->token));
        free(h->token);
        free(h);
        return -1;
    }
    return 0;
}
