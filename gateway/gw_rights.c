/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gw_rights: `caregate retention|hold|erase|export` (usage in gw_rights.h) and the
 * Art. 15 export writer. Argument parsing, the --as role check, the policy file and the
 * key file are handled here; the deletion work itself is gw_retention.c.
 *
 * The export is the one place where caregate writes decrypted message text to disk, on
 * an admin's or DPO's explicit request: files are created 0600 in a 0700 directory, the
 * HTML escapes every character that could start markup (a patient's text is untrusted),
 * and the audit record (export.created) holds the subject id and counts only.
 * Implements DPO requirements EXP-1 (export of one patient's data), EXP-2 (exports are
 * audited), ROLE-1 (only admin/dpo may erase or export). Not here: the widget's erase
 * request (gw_rights_srv.c), key rotation (gw_rotate.c).
 */
#include "gw_rights.h"
#include "gw_clidb.h"

#include "gw_cli.h"
#include "gw_keys.h"
#include "gw_retention.h"
#include "retain.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define EXIT_FORBIDDEN 3
#define EXIT_HOLD 4

/* ---- shared CLI pieces ------------------------------------------------------------------ */

/* Options every command here understands. */
typedef struct {
    const char *conversation, *contact, *as, *out, *reason_code, *now;
    bool dry_run, json;
} opts;

/* Parses argv[first..]; returns 0 or -1 (unknown option: message printed). */
static int parse_opts(const char *cmdname, int argc, char **argv, int first, opts *o)
{
    memset(o, 0, sizeof *o);
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        if (strcmp(a, "--conversation") == 0)
            slot = &o->conversation;
        else if (strcmp(a, "--contact") == 0)
            slot = &o->contact;
        else if (strcmp(a, "--as") == 0)
            slot = &o->as;
        else if (strcmp(a, "--out") == 0)
            slot = &o->out;
        else if (strcmp(a, "--reason-code") == 0)
            slot = &o->reason_code;
        else if (strcmp(a, "--now") == 0)
            slot = &o->now;
        else if (strcmp(a, "--dry-run") == 0)
            o->dry_run = true;
        else if (strcmp(a, "--json") == 0)
            o->json = true;
        else {
            fprintf(stderr, "caregate %s: unknown option '%s'\n", cmdname, a);
            return -1;
        }
        if (slot) {
            if (i + 1 >= argc) {
                fprintf(stderr, "caregate %s: %s needs a value\n", cmdname, a);
                return -1;
            }
            *slot = argv[++i];
        }
    }
    return 0;
}

/*
 * Resolves --as into an audit actor. Without --as the operator acts as "cli". With it, the
 * e-mail must name an active admin or dpo account. Returns 0, or an exit status with the
 * reason printed (EXIT_FORBIDDEN for agents and unknown or disabled accounts).
 */
static int resolve_actor(PGconn *c, const char *cmdname, const char *what, const char *email,
                         char *actor, size_t actorlen)
{
    if (!email) {
        snprintf(actor, actorlen, "cli");
        return 0;
    }
    const char *v[1] = {email};
    PGresult *res = PQexecParams(c,
                                 "SELECT id::text, role FROM staff WHERE lower(email) = lower($1) "
                                 "AND disabled_at IS NULL",
                                 1, NULL, v, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "caregate %s: database: %s", cmdname, PQresultErrorMessage(res));
        PQclear(res);
        return 1;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        fprintf(stderr, "caregate %s: forbidden: --as names no active staff account\n", cmdname);
        return EXIT_FORBIDDEN;
    }
    const char *role = PQgetvalue(res, 0, 1);
    if (strcmp(role, "admin") != 0 && strcmp(role, "dpo") != 0) {
        fprintf(stderr, "caregate %s: forbidden: role %s may not %s (admin or dpo only)\n", cmdname,
                role, what);
        /* A refused attempt is worth a record for the DPO, too. */
        char ev[64];
        snprintf(ev, sizeof ev, "%s.refused", cmdname);
        const char *va[3] = {ev, PQgetvalue(res, 0, 0), role};
        PQclear(PQexecParams(c,
                             "SELECT audit_append($1, 'staff:' || $2, '', "
                             "jsonb_build_object('reason', 'role', 'role', $3::text))",
                             3, NULL, va, NULL, NULL, 0));
        PQclear(res);
        return EXIT_FORBIDDEN;
    }
    snprintf(actor, actorlen, "staff:%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

/* Reads and parses cfg->policy_file ("{}", the built-in defaults, when empty). */
static rules *load_policy(const gw_config *cfg, char *err, size_t errlen)
{
    char *buf = NULL;
    size_t len = 0;
    if (cfg->policy_file && *cfg->policy_file) {
        FILE *f = fopen(cfg->policy_file, "rb");
        if (!f) {
            gw_clidb_seterr(err, errlen, "%s: %s", cfg->policy_file, strerror(errno));
            return NULL;
        }
        size_t cap = 0;
        for (;;) {
            if (len + 4096 > cap) {
                cap = cap ? cap * 2 : 8192;
                buf = realloc(buf, cap);
                if (!buf)
                    abort();
            }
            size_t n = fread(buf + len, 1, cap - len, f);
            len += n;
            if (n == 0)
                break;
        }
        fclose(f);
    } else {
        buf = strdup("{}");
        if (!buf)
            abort();
        len = 2;
    }
    rules *r = NULL;
    char perr[256];
    if (rules_parse(buf, len, &r, perr, sizeof perr) != RULES_OK)
        gw_clidb_seterr(err, errlen, "policy file: %s", perr);
    free(buf);
    return r;
}

/* ---- retention run ---------------------------------------------------------------------- */

int gw_retention_cli_main(const gw_config *cfg, int argc, char **argv)
{
    opts o;
    if (argc < 2 || strcmp(argv[1], "run") != 0 ||
        parse_opts("retention", argc, argv, 2, &o) != 0) {
        fprintf(stderr, "usage: caregate retention run [--dry-run] [--now RFC3339] [--json]\n");
        return 2;
    }
    char err[512];
    gw_ret_opts ro = {
        .now = (int64_t)time(NULL), .dry_run = o.dry_run, .actor = "cli", .progress = stderr};
    if (o.now && gw_retention_parse_time(o.now, &ro.now) != 0) {
        fprintf(stderr, "caregate retention: --now: expected RFC 3339 like 2026-01-31T12:00:00Z\n");
        return 2;
    }
    rules *r = load_policy(cfg, err, sizeof err);
    if (!r) {
        fprintf(stderr, "caregate retention: %s\n", err);
        return 1;
    }
    PGconn *c = gw_cli_db_connect(cfg);
    if (!c) {
        rules_free(r);
        return 1;
    }
    gw_ret_counts n;
    int rc = gw_retention_run(c, r, &ro, &n, err, sizeof err);
    gw_cli_db_close(cfg, c);
    rules_free(r);
    if (rc != GW_RET_OK) {
        fprintf(stderr, "caregate retention: %s\n", err);
        if (rc != GW_RET_BUSY)
            return 1;
    }
    if (o.json) {
        printf(
            "{\"dry_run\":%s,\"busy\":%s,\"examined\":%ld,\"due\":%ld,\"data_keys_destroyed\":%ld,"
            "\"conversations_deleted\":%ld,\"messages_deleted\":%ld,\"contacts_deleted\":%ld,"
            "\"kept_open\":%ld,\"kept_legal_hold\":%ld,\"kept_period\":%ld,"
            "\"kept_unknown_class\":%ld,\"skipped\":%ld,\"webhook_keys_deleted\":%ld,"
            "\"sessions_deleted\":%ld}\n",
            o.dry_run ? "true" : "false", rc == GW_RET_BUSY ? "true" : "false", n.examined, n.due,
            n.keys_destroyed, n.deleted, n.messages, n.contacts, n.kept_open, n.kept_hold,
            n.kept_period, n.kept_unknown_class, n.skipped, n.webhook_keys, n.sessions);
    } else {
        printf("retention%s: examined %ld, due %ld, deleted %ld conversation(s) with %ld "
               "message(s), %ld contact(s); kept: %ld open, %ld legal hold, %ld in period, %ld "
               "unknown class; %ld skipped; expired: %ld webhook key(s), %ld session(s) "
               "deleted\n",
               o.dry_run ? " (dry run)" : "", n.examined, n.due, n.deleted, n.messages, n.contacts,
               n.kept_open, n.kept_hold, n.kept_period, n.kept_unknown_class, n.skipped,
               n.webhook_keys, n.sessions);
    }
    return rc == GW_RET_BUSY ? 1 : 0;
}

/* ---- hold and erase ---------------------------------------------------------------------- */

int gw_hold_cli_main(const gw_config *cfg, int argc, char **argv)
{
    opts o;
    bool set = argc >= 2 && strcmp(argv[1], "set") == 0;
    bool lift = argc >= 2 && strcmp(argv[1], "lift") == 0;
    if ((!set && !lift) || parse_opts("hold", argc, argv, 2, &o) != 0 || !o.conversation ||
        (lift && o.reason_code)) {
        fprintf(stderr, "usage: caregate hold set|lift --conversation ID [--reason-code C] "
                        "[--as STAFF_EMAIL]\n");
        return 2;
    }
    PGconn *c = gw_cli_db_connect(cfg);
    if (!c)
        return 1;
    char actor[64], err[512];
    int rc = resolve_actor(c, "hold", "place or lift a legal hold", o.as, actor, sizeof actor);
    if (rc == 0) {
        int hr = gw_retention_hold(c, o.conversation, set, o.reason_code, actor, err, sizeof err);
        if (hr != GW_RET_OK) {
            fprintf(stderr, "caregate hold: %s\n", err);
            rc = 1;
        } else {
            printf("legal hold %s on conversation %s\n", set ? "placed" : "lifted", o.conversation);
        }
    }
    gw_cli_db_close(cfg, c);
    return rc;
}

int gw_erase_cli_main(const gw_config *cfg, int argc, char **argv)
{
    opts o;
    if (parse_opts("erase", argc, argv, 1, &o) != 0 || (!o.conversation == !o.contact)) {
        fprintf(stderr,
                "usage: caregate erase --conversation ID | --contact ID [--as STAFF_EMAIL]\n");
        return 2;
    }
    PGconn *c = gw_cli_db_connect(cfg);
    if (!c)
        return 1;
    char actor[64], err[512];
    int rc = resolve_actor(c, "erase", "erase patient data", o.as, actor, sizeof actor);
    if (rc == 0) {
        gw_ret_counts n;
        memset(&n, 0, sizeof n);
        int er =
            gw_retention_erase(c, o.conversation, o.contact, actor, stderr, &n, err, sizeof err);
        if (er != GW_RET_OK) {
            fprintf(stderr, "caregate erase: %s\n", err);
            rc = er == GW_RET_HOLD ? EXIT_HOLD : 1;
        } else {
            printf("erased: %ld conversation(s), %ld message(s), %ld data key(s), %ld contact(s)\n",
                   n.deleted, n.messages, n.keys_destroyed, n.contacts);
        }
    }
    gw_cli_db_close(cfg, c);
    return rc;
}

/* ---- export --------------------------------------------------------------------------- */

void gw_rights_html_escape(FILE *f, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        switch (s[i]) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        case '\0': fputs("&#xFFFD;", f); break;
        default: fputc(s[i], f);
        }
    }
}

static void html_str(FILE *f, const char *s)
{
    gw_rights_html_escape(f, s, strlen(s));
}

static int uuid_raw(const char *s, uint8_t out[16])
{
    if (!gw_retention_uuid_ok(s))
        return -1;
    size_t j = 0;
    for (size_t i = 0; s[i] && j < 16; i++) {
        if (s[i] == '-')
            continue;
        unsigned v;
        if (sscanf(s + i, "%2x", &v) != 1)
            return -1;
        out[j++] = (uint8_t)v;
        i++;
    }
    return j == 16 ? 0 : -1;
}

/* Decodes PostgreSQL's bytea hex output ("\x..."). Returns a new buffer or NULL. */
static uint8_t *bytea_hex(const char *s, size_t *len)
{
    if (strncmp(s, "\\x", 2) != 0)
        return NULL;
    size_t n = strlen(s + 2) / 2;
    uint8_t *b = malloc(n ? n : 1);
    if (!b)
        abort();
    if (gw_clidb_unhex(s, b, n, len) != 0) {
        free(b);
        return NULL;
    }
    return b;
}

/* Opens (creating, 0600, never following a symlink) dir/name for writing. */
static FILE *open_out(const char *dir, const char *name, char *path, size_t pathlen)
{
    snprintf(path, pathlen, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return NULL;
    (void)fchmod(fd, 0600);
    FILE *f = fdopen(fd, "w");
    if (!f)
        close(fd);
    return f;
}

/* Builds the JSON document of the export (new reference) from the open transaction. */
static json_t *collect(PGconn *c, const seal_keyring *kr, const char *conv, const char *contact,
                       long *nmsg, long *nconv, char *err, size_t errlen)
{
    const char *v[1] = {conv ? conv : contact};
    PGresult *res = gw_clidb_exec(
        c, PGRES_TUPLES_OK,
        conv ? "SELECT c.id::text, c.contact_id::text, c.channel, c.status, c.lang, "
               "to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
               "coalesce(to_char(c.closed_at AT TIME ZONE 'UTC', "
               "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ''), "
               "c.retention_class, k.key_version, k.wrapped FROM conversation c "
               "LEFT JOIN data_key k ON k.conversation_id = c.id WHERE c.id = $1::uuid"
             : "SELECT c.id::text, c.contact_id::text, c.channel, c.status, c.lang, "
               "to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
               "coalesce(to_char(c.closed_at AT TIME ZONE 'UTC', "
               "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ''), "
               "c.retention_class, k.key_version, k.wrapped FROM conversation c "
               "LEFT JOIN data_key k ON k.conversation_id = c.id WHERE c.contact_id = $1::uuid "
               "ORDER BY c.created_at, c.id",
        1, v, err, errlen);
    if (!res)
        return NULL;
    if (conv && PQntuples(res) == 0) {
        gw_clidb_seterr(err, errlen, "no such conversation");
        PQclear(res);
        return NULL;
    }
    if (!conv && PQntuples(res) == 0) {
        /* A contact without conversations is fine (it is exported empty); an unknown id is
         * an operator's mistake and must not produce an "empty" export that looks valid. */
        PGresult *k =
            PQexecParams(c, "SELECT 1 FROM contact WHERE id = $1::uuid", 1, NULL, v, NULL, NULL, 0);
        bool known = PQresultStatus(k) == PGRES_TUPLES_OK && PQntuples(k) == 1;
        PQclear(k);
        if (!known) {
            gw_clidb_seterr(err, errlen, "no such contact");
            PQclear(res);
            return NULL;
        }
    }
    json_t *doc = json_object();
    json_t *convs = json_array();
    json_object_set_new(doc, "format", json_string("caregate.export.v1"));
    json_object_set_new(doc, "subject", json_string(conv ? "conversation" : "contact"));
    json_object_set_new(doc, "id", json_string(v[0]));
    char gen[32];
    time_t t = time(NULL);
    struct tm tm;
    strftime(gen, sizeof gen, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
    json_object_set_new(doc, "generated_at", json_string(gen));
    json_object_set_new(doc, "conversations", convs);
    for (int i = 0; i < PQntuples(res); i++) {
        const char *cid = PQgetvalue(res, i, 0);
        json_t *cj = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id", cid, "contact",
                               PQgetvalue(res, i, 1), "channel", PQgetvalue(res, i, 2), "status",
                               PQgetvalue(res, i, 3), "lang", PQgetvalue(res, i, 4), "created_at",
                               PQgetvalue(res, i, 5), "retention_class", PQgetvalue(res, i, 7));
        if (*PQgetvalue(res, i, 6))
            json_object_set_new(cj, "closed_at", json_string(PQgetvalue(res, i, 6)));
        json_t *msgs = json_array();
        json_object_set_new(cj, "messages", msgs);
        json_array_append_new(convs, cj);
        (*nconv)++;
        uint8_t craw[16];
        seal_datakey *dk = NULL;
        if (PQgetisnull(res, i, 8)) {
            /* shredded: nothing can be decrypted any more, and that is the point */
            json_object_set_new(cj, "unreadable", json_string("data key destroyed"));
            continue;
        }
        size_t wl = 0;
        uint8_t *w = bytea_hex(PQgetvalue(res, i, 9), &wl);
        int src = !w || uuid_raw(cid, craw) != 0
                      ? SEAL_ERR_ARG
                      : seal_datakey_unwrap(kr, (uint32_t)strtoul(PQgetvalue(res, i, 8), NULL, 10),
                                            craw, w, wl, &dk);
        free(w);
        if (src != SEAL_OK) {
            json_object_set_new(cj, "unreadable", json_string(seal_strerror(src)));
            continue;
        }
        const char *mv[1] = {cid};
        PGresult *m = gw_clidb_exec(
            c, PGRES_TUPLES_OK,
            "SELECT m.id::text, m.sender, m.kind, "
            "to_char(m.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
            "m.body, coalesce(s.alias, '') FROM message m LEFT JOIN staff s ON s.id = "
            "m.author_staff "
            "WHERE m.conversation_id = $1::uuid ORDER BY m.created_at, m.seq",
            1, mv, err, errlen);
        if (!m) {
            PQclear(res);
            seal_datakey_free(dk);
            json_decref(doc);
            return NULL;
        }
        for (int j = 0; j < PQntuples(m); j++) {
            uint8_t mraw[16];
            size_t bl = 0;
            uint8_t *b = bytea_hex(PQgetvalue(m, j, 4), &bl);
            size_t cap = seal_opened_len(bl) + 1, tl = 0;
            char *text = malloc(cap);
            if (!text)
                abort();
            int orc = !b || uuid_raw(PQgetvalue(m, j, 0), mraw) != 0
                          ? SEAL_ERR_ARG
                          : seal_message_open(dk, craw, mraw, b, bl, text, cap, &tl);
            free(b);
            json_t *mj = json_pack("{s:s, s:s, s:s, s:s}", "id", PQgetvalue(m, j, 0), "from",
                                   PQgetvalue(m, j, 1), "kind", PQgetvalue(m, j, 2), "ts",
                                   PQgetvalue(m, j, 3));
            if (*PQgetvalue(m, j, 5))
                json_object_set_new(mj, "author", json_string(PQgetvalue(m, j, 5)));
            if (orc == SEAL_OK)
                json_object_set_new(mj, "text", json_stringn(text, tl));
            else
                json_object_set_new(mj, "unreadable", json_string(seal_strerror(orc)));
            sodium_memzero(text, cap);
            free(text);
            json_array_append_new(msgs, mj);
            (*nmsg)++;
        }
        PQclear(m);
        seal_datakey_free(dk);
    }
    PQclear(res);
    return doc;
}

static void write_html(FILE *f, json_t *doc)
{
    fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
          "style-src 'unsafe-inline'\">\n<title>caregate export</title>\n"
          "<style>body{font-family:sans-serif;max-width:50em;margin:2em auto}"
          ".m{margin:.4em 0;padding:.4em;border-left:3px solid #999;white-space:pre-wrap}"
          ".staff{border-color:#36c}.note{background:#ffd}.meta{color:#555;font-size:.85em}"
          "</style></head><body>\n<h1>Export of stored conversations</h1>\n",
          f);
    fputs("<p class=\"meta\">", f);
    html_str(f, json_string_value(json_object_get(doc, "subject")));
    fputs(" ", f);
    html_str(f, json_string_value(json_object_get(doc, "id")));
    fputs(", generated ", f);
    html_str(f, json_string_value(json_object_get(doc, "generated_at")));
    fputs("</p>\n", f);
    size_t i;
    json_t *cj;
    json_array_foreach (json_object_get(doc, "conversations"), i, cj) {
        fputs("<h2>Conversation ", f);
        html_str(f, json_string_value(json_object_get(cj, "id")));
        fputs("</h2>\n<p class=\"meta\">channel ", f);
        html_str(f, json_string_value(json_object_get(cj, "channel")));
        fputs(", started ", f);
        html_str(f, json_string_value(json_object_get(cj, "created_at")));
        fputs("</p>\n", f);
        if (json_object_get(cj, "unreadable")) {
            fputs("<p><em>Messages cannot be read: ", f);
            html_str(f, json_string_value(json_object_get(cj, "unreadable")));
            fputs("</em></p>\n", f);
        }
        size_t j;
        json_t *mj;
        json_array_foreach (json_object_get(cj, "messages"), j, mj) {
            const char *from = json_string_value(json_object_get(mj, "from"));
            const char *kind = json_string_value(json_object_get(mj, "kind"));
            fprintf(f, "<div class=\"m %s%s\"><div class=\"meta\">",
                    strcmp(from, "staff") == 0 ? "staff" : "patient",
                    strcmp(kind, "note") == 0 ? " note" : "");
            html_str(f, from);
            if (json_object_get(mj, "author")) {
                fputs(" (", f);
                html_str(f, json_string_value(json_object_get(mj, "author")));
                fputs(")", f);
            }
            if (strcmp(kind, "note") == 0)
                fputs(", internal note", f);
            fputs(", ", f);
            html_str(f, json_string_value(json_object_get(mj, "ts")));
            fputs("</div>", f);
            json_t *tj = json_object_get(mj, "text");
            if (tj)
                gw_rights_html_escape(f, json_string_value(tj), json_string_length(tj));
            else
                fputs("<em>unreadable</em>", f);
            fputs("</div>\n", f);
        }
    }
    fputs("</body></html>\n", f);
}

int gw_rights_export(PGconn *c, const seal_keyring *kr, const char *conv, const char *contact,
                     const char *dir, const char *actor, long *nmsg_out, char *err, size_t errlen)
{
    const char *id = conv ? conv : contact;
    if (!id || (conv && contact) || !gw_retention_uuid_ok(id)) {
        gw_clidb_seterr(err, errlen, "give one valid --conversation or --contact id");
        return -1;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        gw_clidb_seterr(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    /* One snapshot for the whole export. The audit record is appended after the snapshot
     * ends: appending inside a REPEATABLE READ transaction fails with a serialization error
     * as soon as the running gateway has appended anything since the snapshot began. */
    if (gw_clidb_cmd(c, "BEGIN ISOLATION LEVEL REPEATABLE READ", 0, NULL, err, errlen) != 0)
        return -1;
    bool in_tx = true;
    long nmsg = 0, nconv = 0;
    json_t *doc = collect(c, kr, conv, contact, &nmsg, &nconv, err, errlen);
    char jpath[4096] = "", hpath[4096] = "", name[80];
    int rc = -1;
    FILE *jf = NULL, *hf = NULL;
    if (!doc)
        goto out;
    snprintf(name, sizeof name, "caregate-export-%s.json", id);
    jf = open_out(dir, name, jpath, sizeof jpath);
    snprintf(name, sizeof name, "caregate-export-%s.html", id);
    hf = open_out(dir, name, hpath, sizeof hpath);
    if (!jf || !hf) {
        gw_clidb_seterr(err, errlen, "cannot write into %s: %s", dir, strerror(errno));
        goto out;
    }
    if (json_dumpf(doc, jf, JSON_INDENT(2) | JSON_ENSURE_ASCII) != 0) {
        gw_clidb_seterr(err, errlen, "cannot write %s", jpath);
        goto out;
    }
    write_html(hf, doc);
    bool bad =
        fflush(jf) != 0 || fsync(fileno(jf)) != 0 || fflush(hf) != 0 || fsync(fileno(hf)) != 0;
    bad |= fclose(jf) != 0;
    bad |= fclose(hf) != 0;
    jf = hf = NULL;
    if (bad) {
        gw_clidb_seterr(err, errlen, "cannot write the export files: %s", strerror(errno));
        goto out;
    }
    in_tx = false; /* read only so far: COMMIT ends the snapshot */
    if (gw_clidb_cmd(c, "COMMIT", 0, NULL, err, errlen) != 0)
        goto out;
    char nm[24], nc[24];
    snprintf(nm, sizeof nm, "%ld", nmsg);
    snprintf(nc, sizeof nc, "%ld", nconv);
    const char *v[5] = {actor, conv ? "conversation:" : "contact:", id, nc, nm};
    PGresult *a = PQexecParams(c,
                               "SELECT audit_append('export.created', $1, $2 || $3, "
                               "jsonb_build_object('conversations', $4::bigint, 'messages', "
                               "$5::bigint, 'formats', jsonb_build_array('json', 'html')))",
                               5, NULL, v, NULL, NULL, 0);
    bool ok = PQresultStatus(a) == PGRES_TUPLES_OK;
    if (!ok)
        gw_clidb_seterr(err, errlen, "audit: %s", PQresultErrorMessage(a));
    PQclear(a);
    if (ok) {
        rc = 0;
        if (nmsg_out)
            *nmsg_out = nmsg;
    }
out:
    if (jf)
        fclose(jf);
    if (hf)
        fclose(hf);
    json_decref(doc);
    if (rc != 0) {
        /* No record, no files: an export that was not audited must not exist. */
        if (in_tx)
            gw_clidb_rollback(c);
        if (*jpath)
            unlink(jpath);
        if (*hpath)
            unlink(hpath);
    }
    return rc;
}

int gw_export_cli_main(const gw_config *cfg, int argc, char **argv)
{
    opts o;
    if (parse_opts("export", argc, argv, 1, &o) != 0 || (!o.conversation == !o.contact) || !o.out) {
        fprintf(stderr, "usage: caregate export --conversation ID | --contact ID --out DIR "
                        "[--as STAFF_EMAIL]\n");
        return 2;
    }
    char err[512];
    seal_keyring *kr = NULL;
    if (gw_keys_load(cfg, &kr, err, sizeof err) != 0) {
        fprintf(stderr, "caregate export: %s\n", err);
        return 1;
    }
    PGconn *c = gw_cli_db_connect(cfg);
    if (!c) {
        seal_keyring_free(kr);
        return 1;
    }
    char actor[64];
    long nmsg = 0;
    int rc = resolve_actor(c, "export", "export patient data", o.as, actor, sizeof actor);
    if (rc == 0) {
        if (gw_rights_export(c, kr, o.conversation, o.contact, o.out, actor, &nmsg, err,
                             sizeof err) != 0) {
            fprintf(stderr, "caregate export: %s\n", err);
            rc = 1;
        } else {
            printf("exported %ld message(s) to %s/caregate-export-%s.{json,html}\n", nmsg, o.out,
                   o.conversation ? o.conversation : o.contact);
        }
    }
    gw_cli_db_close(cfg, c);
    seal_keyring_free(kr);
    return rc;
}
