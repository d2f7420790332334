/**
 * Usage page: GET /v1/usage as a table (today against the Free plan's daily limits, the month and its
 * projection against the Paid plan's allowances) and a warning line when a figure reaches 70 % of a
 * limit, well before writes start failing.
 */
import { api } from "./api.ts";
import { $, clear, h, showMsg } from "./dom.ts";

type Check = { metric: string; plan: "free" | "paid"; period: "day" | "month"; used: number; limit: number; fraction: number; level: "ok" | "warning" | "over" };
type Usage = {
  today: Record<string, number | string>;
  month: Record<string, number | string>;
  projection: Record<string, number>;
  projected_overage_usd: number;
  checks: Check[];
  level: "ok" | "warning" | "over";
};

const LABELS: [string, string][] = [
  ["worker_requests", "Worker requests"],
  ["d1_rows_read", "D1 rows read"],
  ["d1_rows_written", "D1 rows written"],
  ["d1_queries", "D1 queries"],
  ["d1_bytes", "D1 storage (bytes)"],
  ["do_requests", "Durable Object requests"],
  ["r2_class_a", "R2 class A operations"],
  ["r2_class_b", "R2 class B operations"],
  ["notifications", "Notifications sent"],
];

const num = (n: unknown) => (typeof n === "number" ? n.toLocaleString("en-US") : "–");

export function usagePage(): void {
  async function load(): Promise<void> {
    try {
      const u = await api<Usage>("/v1/usage");
      const rows = $("#usage-rows")!;
      clear(rows);
      for (const [key, label] of LABELS) {
        const free = u.checks.find((c) => c.metric === key && c.plan === "free");
        const paid = u.checks.find((c) => c.metric === key && c.plan === "paid");
        const cell = (v: unknown, c?: Check) => h("td", { class: c ? `lvl-${c.level}` : "" }, num(v), c && c.level !== "ok" ? ` (${Math.round(c.fraction * 100)} %)` : "");
        rows.append(
          h("tr", { "data-metric": key },
            h("th", { scope: "row" }, label),
            cell(u.today[key], free),
            h("td", {}, free ? num(free.limit) : "–"),
            h("td", {}, num(u.month[key])),
            cell(u.projection[key], paid),
            h("td", {}, paid ? num(paid.limit) : "–"),
          ),
        );
      }
      $("#usage-overage")!.textContent = `Projected cost beyond the Paid plan's allowances this month: $${u.projected_overage_usd.toFixed(2)} (plus the $5 subscription).`;
      const level = $("#usage-level")!;
      const worst = u.checks.filter((c) => c.level !== "ok").sort((a, b) => b.fraction - a.fraction);
      level.hidden = worst.length === 0;
      level.className = `msg ${u.level === "over" ? "error" : "warning"}`;
      level.textContent = worst
        .map((c) => `${LABELS.find(([k]) => k === c.metric)?.[1] ?? c.metric}: ${Math.round(c.fraction * 100)} % of the ${c.plan === "free" ? "Free plan's daily" : "monthly"} limit${c.period === "month" ? " (projected)" : ""}`)
        .join("; ");
    } catch (e) {
      showMsg(e instanceof Error ? e.message : String(e));
    }
  }
  setInterval(() => void load(), 60_000);
  void load();
}
