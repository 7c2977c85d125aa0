/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal to redact: check-digit validators for personal identifiers. Each
 * takes the identifier already compacted (separators removed, letters
 * upper-case) and returns 1 when the check digit and the structural rules
 * (date fields, forbidden ranges) hold, else 0. They never read past n.
 *
 * Not here: finding the candidates in text (redact.c) and deciding whether a
 * valid number is an identifier in context (negative context words).
 */
#ifndef REDACT_IDS_H
#define REDACT_IDS_H

#include <stddef.h>

int redact__kvnr_valid(const char *s, size_t n);        /* DE health insurance, A123456789 */
int redact__rvnr_valid(const char *s, size_t n);        /* DE pension insurance, 12 chars */
int redact__steuerid_valid(const char *s, size_t n);    /* DE tax id, 11 digits */
int redact__at_svnr_valid(const char *s, size_t n);     /* AT social insurance, 10 digits */
int redact__pesel_valid(const char *s, size_t n);       /* PL, 11 digits */
int redact__nip_valid(const char *s, size_t n);         /* PL tax id, 10 digits */
int redact__taj_valid(const char *s, size_t n);         /* HU health insurance, 9 digits */
int redact__hu_personal_valid(const char *s, size_t n); /* HU személyi szám, 11 digits */
int redact__hu_tax_valid(const char *s, size_t n);      /* HU adóazonosító jel, 10 digits */
int redact__nhs_valid(const char *s, size_t n);         /* UK NHS number, 10 digits */
int redact__ssn_shape(const char *s, size_t n);         /* US SSN ranges, 9 digits */
/* IBAN of any registered country: country length table and ISO 7064 mod 97.
 * Returns the expected length for the country code of s (0 if unknown). */
size_t redact__iban_length(const char *s, size_t n);
int redact__iban_valid(const char *s, size_t n);

#endif
