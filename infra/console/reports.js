// Administration views about sending and measuring: WhatsApp templates and broadcasts (`broadcasts`), the reports
// over local days, the monthly executive summary and the CSV export (`reports`), and the month's usage, quotas,
// AWS cost and the quote calculator (`usage`). Charts are hand-drawn inline SVG (no library, no inline styles: the
// CSP allows SVG presentation attributes only) and always come with their numbers in a table.

import {
  addStrings, api, attempt, clear, dialog, errorText, field, fmtDuration, fmtNumber, fmtTime, h, register, state, t,
  table, templateSlots, toast, badge, isoDay, keepFocus, kpi, setParams, tOr,
} from "./core.js";

const SVG_NS = "http://www.w3.org/2000/svg";
const DEFAULT_ZONE = "America/Argentina/Buenos_Aires";
const ZONES = [DEFAULT_ZONE, "America/Mexico_City", "America/Bogota", "America/Lima", "America/Santiago",
  "America/Caracas", "America/Montevideo", "America/Asuncion", "America/La_Paz", "America/Guayaquil",
  "America/Panama", "America/Costa_Rica", "America/Guatemala", "America/Santo_Domingo", "America/Sao_Paulo",
  "America/New_York", "Europe/Madrid", "UTC"];

// -- small helpers ---------------------------------------------------------------------------------------------
const locale = () => (state.lang === "es" ? "es-AR" : "en-US");

// An SVG element (h() makes HTML elements; SVG needs its namespace).
function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value !== null && value !== undefined && value !== false) el.setAttribute(key, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}


// A translation with a fallback to the raw key (for values the server may add later).
function label(prefix, key) {
  return tOr(`${prefix}.${key}`, String(key));
}

function money(value, currency = "USD", digits = 2) {
  if (value === null || value === undefined || value === "") return "—";
  return Number(value).toLocaleString(locale(), { style: "currency", currency: currency || "USD",
    minimumFractionDigits: digits, maximumFractionDigits: digits });
}
const pct = (value, digits = 1) => (value === null || value === undefined ? "—" : `${fmtNumber(value, digits)} %`);
const dur = (value) => (value === null || value === undefined ? "—" : fmtDuration(value));
const sum = (values) => values.reduce((a, b) => a + (Number(b) || 0), 0);
const splitList = (text) => String(text || "").split(/[\s,;]+/).map((x) => x.trim()).filter(Boolean);

function addDays(iso, days) {
  const [y, m, d] = iso.split("-").map(Number);
  return isoDay(new Date(y, m - 1, d + days));
}
// A moment written in a given IANA zone (e.g. a broadcast's schedule in the zone it was set in).
function fmtIn(iso, zone) {
  if (!iso) return "";
  try {
    return `${new Date(iso).toLocaleString(locale(), { dateStyle: "short", timeStyle: "short", timeZone: zone || undefined })}${zone ? ` (${zone})` : ""}`;
  } catch {
    return fmtTime(iso);
  }
}
const thisMonthUtc = () => new Date().toISOString().slice(0, 7);
const thisMonthLocal = () => isoDay(new Date()).slice(0, 7);
function shortDay(text) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(text));
  return m ? `${m[3]}/${m[2]}` : String(text);
}

const kpiGrid = (items, testid) => h("div", { class: "grid", "data-testid": testid }, items);


// A {key: count} breakdown as a two-column table, keys translated under `prefix`.
function breakdown(caption, data, prefix, { format = (v) => fmtNumber(v), testid } = {}) {
  const rows = Object.entries(data || {});
  return table([
    { label: t("rep.col.item"), value: ([k]) => label(prefix, k) },
    { label: t("rep.col.count"), class: "num", value: ([, v]) => format(v) },
  ], rows, { caption, empty: t("rep.no_data"), testid });
}



function printButton() {
  return h("button", { type: "button", class: "no-print", onclick: () => window.print() }, t("rep.print"));
}

// -- charts ----------------------------------------------------------------------------------------------------
// The axis' top: a round number at or above `value`; for whole numbers an even one, so that the middle tick is
// a whole number too.
function niceMax(value, whole = false) {
  if (!(value > 0)) return whole ? 2 : 1;
  const power = 10 ** Math.floor(Math.log10(value));
  const steps = whole ? [1, 2, 4, 6, 8, 10] : [1, 2, 2.5, 5, 10];
  for (const step of steps) {
    const top = step * power;
    if (top >= value && (!whole || (top >= 2 && Number.isInteger(top / 2)))) return top;
  }
  return 10 * power;
}

// barChart([{label, value, value2?, kind?}], {label, names, format, total}) -> <svg class="chart" role="img">.
// One bar per entry (class "bar"), or two side by side (classes "bar" and "bar2", named by `names` in a legend)
// when entries have `value2`. `label` titles the chart; the aria-label adds a summary (totals, the largest value)
// so that the image has a text alternative; callers show the numbers in a table as well. `format` writes values
// (axis, tooltips, summary); `total: false` leaves totals out of the summary (averages do not add up).
export function barChart(series, { label: title = "", names = [], format = (v) => fmtNumber(v, 1), total = true,
  max: fixedMax, testid } = {}) {
  const H = 210, L = 52, R = 8, B = 30;
  const W = Math.max(420, Math.min(1000, series.length * 64 + L + R));
  const two = series.some((p) => p.value2 !== undefined);
  const T = two ? 24 : 12;
  const pw = W - L - R, ph = H - T - B;
  const values = series.flatMap((p) => (two ? [p.value, p.value2] : [p.value]))
    .filter((v) => v !== null && v !== undefined).map(Number);
  const max = fixedMax || niceMax(Math.max(0, ...values), values.every((v) => Number.isInteger(v)));
  const n = Math.max(series.length, 1);
  const gw = pw / n;
  const per = two ? 2 : 1;
  const bw = Math.max(1, Math.min(48, (gw * 0.74) / per));
  const y = (v) => T + ph - (ph * (Number(v) || 0)) / max;
  const every = Math.ceil(n / 14);
  const kids = [];
  for (const f of [0, 0.5, 1]) {
    const yy = y(max * f);
    kids.push(svg("line", { x1: L, x2: W - R, y1: yy, y2: yy, stroke: f ? "#e3e7ec" : "#8a939c", "stroke-width": 1 }));
    kids.push(svg("text", { x: L - 4, y: yy + 3, "text-anchor": "end" }, format(max * f)));
  }
  series.forEach((p, i) => {
    const x0 = L + i * gw + (gw - bw * per) / 2;
    const bars = two ? [[p.value, "bar", names[0]], [p.value2, "bar2", names[1]]] : [[p.value, p.kind || "bar", names[0]]];
    bars.forEach(([v, cls, name], j) => {
      if (v === null || v === undefined) return;
      const top = y(v);
      const attrs = { class: cls, x: x0 + j * bw, y: top, width: bw, height: Math.max(0, T + ph - top) };
      if (cls === "bar-alert") attrs.fill = "#b3261e";
      kids.push(svg("rect", attrs, svg("title", {}, `${p.label}${name ? ` · ${name}` : ""}: ${format(v)}`)));
    });
    if (i % every === 0) {
      kids.push(svg("text", { x: L + i * gw + gw / 2, y: H - B + 14, "text-anchor": "middle" },
        shortDay(p.label).slice(0, 16)));
    }
  });
  if (!values.some((v) => v > 0)) {
    kids.push(svg("text", { x: L + pw / 2, y: T + ph / 2, "text-anchor": "middle" }, t("chart.no_data")));
  }
  if (two) {
    names.slice(0, 2).forEach((name, j) => {
      const x = L + j * 170;
      kids.push(svg("rect", { class: j ? "bar2" : "bar", x, y: 6, width: 10, height: 10 }),
        svg("text", { x: x + 14, y: 15 }, name));
    });
  }
  const summary = [];
  for (let j = 0; j < per; j += 1) {
    const pick = (p) => (j ? p.value2 : p.value);
    const known = series.filter((p) => pick(p) !== null && pick(p) !== undefined);
    if (!known.length) { summary.push(`${names[j] ? `${names[j]}: ` : ""}${t("chart.no_data")}`); continue; }
    const top = known.reduce((a, b) => (Number(pick(b)) > Number(pick(a)) ? b : a));
    const parts = [];
    if (total) parts.push(t("chart.total", { value: format(sum(known.map(pick))) }));
    parts.push(t("chart.max", { value: format(pick(top)), at: top.label }));
    summary.push(`${names[j] ? `${names[j]}: ` : ""}${parts.join(", ")}`);
  }
  const aria = `${title}. ${t("chart.items", { n: series.length })}. ${summary.join("; ")}.`;
  return svg("svg", { class: "chart", role: "img", "aria-label": aria, viewBox: `0 0 ${W} ${H}`,
    "data-testid": testid }, kids);
}

// A chart and its numbers: a heading, the SVG, and the same figures in a table.
function chartBlock(title, series, { names = [], format, total = true, max, testid, labelHeader } = {}) {
  const fmt = format || ((v) => fmtNumber(v, 1));
  const two = series.some((p) => p.value2 !== undefined);
  const columns = [{ label: labelHeader || t("rep.col.item"), value: (p) => p.label }];
  columns.push({ label: names[0] || t("rep.col.value"), class: "num", value: (p) => (p.value === null || p.value === undefined ? "—" : fmt(p.value)) });
  if (two) columns.push({ label: names[1] || t("rep.col.value"), class: "num", value: (p) => (p.value2 === null || p.value2 === undefined ? "—" : fmt(p.value2)) });
  return h("section", { class: "card", "data-testid": testid, "aria-label": title },
    h("h3", {}, title),
    series.length ? barChart(series, { label: title, names, format: fmt, total, max, testid: testid ? `${testid}-svg` : null }) : null,
    h("details", {}, h("summary", {}, t("chart.numbers")),
      table(columns, series, { caption: title, empty: t("rep.no_data") })));
}

// ==============================================================================================================
// broadcasts: WhatsApp templates and broadcasts
// ==============================================================================================================
const ACTIVE = new Set(["preparing", "sending"]);
const STATUS_BADGE = { draft: "offline", preparing: "busy", ready: "busy", scheduled: "busy", sending: "online",
  paused: "break", completed: "online", cancelled: "offline", failed: "urgent" };
const COUNT_KEYS = ["queued", "sent", "delivered", "read", "replied", "failed", "unconfirmed", "excluded"];
const ERROR_CLASSES = ["transient", "throttled", "pair_limit", "marketing_cap", "permanent", "template", "unconfirmed",
  "opted_out"];
const TEMPLATE_STATUSES = ["APPROVED", "PENDING", "REJECTED", "PAUSED", "DISABLED"];
const CONTACT_FIELDS = ["name", "first_name", "phone", "email", "language", "lifecycle", "contact_id"];

// Worth refreshing: preparing or sending, scheduled (it starts by itself), or completed in the last 5 minutes
// (Meta's delivered, read and reply statuses keep arriving after the last send).
const live = (b) => ACTIVE.has(b.status) || b.status === "scheduled"
  || (b.status === "completed" && b.completed_at && Date.now() - new Date(b.completed_at).getTime() < 5 * 60 * 1000);
const statusBadge = (status, testid) => badge(label("bc.status", status), STATUS_BADGE[status] || "", testid);
const tplBadge = (status) => badge(label("bc.tstatus", status),
  status === "APPROVED" ? "online" : status === "PENDING" ? "busy" : "break");


function componentsView(tpl) {
  const parts = (tpl.components || []).map((c) => h("div", { class: "card" },
    h("h3", {}, label("bc.comp", String(c.type || "").toUpperCase()), c.format ? ` · ${c.format}` : ""),
    c.text ? h("pre", {}, c.text) : null,
    c.example && !c.text ? h("p", { class: "hint" }, t("bc.comp.example_media")) : null,
    (c.buttons || []).length ? h("ul", {}, c.buttons.map((b) => h("li", {},
      badge(b.type), " ", b.text || "", b.url ? ` — ${b.url}` : "", b.phone_number ? ` — ${b.phone_number}` : ""))) : null));
  const slots = templateSlots(tpl);
  return h("div", { "data-testid": "template-components" },
    h("dl", { class: "props" },
      h("dt", {}, t("bc.tpl.name")), h("dd", {}, tpl.name),
      h("dt", {}, t("bc.tpl.language")), h("dd", {}, tpl.language),
      h("dt", {}, t("bc.tpl.category")), h("dd", {}, label("bc.cat", tpl.category),
        tpl.correct_category ? ` (${t("bc.tpl.recategorized", { category: label("bc.cat", tpl.correct_category) })})` : ""),
      h("dt", {}, t("bc.tpl.status")), h("dd", {}, tplBadge(tpl.status)),
      h("dt", {}, t("bc.tpl.quality")), h("dd", {}, label("bc.quality", tpl.quality)),
      tpl.rejected_reason ? [h("dt", {}, t("bc.tpl.rejected")), h("dd", {}, tpl.rejected_reason)] : null,
      tpl.status_detail ? [h("dt", {}, t("bc.tpl.detail")), h("dd", {}, tpl.status_detail)] : null,
      h("dt", {}, t("bc.tpl.variables")), h("dd", {}, slots.length ? slots.map((s) => s.slot).join(", ") : t("bc.tpl.no_variables"))),
    parts,
    (tpl.lint || []).length ? h("div", { class: "card" }, h("h3", {}, t("bc.tpl.lint")),
      h("ul", {}, tpl.lint.map((f) => h("li", { class: f.severity === "error" ? "error" : "" },
        `${label("bc.severity", f.severity)} · ${f.rule}: ${f.message}`)))) : null);
}

function audienceText(a) {
  if (!a) return "—";
  const parts = [];
  if (a.segment_id) parts.push(t("bc.aud.segment_is", { id: a.segment_id }));
  if ((a.tags || []).length) parts.push(t("bc.aud.tags_are", { tags: a.tags.join(", ") }));
  if ((a.contact_ids || []).length) parts.push(t("bc.aud.contacts_n", { n: a.contact_ids.length }));
  if (a.list_file_id) parts.push(t("bc.aud.file_is", { id: a.list_file_id }));
  if ((a.exclude_tags || []).length) parts.push(t("bc.aud.exclude_are", { tags: a.exclude_tags.join(", ") }));
  return parts.join(" · ");
}

async function renderBroadcasts(root, params) {
  const ctx = { templates: new Map(), list: [], cursor: null, selected: null, detail: null, sig: "", failSig: "",
    busy: false, timer: null, gone: false };
  const all = (await api("GET", "/v1/channels")).items || [];
  const channels = all.filter((c) => c.kind === "whatsapp");
  const channelName = (id) => {
    const c = all.find((x) => x.channel_id === id);
    return c ? `${c.display_phone_number || c.channel_id}` : id;
  };
  const channelOptions = () => channels.map((c) => h("option", { value: c.channel_id },
    `${c.display_phone_number || c.channel_id} · ${c.channel_id}${c.enabled ? "" : ` (${t("bc.disabled")})`}`));

  // -- templates ------------------------------------------------------------------------------------------------
  const tplChannel = h("select", { "data-testid": "tpl-channel", onchange: () => loadTemplates() }, channelOptions());
  const tplStatus = h("select", { "data-testid": "tpl-status", onchange: () => showTemplates() },
    h("option", { value: "" }, t("bc.tpl.all")), TEMPLATE_STATUSES.map((s) => h("option", { value: s }, label("bc.tstatus", s))));
  const tplBox = h("div", { "data-testid": "templates-box" });
  const syncButton = h("button", { type: "button", class: "primary", "data-testid": "tpl-sync", onclick: syncTemplates,
    disabled: !channels.length }, t("bc.tpl.sync"));
  const tplCard = h("section", { class: "card", "aria-labelledby": "bc-tpl-title" },
    h("div", { class: "row" }, h("h2", { id: "bc-tpl-title" }, t("bc.tpl.title")), h("span", { class: "spacer" }), syncButton),
    channels.length ? h("div", { class: "row" }, field(t("bc.channel"), tplChannel), field(t("bc.tpl.filter_status"), tplStatus))
      : h("p", { class: "empty" }, t("bc.no_whatsapp")),
    tplBox);

  async function templatesOf(channelId, fresh = false) {
    if (!fresh && ctx.templates.has(channelId)) return ctx.templates.get(channelId);
    const items = (await api("GET", `/v1/channels/${encodeURIComponent(channelId)}/templates`)).items || [];
    items.sort((a, b) => `${a.name}#${a.language}`.localeCompare(`${b.name}#${b.language}`));
    ctx.templates.set(channelId, items);
    return items;
  }

  async function loadTemplates(fresh = false) {
    if (!channels.length) return;
    clear(tplBox, h("p", { role: "status" }, t("common.loading")));
    try {
      await templatesOf(tplChannel.value, fresh);
      showTemplates();
    } catch (err) {
      clear(tplBox, h("p", { class: "error", role: "alert" }, errorText(err)));
    }
  }

  function showTemplates() {
    const items = (ctx.templates.get(tplChannel.value) || []).filter((x) => !tplStatus.value || x.status === tplStatus.value);
    clear(tplBox, table([
      { label: t("bc.tpl.name"), value: (x) => h("code", {}, x.name) },
      { label: t("bc.tpl.language"), value: (x) => x.language },
      { label: t("bc.tpl.category"), value: (x) => label("bc.cat", x.category) },
      { label: t("bc.tpl.status"), value: (x) => tplBadge(x.status) },
      { label: t("bc.tpl.quality"), value: (x) => label("bc.quality", x.quality) },
      { label: t("bc.tpl.lint"), class: "num", value: (x) => ((x.lint || []).length ? fmtNumber(x.lint.length) : "—") },
      { label: t("bc.tpl.synced_at"), value: (x) => fmtTime(x.synced_at || x.updated_at) },
      { label: t("bc.actions"), value: (x) => h("div", { class: "row" },
        h("button", { type: "button", "data-testid": "tpl-view", "aria-label": t("bc.tpl.view_named", { name: `${x.name} (${x.language})` }),
          onclick: () => dialog(t("bc.tpl.view_title", { name: x.name, language: x.language }), componentsView(x),
            { submit: t("common.close"), testid: "template-dialog" }) }, t("bc.tpl.view")),
        x.status === "APPROVED" ? h("button", { type: "button", "data-testid": "tpl-use",
          "aria-label": t("bc.tpl.use_named", { name: `${x.name} (${x.language})` }),
          onclick: () => openForm({ channel_id: x.channel_id, template: `${x.name}|${x.language}` }) }, t("bc.tpl.use")) : null) },
    ], items, { caption: t("bc.tpl.caption", { channel: channelName(tplChannel.value), n: items.length }),
      empty: t("bc.tpl.empty"), testid: "templates", rowAttrs: (x) => ({ "data-name": x.name, "data-language": x.language }) }));
  }

  async function syncTemplates() {
    syncButton.disabled = true;
    const result = await attempt(() => api("POST", `/v1/channels/${encodeURIComponent(tplChannel.value)}/templates/sync`));
    syncButton.disabled = false;
    if (result) {
      toast(t("bc.tpl.synced", result), "ok");
      await loadTemplates(true);
    }
  }

  // -- the list of broadcasts ----------------------------------------------------------------------------------
  const listBox = h("div", { "data-testid": "broadcasts-box" });
  const moreButton = h("button", { type: "button", "data-testid": "bc-more", hidden: true,
    onclick: () => loadList({ more: true }) }, t("bc.more"));
  const listCard = h("section", { class: "card", "aria-labelledby": "bc-list-title" },
    h("div", { class: "row" }, h("h2", { id: "bc-list-title" }, t("bc.list.title")), h("span", { class: "spacer" }),
      h("button", { type: "button", "data-testid": "bc-list-refresh", onclick: () => loadList() }, t("common.refresh")),
      h("button", { type: "button", class: "primary", "data-testid": "bc-new", disabled: !channels.length,
        onclick: () => openForm({}) }, t("bc.new"))),
    listBox, moreButton);

  function progressCell(b) {
    const c = b.counts || {};
    const done = (c.sent || 0) + (c.failed || 0) + (c.unconfirmed || 0);
    return h("div", {},
      h("progress", { max: 1, value: Math.min(1, b.progress || 0), "aria-label": t("bc.progress_of", { name: b.name }) }),
      " ", h("small", {}, t("bc.progress_text", { done: fmtNumber(done), total: fmtNumber(c.total || 0), pct: fmtNumber(100 * (b.progress || 0)) })));
  }

  function showList() {
    keepFocus(listBox, () => clear(listBox, table([
      { label: t("bc.name"), value: (b) => b.name },
      { label: t("bc.template"), value: (b) => `${b.template_name} · ${b.template_language}` },
      { label: t("bc.status_col"), value: (b) => statusBadge(b.status) },
      { label: t("bc.progress"), value: progressCell },
      { label: t("bc.count.sent"), class: "num", value: (b) => fmtNumber((b.counts || {}).sent) },
      { label: t("bc.count.read"), class: "num", value: (b) => fmtNumber((b.counts || {}).read) },
      { label: t("bc.count.failed"), class: "num", value: (b) => fmtNumber((b.counts || {}).failed) },
      { label: t("bc.created"), value: (b) => fmtTime(b.created_at) },
      { label: t("bc.actions"), value: (b) => h("button", { type: "button", "data-testid": "bc-open",
        "data-focus-key": `open-${b.broadcast_id}`, "aria-label": t("bc.open_named", { name: b.name }),
        "aria-pressed": b.broadcast_id === ctx.selected ? "true" : "false",
        onclick: () => select(b.broadcast_id) }, t("bc.open")) },
    ], ctx.list, { caption: t("bc.list.caption"), empty: t("bc.list.empty"), testid: "broadcasts",
      rowAttrs: (b) => ({ "data-testid": "broadcast-row", "data-id": b.broadcast_id, "data-status": b.status,
        "aria-current": b.broadcast_id === ctx.selected ? "true" : null }) })));
    moreButton.hidden = !ctx.cursor;
  }

  async function loadList({ more = false, quiet = false } = {}) {
    try {
      const page = await api("GET", "/v1/broadcasts", null, { query: { limit: 25, cursor: more ? ctx.cursor : null } });
      const items = page.items || [];
      if (more) {
        ctx.list.push(...items.filter((b) => !ctx.list.some((x) => x.broadcast_id === b.broadcast_id)));
        ctx.cursor = page.next_cursor || null;
      } else if (quiet && ctx.list.length > items.length) {
        // a refresh while more pages are shown: update the first page in place, keep the rest
        const fresh = new Map(items.map((b) => [b.broadcast_id, b]));
        ctx.list = [...items, ...ctx.list.filter((b) => !fresh.has(b.broadcast_id))];
      } else {
        ctx.list = items;
        ctx.cursor = page.next_cursor || null;
      }
      showList();
    } catch (err) {
      if (!quiet) clear(listBox, h("p", { class: "error", role: "alert" }, errorText(err)));
    }
  }

  // -- the create form -----------------------------------------------------------------------------------------
  const formCard = h("section", { class: "card", "aria-labelledby": "bc-form-title", "data-testid": "broadcast-form", hidden: true });

  async function openForm(prefill) {
    const error = h("p", { class: "error", role: "alert", "data-testid": "bc-form-error" });
    const name = h("input", { type: "text", name: "name", required: true, maxlength: 120, "data-testid": "bc-name",
      autocomplete: "off" });
    const channel = h("select", { name: "channel_id", "data-testid": "bc-channel", onchange: () => fillTemplates() }, channelOptions());
    if (prefill.channel_id) channel.value = prefill.channel_id;
    const template = h("select", { name: "template", required: true, "data-testid": "bc-template", onchange: () => fillVariables() });
    const varsBox = h("div", { "data-testid": "bc-variables" });
    let varControls = [];

    const audKind = h("select", { "data-testid": "bc-audience-kind", onchange: () => showAudience() },
      ["segment", "tags", "contacts", "file"].map((k) => h("option", { value: k }, t(`bc.aud.${k}`))));
    audKind.value = "tags";
    const segment = h("select", { "data-testid": "bc-segment" });
    const tags = h("input", { type: "text", "data-testid": "bc-tags", autocomplete: "off", placeholder: "clientes, vip" });
    const contacts = h("textarea", { rows: 3, "data-testid": "bc-contacts" });
    const pick = h("button", { type: "button", "data-testid": "bc-pick-contacts", onclick: () => pickContacts(contacts) }, t("bc.aud.pick"));
    const file = h("input", { type: "text", "data-testid": "bc-file", autocomplete: "off" });
    const country = h("input", { type: "text", "data-testid": "bc-country", maxlength: 2, pattern: "[A-Za-z]{2}", placeholder: "AR" });
    const exclude = h("input", { type: "text", "data-testid": "bc-exclude-tags", autocomplete: "off" });
    // (a .field is display:flex, which beats the hidden attribute: hide plain wrappers instead)
    const segField = h("div", {}, field(t("bc.aud.segment"), segment));
    const tagsField = h("div", {}, field(t("bc.aud.tags"), tags, t("bc.aud.list_hint")));
    const contactsField = h("div", {}, field(t("bc.aud.contacts"), contacts, t("bc.aud.contacts_hint")), pick);
    const fileField = h("div", {}, field(t("bc.aud.file"), file, t("bc.aud.file_hint")), field(t("bc.aud.country"), country, t("bc.aud.country_hint")));
    const showAudience = () => {
      segField.hidden = audKind.value !== "segment";
      tagsField.hidden = audKind.value !== "tags";
      contactsField.hidden = audKind.value !== "contacts";
      fileField.hidden = audKind.value !== "file";
      if (audKind.value === "segment" && !segment.options.length) loadSegments();
    };
    async function loadSegments() {
      try {
        const items = (await api("GET", "/v1/segments")).items || [];
        clear(segment, items.length ? items.map((s) => h("option", { value: s.segment_id }, s.name))
          : h("option", { value: "" }, t("bc.aud.no_segments")));
      } catch (err) {
        clear(segment, h("option", { value: "" }, errorText(err)));
      }
    }

    const rate = h("input", { type: "number", min: 1, max: 1000, step: 1, "data-testid": "bc-rate" });
    const attribution = h("input", { type: "number", min: 1, max: 720, step: 1, value: "72", "data-testid": "bc-attribution" });
    const replyTag = h("input", { type: "text", "data-testid": "bc-reply-tag", autocomplete: "off" });
    const replyFlow = h("input", { type: "text", "data-testid": "bc-reply-flow", autocomplete: "off" });
    const prepareNow = h("input", { type: "checkbox", checked: true, "data-testid": "bc-prepare-now" });
    const fieldList = h("datalist", { id: "bc-field-names" }, CONTACT_FIELDS.map((f) => h("option", { value: f }, label("bc.field", f))));
    api("GET", "/v1/fields").then((res) => {
      for (const f of res.items || []) fieldList.append(h("option", { value: f.key }, f.label));
    }).catch(() => { /* custom fields are a convenience */ });

    async function fillTemplates() {
      clear(template, h("option", { value: "" }, t("common.loading")));
      try {
        const items = await templatesOf(channel.value);
        clear(template, items.length ? items.map((x) => h("option", { value: `${x.name}|${x.language}`, disabled: x.status !== "APPROVED" },
          `${x.name} · ${x.language} · ${label("bc.cat", x.category)} · ${label("bc.tstatus", x.status)}`))
          : h("option", { value: "" }, t("bc.form.no_templates")));
        if (prefill.template && items.some((x) => `${x.name}|${x.language}` === prefill.template)) template.value = prefill.template;
        else {
          const first = items.find((x) => x.status === "APPROVED");
          template.value = first ? `${first.name}|${first.language}` : "";
        }
      } catch (err) {
        clear(template, h("option", { value: "" }, errorText(err)));
      }
      fillVariables();
    }

    function currentTemplate() {
      const [tname, tlang] = String(template.value || "").split("|");
      return (ctx.templates.get(channel.value) || []).find((x) => x.name === tname && x.language === tlang) || null;
    }

    function fillVariables() {
      const tpl = currentTemplate();
      varControls = [];
      if (!tpl) { clear(varsBox); return; }
      const slots = templateSlots(tpl);
      const rows = slots.map((s) => {
        const source = h("select", { "data-testid": `bc-var-source-${s.slot}` },
          h("option", { value: "value" }, t("bc.var.value")), h("option", { value: "field" }, t("bc.var.field")));
        const input = h("input", { type: "text", "data-testid": `bc-var-${s.slot}`, autocomplete: "off",
          placeholder: s.example ? t("bc.var.example", { example: s.example }) : "" });
        const fallback = h("input", { type: "text", "data-testid": `bc-var-default-${s.slot}`, autocomplete: "off" });
        source.addEventListener("change", () => {
          if (source.value === "field") input.setAttribute("list", "bc-field-names"); else input.removeAttribute("list");
        });
        if (s.slot === "body.1" && /^[A-ZÁÉÍÓÚÑ][a-záéíóúñ]+$/.test(String(s.example || ""))) {
          // the usual "Hola {{1}}" greeting: the contact's name
          source.value = "field"; input.value = "name"; input.setAttribute("list", "bc-field-names");
        }
        varControls.push({ slot: s, source, input, fallback });
        return h("fieldset", { class: "card" },
          h("legend", {}, `${s.slot} · ${label("bc.var.kind", s.kind)}${s.text ? ` (${s.text})` : ""}${s.required ? "" : ` — ${t("bc.var.optional")}`}`),
          h("div", { class: "row" }, field(t("bc.var.source"), source), field(t("bc.var.input"), input,
            ["image", "video", "document"].includes(s.kind) ? t("bc.var.media_hint") : s.kind === "location" ? t("bc.var.location_hint") : null),
          field(t("bc.var.default"), fallback, t("bc.var.default_hint"))));
      });
      clear(varsBox, h("h3", {}, t("bc.form.variables")),
        rows.length ? rows : h("p", { class: "empty" }, t("bc.tpl.no_variables")),
        h("details", {}, h("summary", {}, t("bc.form.template_text")), componentsView(tpl)));
    }

    function body() {
      const [tname, tlang] = String(template.value || "").split("|");
      const audience = {};
      if (audKind.value === "segment") audience.segment_id = segment.value;
      else if (audKind.value === "tags") audience.tags = splitList(tags.value);
      else if (audKind.value === "contacts") audience.contact_ids = splitList(contacts.value);
      else audience.list_file_id = file.value.trim();
      if (splitList(exclude.value).length) audience.exclude_tags = splitList(exclude.value);
      if (country.value.trim()) audience.default_country = country.value.trim().toUpperCase();
      const variables = {};
      for (const v of varControls) {
        const text = v.input.value.trim();
        if (!text) continue;
        let value = text;
        if (v.source.value === "value" && /^[{[]/.test(text)) { try { value = JSON.parse(text); } catch { /* plain text */ } }
        variables[v.slot.slot] = v.source.value === "field" ? { field: text } : { value };
        if (v.fallback.value.trim()) variables[v.slot.slot].default = v.fallback.value.trim();
      }
      const out = { name: name.value.trim(), channel_id: channel.value, template_name: tname, template_language: tlang,
        audience, variables, attribution_hours: Number(attribution.value || 72) };
      if (rate.value) out.rate_mps = Number(rate.value);
      if (replyTag.value.trim() || replyFlow.value.trim()) {
        out.on_reply = {};
        if (replyTag.value.trim()) out.on_reply.tag = replyTag.value.trim();
        if (replyFlow.value.trim()) out.on_reply.bot_flow = replyFlow.value.trim();
      }
      return out;
    }

    const submit = h("button", { type: "submit", class: "primary", "data-testid": "bc-create" }, t("bc.form.create"));
    const form = h("form", { onsubmit: async (event) => {
      event.preventDefault();
      error.textContent = "";
      const missing = varControls.filter((v) => v.slot.required && !v.input.value.trim() && !v.fallback.value.trim()).map((v) => v.slot.slot);
      if (missing.length) { error.textContent = t("bc.form.missing", { slots: missing.join(", ") }); return; }
      submit.disabled = true;
      try {
        const created = await api("POST", "/v1/broadcasts", body());
        toast(t("bc.form.created", { name: created.name }), "ok");
        if (prepareNow.checked) {
          await attempt(() => api("POST", `/v1/broadcasts/${created.broadcast_id}/prepare`));
        }
        formCard.hidden = true;
        clear(formCard);
        await loadList();
        await select(created.broadcast_id);
      } catch (err) {
        error.textContent = errorText(err);
      } finally {
        submit.disabled = false;
      }
    } },
    h("div", { class: "row" }, h("h2", { id: "bc-form-title" }, t("bc.form.title")), h("span", { class: "spacer" }),
      h("button", { type: "button", "data-testid": "bc-form-close", onclick: () => { formCard.hidden = true; clear(formCard); } }, t("common.cancel"))),
    h("div", { class: "grid" },
      h("div", {}, field(t("bc.name"), name), field(t("bc.channel"), channel), field(t("bc.template"), template, t("bc.form.template_hint"))),
      h("fieldset", {}, h("legend", {}, t("bc.form.audience")), field(t("bc.aud.kind"), audKind), segField, tagsField, contactsField, fileField,
        field(t("bc.aud.exclude"), exclude, t("bc.aud.list_hint")))),
    fieldList, varsBox,
    h("details", {}, h("summary", {}, t("bc.form.advanced")),
      h("div", { class: "grid" },
        field(t("bc.form.rate"), rate, t("bc.form.rate_hint")),
        field(t("bc.form.attribution"), attribution, t("bc.form.attribution_hint")),
        field(t("bc.form.reply_tag"), replyTag, t("bc.form.reply_tag_hint")),
        field(t("bc.form.reply_flow"), replyFlow, t("bc.form.reply_flow_hint")))),
    h("label", {}, prepareNow, " ", t("bc.form.prepare_now")),
    error,
    h("div", { class: "row" }, submit));
    clear(formCard, form);
    formCard.hidden = false;
    showAudience();
    await fillTemplates();
    name.focus();
  }

  async function pickContacts(target) {
    let items = [];
    try {
      items = (await api("GET", "/v1/contacts", null, { query: { limit: 100 } })).items || [];
    } catch (err) {
      toast(errorText(err), "error");
      return;
    }
    const chosen = new Set(splitList(target.value));
    const body = items.length ? h("fieldset", { "data-testid": "bc-contact-choices" }, h("legend", {}, t("bc.aud.recent")),
      items.map((c) => h("div", {}, h("label", {},
        h("input", { type: "checkbox", name: `c:${c.contact_id}`, checked: chosen.has(c.contact_id) }), " ",
        c.name || c.contact_id, (c.phones || []).length ? ` · ${c.phones[0]}` : ""))))
      : h("p", { class: "empty" }, t("bc.aud.no_contacts"));
    const result = await dialog(t("bc.aud.pick"), body, { submit: t("bc.aud.use_selected"), testid: "contacts-dialog" });
    if (!result) return;
    const ids = Object.keys(result).filter((k) => k.startsWith("c:")).map((k) => k.slice(2));
    const others = [...chosen].filter((id) => !items.some((c) => c.contact_id === id));
    target.value = [...others, ...ids].join("\n");
  }

  // -- the detail panel ----------------------------------------------------------------------------------------
  const detailCard = h("section", { class: "card", "aria-labelledby": "bc-detail-title", "data-testid": "broadcast-detail", hidden: true });
  const dHead = h("div", {});
  const dActions = h("div", { "data-testid": "bc-actions" });
  const dCost = h("div", {});
  const dProgress = h("div", { "data-testid": "bc-progress" });
  const dFailures = h("div", { "data-testid": "bc-failures" });
  const dRecipients = h("div", {});
  detailCard.append(dHead, dCost, dActions, dProgress, dFailures, dRecipients);

  async function select(id) {
    ctx.selected = id;
    ctx.sig = ""; ctx.failSig = "";
    setParams({ id });
    detailCard.hidden = false;
    clear(dHead, h("p", { role: "status" }, t("common.loading")));
    for (const el of [dActions, dCost, dProgress, dFailures, dRecipients]) clear(el);
    showList();
    await loadDetail(true);
    const title = document.getElementById("bc-detail-title");
    if (title) title.focus();
  }

  async function loadDetail(force = false) {
    const id = ctx.selected;
    if (!id) return;
    let b;
    try {
      b = await api("GET", `/v1/broadcasts/${encodeURIComponent(id)}`);
    } catch (err) {
      if (force) clear(dHead, h("p", { class: "error", role: "alert" }, errorText(err)));
      return;
    }
    if (id !== ctx.selected || ctx.gone) return;
    let report = null;
    if (!["draft", "preparing"].includes(b.status) || b.counts.total) {
      report = await api("GET", `/v1/broadcasts/${encodeURIComponent(id)}/report`).catch(() => null);
    }
    ctx.detail = b;
    const idx = ctx.list.findIndex((x) => x.broadcast_id === id);
    if (idx >= 0) { ctx.list[idx] = b; showList(); }
    const sig = `${b.status}|${b.version}`;
    if (force || sig !== ctx.sig) {
      ctx.sig = sig;
      showHead(b);
      keepFocus(dActions, () => showActions(b));
      showCost(b);
      clear(dRecipients, recipientsSection(b));
    }
    showProgress(b, report);
    const failSig = `${sig}|${b.counts.failed}|${b.counts.unconfirmed}|${b.counts.excluded}|${Object.keys((b.prepared || {}).excluded || {}).length}`;
    if (force || failSig !== ctx.failSig) {
      ctx.failSig = failSig;
      await showFailures(b, report);
    }
  }

  function showHead(b) {
    clear(dHead,
      h("div", { class: "row" }, h("h2", { id: "bc-detail-title", tabindex: "-1" }, b.name),
        h("span", { role: "status" }, statusBadge(b.status, "bc-status")), h("span", { class: "spacer" }),
        h("button", { type: "button", "data-testid": "bc-refresh", onclick: () => loadDetail(true) }, t("common.refresh")),
        h("button", { type: "button", "data-testid": "bc-close", onclick: () => {
          ctx.selected = null; ctx.detail = null; detailCard.hidden = true; setParams({}); showList();
        } }, t("common.close"))),
      b.error ? h("p", { class: "error", role: "alert", "data-testid": "bc-error" }, b.error) : null,
      b.status === "paused" && b.paused_reason ? h("p", { class: "hint" }, t("bc.paused_reason", { reason: b.paused_reason })) : null,
      h("dl", { class: "props" },
        h("dt", {}, t("bc.template")), h("dd", {}, `${b.template_name} · ${b.template_language} · ${label("bc.cat", b.category)}`),
        h("dt", {}, t("bc.channel")), h("dd", {}, channelName(b.channel_id)),
        h("dt", {}, t("bc.form.audience")), h("dd", {}, audienceText(b.audience)),
        h("dt", {}, t("bc.variables")), h("dd", {}, Object.keys(b.variables || {}).length
          ? Object.entries(b.variables).map(([slot, v]) => `${slot} = ${v.field ? `[${label("bc.field", v.field)}]` : JSON.stringify(v.value)}${v.default ? ` (${t("bc.var.default")}: ${v.default})` : ""}`).join("; ")
          : "—"),
        h("dt", {}, t("bc.created")), h("dd", {}, fmtTime(b.created_at)),
        b.schedule_at ? [h("dt", {}, t("bc.scheduled_for")), h("dd", {}, fmtIn(b.schedule_at, b.time_zone))] : null,
        b.started_at ? [h("dt", {}, t("bc.started")), h("dd", {}, fmtTime(b.started_at))] : null,
        b.completed_at ? [h("dt", {}, t("bc.completed")), h("dd", {}, fmtTime(b.completed_at))] : null,
        b.rate_mps ? [h("dt", {}, t("bc.form.rate")), h("dd", {}, fmtNumber(b.rate_mps))] : null,
        b.on_reply ? [h("dt", {}, t("bc.on_reply")), h("dd", {}, [b.on_reply.tag ? `#${b.on_reply.tag}` : "", b.on_reply.bot_flow || ""].filter(Boolean).join(" · "))] : null));
  }

  async function act(action, body, success, { confirm } = {}) {
    const id = ctx.selected;
    if (confirm) {
      const ok = await dialog(confirm.title, h("p", {}, confirm.text), { submit: confirm.submit, danger: true, testid: "bc-confirm" });
      if (!ok) return null;
    }
    const out = await attempt(() => api("POST", `/v1/broadcasts/${encodeURIComponent(id)}/${action}`, body), success);
    await loadDetail(true);
    await loadList({ quiet: true });
    return out;
  }

  function showActions(b) {
    const buttons = [];
    const s = b.status;
    if (s === "draft" || s === "ready") {
      buttons.push(h("button", { type: "button", "data-testid": "bc-prepare", "data-focus-key": "prepare",
        onclick: () => act("prepare", null, t("bc.done.prepare")) }, s === "ready" ? t("bc.act.reprepare") : t("bc.act.prepare")));
      buttons.push(h("button", { type: "button", "data-testid": "bc-preview", "data-focus-key": "preview", onclick: () => preview(b) }, t("bc.act.preview")));
    }
    const parts = [h("div", { class: "row" }, buttons)];
    if (s === "draft" || s === "ready") {
      const over = h("input", { type: "checkbox", "data-testid": "bc-allow-over-tier" });
      const at = h("input", { type: "datetime-local", "data-testid": "bc-schedule-at" });
      const zone = h("input", { type: "text", value: b.time_zone || DEFAULT_ZONE, list: "bc-zones", "data-testid": "bc-schedule-tz", autocomplete: "off" });
      const start = h("button", { type: "button", class: "primary", "data-testid": "bc-start", "data-focus-key": "start",
        onclick: () => act("start", { allow_over_tier: over.checked }, t("bc.done.start"), { confirm: {
          title: t("bc.confirm.start_title"), text: t("bc.confirm.start_text", { name: b.name, n: fmtNumber((b.prepared || {}).eligible ?? b.counts.total), cost: costText(b) }),
          submit: t("bc.act.start") } }) }, t("bc.act.start"));
      const schedule = h("button", { type: "button", "data-testid": "bc-schedule", "data-focus-key": "schedule", onclick: () => {
        if (!at.value) { toast(t("bc.schedule_needed"), "error"); at.focus(); return; }
        act("start", { at: at.value.length === 16 ? `${at.value}:00` : at.value, time_zone: zone.value.trim() || DEFAULT_ZONE,
          allow_over_tier: over.checked }, t("bc.done.schedule"));
      } }, t("bc.act.schedule"));
      parts.push(h("fieldset", {}, h("legend", {}, t("bc.start_legend")),
        s === "draft" ? h("p", { class: "hint" }, t("bc.start_draft_hint")) : null,
        h("div", { class: "row" }, start),
        h("div", { class: "row" }, field(t("bc.schedule_at"), at), field(t("bc.time_zone"), zone), schedule),
        h("datalist", { id: "bc-zones" }, ZONES.map((z) => h("option", { value: z }))),
        h("label", {}, over, " ", t("bc.allow_over_tier"))));
    }
    const more = [];
    if (["preparing", "scheduled", "sending"].includes(s)) {
      more.push(h("button", { type: "button", "data-testid": "bc-pause", "data-focus-key": "pause", onclick: () => act("pause", null, t("bc.done.pause")) }, t("bc.act.pause")));
    }
    if (s === "paused") {
      more.push(h("button", { type: "button", class: "primary", "data-testid": "bc-resume", "data-focus-key": "resume", onclick: () => act("resume", null, t("bc.done.resume")) }, t("bc.act.resume")));
    }
    if (["sending", "completed", "paused"].includes(s) && (b.counts.failed || b.counts.unconfirmed)) {
      more.push(h("button", { type: "button", "data-testid": "bc-retry", "data-focus-key": "retry", onclick: () => retry(b) }, t("bc.act.retry")));
    }
    if (!["completed", "cancelled", "failed"].includes(s)) {
      more.push(h("button", { type: "button", class: "danger", "data-testid": "bc-cancel", "data-focus-key": "cancel",
        onclick: () => act("cancel", null, t("bc.done.cancel"), { confirm: { title: t("bc.confirm.cancel_title"),
          text: t("bc.confirm.cancel_text", { name: b.name }), submit: t("bc.act.cancel") } }) }, t("bc.act.cancel")));
    }
    if (s === "preparing") parts.push(h("p", { role: "status" }, t("bc.preparing")));
    if (s === "sending") parts.push(h("p", { class: "hint" }, t("bc.sending_hint")));
    clear(dActions, parts, more.length ? h("div", { class: "row" }, more) : null);
  }

  function costText(b) {
    const cost = (b.prepared || {}).cost;
    return cost ? money(cost.total, cost.currency, 4) : t("bc.cost.unknown");
  }

  async function preview(b) {
    const contact = h("input", { type: "text", name: "contact_id", autocomplete: "off", "data-testid": "bc-preview-contact" });
    const got = await dialog(t("bc.preview.title"), field(t("bc.preview.contact"), contact, t("bc.preview.contact_hint")),
      { submit: t("bc.act.preview"), testid: "bc-preview-dialog" });
    if (!got) return;
    const out = await attempt(() => api("POST", `/v1/broadcasts/${encodeURIComponent(b.broadcast_id)}/preview`,
      got.contact_id ? { contact_id: got.contact_id.trim() } : {}));
    if (!out) return;
    const r = out.rendered || {};
    await dialog(t("bc.preview.result"), h("div", { "data-testid": "bc-preview-result" },
      h("p", {}, out.eligible ? badge(t("bc.preview.eligible"), "online") : badge(t("bc.preview.excluded"), "break"),
        " ", out.to ? t("bc.preview.to", { to: out.to }) : ""),
      out.eligible ? null : h("p", { class: "error" }, `${label("bc.reason", String(out.reason || "").split(":")[0])}${out.detail ? ` — ${out.detail}` : ""}`),
      h("div", { class: "msg out" },
        r.header ? h("strong", {}, typeof r.header === "string" ? r.header : JSON.stringify(r.header)) : null,
        r.header ? h("br") : null, r.body || "", r.footer ? h("span", { class: "meta" }, r.footer) : null),
      (r.buttons || []).length ? h("ul", {}, r.buttons.map((x) => h("li", {}, `${x.text || ""} (${x.type})`))) : null),
    { submit: t("common.close") });
  }

  async function retry(b) {
    const boxes = ERROR_CLASSES.map((c) => h("div", {}, h("label", {}, h("input", { type: "checkbox", name: `class:${c}` }), " ", label("bc.eclass", c))));
    const got = await dialog(t("bc.retry.title"), h("div", {},
      h("p", {}, t("bc.retry.text", { failed: fmtNumber(b.counts.failed), unconfirmed: fmtNumber(b.counts.unconfirmed) })),
      h("fieldset", {}, h("legend", {}, t("bc.retry.classes")), h("p", { class: "hint" }, t("bc.retry.classes_hint")), boxes),
      h("label", {}, h("input", { type: "checkbox", name: "include_waiting", "data-testid": "bc-retry-waiting" }), " ", t("bc.retry.waiting"))),
    { submit: t("bc.act.retry"), testid: "bc-retry-dialog" });
    if (!got) return;
    const classes = Object.keys(got).filter((k) => k.startsWith("class:")).map((k) => k.slice(6));
    const out = await act("retry", { error_classes: classes.length ? classes : null, include_waiting: Boolean(got.include_waiting) });
    if (out) {
      const skipped = Object.entries(out.skipped || {}).map(([k, v]) => `${label("bc.skip", k)}: ${fmtNumber(v)}`).join(", ");
      toast(t("bc.retry.done", { n: fmtNumber(out.retried), skipped: skipped || "0" }), "ok");
    }
  }

  function showCost(b) {
    const p = b.prepared;
    if (!p) {
      clear(dCost, b.status === "preparing" ? null : h("p", { class: "hint" }, t("bc.cost.prepare_first")));
      return;
    }
    const cost = p.cost || {};
    const tier = p.tier || {};
    const excluded = sum(Object.values(p.excluded || {}));
    const tierBox = tier.fits === false
      ? h("p", { class: "error", role: "alert", "data-testid": "bc-tier" }, t("bc.tier.over", { name: tier.limit_name, limit: fmtNumber(tier.limit), n: fmtNumber(tier.audience_outside_window) }))
      : tier.fits === true
        ? h("p", { "data-testid": "bc-tier" }, badge(t("bc.tier.ok_badge"), "online"), " ",
          t("bc.tier.fits", { name: tier.limit_name, limit: tier.limit === null ? t("bc.tier.unlimited") : fmtNumber(tier.limit), n: fmtNumber(tier.audience_outside_window) }))
        : h("p", { "data-testid": "bc-tier" }, badge(t("bc.tier.unknown_badge"), "busy"), " ", t("bc.tier.unknown", { n: fmtNumber(tier.audience_outside_window) }));
    clear(dCost, h("div", { class: "card", "data-testid": "broadcast-cost", "aria-labelledby": "bc-cost-title" },
      h("h3", { id: "bc-cost-title" }, t("bc.cost.title")),
      kpiGrid([
        kpi(t("bc.cost.total"), money(cost.total, cost.currency, 4), { testid: "broadcast-cost-total",
          hint: cost.version ? t("bc.cost.rate_card", { date: cost.version }) : null }),
        kpi(t("bc.cost.eligible"), fmtNumber(p.eligible), { testid: "bc-eligible" }),
        kpi(t("bc.cost.excluded"), fmtNumber(excluded), { testid: "bc-excluded" }),
        kpi(t("bc.cost.candidates"), fmtNumber(p.candidates), { hint: p.duplicates ? t("bc.cost.duplicates", { n: fmtNumber(p.duplicates) }) : null }),
      ]),
      tierBox,
      table([
        { label: t("bc.cost.market"), value: (l) => l.label || l.market },
        { label: t("bc.tpl.category"), value: (l) => label("bc.cat", l.category) },
        { label: t("bc.cost.count"), class: "num", value: (l) => fmtNumber(l.count) },
        { label: t("bc.cost.unit"), class: "num", value: (l) => money(l.unit_price, cost.currency, 4) },
        { label: t("bc.cost.subtotal"), class: "num", value: (l) => money(l.total, cost.currency, 4) },
      ], cost.lines || [], { caption: t("bc.cost.lines"), empty: t("bc.cost.no_lines"), testid: "bc-cost-lines" }),
      h("p", { class: "hint" }, t("bc.cost.note")),
      Object.keys(p.in_service_window || {}).length ? h("p", { class: "hint" }, t("bc.cost.in_window", { n: fmtNumber(sum(Object.values(p.in_service_window))) })) : null,
      excluded ? breakdown(t("bc.cost.excluded_by"), p.excluded, "bc.reason", { testid: "bc-excluded-reasons" }) : null));
  }

  function showProgress(b, report) {
    const c = b.counts || {};
    const done = (c.sent || 0) + (c.failed || 0) + (c.unconfirmed || 0);
    if (!done && ["draft", "preparing", "ready", "scheduled"].includes(b.status)) { clear(dProgress); return; }
    const series = COUNT_KEYS.map((k) => ({ label: label("bc.count", k), value: c[k] || 0,
      kind: k === "failed" || k === "unconfirmed" ? "bar-alert" : k === "excluded" || k === "queued" ? "bar2" : "bar" }));
    const rc = report && report.cost;
    clear(dProgress, h("h3", {}, t("bc.progress")),
      h("div", { class: "row" },
        h("progress", { max: 1, value: Math.min(1, b.progress || 0), "aria-label": t("bc.progress_of", { name: b.name }), "data-testid": "bc-progress-bar" }),
        h("span", { "data-testid": "bc-progress-text" }, t("bc.progress_text", { done: fmtNumber(done), total: fmtNumber(c.total || 0), pct: fmtNumber(100 * (b.progress || 0)) })),
        live(b) ? h("small", { class: "hint" }, t("bc.auto_refresh")) : null),
      kpiGrid([
        kpi(t("bc.count.sent"), fmtNumber(c.sent)), kpi(t("bc.count.delivered"), fmtNumber(c.delivered)),
        kpi(t("bc.read_rate"), report && report.read_rate !== null ? pct(100 * report.read_rate) : "—"),
        kpi(t("bc.reply_rate"), report && report.reply_rate !== null ? pct(100 * report.reply_rate) : "—"),
        kpi(t("bc.count.failed"), fmtNumber((c.failed || 0) + (c.unconfirmed || 0))),
        rc ? kpi(t("bc.cost.actual"), money(rc.total, rc.currency, 4), { testid: "bc-actual-cost", hint: t("bc.cost.actual_hint") }) : null,
      ], "bc-kpis"),
      chartBlock(t("bc.counts_chart"), series, { names: [t("bc.recipients")], total: false, format: (v) => fmtNumber(v), testid: "bc-counts", labelHeader: t("bc.status_col") }));
  }

  async function showFailures(b, report) {
    const id = b.broadcast_id;
    const parts = [];
    if (report && (report.failure_reasons || []).length) {
      parts.push(table([
        { label: t("bc.fail.code"), value: (r) => (r.code === null ? t("bc.fail.no_code") : String(r.code)) },
        { label: t("bc.fail.count"), class: "num", value: (r) => fmtNumber(r.count) },
      ], report.failure_reasons, { caption: t("bc.fail.reasons"), testid: "bc-failure-reasons" }));
    }
    if ((b.counts.failed || 0) + (b.counts.unconfirmed || 0) > 0) {
      try {
        const page = await api("GET", `/v1/broadcasts/${encodeURIComponent(id)}/recipients`, null, { query: { status: "failed", limit: 100 } });
        parts.push(table([
          { label: t("bc.rcpt.to"), value: (r) => r.to },
          { label: t("bc.rcpt.status"), value: (r) => label("bc.count", r.status) },
          { label: t("bc.fail.class"), value: (r) => label("bc.eclass", r.error_class || "permanent") },
          { label: t("bc.fail.code"), value: (r) => (r.error_code === null || r.error_code === undefined ? "—" : String(r.error_code)) },
          { label: t("bc.fail.title"), value: (r) => [r.error_title, r.error_details].filter(Boolean).join(" — ") || "—" },
          { label: t("bc.fail.attempts"), class: "num", value: (r) => fmtNumber(r.attempt) },
          { label: t("bc.fail.retry_at"), value: (r) => (r.retry_at ? fmtTime(r.retry_at) : "—") },
        ], page.items || [], { caption: t("bc.fail.recipients"), empty: t("bc.fail.none"), testid: "bc-failed" }));
        if (page.next_cursor) parts.push(h("p", { class: "hint" }, t("bc.first_100")));
      } catch (err) {
        parts.push(h("p", { class: "error", role: "alert" }, errorText(err)));
      }
    }
    if (b.counts.excluded || Object.keys((b.prepared || {}).excluded || {}).length) {
      try {
        const page = await api("GET", `/v1/broadcasts/${encodeURIComponent(id)}/recipients`, null, { query: { status: "excluded", limit: 100 } });
        parts.push(table([
          { label: t("bc.rcpt.to"), value: (r) => r.to || "—" },
          { label: t("bc.rcpt.contact"), value: (r) => r.contact_id || "—" },
          { label: t("bc.rcpt.reason"), value: (r) => label("bc.reason", String(r.reason || "").split(":")[0]) + (r.reason && r.reason.includes(":") ? ` (${r.reason.split(":").slice(1).join(":")})` : "") },
          { label: t("bc.rcpt.detail"), value: (r) => r.detail || "—" },
        ], page.items || [], { caption: t("bc.rcpt.excluded"), empty: t("bc.fail.none"), testid: "bc-exclusions" }));
        if (page.next_cursor) parts.push(h("p", { class: "hint" }, t("bc.first_100")));
      } catch (err) {
        parts.push(h("p", { class: "error", role: "alert" }, errorText(err)));
      }
    }
    if (ctx.selected !== id) return;
    clear(dFailures, parts.length ? [h("h3", {}, t("bc.fail.title_section")), parts] : null);
  }

  function recipientsSection(b) {
    if (!b.counts.total) return null;
    const box = h("div", {});
    let cursor = null;
    const rows = [];
    const more = h("button", { type: "button", hidden: true, "data-testid": "bc-recipients-more", onclick: () => load() }, t("bc.more"));
    async function load() {
      try {
        const page = await api("GET", `/v1/broadcasts/${encodeURIComponent(b.broadcast_id)}/recipients`, null, { query: { limit: 100, cursor } });
        rows.push(...(page.items || []));
        cursor = page.next_cursor || null;
        more.hidden = !cursor;
        clear(box, table([
          { label: t("bc.rcpt.to"), value: (r) => r.to },
          { label: t("bc.rcpt.status"), value: (r) => label("bc.count", r.status) },
          { label: t("bc.cost.market"), value: (r) => r.market },
          { label: t("bc.fail.attempts"), class: "num", value: (r) => fmtNumber(r.attempt) },
          { label: t("bc.rcpt.updated"), value: (r) => fmtTime(r.updated_at) },
        ], rows, { caption: t("bc.rcpt.all"), testid: "bc-recipients" }));
      } catch (err) {
        clear(box, h("p", { class: "error", role: "alert" }, errorText(err)));
      }
    }
    const details = h("details", { "data-testid": "bc-recipients-details" }, h("summary", {}, t("bc.rcpt.show")), box, more);
    details.addEventListener("toggle", () => { if (details.open && !rows.length) load(); });
    return details;
  }

  // -- polling: every 3 s while the open broadcast (or one in the list) is preparing or sending ----------------
  async function tick() {
    if (ctx.busy || ctx.gone) return;
    ctx.busy = true;
    try {
      if (ctx.selected && ctx.detail && live(ctx.detail)) await loadDetail(false);
      if (ctx.list.some((b) => live(b) && b.broadcast_id !== ctx.selected)) await loadList({ quiet: true });
    } finally {
      ctx.busy = false;
    }
  }

  clear(root, h("h1", {}, t("bc.title")), tplCard, listCard, formCard, detailCard);
  await Promise.all([loadTemplates(), loadList()]);
  if (params.id) await select(params.id);
  else if (params.new === "1") await openForm({});
  ctx.timer = setInterval(tick, 3000);
  return () => { ctx.gone = true; clearInterval(ctx.timer); };
}

// ==============================================================================================================
// reports: daily series, the monthly executive summary, the CSV export
// ==============================================================================================================
const REPORT_NAMES = ["conversations", "messages", "responses", "resolutions", "assignments", "csat", "sentiment",
  "contacts", "bots", "agents", "users"];
const SENTIMENTS = ["POSITIVE", "NEUTRAL", "NEGATIVE", "MIXED"];
const hours = (s) => (s === null || s === undefined ? null : Math.round((Number(s) / 3600) * 10) / 10);

// Per report: KPIs from the totals, charts from the series, the columns of the per-day table and breakdowns.
const DAILY = {
  conversations: (r) => ({
    kpis: [["opened", fmtNumber(r.totals.opened)], ["closed", fmtNumber(r.totals.closed)], ["reopened", fmtNumber(r.totals.reopened)]],
    charts: [{ title: t("rep.chart.conversations"), names: [t("rep.k.opened"), t("rep.k.closed")],
      series: r.series.map((d) => ({ label: d.date, value: d.opened, value2: d.closed })) }],
    columns: [["opened", (d) => fmtNumber(d.opened)], ["closed", (d) => fmtNumber(d.closed)], ["reopened", (d) => fmtNumber(d.reopened)]],
    breakdowns: [[t("rep.b.closed_by"), r.totals.closed_by, "rep.v"], [t("rep.b.handled_by"), r.totals.handled_by, "rep.v"]],
  }),
  messages: (r) => ({
    kpis: [["in", fmtNumber(r.totals.in)], ["out", fmtNumber(r.totals.out)],
      ["failed", fmtNumber(sum(Object.values(r.totals.send_failed_by_code || {})))]],
    charts: [{ title: t("rep.chart.messages"), names: [t("rep.k.in"), t("rep.k.out")],
      series: r.series.map((d) => ({ label: d.date, value: d.in, value2: d.out })) }],
    columns: [["in", (d) => fmtNumber(d.in)], ["out", (d) => fmtNumber(d.out)]],
    breakdowns: [[t("rep.b.in_by_type"), r.totals.in_by_type, "rep.v"], [t("rep.b.out_by_type"), r.totals.out_by_type, "rep.v"],
      [t("rep.b.out_by"), r.totals.out_by, "rep.v"], [t("rep.b.statuses"), r.totals.statuses, "rep.v"],
      [t("rep.b.failed_by_code"), r.totals.send_failed_by_code, "rep.v"]],
  }),
  responses: (r) => ({
    kpis: [["first_response", dur(r.totals.first_response.avg_s), t("rep.k.business", { v: dur(r.totals.first_response.avg_business_s) })],
      ["first_agent_response", dur(r.totals.first_agent_response.avg_s), t("rep.k.business", { v: dur(r.totals.first_agent_response.avg_business_s) })],
      ["response", dur(r.totals.response.avg_s), t("rep.k.business", { v: dur(r.totals.response.avg_business_s) })],
      ["responses_n", fmtNumber(r.totals.response.count)]],
    charts: [{ title: t("rep.chart.responses"), names: [t("rep.k.first_response"), t("rep.k.first_agent_response")], format: dur, total: false,
      series: r.series.map((d) => ({ label: d.date, value: d.first_response.avg_s, value2: d.first_agent_response.avg_s })) }],
    columns: [["first_response_n", (d) => fmtNumber(d.first_response.count)], ["first_response", (d) => dur(d.first_response.avg_s)],
      ["first_agent_response", (d) => dur(d.first_agent_response.avg_s)], ["response", (d) => dur(d.response.avg_s)],
      ["responses_n", (d) => fmtNumber(d.response.count)]],
    breakdowns: [[t("rep.b.first_by"), r.totals.first_response.by, "rep.v"],
      [t("rep.b.response_by"), Object.fromEntries(Object.entries(r.totals.response.by || {}).map(([k, v]) => [k, v.avg_s])), "rep.v", dur]],
  }),
  resolutions: (r) => ({
    kpis: [["resolved", fmtNumber(r.totals.resolved)], ["avg_resolution", dur(r.totals.avg_resolution_s)]],
    charts: [{ title: t("rep.chart.resolutions"), names: [t("rep.k.resolved")],
      series: r.series.map((d) => ({ label: d.date, value: d.resolved })) },
    { title: t("rep.chart.resolution_time"), names: [t("rep.k.avg_resolution")], format: dur, total: false,
      series: r.series.map((d) => ({ label: d.date, value: d.avg_resolution_s })) }],
    columns: [["resolved", (d) => fmtNumber(d.resolved)], ["avg_resolution", (d) => dur(d.avg_resolution_s)]],
    breakdowns: [[t("rep.b.resolved_by"), Object.fromEntries(Object.entries(r.totals.by || {}).map(([k, v]) => [k, v.count])), "rep.v"],
      [t("rep.b.resolution_by"), Object.fromEntries(Object.entries(r.totals.by || {}).map(([k, v]) => [k, v.avg_resolution_s])), "rep.v", dur],
      [t("rep.b.closing_notes"), r.totals.closing_notes, "rep.v"]],
  }),
  assignments: (r) => ({
    kpis: [["queued", fmtNumber(r.totals.queued)], ["assigned", fmtNumber(r.totals.assigned)], ["transfers", fmtNumber(r.totals.transfers)],
      ["unassigned", fmtNumber(r.totals.unassigned)], ["overflowed", fmtNumber(r.totals.overflowed)],
      ["avg_wait", dur(r.totals.avg_wait_s)], ["service_level", pct(r.totals.service_level_percent)]],
    charts: [{ title: t("rep.chart.assignments"), names: [t("rep.k.queued"), t("rep.k.assigned")],
      series: r.series.map((d) => ({ label: d.date, value: d.queued, value2: d.assigned })) },
    { title: t("rep.chart.wait"), names: [t("rep.k.avg_wait")], format: dur, total: false,
      series: r.series.map((d) => ({ label: d.date, value: d.avg_wait_s })) }],
    columns: [["queued", (d) => fmtNumber(d.queued)], ["assigned", (d) => fmtNumber(d.assigned)], ["transfers", (d) => fmtNumber(d.transfers)],
      ["avg_wait", (d) => dur(d.avg_wait_s)], ["service_level", (d) => pct(d.service_level_percent)]],
    breakdowns: [[t("rep.b.assigned_by"), r.totals.by_reason, "rep.v"], [t("rep.b.overflow_by"), r.totals.overflow_by_reason, "rep.v"]],
  }),
  csat: (r) => ({
    kpis: [["csat_avg", r.totals.avg === null ? "—" : `${fmtNumber(r.totals.avg, 2)} / 5`], ["csat_answers", fmtNumber(r.totals.answers)]],
    charts: [{ title: t("rep.chart.csat_distribution"), names: [t("rep.k.csat_answers")], labelHeader: t("rep.col.score"),
      series: ["1", "2", "3", "4", "5"].map((k) => ({ label: k, value: (r.totals.distribution || {})[k] || 0 })) },
    { title: t("rep.chart.csat_daily"), names: [t("rep.k.csat_avg")], total: false, max: 5, format: (v) => fmtNumber(v, 2),
      series: r.series.map((d) => ({ label: d.date, value: d.avg })) }],
    columns: [["csat_answers", (d) => fmtNumber(d.answers)], ["csat_avg", (d) => (d.avg === null ? "—" : fmtNumber(d.avg, 2))]],
    breakdowns: [],
  }),
  sentiment: (r) => ({
    kpis: SENTIMENTS.map((s) => [`sent_${s}`, fmtNumber((r.totals.conversations || {})[s] || 0)]),
    charts: [{ title: t("rep.chart.sentiment"), names: [t("rep.k.conversations"), t("rep.k.messages")], labelHeader: t("rep.col.sentiment"),
      series: SENTIMENTS.map((s) => ({ label: label("rep.v", s), value: (r.totals.conversations || {})[s] || 0, value2: (r.totals.messages || {})[s] || 0 })) },
    { title: t("rep.chart.negative_daily"), names: [t("rep.k.sent_NEGATIVE")],
      series: r.series.map((d) => ({ label: d.date, value: (d.conversations || {}).NEGATIVE || 0 })) }],
    columns: SENTIMENTS.map((s) => [`sent_${s}`, (d) => fmtNumber((d.conversations || {})[s] || 0)]),
    breakdowns: [[t("rep.b.sentiment_messages"), r.totals.messages, "rep.v"]],
  }),
  contacts: (r) => ({
    kpis: [["new", fmtNumber(r.totals.new)], ["returning", fmtNumber(r.totals.returning)], ["created", fmtNumber(r.totals.created)]],
    charts: [{ title: t("rep.chart.contacts"), names: [t("rep.k.new"), t("rep.k.returning")],
      series: r.series.map((d) => ({ label: d.date, value: d.new, value2: d.returning })) }],
    columns: [["new", (d) => fmtNumber(d.new)], ["returning", (d) => fmtNumber(d.returning)], ["created", (d) => fmtNumber(d.created)]],
    breakdowns: [[t("rep.b.created_by_source"), r.totals.created_by_source, "rep.v"]],
  }),
  bots: (r) => ({
    kpis: [["sessions", fmtNumber(r.totals.sessions)], ["turns", fmtNumber(r.totals.turns)], ["ai_turns", fmtNumber(r.totals.ai_turns)]],
    charts: [{ title: t("rep.chart.bots"), names: [t("rep.k.sessions"), t("rep.k.turns")],
      series: r.series.map((d) => ({ label: d.date, value: d.sessions, value2: d.turns })) }],
    columns: [["sessions", (d) => fmtNumber(d.sessions)], ["turns", (d) => fmtNumber(d.turns)], ["ai_turns", (d) => fmtNumber(d.ai_turns)]],
    breakdowns: [[t("rep.b.by_end"), r.totals.by_end, "rep.v"], [t("rep.b.llm_in"), r.totals.llm_input_tokens, "rep.v"],
      [t("rep.b.llm_out"), r.totals.llm_output_tokens, "rep.v"]],
  }),
};

async function renderReports(root, params) {
  const people = new Map();
  const [channels, campaigns, users] = await Promise.all([
    api("GET", "/v1/channels").then((r) => r.items || []).catch(() => []),
    api("GET", "/v1/campaigns").then((r) => r.items || []).catch(() => []),
    api("GET", "/v1/users").then((r) => r.items || []).catch(() => []),
  ]);
  for (const u of users) people.set(u.user_id, u.name || u.email || u.user_id);
  const who = (id) => people.get(id) || id;

  const today = isoDay(new Date());
  const name = h("select", { "data-testid": "rep-name", required: true }, REPORT_NAMES.map((n) => h("option", { value: n }, label("rep.name", n))));
  name.value = REPORT_NAMES.includes(params.name) ? params.name : "messages";
  const from = h("input", { type: "date", required: true, value: params.from || addDays(today, -6), "data-testid": "rep-from" });
  const to = h("input", { type: "date", required: true, value: params.to || today, "data-testid": "rep-to" });
  const tz = h("input", { type: "text", required: true, value: params.tz || DEFAULT_ZONE, list: "rep-zones", "data-testid": "rep-tz", autocomplete: "off" });
  const filterKind = h("select", { "data-testid": "rep-filter-kind", onchange: () => fillFilter() },
    ["", "channel", "campaign", "agent"].map((k) => h("option", { value: k }, label("rep.filter", k || "none"))));
  filterKind.value = params.channel ? "channel" : params.campaign ? "campaign" : params.agent ? "agent" : "";
  const filterValue = h("select", { "data-testid": "rep-filter-value" });
  const filterField = h("div", {}, field(t("rep.filter_value"), filterValue)); // hidden works on a plain div
  function fillFilter() {
    const kind = filterKind.value;
    filterField.hidden = !kind;
    const options = kind === "channel" ? channels.map((c) => [c.channel_id, `${c.channel_id} · ${label("rep.kind", c.kind)}`])
      : kind === "campaign" ? campaigns.map((c) => [c.campaign_id, c.name])
        : kind === "agent" ? users.map((u) => [u.user_id, `${u.name || u.email} · ${label("role", u.role)}`]) : [];
    clear(filterValue, options.length ? options.map(([v, text]) => h("option", { value: v }, text)) : h("option", { value: "" }, t("rep.filter_none_available")));
    const wanted = params[kind];
    if (wanted) filterValue.value = wanted;
  }
  fillFilter();

  const result = h("div", { "data-testid": "report-result", "aria-live": "polite" });
  const runButton = h("button", { type: "submit", class: "primary", "data-testid": "rep-run" }, t("rep.run"));
  const setRange = (a, b) => { from.value = a; to.value = b; form.requestSubmit(); };
  const form = h("form", { class: "card", "data-testid": "report-form", "aria-labelledby": "rep-form-title", onsubmit: (e) => { e.preventDefault(); run(); } },
    h("h2", { id: "rep-form-title" }, t("rep.form_title")),
    h("div", { class: "row" }, field(t("rep.report"), name), field(t("rep.from"), from), field(t("rep.to"), to),
      field(t("rep.tz"), tz, t("rep.tz_hint")), field(t("rep.filter"), filterKind), filterField),
    h("datalist", { id: "rep-zones" }, ZONES.map((z) => h("option", { value: z }))),
    h("div", { class: "row" }, runButton,
      h("button", { type: "button", "data-testid": "rep-range-7", onclick: () => setRange(addDays(today, -6), today) }, t("rep.range.7")),
      h("button", { type: "button", "data-testid": "rep-range-30", onclick: () => setRange(addDays(today, -29), today) }, t("rep.range.30")),
      h("button", { type: "button", "data-testid": "rep-range-month", onclick: () => setRange(`${today.slice(0, 7)}-01`, today) }, t("rep.range.month"))));

  async function run() {
    if (from.value > to.value) { clear(result, h("p", { class: "error", role: "alert" }, t("rep.bad_range"))); return; }
    const query = { from: from.value, to: to.value, tz: tz.value.trim() || DEFAULT_ZONE };
    if (filterKind.value && filterValue.value) query[filterKind.value] = filterValue.value;
    setParams({ name: name.value, ...query });
    result.setAttribute("aria-busy", "true");
    runButton.disabled = true;
    clear(result, h("p", { role: "status" }, t("common.loading")));
    try {
      const report = await api("GET", `/v1/reports/${encodeURIComponent(name.value)}`, null, { query });
      clear(result, showReport(report));
    } catch (err) {
      clear(result, h("p", { class: "error", role: "alert" }, errorText(err)));
    } finally {
      result.removeAttribute("aria-busy");
      runButton.disabled = false;
    }
  }

  function heading(report) {
    const f = Object.entries(report.filter || {}).map(([k, v]) => `${label("rep.filter", k)}: ${k === "agent" ? who(v) : k === "campaign" ? ((campaigns.find((c) => c.campaign_id === v) || {}).name || v) : v}`);
    return h("div", { class: "row" }, h("h2", {}, label("rep.name", report.report)), h("span", { class: "hint" },
      t("rep.period", { from: report.from, to: report.to, tz: report.time_zone }), f.length ? ` · ${f.join(", ")}` : ""),
    h("span", { class: "spacer" }), printButton());
  }

  function showReport(report) {
    if (report.report === "agents") return showAgents(report);
    if (report.report === "users") return showUsers(report);
    const shape = DAILY[report.report];
    if (!shape) return h("pre", {}, JSON.stringify(report, null, 2));
    const view = shape(report);
    const columns = [{ label: t("rep.col.day"), value: (d) => d.date },
      ...view.columns.map(([k, fn]) => ({ label: label("rep.k", k), class: "num", value: fn }))];
    return [heading(report),
      kpiGrid(view.kpis.map(([k, v, hint]) => kpi(label("rep.k", k), v, { testid: `rep-kpi-${k}`, hint })), "report-kpis"),
      h("div", { class: "grid" }, view.charts.map((c, i) => chartBlock(c.title, c.series, { names: c.names, format: c.format, total: c.total, max: c.max,
        labelHeader: c.labelHeader || t("rep.col.day"), testid: `rep-chart-${i}` }))),
      h("details", { class: "card", open: report.series.length <= 14 }, h("summary", {}, t("rep.per_day_n", { n: report.series.length })),
        table(columns, report.series, { caption: t("rep.per_day"), testid: "report-table" })),
      h("div", { class: "grid" }, view.breakdowns.filter(([, data]) => Object.keys(data || {}).length).map(([title, data, prefix, format]) =>
        h("div", { class: "card" }, breakdown(title, data, prefix, { format }))))];
  }

  function showAgents(report) {
    const rows = report.agents || [];
    return [heading(report),
      chartBlock(t("rep.chart.agents"), rows.map((r) => ({ label: who(r.agent), value: r.assigned, value2: r.closed })),
        { names: [t("rep.k.assigned"), t("rep.k.closed")], labelHeader: t("rep.col.agent"), testid: "rep-chart-0" }),
      h("div", { class: "card" }, table([
        { label: "#", class: "num", value: (r) => r.rank },
        { label: t("rep.col.agent"), value: (r) => who(r.agent) },
        { label: t("rep.k.assigned"), class: "num", value: (r) => fmtNumber(r.assigned) },
        { label: t("rep.k.closed"), class: "num", value: (r) => fmtNumber(r.closed) },
        { label: t("rep.k.transfers_in"), class: "num", value: (r) => fmtNumber(r.transfers_in) },
        { label: t("rep.k.transferred_out"), class: "num", value: (r) => fmtNumber(r.transferred_out) },
        { label: t("rep.k.out"), class: "num", value: (r) => fmtNumber(r.messages_out) },
        { label: t("rep.k.first_agent_response"), class: "num", value: (r) => dur(r.avg_first_response_s) },
        { label: t("rep.k.response"), class: "num", value: (r) => dur(r.avg_response_s) },
        { label: t("rep.k.avg_resolution"), class: "num", value: (r) => dur(r.avg_resolution_s) },
        { label: t("rep.k.csat_avg"), class: "num", value: (r) => (r.csat_avg === null ? "—" : `${fmtNumber(r.csat_avg, 2)} (${fmtNumber(r.csat_answers)})`) },
      ], rows, { caption: t("rep.leaderboard"), empty: t("rep.no_data"), testid: "report-table" }))];
  }

  function showUsers(report) {
    const rows = report.agents || [];
    return [heading(report),
      chartBlock(t("rep.chart.users"), rows.map((r) => ({ label: who(r.agent), value: hours(r.seconds.online), value2: hours(r.seconds.busy) })),
        { names: [t("rep.k.online_h"), t("rep.k.busy_h")], labelHeader: t("rep.col.agent"), testid: "rep-chart-0" }),
      h("div", { class: "card" }, table([
        { label: t("rep.col.agent"), value: (r) => who(r.agent) },
        { label: t("rep.k.online"), class: "num", value: (r) => dur(r.seconds.online) },
        { label: t("rep.k.busy"), class: "num", value: (r) => dur(r.seconds.busy) },
        { label: t("rep.k.break"), class: "num", value: (r) => dur(r.seconds.break) },
        { label: t("rep.k.breaks"), value: (r) => Object.entries(r.breaks || {}).map(([k, v]) => `${k}: ${dur(v)}`).join(", ") || "—" },
        { label: t("rep.k.status_changes"), class: "num", value: (r) => fmtNumber(sum(Object.values(r.status_changes || {}))) },
        { label: t("rep.k.current"), value: (r) => (r.current ? h("span", {}, badge(label("rep.presence", r.current.status), r.current.status),
          r.current.break_type ? ` ${r.current.break_type}` : "", " ", h("small", { class: "hint" }, t("rep.since", { at: fmtTime(r.current.since) }))) : "—") },
      ], rows, { caption: t("rep.users_table"), empty: t("rep.no_data"), testid: "report-table" }))];
  }

  // -- the monthly executive summary ---------------------------------------------------------------------------
  const month = h("input", { type: "month", required: true, value: params.month || thisMonthLocal(), "data-testid": "rep-month" });
  const monthBox = h("div", { "data-testid": "monthly-summary", "aria-live": "polite" });
  const FIGURES = [["conversations_opened", fmtNumber], ["conversations_closed", fmtNumber], ["resolved_by_bot_percent", (v) => pct(v)],
    ["messages_in", fmtNumber], ["messages_out", fmtNumber], ["avg_first_response_s", dur], ["avg_first_agent_response_s", dur],
    ["avg_resolution_s", dur], ["csat_avg", (v) => (v === null ? "—" : `${fmtNumber(v, 2)} / 5`)], ["csat_answers", fmtNumber],
    ["negative_conversations_percent", (v) => pct(v)], ["bot_sessions", fmtNumber], ["new_contacts", fmtNumber], ["returning_contacts", fmtNumber]];
  async function runMonth() {
    if (!/^\d{4}-\d{2}$/.test(month.value)) { clear(monthBox, h("p", { class: "error", role: "alert" }, t("rep.month_needed"))); return; }
    clear(monthBox, h("p", { role: "status" }, t("common.loading")));
    try {
      const m = await api("GET", `/v1/reports/monthly/${month.value}`, null, { query: { tz: tz.value.trim() || DEFAULT_ZONE } });
      const change = m.change_vs_previous_month || {};
      const changeText = (k) => {
        const c = change[k];
        if (c === null || c === undefined) return null;
        return t("rep.m.change", { v: `${c > 0 ? "+" : ""}${fmtNumber(c, 1)}` });
      };
      clear(monthBox,
        h("div", { class: "row" }, h("h3", {}, t("rep.m.title_for", { month: m.month })), h("span", { class: "hint" }, m.time_zone),
          h("span", { class: "spacer" }), printButton()),
        kpiGrid(FIGURES.filter(([k]) => k in (m.figures || {})).map(([k, fmt]) => kpi(label("rep.m", k), fmt(m.figures[k]), { testid: `rep-m-${k}`, hint: changeText(k) }))),
        m.usage ? kpiGrid([kpi(t("rep.m.sessions"), fmtNumber(m.usage.sessions)), kpi(t("rep.m.meta_cost"), money(m.usage.meta_cost_usd, "USD", 4))]) : null,
        table([
          { label: t("rep.col.agent"), value: (r) => who(r.agent) },
          { label: t("rep.k.closed"), class: "num", value: (r) => fmtNumber(r.closed) },
          { label: t("rep.k.first_agent_response"), class: "num", value: (r) => dur(r.avg_first_response_s) },
          { label: t("rep.k.csat_avg"), class: "num", value: (r) => (r.csat_avg === null ? "—" : fmtNumber(r.csat_avg, 2)) },
        ], m.top_agents || [], { caption: t("rep.m.top_agents"), empty: t("rep.no_data"), testid: "monthly-top-agents" }));
    } catch (err) {
      clear(monthBox, h("p", { class: "error", role: "alert" }, errorText(err)));
    }
  }
  const monthCard = h("section", { class: "card", "aria-labelledby": "rep-month-title" },
    h("h2", { id: "rep-month-title" }, t("rep.m.title")),
    h("form", { class: "row", onsubmit: (e) => { e.preventDefault(); runMonth(); } }, field(t("rep.m.month"), month, t("rep.m.hint")),
      h("button", { type: "submit", class: "primary", "data-testid": "rep-month-run" }, t("rep.m.run"))),
    monthBox);

  // -- the CSV export: synchronous, answers with a signed link valid for an hour --------------------------------
  const exportBox = h("div", { "data-testid": "export-result", "aria-live": "polite" });
  const exportButton = h("button", { type: "button", "data-testid": "rep-export", onclick: async () => {
    if (from.value > to.value) { clear(exportBox, h("p", { class: "error", role: "alert" }, t("rep.bad_range"))); return; }
    exportButton.disabled = true;
    clear(exportBox, h("p", { role: "status" }, t("rep.x.working")));
    try {
      const x = await api("POST", "/v1/reports/exports", { from: from.value, to: to.value, tz: tz.value.trim() || DEFAULT_ZONE });
      clear(exportBox, h("p", {}, t("rep.x.ready", { n: fmtNumber(x.rows), from: from.value, to: to.value }), " ",
        h("a", { href: x.download_url, download: `conversaciones-${from.value}-${to.value}.csv`, rel: "noopener", "data-testid": "export-link" }, t("rep.x.download")),
        " ", h("small", { class: "hint" }, t("rep.x.expires", { at: fmtTime(x.url_expires_at) }))));
    } catch (err) {
      clear(exportBox, h("p", { class: "error", role: "alert" }, errorText(err)));
    } finally {
      exportButton.disabled = false;
    }
  } }, t("rep.x.run"));
  const exportCard = h("section", { class: "card", "aria-labelledby": "rep-export-title" },
    h("h2", { id: "rep-export-title" }, t("rep.x.title")), h("p", { class: "hint" }, t("rep.x.hint")),
    h("div", { class: "row" }, exportButton), exportBox);

  clear(root, h("h1", {}, t("rep.title")), form, result, monthCard, exportCard);
  await run();
}

// ==============================================================================================================
// usage: sessions and Meta charges, quotas, AWS cost, the quote calculator
// ==============================================================================================================
const CHANNEL_KINDS = ["whatsapp", "messenger", "instagram", "telegram", "sms", "webchat", "email"];
const BOT_GENERATIONS = ["menu", "keywords", "nlu", "ai"];
const COMPLEXITIES = ["simple", "standard", "complex"];
const CATEGORIES = ["MARKETING", "UTILITY", "AUTHENTICATION"];

async function renderUsage(root, params) {
  const channels = await api("GET", "/v1/channels").then((r) => r.items || []).catch(() => []);
  const channelName = (id) => {
    const c = channels.find((x) => x.channel_id === id);
    return c ? `${c.channel_id} · ${label("rep.kind", c.kind)}` : id;
  };
  const month = h("input", { type: "month", required: true, value: params.month || thisMonthUtc(), "data-testid": "usage-month" });
  const usageBox = h("section", { class: "card", "data-testid": "usage", "aria-labelledby": "use-title" });
  const quotaBox = h("section", { class: "card", "data-testid": "quotas", "aria-labelledby": "quota-title" });
  const costBox = h("section", { class: "card", "data-testid": "costs", "aria-labelledby": "cost-title" });
  const loading = (box, id, title) => clear(box, h("h2", { id }, title), h("p", { role: "status" }, t("common.loading")));

  async function load() {
    if (!/^\d{4}-\d{2}$/.test(month.value)) { toast(t("rep.month_needed"), "error"); return; }
    setParams({ month: month.value });
    loading(usageBox, "use-title", t("use.title"));
    loading(quotaBox, "quota-title", t("quota.title"));
    loading(costBox, "cost-title", t("cost.title"));
    const [usage, quotas, costs] = await Promise.allSettled([
      api("GET", "/v1/usage", null, { query: { month: month.value } }),
      api("GET", "/v1/quotas"),
      api("GET", "/v1/costs", null, { query: { month: month.value } }),
    ]);
    const fail = (box, id, title, err) => clear(box, h("h2", { id }, title), h("p", { class: "error", role: "alert" }, errorText(err)));
    if (usage.status === "fulfilled") showUsage(usage.value); else fail(usageBox, "use-title", t("use.title"), usage.reason);
    if (quotas.status === "fulfilled") showQuotas(quotas.value); else fail(quotaBox, "quota-title", t("quota.title"), quotas.reason);
    if (costs.status === "fulfilled") showCosts(costs.value); else fail(costBox, "cost-title", t("cost.title"), costs.reason);
  }

  function showUsage(u) {
    const s = u.sessions || {};
    const meta = u.meta || {};
    const ai = sum(Object.values(s.ai || {}));
    const byChannel = Object.entries(u.sessions_by_channel || {});
    const metaBy = u.meta_by_channel || {};
    const cats = [...new Set([...Object.keys(meta.messages || {}), ...Object.keys(meta.billable || {}), ...Object.keys(meta.cost_usd || {})])];
    const markets = Object.entries(meta.by_market || {});
    const marketCats = [...new Set(markets.flatMap(([, v]) => Object.keys(v)))];
    clear(usageBox,
      h("div", { class: "row" }, h("h2", { id: "use-title" }, t("use.title_for", { month: u.month })), h("span", { class: "spacer" }), printButton()),
      kpiGrid([
        kpi(t("use.sessions"), fmtNumber(s.total), { testid: "usage-sessions",
          hint: u.max_sessions_per_month ? t("use.of_plan", { limit: fmtNumber(u.max_sessions_per_month) }) : t("use.no_limit") }),
        kpi(t("use.no_bot"), fmtNumber(s.no_bot)), kpi(t("use.bot_only"), fmtNumber(s.bot_only)),
        kpi(t("use.ai"), fmtNumber(ai), { hint: Object.entries(s.ai || {}).map(([k, v]) => `${k}: ${fmtNumber(v)}`).join(" · ") || null }),
        kpi(t("use.over_plan"), fmtNumber(u.sessions_over_plan), { testid: "usage-over-plan" }),
        kpi(t("use.meta_cost"), money(meta.total_cost_usd, "USD", 4), { testid: "usage-meta-cost",
          hint: meta.rate_card_effective_from ? t("bc.cost.rate_card", { date: meta.rate_card_effective_from }) : null }),
      ], "usage-kpis"),
      h("p", { class: "hint" }, t("use.session_note", { hours: fmtNumber(u.session_idle_hours, 1) })),
      chartBlock(t("use.chart_sessions"), byChannel.map(([ch, v]) => ({ label: ch, value: v.total || 0 })),
        { names: [t("use.sessions")], labelHeader: t("use.channel"), testid: "usage-chart" }),
      table([
        { label: t("use.channel"), value: ([ch]) => channelName(ch) },
        { label: t("use.sessions"), class: "num", value: ([, v]) => fmtNumber(v.total) },
        { label: t("use.no_bot"), class: "num", value: ([, v]) => fmtNumber(v.no_bot) },
        { label: t("use.bot_only"), class: "num", value: ([, v]) => fmtNumber(v.bot_only) },
        { label: t("use.ai"), class: "num", value: ([, v]) => fmtNumber(sum(Object.values(v.ai || {}))) },
        { label: t("use.not_ended"), class: "num", value: ([, v]) => fmtNumber(v.not_ended) },
        { label: t("use.meta_messages"), class: "num", value: ([ch]) => (metaBy[ch] ? fmtNumber(sum(Object.values(metaBy[ch].messages || {}))) : "—") },
        { label: t("use.meta_cost"), class: "num", value: ([ch]) => (metaBy[ch] ? money(metaBy[ch].total_cost_usd, "USD", 4) : "—") },
      ], byChannel, { caption: t("use.by_channel"), empty: t("rep.no_data"), testid: "usage-by-channel" }),
      Object.keys(s.ended || {}).length ? breakdown(t("use.ended"), s.ended, "use.end") : null,
      h("h3", {}, t("use.meta_title")),
      kpiGrid([kpi(t("use.user_initiated"), fmtNumber(meta.user_initiated)), kpi(t("use.business_initiated"), fmtNumber(meta.business_initiated)),
        kpi(t("use.cbp_windows"), fmtNumber(meta.cbp_windows_total), { hint: t("use.cbp_hint") })]),
      table([
        { label: t("bc.tpl.category"), value: (c) => label("bc.cat", c.toUpperCase()) },
        { label: t("use.meta_messages"), class: "num", value: (c) => fmtNumber((meta.messages || {})[c] || 0) },
        { label: t("use.billable"), class: "num", value: (c) => fmtNumber((meta.billable || {})[c] || 0) },
        { label: t("use.cbp_windows"), class: "num", value: (c) => fmtNumber((meta.cbp_windows || {})[c] || 0) },
        { label: t("use.cost"), class: "num", value: (c) => money((meta.cost_usd || {})[c] || 0, "USD", 4) },
      ], cats, { caption: t("use.by_category"), empty: t("use.no_meta"), testid: "usage-meta" }),
      markets.length ? table([
        { label: t("bc.cost.market"), value: ([m]) => m },
        ...marketCats.map((c) => ({ label: label("bc.cat", c.toUpperCase()), class: "num", value: ([, v]) => fmtNumber(v[c] || 0) })),
      ], markets, { caption: t("use.by_market"), testid: "usage-markets" }) : null);
  }

  function showQuotas(q) {
    const rows = (q.items || []).map((item) => {
      const id = `quota-${item.resource}`;
      const limited = item.limit !== null && item.limit !== undefined;
      const over = (item.over_plan || 0) > 0;
      return h("div", { class: "card", "data-testid": id, "aria-labelledby": `${id}-label` },
        h("div", { class: "row" }, h("strong", { id: `${id}-label` }, label("quota.res", item.resource)),
          h("span", { class: "hint" }, item.period === "current" ? t("quota.current") : t("quota.period", { period: item.period })),
          h("span", { class: "spacer" }),
          over ? badge(t("quota.over", { n: fmtNumber(item.over_plan) }), "urgent") : null,
          ...(item.thresholds_reached || []).map((th) => badge(t("quota.threshold", { n: th }), th >= 100 ? "urgent" : "busy"))),
        limited ? h("progress", { max: Math.max(1, item.limit), value: Math.min(item.used, Math.max(1, item.limit)),
          "aria-labelledby": `${id}-label`, "aria-describedby": `${id}-text`, "data-testid": `${id}-bar` }) : null,
        h("p", { id: `${id}-text` }, limited
          ? t("quota.used_of", { used: fmtNumber(item.used), limit: fmtNumber(item.limit), pct: fmtNumber(item.percent, 1) })
          : t("quota.used_unlimited", { used: fmtNumber(item.used) })),
        h("details", {}, h("summary", {}, t("quota.more")),
          h("dl", { class: "props" }, h("dt", {}, t("quota.counts")), h("dd", {}, label("quota.what", item.resource) === item.resource ? item.what_counts : label("quota.what", item.resource)),
            h("dt", {}, t("quota.at_limit")), h("dd", {}, label("quota.limit", item.resource) === item.resource ? item.at_limit : label("quota.limit", item.resource)))));
    });
    clear(quotaBox, h("h2", { id: "quota-title" }, t("quota.title")),
      h("p", { class: "hint" }, t("quota.plan", { plan: q.plan, month: q.month, thresholds: (q.alert_thresholds || []).map((x) => `${x} %`).join(", ") })),
      h("div", { class: "grid" }, rows));
  }

  function showCosts(c) {
    const usd6 = (v) => money(v, c.currency || "USD", 6);
    const kinds = Object.entries(c.subtotals || {});
    clear(costBox, h("h2", { id: "cost-title" }, t("cost.title_for", { month: c.month })),
      kpiGrid([kpi(t("cost.total"), usd6(c.total), { testid: "cost-total", hint: t("cost.versions", { prices: c.price_list_version, profile: c.profile_version }) })]),
      chartBlock(t("cost.chart"), kinds.map(([k, v]) => ({ label: label("cost.kind", k), value: Number(v) })),
        { names: [t("cost.usd")], format: (v) => fmtNumber(v, 6), labelHeader: t("cost.kind_col"), testid: "cost-chart" }),
      breakdown(t("cost.operations"), c.counts, "cost.op", { testid: "cost-counts" }),
      Object.keys(c.unpriced || {}).length ? h("div", { role: "alert" }, breakdown(t("cost.unpriced"), c.unpriced, "cost.op")) : null,
      h("details", {}, h("summary", {}, t("cost.lines", { n: (c.lines || []).length })),
        table([
          { label: t("cost.operation"), value: (l) => label("cost.op", l.operation) },
          { label: t("cost.resource"), value: (l) => h("code", {}, l.resource) },
          { label: t("cost.count"), class: "num", value: (l) => fmtNumber(l.count) },
          { label: t("cost.quantity"), class: "num", value: (l) => `${fmtNumber(l.quantity, 4)} ${l.unit}` },
          { label: t("cost.unit_price"), class: "num", value: (l) => l.unit_price },
          { label: t("cost.amount"), class: "num", value: (l) => usd6(l.amount) },
        ], c.lines || [], { caption: t("cost.lines_caption"), testid: "cost-lines" })),
      h("details", {}, h("summary", {}, t("cost.assumptions")), h("p", { class: "hint" }, t("cost.assumptions_lang")),
        h("ul", {}, (c.assumptions || []).map((a) => h("li", {}, a)))));
  }

  // -- the quote calculator -------------------------------------------------------------------------------------
  const quoteError = h("p", { class: "error", role: "alert", "data-testid": "quote-error" });
  const quoteResult = h("div", { "data-testid": "quote-result", "aria-live": "polite" });
  const chBoxes = CHANNEL_KINDS.map((k) => h("input", { type: "checkbox", value: k, checked: k === "whatsapp", "data-testid": `quote-ch-${k}` }));
  const bot = h("select", { "data-testid": "quote-bot", onchange: () => { aiTier.disabled = bot.value !== "ai"; } },
    BOT_GENERATIONS.map((g) => h("option", { value: g }, label("quote.gen", g))));
  bot.value = "menu";
  const aiTier = h("select", { "data-testid": "quote-ai-tier", disabled: true }, ["LITE", "PRO"].map((x) => h("option", { value: x }, label("quote.tier", x))));
  const sessions = h("input", { type: "number", min: 0, step: 1, required: true, value: "1000", "data-testid": "quote-sessions" });
  const agents = h("input", { type: "number", min: 0, step: 1, value: "0", "data-testid": "quote-agents" });
  const market = h("input", { type: "text", "data-testid": "quote-market", placeholder: "+54", autocomplete: "off", pattern: "^(\\+?[0-9]{1,15}|[a-z][a-z_]{1,39})$" });
  const volumes = Object.fromEntries(CATEGORIES.map((c) => [c, h("input", { type: "number", min: 0, step: 1, "data-testid": `quote-msg-${c}` })]));
  const discount = h("input", { type: "number", min: 0, max: 100, step: 0.01, "data-testid": "quote-discount" });
  const discountReason = h("input", { type: "text", maxlength: 200, "data-testid": "quote-discount-reason", autocomplete: "off" });
  const discountApplies = h("select", { "data-testid": "quote-discount-applies" }, ["both", "setup", "monthly"].map((x) => h("option", { value: x }, label("quote.applies", x))));
  const useCaseList = h("div", { "data-testid": "quote-use-cases" });
  const useCases = [];
  let ucSeq = 0;
  function addUseCase() {
    const n = ++ucSeq;
    const row = { name: h("input", { type: "text", required: true, maxlength: 80, "data-testid": `quote-uc-name-${n}`, autocomplete: "off" }),
      complexity: h("select", { "data-testid": `quote-uc-complexity-${n}` }, COMPLEXITIES.map((c) => h("option", { value: c }, label("quote.cx", c)))),
      integrations: h("input", { type: "number", min: 0, max: 100, step: 1, value: "0", "data-testid": `quote-uc-integrations-${n}` }) };
    row.complexity.value = "standard";
    row.el = h("fieldset", { class: "row" }, h("legend", {}, t("quote.uc_n", { n: useCases.length + 1 })),
      field(t("quote.uc_name"), row.name), field(t("quote.uc_complexity"), row.complexity), field(t("quote.uc_integrations"), row.integrations),
      h("button", { type: "button", "aria-label": t("quote.uc_remove_n", { n: useCases.length + 1 }), "data-testid": `quote-uc-remove-${n}`,
        onclick: () => { useCases.splice(useCases.indexOf(row), 1); row.el.remove(); } }, t("quote.uc_remove")));
    useCases.push(row);
    useCaseList.append(row.el);
    row.name.focus();
  }

  function quoteBody() {
    const body = { channels: chBoxes.filter((c) => c.checked).map((c) => c.value), bot_generation: bot.value,
      use_cases: useCases.map((u) => ({ name: u.name.value.trim(), complexity: u.complexity.value, integrations: parseInt(u.integrations.value || "0", 10) })),
      expected_monthly_sessions: parseInt(sessions.value || "0", 10), agents: parseInt(agents.value || "0", 10) };
    if (bot.value === "ai") body.ai_tier = aiTier.value;
    const messages = Object.fromEntries(CATEGORIES.map((c) => [c, parseInt(volumes[c].value || "0", 10)]).filter(([, v]) => v > 0));
    if (market.value.trim() && Object.keys(messages).length && body.channels.includes("whatsapp")) {
      body.whatsapp_templates = { market: market.value.trim(), messages };
    }
    if (Number(discount.value) > 0) {
      body.discount = { percent: String(discount.value), reason: discountReason.value.trim() || "-", applies_to: discountApplies.value };
    }
    return body;
  }

  const quoteForm = h("form", { "data-testid": "quote-form", onsubmit: async (e) => {
    e.preventDefault();
    quoteError.textContent = "";
    const body = quoteBody();
    if (!body.channels.length) { quoteError.textContent = t("quote.need_channel"); return; }
    if (Number(discount.value) > 0 && !discountReason.value.trim()) { quoteError.textContent = t("quote.need_reason"); discountReason.focus(); return; }
    clear(quoteResult, h("p", { role: "status" }, t("common.loading")));
    try {
      showQuote(await api("POST", "/v1/quotes", body));
    } catch (err) {
      clear(quoteResult);
      quoteError.textContent = errorText(err);
    }
  } },
  h("div", { class: "grid" },
    h("fieldset", {}, h("legend", {}, t("quote.channels")),
      chBoxes.map((c) => h("div", {}, h("label", {}, c, " ", label("rep.kind", c.value))))),
    h("div", {}, field(t("quote.bot"), bot), field(t("quote.ai_tier"), aiTier, t("quote.ai_tier_hint")),
      field(t("quote.sessions"), sessions, t("quote.sessions_hint")), field(t("quote.agents"), agents)),
    h("fieldset", {}, h("legend", {}, t("quote.wa")), field(t("quote.market"), market, t("quote.market_hint")),
      CATEGORIES.map((c) => field(t("quote.msgs", { category: label("bc.cat", c) }), volumes[c]))),
    h("fieldset", {}, h("legend", {}, t("quote.discount")), field(t("quote.discount_pct"), discount),
      field(t("quote.discount_reason"), discountReason), field(t("quote.discount_applies"), discountApplies))),
  h("fieldset", {}, h("legend", {}, t("quote.use_cases")), h("p", { class: "hint" }, t("quote.use_cases_hint")), useCaseList,
    h("button", { type: "button", "data-testid": "quote-uc-add", onclick: addUseCase }, t("quote.uc_add"))),
  quoteError,
  h("div", { class: "row" }, h("button", { type: "submit", class: "primary", "data-testid": "quote-submit" }, t("quote.submit"))));

  function showQuote(q) {
    const cur = q.currency || "USD";
    const lineTable = (caption, lines, testid) => table([
      { label: t("quote.col.description"), value: (l) => h("div", {}, l.description, h("br"), h("small", { class: "hint" }, l.explanation)) },
      { label: t("quote.col.quantity"), class: "num", value: (l) => fmtNumber(l.quantity) },
      { label: t("quote.col.unit"), class: "num", value: (l) => money(l.unit_price, cur, String(l.unit_price).split(".")[1]?.length > 2 ? 4 : 2) },
      { label: t("quote.col.amount"), class: "num", value: (l) => money(l.amount, cur) },
    ], lines, { caption, empty: t("rep.no_data"), testid });
    clear(quoteResult,
      h("div", { class: "row" }, h("h3", {}, t("quote.result")), h("span", { class: "hint" }, t("quote.book", { v: q.price_book_version })),
        h("span", { class: "spacer" }), printButton()),
      kpiGrid([
        kpi(t("quote.setup_total"), money(q.totals.setup, cur), { testid: "quote-setup-total", hint: t("quote.subtotal", { v: money(q.subtotals.setup, cur) }) }),
        kpi(t("quote.monthly_total"), money(q.totals.monthly, cur), { testid: "quote-monthly-total", hint: t("quote.subtotal", { v: money(q.subtotals.monthly, cur) }) }),
        (q.passthrough_lines || []).length ? kpi(t("quote.passthrough_total"), money(q.passthrough_total, cur), { testid: "quote-passthrough-total", hint: t("quote.passthrough_hint") }) : null,
      ]),
      lineTable(t("quote.setup_lines"), q.setup_lines || [], "quote-setup-lines"),
      lineTable(t("quote.monthly_lines"), q.monthly_lines || [], "quote-monthly-lines"),
      (q.discount_lines || []).length ? lineTable(t("quote.discount_lines"), q.discount_lines, "quote-discount-lines") : null,
      (q.passthrough_lines || []).length ? lineTable(t("quote.passthrough_lines"), q.passthrough_lines, "quote-passthrough-lines") : null,
      (q.notes || []).length ? h("div", {}, h("h4", {}, t("quote.notes")), h("ul", {}, q.notes.map((n) => h("li", {}, n)))) : null,
      h("p", { class: "hint" }, t("quote.lang_note")));
  }

  const quoteCard = h("section", { class: "card", "aria-labelledby": "quote-title", "data-testid": "quote" },
    h("h2", { id: "quote-title" }, t("quote.title")), h("p", { class: "hint" }, t("quote.hint")), quoteForm, quoteResult);

  clear(root, h("h1", {}, t("use.page_title")),
    h("form", { class: "row no-print", onsubmit: (e) => { e.preventDefault(); load(); } },
      field(t("use.month"), month, t("use.month_hint")),
      h("button", { type: "submit", class: "primary", "data-testid": "usage-refresh" }, t("use.show"))),
    usageBox, quotaBox, costBox, quoteCard);
  await load();
}

register("broadcasts", { label: "nav.broadcasts", roles: ["admin"], section: "admin", render: renderBroadcasts });
register("reports", { label: "nav.reports", roles: ["supervisor", "admin"], section: "admin", render: renderReports });
register("usage", { label: "nav.usage", roles: ["admin"], section: "admin", render: renderUsage });

addStrings({
  es: {
    "nav.broadcasts": "Difusiones", "nav.reports": "Reportes", "nav.usage": "Uso y costos",
    "chart.items": "{n} elementos", "chart.total": "total {value}", "chart.max": "máximo {value} ({at})",
    "chart.no_data": "sin datos", "chart.numbers": "Ver los números",
    // broadcasts
    "bc.title": "Difusiones y plantillas de WhatsApp", "bc.channel": "Canal", "bc.disabled": "deshabilitado",
    "bc.no_whatsapp": "No hay canales de WhatsApp: conectá uno para usar plantillas y difusiones.",
    "bc.actions": "Acciones", "bc.more": "Cargar más", "bc.name": "Nombre", "bc.template": "Plantilla",
    "bc.status_col": "Estado", "bc.progress": "Progreso", "bc.created": "Creada", "bc.started": "Inicio",
    "bc.completed": "Fin", "bc.scheduled_for": "Programada para", "bc.variables": "Variables",
    "bc.on_reply": "Al responder", "bc.recipients": "Destinatarios",
    "bc.progress_of": "Progreso de {name}", "bc.progress_text": "{done} de {total} ({pct} %)",
    "bc.auto_refresh": "Se actualiza cada 3 segundos", "bc.open": "Ver", "bc.open_named": "Ver la difusión {name}",
    "bc.new": "Nueva difusión", "bc.list.title": "Difusiones", "bc.list.caption": "Difusiones, de la más nueva a la más vieja",
    "bc.list.empty": "Todavía no hay difusiones.",
    "bc.tpl.title": "Plantillas", "bc.tpl.sync": "Sincronizar con Meta", "bc.tpl.all": "Todos los estados",
    "bc.tpl.filter_status": "Estado", "bc.tpl.name": "Nombre", "bc.tpl.language": "Idioma", "bc.tpl.category": "Categoría",
    "bc.tpl.status": "Estado", "bc.tpl.quality": "Calidad", "bc.tpl.lint": "Observaciones", "bc.tpl.synced_at": "Sincronizada",
    "bc.tpl.view": "Ver", "bc.tpl.view_named": "Ver la plantilla {name}", "bc.tpl.view_title": "Plantilla {name} ({language})",
    "bc.tpl.use": "Usar", "bc.tpl.use_named": "Nueva difusión con la plantilla {name}",
    "bc.tpl.caption": "Plantillas de {channel} ({n})", "bc.tpl.empty": "No hay plantillas: sincronizalas con Meta.",
    "bc.tpl.synced": "Plantillas sincronizadas: {added} nuevas, {updated} actualizadas, {removed} quitadas ({total} en total)",
    "bc.tpl.recategorized": "Meta la va a recategorizar como {category}", "bc.tpl.rejected": "Motivo del rechazo",
    "bc.tpl.detail": "Detalle de Meta", "bc.tpl.variables": "Variables", "bc.tpl.no_variables": "La plantilla no tiene variables.",
    "bc.comp.HEADER": "Encabezado", "bc.comp.BODY": "Cuerpo", "bc.comp.FOOTER": "Pie", "bc.comp.BUTTONS": "Botones",
    "bc.comp.example_media": "Encabezado multimedia: se indica el archivo en cada difusión.",
    "bc.tstatus.APPROVED": "Aprobada", "bc.tstatus.PENDING": "En revisión", "bc.tstatus.REJECTED": "Rechazada",
    "bc.tstatus.PAUSED": "Pausada", "bc.tstatus.DISABLED": "Deshabilitada", "bc.tstatus.IN_APPEAL": "En apelación",
    "bc.cat.MARKETING": "Marketing", "bc.cat.UTILITY": "Utilidad", "bc.cat.AUTHENTICATION": "Autenticación", "bc.cat.SERVICE": "Servicio",
    "bc.quality.GREEN": "Alta", "bc.quality.YELLOW": "Media", "bc.quality.RED": "Baja", "bc.quality.UNKNOWN": "Sin datos",
    "bc.severity.warning": "Advertencia", "bc.severity.error": "Error",
    "bc.status.draft": "Borrador", "bc.status.preparing": "Preparando", "bc.status.ready": "Lista",
    "bc.status.scheduled": "Programada", "bc.status.sending": "Enviando", "bc.status.paused": "Pausada",
    "bc.status.completed": "Terminada", "bc.status.cancelled": "Cancelada", "bc.status.failed": "Falló",
    "bc.count.queued": "En cola", "bc.count.sending": "Enviando", "bc.count.sent": "Enviados", "bc.count.delivered": "Entregados",
    "bc.count.read": "Leídos", "bc.count.replied": "Respondidos", "bc.count.failed": "Fallidos",
    "bc.count.unconfirmed": "Sin confirmar", "bc.count.excluded": "Excluidos", "bc.count.total": "Total",
    "bc.counts_chart": "Destinatarios por estado",
    "bc.form.title": "Nueva difusión", "bc.form.audience": "Audiencia", "bc.form.variables": "Variables de la plantilla",
    "bc.form.template_hint": "Solo se pueden enviar plantillas aprobadas.", "bc.form.template_text": "Ver el texto de la plantilla",
    "bc.form.no_templates": "Sin plantillas: sincronizalas primero", "bc.form.advanced": "Opciones avanzadas",
    "bc.form.rate": "Mensajes por segundo", "bc.form.rate_hint": "Vacío: el rendimiento del número (80 por defecto).",
    "bc.form.attribution": "Ventana de atribución (horas)", "bc.form.attribution_hint": "Las respuestas dentro de esta ventana cuentan para la difusión.",
    "bc.form.reply_tag": "Etiqueta para quienes respondan", "bc.form.reply_tag_hint": "Opcional.",
    "bc.form.reply_flow": "Nodo del bot al responder", "bc.form.reply_flow_hint": "Opcional; el bot tiene que estar asociado al canal.",
    "bc.form.prepare_now": "Preparar al crear (destinatarios, exclusiones y costo)", "bc.form.create": "Crear borrador",
    "bc.form.created": "Difusión «{name}» creada", "bc.form.missing": "Completá las variables: {slots}",
    "bc.aud.kind": "Origen de la audiencia", "bc.aud.segment": "Segmento", "bc.aud.tags": "Etiquetas",
    "bc.aud.contacts": "Contactos", "bc.aud.file": "Lista subida (id de archivo)", "bc.aud.exclude": "Excluir etiquetas",
    "bc.aud.list_hint": "Separadas por comas.", "bc.aud.contacts_hint": "Ids de contacto, uno por línea o separados por comas (hasta 1.000).",
    "bc.aud.file_hint": "Un CSV subido con la API de archivos, con una columna phone o whatsapp.",
    "bc.aud.country": "País por defecto", "bc.aud.country_hint": "Código de 2 letras para teléfonos en formato nacional (ej. AR).",
    "bc.aud.pick": "Elegir contactos…", "bc.aud.recent": "Contactos recientes", "bc.aud.use_selected": "Usar los elegidos",
    "bc.aud.no_contacts": "No hay contactos.", "bc.aud.no_segments": "No hay segmentos guardados",
    "bc.aud.segment_is": "segmento {id}", "bc.aud.tags_are": "etiquetas: {tags}", "bc.aud.contacts_n": "{n} contactos",
    "bc.aud.file_is": "lista {id}", "bc.aud.exclude_are": "sin las etiquetas: {tags}",
    "bc.var.source": "Origen", "bc.var.value": "Valor fijo", "bc.var.field": "Dato del contacto", "bc.var.input": "Valor o campo",
    "bc.var.default": "Valor por defecto", "bc.var.default_hint": "Si el dato del contacto está vacío.",
    "bc.var.example": "Ejemplo: {example}", "bc.var.optional": "opcional",
    "bc.var.media_hint": "Una URL https del archivo, o {\"id\": \"…\"} de un medio subido.",
    "bc.var.location_hint": "JSON: {\"latitude\": …, \"longitude\": …, \"name\": …, \"address\": …}",
    "bc.var.kind.text": "texto", "bc.var.kind.image": "imagen", "bc.var.kind.video": "video", "bc.var.kind.document": "documento",
    "bc.var.kind.location": "ubicación", "bc.var.kind.url_suffix": "final de la URL", "bc.var.kind.coupon_code": "código de cupón",
    "bc.var.kind.otp_code": "código de verificación", "bc.var.kind.payload": "dato del botón",
    "bc.field.name": "Nombre", "bc.field.first_name": "Nombre de pila", "bc.field.phone": "Teléfono", "bc.field.email": "Correo",
    "bc.field.language": "Idioma", "bc.field.lifecycle": "Etapa", "bc.field.contact_id": "Id de contacto",
    "bc.act.prepare": "Preparar", "bc.act.reprepare": "Preparar de nuevo", "bc.act.preview": "Vista previa",
    "bc.act.start": "Enviar ahora", "bc.act.schedule": "Programar", "bc.act.pause": "Pausar", "bc.act.resume": "Reanudar",
    "bc.act.cancel": "Cancelar la difusión", "bc.act.retry": "Reintentar fallidos",
    "bc.done.prepare": "Preparando la audiencia", "bc.done.start": "Difusión iniciada", "bc.done.schedule": "Difusión programada",
    "bc.done.pause": "Difusión pausada", "bc.done.resume": "Difusión reanudada", "bc.done.cancel": "Difusión cancelada",
    "bc.start_legend": "Envío", "bc.start_draft_hint": "Un borrador se prepara primero y después sale solo.",
    "bc.schedule_at": "Fecha y hora", "bc.time_zone": "Zona horaria", "bc.schedule_needed": "Elegí la fecha y hora del envío",
    "bc.allow_over_tier": "Enviar aunque supere el límite de mensajería (Meta rechaza el excedente)",
    "bc.confirm.start_title": "¿Enviar la difusión?", "bc.confirm.start_text": "«{name}» sale ahora a {n} destinatarios. Costo estimado: {cost}.",
    "bc.confirm.cancel_title": "¿Cancelar la difusión?", "bc.confirm.cancel_text": "«{name}» se cancela y no se puede retomar.",
    "bc.preparing": "Preparando la audiencia: destinatarios, exclusiones, costo y límite de mensajería…",
    "bc.sending_hint": "Enviando: el progreso se actualiza cada 3 segundos.", "bc.paused_reason": "Motivo de la pausa: {reason}",
    "bc.preview.title": "Vista previa", "bc.preview.contact": "Contacto (id)", "bc.preview.contact_hint": "Vacío: el primero de la audiencia.",
    "bc.preview.result": "Así lo recibe", "bc.preview.eligible": "Recibe la difusión", "bc.preview.excluded": "Excluido",
    "bc.preview.to": "Para {to}",
    "bc.cost.title": "Costo estimado (cargos de Meta)", "bc.cost.total": "Costo estimado", "bc.cost.eligible": "Destinatarios",
    "bc.cost.excluded": "Excluidos", "bc.cost.candidates": "Contactos evaluados", "bc.cost.duplicates": "{n} duplicados (se envía una vez)",
    "bc.cost.rate_card": "Tarifario de Meta del {date}", "bc.cost.market": "Mercado", "bc.cost.count": "Mensajes",
    "bc.cost.unit": "Precio unitario", "bc.cost.subtotal": "Subtotal", "bc.cost.lines": "Costo por mercado y categoría",
    "bc.cost.no_lines": "Sin mensajes con cargo.", "bc.cost.unknown": "desconocido",
    "bc.cost.note": "Las plantillas de utilidad dentro de una ventana de atención abierta no tienen cargo; los duplicados se cuentan una sola vez al enviar.",
    "bc.cost.in_window": "{n} destinatarios tienen la ventana de atención de 24 h abierta.",
    "bc.cost.excluded_by": "Exclusiones por motivo", "bc.cost.prepare_first": "Prepará la difusión para ver los destinatarios, las exclusiones y el costo estimado.",
    "bc.cost.actual": "Costo hasta ahora", "bc.cost.actual_hint": "Entregas con cargo, según el tarifario",
    "bc.tier.ok_badge": "Dentro del límite", "bc.tier.unknown_badge": "Límite desconocido", "bc.tier.unlimited": "sin límite",
    "bc.tier.fits": "Límite de mensajería {name} ({limit} usuarios cada 24 h): {n} destinatarios fuera de la ventana de atención.",
    "bc.tier.over": "La audiencia supera el límite de mensajería {name} ({limit} usuarios cada 24 h): {n} destinatarios fuera de la ventana de atención. Reducila o enviá igual marcando la opción.",
    "bc.tier.unknown": "Meta todavía no informó el límite de mensajería de este número: {n} destinatarios fuera de la ventana de atención.",
    "bc.read_rate": "Tasa de lectura", "bc.reply_rate": "Tasa de respuesta",
    "bc.fail.title_section": "Fallas y exclusiones", "bc.fail.reasons": "Fallas por código de error de Meta", "bc.fail.code": "Código",
    "bc.fail.count": "Cantidad", "bc.fail.no_code": "Sin código", "bc.fail.recipients": "Destinatarios fallidos",
    "bc.fail.class": "Tipo de error", "bc.fail.title": "Error", "bc.fail.attempts": "Intentos", "bc.fail.retry_at": "Reintento desde",
    "bc.fail.none": "Ninguno.", "bc.first_100": "Se muestran los primeros 100.",
    "bc.eclass.transient": "Transitorio", "bc.eclass.throttled": "Límite de velocidad", "bc.eclass.pair_limit": "Límite por destinatario",
    "bc.eclass.marketing_cap": "Tope de marketing de Meta", "bc.eclass.permanent": "Permanente", "bc.eclass.template": "Plantilla",
    "bc.eclass.unconfirmed": "Sin confirmar", "bc.eclass.opted_out": "Se dio de baja",
    "bc.reason.no_whatsapp": "Sin WhatsApp", "bc.reason.invalid_phone": "Teléfono inválido", "bc.reason.excluded_tag": "Etiqueta excluida",
    "bc.reason.opted_out": "Se dio de baja", "bc.reason.no_opt_in": "Sin consentimiento de marketing",
    "bc.reason.missing_variable": "Falta una variable", "bc.reason.invalid_variable": "Variable inválida", "bc.reason.duplicate": "Duplicado",
    "bc.skip.opted_out": "dados de baja", "bc.skip.marketing_cap_waiting": "esperando el tope de marketing", "bc.skip.not_selected": "no elegidos",
    "bc.retry.title": "Reintentar fallidos", "bc.retry.text": "{failed} fallidos y {unconfirmed} sin confirmar.",
    "bc.retry.classes": "Tipos de error", "bc.retry.classes_hint": "Sin marcar ninguno: todos, menos los dados de baja y los que esperan el tope de marketing.",
    "bc.retry.waiting": "Incluir los que esperan el tope de marketing (24 h)", "bc.retry.done": "Reintentados: {n}. Omitidos: {skipped}",
    "bc.rcpt.to": "Número", "bc.rcpt.status": "Estado", "bc.rcpt.contact": "Contacto", "bc.rcpt.reason": "Motivo",
    "bc.rcpt.detail": "Detalle", "bc.rcpt.excluded": "Excluidos", "bc.rcpt.all": "Destinatarios", "bc.rcpt.show": "Ver los destinatarios",
    "bc.rcpt.updated": "Actualizado",
    // reports
    "rep.title": "Reportes", "rep.form_title": "Reporte por días", "rep.report": "Reporte", "rep.from": "Desde", "rep.to": "Hasta",
    "rep.tz": "Zona horaria", "rep.tz_hint": "Los días se cuentan en esta zona.", "rep.filter": "Filtrar por", "rep.filter_value": "Valor del filtro",
    "rep.filter.none": "Sin filtro", "rep.filter.channel": "Canal", "rep.filter.campaign": "Campaña (equipo)", "rep.filter.agent": "Agente",
    "rep.filter_none_available": "No hay opciones", "rep.run": "Ver reporte", "rep.range.7": "Últimos 7 días",
    "rep.range.30": "Últimos 30 días", "rep.range.month": "Este mes", "rep.bad_range": "La fecha «hasta» es anterior a «desde».",
    "rep.period": "Del {from} al {to} ({tz})", "rep.print": "Imprimir", "rep.no_data": "Sin datos en el período.",
    "rep.per_day": "Por día", "rep.per_day_n": "Los números por día ({n} días)", "rep.leaderboard": "Ranking de agentes (por conversaciones cerradas)", "rep.users_table": "Tiempo por estado",
    "rep.since": "desde {at}",
    "rep.name.conversations": "Conversaciones", "rep.name.messages": "Mensajes", "rep.name.responses": "Tiempos de respuesta",
    "rep.name.resolutions": "Resoluciones", "rep.name.assignments": "Asignaciones y colas", "rep.name.csat": "Satisfacción (CSAT)",
    "rep.name.sentiment": "Sentimiento", "rep.name.contacts": "Contactos", "rep.name.bots": "Bots",
    "rep.name.agents": "Agentes", "rep.name.users": "Tiempo de los agentes",
    "rep.col.item": "Concepto", "rep.col.count": "Cantidad", "rep.col.value": "Valor", "rep.col.day": "Día", "rep.col.agent": "Agente",
    "rep.col.score": "Puntaje", "rep.col.sentiment": "Sentimiento",
    "rep.k.opened": "Abiertas", "rep.k.closed": "Cerradas", "rep.k.reopened": "Reabiertas", "rep.k.in": "Entrantes", "rep.k.out": "Salientes",
    "rep.k.failed": "Envíos fallidos", "rep.k.first_response": "Primera respuesta (prom.)",
    "rep.k.first_agent_response": "Primera respuesta de un agente (prom.)", "rep.k.response": "Respuesta (prom.)",
    "rep.k.responses_n": "Respuestas", "rep.k.first_response_n": "Primeras respuestas", "rep.k.business": "En horario de atención: {v}",
    "rep.k.resolved": "Resueltas", "rep.k.avg_resolution": "Resolución (prom.)", "rep.k.queued": "En cola", "rep.k.assigned": "Asignadas",
    "rep.k.transfers": "Transferencias", "rep.k.unassigned": "Desasignadas", "rep.k.overflowed": "Desbordadas",
    "rep.k.avg_wait": "Espera (prom.)", "rep.k.service_level": "Nivel de servicio", "rep.k.csat_avg": "CSAT promedio",
    "rep.k.csat_answers": "Respuestas de CSAT", "rep.k.sent_POSITIVE": "Conversaciones positivas", "rep.k.sent_NEUTRAL": "Conversaciones neutras",
    "rep.k.sent_NEGATIVE": "Conversaciones negativas", "rep.k.sent_MIXED": "Conversaciones mixtas", "rep.k.conversations": "Conversaciones",
    "rep.k.messages": "Mensajes", "rep.k.new": "Nuevos", "rep.k.returning": "Recurrentes", "rep.k.created": "Creados",
    "rep.k.sessions": "Sesiones", "rep.k.turns": "Turnos", "rep.k.ai_turns": "Turnos con IA", "rep.k.transfers_in": "Transferencias recibidas",
    "rep.k.transferred_out": "Transferidas", "rep.k.online": "En línea", "rep.k.busy": "Ocupado", "rep.k.break": "En pausa",
    "rep.k.breaks": "Pausas por tipo", "rep.k.status_changes": "Cambios de estado", "rep.k.current": "Ahora",
    "rep.k.online_h": "Horas en línea", "rep.k.busy_h": "Horas ocupado",
    "rep.chart.conversations": "Conversaciones por día", "rep.chart.messages": "Mensajes por día (entrantes y salientes)",
    "rep.chart.responses": "Tiempo de primera respuesta por día", "rep.chart.resolutions": "Conversaciones resueltas por día",
    "rep.chart.resolution_time": "Tiempo de resolución por día", "rep.chart.assignments": "Encoladas y asignadas por día",
    "rep.chart.wait": "Espera promedio por día", "rep.chart.csat_distribution": "Distribución de puntajes de CSAT",
    "rep.chart.csat_daily": "CSAT promedio por día", "rep.chart.sentiment": "Sentimiento de clientes",
    "rep.chart.negative_daily": "Conversaciones negativas por día", "rep.chart.contacts": "Contactos nuevos y recurrentes por día",
    "rep.chart.bots": "Sesiones y turnos de bots por día", "rep.chart.agents": "Conversaciones por agente",
    "rep.chart.users": "Horas en línea y ocupado por agente",
    "rep.b.closed_by": "Cerradas por", "rep.b.handled_by": "Atendidas por", "rep.b.in_by_type": "Entrantes por tipo",
    "rep.b.out_by_type": "Salientes por tipo", "rep.b.out_by": "Salientes por autor", "rep.b.statuses": "Estados de entrega",
    "rep.b.failed_by_code": "Envíos fallidos por código", "rep.b.first_by": "Primera respuesta por", "rep.b.response_by": "Respuesta promedio por autor",
    "rep.b.resolved_by": "Resueltas por", "rep.b.resolution_by": "Resolución promedio por", "rep.b.closing_notes": "Notas de cierre por categoría",
    "rep.b.assigned_by": "Asignaciones por motivo", "rep.b.overflow_by": "Desbordes por motivo", "rep.b.sentiment_messages": "Mensajes por sentimiento",
    "rep.b.created_by_source": "Contactos creados por origen", "rep.b.by_end": "Sesiones por forma de terminar",
    "rep.b.llm_in": "Tokens de entrada del modelo", "rep.b.llm_out": "Tokens de salida del modelo",
    "rep.v.bot": "Bot", "rep.v.agent": "Agente", "rep.v.system": "Sistema", "rep.v.none": "Nadie", "rep.v.api": "Integración (API)",
    "rep.v.automation": "Automatización", "rep.v.broadcast": "Difusión", "rep.v.sent": "Enviados", "rep.v.delivered": "Entregados",
    "rep.v.read": "Leídos", "rep.v.failed": "Fallidos", "rep.v.text": "Texto", "rep.v.image": "Imagen", "rep.v.audio": "Audio",
    "rep.v.video": "Video", "rep.v.document": "Documento", "rep.v.sticker": "Sticker", "rep.v.location": "Ubicación",
    "rep.v.interactive": "Interactivo", "rep.v.template": "Plantilla", "rep.v.reaction": "Reacción", "rep.v.contacts": "Contactos",
    "rep.v.button": "Botón", "rep.v.POSITIVE": "Positivo", "rep.v.NEGATIVE": "Negativo", "rep.v.NEUTRAL": "Neutro", "rep.v.MIXED": "Mixto",
    "rep.presence.online": "En línea", "rep.presence.busy": "Ocupado", "rep.presence.break": "En pausa", "rep.presence.offline": "Desconectado",
    "rep.kind.whatsapp": "WhatsApp", "rep.kind.messenger": "Messenger", "rep.kind.instagram": "Instagram", "rep.kind.telegram": "Telegram",
    "rep.kind.sms": "SMS", "rep.kind.webchat": "Chat web", "rep.kind.email": "Correo",
    "rep.m.title": "Resumen ejecutivo mensual", "rep.m.month": "Mes", "rep.m.hint": "Días locales en la zona horaria del reporte.",
    "rep.m.run": "Ver resumen", "rep.m.title_for": "Resumen de {month}", "rep.m.change": "{v} % contra el mes anterior",
    "rep.m.top_agents": "Mejores agentes", "rep.m.sessions": "Sesiones del mes",
    "rep.m.meta_cost": "Cargos de Meta", "rep.month_needed": "Elegí un mes (AAAA-MM).",
    "rep.m.conversations_opened": "Conversaciones abiertas", "rep.m.conversations_closed": "Conversaciones cerradas",
    "rep.m.resolved_by_bot_percent": "Resueltas por bots", "rep.m.messages_in": "Mensajes entrantes", "rep.m.messages_out": "Mensajes salientes",
    "rep.m.avg_first_response_s": "Primera respuesta (prom.)", "rep.m.avg_first_agent_response_s": "Primera respuesta de agente (prom.)",
    "rep.m.avg_resolution_s": "Resolución (prom.)", "rep.m.csat_avg": "CSAT promedio", "rep.m.csat_answers": "Respuestas de CSAT",
    "rep.m.negative_conversations_percent": "Conversaciones negativas", "rep.m.bot_sessions": "Sesiones de bots",
    "rep.m.new_contacts": "Contactos nuevos", "rep.m.returning_contacts": "Contactos recurrentes",
    "rep.x.title": "Exportar conversaciones (CSV)", "rep.x.hint": "Una fila por conversación cerrada en el período del formulario de arriba (fechas y zona horaria).",
    "rep.x.run": "Exportar CSV", "rep.x.working": "Generando el archivo…", "rep.x.ready": "{n} conversaciones del {from} al {to}.",
    "rep.x.download": "Descargar el CSV", "rep.x.expires": "Enlace válido hasta: {at}",
    // usage
    "use.page_title": "Uso y costos", "use.month": "Mes", "use.month_hint": "Meses en UTC.", "use.show": "Ver",
    "use.title": "Uso del mes", "use.title_for": "Uso de {month}", "use.sessions": "Sesiones", "use.no_bot": "Sin bot",
    "use.bot_only": "Solo bot", "use.ai": "Con IA", "use.over_plan": "Sesiones fuera del plan", "use.meta_cost": "Cargos de Meta",
    "use.of_plan": "de {limit} del plan", "use.no_limit": "Plan sin límite de sesiones",
    "use.session_note": "Una sesión termina tras {hours} h sin mensajes y cuenta en el mes en que empezó.",
    "use.chart_sessions": "Sesiones por canal", "use.channel": "Canal", "use.not_ended": "Sin terminar",
    "use.meta_messages": "Mensajes de Meta", "use.by_channel": "Uso por canal", "use.ended": "Sesiones por forma de terminar",
    "use.meta_title": "Cargos de Meta (WhatsApp)", "use.user_initiated": "Iniciadas por el cliente", "use.business_initiated": "Iniciadas por la empresa",
    "use.cbp_windows": "Ventanas de 24 h", "use.cbp_hint": "El modelo anterior de Meta, para comparar.", "use.billable": "Con cargo",
    "use.cost": "Costo", "use.by_category": "Mensajes y cargos por categoría", "use.no_meta": "Sin mensajes de Meta este mes.",
    "use.by_market": "Mensajes por mercado y categoría",
    "use.end.idle": "Por inactividad", "use.end.closed": "Cerrada", "use.end.handoff": "Derivada a agentes", "use.end.completed": "Completada",
    "quota.title": "Cuotas del plan", "quota.plan": "Plan {plan} · sesiones de {month} · alertas al {thresholds}",
    "quota.current": "actual", "quota.period": "mes {period}", "quota.over": "{n} fuera del plan", "quota.threshold": "{n} % alcanzado",
    "quota.used_of": "{used} de {limit} ({pct} %)", "quota.used_unlimited": "{used} (sin límite)", "quota.more": "Qué cuenta y qué pasa al límite",
    "quota.counts": "Qué cuenta", "quota.at_limit": "Al llegar al 100 %",
    "quota.res.sessions": "Sesiones del mes", "quota.res.contacts": "Contactos", "quota.res.agents": "Usuarios", "quota.res.bots": "Bots",
    "quota.what.sessions": "Sesiones iniciadas este mes (UTC) en todos los canales, como las cuenta el uso del mes.",
    "quota.what.contacts": "Contactos dentro del plan (no cuentan los fusionados ni los marcados fuera del cupo).",
    "quota.what.agents": "Usuarios: agentes, supervisores y administradores, habilitados o no (no cuentan las claves de API).",
    "quota.what.bots": "Bots, sin importar cuántas versiones tengan.",
    "quota.limit.sessions": "Nunca se rechaza a un cliente: las sesiones de más se atienden y se cuentan como fuera del plan.",
    "quota.limit.contacts": "Se rechaza crear contactos por API o importación; un cliente nuevo que escribe igual es atendido (queda fuera del cupo).",
    "quota.limit.agents": "No se pueden invitar más usuarios; los actuales siguen funcionando.",
    "quota.limit.bots": "No se pueden subir bots nuevos; sí versiones nuevas de los existentes.",
    "cost.title": "Costo de AWS", "cost.title_for": "Costo de AWS de {month} (precios de lista)", "cost.total": "Total",
    "cost.versions": "Precios {prices} · perfil {profile}", "cost.chart": "Costo por tipo de recurso (USD)", "cost.usd": "USD",
    "cost.kind_col": "Recurso", "cost.operations": "Operaciones contadas en el mes", "cost.unpriced": "Operaciones sin precio (fuera del total)",
    "cost.lines": "Detalle ({n} líneas)", "cost.lines_caption": "Costo por operación y recurso", "cost.operation": "Operación",
    "cost.resource": "Medidor", "cost.count": "Operaciones", "cost.quantity": "Cantidad", "cost.unit_price": "Precio unitario (USD)",
    "cost.amount": "Importe", "cost.assumptions": "Supuestos", "cost.assumptions_lang": "Texto del servidor (en inglés).",
    "cost.kind.lambda": "Lambda", "cost.kind.dynamodb": "DynamoDB", "cost.kind.sqs": "SQS", "cost.kind.eventbridge": "EventBridge",
    "cost.kind.apigateway": "API Gateway", "cost.kind.llm": "Modelos de lenguaje",
    "cost.op.messages_in": "Mensajes entrantes", "cost.op.messages_out": "Mensajes salientes", "cost.op.status_updates": "Estados de entrega",
    "cost.op.conversations_opened": "Conversaciones abiertas", "cost.op.conversations_closed": "Conversaciones cerradas",
    "cost.op.assignments": "Asignaciones", "cost.op.bot_sessions": "Sesiones de bots", "cost.op.bot_turns": "Turnos de bots",
    "cost.op.broadcast_messages": "Mensajes de difusiones", "cost.op.llm_input_tokens#LITE": "Tokens de entrada (LITE)",
    "cost.op.llm_output_tokens#LITE": "Tokens de salida (LITE)", "cost.op.llm_input_tokens#PRO": "Tokens de entrada (PRO)",
    "cost.op.llm_output_tokens#PRO": "Tokens de salida (PRO)",
    "quote.title": "Cotizador", "quote.hint": "Costo de implementación y abono mensual según la lista de precios.",
    "quote.channels": "Canales", "quote.bot": "Tipo de bot", "quote.ai_tier": "Modelo de IA", "quote.ai_tier_hint": "Solo para bots con IA generativa.",
    "quote.sessions": "Sesiones por mes esperadas", "quote.sessions_hint": "Conversaciones con el bot por mes.", "quote.agents": "Puestos de agente",
    "quote.wa": "Plantillas de WhatsApp (opcional)", "quote.market": "Mercado", "quote.market_hint": "Código de país (+54) o mercado del tarifario.",
    "quote.msgs": "Mensajes de {category} por mes", "quote.discount": "Descuento (opcional)", "quote.discount_pct": "Porcentaje",
    "quote.discount_reason": "Motivo", "quote.discount_applies": "Se aplica a",
    "quote.applies.both": "Implementación y abono", "quote.applies.setup": "Implementación", "quote.applies.monthly": "Abono mensual",
    "quote.gen.menu": "Menú", "quote.gen.keywords": "Palabras clave", "quote.gen.nlu": "Intenciones (NLU)", "quote.gen.ai": "IA generativa",
    "quote.tier.LITE": "LITE (económico)", "quote.tier.PRO": "PRO (avanzado)",
    "quote.cx.simple": "Simple", "quote.cx.standard": "Estándar", "quote.cx.complex": "Complejo",
    "quote.use_cases": "Casos de uso", "quote.use_cases_hint": "Lo que el bot resuelve, con las integraciones (APIs de la empresa) que necesita.",
    "quote.uc_n": "Caso de uso {n}", "quote.uc_name": "Nombre", "quote.uc_complexity": "Complejidad", "quote.uc_integrations": "Integraciones",
    "quote.uc_remove": "Quitar", "quote.uc_remove_n": "Quitar el caso de uso {n}", "quote.uc_add": "Agregar caso de uso",
    "quote.submit": "Cotizar", "quote.need_channel": "Elegí al menos un canal.", "quote.need_reason": "Indicá el motivo del descuento.",
    "quote.result": "Cotización", "quote.book": "Lista de precios {v}", "quote.setup_total": "Implementación (única vez)",
    "quote.monthly_total": "Abono mensual", "quote.passthrough_total": "Cargos de Meta estimados por mes", "quote.subtotal": "Subtotal {v}",
    "quote.passthrough_hint": "Se trasladan al costo; no están en los totales.", "quote.setup_lines": "Implementación",
    "quote.monthly_lines": "Abono mensual", "quote.discount_lines": "Descuentos", "quote.passthrough_lines": "Cargos de Meta (estimación)",
    "quote.notes": "Notas", "quote.col.description": "Concepto", "quote.col.quantity": "Cantidad", "quote.col.unit": "Precio unitario",
    "quote.col.amount": "Importe", "quote.lang_note": "Las descripciones de las líneas las redacta el servidor (en inglés).",
  },
  en: {
    "nav.broadcasts": "Broadcasts", "nav.reports": "Reports", "nav.usage": "Usage and costs",
    "chart.items": "{n} items", "chart.total": "total {value}", "chart.max": "highest {value} ({at})",
    "chart.no_data": "no data", "chart.numbers": "Show the numbers",
    // broadcasts
    "bc.title": "WhatsApp broadcasts and templates", "bc.channel": "Channel", "bc.disabled": "disabled",
    "bc.no_whatsapp": "There are no WhatsApp channels: connect one to use templates and broadcasts.",
    "bc.actions": "Actions", "bc.more": "Load more", "bc.name": "Name", "bc.template": "Template",
    "bc.status_col": "Status", "bc.progress": "Progress", "bc.created": "Created", "bc.started": "Started",
    "bc.completed": "Finished", "bc.scheduled_for": "Scheduled for", "bc.variables": "Variables",
    "bc.on_reply": "On reply", "bc.recipients": "Recipients",
    "bc.progress_of": "Progress of {name}", "bc.progress_text": "{done} of {total} ({pct} %)",
    "bc.auto_refresh": "Refreshes every 3 seconds", "bc.open": "Open", "bc.open_named": "Open the broadcast {name}",
    "bc.new": "New broadcast", "bc.list.title": "Broadcasts", "bc.list.caption": "Broadcasts, newest first",
    "bc.list.empty": "No broadcasts yet.",
    "bc.tpl.title": "Templates", "bc.tpl.sync": "Sync from Meta", "bc.tpl.all": "All statuses",
    "bc.tpl.filter_status": "Status", "bc.tpl.name": "Name", "bc.tpl.language": "Language", "bc.tpl.category": "Category",
    "bc.tpl.status": "Status", "bc.tpl.quality": "Quality", "bc.tpl.lint": "Findings", "bc.tpl.synced_at": "Synced",
    "bc.tpl.view": "View", "bc.tpl.view_named": "View the template {name}", "bc.tpl.view_title": "Template {name} ({language})",
    "bc.tpl.use": "Use", "bc.tpl.use_named": "New broadcast with the template {name}",
    "bc.tpl.caption": "Templates of {channel} ({n})", "bc.tpl.empty": "No templates: sync them from Meta.",
    "bc.tpl.synced": "Templates synced: {added} added, {updated} updated, {removed} removed ({total} in all)",
    "bc.tpl.recategorized": "Meta will re-categorize it as {category}", "bc.tpl.rejected": "Rejection reason",
    "bc.tpl.detail": "Meta's detail", "bc.tpl.variables": "Variables", "bc.tpl.no_variables": "The template has no variables.",
    "bc.comp.HEADER": "Header", "bc.comp.BODY": "Body", "bc.comp.FOOTER": "Footer", "bc.comp.BUTTONS": "Buttons",
    "bc.comp.example_media": "Media header: each broadcast names the file.",
    "bc.tstatus.APPROVED": "Approved", "bc.tstatus.PENDING": "In review", "bc.tstatus.REJECTED": "Rejected",
    "bc.tstatus.PAUSED": "Paused", "bc.tstatus.DISABLED": "Disabled", "bc.tstatus.IN_APPEAL": "In appeal",
    "bc.cat.MARKETING": "Marketing", "bc.cat.UTILITY": "Utility", "bc.cat.AUTHENTICATION": "Authentication", "bc.cat.SERVICE": "Service",
    "bc.quality.GREEN": "High", "bc.quality.YELLOW": "Medium", "bc.quality.RED": "Low", "bc.quality.UNKNOWN": "Unknown",
    "bc.severity.warning": "Warning", "bc.severity.error": "Error",
    "bc.status.draft": "Draft", "bc.status.preparing": "Preparing", "bc.status.ready": "Ready",
    "bc.status.scheduled": "Scheduled", "bc.status.sending": "Sending", "bc.status.paused": "Paused",
    "bc.status.completed": "Completed", "bc.status.cancelled": "Cancelled", "bc.status.failed": "Failed",
    "bc.count.queued": "Queued", "bc.count.sending": "Sending", "bc.count.sent": "Sent", "bc.count.delivered": "Delivered",
    "bc.count.read": "Read", "bc.count.replied": "Replied", "bc.count.failed": "Failed",
    "bc.count.unconfirmed": "Unconfirmed", "bc.count.excluded": "Excluded", "bc.count.total": "Total",
    "bc.counts_chart": "Recipients by status",
    "bc.form.title": "New broadcast", "bc.form.audience": "Audience", "bc.form.variables": "Template variables",
    "bc.form.template_hint": "Only approved templates can be sent.", "bc.form.template_text": "Show the template's text",
    "bc.form.no_templates": "No templates: sync them first", "bc.form.advanced": "Advanced options",
    "bc.form.rate": "Messages per second", "bc.form.rate_hint": "Empty: the number's throughput (80 by default).",
    "bc.form.attribution": "Attribution window (hours)", "bc.form.attribution_hint": "Replies within this window count for the broadcast.",
    "bc.form.reply_tag": "Tag for those who reply", "bc.form.reply_tag_hint": "Optional.",
    "bc.form.reply_flow": "Bot node on reply", "bc.form.reply_flow_hint": "Optional; the bot must be bound to the channel.",
    "bc.form.prepare_now": "Prepare on creation (recipients, exclusions and cost)", "bc.form.create": "Create draft",
    "bc.form.created": "Broadcast “{name}” created", "bc.form.missing": "Fill in the variables: {slots}",
    "bc.aud.kind": "Audience source", "bc.aud.segment": "Segment", "bc.aud.tags": "Tags",
    "bc.aud.contacts": "Contacts", "bc.aud.file": "Uploaded list (file id)", "bc.aud.exclude": "Exclude tags",
    "bc.aud.list_hint": "Comma-separated.", "bc.aud.contacts_hint": "Contact ids, one per line or comma-separated (up to 1,000).",
    "bc.aud.file_hint": "A CSV uploaded with the files API, with a phone or whatsapp column.",
    "bc.aud.country": "Default country", "bc.aud.country_hint": "2-letter code for phones in national format (e.g. AR).",
    "bc.aud.pick": "Choose contacts…", "bc.aud.recent": "Recent contacts", "bc.aud.use_selected": "Use the chosen ones",
    "bc.aud.no_contacts": "There are no contacts.", "bc.aud.no_segments": "No saved segments",
    "bc.aud.segment_is": "segment {id}", "bc.aud.tags_are": "tags: {tags}", "bc.aud.contacts_n": "{n} contacts",
    "bc.aud.file_is": "list {id}", "bc.aud.exclude_are": "without the tags: {tags}",
    "bc.var.source": "Source", "bc.var.value": "Fixed value", "bc.var.field": "Contact data", "bc.var.input": "Value or field",
    "bc.var.default": "Default value", "bc.var.default_hint": "When the contact's data is empty.",
    "bc.var.example": "Example: {example}", "bc.var.optional": "optional",
    "bc.var.media_hint": "An https URL of the file, or {\"id\": \"…\"} of uploaded media.",
    "bc.var.location_hint": "JSON: {\"latitude\": …, \"longitude\": …, \"name\": …, \"address\": …}",
    "bc.var.kind.text": "text", "bc.var.kind.image": "image", "bc.var.kind.video": "video", "bc.var.kind.document": "document",
    "bc.var.kind.location": "location", "bc.var.kind.url_suffix": "URL ending", "bc.var.kind.coupon_code": "coupon code",
    "bc.var.kind.otp_code": "verification code", "bc.var.kind.payload": "button payload",
    "bc.field.name": "Name", "bc.field.first_name": "First name", "bc.field.phone": "Phone", "bc.field.email": "Email",
    "bc.field.language": "Language", "bc.field.lifecycle": "Lifecycle stage", "bc.field.contact_id": "Contact id",
    "bc.act.prepare": "Prepare", "bc.act.reprepare": "Prepare again", "bc.act.preview": "Preview",
    "bc.act.start": "Send now", "bc.act.schedule": "Schedule", "bc.act.pause": "Pause", "bc.act.resume": "Resume",
    "bc.act.cancel": "Cancel the broadcast", "bc.act.retry": "Retry failed",
    "bc.done.prepare": "Preparing the audience", "bc.done.start": "Broadcast started", "bc.done.schedule": "Broadcast scheduled",
    "bc.done.pause": "Broadcast paused", "bc.done.resume": "Broadcast resumed", "bc.done.cancel": "Broadcast cancelled",
    "bc.start_legend": "Sending", "bc.start_draft_hint": "A draft is prepared first, then it starts by itself.",
    "bc.schedule_at": "Date and time", "bc.time_zone": "Time zone", "bc.schedule_needed": "Choose the date and time to send",
    "bc.allow_over_tier": "Send even if it exceeds the messaging limit (Meta refuses the excess)",
    "bc.confirm.start_title": "Send the broadcast?", "bc.confirm.start_text": "“{name}” goes out now to {n} recipients. Estimated cost: {cost}.",
    "bc.confirm.cancel_title": "Cancel the broadcast?", "bc.confirm.cancel_text": "“{name}” is cancelled and cannot be resumed.",
    "bc.preparing": "Preparing the audience: recipients, exclusions, cost and messaging limit…",
    "bc.sending_hint": "Sending: the progress refreshes every 3 seconds.", "bc.paused_reason": "Paused because: {reason}",
    "bc.preview.title": "Preview", "bc.preview.contact": "Contact (id)", "bc.preview.contact_hint": "Empty: the audience's first.",
    "bc.preview.result": "What they get", "bc.preview.eligible": "Gets the broadcast", "bc.preview.excluded": "Excluded",
    "bc.preview.to": "To {to}",
    "bc.cost.title": "Estimated cost (Meta's charges)", "bc.cost.total": "Estimated cost", "bc.cost.eligible": "Recipients",
    "bc.cost.excluded": "Excluded", "bc.cost.candidates": "Contacts evaluated", "bc.cost.duplicates": "{n} duplicates (sent once)",
    "bc.cost.rate_card": "Meta rate card of {date}", "bc.cost.market": "Market", "bc.cost.count": "Messages",
    "bc.cost.unit": "Unit price", "bc.cost.subtotal": "Subtotal", "bc.cost.lines": "Cost by market and category",
    "bc.cost.no_lines": "No charged messages.", "bc.cost.unknown": "unknown",
    "bc.cost.note": "Utility templates inside an open customer-service window are free; duplicates are counted once when sent.",
    "bc.cost.in_window": "{n} recipients have their 24 h customer-service window open.",
    "bc.cost.excluded_by": "Exclusions by reason", "bc.cost.prepare_first": "Prepare the broadcast to see the recipients, exclusions and estimated cost.",
    "bc.cost.actual": "Cost so far", "bc.cost.actual_hint": "Charged deliveries, at the rate card",
    "bc.tier.ok_badge": "Within the limit", "bc.tier.unknown_badge": "Limit unknown", "bc.tier.unlimited": "unlimited",
    "bc.tier.fits": "Messaging limit {name} ({limit} users per 24 h): {n} recipients outside the customer-service window.",
    "bc.tier.over": "The audience exceeds the messaging limit {name} ({limit} users per 24 h): {n} recipients outside the customer-service window. Reduce it or send anyway by ticking the option.",
    "bc.tier.unknown": "Meta has not reported this number's messaging limit yet: {n} recipients outside the customer-service window.",
    "bc.read_rate": "Read rate", "bc.reply_rate": "Reply rate",
    "bc.fail.title_section": "Failures and exclusions", "bc.fail.reasons": "Failures by Meta error code", "bc.fail.code": "Code",
    "bc.fail.count": "Count", "bc.fail.no_code": "No code", "bc.fail.recipients": "Failed recipients",
    "bc.fail.class": "Error class", "bc.fail.title": "Error", "bc.fail.attempts": "Attempts", "bc.fail.retry_at": "Retry from",
    "bc.fail.none": "None.", "bc.first_100": "Showing the first 100.",
    "bc.eclass.transient": "Transient", "bc.eclass.throttled": "Throttled", "bc.eclass.pair_limit": "Per-recipient limit",
    "bc.eclass.marketing_cap": "Meta's marketing cap", "bc.eclass.permanent": "Permanent", "bc.eclass.template": "Template",
    "bc.eclass.unconfirmed": "Unconfirmed", "bc.eclass.opted_out": "Opted out",
    "bc.reason.no_whatsapp": "No WhatsApp", "bc.reason.invalid_phone": "Invalid phone", "bc.reason.excluded_tag": "Excluded tag",
    "bc.reason.opted_out": "Opted out", "bc.reason.no_opt_in": "No marketing consent",
    "bc.reason.missing_variable": "Missing variable", "bc.reason.invalid_variable": "Invalid variable", "bc.reason.duplicate": "Duplicate",
    "bc.skip.opted_out": "opted out", "bc.skip.marketing_cap_waiting": "waiting for the marketing cap", "bc.skip.not_selected": "not selected",
    "bc.retry.title": "Retry failed recipients", "bc.retry.text": "{failed} failed and {unconfirmed} unconfirmed.",
    "bc.retry.classes": "Error classes", "bc.retry.classes_hint": "None ticked: all of them, except opted-out ones and those waiting for the marketing cap.",
    "bc.retry.waiting": "Include those waiting for the marketing cap (24 h)", "bc.retry.done": "Retried: {n}. Skipped: {skipped}",
    "bc.rcpt.to": "Number", "bc.rcpt.status": "Status", "bc.rcpt.contact": "Contact", "bc.rcpt.reason": "Reason",
    "bc.rcpt.detail": "Detail", "bc.rcpt.excluded": "Excluded", "bc.rcpt.all": "Recipients", "bc.rcpt.show": "Show the recipients",
    "bc.rcpt.updated": "Updated",
    // reports
    "rep.title": "Reports", "rep.form_title": "Report by day", "rep.report": "Report", "rep.from": "From", "rep.to": "To",
    "rep.tz": "Time zone", "rep.tz_hint": "Days are counted in this zone.", "rep.filter": "Filter by", "rep.filter_value": "Filter value",
    "rep.filter.none": "No filter", "rep.filter.channel": "Channel", "rep.filter.campaign": "Campaign (team)", "rep.filter.agent": "Agent",
    "rep.filter_none_available": "No options", "rep.run": "Show report", "rep.range.7": "Last 7 days",
    "rep.range.30": "Last 30 days", "rep.range.month": "This month", "rep.bad_range": "The “to” date is before the “from” date.",
    "rep.period": "From {from} to {to} ({tz})", "rep.print": "Print", "rep.no_data": "No data in the period.",
    "rep.per_day": "Per day", "rep.per_day_n": "The numbers per day ({n} days)", "rep.leaderboard": "Agent leaderboard (by conversations closed)", "rep.users_table": "Time in each status",
    "rep.since": "since {at}",
    "rep.name.conversations": "Conversations", "rep.name.messages": "Messages", "rep.name.responses": "Response times",
    "rep.name.resolutions": "Resolutions", "rep.name.assignments": "Assignments and queues", "rep.name.csat": "Satisfaction (CSAT)",
    "rep.name.sentiment": "Sentiment", "rep.name.contacts": "Contacts", "rep.name.bots": "Bots",
    "rep.name.agents": "Agents", "rep.name.users": "Agents' time",
    "rep.col.item": "Item", "rep.col.count": "Count", "rep.col.value": "Value", "rep.col.day": "Day", "rep.col.agent": "Agent",
    "rep.col.score": "Score", "rep.col.sentiment": "Sentiment",
    "rep.k.opened": "Opened", "rep.k.closed": "Closed", "rep.k.reopened": "Reopened", "rep.k.in": "Inbound", "rep.k.out": "Outbound",
    "rep.k.failed": "Failed sends", "rep.k.first_response": "First response (avg.)",
    "rep.k.first_agent_response": "First agent response (avg.)", "rep.k.response": "Response (avg.)",
    "rep.k.responses_n": "Responses", "rep.k.first_response_n": "First responses", "rep.k.business": "In business hours: {v}",
    "rep.k.resolved": "Resolved", "rep.k.avg_resolution": "Resolution (avg.)", "rep.k.queued": "Queued", "rep.k.assigned": "Assigned",
    "rep.k.transfers": "Transfers", "rep.k.unassigned": "Unassigned", "rep.k.overflowed": "Overflowed",
    "rep.k.avg_wait": "Wait (avg.)", "rep.k.service_level": "Service level", "rep.k.csat_avg": "Average CSAT",
    "rep.k.csat_answers": "CSAT answers", "rep.k.sent_POSITIVE": "Positive conversations", "rep.k.sent_NEUTRAL": "Neutral conversations",
    "rep.k.sent_NEGATIVE": "Negative conversations", "rep.k.sent_MIXED": "Mixed conversations", "rep.k.conversations": "Conversations",
    "rep.k.messages": "Messages", "rep.k.new": "New", "rep.k.returning": "Returning", "rep.k.created": "Created",
    "rep.k.sessions": "Sessions", "rep.k.turns": "Turns", "rep.k.ai_turns": "AI turns", "rep.k.transfers_in": "Transfers received",
    "rep.k.transferred_out": "Transferred", "rep.k.online": "Online", "rep.k.busy": "Busy", "rep.k.break": "On break",
    "rep.k.breaks": "Breaks by type", "rep.k.status_changes": "Status changes", "rep.k.current": "Now",
    "rep.k.online_h": "Hours online", "rep.k.busy_h": "Hours busy",
    "rep.chart.conversations": "Conversations per day", "rep.chart.messages": "Messages per day (inbound and outbound)",
    "rep.chart.responses": "First response time per day", "rep.chart.resolutions": "Conversations resolved per day",
    "rep.chart.resolution_time": "Resolution time per day", "rep.chart.assignments": "Queued and assigned per day",
    "rep.chart.wait": "Average wait per day", "rep.chart.csat_distribution": "CSAT score distribution",
    "rep.chart.csat_daily": "Average CSAT per day", "rep.chart.sentiment": "Customer sentiment",
    "rep.chart.negative_daily": "Negative conversations per day", "rep.chart.contacts": "New and returning contacts per day",
    "rep.chart.bots": "Bot sessions and turns per day", "rep.chart.agents": "Conversations per agent",
    "rep.chart.users": "Hours online and busy per agent",
    "rep.b.closed_by": "Closed by", "rep.b.handled_by": "Handled by", "rep.b.in_by_type": "Inbound by type",
    "rep.b.out_by_type": "Outbound by type", "rep.b.out_by": "Outbound by author", "rep.b.statuses": "Delivery statuses",
    "rep.b.failed_by_code": "Failed sends by code", "rep.b.first_by": "First response by", "rep.b.response_by": "Average response by author",
    "rep.b.resolved_by": "Resolved by", "rep.b.resolution_by": "Average resolution by", "rep.b.closing_notes": "Closing notes by category",
    "rep.b.assigned_by": "Assignments by reason", "rep.b.overflow_by": "Overflows by reason", "rep.b.sentiment_messages": "Messages by sentiment",
    "rep.b.created_by_source": "Contacts created by source", "rep.b.by_end": "Sessions by how they ended",
    "rep.b.llm_in": "Model input tokens", "rep.b.llm_out": "Model output tokens",
    "rep.v.bot": "Bot", "rep.v.agent": "Agent", "rep.v.system": "System", "rep.v.none": "Nobody", "rep.v.api": "Integration (API)",
    "rep.v.automation": "Automation", "rep.v.broadcast": "Broadcast", "rep.v.sent": "Sent", "rep.v.delivered": "Delivered",
    "rep.v.read": "Read", "rep.v.failed": "Failed", "rep.v.text": "Text", "rep.v.image": "Image", "rep.v.audio": "Audio",
    "rep.v.video": "Video", "rep.v.document": "Document", "rep.v.sticker": "Sticker", "rep.v.location": "Location",
    "rep.v.interactive": "Interactive", "rep.v.template": "Template", "rep.v.reaction": "Reaction", "rep.v.contacts": "Contacts",
    "rep.v.button": "Button", "rep.v.POSITIVE": "Positive", "rep.v.NEGATIVE": "Negative", "rep.v.NEUTRAL": "Neutral", "rep.v.MIXED": "Mixed",
    "rep.presence.online": "Online", "rep.presence.busy": "Busy", "rep.presence.break": "On break", "rep.presence.offline": "Offline",
    "rep.kind.whatsapp": "WhatsApp", "rep.kind.messenger": "Messenger", "rep.kind.instagram": "Instagram", "rep.kind.telegram": "Telegram",
    "rep.kind.sms": "SMS", "rep.kind.webchat": "Web chat", "rep.kind.email": "Email",
    "rep.m.title": "Monthly executive summary", "rep.m.month": "Month", "rep.m.hint": "Local days in the report's time zone.",
    "rep.m.run": "Show summary", "rep.m.title_for": "Summary of {month}", "rep.m.change": "{v} % vs. the previous month",
    "rep.m.top_agents": "Top agents", "rep.m.sessions": "Sessions in the month",
    "rep.m.meta_cost": "Meta's charges", "rep.month_needed": "Choose a month (YYYY-MM).",
    "rep.m.conversations_opened": "Conversations opened", "rep.m.conversations_closed": "Conversations closed",
    "rep.m.resolved_by_bot_percent": "Resolved by bots", "rep.m.messages_in": "Inbound messages", "rep.m.messages_out": "Outbound messages",
    "rep.m.avg_first_response_s": "First response (avg.)", "rep.m.avg_first_agent_response_s": "First agent response (avg.)",
    "rep.m.avg_resolution_s": "Resolution (avg.)", "rep.m.csat_avg": "Average CSAT", "rep.m.csat_answers": "CSAT answers",
    "rep.m.negative_conversations_percent": "Negative conversations", "rep.m.bot_sessions": "Bot sessions",
    "rep.m.new_contacts": "New contacts", "rep.m.returning_contacts": "Returning contacts",
    "rep.x.title": "Export conversations (CSV)", "rep.x.hint": "One row per conversation closed in the period of the form above (dates and time zone).",
    "rep.x.run": "Export CSV", "rep.x.working": "Building the file…", "rep.x.ready": "{n} conversations from {from} to {to}.",
    "rep.x.download": "Download the CSV", "rep.x.expires": "Link valid until: {at}",
    // usage
    "use.page_title": "Usage and costs", "use.month": "Month", "use.month_hint": "Months in UTC.", "use.show": "Show",
    "use.title": "The month's usage", "use.title_for": "Usage of {month}", "use.sessions": "Sessions", "use.no_bot": "No bot",
    "use.bot_only": "Bot only", "use.ai": "With AI", "use.over_plan": "Sessions over the plan", "use.meta_cost": "Meta's charges",
    "use.of_plan": "of the plan's {limit}", "use.no_limit": "No session limit in the plan",
    "use.session_note": "A session ends after {hours} h without messages and counts in the month it started.",
    "use.chart_sessions": "Sessions by channel", "use.channel": "Channel", "use.not_ended": "Not ended",
    "use.meta_messages": "Meta messages", "use.by_channel": "Usage by channel", "use.ended": "Sessions by how they ended",
    "use.meta_title": "Meta's charges (WhatsApp)", "use.user_initiated": "Customer-initiated", "use.business_initiated": "Business-initiated",
    "use.cbp_windows": "24 h windows", "use.cbp_hint": "Meta's previous model, for comparison.", "use.billable": "Charged",
    "use.cost": "Cost", "use.by_category": "Messages and charges by category", "use.no_meta": "No Meta messages this month.",
    "use.by_market": "Messages by market and category",
    "use.end.idle": "Idle", "use.end.closed": "Closed", "use.end.handoff": "Handed off to agents", "use.end.completed": "Completed",
    "quota.title": "Plan quotas", "quota.plan": "Plan {plan} · sessions of {month} · alerts at {thresholds}",
    "quota.current": "current", "quota.period": "month {period}", "quota.over": "{n} over the plan", "quota.threshold": "{n} % reached",
    "quota.used_of": "{used} of {limit} ({pct} %)", "quota.used_unlimited": "{used} (unlimited)", "quota.more": "What counts and what happens at the limit",
    "quota.counts": "What counts", "quota.at_limit": "At 100 %",
    "quota.res.sessions": "Sessions this month", "quota.res.contacts": "Contacts", "quota.res.agents": "Users", "quota.res.bots": "Bots",
    "quota.what.sessions": "Sessions started this month (UTC) on every channel, as the month's usage counts them.",
    "quota.what.contacts": "Contacts within the plan (merged ones and those flagged over the cap do not count).",
    "quota.what.agents": "Users: agents, supervisors and admins, enabled or not (API keys do not count).",
    "quota.what.bots": "Bots, whatever their number of versions.",
    "quota.limit.sessions": "No customer is ever refused: extra sessions are served and counted as over the plan.",
    "quota.limit.contacts": "Creating contacts through the API or an import is refused; a new customer who writes is still served (flagged over the cap).",
    "quota.limit.agents": "No more users can be invited; existing ones keep working.",
    "quota.limit.bots": "New bots cannot be uploaded; new versions of existing ones can.",
    "cost.title": "AWS cost", "cost.title_for": "AWS cost of {month} (list prices)", "cost.total": "Total",
    "cost.versions": "Prices {prices} · profile {profile}", "cost.chart": "Cost by resource kind (USD)", "cost.usd": "USD",
    "cost.kind_col": "Resource", "cost.operations": "Operations counted in the month", "cost.unpriced": "Operations without a price (not in the total)",
    "cost.lines": "Detail ({n} lines)", "cost.lines_caption": "Cost by operation and resource", "cost.operation": "Operation",
    "cost.resource": "Meter", "cost.count": "Operations", "cost.quantity": "Quantity", "cost.unit_price": "Unit price (USD)",
    "cost.amount": "Amount", "cost.assumptions": "Assumptions", "cost.assumptions_lang": "Text from the server.",
    "cost.kind.lambda": "Lambda", "cost.kind.dynamodb": "DynamoDB", "cost.kind.sqs": "SQS", "cost.kind.eventbridge": "EventBridge",
    "cost.kind.apigateway": "API Gateway", "cost.kind.llm": "Language models",
    "cost.op.messages_in": "Inbound messages", "cost.op.messages_out": "Outbound messages", "cost.op.status_updates": "Delivery statuses",
    "cost.op.conversations_opened": "Conversations opened", "cost.op.conversations_closed": "Conversations closed",
    "cost.op.assignments": "Assignments", "cost.op.bot_sessions": "Bot sessions", "cost.op.bot_turns": "Bot turns",
    "cost.op.broadcast_messages": "Broadcast messages", "cost.op.llm_input_tokens#LITE": "Input tokens (LITE)",
    "cost.op.llm_output_tokens#LITE": "Output tokens (LITE)", "cost.op.llm_input_tokens#PRO": "Input tokens (PRO)",
    "cost.op.llm_output_tokens#PRO": "Output tokens (PRO)",
    "quote.title": "Quote calculator", "quote.hint": "Setup and monthly fees from the price book.",
    "quote.channels": "Channels", "quote.bot": "Bot kind", "quote.ai_tier": "AI model", "quote.ai_tier_hint": "Only for generative AI bots.",
    "quote.sessions": "Expected sessions per month", "quote.sessions_hint": "Conversations with the bot per month.", "quote.agents": "Agent seats",
    "quote.wa": "WhatsApp templates (optional)", "quote.market": "Market", "quote.market_hint": "Calling code (+54) or rate card market.",
    "quote.msgs": "{category} messages per month", "quote.discount": "Discount (optional)", "quote.discount_pct": "Percent",
    "quote.discount_reason": "Reason", "quote.discount_applies": "Applies to",
    "quote.applies.both": "Setup and monthly", "quote.applies.setup": "Setup", "quote.applies.monthly": "Monthly",
    "quote.gen.menu": "Menu", "quote.gen.keywords": "Keywords", "quote.gen.nlu": "Intents (NLU)", "quote.gen.ai": "Generative AI",
    "quote.tier.LITE": "LITE (economy)", "quote.tier.PRO": "PRO (advanced)",
    "quote.cx.simple": "Simple", "quote.cx.standard": "Standard", "quote.cx.complex": "Complex",
    "quote.use_cases": "Use cases", "quote.use_cases_hint": "What the bot handles, with the integrations (the business's APIs) it needs.",
    "quote.uc_n": "Use case {n}", "quote.uc_name": "Name", "quote.uc_complexity": "Complexity", "quote.uc_integrations": "Integrations",
    "quote.uc_remove": "Remove", "quote.uc_remove_n": "Remove use case {n}", "quote.uc_add": "Add a use case",
    "quote.submit": "Quote", "quote.need_channel": "Choose at least one channel.", "quote.need_reason": "Give the discount's reason.",
    "quote.result": "Quote", "quote.book": "Price book {v}", "quote.setup_total": "Setup (one-time)",
    "quote.monthly_total": "Monthly fee", "quote.passthrough_total": "Estimated Meta charges per month", "quote.subtotal": "Subtotal {v}",
    "quote.passthrough_hint": "Passed through at cost; not in the totals.", "quote.setup_lines": "Setup",
    "quote.monthly_lines": "Monthly", "quote.discount_lines": "Discounts", "quote.passthrough_lines": "Meta's charges (estimate)",
    "quote.notes": "Notes", "quote.col.description": "Item", "quote.col.quantity": "Quantity", "quote.col.unit": "Unit price",
    "quote.col.amount": "Amount", "quote.lang_note": "The line descriptions are written by the server.",
  },
});
