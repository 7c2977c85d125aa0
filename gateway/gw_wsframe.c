/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gw_wsframe: fragment accumulation under a cap, JSON parsing and typed field access for
 * the WebSocket protocols (see gw_wsframe.h). The cap is checked against what is
 * buffered plus what lws says is still to come in this frame, so a client announcing a
 * 10 MB frame is refused at its first chunk instead of after 10 MB of allocation.
 */
#include "gw_wsframe.h"
#include "gw_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int gw_wsframe_feed(gw_wsframe *f, struct lws *wsi, const void *in, size_t len, size_t max)
{
    size_t rest = lws_remaining_packet_payload(wsi);
    if (f->discarding) {
        f->discarded += len;
        if (f->discarded > 4 * max + (32u << 20))
            return GW_WSFRAME_ABUSE;
        return rest == 0 && lws_is_final_fragment(wsi) ? GW_WSFRAME_DISCARDED : GW_WSFRAME_MORE;
    }
    if (f->len + len + rest > max) {
        f->discarding = true;
        f->discarded = f->len + len;
        if (f->buf)
            memset(f->buf, 0, f->cap);
        f->len = 0;
        return GW_WSFRAME_TOO_LARGE;
    }
    size_t need = f->len + len + rest + 1;
    if (need > f->cap) {
        char *nb = realloc(f->buf, need);
        if (!nb)
            abort();
        f->buf = nb;
        f->cap = need;
    }
    memcpy(f->buf + f->len, in, len);
    f->len += len;
    f->buf[f->len] = '\0';
    if (rest == 0 && lws_is_final_fragment(wsi))
        return GW_WSFRAME_DONE;
    return GW_WSFRAME_MORE;
}

gw_wsframe_rx gw_wsframe_receive(gw_wsframe *f, struct lws *wsi, gw_conn *c, const void *in,
                                 size_t len, size_t max)
{
    int st = gw_wsframe_feed(f, wsi, in, len, max);
    if (st == GW_WSFRAME_MORE)
        return GW_WSFRAME_RX_MORE;
    if (st == GW_WSFRAME_TOO_LARGE) {
        gw_info(gw_conn_tag(c), "frame over max_frame_bytes: too_large, closing 1009");
        gw_conn_send_error(c, "too_large", "frame larger than the limit", NULL);
        /* a single-chunk oversize message has already ended: there is nothing to drain */
        if (!(lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0))
            return GW_WSFRAME_RX_MORE;
        st = GW_WSFRAME_DISCARDED;
    }
    if (st == GW_WSFRAME_DISCARDED) {
        gw_wsframe_reset(f);
        gw_conn_close(c, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "frame too large");
        return GW_WSFRAME_RX_MORE;
    }
    if (st == GW_WSFRAME_ABUSE) {
        gw_wsframe_reset(f);
        lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, NULL, 0);
        return GW_WSFRAME_RX_CLOSE;
    }
    if (!gw_conn_alive(c)) {
        gw_wsframe_reset(f);
        return GW_WSFRAME_RX_MORE;
    }
    return GW_WSFRAME_RX_DONE;
}

void gw_wsframe_reset(gw_wsframe *f)
{
    if (f->buf) {
        memset(f->buf, 0, f->cap); /* message text: do not leave it in freed memory */
        free(f->buf);
    }
    f->buf = NULL;
    f->len = f->cap = 0;
    f->discarding = false;
    f->discarded = 0;
}

json_t *gw_wsframe_parse(gw_wsframe *f, gw_conn *c, const char **type)
{
    json_error_t err;
    json_t *o = json_loadb(f->buf ? f->buf : "", f->len, JSON_REJECT_DUPLICATES, &err);
    if (!o || !json_is_object(o)) {
        json_decref(o);
        gw_conn_send_error(c, "bad_json", "frame is not a JSON object", NULL);
        return NULL;
    }
    json_t *t = json_object_get(o, "type");
    if (!json_is_string(t)) {
        const char *cid = json_string_value(json_object_get(o, "client_id"));
        gw_conn_send_error(c, "bad_request", "field 'type' must be a string", cid);
        json_decref(o);
        return NULL;
    }
    *type = json_string_value(t);
    return o;
}

const char *gw_wsframe_str(json_t *o, const char *field, size_t max_len, gw_conn *c,
                           const char *client_id)
{
    json_t *v = json_object_get(o, field);
    char msg[96];
    if (!json_is_string(v)) {
        snprintf(msg, sizeof msg, "field '%s' must be a string", field);
        gw_conn_send_error(c, "bad_request", msg, client_id);
        return NULL;
    }
    if (max_len && json_string_length(v) > max_len) {
        snprintf(msg, sizeof msg, "field '%s' is longer than %zu bytes", field, max_len);
        gw_conn_send_error(c, "bad_request", msg, client_id);
        return NULL;
    }
    return json_string_value(v);
}

bool gw_wsframe_opt_str(json_t *o, const char *field, size_t max_len, const char **out,
                        gw_conn *c)
{
    json_t *v = json_object_get(o, field);
    *out = NULL;
    if (!v || json_is_null(v))
        return true;
    if (!gw_wsframe_str(o, field, max_len, c, NULL))
        return false;
    *out = json_string_value(v);
    return true;
}
