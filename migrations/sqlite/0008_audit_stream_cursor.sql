-- How far the audit stream has got, per destination (sha256 of its URL): the last entry its receiver acknowledged with a 2xx.
-- A table of its own, so audit_log stays append-only; only the stream's shipper writes it.
CREATE TABLE `audit_stream_cursor` (
	`destination` text PRIMARY KEY NOT NULL,
	`last_id` integer NOT NULL,
	`last_hash` text NOT NULL,
	`updated_at` integer NOT NULL
);
