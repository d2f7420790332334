-- WITHOUT ROWID on rollups_hourly by hand (drizzle cannot express it): written per ingest batch, see schema.ts.
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
	`day` integer PRIMARY KEY NOT NULL,
	`worker_requests` integer DEFAULT 0 NOT NULL,
	`d1_rows_read` integer DEFAULT 0 NOT NULL,
	`d1_rows_written` integer DEFAULT 0 NOT NULL,
	`d1_queries` integer DEFAULT 0 NOT NULL,
	`d1_bytes` integer DEFAULT 0 NOT NULL,
	`do_requests` integer DEFAULT 0 NOT NULL,
	`r2_class_a` integer DEFAULT 0 NOT NULL,
	`r2_class_b` integer DEFAULT 0 NOT NULL,
	`notifications` integer DEFAULT 0 NOT NULL
);
