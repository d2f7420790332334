CREATE TABLE `ip_list_chunks` (
	`name` text NOT NULL,
	`seq` integer NOT NULL,
	`entries` text NOT NULL,
	PRIMARY KEY(`name`, `seq`)
);
--> statement-breakpoint
CREATE TABLE `ip_lists` (
	`name` text PRIMARY KEY NOT NULL,
	`count` integer NOT NULL,
	`updated_at` integer NOT NULL
);
