/* SPDX-License-Identifier: Apache-2.0 */
/*
 * on_word's fast paths (redact.c) against the rules they stand in for. on_word
 * settles two kinds of word without calling on_word_rules: unlisted short
 * lower-case words with no inflected form, and listed words whose kinds are
 * all PASSIVE_KINDS and that cannot hold a compound's tail. For every word
 * token of every labelled text (the .jsonl files of tests/redact) in every language mode,
 * and of some texts made for the edges (lengths 6 and 7, digits, a hyphen
 * before the word, a term longer than the word, "Dr."), this runs on_word and,
 * on a copy of the scan, the walk plus on_word_rules, and requires the same
 * result, kinds, findings and scan state. For the same words it checks
 * infl_reachable, the shortcut both take before infl_match: where it says
 * no, infl_match must find nothing (counted where the byte of slack it
 * drops for ASCII words would have said yes). It includes redact.c for the
 * static functions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../../policy/redact.c"
#include "labelled_texts.h"

#include <stdio.h>
#include <stdlib.h>

#define MAX_FINDINGS 256

static redact_engine *eng;
static size_t n_words;     /* words compared */
static size_t n_infl_tight; /* words infl_reachable rejects only without the slack */

/* The scan as redact_scan sets it up (scan_init), over a cleared struct:
 * both_ways compares whole scans with memcmp, so the slots scan_init
 * leaves unset must hold the same bytes in both copies. */
static void scan_setup(scan *sc, dict_memo *memo, const char *text, size_t len, redact_lang lang,
                       redact_finding *out)
{
    memset(sc, 0, sizeof *sc);
    scan_init(sc, memo, eng, text, len, lang, out, MAX_FINDINGS);
}

/* Field by field: emit leaves a finding's padding as it was. */
static int same_findings(const redact_finding *a, const redact_finding *b, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (a[k].start != b[k].start || a[k].end != b[k].end || a[k].cat != b[k].cat ||
            a[k].rule_id != b[k].rule_id)
            return 0;
    return 1;
}

/* on_word on sc, and the walk plus on_word_rules on a copy: both must end
 * the same. sc is left as on_word left it. */
static size_t both_ways(scan *sc, tok *t, const char *text)
{
    redact_finding ref_out[MAX_FINDINGS];
    scan ref;
    memcpy(&ref, sc, sizeof ref);
    memcpy(ref_out, sc->out, sc->cnt * sizeof *ref_out);
    ref.out = ref_out;
    tok rt = *t;

    size_t got = on_word(sc, t);

    dmatch m = {rt.end, 0};
    dstop stop;
    int hit = dict_match_stop(&ref, rt.start, &m, &stop);
    tok it = rt; /* before on_word_rules may widen it */
    size_t want = on_word_rules(&ref, &rt, hit, m, stop);

    if (!(it.flags & TF_DIGIT) && !infl_reachable(&ref, &it, stop)) {
        size_t wstop = stop.at < it.end ? stop.at : it.end;
        if (it.end - it.start > INFL_MIN_STEM && wstop + 1 >= it.start + INFL_MIN_STEM)
            n_infl_tight++;
        if (infl_match(&ref, it.start, it.end, INFL_MIN_STEM) != 0) {
            print_error("lang %d, word [%zu,%zu) \"%.*s\": infl_reachable 0 but infl_match "
                        "finds a form\n",
                        (int)sc->lang, it.start, it.end, (int)(it.end - it.start), text + it.start);
            fail();
        }
    }

    n_words++;
    ref.out = sc->out; /* the one field that differs by construction */
    if (got != want || t->kinds != rt.kinds || t->end != rt.end || sc->cnt != ref.cnt ||
        !same_findings(sc->out, ref_out, sc->cnt) ||
        memcmp(sc, &ref, sizeof ref) != 0) {
        print_error("lang %d, word [%zu,%zu) \"%.*s\" in \"%s\": on_word %zu kinds %llx, rules %zu "
                    "kinds %llx\n",
                    (int)sc->lang, rt.start, rt.end, (int)(rt.end - rt.start), text + rt.start,
                    text, got, (unsigned long long)t->kinds, want, (unsigned long long)rt.kinds);
        fail();
    }
    return got;
}

/* redact_scan's loop (see there), with each word through both_ways. */
static void check_text(const char *text, redact_lang lang)
{
    size_t len = strlen(text);
    char *buf = malloc(len ? len : 1); /* exactly the text: a read past it is an ASan error */
    assert_non_null(buf);
    memcpy(buf, text, len);
    redact_finding out[MAX_FINDINGS];
    dict_memo memo[DICT_MEMO];
    scan sc;
    scan_setup(&sc, memo, buf, len, lang, out);
    tokmap map = {.s = sc.s, .n = len};
    if (len)
        tokmap_load(&map, 0);
    size_t i = 0;
    while (i < len && !sc.full) {
        if (i < sc.covered) {
            i = sc.covered;
            continue;
        }
        tok t;
        i = tokmap_next(&map, &sc, i, &t);
        if (i >= len)
            break;
        if (t.end == i) {
            i = on_at(&sc, i);
            continue;
        }
        size_t next;
        if (t.cls & RF_DIGIT)
            next = on_number(&sc, &t);
        else if (t.flags & TF_DIGIT)
            next = on_alnum(&sc, &t);
        else
            next = both_ways(&sc, &t, text);
        sc.prev[sc.nprev & 3] = t;
        sc.nprev++;
        i = next > t.end ? next : t.end;
    }
    free(buf);
}

static void check_all_langs(const char *text)
{
    for (int l = 0; l <= (int)REDACT_LANG_HU; l++)
        check_text(text, (redact_lang)l);
}

/* Texts made for the edges of the two fast paths. */
static void test_edges(void **state)
{
    (void)state;
    static const char *const texts[] = {
        /* function words of 6 and 7 bytes, lower case and capitalised */
        "because through zwischen between während Zwischen Because mellett között",
        /* a hyphen before a word: an inflected compound may follow */
        "Alzheimer-kórban COVID-oltás x-ray Herz-Kreislauf a-the ab-und",
        /* words with digits (on_alnum sends them here) and a term longer than the word */
        "of the left knee, Typ 2, in der Nacht, Dr. Nowak, St. Mary, w nocy, a bal térdem",
        "und und und the the the der die das i w z a az egy",
        /* listed words with passive kinds only whose tail is a health term */
        "mellitus, az egységárak",
        /* inflected forms with a stem of five bytes or more, ASCII and not
         * in the first five bytes */
        "astmy astmą astmie asztmát asztmás lítiumot lítiummal żółtaczką ólomtól kórházban "
        "grypie grypy grypą jaskrę udarze udaru cukrzycą cukrzycy",
        "zabieganie toczenie badaniem vizsgálatot lítiumot jaskrę kanyarók",
        "Herr Dr. med. Anna Müller-Lüdenscheidt, geb. 1.2.1980, wohnt in der Hauptstraße 5",
        "Sehr geehrte Frau Weber, mit freundlichen Grüßen Max Mustermann",
        "",
        "a",
        "der",
    };
    for (size_t k = 0; k < sizeof texts / sizeof *texts; k++)
        check_all_langs(texts[k]);
}

/* Every labelled text in every language mode. */
static void test_labelled_texts(void **state)
{
    (void)state;
    size_t files;
    size_t texts = for_each_labelled_text(check_all_langs, &files);
    assert_true(files > 0);
    assert_true(texts > 1000);
    assert_true(n_words > 100000);
    assert_true(n_infl_tight > 100);
}

/* The two fast paths are taken (so the comparison above covers them). */
static void test_fast_paths_taken(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "the patient and the doctor", /* passive listed words */
        "blah blub qwert",            /* unlisted short lower-case words */
    };
    for (size_t k = 0; k < 2; k++) {
        redact_finding out[MAX_FINDINGS];
        dict_memo memo[DICT_MEMO];
        scan sc;
        size_t len = strlen(texts[k]);
        scan_setup(&sc, memo, texts[k], len, REDACT_LANG_EN, out);
        tok t = {.start = 0, .end = 3, .cls = A_L, .flags = TF_ALPHA};
        dmatch m = {t.end, 0};
        dstop stop;
        int hit = dict_match_stop(&sc, 0, &m, &stop);
        if (k == 0)
            assert_true(hit && m.kinds && !(m.kinds & ~PASSIVE_KINDS) && m.end == 3);
        else
            assert_false(hit);
        assert_int_equal(on_word(&sc, &t), 3);
        assert_true(k == 0 ? t.kinds == m.kinds : t.kinds == 0);
    }
}

/* street_compound's rejects before its fold: street_pair holds exactly the
 * last two bytes of the suffixes, and every suffix has at least 3 bytes
 * (the 6-byte bound). */
static void test_street_pair(void **state)
{
    (void)state;
    for (unsigned l = 'a'; l <= 'z'; l++)
        for (unsigned b = 'a'; b <= 'z'; b++) {
            int want = 0;
            for (size_t k = 0; k < sizeof street_suffixes / sizeof street_suffixes[0]; k++) {
                const sized_str *x = &street_suffixes[k];
                assert_true(x->n >= 3);
                if ((unsigned char)x->s[x->n - 1] == l && (unsigned char)x->s[x->n - 2] == b)
                    want = 1;
            }
            assert_int_equal(want, (street_pair[l - 'a'] >> (b - 'a')) & 1);
        }
}

static int setup(void **state)
{
    (void)state;
    eng = redact_engine_new();
    return eng ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    redact_engine_free(eng);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fast_paths_taken),
        cmocka_unit_test(test_street_pair),
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_labelled_texts),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
