/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gw_wsframe: what the patient and staff protocols share about incoming frames:
 * accumulating fragments under the configured cap (close 1009 before buffering more
 * than cfg->max_frame_bytes, using lws_remaining_packet_payload to refuse early),
 * parsing one JSON object, and typed field access that answers bad_request precisely.
 * UTF-8 validity is checked by lws itself (LWS_SERVER_OPTION_VALIDATE_UTF8: close 1007).
 */
#ifndef GW_WSFRAME_H
#define GW_WSFRAME_H

#include "gw_conn.h"

#include <jansson.h>
#include <libwebsockets.h>
#include <stdbool.h>
#include <stddef.h>

/* Per-session receive buffer; lives in the pss, freed by gw_wsframe_reset. */
typedef struct {
    char *buf;
    size_t len, cap;
    bool discarding;  /* an oversize message: drop the rest of it */
    size_t discarded; /* bytes dropped so far */
} gw_wsframe;

typedef enum {
    GW_WSFRAME_MORE = 1,          /* a fragment was buffered (or dropped); wait for more */
    GW_WSFRAME_DONE = 0,          /* a whole message is in f->buf[0..len) */
    GW_WSFRAME_TOO_LARGE = -1,    /* over the cap: answer too_large now */
    GW_WSFRAME_DISCARDED = -2,    /* the end of the oversize message arrived: close 1009 */
    GW_WSFRAME_ABUSE = -3,        /* far more than the cap kept coming: close at once */
} gw_wsframe_status;

/*
 * Feeds one RECEIVE callback's data. max is cfg->max_frame_bytes. After TOO_LARGE the
 * rest of that message is read and dropped (not buffered) and DISCARDED reported at its
 * end: closing while the client is still sending would make the kernel reset the
 * connection and the client would never see the 1009 close frame.
 */
int gw_wsframe_feed(gw_wsframe *f, struct lws *wsi, const void *in, size_t len, size_t max);

/* What gw_wsframe_receive leaves the RECEIVE callback to do. */
typedef enum {
    GW_WSFRAME_RX_MORE = 1,   /* nothing to handle now: return 0 */
    GW_WSFRAME_RX_DONE = 0,   /* a whole message is in f->buf[0..len) on a live connection:
                               * handle it, then gw_wsframe_reset */
    GW_WSFRAME_RX_CLOSE = -1, /* hang up at once: return -1 from the callback */
} gw_wsframe_rx;

/*
 * gw_wsframe_feed plus what both protocols do with its answer, so the oversize policy
 * lives in one place: over the cap, c gets too_large and, once the rest of that message
 * has been drained, close 1009; a client that keeps sending far past the cap is hung up
 * on (ABUSE). A message completing on a connection that is already closing is dropped.
 * c is borrowed. After MORE or CLOSE nothing is left for the caller to do with f; after
 * DONE the caller handles the message and then calls gw_wsframe_reset.
 */
gw_wsframe_rx gw_wsframe_receive(gw_wsframe *f, struct lws *wsi, gw_conn *c, const void *in,
                                 size_t len, size_t max);

/* Forgets the buffered message (after handling it), keeping nothing. */
void gw_wsframe_reset(gw_wsframe *f);

/*
 * Parses the buffered message as a JSON object with a string "type". On failure sends
 * the error (bad_json / bad_request) on c and returns NULL. On success returns a new
 * reference and sets *type (borrowed from the object).
 */
json_t *gw_wsframe_parse(gw_wsframe *f, gw_conn *c, const char **type);

/*
 * Typed getters: return the string (borrowed) or NULL after sending bad_request naming
 * the field. Optional strings return NULL without error when absent or null.
 * max_len bounds the byte length (0: no bound).
 */
const char *gw_wsframe_str(json_t *o, const char *field, size_t max_len, gw_conn *c,
                           const char *client_id);
bool gw_wsframe_opt_str(json_t *o, const char *field, size_t max_len, const char **out,
                        gw_conn *c);

#endif
