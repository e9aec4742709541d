-- Post-access review of ordinary grants: who reviews a grant once it ends (a group, or team_lead with the leads it went to), the verdict, and where its card is.
ALTER TABLE `grants` ADD `review_from` text;--> statement-breakpoint
ALTER TABLE `grants` ADD `review_leads` text;--> statement-breakpoint
ALTER TABLE `grants` ADD `review_verdict` text;--> statement-breakpoint
ALTER TABLE `grants` ADD `review_note` text;--> statement-breakpoint
ALTER TABLE `grants` ADD `review_card_channel` text;--> statement-breakpoint
ALTER TABLE `grants` ADD `review_card_ts` text;--> statement-breakpoint
CREATE INDEX `grants_post_review_idx` ON `grants` (`id`) WHERE `review_from` IS NOT NULL AND `reviewed_by` IS NULL;
