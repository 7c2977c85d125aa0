/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for policy/redact. The first input byte picks the language,
 * the rest is the message. Checks: no crash or sanitizer report, findings in
 * bounds, sorted and non-overlapping, redact_apply's output has exactly the
 * announced length, and no finding's original text survives in the redacted
 * output unless that same text also occurs in the input outside every finding
 * (then it was never secret). Placeholders are replaced by one NUL byte for
 * that check, since "[PERSON]" itself spells a finding "PE". Built with a
 * replay main() for normal test runs.
 */
#include "redact.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int covered(const redact_finding *f, size_t n, size_t s, size_t e)
{
    for (size_t i = 0; i < n; i++)
        if (f[i].start <= s && e <= f[i].end)
            return 1;
    return 0;
}

/* Does needle occur in the input at a place not inside one finding? */
static int occurs_uncovered(const char *text, size_t len, const char *needle, size_t nl,
                            const redact_finding *f, size_t n)
{
    for (size_t i = 0; i + nl <= len; i++)
        if (memcmp(text + i, needle, nl) == 0 && !covered(f, n, i, i + nl))
            return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static redact_engine *eng;
    if (!eng)
        eng = redact_engine_new(); /* kept for the process: the fuzzer calls us often */
    if (!eng || size == 0 || size > 4096)
        return 0;
    redact_lang lang = (redact_lang)(data[0] % 5);
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    redact_finding *f = malloc((len + 1) * sizeof *f);
    if (!f)
        return 0;
    size_t n = 0;
    if (redact_scan(eng, text, len, lang, f, len + 1, &n) != REDACT_OK)
        abort();
    for (size_t i = 0; i < n; i++) {
        if (f[i].start >= f[i].end || f[i].end > len || (i && f[i - 1].end > f[i].start))
            abort();
        if ((unsigned)f[i].cat >= REDACT_CAT__COUNT)
            abort();
    }
    size_t need = redact_apply_size(len, f, n) + 1;
    char *out = malloc(need);
    size_t olen = 0;
    if (!out || redact_apply(text, len, f, n, out, need, &olen) != REDACT_OK || olen + 1 != need)
        abort();
    /* kept: the output with each placeholder as a single NUL */
    char *kept = malloc(len + 1);
    size_t kl = 0, at = 0;
    if (!kept)
        abort();
    for (size_t i = 0; i < n; i++) {
        memcpy(kept + kl, text + at, f[i].start - at);
        kl += f[i].start - at;
        kept[kl++] = 0;
        at = f[i].end;
    }
    memcpy(kept + kl, text + at, len - at);
    kl += len - at;
    for (size_t i = 0; i < n; i++) {
        const char *orig = text + f[i].start;
        size_t ol = f[i].end - f[i].start;
        if (memchr(orig, 0, ol))
            continue;
        int in_out = 0;
        for (size_t k = 0; k + ol <= kl && !in_out; k++)
            in_out = memcmp(kept + k, orig, ol) == 0;
        if (in_out && !occurs_uncovered(text, len, orig, ol, f, n))
            abort();
    }
    /* A truncated findings array must still cover the tail (fail closed). */
    if (n > 1) {
        size_t m = 0;
        if (redact_scan(eng, text, len, lang, f, 1, &m) != REDACT_E_NOSPACE || m != 1 ||
            f[0].end != len)
            abort();
    }
    free(kept);
    free(out);
    free(f);
    return 0;
}
