/**
 * Overview page: charts from GET /v1/stats/overview drawn with uPlot (served from this origin, loaded
 * only on this page so the first page stays light). Colours follow the light/dark theme.
 */
import { api } from "./api.ts";
import { $, clear, h, showMsg } from "./dom.ts";
import type { Overview } from "../../workers/api-types.ts";


// uPlot is a global from /uplot.min.js (IIFE build); typed loosely to keep its types out of the bundle.
type UPlotCtor = new (opts: Record<string, unknown>, data: (number | null)[][], el: HTMLElement) => { destroy(): void };
declare const uPlot: UPlotCtor & { paths: { bars: (o: Record<string, unknown>) => unknown } };

const PALETTE = ["#f59e0b", "#3b82f6", "#10b981", "#ef4444", "#8b5cf6", "#ec4899", "#14b8a6", "#84cc16"];

function css(name: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || "#888";
}

export function overviewPage(): void {
  const form = $<HTMLFormElement>("#filters")!;
  let plots: { destroy(): void }[] = [];
  let data: Overview | null = null;

  function chart(el: HTMLElement, x: number[], series: [string, number[]][], bars = false): void {
    clear(el);
    const fg = css("--fg");
    const grid = css("--line");
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } };
    const opts = {
      width: Math.max(280, el.clientWidth),
      height: 200,
      legend: { show: series.length > 1 },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true } },
      // Counts are whole numbers: only integer ticks on the y axis.
      axes: [axis, { ...axis, size: 48, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 1e6] }],
      series: [
        {},
        ...series.map(([label], i) => ({
          label,
          stroke: PALETTE[i % PALETTE.length],
          fill: `${PALETTE[i % PALETTE.length]}33`,
          width: 2,
          ...(bars ? { paths: uPlot.paths.bars({ size: [0.7, 40] }), points: { show: false } } : {}),
        })),
      ],
    };
    plots.push(new uPlot(opts, [x.map((t) => t / 1000), ...series.map(([, v]) => v)], el));
  }

  function draw(): void {
    for (const p of plots) p.destroy();
    plots = [];
    if (!data) return;
    if (typeof uPlot === "undefined") {
      showMsg("Chart library failed to load.");
      return;
    }
    const ev = data.events_per_hour;
    const names = Object.keys(ev.series).sort();
    chart($("#c-events")!, ev.buckets, names.length ? names.map((n) => [n, ev.series[n]!]) : [["events", ev.buckets.map(() => 0)]]);
    chart($("#c-logins")!, data.failed_logins_per_hour.buckets, [["failed logins", data.failed_logins_per_hour.counts]]);
    chart($("#c-alerts")!, data.alerts_per_day.buckets, [["alerts", data.alerts_per_day.counts]], true);
    const ol = $("#c-blocked")!;
    clear(ol);
    const max = Math.max(1, ...data.top_blocked_sources.map((s) => s.count));
    for (const s of data.top_blocked_sources) {
      const bar = h("span", { class: "bar", "aria-hidden": "true" });
      bar.style.width = `${Math.round((s.count / max) * 100)}%`;
      ol.append(h("li", {}, h("a", { href: `/events?${new URLSearchParams({ src_ip: s.ip, last: (form.elements.namedItem("last") as HTMLSelectElement).value })}` }, s.ip), h("span", { class: "n" }, String(s.count)), bar));
    }
    if (!data.top_blocked_sources.length) ol.append(h("li", { class: "empty" }, "Nothing blocked in this range."));
  }

  async function load(): Promise<void> {
    const last = (form.elements.namedItem("last") as HTMLSelectElement).value || "24h";
    try {
      data = await api<Overview>(`/v1/stats/overview?last=${encodeURIComponent(last)}`);
      draw();
      showMsg("");
    } catch (e) {
      showMsg(e instanceof Error ? e.message : String(e));
    }
  }
  form.addEventListener("change", () => void load());
  form.addEventListener("submit", (e) => e.preventDefault());
  let t: ReturnType<typeof setTimeout> | undefined;
  window.addEventListener("resize", () => {
    clearTimeout(t);
    t = setTimeout(draw, 200);
  });
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", draw);
  void load();
}
