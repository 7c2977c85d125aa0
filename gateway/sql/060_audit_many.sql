-- SPDX-License-Identifier: Apache-2.0
-- Batched audit appends, for the throughput of the group commit (docs/benchmarks.md). Measured on the 2-core machine, a
-- batch of 512 messages spent most of its time in 512 calls of audit_append(): each one
-- re-read and re-updated the single audit_head row (512 row versions in one transaction)
-- and called audit_record_hash(), which PostgreSQL does not inline when called from
-- PL/pgSQL (about 130 µs per call, against 15 µs for the same bytes hashed inline).
--
-- audit_append_many() appends a batch of records under ONE head lock, with one INSERT and
-- one head update. The records, their seqs and their hashes are exactly those that the
-- same number of audit_append() calls would have written (format v1, docs/audit.md), except
-- that they share one timestamp, so `caregate audit verify` and the DPO console read them
-- like any other records. Every policy decision is still its own record.

-- Appends n records (arrays of equal length n, element i is one record) and returns the
-- seq of the last one; NULL for empty arrays, without taking the head lock. Same rules as
-- audit_append(): call it late in the transaction of the actions it records.
CREATE FUNCTION audit_append_many(p_events text[], p_actors text[], p_subjects text[],
                                  p_details jsonb[])
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    n        integer := coalesce(array_length(p_events, 1), 0);
    v_tag    bytea := convert_to('caregate.audit.v1' || chr(10), 'UTF8');
    v_nl     bytea := '\x0a'::bytea;
    v_prev   bytea;
    v_seq    bigint;
    v_first  bigint;
    v_ts     timestamptz;
    v_tsf    bytea;
    v_d      jsonb;
    v_b      bytea[];
    v_texts  text[];
    v_prevs  bytea[];
    v_hashes bytea[];
BEGIN
    IF n = 0 THEN
        RETURN NULL;
    END IF;
    IF coalesce(array_length(p_actors, 1), 0) <> n OR coalesce(array_length(p_subjects, 1), 0) <> n
       OR coalesce(array_length(p_details, 1), 0) <> n THEN
        RAISE EXCEPTION 'audit_append_many: arrays of different lengths' USING ERRCODE = '22023';
    END IF;
    -- Checks and the fields that do not depend on the chain, before taking the lock.
    FOR i IN 1 .. n LOOP
        IF p_events[i] IS NULL THEN
            RAISE EXCEPTION 'audit event must not be null' USING ERRCODE = '22004';
        END IF;
        v_d := coalesce(p_details[i], '{}'::jsonb);
        IF jsonb_typeof(v_d) <> 'object' THEN
            RAISE EXCEPTION 'audit details must be a JSON object' USING ERRCODE = '22023';
        END IF;
        v_texts[i] := v_d::text;
        IF octet_length(v_texts[i]) > 4096 THEN
            RAISE EXCEPTION 'audit details too long (% bytes)', octet_length(v_texts[i])
                USING ERRCODE = '22023';
        END IF;
        -- F(event) || F(actor) || F(subject) || F(details), as audit_field() writes them
        v_b[i] := audit_field(p_events[i]) || audit_field(coalesce(p_actors[i], ''))
                  || audit_field(coalesce(p_subjects[i], '')) || audit_field(v_texts[i]);
    END LOOP;
    SELECT seq, hash INTO v_seq, v_prev FROM audit_head WHERE id FOR UPDATE;
    v_first := v_seq + 1;
    -- clock_timestamp under the lock, as in audit_append: ts never goes back along the chain
    v_ts := clock_timestamp();
    v_tsf := audit_field(audit_ts_text(v_ts));
    FOR i IN 1 .. n LOOP
        v_seq := v_seq + 1;
        v_prevs[i] := v_prev;
        -- audit_record_hash(), written out: F(seq) is ASCII, so its byte length is its length
        v_prev := sha256(v_prev || v_tag
                         || convert_to(length(v_seq::text) || ':' || v_seq::text, 'UTF8')
                         || v_nl || v_tsf || v_b[i]);
        v_hashes[i] := v_prev;
    END LOOP;
    INSERT INTO audit_log (seq, ts, event, actor, subject, details, prev_hash, hash)
    SELECT v_first + u.o - 1, v_ts, u.e, coalesce(u.a, ''), coalesce(u.s, ''), u.t, u.p, u.h
      FROM unnest(p_events, p_actors, p_subjects, v_texts, v_prevs, v_hashes)
           WITH ORDINALITY AS u(e, a, s, t, p, h, o);
    UPDATE audit_head SET seq = v_seq, hash = v_prev WHERE id;
    RETURN v_seq;
END $$;

-- The head may move forward by any number of records (audit_append_many), but only onto
-- the last of a gap-free run of records that exist.
CREATE OR REPLACE FUNCTION audit_head_advance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' OR NEW.seq <= OLD.seq
       OR NOT EXISTS (SELECT 1 FROM audit_log WHERE seq = NEW.seq AND hash = NEW.hash)
       OR (SELECT count(*) FROM audit_log WHERE seq > OLD.seq AND seq <= NEW.seq)
          <> NEW.seq - OLD.seq THEN
        RAISE EXCEPTION 'audit_head only advances through audit_append' USING ERRCODE = '42501';
    END IF;
    RETURN NEW;
END $$;

REVOKE ALL ON FUNCTION audit_append_many(text[], text[], text[], jsonb[]) FROM PUBLIC;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'caregate_app') THEN
        GRANT EXECUTE ON FUNCTION audit_append_many(text[], text[], text[], jsonb[]) TO caregate_app;
    END IF;
END $$;

