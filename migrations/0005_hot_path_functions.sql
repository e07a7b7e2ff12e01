-- The two statements every pushed message runs (its send, and its delivery attempt's record) as
-- functions: PL/pgSQL keeps their plans for the life of a backend (warm in the pool, locally as
-- behind Neon's pooled endpoint), where a statement sent as text is planned on every run. Each is
-- still one statement from the caller's side, atomic, and raises like one.

-- A one-way send: the caller's key checked (when `key_hash` is given), the recipients checked, and,
-- only if all are active and `idem_key` was not used before, the messages, their outbox rows
-- (already claimed for `lease_secs` when `claim`) and the idempotency key with its response
-- written. One row per recipient, in order: its status (null: not in the organization), the
-- columns of its agent a push reads, its outbox row, and the stored key if it was used before.
CREATE FUNCTION am_send_message(
  key_hash text, org text, sender text, recipients text[], message_ids text[], delivery_ids text[],
  body jsonb, meta jsonb, sent_at timestamptz, attempt_limit integer, claim boolean, lease_secs double precision,
  idem_key text, request_hash text, response jsonb
) RETURNS TABLE (recipient_id text, status agent_status, agent jsonb, delivery jsonb, stored_hash text, stored_response jsonb)
LANGUAGE plpgsql AS $$
DECLARE
  stored idempotency_keys%ROWTYPE;
  ok boolean;
BEGIN
  IF key_hash IS NOT NULL THEN PERFORM am_authorized(key_hash); END IF;
  IF idem_key IS NOT NULL THEN
    SELECT * INTO stored FROM idempotency_keys k WHERE k.principal_id = sender AND k.key = idem_key;
  END IF;
  SELECT stored.key IS NULL AND bool_and(coalesce(a.status = 'active', false)) INTO ok
  FROM unnest(recipients) AS t(id) LEFT JOIN agents a ON a.id = t.id AND a.organization_id = org;
  IF ok THEN
    IF idem_key IS NOT NULL THEN
      INSERT INTO idempotency_keys (principal_id, key, request_hash, response_body)
      VALUES (sender, idem_key, request_hash, response);
    END IF;
    INSERT INTO messages (id, organization_id, kind, sender_id, recipient_id, content, metadata, created_at)
    SELECT m, org, 'user', sender, r, body, meta, sent_at FROM unnest(message_ids, recipients) AS t(m, r);
  END IF;
  RETURN QUERY
    WITH recipient AS (
      SELECT t.ord, t.id, t.message_id, t.delivery_id, a.status, a.endpoint_url IS NOT NULL AND a.endpoint_disabled_at IS NULL AS pushable,
             jsonb_build_object('id', a.id, 'status', a.status, 'endpoint_url', a.endpoint_url,
                                'endpoint_disabled_at', a.endpoint_disabled_at,
                                'signing_secret_encrypted', a.signing_secret_encrypted) AS agent
      FROM unnest(recipients, message_ids, delivery_ids) WITH ORDINALITY AS t(id, message_id, delivery_id, ord)
      LEFT JOIN agents a ON a.id = t.id AND a.organization_id = org
    ), outbox AS (
      INSERT INTO deliveries (id, organization_id, agent_id, type, message_id, attempt_limit, attempts, next_attempt_at)
      SELECT r.delivery_id, org, r.id, 'message', r.message_id, attempt_limit, CASE WHEN claim THEN 1 ELSE 0 END,
             now() + make_interval(secs => CASE WHEN claim THEN lease_secs ELSE 0 END)
      FROM recipient r WHERE ok AND r.pushable
      RETURNING *
    )
    SELECT r.id, r.status, r.agent, to_jsonb(o), stored.request_hash, stored.response_body
    FROM recipient r LEFT JOIN outbox o ON o.id = r.delivery_id
    ORDER BY r.ord;
END $$;
--> statement-breakpoint
-- A delivery attempt: its row always; the delivery's new state, the message's acknowledgement (a
-- 2xx) and a 410's disabling of the endpoint only if the claim is still ours (`attempt` is the
-- delivery's latest). True when it was.
CREATE FUNCTION am_record_attempt(
  delivery text, attempt integer, new_status delivery_status, error text, ok boolean, retry_secs double precision,
  started_at timestamptz, duration_ms integer, response_status integer, agent text, gone text
) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  message text;
BEGIN
  INSERT INTO delivery_attempts (delivery_id, attempt, started_at, duration_ms, response_status, error)
  VALUES (delivery, attempt, started_at, duration_ms, response_status, error);
  UPDATE deliveries d
  SET status = new_status, last_error = error, delivered_at = CASE WHEN ok THEN now() END,
      next_attempt_at = now() + make_interval(secs => retry_secs)
  WHERE d.id = delivery AND d.attempts = attempt AND d.status IN ('queued', 'failed')
  RETURNING d.message_id INTO message;
  IF NOT FOUND THEN RETURN false; END IF;
  IF ok AND message IS NOT NULL THEN
    UPDATE messages SET acknowledged_at = now() WHERE id = message AND acknowledged_at IS NULL;
  END IF;
  IF gone IS NOT NULL THEN
    UPDATE agents SET endpoint_disabled_at = now() WHERE id = agent AND endpoint_url = gone;
  END IF;
  RETURN true;
END $$;
