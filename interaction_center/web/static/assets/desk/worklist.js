// The agent's work list: what is theirs now, what they set aside and what they did last,
// each with its customer, channel, unread count and state.
import { html, nothing } from "../vendor/lit-html-3.3.3/lit-html.js";
import { channelLabel, stateLabel } from "./labels.js";

const PARTS = [
  ["assigned", "Yours now"],
  ["parked", "Set aside"],
  ["recent", "Done lately"],
];

export function workList(work, current, open) {
  return html`<nav class="work-list" aria-labelledby="work-heading">
    <h2 id="work-heading" tabindex="-1">My work</h2>
    ${PARTS.map(([part, title]) => html`<h3>${title}</h3>
      ${work[part].length
        ? html`<ul>${work[part].map((item) => html`<li>${itemButton(item, item.id === current, open)}</li>`)}</ul>`
        : html`<p class="empty">Nothing.</p>`}`)}
  </nav>`;
}

function itemButton(item, selected, open) {
  return html`<button type="button" class="item" aria-current=${selected ? "true" : "false"} @click=${() => open(item.id)}>
    <span class="name">${item.customer_name || "Unknown customer"}</span>
    <span class="meta">${channelLabel(item.channel)} · ${stateLabel(item.state)}${item.disposition ? ` · ${item.disposition}` : ""}</span>
    ${item.unread ? html`<span class="unread">${item.unread} unread</span>` : nothing}
    ${item.latest_message ? html`<span class="latest">${item.latest_message.body}</span>` : nothing}
  </button>`;
}
