CREATE TABLE `device_hours` (
	`device_id` text NOT NULL,
	`hour` integer NOT NULL,
	`bytes_out` integer NOT NULL,
	`bytes_in` integer NOT NULL,
	`sessions` integer NOT NULL,
	PRIMARY KEY(`device_id`, `hour`)
) WITHOUT ROWID;
