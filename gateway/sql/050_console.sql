-- SPDX-License-Identifier: Apache-2.0
-- Widget and console everyday features (issue 4) and the policy layer in the message path
-- (issue 6): findings and policy audit records written by the group-commit statement,
-- automatic round-robin assignment, per-staff read positions (unread counts), canned
-- answers, snooze wake-ups and login throttling. Still no plain message text anywhere:
-- findings are {"CATEGORY":count}; canned answers are the clinic's own template texts.

ALTER TABLE staff ADD COLUMN last_assigned_at timestamptz;

-- How far each staff member has read each conversation (message.seq), for unread counts.
CREATE TABLE staff_read (
    staff_id        uuid NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    conversation_id uuid NOT NULL REFERENCES conversation (id) ON DELETE CASCADE,
    last_seq        bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (staff_id, conversation_id)
);
CREATE INDEX staff_read_conv ON staff_read (conversation_id);

-- Canned answers of the clinic. Variables ({patient_name}, {clinic_phone}, {address_form})
-- are filled by the console, never by the server.
CREATE TABLE canned (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    title      text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    body       text NOT NULL CHECK (length(body) BETWEEN 1 AND 4000),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Login throttling: failures per key (BLAKE2b of the lower-cased e-mail, or of the peer
-- address), with an exponential delay that expires; never a permanent lock-out.
CREATE TABLE login_throttle (
    key_hash      bytea PRIMARY KEY,
    failures      integer NOT NULL DEFAULT 0,
    last_failure  timestamptz NOT NULL DEFAULT now(),
    blocked_until timestamptz
);

-- Group commit, now with policy: p_batch items may also carry
--   "f": findings jsonb ({"MEDICATION":1}) stored in message.findings,
--   "e": audit event ("policy.decision", "policy.override") and "d": its details,
-- written with audit_append for every freshly inserted row, in the same transaction.
-- p_rr: assign conversations that get a patient message while unassigned to the on-shift
-- agent or admin who was assigned longest ago (round-robin).
DROP FUNCTION caregate_store_messages(jsonb, text);
CREATE FUNCTION caregate_store_messages(p_batch jsonb, p_origin text, p_rr boolean DEFAULT false)
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

    -- Policy decisions of the rows inserted now (their id is the one we chose), in order.
    FOR r IN SELECT input.e, input.a, input.d, m.id
               FROM jsonb_to_recordset(p_batch) AS input(i integer, id uuid, c uuid, k text,
                                                          a uuid, e text, d jsonb)
               JOIN message m ON m.id = input.id
              WHERE input.e IS NOT NULL
              ORDER BY input.i
    LOOP
        PERFORM audit_append(r.e, r.a::text, r.id::text, r.d);
    END LOOP;

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

-- Snoozed conversations whose time has come are opened again (called by a timer of every
-- gateway process; the UPDATE makes concurrent calls harmless).
CREATE FUNCTION caregate_wake_snoozed() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    n integer := 0;
BEGIN
    FOR r IN UPDATE conversation SET status = 'open', snoozed_until = NULL
              WHERE status = 'snoozed' AND snoozed_until IS NOT NULL AND snoozed_until <= now()
          RETURNING id
    LOOP
        PERFORM audit_append('conversation.status', NULL, r.id::text,
                             jsonb_build_object('status', 'open', 'by', 'snooze_timer'));
        PERFORM pg_notify('caregate_conv', json_build_object('c', r.id, 'e', 'status')::text);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;
