/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The audit log against a real PostgreSQL (throwaway cluster, pgtmp.h), in C:
 *  - hashes computed by audit_append() in SQL verify with policy/audit.c;
 *  - 400 appends through a 4-connection gw_db pool (concurrent transactions) keep the
 *    chain gap-free and valid;
 *  - gw_audit_checkpoint_tick on the event loop writes, skips when nothing is new, and
 *    two pools ticking at once produce exactly one checkpoint;
 *  - audit_append_many() (one head lock per batch, used by the group commit) interleaved
 *    with audit_append() on the same pool writes the records that audit_append() would
 *    (seqs, hashes, UTF-8 lengths) and the head only moves forward onto a gap-free run;
 *  - gw_audit_verify_db accepts the result and rejects a superuser's edit.
 * The node test tests/integration/audit.test.mjs drives the same through the CLI.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sodium.h>

#include "gw_audit.h"
#include "gw_cli.h"
#include "pgtmp.h"

#include <sys/stat.h>

static pgtmp pg;
static PGconn *admin;
static audit_signer *signer;
static uint8_t pk[AUDIT_PK_BYTES];
static uint8_t trusted[2][AUDIT_PK_BYTES]; /* pk, then the checkpointer test's file key */
static size_t ntrusted = 1;

/* gw_audit.o references the CLI connection helpers; this test never calls the CLI. */
PGconn *gw_cli_db_connect(const gw_config *cfg)
{
    (void)cfg;
    return NULL;
}
void gw_cli_db_close(const gw_config *cfg, PGconn *conn)
{
    (void)cfg;
    (void)conn;
}

static void exec_file(const char *rel)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", GW_SOURCE_DIR, rel);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char sql[1 << 17];
    size_t n = fread(sql, 1, sizeof sql - 1, f);
    fclose(f);
    sql[n] = 0;
    PGresult *r = PQexec(admin, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("%s: %s", rel, PQerrorMessage(admin));
    PQclear(r);
}

static void exec_ok(const char *sql)
{
    PGresult *r = PQexec(admin, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(admin));
    PQclear(r);
}

static void run_until(uv_loop_t *loop, const int *flag, int want, int ms)
{
    uint64_t end = uv_now(loop) + (uint64_t)ms;
    while (*flag < want && uv_now(loop) < end) {
        uv_run(loop, UV_RUN_ONCE);
        uv_update_time(loop);
    }
}

static int stopped;
static void on_stopped(void *arg)
{
    (void)arg;
    stopped++;
}

static void stop_and_free(uv_loop_t *loop, gw_db *db)
{
    stopped = 0;
    gw_db_stop(db, on_stopped, NULL);
    run_until(loop, &stopped, 1, 5000);
    assert_int_equal(stopped, 1);
    gw_db_free(db);
}

static int verify_db(void)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    memcpy(trusted[0], pk, AUDIT_PK_BYTES);
    int rc = gw_audit_verify_db(admin, (const uint8_t(*)[AUDIT_PK_BYTES])trusted, ntrusted, f);
    fclose(f);
    print_message("%s", out);
    free(out);
    return rc;
}

typedef struct {
    int calls, ok;
} counter;

static void on_append(void *arg, gw_db_status st, PGresult *res, const char *sqlstate,
                      const char *msg)
{
    (void)res;
    (void)msg;
    counter *c = arg;
    c->calls++;
    if (st == GW_DB_OK)
        c->ok++;
    else
        print_message("append failed: %s\n", sqlstate);
}

static void test_concurrent_appends_keep_chain(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    gw_db *db = gw_db_new(&loop, pg.conninfo, 4);
    assert_int_equal(gw_db_start(db), 0);
    counter c = {0};
    for (int i = 0; i < 400; i++) {
        char subj[32];
        snprintf(subj, sizeof subj, "conversation:%d", i % 7);
        const char *vals[] = {subj};
        gw_db_params p = {.values = vals, .n = 1};
        /* Each in its own transaction with some work after the append, so transactions
         * on the four connections really overlap on the head lock. */
        assert_int_equal(
            gw_db_query(db,
                        "SELECT audit_append('conversation.open', 'staff:1', $1, "
                        "jsonb_build_object('i', 1, 'via', 'console')), pg_sleep(0.001)",
                        &p, false, on_append, &c),
            0);
    }
    run_until(&loop, &c.calls, 400, 60000);
    assert_int_equal(c.ok, 400);
    stop_and_free(&loop, db);
    assert_int_equal(uv_loop_close(&loop), 0);

    PGresult *r = PQexec(admin, "SELECT count(*), min(seq), max(seq) FROM audit_log");
    assert_string_equal(PQgetvalue(r, 0, 0), "400");
    assert_string_equal(PQgetvalue(r, 0, 1), "1");
    assert_string_equal(PQgetvalue(r, 0, 2), "400");
    PQclear(r);
    assert_int_equal(verify_db(), 0);
}

/* Batches of 1..9 records from four connections, interleaved with single appends. */
static void test_append_many_keeps_chain(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    gw_db *db = gw_db_new(&loop, pg.conninfo, 4);
    assert_int_equal(gw_db_start(db), 0);
    counter c = {0};
    int want = 0;
    for (int i = 0; i < 60; i++) {
        char n[16];
        snprintf(n, sizeof n, "%d", i % 10); /* 0 records: no lock, returns NULL */
        const char *vals[] = {n};
        gw_db_params p = {.values = vals, .n = 1};
        assert_int_equal(
            gw_db_query(db,
                        i % 3 == 0
                            ? "SELECT audit_append('conversation.open', 'staff:1', 'x', "
                              "jsonb_build_object('n', $1::int)), pg_sleep(0.001)"
                            : "SELECT audit_append_many(array_agg('policy.decision'::text), "
                              "array_agg(CASE WHEN g % 2 = 0 THEN 'staff:ü' END), "
                              "array_agg('message:' || g), array_agg(CASE WHEN g % 3 <> 0 THEN "
                              "jsonb_build_object('action', 'allow', 'i', g, 'note', 'grüße') "
                              "END ORDER BY g)), pg_sleep(0.001) "
                              "FROM generate_series(1, $1::int) g",
                        &p, false, on_append, &c),
            0);
        want += i % 3 == 0 ? 1 : i % 10;
    }
    run_until(&loop, &c.calls, 60, 60000);
    assert_int_equal(c.ok, 60);
    stop_and_free(&loop, db);
    assert_int_equal(uv_loop_close(&loop), 0);

    char q[512];
    snprintf(q, sizeof q,
             "SELECT count(*) = %d + 400, max(seq) = count(*), "
             "(SELECT seq FROM audit_head) = max(seq), "
             "count(*) FILTER (WHERE actor = 'staff:ü' AND details LIKE '%%grüße%%') > 0, "
             "count(*) FILTER (WHERE event = 'policy.decision' AND details = '{}') > 0 "
             "FROM audit_log",
             want);
    PGresult *r = PQexec(admin, q);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    for (int col = 0; col < 5; col++)
        assert_string_equal(PQgetvalue(r, 0, col), "t");
    PQclear(r);
    assert_int_equal(verify_db(), 0); /* recomputes every hash in C (policy/audit.c) */

    /* Refused: details that are not an object, arrays of different lengths. */
    static const char *bad[] = {
        "SELECT audit_append_many('{a.b}', '{x}', '{y}', ARRAY['[1]'::jsonb])",
        "SELECT audit_append_many('{a.b,a.c}', '{x}', '{y}', ARRAY['{}'::jsonb])",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        r = PQexec(admin, bad[i]);
        assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
        assert_string_equal(PQresultErrorField(r, PG_DIAG_SQLSTATE), "22023");
        PQclear(r);
    }
    /* The head moves only forward, onto an existing record after a gap-free run: not back,
     * and not past a record deleted behind the triggers' back. */
    r = PQexec(admin, "UPDATE audit_head SET seq = 3, hash = (SELECT hash FROM audit_log "
                      "WHERE seq = 3)");
    assert_string_equal(PQresultErrorField(r, PG_DIAG_SQLSTATE), "42501");
    PQclear(r);
    exec_ok("BEGIN; SET LOCAL session_replication_role = replica; "
            "INSERT INTO audit_log SELECT seq + 2, ts, event, actor, subject, details, hash, hash "
            "FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log); COMMIT");
    r = PQexec(admin, "UPDATE audit_head SET seq = seq + 2, hash = (SELECT hash FROM audit_log "
                      "WHERE seq = (SELECT max(seq) FROM audit_log))");
    assert_string_equal(PQresultErrorField(r, PG_DIAG_SQLSTATE), "42501");
    PQclear(r);
    exec_ok("BEGIN; SET LOCAL session_replication_role = replica; "
            "DELETE FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log); COMMIT");
    assert_int_equal(verify_db(), 0);
}

static int tick_done, tick_result[4];
static void on_tick(void *arg, int result)
{
    tick_result[(intptr_t)arg] = result;
    tick_done++;
}

static void test_checkpoint_tick(void **state)
{
    (void)state;
    uv_loop_t loop;
    uv_loop_init(&loop);
    gw_db *a = gw_db_new(&loop, pg.conninfo, 1);
    gw_db *b = gw_db_new(&loop, pg.conninfo, 1);
    gw_db_start(a);
    gw_db_start(b);

    tick_done = 0;
    gw_audit_checkpoint_tick(a, signer, on_tick, (void *)0);
    run_until(&loop, &tick_done, 1, 10000);
    assert_int_equal(tick_result[0], 1);

    /* Only the announcement was appended since: skipped. */
    tick_done = 0;
    gw_audit_checkpoint_tick(a, signer, on_tick, (void *)0);
    run_until(&loop, &tick_done, 1, 10000);
    assert_int_equal(tick_result[0], 0);

    /* Two gateway processes tick at once after new records: exactly one writes. */
    exec_ok("SELECT audit_append('staff.login', 'staff:1', 'staff:1', '{}')");
    tick_done = 0;
    gw_audit_checkpoint_tick(a, signer, on_tick, (void *)1);
    gw_audit_checkpoint_tick(b, signer, on_tick, (void *)2);
    run_until(&loop, &tick_done, 2, 10000);
    assert_int_equal(tick_done, 2);
    assert_int_equal(tick_result[1] + tick_result[2], 1);
    assert_true(tick_result[1] >= 0 && tick_result[2] >= 0);

    PGresult *r = PQexec(admin, "SELECT count(*) FROM audit_checkpoint");
    assert_string_equal(PQgetvalue(r, 0, 0), "2");
    PQclear(r);
    r = PQexec(admin, "SELECT count(*) FROM audit_log WHERE event = 'audit.checkpoint'");
    assert_string_equal(PQgetvalue(r, 0, 0), "2");
    PQclear(r);

    /* After stop, a tick reports failure and never touches the pool. */
    stop_and_free(&loop, b);
    stop_and_free(&loop, a);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_int_equal(verify_db(), 0);
}

static int ck_stopped;
static void on_ck_stopped(void *arg)
{
    (void)arg;
    ck_stopped++;
}

static void test_checkpointer_timer(void **state)
{
    (void)state;
    /* A key file as `keys init` writes it. */
    char keyfile[300];
    snprintf(keyfile, sizeof keyfile, "%s/audit.key", pg.dir);
    uint8_t seed[AUDIT_SEED_BYTES];
    randombytes_buf(seed, sizeof seed);
    char b64[sodium_base64_ENCODED_LEN(AUDIT_SEED_BYTES, sodium_base64_VARIANT_ORIGINAL)];
    sodium_bin2base64(b64, sizeof b64, seed, sizeof seed, sodium_base64_VARIANT_ORIGINAL);
    FILE *f = fopen(keyfile, "w");
    assert_non_null(f);
    fprintf(f, "ed25519 %s\n", b64);
    fclose(f);
    chmod(keyfile, 0600);
    audit_signer *s = NULL;
    assert_int_equal(audit_signer_new(seed, &s), AUDIT_OK);
    uint8_t kpk[AUDIT_PK_BYTES];
    audit_signer_public_key(s, kpk);
    audit_signer_free(s);

    gw_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.audit_key_file = keyfile;
    cfg.audit_checkpoint_seconds = 1;
    uv_loop_t loop;
    uv_loop_init(&loop);
    gw_db *db = gw_db_new(&loop, pg.conninfo, 1);
    gw_db_start(db);
    char err[256];
    gw_audit_checkpointer *ck = gw_audit_checkpointer_start(&loop, db, &cfg, err, sizeof err);
    assert_non_null(ck);
    exec_ok("SELECT audit_append('staff.login', 'staff:1', 'staff:1', '{}')");
    PGresult *r = PQexec(admin, "SELECT count(*) FROM audit_checkpoint");
    int before_n = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    int never = 0;
    run_until(&loop, &never, 1, 1600);
    r = PQexec(admin, "SELECT count(*) FROM audit_checkpoint");
    assert_int_equal(atoi(PQgetvalue(r, 0, 0)), before_n + 1);
    PQclear(r);
    ck_stopped = 0;
    gw_audit_checkpointer_stop(ck, on_ck_stopped, NULL);
    run_until(&loop, &ck_stopped, 1, 5000);
    assert_int_equal(ck_stopped, 1);
    stop_and_free(&loop, db);
    assert_int_equal(uv_loop_close(&loop), 0);

    /* A missing key file is refused at start. */
    cfg.audit_key_file = "/nonexistent/audit.key";
    uv_loop_init(&loop);
    assert_null(gw_audit_checkpointer_start(&loop, NULL, &cfg, err, sizeof err));
    assert_int_equal(uv_loop_close(&loop), 0);

    /* The newest checkpoint was signed by the file's key: unknown until trusted. */
    assert_int_equal(verify_db(), 1);
    memcpy(trusted[1], kpk, AUDIT_PK_BYTES);
    ntrusted = 2;
    assert_int_equal(verify_db(), 0);
    sodium_memzero(seed, sizeof seed);
}

static void test_verify_detects_superuser_edit(void **state)
{
    (void)state;
    exec_ok("BEGIN; SET LOCAL session_replication_role = replica; "
            "UPDATE audit_log SET actor = 'staff:2' WHERE seq = 17; COMMIT");
    assert_int_equal(verify_db(), 1);
    exec_ok("BEGIN; SET LOCAL session_replication_role = replica; "
            "UPDATE audit_log SET actor = 'staff:1' WHERE seq = 17; COMMIT");
    assert_int_equal(verify_db(), 0);
    /* Without the trigger bypass the edit is refused outright. */
    PGresult *r = PQexec(admin, "UPDATE audit_log SET actor = 'x' WHERE seq = 1");
    assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
    assert_string_equal(PQresultErrorField(r, PG_DIAG_SQLSTATE), "42501");
    PQclear(r);
}

static int setup(void **state)
{
    (void)state;
    if (pgtmp_start(&pg) != 0)
        return -1;
    admin = PQconnectdb(pg.conninfo);
    if (PQstatus(admin) != CONNECTION_OK)
        return -1;
    exec_file("gateway/sql/001_core.sql");
    exec_file("gateway/sql/002_audit.sql");
    exec_file("gateway/sql/060_audit_many.sql");
    uint8_t seed[AUDIT_SEED_BYTES];
    randombytes_buf(seed, sizeof seed);
    int rc = audit_signer_new(seed, &signer);
    sodium_memzero(seed, sizeof seed);
    audit_signer_public_key(signer, pk);
    return rc;
}

static int teardown(void **state)
{
    (void)state;
    (void)pgtmp_restart_bg; /* pgtmp.h helper this test does not need */
    audit_signer_free(signer);
    PQfinish(admin);
    pgtmp_destroy(&pg);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concurrent_appends_keep_chain),
        cmocka_unit_test(test_append_many_keeps_chain),
        cmocka_unit_test(test_checkpoint_tick),
        cmocka_unit_test(test_checkpointer_timer),
        cmocka_unit_test(test_verify_detects_superuser_edit),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
