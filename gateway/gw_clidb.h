/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gw_clidb: the small blocking-libpq helpers the database CLI commands share (retention,
 * erase, hold and export in gw_retention.c / gw_rights.c, key rotate and retire in
 * gw_rotate.c): running a statement with text parameters and turning a failure into one
 * error line, rolling back, and decoding PostgreSQL's bytea hex output.
 *
 * CLI commands only: they run off the event loop, so blocking is fine there. The server
 * path never uses this module; it goes through the asynchronous gw_db handle (rule 15).
 * Opening and closing the connection is gw_cli_db_connect / gw_cli_db_close (gw_cli.h).
 */
#ifndef GW_CLIDB_H
#define GW_CLIDB_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Formats an error into err[errlen] (nothing when err is NULL or errlen 0) and returns -1,
 * so a failing path can `return gw_clidb_seterr(...)`.
 */
__attribute__((format(printf, 3, 4))) int gw_clidb_seterr(char *err, size_t errlen, const char *fmt,
                                                          ...);

/*
 * Runs sql with n text parameters (vals, borrowed; a NULL entry is SQL NULL). Returns the
 * result (new: the caller PQclears it) when its status is want; otherwise clears it,
 * writes "database: SQLSTATE message" into err and returns NULL.
 */
__attribute__((warn_unused_result)) PGresult *gw_clidb_exec(PGconn *c, ExecStatusType want,
                                                            const char *sql, int n,
                                                            const char *const *vals, char *err,
                                                            size_t errlen);

/* gw_clidb_exec for a statement without rows (BEGIN, UPDATE, …): 0 or -1 with err set. */
__attribute__((warn_unused_result)) int
gw_clidb_cmd(PGconn *c, const char *sql, int n, const char *const *vals, char *err, size_t errlen);

/* Rolls back the open transaction; a failure here has nothing left to undo. */
void gw_clidb_rollback(PGconn *c);

/*
 * Decodes bytea hex text ("\x0a1b…", the prefix optional) into out[cap]. Returns 0 and
 * sets *len, or -1 for odd length, a non-hex digit or more than cap bytes.
 */
__attribute__((warn_unused_result)) int gw_clidb_unhex(const char *s, uint8_t *out, size_t cap,
                                                       size_t *len);

#endif
