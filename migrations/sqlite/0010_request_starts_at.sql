-- When a scheduled window starts: the request waits in `scheduled` until then, and its grant ends at starts_at + duration_ms.
ALTER TABLE `requests` ADD `starts_at` integer;
