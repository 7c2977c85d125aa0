/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit: the tamper-evident audit log's record format, hash chain, signed checkpoints
 * and the verifier that checks them. Pure: no database, no files, no clock (timestamps
 * come in as text; audit_ts_format turns a time the caller passes into that text).
 *
 * Records are appended inside PostgreSQL by the SQL function audit_append (gateway/sql/
 * 002_audit.sql), which computes the same hash as audit_record_hash below; the two must
 * stay byte-for-byte identical (tests/unit/policy/test_audit.c pins a known vector, and
 * the integration tests recompute SQL-made hashes in C).
 *
 * Canonical bytes of record n (format v1), every field as "<decimal byte length>:<bytes>\n":
 *   "caregate.audit.v1\n" || F(seq) || F(ts) || F(event) || F(actor) || F(subject) || F(details)
 *   hash_n = SHA-256(hash_{n-1} || canonical bytes), hash_0 = 32 zero bytes.
 * seq is decimal without sign or leading zeros; ts is "YYYY-MM-DDTHH:MM:SS.ffffffZ" (UTC,
 * always six fraction digits); details is the exact JSON text stored (jsonb::text at
 * append time) and is hashed as stored, never re-serialised.
 *
 * Checkpoint k (signed by the gateway with Ed25519):
 *   "caregate.audit.checkpoint.v1\n" || F(n) || F(seq) || F(ts) || F(hex(hash))
 * where hash is the hash of record seq. key_id = first 8 bytes of SHA-256(public key), hex.
 *
 * Audit records carry ids, categories, counts, rule ids and the policy version only:
 * never message text, names, e-mail addresses or phone numbers (docs/audit.md).
 */
#ifndef CAREGATE_AUDIT_H
#define CAREGATE_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#define AUDIT_HASH_BYTES 32u
#define AUDIT_SIG_BYTES 64u
#define AUDIT_PK_BYTES 32u
#define AUDIT_SEED_BYTES 32u
#define AUDIT_TS_LEN 27u     /* "2026-01-31T12:34:56.123456Z" */
#define AUDIT_KEY_ID_LEN 16u /* hex characters, without the NUL */

typedef enum {
    AUDIT_OK = 0,
    AUDIT_ERR_ARG = -1,        /* NULL, malformed field (bad ts, bad event name), too long */
    AUDIT_ERR_NOSPACE = -2,    /* output buffer too small */
    AUDIT_ERR_HASH = -3,       /* a record's stored hash is not the hash of its content */
    AUDIT_ERR_CHAIN = -4,      /* prev_hash differs from the previous record's hash */
    AUDIT_ERR_GAP = -5,        /* a sequence number is missing */
    AUDIT_ERR_ORDER = -6,      /* sequence numbers go backwards or repeat */
    AUDIT_ERR_SIGNATURE = -7,  /* a checkpoint signature does not verify / unknown key */
    AUDIT_ERR_CHECKPOINT = -8, /* a checkpoint names a record that is missing or different */
    AUDIT_ERR_TRUNCATED = -9,  /* the log ends before what checkpoints or the head promise */
    AUDIT_ERR_INIT = -10,      /* libsodium failed to initialise */
} audit_status;

/* Static English name of a status ("hash mismatch", "gap", ...). */
const char *audit_strerror(int status);

/* One record as stored. Strings are borrowed, NUL-terminated UTF-8. */
typedef struct {
    int64_t seq; /* 1, 2, 3, ... */
    const char *ts;
    const char *event;
    const char *actor;
    const char *subject;
    const char *details;
    uint8_t prev_hash[AUDIT_HASH_BYTES];
    uint8_t hash[AUDIT_HASH_BYTES];
} audit_record;

/* One checkpoint as stored. */
typedef struct {
    int64_t n;   /* 1, 2, 3, ... without gaps */
    int64_t seq; /* the record it covers */
    const char *ts;
    uint8_t hash[AUDIT_HASH_BYTES]; /* that record's hash */
    uint8_t signature[AUDIT_SIG_BYTES];
    char key_id[AUDIT_KEY_ID_LEN + 1];
} audit_checkpoint;

/*
 * Formats unix time (microseconds since the epoch, UTC) as the canonical ts text into
 * out (at least AUDIT_TS_LEN + 1 bytes). Returns AUDIT_OK or AUDIT_ERR_ARG (years
 * outside 1970..9999).
 */
int audit_ts_format(int64_t unix_us, char *out, size_t cap);

/* Is s exactly a canonical ts (shape only, plus digit ranges)? Returns 1 or 0. */
int audit_ts_valid(const char *s);

/* Is s a well-formed event name: lower-case words [a-z][a-z0-9_]* joined by dots, at
 * most 64 bytes ("area.verb" by convention, docs/audit.md)? Returns 1 or 0. The SQL
 * table has the same CHECK. */
int audit_event_valid(const char *s);

/*
 * Canonical bytes of r (without prev_hash) into out; *len receives the length needed
 * even when cap is too small (then AUDIT_ERR_NOSPACE). For tests and tooling.
 */
int audit_record_encode(const audit_record *r, uint8_t *out, size_t cap, size_t *len);

/* Computes hash_n of r from prev (r->prev_hash is ignored) into out. AUDIT_OK or ARG. */
int audit_record_hash(const audit_record *r, const uint8_t prev[AUDIT_HASH_BYTES],
                      uint8_t out[AUDIT_HASH_BYTES]);

/* Bytes a checkpoint signs (see file comment); *len gets the needed length. */
int audit_checkpoint_message(const audit_checkpoint *cp, uint8_t *out, size_t cap, size_t *len);

/* key_id of a public key: 16 lower-case hex characters + NUL into out (17 bytes). */
void audit_key_id(const uint8_t pk[AUDIT_PK_BYTES], char out[AUDIT_KEY_ID_LEN + 1]);

/* ---- signing ------------------------------------------------------------------------- */

/* The Ed25519 checkpoint signing key. Opaque; mlock'd; wiped on free. */
typedef struct audit_signer audit_signer;

/* Creates a signer from a 32-byte seed (copied: the caller wipes its own). New
 * reference in *out. Returns AUDIT_OK, AUDIT_ERR_ARG or AUDIT_ERR_INIT. */
int audit_signer_new(const uint8_t seed[AUDIT_SEED_BYTES], audit_signer **out)
    __attribute__((warn_unused_result));

/* Wipes and frees. NULL is fine. */
void audit_signer_free(audit_signer *s);

/* The public key (32 bytes) and its key id (borrowed, lives as long as s). */
void audit_signer_public_key(const audit_signer *s, uint8_t pk[AUDIT_PK_BYTES]);
const char *audit_signer_key_id(const audit_signer *s);

/* Signs cp (its n, seq, ts, hash) into cp->signature and sets cp->key_id. */
int audit_checkpoint_sign(const audit_signer *s, audit_checkpoint *cp)
    __attribute__((warn_unused_result));

/* Verifies cp->signature with pk. Returns AUDIT_OK or AUDIT_ERR_SIGNATURE. */
int audit_checkpoint_verify(const uint8_t pk[AUDIT_PK_BYTES], const audit_checkpoint *cp);

/* ---- verifying a log ------------------------------------------------------------------ */

/*
 * Streaming verifier. Feed it all checkpoints (ascending n), then all records (in the
 * order stored: ascending seq is expected, anything else is reported), then finish.
 * The first problem is kept: its seq, status and a one-line reason naming the seq (and
 * checkpoint n). Nothing after the first problem changes the verdict.
 *
 * Modes: AUDIT_VERIFY_FULL expects the whole log from seq 1 (the database); with
 * AUDIT_VERIFY_PARTIAL (an export of a time range) the first record's prev_hash is taken
 * as given, checkpoints outside the exported records are not matched against records,
 * and checkpoint announcements outside the range are not required.
 */
typedef struct audit_verifier audit_verifier;

typedef enum { AUDIT_VERIFY_FULL = 0, AUDIT_VERIFY_PARTIAL = 1 } audit_verify_mode;

/* New verifier (caller frees). No trusted keys yet. */
int audit_verifier_new(audit_verify_mode mode, audit_verifier **out)
    __attribute__((warn_unused_result));
void audit_verifier_free(audit_verifier *v);

/* Trusts public key pk for checkpoint signatures (copied). Several keys may be trusted
 * (the signing key may be rotated); a checkpoint whose key_id is not trusted fails. */
int audit_verifier_trust(audit_verifier *v, const uint8_t pk[AUDIT_PK_BYTES]);

/* Adds one checkpoint (copied). Returns the verdict so far (AUDIT_OK or the first error). */
int audit_verifier_checkpoint(audit_verifier *v, const audit_checkpoint *cp);

/* Adds one record (copied where needed). Returns the verdict so far. */
int audit_verifier_record(audit_verifier *v, const audit_record *r);

/*
 * Ends the stream. head_seq / head_hash: what the log's head row says (FULL mode;
 * head_hash NULL to skip, e.g. for exports). Returns the final verdict.
 */
int audit_verifier_finish(audit_verifier *v, int64_t head_seq, const uint8_t *head_hash);

/* The verdict details: first bad seq (0 when none or not tied to a record), reason text
 * (borrowed, "" when all is well), and counts of what was verified. */
int64_t audit_verifier_bad_seq(const audit_verifier *v);
const char *audit_verifier_reason(const audit_verifier *v);
int64_t audit_verifier_records(const audit_verifier *v);
int64_t audit_verifier_checkpoints(const audit_verifier *v);
/* Highest seq covered by a verified checkpoint (0 when none). */
int64_t audit_verifier_covered_seq(const audit_verifier *v);

#endif
