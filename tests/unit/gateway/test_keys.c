/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of gateway/gw_keys: master key file parsing (versions, comments, errors
 * with line numbers), refusal of files group/others can access or that are symlinks,
 * `keys init` creating 0600 files and never overwriting, and the audit signing key with
 * its .pub file. Files live in a temporary directory removed at the end.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "gw_cli.h"
#include "gw_keys.h"

static char g_dir[64];
static gw_config g_cfg;
static char g_master[128], g_audit[128];

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/cg-keys-XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    snprintf(g_master, sizeof g_master, "%s/sub/master.key", g_dir);
    snprintf(g_audit, sizeof g_audit, "%s/sub/audit-signing.key", g_dir);
    memset(&g_cfg, 0, sizeof g_cfg);
    g_cfg.master_key_file = g_master;
    g_cfg.audit_key_file = g_audit;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static void test_parse_master(void **state)
{
    (void)state;
    char err[256];
    seal_keyring *kr = NULL;
    assert_int_equal(seal_keyring_new(&kr), SEAL_OK);
    const char *ok = "# comment\n\n  v2 AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=  "
                     "\r\nv1\tAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=\n";
    assert_int_equal(gw_keys_parse_master(ok, strlen(ok), kr, err, sizeof err), 0);
    assert_int_equal(seal_keyring_count(kr), 2);
    assert_int_equal(seal_keyring_current(kr), 2);
    seal_keyring_free(kr);

    static const struct {
        const char *text;
        const char *expect;
    } bad[] = {
        {"", "no master key"},
        {"# only a comment\n", "no master key"},
        {"v1 AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\nv1 "
         "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=\n",
         "line 2: version v1 appears twice"},
        {"v0 AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n", "line 1: bad version"},
        {"1 AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n", "line 1: expected"},
        {"v1 AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ==\n",
         "line 1: key of v1 is not base64 of 32 bytes"},
        {"\nv3 not-base64\n", "line 2: key of v3"},
        {"v99999999999 AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n", "bad version"},
        {"v1AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n", "bad version"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(seal_keyring_new(&kr), SEAL_OK);
        err[0] = 0;
        assert_int_equal(
            gw_keys_parse_master(bad[i].text, strlen(bad[i].text), kr, err, sizeof err), -1);
        if (!strstr(err, bad[i].expect))
            fail_msg("case %zu: '%s' does not contain '%s'", i, err, bad[i].expect);
        /* no key material in error messages */
        assert_null(strstr(err, "AQEB"));
        seal_keyring_free(kr);
    }
}

static void test_init_creates_0600_and_never_overwrites(void **state)
{
    (void)state;
    char err[256];
    char *out = NULL;
    size_t outlen = 0;
    FILE *report = open_memstream(&out, &outlen);
    assert_int_equal(gw_keys_init(&g_cfg, report, err, sizeof err), 0);
    fclose(report);
    assert_non_null(strstr(out, "created master key file"));
    assert_non_null(strstr(out, "created audit signing key"));
    assert_null(strstr(out, "v1 ")); /* the key itself is never printed */
    free(out);

    struct stat st;
    assert_int_equal(stat(g_master, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(g_audit, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char pub[160];
    snprintf(pub, sizeof pub, "%s.pub", g_audit);
    assert_int_equal(stat(pub, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);

    FILE *f = fopen(g_master, "r");
    char before[512] = {0};
    assert_true(fread(before, 1, sizeof before - 1, f) > 0);
    fclose(f);

    seal_keyring *kr = NULL;
    assert_int_equal(gw_keys_load(&g_cfg, &kr, err, sizeof err), 0);
    assert_int_equal(seal_keyring_current(kr), 1);
    seal_keyring_free(kr);

    audit_signer *s = NULL;
    assert_int_equal(gw_keys_load_audit_signer(&g_cfg, &s, err, sizeof err), 0);
    uint8_t pk[32], pk2[32];
    audit_signer_public_key(s, pk);
    assert_int_equal(gw_keys_audit_public(&g_cfg, pk2, err, sizeof err), 0);
    assert_memory_equal(pk, pk2, 32);
    assert_int_equal(gw_keys_read_public(pub, pk2, err, sizeof err), 0);
    assert_memory_equal(pk, pk2, 32);
    audit_signer_free(s);

    /* second init: unchanged */
    assert_int_equal(gw_keys_init(&g_cfg, NULL, err, sizeof err), 0);
    f = fopen(g_master, "r");
    char after[512] = {0};
    assert_true(fread(after, 1, sizeof after - 1, f) > 0);
    fclose(f);
    assert_string_equal(before, after);
    /* no temporary files left behind */
    char cmd[256];
    snprintf(cmd, sizeof cmd, "ls %s/sub | grep -q tmp", g_dir);
    assert_int_not_equal(system(cmd), 0);
}

static void test_refuses_unsafe_files(void **state)
{
    (void)state;
    char err[256];
    char dir[96];
    snprintf(dir, sizeof dir, "%s/sub", g_dir);
    mkdir(dir, 0700);
    const char *key = "v1 AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n";
    seal_keyring *kr = NULL;
    const mode_t modes[] = {0640, 0604, 0644, 0660, 0610};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        unlink(g_master);
        write_file(g_master, key, modes[i]);
        assert_int_equal(gw_keys_load(&g_cfg, &kr, err, sizeof err), -1);
        assert_null(kr);
        assert_non_null(strstr(err, "refusing"));
    }
    chmod(g_master, 0400);
    assert_int_equal(gw_keys_load(&g_cfg, &kr, err, sizeof err), 0);
    seal_keyring_free(kr);
    kr = NULL;

    /* a symlink, even to a good file, is refused */
    char link_path[160];
    snprintf(link_path, sizeof link_path, "%s/link.key", dir);
    assert_int_equal(symlink(g_master, link_path), 0);
    g_cfg.master_key_file = link_path;
    assert_int_equal(gw_keys_load(&g_cfg, &kr, err, sizeof err), -1);
    assert_non_null(strstr(err, "symlink"));
    /* missing file: says how to create it */
    snprintf(link_path, sizeof link_path, "%s/none.key", dir);
    assert_int_equal(gw_keys_load(&g_cfg, &kr, err, sizeof err), -1);
    assert_non_null(strstr(err, "keys init"));
    g_cfg.master_key_file = g_master;
    /* keys init refuses to accept an existing unsafe file too */
    chmod(g_master, 0644);
    assert_int_equal(gw_keys_init(&g_cfg, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "refusing"));
    /* audit key with a bad line */
    write_file(g_audit, "ed25519 short\n", 0600);
    audit_signer *s = NULL;
    assert_int_equal(gw_keys_load_audit_signer(&g_cfg, &s, err, sizeof err), -1);
    assert_non_null(strstr(err, "line 1"));
}

/* Writes a POSIX access ACL (kernel xattr format): owner r, named user `uid` r, group
 * `gperm`, mask r, other 0. Returns 0, or -1 when the filesystem has no ACLs. */
static int set_acl(const char *path, uint32_t uid, unsigned gperm)
{
    uint8_t b[4 + 5 * 8];
    const struct {
        unsigned tag, perm;
        uint32_t id;
    } e[5] = {{0x01, 4, 0xffffffffu},
              {0x02, 4, uid},
              {0x04, gperm, 0xffffffffu},
              {0x10, 4, 0xffffffffu},
              {0x20, 0, 0xffffffffu}};
    b[0] = 2, b[1] = b[2] = b[3] = 0;
    for (int i = 0; i < 5; i++) {
        uint8_t *p = b + 4 + i * 8;
        p[0] = (uint8_t)e[i].tag, p[1] = 0, p[2] = (uint8_t)e[i].perm, p[3] = 0;
        p[4] = (uint8_t)e[i].id, p[5] = (uint8_t)(e[i].id >> 8), p[6] = (uint8_t)(e[i].id >> 16),
        p[7] = (uint8_t)(e[i].id >> 24);
    }
    return setxattr(path, "system.posix_acl_access", b, sizeof b, 0) == 0 ? 0 : -1;
}

static void test_systemd_credential_acl(void **state)
{
    (void)state;
    /* LoadCredential= files: 0400 plus an ACL entry for the service user; the mode then
     * shows the mask in the group bits. Ours is accepted, anyone else's is not. */
    char err[256];
    char dir[96];
    snprintf(dir, sizeof dir, "%s/sub", g_dir);
    mkdir(dir, 0700);
    const char *key = "v1 AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n";
    write_file(g_master, key, 0400);
    if (set_acl(g_master, (uint32_t)geteuid(), 0) != 0)
        skip(); /* no ACL support on this filesystem */
    struct stat st;
    assert_int_equal(stat(g_master, &st), 0);
    assert_int_equal(st.st_mode & 070, 040); /* the mask */
    seal_keyring *kr = NULL;
    assert_int_equal(gw_keys_load(&g_cfg, &kr, err, sizeof err), 0);
    seal_keyring_free(kr);
    kr = NULL;
    assert_int_equal(set_acl(g_master, (uint32_t)geteuid() + 4242, 0), 0);
    assert_int_equal(gw_keys_load(&g_cfg, &kr, err, sizeof err), -1);
    assert_non_null(strstr(err, "refusing"));
    assert_int_equal(set_acl(g_master, (uint32_t)geteuid(), 4), 0);
    assert_int_equal(gw_keys_load(&g_cfg, &kr, err, sizeof err), -1);
    assert_null(kr);
}

/* Collaborator stubs: keys status is exercised by the integration tests. */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_master),
        cmocka_unit_test_setup_teardown(test_init_creates_0600_and_never_overwrites, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_refuses_unsafe_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_systemd_credential_acl, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
