CREATE TABLE `approvals` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`request_id` integer NOT NULL,
	`step` integer NOT NULL,
	`approver` text NOT NULL,
	`at` integer NOT NULL,
	FOREIGN KEY (`request_id`) REFERENCES `requests`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `approvals_once_idx` ON `approvals` (`request_id`,`step`,`approver`);--> statement-breakpoint
CREATE TABLE `audit_log` (
	`id` integer PRIMARY KEY NOT NULL,
	`at` text NOT NULL,
	`actor` text NOT NULL,
	`action` text NOT NULL,
	`request_id` text,
	`grant_id` text,
	`details` text DEFAULT '{}' NOT NULL,
	`policy_sha256` text NOT NULL,
	`prev_hash` text NOT NULL,
	`hash` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `audit_at_idx` ON `audit_log` (`at`);--> statement-breakpoint
CREATE INDEX `audit_action_idx` ON `audit_log` (`action`,`at`);--> statement-breakpoint
CREATE TABLE `grants` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`request_id` integer NOT NULL,
	`user` text NOT NULL,
	`resource` text NOT NULL,
	`role` text NOT NULL,
	`provider` text NOT NULL,
	`reason` text NOT NULL,
	`breakglass` integer DEFAULT false NOT NULL,
	`state` text NOT NULL,
	`created_at` integer NOT NULL,
	`starts_at` integer,
	`expires_at` integer,
	`ended_at` integer,
	`ended_by` text,
	`revoke_attempts` integer DEFAULT 0 NOT NULL,
	`reviewed_by` text,
	`reviewed_at` integer,
	FOREIGN KEY (`request_id`) REFERENCES `requests`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `grants_request_idx` ON `grants` (`request_id`);--> statement-breakpoint
CREATE INDEX `grants_state_idx` ON `grants` (`state`,`expires_at`);--> statement-breakpoint
CREATE INDEX `grants_user_idx` ON `grants` (`user`,`state`);--> statement-breakpoint
CREATE TABLE `requests` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`requester` text NOT NULL,
	`resource` text NOT NULL,
	`role` text NOT NULL,
	`tier` text NOT NULL,
	`duration_ms` integer NOT NULL,
	`reason` text NOT NULL,
	`tickets` text NOT NULL,
	`breakglass` integer DEFAULT false NOT NULL,
	`state` text NOT NULL,
	`steps` text NOT NULL,
	`current_step` integer DEFAULT 0 NOT NULL,
	`self_approval` integer DEFAULT false NOT NULL,
	`extends_grant_id` integer,
	`channel_id` text,
	`rule` text NOT NULL,
	`created_at` integer NOT NULL,
	`timeout_at` integer,
	`decided_at` integer,
	`decided_by` text,
	`decision_note` text
);
--> statement-breakpoint
CREATE INDEX `requests_state_idx` ON `requests` (`state`,`timeout_at`);--> statement-breakpoint
CREATE INDEX `requests_requester_idx` ON `requests` (`requester`,`state`);