/**
 * RELP framing (the Reliable Event Logging Protocol of rsyslog's librelp, doc/relp.md in
 * github.com/rsyslog/librelp): `TXNR SP COMMAND SP DATALEN [SP DATA] LF`, TXNR and DATALEN 1-9
 * digits, COMMAND 1-32 letters, DATA exactly DATALEN octets (absent when DATALEN is 0).
 * The decoder is strict, as librelp is: any framing error ends the session (the peer reconnects and
 * re-sends what was not acknowledged), so it throws instead of guessing. DATA longer than `maxBytes`
 * keeps its first `maxBytes` (flagged truncated) and skips the rest, so memory stays bounded.
 */

export interface RelpFrame {
  txnr: number;
  command: string;
  data: Buffer;
  truncated: boolean;
}

export class RelpFramingError extends Error {}

const SP = 32;
const LF = 10;
const MAX_DIGITS = 9;
const MAX_COMMAND = 32;

type State = "txnr" | "command" | "datalen" | "data" | "trailer";

export class RelpDecoder {
  private state: State = "txnr";
  private txnr = 0;
  private digits = 0;
  private command = "";
  private datalen = 0;
  private need = 0; // DATA bytes still to read
  private keep = 0; // of `need`, how many are kept
  private parts: Buffer[] = [];
  private maxBytes: number;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  /** Decodes what `chunk` completes; throws RelpFramingError at the first violation. */
  push(chunk: Buffer): RelpFrame[] {
    const out: RelpFrame[] = [];
    let pos = 0;
    while (pos < chunk.length) {
      if (this.state === "data") {
        const take = Math.min(this.need, chunk.length - pos);
        const kept = Math.min(take, this.keep);
        if (kept > 0) this.parts.push(Buffer.from(chunk.subarray(pos, pos + kept)));
        this.keep -= kept;
        this.need -= take;
        pos += take;
        if (this.need === 0) this.state = "trailer";
        continue;
      }
      const b = chunk[pos++]!;
      switch (this.state) {
        case "txnr":
        case "datalen": {
          if (b >= 48 && b <= 57 && this.digits < MAX_DIGITS) {
            const v = (this.state === "txnr" ? this.txnr : this.datalen) * 10 + (b - 48);
            if (this.state === "txnr") this.txnr = v;
            else this.datalen = v;
            this.digits++;
            break;
          }
          if (this.digits === 0) throw new RelpFramingError(`expected a digit in ${this.state.toUpperCase()}, got byte ${b}`);
          if (this.state === "txnr") {
            if (b !== SP) throw new RelpFramingError(`expected SP after TXNR, got byte ${b}`);
            this.state = "command";
            this.digits = 0;
            break;
          }
          // After DATALEN: LF ends a frame without data; SP starts DATA.
          if (b === LF) {
            if (this.datalen !== 0) throw new RelpFramingError(`DATALEN ${this.datalen} but no data`);
            this.emit(out);
          } else if (b === SP) {
            this.need = this.datalen;
            this.keep = Math.min(this.datalen, this.maxBytes);
            this.state = this.datalen > 0 ? "data" : "trailer";
          } else throw new RelpFramingError(`expected SP or LF after DATALEN, got byte ${b}`);
          break;
        }
        case "command":
          if ((b >= 65 && b <= 90) || (b >= 97 && b <= 122)) {
            if (this.command.length >= MAX_COMMAND) throw new RelpFramingError("COMMAND longer than 32 letters");
            this.command += String.fromCharCode(b);
          } else if (b === SP && this.command.length > 0) {
            this.state = "datalen";
            this.digits = 0;
          } else throw new RelpFramingError(`invalid byte ${b} in COMMAND`);
          break;
        case "trailer":
          if (b !== LF) throw new RelpFramingError(`expected the LF trailer after ${this.datalen} octets of DATA, got byte ${b}`);
          this.emit(out);
          break;
      }
    }
    return out;
  }

  private emit(out: RelpFrame[]): void {
    out.push({ txnr: this.txnr, command: this.command, data: this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts), truncated: this.datalen > this.maxBytes });
    this.state = "txnr";
    this.txnr = 0;
    this.digits = 0;
    this.command = "";
    this.datalen = 0;
    this.parts = [];
  }
}

/** One frame on the wire: `TXNR SP COMMAND SP DATALEN [SP DATA] LF`. */
export function encodeRelpFrame(txnr: number, command: string, data: string | Buffer = ""): Buffer {
  const d = typeof data === "string" ? Buffer.from(data) : data;
  const head = `${txnr} ${command} ${d.length}`;
  return d.length ? Buffer.concat([Buffer.from(head + " "), d, Buffer.from("\n")]) : Buffer.from(head + "\n");
}

/**
 * The offers of an `open` command's DATA: LF-separated `name[=value[,value]*]`
 * (e.g. `relp_version=0`, `commands=syslog`). Unknown offers are kept; the caller ignores them.
 */
export function parseOffers(data: Buffer): Map<string, string[]> {
  const offers = new Map<string, string[]>();
  for (const line of data.toString("latin1").split("\n")) {
    if (!line) continue;
    const eq = line.indexOf("=");
    const name = eq < 0 ? line : line.slice(0, eq);
    offers.set(name, eq < 0 ? [] : line.slice(eq + 1).split(",").filter(Boolean));
  }
  return offers;
}
