CREATE TABLE `retention_sweeps` (
	`tbl` text NOT NULL,
	`keep_ms` integer NOT NULL,
	`cursor` text NOT NULL,
	`late_from` text,
	`late_to` text,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`tbl`, `keep_ms`)
);
--> statement-breakpoint
-- By hand: the events sweep's old cursors (keep_ms >= 0; -1 is rollup compaction's watermark) now live in retention_sweeps.
DELETE FROM `retention_cursors` WHERE `keep_ms` >= 0;
