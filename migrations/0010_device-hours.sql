CREATE TABLE `device_hours` (
	`device_id` text NOT NULL,
	`hour` integer NOT NULL,
	`bytes_out` integer NOT NULL,
	`bytes_in` integer NOT NULL,
	`sessions` integer NOT NULL,
	PRIMARY KEY(`device_id`, `hour`)
) WITHOUT ROWID;
--> statement-breakpoint
-- By hand: the hours of the sessions already stored.
INSERT INTO `device_hours` (`device_id`, `hour`, `bytes_out`, `bytes_in`, `sessions`) SELECT `device_id`, (`start` / 3600000) * 3600000, sum(coalesce(`src_bytes`, 0)), sum(coalesce(`dst_bytes`, 0)), count(*) FROM `flow_sessions` WHERE `device_id` IS NOT NULL GROUP BY 1, 2;
