// Generated from darkroom's OpenAPI schema (/openapi.json) by clients/js/scripts/gen_types.py.
// Do not edit: run `.venv/bin/python clients/js/scripts/gen_types.py` after the API changes.

export interface CropOut {
  x: number;
  y: number;
  width: number;
  height: number;
  /** What placed it: the gravity given, or for auto and faces the method that decided (faces, objects, attention). */
  method: string;
  /** 0..1 for attention, entropy, faces and objects; null for fixed gravities. */
  confidence?: number | null;
}

export interface ErrorInfo {
  code: string;
  message: string;
}

/**
 * How a thumbnail meets its box: ``contain`` (the default) makes the output the
 * picture's own shape within the box; ``pad`` makes the output the whole box, the
 * picture centred in it and the rest ``background``.
 */
export type Fit = "contain" | "pad";

export type Flip = "horizontal" | "vertical";

/** A focal point, as fractions of the displayed picture: (0, 0) top left. */
export interface FocusIn {
  x: number;
  y: number;
}

export type Gravity = "centre" | "north" | "north_east" | "east" | "south_east" | "south" | "south_west" | "west" | "north_west" | "attention" | "entropy" | "faces" | "auto" | "focus";

export interface HealthOut {
  status: string;
  queue_depth: number;
  workers_alive: number;
  /** Workers this process runs, if any */
  pool_size?: number | null;
}

export interface JobLinks {
  self: string;
  /** Where each output will be served; filled in as the job finishes. */
  outputs: { [key: string]: string };
}

export interface JobList {
  jobs: JobOut[];
  next_cursor: string | null;
}

/** Everything in a job request except its sources (the multipart ``spec`` part). */
export interface JobOptions {
  /** Outputs to make. Default: one 512x512 WebP thumbnail named 'default'. */
  outputs?: OutputIn[] | null;
  /** POSTed a signed JSON description of the job when it succeeds or fails. */
  webhook_url?: string | null;
  idempotency_key?: string | null;
  /** Delete the job's outputs and record this many seconds after it finishes, at most 50 years (1576800000). Default: DARKROOM_RETENTION_S (unset: kept until deleted). */
  retention_s?: number | null;
  labels?: { [key: string]: string };
  /** The page of each source to use, from 0: a multi-page TIFF's page, or a frame of an animation as a still. Default: the first page (an animation stays animated where the output format can be). */
  page?: number | null;
  /** Give each source's facts a `blurhash`, a `thumbhash` and a `dominant_color`, from the decode its outputs are made from. */
  placeholders?: boolean;
}

export interface JobOut {
  id: string;
  status: JobStatus;
  progress: number;
  attempts: number;
  max_attempts: number;
  /** 1 = next to run; null unless queued */
  queue_position?: number | null;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
  error: ErrorInfo | null;
  outputs: OutputOut[];
  sources: SourceOut[];
  labels: { [key: string]: string };
  idempotency_key: string | null;
  webhook_url: string | null;
  artifacts_deleted: boolean;
  /** Seconds the job is kept after it finishes */
  retention_s: number | null;
  /** When its outputs and record are deleted */
  expires_at: string | null;
  webhook: WebhookOut;
  links: JobLinks;
}

/** A JSON job request: sources plus options. */
export interface JobRequest {
  /** Outputs to make. Default: one 512x512 WebP thumbnail named 'default'. */
  outputs?: OutputIn[] | null;
  /** POSTed a signed JSON description of the job when it succeeds or fails. */
  webhook_url?: string | null;
  idempotency_key?: string | null;
  /** Delete the job's outputs and record this many seconds after it finishes, at most 50 years (1576800000). Default: DARKROOM_RETENTION_S (unset: kept until deleted). */
  retention_s?: number | null;
  labels?: { [key: string]: string };
  /** The page of each source to use, from 0: a multi-page TIFF's page, or a frame of an animation as a still. Default: the first page (an animation stays animated where the output format can be). */
  page?: number | null;
  /** Give each source's facts a `blurhash`, a `thumbhash` and a `dominant_color`, from the decode its outputs are made from. */
  placeholders?: boolean;
  source?: SourceIn | null;
  sources?: SourceIn[] | null;
}

export type JobStatus = "queued" | "processing" | "succeeded" | "failed" | "canceled";

export type Operation = "thumbnail" | "resize" | "cover" | "convert" | "pair";

export type OutputFormat = "jpeg" | "png" | "webp" | "avif" | "gif";

/** One format an output asking for several (`formats`) was stored in. */
export interface OutputFormatOut {
  format: string;
  width: number;
  height: number;
  frames?: number;
  bytes: number;
  /** The output in this format: its `url` with `format=`. */
  url: string;
  quality?: number | null;
}

export interface OutputIn {
  name?: string;
  /** A preset configured in DARKROOM_PRESETS: its fields, under those given here, which override them. */
  preset?: string | null;
  op?: Operation;
  width?: number | null;
  height?: number | null;
  /** Where a cover crop sits: a compass point, or placed by looking at the picture: attention (edges, skin, saturation), entropy, faces, auto (faces when there are any, else attention), focus (centred on `focus`). */
  gravity?: Gravity;
  /** Focal point for a cover crop; implies gravity 'focus'. */
  focus?: FocusIn | null;
  /** Longest side, in pixels, of the copy a smart gravity or a pair analyses. Default: 320 for a cover, 640 for each page of a pair (lettering must stay legible). */
  max_analysis_size?: number | null;
  /** Output format; default: the source's when it is one, PNG for SVG and ICO sources, else jpeg. */
  format?: OutputFormat | null;
  /** Instead of `format`: store the output in each of these (1 to 4, distinct), all made from the one decode. `format` in the answer is the first; `GET …/outputs/{name}` serves the best one the request's `Accept` allows (docs/api.md, "Serving outputs"). */
  formats?: OutputFormat[] | null;
  quality?: number | null;
  keep_metadata?: boolean;
  /** Scale a source smaller than the box up to it (thumbnail, cover, resize). Default: an output never has more pixels along a side than the source (or its region) has, and keeps the asked aspect ratio. */
  enlarge?: boolean;
  /** Degrees clockwise, after EXIF orientation and before the op. */
  rotate?: 0 | 90 | 180 | 270;
  /** Mirror after rotating. */
  flip?: Flip | null;
  /** Cut this rectangle of the displayed source first, then apply the op. */
  region?: RegionIn | null;
  /** thumbnail: 'pad' makes the output exactly width x height, the picture centred in it and the rest filled with `background`. */
  fit?: Fit;
  /** #rrggbb or #rrggbbaa: what `fit: pad` fills with (default: white, or transparent where the format has alpha), and what transparency is flattened onto for JPEG (default white). */
  background?: string | null;
  /** Gaussian blur, sigma in output pixels. */
  blur?: number | null;
  /** Sharpen, sigma in output pixels. */
  sharpen?: number | null;
  /** Cut away borders of one colour (the top-left pixel's), within this distance of it, before the op. */
  trim?: number | null;
  /** Device pixel ratio: width and height are multiplied by it. */
  dpr?: number;
  watermark?: WatermarkIn | null;
  /** Progressive JPEG; interlaced PNG. */
  progressive?: boolean;
  /** Lossless WebP or AVIF. */
  lossless?: boolean;
  /** WebP and AVIF: how hard the encoder looks for a smaller file at the same quality, 0 (fastest) to 9 (AVIF; WebP's most is 6, and more counts as 6). Default: AVIF 0; WebP 0 up to 640x640 pixels, 4 above. */
  effort?: number | null;
  /** JPEG, WebP, AVIF: lower the quality until the output fits; the output's `quality` says which was used. */
  max_bytes?: number | null;
  /** Keep the source's colour profile (keep_metadata keeps it too). */
  keep_icc?: boolean;
  /** pair: pixels between the halves */
  gap?: number | null;
  /** pair: first and last pages penalised as covers/credits */
  skip_edges?: number | null;
  /** pair: text share penalised */
  text_soft_ratio?: number;
  /** pair: text share ranked last */
  text_hard_ratio?: number;
  /** pair: list every page's analysis */
  return_candidates?: boolean;
}

export interface OutputOut {
  name: string;
  /** Index of the source this output was made from; null for a pair cover. */
  source: number | null;
  op: string;
  format: string;
  width: number;
  height: number;
  frames?: number;
  bytes: number;
  url: string;
  /** JPEG, lossy WebP and AVIF: the quality encoded at; with `max_bytes`, the highest that fit. */
  quality?: number | null;
  /** Cover outputs: the region cut out, in source pixels as displayed. */
  crop?: CropOut | null;
  /** Pair covers: the pages picked, and why. */
  pair?: PairOut | null;
  /** Outputs asking for several formats: each, in the order asked; the output's own `format`, sizes and `quality` are the first's. Its `url` serves the best one the request's `Accept` allows. */
  formats?: OutputFormatOut[] | null;
}

export interface PairOut {
  /** The left page, then the right one */
  picked: PairPageOut[];
  /** Every page, in order, when return_candidates was set */
  candidates?: PairPageOut[] | null;
  fallback_used?: boolean;
  warning?: string | null;
}

export interface PairPageOut {
  /** The page's place among the job's sources (0 first) */
  index: number;
  score: number;
  /** Share of the page covered by text and bubbles */
  text_ratio: number;
  /** Among the first or last skip_edges pages */
  in_edge: boolean;
  /** The portrait window used: x, y, width, height */
  box: { [key: string]: number };
  /** What measured text_ratio: glyphs (lettering found without a model), objects (the configured YOLO model's text classes) or none (fallback composer) */
  text_source?: string;
}

export interface PoolOut {
  size: number;
  alive: number;
  pids: number[];
}

export interface PoolResize {
  workers: number;
}

export interface ReadyOut {
  status: string;
  checks: { [key: string]: string };
}

/** A rectangle of the source as displayed (EXIF orientation applied), in pixels. */
export interface RegionIn {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** One input image: exactly one of ``url``, ``base64`` or ``path``. */
export interface SourceIn {
  /** http(s) URL the worker downloads. */
  url?: string | null;
  /** Image bytes, base64 (standard or URL-safe) or a data: URI. */
  base64?: string | null;
  filename?: string | null;
  /** A file inside the server's DARKROOM_INPUT_ROOT, relative to it. */
  path?: string | null;
}

export interface SourceOut {
  /** upload, url or path */
  kind: string;
  filename?: string | null;
  url?: string | null;
  format?: string | null;
  width?: number | null;
  height?: number | null;
  orientation?: number | null;
  has_icc_profile?: boolean | null;
  frames?: number | null;
  bytes?: number | null;
  sha256?: string | null;
  /** With `"placeholders": true`: the picture as a BlurHash. */
  blurhash?: string | null;
  /** With `"placeholders": true`: the picture as a ThumbHash, base64. */
  thumbhash?: string | null;
  /** With `"placeholders": true`: its most common colour, #rrggbb. */
  dominant_color?: string | null;
}

export interface StatsOut {
  jobs: { [key: string]: number };
  queue_depth: number;
  oldest_queued_age_s: number | null;
  /** Jobs succeeded per second over the last minute */
  throughput_per_s: number;
  succeeded_last_minute: number;
  workers_alive: number;
}

export interface WatermarkIn {
  source: WatermarkSourceIn;
  /** A compass point or centre. */
  gravity?: Gravity;
  opacity?: number;
  /** The watermark's width as a share of the output's. */
  scale?: number;
  /** Pixels from the output's edges. */
  margin?: number;
}

/**
 * Where a watermark's image comes from: exactly one of ``name`` (configured in
 * DARKROOM_WATERMARKS), ``path`` (under DARKROOM_INPUT_ROOT) or ``blob`` (a key in
 * darkroom's store, such as another job's output).
 */
export interface WatermarkSourceIn {
  name?: string | null;
  path?: string | null;
  blob?: string | null;
}

export interface WebhookOut {
  /** Whether the job has a webhook_url. */
  enabled: boolean;
  url?: string | null;
  /** waiting (the job has not finished), pending (being sent or retried), delivered or failed (out of attempts); null without a webhook */
  state?: string | null;
  delivered?: boolean;
  /** The webhook-id header, stable over retries */
  message_id?: string | null;
  attempts?: number;
  last_status_code?: number | null;
  last_error?: string | null;
  scheduled_at?: string | null;
  last_attempt_at?: string | null;
  next_attempt_at?: string | null;
  delivered_at?: string | null;
}

/** Query parameters of `GET /v1/jobs`. */
export interface ListJobsQuery {
  status?: JobStatus | null;
  created_after?: string | null;
  created_before?: string | null;
  /** key:value; repeat to require several */
  label?: string[];
  limit?: number;
  cursor?: string | null;
}

/** Query parameters of `GET /v1/jobs/{job_id}`. */
export interface GetJobQuery {
  /** Seconds to wait for the job to finish (succeeded, failed or canceled) before answering; the answer comes as soon as it has, else after this long, with the job as it is then. */
  wait?: number;
}

/** Query parameters of `GET /v1/jobs/{job_id}/outputs/{name}`. */
export interface OutputQuery {
  /** A stored format of the output: served as stored; `auto`: the one `Accept` prefers; another: converted. */
  format?: "auto" | "jpeg" | "png" | "webp" | "avif" | "gif" | null;
  width?: number | null;
  quality?: number | null;
  rotate?: number;
  flip?: Flip | null;
  blur?: number | null;
  sharpen?: number | null;
  dpr?: number;
  progressive?: boolean;
  lossless?: boolean;
  /** A preset (DARKROOM_PRESETS): the variant its fields describe. */
  preset?: string | null;
  /** With DARKROOM_URL_SIGNING_KEY set, what a conversion needs: docs/security.md, "Signed variants". */
  signature?: string | null;
  /** With `sig`: a signed link's expiry (Unix seconds). */
  expires?: string | null;
  /** A signed link's signature, as the job's `url` gives it. */
  sig?: string | null;
}
