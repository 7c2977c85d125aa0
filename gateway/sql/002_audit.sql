-- SPDX-License-Identifier: Apache-2.0
-- caregate tamper-evident audit log (docs/audit.md). Records are appended only through
-- audit_append(), which serialises appends on the single audit_head row and extends a
-- SHA-256 hash chain whose exact byte format is shared with policy/audit.c (any change
-- here must be made there too, and the format tag bumped). The gateway signs periodic
-- checkpoints (Ed25519, key outside the database) through audit_checkpoint_add().
-- Rows cannot be updated or deleted through ordinary SQL (triggers below); the owner or
-- a superuser can still disable triggers, which is what the signed, exportable
-- checkpoints and `caregate audit verify` are for.

-- Canonical text of a timestamp: UTC, microseconds, independent of the session's
-- TimeZone and DateStyle. This exact text is what is hashed and signed.
CREATE FUNCTION audit_ts_text(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');

-- "<byte length>:<utf-8 bytes>\n" (policy/audit.c put_field).
CREATE FUNCTION audit_field(t text) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN convert_to(octet_length(convert_to(t, 'UTF8'))::text || ':', 'UTF8')
       || convert_to(t, 'UTF8') || '\x0a'::bytea;

-- hash_n = SHA-256(hash_{n-1} || "caregate.audit.v1\n" || F(seq) || F(ts) || F(event)
--                  || F(actor) || F(subject) || F(details))
CREATE FUNCTION audit_record_hash(p_prev bytea, p_seq bigint, p_ts text, p_event text,
                                  p_actor text, p_subject text, p_details text) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN sha256(p_prev || convert_to('caregate.audit.v1' || chr(10), 'UTF8')
              || audit_field(p_seq::text) || audit_field(p_ts) || audit_field(p_event)
              || audit_field(p_actor) || audit_field(p_subject) || audit_field(p_details));

CREATE TABLE audit_log (
    seq       bigint PRIMARY KEY CHECK (seq > 0),
    ts        timestamptz NOT NULL,         -- hashed as audit_ts_text(ts)
    event     text NOT NULL CHECK (event ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$'
                                   AND octet_length(event) <= 64),
    actor     text NOT NULL,                -- 'staff:<uuid>', 'patient:<uuid>', 'system', 'cli', 'gateway'
    subject   text NOT NULL,                -- what was acted on: '<kind>:<id>' or ''
    details   text NOT NULL,                -- exact jsonb::text that was hashed: ids, categories, counts only
    prev_hash bytea NOT NULL CHECK (octet_length(prev_hash) = 32),
    hash      bytea NOT NULL CHECK (octet_length(hash) = 32)
);
CREATE INDEX audit_log_ts ON audit_log (ts);
CREATE INDEX audit_log_event_ts ON audit_log (event, ts);

-- The end of the chain. One row; every append locks it (FOR UPDATE), which is what makes
-- concurrent appends from several gateway processes take consecutive seqs in commit
-- order. Comparing it with the last record detects truncation of the tail.
CREATE TABLE audit_head (
    id   boolean PRIMARY KEY DEFAULT true CHECK (id),
    seq  bigint NOT NULL,
    hash bytea NOT NULL CHECK (octet_length(hash) = 32)
);
INSERT INTO audit_head (id, seq, hash) VALUES (true, 0, decode(repeat('00', 32), 'hex'));

-- Signed checkpoints: n counts 1, 2, 3 ... without gaps; signature is Ed25519 over
-- "caregate.audit.checkpoint.v1\n" || F(n) || F(seq) || F(ts) || F(hex(hash)).
-- public_key is informational (exports carry it); verifiers trust keys they hold.
CREATE TABLE audit_checkpoint (
    n          bigint PRIMARY KEY CHECK (n > 0),
    seq        bigint NOT NULL UNIQUE,
    hash       bytea NOT NULL CHECK (octet_length(hash) = 32),
    ts         timestamptz NOT NULL,        -- signed as audit_ts_text(ts)
    signature  bytea NOT NULL CHECK (octet_length(signature) = 64),
    key_id     text NOT NULL,
    public_key bytea NOT NULL CHECK (octet_length(public_key) = 32)
);

-- Appends one record and returns its seq. Call it inside the transaction of the action
-- it records: the record commits or rolls back with it, and seqs stay gap-free. It holds
-- the head row lock until that transaction ends, so call it late in the transaction.
-- SECURITY DEFINER: the application role has no direct write access to audit tables.
CREATE OR REPLACE FUNCTION audit_append(p_event text, p_actor text, p_subject text, p_details jsonb)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    v_prev    bytea;
    v_seq     bigint;
    v_ts      timestamptz;
    v_details jsonb := coalesce(p_details, '{}'::jsonb);
    v_text    text;
    v_hash    bytea;
BEGIN
    IF jsonb_typeof(v_details) <> 'object' THEN
        RAISE EXCEPTION 'audit details must be a JSON object' USING ERRCODE = '22023';
    END IF;
    v_text := v_details::text;
    IF octet_length(v_text) > 4096 THEN
        RAISE EXCEPTION 'audit details too long (% bytes)', octet_length(v_text) USING ERRCODE = '22023';
    END IF;
    SELECT seq + 1, hash INTO v_seq, v_prev FROM audit_head WHERE id FOR UPDATE;
    -- clock_timestamp, taken under the lock, keeps ts non-decreasing along the chain
    -- (now() is the transaction start, which may precede an earlier-committed append).
    v_ts := clock_timestamp();
    v_hash := audit_record_hash(v_prev, v_seq, audit_ts_text(v_ts), p_event,
                                coalesce(p_actor, ''), coalesce(p_subject, ''), v_text);
    INSERT INTO audit_log (seq, ts, event, actor, subject, details, prev_hash, hash)
    VALUES (v_seq, v_ts, p_event, coalesce(p_actor, ''), coalesce(p_subject, ''), v_text,
            v_prev, v_hash);
    UPDATE audit_head SET seq = v_seq, hash = v_hash WHERE id;
    RETURN v_seq;
END $$;

-- Stores a checkpoint the gateway signed and announces it in the chain with an
-- 'audit.checkpoint' record (same transaction), so deleting the newest checkpoint, or
-- truncating the log back to it, is detectable. Returns the announcement's seq.
-- Raises unique_violation when checkpoint p_n already exists (another gateway process
-- was faster: the caller just skips) and data_exception when the record does not match.
-- The signature is verified by `caregate audit verify`, not here: PostgreSQL has no Ed25519.
CREATE FUNCTION audit_checkpoint_add(p_n bigint, p_seq bigint, p_hash bytea, p_ts text,
                                     p_signature bytea, p_key_id text, p_public_key bytea)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    v_last bigint;
BEGIN
    PERFORM 1 FROM audit_head WHERE id FOR UPDATE;
    SELECT coalesce(max(n), 0) INTO v_last FROM audit_checkpoint;
    IF p_n <> v_last + 1 THEN
        RAISE EXCEPTION 'checkpoint % is not next (last is %)', p_n, v_last USING ERRCODE = '23505';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM audit_log WHERE seq = p_seq AND hash = p_hash) THEN
        RAISE EXCEPTION 'checkpoint does not match audit record %', p_seq USING ERRCODE = '22000';
    END IF;
    IF p_ts IS NULL OR audit_ts_text(p_ts::timestamptz) <> p_ts THEN
        RAISE EXCEPTION 'checkpoint ts is not canonical' USING ERRCODE = '22007';
    END IF;
    INSERT INTO audit_checkpoint (n, seq, hash, ts, signature, key_id, public_key)
    VALUES (p_n, p_seq, p_hash, p_ts::timestamptz, p_signature, p_key_id, p_public_key);
    RETURN audit_append('audit.checkpoint', 'gateway', 'checkpoint:' || p_n,
                        jsonb_build_object('n', p_n, 'seq', p_seq, 'key_id', p_key_id));
END $$;

-- Append-only: no UPDATE, DELETE or TRUNCATE, whoever asks. (Superusers and the owner
-- can still disable triggers or use session_replication_role = replica: see docs/audit.md.)
CREATE FUNCTION audit_forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit table % is append-only (% refused)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = '42501';
END $$;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_forbid_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_forbid_change();
CREATE TRIGGER audit_checkpoint_append_only BEFORE UPDATE OR DELETE ON audit_checkpoint
    FOR EACH ROW EXECUTE FUNCTION audit_forbid_change();
CREATE TRIGGER audit_checkpoint_no_truncate BEFORE TRUNCATE ON audit_checkpoint
    FOR EACH STATEMENT EXECUTE FUNCTION audit_forbid_change();

-- The head may only move forward by one, onto the record just inserted.
CREATE FUNCTION audit_head_advance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' OR NEW.seq <> OLD.seq + 1
       OR NOT EXISTS (SELECT 1 FROM audit_log WHERE seq = NEW.seq AND hash = NEW.hash) THEN
        RAISE EXCEPTION 'audit_head only advances through audit_append' USING ERRCODE = '42501';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER audit_head_forward_only BEFORE UPDATE OR DELETE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION audit_head_advance();
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION audit_forbid_change();

-- The application role the gateway connects as. It must be able to log in (no NOLOGIN);
-- authentication is the server's business (peer/unix socket for the embedded cluster).
-- It may read and write application tables, but audit tables only through the functions
-- above: even a direct INSERT would let it plant a row that blocks the chain.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'caregate_app') THEN
        BEGIN
            CREATE ROLE caregate_app LOGIN;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE WARNING 'cannot create role caregate_app (no CREATEROLE): create it and re-run the grants in 002_audit.sql';
            RETURN;
        END;
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO caregate_app', current_database());
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO caregate_app', current_schema());
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO caregate_app',
                   current_schema());
    EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO caregate_app', current_schema());
    -- Tables of later migrations, created by the same migrating role, get the same grants;
    -- a later migration adding an audit-like table must revoke as below.
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO caregate_app',
                   current_schema());
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE, SELECT ON SEQUENCES TO caregate_app',
                   current_schema());
    REVOKE ALL ON audit_log, audit_checkpoint, audit_head FROM caregate_app;
    GRANT SELECT ON audit_log, audit_checkpoint, audit_head TO caregate_app;
    REVOKE ALL ON FUNCTION audit_append(text, text, text, jsonb) FROM PUBLIC;
    REVOKE ALL ON FUNCTION audit_checkpoint_add(bigint, bigint, bytea, text, bytea, text, bytea) FROM PUBLIC;
    GRANT EXECUTE ON FUNCTION audit_append(text, text, text, jsonb) TO caregate_app;
    GRANT EXECUTE ON FUNCTION audit_checkpoint_add(bigint, bigint, bytea, text, bytea, text, bytea) TO caregate_app;
END $$;
