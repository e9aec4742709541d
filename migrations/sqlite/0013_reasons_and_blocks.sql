-- The policy group whose membership auto-approved a request, so its grant ends when the person leaves that group.
ALTER TABLE `requests` ADD `auto_group` text;--> statement-breakpoint
-- People an admin blocked (`/access revoke-all`): every request of theirs is refused until `/access unblock`.
CREATE TABLE `blocked_users` (
	`user` text PRIMARY KEY NOT NULL,
	`blocked_by` text NOT NULL,
	`reason` text NOT NULL,
	`blocked_at` integer NOT NULL
);--> statement-breakpoint
-- Break-glass grants are found by the channel their request came from when that channel is archived.
CREATE INDEX `requests_channel_idx` ON `requests` (`channel_id`) WHERE `breakglass` = 1;
