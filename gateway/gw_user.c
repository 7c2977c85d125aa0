/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `caregate user add|disable|list` and the login password check (see gw_user.h).
 * Blocking libpq through gw_cli_db_connect: these are admin commands, not loop code.
 *
 * What goes where: the e-mail address is stored in staff.email and printed back to the
 * administrator on stdout by `user list`; it never goes to the operational log or into
 * audit details (those carry the staff id and role only). The password exists in one
 * stack buffer, is hashed and then wiped with sodium_memzero; stdin is read unbuffered
 * so no stdio buffer keeps a copy.
 */
#include "gw_user.h"
#include "gw_totp.h"
#include "gw_cli.h"
#include "gw_log.h"

#include <ctype.h>
#include <errno.h>
#include <libpq-fe.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <unistd.h>

int gw_user_password_verify(const char *hash, const char *password)
{
    if (!hash || !password || sodium_init() < 0)
        return -1;
    return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0 ? 0 : -1;
}

void gw_user_default_alias(const char *email, char *out, size_t outlen)
{
    if (outlen == 0)
        return;
    size_t n = 0;
    /* Letters only: ASCII letters and any UTF-8 byte (so "jürgen" stays whole). */
    for (const unsigned char *p = (const unsigned char *)email;
         *p && *p != '@' && (isalpha(*p) || *p >= 0x80) && n + 1 < outlen; p++)
        out[n++] = (char)*p;
    /* Do not end inside a UTF-8 sequence when truncated. */
    if (n > 0) {
        size_t start = n - 1;
        while (start > 0 && ((unsigned char)out[start] & 0xC0) == 0x80)
            start--;
        unsigned char lead = (unsigned char)out[start];
        size_t need = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
        if (n - start < need)
            n = start;
    }
    out[n] = '\0';
    if (n == 0) {
        snprintf(out, outlen, "Staff");
        return;
    }
    for (size_t i = 0; i < n; i++)
        if (out[i] >= 'A' && out[i] <= 'Z')
            out[i] = (char)(out[i] - 'A' + 'a');
    if (out[0] >= 'a' && out[0] <= 'z')
        out[0] = (char)(out[0] - 'a' + 'A');
}

int gw_user_email_allowed(const char *email, const char *domains)
{
    const char *at = strchr(email, '@');
    if (!at || at == email || strchr(at + 1, '@') || at[1] == '\0')
        return 0;
    const char *dom = at + 1;
    size_t dl = strlen(dom);
    const char *p = domains;
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *s = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        if ((size_t)(p - s) == dl && dl > 0 && strncasecmp(s, dom, dl) == 0)
            return 1;
    }
    return 0;
}

/* An address we are willing to store: printable ASCII without spaces, one '@'. */
static bool email_well_formed(const char *email)
{
    size_t n = strlen(email);
    if (n < 3 || n > 254)
        return false;
    for (const unsigned char *p = (const unsigned char *)email; *p; p++)
        if (*p <= ' ' || *p >= 0x7f || *p == '"' || *p == '\\' || *p == ',' || *p == ';')
            return false;
    return true;
}

static bool alias_ok(const char *a)
{
    size_t n = strlen(a);
    if (n == 0 || n > 64 || strchr(a, '@'))
        return false;
    for (const unsigned char *p = (const unsigned char *)a; *p; p++)
        if (*p < ' ' || *p == 0x7f)
            return false;
    return true;
}

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

/*
 * Reads one line from stdin into buf (without the newline). Unbuffered, echo off on a
 * terminal. Returns the length, or -1 when the line is too long or stdin is empty.
 */
static ssize_t read_password(char *buf, size_t buflen)
{
    struct termios old, quiet;
    bool tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
    if (tty) {
        fprintf(stderr, "password: ");
        quiet = old;
        quiet.c_lflag &= (tcflag_t)~ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    size_t n = 0;
    bool too_long = false, got_any = false;
    for (;;) {
        char ch;
        ssize_t r = read(STDIN_FILENO, &ch, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 || ch == '\n')
            break;
        got_any = true;
        if (n + 1 < buflen)
            buf[n++] = ch;
        else
            too_long = true;
    }
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fprintf(stderr, "\n");
    }
    if (too_long || (!got_any && n == 0))
        return -1;
    return (ssize_t)n;
}

static bool db_ok(PGconn *c, PGresult *r, ExecStatusType want, const char *what)
{
    if (PQresultStatus(r) == want)
        return true;
    fprintf(stderr, "caregate: user: %s failed: %s", what, PQerrorMessage(c));
    return false;
}

static bool exec_simple(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    bool ok = db_ok(c, r, PGRES_COMMAND_OK, sql);
    PQclear(r);
    return ok;
}

/*
 * Appends the audit record inside the open transaction, following the audit_log
 * conventions of 002_audit.sql: actor 'cli' (an administrator on the host; the CLI knows
 * no staff identity), subject 'staff:<uuid>', details carry the role only.
 */
static bool audit(PGconn *c, const char *event, const char *staff_id, const char *role)
{
    const char *vals[3] = {event, staff_id, role};
    PGresult *r = PQexecParams(c,
                               "SELECT audit_append($1, 'cli', 'staff:' || $2::text, "
                               "jsonb_build_object('role', $3::text))",
                               3, NULL, vals, NULL, NULL, 0);
    bool ok = db_ok(c, r, PGRES_TUPLES_OK, "audit_append");
    PQclear(r);
    return ok;
}

static int user_add(const gw_config *cfg, const char *email, const char *role, const char *alias)
{
    char pw[GW_USER_PASSWORD_MAX + 1];
    char hash[crypto_pwhash_STRBYTES];
    char alias_buf[65];
    PGconn *c = NULL;
    PGresult *r = NULL;
    bool in_tx = false;
    int rc = 1;

    if (!email_well_formed(email)) {
        fprintf(stderr, "caregate: user add: '%s' is not a usable e-mail address\n", email);
        return 1;
    }
    if (!gw_user_email_allowed(email, cfg->staff_email_domains)) {
        fprintf(stderr,
                "caregate: user add: refused: the e-mail domain is not one of the clinic's "
                "staff_email_domains (%s); staff accounts must be clinic accounts\n",
                cfg->staff_email_domains);
        return 1;
    }
    if (strcmp(role, "agent") != 0 && strcmp(role, "admin") != 0 && strcmp(role, "dpo") != 0) {
        fprintf(stderr, "caregate: user add: role must be agent, admin or dpo\n");
        return 2;
    }
    if (alias) {
        if (!alias_ok(alias)) {
            fprintf(stderr, "caregate: user add: alias must be 1-64 printable characters "
                            "without '@'\n");
            return 2;
        }
    } else {
        gw_user_default_alias(email, alias_buf, sizeof alias_buf);
        alias = alias_buf;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "caregate: user add: libsodium failed to initialise\n");
        return 1;
    }

    ssize_t pl = read_password(pw, sizeof pw);
    if (pl < 0) {
        fprintf(stderr,
                "caregate: user add: expected the password as one line on stdin "
                "(at most %d bytes)\n",
                GW_USER_PASSWORD_MAX);
        goto out;
    }
    if (utf8_chars(pw) < GW_USER_PASSWORD_MIN) {
        fprintf(stderr, "caregate: user add: the password must have at least %d characters\n",
                GW_USER_PASSWORD_MIN);
        goto out;
    }
    if (crypto_pwhash_str(hash, pw, (unsigned long long)pl, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
        fprintf(stderr, "caregate: user add: out of memory while hashing the password\n");
        goto out;
    }
    sodium_memzero(pw, sizeof pw); /* not needed any more: wipe before touching the network */

    c = gw_cli_db_connect(cfg);
    if (!c)
        goto out;
    {
        const char *vals[1] = {email};
        r = PQexecParams(c, "SELECT 1 FROM staff WHERE lower(email) = lower($1)", 1, NULL, vals,
                         NULL, NULL, 0);
        if (!db_ok(c, r, PGRES_TUPLES_OK, "looking up the account"))
            goto out;
        if (PQntuples(r) > 0) {
            fprintf(stderr, "caregate: user add: an account with this e-mail already exists\n");
            goto out;
        }
        PQclear(r);
        r = NULL;
    }
    if (!exec_simple(c, "BEGIN"))
        goto out;
    in_tx = true;
    {
        const char *vals[4] = {email, role, alias, hash};
        r = PQexecParams(c,
                         "INSERT INTO staff (email, role, alias, password_hash) "
                         "VALUES ($1, $2, $3, $4) RETURNING id",
                         4, NULL, vals, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
            if (st && strcmp(st, "23505") == 0)
                fprintf(stderr, "caregate: user add: an account with this e-mail already exists\n");
            else
                fprintf(stderr, "caregate: user add: insert failed: %s", PQerrorMessage(c));
            goto out;
        }
    }
    char id[64];
    snprintf(id, sizeof id, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    r = NULL;
    if (!audit(c, "account.provisioned", id, role) || !exec_simple(c, "COMMIT"))
        goto out;
    in_tx = false;
    printf("added staff %s role=%s alias=%s\n", id, role, alias);
    gw_info("user", "account provisioned staff=%s role=%s", id, role);
    rc = 0;

out:
    sodium_memzero(pw, sizeof pw);
    sodium_memzero(hash, sizeof hash);
    PQclear(r);
    if (in_tx)
        (void)exec_simple(c, "ROLLBACK");
    if (c)
        gw_cli_db_close(cfg, c);
    return rc;
}

static int user_disable(const gw_config *cfg, const char *email)
{
    PGconn *c = gw_cli_db_connect(cfg);
    if (!c)
        return 1;
    int rc = 1;
    bool in_tx = false;
    PGresult *r = NULL;
    char id[64], role[16];
    if (!exec_simple(c, "BEGIN"))
        goto out;
    in_tx = true;
    const char *vals[1] = {email};
    /* coalesce: disabling twice keeps the first time, but still revokes and notifies
     * (a session could have been created by a stale gateway in between). */
    r = PQexecParams(c,
                     "UPDATE staff SET disabled_at = coalesce(disabled_at, now()) "
                     "WHERE lower(email) = lower($1) RETURNING id, role",
                     1, NULL, vals, NULL, NULL, 0);
    if (!db_ok(c, r, PGRES_TUPLES_OK, "disabling the account"))
        goto out;
    if (PQntuples(r) == 0) {
        fprintf(stderr, "caregate: user disable: no account with this e-mail\n");
        goto out;
    }
    snprintf(id, sizeof id, "%s", PQgetvalue(r, 0, 0));
    snprintf(role, sizeof role, "%s", PQgetvalue(r, 0, 1));
    PQclear(r);
    const char *idv[1] = {id};
    r = PQexecParams(c,
                     "UPDATE staff_session SET revoked_at = now() "
                     "WHERE staff_id = $1 AND revoked_at IS NULL",
                     1, NULL, idv, NULL, NULL, 0);
    if (!db_ok(c, r, PGRES_COMMAND_OK, "revoking sessions"))
        goto out;
    char *revoked = PQcmdTuples(r);
    long nrev = revoked && *revoked ? strtol(revoked, NULL, 10) : 0;
    PQclear(r);
    /* pg_notify is transactional: gateways hear about it only if the disable commits. */
    r = PQexecParams(c, "SELECT pg_notify('caregate_staff', $1)", 1, NULL, idv, NULL, NULL, 0);
    if (!db_ok(c, r, PGRES_TUPLES_OK, "notifying gateways"))
        goto out;
    PQclear(r);
    r = NULL;
    if (!audit(c, "account.disabled", id, role) || !exec_simple(c, "COMMIT"))
        goto out;
    in_tx = false;
    printf("disabled staff %s (%ld session(s) revoked)\n", id, nrev);
    gw_info("user", "account disabled staff=%s sessions_revoked=%ld", id, nrev);
    rc = 0;
out:
    PQclear(r);
    if (in_tx)
        (void)exec_simple(c, "ROLLBACK");
    gw_cli_db_close(cfg, c);
    return rc;
}

static int user_list(const gw_config *cfg)
{
    PGconn *c = gw_cli_db_connect(cfg);
    if (!c)
        return 1;
    int rc = 1;
    PGresult *r = PQexec(c, "SELECT email, role, alias, disabled_at IS NOT NULL FROM staff "
                            "ORDER BY lower(email)");
    if (db_ok(c, r, PGRES_TUPLES_OK, "listing accounts")) {
        printf("email\trole\talias\tdisabled\n");
        for (int i = 0; i < PQntuples(r); i++)
            printf("%s\t%s\t%s\t%s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
                   PQgetvalue(r, i, 2), strcmp(PQgetvalue(r, i, 3), "t") == 0 ? "yes" : "no");
        rc = 0;
    }
    PQclear(r);
    gw_cli_db_close(cfg, c);
    return rc;
}

static int usage(void)
{
    fprintf(stderr, "usage: caregate user add --email E --role agent|admin|dpo [--alias A]  "
                    "(password on stdin)\n"
                    "       caregate user disable --email E\n"
                    "       caregate user list\n"
                    "       caregate user totp --email E   (enable TOTP, prints the otpauth:// URI once)\n");
    return 2;
}

int gw_user_cli_main(const gw_config *cfg, int argc, char **argv)
{
    if (argc < 2)
        return usage();
    const char *sub = argv[1];
    const char *email = NULL, *role = NULL, *alias = NULL;
    for (int i = 2; i < argc; i++) {
        const char **slot = strcmp(argv[i], "--email") == 0   ? &email
                            : strcmp(argv[i], "--role") == 0  ? &role
                            : strcmp(argv[i], "--alias") == 0 ? &alias
                                                              : NULL;
        if (!slot || i + 1 >= argc)
            return usage();
        *slot = argv[++i];
    }
    if (strcmp(sub, "add") == 0 && email && role)
        return user_add(cfg, email, role, alias);
    if (strcmp(sub, "totp") == 0 && email) /* second factor: gw_totp.c */
        return gw_totp_cli_enable(cfg, email);
    if (strcmp(sub, "disable") == 0 && email && !role && !alias)
        return user_disable(cfg, email);
    if (strcmp(sub, "list") == 0 && !email && !role && !alias)
        return user_list(cfg);
    return usage();
}
