-- When a request last became approved, and an index on it, so the reconciler finds the recent approved requests a
-- stop left without a grant without reading the whole history.
ALTER TABLE "requests" ADD COLUMN "approved_at" bigint;--> statement-breakpoint
CREATE INDEX "requests_approved_idx" ON "requests" USING btree ("state","approved_at");