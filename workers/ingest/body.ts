/**
 * Ingest body decoding: content type → kind, Content-Encoding (gzip via DecompressionStream), a
 * streaming size cap on the DECOMPRESSED bytes (a gzip bomb is cut off after INGEST_MAX_BYTES, never
 * buffered whole), and UTF-8 decoding that never throws (invalid bytes become U+FFFD, NULs are kept).
 * Shared by POST /v1/ingest and POST /v1/parse, and by the ingest benchmark.
 */
import { crc32, inflateRawSync } from "node:zlib";
import { INGEST_MAX_BYTES } from "../constants.ts";
import { PorchlightError } from "../errors.ts";

export type BodyKind = "text" | "ndjson";

/** `text/plain` (or no type) → text; `application/x-ndjson` (and its aliases) → ndjson; else 415. */
export function bodyKind(contentType: string | undefined | null): BodyKind {
  const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  if (type === "" || type === "text/plain") return "text";
  if (type === "application/x-ndjson" || type === "application/ndjson" || type === "application/jsonl" || type === "application/x-jsonlines") {
    return "ndjson";
  }
  throw new PorchlightError("unsupported_media_type", `Content-Type '${type}' is not supported: send text/plain (one syslog line per line) or application/x-ndjson`);
}

/** `gzip` or identity; anything else is 415 (the body cannot be read). */
export function bodyEncoding(contentEncoding: string | undefined | null): "gzip" | "identity" {
  const enc = (contentEncoding ?? "").trim().toLowerCase();
  if (enc === "" || enc === "identity") return "identity";
  if (enc === "gzip" || enc === "x-gzip") return "gzip";
  throw new PorchlightError("unsupported_media_type", `Content-Encoding '${enc}' is not supported: use gzip or none`);
}

const tooLarge = (max: number) =>
  new PorchlightError("payload_too_large", `Body is larger than ${max} bytes after decompression; split it into smaller batches`);

/**
 * Reads the whole body, decompressing gzip, and stops with 413 as soon as more than `max` bytes came
 * out. Invalid or truncated gzip is 400 `invalid_gzip`.
 *
 * gzip: the compressed bytes are read first and inflated in one native call (node:zlib) when they are
 * one plain gzip member (no optional header fields, its CRC-32 and length checked, nothing after it)
 * of at most `max` bytes; any other body goes through readBodyBytesReference's DecompressionStream,
 * which answers exactly as before. Why: the stream pipeline cost ≈0.2 ms more of the request's CPU per
 * 1000-line batch in workerd. The result is the reference's for every body (bytes, or the same error):
 * test/unit/body-gzip.test.ts.
 */
export async function readBodyBytes(
  body: ReadableStream<Uint8Array> | null,
  encoding: "gzip" | "identity",
  contentLength: string | undefined | null,
  max = INGEST_MAX_BYTES,
): Promise<Uint8Array> {
  if (encoding !== "gzip") return readBodyBytesReference(body, encoding, contentLength, max);
  const declared = contentLength ? Number(contentLength) : NaN;
  if (Number.isFinite(declared) && declared > max) throw tooLarge(max);
  if (!body) return new Uint8Array(0);
  // Compressed bytes are fewer than their output but for header fields, so a body past this cap is
  // handed on, as read so far plus the rest, to the reference (which stops at `max` decompressed).
  const cap = 2 * max + 65_536;
  if (Number.isFinite(declared)) {
    // A declared length (≤ max, checked above) bounds the body: one native read.
    let zipped: Uint8Array;
    try {
      zipped = new Uint8Array(await new Response(body).arrayBuffer());
    } catch (err) {
      throw invalidGzip(err);
    }
    return gunzipOneMember(zipped, max) ?? readBodyBytesReference(streamOf([zipped], null), "gzip", null, max);
  }
  const { reader, read } = readerOf(body);
  const chunks: Uint8Array[] = [];
  let total = 0;
  let done = false;
  try {
    while (!done && total <= cap) {
      const r = await read();
      if (r.value && r.value.byteLength > 0) {
        chunks.push(r.value);
        total += r.value.byteLength;
      }
      done = r.done;
    }
  } catch (err) {
    throw invalidGzip(err);
  }
  if (done) {
    const zipped = concat(chunks, total);
    const fast = gunzipOneMember(zipped, max);
    if (fast) return fast;
    return readBodyBytesReference(streamOf([zipped], null), "gzip", null, max);
  }
  return readBodyBytesReference(streamOf(chunks, { reader, read }), "gzip", null, max);
}

/**
 * The output of `bytes` when they are exactly one gzip member with a plain 10-byte header (FLG = 0,
 * deflate) whose CRC-32 and length match, of at most `max` bytes; else null. Such a body is what
 * DecompressionStream accepts, decoded to the same bytes (inflating is deterministic).
 */
export function gunzipOneMember(bytes: Uint8Array, max: number): Uint8Array | null {
  if (bytes.length < 18 || bytes[0] !== 0x1f || bytes[1] !== 0x8b || bytes[2] !== 8 || bytes[3] !== 0) return null;
  let out: Uint8Array, used: number;
  try {
    // Stops at the deflate stream's end; bytesWritten is the input it used.
    const r = inflateRawSync(bytes.subarray(10), { info: true, maxOutputLength: max }) as unknown as { buffer: Uint8Array; engine: { bytesWritten: number } };
    out = r.buffer;
    used = r.engine.bytesWritten;
  } catch {
    return null; // invalid, or over `max`: the reference says which
  }
  const end = 10 + used;
  if (end + 8 !== bytes.length || out.byteLength > max) return null;
  const trailer = new DataView(bytes.buffer, bytes.byteOffset + end, 8);
  if (trailer.getUint32(0, true) !== crc32(out) || trailer.getUint32(4, true) !== out.byteLength >>> 0) return null;
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

const invalidGzip = (err: unknown) =>
  err instanceof PorchlightError ? err : new PorchlightError("invalid_gzip", `Body is not valid gzip: ${(err as Error)?.message ?? String(err)}`);

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}

interface ChunkReader {
  reader: { cancel(reason?: unknown): Promise<void> };
  read: () => Promise<{ done: boolean; value?: Uint8Array | undefined }>;
}

/** workerd: fill READ_BLOCK bytes per read (see readBodyBytesReference); elsewhere the default reader. */
function readerOf(stream: ReadableStream<Uint8Array>): ChunkReader {
  const byob = byobReader(stream);
  if (byob) return { reader: byob, read: () => byob.readAtLeast(READ_BLOCK, new Uint8Array(READ_BLOCK)) };
  const reader = stream.getReader();
  return { reader, read: () => reader.read() };
}

/** A stream of `head`, then (when given) the rest of a body being read. */
function streamOf(head: Uint8Array[], rest: ChunkReader | null): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (i < head.length) return controller.enqueue(head[i++]!);
      const r = rest ? await rest.read() : { done: true, value: undefined };
      if (r.value && r.value.byteLength > 0) controller.enqueue(r.value);
      if (r.done) controller.close();
    },
    cancel(reason) {
      return rest?.reader.cancel(reason);
    },
  });
}

/**
 * The plain reader: the body through DecompressionStream when gzip, stopping with 413 as soon as more
 * than `max` bytes came out (a gzip bomb is never buffered whole). readBodyBytes' reference, and its
 * path for every body but one plain gzip member.
 */
export async function readBodyBytesReference(
  body: ReadableStream<Uint8Array> | null,
  encoding: "gzip" | "identity",
  contentLength: string | undefined | null,
  max = INGEST_MAX_BYTES,
): Promise<Uint8Array> {
  // gzip output is never much smaller than its input (incompressible data grows slightly), so a
  // declared length over the cap is refused before reading anything, compressed or not.
  const declared = contentLength ? Number(contentLength) : NaN;
  if (Number.isFinite(declared) && declared > max) throw tooLarge(max);
  if (!body) return new Uint8Array(0);
  // The cast bridges workers-types and Node's DOM lib (both typecheck this file); the runtime object is the same.
  const gunzip = new DecompressionStream("gzip") as unknown as ReadableWritablePair<Uint8Array, Uint8Array>;
  const stream: ReadableStream<Uint8Array> = encoding === "gzip" ? body.pipeThrough(gunzip) : body;
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    // workerd: fill READ_BLOCK bytes per read. Its DecompressionStream yields 4 KiB chunks, and a read
    // per chunk (44 for a 1000-line batch) cost ≈0.6 ms of the request's CPU more. Elsewhere (Node),
    // the default reader.
    const { reader, read } = readerOf(stream);
    for (;;) {
      const { done, value } = await read();
      if (value && value.byteLength > 0) {
        total += value.byteLength;
        if (total > max) {
          await reader.cancel().catch(() => {});
          throw tooLarge(max);
        }
        chunks.push(value);
      }
      if (done) break;
    }
  } catch (err) {
    if (err instanceof PorchlightError) throw err;
    if (encoding === "gzip") throw invalidGzip(err);
    throw new PorchlightError("invalid_body", `Could not read the body: ${(err as Error)?.message ?? String(err)}`);
  }
  return concat(chunks, total);
}

/** Bytes asked for per read when the runtime can fill a buffer (the cap is checked between reads). */
const READ_BLOCK = 256 * 1024;

/** workerd's BYOB reader extension: resolves once at least `min` bytes (or the end) were read into `view`. */
interface ReadAtLeastReader {
  readAtLeast(min: number, view: Uint8Array): Promise<{ done: boolean; value: Uint8Array | undefined }>;
  cancel(reason?: unknown): Promise<void>;
}

/** A reader with workerd's readAtLeast, or null where there is none (Node, a non-byte stream). */
function byobReader(stream: ReadableStream<Uint8Array>): ReadAtLeastReader | null {
  try {
    const r = (stream as unknown as { getReader(o: { mode: "byob" }): unknown }).getReader({ mode: "byob" }) as Partial<ReadAtLeastReader> & { releaseLock(): void };
    if (typeof r.readAtLeast === "function") return r as ReadAtLeastReader;
    r.releaseLock();
  } catch {
    // Not a byte stream: the default reader below.
  }
  return null;
}

// ignoreBOM keeps a leading BOM in the first line: `raw` is byte-faithful.
const decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/** UTF-8 with replacement: never throws, whatever the bytes. */
export const decodeUtf8 = (bytes: Uint8Array): string => decoder.decode(bytes);

/** Reads and decodes a request body for ingest/parse (kind checked first so a 415 reads nothing). */
export async function readIngestBody(req: Request): Promise<{ kind: BodyKind; text: string; bytes: number }> {
  const kind = bodyKind(req.headers.get("content-type"));
  const encoding = bodyEncoding(req.headers.get("content-encoding"));
  const bytes = await readBodyBytes(req.body, encoding, req.headers.get("content-length"));
  return { kind, text: decodeUtf8(bytes), bytes: bytes.byteLength };
}
