/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gw_store: the message store on top of gw_db. It owns everything that touches message
 * text on its way to and from PostgreSQL:
 *
 *  - sealing: every body is seal_message_seal ciphertext under the conversation's data
 *    key, with conversation id and message id (chosen here, random UUIDv4) as AAD;
 *  - group commit: while one batch is in flight new messages queue, and the next batch
 *    (at most cfg->group_commit_max, duplicates within it merged) goes to PostgreSQL as
 *    ONE statement (caregate_store_messages, sql/010_store.sql) that inserts, updates the
 *    conversations and NOTIFYs caregate_msg in the same transaction;
 *  - idempotency: the same (conversation, client_id) again returns the original id and
 *    stores nothing new (fresh = false);
 *  - data keys: unwrapped keys are cached for open conversations (held by sessions) and
 *    wiped (seal_datakey_free) when evicted;
 *  - patient sessions: new/resume with random 256-bit tokens stored as BLAKE2b hashes.
 *
 * Callbacks follow the async contract of STYLE.md rule 9: a function returning 0 calls
 * its callback exactly once (also on shutdown, with GW_STORE_ERR_UNAVAILABLE); one
 * returning an error never calls it. Messages handed to callbacks are borrowed for the
 * call. Not here: protocol framing (gw_patient.c, gw_staff.c), fan-out (gw_fanout.c).
 */
#ifndef GW_STORE_H
#define GW_STORE_H

#include "gw_config.h"
#include "gw_db.h"

#include <jansson.h>

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

typedef struct seal_keyring seal_keyring;
typedef struct gw_store gw_store;

typedef enum {
    GW_STORE_OK = 0,
    GW_STORE_ERR_UNAVAILABLE = -1, /* database unreachable or the commit outcome unknown: retry */
    GW_STORE_ERR_NOT_FOUND = -2,   /* no such conversation / session / message */
    GW_STORE_ERR_INTERNAL = -3,    /* bug, bad key material, or an unexpected server error */
} gw_store_status;

#define GW_UUID_LEN 36

/* One message as delivered: all strings NUL-terminated and owned by the struct. */
typedef struct gw_msg {
    char id[GW_UUID_LEN + 1];
    char conversation[GW_UUID_LEN + 1];
    char sender[8];                          /* patient | staff | system */
    char kind[8];                            /* text | note */
    char author_staff[GW_UUID_LEN + 1];      /* "" when not written by staff */
    char ts[40];                             /* RFC 3339 UTC */
    long long seq;                           /* write order (message.seq) */
    char delivery[12];                       /* stored|sent|delivered|read ("" when fresh) */
    char *client_id;                         /* may be NULL */
    char *author_alias;                      /* staff alias, may be NULL */
    char *text;                              /* plain text (PHI): wiped by gw_msg_clear */
    size_t text_len;
} gw_msg;

/* Wipes the text and frees the owned strings of m (not m itself). */
void gw_msg_clear(gw_msg *m);

/* What to store. Strings are borrowed for the call (copied as needed). */
typedef struct {
    const char *conversation;
    const char *client_id;
    const char *sender;       /* patient | staff | system */
    const char *kind;         /* text | note */
    const char *author_staff; /* NULL unless staff */
    const char *author_alias; /* NULL unless staff; used for delivery only */
    const char *text;
    size_t text_len;
    /* policy (gw_policy.c): borrowed, copied; NULL when none */
    const json_t *findings;     /* {"CATEGORY":count} -> message.findings */
    const char *audit_event;    /* "policy.decision" ... written with the row */
    const json_t *audit_details;
} gw_store_item;

/* fresh: stored now (false: an earlier message had this client_id; m is that one). */
typedef void (*gw_store_append_cb)(void *arg, int status, const gw_msg *m, bool fresh);

/* History, oldest first; msgs borrowed for the call. */
typedef void (*gw_store_history_cb)(void *arg, int status, const gw_msg *msgs, size_t n);

typedef struct {
    const char *token;        /* the resume token: set only when a new session was made */
    const char *conversation;
    bool resumed;             /* false: a new conversation was created */
    const gw_msg *history;    /* oldest first, notes excluded */
    size_t n_history;
} gw_patient_hello;

typedef void (*gw_store_hello_cb)(void *arg, int status, const gw_patient_hello *h);

/* Called for every freshly committed message of this process (before the senders'
 * callbacks), for local fan-out. m is borrowed for the call. */
typedef void (*gw_store_commit_hook)(void *arg, const gw_msg *m);

/* Creates the store. cfg, db and kr are borrowed and must outlive it. */
gw_store *gw_store_new(uv_loop_t *loop, gw_db *db, const gw_config *cfg, const seal_keyring *kr);

/* Frees a store with nothing pending (see gw_store_pending); wipes every cached key. */
void gw_store_free(gw_store *st);

/* Fails every queued (not yet sent) item with GW_STORE_ERR_UNAVAILABLE; in-flight
 * batches still complete. Further calls fail. */
void gw_store_stop(gw_store *st);

void gw_store_set_commit_hook(gw_store *st, gw_store_commit_hook hook, void *arg);

/* This process's origin id as written into NOTIFY payloads ("o"). Borrowed. */
const char *gw_store_origin(const gw_store *st);

/* Items queued or in flight, including key loads and reads. */
size_t gw_store_pending(const gw_store *st);

/* Seals and queues one message for group commit. Returns 0 or -1 (stopped). */
int gw_store_append(gw_store *st, const gw_store_item *item, gw_store_append_cb cb, void *arg)
    __attribute__((warn_unused_result));

/*
 * Patient hello: token NULL (or unknown/expired) creates contact, conversation, data key
 * and session; a valid token resumes its conversation with history. lang is copied.
 */
int gw_store_patient_hello(gw_store *st, const char *token, const char *lang,
                           gw_store_hello_cb cb, void *arg) __attribute__((warn_unused_result));

/* Up to `limit` most recent messages of a conversation, oldest first; notes only when
 * with_notes. */
int gw_store_history(gw_store *st, const char *conversation, bool with_notes, int limit,
                     gw_store_history_cb cb, void *arg) __attribute__((warn_unused_result));

/* Fetches and opens one message by id (fan-out of another process's write). The
 * callback gets n = 1, or GW_STORE_ERR_NOT_FOUND. */
int gw_store_fetch(gw_store *st, const char *conversation, const char *id,
                   gw_store_history_cb cb, void *arg) __attribute__((warn_unused_result));

/* A session holds a conversation's data key in the cache while it is open. */
void gw_store_key_hold(gw_store *st, const char *conversation);
void gw_store_key_release(gw_store *st, const char *conversation);

/* The conversation's data key was destroyed (NOTIFY caregate_shred): wipe the cached copy
 * now. Holders that need it again find no key in the database. */
void gw_store_key_forget(gw_store *st, const char *conversation);

/* Is s a canonical lower- or upper-case UUID text of 36 characters? */
bool gw_uuid_valid(const char *s);

#endif
