/**
 * Errors the command line reports and the exit codes scripts rely on. Every failure reaching main()
 * is a CliError (printed as one line, never a stack trace); anything else is a bug and is printed
 * with its message and exit code 1.
 */

/** Exit codes: documented in docs/cli.md and `porchlight --help`. */
export const EXIT = Object.freeze({ OK: 0, ERROR: 1, USAGE: 2, NOT_FOUND: 3 });

export class CliError extends Error {
  /**
   * @param {string} message one line, shown as `porchlight: <message>`
   * @param {number} [exitCode] one of EXIT
   */
  constructor(message, exitCode = EXIT.ERROR) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}

/** A usage mistake found after parsing (a bad --range, an option that needs another). Exit 2. */
export class UsageError extends CliError {
  /** @param {string} message */
  constructor(message) {
    super(message, EXIT.USAGE);
    this.name = "UsageError";
  }
}

/** An answer of the API that is not 2xx, with the API's `{"error": {code, message}}`. */
export class ApiError extends CliError {
  /**
   * @param {number} status HTTP status
   * @param {string} code the API's error code (`not_found`, `validation_failed`, ...)
   * @param {string} apiMessage the API's message
   * @param {unknown} [details]
   */
  constructor(status, code, apiMessage, details) {
    super(`${code}: ${apiMessage}${hint(status)}`, status === 404 ? EXIT.NOT_FOUND : EXIT.ERROR);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.apiMessage = apiMessage;
    this.details = details;
  }
}

/** @param {number} status */
function hint(status) {
  if (status === 401) return " (the server refused the token: check PORCHLIGHT_TOKEN or run `porchlight login`)";
  if (status === 403) return " (use a token with that scope)";
  return "";
}
