/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gw_totp: TOTP second factor (see gw_totp.h). libsodium has no HMAC-SHA1, so a small
 * SHA-1 (FIPS 180-4) lives here; it is used only inside HMAC for RFC 4226/6238, where
 * SHA-1's collision weakness does not matter. The CLI part uses blocking libpq through
 * gw_cli_db_connect, like the other admin commands.
 */
#include "gw_totp.h"
#include "gw_cli.h"
#include "gw_keys.h"
#include "gw_log.h"
#include "seal.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- SHA-1 and HMAC-SHA1 ------------------------------------------------------------- */

typedef struct {
    uint32_t h[5];
    uint64_t len;
    uint8_t buf[64];
    size_t n;
} sha1_ctx;

static uint32_t rol(uint32_t x, unsigned n)
{
    return (x << n) | (x >> (32u - n));
}

static void sha1_block(sha1_ctx *c, const uint8_t *p)
{
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
    for (int i = 16; i < 80; i++)
        w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = c->h[0], b = c->h[1], cc = c->h[2], d = c->h[3], e = c->h[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) {
            f = (b & cc) | (~b & d);
            k = 0x5A827999u;
        } else if (i < 40) {
            f = b ^ cc ^ d;
            k = 0x6ED9EBA1u;
        } else if (i < 60) {
            f = (b & cc) | (b & d) | (cc & d);
            k = 0x8F1BBCDCu;
        } else {
            f = b ^ cc ^ d;
            k = 0xCA62C1D6u;
        }
        uint32_t t = rol(a, 5) + f + e + k + w[i];
        e = d;
        d = cc;
        cc = rol(b, 30);
        b = a;
        a = t;
    }
    c->h[0] += a;
    c->h[1] += b;
    c->h[2] += cc;
    c->h[3] += d;
    c->h[4] += e;
    sodium_memzero(w, sizeof w);
}

static void sha1_init(sha1_ctx *c)
{
    static const uint32_t iv[5] = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u,
                                   0xC3D2E1F0u};
    memcpy(c->h, iv, sizeof iv);
    c->len = 0;
    c->n = 0;
}

static void sha1_update(sha1_ctx *c, const uint8_t *p, size_t n)
{
    c->len += n;
    while (n) {
        size_t k = 64 - c->n < n ? 64 - c->n : n;
        memcpy(c->buf + c->n, p, k);
        c->n += k;
        p += k;
        n -= k;
        if (c->n == 64) {
            sha1_block(c, c->buf);
            c->n = 0;
        }
    }
}

static void sha1_final(sha1_ctx *c, uint8_t out[20])
{
    uint64_t bits = c->len * 8;
    uint8_t pad = 0x80, zero = 0;
    sha1_update(c, &pad, 1);
    while (c->n != 56)
        sha1_update(c, &zero, 1);
    uint8_t l[8];
    for (int i = 0; i < 8; i++)
        l[i] = (uint8_t)(bits >> (56 - 8 * i));
    sha1_update(c, l, 8);
    for (int i = 0; i < 5; i++) {
        out[4 * i] = (uint8_t)(c->h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(c->h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(c->h[i] >> 8);
        out[4 * i + 3] = (uint8_t)c->h[i];
    }
    sodium_memzero(c, sizeof *c);
}

static void hmac_sha1(const uint8_t *key, size_t keylen, const uint8_t *msg, size_t n,
                      uint8_t out[20])
{
    uint8_t k[64] = {0}, ipad[64], opad[64], inner[20];
    sha1_ctx c;
    if (keylen > 64) {
        sha1_init(&c);
        sha1_update(&c, key, keylen);
        sha1_final(&c, k);
    } else {
        memcpy(k, key, keylen);
    }
    for (int i = 0; i < 64; i++) {
        ipad[i] = (uint8_t)(k[i] ^ 0x36);
        opad[i] = (uint8_t)(k[i] ^ 0x5c);
    }
    sha1_init(&c);
    sha1_update(&c, ipad, 64);
    sha1_update(&c, msg, n);
    sha1_final(&c, inner);
    sha1_init(&c);
    sha1_update(&c, opad, 64);
    sha1_update(&c, inner, 20);
    sha1_final(&c, out);
    sodium_memzero(k, sizeof k);
    sodium_memzero(ipad, sizeof ipad);
    sodium_memzero(opad, sizeof opad);
}

uint32_t gw_totp_hotp(const uint8_t *key, size_t keylen, uint64_t counter)
{
    uint8_t msg[8], mac[20];
    for (int i = 0; i < 8; i++)
        msg[i] = (uint8_t)(counter >> (56 - 8 * i));
    hmac_sha1(key, keylen, msg, 8, mac);
    unsigned off = mac[19] & 0x0f;
    uint32_t bin = (uint32_t)(mac[off] & 0x7f) << 24 | (uint32_t)mac[off + 1] << 16 |
                   (uint32_t)mac[off + 2] << 8 | (uint32_t)mac[off + 3];
    sodium_memzero(mac, sizeof mac);
    return bin % 1000000u;
}

bool gw_totp_verify(const uint8_t *key, size_t keylen, const char *code, time_t now)
{
    if (!code || strlen(code) != 6 || strspn(code, "0123456789") != 6)
        return false;
    uint64_t step = (uint64_t)now / 30u;
    bool ok = false;
    for (int d = -1; d <= 1; d++) {
        char want[8];
        snprintf(want, sizeof want, "%06u", (unsigned)gw_totp_hotp(key, keylen, step + (uint64_t)(int64_t)d));
        ok |= sodium_memcmp(want, code, 6) == 0; /* all three compared: no early exit */
    }
    return ok;
}

/* ---- sealing ------------------------------------------------------------------------- */

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

/* blob: version (4, big-endian) || wrapped data key (SEAL_WRAPPED_BYTES) || sealed secret */
#define BLOB_LEN (4 + SEAL_WRAPPED_BYTES + SEAL_OVERHEAD + GW_TOTP_SECRET_BYTES)

int gw_totp_seal(const seal_keyring *kr, const char *staff_id,
                 const uint8_t secret[GW_TOTP_SECRET_BYTES], uint8_t **out, size_t *outlen)
{
    uint8_t sid[16], zero[16] = {0};
    if (!uuid16(staff_id, sid))
        return -1;
    seal_datakey *dk = NULL;
    uint8_t *b = calloc(1, BLOB_LEN);
    if (!b)
        abort();
    size_t wl = 0, sl = 0;
    uint32_t ver = 0;
    if (seal_datakey_new(&dk) != SEAL_OK ||
        seal_datakey_wrap(kr, dk, sid, b + 4, SEAL_WRAPPED_BYTES, &wl, &ver) != SEAL_OK ||
        seal_message_seal(dk, sid, zero, (const char *)secret, GW_TOTP_SECRET_BYTES,
                          b + 4 + SEAL_WRAPPED_BYTES, SEAL_OVERHEAD + GW_TOTP_SECRET_BYTES,
                          &sl) != SEAL_OK) {
        seal_datakey_free(dk);
        free(b);
        return -1;
    }
    seal_datakey_free(dk);
    b[0] = (uint8_t)(ver >> 24);
    b[1] = (uint8_t)(ver >> 16);
    b[2] = (uint8_t)(ver >> 8);
    b[3] = (uint8_t)ver;
    *out = b;
    *outlen = BLOB_LEN;
    return 0;
}

int gw_totp_open(const seal_keyring *kr, const char *staff_id, const char *bytea_hex,
                 uint8_t secret[GW_TOTP_SECRET_BYTES])
{
    uint8_t sid[16], zero[16] = {0}, b[BLOB_LEN];
    if (!kr || !bytea_hex || !uuid16(staff_id, sid))
        return -1;
    if (bytea_hex[0] == '\\' && bytea_hex[1] == 'x')
        bytea_hex += 2;
    if (strlen(bytea_hex) != 2 * BLOB_LEN)
        return -1;
    for (size_t i = 0; i < BLOB_LEN; i++) {
        int hi = hexval((unsigned char)bytea_hex[2 * i]), lo = hexval((unsigned char)bytea_hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        b[i] = (uint8_t)(hi << 4 | lo);
    }
    uint32_t ver = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    seal_datakey *dk = NULL;
    char plain[GW_TOTP_SECRET_BYTES + 1];
    size_t pl = 0;
    int rc = -1;
    if (seal_datakey_unwrap(kr, ver, sid, b + 4, SEAL_WRAPPED_BYTES, &dk) == SEAL_OK &&
        seal_message_open(dk, sid, zero, b + 4 + SEAL_WRAPPED_BYTES,
                          SEAL_OVERHEAD + GW_TOTP_SECRET_BYTES, plain, sizeof plain,
                          &pl) == SEAL_OK &&
        pl == GW_TOTP_SECRET_BYTES) {
        memcpy(secret, plain, GW_TOTP_SECRET_BYTES);
        rc = 0;
    }
    sodium_memzero(plain, sizeof plain);
    seal_datakey_free(dk);
    return rc;
}

/* ---- CLI ----------------------------------------------------------------------------- */

static void base32(const uint8_t *in, size_t n, char *out)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    size_t o = 0;
    unsigned buf = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        buf = (buf << 8) | in[i];
        bits += 8;
        while (bits >= 5) {
            out[o++] = a[(buf >> (bits - 5)) & 31u];
            bits -= 5;
        }
    }
    if (bits > 0)
        out[o++] = a[(buf << (5 - bits)) & 31u];
    out[o] = '\0';
}

static void url_encode(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    for (; *s && o + 4 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '.' || ch == '_')
            out[o++] = (char)ch;
        else
            o += (size_t)snprintf(out + o, cap - o, "%%%02X", ch);
    }
    out[o] = '\0';
}

int gw_totp_cli_enable(const gw_config *cfg, const char *email)
{
    if (sodium_init() < 0 || seal_init() != SEAL_OK) {
        fprintf(stderr, "caregate: libsodium cannot initialise\n");
        return 1;
    }
    char err[512];
    seal_keyring *kr = NULL;
    if (gw_keys_load(cfg, &kr, err, sizeof err) != 0) {
        fprintf(stderr, "caregate: user totp: %s\n", err);
        return 1;
    }
    PGconn *c = gw_cli_db_connect(cfg);
    if (!c) {
        seal_keyring_free(kr);
        return 1;
    }
    int rc = 1;
    uint8_t secret[GW_TOTP_SECRET_BYTES], *blob = NULL;
    size_t bl = 0;
    PGresult *r = NULL;
    const char *ev[1] = {email};
    r = PQexecParams(c, "SELECT id FROM staff WHERE lower(email) = lower($1) AND disabled_at IS NULL",
                     1, NULL, ev, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        fprintf(stderr, "caregate: user totp: no active account with this e-mail\n");
        goto out;
    }
    char id[64];
    snprintf(id, sizeof id, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    r = NULL;
    randombytes_buf(secret, sizeof secret);
    if (gw_totp_seal(kr, id, secret, &blob, &bl) != 0) {
        fprintf(stderr, "caregate: user totp: sealing the secret failed\n");
        goto out;
    }
    char hex[2 * BLOB_LEN + 3] = "\\x";
    sodium_bin2hex(hex + 2, sizeof hex - 2, blob, bl);
    const char *vals[2] = {id, hex};
    /* one statement: the secret and its audit record commit together */
    r = PQexecParams(c,
                     "WITH u AS (UPDATE staff SET totp_secret = $2::bytea WHERE id = $1::uuid "
                     "RETURNING id) SELECT audit_append('account.totp_enabled', 'cli', 'staff:' "
                     "|| u.id::text, '{}'::jsonb) FROM u",
                     2, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        fprintf(stderr, "caregate: user totp: storing the secret failed: %s", PQerrorMessage(c));
        goto out;
    }
    char b32[64], label[512], issuer[256];
    base32(secret, sizeof secret, b32);
    url_encode(email, label, sizeof label);
    url_encode(cfg->clinic_name && *cfg->clinic_name ? cfg->clinic_name : "caregate", issuer,
               sizeof issuer);
    /* printed once, to the administrator's terminal only; never logged */
    printf("otpauth://totp/%s:%s?secret=%s&issuer=%s&algorithm=SHA1&digits=6&period=30\n", issuer,
           label, b32, issuer);
    sodium_memzero(b32, sizeof b32);
    gw_info("user", "totp enabled staff=%s", id);
    rc = 0;
out:
    PQclear(r);
    sodium_memzero(secret, sizeof secret);
    free(blob);
    gw_cli_db_close(cfg, c);
    seal_keyring_free(kr);
    return rc;
}
