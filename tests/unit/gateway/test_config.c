/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gw_config: the table's defaults, the file parser's error messages (file:line and key),
 * integer ranges, quoted values, derived paths, and that deploy/caregate.conf documents
 * every key with its real default and parses cleanly as shipped. Pure: no sockets, no
 * database; config files are written to a temporary directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "gw_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SAMPLE GW_TEST_DATA "/../deploy/caregate.conf"

static char tmpdir_path[64];

static int setup(void **st)
{
    (void)st;
    snprintf(tmpdir_path, sizeof tmpdir_path, "/tmp/cg-config-XXXXXX");
    return mkdtemp(tmpdir_path) ? 0 : -1;
}

static int teardown(void **st)
{
    (void)st;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir_path);
    return system(cmd) == 0 ? 0 : -1;
}

/* Writes text to <tmpdir>/name and returns the path (static buffer). */
static const char *write_conf(const char *name, const char *text)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", tmpdir_path, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_defaults(void **st)
{
    (void)st;
    gw_config cfg;
    char err[256] = "";
    assert_int_equal(gw_config_load(&cfg, NULL, err, sizeof err), 0);
    assert_string_equal(cfg.listen_address, "127.0.0.1");
    assert_int_equal(cfg.port, 8080);
    assert_string_equal(cfg.state_dir, "/var/lib/caregate");
    assert_string_equal(cfg.database_url, "");
    assert_string_equal(cfg.embedded_pg_user, "postgres");
    assert_string_equal(cfg.pg_bin_dir, "/usr/lib/postgresql/15/bin");
    assert_int_equal(cfg.db_connections, 2);
    assert_string_equal(cfg.staff_email_domains, "demo-clinic.example");
    /* empty key paths are derived from state_dir */
    assert_string_equal(cfg.master_key_file, "/var/lib/caregate/master.key");
    assert_string_equal(cfg.audit_key_file, "/var/lib/caregate/audit-signing.key");
    assert_true(strlen(cfg.widget_dir) > 0);
    gw_config_free(&cfg);
    gw_config_free(&cfg); /* idempotent */
}

static void test_values_and_quotes(void **st)
{
    (void)st;
    const char *p = write_conf("ok.conf", "# comment\n"
                                          "\n"
                                          "  port = 9090  \n"
                                          "clinic_name = \"Praxis Dr. Müller # Team\"\n"
                                          "state_dir=/srv/cg\n"
                                          "staff_email_domains = \"a.example  b.example\"\n"
                                          "log_level = debug\n");
    gw_config cfg;
    char err[256] = "";
    assert_int_equal(gw_config_load(&cfg, p, err, sizeof err), 0);
    assert_int_equal(cfg.port, 9090);
    assert_string_equal(cfg.clinic_name, "Praxis Dr. Müller # Team");
    assert_string_equal(cfg.state_dir, "/srv/cg");
    assert_string_equal(cfg.master_key_file, "/srv/cg/master.key");
    assert_true(gw_config_list_has(cfg.staff_email_domains, "b.example", 9));
    assert_false(gw_config_list_has(cfg.staff_email_domains, "b.exampl", 8));
    assert_string_equal(cfg.log_level, "debug");
    gw_config_free(&cfg);
}

static void expect_error(const char *name, const char *text, const char *want)
{
    const char *p = write_conf(name, text);
    char path[128];
    snprintf(path, sizeof path, "%s", p);
    gw_config cfg;
    char err[512] = "";
    assert_int_equal(gw_config_load(&cfg, path, err, sizeof err), -1);
    /* want starting with ':' means "<path>:line: ..." */
    char full[640];
    snprintf(full, sizeof full, "%s%s", want[0] == ':' ? path : "", want);
    if (!strstr(err, full))
        fail_msg("error '%s' does not contain '%s'", err, full);
    gw_config_free(&cfg);
}

static void test_unknown_key(void **st)
{
    (void)st;
    expect_error("unknown.conf", "port = 8081\n# x\nno_such_key = 1\n",
                 ":3: unknown key 'no_such_key'");
}

static void test_out_of_range_and_not_integer(void **st)
{
    (void)st;
    expect_error("range.conf", "\nport = 70000\n",
                 ":2: key 'port': 70000 is out of range [0, 65535]");
    expect_error("range2.conf", "db_connections = 0\n",
                 ":1: key 'db_connections': 0 is out of range [1, 64]");
    expect_error("nan.conf", "port = 80x\n", ":1: key 'port': '80x' is not an integer");
    expect_error("noeq.conf", "port 80\n", ":1: expected 'key = value'");
}

static void test_cross_key_rules(void **st)
{
    (void)st;
    expect_error("tls.conf", "tls_cert_file = /x.pem\n", "must be set together");
    expect_error("lvl.conf", "log_level = loud\n", "key 'log_level'");
    expect_error("sd.conf", "state_dir = \"\"\n", "key 'state_dir' must not be empty");
}

static void test_missing_file(void **st)
{
    (void)st;
    gw_config cfg;
    char err[256] = "";
    assert_int_equal(gw_config_load(&cfg, "/nonexistent/caregate.conf", err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent/caregate.conf: cannot open"));
    gw_config_free(&cfg);
}

/* Every key of the table appears in the sample as "# key = <default>" (quoted or not). */
static void test_sample_documents_every_key(void **st)
{
    (void)st;
    FILE *f = fopen(SAMPLE, "r");
    assert_non_null(f);
    static char text[1 << 17];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    const char *key, *def, *doc;
    int missing = 0;
    for (size_t i = 0; (key = gw_config_key(i, &doc, &def)) != NULL; i++) {
        char plain[512], quoted[512];
        if (*def)
            snprintf(plain, sizeof plain, "\n# %s = %s\n", key, def);
        else
            snprintf(plain, sizeof plain, "\n# %s =\n", key);
        snprintf(quoted, sizeof quoted, "\n# %s = \"%s\"\n", key, def);
        if (!strstr(text, plain) && !strstr(text, quoted)) {
            print_error("deploy/caregate.conf lacks '# %s = %s'\n", key, def);
            missing++;
        }
    }
    assert_int_equal(missing, 0);
}

static void test_sample_parses(void **st)
{
    (void)st;
    gw_config cfg;
    char err[512] = "";
    int rc = gw_config_load(&cfg, SAMPLE, err, sizeof err);
    if (rc != 0)
        fail_msg("%s", err);
    gw_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_values_and_quotes),
        cmocka_unit_test(test_unknown_key),
        cmocka_unit_test(test_out_of_range_and_not_integer),
        cmocka_unit_test(test_cross_key_rules),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_sample_documents_every_key),
        cmocka_unit_test(test_sample_parses),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
