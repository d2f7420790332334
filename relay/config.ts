/**
 * Relay configuration: command-line flags, each also an environment variable (`PORCHLIGHT_<FLAG>`,
 * plus the historical `PORCHLIGHT_URL` for --endpoint), and an optional JSON file (`--config FILE`)
 * whose keys are the flag names. Precedence: flag > environment > file > default. Anything invalid
 * raises ConfigError, which main turns into one message on stderr and exit code 2.
 */
import { readFileSync } from "node:fs";
import { LOG_LEVELS, type LogLevel } from "./log.ts";

export class ConfigError extends Error {}

export interface HostPort {
  host: string;
  port: number;
}

export interface RelayConfig {
  endpoint: string; // full URL of POST /v1/ingest
  token: string;
  name: string;
  spool: string;
  udp: HostPort | null;
  tcp: HostPort | null;
  tls: HostPort | null;
  relp: HostPort | null;
  tlsCert: string | null;
  tlsKey: string | null;
  tlsCa: string | null;
  files: string[];
  fileStart: "end" | "beginning";
  filePollMs: number;
  stdin: boolean;
  metrics: HostPort | null;
  batchLines: number;
  batchBytes: number;
  batchWaitMs: number;
  spoolMaxBytes: number;
  spoolFsyncMs: number;
  udpFullPolicy: "drop-oldest" | "drop-newest";
  udpRecvBuffer: number;
  maxMessageBytes: number;
  retryBaseMs: number;
  retryMaxMs: number;
  requestTimeoutMs: number;
  inflight: number;
  unhealthyAfterS: number;
  shutdownTimeoutMs: number;
  logLevel: LogLevel;
}

type Kind = "string" | "int" | "bool" | "list" | "hostport";
interface Flag {
  name: string;
  kind: Kind;
  env?: string;
  def?: string | number | boolean;
  help: string;
  min?: number;
  max?: number;
}

/** Edge ingest limits (workers/constants.ts INGEST_MAX_BYTES / INGEST_MAX_LINES): a batch must fit. */
const EDGE_MAX_BATCH_BYTES = 1_048_576;
const EDGE_MAX_BATCH_LINES = 5000;
/**
 * Batches in flight by default, chosen with `npm run bench -- e2e` (relay → wrangler dev + local D1,
 * 2 cores shared with other work, so single runs are noisy): a 40,000-line backlog drained, over
 * four runs, at a median of 2,993 / 3,239 / 4,189 / 3,445 lines/s with 1 / 2 / 4 / 8 in flight.
 * A real edge a round trip away gains more from it; flow control halves it under 429/503.
 */
const DEFAULT_INFLIGHT = 4;

export const FLAGS: Flag[] = [
  { name: "config", kind: "string", help: "JSON file whose keys are these flag names" },
  { name: "endpoint", kind: "string", env: "PORCHLIGHT_URL", help: "edge base URL (…/v1/ingest is appended unless present)" },
  { name: "token", kind: "string", env: "PORCHLIGHT_TOKEN", help: "ingest token (Bearer); prefer the environment or --token-file: argv is visible to every local user" },
  { name: "token-file", kind: "string", help: "file holding the ingest token (e.g. a Docker secret, /run/secrets/…), instead of --token" },
  { name: "name", kind: "string", help: "relay name, sent as X-Porchlight-Relay (default: hostname)" },
  { name: "spool", kind: "string", def: ".porchlight/spool", help: "spool directory (segments, cursor, file offsets, dead letters)" },
  { name: "udp", kind: "hostport", help: "listen for syslog over UDP, e.g. 0.0.0.0:5514" },
  { name: "tcp", kind: "hostport", help: "listen for syslog over TCP (octet counting or newline framing)" },
  { name: "tls", kind: "hostport", help: "listen for syslog over TLS (RFC 5425)" },
  { name: "relp", kind: "hostport", help: "listen for RELP (rsyslog omrelp, syslog-ng relp()): each message acknowledged once fsynced in the spool" },
  { name: "tls-cert", kind: "string", help: "TLS server certificate (PEM)" },
  { name: "tls-key", kind: "string", help: "TLS server key (PEM)" },
  { name: "tls-ca", kind: "string", help: "CA (PEM): when set, clients must present a certificate it signed" },
  { name: "file", kind: "list", help: "follow a file like tail -F (repeatable)" },
  { name: "file-start", kind: "string", def: "end", help: "where to start a file seen for the first time: end|beginning" },
  { name: "file-poll-ms", kind: "int", def: 250, min: 10, max: 60_000, help: "how often followed files are checked" },
  { name: "stdin", kind: "bool", def: false, help: "read newline-separated messages from stdin" },
  { name: "metrics", kind: "hostport", help: "serve /metrics and /healthz, e.g. 0.0.0.0:9514" },
  { name: "batch-lines", kind: "int", def: 1000, min: 1, max: EDGE_MAX_BATCH_LINES, help: "close a batch at this many lines" },
  { name: "batch-bytes", kind: "int", def: 262_144, min: 1024, max: EDGE_MAX_BATCH_BYTES, help: "close a batch at this many bytes (uncompressed NDJSON)" },
  { name: "batch-wait-ms", kind: "int", def: 1000, min: 1, max: 600_000, help: "close a batch when its first line is this old" },
  { name: "spool-max-bytes", kind: "int", def: 1_073_741_824, min: 65_536, help: "spool size bound; see --udp-full-policy" },
  { name: "spool-fsync-ms", kind: "int", def: 100, min: 1, max: 10_000, help: "group-commit interval: appended lines are fsynced within this time" },
  { name: "udp-full-policy", kind: "string", def: "drop-oldest", help: "when the spool is full, UDP drops the oldest spooled data or the newest message: drop-oldest|drop-newest" },
  { name: "udp-recv-buffer", kind: "int", def: 4_194_304, min: 65_536, help: "requested SO_RCVBUF, bytes (capped by net.core.rmem_max)" },
  { name: "max-message-bytes", kind: "int", def: 65_536, min: 256, max: 163_840, help: "longer messages are truncated and flagged" },
  { name: "retry-base-ms", kind: "int", def: 500, min: 1, help: "first retry delay" },
  { name: "retry-max-ms", kind: "int", def: 30_000, min: 1, help: "largest retry delay (Retry-After may ask for more, up to 10 min)" },
  { name: "request-timeout-ms", kind: "int", def: 30_000, min: 100, help: "timeout of one POST" },
  { name: "inflight", kind: "int", def: DEFAULT_INFLIGHT, min: 1, max: 64, help: "most batches in flight to the edge at once (halved on 429/503 and errors, regrown on success)" },
  { name: "unhealthy-after-s", kind: "int", def: 300, min: 1, help: "/healthz fails when the edge has been unreachable this long" },
  { name: "shutdown-timeout-ms", kind: "int", def: 10_000, min: 0, help: "on SIGTERM, time allowed to flush before exiting (the rest stays spooled)" },
  { name: "log-level", kind: "string", def: "info", help: "debug|info|warn|error" },
];

export function envName(f: Flag): string {
  return f.env ?? "PORCHLIGHT_" + f.name.toUpperCase().replace(/-/g, "_");
}

export function helpText(): string {
  const lines = [
    "porchlight-relay: receive syslog (UDP, TCP, TLS, RELP, files, stdin), spool it on disk, forward it to the Porchlight edge.",
    "",
    "Usage: porchlight-relay --endpoint URL --token T [--udp HOST:PORT] [--tcp HOST:PORT] [--tls HOST:PORT ...] [--relp HOST:PORT] [options]",
    "",
    "Options (each also an environment variable; `--config FILE` takes the same names as JSON keys):",
  ];
  for (const f of FLAGS) {
    const arg = f.kind === "bool" ? "" : f.kind === "int" ? " N" : f.kind === "hostport" ? " HOST:PORT" : " VALUE";
    const def = f.def !== undefined && f.kind !== "bool" ? ` (default ${f.def})` : "";
    lines.push(`  --${f.name}${arg}`.padEnd(34) + `${f.help}${def} [${envName(f)}]`);
  }
  lines.push("  --help".padEnd(34) + "print this help");
  return lines.join("\n") + "\n";
}

export function parseHostPort(s: string, what: string): HostPort {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]*)):(\d{1,5})$/.exec(s.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new ConfigError(`--${what}: expected HOST:PORT (e.g. 0.0.0.0:5514 or [::]:5514), got "${s}"`);
  return { host: m[1] ?? (m[2] || "0.0.0.0"), port };
}

function coerce(f: Flag, v: unknown, origin: string): string | number | boolean | string[] {
  const bad = (why: string) => new ConfigError(`--${f.name} (${origin}): ${why}, got ${JSON.stringify(v)}`);
  switch (f.kind) {
    case "bool":
      if (typeof v === "boolean") return v;
      if (v === "true" || v === "1" || v === "") return true;
      if (v === "false" || v === "0") return false;
      throw bad("expected true or false");
    case "int": {
      const n = typeof v === "number" ? v : typeof v === "string" && /^\d+$/.test(v.trim()) ? Number(v) : NaN;
      if (!Number.isSafeInteger(n)) throw bad("expected a whole number");
      if (f.min !== undefined && n < f.min) throw bad(`must be at least ${f.min}`);
      if (f.max !== undefined && n > f.max) throw bad(`must be at most ${f.max}`);
      return n;
    }
    case "list":
      if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v as string[];
      if (typeof v === "string") return origin === "environment" ? v.split(",").filter(Boolean) : [v];
      throw bad("expected a path or a list of paths");
    default:
      if (typeof v !== "string") throw bad("expected a string");
      return v;
  }
}

/** The ingest token, given inline or as a file (whitespace around it ignored); exactly one of them. */
function tokenFrom(inline: string | undefined, file: string | undefined): string {
  if (inline && file) throw new ConfigError("--token and --token-file both given: use one [PORCHLIGHT_TOKEN, PORCHLIGHT_TOKEN_FILE]");
  if (!file) {
    if (!inline) throw new ConfigError("--token or --token-file is required (an ingest token) [PORCHLIGHT_TOKEN, PORCHLIGHT_TOKEN_FILE]");
    return inline;
  }
  let text: string;
  try {
    text = readFileSync(file, "utf8").trim();
  } catch (e) {
    throw new ConfigError(`--token-file: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (!text || /\s/.test(text)) throw new ConfigError(`--token-file: ${file} must hold the token alone (one word, no blank lines)`);
  return text;
}

/** Builds the configuration; throws ConfigError. Returns "help" when --help was asked. */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): RelayConfig | "help" {
  const byName = new Map(FLAGS.map((f) => [f.name, f]));
  const fromArgs = new Map<string, unknown>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--help" || a === "-h") return "help";
    if (!a.startsWith("--")) throw new ConfigError(`unexpected argument "${a}" (flags start with --; see --help)`);
    const eq = a.indexOf("=");
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    const f = byName.get(name);
    if (!f) throw new ConfigError(`unknown flag --${name} (see --help)`);
    let v: unknown;
    if (eq > 0) v = a.slice(eq + 1);
    else if (f.kind === "bool") v = argv[i + 1] === "true" || argv[i + 1] === "false" ? argv[++i] : true;
    else {
      if (i + 1 >= argv.length) throw new ConfigError(`--${name} needs a value`);
      v = argv[++i];
    }
    const c = coerce(f, v, "flag");
    if (f.kind === "list") fromArgs.set(name, [...((fromArgs.get(name) as string[]) ?? []), ...(c as string[])]);
    else fromArgs.set(name, c);
  }
  const configPath = (fromArgs.get("config") as string | undefined) ?? env[envName(byName.get("config")!)];
  let fromFile: Record<string, unknown> = {};
  if (configPath) {
    let text: string;
    try {
      text = readFileSync(configPath, "utf8");
    } catch (e) {
      throw new ConfigError(`--config: cannot read ${configPath}: ${(e as Error).message}`);
    }
    try {
      fromFile = JSON.parse(text) as Record<string, unknown>;
    } catch (e) {
      throw new ConfigError(`--config: ${configPath} is not valid JSON: ${(e as Error).message}`);
    }
    if (typeof fromFile !== "object" || fromFile === null || Array.isArray(fromFile)) throw new ConfigError(`--config: ${configPath} must hold a JSON object`);
    for (const k of Object.keys(fromFile)) if (!byName.has(k) || k === "config") throw new ConfigError(`--config: unknown key "${k}" in ${configPath}`);
  }
  const get = (name: string): unknown => {
    const f = byName.get(name)!;
    if (fromArgs.has(name)) return fromArgs.get(name);
    const e = env[envName(f)];
    if (e !== undefined && e !== "") return coerce(f, e, "environment");
    if (name in fromFile) return coerce(f, fromFile[name], "config file");
    return f.def;
  };
  const str = (n: string) => get(n) as string | undefined;
  const int = (n: string) => get(n) as number;
  const hp = (n: string) => {
    const v = str(n);
    return v ? parseHostPort(v, n) : null;
  };

  const endpointRaw = str("endpoint");
  if (!endpointRaw) throw new ConfigError("--endpoint is required (the edge URL, e.g. https://porchlight.example.workers.dev) [PORCHLIGHT_URL]");
  let url: URL;
  try {
    url = new URL(endpointRaw);
  } catch {
    throw new ConfigError(`--endpoint: not a URL: "${endpointRaw}"`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new ConfigError(`--endpoint: must be http:// or https://, got "${endpointRaw}"`);
  if (!url.pathname.endsWith("/v1/ingest")) url.pathname = url.pathname.replace(/\/+$/, "") + "/v1/ingest";
  const token = tokenFrom(str("token"), str("token-file"));

  const fileStart = str("file-start");
  if (fileStart !== "end" && fileStart !== "beginning") throw new ConfigError(`--file-start: expected end or beginning, got "${fileStart}"`);
  const policy = str("udp-full-policy");
  if (policy !== "drop-oldest" && policy !== "drop-newest") throw new ConfigError(`--udp-full-policy: expected drop-oldest or drop-newest, got "${policy}"`);
  const logLevel = str("log-level") as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`--log-level: expected one of ${LOG_LEVELS.join(", ")}, got "${logLevel}"`);

  const cfg: RelayConfig = {
    endpoint: url.toString(),
    token,
    name: str("name") || (env.HOSTNAME ?? "relay"),
    spool: str("spool")!,
    udp: hp("udp"),
    tcp: hp("tcp"),
    tls: hp("tls"),
    relp: hp("relp"),
    tlsCert: str("tls-cert") ?? null,
    tlsKey: str("tls-key") ?? null,
    tlsCa: str("tls-ca") ?? null,
    files: (get("file") as string[] | undefined) ?? [],
    fileStart,
    filePollMs: int("file-poll-ms"),
    stdin: get("stdin") as boolean,
    metrics: hp("metrics"),
    batchLines: int("batch-lines"),
    batchBytes: int("batch-bytes"),
    batchWaitMs: int("batch-wait-ms"),
    spoolMaxBytes: int("spool-max-bytes"),
    spoolFsyncMs: int("spool-fsync-ms"),
    udpFullPolicy: policy,
    udpRecvBuffer: int("udp-recv-buffer"),
    maxMessageBytes: int("max-message-bytes"),
    retryBaseMs: int("retry-base-ms"),
    retryMaxMs: int("retry-max-ms"),
    requestTimeoutMs: int("request-timeout-ms"),
    inflight: int("inflight"),
    unhealthyAfterS: int("unhealthy-after-s"),
    shutdownTimeoutMs: int("shutdown-timeout-ms"),
    logLevel,
  };
  if (cfg.tls && (!cfg.tlsCert || !cfg.tlsKey)) throw new ConfigError("--tls needs --tls-cert and --tls-key");
  if (!cfg.tls && (cfg.tlsCert || cfg.tlsKey || cfg.tlsCa)) throw new ConfigError("--tls-cert/--tls-key/--tls-ca given without --tls HOST:PORT");
  for (const [flag, p] of [["tls-cert", cfg.tlsCert], ["tls-key", cfg.tlsKey], ["tls-ca", cfg.tlsCa]] as const) {
    if (!p) continue;
    try {
      readFileSync(p);
    } catch (e) {
      throw new ConfigError(`--${flag}: cannot read ${p}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  if (!cfg.udp && !cfg.tcp && !cfg.tls && !cfg.relp && cfg.files.length === 0 && !cfg.stdin) throw new ConfigError("no source: give at least one of --udp, --tcp, --tls, --relp, --file, --stdin");
  if (cfg.retryMaxMs < cfg.retryBaseMs) throw new ConfigError("--retry-max-ms must be at least --retry-base-ms");
  return cfg;
}
