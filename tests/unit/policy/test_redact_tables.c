/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The compiled dictionary automata as redact.c reads them. redact_gen already
 * checks the tables it writes against the trie it built, with a plain loop
 * over the labels; this test checks that step() in redact.c, which compares
 * eight inline labels in one 64-bit word and uses dense rows for wide states,
 * gives exactly the same transitions, and that the tables form the DAG
 * redact_gen makes of the minimised trie: every state but the root is reached,
 * and states that share a child block agree on its size (equivalent states
 * share one block; a state in several blocks is one record in each). It
 * includes redact.c for the static step().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../../policy/redact.c"

#include <stdlib.h>

/* The transition read the simple way. */
static uint32_t ref_step(const redact__tables *t, uint32_t s, uint8_t c)
{
    if (s == 0)
        return t->root[c];
    const redact__node *nd = &t->nodes[s];
    if (nd->n > RN_INLINE) {
        unsigned k = t->wide[nd->u.wide + t->cls[c]];
        return k ? nd->first + k - 1 : 0;
    }
    for (unsigned k = 0; k < nd->n; k++)
        if (nd->u.label[k] == c)
            return nd->first + k;
    return 0;
}

static void check_tables(const redact__tables *t)
{
    assert_true(t->n_nodes > 0);
    unsigned char *seen = calloc(t->n_nodes, 1);
    unsigned short *block_n = calloc(t->n_nodes, sizeof *block_n); /* size + 1 per block */
    assert_non_null(seen);
    assert_non_null(block_n);
    for (size_t s = 0; s < t->n_nodes; s++) {
        const redact__node *nd = &t->nodes[s];
        unsigned edges = 0;
        for (unsigned c = 0; c < 256; c++) {
            uint32_t got = step(t, (uint32_t)s, (uint8_t)c);
            assert_int_equal(got, ref_step(t, (uint32_t)s, (uint8_t)c));
            if (!got)
                continue;
            assert_true(got < t->n_nodes && got != 0);
            seen[got] = 1;
            edges++;
            if (s != 0 && nd->n <= RN_INLINE) /* inline labels are sorted and match */
                assert_int_equal(nd->u.label[got - nd->first], c);
        }
        if (s != 0)
            assert_int_equal(edges, nd->n);
        if (s != 0 && nd->n) {
            if (block_n[nd->first])
                assert_int_equal(block_n[nd->first], nd->n + 1u);
            block_n[nd->first] = (unsigned short)(nd->n + 1u);
        }
        assert_true(nd->term == 0 || nd->term < t->n_terms);
    }
    for (size_t s = 1; s < t->n_nodes; s++)
        assert_int_equal(seen[s], 1); /* no record is unreachable */
    /* No transition on byte 0: zero padding of the inline labels must never match. */
    for (size_t s = 0; s < t->n_nodes; s++)
        assert_int_equal(step(t, (uint32_t)s, 0), 0);
    free(seen);
    free(block_n);
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
 * the state after the first byte ends a term; the per-language term kinds are
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
            uint32_t s1 = ref_step(t, 0, (uint8_t)*a);
            if (s1 && t->nodes[s1].term) {
                assert_int_equal(got, PAIR_SLOW);
                continue;
            }
            uint32_t want = s1 ? ref_step(t, s1, (uint8_t)*b) : 0;
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
