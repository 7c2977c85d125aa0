/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The embedded PostgreSQL cluster (see gw_pgembed.h): directory preparation, initdb,
 * spawning postgres as the right OS user, readiness probing, supervision with restart
 * and backoff on the libuv loop, clean shutdown; and, at the end of the file, the
 * blocking variant for CLI commands (gw_cli_db_connect / gw_cli_db_close).
 *
 * Children are started with fork+exec rather than uv_spawn because we need two things
 * uv_spawn cannot do: PR_SET_PDEATHSIG (set after the uid change, which would clear it)
 * and a new session, so a terminal's Ctrl-C reaches only the gateway, which then shuts
 * postgres down in order. Children are reaped by polling waitpid(pid, WNOHANG) on a
 * timer, never waitpid(-1), so libuv's own child handling is not disturbed.
 *
 * This file does not run SQL beyond creating the caregate database: migrations are
 * gw_migrate.c, the async pool is gw_db.c.
 */
#define _GNU_SOURCE
#include "gw_pgembed.h"
#include "gw_cli.h"
#include "gw_log.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PG_SUPERUSER "caregate"
#define PG_DATABASE "caregate"
#define READY_TIMEOUT_MS 60000u
#define TICK_MS 100u
#define BACKOFF_MIN_MS 500u
#define BACKOFF_MAX_MS 30000u
#define STABLE_MS 60000u /* a postgres that ran this long resets the backoff */
#define STOP_QUIT_MS 30000u
#define STOP_KILL_MS 60000u
#define MAX_GROUPS 64

typedef enum {
    PE_IDLE = 0,
    PE_INITDB,   /* initdb child running */
    PE_STARTING, /* postgres child running, not yet accepting connections */
    PE_RUNNING,
    PE_BACKOFF, /* postgres died; restart timer armed */
    PE_FAILED,  /* gave up (initdb failed); waiting for stop */
    PE_STOPPING,
    PE_STOPPED
} pe_state;

struct gw_pgembed {
    uv_loop_t *loop;
    /* paths, all owned; immutable after creation so the probe thread may read them */
    char *state_dir, *pg_dir, *data_dir, *run_dir, *bin_dir, *pidfile;
    char *conninfo;       /* caregate database, superuser */
    char *app_conninfo;   /* caregate database, role caregate_app */
    char *admin_conninfo; /* postgres database: for ping and CREATE DATABASE */
    /* identity children run as (only when we are root) */
    bool drop;
    uid_t uid;
    gid_t gid;
    gid_t groups[MAX_GROUPS];
    int ngroups;

    pe_state state;
    pid_t child; /* 0: none */
    bool child_is_initdb;
    uint64_t child_started_ms, start_ms, stop_ms;
    unsigned backoff_ms;
    int quit_sent; /* 0 none, 1 SIGQUIT, 2 SIGKILL */

    uv_timer_t tick, restart;
    bool handles_init;
    int open_handles;

    uv_work_t work;
    bool work_busy;
    pid_t work_pid;
    int work_rc;

    gw_pgembed_ready_cb ready_cb;
    void *ready_arg;
    void (*done)(void *arg);
    void *done_arg;
};

/* ---------------------------------------------------------------- helpers */

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        abort();
    return s;
}

/* A libpq conninfo value in single quotes (paths may contain spaces). Caller frees. */
static char *conn_quote(const char *v)
{
    size_t n = strlen(v);
    char *q = malloc(2 * n + 3);
    if (!q)
        abort();
    char *p = q;
    *p++ = '\'';
    for (; *v; v++) {
        if (*v == '\'' || *v == '\\')
            *p++ = '\\';
        *p++ = *v;
    }
    *p++ = '\'';
    *p = '\0';
    return q;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void pe_free_fields(gw_pgembed *pe)
{
    free(pe->state_dir);
    free(pe->pg_dir);
    free(pe->data_dir);
    free(pe->run_dir);
    free(pe->bin_dir);
    free(pe->pidfile);
    free(pe->conninfo);
    free(pe->app_conninfo);
    free(pe->admin_conninfo);
}

/* Builds the paths and looks up the pg user. Returns NULL with the reason in err. */
static gw_pgembed *pe_create(const gw_config *cfg, char *err, size_t errlen)
{
    gw_pgembed *pe = calloc(1, sizeof *pe);
    if (!pe)
        abort();
    /* Absolute paths: children chdir into pg/, and libpq only takes a host starting
     * with '/' as a socket directory. */
    if (cfg->state_dir[0] == '/') {
        pe->state_dir = xasprintf("%s", cfg->state_dir);
    } else {
        char cwd[4096];
        if (!getcwd(cwd, sizeof cwd)) {
            snprintf(err, errlen, "cannot resolve the relative state_dir: %s", strerror(errno));
            free(pe);
            return NULL;
        }
        pe->state_dir = xasprintf("%s/%s", cwd, cfg->state_dir);
    }
    pe->pg_dir = xasprintf("%s/pg", pe->state_dir);
    pe->data_dir = xasprintf("%s/data", pe->pg_dir);
    pe->run_dir = xasprintf("%s/run", pe->pg_dir);
    pe->pidfile = xasprintf("%s/postmaster.pid", pe->data_dir);
    pe->bin_dir = xasprintf("%s", cfg->pg_bin_dir);
    char *qrun = conn_quote(pe->run_dir);
    pe->conninfo = xasprintf("host=%s dbname=" PG_DATABASE " user=" PG_SUPERUSER, qrun);
    pe->app_conninfo = xasprintf("host=%s dbname=" PG_DATABASE " user=caregate_app", qrun);
    pe->admin_conninfo =
        xasprintf("host=%s dbname=postgres user=" PG_SUPERUSER " connect_timeout=5", qrun);
    free(qrun);
    pe->backoff_ms = BACKOFF_MIN_MS;

    /* sun_path is 108 bytes on Linux, and postgres appends "/.s.PGSQL.5432". */
    if (strlen(pe->run_dir) + sizeof "/.s.PGSQL.5432" > 107) {
        snprintf(err, errlen, "state_dir is too long for a unix socket path (%zu bytes)",
                 strlen(pe->run_dir));
        goto fail;
    }
    if (geteuid() == 0) {
        struct passwd *pw = getpwnam(cfg->embedded_pg_user);
        if (!pw) {
            snprintf(err, errlen,
                     "running as root, but embedded_pg_user '%s' does not exist (PostgreSQL "
                     "refuses to run as root)",
                     cfg->embedded_pg_user);
            goto fail;
        }
        if (pw->pw_uid == 0) {
            snprintf(err, errlen, "embedded_pg_user '%s' must not be root", cfg->embedded_pg_user);
            goto fail;
        }
        pe->drop = true;
        pe->uid = pw->pw_uid;
        pe->gid = pw->pw_gid;
        pe->ngroups = MAX_GROUPS;
        if (getgrouplist(pw->pw_name, pw->pw_gid, pe->groups, &pe->ngroups) < 0) {
            pe->groups[0] = pw->pw_gid; /* more than MAX_GROUPS: the primary group is enough */
            pe->ngroups = 1;
        }
    }
    return pe;

fail:
    pe_free_fields(pe);
    free(pe);
    return NULL;
}

static int mkdir_p(const char *path, mode_t mode)
{
    char *p = xasprintf("%s", path);
    int rc = 0;
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, c ? 0755 : mode) != 0 && errno != EEXIST) {
                rc = -1;
                break;
            }
            *s = c;
            if (!c)
                break;
        }
    }
    free(p);
    return rc;
}

/* Creates a directory owned by the pg user (when dropping) with mode 0700. */
static int make_pg_dir(const gw_pgembed *pe, const char *path, char *err, size_t errlen)
{
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    if (pe->drop && chown(path, pe->uid, pe->gid) != 0) {
        snprintf(err, errlen, "cannot chown %s: %s", path, strerror(errno));
        return -1;
    }
    if (chmod(path, 0700) != 0) {
        snprintf(err, errlen, "cannot chmod %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Blocking, fast: state_dir (0700 when we create it), pg/ and pg/run/ for the pg user. */
static int prepare_dirs(const gw_pgembed *pe, char *err, size_t errlen)
{
    if (mkdir_p(pe->state_dir, 0700) != 0) {
        snprintf(err, errlen, "cannot create state_dir %s: %s", pe->state_dir, strerror(errno));
        return -1;
    }
    if (pe->drop) {
        /* The pg user must be able to pass through state_dir to reach pg/. Grant search
         * (not read) permission through the group, so file names stay private and the
         * key files (0600, root) stay unreadable. */
        struct stat st;
        if (stat(pe->state_dir, &st) != 0) {
            snprintf(err, errlen, "cannot stat %s: %s", pe->state_dir, strerror(errno));
            return -1;
        }
        bool others_x = st.st_mode & S_IXOTH;
        bool group_x = (st.st_mode & S_IXGRP) && st.st_gid == pe->gid;
        bool owner_x = st.st_uid == pe->uid && (st.st_mode & S_IXUSR);
        if (!others_x && !group_x && !owner_x) {
            if (chown(pe->state_dir, (uid_t)-1, pe->gid) != 0 ||
                chmod(pe->state_dir, (st.st_mode & 07700) | S_IXGRP) != 0) {
                snprintf(err, errlen, "cannot make %s traversable for the pg user: %s",
                         pe->state_dir, strerror(errno));
                return -1;
            }
            gw_info("pg", "state_dir made traversable (g+x) for the embedded_pg_user group");
        }
    }
    if (make_pg_dir(pe, pe->pg_dir, err, errlen) != 0 ||
        make_pg_dir(pe, pe->run_dir, err, errlen) != 0)
        return -1;
    return 0;
}

static bool cluster_exists(const gw_pgembed *pe)
{
    char *p = xasprintf("%s/PG_VERSION", pe->data_dir);
    struct stat st;
    bool ok = stat(p, &st) == 0;
    free(p);
    return ok;
}

/* Opens <pg_dir>/<name> for appending child output. Returns -1 on failure. */
static int open_log(const gw_pgembed *pe, const char *name)
{
    char *p = xasprintf("%s/%s", pe->pg_dir, name);
    int fd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    free(p);
    return fd;
}

/*
 * fork+exec argv as the pg user. out_fd (when >= 0) becomes stdout and stderr; else
 * stderr is inherited and stdout goes to /dev/null. Returns the pid or -1.
 * Between fork and exec only async-signal-safe calls: everything is prepared before.
 */
static pid_t spawn_child(const gw_pgembed *pe, char *const argv[], int out_fd)
{
    static char *const envp[] = {"PATH=/usr/bin:/bin", "LC_ALL=C", "LANG=C", NULL};
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0)
        return -1;
    pid_t parent = getpid();
    sigset_t all, old;
    sigfillset(&all);
    /* Block signals across fork so the child cannot run the gateway's handlers before
     * it has reset them. */
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = fork();
    if (pid == 0) {
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        for (int s = 1; s < NSIG; s++)
            (void)sigaction(s, &dfl, NULL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        (void)setsid();
        dup2(devnull, STDIN_FILENO);
        dup2(out_fd >= 0 ? out_fd : devnull, STDOUT_FILENO);
        if (out_fd >= 0)
            dup2(out_fd, STDERR_FILENO);
        /* The gateway's listening sockets and db connections must not leak into postgres. */
        if (close_range(3, ~0u, 0) != 0)
            for (int fd = 3; fd < 4096; fd++)
                close(fd);
        if (pe->drop) {
            if (setgroups((size_t)pe->ngroups, pe->groups) != 0 || setgid(pe->gid) != 0 ||
                setuid(pe->uid) != 0)
                _exit(126);
        }
        /* After the uid change (which clears it): die with the gateway, even on kill -9. */
        prctl(PR_SET_PDEATHSIG, SIGQUIT);
        if (getppid() != parent)
            _exit(1);
        if (chdir(pe->pg_dir) != 0)
            _exit(126);
        execve(argv[0], argv, envp);
        _exit(127);
    }
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(devnull);
    errno = saved;
    return pid;
}

static pid_t spawn_initdb(const gw_pgembed *pe, int out_fd)
{
    char *bin = xasprintf("%s/initdb", pe->bin_dir);
    char *argv[] = {
        bin,    "-D",         pe->data_dir,        "-U", PG_SUPERUSER, "--auth=trust", "-E",
        "UTF8", "--locale=C", "--no-instructions", NULL};
    pid_t pid = spawn_child(pe, argv, out_fd);
    free(bin);
    return pid;
}

static pid_t spawn_postgres(const gw_pgembed *pe, int out_fd)
{
    char *bin = xasprintf("%s/postgres", pe->bin_dir);
    char *sockdir = xasprintf("unix_socket_directories=%s", pe->run_dir);
    /* Settings on the command line override postgresql.conf, so no edit there can open
     * TCP or loosen the socket. Logging is kept terse: DETAIL lines and failing
     * statements can carry e-mail addresses or other identifiers. */
    /* clang-format off */ /* one setting per line */
    char *argv[] = {bin, "-D", pe->data_dir,
                    "-c", "listen_addresses=",
                    "-c", sockdir,
                    "-c", "unix_socket_permissions=0700",
                    "-c", "fsync=on",
                    "-c", "wal_level=minimal",
                    "-c", "max_wal_senders=0",
                    "-c", "jit=off", /* no W+X pages (MemoryDenyWriteExecute in the unit) */
                    "-c", "log_error_verbosity=terse",
                    "-c", "log_min_error_statement=panic",
                    "-c", "log_line_prefix=%m pg[%p] ",
                    NULL};
    /* clang-format on */
    pid_t pid = spawn_child(pe, argv, out_fd);
    free(bin);
    free(sockdir);
    return pid;
}

/* Creates the caregate database when missing. Blocking. Returns 0 or -1 (logged). */
static int ensure_database(const gw_pgembed *pe)
{
    PGconn *c = PQconnectdb(pe->admin_conninfo);
    int rc = -1;
    PGresult *r = NULL;
    if (PQstatus(c) != CONNECTION_OK) {
        gw_err("pg", "cannot connect to the embedded cluster: %s", PQerrorMessage(c));
        goto out;
    }
    r = PQexec(c, "SELECT 1 FROM pg_database WHERE datname = '" PG_DATABASE "'");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        gw_err("pg", "cannot list databases: %s", PQerrorMessage(c));
        goto out;
    }
    if (PQntuples(r) == 0) {
        PQclear(r);
        r = PQexec(c, "CREATE DATABASE " PG_DATABASE " ENCODING 'UTF8' TEMPLATE template0");
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        /* 42P04 duplicate_database: a concurrent caregate created it first; fine. */
        if (PQresultStatus(r) != PGRES_COMMAND_OK && !(state && strcmp(state, "42P04") == 0)) {
            gw_err("pg", "cannot create the caregate database: %s", PQerrorMessage(c));
            goto out;
        }
        gw_info("pg", "created database " PG_DATABASE);
    }
    rc = 0;
out:
    PQclear(r);
    PQfinish(c);
    return rc;
}

/* The pid in postmaster.pid, or 0. */
static pid_t postmaster_pid(const gw_pgembed *pe)
{
    FILE *f = fopen(pe->pidfile, "r");
    if (!f)
        return 0;
    long pid = 0;
    if (fscanf(f, "%ld", &pid) != 1)
        pid = 0;
    fclose(f);
    return (pid_t)pid;
}

/*
 * Blocking probe: 1 when a postmaster accepts connections (and, when expect > 0, it is
 * that pid, not some other postmaster) and the caregate database exists; 0 not yet;
 * -1 the database cannot be created.
 */
static int probe(const gw_pgembed *pe, pid_t expect)
{
    if (PQping(pe->admin_conninfo) != PQPING_OK)
        return 0;
    if (expect > 0 && postmaster_pid(pe) != expect)
        return 0;
    return ensure_database(pe) == 0 ? 1 : -1;
}

/* ---------------------------------------------------------------- supervision (loop) */

static void report_ready(gw_pgembed *pe, int status)
{
    gw_pgembed_ready_cb cb = pe->ready_cb;
    pe->ready_cb = NULL;
    if (cb)
        cb(pe->ready_arg, status);
}

static void handle_closed(uv_handle_t *h)
{
    gw_pgembed *pe = h->data;
    if (--pe->open_handles == 0) {
        pe->state = PE_STOPPED;
        if (pe->done)
            pe->done(pe->done_arg);
    }
}

static void maybe_finish_stop(gw_pgembed *pe)
{
    if (pe->state != PE_STOPPING || pe->child > 0 || pe->work_busy || pe->open_handles != 2)
        return;
    uv_close((uv_handle_t *)&pe->tick, handle_closed);
    uv_close((uv_handle_t *)&pe->restart, handle_closed);
}

static void schedule_restart(gw_pgembed *pe);

static void start_postgres(gw_pgembed *pe)
{
    pid_t pid = spawn_postgres(pe, -1);
    if (pid < 0) {
        gw_err("pg", "cannot fork postgres: %s", strerror(errno));
        schedule_restart(pe);
        return;
    }
    pe->child = pid;
    pe->child_is_initdb = false;
    pe->child_started_ms = uv_now(pe->loop);
    pe->state = PE_STARTING;
    gw_info("pg", "postgres started pid=%ld", (long)pid);
}

static void restart_cb(uv_timer_t *t)
{
    gw_pgembed *pe = t->data;
    if (pe->state == PE_BACKOFF)
        start_postgres(pe);
}

static void schedule_restart(gw_pgembed *pe)
{
    pe->state = PE_BACKOFF;
    gw_warn("pg", "restarting postgres in %u ms", pe->backoff_ms);
    uv_timer_start(&pe->restart, restart_cb, pe->backoff_ms, 0);
    pe->backoff_ms = pe->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : pe->backoff_ms * 2;
}

static void on_child_exit(gw_pgembed *pe, int wstatus)
{
    bool was_initdb = pe->child_is_initdb;
    int code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
    int sig = WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0;
    pe->child = 0;
    if (pe->state == PE_STOPPING) {
        gw_info("pg", "%s exited code=%d signal=%d", was_initdb ? "initdb" : "postgres", code, sig);
        maybe_finish_stop(pe);
        return;
    }
    if (was_initdb) {
        if (code == 0) {
            gw_info("pg", "initdb done");
            start_postgres(pe);
            return;
        }
        gw_err("pg", "initdb failed code=%d signal=%d; see %s/initdb.log", code, sig, pe->pg_dir);
        pe->state = PE_FAILED;
        report_ready(pe, GW_PGEMBED_ERR_SETUP);
        return;
    }
    if (uv_now(pe->loop) - pe->child_started_ms >= STABLE_MS)
        pe->backoff_ms = BACKOFF_MIN_MS;
    gw_warn("pg", "postgres exited code=%d signal=%d", code, sig);
    schedule_restart(pe);
}

static void probe_work(uv_work_t *w)
{
    gw_pgembed *pe = w->data;
    pe->work_rc = probe(pe, pe->work_pid);
}

static void probe_done(uv_work_t *w, int status)
{
    gw_pgembed *pe = w->data;
    pe->work_busy = false;
    if (pe->state == PE_STOPPING) {
        maybe_finish_stop(pe);
        return;
    }
    if (status != 0 || pe->state != PE_STARTING || pe->child != pe->work_pid)
        return;
    if (pe->work_rc == 1) {
        pe->state = PE_RUNNING;
        gw_info("pg", "postgres ready pid=%ld", (long)pe->child);
        report_ready(pe, GW_PGEMBED_OK);
    } else if (pe->work_rc < 0) {
        report_ready(pe, GW_PGEMBED_ERR_SETUP);
    }
}

static void tick_cb(uv_timer_t *t)
{
    gw_pgembed *pe = t->data;
    uint64_t now = uv_now(pe->loop);
    if (pe->child > 0) {
        int ws;
        pid_t r = waitpid(pe->child, &ws, WNOHANG);
        if (r == pe->child || (r < 0 && errno == ECHILD)) {
            if (r < 0)
                ws = 0; /* reaped by someone else: treat as a plain exit */
            on_child_exit(pe, ws);
        }
    }
    switch (pe->state) {
    case PE_STARTING:
        if (!pe->work_busy && pe->child > 0) {
            pe->work.data = pe;
            pe->work_pid = pe->child;
            if (uv_queue_work(pe->loop, &pe->work, probe_work, probe_done) == 0)
                pe->work_busy = true;
        }
        /* fallthrough */
    case PE_BACKOFF:
        if (pe->ready_cb && now - pe->start_ms > READY_TIMEOUT_MS) {
            gw_err("pg", "postgres did not accept connections within %u ms", READY_TIMEOUT_MS);
            report_ready(pe, GW_PGEMBED_ERR_TIMEOUT);
        }
        break;
    case PE_STOPPING:
        if (pe->child > 0 && pe->quit_sent == 0 && now - pe->stop_ms > STOP_QUIT_MS) {
            gw_warn("pg", "postgres slow to stop; sending SIGQUIT");
            kill(pe->child, SIGQUIT);
            pe->quit_sent = 1;
        } else if (pe->child > 0 && pe->quit_sent == 1 && now - pe->stop_ms > STOP_KILL_MS) {
            gw_err("pg", "postgres still running; sending SIGKILL");
            kill(pe->child, SIGKILL);
            pe->quit_sent = 2;
        }
        break;
    default: break;
    }
}

gw_pgembed *gw_pgembed_new(uv_loop_t *loop, const gw_config *cfg)
{
    char err[512];
    if (!loop || !cfg)
        return NULL;
    gw_pgembed *pe = pe_create(cfg, err, sizeof err);
    if (!pe) {
        gw_err("pg", "embedded PostgreSQL: %s", err);
        return NULL;
    }
    pe->loop = loop;
    return pe;
}

const char *gw_pgembed_conninfo(const gw_pgembed *pe)
{
    return pe->conninfo;
}

const char *gw_pgembed_app_conninfo(const gw_pgembed *pe)
{
    return pe->app_conninfo;
}

int gw_pgembed_start(gw_pgembed *pe, gw_pgembed_ready_cb ready_cb, void *arg)
{
    char err[512];
    if (pe->state != PE_IDLE)
        return -1;
    if (prepare_dirs(pe, err, sizeof err) != 0) {
        gw_err("pg", "embedded PostgreSQL: %s", err);
        return -1;
    }
    uv_timer_init(pe->loop, &pe->tick);
    uv_timer_init(pe->loop, &pe->restart);
    pe->tick.data = pe->restart.data = pe;
    pe->handles_init = true;
    pe->open_handles = 2;
    pe->ready_cb = ready_cb;
    pe->ready_arg = arg;
    pe->start_ms = uv_now(pe->loop);
    if (cluster_exists(pe)) {
        start_postgres(pe);
    } else {
        int fd = open_log(pe, "initdb.log");
        pid_t pid = fd >= 0 ? spawn_initdb(pe, fd) : -1;
        if (fd >= 0)
            close(fd);
        if (pid < 0) {
            gw_err("pg", "cannot start initdb: %s", strerror(errno));
            uv_close((uv_handle_t *)&pe->tick, NULL);
            uv_close((uv_handle_t *)&pe->restart, NULL);
            pe->handles_init = false;
            pe->ready_cb = NULL;
            pe->state = PE_STOPPED;
            return -1;
        }
        gw_info("pg", "creating the embedded cluster (initdb pid=%ld)", (long)pid);
        pe->child = pid;
        pe->child_is_initdb = true;
        pe->child_started_ms = pe->start_ms;
        pe->state = PE_INITDB;
    }
    uv_timer_start(&pe->tick, tick_cb, TICK_MS, TICK_MS);
    return 0;
}

void gw_pgembed_stop(gw_pgembed *pe, void (*done)(void *arg), void *arg)
{
    if (!pe->handles_init) {
        pe->state = PE_STOPPED;
        if (done)
            done(arg);
        return;
    }
    if (pe->state == PE_STOPPING || pe->state == PE_STOPPED)
        return; /* programmer error, but harmless to ignore */
    pe->done = done;
    pe->done_arg = arg;
    pe->state = PE_STOPPING;
    pe->stop_ms = uv_now(pe->loop);
    uv_timer_stop(&pe->restart);
    report_ready(pe, GW_PGEMBED_ERR_STOPPED);
    if (pe->child > 0) {
        /* SIGINT: fast shutdown (roll back open transactions, checkpoint, exit). For
         * initdb, SIGINT makes it remove the half-made data directory. */
        gw_info("pg", "stopping %s pid=%ld", pe->child_is_initdb ? "initdb" : "postgres",
                (long)pe->child);
        kill(pe->child, SIGINT);
    }
    maybe_finish_stop(pe);
}

void gw_pgembed_free(gw_pgembed *pe)
{
    if (!pe)
        return;
    if (pe->handles_init && pe->state != PE_STOPPED)
        abort(); /* freeing a running supervisor would leave handles on the loop */
    pe_free_fields(pe);
    free(pe);
}

/* ---------------------------------------------------------------- CLI (blocking) */

/* The cluster a CLI command started (NULL when it used a running one or database_url). */
static gw_pgembed *cli_pe;
static pid_t cli_child;

static int wait_child_ms(pid_t pid, unsigned ms, int *wstatus)
{
    uint64_t until = mono_ms() + ms;
    for (;;) {
        pid_t r = waitpid(pid, wstatus, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR))
            return 0;
        if (mono_ms() >= until)
            return -1;
        usleep(50 * 1000);
    }
}

PGconn *gw_cli_db_connect(const gw_config *cfg)
{
    char err[512];
    const char *conninfo;
    gw_pgembed *pe = NULL;
    if (*cfg->database_url) {
        conninfo = cfg->database_url;
    } else {
        pe = pe_create(cfg, err, sizeof err);
        if (!pe || prepare_dirs(pe, err, sizeof err) != 0) {
            fprintf(stderr, "caregate: embedded PostgreSQL: %s\n", err);
            goto fail;
        }
        int pr = probe(pe, 0);
        if (pr < 0)
            goto fail;
        if (pr == 0) {
            /* Nobody runs the cluster: run it for the duration of this command. */
            int ws = 0;
            if (!cluster_exists(pe)) {
                int fd = open_log(pe, "initdb.log");
                pid_t pid = fd >= 0 ? spawn_initdb(pe, fd) : -1;
                if (fd >= 0)
                    close(fd);
                if (pid < 0 || waitpid(pid, &ws, 0) != pid || !WIFEXITED(ws) ||
                    WEXITSTATUS(ws) != 0) {
                    fprintf(stderr, "caregate: initdb failed; see %s/initdb.log\n", pe->pg_dir);
                    goto fail;
                }
            }
            int fd = open_log(pe, "postgres-cli.log");
            pid_t pid = spawn_postgres(pe, fd);
            if (fd >= 0)
                close(fd);
            if (pid < 0) {
                fprintf(stderr, "caregate: cannot start postgres: %s\n", strerror(errno));
                goto fail;
            }
            uint64_t until = mono_ms() + READY_TIMEOUT_MS;
            for (;;) {
                pr = probe(pe, pid);
                if (pr != 0)
                    break;
                if (waitpid(pid, &ws, WNOHANG) == pid) {
                    /* Lost a race with another starter? Then its cluster is fine to use. */
                    pid = 0;
                    usleep(200 * 1000);
                    pr = probe(pe, 0);
                    break;
                }
                if (mono_ms() > until)
                    break;
                usleep(100 * 1000);
            }
            if (pid > 0)
                cli_child = pid;
            if (pr != 1) {
                fprintf(stderr,
                        "caregate: embedded PostgreSQL did not start; see %s/postgres-cli.log\n",
                        pe->pg_dir);
                goto fail;
            }
        }
        conninfo = pe->conninfo;
    }
    PGconn *c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "caregate: cannot connect to the database: %s", PQerrorMessage(c));
        PQfinish(c);
        goto fail;
    }
    cli_pe = pe;
    return c;

fail:
    cli_pe = pe;
    gw_cli_db_close(cfg, NULL);
    return NULL;
}

void gw_cli_db_close(const gw_config *cfg, PGconn *conn)
{
    (void)cfg;
    if (conn)
        PQfinish(conn);
    if (cli_child > 0) {
        int ws;
        kill(cli_child, SIGINT);
        if (wait_child_ms(cli_child, STOP_QUIT_MS, &ws) != 0) {
            kill(cli_child, SIGQUIT);
            if (wait_child_ms(cli_child, STOP_QUIT_MS, &ws) != 0) {
                kill(cli_child, SIGKILL);
                (void)waitpid(cli_child, &ws, 0);
            }
        }
        cli_child = 0;
    }
    if (cli_pe) {
        pe_free_fields(cli_pe);
        free(cli_pe);
        cli_pe = NULL;
    }
}
