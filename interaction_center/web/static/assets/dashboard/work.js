// What one agent holds, offered and set aside (their work list, GET /agents/{id}/work),
// for a supervisor to read, move or take over, or to join a call on (listen, whisper to the
// agent, barge in). The latest message is the customer's or agent's text, put in as text.
import { repeat } from "../vendor/lit-html-3.3.3/directives/repeat.js";
import { html, nothing } from "../vendor/lit-html-3.3.3/lit-html.js";
import { NONE, channelLabel } from "./format.js";
import { scrollTable } from "./table.js";
import { actions, moveForm } from "./waiting.js";

const PARTS = [
  ["assigned", "Working on"],
  ["offered", "Offered"],
  ["parked", "Set aside"],
];

// A call an agent is on: the supervisor joins it, in one mode at a time.
const MONITOR = [
  ["listen", "Listen"],
  ["whisper", "Whisper"],
  ["barge", "Barge"],
];

function monitorButtons(item, which, busy, act) {
  if (item.channel !== "voice" || item.part !== "assigned") return nothing;
  return html`<span role="group" aria-label=${`Join the call of ${which}`}>
    ${MONITOR.map(
      ([mode, label]) =>
        html`<button
          type="button"
          aria-pressed=${act.monitoring(item) === mode ? "true" : "false"}
          ?disabled=${busy}
          @click=${() => act.monitor(item.id, mode)}
        >
          ${label}
        </button>`,
    )}
  </span>`;
}

// ``act``: the waiting list's actions, monitor(id, mode), monitoring(item) (the mode the
// supervisor is on its call in, if they are: from the work list's ``monitor``) and close().
export function workView({ agent, work }, queues, agents, busy, act) {
  const who = agent.display_name || agent.username;
  const items = PARTS.flatMap(([part, label]) => work[part].map((item) => ({ ...item, part, label })));
  return html`
    <section class="card work" aria-labelledby="work-heading">
      <h2 id="work-heading" tabindex="-1">Work of ${who}</h2>
      ${items.length
        ? scrollTable(
            `Interactions of ${who}`,
            ["Customer", "Channel", "State", "Latest message", "Move to", "Act"],
            repeat(items, (item) => item.id, (item, index) => {
              const which = `${who}'s #${index + 1} (${channelLabel(item.channel)})`;
              return html`<tr>
                <th scope="row">${item.customer_name || NONE}</th>
                <td>${channelLabel(item.channel)}</td>
                <td>${item.label}</td>
                <td class="latest">${item.latest_message?.body ?? NONE}</td>
                <td>${moveForm(item.id, which, queues, agents, busy, act)}</td>
                <td class="actions">${actions(item, busy, act)} ${monitorButtons(item, which, busy, act)}</td>
              </tr>`;
            }),
          )
        : html`<p>${who} holds nothing now.</p>`}
      <button type="button" class="secondary" @click=${act.close}>Close</button>
    </section>
  `;
}
