/* SPDX-License-Identifier: Apache-2.0 */
/*
 * langid: guesses which of the four patient languages (de, en, pl, hu) a chat
 * message is written in, so the redaction engine can use that language's lists.
 *
 * Why: a message from WhatsApp, Messenger or Instagram arrives without a
 * language, and a conversation's stored language is only the language of its
 * automatic replies. Scanning a Polish message with the German lists misses most
 * Polish health words; scanning with all lists at once (REDACT_LANG_AUTO) finds
 * them but lets ordinary words of one language fire as terms of another
 * (German "als", "zum" as the abbreviations ALS and ZUM).
 *
 * How: frequent function words that belong to one language only (und, the, się,
 * hogy ...) and letters that belong to one language only (ą ę ł ś ż ź ć ń for
 * Polish, ő ű for Hungarian, ä ß for German) each count one point for their
 * language. The best language wins when it has at least LANGID_MIN points and
 * LANGID_MARGIN more than the runner-up; otherwise the answer is
 * REDACT_LANG_AUTO ("not sure"), and the caller scans with all lists, which is
 * the safe side for redaction.
 *
 * No I/O, no allocation; linear in the input: one pass over 64-byte windows of
 * bit masks (SSE2 where the CPU has it), one compare with one slot of a perfect
 * hash per word, and no branch per byte or per word that depends on the text's
 * letters (langid.c says how). The first call fills static lookup tables once
 * (pthread_once); after that the function only reads them, so it is safe to
 * call from several threads.
 */
#ifndef LANGID_H
#define LANGID_H

#include <stddef.h>

#include "redact.h"

#define LANGID_MIN 2    /* points the winner needs */
#define LANGID_MARGIN 2 /* points it needs over the runner-up */

/* Points per language for text, in the order de, en, pl, hu (scores may be NULL).
 * Returns the guessed language, or REDACT_LANG_AUTO when the text is too short or
 * too mixed to tell. text need not be NUL-terminated; invalid UTF-8 is skipped. */
redact_lang langid_guess(const char *text, size_t len, unsigned scores[4]);

/* For tests: the i-th word of the table and its language (0 de, 1 en, 2 pl, 3 hu), or
 * NULL past the end. */
const char *langid__word(size_t i, int *lang);

#endif
