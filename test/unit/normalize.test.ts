/**
 * normalize(): the envelope (id, @timestamp, received_at, raw), log.syslog.*, the parse-error policy,
 * repeats, truncation, user extractors, IP helpers, and property-based fuzzing (never throws, raw kept).
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { normalize, DEFAULT_CONTEXT } from "../../workers/parse/index.ts";
import { decodeTime } from "../../workers/parse/id.ts";
import { compileExtractor, starHeight } from "../../workers/parse/extractors.ts";
import { canonicalIp, cidrContains, directionOf, ipKey, isPrivateIp, parseCidr } from "../../workers/parse/ip.ts";
import type { CompiledExtractor, ParseContext } from "../../workers/parse/types.ts";
import { INGEST_MAX_LINE_BYTES } from "../../workers/constants.ts";

const RECEIVED = Date.UTC(2026, 10, 22, 12, 0, 0);
const N = (raw: string, ctx: ParseContext = DEFAULT_CONTEXT, batchKey?: string, index?: number) =>
  normalize({ raw, receivedAt: RECEIVED, sourceIp: "192.168.1.1", transport: "udp" }, ctx, batchKey, index);

describe("normalize: envelope and syslog fields", () => {
  it("fills log.syslog, host, process, severity and the relay's metadata from an RFC 5424 line", () => {
    const e = N('<38>1 2022-01-19T14:23:55.123+01:00 OPNsense.localdomain sshd 44255 ID47 [meta sequenceId="1"] Invalid user tutu from 1.2.3.4 port 33166');
    expect(e["@timestamp"]).toBe(Date.parse("2022-01-19T13:23:55.123Z"));
    expect(e.received_at).toBe(RECEIVED);
    expect(e.log?.syslog).toEqual({
      priority: 38, facility: { code: 4, name: "auth" }, severity: { code: 6, name: "info" }, hostname: "OPNsense.localdomain",
      appname: "sshd", procid: "44255", msgid: "ID47", version: "1", structured_data: { meta: { sequenceId: "1" } },
    });
    expect(e.host?.hostname).toBe("OPNsense.localdomain");
    expect(e.process).toEqual({ name: "sshd", pid: 44255 });
    expect(e.event).toMatchObject({ severity: 6, dataset: "sshd", outcome: "failure" });
    expect(e.message).toBe("Invalid user tutu from 1.2.3.4 port 33166");
    expect(e.porchlight).toMatchObject({ source_ip: "192.168.1.1", transport: "udp" });
    expect(e.porchlight?.parse_error).toBeUndefined();
  });

  it("ids are time-sortable by event time and deterministic per (batch, index)", () => {
    const line = "<13>Nov 22 10:00:00 host app: hello";
    const a = N(line, DEFAULT_CONTEXT, "batch-1", 7), b = N(line, DEFAULT_CONTEXT, "batch-1", 7), c = N(line, DEFAULT_CONTEXT, "batch-1", 8);
    expect(a.id).toBe(b.id);
    expect(a.id).not.toBe(c.id);
    expect(decodeTime(a.id)).toBe(a["@timestamp"]);
    expect(N(line).id).not.toBe(N(line).id);
    // The batch key's hash is memoized: interleaving batches must not change any id.
    expect(N(line, DEFAULT_CONTEXT, "batch-2", 7).id).not.toBe(a.id);
    expect(N(line, DEFAULT_CONTEXT, "batch-1", 7).id).toBe(a.id);
    const ids = new Set(Array.from({ length: 5000 }, (_, i) => N(line, DEFAULT_CONTEXT, "batch-1", i).id));
    expect(ids.size).toBe(5000);
  });

  it("@timestamp and id time agree with the receive time for every ms up to 2^48 - 1 (fast-check)", () => {
    // The id's time chars are int32 arithmetic on split values, with a cache per second.
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 48 - 1 }), fc.integer({ min: 0, max: 2000 }), (t, d) => {
      for (const ms of [t, t + (t + d <= 2 ** 48 - 1 ? d : -d)]) {
        const e = normalize({ raw: "no header here", receivedAt: ms }, DEFAULT_CONTEXT, "k", 0);
        expect(e["@timestamp"]).toBe(ms);
        expect(decodeTime(e.id)).toBe(ms);
      }
    }), { numRuns: 3000 });
  });

  it("uses receivedAt as @timestamp when the line has no time", () => {
    const e = N("Bad password attempt for 'root' from 10.0.0.9:1234");
    expect(e["@timestamp"]).toBe(RECEIVED);
    expect(e.event.dataset).toBe("dropbear");
    expect(e.porchlight?.parse_error).toBeUndefined();
  });

  it("applies the per-source timezone to RFC 3164 times", () => {
    const ctx: ParseContext = { timezoneFor: (h, ip) => (h === "nas" && ip === "192.168.1.1" ? "Europe/Paris" : "UTC"), extractors: [] };
    expect(N("<13>Nov 22 10:00:00 nas app: x", ctx)["@timestamp"]).toBe(Date.parse("2026-11-22T09:00:00.000Z"));
    expect(N("<13>Nov 22 10:00:00 other app: x", ctx)["@timestamp"]).toBe(Date.parse("2026-11-22T10:00:00.000Z"));
  });

  it("keeps `message repeated N times` as one event with event.count", () => {
    const e = N("Dec 10 07:08:28 nas sshd[2408]: message repeated 5 times: [ Failed password for root from 198.51.100.77 port 45378 ssh2]");
    expect(e.event).toMatchObject({ count: 5, dataset: "sshd", outcome: "failure" });
    expect(e.source?.ip).toBe("198.51.100.77");
  });
});

describe("normalize: what is a parse error", () => {
  it("a valid header from an unknown program is dataset 'syslog', not an error", () => {
    const e = N("<30>Nov 22 10:00:00 host someapp[12]: whatever it says");
    expect(e.event.dataset).toBe("syslog");
    expect(e.porchlight?.parse_error).toBeUndefined();
  });
  it("no header and no program parser is 'unparsed' with a parse_error; raw and message kept", () => {
    const e = N("\u0000\u00ff garbage ☃");
    expect(e.event.dataset).toBe("unparsed");
    expect(e.porchlight?.parse_error).toMatch(/no syslog header/);
    expect(e.raw).toBe("\u0000\u00ff garbage ☃");
    expect(e.message).toBe(e.raw);
  });
  it("a headerless line a program parser understands is not an error", () => {
    const e = N("srv sshd[13709]: Failed password for root from 10.1.1.1 port 22 ssh2");
    expect(e.event.dataset).toBe("sshd");
    expect(e.process).toEqual({ name: "sshd", pid: 13709 });
    expect(e.host?.hostname).toBe("srv");
    expect(e.porchlight?.parse_error).toBeUndefined();
  });
  it("an empty line is unparsed ('empty line')", () => {
    expect(N("").porchlight?.parse_error).toBe("empty line");
  });
  it("truncates lines over the limit on a UTF-8 boundary and flags them", () => {
    const big = "<13>Nov 22 10:00:00 h a: " + "é".repeat(INGEST_MAX_LINE_BYTES);
    const e = N(big);
    expect(e.porchlight?.truncated).toBe(true);
    expect(new TextEncoder().encode(e.raw).length).toBeLessThanOrEqual(INGEST_MAX_LINE_BYTES);
    expect(big.startsWith(e.raw)).toBe(true);
  });
});

describe("user extractors", () => {
  const compile = (spec: Parameters<typeof compileExtractor>[0]): CompiledExtractor => {
    const r = compileExtractor(spec);
    if (!r.ok) throw new Error(r.error);
    return r.extractor;
  };

  it("captures named groups into labels, scoped by program and host", () => {
    const ctx: ParseContext = {
      timezoneFor: () => "UTC",
      extractors: [
        compile({ name: "nginx_status", pattern: "\" (?<status>\\d{3}) (?<bytes>\\d+)", program: "nginx" }),
        compile({ name: "nas_only", pattern: "temp=(?<temp>\\d+)", host: "NAS" }),
      ],
    };
    const e = N('<13>Nov 22 10:00:00 web nginx: 1.2.3.4 - - "GET / HTTP/1.1" 404 153', ctx);
    expect(e.labels).toEqual({ status: "404", bytes: "153" });
    expect(N("<13>Nov 22 10:00:00 web other: \" 404 153", ctx).labels).toBeUndefined();
    expect(N("<13>Nov 22 10:00:00 nas sensors: temp=41", ctx).labels).toEqual({ temp: "41" });
    expect(N("<13>Nov 22 10:00:00 router sensors: temp=41", ctx).labels).toBeUndefined();
  });

  it("rejects patterns that do not compile, capture nothing, or backtrack catastrophically", () => {
    const err = (pattern: string) => {
      const r = compileExtractor({ name: "x", pattern });
      return r.ok ? "ok" : r.error;
    };
    expect(err("(?<a>[")).toMatch(/does not compile/);
    expect(err("user=\\S+")).toMatch(/no named groups/);
    // 1. nested repetition
    expect(err("^(?<a>(a+)+)$")).toMatch(/dangerously slow.*nested quantifiers/);
    expect(err("^(?<w>(\\w+\\s?)*)$")).toMatch(/nested quantifiers/);
    expect(err("(?<x>(?:a{1,9}){1,9})")).toMatch(/nested quantifiers/);
    // 2. repeated alternation with overlapping or empty branches (star height 1, still exponential)
    expect(err("^(?<x>(a|a)*)$")).toMatch(/dangerously slow.*alternatives/);
    expect(err("(?<x>(a|ab)*)c")).toMatch(/alternatives/);
    expect(err("(?<x>(?:\\w|\\d)+)")).toMatch(/alternatives/);
    expect(err("(?<x>(a|)*)b")).toMatch(/alternatives/);
    // 3. overlapping unbounded repetitions in sequence (cubic: 1024 colons take ~0.5 s for \S+:\S+!)
    expect(err("(?<x>.*.*.*.*=)")).toMatch(/dangerously slow.*in a row/);
    expect(err("(?<a>\\S+)(?<b>\\S+)!")).toMatch(/in a row/);
    expect(err("(?<k>\\S+):(?<v>\\S+)")).toMatch(/in a row/);
    expect(err("(?<x>\\S{1,100}\\S{1,100})x")).toMatch(/in a row/);
    expect(err("(?<x>\\s+\\s+)x")).toMatch(/in a row/);
    expect(err("(?<x>\\s+[\\u00a0x]+)y")).toMatch(/in a row/); // a Unicode space both can take
    expect(err("(?<x>\\S+[^a]+)y")).toMatch(/in a row/);
    expect(err("(?<x>\\s+(?<y>.*?:) z)")).toMatch(/in a row/);
    // Typical patterns stay accepted: separators the first repetition cannot cross, bounded nesting,
    // distinct alternatives, one unbounded scan (quadratic at worst, bounded by the 1024-char input cap).
    for (const ok of [
      "user=(?<user>[^ ]+) from (?<ip>\\S+)", "user (?<user>\\w+) from (?<ip>[0-9.]+)", "(?<k>[^:]+):(?<v>\\S+)",
      "(?<a>.*) ip=(?<ip>\\S+)", "(?<ip>(?:\\d{1,3}\\.){3}\\d{1,3})", "(?<m>(?:GET|POST)+) (?<p>\\S+)", "(?<u>\\S+) from",
      "(?<k>\\w+)=(?<v>\"[^\"]*\"|\\S+)", "[(+*](?<a>\\(x+\\)+)",
      // \s and \S split every character, Unicode spaces included (SEC's bsd-general.sec prefixes)
      "^\\S+\\s+\\d+\\s+\\S+\\s+(?<h>\\S+)\\s+su: BAD SU (?<u>\\S+)", "(?<a>\\S+)[\\u2000-\\u200a]+(?<b>\\S+)",
    ]) expect(err(ok), ok).toBe("ok");
    expect(compileExtractor({ name: "bad name!", pattern: "(?<a>x)" }).ok).toBe(false);
  });

  it("knows exactly which characters above 127 \\s matches (so \\s+ and \\S+ in a row are disjoint)", () => {
    const spaces: number[] = [];
    for (let c = 128; c <= 0xffff; c++) if (/\s/.test(String.fromCharCode(c))) spaces.push(c);
    // The analyzer's list, through its behaviour: each such space makes \s+ and [c]+ overlap, no other character does.
    const err = (pattern: string) => {
      const r = compileExtractor({ name: "x", pattern });
      return r.ok ? "ok" : r.error;
    };
    for (const c of spaces) expect(err(`(?<a>\\s+[\\u${c.toString(16).padStart(4, "0")}]+)x`), c.toString(16)).toMatch(/in a row/);
    for (const c of [0x80, 0x9f, 0xa1, 0x180e, 0x200b, 0x2027, 0x202a, 0x205e, 0x2fff, 0xfefe, 0xffff]) {
      expect(err(`(?<a>\\s+[\\u${c.toString(16).padStart(4, "0")}]+)x`), c.toString(16)).toBe("ok");
    }
  });

  it("the shape check never throws on a pattern that compiles (fast-check over regex syntax)", () => {
    const token = fc.constantFrom("a", "b", ":", " ", ".", "\\", "\\S", "\\d", "\\w", "\\b", "\\1", "\\k<n>", "\\x4", "\\u00e9", "\\c", "[", "]", "^", "-", "(", ")", "(?:", "(?<n>", "(?=", "(?<!", "|", "*", "+", "?", "{", "}", "{2}", "{1,3}", "{2,}", "$");
    fc.assert(fc.property(fc.array(token, { maxLength: 30 }), (parts) => {
      const pattern = parts.join("");
      try {
        new RegExp(pattern);
      } catch {
        return;
      }
      const r = compileExtractor({ name: "x", pattern });
      expect(typeof r.ok).toBe("boolean");
    }), { numRuns: 3000 });
  });

  it("measures star height like safe-regex", () => {
    expect(starHeight("a*b+")).toBe(1);
    expect(starHeight("(a+)+")).toBe(2);
    expect(starHeight("((ab)*c)*")).toBe(2);
    expect(starHeight("[(+*)]+")).toBe(1);
    expect(starHeight("\\(a+\\)+")).toBe(1);
    expect(starHeight("(?<n>x)?")).toBe(0);
  });
});

describe("IP helpers", () => {
  it("canonicalizes IPv4, IPv6 (RFC 5952) and IPv4-mapped addresses; rejects non-IPs", () => {
    expect(canonicalIp("2001:0DB8:0000:0000:0000:0000:0000:0001")).toBe("2001:db8::1");
    expect(canonicalIp("2001:db8:0:1:0:0:0:1")).toBe("2001:db8:0:1::1");
    expect(canonicalIp("::ffff:192.0.2.1")).toBe("192.0.2.1");
    expect(canonicalIp("fe80::1%eth0")).toBe("fe80::1");
    expect(canonicalIp("::")).toBe("::");
    for (const bad of ["256.1.1.1", "1.2.3", "01.2.3.4", "1:2:3:4:5:6:7:8:9", "1::2::3", "example.com", "", "1.2.3.4 "]) expect(canonicalIp(bad)).toBeNull();
  });
  it("keys sort like addresses and CIDRs are key ranges covering both IPv4 spellings", () => {
    expect(ipKey("10.0.0.1")).toBe("00000000000000000000ffff0a000001");
    expect(ipKey("::ffff:10.0.0.1")).toBe(ipKey("10.0.0.1"));
    expect(ipKey("10.0.0.2")! > ipKey("10.0.0.1")!).toBe(true);
    expect(parseCidr("10.0.0.0/8")).toEqual({ lo: "00000000000000000000ffff0a000000", hi: "00000000000000000000ffff0affffff" });
    expect(cidrContains("192.168.0.0/16", "::ffff:192.168.4.4")).toBe(true);
    expect(cidrContains("2001:db8::/32", "2001:db8:ffff::1")).toBe(true);
    expect(cidrContains("2001:db8::/32", "2001:db9::1")).toBe(false);
    expect(parseCidr("10.0.0.0/33")).toBeNull();
    expect(isPrivateIp("100.64.1.1")).toBe(true);
    expect(isPrivateIp("8.8.8.8")).toBe(false);
    expect(directionOf("8.8.8.8", "192.168.1.2")).toBe("inbound");
  });
  it("round-trips random IPv6 addresses through canonical text and key", () => {
    fc.assert(fc.property(fc.ipV6(), (a) => {
      const c = canonicalIp(a);
      expect(c).not.toBeNull();
      expect(ipKey(c!)).toBe(ipKey(a));
      expect(canonicalIp(c!)).toBe(c);
    }), { numRuns: 500 });
  });
});

describe("@timestamp (fast-check)", () => {
  it("is the ms of the line's RFC 3339 time for any time from 1970 to 9999, whatever the order of lines", () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 253402300799999 }), { minLength: 1, maxLength: 20 }), (times) => {
      for (const ms of times) {
        const iso = new Date(ms).toISOString();
        expect(N(`<13>1 ${iso} h app - - - x`)["@timestamp"]).toBe(ms);
      }
    }), { numRuns: 500 });
  });
});

describe("normalize never throws (fast-check)", () => {
  it("arbitrary strings: an event with id, a whole-ms @timestamp, raw === input", () => {
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 400 }), (s) => {
      const e = normalize({ raw: s, receivedAt: RECEIVED }, DEFAULT_CONTEXT);
      expect(e.id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
      expect(Number.isSafeInteger(e["@timestamp"]) && e["@timestamp"] >= 0).toBe(true);
      expect(e.raw).toBe(s);
      expect(typeof e.event.dataset).toBe("string");
    }), { numRuns: 3000 });
  });

  it("syslog-shaped and program-shaped noise never throws either", () => {
    const prefix = fc.constantFrom("", "<13>", "<34>1 ", "<191>Nov 22 10:00:00 ", "Jan  8 03:37:09 host ", "<4>Oct 10 07:25:12 gw kernel: ");
    const prog = fc.constantFrom("sshd[1]: ", "kernel: ", "filterlog: ", "dnsmasq-dhcp[2]: ", "hostapd: ", "sudo: ", "su: ", "dropbear[3]: ", "ulogd: ", "");
    const body = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.array(fc.constantFrom("IN=", "OUT=", "SRC=", "DST=", "::", "1.2.3.4", ",", "block", "4", "6", "tcp", "from", "port", "user", "[NEW]", "ORIG:", "=", " ", "(", ")", "'", "<", ">", ":"), { maxLength: 40 }).map((a) => a.join("")),
    );
    fc.assert(fc.property(prefix, prog, body, fc.integer({ min: -1e15, max: 1e15 }), (p, g, b, t) => {
      const raw = p + g + b;
      const e = normalize({ raw, receivedAt: t }, DEFAULT_CONTEXT, "k", 1);
      expect(e.raw).toBe(raw);
      expect(Number.isSafeInteger(e["@timestamp"]) && Number.isSafeInteger(e.received_at)).toBe(true);
    }), { numRuns: 3000 });
  });
});

describe("flow direction from canonical addresses", () => {
  it("agrees with isPrivateIp on every private and public boundary", () => {
    const cases = ["10.0.0.1", "10.255.255.255", "11.0.0.1", "127.0.0.1", "172.15.0.1", "172.16.0.1", "172.31.255.1", "172.32.0.1",
      "192.168.0.1", "192.169.0.1", "169.254.1.1", "169.253.1.1", "100.63.0.1", "100.64.0.1", "100.127.0.1", "100.128.0.1", "1.1.1.1",
      "8.8.8.8", "fd00::1", "2001:db8::1", "fe80::1", "::1"];
    for (const a of cases) {
      const want = isPrivateIp(a) ? "internal" : "outbound";
      expect([a, directionOf("192.168.1.2", a)]).toEqual([a, want === "internal" ? "internal" : "outbound"]);
    }
  });

  it("agrees with isPrivateIp on any dotted IPv4, first octets near the private ranges weighted (fast-check)", () => {
    const first = fc.oneof(fc.constantFrom(1, 10, 11, 12, 100, 101, 127, 128, 169, 172, 192, 19, 16, 17), fc.integer({ min: 0, max: 255 }));
    const second = fc.oneof(fc.constantFrom(0, 15, 16, 31, 32, 63, 64, 127, 128, 168, 254), fc.integer({ min: 0, max: 255 }));
    const octet = fc.integer({ min: 0, max: 255 });
    fc.assert(fc.property(first, second, octet, octet, (a, b, c, d) => {
      const ip = `${a}.${b}.${c}.${d}`;
      expect(directionOf("8.8.8.8", ip)).toBe(isPrivateIp(ip) ? "inbound" : "external");
    }), { numRuns: 5000 });
  });
});

describe("normalize: the timezone callback made once per sender (timezoneOf)", () => {
  it("answers as a callback made for each line would: senders, hosts and contexts interleaved", () => {
    // Zones by (host, sender), as the sources table gives them; two contexts that disagree.
    const zoneOf = (flip: boolean) => (h: string | undefined, ip: string | undefined) =>
      ((h === "nas") !== flip ? "Europe/Paris" : ip === "10.0.0.2" ? "America/New_York" : ip === undefined ? "Asia/Tokyo" : "UTC");
    const a: ParseContext = { timezoneFor: zoneOf(false), extractors: [] };
    const b: ParseContext = { timezoneFor: zoneOf(true), extractors: [] };
    const line = fc.record({
      host: fc.constantFrom("nas", "router", "cam"),
      sender: fc.constantFrom("192.168.1.1", "10.0.0.2", undefined),
      ctx: fc.constantFrom(a, b),
      form: fc.constantFrom("bsd", "5424"),
    });
    fc.assert(fc.property(fc.array(line, { minLength: 1, maxLength: 30 }), (lines) => {
      const inputs = lines.map(({ host, sender, form }, i) => ({
        raw: form === "bsd" ? `<13>Nov 22 10:00:0${i % 10} ${host} app: x` : `<13>1 2026-11-22T10:00:00 ${host} app - - - x`,
        receivedAt: RECEIVED, ...(sender ? { sourceIp: sender } : {}), transport: "udp" as const,
      }));
      // The batch as ingest parses it (one context or the other, line after line), then each line
      // under a context object never seen before, which gets a callback of its own: the reference.
      const got = inputs.map((input, i) => normalize(input, lines[i]!.ctx, "k", i));
      const want = inputs.map((input, i) => {
        const ctx = lines[i]!.ctx;
        return normalize(input, { timezoneFor: (h, ip) => ctx.timezoneFor(h, ip), extractors: ctx.extractors }, "k", i);
      });
      expect(got).toEqual(want);
    }), { numRuns: 300 });
  });
});
