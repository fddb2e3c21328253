/** A client of darkroom's native HTTP API (docs/api.md) for Node 18+ and browsers. */
import { DarkroomError, errorFromResponse } from "./errors.js";
import { signVariantUrl, toPairs, withParams } from "./signing.js";

/** @typedef {import("../types.js").JobOut} Job */
/** @typedef {import("../types.js").JobList} JobList */
/** @typedef {import("../types.js").JobRequest} JobRequest */
/** @typedef {import("../types.js").JobOptions} JobOptions */
/** @typedef {import("./signing.js").Params} Params */
/**
 * @typedef {Blob | ArrayBuffer | ArrayBufferView | {data: Blob | ArrayBuffer | ArrayBufferView, filename?: string, type?: string}} FileInput
 * @typedef {{wait?: number, signal?: AbortSignal}} WaitOptions
 */

const TERMINAL = new Set(["succeeded", "failed", "canceled"]);
const MAX_WAIT_S = 60;
const FIRST_POLL_MS = 100;
const LONGEST_POLL_MS = 1000;

export class DarkroomClient {
  /**
   * @param {object} options
   * @param {string} options.baseUrl where darkroom answers, e.g. `http://127.0.0.1:8000`
   * @param {string} [options.apiKey] sent as `Authorization: Bearer …` (DARKROOM_AUTH=keys)
   * @param {string | Uint8Array} [options.urlSigningKey] DARKROOM_URL_SIGNING_KEY: variant URLs are signed with it
   * @param {typeof fetch} [options.fetch] another fetch (default: the global one)
   * @param {Record<string, string>} [options.headers] sent with every request
   */
  constructor({ baseUrl, apiKey, urlSigningKey, fetch: fetchImpl, headers = {} }) {
    if (!baseUrl) throw new TypeError("baseUrl is required");
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.urlSigningKey = urlSigningKey;
    const send = fetchImpl ?? globalThis.fetch;
    if (typeof send !== "function") throw new TypeError("no fetch: pass options.fetch");
    /** @type {typeof fetch} */
    this.fetch = (input, init) => send(input, init);
    /** @type {Record<string, string>} */
    this.headers = { ...headers, ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) };
  }

  /**
   * Submit a job as JSON: `source` or `sources` by `url`, `base64` or `path`, plus outputs.
   * With `wait` (seconds, at most 60), darkroom holds the answer until the job ends or the
   * time runs out (`Prefer: wait`); the job is returned as it is then.
   * @param {JobRequest} request
   * @param {WaitOptions} [options]
   * @returns {Promise<Job>}
   */
  async submit(request, options = {}) {
    return this.#create(JSON.stringify(request), { "content-type": "application/json" }, options);
  }

  /**
   * Submit images as a multipart upload: each file is a source, in order; `spec` is the
   * rest of the request (outputs, labels, webhook_url, …).
   * @param {FileInput | FileInput[]} files
   * @param {JobOptions} [spec]
   * @param {WaitOptions} [options]
   * @returns {Promise<Job>}
   */
  async upload(files, spec, options = {}) {
    const form = new FormData();
    for (const [index, file] of (Array.isArray(files) ? files : [files]).entries()) {
      const { blob, filename } = asBlob(file, index);
      form.append("file", blob, filename);
    }
    if (spec !== undefined) form.append("spec", JSON.stringify(spec));
    return this.#create(form, {}, options);
  }

  /**
   * @param {BodyInit} body
   * @param {Record<string, string>} headers
   * @param {WaitOptions} options
   */
  async #create(body, headers, { wait, signal } = {}) {
    if (!wait) return (await this.#send("POST", "/v1/jobs", { body, headers, signal })).json();
    const started = Date.now();
    const prefer = `wait=${waitSeconds(wait)}`;
    const response = await this.#send("POST", "/v1/jobs", { body, headers: { ...headers, prefer }, signal });
    /** @type {Job} */
    const job = await response.json();
    if (TERMINAL.has(job.status) || /\bwait\b/i.test(response.headers.get("preference-applied") ?? "")) {
      return job;
    }
    // A darkroom that does not know `Prefer: wait` answered at once: wait by asking again.
    const left = wait - (Date.now() - started) / 1000;
    return left > 0 ? this.getJob(job.id, { wait: left, signal }) : job;
  }

  /**
   * The job. With `wait` (seconds), once it has finished or the time has run out, whichever
   * comes first (`?wait=`; against a darkroom that does not hold the answer, by polling).
   * @param {string} id
   * @param {WaitOptions} [options]
   * @returns {Promise<Job>}
   */
  async getJob(id, { wait, signal } = {}) {
    const path = `/v1/jobs/${encodeURIComponent(id)}`;
    if (!wait) return this.#json("GET", path, { signal });
    const deadline = Date.now() + wait * 1000;
    let pauseMs = FIRST_POLL_MS;
    for (;;) {
      const askedS = waitSeconds((deadline - Date.now()) / 1000);
      const asked = Date.now();
      /** @type {Job} */
      const job = await this.#json("GET", path, { query: { wait: askedS }, signal });
      const now = Date.now();
      if (TERMINAL.has(job.status) || now >= deadline) return job;
      if (now - asked < askedS * 1000) {
        // Answered before the time asked with the job unfinished: this darkroom does not wait.
        await sleep(Math.min(pauseMs, deadline - now), signal);
        pauseMs = Math.min(pauseMs * 2, LONGEST_POLL_MS);
      }
    }
  }

  /**
   * The job once it has finished (succeeded, failed or canceled). Throws a DarkroomError
   * with code `wait_timeout` if it has not within `timeoutS`.
   * @param {string | Job} job
   * @param {{timeoutS?: number, signal?: AbortSignal}} [options]
   * @returns {Promise<Job>}
   */
  async waitForJob(job, { timeoutS = 300, signal } = {}) {
    const id = typeof job === "string" ? job : job.id;
    const finished = await this.getJob(id, { wait: timeoutS, signal });
    if (!TERMINAL.has(finished.status)) {
      throw new DarkroomError(`job ${id} is still ${finished.status} after ${timeoutS} s`, {
        code: "wait_timeout",
      });
    }
    return finished;
  }

  /**
   * One page of jobs, newest first; pass its `next_cursor` as `cursor` for the next.
   * @param {{status?: string, createdAfter?: Date | string, createdBefore?: Date | string, labels?: Record<string, string>, limit?: number, cursor?: string | null, signal?: AbortSignal}} [filters]
   * @returns {Promise<JobList>}
   */
  async listJobs({ status, createdAfter, createdBefore, labels = {}, limit, cursor, signal } = {}) {
    const query = {
      status,
      created_after: isoTime(createdAfter),
      created_before: isoTime(createdBefore),
      label: Object.entries(labels).map(([key, value]) => `${key}:${value}`),
      limit,
      cursor,
    };
    return this.#json("GET", "/v1/jobs", { query, signal });
  }

  /**
   * Every job the filters match, page after page.
   * @param {Parameters<DarkroomClient["listJobs"]>[0]} [filters]
   * @returns {AsyncGenerator<Job>}
   */
  async *iterJobs(filters = {}) {
    let cursor = filters.cursor;
    do {
      const page = await this.listJobs({ ...filters, cursor });
      yield* page.jobs;
      cursor = page.next_cursor;
    } while (cursor);
  }

  /**
   * Cancel the job if it has not finished and delete its stored images (`DELETE`); the
   * record stays, with `artifacts_deleted: true`.
   * @param {string} id
   * @returns {Promise<Job>}
   */
  async cancelJob(id) {
    return this.#json("DELETE", `/v1/jobs/${encodeURIComponent(id)}`);
  }

  /**
   * Queue a failed job again with a fresh set of attempts (409 `invalid_state` otherwise).
   * @param {string} id
   * @returns {Promise<Job>}
   */
  async retryJob(id) {
    return this.#json("POST", `/v1/jobs/${encodeURIComponent(id)}/retry`);
  }

  /**
   * Send a finished job's webhook again, with the same `webhook-id`.
   * @param {string} id
   * @returns {Promise<Job>}
   */
  async redeliverWebhook(id) {
    return this.#json("POST", `/v1/jobs/${encodeURIComponent(id)}/webhook/redeliver`);
  }

  /**
   * The URL of an output, or with `params` (width, format, quality, preset, …) of a variant
   * of it, signed when the client has a `urlSigningKey`. Given the job itself, its output's
   * own `url` is used (under DARKROOM_AUTH=keys a signed link that needs no key).
   * @param {string | Job} job
   * @param {string} name
   * @param {Params} [params]
   * @returns {Promise<string>}
   */
  async outputUrl(job, name, params) {
    const url = this.#outputBase(job, name);
    if (toPairs(params).length > 0 && this.urlSigningKey !== undefined) return signVariantUrl(url, params, this.urlSigningKey);
    return withParams(url, params);
  }

  /**
   * An output's bytes, or a variant's (`params`, signed as outputUrl signs them). `accept`
   * is sent as `Accept`: for an output made in several formats, darkroom picks the first of
   * them it allows.
   * @param {string | Job} job
   * @param {string} name
   * @param {{params?: Params, accept?: string, signal?: AbortSignal}} [options]
   * @returns {Promise<ArrayBuffer>}
   */
  async download(job, name, { params, accept, signal } = {}) {
    const url = await this.outputUrl(job, name, params);
    const response = await this.#send("GET", url, { headers: accept ? { accept } : {}, signal });
    return response.arrayBuffer();
  }

  /**
   * @param {string | Job} job
   * @param {string} name
   */
  #outputBase(job, name) {
    if (typeof job !== "string") {
      const listed = job.outputs?.find((output) => output.name === name)?.url ?? job.links?.outputs?.[name];
      if (listed) return listed;
    }
    const id = typeof job === "string" ? job : job.id;
    return `${this.baseUrl}/v1/jobs/${encodeURIComponent(id)}/outputs/${encodeURIComponent(name)}`;
  }

  /**
   * @param {string} method
   * @param {string} path
   * @param {{query?: Params, body?: BodyInit, signal?: AbortSignal}} [options]
   */
  async #json(method, path, options = {}) {
    const response = await this.#send(method, path, options);
    return response.json();
  }

  /**
   * The answer to one request; a DarkroomError for an error status or no answer at all.
   * @param {string} method
   * @param {string} pathOrUrl
   * @param {{query?: Params, body?: BodyInit, headers?: Record<string, string>, signal?: AbortSignal}} [options]
   * @returns {Promise<Response>}
   */
  async #send(method, pathOrUrl, { query, body, headers = {}, signal } = {}) {
    const absolute = /^https?:\/\//i.test(pathOrUrl) ? pathOrUrl : `${this.baseUrl}${pathOrUrl}`;
    const url = query ? withParams(absolute, query) : absolute;
    /** @type {Response} */
    let response;
    try {
      response = await this.fetch(url, { method, body, signal, headers: { ...this.headers, ...headers } });
    } catch (cause) {
      if (signal?.aborted) throw cause;
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new DarkroomError(`cannot reach darkroom at ${this.baseUrl}: ${reason}`, {
        code: "unreachable",
        cause,
      });
    }
    if (!response.ok) throw await errorFromResponse(response);
    return response;
  }
}

/**
 * Whole seconds to ask darkroom to wait: at least 1, at most 60.
 * @param {number} seconds
 */
function waitSeconds(seconds) {
  return Math.min(MAX_WAIT_S, Math.max(1, Math.ceil(seconds)));
}

/**
 * @param {FileInput} file
 * @param {number} index
 * @returns {{blob: Blob, filename: string}}
 */
function asBlob(file, index) {
  const fallbackName = `image-${index}`;
  if (file instanceof Blob) {
    return { blob: file, filename: /** @type {File} */ (file).name || fallbackName };
  }
  if (file instanceof ArrayBuffer || ArrayBuffer.isView(file)) {
    return { blob: new Blob([/** @type {BlobPart} */ (file)]), filename: fallbackName };
  }
  const { data, filename = fallbackName, type } = file;
  const blob = data instanceof Blob && !type ? data : new Blob([/** @type {BlobPart} */ (data)], type ? { type } : {});
  return { blob, filename };
}

/** @param {Date | string | undefined} value */
function isoTime(value) {
  return value instanceof Date ? value.toISOString() : value;
}

/**
 * @param {number} ms
 * @param {AbortSignal} [signal]
 */
function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const abort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", abort);
      resolve(undefined);
    }, ms);
    signal?.addEventListener("abort", abort, { once: true });
  });
}
