ALTER TABLE `grants` ADD `cleanup_pending` text;--> statement-breakpoint
ALTER TABLE `grants` ADD `dm_channel` text;--> statement-breakpoint
ALTER TABLE `grants` ADD `dm_ts` text;--> statement-breakpoint
CREATE INDEX `grants_cleanup_idx` ON `grants` (`id`) WHERE `cleanup_pending` IS NOT NULL;
