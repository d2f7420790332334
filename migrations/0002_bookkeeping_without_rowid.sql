-- batches, counters and relays are written on every ingest batch: WITHOUT ROWID so an insert is billed
-- as 1 written row, not 2 (a rowid table with a TEXT primary key keeps a hidden unique index).
-- Written by hand (drizzle cannot express WITHOUT ROWID); see workers/store/schema.ts.
CREATE TABLE `batches_new` (
	`key` text PRIMARY KEY NOT NULL,
	`received_at` integer NOT NULL,
	`response` text NOT NULL
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `batches_new` SELECT `key`, `received_at`, `response` FROM `batches`;
--> statement-breakpoint
DROP TABLE `batches`;
--> statement-breakpoint
ALTER TABLE `batches_new` RENAME TO `batches`;
--> statement-breakpoint
CREATE TABLE `counters_new` (
	`name` text PRIMARY KEY NOT NULL,
	`value` integer DEFAULT 0 NOT NULL
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `counters_new` SELECT `name`, `value` FROM `counters`;
--> statement-breakpoint
DROP TABLE `counters`;
--> statement-breakpoint
ALTER TABLE `counters_new` RENAME TO `counters`;
--> statement-breakpoint
CREATE TABLE `relays_new` (
	`name` text PRIMARY KEY NOT NULL,
	`last_seen_at` integer NOT NULL,
	`last_ip` text,
	`batches` integer DEFAULT 0 NOT NULL,
	`lines` integer DEFAULT 0 NOT NULL,
	`bytes` integer DEFAULT 0 NOT NULL
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `relays_new` SELECT `name`, `last_seen_at`, `last_ip`, `batches`, `lines`, `bytes` FROM `relays`;
--> statement-breakpoint
DROP TABLE `relays`;
--> statement-breakpoint
ALTER TABLE `relays_new` RENAME TO `relays`;
