// The agents on the floor: state and time in it, how busy they are (occupancy: the
// busiest of their channels' shares, "—" offline), queues and capacity, and a supervisor's
// change of an agent's status. The table scrolls inside its own box on a narrow screen.
import { html } from "../vendor/lit-html-3.3.3/lit-html.js";
import { NONE, duration, percent, since, stateLabel } from "./format.js";
import { scrollTable, submitted } from "./table.js";

const SETTABLE = ["available", "away", "offline"];

const name = (agent) => agent.display_name || agent.username;
const capacity = (agent) =>
  Object.entries(agent.capacity)
    .map(([channel, slots]) => `${channel} ${slots}`)
    .join(", ") || NONE;

// ``setStatus(agent, status)`` does the change (the board says how it went); ``showWork(agent)``
// opens what they hold.
export function agentsTable(agents, now, { setStatus, showWork, busy }) {
  const rows = [...agents].sort((a, b) => name(a).localeCompare(name(b)));
  if (!rows.length) return html`<p>No agents.</p>`;
  return scrollTable(
    "Agents",
    ["Agent", "State", "For", "Occupancy", "Queues", "Capacity", "Change status", "Work"],
    rows.map(
      (agent) => html`<tr>
        <th scope="row">${name(agent)}</th>
        <td class="state state-${agent.status}">
          ${stateLabel(agent.status)}${agent.status_reason ? ` (${agent.status_reason})` : ""}
        </td>
        <td>${duration(since(agent.status_changed_at, now))}</td>
        <td class="occupancy">${percent(agent.occupancy)}</td>
        <td>${agent.queues.map((q) => q.queue).join(", ") || NONE}</td>
        <td>${capacity(agent)}</td>
        <td>
          <form class="inline" @submit=${submitted((form) => setStatus(agent, form.get("status")))}>
            <select name="status" aria-label=${`New status for ${name(agent)}`}>
              ${SETTABLE.map(
                (status) => html`<option .value=${status} ?selected=${status === agent.status}>
                  ${stateLabel(status)}
                </option>`,
              )}
            </select>
            <button type="submit" ?disabled=${busy} aria-label=${`Set the state of ${name(agent)}`}>Set</button>
          </form>
        </td>
        <td>
          <button type="button" id=${`work-${agent.id}`} @click=${() => showWork(agent)}
            aria-label=${`Work of ${name(agent)}`}>Work</button>
        </td>
      </tr>`,
    ),
  );
}
