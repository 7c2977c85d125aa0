/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The compiled dictionary automata as redact.c reads them. redact_gen already
 * checks the tables it writes against the trie it built, with a plain loop
 * over the labels; this test checks that step() in redact.c, which compares
 * eight inline labels in one 64-bit word and uses dense rows for wide states,
 * gives exactly the same transitions, and that the tables form a tree (every
 * state but the root is reached by exactly one edge). It includes redact.c for
 * the static step().
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
    assert_non_null(seen);
    for (size_t s = 0; s < t->n_nodes; s++) {
        const redact__node *nd = &t->nodes[s];
        unsigned edges = 0;
        for (unsigned c = 0; c < 256; c++) {
            uint32_t got = step(t, (uint32_t)s, (uint8_t)c);
            assert_int_equal(got, ref_step(t, (uint32_t)s, (uint8_t)c));
            if (!got)
                continue;
            assert_true(got < t->n_nodes && got != 0);
            seen[got]++;
            edges++;
            if (s != 0 && nd->n <= RN_INLINE) /* inline labels are sorted and match */
                assert_int_equal(nd->u.label[got - nd->first], c);
        }
        if (s != 0)
            assert_int_equal(edges, nd->n);
        assert_true(nd->term == 0 || nd->term < t->n_terms);
    }
    for (size_t s = 1; s < t->n_nodes; s++)
        assert_int_equal(seen[s], 1);
    /* No transition on byte 0: zero padding of the inline labels must never match. */
    for (size_t s = 0; s < t->n_nodes; s++)
        assert_int_equal(step(t, (uint32_t)s, 0), 0);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dict_tables),
        cmocka_unit_test(test_tail_tables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
