/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: audit exports. `caregate audit verify --file` reads files that come from
 * outside (a DPO's mailbox, a regulator): JSONL or CSV, possibly hostile. Whatever the
 * bytes, gw_audit_verify_export must return a verdict without crashing, leaking or
 * overflowing, both when it trusts the keys the file names and when it trusts only a
 * fixed key. The corpus (tests/fuzz/corpus/fuzz_audit_export/) has
 * real exports, so mutations start from valid structure.
 */
#include "gw_audit.h"
#include "gw_cli.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* gw_audit.o references the CLI's database helpers; this target never calls them. */
PGconn *gw_cli_db_connect(const gw_config *cfg)
{
    (void)cfg;
    return NULL;
}
void gw_cli_db_close(const gw_config *cfg, PGconn *conn)
{
    (void)cfg;
    (void)conn;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *devnull;
    if (!devnull && !(devnull = fopen("/dev/null", "w")))
        abort();
    /* 1: trust the keys the file names (what `verify --file` does without --pubkey) */
    (void)gw_audit_verify_export((const char *)data, size, "fuzz", NULL, 0, devnull);
    /* 2: trust only a fixed key: no input can carry a valid checkpoint for it */
    static const uint8_t pk[1][AUDIT_PK_BYTES] = {{0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7,
                                                   0xd5, 0x4b, 0xfe, 0xd3, 0xc9, 0x64, 0x07, 0x3a,
                                                   0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25,
                                                   0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a}};
    (void)gw_audit_verify_export((const char *)data, size, "fuzz", pk, 1, devnull);
    return 0;
}
