/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gw_outbox: the outbound half of the Meta bridges (meta-platforms.md §4, §5.2, §6.2, §7).
 *
 *  - Enqueue: committed staff/system texts of bridged conversations without an outbox
 *    row are found in the message table (so a crash between commit and enqueue loses
 *    nothing), opened through gw_store_fetch, checked against the messaging window
 *    (WhatsApp 24 h; Messenger/Instagram 24 h, then HUMAN_AGENT for 7 days for human
 *    senders on channels that enabled it), built into a Send API body carrying the outbox
 *    id as correlation data, sealed with the bridge key and inserted once per message.
 *  - Work: rows are claimed with SELECT … FOR UPDATE SKIP LOCKED (oldest first per
 *    recipient, none while an earlier send to that recipient is in flight or uncertain,
 *    not on throttled/stopped channels), paced by per-channel and per-recipient token
 *    buckets, and sent with libcurl's multi-socket API on the libuv loop.
 *  - Outcomes by error code (§4.5, §5.4, §7.2): RETRY backs off (5 attempts), THROTTLE
 *    pauses the channel, 131056 only the recipient, WINDOW/PERMANENT fail the message,
 *    AUTH/CONFIG/PAUSE stop the channel (state + audit record, visible to consoles) and
 *    keep the message queued. A timeout or broken connection after the body was sent
 *    makes the send UNCERTAIN: never resent blindly, matched by the status/echo webhook
 *    carrying the correlation id (§7.3) or failed after meta_uncertain_wait_s. Rows left
 *    'sending' by a crashed process become uncertain when their lease runs out.
 *
 * Not here: webhooks (gw_meta.c), pure request/response code (gw_meta_parse.c).
 * Never logs tokens, URLs with tokens, bodies or recipients.
 */
#ifndef GW_OUTBOX_H
#define GW_OUTBOX_H

#include "gw_app.h"
#include "gw_bridgekey.h"

#include <stddef.h>

typedef struct gw_outbox gw_outbox;

/* app and key are borrowed and must outlive the outbox. NULL only on bad args. */
gw_outbox *gw_outbox_new(gw_app *app, const gw_bridgekey *key);

/* Starts the curl multi handle and the work timer. Returns 0 or -1. */
int gw_outbox_start(gw_outbox *o) __attribute__((warn_unused_result));

/* Something may be ready: scan for unqueued messages and claim work soon (debounced). */
void gw_outbox_kick(gw_outbox *o);

/* Stops: no new claims; transfers in flight are aborted (their rows become uncertain
 * after the lease, exactly as after a crash). Handles close as the loop runs on. */
void gw_outbox_stop(gw_outbox *o);

/* Frees a stopped outbox once the loop closed its handles. NULL is fine. */
void gw_outbox_free(gw_outbox *o);

/* Transfers and database operations in flight. */
size_t gw_outbox_pending(const gw_outbox *o);

#endif
