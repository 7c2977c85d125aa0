/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Staff accounts: `caregate user add|disable|list` (gw_user_cli_main in gw_cli.h) and
 * the password check used by the login path. Accounts are clinic accounts only: an
 * e-mail whose domain is not in staff_email_domains is refused. Passwords are argon2id
 * (libsodium crypto_pwhash_str, interactive limits) and are wiped after hashing.
 *
 * Disabling an account revokes its sessions and sends NOTIFY caregate_staff '<staff id>'
 * in the same transaction, so running gateways close that member's sockets. Both add and
 * disable append an audit record (account.provisioned / account.disabled) holding the
 * staff id and role, never the e-mail address.
 *
 * Does not: log in, set cookies, or manage second factors (that is the server).
 */
#ifndef GW_USER_H
#define GW_USER_H

#include <stddef.h>

#define GW_USER_PASSWORD_MIN 12   /* characters (UTF-8 code points) */
#define GW_USER_PASSWORD_MAX 1024 /* bytes */

/*
 * Verifies password against a crypto_pwhash_str hash. Returns 0 when it matches, -1
 * otherwise (also for a malformed hash). CPU- and memory-heavy (~64 MiB, tens of ms):
 * call it from the loop's threadpool, never on the loop. Both arguments are borrowed;
 * the caller wipes the password.
 */
int gw_user_password_verify(const char *hash, const char *password)
    __attribute__((warn_unused_result));

/*
 * The default alias for an e-mail address: the first word of the local part (letters
 * only, stopping at '.', '-', '_', '+' or a digit), first letter capitalised; "Staff"
 * when there is no such word. Never the whole address. Writes a NUL-terminated string
 * into out (outlen bytes, truncated on a character boundary). Exposed for tests.
 */
void gw_user_default_alias(const char *email, char *out, size_t outlen);

/* Is the domain of email (after the one '@') in the space-separated list of domains?
 * Case-insensitive. False for addresses without exactly one '@' or an empty part. */
int gw_user_email_allowed(const char *email, const char *domains);

#endif
