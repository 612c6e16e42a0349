// The Durably dashboard: a run list, run timelines and pending approvals over the JSON API, refreshed by server-sent events.
"use strict";

const view = document.getElementById("view");
const TOKEN_KEY = "durably.token";
const STATUSES = ["pending", "running", "suspended", "completed", "failed", "cancelled", "compensated"];
let refreshTimer = null;
let currentRun = null;

// Builds DOM nodes; text is always set as text, never parsed as HTML.
function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// Replaces the view's content; nested arrays are flattened and absent parts (null, false) left out.
function show(...children) {
  view.replaceChildren(...children.flat(3).filter(c => c !== null && c !== undefined && c !== false));
}

function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }

function headers(extra) {
  const result = Object.assign({}, extra);
  if (token()) result.Authorization = "Bearer " + token();
  return result;
}

// Reads a server-sent events response to its end, handing each event block (the lines before a blank line) to onBlock.
async function readEventBlocks(response, onBlock) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      onBlock(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
    }
  }
}

async function api(path, options) {
  const response = await fetch(path, Object.assign({}, options, { headers: headers(options && options.headers) }));
  const text = await response.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = { error: text }; }
  if (!response.ok) {
    const error = new Error((body && body.error) || response.status + " " + response.statusText);
    error.status = response.status;
    throw error;
  }
  return body;
}

function toast(message, bad) {
  const node = document.getElementById("toast");
  node.textContent = message;
  node.className = "toast" + (bad ? " bad" : "");
  node.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { node.hidden = true; }, bad ? 9000 : 4000);
}

function when(iso) {
  if (!iso) return "-";
  const date = new Date(iso);
  return date.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

function ago(iso) {
  if (!iso) return "-";
  const seconds = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
  if (seconds < 60) return Math.round(seconds) + " s ago";
  if (seconds < 3600) return Math.round(seconds / 60) + " min ago";
  if (seconds < 86400) return Math.round(seconds / 3600) + " h ago";
  return Math.round(seconds / 86400) + " d ago";
}

function duration(ms) {
  if (ms === null || ms === undefined) return "-";
  if (ms < 1) return "<1 ms";
  if (ms < 1000) return Math.round(ms) + " ms";
  if (ms < 60000) return (ms / 1000).toFixed(1) + " s";
  return Math.floor(ms / 60000) + " min " + Math.round((ms % 60000) / 1000) + " s";
}

function number(n) { return (n || 0).toLocaleString("en-US"); }

function tokens(usage) { return usage ? number(usage.in) + " / " + number(usage.out) : "-"; }

function json(value) {
  if (value === null || value === undefined) return "null";
  return typeof value === "string" ? JSON.stringify(value) : JSON.stringify(value, null, 2);
}

function clip(text, max) { return text.length > max ? text.slice(0, max - 1) + "…" : text; }

function runLink(runId) {
  return h("a", { class: "mono", href: "#/runs/" + encodeURIComponent(runId) }, runId);
}

function badge(state) {
  const label = state === "inDoubt" ? "in doubt" : state === "timedOut" ? "timed out" : state;
  return h("span", { class: "badge s-" + state.toLowerCase() }, label);
}

// ---- the run list and pending approvals ----

async function showList() {
  currentRun = null;
  stopRunWatch();
  const params = new URLSearchParams(location.hash.split("?")[1] || "");
  const status = params.get("status") || "";
  const workflow = params.get("workflow") || "";
  const query = new URLSearchParams();
  if (status) query.set("status", status);
  if (workflow) query.set("workflow", workflow);
  const [runs, approvals, queues, schedules] = await Promise.all([api("/api/runs?" + query), api("/api/approvals"), api("/api/queues"), api("/api/schedules")]);

  const statusSelect = h("select", { id: "filter-status", "aria-label": "Status", onchange: applyFilters },
    h("option", { value: "" }, "All statuses"),
    STATUSES.map(s => h("option", { value: s, selected: s === status }, s)));
  const workflowInput = h("input", { id: "filter-workflow", placeholder: "Workflow", value: workflow, "aria-label": "Workflow", onchange: applyFilters });

  show(
    h("h2", {}, "Waiting for approval"),
    approvals.approvals.length === 0
      ? h("div", { class: "card empty" }, "No run waits for an approval.")
      : h("div", { class: "approvals" }, approvals.approvals.map(approvalCard)),
    queues.queues.length === 0 ? null : [h("h2", {}, "Queues"), queueTable(queues.queues)],
    schedulesCard(schedules.schedules),
    h("h2", {}, "Runs"),
    h("div", { class: "filters" }, statusSelect, workflowInput),
    h("div", { class: "card" }, runs.runs.length === 0
      ? h("div", { class: "empty" }, "No runs match.")
      : h("table", { id: "runs" },
          h("thead", {}, h("tr", {}, h("th", {}, "Run"), h("th", {}, "Workflow"), h("th", {}, "Status"), h("th", {}, "Updated"), h("th", {}, "Detail"))),
          h("tbody", {}, runs.runs.map(run => h("tr", { "data-run": run.runId },
            h("td", { class: "mono" }, runLink(run.runId),
              run.parentRunId ? h("div", { class: "sub parent" }, "child of ", runLink(run.parentRunId)) : null),
            h("td", {}, run.workflow,
              run.queue ? h("div", { class: "sub queue" }, "queue ", run.queue + (run.queueKey ? " / " + run.queueKey : "")) : null),
            h("td", {}, badge(waitsForSlot(run) ? "queued" : run.status)),
            h("td", { title: when(run.updatedAt) }, ago(run.updatedAt)),
            h("td", { class: "notes" }, clip(run.statusDetail || "", 120))))))));
}

// A run on a queue that is runnable and holds no live lease waits for its queue to give it a slot.
function waitsForSlot(run) {
  const now = Date.now();
  const leased = run.leaseExpiresAt && Date.parse(run.leaseExpiresAt) > now;
  const due = run.status === "pending" || run.status === "running" || (run.status === "suspended" && run.wakeAt && Date.parse(run.wakeAt) <= now);
  return !!run.queue && !leased && due;
}

function limit(n) { return n === null || n === undefined ? "-" : number(n); }

// Each queue's limits and how many of its runs hold a slot, wait for one, are held back by a limit, or are suspended.
function queueTable(queues) {
  return h("div", { class: "card" }, h("table", { id: "queues" },
    h("thead", {}, h("tr", {}, ["Queue", "Concurrency", "Per key", "Per minute", "Tokens / min", "Running", "Queued", "Limited", "Suspended", "Last minute", "Tokens last min"].map(c => h("th", {}, c)))),
    h("tbody", {}, queues.map(q => h("tr", { "data-queue": q.definition.name },
      h("td", { class: "mono" }, q.definition.name, q.definition.paused ? h("span", { class: "badge s-paused" }, "paused") : null),
      h("td", {}, limit(q.definition.maxConcurrency)),
      h("td", {}, limit(q.definition.maxConcurrencyPerKey)),
      h("td", {}, limit(q.definition.runsPerMinute) + (q.definition.rateLimitPerKey && q.definition.runsPerMinute != null ? " per key" : "")),
      h("td", {}, limit(q.definition.tokensPerMinute) + (q.definition.rateLimitPerKey && q.definition.tokensPerMinute != null ? " per key" : "")),
      h("td", { "data-count": "running" }, number(q.running)),
      h("td", { "data-count": "queued" }, number(q.queued)),
      h("td", { "data-count": "limited", class: q.limited > 0 ? "limited" : "" }, number(q.limited)),
      h("td", { "data-count": "suspended" }, number(q.suspended)),
      h("td", { "data-count": "window" }, number(q.dequeuedInWindow)),
      h("td", { "data-count": "tokens" }, q.definition.tokensPerMinute == null ? "-" : number(q.tokensInWindow)))))));
}

// The store's schedules (left out when it has none): timing, state, next and last fire, and the last fire's run.
function schedulesCard(schedules) {
  if (schedules.length === 0) return null;
  return [
    h("h2", {}, "Schedules"),
    h("div", { class: "card" }, h("table", { id: "schedules" },
      h("thead", {}, h("tr", {}, h("th", {}, "Schedule"), h("th", {}, "Workflow"), h("th", {}, "When"), h("th", {}, "State"), h("th", {}, "Next fire"), h("th", {}, "Last fire"))),
      h("tbody", {}, schedules.map(s => h("tr", { "data-schedule": s.scheduleId },
        h("td", { class: "mono" }, s.scheduleId),
        h("td", {}, s.workflow),
        h("td", {}, s.when),
        h("td", {}, badge(s.paused ? "paused" : "active")),
        h("td", { title: s.nextFireAt ? when(s.nextFireAt) : "" }, s.nextFireAt ? when(s.nextFireAt) : "-"),
        h("td", { class: "mono" }, s.lastFireAt ? when(s.lastFireAt) : "-", s.lastRunId ? h("div", { class: "sub" }, runLink(s.lastRunId)) : null)))))),
  ];
}

function applyFilters() {
  const status = document.getElementById("filter-status").value;
  const workflow = document.getElementById("filter-workflow").value.trim();
  const query = new URLSearchParams();
  if (status) query.set("status", status);
  if (workflow) query.set("workflow", workflow);
  location.hash = "#/" + (query.toString() ? "?" + query : "");
}

// Comments typed into approval cards, by run and gate: a live refresh re-renders the cards and must not lose them.
const typedComments = new Map();

function approvalCard(approval) {
  const key = approval.runId + "\u0000" + approval.gate;
  const comment = h("input", { placeholder: "Comment (optional)", "aria-label": "Comment", value: typedComments.get(key) || "" });
  comment.addEventListener("input", () => {
    if (comment.value) typedComments.set(key, comment.value); else typedComments.delete(key);
  });
  const decide = approve => async event => {
    const buttons = event.target.parentElement.querySelectorAll("button");
    buttons.forEach(b => { b.disabled = true; });
    try {
      const result = await api("/api/runs/" + encodeURIComponent(approval.runId) + "/" + (approve ? "approve" : "reject") + "/" + encodeURIComponent(approval.gate), {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ comment: comment.value || null }),
      });
      typedComments.delete(key);
      toast((approve ? "Approved" : "Rejected") + " '" + approval.gate + "' of " + approval.runId + " as " + result.sender + ".");
      scheduleRefresh(0);
    } catch (error) {
      toast("Refused: " + error.message, true);
      buttons.forEach(b => { b.disabled = false; });
    }
  };
  return h("div", { class: "card approval", "data-run": approval.runId, "data-gate": approval.gate },
    h("div", { class: "what" },
      h("div", {}, h("strong", {}, approval.gate), " in ", h("a", { class: "mono", href: "#/runs/" + encodeURIComponent(approval.runId) }, approval.runId)),
      h("div", { class: "sub" }, approval.workflow + " · step " + approval.step + " · waiting since " + ago(approval.waitingSince) +
        (approval.timeoutAt ? " · times out " + when(approval.timeoutAt) : ""))),
    comment,
    h("div", { class: "actions" },
      h("button", { class: "act approve", "data-action": "approve", onclick: decide(true) }, "Approve"),
      h("button", { class: "act reject", "data-action": "reject", onclick: decide(false) }, "Reject")));
}

// ---- one run's timeline ----

async function showRun(runId) {
  currentRun = runId;
  const t = await api("/api/runs/" + encodeURIComponent(runId));
  const waiting = t.status === "suspended" ? t.steps.filter(s => s.state === "waiting" && s.approvalGate) : [];
  const longest = Math.max(1, ...t.steps.map(s => s.durationMs || 0));

  const meta = [
    ["Workflow", t.workflow + " v" + t.workflowVersion],
    ["Started", when(t.startedAt)],
    ["Updated", when(t.updatedAt) + " (" + ago(t.updatedAt) + ")"],
    ["Resumed", t.resumptions + (t.resumptions === 1 ? " time" : " times")],
    ["Steps", String(t.steps.length)],
    ["Tokens spent (in / out)", tokens(t.tokensSpent)],
    ["Tokens saved by replay", tokens(t.tokensSaved)],
    ["Input", t.input === undefined ? "-" : clip(json(t.input).replace(/\s+/g, " "), 60)],
  ];
  if (t.fork) meta.push(["Forked from", t.fork.source + " at step " + t.fork.at]);
  if (t.fork && t.fork.reuse_models) {
    const hits = t.steps.filter(s => s.cacheHit).map(s => s.step);
    meta.push(["Cache hits", hits.length ? "steps " + hits.join(", ") + " (same request as in " + t.fork.source + ")" : "none"]);
  }

  show(
    h("div", { class: "crumb" }, h("a", { href: "#/" }, "← Runs")),
    h("h1", {}, h("code", {}, t.runId), badge(t.status)),
    t.statusDetail ? h("p", { class: "detail" }, t.statusDetail) : null,
    t.parentRunId ? h("p", { class: "detail parent" }, "Child run of ", runLink(t.parentRunId), " (its step " + t.parentStep + ")") : null,
    h("dl", { class: "meta" }, meta.map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", { title: v }, v)))),
    waiting.length > 0 ? [h("h2", {}, "Waiting for approval"), h("div", { class: "approvals" }, waiting.map(s => approvalCard({ runId: t.runId, workflow: t.workflow, gate: s.approvalGate, step: s.step, waitingSince: s.startedAt, timeoutAt: s.dueAt })))] : null,
    liveOutput(t),
    h("h2", {}, "Timeline"),
    h("div", { class: "card" }, t.steps.length === 0 ? h("div", { class: "empty" }, "No steps yet.") :
      h("table", { id: "steps" },
        h("thead", {}, h("tr", {},
          h("th", { class: "num" }, "#"), h("th", {}, "Step"), h("th", {}, "State"), h("th", { class: "num" }, "Attempts"),
          h("th", { class: "num" }, "Duration"), h("th", { class: "num" }, "Tokens in / out"), h("th", { class: "num" }, "Replays"), h("th", {}, "Notes"))),
        h("tbody", {}, t.steps.map(s => h("tr", { class: s.state === "inDoubt" ? "indoubt" : null, "data-step": s.step },
          h("td", { class: "num" }, s.step),
          h("td", { class: "step" }, h("span", { class: "stepname", title: s.name }, s.approvalGate || s.name), h("span", { class: "kind" }, s.approvalGate ? "approval" : s.kind)),
          h("td", {}, badge(s.state)),
          h("td", { class: "num" }, s.attempts),
          h("td", { class: "num" }, h("div", { class: "bar" }, s.durationMs ? h("i", { style: null, "data-w": Math.round(100 * s.durationMs / longest) }) : null, duration(s.durationMs))),
          h("td", { class: "num" }, tokens(s.usage)),
          h("td", { class: "num" }, s.replayCount),
          h("td", { class: "notes" }, notes(t, s))))))),
    t.pendingSignals && t.pendingSignals.length ? [h("h2", {}, "Signals not yet consumed"), h("div", { class: "card" }, h("table", {},
      h("tbody", {}, t.pendingSignals.map(sig => h("tr", {}, h("td", {}, sig.name), h("td", {}, "from " + (sig.sender || "unnamed")), h("td", {}, when(sig.deliveredAt)), h("td", { class: "mono" }, clip(json(sig.payload), 80)))))))] : null,
    t.result !== undefined && t.status === "completed" ? [h("h2", {}, "Result"), h("div", { class: "card" }, h("pre", { class: "value" }, json(t.result)))] : null,
    t.error ? [h("h2", {}, "Error"), h("div", { class: "card error" }, h("pre", { class: "value" }, t.error.type + ": " + t.error.message))] : null);

  // Bar widths are set through the CSSOM: the page's Content-Security-Policy forbids inline style attributes.
  view.querySelectorAll(".bar i[data-w]").forEach(bar => { bar.style.width = Math.max(2, Number(bar.dataset.w) * 0.9) + "px"; });
  if (!["completed", "failed", "cancelled", "compensated"].includes(t.status)) watchRun(t.runId);
}

// ---- one run's live events: the run's own event stream (GET /api/runs/{id}/events), resumed from the last event seen ----

let runWatch = null;

// The text that running steps have streamed so far (model replies as they arrive), shown above the timeline.
function liveOutput(t) {
  const w = runWatch && runWatch.runId === t.runId ? runWatch : null;
  const steps = w ? Object.keys(w.live) : [];
  if (steps.length === 0) return null;
  return [h("h2", {}, "Live output"), h("div", { class: "card" }, steps.map(step =>
    h("div", { class: "live-step", "data-step": step }, h("div", { class: "kind" }, "step " + step + " " + (w.live[step].name || "")), h("pre", { class: "value live-output" }, w.live[step].text))))];
}

function stopRunWatch() {
  if (runWatch) runWatch.controller.abort();
  runWatch = null;
}

function watchRun(runId) {
  if (runWatch && runWatch.runId === runId) return;
  stopRunWatch();
  const w = { runId, controller: new AbortController(), cursor: null, live: {}, ended: false };
  runWatch = w;
  (async () => {
    while (runWatch === w && !w.ended) {
      try {
        const extra = { Accept: "text/event-stream" };
        if (w.cursor !== null) extra["Last-Event-ID"] = w.cursor;
        const response = await fetch("/api/runs/" + encodeURIComponent(runId) + "/events", { headers: headers(extra), signal: w.controller.signal });
        // 204: the run has finished and everything was seen; 404: it is gone.
        if (response.status === 204 || response.status === 404) break;
        if (!response.ok) throw new Error(String(response.status));
        await readEventBlocks(response, block => onRunEvent(w, block));
      } catch {
        if (w.controller.signal.aborted) return;
      }
      if (runWatch === w && !w.ended) await new Promise(resolve => setTimeout(resolve, 2000));
    }
  })();
}

function onRunEvent(w, chunk) {
  let id = null;
  const data = [];
  for (const line of chunk.split("\n")) {
    if (line.startsWith("id:")) id = line.slice(3).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
  }
  if (id === null || data.length === 0 || runWatch !== w) return;
  w.cursor = id;
  const e = JSON.parse(data.join("\n"));
  if (e.kind === "step.progress") {
    const live = w.live[e.step] || (w.live[e.step] = { name: e.name, text: "" });
    live.text += e.text || "";
    const shown = view.querySelector(".live-step[data-step='" + e.step + "'] .live-output");
    if (shown) shown.textContent = live.text;
    else scheduleRefresh(0);
    return;
  }
  if (e.kind === "step.started" || e.kind === "step.completed" || e.kind === "step.failed") delete w.live[e.step];
  if (e.kind === "run.completed" || e.kind === "run.failed" || e.kind === "run.cancelled") w.ended = true;
  scheduleRefresh(100);
}

// A model step as its reply and the tool calls it asked for; a tool step as its name, arguments and result.
function aiView(v) {
  if (v.tool) return h("span", { class: "tool" }, h("code", {}, v.tool + "(" + (v.arguments === undefined || v.arguments === null ? "" : clip(readable(v.arguments), 50)) + ")"), " → ", h("code", { title: readable(v.result) }, clip(readable(v.result), 80)));
  const parts = [];
  if (v.text) parts.push(h("div", { class: "reply", title: v.text }, "“" + clip(v.text.replace(/\s+/g, " "), 100) + "”"));
  (v.toolCalls || []).forEach(c => parts.push(h("div", { class: "call" }, "asks for ", h("code", {}, c.name + "(" + (c.arguments ? clip(readable(c.arguments), 50) : "") + ")"))));
  return parts;
}

// Compact JSON; a string that holds JSON is shown as that JSON.
function readable(value) {
  if (typeof value === "string" && /^[\[{]/.test(value)) {
    try { value = JSON.parse(value); } catch { /* plain text */ }
  }
  return value === undefined ? "-" : JSON.stringify(value);
}

function notes(t, s) {
  const parts = [];
  if (s.state === "inDoubt") {
    parts.push(h("div", {}, "May or may not have happened (policy " + (s.inDoubtPolicy || "askHuman") + "). Resolve:"));
    parts.push(h("div", { class: "actions" },
      resolveButton(t, s, "done", "Done"), resolveButton(t, s, "retry", "Retry"), resolveButton(t, s, "abort", "Abort")));
  }
  if (s.childRunId) parts.push(h("div", { class: "child" }, s.state === "waiting" ? "Waits for child run " : "Child run ", runLink(s.childRunId), s.childStatus ? " · " + s.childStatus : ""));
  else if (s.state === "waiting") parts.push(s.approvalGate ? "Waits for approval '" + s.approvalGate + "'" : s.kind === "timer" ? "Sleeping" : "Waits for signal '" + s.name + "'");
  if (s.dueAt && (s.state === "waiting" || s.state === "running")) parts.push(" · due " + when(s.dueAt));
  if (s.decision) parts.push((s.decision.approved ? "Approved" : "Rejected") + " by " + (s.decision.approver || "unnamed") + (s.decision.comment ? " — “" + s.decision.comment + "”" : ""));
  else if (s.signalName && s.state === "completed") parts.push("Signal from " + (s.sender || "unnamed") + ": " + clip(json(s.result), 60));
  else if (t.views && t.views[s.step]) parts.push(...[].concat(aiView(t.views[s.step])));
  else if (s.result !== undefined && s.state === "completed") parts.push("→ " + clip(readable(s.result), 60));
  if (s.cacheHit) parts.push(h("span", { class: "cachehit" }, " · cache hit: answered from " + (t.fork ? t.fork.source : "the source run")));
  else if (s.resolvedBy) parts.push(" · resolved by " + s.resolvedBy);
  if (s.error) parts.push(h("div", {}, (s.state === "retrying" || s.attempts > 1 && s.state === "completed" ? "Earlier attempt failed: " : "Failed: ") + clip(s.error.message, 90)));
  return parts;
}

function resolveButton(t, s, action, label) {
  return h("button", { class: "act neutral", "data-resolve": action, onclick: async event => {
    let body = { action };
    if (action === "done") {
      const text = prompt("The effect happened. Its result as JSON (leave empty for none):", "");
      if (text === null) return;
      try { body.result = text.trim() ? JSON.parse(text) : null; } catch { toast("That is not valid JSON.", true); return; }
    }
    event.target.disabled = true;
    try {
      const result = await api("/api/runs/" + encodeURIComponent(t.runId) + "/steps/" + s.step + "/resolve", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      toast("Resolved step " + s.step + " as " + action + " (" + result.sender + ").");
      scheduleRefresh(0);
    } catch (error) {
      toast("Refused: " + error.message, true);
      event.target.disabled = false;
    }
  } }, label);
}

// ---- routing, token, live updates ----

async function render() {
  try {
    const match = location.hash.match(/^#\/runs\/([^?]+)/);
    if (match) await showRun(decodeURIComponent(match[1]));
    else await showList();
  } catch (error) {
    show(h("div", { class: "card empty" }, "Could not load: " + error.message));
  }
}

function scheduleRefresh(delay) {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(render, delay === undefined ? 250 : delay);
}

async function loadSession() {
  const who = document.getElementById("who");
  try {
    const session = await api("/api/session");
    document.getElementById("store").textContent = session.store;
    who.textContent = session.user ? "signed in as " + session.user : session.acceptsChanges ? "read-only (no token)" : "read-only dashboard";
    who.className = "who" + (session.user ? " signed" : "");
  } catch (error) {
    who.textContent = error.status === 401 ? "token refused" : "offline";
    who.className = "who";
  }
}

document.getElementById("token-form").addEventListener("submit", async event => {
  event.preventDefault();
  const input = document.getElementById("token");
  if (input.value.trim()) sessionStorage.setItem(TOKEN_KEY, input.value.trim());
  else sessionStorage.removeItem(TOKEN_KEY);
  input.value = "";
  await loadSession();
  scheduleRefresh(0);
});

// Server-sent events read through fetch, so the bearer token travels in a header rather than in the URL.
async function listen() {
  const live = document.getElementById("live");
  for (;;) {
    let off = "Live updates: off", wait = 3000;
    try {
      const response = await fetch("/api/events", { headers: headers({ Accept: "text/event-stream" }) });
      if (!response.ok) {
        // 503 when the dashboard streams to as many clients as it allows: say so, and wait as long as it asks.
        const body = await response.json().catch(() => ({}));
        if (body.error) off += " (" + body.error + ")";
        wait = 1000 * (Number(response.headers.get("Retry-After")) || 3);
        throw new Error(String(response.status));
      }
      live.classList.add("on");
      live.title = "Live updates: on";
      await readEventBlocks(response, onEvent);
    } catch {
      // Reconnect below.
    }
    live.classList.remove("on");
    live.title = off;
    await new Promise(resolve => setTimeout(resolve, wait));
  }
}

function onEvent(chunk) {
  let type = "message";
  const data = [];
  for (const line of chunk.split("\n")) {
    if (line.startsWith("event:")) type = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
  }
  if (type !== "runs") return;
  const change = JSON.parse(data.join("\n"));
  if (currentRun === null || change.runs.some(r => r.runId === currentRun) || change.removed.includes(currentRun)) scheduleRefresh();
}

window.addEventListener("hashchange", () => scheduleRefresh(0));
loadSession();
render();
listen();
