// OctoMesh console: one page, hash routes, plain JavaScript and SVG. Every
// page reads the console's JSON API (/api/...) and refreshes itself.
"use strict";

// Errors the page met, for the browser tests (and the status line).
window.consoleErrors = [];
window.addEventListener("error", (e) => window.consoleErrors.push(String(e.message)));
window.addEventListener("unhandledrejection", (e) => window.consoleErrors.push(String(e.reason)));

const REFRESH_MS = 2000;
const pages = { graph: renderGraph, services: renderServices, sidecars: renderSidecars, rules: renderRules, controlplane: renderControlPlane };
const openDocs = new Set(); // rule documents whose history is open
const histories = {}; // ref -> history answer
let timer = null;
let generation = 0;

function esc(v) {
  return String(v == null ? "" : v).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
function pill(text, cls) {
  return `<span class="pill ${esc(cls || text)}">${esc(text)}</span>`;
}
function fmt(n, digits) {
  if (n == null) return "–";
  return Number(n).toFixed(digits == null ? 1 : digits);
}
function pct(x) {
  return (100 * (x || 0)).toFixed(x && x < 0.01 ? 2 : 1) + "%";
}
function ago(t) {
  if (!t) return "";
  const s = Math.max(0, (Date.now() - Date.parse(t)) / 1000);
  if (s < 90) return Math.round(s) + "s ago";
  if (s < 5400) return Math.round(s / 60) + "m ago";
  return Math.round(s / 3600) + "h ago";
}

async function getJSON(path) {
  const r = await fetch(path, { headers: { Accept: "application/json" } });
  let body;
  try {
    body = await r.json();
  } catch (e) {
    throw new Error(`${path}: ${r.status} ${r.statusText}, not JSON`);
  }
  if (!r.ok) throw new Error(body && body.error ? body.error : `${path}: ${r.status}`);
  return body;
}

function showUnreachable(list) {
  const el = document.getElementById("unreachable");
  if (!list || list.length === 0) {
    el.innerHTML = "";
    return;
  }
  el.innerHTML = `<div class="banner" id="unreachable-list"><b>Not answering:</b><ul>${list
    .map((u) => `<li data-source="${esc(u.source)}"><b>${esc(u.source)}</b>: ${esc(u.error)}</li>`)
    .join("")}</ul></div>`;
}

function route() {
  const name = (location.hash.replace(/^#\/?/, "").split("/")[0] || "graph");
  return pages[name] ? name : "graph";
}

async function refresh() {
  const name = route();
  const gen = ++generation;
  document.querySelectorAll("nav a").forEach((a) => a.classList.toggle("active", a.dataset.page === name));
  const view = document.getElementById("view");
  const status = document.getElementById("status");
  try {
    const html = await pages[name]();
    if (gen !== generation) return; // the page changed meanwhile
    view.innerHTML = html;
    view.dataset.page = name;
    view.dataset.loaded = String(Date.now());
    status.textContent = "updated " + new Date().toLocaleTimeString();
    if (name === "rules") bindRules();
  } catch (e) {
    if (gen !== generation) return;
    showUnreachable([]);
    view.dataset.page = name;
    view.innerHTML = `<div class="banner source-error" data-error="1"><b>This page's source does not answer.</b><br>${esc(e.message)}</div>`;
    status.textContent = "error at " + new Date().toLocaleTimeString();
  }
}

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(async () => {
    await refresh();
    schedule();
  }, REFRESH_MS);
}

window.addEventListener("hashchange", () => {
  document.getElementById("view").innerHTML = '<p class="muted">Loading…</p>';
  refresh().then(schedule);
});
refresh().then(schedule);

// ---- Service graph -------------------------------------------------------

async function renderGraph() {
  const g = await getJSON("/api/graph");
  showUnreachable(g.unreachable);
  let head = `<h2>Service graph</h2><p class="muted">Calls from apps (their sidecars) to services, ${
    g.source === "prometheus" ? "from Prometheus over the last minute" : `between the console's last two scrapes of the sidecars (${fmt(g.window_seconds)}s window)`
  }.</p>`;
  if (g.pending) head += `<div class="note">${esc(g.pending)}</div>`;
  if (g.error) head += `<div class="banner">${esc(g.error)}</div>`;
  if (!g.nodes.length) return head + `<div class="card muted" id="graph-empty">No sidecar with calls to show yet.</div>`;
  const apps = g.nodes.filter((n) => n.kind === "app");
  const svcs = g.nodes.filter((n) => n.kind === "service");
  const rowH = 70, W = 900, nodeW = 180, nodeH = 36, left = 20, right = W - 20 - nodeW;
  const H = Math.max(apps.length, svcs.length) * rowH + 40;
  const pos = {};
  apps.forEach((n, i) => (pos[n.id] = { x: left, y: 20 + i * rowH }));
  svcs.forEach((n, i) => (pos[n.id] = { x: right, y: 20 + i * rowH }));
  let svg = `<svg id="graph" viewBox="0 0 ${W} ${H}" width="100%" style="max-width:${W}px;background:#fff;border:1px solid var(--line)">`;
  svg += `<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#8792a8"/></marker></defs>`;
  for (const e of g.edges) {
    const a = pos[e.from], b = pos[e.to];
    if (!a || !b) continue;
    const x1 = a.x + nodeW, y1 = a.y + nodeH / 2, x2 = b.x, y2 = b.y + nodeH / 2, mx = (x1 + x2) / 2;
    const label = `${fmt(e.rps)} req/s · ${pct(e.error_rate)} errors · p99 ${e.p99_ms == null ? "–" : fmt(e.p99_ms, 2) + " ms"}`;
    svg += `<g class="edge${e.errors > 0 ? " errors" : ""}" data-from="${esc(e.from)}" data-to="${esc(e.to)}" data-rps="${e.rps}" data-error-rate="${e.error_rate}">`;
    svg += `<path d="M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}" marker-end="url(#arrow)"/>`;
    svg += `<text x="${mx}" y="${(y1 + y2) / 2 - 8}" text-anchor="middle">${esc(label)}</text></g>`;
  }
  for (const n of g.nodes) {
    const p = pos[n.id];
    svg += `<g class="node ${esc(n.kind)}" data-id="${esc(n.id)}"><rect x="${p.x}" y="${p.y}" width="${nodeW}" height="${nodeH}" rx="6"/>`;
    svg += `<text x="${p.x + 10}" y="${p.y + 22}">${esc(n.kind === "app" ? "app " : "service ")}<tspan font-weight="600">${esc(n.name)}</tspan>${
      n.sidecars ? ` (${n.sidecars})` : ""
    }</text></g>`;
  }
  svg += `</svg>`;
  let table = `<h3>Edges</h3><table id="edges"><tr><th>from</th><th>to</th><th>req/s</th><th>calls</th><th>errors</th><th>error rate</th><th>p99</th></tr>`;
  for (const e of g.edges) {
    table += `<tr data-from="${esc(e.from)}" data-to="${esc(e.to)}"><td>${esc(e.from)}</td><td>${esc(e.to)}</td><td class="rps">${fmt(e.rps)}</td><td>${e.calls}</td><td>${e.errors}</td><td>${pct(
      e.error_rate
    )}</td><td>${e.p99_ms == null ? "–" : fmt(e.p99_ms, 2) + " ms"}</td></tr>`;
  }
  return head + svg + table + "</table>";
}

// ---- Services ------------------------------------------------------------

async function renderServices() {
  const v = await getJSON("/api/services");
  showUnreachable(v.unreachable);
  let h = `<h2>Services</h2>`;
  if (!v.services.length) return h + `<div class="card muted">No service known: no sidecar subscribes to one and no scanner checks one.</div>`;
  for (const s of v.services) {
    h += `<div class="card service" data-service="${esc(s.service)}"><h3>${esc(s.service)}</h3>`;
    h += `<table class="instances"><tr><th>address</th><th>app</th><th>zone</th><th>SET</th><th>weight</th><th>health</th><th>calling sidecars see</th></tr>`;
    for (const i of s.instances) {
      const seen = (i.seen || []).map((x) => `${esc(x.node)}: ${pill(x.health, x.health.replace(" ", "-"))}${x.reason ? ` <span class="muted">${esc(x.reason)}</span>` : ""}`).join("<br>");
      const mark = i.mark ? `<div class="muted">marked down by ${esc(i.mark.scanner || "")} ${esc(ago(i.mark.since))}: ${esc(i.mark.reason || "")}</div>` : "";
      h += `<tr class="instance" data-address="${esc(i.address)}" data-health="${esc(i.health)}" data-ejected="${i.ejected}"><td><code>${esc(i.address)}</code></td><td>${esc(i.app)}</td><td>${esc(
        i.zone || "–"
      )}</td><td>${esc(i.set || "–")}</td><td>${esc(i.weight)}</td><td>${pill(i.health)}${i.ejected ? " " + pill("ejected") : ""}${mark}</td><td>${seen || '<span class="muted">–</span>'}</td></tr>`;
    }
    if (!s.instances.length) h += `<tr><td colspan="7" class="muted">no instance registered</td></tr>`;
    h += `</table>`;
    h += `<div class="muted">subscribers: ${esc((s.subscribers || []).join(", ") || "none")}; rules that send calls here: ${(s.rules || []).length}</div></div>`;
  }
  return h;
}

// ---- Sidecars ------------------------------------------------------------

async function renderSidecars() {
  const v = await getJSON("/api/sidecars");
  showUnreachable(v.unreachable);
  let h = `<h2>Sidecars</h2><p class="muted">Every sidecar connected to the pilots: the config version it runs and, per kind, whether it ACKed the pilot's current version (as <code>octomesh ctl proxy-status</code>).</p>`;
  h += `<table id="sidecars"><tr><th>node</th><th>app</th><th>zone</th><th>pilot</th><th>connected</th><th>config version</th><th>CDS</th><th>EDS</th><th>RDS</th><th>LDS</th><th>NACKs</th><th>agent</th></tr>`;
  for (const s of v.sidecars) {
    const k = (x) => `<td${x.stale ? ' class="stale"' : ""} title="${esc(x.summary)}">${pill(x.state, x.state)}${x.stale ? `<div class="muted">${esc(x.summary)}</div>` : ""}</td>`;
    h += `<tr class="sidecar${s.stale ? " stale" : ""}" data-node="${esc(s.node)}" data-stale="${s.stale}"><td><b>${esc(s.node)}</b>${s.admin ? `<div class="muted">${esc(s.admin)}</div>` : ""}</td><td>${esc(
      s.app
    )}</td><td>${esc(s.zone || "–")}</td><td>${esc(s.pilot)}</td><td>${esc(ago(s.connected_since))}</td><td><code>${esc(s.config_version || "–")}</code>${
      s.admin_error ? `<div class="muted">${esc(s.admin_error)}</div>` : ""
    }</td>${k(s.cds)}${k(s.eds)}${k(s.rds)}${k(s.lds)}<td>${s.nacks}${s.last_nack ? `<div class="muted">${esc(s.last_nack)}</div>` : ""}</td><td class="agent" data-restarts="${
      s.agent ? s.agent.restarts : ""
    }">${s.agent ? agentSummary(s.agent) : '<span class="muted">–</span>'}</td></tr>`;
  }
  if (!v.sidecars.length) h += `<tr><td colspan="12" class="muted">no sidecar connected to the pilots asked</td></tr>`;
  h += `</table>`;
  h += `<h3>Node agents</h3>`;
  if (!v.agents.length) h += `<div class="card muted">No node agent reports to the operator API.</div>`;
  else {
    h += `<table id="agents"><tr><th>node</th><th>app</th><th>state</th><th>sidecar version</th><th>target</th><th>ready</th><th>restarts</th><th>config version</th><th>last report</th></tr>`;
    for (const a of v.agents) {
      h += `<tr class="agent-row${a.stale ? " stale" : ""}" data-node="${esc(a.node)}" data-restarts="${a.restarts}"><td><b>${esc(a.node)}</b></td><td>${esc(a.app || "")}</td><td>${pill(
        a.state,
        a.state === "ready" ? "healthy" : a.state === "rolled_back" || a.state === "failed" ? "error" : "draining"
      )}${a.reason ? `<div class="muted">${esc(a.reason)}</div>` : ""}</td><td><code>${esc(a.version || "–")}</code></td><td>${a.target ? `<code>${esc(a.target.version)}</code>` : "–"}</td><td>${
        a.ready ? "yes" : "no"
      }</td><td>${a.restarts}</td><td><code>${esc(a.config_version || "–")}</code></td><td>${esc(ago(a.received_at))}${a.stale ? " " + pill("stale", "STALE") : ""}</td></tr>`;
    }
    h += `</table>`;
  }
  h += `<h3>Releases in progress</h3>`;
  if (!v.releases.length) h += `<div class="card muted" id="releases-none">None.</div>`;
  else {
    h += `<table id="releases"><tr><th>release</th><th>version</th><th>state</th><th>stages</th></tr>`;
    for (const r of v.releases) {
      const stages = (r.stages || []).map((st, i) => `${i + 1}: ${pill(st.state, st.state === "passed" ? "healthy" : st.state === "failed" ? "error" : "draining")} ${esc((st.nodes || []).join(", "))}`).join("<br>");
      h += `<tr class="release" data-release="${esc(r.name)}"><td><b>${esc(r.name)}</b></td><td><code>${esc(r.version || "")}</code></td><td>${esc(r.state)}${
        r.reason ? `<div class="muted">${esc(r.reason)}</div>` : ""
      }</td><td>${stages}</td></tr>`;
    }
    h += `</table>`;
  }
  return h;
}

function agentSummary(a) {
  return `${esc(a.agent_state || a.state)}, ${a.restarts} restart${a.restarts === 1 ? "" : "s"}${a.version ? `<div class="muted">runs ${esc(a.version)}</div>` : ""}${
    a.target ? `<div class="muted">upgrading to ${esc(a.target.version)}</div>` : ""
  }`;
}

// ---- Rules ---------------------------------------------------------------

async function renderRules() {
  const v = await getJSON("/api/rules");
  showUnreachable([]);
  let h = `<h2>Rules</h2><p class="muted">The governance documents in the rule store (${esc(v.source)}), by the service they target; read-only: <code>octomesh ctl apply</code> changes them.</p>`;
  if (!v.services.length) return h + `<div class="card muted" id="rules-empty">No document in the rule store.</div>`;
  for (const s of v.services) {
    h += `<div class="card" data-service="${esc(s.service)}"><h3>${esc(s.service)}</h3><table><tr><th>document</th><th>caller</th><th>revision</th><th>updated</th><th>spec</th></tr>`;
    for (const d of s.documents) {
      const ref = `${d.kind}/${d.metadata.name}`;
      h += `<tr class="rule" data-ref="${esc(ref)}" data-revision="${d.metadata.revision}"><td><b>${esc(d.kind)}</b>/${esc(d.metadata.name)}<br><details data-ref="${esc(ref)}"${
        openDocs.has(ref) ? " open" : ""
      }><summary>history</summary>${historyHTML(ref)}</details></td><td>${esc(d.target.app || "(the service's own)")}</td><td>${d.metadata.revision}</td><td>${esc(
        d.metadata.updated || ""
      )}</td><td><pre>${esc(JSON.stringify(d.spec, null, 1))}</pre></td></tr>`;
    }
    h += `</table></div>`;
  }
  return h;
}

function historyHTML(ref) {
  const hist = histories[ref];
  if (!hist) return `<span class="muted">…</span>`;
  if (hist.error) return `<span class="banner">${esc(hist.error)}</span>`;
  if (!hist.history || !hist.history.length) return `<div class="muted">no earlier version</div>`;
  return hist.history.map((d) => `<div>revision ${d.metadata.revision} <span class="muted">${esc(d.metadata.updated || "")}</span><pre>${esc(JSON.stringify(d.spec, null, 1))}</pre></div>`).join("");
}

function bindRules() {
  document.querySelectorAll("details[data-ref]").forEach((el) => {
    el.addEventListener("toggle", async () => {
      const ref = el.dataset.ref;
      if (!el.open) {
        openDocs.delete(ref);
        return;
      }
      openDocs.add(ref);
      try {
        histories[ref] = await getJSON("/api/rules/" + ref.split("/").map(encodeURIComponent).join("/"));
      } catch (e) {
        histories[ref] = { error: e.message };
      }
      el.innerHTML = `<summary>history</summary>` + historyHTML(ref);
    });
  });
}

// ---- Control plane -------------------------------------------------------

async function renderControlPlane() {
  const v = await getJSON("/api/controlplane");
  showUnreachable(v.unreachable);
  let h = `<h2>Control plane</h2>`;
  if (v.meta) {
    h += `<h3>Meta</h3><div class="card" id="meta">${esc(v.meta.address)} `;
    if (v.meta.error) h += pill("not answering", "error") + ` ${esc(v.meta.error)}`;
    else {
      const a = v.meta.assignment;
      h += `capacity ${a.capacity} apps per pilot<table><tr><th>app</th><th>pilot</th></tr>${Object.keys(a.apps || {})
        .sort()
        .map((k) => `<tr><td>${esc(k)}</td><td>${esc(a.apps[k])}</td></tr>`)
        .join("")}</table>`;
    }
    h += `</div>`;
  }
  h += `<h3>Pilots</h3><table id="pilots"><tr><th>pilot</th><th>sessions</th><th>apps</th><th>pushes</th><th>NACKs</th><th>push delay p50 / p99 / max</th><th>shard</th></tr>`;
  for (const p of v.pilots) {
    if (p.error) {
      h += `<tr class="pilot" data-pilot="${esc(p.http)}"><td>${esc(p.id || p.http)}</td><td colspan="6">${pill("not answering", "error")} ${esc(p.error)}</td></tr>`;
      continue;
    }
    const apps = Object.keys(p.apps || {}).sort().map((a) => `${esc(a)} (${p.apps[a]})`).join(", ");
    const d = p.push_delay;
    h += `<tr class="pilot" data-pilot="${esc(p.http)}"><td><b>${esc(p.id || "")}</b> ${esc(p.http)}</td><td>${p.sessions}</td><td>${apps || "–"}</td><td>${p.pushes}</td><td>${p.nacks}</td><td>${
      d.count ? `${fmt(d.p50_us / 1000, 2)} / ${fmt(d.p99_us / 1000, 2)} / ${fmt(d.max_us / 1000, 2)} ms <span class="muted">(${d.count} pushes)</span>` : "–"
    }</td><td>${p.shard ? `<details><summary>shard</summary><pre>${esc(JSON.stringify(p.shard, null, 1))}</pre></details>` : '<span class="muted">serves every app</span>'}</td></tr>`;
  }
  h += `</table><h3>Scanners</h3>`;
  if (!v.scanners_known) return h + `<div class="card muted">The scanners are not shown: no pilot answered GET /debug/scanners.</div>`;
  if (!v.scanners.length) return h + `<div class="card muted">No scanner is registered: nothing marks instances down.</div>`;
  h += `<table id="scanners"><tr><th>scanner</th><th>zone</th><th>started</th><th>checks</th><th>failed</th><th>addresses checked</th></tr>`;
  for (const s of v.scanners) {
    const st = s.stats || {};
    const targets = (s.targets || []).map((t) => `<code>${esc(t.address)}</code> ${esc((t.services || []).join(","))} ${pill(t.down ? "down" : "healthy")}`).join("<br>");
    h += `<tr class="scanner" data-scanner="${esc(s.id)}"><td><b>${esc(s.id)}</b><div class="muted">${esc(s.http)}</div></td><td>${esc(s.zone || "–")}</td><td>${esc(ago(s.started))}</td><td>${
      st["scanner.checks"] == null ? "–" : st["scanner.checks"]
    }</td><td>${st["scanner.failures"] == null ? "–" : st["scanner.failures"]}</td><td>${s.error ? pill("not answering", "error") + " " + esc(s.error) : targets || "–"}</td></tr>`;
  }
  return h + `</table>`;
}
