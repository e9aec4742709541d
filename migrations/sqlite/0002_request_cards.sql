ALTER TABLE `requests` ADD `card_channel` text;--> statement-breakpoint
ALTER TABLE `requests` ADD `card_ts` text;