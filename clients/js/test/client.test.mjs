// The client against a running darkroom:
//   node clients/js/test/client.test.mjs <base_url> <fixture.json>
// tests/clients/test_js_client.py starts the server (DARKROOM_AUTH=keys, a URL signing
// key, an input folder) and a loopback image server, and writes the fixture: the key,
// the images and URLs to use, a signing vector and a webhook delivery signed by darkroom.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { after, before, describe, test } from "node:test";

import { DarkroomClient, DarkroomError, signVariantUrl } from "../src/index.js";
import { verifyWebhook, WebhookVerificationError } from "../src/webhooks.js";

const [baseUrl, fixturePath] = process.argv.slice(2);
const skip = baseUrl && fixturePath ? false : "needs <base_url> <fixture.json> (tests/clients/test_js_client.py passes them)";

/** The requests the client sent and the answers it got, through the real fetch. */
const exchanges = [];
async function recordingFetch(input, init) {
  const response = await fetch(input, init);
  exchanges.push({ url: String(input), method: init?.method ?? "GET", headers: { ...init?.headers }, response });
  return response;
}

const PNG = [0x89, 0x50, 0x4e, 0x47];
const isWebp = (bytes) => String.fromCharCode(...bytes.slice(0, 4)) === "RIFF" && String.fromCharCode(...bytes.slice(8, 12)) === "WEBP";
const isAvif = (bytes) => String.fromCharCode(...bytes.slice(4, 12)) === "ftypavif";
const isPng = (bytes) => PNG.every((byte, i) => bytes[i] === byte);
const pngWidth = (bytes) => new DataView(bytes.buffer, bytes.byteOffset).getUint32(16);

async function rejectsWith(promise, status, code) {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof DarkroomError, `not a DarkroomError: ${error}`);
    assert.equal(error.code, code, error.message);
    assert.equal(error.status, status);
    return true;
  });
}

describe("darkroom client", { skip }, () => {
  let fixture;
  let client;
  let photo;
  let uploaded;

  before(async () => {
    fixture = JSON.parse(await readFile(fixturePath, "utf8"));
    client = new DarkroomClient({ baseUrl, apiKey: fixture.apiKey, fetch: recordingFetch });
    photo = await readFile(fixture.imagePath);
  });

  test("asks for the API key as Bearer and names the refusal", async () => {
    await rejectsWith(new DarkroomClient({ baseUrl }).listJobs(), 401, "missing_api_key");
    const wrong = new DarkroomClient({ baseUrl, apiKey: "drk_not-a-key" });
    await rejectsWith(wrong.getJob("anything"), 401, "invalid_api_key");
  });

  test("uploads a file and waits for the job with Prefer: wait", async () => {
    uploaded = await client.upload(
      { data: photo, filename: "photo.jpg", type: "image/jpeg" },
      {
        outputs: [
          { name: "thumb", op: "thumbnail", width: 64, format: "webp" },
          { name: "multi", op: "thumbnail", width: 48, formats: ["avif", "webp"] },
        ],
        labels: { suite: fixture.label },
      },
      { wait: 30 },
    );
    assert.equal(uploaded.status, "succeeded", JSON.stringify(uploaded.error));
    assert.equal(uploaded.sources[0].kind, "upload");
    assert.equal(uploaded.sources[0].filename, "photo.jpg");
    const thumb = uploaded.outputs.find((output) => output.name === "thumb");
    assert.deepEqual([thumb.name, thumb.format, thumb.width], ["thumb", "webp", 64]);
    const post = exchanges.find((e) => e.method === "POST" && e.url.endsWith("/v1/jobs"));
    assert.equal(post.headers.prefer, "wait=30");
    assert.equal(post.headers.authorization, `Bearer ${fixture.apiKey}`);
    assert.equal(post.response.status, 200);
    assert.equal(post.response.headers.get("preference-applied"), "wait=30");
  });

  test("downloads an output as an ArrayBuffer", async () => {
    const bytes = new Uint8Array(await client.download(uploaded, "thumb"));
    assert.ok(isWebp(bytes));
    assert.equal(bytes.byteLength, uploaded.outputs.find((output) => output.name === "thumb").bytes);
    const byId = new Uint8Array(await client.download(uploaded.id, "thumb"));
    assert.deepEqual(byId, bytes);
    assert.ok(isAvif(new Uint8Array(await client.download(uploaded, "multi", { accept: "image/avif,image/webp" }))));
    assert.ok(isWebp(new Uint8Array(await client.download(uploaded, "multi", { accept: "image/webp" }))));
  });

  test("submits JSON sources by base64, path and URL, and waits for the job", async () => {
    const submitted = await client.submit({
      sources: [{ base64: photo.toString("base64") }, { path: fixture.pathSource }, { url: fixture.urlSource }],
      outputs: [{ name: "small", op: "thumbnail", width: 40, format: "png" }],
      labels: { suite: fixture.label },
    });
    assert.ok(["queued", "processing", "succeeded"].includes(submitted.status));
    const done = await client.waitForJob(submitted, { timeoutS: 60 });
    assert.equal(done.status, "succeeded", JSON.stringify(done.error));
    assert.deepEqual(done.sources.map((s) => s.kind), ["upload", "path", "url"]);
    assert.deepEqual(done.outputs.map((o) => o.name).sort(), ["small-0", "small-1", "small-2"]);
    const bytes = new Uint8Array(await client.download(done, "small-2"));
    assert.ok(isPng(bytes));
    assert.equal(pngWidth(bytes), 40);
  });

  test("lists jobs page by page and by label", async () => {
    const first = await client.listJobs({ labels: { suite: fixture.label }, limit: 1 });
    assert.equal(first.jobs.length, 1);
    assert.ok(first.next_cursor);
    const ids = [];
    for await (const job of client.iterJobs({ labels: { suite: fixture.label }, limit: 1 })) ids.push(job.id);
    assert.equal(ids.length, 2);
    assert.ok(ids.includes(uploaded.id));
    assert.equal(ids[0], first.jobs[0].id); // newest first
    const succeeded = await client.listJobs({ status: "succeeded", createdAfter: new Date(Date.parse(uploaded.created_at) - 1000) });
    assert.ok(succeeded.jobs.some((job) => job.id === uploaded.id));
    const none = await client.listJobs({ labels: { suite: "no-such-suite" } });
    assert.deepEqual(none, { jobs: [], next_cursor: null });
  });

  test("a wait that runs out answers the unfinished job; cancel ends it", async () => {
    const held = await client.submit({ source: { url: fixture.heldUrl } }, { wait: 1 });
    assert.ok(["queued", "processing"].includes(held.status), held.status);
    const sent = exchanges.length;
    const still = await client.getJob(held.id, { wait: 1 });
    assert.ok(["queued", "processing"].includes(still.status), still.status);
    assert.deepEqual(
      exchanges.slice(sent).map((e) => `${e.method} ${new URL(e.url).search}`),
      ["GET ?wait=1"],
      "darkroom held the answer: one request",
    );
    await rejectsWith(client.waitForJob(held.id, { timeoutS: 1 }), 0, "wait_timeout");
    const canceled = await client.cancelJob(held.id);
    assert.equal(canceled.status, "canceled");
    assert.equal(canceled.artifacts_deleted, true);
    assert.equal((await client.waitForJob(held.id, { timeoutS: 10 })).status, "canceled");
  });

  test("retries a failed job", async () => {
    const failed = await client.waitForJob(await client.submit({ source: { url: fixture.missingUrl } }), { timeoutS: 60 });
    assert.equal(failed.status, "failed");
    assert.equal(failed.error.code, "download_rejected");
    const retried = await client.retryJob(failed.id);
    assert.ok(["queued", "processing", "failed"].includes(retried.status), retried.status);
    const again = await client.waitForJob(retried, { timeoutS: 60 });
    assert.equal(again.status, "failed");
    assert.equal(again.error.code, "download_rejected");
    await rejectsWith(client.retryJob(uploaded.id), 409, "invalid_state");
  });

  test("errors carry the API's code, status, message and details", async () => {
    await rejectsWith(client.getJob("no-such-job"), 404, "not_found");
    await assert.rejects(
      client.submit({ source: { url: fixture.urlSource }, outputs: [{ name: "x", widht: 10 }] }),
      (error) => {
        assert.equal(error.status, 422);
        assert.equal(error.code, "invalid_request");
        assert.ok(Array.isArray(error.details) && error.details.length > 0, JSON.stringify(error.details));
        assert.match(error.message + JSON.stringify(error.details), /widht/);
        return true;
      },
    );
    await rejectsWith(client.upload(new TextEncoder().encode("not an image")), 415, "unsupported_image");
    const nowhere = new DarkroomClient({ baseUrl: `http://127.0.0.1:${fixture.closedPort}` });
    await rejectsWith(nowhere.getJob("x"), 0, "unreachable");
  });

  test("signVariantUrl gives the shared vector's signature", async () => {
    const { path, params, key, url } = fixture.vector;
    assert.equal(await signVariantUrl(path, params, key), url);
    const asObject = Object.fromEntries(params.filter(([name]) => name !== "tag"));
    const tags = params.filter(([name]) => name === "tag").map(([, value]) => value);
    assert.equal(await signVariantUrl(path, { ...asObject, tag: tags }, key), url);
  });

  test("signed variants are served; unsigned and altered ones are refused", async () => {
    const signing = new DarkroomClient({ baseUrl, apiKey: fixture.apiKey, urlSigningKey: fixture.urlSigningKey });
    const params = { width: 32, format: "png" };
    const bytes = new Uint8Array(await signing.download(uploaded, "thumb", { params }));
    assert.ok(isPng(bytes));
    assert.equal(pngWidth(bytes), 32);

    const signed = new URL(await signing.outputUrl(uploaded, "thumb", params));
    assert.ok(signed.searchParams.get("signature"));
    assert.ok(signed.searchParams.get("sig"), "the signed link's own parameters are kept");
    const fetched = await fetch(signed); // the output's signed link needs no API key
    assert.equal(fetched.status, 200);

    await rejectsWith(client.download(uploaded, "thumb", { params }), 403, "invalid_signature");
    signed.searchParams.set("width", "33");
    const altered = await fetch(signed);
    assert.equal(altered.status, 403);
    assert.equal((await altered.json()).error.code, "invalid_signature");

    const stored = new Uint8Array(await client.download(uploaded, "thumb")); // no conversion: no signature
    assert.ok(isWebp(stored));
  });

  test("verifyWebhook accepts darkroom's signature and nothing else", () => {
    const { body, headers, secret } = fixture.webhook;
    const event = verifyWebhook(body, headers, secret);
    assert.equal(event.type, "job.succeeded");
    assert.equal(event.data.id, fixture.webhook.jobId);
    assert.deepEqual(verifyWebhook(Buffer.from(body), new Headers(headers), secret), event);
    const upper = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toUpperCase(), v]));
    assert.deepEqual(verifyWebhook(body, upper, secret), event);
    const rotated = { ...headers, "webhook-signature": `v1,${Buffer.alloc(32).toString("base64")} ${headers["webhook-signature"]}` };
    assert.deepEqual(verifyWebhook(body, rotated, secret), event);

    const refused = (thunk, why) => assert.throws(thunk, (error) => error instanceof WebhookVerificationError && why.test(error.message));
    refused(() => verifyWebhook(body.replace("succeeded", "failed"), headers, secret), /no matching signature/);
    refused(() => verifyWebhook(body, headers, fixture.webhook.otherSecret), /no matching signature/);
    refused(() => verifyWebhook(body, { ...headers, "webhook-id": "msg_other" }, secret), /no matching signature/);
    const later = Number(headers["webhook-timestamp"]) + 301;
    refused(() => verifyWebhook(body, headers, secret, { now: later }), /timestamp/);
    assert.deepEqual(verifyWebhook(body, headers, secret, { now: later, toleranceS: 400 }), event);
    refused(() => verifyWebhook(body, { "webhook-id": "msg_1" }, secret), /missing or malformed/);
    assert.throws(() => verifyWebhook(body, headers, "not-a-secret"), TypeError);
  });
});

// A darkroom from before `Prefer: wait` and `?wait=`: it answers at once. The client must
// still wait, by asking again after a short pause.
describe("waiting on a darkroom that answers at once", () => {
  const seen = [];
  let polls = 0;
  let server;
  let url;

  before(async () => {
    server = createServer((request, response) => {
      seen.push(`${request.method} ${request.url} prefer=${request.headers.prefer ?? ""}`);
      const finished = request.method === "GET" && ++polls >= 3;
      const job = { id: "old-1", status: finished ? "succeeded" : "queued", outputs: [] };
      response.writeHead(request.method === "POST" ? 202 : 200, { "content-type": "application/json" });
      response.end(JSON.stringify(job));
    });
    await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${server.address().port}`;
  });

  after(() => new Promise((resolve) => server.close(resolve)));

  test("submit with wait polls until the job has finished", async () => {
    const job = await new DarkroomClient({ baseUrl: url }).submit({ source: { url: "https://example.com/a.jpg" } }, { wait: 30 });
    assert.equal(job.status, "succeeded");
    assert.equal(seen[0], "POST /v1/jobs prefer=wait=30");
    assert.equal(seen.length, 4);
    for (const line of seen.slice(1)) assert.match(line, /^GET \/v1\/jobs\/old-1\?wait=\d+ prefer=$/);
  });
});
