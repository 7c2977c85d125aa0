/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of policy/redact: check-digit validators against published
 * example numbers, the scanner on typical and look-alike messages in de, en,
 * pl, hu, redact_apply, the fail-closed behaviour with a short findings array,
 * and a linear-time smoke test on adversarial input. Corpus-level quality is
 * measured by tests/redact (redact_score), not here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "redact.h"
#include "redact_test.h"
#include "redact_ids.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define V(fn, s) fn(s, strlen(s))

static void test_validators(void **state)
{
    (void)state;
    assert_true(V(redact__pesel_valid, "44051401359"));
    assert_false(V(redact__pesel_valid, "44051401358"));
    assert_true(V(redact__nhs_valid, "9434765919"));
    assert_false(V(redact__nhs_valid, "9434765918"));
    assert_true(V(redact__iban_valid, "DE89370400440532013000"));
    assert_true(V(redact__iban_valid, "GB82WEST12345698765432"));
    assert_true(V(redact__iban_valid, "PL61109010140000071219812874"));
    assert_true(V(redact__iban_valid, "AT611904300234573201"));
    assert_false(V(redact__iban_valid, "DE89370400440532013001"));
    assert_false(V(redact__iban_valid, "DE8937040044053201300")); /* wrong length */
    assert_true(V(redact__at_svnr_valid, "1237010180"));
    assert_false(V(redact__at_svnr_valid, "1238010180"));
    assert_true(V(redact__nip_valid, "1234563218"));
    assert_false(V(redact__nip_valid, "1234563219"));
    assert_true(V(redact__taj_valid, "123456788"));
    assert_false(V(redact__taj_valid, "123456789"));
    assert_true(V(redact__kvnr_valid, "A123456780"));
    assert_false(V(redact__kvnr_valid, "A123456781"));
    assert_true(V(redact__steuerid_valid, "86095742719"));
    assert_false(V(redact__steuerid_valid, "86095742718"));
    assert_false(V(redact__steuerid_valid, "12345678901")); /* no repeated digit */
    assert_true(V(redact__ssn_shape, "123456789"));
    assert_false(V(redact__ssn_shape, "666123456"));
    assert_false(V(redact__ssn_shape, "900123456"));
}

static void test_scan_german(void **state)
{
    (void)state;
    assert_string_equal(
        red("Hallo, ich heiße Anna Schmidt, geb. 12.03.1980, ich nehme Ibuprofen 400 mg wegen "
            "Migräne",
            REDACT_LANG_DE),
        "Hallo, ich heiße [PERSON], geb. [DOB], ich nehme [MEDICATION] wegen [CONDITION]");
    assert_string_equal(
        red("KVNR A123456780, Tel. 0171 1234567, anna.s@example.de", REDACT_LANG_DE),
        "KVNR [HEALTH_ID], Tel. [PHONE], [EMAIL]");
    assert_string_equal(red("Wohne Hauptstraße 12, 10115 Berlin", REDACT_LANG_DE),
                        "Wohne [ADDRESS], [ADDRESS]");
    assert_string_equal(red("IBAN: DE89 3704 0044 0532 0130 00", REDACT_LANG_AUTO), "IBAN: [IBAN]");
    assert_string_equal(red("Diagnose laut Befund: E11.9", REDACT_LANG_DE),
                        "Diagnose laut Befund: [CONDITION]");
}

static void test_scan_other_languages(void **state)
{
    (void)state;
    assert_string_equal(
        red("Nazywam się Katarzyna Nowak, PESEL 44051401359, mam cukrzycę.", REDACT_LANG_PL),
        "Nazywam się [PERSON], PESEL [NATIONAL_ID], mam [CONDITION].");
    assert_string_equal(red("Kovács Anna vagyok, TAJ 123 456 788, asztmám van.", REDACT_LANG_HU),
                        "[PERSON] vagyok, TAJ [HEALTH_ID], [CONDITION] van.");
    assert_string_equal(
        red("My NHS number is 943 476 5919, call me on +44 7700 900123.", REDACT_LANG_EN),
        "My NHS number is [HEALTH_ID], call me on [PHONE].");
}

/* A bare year right after a birth word, US ZIP codes after a state code, and a
 * US street after an address word (not cut short as "postcode + city"). */
static void test_year_zip_street(void **state)
{
    (void)state;
    assert_string_equal(red("Patient born 1953, on apixaban.", REDACT_LANG_EN),
                        "Patient born [DOB], on [MEDICATION].");
    assert_string_equal(red("Mein Vater, Jahrgang 1947, hatte einen Schlaganfall.", REDACT_LANG_DE),
                        "Mein Vater, Jahrgang [DOB], hatte einen [CONDITION].");
    assert_string_equal(red("Our new address is 1420 Maple Avenue, Springfield, IL 62704.",
                            REDACT_LANG_EN),
                        "Our new address is [ADDRESS], Springfield, IL [ADDRESS].");
    assert_string_equal(red("Ship to Portland, OR 97205-1234 please", REDACT_LANG_EN),
                        "Ship to Portland, OR [ADDRESS] please");
    /* not a ZIP: no state code, a German text, a year without a birth word */
    const char *clean[] = {"Order 62704 shipped.", "Ticket IL 62704 closed.",
                           "Wir sehen uns im Jahr 2027 wieder.", "Springfield, IL 62704"};
    assert_string_equal(red(clean[0], REDACT_LANG_EN), clean[0]);
    assert_string_equal(red(clean[1], REDACT_LANG_EN), clean[1]);
    assert_string_equal(red(clean[2], REDACT_LANG_DE), clean[2]);
    assert_string_equal(red(clean[3], REDACT_LANG_DE), clean[3]);
}

/* Look-alikes from issue 6: invoice, order and room numbers, appointment
 * dates, prices and bare doses stay untouched. */
static void test_hard_negatives(void **state)
{
    (void)state;
    const char *clean[] = {
        "Rechnung Nr. 2024-004512 über 49,90 € bitte bis 12.03.2025 überweisen.",
        "Bestellnummer 4471123456, Zimmer 204, Termin am 14.05.2025 um 10:30 Uhr.",
        "Invoice 9434765919 paid.", /* valid NHS check digit, but an invoice */
        "Soll ich die Dosis von 400 mg auf 2 Tabletten erhöhen?",
        "Faktura nr 44051401359 opłacona.", /* valid PESEL, but an invoice */
        "A 112-es szobában várunk, 3. emelet.",
        "Parking costs $4.50 per hour.",
    };
    for (size_t i = 0; i < sizeof clean / sizeof clean[0]; i++)
        assert_string_equal(red(clean[i], REDACT_LANG_AUTO), clean[i]);
}

static void test_api_errors(void **state)
{
    (void)state;
    redact_finding f[4];
    size_t n = 99;
    char out[8];
    size_t olen;
    redact_lang l;
    assert_int_equal(redact_scan(NULL, "x", 1, REDACT_LANG_DE, f, 4, &n), REDACT_E_INVAL);
    assert_int_equal(n, 0);
    assert_int_equal(redact_scan(eng, "x", 1, (redact_lang)9, f, 4, &n), REDACT_E_INVAL);
    assert_int_equal(redact_scan(eng, "", 0, REDACT_LANG_DE, f, 4, &n), REDACT_OK);
    assert_int_equal(n, 0);
    assert_int_equal(redact_lang_parse("pl", &l), REDACT_OK);
    assert_int_equal(l, REDACT_LANG_PL);
    assert_int_equal(redact_lang_parse("xx", &l), REDACT_E_INVAL);
    assert_string_equal(redact_category_name(REDACT_IBAN), "IBAN");
    assert_string_equal(redact_category_name((redact_category)99), "UNKNOWN");
    redact_finding bad[2] = {{5, 9, REDACT_DOB, 0}, {2, 4, REDACT_DOB, 0}};
    assert_int_equal(redact_apply("0123456789", 10, bad, 2, out, sizeof out, &olen),
                     REDACT_E_INVAL);
    redact_finding one = {0, 1, REDACT_PERSON, 0};
    assert_int_equal(redact_apply("0123456789", 10, &one, 1, out, sizeof out, &olen),
                     REDACT_E_NOSPACE);
    redact_engine_free(NULL);
}

/* With too small a findings array the scan fails closed: the last finding
 * covers the rest of the text, so nothing after it leaks. */
static void test_fail_closed(void **state)
{
    (void)state;
    const char *s = "Anna, Migräne, Asthma, Tel 0171 1234567";
    redact_finding f[1];
    size_t n = 0;
    assert_int_equal(redact_scan(eng, s, strlen(s), REDACT_LANG_DE, f, 1, &n), REDACT_E_NOSPACE);
    assert_int_equal(n, 1);
    assert_int_equal(f[0].end, strlen(s));
}

/* Adversarial inputs must not make the scan superlinear. */
static void test_linear_time(void **state)
{
    (void)state;
    const char *pat[] = {"1 ", "a@", "Anna ", "0", "ul. ", "Hallo ", "DE89 ", "Migräne-", "\xc3"};
    size_t len = 1 << 20;
    char *buf = malloc(len);
    redact_finding *f = malloc(len * sizeof *f);
    assert_non_null(buf);
    assert_non_null(f);
    for (size_t p = 0; p < sizeof pat / sizeof pat[0]; p++) {
        size_t pl = strlen(pat[p]);
        for (size_t i = 0; i < len; i++)
            buf[i] = pat[p][i % pl];
        size_t n = 0;
        clock_t t0 = clock();
        assert_true(redact_scan(eng, buf, len, REDACT_LANG_AUTO, f, len, &n) == REDACT_OK);
        double sec = (double)(clock() - t0) / CLOCKS_PER_SEC;
        assert_true(sec < 5.0); /* 1 MiB; quadratic would take minutes; generous for sanitizers */
    }
    free(buf);
    free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validators),           cmocka_unit_test(test_scan_german),
        cmocka_unit_test(test_scan_other_languages), cmocka_unit_test(test_hard_negatives),
        cmocka_unit_test(test_api_errors),           cmocka_unit_test(test_fail_closed),
        cmocka_unit_test(test_linear_time),
        cmocka_unit_test(test_year_zip_street),
    };
    return cmocka_run_group_tests(tests, redact_test_setup, redact_test_teardown);
}
