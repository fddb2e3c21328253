/**
 * An error darkroom answered, or a request that could not reach it.
 *
 * `code` is the API's `error.code` (`not_found`, `invalid_request`, …; docs/api.md,
 * "Errors"); `status` its HTTP status. A request that never got an answer has status 0
 * and code `unreachable`; a wait that ran out, status 0 and code `wait_timeout`.
 */
export class DarkroomError extends Error {
  /**
   * @param {string} message
   * @param {{status?: number, code?: string, details?: unknown, headers?: Headers | null, cause?: unknown}} [fields]
   */
  constructor(message, { status = 0, code = "http_error", details = null, headers = null, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "DarkroomError";
    /** @type {number} */
    this.status = status;
    /** @type {string} */
    this.code = code;
    /** @type {unknown} */
    this.details = details;
    /** @type {Headers | null} */
    this.headers = headers;
  }

  /** Seconds the answer's `Retry-After` asks to wait (429, 503), or null. */
  get retryAfter() {
    const value = this.headers?.get("retry-after");
    if (value == null || !/^\d+$/.test(value.trim())) return null;
    return Number(value);
  }
}

/**
 * The DarkroomError for an answer with an error status. Darkroom's body is
 * `{"error": {"code", "message", "details"}}`; anything else keeps its start as the message.
 * @param {Response} response
 * @returns {Promise<DarkroomError>}
 */
export async function errorFromResponse(response) {
  const text = await response.text().catch(() => "");
  const fields = { status: response.status, headers: response.headers };
  let error;
  try {
    error = JSON.parse(text)?.error;
  } catch {
    error = undefined;
  }
  if (error && typeof error.code === "string") {
    return new DarkroomError(String(error.message ?? error.code), {
      ...fields,
      code: error.code,
      details: error.details ?? null,
    });
  }
  const summary = text.slice(0, 200) || response.statusText || `HTTP ${response.status}`;
  return new DarkroomError(summary, fields);
}
