/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gw_policy: policy file, office hours, redaction and outbound decisions for the gateway
 * (see gw_policy.h). Everything here is synchronous and cheap (one linear redaction pass
 * per message); it runs on the loop thread.
 *
 * Privacy: nothing returned for logs or audit records carries text; findings are
 * categories with counts and rule names with counts. Buffers that held message text are
 * wiped before they are freed.
 */
#define _GNU_SOURCE /* timegm, strptime */
#include "gw_policy.h"
#include "gw_log.h"

#include "decide.h"
#include "langid.h"
#include "redact.h"
#include "redact_dlp.h"
#include "rules.h"
#include "seal.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PREVIEW_BYTES 80
#define POLICY_MAX_BYTES (1024 * 1024)
#define DLP_MAX 64

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n, sz);
    if (!p)
        abort();
    return p;
}

/* Reads and parses the policy file at `path` (NULL or empty: the built-in policy) into
 * *out, and the clinic's phone for the console's canned answers ({clinic_phone}) into
 * phone: the first official contact that is a phone number (rules.h has no list getter).
 * Returns 0, or -1 with a message in err; *out is the caller's to free. */
static int policy_read(const char *path, rules **out, char *phone, size_t phonelen, char *err,
                       size_t errlen)
{
    char *buf = NULL;
    size_t len = 0;
    *out = NULL;
    if (path && *path) {
        FILE *f = fopen(path, "rb");
        if (!f) {
            snprintf(err, errlen, "policy_file %s: %s", path, strerror(errno));
            return -1;
        }
        buf = xcalloc(POLICY_MAX_BYTES + 1, 1);
        len = fread(buf, 1, POLICY_MAX_BYTES + 1, f);
        fclose(f);
        if (len > POLICY_MAX_BYTES) {
            free(buf);
            snprintf(err, errlen, "policy_file %s: larger than 1 MiB", path);
            return -1;
        }
    } else {
        buf = xcalloc(3, 1);
        memcpy(buf, "{}", 2);
        len = 2;
    }
    char rerr[256] = "";
    rules *r = NULL;
    int rc = rules_parse(buf, len, &r, rerr, sizeof rerr);
    phone[0] = '\0';
    if (rc == RULES_OK) {
        json_t *root = json_loadb(buf, len, 0, NULL);
        json_t *oc = json_object_get(root, "official_contacts");
        size_t i;
        json_t *x;
        json_array_foreach(oc, i, x)
        {
            const char *v = json_string_value(x);
            if (v && (v[0] == '+' || (v[0] >= '0' && v[0] <= '9'))) {
                snprintf(phone, phonelen, "%s", v);
                break;
            }
        }
        json_decref(root);
    }
    free(buf);
    if (rc != RULES_OK) {
        snprintf(err, errlen, "policy_file %s: %s", path && *path ? path : "(built-in)", rerr);
        return -1;
    }
    *out = r;
    return 0;
}

int gw_policy_load(gw_app *app, char *err, size_t errlen)
{
    rules *r = NULL;
    if (policy_read(app->cfg->policy_file, &r, app->clinic_phone, sizeof app->clinic_phone, err,
                    errlen) != 0)
        return -1;
    /* TZ is set once here, before the loop and before any thread: see gw_policy.h */
    const char *tz = rules_timezone(r);
    char zf[512];
    snprintf(zf, sizeof zf, "/usr/share/zoneinfo/%s", tz);
    if (strcmp(tz, "UTC") != 0 && access(zf, R_OK) != 0) {
        snprintf(err, errlen, "policy_file: timezone %s is not installed (tzdata)", tz);
        rules_free(r);
        return -1;
    }
    setenv("TZ", tz, 1);
    tzset();
    redact_engine *eng = redact_engine_new();
    if (!eng) {
        rules_free(r);
        snprintf(err, errlen, "out of memory creating the redaction engine");
        return -1;
    }
    app->rules = r;
    app->redact = eng;
    gw_info("policy", "policy %s (%.12s) loaded, time zone %s", rules_version_label(r),
            rules_version_hash(r), tz);
    return 0;
}

int gw_policy_reload(gw_app *app, char *err, size_t errlen)
{
    rules *r = NULL;
    char phone[sizeof app->clinic_phone];
    if (policy_read(app->cfg->policy_file, &r, phone, sizeof phone, err, errlen) != 0)
        return -1;
    /* TZ may only be set before threads exist (gw_policy.h), so a new zone waits for a
     * restart; refusing the whole file keeps office hours and texts from one policy. */
    if (app->rules && strcmp(rules_timezone(r), rules_timezone(app->rules)) != 0) {
        snprintf(err, errlen, "policy_file: the time zone changed (%s to %s); restart to apply it",
                 rules_timezone(app->rules), rules_timezone(r));
        rules_free(r);
        return -1;
    }
    /* Every reader takes app->rules afresh on the loop thread and keeps nothing from it
     * across a callback, so freeing the old policy here is safe. */
    rules_free(app->rules);
    app->rules = r;
    memcpy(app->clinic_phone, phone, sizeof phone);
    gw_info("policy", "policy %s (%.12s) reloaded", rules_version_label(r),
            rules_version_hash(r));
    return 0;
}

void gw_policy_free(gw_app *app)
{
    rules_free(app->rules);
    app->rules = NULL;
    redact_engine_free(app->redact);
    app->redact = NULL;
}

static void iso_utc(time_t t, char out[32])
{
    struct tm g;
    gmtime_r(&t, &g);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &g);
}

void gw_policy_office(const gw_app *app, time_t now, bool *open, char next_iso[32])
{
    struct tm lt, nx;
    bool has_next = false;
    localtime_r(&now, &lt);
    memset(&nx, 0, sizeof nx);
    rules_office_state(app->rules, &lt, open, &nx, &has_next);
    next_iso[0] = '\0';
    if (!*open && has_next) {
        nx.tm_sec = 0;
        nx.tm_isdst = -1; /* let mktime find DST in the policy's zone */
        time_t t = mktime(&nx);
        if (t != (time_t)-1)
            iso_utc(t, next_iso);
    }
}

json_t *gw_policy_office_json(const gw_app *app, time_t now, const char *lang)
{
    bool open = true;
    char next[32];
    gw_policy_office(app, now, &open, next);
    json_t *em = json_array();
    for (size_t i = 0; i < rules_emergency_count(app->rules); i++)
        json_array_append_new(em, json_pack("{s:s, s:s}", "number",
                                            rules_emergency_number(app->rules, i), "label",
                                            rules_emergency_label(app->rules, i, lang)));
    return json_pack("{s:b, s:o, s:o, s:I}", "open", open, "next_open",
                     *next ? json_string(next) : json_null(), "emergency", em,
                     "first_reply_minutes", (json_int_t)rules_first_reply_minutes(app->rules));
}

/* Appends s to a growing buffer. */
static void cat(char **b, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n + 1 > *cap) {
        *cap = (*len + n + 1) * 2;
        char *nb = realloc(*b, *cap);
        if (!nb)
            abort();
        *b = nb;
    }
    memcpy(*b + *len, s, n);
    *len += n;
    (*b)[*len] = '\0';
}

char *gw_policy_closed_reply(const gw_app *app, const char *lang, const char *next_iso)
{
    const char *l = lang && *lang ? lang : "de";
    /* {next_open}: the local date and time, written the way the language writes it */
    char when[64] = "";
    if (next_iso && *next_iso) {
        struct tm g = {0}, lt;
        if (strptime(next_iso, "%Y-%m-%dT%H:%M:%SZ", &g)) {
            time_t t = timegm(&g);
            localtime_r(&t, &lt);
            if (strcmp(l, "en") == 0)
                strftime(when, sizeof when, "%Y-%m-%d %H:%M", &lt);
            else if (strcmp(l, "hu") == 0)
                strftime(when, sizeof when, "%Y.%m.%d. %H:%M", &lt);
            else
                strftime(when, sizeof when, "%d.%m.%Y %H:%M", &lt);
        }
    }
    if (!*when) {
        const char *asap = strcmp(l, "en") == 0   ? "as soon as possible"
                           : strcmp(l, "pl") == 0 ? "najszybciej, jak to możliwe"
                           : strcmp(l, "hu") == 0 ? "a lehető leghamarabb"
                                                  : "so bald wie möglich";
        snprintf(when, sizeof when, "%s", asap);
    }
    char *em = NULL;
    size_t el = 0, ec = 0;
    cat(&em, &el, &ec, "", 0);
    for (size_t i = 0; i < rules_emergency_count(app->rules); i++) {
        if (i)
            cat(&em, &el, &ec, " / ", 3);
        const char *n = rules_emergency_number(app->rules, i);
        cat(&em, &el, &ec, n, strlen(n));
    }
    const char *tpl = rules_text(app->rules, RULES_TEXT_CLOSED_REPLY, l);
    char *out = NULL;
    size_t ol = 0, oc = 0;
    cat(&out, &ol, &oc, "", 0);
    for (const char *p = tpl; *p;) {
        if (strncmp(p, "{next_open}", 11) == 0) {
            cat(&out, &ol, &oc, when, strlen(when));
            p += 11;
        } else if (strncmp(p, "{emergency}", 11) == 0) {
            cat(&out, &ol, &oc, em, el);
            p += 11;
        } else {
            cat(&out, &ol, &oc, p, 1);
            p++;
        }
    }
    free(em);
    return out;
}

/* ---- scanning ------------------------------------------------------------------------- */

static decide_channel channel_of(const char *ch)
{
    if (ch && strcmp(ch, "whatsapp") == 0)
        return DECIDE_CH_WHATSAPP;
    if (ch && strcmp(ch, "messenger") == 0)
        return DECIDE_CH_MESSENGER;
    if (ch && strcmp(ch, "instagram") == 0)
        return DECIDE_CH_INSTAGRAM;
    return DECIDE_CH_WEB;
}

static bool is_health(redact_category c)
{
    return c == REDACT_CONDITION || c == REDACT_MEDICATION || c == REDACT_TREATMENT ||
           c == REDACT_HEALTH_ID;
}

/* Scans text; returns the findings array (new, caller frees) and its count.
 * The text is scanned in the language it is written in when langid is sure, and with
 * every language's lists when it is not. The conversation's language is not used: for
 * WhatsApp, Messenger and Instagram it is only the language of the automatic replies
 * (a default), patients and staff write in their own, and a Polish message scanned
 * with the German lists loses most of its health words (docs/redaction.md). */
static redact_finding *scan(const gw_app *app, const char *text, size_t len, size_t *n)
{
    size_t max = len + 1;
    redact_finding *f = xcalloc(max, sizeof *f);
    *n = 0;
    int rc = redact_scan(app->redact, text, len, langid_guess(text, len, NULL), f, max, n);
    if (rc != REDACT_OK && rc != REDACT_E_NOSPACE)
        *n = 0;
    return f;
}

static void count_into(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    json_object_set_new(o, key, json_integer(v ? json_integer_value(v) + 1 : 1));
}

static void fill_scan(const redact_finding *f, size_t n, gw_policy_scan *s)
{
    memset(s, 0, sizeof *s);
    if (n == 0)
        return;
    s->findings = json_object();
    s->rules = json_object();
    for (size_t i = 0; i < n; i++) {
        count_into(s->findings, redact_category_name(f[i].cat));
        count_into(s->rules, redact_rule_name(f[i].rule_id));
        if (is_health(f[i].cat))
            s->n_health++;
    }
    s->n = n;
}

void gw_policy_scan_clear(gw_policy_scan *s)
{
    json_decref(s->findings);
    json_decref(s->rules);
    memset(s, 0, sizeof *s);
}

static json_t *details(const gw_app *app, const decide_result *r, const char *channel,
                       const char *direction, json_t *cats, json_t *rule_counts)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:O, s:O, s:s}", "action",
                     decide_action_name(r->action), "reason", decide_reason_name(r->reason),
                     "channel", channel, "direction", direction, "categories",
                     cats, "rules", rule_counts,
                     "policy", rules_version_hash(app->rules));
}

json_t *gw_policy_inbound(const gw_app *app, const char *channel, const char *text, size_t len,
                          gw_policy_scan *s)
{
    size_t n = 0;
    redact_finding *f = scan(app, text, len, &n);
    fill_scan(f, n, s);
    decide_input in = {DECIDE_INBOUND, channel_of(channel), DECIDE_SINK_DELIVERY, 0, f, n, NULL,
                       0, rules_decisions(app->rules)};
    decide_result r;
    memset(&r, 0, sizeof r);
    if (decide_message(&in, &r) != REDACT_OK)
        r.action = DECIDE_ALLOW;
    s->suggest_secure = (r.flags & DECIDE_F_SUGGEST_SECURE) != 0;
    free(f);
    json_t *empty = json_object();
    json_t *d = details(app, &r, channel ? channel : "web", "inbound",
                        s->findings ? s->findings : empty, s->rules ? s->rules : empty);
    json_decref(empty);
    return d;
}

static const char *dlp_category(redact_dlp_kind k)
{
    switch (k) {
    case REDACT_DLP_PHONE:
        return "PHONE";
    case REDACT_DLP_EMAIL:
        return "EMAIL";
    case REDACT_DLP_HANDLE:
        return "HANDLE";
    default:
        return "PROFILE_LINK";
    }
}

static json_t *findings_list(json_t *counts)
{
    json_t *arr = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(counts, k, v)
        json_array_append_new(arr, json_pack("{s:s, s:I}", "category", k, "count",
                                             (json_int_t)json_integer_value(v)));
    return arr;
}

void gw_policy_out_clear(gw_policy_out *o)
{
    json_decref(o->details);
    json_decref(o->findings);
    if (o->text) {
        sodium_memzero(o->text, o->text_len);
        free(o->text);
    }
    memset(o, 0, sizeof *o);
}

bool gw_policy_may_override(const gw_app *app, const char *role)
{
    return app->rules && rules_may_override(app->rules, role);
}

/* The explanation staff see with a refused reply: what was found, and whether and how
 * they can still send it (decisions.outbound.<channel> in the policy file). can_override:
 * this sender may send it with "override":true, computed once in gw_policy_outbound, which
 * also tells the console. */
static const char *block_message(bool ids, decide_action action, bool allowed_override,
                                 bool can_override)
{
    if (ids)
        return action == DECIDE_NEEDS_CONFIRMATION
                   ? (allowed_override ? "the reply contains a national id or IBAN: confirm with "
                                         "\"override\":true to send it over this platform"
                                       : "the reply contains a national id or IBAN and your role "
                                         "cannot confirm it: use the secure web chat")
                   : "national ids and IBANs must not be sent over this platform: use the secure "
                     "web chat";
    if (action == DECIDE_NEEDS_CONFIRMATION)
        return allowed_override ? "the reply contains health data: confirm with "
                                  "\"override\":true to send it with the health data redacted, "
                                  "or use the secure web chat"
                                : "the reply contains health data and your role cannot confirm "
                                  "it: use the secure web chat";
    return can_override ? "health data must not be sent over this platform: use the secure web "
                          "chat, or send redacted with \"override\":true"
                        : "health data must not be sent over this platform: use the secure web chat";
}

void gw_policy_outbound(const gw_app *app, const char *channel, const char *text, size_t len,
                        bool override, bool allowed_override, gw_policy_out *out)
{
    memset(out, 0, sizeof *out);
    size_t n = 0;
    redact_finding *f = scan(app, text, len, &n);
    redact_dlp_hit raw[DLP_MAX], hits[DLP_MAX];
    size_t nraw = 0, nh = 0;
    int drc = redact_dlp_scan(text, len, f, n, NULL, 0, raw, DLP_MAX, &nraw);
    if (drc != REDACT_OK && drc != REDACT_E_NOSPACE)
        nraw = 0;
    for (size_t i = 0; i < nraw; i++) /* the clinic's own contacts pass */
        if (!rules_is_official_contact(app->rules, text + raw[i].start,
                                       raw[i].end - raw[i].start))
            hits[nh++] = raw[i];
    /* findings on official contacts are not personal data of anyone: drop them too, so an
     * allowed message is not counted as carrying a PHONE */
    gw_policy_scan s;
    fill_scan(f, n, &s);
    bool use_override = override && allowed_override;
    decide_input in = {DECIDE_OUTBOUND, channel_of(channel), DECIDE_SINK_DELIVERY,
                       use_override ? 1 : 0, f, n, hits, nh, rules_decisions(app->rules)};
    decide_result r;
    memset(&r, 0, sizeof r);
    if (decide_message(&in, &r) != REDACT_OK) {
        r.action = DECIDE_BLOCK; /* fail closed */
        r.reason = DECIDE_R_CLEAN;
    }
    json_t *cats = json_object(), *rl = json_object();
    if (r.reason == DECIDE_R_UNOFFICIAL_CONTACT) {
        for (size_t i = 0; i < nh; i++) {
            count_into(cats, dlp_category(hits[i].kind));
            char rn[48];
            snprintf(rn, sizeof rn, "dlp.%s", redact_dlp_kind_name(hits[i].kind));
            count_into(rl, rn);
        }
    } else if (s.findings) {
        json_object_update(cats, s.findings);
        json_object_update(rl, s.rules);
    }
    out->action = (int)r.action;
    out->details = details(app, &r, channel ? channel : "web", "outbound", cats, rl);
    if (r.action == DECIDE_BLOCK || r.action == DECIDE_NEEDS_CONFIRMATION) {
        out->event = "policy.blocked";
        if (r.reason == DECIDE_R_UNOFFICIAL_CONTACT) {
            out->message = "personal contact details (phone, e-mail, handle or profile link) "
                           "that are not the clinic's official ones must not be sent";
        } else {
            /* only the categories that caused the verdict explain it */
            bool ids = r.reason == DECIDE_R_IDENTIFIER_TO_PLATFORM;
            json_t *h = json_object();
            const char *k;
            json_t *v;
            json_object_foreach(cats, k, v)
            {
                bool why = ids ? (strcmp(k, "NATIONAL_ID") == 0 || strcmp(k, "IBAN") == 0)
                               : (strcmp(k, "CONDITION") == 0 || strcmp(k, "MEDICATION") == 0 ||
                                  strcmp(k, "TREATMENT") == 0 || strcmp(k, "HEALTH_ID") == 0);
                if (why)
                    json_object_set(h, k, v);
            }
            json_object_clear(cats);
            json_object_update(cats, h);
            json_decref(h);
            /* the message and the console's button offer the same override */
            out->can_override =
                !use_override && allowed_override &&
                (r.action == DECIDE_NEEDS_CONFIRMATION ||
                 (!ids && rules_decisions(app->rules)->health_override[channel_of(channel)]));
            out->override_redacts = !ids;
            out->message = block_message(ids, r.action, allowed_override, out->can_override);
        }
        out->findings = findings_list(cats);
    } else if (r.action == DECIDE_REDACT) {
        out->event = (r.flags & DECIDE_F_OVERRIDE_USED) ? "policy.override" : "policy.decision";
        /* send the text with the categories the decision names replaced */
        redact_finding *hf = xcalloc(n ? n : 1, sizeof *hf);
        size_t nhf = 0;
        for (size_t i = 0; i < n; i++)
            if (((r.flags & DECIDE_F_REDACT_HEALTH) && is_health(f[i].cat)) ||
                ((r.flags & DECIDE_F_REDACT_IDS) &&
                 (f[i].cat == REDACT_NATIONAL_ID || f[i].cat == REDACT_IBAN)))
                hf[nhf++] = f[i];
        size_t cap = redact_apply_size(len, hf, nhf) + 1;
        out->text = xcalloc(cap, 1);
        if (redact_apply(text, len, hf, nhf, out->text, cap, &out->text_len) != REDACT_OK) {
            out->action = DECIDE_BLOCK;
            out->event = "policy.blocked";
            out->message = "the message could not be redacted";
            out->findings = findings_list(cats);
        }
        free(hf);
        out->findings = out->findings ? out->findings : json_array();
    } else {
        out->event = "policy.decision";
        out->text = xcalloc(len + 1, 1);
        memcpy(out->text, text, len);
        out->text_len = len;
        out->findings = json_array();
    }
    json_decref(cats);
    json_decref(rl);
    gw_policy_scan_clear(&s);
    free(f);
}

/* ---- previews ------------------------------------------------------------------------- */

char *gw_policy_preview(const gw_app *app, const char *text, size_t len)
{
    size_t n = 0;
    redact_finding *f = scan(app, text, len, &n);
    size_t cap = redact_apply_size(len, f, n) + 1;
    char *red = xcalloc(cap, 1);
    size_t rl = 0;
    if (redact_apply(text, len, f, n, red, cap, &rl) != REDACT_OK) {
        free(f);
        free(red);
        return NULL;
    }
    free(f);
    for (size_t i = 0; i < rl; i++) /* one line in the queue */
        if (red[i] == '\n' || red[i] == '\r' || red[i] == '\t')
            red[i] = ' ';
    if (rl > PREVIEW_BYTES) {
        size_t cut = PREVIEW_BYTES;
        while (cut > 0 && ((unsigned char)red[cut] & 0xC0) == 0x80) /* not mid-character */
            cut--;
        char *p = xcalloc(cut + 4, 1);
        memcpy(p, red, cut);
        memcpy(p + cut, "\xe2\x80\xa6", 3);
        sodium_memzero(red, rl);
        free(red);
        return p;
    }
    return red;
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

static long unhex(const char *s, uint8_t **out)
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

static bool uuid16(const char *s, uint8_t out[16])
{
    int j = 0;
    for (size_t i = 0; s[i] && j < 16; i++) {
        if (s[i] == '-')
            continue;
        int hi = hexval((unsigned char)s[i]), lo = s[i + 1] ? hexval((unsigned char)s[i + 1]) : -1;
        if (hi < 0 || lo < 0)
            return false;
        out[j++] = (uint8_t)(hi << 4 | lo);
        i++;
    }
    return j == 16;
}

char *gw_policy_preview_row(const gw_app *app, const char *conv, const char *msg_id,
                            const char *key_version,
                            const char *wrapped_hex, const char *body_hex)
{
    if (!app->kr || !msg_id || !*msg_id || !wrapped_hex || !*wrapped_hex || !body_hex)
        return NULL;
    uint8_t c16[16], m16[16];
    if (!uuid16(conv, c16) || !uuid16(msg_id, m16))
        return NULL;
    uint8_t *w = NULL, *b = NULL;
    long wl = unhex(wrapped_hex, &w);
    long bl = unhex(body_hex, &b);
    char *res = NULL;
    seal_datakey *dk = NULL;
    if (wl > 0 && bl > 0 &&
        seal_datakey_unwrap(app->kr, (uint32_t)strtoul(key_version, NULL, 10), c16, w,
                            (size_t)wl, &dk) == SEAL_OK) {
        size_t cap = seal_opened_len((size_t)bl) + 1, tl = 0;
        char *t = xcalloc(cap, 1);
        if (seal_message_open(dk, c16, m16, b, (size_t)bl, t, cap, &tl) == SEAL_OK)
            res = gw_policy_preview(app, t, tl);
        sodium_memzero(t, cap);
        free(t);
    }
    seal_datakey_free(dk);
    free(w);
    free(b);
    return res;
}
