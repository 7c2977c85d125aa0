/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gw_meta: the Meta bridges inside `caregate serve` (WhatsApp Cloud API, Messenger,
 * Instagram; see docs/bridges.md and meta-platforms.md).
 *
 *  - Webhooks at /webhooks/meta: the GET verification handshake, and POSTs whose
 *    X-Hub-Signature-256 is checked over the raw bytes (against every registered app
 *    secret, constant time) before anything is parsed. Events of registered channels are
 *    stored through the same path as widget messages (gw_store_append: sealed body,
 *    group commit, NOTIFY caregate_msg), idempotent per platform message id
 *    (webhook_dedup plus the message client_id), statuses update message.delivery, and
 *    HTTP 200 is answered only after all of it committed (503 otherwise, so Meta retries).
 *    Events for unregistered accounts are dropped and audited.
 *  - Staff replies: gw_meta_reply_check enforces the messaging windows before a reply is
 *    stored; committed staff/system texts of bridged conversations are picked up from
 *    the message table and queued in the outbox worked by gw_outbox.c.
 *  - Media are never downloaded: the patient gets the policy's RULES_TEXT_MEDIA_REFUSED.
 *
 * Not here: parsing and signatures (gw_meta_parse.c, pure), the Send API client
 * (gw_outbox.c), the channel CLI (gw_channel.c). Never logs payloads, names or ids.
 */
#ifndef GW_META_H
#define GW_META_H

#include "gw_app.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lws_protocols;
struct lws_http_mount;

typedef struct gw_meta gw_meta;

#define GW_META_PROTOCOL "caregate.meta-webhook"
#define GW_META_PATH "/webhooks/meta"

/* Creates the bridges for app (borrowed; app->db, app->store and app->kr must be set).
 * Reads the verify token and bridge key files; without a bridge key the webhook answers
 * 503 and nothing is sent (logged once). Returns NULL only on bad args. */
gw_meta *gw_meta_new(gw_app *app);

/* Loads channels, LISTENs caregate_channel/caregate_msg, starts the outbox. Returns 0/-1. */
int gw_meta_start(gw_meta *m) __attribute__((warn_unused_result));

/* Stops accepting webhooks and sends; in-flight requests finish into nothing. */
void gw_meta_stop(gw_meta *m);

/* Frees a stopped bridge after the loop closed its handles. NULL is fine. */
void gw_meta_free(gw_meta *m);

/* Webhook requests and sends in flight (drain waits for them). */
size_t gw_meta_pending(const gw_meta *m);

/* The lws protocol serving GW_META_PATH (user = m) and the mount routing the path to it,
 * for gw_server.c. Both are static storage valid for the process. */
const struct lws_protocols *gw_meta_protocol(gw_meta *m);
const struct lws_http_mount *gw_meta_mount(void);

/*
 * Checks a staff frame of kind "text"/"note" for conversation conv (UUID text) before it
 * is stored. Returns NULL when allowed (web conversations, notes, open windows) or a
 * protocol error code ("window_closed", "too_large") with a human message in *message.
 * Uses the bridges' cached window state; gw_outbox re-checks at send time.
 */
const char *gw_meta_reply_check(gw_meta *m, const char *conv, const char *kind, const char *text,
                                size_t len, const char **message);

/*
 * Staff frame {"type":"reengage","conversation":id,"client_id":…}: stores a staff message
 * "[template: NAME]" and queues the configured WhatsApp template (meta_wa_template, which
 * must carry no health data), the only thing WhatsApp accepts outside the 24 h window.
 * Answers the console with ack or error (not_configured, bad_request, unavailable).
 * c is borrowed (referenced while the store works); jansson object o is borrowed.
 */
struct gw_conn;
struct json_t;
void gw_meta_staff_reengage(gw_meta *m, struct gw_conn *c, struct json_t *o, const char *staff_id,
                            const char *alias);

/* ---- lower-level entry point (used by the lws glue and by tests) ---------------------- */

/* Response: http status, content type and body (borrowed for the call). */
typedef void (*gw_meta_reply_cb)(void *arg, int status, const char *content_type, const char *body,
                                 size_t len);

/*
 * Handles one webhook request. method "GET" (query = raw query string) or "POST" (sig =
 * X-Hub-Signature-256 header value or NULL; body/len the raw bytes). Returns 0 and calls
 * cb exactly once (possibly before returning), or -1 (stopped: cb never runs).
 */
int gw_meta_webhook_request(gw_meta *m, const char *method, const char *query, const char *sig,
                            const uint8_t *body, size_t len, gw_meta_reply_cb cb, void *arg);

#endif
