/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gw_rotate: master-key rotation and retirement, and the running gateway's keyring reload.
 *
 *   caregate keys rotate [--batch N]   new master-key version + re-wrap every data key
 *   caregate keys retire --version N   drop a version no data key uses any more
 *
 * Rotation, resumable at every point (docs/retention.md, "Keys"):
 *   1. a key_rotation row names the target version (so a rerun continues it instead of
 *      adding yet another version); 2. the version is appended to the key file through a
 *      temporary file + rename (0600, owner kept); 3. NOTIFY caregate_keys, and running
 *      gateways reload (gw_rotate_reload) so new data keys get the new version;
 *   4. data keys of older versions are re-wrapped in batches (SELECT … FOR UPDATE SKIP
 *      LOCKED, UPDATE guarded by the old version, one commit per batch), then swept again
 *      until none is left on an older version, because a gateway that had not reloaded
 *      yet may still wrap a new key with the old one; 5. the row is finished and audited.
 *
 * File parsing is gw_keys' (gw_keys_parse_master); this module never prints key bytes.
 */
#ifndef GW_ROTATE_H
#define GW_ROTATE_H

#include "gw_app.h"
#include "gw_config.h"
#include "seal.h"

#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>

/* Options and results of re-wrapping. */
typedef struct {
    int batch;      /* rows per transaction (default 200) */
    int settle_ms;  /* pause before each confirming sweep (default 1000) */
    int max_sweeps; /* give up (rerun continues) after this many non-empty sweeps */
    FILE *progress; /* progress bar, or NULL */
} gw_rotate_opts;

typedef struct {
    long rewrapped; /* rows moved to the target version */
    long failed;    /* rows that did not unwrap (missing version or damaged): left as they were */
    long remaining; /* rows still on another version at the end */
} gw_rotate_counts;

/*
 * Re-wraps every data key not on version `target` (which must be kr's current version)
 * on connection c. Returns 0 when none is left on another version, 1 when some could not
 * be moved (counts say how many), -1 on a database error (err).
 */
int gw_rotate_rewrap(PGconn *c, const seal_keyring *kr, uint32_t target, const gw_rotate_opts *o,
                     gw_rotate_counts *out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * Appends version `version` with a fresh random key to the key file at path, atomically
 * (temporary file in the same directory, fsync, rename, fsync of the directory), keeping
 * mode 0600 and the owner. The current text must parse; the version must be new.
 * Returns 0 or -1 with err.
 */
int gw_rotate_file_add(const char *path, uint32_t version, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Removes version `version`'s line(s) from the key file, atomically as above. Refuses to
 * remove the highest (current) version. Returns 0 or -1 with err. */
int gw_rotate_file_remove(const char *path, uint32_t version, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * Adds to kr every version of the key file at path that kr does not hold yet (versions
 * removed from the file stay in kr until restart: harmless, and it keeps a data key in
 * flight readable). kr keeps its identity, so everything borrowing it sees the new
 * versions. Returns the number of versions added, or -1 with err (kr unchanged).
 */
int gw_rotate_merge(const char *path, seal_keyring *kr, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * The running gateway's reload (NOTIFY caregate_keys, SIGHUP): merges the key file into
 * app->kr. Loop thread only. Returns the number of versions added or -1 (logged; the
 * gateway keeps serving with the keys it has).
 */
int gw_rotate_reload(gw_app *app);

/* `caregate keys rotate|retire` (called from gw_keys_cli_main). */
int gw_rotate_cli_main(const gw_config *cfg, int argc, char **argv);

#endif
