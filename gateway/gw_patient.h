/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gw_patient: the caregate.patient.v1 WebSocket protocol (GET /ws/patient). hello ->
 * welcome (new or resumed session with history), msg -> ack after commit, staff replies
 * delivered as msg. The frame checks (size cap with fragment accumulation, JSON, field
 * types, rate limit) are shared with the staff protocol through gw_wsframe.h.
 * The staff console's protocol is gw_staff.c; the upgrade checks (Origin) are in
 * gw_server.c.
 */
#ifndef GW_PATIENT_H
#define GW_PATIENT_H

#include "gw_app.h"
#include "gw_conn.h"
#include "gw_store.h"

#include <libwebsockets.h>

#define GW_PATIENT_PROTOCOL "caregate.patient.v1"

/* The lws protocol callback (user of the protocol struct is the gw_app). */
int gw_patient_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                        size_t len);

/* Size of the per-session memory lws allocates for this protocol. */
size_t gw_patient_pss_size(void);

/* Queues a committed message for a patient socket (called by gw_fanout). */
void gw_patient_deliver(gw_app *app, gw_conn *c, const gw_msg *m);

#endif
