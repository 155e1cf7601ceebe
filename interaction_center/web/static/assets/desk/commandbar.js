// The command bar (Ctrl+K): what the desk can do now, and the conversations of the work
// list by their customer's name, found by typing a part of their words; Enter runs the
// first one found.
import { html } from "../vendor/lit-html-3.3.3/lit-html.js";
import { submitted } from "./forms.js";

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
