// Declarations of src/webhooks.js (Node only: it uses node:crypto).

export const DEFAULT_TOLERANCE_S: number;

/** The delivery is not authentic, or too old or too new to be trusted. */
export class WebhookVerificationError extends Error {}

/**
 * Check a delivery (the raw body, before JSON parsing) and return its parsed JSON; throws
 * WebhookVerificationError unless a `v1` signature matches and the timestamp is within
 * `toleranceS` (300) of `now` (Unix seconds).
 */
export function verifyWebhook(
  body: string | Uint8Array | ArrayBuffer,
  headers: Headers | Record<string, string | string[] | undefined>,
  secret: string,
  options?: { toleranceS?: number; now?: number },
): any;
