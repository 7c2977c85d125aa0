/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gw_conn: one WebSocket session (patient or staff) as seen by the rest of the gateway.
 *
 * lws owns the per-session memory (the pss), which holds only a pointer to a gw_conn. The
 * gw_conn is reference counted because database callbacks outlive sockets: a query that
 * was sent for a patient who then hangs up must still find valid memory when it
 * completes, and must see that the socket is gone (gw_conn_alive). The protocol file
 * takes the first reference when the socket is established and drops it in CLOSED
 * (gw_conn_detach), never earlier (STYLE.md rule 13).
 *
 * Writes: gw_conn_send queues a frame (copied, with LWS_PRE headroom) on a bounded
 * outbound queue and asks for a writable callback; the protocol's SERVER_WRITEABLE case
 * calls gw_conn_writeable, which does exactly one lws_write (STYLE.md rule 16). A reader
 * too slow to drain its queue is closed (1008), not buffered for without bound.
 *
 * The kind-specific state (patient or staff session) lives in an extension block
 * allocated with the conn (gw_conn_ext), released by the ext_free callback when the
 * last reference goes. Not here: protocol parsing (gw_patient.c, gw_staff.c) and
 * routing between sessions (gw_fanout.c).
 */
#ifndef GW_CONN_H
#define GW_CONN_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lws;
typedef struct gw_conn gw_conn;

/*
 * Creates a conn for wsi with one reference (owned by the pss). kind is 'p' or 's' and
 * prefixes the log tag ("p12"). ext_size bytes of zeroed extension memory come with it;
 * ext_free (may be NULL) runs on that memory when the last reference is dropped.
 * Aborts on out of memory.
 */
gw_conn *gw_conn_new(struct lws *wsi, char kind, size_t ext_size, void (*ext_free)(void *ext));

/* Reference counting: every pending asynchronous operation holds one reference. */
void gw_conn_ref(gw_conn *c);
void gw_conn_unref(gw_conn *c);

/* The extension block (borrowed, lives as long as the conn). */
void *gw_conn_ext(gw_conn *c);

/* The stable log tag "p12" / "s3" (borrowed). */
const char *gw_conn_tag(const gw_conn *c);

/* False once lws has closed the socket (after gw_conn_detach) or a close is pending. */
bool gw_conn_alive(const gw_conn *c);

/*
 * Queues one text frame (copied). Returns 0, or -1 when the conn is gone or its
 * queue is full (the conn is then scheduled to close with 1008: a slow reader).
 */
int gw_conn_send(gw_conn *c, const char *text, size_t len);

/* Serialises obj compactly and queues it; obj is borrowed. Returns as gw_conn_send. */
int gw_conn_send_json(gw_conn *c, const json_t *obj);

/* Queues {"type":"error","code":…,"message":…[,"client_id":…]}. client_id may be NULL. */
int gw_conn_send_error(gw_conn *c, const char *code, const char *message, const char *client_id);

/*
 * Schedules a close with the given WebSocket close status after the frames already
 * queued have been written. Safe to call at any time, also from other sessions' and
 * database callbacks; the close itself happens in this conn's WRITEABLE callback.
 */
void gw_conn_close(gw_conn *c, int status, const char *reason);

/*
 * From SERVER_WRITEABLE only: writes at most one queued frame. Returns 0 to keep the
 * connection, -1 to have lws close it (a close was requested or the write failed).
 */
int gw_conn_writeable(gw_conn *c);

/* From CLOSED only: forgets the wsi, drops queued frames and the pss's reference. */
void gw_conn_detach(gw_conn *c);

/*
 * Token bucket: takes one token, refilling at per_minute tokens per minute up to burst.
 * Returns true when the action may proceed. now_ms is a monotonic clock (uv_now).
 */
bool gw_conn_rate_take(gw_conn *c, uint64_t now_ms, long per_minute, long burst);

/* Number of live conns (for /readyz and drain). */
size_t gw_conn_count(void);

/* Schedules every live conn to close with status (used on drain). */
void gw_conn_close_all(int status, const char *reason);

#endif
