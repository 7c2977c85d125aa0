-- SPDX-License-Identifier: Apache-2.0
-- The group commit appends the policy decisions of a batch with audit_append_many()
-- (060_audit_many.sql): one head lock, one INSERT and one head update per batch instead of
-- one audit_append() per message, which was most of a batch's time (docs/benchmarks.md).

-- Group commit as in 050_console.sql; only the audit append differs.
CREATE OR REPLACE FUNCTION caregate_store_messages(p_batch jsonb, p_origin text, p_rr boolean DEFAULT false)
RETURNS TABLE (idx integer, id uuid, ts text, fresh boolean, seq bigint)
LANGUAGE plpgsql AS $$
DECLARE
    n integer;
    r record;
    v_staff uuid;
BEGIN
    WITH input AS (
        SELECT * FROM jsonb_to_recordset(p_batch)
            AS t(i integer, id uuid, c uuid, k text, s text, t text, a uuid, b text, f jsonb)
    ), ins AS (
        INSERT INTO message AS m (id, conversation_id, client_id, sender, kind, author_staff,
                                  body, created_at, findings)
        SELECT input.id, input.c, input.k, input.s, input.t, input.a, decode(input.b, 'hex'),
               clock_timestamp(), input.f
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
               snoozed_until = CASE WHEN per_conv.from_patient THEN NULL
                                    ELSE cv.snoozed_until END,
               closed_at = CASE WHEN per_conv.from_patient THEN NULL ELSE cv.closed_at END
          FROM per_conv
         WHERE cv.id = per_conv.conversation_id
        RETURNING cv.id
    )
    SELECT count(pg_notify('caregate_msg',
                 json_build_object('id', ins.id, 'c', ins.conversation_id, 'o', p_origin,
                                   't', ins.kind)::text))
      INTO n FROM ins;

    -- Policy decisions of the rows inserted now (their id is the one we chose), in order,
    -- one record each, under one lock of the audit head.
    PERFORM audit_append_many(array_agg(x.e ORDER BY x.i), array_agg(x.a::text ORDER BY x.i),
                              array_agg(x.id::text ORDER BY x.i), array_agg(x.d ORDER BY x.i))
       FROM (SELECT input.i, input.e, input.a, input.d, m.id
               FROM jsonb_to_recordset(p_batch) AS input(i integer, id uuid, a uuid, e text,
                                                          d jsonb)
               JOIN message m ON m.id = input.id
              WHERE input.e IS NOT NULL) x;

    IF p_rr THEN
        FOR r IN SELECT DISTINCT cv.id
                   FROM jsonb_to_recordset(p_batch) AS input(id uuid, c uuid, s text)
                   JOIN message m ON m.id = input.id
                   JOIN conversation cv ON cv.id = input.c
                  WHERE input.s = 'patient' AND cv.assignee IS NULL AND cv.status <> 'done'
        LOOP
            v_staff := NULL;
            SELECT s.id INTO v_staff FROM staff s
             WHERE s.on_shift AND s.disabled_at IS NULL AND s.role IN ('agent', 'admin')
             ORDER BY s.last_assigned_at NULLS FIRST, s.created_at, s.id
             LIMIT 1 FOR UPDATE SKIP LOCKED;
            IF v_staff IS NOT NULL THEN
                UPDATE staff st SET last_assigned_at = clock_timestamp() WHERE st.id = v_staff;
                UPDATE conversation cv SET assignee = v_staff WHERE cv.id = r.id;
                PERFORM audit_append('conversation.assigned', NULL, r.id::text,
                                     jsonb_build_object('assignee', v_staff::text,
                                                        'by', 'round_robin'));
                PERFORM pg_notify('caregate_conv',
                                  json_build_object('c', r.id, 'e', 'assign')::text);
            END IF;
        END LOOP;
    END IF;

    RETURN QUERY
    SELECT input.i, m.id, caregate_ts(m.created_at), (m.id = input.id), m.seq
      FROM jsonb_to_recordset(p_batch) AS input(i integer, id uuid, c uuid, k text)
      JOIN message m ON m.conversation_id = input.c AND m.client_id = input.k;
END
$$;
