/**
 * Server-rendered page shells of the console (hono/jsx). Each page carries its static structure
 * (headings, filter forms, empty lists) and the CSRF token; web/client fills it from the /v1 API, so
 * the API stays the single source of truth. Pure: no Workers APIs, so Node tests can render pages.
 */
import type { Child } from "hono/jsx";

export type PageName = "alerts" | "alert" | "events" | "rules" | "heartbeats" | "overview" | "settings" | "devices" | "device" | "usage";

export interface PageUser {
  name: string;
  scopes: readonly string[];
  csrf: string;
}

const NAV: { page: PageName; href: string; label: string; icon: string }[] = [
  { page: "alerts", href: "/", label: "Alerts", icon: "M12 3l9 16H3z M12 10v4 M12 16.5v.5" },
  { page: "events", href: "/events", label: "Events", icon: "M4 6h16 M4 12h16 M4 18h10" },
  { page: "rules", href: "/rules", label: "Rules", icon: "M5 4h14v16H5z M9 9h6 M9 13h6" },
  { page: "devices", href: "/devices", label: "Devices", icon: "M3 5h18v11H3z M8 20h8 M12 16v4" },
  { page: "heartbeats", href: "/heartbeats", label: "Beats", icon: "M3 12h4l2-5 4 10 2-5h6" },
  { page: "overview", href: "/overview", label: "Charts", icon: "M4 20V10 M10 20V4 M16 20v-7 M22 20H2" },
  { page: "settings", href: "/settings", label: "Settings", icon: "M12 8a4 4 0 1 0 0 8a4 4 0 1 0 0-8z M12 2v3 M12 19v3 M2 12h3 M19 12h3" },
];

/** Scripts each page loads, in order. The first page (alerts) loads only app.js: the 50 KB gzip budget. */
export function pageScripts(page: PageName): string[] {
  return page === "overview" ? ["/uplot.min.js", "/app.js"] : ["/app.js"];
}

function Head(props: { title: string; csrf?: string; extraCss?: string[] }) {
  return (
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover" />
      <meta name="color-scheme" content="light dark" />
      <meta name="theme-color" content="#f59e0b" />
      {props.csrf ? <meta name="csrf-token" content={props.csrf} /> : null}
      <title>{props.title} · Porchlight</title>
      <link rel="manifest" href="/manifest.webmanifest" />
      <link rel="icon" href="/icons/icon.svg" type="image/svg+xml" />
      <link rel="apple-touch-icon" href="/icons/icon-192.png" />
      {(props.extraCss ?? []).map((href) => (
        <link rel="stylesheet" href={href} />
      ))}
      <link rel="stylesheet" href="/styles.css" />
    </head>
  );
}

function Layout(props: { page: PageName; title: string; user: PageUser; children: Child }) {
  const admin = props.user.scopes.includes("admin");
  return (
    <html lang="en">
      <Head title={props.title} csrf={props.user.csrf} extraCss={props.page === "overview" ? ["/uplot.min.css"] : []} />
      <body data-page={props.page} data-admin={admin ? "1" : "0"}>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="top">
          <a class="brand" href="/">
            <img src="/icons/icon.svg" alt="" width="28" height="28" />
            <span>Porchlight</span>
          </a>
          <span id="net" class="net" role="status" aria-live="polite"></span>
          <span class="who" title={props.user.scopes.join(", ")}>
            {props.user.name}
            {admin ? "" : " (read-only)"}
          </span>
          <form method="post" action="/logout" class="logout">
            <input type="hidden" name="csrf" value={props.user.csrf} />
            <button type="submit" class="btn ghost">
              Log out
            </button>
          </form>
        </header>
        <main id="main" tabindex={-1}>
          <h1>{props.title}</h1>
          {props.children}
        </main>
        <nav class="tabs" aria-label="Sections">
          {NAV.map((n) => (
            <a href={n.href} aria-current={n.page === props.page || (n.page === "alerts" && props.page === "alert") || (n.page === "devices" && props.page === "device") ? "page" : undefined}>
              <svg viewBox="0 0 24 24" aria-hidden="true" width="22" height="22">
                <path d={n.icon} />
              </svg>
              <span>{n.label}</span>
            </a>
          ))}
        </nav>
        {pageScripts(props.page).map((src) => (
          <script src={src} defer type={src === "/app.js" ? "module" : undefined}></script>
        ))}
      </body>
    </html>
  );
}

function Select(props: { name: string; label: string; options: [string, string][]; multiple?: boolean }) {
  return (
    <label class="field">
      <span>{props.label}</span>
      <select name={props.name}>
        {props.options.map(([v, l]) => (
          <option value={v}>{l}</option>
        ))}
      </select>
    </label>
  );
}

function Input(props: { name: string; label: string; placeholder?: string; type?: string; list?: string }) {
  return (
    <label class="field">
      <span>{props.label}</span>
      <input name={props.name} type={props.type ?? "search"} placeholder={props.placeholder} list={props.list} autocomplete="off" autocapitalize="off" spellcheck={false} />
    </label>
  );
}

const SEVERITIES: [string, string][] = [
  ["", "Any"],
  ["critical", "Critical"],
  ["high", "High"],
  ["medium", "Medium"],
  ["low", "Low"],
  ["informational", "Info"],
];

const TIME_PRESETS: [string, string][] = [
  ["15m", "Last 15 min"],
  ["1h", "Last hour"],
  ["6h", "Last 6 hours"],
  ["24h", "Last 24 hours"],
  ["7d", "Last 7 days"],
  ["30d", "Last 30 days"],
];

function AlertsBody() {
  return (
    <>
      <form id="filters" class="filters" role="search" aria-label="Filter alerts">
        <Select
          name="status"
          label="Status"
          options={[
            ["active", "Active"],
            ["open", "Open"],
            ["ack", "Acknowledged"],
            ["shelved", "Shelved"],
            ["closed", "Closed"],
            ["expired", "Expired"],
            ["all", "All"],
          ]}
        />
        <Select name="severity" label="Severity" options={SEVERITIES} />
        <Input name="rule" label="Rule" placeholder="rule id" list="rule-list" />
        <datalist id="rule-list"></datalist>
      </form>
      <p id="live" class="hint" role="status" aria-live="polite">
        Live updates: connecting…
      </p>
      <p id="msg" class="msg" role="alert" hidden></p>
      <ul id="list" class="cards" aria-label="Alerts"></ul>
      <p id="empty" class="empty" hidden>
        No alerts match. All quiet.
      </p>
    </>
  );
}

function AlertBody() {
  return (
    <>
      <p>
        <a href="/" class="back">
          ← All alerts
        </a>
      </p>
      <p id="msg" class="msg" role="alert" hidden></p>
      <section id="alert" aria-live="polite"></section>
      <section>
        <h2>History and notes</h2>
        <ol id="history" class="history"></ol>
      </section>
      <section>
        <h2>Notifications</h2>
        <ul id="deliveries" class="rows" aria-label="Notifications sent for this alert"></ul>
      </section>
      <section>
        <h2>Source events</h2>
        <p>
          <a id="around" class="btn" href="/events">
            Events around this alert
          </a>
        </p>
        <ul id="events" class="events"></ul>
      </section>
    </>
  );
}

function EventsBody() {
  return (
    <>
      <form id="filters" class="filters" role="search" aria-label="Search events">
        <Input name="q" label="Message contains" placeholder="text" />
        <Select name="last" label="Time" options={TIME_PRESETS} />
        <details class="more">
          <summary>More filters</summary>
          <div class="filters">
            <Input name="host" label="Host" />
            <Input name="program" label="Program" />
            <Input name="dataset" label="Dataset" />
            <Input name="src_ip" label="Source IP or CIDR" />
            <Input name="dst_ip" label="Destination IP or CIDR" />
            <Input name="dst_port" label="Destination port" />
            <Input name="protocol" label="Protocol" placeholder="tcp, udp, icmp" />
            <Input name="user" label="User" />
            <Input name="action" label="Action" />
            <Select
              name="outcome"
              label="Outcome"
              options={[
                ["", "Any"],
                ["success", "Success"],
                ["failure", "Failure"],
              ]}
            />
          </div>
        </details>
        <button type="submit" class="btn primary">
          Search
        </button>
      </form>
      <p id="chips" class="chips" aria-label="Active filters"></p>
      <p id="msg" class="msg" role="alert" hidden></p>
      <ul id="list" class="events" aria-label="Events"></ul>
      <p id="empty" class="empty" hidden>
        No events match.
      </p>
      <button id="more" type="button" class="btn wide" hidden>
        Load more
      </button>
      <p id="cost" class="hint" hidden></p>
    </>
  );
}

function RulesBody() {
  return (
    <>
      <p class="toolbar">
        <button id="new-rule" type="button" class="btn admin-only">
          New rule
        </button>
        <button id="import-rules" type="button" class="btn admin-only" aria-controls="import" aria-expanded="false">
          Import rules
        </button>
        <label class="field inline">
          <span>Backtest range</span>
          <select id="bt-range">
            {TIME_PRESETS.slice(1).map(([v, l]) => (
              <option value={v} selected={v === "24h"}>
                {l}
              </option>
            ))}
          </select>
        </label>
      </p>
      <section id="import" class="card" aria-label="Import rules" hidden>
        <form id="import-form" class="editor">
          <label class="field">
            <span>Rule file (CrowdSec or Sigma .yaml, SEC .sec/.conf, Porchlight .json)</span>
            <input id="import-file" type="file" accept=".yaml,.yml,.sec,.conf,.rules,.json" />
          </label>
          <label class="field">
            <span>Or paste it</span>
            <textarea id="import-text" class="json" rows={8} spellcheck={false} autocapitalize="off"></textarea>
          </label>
          <label class="field">
            <span>Format</span>
            <select id="import-type">
              <option value="auto">From the file's extension</option>
              <option value="crowdsec">CrowdSec scenarios (YAML)</option>
              <option value="sigma">Sigma rules (YAML)</option>
              <option value="sec">SEC rules</option>
              <option value="json">Porchlight JSON</option>
            </select>
          </label>
          <div class="actions">
            <button id="import-go" type="submit" class="btn primary">
              Import
            </button>
          </div>
          <div id="import-result" aria-live="polite"></div>
        </form>
      </section>
      <p id="msg" class="msg" role="alert" hidden></p>
      <ul id="list" class="cards" aria-label="Rules"></ul>
      <p id="empty" class="empty" hidden>
        No rules yet.
      </p>
    </>
  );
}

function HeartbeatsBody() {
  return (
    <>
      <p id="msg" class="msg" role="alert" hidden></p>
      <form id="beat-form" class="filters admin-only" aria-label="Add or change a heartbeat">
        <label class="field">
          <span>Name</span>
          <input name="name" required maxlength={64} pattern="[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}" autocomplete="off" placeholder="nightly-backup" />
        </label>
        <label class="field">
          <span>Expect a ping every</span>
          <input name="timeout" required placeholder="26h" autocomplete="off" />
        </label>
        <Select name="severity" label="Severity when missed" options={[["high", "high"], ["critical", "critical"], ["medium", "medium"], ["low", "low"]]} />
        <button type="submit" class="btn primary">
          Save heartbeat
        </button>
      </form>
      <ul id="list" class="cards" aria-label="Heartbeats"></ul>
      <p id="empty" class="empty" hidden>
        No heartbeats yet. A cron job can ping <code>POST /v1/heartbeats/&lt;name&gt;</code>.
      </p>
    </>
  );
}

function DevicesBody() {
  return (
    <>
      <p id="msg" class="msg" role="alert" hidden></p>
      <p class="hint">From DHCP, Wi-Fi, ARP watch and firewall lines; new devices first. A dot marks a device seen in the last 15 minutes.</p>
      <ul id="devices" class="cards" aria-label="Devices"></ul>
      <p id="empty" class="empty" hidden>
        No devices yet: they appear when the router's DHCP, hostapd or conntrack lines arrive.
      </p>
    </>
  );
}

function DeviceBody() {
  return (
    <>
      <p id="msg" class="msg" role="alert" hidden></p>
      <p>
        <a class="back" href="/devices">← Devices</a>
      </p>
      <div id="device"></div>
      <section>
        <h2>Countries (7 days)</h2>
        <ul id="countries" class="bars" aria-label="Countries"></ul>
      </section>
      <section>
        <h2>Organisations</h2>
        <ul id="orgs" class="bars" aria-label="Organisations"></ul>
      </section>
      <section>
        <h2>Domains</h2>
        <ul id="domains" class="bars" aria-label="Domains"></ul>
      </section>
      <section>
        <h2>Bytes per hour (7 days, night hours shaded)</h2>
        <figure class="chart">
          <div id="hourly" class="hourly" role="img" aria-label="Bytes per hour"></div>
        </figure>
      </section>
      <section>
        <h2>Blocked attempts (7 days)</h2>
        <p id="blocked" class="hint"></p>
      </section>
      <section>
        <h2>Its alerts</h2>
        <ul id="alerts" class="rows" aria-label="Alerts about this device"></ul>
      </section>
      <p class="hint">
        Countries from ip-location-db (CC0); AS data from RouteViews and <a href="https://db-ip.com">IP Geolocation by DB-IP</a> (CC BY 4.0).
      </p>
    </>
  );
}

function OverviewBody() {
  return (
    <>
      <form id="filters" class="filters" aria-label="Chart range">
        <Select
          name="last"
          label="Range"
          options={[
            ["24h", "Last 24 hours"],
            ["7d", "Last 7 days"],
            ["30d", "Last 30 days"],
          ]}
        />
      </form>
      <p id="msg" class="msg" role="alert" hidden></p>
      <div class="charts">
        <figure class="chart">
          <figcaption>Events per hour by dataset</figcaption>
          <div id="c-events" class="plot"></div>
        </figure>
        <figure class="chart">
          <figcaption>Failed logins per hour</figcaption>
          <div id="c-logins" class="plot"></div>
        </figure>
        <figure class="chart">
          <figcaption>Alerts per day</figcaption>
          <div id="c-alerts" class="plot"></div>
        </figure>
        <figure class="chart">
          <figcaption>Top blocked sources</figcaption>
          <ol id="c-blocked" class="bars"></ol>
        </figure>
      </div>
    </>
  );
}

function SettingsBody(props: { user: PageUser }) {
  return (
    <>
      <p id="msg" class="msg" role="alert" hidden></p>
      <section>
        <h2>Session</h2>
        <p>
          Signed in as <strong>{props.user.name}</strong> with scopes {props.user.scopes.join(", ")}.
        </p>
        <p>
          <a href="/usage">Usage and cost</a>: what Porchlight spends against Cloudflare's Free and Paid plans.
        </p>
      </section>
      <section class="admin-only">
        <h2>Tokens</h2>
        <form id="token-form" class="filters">
          <label class="field">
            <span>Name</span>
            <input name="name" required maxlength={64} autocomplete="off" />
          </label>
          <fieldset class="field scopes">
            <legend>Scopes</legend>
            <label>
              <input type="checkbox" name="scopes" value="ingest" /> ingest
            </label>
            <label>
              <input type="checkbox" name="scopes" value="read" checked /> read
            </label>
            <label>
              <input type="checkbox" name="scopes" value="admin" /> admin
            </label>
          </fieldset>
          <button type="submit" class="btn primary">
            Create token
          </button>
        </form>
        <div id="new-token" class="secret" role="status" hidden></div>
        <ul id="tokens" class="rows" aria-label="Tokens"></ul>
      </section>
      <section id="notifications">
        <h2>Notifications</h2>
        <p class="hint">Where alerts go: new, reopened or more severe alerts are sent at once; duplicates only after the channel's repeat interval.</p>
        <p class="admin-only">
          <button id="push-enable" type="button" class="btn primary">
            Enable push on this phone
          </button>
        </p>
        <form id="channel-form" class="filters admin-only" aria-label="Add or edit a channel">
          <input type="hidden" name="id" />
          <label class="field">
            <span>Name</span>
            <input name="name" required maxlength={64} autocomplete="off" placeholder="my phone" />
          </label>
          <Select name="type" label="Type" options={[["ntfy", "ntfy"], ["telegram", "Telegram"], ["webhook", "Webhook"], ["email", "E-mail"]]} />
          <label class="field cfg cfg-ntfy">
            <span>ntfy server</span>
            <input name="ntfy_url" placeholder="https://ntfy.sh" autocomplete="off" />
          </label>
          <label class="field cfg cfg-ntfy">
            <span>Topic</span>
            <input name="topic" autocomplete="off" />
          </label>
          <label class="field cfg cfg-ntfy">
            <span>Access token</span>
            <input name="token" type="password" autocomplete="off" />
          </label>
          <label class="field cfg cfg-telegram">
            <span>Bot token</span>
            <input name="bot_token" type="password" autocomplete="off" />
          </label>
          <label class="field cfg cfg-telegram">
            <span>Chat id</span>
            <input name="chat_id" autocomplete="off" />
          </label>
          <label class="field cfg cfg-webhook">
            <span>URL</span>
            <input name="webhook_url" type="url" autocomplete="off" />
          </label>
          <label class="field cfg cfg-webhook">
            <span>Signing secret</span>
            <input name="secret" type="password" autocomplete="off" />
          </label>
          <label class="field cfg cfg-webhook">
            <span>Format</span>
            <select name="preset">
              <option value="">Porchlight JSON</option>
              <option value="discord">Discord</option>
              <option value="slack">Slack</option>
              <option value="matrix">Matrix</option>
              <option value="gotify">Gotify</option>
            </select>
          </label>
          <label class="field cfg cfg-email">
            <span>To</span>
            <input name="to" type="email" autocomplete="off" />
          </label>
          <Select name="min_severity" label="At least" options={[["", "any severity"], ["low", "low"], ["medium", "medium"], ["high", "high"], ["critical", "critical"]]} />
          <label class="field">
            <span>Repeat duplicates after</span>
            <input name="repeat" placeholder="never (e.g. 4h)" autocomplete="off" />
          </label>
          <label class="field">
            <span>Daily digest at</span>
            <input name="daily_at" type="time" />
          </label>
          <button type="submit" class="btn primary">
            Save channel
          </button>
        </form>
        <ul id="channels" class="rows" aria-label="Channels"></ul>
        <h3>Blackouts</h3>
        <form id="blackout-form" class="filters admin-only" aria-label="Add a recurring blackout">
          <label class="field">
            <span>Name</span>
            <input name="name" required maxlength={64} placeholder="night" autocomplete="off" />
          </label>
          <label class="field">
            <span>From</span>
            <input name="from" type="time" required value="22:00" />
          </label>
          <label class="field">
            <span>To</span>
            <input name="to" type="time" required value="07:00" />
          </label>
          <label class="field">
            <span>Blackout timezone</span>
            <input name="timezone" list="tz-list" autocomplete="off" placeholder="Europe/Berlin" />
          </label>
          <button type="submit" class="btn primary">
            Add blackout (every day)
          </button>
        </form>
        <ul id="blackouts" class="rows" aria-label="Blackouts"></ul>
      </section>
      <section>
        <h2>Source timezones</h2>
        <p class="hint">RFC 3164 timestamps carry no zone; set it per host or sender IP (default UTC).</p>
        <ul id="clock-warnings" class="rows" aria-label="Clock warnings" aria-live="polite"></ul>
        <form id="tz-form" class="filters admin-only">
          <label class="field">
            <span>Host or IP</span>
            <input name="key" required placeholder="router or 192.168.1.1" autocomplete="off" />
          </label>
          <label class="field">
            <span>Timezone</span>
            <input name="timezone" required placeholder="Europe/Berlin" list="tz-list" autocomplete="off" />
          </label>
          <datalist id="tz-list"></datalist>
          <button type="submit" class="btn primary">
            Save
          </button>
        </form>
        <ul id="sources" class="rows" aria-label="Source timezones"></ul>
      </section>
      <section>
        <h2>Address lists</h2>
        <p class="hint">IPs and CIDRs that rules read with in_list (the default pack's blocklist-traffic reads "blocklist").</p>
        <form id="list-form" class="editor admin-only">
          <label class="field">
            <span>List name</span>
            <input name="name" required placeholder="blocklist" autocomplete="off" pattern="[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}" />
          </label>
          <label class="field">
            <span>Entries (one IP or CIDR per line; replaces the list)</span>
            <textarea name="entries" class="json" rows={5} spellcheck={false} autocapitalize="off"></textarea>
          </label>
          <div class="actions">
            <button type="submit" class="btn primary">
              Save list
            </button>
          </div>
        </form>
        <ul id="lists" class="rows" aria-label="Address lists"></ul>
      </section>
      <section id="retention">
        <h2>Retention</h2>
        <p class="hint">
          How long raw events and network sessions stay in D1 for search. Every 15 minutes the cron deletes what has expired, also rows that arrived late; hourly rollups (the charts) and alerts stay. <code>archive</code>: a dataset goes to the R2 archive only. Costs: <a href="/usage">Usage</a>.
        </p>
        <ul id="retention-policy" class="rows" aria-label="Retention policy"></ul>
        <form id="retention-form" class="editor admin-only" aria-label="Edit the retention policy">
          <label class="field">
            <span>Events (default)</span>
            <input name="default" placeholder="forever (e.g. 30d)" autocomplete="off" />
          </label>
          <label class="field">
            <span>Network sessions</span>
            <input name="sessions" placeholder="as events (e.g. 90d)" autocomplete="off" />
          </label>
          <label class="field">
            <span>Per dataset (one "dataset duration" a line)</span>
            <textarea name="datasets" class="json" rows={3} spellcheck={false} autocapitalize="off" placeholder={"iptables 7d\nsshd 365d"}></textarea>
          </label>
          <div class="actions">
            <button type="submit" class="btn primary">
              Save retention
            </button>
            <button type="button" id="retention-run" class="btn">
              Sweep now
            </button>
          </div>
        </form>
        <p id="retention-report" class="hint" role="status" hidden></p>
      </section>
      <section>
        <h2>Relays seen</h2>
        <ul id="relays" class="rows" aria-label="Relays"></ul>
      </section>
    </>
  );
}

function UsageBody() {
  return (
    <>
      <p id="msg" class="msg" role="alert" hidden></p>
      <p id="usage-level" class="msg" role="status" hidden></p>
      <section>
        <h2>Today and this month</h2>
        <div class="table-scroll">
        <table class="usage">
          <thead>
            <tr>
              <th scope="col">Metric</th>
              <th scope="col">Today</th>
              <th scope="col">Free / day</th>
              <th scope="col">Month</th>
              <th scope="col">Month-end projection</th>
              <th scope="col">Paid / month</th>
            </tr>
          </thead>
          <tbody id="usage-rows"></tbody>
        </table>
        </div>
        <p id="usage-overage" class="meta"></p>
      </section>
    </>
  );
}

const TITLES: Record<PageName, string> = {
  alerts: "Alerts",
  alert: "Alert",
  events: "Events",
  rules: "Rules",
  heartbeats: "Heartbeats",
  overview: "Overview",
  settings: "Settings",
  devices: "Devices",
  device: "Device",
  usage: "Usage",
};

export function renderPage(page: PageName, user: PageUser): string {
  const body =
    page === "alerts" ? <AlertsBody /> :
    page === "alert" ? <AlertBody /> :
    page === "events" ? <EventsBody /> :
    page === "rules" ? <RulesBody /> :
    page === "heartbeats" ? <HeartbeatsBody /> :
    page === "overview" ? <OverviewBody /> :
    page === "devices" ? <DevicesBody /> :
    page === "device" ? <DeviceBody /> :
    page === "usage" ? <UsageBody /> :
    <SettingsBody user={user} />;
  return "<!doctype html>" + (
    <Layout page={page} title={TITLES[page]} user={user}>
      {body}
    </Layout>
  ).toString();
}

export function renderLogin(opts: { error?: string; next?: string; access?: boolean }): string {
  return "<!doctype html>" + (
    <html lang="en">
      <Head title="Log in" />
      <body data-page="login" class="login-page">
        <main id="main" class="login">
          <img src="/icons/icon.svg" alt="" width="64" height="64" />
          <h1>Porchlight</h1>
          <form method="post" action="/login" class="card">
            <label class="field" for="token">
              <span>Access token</span>
            </label>
            <input id="token" name="token" type="password" required autocomplete="current-password" autocapitalize="off" spellcheck={false} placeholder="pl_… or the admin token" aria-describedby={opts.error ? "login-error" : undefined} />
            {opts.next ? <input type="hidden" name="next" value={opts.next} /> : null}
            {opts.error ? (
              <p id="login-error" class="msg" role="alert">
                {opts.error}
              </p>
            ) : null}
            <button type="submit" class="btn primary wide">
              Log in
            </button>
            <p class="hint">A token with read scope gives a read-only console; admin can act on alerts and rules.</p>
            {opts.access ? <p class="hint">Behind Cloudflare Access you are signed in automatically.</p> : null}
          </form>
        </main>
      </body>
    </html>
  ).toString();
}
