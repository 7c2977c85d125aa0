/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The embedded PostgreSQL: with database_url empty, caregate creates a private cluster
 * under <state_dir>/pg (data/, run/ for the unix socket, *.log) and supervises it on the
 * libuv loop. No TCP at all (listen_addresses=''), the socket directory is 0700, trust
 * authentication is therefore limited to processes that can enter that directory (the
 * service user and root). The cluster's superuser and database are both "caregate".
 *
 * When caregate runs as root, initdb and postgres run as cfg->embedded_pg_user, because
 * PostgreSQL refuses to run as root; the pg directory is chowned to that user and the
 * state directory is made traversable (not readable) for it.
 *
 * Every postgres we start gets PR_SET_PDEATHSIG=SIGQUIT, so a kill -9 of the gateway
 * takes the cluster down too (immediate shutdown, crash recovery on next start) instead
 * of leaving an orphan holding the data directory. A stale postmaster.pid whose pid is
 * gone is handled by postgres itself.
 *
 * Does not: tune PostgreSQL, manage backups, or upgrade major versions of the cluster.
 * The CLI variant (start for one command, stop after) is gw_cli_db_connect in gw_cli.h,
 * implemented at the end of gw_pgembed.c.
 */
#ifndef GW_PGEMBED_H
#define GW_PGEMBED_H

#include "gw_config.h"

#include <uv.h>

typedef struct gw_pgembed gw_pgembed;

typedef enum {
    GW_PGEMBED_OK = 0,
    GW_PGEMBED_ERR_SETUP = -1,   /* directories, user lookup, initdb or createdb failed */
    GW_PGEMBED_ERR_TIMEOUT = -2, /* postgres did not accept connections within 60 s */
    GW_PGEMBED_ERR_STOPPED = -3, /* gw_pgembed_stop was called before it became ready */
} gw_pgembed_status;

/* Ready callback: status is GW_PGEMBED_OK once the caregate database accepts connections,
 * or a negative gw_pgembed_status. */
typedef void (*gw_pgembed_ready_cb)(void *arg, int status);

/*
 * Creates the supervisor (copies what it needs from cfg; cfg may be freed afterwards).
 * Does nothing on disk yet. Returns NULL (and logs why) when the embedded pg user does
 * not exist while running as root, or the socket path would be too long.
 */
gw_pgembed *gw_pgembed_new(uv_loop_t *loop, const gw_config *cfg);

/*
 * Prepares directories, runs initdb on first use, starts postgres and creates the
 * caregate database when missing. Never blocks the loop (initdb and postgres are child
 * processes; readiness is probed with PQping in the threadpool). If it returns 0,
 * ready_cb runs exactly once; if it returns -1 (already started, or the directories
 * cannot be prepared), ready_cb never runs.
 * After ready, a postgres that dies is restarted with backoff (0.5 s doubling to 30 s).
 */
int gw_pgembed_start(gw_pgembed *pe, gw_pgembed_ready_cb ready_cb, void *arg)
    __attribute__((warn_unused_result));

/* libpq conninfo for the caregate database over the unix socket, as the cluster's
 * superuser "caregate" (owner of the schema: migrations, CLI). Borrowed; lives as long
 * as pe. Valid right after gw_pgembed_new. */
const char *gw_pgembed_conninfo(const gw_pgembed *pe);

/* The same database as the role caregate_app, which migration 002_audit creates with
 * DML rights but no UPDATE/DELETE on the audit tables: what the gateway's query pool
 * should use once migrations have run. Borrowed, like gw_pgembed_conninfo. */
const char *gw_pgembed_app_conninfo(const gw_pgembed *pe);

/*
 * Stops supervision and shuts postgres down with SIGINT (fast shutdown: open
 * transactions are rolled back, committed data is safe), escalating to SIGQUIT after
 * 30 s. done (may be NULL) runs once postgres has exited and all handles are closed;
 * after that gw_pgembed_free may be called. Calling it twice is a programmer error.
 * A pending ready_cb runs first with GW_PGEMBED_ERR_STOPPED.
 */
void gw_pgembed_stop(gw_pgembed *pe, void (*done)(void *arg), void *arg);

/* Frees a stopped (done has run) or never started supervisor. NULL is fine. */
void gw_pgembed_free(gw_pgembed *pe);

#endif
