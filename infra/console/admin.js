// Administration views: channels (webhook URLs, health, click-to-chat links and QR codes), the team (campaigns,
// users, agents' capacity, contact-center settings), bots (definitions, versions) and workflows (templates,
// executions and their steps). Every API error is shown next to the form or the button that caused it.
import {
  addStrings, api, attempt, badge, clear, dialog, errorText, field, fmtNumber, fmtTime, h, register, state, t, table,
  toast,
} from "./core.js";

// -- helpers ---------------------------------------------------------------------------------------------------
const enc = encodeURIComponent;
const isAdmin = () => Boolean(state.me && state.me.role === "admin");
let seq = 0;
const uid = (prefix) => `${prefix}-${++seq}`;

function button(label, onclick, attrs = {}) {
  return h("button", { type: "button", onclick, ...attrs }, label);
}

// The problem+json `errors` of an ApiError as text lines: bots ({path, message, line, column}), request
// validation ({location, message}) and workflows ({field, message}).
function issues(err) {
  const list = err && err.body && Array.isArray(err.body.errors) ? err.body.errors : [];
  return list.map((e) => {
    const where = [e.line ? t("admin.line", { line: e.line }) : null, e.column ? t("admin.column", { column: e.column }) : null]
      .filter(Boolean).join(", ");
    const place = e.path ?? e.location ?? e.field ?? "";
    return { line: e.line || null, column: e.column || null,
      text: `${where ? `${where} · ` : ""}${place ? `${place}: ` : ""}${e.message || e.msg || JSON.stringify(e)}` };
  });
}

// An element that shows an API error (and its itemized errors) to everyone, screen readers included.
function errorBox(testid) {
  const box = h("div", { class: "error", role: "alert", "data-testid": testid || null });
  box.hidden = true;
  return box;
}
function showError(box, err) {
  const items = issues(err);
  // the itemized reasons are listed below (with their lines), so the headline is the status and reason only
  clear(box, h("p", {}, err && err.status ? `${err.status}: ${err.message}` : errorText(err)),
    items.length ? h("ul", {}, items.map((i) => h("li", {}, i.text))) : null);
  box.hidden = false;
}
function hideError(box) { clear(box); box.hidden = true; }

// A modal form that stays open when the API refuses, with the reason inside it. `action(values, form)` runs on
// submit; the promise resolves with its result (true when it returns nothing), or null when cancelled.
function formDialog(title, body, action, { submit, danger = false, testid } = {}) {
  return new Promise((resolve) => {
    const error = errorBox(testid ? `${testid}-error` : null);
    let result = null;
    const submitButton = h("button", { type: "submit", class: danger ? "danger" : "primary",
      "data-testid": testid ? `${testid}-submit` : null }, submit || t("common.save"));
    const form = h("form", { method: "dialog", onsubmit: async (event) => {
      event.preventDefault();
      hideError(error);
      submitButton.disabled = true;
      try {
        result = (await action(Object.fromEntries(new FormData(form).entries()), form)) ?? true;
        dlg.close();
      } catch (err) {
        showError(error, err);
      } finally { submitButton.disabled = false; }
    } },
    h("h2", {}, title), body, error,
    h("div", { class: "actions" }, button(t("common.cancel"), () => dlg.close()), submitButton));
    const dlg = h("dialog", { "aria-label": title, "data-testid": testid || null }, form);
    dlg.addEventListener("close", () => { dlg.remove(); resolve(result); });
    document.body.append(dlg);
    dlg.showModal();
  });
}

async function confirmDanger(title, text, submit, testid) {
  return (await dialog(title, h("p", {}, text), { submit, danger: true, testid })) !== null;
}

// Copies text; where the clipboard is unavailable (plain http on another host) it selects `input` instead.
async function copy(text, input) {
  try {
    await navigator.clipboard.writeText(text);
    toast(t("admin.copied"), "ok");
  } catch {
    if (input) { input.focus(); input.select(); }
    toast(t("admin.copy_manually"), "error");
  }
}

function copyField(label, value, testid, hint) {
  const input = h("input", { type: "text", readonly: true, value, "data-testid": testid ? `${testid}-value` : null });
  return h("div", {}, field(label, input, hint),
    h("div", { class: "row" }, button(t("admin.copy"), () => copy(value, input),
      { "aria-label": `${t("admin.copy")}: ${label}`, "data-testid": testid ? `${testid}-copy` : null })));
}

function props(pairs) {
  return h("dl", { class: "props" }, pairs.filter(([, v]) => v !== undefined).map(([k, v]) =>
    [h("dt", {}, k), h("dd", {}, v === null || v === "" ? "—" : v)]));
}

const yesNo = (v) => (v ? t("common.yes") : t("common.no"));
const json = (value) => JSON.stringify(value, null, 2);
function pre(value, label, testid) {
  return h("pre", { tabindex: "0", "aria-label": label, "data-testid": testid || null },
    typeof value === "string" ? value : json(value));
}
function heading(text, level = "h2", id) { return h(level, { id: id || null }, text); }

function select(name, options, value, attrs = {}) {
  return h("select", { name, ...attrs }, options.map(([v, label]) => h("option", { value: v, selected: v === value }, label)));
}
function checkbox(name, checked, label, attrs = {}) {
  return h("label", {}, h("input", { type: "checkbox", name, checked, ...attrs }), ` ${label}`);
}
const numberOrNull = (text) => (String(text ?? "").trim() === "" ? null : Number(text));
const csv = (text) => String(text || "").split(",").map((s) => s.trim()).filter(Boolean);

// -- channels --------------------------------------------------------------------------------------------------
const LINK_KINDS = new Set(["whatsapp", "telegram", "messenger", "instagram", "sms"]);
const MENU_KINDS = new Set(["telegram", "messenger", "instagram"]);

// Which operator (platform API) call connects each kind, with its fields (shared/services/platform.py).
const CONNECT = [
  ["whatsapp", "", "phone_number_id, app_secret, access_token", "waba_id, display_phone_number, verify_token, channel_id, auto_reply_text"],
  ["telegram", "/telegram", "bot_token", "secret_token, register_webhook, channel_id, auto_reply_text"],
  ["messenger", "/messenger", "account_id, page_access_token, app_secret", "verify_token, username, subscribe, channel_id, auto_reply_text"],
  ["instagram", "/instagram", "account_id, page_id, page_access_token, app_secret", "verify_token, username, subscribe, channel_id, auto_reply_text"],
  ["sms", "/sms", "account_sid, auth_token, number", "channel_id, auto_reply_text"],
  ["webchat", "/webchat", "—", "settings {title, greeting, color, prechat_fields, allowed_origins, identity_required}, channel_id, auto_reply_text"],
  ["email", "/email", "address", "settings {display_name, signature}, channel_id, auto_reply_text"],
];

function healthView(data) {
  const hl = data.health || {};
  const tpl = data.templates || {};
  const byStatus = Object.entries(tpl.by_status || {}).map(([k, v]) => `${k}: ${v}`).join(", ");
  return h("div", { "data-testid": "channel-health-result" },
    heading(t("channels.health"), "h3"),
    props([
      [t("channels.health.quality"), hl.quality_event],
      [t("channels.health.limit"), hl.messaging_limit],
      [t("channels.health.daily"), hl.daily_limit === null || hl.daily_limit === undefined ? t("channels.health.unknown") : fmtNumber(hl.daily_limit)],
      [t("channels.health.mps"), fmtNumber(hl.throughput_mps)],
      [t("channels.health.account"), hl.account_event],
      [t("channels.health.restricted"), yesNo(hl.account_restricted)],
      [t("channels.health.updated"), hl.updated_at ? fmtTime(hl.updated_at) : t("channels.health.never")],
      [t("channels.health.templates"), byStatus || "—"],
      [t("channels.health.low_quality"), (tpl.low_quality || []).join(", ")],
      [t("channels.health.recat"), (tpl.recategorization_risk || []).join(", ")],
    ]),
    table([
      { label: t("channels.health.at"), value: (e) => fmtTime(e.at) },
      { label: t("channels.health.severity"), value: (e) => badge(e.severity, e.severity === "critical" ? "urgent" : e.severity === "warning" ? "busy" : "") },
      { label: t("channels.health.field"), value: (e) => e.field },
      { label: t("channels.health.summary"), value: (e) => e.summary },
    ], data.events || [], { caption: t("channels.health.events"), empty: t("channels.health.no_events") }));
}

function verifyNote(kind) {
  if (["whatsapp", "messenger", "instagram"].includes(kind)) return t("channels.verify.meta", { tenant: state.me.tenant_id });
  return t(`channels.verify.${kind}`, { tenant: state.me.tenant_id });
}

function channelCard(channel, blobs) {
  const titleId = uid("ch");
  const name = channel.display_phone_number || (channel.handle ? `@${channel.handle}` : channel.phone_number_id);
  const healthOut = h("div", { "aria-live": "polite" });
  const linkOut = h("div", { "aria-live": "polite" });
  const qrOut = h("div", { "aria-live": "polite" });
  const text = h("input", { type: "text", maxlength: "1000", "data-testid": "channel-link-text" });
  const query = () => ({ text: text.value.trim() || null });
  let qrUrl = null;

  async function run(out, action, busy) {
    busy.disabled = true;
    clear(out, h("p", { class: "hint" }, t("common.loading")));
    try { await action(); } catch (err) { const box = errorBox(); showError(box, err); clear(out, box); }
    finally { busy.disabled = false; }
  }
  const healthBtn = button(t("channels.health.check"), () => run(healthOut, async () => {
    clear(healthOut, healthView(await api("GET", `/v1/channels/${enc(channel.channel_id)}/health`)));
  }, healthBtn), { "data-testid": "channel-health" });
  const linkBtn = button(t("channels.link"), () => run(linkOut, async () => {
    const link = await api("GET", `/v1/channels/${enc(channel.channel_id)}/link`, null, { query: query() });
    clear(linkOut, h("div", { "data-testid": "channel-link-result" },
      copyField(t("channels.link"), link.url, "channel-link-url"),
      h("p", {}, h("a", { href: link.url, target: "_blank", rel: "noopener noreferrer" }, t("channels.link.open")))));
  }, linkBtn), { "data-testid": "channel-link" });
  const qrBtn = button(t("channels.qr"), () => run(qrOut, async () => {
    const response = await api("GET", `/v1/channels/${enc(channel.channel_id)}/qr`, null,
      { query: { ...query(), format: "svg" }, raw: true });
    if (qrUrl) URL.revokeObjectURL(qrUrl);
    const url = URL.createObjectURL(await response.blob());
    qrUrl = url;
    blobs.push(url);
    const target = response.headers.get("X-Chat-Link");
    clear(qrOut, h("figure", {},
      h("img", { src: url, alt: t("channels.qr.alt", { name }), width: "200", height: "200", "data-testid": "channel-qr-img" }),
      h("figcaption", {}, target ? h("code", {}, target) : null, " ",
        h("a", { href: url, download: `qr-${channel.channel_id}.svg` }, t("channels.qr.download")))));
  }, qrBtn), { "data-testid": "channel-qr" });
  const menuBtn = MENU_KINDS.has(channel.kind) ? button(t("channels.menu"), () => run(linkOut, async () => {
    const out = await api("POST", `/v1/channels/${enc(channel.channel_id)}/menu`);
    clear(linkOut, h("p", { role: "status" }, t("channels.menu.done", { bot: out.bot_id, version: out.version, n: (out.items || []).length })));
  }, menuBtn), { "data-testid": "channel-menu" }) : null;

  return h("section", { class: "card", "aria-labelledby": titleId, "data-testid": "channel-card", "data-channel-id": channel.channel_id },
    h("div", { class: "row" }, heading(`${t(`kind.${channel.kind}`)} · ${name}`, "h2", titleId), h("span", { class: "spacer" }),
      badge(channel.enabled ? t("channels.enabled") : t("channels.disabled"), channel.enabled ? "online" : "offline")),
    props([
      [t("channels.id"), h("code", {}, channel.channel_id)],
      [t("channels.kind"), t(`kind.${channel.kind}`)],
      [t("channels.number"), channel.display_phone_number],
      [t("channels.provider_id"), channel.phone_number_id],
      [t("channels.handle"), channel.handle ? `@${channel.handle}` : null],
    ]),
    copyField(t("channels.webhook"), channel.webhook_url, "channel-webhook"),
    h("p", { class: "hint", "data-testid": "channel-verify-note" }, verifyNote(channel.kind)),
    LINK_KINDS.has(channel.kind) ? field(t("channels.link.text"), text, t("channels.link.text_hint")) : null,
    h("div", { class: "row" }, channel.kind === "whatsapp" ? healthBtn : null, LINK_KINDS.has(channel.kind) ? [linkBtn, qrBtn] : null, menuBtn),
    healthOut, linkOut, qrOut);
}

function connectHelp() {
  const base = `/platform/v1/tenants/${state.me.tenant_id}/channels`;
  return h("section", { class: "card", "data-testid": "channel-connect-help", "aria-labelledby": "connect-title" },
    heading(t("channels.connect"), "h2", "connect-title"),
    h("p", {}, t("channels.connect.intro")),
    table([
      { label: t("channels.kind"), value: (r) => t(`kind.${r[0]}`) },
      { label: t("channels.connect.endpoint"), value: (r) => h("code", {}, `POST ${base}${r[1]}`) },
      { label: t("channels.connect.required"), value: (r) => h("code", {}, r[2]) },
      { label: t("channels.connect.optional"), value: (r) => h("code", {}, r[3]) },
    ], CONNECT, { caption: t("channels.connect.caption") }),
    h("p", { class: "hint" }, t("channels.connect.after")));
}

register("channels", {
  label: "nav.channels", roles: ["admin"], section: "admin",
  async render(root) {
    const blobs = [];
    const list = h("div", { "data-testid": "channels-list" }, h("p", {}, t("common.loading")));
    async function load() {
      const data = await api("GET", "/v1/channels");
      clear(list, data.items.length ? data.items.map((c) => channelCard(c, blobs))
        : h("p", { class: "empty", "data-testid": "channels-list-empty" }, t("channels.none")));
    }
    clear(root, h("div", { class: "row" }, h("h1", {}, t("nav.channels")), h("span", { class: "spacer" }),
      button(t("common.refresh"), () => attempt(load), { "data-testid": "channels-refresh" })),
    list, connectHelp());
    await load();
    return () => blobs.forEach((url) => URL.revokeObjectURL(url));
  },
});

// -- team: campaigns, users, agents, settings -------------------------------------------------------------------
const STRATEGIES = ["least_busy", "round_robin", "sticky_owner"];
const ROLES = ["agent", "supervisor", "admin"];
const CAMPAIGN_READ_ONLY = ["tenant_id", "version", "created_at", "updated_at"];

function snippetRow(snippet = {}) {
  const row = h("fieldset", { class: "card", "data-testid": "campaign-snippet" },
    h("legend", {}, t("campaigns.snippet")),
    field(t("campaigns.snippet.key"), h("input", { type: "text", name: "snippet_key", value: snippet.key || "", required: true,
      pattern: "[a-z0-9][a-z0-9_\\-]{0,39}", maxlength: "40" }), t("campaigns.snippet.key_hint")),
    field(t("campaigns.snippet.title"), h("input", { type: "text", name: "snippet_title", value: snippet.title || "", required: true, maxlength: "80" })),
    field(t("campaigns.snippet.text"), h("textarea", { name: "snippet_text", rows: "3", value: snippet.text || "", required: true, maxlength: "4096" }),
      t("campaigns.snippet.text_hint")));
  row.append(h("div", { class: "row" }, button(t("campaigns.snippet.remove"), () => { row.remove(); },
    { "data-testid": "campaign-snippet-remove" })));
  return row;
}

function campaignEditor(existing, users, done) {
  const base = { ...(existing || {}) };
  for (const key of CAMPAIGN_READ_ONLY) delete base[key];
  const error = errorBox("campaign-form-error");
  const id = h("input", { type: "text", name: "campaign_id", value: base.campaign_id || "", required: true, readonly: Boolean(existing),
    pattern: "[a-z0-9][a-z0-9_\\-]{0,39}", maxlength: "40", "data-testid": "campaign-id" });
  const known = new Set(users.map((u) => u.user_id));
  const members = new Set(base.members || []);
  const memberBoxes = [...users.map((u) => [u.user_id, `${u.name || u.email} (${t(`role.${u.role}`)})`]),
    ...[...members].filter((m) => !known.has(m)).map((m) => [m, t("campaigns.unknown_member", { id: m })])]
    .map(([value, label]) => h("li", {}, checkbox("member", members.has(value), label, { value, "data-testid": "campaign-member" })));
  const snippets = h("div", {}, (base.snippets || []).map((s) => snippetRow(s)));
  const submit = h("button", { type: "submit", class: "primary", "data-testid": "campaign-save" }, t("common.save"));
  const num = (name, value, min, max, hint) => field(t(`campaigns.${name}`),
    h("input", { type: "number", name, value: value ?? "", min, max, step: "1", "data-testid": `campaign-${name}` }), hint);

  const form = h("form", { class: "card", "data-testid": "campaign-form", "aria-labelledby": "campaign-form-title",
    onsubmit: async (event) => {
      event.preventDefault();
      hideError(error);
      const data = new FormData(form);
      const keys = data.getAll("snippet_key"), titles = data.getAll("snippet_title"), texts = data.getAll("snippet_text");
      const body = {
        ...base,
        campaign_id: String(data.get("campaign_id")).trim(),
        name: String(data.get("name")).trim(),
        skills: csv(data.get("skills")),
        members: data.getAll("member"),
        fallback: data.has("fallback"),
        strategy: data.get("strategy"),
        max_per_agent: numberOrNull(data.get("max_per_agent")) ?? undefined,
        sla_threshold_s: numberOrNull(data.get("sla_threshold_s")) ?? undefined,
        abandon_threshold_s: numberOrNull(data.get("abandon_threshold_s")) ?? undefined,
        enabled: data.has("enabled"),
        snippets: keys.map((key, i) => ({ key: String(key).trim(), title: String(titles[i]).trim(), text: String(texts[i]) })),
      };
      submit.disabled = true;
      try {
        const saved = existing
          ? await api("PUT", `/v1/campaigns/${enc(existing.campaign_id)}`, body)
          : await api("POST", "/v1/campaigns", body);
        toast(t("campaigns.saved", { name: saved.name }), "ok");
        done(true);
      } catch (err) { showError(error, err); } finally { submit.disabled = false; }
    } },
  heading(existing ? t("campaigns.edit_title", { name: existing.name }) : t("campaigns.new_title"), "h3", "campaign-form-title"),
  h("div", { class: "grid" },
    h("div", {},
      field(t("campaigns.id"), id, existing ? t("campaigns.id_fixed") : t("campaigns.id_hint")),
      field(t("campaigns.name"), h("input", { type: "text", name: "name", value: base.name || "", required: true, maxlength: "120", "data-testid": "campaign-name" })),
      field(t("campaigns.skills"), h("input", { type: "text", name: "skills", value: (base.skills || []).join(", "), "data-testid": "campaign-skills" }),
        t("campaigns.skills_hint")),
      field(t("campaigns.strategy"), select("strategy", STRATEGIES.map((s) => [s, t(`strategy.${s}`)]), base.strategy || "least_busy",
        { "data-testid": "campaign-strategy" })),
      num("max_per_agent", base.max_per_agent ?? 3, "1", "100", t("campaigns.max_per_agent_hint")),
      num("sla_threshold_s", base.sla_threshold_s ?? 60, "1", String(7 * 86400), t("campaigns.sla_hint")),
      num("abandon_threshold_s", base.abandon_threshold_s ?? 30, "0", String(7 * 86400), t("campaigns.abandon_hint")),
      h("div", { class: "field" }, checkbox("fallback", base.fallback, t("campaigns.fallback"), { "data-testid": "campaign-fallback" }),
        h("small", { class: "hint" }, t("campaigns.fallback_hint"))),
      h("div", { class: "field" }, checkbox("enabled", existing ? base.enabled : true, t("campaigns.enabled"), { "data-testid": "campaign-enabled" }),
        h("small", { class: "hint" }, t("campaigns.enabled_hint")))),
    h("fieldset", { "data-testid": "campaign-members" }, h("legend", {}, t("campaigns.members")),
      memberBoxes.length ? h("ul", { class: "list" }, memberBoxes) : h("p", { class: "empty" }, t("campaigns.no_users")))),
  h("h4", {}, t("campaigns.snippets")),
  h("p", { class: "hint" }, t("campaigns.snippets_hint")),
  snippets,
  h("div", { class: "row" }, button(t("campaigns.snippet.add"), () => {
    const row = snippetRow();
    snippets.append(row);
    row.querySelector("input").focus();
  }, { "data-testid": "campaign-snippet-add" })),
  existing ? h("p", { class: "hint" }, t("campaigns.kept")) : null,
  error,
  h("div", { class: "row" }, submit, button(t("common.cancel"), () => done(false), { "data-testid": "campaign-cancel" })));
  return form;
}

const STATUS_CLASS = { online: "online", busy: "busy", break: "break", offline: "offline" };

function cognitoStatus(status) {
  return ["FORCE_CHANGE_PASSWORD", "CONFIRMED", "RESET_REQUIRED"].includes(status) ? t(`users.status.${status}`) : status;
}

register("team", {
  label: "nav.team", roles: ["admin", "supervisor"], section: "admin",
  async render(root) {
    const admin = isAdmin();
    let campaigns = [], users = [], agents = [], settings = null;
    const editorHost = h("div", {});
    const campaignsHost = h("div", {});
    const usersHost = h("div", {});
    const agentsHost = h("div", {});
    const settingsHost = h("div", {});
    const nameOf = (id) => { const u = users.find((x) => x.user_id === id); return u ? (u.name || u.email) : id; };

    function openEditor(campaign) {
      clear(editorHost, campaignEditor(campaign, users, async (saved) => {
        clear(editorHost);
        if (saved) await attempt(loadCampaigns);
        const title = document.getElementById("team-campaigns");
        if (title) { title.setAttribute("tabindex", "-1"); title.focus(); }
      }));
      editorHost.querySelector(campaign ? "[name=name]" : "[name=campaign_id]").focus();
    }

    function drawCampaigns() {
      clear(campaignsHost, table([
        { label: t("campaigns.id"), value: (c) => h("code", {}, c.campaign_id) },
        { label: t("campaigns.name"), value: (c) => c.name },
        { label: t("campaigns.skills"), value: (c) => (c.skills || []).join(", ") },
        { label: t("campaigns.members"), value: (c) => (c.members || []).map(nameOf).join(", ") },
        { label: t("campaigns.strategy"), value: (c) => t(`strategy.${c.strategy}`) },
        { label: t("campaigns.max_per_agent"), class: "num", value: (c) => fmtNumber(c.max_per_agent) },
        { label: t("campaigns.state"), value: (c) => [badge(c.enabled ? t("campaigns.on") : t("campaigns.off"), c.enabled ? "online" : "offline"),
          c.fallback ? [" ", badge(t("campaigns.fallback_badge"))] : null] },
        admin ? { label: t("admin.actions"), value: (c) => button(t("common.edit"), () => openEditor(c),
          { "aria-label": t("campaigns.edit_title", { name: c.name }), "data-testid": "campaign-edit" }) } : null,
      ].filter(Boolean), campaigns, { caption: t("campaigns.caption"), empty: t("campaigns.none"), testid: "campaigns",
        rowAttrs: (c) => ({ "data-id": c.campaign_id }) }));
    }
    async function loadCampaigns() { campaigns = (await api("GET", "/v1/campaigns")).items; drawCampaigns(); }

    // -- users
    const roleOptions = () => ROLES.filter((r) => admin || r !== "admin").map((r) => [r, t(`role.${r}`)]);
    async function invite() {
      const done = await formDialog(t("users.invite"), h("div", {},
        field(t("users.email"), h("input", { type: "email", name: "email", required: true, maxlength: "254", autocomplete: "off", "data-testid": "invite-email" }),
          t("users.email_hint")),
        field(t("users.name"), h("input", { type: "text", name: "name", maxlength: "200", "data-testid": "invite-name" })),
        field(t("users.role"), select("role", roleOptions(), "agent", { "data-testid": "invite-role" }))),
      async (v) => api("POST", "/v1/users", { email: v.email.trim(), role: v.role, name: v.name.trim() || undefined }),
      { submit: t("users.invite_submit"), testid: "user-invite-dialog" });
      if (done) { toast(t("users.invited", { email: done.email }), "ok"); await attempt(loadPeople); }
    }
    async function editUser(user) {
      const done = await formDialog(t("users.edit_title", { name: user.name || user.email }), h("div", {},
        field(t("users.role"), select("role", roleOptions(), user.role, { "data-testid": "user-role" })),
        h("div", { class: "field" }, checkbox("enabled", user.enabled, t("users.enabled"), { "data-testid": "user-enabled" }),
          h("small", { class: "hint" }, t("users.enabled_hint")))),
      async (v) => {
        const body = {};
        if (v.role !== user.role) body.role = v.role;
        if (("enabled" in v) !== user.enabled) body.enabled = "enabled" in v;
        if (!Object.keys(body).length) return user;
        return api("PATCH", `/v1/users/${enc(user.user_id)}`, body);
      }, { testid: "user-edit-dialog" });
      if (done) { toast(t("common.saved"), "ok"); await attempt(loadPeople); }
    }
    async function resetPassword(user) {
      if (!(await dialog(t("users.reset"), h("p", {}, t("users.reset_confirm", { email: user.email })),
        { submit: t("users.reset_submit"), testid: "user-reset-dialog" }))) return;
      const out = await attempt(() => api("POST", `/v1/users/${enc(user.user_id)}/reset-password`));
      if (out) toast(t(`users.reset.${out.action}`, { email: user.email }), "ok");
      await attempt(loadPeople);
    }
    async function deleteUser(user) {
      if (!(await confirmDanger(t("users.delete"), t("users.delete_confirm", { email: user.email }), t("users.delete_submit"), "user-delete-dialog"))) return;
      if ((await attempt(() => api("DELETE", `/v1/users/${enc(user.user_id)}`), t("users.deleted", { email: user.email }))) !== null) {
        await attempt(loadPeople);
      }
    }
    const canManage = (u) => u.user_id !== state.me.user_id && (admin || u.role !== "admin");
    function drawUsers() {
      clear(usersHost, table([
        { label: t("users.name"), value: (u) => u.name || "—" },
        { label: t("users.email"), value: (u) => u.email },
        { label: t("users.role"), value: (u) => t(`role.${u.role}`) },
        { label: t("users.access"), value: (u) => badge(u.enabled ? t("users.active") : t("users.disabled"), u.enabled ? "online" : "offline") },
        { label: t("users.status"), value: (u) => cognitoStatus(u.status) },
        { label: t("users.created"), value: (u) => fmtTime(u.created_at) },
        { label: t("admin.actions"), value: (u) => h("div", { class: "row" },
          canManage(u) ? button(t("common.edit"), () => editUser(u), { "aria-label": t("users.edit_title", { name: u.name || u.email }), "data-testid": "user-edit" }) : null,
          admin || u.role !== "admin" ? button(t("users.reset"), () => resetPassword(u), { "aria-label": `${t("users.reset")}: ${u.email}`, "data-testid": "user-reset" }) : null,
          canManage(u) ? button(t("users.delete"), () => deleteUser(u), { class: "danger", "aria-label": `${t("users.delete")}: ${u.email}`, "data-testid": "user-delete" }) : null) },
      ], users, { caption: t("users.caption"), empty: t("users.none"), testid: "users", rowAttrs: (u) => ({ "data-id": u.user_id }) }));
    }

    // -- agents
    async function capacity(row) {
      const input = h("input", { type: "number", name: "max_concurrent", min: "1", max: "100", step: "1",
        value: row.max_concurrent ?? "", "data-testid": "capacity-value" });
      const done = await formDialog(t("agents.capacity_title", { name: row.name }), field(t("agents.capacity"), input, t("agents.capacity_hint")),
        async (v) => api("PUT", `/v1/agents/${enc(row.user_id)}/capacity`, { max_concurrent: numberOrNull(v.max_concurrent) }),
        { testid: "capacity-dialog" });
      if (done) { toast(t("common.saved"), "ok"); await attempt(loadPeople); }
    }
    function drawAgents() {
      const presence = new Map(agents.map((a) => [a.user_id, a]));
      const rows = users.map((u) => ({ ...(presence.get(u.user_id) || { status: null, active: 0, max_concurrent: null }), user_id: u.user_id,
        name: u.name || u.email, role: u.role }));
      for (const a of agents) if (!users.some((u) => u.user_id === a.user_id)) rows.push({ ...a, name: a.name || a.user_id, role: null });
      clear(agentsHost, table([
        { label: t("agents.name"), value: (a) => a.name },
        { label: t("users.role"), value: (a) => (a.role ? t(`role.${a.role}`) : "—") },
        { label: t("agents.status"), value: (a) => (a.status ? [badge(t(`status.${a.status}`), STATUS_CLASS[a.status]), a.break_type ? ` ${a.break_type}` : null]
          : h("span", { class: "hint" }, t("agents.no_presence"))) },
        { label: t("agents.since"), value: (a) => (a.since ? fmtTime(a.since) : "—") },
        { label: t("agents.active"), class: "num", value: (a) => fmtNumber(a.active) },
        { label: t("agents.capacity"), class: "num", value: (a) => (a.max_concurrent === null || a.max_concurrent === undefined ? t("agents.campaign_cap") : fmtNumber(a.max_concurrent)) },
        { label: t("admin.actions"), value: (a) => button(t("agents.set_capacity"), () => capacity(a),
          { "aria-label": t("agents.capacity_title", { name: a.name }), "data-testid": "agent-capacity" }) },
      ], rows, { caption: t("agents.caption"), empty: t("agents.none"), testid: "agents", rowAttrs: (a) => ({ "data-id": a.user_id }) }));
    }
    async function loadPeople() {
      const [u, a] = await Promise.all([api("GET", "/v1/users"), api("GET", "/v1/agents")]);
      users = u.items; agents = a.items;
      drawUsers(); drawAgents(); drawCampaigns();
    }

    // -- settings
    function drawSettings() {
      const error = errorBox("cc-settings-error");
      const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
      const save = admin ? h("button", { type: "submit", class: "primary", "data-testid": "cc-settings-save" }, t("common.save")) : null;
      const form = h("form", { "data-testid": "cc-settings", onsubmit: async (event) => {
        event.preventDefault();
        if (!admin) return;
        hideError(error);
        const data = new FormData(form);
        const body = { break_types: String(data.get("break_types")).split("\n").map((s) => s.trim()).filter(Boolean),
          time_zone: String(data.get("time_zone")).trim() };
        save.disabled = true;
        try { settings = await api("PUT", "/v1/contact-center/settings", body); toast(t("common.saved"), "ok"); drawSettings(); }
        catch (err) { showError(error, err); } finally { save.disabled = false; }
      } },
      field(t("settings.break_types"), h("textarea", { name: "break_types", rows: "6", readonly: !admin, value: settings.break_types.join("\n"),
        "data-testid": "cc-break-types" }), t("settings.break_types_hint")),
      field(t("settings.time_zone"), h("input", { type: "text", name: "time_zone", list: "admin-zones", readonly: !admin, value: settings.time_zone,
        required: true, maxlength: "64", "data-testid": "cc-time-zone" }), t("settings.time_zone_hint")),
      h("datalist", { id: "admin-zones" }, zones.map((z) => h("option", { value: z }))),
      error, save);
      clear(settingsHost, form);
    }

    const card = (id, title, actions, ...body) => h("section", { class: "card", "aria-labelledby": id },
      h("div", { class: "row" }, heading(title, "h2", id), h("span", { class: "spacer" }), actions), ...body);

    clear(root, h("h1", {}, t("nav.team")),
      admin ? null : h("p", { class: "hint" }, t("team.supervisor_note")),
      card("team-campaigns", t("campaigns.title"), admin ? button(t("campaigns.new"), () => openEditor(null), { class: "primary", "data-testid": "campaign-new" }) : null,
        editorHost, campaignsHost),
      card("team-users", t("users.title"), button(t("users.invite"), invite, { class: "primary", "data-testid": "user-invite" }), usersHost),
      card("team-agents", t("agents.title"), button(t("common.refresh"), () => attempt(loadPeople), { "data-testid": "agents-refresh" }), agentsHost),
      card("team-settings", t("settings.title"), null, settingsHost));

    const [c, u, a, s] = await Promise.all([api("GET", "/v1/campaigns"), api("GET", "/v1/users"), api("GET", "/v1/agents"),
      api("GET", "/v1/contact-center/settings")]);
    campaigns = c.items; users = u.items; agents = a.items; settings = s;
    drawCampaigns(); drawUsers(); drawAgents(); drawSettings();
  },
});

// -- bots ------------------------------------------------------------------------------------------------------
register("bots", {
  label: "nav.bots", roles: ["admin"], section: "admin",
  async render(root) {
    let bots = [];
    const listHost = h("div", {});
    const versionsHost = h("div", {});
    const source = h("textarea", { name: "source", class: "code", rows: "22", spellcheck: "false", autocomplete: "off", autocapitalize: "off",
      wrap: "off", "data-testid": "bot-source" });
    const format = select("format", [["yaml", "YAML"], ["json", "JSON"]], "yaml", { "data-testid": "bot-format" });
    const activate = h("input", { type: "checkbox", name: "activate", checked: true, "data-testid": "bot-activate-on-publish" });
    const file = h("input", { type: "file", accept: ".yaml,.yml,.json,application/json,application/yaml,text/yaml", "data-testid": "bot-file" });
    const result = h("div", { role: "status", "data-testid": "bot-result" });
    const errors = h("div", { class: "error", role: "alert", "data-testid": "bot-errors" });
    errors.hidden = true;
    const validateBtn = h("button", { type: "button", "data-testid": "bot-validate" }, t("bots.validate"));
    const publishBtn = h("button", { type: "button", class: "primary", "data-testid": "bot-publish" }, t("bots.publish"));

    function goToLine(line, column) {
      const lines = source.value.split("\n");
      let pos = 0;
      for (let i = 0; i < Math.min(line - 1, lines.length); i += 1) pos += lines[i].length + 1;
      pos += Math.max(0, (column || 1) - 1);
      source.focus();
      source.setSelectionRange(pos, pos);
    }
    function showIssues(err) {
      const items = issues(err);
      clear(errors, h("p", {}, errorText(err)), items.length ? h("ul", {}, items.map((i) => h("li", { "data-testid": "bot-error" }, i.text,
        i.line ? [" ", button(t("bots.go_to_line", { line: i.line }), () => goToLine(i.line, i.column))] : null))) : null);
      errors.hidden = false;
    }
    function body() {
      return { source: source.value, format: format.value };
    }
    async function send(which) {
      clear(result); clear(errors); errors.hidden = true;
      if (!source.value.trim()) { showIssues(new Error(t("bots.empty_source"))); source.focus(); return; }
      validateBtn.disabled = publishBtn.disabled = true;
      try {
        if (which === "validate") {
          const report = await api("POST", "/v1/bots/validate", body());
          clear(result, h("p", {}, t("bots.valid", { bot: report.bot_id, flows: report.flows, nodes: report.nodes, intents: report.intents })));
        } else {
          const version = await api("POST", "/v1/bots", { ...body(), activate: activate.checked });
          clear(result, h("p", {}, t(version.active ? "bots.published_active" : "bots.published", { bot: version.bot_id, version: version.version })));
          toast(t("bots.published_toast", { bot: version.bot_id, version: version.version }), "ok");
          await loadBots();
          await showVersions(version.bot_id);
        }
      } catch (err) { showIssues(err); } finally { validateBtn.disabled = publishBtn.disabled = false; }
    }
    validateBtn.addEventListener("click", () => send("validate"));
    publishBtn.addEventListener("click", () => send("publish"));
    file.addEventListener("change", () => {
      const chosen = file.files && file.files[0];
      if (!chosen) return;
      const reader = new FileReader();
      reader.addEventListener("load", () => {
        source.value = String(reader.result || "");
        format.value = /\.json$/i.test(chosen.name) ? "json" : "yaml";
        clear(result, h("p", {}, t("bots.loaded", { name: chosen.name })));
        clear(errors); errors.hidden = true;
      });
      reader.addEventListener("error", () => showIssues(new Error(t("bots.read_failed", { name: chosen.name }))));
      reader.readAsText(chosen);
    });

    async function openVersion(botId, version) {
      const v = await attempt(() => api("GET", `/v1/bots/${enc(botId)}/versions/${version}`));
      if (!v) return;
      source.value = v.source || "";
      format.value = v.format === "json" ? "json" : "yaml";
      clear(result, h("p", {}, t("bots.opened", { bot: botId, version })));
      clear(errors); errors.hidden = true;
      source.focus();
    }
    async function showVersions(botId) {
      const data = await api("GET", `/v1/bots/${enc(botId)}/versions`);
      clear(versionsHost, h("section", { class: "card", "aria-labelledby": "bot-versions-title" },
        h("div", { class: "row" }, heading(t("bots.versions_of", { bot: botId }), "h2", "bot-versions-title"), h("span", { class: "spacer" }),
          button(t("common.close"), () => clear(versionsHost), { "data-testid": "bot-versions-close" })),
        table([
          { label: t("bots.version"), class: "num", value: (v) => String(v.version) },
          { label: t("bots.name"), value: (v) => v.name },
          { label: t("bots.created"), value: (v) => fmtTime(v.created_at) },
          { label: t("bots.created_by"), value: (v) => v.created_by || "—" },
          { label: t("bots.checksum"), value: (v) => h("code", {}, String(v.checksum || "").slice(0, 12)) },
          { label: t("bots.state"), value: (v) => (v.active ? badge(t("bots.active"), "online") : "") },
          { label: t("admin.actions"), value: (v) => h("div", { class: "row" },
            v.active ? null : button(t("bots.activate"), async () => {
              if (await attempt(() => api("POST", `/v1/bots/${enc(botId)}/versions/${v.version}/activate`),
                t("bots.activated", { bot: botId, version: v.version }))) { await attempt(loadBots); await attempt(() => showVersions(botId)); }
            }, { "aria-label": t("bots.activate_version", { version: v.version }), "data-testid": "bot-activate" }),
            button(t("bots.open"), () => openVersion(botId, v.version), { "aria-label": t("bots.open_version", { version: v.version }), "data-testid": "bot-open-version" })) },
        ], data.items, { caption: t("bots.versions_caption"), testid: "bot-versions", rowAttrs: (v) => ({ "data-version": v.version }) })));
      versionsHost.querySelector("h2").setAttribute("tabindex", "-1");
      versionsHost.querySelector("h2").focus();
    }
    async function deactivate(bot) {
      if (!(await confirmDanger(t("bots.deactivate"), t("bots.deactivate_confirm", { bot: bot.name }), t("bots.deactivate"), "bot-deactivate-dialog"))) return;
      if (await attempt(() => api("POST", `/v1/bots/${enc(bot.bot_id)}/deactivate`), t("bots.deactivated", { bot: bot.name }))) await attempt(loadBots);
    }
    function drawBots() {
      clear(listHost, table([
        { label: t("bots.id"), value: (b) => h("code", {}, b.bot_id) },
        { label: t("bots.name"), value: (b) => b.name },
        { label: t("bots.active_version"), value: (b) => (b.active_version ? badge(t("bots.version_n", { version: b.active_version }), "online") : badge(t("bots.inactive"), "offline")) },
        { label: t("bots.latest"), class: "num", value: (b) => String(b.latest_version) },
        { label: t("bots.channels"), value: (b) => (b.channels || []).map((c) => (c === "*" ? t("bots.all_channels") : c)).join(", ") },
        { label: t("bots.updated"), value: (b) => fmtTime(b.updated_at) },
        { label: t("admin.actions"), value: (b) => h("div", { class: "row" },
          button(t("bots.versions"), () => attempt(() => showVersions(b.bot_id)), { "aria-label": t("bots.versions_of", { bot: b.name }), "data-testid": "bot-versions-open" }),
          b.active_version ? button(t("bots.deactivate"), () => deactivate(b), { class: "danger", "aria-label": `${t("bots.deactivate")}: ${b.name}`, "data-testid": "bot-deactivate" }) : null) },
      ], bots, { caption: t("bots.caption"), empty: t("bots.none"), testid: "bots", rowAttrs: (b) => ({ "data-id": b.bot_id }) }));
    }
    async function loadBots() { bots = (await api("GET", "/v1/bots")).items; drawBots(); }

    clear(root,
      h("div", { class: "row" }, h("h1", {}, t("nav.bots")), h("span", { class: "spacer" }),
        button(t("common.refresh"), () => attempt(loadBots), { "data-testid": "bots-refresh" })),
      h("section", { class: "card", "aria-labelledby": "bots-list-title" }, heading(t("bots.title"), "h2", "bots-list-title"), listHost),
      versionsHost,
      h("section", { class: "card", "aria-labelledby": "bot-editor-title", "data-testid": "bot-editor" },
        heading(t("bots.upload"), "h2", "bot-editor-title"),
        h("p", { class: "hint" }, t("bots.upload_hint")),
        h("div", { class: "row" }, field(t("bots.file"), file, t("bots.file_hint")), field(t("bots.format"), format)),
        field(t("bots.source"), source, t("bots.source_hint")),
        h("div", { class: "field" }, h("label", {}, activate, ` ${t("bots.activate_on_publish")}`)),
        h("div", { class: "row" }, validateBtn, publishBtn),
        result, errors));
    await loadBots();
  },
});

// -- workflows -------------------------------------------------------------------------------------------------
const EXEC_CLASS = { running: "busy", waiting: "busy", completed: "online", failed: "urgent", cancelled: "offline", done: "online", started: "busy" };

register("workflows", {
  label: "nav.workflows", roles: ["admin"], section: "admin",
  async render(root, params) {
    let workflows = [], templates = [];
    const listHost = h("div", {});
    const detailHost = h("div", {});
    const templateHost = h("div", {});

    async function setEnabled(w, enabled) {
      const out = await attempt(() => api("POST", `/v1/workflows/${enc(w.workflow_id)}/${enabled ? "enable" : "disable"}`),
        t(enabled ? "workflows.enabled_toast" : "workflows.disabled_toast", { name: w.name }));
      if (out) { await attempt(loadWorkflows); if (detailHost.dataset.id === w.workflow_id) await attempt(() => showWorkflow(w.workflow_id)); }
    }
    async function remove(w) {
      if (!(await confirmDanger(t("workflows.delete"), t("workflows.delete_confirm", { name: w.name }), t("workflows.delete"), "workflow-delete-dialog"))) return;
      if ((await attempt(() => api("DELETE", `/v1/workflows/${enc(w.workflow_id)}`), t("workflows.deleted", { name: w.name }))) !== null) {
        if (detailHost.dataset.id === w.workflow_id) { clear(detailHost); delete detailHost.dataset.id; }
        await attempt(loadWorkflows);
      }
    }

    async function showExecution(executionId, host) {
      const data = await api("GET", `/v1/workflow-executions/${enc(executionId)}`);
      const e = data.execution;
      clear(host, h("section", { class: "card", "aria-labelledby": "execution-title", "data-testid": "execution-detail" },
        h("div", { class: "row" }, heading(t("workflows.execution", { id: e.execution_id }), "h3", "execution-title"), h("span", { class: "spacer" }),
          button(t("common.close"), () => clear(host))),
        props([
          [t("workflows.status"), badge(t(`exec.${e.status}`), EXEC_CLASS[e.status])],
          [t("workflows.version"), String(e.version)],
          [t("workflows.trigger"), e.trigger],
          [t("workflows.contact"), e.contact_id],
          [t("workflows.conversation"), e.conversation_id],
          [t("workflows.at_step"), e.step_id],
          [t("workflows.steps_run"), fmtNumber(e.seq)],
          [t("workflows.waiting_for"), e.wait ? json(e.wait) : null],
          [t("workflows.error"), e.error ? h("span", { class: "error" }, e.error) : null],
          [t("workflows.started"), fmtTime(e.started_at)],
          [t("workflows.ended"), e.ended_at ? fmtTime(e.ended_at) : null],
        ]),
        Object.keys(e.vars || {}).length ? [h("h4", {}, t("workflows.vars")), pre(e.vars, t("workflows.vars"))] : null,
        table([
          { label: "#", class: "num", value: (s) => String(s.seq) },
          { label: t("workflows.step"), value: (s) => h("code", {}, s.step_id) },
          { label: t("workflows.type"), value: (s) => s.type },
          { label: t("workflows.state"), value: (s) => badge(t(`exec.${s.state}`), EXEC_CLASS[s.state]) },
          { label: t("workflows.input"), value: (s) => pre(s.input, t("workflows.input_of", { step: s.step_id })) },
          { label: t("workflows.output"), value: (s) => pre(s.output, t("workflows.output_of", { step: s.step_id })) },
          { label: t("workflows.error"), value: (s) => (s.error ? h("span", { class: "error" }, s.error) : "—") },
          { label: t("workflows.next"), value: (s) => s.next || "—" },
          { label: t("workflows.time"), value: (s) => `${fmtTime(s.started_at)}${s.ended_at ? ` → ${fmtTime(s.ended_at)}` : ""}` },
        ], data.steps, { caption: t("workflows.steps"), empty: t("workflows.no_steps"), testid: "execution-steps" })));
      host.querySelector("h3").setAttribute("tabindex", "-1");
      host.querySelector("h3").focus();
    }

    async function showWorkflow(id) {
      const [view, execs] = await Promise.all([api("GET", `/v1/workflows/${enc(id)}`), api("GET", `/v1/workflows/${enc(id)}/executions`)]);
      const w = view.workflow;
      const stepsHost = h("div", {});
      detailHost.dataset.id = id;
      clear(detailHost, h("section", { class: "card", "aria-labelledby": "workflow-title", "data-testid": "workflow-detail" },
        h("div", { class: "row" }, heading(w.name, "h2", "workflow-title"), h("span", { class: "spacer" }),
          button(t("common.close"), () => { clear(detailHost); delete detailHost.dataset.id; }, { "data-testid": "workflow-close" })),
        w.description ? h("p", {}, w.description) : null,
        props([
          [t("workflows.id"), h("code", {}, w.workflow_id)],
          [t("workflows.version"), String(w.version)],
          [t("workflows.trigger"), w.trigger.type],
          [t("workflows.state"), badge(w.enabled ? t("workflows.on") : t("workflows.off"), w.enabled ? "online" : "offline")],
          [t("workflows.template"), w.template],
          [t("workflows.updated"), fmtTime(w.updated_at)],
        ]),
        view.hook_url ? copyField(t("workflows.hook_url"), view.hook_url, "workflow-hook", t("workflows.hook_hint")) : null,
        h("h3", {}, t("workflows.definition")),
        pre(w, t("workflows.definition"), "workflow-definition"),
        h("div", { class: "row" }, h("h3", {}, t("workflows.executions")), h("span", { class: "spacer" }),
          button(t("common.refresh"), () => attempt(() => showWorkflow(id)), { "data-testid": "workflow-executions-refresh" })),
        table([
          { label: t("workflows.execution_id"), value: (e) => h("code", {}, e.execution_id) },
          { label: t("workflows.status"), value: (e) => badge(t(`exec.${e.status}`), EXEC_CLASS[e.status]) },
          { label: t("workflows.version"), class: "num", value: (e) => String(e.version) },
          { label: t("workflows.contact"), value: (e) => e.contact_id || "—" },
          { label: t("workflows.started"), value: (e) => fmtTime(e.started_at) },
          { label: t("workflows.ended"), value: (e) => (e.ended_at ? fmtTime(e.ended_at) : "—") },
          { label: t("workflows.error"), value: (e) => (e.error ? h("span", { class: "error" }, e.error) : "—") },
          { label: t("admin.actions"), value: (e) => button(t("workflows.view_steps"), () => attempt(() => showExecution(e.execution_id, stepsHost)),
            { "aria-label": t("workflows.view_steps_of", { id: e.execution_id }), "data-testid": "execution-view" }) },
        ], execs.executions, { caption: t("workflows.executions_caption"), empty: t("workflows.no_executions"), testid: "workflow-executions",
          rowAttrs: (e) => ({ "data-id": e.execution_id }) }),
        stepsHost));
      const title = detailHost.querySelector("h2");
      title.setAttribute("tabindex", "-1");
      title.focus();
    }

    function drawWorkflows() {
      clear(listHost, table([
        { label: t("workflows.name"), value: (w) => w.name },
        { label: t("workflows.id"), value: (w) => h("code", {}, w.workflow_id) },
        { label: t("workflows.trigger"), value: (w) => w.trigger },
        { label: t("workflows.state"), value: (w) => badge(w.enabled ? t("workflows.on") : t("workflows.off"), w.enabled ? "online" : "offline") },
        { label: t("workflows.version"), class: "num", value: (w) => String(w.version) },
        { label: t("workflows.template"), value: (w) => w.template || "—" },
        { label: t("workflows.updated"), value: (w) => fmtTime(w.updated_at) },
        { label: t("admin.actions"), value: (w) => h("div", { class: "row" },
          button(t("workflows.view"), () => attempt(() => showWorkflow(w.workflow_id)), { "aria-label": `${t("workflows.view")}: ${w.name}`, "data-testid": "workflow-view" }),
          button(w.enabled ? t("workflows.disable") : t("workflows.enable"), () => setEnabled(w, !w.enabled),
            { "aria-label": `${w.enabled ? t("workflows.disable") : t("workflows.enable")}: ${w.name}`, "data-testid": "workflow-toggle" }),
          button(t("workflows.delete"), () => remove(w), { class: "danger", "aria-label": `${t("workflows.delete")}: ${w.name}`, "data-testid": "workflow-delete" })) },
      ], workflows, { caption: t("workflows.caption"), empty: t("workflows.none"), testid: "workflows", rowAttrs: (w) => ({ "data-id": w.workflow_id }) }));
    }
    async function loadWorkflows() { workflows = (await api("GET", "/v1/workflows")).workflows; drawWorkflows(); }

    function drawTemplateForm() {
      const error = errorBox("workflow-error");
      const choice = select("template", templates.map((x) => [x.template, x.name]), templates[0] && templates[0].template, { "data-testid": "workflow-template" });
      const about = h("div", { "aria-live": "polite" });
      const describe = () => {
        const tpl = templates.find((x) => x.template === choice.value);
        clear(about, tpl ? [h("p", {}, tpl.description || ""), h("p", { class: "hint" }, t("workflows.template_trigger", { trigger: tpl.trigger })),
          h("details", {}, h("summary", {}, t("workflows.template_definition")), pre(tpl.definition, t("workflows.template_definition")))] : null);
      };
      choice.addEventListener("change", describe);
      const enabled = h("input", { type: "checkbox", name: "enabled", "data-testid": "workflow-template-enabled" });
      const overrides = h("textarea", { name: "overrides", class: "code", rows: "5", spellcheck: "false", placeholder: "{\"name\": \"…\"}", "data-testid": "workflow-overrides" });
      const submit = h("button", { type: "submit", class: "primary", "data-testid": "workflow-create" }, t("workflows.create"));
      const form = h("form", { "data-testid": "workflow-template-form", onsubmit: async (event) => {
        event.preventDefault();
        hideError(error);
        let extra = {};
        if (overrides.value.trim()) {
          try { extra = JSON.parse(overrides.value); } catch (err) { showError(error, new Error(t("workflows.bad_json", { reason: err.message }))); overrides.focus(); return; }
          if (!extra || typeof extra !== "object" || Array.isArray(extra)) { showError(error, new Error(t("workflows.not_object"))); overrides.focus(); return; }
        }
        if (enabled.checked) extra = { ...extra, enabled: true };
        submit.disabled = true;
        try {
          const view = await api("POST", "/v1/workflows/from-template", { template: choice.value, overrides: extra });
          toast(t("workflows.created", { name: view.workflow.name }), "ok");
          overrides.value = ""; enabled.checked = false;
          await loadWorkflows();
          await showWorkflow(view.workflow.workflow_id);
        } catch (err) { showError(error, err); } finally { submit.disabled = false; }
      } },
      templates.length ? [field(t("workflows.template"), choice), about,
        h("div", { class: "field" }, h("label", {}, enabled, ` ${t("workflows.enable_now")}`)),
        field(t("workflows.overrides"), overrides, t("workflows.overrides_hint")), error, submit]
        : h("p", { class: "empty" }, t("workflows.no_templates")));
      clear(templateHost, form);
      describe();
    }

    clear(root,
      h("div", { class: "row" }, h("h1", {}, t("nav.workflows")), h("span", { class: "spacer" }),
        button(t("common.refresh"), () => attempt(loadWorkflows), { "data-testid": "workflows-refresh" })),
      h("section", { class: "card", "aria-labelledby": "workflows-title" }, heading(t("workflows.title"), "h2", "workflows-title"), listHost),
      detailHost,
      h("section", { class: "card", "aria-labelledby": "workflow-new-title" }, heading(t("workflows.from_template"), "h2", "workflow-new-title"),
        h("p", { class: "hint" }, t("workflows.from_template_hint")), templateHost));
    const [list, tpls] = await Promise.all([api("GET", "/v1/workflows"), api("GET", "/v1/workflow-templates")]);
    workflows = list.workflows; templates = tpls.templates;
    drawWorkflows(); drawTemplateForm();
    if (params && params.id) await attempt(() => showWorkflow(params.id));
  },
});

// -- strings ---------------------------------------------------------------------------------------------------
addStrings({
  es: {
    "nav.channels": "Canales", "nav.team": "Equipo", "nav.bots": "Bots", "nav.workflows": "Automatizaciones",
    "admin.actions": "Acciones", "admin.copy": "Copiar", "admin.copied": "Copiado al portapapeles",
    "admin.copy_manually": "No se pudo copiar: el texto quedó seleccionado, copialo con Ctrl+C",
    "admin.line": "línea {line}", "admin.column": "columna {column}", "common.edit": "Editar",
    "kind.whatsapp": "WhatsApp", "kind.telegram": "Telegram", "kind.messenger": "Messenger", "kind.instagram": "Instagram",
    "kind.sms": "SMS", "kind.webchat": "Chat web", "kind.email": "Correo",
    "channels.none": "Esta cuenta todavía no tiene canales.", "channels.enabled": "Activo", "channels.disabled": "Desactivado",
    "channels.id": "Id", "channels.kind": "Tipo", "channels.number": "Número o nombre", "channels.provider_id": "Id en el proveedor",
    "channels.handle": "Usuario público", "channels.webhook": "URL del webhook",
    "channels.verify.meta": "Token de verificación: no se muestra acá. Se entregó una sola vez al conectar el canal (respuesta de la API de plataforma) y está guardado en Secrets Manager, en el secreto <SECRET_PREFIX>/{tenant}/<id del canal> (por defecto omnichannel/channels/…), campo verify_token. En la app de Meta: URL de devolución de llamada = la URL del webhook, token de verificación = ese valor.",
    "channels.verify.telegram": "Telegram: la plataforma registró este webhook con setWebhook y un secret_token al conectar el canal; no hay nada que pegar. El secret_token está en Secrets Manager (<SECRET_PREFIX>/{tenant}/<id del canal>).",
    "channels.verify.sms": "SMS (Twilio): pegá esta URL como webhook de mensajes entrantes del número. Twilio firma con el Auth Token; no hay token de verificación.",
    "channels.verify.webchat": "Chat web: el widget usa esta dirección por sí mismo; el código para insertar en el sitio se entregó al conectar el canal.",
    "channels.verify.email": "Correo: llega por SES; los registros DNS (DKIM y MX) se entregaron al conectar el canal.",
    "channels.health": "Salud de la cuenta", "channels.health.check": "Ver salud", "channels.health.quality": "Calidad (último evento)",
    "channels.health.limit": "Nivel de mensajería", "channels.health.daily": "Límite diario", "channels.health.unknown": "Sin límite o desconocido",
    "channels.health.mps": "Mensajes por segundo", "channels.health.account": "Evento de la cuenta", "channels.health.restricted": "Cuenta restringida",
    "channels.health.updated": "Actualizado", "channels.health.never": "Sin novedades de Meta", "channels.health.templates": "Plantillas por estado",
    "channels.health.low_quality": "Plantillas de baja calidad", "channels.health.recat": "Riesgo de recategorización",
    "channels.health.events": "Últimos eventos de salud", "channels.health.no_events": "Sin eventos de salud",
    "channels.health.at": "Cuándo", "channels.health.severity": "Gravedad", "channels.health.field": "Campo", "channels.health.summary": "Resumen",
    "channels.link": "Enlace para chatear", "channels.link.open": "Abrir el enlace en otra pestaña",
    "channels.link.text": "Mensaje precargado (opcional)", "channels.link.text_hint": "WhatsApp y SMS: el cliente lo ve escrito al abrir el chat",
    "channels.qr": "Código QR", "channels.qr.alt": "Código QR para chatear con {name}", "channels.qr.download": "Descargar (SVG)",
    "channels.menu": "Publicar menú del bot", "channels.menu.done": "Menú del bot {bot} (versión {version}) publicado: {n} opciones",
    "channels.connect": "Conectar un canal",
    "channels.connect.intro": "Desde la consola no se pueden conectar canales: la API de la cuenta (/v1) no tiene esa operación. Lo hace el operador de la plataforma con su clave de operador, en la API de plataforma:",
    "channels.connect.caption": "Operaciones de la API de plataforma (clave de operador)",
    "channels.connect.endpoint": "Operación", "channels.connect.required": "Campos obligatorios", "channels.connect.optional": "Campos opcionales",
    "channels.connect.after": "La respuesta trae la URL del webhook y el token de verificación (se muestra una sola vez). Después el canal aparece en esta lista.",
    "team.supervisor_note": "Como supervisor podés ver las campañas y la configuración, gestionar agentes y supervisores, y fijar la capacidad de cada agente. Crear o editar campañas y cambiar la configuración es tarea de un administrador.",
    "campaigns.title": "Campañas", "campaigns.caption": "Campañas (equipos) y sus colas", "campaigns.none": "No hay campañas todavía.",
    "campaigns.new": "Nueva campaña", "campaigns.new_title": "Nueva campaña", "campaigns.edit_title": "Editar la campaña {name}",
    "campaigns.id": "Id", "campaigns.id_hint": "Minúsculas, números, - y _ (hasta 40); no se puede cambiar después",
    "campaigns.id_fixed": "El id de una campaña no cambia", "campaigns.name": "Nombre", "campaigns.skills": "Habilidades",
    "campaigns.skills_hint": "Separadas por comas: las derivaciones de bots y automatizaciones eligen la campaña por ellas",
    "campaigns.members": "Miembros", "campaigns.strategy": "Estrategia de asignación", "campaigns.max_per_agent": "Máximo por agente",
    "campaigns.max_per_agent_hint": "Conversaciones simultáneas por agente (1 a 100)",
    "campaigns.sla_threshold_s": "Umbral de nivel de servicio (s)", "campaigns.sla_hint": "Atendida dentro de estos segundos cuenta como en nivel",
    "campaigns.abandon_threshold_s": "Umbral de abandono (s)", "campaigns.abandon_hint": "Salir de la fila sin atención tras esta espera es un abandono",
    "campaigns.fallback": "Campaña de respaldo", "campaigns.fallback_hint": "Recibe las derivaciones que no coinciden con ninguna campaña (una por cuenta)",
    "campaigns.fallback_badge": "Respaldo", "campaigns.enabled": "Habilitada", "campaigns.enabled_hint": "Deshabilitada no recibe conversaciones y conserva sus datos",
    "campaigns.state": "Estado", "campaigns.on": "Habilitada", "campaigns.off": "Deshabilitada",
    "campaigns.snippets": "Respuestas rápidas", "campaigns.snippets_hint": "Textos que los agentes insertan con su clave.",
    "campaigns.snippet": "Respuesta rápida", "campaigns.snippet.key": "Clave", "campaigns.snippet.key_hint": "Minúsculas, números, - y _",
    "campaigns.snippet.title": "Título", "campaigns.snippet.text": "Texto",
    "campaigns.snippet.text_hint": "Variables: {{contact.name}}, {{contact.fields.x}}, {{agent.name}}, {{campaign.name}}",
    "campaigns.snippet.add": "Agregar respuesta rápida", "campaigns.snippet.remove": "Quitar esta respuesta rápida",
    "campaigns.kept": "El horario, los mensajes automáticos y el resto de la configuración de la campaña se conservan tal como están.",
    "campaigns.unknown_member": "{id} (usuario que ya no existe)", "campaigns.no_users": "No hay usuarios.",
    "campaigns.saved": "Campaña {name} guardada",
    "strategy.least_busy": "Al menos ocupado", "strategy.round_robin": "Por turnos", "strategy.sticky_owner": "Al dueño del contacto",
    "users.title": "Personas", "users.caption": "Usuarios de la cuenta", "users.none": "No hay usuarios.",
    "users.invite": "Invitar", "users.invite_submit": "Enviar invitación", "users.invited": "Invitación enviada a {email}",
    "users.email": "Correo", "users.email_hint": "Recibe una contraseña temporal por correo", "users.name": "Nombre", "users.role": "Rol",
    "users.access": "Acceso", "users.active": "Habilitado", "users.disabled": "Deshabilitado", "users.status": "Estado de la cuenta",
    "users.created": "Alta", "users.edit_title": "Editar a {name}", "users.enabled": "Puede ingresar",
    "users.enabled_hint": "Sin marcar: no puede ingresar ni renovar su sesión",
    "users.reset": "Restablecer contraseña", "users.reset_submit": "Restablecer",
    "users.reset_confirm": "Se le enviará a {email} un correo para elegir una contraseña nueva (o una nueva invitación si nunca ingresó).",
    "users.reset.password_reset": "Se envió a {email} un código para restablecer la contraseña",
    "users.reset.invitation_resent": "{email} nunca ingresó: se le reenvió la invitación",
    "users.delete": "Eliminar", "users.delete_submit": "Eliminar definitivamente",
    "users.delete_confirm": "¿Eliminar a {email}? No podrá volver a ingresar.", "users.deleted": "{email} fue eliminado",
    "users.status.FORCE_CHANGE_PASSWORD": "Invitado (todavía no ingresó)", "users.status.CONFIRMED": "Confirmado",
    "users.status.RESET_REQUIRED": "Debe restablecer la contraseña",
    "agents.title": "Presencia y capacidad", "agents.caption": "Estado de cada persona y su límite de conversaciones",
    "agents.none": "No hay agentes.", "agents.name": "Nombre", "agents.status": "Estado", "agents.since": "Desde",
    "agents.no_presence": "Nunca se conectó", "agents.active": "Conversaciones", "agents.capacity": "Límite propio",
    "agents.campaign_cap": "El de cada campaña", "agents.set_capacity": "Cambiar límite", "agents.capacity_title": "Límite de conversaciones de {name}",
    "agents.capacity_hint": "De 1 a 100. Vacío: se usa el máximo por agente de cada campaña",
    "status.online": "En línea", "status.busy": "Ocupado", "status.break": "En pausa", "status.offline": "Desconectado",
    "settings.title": "Configuración del centro de contacto", "settings.break_types": "Tipos de pausa",
    "settings.break_types_hint": "Uno por línea; los agentes eligen uno al pausar", "settings.time_zone": "Zona horaria",
    "settings.time_zone_hint": "Zona IANA (por ejemplo America/Argentina/Buenos_Aires): define el día de los contadores diarios",
    "bots.title": "Bots", "bots.caption": "Bots de la cuenta", "bots.none": "No hay bots. Subí una definición abajo.",
    "bots.id": "Id", "bots.name": "Nombre", "bots.active_version": "Versión activa", "bots.version_n": "v{version}",
    "bots.inactive": "Inactivo", "bots.latest": "Última versión", "bots.channels": "Canales", "bots.all_channels": "todos",
    "bots.updated": "Actualizado", "bots.versions": "Versiones", "bots.versions_of": "Versiones de {bot}",
    "bots.versions_caption": "Versiones, de la más nueva a la más vieja", "bots.version": "Versión", "bots.created": "Creada",
    "bots.created_by": "Por", "bots.checksum": "Suma de control", "bots.state": "Estado", "bots.active": "Activa",
    "bots.activate": "Activar", "bots.activate_version": "Activar la versión {version}", "bots.activated": "Versión {version} de {bot} activada",
    "bots.open": "Abrir en el editor", "bots.open_version": "Abrir la versión {version} en el editor",
    "bots.opened": "Versión {version} de {bot} cargada en el editor", "bots.deactivate": "Desactivar",
    "bots.deactivate_confirm": "¿Desactivar {bot}? Deja de responder en sus canales hasta que actives una versión.",
    "bots.deactivated": "{bot} desactivado", "bots.upload": "Subir una definición",
    "bots.upload_hint": "YAML o JSON. Hay un ejemplo completo en el repositorio: examples/bots/banco_demo.yaml. El id del bot sale de la definición; subir el mismo texto otra vez no crea una versión nueva.",
    "bots.file": "Archivo", "bots.file_hint": ".yaml, .yml o .json", "bots.format": "Formato", "bots.source": "Definición",
    "bots.source_hint": "Los errores indican la línea; el botón de cada error lleva el cursor ahí",
    "bots.activate_on_publish": "Activar al publicar (empieza a responder enseguida)",
    "bots.validate": "Validar", "bots.publish": "Publicar", "bots.empty_source": "Escribí o cargá una definición primero",
    "bots.valid": "Definición válida: bot {bot}, {flows} flujos, {nodes} nodos, {intents} intenciones",
    "bots.published": "Publicada la versión {version} de {bot} (sin activar)", "bots.published_active": "Publicada y activa la versión {version} de {bot}",
    "bots.published_toast": "{bot}: versión {version} publicada", "bots.loaded": "Archivo {name} cargado",
    "bots.read_failed": "No se pudo leer el archivo {name}", "bots.go_to_line": "Ir a la línea {line}",
    "workflows.title": "Automatizaciones", "workflows.caption": "Automatizaciones de la cuenta",
    "workflows.none": "No hay automatizaciones. Creá una desde una plantilla.", "workflows.name": "Nombre", "workflows.id": "Id",
    "workflows.trigger": "Disparador", "workflows.state": "Estado", "workflows.on": "Habilitada", "workflows.off": "Deshabilitada",
    "workflows.version": "Versión", "workflows.template": "Plantilla", "workflows.updated": "Actualizada",
    "workflows.view": "Ver", "workflows.enable": "Habilitar", "workflows.disable": "Deshabilitar",
    "workflows.enabled_toast": "{name} habilitada", "workflows.disabled_toast": "{name} deshabilitada (las ejecuciones en curso terminan)",
    "workflows.delete": "Eliminar", "workflows.delete_confirm": "¿Eliminar la automatización {name}?", "workflows.deleted": "{name} eliminada",
    "workflows.hook_url": "URL del webhook entrante", "workflows.hook_hint": "Mantenela en secreto: quien la tenga puede disparar la automatización",
    "workflows.definition": "Definición", "workflows.executions": "Ejecuciones", "workflows.executions_caption": "Ejecuciones, de la más nueva a la más vieja",
    "workflows.no_executions": "Todavía no se ejecutó.", "workflows.execution_id": "Ejecución", "workflows.status": "Estado",
    "workflows.contact": "Contacto", "workflows.conversation": "Conversación", "workflows.started": "Inicio", "workflows.ended": "Fin",
    "workflows.error": "Error", "workflows.view_steps": "Ver pasos", "workflows.view_steps_of": "Ver los pasos de la ejecución {id}",
    "workflows.execution": "Ejecución {id}", "workflows.at_step": "Paso actual", "workflows.steps_run": "Pasos ejecutados",
    "workflows.waiting_for": "Esperando", "workflows.vars": "Variables", "workflows.steps": "Pasos", "workflows.no_steps": "Sin pasos registrados.",
    "workflows.step": "Paso", "workflows.type": "Tipo", "workflows.input": "Entrada", "workflows.output": "Salida", "workflows.next": "Siguiente",
    "workflows.time": "Hora", "workflows.input_of": "Entrada del paso {step}", "workflows.output_of": "Salida del paso {step}",
    "workflows.from_template": "Nueva desde una plantilla",
    "workflows.from_template_hint": "Las plantillas vienen listas en español. Se crean deshabilitadas salvo que marques «Habilitar ya».",
    "workflows.template_trigger": "Disparador: {trigger}", "workflows.template_definition": "Ver la definición de la plantilla",
    "workflows.enable_now": "Habilitar ya", "workflows.overrides": "Cambios sobre la plantilla (JSON, opcional)",
    "workflows.overrides_hint": "Se combinan con la plantilla, por ejemplo {\"name\": \"Encuesta\", \"trigger\": {\"campaign_ids\": [\"ventas\"]}}",
    "workflows.create": "Crear", "workflows.created": "Automatización {name} creada", "workflows.no_templates": "No hay plantillas.",
    "workflows.bad_json": "Los cambios no son JSON válido: {reason}", "workflows.not_object": "Los cambios deben ser un objeto JSON ({…})",
    "exec.running": "En curso", "exec.waiting": "Esperando", "exec.completed": "Completada", "exec.failed": "Falló",
    "exec.cancelled": "Cancelada", "exec.started": "Iniciado", "exec.done": "Hecho",
  },
  en: {
    "nav.channels": "Channels", "nav.team": "Team", "nav.bots": "Bots", "nav.workflows": "Workflows",
    "admin.actions": "Actions", "admin.copy": "Copy", "admin.copied": "Copied to the clipboard",
    "admin.copy_manually": "Could not copy: the text is selected, copy it with Ctrl+C",
    "admin.line": "line {line}", "admin.column": "column {column}", "common.edit": "Edit",
    "kind.whatsapp": "WhatsApp", "kind.telegram": "Telegram", "kind.messenger": "Messenger", "kind.instagram": "Instagram",
    "kind.sms": "SMS", "kind.webchat": "Web chat", "kind.email": "Email",
    "channels.none": "This account has no channels yet.", "channels.enabled": "Enabled", "channels.disabled": "Disabled",
    "channels.id": "Id", "channels.kind": "Kind", "channels.number": "Number or name", "channels.provider_id": "Provider id",
    "channels.handle": "Public username", "channels.webhook": "Webhook URL",
    "channels.verify.meta": "Verify token: not shown here. It was returned once when the channel was connected (the platform API's answer) and is stored in Secrets Manager, secret <SECRET_PREFIX>/{tenant}/<channel id> (omnichannel/channels/… by default), field verify_token. In the Meta app: callback URL = the webhook URL, verify token = that value.",
    "channels.verify.telegram": "Telegram: the platform registered this webhook with setWebhook and a secret_token when the channel was connected; nothing to paste. The secret_token is in Secrets Manager (<SECRET_PREFIX>/{tenant}/<channel id>).",
    "channels.verify.sms": "SMS (Twilio): paste this URL as the number's incoming-message webhook. Twilio signs with the Auth Token; there is no verify token.",
    "channels.verify.webchat": "Web chat: the widget uses this address by itself; the embed code for the site was returned when the channel was connected.",
    "channels.verify.email": "Email: mail arrives through SES; the DNS records (DKIM and MX) were returned when the channel was connected.",
    "channels.health": "Account health", "channels.health.check": "Check health", "channels.health.quality": "Quality (last event)",
    "channels.health.limit": "Messaging tier", "channels.health.daily": "Daily limit", "channels.health.unknown": "Unlimited or unknown",
    "channels.health.mps": "Messages per second", "channels.health.account": "Account event", "channels.health.restricted": "Account restricted",
    "channels.health.updated": "Updated", "channels.health.never": "No news from Meta", "channels.health.templates": "Templates by status",
    "channels.health.low_quality": "Low-quality templates", "channels.health.recat": "Recategorization risk",
    "channels.health.events": "Latest health events", "channels.health.no_events": "No health events",
    "channels.health.at": "When", "channels.health.severity": "Severity", "channels.health.field": "Field", "channels.health.summary": "Summary",
    "channels.link": "Click-to-chat link", "channels.link.open": "Open the link in a new tab",
    "channels.link.text": "Prefilled message (optional)", "channels.link.text_hint": "WhatsApp and SMS: the customer sees it typed when the chat opens",
    "channels.qr": "QR code", "channels.qr.alt": "QR code to chat with {name}", "channels.qr.download": "Download (SVG)",
    "channels.menu": "Publish the bot's menu", "channels.menu.done": "Menu of bot {bot} (version {version}) published: {n} items",
    "channels.connect": "Connect a channel",
    "channels.connect.intro": "Channels cannot be connected from the console: the account API (/v1) has no such operation. The platform operator does it with the operator key, in the platform API:",
    "channels.connect.caption": "Platform API operations (operator key)",
    "channels.connect.endpoint": "Operation", "channels.connect.required": "Required fields", "channels.connect.optional": "Optional fields",
    "channels.connect.after": "The answer carries the webhook URL and the verify token (shown once). The channel then appears in this list.",
    "team.supervisor_note": "As a supervisor you can see campaigns and settings, manage agents and supervisors, and set each agent's capacity. Creating or editing campaigns and changing settings is an admin's job.",
    "campaigns.title": "Campaigns", "campaigns.caption": "Campaigns (teams) and their queues", "campaigns.none": "No campaigns yet.",
    "campaigns.new": "New campaign", "campaigns.new_title": "New campaign", "campaigns.edit_title": "Edit campaign {name}",
    "campaigns.id": "Id", "campaigns.id_hint": "Lowercase letters, digits, - and _ (up to 40); cannot be changed later",
    "campaigns.id_fixed": "A campaign's id does not change", "campaigns.name": "Name", "campaigns.skills": "Skills",
    "campaigns.skills_hint": "Comma-separated: bot handoffs and workflows pick the campaign by them",
    "campaigns.members": "Members", "campaigns.strategy": "Assignment strategy", "campaigns.max_per_agent": "Max per agent",
    "campaigns.max_per_agent_hint": "Concurrent conversations per agent (1 to 100)",
    "campaigns.sla_threshold_s": "Service level threshold (s)", "campaigns.sla_hint": "Answered within these seconds counts as within service level",
    "campaigns.abandon_threshold_s": "Abandon threshold (s)", "campaigns.abandon_hint": "Leaving the queue unanswered after this wait is an abandon",
    "campaigns.fallback": "Fallback campaign", "campaigns.fallback_hint": "Takes handoffs no campaign's skills match (one per account)",
    "campaigns.fallback_badge": "Fallback", "campaigns.enabled": "Enabled", "campaigns.enabled_hint": "Disabled: gets no conversations and keeps its data",
    "campaigns.state": "State", "campaigns.on": "Enabled", "campaigns.off": "Disabled",
    "campaigns.snippets": "Canned responses", "campaigns.snippets_hint": "Texts agents insert by their key.",
    "campaigns.snippet": "Canned response", "campaigns.snippet.key": "Key", "campaigns.snippet.key_hint": "Lowercase letters, digits, - and _",
    "campaigns.snippet.title": "Title", "campaigns.snippet.text": "Text",
    "campaigns.snippet.text_hint": "Variables: {{contact.name}}, {{contact.fields.x}}, {{agent.name}}, {{campaign.name}}",
    "campaigns.snippet.add": "Add a canned response", "campaigns.snippet.remove": "Remove this canned response",
    "campaigns.kept": "The schedule, the automatic messages and the rest of the campaign's settings are kept as they are.",
    "campaigns.unknown_member": "{id} (user no longer exists)", "campaigns.no_users": "No users.",
    "campaigns.saved": "Campaign {name} saved",
    "strategy.least_busy": "Least busy", "strategy.round_robin": "Round robin", "strategy.sticky_owner": "Contact's owner",
    "users.title": "People", "users.caption": "The account's users", "users.none": "No users.",
    "users.invite": "Invite", "users.invite_submit": "Send invitation", "users.invited": "Invitation sent to {email}",
    "users.email": "Email", "users.email_hint": "Gets a temporary password by email", "users.name": "Name", "users.role": "Role",
    "users.access": "Access", "users.active": "Enabled", "users.disabled": "Disabled", "users.status": "Account status",
    "users.created": "Created", "users.edit_title": "Edit {name}", "users.enabled": "Can sign in",
    "users.enabled_hint": "Unchecked: cannot sign in or refresh their session",
    "users.reset": "Reset password", "users.reset_submit": "Reset",
    "users.reset_confirm": "{email} will get an email to choose a new password (or a new invitation if they never signed in).",
    "users.reset.password_reset": "A password reset code was sent to {email}",
    "users.reset.invitation_resent": "{email} never signed in: the invitation was sent again",
    "users.delete": "Delete", "users.delete_submit": "Delete for good",
    "users.delete_confirm": "Delete {email}? They will not be able to sign in again.", "users.deleted": "{email} was deleted",
    "users.status.FORCE_CHANGE_PASSWORD": "Invited (not signed in yet)", "users.status.CONFIRMED": "Confirmed",
    "users.status.RESET_REQUIRED": "Must reset the password",
    "agents.title": "Presence and capacity", "agents.caption": "Each person's status and conversation limit",
    "agents.none": "No agents.", "agents.name": "Name", "agents.status": "Status", "agents.since": "Since",
    "agents.no_presence": "Never connected", "agents.active": "Conversations", "agents.capacity": "Own limit",
    "agents.campaign_cap": "Each campaign's", "agents.set_capacity": "Change limit", "agents.capacity_title": "Conversation limit of {name}",
    "agents.capacity_hint": "1 to 100. Empty: each campaign's max per agent applies",
    "status.online": "Online", "status.busy": "Busy", "status.break": "On break", "status.offline": "Offline",
    "settings.title": "Contact center settings", "settings.break_types": "Break types",
    "settings.break_types_hint": "One per line; agents pick one when they take a break", "settings.time_zone": "Time zone",
    "settings.time_zone_hint": "IANA zone (e.g. America/Argentina/Buenos_Aires): sets the day of the daily counters",
    "bots.title": "Bots", "bots.caption": "The account's bots", "bots.none": "No bots. Upload a definition below.",
    "bots.id": "Id", "bots.name": "Name", "bots.active_version": "Active version", "bots.version_n": "v{version}",
    "bots.inactive": "Inactive", "bots.latest": "Latest version", "bots.channels": "Channels", "bots.all_channels": "all",
    "bots.updated": "Updated", "bots.versions": "Versions", "bots.versions_of": "Versions of {bot}",
    "bots.versions_caption": "Versions, newest first", "bots.version": "Version", "bots.created": "Created",
    "bots.created_by": "By", "bots.checksum": "Checksum", "bots.state": "State", "bots.active": "Active",
    "bots.activate": "Activate", "bots.activate_version": "Activate version {version}", "bots.activated": "Version {version} of {bot} activated",
    "bots.open": "Open in the editor", "bots.open_version": "Open version {version} in the editor",
    "bots.opened": "Version {version} of {bot} loaded in the editor", "bots.deactivate": "Deactivate",
    "bots.deactivate_confirm": "Deactivate {bot}? It stops answering on its channels until you activate a version.",
    "bots.deactivated": "{bot} deactivated", "bots.upload": "Upload a definition",
    "bots.upload_hint": "YAML or JSON. There is a complete example in the repository: examples/bots/banco_demo.yaml. The bot id comes from the definition; uploading the same text again creates no new version.",
    "bots.file": "File", "bots.file_hint": ".yaml, .yml or .json", "bots.format": "Format", "bots.source": "Definition",
    "bots.source_hint": "Errors name the line; each error's button moves the cursor there",
    "bots.activate_on_publish": "Activate on publish (starts answering at once)",
    "bots.validate": "Validate", "bots.publish": "Publish", "bots.empty_source": "Type or load a definition first",
    "bots.valid": "Valid definition: bot {bot}, {flows} flows, {nodes} nodes, {intents} intents",
    "bots.published": "Version {version} of {bot} published (not activated)", "bots.published_active": "Version {version} of {bot} published and active",
    "bots.published_toast": "{bot}: version {version} published", "bots.loaded": "File {name} loaded",
    "bots.read_failed": "Could not read the file {name}", "bots.go_to_line": "Go to line {line}",
    "workflows.title": "Workflows", "workflows.caption": "The account's workflows",
    "workflows.none": "No workflows. Create one from a template.", "workflows.name": "Name", "workflows.id": "Id",
    "workflows.trigger": "Trigger", "workflows.state": "State", "workflows.on": "Enabled", "workflows.off": "Disabled",
    "workflows.version": "Version", "workflows.template": "Template", "workflows.updated": "Updated",
    "workflows.view": "View", "workflows.enable": "Enable", "workflows.disable": "Disable",
    "workflows.enabled_toast": "{name} enabled", "workflows.disabled_toast": "{name} disabled (running executions finish)",
    "workflows.delete": "Delete", "workflows.delete_confirm": "Delete the workflow {name}?", "workflows.deleted": "{name} deleted",
    "workflows.hook_url": "Incoming webhook URL", "workflows.hook_hint": "Keep it secret: whoever has it can trigger the workflow",
    "workflows.definition": "Definition", "workflows.executions": "Executions", "workflows.executions_caption": "Executions, newest first",
    "workflows.no_executions": "It has not run yet.", "workflows.execution_id": "Execution", "workflows.status": "Status",
    "workflows.contact": "Contact", "workflows.conversation": "Conversation", "workflows.started": "Started", "workflows.ended": "Ended",
    "workflows.error": "Error", "workflows.view_steps": "View steps", "workflows.view_steps_of": "View the steps of execution {id}",
    "workflows.execution": "Execution {id}", "workflows.at_step": "Current step", "workflows.steps_run": "Steps run",
    "workflows.waiting_for": "Waiting for", "workflows.vars": "Variables", "workflows.steps": "Steps", "workflows.no_steps": "No steps recorded.",
    "workflows.step": "Step", "workflows.type": "Type", "workflows.input": "Input", "workflows.output": "Output", "workflows.next": "Next",
    "workflows.time": "Time", "workflows.input_of": "Input of step {step}", "workflows.output_of": "Output of step {step}",
    "workflows.from_template": "New from a template",
    "workflows.from_template_hint": "Templates come ready in Spanish. They are created disabled unless you check “Enable now”.",
    "workflows.template_trigger": "Trigger: {trigger}", "workflows.template_definition": "See the template's definition",
    "workflows.enable_now": "Enable now", "workflows.overrides": "Changes over the template (JSON, optional)",
    "workflows.overrides_hint": "Merged over the template, e.g. {\"name\": \"Survey\", \"trigger\": {\"campaign_ids\": [\"sales\"]}}",
    "workflows.create": "Create", "workflows.created": "Workflow {name} created", "workflows.no_templates": "No templates.",
    "workflows.bad_json": "The changes are not valid JSON: {reason}", "workflows.not_object": "The changes must be a JSON object ({…})",
    "exec.running": "Running", "exec.waiting": "Waiting", "exec.completed": "Completed", "exec.failed": "Failed",
    "exec.cancelled": "Cancelled", "exec.started": "Started", "exec.done": "Done",
  },
});
