/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: stored envelopes. Whatever bytes sit in data_key.wrapped or message.body
 * (a corrupted disk, a hostile restore, a bug elsewhere) must be refused cleanly by
 * seal_datakey_unwrap / seal_message_open, never crash or read out of bounds.
 * The first input byte picks the path:
 *   0: rest is a wrapped data key (bytes 1..4 the claimed version) for a fixed keyring
 *   1: rest is a sealed message body for a fixed data key and ids
 *   2: rest is plain text: seal, open (must round-trip), flip one bit (must fail)
 * The corpus under tests/fuzz/corpus/fuzz_envelope/ is replayed in normal test runs.
 */
#include "seal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static seal_keyring *g_kr;
static seal_datakey *g_dk;

static void init_once(void)
{
    if (g_kr)
        return;
    uint8_t k[SEAL_KEY_BYTES];
    memset(k, 0x5a, sizeof k);
    if (seal_keyring_new(&g_kr) != SEAL_OK || seal_keyring_add(g_kr, 1, k) != SEAL_OK ||
        seal_datakey_new(&g_dk) != SEAL_OK)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t conv[SEAL_ID_BYTES] = {7};
    static const uint8_t msg[SEAL_ID_BYTES] = {9};
    init_once();
    if (size < 1)
        return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    switch (data[0] % 3) {
    case 0: {
        if (n < 4)
            return 0;
        uint32_t ver = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        seal_datakey *dk = NULL;
        int rc = seal_datakey_unwrap(g_kr, ver, conv, p + 4, n - 4, &dk);
        if (rc == SEAL_OK) /* forging a tag is not expected from a fuzzer */
            abort();
        if (dk)
            abort();
        break;
    }
    case 1: {
        size_t cap = seal_opened_len(n);
        char *out = malloc(cap + 1);
        size_t olen = 0;
        int rc = seal_message_open(g_dk, conv, msg, p, n, out, cap, &olen);
        if (rc == SEAL_OK)
            abort();
        free(out);
        break;
    }
    default: {
        size_t slen = seal_sealed_len(n);
        uint8_t *sealed = malloc(slen);
        char *out = malloc(n + 1);
        size_t got = 0, olen = 0;
        if (seal_message_seal(g_dk, conv, msg, (const char *)p, n, sealed, slen, &got) != SEAL_OK ||
            seal_message_open(g_dk, conv, msg, sealed, got, out, n + 1, &olen) != SEAL_OK ||
            olen != n || (n && memcmp(out, p, n) != 0))
            abort();
        sealed[(n * 7) % got] ^= 0x01;
        if (seal_message_open(g_dk, conv, msg, sealed, got, out, n + 1, &olen) != SEAL_ERR_AUTH)
            abort();
        free(sealed);
        free(out);
        break;
    }
    }
    return 0;
}
