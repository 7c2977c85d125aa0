/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gw_server: lws context, HTTP routes and upgrade checks (see gw_server.h).
 *
 * HTTP responses that need the database (login, logout) are asynchronous: the request
 * body is collected, an operation object is started, and when it completes the
 * response is written from LWS_CALLBACK_HTTP_WRITEABLE. The operation never holds the
 * lws per-session memory past CLOSED_HTTP: the pss and the operation point at each
 * other and CLOSED_HTTP cuts the link, so a client that hangs up mid-login leaves an
 * operation that completes into nothing (rule 13).
 *
 * Security headers are written by this file rather than with
 * LWS_SERVER_OPTION_HTTP_HEADERS_SECURITY_BEST_PRACTICES_ENFORCE because the widget must
 * be embeddable by the configured clinic sites (frame-ancestors), which lws's fixed
 * "frame-ancestors 'none'" forbids; the rest of lws's set is reproduced here.
 */
#include "gw_server.h"
#include "gw_dpo.h"
#include "gw_log.h"
#include "gw_meta.h"
#include "gw_patient.h"
#include "gw_staff.h"
#include "gw_totp.h"

#if __has_include("gw_user.h")
#include "gw_user.h"
#define HAVE_GW_USER 1
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <libwebsockets.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#define BODY_MAX 8192
/* After an answer given with the request body unread: how much of the rest of the body to
 * read and drop before closing (gw_http_linger) */
#define LINGER_MAX (1u << 20)
#define STAFF_TOKEN_BYTES 32u

static size_t login_inflight;

/* ---- per HTTP connection (lws-owned) and login operations ------------------------------- */

typedef struct login_op login_op;

typedef enum { R_NONE = 0, R_LOGIN, R_LOGOUT } route;

typedef struct {
    route route;
    char *body;
    size_t body_len;
    bool body_over;
    bool body_pending;   /* a POST whose body lws has not finished delivering */
    bool close_after;    /* answered with the body (partly) unread: close, never reuse */
    bool answered;       /* with close_after: the answer has been written */
    bool shut;           /* with close_after: our side of the socket is shut down */
    size_t dropped;      /* with close_after: body bytes read and dropped */
    login_op *op; /* the operation answering this request, or NULL */
    /* the response, written in HTTP_WRITEABLE */
    bool resp_ready;
    unsigned status;
    char *resp;          /* JSON body */
    char cookie[192];    /* Set-Cookie value or "" */
    void *dpo;           /* DPO hook: a pending /api/audit/ request, owned by gw_dpo.c */
} hpss;

struct login_op {
    gw_app *app;
    struct lws *wsi;
    hpss *p;             /* NULL once the connection closed */
    uv_work_t work;
    char *email;
    char *password;      /* wiped after verification */
    char *hash;
    char staff_id[GW_UUID_LEN + 1];
    char role[16];
    char *alias;
    bool found;
    bool verified;
    bool secure;
    char ip[64];
    char token[96];      /* new cookie token (base64url) */
    char *totp;          /* the code the client sent, or NULL */
    char *totp_secret;   /* staff.totp_secret (bytea text, sealed) or NULL: 2FA off */
    char key_email[2 + 64 + 1], key_ip[2 + 64 + 1]; /* login_throttle keys (bytea text) */
    long retry_after;    /* seconds, when throttled */
    enum { LO_BAD = 0, LO_OK, LO_TOTP_REQUIRED, LO_TOTP_INVALID, LO_THROTTLED } outcome;
};

static char *xstrdup(const char *s)
{
    char *p = strdup(s ? s : "");
    if (!p)
        abort();
    return p;
}

static void wipe_free(char *s)
{
    if (s) {
        sodium_memzero(s, strlen(s));
        free(s);
    }
}

static void op_free(login_op *op)
{
    free(op->email);
    wipe_free(op->password);
    wipe_free(op->hash);
    free(op->alias);
    wipe_free(op->totp);
    wipe_free(op->totp_secret);
    sodium_memzero(op->token, sizeof op->token);
    free(op);
}

/* Queues a JSON response on the request's connection (op may already be detached). An
 * answer given before the request body has been read closes the connection after it:
 * the unread rest of the body would otherwise be parsed as the next request on a
 * kept-alive connection, or leave the client waiting to send it. */
static void respond(struct lws *wsi, hpss *p, unsigned status, const char *json)
{
    if (p->body_pending)
        p->close_after = true;
    free(p->resp);
    p->resp = xstrdup(json);
    p->status = status;
    p->resp_ready = true;
    lws_callback_on_writable(wsi);
}

static void op_respond(login_op *op, unsigned status, const char *json, const char *cookie)
{
    if (!op->p) /* the client went away */
        return;
    if (cookie)
        snprintf(op->p->cookie, sizeof op->p->cookie, "%s", cookie);
    op->p->op = NULL;
    respond(op->wsi, op->p, status, json);
    op->p = NULL;
}

int gw_http_linger(struct lws *wsi, bool body_done, bool *shut)
{
    if (body_done)
        return -1; /* nothing left unread */
    if (lws_partial_buffered(wsi)) {
        lws_callback_on_writable(wsi); /* lws sends the rest first, then calls us again */
        return 0;
    }
    if (!*shut) {
        *shut = true;
        shutdown(lws_get_socket_fd(wsi), SHUT_WR);
        lws_set_timeout(wsi, PENDING_TIMEOUT_CLOSE_SEND, GW_HTTP_LINGER_SECS);
    }
    return 0;
}

static int linger_close(struct lws *wsi, hpss *p)
{
    return gw_http_linger(wsi, !p->body_pending, &p->shut);
}

/* ---- headers ------------------------------------------------------------------------- */

static int add_security_headers(const gw_app *app, struct lws *wsi, unsigned char **p,
                                unsigned char *end)
{
    char csp[1024];
    int n = snprintf(csp, sizeof csp,
                     "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' "
                     "data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
                     "form-action 'self'; frame-ancestors 'self'");
    /* the clinic sites embedding the widget; only URL characters are copied */
    for (const char *s = app->cfg->allowed_origins; *s && n > 0 && (size_t)n < sizeof csp - 2;
         s++) {
        char ch = *s;
        if (ch == ' ' || ch == '\t')
            ch = ' ';
        else if (!(ch == ':' || ch == '/' || ch == '.' || ch == '-' || ch == '[' || ch == ']' ||
                   (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
                   (ch >= 'A' && ch <= 'Z')))
            continue;
        if (s == app->cfg->allowed_origins)
            csp[n++] = ' ';
        csp[n++] = ch;
        csp[n] = '\0';
    }
    static const struct {
        const char *name, *value;
    } fixed[] = {
        {"x-content-type-options:", "nosniff"},
        {"referrer-policy:", "no-referrer"},
        {"cross-origin-opener-policy:", "same-origin"},
        {"cache-control:", "no-store"},
    };
    if (lws_add_http_header_by_name(wsi, (const unsigned char *)"content-security-policy:",
                                    (const unsigned char *)csp, (int)strlen(csp), p, end))
        return -1;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (lws_add_http_header_by_name(wsi, (const unsigned char *)fixed[i].name,
                                        (const unsigned char *)fixed[i].value,
                                        (int)strlen(fixed[i].value), p, end))
            return -1;
    if (app->tls &&
        lws_add_http_header_by_name(wsi, (const unsigned char *)"strict-transport-security:",
                                    (const unsigned char *)"max-age=31536000", 16, p, end))
        return -1;
    return 0;
}

static int write_response(gw_app *app, struct lws *wsi, hpss *p)
{
    unsigned char hdr[LWS_PRE + 4096], *start = hdr + LWS_PRE, *q = start,
                                       *end = hdr + sizeof hdr - 1;
    size_t blen = p->resp ? strlen(p->resp) : 0;
    if (lws_add_http_common_headers(wsi, p->status, "application/json", (lws_filepos_t)blen, &q,
                                    end) ||
        add_security_headers(app, wsi, &q, end))
        return -1;
    if (p->close_after &&
        lws_add_http_header_by_token(wsi, WSI_TOKEN_CONNECTION, (const unsigned char *)"close", 5,
                                     &q, end))
        return -1;
    if (p->cookie[0] &&
        lws_add_http_header_by_name(wsi, (const unsigned char *)"set-cookie:",
                                    (const unsigned char *)p->cookie, (int)strlen(p->cookie), &q,
                                    end))
        return -1;
    if (lws_finalize_write_http_header(wsi, start, &q, end))
        return -1;
    unsigned char *b = malloc(LWS_PRE + blen + 1);
    if (!b)
        abort();
    memcpy(b + LWS_PRE, p->resp ? p->resp : "", blen);
    int n = lws_write(wsi, b + LWS_PRE, blen, LWS_WRITE_HTTP_FINAL);
    free(b);
    p->resp_ready = false;
    p->cookie[0] = '\0';
    free(p->resp);
    p->resp = NULL;
    if (n < (int)blen)
        return -1;
    if (p->close_after) {
        p->answered = true;
        return linger_close(wsi, p);
    }
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* ---- client address, Origin ------------------------------------------------------------ */

void gw_server_client(const gw_app *app, struct lws *wsi, char *ip, size_t iplen, bool *secure)
{
    char peer[64] = "";
    lws_get_peer_simple(wsi, peer, sizeof peer);
    snprintf(ip, iplen, "%s", peer);
    *secure = app->tls;
    if (!*app->cfg->trusted_proxies ||
        !gw_config_list_has(app->cfg->trusted_proxies, peer, strlen(peer)))
        return;
    char xff[256] = "";
    if (lws_hdr_copy(wsi, xff, sizeof xff, WSI_TOKEN_X_FORWARDED_FOR) > 0) {
        /* the proxy appends the address it saw last: that is the one we can believe */
        char *last = strrchr(xff, ',');
        last = last ? last + 1 : xff;
        while (*last == ' ')
            last++;
        unsigned char tmp[16];
        if (inet_pton(AF_INET, last, tmp) == 1 || inet_pton(AF_INET6, last, tmp) == 1)
            snprintf(ip, iplen, "%s", last);
    }
    char proto[16] = "";
    if (lws_hdr_custom_copy(wsi, proto, sizeof proto, "x-forwarded-proto:", 18) > 0 &&
        strcasecmp(proto, "https") == 0)
        *secure = true;
}

static bool origin_allowed(const gw_app *app, struct lws *wsi)
{
    char origin[256];
    int n = lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN);
    if (n <= 0)
        return false;
    return gw_config_list_has(app->cfg->allowed_origins, origin, (size_t)n);
}

/* ---- static files ---------------------------------------------------------------------- */

static const char *mime_of(const char *path)
{
    static const struct {
        const char *ext, *mime;
    } t[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".webmanifest", "application/manifest+json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".jpg", "image/jpeg"},
        {".ico", "image/x-icon"},
        {".woff2", "font/woff2"},
        {".txt", "text/plain; charset=utf-8"},
        {".map", "application/json"},
    };
    const char *dot = strrchr(path, '.');
    if (dot && !strchr(dot, '/'))
        for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
            if (strcasecmp(dot, t[i].ext) == 0)
                return t[i].mime;
    return NULL; /* unknown types are not served: no guessing, no sniffing */
}

static int serve_static(gw_app *app, struct lws *wsi, hpss *p, const char *uri)
{
    /* no dot-segments, hidden files, backslashes or NULs: paths map 1:1 under widget_dir */
    if (uri[0] != '/' || strstr(uri, "/.") || strchr(uri, '\\') || strlen(uri) > 512) {
        respond(wsi, p, 404, "{\"error\":\"not_found\"}");
        return 0;
    }
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s%s", app->cfg->widget_dir, uri);
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        size_t l = strlen(path);
        snprintf(path + l, sizeof path - l, "%sindex.html", path[l - 1] == '/' ? "" : "/");
    }
    const char *mime = mime_of(path);
    if (!mime || stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        respond(wsi, p, 404, "{\"error\":\"not_found\"}");
        return 0;
    }
    unsigned char hdr[2048], *q = hdr, *end = hdr + sizeof hdr - 1;
    if (add_security_headers(app, wsi, &q, end))
        return -1;
    int n = lws_serve_http_file(wsi, path, mime, (const char *)hdr, (int)(q - hdr));
    if (n < 0 || (n > 0 && lws_http_transaction_completed(wsi)))
        return -1;
    return 0;
}

/* ---- login ----------------------------------------------------------------------------- */

/*
 * Login throttling: failures are counted per e-mail (BLAKE2b of the lower-cased address)
 * and per peer address in login_throttle. From the EMAIL_FREE-th failure on an e-mail
 * waits 2, 4, 8 … seconds (at most THROTTLE_MAX_S) before the next attempt is even
 * checked; an address gets IP_FREE failures first (many staff may share one NAT). A
 * quiet quarter of an hour resets the count, and a successful login resets the e-mail's:
 * there is no permanent lock-out of the real user. Throttled attempts answer 429
 * rate_limited with retry_after and are audited as login.throttled.
 */
#define EMAIL_FREE 3
#define IP_FREE 20
#define THROTTLE_MAX_S 300
#define STR_(x) #x
#define STR(x) STR_(x)
#define SQL_THROTTLE_FAIL                                                                        \
    "WITH t AS (INSERT INTO login_throttle AS lt (key_hash, failures, last_failure) SELECT k, 1, " \
    "now() FROM unnest(ARRAY[$3::bytea, $4::bytea]) AS k WHERE k IS NOT NULL ON CONFLICT "       \
    "(key_hash) DO UPDATE SET failures = CASE WHEN lt.last_failure < now() - interval '15 "       \
    "minutes' THEN 1 ELSE lt.failures + 1 END, last_failure = now(), blocked_until = CASE WHEN "  \
    "(CASE WHEN lt.last_failure < now() - interval '15 minutes' THEN 1 ELSE lt.failures + 1 "     \
    "END) >= (CASE WHEN lt.key_hash = $3::bytea THEN " STR(EMAIL_FREE) " ELSE " STR(IP_FREE)     \
    " END) THEN now() + make_interval(secs => least(" STR(THROTTLE_MAX_S) ", power(2, (CASE "    \
    "WHEN lt.last_failure < now() - interval '15 minutes' THEN 1 ELSE lt.failures + 1 END) - "    \
    "(CASE WHEN lt.key_hash = $3::bytea THEN " STR(EMAIL_FREE) " ELSE " STR(IP_FREE) " END) + "  \
    "1))) END RETURNING 1) SELECT audit_append('login.failed', NULL, $1, $2::jsonb), (SELECT "    \
    "count(*) FROM t)"

/* A real argon2id hash of a random password, verified when the e-mail is unknown so that
 * both failures take the same time. */
static char dummy_hash[crypto_pwhash_STRBYTES];

static int password_verify(const char *hash, const char *password)
{
#ifdef HAVE_GW_USER
    return gw_user_password_verify(hash, password);
#else
    return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0 ? 0 : -1;
#endif
}

static void verify_work(uv_work_t *w)
{
    login_op *op = w->data;
    const char *hash = op->found ? op->hash : dummy_hash;
    op->verified = password_verify(hash, op->password) == 0 && op->found;
    sodium_memzero(op->password, strlen(op->password));
}

static void login_audit_done(void *arg, gw_db_status status, PGresult *res, const char *sqlstate,
                             const char *errmsg)
{
    login_op *op = arg;
    (void)res;
    (void)errmsg;
    login_inflight--;
    if (op->verified) {
        if (status != GW_DB_OK) {
            gw_warn("http", "login session insert failed: status=%d sqlstate=%s", (int)status,
                    sqlstate ? sqlstate : "");
            op_respond(op, 503,
                       "{\"error\":\"unavailable\",\"message\":\"try again in a moment\"}", NULL);
        } else {
            char cookie[192];
            snprintf(cookie, sizeof cookie,
                     GW_STAFF_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%ld%s",
                     op->token, op->app->cfg->staff_session_hours * 3600,
                     op->secure ? "; Secure" : "");
            json_t *o = json_pack("{s:{s:s, s:s, s:s}}", "staff", "id", op->staff_id, "role",
                                  op->role, "alias", op->alias ? op->alias : "");
            char *js = json_dumps(o, JSON_COMPACT);
            json_decref(o);
            gw_info("http", "login ok");
            op_respond(op, 200, js, cookie);
            free(js);
        }
    } else if (op->outcome == LO_THROTTLED) {
        gw_info("http", "login throttled");
        char js[160];
        snprintf(js, sizeof js,
                 "{\"error\":\"rate_limited\",\"message\":\"too many failed logins: try again "
                 "later\",\"retry_after\":%ld}",
                 op->retry_after);
        op_respond(op, 429, js, NULL);
    } else if (op->outcome == LO_TOTP_REQUIRED) {
        gw_info("http", "login needs the second factor");
        op_respond(op, 401,
                   "{\"error\":\"totp_required\",\"code\":\"totp_required\",\"message\":\"enter "
                   "the code of your authenticator app\"}",
                   NULL);
    } else if (op->outcome == LO_TOTP_INVALID) {
        gw_info("http", "login failed: second factor");
        op_respond(op, 401,
                   "{\"error\":\"totp_invalid\",\"code\":\"totp_invalid\",\"message\":\"the code "
                   "was not accepted\"}",
                   NULL);
    } else {
        gw_info("http", "login failed");
        op_respond(op, 401,
                   "{\"error\":\"unauthorized\",\"message\":\"e-mail or password not accepted\"}",
                   NULL);
    }
    op_free(op);
}

static void verify_done(uv_work_t *w, int status)
{
    login_op *op = w->data;
    gw_app *app = op->app;
    (void)status;
    char details[200];
    op->outcome = op->verified ? LO_OK : LO_BAD;
    if (op->verified && op->totp_secret) { /* second factor enabled (gw_totp.c) */
        uint8_t sec[GW_TOTP_SECRET_BYTES];
        if (!op->totp || !*op->totp) {
            op->outcome = LO_TOTP_REQUIRED;
        } else if (gw_totp_open(app->kr, op->staff_id, op->totp_secret, sec) != 0) {
            gw_err("http", "login: TOTP secret cannot be opened (master key?)");
            op->outcome = LO_TOTP_INVALID;
        } else if (!gw_totp_verify(sec, sizeof sec, op->totp, time(NULL))) {
            op->outcome = LO_TOTP_INVALID;
        }
        sodium_memzero(sec, sizeof sec);
        op->verified = op->outcome == LO_OK;
    }
    if (op->verified) {
        uint8_t tok[STAFF_TOKEN_BYTES], h[32];
        randombytes_buf(tok, sizeof tok);
        sodium_bin2base64(op->token, sizeof op->token, tok, sizeof tok,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        crypto_generichash(h, sizeof h, (const uint8_t *)op->token, strlen(op->token), NULL, 0);
        sodium_memzero(tok, sizeof tok);
        char hx[2 + 64 + 1] = "\\x", hours[16];
        sodium_bin2hex(hx + 2, sizeof hx - 2, h, sizeof h);
        snprintf(hours, sizeof hours, "%ld", app->cfg->staff_session_hours);
        snprintf(details, sizeof details, "{\"ip\":\"%s\",\"totp\":%s}", op->ip,
                 op->totp_secret ? "true" : "false");
        const char *vals[5] = {hx, op->staff_id, hours, details, op->key_email};
        gw_db_params p = {vals, NULL, NULL, 5};
        /* a successful login clears the e-mail's failure count (not the address's) */
        if (gw_db_query(app->db,
                        "WITH s AS (INSERT INTO staff_session (token_hash, staff_id, expires_at) "
                        "VALUES ($1::bytea, $2::uuid, now() + make_interval(hours => "
                        "$3::integer)) RETURNING staff_id), d AS (DELETE FROM login_throttle WHERE "
                        "key_hash = $5::bytea RETURNING 1) SELECT audit_append('login.ok', "
                        "s.staff_id::text, s.staff_id::text, $4::jsonb), (SELECT count(*) FROM d) "
                        "FROM s",
                        &p, false, login_audit_done, op) == 0)
            return;
    } else {
        /* the e-mail is not recorded: it may be a patient's or a typo of someone else's */
        const char *reason = op->outcome == LO_TOTP_REQUIRED  ? "totp_required"
                             : op->outcome == LO_TOTP_INVALID ? "totp_invalid"
                                                              : "password";
        snprintf(details, sizeof details,
                 "{\"ip\":\"%s\",\"known_account\":%s,\"reason\":\"%s\"}", op->ip,
                 op->found ? "true" : "false", reason);
        /* a missing second factor is not a failure to count; a wrong password or code
         * is, per e-mail and per peer address (login throttling, see start_login) */
        const char *vals[4] = {op->found ? op->staff_id : NULL, details,
                               op->outcome == LO_TOTP_REQUIRED ? NULL : op->key_email,
                               op->outcome == LO_TOTP_REQUIRED ? NULL : op->key_ip};
        gw_db_params p = {vals, NULL, NULL, 4};
        if (gw_db_query(app->db, SQL_THROTTLE_FAIL, &p, false, login_audit_done, op) == 0)
            return;
    }
    login_audit_done(op, GW_DB_ERR_CLOSED, NULL, "", "");
}


static void throttle_key(const char *prefix, const char *value, bool lower, char out[2 + 64 + 1])
{
    crypto_generichash_state st;
    uint8_t h[32];
    crypto_generichash_init(&st, NULL, 0, sizeof h);
    crypto_generichash_update(&st, (const uint8_t *)prefix, strlen(prefix));
    for (const char *c = value; *c; c++) {
        uint8_t b = (uint8_t)(lower && *c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
        crypto_generichash_update(&st, &b, 1);
    }
    crypto_generichash_final(&st, h, sizeof h);
    out[0] = '\\';
    out[1] = 'x';
    sodium_bin2hex(out + 2, 65, h, sizeof h);
}

static void login_found(void *arg, gw_db_status status, PGresult *res, const char *sqlstate,
                        const char *errmsg)
{
    login_op *op = arg;
    (void)errmsg;
    if (status != GW_DB_OK) {
        gw_warn("http", "login lookup failed: status=%d sqlstate=%s", (int)status,
                sqlstate ? sqlstate : "");
        login_inflight--;
        op_respond(op, 503, "{\"error\":\"unavailable\",\"message\":\"try again in a moment\"}",
                   NULL);
        op_free(op);
        return;
    }
    if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 5)) {
        /* throttled: no password check at all, just the answer and the audit record */
        op->outcome = LO_THROTTLED;
        op->retry_after = strtol(PQgetvalue(res, 0, 5), NULL, 10) + 1;
        char details[120];
        snprintf(details, sizeof details, "{\"ip\":\"%s\",\"retry_after\":%ld}", op->ip,
                 op->retry_after);
        const char *vals[2] = {PQgetisnull(res, 0, 0) ? NULL : PQgetvalue(res, 0, 0), details};
        gw_db_params p = {vals, NULL, NULL, 2};
        if (gw_db_query(op->app->db, "SELECT audit_append('login.throttled', NULL, $1, $2::jsonb)",
                        &p, false, login_audit_done, op) != 0)
            login_audit_done(op, GW_DB_ERR_CLOSED, NULL, "", "");
        return;
    }
    if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
        op->found = true;
        snprintf(op->staff_id, sizeof op->staff_id, "%s", PQgetvalue(res, 0, 0));
        snprintf(op->role, sizeof op->role, "%s", PQgetvalue(res, 0, 1));
        op->alias = xstrdup(PQgetvalue(res, 0, 2));
        op->hash = xstrdup(PQgetvalue(res, 0, 3));
        if (!PQgetisnull(res, 0, 4))
            op->totp_secret = xstrdup(PQgetvalue(res, 0, 4));
    }
    op->work.data = op;
    if (uv_queue_work(op->app->loop, &op->work, verify_work, verify_done) != 0) {
        login_inflight--;
        op_respond(op, 503, "{\"error\":\"unavailable\",\"message\":\"try again\"}", NULL);
        op_free(op);
    }
}

static int start_login(gw_app *app, struct lws *wsi, hpss *p)
{
    json_error_t err;
    json_t *o = json_loadb(p->body ? p->body : "", p->body_len, 0, &err);
    const char *email = NULL, *password = NULL, *totp = NULL;
    if (!o ||
        json_unpack(o, "{s:s, s:s, s?s}", "email", &email, "password", &password, "totp",
                    &totp) != 0 ||
        strlen(email) > 254 || strlen(password) > 1024 || !*email || !*password ||
        (totp && strlen(totp) > 16)) {
        json_decref(o);
        respond(wsi, p, 400,
                "{\"error\":\"bad_request\",\"message\":\"expected {\\\"email\\\",\\\"password\\\"}\"}");
        return 0;
    }
    login_op *op = calloc(1, sizeof *op);
    if (!op)
        abort();
    op->app = app;
    op->wsi = wsi;
    op->p = p;
    op->email = xstrdup(email);
    op->password = xstrdup(password);
    op->totp = totp ? xstrdup(totp) : NULL;
    gw_server_client(app, wsi, op->ip, sizeof op->ip, &op->secure);
    throttle_key("email:", email, true, op->key_email);
    throttle_key("ip:", op->ip, false, op->key_ip);
    /* the JSON text held the password: wipe it together with the object */
    sodium_memzero((char *)password, strlen(password));
    json_decref(o);
    p->op = op;
    const char *vals[3] = {op->email, op->key_email, op->key_ip};
    gw_db_params prm = {vals, NULL, NULL, 3};
    login_inflight++;
    /* one row always: the account (or NULLs) and the throttle wait in whole seconds */
    if (gw_db_query(app->db,
                    "SELECT s.id, s.role, s.alias, s.password_hash, s.totp_secret, "
                    "ceil(extract(epoch FROM t.until - now()))::bigint FROM (SELECT "
                    "max(blocked_until) AS until FROM login_throttle WHERE key_hash IN "
                    "($2::bytea, $3::bytea) AND blocked_until > now()) t LEFT JOIN staff s ON "
                    "lower(s.email) = lower($1) AND s.disabled_at IS NULL",
                    &prm, false, login_found, op) != 0) {
        login_inflight--;
        p->op = NULL;
        op_free(op);
        respond(wsi, p, 503, "{\"error\":\"unavailable\",\"message\":\"shutting down\"}");
    }
    return 0;
}

static void logout_done(void *arg, gw_db_status status, PGresult *res, const char *sqlstate,
                        const char *errmsg)
{
    login_op *op = arg;
    (void)res;
    (void)sqlstate;
    (void)errmsg;
    login_inflight--;
    op_respond(op, status == GW_DB_OK ? 200 : 503,
               status == GW_DB_OK ? "{\"ok\":true}" : "{\"error\":\"unavailable\"}",
               GW_STAFF_COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    op_free(op);
}

static int start_logout(gw_app *app, struct lws *wsi, hpss *p)
{
    char cookies[2048] = "", token[128];
    if (lws_hdr_copy(wsi, cookies, sizeof cookies, WSI_TOKEN_HTTP_COOKIE) <= 0 ||
        gw_staff_cookie_value(cookies, GW_STAFF_COOKIE, token, sizeof token) <= 0) {
        snprintf(p->cookie, sizeof p->cookie,
                 GW_STAFF_COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
        respond(wsi, p, 200, "{\"ok\":true}");
        return 0;
    }
    login_op *op = calloc(1, sizeof *op);
    if (!op)
        abort();
    op->app = app;
    op->wsi = wsi;
    op->p = p;
    p->op = op;
    uint8_t h[32];
    crypto_generichash(h, sizeof h, (const uint8_t *)token, strlen(token), NULL, 0);
    sodium_memzero(token, sizeof token);
    char hx[2 + 64 + 1] = "\\x";
    sodium_bin2hex(hx + 2, sizeof hx - 2, h, sizeof h);
    const char *vals[1] = {hx};
    gw_db_params prm = {vals, NULL, NULL, 1};
    login_inflight++;
    if (gw_db_query(app->db,
                    "WITH r AS (UPDATE staff_session SET revoked_at = now() WHERE token_hash = "
                    "$1::bytea AND revoked_at IS NULL RETURNING staff_id) SELECT "
                    "audit_append('logout', r.staff_id::text, r.staff_id::text, '{}'::jsonb) "
                    "FROM r",
                    &prm, false, logout_done, op) != 0) {
        login_inflight--;
        p->op = NULL;
        op_free(op);
        respond(wsi, p, 503, "{\"error\":\"unavailable\"}");
    }
    return 0;
}

size_t gw_server_pending(void)
{
    return login_inflight;
}

/* ---- the http protocol callback -------------------------------------------------------- */

static int on_http(gw_app *app, struct lws *wsi, hpss *p, const char *uri)
{
    bool post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
    p->route = R_NONE;
    p->body_len = 0;
    p->body_over = false;
    p->close_after = p->answered = p->shut = false;
    p->dropped = 0;
    p->body_pending = post;
    if (post) {
        /* Bodies come with a Content-Length no larger than BODY_MAX; they are refused
         * before being read. Without a length lws would read a chunked body as raw bytes
         * until 100 MB arrived, so the client would hang: 411 instead. A request with a
         * Transfer-Encoding is refused too, whatever its Content-Length says (smuggling). */
        char cl[24] = "";
        if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0 ||
            lws_hdr_copy(wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0) {
            respond(wsi, p, 411, "{\"error\":\"length_required\"}");
            return 0;
        }
        char *e = NULL;
        errno = 0;
        unsigned long long n = strtoull(cl, &e, 10);
        if (errno || e == cl || *e || cl[0] == '-') {
            respond(wsi, p, 400, "{\"error\":\"bad_request\",\"message\":\"bad content-length\"}");
            return 0;
        }
        if (n > BODY_MAX) {
            respond(wsi, p, 413, "{\"error\":\"too_large\"}");
            return 0;
        }
    }
    if (strcmp(uri, "/healthz") == 0) {
        respond(wsi, p, 200, "{\"ok\":true}");
        return 0;
    }
    if (strcmp(uri, "/readyz") == 0) {
        bool ready = gw_db_ready(app->db) && app->schema_current && !app->draining;
        respond(wsi, p, ready ? 200 : 503,
                ready ? "{\"ready\":true}"
                      : (app->draining ? "{\"ready\":false,\"reason\":\"draining\"}"
                         : !app->schema_current
                             ? "{\"ready\":false,\"reason\":\"migrations\"}"
                             : "{\"ready\":false,\"reason\":\"database\"}"));
        return 0;
    }
    /* DPO hook: the read-only audit API answers itself (gw_dpo.h) */
    if (strncmp(uri, GW_DPO_PREFIX, strlen(GW_DPO_PREFIX)) == 0)
        return gw_dpo_http(app, wsi, &p->dpo, uri);
    if (strcmp(uri, "/api/login") == 0 || strcmp(uri, "/api/logout") == 0) {
        if (!post) {
            respond(wsi, p, 405, "{\"error\":\"method_not_allowed\"}");
            return 0;
        }
        /* browsers always send Origin on POST: a foreign one is a cross-site request */
        if (lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) > 0 && !origin_allowed(app, wsi)) {
            respond(wsi, p, 403, "{\"error\":\"forbidden\",\"message\":\"origin not allowed\"}");
            return 0;
        }
        p->route = strcmp(uri, "/api/login") == 0 ? R_LOGIN : R_LOGOUT;
        return 0; /* wait for the body */
    }
    if (post) {
        respond(wsi, p, 404, "{\"error\":\"not_found\"}");
        return 0;
    }
    return serve_static(app, wsi, p, uri);
}

static int on_body(hpss *p, const void *in, size_t len)
{
    if (p->close_after) { /* already answered: read only to close cleanly (linger_close) */
        p->dropped += len;
        return p->dropped > LINGER_MAX ? -1 : 0;
    }
    if (p->body_over || p->body_len + len > BODY_MAX) {
        p->body_over = true;
        return 0;
    }
    if (!p->body) {
        p->body = malloc(BODY_MAX);
        if (!p->body)
            abort();
    }
    memcpy(p->body + p->body_len, in, len);
    p->body_len += len;
    return 0;
}

static int on_body_done(gw_app *app, struct lws *wsi, hpss *p)
{
    int rc = 0;
    p->body_pending = false;
    if (p->close_after) {
        /* answered before the body was read: that answer stands, then the connection
         * closes (now, if the answer has been written) */
        if (p->answered)
            rc = -1;
    } else if (p->body_over)
        respond(wsi, p, 413, "{\"error\":\"too_large\"}");
    else if (app->draining)
        respond(wsi, p, 503, "{\"error\":\"unavailable\",\"message\":\"restarting\"}");
    else if (p->route == R_LOGIN)
        rc = start_login(app, wsi, p);
    else if (p->route == R_LOGOUT)
        rc = start_logout(app, wsi, p);
    else
        respond(wsi, p, 404, "{\"error\":\"not_found\"}");
    if (p->body) {
        sodium_memzero(p->body, BODY_MAX); /* may hold a password */
        free(p->body);
        p->body = NULL;
    }
    p->body_len = 0;
    return rc;
}

static int reject(struct lws *wsi, unsigned status)
{
    lws_return_http_status(wsi, status, NULL);
    return 1;
}

/* Every WebSocket upgrade passes here while the request headers are still attached. */
static int on_confirm_upgrade(gw_app *app, struct lws *wsi, const char *what)
{
    if (!what || strcmp(what, "websocket") != 0)
        return reject(wsi, 400);
    char uri[64] = "", proto[128] = "";
    lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI);
    lws_hdr_copy(wsi, proto, sizeof proto, WSI_TOKEN_PROTOCOL);
    const char *want = strcmp(uri, "/ws/patient") == 0 ? GW_PATIENT_PROTOCOL
                       : strcmp(uri, "/ws/staff") == 0 ? GW_STAFF_PROTOCOL
                                                       : NULL;
    if (!want)
        return reject(wsi, 404);
    /* the subprotocol header may list several; ours must be one of them */
    bool has = false;
    for (char *save = NULL, *tok = strtok_r(proto, ", ", &save); tok;
         tok = strtok_r(NULL, ", ", &save))
        if (strcmp(tok, want) == 0)
            has = true;
    if (!has)
        return reject(wsi, 400);
    if (!origin_allowed(app, wsi)) {
        gw_info("http", "upgrade refused: origin not allowed");
        return reject(wsi, 403);
    }
    if (app->draining)
        return reject(wsi, 503);
    if (strcmp(want, GW_STAFF_PROTOCOL) == 0) {
        char cookies[2048] = "", tok[128];
        if (lws_hdr_copy(wsi, cookies, sizeof cookies, WSI_TOKEN_HTTP_COOKIE) <= 0 ||
            gw_staff_cookie_value(cookies, GW_STAFF_COOKIE, tok, sizeof tok) <= 0)
            return reject(wsi, 401);
        sodium_memzero(tok, sizeof tok);
    }
    if (gw_conn_count() >= (size_t)app->cfg->max_connections)
        return reject(wsi, 503);
    return 0;
}

static void on_http_closed(hpss *p)
{
    if (p->op) {
        p->op->p = NULL; /* the operation completes into nothing */
        p->op = NULL;
    }
    if (p->body) {
        sodium_memzero(p->body, BODY_MAX);
        free(p->body);
        p->body = NULL;
    }
    free(p->resp);
    p->resp = NULL;
}

static int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len)
{
    hpss *p = user;
    const struct lws_protocols *proto = lws_get_protocol(wsi);
    gw_app *app = proto ? proto->user : NULL;

    switch (reason) {
    case LWS_CALLBACK_HTTP:
        return on_http(app, wsi, p, in);
    case LWS_CALLBACK_HTTP_BODY:
        return on_body(p, in, len);
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        return on_body_done(app, wsi, p);
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (p && p->dpo) /* DPO hook */
            return gw_dpo_writeable(wsi, &p->dpo);
        if (p && p->answered)
            return linger_close(wsi, p);
        return p && p->resp_ready ? write_response(app, wsi, p) : 0;
    case LWS_CALLBACK_HTTP_FILE_COMPLETION:
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return on_confirm_upgrade(app, wsi, in);
    case LWS_CALLBACK_CLOSED_HTTP:
        if (p)
            gw_dpo_closed(&p->dpo); /* DPO hook */
        if (p)
            on_http_closed(p);
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}

/* ---- context --------------------------------------------------------------------------- */

static struct lws_protocols protocols[5]; /* + Meta webhooks (gw_meta.c) */
static void *foreign_loops[1];

/* Sockets that stop answering pings are hung up (rule 18): ping after 30 s of silence,
 * close after 70 s without a valid frame. */
static const lws_retry_bo_t idle_policy = {
    .secs_since_valid_ping = 30,
    .secs_since_valid_hangup = 70,
};

static void lws_log_emit(int level, const char *line)
{
    /* lws lines may carry peer addresses but never payloads at these levels */
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    if (level & LLL_ERR)
        gw_err("lws", "%.*s", (int)n, line);
    else
        gw_warn("lws", "%.*s", (int)n, line);
}

int gw_server_start(gw_app *app)
{
    const gw_config *cfg = app->cfg;
    if (crypto_pwhash_str(dummy_hash, "caregate-dummy-password", 23,
                          crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
        gw_err("main", "cannot prepare the password hashing");
        return -1;
    }
    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_emit);
    size_t rx = (size_t)cfg->max_frame_bytes < 65536 ? (size_t)cfg->max_frame_bytes : 65536;
    memset(protocols, 0, sizeof protocols);
    protocols[0] = (struct lws_protocols){"http", http_callback, sizeof(hpss), 0, 0, app, 0};
    protocols[1] = (struct lws_protocols){GW_PATIENT_PROTOCOL, gw_patient_callback,
                                          gw_patient_pss_size(), rx, 1, app, 0};
    protocols[2] = (struct lws_protocols){GW_STAFF_PROTOCOL, gw_staff_callback,
                                          gw_staff_pss_size(), rx, 2, app, 0};
    /* Meta bridges (gw_meta.c): /webhooks/meta is a callback mount onto this protocol */
    if (app->meta)
        protocols[3] = *gw_meta_protocol(app->meta);
    foreign_loops[0] = app->loop;

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = (int)cfg->port;
    info.iface = *cfg->listen_address ? cfg->listen_address : NULL;
    info.protocols = protocols;
    info.vhost_name = "caregate";
    info.server_string = "caregate";
    info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_VALIDATE_UTF8;
    if (cfg->listen_address && strchr(cfg->listen_address, '.'))
        info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
    info.foreign_loops = foreign_loops;
    if (app->meta)
        info.mounts = gw_meta_mount(); /* Meta bridges */
    info.user = app;
    info.pcontext = &app->lws; /* lws NULLs it when destruction has completed */
    info.retry_and_idle_policy = &idle_policy;
    info.timeout_secs = 20;
    /* Idle HTTP/1.1 keep-alive: longer than clients' own idle timeouts (browsers, Node's
     * 4 s), so the client is the one to drop an idle socket and never reuses one just as
     * the server closes it ("other side closed" under load with lws's 5 s default). Safe
     * because an answer given with a request body unread closes the connection (respond),
     * so no kept-alive socket carries the rest of an old body. */
    info.keepalive_timeout = 65;
    info.max_http_header_data = 8192;
    info.fd_limit_per_thread = (unsigned)cfg->max_connections + 128u;
    if (*cfg->tls_cert_file) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = cfg->tls_cert_file;
        info.ssl_private_key_filepath = cfg->tls_key_file;
        app->tls = true;
    }
    app->lws = lws_create_context(&info);
    if (!app->lws) {
        gw_err("main", "cannot listen on %s:%ld (see lws lines above)", cfg->listen_address,
               cfg->port);
        return -1;
    }
    return 0;
}

int gw_server_port(const gw_app *app)
{
    struct lws_vhost *vh = app->lws ? lws_get_vhost_by_name(app->lws, "caregate") : NULL;
    return vh ? lws_get_vhost_listen_port(vh) : -1;
}

void gw_server_stop(gw_app *app)
{
    /* On a foreign loop destruction takes two calls: the first closes lws's handles,
     * which complete as the loop runs; a call after that (app->lws still set) frees what
     * remains. lws clears app->lws through info.pcontext when it is all gone. */
    if (app->lws && !app->lws_destroying) {
        app->lws_destroying = true;
        lws_context_destroy(app->lws);
    } else if (app->lws) {
        lws_context_destroy(app->lws);
    }
}
