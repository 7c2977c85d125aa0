/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of gateway/gw_rotate's key file edits: appending a version atomically (0600,
 * parses with gw_keys' parser, the new version current, no temporary file left), refusing
 * duplicates, retiring (never the current version), and merging new versions into a
 * live keyring in place (the reload path) — with a wrap/unwrap round trip proving the
 * merged key is the one in the file. A broken or world-readable file changes nothing.
 * Files live in a temporary directory removed at the end. No database.
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
#include <unistd.h>

#include <cmocka.h>
#include <dirent.h>
#include <sodium.h>

#include "gw_keys.h"
#include "gw_rotate.h"

static char g_dir[64], g_path[128];

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/cg-rotate-XXXXXX");
    if (!mkdtemp(g_dir))
        return -1;
    snprintf(g_path, sizeof g_path, "%s/master.key", g_dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *text, mode_t mode)
{
    FILE *f = fopen(g_path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(g_path, mode), 0);
}

static char *read_all(void)
{
    static char buf[4096];
    FILE *f = fopen(g_path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static seal_keyring *parse_file(void)
{
    seal_keyring *kr = NULL;
    char err[256];
    assert_int_equal(seal_keyring_new(&kr), SEAL_OK);
    const char *t = read_all();
    assert_int_equal(gw_keys_parse_master(t, strlen(t), kr, err, sizeof err), 0);
    return kr;
}

static int tmp_files_left(void)
{
    DIR *d = opendir(g_dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".tmp."))
            n++;
    closedir(d);
    return n;
}

#define V1 "v1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"

static void test_add_version(void **state)
{
    (void)state;
    char err[256] = "";
    write_file("# comment stays\n" V1, 0600);
    assert_int_equal(gw_rotate_file_add(g_path, 2, err, sizeof err), 0);
    struct stat st;
    assert_int_equal(stat(g_path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(tmp_files_left(), 0);
    const char *t = read_all();
    assert_non_null(strstr(t, "# comment stays\n" V1 "v2 "));
    seal_keyring *kr = parse_file();
    assert_int_equal(seal_keyring_count(kr), 2);
    assert_int_equal(seal_keyring_current(kr), 2);
    seal_keyring_free(kr);
    /* the same version again, or one not above the current, is refused */
    assert_int_equal(gw_rotate_file_add(g_path, 2, err, sizeof err), -1);
    assert_non_null(strstr(err, "already holds v2"));
}

static void test_add_refuses_unsafe_file(void **state)
{
    (void)state;
    char err[256] = "";
    write_file(V1, 0644);
    assert_int_equal(gw_rotate_file_add(g_path, 2, err, sizeof err), -1);
    assert_string_equal(read_all(), V1);
    write_file("v1 not-base64\n", 0600);
    assert_int_equal(gw_rotate_file_add(g_path, 2, err, sizeof err), -1);
    assert_non_null(strstr(err, "line 1"));
    assert_int_equal(tmp_files_left(), 0);
}

static void test_retire(void **state)
{
    (void)state;
    char err[256] = "";
    write_file(V1, 0600);
    assert_int_equal(gw_rotate_file_add(g_path, 2, err, sizeof err), 0);
    assert_int_equal(gw_rotate_file_remove(g_path, 2, err, sizeof err), -1); /* current */
    assert_non_null(strstr(err, "current"));
    assert_int_equal(gw_rotate_file_remove(g_path, 7, err, sizeof err), -1); /* absent */
    assert_int_equal(gw_rotate_file_remove(g_path, 1, err, sizeof err), 0);
    const char *t = read_all();
    assert_null(strstr(t, "v1 "));
    seal_keyring *kr = parse_file();
    assert_int_equal(seal_keyring_count(kr), 1);
    assert_int_equal(seal_keyring_version_at(kr, 0), 2);
    seal_keyring_free(kr);
    struct stat st;
    assert_int_equal(stat(g_path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_merge_in_place(void **state)
{
    (void)state;
    char err[256] = "";
    write_file(V1, 0600);
    seal_keyring *live = parse_file(); /* what a running gateway holds */
    assert_int_equal(gw_rotate_merge(g_path, live, err, sizeof err), 0); /* nothing new */
    assert_int_equal(gw_rotate_file_add(g_path, 2, err, sizeof err), 0);
    assert_int_equal(gw_rotate_merge(g_path, live, err, sizeof err), 1);
    assert_int_equal(seal_keyring_current(live), 2);
    assert_int_equal(seal_keyring_count(live), 2);

    /* The merged v2 is the file's v2: wrap with one, unwrap with the other. */
    seal_keyring *file = parse_file();
    seal_datakey *dk = NULL, *back = NULL;
    uint8_t conv[16] = {1, 2, 3}, w[SEAL_WRAPPED_BYTES];
    size_t wl = 0;
    uint32_t ver = 0;
    assert_int_equal(seal_datakey_new(&dk), SEAL_OK);
    assert_int_equal(seal_datakey_wrap(live, dk, conv, w, sizeof w, &wl, &ver), SEAL_OK);
    assert_int_equal(ver, 2);
    assert_int_equal(seal_datakey_unwrap(file, 2, conv, w, wl, &back), SEAL_OK);
    seal_datakey_free(back);
    seal_datakey_free(dk);
    seal_keyring_free(file);

    /* Retired versions stay in memory; a broken file changes nothing. */
    assert_int_equal(gw_rotate_file_remove(g_path, 1, err, sizeof err), 0);
    assert_int_equal(gw_rotate_merge(g_path, live, err, sizeof err), 0);
    assert_int_equal(seal_keyring_count(live), 2);
    write_file(V1 "garbage\n", 0600);
    assert_int_equal(gw_rotate_merge(g_path, live, err, sizeof err), -1);
    assert_int_equal(seal_keyring_count(live), 2);
    seal_keyring_free(live);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_add_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_refuses_unsafe_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retire, setup, teardown),
        cmocka_unit_test_setup_teardown(test_merge_in_place, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
