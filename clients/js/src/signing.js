/**
 * Signed variant URLs (DARKROOM_URL_SIGNING_KEY; docs/api.md). The canonical string is the
 * path as sent, then `?` and the query parameters other than `signature`, sorted by name
 * then value and form-encoded as Python's `urllib.parse.urlencode` writes them; the
 * signature is base64url, unpadded, of HMAC-SHA256 over it, keyed with the key's UTF-8.
 */

const encoder = new TextEncoder();

/**
 * @typedef {string | number | boolean | null | undefined} ParamValue
 * @typedef {Record<string, ParamValue | ParamValue[]> | URLSearchParams | Iterable<[string, ParamValue]>} Params
 */

/**
 * `path` with `params` and a `signature` over both. `path` is a path (`/v1/jobs/…`) or a
 * whole URL (an output's `url`); parameters it already carries (a signed link's `expires`
 * and `sig`) are signed with the others.
 * @param {string} path
 * @param {Params | null | undefined} params
 * @param {string | Uint8Array} key
 * @returns {Promise<string>}
 */
export async function signVariantUrl(path, params, key) {
  const { origin, pathname, pairs: carried } = splitUrl(path);
  const pairs = sortPairs([...carried, ...toPairs(params)].filter(([name]) => name !== "signature"));
  const query = formEncode(pairs);
  const canonical = query ? `${pathname}?${query}` : pathname;
  const keyBytes = typeof key === "string" ? encoder.encode(key) : key;
  const signature = base64Url(await hmacSha256(keyBytes, encoder.encode(canonical)));
  return `${origin}${pathname}?${query ? `${query}&` : ""}signature=${signature}`;
}

/**
 * `path` with `params` appended, unsigned, in the same encoding.
 * @param {string} path
 * @param {Params | null | undefined} params
 * @returns {string}
 */
export function withParams(path, params) {
  const { origin, pathname, pairs: carried } = splitUrl(path);
  const query = formEncode([...carried, ...toPairs(params)]);
  return `${origin}${pathname}${query ? `?${query}` : ""}`;
}

/**
 * @param {string} path
 * @returns {{origin: string, pathname: string, pairs: Array<[string, string]>}}
 */
function splitUrl(path) {
  if (/^https?:\/\//i.test(path)) {
    const url = new URL(path);
    return { origin: url.origin, pathname: url.pathname, pairs: [...url.searchParams] };
  }
  const mark = path.indexOf("?");
  if (mark < 0) return { origin: "", pathname: path, pairs: [] };
  return {
    origin: "",
    pathname: path.slice(0, mark),
    pairs: [...new URLSearchParams(path.slice(mark + 1))],
  };
}

/**
 * Name and value pairs, as strings; null and undefined values left out, arrays repeated.
 * @param {Params | null | undefined} params
 * @returns {Array<[string, string]>}
 */
export function toPairs(params) {
  if (params == null) return [];
  /** @type {Iterable<[string, any]>} */
  const entries =
    params instanceof URLSearchParams || Symbol.iterator in Object(params)
      ? /** @type {Iterable<[string, any]>} */ (params)
      : Object.entries(params);
  /** @type {Array<[string, string]>} */
  const pairs = [];
  for (const [name, value] of entries) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item != null) pairs.push([name, String(item)]);
    }
  }
  return pairs;
}

/**
 * Sorted as Python sorts tuples of strings: by code point, name first.
 * @param {Array<[string, string]>} pairs
 */
function sortPairs(pairs) {
  return [...pairs].sort(([n1, v1], [n2, v2]) => compareCodePoints(n1, n2) || compareCodePoints(v1, v2));
}

/** @param {string} a @param {string} b */
function compareCodePoints(a, b) {
  const left = [...a];
  const right = [...b];
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const diff = /** @type {number} */ (left[i].codePointAt(0)) - /** @type {number} */ (right[i].codePointAt(0));
    if (diff !== 0) return diff;
  }
  return left.length - right.length;
}

/**
 * application/x-www-form-urlencoded as Python's `quote_plus` writes it: only letters,
 * digits and `_.-~` stay as they are, a space is `+`.
 * @param {Array<[string, string]>} pairs
 */
function formEncode(pairs) {
  return pairs.map(([name, value]) => `${quotePlus(name)}=${quotePlus(value)}`).join("&");
}

/** @param {string} text */
function quotePlus(text) {
  return encodeURIComponent(text)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, "+");
}

/**
 * @param {Uint8Array} key
 * @param {Uint8Array} data
 * @returns {Promise<Uint8Array>}
 */
async function hmacSha256(key, data) {
  const subtle = await webCrypto();
  const algorithm = { name: "HMAC", hash: "SHA-256" };
  const cryptoKey = await subtle.importKey("raw", /** @type {BufferSource} */ (key), algorithm, false, ["sign"]);
  return new Uint8Array(await subtle.sign("HMAC", cryptoKey, /** @type {BufferSource} */ (data)));
}

/** @returns {Promise<SubtleCrypto>} */
async function webCrypto() {
  if (globalThis.crypto?.subtle) return globalThis.crypto.subtle;
  // Node 18 has WebCrypto only as node:crypto's `webcrypto`. The name is in a variable so
  // that bundlers for browsers, which always have globalThis.crypto, leave it alone.
  const nodeCrypto = "node:crypto";
  const { webcrypto } = await import(nodeCrypto);
  return webcrypto.subtle;
}

/** @param {Uint8Array} bytes */
function base64Url(bytes) {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
