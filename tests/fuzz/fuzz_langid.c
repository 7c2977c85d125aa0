/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target for the language guess: any bytes (invalid UTF-8, NUL bytes, words
 * longer than the table's) give one of the five answers, the points add up to no
 * more than the input could hold, and the answer agrees with the points: a guessed
 * language has at least LANGID_MIN points and LANGID_MARGIN over every other one.
 * The input is not NUL-terminated, so reads past `size` are caught by ASan.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "langid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size ? size : 1); /* exactly size bytes: no terminator */
    if (!copy)
        return 0;
    if (size)
        memcpy(copy, data, size);
    unsigned sc[4];
    redact_lang l = langid_guess(copy, size, sc);
    free(copy);
    unsigned sum = sc[0] + sc[1] + sc[2] + sc[3];
    if (sum > size)
        abort(); /* a point needs at least one byte */
    if (l != REDACT_LANG_AUTO) {
        if (l < REDACT_LANG_DE || l > REDACT_LANG_HU)
            abort();
        unsigned w = sc[l - 1];
        if (w < LANGID_MIN)
            abort();
        for (int k = 0; k < 4; k++)
            if (k != (int)l - 1 && w < sc[k] + LANGID_MARGIN)
                abort();
    }
    return 0;
}
