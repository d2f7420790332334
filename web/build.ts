/**
 * Builds the web view's static files into web/public (the output is committed, so `wrangler dev` and a
 * fresh clone work without a build): bundles web/client into app.js with esbuild, copies uPlot from
 * node_modules (no CDN), draws the PNG app icons, and stamps the service worker's cache version with a
 * hash of the shell so clients pick up a new build.
 * Run: `node web/build.ts` (Node >= 22.12). `--check` builds in memory and exits 1 when the committed
 * output is stale.
 */
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { crc32, deflateSync } from "node:zlib";

const web = dirname(fileURLToPath(import.meta.url));
const pub = join(web, "public");
const root = join(web, "..");

export async function bundleClient(): Promise<string> {
  const r = await build({
    entryPoints: [join(web, "client/main.ts")],
    bundle: true,
    format: "esm",
    target: "es2022",
    minify: true,
    write: false,
    legalComments: "none",
    logLevel: "warning",
  });
  return r.outputFiles[0]!.text;
}

// --- PNG icons (drawn here so the repo needs no image tools and downloads nothing)

function png(size: number, pixel: (x: number, y: number) => [number, number, number, number]): Buffer {
  const raw = Buffer.alloc((size * 4 + 1) * size);
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0; // filter: none
    for (let x = 0; x < size; x++) {
      // 4 sub-samples per pixel: cheap anti-aliasing of the shapes' edges.
      let r = 0, g = 0, b = 0, a = 0;
      for (const [dx, dy] of [[0.25, 0.25], [0.75, 0.25], [0.25, 0.75], [0.75, 0.75]] as const) {
        const p = pixel((x + dx) / size, (y + dy) / size);
        r += p[0] * p[3]; g += p[1] * p[3]; b += p[2] * p[3]; a += p[3];
      }
      const o = y * (size * 4 + 1) + 1 + x * 4;
      raw[o] = a ? Math.round(r / a) : 0;
      raw[o + 1] = a ? Math.round(g / a) : 0;
      raw[o + 2] = a ? Math.round(b / a) : 0;
      raw[o + 3] = Math.round((a / 4) * 255);
    }
  }
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td) >>> 0);
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", ihdr), chunk("IDAT", deflateSync(raw, { level: 9 })), chunk("IEND", Buffer.alloc(0))]);
}

/** The porch light: an amber lamp with its glow under a roof, on slate. `pad` shrinks it for maskable icons. */
function icon(pad: number, rounded: boolean) {
  return (u: number, v: number): [number, number, number, number] => {
    const x = (u - 0.5) / (1 - 2 * pad) + 0.5;
    const y = (v - 0.5) / (1 - 2 * pad) + 0.5;
    if (rounded) {
      const r = 0.2, cx = Math.min(Math.max(u, r), 1 - r), cy = Math.min(Math.max(v, r), 1 - r);
      if ((u - cx) ** 2 + (v - cy) ** 2 > r * r) return [0, 0, 0, 0];
    }
    const bg: [number, number, number, number] = [17, 24, 39, 1];
    // Roof: a chevron from (0.15, 0.42) up to (0.5, 0.16) and down to (0.85, 0.42), thickness 0.07.
    const roofY = 0.16 + Math.abs(x - 0.5) * (0.26 / 0.35);
    if (x > 0.13 && x < 0.87 && y > roofY && y < roofY + 0.08) return [229, 231, 235, 1];
    const d = Math.hypot(x - 0.5, y - 0.62);
    if (d < 0.13) return [253, 230, 138, 1]; // lamp
    if (d < 0.3) {
      const t = (d - 0.13) / 0.17; // glow fades out
      const k = (1 - t) ** 2 * 0.85;
      return [Math.round(17 + (245 - 17) * k), Math.round(24 + (158 - 24) * k), Math.round(39 + (11 - 39) * k), 1];
    }
    return bg;
  };
}

export const ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">
<defs><radialGradient id="g"><stop offset="0.43" stop-color="#f59e0b" stop-opacity="0.85"/><stop offset="1" stop-color="#f59e0b" stop-opacity="0"/></radialGradient></defs>
<rect width="100" height="100" rx="20" fill="#111827"/>
<circle cx="50" cy="62" r="30" fill="url(#g)"/><circle cx="50" cy="62" r="13" fill="#fde68a"/>
<path d="M14 44 L50 18 L86 44" fill="none" stroke="#e5e7eb" stroke-width="8" stroke-linejoin="round"/>
</svg>
`;

export async function outputs(): Promise<Map<string, Buffer | string>> {
  const files = new Map<string, Buffer | string>();
  files.set("app.js", await bundleClient());
  files.set("icons/icon.svg", ICON_SVG);
  files.set("icons/icon-192.png", png(192, icon(0, true)));
  files.set("icons/icon-512.png", png(512, icon(0, true)));
  files.set("icons/maskable-512.png", png(512, icon(0.1, false)));
  files.set("uplot.min.js", readFileSync(join(root, "node_modules/uplot/dist/uPlot.iife.min.js")));
  files.set("uplot.min.css", readFileSync(join(root, "node_modules/uplot/dist/uPlot.min.css")));
  // The SW's cache version is a hash of everything it caches, so a new build replaces the old shell.
  const h = createHash("sha256");
  for (const f of ["app.js", "uplot.min.js"]) h.update(files.get(f)!);
  for (const f of ["styles.css", "offline.html", "manifest.webmanifest"]) h.update(readFileSync(join(pub, f)));
  const sw = readFileSync(join(pub, "sw.js"), "utf8").replace(/const VERSION = "[^"]*";/, `const VERSION = "${h.digest("hex").slice(0, 12)}";`);
  files.set("sw.js", sw);
  return files;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes("--check");
  const files = await outputs();
  let stale = 0;
  for (const [name, content] of files) {
    const path = join(pub, name);
    let old: Buffer | null = null;
    try {
      old = readFileSync(path);
    } catch {
      old = null;
    }
    const same = old !== null && Buffer.compare(old, Buffer.from(content)) === 0;
    if (check) {
      if (!same) {
        console.error(`stale: web/public/${name}`);
        stale++;
      }
    } else if (!same) {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, content);
      console.log(`wrote web/public/${name} (${Buffer.byteLength(content)} bytes)`);
    }
  }
  if (check && stale) {
    console.error("Run `node web/build.ts` and commit web/public.");
    process.exit(1);
  }
}
