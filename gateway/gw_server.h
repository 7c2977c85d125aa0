/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gw_server: the libwebsockets side of `caregate serve`. One lws context joins the
 * process's libuv loop as a foreign loop (LWS_SERVER_OPTION_LIBUV + foreign_loops), with
 * one vhost (TLS when tls_cert_file/tls_key_file are set) and three protocols:
 *
 *  - "http" (protocols[0]): static files of cfg->widget_dir with MIME types and security
 *    headers, GET /healthz, GET /readyz, POST /api/login, POST /api/logout, and the
 *    checks on every WebSocket upgrade (path/subprotocol pairing, Origin allow-list:
 *    403, staff cookie present: 401, draining: 503);
 *  - caregate.patient.v1 (gw_patient.c) and caregate.staff.v1 (gw_staff.c).
 *
 * Password verification runs in the loop's thread pool (uv_queue_work): argon2id takes
 * tens of milliseconds and must not stall every other socket.
 * Not here: the process lifecycle (gw_serve.c) and the protocols themselves.
 */
#ifndef GW_SERVER_H
#define GW_SERVER_H

#include "gw_app.h"

#include <stdbool.h>
#include <stddef.h>

struct lws;

/* Creates the lws context on app->loop and starts listening. Returns 0 or -1 (logged). */
int gw_server_start(gw_app *app) __attribute__((warn_unused_result));

/* The TCP port actually listened on (useful with port = 0). */
int gw_server_port(const gw_app *app);

/* Login verifications running in the thread pool (drain waits for them). */
size_t gw_server_pending(void);

/* Destroys the lws context: the first call closes every socket and lws's loop handles
 * (which complete as the loop runs on); call it again after the loop has run to free
 * what is left. Safe to call when already destroyed. */
void gw_server_stop(gw_app *app);

/*
 * The client's address for logs and audit: the peer, or, when the peer is one of
 * cfg->trusted_proxies, the last address of X-Forwarded-For. *secure is set when the
 * connection is TLS or a trusted proxy says X-Forwarded-Proto: https.
 */
void gw_server_client(const gw_app *app, struct lws *wsi, char *ip, size_t iplen, bool *secure);

/* Ends a connection whose request was answered before its body was read (413, 411, 503 …).
 * Closing at once would leave unread bytes in the socket, and the kernel would answer with a
 * reset that can destroy the answer before the client reads it, or fail the client's write
 * of the rest of its body before it looks for an answer. So: once the answer has left lws's
 * buffer, shut our side down (the client sees the end of the answer) and let the caller read
 * and drop what still comes, up to its own limit, for at most GW_HTTP_LINGER_SECS.
 * body_done: the client finished sending; *shut: kept by the caller, false at first.
 * Returns what an lws callback returns (-1: close now). Used by every HTTP handler. */
#define GW_HTTP_LINGER_SECS 2
int gw_http_linger(struct lws *wsi, bool body_done, bool *shut);

#endif
