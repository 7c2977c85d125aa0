/* SPDX-License-Identifier: Apache-2.0 */
/*
 * redact: finds health data and personal identifiers in one chat message and
 * replaces them with category placeholders ("[MEDICATION]").
 *
 * What it does: one left-to-right pass over UTF-8 text that combines
 *  - check-digit validators for identifiers (DE KVNR, RVNR, Steuer-ID; AT SVNR;
 *    PL PESEL, NIP; HU TAJ, personal id, tax id; UK NHS; IBAN of every country;
 *    US SSN shape), phone numbers, e-mail, dates of birth, postal addresses, ICD-10;
 *  - one dictionary automaton (compiled at build time from policy/dict/) for
 *    conditions, medications, treatments, first names and context words, matched
 *    with Unicode-aware word boundaries and case/diacritic folding, original byte
 *    offsets kept;
 *  - names from context (greetings, "mein Name ist", titles, sign-offs).
 * Work per byte is bounded by a constant (the longest dictionary term and fixed
 * look-ahead windows), so the worst case is linear in the input.
 *
 * What it does not do: no I/O, no allocation per call (findings go to a caller
 * array), no mutable global state; the engine is immutable after creation and may
 * be shared between threads. Policy decisions (allow/redact/block) live in
 * decide.h, outbound contact-detail checks in redact_dlp.h.
 */
#ifndef REDACT_H
#define REDACT_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define REDACT_MUSTCHECK __attribute__((warn_unused_result))
#else
#define REDACT_MUSTCHECK
#endif

/* Status codes: 0 ok, negatives errors. */
typedef enum {
    REDACT_OK = 0,
    REDACT_E_INVAL = -1,   /* NULL pointer, bad language, unsorted findings */
    REDACT_E_NOSPACE = -2, /* caller buffer too small (see each function) */
    REDACT_E_NOMEM = -3    /* engine allocation failed */
} redact_status;

/* Finding categories. Order is the merge priority: lower value wins when two
 * overlapping findings are joined into one span. */
typedef enum {
    REDACT_NATIONAL_ID = 0,
    REDACT_HEALTH_ID,
    REDACT_IBAN,
    REDACT_EMAIL,
    REDACT_PHONE,
    REDACT_DOB,
    REDACT_PERSON,
    REDACT_ADDRESS,
    REDACT_CONDITION,
    REDACT_MEDICATION,
    REDACT_TREATMENT,
    REDACT_CAT__COUNT
} redact_category;

/* Message language; AUTO enables every language's identifiers and terms. */
typedef enum {
    REDACT_LANG_AUTO = 0,
    REDACT_LANG_DE,
    REDACT_LANG_EN,
    REDACT_LANG_PL,
    REDACT_LANG_HU
} redact_lang;

/* One finding: byte offsets into the scanned text, end exclusive. rule_id names
 * the rule that fired (redact_rule_name) and is what audit records carry. */
typedef struct {
    size_t start;
    size_t end;
    redact_category cat;
    uint16_t rule_id;
} redact_finding;

typedef struct redact_engine redact_engine;

/* Upper-case category name as in protocol-v1.md ("PERSON"), or "UNKNOWN".
 * Returns a static string. */
const char *redact_category_name(redact_category cat);

/* Stable short rule name for a rule_id ("id.pesel", "dict.condition"), or
 * "unknown". Returns a static string. */
const char *redact_rule_name(uint16_t rule_id);

/* Parses "de", "en", "pl", "hu", "auto" (also NULL or "" = auto).
 * Returns REDACT_OK or REDACT_E_INVAL (then *out is AUTO). */
REDACT_MUSTCHECK int redact_lang_parse(const char *s, redact_lang *out);

/* Creates the engine over the compiled tables. Returns a new handle the caller
 * frees with redact_engine_free, or NULL when out of memory. The handle is
 * immutable and may be used from several threads at once. */
REDACT_MUSTCHECK redact_engine *redact_engine_new(void);

/* Frees an engine; NULL is accepted. */
void redact_engine_free(redact_engine *eng);

/* Scans text[0, len) (UTF-8; invalid bytes are tolerated as non-letters) and
 * writes findings to out[0, max), sorted by start, non-overlapping, non-empty.
 * *n_out receives the count. Findings never exceed len, so max >= len (or
 * max >= 1 for len == 0) always suffices; with a smaller array the scan fails
 * closed: the last finding is widened to the end of the text and
 * REDACT_E_NOSPACE is returned (the findings are still usable for redaction).
 * Returns REDACT_OK, REDACT_E_INVAL (NULL arguments, bad lang) or
 * REDACT_E_NOSPACE. Borrows everything; allocates nothing. */
REDACT_MUSTCHECK int redact_scan(const redact_engine *eng, const char *text, size_t len,
                                 redact_lang lang, redact_finding *out, size_t max, size_t *n_out);

/* Number of bytes redact_apply writes for these findings (no terminator). */
size_t redact_apply_size(size_t len, const redact_finding *f, size_t n);

/* Writes text with every finding replaced by "[CATEGORY]" into out[0, out_cap)
 * and NUL-terminates it; *out_len receives the length without terminator.
 * Findings must be sorted, non-overlapping and within len (as redact_scan makes
 * them). out_cap must be at least redact_apply_size(...) + 1.
 * Returns REDACT_OK, REDACT_E_INVAL or REDACT_E_NOSPACE (out untouched then). */
REDACT_MUSTCHECK int redact_apply(const char *text, size_t len, const redact_finding *f, size_t n,
                                  char *out, size_t out_cap, size_t *out_len);

#endif
