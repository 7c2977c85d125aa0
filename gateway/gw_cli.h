/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Entry points of the caregate subcommands. main.c parses the global options
 * (--config FILE, or $CAREGATE_CONFIG), loads the config and dispatches here with the
 * arguments after the subcommand name (argv[0] is the subcommand). Each returns the
 * process exit status: 0 success, 1 failure, 2 usage error. Commands that talk to the
 * database outside `serve` use gw_cli_db_connect (blocking libpq is fine off the loop).
 */
#ifndef GW_CLI_H
#define GW_CLI_H

#include "gw_config.h"

#include <libpq-fe.h>

int gw_serve_main(const gw_config *cfg, int argc, char **argv);     /* gw_serve.c */
int gw_migrate_cli_main(const gw_config *cfg, int argc, char **argv); /* gw_migrate.c */
int gw_user_cli_main(const gw_config *cfg, int argc, char **argv);  /* gw_user.c */
int gw_keys_cli_main(const gw_config *cfg, int argc, char **argv);  /* gw_keys.c */
int gw_audit_cli_main(const gw_config *cfg, int argc, char **argv); /* gw_audit.c */
int gw_redact_cli_main(int argc, char **argv);                      /* gw_redact_cli.c */
int gw_channel_cli_main(const gw_config *cfg, int argc, char **argv); /* gw_channel.c */
int gw_canned_cli_main(const gw_config *cfg, int argc, char **argv);  /* gw_canned.c */

/*
 * Opens a blocking admin connection for a CLI command: database_url when set, else the
 * embedded cluster (started for the duration of the command when no gateway runs it;
 * gw_cli_db_close stops it again). Returns NULL and prints the reason on failure.
 * Implemented in gw_pgembed.c.
 */
PGconn *gw_cli_db_connect(const gw_config *cfg);
void gw_cli_db_close(const gw_config *cfg, PGconn *conn);

#endif
