// darkroom's dashboard: reads the JSON API through /dashboard/api (docs/dashboard.md).
"use strict";

const API = "/dashboard/api";
const POLL_MS = 2000;
const SVG = "http://www.w3.org/2000/svg";
let timer = null;
let shown = "";  // the JSON last drawn, so a poll that brings nothing new redraws nothing
let message = "";

function h(tag, attrs, ...children) {
  const el = tag.startsWith("svg:")
    ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

async function call(method, path) {
  const headers = method === "GET" ? {} : {"X-Darkroom-Dashboard": "1"};
  const response = await fetch(API + path, {method, headers, credentials: "same-origin"});
  if (response.status === 401) { location.reload(); throw new Error("signed out"); }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = body.error || {};
    throw new Error(`${response.status} ${error.code || ""}: ${error.message || ""}`);
  }
  return body;
}

function ago(when) {
  if (!when) return "";
  const seconds = (Date.now() - new Date(typeof when === "number" ? when * 1000 : when)) / 1000;
  if (seconds < 90) return `${Math.max(0, Math.round(seconds))} s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  return `${Math.round(seconds / 3600)} h ago`;
}

function status(value) {
  return h("span", {class: `status ${value}`, "data-status": value}, value);
}

function jobLink(id) {
  return h("a", {href: `#/jobs/${encodeURIComponent(id)}`, class: "job-link", "data-id": id}, id);
}

// inline SVG chart of per-minute figures: bars for each of `bars`, a line for `line`
function chart(minutes, bars, line) {
  const width = 600, height = 160, left = 30, bottom = 16;
  const values = minutes.flatMap(m => [...bars.map(b => m[b]), line ? m[line] : 0]);
  const top = Math.max(1, ...values);
  const step = (width - left) / minutes.length;
  const y = v => (height - bottom) * (1 - v / top);
  const svg = h("svg:svg", {viewBox: `0 0 ${width} ${height}`, role: "img"});
  svg.append(h("svg:line", {class: "axis", x1: left, x2: width, y1: y(0), y2: y(0)}));
  svg.append(h("svg:text", {x: 0, y: 10}, String(top)));
  svg.append(h("svg:text", {x: 0, y: y(0)}, "0"));
  svg.append(h("svg:text", {x: left, y: height - 2}, "−60 min"));
  svg.append(h("svg:text", {x: width - 24, y: height - 2}, "now"));
  minutes.forEach((m, i) => bars.forEach((name, j) => {
    const barWidth = Math.max(1, step / bars.length - 1);
    svg.append(h("svg:rect", {
      class: name, x: left + i * step + j * barWidth, y: y(m[name]),
      width: barWidth, height: y(0) - y(m[name]),
    }, h("svg:title", {}, `${m[name]} ${name}`)));
  }));
  if (line) {
    const points = minutes.map((m, i) => `${left + (i + 0.5) * step},${y(m[line])}`);
    svg.append(h("svg:polyline", {class: line, points: points.join(" ")}));
  }
  return svg;
}

function legend(...names) {
  return h("div", {class: "legend"}, names.map(([cls, text]) => h("span", {}, h("i", {class: cls}), text)));
}

async function overview() {
  const data = await call("GET", "/overview");
  return [data, () => [
    h("div", {class: "cards"},
      h("div", {class: "card"}, "Queued", h("b", {id: "queue-depth"}, data.queue_depth)),
      h("div", {class: "card"}, "Oldest queued",
        h("b", {}, data.oldest_queued_age_s === null ? "–" : `${Math.round(data.oldest_queued_age_s)} s`)),
      h("div", {class: "card"}, "Processing", h("b", {}, data.jobs.processing)),
      h("div", {class: "card"}, "Failed", h("b", {}, data.jobs.failed)),
      h("div", {class: "card"}, "Workers", h("b", {}, data.workers.length))),
    h("div", {class: "charts"},
      h("div", {class: "chart", id: "chart-depth"}, h("h2", {}, "Queue depth, last hour"),
        chart(data.minutes, [], "queued"), legend(["depth", "waiting at each minute's end"])),
      h("div", {class: "chart", id: "chart-throughput"}, h("h2", {}, "Throughput, last hour"),
        chart(data.minutes, ["created", "finished"], null),
        legend(["created", "submitted per minute"], ["finished", "finished per minute"]))),
    h("h2", {}, "Workers"),
    data.pool ? h("p", {class: "muted"}, `This process runs a pool of ${data.pool.size}.`) : null,
    h("table", {id: "workers"},
      h("tr", {}, ["Worker", "Host", "PID", "Started", "Last heartbeat", "Running"].map(t => h("th", {}, t))),
      data.workers.map(w => h("tr", {},
        h("td", {}, w.id), h("td", {}, w.hostname), h("td", {}, w.pid), h("td", {}, ago(w.started_at)),
        h("td", {}, ago(w.last_seen)),
        h("td", {}, w.jobs.length ? w.jobs.map(j => h("div", {}, jobLink(j.id), ` ${j.progress} %`)) : "idle"))),
      data.workers.length ? null : h("tr", {}, h("td", {colspan: 6, class: "muted"}, "No worker has a heartbeat."))),
  ]];
}

function listQuery(params) {
  const query = new URLSearchParams();
  for (const name of ["status", "limit"]) {
    if (params.get(name)) query.set(name, params.get(name));
  }
  const after = params.get("created_after");  // local time, as the form's field gives it
  if (after && !isNaN(new Date(after))) query.set("created_after", new Date(after).toISOString());
  for (const label of (params.get("label") || "").split(",").map(s => s.trim()).filter(Boolean)) {
    query.append("label", label);
  }
  if (!query.get("limit")) query.set("limit", "50");
  return query;
}

async function jobList(params) {
  const data = await call("GET", `/v1/jobs?${listQuery(params)}`);
  const filter = event => {
    event.preventDefault();
    const form = new FormData(event.target);
    const next = new URLSearchParams();
    for (const [name, value] of form) if (value) next.set(name, value);
    location.hash = `#/jobs?${next}`;
  };
  return [data, () => [
    h("form", {class: "filters", id: "filters", onsubmit: filter},
      h("label", {}, "Status", h("select", {name: "status"}, h("option", {value: ""}, "any"),
        ["queued", "processing", "succeeded", "failed", "canceled"].map(s =>
          h("option", {value: s, selected: params.get("status") === s}, s)))),
      h("label", {}, "Labels (key:value, …)", h("input", {name: "label", value: params.get("label") || ""})),
      h("label", {}, "Created after", h("input", {name: "created_after", type: "datetime-local",
        value: params.get("created_after") || ""})),
      h("label", {}, "Limit", h("input", {name: "limit", type: "number", min: 1, max: 500,
        value: params.get("limit") || "50"})),
      h("button", {type: "submit"}, "Filter")),
    h("table", {id: "jobs"},
      h("tr", {}, ["Job", "Status", "Created", "Attempts", "Outputs", "Error", "Labels"].map(t => h("th", {}, t))),
      data.jobs.map(job => h("tr", {"data-id": job.id},
        h("td", {}, jobLink(job.id)), h("td", {}, status(job.status)), h("td", {}, ago(job.created_at)),
        h("td", {}, `${job.attempts}/${job.max_attempts}`), h("td", {}, job.outputs.length),
        h("td", {class: "error"}, job.error ? `${job.error.code}: ${job.error.message}` : ""),
        h("td", {}, Object.entries(job.labels).map(([k, v]) => `${k}:${v}`).join(", ")))),
      data.jobs.length ? null : h("tr", {}, h("td", {colspan: 7, class: "muted"}, "No job matches."))),
  ]];
}

function viaDashboard(url) {
  const parsed = new URL(url, location.href);
  return parsed.pathname.startsWith("/v1/") ? API + parsed.pathname + parsed.search : url;
}

function sourceFigure(job, source, index) {
  const crops = job.outputs.filter(o => o.source === index && o.crop);
  const caption = `${source.kind}${source.filename ? " " + source.filename : ""}${source.url ? " " + source.url : ""}`;
  if (source.kind === "url" && !(crops.length && source.width)) {
    return h("figure", {}, h("figcaption", {}, caption, " · fetched by the worker, not kept"));
  }
  const width = source.width || 100, height = source.height || 100;
  const svg = h("svg:svg", {viewBox: `0 0 ${width} ${height}`, class: "source"});
  if (source.kind === "url") svg.append(h("svg:rect", {width, height, fill: "#e4e7eb"}));
  else svg.append(h("svg:image", {
    href: `${API}/jobs/${encodeURIComponent(job.id)}/sources/${index}`, width, height,
  }));
  for (const output of crops) {
    const c = output.crop;
    svg.append(h("svg:rect", {class: "crop", x: c.x, y: c.y, width: c.width, height: c.height},
      h("svg:title", {}, `${output.name}: ${c.method}`)));
    svg.append(h("svg:text", {class: "crop-label", x: c.x + 4, y: c.y + 16}, output.name));
  }
  return h("figure", {}, svg, h("figcaption", {}, `${caption} · `,
    `${source.format || "?"} ${source.width || "?"}×${source.height || "?"}`,
    crops.length ? ` · crop of ${crops.map(o => o.name).join(", ")} drawn` : ""));
}

async function act(label, method, path) {
  try {
    await call(method, path);
    message = `${label}: done`;
  } catch (error) {
    message = `${label}: ${error.message}`;
  }
  shown = "";
  refresh();
}

async function jobDetail(id) {
  const job = await call("GET", `/v1/jobs/${encodeURIComponent(id)}`);
  const path = `/v1/jobs/${encodeURIComponent(id)}`;
  const finished = ["succeeded", "failed", "canceled"].includes(job.status);
  const hook = job.webhook;
  return [job, () => [
    h("h2", {}, "Job ", h("code", {id: "job-id"}, job.id), " ", h("span", {id: "job-status"}, status(job.status)),
      job.status === "processing" ? ` ${job.progress} %` : ""),
    h("div", {class: "actions"},
      h("button", {id: "retry", disabled: job.status !== "failed",
        onclick: () => act("Retry", "POST", `${path}/retry`)}, "Retry"),
      h("button", {id: "cancel", disabled: job.artifacts_deleted,
        onclick: () => confirm("Cancel this job and delete its files?") && act("Cancel", "DELETE", path)},
        finished ? "Delete files" : "Cancel"),
      h("button", {id: "redeliver", disabled: !(hook.enabled && finished),
        onclick: () => act("Redeliver", "POST", `${path}/webhook/redeliver`)}, "Redeliver webhook")),
    h("p", {id: "message"}, message),
    h("dl", {},
      h("dt", {}, "Attempts"), h("dd", {id: "attempts"}, `${job.attempts} of ${job.max_attempts}`),
      h("dt", {}, "Created"), h("dd", {}, `${job.created_at} (${ago(job.created_at)})`),
      h("dt", {}, "Started"), h("dd", {}, job.started_at || "–"),
      h("dt", {}, "Finished"), h("dd", {}, job.finished_at || "–"),
      h("dt", {}, "Error"), h("dd", {class: "error", id: "job-error"},
        job.error ? `${job.error.code}: ${job.error.message}` : "–"),
      h("dt", {}, "Labels"), h("dd", {}, Object.entries(job.labels).map(([k, v]) => `${k}:${v}`).join(", ") || "–"),
      h("dt", {}, "Expires"), h("dd", {}, job.expires_at || "–")),
    h("h2", {}, "Sources"),
    h("div", {class: "pictures"}, job.sources.map((s, i) => sourceFigure(job, s, i))),
    h("h2", {}, "Outputs"),
    job.outputs.length ? h("div", {class: "pictures", id: "outputs"}, job.outputs.map(o => h("figure", {},
      job.artifacts_deleted ? h("p", {class: "muted"}, "deleted")
        : h("img", {src: viaDashboard(o.url), alt: o.name, loading: "lazy"}),
      h("figcaption", {}, `${o.name} · ${o.op} · ${o.format} ${o.width}×${o.height} · ${o.bytes} bytes`))))
      : h("p", {class: "muted"}, "None yet."),
    h("h2", {}, "Webhook"),
    hook.enabled ? h("dl", {id: "webhook"},
      h("dt", {}, "URL"), h("dd", {}, hook.url),
      h("dt", {}, "State"), h("dd", {}, hook.state || "–"),
      h("dt", {}, "Attempts"), h("dd", {}, hook.attempts),
      h("dt", {}, "Last status"), h("dd", {}, hook.last_status_code ?? "–"),
      h("dt", {}, "Last error"), h("dd", {class: "error"}, hook.last_error || "–"),
      h("dt", {}, "Last attempt"), h("dd", {}, hook.last_attempt_at || "–"),
      h("dt", {}, "Scheduled"), h("dd", {}, hook.scheduled_at || "–"))
      : h("p", {class: "muted"}, "This job has no webhook."),
  ]];
}

function route() {
  const [path, query] = location.hash.replace(/^#/, "").split("?");
  const params = new URLSearchParams(query || "");
  const parts = (path || "/").split("/").filter(Boolean);
  document.querySelectorAll("header nav a").forEach(a => a.classList.remove("current"));
  if (parts[0] === "jobs" && parts[1]) return () => jobDetail(decodeURIComponent(parts[1]));
  if (parts[0] === "jobs") {
    document.getElementById(params.get("status") === "failed" ? "nav-failed" : "nav-jobs").classList.add("current");
    return () => jobList(params);
  }
  document.getElementById("nav-overview").classList.add("current");
  return overview;
}

async function refresh() {
  clearTimeout(timer);
  const view = document.getElementById("view");
  try {
    const [data, draw] = await route()();
    const now = JSON.stringify(data) + message;
    if (now !== shown) {
      shown = now;
      view.replaceChildren(...draw().filter(Boolean));
    }
    document.getElementById("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    view.replaceChildren(h("p", {class: "error"}, error.message));
    shown = "";
  }
  timer = setTimeout(refresh, POLL_MS);
}

window.addEventListener("hashchange", () => { shown = ""; message = ""; refresh(); });
refresh();
