/**
 * JSON request bodies for the settings routes (tokens, extractors, sources): size-capped, parsed and
 * validated with a zod schema; every failure is a 400 (or 413/415) with a message naming the field.
 */
import type { z } from "zod";
import { PorchlightError } from "../errors.ts";
import { decodeUtf8, readBodyBytes } from "../ingest/body.ts";

/** Largest settings body, bytes. */
export const JSON_BODY_MAX_BYTES = 65_536;

export async function parseJsonBody<T extends z.ZodType>(req: Request, schema: T): Promise<z.output<T>> {
  const type = (req.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "" && type !== "application/json") {
    throw new PorchlightError("unsupported_media_type", "Send the body as application/json");
  }
  const bytes = await readBodyBytes(req.body, "identity", req.headers.get("content-length"), JSON_BODY_MAX_BYTES);
  let value: unknown;
  try {
    value = JSON.parse(decodeUtf8(bytes));
  } catch (e) {
    throw new PorchlightError("invalid_body", `Body is not JSON: ${(e as Error).message}`);
  }
  const r = schema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    const path = issue?.path.join(".") || "body";
    throw new PorchlightError("validation_failed", `${path}: ${issue?.message ?? "invalid"}`, { field: path });
  }
  return r.data;
}
