/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The bridges' key file and its derived keys (see gw_bridgekey.h). Subkeys come from
 * crypto_kdf with context "cgbridge": id 1 hashes identifiers, id 2 seals. Derived keys
 * live in sodium_malloc'd memory (guard pages, mlock where allowed) and are wiped on free.
 * The file holds exactly 32 raw bytes; anything else is refused so a truncated copy is
 * noticed instead of silently creating new patient identities.
 */
#include "gw_bridgekey.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct gw_bridgekey {
    uint8_t hash_key[crypto_generichash_KEYBYTES];
    uint8_t seal_key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
};

static int read_key(const char *path, uint8_t key[32], char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    uint8_t buf[33];
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    if (n != 32) {
        sodium_memzero(buf, sizeof buf);
        snprintf(err, errlen, "%s: expected exactly 32 bytes", path);
        return -1;
    }
    memcpy(key, buf, 32);
    sodium_memzero(buf, sizeof buf);
    return 0;
}

static int create_key(const char *path, uint8_t key[32], char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot create: %s", path, strerror(errno));
        return -1;
    }
    randombytes_buf(key, 32);
    if (write(fd, key, 32) != 32 || fsync(fd) != 0) {
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
        close(fd);
        unlink(path);
        return -1;
    }
    close(fd);
    return 0;
}

gw_bridgekey *gw_bridgekey_load(const char *path, int create, char *err, size_t errlen)
{
    uint8_t master[32];
    if (sodium_init() < 0) {
        snprintf(err, errlen, "libsodium initialisation failed");
        return NULL;
    }
    if (!path || !*path) {
        snprintf(err, errlen, "no bridge key file configured");
        return NULL;
    }
    struct stat st;
    if (stat(path, &st) != 0 && errno == ENOENT && create) {
        if (create_key(path, master, err, errlen) != 0)
            return NULL;
    } else if (read_key(path, master, err, errlen) != 0) {
        return NULL;
    }
    gw_bridgekey *k = sodium_malloc(sizeof *k);
    if (!k)
        abort();
    crypto_kdf_derive_from_key(k->hash_key, sizeof k->hash_key, 1, "cgbridge", master);
    crypto_kdf_derive_from_key(k->seal_key, sizeof k->seal_key, 2, "cgbridge", master);
    sodium_memzero(master, sizeof master);
    return k;
}

void gw_bridgekey_free(gw_bridgekey *k)
{
    if (k)
        sodium_free(k); /* sodium_free wipes */
}

void gw_bridgekey_hash(const gw_bridgekey *k, const char *domain, const char *id, size_t id_len,
                       uint8_t out[GW_BRIDGEKEY_HASH_BYTES])
{
    crypto_generichash_state st;
    uint8_t zero = 0;
    crypto_generichash_init(&st, k->hash_key, sizeof k->hash_key, GW_BRIDGEKEY_HASH_BYTES);
    crypto_generichash_update(&st, (const uint8_t *)domain, strlen(domain));
    crypto_generichash_update(&st, &zero, 1); /* domain separator: no prefix ambiguity */
    crypto_generichash_update(&st, (const uint8_t *)id, id_len);
    crypto_generichash_final(&st, out, GW_BRIDGEKEY_HASH_BYTES);
}

uint8_t *gw_bridgekey_seal(const gw_bridgekey *k, const char *aad, const void *in, size_t len,
                           size_t *outlen)
{
    size_t n = len + GW_BRIDGEKEY_SEAL_OVERHEAD;
    uint8_t *out = malloc(n);
    if (!out)
        abort();
    randombytes_buf(out, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(out + 24, &clen, in, len, (const uint8_t *)aad,
                                               strlen(aad), NULL, out, k->seal_key);
    *outlen = 24 + (size_t)clen;
    return out;
}

char *gw_bridgekey_open(const gw_bridgekey *k, const char *aad, const uint8_t *in, size_t len,
                        size_t *outlen)
{
    if (!in || len < GW_BRIDGEKEY_SEAL_OVERHEAD)
        return NULL;
    size_t n = len - GW_BRIDGEKEY_SEAL_OVERHEAD;
    char *out = malloc(n + 1);
    if (!out)
        abort();
    unsigned long long plen = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt((uint8_t *)out, &plen, NULL, in + 24, len - 24,
                                                   (const uint8_t *)aad, strlen(aad), in,
                                                   k->seal_key) != 0) {
        free(out);
        return NULL;
    }
    out[plen] = '\0';
    if (outlen)
        *outlen = (size_t)plen;
    return out;
}
