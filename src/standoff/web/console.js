// Standoff console: a thin client of the API. No data leaves the server it came from and no
// internet resource is loaded: the basemap is the vendored boundary data served by the API.
import * as maplibregl from "/static/vendor/maplibre-gl.mjs";

const API = "/api/v1";
const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem("standoff-token") || "";
let me = null;
let map = null;
let replay = { times: [], byTime: new Map() };

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
      row.appendChild(action);
      body.appendChild(row);
    }
    panel.hidden = false;
  } catch (err) {
    if (err.status === 403) { panel.hidden = true; return; }
    throw err;
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
    if (runs.length && $("run-id").value === "") $("run-id").value = runs[runs.length - 1].run;
  } catch (err) { if (err.status !== 403) throw err; }
  await loadMissions();
  await loadAudit();
  document.body.dataset.ready = "yes";
}

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
$("time-slider").addEventListener("input", (e) => showTime(Number(e.target.value)));

if (token) start().catch(showError);
