/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target for the config file parser: any bytes either load (every string key then
 * set and every integer in its table range) or fail with a message; never a crash, leak
 * or out-of-bounds read.
 */
#include <stdint.h>
#include <string.h>

#include "gw_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gw_config cfg;
    char err[1024];
    err[0] = '\0';
    if (gw_config_load_text(&cfg, (const char *)data, size, "fuzz.conf", err, sizeof err) == 0) {
        if (cfg.port < 0 || cfg.port > 65535 || !cfg.state_dir || !cfg.master_key_file)
            __builtin_trap();
    } else if (err[0] == '\0') {
        __builtin_trap(); /* every refusal says why */
    }
    gw_config_free(&cfg);
    return 0;
}
