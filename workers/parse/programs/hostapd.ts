/**
 * hostapd (Wi-Fi access point daemon, OpenWrt's `hostapd`/`wpad`): station events per interface —
 * `wlan0: STA <mac> IEEE 802.11: associated|authenticated|disassociated|deauthenticated`, control
 * interface events `AP-STA-CONNECTED <mac>` / `AP-STA-DISCONNECTED <mac>` /
 * `AP-STA-POSSIBLE-PSK-MISMATCH <mac>`, and WPA handshake results. The station is `source.mac`.
 */
import type { ProgramFields, SyslogMessage } from "../types.ts";
import { ingressObserver, mac as normMac } from "./common.ts";

const STA_RE = /^(?:(\S+): )?STA ([0-9a-fA-F:]{17}) (IEEE 802\.11|WPA|IEEE 802\.1X|RADIUS|DRIVER): (.+)$/;
const CTRL_RE = /^(?:(\S+): )?(AP-STA-[A-Z-]+|EAPOL-4WAY-HS-COMPLETED|CTRL-EVENT-[A-Z-]+) ([0-9a-fA-F:]{17})/;

export function parseHostapd(msg: string, _syslog?: SyslogMessage): ProgramFields | null {
  let m = CTRL_RE.exec(msg);
  if (m) {
    const ev = m[2]!;
    const [action, type, outcome]: [string, string, "success" | "failure" | undefined] =
      ev === "AP-STA-CONNECTED" ? ["connected", "start", "success"]
      : ev === "AP-STA-DISCONNECTED" ? ["disconnected", "end", undefined]
      : ev === "AP-STA-POSSIBLE-PSK-MISMATCH" ? ["psk_mismatch", "start", "failure"]
      : ev === "EAPOL-4WAY-HS-COMPLETED" ? ["wpa_handshake_completed", "start", "success"]
      : [ev.toLowerCase().replaceAll("-", "_"), "info", undefined];
    return station(m[1], m[3]!, action!, type!, outcome, ev === "AP-STA-POSSIBLE-PSK-MISMATCH" ? ["network", "authentication"] : ["network"]);
  }
  m = STA_RE.exec(msg);
  if (!m) return null;
  const layer = m[3]!, text = m[4]!;
  let action: string, type = "info", outcome: "success" | "failure" | undefined;
  let category = ["network"];
  if (/^associated/.test(text)) { action = "associated"; type = "start"; }
  else if (/^reassociated/.test(text)) { action = "reassociated"; type = "start"; }
  else if (/^authenticated/.test(text)) { action = "authenticated"; type = "start"; outcome = "success"; }
  else if (/^disassociated/.test(text)) { action = "disassociated"; type = "end"; }
  else if (/^deauthenticated/.test(text)) { action = "deauthenticated"; type = "end"; }
  else if (/pairwise key handshake completed/.test(text)) { action = "wpa_handshake_completed"; type = "start"; outcome = "success"; }
  else if (/authentication failed|invalid MIC|4-Way Handshake failed/i.test(text)) { action = "auth_failed"; outcome = "failure"; category = ["network", "authentication"]; }
  else action = `${layer === "WPA" ? "wpa" : "sta"}_event`;
  const f = station(m[1], m[2]!, action, type, outcome, category);
  (f.porchlight ??= {}).fields = { ...(f.porchlight?.fields ?? {}), hostapd_message: text };
  return f;
}

function station(iface: string | undefined, mac: string, action: string, type: string, outcome: "success" | "failure" | undefined, category: string[]): ProgramFields {
  const f: ProgramFields = { event: { dataset: "hostapd", category, type: [type], action } };
  if (outcome) f.event.outcome = outcome;
  const m = normMac(mac);
  if (m) f.source = { mac: m };
  if (iface) f.observer = ingressObserver(iface);
  return f;
}
