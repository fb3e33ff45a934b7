// The console's core: configuration, session, REST and WebSocket clients, translations, DOM helpers and the
// router. Views (inbox.js, supervisor.js, admin.js) import from here and register their screens; nothing here
// knows a view. No framework, no build step: plain ES modules served as they are.

const LANGS = ["es", "en"];
const strings = { es: {}, en: {} };
const views = new Map(); // name -> {label, roles, render, section}
const pushHandlers = new Set();

export const state = {
  config: null, // config.json: {api_base, ws_url, auth: {mode: "local"|"cognito", ...}}
  token: null, // the Cognito ID token (Bearer for REST, ?token= for the WebSocket)
  me: null, // GET /v1/me: {kind, principal_id, tenant_id, role, scopes, user_id}
  lang: "es",
  socket: null,
  live: false, // the WebSocket is open
  cleanup: null, // the current view's cleanup function
};

// -- translations ----------------------------------------------------------------------------------------------
export function addStrings(table) {
  for (const lang of LANGS) Object.assign(strings[lang], table[lang] || {});
}

export function t(key, vars = {}) {
  const text = strings[state.lang][key] ?? strings.es[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (vars[name] ?? `{${name}}`));
}

export function setLang(lang) {
  state.lang = LANGS.includes(lang) ? lang : "es";
  localStorage.setItem("console.lang", state.lang);
  document.documentElement.lang = state.lang;
}

// -- DOM -------------------------------------------------------------------------------------------------------
// h("button", {class: "primary", onclick: fn, "aria-label": "..."}, "text", child, [more]) -> an element.
// Strings become text nodes (never HTML), so messages from customers are always shown as text.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "value") el.value = value;
    else if (key === "checked") el.checked = Boolean(value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// A labelled form field: the label names the control (accessible), the hint is described-by.
let fieldSeq = 0;
export function field(label, control, hint) {
  const id = control.id || `f${++fieldSeq}`;
  control.id = id;
  const hintEl = hint ? h("small", { id: `${id}-hint`, class: "hint" }, hint) : null;
  if (hintEl) control.setAttribute("aria-describedby", hintEl.id);
  return h("div", { class: "field" }, h("label", { for: id }, label), control, hintEl);
}

// An accessible table: columns [{label, value: row => text|Node, class?}], rows; `empty` when there are none.
export function table(columns, rows, { caption, empty, testid, rowAttrs } = {}) {
  if (!rows.length) return h("p", { class: "empty", "data-testid": testid ? `${testid}-empty` : null }, empty || t("common.empty"));
  return h("table", { "data-testid": testid },
    caption ? h("caption", {}, caption) : null,
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.class }, c.label)))),
    h("tbody", {}, rows.map((row) => h("tr", rowAttrs ? rowAttrs(row) : {},
      columns.map((c) => h("td", { class: c.class }, c.value(row)))))));
}

// A modal dialog (<dialog>: focus is trapped and Escape closes it). Resolves with the value `onsubmit` returns,
// or null when cancelled. `body` is a Node; `actions` the submit label.
export function dialog(title, body, { submit = t("common.ok"), danger = false, testid } = {}) {
  return new Promise((resolve) => {
    const form = h("form", { method: "dialog" },
      h("h2", {}, title), body,
      h("div", { class: "actions" },
        h("button", { type: "button", value: "cancel", onclick: () => { dlg.close(); } }, t("common.cancel")),
        h("button", { type: "submit", class: danger ? "danger" : "primary", "data-testid": testid ? `${testid}-submit` : null }, submit)));
    const dlg = h("dialog", { "aria-label": title, "data-testid": testid }, form);
    let result = null;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      result = Object.fromEntries(new FormData(form).entries());
      dlg.close();
    });
    dlg.addEventListener("close", () => { dlg.remove(); resolve(result); });
    document.body.append(dlg);
    dlg.showModal();
  });
}

// Announced to screen readers (aria-live) and shown for a few seconds.
export function toast(text, kind = "info") {
  const region = document.getElementById("toasts");
  const item = h("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
  region.append(item);
  setTimeout(() => item.remove(), kind === "error" ? 8000 : 4000);
}

// An error for people: status and reason, and the API's itemized reasons (problem+json `errors`) when it gave any.
export function errorText(err) {
  if (!(err && err.status)) return String(err && err.message ? err.message : err);
  const items = err.body && Array.isArray(err.body.errors) ? err.body.errors : [];
  const more = items.map((e) => `${String(e.location ?? e.path ?? "").replace(/^body\./, "")}: ${e.message ?? e.msg ?? ""}`)
    .join("; ");
  return `${err.status}: ${err.message}${more && !err.message.includes(more) ? ` — ${more}` : ""}`;
}

// t() with a fallback for keys that may have no translation (a status or reason the server added later).
export function tOr(key, fallback) {
  const text = t(key);
  return text === key ? fallback : text;
}

export function badge(text, kind = "", testid = null) {
  return h("span", { class: `badge ${kind}`.trim(), "data-testid": testid }, text);
}

// A figure with its label (a KPI card); `key` names it for tests (data-kpi), `hint` explains it.
export function kpi(label, value, { testid = null, key = null, hint = null } = {}) {
  return h("div", { class: "card", "data-testid": testid, "data-kpi": key },
    h("div", { class: "kpi-label" }, label), h("div", { class: "kpi" }, value),
    hint ? h("small", { class: "hint" }, hint) : null);
}

// The local calendar day of a Date as YYYY-MM-DD (what date inputs and the reports' from/to take).
export function isoDay(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

// Re-renders `container` with `rerender()` and puts the keyboard focus back on the control that had it (by its
// data-focus-key), so a live refresh never throws a keyboard user out of a table.
export function keepFocus(container, rerender) {
  const active = document.activeElement;
  const key = active && container.contains(active) ? active.getAttribute("data-focus-key") : null;
  rerender();
  if (key) {
    const again = container.querySelector(`[data-focus-key="${CSS.escape(key)}"]`);
    if (again) again.focus();
  }
}

// Runs an action, shows its error as a toast; returns its result or null.
export async function attempt(action, success) {
  try {
    const out = await action();
    if (success) toast(success, "ok");
    return out;
  } catch (err) {
    toast(errorText(err), "error");
    return null;
  }
}

// -- formatting ------------------------------------------------------------------------------------------------
const locale = () => (state.lang === "es" ? "es-AR" : "en-US");
export function fmtTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString(locale(), { hour: "2-digit", minute: "2-digit" })
    : d.toLocaleString(locale(), { dateStyle: "short", timeStyle: "short" });
}
export function fmtDuration(seconds) {
  const s = Math.max(0, Math.round(Number(seconds) || 0));
  const hh = Math.floor(s / 3600), mm = Math.floor((s % 3600) / 60), ss = s % 60;
  return hh ? `${hh}h ${String(mm).padStart(2, "0")}m` : `${mm}:${String(ss).padStart(2, "0")}`;
}
export function fmtNumber(n, digits = 0) {
  return n === null || n === undefined ? "—" : Number(n).toLocaleString(locale(), { maximumFractionDigits: digits });
}
export function fmtMoney(n, currency = "USD") {
  return n === null || n === undefined ? "—" : Number(n).toLocaleString(locale(), { style: "currency", currency, maximumFractionDigits: 4 });
}
export function secondsSince(iso) { return (Date.now() - new Date(iso).getTime()) / 1000; }

// The variables a template needs, by slot (as shared/services/template_params.py names them): header (media or
// location), header.<n>, body.<n>, button.<index>.
export function templateSlots(tpl) {
  const named = tpl.parameter_format === "NAMED";
  const holders = (text) => {
    const found = [...new Set([...String(text || "").matchAll(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g)].map((m) => m[1]))];
    return named ? found : found.sort((a, b) => Number(a) - Number(b));
  };
  const examples = (component, key) => {
    const ex = (component.example || {})[`${key}_text`];
    const row = Array.isArray(ex) ? (Array.isArray(ex[0]) ? ex[0] : ex) : [];
    const out = {};
    row.forEach((value, i) => { out[String(i + 1)] = value; });
    for (const item of (component.example || {})[`${key}_text_named_params`] || []) out[item.param_name] = item.example;
    return out;
  };
  const slots = [];
  for (const c of tpl.components || []) {
    const type = String(c.type || "").toUpperCase();
    if (type === "HEADER") {
      const format = String(c.format || "TEXT").toUpperCase();
      if (format === "TEXT") {
        const ex = examples(c, "header");
        for (const name of holders(c.text)) slots.push({ slot: `header.${name}`, kind: "text", example: ex[name], required: true });
      } else if (["IMAGE", "VIDEO", "DOCUMENT"].includes(format)) {
        slots.push({ slot: "header", kind: format.toLowerCase(), required: true });
      } else if (format === "LOCATION") {
        slots.push({ slot: "header", kind: "location", required: true });
      }
    } else if (type === "BODY") {
      const ex = examples(c, "body");
      for (const name of holders(c.text)) slots.push({ slot: `body.${name}`, kind: "text", example: ex[name], required: true });
    } else if (type === "BUTTONS") {
      (c.buttons || []).forEach((b, index) => {
        const kind = String(b.type || "").toUpperCase();
        const slot = `button.${index}`;
        const example = Array.isArray(b.example) ? b.example[0] : b.example;
        if (kind === "URL" && /\{\{\s*[A-Za-z0-9_]+\s*\}\}\s*$/.test(b.url || "")) slots.push({ slot, kind: "url_suffix", example, required: true, text: b.text });
        else if (kind === "COPY_CODE") slots.push({ slot, kind: "coupon_code", example, required: true, text: b.text });
        else if (kind === "OTP") slots.push({ slot, kind: "otp_code", required: true, text: b.text });
        else if (kind === "QUICK_REPLY") slots.push({ slot, kind: "payload", required: false, text: b.text });
      });
    }
  }
  return slots;
}

// -- REST ------------------------------------------------------------------------------------------------------
export class ApiError extends Error {
  constructor(status, message, body) { super(message); this.status = status; this.body = body; }
}

function problemText(body, status) {
  if (!body) return `HTTP ${status}`;
  if (Array.isArray(body.detail)) return body.detail.map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("; ");
  return body.detail || body.message || body.title || `HTTP ${status}`;
}

// api("GET", "/v1/agents/me"), api("POST", "/v1/conversations/x/messages", {content: {...}}),
// api("GET", "/v1/transcripts", null, {query: {from: "...", agent_id: "..."}}).
export async function api(method, path, body = null, { query, raw = false } = {}) {
  let url = `${state.config.api_base}${path}`;
  if (query) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== null && v !== undefined && v !== "") params.append(k, v);
    if ([...params].length) url += `?${params}`;
  }
  const headers = { Authorization: `Bearer ${state.token}` };
  if (body !== null) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["Idempotency-Key"] = crypto.randomUUID();
  const response = await fetch(url, { method, headers, body: body === null ? undefined : JSON.stringify(body) });
  if (response.status === 401) { signOut(t("auth.expired")); throw new ApiError(401, t("auth.expired")); }
  if (raw) { if (!response.ok) throw new ApiError(response.status, `HTTP ${response.status}`); return response; }
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { message: text }; }
  if (!response.ok) throw new ApiError(response.status, problemText(data, response.status), data);
  return data;
}

// Every page of a list endpoint ({items, next_cursor}) up to `limit` items.
export async function apiAll(path, query = {}, limit = 500) {
  const items = [];
  let cursor = null;
  do {
    const page = await api("GET", path, null, { query: { ...query, cursor } });
    items.push(...(page.items || []));
    cursor = page.next_cursor || page.cursor || null;
  } while (cursor && items.length < limit);
  return items;
}

// -- WebSocket -------------------------------------------------------------------------------------------------
// onPush(fn): fn({type, data}) for every push (ConversationAssigned, RoutedMessageReceived, AgentNotified, ...).
export function onPush(fn) { pushHandlers.add(fn); return () => pushHandlers.delete(fn); }

let retry = 1000;
let pinger = null;
function connectSocket() {
  if (!state.token || !state.config.ws_url) return;
  const socket = new WebSocket(`${state.config.ws_url}/?token=${encodeURIComponent(state.token)}`);
  state.socket = socket;
  socket.addEventListener("open", () => {
    state.live = true; retry = 1000; liveIndicator();
    pinger = setInterval(() => socket.readyState === 1 && socket.send('{"action":"ping"}'), 5 * 60 * 1000);
  });
  socket.addEventListener("message", (event) => {
    let push;
    try { push = JSON.parse(event.data); } catch { return; }
    if (push.type === "pong") return;
    for (const fn of [...pushHandlers]) { try { fn(push); } catch (err) { console.error(err); } }
  });
  socket.addEventListener("close", () => {
    clearInterval(pinger);
    state.live = false; liveIndicator();
    if (state.socket !== socket || !state.token) return; // signed out or replaced
    setTimeout(connectSocket, retry);
    retry = Math.min(retry * 2, 30000);
  });
}

function liveIndicator() {
  const el = document.getElementById("live");
  if (!el) return;
  el.textContent = state.live ? t("shell.live") : t("shell.offline");
  el.className = state.live ? "live on" : "live off";
}

// -- notifications ---------------------------------------------------------------------------------------------
let audio = null;
// A short two-tone chime (Web Audio: no sound file to load); browsers play it after the first user gesture.
export function chime() {
  try {
    audio = audio || new AudioContext();
    const now = audio.currentTime;
    for (const [i, freq] of [[0, 880], [1, 1320]]) {
      const osc = audio.createOscillator(), gain = audio.createGain();
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, now + i * 0.15);
      gain.gain.exponentialRampToValueAtTime(0.2, now + i * 0.15 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.15 + 0.14);
      osc.connect(gain).connect(audio.destination);
      osc.start(now + i * 0.15); osc.stop(now + i * 0.15 + 0.15);
    }
    document.body.dataset.chimes = String(Number(document.body.dataset.chimes || 0) + 1);
  } catch { /* no audio device: the visible notification is enough */ }
}

// A visible notification: a toast, the tab title's counter, and the desktop notification when allowed.
let unseen = 0;
export function notify(text) {
  toast(text, "notice");
  chime();
  if (document.hidden) { unseen += 1; document.title = `(${unseen}) ${t("shell.title")}`; }
  if (document.hidden && "Notification" in window && Notification.permission === "granted") new Notification(text);
}
document.addEventListener("visibilitychange", () => { if (!document.hidden) { unseen = 0; document.title = t("shell.title"); } });

// -- router ----------------------------------------------------------------------------------------------------
// register("inbox", {label: "nav.inbox", roles: ["agent", ...], section: "main", render(root, params)}).
// render may return a cleanup function (called when leaving the view).
export function register(name, view) { views.set(name, view); }

export function allowed(view) { return !view.roles || view.roles.includes(state.me && state.me.role); }

export function navigate(name, params = {}) {
  const query = new URLSearchParams(params).toString();
  location.hash = `#/${name}${query ? `?${query}` : ""}`;
}

// Changes the current view's parameters in the address (bookmarkable) without re-rendering the view.
export function setParams(params = {}) {
  const { name } = currentRoute();
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== null && v !== undefined && v !== "")).toString();
  history.replaceState(null, "", `#/${name}${query ? `?${query}` : ""}`);
}

function currentRoute() {
  const [path, query] = location.hash.replace(/^#\/?/, "").split("?");
  return { name: path || "", params: Object.fromEntries(new URLSearchParams(query || "")) };
}

export function defaultView() {
  const role = state.me && state.me.role;
  return role === "agent" ? "inbox" : role === "supervisor" ? "supervisor" : "inbox";
}

async function route() {
  if (!state.me) return;
  let { name, params } = currentRoute();
  if (!views.has(name) || !allowed(views.get(name))) { name = defaultView(); }
  if (state.cleanup) { try { state.cleanup(); } catch (err) { console.error(err); } state.cleanup = null; }
  renderNav(name);
  const main = clear(document.getElementById("main"));
  main.dataset.view = name;
  const view = views.get(name);
  document.title = `${t(view.label)} · ${t("shell.title")}`;
  try {
    const cleanup = await view.render(main, params);
    state.cleanup = typeof cleanup === "function" ? cleanup : null;
  } catch (err) {
    clear(main, h("p", { class: "error", role: "alert" }, errorText(err)));
  }
  main.focus({ preventScroll: true });
}
window.addEventListener("hashchange", route);

// -- shell -----------------------------------------------------------------------------------------------------
function renderNav(active) {
  const nav = clear(document.getElementById("nav"));
  const sections = {};
  for (const [name, view] of views) {
    if (!allowed(view) || view.hidden) continue;
    (sections[view.section || "main"] ||= []).push(h("li", {},
      h("a", { href: `#/${name}`, "aria-current": name === active ? "page" : null, "data-testid": `nav-${name}` }, t(view.label))));
  }
  for (const [section, items] of Object.entries(sections)) {
    nav.append(h("div", { class: "nav-section" }, h("h2", {}, t(`nav.section.${section}`)), h("ul", {}, items)));
  }
}

function renderUser() {
  const box = clear(document.getElementById("user"));
  const select = h("select", { "aria-label": t("shell.language"), "data-testid": "language",
    onchange: () => { setLang(select.value); renderUser(); route(); } },
    h("option", { value: "es" }, "Español"), h("option", { value: "en" }, "English"));
  select.value = state.lang;
  box.append(h("span", { id: "live", class: "live off", role: "status" }, t("shell.offline")), select);
  if (state.me) {
    box.append(h("span", { class: "who", "data-testid": "who" }, `${state.me.name || state.me.user_id || state.me.principal_id} · ${t(`role.${state.me.role}`)}`),
      h("button", { type: "button", onclick: () => signOut(), "data-testid": "sign-out" }, t("auth.sign_out")));
  }
  liveIndicator();
}

// -- sign-in ---------------------------------------------------------------------------------------------------
// Local stack: POST /local/sign-in {email, password} -> {id_token}. AWS: Cognito's InitiateAuth
// (USER_PASSWORD_AUTH) straight from the browser over TLS, with the NEW_PASSWORD_REQUIRED challenge of invited
// users; the tokens stay in sessionStorage (gone when the tab closes).
async function cognito(target, body) {
  const auth = state.config.auth;
  const response = await fetch(`https://cognito-idp.${auth.region}.amazonaws.com/`, {
    method: "POST",
    headers: { "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": `AWSCognitoIdentityProviderService.${target}` },
    body: JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, data.message || data.__type || `HTTP ${response.status}`);
  return data;
}

async function signInWith(email, password, newPassword) {
  const auth = state.config.auth;
  if (auth.mode === "local") {
    const response = await fetch(`${state.config.api_base}/local/sign-in`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ email, password }) });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new ApiError(response.status, t("auth.failed"));
    return data.id_token;
  }
  let result = await cognito("InitiateAuth", { AuthFlow: "USER_PASSWORD_AUTH", ClientId: auth.client_id,
    AuthParameters: { USERNAME: email, PASSWORD: password } });
  if (result.ChallengeName === "NEW_PASSWORD_REQUIRED") {
    if (!newPassword) throw new ApiError(409, t("auth.new_password_needed"), { challenge: true });
    result = await cognito("RespondToAuthChallenge", { ChallengeName: "NEW_PASSWORD_REQUIRED", ClientId: auth.client_id,
      Session: result.Session, ChallengeResponses: { USERNAME: email, NEW_PASSWORD: newPassword } });
  }
  if (!result.AuthenticationResult) throw new ApiError(401, t("auth.failed"));
  return result.AuthenticationResult.IdToken;
}

function claims(token) {
  try { return JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))); } catch { return {}; }
}

function showSignIn(message) {
  document.body.dataset.signedIn = "false";
  clear(document.getElementById("nav"));
  const main = clear(document.getElementById("main"));
  const email = h("input", { type: "email", name: "email", autocomplete: "username", required: true, "data-testid": "email" });
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password", "data-testid": "password",
    required: state.config.auth.mode !== "local" });
  const fresh = h("input", { type: "password", name: "new_password", autocomplete: "new-password" });
  const freshField = field(t("auth.new_password"), fresh, t("auth.new_password_hint"));
  freshField.hidden = true;
  const status = h("p", { role: "alert", class: "error", "data-testid": "sign-in-error" }, message || "");
  const form = h("form", { class: "sign-in card", "data-testid": "sign-in",
    onsubmit: async (event) => {
      event.preventDefault();
      status.textContent = "";
      try {
        const token = await signInWith(email.value.trim(), password.value, fresh.value || null);
        await start(token);
      } catch (err) {
        if (err.body && err.body.challenge) { freshField.hidden = false; fresh.required = true; fresh.focus(); }
        status.textContent = errorText(err);
      }
    } },
  h("h1", {}, t("auth.title")),
  field(t("auth.email"), email), field(t("auth.password"), password, state.config.auth.mode === "local" ? t("auth.local_hint") : null),
  freshField, status,
  h("button", { type: "submit", class: "primary", "data-testid": "sign-in-submit" }, t("auth.sign_in")));
  main.append(form);
  renderUser();
  email.focus();
}

export function signOut(message) {
  state.token = null; state.me = null;
  sessionStorage.removeItem("console.token");
  if (state.socket) { const s = state.socket; state.socket = null; s.close(); }
  if (state.cleanup) { try { state.cleanup(); } catch { /* leaving anyway */ } state.cleanup = null; }
  showSignIn(message);
}

async function start(token) {
  state.token = token;
  const me = await api("GET", "/v1/me");
  if (me.kind !== "user") throw new ApiError(403, t("auth.users_only"));
  const c = claims(token);
  state.me = { ...me, name: c.name || c.given_name || c.email };
  sessionStorage.setItem("console.token", token);
  document.body.dataset.signedIn = "true";
  document.body.dataset.role = me.role;
  renderUser();
  connectSocket();
  if ("Notification" in window && Notification.permission === "default") Notification.requestPermission().catch(() => {});
  await route();
}

export async function boot() {
  setLang(localStorage.getItem("console.lang") || (navigator.language || "es").slice(0, 2));
  const response = await fetch("config.json", { cache: "no-store" });
  state.config = await response.json();
  const saved = sessionStorage.getItem("console.token");
  if (saved && (claims(saved).exp || 0) * 1000 > Date.now() + 60000) {
    try { await start(saved); return; } catch { /* expired or revoked: sign in again */ }
  }
  showSignIn();
}

addStrings({
  es: {
    "shell.title": "Consola", "shell.live": "En vivo", "shell.offline": "Sin conexión", "shell.language": "Idioma",
    "nav.section.main": "Trabajo", "nav.section.admin": "Administración",
    "auth.title": "Ingresar a la consola", "auth.email": "Correo", "auth.password": "Contraseña",
    "auth.sign_in": "Ingresar", "auth.sign_out": "Salir", "auth.failed": "Correo o contraseña incorrectos",
    "auth.expired": "La sesión expiró: volvé a ingresar", "auth.users_only": "La consola es para usuarios (agentes, supervisores, administradores)",
    "auth.new_password": "Nueva contraseña", "auth.new_password_hint": "Primer ingreso: elegí tu contraseña",
    "auth.new_password_needed": "Elegí una contraseña nueva para terminar de ingresar",
    "auth.local_hint": "Pila local: los usuarios de demostración ingresan sin Cognito",
    "role.agent": "Agente", "role.supervisor": "Supervisor", "role.admin": "Administrador", "role.undefined": "",
    "common.empty": "No hay nada para mostrar", "common.ok": "Aceptar", "common.cancel": "Cancelar",
    "common.save": "Guardar", "common.refresh": "Actualizar", "common.loading": "Cargando…", "common.close": "Cerrar",
    "common.search": "Buscar", "common.yes": "Sí", "common.no": "No", "common.saved": "Guardado",
  },
  en: {
    "shell.title": "Console", "shell.live": "Live", "shell.offline": "Offline", "shell.language": "Language",
    "nav.section.main": "Work", "nav.section.admin": "Administration",
    "auth.title": "Sign in to the console", "auth.email": "Email", "auth.password": "Password",
    "auth.sign_in": "Sign in", "auth.sign_out": "Sign out", "auth.failed": "Wrong email or password",
    "auth.expired": "Your session expired: sign in again", "auth.users_only": "The console is for users (agents, supervisors, admins)",
    "auth.new_password": "New password", "auth.new_password_hint": "First sign-in: choose your password",
    "auth.new_password_needed": "Choose a new password to finish signing in",
    "auth.local_hint": "Local stack: demo users sign in without Cognito",
    "role.agent": "Agent", "role.supervisor": "Supervisor", "role.admin": "Admin", "role.undefined": "",
    "common.empty": "Nothing to show", "common.ok": "OK", "common.cancel": "Cancel",
    "common.save": "Save", "common.refresh": "Refresh", "common.loading": "Loading…", "common.close": "Close",
    "common.search": "Search", "common.yes": "Yes", "common.no": "No", "common.saved": "Saved",
  },
});
