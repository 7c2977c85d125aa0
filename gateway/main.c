/* SPDX-License-Identifier: Apache-2.0 */
/*
 * caregate: the command line. Parses global options, loads the config table and
 * dispatches to a subcommand. Nothing else lives here: each command is its own module.
 */
#include "gw_cli.h"
#include "gw_config.h"
#include "gw_log.h"
#include "gw_rights.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Placeholders for subcommands whose module is not in the tree yet (see CMakeLists.txt). */
#define GW_NOT_BUILT(fn)                                                                       \
    static int fn##_missing(const gw_config *cfg, int argc, char **argv)                       \
    {                                                                                          \
        (void)cfg;                                                                             \
        fprintf(stderr, "caregate: '%s' is not built into this binary\n", argv[0]);           \
        return 1;                                                                              \
    }
#ifdef GW_MISSING_SERVE
GW_NOT_BUILT(gw_serve_main)
#define gw_serve_main gw_serve_main_missing
#endif
#ifdef GW_MISSING_MIGRATE
GW_NOT_BUILT(gw_migrate_cli_main)
#define gw_migrate_cli_main gw_migrate_cli_main_missing
#endif
#ifdef GW_MISSING_USER
GW_NOT_BUILT(gw_user_cli_main)
#define gw_user_cli_main gw_user_cli_main_missing
#endif
#ifdef GW_MISSING_KEYS
GW_NOT_BUILT(gw_keys_cli_main)
#define gw_keys_cli_main gw_keys_cli_main_missing
#endif
#ifdef GW_MISSING_AUDIT
GW_NOT_BUILT(gw_audit_cli_main)
#define gw_audit_cli_main gw_audit_cli_main_missing
#endif
#ifdef GW_MISSING_REDACT
static int gw_redact_cli_missing(int argc, char **argv)
{
    fprintf(stderr, "caregate: '%s' is not built into this binary\n", argv[0]);
    return 1;
}
#define gw_redact_cli_main gw_redact_cli_missing
#endif

static void usage(FILE *out)
{
    fprintf(out,
            "usage: caregate [--config FILE] <command> [args]\n"
            "\n"
            "commands:\n"
            "  serve                       run the gateway (embedded PostgreSQL unless database_url)\n"
            "  migrate [--check]           apply (or check) database migrations\n"
            "  user add --email E --role agent|admin|dpo [--alias A]   password on stdin\n"
            "  user disable --email E      disable an account, closing its sessions\n"
            "  user list                   list accounts (no passwords)\n"
            "  user totp --email E         enable the TOTP second factor (prints the otpauth:// URI)\n"
            "  canned add --title T --text T | canned list   the clinic's canned answers\n"
            "  keys init|status            create the master key / show key versions\n"
            "  keys rotate [--batch N]     new master key version, re-wrap every data key\n"
            "  keys retire --version N     drop a version no data key uses any more\n"
            "  retention run [--dry-run] [--now RFC3339] [--json]   delete what is due\n"
            "  hold set|lift --conversation ID [--reason-code C] [--as EMAIL]   legal hold\n"
            "  erase --conversation ID | --contact ID [--as EMAIL]   erasure (GDPR Art. 17)\n"
            "  export --conversation ID | --contact ID --out DIR [--as EMAIL]   export (Art. 15)\n"
            "  audit verify [--file EXPORT] verify the audit chain and checkpoints (or an export)\n"
            "  audit export --from T --to T [--format jsonl|csv] [--out FILE]\n"
            "  audit checkpoint            write a signed checkpoint now\n"
            "  redact [--lang de|en|pl|hu|auto]   redact JSON lines from stdin\n"
            "  channel add whatsapp|messenger|instagram --account-id ID [--phone-number-id ID]\n"
            "          --app-secret-file F --token-file F [--human-agent]   register a business account\n"
            "  channel list | channel remove ID   the clinic's Meta business channels\n"
            "  config check | config keys  validate the config / list every key\n"
            "  version\n"
            "\n"
            "The config file defaults to $CAREGATE_CONFIG; without one, built-in defaults apply.\n");
}

static int config_main(const gw_config *cfg, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "check") == 0) {
        printf("config ok\n");
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "keys") == 0) {
        const char *doc, *def;
        const char *k;
        for (size_t i = 0; (k = gw_config_key(i, &doc, &def)) != NULL; i++)
            printf("%s\t%s\t%s\n", k, def, doc);
        return 0;
    }
    fprintf(stderr, "usage: caregate config check|keys\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *config_path = getenv("CAREGATE_CONFIG");
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            config_path = argv[++i];
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            config_path = argv[i] + 9;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "caregate: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[i];
    int sub_argc = argc - i;
    char **sub_argv = argv + i;

    if (strcmp(cmd, "version") == 0) {
        printf("caregate %s\n", GW_VERSION);
        return 0;
    }
    /* redact is a pure filter: it must work without any config or state. */
    if (strcmp(cmd, "redact") == 0)
        return gw_redact_cli_main(sub_argc, sub_argv);

    gw_config cfg;
    char err[1024];
    if (gw_config_load(&cfg, config_path && *config_path ? config_path : NULL, err, sizeof err) != 0) {
        fprintf(stderr, "caregate: config: %s\n", err);
        gw_config_free(&cfg);
        return 1;
    }
    gw_log_threshold = (gw_log_level)gw_log_parse_level(cfg.log_level);

    static const struct {
        const char *name;
        int (*fn)(const gw_config *, int, char **);
    } commands[] = {
        {"serve", gw_serve_main},   {"migrate", gw_migrate_cli_main},
        {"user", gw_user_cli_main}, {"keys", gw_keys_cli_main},
        {"audit", gw_audit_cli_main}, {"config", config_main},
        {"retention", gw_retention_cli_main}, {"hold", gw_hold_cli_main},
        {"erase", gw_erase_cli_main}, {"export", gw_export_cli_main},
        {"channel", gw_channel_cli_main}, /* Meta bridges: gw_channel.c */
        {"canned", gw_canned_cli_main},   /* canned answers: gw_canned.c */
    };
    int rc = -1;
    for (size_t c = 0; c < sizeof commands / sizeof commands[0]; c++)
        if (strcmp(cmd, commands[c].name) == 0)
            rc = commands[c].fn(&cfg, sub_argc, sub_argv);
    if (rc == -1) {
        fprintf(stderr, "caregate: unknown command '%s'\n", cmd);
        usage(stderr);
        rc = 2;
    }
    gw_config_free(&cfg);
    return rc;
}
