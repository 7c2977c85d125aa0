/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gw_totp: the optional second factor for staff logins. RFC 6238 TOTP with HMAC-SHA1
 * (what authenticator apps use by default), 30-second steps, 6 digits, accepting the
 * previous and next step for clock skew. The 20-byte secret is stored in staff.totp_secret
 * sealed with the master key (envelope: a fresh data key wrapped by the master key with
 * the staff id as associated data, and the secret sealed under it), so a database copy
 * alone cannot produce codes. `caregate user totp --email E` enables it and prints the
 * otpauth:// URI once.
 *
 * Not here: the login flow (gw_server.c) and throttling of failures (login_throttle,
 * also gw_server.c). No replay cache: a code may be used again within its window.
 */
#ifndef GW_TOTP_H
#define GW_TOTP_H

#include "gw_config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef struct seal_keyring seal_keyring;

#define GW_TOTP_SECRET_BYTES 20u

/* The 6-digit code of step `counter` (RFC 4226 HOTP). */
uint32_t gw_totp_hotp(const uint8_t *key, size_t keylen, uint64_t counter);

/* Does code (6 ASCII digits) match at time now, ±1 step? */
bool gw_totp_verify(const uint8_t *key, size_t keylen, const char *code, time_t now);

/* Seals a secret for staff_id (UUID text) into a new buffer (*out, free()); 0 or -1. */
int gw_totp_seal(const seal_keyring *kr, const char *staff_id,
                 const uint8_t secret[GW_TOTP_SECRET_BYTES], uint8_t **out, size_t *outlen)
    __attribute__((warn_unused_result));

/* Opens a sealed secret (bytea text "\x…" as libpq returns it) of staff_id into secret;
 * 0 or -1 (wrong key, tampered, other staff member). */
int gw_totp_open(const seal_keyring *kr, const char *staff_id, const char *bytea_hex,
                 uint8_t secret[GW_TOTP_SECRET_BYTES]) __attribute__((warn_unused_result));

/* `caregate user totp --email E`: enables TOTP, prints the otpauth:// URI. Exit code. */
int gw_totp_cli_enable(const gw_config *cfg, const char *email);

#endif
