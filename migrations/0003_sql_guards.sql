-- Guards for statements and batches that decide inside the database (one round trip, no
-- interactive transaction): a refusal raises, which rolls back the whole statement or batch.
-- `am_fail` raises a domain problem: MESSAGE is its stable code, DETAIL its text, and the HINT
-- marks it as ours, so the service turns it back into the same problem+json.
CREATE FUNCTION am_fail(code text, detail text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = code, DETAIL = detail, HINT = 'agent-messaging';
END $$;
--> statement-breakpoint
-- True when the key with this hash is live (not revoked, and its agent, if any, active); raises
-- `unauthorized` otherwise. Folded into an operation's own statement, it makes authentication
-- cost no round trip of its own.
CREATE FUNCTION am_authorized(key_hash text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (
    SELECT 1 FROM api_keys k LEFT JOIN agents a ON a.id = k.agent_id
    WHERE k.hash = key_hash AND k.revoked_at IS NULL AND (k.agent_id IS NULL OR a.status = 'active')
  ) THEN
    PERFORM am_fail('unauthorized', 'Unknown or revoked token.');
  END IF;
  RETURN true;
END $$;
