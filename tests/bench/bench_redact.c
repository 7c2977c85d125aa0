/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Speed benchmark of policy/redact (not run by ctest; figures go to
 * docs/benchmarks.md, section "Redaction"). Two measurements on one core:
 *  - throughput: redact_scan over a 16 MiB text made of realistic chat
 *    messages in de/en/pl/hu (clean and with findings), in MB/s;
 *  - latency: redact_scan + redact_apply per typical message (~100 bytes),
 *    mean µs over many repetitions, as the gateway calls it.
 * Rates are per CPU second of this process (CLOCK_PROCESS_CPUTIME_ID), so a
 * busy shared machine slows the run down but does not distort the per-core
 * figure much; the wall-clock rate is printed alongside.
 * The twelve messages above repeat, so the automaton states they walk stay in
 * the L1 cache. A third measurement takes a file of varied messages (one per
 * line; e.g. the texts of the labelled sets in tests/redact, see docs/benchmarks.md), each
 * scanned on its own as the gateway does: that walks far more of the automaton
 * and shows its cache footprint.
 * Usage: bench_redact [cpu-seconds-per-measurement, default 2] [messages.txt [only [LANG]]].
 * With "only", just the third measurement runs: profilers (cachegrind,
 * callgrind) then see the varied text alone, not the 16 MiB benchmark pass.
 * LANG is the language mode of that measurement: auto (the default: all
 * lists), de, en, pl, hu, or guess: each message in the language langid
 * guesses, with the guess inside the timing, as the gateway scans.
 */
#include "langid.h"
#include "redact.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const msgs[] = {
    "Hallo, ich heiße Anna Schmidt, geb. 12.03.1980, ich nehme Ibuprofen 400 mg wegen Migräne.",
    "Ist mein Termin am 14.05.2025 um 10:30 Uhr noch aktuell? Danke!",
    "Ich habe die Rechnung Nr. 2024-004512 über 49,90 € schon überwiesen.",
    "Bitte rufen Sie mich zurück: 0171 1234567 (ab 16 Uhr)",
    "Haben Sie am Samstag geöffnet? Ich komme etwa 10 Minuten später.",
    "Hi, my name is James Smith, I have had a fever for a week, can I come in today?",
    "My NHS number is 943 476 5919, I need a repeat prescription for sertraline 50 mg.",
    "Thanks for the quick reply, see you next week!",
    "Dzień dobry, nazywam się Katarzyna Nowak, mam cukrzycę i biorę Metforminę 500 mg.",
    "Czy wizyta 15.03.2025 o 11:00 jest aktualna? Dziękuję.",
    "Jó napot, Kovács Anna vagyok, a TAJ számom 123 456 788, asztmám van.",
    "Szombaton nyitva vannak? Hol lehet a közelben parkolni?",
};
#define NMSG (sizeof msgs / sizeof msgs[0])

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double now(void)
{
    return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

/* Scans every line of path as one message in language mode lang (guess:
 * langid per message), round after round, for secs CPU seconds. f has room
 * for cap findings. Returns 0 or -1. */
static int varied(redact_engine *eng, const char *path, double secs, redact_finding *f, size_t cap,
                  redact_lang lang, int guess)
{
    FILE *in = fopen(path, "rb");
    if (!in) {
        perror(path);
        return -1;
    }
    size_t len = 0, size = 1u << 20;
    char *buf = malloc(size);
    if (!buf) {
        fclose(in);
        return -1;
    }
    size_t got;
    while ((got = fread(buf + len, 1, size - len, in)) > 0) {
        len += got;
        if (len == size) {
            char *nb = realloc(buf, size *= 2);
            if (!nb) {
                free(buf);
                fclose(in);
                return -1;
            }
            buf = nb;
        }
    }
    fclose(in);
    size_t bytes = 0, nmsg = 0, n, found = 0;
    double t0 = now(), t;
    do {
        found = 0;
        for (size_t a = 0; a < len;) {
            const char *nl = memchr(buf + a, '\n', len - a);
            size_t e = nl ? (size_t)(nl - buf) : len;
            if (e > a) {
                redact_lang l = guess ? langid_guess(buf + a, e - a, NULL) : lang;
                if (redact_scan(eng, buf + a, e - a, l, f, cap, &n) != REDACT_OK) {
                    free(buf);
                    return -1;
                }
                bytes += e - a;
                nmsg++;
                found += n;
            }
            a = e + 1;
        }
        t = now();
    } while (t - t0 < secs);
    printf("varied: %.1f MB/s per core, %.2f us CPU per message (%zu messages of %s, %.0f bytes "
           "on average, %zu findings per round)\n",
           (double)bytes / (t - t0) / 1e6, (t - t0) * 1e6 / (double)nmsg, nmsg, path,
           nmsg ? (double)bytes / (double)nmsg : 0.0, found);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 2.0;
    redact_engine *eng = redact_engine_new();
    if (!eng)
        return 1;
    if (argc > 3 && strcmp(argv[3], "only") == 0) {
        redact_lang lang = REDACT_LANG_AUTO;
        int guess = argc > 4 && strcmp(argv[4], "guess") == 0;
        if (argc > 4 && !guess && redact_lang_parse(argv[4], &lang) != REDACT_OK) {
            fprintf(stderr, "bench_redact: unknown language %s\n", argv[4]);
            redact_engine_free(eng);
            return 2;
        }
        size_t cap = 1u << 22;
        redact_finding *vf = malloc(cap * sizeof *vf);
        int rc = vf ? varied(eng, argv[2], secs, vf, cap, lang, guess) : -1;
        free(vf);
        redact_engine_free(eng);
        return rc != 0;
    }

    size_t len = 16u << 20, o = 0, k = 0;
    char *text = malloc(len);
    redact_finding *f = malloc(len * sizeof *f);
    if (!text || !f)
        return 1;
    while (o < len) {
        const char *m = msgs[k++ % NMSG];
        size_t ml = strlen(m);
        if (o + ml + 1 > len)
            break;
        memcpy(text + o, m, ml);
        o += ml;
        text[o++] = '\n';
    }
    len = o;

    size_t n = 0, total = 0, runs = 0;
    double w0 = clock_s(CLOCK_MONOTONIC), t0 = now(), t;
    do {
        if (redact_scan(eng, text, len, REDACT_LANG_AUTO, f, len, &n) != REDACT_OK)
            return 1;
        total += len;
        runs++;
        t = now();
    } while (t - t0 < secs);
    printf("throughput: %.1f MB/s per core (wall %.1f MB/s; %zu runs over %.1f MB, %zu findings "
           "per run)\n",
           (double)total / (t - t0) / 1e6, (double)total / (clock_s(CLOCK_MONOTONIC) - w0) / 1e6,
           runs, (double)len / 1e6, n);

    char out[1024];
    size_t bytes = 0, calls = 0, olen;
    redact_finding mf[128];
    w0 = clock_s(CLOCK_MONOTONIC);
    t0 = now();
    do {
        for (size_t i = 0; i < 1000; i++) {
            const char *m = msgs[i % NMSG];
            size_t ml = strlen(m);
            if (redact_scan(eng, m, ml, REDACT_LANG_AUTO, mf, 128, &n) != REDACT_OK ||
                redact_apply(m, ml, mf, n, out, sizeof out, &olen) != REDACT_OK)
                return 1;
            bytes += ml;
        }
        calls += 1000;
        t = now();
    } while (t - t0 < secs);
    printf("latency: %.2f us CPU per message (wall %.2f us; scan+apply, mean of %zu, avg %.0f "
           "bytes)\n",
           (t - t0) * 1e6 / (double)calls, (clock_s(CLOCK_MONOTONIC) - w0) * 1e6 / (double)calls,
           calls, (double)bytes / (double)calls);
    if (argc > 2 && varied(eng, argv[2], secs, f, len, REDACT_LANG_AUTO, 0) != 0)
        return 1;
    free(text);
    free(f);
    redact_engine_free(eng);
    return 0;
}
