/**
 * CPU timing shared by the benches. Workers bill CPU time excluding I/O waits, so the benches time
 * CPU (process.cpuUsage, user + system), not wall time. Figures are in ms.
 */

/** CPU ms of one synchronous call of `f`. */
export function cpuMs(f: () => void): number {
  const a = process.cpuUsage();
  f();
  const d = process.cpuUsage(a);
  return (d.user + d.system) / 1000;
}

export interface CpuFigure {
  median: number;
  p95: number;
}

/** Median and 95th percentile of `xs` (sorted in place). */
export function medianP95(xs: number[]): CpuFigure {
  xs.sort((a, b) => a - b);
  const n = xs.length;
  return { median: xs[Math.floor(n / 2)]!, p95: xs[Math.min(n - 1, Math.floor(n * 0.95))]! };
}
