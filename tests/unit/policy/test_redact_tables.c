/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The compiled dictionary automata as redact.c reads them. redact_gen already
 * checks the table it writes against the DAG it built; this test checks the
 * table's own invariants through step() in redact.c: every record belongs to
 * the state whose base it sits above (slot - class of its label), each
 * state's records are exactly the transitions step() finds from it, every
 * record is reached, bases stay inside the table, and byte 0 (no label is 0)
 * leads nowhere; that the phrase filters pass every pair of next-word
 * bytes the plain steps could still match; and that RT_INFL marks exactly
 * the states where the inflection step could take a lemma. It includes
 * redact.c for the static step().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../../policy/redact.c"

#include <stdlib.h>
#include <string.h>

static void check_tables(const redact__tables *t)
{
    assert_true(t->n_tr > 0);
    unsigned nc = 0;
    for (unsigned c = 0; c < 256; c++)
        if (t->cls[c] >= nc)
            nc = t->cls[c] + 1u;
    /* records owned by each base: the slot minus its label's class */
    unsigned *owned = calloc(t->n_tr, sizeof *owned);
    unsigned char *seen = calloc(t->n_tr, 1);
    assert_non_null(owned);
    assert_non_null(seen);
    size_t records = 0;
    for (size_t x = 1; x < t->n_tr; x++) {
        unsigned lab = t->tr[x].label & RT_LABEL;
        if (!(lab & RT_TAG))
            continue; /* a free slot or a phrase filter */
        records++;
        assert_true((lab & ~0xffu) == RT_TAG); /* a tagged byte */
        lab &= 0xffu;
        assert_true(lab != 0 && t->cls[lab] != 0);
        assert_true(x >= t->cls[lab]);
        owned[x - t->cls[lab]]++;
    }
    assert_int_equal(records, t->n_records);
    for (size_t s = 0; s < t->n_tr; s++) {
        if (s != 0 && !(t->tr[s].label & RT_TAG))
            continue; /* a free slot or a phrase filter: no state */
        const redact__tr *r = &t->tr[s];
        assert_true(r->base + nc <= t->n_tr);
        assert_true(r->term == 0 || r->term < t->n_terms);
        unsigned edges = 0;
        for (unsigned c = 0; c < 256; c++) {
            uint32_t got = step(t, (uint32_t)s, (uint8_t)c);
            if (!got)
                continue;
            assert_true(got < t->n_tr);
            assert_int_equal(t->tr[got].label & RT_LABEL, RT_TAG | c);
            assert_int_equal(got, r->base + t->cls[c]);
            seen[got] = 1;
            edges++;
        }
        /* a state without children has base 0, which owns nothing */
        assert_int_equal(edges, r->base ? owned[r->base] : 0);
        assert_int_equal(step(t, (uint32_t)s, 0), 0);
    }
    for (size_t x = 1; x < t->n_tr; x++)
        if (t->tr[x].label & RT_TAG)
            assert_int_equal(seen[x], 1); /* no record is unreachable */
    assert_int_equal(owned[0], 0);
    free(owned);
    free(seen);
}

static void test_dict_tables(void **state)
{
    (void)state;
    check_tables(&redact__dict);
}

static void test_tail_tables(void **state)
{
    (void)state;
    check_tables(&redact__tail);
}

/* The phrase filters (redact__spc_bit in redact_tables.h), against plain
 * steps: for every state with a ' ' child, the slot at its base is no record
 * (RT_TAG clear), and every pair of ASCII letters or digits a, b after which the
 * walk into the next word could still find a term has its bit: a has a
 * child after ' ', and b has one after a or the state after a is an RT_MID
 * term; a alone (the next byte no letter or digit) has its bit whenever the
 * state after a exists. The filter must also reject something, or the walk
 * gains nothing from it. */
static void test_phrase_filter(void **state)
{
    (void)state;
    const redact__tables *t = &redact__dict;
    const char *alnum = REDACT__ALNUM;
    size_t phrases = 0, pairs = 0, rejected = 0;
    for (size_t s = 0; s < t->n_tr; s++) {
        if (s != 0 && !(t->tr[s].label & RT_TAG))
            continue; /* a free slot or a filter: no state */
        uint32_t sp = step(t, (uint32_t)s, ' ');
        if (!sp)
            continue;
        phrases++;
        redact__tr fs = t->tr[t->tr[s].base];
        assert_false(fs.label & RT_TAG); /* no step can match it */
        uint64_t f = redact__spc_filter(fs);
        for (const char *a = alnum; *a; a++) {
            uint32_t x = step(t, sp, (uint8_t)*a);
            if (x)
                assert_true(f >> redact__spc_bit((uint8_t)*a, 0) & 1);
            for (const char *b = alnum; *b; b++) {
                int live = x && ((t->tr[x].label & RT_MID) || step(t, x, (uint8_t)*b));
                int pass = (int)(f >> redact__spc_bit((uint8_t)*a, (uint8_t)*b) & 1);
                if (live)
                    assert_true(pass);
                pairs++;
                rejected += !pass;
            }
        }
    }
    print_message("phrase filters: %zu states, %zu of %zu pairs rejected\n", phrases, rejected,
                  pairs);
    assert_true(phrases > 1000);
    assert_true(rejected > pairs / 4);
}

/* Whether a term of the inflection step's kinds, in any language slot,
 * ends at state x of t. */
static int infl_kinds_at(const redact__tables *t, uint32_t x)
{
    if (!x || !t->tr[x].term)
        return 0;
    const redact__term *tm = &t->terms[t->tr[x].term];
    for (int l = 0; l < RL_SLOTS; l++)
        if (tm->exact[l] & REDACT__INFL_KINDS)
            return 1;
    return 0;
}

/* The RT_INFL marks (redact_tables.h), against plain steps: a record has
 * the mark exactly when such a term ends at its state or one Polish
 * replacement after it, as infl_match looks for lemmas; the tail lists have
 * none. They must also leave most records unmarked, or dict_walk's or-ed
 * mark would let every word through to the inflection step. */
static void test_infl_marks(void **state)
{
    (void)state;
    const redact__tables *t = &redact__dict;
    size_t marked = 0, records = 0;
    for (uint32_t x = 1; x < t->n_tr; x++) {
        if (!(t->tr[x].label & RT_TAG))
            continue; /* a free slot or a phrase filter */
        records++;
        int want = infl_kinds_at(t, x);
        for (size_t k = 0; k < REDACT__N_PL_ENDINGS && !want; k++) {
            const char *r = redact__pl_endings[k].repl;
            if (!*r)
                continue;
            uint32_t y = x;
            for (; *r && y; r++)
                y = step(t, y, (uint8_t)*r);
            want = infl_kinds_at(t, y);
        }
        if (want != !!(t->tr[x].label & RT_INFL)) {
            print_error("record %u: RT_INFL %d, want %d\n", (unsigned)x,
                        !!(t->tr[x].label & RT_INFL), want);
            fail();
        }
        marked += (size_t)want;
    }
    for (size_t x = 0; x < redact__tail.n_tr; x++)
        if (redact__tail.tr[x].label & RT_TAG)
            assert_false(redact__tail.tr[x].label & RT_INFL);
    print_message("RT_INFL: %zu of %zu records\n", marked, records);
    assert_true(marked > 1000);
    assert_true(marked < records / 4);
}

/* What redact_engine_new derives from the tables: the two-byte first step of
 * the walk gives the state two single steps give, or PAIR_SLOW exactly when
 * the state after the first byte ends a term that matters inside a word
 * (RT_MID), and pair_rec holds that state's record; the per-language term
 * kinds are the union of the slots each language selects. */
static void test_engine_tables(void **state)
{
    (void)state;
    redact_engine *e = redact_engine_new();
    assert_non_null(e);
    const redact__tables *t = e->t;
    const char *alnum = REDACT__ALNUM;
    size_t paths = 0;
    for (const char *a = alnum; *a; a++)
        for (const char *b = alnum; *b; b++) {
            size_t k = t->cls[(uint8_t)*a] * e->pair_nc + t->cls[(uint8_t)*b];
            uint32_t got = e->pair[k];
            uint32_t s1 = step(t, 0, (uint8_t)*a);
            if (s1 && (t->tr[s1].label & RT_MID)) {
                assert_int_equal(got, PAIR_SLOW);
                continue;
            }
            uint32_t want = s1 ? step(t, s1, (uint8_t)*b) : 0;
            assert_int_equal(got, want);
            /* pair_rec: the state's record, read by the walk instead of tr[got] */
            if (want)
                assert_memory_equal(&e->pair_rec[k], &t->tr[want], sizeof(redact__tr));
            paths += want != 0;
        }
    assert_true(paths > 100); /* the table is not trivially empty */
    for (size_t l = 0; l < N_LANGS; l++) {
        for (size_t k = 0; k < t->n_terms; k++) {
            uint64_t x = 0, st = 0;
            for (int sl = 0; sl < RL_SLOTS; sl++)
                if (lang_slots[l] & (1u << sl)) {
                    x |= t->terms[k].exact[sl];
                    st |= t->terms[k].stem[sl];
                }
            assert_true(e->dict_terms[l * t->n_terms + k].exact == x);
            assert_true(e->dict_terms[l * t->n_terms + k].stem == st);
        }
        for (size_t k = 0; k < e->tail->n_terms; k++) {
            uint64_t x = 0;
            for (int sl = 0; sl < RL_SLOTS; sl++)
                if (lang_slots[l] & (1u << sl))
                    x |= e->tail->terms[k].exact[sl];
            assert_true(e->tail_terms[l * e->tail->n_terms + k] == x);
        }
    }
    redact_engine_free(e);
}

/* tail_pair, tail_match's first two steps: for every two ASCII letters or
 * digits (a last, b before it) the state two single backward steps from the
 * tail root give, 0 when one of them fails, or PAIR_SLOW exactly when a term
 * ends after a or after b (or a byte has no class in the dictionary, which
 * no letter or digit lacks). */
static void test_tail_pair(void **state)
{
    (void)state;
    redact_engine *e = redact_engine_new();
    assert_non_null(e);
    const redact__tables *t = e->t, *tl = e->tail;
    const uint32_t *tp = TAIL_PAIR(e->pair, e->pair_nc);
    const char *alnum = "0123456789abcdefghijklmnopqrstuvwxyz";
    size_t dead = 0, states = 0;
    for (const char *a = alnum; *a; a++)
        for (const char *b = alnum; *b; b++) {
            assert_true(t->cls[(uint8_t)*a] && t->cls[(uint8_t)*b]);
            uint32_t got = tp[t->cls[(uint8_t)*a] * e->pair_nc + t->cls[(uint8_t)*b]];
            uint32_t s1 = step(tl, 0, (uint8_t)*a);
            uint32_t s2 = s1 ? step(tl, s1, (uint8_t)*b) : 0;
            if ((s1 && tl->tr[s1].term) || (s2 && tl->tr[s2].term)) {
                assert_int_equal(got, PAIR_SLOW);
                continue;
            }
            assert_int_equal(got, s2);
            dead += s2 == 0;
            states += s2 != 0;
        }
    assert_true(dead > 100 && states > 100); /* both outcomes are common */
    redact_engine_free(e);
}

/* tail_match as it was before tail_pair: the plain walk from the root. */
static uint64_t tail_match_plain(const scan *sc, size_t p, size_t e)
{
    const redact__tables *t = sc->tail;
    uint32_t node = 0;
    uint64_t best = 0;
    size_t best_pos = e, i = e, depth = 0;
    while (i > p && depth <= t->max_depth) {
        size_t j = i - 1, k;
        char f[2];
        unsigned char c0 = sc->s[j];
        if (ascii_fold[c0]) {
            f[0] = (char)ascii_fold[c0];
            k = 1;
        } else if (c0 < 0x80) {
            f[0] = (char)((ascii_cls[c0] & RF_UPPER) ? c0 + 32 : c0);
            k = 1;
        } else {
            while (j > p && (sc->s[j] & 0xC0) == 0x80 && i - j < 4)
                j--;
            uint32_t cp;
            unsigned cls;
            if (j + redact__utf8(sc->s, j, sc->n, &cp) != i)
                return 0;
            k = redact__fold(cp, f, &cls);
        }
        i = j;
        if (k == 0)
            continue;
        for (size_t q = k; q-- > 0;) {
            node = step(t, node, (uint8_t)f[q]);
            if (!node)
                goto done;
        }
        depth += k;
        unsigned tm = t->tr[node].term;
        if (tm && sc->tail_lterms[tm]) {
            best = sc->tail_lterms[tm];
            best_pos = i;
        }
    }
done:
    if (!best || (best & RK_BIT(RK_STOP)))
        return 0;
    size_t pre = 0;
    for (size_t q = p; q < best_pos && pre < TAIL_MIN_PREFIX; q++)
        if ((sc->s[q] & 0xC0) != 0x80)
            pre++;
    return pre >= TAIL_MIN_PREFIX ? best : 0;
}

/* Every term of the tail lists with a health kind in some language, reached
 * by a depth-first walk of the reversed trie (path: the word's bytes from
 * its end), must pass the tail filter wherever tail_match asks it: after
 * two ASCII letters or digits that lead to a state of tail_pair, the third
 * and fourth bytes (any fourth one when the term ends after the third). */
static size_t filt_terms;
static void tail_filt_terms(const redact_engine *e, uint32_t node, unsigned char *path, size_t depth)
{
    const redact__tables *tl = e->tail;
    const redact__term *tm = &tl->terms[tl->tr[node].term];
    uint64_t kinds = 0;
    for (int sl = 0; sl < RL_SLOTS; sl++)
        kinds |= tm->exact[sl];
    if (depth >= 3 && (kinds & HEALTH_KINDS) && ascii_fold[path[0]] == path[0] &&
        ascii_fold[path[1]] == path[1] && ascii_fold[path[2]] == path[2]) {
        uint32_t x = TAIL_PAIR(e->pair, e->pair_nc)[e->t->cls[path[0]] * e->pair_nc + e->t->cls[path[1]]];
        if (x && x != PAIR_SLOW) {
            for (const char *d = REDACT__ALNUM; *d; d++) {
                if (depth > 3 && (uint8_t)*d != path[3])
                    continue;
                uint32_t b = tail_filt_bit(x, path[2], (uint8_t)*d);
                assert_true(e->tail_filt[b / 64] >> (b % 64) & 1);
            }
            filt_terms++;
        }
    }
    if (depth + 1 >= 64)
        return;
    for (unsigned c = 1; c < 256; c++) {
        uint32_t y = step(tl, node, (uint8_t)c);
        if (y) {
            path[depth] = (unsigned char)c;
            tail_filt_terms(e, y, path, depth + 1);
        }
    }
}

static void test_tail_filter(void **state)
{
    (void)state;
    redact_engine *e = redact_engine_new();
    assert_non_null(e);
    unsigned char path[64];
    filt_terms = 0;
    tail_filt_terms(e, 0, path, 0);
    assert_true(filt_terms > 1000);
    /* and it filters: most bits are clear */
    size_t set = 0;
    for (size_t k = 0; k < TAIL_FILT_BITS / 64; k++)
        set += (size_t)__builtin_popcountll(e->tail_filt[k]);
    print_message("tail filter: %zu health terms checked, %zu of %u bits set\n", filt_terms, set,
                  TAIL_FILT_BITS);
    assert_true(set > 100 && set < TAIL_FILT_BITS / 10);
    redact_engine_free(e);
}

static redact_engine *walk_eng;
static size_t walk_words, walk_found;

/* tail_match and the plain walk on prefix + word, as the whole text and
 * with text after it, in every language. */
static void walk_both(const char *prefix, const char *word, size_t wlen)
{
    char text[256];
    size_t pl = strlen(prefix);
    assert_true(pl + wlen + 3 < sizeof text);
    memcpy(text, prefix, pl);
    memcpy(text + pl, word, wlen);
    memcpy(text + pl + wlen, " x", 3);
    for (size_t l = 0; l < N_LANGS; l++)
        for (int tailtext = 0; tailtext < 2; tailtext++) {
            scan sc;
            memset(&sc, 0, sizeof sc);
            sc.t = walk_eng->t;
            sc.tail = walk_eng->tail;
            sc.s = (const unsigned char *)text;
            sc.n = pl + wlen + (tailtext ? 2 : 0);
            sc.pair = walk_eng->pair;
            sc.pair_nc = walk_eng->pair_nc;
            sc.tail_filt = walk_eng->tail_filt;
            sc.tail_lterms = walk_eng->tail_terms + l * walk_eng->tail->n_terms;
            uint64_t want = tail_match_plain(&sc, 0, pl + wlen);
            assert_true(tail_match(&sc, 0, pl + wlen) == want);
            walk_words++;
            walk_found += want != 0;
        }
}

/* Every term of the tail lists, in order (upper case, after prefixes of
 * zero to five letters, after a two-byte letter), and every two ASCII
 * letters or digits as a word's end: tail_match finds what the plain walk
 * finds. The terms come from a depth-first walk of the reversed trie. */
static void tail_terms_walk(uint32_t node, char *path, size_t depth)
{
    const redact__tables *tl = walk_eng->tail;
    if (depth && tl->tr[node].term) {
        char word[64];
        for (size_t q = 0; q < depth; q++)
            word[q] = path[depth - 1 - q];
        static const char *const prefixes[] = {"", "k", "ab", "abc", "Hals", "\xc3\xa9\xc3\xa9x"};
        for (size_t k = 0; k < sizeof prefixes / sizeof prefixes[0]; k++)
            walk_both(prefixes[k], word, depth);
        if (word[0] >= 'a' && word[0] <= 'z') {
            word[0] = (char)(word[0] - 32);
            walk_both("Abc", word, depth);
        }
    }
    if (depth + 1 >= 64)
        return;
    for (unsigned c = 1; c < 256; c++) {
        uint32_t x = step(tl, node, (uint8_t)c);
        if (x) {
            path[depth] = (char)c;
            tail_terms_walk(x, path, depth + 1);
        }
    }
}

static void test_tail_pair_walks(void **state)
{
    (void)state;
    walk_eng = redact_engine_new();
    assert_non_null(walk_eng);
    char path[64];
    tail_terms_walk(0, path, 0);
    const char *alnum = "0123456789abcdefghijklmnopqrstuvwxyzABCXYZ";
    for (const char *a = alnum; *a; a++)
        for (const char *b = alnum; *b; b++) {
            char w[2] = {*b, *a};
            walk_both("", w, 2);
            walk_both("k", w, 2);
            walk_both("Patienten", w, 2);
            walk_both("\xc3\xbc", w, 2);
        }
    print_message("tail_match: %zu walks compared, %zu found a tail\n", walk_words, walk_found);
    assert_true(walk_found > 1000);
    redact_engine_free(walk_eng);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dict_tables),
        cmocka_unit_test(test_tail_tables),
        cmocka_unit_test(test_phrase_filter),
        cmocka_unit_test(test_infl_marks),
        cmocka_unit_test(test_engine_tables),
        cmocka_unit_test(test_tail_pair),
        cmocka_unit_test(test_tail_pair_walks),
        cmocka_unit_test(test_tail_filter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
