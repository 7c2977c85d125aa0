/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gw_conn: reference-counted WebSocket session with a bounded outbound queue (see
 * gw_conn.h). Frames are stored with LWS_PRE bytes of headroom so lws_write can
 * prepend the WebSocket header in place. The list of live conns exists for drain
 * (close everyone with 1001) and for counting; it is touched only on the loop thread.
 */
#include "gw_conn.h"
#include "gw_log.h"

#include <assert.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bounds of one session's outbound queue: a console that opens a long history may
 * receive a large frame, so the byte bound is generous; the count bound culls readers
 * that stopped reading while many small frames arrive. */
#define OUTQ_MAX_BYTES (8u * 1024u * 1024u)
#define OUTQ_MAX_FRAMES 1024u

typedef struct frame {
    struct frame *next;
    size_t len;
    unsigned char buf[]; /* LWS_PRE headroom, then len bytes of payload */
} frame;

struct gw_conn {
    struct lws *wsi; /* NULL after CLOSED */
    struct gw_conn *prev, *next; /* live list */
    unsigned refs;
    char tag[16];
    frame *head, *tail;
    size_t q_bytes, q_frames;
    int close_status; /* 0: none pending */
    bool close_sent;
    char close_reason[64];
    double tokens;
    uint64_t tokens_at;
    bool tokens_init;
    void (*ext_free)(void *ext);
    max_align_t ext[]; /* extension block */
};

static gw_conn *live_head;
static size_t live_count;
static unsigned long next_id[2];

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p)
        abort();
    return p;
}

gw_conn *gw_conn_new(struct lws *wsi, char kind, size_t ext_size, void (*ext_free)(void *ext))
{
    gw_conn *c = xmalloc(sizeof *c + ext_size);
    memset(c, 0, sizeof *c + ext_size);
    c->wsi = wsi;
    c->refs = 1;
    c->ext_free = ext_free;
    snprintf(c->tag, sizeof c->tag, "%c%lu", kind, ++next_id[kind == 's']);
    c->next = live_head;
    if (live_head)
        live_head->prev = c;
    live_head = c;
    live_count++;
    return c;
}

void gw_conn_ref(gw_conn *c)
{
    c->refs++;
}

static void queue_drop(gw_conn *c)
{
    frame *f = c->head;
    while (f) {
        frame *n = f->next;
        /* outbound frames carry message text: wipe before release */
        memset(f->buf, 0, LWS_PRE + f->len);
        free(f);
        f = n;
    }
    c->head = c->tail = NULL;
    c->q_bytes = c->q_frames = 0;
}

void gw_conn_unref(gw_conn *c)
{
    if (!c)
        return;
    assert(c->refs > 0);
    if (--c->refs > 0)
        return;
    assert(c->wsi == NULL);
    if (c->ext_free)
        c->ext_free(c->ext);
    queue_drop(c);
    free(c);
}

void *gw_conn_ext(gw_conn *c)
{
    return c->ext;
}

const char *gw_conn_tag(const gw_conn *c)
{
    return c->tag;
}

bool gw_conn_alive(const gw_conn *c)
{
    return c->wsi != NULL && c->close_status == 0;
}

int gw_conn_send(gw_conn *c, const char *text, size_t len)
{
    if (!gw_conn_alive(c))
        return -1;
    if (c->q_frames >= OUTQ_MAX_FRAMES || c->q_bytes + len > OUTQ_MAX_BYTES) {
        gw_warn(c->tag, "outbound queue full (frames=%zu bytes=%zu): closing slow reader",
                c->q_frames, c->q_bytes);
        gw_conn_close(c, LWS_CLOSE_STATUS_POLICY_VIOLATION, "slow reader");
        return -1;
    }
    frame *f = xmalloc(sizeof *f + LWS_PRE + len);
    f->next = NULL;
    f->len = len;
    memcpy(f->buf + LWS_PRE, text, len);
    if (c->tail)
        c->tail->next = f;
    else
        c->head = f;
    c->tail = f;
    c->q_bytes += len;
    c->q_frames++;
    lws_callback_on_writable(c->wsi);
    return 0;
}

int gw_conn_send_json(gw_conn *c, const json_t *obj)
{
    char *s = json_dumps(obj, JSON_COMPACT);
    if (!s)
        return -1;
    size_t n = strlen(s);
    int rc = gw_conn_send(c, s, n);
    memset(s, 0, n);
    free(s);
    return rc;
}

int gw_conn_send_error(gw_conn *c, const char *code, const char *message, const char *client_id)
{
    json_t *o = json_pack("{s:s, s:s, s:s}", "type", "error", "code", code, "message", message);
    if (client_id)
        json_object_set_new(o, "client_id", json_string(client_id));
    int rc = gw_conn_send_json(c, o);
    json_decref(o);
    return rc;
}

void gw_conn_close(gw_conn *c, int status, const char *reason)
{
    if (!c->wsi || c->close_status)
        return;
    c->close_status = status;
    snprintf(c->close_reason, sizeof c->close_reason, "%s", reason ? reason : "");
    lws_callback_on_writable(c->wsi);
}

int gw_conn_writeable(gw_conn *c)
{
    assert(c->wsi != NULL);
    frame *f = c->head;
    if (f) {
        c->head = f->next;
        if (!c->head)
            c->tail = NULL;
        c->q_bytes -= f->len;
        c->q_frames--;
        int n = lws_write(c->wsi, f->buf + LWS_PRE, f->len, LWS_WRITE_TEXT);
        memset(f->buf, 0, LWS_PRE + f->len);
        size_t len = f->len;
        free(f);
        if (n < (int)len) {
            gw_info(c->tag, "write failed: closing");
            return -1;
        }
        if (c->head || c->close_status)
            lws_callback_on_writable(c->wsi);
        return 0;
    }
    if (c->close_status && !c->close_sent) {
        /* The close frame is written here, as a frame of its own: with
         * "lws_close_reason(); return -1" (or a kill timeout) lws 4.1.6 drops the TCP
         * connection without sending it, and clients saw 1006 instead of our status.
         * Opcode 4 is lws's internal LWS_WRITE_CLOSE (the public header only comments it
         * out). The peer's close echo is then answered by lws, and the timeout bounds a
         * peer that never answers. */
        unsigned char buf[LWS_PRE + 2 + sizeof c->close_reason];
        size_t rl = strlen(c->close_reason);
        buf[LWS_PRE] = (unsigned char)(c->close_status >> 8);
        buf[LWS_PRE + 1] = (unsigned char)(c->close_status & 0xff);
        memcpy(buf + LWS_PRE + 2, c->close_reason, rl);
        c->close_sent = true;
        if (lws_write(c->wsi, buf + LWS_PRE, 2 + rl, (enum lws_write_protocol)4) < 0)
            return -1;
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_ACK, 3);
        return 0;
    }
    return 0;
}

void gw_conn_detach(gw_conn *c)
{
    if (!c || !c->wsi)
        return;
    c->wsi = NULL;
    queue_drop(c);
    if (c->prev)
        c->prev->next = c->next;
    else
        live_head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    live_count--;
    gw_conn_unref(c);
}

bool gw_conn_rate_take(gw_conn *c, uint64_t now_ms, long per_minute, long burst)
{
    if (!c->tokens_init) {
        c->tokens = (double)burst;
        c->tokens_at = now_ms;
        c->tokens_init = true;
    }
    double add = (double)(now_ms - c->tokens_at) * (double)per_minute / 60000.0;
    c->tokens_at = now_ms;
    c->tokens += add;
    if (c->tokens > (double)burst)
        c->tokens = (double)burst;
    if (c->tokens < 1.0)
        return false;
    c->tokens -= 1.0;
    return true;
}

size_t gw_conn_count(void)
{
    return live_count;
}

void gw_conn_close_all(int status, const char *reason)
{
    for (gw_conn *c = live_head; c; c = c->next)
        gw_conn_close(c, status, reason);
}
