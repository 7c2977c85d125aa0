/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_langid_same.c over langid's scalar fallback (the code other CPUs than
 * x86-64 build), so that both agree with the reference.
 */
#define LANGID_SCALAR 1
#include "test_langid_same.c"
