-- WITHOUT ROWID on rollups_hourly and usage_daily by hand (drizzle cannot express it): written per batch/request, see schema.ts.
CREATE TABLE `retention` (
	`dataset` text PRIMARY KEY NOT NULL,
	`keep_ms` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `retention_cursors` (
	`keep_ms` integer PRIMARY KEY NOT NULL,
	`cursor` text NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `rollups_hourly` (
	`hour` integer NOT NULL,
	`part` text NOT NULL,
	`counts` text NOT NULL,
	PRIMARY KEY(`hour`, `part`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE TABLE `usage_daily` (
	`day` integer NOT NULL,
	`metric` text NOT NULL,
	`value` integer NOT NULL,
	PRIMARY KEY(`day`, `metric`)
) WITHOUT ROWID;
