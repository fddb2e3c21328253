// Declarations of the client's own API (src/*.js). The API's shapes are generated from
// darkroom's OpenAPI schema into types.d.ts.
import type { JobList, JobOptions, JobOut, JobRequest, JobStatus, OutputQuery } from "./types.js";

export * from "./types.js";

export type ParamValue = string | number | boolean | null | undefined;
export type Params =
  | Record<string, ParamValue | ParamValue[]>
  | URLSearchParams
  | Iterable<[string, ParamValue]>;
/** Variant parameters of `GET /v1/jobs/{id}/outputs/{name}`, and any the server adds. */
export type VariantParams = OutputQuery & { preset?: string } & Record<string, ParamValue | ParamValue[]>;

export type FileData = Blob | ArrayBuffer | ArrayBufferView;
export type FileInput = FileData | { data: FileData; filename?: string; type?: string };

export interface WaitOptions {
  /** Seconds (at most 60 per request) to wait for the job to finish before answering. */
  wait?: number;
  signal?: AbortSignal;
}

export interface ListFilters {
  status?: JobStatus;
  createdAfter?: Date | string;
  createdBefore?: Date | string;
  /** Every label given must match (`label=key:value`). */
  labels?: Record<string, string>;
  limit?: number;
  cursor?: string | null;
  signal?: AbortSignal;
}

export interface ClientOptions {
  /** Where darkroom answers, e.g. `http://127.0.0.1:8000`. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <key>` (DARKROOM_AUTH=keys). */
  apiKey?: string;
  /** DARKROOM_URL_SIGNING_KEY: variant URLs made by the client are signed with it. */
  urlSigningKey?: string | Uint8Array;
  /** Another fetch (default: the global one). */
  fetch?: typeof fetch;
  /** Headers sent with every request. */
  headers?: Record<string, string>;
}

export class DarkroomClient {
  constructor(options: ClientOptions);
  readonly baseUrl: string;
  urlSigningKey: string | Uint8Array | undefined;
  /** Submit a job as JSON (`source` or `sources` by url, base64 or path). */
  submit(request: JobRequest, options?: WaitOptions): Promise<JobOut>;
  /** Submit images as a multipart upload; `spec` is the rest of the request. */
  upload(files: FileInput | FileInput[], spec?: JobOptions, options?: WaitOptions): Promise<JobOut>;
  /** The job; with `wait`, once finished or when the time has run out. */
  getJob(id: string, options?: WaitOptions): Promise<JobOut>;
  /** The finished job; DarkroomError `wait_timeout` if it is not finished within `timeoutS` (300). */
  waitForJob(job: string | JobOut, options?: { timeoutS?: number; signal?: AbortSignal }): Promise<JobOut>;
  listJobs(filters?: ListFilters): Promise<JobList>;
  iterJobs(filters?: ListFilters): AsyncGenerator<JobOut, void, undefined>;
  /** `DELETE /v1/jobs/{id}`: cancel if unfinished, delete stored images. */
  cancelJob(id: string): Promise<JobOut>;
  retryJob(id: string): Promise<JobOut>;
  redeliverWebhook(id: string): Promise<JobOut>;
  /** An output's URL, or a variant's (signed with `urlSigningKey` when set). */
  outputUrl(job: string | JobOut, name: string, params?: VariantParams | Params): Promise<string>;
  download(
    job: string | JobOut,
    name: string,
    options?: { params?: VariantParams | Params; accept?: string; signal?: AbortSignal },
  ): Promise<ArrayBuffer>;
}

/** An error darkroom answered (`code`, `status`, `details` as in its error body), or none reached it. */
export class DarkroomError extends Error {
  constructor(
    message: string,
    fields?: { status?: number; code?: string; details?: unknown; headers?: Headers | null; cause?: unknown },
  );
  /** HTTP status; 0 when no answer came (`unreachable`) or a wait ran out (`wait_timeout`). */
  status: number;
  /** The API's `error.code`, e.g. `not_found`, `invalid_request`, `invalid_signature`. */
  code: string;
  details: unknown;
  headers: Headers | null;
  /** Seconds `Retry-After` asks to wait, or null. */
  readonly retryAfter: number | null;
}

/**
 * `path` (a path or a whole URL) with `params` and a `signature` over both, as
 * DARKROOM_URL_SIGNING_KEY requires for variants.
 */
export function signVariantUrl(
  path: string,
  params: VariantParams | Params | null | undefined,
  key: string | Uint8Array,
): Promise<string>;
