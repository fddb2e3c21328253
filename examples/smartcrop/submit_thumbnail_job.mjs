#!/usr/bin/env node
// A client of the smart-crop service's API (seed 000), written to behave as that service's
// own Node.js sample does, so that darkroom can be checked against it: it posts a payload
// to POST /thumbnail, polls job_url every --poll-interval-ms until the job is done, then
// downloads image_url with ?format=&quality=[&width=] and writes it with the final status.
//
//   node submit_thumbnail_job.mjs --api http://127.0.0.1:8080 --payload payload.json \
//        --output out/cover.jpg [--format jpg|avif] [--width 600] [--quality 90] \
//        [--embed-local-images true]
//
// Node 18 or newer (global fetch). Exits 1 with "[ERROR] ..." on any failure.

import { mkdir, readFile, writeFile } from "node:fs/promises";
import { basename, dirname } from "node:path";

const DEFAULTS = {
  api: "http://127.0.0.1:8080",
  payload: "payload.json",
  output: "out/result.jpg",
  format: "jpg",
  width: "0",
  quality: "95",
  "poll-interval-ms": "2000",
  "timeout-ms": "600000",
  "embed-local-images": "false",
};

function parseFlags(argv) {
  const flags = { ...DEFAULTS };
  for (let i = 0; i < argv.length; i += 1) {
    const token = argv[i];
    if (!token.startsWith("--")) continue;
    const name = token.slice(2);
    if (!(name in DEFAULTS)) throw new Error(`Unknown option: ${token}`);
    const value = argv[i + 1];
    if (value === undefined || value.startsWith("--")) throw new Error(`Missing value for ${token}`);
    flags[name] = value;
    i += 1;
  }
  const format = flags.format.toLowerCase();
  if (!["jpg", "jpeg", "avif"].includes(format)) throw new Error("format must be one of: jpg, jpeg, avif");
  const width = Number.parseInt(flags.width, 10);
  if (!Number.isFinite(width) || width < 0) throw new Error("width must be >= 0");
  const quality = Number.parseInt(flags.quality, 10);
  if (!Number.isFinite(quality) || quality < 0 || quality > 100) throw new Error("quality must be between 0 and 100");
  const pollMs = Number.parseInt(flags["poll-interval-ms"], 10);
  if (!Number.isFinite(pollMs) || pollMs < 200) throw new Error("poll interval must be >= 200");
  const timeoutMs = Number.parseInt(flags["timeout-ms"], 10);
  if (!Number.isFinite(timeoutMs) || timeoutMs < 1000) throw new Error("timeout must be >= 1000");
  const embedWord = flags["embed-local-images"].toLowerCase();
  const yes = ["1", "true", "yes", "y", "on"];
  const no = ["0", "false", "no", "n", "off"];
  if (!yes.includes(embedWord) && !no.includes(embedWord)) throw new Error("--embed-local-images must be true/false");
  return {
    api: flags.api.replace(/\/+$/, ""),
    payload: flags.payload,
    output: flags.output,
    format: format === "jpeg" ? "jpg" : format,
    width,
    quality,
    pollMs,
    timeoutMs,
    embed: yes.includes(embedWord),
  };
}

async function embedLocalImages(payload) {
  const paths = [];
  for (const item of Array.isArray(payload.image_paths) ? payload.image_paths : []) {
    const path = String(item || "").trim();
    if (path) paths.push(path);
  }
  if (typeof payload.image_path === "string" && payload.image_path.trim()) paths.push(payload.image_path.trim());
  if (paths.length === 0) return false;
  const files = Array.isArray(payload.image_files) ? payload.image_files : [];
  for (const path of paths) {
    const bytes = await readFile(path);
    files.push({ filename: basename(path), content_base64: bytes.toString("base64") });
  }
  payload.image_files = files;
  payload.image_paths = [];
  delete payload.image_path;
  return true;
}

async function readBody(response) {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function main() {
  const options = parseFlags(process.argv.slice(2));
  const payload = structuredClone(JSON.parse(await readFile(options.payload, "utf8")));
  const embedded = options.embed ? await embedLocalImages(payload) : false;

  const submitted = await fetch(`${options.api}/thumbnail`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(payload),
  });
  const enqueue = await readBody(submitted);
  if (!submitted.ok) throw new Error(`Submit failed (${submitted.status}): ${JSON.stringify(enqueue)}`);
  if (!enqueue || !enqueue.job_id) throw new Error(`Invalid enqueue response: ${JSON.stringify(enqueue)}`);
  const jobURL = enqueue.job_url || `${options.api}/job/${enqueue.job_id}`;
  console.log(`[ENQUEUE] job_id=${enqueue.job_id} queue_position=${enqueue.queue_position}`);
  console.log(`[ENQUEUE] job_url=${jobURL}`);
  if (embedded) console.log("[ENQUEUE] local image paths embedded as image_files");

  const started = Date.now();
  let status = "";
  let statusBody = null;
  while (Date.now() - started <= options.timeoutMs) {
    const polled = await fetch(jobURL);
    statusBody = await readBody(polled);
    if (!polled.ok) throw new Error(`Status failed (${polled.status}): ${JSON.stringify(statusBody)}`);
    const now = statusBody.status || "unknown";
    if (now !== status) console.log(`[STATUS] ${now}`);
    status = now;
    if (status === "done") break;
    if (status === "failed") throw new Error(`Job failed: ${JSON.stringify(statusBody)}`);
    await sleep(options.pollMs);
  }
  if (status !== "done") throw new Error(`Timeout waiting for job completion after ${options.timeoutMs}ms`);

  const imageURL = new URL(statusBody.image_url || `${options.api}/job/${enqueue.job_id}/image`);
  imageURL.searchParams.set("format", options.format);
  imageURL.searchParams.set("quality", String(options.quality));
  if (options.width > 0) imageURL.searchParams.set("width", String(options.width));
  const image = await fetch(imageURL);
  if (!image.ok) throw new Error(`Download failed (${image.status}): ${await image.text()}`);
  await mkdir(dirname(options.output), { recursive: true });
  await writeFile(options.output, Buffer.from(await image.arrayBuffer()));
  await writeFile(`${options.output}.status.json`, JSON.stringify(statusBody, null, 2));
  console.log(`[DONE] image=${options.output}`);
  console.log(`[DONE] status_json=${options.output}.status.json`);
  console.log(`[DONE] image_url=${imageURL}`);
}

main().catch((error) => {
  console.error(`[ERROR] ${error.message}`);
  process.exit(1);
});
