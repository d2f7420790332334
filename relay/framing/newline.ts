/**
 * Newline framing (RFC 6587 §3.4.2 "non-transparent framing"): a message ends at LF; a CR before
 * the LF is dropped. A message longer than `maxBytes` is truncated to `maxBytes` and flagged, and
 * the rest of it up to the next LF is discarded, so one huge line can neither grow memory nor
 * stall the stream.
 */

export interface Frame {
  data: Buffer;
  truncated: boolean;
}

const LF = 10;
const CR = 13;

export function trimEol(b: Buffer): Buffer {
  let e = b.length;
  while (e > 0 && (b[e - 1] === LF || b[e - 1] === CR || b[e - 1] === 0)) e--;
  return e === b.length ? b : b.subarray(0, e);
}

export class NewlineDecoder {
  private parts: Buffer[] = [];
  private partLen = 0;
  private discarding = false; // inside the over-long tail of a truncated message
  private maxBytes: number;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  /** True when no partial message is buffered (a frame boundary: octet counting may be detected). */
  get idle(): boolean {
    return this.partLen === 0 && !this.discarding;
  }

  /** Consumes `chunk` from `from`, pushing complete frames. Returns the index after the last consumed byte. */
  push(chunk: Buffer, out: Frame[], from = 0, stopAtBoundary = false): number {
    let pos = from;
    while (pos < chunk.length) {
      const nl = chunk.indexOf(LF, pos);
      const end = nl === -1 ? chunk.length : nl;
      if (this.discarding) {
        if (nl === -1) return chunk.length;
        this.discarding = false;
        pos = nl + 1;
        if (stopAtBoundary) return pos;
        continue;
      }
      const room = this.maxBytes - this.partLen;
      if (end - pos > room) {
        this.parts.push(chunk.subarray(pos, pos + room));
        out.push({ data: trimEol(Buffer.concat(this.parts)), truncated: true });
        this.parts = [];
        this.partLen = 0;
        this.discarding = nl === -1;
        pos = nl === -1 ? chunk.length : nl + 1;
      } else if (nl === -1) {
        // Copy: the socket may reuse chunk memory and the part outlives this call.
        this.parts.push(Buffer.from(chunk.subarray(pos)));
        this.partLen += chunk.length - pos;
        return chunk.length;
      } else {
        const piece = chunk.subarray(pos, nl);
        const data = this.parts.length ? Buffer.concat([...this.parts, piece]) : piece;
        this.parts = [];
        this.partLen = 0;
        const t = trimEol(data);
        if (t.length > 0) out.push({ data: t, truncated: false });
        pos = nl + 1;
      }
      if (stopAtBoundary) return pos;
    }
    return pos;
  }

  /** End of stream: a final message without LF still counts. */
  end(out: Frame[]): void {
    if (this.partLen > 0) {
      const t = trimEol(Buffer.concat(this.parts));
      if (t.length > 0) out.push({ data: t, truncated: false });
    }
    this.parts = [];
    this.partLen = 0;
    this.discarding = false;
  }
}
