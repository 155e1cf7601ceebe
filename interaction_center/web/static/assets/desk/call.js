// A call on the desk: how calls are answered here (the browser phone, the agent's own
// phone, or neither where no Twilio account is configured), and what an agent does on a
// call they hold: hold the caller, consult a colleague and hand the call over to them (a
// warm transfer; the Transfer form sends a call back to routing, cold), hang up.
import { html, nothing } from "../vendor/lit-html-3.3.3/lit-html.js";
import { submitted } from "./forms.js";

const NO_BROWSER_CALLS = "No Twilio account is configured for calls in the browser: calls cannot be answered on this page.";

// Where the calls this agent accepts ring, and whether this one has ended.
export function callState(interaction, setup, phone) {
  const ended = interaction.events.some((e) => e.type === "call_ended");
  return html`<div class="call-state">
    ${ended ? html`<p class="ended">The caller hung up.</p>` : nothing}
    ${phone
      ? html`<p>Calls you accept ring your phone, ${phone}.</p>`
      : setup
        ? html`<p>${setup.browser_calls ? "Calls you accept ring here, on the browser phone." : NO_BROWSER_CALLS}</p>`
        : nothing}
  </div>`;
}

// The call as its events tell it: the caller held, a colleague consulted (and whether they
// answered), the call over.
export function callNow(interaction) {
  const now = { held: false, consult: null, ended: false };
  for (const { type, data } of interaction.events) {
    if (type === "call_hold_requested") now.held = data.on;
    else if (type === "call_held") now.held = true;
    else if (type === "call_resumed") now.held = false;
    else if (type === "call_consult_started") Object.assign(now, { held: true, consult: { agentId: data.agent_id, answered: false } });
    else if (type === "call_consult_answered" && now.consult) now.consult = { ...now.consult, answered: true };
    else if (type === "call_consult_ended" || type === "call_handed_over") now.consult = null;
    else if (type === "call_ended") now.ended = true;
  }
  return now;
}

// ``act``: holdCall(id, on), consult(id, agentId), handOver(id, name), hangUpCall(id),
// lookUpColleagues(); ``colleagues``: the available agents.
export function callControls(interaction, { setup, colleagues, busy, act }) {
  const id = interaction.id;
  const now = callNow(interaction);
  if (interaction.state !== "assigned" || now.ended || !setup?.call_controls) return nothing;
  const nameOf = (agentId) => {
    const colleague = colleagues.find((c) => c.id === agentId);
    return colleague?.display_name || colleague?.username || "the colleague";
  };
  return html`<div class="call-controls" role="group" aria-label="The call">
    <button type="button" aria-pressed=${now.held ? "true" : "false"} ?disabled=${busy}
      @click=${() => act.holdCall(id, !now.held)}>Hold the caller</button>
    ${now.consult
      ? now.consult.answered
        ? html`<button type="button" ?disabled=${busy}
            @click=${() => act.handOver(id, nameOf(now.consult.agentId))}>Hand over to ${nameOf(now.consult.agentId)}</button>`
        : html`<p>Ringing ${nameOf(now.consult.agentId)}…</p>`
      : html`<details @toggle=${(e) => e.target.open && act.lookUpColleagues()}>
          <summary>Consult a colleague</summary>
          <form @submit=${(e) => act.consult(id, submitted(e).get("agent"))}>
            <label for=${`consult-${id}`}>Colleague (the caller is held meanwhile)</label>
            <select id=${`consult-${id}`} name="agent" required>
              ${colleagues.map((c) => html`<option .value=${c.id}>${c.display_name || c.username}</option>`)}
            </select>
            <button type="submit" ?disabled=${busy || !colleagues.length}>Call them</button>
          </form>
        </details>`}
    <button type="button" class="danger" ?disabled=${busy} @click=${() => act.hangUpCall(id)}>Hang up</button>
  </div>`;
}
