/* SPDX-License-Identifier: Apache-2.0 */
/*
 * redact_gen: build-time compiler of the redaction dictionaries. Reads the
 * curated term lists policy/dict/<kind>.<lang>.txt (UTF-8, one term per line,
 * '#' comments, a trailing '*' marks a stem that may be followed by any
 * letters, e.g. Polish and Hungarian inflection) and writes one C file with
 * the folded trie (a deterministic automaton) that redact.c walks.
 *
 * It runs on the build host only and is never linked into caregate. It does
 * not validate medical content; it rejects unknown kinds, bad UTF-8 and terms
 * longer than the walk bound, so a typo in a list fails the build loudly.
 */
#include "../redact_tables.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TERM 96

static const char *const kind_names[RK__COUNT] = {
    "condition",  "medication", "treatment", "firstname",  "ctx_birth",   "ctx_phone",
    "ctx_neg",    "ctx_name",   "ctx_id",    "ctx_addr",   "ctx_icd",     "title",
    "title_post", "greet",      "signoff",   "street_pre", "street_post", "month",
    "city",       "stop",       "unit",      "ctx_kin",    "name_post",   "street_pre_de",
    "body",       "modpre",     "modpost",   "pain",       "link",     "disease"};

typedef struct {
    uint32_t child; /* first child */
    uint32_t next;  /* next sibling */
    uint8_t label;
    uint32_t exact[RL_SLOTS], stem[RL_SLOTS];
} gnode;

/* One trie under construction. The forward dictionary and the reversed tail
 * lists are two separate tries; `cur` selects the one that new_node, child
 * and load work on. */
typedef struct {
    gnode *nodes;
    size_t n_nodes, cap_nodes;
    size_t max_depth;
} gtrie;

static gtrie dict_trie, tail_trie;
static gtrie *cur = &dict_trie;
#define nodes (cur->nodes)
#define n_nodes (cur->n_nodes)
#define cap_nodes (cur->cap_nodes)
#define max_depth (cur->max_depth)

static uint32_t new_node(uint8_t label)
{
    if (n_nodes == cap_nodes) {
        cap_nodes = cap_nodes ? cap_nodes * 2 : 1024;
        nodes = realloc(nodes, cap_nodes * sizeof *nodes);
        if (!nodes) {
            fprintf(stderr, "redact_gen: out of memory\n");
            exit(1);
        }
    }
    memset(&nodes[n_nodes], 0, sizeof nodes[0]);
    nodes[n_nodes].label = label;
    return (uint32_t)n_nodes++;
}

static uint32_t child(uint32_t n, uint8_t label)
{
    uint32_t c;
    for (c = nodes[n].child; c; c = nodes[c].next)
        if (nodes[c].label == label)
            return c;
    c = new_node(label);
    nodes[c].next = nodes[n].child;
    nodes[n].child = c;
    return c;
}

/* Folds a term exactly as redact.c folds text: letters to lower-case ASCII
 * without diacritics, runs of spaces, hyphens and slashes to one ' ', '.'
 * kept, apostrophes dropped. Returns the folded length or -1. */
static int fold_term(const char *s, size_t n, char *out)
{
    size_t o = 0, i = 0;
    while (i < n) {
        uint32_t cp;
        size_t l = redact__utf8((const unsigned char *)s, i, n, &cp);
        char f[2];
        unsigned cls;
        size_t k = redact__fold(cp, f, &cls);
        i += l;
        if (cls & RF_WORD) {
            if (o + k > MAX_TERM || (k && f[0] == 0x01))
                return -1;
            memcpy(out + o, f, k);
            o += k;
        } else if (cp == ' ' || cp == '-' || cp == '/' || cp == '\t') {
            if (o > 0 && out[o - 1] != ' ') {
                if (o + 1 > MAX_TERM)
                    return -1;
                out[o++] = ' ';
            }
        } else if (cp == '.') {
            if (o + 1 > MAX_TERM)
                return -1;
            out[o++] = '.';
        } else if (cp == '\'' || cp == 0x2019) {
            continue;
        } else {
            return -1;
        }
    }
    while (o > 0 && out[o - 1] == ' ')
        o--;
    return (int)o;
}

static int load(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    /* tail_<kind>.<lang>.txt goes reversed into the tail trie. */
    int tail = strncmp(base, "tail_", 5) == 0;
    if (tail)
        base += 5;
    cur = tail ? &tail_trie : &dict_trie;
    const char *dot = strchr(base, '.');
    if (!dot)
        goto bad_name;
    int kind = -1;
    for (int k = 0; k < RK__COUNT; k++)
        if (strlen(kind_names[k]) == (size_t)(dot - base) &&
            memcmp(kind_names[k], base, (size_t)(dot - base)) == 0)
            kind = k;
    int lang;
    if (strncmp(dot, ".all.", 5) == 0)
        lang = 0;
    else if (strncmp(dot, ".de.", 4) == 0)
        lang = 1;
    else if (strncmp(dot, ".en.", 4) == 0)
        lang = 2;
    else if (strncmp(dot, ".pl.", 4) == 0)
        lang = 3;
    else if (strncmp(dot, ".hu.", 4) == 0)
        lang = 4;
    else
        goto bad_name;
    if (kind < 0 || (tail && kind != RK_CONDITION && kind != RK_MEDICATION &&
                     kind != RK_TREATMENT && kind != RK_STOP))
        goto bad_name;

    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return -1;
    }
    char line[512];
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t n = strcspn(line, "\r\n");
        line[n] = 0;
        while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
            line[--n] = 0;
        char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        n = strlen(s);
        if (n == 0 || s[0] == '#')
            continue;
        int stem = 0;
        if (s[n - 1] == '*') {
            stem = 1;
            s[--n] = 0;
        }
        char folded[MAX_TERM + 1];
        int fl = fold_term(s, n, folded);
        if (fl <= 0) {
            fprintf(stderr,
                    "%s:%d: cannot fold term '%s' (letters, digits, space, - / . ' only; * only at "
                    "the end)\n",
                    path, lineno, s);
            fclose(f);
            return -1;
        }
        if (tail && (stem || memchr(folded, ' ', (size_t)fl) || memchr(folded, '.', (size_t)fl))) {
            fprintf(stderr, "%s:%d: a tail term is one word without '*' or '.'\n", path, lineno);
            fclose(f);
            return -1;
        }
        uint32_t node = 0;
        for (int i = 0; i < fl; i++)
            node = child(node, (uint8_t)folded[tail ? fl - 1 - i : i]);
        if ((size_t)fl > max_depth)
            max_depth = (size_t)fl;
        if (stem)
            nodes[node].stem[lang] |= RK_BIT(kind);
        else
            nodes[node].exact[lang] |= RK_BIT(kind);
    }
    fclose(f);
    return 0;
bad_name:
    fprintf(stderr,
            "redact_gen: bad dictionary file name %s (want <kind>.<lang>.txt or "
            "tail_{condition,medication,treatment,stop}.<lang>.txt)\n",
            path);
    return -1;
}

static int cmp_label(const void *a, const void *b)
{
    return (int)nodes[*(const uint32_t *)a].label - (int)nodes[*(const uint32_t *)b].label;
}

/* Writes trie *cur as static tables with the given prefix and the public
 * redact__tables `name`. Returns 0 or -1. */
static int emit_trie(FILE *out, const char *pfx, const char *name)
{
    if (n_nodes == 0)
        new_node(0); /* an empty tail list still yields a valid root */
    /* Renumber breadth-first so each node's children are contiguous. */
    uint32_t *order = malloc(n_nodes * sizeof *order);
    uint32_t *newid = malloc(n_nodes * sizeof *newid);
    uint32_t *first = calloc(n_nodes, sizeof *first);
    uint16_t *cnt = calloc(n_nodes, sizeof *cnt);
    uint16_t *term = calloc(n_nodes, sizeof *term);
    if (!order || !newid || !first || !cnt || !term)
        return -1;
    size_t head = 0, tail = 0;
    order[tail++] = 0;
    while (head < tail) {
        uint32_t n = order[head++];
        size_t start = tail;
        for (uint32_t c = nodes[n].child; c; c = nodes[c].next)
            order[tail++] = c;
        qsort(order + start, tail - start, sizeof *order, cmp_label);
        cnt[n] = (uint16_t)(tail - start);
        first[n] = (uint32_t)start; /* edge index == new id of the child */
    }
    for (size_t i = 0; i < n_nodes; i++)
        newid[order[i]] = (uint32_t)i;

    /* Terminal table first; index 0 is the empty terminal. */
    size_t n_terms = 1;
    fprintf(out, "static const redact__term %sterms[] = {\n{{0},{0}},\n", pfx);
    for (size_t i = 0; i < n_nodes; i++) {
        uint32_t o = order[i];
        uint32_t any = 0;
        for (int l = 0; l < RL_SLOTS; l++)
            any |= nodes[o].exact[l] | nodes[o].stem[l];
        if (!any)
            continue;
        if (n_terms >= 65535) {
            fprintf(stderr, "redact_gen: too many terms\n");
            return -1;
        }
        term[o] = (uint16_t)n_terms++;
        fprintf(out, "{{%uu,%uu,%uu,%uu,%uu},{%uu,%uu,%uu,%uu,%uu}},\n", nodes[o].exact[0],
                nodes[o].exact[1], nodes[o].exact[2], nodes[o].exact[3], nodes[o].exact[4],
                nodes[o].stem[0], nodes[o].stem[1], nodes[o].stem[2], nodes[o].stem[3],
                nodes[o].stem[4]);
    }
    fprintf(out, "};\n\n");
    fprintf(out, "static const redact__node %snodes[%zu] = {\n", pfx, n_nodes);
    for (size_t i = 0; i < n_nodes; i++) {
        uint32_t o = order[i];
        /* edges are indexed by child id, so edge e leads to node e */
        fprintf(out, "{%uu,%uu,%uu},\n", cnt[o] ? first[o] : 0u, (unsigned)cnt[o],
                (unsigned)term[o]);
    }
    fprintf(out, "};\n\nstatic const uint8_t %slabels[%zu] = {\n", pfx, n_nodes);
    for (size_t i = 0; i < n_nodes; i++)
        fprintf(out, "%u,%s", (unsigned)nodes[order[i]].label, (i % 32 == 31) ? "\n" : "");
    fprintf(out, "};\n\nstatic const uint32_t %stargets[%zu] = {\n", pfx, n_nodes);
    for (size_t i = 0; i < n_nodes; i++)
        fprintf(out, "%zuu,%s", i, (i % 16 == 15) ? "\n" : "");
    fprintf(out, "};\n\nstatic const uint32_t %sroot[256] = {\n", pfx);
    uint32_t rootmap[256] = {0};
    for (uint32_t c = nodes[0].child; c; c = nodes[c].next)
        rootmap[nodes[c].label] = newid[c];
    for (int i = 0; i < 256; i++)
        fprintf(out, "%uu,%s", rootmap[i], (i % 16 == 15) ? "\n" : "");
    fprintf(out,
            "};\n\nconst redact__tables %s = {\n"
            "    %snodes, %zu, %slabels, %stargets, %zu, %sterms, %zu, %sroot, %zu\n};\n\n",
            name, pfx, n_nodes, pfx, pfx, n_nodes, pfx, n_terms, pfx, max_depth);
    fprintf(stderr, "redact_gen: %s: %zu states, longest term %zu bytes\n", name, n_nodes,
            max_depth);
    free(term);
    free(order);
    free(newid);
    free(first);
    free(cnt);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: redact_gen OUT.c DICT...\n");
        return 2;
    }
    cur = &dict_trie;
    new_node(0); /* root */
    cur = &tail_trie;
    new_node(0);
    for (int i = 2; i < argc; i++)
        if (load(argv[i]) != 0)
            return 1;

    FILE *out = fopen(argv[1], "w");
    if (!out) {
        perror(argv[1]);
        return 1;
    }
    fprintf(out, "/* SPDX-License-Identifier: Apache-2.0 */\n"
                 "/* Generated by policy/tools/redact_gen.c from policy/dict/: do not edit. */\n"
                 "#include \"redact_tables.h\"\n\n");
    cur = &dict_trie;
    if (emit_trie(out, "", "redact__dict") != 0)
        return 1;
    free(nodes);
    cur = &tail_trie;
    if (emit_trie(out, "tail_", "redact__tail") != 0)
        return 1;
    free(nodes);
    if (fclose(out) != 0)
        return 1;
    return 0;
}
