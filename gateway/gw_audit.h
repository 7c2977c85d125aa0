/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gw_audit: the database side of the tamper-evident audit log (format and verifier in
 * policy/audit.h, appends in SQL: audit_append() in gateway/sql/002_audit.sql).
 *
 *  - `caregate audit verify [--pubkey FILE]...`    whole log + checkpoints + head, exit 0/1
 *  - `caregate audit verify --file EXPORT [--pubkey FILE]...`   an export, offline
 *  - `caregate audit export [--from T] [--to T] [--format jsonl|csv] [--out FILE]`
 *  - `caregate audit checkpoint`                    sign one checkpoint now (blocking)
 *  - gw_audit_checkpoint_tick: the server's periodic checkpoint, on the event loop.
 *
 * Trusted public keys for verification come from --pubkey files and otherwise from
 * "<audit_key_file>.pub" (or the key file itself): never from the database or the export,
 * which an attacker could have rewritten. This module never reads message tables.
 */
#ifndef GW_AUDIT_H
#define GW_AUDIT_H

#include "audit.h"
#include "gw_config.h"
#include "gw_db.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <uv.h>

/*
 * One checkpoint on the event loop: reads the head and the last checkpoint, and unless
 * nothing but the last checkpoint's own announcement was appended since, signs the head
 * and stores it with audit_checkpoint_add() (which also appends its 'audit.checkpoint'
 * record). Several gateway processes may tick at once: the loser's insert is refused by
 * the database and counted as skipped. signer is borrowed and must stay valid until done
 * has run (or, without done, until the pool is stopped). done (may be NULL) runs exactly
 * once with 1 (written), 0 (skipped) or -1 (failed; logged with the SQLSTATE).
 */
void gw_audit_checkpoint_tick(gw_db *db, const audit_signer *signer,
                              void (*done)(void *arg, int result), void *arg);

/*
 * The server's checkpoint timer, ready to use: loads the signing key from
 * cfg->audit_key_file and ticks every cfg->audit_checkpoint_seconds (first tick after one
 * interval). Returns NULL with err when the key cannot be loaded (the caller decides
 * whether that stops start-up; it should: an unsigned log is only half the protection).
 * db and loop are borrowed and must outlive the checkpointer.
 *
 * gw_audit_checkpointer_stop stops the timer and, once no tick is in flight and the
 * timer handle is closed, frees everything (the key is wiped) and calls done (may be
 * NULL) exactly once. Stop it before stopping the db pool, or together with it: an
 * in-flight tick finishes either way (gw_db runs every callback on stop).
 */
typedef struct gw_audit_checkpointer gw_audit_checkpointer;

gw_audit_checkpointer *gw_audit_checkpointer_start(uv_loop_t *loop, gw_db *db, const gw_config *cfg,
                                                   char *err, size_t errlen);
void gw_audit_checkpointer_stop(gw_audit_checkpointer *ck, void (*done)(void *arg), void *arg);

/* The same, blocking (CLI, tests). Returns 1 written, 0 skipped, -1 failed (reason on
 * stderr). report (may be NULL) gets one line. */
int gw_audit_checkpoint_now(PGconn *db, const audit_signer *signer, FILE *report);

/*
 * Verifies the whole log in one snapshot against the trusted keys (npk keys of
 * AUDIT_PK_BYTES each). Writes a verdict to out: "audit verify: OK ..." or
 * "audit verify: FAILED at seq N: <reason>". Returns 0 valid, 1 invalid, -1 could not run.
 */
int gw_audit_verify_db(PGconn *db, const uint8_t (*pks)[AUDIT_PK_BYTES], size_t npk, FILE *out);

/* Verifies a JSONL export file (seekable) offline; keys as above, or when npk is 0 the
 * keys named in the export (reported, with a warning to compare their ids). */
int gw_audit_verify_file(const char *path, const uint8_t (*pks)[AUDIT_PK_BYTES], size_t npk,
                         FILE *out);

/* The same over an export already in memory (len bytes, need not be NUL-terminated);
 * name labels messages. Untrusted input is fine: this is the fuzzed entry point. */
int gw_audit_verify_export(const char *data, size_t len, const char *name,
                           const uint8_t (*pks)[AUDIT_PK_BYTES], size_t npk, FILE *out);

/*
 * The audit export, written by `caregate audit export` (blocking, to a file) and by the
 * DPO download (gw_dpo.c: asynchronous, into memory) alike, so `caregate audit verify
 * --file` accepts both. An export is a sequence of lines; each has a kind (header, key,
 * head, checkpoint, record) and some of these columns, in this order (also the CSV
 * header). IMPLEMENTATION-OF: AUD-5 (what an outsider needs is in the file).
 */
#define GW_AUDIT_EXPORT_FORMAT "caregate.audit.export.v1"

typedef enum {
    GW_AUDIT_X_KIND,
    GW_AUDIT_X_SEQ,
    GW_AUDIT_X_N,
    GW_AUDIT_X_TS,
    GW_AUDIT_X_EVENT,
    GW_AUDIT_X_ACTOR,
    GW_AUDIT_X_SUBJECT,
    GW_AUDIT_X_DETAILS,
    GW_AUDIT_X_PREV,
    GW_AUDIT_X_HASH,
    GW_AUDIT_X_KEYID,
    GW_AUDIT_X_SIG,
    GW_AUDIT_X_PK,
    GW_AUDIT_X_NCOLS
} gw_audit_xcol;

/*
 * Writes one export line as compact JSON plus "\n" through write (jansson's
 * json_dump_callback_t: 0 to go on, -1 to stop): "type" is cols[GW_AUDIT_X_KIND], then
 * every other non-NULL column under its name, seq and n as numbers. cols is borrowed.
 * Returns 0, or -1 when write failed.
 */
int gw_audit_export_line(const char *const cols[GW_AUDIT_X_NCOLS], json_dump_callback_t write,
                         void *data);

/*
 * Fills cols (all other entries NULL) from row i of a result whose columns are those of a
 * record (seq, ts, event, actor, subject, details, prev_hash hex, hash hex) or of a
 * checkpoint (n, seq, ts, hash hex, key_id, signature hex). The values are borrowed from
 * res and live as long as it does.
 */
void gw_audit_export_record(const PGresult *res, int i, const char *cols[GW_AUDIT_X_NCOLS]);
void gw_audit_export_checkpoint(const PGresult *res, int i, const char *cols[GW_AUDIT_X_NCOLS]);

int gw_audit_cli_main(const gw_config *cfg, int argc, char **argv);

#endif
