/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gw_db: a pool of non-blocking libpq connections driven by libuv (see gw_db.h).
 *
 * Each connection is a small state machine: DOWN -> CONNECTING (PQconnectPoll driven by
 * socket readiness) -> READY <-> BUSY (one query in flight) -> back to DOWN on any error,
 * with a retry timer and exponential backoff. Queued queries wait in one FIFO shared by
 * all connections; whichever connection is idle takes the head. The LISTEN connection is
 * separate so a long queue never delays notifications, and notifications never sit behind
 * a query.
 *
 * What this file deliberately does not do: no pipelining (one query per connection keeps
 * failure semantics simple: on a broken connection exactly one query has an unknown
 * outcome), no prepared-statement cache, no SQL text or parameter logging.
 *
 * The uv_poll_t for a socket is heap-allocated per socket: libpq may hand us a new fd on
 * reconnect, and a poll handle can only be re-initialised after its asynchronous close.
 */
#include "gw_db.h"

#include "gw_log.h"

#include <stdlib.h>
#include <string.h>

typedef struct dbq {
    struct dbq *next;
    char *sql;
    int n;
    char **values;
    int *lengths;
    int *formats;
    bool binary;
    gw_db_result_cb cb;
    void *arg;
    uint64_t deadline; /* uv_now() ms */
} dbq;

typedef enum { C_DOWN, C_CONNECTING, C_READY, C_BUSY, C_CLOSED } conn_state;

typedef struct dbconn {
    gw_db *db;
    int idx;
    bool listener;
    conn_state state;
    PGconn *pg;
    uv_poll_t *poll; /* heap: see file comment */
    int poll_fd;
    int poll_events;
    uv_timer_t retry;
    unsigned backoff_ms;
    dbq *cur;           /* in flight */
    PGresult *res;      /* result being accumulated for cur */
    bool flushing;      /* PQflush returned 1: wait for writable */
    bool listen_dirty;  /* channels must be (re)subscribed */
    bool listen_inflight;
    bool ever_connected;
    bool fail_logged;
} dbconn;

typedef struct listen_entry {
    struct listen_entry *next;
    char *channel;
    gw_db_notify_cb cb;
    void *arg;
} listen_entry;

struct gw_db {
    uv_loop_t *loop;
    char *conninfo;
    int nconn;
    dbconn *conns; /* nconn query connections, then the listener */
    dbq *head, *tail;
    size_t queued, inflight;
    listen_entry *listeners;
    unsigned deadline_ms;
    uv_timer_t sweep;
    bool started, stopping;
    int open_handles;
    void (*done)(void *);
    void *done_arg;
};

static void conn_connect(dbconn *c);
static void conn_fail(dbconn *c, const char *why);
static void db_dispatch(gw_db *db);
static void poll_cb(uv_poll_t *h, int status, int events);

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n, sz);
    if (!p)
        abort();
    return p;
}

static char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (!p)
        abort();
    return p;
}

static void dbq_free(dbq *q)
{
    if (!q)
        return;
    for (int i = 0; i < q->n; i++)
        free(q->values[i]);
    free(q->values);
    free(q->lengths);
    free(q->formats);
    free(q->sql);
    free(q);
}

static void handle_gone(gw_db *db)
{
    if (--db->open_handles == 0 && db->stopping && db->done) {
        void (*done)(void *) = db->done;
        db->done = NULL;
        done(db->done_arg);
    }
}

/* Poll handles and the sweep timer carry the pool in data; retry timers their connection. */
static void handle_closed(uv_handle_t *h)
{
    gw_db *db = h->data;
    if (h->type == UV_POLL)
        free(h);
    handle_gone(db);
}

static void retry_closed(uv_handle_t *h)
{
    handle_gone(((dbconn *)h->data)->db);
}

static void poll_close(dbconn *c)
{
    if (!c->poll)
        return;
    uv_poll_stop(c->poll);
    uv_close((uv_handle_t *)c->poll, handle_closed);
    c->poll = NULL;
    c->poll_fd = -1;
    c->poll_events = 0;
}

/* Watches the connection's current socket for events, replacing the handle if libpq
 * switched sockets. */
static void poll_watch(dbconn *c, int events)
{
    int fd = PQsocket(c->pg);
    if (fd < 0) {
        conn_fail(c, "no socket");
        return;
    }
    if (c->poll && c->poll_fd != fd)
        poll_close(c);
    if (!c->poll) {
        c->poll = xcalloc(1, sizeof *c->poll);
        if (uv_poll_init(c->db->loop, c->poll, fd) != 0) {
            free(c->poll);
            c->poll = NULL;
            conn_fail(c, "uv_poll_init failed");
            return;
        }
        c->poll->data = c->db;
        c->db->open_handles++;
        c->poll_fd = fd;
        c->poll_events = 0;
    }
    if (events != c->poll_events) {
        uv_poll_start(c->poll, events, poll_cb);
        c->poll_events = events;
    }
}

static dbconn *conn_of_poll(gw_db *db, uv_poll_t *h)
{
    for (int i = 0; i <= db->nconn; i++)
        if (db->conns[i].poll == h)
            return &db->conns[i];
    return NULL;
}

static void finish_query(dbconn *c, gw_db_status st, PGresult *res)
{
    dbq *q = c->cur;
    c->cur = NULL;
    c->db->inflight--;
    const char *state = "";
    const char *msg = "";
    if (res) {
        const char *s = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (s)
            state = s;
        msg = PQresultErrorMessage(res);
    } else if (st != GW_DB_OK) {
        msg = c->pg ? PQerrorMessage(c->pg) : "connection closed";
    }
    if (q->cb)
        q->cb(q->arg, st, st == GW_DB_OK || st == GW_DB_ERR_QUERY ? res : NULL, state, msg);
    dbq_free(q);
}

static void retry_cb(uv_timer_t *t)
{
    dbconn *c = t->data;
    if (!c->db->stopping && c->state == C_DOWN)
        conn_connect(c);
}

static void conn_close_pg(dbconn *c)
{
    poll_close(c);
    if (c->res) {
        PQclear(c->res);
        c->res = NULL;
    }
    if (c->pg) {
        PQfinish(c->pg);
        c->pg = NULL;
    }
    c->flushing = false;
    c->listen_inflight = false;
}

/* Any error on a connection: the in-flight query (if any) has an unknown outcome. */
static void conn_fail(dbconn *c, const char *why)
{
    if (!c->fail_logged) {
        /* libpq's message names host/socket and server reasons, never query parameters. */
        gw_warn("db", "connection %d%s down: %s", c->idx, c->listener ? " (listen)" : "", why);
        c->fail_logged = true;
    }
    bool had_cur = c->cur != NULL;
    if (had_cur)
        finish_query(c, GW_DB_ERR_CONN, NULL);
    conn_close_pg(c);
    if (c->db->stopping) {
        c->state = C_CLOSED;
        return;
    }
    c->state = C_DOWN;
    if (c->listener)
        c->listen_dirty = true;
    unsigned delay = c->backoff_ms;
    c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : 100;
    if (c->backoff_ms > 2000)
        c->backoff_ms = 2000;
    uv_timer_start(&c->retry, retry_cb, delay ? delay : 50, 0);
    if (had_cur)
        db_dispatch(c->db);
}

static void conn_connect(dbconn *c)
{
    c->pg = PQconnectStart(c->db->conninfo);
    if (!c->pg || PQstatus(c->pg) == CONNECTION_BAD) {
        conn_fail(c, c->pg ? PQerrorMessage(c->pg) : "out of memory");
        return;
    }
    c->state = C_CONNECTING;
    poll_watch(c, UV_WRITABLE);
}

static void send_listen(dbconn *c)
{
    gw_db *db = c->db;
    size_t len = 1;
    for (listen_entry *l = db->listeners; l; l = l->next)
        len += strlen(l->channel) + 16;
    char *sql = xcalloc(1, len);
    for (listen_entry *l = db->listeners; l; l = l->next) {
        /* Channel names are identifiers chosen by our own code (checked in gw_db_listen). */
        strcat(sql, "LISTEN \"");
        strcat(sql, l->channel);
        strcat(sql, "\";");
    }
    int ok = PQsendQuery(c->pg, sql);
    free(sql);
    if (!ok) {
        conn_fail(c, PQerrorMessage(c->pg));
        return;
    }
    c->listen_dirty = false;
    c->listen_inflight = true;
    c->state = C_BUSY;
    int f = PQflush(c->pg);
    c->flushing = f == 1;
    poll_watch(c, UV_READABLE | (c->flushing ? UV_WRITABLE : 0));
}

static void connected(dbconn *c)
{
    PQsetnonblocking(c->pg, 1);
    bool again = c->ever_connected;
    if (c->fail_logged || again)
        gw_info("db", "connection %d%s up", c->idx, c->listener ? " (listen)" : "");
    c->fail_logged = false;
    c->ever_connected = true;
    c->backoff_ms = 0;
    c->state = C_READY;
    poll_watch(c, UV_READABLE);
    if (c->listener) {
        if (c->db->listeners)
            send_listen(c);
        if (again)
            for (listen_entry *l = c->db->listeners; l; l = l->next)
                l->cb(l->arg, GW_DB_NOTIFY_RESYNC, NULL, NULL);
    } else {
        db_dispatch(c->db);
    }
}

static void connect_step(dbconn *c)
{
    switch (PQconnectPoll(c->pg)) {
    case PGRES_POLLING_READING:
        poll_watch(c, UV_READABLE);
        break;
    case PGRES_POLLING_WRITING:
        poll_watch(c, UV_WRITABLE);
        break;
    case PGRES_POLLING_OK:
        connected(c);
        break;
    default:
        conn_fail(c, PQerrorMessage(c->pg));
        break;
    }
}

static void deliver_notifies(dbconn *c)
{
    PGnotify *n;
    while (c->pg && (n = PQnotifies(c->pg)) != NULL) {
        for (listen_entry *l = c->db->listeners; l; l = l->next)
            if (strcmp(l->channel, n->relname) == 0)
                l->cb(l->arg, GW_DB_NOTIFY, n->relname, n->extra);
        PQfreemem(n);
    }
}

/* Collects results while libpq has them buffered; completes the query on the final NULL. */
static void drain_results(dbconn *c)
{
    while (c->pg && !PQisBusy(c->pg)) {
        PGresult *r = PQgetResult(c->pg);
        if (r) {
            /* Several statements (no params): keep the first error, else the last result. */
            if (c->res && PQresultStatus(c->res) == PGRES_FATAL_ERROR) {
                PQclear(r);
            } else {
                if (c->res)
                    PQclear(c->res);
                c->res = r;
            }
            continue;
        }
        PGresult *res = c->res;
        c->res = NULL;
        c->state = C_READY;
        if (c->listen_inflight) {
            c->listen_inflight = false;
            if (res && PQresultStatus(res) == PGRES_FATAL_ERROR)
                gw_err("db", "LISTEN failed: %s", PQresultErrorMessage(res));
        } else if (c->cur) {
            ExecStatusType es = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
            gw_db_status st =
                (es == PGRES_COMMAND_OK || es == PGRES_TUPLES_OK) ? GW_DB_OK : GW_DB_ERR_QUERY;
            finish_query(c, st, res);
        }
        if (res)
            PQclear(res);
        if (c->db->stopping) {
            conn_close_pg(c);
            c->state = C_CLOSED;
            return;
        }
        if (c->listener) {
            if (c->listen_dirty)
                send_listen(c);
        } else {
            db_dispatch(c->db);
        }
        return;
    }
}

static void poll_cb(uv_poll_t *h, int status, int events)
{
    gw_db *db = h->data;
    dbconn *c = conn_of_poll(db, h);
    if (!c)
        return;
    if (c->state == C_CONNECTING) {
        connect_step(c);
        return;
    }
    if (status < 0) {
        conn_fail(c, uv_strerror(status));
        return;
    }
    if ((events & UV_WRITABLE) && c->flushing) {
        int f = PQflush(c->pg);
        if (f < 0) {
            conn_fail(c, PQerrorMessage(c->pg));
            return;
        }
        c->flushing = f == 1;
        poll_watch(c, UV_READABLE | (c->flushing ? UV_WRITABLE : 0));
    }
    if (events & UV_READABLE) {
        if (!PQconsumeInput(c->pg)) {
            conn_fail(c, PQerrorMessage(c->pg));
            return;
        }
        deliver_notifies(c);
        if (c->state == C_BUSY)
            drain_results(c);
        else if (PQstatus(c->pg) == CONNECTION_BAD)
            conn_fail(c, PQerrorMessage(c->pg));
    }
}

static void conn_send(dbconn *c, dbq *q)
{
    int ok;
    if (q->n >= 0)
        ok = PQsendQueryParams(c->pg, q->sql, q->n, NULL, (const char *const *)q->values,
                               q->lengths, q->formats, q->binary ? 1 : 0);
    else
        ok = PQsendQuery(c->pg, q->sql);
    c->cur = q;
    c->db->inflight++;
    c->state = C_BUSY;
    if (!ok) {
        /* Not dispatched: report as a connection error; the caller decides on retry. */
        conn_fail(c, PQerrorMessage(c->pg));
        return;
    }
    int f = PQflush(c->pg);
    if (f < 0) {
        conn_fail(c, PQerrorMessage(c->pg));
        return;
    }
    c->flushing = f == 1;
    poll_watch(c, UV_READABLE | (c->flushing ? UV_WRITABLE : 0));
}

static void db_dispatch(gw_db *db)
{
    for (int i = 0; i < db->nconn && db->head; i++) {
        dbconn *c = &db->conns[i];
        if (c->state != C_READY)
            continue;
        dbq *q = db->head;
        db->head = q->next;
        if (!db->head)
            db->tail = NULL;
        db->queued--;
        q->next = NULL;
        conn_send(c, q);
    }
}

static void sweep_cb(uv_timer_t *t)
{
    gw_db *db = t->data;
    uint64_t now = uv_now(db->loop);
    dbq **pp = &db->head, *q;
    dbq *expired = NULL, **etail = &expired;
    while ((q = *pp) != NULL) {
        if (q->deadline <= now) {
            *pp = q->next;
            db->queued--;
            q->next = NULL;
            *etail = q;
            etail = &q->next;
        } else {
            pp = &q->next;
        }
    }
    db->tail = NULL;
    for (q = db->head; q; q = q->next)
        db->tail = q;
    /* Callbacks last: they may queue new queries. */
    while ((q = expired) != NULL) {
        expired = q->next;
        q->cb(q->arg, GW_DB_ERR_UNAVAILABLE, NULL, "", "database unavailable");
        dbq_free(q);
    }
}

gw_db *gw_db_new(uv_loop_t *loop, const char *conninfo, int nconn)
{
    if (!loop || !conninfo || nconn < 1)
        return NULL;
    gw_db *db = xcalloc(1, sizeof *db);
    db->loop = loop;
    db->conninfo = xstrdup(conninfo);
    db->nconn = nconn;
    db->deadline_ms = 10000;
    db->conns = xcalloc((size_t)nconn + 1, sizeof *db->conns);
    for (int i = 0; i <= nconn; i++) {
        db->conns[i].db = db;
        db->conns[i].idx = i;
        db->conns[i].listener = i == nconn;
        db->conns[i].poll_fd = -1;
        db->conns[i].state = C_DOWN;
    }
    return db;
}

int gw_db_start(gw_db *db)
{
    if (db->started)
        return 0;
    db->started = true;
    uv_timer_init(db->loop, &db->sweep);
    db->sweep.data = db;
    db->open_handles++;
    uv_timer_start(&db->sweep, sweep_cb, 250, 250);
    for (int i = 0; i <= db->nconn; i++) {
        dbconn *c = &db->conns[i];
        uv_timer_init(db->loop, &c->retry);
        c->retry.data = c;
        db->open_handles++;
        if (!c->listener || db->listeners)
            conn_connect(c);
    }
    return 0;
}

int gw_db_query(gw_db *db, const char *sql, const gw_db_params *params, bool result_binary,
                gw_db_result_cb cb, void *arg)
{
    if (db->stopping || !cb)
        return -1;
    dbq *q = xcalloc(1, sizeof *q);
    q->sql = xstrdup(sql);
    q->binary = result_binary;
    q->cb = cb;
    q->arg = arg;
    q->deadline = uv_now(db->loop) + db->deadline_ms;
    q->n = -1;
    if (params) {
        q->n = params->n;
        q->values = xcalloc((size_t)params->n + 1, sizeof *q->values);
        q->lengths = xcalloc((size_t)params->n + 1, sizeof *q->lengths);
        q->formats = xcalloc((size_t)params->n + 1, sizeof *q->formats);
        for (int i = 0; i < params->n; i++) {
            const char *v = params->values[i];
            int bin = params->formats ? params->formats[i] : 0;
            q->formats[i] = bin;
            if (!v)
                continue;
            size_t len = bin ? (size_t)params->lengths[i] : strlen(v);
            q->values[i] = malloc(len + 1);
            if (!q->values[i])
                abort();
            memcpy(q->values[i], v, len);
            q->values[i][len] = '\0';
            q->lengths[i] = (int)len;
        }
    }
    if (db->tail)
        db->tail->next = q;
    else
        db->head = q;
    db->tail = q;
    db->queued++;
    if (db->started)
        db_dispatch(db);
    return 0;
}

int gw_db_listen(gw_db *db, const char *channel, gw_db_notify_cb cb, void *arg)
{
    if (!channel || !*channel || !cb || db->stopping)
        return -1;
    for (const char *p = channel; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return -1;
    listen_entry *l = xcalloc(1, sizeof *l);
    l->channel = xstrdup(channel);
    l->cb = cb;
    l->arg = arg;
    l->next = db->listeners;
    db->listeners = l;
    dbconn *c = &db->conns[db->nconn];
    c->listen_dirty = true;
    if (db->started) {
        if (c->state == C_DOWN && !uv_is_active((uv_handle_t *)&c->retry))
            conn_connect(c);
        else if (c->state == C_READY)
            send_listen(c);
    }
    return 0;
}

void gw_db_set_deadline(gw_db *db, unsigned ms)
{
    db->deadline_ms = ms;
}

bool gw_db_ready(const gw_db *db)
{
    for (int i = 0; i < db->nconn; i++)
        if (db->conns[i].state == C_READY || db->conns[i].state == C_BUSY)
            return true;
    return false;
}

size_t gw_db_pending(const gw_db *db)
{
    return db->queued + db->inflight;
}

void gw_db_stop(gw_db *db, void (*done)(void *arg), void *arg)
{
    if (db->stopping)
        return;
    db->stopping = true;
    db->done = done;
    db->done_arg = arg;
    dbq *q;
    while ((q = db->head) != NULL) {
        db->head = q->next;
        db->queued--;
        q->cb(q->arg, GW_DB_ERR_CLOSED, NULL, "", "shutting down");
        dbq_free(q);
    }
    db->tail = NULL;
    if (!db->started) {
        if (done)
            done(arg);
        db->done = NULL;
        return;
    }
    for (int i = 0; i <= db->nconn; i++) {
        dbconn *c = &db->conns[i];
        uv_timer_stop(&c->retry);
        uv_close((uv_handle_t *)&c->retry, retry_closed);
        /* In-flight queries finish first (drain_results closes the connection after). */
        if (!c->cur || c->state != C_BUSY) {
            conn_close_pg(c);
            c->state = C_CLOSED;
        }
    }
    uv_close((uv_handle_t *)&db->sweep, handle_closed);
}

void gw_db_free(gw_db *db)
{
    if (!db)
        return;
    for (int i = 0; i <= db->nconn; i++) {
        dbconn *c = &db->conns[i];
        if (c->res)
            PQclear(c->res);
        if (c->pg)
            PQfinish(c->pg);
        dbq_free(c->cur);
    }
    listen_entry *l;
    while ((l = db->listeners) != NULL) {
        db->listeners = l->next;
        free(l->channel);
        free(l);
    }
    free(db->conns);
    free(db->conninfo);
    free(db);
}
