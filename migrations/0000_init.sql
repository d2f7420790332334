-- events is WITHOUT ROWID (edited by hand: drizzle cannot express it). See workers/store/schema.ts.
CREATE TABLE `alert_history` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`alert_id` text NOT NULL,
	`at` integer NOT NULL,
	`who` text NOT NULL,
	`action` text NOT NULL,
	`status` text,
	`severity` text,
	`note` text
);
--> statement-breakpoint
CREATE INDEX `alert_history_alert` ON `alert_history` (`alert_id`,`at`);--> statement-breakpoint
CREATE TABLE `alerts` (
	`id` text PRIMARY KEY NOT NULL,
	`rule_id` text NOT NULL,
	`resource` text NOT NULL,
	`group_key` text NOT NULL,
	`dedup_key` text NOT NULL,
	`severity` text NOT NULL,
	`previous_severity` text,
	`status` text NOT NULL,
	`title` text NOT NULL,
	`text` text NOT NULL,
	`duplicate_count` integer DEFAULT 0 NOT NULL,
	`count` integer DEFAULT 1 NOT NULL,
	`event_ids` text NOT NULL,
	`magnitude` real DEFAULT 0 NOT NULL,
	`tags` text DEFAULT '[]' NOT NULL,
	`attributes` text DEFAULT '{}' NOT NULL,
	`first_seen` integer NOT NULL,
	`last_seen` integer NOT NULL,
	`shelved_until` integer,
	`expires_at` integer,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `alerts_dedup` ON `alerts` (`dedup_key`,`status`);--> statement-breakpoint
CREATE INDEX `alerts_status_last_seen` ON `alerts` (`status`,`last_seen`);--> statement-breakpoint
CREATE TABLE `batches` (
	`key` text PRIMARY KEY NOT NULL,
	`received_at` integer NOT NULL,
	`response` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `counters` (
	`name` text PRIMARY KEY NOT NULL,
	`value` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE `events` (
	`id` text PRIMARY KEY NOT NULL,
	`ts` integer NOT NULL,
	`received_at` integer NOT NULL,
	`host` text,
	`program` text,
	`dataset` text NOT NULL,
	`src_ip` text,
	`dst_ip` text,
	`src_ip_key` text,
	`dst_ip_key` text,
	`src_port` integer,
	`dst_port` integer,
	`protocol` text,
	`user` text,
	`action` text,
	`outcome` text,
	`severity` integer,
	`message` text,
	`raw` text NOT NULL,
	`doc` text NOT NULL
) WITHOUT ROWID;
--> statement-breakpoint
CREATE TABLE `extractors` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`pattern` text NOT NULL,
	`program` text,
	`host` text,
	`enabled` integer DEFAULT true NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `heartbeats` (
	`name` text NOT NULL,
	`source` text NOT NULL,
	`timeout_ms` integer NOT NULL,
	`last_beat` integer,
	`deadline` integer,
	`state` text NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`source`, `name`)
);
--> statement-breakpoint
CREATE TABLE `login_attempts` (
	`ip` text PRIMARY KEY NOT NULL,
	`window_start` integer NOT NULL,
	`count` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `relays` (
	`name` text PRIMARY KEY NOT NULL,
	`last_seen_at` integer NOT NULL,
	`last_ip` text,
	`batches` integer DEFAULT 0 NOT NULL,
	`lines` integer DEFAULT 0 NOT NULL,
	`bytes` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE `rules` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`type` text NOT NULL,
	`enabled` integer DEFAULT true NOT NULL,
	`definition` text NOT NULL,
	`version` integer DEFAULT 1 NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `sessions` (
	`id_hash` text PRIMARY KEY NOT NULL,
	`principal` text NOT NULL,
	`scopes` text NOT NULL,
	`csrf` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `sources` (
	`key` text PRIMARY KEY NOT NULL,
	`timezone` text NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `tokens` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`scopes` text NOT NULL,
	`hash` text NOT NULL,
	`created_at` integer NOT NULL,
	`last_used_at` integer
);
