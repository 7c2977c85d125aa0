/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gw_meta_parse: the pure half of the Meta bridges (WhatsApp Cloud API, Messenger,
 * Instagram), written against /work/shared/design/meta-platforms.md (§ numbers below).
 * It checks webhook signatures over the raw bytes, answers the verification handshake,
 * flattens a webhook body into a list of events (every entry, change, message, status and
 * messaging element), builds Send API request bodies, parses Send API responses and
 * classifies platform error codes into retry classes, and computes messaging windows.
 *
 * No I/O, no clock, no globals: time is passed in, so every function is unit-tested and
 * fuzzed on its own (tests/unit/gateway/test_meta_parse.c, tests/fuzz/fuzz_meta_webhook.c).
 * Database writes, HTTP and curl live in gw_meta.c and gw_outbox.c. Nothing here logs:
 * the parsed strings are patient data (text, names, platform ids).
 */
#ifndef GW_META_PARSE_H
#define GW_META_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    GW_META_NONE = 0,
    GW_META_WHATSAPP = 1,
    GW_META_MESSENGER = 2,
    GW_META_INSTAGRAM = 3,
} gw_meta_platform;

/* "whatsapp", "messenger", "instagram" (NULL for NONE) and back (NONE when unknown). */
const char *gw_meta_platform_name(gw_meta_platform p);
gw_meta_platform gw_meta_platform_parse(const char *s);

/* Largest webhook body accepted (§2.1: ≥ 4 MiB, larger → 413). */
#define GW_META_MAX_BODY (4u * 1024u * 1024u)
/* Largest number of events taken from one body (Meta batches up to 1000 updates). */
#define GW_META_MAX_EVENTS 5000u
/* Longest hub.challenge echoed back (§1: avoid reflection abuse). */
#define GW_META_MAX_CHALLENGE 256u

/*
 * §2.1: checks an X-Hub-Signature-256 header value ("sha256=" + 64 hex, exactly 71
 * bytes; hex may be upper or lower case) against HMAC-SHA256(secret, body) over the raw
 * bytes, comparing the 32 decoded bytes in constant time. header may be NULL (missing).
 * Returns true only on a match.
 */
bool gw_meta_signature_ok(const uint8_t *body, size_t len, const char *header, size_t header_len,
                          const uint8_t *secret, size_t secret_len);

/* Writes "sha256=<64 lowercase hex>" plus NUL into out (72 bytes): for tests and the fake. */
void gw_meta_signature_make(const uint8_t *body, size_t len, const uint8_t *secret,
                            size_t secret_len, char out[72]);

/*
 * §1: the verification handshake. query is the raw query string (no '?'), query_len bytes.
 * When hub.mode is "subscribe", hub.verify_token equals token (constant time) and
 * hub.challenge is present, non-empty and at most GW_META_MAX_CHALLENGE bytes after
 * URL-decoding, writes the decoded challenge (NUL-terminated) to challenge (cap bytes, at
 * least GW_META_MAX_CHALLENGE + 1) and returns 200; otherwise returns 403.
 * An empty configured token never verifies.
 */
int gw_meta_verify_handshake(const char *query, size_t query_len, const char *token,
                             size_t token_len, char *challenge, size_t cap);

typedef enum {
    GW_META_EV_MESSAGE = 1, /* a user wrote to the business (text, media, other) */
    GW_META_EV_STATUS,      /* WhatsApp status of our message (sent/delivered/read/failed) */
    GW_META_EV_ECHO,        /* Messenger/IG echo of a message the business sent */
    GW_META_EV_DELIVERY,    /* Messenger delivery watermark */
    GW_META_EV_READ,        /* Messenger/IG read watermark */
    GW_META_EV_OTHER,       /* reactions, postbacks, edits, deletes, value errors: ignored */
} gw_meta_event_kind;

/*
 * One flattened event. Every string is borrowed from the batch (valid until
 * gw_meta_batch_free) and may be NULL when absent. Ids stay strings (§ conventions).
 */
typedef struct {
    gw_meta_event_kind kind;
    gw_meta_platform platform;
    const char *account_id;      /* entry[].id: WABA, Page or IG account */
    const char *phone_number_id; /* WhatsApp value.metadata.phone_number_id (routing key) */
    const char *user_id;         /* WA: BSUID when present, else from/wa_id; FB/IG: sender.id
                                  * (recipient.id for echoes) */
    const char *user_phone;      /* WA: from / wa_id when non-empty */
    const char *display_name;    /* WA contacts[].profile.name for this user */
    const char *msg_id;          /* wamid / mid (status: the id of our message) */
    const char *type;            /* WA messages[].type; FB/IG "text" or first attachment type */
    const char *text;            /* text body (WA text.body; FB/IG message.text) */
    size_t text_len;
    bool has_media;       /* image/video/audio/document/sticker/attachments… */
    const char *status;   /* STATUS: sent/delivered/read/failed/played */
    const char *callback; /* biz_opaque_callback_data (WA) / message.metadata (echo) */
    long error_code;      /* STATUS failed: errors[0].code (0 when none) */
    int64_t ts_ms;        /* platform timestamp in ms (seconds × 1000 for WA), 0 if none */
    int64_t watermark_ms; /* DELIVERY/READ watermark */
} gw_meta_event;

typedef struct gw_meta_batch gw_meta_batch;

typedef enum {
    GW_META_OK = 0,
    GW_META_ERR_JSON = -1,     /* not JSON / not an object or array of objects */
    GW_META_ERR_OBJECT = -2,   /* JSON, but "object" is not one we serve: ignore with 200 */
    GW_META_ERR_TOO_MANY = -3, /* more than GW_META_MAX_EVENTS events */
} gw_meta_parse_status;

/*
 * Parses a webhook body (len bytes, need not be NUL-terminated; at most
 * GW_META_MAX_BODY). Walks every entry[], changes[] (WA; IG dashboard test shape),
 * messaging[]/standby[] (FB/IG), messages[] and statuses[]; tolerates a top-level array
 * of envelopes; ignores unknown fields and types; accepts numbers or strings for
 * timestamps. On GW_META_OK *out is a new batch (free with gw_meta_batch_free), possibly
 * with zero events. On error *out is NULL.
 */
int gw_meta_parse(const char *body, size_t len, gw_meta_batch **out)
    __attribute__((warn_unused_result));
void gw_meta_batch_free(gw_meta_batch *b);
size_t gw_meta_batch_count(const gw_meta_batch *b);
/* The i-th event (borrowed), NULL past the end. */
const gw_meta_event *gw_meta_batch_event(const gw_meta_batch *b, size_t i);
/* Platform of the body ("object"): WA for whatsapp_business_account, FB page, IG instagram. */
gw_meta_platform gw_meta_batch_platform(const gw_meta_batch *b);

/* ---- outbound ------------------------------------------------------------------------- */

typedef enum {
    GW_META_TAG_NONE = 0,
    GW_META_TAG_HUMAN_AGENT = 1, /* Messenger/IG MESSAGE_TAG + HUMAN_AGENT (§5.3) */
} gw_meta_tag;

/*
 * Builds a Send API JSON body (new malloc'd NUL-terminated string; caller frees) for a
 * text message: WA §4.2 (to = "+" + digits for phone numbers, a BSUID otherwise;
 * preview_url false; biz_opaque_callback_data = callback), Messenger §5.2
 * (messaging_type RESPONSE or MESSAGE_TAG + tag, message.metadata = callback),
 * Instagram §6.2 (same shape as Messenger). Returns NULL on bad arguments or when the
 * text is not valid UTF-8.
 */
char *gw_meta_build_text(gw_meta_platform p, const char *to, const char *text, size_t text_len,
                         const char *callback, gw_meta_tag tag);

/* Builds a WhatsApp template send (§4.6) with no parameters (no health data). */
char *gw_meta_build_template(const char *to, const char *name, const char *lang,
                             const char *callback);

/* Local text limits before calling the API: WA 4096 characters, Messenger 2000
 * characters, Instagram 1000 bytes (§4.2, §5.2, §6.2). */
bool gw_meta_text_fits(gw_meta_platform p, const char *text, size_t len);

/* Retry classes (§4.5, §5.4, §7.2). */
typedef enum {
    GW_META_CLASS_OK = 0,
    GW_META_CLASS_RETRY,              /* transient: retry with backoff, at most 5 attempts */
    GW_META_CLASS_THROTTLE,           /* back off the whole channel */
    GW_META_CLASS_THROTTLE_RECIPIENT, /* 131056: back off only this recipient */
    GW_META_CLASS_WINDOW,             /* outside the messaging window: never resend free-form */
    GW_META_CLASS_PERMANENT,          /* fail the message */
    GW_META_CLASS_AUTH,               /* token invalid/expired: stop the channel, alert admins */
    GW_META_CLASS_CONFIG,             /* permission/config: stop the channel, alert */
    GW_META_CLASS_PAUSE,              /* policy/quality restriction: stop the channel, alert */
} gw_meta_class;

const char *gw_meta_class_name(gw_meta_class c);

/* Classifies a Graph error by code and subcode (never by message text or HTTP status). */
gw_meta_class gw_meta_classify(gw_meta_platform p, long code, long subcode);

/* Parsed Send API response. */
typedef struct {
    bool ok;            /* a message id came back */
    char msg_id[256];   /* WA messages[0].id, FB/IG message_id */
    long code, subcode; /* error.code / error.error_subcode (0 when absent) */
    long retry_after_s; /* X-Business-Use-Case-Usage estimated_time_to_regain_access × 60, else 0 */
} gw_meta_send_result;

/*
 * Parses a Send API response body of HTTP status http_status. A 2xx with a message id is
 * ok; an error envelope fills code/subcode; anything else (HTML error page, empty body)
 * leaves code 0 and returns -1 so the caller classifies by transport (5xx: RETRY).
 * Returns 0 when the body was understood.
 */
int gw_meta_parse_send_response(gw_meta_platform p, long http_status, const char *body, size_t len,
                                gw_meta_send_result *r);

/* ---- windows -------------------------------------------------------------------------- */

typedef enum {
    GW_META_WIN_OPEN = 0,    /* free-form allowed (tag NONE) */
    GW_META_WIN_HUMAN_AGENT, /* allowed only with the HUMAN_AGENT tag, human senders only */
    GW_META_WIN_TEMPLATE,    /* WhatsApp: only approved templates */
    GW_META_WIN_CLOSED,      /* nothing may be sent */
} gw_meta_window;

/*
 * §4.6, §5.3, §6.2: the window of a conversation whose user last wrote at last_user_ms,
 * at now_ms. human_agent: the channel has the HUMAN_AGENT feature enabled; human: the
 * sender is a staff member (automatic texts never use the tag). *remaining_s (may be
 * NULL) receives the seconds until the current level closes (0 when closed/template).
 */
gw_meta_window gw_meta_window_at(gw_meta_platform p, int64_t last_user_ms, int64_t now_ms,
                                 bool human_agent, bool human, int64_t *remaining_s);

#endif
