/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the health-term generalisation in policy/redact: compound
 * heads and medical suffixes found from the word end (tail lists) with their
 * stop words, modifiers and complements that extend a finding, and lay
 * complaints made of a body part and a pain word, in de, en, pl and hu. Each
 * rule is also checked on ordinary sentences it must leave alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "redact.h"
#include "redact_test.h"

#include <string.h>


/* Compounds and suffixes, category from the head; inflected forms. */
static void test_tail_compounds(void **state)
{
    (void)state;
    assert_string_equal(red("Ich hatte Nierenkoliken.", REDACT_LANG_DE), "Ich hatte [CONDITION].");
    assert_string_equal(red("Eine Sprunggelenksverletzung vom Fußball.", REDACT_LANG_DE),
                        "Eine [CONDITION] vom Fußball.");
    assert_string_equal(red("Nach der Kniegelenksarthroskopie", REDACT_LANG_DE),
                        "Nach der [TREATMENT]");
    assert_string_equal(red("Er nimmt Schmerztabletten.", REDACT_LANG_DE), "Er nimmt [MEDICATION].");
    assert_string_equal(red("After the tonsillectomy he had tonsillitis again.", REDACT_LANG_EN),
                        "After the [TREATMENT] he had [CONDITION] again.");
    assert_string_equal(red("Czy kolonoskopia boli?", REDACT_LANG_PL), "Czy [TREATMENT] boli?");
    assert_string_equal(red("Tata ma neuropatię.", REDACT_LANG_PL), "Tata ma [CONDITION].");
    assert_string_equal(red("Apámat prosztatarákkal kezelik.", REDACT_LANG_HU),
                        "Apámat [CONDITION] kezelik.");
    assert_string_equal(red("A fiamnak fülgyulladása van.", REDACT_LANG_HU),
                        "A fiamnak [CONDITION] van.");
    assert_string_equal(red("A térdműtét után.", REDACT_LANG_HU), "A [TREATMENT] után.");
    assert_string_equal(red("Derékfájással küzdök.", REDACT_LANG_HU), "[CONDITION] küzdök.");
    assert_string_equal(red("Erst die Magenspiegelung, dann eine Rektoskopie.", REDACT_LANG_DE),
                        "Erst die [TREATMENT], dann eine [TREATMENT].");
    /* "tension" is a modifier of the headache, so it goes with it */
    assert_string_equal(red("Tension headaches and his psychoses.", REDACT_LANG_EN),
                        "[CONDITION] and his [CONDITION].");
    /* drug in a form, a bare strength, a Polish/Hungarian case ending on a brand */
    assert_string_equal(red("Darf er Nurofen-Saft und Diclofenac 75 nehmen?", REDACT_LANG_DE),
                        "Darf er [MEDICATION] und [MEDICATION] nehmen?");
    assert_string_equal(red("Termin für Euthyrox 50 am 12.03. um 8:30", REDACT_LANG_DE),
                        "Termin für [MEDICATION] am 12.03. um 8:30");
    assert_string_equal(red("Kifogyott a Lasixom.", REDACT_LANG_HU), "Kifogyott a [MEDICATION].");
    assert_string_equal(red("Czy mogę używać Alantanu?", REDACT_LANG_PL),
                        "Czy mogę używać [MEDICATION]?");
    assert_string_equal(red("Lasixom", REDACT_LANG_DE), "Lasixom"); /* only pl/hu decline */
    assert_string_equal(red("Dane są w systemie, problemie nie ma; mam anemię.", REDACT_LANG_PL),
                        "Dane są w systemie, problemie nie ma; mam [CONDITION].");
    assert_string_equal(rule_of("Nierenkoliken", REDACT_LANG_DE), "health.tail");
    /* the head alone is the forward dictionary's business; a suffix needs a prefix */
    assert_string_equal(red("itis ektomie", REDACT_LANG_DE), "itis ektomie");
}

/* Ordinary words that end like a head: stop lists and the minimum prefix. */
/* German typed without umlauts: redact_gen adds the ae/oe/ue spelling of every de term. */
static void test_umlaut_spellings(void **state)
{
    (void)state;
    assert_string_equal(red("Ich habe Rueckenschmerzen und Uebelkeit.", REDACT_LANG_DE),
                        "Ich habe [CONDITION] und [CONDITION].");
    assert_string_equal(red("Ich habe Ruckenschmerzen.", REDACT_LANG_DE), "Ich habe [CONDITION].");
}

static void test_tail_stops(void **state)
{
    (void)state;
    const char *de[] = {"Die Hose, die Dose und die Rose.", "Der Abbruch, der Einbruch, der Umbruch.",
                        "Eine Stromstörung im Haus.", "Mein Diplom und das Aroma.",
                        "Die Steckdose ist kaputt, die Diagnose kommt per Post.",
                        "Sympathie und Akademie.",
                        "Fehlerbehandlung und Sicherungskopie, eine Zugriffsverletzung.",
                        "Bitte die Rechnungskopie mitbringen; Datenschutzverletzung gemeldet.",
                        "Gleichbehandlung aller Gäste ist uns wichtig."};
    const char *en[] = {"Thanks for your sympathy.", "The diagnosis and the prognosis are in.",
                        "For these purposes it exposes the approaches.",
                        "She teaches and coaches; he closes the doors.",
                        "Oklahoma, a diploma, the aroma.", "Photography and geography lessons.",
                        "A nostalgia trip to academia."};
    const char *pl[] = {"Dziękuję za sympatię.", "Akademia i diagnoza.", "Symbol i futbol."};
    const char *hu[] = {"A tűzoltás miatt késtem.", "Az akadémia mellett.",
                        "Kérem a diagnózist.", "A sortörés rossz."};
    expect_clean(de, N(de), REDACT_LANG_DE);
    expect_clean(en, N(en), REDACT_LANG_EN);
    expect_clean(pl, N(pl), REDACT_LANG_PL);
    expect_clean(hu, N(hu), REDACT_LANG_HU);
}

/* Modifiers before and complements after a finding belong to it. */
static void test_modifiers(void **state)
{
    (void)state;
    assert_string_equal(red("She has vascular dementia.", REDACT_LANG_EN), "She has [CONDITION].");
    assert_string_equal(red("After my knee arthroscopy", REDACT_LANG_EN), "After my [TREATMENT]");
    assert_string_equal(red("He has type 2 diabetes.", REDACT_LANG_EN), "He has [CONDITION].");
    assert_string_equal(red("Er hat chronische Bronchitis.", REDACT_LANG_DE), "Er hat [CONDITION].");
    assert_string_equal(red("Sie hatte eine beidseitige Lungenentzündung.", REDACT_LANG_DE),
                        "Sie hatte eine [CONDITION].");
    assert_string_equal(red("Er hat Diabetes Typ 2 seit Jahren.", REDACT_LANG_DE),
                        "Er hat [CONDITION] seit Jahren.");
    assert_string_equal(red("Mam cukrzycę typu 2 od lat.", REDACT_LANG_PL), "Mam [CONDITION] od lat.");
    assert_string_equal(red("Babcia ma chorobę Alzheimera.", REDACT_LANG_PL),
                        "Babcia ma [CONDITION].");
    assert_string_equal(red("Mąż ma przewlekłe zapalenie oskrzeli.", REDACT_LANG_PL),
                        "Mąż ma [CONDITION].");
    assert_string_equal(red("Anyámnak 2-es típusú cukorbetegsége van.", REDACT_LANG_HU),
                        "Anyámnak [CONDITION] van.");
    assert_string_equal(red("Apámnak krónikus hörghurutja van.", REDACT_LANG_HU),
                        "Apámnak [CONDITION] van.");
    /* the location of a diagnosis stays out; a pain word takes it in */
    assert_string_equal(red("Arthrose im Knie, Schmerzen im Knie.", REDACT_LANG_DE),
                        "[CONDITION] im Knie, [CONDITION].");
    assert_string_equal(red("A rash on her chest.", REDACT_LANG_EN), "A [CONDITION] on her chest.");
    /* a Hungarian case suffix on a strength */
    assert_string_equal(red("Euthyrox 50-et szedek.", REDACT_LANG_HU), "[MEDICATION]-et szedek.");
    /* a modifier or a disease word alone is never a finding */
    const char *en[] = {"A chronic lack of parking, severe delays.", "Turn left at the type 2 sign.",
                        "Which disease? We only need the form."};
    const char *de[] = {"Chronische Verspätung, beidseitige Parkplätze."};
    const char *pl[] = {"Ostra zima i przewlekłe korki.", "Choroba? Nie, tylko pytam o termin."};
    const char *hu[] = {"Bal oldalon van a bejárat.", "Krónikus késés."};
    expect_clean(en, N(en), REDACT_LANG_EN);
    expect_clean(de, N(de), REDACT_LANG_DE);
    expect_clean(pl, N(pl), REDACT_LANG_PL);
    expect_clean(hu, N(hu), REDACT_LANG_HU);
}

/* A body part near a pain/symptom word is one CONDITION. */
static void test_lay_phrases(void **state)
{
    (void)state;
    assert_string_equal(red("My knee hurts on stairs.", REDACT_LANG_EN), "My [CONDITION] on stairs.");
    assert_string_equal(red("I have pain in my left shoulder.", REDACT_LANG_EN),
                        "I have [CONDITION].");
    assert_string_equal(red("His feet are numb.", REDACT_LANG_EN), "His [CONDITION].");
    assert_string_equal(red("Das Knie tut weh.", REDACT_LANG_DE), "Das [CONDITION].");
    assert_string_equal(red("Seit gestern tut mir der Bauch weh.", REDACT_LANG_DE),
                        "Seit gestern [CONDITION].");
    assert_string_equal(red("Ich habe Schmerzen im Rücken.", REDACT_LANG_DE), "Ich habe [CONDITION].");
    assert_string_equal(red("Od rana boli mnie brzuch.", REDACT_LANG_PL), "Od rana [CONDITION].");
    assert_string_equal(red("Mam ból w klatce piersiowej.", REDACT_LANG_PL), "Mam [CONDITION].");
    assert_string_equal(red("Mam spuchniętą kostkę.", REDACT_LANG_PL), "Mam [CONDITION].");
    assert_string_equal(red("Zsibbad a lábam éjjel.", REDACT_LANG_HU), "[CONDITION] éjjel.");
    assert_string_equal(red("Fájdalom a mellkasomban.", REDACT_LANG_HU), "[CONDITION].");
    assert_string_equal(rule_of("my knee hurts", REDACT_LANG_EN), "health.lay");
    /* a body part or a pain word alone, or across a clause boundary */
    const char *en[] = {"Call me back after lunch.", "The head nurse is in.",
                        "It doesn't hurt to ask.", "On the other hand, Tuesday. It hurts nobody."};
    const char *de[] = {"Es tut mir leid, ich komme später.", "Der Rücken der Rechnung, bitte.",
                        "Das Knie. Es tut nichts zur Sache."};
    const char *pl[] = {"Nie boli, że termin jest późno.", "Głowa rodziny przyjdzie w piątek."};
    const char *hu[] = {"Hát, akkor jövök.", "A lábam. Fáj, hogy nem jöhetek."};
    expect_clean(en, N(en), REDACT_LANG_EN);
    expect_clean(de, N(de), REDACT_LANG_DE);
    expect_clean(pl, N(pl), REDACT_LANG_PL);
    expect_clean(hu, N(hu), REDACT_LANG_HU);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tail_compounds),
        cmocka_unit_test(test_umlaut_spellings),
        cmocka_unit_test(test_tail_stops),
        cmocka_unit_test(test_modifiers),
        cmocka_unit_test(test_lay_phrases),
    };
    return cmocka_run_group_tests(tests, redact_test_setup, redact_test_teardown);
}
