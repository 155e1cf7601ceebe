// The desk's keyboard shortcuts, and the dialog that lists them (Ctrl+K, the command bar,
// besides). Alt with a letter, which
// typing never needs, so they work from inside the reply box too; matched by the key's
// place (event.code), as Alt changes the letter typed on some layouts.
import { html } from "../vendor/lit-html-3.3.3/lit-html.js";

const SHORTCUTS = [
  ["KeyA", "Alt+A", "Accept the oldest offer", "accept"],
  ["KeyP", "Alt+P", "Answer the browser phone", "answer"],
  ["KeyR", "Alt+R", "Go to the reply box", "reply"],
  ["KeyC", "Alt+C", "Complete the conversation (choose a disposition)", "complete"],
  ["KeyN", "Alt+N", "Next conversation", "next"],
  ["Slash", "Alt+/", "These shortcuts", "help"],
];

export function shortcutHandler(handlers) {
  return (event) => {
    if ((event.ctrlKey || event.metaKey) && !event.altKey && event.code === "KeyK") {
      event.preventDefault();
      handlers.commands();
      return;
    }
    if (!event.altKey || event.ctrlKey || event.metaKey) return;
    const found = SHORTCUTS.find(([code]) => code === event.code);
    if (!found) return;
    event.preventDefault();
    handlers[found[3]]();
  };
}

export function helpDialog() {
  return html`<dialog id="shortcuts" aria-labelledby="shortcuts-heading">
    <h2 id="shortcuts-heading">Keyboard shortcuts</h2>
    <dl>
      ${SHORTCUTS.map(([, keys, what]) => html`<dt><kbd>${keys}</kbd></dt><dd>${what}</dd>`)}
      <dt><kbd>Ctrl+K</kbd></dt><dd>The command bar: any of these, or a conversation by its customer</dd>
      <dt><kbd>Ctrl+Enter</kbd></dt><dd>Send the reply being written</dd>
      <dt><kbd>/</kbd> and a shortcut</dt><dd>In the reply box: a canned response</dd>
    </dl>
    <form method="dialog"><button type="submit">Close</button></form>
  </dialog>`;
}
