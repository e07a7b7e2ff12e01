-- Full-text search over messages: a stored tsvector of the text of `content` (every string in
-- it, in document order), English stemming, behind a GIN index. The column is deliberately not
-- in the drizzle model (packages/core/src/schema.ts), so reads of messages never carry it.
CREATE FUNCTION am_content_text(content jsonb) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(string_agg(value #>> '{}', ' '), '')
  FROM jsonb_path_query(content, 'strict $.**') AS value
  WHERE jsonb_typeof(value) = 'string'
$$;
--> statement-breakpoint
ALTER TABLE messages ADD COLUMN search tsvector
  GENERATED ALWAYS AS (to_tsvector('english'::regconfig, am_content_text(content))) STORED;
--> statement-breakpoint
CREATE INDEX messages_search_idx ON messages USING gin (search);
