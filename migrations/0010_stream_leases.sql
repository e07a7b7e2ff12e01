CREATE TABLE "stream_leases" (
	"id" text PRIMARY KEY NOT NULL,
	"holder" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "stream_leases_holder_idx" ON "stream_leases" USING btree ("holder","expires_at");