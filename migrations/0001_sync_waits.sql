ALTER TABLE "sessions" DROP CONSTRAINT "sessions_waiting_has_request";--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "reply_deadline" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "waiter_id" text;--> statement-breakpoint
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_waiter_id_agents_id_fk" FOREIGN KEY ("waiter_id") REFERENCES "public"."agents"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "sessions_one_wait_per_agent_key" ON "sessions" USING btree ("waiter_id") WHERE "sessions"."status" = 'waiting';--> statement-breakpoint
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_waiting_has_request" CHECK (("sessions"."status" = 'waiting') = ("sessions"."pending_request_id" IS NOT NULL AND "sessions"."waiter_id" IS NOT NULL AND "sessions"."wait_deadline" IS NOT NULL));