/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gw_app: the handles one `caregate serve` process shares between its modules. It is
 * created and freed by gw_serve.c, reachable from lws callbacks as the protocols' and
 * vhost's user pointer, and borrowed (never freed) by everything else. A plain struct
 * rather than a global, so tests can build one around stubs.
 */
#ifndef GW_APP_H
#define GW_APP_H

#include "gw_config.h"
#include "gw_db.h"

#include <stdbool.h>
#include <uv.h>

struct lws_context;
typedef struct seal_keyring seal_keyring;
typedef struct gw_store gw_store;
typedef struct gw_fanout gw_fanout;
struct rules;
struct redact_engine;
typedef struct gw_rights_srv gw_rights_srv;
typedef struct gw_meta gw_meta; /* Meta bridges (gw_meta.c) */

typedef struct gw_app {
    uv_loop_t *loop;
    const gw_config *cfg;
    gw_db *db;                 /* query pool + LISTEN connection */
    gw_store *store;
    gw_fanout *fanout;
    gw_rights_srv *rights;     /* key reload, retention timer, erasure (gw_rights_srv.c) */
    gw_meta *meta;             /* Meta bridges: webhooks, windows, outbox (gw_meta.c) */
    const seal_keyring *kr;
    struct rules *rules;           /* the policy file (gw_policy.c), loaded before serving */
    struct redact_engine *redact;  /* one redaction engine per process (gw_policy.c) */
    char clinic_phone[64];         /* first phone of the policy's official_contacts, or "" */
    struct lws_context *lws;   /* NULL once lws destroyed it (info.pcontext) */
    bool lws_destroying;
    bool tls;                  /* the gateway terminates TLS itself */
    bool schema_current;       /* migrations at the binary's latest version (/readyz) */
    bool draining;             /* SIGTERM seen: refuse new sockets and messages */
} gw_app;

#endif
