/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The configuration: one table of keys with types, defaults, limits and documentation
 * (gw_config.c), read from a "key = value" file. Defaults exist only in that table.
 * Unknown keys and bad values stop start-up with a message naming file, line and key.
 * deploy/caregate.conf documents every key; a unit test keeps the two in step.
 *
 * The struct is exposed because every subsystem reads it; it holds no secrets (secrets
 * live in files whose paths are named here). Strings are owned by the struct and freed
 * by gw_config_free. List-valued keys are space-separated strings.
 */
#ifndef GW_CONFIG_H
#define GW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

typedef struct gw_config {
    /* network */
    char *listen_address;
    long port;
    char *tls_cert_file;
    char *tls_key_file;
    char *trusted_proxies;   /* addresses whose X-Forwarded-For / -Proto are believed */
    char *allowed_origins;   /* clinic sites that may open the patient socket */
    /* storage */
    char *state_dir;
    char *database_url;      /* empty: embedded PostgreSQL under state_dir/pg */
    char *pg_bin_dir;
    char *embedded_pg_user;  /* OS user the embedded postgres runs as when we are root */
    long db_connections;
    /* keys */
    char *master_key_file;   /* empty: state_dir/master.key */
    char *audit_key_file;    /* empty: state_dir/audit-signing.key */
    /* clinic */
    char *clinic_name;
    char *staff_email_domains;
    char *policy_file;
    long assign_round_robin;  /* 1: round-robin among on-shift staff (gw_store.c) */
    char *widget_dir;        /* empty: the widget/ folder of the source tree */
    /* limits */
    long max_frame_bytes;
    long max_message_bytes;
    long rate_limit_per_minute;
    long rate_limit_burst;
    long group_commit_max;
    long max_connections;
    long patient_session_days;
    long staff_session_hours;
    long drain_timeout_ms;
    long audit_checkpoint_seconds;
    /* operations */
    char *log_level;
    /* Meta bridges (gw_meta.c, gw_outbox.c, gw_channel.c; docs/bridges.md) */
    char *meta_graph_base_url;     /* Send API host (tests: the fake) */
    char *meta_ig_graph_base_url;  /* Instagram-Login host */
    char *meta_graph_version;      /* "v25.0" */
    char *meta_verify_token_file;  /* webhook verification token; empty: handshake refused */
    char *meta_bridge_key_file;    /* empty: state_dir/bridge.key */
    char *meta_wa_template;        /* approved no-PHI template offered outside the 24 h window */
    char *meta_wa_template_lang;
    long meta_send_timeout_ms;
    long meta_uncertain_wait_s;
    long meta_channel_rate_per_s;
    long meta_recipient_burst;
    long meta_recipient_interval_ms;
    /* retention (gw_rights_srv.c; docs/retention.md) */
    long retention_interval_seconds;
} gw_config;

/* Fills cfg with the table's defaults. Returns 0. */
int gw_config_defaults(gw_config *cfg);

/*
 * Reads path (NULL: defaults only) over the defaults, then derives empty path keys
 * (master_key_file, audit_key_file, widget_dir) from state_dir. On error returns -1 and
 * writes a precise message ("file:line: unknown key 'x'") into err (errlen bytes).
 */
int gw_config_load(gw_config *cfg, const char *path, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* The same from text in memory (len bytes, need not be NUL-terminated); name stands for
 * the file in messages. Used by tests and the config fuzz target. */
int gw_config_load_text(gw_config *cfg, const char *text, size_t len, const char *name,
                        char *err, size_t errlen) __attribute__((warn_unused_result));

/* Frees the strings; cfg may be zeroed or partially filled. Idempotent. */
void gw_config_free(gw_config *cfg);

/* Iterates documented keys: returns the n-th key name or NULL past the end; *doc and
 * *def (may be NULL) receive its documentation line and default as text. */
const char *gw_config_key(size_t n, const char **doc, const char **def);

/* BLAKE2b-256 (64 hex chars + NUL) over every key's effective value: names the running
 * configuration in audit records (event config.loaded). */
void gw_config_hash(const gw_config *cfg, char hex[65]);

/* Is `item` one of the space-separated words of list? Exact, case-sensitive. */
bool gw_config_list_has(const char *list, const char *item, size_t item_len);

#endif
