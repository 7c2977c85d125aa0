/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of vaccinations, tests and injections with their object
 * (health.vacc, kinds pathogen/vlink/vacc in policy/dict): the object after a
 * link word ("vaccine against hepatitis A", "Impfung gegen Tollwut",
 * "szczepienie przeciw grypie") or before the vaccination ("Japanische
 * Enzephalitis-Impfung", "kullancs elleni oltás"), in de, en, pl and hu, and
 * the ordinary sentences the link words and pathogen names must leave alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "redact.h"
#include "redact_test.h"

#include <string.h>

static void test_vacc_de(void **state)
{
    (void)state;
    EQ("Japanische Enzephalitis-Impfung", DE, "[TREATMENT]");
    EQ("Wir brauchen die Impfung gegen Japanische Enzephalitis vor der Reise.", DE,
       "Wir brauchen die [TREATMENT] vor der Reise.");
    /* "gegen" is also a complement of the modifier list: the object still joins */
    EQ("Impfung gegen Tollwut", DE, "[TREATMENT]");
    EQ("Gibt es eine Impfung gegen die Grippe?", DE, "Gibt es eine [TREATMENT]?");
    /* a vaccine with its object is the vaccination */
    EQ("Ist der Impfstoff gegen Gürtelrose gut verträglich?", DE,
       "Ist der [TREATMENT] gut verträglich?");
    assert_string_equal(rule_of("Impfstoff gegen Gürtelrose", REDACT_LANG_DE), "health.vacc");
    EQ("Test auf Helicobacter", DE, "[TREATMENT]");
    const char *de[] = {"Ich stimme gegen den Vorschlag.", "Wir spielen heute gegen Bayern.",
                        "Der Test auf der Autobahn war gut.", "Gegen 10 Uhr komme ich.",
                        "Wir testen gegen Abend."};
    expect_clean(de, N(de), REDACT_LANG_DE);
}

static void test_vacc_en(void **state)
{
    (void)state;
    EQ("I need a vaccine against hepatitis A before the trip.", EN,
       "I need a [TREATMENT] before the trip.");
    EQ("Did you get the vaccine against hepatitis A?", EN, "Did you get the [TREATMENT]?");
    EQ("Have you had the hepatitis A vaccine?", EN, "Have you had the [TREATMENT]?");
    EQ("Can my son get the vaccination against measles this week?", EN,
       "Can my son get the [TREATMENT] this week?");
    EQ("Is there a vaccine against the flu?", EN, "Is there a [TREATMENT]?");
    EQ("She had a test for chlamydia last week.", EN, "She had a [TREATMENT] last week.");
    /* other treatments keep the condition after "for" apart, as the guideline labels it */
    EQ("He had chemo for lymphoma.", EN, "He had [TREATMENT] for [CONDITION].");
    const char *en[] = {"I voted against the plan.", "The test for the new software failed.",
                        "Thanks for the test results.", "I want a test for the virus.",
                        "Shots were fired against the wall."};
    expect_clean(en, N(en), REDACT_LANG_EN);
}

static void test_vacc_pl(void **state)
{
    (void)state;
    EQ("Mam szczepienie przeciw grypie w piątek.", PL, "Mam [TREATMENT] w piątek.");
    EQ("Czy po szczepieniu przeciw grypie można iść na basen?", PL,
       "Czy po [TREATMENT] można iść na basen?");
    /* the list holds "przeciwko grypie" and "na grypę" as phrases of their own */
    EQ("Czy szczepionka przeciwko grypie jest darmowa?", PL, "Czy [TREATMENT] jest darmowa?");
    EQ("Syn dostał szczepionkę na grypę.", PL, "Syn dostał [TREATMENT].");
    EQ("Syn dostał szczepionkę na wściekliznę.", PL, "Syn dostał [TREATMENT].");
    /* a two-word link and an inflected object */
    EQ("Czy można zrobić test w kierunku boreliozy?", PL, "Czy można zrobić [TREATMENT]?");
    EQ("Szczepienie przeciwko wirusowi HPV.", PL, "[TREATMENT].");
    const char *pl[] = {"Głosowałem przeciw tej ustawie.", "Idę na basen w piątek.",
                        "Test na prawo jazdy zdałem wczoraj.", "Mamy badanie opinii klientów."};
    expect_clean(pl, N(pl), REDACT_LANG_PL);
}

static void test_vacc_hu(void **state)
{
    (void)state;
    EQ("Kaptam kullancs elleni oltást.", HU, "Kaptam [TREATMENT].");
    EQ("A kullancs elleni oltás mikor esedékes?", HU, "A [TREATMENT] mikor esedékes?");
    EQ("Beadták a kullancs elleni oltásokat.", HU, "Beadták a [TREATMENT].");
    EQ("A kullancs elleni oltással nincs gond?", HU, "A [TREATMENT] nincs gond?");
    EQ("Mennyibe kerül a kullancs elleni védőoltás?", HU, "Mennyibe kerül a [TREATMENT]?");
    EQ("Mikor kaphatja meg a fiam a bárányhimlő elleni oltást?", HU,
       "Mikor kaphatja meg a fiam a [TREATMENT]?");
    const char *hu[] = {"A csapat a Ferencváros ellen játszik.", "A teszt eredménye jó lett."};
    expect_clean(hu, N(hu), REDACT_LANG_HU);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vacc_de),
        cmocka_unit_test(test_vacc_en),
        cmocka_unit_test(test_vacc_pl),
        cmocka_unit_test(test_vacc_hu),
    };
    return cmocka_run_group_tests(tests, redact_test_setup, redact_test_teardown);
}
