/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Applies and checks the embedded schema migrations (see gw_migrate.h), and the
 * `caregate migrate [--check]` command. Blocking libpq only: this never runs on the
 * event loop. The async readiness check lives with the server and only borrows
 * gw_migrate_current_sql() from here.
 *
 * It does not know what the migrations contain and does not parse SQL; a migration is
 * sent as one simple-protocol string inside BEGIN/COMMIT, so it must not carry its own
 * transaction control (nor CREATE INDEX CONCURRENTLY).
 */
#include "gw_migrate.h"
#include "gw_cli.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/*
 * Advisory lock key shared by every caregate process on a database: the bytes of
 * "caregate" read as a big-endian integer. Session level, so it also covers the
 * CREATE TABLE IF NOT EXISTS (which is not safe against a concurrent twin on its own).
 */
#define MIGRATE_LOCK_KEY "7161130662347502693"

static const char current_sql[] = "SELECT coalesce(max(version), 0)::int FROM schema_migrations";

int gw_migrate_latest(void)
{
    int v = 0;
    for (const gw_migration *m = gw_migrations; m->name; m++)
        v = m->version; /* the generator sorts by file name; NNN keeps that numeric */
    return v;
}

const char *gw_migrate_current_sql(void)
{
    return current_sql;
}

/* Runs a command; on failure prints what and why. Returns true on success. */
static bool exec_ok(PGconn *c, const char *sql, const char *what)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        fprintf(stderr, "caregate: migrate: %s failed: %s", what, PQerrorMessage(c));
    PQclear(r);
    return ok;
}

static bool is_known(int version)
{
    for (const gw_migration *m = gw_migrations; m->name; m++)
        if (m->version == version)
            return true;
    return false;
}

/*
 * Reads the applied versions into a malloc'ed array (caller frees; NULL when none).
 * Returns the count, or -1 on error.
 */
static int applied_versions(PGconn *c, int **out)
{
    *out = NULL;
    PGresult *r = PQexec(c, "SELECT to_regclass('schema_migrations') IS NOT NULL");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "caregate: migrate: reading schema_migrations failed: %s",
                PQerrorMessage(c));
        PQclear(r);
        return -1;
    }
    bool exists = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (!exists)
        return 0;
    r = PQexec(c, "SELECT version FROM schema_migrations ORDER BY version");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "caregate: migrate: reading schema_migrations failed: %s",
                PQerrorMessage(c));
        PQclear(r);
        return -1;
    }
    int n = PQntuples(r);
    if (n > 0) {
        int *v = calloc((size_t)n, sizeof *v);
        if (!v)
            abort();
        for (int i = 0; i < n; i++)
            v[i] = atoi(PQgetvalue(r, i, 0));
        *out = v;
    }
    PQclear(r);
    return n;
}

static bool in_list(const int *v, int n, int version)
{
    for (int i = 0; i < n; i++)
        if (v[i] == version)
            return true;
    return false;
}

int gw_migrate_check(PGconn *c, int *current, int *latest)
{
    int *v;
    int n = applied_versions(c, &v);
    if (n < 0)
        return GW_MIGRATE_ERR_DB;
    int cur = n > 0 ? v[n - 1] : 0;
    if (current)
        *current = cur;
    if (latest)
        *latest = gw_migrate_latest();
    int rc = GW_MIGRATE_OK;
    for (int i = 0; i < n; i++)
        if (!is_known(v[i]))
            rc = GW_MIGRATE_ERR_NEWER;
    if (rc == GW_MIGRATE_OK)
        for (const gw_migration *m = gw_migrations; m->name; m++)
            if (!in_list(v, n, m->version))
                rc = GW_MIGRATE_PENDING;
    free(v);
    return rc;
}

static int apply_one(PGconn *c, const gw_migration *m)
{
    if (!exec_ok(c, "BEGIN", "BEGIN"))
        return GW_MIGRATE_ERR_DB;
    if (!exec_ok(c, m->sql, m->name))
        goto rollback;
    char ver[16];
    snprintf(ver, sizeof ver, "%d", m->version);
    const char *vals[2] = {ver, m->name};
    PGresult *r = PQexecParams(c, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                               2, NULL, vals, NULL, NULL, 0);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "caregate: migrate: recording %s failed: %s", m->name, PQerrorMessage(c));
    PQclear(r);
    if (!ok)
        goto rollback;
    if (!exec_ok(c, "COMMIT", "COMMIT"))
        return GW_MIGRATE_ERR_DB;
    return GW_MIGRATE_OK;

rollback:
    (void)exec_ok(c, "ROLLBACK", "ROLLBACK");
    return GW_MIGRATE_ERR_DB;
}

int gw_migrate_apply(PGconn *c, FILE *report)
{
    if (!exec_ok(c, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", "taking the migration lock"))
        return GW_MIGRATE_ERR_DB;
    int rc = GW_MIGRATE_OK;
    int *v = NULL;
    int n;
    /* Quiet the NOTICE "relation already exists, skipping" on every run. */
    if (!exec_ok(c, "SET client_min_messages = warning", "SET") ||
        !exec_ok(c,
                 "CREATE TABLE IF NOT EXISTS schema_migrations ("
                 " version integer PRIMARY KEY,"
                 " name text NOT NULL,"
                 " applied_at timestamptz NOT NULL DEFAULT now())",
                 "creating schema_migrations") ||
        !exec_ok(c, "RESET client_min_messages", "RESET")) {
        rc = GW_MIGRATE_ERR_DB;
        goto unlock;
    }
    /* Read the applied set only now, under the lock: another migrator may have just
     * finished, and its work must not be repeated. */
    n = applied_versions(c, &v);
    if (n < 0) {
        rc = GW_MIGRATE_ERR_DB;
        goto unlock;
    }
    for (int i = 0; i < n; i++)
        if (!is_known(v[i])) {
            fprintf(stderr,
                    "caregate: migrate: the database has migration %d, which this binary does "
                    "not know (latest here: %d); refusing to touch a newer schema\n",
                    v[i], gw_migrate_latest());
            rc = GW_MIGRATE_ERR_NEWER;
            goto unlock;
        }
    for (const gw_migration *m = gw_migrations; m->name; m++) {
        if (in_list(v, n, m->version))
            continue;
        rc = apply_one(c, m);
        if (rc != GW_MIGRATE_OK)
            break;
        if (report)
            fprintf(report, "applied %s\n", m->name);
    }

unlock:
    free(v);
    /* Unlock even after a failure: the connection may be pooled or kept by serve. */
    (void)exec_ok(c, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")", "releasing the lock");
    return rc;
}

static int pending_report(PGconn *c)
{
    int *v;
    int n = applied_versions(c, &v);
    if (n < 0)
        return 1;
    int pending = 0;
    for (const gw_migration *m = gw_migrations; m->name; m++)
        if (!in_list(v, n, m->version)) {
            printf("pending %s\n", m->name);
            pending++;
        }
    int cur = n > 0 ? v[n - 1] : 0;
    free(v);
    int latest = gw_migrate_latest();
    if (cur > latest) {
        printf("database version %d is newer than this binary (%d)\n", cur, latest);
        return 1;
    }
    if (pending) {
        printf("%d migration(s) pending; database version %d, latest %d\n", pending, cur, latest);
        return 1;
    }
    printf("database is up to date (version %d)\n", cur);
    return 0;
}

int gw_migrate_cli_main(const gw_config *cfg, int argc, char **argv)
{
    bool check = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--check") == 0) {
            check = true;
        } else {
            fprintf(stderr, "usage: caregate migrate [--check]\n");
            return 2;
        }
    }
    PGconn *c = gw_cli_db_connect(cfg);
    if (!c)
        return 1;
    int rc;
    if (check) {
        rc = pending_report(c);
    } else {
        int st = gw_migrate_apply(c, stdout);
        int cur = 0;
        if (st == GW_MIGRATE_OK && gw_migrate_check(c, &cur, NULL) == GW_MIGRATE_OK)
            printf("database is up to date (version %d)\n", cur);
        else if (st == GW_MIGRATE_OK)
            st = GW_MIGRATE_ERR_DB;
        rc = st == GW_MIGRATE_OK ? 0 : 1;
    }
    gw_cli_db_close(cfg, c);
    return rc;
}
