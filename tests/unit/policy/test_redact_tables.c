/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The compiled dictionary automata as redact.c reads them. redact_gen already
 * checks the table it writes against the DAG it built; this test checks the
 * table's own invariants through step() in redact.c: every record belongs to
 * the state whose base it sits above (slot - class of its label), each
 * state's records are exactly the transitions step() finds from it, every
 * record is reached, bases stay inside the table, and byte 0 (no label is 0)
 * leads nowhere. It includes redact.c for the static step().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../../policy/redact.c"

#include <stdlib.h>

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
        if (!lab)
            continue;
        records++;
        assert_true((lab & ~0xffu) == RT_TAG); /* a tagged byte */
        lab &= 0xffu;
        assert_true(lab != 0 && t->cls[lab] != 0);
        assert_true(x >= t->cls[lab]);
        owned[x - t->cls[lab]]++;
    }
    assert_int_equal(records, t->n_records);
    for (size_t s = 0; s < t->n_tr; s++) {
        if (s != 0 && !(t->tr[s].label & RT_LABEL))
            continue; /* a free slot: no state */
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
        if (t->tr[x].label & RT_LABEL)
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

/* What redact_engine_new derives from the tables: the two-byte first step of
 * the walk gives the state two single steps give, or PAIR_SLOW exactly when
 * the state after the first byte ends a term that matters inside a word
 * (RT_MID); the per-language term kinds are
 * the union of the slots each language selects. */
static void test_engine_tables(void **state)
{
    (void)state;
    redact_engine *e = redact_engine_new();
    assert_non_null(e);
    const redact__tables *t = e->t;
    const char *alnum = "0123456789abcdefghijklmnopqrstuvwxyz";
    size_t paths = 0;
    for (const char *a = alnum; *a; a++)
        for (const char *b = alnum; *b; b++) {
            uint32_t got = e->pair[t->cls[(uint8_t)*a] * e->pair_nc + t->cls[(uint8_t)*b]];
            uint32_t s1 = step(t, 0, (uint8_t)*a);
            if (s1 && (t->tr[s1].label & RT_MID)) {
                assert_int_equal(got, PAIR_SLOW);
                continue;
            }
            uint32_t want = s1 ? step(t, s1, (uint8_t)*b) : 0;
            assert_int_equal(got, want);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dict_tables),
        cmocka_unit_test(test_tail_tables),
        cmocka_unit_test(test_engine_tables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
