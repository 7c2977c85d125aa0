/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Scorer for the redaction engine over the labelled corpus (corpus.jsonl: one
 * {"id","lang","text","spans":[{"start","end","category"}]} per line, byte
 * offsets). Reports per category and per language:
 *  - entity recall: a labelled span counts as found when at least 90 % of its
 *    bytes are inside findings of any category (for redaction the bytes
 *    matter, not the label);
 *  - byte precision: bytes inside findings that are inside labelled spans;
 *  - clean messages touched: messages without labels that got any finding.
 * Exits 1 when a target from issue 6 is missed, so ctest fails:
 * identifiers with check digits >= 99.5 % recall, overall recall >= 95 %,
 * byte precision >= 90 %, <= 5 % of clean messages touched.
 * With -v it prints every miss and every false-positive span; with
 * --floor RECALL it does not judge the targets but fails when entity
 * recall drops below RECALL percent, identifiers below 99.5 %, byte precision
 * below 90 % or clean messages touched above 5 % (a regression guard for the
 * held-out sets, set just under their measured figures); with --report
 * it only reports (used for the held-out sets, whose figures are documented
 * in docs/redaction.md rather than gated: they are small and blind). With
 * --lang auto (or de/en/pl/hu) every message is scanned in that language mode
 * instead of its labelled one, as the gateway does when a platform message
 * arrives without a known language; the per-language lines still group by the
 * labelled language. --lang guess scans each message in the language langid
 * guesses, or with all lists when it is unsure, as the gateway does.
 *
 * It does not judge categories' names (a PHONE labelled span redacted as
 * NATIONAL_ID still counts as found) and does not time anything (bench_redact).
 */
#include "langid.h"
#include "redact.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NLANG 4
static const char *const langs[NLANG] = {"de", "en", "pl", "hu"};

typedef struct {
    size_t gold, found;          /* entities */
    size_t pred_bytes, tp_bytes; /* predicted bytes, of which inside gold */
} stat;

static stat by_cat[REDACT_CAT__COUNT], by_lang[NLANG], total;
static size_t clean_msgs, clean_touched, clean_lang[NLANG], touched_lang[NLANG];

static int cat_from_name(const char *s)
{
    for (int c = 0; c < REDACT_CAT__COUNT; c++)
        if (strcmp(redact_category_name((redact_category)c), s) == 0)
            return c;
    return -1;
}

static void pct(const char *label, size_t num, size_t den)
{
    if (den)
        printf(" %s %6.2f%% (%zu/%zu)", label, 100.0 * (double)num / (double)den, num, den);
    else
        printf(" %s    n/a", label);
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    int verbose = 0, report = 0;
    double floor_recall = -1; /* --floor: regression guard instead of the targets */
    int force = 0;            /* --lang: 1 scan every message in force_lang, 2 langid */
    size_t guessed[3] = {0, 0, 0}; /* --lang guess: right, unsure, wrong */
    redact_lang force_lang = REDACT_LANG_AUTO;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-v") == 0)
            verbose = 1;
        else if (strcmp(argv[i], "--floor") == 0 && i + 1 < argc)
            floor_recall = atof(argv[++i]);
        else if (strcmp(argv[i], "--report") == 0)
            report = 1;
        else if (strcmp(argv[i], "--lang") == 0 && i + 1 < argc) {
            if (strcmp(argv[i + 1], "guess") == 0) {
                force = 2;
                i++;
                continue;
            }
            if (redact_lang_parse(argv[++i], &force_lang) != REDACT_OK) {
                fprintf(stderr, "redact_score: unknown language %s\n", argv[i]);
                return 2;
            }
            force = 1;
        } else
            path = argv[i];
    }
    if (!path) {
        fprintf(stderr, "usage: redact_score [-v] [--report | --floor RECALL] "
                        "[--lang auto|guess|de|en|pl|hu] "
                        "corpus.jsonl\n");
        return 2;
    }
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return 2;
    }
    redact_engine *eng = redact_engine_new();
    if (!eng)
        return 2;
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    size_t lineno = 0;
    while ((got = getline(&line, &cap, f)) > 0) {
        lineno++;
        json_error_t err;
        json_t *j = json_loadb(line, (size_t)got, 0, &err);
        json_t *jt = j ? json_object_get(j, "text") : NULL;
        json_t *jl = j ? json_object_get(j, "lang") : NULL;
        json_t *js = j ? json_object_get(j, "spans") : NULL;
        if (!json_is_string(jt) || !json_is_string(jl) || !json_is_array(js)) {
            fprintf(stderr, "%s:%zu: bad line\n", path, lineno);
            return 2;
        }
        const char *text = json_string_value(jt);
        size_t len = json_string_length(jt);
        redact_lang lang;
        if (redact_lang_parse(json_string_value(jl), &lang) != REDACT_OK ||
            lang == REDACT_LANG_AUTO)
            return 2;
        int li = (int)lang - 1;
        redact_finding *fd = malloc((len + 1) * sizeof *fd);
        unsigned char *cov = calloc(len + 1, 1), *gold = calloc(len + 1, 1);
        size_t n = 0;
        redact_lang scan_lang = lang;
        if (force == 1)
            scan_lang = force_lang;
        else if (force == 2) { /* the gateway's choice: langid, all lists when unsure */
            scan_lang = langid_guess(text, len, NULL);
            guessed[scan_lang == lang ? 0 : scan_lang == REDACT_LANG_AUTO ? 1 : 2]++;
        }
        if (!fd || !cov || !gold || redact_scan(eng, text, len, scan_lang, fd, len + 1, &n) != REDACT_OK)
            return 2;
        for (size_t k = 0; k < n; k++)
            memset(cov + fd[k].start, 1, fd[k].end - fd[k].start);
        size_t ns = json_array_size(js);
        for (size_t k = 0; k < ns; k++) {
            json_t *sp = json_array_get(js, k);
            size_t s = (size_t)json_integer_value(json_object_get(sp, "start"));
            size_t e = (size_t)json_integer_value(json_object_get(sp, "end"));
            int c = cat_from_name(json_string_value(json_object_get(sp, "category")));
            if (c < 0 || e > len || s >= e)
                return 2;
            memset(gold + s, 1, e - s);
            size_t in = 0;
            for (size_t b = s; b < e; b++)
                in += cov[b];
            int ok = in * 10 >= (e - s) * 9;
            by_cat[c].gold++;
            by_lang[li].gold++;
            total.gold++;
            by_cat[c].found += (size_t)ok;
            by_lang[li].found += (size_t)ok;
            total.found += (size_t)ok;
            if (!ok && verbose)
                printf("MISS %-11s [%s] \"%.*s\"  in: %s\n",
                       redact_category_name((redact_category)c), langs[li], (int)(e - s), text + s,
                       text);
        }
        for (size_t k = 0; k < n; k++) {
            size_t tp = 0;
            for (size_t b = fd[k].start; b < fd[k].end; b++)
                tp += gold[b];
            size_t pb = fd[k].end - fd[k].start;
            by_cat[fd[k].cat].pred_bytes += pb;
            by_cat[fd[k].cat].tp_bytes += tp;
            by_lang[li].pred_bytes += pb;
            by_lang[li].tp_bytes += tp;
            total.pred_bytes += pb;
            total.tp_bytes += tp;
            if (verbose && tp < pb)
                printf("FP   %-11s [%s] \"%.*s\" (%s)  in: %s\n", redact_category_name(fd[k].cat),
                       langs[li], (int)pb, text + fd[k].start, redact_rule_name(fd[k].rule_id),
                       text);
        }
        if (ns == 0) {
            clean_msgs++;
            clean_lang[li]++;
            if (n > 0) {
                clean_touched++;
                touched_lang[li]++;
            }
        }
        free(fd);
        free(cov);
        free(gold);
        json_decref(j);
    }
    free(line);
    fclose(f);
    redact_engine_free(eng);

    printf("%-12s %-30s %-30s\n", "category", "entity recall", "byte precision");
    for (int c = 0; c < REDACT_CAT__COUNT; c++) {
        printf("%-12s", redact_category_name((redact_category)c));
        pct("recall", by_cat[c].found, by_cat[c].gold);
        pct(" precision", by_cat[c].tp_bytes, by_cat[c].pred_bytes);
        printf("\n");
    }
    for (int l = 0; l < NLANG; l++) {
        printf("lang %-7s", langs[l]);
        pct("recall", by_lang[l].found, by_lang[l].gold);
        pct(" precision", by_lang[l].tp_bytes, by_lang[l].pred_bytes);
        pct(" clean touched", touched_lang[l], clean_lang[l]);
        printf("\n");
    }
    size_t idg = 0, idf = 0;
    for (int c = REDACT_NATIONAL_ID; c <= REDACT_IBAN; c++) {
        idg += by_cat[c].gold;
        idf += by_cat[c].found;
    }
    printf("%-12s", "ALL");
    pct("recall", total.found, total.gold);
    pct(" precision", total.tp_bytes, total.pred_bytes);
    pct(" clean touched", clean_touched, clean_msgs);
    printf("\n%-12s", "ID (checked)");
    pct("recall", idf, idg);
    printf("\n");
    if (force == 2)
        printf("langid       right %zu, unsure (all lists) %zu, wrong %zu\n", guessed[0], guessed[1],
               guessed[2]);

    int fail = 0;
    if (idg && idf * 1000 < idg * 995) {
        printf("FAIL: identifier recall below 99.5%%\n");
        fail = 1;
    }
    if (floor_recall >= 0) {
        if ((double)total.found * 100.0 < (double)total.gold * floor_recall) {
            printf("FAIL: entity recall below the floor of %.1f%%\n", floor_recall);
            fail = 1;
        }
    } else if (total.found * 100 < total.gold * 95) {
        printf("FAIL: overall entity recall below 95%%\n");
        fail = 1;
    }
    if (total.tp_bytes * 100 < total.pred_bytes * 90) {
        printf("FAIL: byte precision below 90%%\n");
        fail = 1;
    }
    if (clean_touched * 100 > clean_msgs * 5) {
        printf("FAIL: more than 5%% of clean messages touched\n");
        fail = 1;
    }
    printf("%s\n", fail ? "redact_score: targets missed"
                         : floor_recall >= 0 ? "redact_score: at or above the floor"
                                             : "redact_score: all targets met");
    return report ? 0 : fail;
}
