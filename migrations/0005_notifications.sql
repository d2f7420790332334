CREATE TABLE `notify_action_uses` (
	`nonce` text PRIMARY KEY NOT NULL,
	`alert_id` text NOT NULL,
	`used_at` integer NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `notify_blackouts` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`definition` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `notify_channels` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`type` text NOT NULL,
	`enabled` integer DEFAULT true NOT NULL,
	`config` text NOT NULL,
	`secrets` text,
	`filter` text NOT NULL,
	`repeat_ms` integer,
	`on_close` integer DEFAULT false NOT NULL,
	`blackout_digest` integer DEFAULT true NOT NULL,
	`daily_digest` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `notify_push_subscriptions` (
	`id` text PRIMARY KEY NOT NULL,
	`channel_id` text NOT NULL,
	`endpoint_hash` text NOT NULL,
	`subscription` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `notify_push_channel` ON `notify_push_subscriptions` (`channel_id`);--> statement-breakpoint
CREATE INDEX `notify_push_endpoint` ON `notify_push_subscriptions` (`endpoint_hash`);