/* SPDX-License-Identifier: Apache-2.0 */
/*
 * labelled_texts.h: every "text" of the labelled redaction sets
 * (the .jsonl files in GW_TEST_DATA/redact), handed one at a time to a check. For the
 * tests that compare a fast path with its reference on real chat text.
 * Include after <cmocka.h>.
 */
#ifndef CAREGATE_LABELLED_TEXTS_H
#define CAREGATE_LABELLED_TEXTS_H

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Calls check(text) for every text of every set; returns the number of
 * texts and sets *files to the number of sets read. */
static inline size_t for_each_labelled_text(void (*check)(const char *text), size_t *files)
{
    const char *dir = GW_TEST_DATA "/redact";
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t texts = 0;
    *files = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t nl = strlen(de->d_name);
        if (nl < 7 || strcmp(de->d_name + nl - 6, ".jsonl") != 0)
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        (*files)++;
        char *line = NULL;
        size_t cap = 0;
        while (getline(&line, &cap, f) > 0) {
            json_error_t err;
            json_t *o = json_loads(line, 0, &err);
            if (!o)
                continue; /* blank lines */
            const char *text = json_string_value(json_object_get(o, "text"));
            if (text) {
                check(text);
                texts++;
            }
            json_decref(o);
        }
        free(line);
        fclose(f);
    }
    closedir(d);
    return texts;
}

#endif
