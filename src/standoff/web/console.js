// Standoff console: a thin client of the API. No data leaves the server it came from and no
// internet resource is loaded: the basemap is the vendored boundary data served by the API.
import * as maplibregl from "/static/vendor/maplibre-gl.mjs";

const API = "/api/v1";
const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem("standoff-token") || "";
let me = null;
let map = null;
let replay = { times: [], byTime: new Map() };
let missionsCache = [];
let runsCache = [];
let requestAreas = { type: "FeatureCollection", features: [] };
const hasRole = (...roles) => me && me.roles.some((r) => roles.includes(r));
const partnerOnly = () => hasRole("partner") && !hasRole("analyst", "auditor", "admin");

async function api(path, options = {}) {
  const response = await fetch(API + path, {
    ...options,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json",
               ...(options.headers || {}) },
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const err = new Error(body.error ? body.error.message : `HTTP ${response.status}`);
    err.status = response.status;
    throw err;
  }
  return body;
}

function showError(err) {
  $("error").textContent = err ? String(err.message || err) : "";
}

function setMarking(text) {
  $("banner").textContent = text;
  $("banner-bottom").textContent = text;
}

function initMap() {
  try {
    map = new maplibregl.Map({
      container: "map",
      style: { version: 8, sources: {}, layers: [
        { id: "background", type: "background", paint: { "background-color": "#dfe7ef" } },
      ] },
      center: [-111.6, 31.45],
      zoom: 7.3,
      attributionControl: false,
    });
    map.on("load", async () => {
      const outlines = await api("/airspace/outlines?bbox=-116,29,-106,34");
      map.addSource("airspace", { type: "geojson", data: outlines });
      map.addLayer({ id: "airspace-fill", type: "fill", source: "airspace",
        paint: { "fill-color": ["match", ["get", "owner"], "USA", "#e8eef7", "MEX", "#f6efe4",
                                "#f2f2f2"], "fill-opacity": 0.9 } });
      map.addLayer({ id: "airspace-line", type: "line", source: "airspace",
        paint: { "line-color": "#7a7a7a", "line-width": 1 } });
      map.addSource("tracks", { type: "geojson", data: { type: "FeatureCollection", features: [] } });
      map.addLayer({ id: "tracks", type: "circle", source: "tracks",
        paint: { "circle-radius": 4, "circle-color": "#102a60" } });
      map.addSource("requests", { type: "geojson", data: requestAreas });
      map.addLayer({ id: "requests-fill", type: "fill", source: "requests",
        paint: { "fill-color": "#f39c12", "fill-opacity": 0.25 } });
      map.addLayer({ id: "requests-line", type: "line", source: "requests",
        paint: { "line-color": "#c0392b", "line-width": 2 } });
      map.addSource("plan", { type: "geojson", data: { type: "FeatureCollection", features: [] } });
      map.addLayer({ id: "plan-path", type: "line", source: "plan",
        filter: ["==", ["get", "part"], "path"],
        paint: { "line-color": "#1e8449", "line-width": 1.5, "line-dasharray": [2, 1] } });
      map.addLayer({ id: "plan-orbits", type: "line", source: "plan",
        filter: ["==", ["get", "part"], "orbit"],
        paint: { "line-color": "#1e8449", "line-width": 3 } });
      map.addSource("findings", { type: "geojson", data: { type: "FeatureCollection", features: [] } });
      map.addLayer({ id: "findings", type: "circle", source: "findings",
        paint: { "circle-radius": 6, "circle-color": "#8e44ad" } });
      document.body.dataset.map = "ready";
    });
    map.on("error", (e) => { document.body.dataset.mapError = String(e.error || e); });
  } catch (err) {
    document.body.dataset.mapError = String(err);
  }
}

async function loadMissions() {
  const panel = $("missions-panel");
  const body = $("missions").querySelector("tbody");
  body.innerHTML = "";
  try {
    const missions = await api("/missions");
    missionsCache = missions;
    $("missions-note").textContent = `${missions.length} mission(s)`;
    for (const m of missions) {
      const row = document.createElement("tr");
      row.dataset.mission = m.mission;
      for (const value of [m.mission, m.planner, m.state]) {
        const cell = document.createElement("td");
        cell.textContent = value;
        row.appendChild(cell);
      }
      const action = document.createElement("td");
      const show = document.createElement("button");
      show.textContent = "Show plan";
      show.className = "show-plan";
      show.title = "Draw the submitted plan (path and orbits) on the map";
      show.onclick = () => showPlan(m.mission).catch(showError);
      action.appendChild(show);
      if (me.roles.includes("approver") && m.state === "submitted") {
        const button = document.createElement("button");
        button.textContent = "Approve";
        button.className = "approve";
        button.onclick = async () => {
          try {
            await api(`/missions/${encodeURIComponent(m.mission)}/approve`, {
              method: "POST", body: JSON.stringify({ reason: $("approve-reason").value }) });
            showError(null);
            await loadMissions();
          } catch (err) { showError(err); }
        };
        action.appendChild(button);
      }
      if (hasRole("planner", "admin") && m.state === "approved") {
        const button = document.createElement("button");
        button.textContent = "Fly (simulated)";
        button.className = "fly";
        button.title = "Fly the approved plan in the simulator, track it and store the run";
        button.onclick = async () => {
          button.disabled = true;
          try {
            const job = await api("/jobs", {
              method: "POST", body: JSON.stringify({ mission_id: m.mission }) });
            document.body.dataset.lastJob = job.job_id;
            showError(null);
            await loadJobs();
          } catch (err) { showError(err); button.disabled = false; }
        };
        action.appendChild(button);
      }
      row.appendChild(action);
      body.appendChild(row);
    }
    panel.hidden = false;
  } catch (err) {
    if (err.status === 403) { panel.hidden = true; return; }
    throw err;
  }
  if (hasRole("planner", "admin")) {
    $("new-mission").hidden = false;
    if (!$("mission-yaml").value) {
      $("mission-yaml").value = (await api("/plans/template")).mission_yaml;
    }
  }
}

async function showPlan(mission) {
  // The exact plan an approver approves: its path and orbits on the map, its clearance.
  const doc = await api(`/missions/${encodeURIComponent(mission)}/plan`);
  drawPlan(doc.plan, `${mission} (${doc.state})`, doc.plan_sha256);
  document.body.dataset.planShown = mission;
}

let pendingPlan = null;

async function planMission() {
  // Plan on the server from the mission YAML; nothing is stored until it is submitted.
  $("submit-mission").disabled = true;
  pendingPlan = null;
  try {
    const made = await api("/plans", {
      method: "POST", body: JSON.stringify({ mission: $("mission-yaml").value }) });
    pendingPlan = made.plan;
    drawPlan(made.plan, `${made.plan.mission_name} (planned, not submitted)`, made.plan_sha256);
    $("submit-mission").disabled = false;
    document.body.dataset.planned = made.plan_sha256;
    showError(null);
  } catch (err) { showError(err); }
}

async function submitMission() {
  if (!pendingPlan) return;
  try {
    const sent = await api("/missions", {
      method: "POST", body: JSON.stringify({ plan: pendingPlan }) });
    pendingPlan = null;
    $("submit-mission").disabled = true;
    $("plan-note").textContent = `${sent.mission}: submitted for approval`;
    document.body.dataset.lastMission = sent.mission;
    showError(null);
    await loadMissions();
  } catch (err) { showError(err); }
}

function drawPlan(p, label, sha) {
  const line = (lon, lat) => lon.map((x, i) => [x, lat[i]]);
  const features = [{ type: "Feature", properties: { part: "path" },
    geometry: { type: "LineString", coordinates: line(p.path_lon_deg, p.path_lat_deg) } }];
  for (const o of p.orbits) {
    const ring = line(o.lon_deg, o.lat_deg);
    ring.push(ring[0]);
    features.push({ type: "Feature", properties: { part: "orbit", name: o.name },
      geometry: { type: "LineString", coordinates: ring } });
  }
  if (map && map.getSource("plan")) {
    map.getSource("plan").setData({ type: "FeatureCollection", features });
    const b = [Infinity, Infinity, -Infinity, -Infinity];
    p.path_lon_deg.forEach((x, i) => {  // no spread: a path has tens of thousands of points
      const y = p.path_lat_deg[i];
      b[0] = Math.min(b[0], x); b[1] = Math.min(b[1], y);
      b[2] = Math.max(b[2], x); b[3] = Math.max(b[3], y);
    });
    map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 40, animate: false });
  }
  $("plan-note").textContent =
    `${label}: ${p.orbits.length} orbit(s), closest ` +
    `${Math.round(p.min_clearance_m).toLocaleString("en")} m to foreign airspace ` +
    `(margin ${Math.round(p.margin_m).toLocaleString("en")} m), sha256 ${sha.slice(0, 12)}...`;
  document.body.dataset.planFeatures = String(features.length);
}

let jobsTimer = null;
let jobsActive = false;

async function loadJobs() {
  const panel = $("jobs-panel");
  if (partnerOnly()) { panel.hidden = true; return; }
  let jobs;
  try {
    jobs = await api("/jobs");
  } catch (err) {
    if (err.status === 403) { panel.hidden = true; return; }
    throw err;
  }
  panel.hidden = false;
  const list = $("jobs");
  list.innerHTML = "";
  $("jobs-note").textContent = jobs.length ? `${jobs.length} job(s)` : "no sorties flown yet";
  let active = false;
  for (const job of jobs.slice().reverse()) {
    const item = document.createElement("li");
    item.dataset.job = job.job_id;
    item.dataset.state = job.state;
    const title = document.createElement("span");
    title.textContent = `${job.mission_id || job.kind} by ${job.requested_by}: `;
    const state = document.createElement("span");
    state.className = "state";
    state.textContent = job.state === "running"
      ? `${job.stage} (${Math.round(100 * job.fraction)} %)` : job.state;
    const bar = document.createElement("progress");
    bar.max = 1;
    bar.value = job.fraction;
    item.append(title, state, " ", bar);
    if (job.state === "failed" && job.error) {
      const why = document.createElement("div");
      why.className = "job-error";
      why.textContent = job.error.message;
      item.appendChild(why);
    }
    if (job.state === "succeeded" && job.run_id && hasRole("analyst", "auditor", "admin")) {
      const open = document.createElement("button");
      open.className = "open-job-run";
      open.textContent = `Open run ${job.run_id}`;
      open.onclick = () => { $("run-id").value = job.run_id; openRun(); };
      item.appendChild(open);
    }
    if (job.state === "queued" || job.state === "running") active = true;
    list.appendChild(item);
  }
  clearTimeout(jobsTimer);
  const finished = jobsActive && !active;
  jobsActive = active;
  if (active) jobsTimer = setTimeout(() => loadJobs().catch(showError), 1000);
  if (finished) {
    await loadMissions();  // a flown mission needs a new approval: its Fly button goes
    runsCache = await api("/runs").catch(() => runsCache);
    await loadRequests();  // the new run can answer a partner request
  }
}

function showTime(index) {
  const t = replay.times[index];
  const rows = replay.byTime.get(t) || [];
  $("time-label").textContent = t || "no tracks";
  $("track-count").textContent = `${rows.length} track(s)`;
  $("track-count").dataset.count = String(rows.length);
  if (map && map.getSource("tracks")) {
    map.getSource("tracks").setData({ type: "FeatureCollection", features: rows.map((r) => ({
      type: "Feature", properties: { track_id: r.track_id },
      geometry: { type: "Point", coordinates: [r.lon, r.lat] } })) });
  }
}

async function openRun() {
  const run = $("run-id").value.trim();
  showError(null);
  const list = $("findings");
  list.innerHTML = "";
  try {
    const findings = await api(`/runs/${encodeURIComponent(run)}/findings`);
    for (const f of findings) {
      const item = document.createElement("li");
      item.dataset.finding = f.finding_id;
      const conf = f.document.confidence ? ` — ${f.document.confidence}` : "";
      item.textContent = `${f.finding_id} (${f.kind}) ${f.marking}${conf}`;
      list.appendChild(item);
    }
    if (map && map.getSource("findings")) {
      map.getSource("findings").setData({ type: "FeatureCollection", features: findings
        .filter((f) => f.lat !== null && f.lon !== null)
        .map((f) => ({ type: "Feature", properties: { id: f.finding_id },
                       geometry: { type: "Point", coordinates: [f.lon, f.lat] } })) });
    }
  } catch (err) { showError(err); }
  try {
    const rows = await api(`/runs/${encodeURIComponent(run)}/tracks`);
    replay = { times: [], byTime: new Map() };
    for (const r of rows) {
      if (!replay.byTime.has(r.time)) { replay.byTime.set(r.time, []); replay.times.push(r.time); }
      replay.byTime.get(r.time).push(r);
    }
    const slider = $("time-slider");
    slider.max = String(Math.max(replay.times.length - 1, 0));
    slider.value = "0";
    slider.disabled = replay.times.length === 0;
    showTime(0);
  } catch (err) {
    if (err.status !== 403) showError(err);
    $("time-label").textContent = err.status === 403 ? "tracks are not released to you" : "";
  }
}

// ------------------------------------------------------------------ partner requests

function bboxPolygon(text) {
  const v = text.split(",").map((x) => Number(x.trim()));
  if (v.length !== 4 || v.some((x) => !Number.isFinite(x)) || v[0] >= v[2] || v[1] >= v[3]) {
    throw new Error("area: give lon_min, lat_min, lon_max, lat_max (degrees)");
  }
  const [x0, y0, x1, y1] = v;
  return { type: "Polygon", coordinates: [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]] };
}

function utcIso(local) {
  // The form's times are UTC: "2026-03-20T00:00" -> "2026-03-20T00:00:00Z".
  if (!local) throw new Error("give the time window");
  return (local.length === 16 ? `${local}:00` : local) + "Z";
}

async function download(product) {
  try {
    const response = await fetch(`${API}/products/${encodeURIComponent(product.product_id)}`,
      { headers: { Authorization: `Bearer ${token}` } });
    if (!response.ok) throw new Error(`download failed (HTTP ${response.status})`);
    const url = URL.createObjectURL(await response.blob());
    const a = document.createElement("a");
    a.href = url;
    a.download = product.product_id;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  } catch (err) { showError(err); }
}

function linkControl(request, kind) {
  // A planner turns a request into a mission; an analyst answers it with a run.
  const box = document.createElement("span");
  box.className = `link-${kind}`;
  const select = document.createElement("select");
  select.className = `${kind}-choice`;
  const options = kind === "mission"
    ? missionsCache.filter((m) => m.state !== "rejected").map((m) => [m.mission, `${m.mission} (${m.state})`])
    : runsCache.map((r) => [r.run, r.run]);
  for (const [value, label] of options) {
    const option = document.createElement("option");
    option.value = value;
    option.textContent = label;
    select.appendChild(option);
  }
  const button = document.createElement("button");
  button.type = "button";
  button.className = kind === "mission" ? "plan-request" : "answer-request";
  button.textContent = kind === "mission" ? "Plan as mission" : "Answer with run";
  button.disabled = options.length === 0;
  button.onclick = async () => {
    try {
      await api(`/requests/${encodeURIComponent(request.request_id)}/link`, {
        method: "POST", body: JSON.stringify({ [`${kind}_id`]: select.value }) });
      showError(null);
      await loadRequests();
    } catch (err) { showError(err); }
  };
  box.append(select, button);
  return box;
}

async function loadRequests() {
  const panel = $("requests-panel");
  const list = $("requests");
  if (!hasRole("partner", "planner", "approver", "analyst", "auditor", "admin")) {
    panel.hidden = true;
    return;
  }
  $("request-form").hidden = !partnerOnly();
  const requests = await api("/requests");
  list.innerHTML = "";
  $("requests-note").textContent = partnerOnly()
    ? `${requests.length} request(s) from ${me.partner_country}`
    : `${requests.length} request(s) from partners`;
  for (const q of requests) {
    const item = document.createElement("li");
    item.dataset.request = q.request_id;
    item.dataset.status = q.status;
    const head = document.createElement("div");
    const status = document.createElement("span");
    status.className = "status";
    status.dataset.status = q.status;
    status.textContent = q.status;
    head.append(status, ` ${q.priority} — ${q.question}`);
    const meta = document.createElement("div");
    meta.className = "meta";
    meta.textContent = `${q.partner} (${q.partner_country}), ${q.window_start} – ${q.window_end}`
      + (q.mission_id ? `; mission ${q.mission_id}` : "") + (q.run_id ? `; run ${q.run_id}` : "");
    item.append(head, meta);
    const products = document.createElement("div");
    products.className = "products";
    for (const p of q.products || []) {
      const a = document.createElement("a");
      a.href = "#";
      a.className = "product";
      a.dataset.product = p.product_id;
      a.textContent = `${p.product_id} [${p.marking}]`;
      a.onclick = (e) => { e.preventDefault(); download(p); };
      products.appendChild(a);
    }
    if (q.status === "answered" && (q.products || []).length === 0) {
      products.textContent = "no released products yet";
    }
    item.appendChild(products);
    if (q.status === "open" && hasRole("planner", "admin")) item.appendChild(linkControl(q, "mission"));
    if (q.status !== "answered" && hasRole("analyst", "admin")) item.appendChild(linkControl(q, "run"));
    list.appendChild(item);
  }
  requestAreas = { type: "FeatureCollection", features: requests.map((q) => ({
    type: "Feature", properties: { id: q.request_id, status: q.status }, geometry: q.area })) };
  if (map && map.getSource("requests")) map.getSource("requests").setData(requestAreas);
  panel.hidden = false;
  panel.dataset.loaded = String(requests.length);
}

async function submitRequest(event) {
  event.preventDefault();
  try {
    const body = {
      question: $("rq-question").value.trim(),
      area: bboxPolygon($("rq-bbox").value),
      window_start: utcIso($("rq-start").value),
      window_end: utcIso($("rq-end").value),
      priority: $("rq-priority").value,
    };
    const created = await api("/requests", { method: "POST", body: JSON.stringify(body) });
    $("rq-question").value = "";
    showError(null);
    await loadRequests();
    document.body.dataset.lastRequest = created.request;
  } catch (err) { showError(err); }
}

function useMapView() {
  if (!map) return;
  const b = map.getBounds();
  const r = (x) => Math.round(x * 1000) / 1000;
  $("rq-bbox").value = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(r).join(",");
}

async function loadAudit() {
  if (!me.roles.some((r) => r === "auditor" || r === "admin")) { $("audit-panel").hidden = true; return; }
  try {
    const report = await api("/audit/verify");
    $("audit-status").textContent = `VALID: ${report.entries} entries`;
  } catch (err) { $("audit-status").textContent = err.message; }
}

async function start() {
  me = await api("/me");
  $("login").hidden = true;
  $("who").hidden = false;
  $("user").textContent = me.name;
  $("roles").textContent = `(${me.roles.join(", ")})`;
  $("app").hidden = false;
  setMarking(me.partner_country ? `UNCLASSIFIED//REL TO USA, ${me.partner_country}`
                                : "UNCLASSIFIED");
  document.body.dataset.user = me.name;
  if (!map) initMap();
  try {
    const runs = await api("/runs");
    runsCache = runs;
    if (runs.length && $("run-id").value === "") $("run-id").value = runs[runs.length - 1].run;
  } catch (err) { if (err.status !== 403) throw err; }
  await loadMissions();
  await loadJobs();
  await loadRequests();
  await loadAudit();
  document.body.dataset.ready = "yes";
}

$("plan-mission").addEventListener("click", planMission);
$("submit-mission").addEventListener("click", submitMission);

$("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  token = $("token").value.trim();
  try {
    await start();
    sessionStorage.setItem("standoff-token", token);
    showError(null);
  } catch (err) { showError(err); }
});
$("logout").addEventListener("click", () => {
  sessionStorage.removeItem("standoff-token");
  location.reload();
});
$("load-run").addEventListener("click", openRun);
$("request-form").addEventListener("submit", submitRequest);
$("rq-use-view").addEventListener("click", useMapView);
$("time-slider").addEventListener("input", (e) => showTime(Number(e.target.value)));

if (token) start().catch(showError);
