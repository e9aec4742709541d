-- Who a grant gave access to at its provider (resolved once, at grant time) and the key of that access, so overlapping grants are counted.
ALTER TABLE `grants` ADD `identity` text;--> statement-breakpoint
ALTER TABLE `grants` ADD `access_key` text;--> statement-breakpoint
CREATE INDEX `grants_access_key_idx` ON `grants` (`access_key`,`state`);
