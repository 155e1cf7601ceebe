// The command bar (Ctrl+K): what the desk can do now, and the conversations of the work
// list by their customer's name, found by typing a part of their words; Enter runs the
// first one found.
import { html } from "../vendor/lit-html-3.3.3/lit-html.js";
import { submitted } from "./forms.js";
import { channelLabel } from "./labels.js";

const matching = (query, commands) => {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  return commands.filter((command) => words.every((word) => command.label.toLowerCase().includes(word)));
};

export function commandBar(query, commands, { filter, run }) {
  const shown = matching(query, commands);
  return html`<dialog id="command-bar" aria-labelledby="command-heading">
    <h2 id="command-heading">Commands</h2>
    <form @submit=${(e) => {
      submitted(e);
      if (shown[0]) run(shown[0]);
    }}>
      <label for="command-query">A command or a customer</label>
      <input id="command-query" autocomplete="off" .value=${query} @input=${(e) => filter(e.target.value)} />
    </form>
    ${shown.length
      ? html`<ul class="commands" aria-label="Commands found">
          ${shown.map((command) => html`<li><button type="button" class="secondary" @click=${() => run(command)}>${command.label}</button></li>`)}
        </ul>`
      : html`<p class="empty">Nothing matches.</p>`}
  </dialog>`;
}

// What the command bar offers now: the shortcuts' actions that apply (`keys`, as the
// shortcuts run them), and every conversation of the work list by its customer.
export function deskCommands(state, keys, open) {
  const items = [...state.work.assigned, ...state.work.parked, ...state.work.recent];
  return [
    ...(state.offers.length ? [{ label: "Accept the oldest offer", act: keys.accept }] : []),
    ...(state.phoneCall?.phase === "ringing" ? [{ label: "Answer the browser phone", act: keys.answer }] : []),
    ...(state.current
      ? [
          { label: "Go to the reply box", act: keys.reply },
          { label: "Complete the conversation", act: keys.complete },
        ]
      : []),
    ...(items.length ? [{ label: "Next conversation", act: keys.next }] : []),
    ...items.map((item) => ({
      label: `Open ${channelLabel(item.channel)} with ${item.customer_name || "the customer"}`,
      act: () => open(item.id),
    })),
    { label: "Keyboard shortcuts", act: keys.help },
  ];
}
