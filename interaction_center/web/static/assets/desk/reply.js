// What an agent does on an open interaction: reply on its channel (not a call's, which is
// spoken; canned responses by "/" and their shortcut; files by email), an internal note,
// a transfer (to a queue or an available colleague) with a note, hold or snooze (email
// and SMS), resume, and complete with a disposition.
import { html, nothing } from "../vendor/lit-html-3.3.3/lit-html.js";
import { submitted } from "./forms.js";
import { shortDate } from "./labels.js";

const PARKABLE = new Set(["email", "sms"]);

// The canned responses a draft starting with "/" asks for, by the start of their shortcut.
export function cannedFor(draft, responses) {
  const match = /^\/(\S*)$/.exec(draft);
  return match ? responses.filter((r) => r.shortcut.startsWith(match[1])) : [];
}

export function workPanel(interaction, ctx) {
  const id = interaction.id;
  if (interaction.state === "parked") {
    return html`<div class="work-actions">
      <p>Set aside${interaction.parked_until ? html` until ${shortDate(interaction.parked_until)}` : nothing}.</p>
      <button type="button" @click=${() => ctx.actions.resume(id)}>Resume now</button>
    </div>`;
  }
  if (interaction.state !== "assigned") return nothing;
  return html`<div class="work-actions">
    ${interaction.channel === "voice" ? nothing : replyForm(interaction, ctx)}
    <details>
      <summary>Internal note</summary>
      <form @submit=${(e) => ctx.actions.note(id, submitted(e).get("note"), e.target)}>
        <label for=${`note-${id}`}>Note for the agents (the customer never sees it)</label>
        <textarea id=${`note-${id}`} name="note" rows="2" required></textarea>
        <button type="submit" ?disabled=${ctx.busy}>Add note</button>
      </form>
    </details>
    <details @toggle=${(e) => e.target.open && ctx.actions.lookUpColleagues()}>
      <summary>Transfer</summary>
      <form @submit=${(e) => {
        const form = submitted(e);
        ctx.actions.transfer(id, transferTarget(form.get("to"), ctx.colleagues), form.get("note"));
      }}>
        <label for=${`transfer-to-${id}`}>To a queue or an agent</label>
        <select id=${`transfer-to-${id}`} name="to">
          <optgroup label="Queues">
            ${ctx.queues.map((queue) => html`<option .value=${`queue:${queue}`} ?selected=${queue === interaction.queue}>${queue}</option>`)}
          </optgroup>
          ${ctx.colleagues.length
            ? html`<optgroup label="Available agents">
                ${ctx.colleagues.map((c) => html`<option .value=${`agent:${c.id}`}>${c.display_name || c.username}</option>`)}
              </optgroup>`
            : nothing}
        </select>
        <label for=${`transfer-note-${id}`}>Note for the next agent</label>
        <textarea id=${`transfer-note-${id}`} name="note" rows="2"></textarea>
        <button type="submit" ?disabled=${ctx.busy}>Transfer</button>
      </form>
    </details>
    ${PARKABLE.has(interaction.channel) ? parkForm(id, ctx) : nothing}
    ${completeForm(interaction, ctx)}
  </div>`;
}

// The select's "queue:<name>" or "agent:<id>" as the transfer's body and a name for it.
function transferTarget(value, colleagues) {
  const at = value.indexOf(":");
  const [kind, key] = [value.slice(0, at), value.slice(at + 1)];
  if (kind === "queue") return { body: { queue: key }, name: key };
  const colleague = colleagues.find((c) => c.id === key);
  return { body: { agent_id: key }, name: colleague?.display_name || colleague?.username || "the agent" };
}

function replyForm(interaction, ctx) {
  const id = interaction.id;
  const suggestions = cannedFor(ctx.draft, ctx.canned);
  return html`<form class="reply" @submit=${(e) => ctx.actions.send(interaction, submitted(e), e.target)}>
    <label for=${`reply-${id}`}>Reply by ${interaction.channel === "sms" ? "SMS" : interaction.channel}
      <span class="hint">(type / and a shortcut for a canned response)</span></label>
    <textarea id=${`reply-${id}`} class="reply-text" name="body" rows="3" required
      .value=${ctx.draft} @input=${(e) => ctx.actions.draftChanged(id, e.target.value)}
      @keydown=${(e) => {
        if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) e.target.form.requestSubmit();
      }}></textarea>
    ${suggestions.length
      ? html`<ul class="canned" aria-label="Canned responses">
          ${suggestions.map((r) => html`<li><button type="button" class="secondary"
            @click=${() => ctx.actions.useCanned(id, r)}>/${r.shortcut} · ${r.title}</button></li>`)}
        </ul>`
      : nothing}
    ${interaction.channel === "email"
      ? html`<label for=${`files-${id}`}>Attach files</label><input id=${`files-${id}`} type="file" name="attachment" multiple />`
      : nothing}
    <button type="submit" ?disabled=${ctx.busy}>Send <kbd>Ctrl+Enter</kbd></button>
  </form>`;
}

function parkForm(id, ctx) {
  return html`<details>
    <summary>Hold or snooze</summary>
    <button type="button" class="secondary" @click=${() => ctx.actions.hold(id)} ?disabled=${ctx.busy}>
      Hold until the customer answers
    </button>
    <form @submit=${(e) => ctx.actions.snooze(id, submitted(e).get("until"))}>
      <label for=${`until-${id}`}>Snooze until</label>
      <input id=${`until-${id}`} name="until" type="datetime-local" required />
      <button type="submit" ?disabled=${ctx.busy}>Snooze</button>
    </form>
  </details>`;
}

function completeForm(interaction, ctx) {
  const id = interaction.id;
  return html`<details class="complete" ?open=${ctx.completing}>
    <summary>Complete</summary>
    <form @submit=${(e) => {
      const form = submitted(e);
      ctx.actions.complete(id, form.get("disposition"), form.get("note"));
    }}>
      <label for=${`disposition-${id}`}>Disposition</label>
      <select id=${`disposition-${id}`} name="disposition" required>
        ${ctx.dispositions.map((d) => html`<option .value=${d.code}>${d.label}${d.note_required ? " (note needed)" : ""}</option>`)}
      </select>
      <label for=${`wrap-note-${id}`}>Wrap-up note</label>
      <textarea id=${`wrap-note-${id}`} name="note" rows="2"></textarea>
      <button type="submit" ?disabled=${ctx.busy}>Complete</button>
    </form>
  </details>`;
}
