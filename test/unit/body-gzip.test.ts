/**
 * readBodyBytes (one plain gzip member inflated in one call) against readBodyBytesReference (the body
 * through DecompressionStream): the same bytes, or the same error code and message, for every body —
 * valid members of random text, with and without a declared length, chunked any way; concatenated
 * members, trailing bytes, truncation, a flipped byte anywhere, optional header fields (FNAME, also one
 * longer than the compressed read's cap), output over the limit and at it exactly, empty bodies.
 */
import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { generateCorpus } from "../../bench/corpus.ts";
import { gunzipOneMember, readBodyBytes, readBodyBytesReference } from "../../workers/ingest/body.ts";
import { PorchlightError } from "../../workers/errors.ts";

/** A stream of `bytes` cut at the given points. */
function streamOf(bytes: Uint8Array, cuts: number[]): ReadableStream<Uint8Array> {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Uint8Array[] = [];
  let at = 0;
  for (const p of [...points, bytes.length]) {
    if (p > at) parts.push(bytes.slice(at, p));
    at = p;
  }
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(c) {
      if (i < parts.length) c.enqueue(parts[i++]!);
      else c.close();
    },
  });
}

type Outcome = { bytes: number[] } | { error: string };
async function outcome(f: () => Promise<Uint8Array>): Promise<Outcome> {
  try {
    return { bytes: [...(await f())] };
  } catch (err) {
    if (!(err instanceof PorchlightError)) throw err;
    return { error: `${err.code}: ${err.message}` };
  }
}

async function same(body: Uint8Array, cuts: number[], declare: boolean, max: number): Promise<Outcome> {
  const len = declare ? String(body.length) : null;
  const got = await outcome(() => readBodyBytes(streamOf(body, cuts), "gzip", len, max));
  const want = await outcome(() => readBodyBytesReference(streamOf(body, cuts), "gzip", len, max));
  expect(got).toEqual(want);
  return got;
}

/** A gzip member with the FNAME header field set to `name`. */
function withName(member: Uint8Array, name: string): Uint8Array {
  const out = new Uint8Array(member.length + name.length + 1);
  out.set(member.subarray(0, 10));
  out[3] = 0x08;
  out.set(new TextEncoder().encode(name), 10);
  out.set(member.subarray(10), 11 + name.length);
  return out;
}

const text = fc.oneof(fc.string({ maxLength: 400 }), fc.constantFrom(generateCorpus(50).join("\n"), ""));
const cuts = fc.array(fc.nat(), { maxLength: 6 });

describe("readBodyBytes (gzip fast path) = readBodyBytesReference", () => {
  it("valid members, any chunking, with and without a declared length, limits around the output's size", async () => {
    await fc.assert(fc.asyncProperty(text, cuts, fc.boolean(), fc.integer({ min: -2, max: 2 }), fc.integer({ min: 1, max: 9 }), async (t, c, declare, slack, level) => {
      const member = gzipSync(t, { level });
      const size = new TextEncoder().encode(t).length;
      const r = await same(member, c, declare, Math.max(size + slack, member.length));
      if (size + slack >= member.length && slack >= 0) expect("bytes" in r).toBe(true);
    }), { numRuns: 200 });
  });

  it("bodies the fast path must hand to the reference: several members, trailing bytes, cut, a byte flipped, FNAME", async () => {
    await fc.assert(fc.asyncProperty(text, text, cuts, fc.boolean(), fc.nat(), fc.integer({ min: 0, max: 5 }), async (a, b, c, declare, where, kind) => {
      const m = gzipSync(a);
      const body =
        kind === 0 ? new Uint8Array([...m, ...gzipSync(b)]) :
        kind === 1 ? new Uint8Array([...m, 0x6a, 0x75, 0x6e, 0x6b]) :
        kind === 2 ? m.subarray(0, where % m.length) :
        kind === 3 ? m.map((x, i) => (i === where % m.length ? x ^ (1 << (where % 8)) : x)) :
        kind === 4 ? withName(m, "batch.ndjson") :
        new Uint8Array(0);
      await same(body, c, declare, 1 << 20);
    }), { numRuns: 400 });
  });

  it("a header field longer than the compressed read's cap goes on to the reference with the rest of the body", async () => {
    const m = withName(gzipSync("one line\n"), "n".repeat(70_000));
    const r = await same(m, [1000, 40_000], false, 100);
    expect(r).toEqual({ bytes: [...new TextEncoder().encode("one line\n")] });
  });

  it("takes the one native call for a plain member (and only then)", () => {
    const body = gzipSync(generateCorpus(200).join("\n"));
    expect(gunzipOneMember(body, 1 << 20)).not.toBeNull();
    expect(gunzipOneMember(body, 100)).toBeNull();
    expect(gunzipOneMember(new Uint8Array([...body, ...body]), 1 << 20)).toBeNull();
    expect(gunzipOneMember(withName(body, "x"), 1 << 20)).toBeNull();
  });
});
