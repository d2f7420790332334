/**
 * Octet-counting framing (RFC 6587 §3.4.1: `MSG-LEN SP SYSLOG-MSG`, as RFC 5425 mandates for TLS)
 * and the per-connection detection between it and newline framing. A connection whose first frame
 * starts with `1-9 digits SP` is octet-counted; anything else is newline-framed. Within an
 * octet-counted connection a frame whose header is malformed (no digits, a letter, more than 9
 * digits) is read as one newline-framed line — forwarded, not lost — and detection starts again
 * at the next frame, so binary garbage can neither crash the relay nor wedge the connection.
 * A length above `maxBytes` keeps the first `maxBytes` (flagged as truncated) and skips the rest.
 */
import { NewlineDecoder, trimEol, type Frame } from "./newline.ts";

export type { Frame } from "./newline.ts";

const SP = 32;
const MAX_LEN_DIGITS = 9;

export class SyslogStreamDecoder {
  private mode: "detect" | "octet" | "newline" = "detect";
  private nl: NewlineDecoder;
  private header = ""; // digits of a MSG-LEN split across chunks
  private need = -1; // bytes still to read of the current octet-counted message; -1 = at a header
  private keep = 0; // of `need`, how many are kept (the rest is skipped: truncation)
  private parts: Buffer[] = [];
  private truncated = false;
  private maxBytes: number;
  /** Frames whose header was malformed (counted by the source as errors). */
  malformed = 0;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
    this.nl = new NewlineDecoder(maxBytes);
  }

  push(chunk: Buffer): Frame[] {
    const out: Frame[] = [];
    let pos = 0;
    while (pos < chunk.length) {
      if (this.mode === "newline") {
        this.nl.push(chunk, out, pos);
        return out;
      }
      if (this.need >= 0) {
        const take = Math.min(this.need, chunk.length - pos);
        const kept = Math.min(take, this.keep);
        if (kept > 0) this.parts.push(Buffer.from(chunk.subarray(pos, pos + kept)));
        this.keep -= kept;
        this.need -= take;
        pos += take;
        if (this.need === 0) {
          const data = trimEol(Buffer.concat(this.parts));
          if (data.length > 0) out.push({ data, truncated: this.truncated });
          this.parts = [];
          this.need = -1;
        }
        continue;
      }
      if (!this.nl.idle) {
        // Inside a malformed frame being read as a line: finish that line first.
        pos = this.nl.push(chunk, out, pos, true);
        continue;
      }
      // At a frame header.
      const b = chunk[pos]!;
      if (this.header === "" && this.mode === "detect" && (b === 10 || b === 13 || b === 0)) {
        pos++; // stray separators between frames
        continue;
      }
      if (b >= 48 && b <= 57 && !(this.header === "" && b === 48) && this.header.length < MAX_LEN_DIGITS) {
        this.header += String.fromCharCode(b);
        pos++;
        continue;
      }
      if (b === SP && this.header !== "") {
        const len = Number(this.header);
        this.header = "";
        pos++;
        this.mode = "octet";
        this.need = len;
        this.keep = Math.min(len, this.maxBytes);
        this.truncated = len > this.maxBytes;
        continue;
      }
      // Not an octet-counting header.
      const consumed = Buffer.from(this.header);
      this.header = "";
      if (this.mode === "detect") {
        this.mode = "newline";
        if (consumed.length) this.nl.push(consumed, out);
        continue; // the newline branch takes the rest
      }
      this.malformed++;
      if (consumed.length) this.nl.push(consumed, out);
      pos = this.nl.push(chunk, out, pos, true);
    }
    return out;
  }

  end(): Frame[] {
    const out: Frame[] = [];
    if (this.need > 0 && this.parts.length) {
      // Connection closed mid-message: keep what arrived, flagged.
      out.push({ data: trimEol(Buffer.concat(this.parts)), truncated: true });
    }
    if (this.header) this.nl.push(Buffer.from(this.header), out);
    this.nl.end(out);
    this.parts = [];
    this.need = -1;
    this.header = "";
    return out;
  }
}
