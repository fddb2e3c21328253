/**
 * Verifying darkroom's webhook deliveries in Node (docs/webhooks.md): Standard Webhooks
 * signatures, `v1,` + base64 of HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{body}`,
 * keyed with the bytes of the `whsec_` secret.
 */
import { Buffer } from "node:buffer";
import { createHmac, timingSafeEqual } from "node:crypto";

const SECRET_PREFIX = "whsec_";
export const DEFAULT_TOLERANCE_S = 5 * 60;

/** The delivery is not authentic, or too old or too new to be trusted. */
export class WebhookVerificationError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = "WebhookVerificationError";
  }
}

/**
 * Check a delivery as received and return its parsed JSON body; throw
 * WebhookVerificationError unless one of its `v1` signatures matches and its timestamp is
 * within `toleranceS` of now. Pass the body exactly as received (the raw bytes or text,
 * before any JSON parsing); `headers` as Node or fetch gives them, in any letter case.
 * @param {string | Uint8Array | ArrayBuffer} body
 * @param {Headers | Record<string, string | string[] | undefined>} headers
 * @param {string} secret
 * @param {{toleranceS?: number, now?: number}} [options] `now` in Unix seconds
 * @returns {any}
 */
export function verifyWebhook(body, headers, secret, { toleranceS = DEFAULT_TOLERANCE_S, now } = {}) {
  const messageId = header(headers, "webhook-id");
  const timestampText = header(headers, "webhook-timestamp");
  const signatures = header(headers, "webhook-signature");
  if (!messageId || !timestampText || !signatures || !/^\d+$/.test(timestampText.trim())) {
    throw new WebhookVerificationError("missing or malformed webhook headers");
  }
  const timestamp = Number.parseInt(timestampText.trim(), 10);
  const current = now ?? Date.now() / 1000;
  if (Math.abs(current - timestamp) > toleranceS) {
    throw new WebhookVerificationError("timestamp outside the tolerated window");
  }
  const bytes = bodyBytes(body);
  const expected = createHmac("sha256", secretKey(secret))
    .update(`${messageId}.${timestamp}.`)
    .update(bytes)
    .digest();
  const matches = signatures.split(/\s+/).some((offered) => {
    if (!offered.startsWith("v1,")) return false;
    const digest = Buffer.from(offered.slice(3), "base64");
    return digest.length === expected.length && timingSafeEqual(digest, expected);
  });
  if (!matches) throw new WebhookVerificationError("no matching signature");
  return JSON.parse(bytes.toString("utf8"));
}

/**
 * The key bytes of a `whsec_` secret.
 * @param {string} secret
 */
function secretKey(secret) {
  if (!secret.startsWith(SECRET_PREFIX)) {
    throw new TypeError("a webhook secret is written whsec_ followed by base64");
  }
  const encoded = secret.slice(SECRET_PREFIX.length);
  if (encoded.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(encoded)) {
    throw new TypeError("the webhook secret after whsec_ is not valid base64");
  }
  const key = Buffer.from(encoded, "base64");
  if (key.length < 16) throw new TypeError("a webhook secret needs at least 16 bytes of key");
  return key;
}

/**
 * @param {Headers | Record<string, string | string[] | undefined>} headers
 * @param {string} name lower case
 * @returns {string | undefined}
 */
function header(headers, name) {
  if (typeof (/** @type {Headers} */ (headers).get) === "function") {
    return /** @type {Headers} */ (headers).get(name) ?? undefined;
  }
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return Array.isArray(value) ? value.join(" ") : value;
  }
  return undefined;
}

/** @param {string | Uint8Array | ArrayBuffer} body */
function bodyBytes(body) {
  if (typeof body === "string") return Buffer.from(body, "utf8");
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}
