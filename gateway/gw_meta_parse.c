/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pure Meta webhook / Send API helpers (see gw_meta_parse.h). The signature is checked
 * over the raw bytes before jansson ever sees them (§2.1: Meta escapes non-ASCII and '/'
 * and signs exactly those bytes, so re-serialising would break genuine signatures).
 * The parser flattens everything into gw_meta_event rows whose strings borrow from the
 * jansson tree kept in the batch; it never allocates per-string copies.
 *
 * Not here: routing to channels, de-duplication, storage (gw_meta.c), HTTP and curl
 * (gw_outbox.c). Nothing in this file logs.
 */
#include "gw_meta_parse.h"

#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

struct gw_meta_batch {
    json_t *root;
    gw_meta_platform platform;
    gw_meta_event *ev;
    size_t n, cap;
    bool overflow;
};

const char *gw_meta_platform_name(gw_meta_platform p)
{
    switch (p) {
    case GW_META_WHATSAPP: return "whatsapp";
    case GW_META_MESSENGER: return "messenger";
    case GW_META_INSTAGRAM: return "instagram";
    default: return NULL;
    }
}

gw_meta_platform gw_meta_platform_parse(const char *s)
{
    if (!s)
        return GW_META_NONE;
    if (strcmp(s, "whatsapp") == 0)
        return GW_META_WHATSAPP;
    if (strcmp(s, "messenger") == 0)
        return GW_META_MESSENGER;
    if (strcmp(s, "instagram") == 0)
        return GW_META_INSTAGRAM;
    return GW_META_NONE;
}

/* ---- signature ------------------------------------------------------------------------ */

static void hmac256(const uint8_t *body, size_t len, const uint8_t *secret, size_t secret_len,
                    uint8_t mac[crypto_auth_hmacsha256_BYTES])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, secret, secret_len);
    crypto_auth_hmacsha256_update(&st, body, len);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_memzero(&st, sizeof st);
}

bool gw_meta_signature_ok(const uint8_t *body, size_t len, const char *header, size_t header_len,
                          const uint8_t *secret, size_t secret_len)
{
    uint8_t want[crypto_auth_hmacsha256_BYTES], got[crypto_auth_hmacsha256_BYTES];
    size_t bin_len = 0;
    const char *end = NULL;
    if (!header || header_len != 71 || memcmp(header, "sha256=", 7) != 0 || !secret ||
        secret_len == 0 || (!body && len))
        return false;
    if (sodium_hex2bin(got, sizeof got, header + 7, 64, NULL, &bin_len, &end) != 0 ||
        bin_len != sizeof got || end != header + 71)
        return false;
    if (sodium_init() < 0)
        return false;
    hmac256(body ? body : (const uint8_t *)"", len, secret, secret_len, want);
    bool ok = sodium_memcmp(want, got, sizeof want) == 0;
    sodium_memzero(want, sizeof want);
    return ok;
}

void gw_meta_signature_make(const uint8_t *body, size_t len, const uint8_t *secret,
                            size_t secret_len, char out[72])
{
    uint8_t mac[crypto_auth_hmacsha256_BYTES];
    if (sodium_init() < 0)
        abort();
    hmac256(body ? body : (const uint8_t *)"", len, secret, secret_len, mac);
    memcpy(out, "sha256=", 7);
    sodium_bin2hex(out + 7, 65, mac, sizeof mac);
}

/* ---- verification handshake ----------------------------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* URL-decodes s[0..n) into out (cap bytes incl. NUL). Returns decoded length or -1. */
static long url_decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (i + 2 >= n)
                return -1;
            int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
            if (h < 0 || l < 0)
                return -1;
            c = (char)(h << 4 | l);
            i += 2;
        }
        if (o + 1 >= cap)
            return -1;
        out[o++] = c;
    }
    out[o] = '\0';
    return (long)o;
}

/* Finds parameter name in the raw query; sets *v and *vn to the raw (encoded) value. */
static bool query_param(const char *q, size_t qn, const char *name, const char **v, size_t *vn)
{
    size_t nl = strlen(name);
    size_t i = 0;
    while (i < qn) {
        size_t s = i;
        while (i < qn && q[i] != '&')
            i++;
        const char *eq = memchr(q + s, '=', i - s);
        size_t kl = eq ? (size_t)(eq - (q + s)) : i - s;
        if (kl == nl && memcmp(q + s, name, nl) == 0) {
            *v = eq ? eq + 1 : q + i;
            *vn = eq ? (size_t)(q + i - (eq + 1)) : 0;
            return true;
        }
        i++;
    }
    return false;
}

int gw_meta_verify_handshake(const char *query, size_t query_len, const char *token,
                             size_t token_len, char *challenge, size_t cap)
{
    const char *v;
    size_t vn;
    char mode[16], tok[512];
    if (!query || !token || token_len == 0 || token_len >= sizeof tok || !challenge ||
        cap < GW_META_MAX_CHALLENGE + 1)
        return 403;
    challenge[0] = '\0';
    if (!query_param(query, query_len, "hub.mode", &v, &vn) ||
        url_decode(v, vn, mode, sizeof mode) < 0 || strcmp(mode, "subscribe") != 0)
        return 403;
    if (!query_param(query, query_len, "hub.verify_token", &v, &vn))
        return 403;
    long tl = url_decode(v, vn, tok, sizeof tok);
    /* Constant time over the configured length; a length mismatch still does the compare
     * against the configured token so timing reveals only "length differs". */
    bool same = tl >= 0 && (size_t)tl == token_len;
    char cmp[512];
    memset(cmp, 0, sizeof cmp);
    if (tl > 0)
        memcpy(cmp, tok, (size_t)tl < token_len ? (size_t)tl : token_len);
    if (sodium_memcmp(cmp, token, token_len) != 0)
        same = false;
    sodium_memzero(tok, sizeof tok);
    sodium_memzero(cmp, sizeof cmp);
    if (!same)
        return 403;
    if (!query_param(query, query_len, "hub.challenge", &v, &vn))
        return 403;
    long cl = url_decode(v, vn, challenge, GW_META_MAX_CHALLENGE + 1);
    if (cl <= 0) {
        challenge[0] = '\0';
        return 403;
    }
    return 200;
}

/* ---- webhook parsing ------------------------------------------------------------------ */

static const char *jstr(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static const char *nonempty(const char *s)
{
    return s && *s ? s : NULL;
}

/* Timestamp as number or string; seconds or milliseconds (> 10^11 ⇒ ms). Returns ms. */
static int64_t jtime_ms(const json_t *v)
{
    int64_t t = 0;
    if (json_is_integer(v)) {
        t = (int64_t)json_integer_value(v);
    } else if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d > 0 && d < 9e15)
            t = (int64_t)d;
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        for (; *s >= '0' && *s <= '9' && t < 100000000000000000LL; s++)
            t = t * 10 + (*s - '0');
        if (*s)
            t = 0;
    }
    if (t <= 0)
        return 0;
    if (t > 100000000000LL)
        return t > 100000000000000LL ? 0 : t;
    return t * 1000;
}

static gw_meta_event *ev_push(gw_meta_batch *b)
{
    if (b->n >= GW_META_MAX_EVENTS) {
        b->overflow = true;
        return NULL;
    }
    if (b->n == b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 8;
        gw_meta_event *e = realloc(b->ev, nc * sizeof *e);
        if (!e)
            abort();
        b->ev = e;
        b->cap = nc;
    }
    gw_meta_event *e = &b->ev[b->n++];
    memset(e, 0, sizeof *e);
    e->platform = b->platform;
    return e;
}

static bool is_media_type(const char *t)
{
    static const char *const media[] = {"image", "video", "audio", "document", "sticker", "file"};
    if (!t)
        return false;
    for (size_t i = 0; i < sizeof media / sizeof media[0]; i++)
        if (strcmp(t, media[i]) == 0)
            return true;
    return false;
}

static const json_t *wa_contact_for(const json_t *contacts, const char *from, const char *buid)
{
    size_t i;
    const json_t *c;
    if (!json_is_array(contacts))
        return NULL;
    json_array_foreach (contacts, i, c) {
        const char *wa = nonempty(jstr(c, "wa_id")), *uid = nonempty(jstr(c, "user_id"));
        if ((from && wa && strcmp(from, wa) == 0) || (buid && uid && strcmp(buid, uid) == 0))
            return c;
    }
    return json_array_size(contacts) == 1 ? json_array_get(contacts, 0) : NULL;
}

static void wa_message(gw_meta_batch *b, const char *account, const char *pnid,
                       const json_t *contacts, const json_t *m)
{
    if (!json_is_object(m))
        return;
    gw_meta_event *e = ev_push(b);
    if (!e)
        return;
    e->kind = GW_META_EV_MESSAGE;
    e->account_id = account;
    e->phone_number_id = pnid;
    const char *from = nonempty(jstr(m, "from"));
    const char *buid = nonempty(jstr(m, "from_user_id"));
    const json_t *c = wa_contact_for(contacts, from, buid);
    if (!buid && c)
        buid = nonempty(jstr(c, "user_id"));
    if (!from && c)
        from = nonempty(jstr(c, "wa_id"));
    e->user_id = buid ? buid : from;
    e->user_phone = from;
    if (c)
        e->display_name = nonempty(jstr(json_object_get(c, "profile"), "name"));
    e->msg_id = nonempty(jstr(m, "id"));
    e->ts_ms = jtime_ms(json_object_get(m, "timestamp"));
    e->type = nonempty(jstr(m, "type"));
    if (!e->type)
        e->type = "unsupported";
    if (strcmp(e->type, "text") == 0) {
        const json_t *body = json_object_get(json_object_get(m, "text"), "body");
        if (json_is_string(body)) {
            e->text = json_string_value(body);
            e->text_len = json_string_length(body);
        }
    } else if (strcmp(e->type, "button") == 0) {
        const json_t *t = json_object_get(json_object_get(m, "button"), "text");
        if (json_is_string(t)) {
            e->text = json_string_value(t);
            e->text_len = json_string_length(t);
        }
    } else if (strcmp(e->type, "interactive") == 0) {
        const json_t *in = json_object_get(m, "interactive");
        const json_t *r = json_object_get(in, "button_reply");
        if (!r)
            r = json_object_get(in, "list_reply");
        const json_t *t = json_object_get(r, "title");
        if (json_is_string(t)) {
            e->text = json_string_value(t);
            e->text_len = json_string_length(t);
        }
    } else if (strcmp(e->type, "reaction") == 0) {
        e->kind = GW_META_EV_OTHER;
    }
    e->has_media = is_media_type(e->type);
}

static void wa_status(gw_meta_batch *b, const char *account, const char *pnid, const json_t *s)
{
    if (!json_is_object(s))
        return;
    gw_meta_event *e = ev_push(b);
    if (!e)
        return;
    e->kind = GW_META_EV_STATUS;
    e->account_id = account;
    e->phone_number_id = pnid;
    e->msg_id = nonempty(jstr(s, "id"));
    e->status = nonempty(jstr(s, "status"));
    const char *uid = nonempty(jstr(s, "recipient_user_id"));
    e->user_phone = nonempty(jstr(s, "recipient_id"));
    e->user_id = uid ? uid : e->user_phone;
    e->callback = nonempty(jstr(s, "biz_opaque_callback_data"));
    e->ts_ms = jtime_ms(json_object_get(s, "timestamp"));
    const json_t *err0 = json_array_get(json_object_get(s, "errors"), 0);
    const json_t *code = json_object_get(err0, "code");
    if (json_is_integer(code))
        e->error_code = (long)json_integer_value(code);
}

static void wa_value(gw_meta_batch *b, const char *account, const json_t *value)
{
    size_t i;
    const json_t *x;
    if (!json_is_object(value))
        return;
    const char *pnid = nonempty(jstr(json_object_get(value, "metadata"), "phone_number_id"));
    const json_t *contacts = json_object_get(value, "contacts");
    const json_t *msgs = json_object_get(value, "messages");
    const json_t *sts = json_object_get(value, "statuses");
    if (json_is_array(msgs))
        json_array_foreach (msgs, i, x)
            wa_message(b, account, pnid, contacts, x);
    if (json_is_array(sts))
        json_array_foreach (sts, i, x)
            wa_status(b, account, pnid, x);
    if (json_is_array(json_object_get(value, "errors"))) {
        gw_meta_event *e = ev_push(b);
        if (e) {
            e->kind = GW_META_EV_OTHER;
            e->account_id = account;
            e->phone_number_id = pnid;
        }
    }
}

static void fb_attachment_info(gw_meta_event *e, const json_t *msg)
{
    const json_t *atts = json_object_get(msg, "attachments");
    if (json_is_array(atts) && json_array_size(atts) > 0) {
        e->has_media = true; /* any attachment, including shares: not forwarded (policy) */
        e->type = nonempty(jstr(json_array_get(atts, 0), "type"));
        if (!e->type)
            e->type = "attachment";
    }
}

static void fb_messaging(gw_meta_batch *b, const char *account, const json_t *m)
{
    if (!json_is_object(m))
        return;
    gw_meta_event *e = ev_push(b);
    if (!e)
        return;
    e->account_id = account;
    e->kind = GW_META_EV_OTHER;
    const char *sender = nonempty(jstr(json_object_get(m, "sender"), "id"));
    const char *recipient = nonempty(jstr(json_object_get(m, "recipient"), "id"));
    e->user_id = sender;
    e->ts_ms = jtime_ms(json_object_get(m, "timestamp"));
    const json_t *msg = json_object_get(m, "message");
    if (json_is_object(msg)) {
        e->msg_id = nonempty(jstr(msg, "mid"));
        if (json_is_true(json_object_get(msg, "is_echo"))) {
            e->kind = GW_META_EV_ECHO;
            e->user_id = recipient; /* sender/recipient are swapped on echoes */
            e->callback = nonempty(jstr(msg, "metadata"));
            return;
        }
        if (json_is_true(json_object_get(msg, "is_deleted")))
            return; /* OTHER: unsent by the user */
        e->kind = GW_META_EV_MESSAGE;
        e->type = "text";
        const json_t *t = json_object_get(msg, "text");
        if (json_is_string(t)) {
            e->text = json_string_value(t);
            e->text_len = json_string_length(t);
        }
        fb_attachment_info(e, msg);
        if (json_is_true(json_object_get(msg, "is_unsupported")) && !e->text)
            e->type = "unsupported";
        return;
    }
    const json_t *dl = json_object_get(m, "delivery");
    if (json_is_object(dl)) {
        e->kind = GW_META_EV_DELIVERY;
        e->watermark_ms = jtime_ms(json_object_get(dl, "watermark"));
        return;
    }
    const json_t *rd = json_object_get(m, "read");
    if (json_is_object(rd)) {
        e->kind = GW_META_EV_READ;
        e->watermark_ms = jtime_ms(json_object_get(rd, "watermark"));
        if (!e->watermark_ms)
            e->watermark_ms = e->ts_ms; /* IG messaging_seen carries a mid, not a watermark */
        e->msg_id = nonempty(jstr(rd, "mid"));
    }
}

static void parse_envelope(gw_meta_batch *b, const json_t *env)
{
    size_t i, j, k;
    const json_t *entry, *x, *y;
    const json_t *entries = json_object_get(env, "entry");
    if (!json_is_array(entries))
        return;
    json_array_foreach (entries, i, entry) {
        if (!json_is_object(entry))
            continue;
        const char *account = nonempty(jstr(entry, "id"));
        const json_t *changes = json_object_get(entry, "changes");
        if (json_is_array(changes)) {
            json_array_foreach (changes, j, x) {
                const char *field = jstr(x, "field");
                const json_t *value = json_object_get(x, "value");
                if (!field || strcmp(field, "messages") != 0)
                    continue; /* account_update, templates, quality…: ignored with 200 */
                if (b->platform == GW_META_WHATSAPP)
                    wa_value(b, account, value);
                else
                    fb_messaging(b, account, value); /* IG dashboard "Test" shape (§6.1) */
            }
        }
        if (b->platform == GW_META_WHATSAPP)
            continue;
        static const char *const lists[] = {"messaging", "standby"};
        for (k = 0; k < 2; k++) {
            const json_t *arr = json_object_get(entry, lists[k]);
            if (json_is_array(arr))
                json_array_foreach (arr, j, y)
                    fb_messaging(b, account, y);
        }
    }
}

static gw_meta_platform object_platform(const json_t *env)
{
    const char *o = jstr(env, "object");
    if (!o)
        return GW_META_NONE;
    if (strcmp(o, "whatsapp_business_account") == 0)
        return GW_META_WHATSAPP;
    if (strcmp(o, "page") == 0)
        return GW_META_MESSENGER;
    if (strcmp(o, "instagram") == 0)
        return GW_META_INSTAGRAM;
    return GW_META_NONE;
}

int gw_meta_parse(const char *body, size_t len, gw_meta_batch **out)
{
    *out = NULL;
    if (!body || len > GW_META_MAX_BODY)
        return GW_META_ERR_JSON;
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return GW_META_ERR_JSON;
    /* A top-level array of envelopes is tolerated (§6.1); all must share one object. */
    const json_t *first = json_is_array(root) ? json_array_get(root, 0) : root;
    if (!json_is_object(first)) {
        json_decref(root);
        return GW_META_ERR_JSON;
    }
    gw_meta_batch *b = calloc(1, sizeof *b);
    if (!b)
        abort();
    b->root = root;
    b->platform = object_platform(first);
    if (b->platform == GW_META_NONE) {
        gw_meta_batch_free(b);
        return GW_META_ERR_OBJECT;
    }
    if (json_is_array(root)) {
        size_t i;
        const json_t *env;
        json_array_foreach (root, i, env) {
            if (!json_is_object(env) || object_platform(env) != b->platform) {
                gw_meta_batch_free(b);
                return GW_META_ERR_JSON;
            }
            parse_envelope(b, env);
        }
    } else {
        parse_envelope(b, root);
    }
    if (b->overflow) {
        gw_meta_batch_free(b);
        return GW_META_ERR_TOO_MANY;
    }
    *out = b;
    return GW_META_OK;
}

void gw_meta_batch_free(gw_meta_batch *b)
{
    if (!b)
        return;
    json_decref(b->root);
    free(b->ev);
    free(b);
}

size_t gw_meta_batch_count(const gw_meta_batch *b)
{
    return b ? b->n : 0;
}

const gw_meta_event *gw_meta_batch_event(const gw_meta_batch *b, size_t i)
{
    return b && i < b->n ? &b->ev[i] : NULL;
}

gw_meta_platform gw_meta_batch_platform(const gw_meta_batch *b)
{
    return b ? b->platform : GW_META_NONE;
}

/* ---- outbound ------------------------------------------------------------------------- */

static bool utf8_ok(const char *s, size_t n)
{
    json_t *j = json_stringn(s, n); /* jansson validates UTF-8 */
    if (!j)
        return false;
    json_decref(j);
    return true;
}

static size_t utf8_chars(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            c++;
    return c;
}

bool gw_meta_text_fits(gw_meta_platform p, const char *text, size_t len)
{
    switch (p) {
    case GW_META_WHATSAPP: return utf8_chars(text, len) <= 4096;
    case GW_META_MESSENGER: return utf8_chars(text, len) <= 2000;
    case GW_META_INSTAGRAM: return len <= 1000;
    default: return false;
    }
}

static char *dump(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(o);
    if (!s)
        abort();
    return s;
}

static json_t *wa_to(const char *to)
{
    bool digits = *to != '\0';
    for (const char *p = to; *p; p++)
        if (*p < '0' || *p > '9')
            digits = false;
    if (!digits)
        return json_string(to); /* already "+…" or a BSUID */
    /* §4.2: without "+" Meta prepends the business number's country code. */
    size_t n = strlen(to);
    char *buf = malloc(n + 2);
    if (!buf)
        abort();
    buf[0] = '+';
    memcpy(buf + 1, to, n + 1);
    json_t *j = json_string(buf);
    free(buf);
    return j;
}

char *gw_meta_build_text(gw_meta_platform p, const char *to, const char *text, size_t text_len,
                         const char *callback, gw_meta_tag tag)
{
    if (!to || !*to || (!text && text_len) || !utf8_ok(text ? text : "", text_len))
        return NULL;
    json_t *o = json_object();
    if (p == GW_META_WHATSAPP) {
        if (tag != GW_META_TAG_NONE) {
            json_decref(o);
            return NULL;
        }
        json_object_set_new(o, "messaging_product", json_string("whatsapp"));
        json_object_set_new(o, "recipient_type", json_string("individual"));
        json_object_set_new(o, "to", wa_to(to));
        json_object_set_new(o, "type", json_string("text"));
        json_object_set_new(
            o, "text",
            json_pack("{s:b,s:s%}", "preview_url", 0, "body", text ? text : "", text_len));
        if (callback)
            json_object_set_new(o, "biz_opaque_callback_data", json_string(callback));
        return dump(o);
    }
    if (p != GW_META_MESSENGER && p != GW_META_INSTAGRAM) {
        json_decref(o);
        return NULL;
    }
    json_object_set_new(o, "recipient", json_pack("{s:s}", "id", to));
    if (tag == GW_META_TAG_HUMAN_AGENT) {
        json_object_set_new(o, "messaging_type", json_string("MESSAGE_TAG"));
        json_object_set_new(o, "tag", json_string("HUMAN_AGENT"));
    } else {
        json_object_set_new(o, "messaging_type", json_string("RESPONSE"));
    }
    json_t *msg = json_pack("{s:s%}", "text", text ? text : "", text_len);
    if (callback)
        json_object_set_new(msg, "metadata", json_string(callback));
    json_object_set_new(o, "message", msg);
    return dump(o);
}

char *gw_meta_build_template(const char *to, const char *name, const char *lang,
                             const char *callback)
{
    if (!to || !*to || !name || !*name || !lang || !*lang)
        return NULL;
    json_t *o = json_object();
    json_object_set_new(o, "messaging_product", json_string("whatsapp"));
    json_object_set_new(o, "recipient_type", json_string("individual"));
    json_object_set_new(o, "to", wa_to(to));
    json_object_set_new(o, "type", json_string("template"));
    json_object_set_new(o, "template",
                        json_pack("{s:s,s:{s:s}}", "name", name, "language", "code", lang));
    if (callback)
        json_object_set_new(o, "biz_opaque_callback_data", json_string(callback));
    return dump(o);
}

const char *gw_meta_class_name(gw_meta_class c)
{
    switch (c) {
    case GW_META_CLASS_OK: return "ok";
    case GW_META_CLASS_RETRY: return "retry";
    case GW_META_CLASS_THROTTLE: return "throttle";
    case GW_META_CLASS_THROTTLE_RECIPIENT: return "throttle_recipient";
    case GW_META_CLASS_WINDOW: return "window";
    case GW_META_CLASS_PERMANENT: return "permanent";
    case GW_META_CLASS_AUTH: return "auth";
    case GW_META_CLASS_CONFIG: return "config";
    case GW_META_CLASS_PAUSE: return "pause";
    }
    return "unknown";
}

static gw_meta_class classify_wa(long code)
{
    switch (code) {
    case 0:
    case 190: return GW_META_CLASS_AUTH;
    case 3:
    case 10:
    case 131005:
    case 131042:
    case 131045:
    case 133016: return GW_META_CLASS_CONFIG;
    case 4:
    case 80007:
    case 130429: return GW_META_CLASS_THROTTLE;
    case 131056: return GW_META_CLASS_THROTTLE_RECIPIENT;
    case 131048:
    case 131064:
    case 368:
    case 131031: return GW_META_CLASS_PAUSE;
    case 1:
    case 2:
    case 131016:
    case 133004:
    case 131000:
    case 131057:
    case 131053: return GW_META_CLASS_RETRY;
    case 131047: return GW_META_CLASS_WINDOW;
    default: break;
    }
    if (code >= 200 && code <= 299)
        return GW_META_CLASS_CONFIG;
    return GW_META_CLASS_PERMANENT; /* 100, 131008/9, 131021, 131026, 131049-51, 1320xx, … */
}

static gw_meta_class classify_fb(long code, long sub)
{
    switch (code) {
    case 10:
        if (sub == 2018278 || sub == 2534022)
            return GW_META_CLASS_WINDOW;
        if (sub == 1893063)
            return GW_META_CLASS_PAUSE;
        return GW_META_CLASS_PERMANENT; /* 2018065, 2018108: not allowed to message this user */
    case 100:
        if (sub == 2534029)
            return GW_META_CLASS_PAUSE;
        return GW_META_CLASS_PERMANENT;
    case 190:
    case 0: return GW_META_CLASS_AUTH;
    case 200:
        if (sub == 2534041)
            return GW_META_CLASS_CONFIG;
        return GW_META_CLASS_PERMANENT;
    case 551: return GW_META_CLASS_PERMANENT;
    case 613:
    case 4:
    case 17:
    case 32:
    case 80006:
    case 80002:
    case 80001: return GW_META_CLASS_THROTTLE;
    case 1200:
    case 2:
    case -1:
    case 1: return GW_META_CLASS_RETRY;
    case 368: return GW_META_CLASS_PAUSE;
    case 3: return GW_META_CLASS_CONFIG;
    default: return GW_META_CLASS_PERMANENT;
    }
}

gw_meta_class gw_meta_classify(gw_meta_platform p, long code, long subcode)
{
    return p == GW_META_WHATSAPP ? classify_wa(code) : classify_fb(code, subcode);
}

int gw_meta_parse_send_response(gw_meta_platform p, long http_status, const char *body, size_t len,
                                gw_meta_send_result *r)
{
    memset(r, 0, sizeof *r);
    if (!body || len == 0 || len > 1024 * 1024)
        return -1;
    json_error_t jerr;
    json_t *root = json_loadb(body, len, 0, &jerr);
    if (!json_is_object(root)) {
        json_decref(root);
        return -1;
    }
    int rc = -1;
    const json_t *err = json_object_get(root, "error");
    if (json_is_object(err)) {
        const json_t *c = json_object_get(err, "code"), *s = json_object_get(err, "error_subcode");
        if (json_is_integer(c)) {
            r->code = (long)json_integer_value(c);
            if (json_is_integer(s))
                r->subcode = (long)json_integer_value(s);
            rc = 0;
        }
    } else if (http_status >= 200 && http_status < 300) {
        const char *id = NULL;
        if (p == GW_META_WHATSAPP)
            id = jstr(json_array_get(json_object_get(root, "messages"), 0), "id");
        else
            id = jstr(root, "message_id");
        if (id && *id && strlen(id) < sizeof r->msg_id) {
            strcpy(r->msg_id, id);
            r->ok = true;
            rc = 0;
        } else if (json_is_true(json_object_get(root, "success"))) {
            r->ok = true;
            rc = 0;
        }
    }
    json_decref(root);
    return rc;
}

/* ---- windows -------------------------------------------------------------------------- */

#define DAY_MS (24LL * 3600 * 1000)

gw_meta_window gw_meta_window_at(gw_meta_platform p, int64_t last_user_ms, int64_t now_ms,
                                 bool human_agent, bool human, int64_t *remaining_s)
{
    int64_t age = now_ms - last_user_ms;
    if (age < 0)
        age = 0; /* clock skew: a future timestamp counts as "just now" */
    if (remaining_s)
        *remaining_s = 0;
    if (last_user_ms > 0 && age < DAY_MS) {
        if (remaining_s)
            *remaining_s = (DAY_MS - age) / 1000;
        return GW_META_WIN_OPEN;
    }
    if (p == GW_META_WHATSAPP)
        return GW_META_WIN_TEMPLATE;
    if (last_user_ms > 0 && human_agent && human && age < 7 * DAY_MS) {
        if (remaining_s)
            *remaining_s = (7 * DAY_MS - age) / 1000;
        return GW_META_WIN_HUMAN_AGENT;
    }
    return GW_META_WIN_CLOSED;
}
