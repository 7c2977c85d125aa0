/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of policy/seal: round trips, tampering, associated-data binding (other
 * message, other conversation), key versions, wrong master keys and wiping of every
 * key allocation on free. seal.c is included directly so that its release path can be
 * observed: SEAL_FREE is redirected to a hook that fails the test if any byte of a
 * released block is still non-zero.
 */
#define _GNU_SOURCE /* memmem, malloc_usable_size */
#include <malloc.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static size_t g_released, g_unwiped;

static void wipe_checking_free(void *p)
{
    /* calloc'd blocks are zeroed over their whole usable size, so the full usable size
     * must be zero again when seal releases them. */
    size_t n = malloc_usable_size(p);
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != 0) {
            g_unwiped++;
            break;
        }
    g_released++;
    free(p);
}

#define SEAL_FREE wipe_checking_free
#include "../../../policy/seal.c"

static const uint8_t CONV_A[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint8_t CONV_B[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17};
static const uint8_t MSG_1[16] = {0xa0, 1};
static const uint8_t MSG_2[16] = {0xa0, 2};

static seal_keyring *keyring_with(uint32_t v, uint8_t fill)
{
    seal_keyring *kr = NULL;
    assert_int_equal(seal_keyring_new(&kr), SEAL_OK);
    uint8_t k[SEAL_KEY_BYTES];
    memset(k, fill, sizeof k);
    assert_int_equal(seal_keyring_add(kr, v, k), SEAL_OK);
    sodium_memzero(k, sizeof k);
    return kr;
}

static int setup(void **state)
{
    (void)state;
    g_released = g_unwiped = 0;
    return seal_init() == SEAL_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    /* Every test ends with: everything seal released had been wiped. */
    assert_int_equal(g_unwiped, 0);
    return 0;
}

static void test_message_round_trip(void **state)
{
    (void)state;
    seal_datakey *dk = NULL;
    assert_int_equal(seal_datakey_new(&dk), SEAL_OK);
    const char *text = "Guten Tag, ich brauche einen Termin.";
    size_t len = strlen(text);
    uint8_t sealed[256];
    size_t slen = 0;
    assert_int_equal(seal_message_seal(dk, CONV_A, MSG_1, text, len, sealed, sizeof sealed, &slen),
                     SEAL_OK);
    assert_int_equal(slen, seal_sealed_len(len));
    assert_null(memmem(sealed, slen, "Termin", 6)); /* no plain text in the output */
    char out[256];
    size_t olen = 0;
    assert_int_equal(seal_message_open(dk, CONV_A, MSG_1, sealed, slen, out, sizeof out, &olen),
                     SEAL_OK);
    assert_int_equal(olen, len);
    assert_string_equal(out, text);

    /* Two seals of the same text differ (random nonce). */
    uint8_t sealed2[256];
    size_t slen2 = 0;
    assert_int_equal(
        seal_message_seal(dk, CONV_A, MSG_1, text, len, sealed2, sizeof sealed2, &slen2), SEAL_OK);
    assert_memory_not_equal(sealed, sealed2, slen);

    /* Empty text round-trips; short output buffers are refused without writing. */
    assert_int_equal(seal_message_seal(dk, CONV_A, MSG_1, NULL, 0, sealed, sizeof sealed, &slen),
                     SEAL_OK);
    assert_int_equal(slen, SEAL_OVERHEAD);
    assert_int_equal(seal_message_open(dk, CONV_A, MSG_1, sealed, slen, out, sizeof out, &olen),
                     SEAL_OK);
    assert_int_equal(olen, 0);
    assert_int_equal(seal_message_seal(dk, CONV_A, MSG_1, text, len, sealed, len + 39, &slen),
                     SEAL_ERR_NOSPACE);
    assert_int_equal(seal_message_seal(dk, CONV_A, MSG_1, text, len, sealed, sizeof sealed, &slen),
                     SEAL_OK);
    assert_int_equal(seal_message_open(dk, CONV_A, MSG_1, sealed, slen, out, len - 1, &olen),
                     SEAL_ERR_NOSPACE);
    assert_int_equal(seal_message_open(dk, CONV_A, MSG_1, sealed, 39, out, sizeof out, &olen),
                     SEAL_ERR_ARG);
    assert_int_equal(seal_sealed_len(SIZE_MAX), SIZE_MAX);
    assert_int_equal(seal_opened_len(10), 0);
    seal_datakey_free(dk);
    seal_datakey_free(NULL);
    assert_int_equal(g_released, 1);
}

static void test_message_tamper_fails(void **state)
{
    (void)state;
    seal_datakey *dk = NULL;
    assert_int_equal(seal_datakey_new(&dk), SEAL_OK);
    const char *text = "Befund bitte per Post";
    size_t len = strlen(text);
    uint8_t sealed[128];
    size_t slen = 0;
    assert_int_equal(seal_message_seal(dk, CONV_A, MSG_1, text, len, sealed, sizeof sealed, &slen),
                     SEAL_OK);
    /* Every single bit flip, in nonce, ciphertext or tag, is rejected and leaves no text. */
    for (size_t i = 0; i < slen * 8; i++) {
        sealed[i / 8] ^= (uint8_t)(1u << (i % 8));
        char out[128];
        memset(out, 'x', sizeof out);
        size_t olen = 99;
        assert_int_equal(seal_message_open(dk, CONV_A, MSG_1, sealed, slen, out, sizeof out, &olen),
                         SEAL_ERR_AUTH);
        assert_int_equal(olen, 0);
        assert_null(memmem(out, len, "Befund", 6));
        sealed[i / 8] ^= (uint8_t)(1u << (i % 8));
    }
    /* Truncated and extended bodies fail too. */
    char out[128];
    size_t olen;
    assert_int_equal(seal_message_open(dk, CONV_A, MSG_1, sealed, slen - 1, out, sizeof out, &olen),
                     SEAL_ERR_AUTH);
    sealed[slen] = 0;
    assert_int_equal(seal_message_open(dk, CONV_A, MSG_1, sealed, slen + 1, out, sizeof out, &olen),
                     SEAL_ERR_AUTH);
    seal_datakey_free(dk);
}

static void test_message_aad_binding(void **state)
{
    (void)state;
    seal_datakey *dk = NULL, *other = NULL;
    assert_int_equal(seal_datakey_new(&dk), SEAL_OK);
    assert_int_equal(seal_datakey_new(&other), SEAL_OK);
    uint8_t sealed[128];
    size_t slen = 0;
    assert_int_equal(seal_message_seal(dk, CONV_A, MSG_1, "hello", 5, sealed, sizeof sealed, &slen),
                     SEAL_OK);
    char out[128];
    size_t olen;
    /* moved to another row of the same conversation */
    assert_int_equal(seal_message_open(dk, CONV_A, MSG_2, sealed, slen, out, sizeof out, &olen),
                     SEAL_ERR_AUTH);
    /* moved to another conversation, even one sharing the key */
    assert_int_equal(seal_message_open(dk, CONV_B, MSG_1, sealed, slen, out, sizeof out, &olen),
                     SEAL_ERR_AUTH);
    /* opened with another conversation's data key */
    assert_int_equal(seal_message_open(other, CONV_A, MSG_1, sealed, slen, out, sizeof out, &olen),
                     SEAL_ERR_AUTH);
    assert_int_equal(seal_message_open(dk, CONV_A, MSG_1, sealed, slen, out, sizeof out, &olen),
                     SEAL_OK);
    seal_datakey_free(dk);
    seal_datakey_free(other);
}

static void test_wrap_round_trip_and_binding(void **state)
{
    (void)state;
    seal_keyring *kr = keyring_with(1, 0x11);
    seal_datakey *dk = NULL, *back = NULL;
    assert_int_equal(seal_datakey_new(&dk), SEAL_OK);
    uint8_t w[SEAL_WRAPPED_BYTES];
    size_t wlen = 0;
    uint32_t ver = 0;
    assert_int_equal(seal_datakey_wrap(kr, dk, CONV_A, w, sizeof w, &wlen, &ver), SEAL_OK);
    assert_int_equal(wlen, SEAL_WRAPPED_BYTES);
    assert_int_equal(ver, 1);
    assert_null(memmem(w, wlen, dk->key, 8)); /* the data key does not appear in clear */
    assert_int_equal(seal_datakey_unwrap(kr, 1, CONV_A, w, wlen, &back), SEAL_OK);
    assert_memory_equal(back->key, dk->key, SEAL_KEY_BYTES);

    /* A message sealed with the original opens with the unwrapped copy. */
    uint8_t sealed[64];
    size_t slen = 0;
    char out[64];
    size_t olen;
    assert_int_equal(seal_message_seal(dk, CONV_A, MSG_1, "abc", 3, sealed, sizeof sealed, &slen),
                     SEAL_OK);
    assert_int_equal(seal_message_open(back, CONV_A, MSG_1, sealed, slen, out, sizeof out, &olen),
                     SEAL_OK);
    seal_datakey_free(back);

    /* Wrapped key of another conversation, tampered bytes, wrong length: refused. */
    back = (seal_datakey *)1;
    assert_int_equal(seal_datakey_unwrap(kr, 1, CONV_B, w, wlen, &back), SEAL_ERR_AUTH);
    assert_null(back);
    for (size_t i = 0; i < wlen; i++) {
        w[i] ^= 0x80;
        assert_int_equal(seal_datakey_unwrap(kr, 1, CONV_A, w, wlen, &back), SEAL_ERR_AUTH);
        w[i] ^= 0x80;
    }
    assert_int_equal(seal_datakey_unwrap(kr, 1, CONV_A, w, wlen - 1, &back), SEAL_ERR_ARG);
    assert_int_equal(seal_datakey_wrap(kr, dk, CONV_A, w, sizeof w - 1, &wlen, &ver),
                     SEAL_ERR_NOSPACE);
    seal_datakey_free(dk);
    seal_keyring_free(kr);
}

static void test_wrong_key_version_fails(void **state)
{
    (void)state;
    seal_keyring *kr = keyring_with(1, 0x11);
    uint8_t k2[SEAL_KEY_BYTES];
    memset(k2, 0x22, sizeof k2);
    assert_int_equal(seal_keyring_add(kr, 2, k2), SEAL_OK);
    assert_int_equal(seal_keyring_add(kr, 2, k2), SEAL_ERR_EXISTS);
    assert_int_equal(seal_keyring_add(kr, 0, k2), SEAL_ERR_ARG);
    assert_int_equal(seal_keyring_current(kr), 2);
    assert_int_equal(seal_keyring_count(kr), 2);
    assert_int_equal(seal_keyring_version_at(kr, 0), 1);
    assert_int_equal(seal_keyring_version_at(kr, 1), 2);
    assert_int_equal(seal_keyring_version_at(kr, 2), 0);

    seal_datakey *dk = NULL, *back = NULL;
    assert_int_equal(seal_datakey_new(&dk), SEAL_OK);
    uint8_t w[SEAL_WRAPPED_BYTES];
    size_t wlen;
    uint32_t ver;
    assert_int_equal(seal_datakey_wrap(kr, dk, CONV_A, w, sizeof w, &wlen, &ver), SEAL_OK);
    assert_int_equal(ver, 2); /* new keys go to the current (highest) version */
    /* Claiming it was wrapped by version 1 fails (and version 1 is a different key). */
    assert_int_equal(seal_datakey_unwrap(kr, 1, CONV_A, w, wlen, &back), SEAL_ERR_AUTH);
    /* Unknown version. */
    assert_int_equal(seal_datakey_unwrap(kr, 3, CONV_A, w, wlen, &back), SEAL_ERR_NOKEY);
    assert_int_equal(seal_datakey_unwrap(kr, 2, CONV_A, w, wlen, &back), SEAL_OK);
    seal_datakey_free(back);

    /* Same key bytes under two version numbers: the version is bound in, so a key
     * wrapped as v3 does not unwrap as v4. */
    seal_keyring *same = keyring_with(3, 0x33);
    assert_int_equal(seal_keyring_add(same, 4, (uint8_t[SEAL_KEY_BYTES]){0}), SEAL_OK);
    seal_keyring *same3 = keyring_with(3, 0x33);
    assert_int_equal(seal_datakey_wrap(same3, dk, CONV_A, w, sizeof w, &wlen, &ver), SEAL_OK);
    assert_int_equal(ver, 3);
    seal_keyring *as4 = keyring_with(4, 0x33);
    assert_int_equal(seal_datakey_unwrap(as4, 4, CONV_A, w, wlen, &back), SEAL_ERR_AUTH);
    assert_int_equal(seal_datakey_unwrap(same, 3, CONV_A, w, wlen, &back), SEAL_OK);
    seal_datakey_free(back);

    seal_datakey_free(dk);
    seal_keyring_free(kr);
    seal_keyring_free(same);
    seal_keyring_free(same3);
    seal_keyring_free(as4);
    sodium_memzero(k2, sizeof k2);
}

static void test_rewrap_for_rotation(void **state)
{
    (void)state;
    seal_keyring *kr = keyring_with(1, 0x11);
    seal_datakey *dk = NULL, *back = NULL;
    assert_int_equal(seal_datakey_new(&dk), SEAL_OK);
    uint8_t w1[SEAL_WRAPPED_BYTES], w2[SEAL_WRAPPED_BYTES];
    size_t n1, n2;
    uint32_t v1, v2;
    assert_int_equal(seal_datakey_wrap(kr, dk, CONV_A, w1, sizeof w1, &n1, &v1), SEAL_OK);
    uint8_t sealed[64];
    size_t slen = 0;
    assert_int_equal(seal_message_seal(dk, CONV_A, MSG_1, "abc", 3, sealed, sizeof sealed, &slen),
                     SEAL_OK);
    seal_datakey_free(dk);

    /* rotation: v2 added, the stored key re-wrapped, old messages still open */
    uint8_t k2[SEAL_KEY_BYTES];
    memset(k2, 0x22, sizeof k2);
    assert_int_equal(seal_keyring_add(kr, 2, k2), SEAL_OK);
    assert_int_equal(seal_datakey_rewrap(kr, v1, CONV_A, w1, n1, w2, sizeof w2, &n2, &v2), SEAL_OK);
    assert_int_equal(v2, 2);
    assert_memory_not_equal(w1, w2, SEAL_WRAPPED_BYTES);
    seal_keyring *only2 = keyring_with(2, 0x22); /* v1 retired */
    assert_int_equal(seal_datakey_unwrap(only2, 2, CONV_A, w2, n2, &back), SEAL_OK);
    char out[8];
    size_t olen;
    assert_int_equal(seal_message_open(back, CONV_A, MSG_1, sealed, slen, out, sizeof out, &olen),
                     SEAL_OK);
    assert_string_equal(out, "abc");
    seal_datakey_free(back);
    /* a wrong claimed version or another conversation fails and writes nothing usable */
    assert_int_equal(seal_datakey_rewrap(kr, 2, CONV_A, w1, n1, w2, sizeof w2, &n2, &v2),
                     SEAL_ERR_AUTH);
    assert_int_equal(seal_datakey_rewrap(kr, 1, CONV_B, w1, n1, w2, sizeof w2, &n2, &v2),
                     SEAL_ERR_AUTH);
    assert_int_equal(seal_datakey_rewrap(only2, 1, CONV_A, w1, n1, w2, sizeof w2, &n2, &v2),
                     SEAL_ERR_NOKEY);
    seal_keyring_free(only2);
    seal_keyring_free(kr);
    sodium_memzero(k2, sizeof k2);
}

static void test_unwrap_with_wrong_master_fails(void **state)
{
    (void)state;
    seal_keyring *right = keyring_with(1, 0x11);
    seal_keyring *wrong = keyring_with(1, 0x12);
    seal_keyring *empty = NULL;
    assert_int_equal(seal_keyring_new(&empty), SEAL_OK);
    seal_datakey *dk = NULL, *back = NULL;
    assert_int_equal(seal_datakey_new(&dk), SEAL_OK);
    uint8_t w[SEAL_WRAPPED_BYTES];
    size_t wlen;
    uint32_t ver;
    assert_int_equal(seal_datakey_wrap(right, dk, CONV_A, w, sizeof w, &wlen, &ver), SEAL_OK);
    assert_int_equal(seal_datakey_unwrap(wrong, 1, CONV_A, w, wlen, &back), SEAL_ERR_AUTH);
    assert_null(back);
    assert_int_equal(seal_datakey_unwrap(empty, 1, CONV_A, w, wlen, &back), SEAL_ERR_NOKEY);
    assert_int_equal(seal_datakey_wrap(empty, dk, CONV_A, w, sizeof w, &wlen, &ver),
                     SEAL_ERR_NOKEY);
    assert_int_equal(seal_keyring_current(empty), 0);
    seal_datakey_free(dk);
    seal_keyring_free(right);
    seal_keyring_free(wrong);
    seal_keyring_free(empty);
    seal_keyring_free(NULL);
}

static void test_all_keys_wiped(void **state)
{
    (void)state;
    /* A keyring grown past its first allocation releases the old array (wiped) and, on
     * free, the array and the struct; a data key releases its struct. */
    seal_keyring *kr = NULL;
    assert_int_equal(seal_keyring_new(&kr), SEAL_OK);
    uint8_t k[SEAL_KEY_BYTES];
    for (uint32_t v = 9; v >= 1; v--) { /* descending: exercises the sorted insert */
        memset(k, (int)v, sizeof k);
        assert_int_equal(seal_keyring_add(kr, v, k), SEAL_OK);
    }
    assert_int_equal(seal_keyring_current(kr), 9);
    for (size_t i = 0; i < 9; i++)
        assert_int_equal(seal_keyring_version_at(kr, i), i + 1);
    size_t before = g_released;
    assert_int_equal(before, 2); /* grew 4 -> 8 -> 16 */
    seal_datakey *dk = NULL;
    assert_int_equal(seal_datakey_new(&dk), SEAL_OK);
    seal_datakey_free(dk);
    seal_keyring_free(kr);
    assert_int_equal(g_released, before + 3);
    assert_int_equal(g_unwiped, 0);
    sodium_memzero(k, sizeof k);
}

static void test_arguments(void **state)
{
    (void)state;
    assert_int_equal(seal_keyring_new(NULL), SEAL_ERR_ARG);
    assert_int_equal(seal_datakey_new(NULL), SEAL_ERR_ARG);
    seal_datakey *dk = NULL;
    assert_int_equal(seal_datakey_new(&dk), SEAL_OK);
    uint8_t out[64];
    size_t n;
    assert_int_equal(seal_message_seal(dk, NULL, MSG_1, "a", 1, out, sizeof out, &n), SEAL_ERR_ARG);
    assert_int_equal(seal_message_seal(dk, CONV_A, MSG_1, NULL, 1, out, sizeof out, &n),
                     SEAL_ERR_ARG);
    assert_string_equal(seal_strerror(SEAL_ERR_AUTH), "authentication failed");
    assert_string_equal(seal_strerror(-99), "unknown seal error");
    seal_datakey_free(dk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_message_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_message_tamper_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_message_aad_binding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrap_round_trip_and_binding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_key_version_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rewrap_for_rotation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unwrap_with_wrong_master_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_all_keys_wiped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arguments, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
