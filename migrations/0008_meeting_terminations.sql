ALTER TABLE "meetings" ADD COLUMN "max_duration_ms" integer;--> statement-breakpoint
ALTER TABLE "meetings" ADD COLUMN "end_reason" text;--> statement-breakpoint
ALTER TABLE "meetings" ADD CONSTRAINT "meetings_max_duration_positive" CHECK ("meetings"."max_duration_ms" IS NULL OR "meetings"."max_duration_ms" > 0);--> statement-breakpoint
-- Meetings that ended before this migration: the reason their meeting_ended event recorded.
UPDATE "meetings" SET "end_reason" = coalesce(
  (SELECT e."data"->>'reason' FROM "meeting_events" e WHERE e."meeting_id" = "meetings"."id" AND e."type" = 'meeting_ended' LIMIT 1),
  'host')
WHERE "status" = 'ended';--> statement-breakpoint
ALTER TABLE "meetings" ADD CONSTRAINT "meetings_ended_has_reason" CHECK (("meetings"."status" = 'ended') = ("meetings"."end_reason" IS NOT NULL));