/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gw_staff: the caregate.staff.v1 WebSocket protocol (GET /ws/staff, authenticated by the
 * session cookie set by POST /api/login). On connect: welcome + queue. open -> history
 * (an audit record per access), reply / note -> ack after commit, status, assign.
 * The patient side is gw_patient.c; login/logout HTTP handlers are in gw_server.c.
 */
#ifndef GW_STAFF_H
#define GW_STAFF_H

#include "gw_app.h"
#include "gw_conn.h"
#include "gw_store.h"

#include <libwebsockets.h>

#define GW_STAFF_PROTOCOL "caregate.staff.v1"
#define GW_STAFF_COOKIE "cg_staff"

int gw_staff_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                      size_t len);
size_t gw_staff_pss_size(void);

/* Queues a committed message (patient text, staff reply or note) for a console. */
bool gw_staff_deliver(gw_app *app, gw_conn *c, const gw_msg *m); /* true: sent to this console */

/* A conversation changed (NOTIFY caregate_conv): send its row to every console. */
void gw_staff_conversation_changed(gw_app *app, const char *conversation);

/* After a LISTEN outage: send every console a fresh queue. */
void gw_staff_refresh_all(gw_app *app);

/* Does this console want ephemeral events (typing, read) of conv? True when it is an
 * authenticated non-DPO console that opened conv. */
bool gw_staff_wants_event(gw_conn *c, const char *conv);

/* Copies the value of cookie `name` from a Cookie header value into out (outlen bytes).
 * Returns the length or -1 when absent / too long. */
int gw_staff_cookie_value(const char *header, const char *name, char *out, size_t outlen);

#endif
