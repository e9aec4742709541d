-- Bundles: a request may name several resource/role pairs (stored with it), each granted as its own grant of that request.
ALTER TABLE `requests` ADD `bundle_members` text;--> statement-breakpoint
DROP INDEX `grants_request_idx`;--> statement-breakpoint
CREATE UNIQUE INDEX `grants_request_idx` ON `grants` (`request_id`,`resource`,`role`);
