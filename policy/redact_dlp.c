/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Outbound DLP for staff messages (see redact_dlp.h). Comparison rules:
 *  - phones compare by digits: the shorter number without its trunk '0' must
 *    be a suffix of the longer ("030 1234567" is "+49 30 1234567");
 *  - e-mail compares case-insensitively;
 *  - links compare lower-cased without scheme, "www." and trailing '/';
 *    a handle matches an official handle or the last path segment of an
 *    official link, and the other way round.
 * Linear in the text; the official list is small (a few entries) and each
 * hit is compared against all of it.
 */
#include "redact_dlp.h"

#include <string.h>

#define NORM_MAX 128

const char *redact_dlp_kind_name(redact_dlp_kind kind)
{
    switch (kind) {
    case REDACT_DLP_PHONE: return "phone";
    case REDACT_DLP_EMAIL: return "email";
    case REDACT_DLP_HANDLE: return "handle";
    case REDACT_DLP_PROFILE_LINK: return "profile_link";
    }
    return "unknown";
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

/* Digits of a phone number without international or trunk prefix zeros. */
static size_t phone_digits(const char *s, size_t n, char *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k < NORM_MAX; i++) {
        if (i + 2 < n && s[i] == '(' && s[i + 1] == '0' && s[i + 2] == ')') {
            i += 2; /* "+49 (0)30": the bracketed trunk zero is not dialled */
            continue;
        }
        if (s[i] >= '0' && s[i] <= '9')
            out[k++] = s[i];
    }
    size_t z = 0;
    while (z < k && out[z] == '0')
        z++;
    memmove(out, out + z, k - z);
    return k - z;
}

static int phone_equal(const char *a, size_t an, const char *b, size_t bn)
{
    char da[NORM_MAX], db[NORM_MAX];
    size_t la = phone_digits(a, an, da), lb = phone_digits(b, bn, db);
    if (la < 6 || lb < 6)
        return 0;
    if (la > lb)
        return memcmp(da + la - lb, db, lb) == 0;
    return memcmp(db + lb - la, da, la) == 0;
}

/* Lower-cased link without scheme, "www." and trailing '/', query or '#'. */
static size_t norm_link(const char *s, size_t n, char *out)
{
    if (n >= 8 && strncmp(s, "https://", 8) == 0) {
        s += 8;
        n -= 8;
    } else if (n >= 7 && strncmp(s, "http://", 7) == 0) {
        s += 7;
        n -= 7;
    }
    if (n >= 4 && strncmp(s, "www.", 4) == 0) {
        s += 4;
        n -= 4;
    }
    size_t k = 0;
    for (size_t i = 0; i < n && k < NORM_MAX && s[i] != '?' && s[i] != '#'; i++)
        out[k++] = lower(s[i]);
    while (k > 0 && out[k - 1] == '/')
        k--;
    return k;
}

/* Last path segment of a normalised link (the profile name), or the handle
 * without its '@'. */
static const char *last_segment(const char *s, size_t n, size_t *len)
{
    size_t i = n;
    while (i > 0 && s[i - 1] != '/' && s[i - 1] != '@')
        i--;
    *len = n - i;
    return s + i;
}

static int is_phoneish(const char *s)
{
    size_t d = 0, other = 0;
    for (; *s; s++) {
        if (*s >= '0' && *s <= '9')
            d++;
        else if (!strchr(" +-/()", *s))
            other++;
    }
    return d >= 6 && other == 0;
}

static int official_match(redact_dlp_kind kind, const char *s, size_t n,
                          const char *const *official, size_t n_official)
{
    char a[NORM_MAX], b[NORM_MAX];
    for (size_t i = 0; i < n_official; i++) {
        const char *o = official[i];
        if (!o)
            continue;
        size_t on = strlen(o);
        switch (kind) {
        case REDACT_DLP_PHONE:
            if (is_phoneish(o) && phone_equal(s, n, o, on))
                return 1;
            break;
        case REDACT_DLP_EMAIL:
            if (on == n) {
                size_t k = 0;
                while (k < n && lower(s[k]) == lower(o[k]))
                    k++;
                if (k == n)
                    return 1;
            }
            break;
        case REDACT_DLP_HANDLE:
        case REDACT_DLP_PROFILE_LINK: {
            if (is_phoneish(o) || (strchr(o, '@') && o[0] != '@'))
                break;
            size_t la = norm_link(s, n, a), lb = norm_link(o, on, b);
            if (la == lb && memcmp(a, b, la) == 0)
                return 1;
            size_t sa, sb;
            const char *pa = last_segment(a, la, &sa), *pb = last_segment(b, lb, &sb);
            int a_handle = kind == REDACT_DLP_HANDLE, b_handle = o[0] == '@';
            if ((a_handle || b_handle) && sa > 0 && sa == sb && memcmp(pa, pb, sa) == 0)
                return 1;
            break;
        }
        }
    }
    return 0;
}

static const char *const profile_hosts[] = {
    "wa.me/",         "api.whatsapp.com/", "chat.whatsapp.com/", "t.me/",         "telegram.me/",
    "m.me/",          "messenger.com/",    "facebook.com/",      "fb.com/",       "fb.me/",
    "instagram.com/", "instagr.am/",       "tiktok.com/",        "linkedin.com/", "x.com/",
    "twitter.com/",   "threads.net/",      "snapchat.com/",      "signal.me/",    "viber.com/"};

static int link_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && c != '"' && c != '<' && c != '>' && c != ')' && c != ',';
}

static int handle_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.';
}

/* Case-insensitive prefix test of s[i..] against a lower-case literal. */
static int has_prefix(const char *s, size_t i, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    if (i + l > n)
        return 0;
    for (size_t k = 0; k < l; k++)
        if (lower(s[i + k]) != lit[k])
            return 0;
    return 1;
}

typedef struct {
    redact_dlp_hit *out;
    size_t max, n;
    int full;
} sink;

static void add(sink *k, size_t s, size_t e, redact_dlp_kind kind)
{
    if (k->n == k->max) {
        k->full = 1;
        return;
    }
    k->out[k->n].start = s;
    k->out[k->n].end = e;
    k->out[k->n].kind = kind;
    k->n++;
}

int redact_dlp_scan(const char *text, size_t len, const redact_finding *f, size_t n_f,
                    const char *const *official, size_t n_official, redact_dlp_hit *out, size_t max,
                    size_t *n_out)
{
    if (n_out)
        *n_out = 0;
    if ((!text && len) || (!f && n_f) || (!official && n_official) || !out || !n_out)
        return REDACT_E_INVAL;
    sink k = {out, max, 0, 0};
    size_t fi = 0, i = 0;
    /* One merged left-to-right pass: findings are sorted, links and handles
     * are found between and after them, so hits come out sorted. */
    while (i < len) {
        if (fi < n_f && f[fi].start <= i) {
            const redact_finding *x = &f[fi++];
            if (x->end > len)
                return REDACT_E_INVAL;
            redact_dlp_kind kind = x->cat == REDACT_PHONE ? REDACT_DLP_PHONE : REDACT_DLP_EMAIL;
            if ((x->cat == REDACT_PHONE || x->cat == REDACT_EMAIL) &&
                !official_match(kind, text + x->start, x->end - x->start, official, n_official))
                add(&k, x->start, x->end, kind);
            if (x->end > i)
                i = x->end;
            continue;
        }
        unsigned char c = (unsigned char)text[i];
        int at_word_start = i == 0 || !handle_char((unsigned char)text[i - 1]);
        if (c == '@' && at_word_start && i + 2 < len && handle_char((unsigned char)text[i + 1])) {
            size_t e = i + 1;
            while (e < len && handle_char((unsigned char)text[e]) && e - i < 64)
                e++;
            while (e > i + 1 && text[e - 1] == '.')
                e--;
            if (e - i >= 3 &&
                !official_match(REDACT_DLP_HANDLE, text + i, e - i, official, n_official))
                add(&k, i, e, REDACT_DLP_HANDLE);
            i = e;
            continue;
        }
        if (at_word_start && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
            size_t s = i, p = i;
            if (has_prefix(text, p, len, "https://"))
                p += 8;
            else if (has_prefix(text, p, len, "http://"))
                p += 7;
            if (has_prefix(text, p, len, "www."))
                p += 4;
            for (size_t h = 0; h < sizeof profile_hosts / sizeof profile_hosts[0]; h++) {
                if (!has_prefix(text, p, len, profile_hosts[h]))
                    continue;
                size_t e = p + strlen(profile_hosts[h]);
                size_t body = e;
                while (e < len && link_char((unsigned char)text[e]) && e - s < 256)
                    e++;
                while (e > body && (text[e - 1] == '.' || text[e - 1] == '!' || text[e - 1] == '?'))
                    e--;
                if (e > body &&
                    !official_match(REDACT_DLP_PROFILE_LINK, text + s, e - s, official, n_official))
                    add(&k, s, e, REDACT_DLP_PROFILE_LINK);
                i = e > s ? e : s + 1;
                goto next;
            }
            while (i < len && handle_char((unsigned char)text[i]))
                i++; /* skip the rest of this word */
            continue;
        }
        i++;
    next:;
    }
    *n_out = k.n;
    return k.full ? REDACT_E_NOSPACE : REDACT_OK;
}
