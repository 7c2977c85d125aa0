/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Schema migrations. gateway/sql/NNN_name.sql files are compiled into the binary
 * (cmake/embed_sql.cmake generates gw_migrations[] from them) and applied in version
 * order, each in its own transaction, recorded in schema_migrations(version, name,
 * applied_at). A session-level advisory lock serialises concurrent migrators (two
 * gateways starting at once, or `caregate migrate` while a gateway starts).
 *
 * Everything here uses blocking libpq and so runs off the event loop: in the CLI, or in
 * `serve` before the loop starts. The async /readyz check runs gw_migrate_current_sql()
 * through gw_db and compares the result with gw_migrate_latest().
 * This module never rewrites an applied migration and never migrates downwards: a
 * database newer than the binary is reported, not touched.
 */
#ifndef GW_MIGRATE_H
#define GW_MIGRATE_H

#include <libpq-fe.h>
#include <stdio.h>

typedef struct {
    int version;      /* NNN of the file name; strictly increasing through the table */
    const char *name; /* file name without .sql, e.g. "001_core" */
    const char *sql;  /* the whole file; may hold several statements, no BEGIN/COMMIT */
} gw_migration;

/* The embedded migrations, terminated by {0, 0, 0}. Generated at build time. */
extern const gw_migration gw_migrations[];

typedef enum {
    GW_MIGRATE_OK = 0,        /* the database is at the binary's latest version */
    GW_MIGRATE_PENDING = 1,   /* migrations are waiting to be applied */
    GW_MIGRATE_ERR_DB = -1,   /* a statement failed; the message went to stderr */
    GW_MIGRATE_ERR_NEWER = -2 /* the database has versions this binary does not know */
} gw_migrate_status;

/* The highest version compiled into this binary (0 when there are none). */
int gw_migrate_latest(void);

/*
 * One statement returning one row, one column: the highest applied version (0 when the
 * table is empty). It fails with SQLSTATE 42P01 when the database was never migrated,
 * which /readyz must treat as "not ready". The string is static.
 */
const char *gw_migrate_current_sql(void);

/*
 * Blocking check. Stores the applied version (0 when never migrated) in *current and
 * gw_migrate_latest() in *latest (either pointer may be NULL). Returns GW_MIGRATE_OK,
 * GW_MIGRATE_PENDING, GW_MIGRATE_ERR_NEWER, or GW_MIGRATE_ERR_DB (message on stderr).
 */
int gw_migrate_check(PGconn *c, int *current, int *latest) __attribute__((warn_unused_result));

/*
 * Blocking apply: takes the advisory lock (waiting for another migrator), creates
 * schema_migrations if needed and applies every pending migration in order, each in
 * its own transaction. Stops at the first failure (that migration is rolled back;
 * earlier ones stay). report (may be NULL) receives one "applied NNN_name" line per
 * migration. Returns GW_MIGRATE_OK or a negative gw_migrate_status.
 */
int gw_migrate_apply(PGconn *c, FILE *report) __attribute__((warn_unused_result));

#endif
