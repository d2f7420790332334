/**
 * The network lookup tables (web/public/data/network) read from disk, for Node tests and benches: the
 * same files the Worker fetches through its ASSETS binding (workers/network/tables.ts).
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { TableSource } from "../workers/network/tables.ts";

export const TABLES_DIR = resolve(import.meta.dirname, "../web/public/data/network");

export const diskTables: TableSource = async (file) => {
  const b = await readFile(resolve(TABLES_DIR, file));
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer;
};
