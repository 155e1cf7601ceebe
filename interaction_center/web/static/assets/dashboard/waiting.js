// What waits in one queue, in the order it will be offered, and what a supervisor does
// with it: change its priority, move it to another queue or agent, take it over (not a
// call), read its transcript. The transcript is read-only, and a customer's words are
// put in as text (lit-html never makes markup of a value).
import { repeat } from "../vendor/lit-html-3.3.3/directives/repeat.js";
import { html, nothing } from "../vendor/lit-html-3.3.3/lit-html.js";
import { channelLabel, duration, since } from "./format.js";
import { scrollTable, submitted } from "./table.js";

// ``act``: {show(queue), priority(id, n), move(id, target), takeOver(id), open(id)}, each
// given the interaction's id.
export function waitingView({ queues, agents, chosen, list, busy }, now, act) {
  return html`
    <form class="inline" @submit=${submitted((form) => act.show(form.get("queue")))}>
      <label for="waiting-queue">Queue</label>
      <select id="waiting-queue" name="queue">
        ${queues.map((queue) => html`<option .value=${queue} ?selected=${queue === chosen}>${queue}</option>`)}
      </select>
      <button type="submit" ?disabled=${busy}>Show waiting</button>
    </form>
    ${list === null
      ? nothing
      : list.length
        ? html`<div class="waiting-list">${entries(list, queues, agents, now, act, busy)}</div>`
        : html`<p>Nothing waits in ${chosen}.</p>`}
  `;
}

function entries(list, queues, agents, now, act, busy) {
  return scrollTable(
    "Waiting interactions",
    ["Waiting", "Channel", "Priority", "Move to", "Act"],
    // By key: a row, its focus and its fields stay with their interaction as the list moves.
    repeat(list, (entry) => entry.interaction_id, (entry, index) => {
      const which = `#${index + 1} (${channelLabel(entry.channel)})`;
      return html`<tr>
        <th scope="row">
          ${duration(since(entry.enqueued_at, now))}
          ${entry.sla_breached ? html`<span class="late">late</span>` : nothing}
        </th>
        <td>${channelLabel(entry.channel)}</td>
        <td>
          <form class="inline"
            @submit=${submitted((form) => act.priority(entry.interaction_id, Number(form.get("priority"))))}>
            <input type="number" name="priority" min="-1000" max="1000" required .value=${String(entry.priority)}
              aria-label=${`Priority of ${which}`} />
            <button type="submit" ?disabled=${busy}>Set</button>
          </form>
        </td>
        <td>${moveForm(entry.interaction_id, which, queues, agents, busy, act)}</td>
        <td class="actions">${actions({ id: entry.interaction_id, channel: entry.channel }, busy, act)}</td>
      </tr>`;
    }),
  );
}

// Where to move an interaction: one of the queues, or an agent (reserved for them).
export function moveForm(id, which, queues, agents, busy, act) {
  return html`
    <form class="inline" @submit=${submitted((form) => act.move(id, target(form.get("to"))))}>
      <select name="to" aria-label=${`Move ${which} to`}>
        ${queues.map((queue) => html`<option .value=${`queue:${queue}`}>Queue ${queue}</option>`)}
        ${agents.map(
          (agent) => html`<option .value=${`agent:${agent.id}`}>Agent ${agent.display_name || agent.username}</option>`,
        )}
      </select>
      <button type="submit" ?disabled=${busy}>Move</button>
    </form>
  `;
}

// Take an interaction over, or read it (the transcript's Close brings the focus back here).
// A call is never taken over: the service refuses it (a supervisor joins a call an agent
// is on by listening, whispering or barging in, on the work view), so it is not offered.
export function actions({ id, channel }, busy, act) {
  return html`
    ${channel === "voice"
      ? nothing
      : html`<button type="button" ?disabled=${busy} @click=${() => act.takeOver(id)}>Take over</button>`}
    <button type="button" id=${`open-${id}`} @click=${() => act.open(id)}>Transcript</button>
  `;
}

const target = (choice) => {
  const [kind, value] = choice.split(/:(.*)/s);
  return kind === "queue" ? { queue: value } : { agent_id: value };
};

// One interaction's messages, oldest first, with who wrote and when.
export function transcriptView(interaction, close) {
  return html`
    <section class="card transcript" aria-labelledby="transcript-heading">
      <h2 id="transcript-heading" tabindex="-1">
        Transcript (${channelLabel(interaction.channel)}, ${interaction.state})
      </h2>
      ${interaction.messages.length
        ? html`<ol class="messages">
            ${interaction.messages.map(
              (message) => html`<li class=${message.direction}>
                <p class="meta">
                  ${message.direction === "inbound" ? "Customer" : "Agent"} ·
                  <time datetime=${message.created_at}>${new Date(message.created_at).toLocaleString()}</time>
                </p>
                <p class="body">${message.body}</p>
              </li>`,
            )}
          </ol>`
        : html`<p>No messages.</p>`}
      <button type="button" @click=${close}>Close transcript</button>
    </section>
  `;
}
