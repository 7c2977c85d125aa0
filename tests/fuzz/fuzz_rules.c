/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target for the policy file parser: any bytes either parse into a handle whose
 * getters all answer, or fail with a message; never a crash, leak or out-of-bounds read.
 */
#include <stdint.h>
#include <string.h>

#include "rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rules *r = NULL;
    char err[256];
    if (rules_parse((const char *)data, size, &r, err, sizeof err) != RULES_OK)
        return 0;
    struct tm now = {.tm_year = 126, .tm_mon = 10, .tm_mday = 23, .tm_wday = 1, .tm_hour = 7};
    struct tm next;
    bool open, has_next;
    rules_office_state(r, &now, &open, &next, &has_next);
    static const char *const langs[] = {"de", "en", "pl", "hu", "xx"};
    for (int t = 0; t < RULES_TEXT_COUNT; t++)
        for (int l = 0; l < 5; l++)
            (void)strlen(rules_text(r, (rules_text_id)t, langs[l]));
    for (size_t i = 0; i < rules_emergency_count(r); i++)
        (void)strlen(rules_emergency_label(r, i, "pl"));
    (void)rules_is_official_contact(r, (const char *)data, size > 200 ? 200 : size);
    rules_free(r);
    return 0;
}
