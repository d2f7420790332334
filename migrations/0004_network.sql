-- Network visibility (issue 12). flow_sessions and devices are WITHOUT ROWID by hand (drizzle cannot express it):
-- with a TEXT primary key a rowid table keeps a hidden unique index that D1 bills as a second written row.
CREATE TABLE `devices` (
	`id` text PRIMARY KEY NOT NULL,
	`router` text NOT NULL,
	`mac` text,
	`macs` text DEFAULT '[]' NOT NULL,
	`ips` text DEFAULT '[]' NOT NULL,
	`hostname` text,
	`client_id` text,
	`vendor` text,
	`randomized` integer DEFAULT false NOT NULL,
	`name` text,
	`tags` text DEFAULT '[]' NOT NULL,
	`first_seen` integer NOT NULL,
	`last_seen` integer NOT NULL,
	`left` integer DEFAULT false NOT NULL,
	`learned` integer DEFAULT false NOT NULL
) WITHOUT ROWID;
--> statement-breakpoint
CREATE TABLE `flow_sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`start` integer NOT NULL,
	`end` integer NOT NULL,
	`router` text NOT NULL,
	`zone` integer DEFAULT 0 NOT NULL,
	`transport` text NOT NULL,
	`src_ip` text NOT NULL,
	`dst_ip` text NOT NULL,
	`src_ip_key` text NOT NULL,
	`dst_ip_key` text NOT NULL,
	`src_port` integer,
	`dst_port` integer,
	`src_bytes` integer,
	`src_packets` integer,
	`dst_bytes` integer,
	`dst_packets` integer,
	`device_id` text,
	`src_country` text,
	`src_asn` integer,
	`src_org` text,
	`dst_country` text,
	`dst_asn` integer,
	`dst_org` text,
	`dst_domain` text,
	`end_reason` text NOT NULL
) WITHOUT ROWID;
--> statement-breakpoint
CREATE TABLE `network_settings` (
	`key` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL,
	`updated_at` integer NOT NULL
);
