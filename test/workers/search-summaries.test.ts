/**
 * Search summaries in workerd with real D1, through the API: events ingested over four closed hours, the
 * summary Cron Trigger merging their parts, and `GET /v1/events` then reading far fewer rows (the
 * X-Porchlight-Rows-Read header) for a rare address, its CIDR and a rare word, with the same results as
 * before the merge; a late event for a skipped hour is still found.
 */
import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../workers/index.ts";
import { SUMMARY_CRON } from "../../workers/scheduled.ts";
import { api, ingest } from "./api-client.ts";

const HOUR = 3_600_000;
const RARE = "198.18.7.77";
const fw = (ms: number, host: string, src: string, i: number) =>
  `<4>1 ${new Date(ms).toISOString()} ${host} kernel - - - DROP IN=eth0 OUT= SRC=${src} DST=192.0.2.1 PROTO=TCP SPT=${1000 + i} DPT=22`;
const sshd = (ms: number, host: string, src: string, user: string) =>
  `<38>1 ${new Date(ms).toISOString()} ${host} sshd 1 - - Failed password for ${user} from ${src} port 4242 ssh2`;

async function search(query: string): Promise<{ ids: string[]; rowsRead: number }> {
  const res = await api(`/v1/events?${query}&limit=1000`);
  expect(res.status).toBe(200);
  const body = (await res.json()) as { events: { event: { id: string } }[] };
  return { ids: body.events.map((e) => e.event.id), rowsRead: Number(res.headers.get("x-porchlight-rows-read")) };
}

async function summaryCron(now: number): Promise<void> {
  const ctx = createExecutionContext();
  await worker.scheduled!(createScheduledController({ scheduledTime: now, cron: SUMMARY_CRON }), env, ctx);
  await waitOnExecutionContext(ctx);
}

describe("search summaries through the API", () => {
  it("skip the hours that cannot match once merged, with the same results", async () => {
    const now = Date.now();
    const H = Math.floor(now / HOUR) * HOUR - 6 * HOUR;
    const host = `sum-${now.toString(36)}`;
    // Hour 0: one failed login of a rare user from the rare address; hours 1-3: 150 drops each.
    const lines = [
      sshd(H + 60_000, host, RARE, "zebracorn"),
      ...Array.from({ length: 450 }, (_, i) => fw(H + HOUR * (1 + (i % 3)) + i * 1000, host, `203.0.113.${i % 200}`, i)),
    ];
    const r = await ingest(lines, { headers: { "idempotency-key": `sum-${host}` } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.stored).toBe(451);
    const range = `host=${host}&from=${new Date(H).toISOString()}&to=${new Date(H + 4 * HOUR - 1).toISOString()}`;

    const before = {
      ip: await search(`${range}&src_ip=${RARE}`),
      cidr: await search(`${range}&src_ip=198.18.7.0/24`),
      word: await search(`${range}&q=zebracorn`),
      all: await search(`${range}&q=failed`),
    };
    expect(before.ip.ids).toHaveLength(1);
    expect(before.cidr.ids).toEqual(before.ip.ids);
    expect(before.word.ids).toEqual(before.ip.ids);
    // Unmerged hours are all scanned: every event of the range is read.
    expect(before.ip.rowsRead).toBeGreaterThanOrEqual(451);

    await summaryCron(now);
    for (const [name, q] of [["ip", `src_ip=${RARE}`], ["cidr", "src_ip=198.18.7.0/24"], ["word", "q=zebracorn"]] as const) {
      const after = await search(`${range}&${q}`);
      expect(after.ids, name).toEqual(before[name].ids);
      // Only hour 0 (one event) is scanned now, plus the summaries and the request's own reads.
      expect(after.rowsRead, name).toBeLessThan(50);
    }
    // A search every hour matches still reads them all and finds the same.
    expect((await search(`${range}&q=failed`)).ids).toEqual(before.all.ids);

    // A late event with the rare address in hour 2: its unmerged part makes hour 2 a candidate again.
    const late = await ingest([fw(H + 2 * HOUR + 999_000, host, RARE, 999)], { headers: { "idempotency-key": `sum-late-${host}` } });
    expect(late.body.stored).toBe(1);
    expect((await search(`${range}&src_ip=${RARE}`)).ids).toHaveLength(2);
    await summaryCron(now);
    const merged = await search(`${range}&src_ip=${RARE}`);
    expect(merged.ids).toHaveLength(2);
    // Hours 0 and 2 scanned: 1 + 151 events, hours 1 and 3 skipped.
    expect(merged.rowsRead).toBeLessThan(before.ip.rowsRead - 250);
  });
});
