/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target for incoming WebSocket message decoding (gw_wsframe): any bytes must either
 * decode into an object with a string "type" whose fields the protocols read with the
 * typed getters, or be answered with exactly one error code (bad_json / bad_request) —
 * never a crash, leak or out-of-bounds read. gw_conn_send_error is replaced by a recorder
 * here, so the frame layer runs without a socket (this object file is linked before the
 * gateway library, so the library's gw_conn.o is not pulled in for it). The other gw_conn
 * calls gw_wsframe.o makes (from gw_wsframe_receive, which needs a live lws socket and is
 * not fuzzed here) get stand-ins that must never run.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gw_wsframe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int errors_sent;
static const char *last_code;

int gw_conn_send_error(gw_conn *c, const char *code, const char *message, const char *client_id)
{
    (void)c;
    (void)message;
    (void)client_id;
    assert(strcmp(code, "bad_json") == 0 || strcmp(code, "bad_request") == 0);
    errors_sent++;
    last_code = code;
    return 0;
}

const char *gw_conn_tag(const gw_conn *c)
{
    (void)c;
    abort();
}

bool gw_conn_alive(const gw_conn *c)
{
    (void)c;
    abort();
}

void gw_conn_close(gw_conn *c, int status, const char *reason)
{
    (void)c;
    (void)status;
    (void)reason;
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gw_wsframe f = {0};
    f.buf = malloc(size ? size : 1);
    if (!f.buf)
        return 0;
    memcpy(f.buf, data, size);
    f.len = f.cap = size;
    errors_sent = 0;
    const char *type = NULL;
    json_t *o = gw_wsframe_parse(&f, NULL, &type);
    if (!o) {
        assert(errors_sent == 1 && last_code != NULL);
    } else {
        assert(errors_sent == 0 && type != NULL);
        static const char *const fields[] = {"client_id", "text", "conversation", "session",
                                             "lang", "status", "staff", "id"};
        for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
            const char *s = NULL;
            (void)gw_wsframe_opt_str(o, fields[i], 8000, &s, NULL);
            if (s)
                (void)strlen(s);
        }
        (void)gw_wsframe_str(o, "text", 8000, NULL, NULL);
        json_decref(o);
    }
    gw_wsframe_reset(&f);
    return 0;
}
