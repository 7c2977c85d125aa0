/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The config table (STYLE.md rule 22): key, type, default, limits, documentation and the
 * field it fills. Parsing is line based, "key = value", '#' comments, values may be
 * double-quoted. Nothing here opens sockets or databases; validation of cross-key rules
 * (TLS cert without key) happens here too so start-up fails early and precisely.
 */
#include "gw_config.h"
#include "gw_log.h"

#include <ctype.h>
#include <sodium.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { CT_STR, CT_INT } conf_type;

typedef struct {
    const char *key;
    conf_type type;
    const char *def;
    long min, max;
    size_t off;
    bool reloadable; /* informational for now: the gateway reads config at start only */
    const char *doc;
} conf_entry;

#define F(field) offsetof(gw_config, field)

static const conf_entry table[] = {
    {"listen_address", CT_STR, "127.0.0.1", 0, 0, F(listen_address), false,
     "address to listen on (use a reverse proxy or TLS below for public access)"},
    {"port", CT_INT, "8080", 0, 65535, F(port), false, "TCP port for HTTP/WebSocket (0: any free port, printed at start)"},
    {"tls_cert_file", CT_STR, "", 0, 0, F(tls_cert_file), false,
     "PEM certificate chain; with tls_key_file the gateway speaks TLS itself"},
    {"tls_key_file", CT_STR, "", 0, 0, F(tls_key_file), false, "PEM private key for tls_cert_file"},
    {"trusted_proxies", CT_STR, "", 0, 0, F(trusted_proxies), false,
     "space-separated peer addresses whose X-Forwarded-For/-Proto headers are trusted"},
    {"allowed_origins", CT_STR, "http://localhost:8080 http://127.0.0.1:8080", 0, 0,
     F(allowed_origins), false,
     "space-separated Origins (scheme://host[:port]) allowed to open the patient and staff sockets"},
    {"state_dir", CT_STR, "/var/lib/caregate", 0, 0, F(state_dir), false,
     "directory for the embedded PostgreSQL cluster and key files (created 0700)"},
    {"database_url", CT_STR, "", 0, 0, F(database_url), false,
     "libpq connection string; empty runs a private PostgreSQL cluster under state_dir/pg"},
    {"pg_bin_dir", CT_STR, "/usr/lib/postgresql/15/bin", 0, 0, F(pg_bin_dir), false,
     "where initdb and postgres live, for the embedded cluster"},
    {"embedded_pg_user", CT_STR, "postgres", 0, 0, F(embedded_pg_user), false,
     "OS user the embedded PostgreSQL runs as when caregate is started as root"},
    {"db_connections", CT_INT, "2", 1, 64, F(db_connections), false,
     "database connections per gateway process (plus one for LISTEN)"},
    {"master_key_file", CT_STR, "", 0, 0, F(master_key_file), false,
     "versioned master key file, mode 0600; empty: state_dir/master.key"},
    {"audit_key_file", CT_STR, "", 0, 0, F(audit_key_file), false,
     "Ed25519 key signing audit checkpoints, separate from the master key; empty: state_dir/audit-signing.key"},
    {"clinic_name", CT_STR, "Demo Clinic", 0, 0, F(clinic_name), true,
     "the name patients see as the author of staff replies"},
    {"staff_email_domains", CT_STR, "demo-clinic.example", 0, 0, F(staff_email_domains), false,
     "space-separated e-mail domains staff accounts must belong to (clinic accounts only)"},
    {"policy_file", CT_STR, "", 0, 0, F(policy_file), true,
     "JSON policy file (office hours, address form, retention); empty: built-in defaults"},
    {"assign_round_robin", CT_INT, "0", 0, 1, F(assign_round_robin), false,
     "1: a conversation a patient writes in while unassigned goes to the on-shift agent or admin assigned longest ago"},
    {"widget_dir", CT_STR, "", 0, 0, F(widget_dir), false,
     "directory served as the widget, console and demo pages; empty: the source tree's widget/"},
    {"max_frame_bytes", CT_INT, "65536", 1024, 16777216, F(max_frame_bytes), false,
     "largest WebSocket frame accepted; larger ones close the socket with 1009"},
    {"max_message_bytes", CT_INT, "8000", 16, 1048576, F(max_message_bytes), false,
     "largest message text in bytes; larger ones get error too_large"},
    {"rate_limit_per_minute", CT_INT, "60", 1, 100000, F(rate_limit_per_minute), false,
     "messages per minute per session (token bucket refill)"},
    {"rate_limit_burst", CT_INT, "20", 1, 100000, F(rate_limit_burst), false,
     "messages a session may send at once before rate_limited"},
    {"group_commit_max", CT_INT, "512", 1, 100000, F(group_commit_max), false,
     "most messages written in one transaction (group commit)"},
    {"max_connections", CT_INT, "20000", 1, 1000000, F(max_connections), false,
     "most WebSocket connections per process"},
    {"patient_session_days", CT_INT, "30", 1, 3650, F(patient_session_days), false,
     "how long a patient's resume token stays valid after last use"},
    {"staff_session_hours", CT_INT, "12", 1, 720, F(staff_session_hours), false,
     "how long a staff login cookie stays valid"},
    {"drain_timeout_ms", CT_INT, "10000", 0, 600000, F(drain_timeout_ms), false,
     "on SIGTERM, how long to wait for in-flight commits before closing"},
    {"audit_checkpoint_seconds", CT_INT, "60", 1, 86400, F(audit_checkpoint_seconds), false,
     "how often a signed audit checkpoint is written"},
    {"log_level", CT_STR, "info", 0, 0, F(log_level), true, "error, warn, info or debug"},
    /* Meta bridges (docs/bridges.md) */
    {"meta_graph_base_url", CT_STR, "https://graph.facebook.com", 0, 0, F(meta_graph_base_url), false,
     "Graph API base URL for WhatsApp/Messenger/Instagram sends (tests point it at the fake)"},
    {"meta_ig_graph_base_url", CT_STR, "https://graph.instagram.com", 0, 0, F(meta_ig_graph_base_url),
     false, "Graph base URL of the Instagram-Login flavour (unused by the Page flavour)"},
    {"meta_graph_version", CT_STR, "v25.0", 0, 0, F(meta_graph_version), false,
     "Graph API version used in Send API paths (vNN.N)"},
    {"meta_verify_token_file", CT_STR, "", 0, 0, F(meta_verify_token_file), false,
     "file holding the webhook verify token typed into Meta's dashboard; empty: handshake refused"},
    {"meta_bridge_key_file", CT_STR, "", 0, 0, F(meta_bridge_key_file), false,
     "32-byte key hashing platform ids and sealing reply addresses; empty: state_dir/bridge.key"},
    {"meta_wa_template", CT_STR, "", 0, 0, F(meta_wa_template), false,
     "approved WhatsApp template without health data sent outside the 24 h window; empty: none"},
    {"meta_wa_template_lang", CT_STR, "de", 0, 0, F(meta_wa_template_lang), false,
     "language code of meta_wa_template"},
    {"meta_send_timeout_ms", CT_INT, "20000", 1000, 600000, F(meta_send_timeout_ms), false,
     "Send API request timeout; a timeout after the body was sent makes the send uncertain"},
    {"meta_uncertain_wait_s", CT_INT, "60", 1, 86400, F(meta_uncertain_wait_s), false,
     "how long an uncertain send waits for a matching status/echo webhook before failing"},
    {"meta_channel_rate_per_s", CT_INT, "20", 1, 1000, F(meta_channel_rate_per_s), false,
     "most Send API calls per second per channel (WhatsApp allows 80 per number)"},
    {"meta_recipient_burst", CT_INT, "10", 1, 45, F(meta_recipient_burst), false,
     "messages to one recipient sent back to back before pacing (WhatsApp pair limit)"},
    {"meta_recipient_interval_ms", CT_INT, "6000", 0, 600000, F(meta_recipient_interval_ms), false,
     "sustained pace per recipient after the burst (WhatsApp: 1 per 6 s)"},
    {"retention_interval_seconds", CT_INT, "3600", 1, 604800, F(retention_interval_seconds), false,
     "how often each gateway runs retention and pending erasures (one process works at a time)"},
};

#define NTABLE (sizeof table / sizeof table[0])

static char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (!p)
        abort();
    return p;
}

static int set_value(gw_config *cfg, const conf_entry *e, const char *val, char *err,
                     size_t errlen, const char *where)
{
    char *base = (char *)cfg + e->off;
    if (e->type == CT_STR) {
        char **slot = (char **)base;
        free(*slot);
        *slot = xstrdup(val);
        return 0;
    }
    char *end;
    errno = 0;
    long v = strtol(val, &end, 10);
    if (errno || end == val || *end != '\0') {
        snprintf(err, errlen, "%s: key '%s': '%s' is not an integer", where, e->key, val);
        return -1;
    }
    if (v < e->min || v > e->max) {
        snprintf(err, errlen, "%s: key '%s': %ld is out of range [%ld, %ld]", where, e->key, v,
                 e->min, e->max);
        return -1;
    }
    *(long *)base = v;
    return 0;
}

int gw_config_defaults(gw_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    char err[64];
    for (size_t i = 0; i < NTABLE; i++)
        if (set_value(cfg, &table[i], table[i].def, err, sizeof err, "defaults") != 0)
            abort(); /* a bad default is a programmer error */
    return 0;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static void derive_path(char **slot, const char *dir, const char *name)
{
    if (**slot)
        return;
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (!p)
        abort();
    snprintf(p, n, "%s/%s", dir, name);
    free(*slot);
    *slot = p;
}

/* Reads "key = value" lines from f over cfg; name ("file") prefixes every message. */
static int load_stream(gw_config *cfg, FILE *f, const char *name, char *err, size_t errlen)
{
    char line[4096], where[512];
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        snprintf(where, sizeof where, "%s:%d", name, lineno);
        if (!strchr(line, '\n') && !feof(f)) {
            snprintf(err, errlen, "%s: line too long", where);
            return -1;
        }
        char *s = trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, errlen, "%s: expected 'key = value'", where);
            return -1;
        }
        *eq = '\0';
        char *key = trim(s), *val = trim(eq + 1);
        size_t vl = strlen(val);
        if (vl >= 2 && val[0] == '"' && val[vl - 1] == '"') {
            val[vl - 1] = '\0';
            val++;
        }
        const conf_entry *e = NULL;
        for (size_t i = 0; i < NTABLE; i++)
            if (strcmp(table[i].key, key) == 0)
                e = &table[i];
        if (!e) {
            snprintf(err, errlen, "%s: unknown key '%s'", where, key);
            return -1;
        }
        if (set_value(cfg, e, val, err, errlen, where) != 0)
            return -1;
    }
    return 0;
}

static int finish_load(gw_config *cfg, char *err, size_t errlen);

int gw_config_load(gw_config *cfg, const char *path, char *err, size_t errlen)
{
    gw_config_defaults(cfg);
    if (path) {
        FILE *f = fopen(path, "r");
        if (!f) {
            snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
            return -1;
        }
        int rc = load_stream(cfg, f, path, err, errlen);
        fclose(f);
        if (rc != 0)
            return -1;
    }
    return finish_load(cfg, err, errlen);
}

int gw_config_load_text(gw_config *cfg, const char *text, size_t len, const char *name,
                        char *err, size_t errlen)
{
    gw_config_defaults(cfg);
    if (len > 0) {
        FILE *f = fmemopen((void *)text, len, "r");
        if (!f) {
            snprintf(err, errlen, "%s: cannot read", name);
            return -1;
        }
        int rc = load_stream(cfg, f, name, err, errlen);
        fclose(f);
        if (rc != 0)
            return -1;
    }
    return finish_load(cfg, err, errlen);
}

/* Cross-key checks and derived paths, after the file's keys are in. */
static int finish_load(gw_config *cfg, char *err, size_t errlen)
{
    if (gw_log_parse_level(cfg->log_level) < 0) {
        snprintf(err, errlen, "key 'log_level': '%s' is not one of error, warn, info, debug",
                 cfg->log_level);
        return -1;
    }
    if ((*cfg->tls_cert_file != '\0') != (*cfg->tls_key_file != '\0')) {
        snprintf(err, errlen, "keys 'tls_cert_file' and 'tls_key_file' must be set together");
        return -1;
    }
    if (*cfg->state_dir == '\0') {
        snprintf(err, errlen, "key 'state_dir' must not be empty");
        return -1;
    }
    derive_path(&cfg->master_key_file, cfg->state_dir, "master.key");
    derive_path(&cfg->audit_key_file, cfg->state_dir, "audit-signing.key");
    derive_path(&cfg->meta_bridge_key_file, cfg->state_dir, "bridge.key"); /* Meta bridges */
    if (*cfg->widget_dir == '\0') {
        free(cfg->widget_dir);
        cfg->widget_dir = xstrdup(GW_SOURCE_DIR "/widget");
    }
    return 0;
}

void gw_config_free(gw_config *cfg)
{
    for (size_t i = 0; i < NTABLE; i++)
        if (table[i].type == CT_STR) {
            char **slot = (char **)((char *)cfg + table[i].off);
            free(*slot);
            *slot = NULL;
        }
}

const char *gw_config_key(size_t n, const char **doc, const char **def)
{
    if (n >= NTABLE)
        return NULL;
    if (doc)
        *doc = table[n].doc;
    if (def)
        *def = table[n].def;
    return table[n].key;
}

bool gw_config_list_has(const char *list, const char *item, size_t item_len)
{
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *s = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        if ((size_t)(p - s) == item_len && item_len > 0 && memcmp(s, item, item_len) == 0)
            return true;
    }
    return false;
}

void gw_config_hash(const gw_config *cfg, char hex[65])
{
    /* key=value lines in table order: the same settings give the same hash whatever the
     * file's layout, comments or defaults left implicit. Values are paths and settings,
     * never secrets (those live in the files the *_file keys name). */
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, 32);
    for (size_t i = 0; i < NTABLE; i++) {
        const char *base = (const char *)cfg + table[i].off;
        char num[32];
        const char *v = num;
        if (table[i].type == CT_STR)
            v = *(char *const *)base ? *(char *const *)base : "";
        else
            snprintf(num, sizeof num, "%ld", *(const long *)base);
        crypto_generichash_update(&st, (const unsigned char *)table[i].key, strlen(table[i].key));
        crypto_generichash_update(&st, (const unsigned char *)"=", 1);
        crypto_generichash_update(&st, (const unsigned char *)v, strlen(v));
        crypto_generichash_update(&st, (const unsigned char *)"\n", 1);
    }
    unsigned char h[32];
    crypto_generichash_final(&st, h, sizeof h);
    sodium_bin2hex(hex, 65, h, sizeof h);
}
