-- When a request last became approved, and an index on it, so the reconciler finds the recent approved requests a
-- stop left without a grant without reading the whole history.
ALTER TABLE `requests` ADD `approved_at` integer;--> statement-breakpoint
CREATE INDEX `requests_approved_idx` ON `requests` (`state`,`approved_at`);--> statement-breakpoint
-- Requests approved before this migration: approved at their decision, or a window at its start when that came later.
UPDATE requests SET approved_at = CASE WHEN starts_at IS NULL OR decided_at > starts_at THEN decided_at ELSE starts_at END WHERE state = 'approved' AND decided_at IS NOT NULL;
