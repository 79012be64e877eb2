// The Yuqing dashboard: plain JavaScript on the REST API, no framework and no build step.
//
// Everything the API returns is text written by strangers (comments, URLs, crawl details), so
// it is only ever put into the page as text nodes and attribute values, never parsed as HTML.
// The page's Content-Security-Policy is the second line of defence, not the first.
"use strict";

const TOKEN_KEY = "yuqing.token";
const REFRESH_MS = 10_000;
const STATUSES = ["open", "acknowledged", "resolved"];
const PALETTE = ["#d1495b", "#2e86ab", "#edae49", "#00798c", "#6a4c93", "#8ac926", "#ff7f11",
                 "#5c677d"];
const SVG_NS = "http://www.w3.org/2000/svg";
// What each triage button is called while it is done, and once it is.
const ACTIONS = {
  acknowledge: ["Acknowledging", "acknowledged"],
  resolve: ["Resolving", "resolved"],
  reopen: ["Reopening", "reopened"],
  false_positive: ["Marking a false positive", "marked a false positive (and resolved)"],
  true_positive: ["Marking a true positive", "marked a true positive"],
};

const $ = (id) => document.getElementById(id);

const state = {
  filters: {},      // the alert list's query, as the API takes it
  next: null,       // cursor of the page after those shown
  shown: 0,         // alerts shown, so a refresh keeps the pages "More" added
  listRequest: 0,   // only the newest list request may draw, so a slow one cannot overwrite it
  selected: null,   // comment id of the alert shown in the detail panel
  refreshing: false,
  refreshAgain: false,
};

// ---- DOM helpers: text only ----

/** An element with attributes (set as attributes, never as HTML) and children (strings become
 * text nodes). */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== null && value !== undefined) node.setAttribute(name, String(value));
  }
  node.append(...children.filter((child) => child !== null && child !== undefined)
    .map((child) => (child instanceof Node ? child : String(child))));
  return node;
}

function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  node.append(...children);
  return node;
}

/** The API's times carry their offset; one without is UTC (as the store keeps them). */
function parseTime(iso) {
  return new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(iso) ? iso : `${iso}Z`);
}

function pad(number) {
  return String(number).padStart(2, "0");
}

/** A time in the browser's zone, to the minute (or the second). */
function formatTime(iso, seconds = false) {
  if (!iso) return "—";
  const d = typeof iso === "string" ? parseTime(iso) : iso;
  const text = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} `
    + `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return seconds ? `${text}:${pad(d.getSeconds())}` : text;
}

/** A link only for http(s) URLs: a crawled "javascript:" URL stays text. */
function safeLink(url) {
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    return document.createTextNode(url);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    return document.createTextNode(url);
  }
  return el("a", { href: parsed.href, target: "_blank", rel: "noopener noreferrer" }, url);
}

function show(node, visible) {
  node.hidden = !visible;
}

// ---- the API ----

class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

/** The API's ``detail``: a sentence, or FastAPI's list of what was wrong with each field. */
async function readDetail(response) {
  try {
    const body = await response.json();
    if (typeof body.detail === "string") return body.detail;
    if (Array.isArray(body.detail)) {
      return body.detail.map((e) => `${(e.loc || []).slice(1).join(".")}: ${e.msg}`).join("; ");
    }
  } catch {
    // not JSON: say what the status says
  }
  return `${response.status} ${response.statusText}`;
}

/** Calls the API with the token; a 401 ends the session and goes back to the login form. */
async function api(path, { method = "GET", params = {}, body } = {}) {
  const url = new URL(path, window.location.origin);
  for (const [name, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") url.searchParams.set(name, value);
  }
  const headers = { Authorization: `Bearer ${token()}`, Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new ApiError(0, `the server did not answer (${error.message})`);
  }
  if (!response.ok) {
    const error = new ApiError(response.status, await readDetail(response));
    if (response.status === 401) {
      logout(`This token was not accepted (wrong, or revoked): ${error.message}`);
    }
    throw error;
  }
  return response.status === 204 ? null : response.json();
}

/** One line for an operator: what failed and what to do. */
function describe(error, what) {
  if (error.status === 403) {
    return `Not allowed: ${what} needs an operator's token, and this one is a viewer's.`;
  }
  if (error.status === 404) return `${what}: not found (${error.message}).`;
  return `${what} failed: ${error.message}`;
}

/** Runs ``load``; its failure is shown in ``target`` (the page's message line by default). A
 * 401 needs no message here: the login form already says it. */
async function guarded(load, what, target = $("message")) {
  try {
    await load();
    if (target === $("message")) show(target, false);
    return true;
  } catch (error) {
    if (error.status !== 401) {
      target.textContent = describe(error, what);
      show(target, true);
    }
    return false;
  }
}

// ---- logging in and out ----

function showLogin(message) {
  show($("app"), false);
  show($("session"), false);
  show($("login"), true);
  $("login-error").textContent = message || "";
  $("token-input").focus();
}

function logout(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  stopTimer();
  // Nothing the last token could read stays on the page for the next person.
  for (const id of ["alert-rows", "events", "lineage", "source-alerts", "crawl-rows",
    "silence-rows", "chart", "chart-legend", "surge-list"]) {
    $(id).replaceChildren();
  }
  state.selected = null;
  show($("detail"), false);
  showLogin(message);
}

async function login(event) {
  event.preventDefault();
  const input = $("token-input");
  sessionStorage.setItem(TOKEN_KEY, input.value.trim());
  $("login-error").textContent = "";
  try {
    await api("/alerts", { params: { limit: 1 } });
  } catch (error) {
    if (error.status !== 401) {
      sessionStorage.removeItem(TOKEN_KEY);
      $("login-error").textContent = describe(error, "Logging in");
    }
    return;
  }
  input.value = "";
  startSession();
}

function startSession() {
  show($("login"), false);
  show($("app"), true);
  show($("session"), true);
  const fromHash = new URLSearchParams(window.location.hash.slice(1)).get("alert");
  refreshAll();
  if (fromHash) openAlert(fromHash);
  startTimer();
}

// ---- live refresh ----

let timer = null;

function startTimer() {
  stopTimer();
  if ($("live").checked) timer = window.setInterval(tick, REFRESH_MS);
}

function stopTimer() {
  if (timer !== null) window.clearInterval(timer);
  timer = null;
}

function tick() {
  if (!document.hidden) refreshAll();
}

/** Reloads every part; asked again while it runs, it runs once more afterwards, so "Refresh
 * now" always shows what is there after the click. */
async function refreshAll() {
  if (state.refreshing) {
    state.refreshAgain = true;
    return;
  }
  state.refreshing = true;
  try {
    do {
      state.refreshAgain = false;
      const results = await Promise.all([loadAlerts(), loadChart(), loadCrawlHealth(),
        loadSilences(), state.selected ? showAlert(state.selected) : true]);
      if (results.every(Boolean)) {
        $("updated-at").textContent = `updated ${formatTime(new Date(), true)}`;
      }
    } while (state.refreshAgain && token());
  } finally {
    state.refreshing = false;
  }
}

// ---- the alert list ----

/** The filter form as the API's query: times in UTC, empty fields left out. */
function readFilters() {
  const form = new FormData($("filters"));
  const filters = {};
  for (const [name, raw] of form.entries()) {
    const value = String(raw).trim();
    if (!value) continue;
    filters[name] = name === "since" || name === "until" ? new Date(value).toISOString() : value;
  }
  return filters;
}

function alertRow(alert) {
  const status = STATUSES.includes(alert.status) ? alert.status : "open";
  const text = alert.raw_text.length > 140 ? `${alert.raw_text.slice(0, 140)}…` : alert.raw_text;
  const row = el("tr", { tabindex: 0, "data-comment-id": alert.comment_id },
    el("td", { class: "time" }, formatTime(alert.published_at || alert.crawled_at)),
    el("td", { class: "score" }, alert.score.toFixed(2)),
    el("td", { class: "nowrap" }, alert.source),
    el("td", { class: "nowrap" }, alert.keywords.join(", ")),
    el("td", {}, el("span", { class: `badge ${status}` }, alert.status),
      alert.verdict ? el("span", { class: "verdict" }, alert.verdict.replace("_", " ")) : null),
    el("td", { class: "text" }, text));
  if (alert.comment_id === state.selected) row.classList.add("selected");
  row.addEventListener("click", () => openAlert(alert.comment_id));
  row.addEventListener("keydown", (event) => {
    if (event.key === "Enter") openAlert(alert.comment_id);
  });
  return row;
}

/** The first page again (as many alerts as shown, so "More" pages stay), or the next page. */
function loadAlerts(append = false) {
  const request = ++state.listRequest;
  return guarded(async () => {
    const params = { ...state.filters };
    if (append) {
      params.cursor = state.next;
      params.limit = 50;
    } else {
      params.limit = Math.min(500, Math.max(50, state.shown));
    }
    const page = await api("/alerts", { params });
    if (request !== state.listRequest) return;
    const rows = $("alert-rows");
    if (!append) rows.replaceChildren();
    rows.append(...page.alerts.map(alertRow));
    state.shown = rows.children.length;
    state.next = page.next;
    show($("more"), page.next !== null);
    show($("alerts-empty"), state.shown === 0);
  }, "Loading alerts");
}

function applyFilters(event) {
  event.preventDefault();
  state.filters = readFilters();
  state.shown = 0;
  loadAlerts();
}

// ---- one alert ----

function openAlert(commentId) {
  state.selected = commentId;
  window.history.replaceState(null, "", `#${new URLSearchParams({ alert: commentId })}`);
  $("action-message").textContent = "";
  $("action-note").value = "";
  for (const row of $("alert-rows").children) {
    row.classList.toggle("selected", row.dataset.commentId === commentId);
  }
  showAlert(commentId).then(() => $("detail").scrollIntoView({ block: "nearest" }));
}

function closeAlert() {
  state.selected = null;
  window.history.replaceState(null, "", window.location.pathname);
  show($("detail"), false);
  for (const row of $("alert-rows").querySelectorAll(".selected")) {
    row.classList.remove("selected");
  }
}

/** The crawl that brought the comment, in one line; none for a hand-written spider's. */
function crawlRun(run) {
  if (!run) return "— (not from a site profile's crawl)";
  return `#${run.id} ${run.profile_id}, ${formatTime(run.started_at)}–`
    + `${formatTime(run.finished_at)}: ${run.pages} pages, ${run.new_items} new, `
    + (run.ok ? "ok" : `failed (${run.finish_reason || "see yuqing crawls"})`);
}

function lineageItem(term, ...value) {
  return [el("dt", {}, term), el("dd", {}, ...value)];
}

function showAlert(commentId) {
  return guarded(async () => {
    const path = `/alerts/${encodeURIComponent(commentId)}`;
    const [alert, events] = await Promise.all([api(path), api(`${path}/events`)]);
    if (state.selected !== commentId) return;
    $("detail-id").textContent = alert.comment_id;
    $("detail-status").textContent = alert.status;
    $("detail-verdict").textContent = alert.verdict ? `verdict: ${alert.verdict.replace("_", " ")}` : "";
    $("detail-text").textContent = alert.raw_text;
    $("lineage").replaceChildren(
      ...lineageItem("cleaned text", alert.clean_text),
      ...lineageItem("score", `${alert.label} ${alert.score.toFixed(3)}`),
      ...lineageItem("keywords", alert.keywords.join(", ") || "—"),
      ...lineageItem("source", alert.source),
      ...lineageItem("url", safeLink(alert.url)),
      ...lineageItem("author", alert.author || "—"),
      ...lineageItem("published", formatTime(alert.published_at)),
      ...lineageItem("crawled", formatTime(alert.crawled_at)),
      ...lineageItem("crawl run", crawlRun(alert.crawl_run)),
      ...lineageItem("Kafka", `${alert.kafka_topic} · partition ${alert.kafka_partition} · `
        + `offset ${alert.kafka_offset}`),
      ...lineageItem("model", `${alert.model} (${alert.model_version})`),
      ...lineageItem("stored", formatTime(alert.created_at)),
      ...(alert.withdrawn_at ? lineageItem("withdrawn", formatTime(alert.withdrawn_at)) : []));
    $("events").replaceChildren(...events.map((e) => el("li", {},
      el("span", { class: "time" }, formatTime(e.at, true)), " ",
      el("strong", {}, e.action.replace("_", " ")), ` by ${e.actor}`,
      e.note ? el("span", { class: "note" }, `: ${e.note}`) : null)));
    show($("events-empty"), events.length === 0);
    show($("detail"), true);
  }, `Loading alert ${commentId}`);
}

async function act(action) {
  const commentId = state.selected;
  const note = $("action-note").value.trim();
  const message = $("action-message");
  message.className = "";
  try {
    await api(`/alerts/${encodeURIComponent(commentId)}/actions`, {
      method: "POST", body: { action, note: note || null },
    });
  } catch (error) {
    if (error.status !== 401) {
      message.textContent = describe(error, ACTIONS[action][0]);
      message.className = "error";
    }
    return;
  }
  message.textContent = `Done: ${ACTIONS[action][1]}.`;
  $("action-note").value = "";
  await Promise.all([showAlert(commentId), loadAlerts()]);
}

// ---- the chart: negative comments per bucket, one line per brand, surges marked ----

function chartWindow() {
  const hours = Number($("chart-range").value);
  const until = new Date();
  const since = new Date(until.getTime() - hours * 3_600_000);
  return { since, until, bucket: hours > 168 ? "day" : "hour", by: $("chart-by").value };
}

function loadChart() {
  const chart = chartWindow();
  const message = $("chart-message");
  return guarded(async () => {
    const query = { since: chart.since.toISOString(), until: chart.until.toISOString() };
    let stats;
    try {
      // Days begin at the viewer's midnight, not the server's.
      const tz = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
      stats = await api("/stats", { params: { ...query, bucket: chart.bucket, by: chart.by, tz } });
    } catch (error) {
      if (error.status === 404) {
        message.textContent = "This server has no statistics (GET /stats: 404).";
        return;
      }
      throw error;
    }
    let surges = [];
    try {
      surges = await api("/surges", {
        params: { ...query, limit: 500, subject_kind: chart.by === "none" ? "" : chart.by },
      });
    } catch (error) {
      if (error.status !== 404) throw error;
    }
    drawChart(stats, surges, chart);
  }, "Loading the chart", message);
}

/** Up to ``count`` round numbers from 0 to at least ``max``. */
function yTicks(max, count = 4) {
  const rough = Math.max(1, max) / count;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= rough);
  const ticks = [];
  for (let value = 0; value <= max + step - 1e-9; value += step) ticks.push(value);
  return ticks.length > 1 ? ticks : [0, step];
}

function drawChart(stats, surges, chart) {
  const width = 960;
  const height = 260;
  const margin = { left: 44, right: 12, top: 22, bottom: 26 };
  const t0 = chart.since.getTime();
  const t1 = chart.until.getTime();
  const x = (time) => margin.left + ((time - t0) / (t1 - t0)) * (width - margin.left - margin.right);
  const series = stats.series.filter((s) => s.points.length > 0);
  const max = Math.max(0, ...series.flatMap((s) => s.points.map((p) => p.negative)));
  const ticks = yTicks(max);
  const top = ticks[ticks.length - 1];
  const y = (value) => height - margin.bottom - (value / top) * (height - margin.top - margin.bottom);
  const root = svg("svg", {
    viewBox: `0 0 ${width} ${height}`, role: "img", class: "chart-svg",
    "aria-label": "negative comments over time",
  });
  for (const value of ticks) {
    root.append(svg("line", { class: "grid", x1: margin.left, x2: width - margin.right,
      y1: y(value), y2: y(value) }));
    root.append(svg("text", { class: "axis", x: margin.left - 6, y: y(value) + 4,
      "text-anchor": "end" }, String(value)));
  }
  const labelEvery = (t1 - t0) / 6;
  for (let i = 0; i <= 6; i += 1) {
    const when = new Date(t0 + i * labelEvery);
    const label = chart.bucket === "day"
      ? `${pad(when.getMonth() + 1)}-${pad(when.getDate())}`
      : `${pad(when.getMonth() + 1)}-${pad(when.getDate())} ${pad(when.getHours())}:00`;
    root.append(svg("text", { class: "axis", x: x(when.getTime()), y: height - 6,
      "text-anchor": i === 0 ? "start" : i === 6 ? "end" : "middle" }, label));
  }
  const colours = new Map();
  series.forEach((s, i) => colours.set(s.group, PALETTE[i % PALETTE.length]));
  // Surges first, so the lines stay on top of their bands.
  const groups = new Set(series.map((s) => s.group));
  const shown = surges.filter((s) => chart.by === "none" || groups.has(s.subject));
  for (const surge of shown) {
    const start = x(Math.max(t0, parseTime(surge.window_start).getTime()));
    const end = x(Math.min(t1, parseTime(surge.window_end).getTime()));
    const colour = colours.get(surge.subject) || "#d1495b";
    const title = svg("title", {}, `Surge: ${surge.subject}, ${surge.count} negative comments `
      + `(threshold ${surge.threshold.toFixed(1)}, usually ${surge.baseline_mean.toFixed(1)} ± `
      + `${surge.baseline_std.toFixed(1)}) from ${formatTime(surge.window_start)}`);
    const marker = svg("g", { class: "surge", "data-subject": surge.subject }, title,
      svg("rect", { class: "surge-band", x: start, y: margin.top, width: Math.max(3, end - start),
        height: height - margin.top - margin.bottom, fill: colour }),
      svg("path", { class: "surge-marker", fill: colour,
        d: `M${(start + end) / 2 - 7},${margin.top - 14} h14 l-7,12 z` }));
    root.append(marker);
  }
  for (const s of series) {
    const colour = colours.get(s.group);
    const points = [...s.points].sort((a, b) => parseTime(a.start) - parseTime(b.start));
    const path = points.map((p, i) => `${i ? "L" : "M"}${x(parseTime(p.start).getTime()).toFixed(1)},`
      + `${y(p.negative).toFixed(1)}`).join(" ");
    const line = svg("g", { class: "series", "data-group": s.group ?? "all" },
      svg("path", { class: "line", d: path, stroke: colour }));
    for (const p of points.filter((point) => point.negative > 0)) {
      const share = p.share === null ? "" : ` (${(p.share * 100).toFixed(0)}% of ${p.total})`;
      line.append(svg("circle", { class: "point", cx: x(parseTime(p.start).getTime()),
        cy: y(p.negative), r: 3, fill: colour },
      svg("title", {}, `${s.group ?? "all"}, ${formatTime(p.start)}: ${p.negative} negative${share}`)));
    }
    root.append(line);
  }
  $("chart").replaceChildren(root);
  $("chart-legend").replaceChildren(...series.map((s) => el("li", {},
    svg("svg", { width: 12, height: 12, "aria-hidden": "true" },
      svg("rect", { width: 12, height: 12, rx: 2, fill: colours.get(s.group) })),
    ` ${s.group ?? "all comments"} (${s.points.reduce((sum, p) => sum + p.negative, 0)})`)));
  $("chart-message").textContent = series.length ? ""
    : "No scored comments in this range yet.";
  $("surge-count").textContent = String(shown.length);
  $("surge-list").replaceChildren(...shown.map((surge) => el("li", {},
    el("strong", {}, surge.subject), ` ${formatTime(surge.window_start)}–`
      + `${formatTime(surge.window_end)}: ${surge.count} negative (threshold `
      + `${surge.threshold.toFixed(1)})`,
    el("ul", {}, ...surge.top_comments.map((c) => el("li", { class: "comment" },
      `${c.score.toFixed(2)} ${c.text}`))))));
}

// ---- crawl health ----

function formatErrors(errors) {
  const entries = Object.entries(errors);
  return entries.length ? entries.map(([code, n]) => `${code}×${n}`).join(", ") : "—";
}

function loadCrawlHealth() {
  return guarded(async () => {
    const [problems, runs] = await Promise.all([api("/crawls/alerts"),
      api("/crawls", { params: { limit: 20 } })]);
    $("source-alerts").replaceChildren(...problems.map((p) => el("li", {},
      el("strong", {}, p.profile_id), " ",
      el("span", { class: "badge problem" }, p.kind), ` since ${formatTime(p.raised_at)}: `,
      p.detail)));
    show($("source-alerts-empty"), problems.length === 0);
    $("crawl-rows").replaceChildren(...runs.map((run) => el("tr", { class: run.ok ? "" : "failed" },
      el("td", {}, run.profile_id),
      el("td", { class: "time" }, formatTime(run.finished_at)),
      el("td", {}, run.pages),
      el("td", {}, `${run.items} (${run.new_items})`),
      el("td", {}, formatErrors(run.http_errors)),
      el("td", {}, run.bans_suspected),
      el("td", {}, run.ok ? "ok" : "failed",
        run.finish_reason && run.finish_reason !== "finished" ? ` (${run.finish_reason})` : ""))));
  }, "Loading crawl health");
}

// ---- silences ----

function formatMatchers(matchers) {
  const entries = Object.entries(matchers);
  return entries.length ? entries.map(([name, value]) => `${name}=${value}`).join(", ")
    : "every notification";
}

function loadSilences() {
  const message = $("silences-message");
  return guarded(async () => {
    let silences;
    try {
      silences = await api("/silences");
    } catch (error) {
      if (error.status === 404) {
        message.textContent = "This server has no silences (GET /silences: 404).";
        return;
      }
      throw error;
    }
    message.textContent = silences.length ? "" : "No silences.";
    const now = Date.now();
    $("silence-rows").replaceChildren(...silences.map((s) => {
      const ended = parseTime(s.ends_at).getTime() <= now;
      const expire = el("button", { type: "button" }, "Expire");
      expire.addEventListener("click", () => expireSilence(s.id));
      let when = formatTime(s.ends_at);
      if (ended) when = `ended ${when}`;
      else if (!s.active) when = `${formatTime(s.starts_at)} to ${when}`;
      return el("tr", { class: s.active ? "" : "inactive" },
        el("td", {}, formatMatchers(s.matchers)),
        el("td", { class: "time" }, when),
        el("td", { class: "nowrap" }, s.created_by),
        el("td", {}, s.comment || ""),
        el("td", {}, ended ? "" : expire));
    }));
  }, "Loading silences", message);
}

async function silenceRequest(request, done) {
  const message = $("silence-form-message");
  message.className = "";
  try {
    await request();
  } catch (error) {
    if (error.status !== 401) {
      message.textContent = describe(error, "Changing silences");
      message.className = "error";
    }
    return;
  }
  message.textContent = done;
  await loadSilences();
}

function addSilence(event) {
  event.preventDefault();
  const form = new FormData($("silence-form"));
  const matchers = {};
  for (const name of ["kind", "source", "keyword"]) {
    const value = String(form.get(name) || "").trim();
    if (value) matchers[name] = value;
  }
  const hours = Number(form.get("hours"));
  const comment = String(form.get("comment") || "").trim();
  silenceRequest(() => api("/silences", {
    method: "POST",
    body: { matchers, ends_at: new Date(Date.now() + hours * 3_600_000).toISOString(),
      comment: comment || null },
  }), `Silence added for ${hours} h.`).then(() => {
    if ($("silence-form-message").className !== "error") $("silence-form").reset();
  });
}

function expireSilence(id) {
  silenceRequest(() => api(`/silences/${encodeURIComponent(id)}`, { method: "DELETE" }),
    "Silence expired.");
}

// ---- wiring ----

function init() {
  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", () => logout("Logged out."));
  $("refresh").addEventListener("click", refreshAll);
  $("live").addEventListener("change", startTimer);
  $("filters").addEventListener("submit", applyFilters);
  $("filters").addEventListener("reset", () => window.setTimeout(() => {
    state.filters = {};
    state.shown = 0;
    loadAlerts();
  }));
  $("more").addEventListener("click", () => loadAlerts(true));
  $("detail-close").addEventListener("click", closeAlert);
  for (const button of $("action-form").querySelectorAll("button[data-action]")) {
    button.addEventListener("click", () => act(button.dataset.action));
  }
  $("chart-range").addEventListener("change", loadChart);
  $("chart-by").addEventListener("change", loadChart);
  $("silence-form").addEventListener("submit", addSilence);
  if (token()) startSession();
  else showLogin();
}

document.addEventListener("DOMContentLoaded", init);
