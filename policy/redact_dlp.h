/* SPDX-License-Identifier: Apache-2.0 */
/*
 * redact_dlp: outbound data-loss prevention for staff messages. Finds contact
 * details that are not the clinic's official ones: phone numbers and e-mail
 * addresses (taken from redact_scan's findings, so detection is the same as
 * for redaction), messenger handles ("@anna_privat") and links to messenger
 * or social-media profiles (wa.me/…, t.me/…, instagram.com/…). Anything on
 * the official contact list is allowed.
 *
 * It decides nothing and allocates nothing: decide.c turns hits into a block.
 * The official list is data from the policy file (policy/rules), passed in.
 */
#ifndef REDACT_DLP_H
#define REDACT_DLP_H

#include "redact.h"

#include <stddef.h>

typedef enum {
    REDACT_DLP_PHONE = 0,
    REDACT_DLP_EMAIL,
    REDACT_DLP_HANDLE,       /* "@name" */
    REDACT_DLP_PROFILE_LINK, /* wa.me/…, instagram.com/…, facebook.com/… */
} redact_dlp_kind;

/* One contact detail not on the official list; byte offsets, end exclusive. */
typedef struct {
    size_t start;
    size_t end;
    redact_dlp_kind kind;
} redact_dlp_hit;

/* Scans a staff message for unofficial contact details.
 *  text/len:    the message (UTF-8), borrowed.
 *  f/n_f:       findings of redact_scan over the same text (PHONE and EMAIL
 *               ones are used), borrowed.
 *  official:    n_official NUL-terminated official contacts, borrowed; each is
 *               a phone ("+49 30 1234567"), an e-mail, a handle ("@praxis")
 *               or a profile link ("https://instagram.com/praxis").
 *  out/max:     caller array for hits, sorted by start; *n_out gets the count.
 * Returns REDACT_OK, REDACT_E_INVAL (NULL arguments) or REDACT_E_NOSPACE
 * (more hits than max: out holds the first max, which is enough to block). */
REDACT_MUSTCHECK int redact_dlp_scan(const char *text, size_t len, const redact_finding *f,
                                     size_t n_f, const char *const *official, size_t n_official,
                                     redact_dlp_hit *out, size_t max, size_t *n_out);

/* Short name of a hit kind ("phone", "email", "handle", "profile_link"). */
const char *redact_dlp_kind_name(redact_dlp_kind kind);

#endif
