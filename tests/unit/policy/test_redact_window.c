/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The scan's per-call paths in redact.c: tokmap_load without a padded copy
 * (overlapping 16-byte loads that stay inside the text, a text under 16
 * bytes padded to one load), and redact_scan setting only the scan fields it
 * needs instead of clearing the whole struct. Texts are copied into buffers
 * of exactly their length, so a read past the end is an ASan error.
 *  - every window of every text of 0 to 130 bytes (and some longer) against
 *    the bits computed one byte at a time;
 *  - findings ending at the text's last byte, and a word with a two-byte
 *    letter across the 64-byte window boundary, for every text length
 *    around the window size;
 *  - each scan run right after a scan that leaves context words, a ring of
 *    tokens and findings on the stack, so a field left unset would show.
 * It includes redact.c for the static functions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../../policy/redact.c"
#include "redact_test.h"

#include <stdio.h>
#include <stdlib.h>

/* The window at base of s[0..n), one byte at a time (tokmap's contract). */
static void ref_load(const unsigned char *s, size_t n, size_t base, tokmap *m)
{
    uint64_t w = 0, d = 0, h = 0, st = 0, two = 0;
    for (size_t k = 0; k < 64 && base + k < n; k++) {
        unsigned char b = s[base + k];
        unsigned c = ascii_cls[b];
        uint64_t bit = (uint64_t)1 << k;
        /* a letter of U+00C0..U+017F as the fold table says, both its bytes,
         * when its second byte is in the window's first 63 */
        if (k <= 61 && base + k + 1 < n && b >= 0xC3 && b <= 0xC5) {
            uint32_t cp;
            char f[2];
            unsigned fc = 0;
            if (redact__utf8(s, base + k, n, &cp) == 2)
                (void)redact__fold(cp, f, &fc);
            if (fc & RF_WORD)
                two |= bit | bit << 1;
        }
        if (c & RF_WORD)
            w |= bit;
        if (c & RF_DIGIT)
            d |= bit;
        if (c & A_MB)
            h |= bit;
        if ((c & (RF_WORD | A_MB)) || b == '@')
            st |= bit;
    }
    const uint64_t last = (uint64_t)1 << 63;
    m->base = base;
    m->word = (w | two) & ~last;
    m->digit = d & ~last;
    m->more = (h & ~two) | last;
    m->start = st;
}

/* tokmap_load at every base of text[0..n), in a buffer of exactly n bytes. */
static void check_windows(const unsigned char *text, size_t n)
{
    unsigned char *buf = malloc(n ? n : 1);
    assert_non_null(buf);
    if (n)
        memcpy(buf, text, n);
    for (size_t base = 0; base < n; base++) {
        tokmap got = {.s = buf, .n = n}, want = {.s = buf, .n = n};
        tokmap_load(&got, base);
        ref_load(buf, n, base, &want);
        if (got.base != want.base || got.word != want.word || got.digit != want.digit ||
            got.more != want.more || got.start != want.start) {
            print_error("text of %zu bytes, window at %zu: word %016llx digit %016llx more "
                        "%016llx start %016llx, want %016llx %016llx %016llx %016llx\n",
                        n, base, (unsigned long long)got.word, (unsigned long long)got.digit,
                        (unsigned long long)got.more, (unsigned long long)got.start,
                        (unsigned long long)want.word, (unsigned long long)want.digit,
                        (unsigned long long)want.more, (unsigned long long)want.start);
            fail();
        }
    }
    free(buf);
}

/* Texts of 0 to 130 bytes, and some up to 200, from bytes that set each
 * mask (letters, digits, '@', bytes from 0x80) and bytes that set none. */
static void test_windows(void **state)
{
    (void)state;
    static const unsigned char alpha[] = {'a',  'Z',  '7',  '0',  ' ',  '@',  '.',
                                          '-',  '\n', 0xc3, 0xbc, 0xe2, 0x80, 0x99,
                                          0xff, 0x00, 0xc4, 0xc5, 0x97, 0xb7, 0xbf};
    unsigned char t[256];
    uint32_t r = 4242;
    for (int round = 0; round < 4; round++)
        for (size_t n = 0; n <= 200; n += n < 130 ? 1 : 7) {
            for (size_t k = 0; k < n; k++) {
                r = r * 1103515245u + 12345u;
                t[k] = round == 3 ? (unsigned char)(r >> 16) : alpha[(r >> 16) % sizeof alpha];
            }
            check_windows(t, n);
        }
}

/* Leaves the stack below the caller dirty with a scan that sets context
 * words, the token ring, a city and findings. */
static void dirty_scan(void)
{
    static const char dirty[] = "Tel. geb. KVNR Diagnose wohne in Rechnung Nr. 12 Herr Anna "
                                "Schmidt, Leeds LS6 2QN, Sohn Max, Migr\xc3\xa4ne, "
                                "ul. Długa 5, anna@example.org, 0171 1234567";
    redact_finding f[64];
    size_t n = 0;
    assert_int_equal(redact_scan(eng, dirty, sizeof dirty - 1, REDACT_LANG_AUTO, f, 64, &n),
                     REDACT_OK);
    assert_true(n > 3);
}

/* Scans text[0..n), copied into a buffer of exactly n bytes (a read past it
 * is an ASan error), after a dirty scan; returns the number of findings. */
static size_t scan_copy(const char *text, size_t n, redact_finding f[8])
{
    char *buf = malloc(n ? n : 1);
    assert_non_null(buf);
    memcpy(buf, text, n);
    dirty_scan();
    size_t got = 9;
    assert_int_equal(redact_scan(eng, buf, n, REDACT_LANG_AUTO, f, 8, &got), REDACT_OK);
    free(buf);
    return got;
}

/* Checks that text[0..n) has exactly one finding, [start, end) of category
 * cat. */
static void one_finding(const char *text, size_t n, size_t start, size_t end,
                        redact_category cat)
{
    redact_finding f[8];
    size_t got = scan_copy(text, n, f);
    if (got != 1 || f[0].start != start || f[0].end != end || f[0].cat != cat) {
        print_error("text of %zu bytes: %zu findings, first [%zu,%zu) category %d; want "
                    "[%zu,%zu) category %d\n",
                    n, got, got ? f[0].start : 0, got ? f[0].end : 0,
                    got ? (int)f[0].cat : -1, start, end, (int)cat);
        fail();
    }
}

/* A finding that ends at the text's last byte, for texts of 0 to 130
 * bytes: the term after a run of spaces and punctuation. */
static void test_finding_at_end(void **state)
{
    (void)state;
    static const struct {
        const char *term;
        redact_category cat;
    } terms[] = {{"Ibuprofen", REDACT_MEDICATION},
                 {"Migr\xc3\xa4ne", REDACT_CONDITION},
                 {"anna@example.org", REDACT_EMAIL}};
    char t[256];
    for (size_t k = 0; k < sizeof terms / sizeof *terms; k++) {
        size_t tl = strlen(terms[k].term);
        for (size_t n = tl; n <= 130; n++) {
            for (size_t i = 0; i < n - tl; i++)
                t[i] = " . ,;"[i % 5];
            memcpy(t + n - tl, terms[k].term, tl);
            one_finding(t, n, n - tl, n, terms[k].cat);
        }
    }
    /* Texts with nothing to find, 0 to 130 bytes of them. */
    for (size_t n = 0; n <= 130; n++) {
        for (size_t i = 0; i < n; i++)
            t[i] = "Hallo, ok. "[i % 11];
        redact_finding f[8];
        assert_int_equal(scan_copy(t, n, f), 0);
    }
}

/* "Migräne" (its 'ä' two bytes) at every offset from 48 to 72, so that the
 * 'ä' lies before, across and after byte 64, with the text ending right
 * after the word or up to 60 bytes later. */
static void test_multibyte_across_window(void **state)
{
    (void)state;
    static const char word[] = "Migr\xc3\xa4ne";
    const size_t wl = sizeof word - 1;
    char t[256];
    for (size_t off = 48; off <= 72; off++)
        for (size_t after = 0; after <= 60; after += after < 4 ? 1 : 7) {
            memset(t, ' ', off);
            memcpy(t + off, word, wl);
            for (size_t k = 0; k < after; k++)
                t[off + wl + k] = k % 2 ? '.' : ' ';
            one_finding(t, off + wl + after, off, off + wl, REDACT_CONDITION);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_windows),
        cmocka_unit_test(test_finding_at_end),
        cmocka_unit_test(test_multibyte_across_window),
    };
    return cmocka_run_group_tests(tests, redact_test_setup, redact_test_teardown);
}
