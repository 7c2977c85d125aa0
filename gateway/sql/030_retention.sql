-- SPDX-License-Identifier: Apache-2.0
-- Retention, erasure, legal hold and master-key rotation state (docs/retention.md).
-- Deletion is two transactions per conversation, both idempotent: (1) mark the
-- conversation shredded and destroy its data key (crypto-shredding: from this commit on
-- the ciphertext is unreadable with every master key), NOTIFY caregate_shred so gateways
-- drop a cached copy; (2) delete its rows and, when nothing else refers to it, its
-- contact. shredded_at is what makes a crash between the two harmless: a shredded
-- conversation is always finished, whatever its status or legal hold by then.
-- The C side (gateway/gw_retention.c, gw_rotate.c) does the work; this file only adds
-- the columns, the closed_at rule and the patient's erasure request.

ALTER TABLE conversation
    ADD COLUMN legal_hold_reason  text,          -- a short reason code, never free text
    ADD COLUMN erase_requested_at timestamptz,   -- GDPR Art. 17 request not yet carried out
    ADD COLUMN shredded_at        timestamptz,   -- data key destroyed; rows still to delete
    ADD COLUMN shred_reason       text CHECK (shred_reason IN ('retention', 'erasure'));
CREATE INDEX conversation_closed ON conversation (closed_at) WHERE closed_at IS NOT NULL;
CREATE INDEX conversation_deletion ON conversation (id)
    WHERE shredded_at IS NOT NULL OR erase_requested_at IS NOT NULL;

-- Retention periods count from closed_at. gw_staff.c sets it when a conversation is
-- marked done; this trigger makes it hold for every other writer too (CLI, bridges).
CREATE FUNCTION caregate_conversation_closed_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'done' AND NEW.closed_at IS NULL THEN
        NEW.closed_at := now();
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER conversation_closed_at BEFORE INSERT OR UPDATE OF status, closed_at ON conversation
    FOR EACH ROW EXECUTE FUNCTION caregate_conversation_closed_at();

-- A patient asks for erasure of their conversation (widget frame erase_request). Returns
-- 'accepted' (the request is recorded; the gateway then erases at once), 'legal_hold'
-- (refused, nothing changes), or 'gone' (no such conversation, or already erased).
CREATE FUNCTION caregate_erase_request(p_conv uuid, p_actor text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v_hold boolean;
    v_shredded boolean;
BEGIN
    SELECT legal_hold, shredded_at IS NOT NULL INTO v_hold, v_shredded
      FROM conversation WHERE id = p_conv FOR UPDATE;
    IF NOT FOUND OR v_shredded THEN
        RETURN 'gone';
    END IF;
    IF v_hold THEN
        PERFORM audit_append('erasure.refused', p_actor, 'conversation:' || p_conv::text,
                             jsonb_build_object('reason', 'legal_hold'));
        RETURN 'legal_hold';
    END IF;
    UPDATE conversation SET erase_requested_at = coalesce(erase_requested_at, now())
     WHERE id = p_conv;
    PERFORM audit_append('erasure.requested', p_actor, 'conversation:' || p_conv::text,
                         jsonb_build_object('conversations', 1));
    RETURN 'accepted';
END
$$;

-- Master-key rotations. A row is written before the new key version goes into the key
-- file, so a rerun after a crash continues the same rotation instead of adding another
-- version. finished_at is set once no data key is wrapped by an older version.
CREATE TABLE key_rotation (
    target_version integer PRIMARY KEY CHECK (target_version > 0),
    started_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz,
    rewrapped      bigint NOT NULL DEFAULT 0
);
