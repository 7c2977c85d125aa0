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
    "body",       "modpre",     "modpost",   "pain",       "link",        "disease",
    "lab",        "result",     "exam",      "state",      "pstate",      "pverb",
    "pverbw",     "pcomp",      "pathogen",    "vlink",
    "vacc",       "caps",       "labhead"};

/* Extra file names for an existing kind, so a list with its own owner and
 * purpose can feed a kind without editing another list: lesion.<lang>.txt
 * holds skin findings that act as the subject of a state (wound, Narbe,
 * rana, seb), exam_link the words between an examination and its object,
 * lab_unit the units of measured values (mmol/l, mmHg), infl_stop the forms
 * the inflected-word lookup must leave alone ("po porodzie"). */
static const struct {
    const char *name;
    int kind;
} kind_alias[] = {{"lesion", RK_BODY},
                  {"exam_link", RK_LINK},
                  {"lab_unit", RK_UNIT},
                  {"infl_stop", RK_STOP}};

typedef struct {
    uint32_t child; /* first child */
    uint32_t next;  /* next sibling */
    uint8_t label;
    uint64_t exact[RL_SLOTS], stem[RL_SLOTS];
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

/* Adds one term of a list to the current trie (reversed for the tail trie). */
static int add_term(const char *s, size_t n, int stem, int tail, int kind, int lang,
                    const char *path, int lineno)
{
    char folded[MAX_TERM + 1];
    int fl = fold_term(s, n, folded);
    if (fl <= 0) {
        fprintf(stderr,
                "%s:%d: cannot fold term '%.*s' (letters, digits, space, - / . ' only; * only at "
                "the end)\n",
                path, lineno, (int)n, s);
        return -1;
    }
    if (tail && (stem || memchr(folded, ' ', (size_t)fl) || memchr(folded, '.', (size_t)fl))) {
        fprintf(stderr, "%s:%d: a tail term is one word without '*' or '.'\n", path, lineno);
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
    return 0;
}

/* Writes s with ä ö ü Ä Ö Ü spelt ae oe ue Ae Oe Ue into out; returns 0 when s has none. */
static int umlaut_ae(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    int any = 0;
    for (size_t i = 0; i < n && o + 3 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        unsigned char d = i + 1 < n ? (unsigned char)s[i + 1] : 0;
        const char *r = NULL;
        if (c == 0xc3) {
            switch (d) {
            case 0xa4: r = "ae"; break;
            case 0xb6: r = "oe"; break;
            case 0xbc: r = "ue"; break;
            case 0x84: r = "Ae"; break;
            case 0x96: r = "Oe"; break;
            case 0x9c: r = "Ue"; break;
            }
        }
        if (r) {
            out[o++] = r[0];
            out[o++] = r[1];
            i++;
            any = 1;
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = 0;
    return any;
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
    for (size_t a = 0; a < sizeof kind_alias / sizeof kind_alias[0]; a++)
        if (strlen(kind_alias[a].name) == (size_t)(dot - base) &&
            memcmp(kind_alias[a].name, base, (size_t)(dot - base)) == 0)
            kind = kind_alias[a].kind;
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
        if (add_term(s, n, stem, tail, kind, lang, path, lineno) != 0) {
            fclose(f);
            return -1;
        }
        /* German typed without umlauts: "Rueckenschmerzen" for "Rückenschmerzen". The
         * plain-vowel form ("Ruckenschmerzen") needs nothing: folding drops the marks. */
        char ae[2 * sizeof line];
        if (lang == 1 && umlaut_ae(s, n, ae, sizeof ae) &&
            add_term(ae, strlen(ae), stem, tail, kind, lang, path, lineno) != 0) {
            fclose(f);
            return -1;
        }
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

/* ------------------------------------------------------------ minimising */

/* Two states are equivalent when they end the same terms (kinds per slot)
 * and have the same edges to equivalent states: every walk from either ends
 * the same way. The trie has many, because lists share their endings (the
 * case endings of every Polish noun, "-ung", "-itis", "-ás"); merging them
 * shrinks the tables about three times, and a smaller automaton leaves more
 * of itself in the caches, which the walk over varied text is waiting on.
 * Bottom-up, each state gets the number of its class; a class keeps one
 * child list (a "block"), so the result is a DAG of blocks: a state in two
 * parents' blocks is two records with the same child block. */
typedef struct {
    uint32_t *cls;    /* class of each node */
    uint32_t *rep;    /* a node of each class */
    uint32_t *hash;   /* open addressing over classes: class + 1, 0 empty */
    size_t hash_size; /* a power of two */
    size_t n_cls;
} minimiser;

/* Children of n sorted by label, into kids (at most 256). Returns the count. */
static size_t sorted_kids(uint32_t n, uint32_t *kids)
{
    size_t k = 0;
    for (uint32_t c = nodes[n].child; c; c = nodes[c].next) {
        size_t j = k++;
        while (j > 0 && nodes[kids[j - 1]].label > nodes[c].label) {
            kids[j] = kids[j - 1];
            j--;
        }
        kids[j] = c;
    }
    return k;
}

static int same_state(const minimiser *m, uint32_t a, uint32_t b)
{
    if (memcmp(nodes[a].exact, nodes[b].exact, sizeof nodes[a].exact) != 0 ||
        memcmp(nodes[a].stem, nodes[b].stem, sizeof nodes[a].stem) != 0)
        return 0;
    uint32_t ka[256], kb[256];
    size_t na = sorted_kids(a, ka), nb = sorted_kids(b, kb);
    if (na != nb)
        return 0;
    for (size_t i = 0; i < na; i++)
        if (nodes[ka[i]].label != nodes[kb[i]].label || m->cls[ka[i]] != m->cls[kb[i]])
            return 0;
    return 1;
}

/* Numbers the class of n after those of its children (iterative post-order:
 * terms are up to MAX_TERM deep, and a plain recursion would be fine, but the
 * order array doubles as the stack at no cost). */
static void classify(minimiser *m, uint32_t *stack)
{
    size_t sp = 0;
    uint8_t *done = calloc(n_nodes, 1);
    if (!done) {
        fprintf(stderr, "redact_gen: out of memory\n");
        exit(1);
    }
    stack[sp++] = 0;
    while (sp) {
        uint32_t n = stack[sp - 1];
        if (!done[n]) {
            done[n] = 1; /* children first */
            for (uint32_t c = nodes[n].child; c; c = nodes[c].next)
                stack[sp++] = c;
            continue;
        }
        sp--;
        uint32_t kids[256];
        size_t nk = sorted_kids(n, kids);
        uint64_t h = 1469598103934665603ull;
        for (int l = 0; l < RL_SLOTS; l++)
            h = (h ^ nodes[n].exact[l] ^ (nodes[n].stem[l] << 1)) * 1099511628211ull;
        for (size_t i = 0; i < nk; i++)
            h = (h ^ nodes[kids[i]].label ^ ((uint64_t)m->cls[kids[i]] << 8)) * 1099511628211ull;
        size_t slot = (size_t)(h ^ (h >> 29)) & (m->hash_size - 1);
        for (;; slot = (slot + 1) & (m->hash_size - 1)) {
            uint32_t x = m->hash[slot];
            if (!x) {
                m->rep[m->n_cls] = n;
                m->cls[n] = (uint32_t)m->n_cls++;
                m->hash[slot] = (uint32_t)m->n_cls;
                break;
            }
            if (same_state(m, m->rep[x - 1], n)) {
                m->cls[n] = x - 1;
                break;
            }
        }
    }
    free(done);
}

/* The DAG: one block per class with children, built in out (a fresh trie). */
static uint32_t build_block(const minimiser *m, gtrie *out, uint32_t *block, uint32_t k)
{
    if (block[k])
        return block[k];
    uint32_t r = m->rep[k], head = 0;
    for (uint32_t c = nodes[r].child; c; c = nodes[c].next) {
        uint32_t sub = nodes[c].child ? build_block(m, out, block, m->cls[c]) : 0;
        gnode g = nodes[c]; /* copied before cur (and so `nodes`) switches */
        gtrie *keep = cur;
        cur = out;
        uint32_t x = new_node(g.label);
        memcpy(nodes[x].exact, g.exact, sizeof g.exact);
        memcpy(nodes[x].stem, g.stem, sizeof g.stem);
        nodes[x].child = sub;
        nodes[x].next = head;
        head = x;
        cur = keep;
    }
    block[k] = head;
    return head;
}

/* Walks trie node t (in the current trie) and DAG node d (in dag) together:
 * the same kinds, the same labels, and the same below every label. Returns 0,
 * or -1 at the first difference. Every path of the trie is walked once. */
static int same_walks(const gnode *dag, uint32_t t, uint32_t d)
{
    const gnode *dn = &dag[d];
    if (memcmp(nodes[t].exact, dn->exact, sizeof dn->exact) != 0 ||
        memcmp(nodes[t].stem, dn->stem, sizeof dn->stem) != 0)
        return -1;
    size_t nt = 0, nd = 0;
    for (uint32_t c = nodes[t].child; c; c = nodes[c].next)
        nt++;
    for (uint32_t c = dn->child; c; c = dag[c].next)
        nd++;
    if (nt != nd)
        return -1;
    for (uint32_t c = nodes[t].child; c; c = nodes[c].next) {
        uint32_t e = dn->child;
        while (e && dag[e].label != nodes[c].label)
            e = dag[e].next;
        if (!e || same_walks(dag, c, e) != 0)
            return -1;
    }
    return 0;
}

/* Replaces the current trie by its minimal DAG of blocks, after checking
 * that the two walk alike from the root. */
static void minimise(void)
{
    minimiser m = {0};
    m.hash_size = 1;
    while (m.hash_size < 2 * n_nodes)
        m.hash_size *= 2;
    m.cls = calloc(n_nodes, sizeof *m.cls);
    m.rep = calloc(n_nodes, sizeof *m.rep);
    m.hash = calloc(m.hash_size, sizeof *m.hash);
    uint32_t *stack = malloc(n_nodes * sizeof *stack);
    uint32_t *block = calloc(n_nodes, sizeof *block);
    if (!m.cls || !m.rep || !m.hash || !stack || !block) {
        fprintf(stderr, "redact_gen: out of memory\n");
        exit(1);
    }
    classify(&m, stack);
    size_t depth = max_depth, trie_states = n_nodes;
    gtrie out = {0};
    gtrie *keep = cur;
    cur = &out;
    new_node(0); /* root */
    max_depth = depth;
    cur = keep;
    uint32_t top = nodes[0].child ? build_block(&m, &out, block, m.cls[0]) : 0;
    cur = &out;
    nodes[0].child = top;
    size_t dag_states = n_nodes;
    const gnode *dag = nodes;
    cur = keep;
    if (same_walks(dag, 0, 0) != 0) {
        fprintf(stderr, "redact_gen: the merged automaton walks differently from the trie\n");
        exit(1);
    }
    fprintf(stderr, "redact_gen: %zu trie states, %zu classes, %zu states after merging\n",
            trie_states, m.n_cls, dag_states);
    free(nodes);
    *cur = out; /* cur is the trie being minimised again */
    free(m.cls);
    free(m.rep);
    free(m.hash);
    free(stack);
    free(block);
}

/* ------------------------------------------------------------- packing */

/* The transition table (redact__tr in redact_tables.h): each block of the
 * DAG gets a base, and the record with label c of that block sits in slot
 * base + cls[c]. Bases are found first-fit, so the blocks interleave and the
 * table is nearly full; no two blocks share a base, which is what lets a step
 * check only the slot's label. Blocks are placed in depth-first order from
 * the root, so a term's chain of single-child states lands in consecutive
 * slots while the table fills from the front. */
/* Levels placed breadth-first: the short prefixes nearly every word walks
 * through share a few cache lines. Deeper, depth-first order keeps a term's
 * chain of single-child states in consecutive slots. (Measured with
 * cachegrind over the benchmark text: 3 levels gave the fewest L1 misses,
 * 3 % fewer than none; 6 levels or all levels breadth-first gave 12-23 %
 * more.) */
#define PK_HOT_DEPTH 3

typedef struct {
    uint8_t *used;      /* per slot: taken */
    uint8_t *base_used; /* per base: taken by a block */
    size_t cap;         /* both arrays */
    size_t low;         /* every slot below is taken */
    size_t top;         /* one past the highest slot taken */
    uint32_t *base;     /* per block (its head record): base, 0 not placed yet */
    uint8_t *seen;      /* per block: visited by the traversal (placed or not) */
    const uint8_t *cls;
    unsigned n_cls;
} packer;

static void pk_grow(packer *pk, size_t need)
{
    if (need <= pk->cap)
        return;
    size_t cap = pk->cap ? pk->cap : 4096;
    while (cap < need)
        cap *= 2;
    pk->used = realloc(pk->used, cap);
    pk->base_used = realloc(pk->base_used, cap);
    if (!pk->used || !pk->base_used) {
        fprintf(stderr, "redact_gen: out of memory\n");
        exit(1);
    }
    memset(pk->used + pk->cap, 0, cap - pk->cap);
    memset(pk->base_used + pk->cap, 0, cap - pk->cap);
    pk->cap = cap;
}

/* Places the block whose first record is h (and, after it, the blocks below
 * it). Iterative over an explicit stack: the DAG is up to MAX_TERM deep and a
 * block has at most 255 records. */
static void pk_place1(packer *pk, uint32_t h);
static void pk_place(packer *pk, uint32_t root_block)
{
    uint32_t *stack = malloc(n_nodes * sizeof *stack);
    if (!stack) {
        fprintf(stderr, "redact_gen: out of memory\n");
        exit(1);
    }
    size_t sp = 0;
    stack[sp++] = root_block;
    while (sp) {
        uint32_t h = stack[--sp];
        if (pk->seen[h])
            continue;
        pk->seen[h] = 1;
        if (!pk->base[h])
            pk_place1(pk, h);
        /* children's blocks next, the first child's on top of the stack */
        size_t at = sp;
        for (uint32_t c = h; c; c = nodes[c].next)
            if (nodes[c].child && !pk->seen[nodes[c].child])
                stack[sp++] = nodes[c].child;
        for (size_t i = at, j = sp; i + 1 < j; i++, j--) {
            uint32_t x = stack[i];
            stack[i] = stack[j - 1];
            stack[j - 1] = x;
        }
    }
    free(stack);
}

/* Gives the block whose first record is h the first base where all its
 * records fit. */
static void pk_place1(packer *pk, uint32_t h)
{
    {
        unsigned cl[256], k = 0, lo = 256;
        int spc = 0; /* a ' ' record: the slot at the base holds the phrase filter */
        for (uint32_t c = h; c; c = nodes[c].next) {
            spc |= nodes[c].label == ' ';
            cl[k++] = pk->cls[nodes[c].label];
            if (cl[k - 1] < lo)
                lo = cl[k - 1];
        }
        size_t b = pk->low > lo + (size_t)pk->n_cls ? pk->low - lo : pk->n_cls;
        for (;; b++) {
            pk_grow(pk, b + pk->n_cls + 1);
            if (pk->base_used[b] || (spc && pk->used[b]))
                continue;
            unsigned i;
            for (i = 0; i < k && !pk->used[b + cl[i]]; i++)
                ;
            if (i == k)
                break;
        }
        pk->base[h] = (uint32_t)b;
        pk->base_used[b] = 1;
        if (spc)
            pk->used[b] = 1;
        for (unsigned i = 0; i < k; i++) {
            pk->used[b + cl[i]] = 1;
            if (b + cl[i] + 1 > pk->top)
                pk->top = b + cl[i] + 1;
        }
        while (pk->used[pk->low])
            pk->low++;
    }
}

/* The emitted step, exactly as redact.c's step() reads the tables. */
static uint32_t ref_step(const redact__tr *tr, const uint8_t *cls, uint32_t s, uint8_t c)
{
    uint32_t x = tr[s].base + cls[c];
    return (tr[x].label & RT_LABEL) == (RT_TAG | c) ? x : 0;
}

/* Whether the term at DAG node n matters inside a word (RT_MID). */
static int mid_term(uint32_t n)
{
    for (int l = 0; l < RL_SLOTS; l++)
        if (nodes[n].stem[l] || (nodes[n].exact[l] & RK_BIT(RK_MEDICATION)))
            return 1;
    return 0;
}

/* The child of DAG node n with label b, 0 when none. */
static uint32_t dag_step(uint32_t n, uint8_t b)
{
    for (uint32_t x = nodes[n].child; x; x = nodes[x].next)
        if (nodes[x].label == b)
            return x;
    return 0;
}

/* Whether a term of REDACT__INFL_KINDS, in any language slot, ends at DAG
 * node n. */
static int infl_kinds(uint32_t n)
{
    for (int l = 0; l < RL_SLOTS; l++)
        if (nodes[n].exact[l] & REDACT__INFL_KINDS)
            return 1;
    return 0;
}

/* Whether DAG node n is an RT_INFL state (redact_tables.h): such a term
 * ends there or after one of the Polish replacements from there. */
static int infl_state(uint32_t n)
{
    if (infl_kinds(n))
        return 1;
    for (size_t k = 0; k < REDACT__N_PL_ENDINGS; k++) {
        uint32_t x = n;
        for (const char *r = redact__pl_endings[k].repl; *r && x; r++)
            x = dag_step(x, (uint8_t)*r);
        if (x && x != n && infl_kinds(x))
            return 1;
    }
    return 0;
}

/* The phrase filter of a block whose ' ' record is sp (see redact__spc_bit
 * in redact_tables.h), from the DAG. */
static uint64_t spc_filter(uint32_t sp)
{
    uint64_t f = 0;
    for (uint32_t x = nodes[sp].child; x; x = nodes[x].next) {
        if (!strchr(REDACT__ALNUM, nodes[x].label))
            continue; /* '.': never filtered at run time */
        unsigned a = nodes[x].label;
        f |= UINT64_C(1) << redact__spc_bit(a, 0);
        int mid = mid_term(x); /* matches inside the word: every b goes on */
        for (const char *b = REDACT__ALNUM; *b; b++)
            if (mid || dag_step(x, (uint8_t)*b))
                f |= UINT64_C(1) << redact__spc_bit(a, (uint8_t)*b);
    }
    return f;
}

/* Checks the phrase filter of state s from the emitted table alone, the way
 * the walk reads it: every pair a, b after which the walk could still find
 * a term has its bit. Returns 0 or -1. */
static int spc_check(const redact__tr *tr, const uint8_t *cls, uint32_t s)
{
    uint32_t sp = ref_step(tr, cls, s, ' ');
    if (!sp)
        return 0;
    redact__tr f = tr[tr[s].base];
    uint64_t bits = redact__spc_filter(f);
    if (f.label & RT_TAG)
        return -1; /* a step could match it */
    for (const char *a = REDACT__ALNUM; *a; a++) {
        uint32_t x = ref_step(tr, cls, sp, (uint8_t)*a);
        if (!x)
            continue;
        if (!(bits >> redact__spc_bit((uint8_t)*a, 0) & 1))
            return -1;
        for (const char *b = REDACT__ALNUM; *b; b++)
            if (((tr[x].label & RT_MID) || ref_step(tr, cls, x, (uint8_t)*b)) &&
                !(bits >> redact__spc_bit((uint8_t)*a, (uint8_t)*b) & 1))
                return -1;
    }
    return 0;
}

/* Writes trie *cur as static tables with the given prefix and the public
 * redact__tables `name`. Returns 0 or -1. */
static int emit_trie(FILE *out, const char *pfx, const char *name)
{
    /* RT_INFL only in the forward dictionary: the inflection step never
     * walks the tail lists. */
    const int infl_marks = strcmp(name, "redact__dict") == 0;
    if (n_nodes == 0)
        new_node(0); /* an empty tail list still yields a valid root */
    /* Label classes: a block's records sit at base + class, and terms use
     * only about 40 distinct bytes. Class 0 is every byte no edge carries:
     * its slot (the base itself) holds another block's label, never it. */
    uint8_t cls[256] = {0};
    unsigned n_cls = 1;
    size_t freq[256] = {0};
    for (size_t i = 1; i < n_nodes; i++)
        freq[nodes[i].label]++;
    /* ' ' first, so the ' ' record sits next to the phrase filter at the
     * block's base; then by how many edges carry the byte, so a block's
     * frequent children share its first cache line. */
    if (freq[' '])
        cls[' '] = (uint8_t)n_cls++;
    for (;;) {
        unsigned best = 0;
        size_t bf = 0;
        for (unsigned c = 1; c < 256; c++)
            if (!cls[c] && freq[c] > bf) {
                bf = freq[c];
                best = c;
            }
        if (!bf)
            break;
        cls[best] = (uint8_t)n_cls++;
    }

    /* Terminal table first; index 0 is the empty terminal. Terminals with the
     * same kinds share one entry: there are only a few hundred distinct kind
     * combinations among tens of thousands of terminal states, so sharing keeps
     * the table small (and in cache) now that an entry holds 64-bit masks. */
    uint16_t *term = calloc(n_nodes, sizeof *term);
    uint32_t *uniq = malloc(n_nodes * sizeof *uniq); /* record of each entry */
    packer pk = {0};
    pk.base = calloc(n_nodes, sizeof *pk.base);
    pk.seen = calloc(n_nodes, 1);
    uint32_t *slot = calloc(n_nodes, sizeof *slot); /* record -> slot */
    if (!term || !uniq || !pk.base || !pk.seen || !slot)
        return -1;
    size_t n_terms = 1;
    fprintf(out, "static const redact__term %sterms[] = {\n{{0},{0}},\n", pfx);
    for (size_t o = 0; o < n_nodes; o++) {
        uint64_t any = 0;
        for (int l = 0; l < RL_SLOTS; l++)
            any |= nodes[o].exact[l] | nodes[o].stem[l];
        if (!any)
            continue;
        size_t u;
        for (u = 1; u < n_terms; u++)
            if (memcmp(nodes[uniq[u]].exact, nodes[o].exact, sizeof nodes[o].exact) == 0 &&
                memcmp(nodes[uniq[u]].stem, nodes[o].stem, sizeof nodes[o].stem) == 0)
                break;
        if (u < n_terms) {
            term[o] = (uint16_t)u;
            continue;
        }
        if (n_terms >= 65535) {
            fprintf(stderr, "redact_gen: too many terms\n");
            return -1;
        }
        uniq[n_terms] = (uint32_t)o;
        term[o] = (uint16_t)n_terms++;
        fprintf(out, "{{");
        for (int l = 0; l < RL_SLOTS; l++)
            fprintf(out, "%s0x%llxu", l ? "," : "", (unsigned long long)nodes[o].exact[l]);
        fprintf(out, "},{");
        for (int l = 0; l < RL_SLOTS; l++)
            fprintf(out, "%s0x%llxu", l ? "," : "", (unsigned long long)nodes[o].stem[l]);
        fprintf(out, "}},\n");
    }
    free(uniq);
    fprintf(out, "};\n\n");

    /* Slot 0 is the root; slots below n_cls hold no record, so a state
     * without children (base 0) has no edge for any byte. */
    pk.cls = cls;
    pk.n_cls = n_cls;
    pk_grow(&pk, 2 * (size_t)n_cls + 1);
    pk.low = n_cls;
    pk.top = n_cls;
    if (nodes[0].child) {
        /* The blocks of the first PK_HOT_DEPTH levels breadth-first, then
         * depth-first below each of them in that order. */
        uint32_t *q = malloc(n_nodes * sizeof *q);
        uint8_t *qd = malloc(n_nodes);
        if (!q || !qd)
            return -1;
        size_t qh = 0, qt = 0;
        q[qt] = nodes[0].child;
        qd[qt++] = 1;
        while (qh < qt) {
            uint32_t h = q[qh];
            uint8_t d = qd[qh++];
            if (pk.seen[h])
                continue;
            if (d > PK_HOT_DEPTH) {
                pk_place(&pk, h);
                continue;
            }
            pk.seen[h] = 1;
            if (!pk.base[h])
                pk_place1(&pk, h);
            for (uint32_t c = h; c; c = nodes[c].next)
                if (nodes[c].child && !pk.seen[nodes[c].child]) {
                    q[qt] = nodes[c].child;
                    qd[qt++] = (uint8_t)(d + 1);
                }
        }
        free(q);
        free(qd);
    }
    size_t n_tr = pk.top + n_cls; /* base + any class stays inside */
    redact__tr *tr = calloc(n_tr, sizeof *tr);
    if (!tr)
        return -1;
    size_t n_rec = 0, n_blocks = 0;
    for (size_t h = 0; h < n_nodes; h++) {
        if (!pk.base[h])
            continue;
        n_blocks++;
        for (uint32_t c = (uint32_t)h; c; c = nodes[c].next) {
            slot[c] = pk.base[h] + cls[nodes[c].label];
            n_rec++;
        }
    }
    for (size_t h = 0; h < n_nodes; h++)
        if (pk.base[h])
            for (uint32_t c = (uint32_t)h; c; c = nodes[c].next) {
                redact__tr *e = &tr[slot[c]];
                if (e->label) {
                    fprintf(stderr, "redact_gen: %s: slot %u taken twice\n", name, slot[c]);
                    return -1;
                }
                e->base = nodes[c].child ? pk.base[nodes[c].child] : 0;
                e->term = term[c];
                e->label = (uint16_t)(RT_TAG | nodes[c].label);
                if (mid_term(c))
                    e->label |= RT_MID;
                if (infl_marks && infl_state(c))
                    e->label |= RT_INFL;
            }
    size_t n_spc = 0;
    for (size_t h = 0; h < n_nodes; h++)
        if (pk.base[h])
            for (uint32_t c = (uint32_t)h; c; c = nodes[c].next)
                if (nodes[c].label == ' ') {
                    redact__tr *e = &tr[pk.base[h]];
                    if (e->label || e->base || e->term) {
                        fprintf(stderr, "redact_gen: %s: filter slot %u taken\n", name, pk.base[h]);
                        return -1;
                    }
                    uint64_t f = spc_filter(c) & ~RT_SPC_TAG;
                    e->base = (uint32_t)f;
                    e->term = (uint16_t)(f >> 32);
                    e->label = (uint16_t)(f >> 48);
                    n_spc++;
                }
    tr[0].base = nodes[0].child ? pk.base[nodes[0].child] : 0;
    tr[0].term = term[0];

    /* Self-check: the emitted table, read as redact.c reads it, is the DAG
     * that was built: from every record, every byte leads to the record
     * with that label among its children, or nowhere. */
    size_t checked = 0;
    for (size_t o = 0; o < n_nodes; o++) {
        if (o != 0 && !slot[o])
            continue; /* a record of the trie before merging: not emitted */
        uint32_t s = o ? slot[o] : 0;
        if (tr[s].term != term[o])
            return -1;
        for (unsigned c = 0; c < 256; c++) {
            uint32_t got = ref_step(tr, cls, s, (uint8_t)c), want = 0;
            for (uint32_t ch = nodes[o].child; ch; ch = nodes[ch].next)
                if (nodes[ch].label == c)
                    want = slot[ch];
            if (got != want) {
                fprintf(stderr, "redact_gen: %s: slot %u byte %u leads to %u, not %u\n", name, s,
                        c, got, want);
                return -1;
            }
        }
        if (spc_check(tr, cls, s) != 0) {
            fprintf(stderr, "redact_gen: %s: slot %u: phrase filter misses a pair\n", name, s);
            return -1;
        }
        checked++;
    }
    if (n_rec + 1 != n_nodes || checked != n_nodes) { /* every record of the DAG is in the table */
        fprintf(stderr, "redact_gen: %s: %zu of %zu records checked\n", name, checked, n_rec + 1);
        return -1;
    }

    fprintf(out, "static const redact__tr %str[%zu] = {\n", pfx, n_tr);
    for (size_t i = 0; i < n_tr; i++)
        fprintf(out, "{%uu,%uu,%uu},%s", tr[i].base, (unsigned)tr[i].term,
                (unsigned)tr[i].label, (i % 8 == 7) ? "\n" : "");
    fprintf(out, "};\n\nstatic const uint8_t %scls[256] = {\n", pfx);
    for (int i = 0; i < 256; i++)
        fprintf(out, "%u,%s", (unsigned)cls[i], (i % 32 == 31) ? "\n" : "");
    fprintf(out,
            "};\n\nconst redact__tables %s = {\n"
            "    %str, %zu, %zu, %scls, %sterms, %zu, %zu\n};\n\n",
            name, pfx, n_tr, n_rec, pfx, pfx, n_terms, max_depth);
    fprintf(stderr,
            "redact_gen: %s: %zu records in %zu blocks, %zu phrase filters, %zu slots (%.1f %% "
            "used, %u label classes), %zu distinct terminal kind sets, longest term %zu bytes, "
            "%zu bytes of tables\n",
            name, n_rec, n_blocks, n_spc, n_tr, 100.0 * (double)(n_rec + 1 + n_spc) / (double)n_tr,
            n_cls - 1,
            n_terms - 1, max_depth,
            n_tr * sizeof *tr + sizeof cls + n_terms * sizeof(redact__term));
    free(tr);
    free(slot);
    free(pk.base);
    free(pk.seen);
    free(pk.used);
    free(pk.base_used);
    free(term);
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
    minimise();
    if (emit_trie(out, "", "redact__dict") != 0)
        return 1;
    free(nodes);
    cur = &tail_trie;
    minimise();
    if (emit_trie(out, "tail_", "redact__tail") != 0)
        return 1;
    free(nodes);
    if (fclose(out) != 0)
        return 1;
    return 0;
}
