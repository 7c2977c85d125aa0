/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `caregate redact [--lang de|en|pl|hu|auto]`: a filter over JSON lines as fixed
 * in protocol-v1.md. Each input line {"text":"…","lang":"…"} becomes one output
 * line {"text":"<redacted>","findings":[{"start","end","category"}…]} with byte
 * offsets into the UTF-8 input, end exclusive. A line that is not such an object
 * yields {"error":"bad_json"} and the filter goes on. Output is flushed per line
 * so the command can be driven interactively or through a pipe.
 *
 * It needs no config, database or state; all detection is in policy/redact.c.
 */
#include "gw_cli.h"

#include "redact.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put_json(json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    if (s) {
        fputs(s, stdout);
        fputc('\n', stdout);
        free(s);
    }
    fflush(stdout);
}

static void bad_json(void)
{
    fputs("{\"error\":\"bad_json\"}\n", stdout);
    fflush(stdout);
}

static int redact_line(const redact_engine *eng, const char *line, size_t len, redact_lang dflt)
{
    json_error_t err;
    json_t *in = json_loadb(line, len, JSON_ALLOW_NUL, &err);
    json_t *jt = in ? json_object_get(in, "text") : NULL;
    if (!in || !json_is_object(in) || !json_is_string(jt)) {
        json_decref(in);
        bad_json();
        return 0;
    }
    redact_lang lang = dflt;
    json_t *jl = json_object_get(in, "lang");
    if (json_is_string(jl) && redact_lang_parse(json_string_value(jl), &lang) != REDACT_OK)
        lang = dflt;
    const char *text = json_string_value(jt);
    size_t tlen = json_string_length(jt);
    size_t max = tlen ? tlen : 1;
    redact_finding *f = malloc(max * sizeof *f);
    if (!f) {
        json_decref(in);
        return -1;
    }
    size_t n = 0;
    int rc = redact_scan(eng, text, tlen, lang, f, max, &n);
    size_t need = redact_apply_size(tlen, f, n) + 1;
    char *outtxt = malloc(need);
    size_t olen = 0;
    if (!outtxt || (rc != REDACT_OK && rc != REDACT_E_NOSPACE) ||
        redact_apply(text, tlen, f, n, outtxt, need, &olen) != REDACT_OK) {
        free(outtxt);
        free(f);
        json_decref(in);
        return -1;
    }
    json_t *out = json_object();
    json_t *arr = json_array();
    json_object_set_new(out, "text", json_stringn(outtxt, olen));
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:I,s:I,s:s}", "start", (json_int_t)f[i].start,
                                             "end", (json_int_t)f[i].end, "category",
                                             redact_category_name(f[i].cat)));
    json_object_set_new(out, "findings", arr);
    put_json(out);
    json_decref(out);
    free(outtxt);
    free(f);
    json_decref(in);
    return 0;
}

int gw_redact_cli_main(int argc, char **argv)
{
    redact_lang lang = REDACT_LANG_AUTO;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        if (strcmp(argv[i], "--lang") == 0 && i + 1 < argc)
            v = argv[++i];
        else if (strncmp(argv[i], "--lang=", 7) == 0)
            v = argv[i] + 7;
        if (!v || redact_lang_parse(v, &lang) != REDACT_OK) {
            fprintf(stderr, "usage: caregate redact [--lang de|en|pl|hu|auto]\n");
            return 2;
        }
    }
    redact_engine *eng = redact_engine_new();
    if (!eng) {
        fprintf(stderr, "redact: out of memory\n");
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    int status = 0;
    while ((got = getline(&line, &cap, stdin)) >= 0) {
        size_t len = (size_t)got;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        /* An empty line is bad JSON too: one output line per input line. */
        if (redact_line(eng, line, len, lang) != 0) {
            fprintf(stderr, "redact: out of memory\n");
            status = 1;
            break;
        }
    }
    free(line);
    redact_engine_free(eng);
    return status;
}
