/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gw_dpo: the data-protection officer's read-only HTTP JSON API under /api/audit/ (issue 7,
 * docs/dpo.md). Every endpoint reads the tamper-evident audit log (gw_audit / policy audit)
 * or retention metadata; none reads message bodies, previews, names or contact data, and
 * every read is itself an audit record ("dpo.viewed"; refused attempts "dpo.denied").
 *
 *   GET /api/audit/events?from&to&event&actor&conversation&limit&before   dpo
 *   GET /api/audit/stats?from&to&bucket=day|hour                           dpo, admin
 *   GET /api/audit/conversation/<uuid>                                     dpo
 *   GET /api/audit/retention                                               dpo, admin
 *   GET /api/audit/chain[?full=1]                                          dpo, admin
 *   GET /api/audit/export?from&to          (JSON lines, `caregate audit export` format) dpo
 *
 * No session cookie: 401; a session of another role: 403; other methods: 405.
 *
 * The server (gw_server.c) owns the HTTP connection; this module hangs one request object
 * off a pointer slot the server keeps per connection and is called back for
 * HTTP_WRITEABLE and CLOSED_HTTP on that slot. Everything runs on the loop thread; the
 * database work goes through gw_db (never blocking), file reads (public key, policy)
 * through the loop's thread pool. Not here: the staff socket (gw_staff.c refuses the dpo
 * role there), the CLI (`caregate audit ...` in gw_audit.c).
 */
#ifndef GW_DPO_H
#define GW_DPO_H

#include "gw_app.h"

struct lws;

/* The URI prefix this module answers. */
#define GW_DPO_PREFIX "/api/audit/"

/*
 * Starts answering one HTTP request whose path (uri, borrowed) begins with GW_DPO_PREFIX.
 * *slot must be NULL on entry and is owned by the caller's per-connection state; this
 * module stores its request there while the response is pending. Call from
 * LWS_CALLBACK_HTTP and return what it returns (0, or nonzero to close the connection).
 */
int gw_dpo_http(gw_app *app, struct lws *wsi, void **slot, const char *uri);

/* LWS_CALLBACK_HTTP_WRITEABLE for a connection whose *slot is not NULL. Writes the next
 * part of the response; clears *slot when the response is complete. Returns the lws
 * callback result. */
int gw_dpo_writeable(struct lws *wsi, void **slot);

/* LWS_CALLBACK_CLOSED_HTTP: forgets the connection. A database operation still running
 * completes into nothing. *slot is set to NULL. NULL *slot is fine. */
void gw_dpo_closed(void **slot);

/* Releases the module's cached state (trusted key, policy, chain progress). Optional at
 * exit; tests call it for leak checks. Must not be called while requests are pending. */
void gw_dpo_shutdown(void);

/* SIGHUP: the next DPO request reads the policy file (retention classes) and the audit
 * public key again. Loop thread only. */
void gw_dpo_reload(void);

#endif
