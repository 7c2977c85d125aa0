/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gw_rights_srv: the running gateway's side of keys, retention and erasure.
 *
 *  - keyring reload on NOTIFY caregate_keys (from `caregate keys rotate|retire`), on
 *    SIGHUP and after the LISTEN connection was re-established (a notification may have
 *    been missed): gw_rotate_reload;
 *  - on NOTIFY caregate_shred '<conversation id>' the store wipes its cached data key;
 *  - a retention timer (retention_interval_seconds) runs gw_retention_run in the loop's
 *    worker pool on its own blocking connection (never on the loop thread); several
 *    gateways may all run it, the advisory lock lets one work at a time;
 *  - the patient's {"type":"erase_request"}: recorded in one statement
 *    (caregate_erase_request), answered {"type":"erase_accepted"} or error legal_hold,
 *    then carried out at once by kicking the worker;
 *  - the staff frames "retention" (set a conversation's class) and "legal_hold".
 * Not here: the deletion itself (gw_retention.c), key files (gw_rotate.c, gw_keys.c).
 */
#ifndef GW_RIGHTS_SRV_H
#define GW_RIGHTS_SRV_H

#include "gw_app.h"
#include "gw_conn.h"

typedef struct gw_rights_srv gw_rights_srv;

/*
 * Subscribes the listeners, starts the SIGHUP handler and the retention timer. conninfo
 * (copied) is what the worker connects with. Returns a new handle, or NULL (logged) when
 * the listeners could not be registered; the gateway then serves without them.
 */
gw_rights_srv *gw_rights_srv_start(gw_app *app, const char *conninfo);

/* Stops timer and signal handler; a run in progress finishes in the worker pool and the
 * handle frees itself afterwards. NULL is fine. After this, never use the handle. */
void gw_rights_srv_stop(gw_rights_srv *rs);

/* Runs a retention/erasure pass now (or right after the one in progress). NULL is fine. */
void gw_rights_srv_kick(gw_rights_srv *rs);

/* The patient asked for erasure of conversation conv (NULL: not welcomed yet). Answers on
 * c. The conn is referenced for the duration of the query. */
void gw_rights_srv_patient_erase(gw_app *app, gw_conn *c, const char *conv);

/*
 * Staff frames (console): {"type":"retention","conversation","class"} sets a conversation's
 * retention class (any staff role; the class must exist in the policy file) and
 * {"type":"legal_hold","conversation","hold":true|false,"reason_code"} places or lifts a
 * legal hold (admin and dpo only, else error forbidden). Both are audited and answered
 * with the same frame type echoing the new state, or an error. o is borrowed.
 */
void gw_rights_srv_staff_retention(gw_app *app, gw_conn *c, const char *staff_id, json_t *o);
void gw_rights_srv_staff_hold(gw_app *app, gw_conn *c, const char *staff_id, const char *role,
                              json_t *o);

#endif
