/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gw_db: PostgreSQL on the event loop. A small pool of libpq connections in
 * non-blocking async mode (PQconnectStart/PQconnectPoll, PQsetnonblocking,
 * PQsendQueryParams, PQflush, PQconsumeInput, PQisBusy), each watched by a uv_poll_t,
 * plus one dedicated connection for LISTEN. Nothing here blocks the loop.
 *
 * Queries are queued (parameters copied) and run one at a time per connection, in
 * submission order per pool (not across connections). Broken connections are re-opened
 * with backoff; LISTEN channels are re-subscribed after a reconnect and listeners are
 * told (GW_DB_NOTIFY_RESYNC) so they can catch up on anything missed.
 *
 * Async contract (STYLE.md rule 9): if gw_db_query returns an error the callback never
 * runs; otherwise it runs exactly once, also on shutdown, with a status.
 * This module never logs SQL parameters (they may carry identifiers).
 */
#ifndef GW_DB_H
#define GW_DB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <uv.h>

typedef struct gw_db gw_db;

typedef enum {
    GW_DB_OK = 0,
    GW_DB_ERR_QUERY = -1,       /* the server rejected the statement: nothing happened */
    GW_DB_ERR_CONN = -2,        /* connection broke while the query was in flight: outcome unknown */
    GW_DB_ERR_UNAVAILABLE = -3, /* no connection within the query's deadline: never sent */
    GW_DB_ERR_CLOSED = -4,      /* the pool is shutting down: never sent */
} gw_db_status;

/*
 * Result callback. res is borrowed and valid only during the call (NULL unless
 * status is GW_DB_OK or GW_DB_ERR_QUERY). sqlstate is the 5-char SQLSTATE or "" and
 * errmsg a server/libpq message for operators (may contain parameter values in rare
 * server messages: log the sqlstate, not errmsg, on patient-data paths).
 */
typedef void (*gw_db_result_cb)(void *arg, gw_db_status status, PGresult *res,
                                const char *sqlstate, const char *errmsg);

typedef enum { GW_DB_NOTIFY = 0, GW_DB_NOTIFY_RESYNC = 1 } gw_db_notify_kind;

/* Notification callback: channel and payload are borrowed for the call. On RESYNC both
 * are NULL: the LISTEN connection was re-established and notifications may have been lost. */
typedef void (*gw_db_notify_cb)(void *arg, gw_db_notify_kind kind, const char *channel,
                                const char *payload);

typedef struct {
    const char *const *values; /* NULL entries are SQL NULL */
    const int *lengths;        /* for binary params; may be NULL when all are text */
    const int *formats;        /* 0 text, 1 binary per param; NULL: all text */
    int n;
} gw_db_params;

/* Creates a pool of nconn query connections (plus one LISTEN connection when listeners
 * are added) using conninfo (copied). Does not connect yet. Returns NULL on bad args. */
gw_db *gw_db_new(uv_loop_t *loop, const char *conninfo, int nconn);

/* Starts connecting; never blocks. Returns 0. */
int gw_db_start(gw_db *db);

/*
 * Queues one statement (a single statement when params are used; several separated by
 * ';' only with params == NULL). result_binary selects binary result format.
 * The deadline counts from now until the query is sent: default 10 s (gw_db_set_deadline).
 * Returns 0 (callback will run) or -1 when the pool is stopped (callback will not run).
 */
int gw_db_query(gw_db *db, const char *sql, const gw_db_params *params, bool result_binary,
                gw_db_result_cb cb, void *arg) __attribute__((warn_unused_result));

/* Subscribes cb to a NOTIFY channel (name must be a plain identifier). */
int gw_db_listen(gw_db *db, const char *channel, gw_db_notify_cb cb, void *arg);

void gw_db_set_deadline(gw_db *db, unsigned ms);

/* True when at least one query connection is established. */
bool gw_db_ready(const gw_db *db);

/* Queries queued or in flight. */
size_t gw_db_pending(const gw_db *db);

/*
 * Stops: queued queries get GW_DB_ERR_CLOSED, in-flight ones are allowed to finish
 * (their callbacks run), then connections close and handles are released. done (may be
 * NULL) runs once everything is closed; after it the db may be freed with gw_db_free.
 */
void gw_db_stop(gw_db *db, void (*done)(void *arg), void *arg);

/* Frees a stopped (or never started) pool. NULL is fine. */
void gw_db_free(gw_db *db);

#endif
