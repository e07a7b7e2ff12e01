CREATE TYPE "public"."agent_status" AS ENUM('active', 'deactivated');--> statement-breakpoint
CREATE TYPE "public"."api_key_kind" AS ENUM('organization', 'agent');--> statement-breakpoint
CREATE TYPE "public"."delivery_status" AS ENUM('queued', 'delivered', 'failed', 'dead');--> statement-breakpoint
CREATE TYPE "public"."delivery_type" AS ENUM('message', 'sync_request', 'meeting_turn', 'meeting_event');--> statement-breakpoint
CREATE TYPE "public"."meeting_status" AS ENUM('created', 'ready', 'active', 'ended');--> statement-breakpoint
CREATE TYPE "public"."message_kind" AS ENUM('user', 'system', 'timeout', 'ending');--> statement-breakpoint
CREATE TYPE "public"."participant_status" AS ENUM('invited', 'attending', 'speaking', 'left');--> statement-breakpoint
CREATE TYPE "public"."session_status" AS ENUM('active', 'waiting', 'ended');--> statement-breakpoint
CREATE TABLE "agents" (
	"id" text PRIMARY KEY NOT NULL,
	"organization_id" text NOT NULL,
	"external_id" text,
	"name" text NOT NULL,
	"description" text,
	"endpoint_url" text,
	"endpoint_disabled_at" timestamp with time zone,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"signing_secret_encrypted" text NOT NULL,
	"status" "agent_status" DEFAULT 'active' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deactivated_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "api_keys" (
	"id" text PRIMARY KEY NOT NULL,
	"organization_id" text NOT NULL,
	"agent_id" text,
	"kind" "api_key_kind" NOT NULL,
	"prefix" text NOT NULL,
	"hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone,
	CONSTRAINT "api_keys_agent_kind" CHECK (("api_keys"."kind" = 'agent') = ("api_keys"."agent_id" IS NOT NULL))
);
--> statement-breakpoint
CREATE TABLE "deliveries" (
	"id" text PRIMARY KEY NOT NULL,
	"organization_id" text NOT NULL,
	"agent_id" text NOT NULL,
	"type" "delivery_type" NOT NULL,
	"message_id" text,
	"meeting_id" text,
	"event_seq" integer,
	"turn_number" integer,
	"status" "delivery_status" DEFAULT 'queued' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"attempt_limit" integer NOT NULL,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"delivered_at" timestamp with time zone,
	CONSTRAINT "deliveries_subject" CHECK ("deliveries"."message_id" IS NOT NULL OR "deliveries"."meeting_id" IS NOT NULL),
	CONSTRAINT "deliveries_attempts_nonneg" CHECK ("deliveries"."attempts" >= 0)
);
--> statement-breakpoint
CREATE TABLE "delivery_attempts" (
	"delivery_id" text NOT NULL,
	"attempt" integer NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"duration_ms" integer NOT NULL,
	"response_status" integer,
	"error" text,
	CONSTRAINT "delivery_attempts_delivery_id_attempt_pk" PRIMARY KEY("delivery_id","attempt")
);
--> statement-breakpoint
CREATE TABLE "idempotency_keys" (
	"principal_id" text NOT NULL,
	"key" text NOT NULL,
	"request_hash" text NOT NULL,
	"response_status" integer,
	"response_body" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "idempotency_keys_principal_id_key_pk" PRIMARY KEY("principal_id","key")
);
--> statement-breakpoint
CREATE TABLE "meeting_events" (
	"meeting_id" text NOT NULL,
	"seq" integer NOT NULL,
	"type" text NOT NULL,
	"data" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "meeting_events_meeting_id_seq_pk" PRIMARY KEY("meeting_id","seq"),
	CONSTRAINT "meeting_events_seq_positive" CHECK ("meeting_events"."seq" > 0)
);
--> statement-breakpoint
CREATE TABLE "meeting_participants" (
	"meeting_id" text NOT NULL,
	"agent_id" text NOT NULL,
	"status" "participant_status" DEFAULT 'invited' NOT NULL,
	"join_order" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"joined_at" timestamp with time zone,
	"left_at" timestamp with time zone,
	CONSTRAINT "meeting_participants_meeting_id_agent_id_pk" PRIMARY KEY("meeting_id","agent_id"),
	CONSTRAINT "meeting_participants_joined_has_order" CHECK (("meeting_participants"."status" = 'invited') = ("meeting_participants"."join_order" IS NULL))
);
--> statement-breakpoint
CREATE TABLE "meetings" (
	"id" text PRIMARY KEY NOT NULL,
	"organization_id" text NOT NULL,
	"host_id" text NOT NULL,
	"title" text NOT NULL,
	"status" "meeting_status" DEFAULT 'created' NOT NULL,
	"turn_duration_ms" integer NOT NULL,
	"max_turns" integer,
	"auto_run" boolean DEFAULT false NOT NULL,
	"turn_number" integer DEFAULT 0 NOT NULL,
	"current_speaker_id" text,
	"turn_ends_at" timestamp with time zone,
	"last_seq" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"ended_at" timestamp with time zone,
	CONSTRAINT "meetings_turn_duration_positive" CHECK ("meetings"."turn_duration_ms" > 0),
	CONSTRAINT "meetings_max_turns_positive" CHECK ("meetings"."max_turns" IS NULL OR "meetings"."max_turns" > 0),
	CONSTRAINT "meetings_active_has_turn" CHECK (("meetings"."status" = 'active') = ("meetings"."turn_ends_at" IS NOT NULL AND "meetings"."current_speaker_id" IS NOT NULL))
);
--> statement-breakpoint
CREATE TABLE "messages" (
	"id" text PRIMARY KEY NOT NULL,
	"organization_id" text NOT NULL,
	"kind" "message_kind" DEFAULT 'user' NOT NULL,
	"sender_id" text,
	"recipient_id" text,
	"session_id" text,
	"meeting_id" text,
	"in_reply_to_id" text,
	"content" jsonb NOT NULL,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"acknowledged_at" timestamp with time zone,
	CONSTRAINT "messages_one_destination" CHECK (("messages"."recipient_id" IS NULL) <> ("messages"."meeting_id" IS NULL)),
	CONSTRAINT "messages_user_has_sender" CHECK ("messages"."kind" <> 'user' OR "messages"."sender_id" IS NOT NULL)
);
--> statement-breakpoint
CREATE TABLE "organizations" (
	"id" text PRIMARY KEY NOT NULL,
	"external_id" text,
	"name" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sessions" (
	"id" text PRIMARY KEY NOT NULL,
	"organization_id" text NOT NULL,
	"agent_a" text NOT NULL,
	"agent_b" text NOT NULL,
	"status" "session_status" DEFAULT 'active' NOT NULL,
	"pending_request_id" text,
	"wait_deadline" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"ended_at" timestamp with time zone,
	"ended_by" text,
	CONSTRAINT "sessions_ordered_pair" CHECK ("sessions"."agent_a" < "sessions"."agent_b"),
	CONSTRAINT "sessions_waiting_has_request" CHECK (("sessions"."status" = 'waiting') = ("sessions"."pending_request_id" IS NOT NULL))
);
--> statement-breakpoint
ALTER TABLE "agents" ADD CONSTRAINT "agents_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_agent_id_agents_id_fk" FOREIGN KEY ("agent_id") REFERENCES "public"."agents"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deliveries" ADD CONSTRAINT "deliveries_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deliveries" ADD CONSTRAINT "deliveries_agent_id_agents_id_fk" FOREIGN KEY ("agent_id") REFERENCES "public"."agents"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deliveries" ADD CONSTRAINT "deliveries_message_id_messages_id_fk" FOREIGN KEY ("message_id") REFERENCES "public"."messages"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deliveries" ADD CONSTRAINT "deliveries_meeting_id_meetings_id_fk" FOREIGN KEY ("meeting_id") REFERENCES "public"."meetings"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "delivery_attempts" ADD CONSTRAINT "delivery_attempts_delivery_id_deliveries_id_fk" FOREIGN KEY ("delivery_id") REFERENCES "public"."deliveries"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "meeting_events" ADD CONSTRAINT "meeting_events_meeting_id_meetings_id_fk" FOREIGN KEY ("meeting_id") REFERENCES "public"."meetings"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "meeting_participants" ADD CONSTRAINT "meeting_participants_meeting_id_meetings_id_fk" FOREIGN KEY ("meeting_id") REFERENCES "public"."meetings"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "meeting_participants" ADD CONSTRAINT "meeting_participants_agent_id_agents_id_fk" FOREIGN KEY ("agent_id") REFERENCES "public"."agents"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "meetings" ADD CONSTRAINT "meetings_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "meetings" ADD CONSTRAINT "meetings_host_id_agents_id_fk" FOREIGN KEY ("host_id") REFERENCES "public"."agents"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "meetings" ADD CONSTRAINT "meetings_current_speaker_id_agents_id_fk" FOREIGN KEY ("current_speaker_id") REFERENCES "public"."agents"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "messages" ADD CONSTRAINT "messages_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "messages" ADD CONSTRAINT "messages_sender_id_agents_id_fk" FOREIGN KEY ("sender_id") REFERENCES "public"."agents"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "messages" ADD CONSTRAINT "messages_recipient_id_agents_id_fk" FOREIGN KEY ("recipient_id") REFERENCES "public"."agents"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "messages" ADD CONSTRAINT "messages_session_id_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."sessions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "messages" ADD CONSTRAINT "messages_meeting_id_meetings_id_fk" FOREIGN KEY ("meeting_id") REFERENCES "public"."meetings"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "messages" ADD CONSTRAINT "messages_in_reply_to_fk" FOREIGN KEY ("in_reply_to_id") REFERENCES "public"."messages"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_organization_id_organizations_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_agent_a_agents_id_fk" FOREIGN KEY ("agent_a") REFERENCES "public"."agents"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_agent_b_agents_id_fk" FOREIGN KEY ("agent_b") REFERENCES "public"."agents"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_ended_by_agents_id_fk" FOREIGN KEY ("ended_by") REFERENCES "public"."agents"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "agents_org_external_id_key" ON "agents" USING btree ("organization_id","external_id");--> statement-breakpoint
CREATE INDEX "agents_org_id_idx" ON "agents" USING btree ("organization_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "api_keys_hash_key" ON "api_keys" USING btree ("hash");--> statement-breakpoint
CREATE INDEX "deliveries_due_idx" ON "deliveries" USING btree ("next_attempt_at") WHERE "deliveries"."status" IN ('queued', 'failed');--> statement-breakpoint
CREATE INDEX "deliveries_message_idx" ON "deliveries" USING btree ("message_id");--> statement-breakpoint
CREATE INDEX "idempotency_keys_created_idx" ON "idempotency_keys" USING btree ("created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "meeting_participants_join_order_key" ON "meeting_participants" USING btree ("meeting_id","join_order");--> statement-breakpoint
CREATE INDEX "meeting_participants_agent_idx" ON "meeting_participants" USING btree ("agent_id");--> statement-breakpoint
CREATE INDEX "meetings_overdue_idx" ON "meetings" USING btree ("turn_ends_at") WHERE "meetings"."status" = 'active';--> statement-breakpoint
CREATE INDEX "meetings_org_idx" ON "meetings" USING btree ("organization_id","id");--> statement-breakpoint
CREATE INDEX "messages_inbox_idx" ON "messages" USING btree ("recipient_id","id") WHERE "messages"."acknowledged_at" IS NULL AND "messages"."recipient_id" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "messages_session_idx" ON "messages" USING btree ("session_id","id");--> statement-breakpoint
CREATE INDEX "messages_meeting_idx" ON "messages" USING btree ("meeting_id","id");--> statement-breakpoint
CREATE INDEX "messages_pair_idx" ON "messages" USING btree ("sender_id","recipient_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "messages_one_reply_key" ON "messages" USING btree ("in_reply_to_id");--> statement-breakpoint
CREATE UNIQUE INDEX "organizations_external_id_key" ON "organizations" USING btree ("external_id");--> statement-breakpoint
CREATE UNIQUE INDEX "sessions_open_pair_key" ON "sessions" USING btree ("agent_a","agent_b") WHERE "sessions"."status" <> 'ended';--> statement-breakpoint
CREATE INDEX "sessions_wait_deadline_idx" ON "sessions" USING btree ("wait_deadline") WHERE "sessions"."status" = 'waiting';