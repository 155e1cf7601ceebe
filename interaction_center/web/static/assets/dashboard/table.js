// The dashboard's tables and forms: a table that scrolls inside its own box (a narrow
// screen scrolls it, never the page), reachable by keyboard to scroll it; and a form's
// submit handler that keeps the page and hands over the form's fields.
import { html } from "../vendor/lit-html-3.3.3/lit-html.js";

export function scrollTable(name, headers, rows) {
  return html`
    <div class="table-scroll" tabindex="0" role="region" aria-label=${name}>
      <table>
        <thead>
          <tr>${headers.map((header) => html`<th scope="col">${header}</th>`)}</tr>
        </thead>
        <tbody>${rows}</tbody>
      </table>
    </div>
  `;
}

// ``handler(fields, form)`` on submitting, instead of the browser's page load.
export const submitted = (handler) => (event) => {
  event.preventDefault();
  handler(new FormData(event.target), event.target);
};
