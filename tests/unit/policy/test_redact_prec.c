/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of the precision families of the fifth session: state adjectives
 * after a copula need a person subject (the lists no longer hold "is pale",
 * "gets stiff" with any subject, nor "erschöpft" or "blind" alone; person
 * states do it), kinship words that make a person subject ("my father is
 * blind"), and brand names that are ordinary words in another language once
 * folded (listed only for the languages where they are no word), and
 * acronyms that count only in capitals (kind caps: ALS and "als").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "redact.h"
#include "redact_test.h"

#include <string.h>

/* "is/looks/gets + adjective" with a thing as subject stays clean; with a
 * person subject the adjective alone is the CONDITION, as the guideline
 * labels it. */
static void test_copula_states(void **state)
{
    (void)state;
    const char *en[] = {"The sky is pale.", "The sky looks pale.", "The table is wobbly.",
                        "The signal is weak.", "The dough gets stiff in the fridge.",
                        "The window blind is broken.", "The code is bloated."};
    expect_clean(en, N(en), REDACT_LANG_EN);
    EQ("My son is pale and shaky.", EN, "My son is [CONDITION] and [CONDITION].");
    EQ("I feel really shaky.", EN, "I feel really [CONDITION].");
    EQ("He has been a bit wobbly since the fall.", EN,
       "He has been a bit [CONDITION] since the fall.");
    EQ("My father is blind.", EN, "My father is [CONDITION].");
    EQ("My baby is floppy.", EN, "My baby is [CONDITION].");
    assert_string_equal(rule_of("My mother is pale.", REDACT_LANG_EN), "health.pstate");
    /* a colour change with "gone"/"turned" still names the complaint */
    EQ("My toe has gone purple.", EN, "My [CONDITION].");
    /* a pronoun standing for a body part named before: the state alone,
     * and nothing without such a body part or complaint */
    EQ("Das Sprunggelenk verknackst, es ist blau und dick.", DE,
       "Das [CONDITION], es ist [CONDITION].");
    EQ("Das Knie tut weh. Es ist blau.", DE, "Das [CONDITION]. Es ist [CONDITION].");
    CLEAN("Die Suppe, sie ist dick.", DE);
    CLEAN("Das Wetter heute: es ist blau und klar.", DE);
    CLEAN("Mein Auto, es ist rot.", DE);
    const char *de[] = {"Der Speicher ist erschöpft.", "Kontingent erschöpft.",
                        "Das Budget ist ausgelaugt.", "Der Abfluss ist verstopft."};
    expect_clean(de, N(de), REDACT_LANG_DE);
    EQ("Ich bin total erschöpft.", DE, "Ich bin total [CONDITION].");
    EQ("Mein Vater ist völlig erschöpft.", DE, "Mein Vater ist [CONDITION].");
    EQ("Ich fühle mich schlapp.", DE, "Ich fühle mich [CONDITION].");
}

/* Brand names that fold to an ordinary word of another language. */
static void test_brand_collisions(void **state)
{
    (void)state;
    CLEAN("Az órajel gyors.", HU);
    CLEAN("Órajel", HU);
    CLEAN("A pille a lámpa körül repül.", HU);
    CLEAN("Dominál a csapat.", HU);
    CLEAN("We are a foster family.", EN);
    EQ("I use Orajel for my gums.", EN, "I use [MEDICATION] for my gums.");
    EQ("Nehme ich die Pille weiter?", DE, "Nehme ich die [MEDICATION] weiter?");
    EQ("Ich nehme Foster morgens.", DE, "Ich nehme [MEDICATION] morgens.");
    EQ("Biorę Foster rano.", PL, "Biorę [MEDICATION] rano.");
}

/* An acronym whose lower-case form is an ordinary word counts only in
 * capitals, in every language and in auto (all lists at once). */
static void test_acronym_caps(void **state)
{
    (void)state;
    const char *clean[] = {"Mehr als zwei Termine.", "Ich gehe zum Arzt.", "Als Kind war ich oft da.",
                           "My pet is a cat.", "Tens of people were waiting.", "A tavi szezon.",
                           "Az úti okmány kész.", "Hív a recepció."};
    expect_clean(clean, N(clean), REDACT_LANG_AUTO);
    EQ("He has ALS.", AUTO, "He has [CONDITION].");
    EQ("He had a PET scan.", EN, "He had a [TREATMENT].");
    EQ("TAVI geplant.", DE, "[TREATMENT] geplant.");
    EQ("My UTI is back.", EN, "My [CONDITION] is back.");
    EQ("Sie hat HIV.", DE, "Sie hat [CONDITION].");
}

/* Misses of heldout10-12 as families: person states after a coordinated
 * copula or "makes me", lab markers not in the lists (an acronym before a
 * value word), an initial without its dot, laser treatments, tears of the
 * retina, a contrast agent with its scan. */
static void test_miss_families(void **state)
{
    (void)state;
    EQ("Sie hat seit gestern Durchfall und ist sehr schwach.", DE,
       "Sie hat seit gestern [CONDITION] und ist sehr [CONDITION].");
    EQ("He has COPD and is very weak.", EN, "He has [CONDITION] and is very [CONDITION].");
    EQ("Cetirizin macht mich so müde.", DE, "[MEDICATION] macht mich so [CONDITION].");
    EQ("The methotrexate makes me nauseous.", EN, "The [MEDICATION] makes me [CONDITION].");
    EQ("Meine AMH-Werte sind sehr niedrig.", DE, "Meine [CONDITION].");
    EQ("My AMH levels are very low.", EN, "My [CONDITION].");
    EQ("Az AMH-szintje alacsony.", HU, "Az [CONDITION].");
    EQ("Refunds please to account name J Kowalczyk-Reid.", EN,
       "Refunds please to account name [PERSON].");
    EQ("Floaters after laser treatment for a retinal tear?", EN,
       "[CONDITION] after [TREATMENT] for a [CONDITION]?");
    EQ("Do I stop metformin before the CT scan with contrast?", EN,
       "Do I stop [MEDICATION] before the [TREATMENT]?");
    EQ("My father, Desmond O'Neill, has COPD.", EN, "My father, [PERSON], has [CONDITION].");
    EQ("I am Sean O\xe2\x80\x99" "Brien.", EN, "I am [PERSON].");
    EQ("Mum (Joan Barrow, b. 1937) has a pressure sore.", EN,
       "Mum ([PERSON], b. [DOB]) has a [CONDITION].");
    EQ("Babcia (Stanisława Kubiak) po udarze.", PL, "Babcia ([PERSON]) po [CONDITION].");
    EQ("Évek óta pánikbeteg vagyok.", HU, "Évek óta [CONDITION] vagyok.");
    EQ("Od miesiąca boli ją w nadbrzuszu.", PL, "Od miesiąca [CONDITION].");
    CLEAN("Oh, O'Reilly's pub is open.", EN);
    const char *en[] = {"The server has errors and is very slow.", "This makes me tired of waiting.",
                        "The WHO levels are fine.", "The CO2 level was too high in the room.",
                        "Hi I Need help."};
    const char *de[] = {"Der Server hat Fehler und ist sehr langsam.", "Die ADAC-Werte sind gut.",
                        "Das macht mich müde vom Warten."};
    expect_clean(en, N(en), REDACT_LANG_EN);
    expect_clean(de, N(de), REDACT_LANG_DE);
    CLEAN("Dzień dobry, W Krakowie jest ładnie.", PL);
}

/* Streets without a street word before a postal code found as an address,
 * German compounds on -kamp/-stieg/-twiete, a two-word town after a comma
 * before a UK postcode. */
static void test_addresses(void **state)
{
    (void)state;
    EQ("Mieszkam przy Lipowa 7, 05-070 Sulejówek.", PL, "Mieszkam przy [ADDRESS], [ADDRESS].");
    EQ("Post an Weidenkamp 23a, 67434 Neustadt an der Weinstraße?", DE,
       "Post an [ADDRESS], [ADDRESS]?");
    EQ("Ich wohne Am Hang 4, 10115 Berlin.", DE, "Ich wohne [ADDRESS], [ADDRESS].");
    EQ("Flat 2, 5 Mill Lane, Market Harborough LE16 7AA.", EN, "[ADDRESS], [ADDRESS].");
    CLEAN("Zimmer 7, 10115 Berlin", DE);
    CLEAN("Send 7, 10115 items.", EN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copula_states),
        cmocka_unit_test(test_brand_collisions),
        cmocka_unit_test(test_acronym_caps),
        cmocka_unit_test(test_miss_families),
        cmocka_unit_test(test_addresses),
    };
    return cmocka_run_group_tests(tests, redact_test_setup, redact_test_teardown);
}
