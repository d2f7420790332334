CREATE TABLE `search_hours` (
	`hour` integer NOT NULL,
	`part` text NOT NULL,
	`sparse` text,
	`dense` blob,
	`gen` integer,
	PRIMARY KEY(`hour`, `part`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE TABLE `search_meta` (
	`key` text PRIMARY KEY NOT NULL,
	`value` integer NOT NULL
);
--> statement-breakpoint
-- By hand: events stored before this migration have no summary, so hours before the next full hour are
-- never skipped (workers/store/summaries.ts). A database without events is complete from the start.
INSERT INTO `search_meta` (`key`, `value`) SELECT 'complete_from', CASE WHEN EXISTS (SELECT 1 FROM `events`) THEN (CAST(strftime('%s', 'now') AS INTEGER) / 3600 + 1) * 3600000 ELSE 0 END;
