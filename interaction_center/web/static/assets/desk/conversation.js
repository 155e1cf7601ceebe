// An interaction's transcript in its channel's form: SMS and chat as bubbles (an SMS with
// its delivery status), email with its subject and the quoted mail folded, the files a
// message carried (to save), a call's IVR steps; internal notes and transfers apart from
// what the customer saw. Every text is bound as text; an email's HTML only ever in a
// frame that runs nothing.
import { html, nothing } from "../vendor/lit-html-3.3.3/lit-html.js";
import { shortTime } from "./labels.js";

// Of the events, those an agent reads in the transcript, each with its words. A call's
// are its IVR steps (what the caller heard, pressed, said and was given), then how it was
// put through, held, talked (for how long) and ended.
const SHOWN = {
  note_added: (data) => ["note", "Internal note", data.body],
  transferred: (data) => ["transfer", `Transferred${data.queue ? ` to ${data.queue}` : ""}`, data.note],
  moved: (data) => ["transfer", `Moved${data.queue ? ` to ${data.queue}` : ""}`, data.note],
  parked: (data) => ["system", data.until ? `Snoozed until ${shortTime(data.until)}` : "On hold", data.note],
  completed: (data) => ["system", `Completed: ${data.disposition}`, data.note],
  ivr_prompt: (data) => ["ivr", `Played prompt ${data.prompt}`, ""],
  // Keys are shown in the title; words said are the caller's own, shown as their text.
  ivr_input: (data) =>
    data.digits ? ["ivr", `Caller pressed ${data.digits}`, ""] : ["ivr", "Caller said", data.speech || "(nothing)"],
  ivr_timeout: (data) => ["ivr", `No answer (attempt ${data.attempt})`, ""],
  ivr_invalid: (data) => ["ivr", `Not a choice (attempt ${data.attempt})`, ""],
  ivr_choice: (data) => ["ivr", `Menu choice ${data.option}: ${data.next}`, ""],
  ivr_collected: (data) => ["ivr", `Collected ${data.attribute}: ${data.value}`, ""],
  ivr_fallback: (data) => ["ivr", `Fell back to ${data.next}`, ""],
  ivr_lookup: (data) => ["ivr", `Lookup: ${data.found ? "customer found" : "not found"}`, ""],
  ivr_hours: (data) => ["ivr", `Hours: ${data.queue} is ${data.open ? "open" : "closed"}`, ""],
  ivr_queue: (data) => ["ivr", `Queued in ${data.queue}`, ""],
  ivr_voicemail: () => ["ivr", "To voicemail", ""],
  ivr_transfer: (data) => ["ivr", `Transferred to ${data.number}`, ""],
  ivr_hangup: () => ["ivr", "The IVR hung up", ""],
  call_bridging: (data) => ["call", `Ringing ${data.endpoint}`, ""],
  call_bridged: (data) => ["call", "Marked put through", data.demo],
  bridge_failed: (data) => ["call", "Not put through", data.error],
  call_answered: () => ["call", "Answered", ""],
  call_held: () => ["call", "On hold", ""],
  call_resumed: () => ["call", "Off hold", ""],
  call_consult_started: () => ["call", "Consulting a colleague", ""],
  call_consult_answered: () => ["call", "The colleague answered", ""],
  call_consult_ended: () => ["call", "The consultation ended", ""],
  call_handed_over: () => ["call", "Handed over", ""],
  call_hangup_requested: () => ["call", "Hung up by the agent", ""],
  call_talk_ended: (data) => ["call", `Talk ended after ${data.talk_seconds} s`, ""],
  call_ended: (data) => ["call", `Call ended: ${data.call_status}`, ""],
};

// Messages and the shown events, in the order they happened.
function entries(interaction) {
  const messages = interaction.messages.map((message) => ({ at: message.created_at, message }));
  const events = interaction.events
    .filter((event) => SHOWN[event.type])
    .map((event) => ({ at: event.at, event }));
  return [...messages, ...events].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
}

export function transcript(interaction, { typing }) {
  return html`<ol class=${`transcript ${interaction.channel}`} aria-label="Transcript">
      ${entries(interaction).map((entry) => (entry.message ? message(entry.message) : event(entry.event)))}
    </ol>
    ${typing ? html`<p class="typing">The customer is typing…</p>` : nothing}`;
}

// A call's own message has no words (a voicemail's has its transcription): it is the call.
const CALL_CAME_IN = "The call came in.";

function message(m) {
  const who = m.direction === "inbound" ? "Customer" : "You";
  return html`<li class=${`message ${m.direction}`}>
    <p class="meta">${who} · <time datetime=${m.created_at}>${shortTime(m.created_at)}</time></p>
    ${m.channel === "email" ? email(m) : html`<p class="body">${m.body || (m.channel === "voice" ? CALL_CAME_IN : "")}</p>`}
    ${files(m.attributes.attachments ?? [])}
    ${m.direction === "outbound" ? delivery(m) : nothing}
  </li>`;
}

// The files a message carried, each saved from the service when clicked (one kept before
// files were, named only, is listed without a link).
function files(attachments) {
  if (!attachments.length) return nothing;
  return html`<ul class="attachments" aria-label="Attachments">
    ${attachments.map((a) => {
      const name = a.filename || "Unnamed file";
      const about = ` (${a.content_type}, ${Math.ceil(a.size / 1024)} KB)`;
      return a.id
        ? html`<li><a href=${`/api/v1/attachments/${encodeURIComponent(a.id)}`} download>${name}</a>${about}</li>`
        : html`<li>${name}${about}</li>`;
    })}
  </ul>`;
}

function delivery(m) {
  const failed = m.status === "failed" || m.status === "undelivered";
  return html`<p class=${failed ? "delivery failed" : "delivery"}>
    ${m.status}${m.error ? html`: ${m.error}` : nothing}
  </p>`;
}

// A mail's own words, and what it quotes of the mails before it (from the first line
// quoted with ">" or introduced by "On … wrote:").
function splitQuote(body) {
  const lines = body.split("\n");
  const start = lines.findIndex((line) => line.startsWith(">") || /^On .+ wrote:\s*$/.test(line));
  return start < 0 ? [body, ""] : [lines.slice(0, start).join("\n"), lines.slice(start).join("\n")];
}

function email(m) {
  const { subject, html: markup } = m.attributes;
  const [own, quoted] = splitQuote(m.body);
  return html`
    ${subject ? html`<p class="subject">${subject}</p>` : nothing}
    <p class="body">${own}</p>
    ${quoted
      ? html`<details class="quoted"><summary>Quoted text</summary><p class="body">${quoted}</p></details>`
      : nothing}
    ${markup
      ? html`<details class="original">
          <summary>The mail as sent (HTML)</summary>
          <iframe sandbox="" title="The mail as sent" srcdoc=${markup}></iframe>
        </details>`
      : nothing}
  `;
}

function event(e) {
  const [kind, title, text] = SHOWN[e.type](e.data);
  return html`<li class=${`event ${kind}`}>
    <p class="meta"><span class="what">${title}</span> · <time datetime=${e.at}>${shortTime(e.at)}</time></p>
    ${text ? html`<p class="body">${text}</p>` : nothing}
  </li>`;
}
