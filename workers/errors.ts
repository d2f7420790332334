/**
 * The one error type of the Worker. Routes throw `PorchlightError` for every expected failure;
 * `onError` in app.ts renders it as `{"error": {"code", "message", "request_id"}}` and logs it with the
 * same request id. Anything else is a bug and becomes a logged 500 — tests (including fuzzing) assert
 * that no input reaches that path.
 */
export const ERROR_STATUS = {
  bad_request: 400,
  invalid_body: 400,
  invalid_gzip: 400,
  validation_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal: 500,
  misconfigured: 500,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class PorchlightError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Extra machine-readable detail (e.g. the field that failed validation). */
  readonly details: Record<string, unknown> | undefined;
  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = "PorchlightError";
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.details = details;
  }
}

/** The body of every error answer. `request_id` is the id the error was logged under (CF-Ray, or a UUID). */
export function errorBody(code: ErrorCode, message: string, requestId: string, details?: Record<string, unknown>) {
  return { error: { code, message, request_id: requestId, ...(details ? { details } : {}) } };
}
