/** Unit tests of the syslog format stage: each supported variant, with the fields a user would see. */
import { describe, expect, it } from "vitest";
import {
  FACILITY_NAMES, SEVERITY_NAMES, facilityCode, facilityName, parseRfc5424Strict, parseSyslog, severityCode, severityName,
} from "../../workers/parse/syslog.ts";

const RECV = Date.UTC(2024, 10, 22, 12, 0, 0); // 2024-11-22T12:00:00Z
const utc = { receivedAt: RECV, timezone: () => "UTC" };
const at = (iso: string) => Date.parse(iso);

describe("RFC 5424", () => {
  it("parses every header field, structured data with escapes, several SD elements and a BOM", () => {
    const line =
      '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 1234 ID47 ' +
      '[exampleSDID@32473 iut="3" eventSource="App\\"l\\\\ic\\]ation"][examplePriority@32473 class="high"] \ufeffAn application event';
    const m = parseSyslog(line, utc);
    expect(m).toEqual({
      format: "rfc5424", pri: 165, facility: 20, severity: 5, version: 1,
      timestamp: at("2003-10-11T22:14:15.003Z"), tzOffset: 0,
      hostname: "mymachine.example.com", appName: "evntslog", procId: "1234", msgId: "ID47",
      structuredData: {
        "exampleSDID@32473": { iut: "3", eventSource: 'App"l\\ic]ation' },
        "examplePriority@32473": { class: "high" },
      },
      msg: "An application event",
    });
  });

  it("treats NILVALUE fields as absent and an absent MSG as empty", () => {
    const m = parseSyslog("<14>1 - - - - - -", utc);
    expect(m).toEqual({ format: "rfc5424", pri: 14, facility: 1, severity: 6, version: 1, msg: "" });
  });

  it("reads what util-linux `logger -n` sends (RFC 5424 with timeQuality SD)", () => {
    const m = parseSyslog('<13>1 2026-11-22T19:39:37.021953+00:00 vm root - - [timeQuality tzKnown="1" isSynced="0"] hello from logger', utc);
    expect(m).toEqual({
      format: "rfc5424", pri: 13, facility: 1, severity: 5, version: 1,
      timestamp: at("2026-11-22T19:39:37.021Z"), timestampMicros: 953, tzOffset: 0,
      hostname: "vm", appName: "root", structuredData: { timeQuality: { tzKnown: "1", isSynced: "0" } },
      msg: "hello from logger",
    });
  });

  it("keeps 6 fraction digits (ms + µs) and applies numeric offsets", () => {
    const m = parseSyslog("<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% Time to make the do-nuts.", utc);
    expect(m.timestamp).toBe(at("2003-08-24T12:14:15.000Z"));
    expect(m.timestampMicros).toBe(3);
    expect(m.tzOffset).toBe(-420);
    expect(m.msg).toBe("%% Time to make the do-nuts.");
    const n = parseSyslog("<165>1 2003-08-24T05:14:15.123456+05:30 h a - - - x", utc);
    expect(n.timestamp).toBe(at("2003-08-23T23:44:15.123Z"));
    expect(n.timestampMicros).toBe(456);
  });

  it("strict mode rejects what RFC 5424 forbids, with a column", () => {
    const bad: Array<[string, RegExp]> = [
      ["<1>1 - - - - - [id a=\"x]\"]", /escaped/],
      ["<1>1 - - - - - [id a=\"\\n\"]", /escaped/],
      ["<165>3 2003-10-11T22:14:15.003Z example.com evnts - ID27 [id1][id1]", /duplicate/],
      ["<192>1 - - - - - -", /priority/],
      ["<01>1 - - - - - -", /priority/],
      ["<1>0 - - - - - -", /version/],
      ["<1>1 2003-09-31T22:14:15Z - - - - -", /day out of range/],
      ["<1>1 2003-09-29T22:14:15.1234567Z - - - - -", /timestamp/],
      ["<1>1 2003-09-29T22:14:15 - - - - -", /timestamp/],
      ["<1>1 - - abcdefghilmnopqrstuvzabcdefghilmnopqrstuvzabcdefX - - -", /app-name/],
      ["<1>1 - - - - - []", /element id/],
    ];
    for (const [line, re] of bad) {
      const r = parseRfc5424Strict(line);
      expect(r.ok, line).toBe(false);
      if (!r.ok) {
        expect(r.error, line).toMatch(re);
        expect(r.error, line).toMatch(/\[col \d+\]$/);
      }
    }
    const ok = parseRfc5424Strict("<29>1 2016-01-15T01:00:43Z hn S - - [meta escape=\"\\]\\\"\\\\\"] x");
    expect(ok.ok && ok.msg.structuredData).toEqual({ meta: { escape: ']"\\' } });
  });

  it("strict mode returns the fields parsed before the error as partial", () => {
    const r = parseRfc5424Strict("<34>1 2003-10-11T22:14:15.003Z host app - - [x a=\"b]");
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.partial).toMatchObject({ pri: 34, hostname: "host", appName: "app" });
  });

  it("compliantMsg rejects a BOM-marked MSG that was not valid UTF-8", () => {
    const decoded = new TextDecoder().decode(Uint8Array.from([...Buffer.from("<1>1 - - - - - - \ufeff"), 0xc3, 0x28]));
    expect(parseRfc5424Strict(decoded).ok).toBe(true);
    expect(parseRfc5424Strict(decoded, { compliantMsg: true }).ok).toBe(false);
  });

  it("ingest (lenient) keeps malformed structured data as the message and reads zone-less stamps in the sender's zone", () => {
    const m = parseSyslog('<13>1 2024-01-15T12:00:00 nas app - - [bad i="x]y"] text', {
      receivedAt: RECV,
      timezone: (h) => (h === "nas" ? "Europe/Berlin" : "UTC"),
    });
    expect(m.format).toBe("rfc5424");
    expect(m.timestamp).toBe(at("2024-01-15T11:00:00Z"));
    expect(m.structuredData).toEqual({ bad: { i: "x]y" } });
    expect(m.msg).toBe("text");
    const long = parseSyslog(`<13>1 - h ${"a".repeat(60)} - - - over-long app-name`, utc);
    expect(long.appName).toBe("a".repeat(60));
    const broken = parseSyslog('<13>1 - h app - - [id a="unterminated] text', utc);
    expect(broken.structuredData).toBeUndefined();
    expect(broken.msg).toBe('[id a="unterminated] text');
  });
});

describe("RFC 3164 and BSD variants", () => {
  it("parses PRI, timestamp, hostname, tag and message", () => {
    const m = parseSyslog("<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8", utc);
    expect(m).toEqual({
      format: "rfc3164", pri: 34, facility: 4, severity: 2, hostname: "mymachine", appName: "su",
      msg: "'su root' failed for lonvick on /dev/pts/8", timestamp: at("2024-10-11T22:14:15Z"),
    });
  });

  it("reads lines without PRI (files) and without hostname (local logger)", () => {
    const noPri = parseSyslog("Nov 22 10:00:01 nas sshd[42]: Accepted publickey for bob", utc);
    expect(noPri).toMatchObject({ format: "rfc3164", hostname: "nas", appName: "sshd", procId: "42", msg: "Accepted publickey for bob" });
    expect(noPri.pri).toBeUndefined();
    const noHost = parseSyslog("<30>Nov 22 10:00:01 dnsmasq[123]: query[A] example.com from 192.168.1.5", utc);
    expect(noHost).toMatchObject({ appName: "dnsmasq", procId: "123", msg: "query[A] example.com from 192.168.1.5" });
    expect(noHost.hostname).toBeUndefined();
    const kernel = parseSyslog("<4>Nov 22 10:00:01 kernel: [ 1234.5] IN=eth0 OUT=", utc);
    expect(kernel).toMatchObject({ appName: "kernel", msg: "[ 1234.5] IN=eth0 OUT=" });
    expect(kernel.hostname).toBeUndefined();
  });

  it("parses TAG forms: prog[pid]:, prog:, slashes, dots, parentheses, prog[pid] without colon", () => {
    const tag = (line: string) => {
      const m = parseSyslog(line, utc);
      return [m.appName, m.procId, m.msg];
    };
    expect(tag("<22>Nov 22 10:00:01 mx postfix/smtpd[991]: connect from x")).toEqual(["postfix/smtpd", "991", "connect from x"]);
    expect(tag("<14>Nov 22 10:00:01 pc org.gnome.Shell.desktop[2211]: hello")).toEqual(["org.gnome.Shell.desktop", "2211", "hello"]);
    expect(tag("<86>Nov 22 10:00:01 h sshd(pam_unix)[77]: session opened")).toEqual(["sshd(pam_unix)", "77", "session opened"]);
    expect(tag("<86>Nov 22 10:00:01 h CRON[77] no colon")).toEqual(["CRON", "77", "no colon"]);
    expect(tag("<86>Nov 22 10:00:01 h sudo:     bob : TTY=pts/0")).toEqual(["sudo", undefined, "    bob : TTY=pts/0"]);
    // No ':' or [pid]: not a TAG, the text stays whole.
    expect(tag("<166>Jul  6 20:33:28 ABC-1-234567 Some message here")).toEqual([undefined, undefined, "Some message here"]);
    expect(tag("<189>Nov 22 10:00:01 fw date=2018-09-13 time=10:12:18 devname=FW")).toEqual([undefined, undefined, "date=2018-09-13 time=10:12:18 devname=FW"]);
  });

  it("reads the hostname of UniFi access points (`name,mac,version:`)", () => {
    const m = parseSyslog("<30>Nov 22 10:00:00 U7PG2,7483c2aabbcc,v4.3.20.11298: hostapd: ath0: STA 11:22:33:44:55:66 IEEE 802.11: associated", utc);
    expect(m).toMatchObject({ hostname: "U7PG2", appName: "hostapd", msg: "ath0: STA 11:22:33:44:55:66 IEEE 802.11: associated" });
  });

  it("reads ISO 8601 timestamps with and without offset", () => {
    const z = parseSyslog("<38>2024-10-26T02:55:20.123456+02:00 nas sshd[123]: Accepted password for bob", utc);
    expect(z).toMatchObject({ format: "iso", hostname: "nas", appName: "sshd", procId: "123", tzOffset: 120 });
    expect(z.timestamp).toBe(at("2024-10-26T00:55:20.123Z"));
    expect(z.timestampMicros).toBe(456);
    const local = parseSyslog("2024-07-01T12:00:00 nas app: x", { receivedAt: RECV, timezone: () => "Europe/Berlin" });
    expect(local).toMatchObject({ format: "iso", hostname: "nas", appName: "app", msg: "x" });
    expect(local.timestamp).toBe(at("2024-07-01T10:00:00Z"));
  });

  it("reads OpenWrt logread lines (weekday, year, facility.severity)", () => {
    const m = parseSyslog("Sat Oct 26 02:55:20 2024 daemon.info hostapd: wlan0: AP-STA-CONNECTED 11:22:33:44:55:66", utc);
    expect(m).toEqual({
      format: "openwrt", pri: 30, facility: 3, severity: 6, timestamp: at("2024-10-26T02:55:20Z"),
      appName: "hostapd", msg: "wlan0: AP-STA-CONNECTED 11:22:33:44:55:66",
    });
    const k = parseSyslog("Sat Oct 26 02:55:21 2024 kern.warn kernel: [ 5.1] DROP(src wan)IN=eth1", utc);
    expect(k).toMatchObject({ format: "openwrt", facility: 0, severity: 4, appName: "kernel", msg: "[ 5.1] DROP(src wan)IN=eth1" });
  });

  it("reads a repeated facility.severity token as it read it the first time (the last token is compared in place)", () => {
    const line = (fs: string, pri = "") => `${pri}Sat Oct 26 02:55:20 2024 ${fs} hostapd: x`;
    expect(parseSyslog(line("daemon.info"), utc)).toMatchObject({ format: "openwrt", pri: 30, facility: 3, severity: 6 });
    // Same prefix, longer token: not the cached one, and "infoo" is no severity.
    expect(parseSyslog(line("daemon.infoo"), utc).format).not.toBe("openwrt");
    // A PRI wins over the token, cached or not.
    expect(parseSyslog(line("daemon.info", "<13>"), utc)).toMatchObject({ format: "openwrt", pri: 13, facility: 1, severity: 5 });
    expect(parseSyslog(line("daemon.info"), utc)).toMatchObject({ format: "openwrt", pri: 30, facility: 3, severity: 6 });
    expect(parseSyslog(line("kern.warn"), utc)).toMatchObject({ format: "openwrt", pri: 4, facility: 0, severity: 4 });
  });

  it("reads sequence-numbered Cisco-style lines", () => {
    const a = parseSyslog("<189>123: *Mar  1 00:03:17.123: %SYS-5-CONFIG_I: Configured from console by vty0", utc);
    expect(a).toMatchObject({ sequence: 123, pri: 189, appName: "%SYS-5-CONFIG_I", msg: "Configured from console by vty0" });
    expect(a.structuredData).toEqual({ timeQuality: { isSynced: "0" } });
    expect(a.timestamp).toBe(at("2024-03-01T00:03:17.123Z"));
    const b = parseSyslog("<189>124: router1: Mar  1 2024 01:03:17.5 CET: %LINK-3-UPDOWN: Interface Gi0/1, changed state to up", utc);
    expect(b).toMatchObject({ sequence: 124, hostname: "router1", appName: "%LINK-3-UPDOWN", tzOffset: 60 });
    expect(b.timestamp).toBe(at("2024-03-01T00:03:17.500Z"));
    const c = parseSyslog("<0>91: *Oct 07 03:10:04: mydevice.com %CRYPTO-4-RECVD_PKT_INV_SPI: decaps: bad spi", utc);
    expect(c).toMatchObject({ sequence: 91, hostname: "mydevice.com", appName: "%CRYPTO-4-RECVD_PKT_INV_SPI", msg: "decaps: bad spi" });
  });

  it("unwraps 'message repeated N times: [ ... ]' into repeatCount and the inner message", () => {
    const m = parseSyslog("<86>Nov 22 10:00:00 nas sshd[1]: message repeated 3 times: [ Failed password for root from 203.0.113.9 port 22 ssh2]", utc);
    expect(m).toMatchObject({ appName: "sshd", repeatCount: 3, msg: "Failed password for root from 203.0.113.9 port 22 ssh2" });
    const plain = parseSyslog("<86>Nov 22 10:00:00 nas sshd[1]: message repeated often", utc);
    expect(plain.repeatCount).toBeUndefined();
    expect(plain.msg).toBe("message repeated often");
  });

  it("skips a BOM in front of the PRI", () => {
    expect(parseSyslog("\ufeff<13>Nov 22 10:00:00 h app: x", utc)).toMatchObject({ format: "rfc3164", pri: 13, hostname: "h", appName: "app", msg: "x" });
    expect(parseSyslog("\ufeffhello", utc)).toEqual({ format: "none", msg: "\ufeffhello" });
  });

  it("drops trailing CR/LF and keeps the rest of the message byte for byte", () => {
    expect(parseSyslog("<13>Nov 22 10:00:00 h app: a\tb  \r\n", utc).msg).toBe("a\tb  ");
    expect(parseSyslog("<13>1 - h app - - - a\nb\r\n", utc).msg).toBe("a\nb");
    const strict = parseRfc5424Strict("<13>1 - h app - - - a\nb\r\n");
    expect(strict.ok && strict.msg.msg).toBe("a\nb\r\n");
  });

  it("reads header-less `host prog[pid]: msg` and `prog[pid]: msg` (journal short output without time)", () => {
    const a = parseSyslog("srv sshd[13709]: error: PAM: Authentication failure for bob from 192.0.2.6", utc);
    expect(a).toEqual({ format: "rfc3164", hostname: "srv", appName: "sshd", procId: "13709", msg: "error: PAM: Authentication failure for bob from 192.0.2.6" });
    const b = parseSyslog('ulogd[4655]: id="2001" severity="info"', utc);
    expect(b).toEqual({ format: "rfc3164", appName: "ulogd", procId: "4655", msg: 'id="2001" severity="info"' });
    expect(parseSyslog("Exit (root): Disconnect received", utc).format).toBe("none");
    expect(parseSyslog("note: this is prose", utc).format).toBe("none");
  });

  it("returns format none with the whole line for shapes it does not know", () => {
    for (const line of ["hello world", "", "   ", "{\"json\":1}", "<999>Nov 22 10:00:00 h a: b", "<abc>x"]) {
      expect(parseSyslog(line, utc), line).toEqual({ format: "none", msg: line });
    }
    expect(parseSyslog("<13>just text", utc)).toEqual({ format: "rfc3164", pri: 13, facility: 1, severity: 5, msg: "just text" });
  });
});

describe("year inference (RFC 3164 has no year)", () => {
  const parseAt = (line: string, received: string, zone = "UTC") =>
    parseSyslog(line, { receivedAt: at(received), timezone: () => zone }).timestamp;

  it("puts a Dec 31 line received just after New Year into last year", () => {
    expect(parseAt("<13>Dec 31 23:59:50 h a: x", "2025-01-01T00:00:10Z")).toBe(at("2024-12-31T23:59:50Z"));
  });

  it("puts a Jan 1 line from a clock a little ahead on New Year's Eve into next year", () => {
    expect(parseAt("<13>Jan  1 00:00:30 h a: x", "2024-12-31T23:59:50Z")).toBe(at("2025-01-01T00:00:30Z"));
  });

  it("tolerates small clock skew but sends dates far in the future to last year", () => {
    expect(parseAt("<13>Nov 24 10:00:00 h a: x", "2024-11-22T12:00:00Z")).toBe(at("2024-11-24T10:00:00Z"));
    expect(parseAt("<13>Dec 15 10:00:00 h a: x", "2024-11-22T12:00:00Z")).toBe(at("2023-12-15T10:00:00Z"));
  });

  it("finds the last leap year for Feb 29", () => {
    expect(parseAt("<13>Feb 29 10:00:00 h a: x", "2025-03-10T00:00:00Z")).toBe(at("2024-02-29T10:00:00Z"));
  });

  it("uses the receive year in the sender's zone (Berlin is already in 2025 at 23:30Z on Dec 31)", () => {
    expect(parseAt("<13>Jan  1 00:10:00 h a: x", "2024-12-31T23:30:00Z", "Europe/Berlin")).toBe(at("2024-12-31T23:10:00Z"));
  });
});

describe("time zones of RFC 3164 senders", () => {
  const berlin = (line: string) => parseSyslog(line, { receivedAt: RECV, timezone: () => "Europe/Berlin" }).timestamp;

  it("applies Europe/Berlin standard time in winter and summer time in summer", () => {
    expect(berlin("<13>Jan 15 12:00:00 h a: x")).toBe(at("2024-01-15T11:00:00Z"));
    expect(berlin("<13>Jul 15 12:00:00 h a: x")).toBe(at("2024-07-15T10:00:00Z"));
  });

  it("handles the DST switch hours (gap → offset before the gap; overlap → first occurrence)", () => {
    expect(berlin("<13>Mar 31 01:59:59 h a: x")).toBe(at("2024-03-31T00:59:59Z"));
    expect(berlin("<13>Mar 31 03:00:00 h a: x")).toBe(at("2024-03-31T01:00:00Z"));
    expect(berlin("<13>Mar 31 02:30:00 h a: x")).toBe(at("2024-03-31T01:30:00Z"));
    expect(berlin("<13>Oct 27 02:30:00 h a: x")).toBe(at("2024-10-27T00:30:00Z"));
  });

  it("asks for the zone by hostname and falls back to UTC for unknown zones", () => {
    const asked: Array<string | undefined> = [];
    const m = parseSyslog("<13>Jul 15 12:00:00 tokyo-nas a: x", {
      receivedAt: RECV,
      timezone: (h) => {
        asked.push(h);
        return h === "tokyo-nas" ? "Asia/Tokyo" : "UTC";
      },
    });
    expect(asked).toEqual(["tokyo-nas"]);
    expect(m.timestamp).toBe(at("2024-07-15T03:00:00Z"));
    expect(parseSyslog("<13>Jul 15 12:00:00 h a: x", { receivedAt: RECV, timezone: () => "Mars/Olympus" }).timestamp).toBe(at("2024-07-15T12:00:00Z"));
  });

  it("uses a zone named in the line over the sender's setting", () => {
    const m = parseSyslog("<34>Oct 11 22:14:15.123 UTC mymachine su: x", { receivedAt: RECV, timezone: () => "Europe/Berlin" });
    expect(m).toMatchObject({ hostname: "mymachine", appName: "su", tzOffset: 0, timestamp: at("2024-10-11T22:14:15.123Z") });
  });
});

describe("facility and severity names (ECS log.syslog.*.name)", () => {
  it("exports the names by code and the reverse lookup", () => {
    expect(FACILITY_NAMES).toHaveLength(24);
    expect([facilityName(4), facilityName(10), facilityName(13), facilityName(15), facilityName(23)]).toEqual(["auth", "authpriv", "security", "solaris-cron", "local7"]);
    expect(SEVERITY_NAMES).toEqual(["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"]);
    expect(severityName(4)).toBe("warning");
    expect([facilityCode("daemon"), severityCode("warn"), severityCode("error"), facilityCode("nope"), facilityCode("__proto__")]).toEqual([3, 4, 3, -1, -1]);
  });
});

describe("hostile input", () => {
  it("survives NULs, replacement characters, lone surrogates and a 1 MB line", () => {
    const lines = [
      "<13>Nov 22 10:00:00 h\0st a\0pp: m\0sg",
      "<13>1 - h\ufffd a - - [id k=\"\ufffd\"] \ufffd",
      "<13>Nov 22 10:00:00 h a: \ud800",
      `<13>Nov 22 10:00:00 h a: ${"x".repeat(1 << 20)}`,
      `<13>1 - - - - - ${"[a b=\"c\"]".repeat(10_000)}`,
      "<13>1 - - - - - [__proto__ __proto__=\"x\"] m",
    ];
    for (const line of lines) {
      const m = parseSyslog(line, utc);
      expect(typeof m.msg).toBe("string");
    }
    const proto = parseSyslog("<13>1 - - - - - [__proto__ __proto__=\"x\"] m", utc);
    expect(Object.getPrototypeOf(proto.structuredData)).toBe(Object.prototype);
    expect(Object.keys(proto.structuredData!)).toEqual(["__proto__"]);
  });

  it("never throws even when the zone callback does", () => {
    const m = parseSyslog("<13>Nov 22 10:00:00 h a: x", {
      receivedAt: RECV,
      timezone: () => {
        throw new Error("boom");
      },
    });
    expect(m).toEqual({ format: "none", msg: "<13>Nov 22 10:00:00 h a: x" });
  });
});
