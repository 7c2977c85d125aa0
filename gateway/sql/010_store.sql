-- SPDX-License-Identifier: Apache-2.0
-- Message store helpers used by gateway/gw_store.c. Each is called as ONE statement from
-- the event loop, so that a group commit, its conversation bookkeeping, the NOTIFY for
-- fan-out and any audit record share a single transaction (one round trip, one fsync).
-- Nothing here ever sees plain text: bodies arrive as hex of the sealed ciphertext.

-- Insertion order: created_at is a timestamp (several rows may share one), seq is the
-- order in which rows were written, so history is read ORDER BY seq.
ALTER TABLE message ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY;
CREATE INDEX message_conv_seq ON message (conversation_id, seq);

-- RFC 3339 UTC text as the wire protocol wants it, independent of the session TimeZone.
CREATE FUNCTION caregate_ts(p timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT to_char(p AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

-- Group commit. p_batch is a JSON array of
--   {"i":<index>,"id":uuid,"c":conversation uuid,"k":client_id,"s":sender,"t":kind,
--    "a":author staff uuid|null,"b":hex(sealed body)}
-- (duplicates of (c,k) already merged by the caller). Returns one row per input index:
-- the stored id (the original one for a client_id seen before), its time, and fresh.
-- pg_notify('caregate_msg', {"id","c","o":p_origin,"t":kind}) for every new row;
-- notifications are delivered only if the transaction commits.
CREATE FUNCTION caregate_store_messages(p_batch jsonb, p_origin text)
RETURNS TABLE (idx integer, id uuid, ts text, fresh boolean, seq bigint)
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    WITH input AS (
        SELECT * FROM jsonb_to_recordset(p_batch)
            AS t(i integer, id uuid, c uuid, k text, s text, t text, a uuid, b text)
    ), ins AS (
        INSERT INTO message AS m (id, conversation_id, client_id, sender, kind, author_staff,
                                  body, created_at)
        SELECT input.id, input.c, input.k, input.s, input.t, input.a, decode(input.b, 'hex'),
               clock_timestamp()
          FROM input ORDER BY input.i
        ON CONFLICT (conversation_id, client_id) DO NOTHING
        RETURNING m.id, m.conversation_id, m.sender, m.kind, m.created_at
    ), per_conv AS (
        SELECT ins.conversation_id,
               max(ins.created_at) AS last_at,
               bool_or(ins.sender = 'patient' AND ins.kind = 'text') AS from_patient,
               bool_or(ins.sender = 'staff' AND ins.kind = 'text') AS from_staff
          FROM ins GROUP BY ins.conversation_id
    ), upd AS (
        UPDATE conversation cv
           SET last_message_at = per_conv.last_at,
               waiting_since = CASE WHEN per_conv.from_patient
                                    THEN coalesce(cv.waiting_since, per_conv.last_at)
                                    WHEN per_conv.from_staff THEN NULL
                                    ELSE cv.waiting_since END,
               first_reply_at = CASE WHEN per_conv.from_staff
                                     THEN coalesce(cv.first_reply_at, per_conv.last_at)
                                     ELSE cv.first_reply_at END,
               status = CASE WHEN per_conv.from_patient AND cv.status IN ('done', 'snoozed')
                             THEN 'open' ELSE cv.status END,
               closed_at = CASE WHEN per_conv.from_patient THEN NULL ELSE cv.closed_at END
          FROM per_conv
         WHERE cv.id = per_conv.conversation_id
        RETURNING cv.id
    )
    SELECT count(pg_notify('caregate_msg',
                 json_build_object('id', ins.id, 'c', ins.conversation_id, 'o', p_origin,
                                   't', ins.kind)::text))
      INTO n FROM ins;

    -- A new statement: its snapshot also sees rows another gateway committed while our
    -- INSERT waited on the same (conversation, client_id).
    RETURN QUERY
    SELECT input.i, m.id, caregate_ts(m.created_at), (m.id = input.id), m.seq
      FROM jsonb_to_recordset(p_batch) AS input(i integer, id uuid, c uuid, k text)
      JOIN message m ON m.conversation_id = input.c AND m.client_id = input.k;
END
$$;

-- A new web patient: contact, conversation (id chosen by the gateway because it is bound
-- into the wrapped data key), data key and resume session in one transaction.
CREATE FUNCTION caregate_patient_new(p_token_hash bytea, p_conv uuid, p_lang text,
                                     p_key_version integer, p_wrapped bytea, p_days integer)
RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
    v_contact uuid;
BEGIN
    INSERT INTO contact (channel) VALUES ('web') RETURNING id INTO v_contact;
    INSERT INTO conversation (id, contact_id, channel, lang, waiting_since)
         VALUES (p_conv, v_contact, 'web', p_lang, NULL);
    INSERT INTO data_key (conversation_id, key_version, wrapped)
         VALUES (p_conv, p_key_version, p_wrapped);
    INSERT INTO patient_session (token_hash, contact_id, conversation_id, expires_at)
         VALUES (p_token_hash, v_contact, p_conv, now() + make_interval(days => p_days));
    PERFORM audit_append('conversation.created', NULL, p_conv::text,
                         jsonb_build_object('channel', 'web'));
    PERFORM pg_notify('caregate_conv', json_build_object('c', p_conv, 'e', 'new')::text);
    RETURN p_conv;
END
$$;
