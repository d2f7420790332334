CREATE TABLE `alert_firings` (
	`firing_id` text PRIMARY KEY NOT NULL,
	`alert_id` text NOT NULL,
	`at` integer NOT NULL
);
