// Supervisors' screens: live monitoring of a campaign (KPIs, agents, the waiting queue, the silent "spy" view,
// actions on agents) and transcripts ("grabaciones": search, read, print, export).
//
// Everything the API returns is shown as text (h() builds text nodes, never HTML). The spy panel only reads:
// it never marks anything read and never writes (GET /v1/agents/{id}/conversations is the silent view).

import {
  addStrings, api, attempt, clear, dialog, errorText, field, fmtDuration, fmtNumber, fmtTime, h, navigate, onPush,
  register, secondsSince, state, t, table, toast, isoDay, keepFocus, kpi, tOr,
} from "./core.js";

// -- strings ---------------------------------------------------------------------------------------------------
addStrings({
  es: {
    "nav.supervisor": "Supervisión", "nav.transcripts": "Grabaciones",
    "sup.title": "Supervisión en vivo", "sup.campaign": "Campaña", "sup.no_campaigns": "No hay campañas configuradas",
    "sup.updated": "Actualizado {time}", "sup.enabled": "Habilitada", "sup.disabled": "Deshabilitada",
    "sup.open": "Abierta ahora", "sup.closed": "Fuera de horario",
    "sup.kpi.sla": "Nivel de servicio", "sup.kpi.abandon": "Abandono", "sup.kpi.avg_wait": "Espera promedio",
    "sup.kpi.today": "Indicadores de hoy", "sup.kpi.offered": "Ofrecidas hoy", "sup.kpi.answered": "Atendidas hoy",
    "sup.kpi.abandoned": "Abandonadas hoy", "sup.kpi.waiting": "En espera ahora",
    "sup.kpi.agents_online": "Agentes conectados",
    "sup.kpi.sla_hint": "Atendidas dentro del umbral sobre atendidas + abandonadas",
    "sup.kpi.more": "Hoy ({day}): desbordadas {overflowed} · fuera de horario {out_of_hours} · completadas {completed} · transferidas {transferred_out} · abandonos cortos {short_abandoned}",
    "sup.agents": "Agentes", "sup.col.agent": "Agente", "sup.col.status": "Estado", "sup.col.in_status": "Tiempo en estado",
    "sup.col.active": "Activas / límite", "sup.col.completed_in": "Completadas entrantes",
    "sup.col.completed_out": "Completadas salientes", "sup.col.actions": "Acciones",
    "sup.status.online": "Disponible", "sup.status.busy": "Ocupado", "sup.status.break": "En pausa",
    "sup.status.offline": "Desconectado",
    "sup.spy": "Espiar", "sup.pause": "Pausar", "sup.message": "Mensaje", "sup.logout": "Cerrar sesión",
    "sup.spy_label": "Espiar las conversaciones de {name}", "sup.pause_label": "Pausar a {name}",
    "sup.message_label": "Enviar un mensaje a {name}", "sup.logout_label": "Cerrar la sesión de {name}",
    "sup.pause_title": "Pausar a {name}", "sup.break_type": "Tipo de pausa",
    "sup.pause_hint": "La pausa de supervisor avisa al agente; con otro tipo solo cambia su estado. Mientras está en pausa conserva sus conversaciones pero no recibe nuevas.",
    "sup.paused": "{name} quedó en pausa",
    "sup.message_title": "Mensaje para {name}", "sup.message_text": "Mensaje",
    "sup.message_hint": "Le aparece al agente en su consola (hasta 2000 caracteres).", "sup.send": "Enviar",
    "sup.message_sent": "Mensaje enviado a {name}",
    "sup.logout_title": "¿Cerrar la sesión de {name}?",
    "sup.logout_body": "El agente queda desconectado y se cierran sus conexiones. Sus conversaciones vuelven a la fila según la configuración de cada campaña.",
    "sup.logged_out": "Se cerró la sesión de {name}",
    "sup.waiting": "Clientes en espera", "sup.col.position": "Posición", "sup.col.channel": "Canal",
    "sup.col.contact": "Contacto", "sup.col.priority": "Prioridad", "sup.col.wait": "Espera",
    "sup.col.reason": "Motivo / resumen", "sup.col.window": "Ventana de 24 h cierra",
    "sup.priority.high": "Alta", "sup.priority.normal": "Normal", "sup.priority.low": "Baja",
    "sup.reason.handoff": "Derivada por el bot", "sup.reason.transfer": "Transferencia", "sup.reason.requeue": "Reencolada",
    "sup.reason.out_of_hours": "Fuera de horario", "sup.reason.reopen": "Reabierta",
    "sup.reason.agent_offline": "Su agente se desconectó", "sup.reason.workflow": "Derivada por una automatización", "sup.reason.acd_full": "Fila llena", "sup.window_closed": "cerrada",
    "sup.assign": "Asignar", "sup.assign_label": "Asignar la conversación de {contact} a un agente",
    "sup.assign_title": "Asignar la conversación de {contact}", "sup.assign_agent": "Agente",
    "sup.assign_members": "Agentes de la campaña", "sup.assign_others": "Otros usuarios conectados",
    "sup.assign_hint": "Solo agentes disponibles y con lugar (por debajo de su límite).",
    "sup.assign_none": "Ahora no hay agentes disponibles con lugar.", "sup.assign_option": "{name} · {status} · {active}/{cap}",
    "sup.assigned": "Conversación asignada a {name}",
    "sup.no_waiting": "No hay clientes esperando", "sup.no_agents": "La campaña no tiene agentes",
    "sup.long_chats": "Chats largos", "sup.long_chats_hint": "Conversaciones atendidas por más tiempo que el máximo de la campaña.",
    "sup.view_transcript": "Ver transcripción", "sup.view_transcript_label": "Ver la transcripción de {id}",
    "sup.spy_title": "Vista silenciosa: {name}",
    "sup.spy_note": "Vista silenciosa: solo lectura. El cliente no recibe confirmación de lectura y el agente no es notificado.",
    "sup.spy_none": "El agente no tiene conversaciones activas.", "sup.spy_close": "Cerrar vista",
    "sup.spy_opened": "Abierta {time}", "sup.spy_assigned": "asignada {time}",
    "sup.window_open_until": "ventana abierta hasta {time}", "sup.window_is_closed": "ventana de 24 h cerrada",
    "sup.thread_label": "Mensajes de la conversación con {contact}",
    "msg.customer": "Cliente", "msg.bot": "Bot", "msg.system": "Sistema", "msg.api": "API", "msg.agent": "Agente",
    "msg.status.queued": "en cola", "msg.status.accepted": "aceptado", "msg.status.sent": "enviado", "msg.status.delivered": "entregado",
    "msg.status.read": "leído", "msg.status.failed": "falló", "msg.attachment": "Ver adjunto",
    "tr.title": "Grabaciones", "tr.filters": "Buscar conversaciones", "tr.from": "Desde", "tr.to": "Hasta",
    "tr.campaign": "Campaña", "tr.agent": "Agente", "tr.channel": "Canal", "tr.contact": "Contacto",
    "tr.contact_hint": "Teléfono, correo o id del contacto (ct_…)", "tr.direction": "Iniciada por",
    "tr.direction.in": "El cliente", "tr.direction.out": "La empresa", "tr.any": "Todas", "tr.anyone": "Todos",
    "tr.page_size": "Resultados por página", "tr.export_csv": "Exportar CSV (esta página)",
    "tr.results": "Conversaciones encontradas", "tr.none": "No hay conversaciones con esos filtros",
    "tr.contact_not_found": "No se encontró un contacto con ese teléfono o correo",
    "tr.col.opened": "Abierta", "tr.col.closed": "Cerrada", "tr.col.channel": "Canal", "tr.col.contact": "Contacto",
    "tr.col.campaign": "Campaña", "tr.col.agents": "Agentes", "tr.col.status": "Estado", "tr.col.closing": "Cierre",
    "tr.col.actions": "Acciones", "tr.open": "Ver", "tr.open_label": "Ver la transcripción de {contact} del {time}",
    "tr.status.open": "Abierta", "tr.status.closed": "Cerrada",
    "tr.prev": "Anterior", "tr.next": "Siguiente", "tr.page": "Página {n}",
    "tr.back": "Volver a los resultados", "tr.print": "Imprimir", "tr.download_csv": "Descargar CSV",
    "tr.download_html": "Descargar HTML",
    "tr.heading": "Transcripción de la conversación", "tr.conversation": "Conversación", "tr.channel_l": "Canal",
    "tr.contact_l": "Contacto", "tr.campaign_l": "Campaña", "tr.agents_l": "Agentes", "tr.status_l": "Estado",
    "tr.opened_l": "Abierta", "tr.closed_l": "Cerrada", "tr.origin_l": "Iniciada por", "tr.closing_l": "Nota de cierre",
    "tr.entries": "Mensajes, notas y eventos", "tr.no_entries": "La conversación no tiene mensajes",
    "tr.note": "Nota interna", "tr.error": "Error: {error}", "tr.invalid_range": "La fecha «hasta» es anterior a «desde»",
  },
  en: {
    "nav.supervisor": "Supervision", "nav.transcripts": "Transcripts",
    "sup.title": "Live supervision", "sup.campaign": "Campaign", "sup.no_campaigns": "There are no campaigns yet",
    "sup.updated": "Updated {time}", "sup.enabled": "Enabled", "sup.disabled": "Disabled",
    "sup.open": "Open now", "sup.closed": "Out of hours",
    "sup.kpi.sla": "Service level", "sup.kpi.abandon": "Abandonment", "sup.kpi.avg_wait": "Average wait",
    "sup.kpi.today": "Today's indicators", "sup.kpi.offered": "Offered today", "sup.kpi.answered": "Answered today",
    "sup.kpi.abandoned": "Abandoned today", "sup.kpi.waiting": "Waiting now",
    "sup.kpi.agents_online": "Agents online",
    "sup.kpi.sla_hint": "Answered within the threshold over answered + abandoned",
    "sup.kpi.more": "Today ({day}): overflowed {overflowed} · out of hours {out_of_hours} · completed {completed} · transferred {transferred_out} · short abandons {short_abandoned}",
    "sup.agents": "Agents", "sup.col.agent": "Agent", "sup.col.status": "Status", "sup.col.in_status": "Time in status",
    "sup.col.active": "Active / cap", "sup.col.completed_in": "Completed inbound",
    "sup.col.completed_out": "Completed outbound", "sup.col.actions": "Actions",
    "sup.status.online": "Online", "sup.status.busy": "Busy", "sup.status.break": "On break",
    "sup.status.offline": "Offline",
    "sup.spy": "Spy", "sup.pause": "Pause", "sup.message": "Message", "sup.logout": "Log out",
    "sup.spy_label": "Watch {name}'s conversations", "sup.pause_label": "Pause {name}",
    "sup.message_label": "Send {name} a message", "sup.logout_label": "Log {name} out",
    "sup.pause_title": "Pause {name}", "sup.break_type": "Break type",
    "sup.pause_hint": "The supervisor pause notifies the agent; any other type only changes their status. On a break they keep their conversations but get no new ones.",
    "sup.paused": "{name} is now on a break",
    "sup.message_title": "Message for {name}", "sup.message_text": "Message",
    "sup.message_hint": "Shown to the agent in their console (up to 2000 characters).", "sup.send": "Send",
    "sup.message_sent": "Message sent to {name}",
    "sup.logout_title": "Log {name} out?",
    "sup.logout_body": "The agent goes offline and their connections close. Their conversations go back to the queue as each campaign is configured.",
    "sup.logged_out": "{name} was logged out",
    "sup.waiting": "Customers waiting", "sup.col.position": "Position", "sup.col.channel": "Channel",
    "sup.col.contact": "Contact", "sup.col.priority": "Priority", "sup.col.wait": "Wait",
    "sup.col.reason": "Reason / summary", "sup.col.window": "24-hour window closes",
    "sup.priority.high": "High", "sup.priority.normal": "Normal", "sup.priority.low": "Low",
    "sup.reason.handoff": "Handed off by the bot", "sup.reason.transfer": "Transfer", "sup.reason.requeue": "Requeued",
    "sup.reason.out_of_hours": "Out of hours", "sup.reason.reopen": "Reopened",
    "sup.reason.agent_offline": "Their agent went offline", "sup.reason.workflow": "Routed by a workflow", "sup.reason.acd_full": "Queue was full", "sup.window_closed": "closed",
    "sup.assign": "Assign", "sup.assign_label": "Assign {contact}'s conversation to an agent",
    "sup.assign_title": "Assign {contact}'s conversation", "sup.assign_agent": "Agent",
    "sup.assign_members": "Campaign agents", "sup.assign_others": "Other online users",
    "sup.assign_hint": "Only online agents with room (below their limit).",
    "sup.assign_none": "No online agent has room right now.", "sup.assign_option": "{name} · {status} · {active}/{cap}",
    "sup.assigned": "Conversation assigned to {name}",
    "sup.no_waiting": "Nobody is waiting", "sup.no_agents": "The campaign has no agents",
    "sup.long_chats": "Long chats", "sup.long_chats_hint": "Conversations held longer than the campaign's maximum.",
    "sup.view_transcript": "View transcript", "sup.view_transcript_label": "View the transcript of {id}",
    "sup.spy_title": "Silent view: {name}",
    "sup.spy_note": "Silent view: read only. The customer gets no read receipt and the agent is not notified.",
    "sup.spy_none": "The agent holds no conversations.", "sup.spy_close": "Close view",
    "sup.spy_opened": "Opened {time}", "sup.spy_assigned": "assigned {time}",
    "sup.window_open_until": "window open until {time}", "sup.window_is_closed": "24-hour window closed",
    "sup.thread_label": "Messages of the conversation with {contact}",
    "msg.customer": "Customer", "msg.bot": "Bot", "msg.system": "System", "msg.api": "API", "msg.agent": "Agent",
    "msg.status.queued": "queued", "msg.status.accepted": "accepted", "msg.status.sent": "sent", "msg.status.delivered": "delivered",
    "msg.status.read": "read", "msg.status.failed": "failed", "msg.attachment": "Open attachment",
    "tr.title": "Transcripts", "tr.filters": "Search conversations", "tr.from": "From", "tr.to": "To",
    "tr.campaign": "Campaign", "tr.agent": "Agent", "tr.channel": "Channel", "tr.contact": "Contact",
    "tr.contact_hint": "The contact's phone, email or id (ct_…)", "tr.direction": "Started by",
    "tr.direction.in": "The customer", "tr.direction.out": "The business", "tr.any": "All", "tr.anyone": "Anyone",
    "tr.page_size": "Results per page", "tr.export_csv": "Export CSV (this page)",
    "tr.results": "Conversations found", "tr.none": "No conversation matches these filters",
    "tr.contact_not_found": "No contact has that phone or email",
    "tr.col.opened": "Opened", "tr.col.closed": "Closed", "tr.col.channel": "Channel", "tr.col.contact": "Contact",
    "tr.col.campaign": "Campaign", "tr.col.agents": "Agents", "tr.col.status": "Status", "tr.col.closing": "Closing",
    "tr.col.actions": "Actions", "tr.open": "View", "tr.open_label": "View the transcript of {contact} from {time}",
    "tr.status.open": "Open", "tr.status.closed": "Closed",
    "tr.prev": "Previous", "tr.next": "Next", "tr.page": "Page {n}",
    "tr.back": "Back to the results", "tr.print": "Print", "tr.download_csv": "Download CSV",
    "tr.download_html": "Download HTML",
    "tr.heading": "Conversation transcript", "tr.conversation": "Conversation", "tr.channel_l": "Channel",
    "tr.contact_l": "Contact", "tr.campaign_l": "Campaign", "tr.agents_l": "Agents", "tr.status_l": "Status",
    "tr.opened_l": "Opened", "tr.closed_l": "Closed", "tr.origin_l": "Started by", "tr.closing_l": "Closing note",
    "tr.entries": "Messages, notes and events", "tr.no_entries": "The conversation has no messages",
    "tr.note": "Internal note", "tr.error": "Error: {error}", "tr.invalid_range": "The “to” date is before “from”",
  },
});

// -- shared helpers --------------------------------------------------------------------------------------------
const LIVE_EVENTS = new Set(["ConversationQueued", "ConversationAssigned", "ConversationUnassigned",
  "ConversationClosed", "ConversationOverflowed", "AgentStatusChanged", "AgentNotified"]);
const SPY_EVENTS = new Set(["RoutedMessageReceived", "ConversationAssigned", "ConversationUnassigned",
  "ConversationClosed", "ConversationReopened", "ConversationNoteAdded"]);
const PAUSE_TYPE = "pausa_supervisor"; // what POST /v1/agents/{id}/pause uses when the tenant has it
const NEVER = Date.UTC(2000, 0, 1); // presences never set carry `since` = the epoch

function pct(value) { return value === null || value === undefined ? "—" : `${fmtNumber(value, 1)} %`; }
function label(text) { return String(text || "").replace(/_/g, " "); }

const users = new Map(); // user_id -> display name (GET /v1/users), shared by both views
async function loadUsers() {
  try {
    const { items } = await api("GET", "/v1/users");
    for (const u of items || []) users.set(u.user_id, u.name || u.email || u.user_id);
  } catch { /* names are a nicety: ids are shown instead */ }
}
function userName(id, given) { return given || users.get(id) || id; }

const contacts = new Map(); // contact_id -> name (or null while loading / unknown)
function contactName(id, fallback) {
  if (!id) return h("span", {}, fallback || "—");
  const el = h("span", { "data-contact-name": id }, contacts.get(id) || fallback || id);
  if (!contacts.has(id)) {
    contacts.set(id, null);
    api("GET", `/v1/contacts/${encodeURIComponent(id)}`).then((c) => {
      const name = c && c.name ? c.name : null;
      contacts.set(id, name);
      if (name) for (const node of document.querySelectorAll(`[data-contact-name="${CSS.escape(id)}"]`)) node.textContent = name;
    }).catch(() => { /* keep the id */ });
  }
  return el;
}

function statusBadge(status, breakType) {
  return h("span", {},
    h("span", { class: `badge ${status}`, "data-status": status }, tOr(`sup.status.${status}`, status)),
    breakType ? ` · ${label(breakType)}` : null);
}

function originLabel(origin) {
  if (!origin) return t("msg.api");
  if (origin === "bot" || origin.startsWith("bot:")) return t("msg.bot");
  if (origin === "system" || origin === "auto_reply") return t("msg.system");
  if (origin.startsWith("user:")) return users.get(origin.slice(5)) || t("msg.agent");
  if (origin.startsWith("desk:")) return origin.slice(5);
  return t("msg.api");
}

function mediaLink(media) {
  if (!media) return null;
  const caption = media.caption || media.filename || null;
  const url = typeof media.url === "string" && /^https:\/\//.test(media.url) ? media.url : null;
  return [caption ? h("span", {}, caption) : null,
    url ? h("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, t("msg.attachment")) : null];
}

// One message bubble (`.msg.in` / `.msg.out`): text, media, and a meta line (author · time · status).
function bubble({ direction, text, type, media, at, author, status, error, id }) {
  const parts = [author, fmtTime(at), status ? tOr(`msg.status.${status}`, status) : null].filter(Boolean);
  const body = text || (media ? null : `[${type}]`);
  return h("div", { class: `msg ${direction === "out" ? "out" : "in"}`, "data-direction": direction || "in",
    "data-message-id": id || null },
  body, media ? h("span", { class: "meta" }, `[${type}] `, mediaLink(media)) : null,
  error ? h("span", { class: "meta error" }, t("tr.error", { error })) : null,
  h("span", { class: "meta" }, parts.join(" · ")));
}



function fmtFull(iso) {
  return iso ? new Date(iso).toLocaleString(state.lang === "es" ? "es-AR" : "en-US", { dateStyle: "medium", timeStyle: "medium" }) : "—";
}

// Multi-line text (the bot's summary) as lines: text nodes with <br> between them.
function lines(text) {
  return String(text || "").split("\n").flatMap((line, i) => (i ? [h("br"), line] : [line]));
}

// -- the supervisor view ---------------------------------------------------------------------------------------
register("supervisor", {
  label: "nav.supervisor", roles: ["supervisor", "admin"], section: "main",
  async render(root, params) {
    const page = h("div", { "data-testid": "supervisor" }, h("p", {}, t("common.loading")));
    root.append(page);
    const [campaignList, settings] = await Promise.all([
      api("GET", "/v1/campaigns"),
      api("GET", "/v1/contact-center/settings").catch(() => ({ break_types: [PAUSE_TYPE] })),
      users.size ? null : loadUsers(),
    ]);
    const campaigns = (campaignList && campaignList.items) || [];
    if (!campaigns.length) {
      clear(page, h("h1", {}, t("sup.title")), h("p", { class: "empty" }, t("sup.no_campaigns")));
      return null;
    }
    const remembered = localStorage.getItem("console.supervisor.campaign");
    const campaignId = [params.campaign, remembered].find((id) => id && campaigns.some((c) => c.campaign_id === id))
      || campaigns[0].campaign_id;
    localStorage.setItem("console.supervisor.campaign", campaignId);
    const breakTypes = (settings && settings.break_types) || [PAUSE_TYPE];

    let live = null, loadError = null, loadedAt = Date.now(), updates = 0, disposed = false;
    let loading = false, again = false, debounce = null;
    let spied = null, spyData = null, spyJson = "", spyUpdates = 0, spyTimer = null, spyDebounce = null;

    // -- layout ------------------------------------------------------------------------------------------------
    const select = h("select", { "data-testid": "campaign-select", onchange: () => navigate("supervisor", { campaign: select.value }) },
      campaigns.map((c) => h("option", { value: c.campaign_id }, c.name || c.campaign_id)));
    select.value = campaignId;
    const flags = h("div", { class: "row", "data-testid": "campaign-flags" });
    const updatedText = h("span", { class: "hint", role: "status", "data-testid": "live-updated" });
    const header = h("div", { class: "row no-print" },
      h("h1", {}, t("sup.title")), h("span", { class: "spacer" }),
      field(t("sup.campaign"), select), flags, updatedText,
      h("button", { type: "button", onclick: () => reload(), "data-testid": "live-refresh" }, t("common.refresh")));
    const errorBox = h("div", { role: "alert" });
    const kpis = h("section", { "data-testid": "live-kpis", "aria-label": t("sup.kpi.today") });
    const agentsBox = h("div");
    const spyBox = h("section", { class: "card", "data-testid": "spy-view", "aria-labelledby": "spy-heading", hidden: true });
    const waitingBox = h("div");
    const longBox = h("div");
    clear(page, header, errorBox, kpis,
      h("section", { class: "card", "aria-labelledby": "agents-heading" }, h("h2", { id: "agents-heading" }, t("sup.agents")), agentsBox),
      spyBox,
      h("section", { class: "card", "aria-labelledby": "waiting-heading" }, h("h2", { id: "waiting-heading" }, t("sup.waiting")), waitingBox),
      longBox);

    // -- live data ---------------------------------------------------------------------------------------------
    async function reload() {
      if (loading) { again = true; return; }
      loading = true;
      try {
        live = await api("GET", `/v1/campaigns/${encodeURIComponent(campaignId)}/live`);
        loadedAt = Date.now();
        loadError = null;
      } catch (err) {
        loadError = err;
      } finally {
        loading = false;
      }
      if (disposed) return;
      renderLive();
      root.dataset.updated = String(++updates);
      if (again) { again = false; reload(); }
    }

    function scheduleReload() {
      clearTimeout(debounce);
      debounce = setTimeout(reload, 300);
    }

    function renderLive() {
      clear(errorBox, loadError ? h("p", { class: "error" }, errorText(loadError)) : null);
      if (!live) return;
      updatedText.textContent = t("sup.updated", { time: new Date(loadedAt).toLocaleTimeString(state.lang === "es" ? "es-AR" : "en-US") });
      clear(flags,
        h("span", { class: `badge ${live.enabled ? "online" : "offline"}`, "data-testid": "campaign-enabled" }, t(live.enabled ? "sup.enabled" : "sup.disabled")),
        h("span", { class: `badge ${live.open_now ? "online" : "break"}`, "data-testid": "campaign-open" }, t(live.open_now ? "sup.open" : "sup.closed")));
      renderKpis();
      keepFocus(agentsBox, renderAgents);
      keepFocus(waitingBox, renderWaiting);
      renderLongChats();
      tick();
    }

    function renderKpis() {
      const s = live.stats || {};
      const online = live.agents.filter((a) => a.status !== "offline").length;
      const avg = s.average_wait_s === null || s.average_wait_s === undefined ? "—" : fmtDuration(s.average_wait_s);
      clear(kpis,
        h("div", { class: "row" },
          kpi(t("sup.kpi.sla"), pct(s.service_level_pct), { key: "service_level", hint: t("sup.kpi.sla_hint") }),
          kpi(t("sup.kpi.abandon"), pct(s.abandon_rate_pct), { key: "abandon_rate" }),
          kpi(t("sup.kpi.avg_wait"), avg, { key: "average_wait" }),
          kpi(t("sup.kpi.offered"), fmtNumber(s.offered || 0), { key: "offered" }),
          kpi(t("sup.kpi.answered"), fmtNumber(s.answered || 0), { key: "answered" }),
          kpi(t("sup.kpi.abandoned"), fmtNumber(s.abandoned || 0), { key: "abandoned" }),
          kpi(t("sup.kpi.waiting"), fmtNumber(live.waiting.length), { key: "waiting" }),
          kpi(t("sup.kpi.agents_online"), `${fmtNumber(online)} / ${fmtNumber(live.agents.length)}`, { key: "agents_online" })),
        h("p", { class: "hint" }, t("sup.kpi.more", {
          day: s.day || "", overflowed: fmtNumber(s.overflowed || 0), out_of_hours: fmtNumber(s.out_of_hours || 0),
          completed: fmtNumber(s.completed || 0), transferred_out: fmtNumber(s.transferred_out || 0),
          short_abandoned: fmtNumber(s.short_abandoned || 0) })));
    }

    // Seconds shown in a ticking cell: the server's count at load time plus what passed since (no clock skew).
    function ticker(seconds, key) {
      return h("span", { "data-tick": String(seconds), "data-focus-key": key }, fmtDuration(seconds));
    }

    function tick() {
      const passed = (Date.now() - loadedAt) / 1000;
      for (const el of page.querySelectorAll("[data-tick]")) el.textContent = fmtDuration(Number(el.dataset.tick) + passed);
    }

    function renderAgents() {
      const rows = live.agents;
      clear(agentsBox, table([
        { label: t("sup.col.agent"), value: (a) => h("span", { "data-col": "name" }, userName(a.user_id, a.name)) },
        { label: t("sup.col.status"), value: (a) => statusBadge(a.status, a.break_type) },
        { label: t("sup.col.in_status"), class: "num", value: (a) => new Date(a.since).getTime() < NEVER ? "—"
          : ticker(a.seconds_in_status ?? secondsSince(a.since), null) },
        { label: t("sup.col.active"), class: "num", value: (a) => h("span", {},
          h("span", { "data-col": "active" }, String(a.active)), ` / ${a.cap}`) },
        { label: t("sup.col.completed_in"), class: "num", value: (a) => h("span", { "data-col": "completed_in" }, String(a.completed_in)) },
        { label: t("sup.col.completed_out"), class: "num", value: (a) => h("span", { "data-col": "completed_out" }, String(a.completed_out)) },
        { label: t("sup.col.actions"), value: (a) => agentActions(a) },
      ], rows, { empty: t("sup.no_agents"), testid: "live-agents",
        rowAttrs: (a) => ({ "data-agent": a.user_id, "data-status": a.status, "aria-current": spied === a.user_id ? "true" : null }) }));
    }

    function agentActions(a) {
      const name = userName(a.user_id, a.name);
      return h("div", { class: "row no-print" },
        h("button", { type: "button", "data-testid": "spy", "data-focus-key": `spy:${a.user_id}`, "aria-label": t("sup.spy_label", { name }),
          "aria-pressed": spied === a.user_id ? "true" : "false", onclick: () => openSpy(a.user_id) }, t("sup.spy")),
        h("button", { type: "button", "data-testid": "pause", "data-focus-key": `pause:${a.user_id}`, "aria-label": t("sup.pause_label", { name }),
          disabled: a.status === "offline", onclick: () => pauseAgent(a) }, t("sup.pause")),
        h("button", { type: "button", "data-testid": "message", "data-focus-key": `message:${a.user_id}`, "aria-label": t("sup.message_label", { name }),
          onclick: () => messageAgent(a) }, t("sup.message")),
        h("button", { type: "button", "data-testid": "logout", "data-focus-key": `logout:${a.user_id}`, "aria-label": t("sup.logout_label", { name }),
          disabled: a.status === "offline", onclick: () => logoutAgent(a) }, t("sup.logout")));
    }

    function renderWaiting() {
      clear(waitingBox, table([
        { label: t("sup.col.position"), class: "num", value: (w) => String(w.position) },
        { label: t("sup.col.channel"), value: (w) => w.channel_id },
        { label: t("sup.col.contact"), value: (w) => contactName(w.contact_id) },
        { label: t("sup.col.priority"), value: (w) => h("span", { class: `badge ${w.priority}` }, tOr(`sup.priority.${w.priority}`, w.priority)) },
        { label: t("sup.col.wait"), class: "num", value: (w) => ticker(w.wait_s ?? secondsSince(w.queued_at), null) },
        { label: t("sup.col.reason"), value: (w) => h("span", {},
          w.reason ? h("strong", {}, tOr(`sup.reason.${w.reason}`, label(w.reason))) : null,
          w.reason && w.summary ? h("br") : null, lines(w.summary)) },
        { label: t("sup.col.window"), value: (w) => !w.window_closes_at ? "—"
          : new Date(w.window_closes_at).getTime() <= Date.now() ? h("span", { class: "badge break" }, t("sup.window_closed"))
            : fmtTime(w.window_closes_at) },
        { label: t("sup.col.actions"), value: (w) => h("button", { type: "button", class: "no-print", "data-testid": "assign",
          "data-focus-key": `assign:${w.conversation_id}`, onclick: () => assignWaiting(w),
          "aria-label": t("sup.assign_label", { contact: contacts.get(w.contact_id) || w.contact_id || w.conversation_id }) }, t("sup.assign")) },
      ], live.waiting, { empty: t("sup.no_waiting"), testid: "live-waiting",
        rowAttrs: (w) => ({ "data-conversation": w.conversation_id }) }));
    }

    function renderLongChats() {
      const ids = live.long_chats || [];
      clear(longBox, ids.length ? h("section", { class: "card", "aria-labelledby": "long-heading", "data-testid": "long-chats" },
        h("h2", { id: "long-heading" }, t("sup.long_chats")), h("p", { class: "hint" }, t("sup.long_chats_hint")),
        h("ul", {}, ids.map((id) => h("li", { "data-conversation": id }, h("code", {}, id), " ",
          h("button", { type: "button", class: "no-print", "aria-label": t("sup.view_transcript_label", { id }),
            onclick: () => navigate("transcripts", { conversation: id }) }, t("sup.view_transcript")))))) : null);
    }

    // -- actions on agents -------------------------------------------------------------------------------------
    async function pauseAgent(a) {
      const name = userName(a.user_id, a.name);
      const type = h("select", { name: "break_type", required: true, "data-testid": "break-type" },
        breakTypes.map((b) => h("option", { value: b }, label(b))));
      type.value = breakTypes.includes(PAUSE_TYPE) ? PAUSE_TYPE : breakTypes[0];
      const answer = await dialog(t("sup.pause_title", { name }), field(t("sup.break_type"), type, t("sup.pause_hint")),
        { submit: t("sup.pause"), testid: "pause-dialog" });
      if (!answer) return;
      const supervisorPause = answer.break_type === (breakTypes.includes(PAUSE_TYPE) ? PAUSE_TYPE : breakTypes[0]);
      const done = await attempt(() => (supervisorPause
        ? api("POST", `/v1/agents/${encodeURIComponent(a.user_id)}/pause`)
        : api("PUT", `/v1/agents/${encodeURIComponent(a.user_id)}/status`, { status: "break", break_type: answer.break_type })),
      t("sup.paused", { name }));
      if (done) reload();
    }

    async function messageAgent(a) {
      const name = userName(a.user_id, a.name);
      const text = h("textarea", { name: "text", required: true, maxlength: 2000, rows: 4, "data-testid": "message-text" });
      const answer = await dialog(t("sup.message_title", { name }), field(t("sup.message_text"), text, t("sup.message_hint")),
        { submit: t("sup.send"), testid: "message-dialog" });
      if (!answer || !answer.text.trim()) return;
      await attempt(() => api("POST", `/v1/agents/${encodeURIComponent(a.user_id)}/messages`, { text: answer.text.trim() }),
        t("sup.message_sent", { name }));
    }

    async function logoutAgent(a) {
      const name = userName(a.user_id, a.name);
      const answer = await dialog(t("sup.logout_title", { name }), h("p", {}, t("sup.logout_body")),
        { submit: t("sup.logout"), danger: true, testid: "logout-dialog" });
      if (!answer) return;
      const done = await attempt(() => api("POST", `/v1/agents/${encodeURIComponent(a.user_id)}/logout`), t("sup.logged_out", { name }));
      if (done) reload();
    }

    // Campaign members first (with the campaign's cap), then other online users (a supervisor may assign anyone
    // of the tenant; the API refuses agents who are not online or have no room: 409).
    async function assignWaiting(w) {
      const everyone = await api("GET", "/v1/agents").then((r) => r.items || []).catch(() => []);
      const members = live.agents.map((a) => ({ ...a, name: userName(a.user_id, a.name) }));
      const others = everyone.filter((p) => p.status === "online" && !members.some((m) => m.user_id === p.user_id))
        .map((p) => ({ user_id: p.user_id, name: userName(p.user_id, p.name), status: p.status, active: p.active, cap: p.max_concurrent }));
      const free = (a) => a.status === "online" && (a.cap === null || a.cap === undefined || a.active < a.cap);
      const option = (a) => h("option", { value: a.user_id, disabled: !free(a) }, t("sup.assign_option", {
        name: a.name, status: tOr(`sup.status.${a.status}`, a.status), active: a.active, cap: a.cap ?? "—" }));
      const choice = h("select", { name: "agent_id", required: true, "data-testid": "assign-agent" },
        h("option", { value: "" }, "—"),
        h("optgroup", { label: t("sup.assign_members") }, members.map(option)),
        others.length ? h("optgroup", { label: t("sup.assign_others") }, others.map(option)) : null);
      const firstFree = [...members, ...others].find(free);
      if (firstFree) choice.value = firstFree.user_id;
      const who = contacts.get(w.contact_id) || w.contact_id || w.conversation_id;
      const answer = await dialog(t("sup.assign_title", { contact: who }),
        h("div", {}, field(t("sup.assign_agent"), choice, t("sup.assign_hint")),
          firstFree ? null : h("p", { class: "error" }, t("sup.assign_none"))),
        { submit: t("sup.assign"), testid: "assign-dialog" });
      if (!answer || !answer.agent_id) return;
      const agent = [...members, ...others].find((a) => a.user_id === answer.agent_id);
      const done = await attempt(() => api("POST", `/v1/conversations/${encodeURIComponent(w.conversation_id)}/assign`,
        { agent_id: answer.agent_id }), t("sup.assigned", { name: agent ? agent.name : answer.agent_id }));
      if (done) reload();
    }

    // -- the silent view ("spy") -------------------------------------------------------------------------------
    function openSpy(agentId) {
      const first = spied !== agentId;
      spied = agentId;
      spyJson = "";
      clearInterval(spyTimer);
      spyTimer = setInterval(loadSpy, 5000);
      if (first) { spyData = null; clear(spyBox, h("p", {}, t("common.loading"))); }
      spyBox.hidden = false;
      if (live) keepFocus(agentsBox, renderAgents);
      loadSpy().then(() => {
        if (first && !disposed) {
          const heading = spyBox.querySelector("#spy-heading");
          if (heading) { heading.scrollIntoView({ block: "start" }); heading.focus({ preventScroll: true }); }
        }
      });
    }

    function closeSpy() {
      const was = spied;
      spied = null; spyData = null; spyJson = "";
      clearInterval(spyTimer); clearTimeout(spyDebounce);
      spyBox.hidden = true;
      clear(spyBox);
      if (live) keepFocus(agentsBox, renderAgents);
      const back = agentsBox.querySelector(`[data-focus-key="${CSS.escape(`spy:${was}`)}"]`);
      if (back) back.focus();
    }

    // GET only: the silent view never marks anything read and never writes.
    async function loadSpy() {
      const agentId = spied;
      if (!agentId) return;
      let data = null, failure = null;
      try { data = await api("GET", `/v1/agents/${encodeURIComponent(agentId)}/conversations`); } catch (err) { failure = err; }
      if (disposed || spied !== agentId) return;
      const json = failure ? `error:${errorText(failure)}` : JSON.stringify(data);
      spyBox.dataset.updated = String(++spyUpdates);
      if (json === spyJson) return; // nothing new: keep the DOM (and the reader's scroll) as it is
      spyJson = json;
      if (data) spyData = data;
      renderSpy(failure);
    }

    function renderSpy(failure) {
      const agent = live && live.agents.find((a) => a.user_id === spied);
      const name = userName(spied, agent && agent.name);
      // Remember each thread's scroll: stay at the bottom when the reader was there.
      const scrolls = new Map();
      for (const el of spyBox.querySelectorAll(".thread[data-conversation]")) {
        scrolls.set(el.dataset.conversation, el.scrollTop + el.clientHeight >= el.scrollHeight - 8 ? "bottom" : el.scrollTop);
      }
      const conversations = (spyData && spyData.conversations) || [];
      keepFocus(spyBox, () => clear(spyBox,
        h("div", { class: "row" },
          h("h2", { id: "spy-heading", tabindex: "-1" }, t("sup.spy_title", { name })), h("span", { class: "spacer" }),
          h("button", { type: "button", "data-focus-key": "spy-refresh", onclick: () => { spyJson = ""; loadSpy(); } }, t("common.refresh")),
          h("button", { type: "button", "data-testid": "spy-close", "data-focus-key": "spy-close", onclick: closeSpy }, t("sup.spy_close"))),
        h("p", { class: "hint", "data-testid": "spy-silent" }, t("sup.spy_note")),
        failure ? h("p", { class: "error", role: "alert" }, errorText(failure)) : null,
        conversations.length ? h("div", { class: "grid" }, conversations.map(spySection))
          : h("p", { class: "empty", "data-testid": "spy-empty" }, t("sup.spy_none"))));
      for (const el of spyBox.querySelectorAll(".thread[data-conversation]")) {
        const was = scrolls.get(el.dataset.conversation);
        el.scrollTop = was === undefined || was === "bottom" ? el.scrollHeight : was;
      }
    }

    function spySection(detail) {
      const c = detail.conversation;
      const who = contactName(c.contact_id, c.contact_key);
      const windowText = detail.window_open && detail.window_closes_at
        ? t("sup.window_open_until", { time: fmtTime(detail.window_closes_at) }) : t("sup.window_is_closed");
      return h("section", { "data-conversation": c.conversation_id, "aria-label": c.conversation_id },
        h("h3", {}, who, ` · ${c.channel_id}`),
        h("p", { class: "hint" }, [t("sup.spy_opened", { time: fmtTime(c.opened_at) }),
          c.assigned_at ? t("sup.spy_assigned", { time: fmtTime(c.assigned_at) }) : null, windowText].filter(Boolean).join(" · ")),
        h("div", { class: "thread", "data-conversation": c.conversation_id, tabindex: "0", role: "log",
          "aria-label": t("sup.thread_label", { contact: contacts.get(c.contact_id) || c.contact_key }) },
        (detail.messages || []).map((m) => bubble({ id: m.message_id, direction: m.direction, text: m.text, type: m.type,
          media: m.media, at: m.at, status: m.direction === "out" ? m.status : null, error: m.error_title,
          author: m.direction === "in" ? (contacts.get(c.contact_id) || t("msg.customer")) : originLabel(m.origin) }))));
    }

    // -- live updates ------------------------------------------------------------------------------------------
    const unsubscribe = onPush(({ type, data }) => {
      const d = data || {};
      if (LIVE_EVENTS.has(type)) {
        const ours = !d.campaign_id || d.campaign_id === campaignId;
        const member = !live || live.agents.some((a) => [d.user_id, d.agent_id, d.assignee, d.previous_assignee].includes(a.user_id));
        if (ours || member) scheduleReload();
      }
      if (spied && SPY_EVENTS.has(type)) {
        const held = spyData && spyData.conversations.some((x) => x.conversation.conversation_id === d.conversation_id);
        if (held || [d.assignee, d.previous_assignee, d.agent_id, d.user_id].includes(spied)) {
          clearTimeout(spyDebounce);
          spyDebounce = setTimeout(loadSpy, 300);
        }
      }
    });
    const poller = setInterval(reload, 10000);
    const ticker1s = setInterval(tick, 1000);
    await reload();

    return () => {
      disposed = true;
      unsubscribe();
      clearInterval(poller); clearInterval(ticker1s); clearInterval(spyTimer);
      clearTimeout(debounce); clearTimeout(spyDebounce);
      delete root.dataset.updated;
    };
  },
});


async function download(path, query, filename) {
  const response = await api("GET", path, null, { query, raw: true });
  const url = URL.createObjectURL(await response.blob());
  const link = h("a", { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30000);
}

register("transcripts", {
  label: "nav.transcripts", roles: ["supervisor", "admin"], section: "main",
  async render(root, params) {
    const [campaignList, channelList] = await Promise.all([
      api("GET", "/v1/campaigns").catch(() => ({ items: [] })),
      api("GET", "/v1/channels").catch(() => null),
      users.size ? null : loadUsers(),
    ]);
    const campaigns = new Map(((campaignList && campaignList.items) || []).map((c) => [c.campaign_id, c.name || c.campaign_id]));
    let disposed = false;

    // -- filters -----------------------------------------------------------------------------------------------
    const today = new Date();
    const weekAgo = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 6);
    const from = h("input", { type: "date", name: "from", required: true, value: isoDay(weekAgo), "data-testid": "tr-from" });
    const to = h("input", { type: "date", name: "to", required: true, value: isoDay(today), "data-testid": "tr-to" });
    const campaign = h("select", { name: "campaign_id", "data-testid": "tr-campaign" }, h("option", { value: "" }, t("tr.any")),
      [...campaigns].map(([id, name]) => h("option", { value: id }, name)));
    const agent = h("select", { name: "agent_id", "data-testid": "tr-agent" }, h("option", { value: "" }, t("tr.anyone")),
      [...users].sort((a, b) => a[1].localeCompare(b[1])).map(([id, name]) => h("option", { value: id }, name)));
    const channel = channelList && channelList.items
      ? h("select", { name: "channel_id", "data-testid": "tr-channel" }, h("option", { value: "" }, t("tr.any")),
        channelList.items.map((c) => h("option", { value: c.channel_id }, `${c.channel_id} (${c.kind})`)))
      : h("input", { type: "text", name: "channel_id", maxlength: 64, "data-testid": "tr-channel" });
    const contact = h("input", { type: "search", name: "contact", maxlength: 254, autocomplete: "off", "data-testid": "tr-contact" });
    const direction = h("select", { name: "direction", "data-testid": "tr-direction" }, h("option", { value: "" }, t("tr.any")),
      h("option", { value: "in" }, t("tr.direction.in")), h("option", { value: "out" }, t("tr.direction.out")));
    const size = h("select", { name: "limit", "data-testid": "tr-limit" }, [10, 25, 50, 100, 200].map((n) => h("option", { value: String(n) }, String(n))));
    size.value = "50";

    const status = h("p", { role: "status", class: "hint" });
    const results = h("div", { "data-testid": "transcript-results-box" });
    const pager = h("div", { class: "row no-print" });
    const form = h("form", { class: "card no-print", "data-testid": "transcript-filters", "aria-labelledby": "tr-filters-heading",
      onsubmit: (event) => { event.preventDefault(); search([null]); } },
    h("h2", { id: "tr-filters-heading" }, t("tr.filters")),
    h("div", { class: "grid" },
      field(t("tr.from"), from), field(t("tr.to"), to), field(t("tr.campaign"), campaign), field(t("tr.agent"), agent),
      field(t("tr.channel"), channel), field(t("tr.contact"), contact, t("tr.contact_hint")),
      field(t("tr.direction"), direction), field(t("tr.page_size"), size)),
    h("div", { class: "row" },
      h("button", { type: "submit", class: "primary", "data-testid": "tr-search" }, t("common.search")),
      h("button", { type: "button", "data-testid": "tr-export", onclick: () => exportCsv() }, t("tr.export_csv"))));
    const searchPane = h("div", {}, h("h1", { class: "no-print" }, t("tr.title")), form, status, results, pager);
    const detailPane = h("div", { "data-testid": "transcript-view", hidden: true });
    root.append(h("div", { "data-testid": "transcripts" }, searchPane, detailPane));

    // -- search ------------------------------------------------------------------------------------------------
    let cursors = [null]; // the cursor of each page seen (page 1 has none)
    let lastQuery = null;
    let lastOpened = null;

    async function resolveContact(value) {
      const text = value.trim();
      if (!text) return "";
      if (/^ct_/.test(text)) return text;
      const query = text.includes("@") ? { email: text } : /^[+\d][\d\s().-]{4,}$/.test(text) ? { phone: text } : null;
      if (!query) return text; // an id of another shape
      const found = await api("GET", "/v1/contacts", null, { query: { ...query, limit: 1 } });
      return found.items && found.items.length ? found.items[0].contact_id : null;
    }

    async function buildQuery() {
      if (to.value < from.value) throw new Error(t("tr.invalid_range"));
      const contactId = await resolveContact(contact.value);
      if (contactId === null) return null;
      return {
        from: new Date(`${from.value}T00:00:00`).toISOString(),
        to: new Date(`${to.value}T23:59:59.999`).toISOString(),
        campaign_id: campaign.value, agent_id: agent.value, channel_id: channel.value.trim(), contact_id: contactId,
        direction: direction.value, limit: size.value,
      };
    }

    async function search(stack) {
      status.textContent = t("common.loading");
      let query;
      try { query = await buildQuery(); } catch (err) { status.textContent = ""; clear(results, h("p", { class: "error", role: "alert" }, errorText(err))); return; }
      if (query === null) { status.textContent = ""; clear(results, h("p", { class: "empty", "data-testid": "transcript-results-empty" }, t("tr.contact_not_found"))); clear(pager); return; }
      let page;
      try {
        page = await api("GET", "/v1/transcripts", null, { query: { ...query, cursor: stack[stack.length - 1] } });
      } catch (err) {
        status.textContent = "";
        clear(results, h("p", { class: "error", role: "alert" }, errorText(err)));
        return;
      }
      if (disposed) return;
      cursors = stack;
      lastQuery = query;
      status.textContent = "";
      renderResults(page.items || []);
      clear(pager,
        cursors.length > 1 ? h("button", { type: "button", "data-testid": "transcript-prev", onclick: () => search(cursors.slice(0, -1)) }, t("tr.prev")) : null,
        h("span", { class: "hint" }, t("tr.page", { n: cursors.length })),
        page.next_cursor ? h("button", { type: "button", "data-testid": "transcript-next", onclick: () => search([...cursors, page.next_cursor]) }, t("tr.next")) : null);
    }

    function renderResults(items) {
      clear(results, table([
        { label: t("tr.col.opened"), value: (s) => fmtTime(s.opened_at) },
        { label: t("tr.col.closed"), value: (s) => (s.closed_at ? fmtTime(s.closed_at) : "—") },
        { label: t("tr.col.channel"), value: (s) => s.channel_id },
        { label: t("tr.col.contact"), value: (s) => s.contact_key || s.contact_id || "—" },
        { label: t("tr.col.campaign"), value: (s) => (s.campaign_id ? campaigns.get(s.campaign_id) || s.campaign_id : "—") },
        { label: t("tr.col.agents"), value: (s) => (s.agents || []).map((id) => userName(id)).join(", ") || "—" },
        { label: t("tr.col.status"), value: (s) => h("span", { class: `badge ${s.status === "open" ? "online" : "offline"}` }, tOr(`tr.status.${s.status}`, s.status)) },
        { label: t("tr.col.closing"), value: (s) => (s.closing_note ? label(s.closing_note.category) : "—") },
        { label: t("tr.col.actions"), value: (s) => h("button", { type: "button", "data-testid": "open-transcript", "data-focus-key": `open:${s.conversation_id}`,
          "aria-label": t("tr.open_label", { contact: s.contact_key || s.conversation_id, time: fmtTime(s.opened_at) }),
          onclick: () => openTranscript(s.conversation_id) }, t("tr.open")) },
      ], items, { caption: t("tr.results"), empty: t("tr.none"), testid: "transcript-results",
        rowAttrs: (s) => ({ "data-conversation": s.conversation_id }) }));
    }

    async function exportCsv() {
      let query = lastQuery;
      try { query = query || await buildQuery(); } catch (err) { toast(errorText(err), "error"); return; }
      if (!query) { toast(t("tr.contact_not_found"), "error"); return; }
      await attempt(() => download("/v1/transcripts", { ...query, cursor: cursors[cursors.length - 1], format: "csv" }, "transcripts.csv"));
    }

    // -- one transcript ----------------------------------------------------------------------------------------
    async function openTranscript(conversationId) {
      lastOpened = conversationId;
      const found = await attempt(() => api("GET", `/v1/transcripts/${encodeURIComponent(conversationId)}`));
      if (!found || disposed) return;
      renderTranscript(found);
      searchPane.hidden = true;
      detailPane.hidden = false;
      const heading = detailPane.querySelector("h1");
      if (heading) heading.focus();
    }

    function back() {
      detailPane.hidden = true;
      clear(detailPane);
      searchPane.hidden = false;
      if (!lastQuery) search([null]);
      const button = results.querySelector(`[data-focus-key="${CSS.escape(`open:${lastOpened}`)}"]`);
      (button || form.querySelector("button[type=submit]")).focus();
    }

    function renderTranscript(found) {
      const s = found.summary;
      const contactText = [found.contact_name, s.contact_key].filter(Boolean).join(" · ") || s.contact_id || "—";
      const note = s.closing_note ? [label(s.closing_note.category), s.closing_note.text].filter(Boolean).join(": ") : "—";
      const props = [
        [t("tr.conversation"), h("code", {}, s.conversation_id)],
        [t("tr.channel_l"), s.channel_id],
        [t("tr.contact_l"), contactText],
        [t("tr.campaign_l"), s.campaign_id ? campaigns.get(s.campaign_id) || s.campaign_id : "—"],
        [t("tr.agents_l"), (s.agents || []).map((id) => userName(id)).join(", ") || "—"],
        [t("tr.origin_l"), t(`tr.direction.${s.origin === "out" ? "out" : "in"}`)],
        [t("tr.status_l"), tOr(`tr.status.${s.status}`, s.status)],
        [t("tr.opened_l"), fmtFull(s.opened_at)],
        [t("tr.closed_l"), fmtFull(s.closed_at)],
        [t("tr.closing_l"), note],
      ];
      const entries = found.entries || [];
      clear(detailPane,
        h("div", { class: "row no-print" },
          h("button", { type: "button", "data-testid": "transcript-back", onclick: back }, t("tr.back")),
          h("span", { class: "spacer" }),
          h("button", { type: "button", class: "primary", "data-testid": "print", onclick: () => window.print() }, t("tr.print")),
          h("button", { type: "button", "data-testid": "download-csv",
            onclick: () => attempt(() => download(`/v1/transcripts/${encodeURIComponent(s.conversation_id)}`, { format: "csv" }, `${s.conversation_id}.csv`)) },
          t("tr.download_csv")),
          h("button", { type: "button", "data-testid": "download-html",
            onclick: () => attempt(() => download(`/v1/transcripts/${encodeURIComponent(s.conversation_id)}`, { format: "html" }, `${s.conversation_id}.html`)) },
          t("tr.download_html"))),
        h("article", { class: "card", "aria-labelledby": "tr-heading", "data-conversation": s.conversation_id },
          h("h1", { id: "tr-heading", tabindex: "-1" }, t("tr.heading")),
          h("dl", { class: "props", "data-testid": "transcript-header" }, props.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
          h("h2", {}, t("tr.entries")),
          entries.length ? h("div", { class: "thread", "data-testid": "transcript-entries", "data-print-flow": "true" }, entries.map(entry))
            : h("p", { class: "empty" }, t("tr.no_entries"))));
    }

    function entry(e) {
      const who = e.author_name || (e.author === "customer" ? t("msg.customer") : originLabel(e.author));
      if (e.kind === "message") {
        return bubble({ direction: e.direction, text: e.text, type: e.type, media: e.media, at: e.at, author: who,
          status: e.direction === "out" ? e.status : null, error: e.error });
      }
      if (e.kind === "note") {
        return h("div", { class: "msg note", "data-kind": "note" },
          h("strong", {}, `${t("tr.note")}: `), e.text || "",
          h("span", { class: "meta" }, [who, fmtTime(e.at)].filter(Boolean).join(" · ")));
      }
      return h("div", { class: "hint", "data-kind": "event", "data-event": e.type },
        h("small", {}, `${fmtTime(e.at)} · ${e.text || label(e.type)}`));
    }

    // The on-screen thread scrolls inside a box; printed, every line must flow onto the pages.
    const beforePrint = () => { for (const el of detailPane.querySelectorAll("[data-print-flow]")) { el.classList.remove("thread"); el.classList.add("field"); } };
    const afterPrint = () => { for (const el of detailPane.querySelectorAll("[data-print-flow]")) { el.classList.remove("field"); el.classList.add("thread"); } };
    window.addEventListener("beforeprint", beforePrint);
    window.addEventListener("afterprint", afterPrint);

    if (params.conversation) await openTranscript(params.conversation);
    if (!params.conversation || detailPane.hidden) await search([null]);

    return () => {
      disposed = true;
      window.removeEventListener("beforeprint", beforePrint);
      window.removeEventListener("afterprint", afterPrint);
    };
  },
});
