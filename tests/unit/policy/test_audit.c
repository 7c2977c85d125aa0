/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of policy/audit: the canonical encoding (pinned against hashes computed by
 * PostgreSQL with gateway/sql/002_audit.sql, so the C and SQL sides cannot drift),
 * timestamp text, event names, checkpoint signatures, and the verifier on an in-memory
 * log subjected to the tampering the integration test does in the database: edits,
 * deletions, reordering, insertions, truncation, forged or deleted checkpoints.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "audit.h"

static void hex2bin(const char *hex, uint8_t *out, size_t n)
{
    size_t got = 0;
    assert_int_equal(sodium_hex2bin(out, n, hex, strlen(hex), NULL, &got, NULL), 0);
    assert_int_equal(got, n);
}

static void test_known_vectors_match_sql(void **state)
{
    (void)state;
    /* select encode(audit_record_hash(decode(repeat('00',32),'hex'), 1,
     *   '2026-01-31T12:34:56.123456Z', 'staff.login', 'staff:1', 'grüße', '{"ok": true}'),'hex') */
    uint8_t prev[32] = {0}, h[32], want[32];
    audit_record r = {.seq = 1,
                      .ts = "2026-01-31T12:34:56.123456Z",
                      .event = "staff.login",
                      .actor = "staff:1",
                      .subject = "gr\xc3\xbc\xc3\x9f"
                                 "e",
                      .details = "{\"ok\": true}"};
    assert_int_equal(audit_record_hash(&r, prev, h), AUDIT_OK);
    hex2bin("e37025d20344017caa7299fdfe264d655132e544e9027ce70df84f51b352b5f7", want, 32);
    assert_memory_equal(h, want, 32);

    memset(prev, 0xab, sizeof prev);
    audit_record r2 = {.seq = 1234567890123LL,
                       .ts = "2026-01-31T12:34:56.123456Z",
                       .event = "a.b",
                       .actor = "",
                       .subject = "",
                       .details = "{}"};
    assert_int_equal(audit_record_hash(&r2, prev, h), AUDIT_OK);
    hex2bin("c4971d7a9ec2c311d13621543fe1a1a3954d3b92e0bde0adb4179e9615a91a0e", want, 32);
    assert_memory_equal(h, want, 32);

    /* The encoding is length-prefixed, so moving bytes between fields changes the hash. */
    audit_record r3 = r2;
    r3.actor = "x";
    r3.subject = "";
    audit_record r4 = r2;
    r4.actor = "";
    r4.subject = "x";
    uint8_t h3[32], h4[32];
    assert_int_equal(audit_record_hash(&r3, prev, h3), AUDIT_OK);
    assert_int_equal(audit_record_hash(&r4, prev, h4), AUDIT_OK);
    assert_memory_not_equal(h3, h4, 32);

    uint8_t buf[256];
    size_t len;
    assert_int_equal(audit_record_encode(&r2, buf, sizeof buf, &len), AUDIT_OK);
    const char *expect = "caregate.audit.v1\n13:1234567890123\n27:2026-01-31T12:34:56.123456Z\n"
                         "3:a.b\n0:\n0:\n2:{}\n";
    assert_int_equal(len, strlen(expect));
    assert_memory_equal(buf, expect, len);
    assert_int_equal(audit_record_encode(&r2, buf, 10, &len), AUDIT_ERR_NOSPACE);
    assert_int_equal(len, strlen(expect));
    r2.seq = 0;
    assert_int_equal(audit_record_hash(&r2, prev, h), AUDIT_ERR_ARG);
}

static void test_ts_and_event_names(void **state)
{
    (void)state;
    char ts[AUDIT_TS_LEN + 1];
    /* same instants as audit_ts_text() in SQL */
    assert_int_equal(audit_ts_format(0, ts, sizeof ts), AUDIT_OK);
    assert_string_equal(ts, "1970-01-01T00:00:00.000000Z");
    assert_int_equal(audit_ts_format(1700000000500000LL, ts, sizeof ts), AUDIT_OK);
    assert_string_equal(ts, "2023-11-14T22:13:20.500000Z");
    assert_int_equal(audit_ts_format(1709251199999999LL, ts, sizeof ts), AUDIT_OK);
    assert_string_equal(ts, "2024-02-29T23:59:59.999999Z");
    assert_true(audit_ts_valid(ts));
    assert_int_equal(audit_ts_format(-1, ts, sizeof ts), AUDIT_ERR_ARG);
    assert_int_equal(audit_ts_format(0, ts, AUDIT_TS_LEN), AUDIT_ERR_ARG);
    assert_false(audit_ts_valid("2024-02-29T23:59:59.99999Z"));
    assert_false(audit_ts_valid("2024-02-29 23:59:59.999999Z"));
    assert_false(audit_ts_valid("2024-13-29T23:59:59.999999Z"));
    assert_false(audit_ts_valid("2024-02-29T23:59:59.999999+"));
    assert_false(audit_ts_valid(NULL));

    assert_true(audit_event_valid("staff.login"));
    assert_true(audit_event_valid("message.policy_decision"));
    assert_true(audit_event_valid("key.rotate.progress"));
    assert_true(audit_event_valid("logout")); /* bare words are allowed */
    assert_false(audit_event_valid("Staff.login"));
    assert_false(audit_event_valid("staff..login"));
    assert_false(audit_event_valid("staff.login."));
    assert_false(audit_event_valid(".staff"));
    assert_false(audit_event_valid("staff.1login"));
    assert_false(audit_event_valid("staff.log-in"));
    assert_false(audit_event_valid(""));
    assert_string_equal(audit_strerror(AUDIT_ERR_GAP), "gap");
}

static void test_checkpoint_signature(void **state)
{
    (void)state;
    uint8_t seed[32], other_seed[32];
    memset(seed, 7, sizeof seed);
    memset(other_seed, 8, sizeof other_seed);
    audit_signer *s = NULL, *o = NULL;
    assert_int_equal(audit_signer_new(seed, &s), AUDIT_OK);
    assert_int_equal(audit_signer_new(other_seed, &o), AUDIT_OK);
    uint8_t pk[32], opk[32];
    audit_signer_public_key(s, pk);
    audit_signer_public_key(o, opk);
    char kid[17];
    audit_key_id(pk, kid);
    assert_string_equal(kid, audit_signer_key_id(s));
    assert_int_equal(strlen(kid), 16);

    audit_checkpoint cp = {.n = 3, .seq = 42, .ts = "2026-01-31T12:00:00.000000Z"};
    memset(cp.hash, 0x42, sizeof cp.hash);
    assert_int_equal(audit_checkpoint_sign(s, &cp), AUDIT_OK);
    assert_string_equal(cp.key_id, kid);
    assert_int_equal(audit_checkpoint_verify(pk, &cp), AUDIT_OK);
    assert_int_equal(audit_checkpoint_verify(opk, &cp), AUDIT_ERR_SIGNATURE);
    /* every signed field matters */
    audit_checkpoint t = cp;
    t.n = 4;
    assert_int_equal(audit_checkpoint_verify(pk, &t), AUDIT_ERR_SIGNATURE);
    t = cp;
    t.seq = 43;
    assert_int_equal(audit_checkpoint_verify(pk, &t), AUDIT_ERR_SIGNATURE);
    t = cp;
    t.ts = "2026-01-31T12:00:00.000001Z";
    assert_int_equal(audit_checkpoint_verify(pk, &t), AUDIT_ERR_SIGNATURE);
    t = cp;
    t.hash[31] ^= 1;
    assert_int_equal(audit_checkpoint_verify(pk, &t), AUDIT_ERR_SIGNATURE);
    t = cp;
    t.signature[0] ^= 1;
    assert_int_equal(audit_checkpoint_verify(pk, &t), AUDIT_ERR_SIGNATURE);
    t = cp;
    t.ts = "not a time";
    assert_int_equal(audit_checkpoint_sign(s, &t), AUDIT_ERR_ARG);

    /* deterministic: the same seed gives the same key */
    audit_signer *again = NULL;
    assert_int_equal(audit_signer_new(seed, &again), AUDIT_OK);
    uint8_t pk2[32];
    audit_signer_public_key(again, pk2);
    assert_memory_equal(pk, pk2, 32);
    audit_signer_free(again);
    audit_signer_free(s);
    audit_signer_free(o);
    audit_signer_free(NULL);
}

/* ---- an in-memory log, appended the way audit_append / audit_checkpoint_add do -------- */

#define MAXREC 64
typedef struct {
    audit_record rec[MAXREC];
    char ts[MAXREC][AUDIT_TS_LEN + 1];
    char details[MAXREC][96];
    char subject[MAXREC][32];
    int nrec;
    audit_checkpoint cp[16];
    char cpts[16][AUDIT_TS_LEN + 1];
    int ncp;
    audit_signer *signer;
} memlog;

static void ml_append(memlog *l, const char *event, const char *subject, const char *details)
{
    int i = l->nrec++;
    assert_true(i < MAXREC);
    audit_record *r = &l->rec[i];
    r->seq = i + 1;
    assert_int_equal(
        audit_ts_format(1767225600000000LL + (int64_t)i * 1000, l->ts[i], sizeof l->ts[i]),
        AUDIT_OK);
    r->ts = l->ts[i];
    r->event = event;
    r->actor = "staff:7f0c";
    snprintf(l->subject[i], sizeof l->subject[i], "%s", subject);
    r->subject = l->subject[i];
    snprintf(l->details[i], sizeof l->details[i], "%s", details);
    r->details = l->details[i];
    if (i == 0)
        memset(r->prev_hash, 0, 32);
    else
        memcpy(r->prev_hash, l->rec[i - 1].hash, 32);
    assert_int_equal(audit_record_hash(r, r->prev_hash, r->hash), AUDIT_OK);
}

static void ml_checkpoint(memlog *l)
{
    int k = l->ncp++;
    audit_checkpoint *c = &l->cp[k];
    c->n = k + 1;
    c->seq = l->nrec;
    memcpy(c->hash, l->rec[l->nrec - 1].hash, 32);
    assert_int_equal(audit_ts_format(1767225600000000LL + (int64_t)l->nrec * 1000 + 1, l->cpts[k],
                                     sizeof l->cpts[k]),
                     AUDIT_OK);
    c->ts = l->cpts[k];
    assert_int_equal(audit_checkpoint_sign(l->signer, c), AUDIT_OK);
    char d[96], subj[32];
    snprintf(d, sizeof d, "{\"n\": %lld, \"seq\": %lld, \"key_id\": \"%s\"}", (long long)c->n,
             (long long)c->seq, c->key_id);
    snprintf(subj, sizeof subj, "checkpoint:%lld", (long long)c->n);
    ml_append(l, "audit.checkpoint", subj, d);
}

/* Recomputes hashes from index `from` on, as an attacker without the signing key can. */
static void ml_rechain(memlog *l, int from)
{
    for (int i = from; i < l->nrec; i++) {
        audit_record *r = &l->rec[i];
        if (i == 0)
            memset(r->prev_hash, 0, 32);
        else
            memcpy(r->prev_hash, l->rec[i - 1].hash, 32);
        assert_int_equal(audit_record_hash(r, r->prev_hash, r->hash), AUDIT_OK);
    }
}

static void ml_build(memlog *l, audit_signer *s)
{
    memset(l, 0, sizeof *l);
    l->signer = s;
    for (int i = 0; i < 5; i++)
        ml_append(l, "conversation.open", "conversation:1", "{\"via\": \"console\"}");
    ml_checkpoint(l); /* n=1 seq 5, announced at 6 */
    for (int i = 0; i < 4; i++)
        ml_append(l, "message.policy", "message:2",
                  "{\"action\": \"redact\", \"findings\": {\"MEDICATION\": 1}}");
    ml_checkpoint(l); /* n=2 seq 10, announced at 11 */
    ml_append(l, "staff.login", "staff:7f0c", "{}");
    ml_append(l, "staff.logout", "staff:7f0c", "{}"); /* 12, 13: after the last checkpoint */
}

typedef struct {
    int status;
    int64_t bad_seq;
    char reason[256];
} verdict;

static verdict ml_verify(const memlog *l, const uint8_t pk[32], audit_verify_mode mode,
                         int64_t head_seq, const uint8_t *head_hash)
{
    audit_verifier *v = NULL;
    assert_int_equal(audit_verifier_new(mode, &v), AUDIT_OK);
    if (pk)
        assert_int_equal(audit_verifier_trust(v, pk), AUDIT_OK);
    for (int i = 0; i < l->ncp; i++)
        audit_verifier_checkpoint(v, &l->cp[i]);
    for (int i = 0; i < l->nrec; i++)
        audit_verifier_record(v, &l->rec[i]);
    verdict out;
    out.status = audit_verifier_finish(v, head_seq, head_hash);
    out.bad_seq = audit_verifier_bad_seq(v);
    snprintf(out.reason, sizeof out.reason, "%s", audit_verifier_reason(v));
    audit_verifier_free(v);
    return out;
}

static verdict ml_verify_full(const memlog *l, const uint8_t pk[32])
{
    /* The head row as audit_append leaves it (attackers below rewrite it too, when they can). */
    const uint8_t *hh = l->nrec ? l->rec[l->nrec - 1].hash : NULL;
    return ml_verify(l, pk, AUDIT_VERIFY_FULL, l->nrec ? l->rec[l->nrec - 1].seq : 0, hh);
}

static audit_signer *g_signer;
static uint8_t g_pk[32];

static int group_setup(void **state)
{
    (void)state;
    uint8_t seed[32];
    randombytes_buf(seed, sizeof seed);
    int rc = audit_signer_new(seed, &g_signer);
    sodium_memzero(seed, sizeof seed);
    audit_signer_public_key(g_signer, g_pk);
    return rc;
}

static int group_teardown(void **state)
{
    (void)state;
    audit_signer_free(g_signer);
    return 0;
}

static void test_verify_intact(void **state)
{
    (void)state;
    static memlog l;
    ml_build(&l, g_signer);
    verdict v = ml_verify_full(&l, g_pk);
    assert_int_equal(v.status, AUDIT_OK);
    assert_string_equal(v.reason, "");
    audit_verifier *av = NULL;
    assert_int_equal(audit_verifier_new(AUDIT_VERIFY_FULL, &av), AUDIT_OK);
    audit_verifier_trust(av, g_pk);
    for (int i = 0; i < l.ncp; i++)
        assert_int_equal(audit_verifier_checkpoint(av, &l.cp[i]), AUDIT_OK);
    for (int i = 0; i < l.nrec; i++)
        assert_int_equal(audit_verifier_record(av, &l.rec[i]), AUDIT_OK);
    assert_int_equal(audit_verifier_finish(av, 13, l.rec[12].hash), AUDIT_OK);
    assert_int_equal(audit_verifier_records(av), 13);
    assert_int_equal(audit_verifier_checkpoints(av), 2);
    assert_int_equal(audit_verifier_covered_seq(av), 10);
    audit_verifier_free(av);

    /* An empty log is fine. */
    static memlog empty;
    memset(&empty, 0, sizeof empty);
    assert_int_equal(ml_verify_full(&empty, g_pk).status, AUDIT_OK);
}

static void test_verify_edit(void **state)
{
    (void)state;
    static memlog l;
    ml_build(&l, g_signer);
    snprintf(l.details[2], sizeof l.details[2], "{\"via\": \"export\"}");
    verdict v = ml_verify_full(&l, g_pk);
    assert_int_equal(v.status, AUDIT_ERR_HASH);
    assert_int_equal(v.bad_seq, 3);
    assert_non_null(strstr(v.reason, "seq 3"));

    /* Edited and re-hashed: the next record's link breaks. */
    ml_build(&l, g_signer);
    snprintf(l.details[2], sizeof l.details[2], "{\"via\": \"export\"}");
    assert_int_equal(audit_record_hash(&l.rec[2], l.rec[2].prev_hash, l.rec[2].hash), AUDIT_OK);
    v = ml_verify_full(&l, g_pk);
    assert_int_equal(v.status, AUDIT_ERR_CHAIN);
    assert_int_equal(v.bad_seq, 4);

    /* Edited and the whole chain recomputed: the signed checkpoint catches it. */
    ml_build(&l, g_signer);
    snprintf(l.details[2], sizeof l.details[2], "{\"via\": \"export\"}");
    ml_rechain(&l, 2);
    v = ml_verify_full(&l, g_pk);
    assert_int_equal(v.status, AUDIT_ERR_CHECKPOINT);
    assert_int_equal(v.bad_seq, 5);
    assert_non_null(strstr(v.reason, "checkpoint n=1"));

    /* A changed timestamp or event is an edit too. */
    ml_build(&l, g_signer);
    l.ts[7][20] = '9';
    assert_int_equal(ml_verify_full(&l, g_pk).bad_seq, 8);
    ml_build(&l, g_signer);
    l.rec[8].event = "staff.login";
    assert_int_equal(ml_verify_full(&l, g_pk).status, AUDIT_ERR_HASH);
}

static void test_verify_delete_reorder_insert(void **state)
{
    (void)state;
    static memlog l;
    /* delete seq 4 */
    ml_build(&l, g_signer);
    memmove(&l.rec[3], &l.rec[4], sizeof l.rec[0] * (size_t)(l.nrec - 4));
    l.nrec--;
    verdict v = ml_verify_full(&l, g_pk);
    assert_int_equal(v.status, AUDIT_ERR_GAP);
    assert_int_equal(v.bad_seq, 4);

    /* delete seq 1 */
    ml_build(&l, g_signer);
    memmove(&l.rec[0], &l.rec[1], sizeof l.rec[0] * (size_t)(l.nrec - 1));
    l.nrec--;
    v = ml_verify_full(&l, g_pk);
    assert_int_equal(v.status, AUDIT_ERR_GAP);
    assert_int_equal(v.bad_seq, 1);

    /* swap the contents of seq 7 and 8 (keeping the seq numbers) */
    ml_build(&l, g_signer);
    audit_record a = l.rec[6], b = l.rec[7];
    l.rec[6] = b;
    l.rec[7] = a;
    l.rec[6].seq = 7;
    l.rec[7].seq = 8;
    v = ml_verify_full(&l, g_pk);
    assert_int_equal(v.bad_seq, 7);
    assert_int_equal(v.status, AUDIT_ERR_HASH);

    /* rows out of order in a stream (an export edited by hand) */
    ml_build(&l, g_signer);
    l.rec[6] = b;
    l.rec[7] = a;
    v = ml_verify_full(&l, g_pk);
    assert_int_equal(v.status, AUDIT_ERR_GAP); /* 8 arrives where 7 is due */
    assert_int_equal(v.bad_seq, 7);

    /* insert a forged record after seq 2, renumbering the rest and re-hashing */
    ml_build(&l, g_signer);
    memmove(&l.rec[3], &l.rec[2], sizeof l.rec[0] * (size_t)(l.nrec - 2));
    memmove(&l.ts[3], &l.ts[2], sizeof l.ts[0] * (size_t)(l.nrec - 2));
    memmove(&l.details[3], &l.details[2], sizeof l.details[0] * (size_t)(l.nrec - 2));
    memmove(&l.subject[3], &l.subject[2], sizeof l.subject[0] * (size_t)(l.nrec - 2));
    l.nrec++;
    for (int i = 0; i < l.nrec; i++) {
        l.rec[i].seq = i + 1;
        l.rec[i].ts = l.ts[i];
        l.rec[i].details = l.details[i];
        l.rec[i].subject = l.subject[i];
    }
    v = ml_verify_full(&l, g_pk);
    assert_int_equal(v.status, AUDIT_ERR_HASH);
    assert_int_equal(v.bad_seq, 4);
    ml_rechain(&l, 0);
    v = ml_verify_full(&l, g_pk);
    assert_int_equal(v.status, AUDIT_ERR_CHECKPOINT); /* checkpoint n=1 signed old seq 5 */
    assert_int_equal(v.bad_seq, 5);
}

static void test_verify_truncation(void **state)
{
    (void)state;
    static memlog l;
    /* drop seq 12, 13 but leave the head row: truncation after the last checkpoint */
    ml_build(&l, g_signer);
    uint8_t head[32];
    memcpy(head, l.rec[12].hash, 32);
    l.nrec = 11;
    verdict v = ml_verify(&l, g_pk, AUDIT_VERIFY_FULL, 13, head);
    assert_int_equal(v.status, AUDIT_ERR_TRUNCATED);
    assert_int_equal(v.bad_seq, 12);

    /* ... and with the head rewritten too, back to the last announcement: undetectable
     * from inside (documented): the log is a valid shorter log. */
    v = ml_verify_full(&l, g_pk);
    assert_int_equal(v.status, AUDIT_OK);

    /* truncated back to the checkpoint itself: its announcement is missing */
    l.nrec = 10;
    v = ml_verify_full(&l, g_pk);
    assert_int_equal(v.status, AUDIT_ERR_TRUNCATED);
    assert_int_equal(v.bad_seq, 11);
    assert_non_null(strstr(v.reason, "checkpoint n=2"));

    /* truncated below a checkpoint: it points to a missing record */
    l.nrec = 8;
    v = ml_verify_full(&l, g_pk);
    assert_int_equal(v.status, AUDIT_ERR_TRUNCATED);
    assert_int_equal(v.bad_seq, 9);
    assert_non_null(strstr(v.reason, "checkpoint n=2"));

    /* head row says less than the log: records added behind audit_append's back */
    ml_build(&l, g_signer);
    v = ml_verify(&l, g_pk, AUDIT_VERIFY_FULL, 12, l.rec[11].hash);
    assert_int_equal(v.status, AUDIT_ERR_ORDER);
    assert_int_equal(v.bad_seq, 13);
    v = ml_verify(&l, g_pk, AUDIT_VERIFY_FULL, 13, l.rec[11].hash);
    assert_int_equal(v.status, AUDIT_ERR_CHAIN);
}

static void test_verify_checkpoint_tampering(void **state)
{
    (void)state;
    static memlog l;
    /* deleting the last checkpoint: its announcement now names a missing checkpoint */
    ml_build(&l, g_signer);
    l.ncp = 1;
    verdict v = ml_verify_full(&l, g_pk);
    assert_int_equal(v.status, AUDIT_ERR_CHECKPOINT);
    assert_int_equal(v.bad_seq, 11);

    /* deleting the first checkpoint */
    ml_build(&l, g_signer);
    l.cp[0] = l.cp[1];
    l.ncp = 1;
    v = ml_verify_full(&l, g_pk);
    assert_int_equal(v.status, AUDIT_ERR_GAP);
    assert_int_equal(v.bad_seq, 10);

    /* a checkpoint re-pointed at another record (signature no longer matches) */
    ml_build(&l, g_signer);
    l.cp[1].seq = 9;
    memcpy(l.cp[1].hash, l.rec[8].hash, 32);
    v = ml_verify_full(&l, g_pk);
    assert_int_equal(v.status, AUDIT_ERR_SIGNATURE);
    assert_int_equal(v.bad_seq, 9);

    /* a checkpoint signed by someone else's key */
    ml_build(&l, g_signer);
    uint8_t seed[32] = {1};
    audit_signer *mallory = NULL;
    assert_int_equal(audit_signer_new(seed, &mallory), AUDIT_OK);
    assert_int_equal(audit_checkpoint_sign(mallory, &l.cp[0]), AUDIT_OK);
    v = ml_verify_full(&l, g_pk);
    assert_int_equal(v.status, AUDIT_ERR_SIGNATURE);
    assert_non_null(strstr(v.reason, "unknown key"));
    /* ... and with mallory's key id but a forged signature */
    uint8_t mpk[32];
    audit_signer_public_key(mallory, mpk);
    ml_build(&l, g_signer);
    memcpy(l.cp[0].key_id, audit_signer_key_id(mallory), 17);
    v = ml_verify(&l, mpk, AUDIT_VERIFY_FULL, 13, l.rec[12].hash);
    assert_int_equal(v.status, AUDIT_ERR_SIGNATURE);
    audit_signer_free(mallory);

    /* no trusted key at all */
    ml_build(&l, g_signer);
    v = ml_verify_full(&l, NULL);
    assert_int_equal(v.status, AUDIT_ERR_SIGNATURE);

    /* reordered checkpoints */
    ml_build(&l, g_signer);
    audit_checkpoint c0 = l.cp[0];
    l.cp[0] = l.cp[1];
    l.cp[1] = c0;
    v = ml_verify_full(&l, g_pk);
    assert_int_equal(v.status, AUDIT_ERR_GAP); /* n=2 arrives first */
}

static void test_verify_partial_export(void **state)
{
    (void)state;
    static memlog l, part;
    ml_build(&l, g_signer);
    /* records 4..11 and the checkpoints: the first prev_hash is taken as given */
    memset(&part, 0, sizeof part);
    for (int i = 3; i < 11; i++)
        part.rec[part.nrec++] = l.rec[i];
    part.cp[0] = l.cp[0];
    part.cp[1] = l.cp[1];
    part.ncp = 2;
    verdict v = ml_verify(&part, g_pk, AUDIT_VERIFY_PARTIAL, 0, NULL);
    assert_int_equal(v.status, AUDIT_OK);
    /* the same in full mode is a gap at seq 1 */
    v = ml_verify(&part, g_pk, AUDIT_VERIFY_FULL, 0, NULL);
    assert_int_equal(v.status, AUDIT_ERR_GAP);
    assert_int_equal(v.bad_seq, 1);
    /* an edit inside the export is still found */
    part.rec[2].actor = "staff:0000";
    v = ml_verify(&part, g_pk, AUDIT_VERIFY_PARTIAL, 0, NULL);
    assert_int_equal(v.status, AUDIT_ERR_HASH);
    assert_int_equal(v.bad_seq, 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_vectors_match_sql),
        cmocka_unit_test(test_ts_and_event_names),
        cmocka_unit_test(test_checkpoint_signature),
        cmocka_unit_test(test_verify_intact),
        cmocka_unit_test(test_verify_edit),
        cmocka_unit_test(test_verify_delete_reorder_insert),
        cmocka_unit_test(test_verify_truncation),
        cmocka_unit_test(test_verify_checkpoint_tampering),
        cmocka_unit_test(test_verify_partial_export),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
