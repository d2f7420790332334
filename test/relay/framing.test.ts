/** Framing (RFC 6587 octet counting and newline) and configuration parsing: pure, no sockets. */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { SyslogStreamDecoder } from "../../relay/framing/octet-counting.ts";
import { NewlineDecoder, type Frame } from "../../relay/framing/newline.ts";
import { ConfigError, loadConfig, type RelayConfig } from "../../relay/config.ts";
import { parseRetryAfter } from "../../relay/sinks/https.ts";

const texts = (fs: Frame[]) => fs.map((f) => f.data.toString());

function decodeInChunks(input: Buffer, cuts: number[], max = 1000): Frame[] {
  const d = new SyslogStreamDecoder(max);
  const out: Frame[] = [];
  let prev = 0;
  for (const c of [...cuts.filter((x) => x > 0 && x < input.length)].sort((a, b) => a - b)) {
    out.push(...d.push(input.subarray(prev, c)));
    prev = c;
  }
  out.push(...d.push(input.subarray(prev)), ...d.end());
  return out;
}

describe("newline framing", () => {
  it("splits on LF, drops CR and empty lines, keeps a last line without LF", () => {
    const d = new NewlineDecoder(100);
    const out: Frame[] = [];
    d.push(Buffer.from("<13>a\r\n\n<13>b\n<13>c"), out);
    d.end(out);
    expect(texts(out)).toEqual(["<13>a", "<13>b", "<13>c"]);
  });
  it("truncates a line over the maximum, flags it, and resumes at the next line", () => {
    const d = new NewlineDecoder(10);
    const out: Frame[] = [];
    d.push(Buffer.from("x".repeat(25)), out);
    d.push(Buffer.from("yyyy\nshort\n"), out);
    expect(out.map((f) => [f.data.toString(), f.truncated])).toEqual([["x".repeat(10), true], ["short", false]]);
  });
});

describe("octet counting and detection", () => {
  it("decodes octet-counted frames whatever the chunking", () => {
    const msgs = ["<13>1 - - - - - - hello", "<14>with\nnewline inside", "<15>" + "z".repeat(300)];
    const input = Buffer.from(msgs.map((m) => `${Buffer.byteLength(m)} ${m}`).join(""));
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: input.length }), { maxLength: 8 }), (cuts) => {
        expect(texts(decodeInChunks(input, cuts))).toEqual(msgs);
      }),
    );
  });
  it("detects newline framing when the connection starts with '<'", () => {
    expect(texts(decodeInChunks(Buffer.from("<13>12 apples\n<13>b\n"), []))).toEqual(["<13>12 apples", "<13>b"]);
  });
  it("truncates an oversized octet count and stays in sync for the next frame", () => {
    const big = "a".repeat(50);
    const out = decodeInChunks(Buffer.from(`50 ${big}5 <13>x`), [7, 30], 20);
    expect(out.map((f) => [f.data.toString(), f.truncated])).toEqual([["a".repeat(20), true], ["<13>x", false]]);
  });
  it("reads a malformed header as a line and recovers at the next frame", () => {
    const d = new SyslogStreamDecoder(100);
    const out = [...d.push(Buffer.from("5 <13>a12x garbage here\n6 <13>bc")), ...d.end()];
    expect(texts(out)).toEqual(["<13>a", "12x garbage here", "<13>bc"]);
    expect(d.malformed).toBe(1);
  });
  it("never throws and never keeps more than the maximum on arbitrary bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.array(fc.integer({ min: 0, max: 2000 }), { maxLength: 5 }), (bytes, cuts) => {
        const frames = decodeInChunks(Buffer.from(bytes), cuts, 64);
        for (const f of frames) expect(f.data.length).toBeLessThanOrEqual(64);
      }),
    );
  });
});

describe("configuration", () => {
  const base = ["--endpoint", "http://127.0.0.1:8787", "--token", "t", "--udp", "127.0.0.1:5514"];
  const load = (argv: string[], env: NodeJS.ProcessEnv = {}) => loadConfig(argv, env) as RelayConfig;
  it("takes flags, appends /v1/ingest, applies defaults", () => {
    const c = load([...base, "--tcp", "[::1]:6000"]);
    expect(c.endpoint).toBe("http://127.0.0.1:8787/v1/ingest");
    expect(c.tcp).toEqual({ host: "::1", port: 6000 });
    expect([c.batchLines, c.batchBytes, c.batchWaitMs, c.spoolMaxBytes, c.udpFullPolicy]).toEqual([1000, 262144, 1000, 1073741824, "drop-oldest"]);
  });
  it("reads environment variables, flags win", () => {
    const c = load(["--batch-lines", "7"], { PORCHLIGHT_URL: "https://e.example", PORCHLIGHT_TOKEN: "tok", PORCHLIGHT_TCP: "0.0.0.0:1", PORCHLIGHT_BATCH_LINES: "9" });
    expect([c.endpoint, c.token, c.batchLines]).toEqual(["https://e.example/v1/ingest", "tok", 7]);
  });
  it.each([
    [["--token", "t", "--udp", ":1"], /--endpoint is required/],
    [[...base, "--batch-lines", "0"], /--batch-lines.*at least 1/],
    [[...base, "--batch-lines", "9000"], /at most 5000/],
    [[...base, "--tls", "0.0.0.0:6514"], /--tls needs --tls-cert and --tls-key/],
    [[...base, "--udp-full-policy", "block"], /drop-oldest or drop-newest/],
    [[...base, "--bogus"], /unknown flag --bogus/],
    [["--endpoint", "http://x", "--token", "t"], /no source/],
    [[...base, "--tcp", "nohost"], /HOST:PORT/],
  ])("rejects %j", (argv, msg) => {
    expect(() => load(argv)).toThrow(ConfigError);
    expect(() => load(argv)).toThrow(msg);
  });
});

describe("Retry-After", () => {
  it("reads delay-seconds and HTTP dates; ignores garbage", () => {
    const now = Date.parse("2026-11-22T19:00:00Z");
    expect(parseRetryAfter("120", now)).toBe(120_000);
    expect(parseRetryAfter("Sun, 22 Nov 2026 19:00:30 GMT", now)).toBe(30_000);
    expect(parseRetryAfter("Sun, 22 Nov 2026 18:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
  });
});
