/**
 * The plain reference of ip.ts's hand-written address parsers: IPv4 by a regex, IPv6 by splitting on
 * "::" and ":" (what ip.ts did before it parsed in place), for the property test that holds them equal
 * (test/unit/ip.test.ts). Not on any hot path; change both or neither.
 */

const OCTET = "(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
const IPV4 = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);

/** parseIPv4: dotted quad, no leading zeros → uint32, or -1. */
export function parseIPv4Reference(s: string): number {
  const m = IPV4.exec(s);
  return m ? ((Number(m[1]) * 256 + Number(m[2])) * 256 + Number(m[3])) * 256 + Number(m[4]) : -1;
}

/** parseIPv6: 8 groups, or null. */
export function parseIPv6Reference(input: string): number[] | null {
  const s = input.split("%")[0]!;
  if (s.length < 2 || s.length > 45) return null;
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const head = halves[0] === "" ? [] : groups(halves[0]!, halves.length === 1);
  const tail = halves.length === 1 || halves[1] === "" ? [] : groups(halves[1]!, true);
  if (!head || !tail) return null;
  if (halves.length === 1) return head.length === 8 ? head : null;
  if (head.length + tail.length > 7) return null;
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

function groups(s: string, ipv4TailAllowed: boolean): number[] | null {
  const parts = s.split(":");
  const out: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (i === parts.length - 1 && ipv4TailAllowed && p.includes(".")) {
      const v4 = parseIPv4Reference(p);
      if (v4 < 0) return null;
      out.push(Math.floor(v4 / 65536), v4 % 65536);
    } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) out.push(parseInt(p, 16));
    else return null;
  }
  return out;
}
