/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A throwaway PostgreSQL cluster for C integration tests: initdb into a temp dir, start
 * with a unix socket only, stop and remove. When the tests run as root (CI), PostgreSQL
 * refuses root, so the server runs as the "postgres" OS user via runuser. Blocking and
 * test-only: production code uses gw_pgembed on the event loop.
 */
#ifndef PGTMP_H
#define PGTMP_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    char dir[256];
    char conninfo[512];
} pgtmp;

static int pgtmp_sh(const char *cmd)
{
    int rc = system(cmd);
    return rc == 0 ? 0 : -1;
}

static const char *pgtmp_as(void)
{
    return geteuid() == 0 ? "runuser -u postgres -- " : "";
}

static int pgtmp_start(pgtmp *p)
{
    char cmd[2048];
    snprintf(p->dir, sizeof p->dir, "/tmp/cg-pgtmp-XXXXXX");
    if (!mkdtemp(p->dir))
        return -1;
    if (geteuid() == 0) {
        snprintf(cmd, sizeof cmd, "chown postgres %s", p->dir);
        pgtmp_sh(cmd);
    }
    snprintf(cmd, sizeof cmd,
             "%s/usr/lib/postgresql/15/bin/initdb -D %s/data -U caregate --auth=trust -E UTF8 "
             ">/dev/null 2>&1",
             pgtmp_as(), p->dir);
    if (pgtmp_sh(cmd) != 0)
        return -1;
    snprintf(cmd, sizeof cmd,
             "%s/usr/lib/postgresql/15/bin/pg_ctl -D %s/data -w -l %s/log -o \"-c listen_addresses='' "
             "-c unix_socket_directories=%s\" start >/dev/null 2>&1",
             pgtmp_as(), p->dir, p->dir, p->dir);
    if (pgtmp_sh(cmd) != 0)
        return -1;
    snprintf(p->conninfo, sizeof p->conninfo, "host=%s dbname=postgres user=caregate", p->dir);
    return 0;
}

/* mode: "fast" or "immediate" (a crash, as after kill -9 of the postmaster's children). */
static int pgtmp_stop(pgtmp *p, const char *mode)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "%s/usr/lib/postgresql/15/bin/pg_ctl -D %s/data -m %s -w stop >/dev/null 2>&1",
             pgtmp_as(), p->dir, mode);
    return pgtmp_sh(cmd);
}

static int pgtmp_restart_bg(pgtmp *p)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "%s/usr/lib/postgresql/15/bin/pg_ctl -D %s/data -w -l %s/log -o \"-c listen_addresses='' "
             "-c unix_socket_directories=%s\" start >/dev/null 2>&1",
             pgtmp_as(), p->dir, p->dir, p->dir);
    return pgtmp_sh(cmd);
}

static void pgtmp_destroy(pgtmp *p)
{
    char cmd[512];
    pgtmp_stop(p, "immediate");
    snprintf(cmd, sizeof cmd, "rm -rf %s", p->dir);
    pgtmp_sh(cmd);
}

#endif
