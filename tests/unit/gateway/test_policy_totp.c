/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of gateway/gw_totp (RFC 4226 and RFC 6238 test vectors for the built-in
 * HMAC-SHA1, the ±1 step window, sealing the secret for one staff member only) and of
 * gateway/gw_policy (the built-in policy loads, previews are redacted and cut at a
 * character boundary, the closed reply fills its placeholders, outbound DLP blocks a
 * private number and passes an official one). No database, no sockets.
 */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "decide.h"
#include "gw_policy.h"
#include "gw_totp.h"
#include "seal.h"

static void test_hotp_rfc4226(void **state)
{
    (void)state;
    static const uint32_t want[10] = {755224, 287082, 359152, 969429, 338314,
                                      254676, 287922, 162583, 399871, 520489};
    const uint8_t *key = (const uint8_t *)"12345678901234567890";
    for (uint64_t i = 0; i < 10; i++)
        assert_int_equal(gw_totp_hotp(key, 20, i), want[i]);
}

static void test_totp_rfc6238(void **state)
{
    (void)state;
    const uint8_t *key = (const uint8_t *)"12345678901234567890";
    /* RFC 6238 appendix B, SHA1, last six digits of 94287082 / 07081804 / 14050471 */
    assert_true(gw_totp_verify(key, 20, "287082", 59));
    assert_true(gw_totp_verify(key, 20, "081804", 1111111109));
    assert_true(gw_totp_verify(key, 20, "050471", 1111111111));
    /* ±1 step accepted, two steps not */
    assert_true(gw_totp_verify(key, 20, "081804", 1111111109 + 30));
    assert_false(gw_totp_verify(key, 20, "081804", 1111111109 + 90));
    assert_false(gw_totp_verify(key, 20, "12345", 59));
    assert_false(gw_totp_verify(key, 20, "28708a", 59));
    assert_false(gw_totp_verify(key, 20, NULL, 59));
}

static void test_totp_seal(void **state)
{
    (void)state;
    assert_int_equal(seal_init(), SEAL_OK);
    seal_keyring *kr = NULL;
    assert_int_equal(seal_keyring_new(&kr), SEAL_OK);
    uint8_t mk[SEAL_KEY_BYTES];
    randombytes_buf(mk, sizeof mk);
    assert_int_equal(seal_keyring_add(kr, 1, mk), SEAL_OK);
    const char *id = "0b7e1c6a-1111-4222-8333-444455556666";
    const char *other = "0b7e1c6a-1111-4222-8333-444455556667";
    uint8_t sec[GW_TOTP_SECRET_BYTES], back[GW_TOTP_SECRET_BYTES], *blob = NULL;
    size_t bl = 0;
    randombytes_buf(sec, sizeof sec);
    assert_int_equal(gw_totp_seal(kr, id, sec, &blob, &bl), 0);
    char *hex = calloc(2 * bl + 3, 1);
    hex[0] = '\\';
    hex[1] = 'x';
    sodium_bin2hex(hex + 2, 2 * bl + 1, blob, bl);
    assert_null(memmem(blob, bl, sec, sizeof sec));
    assert_int_equal(gw_totp_open(kr, id, hex, back), 0);
    assert_memory_equal(back, sec, sizeof sec);
    assert_int_equal(gw_totp_open(kr, other, hex, back), -1); /* bound to the staff id */
    hex[10] ^= 1;
    assert_int_equal(gw_totp_open(kr, id, hex, back), -1);
    free(hex);
    free(blob);
    seal_keyring_free(kr);
}

static gw_config g_cfg;
static gw_app g_app;

static int policy_setup(void **state)
{
    (void)state;
    memset(&g_cfg, 0, sizeof g_cfg);
    g_cfg.policy_file = (char *)"";
    g_app.cfg = &g_cfg;
    char err[256];
    return gw_policy_load(&g_app, err, sizeof err);
}

static int policy_teardown(void **state)
{
    (void)state;
    gw_policy_free(&g_app);
    return 0;
}

static void test_preview(void **state)
{
    (void)state;
    const char *t = "Ich nehme Ibuprofen 400 mg";
    char *p = gw_policy_preview(&g_app, t, strlen(t));
    assert_non_null(p);
    assert_null(strstr(p, "Ibuprofen"));
    assert_non_null(strstr(p, "[MEDICATION]"));
    free(p);
    /* The text's own language picks the lists (langid), not the conversation's: a Polish
     * message in a WhatsApp conversation created with the default "de" loses its
     * condition and its complaint too. */
    const char *pl = "Dzień dobry, mam cukrzycę i boli mnie brzuch od rana.";
    p = gw_policy_preview(&g_app, pl, strlen(pl));
    assert_non_null(p);
    assert_null(strstr(p, "cukrzyc"));
    assert_null(strstr(p, "brzuch"));
    free(p);
    /* 79 ASCII bytes then a 2-byte character across the 80-byte mark: cut before it */
    char longt[200];
    memset(longt, 'a', 79);
    strcpy(longt + 79, "\xc3\xa4" "bcdefghijklmnop");
    p = gw_policy_preview(&g_app, longt, strlen(longt));
    assert_non_null(p);
    assert_int_equal(strlen(p), 79 + 3); /* 79 bytes and "…" */
    assert_memory_equal(p + 79, "\xe2\x80\xa6", 3);
    free(p);
}

static void test_closed_reply(void **state)
{
    (void)state;
    char *r = gw_policy_closed_reply(&g_app, "en", "2026-11-23T07:00:00Z");
    assert_non_null(strstr(r, "112"));
    assert_null(strchr(r, '{'));
    free(r);
    r = gw_policy_closed_reply(&g_app, "de", "");
    assert_non_null(strstr(r, "so bald wie m"));
    free(r);
}

static void test_outbound(void **state)
{
    (void)state;
    gw_policy_out o;
    const char *priv = "Rufen Sie mich an: 0171 2345678";
    gw_policy_outbound(&g_app, "web", priv, strlen(priv), false, true, &o);
    assert_int_equal(o.action, DECIDE_BLOCK);
    assert_string_equal(o.event, "policy.blocked");
    char *d = json_dumps(o.details, 0), *f = json_dumps(o.findings, 0);
    assert_null(strstr(d, "2345678"));
    assert_non_null(strstr(f, "PHONE"));
    free(d);
    free(f);
    gw_policy_out_clear(&o);
    const char *ok = "Bis morgen!";
    gw_policy_outbound(&g_app, "web", ok, strlen(ok), false, true, &o);
    assert_int_equal(o.action, DECIDE_ALLOW);
    assert_string_equal(o.text, ok);
    gw_policy_out_clear(&o);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hotp_rfc4226),
        cmocka_unit_test(test_totp_rfc6238),
        cmocka_unit_test(test_totp_seal),
        cmocka_unit_test_setup_teardown(test_preview, policy_setup, policy_teardown),
        cmocka_unit_test_setup_teardown(test_closed_reply, policy_setup, policy_teardown),
        cmocka_unit_test_setup_teardown(test_outbound, policy_setup, policy_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
