/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gateway/gw_meta_parse: webhook signatures over raw Meta-escaped bytes (§2.1), the
 * verification handshake (§1), flattening of batched WhatsApp / Messenger / Instagram
 * bodies (§3, §5.1, §6.1 incl. the IG dashboard "changes" shape and BSUID-only senders),
 * Send API bodies and responses, error classification (§4.5, §5.4) and windows (§4.6,
 * §5.3). Pure functions: no database, no network.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "gw_meta_parse.h"

static const uint8_t SECRET[] = "test-app-secret";
#define SLEN (sizeof SECRET - 1)

/* A WhatsApp body exactly as Meta escapes it: non-ASCII as \u00xx, '/' as \/, '@' escaped. */
static const char WA_BODY[] =
    "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"310000000000001\",\"changes\":"
    "[{\"field\":\"messages\",\"value\":{\"messaging_product\":\"whatsapp\",\"metadata\":{"
    "\"display_phone_number\":\"15550001000\",\"phone_number_id\":\"420000000000002\"},"
    "\"contacts\":[{\"profile\":{\"name\":\"Ana P\\u00e9rez\"},\"wa_id\":\"5215512345678\"}],"
    "\"messages\":[{\"from\":\"5215512345678\",\"id\":\"wamid.IN1\",\"timestamp\":\"1767000000\","
    "\"type\":\"text\",\"text\":{\"body\":\"Hola \\u00bfcita? a\\u0040b.c 1\\/2\"}},"
    "{\"from\":\"5215512345678\",\"id\":\"wamid.IN2\",\"timestamp\":\"1767000001\",\"type\":"
    "\"image\","
    "\"image\":{\"mime_type\":\"image\\/jpeg\",\"sha256\":\"x\",\"id\":\"15\"}}]}},"
    "{\"field\":\"account_update\",\"value\":{}}]},"
    "{\"id\":\"310000000000001\",\"changes\":[{\"field\":\"messages\",\"value\":{"
    "\"metadata\":{\"phone_number_id\":\"420000000000002\"},\"statuses\":[{\"id\":\"wamid.OUT1\","
    "\"status\":\"failed\",\"timestamp\":\"1767090000\",\"recipient_id\":\"5215512345678\","
    "\"biz_opaque_callback_data\":\"0b8c2d2e-0000-4000-8000-000000000001\",\"errors\":[{\"code\":"
    "131047}]},"
    "{\"id\":\"wamid.OUT2\",\"status\":\"read\",\"timestamp\":\"1767090001\",\"recipient_id\":"
    "\"5215512345678\"}]}}]}]}";

static void sig_roundtrip(void **state)
{
    (void)state;
    char hdr[72];
    const uint8_t *b = (const uint8_t *)WA_BODY;
    size_t n = sizeof WA_BODY - 1;
    gw_meta_signature_make(b, n, SECRET, SLEN, hdr);
    assert_int_equal(strlen(hdr), 71);
    assert_true(gw_meta_signature_ok(b, n, hdr, 71, SECRET, SLEN));
    /* upper-case hex is the same digest */
    char up[72];
    memcpy(up, hdr, 72);
    for (int i = 7; i < 71; i++)
        if (up[i] >= 'a' && up[i] <= 'f')
            up[i] = (char)(up[i] - 32);
    assert_true(gw_meta_signature_ok(b, n, up, 71, SECRET, SLEN));
    /* one tampered body byte */
    char *copy = malloc(n);
    memcpy(copy, WA_BODY, n);
    copy[100] ^= 1;
    assert_false(gw_meta_signature_ok((uint8_t *)copy, n, hdr, 71, SECRET, SLEN));
    free(copy);
    /* wrong secret, missing, truncated, sha1 prefix, trailing junk */
    assert_false(gw_meta_signature_ok(b, n, hdr, 71, (const uint8_t *)"other", 5));
    assert_false(gw_meta_signature_ok(b, n, NULL, 0, SECRET, SLEN));
    assert_false(gw_meta_signature_ok(b, n, hdr, 70, SECRET, SLEN));
    char sha1[72];
    memcpy(sha1, hdr, 72);
    memcpy(sha1, "sha1=XX", 7);
    assert_false(gw_meta_signature_ok(b, n, sha1, 71, SECRET, SLEN));
    char bad[72];
    memcpy(bad, hdr, 72);
    bad[70] = 'g';
    assert_false(gw_meta_signature_ok(b, n, bad, 71, SECRET, SLEN));
    assert_false(gw_meta_signature_ok(b, n, hdr, 71, SECRET, 0));
}

static void handshake(void **state)
{
    (void)state;
    char ch[GW_META_MAX_CHALLENGE + 1];
    const char *tok = "s3cr3t token";
    const char *q = "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=s3cr3t+token";
    assert_int_equal(gw_meta_verify_handshake(q, strlen(q), tok, strlen(tok), ch, sizeof ch), 200);
    assert_string_equal(ch, "1158201444");
    q = "hub.verify_token=s3cr3t%20token&hub.challenge=a%2Fb&hub.mode=subscribe";
    assert_int_equal(gw_meta_verify_handshake(q, strlen(q), tok, strlen(tok), ch, sizeof ch), 200);
    assert_string_equal(ch, "a/b");
    q = "hub.mode=subscribe&hub.challenge=1&hub.verify_token=s3cr3t+tokeN";
    assert_int_equal(gw_meta_verify_handshake(q, strlen(q), tok, strlen(tok), ch, sizeof ch), 403);
    q = "hub.mode=subscribe&hub.challenge=1&hub.verify_token=s3cr3t";
    assert_int_equal(gw_meta_verify_handshake(q, strlen(q), tok, strlen(tok), ch, sizeof ch), 403);
    q = "hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=s3cr3t+token";
    assert_int_equal(gw_meta_verify_handshake(q, strlen(q), tok, strlen(tok), ch, sizeof ch), 403);
    q = "hub.mode=subscribe&hub.verify_token=s3cr3t+token";
    assert_int_equal(gw_meta_verify_handshake(q, strlen(q), tok, strlen(tok), ch, sizeof ch), 403);
    q = "hub.mode=subscribe&hub.challenge=%zz&hub.verify_token=s3cr3t+token";
    assert_int_equal(gw_meta_verify_handshake(q, strlen(q), tok, strlen(tok), ch, sizeof ch), 403);
    q = "hub.mode=subscribe&hub.challenge=%4&hub.verify_token=s3cr3t+token";
    assert_int_equal(gw_meta_verify_handshake(q, strlen(q), tok, strlen(tok), ch, sizeof ch), 403);
    /* empty configured token never verifies */
    q = "hub.mode=subscribe&hub.challenge=1&hub.verify_token=";
    assert_int_equal(gw_meta_verify_handshake(q, strlen(q), "", 0, ch, sizeof ch), 403);
    /* over-long challenge refused */
    char big[600];
    int n = snprintf(big, sizeof big,
                     "hub.mode=subscribe&hub.verify_token=s3cr3t+token&hub.challenge=");
    memset(big + n, '7', 300);
    big[n + 300] = '\0';
    assert_int_equal(gw_meta_verify_handshake(big, strlen(big), tok, strlen(tok), ch, sizeof ch),
                     403);
}

static void parse_whatsapp_batch(void **state)
{
    (void)state;
    gw_meta_batch *b = NULL;
    assert_int_equal(gw_meta_parse(WA_BODY, sizeof WA_BODY - 1, &b), GW_META_OK);
    assert_int_equal(gw_meta_batch_platform(b), GW_META_WHATSAPP);
    assert_int_equal(gw_meta_batch_count(b), 4);
    const gw_meta_event *e = gw_meta_batch_event(b, 0);
    assert_int_equal(e->kind, GW_META_EV_MESSAGE);
    assert_string_equal(e->account_id, "310000000000001");
    assert_string_equal(e->phone_number_id, "420000000000002");
    assert_string_equal(e->user_id, "5215512345678");
    assert_string_equal(e->display_name, "Ana P\xc3\xa9rez");
    assert_string_equal(e->msg_id, "wamid.IN1");
    assert_string_equal(e->text, "Hola \xc2\xbf"
                                 "cita? a@b.c 1/2");
    assert_int_equal(e->ts_ms, 1767000000000LL);
    assert_false(e->has_media);
    e = gw_meta_batch_event(b, 1);
    assert_true(e->has_media);
    assert_string_equal(e->type, "image");
    assert_null(e->text);
    e = gw_meta_batch_event(b, 2);
    assert_int_equal(e->kind, GW_META_EV_STATUS);
    assert_string_equal(e->status, "failed");
    assert_int_equal(e->error_code, 131047);
    assert_string_equal(e->callback, "0b8c2d2e-0000-4000-8000-000000000001");
    e = gw_meta_batch_event(b, 3);
    assert_string_equal(e->status, "read");
    assert_null(e->callback);
    assert_null(gw_meta_batch_event(b, 4));
    gw_meta_batch_free(b);
}

static void parse_whatsapp_bsuid(void **state)
{
    (void)state;
    const char *body =
        "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"1\",\"changes\":[{"
        "\"field\":"
        "\"messages\",\"value\":{\"metadata\":{\"phone_number_id\":\"2\"},\"contacts\":[{"
        "\"profile\":"
        "{\"name\":\"X\",\"username\":\"@x\"},\"wa_id\":\"\",\"user_id\":\"user.abc\"}],"
        "\"messages\":"
        "[{\"from\":\"\",\"from_user_id\":\"user.abc\",\"id\":\"wamid.B\",\"timestamp\":1767000000,"
        "\"type\":\"text\",\"text\":{\"body\":\"hi\"}}]}}]}]}";
    gw_meta_batch *b = NULL;
    assert_int_equal(gw_meta_parse(body, strlen(body), &b), GW_META_OK);
    const gw_meta_event *e = gw_meta_batch_event(b, 0);
    assert_string_equal(e->user_id, "user.abc");
    assert_null(e->user_phone);
    assert_string_equal(e->display_name, "X");
    assert_int_equal(e->ts_ms, 1767000000000LL);
    gw_meta_batch_free(b);
}

static void parse_messenger_and_instagram(void **state)
{
    (void)state;
    const char *fb =
        "{\"object\":\"page\",\"entry\":[{\"id\":\"700\",\"time\":1767000000123,\"messaging\":["
        "{\"sender\":{\"id\":\"620\"},\"recipient\":{\"id\":\"700\"},\"timestamp\":1767000000001,"
        "\"message\":{\"mid\":\"m_1\",\"text\":\"Buenas\"}},"
        "{\"sender\":{\"id\":\"700\"},\"recipient\":{\"id\":\"620\"},\"timestamp\":1767000000002,"
        "\"message\":{\"mid\":\"m_2\",\"is_echo\":true,\"app_id\":1,\"metadata\":\"corr-1\","
        "\"text\":\"x\"}},"
        "{\"sender\":{\"id\":\"620\"},\"recipient\":{\"id\":\"700\"},\"delivery\":{\"mids\":[\"m_"
        "2\"],"
        "\"watermark\":1767000000500}},"
        "{\"sender\":{\"id\":\"620\"},\"recipient\":{\"id\":\"700\"},\"read\":{\"watermark\":"
        "1767000000600}},"
        "{\"sender\":{\"id\":\"620\"},\"recipient\":{\"id\":\"700\"},\"timestamp\":1,\"message\":{"
        "\"mid\":"
        "\"m_3\",\"attachments\":[{\"type\":\"image\",\"payload\":{\"url\":\"https:\\/\\/x\"}}]}}],"
        "\"standby\":[{\"sender\":{\"id\":\"621\"},\"recipient\":{\"id\":\"700\"},\"timestamp\":2,"
        "\"message\":{\"mid\":\"m_4\",\"text\":\"s\"}}]}]}";
    gw_meta_batch *b = NULL;
    assert_int_equal(gw_meta_parse(fb, strlen(fb), &b), GW_META_OK);
    assert_int_equal(gw_meta_batch_platform(b), GW_META_MESSENGER);
    assert_int_equal(gw_meta_batch_count(b), 6);
    const gw_meta_event *e = gw_meta_batch_event(b, 0);
    assert_int_equal(e->kind, GW_META_EV_MESSAGE);
    assert_string_equal(e->user_id, "620");
    assert_string_equal(e->account_id, "700");
    assert_string_equal(e->text, "Buenas");
    assert_int_equal(e->ts_ms, 1767000000001LL);
    e = gw_meta_batch_event(b, 1);
    assert_int_equal(e->kind, GW_META_EV_ECHO);
    assert_string_equal(e->user_id, "620");
    assert_string_equal(e->callback, "corr-1");
    assert_int_equal(gw_meta_batch_event(b, 2)->kind, GW_META_EV_DELIVERY);
    assert_int_equal(gw_meta_batch_event(b, 2)->watermark_ms, 1767000000500LL);
    assert_int_equal(gw_meta_batch_event(b, 3)->kind, GW_META_EV_READ);
    assert_true(gw_meta_batch_event(b, 4)->has_media);
    assert_string_equal(gw_meta_batch_event(b, 5)->msg_id, "m_4");
    gw_meta_batch_free(b);

    /* IG dashboard test shape inside a top-level array */
    const char *ig =
        "[{\"object\":\"instagram\",\"entry\":[{\"id\":\"178\",\"time\":1,\"changes\":[{"
        "\"field\":\"messages\",\"value\":{\"sender\":{\"id\":\"113\"},\"recipient\":{\"id\":"
        "\"178\"},\"timestamp\":\"1767000100123\",\"message\":{\"mid\":\"ig1\",\"text\":\"Hola\"}}}"
        "]}]}]";
    assert_int_equal(gw_meta_parse(ig, strlen(ig), &b), GW_META_OK);
    assert_int_equal(gw_meta_batch_platform(b), GW_META_INSTAGRAM);
    assert_int_equal(gw_meta_batch_count(b), 1);
    assert_string_equal(gw_meta_batch_event(b, 0)->user_id, "113");
    assert_int_equal(gw_meta_batch_event(b, 0)->ts_ms, 1767000100123LL);
    gw_meta_batch_free(b);
}

static void parse_rejects(void **state)
{
    (void)state;
    gw_meta_batch *b = (gw_meta_batch *)1;
    assert_int_equal(gw_meta_parse("nope", 4, &b), GW_META_ERR_JSON);
    assert_null(b);
    assert_int_equal(gw_meta_parse("{\"object\":\"user\"}", 17, &b), GW_META_ERR_OBJECT);
    assert_int_equal(gw_meta_parse("[]", 2, &b), GW_META_ERR_JSON);
    assert_int_equal(gw_meta_parse("{\"object\":\"page\",\"object\":\"page\"}", 34, &b),
                     GW_META_ERR_JSON);
    /* mixed objects in one array */
    const char *mix = "[{\"object\":\"page\"},{\"object\":\"instagram\"}]";
    assert_int_equal(gw_meta_parse(mix, strlen(mix), &b), GW_META_ERR_JSON);
    /* wrong types everywhere are ignored, not crashes */
    const char *odd =
        "{\"object\":\"whatsapp_business_account\",\"entry\":[1,{\"id\":5,\"changes\":"
        "[{\"field\":\"messages\",\"value\":{\"messages\":[7,{\"id\":1,\"timestamp\":\"x\"}],"
        "\"statuses\":{}}}]}]}";
    assert_int_equal(gw_meta_parse(odd, strlen(odd), &b), GW_META_OK);
    assert_int_equal(gw_meta_batch_count(b), 1);
    assert_null(gw_meta_batch_event(b, 0)->msg_id);
    assert_int_equal(gw_meta_batch_event(b, 0)->ts_ms, 0);
    gw_meta_batch_free(b);
}

static void build_bodies(void **state)
{
    (void)state;
    char *s = gw_meta_build_text(GW_META_WHATSAPP, "5215512345678", "Su cita qued\xc3\xb3", 14,
                                 "corr", GW_META_TAG_NONE);
    json_t *j = json_loads(s, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "to")), "+5215512345678");
    assert_string_equal(json_string_value(json_object_get(j, "messaging_product")), "whatsapp");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "text"), "body")),
                        "Su cita qued\xc3\xb3");
    assert_true(json_is_false(json_object_get(json_object_get(j, "text"), "preview_url")));
    assert_string_equal(json_string_value(json_object_get(j, "biz_opaque_callback_data")), "corr");
    json_decref(j);
    free(s);
    /* WhatsApp has no message tags */
    assert_null(gw_meta_build_text(GW_META_WHATSAPP, "1", "x", 1, NULL, GW_META_TAG_HUMAN_AGENT));
    assert_null(gw_meta_build_text(GW_META_WHATSAPP, "1", "\xff", 1, NULL, GW_META_TAG_NONE));
    s = gw_meta_build_text(GW_META_MESSENGER, "620", "hi", 2, "corr", GW_META_TAG_HUMAN_AGENT);
    j = json_loads(s, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "recipient"), "id")),
                        "620");
    assert_string_equal(json_string_value(json_object_get(j, "messaging_type")), "MESSAGE_TAG");
    assert_string_equal(json_string_value(json_object_get(j, "tag")), "HUMAN_AGENT");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(j, "message"), "metadata")), "corr");
    json_decref(j);
    free(s);
    s = gw_meta_build_template("user.abc", "new_reply", "de", "c");
    j = json_loads(s, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "to")), "user.abc");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "template"), "name")),
                        "new_reply");
    json_decref(j);
    free(s);
    /* limits */
    char big[1001];
    memset(big, 'a', sizeof big);
    assert_false(gw_meta_text_fits(GW_META_INSTAGRAM, big, 1001));
    assert_true(gw_meta_text_fits(GW_META_INSTAGRAM, big, 1000));
    assert_true(gw_meta_text_fits(GW_META_MESSENGER, big, 1001));
}

static void send_responses(void **state)
{
    (void)state;
    gw_meta_send_result r;
    const char *ok =
        "{\"messaging_product\":\"whatsapp\",\"contacts\":[{\"input\":\"+1\",\"wa_id\":\"1\"}],"
        "\"messages\":[{\"id\":\"wamid.OUT3\"}]}";
    assert_int_equal(gw_meta_parse_send_response(GW_META_WHATSAPP, 200, ok, strlen(ok), &r), 0);
    assert_true(r.ok);
    assert_string_equal(r.msg_id, "wamid.OUT3");
    const char *fb = "{\"recipient_id\":\"620\",\"message_id\":\"m_Z\"}";
    assert_int_equal(gw_meta_parse_send_response(GW_META_MESSENGER, 200, fb, strlen(fb), &r), 0);
    assert_string_equal(r.msg_id, "m_Z");
    const char *err = "{\"error\":{\"message\":\"(#10) x\",\"type\":\"OAuthException\",\"code\":10,"
                      "\"error_subcode\":2018278,\"fbtrace_id\":\"A\"}}";
    assert_int_equal(gw_meta_parse_send_response(GW_META_MESSENGER, 400, err, strlen(err), &r), 0);
    assert_false(r.ok);
    assert_int_equal(r.code, 10);
    assert_int_equal(r.subcode, 2018278);
    assert_int_equal(gw_meta_parse_send_response(GW_META_WHATSAPP, 502, "<html>", 6, &r), -1);
    assert_int_equal(r.code, 0);
}

static void classes(void **state)
{
    (void)state;
    assert_int_equal(gw_meta_classify(GW_META_WHATSAPP, 131047, 0), GW_META_CLASS_WINDOW);
    assert_int_equal(gw_meta_classify(GW_META_WHATSAPP, 131056, 0),
                     GW_META_CLASS_THROTTLE_RECIPIENT);
    assert_int_equal(gw_meta_classify(GW_META_WHATSAPP, 130429, 0), GW_META_CLASS_THROTTLE);
    assert_int_equal(gw_meta_classify(GW_META_WHATSAPP, 190, 463), GW_META_CLASS_AUTH);
    assert_int_equal(gw_meta_classify(GW_META_WHATSAPP, 131000, 0), GW_META_CLASS_RETRY);
    assert_int_equal(gw_meta_classify(GW_META_WHATSAPP, 131026, 0), GW_META_CLASS_PERMANENT);
    assert_int_equal(gw_meta_classify(GW_META_WHATSAPP, 100, 0), GW_META_CLASS_PERMANENT);
    assert_int_equal(gw_meta_classify(GW_META_WHATSAPP, 131048, 0), GW_META_CLASS_PAUSE);
    assert_int_equal(gw_meta_classify(GW_META_WHATSAPP, 250, 0), GW_META_CLASS_CONFIG);
    assert_int_equal(gw_meta_classify(GW_META_MESSENGER, 10, 2018278), GW_META_CLASS_WINDOW);
    assert_int_equal(gw_meta_classify(GW_META_INSTAGRAM, 10, 2534022), GW_META_CLASS_WINDOW);
    assert_int_equal(gw_meta_classify(GW_META_MESSENGER, 100, 2018001), GW_META_CLASS_PERMANENT);
    assert_int_equal(gw_meta_classify(GW_META_MESSENGER, 613, 0), GW_META_CLASS_THROTTLE);
    assert_int_equal(gw_meta_classify(GW_META_MESSENGER, 1200, 0), GW_META_CLASS_RETRY);
    assert_int_equal(gw_meta_classify(GW_META_MESSENGER, 190, 0), GW_META_CLASS_AUTH);
    assert_int_equal(gw_meta_classify(GW_META_INSTAGRAM, 200, 2534041), GW_META_CLASS_CONFIG);
    assert_string_equal(gw_meta_class_name(GW_META_CLASS_WINDOW), "window");
}

static void windows(void **state)
{
    (void)state;
    const int64_t H = 3600 * 1000LL, now = 1767000000000LL;
    int64_t rem;
    assert_int_equal(gw_meta_window_at(GW_META_WHATSAPP, now - 23 * H, now, false, true, &rem),
                     GW_META_WIN_OPEN);
    assert_int_equal(rem, 3600);
    assert_int_equal(gw_meta_window_at(GW_META_WHATSAPP, now - 25 * H, now, true, true, &rem),
                     GW_META_WIN_TEMPLATE);
    assert_int_equal(rem, 0);
    assert_int_equal(gw_meta_window_at(GW_META_MESSENGER, now - 25 * H, now, true, true, &rem),
                     GW_META_WIN_HUMAN_AGENT);
    assert_int_equal(rem, (7 * 24 - 25) * 3600);
    assert_int_equal(gw_meta_window_at(GW_META_MESSENGER, now - 25 * H, now, false, true, NULL),
                     GW_META_WIN_CLOSED);
    assert_int_equal(gw_meta_window_at(GW_META_MESSENGER, now - 25 * H, now, true, false, NULL),
                     GW_META_WIN_CLOSED);
    assert_int_equal(gw_meta_window_at(GW_META_INSTAGRAM, now - 8 * 24 * H, now, true, true, NULL),
                     GW_META_WIN_CLOSED);
    assert_int_equal(gw_meta_window_at(GW_META_INSTAGRAM, 0, now, true, true, NULL),
                     GW_META_WIN_CLOSED);
    assert_int_equal(gw_meta_platform_parse("instagram"), GW_META_INSTAGRAM);
    assert_string_equal(gw_meta_platform_name(GW_META_MESSENGER), "messenger");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sig_roundtrip),
        cmocka_unit_test(handshake),
        cmocka_unit_test(parse_whatsapp_batch),
        cmocka_unit_test(parse_whatsapp_bsuid),
        cmocka_unit_test(parse_messenger_and_instagram),
        cmocka_unit_test(parse_rejects),
        cmocka_unit_test(build_bodies),
        cmocka_unit_test(send_responses),
        cmocka_unit_test(classes),
        cmocka_unit_test(windows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
