/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Check-digit validators for the identifiers redact looks for. Pure functions
 * over compacted strings; see redact_ids.h. The algorithms are the published
 * ones (BMG/GKV for KVNR, DRV for RVNR, BZSt ISO 7064 MOD 11,10 for the
 * Steuer-ID, Hauptverband for the AT SVNR, GUS for PESEL, MF for NIP, NEAK for
 * TAJ, NAV for the HU ids, NHS Digital modulus 11, ISO 13616 for IBAN).
 *
 * Not here: locating candidates or weighing context (redact.c).
 */
#include "redact_ids.h"

#include <string.h>

static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static int dv(char c)
{
    return c - '0';
}

static int cross_sum(int v)
{
    return v / 10 + v % 10;
}

int redact__kvnr_valid(const char *s, size_t n)
{
    if (n != 10 || s[0] < 'A' || s[0] > 'Z' || !all_digits(s + 1, 9))
        return 0;
    int letter = s[0] - 'A' + 1;
    int d[10];
    d[0] = letter / 10;
    d[1] = letter % 10;
    for (int i = 0; i < 8; i++)
        d[2 + i] = dv(s[1 + i]);
    int sum = 0;
    for (int i = 0; i < 10; i++)
        sum += cross_sum(d[i] * ((i % 2) ? 2 : 1));
    return sum % 10 == dv(s[9]);
}

int redact__rvnr_valid(const char *s, size_t n)
{
    static const int w[12] = {2, 1, 2, 5, 7, 1, 2, 1, 2, 1, 2, 1};
    if (n != 12 || !all_digits(s, 8) || s[8] < 'A' || s[8] > 'Z' || !all_digits(s + 9, 3))
        return 0;
    int day = dv(s[2]) * 10 + dv(s[3]), mon = dv(s[4]) * 10 + dv(s[5]);
    if (day < 1 || day > 31 + 50 || (day > 31 && day <= 50) || mon < 1 || mon > 12)
        return 0; /* day + 50 marks an unknown birth day */
    int letter = s[8] - 'A' + 1;
    int d[12];
    for (int i = 0; i < 8; i++)
        d[i] = dv(s[i]);
    d[8] = letter / 10;
    d[9] = letter % 10;
    d[10] = dv(s[9]);
    d[11] = dv(s[10]);
    int sum = 0;
    for (int i = 0; i < 12; i++)
        sum += cross_sum(d[i] * w[i]);
    return sum % 10 == dv(s[11]);
}

int redact__steuerid_valid(const char *s, size_t n)
{
    if (n != 11 || !all_digits(s, 11) || s[0] == '0')
        return 0;
    int cnt[10] = {0};
    for (int i = 0; i < 10; i++)
        cnt[dv(s[i])]++;
    int multi = 0;
    for (int i = 0; i < 10; i++) {
        if (cnt[i] > 3)
            return 0;
        if (cnt[i] >= 2)
            multi++;
    }
    if (multi != 1)
        return 0;
    int product = 10;
    for (int i = 0; i < 10; i++) {
        int sum = (dv(s[i]) + product) % 10;
        if (sum == 0)
            sum = 10;
        product = (sum * 2) % 11;
    }
    int check = 11 - product;
    if (check == 10)
        check = 0;
    return check == dv(s[10]);
}

int redact__at_svnr_valid(const char *s, size_t n)
{
    static const int w[10] = {3, 7, 9, 0, 5, 8, 4, 2, 1, 6};
    if (n != 10 || !all_digits(s, 10) || s[0] == '0')
        return 0;
    int day = dv(s[4]) * 10 + dv(s[5]), mon = dv(s[6]) * 10 + dv(s[7]);
    if (day < 1 || day > 31 || mon < 1 || mon > 12)
        return 0;
    int sum = 0;
    for (int i = 0; i < 10; i++)
        sum += dv(s[i]) * w[i];
    return sum % 11 != 10 && sum % 11 == dv(s[3]);
}

int redact__pesel_valid(const char *s, size_t n)
{
    static const int w[10] = {1, 3, 7, 9, 1, 3, 7, 9, 1, 3};
    if (n != 11 || !all_digits(s, 11))
        return 0;
    int mon = (dv(s[2]) * 10 + dv(s[3])) % 20, day = dv(s[4]) * 10 + dv(s[5]);
    if (mon < 1 || mon > 12 || day < 1 || day > 31)
        return 0;
    int sum = 0;
    for (int i = 0; i < 10; i++)
        sum += dv(s[i]) * w[i];
    return (10 - sum % 10) % 10 == dv(s[10]);
}

int redact__nip_valid(const char *s, size_t n)
{
    static const int w[9] = {6, 5, 7, 2, 3, 4, 5, 6, 7};
    if (n != 10 || !all_digits(s, 10) || memcmp(s, "000", 3) == 0)
        return 0;
    int sum = 0;
    for (int i = 0; i < 9; i++)
        sum += dv(s[i]) * w[i];
    return sum % 11 != 10 && sum % 11 == dv(s[9]);
}

int redact__taj_valid(const char *s, size_t n)
{
    if (n != 9 || !all_digits(s, 9))
        return 0;
    int sum = 0;
    for (int i = 0; i < 8; i++)
        sum += dv(s[i]) * ((i % 2) ? 7 : 3);
    return sum % 10 == dv(s[8]);
}

int redact__hu_personal_valid(const char *s, size_t n)
{
    if (n != 11 || !all_digits(s, 11) || s[0] < '1' || s[0] > '8')
        return 0;
    int mon = dv(s[3]) * 10 + dv(s[4]), day = dv(s[5]) * 10 + dv(s[6]);
    if (mon < 1 || mon > 12 || day < 1 || day > 31)
        return 0;
    int a = 0, b = 0;
    for (int i = 0; i < 10; i++) {
        a += dv(s[i]) * (i + 1);  /* born before 1997 */
        b += dv(s[i]) * (10 - i); /* born 1997 or later */
    }
    int c = dv(s[10]);
    return (a % 11 != 10 && a % 11 == c) || (b % 11 != 10 && b % 11 == c);
}

int redact__hu_tax_valid(const char *s, size_t n)
{
    if (n != 10 || !all_digits(s, 10) || s[0] != '8')
        return 0;
    int sum = 0;
    for (int i = 0; i < 9; i++)
        sum += dv(s[i]) * (i + 1);
    return sum % 11 != 10 && sum % 11 == dv(s[9]);
}

int redact__nhs_valid(const char *s, size_t n)
{
    if (n != 10 || !all_digits(s, 10))
        return 0;
    int sum = 0;
    for (int i = 0; i < 9; i++)
        sum += dv(s[i]) * (10 - i);
    int c = 11 - sum % 11;
    if (c == 11)
        c = 0;
    return c != 10 && c == dv(s[9]);
}

int redact__ssn_shape(const char *s, size_t n)
{
    if (n != 9 || !all_digits(s, 9))
        return 0;
    if (memcmp(s, "000", 3) == 0 || memcmp(s, "666", 3) == 0 || s[0] == '9')
        return 0;
    return memcmp(s + 3, "00", 2) != 0 && memcmp(s + 5, "0000", 4) != 0;
}

/* ISO 13616 registry lengths, country code followed by total length. */
static const char iban_table[] =
    "AD24AE23AL28AT20AZ28BA20BE16BG22BH22BI27BR29BY28CH21CR22CY28CZ24DE22DJ27DK18DO28"
    "EE20EG29ES24FI18FK18FO18FR27GB22GE22GI23GL18GR27GT28HR21HU28IE22IL23IQ23IS26IT27"
    "JO30KW30KZ20LB28LC32LI21LT20LU20LV21LY25MC27MD24ME22MK19MN20MR27MT31MU30NI28NL18"
    "NO15OM23PK24PL28PS29QA29RO24RS22RU33SA24SC31SD18SE24SI19SK24SM27SO23ST25SV28TL23"
    "TN24TR26UA29VA22VG24XK20YE30";

size_t redact__iban_length(const char *s, size_t n)
{
    if (n < 2)
        return 0;
    for (size_t i = 0; i + 4 <= sizeof iban_table - 1; i += 4)
        if (iban_table[i] == s[0] && iban_table[i + 1] == s[1])
            return (size_t)((iban_table[i + 2] - '0') * 10 + (iban_table[i + 3] - '0'));
    return 0;
}

int redact__iban_valid(const char *s, size_t n)
{
    if (n < 15 || n > 34 || redact__iban_length(s, n) != n)
        return 0;
    if (s[2] < '0' || s[2] > '9' || s[3] < '0' || s[3] > '9')
        return 0;
    unsigned rem = 0;
    for (size_t k = 0; k < n; k++) {
        char c = s[(k + 4) % n];
        if (c >= '0' && c <= '9') {
            rem = (rem * 10 + (unsigned)(c - '0')) % 97;
        } else if (c >= 'A' && c <= 'Z') {
            unsigned v = (unsigned)(c - 'A') + 10;
            rem = (rem * 100 + v) % 97;
        } else {
            return 0;
        }
    }
    return rem == 1;
}
