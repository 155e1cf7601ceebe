// The wrap-up (after-contact work) after completing: the seconds left until the end the
// service tells (GET /agents/me's wrap_up_until), or how long it has lasted when it tells
// none; extended or ended now.
import { html } from "../vendor/lit-html-3.3.3/lit-html.js";

export const EXTEND_SECONDS = 60;

// The wrap-up to show for the agent as GET /agents/me has them: to its end, else from when
// their status changed; none out of wrap-up.
export const wrapUpOf = (agent) =>
  agent.status === "wrap_up"
    ? { until: agent.wrap_up_until ? Date.parse(agent.wrap_up_until) : null, since: Date.parse(agent.status_changed_at) }
    : null;

export function wrapUpView({ until, since }, now, { extend, end }) {
  const words = until
    ? `${Math.max(0, Math.ceil((until - now) / 1000))} s left`
    : `for ${Math.max(0, Math.floor((now - since) / 1000))} s`;
  return html`<section class="wrap-up card" aria-labelledby="wrap-up-heading">
    <h2 id="wrap-up-heading" tabindex="-1">Wrap-up</h2>
    <p>After-contact work, <span class="countdown">${words}</span>.</p>
    <button type="button" class="secondary" @click=${extend}>Extend by ${EXTEND_SECONDS} s</button>
    <button type="button" @click=${end}>End now</button>
  </section>`;
}
