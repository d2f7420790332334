/**
 * Program parsers, one family per block, on hand-built SyslogMessage values and through normalize():
 * the ECS fields a rule or a search relies on (dataset, action, outcome, addresses, ports, user, MACs).
 */
import { describe, expect, it } from "vitest";
import type { SyslogMessage } from "../../workers/parse/types.ts";
import { normalize, DEFAULT_CONTEXT } from "../../workers/parse/index.ts";
import { parseIptables } from "../../workers/parse/programs/iptables.ts";
import { parseUlogd } from "../../workers/parse/programs/ulogd.ts";
import { parsePfsense } from "../../workers/parse/programs/pfsense.ts";
import { parseSshd } from "../../workers/parse/programs/sshd.ts";
import { parseDropbear } from "../../workers/parse/programs/dropbear.ts";
import { parseSudo } from "../../workers/parse/programs/sudo.ts";
import { parseSu } from "../../workers/parse/programs/su.ts";
import { parseDnsmasq, parseDnsmasqDhcp } from "../../workers/parse/programs/dnsmasq.ts";
import { parseHostapd } from "../../workers/parse/programs/hostapd.ts";
import { parseArpwatch } from "../../workers/parse/programs/arpwatch.ts";
import { parseSynology } from "../../workers/parse/programs/synology.ts";
import { parseBackup } from "../../workers/parse/programs/backup.ts";
import { parseLuci } from "../../workers/parse/programs/luci.ts";
import { parseProgram, programKey } from "../../workers/parse/programs/index.ts";
import { compileRule } from "../../workers/rules/project.ts";
import type { RuleDef } from "../../workers/rules/types.ts";
import PACK from "../../workers/rules/default-pack.json" with { type: "json" };

const sys = (appName: string | undefined, msg: string): SyslogMessage => ({ format: "rfc3164", appName, msg });
const N = (raw: string) => normalize({ raw, receivedAt: Date.UTC(2026, 10, 22) }, DEFAULT_CONTEXT);

describe("iptables / nftables LOG", () => {
  it("reads OpenWrt's prefix glued to IN= as rule name and action, splits MAC, infers inbound from the WAN rule", () => {
    const msg = "[10051.313745] DROP(src wan)IN=eth0 OUT= MAC=c2:56:27:73:33:cf:c4:f0:81:b0:93:24:08:00 SRC=205.205.205.205 DST=192.168.8.100 LEN=44 TOS=0x00 PREC=0x00 TTL=31 ID=8549 PROTO=TCP SPT=40952 DPT=23 WINDOW=64144 RES=0x00 SYN URGP=0";
    const f = parseIptables(msg, sys("kernel", msg))!;
    expect(f.event).toMatchObject({ dataset: "iptables", action: "drop", category: ["network"], type: ["connection", "denied"] });
    expect(f.rule?.name).toBe("DROP(src wan)");
    expect(f.source).toEqual({ ip: "205.205.205.205", port: 40952, mac: "C4-F0-81-B0-93-24" });
    expect(f.destination).toEqual({ ip: "192.168.8.100", port: 23, mac: "C2-56-27-73-33-CF" });
    expect(f.network).toMatchObject({ transport: "tcp", type: "ipv4", direction: "inbound", bytes: 44, packets: 1 });
    expect(f.observer?.ingress?.interface?.name).toBe("eth0");
    expect(f.porchlight?.fields?.tcp_flags).toBe("SYN");
  });

  it("takes action and chain from an A=DROP C=inet prefix", () => {
    const msg = "A=DROP C=inet IN=ppp0 OUT= SRC=203.0.113.7 DST=198.51.100.2 LEN=60 PROTO=TCP SPT=5555 DPT=22";
    const f = parseIptables(msg)!;
    expect(f.event.action).toBe("drop");
    expect(f.rule?.name).toBe("inet");
    expect(f.network?.direction).toBe("inbound"); // ppp0 is WAN-ish
  });

  it("recognises UFW, FW-DROP:, REJECT, ACCEPT and EdgeOS -A/-D suffixes; no word means 'log'", () => {
    const tail = "IN=eth1 OUT= SRC=10.0.0.2 DST=10.0.0.1 LEN=40 PROTO=UDP SPT=1 DPT=2";
    expect(parseIptables(`[UFW BLOCK] ${tail}`)!.event.action).toBe("drop");
    expect(parseIptables(`[UFW BLOCK] ${tail}`)!.rule?.name).toBe("UFW BLOCK");
    expect(parseIptables(`FW-DROP: ${tail}`)!.rule?.name).toBe("FW-DROP");
    expect(parseIptables(`REJECT(src lan)${tail}`)!.event.action).toBe("reject");
    expect(parseIptables(`ACCEPT(dest wan)${tail}`)!.event.action).toBe("accept");
    expect(parseIptables(`[WAN_OUT-2000-A]${tail}`)!.event.action).toBe("accept");
    expect(parseIptables(`[wan-lan-default-D]${tail}`)!.event.action).toBe("drop");
    expect(parseIptables(`[  12.5] ${tail}`)!.event.action).toBe("log");
  });

  it("parses IPv6 lines (HOPLIMIT, no TTL) and canonicalizes the addresses", () => {
    const msg = "IN= OUT=enp0s3 SRC=fe80:0000:0000:0000:0084:88ff:feae:790a DST=ff02:0000:0000:0000:0000:0000:0000:0016 LEN=96 TC=0 HOPLIMIT=1 FLOWLBL=0 PROTO=ICMPv6 TYPE=143 CODE=0";
    const f = parseIptables(msg)!;
    expect(f.source?.ip).toBe("fe80::84:88ff:feae:790a");
    expect(f.destination?.ip).toBe("ff02::16");
    expect(f.network).toMatchObject({ type: "ipv6", transport: "icmpv6" });
    expect(f.porchlight?.fields).toMatchObject({ hop_limit: 1, icmp_type: 143 });
  });

  it("ignores the packet quoted inside an ICMP error and uses the syslog TAG as prefix when it took it", () => {
    const msg = "IN=eth0 OUT= SRC=192.168.2.71 DST=192.168.2.83 LEN=88 PROTO=ICMP TYPE=3 CODE=3 [SRC=192.168.2.83 DST=192.168.173.191 LEN=60 PROTO=UDP SPT=21458 DPT=62936 LEN=40 ]";
    const f = parseIptables(msg, sys("DENY", msg))!;
    expect(f.source?.ip).toBe("192.168.2.71");
    expect(f.destination?.port).toBeUndefined();
    expect(f.rule?.name).toBe("DENY");
    expect(f.event.action).toBe("drop");
  });

  it("is found by content when the program name is missing", () => {
    const e = N("<4>Oct 10 07:25:12 gw [wan-lan-default-D]IN=eth0 OUT= SRC=67.43.156.15 DST=10.4.0.5 LEN=52 PROTO=TCP SPT=38842 DPT=443");
    expect(e.event.dataset).toBe("iptables");
    expect(e.destination?.port).toBe(443);
  });

  it("leaves non-netfilter kernel lines to the generic syslog dataset", () => {
    expect(parseIptables("usb 1-1: new high-speed USB device number 2")).toBeNull();
    expect(N("<6>Oct 10 07:25:12 gw kernel: usb 1-1: new high-speed USB device").event.dataset).toBe("syslog");
  });
});

describe("ulogd / conntrack", () => {
  it("parses PRINTFLOW [DESTROY] with per-direction counters and flags DNAT", () => {
    const msg = "[DESTROY] ORIG: SRC=203.0.113.9 DST=198.51.100.2 PROTO=TCP SPT=40000 DPT=443 PKTS=10 BYTES=1200 , REPLY: SRC=192.168.1.20 DST=203.0.113.9 PROTO=TCP SPT=443 DPT=40000 PKTS=8 BYTES=9000";
    const f = parseUlogd(msg)!;
    expect(f.event).toMatchObject({ dataset: "ulogd", action: "flow_destroy", type: ["connection", "end"] });
    expect(f.source).toEqual({ ip: "203.0.113.9", port: 40000, packets: 10, bytes: 1200 });
    expect(f.destination).toEqual({ ip: "198.51.100.2", port: 443, packets: 8, bytes: 9000 });
    expect(f.network).toMatchObject({ transport: "tcp", bytes: 10200, packets: 18, direction: "external" });
    expect(f.porchlight?.fields?.nat_destination_ip).toBe("192.168.1.20");
  });

  it("parses conntrack -E lines (NEW with state, DESTROY with counters)", () => {
    const n = parseUlogd("    [NEW] tcp      6 120 SYN_SENT src=192.168.1.2 dst=93.184.216.34 sport=51000 dport=80 [UNREPLIED] src=93.184.216.34 dst=192.168.1.2 sport=80 dport=51000")!;
    expect(n.event.action).toBe("flow_new");
    expect(n.source).toEqual({ ip: "192.168.1.2", port: 51000 });
    expect(n.destination).toEqual({ ip: "93.184.216.34", port: 80 });
    expect(n.network).toMatchObject({ transport: "tcp", direction: "outbound" });
    expect(n.porchlight?.fields?.ct_state).toBe("SYN_SENT");
    const d = parseUlogd("[DESTROY] udp      17 src=192.168.1.2 dst=8.8.8.8 sport=5353 dport=53 packets=1 bytes=70 src=8.8.8.8 dst=192.168.1.2 sport=53 dport=5353 packets=1 bytes=120")!;
    expect(d.source?.bytes).toBe(70);
    expect(d.destination?.bytes).toBe(120);
    expect(parseUlogd("[FOO] bar")).toBeNull();
    // Not a kind either: a word that names an Object.prototype member (it once read as a kind).
    expect(parseUlogd("[constructor] ORIG: SRC=10.0.0.1 DST=10.0.0.2")).toBeNull();
  });
});

describe("pfSense / OPNsense filterlog", () => {
  it("parses IPv4 tcp block lines", () => {
    const f = parsePfsense("53,,,1000000301,em0,match,block,in,4,0x0,,64,420,0,none,6,tcp,460,10.0.2.2,10.0.2.15,53742,22,420,PA,29633380:29633800,3617062173,65535,,")!;
    expect(f.event).toMatchObject({ dataset: "pfsense.filterlog", action: "drop" });
    expect(f.source).toEqual({ ip: "10.0.2.2", port: 53742 });
    expect(f.destination).toEqual({ ip: "10.0.2.15", port: 22 });
    expect(f.rule).toEqual({ id: "1000000301", name: "53" });
    expect(f.observer?.ingress?.interface?.name).toBe("em0");
    expect(f.porchlight?.fields).toMatchObject({ pf_action: "block", tcp_flags: "PA" });
  });

  it("parses IPv6 udp pass lines and icmp lines", () => {
    const v6 = parsePfsense("98,,,881dd59a3e942966c90498ac104715a0,re0,match,pass,in,6,0x00,0x0ea87,51,udp,17,73,2008:8a0:702e:ce00:acc6:c7ee:fa01:2f8a,2c02:2454:ada:d900::1738,6881,51918,73")!;
    expect(v6.event.action).toBe("accept");
    expect(v6.network).toMatchObject({ type: "ipv6", transport: "udp", direction: "external" });
    expect(v6.destination).toEqual({ ip: "2c02:2454:ada:d900::1738", port: 51918 });
    const icmp = parsePfsense("65,,,0,vmx1,match,pass,out,4,0x0,,63,21011,0,none,1,icmp,56,192.168.105.11,192.168.105.1,datalength=36")!;
    expect(icmp.network?.transport).toBe("icmp");
    expect(icmp.observer?.egress?.interface?.name).toBe("vmx1");
    expect(parsePfsense("not,a,filterlog")).toBeNull();
  });
});

describe("sshd", () => {
  const p = (m: string) => parseSshd(m)!;
  it("accepted and failed logins with user, IP, port and method", () => {
    expect(p("Accepted publickey for vagrant from 192.168.121.1 port 56296 ssh2: RSA SHA256:1M4R")).toMatchObject({
      event: { dataset: "sshd", action: "ssh_login", outcome: "success", category: ["authentication", "session"] },
      user: { name: "vagrant" }, source: { ip: "192.168.121.1", port: 56296 }, porchlight: { fields: { ssh_method: "publickey" } },
    });
    expect(p("Failed password for invalid user admin from 2001:db8::1 port 22 ssh2")).toMatchObject({
      event: { action: "invalid_user", outcome: "failure" }, user: { name: "admin" }, source: { ip: "2001:db8::1", port: 22 },
    });
  });
  it("takes the last address when the user name is forged to contain one", () => {
    expect(p("Failed password for invalid user test from 10.10.1.2 port 55555 ssh2 from 127.0.0.1 port 58946 ssh2").source?.ip).toBe("127.0.0.1");
    expect(p("Connection closed by authenticating user test 127.0.0.1 port 12345 192.0.2.11 port 46039 [preauth]")).toMatchObject({ source: { ip: "192.0.2.11" }, user: { name: "test 127.0.0.1 port 12345" } });
  });
  it("invalid users, PAM failures and named preauth aborts are failed attempts with the peer", () => {
    expect(p("Invalid user pascal from 35.188.49.176 port 53502")).toMatchObject({ event: { outcome: "failure" }, user: { name: "pascal" }, source: { ip: "35.188.49.176" } });
    expect(p("pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=5.33.63.160 user=workshop")).toMatchObject({ event: { action: "pam_auth_failure", outcome: "failure" }, user: { name: "workshop" }, source: { ip: "5.33.63.160" } });
    expect(p("Disconnected from invalid user ftp 92.255.85.135 port 26138 [preauth]")).toMatchObject({ event: { outcome: "failure", type: ["end"] }, user: { name: "ftp" } });
    expect(p("Connection closed by 192.0.2.9 port 4022 [preauth]")).toMatchObject({ event: { action: "disconnect_preauth", outcome: "failure" }, source: { ip: "192.0.2.9" } });
    expect(p("refused connect from example.com (192.168.1.1)").source?.ip).toBe("192.168.1.1");
    expect(p("ROOT LOGIN REFUSED FROM ::ffff:1.2.3.4").source?.ip).toBe("1.2.3.4");
  });
  it("lines that only accompany an attempt or a connection keep their action and peer but are not failed attempts", () => {
    const ctx = (line: string, action: string, ip?: string) => {
      const f = p(line);
      expect(f.event, line).toMatchObject({ action });
      expect(f.event.outcome, line).toBeUndefined();
      if (ip) expect(f.source?.ip, line).toBe(ip);
    };
    ctx("Received disconnect from 52.80.34.196: 11: Bye Bye [preauth]", "disconnect_preauth", "52.80.34.196");
    ctx("error: Received disconnect from 103.99.0.122: 14: No more user authentication methods available. [preauth]", "disconnect_preauth", "103.99.0.122");
    ctx("Connection closed by 173.234.31.186 [preauth]", "disconnect_preauth", "173.234.31.186");
    ctx("Did not receive identification string from 123.235.32.19", "no_identification", "123.235.32.19");
    ctx("PAM 4 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=5.188.10.180", "pam_more_failures", "5.188.10.180");
    ctx("error: maximum authentication attempts exceeded for root from 61.0.0.1 port 49940 ssh2 [preauth]", "max_auth_attempts", "61.0.0.1");
    ctx("input_userauth_request: invalid user webmaster [preauth]", "invalid_user");
    ctx("pam_unix(sshd:auth): check pass; user unknown", "invalid_user");
    ctx("Unable to negotiate with 123.57.135.134 port 45626: no matching key exchange method found.", "negotiation_failed", "123.57.135.134");
    ctx("Timeout before authentication for 192.0.2.14 port 55555", "auth_timeout", "192.0.2.14");
  });
  it("keeps hostnames as source.domain, and sessions and normal closes without a failure", () => {
    expect(p("error: PAM: Authentication failure for stefanor from example.com").source).toEqual({ address: "example.com", domain: "example.com" });
    expect(p("Close session: user ansible from 192.168.1.1 port 34928 id 0").event.outcome).toBeUndefined();
    expect(p("Connection closed by 192.0.2.5").event.outcome).toBeUndefined();
    expect(p("pam_unix(sshd:session): session opened for user bob(uid=1000) by (uid=0)")).toMatchObject({ event: { action: "session_opened", outcome: "success" }, user: { name: "bob" } });
    expect(p("Server listening on 0.0.0.0 port 22.").event.outcome).toBeUndefined();
  });
  it("sshd-session and sshd(pam_unix) are sshd; unknown sshd text keeps dataset sshd", () => {
    expect(programKey("sshd(pam_unix)")).toBe("sshd");
    expect(parseProgram(sys("sshd-session", "Invalid user x from 10.0.0.1"))!.event.dataset).toBe("sshd");
    expect(parseProgram(sys("sshd", "something new from OpenSSH 11"))!.event).toEqual({ dataset: "sshd" });
  });
});

describe("dropbear", () => {
  it("bad passwords, nonexistent users, exits before auth and successes", () => {
    expect(parseDropbear("Bad password attempt for 'root' from 193.219.28.149:48629")).toMatchObject({ event: { dataset: "dropbear", outcome: "failure" }, user: { name: "root" }, source: { ip: "193.219.28.149", port: 48629 } });
    expect(parseDropbear("Login attempt for nonexistent user from ::ffff:198.51.100.215:60495")).toMatchObject({ event: { action: "invalid_user" }, source: { ip: "198.51.100.215", port: 60495 } });
    expect(parseDropbear("Exit before auth from <192.0.2.3:52289>: (user 'root', 10 fails): Max auth tries reached - user 'root'")).toMatchObject({ user: { name: "root" }, source: { ip: "192.0.2.3" }, event: { outcome: "failure" } });
    expect(parseDropbear("[825] Jul 10 23:53:52 Bad password attempt for 'root' from 1.2.3.4:52289")!.source?.ip).toBe("1.2.3.4");
    expect(parseDropbear("Pubkey auth succeeded for 'root' with key md5 78:d6 from 10.10.10.241:51737")).toMatchObject({ event: { outcome: "success" }, user: { name: "root" } });
  });
});

describe("sudo and su", () => {
  it("sudo commands, wrong passwords and users not in sudoers", () => {
    expect(parseSudo("    dcid : TTY=pts/4 ; PWD=/home/dcid ; USER=root ; COMMAND=/usr/bin/tail /var/log/x ; y")).toMatchObject({
      event: { dataset: "sudo", action: "sudo_command", outcome: "success" }, user: { name: "dcid", effective: { name: "root" } },
      process: { command_line: "/usr/bin/tail /var/log/x ; y", working_directory: "/home/dcid" },
    });
    expect(parseSudo("mike : 3 incorrect password attempts ; TTY=pts/0 ; PWD=/root ; USER=root ; COMMAND=/bin/ls")).toMatchObject({ event: { action: "sudo_auth_failure", outcome: "failure" } });
    expect(parseSudo("ddp2 : user NOT in sudoers ; TTY=ttypZ ; PWD=/home/ddp2 ; USER=root ; COMMAND=/bin/ls")!.event.outcome).toBe("failure");
    expect(parseSudo("pam_unix(sudo:auth): authentication failure; logname=zbadguy uid=4001 euid=0 tty=/dev/pts/12 ruser=zbadguy rhost=  user=zbadguy")).toMatchObject({ event: { outcome: "failure" }, user: { name: "zbadguy" } });
  });
  it("su successes and failures in their several shapes", () => {
    expect(parseSu("(to root) alice on pts/1")).toMatchObject({ event: { outcome: "success" }, user: { name: "alice", effective: { name: "root" } } });
    expect(parseSu("FAILED SU (to root) alice on pts/1")!.event.outcome).toBe("failure");
    expect(parseSu("BAD SU ger to fwmaster on /dev/ttyp0")).toMatchObject({ event: { outcome: "failure" }, user: { name: "ger", effective: { name: "fwmaster" } } });
    expect(parseSu("failed: ttyq4 changing from ldap to root")).toMatchObject({ user: { name: "ldap" } });
    expect(parseSu("authentication failure; logname= uid=1342 euid=0 tty= ruser=dcid rhost=  user=osaudit")).toMatchObject({ event: { outcome: "failure" }, user: { name: "dcid", effective: { name: "osaudit" } } });
  });
});

describe("dnsmasq and dnsmasq-dhcp", () => {
  it("DNS query, forward, reply, cached", () => {
    expect(parseDnsmasq("query[AAAA] example.org from 192.168.1.10")).toMatchObject({ event: { action: "dns_query" }, dns: { question: { name: "example.org", type: "AAAA" } }, source: { ip: "192.168.1.10" } });
    expect(parseDnsmasq("forwarded example.org to 1.1.1.1#53")).toMatchObject({ event: { action: "dns_forward" }, destination: { ip: "1.1.1.1", port: 53 } });
    expect(parseDnsmasq("forwarded example.org to 127.0.0.1#5353")!.destination).toEqual({ ip: "127.0.0.1", port: 5353 });
    expect(parseDnsmasq("forwarded example.org to 2001:db8::53")!.destination).toEqual({ ip: "2001:db8::53", port: 53 });
    expect(parseDnsmasq("query[AAAA] example.org from 192.168.1.20")!.dns).toEqual({ type: "query", question: { name: "example.org", type: "AAAA" } });
    expect(parseDnsmasq("reply example.org is 2606:2800:220:1::1")).toMatchObject({ event: { action: "dns_reply" }, dns: { answers: [{ data: "2606:2800:220:1::1", type: "AAAA" }] } });
    expect(parseDnsmasq("cached example.org is <CNAME>")!.event.action).toBe("dns_cached");
  });
  it("DHCP lines with interface, IP, MAC and hostname", () => {
    expect(parseDnsmasqDhcp("DHCPACK(br-lan) 192.168.100.15 8c:7a:aa:bb:cc:dd my-phone")).toMatchObject({
      event: { dataset: "dnsmasq.dhcp", action: "dhcpack" }, source: { ip: "192.168.100.15", mac: "8C-7A-AA-BB-CC-DD", domain: "my-phone" },
      observer: { ingress: { interface: { name: "br-lan" } } },
    });
    expect(parseDnsmasqDhcp("DHCPDISCOVER(br-lan) 8c:7a:aa:bb:cc:dd")!.source).toEqual({ mac: "8C-7A-AA-BB-CC-DD" });
    expect(parseDnsmasqDhcp("DHCPNAK(br-lan) 192.168.1.9 8c:7a:aa:bb:cc:dd wrong network")!.porchlight?.fields?.dhcp_message).toBe("wrong network");
    // Older builds log DHCP under "dnsmasq" with a transaction id (log-dhcp).
    expect(parseDnsmasq("1471237432 DHCPREQUEST(eth0) 10.0.0.5 00:11:22:33:44:55")!.event.dataset).toBe("dnsmasq.dhcp");
  });
});

describe("hostapd, arpwatch, Synology, backups", () => {
  it("hostapd station events", () => {
    expect(parseHostapd("wlan0: AP-STA-CONNECTED 00:11:22:33:44:55")).toMatchObject({ event: { dataset: "hostapd", action: "connected" }, source: { mac: "00-11-22-33-44-55" }, observer: { ingress: { interface: { name: "wlan0" } } } });
    expect(parseHostapd("wlan1: AP-STA-DISCONNECTED 00:11:22:33:44:55")!.event.action).toBe("disconnected");
    expect(parseHostapd("wlan0: STA 00:11:22:33:44:55 IEEE 802.11: associated (aid 1)")!.event.action).toBe("associated");
    expect(parseHostapd("wlan0: STA 00:11:22:33:44:55 IEEE 802.11: authenticated")!.event.action).toBe("authenticated");
    expect(parseHostapd("wlan0: AP-STA-POSSIBLE-PSK-MISMATCH 00:11:22:33:44:55")!.event.outcome).toBe("failure");
  });
  it("arpwatch and addrwatch", () => {
    // arpwatch drops leading zeros of MAC octets.
    expect(parseArpwatch("new station 192.168.1.50 0:11:22:33:44:5")!.source?.mac).toBe("00-11-22-33-44-05");
    expect(parseArpwatch("new station nonsense words here")).toBeNull();
    expect(parseArpwatch("new station 192.168.1.50 00:11:22:33:44:55 eth0")).toMatchObject({ event: { action: "new_station" }, source: { ip: "192.168.1.50", mac: "00-11-22-33-44-55" } });
    expect(parseArpwatch("changed ethernet address 192.168.1.1 00:11:22:33:44:66 (00:11:22:33:44:55) br0")!.porchlight?.fields?.previous_mac).toBe("00-11-22-33-44-55");
    expect(parseArpwatch("eth0 0 00:11:22:33:44:55 fe80::1 ND_NA")).toMatchObject({ event: { action: "address_seen" }, source: { ip: "fe80::1" } });
  });
  it("Synology DSM sign-ins", () => {
    expect(parseSynology("User [admin] from [192.168.1.2] signed in to [DSM] successfully via [password]")).toMatchObject({ event: { dataset: "synology", outcome: "success" }, user: { name: "admin" }, source: { ip: "192.168.1.2" }, porchlight: { fields: { service: "DSM" } } });
    expect(parseSynology("User [admin] from [203.0.113.9] failed to sign in to [DSM] via [password] due to authorization failure.")).toMatchObject({ event: { outcome: "failure" }, source: { ip: "203.0.113.9" } });
    expect(N("<14>Nov 22 10:00:00 nas Connection: User [bob] from [203.0.113.9] failed to log in via [SSH] due to authorization failure.").event.dataset).toBe("synology");
  });
  it("OpenWrt LuCI web logins, under uhttpd, luci, or no usable program name", () => {
    expect(parseLuci("luci: failed login on /admin for root from 192.168.1.50")).toMatchObject({
      event: { dataset: "luci", category: ["authentication"], type: ["start"], action: "login", outcome: "failure" },
      user: { name: "root" }, source: { ip: "192.168.1.50" }, related: { ip: ["192.168.1.50"], user: ["root"] }, porchlight: { fields: { path: "/admin" } },
    });
    expect(parseLuci("failed login on / for admin from 2001:db8::7")).toMatchObject({ event: { outcome: "failure" }, user: { name: "admin" }, source: { ip: "2001:db8::7" } });
    // LuCI prints "?" when the user or address is unknown: not a user called "?".
    const unknown = parseLuci("luci: failed login on / for ? from ?")!;
    expect(unknown.event.outcome).toBe("failure");
    expect(unknown.user).toBeUndefined();
    expect(unknown.source).toBeUndefined();
    expect(parseLuci("luci: session expired for root")).toBeNull();
    const failed = N("<36>Nov 22 10:00:00 gw uhttpd[1234]: luci: failed login on /admin for root from 192.168.1.50");
    expect(failed).toMatchObject({ event: { dataset: "luci", category: ["authentication"], outcome: "failure", action: "login" }, user: { name: "root" }, source: { ip: "192.168.1.50" }, process: { name: "uhttpd", pid: 1234 } });
    expect(N("<38>Nov 22 10:00:00 gw luci: accepted login on / for root from 192.168.1.50")).toMatchObject({ event: { dataset: "luci", outcome: "success" }, user: { name: "root" }, source: { ip: "192.168.1.50" } });
    expect(N("Sat Nov 22 10:00:00 2026 authpriv.warn luci: failed login on / for root from 192.168.1.50")).toMatchObject({ event: { dataset: "luci", outcome: "failure" }, source: { ip: "192.168.1.50" } });
    expect(N("<36>Nov 22 10:00:00 gw lua: luci: failed login on / for root from 192.168.1.50").event.dataset).toBe("luci");
    // The default pack's web-login rule takes the failures and not the successes.
    const rule = compileRule((PACK as unknown as RuleDef[]).find((r) => r.id === "router-web-login-failures")!);
    expect(rule.match(failed)).toBeDefined();
    expect(rule.match(N("<38>Nov 22 10:00:00 gw luci: accepted login on / for root from 192.168.1.50"))).toBeUndefined();
    // Other uhttpd lines stay generic.
    expect(N("<30>Nov 22 10:00:00 gw uhttpd[1234]: listening on 0.0.0.0:80").event.dataset).not.toBe("luci");
  });
  it("rsnapshot and generic backup completions", () => {
    expect(parseBackup("/usr/bin/rsnapshot daily: completed successfully", sys("rsnapshot", ""))).toMatchObject({ event: { dataset: "backup", action: "backup_completed", outcome: "success" }, porchlight: { fields: { backup_task: "daily" } } });
    expect(parseBackup("ERROR: /usr/bin/rsync returned 23 while processing x", sys("rsnapshot", ""))!.event.outcome).toBe("failure");
    expect(parseBackup("Backup task [NAS to cloud] failed.", sys("Hyper Backup", ""))!.event.outcome).toBe("failure");
    expect(parseBackup("nightly backup of /srv finished in 42s", sys("borgmatic", ""))!.event.outcome).toBe("success");
    expect(parseBackup("starting backup of /srv", sys("borgmatic", ""))).toBeNull();
  });
});
