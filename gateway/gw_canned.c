/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `caregate canned add --title T --text T` and `caregate canned list`: the clinic's canned
 * answers (table canned, sql/050_console.sql), which consoles receive as the `canned`
 * frame (gw_staff.c). The texts are the clinic's own templates, not patient data; their
 * variables ({patient_name}, {clinic_phone}, {address_form}) are filled by the console,
 * never here. Adding one is an audit record (ids only). Blocking libpq via
 * gw_cli_db_connect, like the other admin commands.
 */
#include "gw_cli.h"
#include "gw_log.h"

#include <stdio.h>
#include <string.h>

static int usage(void)
{
    fprintf(stderr, "usage: caregate canned add --title T --text T\n"
                    "       caregate canned list\n");
    return 2;
}

static int canned_add(const gw_config *cfg, const char *title, const char *text)
{
    if (!*title || strlen(title) > 200 || !*text || strlen(text) > 4000) {
        fprintf(stderr, "caregate: canned add: title 1-200 and text 1-4000 characters\n");
        return 2;
    }
    PGconn *c = gw_cli_db_connect(cfg);
    if (!c)
        return 1;
    const char *vals[2] = {title, text};
    PGresult *r = PQexecParams(c,
                               "WITH i AS (INSERT INTO canned (title, body) VALUES ($1, $2) "
                               "RETURNING id) SELECT i.id, audit_append('canned.added', 'cli', "
                               "'canned:' || i.id::text, '{}'::jsonb) FROM i",
                               2, NULL, vals, NULL, NULL, 0);
    int rc = 1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
        printf("added canned answer %s\n", PQgetvalue(r, 0, 0));
        gw_info("canned", "canned answer added id=%s", PQgetvalue(r, 0, 0));
        rc = 0;
    } else {
        fprintf(stderr, "caregate: canned add failed: %s", PQerrorMessage(c));
    }
    PQclear(r);
    gw_cli_db_close(cfg, c);
    return rc;
}

static int canned_list(const gw_config *cfg)
{
    PGconn *c = gw_cli_db_connect(cfg);
    if (!c)
        return 1;
    PGresult *r = PQexec(c, "SELECT id, title FROM canned ORDER BY title, created_at");
    int rc = 1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK) {
        printf("id\ttitle\n");
        for (int i = 0; i < PQntuples(r); i++)
            printf("%s\t%s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
        rc = 0;
    } else {
        fprintf(stderr, "caregate: canned list failed: %s", PQerrorMessage(c));
    }
    PQclear(r);
    gw_cli_db_close(cfg, c);
    return rc;
}

int gw_canned_cli_main(const gw_config *cfg, int argc, char **argv)
{
    if (argc < 2)
        return usage();
    if (strcmp(argv[1], "list") == 0 && argc == 2)
        return canned_list(cfg);
    if (strcmp(argv[1], "add") != 0)
        return usage();
    const char *title = NULL, *text = NULL;
    for (int i = 2; i < argc; i++) {
        const char **slot = strcmp(argv[i], "--title") == 0  ? &title
                            : strcmp(argv[i], "--text") == 0 ? &text
                                                             : NULL;
        if (!slot || i + 1 >= argc)
            return usage();
        *slot = argv[++i];
    }
    if (!title || !text)
        return usage();
    return canned_add(cfg, title, text);
}
