/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `caregate channel add|list|remove`: registers the clinic's own Meta business accounts
 * (a WhatsApp Business Account with its phone number id, a Facebook Page, an Instagram
 * professional account). Only registered accounts may deliver webhooks (others are
 * rejected and audited by gw_meta.c) or be sent to (gw_outbox.c).
 *
 * Deliberately missing: any login flow or user token. There is no way to connect a
 * personal profile: a channel is a numeric business account id plus an app secret and a
 * system-user / Page token read from files, never from the command line (shell history).
 * The files stay where they are (rows hold their paths; the gateway reads them at start
 * and on NOTIFY caregate_channel); they must be regular files not readable by others.
 * Audit records name the channel by its uuid and platform only, never by account id.
 *
 * Blocking libpq is fine here: this is a CLI command, not the event loop.
 */
#include "gw_bridgekey.h"
#include "gw_cli.h"
#include "gw_meta_parse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* gw_cli_db_connect lives in gw_pgembed.c, which may land after this module. */
#pragma weak gw_cli_db_connect
#pragma weak gw_cli_db_close

static void usage(void)
{
    fprintf(stderr,
            "usage: caregate channel add whatsapp --account-id WABA_ID --phone-number-id ID\n"
            "                            --app-secret-file F --token-file F\n"
            "       caregate channel add messenger|instagram --account-id PAGE_OR_IG_ID\n"
            "                            --app-secret-file F --token-file F [--human-agent]\n"
            "       caregate channel list\n"
            "       caregate channel remove CHANNEL_ID\n"
            "       caregate channel resume CHANNEL_ID   (after fixing a token or restriction)\n");
}

static bool all_digits(const char *s)
{
    if (!s || !*s || strlen(s) > 32)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* The secret files: regular, non-empty, not group/other readable, absolute path. */
static int check_secret_file(const char *what, const char *path)
{
    struct stat st;
    if (!path || path[0] != '/') {
        fprintf(stderr, "caregate channel: %s must be an absolute path\n", what);
        return -1;
    }
    if (stat(path, &st) != 0) {
        fprintf(stderr, "caregate channel: %s %s: %s\n", what, path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > 8192) {
        fprintf(stderr, "caregate channel: %s %s: expected a non-empty regular file\n", what, path);
        return -1;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        fprintf(stderr, "caregate channel: %s %s: mode %03o lets others read it; chmod 600\n", what,
                path, (unsigned)(st.st_mode & 0777));
        return -1;
    }
    return 0;
}

static PGconn *connect_db(const gw_config *cfg)
{
    if (!gw_cli_db_connect) {
        fprintf(stderr, "caregate channel: this binary has no database support yet\n");
        return NULL;
    }
    return gw_cli_db_connect(cfg);
}

static void close_db(const gw_config *cfg, PGconn *c)
{
    if (gw_cli_db_close)
        gw_cli_db_close(cfg, c);
    else
        PQfinish(c);
}

static int run(PGconn *c, const char *sql, int n, const char *const *vals, PGresult **out)
{
    PGresult *r = PQexecParams(c, sql, n, NULL, vals, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        if (state && strcmp(state, "23505") == 0)
            fprintf(stderr, "caregate channel: that account is already registered\n");
        else
            fprintf(stderr, "caregate channel: database: %s", PQresultErrorMessage(r));
        PQclear(r);
        return -1;
    }
    if (out)
        *out = r;
    else
        PQclear(r);
    return 0;
}

static int cmd_add(const gw_config *cfg, int argc, char **argv)
{
    if (argc < 2) {
        usage();
        return 2;
    }
    gw_meta_platform p = gw_meta_platform_parse(argv[1]);
    const char *account = NULL, *pnid = NULL, *secret = NULL, *token = NULL;
    bool human_agent = false;
    for (int i = 2; i < argc; i++) {
        const char **slot = NULL;
        if (strcmp(argv[i], "--account-id") == 0)
            slot = &account;
        else if (strcmp(argv[i], "--phone-number-id") == 0)
            slot = &pnid;
        else if (strcmp(argv[i], "--app-secret-file") == 0)
            slot = &secret;
        else if (strcmp(argv[i], "--token-file") == 0)
            slot = &token;
        else if (strcmp(argv[i], "--human-agent") == 0) {
            human_agent = true;
            continue;
        }
        if (!slot || i + 1 >= argc) {
            fprintf(stderr, "caregate channel: unknown or incomplete option '%s'\n", argv[i]);
            usage();
            return 2;
        }
        *slot = argv[++i];
    }
    if (p == GW_META_NONE) {
        fprintf(stderr, "caregate channel: platform must be whatsapp, messenger or instagram\n");
        return 2;
    }
    if (!all_digits(account)) {
        fprintf(stderr, "caregate channel: --account-id must be the numeric business account id\n");
        return 2;
    }
    if ((p == GW_META_WHATSAPP) != (pnid != NULL) || (pnid && !all_digits(pnid))) {
        fprintf(stderr, "caregate channel: --phone-number-id (numeric) is required for whatsapp "
                        "and only for whatsapp\n");
        return 2;
    }
    if (p == GW_META_WHATSAPP && human_agent) {
        fprintf(stderr, "caregate channel: WhatsApp has no HUMAN_AGENT tag (templates only "
                        "outside the 24 h window)\n");
        return 2;
    }
    if (check_secret_file("--app-secret-file", secret) != 0 ||
        check_secret_file("--token-file", token) != 0)
        return 1;
    /* The bridge key must exist before the first patient is hashed with it. */
    char err[512];
    gw_bridgekey *k = gw_bridgekey_load(cfg->meta_bridge_key_file, 1, err, sizeof err);
    if (!k) {
        fprintf(stderr, "caregate channel: bridge key: %s\n", err);
        return 1;
    }
    gw_bridgekey_free(k);
    PGconn *c = connect_db(cfg);
    if (!c)
        return 1;
    const char *vals[6] = {gw_meta_platform_name(p),      account, pnid, secret, token,
                           human_agent ? "true" : "false"};
    PGresult *r = NULL;
    int rc = run(
        c,
        "WITH ins AS (INSERT INTO channel (platform, account_id, phone_number_id, "
        "app_secret_file, token_file, human_agent) VALUES ($1, $2, $3, $4, $5, $6::boolean) "
        "RETURNING id, platform), a AS (SELECT audit_append('channel.added', 'cli', "
        "'channel:' || ins.id::text, jsonb_build_object('platform', ins.platform, 'human_agent', "
        "$6::boolean)) FROM ins), n AS (SELECT pg_notify('caregate_channel', ins.id::text) "
        "FROM ins) SELECT ins.id, (SELECT count(*) FROM a), (SELECT count(*) FROM n) FROM ins",
        6, vals, &r);
    if (rc == 0) {
        printf("%s\n", PQgetvalue(r, 0, 0));
        PQclear(r);
    }
    close_db(cfg, c);
    return rc == 0 ? 0 : 1;
}

static int cmd_list(const gw_config *cfg)
{
    PGconn *c = connect_db(cfg);
    if (!c)
        return 1;
    PGresult *r = NULL;
    int rc = run(c,
                 "SELECT id, platform, account_id, coalesce(phone_number_id, '-'), state, "
                 "coalesce(state_reason, '-'), human_agent FROM channel WHERE removed_at IS NULL "
                 "ORDER BY created_at",
                 0, NULL, &r);
    if (rc == 0) {
        printf("id\tplatform\taccount_id\tphone_number_id\tstate\treason\thuman_agent\n");
        for (int i = 0; i < PQntuples(r); i++)
            printf("%s\t%s\t%s\t%s\t%s\t%s\t%s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
                   PQgetvalue(r, i, 2), PQgetvalue(r, i, 3), PQgetvalue(r, i, 4),
                   PQgetvalue(r, i, 5), strcmp(PQgetvalue(r, i, 6), "t") == 0 ? "yes" : "no");
        PQclear(r);
    }
    close_db(cfg, c);
    return rc == 0 ? 0 : 1;
}

static int cmd_remove(const gw_config *cfg, int argc, char **argv)
{
    if (argc != 2) {
        usage();
        return 2;
    }
    PGconn *c = connect_db(cfg);
    if (!c)
        return 1;
    const char *vals[1] = {argv[1]};
    PGresult *r = NULL;
    /* Queued sends of a removed channel fail rather than go out later. */
    int rc = run(c,
                 "WITH del AS (UPDATE channel SET removed_at = now() WHERE id::text = $1 AND "
                 "removed_at IS NULL RETURNING id, platform), ob AS (UPDATE outbox SET state = "
                 "'failed', error_class = 'removed', request_enc = NULL WHERE channel_id IN "
                 "(SELECT id FROM del) AND state IN ('queued', 'uncertain') RETURNING 1), a AS "
                 "(SELECT audit_append('channel.removed', 'cli', 'channel:' || del.id::text, "
                 "jsonb_build_object('platform', del.platform)) FROM del), n AS (SELECT "
                 "pg_notify('caregate_channel', del.id::text) FROM del) SELECT (SELECT count(*) "
                 "FROM del), (SELECT count(*) FROM ob), (SELECT count(*) FROM a), (SELECT count(*) "
                 "FROM n)",
                 1, vals, &r);
    if (rc == 0) {
        bool found = strcmp(PQgetvalue(r, 0, 0), "1") == 0;
        PQclear(r);
        if (!found) {
            fprintf(stderr, "caregate channel: no active channel %s\n", argv[1]);
            rc = -1;
        } else {
            printf("removed\n");
        }
    }
    close_db(cfg, c);
    return rc == 0 ? 0 : 1;
}

static int cmd_resume(const gw_config *cfg, int argc, char **argv)
{
    if (argc != 2) {
        usage();
        return 2;
    }
    PGconn *c = connect_db(cfg);
    if (!c)
        return 1;
    const char *vals[1] = {argv[1]};
    PGresult *r = NULL;
    int rc = run(c, "SELECT bridge_channel_resume($1::uuid)", 1, vals, &r);
    if (rc == 0) {
        bool ok = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
        PQclear(r);
        if (!ok) {
            fprintf(stderr, "caregate channel: no active channel %s\n", argv[1]);
            rc = -1;
        } else {
            printf("resumed\n");
        }
    }
    close_db(cfg, c);
    return rc == 0 ? 0 : 1;
}

int gw_channel_cli_main(const gw_config *cfg, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "resume") == 0)
        return cmd_resume(cfg, argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "add") == 0)
        return cmd_add(cfg, argc - 1, argv + 1);
    if (argc == 2 && strcmp(argv[1], "list") == 0)
        return cmd_list(cfg);
    if (argc >= 2 && strcmp(argv[1], "remove") == 0)
        return cmd_remove(cfg, argc - 1, argv + 1);
    usage();
    return 2;
}
