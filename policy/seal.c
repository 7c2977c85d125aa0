/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seal: envelope encryption (see seal.h for the key hierarchy, AAD and byte layouts).
 *
 * This file keeps every byte of key material in memory it allocated itself, locks it
 * (best effort: sodium_mlock fails harmlessly under a small RLIMIT_MEMLOCK, and a key
 * in swap is still better than no service) and wipes it before release through one
 * function, seal_release. It never reallocates key memory with realloc, which could
 * leave an unwiped copy behind. It does not read key files (gateway/gw_keys.c does) and
 * does not know about rotation progress (the gateway re-wraps with unwrap + wrap).
 */
#include "seal.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* Unit tests define SEAL_FREE to a hook that checks the memory was wiped first. */
#ifndef SEAL_FREE
#define SEAL_FREE free
#endif

static const char DK_AAD_TAG[] = "caregate.dk.v1";
static const char MSG_AAD_TAG[] = "caregate.msg.v1";
#define DK_AAD_LEN (sizeof DK_AAD_TAG - 1 + SEAL_ID_BYTES + 4)
#define MSG_AAD_LEN (sizeof MSG_AAD_TAG - 1 + 2 * SEAL_ID_BYTES)

typedef struct {
    uint32_t version;
    uint8_t key[SEAL_KEY_BYTES];
} seal_master;

struct seal_keyring {
    seal_master *keys; /* ascending by version; locked, wiped on free */
    size_t n, cap;
};

struct seal_datakey {
    uint8_t key[SEAL_KEY_BYTES];
};

/* Allocation failure aborts (STYLE.md rule 12): these are small, fixed-size objects. */
static void *seal_alloc(size_t n)
{
    void *p = calloc(1, n);
    if (!p)
        abort();
    (void)sodium_mlock(p, n);
    return p;
}

/* Wipes n bytes at p, unlocks and frees. sodium_munlock itself zeroes the range, but we
 * wipe explicitly first so the guarantee does not depend on whether the lock succeeded. */
/* IMPLEMENTATION-OF: KEY-2. */
static void seal_release(void *p, size_t n)
{
    if (!p)
        return;
    sodium_memzero(p, n);
    (void)sodium_munlock(p, n);
    SEAL_FREE(p);
}

const char *seal_strerror(int status)
{
    switch (status) {
    case SEAL_OK: return "ok";
    case SEAL_ERR_ARG: return "invalid argument";
    case SEAL_ERR_NOSPACE: return "output buffer too small";
    case SEAL_ERR_AUTH: return "authentication failed";
    case SEAL_ERR_NOKEY: return "no master key of that version";
    case SEAL_ERR_EXISTS: return "master key version already loaded";
    case SEAL_ERR_INIT: return "libsodium initialisation failed";
    default: return "unknown seal error";
    }
}

int seal_init(void)
{
    /* sodium_init returns 1 when already initialised; both are fine. */
    return sodium_init() < 0 ? SEAL_ERR_INIT : SEAL_OK;
}

/* ---- keyring ------------------------------------------------------------------------ */

int seal_keyring_new(seal_keyring **out)
{
    if (!out)
        return SEAL_ERR_ARG;
    *out = NULL;
    if (seal_init() != SEAL_OK)
        return SEAL_ERR_INIT;
    *out = seal_alloc(sizeof **out);
    return SEAL_OK;
}

void seal_keyring_free(seal_keyring *kr)
{
    if (!kr)
        return;
    seal_release(kr->keys, kr->cap * sizeof *kr->keys);
    seal_release(kr, sizeof *kr);
}

static const seal_master *keyring_find(const seal_keyring *kr, uint32_t version)
{
    for (size_t i = 0; i < kr->n; i++)
        if (kr->keys[i].version == version)
            return &kr->keys[i];
    return NULL;
}

int seal_keyring_add(seal_keyring *kr, uint32_t version, const uint8_t key[SEAL_KEY_BYTES])
{
    if (!kr || !key || version == 0 || version > SEAL_MAX_VERSION)
        return SEAL_ERR_ARG;
    if (keyring_find(kr, version))
        return SEAL_ERR_EXISTS;
    if (kr->n == kr->cap) {
        /* Grow by copy + wipe rather than realloc, so no unwiped copy is left behind. */
        size_t ncap = kr->cap ? kr->cap * 2 : 4;
        seal_master *nk = seal_alloc(ncap * sizeof *nk);
        if (kr->n)
            memcpy(nk, kr->keys, kr->n * sizeof *nk);
        seal_release(kr->keys, kr->cap * sizeof *kr->keys);
        kr->keys = nk;
        kr->cap = ncap;
    }
    size_t at = kr->n;
    while (at > 0 && kr->keys[at - 1].version > version) {
        kr->keys[at] = kr->keys[at - 1];
        at--;
    }
    kr->keys[at].version = version;
    memcpy(kr->keys[at].key, key, SEAL_KEY_BYTES);
    kr->n++;
    return SEAL_OK;
}

uint32_t seal_keyring_current(const seal_keyring *kr)
{
    return kr && kr->n ? kr->keys[kr->n - 1].version : 0;
}

size_t seal_keyring_count(const seal_keyring *kr)
{
    return kr ? kr->n : 0;
}

uint32_t seal_keyring_version_at(const seal_keyring *kr, size_t i)
{
    return kr && i < kr->n ? kr->keys[i].version : 0;
}

int seal_keyring_has(const seal_keyring *kr, uint32_t version)
{
    return kr && keyring_find(kr, version) ? 1 : 0;
}

/* ---- data keys -------------------------------------------------------------------- */

int seal_datakey_new(seal_datakey **out)
{
    if (!out)
        return SEAL_ERR_ARG;
    *out = NULL;
    if (seal_init() != SEAL_OK)
        return SEAL_ERR_INIT;
    seal_datakey *dk = seal_alloc(sizeof *dk);
    crypto_aead_xchacha20poly1305_ietf_keygen(dk->key);
    *out = dk;
    return SEAL_OK;
}

void seal_datakey_free(seal_datakey *dk)
{
    seal_release(dk, sizeof *dk);
}

static void dk_aad(uint8_t aad[DK_AAD_LEN], const uint8_t *conv_id, uint32_t version)
{
    size_t t = sizeof DK_AAD_TAG - 1;
    memcpy(aad, DK_AAD_TAG, t);
    memcpy(aad + t, conv_id, SEAL_ID_BYTES);
    aad[t + SEAL_ID_BYTES + 0] = (uint8_t)(version >> 24);
    aad[t + SEAL_ID_BYTES + 1] = (uint8_t)(version >> 16);
    aad[t + SEAL_ID_BYTES + 2] = (uint8_t)(version >> 8);
    aad[t + SEAL_ID_BYTES + 3] = (uint8_t)version;
}

int seal_datakey_wrap(const seal_keyring *kr, const seal_datakey *dk, const uint8_t *conv_id,
                      uint8_t *out, size_t cap, size_t *len, uint32_t *version)
{
    if (!kr || !dk || !conv_id || !out || !len || !version)
        return SEAL_ERR_ARG;
    if (kr->n == 0)
        return SEAL_ERR_NOKEY;
    if (cap < SEAL_WRAPPED_BYTES)
        return SEAL_ERR_NOSPACE;
    if (seal_init() != SEAL_OK)
        return SEAL_ERR_INIT;
    const seal_master *m = &kr->keys[kr->n - 1];
    uint8_t aad[DK_AAD_LEN];
    dk_aad(aad, conv_id, m->version);
    randombytes_buf(out, SEAL_NONCE_BYTES);
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(out + SEAL_NONCE_BYTES, &clen, dk->key,
                                               SEAL_KEY_BYTES, aad, sizeof aad, NULL, out, m->key);
    *len = SEAL_NONCE_BYTES + (size_t)clen;
    *version = m->version;
    return SEAL_OK;
}

int seal_datakey_unwrap(const seal_keyring *kr, uint32_t version, const uint8_t *conv_id,
                        const uint8_t *wrapped, size_t len, seal_datakey **out)
{
    if (!out)
        return SEAL_ERR_ARG;
    *out = NULL;
    if (!kr || !conv_id || !wrapped || len != SEAL_WRAPPED_BYTES)
        return SEAL_ERR_ARG;
    const seal_master *m = keyring_find(kr, version);
    if (!m)
        return SEAL_ERR_NOKEY;
    if (seal_init() != SEAL_OK)
        return SEAL_ERR_INIT;
    uint8_t aad[DK_AAD_LEN];
    dk_aad(aad, conv_id, version);
    seal_datakey *dk = seal_alloc(sizeof *dk);
    unsigned long long plen = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(dk->key, &plen, NULL, wrapped + SEAL_NONCE_BYTES,
                                                   len - SEAL_NONCE_BYTES, aad, sizeof aad, wrapped,
                                                   m->key) != 0 ||
        plen != SEAL_KEY_BYTES) {
        seal_datakey_free(dk);
        return SEAL_ERR_AUTH;
    }
    *out = dk;
    return SEAL_OK;
}

int seal_datakey_rewrap(const seal_keyring *kr, uint32_t version, const uint8_t *conv_id,
                        const uint8_t *wrapped, size_t len, uint8_t *out, size_t cap,
                        size_t *outlen, uint32_t *new_version)
{
    seal_datakey *dk = NULL;
    int rc = seal_datakey_unwrap(kr, version, conv_id, wrapped, len, &dk);
    if (rc == SEAL_OK)
        rc = seal_datakey_wrap(kr, dk, conv_id, out, cap, outlen, new_version);
    seal_datakey_free(dk);
    return rc;
}

/* ---- messages ----------------------------------------------------------------------- */

size_t seal_sealed_len(size_t len)
{
    return len > SIZE_MAX - SEAL_OVERHEAD ? SIZE_MAX : len + SEAL_OVERHEAD;
}

size_t seal_opened_len(size_t sealed_len)
{
    return sealed_len < SEAL_OVERHEAD ? 0 : sealed_len - SEAL_OVERHEAD;
}

/* IMPLEMENTATION-OF: SEAL-1. */
static void msg_aad(uint8_t aad[MSG_AAD_LEN], const uint8_t *conv_id, const uint8_t *msg_id)
{
    size_t t = sizeof MSG_AAD_TAG - 1;
    memcpy(aad, MSG_AAD_TAG, t);
    memcpy(aad + t, conv_id, SEAL_ID_BYTES);
    memcpy(aad + t + SEAL_ID_BYTES, msg_id, SEAL_ID_BYTES);
}

int seal_message_seal(const seal_datakey *dk, const uint8_t *conv_id, const uint8_t *msg_id,
                      const char *text, size_t len, uint8_t *out, size_t cap, size_t *outlen)
{
    if (!dk || !conv_id || !msg_id || !out || !outlen || (!text && len))
        return SEAL_ERR_ARG;
    /* libsodium's bound on one XChaCha20-Poly1305 message is far above any frame limit;
     * refuse the absurd rather than rely on it. */
    if (len > crypto_aead_xchacha20poly1305_ietf_MESSAGEBYTES_MAX || len > SIZE_MAX / 2)
        return SEAL_ERR_ARG;
    if (cap < seal_sealed_len(len))
        return SEAL_ERR_NOSPACE;
    if (seal_init() != SEAL_OK)
        return SEAL_ERR_INIT;
    uint8_t aad[MSG_AAD_LEN];
    msg_aad(aad, conv_id, msg_id);
    randombytes_buf(out, SEAL_NONCE_BYTES);
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(out + SEAL_NONCE_BYTES, &clen,
                                               (const unsigned char *)(text ? text : ""), len, aad,
                                               sizeof aad, NULL, out, dk->key);
    *outlen = SEAL_NONCE_BYTES + (size_t)clen;
    return SEAL_OK;
}

int seal_message_open(const seal_datakey *dk, const uint8_t *conv_id, const uint8_t *msg_id,
                      const uint8_t *in, size_t inlen, char *out, size_t cap, size_t *outlen)
{
    if (!dk || !conv_id || !msg_id || !in || !out || !outlen)
        return SEAL_ERR_ARG;
    *outlen = 0;
    if (inlen < SEAL_OVERHEAD)
        return SEAL_ERR_ARG;
    size_t plen = inlen - SEAL_OVERHEAD;
    if (cap < plen)
        return SEAL_ERR_NOSPACE;
    if (seal_init() != SEAL_OK)
        return SEAL_ERR_INIT;
    uint8_t aad[MSG_AAD_LEN];
    msg_aad(aad, conv_id, msg_id);
    unsigned long long got = 0;
    /* libsodium verifies the tag before writing any plaintext, but it is documented only
     * as "m is not written on failure" for some constructions; wipe to be certain. */
    if (crypto_aead_xchacha20poly1305_ietf_decrypt((unsigned char *)out, &got, NULL,
                                                   in + SEAL_NONCE_BYTES, inlen - SEAL_NONCE_BYTES,
                                                   aad, sizeof aad, in, dk->key) != 0) {
        sodium_memzero(out, plen);
        return SEAL_ERR_AUTH;
    }
    *outlen = (size_t)got;
    if (cap > *outlen)
        out[*outlen] = '\0';
    return SEAL_OK;
}
