/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The scan's tokenizer (tokmap_next in redact.c: 64-byte windows of bit masks,
 * filled with SSE2 where the CPU has it) against a reference that walks the
 * text one character at a time with cls_at, the way redact_scan did before.
 * For every start offset of every text (the scan restarts where a rule left
 * off, which may be anywhere, even inside a character or before the current
 * window) both must give the same next token: its start, end, first class
 * and TF_* flags, or the same '@'. Texts are copied into buffers of exactly
 * their length, so a read past the end is an ASan error. The rules'
 * look-ahead, next_word (separator sets, 16-byte runs with SSE2) and
 * next_word_start (its start alone), is checked the same way against the
 * byte loop it replaced, for every start offset,
 * every skip from 0 to 5 and the separator sets the rules use. It includes
 * redact.c for the static functions; test_redact_tok_scalar.c builds the
 * same checks over the scalar fallback, test_redact_tok_wide.c over the
 * AVX-512BW windows (tok_block64) where the CPU has them, and there also
 * compares those windows' masks with the SSE2 ones on random bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../../policy/redact.c"

#include <stdio.h>
#include <stdlib.h>

/* The maps' windows: SSE2 (or scalar), or tok_block64 in the wide build. */
#if defined(TOK_TEST_WIDE)
#define TOK_MAP_WIDE tok_wide_usable()
#else
#define TOK_MAP_WIDE 0
#endif

/* The next token at or after i, one character at a time (see the file
 * comment); same contract as tokmap_next. */
static size_t ref_next(const scan *sc, size_t i, tok *t)
{
    while (i < sc->n) {
        size_t l;
        if (sc->s[i] == '@') {
            t->end = i;
            return i;
        }
        unsigned cls = cls_at(sc, i, &l);
        if (!(cls & RF_WORD)) {
            i += l;
            continue;
        }
        t->start = i;
        t->cls = cls;
        t->flags = (cls & RF_UPPER) ? TF_CAP : 0;
        t->kinds = 0;
        size_t j = i;
        while (j < sc->n) {
            unsigned c = cls_at(sc, j, &l);
            if (!(c & RF_WORD))
                break;
            if (c & RF_DIGIT)
                t->flags |= TF_DIGIT;
            if (c & RF_ALPHA)
                t->flags |= TF_ALPHA;
            j += l;
        }
        t->end = j;
        return i;
    }
    return sc->n;
}

/* next_word as it was before the separator sets and the SSE2 runs: skips at
 * most skip bytes found in the string seps, then reads one character at a
 * time (a combining mark counts as TF_ALPHA). */
static int ref_next_word(const scan *sc, size_t i, size_t skip, const char *seps, tok *out)
{
    size_t lim = i + skip;
    while (i < sc->n && i < lim && sc->s[i] && strchr(seps, sc->s[i]))
        i++;
    if (i >= sc->n)
        return 0;
    size_t l;
    unsigned cls = cls_at(sc, i, &l);
    if (!(cls & RF_WORD))
        return 0;
    out->start = i;
    out->cls = cls;
    out->flags = (cls & RF_UPPER) ? TF_CAP : 0;
    size_t j = i;
    while (j < sc->n) {
        unsigned c = cls_at(sc, j, &l);
        if (!(c & RF_WORD))
            break;
        out->flags |= (c & RF_DIGIT) ? TF_DIGIT : TF_ALPHA;
        j += l;
    }
    out->end = j;
    out->kinds = 0;
    return 1;
}

/* The separator strings of the rules' calls, as literals for SEPS. */
#define N_SEPSETS 8
static const char *const sep_strings[N_SEPSETS] = {"", " ", " ,", " -", " :,", " ,(", " -:=",
                                                   " ,!.:\n\r-"};

static sepset sep_of(size_t k)
{
    switch (k) {
    case 0:
        return SEPS("");
    case 1:
        return SEPS(" ");
    case 2:
        return SEPS(" ,");
    case 3:
        return SEPS(" -");
    case 4:
        return SEPS(" :,");
    case 5:
        return SEPS(" ,(");
    case 6:
        return SEPS(" -:=");
    default:
        return SEPS(" ,!.:\n\r-");
    }
}

static void same_next_word(const scan *sc, size_t i)
{
    for (size_t k = 0; k < N_SEPSETS; k++)
        for (size_t skip = 0; skip <= 5; skip++) {
            tok a, b;
            memset(&a, 0, sizeof a);
            memset(&b, 0, sizeof b);
            int ra = next_word(sc, i, skip, sep_of(k), &a);
            int rb = ref_next_word(sc, i, skip, sep_strings[k], &b);
            size_t st = next_word_start(sc, i, skip, sep_of(k)); /* its start alone */
            if (ra != rb || st != (rb ? b.start : NO_CTX) ||
                (ra && (a.start != b.start || a.end != b.end || a.cls != b.cls ||
                        a.flags != b.flags || a.kinds != 0))) {
                print_error("next_word, text of %zu bytes, from %zu, skip %zu, seps %zu: got %d "
                            "[%zu,%zu) cls %u flags %u, want %d [%zu,%zu) cls %u flags %u\n",
                            sc->n, i, skip, k, ra, a.start, a.end, a.cls, a.flags, rb, b.start,
                            b.end, b.cls, b.flags);
                fail();
            }
        }
}

static void same_token(const scan *sc, tokmap *m, size_t i)
{
    tok a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    size_t ra = tokmap_next(m, sc, i, &a);
    size_t rb = ref_next(sc, i, &b);
    if (ra != rb || (ra < sc->n && (a.end != b.end ||
                                    (a.end != ra && (a.start != b.start || a.cls != b.cls ||
                                                     a.flags != b.flags || a.kinds != 0))))) {
        print_error("text of %zu bytes, from %zu: got %zu [%zu,%zu) cls %u flags %u, want %zu "
                    "[%zu,%zu) cls %u flags %u\n",
                    sc->n, i, ra, a.start, a.end, a.cls, a.flags, rb, b.start, b.end, b.cls,
                    b.flags);
        fail();
    }
}

/* Compares the two tokenizers on text[0..n) from every offset: forwards on
 * one map (as the scan moves), then backwards (each start before the
 * window), then along the token chain as redact_scan walks it. */
static void check_text(const unsigned char *text, size_t n)
{
    unsigned char *buf = malloc(n ? n : 1);
    assert_non_null(buf);
    if (n)
        memcpy(buf, text, n);
    scan sc;
    memset(&sc, 0, sizeof sc);
    sc.s = buf;
    sc.n = n;
    tokmap m = {.s = buf, .n = n, .wide = TOK_MAP_WIDE};
    if (n)
        tokmap_load(&m, 0);
    for (size_t i = 0; i <= n; i++)
        same_token(&sc, &m, i);
    for (size_t i = 0; i <= n + 1; i++) /* n + 1: a start past the end returns 0 */
        same_next_word(&sc, i);
    for (size_t i = n + 1; i-- > 0;)
        same_token(&sc, &m, i);
    tokmap c = {.s = buf, .n = n, .wide = TOK_MAP_WIDE};
    if (n)
        tokmap_load(&c, 0);
    size_t i = 0;
    while (i < n) {
        tok t;
        same_token(&sc, &c, i);
        i = tokmap_next(&c, &sc, i, &t);
        if (i >= n)
            break;
        i = t.end == i ? i + 1 : t.end;
    }
    free(buf);
}

static void check_str(const char *s)
{
    check_text((const unsigned char *)s, strlen(s));
}

/* The tokens of s from the start, as "start-end:flags" words joined by spaces
 * ('@' as "@start"), into a static buffer. */
static const char *tokens(const char *s)
{
    static char out[1024];
    size_t n = strlen(s), i = 0, o = 0;
    scan sc;
    memset(&sc, 0, sizeof sc);
    sc.s = (const unsigned char *)s;
    sc.n = n;
    tokmap m = {.s = sc.s, .n = n, .wide = TOK_MAP_WIDE};
    out[0] = 0;
    if (n)
        tokmap_load(&m, 0);
    while (i < n) {
        tok t;
        i = tokmap_next(&m, &sc, i, &t);
        if (i >= n)
            break;
        if (t.end == i)
            o += (size_t)snprintf(out + o, sizeof out - o, "%s@%zu", o ? " " : "", i++);
        else {
            o += (size_t)snprintf(out + o, sizeof out - o, "%s%zu-%zu:%u", o ? " " : "", t.start,
                                  t.end, t.flags);
            i = t.end;
        }
    }
    return out;
}

/* Flags: 1 digit, 2 alpha, 4 capital first character. */
static void test_known_tokens(void **state)
{
    (void)state;
    assert_string_equal(tokens(""), "");
    assert_string_equal(tokens("   ,. "), "");
    assert_string_equal(tokens("a"), "0-1:2");
    assert_string_equal(tokens("Herz 12ab 7"), "0-4:6 5-9:3 10-11:1");
    assert_string_equal(tokens("x@y.de"), "0-1:2 @1 2-3:2 4-6:2");
    /* ü is a letter, U+2019 and U+00A0 are not word characters. */
    assert_string_equal(tokens("M\xc3\xbcller\xe2\x80\x99s A\xc2\xa0" "B"), "0-7:6 10-11:2 12-13:6 15-16:6");
    assert_string_equal(tokens("\xc3\x9c" "ber 5"), "0-5:6 6-7:1");
    /* Two-byte letters stay inside the word's run of mask bits (tokmap's
     * two_byte_letters); U+00D7 and U+00F7 share their lead byte with
     * letters but end a word. */
    assert_string_equal(tokens("Gr\xc3\xb6\xc3\x9f" "e\xc3\x97" "Breite \xc5\x82okie\xc4\x87"),
                        "0-7:6 9-15:6 16-24:2");
    assert_string_equal(tokens("a\xc3\xb7" "b \xc3\x97"), "0-1:2 3-4:2");
    /* A word running over the first window (64 bytes) and ending at the text's end. */
    assert_string_equal(tokens("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa9"),
                        "0-72:3");
    assert_string_equal(tokens("                                                               Ab"),
                        "63-65:6");
}

/* Words of every length from 1 to 140 at every offset from 0 to 70, ending
 * at the text's end or followed by a space, made of letters, digits or a
 * mix, with a multi-byte letter or U+2019 placed at each position. */
static void test_lengths_and_offsets(void **state)
{
    (void)state;
    unsigned char t[300];
    for (size_t off = 0; off <= 70; off++)
        for (size_t len = 1; len <= 140; len += (len < 20 || (len > 28 && len < 36) ||
                                                 (len > 60 && len < 70)) ? 1 : 7) {
            memset(t, ' ', off);
            for (size_t k = 0; k < len; k++)
                t[off + k] = (unsigned char)("aZ5q"[(k * 7 + off) & 3]);
            check_text(t, off + len);
            t[off + len] = ' ';
            t[off + len + 1] = 'x';
            check_text(t, off + len + 2);
        }
    static const char *const mb[] = {"\xc3\xbc", "\xe2\x80\x99", "\xc2\xa0", "\xcc\x88",
                                     "\xc5\x81", "\xe2\x80",     "\xc3\x97", "\xc3\xb7",
                                     "\xc4\x85", "\xc5\xbf",     "\xc3\xbc\xc5\x82"};
    for (size_t m = 0; m < sizeof mb / sizeof *mb; m++)
        for (size_t at = 0; at <= 70; at++) {
            size_t ml = strlen(mb[m]), n = 0;
            for (size_t k = 0; k < at; k++)
                t[n++] = (unsigned char)"Wort1"[k % 5];
            memcpy(t + n, mb[m], ml);
            n += ml;
            for (size_t k = 0; k < 20; k++)
                t[n++] = 'e';
            check_text(t, n);
            check_text(t, at + ml); /* the character as the text's last */
            if (ml > 1)
                check_text(t, at + ml - 1); /* cut inside it */
        }
}

/* Texts of 0 to 40 bytes (and some of up to 200) built from random bytes and
 * from bytes that matter to the tokenizer. */
static void test_random_texts(void **state)
{
    (void)state;
    static const char *const parts[] = {"a",  "Z",  "7",  " ",  "@",  ".",  "-", "\xc3\xbc",
                                        "\xe2\x80\x99", "\xc2\xa0", "\xc3", "\x80", "\xff",
                                        "\n", "Ab", "09"};
    unsigned char t[256];
    uint32_t r = 12345;
    for (int round = 0; round < 20000; round++) {
        size_t want = round < 18000 ? (size_t)round % 41 : 41 + (size_t)round % 160;
        size_t n = 0;
        while (n < want) {
            r = r * 1103515245u + 12345u;
            unsigned pick = (r >> 16) & 31;
            if (pick >= 16) {
                t[n++] = (unsigned char)(r >> 8);
                continue;
            }
            size_t pl = strlen(parts[pick]);
            if (n + pl > want)
                pl = want - n;
            memcpy(t + n, parts[pick], pl);
            n += pl;
        }
        check_text(t, n);
    }
}

/* next_word's separator runs: each set's bytes, runs longer than the skip,
 * bytes of other sets, a word after them near and at the text's end. */
static void test_next_word_seps(void **state)
{
    (void)state;
    check_str(" , :=-(\n\r!. Wort");
    check_str("Dr. Nowak,  Anna: x=5 (Babcia (Ola) \r\n- Tel:\t0170");
    check_str("a,b:c=d(e-f g!h.i\nj\rk|l~m\x7f" "n\xc3\xbco \xe2\x80\x99p");
    check_str("  ,,  ::  ==  --  ((  !!  ..  \n\n  \r\r  x");
    check_str("abcdefghijklmnop qrstuvwxyz0123456789ABCDEF \xc3\xa9tudes\xc3\xa9t\xc3\xa9 Stra\xc3\x9f" "e9");
}

static void test_whole_strings(void **state)
{
    (void)state;
    check_str("Hallo, ich hei\xc3\x9f" "e Katharina Schulz, geb. 28.03.1974, ich nehme Amoxicillin "
              "500 mg wegen Vorhofflimmern. IBAN DE39807546602493258154 \xe2\x80\x9e" "Zitat\xe2\x80\x9c "
              "max.mustermann@example.org \xc5\xbc\xc3\xb3\xc5\x82w  x");
}

#if defined(TOK_TEST_WIDE)
/* Every window of random texts (bytes of every value, and runs of the
 * bytes the masks test) through tok_block64 and through the SSE2 blocks:
 * the same bits. */
static void test_wide_windows(void **state)
{
    (void)state;
    if (!tok_wide_usable()) {
        print_message("this CPU has no AVX-512BW: the scan uses the SSE2 windows, checked above\n");
        return;
    }
    static const unsigned char picks[] = {'0', '9', '/', ':', 'a', 'z', 'A', 'Z', '@', '`', '{',
                                          0x80, 0xBF, 0xC0, 0xC3, 0xC4, 0xC5, 0xC6, 0x97, 0xB7,
                                          0xFF, 0x7F, ' ', 0x00};
    unsigned char t[300];
    uint32_t r = 777;
    size_t windows = 0;
    for (int round = 0; round < 400; round++) {
        size_t n = 64 + (size_t)round % 237;
        for (size_t k = 0; k < n; k++) {
            r = r * 1103515245u + 12345u;
            t[k] = (r >> 24) & 1 ? picks[(r >> 8) % sizeof picks] : (unsigned char)(r >> 12);
        }
        for (size_t base = 0; base < n; base++) {
            tokmap a = {.s = t, .n = n, .wide = 0}, b = {.s = t, .n = n, .wide = 1};
            tokmap_load(&a, base);
            tokmap_load(&b, base);
            assert_int_equal(a.word, b.word);
            assert_int_equal(a.digit, b.digit);
            assert_int_equal(a.more, b.more);
            assert_int_equal(a.start, b.start);
            windows++;
        }
    }
    print_message("%zu windows the same both ways\n", windows);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
#if defined(TOK_TEST_WIDE)
        cmocka_unit_test(test_wide_windows),
#endif
        cmocka_unit_test(test_known_tokens),
        cmocka_unit_test(test_lengths_and_offsets),
        cmocka_unit_test(test_random_texts),
        cmocka_unit_test(test_next_word_seps),
        cmocka_unit_test(test_whole_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
