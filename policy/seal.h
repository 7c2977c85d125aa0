/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seal: envelope encryption of stored message text (libsodium XChaCha20-Poly1305).
 *
 * Two key levels. A master key (key-encryption key) lives outside the database in a
 * file loaded by gateway/gw_keys.c into a seal_keyring, which holds every version still
 * needed (the newest is "current" and wraps new data keys; older ones only unwrap until
 * rotation has re-wrapped their data keys). Each conversation has its own random 32-byte
 * data key, stored only wrapped (data_key.wrapped, data_key.key_version). Destroying the
 * wrapped data key makes the conversation's messages unreadable (crypto-shredding).
 *
 * Associated data binds every ciphertext to where it belongs:
 *   wrapped data key:  "caregate.dk.v1"  || conversation id (16) || key version (u32 BE)
 *   message body:      "caregate.msg.v1" || conversation id (16) || message id (16)
 * so a wrapped key moved to another conversation, a key claimed to be another version,
 * or a message body moved to another row or conversation fails to open.
 *
 * Byte layouts: wrapped key = nonce (24) || ciphertext (32) || tag (16) = 72 bytes;
 * sealed message = nonce (24) || ciphertext (len) || tag (16) = seal_sealed_len(len).
 *
 * Pure: no files, no clock. Random nonces and keys come from libsodium's randombytes.
 * Key material lives only in the opaque handles below, locked in RAM where the system
 * allows (sodium_mlock, best effort) and wiped with sodium_memzero when freed.
 * Every function calls seal_init itself; calling it early just surfaces failure early.
 */
#ifndef CAREGATE_SEAL_H
#define CAREGATE_SEAL_H

#include <stddef.h>
#include <stdint.h>

#define SEAL_KEY_BYTES 32u
#define SEAL_ID_BYTES 16u /* conversation and message ids: the 16 bytes of their uuid */
#define SEAL_NONCE_BYTES 24u
#define SEAL_TAG_BYTES 16u
#define SEAL_WRAPPED_BYTES (SEAL_NONCE_BYTES + SEAL_KEY_BYTES + SEAL_TAG_BYTES) /* 72 */
#define SEAL_OVERHEAD (SEAL_NONCE_BYTES + SEAL_TAG_BYTES)                       /* 40 */
#define SEAL_MAX_VERSION 0x7fffffffu /* versions fit data_key.key_version (integer) */

typedef enum {
    SEAL_OK = 0,
    SEAL_ERR_ARG = -1,     /* NULL where not allowed, version 0 or out of range, bad length */
    SEAL_ERR_NOSPACE = -2, /* output buffer too small: nothing written */
    SEAL_ERR_AUTH = -3,    /* does not authenticate: tampered, wrong key, wrong ids/version */
    SEAL_ERR_NOKEY = -4,   /* the keyring holds no key of that version (or is empty) */
    SEAL_ERR_EXISTS = -5,  /* keyring already holds that version */
    SEAL_ERR_INIT = -6,    /* sodium_init failed (no entropy source): refuse to run */
} seal_status;

/* Returns a static English description of a seal_status ("authentication failed"). */
const char *seal_strerror(int status);

/* Initialises libsodium once (thread-safe, idempotent). Returns SEAL_OK or SEAL_ERR_INIT. */
int seal_init(void) __attribute__((warn_unused_result));

/* ---- master keys ------------------------------------------------------------------ */

/* Versioned master keys. Opaque: the keys never leave this module except wrapped. */
typedef struct seal_keyring seal_keyring;

/* Creates an empty keyring in *out (new reference: free with seal_keyring_free).
 * Returns SEAL_OK, SEAL_ERR_ARG or SEAL_ERR_INIT. */
int seal_keyring_new(seal_keyring **out) __attribute__((warn_unused_result));

/* Wipes every key and frees the keyring. NULL is fine. */
void seal_keyring_free(seal_keyring *kr);

/*
 * Adds master key `version` (1..SEAL_MAX_VERSION), copying the 32 bytes of key; the
 * caller still owns (and should wipe) its copy. The highest version added becomes the
 * current one. Returns SEAL_OK, SEAL_ERR_ARG or SEAL_ERR_EXISTS.
 */
int seal_keyring_add(seal_keyring *kr, uint32_t version, const uint8_t key[SEAL_KEY_BYTES])
    __attribute__((warn_unused_result));

/* The version new data keys are wrapped with: the highest added; 0 when empty. */
uint32_t seal_keyring_current(const seal_keyring *kr);

/* Number of versions held, and the i-th version in ascending order (0 past the end),
 * for listing (`caregate keys status`). */
size_t seal_keyring_count(const seal_keyring *kr);
uint32_t seal_keyring_version_at(const seal_keyring *kr, size_t i);

/* Does the keyring hold `version`? Returns 1 or 0. */
int seal_keyring_has(const seal_keyring *kr, uint32_t version);

/* ---- data keys ---------------------------------------------------------------------- */

/* One conversation's data key. Opaque; wiped on free. */
typedef struct seal_datakey seal_datakey;

/* Creates a fresh random data key in *out (new reference; free with seal_datakey_free).
 * Returns SEAL_OK, SEAL_ERR_ARG or SEAL_ERR_INIT. */
int seal_datakey_new(seal_datakey **out) __attribute__((warn_unused_result));

/* Wipes and frees. NULL is fine. */
void seal_datakey_free(seal_datakey *dk);

/*
 * Wraps dk under the keyring's current master key for conversation conv_id (16 bytes).
 * Writes SEAL_WRAPPED_BYTES to out (cap bytes available), the length to *len and the
 * master key version used to *version (store both: data_key.wrapped, .key_version).
 * Returns SEAL_OK, SEAL_ERR_ARG, SEAL_ERR_NOSPACE or SEAL_ERR_NOKEY (empty keyring).
 */
int seal_datakey_wrap(const seal_keyring *kr, const seal_datakey *dk, const uint8_t *conv_id,
                      uint8_t *out, size_t cap, size_t *len, uint32_t *version)
    __attribute__((warn_unused_result));

/*
 * Unwraps a stored data key of conversation conv_id wrapped with master key `version`.
 * On success *out receives a new data key (caller frees); on failure *out is NULL.
 * Returns SEAL_OK, SEAL_ERR_ARG (wrong length), SEAL_ERR_NOKEY (version not loaded) or
 * SEAL_ERR_AUTH (tampered, wrong master key, other conversation or other version).
 */
int seal_datakey_unwrap(const seal_keyring *kr, uint32_t version, const uint8_t *conv_id,
                        const uint8_t *wrapped, size_t len, seal_datakey **out)
    __attribute__((warn_unused_result));

/*
 * Key rotation step for one conversation: unwraps a data key stored under master key
 * `version` and wraps it again under the current version, without the data key ever
 * leaving this module. Writes the new wrapped key (SEAL_WRAPPED_BYTES) to out and the
 * version used to *new_version. When `version` already is the current one, the key is
 * still re-wrapped (fresh nonce), which keeps the caller's loop simple.
 * Returns SEAL_OK or any error of seal_datakey_unwrap / seal_datakey_wrap; on error
 * nothing usable is in out.
 */
int seal_datakey_rewrap(const seal_keyring *kr, uint32_t version, const uint8_t *conv_id,
                        const uint8_t *wrapped, size_t len, uint8_t *out, size_t cap,
                        size_t *outlen, uint32_t *new_version) __attribute__((warn_unused_result));

/* ---- messages ----------------------------------------------------------------------- */

/* Bytes seal_message_seal writes for len bytes of text: len + SEAL_OVERHEAD (SIZE_MAX
 * if that would overflow, which no buffer can hold). */
size_t seal_sealed_len(size_t len);

/* Plain text bytes held in a sealed body of sealed_len bytes (0 when too short). */
size_t seal_opened_len(size_t sealed_len);

/*
 * Encrypts len bytes of text for message msg_id in conversation conv_id (16 bytes each)
 * with a fresh random nonce. Writes nonce || ciphertext || tag to out (cap bytes
 * available, at least seal_sealed_len(len)) and the length to *outlen.
 * text may be NULL when len is 0. Returns SEAL_OK, SEAL_ERR_ARG or SEAL_ERR_NOSPACE.
 */
int seal_message_seal(const seal_datakey *dk, const uint8_t *conv_id, const uint8_t *msg_id,
                      const char *text, size_t len, uint8_t *out, size_t cap, size_t *outlen)
    __attribute__((warn_unused_result));

/*
 * Decrypts a sealed body (in, inlen bytes: arbitrary, untrusted bytes are safe) of
 * message msg_id in conversation conv_id into out (cap bytes available, at least
 * seal_opened_len(inlen)); *outlen receives the text length. When cap has room, a NUL
 * is written after the text for convenience (the text itself may contain NULs; the
 * caller checks UTF-8). On failure nothing readable is left in out (it is wiped).
 * Returns SEAL_OK, SEAL_ERR_ARG (too short for a body), SEAL_ERR_NOSPACE or SEAL_ERR_AUTH.
 */
int seal_message_open(const seal_datakey *dk, const uint8_t *conv_id, const uint8_t *msg_id,
                      const uint8_t *in, size_t inlen, char *out, size_t cap, size_t *outlen)
    __attribute__((warn_unused_result));

#endif
