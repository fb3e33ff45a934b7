/*! OmniChat web chat widget. Embed with
 *    <script src="https://API_BASE/webchat/CHANNEL_ID/widget.js" async></script>
 *  Optional tag attributes: data-user-id, data-user-hash, data-name, data-email, data-open="true";
 *  or set window.OmniChatSettings = {userId, userHash, name, email, open, texts} before the tag (it wins).
 *  Vanilla ES2018, no dependencies, no globals but window.OmniChat; the UI lives in the shadow root of
 *  <div id="omnichat-widget">. Message content is only ever written with textContent. */
(function () {
  "use strict";
  const W = window, D = document, CURRENT = D.currentScript;
  if ((W.OmniChat && W.OmniChat.__omnichat) || D.getElementById("omnichat-widget")) return;

  // ---- where the API is ------------------------------------------------------------------------------
  function findScript() {
    if (CURRENT && /\/webchat\//.test(CURRENT.src || "")) return CURRENT;
    const all = D.getElementsByTagName("script");
    for (let i = all.length - 1; i >= 0; i--) {
      const p = (all[i].src || "").split(/[?#]/)[0];
      if (p.indexOf("/webchat/") >= 0 && /\/widget\.js$/.test(p)) return all[i];
    }
    return null;
  }
  const SCRIPT = findScript();
  let loc = null;
  try { loc = new URL(SCRIPT.src, W.location.href); } catch (e) { loc = null; }
  const parts = loc && (loc.origin + loc.pathname).match(/^(.*)\/webchat\/([^/]+)\/widget\.js$/);
  if (!parts) { console.warn("[OmniChat] No se pudo determinar el canal a partir del src del script."); return; }
  const BASE = parts[1], CID = decodeURIComponent(parts[2]);
  const KEY = "omnichat:" + CID, REJECTED_KEY = KEY + ":rejected-hash";

  const S = W.OmniChatSettings && typeof W.OmniChatSettings === "object" ? W.OmniChatSettings : {};
  const DS = (SCRIPT && SCRIPT.dataset) || {};
  const opt = (k) => (S[k] != null && S[k] !== "" ? String(S[k]) : DS[k] || "");
  const USER = { id: opt("userId"), hash: opt("userHash"), name: opt("name"), email: opt("email") };
  const OPEN_AT_START = S.open != null ? S.open === true || S.open === "true" : DS.open === "true";
  const IDENTITY = USER.id && USER.hash ? { user_id: USER.id, user_hash: USER.hash } : null;
  if (IDENTITY && USER.name) IDENTITY.name = USER.name;
  if (IDENTITY && USER.email) IDENTITY.email = USER.email;

  const T = Object.assign({
    open: "Abrir chat", close: "Cerrar chat", title: "Chat", placeholder: "Escribe un mensaje…", send: "Enviar",
    input: "Mensaje", log: "Mensajes", prechatTitle: "Antes de empezar",
    prechatIntro: "Cuéntanos un poco sobre ti para poder ayudarte.", start: "Comenzar",
    sendFailed: "No pudimos enviar tu mensaje.", retry: "Reintentar", sending: "Enviando…",
    sent: "Enviado", delivered: "Entregado", read: "Leído", typing: "Escribiendo…", connecting: "Conectando…",
    reconnecting: "Reconectando…", startFailed: "No pudimos iniciar el chat. Inténtalo de nuevo.",
    loginRequired: "Inicia sesión en la tienda para chatear con nosotros.",
    identityFailed: "No pudimos verificar tu identidad.", prechatNeeded: "Completa el formulario para empezar.",
    image: "Imagen", file: "Archivo", location: "Ver ubicación", unsupported: "Mensaje no compatible",
    tooLong: "El mensaje es demasiado largo.", required: "(obligatorio)",
  }, S.texts && typeof S.texts === "object" ? S.texts : {});

  const MAX_TEXT = 4096;
  const RANK = { sending: 0, sent: 1, delivered: 2, read: 3 };

  // ---- small helpers -----------------------------------------------------------------------------------
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const jitter = (ms) => Math.round(ms * (0.75 + Math.random() * 0.5));
  const retryable = (e) => !e.status || e.status >= 500 || e.status === 408 || e.status === 429;
  const clone = (o) => JSON.parse(JSON.stringify(o));
  const mem = {};
  const store = {
    get(k) { try { return W.localStorage.getItem(k); } catch (e) { return mem[k] || null; } },
    set(k, v) { try { W.localStorage.setItem(k, v); } catch (e) { mem[k] = v; } },
    del(k) { try { W.localStorage.removeItem(k); } catch (e) { /* storage unavailable */ } delete mem[k]; },
  };
  function emit(name, detail) {
    try { W.dispatchEvent(new CustomEvent("omnichat:" + name, { detail: detail })); } catch (e) { /* old browser */ }
  }
  function uuid() {
    const c = W.crypto;
    if (c && typeof c.randomUUID === "function") { try { return c.randomUUID(); } catch (e) { /* insecure context */ } }
    const b = new Uint8Array(16);
    if (c && c.getRandomValues) c.getRandomValues(b); else for (let i = 0; i < 16; i++) b[i] = (Math.random() * 256) | 0;
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    const x = Array.prototype.map.call(b, (n) => (n + 256).toString(16).slice(1)).join("");
    return x.slice(0, 8) + "-" + x.slice(8, 12) + "-" + x.slice(12, 16) + "-" + x.slice(16, 20) + "-" + x.slice(20);
  }
  function safeUrl(u) {
    if (typeof u !== "string" || !u) return null;
    try {
      const x = new URL(u, BASE + "/");
      return x.protocol === "https:" || x.protocol === "http:" ? x.href : null;
    } catch (e) { return null; }
  }
  function h(tag, attrs, kids) {
    const el = D.createElement(tag);
    for (const k in attrs || {}) {
      const v = attrs[k];
      if (v == null || v === false) continue;
      if (k === "text") el.textContent = v;
      else if (k === "class") el.className = v;
      else if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of kids || []) if (c != null) el.appendChild(typeof c === "string" ? D.createTextNode(c) : c);
    return el;
  }
  function icon(d) {
    const NS = "http://www.w3.org/2000/svg", s = D.createElementNS(NS, "svg"), p = D.createElementNS(NS, "path");
    s.setAttribute("viewBox", "0 0 24 24"); s.setAttribute("aria-hidden", "true"); s.setAttribute("focusable", "false");
    p.setAttribute("d", d); s.appendChild(p);
    return s;
  }
  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); }
  function hhmm(iso) {
    const d = new Date(iso);
    if (isNaN(d.getTime())) return "";
    try { return d.toLocaleTimeString("es", { hour: "2-digit", minute: "2-digit" }); } catch (e) {
      return ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2);
    }
  }
  // Text -> DOM with http(s) URLs as links; never parses HTML.
  function linkify(text) {
    const frag = D.createDocumentFragment(), re = /https?:\/\/[^\s<>"'`]+/gi;
    let last = 0, m;
    while ((m = re.exec(text))) {
      let url = m[0];
      while (/[.,;:!?)\]}'"»]$/.test(url)) {
        const opens = (url.match(/\(/g) || []).length, closes = (url.match(/\)/g) || []).length;
        if (url.slice(-1) === ")" && closes <= opens) break;
        url = url.slice(0, -1);
      }
      const href = safeUrl(url);
      if (!href || !/^https?:\/\/[^/]/i.test(url)) continue;
      if (m.index > last) frag.appendChild(D.createTextNode(text.slice(last, m.index)));
      frag.appendChild(h("a", { href: href, target: "_blank", rel: "noopener noreferrer", text: url }));
      last = re.lastIndex = m.index + url.length;
    }
    if (last < text.length) frag.appendChild(D.createTextNode(text.slice(last)));
    return frag;
  }

  // ---- HTTP -----------------------------------------------------------------------------------------------
  function apiError(status, problem, fallback) {
    const p = problem && typeof problem === "object" ? problem : null;
    const e = new Error((p && (p.detail || p.title)) || fallback || "HTTP " + status);
    e.status = status; e.problem = p;
    return e;
  }
  async function http(method, path, body, token) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (token) headers.Authorization = "Bearer " + token;
    const ctl = typeof AbortController === "function" ? new AbortController() : null;
    const timer = ctl ? setTimeout(() => ctl.abort(), 20000) : 0;
    let res, data = null;
    try {
      res = await fetch(BASE + "/webchat/" + encodeURIComponent(CID) + path, {
        method: method, headers: headers, credentials: "omit", signal: ctl ? ctl.signal : undefined,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const txt = await res.text();
      try { data = txt ? JSON.parse(txt) : null; } catch (e) { data = null; }
    } catch (e) {
      if (!res || res.ok) throw apiError(0, null, "network error");
    } finally { clearTimeout(timer); }
    if (!res.ok) throw apiError(res.status, data);
    return data;
  }
  function problemText(e, fallback) { return (e && e.problem && (e.problem.detail || e.problem.title)) || fallback; }

  // ---- state ------------------------------------------------------------------------------------------------
  let config = null, configResolve, session = null, sessionPromise = null, historyLoaded = false, gen = 0;
  let identityRejected = !!IDENTITY && store.get(REJECTED_KEY) === IDENTITY.user_hash;
  let lastPrechat = null, lastRead = null, readTimer = 0, typingTimer = 0, unread = 0, panelOpen = false;
  let wantOpen = OPEN_AT_START, view = "chat", stick = true, histBusy = false, histAgain = false;
  let sock = null, wsOpen = false, wsStable = false, wsFails = 0, wsAttempt = 0, wsTimer = 0, pollTimer = 0;
  const configReady = new Promise((r) => { configResolve = r; });
  const list = [], byId = new Map(), byClient = new Map();
  let host, root, wrap, launcher, badge, panel, titleEl, banner, log, typing, composer, input, sendBtn;
  let formBox, noticeBox, greetingEl = null, prechatErr = null, form = null;

  const identityUsable = () => !!IDENTITY && !identityRejected;
  const prechatFields = () => (config && config.prechat && config.prechat.enabled && Array.isArray(config.prechat.fields) ? config.prechat.fields : []).filter((f) => f && f.name);
  const prechatOn = () => prechatFields().length > 0;

  // ---- UI ----------------------------------------------------------------------------------------------------
  const CSS = ":host{all:initial}*{box-sizing:border-box}[hidden]{display:none!important}" +
    ".oc{--c:#2563eb;--ct:#fff;font:14px/1.45 -apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#1f2937}" +
    "button{font:inherit;margin:0}" +
    ".launcher{position:fixed;right:20px;bottom:20px;z-index:2147483000;width:58px;height:58px;border-radius:50%;border:0;padding:0;background:var(--c);color:var(--ct);cursor:pointer;box-shadow:0 4px 16px rgba(0,0,0,.25);display:flex;align-items:center;justify-content:center}" +
    ".launcher svg{width:28px;height:28px;fill:currentColor}" +
    ".badge{position:absolute;top:-3px;right:-3px;min-width:20px;height:20px;padding:0 5px;border-radius:10px;background:#dc2626;color:#fff;font-size:12px;font-weight:700;line-height:20px;text-align:center}" +
    ".panel{position:fixed;right:20px;bottom:90px;z-index:2147483000;width:370px;max-width:calc(100vw - 40px);height:600px;max-height:calc(100vh - 110px);background:#fff;border-radius:14px;box-shadow:0 12px 40px rgba(0,0,0,.28);display:flex;flex-direction:column;overflow:hidden}" +
    ".head{background:var(--c);color:var(--ct);padding:10px 10px 10px 16px;display:flex;align-items:center;gap:8px;flex:none}" +
    ".title{flex:1;margin:0;font-size:16px;font-weight:600;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}" +
    ".x{width:34px;height:34px;border:0;border-radius:8px;background:transparent;color:inherit;cursor:pointer;display:flex;align-items:center;justify-content:center;padding:0}" +
    ".x:hover{background:rgba(127,127,127,.25)}.x svg{width:20px;height:20px;fill:currentColor}" +
    ".banner{flex:none;background:#fef3c7;color:#92400e;font-size:12px;padding:4px 12px;text-align:center}" +
    ".log{flex:1;overflow-y:auto;padding:14px 12px;background:#f5f6f8;display:flex;flex-direction:column;gap:8px;outline:none}" +
    ".row{display:flex;flex-direction:column;max-width:85%}.row.in{align-self:flex-end;align-items:flex-end}.row.out{align-self:flex-start;align-items:flex-start}" +
    ".bubble{padding:8px 12px;border-radius:16px;white-space:pre-wrap;overflow-wrap:anywhere;word-break:break-word;max-width:100%}" +
    ".out .bubble{background:#fff;border:1px solid #e5e7eb;border-bottom-left-radius:4px}" +
    ".in .bubble{background:var(--c);color:var(--ct);border-bottom-right-radius:4px}.in .bubble a{color:inherit}" +
    ".failed .bubble{opacity:.65}.bubble a{color:#1d4ed8}.bubble img,.bubble video{display:block;max-width:100%;height:auto;border-radius:10px}" +
    ".bubble audio{max-width:100%}.bubble .text+*,.bubble *+.text{margin-top:6px}.addr{font-size:12px;opacity:.8}" +
    ".meta{font-size:11px;color:#6b7280;margin-top:2px;display:flex;gap:4px}.tick.read{color:#2563eb;font-weight:700}" +
    ".err{font-size:12px;color:#b91c1c;margin-top:2px;text-align:right}" +
    ".err button{background:none;border:0;padding:0 0 0 4px;color:#b91c1c;text-decoration:underline;cursor:pointer;font-weight:600}" +
    ".chips{display:flex;flex-wrap:wrap;gap:6px;margin-top:6px}" +
    ".chip{border:1px solid var(--c);background:#fff;color:#1f2937;border-radius:16px;padding:6px 12px;cursor:pointer;text-align:left}" +
    ".chip:hover:not(:disabled){background:#eef2ff}.chip:disabled{opacity:.5;cursor:default}" +
    ".typing{flex:none;background:#f5f6f8;color:#6b7280;font-size:12px;font-style:italic;padding:0 16px 6px}" +
    ".composer{flex:none;display:flex;align-items:flex-end;gap:8px;padding:10px;border-top:1px solid #e5e7eb;background:#fff}" +
    "textarea{flex:1;resize:none;min-height:40px;max-height:120px;border:1px solid #d1d5db;border-radius:10px;padding:9px 10px;font:inherit;color:inherit;background:#fff;outline:none}" +
    "textarea:focus,input:focus{border-color:var(--c);box-shadow:0 0 0 2px rgba(37,99,235,.2)}" +
    ".send,.primary{height:40px;border:0;border-radius:10px;padding:0 16px;background:var(--c);color:var(--ct);font-weight:600;cursor:pointer}" +
    ".send:disabled,.primary:disabled{opacity:.55;cursor:default}" +
    "button:focus-visible{outline:3px solid #93c5fd;outline-offset:2px}" +
    ".fbox{flex:1;display:flex;min-height:0}.form{flex:1;overflow-y:auto;padding:18px 16px;display:flex;flex-direction:column;gap:12px}.form h3{margin:0;font-size:17px}.form p{margin:0;color:#4b5563}" +
    "label{display:flex;flex-direction:column;gap:4px;font-size:13px;font-weight:600}label span{font-weight:400;color:#6b7280}" +
    "input{font:inherit;font-weight:400;border:1px solid #d1d5db;border-radius:8px;padding:9px 10px;color:inherit;background:#fff;outline:none}input[aria-invalid=true]{border-color:#dc2626}" +
    ".ferr{color:#b91c1c;font-size:13px}" +
    ".notice{flex:1;display:flex;flex-direction:column;align-items:center;justify-content:center;gap:14px;padding:24px;text-align:center;color:#4b5563}" +
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}" +
    "@media (max-width:480px){.panel{top:0;left:0;right:0;bottom:0;width:100%;max-width:none;height:100%;max-height:none;border-radius:0}.open .launcher{display:none}textarea,input{font-size:16px}}" +
    "@media (prefers-reduced-motion:no-preference){.panel{animation:ocin .18s ease-out}}@keyframes ocin{from{opacity:0;transform:translateY(10px)}}";

  function build() {
    host = h("div", { id: "omnichat-widget" });
    host.setAttribute("style", "all:initial!important;display:block!important;position:static!important");
    root = host.attachShadow({ mode: "open" });
    api._root = root;
    badge = h("span", { class: "badge", hidden: true, "aria-hidden": "true" });
    launcher = h("button", { type: "button", class: "launcher", "data-omnichat": "launcher", "aria-label": T.open,
      "aria-expanded": "false", "aria-controls": "oc-panel", hidden: true, onclick: () => (panelOpen ? close() : open()) },
    [icon("M20 2H4a2 2 0 0 0-2 2v18l4-4h14a2 2 0 0 0 2-2V4a2 2 0 0 0-2-2zM7 9h10v2H7zm0-3h10v2H7zm0 6h7v2H7z"), badge]);
    titleEl = h("h2", { class: "title", id: "oc-title", text: T.title });
    banner = h("div", { class: "banner", role: "status", hidden: true });
    log = h("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": T.log, tabindex: "0" });
    log.addEventListener("scroll", () => { stick = log.scrollHeight - log.scrollTop - log.clientHeight < 60; });
    typing = h("div", { class: "typing", hidden: true, "aria-live": "polite", text: T.typing });
    input = h("textarea", { "data-omnichat": "input", rows: "1", maxlength: String(MAX_TEXT), placeholder: T.placeholder, "aria-label": T.input,
      oninput: autosize, onkeydown: (e) => {
        if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) { e.preventDefault(); submitComposer(); }
      } });
    sendBtn = h("button", { type: "button", class: "send", "data-omnichat": "send", "aria-label": T.send, text: T.send, onclick: submitComposer });
    composer = h("div", { class: "composer" }, [input, sendBtn]);
    formBox = h("div", { class: "fbox", hidden: true });
    noticeBox = h("div", { class: "notice", hidden: true, role: "status" });
    panel = h("div", { class: "panel", id: "oc-panel", role: "dialog", "aria-labelledby": "oc-title", "data-omnichat": "panel", hidden: true,
      onkeydown: (e) => { if (e.key === "Escape") { e.stopPropagation(); close(); } } }, [
      h("div", { class: "head" }, [titleEl, h("button", { type: "button", class: "x", "aria-label": T.close, "data-omnichat": "close", onclick: () => close() },
        [icon("M19 6.41 17.59 5 12 10.59 6.41 5 5 6.41 10.59 12 5 17.59 6.41 19 12 13.41 17.59 19 19 17.59 13.41 12z")])]),
      banner, log, typing, composer, formBox, noticeBox]);
    wrap = h("div", { class: "oc" }, [panel, launcher]);
    root.appendChild(h("style", { text: CSS }));
    root.appendChild(wrap);
    D.body.appendChild(host);
    // Some site builders re-render <body>: put the widget back if it is removed.
    if (typeof MutationObserver === "function") {
      new MutationObserver(() => { if (!host.isConnected && D.body) D.body.appendChild(host); }).observe(D.body, { childList: true });
    }
  }
  function autosize() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight + 2, 120) + "px";
  }
  function scrollBottom() { log.scrollTop = log.scrollHeight; stick = true; }
  function showView(v) {
    view = v;
    log.hidden = composer.hidden = v !== "chat";
    if (v !== "chat") typing.hidden = true;
    formBox.hidden = v !== "prechat";
    noticeBox.hidden = v !== "notice";
    updateBanner();
  }
  function updateBanner() {
    let text = "";
    if (view === "chat" && sessionPromise && !session) text = T.connecting;
    else if (view === "chat" && session && !wsOpen && wsFails > 0) text = T.reconnecting;
    banner.textContent = text;
    banner.hidden = !text;
  }
  function notice(text, retry) {
    clear(noticeBox);
    noticeBox.appendChild(h("p", { text: text }));
    if (retry) noticeBox.appendChild(h("button", { type: "button", class: "primary", text: T.retry, onclick: retry }));
    showView("notice");
  }
  function updateBadge() {
    badge.textContent = unread > 9 ? "9+" : String(unread);
    badge.hidden = !unread || panelOpen;
  }
  function applyConfig() {
    const c = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i.test(config.color || "") ? config.color : "#2563eb";
    const hex = c.length === 4 ? c.replace(/[0-9a-f]/gi, (x) => x + x).slice(1) : c.slice(1);
    const lum = [0, 2, 4].map((i) => parseInt(hex.substr(i, 2), 16) / 255)
      .map((v) => (v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4)));
    const l = 0.2126 * lum[0] + 0.7152 * lum[1] + 0.0722 * lum[2];
    wrap.style.setProperty("--c", c);
    wrap.style.setProperty("--ct", l > 0.45 ? "#111827" : "#ffffff");
    titleEl.textContent = config.title ? String(config.title) : T.title;
    if (config.greeting) {
      greetingEl = h("div", { class: "row out", "data-omnichat": "greeting" }, [h("div", { class: "bubble" }, [linkify(String(config.greeting))])]);
      log.insertBefore(greetingEl, log.firstChild);
    }
  }

  // ---- pre-chat form ----------------------------------------------------------------------------------------
  function showPrechat(detail) {
    if (!form) {
      const prefill = { name: USER.name, email: USER.email };
      prechatErr = h("div", { class: "ferr", role: "alert", "data-omnichat": "prechat-error", hidden: true });
      const items = prechatFields().map((f) => {
        const type = ["text", "email", "tel"].indexOf(f.type) >= 0 ? f.type : f.name === "email" ? "email" : f.name === "phone" ? "tel" : "text";
        const auto = { name: "name", email: "email", phone: "tel" }[f.name] || "on";
        return h("label", {}, [String(f.label || f.name), f.required ? h("span", { text: " " + T.required }) : null,
          h("input", { name: String(f.name), type: type, autocomplete: auto, "aria-required": f.required ? "true" : null,
            value: prefill[f.name] || null, maxlength: "200" })]);
      });
      form = h("form", { "data-omnichat": "prechat", novalidate: true, class: "form", onsubmit: submitPrechat }, [
        h("h3", { text: T.prechatTitle }), h("p", { text: T.prechatIntro })].concat(items, [prechatErr,
        h("button", { type: "submit", class: "primary", "data-omnichat": "prechat-submit", text: T.start })]));
      formBox.appendChild(form);
    }
    setFormError(detail || "");
    showView("prechat");
    if (panelOpen) { const first = form.querySelector("input"); if (first) first.focus(); }
  }
  function setFormError(text, problem) {
    prechatErr.textContent = text;
    prechatErr.hidden = !text;
    const bad = {};
    const errs = problem && Array.isArray(problem.errors) ? problem.errors : [];
    errs.forEach((x) => {
      const f = x && (x.field || x.name || (Array.isArray(x.loc) ? x.loc[x.loc.length - 1] : null));
      if (f) bad[f] = true;
    });
    Array.prototype.forEach.call(form.querySelectorAll("input"), (i) => {
      if (bad[i.name]) i.setAttribute("aria-invalid", "true"); else i.removeAttribute("aria-invalid");
    });
  }
  async function submitPrechat(ev) {
    ev.preventDefault();
    if (session || sessionPromise) return;
    const values = {};
    Array.prototype.forEach.call(form.querySelectorAll("input"), (el) => {
      const v = el.value.trim();
      if (v) values[el.name] = v;
    });
    const btn = form.querySelector("[data-omnichat=prechat-submit]");
    btn.disabled = true;
    setFormError("");
    try {
      await begin({ prechat: values }, true);
      lastPrechat = values;
    } catch (e) {
      if (!e.stale) {
        setFormError(e.status === 422 || (e.status >= 400 && e.status < 500) ? problemText(e, T.startFailed) : T.startFailed, e.problem);
        emit("error", { where: "prechat", status: e.status || 0, message: e.message, problem: e.problem || null });
      }
    } finally { btn.disabled = false; }
  }

  // ---- sessions ---------------------------------------------------------------------------------------------
  function flagged(e, k) { e[k] = true; return e; }
  function planSession() {
    const token = store.get(KEY);
    if (token) return { token: token };
    if (identityUsable()) return {};
    if (config.identity_required) return null;
    if (prechatOn()) return lastPrechat ? { prechat: lastPrechat } : null;
    return {};
  }
  // Decide what the panel shows without a session; start one when allowed (auto: without the panel open).
  function startFlow(auto) {
    if (!config || session || sessionPromise) return;
    const plan = planSession();
    if (plan) {
      if (panelOpen || (auto && (plan.token || identityUsable()))) begin(plan).catch(() => {});
      else showView("chat");
    } else if (config.identity_required && !identityUsable()) notice(T.loginRequired);
    else showPrechat();
  }
  function begin(plan, fromForm) {
    if (session) return Promise.resolve(session);
    if (sessionPromise) return sessionPromise;
    const p = createSession(plan);
    sessionPromise = p;
    if (!fromForm) showView("chat");
    updateBanner();
    p.catch((e) => {
      if (sessionPromise === p) sessionPromise = null;
      if (e.stale) return;
      updateBanner();
      if (fromForm && !e.needForm) return;
      if (e.needForm) showPrechat(e.status === 422 ? problemText(e, "") : "");
      else if (e.login) notice(config.identity_required && IDENTITY ? T.identityFailed : T.loginRequired);
      else {
        notice(T.startFailed, () => startFlow(true));
        emit("error", { where: "session", status: e.status || 0, message: e.message, problem: e.problem || null });
      }
    });
    return p;
  }
  async function createSession(plan) {
    const g = gen;
    let token = plan.token || null, prechat = plan.prechat || null;
    for (let attempt = 0; ; attempt++) {
      const body = {}, withId = identityUsable();
      if (token) body.token = token;
      if (prechat) body.prechat = prechat;
      if (withId) body.identity = IDENTITY;
      let data;
      try {
        data = await http("POST", "/sessions", body);
      } catch (e) {
        if (g !== gen) throw flagged(new Error("stale"), "stale");
        const st = e.status;
        if ((st === 401 || st === 403) && token) {
          store.del(KEY); token = null; // expired or unknown session: start fresh
        } else if (st === 401 && withId) {
          console.warn("[OmniChat] La firma de identidad (user_hash) no es válida; se continúa como visitante anónimo.");
          identityRejected = true;
          store.set(REJECTED_KEY, IDENTITY.user_hash);
        } else if (st === 422 && !prechat && prechatOn()) {
          throw flagged(e, "needForm");
        } else if (retryable(e) && attempt < 2) {
          await sleep(jitter(1000 * Math.pow(2, attempt)));
          continue;
        } else throw e;
        if (!token && !identityUsable()) {
          if (config.identity_required) throw flagged(e, "login");
          if (!prechat && prechatOn()) {
            if (lastPrechat) prechat = lastPrechat; else throw flagged(new Error("prechat"), "needForm");
          }
        }
        continue;
      }
      if (g !== gen) throw flagged(new Error("stale"), "stale");
      if (!data || !data.token) throw apiError(500, null, "invalid session");
      return onSession(data);
    }
  }
  function onSession(data) {
    const renewed = !!session;
    session = { token: String(data.token), visitor_id: data.visitor_id, expires_at: data.expires_at, websocket_url: data.websocket_url };
    sessionPromise = null;
    store.set(KEY, session.token);
    if (view !== "chat") showView("chat");
    if (panelOpen && view === "chat") input.focus();
    if (sock) { const old = sock; sock = null; wsOpen = false; try { old.close(1000); } catch (e) { /* already closed */ } }
    if (renewed) wsFails = 0;
    connectWs();
    loadHistory();
    updateBanner();
    return session;
  }
  function ensureSession() {
    if (session) return Promise.resolve(session);
    if (sessionPromise) return sessionPromise;
    return configReady.then(() => {
      if (session) return session;
      if (sessionPromise) return sessionPromise;
      const plan = planSession();
      if (!plan) {
        startFlow(false);
        throw flagged(new Error(T.prechatNeeded), "needForm");
      }
      return begin(plan);
    });
  }
  // The session token expired under us (401): ask for a new one once, then retry the request.
  async function authed(method, path, body) {
    const s = await ensureSession();
    try {
      return await http(method, path, body, s.token);
    } catch (e) {
      if (e.status !== 401) throw e;
      if (session === s) {
        session = null;
        begin({ token: s.token }).catch(() => {});
      }
      const s2 = await ensureSession();
      return http(method, path, body, s2.token);
    }
  }

  // ---- messages ---------------------------------------------------------------------------------------------
  function best(a, b) {
    if (!b) return a === "sending" || a === "failed" ? "sent" : a;
    if (!(a in RANK) || !(b in RANK)) return b;
    return RANK[b] >= RANK[a] ? b : a;
  }
  function normalize(raw) {
    const m = Object.assign({}, raw);
    m.id = String(m.id);
    m.direction = m.direction === "in" ? "in" : "out";
    m.type = typeof m.type === "string" ? m.type : "text";
    m.text = m.text == null ? null : String(m.text);
    m.buttons = Array.isArray(m.buttons) ? m.buttons.filter((b) => b && b.id != null) : null;
    ["media", "location"].forEach((k) => { if (!m[k] || typeof m[k] !== "object") m[k] = null; });
    m.sent_at = m.sent_at || new Date().toISOString();
    if (m.status === undefined) m.status = null;
    return m;
  }
  const contentKey = (m) => JSON.stringify([m.type, m.text, m.buttons, m.media, m.location]);
  const ts = (en) => { const t = Date.parse(en.msg.sent_at); return isNaN(t) ? Infinity : t; };
  function insertEntry(en) {
    // Server messages go in sent_at order but never before a message still pending locally.
    let i = list.length;
    if (!en.local) { const t = ts(en); while (i > 0 && !list[i - 1].local && ts(list[i - 1]) > t) i--; }
    const next = list[i];
    list.splice(i, 0, en);
    log.insertBefore(en.el, next ? next.el : null);
    if (stick || en.local) scrollBottom();
  }
  function removeEntry(en) {
    const i = list.indexOf(en);
    if (i >= 0) list.splice(i, 1);
    en.removed = true;
    if (en.el.parentNode) en.el.parentNode.removeChild(en.el);
    if (en.clientId) byClient.delete(en.clientId);
  }
  function upsert(raw, live) {
    if (!raw || typeof raw !== "object" || raw.id == null) return;
    const m = normalize(raw);
    let en = byId.get(m.id) || (m.client_message_id ? byClient.get(String(m.client_message_id)) : null);
    if (en && !en.removed) {
      const same = en.key === contentKey(m);
      en.msg = Object.assign(m, { status: best(en.msg.status, m.status) });
      en.local = false; en.error = null;
      byId.set(m.id, en);
      if (same) updateMeta(en); else render(en);
      updateChips();
      return;
    }
    en = { msg: m, el: h("div", { "data-omnichat": "message" }), local: false };
    byId.set(m.id, en);
    render(en);
    insertEntry(en);
    updateChips();
    emit("message", clone(m));
    if (m.direction === "out") {
      typing.hidden = true;
      if (!panelOpen && (live || historyLoaded)) { unread++; updateBadge(); }
      scheduleRead();
    }
  }
  function addLocal(payload, text) {
    const cid = uuid();
    const m = { id: cid, direction: "in", type: "text", text: text, buttons: null, media: null, location: null,
      sent_at: new Date().toISOString(), status: "sending" };
    const en = { msg: m, el: h("div", { "data-omnichat": "message" }), local: true, clientId: cid,
      payload: Object.assign({ client_message_id: cid }, payload) };
    byClient.set(cid, en);
    render(en);
    insertEntry(en);
    return en;
  }
  function fileLink(url, name) {
    return h("a", { href: url, target: "_blank", rel: "noopener noreferrer", download: "" }, ["📄 ", name || T.file]);
  }
  function content(m) {
    const out = [], media = m.media, url = media ? safeUrl(media.url) : null;
    const name = media && media.filename ? String(media.filename) : "";
    if (url && (m.type === "image" || m.type === "sticker")) {
      const img = h("img", { src: url, alt: name || T.image, loading: "lazy" });
      img.addEventListener("load", () => { if (stick) scrollBottom(); });
      out.push(h("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, [img]));
    } else if (url && (m.type === "video" || m.type === "audio")) {
      out.push(h(m.type, { src: url, controls: true, preload: "metadata" }));
      out.push(fileLink(url, name));
    } else if (url) out.push(fileLink(url, name));
    const g = m.location;
    if (g && isFinite(parseFloat(g.latitude)) && isFinite(parseFloat(g.longitude))) {
      const lat = parseFloat(g.latitude), lon = parseFloat(g.longitude);
      out.push(h("div", {}, [h("a", { href: "https://www.openstreetmap.org/?mlat=" + lat + "&mlon=" + lon, target: "_blank",
        rel: "noopener noreferrer" }, ["📍 ", g.name ? String(g.name) : g.address ? String(g.address) : T.location]),
      g.name && g.address ? h("div", { class: "addr", text: String(g.address) }) : null]));
    }
    if (m.text) out.push(h("div", { class: "text" }, [linkify(m.text)]));
    if (!out.length) out.push(h("em", { text: T.unsupported }));
    return out;
  }
  function render(en) {
    const m = en.msg, el = en.el;
    en.key = contentKey(m);
    clear(el);
    el.appendChild(h("div", { class: "bubble" }, content(m)));
    en.chips = null;
    if (m.direction === "out" && m.buttons && m.buttons.length) {
      en.chips = m.buttons.map((b) => h("button", { type: "button", class: "chip", "data-omnichat": "button", "data-button-id": String(b.id),
        text: String(b.title == null ? b.id : b.title), onclick: () => tapButton(en, b) }));
      el.appendChild(h("div", { class: "chips" }, en.chips));
    }
    en.tail = null;
    updateMeta(en);
  }
  function updateMeta(en) {
    const m = en.msg, el = en.el, st = m.status || "";
    el.className = "row " + m.direction + (st === "failed" ? " failed" : "");
    el.setAttribute("data-direction", m.direction);
    el.setAttribute("data-id", m.id);
    el.setAttribute("data-status", st);
    const meta = h("div", { class: "meta" }, [h("time", { datetime: m.sent_at, text: hhmm(m.sent_at) })]);
    if (m.direction === "in") {
      if (st === "sending") meta.appendChild(h("span", { text: T.sending }));
      else if (RANK[st]) {
        meta.appendChild(h("span", { class: "tick " + st, "aria-hidden": "true", text: st === "sent" ? "✓" : "✓✓" }));
        meta.appendChild(h("span", { class: "sr", text: T[st] }));
      }
    }
    const tail = h("div", {}, [meta]);
    if (st === "failed") {
      tail.appendChild(h("div", { class: "err", role: "alert" }, [en.error || T.sendFailed, en.canRetry
        ? h("button", { type: "button", "data-omnichat": "retry", text: T.retry, onclick: () => deliver(en).catch(() => {}) }) : null]));
    }
    if (en.tail && en.tail.parentNode === el) el.replaceChild(tail, en.tail); else el.appendChild(tail);
    en.tail = tail;
  }
  function updateChips() {
    let lastOut = null;
    for (let i = list.length - 1; i >= 0; i--) if (list[i].msg.direction === "out") { lastOut = list[i]; break; }
    list.forEach((en) => { if (en.chips) en.chips.forEach((b) => { b.disabled = en !== lastOut || !!en.answered; }); });
  }
  function tapButton(en, b) {
    if (en.answered) return;
    en.answered = true;
    updateChips();
    const title = String(b.title == null ? b.id : b.title);
    deliver(addLocal({ reply: { id: String(b.id), title: title } }, title)).catch(() => {});
  }
  function accepted(en, mid) {
    if (mid != null) {
      mid = String(mid);
      const other = byId.get(mid);
      if (other && other !== en && !other.removed) { // the echo beat the 202: keep the server's copy
        removeEntry(en);
        other.msg.status = best(other.msg.status, "sent");
        updateMeta(other);
        return;
      }
      en.msg.id = mid;
      byId.set(mid, en);
    }
    en.msg.status = best(en.msg.status, "sent");
    en.error = null;
    updateMeta(en);
  }
  async function deliver(en) {
    en.msg.status = "sending"; en.error = null;
    updateMeta(en);
    for (let attempt = 0; ; attempt++) {
      try {
        const data = await authed("POST", "/messages", en.payload);
        if (!en.removed) accepted(en, data && data.message_id);
        return data || {};
      } catch (e) {
        if (e.stale || en.removed) throw e;
        if (retryable(e) && !e.needForm && attempt < 3) { await sleep(jitter(700 * Math.pow(2, attempt))); continue; }
        const client = e.status >= 400 && e.status < 500 && !retryable(e);
        en.msg.status = "failed";
        en.error = client ? problemText(e, T.sendFailed) : T.sendFailed;
        en.canRetry = !client;
        updateMeta(en);
        emit("error", { where: "send", status: e.status || 0, message: e.message, problem: e.problem || null, client_message_id: en.clientId });
        throw e;
      }
    }
  }
  function submitComposer() {
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    autosize();
    send(text).catch(() => {});
    input.focus();
  }

  // ---- history, read receipts, WebSocket, polling --------------------------------------------------------------
  async function loadHistory() {
    if (!session) return;
    if (histBusy) { histAgain = true; return; }
    histBusy = true;
    const g = gen;
    let failed = false;
    try {
      const data = await authed("GET", "/messages");
      if (g === gen) {
        (data && Array.isArray(data.messages) ? data.messages : []).forEach((m) => upsert(m, false));
        if (!historyLoaded && session) {
          historyLoaded = true;
          scrollBottom();
          emit("ready", { visitor_id: session.visitor_id, channel_id: CID });
        }
        scheduleRead();
      }
    } catch (e) {
      failed = !historyLoaded && g === gen && !e.stale;
    } finally {
      histBusy = false;
      if (histAgain) { histAgain = false; loadHistory(); } else if (failed) setTimeout(() => { if (g === gen) loadHistory(); }, jitter(3000));
    }
  }
  function scheduleRead() {
    if (!panelOpen || D.hidden || !session) return;
    clearTimeout(readTimer);
    readTimer = setTimeout(sendRead, 1000);
  }
  async function sendRead() {
    if (!panelOpen || D.hidden || !session) return;
    let last = null;
    for (let i = list.length - 1; i >= 0; i--) if (list[i].msg.direction === "out") { last = list[i].msg.id; break; }
    if (!last || last === lastRead) return;
    lastRead = last;
    try { await authed("POST", "/read", { message_id: last }); } catch (e) { if (lastRead === last) lastRead = null; }
  }
  function updatePolling() {
    const want = !!session && panelOpen && wsFails >= 3 && !wsStable;
    if (want && !pollTimer) pollTimer = setInterval(loadHistory, 5000);
    else if (!want && pollTimer) { clearInterval(pollTimer); pollTimer = 0; }
  }
  function connectWs() {
    clearTimeout(wsTimer); wsTimer = 0;
    if (!session || sock) return;
    const url = session.websocket_url;
    if (!url || typeof W.WebSocket !== "function") { wsFails = Math.max(wsFails, 3); updatePolling(); return; }
    let ws;
    try {
      ws = new W.WebSocket(url + (url.indexOf("?") >= 0 ? "&" : "?") + "visitor=" + encodeURIComponent(session.token));
    } catch (e) { wsFails++; updatePolling(); scheduleWs(); return; }
    sock = ws;
    let stable = false, stableTimer = 0, pingTimer = 0;
    ws.onopen = () => {
      if (sock !== ws) return;
      wsOpen = true;
      updateBanner();
      loadHistory(); // covers anything sent while we were not connected
      pingTimer = setInterval(() => { try { ws.send(JSON.stringify({ action: "ping" })); } catch (e) { /* closing */ } }, 240000);
      stableTimer = setTimeout(() => { stable = wsStable = true; wsFails = 0; wsAttempt = 0; updatePolling(); updateBanner(); }, 10000);
    };
    ws.onmessage = (ev) => { if (sock === ws) onFrame(ev.data); };
    ws.onclose = () => {
      clearTimeout(stableTimer); clearInterval(pingTimer);
      if (sock !== ws) return;
      sock = null; wsOpen = wsStable = false;
      if (!stable) wsFails++;
      if (!session) return;
      updateBanner(); updatePolling(); scheduleWs();
    };
  }
  function scheduleWs() {
    if (wsTimer || !session) return;
    wsTimer = setTimeout(connectWs, Math.min(30000, jitter(Math.min(30000, 1000 * Math.pow(2, wsAttempt++)))));
  }
  function onFrame(raw) {
    let f;
    try { f = JSON.parse(raw); } catch (e) { return; }
    if (!f || typeof f !== "object") return;
    const d = f.data;
    if (f.type === "message") upsert(d, true);
    else if (f.type === "status" && d && d.id != null) {
      const en = byId.get(String(d.id));
      if (en && !en.removed) { en.msg.status = best(en.msg.status, d.status || null); updateMeta(en); }
    } else if (f.type === "typing") {
      clearTimeout(typingTimer);
      typing.hidden = !(d && d.on) || view !== "chat";
      if (!typing.hidden) { typingTimer = setTimeout(() => { typing.hidden = true; }, 20000); if (stick) scrollBottom(); }
    }
  }

  // ---- public API ------------------------------------------------------------------------------------------------
  function open() {
    wantOpen = true;
    if (!config) return;
    if (!panelOpen) {
      panelOpen = true;
      panel.hidden = false;
      wrap.classList.add("open");
      launcher.setAttribute("aria-expanded", "true");
      launcher.setAttribute("aria-label", T.close);
      unread = 0; updateBadge();
    }
    startFlow(true);
    if (view === "chat") { scrollBottom(); input.focus(); }
    else if (view === "prechat" && form) { const i = form.querySelector("input"); if (i) i.focus(); }
    scheduleRead(); updatePolling();
  }
  function close() {
    wantOpen = false;
    if (!panelOpen) return;
    const hadFocus = root.activeElement && panel.contains(root.activeElement);
    panelOpen = false;
    panel.hidden = true;
    wrap.classList.remove("open");
    launcher.setAttribute("aria-expanded", "false");
    launcher.setAttribute("aria-label", T.open);
    if (hadFocus) launcher.focus();
    updateBadge(); updatePolling();
  }
  function send(text) {
    text = text == null ? "" : String(text).trim();
    if (!text) return Promise.reject(new Error("empty message"));
    if (text.length > MAX_TEXT) return Promise.reject(new Error(T.tooLong));
    return configReady.then(() => {
      if (!session && !sessionPromise && !planSession()) {
        open();
        throw flagged(new Error(T.prechatNeeded), "needForm");
      }
      return deliver(addLocal({ text: text }, text));
    });
  }
  function reset() {
    gen++;
    store.del(KEY);
    const s = sock;
    sock = null; wsOpen = wsStable = false; wsFails = 0; wsAttempt = 0;
    if (s) { try { s.close(1000); } catch (e) { /* already closed */ } }
    clearTimeout(wsTimer); wsTimer = 0;
    clearInterval(pollTimer); pollTimer = 0;
    clearTimeout(readTimer); clearTimeout(typingTimer);
    session = null; sessionPromise = null; historyLoaded = false; histAgain = false; lastPrechat = null; lastRead = null;
    list.slice().forEach(removeEntry);
    byId.clear(); byClient.clear();
    if (!host) return;
    typing.hidden = true; unread = 0; updateBadge();
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

  // ---- boot ---------------------------------------------------------------------------------------------------------
  async function boot() {
    build();
    for (let i = 0; ; i++) {
      try {
        const c = await http("GET", "/config");
        config = c && typeof c === "object" ? c : {};
        break;
      } catch (e) {
        if (!retryable(e)) {
          console.warn("[OmniChat] Configuración del chat no disponible:", e.message);
          emit("error", { where: "config", status: e.status || 0, message: e.message, problem: e.problem || null });
          return;
        }
        await sleep(jitter(Math.min(30000, 1000 * Math.pow(2, i))));
      }
    }
    applyConfig();
    launcher.hidden = false;
    configResolve();
    startFlow(true);
    if (wantOpen) open();
    D.addEventListener("visibilitychange", () => {
      if (D.hidden) return;
      scheduleRead();
      if (session && !sock) connectWs();
    });
    W.addEventListener("online", () => { if (session && !sock) connectWs(); });
  }
  if (D.body) boot(); else D.addEventListener("DOMContentLoaded", boot);
})();
