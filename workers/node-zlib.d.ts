/**
 * The part of node:zlib the Worker uses (workerd implements it natively under nodejs_compat, the
 * default from the compatibility date on). The Worker's type program has no @types/node; Node's own
 * programs (tsconfig.node.json) use @types/node's declarations instead.
 */
declare module "node:zlib" {
  /** With `info`, returns `{ buffer, engine }`; `engine.bytesWritten` is the input consumed. Throws RangeError past maxOutputLength. */
  export function inflateRawSync(buffer: ArrayBufferView, options?: { info?: boolean; maxOutputLength?: number }): Uint8Array;
  export function gzipSync(data: ArrayBufferView | string): Uint8Array;
  export function crc32(data: ArrayBufferView | string, value?: number): number;
}
