/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gw_keys: the key files. Two separate files, both mode 0600, both outside the database:
 *
 *   master_key_file   versioned master keys (key-encryption keys), one line per version:
 *                       v<N> <base64 of 32 bytes>
 *                     '#' starts a comment line. The highest version wraps new data keys;
 *                     older versions stay in the file until rotation has re-wrapped every
 *                     data key of theirs (`caregate keys status` shows the counts).
 *   audit_key_file    the Ed25519 seed that signs audit checkpoints:
 *                       ed25519 <base64 of the 32-byte seed>
 *                     plus "<audit_key_file>.pub" (mode 0644) with the public key, for the
 *                     DPO and for outside verifiers of exports.
 *
 * Loading refuses a file that group or others may access in any way (mode & 077), that
 * is not a regular file or that is a symlink, naming the path and the mode. Nothing here
 * ever writes a key to a log or to stdout; `keys status` prints versions and key ids.
 * `caregate keys init` creates missing files and never overwrites an existing one.
 *
 * Key material read from files is held in stack buffers only while parsing and wiped
 * before returning; it lives on in seal_keyring / audit_signer (opaque, wiped on free).
 */
#ifndef GW_KEYS_H
#define GW_KEYS_H

#include "audit.h"
#include "gw_config.h"
#include "seal.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Loads cfg->master_key_file into a new keyring (*out; caller frees with
 * seal_keyring_free). Returns 0, or -1 with a message in err (*out is NULL): missing or
 * unreadable file, unsafe mode, malformed line (with line number), duplicate version,
 * no key at all.
 */
int gw_keys_load(const gw_config *cfg, seal_keyring **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Same for cfg->audit_key_file: a new audit_signer in *out (caller frees). */
int gw_keys_load_audit_signer(const gw_config *cfg, audit_signer **out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * The audit checkpoint public key, for verifying: from "<audit_key_file>.pub" when it
 * exists (readable without the secret), else derived from audit_key_file. Returns 0 or
 * -1 with err.
 */
int gw_keys_audit_public(const gw_config *cfg, uint8_t pk[AUDIT_PK_BYTES], char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Reads a public key file ("ed25519 <base64 32 bytes>", '#' comments). 0 or -1 with err. */
int gw_keys_read_public(const char *path, uint8_t pk[AUDIT_PK_BYTES], char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * Parses master key file text (len bytes, need not be NUL-terminated) into kr.
 * Exposed for tests and for the file loader. Returns 0 or -1 with err.
 */
int gw_keys_parse_master(const char *text, size_t len, seal_keyring *kr, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * Creates the missing key files: a master key file with version 1 and an audit key file
 * (+ .pub). Existing files are checked (mode, format) and left untouched. Creation goes
 * through a temporary file and link(2), so a crash leaves no half-written key file and a
 * racing second `keys init` cannot overwrite the first's key. report (may be NULL) gets
 * one line per file. Returns 0 or -1 with err.
 */
int gw_keys_init(const gw_config *cfg, FILE *report, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
