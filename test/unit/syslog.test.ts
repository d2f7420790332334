/** Unit tests of the syslog format stage: each supported variant, with the fields a user would see. */
import { describe, expect, it } from "vitest";
import { parseSyslog } from "../../workers/parse/syslog.ts";

const RECV = Date.UTC(2024, 10, 22, 12, 0, 0); // 2024-11-22T12:00:00Z
const utc = { receivedAt: RECV, timezone: () => "UTC" };

describe("parseSyslog: RFC 3164", () => {
  it("parses PRI, timestamp, hostname, tag and message", () => {
    const m = parseSyslog("<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8", utc);
    expect(m).toMatchObject({
      format: "rfc3164", pri: 34, facility: 4, severity: 2, hostname: "mymachine", appName: "su",
      msg: "'su root' failed for lonvick on /dev/pts/8", timestamp: Date.UTC(2024, 9, 11, 22, 14, 15),
    });
  });
});
