/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target for the Meta webhook path before any I/O: signature check over the raw
 * bytes, the verification handshake (input as a query string), the body parser (every
 * event field is read back) and the Send API response parser. Any bytes must either be
 * rejected or parse into events whose strings are readable; never a crash, leak or
 * out-of-bounds read. Defines only LLVMFuzzerTestOneInput (replay_main.c or libFuzzer).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gw_meta_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t str_len(const char *s)
{
    return s ? strlen(s) : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t secret[] = "fuzz-secret";
    char hdr[72], ch[GW_META_MAX_CHALLENGE + 1];
    gw_meta_signature_make(data, size, secret, sizeof secret - 1, hdr);
    if (!gw_meta_signature_ok(data, size, hdr, 71, secret, sizeof secret - 1))
        __builtin_trap();
    (void)gw_meta_signature_ok(data, size, (const char *)data, size, secret, sizeof secret - 1);
    (void)gw_meta_verify_handshake((const char *)data, size, "tok", 3, ch, sizeof ch);

    gw_meta_batch *b = NULL;
    if (gw_meta_parse((const char *)data, size, &b) == GW_META_OK) {
        size_t acc = 0;
        for (size_t i = 0; i < gw_meta_batch_count(b); i++) {
            const gw_meta_event *e = gw_meta_batch_event(b, i);
            acc += str_len(e->account_id) + str_len(e->phone_number_id) + str_len(e->user_id) +
                   str_len(e->user_phone) + str_len(e->display_name) + str_len(e->msg_id) +
                   str_len(e->type) + str_len(e->status) + str_len(e->callback);
            if (e->text_len)
                acc += (unsigned char)e->text[e->text_len - 1];
            if (e->user_id && e->text) {
                char *s = gw_meta_build_text(e->platform, e->user_id, e->text, e->text_len, "c",
                                             GW_META_TAG_NONE);
                free(s);
            }
        }
        (void)acc;
        gw_meta_batch_free(b);
    }
    gw_meta_send_result r;
    (void)gw_meta_parse_send_response(GW_META_WHATSAPP, 200, (const char *)data, size, &r);
    (void)gw_meta_parse_send_response(GW_META_MESSENGER, 400, (const char *)data, size, &r);
    return 0;
}
