/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gw_rights: the operator commands for retention and patients' rights, and the export
 * (GDPR Art. 15) they need:
 *
 *   caregate retention run [--dry-run] [--now RFC3339] [--json]
 *   caregate hold set|lift --conversation ID [--reason-code C] [--as STAFF_EMAIL]
 *   caregate erase --conversation ID | --contact ID [--as STAFF_EMAIL]
 *   caregate export --conversation ID | --contact ID --out DIR [--as STAFF_EMAIL]
 *
 * The CLI is an operator tool (whoever may run it may read the database and key file);
 * --as names the person on whose behalf it acts: it must be an active admin or dpo
 * account, agents are refused (exit 3), and the audit records name that account.
 * Entry points follow gw_cli.h (0 ok, 1 failure, 2 usage; 3 forbidden; 4 legal hold).
 */
#ifndef GW_RIGHTS_H
#define GW_RIGHTS_H

#include "gw_config.h"
#include "seal.h"

#include <libpq-fe.h>
#include <stddef.h>

int gw_retention_cli_main(const gw_config *cfg, int argc, char **argv);
int gw_hold_cli_main(const gw_config *cfg, int argc, char **argv);
int gw_erase_cli_main(const gw_config *cfg, int argc, char **argv);
int gw_export_cli_main(const gw_config *cfg, int argc, char **argv);

/*
 * Writes the export of one conversation (conv) or of every conversation of a contact
 * into dir (created 0700 when missing) as caregate-export-<id>.json and .html (0600),
 * decrypting with kr, and appends export.created to the audit log in the same
 * transaction (no files are left behind if that fails). actor as in audit records.
 * Returns 0, or -1 with err; *nmsg (may be NULL) receives the number of messages.
 */
int gw_rights_export(PGconn *c, const seal_keyring *kr, const char *conv, const char *contact,
                     const char *dir, const char *actor, long *nmsg, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Writes s as HTML text (& < > " ' escaped) to f. */
void gw_rights_html_escape(FILE *f, const char *s, size_t len);

#endif
