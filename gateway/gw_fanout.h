/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gw_fanout: who is connected to this process, and getting messages to them.
 *
 * Local registry: patient sockets by conversation, staff sockets by staff id. A message
 * committed by this process reaches local sockets directly (gw_fanout_deliver, the
 * store's commit hook). Messages written by OTHER gateway processes sharing the database
 * arrive as NOTIFY caregate_msg {"id","c","o","t"}: those whose origin "o" is not ours
 * are fetched, opened and delivered the same way. caregate_conv tells staff consoles a
 * conversation changed; caregate_staff '<staff id>' (sent by `caregate user disable`)
 * closes that person's sockets within the notification latency. After the LISTEN
 * connection was lost (RESYNC) the messages written meanwhile are caught up by seq and
 * consoles get a fresh queue.
 *
 * Not here: frame formats (gw_patient.c, gw_staff.c) and storage (gw_store.c).
 */
#ifndef GW_FANOUT_H
#define GW_FANOUT_H

#include "gw_app.h"
#include "gw_conn.h"
#include "gw_store.h"

typedef struct gw_fanout gw_fanout;

/* Creates the fan-out for app (borrowed). Returns NULL only on bad args. */
gw_fanout *gw_fanout_new(gw_app *app);

/* Subscribes to the three channels. Returns 0 or -1. */
int gw_fanout_start(gw_fanout *f);

/* Frees the registry (sockets must be gone). NULL is fine. */
void gw_fanout_free(gw_fanout *f);

/* Registry. conn references are taken on add and dropped on remove. */
void gw_fanout_patient_add(gw_fanout *f, gw_conn *c, const char *conversation);
void gw_fanout_patient_remove(gw_fanout *f, gw_conn *c);
void gw_fanout_staff_add(gw_fanout *f, gw_conn *c, const char *staff_id);
void gw_fanout_staff_remove(gw_fanout *f, gw_conn *c);

/* Calls fn for every registered live staff conn. */
void gw_fanout_staff_each(gw_fanout *f, void (*fn)(void *arg, gw_conn *c), void *arg);

/* Delivers a committed message to the local sockets entitled to it (store hook). */
void gw_fanout_deliver(gw_fanout *f, const gw_msg *m);

/*
 * Ephemeral events (typing, read receipts): frame goes to the local sockets of conversation
 * conv, to = "patient" (the patient's sockets) or "staff" (consoles that opened conv,
 * gw_staff_wants_event), and via NOTIFY caregate_evt to the other gateway processes.
 * Nothing is stored. frame is borrowed. Frames never carry message text.
 */
void gw_fanout_event(gw_fanout *f, const char *conv, const char *to, json_t *frame);

/* Counts for logs and tests. */
size_t gw_fanout_patients(const gw_fanout *f);
size_t gw_fanout_staff(const gw_fanout *f);

#endif
