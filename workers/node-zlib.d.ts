/**
 * The part of node:zlib the Worker uses (workerd implements it natively under nodejs_compat, the
 * default from the compatibility date on). The Worker's type program has no @types/node; Node's own
 * programs (tsconfig.node.json) use @types/node's declarations instead.
 */
declare module "node:zlib" {
  export function gzipSync(data: ArrayBufferView | string): Uint8Array;
}
