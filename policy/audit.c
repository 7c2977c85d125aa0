/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit: canonical encoding, hash chain, checkpoint signatures and the streaming
 * verifier (formats in audit.h). The appending side lives in SQL (gateway/sql/
 * 002_audit.sql) so that the chain is extended inside the same transaction as the action
 * it records; this file must hash exactly what that SQL hashes. The database side of
 * verification (reading rows, the head row) is gateway/gw_audit.c; this file only judges.
 */
#include "audit.h"

#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Sequence numbers and checkpoint numbers from untrusted input (exports) are bounded so
 * that "seq + 1" can never overflow. No real log gets anywhere near. */
#define SEQ_MAX (INT64_MAX / 4)

static const char REC_TAG[] = "caregate.audit.v1\n";
static const char CP_TAG[] = "caregate.audit.checkpoint.v1\n";

const char *audit_strerror(int status)
{
    switch (status) {
    case AUDIT_OK: return "ok";
    case AUDIT_ERR_ARG: return "invalid argument";
    case AUDIT_ERR_NOSPACE: return "output buffer too small";
    case AUDIT_ERR_HASH: return "hash mismatch";
    case AUDIT_ERR_CHAIN: return "broken chain";
    case AUDIT_ERR_GAP: return "gap";
    case AUDIT_ERR_ORDER: return "reordered";
    case AUDIT_ERR_SIGNATURE: return "bad signature";
    case AUDIT_ERR_CHECKPOINT: return "checkpoint mismatch";
    case AUDIT_ERR_TRUNCATED: return "truncated";
    case AUDIT_ERR_INIT: return "libsodium initialisation failed";
    default: return "unknown audit error";
    }
}

/* ---- text fields -------------------------------------------------------------------- */

/* Days since 1970-01-01 to civil date (H. Hinnant's algorithm, proleptic Gregorian). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

int audit_ts_format(int64_t unix_us, char *out, size_t cap)
{
    if (!out || cap < AUDIT_TS_LEN + 1 || unix_us < 0)
        return AUDIT_ERR_ARG;
    int64_t secs = unix_us / 1000000, us = unix_us % 1000000;
    int64_t days = secs / 86400, rem = secs % 86400;
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    if (y > 9999)
        return AUDIT_ERR_ARG;
    snprintf(out, cap, "%04d-%02u-%02uT%02d:%02d:%02d.%06dZ", (int)y, m, d, (int)(rem / 3600),
             (int)(rem / 60 % 60), (int)(rem % 60), (int)us);
    return AUDIT_OK;
}

static int digits(const char *s, size_t n, int *val)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *val = v;
    return 1;
}

int audit_ts_valid(const char *s)
{
    int y, mo, d, h, mi, se, us;
    if (!s || strlen(s) != AUDIT_TS_LEN)
        return 0;
    if (s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
        s[19] != '.' || s[26] != 'Z')
        return 0;
    if (!digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d) ||
        !digits(s + 11, 2, &h) || !digits(s + 14, 2, &mi) || !digits(s + 17, 2, &se) ||
        !digits(s + 20, 6, &us))
        return 0;
    (void)y;
    (void)us;
    return mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h < 24 && mi < 60 && se < 60;
}

int audit_event_valid(const char *s)
{
    if (!s)
        return 0;
    size_t n = strlen(s), dots = 0;
    if (n == 0 || n > 64)
        return 0;
    int word_start = 1;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (word_start) {
            if (c < 'a' || c > 'z')
                return 0;
            word_start = 0;
        } else if (c == '.') {
            dots++;
            word_start = 1;
        } else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) {
            return 0;
        }
    }
    (void)dots; /* "area.verb" is the convention, a bare word ("logout") is accepted */
    return !word_start;
}

/* ---- canonical bytes ---------------------------------------------------------------- */

/* Appends "<len>:<bytes>\n" at out+*pos when it fits; always advances *pos. */
static void put_field(uint8_t *out, size_t cap, size_t *pos, const char *s, size_t n)
{
    char num[24];
    int k = snprintf(num, sizeof num, "%zu:", n);
    const size_t parts[3] = {(size_t)k, n, 1};
    const void *src[3] = {num, s, "\n"};
    for (int i = 0; i < 3; i++) {
        if (*pos + parts[i] <= cap && parts[i])
            memcpy(out + *pos, src[i], parts[i]);
        *pos += parts[i];
    }
}

static void put_raw(uint8_t *out, size_t cap, size_t *pos, const char *s, size_t n)
{
    if (*pos + n <= cap)
        memcpy(out + *pos, s, n);
    *pos += n;
}

int audit_record_encode(const audit_record *r, uint8_t *out, size_t cap, size_t *len)
{
    if (!r || !len || !r->ts || !r->event || !r->actor || !r->subject || !r->details ||
        r->seq < 1 || (!out && cap))
        return AUDIT_ERR_ARG;
    char seq[24];
    int k = snprintf(seq, sizeof seq, "%lld", (long long)r->seq);
    size_t pos = 0;
    put_raw(out, cap, &pos, REC_TAG, sizeof REC_TAG - 1);
    put_field(out, cap, &pos, seq, (size_t)k);
    put_field(out, cap, &pos, r->ts, strlen(r->ts));
    put_field(out, cap, &pos, r->event, strlen(r->event));
    put_field(out, cap, &pos, r->actor, strlen(r->actor));
    put_field(out, cap, &pos, r->subject, strlen(r->subject));
    put_field(out, cap, &pos, r->details, strlen(r->details));
    *len = pos;
    return pos <= cap ? AUDIT_OK : AUDIT_ERR_NOSPACE;
}

/* Feeds one field into a running SHA-256 (same bytes as put_field). */
static void hash_field(crypto_hash_sha256_state *st, const char *s)
{
    char num[24];
    size_t n = strlen(s);
    int k = snprintf(num, sizeof num, "%zu:", n);
    crypto_hash_sha256_update(st, (const unsigned char *)num, (unsigned long long)k);
    crypto_hash_sha256_update(st, (const unsigned char *)s, n);
    crypto_hash_sha256_update(st, (const unsigned char *)"\n", 1);
}

int audit_record_hash(const audit_record *r, const uint8_t prev[AUDIT_HASH_BYTES],
                      uint8_t out[AUDIT_HASH_BYTES])
{
    if (!r || !prev || !out || !r->ts || !r->event || !r->actor || !r->subject || !r->details ||
        r->seq < 1)
        return AUDIT_ERR_ARG;
    if (sodium_init() < 0)
        return AUDIT_ERR_INIT;
    char seq[24];
    snprintf(seq, sizeof seq, "%lld", (long long)r->seq);
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, prev, AUDIT_HASH_BYTES);
    crypto_hash_sha256_update(&st, (const unsigned char *)REC_TAG, sizeof REC_TAG - 1);
    hash_field(&st, seq);
    hash_field(&st, r->ts);
    hash_field(&st, r->event);
    hash_field(&st, r->actor);
    hash_field(&st, r->subject);
    hash_field(&st, r->details);
    crypto_hash_sha256_final(&st, out);
    return AUDIT_OK;
}

int audit_checkpoint_message(const audit_checkpoint *cp, uint8_t *out, size_t cap, size_t *len)
{
    if (!cp || !len || !cp->ts || cp->n < 1 || cp->seq < 1 || (!out && cap))
        return AUDIT_ERR_ARG;
    char n[24], seq[24], hex[AUDIT_HASH_BYTES * 2 + 1];
    int kn = snprintf(n, sizeof n, "%lld", (long long)cp->n);
    int ks = snprintf(seq, sizeof seq, "%lld", (long long)cp->seq);
    sodium_bin2hex(hex, sizeof hex, cp->hash, AUDIT_HASH_BYTES);
    size_t pos = 0;
    put_raw(out, cap, &pos, CP_TAG, sizeof CP_TAG - 1);
    put_field(out, cap, &pos, n, (size_t)kn);
    put_field(out, cap, &pos, seq, (size_t)ks);
    put_field(out, cap, &pos, cp->ts, strlen(cp->ts));
    put_field(out, cap, &pos, hex, AUDIT_HASH_BYTES * 2);
    *len = pos;
    return pos <= cap ? AUDIT_OK : AUDIT_ERR_NOSPACE;
}

void audit_key_id(const uint8_t pk[AUDIT_PK_BYTES], char out[AUDIT_KEY_ID_LEN + 1])
{
    uint8_t h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, pk, AUDIT_PK_BYTES);
    sodium_bin2hex(out, AUDIT_KEY_ID_LEN + 1, h, AUDIT_KEY_ID_LEN / 2);
}

/* ---- signer ---------------------------------------------------------------------------- */

struct audit_signer {
    uint8_t sk[crypto_sign_SECRETKEYBYTES]; /* seed || public key, libsodium layout */
    uint8_t pk[crypto_sign_PUBLICKEYBYTES];
    char key_id[AUDIT_KEY_ID_LEN + 1];
};

int audit_signer_new(const uint8_t seed[AUDIT_SEED_BYTES], audit_signer **out)
{
    if (!out)
        return AUDIT_ERR_ARG;
    *out = NULL;
    if (!seed)
        return AUDIT_ERR_ARG;
    if (sodium_init() < 0)
        return AUDIT_ERR_INIT;
    audit_signer *s = calloc(1, sizeof *s);
    if (!s)
        abort();                      /* STYLE.md rule 12 */
    (void)sodium_mlock(s, sizeof *s); /* best effort, as in seal.c */
    crypto_sign_seed_keypair(s->pk, s->sk, seed);
    audit_key_id(s->pk, s->key_id);
    *out = s;
    return AUDIT_OK;
}

void audit_signer_free(audit_signer *s)
{
    if (!s)
        return;
    sodium_memzero(s, sizeof *s);
    (void)sodium_munlock(s, sizeof *s);
    free(s);
}

void audit_signer_public_key(const audit_signer *s, uint8_t pk[AUDIT_PK_BYTES])
{
    memcpy(pk, s->pk, AUDIT_PK_BYTES);
}

const char *audit_signer_key_id(const audit_signer *s)
{
    return s->key_id;
}

/* IMPLEMENTATION-OF: AUD-3. */
int audit_checkpoint_sign(const audit_signer *s, audit_checkpoint *cp)
{
    if (!s || !cp || !audit_ts_valid(cp->ts))
        return AUDIT_ERR_ARG;
    uint8_t msg[256];
    size_t len;
    int rc = audit_checkpoint_message(cp, msg, sizeof msg, &len);
    if (rc != AUDIT_OK)
        return rc;
    crypto_sign_detached(cp->signature, NULL, msg, len, s->sk);
    memcpy(cp->key_id, s->key_id, sizeof cp->key_id);
    return AUDIT_OK;
}

int audit_checkpoint_verify(const uint8_t pk[AUDIT_PK_BYTES], const audit_checkpoint *cp)
{
    if (!pk || !cp)
        return AUDIT_ERR_ARG;
    if (sodium_init() < 0)
        return AUDIT_ERR_INIT;
    uint8_t msg[256];
    size_t len;
    if (!cp->ts || !audit_ts_valid(cp->ts) ||
        audit_checkpoint_message(cp, msg, sizeof msg, &len) != AUDIT_OK)
        return AUDIT_ERR_SIGNATURE;
    return crypto_sign_verify_detached(cp->signature, msg, len, pk) == 0 ? AUDIT_OK
                                                                         : AUDIT_ERR_SIGNATURE;
}

/* ---- verifier -------------------------------------------------------------------------- */

typedef struct {
    int64_t n, seq;
    uint8_t hash[AUDIT_HASH_BYTES];
    int64_t announced_at; /* seq of its audit.checkpoint record, 0 when not seen */
    int matched;          /* its record was seen with the same hash */
} vcp;

typedef struct {
    uint8_t pk[AUDIT_PK_BYTES];
    char key_id[AUDIT_KEY_ID_LEN + 1];
} vkey;

struct audit_verifier {
    audit_verify_mode mode;
    vkey *keys;
    size_t nkeys;
    vcp *cps;
    size_t ncps, capcps;
    size_t next_cp; /* first checkpoint whose record is not yet reached */
    int64_t nrecords;
    int64_t first_seq, last_seq;
    uint8_t last_hash[AUDIT_HASH_BYTES];
    int64_t covered_seq;
    int status;
    int64_t bad_seq;
    char reason[256];
    int finished;
};

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz);
    if (!p)
        abort();
    return p;
}

int audit_verifier_new(audit_verify_mode mode, audit_verifier **out)
{
    if (!out)
        return AUDIT_ERR_ARG;
    if (sodium_init() < 0) {
        *out = NULL;
        return AUDIT_ERR_INIT;
    }
    audit_verifier *v = xcalloc(1, sizeof *v);
    v->mode = mode;
    *out = v;
    return AUDIT_OK;
}

void audit_verifier_free(audit_verifier *v)
{
    if (!v)
        return;
    free(v->keys);
    free(v->cps);
    free(v);
}

int audit_verifier_trust(audit_verifier *v, const uint8_t pk[AUDIT_PK_BYTES])
{
    if (!v || !pk)
        return AUDIT_ERR_ARG;
    vkey *nk = xcalloc(v->nkeys + 1, sizeof *nk);
    if (v->nkeys)
        memcpy(nk, v->keys, v->nkeys * sizeof *nk);
    memcpy(nk[v->nkeys].pk, pk, AUDIT_PK_BYTES);
    audit_key_id(pk, nk[v->nkeys].key_id);
    free(v->keys);
    v->keys = nk;
    v->nkeys++;
    return AUDIT_OK;
}

/* Records the first failure only; later ones are consequences and would mislead. */
__attribute__((format(printf, 4, 5))) static int fail(audit_verifier *v, int status, int64_t seq,
                                                      const char *fmt, ...)
{
    if (v->status != AUDIT_OK)
        return v->status;
    v->status = status;
    v->bad_seq = seq;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->reason, sizeof v->reason, fmt, ap);
    va_end(ap);
    return status;
}

int audit_verifier_checkpoint(audit_verifier *v, const audit_checkpoint *cp)
{
    if (!v || !cp)
        return AUDIT_ERR_ARG;
    if (v->status != AUDIT_OK)
        return v->status;
    if (cp->n < 1 || cp->n > SEQ_MAX || cp->seq < 1 || cp->seq > SEQ_MAX)
        return fail(v, AUDIT_ERR_CHECKPOINT, 0, "checkpoint with n or seq out of range");
    if (v->ncps == 0 && v->mode == AUDIT_VERIFY_FULL && cp->n != 1)
        return fail(v, AUDIT_ERR_GAP, cp->seq,
                    "checkpoint n=%lld (seq %lld): checkpoints before it are missing",
                    (long long)cp->n, (long long)cp->seq);
    if (v->ncps > 0) {
        const vcp *last = &v->cps[v->ncps - 1];
        if (cp->n <= last->n)
            return fail(v, AUDIT_ERR_ORDER, cp->seq,
                        "checkpoint n=%lld follows n=%lld: checkpoints reordered or duplicated",
                        (long long)cp->n, (long long)last->n);
        if (cp->n != last->n + 1)
            return fail(v, AUDIT_ERR_GAP, cp->seq,
                        "checkpoint n=%lld follows n=%lld: checkpoint(s) deleted", (long long)cp->n,
                        (long long)last->n);
        if (cp->seq <= last->seq)
            return fail(v, AUDIT_ERR_ORDER, cp->seq,
                        "checkpoint n=%lld covers seq %lld, not after seq %lld of n=%lld",
                        (long long)cp->n, (long long)cp->seq, (long long)last->seq,
                        (long long)last->n);
    }
    const vkey *k = NULL;
    for (size_t i = 0; i < v->nkeys; i++)
        if (strcmp(v->keys[i].key_id, cp->key_id) == 0)
            k = &v->keys[i];
    if (!k)
        return fail(v, AUDIT_ERR_SIGNATURE, cp->seq,
                    "checkpoint n=%lld (seq %lld): signed by unknown key %s", (long long)cp->n,
                    (long long)cp->seq, cp->key_id);
    if (audit_checkpoint_verify(k->pk, cp) != AUDIT_OK)
        return fail(v, AUDIT_ERR_SIGNATURE, cp->seq, "checkpoint n=%lld (seq %lld): bad signature",
                    (long long)cp->n, (long long)cp->seq);
    if (v->ncps == v->capcps) {
        size_t ncap = v->capcps ? v->capcps * 2 : 16;
        vcp *nc = xcalloc(ncap, sizeof *nc);
        if (v->ncps)
            memcpy(nc, v->cps, v->ncps * sizeof *nc);
        free(v->cps);
        v->cps = nc;
        v->capcps = ncap;
    }
    vcp *c = &v->cps[v->ncps++];
    memset(c, 0, sizeof *c);
    c->n = cp->n;
    c->seq = cp->seq;
    memcpy(c->hash, cp->hash, AUDIT_HASH_BYTES);
    return AUDIT_OK;
}

static vcp *cp_by_n(audit_verifier *v, int64_t n)
{
    if (v->ncps == 0 || n < v->cps[0].n || n > v->cps[v->ncps - 1].n)
        return NULL;
    return &v->cps[n - v->cps[0].n]; /* n is contiguous: checked on the way in */
}

/* An audit.checkpoint record says which checkpoint it announces: {"n":K,"seq":S,...}. */
static int check_announcement(audit_verifier *v, const audit_record *r)
{
    json_error_t jerr;
    json_t *d = json_loads(r->details, JSON_REJECT_DUPLICATES, &jerr);
    json_t *jn = d ? json_object_get(d, "n") : NULL;
    json_t *js = d ? json_object_get(d, "seq") : NULL;
    if (!json_is_integer(jn) || !json_is_integer(js)) {
        json_decref(d);
        return fail(v, AUDIT_ERR_CHECKPOINT, r->seq,
                    "record seq %lld: checkpoint announcement without n/seq", (long long)r->seq);
    }
    int64_t n = json_integer_value(jn), seq = json_integer_value(js);
    json_decref(d);
    vcp *c = cp_by_n(v, n);
    if (!c) {
        if (v->mode == AUDIT_VERIFY_PARTIAL)
            return AUDIT_OK; /* that checkpoint is outside the export */
        return fail(v, AUDIT_ERR_CHECKPOINT, r->seq,
                    "record seq %lld announces checkpoint n=%lld, which is missing",
                    (long long)r->seq, (long long)n);
    }
    if (c->seq != seq || seq >= r->seq || c->announced_at)
        return fail(
            v, AUDIT_ERR_CHECKPOINT, r->seq,
            "record seq %lld announces checkpoint n=%lld at seq %lld, but it covers seq %lld",
            (long long)r->seq, (long long)n, (long long)seq, (long long)c->seq);
    c->announced_at = r->seq;
    return AUDIT_OK;
}

/* IMPLEMENTATION-OF: AUD-2 (with audit_verifier_checkpoint and _finish). */
int audit_verifier_record(audit_verifier *v, const audit_record *r)
{
    if (!v || !r)
        return AUDIT_ERR_ARG;
    if (v->status != AUDIT_OK)
        return v->status;
    static const uint8_t zero[AUDIT_HASH_BYTES];
    if (r->seq < 1 || r->seq > SEQ_MAX)
        return fail(v, AUDIT_ERR_ORDER, v->last_seq + 1, "seq %lld: a record with seq out of range",
                    (long long)(v->last_seq + 1));
    if (v->nrecords == 0) {
        if (v->mode == AUDIT_VERIFY_FULL && r->seq != 1)
            return fail(v, r->seq > 1 ? AUDIT_ERR_GAP : AUDIT_ERR_ORDER, 1,
                        "seq 1: missing (the log starts at seq %lld)", (long long)r->seq);
        if (v->mode == AUDIT_VERIFY_FULL && sodium_memcmp(r->prev_hash, zero, sizeof zero) != 0)
            return fail(v, AUDIT_ERR_CHAIN, r->seq, "seq 1: prev_hash is not the genesis value");
        v->first_seq = r->seq;
    } else {
        if (r->seq <= v->last_seq)
            return fail(v, AUDIT_ERR_ORDER, r->seq,
                        "seq %lld: follows seq %lld (records reordered or duplicated)",
                        (long long)r->seq, (long long)v->last_seq);
        if (r->seq != v->last_seq + 1)
            return fail(v, AUDIT_ERR_GAP, v->last_seq + 1,
                        "seq %lld: missing (gap: seq %lld follows seq %lld)",
                        (long long)(v->last_seq + 1), (long long)r->seq, (long long)v->last_seq);
    }
    if (!r->ts || !r->event || !r->actor || !r->subject || !r->details)
        return fail(v, AUDIT_ERR_HASH, r->seq, "seq %lld: field missing", (long long)r->seq);
    uint8_t h[AUDIT_HASH_BYTES];
    if (audit_record_hash(r, r->prev_hash, h) != AUDIT_OK ||
        sodium_memcmp(h, r->hash, sizeof h) != 0)
        return fail(v, AUDIT_ERR_HASH, r->seq, "seq %lld: hash mismatch (record content changed)",
                    (long long)r->seq);
    if (v->nrecords > 0 && sodium_memcmp(r->prev_hash, v->last_hash, sizeof h) != 0)
        return fail(v, AUDIT_ERR_CHAIN, r->seq,
                    "seq %lld: prev_hash does not match the hash of seq %lld (record replaced, "
                    "moved or the one before it rewritten)",
                    (long long)r->seq, (long long)v->last_seq);
    /* Checkpoints before the first exported record cannot be matched (partial mode). */
    while (v->next_cp < v->ncps && v->cps[v->next_cp].seq < r->seq) {
        if (v->mode == AUDIT_VERIFY_FULL)
            return fail(v, AUDIT_ERR_CHECKPOINT, v->cps[v->next_cp].seq,
                        "checkpoint n=%lld points to missing seq %lld",
                        (long long)v->cps[v->next_cp].n, (long long)v->cps[v->next_cp].seq);
        v->next_cp++;
    }
    if (v->next_cp < v->ncps && v->cps[v->next_cp].seq == r->seq) {
        vcp *c = &v->cps[v->next_cp++];
        if (sodium_memcmp(c->hash, r->hash, sizeof h) != 0)
            return fail(v, AUDIT_ERR_CHECKPOINT, r->seq,
                        "seq %lld: differs from what checkpoint n=%lld signed (chain rewritten)",
                        (long long)r->seq, (long long)c->n);
        c->matched = 1;
        v->covered_seq = r->seq;
    }
    if (strcmp(r->event, "audit.checkpoint") == 0 && check_announcement(v, r) != AUDIT_OK)
        return v->status;
    v->nrecords++;
    v->last_seq = r->seq;
    memcpy(v->last_hash, r->hash, sizeof h);
    return AUDIT_OK;
}

int audit_verifier_finish(audit_verifier *v, int64_t head_seq, const uint8_t *head_hash)
{
    if (!v)
        return AUDIT_ERR_ARG;
    if (v->status != AUDIT_OK || v->finished)
        return v->status;
    v->finished = 1;
    if (v->mode == AUDIT_VERIFY_FULL && (head_seq < 0 || head_seq > SEQ_MAX))
        return fail(v, AUDIT_ERR_CHAIN, v->last_seq + 1,
                    "seq %lld: the head row's seq is out of range", (long long)(v->last_seq + 1));
    if (v->mode == AUDIT_VERIFY_FULL) {
        if (v->next_cp < v->ncps)
            return fail(v, AUDIT_ERR_TRUNCATED, v->last_seq + 1,
                        "seq %lld: missing: checkpoint n=%lld covers seq %lld but the log ends "
                        "at seq %lld (truncated)",
                        (long long)(v->last_seq + 1), (long long)v->cps[v->next_cp].n,
                        (long long)v->cps[v->next_cp].seq, (long long)v->last_seq);
        for (size_t i = 0; i < v->ncps; i++)
            if (!v->cps[i].announced_at)
                return fail(v, AUDIT_ERR_TRUNCATED, v->cps[i].seq + 1,
                            "seq %lld: missing: the announcement of checkpoint n=%lld (seq %lld) "
                            "is gone (log truncated after seq %lld)",
                            (long long)(v->cps[i].seq + 1), (long long)v->cps[i].n,
                            (long long)v->cps[i].seq, (long long)v->last_seq);
        if (head_seq > v->last_seq)
            return fail(v, AUDIT_ERR_TRUNCATED, v->last_seq + 1,
                        "seq %lld: missing: the head row says seq %lld but the log ends at seq "
                        "%lld (truncated)",
                        (long long)(v->last_seq + 1), (long long)head_seq, (long long)v->last_seq);
        if (head_seq < v->last_seq)
            return fail(v, AUDIT_ERR_ORDER, head_seq + 1,
                        "seq %lld: beyond the head row's seq %lld (records added outside "
                        "audit_append)",
                        (long long)(head_seq + 1), (long long)head_seq);
        if (head_hash && v->nrecords > 0 &&
            sodium_memcmp(head_hash, v->last_hash, AUDIT_HASH_BYTES) != 0)
            return fail(v, AUDIT_ERR_CHAIN, v->last_seq,
                        "seq %lld: differs from the head row's hash", (long long)v->last_seq);
    }
    return AUDIT_OK;
}

int64_t audit_verifier_bad_seq(const audit_verifier *v)
{
    return v->bad_seq;
}

const char *audit_verifier_reason(const audit_verifier *v)
{
    return v->reason;
}

int64_t audit_verifier_records(const audit_verifier *v)
{
    return v->nrecords;
}

int64_t audit_verifier_checkpoints(const audit_verifier *v)
{
    return (int64_t)v->ncps;
}

int64_t audit_verifier_covered_seq(const audit_verifier *v)
{
    return v->covered_seq;
}
