/**
 * The storage module's public face: the Store interface and its types (types.ts), row mapping
 * (rows.ts), the INSERT wire format (wire.ts), row decoding (decode.ts) and the SQL store (sql-store.ts).
 */
export type * from "./types.ts";
export { apiEvent, eventOfRow, eventRow } from "./rows.ts";
export { INSERT_MAX_BYTES, insertEventStatements } from "./wire.ts";
export { storedEvent } from "./decode.ts";
export { SqlStore } from "./sql-store.ts";
