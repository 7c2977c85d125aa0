/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Operational logging: leveled lines on stderr, "LEVEL tag: reason key=value…".
 * The level is checked before any formatting (the macro), so a discarded debug line
 * costs one comparison. Every line carries a stable tag (connection "p17"/"s3", or a
 * subsystem such as "db", "pg", "main") and never a pointer.
 *
 * Privacy rule (SECURITY.md): message text, names, e-mail addresses, phone numbers and
 * tokens are never passed to these macros; log ids, lengths, counts and decisions only.
 * The tamper-evident audit log is a different thing and lives in gw_audit/policy audit.
 */
#ifndef GW_LOG_H
#define GW_LOG_H

typedef enum { GW_LOG_ERROR = 0, GW_LOG_WARN, GW_LOG_INFO, GW_LOG_DEBUG } gw_log_level;

extern gw_log_level gw_log_threshold;

/* Parses "error|warn|info|debug"; returns -1 for anything else. */
int gw_log_parse_level(const char *s);

/* Writes one line; use the macros, which skip formatting for disabled levels. */
void gw_log_write(gw_log_level lvl, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define GW_LOG(lvl, tag, ...)                                                                  \
    do {                                                                                       \
        if ((lvl) <= gw_log_threshold)                                                         \
            gw_log_write((lvl), (tag), __VA_ARGS__);                                           \
    } while (0)
#define gw_err(tag, ...) GW_LOG(GW_LOG_ERROR, tag, __VA_ARGS__)
#define gw_warn(tag, ...) GW_LOG(GW_LOG_WARN, tag, __VA_ARGS__)
#define gw_info(tag, ...) GW_LOG(GW_LOG_INFO, tag, __VA_ARGS__)
#define gw_debug(tag, ...) GW_LOG(GW_LOG_DEBUG, tag, __VA_ARGS__)

#endif
