/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gw_fanout: local registry of sockets and delivery of committed messages, including
 * those committed by other gateway processes (LISTEN/NOTIFY). See gw_fanout.h.
 *
 * The registry is two intrusive lists; the patient list is scanned per message, which
 * is fine for one clinic's few hundred concurrent patients (a hash by conversation is
 * the next step if a deployment needs it). Messages this process wrote are delivered
 * straight from the commit hook; their NOTIFY echo is recognised by origin and dropped,
 * and a small ring of recently delivered ids keeps the RESYNC catch-up from delivering
 * anything twice.
 */
#include "gw_fanout.h"
#include "gw_log.h"
#include "gw_patient.h"
#include "gw_staff.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define RECENT 1024u

typedef struct reg {
    struct reg *next;
    gw_conn *conn;
    char key[GW_UUID_LEN + 1]; /* conversation (patients) or staff id (staff) */
} reg;

struct gw_fanout {
    gw_app *app;
    reg *patients, *staff;
    size_t n_patients, n_staff;
    long long last_seq;            /* highest message seq delivered or seen */
    char recent[RECENT][GW_UUID_LEN + 1];
    unsigned recent_pos;
    unsigned inflight;             /* fetches of other processes' messages */
};

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n, sz);
    if (!p)
        abort();
    return p;
}

gw_fanout *gw_fanout_new(gw_app *app)
{
    if (!app)
        return NULL;
    gw_fanout *f = xcalloc(1, sizeof *f);
    f->app = app;
    return f;
}

static void reg_add(reg **head, size_t *n, gw_conn *c, const char *key)
{
    reg *r = xcalloc(1, sizeof *r);
    r->conn = c;
    gw_conn_ref(c);
    snprintf(r->key, sizeof r->key, "%s", key ? key : "");
    r->next = *head;
    *head = r;
    (*n)++;
}

static void reg_remove(reg **head, size_t *n, gw_conn *c)
{
    for (reg **pp = head; *pp;) {
        reg *r = *pp;
        if (r->conn == c) {
            *pp = r->next;
            gw_conn_unref(r->conn);
            free(r);
            (*n)--;
        } else {
            pp = &r->next;
        }
    }
}

void gw_fanout_patient_add(gw_fanout *f, gw_conn *c, const char *conv)
{
    reg_add(&f->patients, &f->n_patients, c, conv);
}

void gw_fanout_patient_remove(gw_fanout *f, gw_conn *c)
{
    reg_remove(&f->patients, &f->n_patients, c);
}

void gw_fanout_staff_add(gw_fanout *f, gw_conn *c, const char *staff_id)
{
    reg_add(&f->staff, &f->n_staff, c, staff_id);
}

void gw_fanout_staff_remove(gw_fanout *f, gw_conn *c)
{
    reg_remove(&f->staff, &f->n_staff, c);
}

void gw_fanout_staff_each(gw_fanout *f, void (*fn)(void *arg, gw_conn *c), void *arg)
{
    for (reg *r = f->staff; r; r = r->next)
        if (gw_conn_alive(r->conn))
            fn(arg, r->conn);
}

size_t gw_fanout_patients(const gw_fanout *f)
{
    return f->n_patients;
}

size_t gw_fanout_staff(const gw_fanout *f)
{
    return f->n_staff;
}

void gw_fanout_free(gw_fanout *f)
{
    if (!f)
        return;
    while (f->patients)
        reg_remove(&f->patients, &f->n_patients, f->patients->conn);
    while (f->staff)
        reg_remove(&f->staff, &f->n_staff, f->staff->conn);
    free(f);
}

static bool recent_has(const gw_fanout *f, const char *id)
{
    for (unsigned i = 0; i < RECENT; i++)
        if (f->recent[i][0] && strcmp(f->recent[i], id) == 0)
            return true;
    return false;
}

typedef struct {
    gw_fanout *f;
    char conv[GW_UUID_LEN + 1];
} delivop;

static void delivered_done(void *arg, gw_db_status status, PGresult *res, const char *sqlstate,
                           const char *errmsg)
{
    delivop *op = arg;
    (void)sqlstate;
    (void)errmsg;
    /* only the process whose UPDATE moved 'stored' on tells the patient: no duplicates,
     * and never a downgrade of 'read' */
    if (status == GW_DB_OK && PQntuples(res) == 1) {
        json_t *fr = json_pack("{s:s, s:s}", "type", "delivered", "id", PQgetvalue(res, 0, 0));
        gw_fanout_event(op->f, op->conv, "patient", fr);
        json_decref(fr);
    }
    free(op);
}

static void mark_delivered(gw_fanout *f, const gw_msg *m)
{
    delivop *op = xcalloc(1, sizeof *op);
    op->f = f;
    snprintf(op->conv, sizeof op->conv, "%s", m->conversation);
    const char *vals[1] = {m->id};
    gw_db_params p = {vals, NULL, NULL, 1};
    if (gw_db_query(f->app->db,
                    "UPDATE message SET delivery = 'delivered' WHERE id = $1::uuid AND delivery = "
                    "'stored' RETURNING id",
                    &p, false, delivered_done, op) != 0)
        free(op);
}

void gw_fanout_deliver(gw_fanout *f, const gw_msg *m)
{
    snprintf(f->recent[f->recent_pos], sizeof f->recent[0], "%s", m->id);
    f->recent_pos = (f->recent_pos + 1) % RECENT;
    if (m->seq > f->last_seq)
        f->last_seq = m->seq;
    /* patients see staff (and system) text in their own conversation, never notes */
    if (strcmp(m->kind, "text") == 0 && strcmp(m->sender, "patient") != 0)
        for (reg *r = f->patients; r; r = r->next)
            if (strcmp(r->key, m->conversation) == 0 && gw_conn_alive(r->conn))
                gw_patient_deliver(f->app, r->conn, m);
    /* every console is entitled to every conversation of its clinic for now (the
     * assignment-based entitlement rules belong to the policy layer) */
    unsigned consoles = 0;
    for (reg *r = f->staff; r; r = r->next)
        if (gw_conn_alive(r->conn) && gw_staff_deliver(f->app, r->conn, m))
            consoles++;
    /* a patient message that reached a staff console is "delivered" (patient sees ✓✓) */
    if (consoles && strcmp(m->sender, "patient") == 0 && strcmp(m->kind, "text") == 0)
        mark_delivered(f, m);
}

/* ---- ephemeral events (typing, read) -------------------------------------------------- */

static void deliver_event(gw_fanout *f, const char *conv, const char *to, json_t *frame)
{
    bool to_patient = strcmp(to, "patient") == 0;
    if (to_patient) {
        for (reg *r = f->patients; r; r = r->next)
            if (strcasecmp(r->key, conv) == 0 && gw_conn_alive(r->conn))
                gw_conn_send_json(r->conn, frame);
    } else {
        for (reg *r = f->staff; r; r = r->next)
            if (gw_conn_alive(r->conn) && gw_staff_wants_event(r->conn, conv))
                gw_conn_send_json(r->conn, frame);
    }
}

static void notify_sent(void *arg, gw_db_status status, PGresult *res, const char *sqlstate,
                        const char *errmsg)
{
    (void)arg;
    (void)res;
    (void)sqlstate;
    (void)errmsg;
    if (status != GW_DB_OK)
        gw_debug("fanout", "event notify failed: status=%d", (int)status);
}

void gw_fanout_event(gw_fanout *f, const char *conv, const char *to, json_t *frame)
{
    deliver_event(f, conv, to, frame);
    json_t *env = json_pack("{s:s, s:s, s:s, s:O}", "o", gw_store_origin(f->app->store), "c",
                            conv, "to", to, "f", frame);
    char *js = json_dumps(env, JSON_COMPACT);
    json_decref(env);
    if (!js)
        return;
    const char *vals[1] = {js};
    gw_db_params p = {vals, NULL, NULL, 1};
    if (strlen(js) < 7900 && /* NOTIFY payloads are limited to 8000 bytes */
        gw_db_query(f->app->db, "SELECT pg_notify('caregate_evt', $1)", &p, false, notify_sent,
                    NULL) != 0)
        gw_debug("fanout", "event notify not sent: shutting down");
    free(js);
}

static void on_evt(gw_fanout *f, const char *payload)
{
    json_t *o = json_loads(payload, 0, NULL);
    const char *origin = NULL, *conv = NULL, *to = NULL;
    json_t *frame = NULL;
    if (o && json_unpack(o, "{s:s, s:s, s:s, s:o}", "o", &origin, "c", &conv, "to", &to, "f",
                         &frame) == 0 &&
        strcmp(origin, gw_store_origin(f->app->store)) != 0 && gw_uuid_valid(conv))
        deliver_event(f, conv, to, frame);
    json_decref(o);
}

/* ---- other processes' messages ------------------------------------------------------- */

static void fetched(void *arg, int status, const gw_msg *msgs, size_t n)
{
    gw_fanout *f = arg;
    f->inflight--;
    if (status != GW_STORE_OK) {
        gw_warn("fanout", "fetch of a remote message failed: status=%d", status);
        return;
    }
    for (size_t i = 0; i < n; i++)
        if (!recent_has(f, msgs[i].id))
            gw_fanout_deliver(f, &msgs[i]);
}

static void fetch_remote(gw_fanout *f, const char *conv, const char *id)
{
    if (recent_has(f, id))
        return;
    f->inflight++;
    if (gw_store_fetch(f->app->store, conv, id, fetched, f) != 0)
        f->inflight--;
}

static void on_msg(gw_fanout *f, const char *payload)
{
    json_error_t e;
    json_t *o = json_loads(payload, 0, &e);
    const char *id = NULL, *conv = NULL, *origin = NULL;
    if (!o || json_unpack(o, "{s:s, s:s, s:s}", "id", &id, "c", &conv, "o", &origin) != 0) {
        gw_warn("fanout", "malformed caregate_msg payload ignored");
        json_decref(o);
        return;
    }
    /* our own writes were delivered from the commit hook already */
    if (strcmp(origin, gw_store_origin(f->app->store)) != 0)
        fetch_remote(f, conv, id);
    json_decref(o);
}

static void close_staff(gw_fanout *f, const char *staff_id)
{
    unsigned n = 0;
    for (reg *r = f->staff; r; r = r->next)
        if (strcasecmp(r->key, staff_id) == 0 && gw_conn_alive(r->conn)) {
            gw_conn_send_error(r->conn, "unauthorized", "account disabled", NULL);
            gw_conn_close(r->conn, 1008, "account disabled");
            n++;
        }
    if (n)
        gw_info("fanout", "closed %u staff socket(s) of a disabled account", n);
}

static void catchup_done(void *arg, gw_db_status status, PGresult *res, const char *sqlstate,
                         const char *errmsg)
{
    gw_fanout *f = arg;
    f->inflight--;
    (void)sqlstate;
    (void)errmsg;
    if (status != GW_DB_OK) {
        gw_warn("fanout", "catch-up after resync failed: status=%d", (int)status);
        return;
    }
    int rows = PQntuples(res);
    for (int r = 0; r < rows; r++) {
        long long seq = strtoll(PQgetvalue(res, r, 2), NULL, 10);
        fetch_remote(f, PQgetvalue(res, r, 1), PQgetvalue(res, r, 0));
        if (seq > f->last_seq)
            f->last_seq = seq;
    }
    gw_info("fanout", "resync: %d message(s) checked for catch-up", rows);
}

static void resync(gw_fanout *f)
{
    /* Notifications sent while LISTEN was down are lost: look at what was written since
     * the last message this process saw, and give consoles a fresh queue. */
    char seq[32];
    snprintf(seq, sizeof seq, "%lld", f->last_seq);
    const char *vals[1] = {seq};
    gw_db_params p = {vals, NULL, NULL, 1};
    f->inflight++;
    if (gw_db_query(f->app->db,
                    "SELECT id, conversation_id, seq FROM message WHERE seq > $1::bigint "
                    "ORDER BY seq LIMIT 2000",
                    &p, false, catchup_done, f) != 0)
        f->inflight--;
    gw_staff_refresh_all(f->app);
}

/* caregate_msg: the only subscription that acts on RESYNC (gw_db tells every
 * subscription; one catch-up is enough). */
static void on_notify_msg(void *arg, gw_db_notify_kind kind, const char *channel,
                          const char *payload)
{
    gw_fanout *f = arg;
    if (kind == GW_DB_NOTIFY_RESYNC)
        resync(f);
    else if (payload)
        on_msg(f, payload);
}

static void on_notify(void *arg, gw_db_notify_kind kind, const char *channel, const char *payload)
{
    gw_fanout *f = arg;
    if (kind == GW_DB_NOTIFY_RESYNC)
        return;
    if (!channel || !payload)
        return;
    if (strcmp(channel, "caregate_staff") == 0)
        close_staff(f, payload);
    else if (strcmp(channel, "caregate_evt") == 0)
        on_evt(f, payload);
    else if (strcmp(channel, "caregate_conv") == 0) {
        json_t *o = json_loads(payload, 0, NULL);
        const char *conv = o ? json_string_value(json_object_get(o, "c")) : NULL;
        if (conv && gw_uuid_valid(conv))
            gw_staff_conversation_changed(f->app, conv);
        json_decref(o);
    }
}

int gw_fanout_start(gw_fanout *f)
{
    if (gw_db_listen(f->app->db, "caregate_msg", on_notify_msg, f) != 0 ||
        gw_db_listen(f->app->db, "caregate_conv", on_notify, f) != 0 ||
        gw_db_listen(f->app->db, "caregate_staff", on_notify, f) != 0 ||
        gw_db_listen(f->app->db, "caregate_evt", on_notify, f) != 0)
        return -1;
    return 0;
}
