/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_redact_tok.c over the tokenizer's AVX-512BW windows (tok_block64 in
 * redact.c), which the scan takes where the CPU has them, plus a direct
 * comparison of those windows with the SSE2 ones.
 */
#define TOK_TEST_WIDE 1
#include "test_redact_tok.c"
