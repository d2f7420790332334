/**
 * Relay metrics: counters, gauges and one histogram kept in memory, rendered in the Prometheus text
 * format on `/metrics`, plus `/healthz`. Every component (source, spool, sink) counts what it
 * received, sent, dropped and failed, so that any lost line can be accounted for.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

type Labels = Record<string, string>;

interface Family {
  type: "counter" | "gauge";
  help: string;
  values: Map<string, number>; // key = rendered label set `{a="b"}`
}

function labelKey(labels: Labels): string {
  const parts = Object.keys(labels).sort().map((k) => `${k}="${String(labels[k]).replace(/["\\\n]/g, "\\$&")}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

/** Batch delivery latency buckets, seconds (cut of the batch to its 2xx, retries included). */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export class Metrics {
  private families = new Map<string, Family>();
  private hist = { buckets: LATENCY_BUCKETS.map(() => 0), sum: 0, count: 0 };

  private family(name: string, type: Family["type"], help: string): Family {
    let f = this.families.get(name);
    if (!f) {
      f = { type, help, values: new Map() };
      this.families.set(name, f);
    }
    return f;
  }

  /** Adds `n` to a counter (created at 0 on first use, so zeros are visible before any event). */
  inc(name: string, labels: Labels, n = 1, help = ""): void {
    const f = this.family(name, "counter", help);
    const k = labelKey(labels);
    f.values.set(k, (f.values.get(k) ?? 0) + n);
  }

  set(name: string, labels: Labels, v: number, help = ""): void {
    this.family(name, "gauge", help).values.set(labelKey(labels), v);
  }

  get(name: string, labels: Labels = {}): number {
    return this.families.get(name)?.values.get(labelKey(labels)) ?? 0;
  }

  observeLatency(seconds: number): void {
    this.hist.count++;
    this.hist.sum += seconds;
    LATENCY_BUCKETS.forEach((b, i) => {
      if (seconds <= b) this.hist.buckets[i]!++;
    });
  }

  render(): string {
    const mem = process.memoryUsage();
    this.set("porchlight_relay_process_resident_memory_bytes", {}, mem.rss, "Resident set size of the relay process.");
    this.set("porchlight_relay_process_heap_used_bytes", {}, mem.heapUsed, "V8 heap in use.");
    this.set("porchlight_relay_process_heap_total_bytes", {}, mem.heapTotal, "V8 heap reserved.");
    this.set("porchlight_relay_process_external_bytes", {}, mem.external, "Memory of Buffers and other objects outside the V8 heap.");
    const out: string[] = [];
    for (const [name, f] of this.families) {
      if (f.help) out.push(`# HELP ${name} ${f.help}`);
      out.push(`# TYPE ${name} ${f.type}`);
      for (const [k, v] of f.values) out.push(`${name}${k} ${v}`);
    }
    const h = "porchlight_relay_batch_latency_seconds";
    out.push(`# HELP ${h} Time from cutting a batch to its 2xx, retries included.`, `# TYPE ${h} histogram`);
    LATENCY_BUCKETS.forEach((b, i) => out.push(`${h}_bucket{le="${b}"} ${this.hist.buckets[i]}`));
    out.push(`${h}_bucket{le="+Inf"} ${this.hist.count}`, `${h}_sum ${this.hist.sum}`, `${h}_count ${this.hist.count}`);
    return out.join("\n") + "\n";
  }
}

/** Parses Prometheus text into `name{labels}` → value (used by tests and the bench). */
export function parsePrometheus(text: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const i = line.lastIndexOf(" ");
    m.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return m;
}

export interface Health {
  healthy: boolean;
  detail: Record<string, unknown>;
}

/** Serves `/metrics` and `/healthz` on host:port; resolves with the bound address. */
export function serveMetrics(host: string, port: number, metrics: Metrics, health: () => Health): Promise<{ server: Server; address: string }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/metrics") {
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(metrics.render());
    } else if (path === "/healthz") {
      const h = health();
      res.writeHead(h.healthy ? 200 : 503, { "content-type": "application/json" }).end(JSON.stringify({ status: h.healthy ? "ok" : "unhealthy", ...h.detail }));
    } else {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      const a = server.address() as AddressInfo;
      resolve({ server, address: formatAddress(a.address, a.port) });
    });
  });
}

export function formatAddress(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
