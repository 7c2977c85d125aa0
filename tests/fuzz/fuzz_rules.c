/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target for the policy file parser: any bytes either parse into a handle whose
 * getters all answer, or fail with a message; never a crash, leak or out-of-bounds read.
 * A parsed "decisions" section never yields settings below the privacy floor: every
 * combination decide_message is asked about must answer, and never allow health data or
 * identifiers unredacted to a platform without a confirmation.
 */
#include <stdint.h>
#include <stdlib.h>
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
    static const redact_finding f[] = {{0, 1, REDACT_CONDITION, 0}, {2, 3, REDACT_IBAN, 0}};
    for (int ch = DECIDE_CH_WEB; ch <= DECIDE_CH_INSTAGRAM; ch++)
        for (size_t nf = 1; nf <= 2; nf++) {
            decide_input in = {DECIDE_OUTBOUND, (decide_channel)ch, DECIDE_SINK_DELIVERY, 0,
                               nf == 1 ? f : f + 1, 1, NULL, 0, rules_decisions(r)};
            decide_result res;
            if (decide_message(&in, &res) != REDACT_OK ||
                (ch != DECIDE_CH_WEB && res.action == DECIDE_ALLOW))
                abort(); /* the parser let a setting below the floor through */
        }
    (void)rules_may_override(r, "agent");
    (void)rules_suggest_secure_every_s(r);
    rules_free(r);
    return 0;
}
