/* SPDX-License-Identifier: Apache-2.0 */
/* langid: the language guess that picks the redaction lists for a message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "langid.h"

#include <stdio.h>
#include <string.h>

static redact_lang guess(const char *s)
{
    return langid_guess(s, strlen(s), NULL);
}

/* The table is sorted (binary search) and every word, said twice, names its language. */
static void test_table(void **state)
{
    (void)state;
    static const redact_lang of[4] = {REDACT_LANG_DE, REDACT_LANG_EN, REDACT_LANG_PL,
                                      REDACT_LANG_HU};
    const char *prev = NULL, *w;
    int lang;
    size_t n = 0;
    for (size_t i = 0; (w = langid__word(i, &lang)) != NULL; i++, n++) {
        if (prev)
            assert_true(strcmp(prev, w) < 0);
        prev = w;
        char two[64];
        snprintf(two, sizeof two, "%s %s", w, w);
        assert_int_equal(guess(two), of[lang]);
    }
    assert_true(n > 200);
}

static void test_messages(void **state)
{
    (void)state;
    assert_int_equal(guess("Ich habe seit gestern Kopfschmerzen und mir ist schwindelig."),
                     REDACT_LANG_DE);
    assert_int_equal(guess("Hi, my mum has had a cough for two weeks, should she come in?"),
                     REDACT_LANG_EN);
    assert_int_equal(guess("Dzień dobry, mam cukrzycę i boli mnie brzuch od rana."), REDACT_LANG_PL);
    assert_int_equal(guess("Jo napot, a fiam lazas es faj a hasa, mit tegyunk?"), REDACT_LANG_HU);
    assert_int_equal(guess("Jó napot kívánok, szeretnék időpontot kérni a fogorvoshoz."),
                     REDACT_LANG_HU);
    /* without diacritics Polish still has its function words */
    assert_int_equal(guess("czy moge przyjsc jutro, bo mam goraczke?"), REDACT_LANG_PL);
}

/* Too short or too mixed to tell: all lists (REDACT_LANG_AUTO), the safe side. */
static void test_unsure(void **state)
{
    (void)state;
    unsigned sc[4];
    assert_int_equal(guess(""), REDACT_LANG_AUTO);
    assert_int_equal(guess("Tramadol?"), REDACT_LANG_AUTO);
    assert_int_equal(guess("Anna Kowalska 0151 2345678"), REDACT_LANG_AUTO);
    assert_int_equal(guess("und the"), REDACT_LANG_AUTO);
    assert_int_equal(langid_guess("ich und die the and my", 22, sc), REDACT_LANG_AUTO);
    assert_int_equal(sc[0], 3);
    assert_int_equal(sc[1], 3);
    /* invalid UTF-8 and a word longer than any function word are skipped */
    assert_int_equal(guess("\xc3\x28 \xff\xfe und und Donaudampfschifffahrtsgesellschaft"),
                     REDACT_LANG_DE);
    assert_int_equal(langid_guess("und und", 3, NULL), REDACT_LANG_AUTO); /* len, not NUL */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_messages),
        cmocka_unit_test(test_unsure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
