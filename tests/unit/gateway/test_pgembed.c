/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gw_pgembed on a real libuv loop with the real PostgreSQL binaries: first start
 * (initdb + createdb), restart after postgres is killed, and a clean stop. Needs the
 * postgresql package; skipped when initdb is missing. Works as root (postgres then runs
 * as embedded_pg_user) and as an ordinary user. The migrations run against the cluster
 * too, twice, to prove they are idempotent on the async path's database.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "gw_config.h"
#include "gw_migrate.h"
#include "gw_pgembed.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    int ready_calls, ready_status, done_calls;
} probe_state;

static void on_ready(void *arg, int status)
{
    probe_state *ps = arg;
    ps->ready_calls++;
    ps->ready_status = status;
    uv_stop(uv_default_loop());
}

static void on_done(void *arg)
{
    probe_state *ps = arg;
    ps->done_calls++;
}

static void stop_loop(uv_timer_t *t)
{
    uv_stop(t->loop);
}

static void run_for(uv_loop_t *loop, unsigned ms)
{
    uv_timer_t t;
    uv_timer_init(loop, &t);
    uv_timer_start(&t, stop_loop, ms, 0);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
}

static long read_pid(const char *state_dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/pg/data/postmaster.pid", state_dir);
    FILE *f = fopen(path, "r");
    long pid = 0;
    if (f) {
        if (fscanf(f, "%ld", &pid) != 1)
            pid = 0;
        fclose(f);
    }
    return pid;
}

typedef struct {
    const char *conninfo;
    int rc;
} race_arg;

static void *race_thread(void *p)
{
    race_arg *a = p;
    PGconn *c = PQconnectdb(a->conninfo);
    a->rc = PQstatus(c) == CONNECTION_OK ? gw_migrate_apply(c, NULL) : -100;
    PQfinish(c);
    return NULL;
}

static PGresult *exec_on(const char *conninfo, const char *sql)
{
    PGconn *c = PQconnectdb(conninfo);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PGresult *r = PQexec(c, sql);
    PQfinish(c);
    return r;
}

/* Two migrators at once on a fresh database: the advisory lock makes one wait, and every
 * migration is applied exactly once. Then a version this binary does not know. */
static void check_race_and_newer(const char *base_conninfo)
{
    PQclear(exec_on(base_conninfo, "DROP DATABASE IF EXISTS mig_race"));
    PGresult *r = exec_on(base_conninfo, "CREATE DATABASE mig_race");
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    char ci[1024];
    snprintf(ci, sizeof ci, "%s dbname=mig_race", base_conninfo); /* later dbname wins */
    race_arg a = {ci, -99}, b = {ci, -99};
    pthread_t ta, tb;
    assert_int_equal(pthread_create(&ta, NULL, race_thread, &a), 0);
    assert_int_equal(pthread_create(&tb, NULL, race_thread, &b), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_int_equal(a.rc, GW_MIGRATE_OK);
    assert_int_equal(b.rc, GW_MIGRATE_OK);
    r = exec_on(ci, "SELECT count(*), count(DISTINCT version) FROM schema_migrations");
    int n = 0;
    for (const gw_migration *m = gw_migrations; m->name; m++)
        n++;
    assert_int_equal(atoi(PQgetvalue(r, 0, 0)), n);
    assert_int_equal(atoi(PQgetvalue(r, 0, 1)), n);
    PQclear(r);

    PQclear(exec_on(
        ci, "INSERT INTO schema_migrations (version, name) VALUES (99999, '99999_future')"));
    PGconn *c = PQconnectdb(ci);
    int cur = 0;
    assert_int_equal(gw_migrate_check(c, &cur, NULL), GW_MIGRATE_ERR_NEWER);
    assert_int_equal(cur, 99999);
    assert_int_equal(gw_migrate_apply(c, NULL), GW_MIGRATE_ERR_NEWER);
    PQfinish(c);
    PQclear(exec_on(base_conninfo, "DROP DATABASE mig_race"));
}

static void test_start_restart_stop(void **st)
{
    (void)st;
    if (access("/usr/lib/postgresql/15/bin/initdb", X_OK) != 0)
        skip();
    char dir[] = "/tmp/cg-pgembed-XXXXXX";
    assert_non_null(mkdtemp(dir));
    gw_config cfg;
    gw_config_defaults(&cfg);
    free(cfg.state_dir);
    cfg.state_dir = strdup(dir);

    uv_loop_t *loop = uv_default_loop();
    gw_pgembed *pe = gw_pgembed_new(loop, &cfg);
    assert_non_null(pe);
    assert_non_null(strstr(gw_pgembed_conninfo(pe), "/pg/run"));
    probe_state ps = {0};
    assert_int_equal(gw_pgembed_start(pe, on_ready, &ps), 0);
    assert_int_equal(gw_pgembed_start(pe, on_ready, &ps), -1); /* only once */
    uv_run(loop, UV_RUN_DEFAULT);                              /* until on_ready stops the loop */
    assert_int_equal(ps.ready_calls, 1);
    assert_int_equal(ps.ready_status, GW_PGEMBED_OK);

    PGconn *c = PQconnectdb(gw_pgembed_conninfo(pe));
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    assert_int_equal(gw_migrate_apply(c, NULL), GW_MIGRATE_OK);
    assert_int_equal(gw_migrate_apply(c, NULL), GW_MIGRATE_OK);
    int cur = -1, latest = -1;
    assert_int_equal(gw_migrate_check(c, &cur, &latest), GW_MIGRATE_OK);
    assert_int_equal(cur, latest);
    assert_int_equal(latest, gw_migrate_latest());
    PGresult *r = PQexec(c, gw_migrate_current_sql());
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_int_equal(atoi(PQgetvalue(r, 0, 0)), latest);
    PQclear(r);
    PQfinish(c);
    check_race_and_newer(gw_pgembed_conninfo(pe));

    /* After the migrations the pool's role can write messages but not rewrite audit. */
    c = PQconnectdb(gw_pgembed_app_conninfo(pe));
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    r = PQexec(c, "SELECT count(*) FROM staff");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    PQclear(r);
    r = PQexec(c, "DELETE FROM audit_log");
    assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
    PQclear(r);
    PQfinish(c);

    /* Supervision: kill -9 the postmaster; a new one must come up by itself. */
    long old = read_pid(dir);
    assert_true(old > 0);
    assert_int_equal(kill((pid_t)old, SIGKILL), 0);
    long now = 0;
    for (int i = 0; i < 100; i++) {
        run_for(loop, 200);
        now = read_pid(dir);
        if (now > 0 && now != old && PQping(gw_pgembed_conninfo(pe)) == PQPING_OK)
            break;
    }
    assert_true(now > 0 && now != old);
    assert_int_equal(PQping(gw_pgembed_conninfo(pe)), PQPING_OK);
    assert_int_equal(ps.ready_calls, 1); /* ready is reported once only */

    gw_pgembed_stop(pe, on_done, &ps);
    uv_run(loop, UV_RUN_DEFAULT);
    assert_int_equal(ps.done_calls, 1);
    assert_int_not_equal(PQping(gw_pgembed_conninfo(pe)), PQPING_OK);
    gw_pgembed_free(pe);
    gw_config_free(&cfg);
    assert_int_equal(uv_loop_close(loop), 0);

    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_bad_user(void **st)
{
    (void)st;
    if (geteuid() != 0)
        skip(); /* the pg user is only looked up when we are root */
    gw_config cfg;
    gw_config_defaults(&cfg);
    free(cfg.embedded_pg_user);
    cfg.embedded_pg_user = strdup("no-such-user-caregate");
    assert_null(gw_pgembed_new(uv_default_loop(), &cfg));
    gw_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_restart_stop),
        cmocka_unit_test(test_bad_user),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
