/* SPDX-License-Identifier: Apache-2.0 */
/*
 * langid_guess (64-byte windows of bit masks, keys of two loads, SSE2 where the
 * CPU has it) against the byte loop it replaced, kept here as ref_guess: both
 * must give the same language and the same four scores for every text. Texts:
 * every labelled text of the .jsonl files in tests/redact/ with every prefix and suffix (so
 * texts end and start inside characters and words, and words cross the 64-byte
 * windows everywhere), random byte strings of 0 to 200 bytes (invalid UTF-8,
 * NUL bytes, scoring letters with and without their second byte), and every
 * table word in upper and mixed case, with apostrophes, lengthened to around
 * LANGID_MAXWORD, at every offset around the window edges. Each text is copied
 * into a buffer of exactly its length, so a read past the end is an ASan
 * error. It includes langid.c; test_langid_same_scalar.c builds the same
 * checks over the scalar fallback.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../../policy/langid.c"
#include "labelled_texts.h"

#include <stdio.h>
#include <stdlib.h>

/* ------------------------------------------------- the reference (the old byte loop) */

static unsigned char ref_lower[256];
static const char *ref_w[512];
static size_t ref_l[512];
static int ref_lang[512];
static size_t ref_n;

static void ref_init(void)
{
    const char *t;
    for (; (t = langid__word(ref_n, &ref_lang[ref_n])) != NULL; ref_n++) {
        assert_true(ref_n < 511);
        ref_w[ref_n] = t;
        ref_l[ref_n] = strlen(t);
    }
    for (unsigned c = 0; c < 256; c++)
        ref_lower[c] = (unsigned char)((c >= 'A' && c <= 'Z') ? c | 0x20
                                       : ((c >= 'a' && c <= 'z') || c == '\'' || c >= 0x80) ? c
                                                                                              : 0);
}

/* Language of the word w (l bytes), -1 when it is not in the table: a plain scan. */
static int ref_lookup(const char *w, size_t l)
{
    for (size_t i = 0; i < ref_n; i++)
        if (ref_l[i] == l && memcmp(ref_w[i], w, l) == 0)
            return ref_lang[i];
    return -1;
}

static int ref_letter(unsigned char a, unsigned char b)
{
    unsigned cp = ((unsigned)(a & 0x1f) << 6) | (b & 0x3f);
    switch (cp) {
    case 0xe4: case 0xc4: case 0xdf:
        return LID_DE;
    case 0x105: case 0x104: case 0x119: case 0x118: case 0x142: case 0x141:
    case 0x15b: case 0x15a: case 0x17c: case 0x17b: case 0x17a: case 0x179:
    case 0x107: case 0x106: case 0x144: case 0x143:
        return LID_PL;
    case 0x151: case 0x150: case 0x171: case 0x170:
        return LID_HU;
    default:
        return -1;
    }
}

static redact_lang ref_guess(const char *text, size_t len, unsigned pts[4])
{
    static const redact_lang out[4] = {REDACT_LANG_DE, REDACT_LANG_EN, REDACT_LANG_PL,
                                       REDACT_LANG_HU};
    const unsigned char *s = (const unsigned char *)text;
    char w[LANGID_MAXWORD];
    size_t wl = 0;
    int toolong = 0;
    memset(pts, 0, 4 * sizeof pts[0]);
    for (size_t i = 0; i <= len; i++) {
        unsigned char c = i < len ? s[i] : ' ', lc = ref_lower[c];
        if (lc) {
            if (c >= 0xc0 && c < 0xe0 && i + 1 < len && (s[i + 1] & 0xc0) == 0x80) {
                int l = ref_letter(c, s[i + 1]);
                if (l >= 0)
                    pts[l]++;
            }
            if (wl < sizeof w)
                w[wl++] = (char)lc;
            else
                toolong = 1;
            continue;
        }
        if (wl && !toolong) {
            int l = ref_lookup(w, wl);
            if (l >= 0)
                pts[l]++;
        }
        wl = 0;
        toolong = 0;
    }
    int best = 0, second = -1;
    for (int k = 1; k < 4; k++)
        if (pts[k] > pts[best])
            best = k;
    for (int k = 0; k < 4; k++)
        if (k != best && (second < 0 || pts[k] > pts[second]))
            second = k;
    if (pts[best] < LANGID_MIN || pts[best] < pts[second] + LANGID_MARGIN)
        return REDACT_LANG_AUTO;
    return out[best];
}

/* ------------------------------------------------------------------ the checks */

static size_t n_checked, n_points, n_sure;

/* Both guesses of text[0..len), copied into a buffer of exactly len bytes. */
static void check(const char *text, size_t len)
{
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len)
        memcpy(copy, text, len);
    unsigned want[4], got[4] = {99, 99, 99, 99};
    redact_lang wl = ref_guess(copy, len, want);
    redact_lang gl = langid_guess(copy, len, got);
    if (gl != wl || memcmp(want, got, sizeof want) != 0) {
        fprintf(stderr, "differs on %zu bytes: want %d (%u %u %u %u), got %d (%u %u %u %u)\n",
                len, (int)wl, want[0], want[1], want[2], want[3], (int)gl, got[0], got[1], got[2],
                got[3]);
        for (size_t i = 0; i < len; i++)
            fprintf(stderr, "%02x", (unsigned char)text[i]);
        fprintf(stderr, "\n");
        fail();
    }
    assert_int_equal(langid_guess(copy, len, NULL), wl);
    free(copy);
    n_checked++;
    n_points += want[0] + want[1] + want[2] + want[3];
    n_sure += wl != REDACT_LANG_AUTO;
}

/* The text, every prefix and every suffix. */
static void check_cuts(const char *text, size_t len)
{
    for (size_t k = 0; k <= len; k++) {
        check(text, k);
        check(text + k, len - k);
    }
}

static void check_text_cuts(const char *text)
{
    check_cuts(text, strlen(text));
}

static void test_labelled_texts(void **state)
{
    (void)state;
    size_t before = n_checked, sure = n_sure, files;
    size_t texts = for_each_labelled_text(check_text_cuts, &files);
    fprintf(stderr, "labelled: %zu files, %zu texts, %zu cuts, %zu sure\n", files, texts,
            n_checked - before, n_sure - sure);
    assert_true(files > 0);
    assert_true(texts > 3000);
    assert_true(n_sure - sure > 100000); /* the texts do score */
}

static uint64_t rng = 0x9e3779b97f4a7c15u;

static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

/* Random bytes, drawn from pools that make words, scoring letters (whole, cut
 * or with a wrong second byte), gaps and any byte at all. */
static void test_random_bytes(void **state)
{
    (void)state;
    static const char *const pieces[] = {
        " ", " ", " ", ",", ".", "'", "\n", "\t", "\xc5\x82", "\xc4\x85", "\xc5\x91",
        "\xc3\xa4", "\xc3\x9f", "\xc3\xbc", "\xc3", "\xc4", "\xc5", "\xc5\x28", "\xe2\x80\x99",
        "\xff", "\x80", "\0", "und", "the", "si\xc4\x99", "hogy", "UND", "The", "n't", "ES",
        "k\xc3\xb6sz\xc3\xb6n\xc3\xb6m", "dzi\xc4\x99kuj\xc4\x99",
    };
    const size_t np = sizeof pieces / sizeof pieces[0];
    char buf[256];
    size_t before = n_checked;
    for (unsigned round = 0; round < 200000; round++) {
        size_t len = rnd(201), n = 0;
        unsigned mode = rnd(3);
        while (n < len) {
            if (mode == 0) { /* any byte */
                buf[n++] = (char)rnd(256);
            } else if (mode == 1 || rnd(2)) { /* letters and pieces */
                if (rnd(3) == 0) {
                    const char *p = pieces[rnd((unsigned)np)];
                    size_t pl = p[0] ? strlen(p) : 1;
                    for (size_t k = 0; k < pl && n < len; k++)
                        buf[n++] = p[k];
                } else {
                    buf[n++] = (char)((rnd(4) ? 'a' : 'A') + rnd(26));
                }
            } else {
                buf[n++] = (char)(0x80 + rnd(128));
            }
        }
        check(buf, len);
    }
    assert_int_equal(n_checked - before, 200000);
}

/* Every table word as it is, in upper case, capitalised, with an apostrophe
 * inside and before it, lengthened by letters to 10..18 bytes, and at every
 * offset from 40 to 140 in texts of every length that end on, before or past
 * the word (the window edges 64 and 128 in the middle, the start and the end of
 * a word on them). */
static void test_table_words(void **state)
{
    (void)state;
    const char *w;
    int lang;
    char buf[256], v[64];
    size_t before = n_checked;
    for (size_t i = 0; (w = langid__word(i, &lang)) != NULL; i++) {
        size_t wl = strlen(w);
        for (unsigned form = 0; form < 8; form++) {
            size_t vl = wl;
            memcpy(v, w, wl);
            switch (form) {
            case 1:
                for (size_t k = 0; k < vl; k++)
                    v[k] = (char)(v[k] >= 'a' && v[k] <= 'z' ? v[k] - 32 : v[k]);
                break;
            case 2:
                v[0] = (char)(v[0] >= 'a' && v[0] <= 'z' ? v[0] - 32 : v[0]);
                break;
            case 3: /* an apostrophe inside */
                memmove(v + 2, v + 1, vl - 1);
                v[1] = '\'';
                vl++;
                break;
            case 4:
                memmove(v + 1, v, vl);
                v[0] = '\'';
                vl++;
                break;
            default: /* lengthened to 10 + 2 * (form - 5) .. 18 bytes */
                while (vl < 10 + 2 * (form - 5) + (i % 3)) {
                    v[vl] = (char)('a' + vl % 26);
                    vl++;
                }
                break;
            }
            check(v, vl);
            for (size_t off = 40; off <= 140; off++) {
                memset(buf, ' ', off);
                buf[off - 1] = (char)(off % 7 == 0 ? 'x' : ' '); /* sometimes joined */
                memcpy(buf + off, v, vl);
                for (size_t tail = 0; tail < 3; tail++) {
                    size_t n = off + vl;
                    if (tail == 1)
                        buf[n++] = ' ';
                    else if (tail == 2)
                        n -= 1; /* cut inside the word (maybe inside a character) */
                    /* a second word, so that both windows score */
                    check(buf, n);
                }
                memcpy(buf + off + vl, " und the ", 9);
                check(buf, off + vl + 9);
            }
        }
    }
    fprintf(stderr, "table words: %zu texts\n", n_checked - before);
}

/* The hand-written edge cases. */
static void test_edges(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "",
        "a",
        "A",
        "'",
        "''",
        "und",
        "und und",
        "UND Und uNd",
        "can't CAN'T can''t 'can't can't'",
        "i'm I'M i'M",
        "k\xc3\xb6sz\xc3\xb6n\xc3\xb6m K\xc3\xb6sz\xc3\xb6n\xc3\xb6m",
        "K\xc3\x96SZ\xc3\x96N\xc3\x96M", /* non-ASCII upper case is not folded */
        "\xc5\x81\xc5\x82\xc5\x81",
        "\xc5",
        "\xc5\xc5\x82",
        "\xc3\xa4\xc3",
        "abcdefghijklmnop und",   /* 16 bytes: looked up, not in the table */
        "abcdefghijklmnopq und",  /* 17: too long */
        "abcdefghijkl und",       /* 12 */
        "abcdefghijklm und",      /* 13 */
        "und\0und\0und",
    };
    for (size_t k = 0; k < sizeof texts / sizeof *texts; k++)
        check_cuts(texts[k], strlen(texts[k]));
    check("und\0und\0und", 11);
    /* 64 and 128 bytes of one word, of word bytes and a word on the edge */
    char buf[200];
    for (size_t n = 0; n <= 200; n++) {
        memset(buf, 'a', sizeof buf);
        check(buf, n);
        memset(buf, ' ', sizeof buf);
        if (n >= 3)
            memcpy(buf + n - 3, "und", 3);
        check(buf, n);
        memset(buf, 0xc5, sizeof buf);
        check(buf, n);
        for (size_t k = 0; k + 1 < sizeof buf; k += 2)
            memcpy(buf + k, "\xc5\x82", 2);
        check(buf, n);
    }
}

static void test_counts(void **state)
{
    (void)state;
    fprintf(stderr, "checked %zu texts, %zu points, %zu sure\n", n_checked, n_points, n_sure);
    assert_true(n_points > 1000000);
}

int main(void)
{
    ref_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_table_words),
        cmocka_unit_test(test_random_bytes),
        cmocka_unit_test(test_labelled_texts),
        cmocka_unit_test(test_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
