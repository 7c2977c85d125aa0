/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_redact_tok.c over the tokenizer's scalar fallback (the code other
 * CPUs than x86-64 build), so that both agree with the reference.
 */
#define REDACT_TOK_SCALAR 1
#include "test_redact_tok.c"
