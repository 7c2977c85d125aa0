-- SPDX-License-Identifier: Apache-2.0
-- caregate core schema. Message text is never stored in plain text: message.body is
-- XChaCha20-Poly1305 ciphertext (nonce || ct) under the conversation's data key, which is
-- stored only wrapped by a versioned master key held outside the database.
-- Deletion is crypto-shredding: data_key row first, then the rows (see retention).

CREATE TABLE staff (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email         text NOT NULL,
    role          text NOT NULL CHECK (role IN ('agent', 'admin', 'dpo')),
    alias         text NOT NULL,            -- what patients see next to the clinic name
    password_hash text NOT NULL,            -- argon2id (libsodium crypto_pwhash_str)
    totp_secret   bytea,                    -- sealed with the master key when 2FA is enabled
    on_shift      boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    disabled_at   timestamptz
);
CREATE UNIQUE INDEX staff_email_key ON staff (lower(email));

CREATE TABLE staff_session (
    token_hash  bytea PRIMARY KEY,           -- BLAKE2b of the cookie token; the token itself is never stored
    staff_id    uuid NOT NULL REFERENCES staff (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);
CREATE INDEX staff_session_staff ON staff_session (staff_id);

-- A patient identity. Web patients have no platform id; platform patients are keyed by a
-- keyed hash of the platform user id, and their display data is sealed.
CREATE TABLE contact (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    channel       text NOT NULL CHECK (channel IN ('web', 'whatsapp', 'messenger', 'instagram')),
    platform_hash bytea,
    display_enc   bytea,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (channel, platform_hash)
);

CREATE TABLE conversation (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    contact_id       uuid NOT NULL REFERENCES contact (id),
    channel          text NOT NULL,
    status           text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'pending', 'snoozed', 'done')),
    snoozed_until    timestamptz,
    assignee         uuid REFERENCES staff (id),
    lang             text NOT NULL DEFAULT 'de',
    created_at       timestamptz NOT NULL DEFAULT now(),
    last_message_at  timestamptz NOT NULL DEFAULT now(),
    waiting_since    timestamptz,             -- oldest patient message not yet answered
    first_reply_at   timestamptz,
    closed_at        timestamptz,             -- retention periods count from here
    retention_class  text NOT NULL DEFAULT 'general',
    legal_hold       boolean NOT NULL DEFAULT false,
    privacy_notice   text                      -- accepted privacy notice version
);
CREATE INDEX conversation_queue ON conversation (status, waiting_since);
CREATE INDEX conversation_contact ON conversation (contact_id);

-- One data key per conversation, wrapped (nonce || ct) by master key version key_version.
-- Destroying this row makes every message of the conversation unreadable.
CREATE TABLE data_key (
    conversation_id uuid PRIMARY KEY REFERENCES conversation (id) ON DELETE CASCADE,
    key_version     integer NOT NULL,
    wrapped         bytea NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    rewrapped_at    timestamptz
);
CREATE INDEX data_key_version ON data_key (key_version);

CREATE TABLE patient_session (
    token_hash      bytea PRIMARY KEY,        -- BLAKE2b of the resume token
    contact_id      uuid NOT NULL REFERENCES contact (id) ON DELETE CASCADE,
    conversation_id uuid NOT NULL REFERENCES conversation (id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_seen       timestamptz NOT NULL DEFAULT now(),
    expires_at      timestamptz NOT NULL
);
CREATE INDEX patient_session_conv ON patient_session (conversation_id);

CREATE TABLE message (
    id              uuid PRIMARY KEY,          -- chosen by the gateway: it is bound into the AEAD
    conversation_id uuid NOT NULL REFERENCES conversation (id) ON DELETE CASCADE,
    client_id       text NOT NULL,             -- idempotency key from the sender
    sender          text NOT NULL CHECK (sender IN ('patient', 'staff', 'system')),
    kind            text NOT NULL DEFAULT 'text' CHECK (kind IN ('text', 'note')),
    author_staff    uuid REFERENCES staff (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    body            bytea NOT NULL,            -- ciphertext only
    findings        jsonb,                     -- {"MEDICATION":1,...}: categories and counts, never text
    delivery        text NOT NULL DEFAULT 'stored'
                    CHECK (delivery IN ('stored', 'sent', 'delivered', 'read', 'failed')),
    UNIQUE (conversation_id, client_id)
);
CREATE INDEX message_conv_time ON message (conversation_id, created_at);

-- Placeholder for the tamper-evident audit log: the audit migration replaces this
-- function with the hash-chained implementation. Callers append inside the same
-- transaction as the action they record: SELECT audit_append(event, actor, subject, details).
CREATE FUNCTION audit_append(p_event text, p_actor text, p_subject text, p_details jsonb)
RETURNS bigint LANGUAGE sql AS $$ SELECT 0::bigint $$;
