/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gw_keys: master key and audit signing key files, and `caregate keys init|status`
 * (file formats in gw_keys.h).
 *
 * Files are opened with O_NOFOLLOW and checked with fstat on the open descriptor, so a
 * file swapped between check and read is not a way around the mode check. Whatever we
 * read is wiped from our buffers before returning. This module does not rotate keys
 * (that later command re-wraps data_key rows with seal unwrap + wrap and records
 * key.rotate audit events); the versioned format is what makes it possible without
 * downtime: add v<N+1>, restart, re-wrap, then drop the old line.
 */
#define _GNU_SOURCE /* O_NOFOLLOW, O_CLOEXEC, mkstemp */
#include "gw_keys.h"

#include "gw_cli.h"
#include "gw_rotate.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define KEYFILE_MAX 65536 /* a key file is a few lines; anything bigger is not ours */

__attribute__((format(printf, 3, 4))) static int seterr(char *err, size_t errlen, const char *fmt,
                                                        ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/*
 * systemd credentials (LoadCredential=) arrive as root-owned 0400 files with a POSIX ACL
 * entry granting the service user read access; with an ACL the mode's group bits show
 * the ACL mask, so the plain mode check would refuse them. This accepts an ACL only when
 * nobody but the file's owner and our own uid can read: no owning-group or named-group
 * permission, no "other" permission, named-user entries only for geteuid().
 * Returns 1 when the ACL is that strict, 0 otherwise (including "no ACL").
 * The xattr layout is the kernel's: a u32 version (2), then entries of u16 tag, u16
 * perm, u32 id, little-endian.
 */
static int acl_only_us(int fd)
{
    uint8_t buf[1024];
    ssize_t n = fgetxattr(fd, "system.posix_acl_access", buf, sizeof buf);
    if (n < 4 || (n - 4) % 8 != 0)
        return 0;
    uint32_t ver =
        (uint32_t)buf[0] | (uint32_t)buf[1] << 8 | (uint32_t)buf[2] << 16 | (uint32_t)buf[3] << 24;
    if (ver != 2)
        return 0;
    for (ssize_t off = 4; off < n; off += 8) {
        unsigned tag = (unsigned)buf[off] | (unsigned)buf[off + 1] << 8;
        unsigned perm = (unsigned)buf[off + 2] | (unsigned)buf[off + 3] << 8;
        uint32_t id = (uint32_t)buf[off + 4] | (uint32_t)buf[off + 5] << 8 |
                      (uint32_t)buf[off + 6] << 16 | (uint32_t)buf[off + 7] << 24;
        switch (tag) {
        case 0x01: /* ACL_USER_OBJ */
        case 0x10: /* ACL_MASK */ break;
        case 0x02: /* ACL_USER */
            if (perm != 0 && id != (uint32_t)geteuid())
                return 0;
            break;
        case 0x04: /* ACL_GROUP_OBJ */
        case 0x08: /* ACL_GROUP */
        case 0x20: /* ACL_OTHER */
            if (perm != 0)
                return 0;
            break;
        default: return 0;
        }
    }
    return 1;
}

/*
 * Reads a whole key file into buf (cap bytes) after the safety checks. Returns the
 * length or -1 with err. The caller wipes buf.
 */
static ssize_t read_secret_file(const char *path, char *buf, size_t cap, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return seterr(err, errlen, "%s: %s%s", path, strerror(errno),
                      errno == ENOENT  ? " (create it with `caregate keys init`)"
                      : errno == ELOOP ? " (symlinks are refused)"
                                       : "");
    struct stat st;
    ssize_t total = -1;
    if (fstat(fd, &st) != 0) {
        seterr(err, errlen, "%s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        seterr(err, errlen, "%s: not a regular file", path);
        goto out;
    }
    /* IMPLEMENTATION-OF: KEY-1. */
    if ((st.st_mode & 007) || ((st.st_mode & 070) && !acl_only_us(fd))) {
        seterr(err, errlen,
               "%s: mode %04o lets group or others access it; refusing to use it "
               "(chmod 600 and check who could have read it)",
               path, (unsigned)(st.st_mode & 07777));
        goto out;
    }
    size_t got = 0;
    for (;;) {
        if (got == cap) {
            seterr(err, errlen, "%s: larger than %zu bytes, not a key file", path, cap);
            goto out;
        }
        ssize_t n = read(fd, buf + got, cap - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            seterr(err, errlen, "%s: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    total = (ssize_t)got;
out:
    close(fd);
    return total;
}

/* Splits text into lines; calls fn for each non-blank, non-comment line (trimmed). */
typedef int (*line_fn)(void *arg, const char *line, size_t len, int lineno, char *err,
                       size_t errlen);

static int for_each_line(const char *text, size_t len, line_fn fn, void *arg, char *err,
                         size_t errlen)
{
    int lineno = 0;
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && text[j] != '\n')
            j++;
        lineno++;
        size_t a = i, b = j;
        while (a < b && (text[a] == ' ' || text[a] == '\t' || text[a] == '\r'))
            a++;
        while (b > a && (text[b - 1] == ' ' || text[b - 1] == '\t' || text[b - 1] == '\r'))
            b--;
        if (b > a && text[a] != '#' && fn(arg, text + a, b - a, lineno, err, errlen) != 0)
            return -1;
        i = j + 1;
    }
    return 0;
}

/* Decodes standard base64 of exactly n bytes into out. Returns 0 or -1. */
static int b64_exact(const char *s, size_t len, uint8_t *out, size_t n)
{
    size_t got = 0;
    const char *end = NULL;
    if (sodium_base642bin(out, n, s, len, NULL, &got, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
        got != n || end != s + len)
        return -1;
    return 0;
}

static int master_line(void *arg, const char *line, size_t len, int lineno, char *err,
                       size_t errlen)
{
    seal_keyring *kr = arg;
    /* "v<N> <base64>" */
    if (len < 3 || line[0] != 'v')
        return seterr(err, errlen, "line %d: expected 'v<version> <base64 key>'", lineno);
    size_t i = 1;
    uint64_t ver = 0;
    while (i < len && line[i] >= '0' && line[i] <= '9' && ver <= SEAL_MAX_VERSION) {
        ver = ver * 10 + (uint64_t)(line[i] - '0');
        i++;
    }
    if (i == 1 || ver == 0 || ver > SEAL_MAX_VERSION || i >= len ||
        (line[i] != ' ' && line[i] != '\t'))
        return seterr(err, errlen, "line %d: bad version (expected v1 .. v%u followed by a space)",
                      lineno, SEAL_MAX_VERSION);
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    uint8_t key[SEAL_KEY_BYTES];
    if (b64_exact(line + i, len - i, key, sizeof key) != 0) {
        sodium_memzero(key, sizeof key);
        return seterr(err, errlen, "line %d: key of v%u is not base64 of 32 bytes", lineno,
                      (unsigned)ver);
    }
    int rc = seal_keyring_add(kr, (uint32_t)ver, key);
    sodium_memzero(key, sizeof key);
    if (rc == SEAL_ERR_EXISTS)
        return seterr(err, errlen, "line %d: version v%u appears twice", lineno, (unsigned)ver);
    if (rc != SEAL_OK)
        return seterr(err, errlen, "line %d: %s", lineno, seal_strerror(rc));
    return 0;
}

int gw_keys_parse_master(const char *text, size_t len, seal_keyring *kr, char *err, size_t errlen)
{
    if (!text || !kr)
        return seterr(err, errlen, "no input");
    if (for_each_line(text, len, master_line, kr, err, errlen) != 0)
        return -1;
    if (seal_keyring_count(kr) == 0)
        return seterr(err, errlen, "no master key in file");
    return 0;
}

int gw_keys_load(const gw_config *cfg, seal_keyring **out, char *err, size_t errlen)
{
    *out = NULL;
    char *buf = malloc(KEYFILE_MAX);
    if (!buf)
        abort();
    seal_keyring *kr = NULL;
    int rc = -1;
    ssize_t n = read_secret_file(cfg->master_key_file, buf, KEYFILE_MAX, err, errlen);
    if (n < 0)
        goto out;
    if (seal_keyring_new(&kr) != SEAL_OK) {
        seterr(err, errlen, "libsodium could not be initialised");
        goto out;
    }
    char sub[256];
    if (gw_keys_parse_master(buf, (size_t)n, kr, sub, sizeof sub) != 0) {
        seterr(err, errlen, "%s: %s", cfg->master_key_file, sub);
        goto out;
    }
    *out = kr;
    kr = NULL;
    rc = 0;
out:
    seal_keyring_free(kr);
    sodium_memzero(buf, KEYFILE_MAX);
    free(buf);
    return rc;
}

typedef struct {
    uint8_t seed[AUDIT_SEED_BYTES];
    int found;
} audit_parse;

static int audit_line(void *arg, const char *line, size_t len, int lineno, char *err, size_t errlen)
{
    audit_parse *ap = arg;
    static const char tag[] = "ed25519";
    if (len <= sizeof tag || memcmp(line, tag, sizeof tag - 1) != 0 ||
        (line[sizeof tag - 1] != ' ' && line[sizeof tag - 1] != '\t'))
        return seterr(err, errlen, "line %d: expected 'ed25519 <base64 seed>'", lineno);
    if (ap->found)
        return seterr(err, errlen, "line %d: more than one key", lineno);
    size_t i = sizeof tag - 1;
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    if (b64_exact(line + i, len - i, ap->seed, sizeof ap->seed) != 0)
        return seterr(err, errlen, "line %d: seed is not base64 of 32 bytes", lineno);
    ap->found = 1;
    return 0;
}

int gw_keys_load_audit_signer(const gw_config *cfg, audit_signer **out, char *err, size_t errlen)
{
    *out = NULL;
    char buf[4096];
    audit_parse ap;
    memset(&ap, 0, sizeof ap);
    int rc = -1;
    char sub[256];
    ssize_t n = read_secret_file(cfg->audit_key_file, buf, sizeof buf, err, errlen);
    if (n < 0)
        goto out;
    if (for_each_line(buf, (size_t)n, audit_line, &ap, sub, sizeof sub) != 0) {
        seterr(err, errlen, "%s: %s", cfg->audit_key_file, sub);
        goto out;
    }
    if (!ap.found) {
        seterr(err, errlen, "%s: no key in file", cfg->audit_key_file);
        goto out;
    }
    if (audit_signer_new(ap.seed, out) != AUDIT_OK) {
        seterr(err, errlen, "libsodium could not be initialised");
        goto out;
    }
    rc = 0;
out:
    sodium_memzero(&ap, sizeof ap);
    sodium_memzero(buf, sizeof buf);
    return rc;
}

int gw_keys_read_public(const char *path, uint8_t pk[AUDIT_PK_BYTES], char *err, size_t errlen)
{
    /* Not secret: no mode check, but the same strict line format. */
    char buf[4096];
    FILE *f = fopen(path, "re");
    if (!f)
        return seterr(err, errlen, "%s: %s", path, strerror(errno));
    size_t n = fread(buf, 1, sizeof buf, f);
    int big = n == sizeof buf;
    fclose(f);
    if (big)
        return seterr(err, errlen, "%s: too large for a public key file", path);
    audit_parse ap;
    memset(&ap, 0, sizeof ap);
    char sub[256];
    if (for_each_line(buf, n, audit_line, &ap, sub, sizeof sub) != 0)
        return seterr(err, errlen, "%s: %s", path, sub);
    if (!ap.found)
        return seterr(err, errlen, "%s: no key in file", path);
    memcpy(pk, ap.seed, AUDIT_PK_BYTES); /* same syntax: the 32 bytes are the public key */
    return 0;
}

int gw_keys_audit_public(const gw_config *cfg, uint8_t pk[AUDIT_PK_BYTES], char *err, size_t errlen)
{
    char pub[4096];
    snprintf(pub, sizeof pub, "%s.pub", cfg->audit_key_file);
    if (access(pub, F_OK) == 0)
        return gw_keys_read_public(pub, pk, err, errlen);
    audit_signer *s = NULL;
    if (gw_keys_load_audit_signer(cfg, &s, err, errlen) != 0)
        return -1;
    audit_signer_public_key(s, pk);
    audit_signer_free(s);
    return 0;
}

/* ---- creating files ------------------------------------------------------------------ */

/*
 * Writes len bytes to a new file `path` with `mode`, never replacing an existing one:
 * temp file in the same directory, fsync, link(2) (fails with EEXIST rather than
 * overwrite), unlink the temp name, fsync the directory. Returns 0, 1 when path already
 * existed (nothing written), -1 with err.
 */
static int create_file_once(const char *path, const char *data, size_t len, mode_t mode, char *err,
                            size_t errlen)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp)
        return seterr(err, errlen, "%s: path too long", path);
    int fd = mkstemp(tmp); /* mode 0600 whatever the umask */
    if (fd < 0)
        return seterr(err, errlen, "%s: cannot create temporary file: %s", path, strerror(errno));
    int rc = -1;
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            seterr(err, errlen, "%s: write: %s", tmp, strerror(errno));
            goto out;
        }
        off += (size_t)w;
    }
    if (fchmod(fd, mode) != 0 || fsync(fd) != 0) {
        seterr(err, errlen, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    if (link(tmp, path) != 0) {
        if (errno == EEXIST)
            rc = 1;
        else
            seterr(err, errlen, "%s: %s", path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    close(fd);
    unlink(tmp);
    if (rc == 0) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", path);
        int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            (void)fsync(dfd);
            close(dfd);
        }
    }
    return rc;
}

/* Creates the parent directory of path (one level, mode 0700) when it is missing. */
static int ensure_parent(const char *path, char *err, size_t errlen)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    const char *d = dirname(dir);
    struct stat st;
    if (stat(d, &st) == 0)
        return S_ISDIR(st.st_mode) ? 0 : seterr(err, errlen, "%s: not a directory", d);
    if (mkdir(d, 0700) != 0 && errno != EEXIST)
        return seterr(err, errlen, "%s: %s", d, strerror(errno));
    return 0;
}

static int init_master(const gw_config *cfg, FILE *report, char *err, size_t errlen)
{
    const char *path = cfg->master_key_file;
    if (access(path, F_OK) == 0) {
        seal_keyring *kr = NULL;
        if (gw_keys_load(cfg, &kr, err, errlen) != 0)
            return -1;
        if (report)
            fprintf(report,
                    "master key file %s exists (versions: %zu, current v%u); left unchanged\n",
                    path, seal_keyring_count(kr), seal_keyring_current(kr));
        seal_keyring_free(kr);
        return 0;
    }
    if (ensure_parent(path, err, errlen) != 0)
        return -1;
    uint8_t key[SEAL_KEY_BYTES];
    char b64[sodium_base64_ENCODED_LEN(SEAL_KEY_BYTES, sodium_base64_VARIANT_ORIGINAL)];
    char text[512];
    randombytes_buf(key, sizeof key);
    sodium_bin2base64(b64, sizeof b64, key, sizeof key, sodium_base64_VARIANT_ORIGINAL);
    int n = snprintf(
        text, sizeof text,
        "# caregate master keys (key-encryption keys). Mode 0600. Never copy into the\n"
        "# database or its backups: losing this file makes every message unreadable,\n"
        "# leaking it together with a database backup exposes them.\n"
        "# One line per version, \"v<N> <base64 of 32 bytes>\"; the highest wraps new data keys.\n"
        "v1 %s\n",
        b64);
    int rc = create_file_once(path, text, (size_t)n, 0600, err, errlen);
    sodium_memzero(key, sizeof key);
    sodium_memzero(b64, sizeof b64);
    sodium_memzero(text, sizeof text);
    if (rc == 1) /* created by someone else just now: check theirs */
        return init_master(cfg, report, err, errlen);
    if (rc == 0 && report)
        fprintf(report, "created master key file %s (v1)\n", path);
    return rc;
}

static int write_pub(const char *keyfile, const audit_signer *s, FILE *report, char *err,
                     size_t errlen)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s.pub", keyfile) >= (int)sizeof path)
        return seterr(err, errlen, "%s: path too long", keyfile);
    uint8_t pk[AUDIT_PK_BYTES];
    audit_signer_public_key(s, pk);
    char b64[sodium_base64_ENCODED_LEN(AUDIT_PK_BYTES, sodium_base64_VARIANT_ORIGINAL)];
    sodium_bin2base64(b64, sizeof b64, pk, sizeof pk, sodium_base64_VARIANT_ORIGINAL);
    char text[256];
    int n = snprintf(text, sizeof text,
                     "# caregate audit checkpoint public key, key id %s\ned25519 %s\n",
                     audit_signer_key_id(s), b64);
    int rc = create_file_once(path, text, (size_t)n, 0644, err, errlen);
    if (rc == 0 && report)
        fprintf(report, "wrote public key %s\n", path);
    return rc < 0 ? -1 : 0;
}

static int init_audit(const gw_config *cfg, FILE *report, char *err, size_t errlen)
{
    const char *path = cfg->audit_key_file;
    audit_signer *s = NULL;
    if (access(path, F_OK) == 0) {
        if (gw_keys_load_audit_signer(cfg, &s, err, errlen) != 0)
            return -1;
        if (report)
            fprintf(report, "audit signing key %s exists (key id %s); left unchanged\n", path,
                    audit_signer_key_id(s));
        int rc = write_pub(path, s, report, err, errlen); /* restores a lost .pub */
        audit_signer_free(s);
        return rc;
    }
    if (ensure_parent(path, err, errlen) != 0)
        return -1;
    uint8_t seed[AUDIT_SEED_BYTES];
    char b64[sodium_base64_ENCODED_LEN(AUDIT_SEED_BYTES, sodium_base64_VARIANT_ORIGINAL)];
    char text[512];
    randombytes_buf(seed, sizeof seed);
    sodium_bin2base64(b64, sizeof b64, seed, sizeof seed, sodium_base64_VARIANT_ORIGINAL);
    int n =
        snprintf(text, sizeof text,
                 "# caregate audit checkpoint signing key (Ed25519 seed). Mode 0600.\n"
                 "# Separate from the master key; its public half is in the .pub file beside it.\n"
                 "ed25519 %s\n",
                 b64);
    int rc = create_file_once(path, text, (size_t)n, 0600, err, errlen);
    sodium_memzero(b64, sizeof b64);
    sodium_memzero(text, sizeof text);
    if (rc == 1) {
        sodium_memzero(seed, sizeof seed);
        return init_audit(cfg, report, err, errlen);
    }
    if (rc == 0 && audit_signer_new(seed, &s) == AUDIT_OK) {
        if (report)
            fprintf(report, "created audit signing key %s (key id %s)\n", path,
                    audit_signer_key_id(s));
        rc = write_pub(path, s, report, err, errlen);
    }
    sodium_memzero(seed, sizeof seed);
    audit_signer_free(s);
    return rc;
}

int gw_keys_init(const gw_config *cfg, FILE *report, char *err, size_t errlen)
{
    if (sodium_init() < 0)
        return seterr(err, errlen, "libsodium could not be initialised");
    if (init_master(cfg, report, err, errlen) != 0)
        return -1;
    return init_audit(cfg, report, err, errlen);
}

/* ---- CLI ------------------------------------------------------------------------------ */

static int keys_status(const gw_config *cfg)
{
    char err[512];
    seal_keyring *kr = NULL;
    audit_signer *s = NULL;
    PGconn *db = NULL;
    PGresult *res = NULL;
    int rc = 1;
    if (gw_keys_load(cfg, &kr, err, sizeof err) != 0) {
        fprintf(stderr, "caregate keys: %s\n", err);
        goto out;
    }
    printf("master key file: %s\n", cfg->master_key_file);
    printf("current version: v%u\n", seal_keyring_current(kr));
    if (gw_keys_load_audit_signer(cfg, &s, err, sizeof err) != 0)
        printf("audit signing key: unavailable (%s)\n", err);
    else
        printf("audit signing key: %s (key id %s)\n", cfg->audit_key_file, audit_signer_key_id(s));

    db = gw_cli_db_connect(cfg);
    if (!db) {
        /* gw_cli_db_connect printed why; the file part above is still useful. */
        fprintf(stderr, "caregate keys: data key counts unavailable\n");
        goto out;
    }
    res = PQexec(db, "SELECT key_version, count(*) FROM data_key GROUP BY 1 ORDER BY 1");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        fprintf(stderr, "caregate keys: %s", PQerrorMessage(db));
        goto out;
    }
    printf("%-8s %-10s %s\n", "version", "in file", "data keys wrapped");
    int missing = 0;
    /* Merge the file's versions with the database's: a version in the database but not
     * in the file is data nobody can read until the old key file is restored. */
    size_t fi = 0;
    int ri = 0, nr = PQntuples(res);
    while (fi < seal_keyring_count(kr) || ri < nr) {
        uint32_t fv = fi < seal_keyring_count(kr) ? seal_keyring_version_at(kr, fi) : UINT32_MAX;
        long long dv = ri < nr ? atoll(PQgetvalue(res, ri, 0)) : (long long)UINT32_MAX;
        if ((long long)fv == dv) {
            printf("v%-7u %-10s %s%s\n", fv, "yes", PQgetvalue(res, ri, 1),
                   fv == seal_keyring_current(kr) ? "  (current)" : "  (rotate away, then retire)");
            fi++, ri++;
        } else if ((long long)fv < dv) {
            printf("v%-7u %-10s 0%s\n", fv, "yes",
                   fv == seal_keyring_current(kr) ? "  (current)" : "  (unused: may be retired)");
            fi++;
        } else {
            printf("v%-7lld %-10s %s  MISSING KEY: these conversations cannot be opened\n", dv,
                   "NO", PQgetvalue(res, ri, 1));
            missing = 1;
            ri++;
        }
    }
    rc = missing ? 1 : 0;
out:
    PQclear(res);
    if (db)
        gw_cli_db_close(cfg, db);
    audit_signer_free(s);
    seal_keyring_free(kr);
    return rc;
}

int gw_keys_cli_main(const gw_config *cfg, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "init") == 0) {
        char err[512];
        if (gw_keys_init(cfg, stdout, err, sizeof err) != 0) {
            fprintf(stderr, "caregate keys init: %s\n", err);
            return 1;
        }
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "status") == 0)
        return keys_status(cfg);
    /* rotate and retire re-wrap data keys and edit this file: gw_rotate.c (issue 5) */
    if (argc >= 2 && (strcmp(argv[1], "rotate") == 0 || strcmp(argv[1], "retire") == 0))
        return gw_rotate_cli_main(cfg, argc, argv);
    fprintf(stderr, "usage: caregate keys init|status|rotate|retire\n");
    return 2;
}
