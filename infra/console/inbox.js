// The agent inbox: my conversations and the waiting queue (live over the WebSocket, with a visible and audible
// notification), one conversation at a time with its whole history, the contact's card, and the composer
// (emojis, snippets, files, templates when the 24-hour window is closed, internal notes); transfer, close with a
// note, pause/resume the bot; the agent's status switch.
import {
  addStrings, api, attempt, clear, dialog, errorText, field, fmtDuration, fmtTime, h, notify, onPush,
  register, secondsSince, setParams, signOut, state, t, templateSlots, toast,
} from "./core.js";

const EMOJIS = ["😀", "😊", "🙂", "😉", "🙏", "👍", "👋", "🎉", "✅", "❌", "⚠️", "📎", "📞", "💳", "🏦", "⏳", "❤️", "🤝"];
const TICKS = { queued: "🕓", accepted: "🕓", sent: "✓", delivered: "✓✓", read: "✓✓", failed: "⚠", played: "✓✓" };

function ticks(status) {
  if (!status) return null;
  return h("span", { class: `ticks ${status}`, "data-status": status, title: t(`status.${status}`),
    "aria-label": t(`status.${status}`) }, TICKS[status] || "");
}

function whoLabel(origin) {
  if (!origin) return t("inbox.customer");
  if (origin.startsWith("bot:")) return t("inbox.bot");
  if (origin.startsWith("user:")) return origin === `user:${state.me.user_id}` ? t("inbox.you") : t("inbox.agent");
  if (origin.startsWith("desk:")) return t("inbox.desk");
  if (origin.startsWith("workflow")) return t("inbox.workflow");
  if (origin.startsWith("broadcast")) return t("inbox.broadcast");
  return t("inbox.system");
}

// Messages and notes interleaved by time: messages from the conversation (ids, statuses, media), notes and
// routing events from its transcript.
function timeline(detail, transcript) {
  const items = detail.messages.map((m) => ({ at: m.at, kind: "message", m }));
  for (const e of (transcript && transcript.entries) || []) {
    if (e.kind === "note") items.push({ at: e.at, kind: "note", e });
    else if (e.kind === "event") items.push({ at: e.at, kind: "event", e });
  }
  return items.sort((a, b) => new Date(a.at) - new Date(b.at));
}

// Media links last 5 minutes; the thread re-renders every 5 s, so each message's link is asked for once and reused
// until shortly before it expires (not once per image per refresh).
const mediaLinks = new Map(); // message id -> {url, until}
async function mediaUrl(conversationId, messageId) {
  const known = mediaLinks.get(messageId);
  if (known && known.until > Date.now() + 30000) return known.url;
  const link = await api("GET", `/v1/conversations/${encodeURIComponent(conversationId)}/media/${encodeURIComponent(messageId)}`);
  mediaLinks.set(messageId, { url: link.url, until: new Date(link.expires_at).getTime() });
  return link.url;
}

async function openMedia(conversationId, messageId) {
  const url = await attempt(() => mediaUrl(conversationId, messageId));
  if (url) window.open(url, "_blank", "noopener");
}

function mediaView(conversationId, m) {
  if (!m.media && !m.media_stored) return null;
  const label = (m.media && (m.media.filename || m.media.caption)) || t(`media.${m.type}`);
  if (!m.media_stored) return h("span", { class: "hint" }, `📎 ${label} (${t("inbox.media_pending")})`);
  const box = h("span", { class: "media" });
  const open = h("button", { type: "button", onclick: () => openMedia(conversationId, m.message_id) }, `📎 ${label}`);
  box.append(open);
  if (m.type === "image" || m.type === "sticker") {
    mediaUrl(conversationId, m.message_id)
      .then((url) => box.prepend(h("img", { src: url, alt: label })))
      .catch(() => { /* the button still opens it */ });
  }
  return box;
}

function bubble(conversationId, item) {
  if (item.kind === "note") {
    return h("div", { class: "msg note", "data-kind": "note" },
      h("strong", {}, `${t("inbox.note")} · ${item.e.author_name || item.e.author}: `), item.e.text || "",
      h("span", { class: "meta" }, fmtTime(item.at)));
  }
  if (item.kind === "event") {
    return h("div", { class: "hint", "data-kind": "event" }, `${fmtTime(item.at)} · ${t(`event.${item.e.type}`)}${item.e.text ? `: ${item.e.text}` : ""}`);
  }
  const m = item.m;
  const text = m.text || (m.type === "template" ? t("inbox.template_sent") : m.media ? "" : `[${m.type}]`);
  return h("div", { class: `msg ${m.direction}`, "data-direction": m.direction, "data-id": m.message_id, "data-kind": "message" },
    text, mediaView(conversationId, m),
    m.error_title ? h("span", { class: "error" }, `${m.error_code || ""} ${m.error_title}`) : null,
    h("span", { class: "meta" }, `${m.direction === "out" ? `${whoLabel(m.origin)} · ` : ""}${fmtTime(m.at)} `,
      m.direction === "out" ? ticks(m.status) : null));
}

// -- the contact's card ----------------------------------------------------------------------------------------
async function contactCard(box, conversation) {
  clear(box, h("h2", {}, t("inbox.contact")));
  if (!conversation.contact_id) { box.append(h("p", { class: "empty" }, conversation.contact_key)); return; }
  try {
    const contact = await api("GET", `/v1/contacts/${encodeURIComponent(conversation.contact_id)}`);
    const props = h("dl", { class: "props", "data-testid": "contact-card" },
      h("dt", {}, t("contact.name")), h("dd", { "data-testid": "contact-name" }, contact.name || "—"),
      (contact.identities || []).map((i) => [h("dt", {}, i.provider), h("dd", {}, i.phone || i.email || i.username || i.key)]),
      h("dt", {}, t("contact.lifecycle")), h("dd", {}, contact.lifecycle),
      Object.entries(contact.fields || {}).map(([k, v]) => [h("dt", {}, k), h("dd", {}, typeof v === "object" ? JSON.stringify(v) : String(v))]));
    const tags = h("div", { class: "tags" }, (contact.tags || []).map((tag) => h("span", { class: "badge" }, tag)));
    const tagInput = h("input", { type: "text", "aria-label": t("contact.add_tag"), placeholder: t("contact.add_tag"), maxlength: 64 });
    const addTag = h("form", { class: "row", onsubmit: async (event) => {
      event.preventDefault();
      const tag = tagInput.value.trim();
      if (!tag) return;
      if (await attempt(() => api("POST", `/v1/contacts/${encodeURIComponent(contact.contact_id)}/tags`, { add: [tag] }), t("common.saved"))) {
        contactCard(box, conversation);
      }
    } }, tagInput, h("button", { type: "submit" }, t("contact.tag")));
    box.append(props, h("h3", {}, t("contact.tags")), tags, addTag);
    const since = new Date(Date.now() - 365 * 86400 * 1000).toISOString();
    const previous = await api("GET", "/v1/transcripts", null, { query: { contact_id: contact.contact_id, from: since, limit: 20 } })
      .catch(() => ({ items: [] }));
    const others = (previous.items || []).filter((c) => c.conversation_id !== conversation.conversation_id);
    box.append(h("h3", {}, t("inbox.previous")), others.length
      ? h("ul", { class: "list", "data-testid": "previous-conversations" }, others.map((c) => h("li", {},
        h("button", { type: "button", onclick: () => showTranscript(c.conversation_id) },
          `${fmtTime(c.opened_at)} · ${c.channel_id}`, h("span", { class: "meta" },
            c.closing_note ? `${c.closing_note.category}${c.closing_note.text ? `: ${c.closing_note.text}` : ""}` : c.status)))))
      : h("p", { class: "empty" }, t("inbox.no_previous")));
  } catch (err) {
    box.append(h("p", { class: "error", role: "alert" }, errorText(err)));
  }
}

async function showTranscript(conversationId) {
  const tr = await attempt(() => api("GET", `/v1/transcripts/${encodeURIComponent(conversationId)}`));
  if (!tr) return;
  const body = h("div", { class: "thread" }, tr.entries.map((e) => e.kind === "message"
    ? h("div", { class: `msg ${e.direction}` }, e.text || `[${e.type}]`, h("span", { class: "meta" }, `${e.author_name || e.author} · ${fmtTime(e.at)}`))
    : h("div", { class: e.kind === "note" ? "msg note" : "hint" }, `${fmtTime(e.at)} · ${e.text || t(`event.${e.type}`)}`)));
  await dialog(`${t("inbox.transcript")} · ${fmtTime(tr.summary.opened_at)}`, body, { submit: t("common.close") });
}

// -- the composer ----------------------------------------------------------------------------------------------

async function templatePicker(conversation, onSent) {
  const list = await api("GET", `/v1/channels/${encodeURIComponent(conversation.channel_id)}/templates`, null, { query: { status: "APPROVED" } })
    .catch(() => ({ items: [] }));
  const templates = list.items || [];
  if (!templates.length) return h("p", { class: "empty" }, t("composer.no_templates"));
  const select = h("select", { "data-testid": "template-select" }, templates.map((tp, i) => h("option", { value: i }, `${tp.name} (${tp.language})`)));
  const params = h("div", {});
  const preview = h("p", { class: "hint", "aria-live": "polite" });
  const renderParams = () => {
    const tp = templates[Number(select.value)];
    clear(params, templateSlots(tp).map((s) => field(s.slot, h("input", { type: "text", name: s.slot, required: s.required,
      placeholder: s.example || (s.kind !== "text" ? t("composer.media_link") : "") }))));
    const body = (tp.components || []).find((c) => (c.type || "").toLowerCase() === "body");
    preview.textContent = body ? body.text : "";
  };
  select.addEventListener("change", renderParams);
  renderParams();
  const send = h("button", { type: "button", class: "primary", "data-testid": "template-send", onclick: async () => {
    const tp = templates[Number(select.value)];
    const values = Object.fromEntries([...params.querySelectorAll("input")].map((i) => [i.name, i.value]));
    const built = await attempt(() => api("POST", `/v1/channels/${encodeURIComponent(conversation.channel_id)}/templates/${encodeURIComponent(tp.name)}/validate`,
      { language: tp.language, parameters: values }));
    if (!built) return;
    const sent = await attempt(() => api("POST", `/v1/conversations/${encodeURIComponent(conversation.conversation_id)}/messages`,
      { content: { type: "template", name: tp.name, language: tp.language, components: built.components } }), t("composer.sent"));
    if (sent) onSent();
  } }, t("composer.send_template"));
  return h("div", { class: "card" }, field(t("composer.template"), select), params, preview, send);
}

async function uploadFile(file) {
  const upload = await api("POST", "/v1/files", { name: file.name, content_type: file.type || "application/octet-stream", size_bytes: file.size });
  const put = await fetch(upload.upload_url, { method: "PUT", headers: upload.headers, body: file });
  if (!put.ok) throw new Error(`${t("composer.upload_failed")} (HTTP ${put.status})`);
  return api("POST", `/v1/files/${encodeURIComponent(upload.file.file_id)}/confirm`);
}

function composer(view, detail, snippets) {
  const c = detail.conversation;
  const box = h("div", { class: "composer card", "data-testid": "composer-box" });
  if (c.status === "closed") { box.append(h("p", { class: "empty" }, t("composer.closed"))); return box; }
  const path = `/v1/conversations/${encodeURIComponent(c.conversation_id)}`;
  const mode = h("select", { "aria-label": t("composer.mode"), "data-testid": "composer-mode" },
    h("option", { value: "reply" }, t("composer.reply")), h("option", { value: "note" }, t("composer.note")));
  const text = h("textarea", { "aria-label": t("composer.text"), "data-testid": "composer", maxlength: 4096, rows: 3 });
  const reason = h("p", { class: "disabled-reason", role: "status", "data-testid": "window-closed", hidden: true });
  const templates = h("div", {});
  const applyMode = () => {
    const closed = mode.value === "reply" && !detail.window_open;
    text.disabled = closed;
    text.placeholder = mode.value === "note" ? t("composer.note_placeholder") : t("composer.placeholder");
    reason.hidden = !closed;
    reason.textContent = closed ? t("composer.window_closed", { at: fmtTime(detail.window_closes_at) || t("composer.never") }) : "";
    templates.hidden = !closed;
    if (closed && !templates.childElementCount) templatePicker(c, () => view.reload()).then((el) => templates.append(el));
  };
  mode.addEventListener("change", applyMode);
  const send = async () => {
    const body = text.value.trim();
    if (!body) return;
    const ok = mode.value === "note"
      ? await attempt(() => api("POST", `${path}/notes`, { text: body }), t("composer.note_added"))
      : await attempt(() => api("POST", `${path}/messages`, { content: { type: "text", body }, client_reference: crypto.randomUUID() }));
    if (ok) { text.value = ""; view.reload(); }
  };
  text.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); send(); }
  });
  const emojis = h("div", { class: "emojis", hidden: true, role: "group", "aria-label": t("composer.emojis") },
    EMOJIS.map((e) => h("button", { type: "button", "aria-label": e, onclick: () => {
      const at = text.selectionStart ?? text.value.length;
      text.value = text.value.slice(0, at) + e + text.value.slice(at);
      text.focus();
    } }, e)));
  const emojiButton = h("button", { type: "button", "aria-expanded": "false", "aria-label": t("composer.emojis"),
    onclick: () => { emojis.hidden = !emojis.hidden; emojiButton.setAttribute("aria-expanded", String(!emojis.hidden)); } }, "😊");
  const snippetSelect = h("select", { "aria-label": t("composer.snippets"), "data-testid": "snippets",
    onchange: async () => {
      const key = snippetSelect.value;
      snippetSelect.value = "";
      if (!key) return;
      if (!detail.window_open) { toast(t("composer.window_closed_short"), "error"); return; }
      if (await attempt(() => api("POST", `${path}/messages`, { snippet: key, client_reference: crypto.randomUUID() }), t("composer.sent"))) view.reload();
    } },
  h("option", { value: "" }, t("composer.snippets")), snippets.map((s) => h("option", { value: s.key, title: s.text }, s.title)));
  const fileInput = h("input", { type: "file", "aria-label": t("composer.attach"), "data-testid": "attach",
    onchange: async () => {
      const file = fileInput.files[0];
      fileInput.value = "";
      if (!file) return;
      if (!detail.window_open) { toast(t("composer.window_closed_short"), "error"); return; }
      toast(t("composer.uploading", { name: file.name }));
      const ready = await attempt(() => uploadFile(file));
      if (!ready) return;
      const caption = text.value.trim() || null;
      if (await attempt(() => api("POST", `${path}/messages`, { file_id: ready.file_id, caption, client_reference: crypto.randomUUID() }), t("composer.sent"))) {
        text.value = ""; view.reload();
      }
    } });
  box.append(reason, templates, h("div", { class: "row" }, mode, emojiButton, snippetSelect, fileInput), emojis, text,
    h("div", { class: "row" }, h("span", { class: "hint" }, t("composer.enter_hint")), h("span", { class: "spacer" }),
      h("button", { type: "button", class: "primary", "data-testid": "send", onclick: send }, t("composer.send"))));
  applyMode();
  return box;
}

// -- actions on the open conversation --------------------------------------------------------------------------
async function transfer(view, c) {
  const campaigns = (await api("GET", "/v1/campaigns").catch(() => ({ items: [] }))).items || [];
  const agents = ["supervisor", "admin"].includes(state.me.role) ? ((await api("GET", "/v1/agents").catch(() => ({ items: [] }))).items || []) : [];
  const target = h("select", { name: "target", required: true },
    h("optgroup", { label: t("transfer.campaigns") }, campaigns.filter((x) => x.enabled).map((x) => h("option", { value: `campaign:${x.campaign_id}` }, x.name))),
    agents.length ? h("optgroup", { label: t("transfer.agents") }, agents.filter((a) => a.user_id !== state.me.user_id)
      .map((a) => h("option", { value: `agent:${a.user_id}` }, `${a.name || a.user_id} (${t(`agent.${a.status}`)})`))) : null);
  const form = await dialog(t("transfer.title"), h("div", {}, field(t("transfer.to"), target),
    field(t("transfer.note"), h("textarea", { name: "note", maxlength: 2000 }))), { submit: t("transfer.submit"), testid: "transfer-dialog" });
  if (!form) return;
  const [kind, id] = form.target.split(":");
  const body = { [kind === "agent" ? "agent_id" : "campaign_id"]: id, note: form.note || null };
  if (await attempt(() => api("POST", `/v1/conversations/${encodeURIComponent(c.conversation_id)}/transfer`, body), t("transfer.done"))) {
    view.open(null); view.refreshLists();
  }
}

async function closeConversation(view, c) {
  const form = await dialog(t("close.title"), h("div", {},
    field(t("close.category"), h("input", { name: "category", required: true, maxlength: 60, list: "close-categories", "data-testid": "close-category" })),
    h("datalist", { id: "close-categories" }, ["resuelto", "consulta", "reclamo", "venta_concretada", "sin_respuesta", "derivado"].map((v) => h("option", { value: v }))),
    field(t("close.note"), h("textarea", { name: "text", maxlength: 2000, "data-testid": "close-note" }))),
  { submit: t("close.submit"), testid: "close-dialog" });
  if (!form) return;
  const note = { category: form.category.trim(), text: form.text.trim() || null };
  if (await attempt(() => api("POST", `/v1/conversations/${encodeURIComponent(c.conversation_id)}/close`, { note }), t("close.done"))) {
    view.open(null); view.refreshLists();
  }
}

// -- the view --------------------------------------------------------------------------------------------------
function inboxView(root) {
  const view = {
    current: null, // conversation id open
    unread: new Set(),
    mine: [], waiting: [], me: null,
    timers: [],
  };
  const statusBox = h("div", { class: "card", "data-testid": "status-box" });
  const mineList = h("ul", { class: "list", "data-testid": "my-conversations" });
  const waitingList = h("ul", { class: "list", "data-testid": "waiting" });
  const mineTitle = h("h2", {}, t("inbox.mine"));
  const waitingTitle = h("h2", {}, t("inbox.waiting"));
  const center = h("section", { "aria-label": t("inbox.conversation"), "data-testid": "conversation" });
  const side = h("aside", { class: "side card", "aria-label": t("inbox.contact") });
  clear(root, h("div", { class: "inbox" },
    h("section", { "aria-label": t("inbox.lists") }, statusBox, h("div", { class: "card" }, mineTitle, mineList), h("div", { class: "card" }, waitingTitle, waitingList)),
    center, side));

  function renderStatus() {
    const me = view.me;
    if (!me) return;
    const p = me.presence;
    const select = h("select", { "aria-label": t("agent.status"), "data-testid": "status",
      onchange: async () => {
        const [status, breakType] = select.value.split(":");
        const done = await attempt(() => api("PUT", "/v1/agents/me/status", { status, break_type: breakType || null }));
        if (done) { view.me.presence = done; renderStatus(); }
      } },
    ["online", "busy"].map((s) => h("option", { value: s }, t(`agent.${s}`))),
    h("optgroup", { label: t("agent.break") }, (me.break_types || []).map((b) => h("option", { value: `break:${b}` }, `${t("agent.break")}: ${b}`))),
    h("option", { value: "offline" }, t("agent.offline")));
    select.value = p.status === "break" ? `break:${p.break_type}` : p.status;
    clear(statusBox, field(t("agent.status"), select),
      h("p", { class: "hint" }, h("span", { class: `badge ${p.status}` }, t(`agent.${p.status}`)), " ",
        t("agent.since", { time: fmtDuration(secondsSince(p.since)) })));
  }

  function renderLists() {
    const cap = view.me && (view.me.presence.max_concurrent || null);
    mineTitle.textContent = cap ? t("inbox.mine_cap", { n: view.mine.length, cap }) : t("inbox.mine_n", { n: view.mine.length });
    clear(mineList, view.mine.length ? view.mine.map((c) => h("li", {},
      h("button", { type: "button", "aria-current": String(c.conversation_id === view.current), "data-conversation": c.conversation_id,
        class: view.unread.has(c.conversation_id) ? "unread" : "", onclick: () => view.open(c.conversation_id) },
      `${c.contact_key}`, view.unread.has(c.conversation_id) ? ` • ${t("inbox.new")}` : "",
      h("span", { class: "meta" }, `${c.channel_id} · ${c.campaign_id || ""} · ${t("inbox.assigned_ago", { time: fmtDuration(secondsSince(c.assigned_at || c.opened_at)) })}`))))
      : h("li", { class: "empty" }, t("inbox.none_mine")));
    waitingTitle.textContent = t("inbox.waiting_n", { n: view.waiting.length });
    clear(waitingList, view.waiting.length ? view.waiting.map((w) => h("li", { "data-conversation": w.conversation_id },
      h("div", { class: "row" },
        h("span", {}, h("strong", {}, w.contact_id || w.conversation_id),
          h("span", { class: "meta", "data-wait": w.queued_at }, `${w.campaign_id} · ${w.channel_id} · ${t("inbox.waiting_for", { time: fmtDuration(secondsSince(w.queued_at)) })}`),
          w.summary ? h("span", { class: "meta" }, w.summary) : null),
        h("span", { class: "spacer" }),
        w.priority !== "normal" ? h("span", { class: `badge ${w.priority}` }, t(`priority.${w.priority}`)) : null,
        h("button", { type: "button", class: "primary", "data-testid": "take", disabled: !canTake(),
          title: canTake() ? null : t("inbox.take_needs_status"), onclick: () => take(w.conversation_id) }, t("inbox.take")))))
      : h("li", { class: "empty" }, t("inbox.none_waiting")));
  }

  // Online and busy agents may take a waiting customer (busy ones get no automatic assignments).
  const canTake = () => Boolean(view.me && ["online", "busy"].includes(view.me.presence.status));

  async function take(conversationId) {
    const taken = await attempt(() => api("POST", `/v1/conversations/${encodeURIComponent(conversationId)}/assign`, {}), t("inbox.taken"));
    if (taken) { await view.refreshLists(); view.open(conversationId); }
  }

  view.refreshLists = async () => {
    try {
      const [me, mine, waiting] = await Promise.all([api("GET", "/v1/agents/me"), api("GET", "/v1/agents/me/conversations"), api("GET", "/v1/agents/me/queue")]);
      view.me = me; view.mine = mine.items; view.waiting = waiting.items;
      root.dataset.mine = String(view.mine.length);
      root.dataset.waiting = String(view.waiting.length);
      renderStatus(); renderLists();
    } catch (err) {
      if (err.status !== 401) toast(errorText(err), "error");
    }
  };

  let loading = 0;
  view.reload = async () => {
    const id = view.current;
    if (!id) return;
    const seq = ++loading;
    try {
      const path = `/v1/conversations/${encodeURIComponent(id)}`;
      const [detail, transcript] = await Promise.all([api("GET", path), api("GET", `/v1/transcripts/${encodeURIComponent(id)}`).catch(() => null)]);
      if (seq !== loading || view.current !== id) return;
      const c = detail.conversation;
      const mineNow = c.status === "open" && c.assignee === state.me.user_id;
      const thread = center.querySelector(".thread");
      const atBottom = !thread || thread.scrollTop + thread.clientHeight >= thread.scrollHeight - 20;
      if (!view.snippets || view.snippetsFor !== c.campaign_id) {
        view.snippetsFor = c.campaign_id;
        view.snippets = c.campaign_id ? ((await api("GET", `/v1/campaigns/${encodeURIComponent(c.campaign_id)}`).catch(() => ({}))).snippets || []) : [];
      }
      if (view.botFor !== id) { // the bot's state changes on a handoff or by the agent's own button: read it once
        const bot = await api("GET", `${path}/bot`).catch(() => null);
        view.botFor = id;
        view.botPaused = Boolean(bot && bot.paused);
      }
      const botPaused = view.botPaused;
      const newThread = h("div", { class: "thread", role: "log", "aria-label": t("inbox.messages"), "data-testid": "thread", tabindex: 0 },
        timeline(detail, transcript).map((item) => bubble(id, item)));
      const header = h("div", { class: "row" },
        h("h1", {}, `${c.contact_key}`), h("span", { class: "badge" }, c.channel_id),
        c.campaign_id ? h("span", { class: "badge" }, c.campaign_id) : null,
        h("span", { class: `badge ${c.status === "open" ? "online" : "offline"}`, "data-testid": "conversation-status" }, t(`conversation.${c.status}`)),
        h("span", { class: "hint" }, detail.window_open ? t("inbox.window_open", { at: fmtTime(detail.window_closes_at) }) : t("inbox.window_closed")),
        h("span", { class: "spacer" }),
        mineNow ? h("button", { type: "button", "data-testid": "bot-toggle", onclick: async () => {
          if (await attempt(() => api("POST", `${path}/bot/${botPaused ? "resume" : "pause"}`, botPaused ? {} : { reason: "agent" }), botPaused ? t("bot.resumed") : t("bot.paused"))) {
            view.botFor = null;
            view.reload();
          }
        } }, botPaused ? t("bot.resume") : t("bot.pause")) : null,
        mineNow ? h("button", { type: "button", "data-testid": "transfer", onclick: () => transfer(view, c) }, t("transfer.button")) : null,
        mineNow ? h("button", { type: "button", class: "danger", "data-testid": "close", onclick: () => closeConversation(view, c) }, t("close.button")) : null,
        c.status === "closed" ? h("button", { type: "button", onclick: async () => {
          if (await attempt(() => api("POST", `${path}/reopen`, {}))) { view.refreshLists(); view.reload(); }
        } }, t("conversation.reopen")) : null);
      // The composer stays as it is (draft, focus, cursor) unless what it offers changed.
      const composerKey = `${id}|${detail.window_open}|${c.status}|${mineNow}`;
      const kept = center.querySelector("[data-testid=composer-box]");
      const composerBox = kept && kept.dataset.key === composerKey ? kept
        : mineNow || c.status === "closed" ? composer(view, detail, view.snippets) : h("p", { class: "hint" }, t("inbox.not_yours"));
      composerBox.dataset.key = composerKey;
      const note = c.closing_note ? h("p", { class: "hint", "data-testid": "closing-note" }, `${t("close.note")}: ${c.closing_note.category}${c.closing_note.text ? ` — ${c.closing_note.text}` : ""}`) : null;
      if (kept === composerBox) { // swap everything above it; the composer is never detached (no lost focus)
        for (const child of [...center.children]) if (child !== composerBox) child.remove();
        for (const el of [header, note, newThread]) if (el) center.insertBefore(el, composerBox);
      } else {
        clear(center, header, note, newThread, composerBox);
      }
      if (atBottom) newThread.scrollTop = newThread.scrollHeight;
      root.dataset.open = id;
      root.dataset.messages = String(detail.messages.length);
      view.detail = detail;
      // blue ticks for the customer: the agent has it open and in view (supervisors' silent views never do this)
      const lastIn = [...detail.messages].reverse().find((m) => m.direction === "in");
      if (mineNow && lastIn && !document.hidden && view.readUpTo !== lastIn.message_id) {
        view.readUpTo = lastIn.message_id;
        api("POST", `${path}/read`, {}).catch(() => {});
      }
    } catch (err) {
      if (seq === loading) clear(center, h("p", { class: "error", role: "alert" }, errorText(err)));
    }
  };

  view.open = (id) => {
    view.current = id;
    view.readUpTo = null;
    if (id) view.unread.delete(id);
    renderLists();
    if (!id) {
      delete root.dataset.open;
      setParams({});
      clear(center, h("p", { class: "empty" }, t("inbox.pick")));
      clear(side);
      return;
    }
    setParams({ c: id });
    clear(center, h("p", {}, t("common.loading")));
    view.botFor = null;
    view.reload().then(() => {
      const c = view.detail && view.detail.conversation;
      if (view.current === id && c && c.conversation_id === id) contactCard(side, c);
    });
  };

  const unsubscribe = onPush(({ type, data }) => {
    const me = state.me.user_id;
    if (type === "ConversationAssigned" && data.assignee === me) {
      if (data.reason !== "take") notify(t("notify.assigned", { who: data.contact_id || data.conversation_id }));
      view.refreshLists();
    } else if (type === "ConversationQueued" || type === "ConversationOverflowed") {
      notify(t("notify.waiting"));
      view.refreshLists();
    } else if (type === "RoutedMessageReceived" && data.assignee === me) {
      if (data.conversation_id !== view.current || document.hidden) {
        view.unread.add(data.conversation_id);
        notify(t("notify.message", { text: (data.text || "").slice(0, 80) }));
      }
      if (data.conversation_id === view.current) view.reload();
      renderLists();
    } else if (type === "AgentNotified" && data.user_id === me) {
      if (data.kind === "logout") { signOut(t("notify.logged_out")); return; }
      notify(data.kind === "paused" ? t("notify.paused") : t("notify.supervisor", { text: data.text || "" }));
      view.refreshLists();
    } else if (["ConversationAssigned", "ConversationUnassigned", "ConversationClosed", "ConversationReopened", "AgentStatusChanged", "ConversationNoteAdded"].includes(type)) {
      view.refreshLists();
      if (data.conversation_id && data.conversation_id === view.current) view.reload();
    }
  });
  // Ticks (delivery statuses) and wait times: the open conversation every 5 s, the lists every 15 s (and on pushes).
  view.timers.push(setInterval(() => { if (!document.hidden) view.reload(); }, 5000));
  view.timers.push(setInterval(() => view.refreshLists(), 15000));
  view.timers.push(setInterval(() => {
    for (const el of root.querySelectorAll("[data-wait]")) {
      el.textContent = el.textContent.replace(/\d+h \d+m|\d+:\d{2}$/, fmtDuration(secondsSince(el.dataset.wait)));
    }
  }, 1000));
  return { view, unsubscribe };
}

register("inbox", {
  label: "nav.inbox", roles: ["agent", "supervisor", "admin"], section: "main",
  async render(root, params) {
    const { view, unsubscribe } = inboxView(root);
    await view.refreshLists();
    if (params.c) { view.current = null; view.open(params.c); } else view.open(null);
    return () => { unsubscribe(); view.timers.forEach(clearInterval); };
  },
});

addStrings({
  es: {
    "nav.inbox": "Bandeja", "inbox.mine": "Mis conversaciones", "inbox.mine_n": "Mis conversaciones ({n})",
    "inbox.mine_cap": "Mis conversaciones ({n} de {cap})", "inbox.waiting": "En espera", "inbox.waiting_n": "En espera ({n})",
    "inbox.none_mine": "No tenés conversaciones abiertas", "inbox.none_waiting": "Nadie espera",
    "inbox.take": "Tomar", "inbox.take_needs_status": "Ponete Disponible u Ocupado para tomar conversaciones", "inbox.taken": "Conversación tomada", "inbox.waiting_for": "espera {time}",
    "inbox.assigned_ago": "hace {time}", "inbox.new": "nuevo", "inbox.pick": "Elegí una conversación de la lista",
    "inbox.conversation": "Conversación", "inbox.lists": "Conversaciones", "inbox.messages": "Mensajes",
    "inbox.contact": "Contacto", "inbox.previous": "Conversaciones anteriores", "inbox.no_previous": "Sin conversaciones anteriores",
    "inbox.transcript": "Conversación", "inbox.customer": "Cliente", "inbox.bot": "Bot", "inbox.you": "Vos", "inbox.agent": "Agente",
    "inbox.desk": "Mesa externa", "inbox.workflow": "Flujo", "inbox.broadcast": "Difusión", "inbox.system": "Sistema",
    "inbox.note": "Nota interna", "inbox.template_sent": "[plantilla]", "inbox.media_pending": "descargando…",
    "inbox.window_open": "Ventana de 24 h abierta hasta {at}", "inbox.window_closed": "Ventana de 24 h cerrada",
    "inbox.not_yours": "Esta conversación no está asignada a vos: tomala para responder.",
    "status.queued": "En cola", "status.accepted": "Aceptado", "status.sent": "Enviado", "status.delivered": "Entregado",
    "status.read": "Leído", "status.failed": "Falló", "status.played": "Reproducido",
    "media.image": "imagen", "media.audio": "audio", "media.video": "video", "media.document": "documento", "media.sticker": "sticker",
    "contact.name": "Nombre", "contact.lifecycle": "Etapa", "contact.tags": "Etiquetas", "contact.add_tag": "Nueva etiqueta", "contact.tag": "Agregar",
    "composer.mode": "Tipo de mensaje", "composer.reply": "Respuesta al cliente", "composer.note": "Nota interna",
    "composer.text": "Mensaje", "composer.placeholder": "Escribí tu respuesta…", "composer.note_placeholder": "Nota visible solo para el equipo…",
    "composer.send": "Enviar", "composer.sent": "Enviado", "composer.note_added": "Nota agregada", "composer.emojis": "Emojis",
    "composer.snippets": "Respuestas rápidas", "composer.attach": "Adjuntar archivo", "composer.uploading": "Subiendo {name}…",
    "composer.upload_failed": "No se pudo subir el archivo", "composer.enter_hint": "Enter envía · Shift+Enter nueva línea",
    "composer.closed": "La conversación está cerrada.", "composer.never": "—",
    "composer.window_closed": "No podés escribir texto libre: pasaron más de 24 horas desde el último mensaje del cliente (la ventana cerró {at}). WhatsApp solo permite plantillas aprobadas.",
    "composer.window_closed_short": "La ventana de 24 h está cerrada: enviá una plantilla",
    "composer.template": "Plantilla aprobada", "composer.media_link": "Enlace https del archivo", "composer.send_template": "Enviar plantilla", "composer.no_templates": "No hay plantillas aprobadas en este canal",
    "transfer.button": "Transferir", "transfer.title": "Transferir la conversación", "transfer.to": "Destino",
    "transfer.campaigns": "Campañas (cola)", "transfer.agents": "Agentes", "transfer.note": "Nota para quien la recibe",
    "transfer.submit": "Transferir", "transfer.done": "Conversación transferida",
    "close.button": "Cerrar", "close.title": "Cerrar la conversación", "close.category": "Motivo de cierre", "close.note": "Nota de cierre",
    "close.submit": "Cerrar conversación", "close.done": "Conversación cerrada",
    "conversation.open": "Abierta", "conversation.closed": "Cerrada", "conversation.reopen": "Reabrir",
    "bot.pause": "Pausar bot", "bot.resume": "Reanudar bot", "bot.paused": "Bot pausado en esta conversación", "bot.resumed": "El bot vuelve a responder",
    "agent.status": "Mi estado", "agent.online": "Disponible", "agent.busy": "Ocupado", "agent.break": "Pausa", "agent.offline": "Desconectado",
    "agent.since": "hace {time}", "priority.high": "Alta", "priority.urgent": "Urgente", "priority.low": "Baja", "priority.normal": "Normal",
    "notify.assigned": "Nueva conversación asignada: {who}", "notify.waiting": "Un cliente espera en la cola",
    "notify.message": "Mensaje nuevo: {text}", "notify.supervisor": "Mensaje del supervisor: {text}",
    "notify.paused": "Tu supervisor te puso en pausa", "notify.logged_out": "Un supervisor cerró tu sesión",
    "event.assigned": "asignada", "event.queued": "en cola", "event.transferred": "transferida", "event.closed": "cerrada",
    "event.reopened": "reabierta", "event.unassigned": "devuelta a la cola", "event.overflowed": "desbordada",
  },
  en: {
    "nav.inbox": "Inbox", "inbox.mine": "My conversations", "inbox.mine_n": "My conversations ({n})",
    "inbox.mine_cap": "My conversations ({n} of {cap})", "inbox.waiting": "Waiting", "inbox.waiting_n": "Waiting ({n})",
    "inbox.none_mine": "You have no open conversations", "inbox.none_waiting": "Nobody is waiting",
    "inbox.take": "Take", "inbox.take_needs_status": "Set yourself Online or Busy to take conversations", "inbox.taken": "Conversation taken", "inbox.waiting_for": "waiting {time}",
    "inbox.assigned_ago": "{time} ago", "inbox.new": "new", "inbox.pick": "Pick a conversation from the list",
    "inbox.conversation": "Conversation", "inbox.lists": "Conversations", "inbox.messages": "Messages",
    "inbox.contact": "Contact", "inbox.previous": "Previous conversations", "inbox.no_previous": "No previous conversations",
    "inbox.transcript": "Conversation", "inbox.customer": "Customer", "inbox.bot": "Bot", "inbox.you": "You", "inbox.agent": "Agent",
    "inbox.desk": "External desk", "inbox.workflow": "Workflow", "inbox.broadcast": "Broadcast", "inbox.system": "System",
    "inbox.note": "Internal note", "inbox.template_sent": "[template]", "inbox.media_pending": "downloading…",
    "inbox.window_open": "24-hour window open until {at}", "inbox.window_closed": "24-hour window closed",
    "inbox.not_yours": "This conversation is not assigned to you: take it to reply.",
    "status.queued": "Queued", "status.accepted": "Accepted", "status.sent": "Sent", "status.delivered": "Delivered",
    "status.read": "Read", "status.failed": "Failed", "status.played": "Played",
    "media.image": "image", "media.audio": "audio", "media.video": "video", "media.document": "document", "media.sticker": "sticker",
    "contact.name": "Name", "contact.lifecycle": "Stage", "contact.tags": "Tags", "contact.add_tag": "New tag", "contact.tag": "Add",
    "composer.mode": "Message kind", "composer.reply": "Reply to the customer", "composer.note": "Internal note",
    "composer.text": "Message", "composer.placeholder": "Type your reply…", "composer.note_placeholder": "A note only the team sees…",
    "composer.send": "Send", "composer.sent": "Sent", "composer.note_added": "Note added", "composer.emojis": "Emojis",
    "composer.snippets": "Canned responses", "composer.attach": "Attach a file", "composer.uploading": "Uploading {name}…",
    "composer.upload_failed": "The file could not be uploaded", "composer.enter_hint": "Enter sends · Shift+Enter new line",
    "composer.closed": "The conversation is closed.", "composer.never": "—",
    "composer.window_closed": "Free text is disabled: more than 24 hours have passed since the customer's last message (the window closed {at}). WhatsApp only allows approved templates.",
    "composer.window_closed_short": "The 24-hour window is closed: send a template",
    "composer.template": "Approved template", "composer.media_link": "The file's https link", "composer.send_template": "Send template", "composer.no_templates": "This channel has no approved templates",
    "transfer.button": "Transfer", "transfer.title": "Transfer the conversation", "transfer.to": "To",
    "transfer.campaigns": "Campaigns (queue)", "transfer.agents": "Agents", "transfer.note": "A note for whoever gets it",
    "transfer.submit": "Transfer", "transfer.done": "Conversation transferred",
    "close.button": "Close", "close.title": "Close the conversation", "close.category": "Closing reason", "close.note": "Closing note",
    "close.submit": "Close conversation", "close.done": "Conversation closed",
    "conversation.open": "Open", "conversation.closed": "Closed", "conversation.reopen": "Reopen",
    "bot.pause": "Pause bot", "bot.resume": "Resume bot", "bot.paused": "Bot paused in this conversation", "bot.resumed": "The bot answers again",
    "agent.status": "My status", "agent.online": "Online", "agent.busy": "Busy", "agent.break": "Break", "agent.offline": "Offline",
    "agent.since": "for {time}", "priority.high": "High", "priority.urgent": "Urgent", "priority.low": "Low", "priority.normal": "Normal",
    "notify.assigned": "New conversation assigned: {who}", "notify.waiting": "A customer is waiting in the queue",
    "notify.message": "New message: {text}", "notify.supervisor": "Message from your supervisor: {text}",
    "notify.paused": "Your supervisor paused you", "notify.logged_out": "A supervisor signed you out",
    "event.assigned": "assigned", "event.queued": "queued", "event.transferred": "transferred", "event.closed": "closed",
    "event.reopened": "reopened", "event.unassigned": "back to the queue", "event.overflowed": "overflowed",
  },
});
