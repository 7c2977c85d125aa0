/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gw_db against a real PostgreSQL: queries with text and binary parameters, server
 * errors with SQLSTATE, LISTEN/NOTIFY, reconnection after the server restarts (with the
 * RESYNC signal to listeners), the deadline for queries while the server is down, and a
 * clean stop in which every callback runs exactly once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "gw_db.h"
#include "pgtmp.h"

static pgtmp pg;

typedef struct {
    int calls;
    gw_db_status st;
    char sqlstate[8];
    char value[64];
} qres;

static void on_result(void *arg, gw_db_status st, PGresult *res, const char *sqlstate, const char *msg)
{
    qres *r = arg;
    r->calls++;
    r->st = st;
    snprintf(r->sqlstate, sizeof r->sqlstate, "%s", sqlstate);
    if (st == GW_DB_OK && res && PQntuples(res) > 0)
        snprintf(r->value, sizeof r->value, "%s", PQgetvalue(res, 0, 0));
}

static void run_until(uv_loop_t *loop, const int *flag, int want, int ms)
{
    uint64_t end = uv_now(loop) + (uint64_t)ms;
    while (*flag < want && uv_now(loop) < end) {
        uv_run(loop, UV_RUN_ONCE);
        uv_update_time(loop);
    }
}

static int done_calls;
static void on_done(void *arg)
{
    done_calls++;
}

static void stop_and_free(uv_loop_t *loop, gw_db *db)
{
    done_calls = 0;
    gw_db_stop(db, on_done, NULL);
    run_until(loop, &done_calls, 1, 5000);
    assert_int_equal(done_calls, 1);
    gw_db_free(db);
    assert_int_equal(uv_loop_close(loop), 0); /* no handle left behind */
}

static void test_query_params_and_errors(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    gw_db *db = gw_db_new(&loop, pg.conninfo, 2);
    assert_non_null(db);
    assert_int_equal(gw_db_start(db), 0);

    qres a = {0}, b = {0}, c = {0};
    const char *vals[] = {"21", NULL};
    gw_db_params p = {.values = vals, .n = 2};
    assert_int_equal(gw_db_query(db, "SELECT ($1::int * 2)::text || coalesce($2, '-')", &p, false, on_result, &a), 0);
    assert_int_equal(gw_db_query(db, "SELECT 1/0", NULL, false, on_result, &b), 0);
    uint8_t blob[3] = {0, 0xff, 7};
    const char *bv[] = {(const char *)blob};
    int bl[] = {3}, bf[] = {1};
    gw_db_params bp = {.values = bv, .lengths = bl, .formats = bf, .n = 1};
    assert_int_equal(gw_db_query(db, "SELECT length($1::bytea)::text", &bp, false, on_result, &c), 0);
    run_until(&loop, &c.calls, 1, 5000);
    run_until(&loop, &a.calls, 1, 5000);
    run_until(&loop, &b.calls, 1, 5000);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.st, GW_DB_OK);
    assert_string_equal(a.value, "42-");
    assert_int_equal(b.calls, 1);
    assert_int_equal(b.st, GW_DB_ERR_QUERY);
    assert_string_equal(b.sqlstate, "22012");
    assert_int_equal(c.st, GW_DB_OK);
    assert_string_equal(c.value, "3");
    assert_true(gw_db_ready(db));
    stop_and_free(&loop, db);
}

typedef struct {
    int notes, resyncs;
    char payload[64];
} nres;

static void on_notify(void *arg, gw_db_notify_kind kind, const char *ch, const char *payload)
{
    nres *n = arg;
    if (kind == GW_DB_NOTIFY_RESYNC) {
        n->resyncs++;
        return;
    }
    n->notes++;
    snprintf(n->payload, sizeof n->payload, "%s", payload);
}

static void test_listen_and_reconnect(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    gw_db *db = gw_db_new(&loop, pg.conninfo, 1);
    nres n = {0};
    assert_int_equal(gw_db_listen(db, "cg_test", on_notify, &n), 0);
    assert_int_not_equal(gw_db_listen(db, "bad;name", on_notify, &n), 0);
    gw_db_start(db);

    /* Wait for LISTEN to be in place, then notify from a query connection. */
    qres w = {0};
    for (int i = 0; i < 50 && n.notes == 0; i++) {
        w.calls = 0;
        assert_int_equal(gw_db_query(db, "SELECT pg_notify('cg_test', 'hello')", NULL, false, on_result, &w), 0);
        run_until(&loop, &w.calls, 1, 5000);
        int dummy = 0;
        run_until(&loop, &dummy, 1, 50);
    }
    assert_true(n.notes >= 1);
    assert_string_equal(n.payload, "hello");

    /* Restart the server under the pool: queries during the outage wait or fail clearly,
     * listeners hear RESYNC, and the pool serves again afterwards. */
    assert_int_equal(pgtmp_stop(&pg, "immediate"), 0);
    qres during = {0};
    gw_db_set_deadline(db, 60000);
    assert_int_equal(gw_db_query(db, "SELECT 'after'", NULL, false, on_result, &during), 0);
    int dummy = 0;
    run_until(&loop, &dummy, 1, 300);
    assert_int_equal(pgtmp_restart_bg(&pg), 0);
    run_until(&loop, &during.calls, 1, 15000);
    assert_int_equal(during.calls, 1);
    if (during.st == GW_DB_OK)
        assert_string_equal(during.value, "after");
    else
        assert_int_equal(during.st, GW_DB_ERR_CONN); /* sent just as the server died */
    run_until(&loop, &n.resyncs, 1, 15000);
    assert_int_equal(n.resyncs, 1);
    qres after = {0};
    assert_int_equal(gw_db_query(db, "SELECT 'ok'", NULL, false, on_result, &after), 0);
    run_until(&loop, &after.calls, 1, 15000);
    assert_int_equal(after.st, GW_DB_OK);
    stop_and_free(&loop, db);
}

static void test_deadline_when_down(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    gw_db *db = gw_db_new(&loop, "host=/nonexistent-caregate dbname=x connect_timeout=1", 1);
    gw_db_set_deadline(db, 300);
    gw_db_start(db);
    qres r = {0};
    assert_int_equal(gw_db_query(db, "SELECT 1", NULL, false, on_result, &r), 0);
    run_until(&loop, &r.calls, 1, 5000);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.st, GW_DB_ERR_UNAVAILABLE);
    assert_false(gw_db_ready(db));
    qres q2 = {0};
    assert_int_equal(gw_db_query(db, "SELECT 1", NULL, false, on_result, &q2), 0);
    stop_and_free(&loop, db);
    assert_int_equal(q2.calls, 1);
    assert_int_equal(q2.st, GW_DB_ERR_CLOSED);
}

static int setup(void **state)
{
    return pgtmp_start(&pg);
}

static int teardown(void **state)
{
    pgtmp_destroy(&pg);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_params_and_errors),
        cmocka_unit_test(test_listen_and_reconnect),
        cmocka_unit_test(test_deadline_when_down),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
