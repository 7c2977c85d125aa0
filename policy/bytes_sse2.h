/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal to policy/: the classes of 16 bytes at once with SSE2 (present on
 * every x86-64), shared by the redaction tokenizer (redact.c) and the
 * language guess (langid.c), which both read text through bit masks. Only
 * static inline functions, no state. Include it only where __SSE2__ is
 * defined; each includer keeps its scalar fallback.
 */
#ifndef BYTES_SSE2_H
#define BYTES_SSE2_H

#include <emmintrin.h>

/* The bytes of v in [lo, lo + count), count at most 0x80: 0xff in each such
 * byte, 0 elsewhere. An unsigned range check as one signed compare: adding
 * 0x80 - lo moves [lo, lo + count) to the bottom of the signed range. */
static inline __m128i bytes_in_range(__m128i v, unsigned lo, unsigned count)
{
    return _mm_cmplt_epi8(_mm_add_epi8(v, _mm_set1_epi8((char)(0x80 - lo))),
                          _mm_set1_epi8((char)(0x80 + count)));
}

/* ASCII digits. */
static inline __m128i bytes_digits(__m128i v)
{
    return bytes_in_range(v, '0', 10);
}

/* ASCII letters of either case. Or-ing 0x20 folds upper onto lower case and
 * moves no other byte into 'a'..'z'. */
static inline __m128i bytes_letters(__m128i v)
{
    return bytes_in_range(_mm_or_si128(v, _mm_set1_epi8(0x20)), 'a', 26);
}

#endif
