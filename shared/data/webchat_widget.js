/*! OmniChat web chat widget: <script src="https://API_BASE/webchat/CHANNEL_ID/widget.js" async></script>
 * Options: data-user-id, data-user-hash, data-name, data-email, data-open="true" on the tag, or
 * window.OmniChatSettings = {userId, userHash, name, email, open, texts} set before it (wins).
 * ES2018, no dependencies, one global (window.OmniChat). The UI lives in the shadow root of
 * <div id="omnichat-widget">; message content only ever reaches the DOM through textContent. */
(function () {
"use strict";
const W = window, D = document, CUR = D.currentScript;
if ((W.OmniChat && W.OmniChat.__omnichat) || D.getElementById("omnichat-widget")) return;

// ---- where the API is: everything before /webchat/ in the script's src, then the channel id
let tag = CUR && /\/webchat\//.test(CUR.src || "") ? CUR : null, pm = null;
if (!tag) {
  for (const s of D.getElementsByTagName("script")) {
    const p = (s.src || "").split(/[?#]/)[0];
    if (p.indexOf("/webchat/") >= 0 && /\/widget\.js$/.test(p)) tag = s;
  }
}
try {
  const u = new URL(tag.src, W.location.href);
  pm = (u.origin + u.pathname).match(/^(.*)\/webchat\/([^/]+)\/widget\.js$/);
} catch (e) { pm = null; }
if (!pm) return console.warn("[OmniChat] No se pudo determinar el canal a partir del src del script.");
const BASE = pm[1], CID = decodeURIComponent(pm[2]), KEY = "omnichat:" + CID, BADKEY = KEY + ":rejected-hash";
const S = W.OmniChatSettings && typeof W.OmniChatSettings === "object" ? W.OmniChatSettings : {};
const opt = (k) => (S[k] != null && S[k] !== "" ? String(S[k]) : tag.dataset[k] || "");
const NAME = opt("name"), EMAIL = opt("email");
const ID = opt("userId") && opt("userHash") ? { user_id: opt("userId"), user_hash: opt("userHash") } : null;
if (ID && NAME) ID.name = NAME;
if (ID && EMAIL) ID.email = EMAIL;

const T = Object.assign({
  open: "Abrir chat", close: "Cerrar chat", title: "Chat", placeholder: "Escribe un mensaje…", send: "Enviar",
  input: "Mensaje", log: "Mensajes", prechatTitle: "Antes de empezar", start: "Comenzar",
  prechatIntro: "Cuéntanos un poco sobre ti para poder ayudarte.", required: "(obligatorio)",
  sendFailed: "No pudimos enviar tu mensaje.", retry: "Reintentar", sending: "Enviando…", sent: "Enviado",
  delivered: "Entregado", read: "Leído", typing: "Escribiendo…", connecting: "Conectando…",
  reconnecting: "Reconectando…", startFailed: "No pudimos iniciar el chat. Inténtalo de nuevo.",
  loginRequired: "Inicia sesión para chatear con nosotros.", identityFailed: "No pudimos verificar tu identidad.",
  prechatNeeded: "Completa el formulario para empezar.", tooLong: "El mensaje es demasiado largo.",
  image: "Imagen", file: "Archivo", location: "Ver ubicación", unsupported: "Mensaje no compatible",
}, typeof S.texts === "object" ? S.texts : {});
const MAX = 4096, RANK = { sending: 0, sent: 1, delivered: 2, read: 3 };

// ---- helpers
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const jitter = (ms) => Math.round(ms * (0.75 + Math.random() * 0.5));
const retryable = (e) => !e.status || e.status >= 500 || e.status === 408 || e.status === 429;
const clone = (o) => JSON.parse(JSON.stringify(o));
const flag = (e, k) => { e[k] = true; return e; };
const mem = {};
const store = {
  get: (k) => { try { return W.localStorage.getItem(k); } catch (e) { return mem[k] || null; } },
  set: (k, v) => { try { W.localStorage.setItem(k, v); } catch (e) { mem[k] = v; } },
  del: (k) => { delete mem[k]; try { W.localStorage.removeItem(k); } catch (e) { /* no storage */ } },
};
const emit = (name, detail) => W.dispatchEvent(new CustomEvent("omnichat:" + name, { detail: detail }));
const report = (where, e) => emit("error", { where: where, status: e.status || 0, message: e.message, problem: e.problem || null });
function uuid() {
  const c = W.crypto;
  try { return c.randomUUID(); } catch (e) { /* old browser or insecure context */ }
  const b = new Uint8Array(16);
  try { c.getRandomValues(b); } catch (e) { for (let i = 0; i < 16; i++) b[i] = Math.random() * 256; }
  b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
  const x = Array.from(b, (n) => (n + 256).toString(16).slice(1)).join("");
  return [x.slice(0, 8), x.slice(8, 12), x.slice(12, 16), x.slice(16, 20), x.slice(20)].join("-");
}
function safeUrl(u) { // http(s) only
  try {
    const x = new URL(u, BASE + "/");
    return typeof u === "string" && /^https?:$/.test(x.protocol) ? x.href : null;
  } catch (e) { return null; }
}
function h(name, attrs, kids) {
  const el = D.createElement(name);
  for (const k in attrs || {}) {
    const v = attrs[k];
    if (v == null || v === false) continue;
    if (k === "text") el.textContent = v;
    else if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of kids || []) if (c != null) el.append(c);
  return el;
}
function icon(d) {
  const NS = "http://www.w3.org/2000/svg", s = D.createElementNS(NS, "svg"), p = D.createElementNS(NS, "path");
  s.setAttribute("viewBox", "0 0 24 24"); s.setAttribute("aria-hidden", "true"); p.setAttribute("d", d);
  s.append(p);
  return s;
}
const ICONS = {
  chat: "M20 2H4a2 2 0 0 0-2 2v18l4-4h14a2 2 0 0 0 2-2V4a2 2 0 0 0-2-2zM7 9h10v2H7zm0-3h10v2H7zm0 6h7v2H7z",
  close: "M19 6.4 17.6 5 12 10.6 6.4 5 5 6.4 10.6 12 5 17.6 6.4 19 12 13.4 17.6 19 19 17.6 13.4 12z",
  file: "M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8zm-1 7V3.5L18.5 9z",
  pin: "M12 2a7 7 0 0 0-7 7c0 5.3 7 13 7 13s7-7.7 7-13a7 7 0 0 0-7-7zm0 9.5A2.5 2.5 0 1 1 12 6.5a2.5 2.5 0 0 1 0 5z",
};
const clear = (el) => { while (el.firstChild) el.firstChild.remove(); };
const hhmm = (iso) => { const d = new Date(iso); return isNaN(d) ? "" : d.toLocaleTimeString("es", { hour: "2-digit", minute: "2-digit" }); };
function linkify(text) { // plain text, with http(s) URLs as links
  const frag = D.createDocumentFragment(), re = /https?:\/\/[^\s<>"'`]+/gi;
  let last = 0, m;
  while ((m = re.exec(text))) {
    let url = m[0];
    while (/[.,;:!?'"»)\]]$/.test(url) && !(url.slice(-1) === ")" && url.split("(").length >= url.split(")").length)) url = url.slice(0, -1);
    const href = /^https?:\/\/[^/]/i.test(url) && safeUrl(url);
    if (!href) continue;
    frag.append(text.slice(last, m.index), h("a", { href: href, target: "_blank", rel: "noopener noreferrer", text: url }));
    last = re.lastIndex = m.index + url.length;
  }
  frag.append(text.slice(last));
  return frag;
}

// ---- HTTP (errors are problem+json)
function apiError(status, p, msg) {
  p = p && typeof p === "object" ? p : null;
  return Object.assign(new Error((p && (p.detail || p.title)) || msg || "HTTP " + status), { status: status, problem: p });
}
const detailOf = (e, fallback) => (e.problem && (e.problem.detail || e.problem.title)) || fallback;
async function http(method, path, body, token) {
  const headers = { Accept: "application/json" }, ctl = new AbortController(), timer = setTimeout(() => ctl.abort(), 20000);
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = "Bearer " + token;
  let res, data = null;
  try {
    res = await fetch(BASE + "/webchat/" + encodeURIComponent(CID) + path, { method: method, headers: headers,
      credentials: "omit", signal: ctl.signal, body: body === undefined ? undefined : JSON.stringify(body) });
    const txt = await res.text();
    try { data = txt ? JSON.parse(txt) : null; } catch (e) { data = null; }
  } catch (e) {
    if (!res || res.ok) throw apiError(0, null, "network error");
  } finally { clearTimeout(timer); }
  if (!res.ok) throw apiError(res.status, data);
  return data;
}

// ---- state
let config = null, configDone, session = null, sessionP = null, historyLoaded = false, gen = 0;
let idRejected = !!ID && store.get(BADKEY) === ID.user_hash, lastPrechat = null, lastRead = null;
let readTimer = 0, typingTimer = 0, isOpen = false, wantOpen = opt("open") === "true";
let view = "chat", stick = true, histBusy = false, histAgain = false;
let sock = null, wsOpen = false, wsStable = false, wsFails = 0, wsAttempt = 0, wsTimer = 0, pollTimer = 0;
const configReady = new Promise((r) => { configDone = r; });
const list = [], byId = new Map(), byClient = new Map();
let root, wrap, launcher, panel, titleEl, banner, log, typing, composer, input, fbox, form, ferr, noticeBox;
const idUsable = () => !!ID && !idRejected;
const fields = () => { const p = config && config.prechat; return p && p.enabled && Array.isArray(p.fields) ? p.fields.filter((f) => f && f.name) : []; };

// ---- UI
const CSS = ":host{all:initial}*{box-sizing:border-box}[hidden]{display:none!important}p{margin:0}a{color:inherit}" +
  ".oc{--c:#2563eb;--ct:#fff;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1f2937}" +
  "button{font:inherit;margin:0;cursor:pointer;border:0}button:focus-visible{outline:3px solid #93c5fd}svg{fill:currentColor}" +
  ".launcher,.panel{position:fixed;right:20px;z-index:2147483000}" +
  ".launcher{bottom:20px;width:58px;height:58px;border-radius:50%;padding:14px;box-shadow:0 4px 16px #0004}" +
  ".launcher,.head,.in .bubble,.btn{background:var(--c);color:var(--ct)}.launcher svg,.x svg{display:block;width:100%;height:100%}" +
  ".panel{bottom:90px;width:370px;max-width:calc(100vw - 40px);height:600px;max-height:calc(100vh - 110px);background:#fff;border-radius:14px;box-shadow:0 12px 40px #0005;display:flex;flex-direction:column;overflow:hidden}" +
  ".head{padding:10px 10px 10px 16px;display:flex;align-items:center}" +
  "h2{flex:1;margin:0;font-size:16px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}" +
  ".x{width:34px;height:34px;border-radius:8px;background:none;color:inherit;padding:7px}" +
  ".banner{background:#fef3c7;color:#92400e;font-size:12px;padding:4px;text-align:center}" +
  ".log,.typing{background:#f5f6f8}.log{flex:1;overflow-y:auto;padding:14px 12px;display:flex;flex-direction:column;gap:8px;outline:0}" +
  ".row{display:flex;flex-direction:column;max-width:85%;align-self:flex-start;align-items:flex-start}.in{align-self:flex-end;align-items:flex-end}" +
  ".bubble{padding:8px 12px;border-radius:16px 16px 16px 4px;background:#fff;border:1px solid #e5e7eb;white-space:pre-wrap;overflow-wrap:anywhere;max-width:100%}" +
  ".in .bubble{border:0;border-radius:16px 16px 4px 16px}.failed .bubble{opacity:.65}.bubble>*+*{margin-top:6px}" +
  "img,video{display:block;max-width:100%;border-radius:10px}audio{max-width:100%}.bubble svg{width:16px;height:16px;vertical-align:-3px;margin-right:4px}" +
  ".meta,.typing,.addr{font-size:12px;color:#6b7280}.meta>span{margin-left:4px}.read{color:#2563eb}" +
  ".err{font-size:12px;color:#b91c1c}.err button{background:none;color:inherit;text-decoration:underline}" +
  ".chips{display:flex;flex-wrap:wrap;gap:6px;margin-top:6px}.chip{border:1px solid var(--c);background:#fff;border-radius:16px;padding:6px 12px}" +
  ".chip:disabled,.btn:disabled{opacity:.5;cursor:default}.typing{font-style:italic;padding:0 16px 6px}" +
  ".composer{display:flex;align-items:flex-end;gap:8px;padding:10px;border-top:1px solid #e5e7eb}" +
  "textarea,input{font:inherit;color:inherit;border:1px solid #d1d5db;border-radius:10px;padding:9px 10px;outline:0}" +
  "textarea{flex:1;resize:none;max-height:120px}:focus{border-color:var(--c)}.btn{height:40px;border-radius:10px;padding:0 16px;font-weight:600}" +
  ".fbox{flex:1;display:flex;min-height:0}.form{flex:1;overflow-y:auto;padding:18px 16px;display:flex;flex-direction:column;gap:12px}" +
  "h3{margin:0;font-size:17px}label{display:flex;flex-direction:column;gap:4px;font-size:13px;font-weight:600}label i{font-weight:400}" +
  ".ferr{color:#b91c1c}.notice{flex:1;display:flex;flex-direction:column;align-items:center;justify-content:center;gap:14px;padding:24px;text-align:center}" +
  ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}" +
  "@media (max-width:480px){.panel{top:0;left:0;right:0;bottom:0;width:auto;max-width:none;height:auto;max-height:none;border-radius:0}.open .launcher{display:none}textarea,input{font-size:16px}}";

function build() {
  const host = h("div", { id: "omnichat-widget", style: "all:initial!important;display:block!important" });
  root = host.attachShadow({ mode: "open" });
  api._root = root;
  launcher = h("button", { type: "button", class: "launcher", "data-omnichat": "launcher", "aria-label": T.open, "aria-expanded": "false",
    "aria-controls": "oc-panel", hidden: true, onclick: () => (isOpen ? close() : open()) }, [icon(ICONS.chat)]);
  titleEl = h("h2", { id: "oc-title", text: T.title });
  banner = h("div", { class: "banner", role: "status", hidden: true });
  log = h("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": T.log, tabindex: "0",
    onscroll: () => { stick = log.scrollHeight - log.scrollTop - log.clientHeight < 60; } });
  typing = h("div", { class: "typing", hidden: true, text: T.typing });
  input = h("textarea", { "data-omnichat": "input", rows: "1", maxlength: MAX, placeholder: T.placeholder, "aria-label": T.input,
    oninput: autosize, onkeydown: (e) => {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) { e.preventDefault(); submitComposer(); }
    } });
  composer = h("div", { class: "composer" }, [input,
    h("button", { type: "button", class: "btn", "data-omnichat": "send", "aria-label": T.send, text: T.send, onclick: submitComposer })]);
  fbox = h("div", { class: "fbox", hidden: true });
  noticeBox = h("div", { class: "notice", role: "status", hidden: true });
  panel = h("div", { class: "panel", id: "oc-panel", role: "dialog", "aria-labelledby": "oc-title", "data-omnichat": "panel", hidden: true,
    onkeydown: (e) => { if (e.key === "Escape") close(); } }, [
    h("div", { class: "head" }, [titleEl, h("button", { type: "button", class: "x", "data-omnichat": "close", "aria-label": T.close,
      onclick: () => close() }, [icon(ICONS.close)])]),
    banner, log, typing, composer, fbox, noticeBox]);
  wrap = h("div", { class: "oc" }, [panel, launcher]);
  root.append(h("style", { text: CSS }), wrap);
  D.body.append(host);
  // Some site builders re-render <body>: put the widget back if it is removed.
  new MutationObserver(() => { if (!host.isConnected) D.body.append(host); }).observe(D.body, { childList: true });
}
function autosize() { input.style.height = "auto"; input.style.height = Math.min(input.scrollHeight + 2, 120) + "px"; }
function scrollBottom() { log.scrollTop = log.scrollHeight; stick = true; }
function showView(v) {
  view = v;
  log.hidden = composer.hidden = v !== "chat";
  typing.hidden = typing.hidden || v !== "chat";
  fbox.hidden = v !== "prechat";
  noticeBox.hidden = v !== "notice";
  updateBanner();
}
function updateBanner() {
  const text = view !== "chat" ? "" : !session ? (sessionP ? T.connecting : "") : !wsOpen && wsFails ? T.reconnecting : "";
  banner.textContent = text;
  banner.hidden = !text;
}
function notice(text, retry) {
  clear(noticeBox);
  noticeBox.append(h("p", { text: text }), retry ? h("button", { type: "button", class: "btn", text: T.retry, onclick: retry }) : "");
  showView("notice");
}
function applyConfig() {
  let c = /^#(?:[0-9a-f]{3}){1,2}$/i.test(config.color) ? config.color : "#2563eb";
  if (c.length === 4) c = c.replace(/[0-9a-f]/gi, (x) => x + x);
  const n = parseInt(c.slice(1), 16), yiq = 0.299 * (n >> 16) + 0.587 * ((n >> 8) & 255) + 0.114 * (n & 255);
  wrap.style.setProperty("--c", c);
  wrap.style.setProperty("--ct", yiq > 165 ? "#111827" : "#fff");
  titleEl.textContent = config.title ? String(config.title) : T.title;
  if (config.greeting) { // local, not a stored message
    log.prepend(h("div", { class: "row", "data-omnichat": "greeting" }, [h("div", { class: "bubble" }, [linkify(String(config.greeting))])]));
  }
}

// ---- pre-chat form
function showPrechat(detail) {
  if (!form) {
    const prefill = { name: NAME, email: EMAIL };
    ferr = h("div", { class: "ferr", role: "alert", "data-omnichat": "prechat-error", hidden: true });
    form = h("form", { class: "form", "data-omnichat": "prechat", novalidate: true, onsubmit: submitPrechat }, [
      h("h3", { text: T.prechatTitle }), h("p", { text: T.prechatIntro })].concat(fields().map((f) => h("label", {}, [
      h("span", {}, [String(f.label || f.name), f.required ? h("i", { text: " " + T.required }) : ""]),
      h("input", { name: f.name, maxlength: "200", value: prefill[f.name], "aria-required": f.required ? "true" : null,
        type: ["email", "tel"].indexOf(f.type) >= 0 ? f.type : f.name === "email" ? "email" : f.name === "phone" ? "tel" : "text",
        autocomplete: { name: "name", email: "email", phone: "tel" }[f.name] || "on" })])), [ferr,
      h("button", { type: "submit", class: "btn", "data-omnichat": "prechat-submit", text: T.start })]));
    fbox.append(form);
  }
  setFormError(detail);
  showView("prechat");
  if (isOpen) form.querySelector("input").focus();
}
function setFormError(text) { ferr.textContent = text || ""; ferr.hidden = !text; }
async function submitPrechat(ev) {
  ev.preventDefault();
  if (session || sessionP) return;
  const values = {}, btn = form.querySelector("[type=submit]");
  for (const el of form.querySelectorAll("input")) if (el.value.trim()) values[el.name] = el.value.trim();
  btn.disabled = true;
  setFormError("");
  try {
    await begin({ prechat: values }, true);
    lastPrechat = values;
  } catch (e) {
    if (!e.stale) { setFormError(e.status >= 400 && e.status < 500 ? detailOf(e, T.startFailed) : T.startFailed); report("prechat", e); }
  } finally { btn.disabled = false; }
}

// ---- sessions
function plan() { // what POST /sessions can be sent now; null: the visitor must log in or fill the form
  const token = store.get(KEY);
  if (token) return { token: token };
  if (idUsable()) return {};
  if (config.identity_required) return null;
  if (fields().length) return lastPrechat ? { prechat: lastPrechat } : null;
  return {};
}
function startFlow(auto) { // auto: may start a session with the panel closed (stored token or identity)
  if (!config || session || sessionP) return;
  const p = plan();
  if (p && (isOpen || (auto && (p.token || idUsable())))) begin(p).catch(() => {});
  else if (p) showView("chat");
  else if (config.identity_required && !idUsable()) notice(T.loginRequired);
  else showPrechat();
}
function begin(p, fromForm) {
  if (session) return Promise.resolve(session);
  if (sessionP) return sessionP;
  const pr = (sessionP = createSession(p));
  if (!fromForm) showView("chat");
  pr.catch((e) => {
    if (sessionP === pr) sessionP = null;
    updateBanner();
    if (e.stale || (fromForm && !e.needForm)) return;
    if (e.needForm) showPrechat(e.status === 422 ? detailOf(e, "") : "");
    else if (e.login) notice(ID ? T.identityFailed : T.loginRequired);
    else { notice(T.startFailed, () => startFlow(true)); report("session", e); }
  });
  return pr;
}
async function createSession(p) {
  const g = gen;
  let token = p.token || null, prechat = p.prechat || null, data;
  for (let attempt = 0; ; attempt++) {
    const body = {}, withId = idUsable();
    if (token) body.token = token;
    if (prechat) body.prechat = prechat;
    if (withId) body.identity = ID;
    try {
      data = await http("POST", "/sessions", body);
    } catch (e) {
      if (g !== gen) throw flag(e, "stale");
      if ((e.status === 401 || e.status === 403) && token) { // expired or unknown session: start fresh
        store.del(KEY);
        token = null;
      } else if (e.status === 401 && withId) {
        console.warn("[OmniChat] La firma de identidad (user_hash) no es válida; se continúa como visitante anónimo.");
        idRejected = true;
        store.set(BADKEY, ID.user_hash);
      } else if (e.status === 422 && !prechat && fields().length) throw flag(e, "needForm");
      else if (retryable(e) && attempt < 2) { await sleep(jitter(1000 << attempt)); continue; } else throw e;
      if (!token && !idUsable()) {
        if (config.identity_required) throw flag(e, "login");
        if (!prechat && fields().length) prechat = lastPrechat;
        if (!prechat && fields().length) throw flag(new Error(T.prechatNeeded), "needForm");
      }
      continue;
    }
    if (g !== gen) throw flag(new Error("stale"), "stale");
    if (!data || !data.token) throw apiError(500, null, "invalid session");
    return onSession(data);
  }
}
function onSession(data) {
  session = { token: String(data.token), visitor_id: data.visitor_id, expires_at: data.expires_at, websocket_url: data.websocket_url };
  sessionP = null;
  store.set(KEY, session.token);
  showView("chat");
  if (isOpen) input.focus();
  closeSocket();
  connectWs();
  loadHistory();
  return session;
}
function ensureSession() {
  if (session) return Promise.resolve(session);
  return sessionP || configReady.then(() => {
    if (session || sessionP) return session || sessionP;
    const p = plan();
    if (!p) { startFlow(false); throw flag(new Error(T.prechatNeeded), "needForm"); }
    return begin(p);
  });
}
async function authed(method, path, body) { // on 401 (token expired) renew the session once and retry
  const s = await ensureSession();
  try {
    return await http(method, path, body, s.token);
  } catch (e) {
    if (e.status !== 401) throw e;
    if (session === s) { session = null; begin({ token: s.token }).catch(() => {}); }
    return http(method, path, body, (await ensureSession()).token);
  }
}

// ---- messages
function best(a, b) { // statuses never go backwards (sending < sent < delivered < read)
  if (!b) return a === "sending" || a === "failed" ? "sent" : a;
  return a in RANK && b in RANK && RANK[a] > RANK[b] ? a : b;
}
const keyOf = (m) => JSON.stringify([m.type, m.text, m.buttons, m.media, m.location]);
const ts = (en) => { const t = Date.parse(en.msg.sent_at); return isNaN(t) ? Infinity : t; };
function insertEntry(en) { // by sent_at, but never before a message still pending locally
  let i = list.length;
  if (!en.local) while (i > 0 && !list[i - 1].local && ts(list[i - 1]) > ts(en)) i--;
  log.insertBefore(en.el, list[i] ? list[i].el : null);
  list.splice(i, 0, en);
  if (stick || en.local) scrollBottom();
}
function removeEntry(en) {
  en.removed = true;
  en.el.remove();
  if (list.indexOf(en) >= 0) list.splice(list.indexOf(en), 1);
}
function upsert(raw) {
  if (!raw || typeof raw !== "object" || raw.id == null) return;
  const m = Object.assign({}, raw, { id: String(raw.id), direction: raw.direction === "in" ? "in" : "out",
    buttons: Array.isArray(raw.buttons) ? raw.buttons.filter((b) => b && b.id != null) : null,
    status: raw.status || null, text: raw.text == null ? null : String(raw.text) });
  let en = byId.get(m.id) || byClient.get(raw.client_message_id);
  if (en && !en.removed) { // replace (e.g. the optimistic bubble by the stored message): never duplicate
    const same = en.key === keyOf(m);
    m.status = best(en.msg.status, m.status);
    en.msg = m; en.local = false;
    byId.set(m.id, en);
    if (same) meta(en); else render(en);
    return updateChips();
  }
  en = { msg: m, el: h("div", { "data-omnichat": "message" }) };
  byId.set(m.id, en);
  render(en);
  insertEntry(en);
  updateChips();
  emit("message", clone(m));
  if (m.direction === "out") {
    typing.hidden = true;
    scheduleRead();
  }
}
function addLocal(payload, text) { // the visitor's optimistic bubble; its id is the client_message_id until the 202
  const cid = uuid();
  const en = { local: true, clientId: cid, payload: Object.assign({ client_message_id: cid }, payload), el: h("div", { "data-omnichat": "message" }),
    msg: { id: cid, direction: "in", type: "text", text: text, buttons: null, media: null, location: null, sent_at: new Date().toISOString(), status: "sending" } };
  byClient.set(cid, en);
  render(en);
  insertEntry(en);
  return en;
}
function content(m) {
  const out = [], md = m.media, url = md && safeUrl(md.url), name = (md && md.filename && String(md.filename)) || "", g = m.location;
  const link = (href, kids) => h("a", { href: href, target: "_blank", rel: "noopener noreferrer" }, kids);
  if (url && (m.type === "image" || m.type === "sticker")) {
    out.push(link(url, [h("img", { src: url, alt: name || T.image, loading: "lazy", onload: () => stick && scrollBottom() })]));
  } else if (url) {
    if (m.type === "video" || m.type === "audio") out.push(h(m.type, { src: url, controls: true, preload: "metadata" }));
    out.push(h("div", {}, [link(url, [icon(ICONS.file), name || T.file])]));
  }
  if (g && isFinite(parseFloat(g.latitude)) && isFinite(parseFloat(g.longitude))) {
    out.push(h("div", {}, [link("https://www.openstreetmap.org/?mlat=" + parseFloat(g.latitude) + "&mlon=" + parseFloat(g.longitude),
      [icon(ICONS.pin), String(g.name || g.address || T.location)]), g.name && g.address ? h("div", { class: "addr", text: String(g.address) }) : null]));
  }
  if (m.text) out.push(h("div", {}, [linkify(m.text)]));
  return out.length ? out : [h("em", { text: T.unsupported })];
}
function render(en) {
  const m = en.msg;
  en.key = keyOf(m);
  en.chips = null;
  en.tail = null;
  clear(en.el);
  en.el.append(h("div", { class: "bubble" }, content(m)));
  if (m.direction === "out" && m.buttons && m.buttons.length) {
    en.chips = m.buttons.map((b) => h("button", { type: "button", class: "chip", "data-omnichat": "button", "data-button-id": b.id,
      text: String(b.title == null ? b.id : b.title), onclick: () => tapButton(en, b) }));
    en.el.append(h("div", { class: "chips" }, en.chips));
  }
  meta(en);
}
function meta(en) { // attributes, time, ticks and the failed state
  const m = en.msg, st = m.status || "", tail = h("div", {}, [h("div", { class: "meta" }, [h("time", { datetime: m.sent_at, text: hhmm(m.sent_at) }),
    m.direction !== "in" ? "" : st === "sending" ? h("span", { text: T.sending }) : !RANK[st] ? ""
      : h("span", { class: st }, [h("span", { "aria-hidden": "true", text: st === "sent" ? "✓" : "✓✓" }), h("span", { class: "sr", text: T[st] })])])]);
  en.el.className = "row " + m.direction + (st === "failed" ? " failed" : "");
  en.el.setAttribute("data-direction", m.direction);
  en.el.setAttribute("data-id", m.id);
  en.el.setAttribute("data-status", st);
  if (st === "failed") {
    tail.append(h("div", { class: "err", role: "alert" }, [en.error || T.sendFailed, en.canRetry ? " " : "", en.canRetry
      ? h("button", { type: "button", "data-omnichat": "retry", text: T.retry, onclick: () => deliver(en).catch(() => {}) }) : ""]));
  }
  if (en.tail) en.tail.replaceWith(tail); else en.el.append(tail);
  en.tail = tail;
}
function updateChips() { // only the last business message's buttons can be tapped, and only once
  let lastOut = null;
  for (const en of list) if (en.msg.direction === "out") lastOut = en;
  for (const en of list) for (const b of en.chips || []) b.disabled = en !== lastOut || !!en.answered;
}
function tapButton(en, b) {
  if (en.answered) return;
  en.answered = true;
  updateChips();
  const title = String(b.title == null ? b.id : b.title);
  deliver(addLocal({ reply: { id: String(b.id), title: title } }, title)).catch(() => {});
}
function accepted(en, mid) {
  const other = mid != null && byId.get(String(mid));
  if (other && other !== en && !other.removed) { // the stored copy arrived before the 202: keep it
    removeEntry(en);
    other.msg.status = best(other.msg.status, "sent");
    return meta(other);
  }
  if (mid != null) { en.msg.id = String(mid); byId.set(en.msg.id, en); }
  en.msg.status = best(en.msg.status, "sent");
  meta(en);
}
async function deliver(en) { // network errors and 5xx: retry with the same client_message_id (the server dedupes)
  en.msg.status = "sending";
  meta(en);
  for (let attempt = 0; ; attempt++) {
    try {
      const data = (await authed("POST", "/messages", en.payload)) || {};
      if (!en.removed) accepted(en, data.message_id);
      return data;
    } catch (e) {
      if (e.stale || en.removed) throw e;
      if (retryable(e) && !e.needForm && attempt < 3) { await sleep(jitter(700 << attempt)); continue; }
      en.canRetry = retryable(e);
      en.error = en.canRetry ? T.sendFailed : detailOf(e, T.sendFailed);
      en.msg.status = "failed";
      meta(en);
      report("send", e);
      throw e;
    }
  }
}
function submitComposer() {
  const text = input.value.trim();
  if (!text) return;
  input.value = "";
  autosize();
  input.focus();
  send(text).catch(() => {});
}

// ---- history, read receipts, WebSocket, polling fallback
async function loadHistory() {
  if (!session) return;
  if (histBusy) { histAgain = true; return; }
  histBusy = true;
  const g = gen;
  let retry = false;
  try {
    const data = await authed("GET", "/messages");
    if (g === gen) {
      for (const m of (data && Array.isArray(data.messages) ? data.messages : [])) upsert(m);
      if (!historyLoaded && session) {
        historyLoaded = true;
        scrollBottom();
        emit("ready", { visitor_id: session.visitor_id, channel_id: CID });
      }
      scheduleRead();
    }
  } catch (e) {
    retry = !historyLoaded && g === gen && !e.stale;
  }
  histBusy = false;
  if (histAgain) { histAgain = false; loadHistory(); } else if (retry) setTimeout(() => g === gen && loadHistory(), jitter(3000));
}
function scheduleRead() {
  clearTimeout(readTimer);
  if (isOpen && !D.hidden && session) readTimer = setTimeout(sendRead, 1000);
}
async function sendRead() {
  let last = null;
  for (const en of list) if (en.msg.direction === "out") last = en.msg.id;
  if (!isOpen || D.hidden || !session || !last || last === lastRead) return;
  lastRead = last;
  try { await authed("POST", "/read", { message_id: last }); } catch (e) { if (lastRead === last) lastRead = null; }
}
function updatePolling() {
  const want = !!session && isOpen && wsFails >= 3 && !wsStable;
  if (want && !pollTimer) pollTimer = setInterval(loadHistory, 5000);
  if (!want) pollTimer = clearInterval(pollTimer) || 0;
}
function closeSocket() {
  const s = sock;
  sock = null; wsOpen = wsStable = false;
  if (s) s.close(1000);
}
function connectWs() {
  wsTimer = clearTimeout(wsTimer) || 0;
  if (!session || sock) return;
  const url = session.websocket_url;
  let ws, stable = false, stableTimer = 0, pingTimer = 0;
  try {
    ws = sock = new WebSocket(url + (url.indexOf("?") >= 0 ? "&" : "?") + "visitor=" + encodeURIComponent(session.token));
  } catch (e) { // no URL or no WebSocket: poll instead
    wsFails = Math.max(wsFails + 1, url ? 0 : 3);
    return updatePolling(), scheduleWs();
  }
  ws.onopen = () => {
    if (sock !== ws) return;
    wsOpen = true;
    updateBanner();
    loadHistory(); // whatever arrived while we were not connected
    pingTimer = setInterval(() => ws.send('{"action":"ping"}'), 240000);
    stableTimer = setTimeout(() => { stable = wsStable = true; wsFails = wsAttempt = 0; updatePolling(); }, 10000);
  };
  ws.onmessage = (ev) => { if (sock === ws) onFrame(ev.data); };
  ws.onclose = () => {
    clearTimeout(stableTimer); clearInterval(pingTimer);
    if (sock !== ws) return;
    sock = null; wsOpen = wsStable = false;
    if (!stable) wsFails++;
    updateBanner(); updatePolling(); scheduleWs();
  };
}
function scheduleWs() { // exponential backoff 1 s → 30 s with jitter
  if (!wsTimer && session) wsTimer = setTimeout(connectWs, Math.min(30000, jitter(Math.min(30000, 1000 << Math.min(wsAttempt++, 5)))));
}
function onFrame(raw) {
  let f = null;
  try { f = JSON.parse(raw); } catch (e) { /* not JSON */ }
  const d = f && f.data;
  if (!d) return;
  if (f.type === "message") upsert(d);
  else if (f.type === "status" && byId.has(String(d.id))) {
    const en = byId.get(String(d.id));
    en.msg.status = best(en.msg.status, d.status || null);
    meta(en);
  } else if (f.type === "typing") {
    clearTimeout(typingTimer);
    typing.hidden = !d.on || view !== "chat";
    if (d.on) typingTimer = setTimeout(() => { typing.hidden = true; }, 20000);
    if (stick) scrollBottom();
  }
}

// ---- window.OmniChat
function toggle(on) {
  wantOpen = on;
  if (!config) return;
  const focused = panel.contains(root.activeElement);
  isOpen = on;
  panel.hidden = !on;
  wrap.classList.toggle("open", on);
  launcher.setAttribute("aria-expanded", on);
  launcher.setAttribute("aria-label", on ? T.close : T.open);
  if (on) {
    startFlow(true);
    if (view === "chat") { scrollBottom(); input.focus(); } else if (view === "prechat") form.querySelector("input").focus();
    scheduleRead();
  } else if (focused) launcher.focus();
  updatePolling();
}
const open = () => toggle(true), close = () => toggle(false);
function send(text) {
  text = text == null ? "" : String(text).trim();
  if (!text || text.length > MAX) return Promise.reject(new Error(text ? T.tooLong : "empty message"));
  return configReady.then(() => {
    if (!session && !sessionP && !plan()) { open(); throw flag(new Error(T.prechatNeeded), "needForm"); }
    return deliver(addLocal({ text: text }, text));
  });
}
function reset() {
  gen++;
  store.del(KEY);
  closeSocket();
  wsFails = wsAttempt = 0;
  [wsTimer, readTimer, typingTimer].forEach(clearTimeout);
  wsTimer = pollTimer = clearInterval(pollTimer) || 0;
  session = sessionP = lastPrechat = lastRead = null;
  historyLoaded = histAgain = false;
  list.slice().forEach(removeEntry);
  byId.clear();
  byClient.clear();
  if (!root) return;
  typing.hidden = true;
  close();
  if (form) { form.reset(); setFormError(""); }
  startFlow(false);
  updateBanner();
}
const api = {
  __omnichat: true, _root: null, open: open, close: close, send: send, reset: reset,
  isReady: () => !!session && historyLoaded,
  messages: () => list.map((en) => clone(en.msg)),
};
W.OmniChat = api;

async function boot() {
  build();
  for (let i = 0; !config; i++) {
    try {
      const c = await http("GET", "/config");
      config = c && typeof c === "object" ? c : {};
    } catch (e) {
      if (!retryable(e)) { console.warn("[OmniChat] Configuración del chat no disponible:", e.message); return report("config", e); }
      await sleep(jitter(Math.min(30000, 1000 << i)));
    }
  }
  applyConfig();
  launcher.hidden = false;
  configDone();
  startFlow(true);
  if (wantOpen) open();
  const wake = () => { if (session && !sock && !D.hidden) connectWs(); };
  D.addEventListener("visibilitychange", () => { wake(); scheduleRead(); });
  W.addEventListener("online", wake);
}
if (D.body) boot(); else D.addEventListener("DOMContentLoaded", boot);
})();
