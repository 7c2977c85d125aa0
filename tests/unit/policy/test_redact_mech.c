/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the class mechanisms in policy/redact: lab markers with their
 * result or value (health.finding), examinations with their object
 * (health.exam), state predicates on a body part (health.state), terms with
 * digits reaching the dictionary, and the 64-bit kind masks, in de, en, pl and
 * hu. Each mechanism is also checked on ordinary sentences it must leave alone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "redact.h"
#include "redact_test.h"

#include <string.h>

/* A lab marker with a result word or a value after it, or a result word
 * just before it: one CONDITION over the phrase. */
static void test_lab_findings(void **state)
{
    (void)state;
    assert_string_equal(red("Hi, my PSA came back raised, what now?", REDACT_LANG_EN),
                        "Hi, my [CONDITION], what now?");
    assert_string_equal(red("My kidney function is down again.", REDACT_LANG_EN),
                        "My [CONDITION] again.");
    assert_string_equal(red("The eGFR has fallen to 24.", REDACT_LANG_EN), "The [CONDITION].");
    assert_string_equal(red("Mein TSH ist zu niedrig.", REDACT_LANG_DE), "Mein [CONDITION].");
    assert_string_equal(red("Mein Blutdruck liegt bei 170 zu 100, was tun?", REDACT_LANG_DE),
                        "Mein [CONDITION], was tun?");
    assert_string_equal(red("Kalium: 6,1 mmol/l laut Labor.", REDACT_LANG_DE),
                        "[CONDITION] laut Labor.");
    assert_string_equal(red("Cukier na czczo za wysoki.", REDACT_LANG_PL), "[CONDITION].");
    assert_string_equal(red("Wyszło podwyższone TSH.", REDACT_LANG_PL), "Wyszło [CONDITION].");
    assert_string_equal(red("Nie, niska hemoglobina była u mamy.", REDACT_LANG_PL),
                        "Nie, [CONDITION] była u mamy.");
    assert_string_equal(red("Az orvos szerint magas a koleszterinem.", REDACT_LANG_HU),
                        "Az orvos szerint [CONDITION].");
    assert_string_equal(red("Emelkedett a májenzimem.", REDACT_LANG_HU), "[CONDITION].");
    assert_string_equal(rule_of("sodium was off", REDACT_LANG_EN), "health.finding");
    /* a result word after the value, a longer stretch, "at" after a value */
    assert_string_equal(red("Mein GGT ist auf 80 gestiegen, warum?", REDACT_LANG_DE),
                        "Mein [CONDITION], warum?");
    assert_string_equal(red("my bilirubin came back a bit high again", REDACT_LANG_EN),
                        "my [CONDITION] again");
    assert_string_equal(red("His ALT level was 95 at the last check.", REDACT_LANG_EN),
                        "His [CONDITION] at the last check.");
    /* "alt" (old) and "Ast" (branch) are not markers */
    assert_string_equal(red("Er ist 80 Jahre alt und hat 3 Enkel.", REDACT_LANG_AUTO),
                        "Er ist 80 Jahre alt und hat 3 Enkel.");
    /* a marker without a result, a time or a date after it, a result word
     * without a marker, another finding in between */
    const char *en[] = {"Can you check my blood pressure at 8 am?",
                        "Is the iron gate open?",
                        "The price is too high.",
                        "Sugar on 12.03.2026 at the cafe."};
    const char *de[] = {"Blutdruck messen am 12. März um 10 Uhr.", "Der Zucker ist im Schrank.",
                        "Die Miete ist zu hoch."};
    const char *pl[] = {"Ciśnienie w oponach jest w porządku.", "Mój brat jest wysoki."};
    const char *hu[] = {"A fiam magas és vékony.", "A cukor a polcon van."};
    expect_clean(en, N(en), REDACT_LANG_EN);
    expect_clean(de, N(de), REDACT_LANG_DE);
    expect_clean(pl, N(pl), REDACT_LANG_PL);
    expect_clean(hu, N(hu), REDACT_LANG_HU);
}

/* Terms with digits reach the dictionary (they used to go to the identifier
 * rules only). */
static void test_digit_terms(void **state)
{
    (void)state;
    assert_string_equal(red("My HbA1c is 58 mmol/mol.", REDACT_LANG_EN), "My [CONDITION].");
    assert_string_equal(red("Mein B12 ist zu niedrig.", REDACT_LANG_DE), "Mein [CONDITION].");
    /* identifiers with letters and digits are still identifiers */
    assert_string_equal(red("KVNR A123456780", REDACT_LANG_DE), "KVNR [HEALTH_ID]");
    const char *en[] = {"Order AB12C is ready.", "Room B12 is on the left."};
    expect_clean(en, N(en), REDACT_LANG_EN);
}

/* An examination with its object: one TREATMENT. */
static void test_exam_objects(void **state)
{
    (void)state;
    assert_string_equal(red("I need an MRI of the lumbar spine.", REDACT_LANG_EN),
                        "I need an [TREATMENT].");
    assert_string_equal(red("Sie bekommt Spritzen ins Auge.", REDACT_LANG_DE),
                        "Sie bekommt [TREATMENT].");
    assert_string_equal(red("Ich komme zur INR-Kontrolle.", REDACT_LANG_DE),
                        "Ich komme zur [TREATMENT].");
    assert_string_equal(red("Kiedy badanie tarczycy?", REDACT_LANG_PL), "Kiedy [TREATMENT]?");
    assert_string_equal(red("A májfunkciós vizsgálat jó volt.", REDACT_LANG_HU),
                        "A [TREATMENT] jó volt.");
    assert_string_equal(red("Die Untersuchung der Schilddrüse war gut.", REDACT_LANG_DE),
                        "Die [TREATMENT] war gut.");
    assert_string_equal(rule_of("scan of my knee", REDACT_LANG_EN), "health.exam");
    /* an exam word without an object is a service word */
    const char *en[] = {"The test of the fire alarm is on Monday.", "Scan the QR code, please."};
    const char *de[] = {"Die Kontrolle der Rechnung dauert.", "Bitte eine Aufnahme ins Archiv."};
    const char *pl[] = {"Badanie satysfakcji pacjentów.", "Kontrola biletów w autobusie."};
    const char *hu[] = {"A számla ellenőrzése folyamatban.", "A vizsgálat időpontja kedd."};
    expect_clean(en, N(en), REDACT_LANG_EN);
    expect_clean(de, N(de), REDACT_LANG_DE);
    expect_clean(pl, N(pl), REDACT_LANG_PL);
    expect_clean(hu, N(hu), REDACT_LANG_HU);
}

/* A body part or skin finding with a state predicate in one clause. */
static void test_states(void **state)
{
    (void)state;
    assert_string_equal(red("My wound is oozing.", REDACT_LANG_EN), "My [CONDITION].");
    assert_string_equal(red("and the knee gives way on stairs", REDACT_LANG_EN),
                        "and the [CONDITION] on stairs");
    assert_string_equal(red("Der Zahn darunter ist empfindlich.", REDACT_LANG_DE),
                        "Der [CONDITION].");
    assert_string_equal(red("Oko mi łzawi od rana.", REDACT_LANG_PL), "[CONDITION] od rana.");
    assert_string_equal(red("A sebe nem gyógyul.", REDACT_LANG_HU), "A [CONDITION].");
    /* the list engineers may also make a state word a pain word, and then
     * the lay rule finds the same phrase */
    const char *r = rule_of("the socket is weeping", REDACT_LANG_EN);
    assert_true(strcmp(r, "health.state") == 0 || strcmp(r, "health.lay") == 0);
    /* the subject is a body phrase over link words */
    assert_string_equal(red("The scar on my knee is still purple.", REDACT_LANG_EN),
                        "The [CONDITION].");
    /* coordinated body parts share the state after them */
    assert_string_equal(red("my feet and ankles are puffy tonight", REDACT_LANG_EN),
                        "my [CONDITION] tonight");
    assert_string_equal(red("A kezem és a lábam hideg.", REDACT_LANG_HU), "A [CONDITION].");
    /* a second state of the same body part joins the first */
    assert_string_equal(red("her wrist is swollen and bruised.", REDACT_LANG_EN), "her [CONDITION].");
    /* no body word as the subject, or a clause boundary between */
    const char *en[] = {"The door is stuck and the paint is peeling.",
                        "My hand. The soup was cold.", "Red or blue folder?"};
    const char *de[] = {"Die Tür ist empfindlich.", "Der Kaffee ist kalt."};
    const char *pl[] = {"Kran cieknie w łazience.", "Herbata jest zimna."};
    const char *hu[] = {"A leves hideg.", "A csap folyik."};
    expect_clean(en, N(en), REDACT_LANG_EN);
    expect_clean(de, N(de), REDACT_LANG_DE);
    expect_clean(pl, N(pl), REDACT_LANG_PL);
    expect_clean(hu, N(hu), REDACT_LANG_HU);
}

/* An inflected Hungarian or Polish word whose lemma is a listed term
 * (health.infl): suffixes peeled in order, Polish endings replaced; ordinary
 * words that fold the same stay clean. */
static void test_inflection(void **state)
{
    (void)state;
    assert_string_equal(red("Kérdésem van a fogyásról.", REDACT_LANG_HU),
                        "Kérdésem van a [CONDITION].");
    assert_string_equal(rule_of("Kérdésem van a fogyásról.", REDACT_LANG_HU), "health.infl");
    assert_string_equal(red("A görcsömről írnék.", REDACT_LANG_HU), "A [CONDITION] írnék.");
    assert_string_equal(red("Syn ma krostę na nosie.", REDACT_LANG_PL), "Syn ma [CONDITION] na nosie.");
    assert_string_equal(rule_of("Syn ma krostę na nosie.", REDACT_LANG_PL), "health.infl");
    assert_string_equal(red("Pytam o nagniotkę.", REDACT_LANG_PL), "Pytam o [CONDITION].");
    /* short stem vowel ("kanyar|ok", not "kanyaró"), a place name, a
     * fold-alike ("hányas" / "hányás"), verbs and verbal nouns, pliers */
    const char *hu[] = {"Sok kanyarok van az úton.", "Tegnap Rákoson voltam.",
                        "A hányasban laksz?", "Erősen szorongatta a kezem."};
    const char *pl[] = {"Podaj kleszcze.", "Toczenie drewna.", "Dach się zawala.",
                        "Po porodzie wracam do pracy."};
    expect_clean(hu, N(hu), REDACT_LANG_HU);
    expect_clean(pl, N(pl), REDACT_LANG_PL);
    /* other languages are not analysed */
    assert_string_equal(red("fogyásról", REDACT_LANG_DE), "fogyásról");
}

/* A hyphenated word takes its head's category as a whole; an examination
 * noun after a hyphen takes the first element as its object. */
static void test_hyphen_compounds(void **state)
{
    (void)state;
    assert_string_equal(red("Mikor lesz a kontroll-CT?", REDACT_LANG_HU), "Mikor lesz a [TREATMENT]?");
    assert_string_equal(red("Két éve volt szívbillentyű-műtéte.", REDACT_LANG_HU),
                        "Két éve volt [TREATMENT].");
    assert_string_equal(red("kérhetek torokváladék-vizsgálatot?", REDACT_LANG_HU),
                        "kérhetek [TREATMENT]?");
    assert_string_equal(red("Wann ist die Knie-OP?", REDACT_LANG_DE), "Wann ist die [TREATMENT]?");
    assert_string_equal(red("Brauche ich einen COVID-Test?", REDACT_LANG_DE),
                        "Brauche ich einen [TREATMENT]?");
    const char *en[] = {"I just wanted to double-check the time.", "Is there a re-test fee?"};
    const char *de[] = {"Die Kontroll-Untersuchung ist am Montag."};
    expect_clean(en, N(en), REDACT_LANG_EN);
    expect_clean(de, N(de), REDACT_LANG_DE);
}

/* A person-state adjective after a copula or feel/get verb with a person
 * subject (health.pstate): the adjective alone; complements and subjects
 * that are no person leave it alone. */
static void test_person_states(void **state)
{
    (void)state;
    /* the lists may hold the phrase too ("always tired"): the adjective is hidden either way */
    assert_null(strstr(red("I'm always tired lately.", REDACT_LANG_EN), "tired"));
    assert_string_equal(rule_of("Er ist seit gestern ganz benebelt.", REDACT_LANG_DE), "health.pstate");
    assert_string_equal(red("the tablets make me nauseous for two days", REDACT_LANG_EN),
                        "the tablets make me [CONDITION] for two days");
    assert_string_equal(red("My dad is weak and unsteady.", REDACT_LANG_EN),
                        "My dad is [CONDITION] and [CONDITION].");
    assert_string_equal(red("Er ist seit gestern ganz benebelt.", REDACT_LANG_DE),
                        "Er ist seit gestern ganz [CONDITION].");
    assert_string_equal(red("Mój tata jest ostatnio rozkojarzony.", REDACT_LANG_PL),
                        "Mój tata jest ostatnio [CONDITION].");
    assert_string_equal(red("Meine Tochter wird immer blasser.", REDACT_LANG_DE),
                        "Meine Tochter wird immer [CONDITION].");
    assert_string_equal(red("Mąż jest ciągle osłabiony i senny.", REDACT_LANG_PL),
                        "Mąż jest ciągle [CONDITION] i [CONDITION].");
    assert_string_equal(red("Czuję się osłabiona.", REDACT_LANG_PL), "Czuję się [CONDITION].");
    assert_string_equal(red("Apám egyre gyengébb.", REDACT_LANG_HU), "Apám egyre [CONDITION].");
    assert_null(strstr(red("Nagyon kimerült vagyok.", REDACT_LANG_HU), "kimerült"));
    assert_string_equal(red("Nagyon bágyadtabb vagyok.", REDACT_LANG_HU), "Nagyon [CONDITION] vagyok.");
    /* the copula does not swallow the phrase after it */
    assert_string_equal(red("can i get tested today", REDACT_LANG_EN), "can i [TREATMENT] today");
    const char *en[] = {"I'm tired of waiting for the invoice.", "I'm stuck in traffic.",
                        "The wifi signal is weak today.", "I'm sick of this parking."};
    const char *de[] = {"Ich bin gespannt, ob es klappt.", "Die Verbindung ist schwach.",
                        "Ich bin müde vom Warten.", "Das Bild wird blasser."};
    /* also when a list holds the copula phrase ("jestem zmęczona") */
    const char *pl[] = {"Jestem zmęczona czekaniem na fakturę.", "Zasięg jest słaby.",
                        "Jestem zmęczona tym formularzem."};
    const char *hu[] = {"Gyenge a wifi a szobában.", "Fáradt vagyok a sorban állástól.",
                        "Egyre drágább a parkolás."};
    expect_clean(en, N(en), REDACT_LANG_EN);
    expect_clean(de, N(de), REDACT_LANG_DE);
    expect_clean(pl, N(pl), REDACT_LANG_PL);
    expect_clean(hu, N(hu), REDACT_LANG_HU);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lab_findings),
        cmocka_unit_test(test_digit_terms),
        cmocka_unit_test(test_exam_objects),
        cmocka_unit_test(test_states),
        cmocka_unit_test(test_inflection),
        cmocka_unit_test(test_hyphen_compounds),
        cmocka_unit_test(test_person_states),
    };
    return cmocka_run_group_tests(tests, redact_test_setup, redact_test_teardown);
}
