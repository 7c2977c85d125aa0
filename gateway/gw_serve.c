/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `caregate serve`: the process lifecycle of the gateway.
 *
 * Start: load the master keyring, then either start the embedded PostgreSQL (database_url
 * empty) or use database_url; check the schema version with blocking libpq before any
 * socket is served (pending migrations are applied automatically only for the embedded
 * cluster, which nobody else migrates; an external database that is behind refuses to
 * start with a hint to run `caregate migrate`); then the gw_db pool, store, fan-out and
 * the lws server on one libuv loop. One line "caregate listening on <url>" goes to stdout
 * when the gateway accepts connections.
 *
 * Stop (SIGTERM or SIGINT): drain. New sockets and messages are refused, commits in flight
 * finish and their acks are written, then every socket is closed with 1001 (going away),
 * lws is destroyed, the pool closes, the embedded PostgreSQL is stopped, and the process
 * exits 0 with every allocation released (the sanitizer lane checks leaks at exit).
 * drain_timeout_ms bounds the wait for commits; a second signal skips the wait.
 *
 * Not here: HTTP and WebSocket handling (gw_server.c and the protocol files).
 */
#include "gw_audit.h"
#include "gw_cli.h"
#include "gw_conn.h"
#include "gw_dpo.h"
#include "gw_fanout.h"
#include "gw_log.h"
#include "rules.h"
#include "gw_meta.h"
#include "gw_policy.h"
#include "gw_rights_srv.h"
#include "gw_server.h"
#include "gw_store.h"
#include "seal.h"

#if __has_include("gw_keys.h")
#include "gw_keys.h"
#define HAVE_GW_KEYS 1
#endif
#if __has_include("gw_pgembed.h")
#include "gw_pgembed.h"
#define HAVE_GW_PGEMBED 1
#endif
#if __has_include("gw_migrate.h")
#include "gw_migrate.h"
#define HAVE_GW_MIGRATE 1
#endif

#include <libwebsockets.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DRAIN_TICK_MS 20
#define CLOSE_WAIT_MS 3000

typedef enum { PH_STARTING, PH_RUNNING, PH_DRAIN_COMMITS, PH_DRAIN_SOCKETS, PH_STOPPING } phase;

typedef struct {
    gw_app app;
    uv_loop_t loop;
    uv_signal_t sig_term, sig_int, sig_hup;
    uv_timer_t drain;
    uv_timer_t snooze; /* opens snoozed conversations when due (caregate_wake_snoozed) */
    seal_keyring *kr;
    gw_audit_checkpointer *ck; /* signs audit checkpoints every audit_checkpoint_seconds */
#ifdef HAVE_GW_PGEMBED
    gw_pgembed *pe;
#endif
    phase ph;
    uint64_t phase_since;
    int exit_code;
    bool handles_closed;
} serve;

static void shutdown_begin(serve *s, int exit_code);

/* ---- keys ---------------------------------------------------------------------------- */

static int load_keys(serve *s, const gw_config *cfg)
{
    char err[512] = "";
#ifdef HAVE_GW_KEYS
    if (gw_keys_load(cfg, &s->kr, err, sizeof err) != 0) {
        fprintf(stderr, "caregate: master key: %s\n(create one with `caregate keys init`)\n", err);
        return -1;
    }
#else
    /* Until gw_keys lands: an ephemeral key, so stored text is unreadable after a restart. */
    (void)cfg;
    uint8_t k[SEAL_KEY_BYTES];
    randombytes_buf(k, sizeof k);
    if (seal_keyring_new(&s->kr) != SEAL_OK || seal_keyring_add(s->kr, 1, k) != SEAL_OK) {
        sodium_memzero(k, sizeof k);
        fprintf(stderr, "caregate: cannot create a keyring\n");
        return -1;
    }
    sodium_memzero(k, sizeof k);
    gw_warn("main", "no gw_keys module: using an EPHEMERAL master key");
    (void)err;
#endif
    return 0;
}

/* ---- schema ----------------------------------------------------------------------------- */

/* Blocking, before the gateway serves anything. */
static int check_schema(serve *s, const char *conninfo, bool embedded)
{
#ifdef HAVE_GW_MIGRATE
    PGconn *c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK) {
        gw_err("main", "cannot connect to the database: %s", PQerrorMessage(c));
        PQfinish(c);
        return -1;
    }
    int cur = 0, latest = 0;
    int rc = gw_migrate_check(c, &cur, &latest);
    if (rc == GW_MIGRATE_PENDING && embedded) {
        gw_info("main", "applying migrations %d -> %d to the embedded database", cur, latest);
        rc = gw_migrate_apply(c, NULL);
        if (rc == GW_MIGRATE_OK)
            rc = gw_migrate_check(c, &cur, &latest);
    }
    PQfinish(c);
    if (rc == GW_MIGRATE_PENDING) {
        fprintf(stderr,
                "caregate: the database schema is at version %d, this binary needs %d: run "
                "`caregate migrate` first\n",
                cur, latest);
        return -1;
    }
    if (rc == GW_MIGRATE_ERR_NEWER) {
        fprintf(stderr,
                "caregate: the database schema (%d) is newer than this binary (%d): refusing "
                "to start\n",
                cur, latest);
        return -1;
    }
    if (rc != GW_MIGRATE_OK)
        return -1;
    s->app.schema_current = true;
#else
    (void)conninfo;
    (void)embedded;
    gw_warn("main", "no gw_migrate module: schema version not checked");
    s->app.schema_current = true;
#endif
    return 0;
}

/* ---- start ------------------------------------------------------------------------------- */

#define SNOOZE_TICK_MS 2000

static void snooze_done(void *arg, gw_db_status status, PGresult *res, const char *sqlstate,
                        const char *errmsg)
{
    (void)arg;
    (void)res;
    (void)errmsg;
    if (status != GW_DB_OK)
        gw_debug("main", "snooze wake-up failed: status=%d sqlstate=%s", (int)status,
                 sqlstate ? sqlstate : "");
}

/* Every process runs the wake-up; the UPDATE inside makes concurrent runs harmless and
 * each reopened conversation reaches consoles through caregate_conv. */
static void snooze_tick(uv_timer_t *t)
{
    serve *s = t->data;
    if (s->ph != PH_RUNNING || !s->app.db || s->app.draining)
        return;
    if (gw_db_query(s->app.db, "SELECT caregate_wake_snoozed()", NULL, false, snooze_done, s) != 0)
        gw_debug("main", "snooze wake-up not sent");
}

static void commit_hook(void *arg, const gw_msg *m)
{
    gw_fanout_deliver(arg, m);
}

static void config_audited(void *arg, gw_db_status st, PGresult *res, const char *sqlstate,
                           const char *errmsg)
{
    (void)arg;
    (void)res;
    (void)errmsg;
    if (st != GW_DB_OK)
        gw_err("main", "config.loaded audit record not written (status %d, sqlstate %s)", st,
               sqlstate);
}

/* Every start records which policy and configuration the gateway runs with (version
 * hashes, never values), and whether they differ from the previous start's: that is how
 * a DPO sees policy-file and configuration changes in the audit log. */
static void audit_config_loaded(gw_app *app)
{
    char cfg_hash[65];
    gw_config_hash(app->cfg, cfg_hash);
    const char *policy_hash = app->rules ? rules_version_hash(app->rules) : "";
    const char *policy_label = app->rules ? rules_version_label(app->rules) : "";
    const char *vals[] = {policy_hash, policy_label, cfg_hash};
    gw_db_params p = {.values = vals, .n = 3};
    if (gw_db_query(app->db,
                    "WITH last AS (SELECT details FROM audit_log WHERE event = 'config.loaded' "
                    "ORDER BY seq DESC LIMIT 1) "
                    "SELECT audit_append('config.loaded', 'gateway', NULL, jsonb_build_object("
                    "'policy_hash', $1::text, 'policy_version', $2::text, 'config_hash', $3::text, "
                    "'policy_changed', coalesce((SELECT details::jsonb->>'policy_hash' FROM last) "
                    "IS DISTINCT FROM $1::text, true), "
                    "'config_changed', coalesce((SELECT details::jsonb->>'config_hash' FROM last) "
                    "IS DISTINCT FROM $3::text, true)))",
                    &p, false, config_audited, NULL) != 0)
        gw_err("main", "config.loaded audit record not queued");
}

static int start_gateway(serve *s, const char *conninfo, bool embedded)
{
    gw_app *app = &s->app;
    if (check_schema(s, conninfo, embedded) != 0)
        return -1;
    app->db = gw_db_new(&s->loop, conninfo, (int)app->cfg->db_connections);
    if (!app->db || gw_db_start(app->db) != 0) {
        gw_err("main", "cannot create the database pool");
        return -1;
    }
    /* An unsigned audit log is only half the protection: no signing key, no start. */
    char ckerr[512] = "";
    s->ck = gw_audit_checkpointer_start(&s->loop, app->db, app->cfg, ckerr, sizeof ckerr);
    if (!s->ck) {
        gw_err("main", "audit signing key: %s (create it with `caregate keys init`)", ckerr);
        return -1;
    }
    audit_config_loaded(app);
    app->store = gw_store_new(&s->loop, app->db, app->cfg, s->kr);
    app->fanout = gw_fanout_new(app);
    gw_store_set_commit_hook(app->store, commit_hook, app->fanout);
    if (gw_fanout_start(app->fanout) != 0) {
        gw_err("main", "cannot subscribe to notifications");
        return -1;
    }
    /* Issue 5 hook: key reload (NOTIFY caregate_keys, SIGHUP), shredded-key eviction and
     * the retention timer live in gw_rights_srv.c. */
    app->rights = gw_rights_srv_start(app, conninfo);
    /* Meta bridges (gw_meta.c): before the server, which mounts its webhook path */
    app->meta = gw_meta_new(app);
    if (!app->meta || gw_meta_start(app->meta) != 0) {
        gw_err("main", "cannot start the Meta bridges");
        return -1;
    }
    if (gw_server_start(app) != 0)
        return -1;
    uv_timer_start(&s->snooze, snooze_tick, SNOOZE_TICK_MS, SNOOZE_TICK_MS);
    const char *host = *app->cfg->listen_address ? app->cfg->listen_address : "0.0.0.0";
    printf("caregate listening on %s://%s%s%s:%d\n", app->tls ? "https" : "http",
           strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "",
           gw_server_port(app));
    fflush(stdout);
    gw_info("main", "serving (pid %ld)", (long)getpid());
    s->ph = PH_RUNNING;
    return 0;
}

#ifdef HAVE_GW_PGEMBED
static void pg_ready(void *arg, int status)
{
    serve *s = arg;
    if (status != GW_PGEMBED_OK) {
        gw_err("main", "embedded PostgreSQL did not start (status %d)", status);
        shutdown_begin(s, 1);
        return;
    }
    if (s->ph != PH_STARTING)
        return;
    if (start_gateway(s, gw_pgembed_conninfo(s->pe), true) != 0)
        shutdown_begin(s, 1);
}
#endif

/* ---- stop -------------------------------------------------------------------------------- */

static void handle_closed(uv_handle_t *h)
{
    (void)h;
}

static void finish(serve *s)
{
    if (s->handles_closed)
        return;
    s->handles_closed = true;
    uv_timer_stop(&s->drain);
    uv_close((uv_handle_t *)&s->drain, handle_closed);
    uv_signal_stop(&s->sig_term);
    uv_close((uv_handle_t *)&s->sig_term, handle_closed);
    uv_signal_stop(&s->sig_int);
    uv_close((uv_handle_t *)&s->sig_int, handle_closed);
    uv_signal_stop(&s->sig_hup);
    uv_close((uv_handle_t *)&s->sig_hup, handle_closed);
}

#ifdef HAVE_GW_PGEMBED
static void pg_stopped(void *arg)
{
    finish(arg);
}
#endif

static void db_stopped(void *arg)
{
    serve *s = arg;
#ifdef HAVE_GW_PGEMBED
    if (s->pe) {
        gw_pgembed_stop(s->pe, pg_stopped, s);
        return;
    }
#endif
    finish(s);
}

static void stop_everything(serve *s)
{
    s->ph = PH_STOPPING;
    gw_rights_srv_stop(s->app.rights); /* issue 5 hook: closes its timer and signal handles */
    gw_server_stop(&s->app);
    gw_meta_stop(s->app.meta); /* Meta bridges: no new sends; closes its loop handles */
    if (s->app.store)
        gw_store_stop(s->app.store);
    if (s->ck) { /* an in-flight tick still completes: gw_db runs every callback on stop */
        gw_audit_checkpointer_stop(s->ck, NULL, NULL);
        s->ck = NULL;
    }
    if (s->app.db) {
        gw_db_stop(s->app.db, db_stopped, s);
        return;
    }
    db_stopped(s);
}

static void drain_tick(uv_timer_t *t)
{
    serve *s = t->data;
    gw_app *app = &s->app;
    uint64_t waited = uv_now(&s->loop) - s->phase_since;
    if (s->ph == PH_DRAIN_COMMITS) {
        bool busy = (app->store && gw_store_pending(app->store) > 0) ||
                    (app->db && gw_db_pending(app->db) > 0) || gw_server_pending() > 0;
        if (busy && waited < (uint64_t)app->cfg->drain_timeout_ms)
            return;
        if (busy)
            gw_warn("main", "drain timeout: closing with work still in flight");
        gw_info("main", "closing %zu socket(s) with 1001", gw_conn_count());
        gw_conn_close_all(LWS_CLOSE_STATUS_GOINGAWAY, "server restarting");
        s->ph = PH_DRAIN_SOCKETS;
        s->phase_since = uv_now(&s->loop);
        return;
    }
    if (s->ph == PH_DRAIN_SOCKETS) {
        if (gw_conn_count() > 0 && waited < CLOSE_WAIT_MS)
            return;
        uv_timer_stop(&s->drain);
        stop_everything(s);
    }
}

static void shutdown_begin(serve *s, int exit_code)
{
    if (exit_code)
        s->exit_code = exit_code;
    if (s->ph == PH_STARTING) {
#ifdef HAVE_GW_PGEMBED
        if (s->pe && !s->app.db) {
            s->ph = PH_STOPPING;
            gw_pgembed_stop(s->pe, pg_stopped, s);
            return;
        }
#endif
        stop_everything(s);
        return;
    }
    if (s->ph != PH_RUNNING)
        return;
    gw_info("main", "draining: refusing new work, finishing %zu queued/in-flight operation(s)",
            (s->app.store ? gw_store_pending(s->app.store) : 0) +
                (s->app.db ? gw_db_pending(s->app.db) : 0));
    s->app.draining = true;
    s->ph = PH_DRAIN_COMMITS;
    s->phase_since = uv_now(&s->loop);
    uv_timer_start(&s->drain, drain_tick, 0, DRAIN_TICK_MS);
}

static void on_signal(uv_signal_t *h, int signum)
{
    serve *s = h->data;
    gw_info("main", "signal %d", signum);
    if (s->ph == PH_DRAIN_COMMITS) {
        /* a second signal: stop waiting for commits */
        s->phase_since = 0;
        return;
    }
    shutdown_begin(s, 0);
}

/* SIGHUP: the policy file is read again (decisions, office hours, texts, official contacts);
 * a file that does not parse or that changes the time zone is refused and the loaded policy
 * stays. A successful reload is audited like a start, so the DPO sees the version change.
 * (gw_rights_srv reloads the key file and retention classes on the same signal.) */
static void on_hup(uv_signal_t *h, int signum)
{
    serve *s = h->data;
    (void)signum;
    char err[512];
    gw_dpo_reload();
    if (gw_policy_reload(&s->app, err, sizeof err) != 0) {
        gw_err("policy", "SIGHUP: policy reload refused, keeping the loaded one: %s", err);
        return;
    }
    if (s->app.db)
        audit_config_loaded(&s->app);
}

/* ---- main ----------------------------------------------------------------------------------- */

static void walk_close(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

int gw_serve_main(const gw_config *cfg, int argc, char **argv)
{
    if (argc > 1) {
        fprintf(stderr, "usage: caregate [--config FILE] serve\n");
        return 2;
    }
    (void)argv;
    if (seal_init() != SEAL_OK || sodium_init() < 0) {
        fprintf(stderr, "caregate: libsodium cannot initialise\n");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    serve *s = calloc(1, sizeof *s);
    if (!s)
        abort();
    s->app.cfg = cfg;
    s->app.loop = &s->loop;
    if (load_keys(s, cfg) != 0) {
        free(s);
        return 1;
    }
    s->app.kr = s->kr;
    {
        /* a bad policy file stops start-up with the rules error (names the path) */
        char perr[512];
        if (gw_policy_load(&s->app, perr, sizeof perr) != 0) {
            fprintf(stderr, "caregate: %s\n", perr);
            gw_err("main", "policy file refused");
            seal_keyring_free(s->kr);
            free(s);
            return 1;
        }
    }
    uv_loop_init(&s->loop);
    uv_timer_init(&s->loop, &s->drain);
    s->drain.data = s;
    uv_timer_init(&s->loop, &s->snooze);
    s->snooze.data = s;
    uv_unref((uv_handle_t *)&s->snooze); /* never keeps the loop alive at shutdown */
    uv_signal_init(&s->loop, &s->sig_term);
    uv_signal_init(&s->loop, &s->sig_int);
    s->sig_term.data = s->sig_int.data = s;
    uv_signal_start(&s->sig_term, on_signal, SIGTERM);
    uv_signal_start(&s->sig_int, on_signal, SIGINT);
    uv_signal_init(&s->loop, &s->sig_hup);
    s->sig_hup.data = s;
    uv_signal_start(&s->sig_hup, on_hup, SIGHUP);

    if (*cfg->database_url) {
        if (start_gateway(s, cfg->database_url, false) != 0)
            shutdown_begin(s, 1);
    } else {
#ifdef HAVE_GW_PGEMBED
        s->pe = gw_pgembed_new(&s->loop, cfg);
        if (!s->pe || gw_pgembed_start(s->pe, pg_ready, s) != 0) {
            gw_err("main", "cannot start the embedded PostgreSQL");
            shutdown_begin(s, 1);
        }
#else
        fprintf(stderr, "caregate: database_url is empty and this binary has no embedded "
                        "PostgreSQL yet\n");
        shutdown_begin(s, 1);
#endif
    }

    uv_run(&s->loop, UV_RUN_DEFAULT);

    /* everything below runs with the loop stopped: release in reverse order */
    gw_server_stop(&s->app); /* second stage of the lws destruction */
    uv_run(&s->loop, UV_RUN_NOWAIT);
    gw_fanout_free(s->app.fanout);
    s->app.fanout = NULL;
    if (s->app.store) {
        gw_store_free(s->app.store); /* closes its timer handle */
        s->app.store = NULL;
    }
    uv_walk(&s->loop, walk_close, NULL);
    uv_run(&s->loop, UV_RUN_DEFAULT);
    gw_meta_free(s->app.meta); /* Meta bridges */
    s->app.meta = NULL;
    gw_db_free(s->app.db);
#ifdef HAVE_GW_PGEMBED
    gw_pgembed_free(s->pe);
#endif
    if (uv_loop_close(&s->loop) != 0)
        gw_warn("main", "loop closed with handles still open");
    seal_keyring_free(s->kr);
    gw_policy_free(&s->app);
    int rc = s->exit_code;
    gw_info("main", "stopped (exit %d)", rc);
    free(s);
    return rc;
}
