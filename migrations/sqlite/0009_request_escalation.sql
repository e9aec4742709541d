-- When a request's current step escalates (null when it never does or already has), and which step has escalated.
ALTER TABLE `requests` ADD `escalate_at` integer;--> statement-breakpoint
ALTER TABLE `requests` ADD `escalated_step` integer;--> statement-breakpoint
CREATE INDEX `requests_escalate_idx` ON `requests` (`escalate_at`) WHERE `escalate_at` IS NOT NULL;
