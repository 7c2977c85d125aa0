/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gw_clidb: blocking libpq helpers for the CLI commands (see gw_clidb.h). Error lines
 * carry the SQLSTATE because operators paste them into tickets and the code is what
 * tells a lock timeout from a constraint. Not for the server: it is asynchronous (gw_db).
 */
#include "gw_clidb.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int gw_clidb_seterr(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

PGresult *gw_clidb_exec(PGconn *c, ExecStatusType want, const char *sql, int n,
                        const char *const *vals, char *err, size_t errlen)
{
    PGresult *res = PQexecParams(c, sql, n, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(res) != want) {
        const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        gw_clidb_seterr(err, errlen, "database: %s%s%s", st ? st : "", st ? " " : "",
                        res ? PQresultErrorMessage(res) : PQerrorMessage(c));
        PQclear(res);
        return NULL;
    }
    return res;
}

int gw_clidb_cmd(PGconn *c, const char *sql, int n, const char *const *vals, char *err,
                 size_t errlen)
{
    PGresult *res = gw_clidb_exec(c, PGRES_COMMAND_OK, sql, n, vals, err, errlen);
    if (!res)
        return -1;
    PQclear(res);
    return 0;
}

void gw_clidb_rollback(PGconn *c)
{
    PQclear(PQexec(c, "ROLLBACK"));
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

int gw_clidb_unhex(const char *s, uint8_t *out, size_t cap, size_t *len)
{
    if (strncmp(s, "\\x", 2) == 0)
        s += 2;
    size_t n = strlen(s);
    if (n % 2 || n / 2 > cap)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    *len = n / 2;
    return 0;
}
