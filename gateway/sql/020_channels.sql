-- SPDX-License-Identifier: Apache-2.0
-- Meta platform bridges (WhatsApp Cloud API, Messenger, Instagram): the clinic's registered
-- business accounts, webhook de-duplication, the per-conversation bridge state (messaging
-- window, sealed reply address) and the outbound queue worked with FOR UPDATE SKIP LOCKED.
--
-- Privacy: no platform user id, phone number, name or platform message id is stored in
-- plain text. User ids and message ids are keyed BLAKE2b hashes (key from the bridge key
-- file, see docs/bridges.md); the reply address and display data are sealed with the
-- bridge key. Business account ids (WABA, phone number id, Page, IG account) are the
-- clinic's own and are stored plainly. Secrets stay in files; rows hold their paths.
-- Message text is handled by the core message table (sealed per conversation).

-- A registered business channel. Only these accounts may deliver webhooks or be sent to.
CREATE TABLE channel (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    platform        text NOT NULL CHECK (platform IN ('whatsapp', 'messenger', 'instagram')),
    account_id      text NOT NULL CHECK (account_id ~ '^[0-9]{1,32}$'), -- WABA / Page / IG account
    phone_number_id text CHECK (phone_number_id ~ '^[0-9]{1,32}$'),     -- WhatsApp routing key
    app_secret_file text NOT NULL,       -- signs this app's webhooks (HMAC-SHA256)
    token_file      text NOT NULL,       -- system-user / Page token for the Send API
    human_agent     boolean NOT NULL DEFAULT false, -- Messenger/IG HUMAN_AGENT tag approved
    state           text NOT NULL DEFAULT 'active'
                    CHECK (state IN ('active', 'auth_failed', 'paused')),
    state_reason    text,                -- "auth:190", "pause:131048": class and code, no text
    state_since     timestamptz NOT NULL DEFAULT now(),
    throttled_until timestamptz,         -- whole-channel back-off (130429, 4, 613, 80006 …)
    created_at      timestamptz NOT NULL DEFAULT now(),
    removed_at      timestamptz,
    CHECK ((platform = 'whatsapp') = (phone_number_id IS NOT NULL))
);
-- Routing key per platform: WhatsApp by phone_number_id, Messenger/IG by the account id.
CREATE UNIQUE INDEX channel_route ON channel (platform, coalesce(phone_number_id, account_id))
    WHERE removed_at IS NULL;

-- Idempotent ingest: Meta delivers at least once and retries for up to 7 days. key_hash is
-- a keyed hash of the platform message id (kind 'msg') or of id+status (kind 'status').
CREATE TABLE webhook_dedup (
    channel_id  uuid NOT NULL REFERENCES channel (id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('msg', 'status')),
    key_hash    bytea NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel_id, kind, key_hash)
);
CREATE INDEX webhook_dedup_age ON webhook_dedup (received_at);

-- One row per bridged conversation (one conversation per contact and channel).
CREATE TABLE bridge_conversation (
    conversation_id uuid PRIMARY KEY REFERENCES conversation (id) ON DELETE CASCADE,
    channel_id      uuid NOT NULL REFERENCES channel (id),
    contact_id      uuid NOT NULL REFERENCES contact (id) ON DELETE CASCADE,
    address_enc     bytea NOT NULL,      -- sealed platform user id to reply to
    last_user_at    timestamptz NOT NULL, -- opens/refreshes the 24 h (7 d HUMAN_AGENT) window
    template_only   boolean NOT NULL DEFAULT false, -- set by error 131047 until the user writes
    UNIQUE (channel_id, contact_id)
);

-- Outbound queue. id is the correlation id sent as biz_opaque_callback_data (WhatsApp) or
-- message.metadata (Messenger), so a send whose outcome is unknown is matched by webhook.
CREATE TABLE outbox (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    channel_id       uuid NOT NULL REFERENCES channel (id),
    conversation_id  uuid REFERENCES conversation (id) ON DELETE CASCADE,
    message_id       uuid REFERENCES message (id) ON DELETE CASCADE,
    recipient_hash   bytea NOT NULL,     -- per-recipient ordering and rate limits
    request_enc      bytea,              -- sealed Send API body; NULL once terminal
    state            text NOT NULL DEFAULT 'queued'
                     CHECK (state IN ('queued', 'sending', 'uncertain', 'sent', 'failed')),
    attempts         integer NOT NULL DEFAULT 0,
    next_at          timestamptz NOT NULL DEFAULT now(),
    lease_until      timestamptz,        -- a 'sending' row whose lease ran out is uncertain
    platform_id_hash bytea,              -- keyed hash of the returned wamid / mid
    error_class      text,
    error_code       integer,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_ready ON outbox (next_at) WHERE state = 'queued';
CREATE INDEX outbox_lease ON outbox (lease_until) WHERE state IN ('sending', 'uncertain');
CREATE UNIQUE INDEX outbox_platform_id ON outbox (channel_id, platform_id_hash)
    WHERE platform_id_hash IS NOT NULL;
CREATE INDEX outbox_message ON outbox (message_id);

-- Forward-only delivery ranks (statuses arrive unordered; 'failed' is terminal).
CREATE FUNCTION bridge_delivery_rank(p text) RETURNS integer IMMUTABLE LANGUAGE sql AS $$
    SELECT CASE p WHEN 'stored' THEN 0 WHEN 'sent' THEN 1 WHEN 'delivered' THEN 2
                  WHEN 'read' THEN 3 WHEN 'failed' THEN 9 ELSE -1 END $$;
