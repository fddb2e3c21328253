#!/usr/bin/env node
// Make a cover with darkroom's smartcrop API (docs/compatibility.md) and save it.
//
//   node examples/smartcrop/client.mjs --url http://127.0.0.1:8080 pages/01.webp pages/02.webp
//   node examples/smartcrop/client.mjs --upload --out cover.avif --width 800 ~/scans/*.png
//
// It asks POST /thumbnail for a job, reads GET /job/{id} until the job is done or failed,
// then fetches GET /job/{id}/image. Progress goes to stderr; the finished job, as JSON, to
// stdout. Node 20 or newer; no packages needed.

import { mkdir, readFile, writeFile } from "node:fs/promises";
import { basename, dirname, extname } from "node:path";
import { parseArgs } from "node:util";

const HELP = `usage: client.mjs [options] IMAGE...

Each IMAGE is a path on the darkroom server, inside its DARKROOM_INPUT_ROOT, unless
--upload is given: then it is a file here, sent inside the request.

options:
  --url URL          darkroom's address (default: $DARKROOM_URL, else http://127.0.0.1:8080)
  --upload           send the images themselves instead of naming server paths
  --single           crop the first image alone instead of pairing pages into one cover
  --ratio R          the single crop's aspect, "16:9" or a number (default 16:9)
  --candidates       include the scored candidate pages in the job's result
  -o, --out FILE     where to save the cover (default: cover.jpg)
  --format F         jpg or avif (default: avif when FILE ends in .avif, else jpg)
  --quality N        0 to 100 (default: darkroom's, 95)
  --width N          scale the cover to N pixels wide, keeping its aspect
  --every S          seconds between looks at the job (default: 1)
  --timeout S        stop waiting after S seconds (default: 600)
  -h, --help         show this and exit

Exit status: 0 saved, 1 darkroom refused or failed the job, 2 bad arguments.`;

class UsageError extends Error {}

function readOptions(argv) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        url: { type: "string", default: process.env.DARKROOM_URL ?? "http://127.0.0.1:8080" },
        upload: { type: "boolean", default: false },
        single: { type: "boolean", default: false },
        ratio: { type: "string" },
        candidates: { type: "boolean", default: false },
        out: { type: "string", short: "o", default: "cover.jpg" },
        format: { type: "string" },
        quality: { type: "string" },
        width: { type: "string" },
        every: { type: "string", default: "1" },
        timeout: { type: "string", default: "600" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    throw new UsageError(error.message);
  }
  const { values, positionals } = parsed;
  if (values.help) return null;
  if (positionals.length === 0) throw new UsageError("name at least one image");

  const byExtension = extname(values.out).toLowerCase() === ".avif" ? "avif" : "jpg";
  const format = (values.format ?? byExtension).toLowerCase().replace(/^jpeg$/, "jpg");
  if (!["jpg", "avif"].includes(format)) {
    throw new UsageError(`--format: jpg or avif, not ${values.format}`);
  }

  return {
    url: values.url.replace(/\/+$/, ""),
    images: positionals,
    upload: values.upload,
    single: values.single,
    ratio: values.ratio,
    candidates: values.candidates,
    out: values.out,
    format,
    quality: values.quality === undefined ? undefined : whole("--quality", values.quality, 0, 100),
    width: values.width === undefined ? undefined : whole("--width", values.width, 1),
    every: number("--every", values.every, 0.1),
    timeout: number("--timeout", values.timeout, 1),
  };
}

function number(flag, text, min, max = Infinity) {
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value) || value < min || value > max) {
    const range = max === Infinity ? `at least ${min}` : `from ${min} to ${max}`;
    throw new UsageError(`${flag}: expected a number ${range}, got "${text}"`);
  }
  return value;
}

function whole(flag, text, min, max = Infinity) {
  const value = number(flag, text, min, max);
  if (!Number.isInteger(value)) {
    throw new UsageError(`${flag}: expected a whole number, got "${text}"`);
  }
  return value;
}

// The request body of POST /thumbnail.
async function thumbnailRequest(options) {
  const body = {};
  if (options.upload) {
    body.image_files = await Promise.all(
      options.images.map(async (path) => {
        const bytes = await readFile(path).catch((error) => {
          const reason = error.code === "ENOENT" ? "no such file" : error.message;
          throw new Error(`cannot read ${path}: ${reason}`);
        });
        return { filename: basename(path), content_base64: bytes.toString("base64") };
      }),
    );
  } else {
    body.image_paths = options.images;
  }
  if (options.single) body.compose_mode = "single";
  if (options.ratio !== undefined) body.preferred_ratio = options.ratio;
  if (options.candidates) body.return_candidates = true;
  return body;
}

// Calls darkroom; answers the parsed JSON, or throws with darkroom's own error message.
async function call(what, url, init) {
  let response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    throw new Error(`${what}: cannot reach ${url} (${error.cause?.message ?? error.message})`);
  }
  const text = await response.text();
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const reason = body?.error ?? body?.detail ?? (text.trim() || response.statusText);
    const said = typeof reason === "string" ? reason : JSON.stringify(reason);
    throw new Error(`${what}: darkroom answered ${response.status}: ${said}`);
  }
  if (body === undefined) {
    throw new Error(`${what}: expected JSON from ${url}, got: ${text.slice(0, 200)}`);
  }
  return body;
}

async function waitForJob(jobUrl, options) {
  const deadline = Date.now() + options.timeout * 1000;
  let last = "";
  for (;;) {
    const job = await call("job status", jobUrl);
    if (job.status !== last) {
      const queued = job.status === "queued" && job.queue_position;
      const where = queued ? ` (queue position ${job.queue_position})` : "";
      log(`job ${job.job_id} is ${job.status}${where}`);
      last = job.status;
    }
    if (job.status === "done") return job;
    if (job.status === "failed") {
      throw new Error(`the job failed: ${job.error ?? "no reason given"}`);
    }
    if (Date.now() >= deadline) {
      throw new Error(`the job is still ${job.status} after ${options.timeout} s; giving up`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.every * 1000));
  }
}

async function saveImage(imageUrl, options) {
  const url = new URL(imageUrl);
  url.searchParams.set("format", options.format);
  if (options.quality !== undefined) url.searchParams.set("quality", String(options.quality));
  if (options.width !== undefined) url.searchParams.set("width", String(options.width));

  let response;
  try {
    response = await fetch(url);
  } catch (error) {
    throw new Error(`download: cannot reach ${url} (${error.cause?.message ?? error.message})`);
  }
  if (!response.ok) {
    throw new Error(`download: darkroom answered ${response.status}: ${await response.text()}`);
  }
  const bytes = Buffer.from(await response.arrayBuffer());
  await mkdir(dirname(options.out), { recursive: true });
  await writeFile(options.out, bytes);
  log(`saved ${options.out} (${options.format}, ${bytes.length} bytes)`);
}

function log(line) {
  process.stderr.write(`${line}\n`);
}

async function main() {
  const options = readOptions(process.argv.slice(2));
  if (options === null) {
    console.log(HELP);
    return;
  }
  const request = await thumbnailRequest(options);
  const count = options.images.length;
  const sent = options.upload ? `${count} uploaded image(s)` : `${count} server path(s)`;
  const accepted = await call("submit", `${options.url}/thumbnail`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(request),
  });
  log(`submitted ${sent} as job ${accepted.job_id} (queue position ${accepted.queue_position})`);

  const jobUrl = accepted.job_url ?? `${options.url}/job/${accepted.job_id}`;
  const job = await waitForJob(jobUrl, options);
  await saveImage(job.image_url ?? `${jobUrl}/image`, options);
  console.log(JSON.stringify(job, null, 2));
}

main().catch((error) => {
  log(`client.mjs: ${error.message}`);
  if (error instanceof UsageError) log("try --help");
  process.exitCode = error instanceof UsageError ? 2 : 1;
});
