-- When a request last became approved, and an index on it, so the reconciler finds the recent approved requests a
-- stop left without a grant without reading the whole history.
ALTER TABLE `requests` ADD `approved_at` integer;--> statement-breakpoint
CREATE INDEX `requests_approved_idx` ON `requests` (`state`,`approved_at`);