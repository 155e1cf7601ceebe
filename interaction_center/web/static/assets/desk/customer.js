// The customer panel: who the customer is (name, identities), their history across
// channels a page at a time, their name edited, and another record found (by phone, email
// or name) and merged into this one, or a merge undone.
import { html, nothing } from "../vendor/lit-html-3.3.3/lit-html.js";
import { submitted } from "./forms.js";
import { channelLabel, shortDate, stateLabel } from "./labels.js";

const SEARCH_BY = [
  ["phone", "Phone"],
  ["email", "Email"],
  ["name", "Name"],
];

export function customerPanel(view, actions) {
  if (!view?.record) return html`<section class="customer" aria-label="Customer"><p>Loading the customer…</p></section>`;
  const { record, history, found } = view;
  return html`<section class="customer" aria-labelledby="customer-heading">
    <h2 id="customer-heading">${record.display_name || "Unknown customer"}</h2>
    <ul class="identities" aria-label="Identities">
      ${record.identities.map((i) => html`<li>${i.kind}: ${i.value}${i.opted_out_at ? " (opted out)" : ""}</li>`)}
    </ul>
    <details>
      <summary>Edit the name</summary>
      <form @submit=${(e) => actions.rename(record.id, submitted(e).get("name"))}>
        <label for="customer-name">Name</label>
        <input id="customer-name" name="name" .value=${record.display_name} required />
        <button type="submit">Save</button>
      </form>
    </details>
    <h3>History</h3>
    <ol class="history">
      ${history.map((i) => html`<li>
        ${channelLabel(i.channel)} · ${stateLabel(i.state)}${i.disposition ? ` · ${i.disposition}` : ""}
        · <time datetime=${i.created_at}>${shortDate(i.created_at)}</time>
        ${i.messages.length ? html`<p class="latest">${i.messages.at(-1).body}</p>` : nothing}
      </li>`)}
    </ol>
    ${record.next_before
      ? html`<button type="button" class="secondary" @click=${() => actions.older(record.id, record.next_before)}>Older</button>`
      : nothing}
    ${undoable(record, actions)}
    <details>
      <summary>Find and merge another record</summary>
      <form @submit=${(e) => {
        const form = submitted(e);
        actions.search(form.get("by"), form.get("value"));
      }}>
        <label for="search-by">Search by</label>
        <select id="search-by" name="by">${SEARCH_BY.map(([by, label]) => html`<option .value=${by}>${label}</option>`)}</select>
        <label for="search-value">Look for</label>
        <input id="search-value" name="value" required />
        <button type="submit">Search</button>
      </form>
      ${found
        ? html`<ul class="found" aria-label="Customers found">
            ${found.length ? nothing : html`<li>Nobody found.</li>`}
            ${found.filter((c) => c.id !== record.id).map((c) => html`<li>
              ${c.display_name || "Unknown"} (${c.identities.map((i) => i.value).join(", ")})
              <button type="button" class="secondary" @click=${() => actions.merge(record.id, c.id)}>Merge into this customer</button>
            </li>`)}
          </ul>`
        : nothing}
    </details>
  </section>`;
}

// The merges into this record still in force, each with its undoing.
function undoable(record, actions) {
  const merges = record.merges.filter((m) => !m.unmerged_at);
  if (!merges.length) return nothing;
  return html`<h3>Merged into this record</h3>
    <ul class="merges">
      ${merges.map((m) => html`<li>
        On <time datetime=${m.merged_at}>${shortDate(m.merged_at)}</time>
        <button type="button" class="secondary" @click=${() => actions.unmerge(record.id, m.id)}>Undo this merge</button>
      </li>`)}
    </ul>`;
}
