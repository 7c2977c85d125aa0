-- SPDX-License-Identifier: Apache-2.0
-- Meta bridges, part 2: the single-statement helpers gw_meta.c and gw_outbox.c call from
-- the event loop (one statement = one transaction, so de-duplication, delivery states,
-- audit records and NOTIFYs commit together or not at all). Inputs carry keyed hashes
-- and sealed bytes only; nothing here ever sees a platform id, phone number or text.

-- A staff message is queued at most once.
DROP INDEX outbox_message;
CREATE UNIQUE INDEX outbox_message_once ON outbox (message_id) WHERE message_id IS NOT NULL;
CREATE INDEX outbox_recipient ON outbox (channel_id, recipient_hash, created_at);

-- The conversation of a platform user on a channel, created on first contact together
-- with its contact, data key (wrapped by the gateway for p_new_conv) and bridge row.
-- Later messages refresh the window (last_user_at, never backwards) and the sealed reply
-- address. Returns the conversation, its language and whether it was created now.
CREATE FUNCTION bridge_conv_ensure(p_channel uuid, p_user_hash bytea, p_new_conv uuid,
                                   p_key_version integer, p_wrapped bytea, p_addr bytea,
                                   p_disp bytea, p_last_user timestamptz, p_lang text)
RETURNS TABLE (conversation_id uuid, lang text, created boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v_platform text;
    v_contact uuid;
    v_conv uuid;
    v_created boolean := false;
    v_last timestamptz := least(p_last_user, now()); -- a timestamp from the future opens no window
BEGIN
    SELECT ch.platform INTO v_platform FROM channel ch
     WHERE ch.id = p_channel AND ch.removed_at IS NULL;
    IF v_platform IS NULL THEN
        RAISE EXCEPTION 'channel not registered' USING ERRCODE = 'P0002';
    END IF;
    INSERT INTO contact AS ct (channel, platform_hash, display_enc)
         VALUES (v_platform, p_user_hash, p_disp)
    ON CONFLICT (channel, platform_hash)
        DO UPDATE SET display_enc = coalesce(EXCLUDED.display_enc, ct.display_enc)
    RETURNING ct.id INTO v_contact;
    SELECT bc.conversation_id INTO v_conv FROM bridge_conversation bc
     WHERE bc.channel_id = p_channel AND bc.contact_id = v_contact;
    IF v_conv IS NULL THEN
        INSERT INTO conversation (id, contact_id, channel, lang, waiting_since)
             VALUES (p_new_conv, v_contact, v_platform, p_lang, NULL);
        INSERT INTO data_key (conversation_id, key_version, wrapped)
             VALUES (p_new_conv, p_key_version, p_wrapped);
        INSERT INTO bridge_conversation (conversation_id, channel_id, contact_id, address_enc,
                                         last_user_at)
             VALUES (p_new_conv, p_channel, v_contact, p_addr, v_last);
        PERFORM audit_append('conversation.created', NULL, p_new_conv::text,
                             jsonb_build_object('channel', v_platform));
        PERFORM pg_notify('caregate_conv', json_build_object('c', p_new_conv, 'e', 'new')::text);
        v_conv := p_new_conv;
        v_created := true;
    ELSE
        UPDATE bridge_conversation bc
           SET template_only = CASE WHEN v_last > bc.last_user_at THEN false ELSE bc.template_only END,
               last_user_at = greatest(bc.last_user_at, v_last),
               address_enc = p_addr
         WHERE bc.conversation_id = v_conv;
    END IF;
    RETURN QUERY SELECT v_conv, c.lang, v_created FROM conversation c WHERE c.id = v_conv;
END
$$;

-- What the staff console shows about a bridged conversation (NULL for web ones): the
-- platform, the channel's state (auth_failed/paused surface token and policy errors) and
-- the messaging window with the seconds left (meta-platforms.md §4.6, §5.3, §6.2).
-- The gateway enforces the same rules in C (gw_meta_window_at); this is for display.
CREATE FUNCTION bridge_window(p_conv uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'platform', ch.platform,
        'channel_state', ch.state,
        'last_user_at', caregate_ts(bc.last_user_at),
        'window', w.level,
        'window_remaining_s', CASE w.level
            WHEN 'open' THEN greatest(0, floor(extract(epoch FROM bc.last_user_at + interval '24 hours' - now())))::bigint
            WHEN 'human_agent' THEN greatest(0, floor(extract(epoch FROM bc.last_user_at + interval '7 days' - now())))::bigint
            ELSE 0 END)
      FROM bridge_conversation bc
      JOIN channel ch ON ch.id = bc.channel_id
      CROSS JOIN LATERAL (SELECT CASE
            WHEN now() - bc.last_user_at < interval '24 hours' AND NOT bc.template_only THEN 'open'
            WHEN ch.platform = 'whatsapp' THEN 'template_only'
            WHEN ch.human_agent AND now() - bc.last_user_at < interval '7 days' THEN 'human_agent'
            ELSE 'closed' END AS level) w
     WHERE bc.conversation_id = p_conv
$$;

-- Forward-only delivery update of one outbound message.
CREATE FUNCTION bridge_set_delivery(p_message uuid, p_state text) RETURNS boolean
LANGUAGE sql AS $$
    WITH u AS (
        UPDATE message m SET delivery = p_state
         WHERE m.id = p_message AND m.delivery <> 'failed'
           AND bridge_delivery_rank(p_state) > bridge_delivery_rank(m.delivery)
        RETURNING m.conversation_id)
    SELECT count(pg_notify('caregate_conv', json_build_object('c', u.conversation_id, 'e', 'delivery')::text)) > 0
      FROM u
$$;

-- The durable tail of one webhook request, after its messages were stored:
--   p->'dedup'   [{"c":channel,"k":"msg","h":hex}]       processed message ids
--   p->'status'  [{"c","h":hex(id hash),"d":hex(id+status hash),"s":status,"cb":corr|null,"e":code}]
--   p->'echo'    [{"c","h":hex(mid hash),"cb":corr|null}] Messenger/IG echoes of our sends
--   p->'mark'    [{"c","u":hex(user hash),"w":watermark ms,"s":"delivered"|"read"}]
-- Statuses and echoes adopt uncertain sends matched by correlation id (§7.3).
-- Returns the number of statuses applied (duplicates excluded).
CREATE FUNCTION bridge_ingest_tail(p jsonb) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    o record;
    n integer := 0;
BEGIN
    INSERT INTO webhook_dedup (channel_id, kind, key_hash)
    SELECT (d->>'c')::uuid, d->>'k', decode(d->>'h', 'hex')
      FROM jsonb_array_elements(coalesce(p->'dedup', '[]')) d
    ON CONFLICT DO NOTHING;

    FOR r IN SELECT (s->>'c')::uuid AS c, decode(s->>'h', 'hex') AS h, decode(s->>'d', 'hex') AS d,
                    s->>'s' AS st, s->>'cb' AS cb, (s->>'e')::integer AS e
               FROM jsonb_array_elements(coalesce(p->'status', '[]')) s LOOP
        INSERT INTO webhook_dedup (channel_id, kind, key_hash) VALUES (r.c, 'status', r.d)
        ON CONFLICT DO NOTHING;
        CONTINUE WHEN NOT FOUND; -- a redelivered status
        SELECT * INTO o FROM outbox ob
         WHERE ob.channel_id = r.c
           AND (ob.platform_id_hash = r.h
                OR (r.cb IS NOT NULL AND ob.id::text = r.cb AND ob.platform_id_hash IS NULL))
         LIMIT 1 FOR UPDATE;
        CONTINUE WHEN NOT FOUND; -- not ours (another app on the WABA) or already erased
        n := n + 1;
        IF o.state IN ('sending', 'uncertain') AND r.st <> 'failed' THEN
            -- an ambiguous send that did reach Meta: adopt it, never resend (§7.3)
            UPDATE outbox SET state = 'sent', platform_id_hash = r.h, request_enc = NULL,
                              lease_until = NULL, updated_at = now()
             WHERE id = o.id;
        ELSIF o.platform_id_hash IS NULL THEN
            UPDATE outbox SET platform_id_hash = r.h, updated_at = now() WHERE id = o.id;
        END IF;
        IF r.st = 'failed' THEN
            UPDATE outbox SET state = 'failed', error_code = r.e, request_enc = NULL,
                              error_class = CASE WHEN r.e = 131047 THEN 'window' ELSE 'async' END,
                              updated_at = now()
             WHERE id = o.id;
            IF o.message_id IS NOT NULL THEN
                UPDATE message SET delivery = 'failed' WHERE id = o.message_id;
                PERFORM pg_notify('caregate_conv', json_build_object('c', o.conversation_id, 'e', 'delivery')::text);
            END IF;
            IF r.e = 131047 AND o.conversation_id IS NOT NULL THEN
                UPDATE bridge_conversation SET template_only = true WHERE conversation_id = o.conversation_id;
            END IF;
        ELSIF r.st IN ('sent', 'delivered', 'read') AND o.message_id IS NOT NULL THEN
            PERFORM bridge_set_delivery(o.message_id, r.st);
        END IF;
    END LOOP;

    FOR r IN SELECT (s->>'c')::uuid AS c, decode(s->>'h', 'hex') AS h, s->>'cb' AS cb
               FROM jsonb_array_elements(coalesce(p->'echo', '[]')) s LOOP
        SELECT * INTO o FROM outbox ob
         WHERE ob.channel_id = r.c
           AND (ob.platform_id_hash = r.h
                OR (r.cb IS NOT NULL AND ob.id::text = r.cb AND ob.platform_id_hash IS NULL))
         LIMIT 1 FOR UPDATE;
        CONTINUE WHEN NOT FOUND;
        IF o.state IN ('sending', 'uncertain') THEN
            UPDATE outbox SET state = 'sent', platform_id_hash = r.h, request_enc = NULL,
                              lease_until = NULL, updated_at = now()
             WHERE id = o.id;
        END IF;
        IF o.message_id IS NOT NULL THEN
            PERFORM bridge_set_delivery(o.message_id, 'sent');
        END IF;
    END LOOP;

    FOR r IN SELECT (s->>'c')::uuid AS c, decode(s->>'u', 'hex') AS u,
                    to_timestamp((s->>'w')::double precision / 1000) AS w, s->>'s' AS st
               FROM jsonb_array_elements(coalesce(p->'mark', '[]')) s LOOP
        PERFORM bridge_set_delivery(ob.message_id, r.st)
           FROM outbox ob
          WHERE ob.channel_id = r.c AND ob.recipient_hash = r.u AND ob.state = 'sent'
            AND ob.message_id IS NOT NULL AND ob.updated_at <= r.w + interval '1 second'
            AND ob.created_at > now() - interval '30 days';
    END LOOP;
    RETURN n;
END
$$;

-- The outcome of one Send API attempt (gw_outbox.c), applied atomically:
--   'sent'                the platform accepted it (p_hash: keyed hash of wamid/mid)
--   'uncertain'           no answer after the body went out: wait p_wait s for a webhook
--   'retry' | 'throttle' | 'throttle_recipient' | 'stop'   back to the queue after p_delay s
--                         ('throttle' also pauses the channel; 'stop' sets the channel's
--                         state from p_class (auth/config/pause), audits and notifies)
--   'fail'                permanent, window or retries exhausted: the message is failed
-- A row no longer 'sending' (adopted by a webhook meanwhile) is left alone ('stale').
CREATE FUNCTION bridge_outbox_result(p_id uuid, p_outcome text, p_delay double precision,
                                     p_class text, p_code integer, p_hash bytea,
                                     p_wait integer)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    o record;
    v_state text;
BEGIN
    SELECT * INTO o FROM outbox WHERE id = p_id FOR UPDATE;
    IF NOT FOUND OR o.state NOT IN ('sending', 'uncertain') THEN
        RETURN 'stale';
    END IF;
    IF p_outcome = 'sent' THEN
        UPDATE outbox SET state = 'sent', platform_id_hash = coalesce(platform_id_hash, p_hash),
                          request_enc = NULL, lease_until = NULL, error_class = NULL,
                          error_code = NULL, updated_at = now()
         WHERE id = p_id;
        IF o.message_id IS NOT NULL THEN
            PERFORM bridge_set_delivery(o.message_id, 'sent');
        END IF;
        RETURN 'sent';
    END IF;
    IF o.state <> 'sending' THEN
        RETURN 'stale'; -- an uncertain row leaves only by webhook or by its deadline
    END IF;
    IF p_outcome = 'uncertain' THEN
        UPDATE outbox SET state = 'uncertain', lease_until = now() + make_interval(secs => p_wait),
                          error_class = p_class, updated_at = now()
         WHERE id = p_id;
        RETURN 'uncertain';
    END IF;
    IF p_outcome IN ('throttle', 'throttle_recipient', 'stop')
       OR (p_outcome = 'retry' AND o.attempts < 5) THEN
        UPDATE outbox SET state = 'queued', next_at = now() + make_interval(secs => p_delay),
                          lease_until = NULL, error_class = p_class, error_code = p_code,
                          attempts = CASE WHEN p_outcome = 'retry' THEN attempts
                                          ELSE greatest(attempts - 1, 0) END,
                          updated_at = now()
         WHERE id = p_id;
        IF p_outcome = 'throttle' THEN
            UPDATE channel SET throttled_until = greatest(coalesce(throttled_until, now()),
                                                          now() + make_interval(secs => p_delay))
             WHERE id = o.channel_id;
        ELSIF p_outcome = 'stop' THEN
            v_state := CASE WHEN p_class = 'pause' THEN 'paused' ELSE 'auth_failed' END;
            UPDATE channel SET state = v_state, state_reason = p_class || ':' || p_code,
                               state_since = now()
             WHERE id = o.channel_id AND state = 'active';
            IF FOUND THEN
                PERFORM audit_append('channel.' || v_state, 'gateway', 'channel:' || o.channel_id::text,
                                     jsonb_build_object('class', p_class, 'code', p_code));
                PERFORM pg_notify('caregate_channel', o.channel_id::text);
                PERFORM pg_notify('caregate_conv', json_build_object('c', bc.conversation_id,
                                                                     'e', 'channel')::text)
                   FROM bridge_conversation bc
                  WHERE bc.channel_id = o.channel_id
                    AND bc.last_user_at > now() - interval '8 days';
            END IF;
        END IF;
        RETURN 'queued';
    END IF;
    UPDATE outbox SET state = 'failed', request_enc = NULL, lease_until = NULL,
                      error_class = p_class, error_code = p_code, updated_at = now()
     WHERE id = p_id;
    IF o.message_id IS NOT NULL THEN
        UPDATE message SET delivery = 'failed' WHERE id = o.message_id;
        PERFORM pg_notify('caregate_conv', json_build_object('c', o.conversation_id, 'e', 'delivery')::text);
    END IF;
    IF p_class = 'window' AND o.conversation_id IS NOT NULL THEN
        UPDATE bridge_conversation bc SET template_only = true
          FROM channel ch
         WHERE bc.conversation_id = o.conversation_id AND ch.id = bc.channel_id
           AND ch.platform = 'whatsapp';
    END IF;
    RETURN 'failed';
END
$$;

-- `caregate channel resume`: an admin fixed the token / restriction.
CREATE FUNCTION bridge_channel_resume(p_channel uuid) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE channel SET state = 'active', state_reason = NULL, state_since = now(),
                       throttled_until = NULL
     WHERE id = p_channel AND removed_at IS NULL;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    -- messages held back by the stop go out now, in their order
    UPDATE outbox SET next_at = now() WHERE channel_id = p_channel AND state = 'queued';
    PERFORM audit_append('channel.resumed', 'cli', 'channel:' || p_channel::text, '{}'::jsonb);
    PERFORM pg_notify('caregate_channel', p_channel::text);
    RETURN true;
END
$$;
