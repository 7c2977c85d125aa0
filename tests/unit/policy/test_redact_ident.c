/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of policy/redact's identity rules (DOB, ADDRESS, PERSON, PHONE)
 * that were added to generalise beyond the development corpus: each rule has
 * positives in the four languages and hard negatives (appointment dates,
 * invoice and room numbers, prices, times, German capitalised nouns).
 * test_redact.c covers the older rules and the API.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "redact.h"
#include "redact_test.h"

#include <string.h>


/* Dates of birth without a birth word before them. */
static void test_dob(void **state)
{
    (void)state;
    /* a recent full date right after a kinship word or a name */
    EQ("Córka (12.06.2011) ma gorączkę.", PL, "Córka ([DOB]) ma [CONDITION].");
    EQ("Mein Sohn (07.07.2009) braucht ein Attest.", DE, "Mein Sohn ([DOB]) braucht ein Attest.");
    EQ("my daughter Ava (03/02/2017) has a cough", EN, "my daughter [PERSON] ([DOB]) has a [CONDITION]");
    EQ("Max Müller, 03.04.2015, hat Fieber.", DE, "[PERSON], [DOB], hat [CONDITION].");
    /* a year or date before the birth word */
    EQ("A férjem 1958-ban született.", HU, "A férjem [DOB]-ban született.");
    EQ("1975. március 3-án születtem.", HU, "[DOB]-án születtem.");
    EQ("Ich bin 2012 geboren.", DE, "Ich bin [DOB] geboren.");
    EQ("Urodziłam się w 1962 roku.", PL, "Urodziłam się w [DOB] roku.");
    /* a bare year alone in brackets after a name or a kinship word, or after "Jg." */
    EQ("Our daughter Mia (2015) needs a slot.", EN, "Our daughter [PERSON] ([DOB]) needs a slot.");
    EQ("A lányom (2018) holnap jön.", HU, "A lányom ([DOB]) holnap jön.");
    EQ("Bei meiner Frau (Renate, Jg. 1958) ist alles gut.", DE,
       "Bei meiner Frau ([PERSON], Jg. [DOB]) ist alles gut.");
    CLEAN("Rechnung (2019) bitte neu schicken.", DE);
    /* English ordinals */
    EQ("My son was born on the 3rd of May 2015.", EN, "My son was born on the [DOB].");
    EQ("Date of birth: May 3rd, 2016", EN, "Date of birth: [DOB]");
    /* one birth word, one birth date: the appointment after it stays */
    EQ("DOB: 11/30/1975. I have an appointment on 12/04/2026 at 9:15.", EN,
       "DOB: [DOB]. I have an appointment on 12/04/2026 at 9:15.");
    /* negatives: an appointment after a name, ages, a future year */
    EQ("Frau Keller, 14.03.2027 um 10:30 passt.", DE, "Frau [PERSON], 14.03.2027 um 10:30 passt.");
    CLEAN("He is 42 years old, weighs 80 kg.", EN);
    CLEAN("Wir sehen uns 2027 wieder, Termin 12.12.2026 um 8 Uhr.", DE);
    CLEAN("Wizyta 12.12.2026 o 8:30, gabinet 3.", PL);
    CLEAN("Az időpont 2026. december 3., 14:00 óra.", HU);
}

/* Addresses: multi-word cities, a town before a UK postcode, an English street
 * without a street word before it, German streets with an adjective. */
/* An eponym that also complements a disease ("Morbus Wilson") is still a surname; a
 * Hungarian given name keeps its case ending. */
static void test_eponym_surname(void **state)
{
    (void)state;
    /* Hungarian case endings on a given name after the family name */
    EQ("Beszéltem Kiss Péterrel tegnap.", HU, "Beszéltem [PERSON] tegnap.");
    EQ("A férjemnél, Oláh Zoltánnál (1971) tavaly volt.", HU, "A férjemnél, [PERSON] ([DOB]) tavaly volt.");
    CLEAN("A Budapest Bankban voltam, holnap Debrecenben leszek.", HU);
    EQ("mein Vater Horst Pfeiffer (geb. 17. August 1941) kommt", DE,
       "mein Vater [PERSON] (geb. [DOB]) kommt");
    EQ("Hallo, hier Anna Wilson, ich habe Morbus Paget.", DE,
       "Hallo, hier [PERSON], ich habe [CONDITION].");
}

static void test_address(void **state)
{
    (void)state;
    /* German street names without a street word, after more prepositions */
    EQ("Wir wohnen Hinter den Gärten 6, 12345 Berlin.", DE, "Wir wohnen [ADDRESS], [ADDRESS].");
    EQ("Adresse: Hinterm Hagen 14a, 37073 Göttingen", DE, "Adresse: [ADDRESS], [ADDRESS]");
    CLEAN("Hinter dem Haus 4 Autos, vor dem Essen 2 Tabletten.", DE);
    EQ("Goethestraße 12a, 60313 Frankfurt am Main", DE, "[ADDRESS], [ADDRESS]");
    EQ("Auf der Heide 21, 06108 Halle (Saale)", DE, "[ADDRESS], [ADDRESS]");
    EQ("Adresse: 61348 Bad Homburg vor der Höhe, bitte", DE, "Adresse: [ADDRESS], bitte");
    EQ("Post an Offenbacher Landstraße 12, bitte.", DE, "Post an [ADDRESS], bitte.");
    EQ("Adres: pl. Wolności 3, 33-300 Nowy Sącz.", PL, "Adres: [ADDRESS], [ADDRESS].");
    EQ("ul. Lipowa 8, 21-500 Biała Podlaska", PL, "[ADDRESS], [ADDRESS]");
    EQ("6800 Hódmezővásárhely, Andrássy út 5.", HU, "[ADDRESS], [ADDRESS]");
    EQ("Send it to 52 Kingsway, Leeds LS6 2QN please", EN, "Send it to [ADDRESS], [ADDRESS] please");
    EQ("Flat 3, 12 Highfield, Sheffield S10 2TN", EN, "[ADDRESS], [ADDRESS]");
    EQ("18 Parkside, Newcastle upon Tyne NE2 4AA", EN, "[ADDRESS], [ADDRESS]");
    EQ("7 The Crescent, Bath BA1 2LR", EN, "[ADDRESS], [ADDRESS]");
    /* negatives: a city in ordinary talk, a postcode-like number before a
     * sentence, a room and an invoice number, German capitalised nouns */
    CLEAN("Ich komme aus Frankfurt am Main und arbeite in Offenbach.", DE);
    CLEAN("Die Praxis ist im Haus 3, Zimmer 12, Eingang Nord.", DE);
    CLEAN("Invoice 20931, Room 12, Leeds office.", EN);
    CLEAN("We have 12 Patients, Leeds Clinic.", EN);
    CLEAN("Bitte 2 Tabletten am Morgen, Montag bis Freitag.", DE);
}

/* Names: Hungarian married names, a surname that is also a price/room word. */
static void test_person(void **state)
{
    (void)state;
    /* a surname that folds like a dose unit stem ("Hub*" once matched "Hübner") */
    EQ("Hallo, ich bin Jonas Hübner.", DE, "Hallo, ich bin [PERSON].");
    /* a name right before the birth word */
    EQ("Versichertennummer neu. Selin Aydın, geb. 17.04.1990", DE,
       "Versichertennummer neu. [PERSON], geb. [DOB]");
    EQ("For Maisie Hughes, born 14th February 2017: thanks", EN, "For [PERSON], born [DOB]: thanks");
    EQ("Die Patientin, geb. 1950, hat Fragen.", DE, "Die Patientin, geb. [DOB], hat Fragen.");
    CLEAN("Hallo, Buchungsnummer 55-KX-1208, wir kommen erst um 18 Uhr.", DE);
    EQ("Bitte 2 Hübe Salbutamol.", DE, "Bitte 2 Hübe [MEDICATION].");
    EQ("Beszéltem Kovácsné asszisztenssel.", HU, "Beszéltem [PERSON] asszisztenssel.");
    EQ("Holnap Nagy Jánosné jön be.", HU, "Holnap [PERSON] jön be.");
    EQ("I'm Daniel Price, I need my results.", EN, "I'm [PERSON], I need my results.");
    EQ("Pozdrawiam\nGosia Zielińska", PL, "Pozdrawiam\n[PERSON]");
    EQ("Szia, Zsuzsi vagyok, a fiam Pisti.", HU, "Szia, [PERSON] vagyok, a fiam [PERSON].");
    EQ("Horváthné Kiss Mária vagyok.", HU, "[PERSON] [PERSON] vagyok.");
    EQ("Umówiłam się u doktora Nowaka na czwartek.", PL, "Umówiłam się u doktora [PERSON] na czwartek.");
    EQ("Córka Maja ma gorączkę.", PL, "Córka [PERSON] ma [CONDITION].");
    EQ("Dzwonię w imieniu męża, Andrzeja Lewandowskiego.", PL, "Dzwonię w imieniu męża, [PERSON].");
    EQ("Für meine Schwiegermutter Erna Lutz (03.02.1938) bitte.", DE,
       "Für meine Schwiegermutter [PERSON] ([DOB]) bitte.");
    CLEAN("Mamy 12.03.2027 wizytę, syna 12.03.2027 o 9:00.", PL);
    EQ("Hi, this is Trevor Hollis, ringing about my wife.", EN,
       "Hi, this is [PERSON], ringing about my wife.");
    CLEAN("ul. 3 Maja to ulica, córka 3 maja miała urodziny", PL);
    /* unknown names opening a message or a line, and a signature line */
    EQ("Herbert Maier, ich wollte fragen.", DE, "[PERSON], ich wollte fragen.");
    EQ("Gordon McAllister, I was wondering.", EN, "[PERSON], I was wondering.");
    EQ("Zdzisław Kowalczyk, chciałem zapytać.", PL, "[PERSON], chciałem zapytać.");
    EQ("Danke!\nOttokar Brenninger", DE, "Danke!\n[PERSON]");
    /* negatives: a polite conditional verb at the start of a sentence,
     * title-case phrases and German adjective + noun openings */
    CLEAN("Megnézné a leletemet? Elküldené holnap?", HU);
    CLEAN("Der Preis ist 12 Euro.", DE);
    CLEAN("Quick Question, are you open?", EN);
    CLEAN("Kurze Frage, ich habe morgen Zeit.", DE);
    CLEAN("Wesołych Świąt, pozdrawiam.", PL);
    CLEAN("Boldog Karácsonyt, üdv.", HU);
    CLEAN("Noch Fragen, melden Sie sich.", DE);
    CLEAN("Thanks!\nSee You", EN);
    CLEAN("Sehr geehrte Damen und Herren, bitte um Rückruf.", DE);
    CLEAN("Dear Sir or Madam, please call.", EN);
    CLEAN("Tisztelt Uram, kérdeznék valamit.", HU);
    CLEAN("Danke\nBis Bald", DE);
}

/* Phones with spaced separators; look-alikes stay untouched. */
static void test_phone(void **state)
{
    (void)state;
    EQ("Bitte unter 0761 / 12 34 56 anrufen.", DE, "Bitte unter [PHONE] anrufen.");
    EQ("Festnetz 0170 - 1234567", DE, "Festnetz [PHONE]");
    EQ("Call +44 (0)20 7946 0958 or 212.555.0187.", EN, "Call [PHONE] or [PHONE].");
    EQ("Hívjon: 06-30/123-4567 vagy +36 (30) 123-4567", HU, "Hívjon: [PHONE] vagy [PHONE]");
    EQ("Mój numer: +48 601-234-567.", PL, "Mój numer: [PHONE].");
    CLEAN("Zeitraum 2019 - 2023, Kosten 100 - 200 EUR, Zimmer 4 - 5.", DE);
    CLEAN("Invoice 2026 / 0441 dated 01/10/2026, room 12 - 14.", EN);
    CLEAN("Faktura nr 2026/11/0345 na kwotę 250,00 zł.", PL);
}

/* German streets without a street word, followed by their town. */
static void test_street_pre_town(void **state)
{
    (void)state;
    EQ("Wir wohnen An der Mühle 7 in 83022 Rosenheim.", DE, "Wir wohnen [ADDRESS] in [ADDRESS].");
    EQ("Meine Adresse: Im Winkel 3, 4020 Linz", DE, "Meine Adresse: [ADDRESS], [ADDRESS]");
    EQ("Címem: 1117 Budapest, Bogdánfy utca 7/B.", HU, "Címem: [ADDRESS], [ADDRESS]");
    EQ("My address is 52 Kingsway.", EN, "My address is [ADDRESS].");
    EQ("I live at 9 Elm Grove, near the park.", EN, "I live at [ADDRESS], near the park.");
    CLEAN("Ich wohne 5 Minuten entfernt.", DE);
    CLEAN("Am Montag 3 in der Früh?", DE);
    CLEAN("Im Jahr 2019 in Berlin war ich gesund.", DE);
}

/* Identity details written the way people write them: abbreviated months, a flat before a
 * UK street, an initial before a surname, double-barrelled Hungarian family names, relatives
 * named with a diminutive, regional adjectives in Polish town names, Hungarian floor/door. */
static void test_identity_forms(void **state)
{
    (void)state;
    EQ("my father, DOB 11 Feb 1946, needs a dressing", EN, "my father, DOB [DOB], needs a dressing");
    EQ("born 3 Sept. 1950", EN, "born [DOB]");
    EQ("Date of birth: Oct 4, 1961.", EN, "Date of birth: [DOB].");
    EQ("szül.: 1958. febr. 3.", HU, "szül.: [DOB]");
    CLEAN("We are open 11 Feb to 20 Feb.", EN);
    CLEAN("Bitte bis 12 Jan. 2027 zahlen, wir kommen am 3. Feb. vorbei.", DE);
    EQ("Please update my address to Flat 3, 27 Marlowe Road, Bristol BS7 9QT.", EN,
       "Please update my address to [ADDRESS], [ADDRESS].");
    EQ("New address: Apartment 12B, 4 Crown Street.", EN, "New address: [ADDRESS].");
    CLEAN("Flat 3, 27 people were waiting.", EN);
    EQ("Rezept bitte bis Donnerstag. Gruß M. Dittrich", DE, "Rezept bitte bis Donnerstag. Gruß [PERSON]");
    EQ("Kind regards, J. Okafor", EN, "Kind regards, [PERSON]");
    EQ("For the refund, account name M. Adeyemi.", EN, "For the refund, account name [PERSON].");
    CLEAN("Gruß M. und Team", DE);
    EQ("Időpontot kérnék. Szabó-Lengyel Katalin", HU, "Időpontot kérnék. [PERSON]");
    EQ("Wnuczek Kacperek ma gips.", PL, "Wnuczek [PERSON] ma [TREATMENT].");
    EQ("Mein Enkelsohn Jonas kommt mit.", DE, "Mein Enkelsohn [PERSON] kommt mit.");
    CLEAN("Kann man damit auch im Sommer beginnen? Oder nur im Parkhaus?", AUTO);
    EQ("hi im Daniel Okafor, can I book?", EN, "hi im [PERSON], can I book?");
    EQ("Apósom Parkinson-kóros, egyre jobban remeg.", HU, "Apósom [CONDITION], egyre jobban remeg.");
    EQ("Proszę zmienić adres na ul. Kasztanowa 12/4, 05-100 Nowy Dwór Mazowiecki. Telefon bez zmian.",
       PL, "Proszę zmienić adres na [ADDRESS], [ADDRESS]. Telefon bez zmian.");
    EQ("Megváltozott a címem: 6720 Szeged, Petőfi Sándor sugárút 23. II/5. Kérem", HU,
       "Megváltozott a címem: [ADDRESS], [ADDRESS]. Kérem");
    EQ("Címem: 1036 Budapest, Lajos utca 18. fsz. 2.", HU, "Címem: [ADDRESS], [ADDRESS]");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dob),
        cmocka_unit_test(test_eponym_surname),
        cmocka_unit_test(test_address),
        cmocka_unit_test(test_person),
        cmocka_unit_test(test_phone),
        cmocka_unit_test(test_street_pre_town),
        cmocka_unit_test(test_identity_forms),
    };
    return cmocka_run_group_tests(tests, redact_test_setup, redact_test_teardown);
}
