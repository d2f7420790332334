/**
 * The plain reference of iptables.ts's hand-written scanners: the same answers written the obvious way
 * (split, regexes, a Map), for the property test that holds the fast paths to them
 * (test/unit/iptables-reference.test.ts). Not on the hot path; change both or neither.
 */
import { KEY_NAMES, type NetfilterValues } from "./iptables.ts";

/** netfilterStart: the first IN= (else OUT=) not glued to a letter, when SRC= comes after it. */
export function netfilterStartReference(msg: string): number {
  for (const key of ["IN=", "OUT="]) {
    const m = new RegExp(`(?<![A-Za-z])${key}`).exec(msg);
    if (m) return msg.indexOf("SRC=", m.index) > 0 ? m.index : -1;
  }
  return -1;
}

/** scan: the first value of each key in KEY_NAMES and the bare words, up to an embedded "[SRC=" packet. */
export function scanReference(msg: string, from: number): NetfilterValues {
  const values = new Map<string, string>();
  const words: string[] = [];
  for (const tok of msg.slice(from).split(" ")) {
    if (tok === "") continue;
    if (tok.startsWith("[SRC=")) break;
    const eq = tok.indexOf("=");
    if (eq < 0) words.push(tok);
    else if (KEY_NAMES.includes(tok.slice(0, eq)) && !values.has(tok.slice(0, eq))) values.set(tok.slice(0, eq), tok.slice(eq + 1));
  }
  return [...KEY_NAMES.map((k) => values.get(k)), words.join(" ")];
}

/** isWanish: the regex its comment names. */
export function isWanishReference(s: string): boolean {
  return /^(?:wan|ppp|wwan|erouter|pppoe)/i.test(s);
}

/** uptimeStampEnd: "[ 1234.567890]" (at least two digits, one dot) within s[0, end). */
export function uptimeStampEndReference(s: string, end: number): number {
  const m = /^\[ *(\d+)\.(\d*)\]/.exec(s.slice(0, end));
  return m && m[1]!.length + m[2]!.length > 1 ? m[0].length - 1 : -1;
}
