/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gw_bridgekey: the bridges' own 32-byte key (config meta_bridge_key_file, default
 * state_dir/bridge.key, mode 0600) and what is derived from it with crypto_kdf:
 *   - a hashing key for platform user ids (contact.platform_hash) and platform message
 *     ids (webhook de-duplication, outbox correlation): keyed BLAKE2b-256, so a database
 *     dump alone does not reveal phone numbers, PSIDs or wamids;
 *   - a sealing key (XChaCha20-Poly1305) for the reply address, the contact's display
 *     data and queued Send API bodies, each bound by associated data to its row id.
 * It is separate from the master key of policy/seal (which protects message text per
 * conversation); see docs/bridges.md for why and for the erasure consequences.
 *
 * The key file is created by `caregate channel add` when missing. Loading never creates
 * it (a gateway that cannot find it refuses bridge traffic rather than forking identities).
 */
#ifndef GW_BRIDGEKEY_H
#define GW_BRIDGEKEY_H

#include <stddef.h>
#include <stdint.h>

typedef struct gw_bridgekey gw_bridgekey;

#define GW_BRIDGEKEY_HASH_BYTES 32u
#define GW_BRIDGEKEY_SEAL_OVERHEAD 40u /* nonce 24 + tag 16 */

/* Loads path (create != 0: creates a fresh random key with mode 0600 when missing).
 * Returns a new handle or NULL, writing the reason (no key bytes) into err. */
gw_bridgekey *gw_bridgekey_load(const char *path, int create, char *err, size_t errlen);

/* Wipes and frees. NULL is fine. */
void gw_bridgekey_free(gw_bridgekey *k);

/* Keyed hash of an identifier in a domain ("wa-user", "fb-msg"…): out gets 32 bytes. */
void gw_bridgekey_hash(const gw_bridgekey *k, const char *domain, const char *id, size_t id_len,
                       uint8_t out[GW_BRIDGEKEY_HASH_BYTES]);

/* Seals len bytes bound to aad (e.g. "addr:" || conversation id). Returns a new malloc'd
 * buffer of len + GW_BRIDGEKEY_SEAL_OVERHEAD bytes (*outlen), never NULL. */
uint8_t *gw_bridgekey_seal(const gw_bridgekey *k, const char *aad, const void *in, size_t len,
                           size_t *outlen);

/* Opens a sealed buffer; returns a new malloc'd NUL-terminated plaintext (*outlen bytes
 * before the NUL) or NULL when it does not authenticate. Caller wipes and frees. */
char *gw_bridgekey_open(const gw_bridgekey *k, const char *aad, const uint8_t *in, size_t len,
                        size_t *outlen);

#endif
