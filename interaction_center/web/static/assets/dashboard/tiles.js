// A tile per queue and channel: what waits and for how long, the day's service level,
// speed of answer and abandons, who is there and how busy. The longest wait ticks on
// between pushes; past the queue's answer target the tile says so in words and an icon
// as well as its colour.
import { html, nothing } from "../vendor/lit-html-3.3.3/lit-html.js";
import { NONE, channelLabel, duration, percent, stateLabel } from "./format.js";

// The longest wait now: as pushed, plus the time since, while anything waits.
export const longestWait = (row, now) =>
  row.waiting ? row.longest_wait_seconds + (now - row.received) / 1000 : 0;

export const missed = (row, now) =>
  row.answer_target_seconds !== null && row.waiting > 0 && longestWait(row, now) > row.answer_target_seconds;

export function tiles(rows, now) {
  if (!rows.length) return html`<p>No queues yet.</p>`;
  return html`<ul class="tiles">${rows.map((row) => tile(row, now))}</ul>`;
}

function tile(row, now) {
  const late = missed(row, now);
  const id = `tile-${row.queue}-${row.channel}`;
  const agents = Object.entries(row.agents).filter(([, count]) => count > 0);
  return html`
    <li class="tile ${late ? "missed" : "on-target"}" aria-labelledby=${id}>
      <h3 id=${id}>${row.queue} · ${channelLabel(row.channel)}</h3>
      <p class="target ${row.answer_target_seconds === null ? "none" : ""}">
        ${late
          ? html`<span aria-hidden="true">⚠</span> Target missed: waiting past ${duration(row.answer_target_seconds)}`
          : row.answer_target_seconds === null
            ? "No answer target"
            : html`<span aria-hidden="true">✓</span> On target (${duration(row.answer_target_seconds)})`}
      </p>
      <dl>
        <div class="big"><dt>Waiting</dt><dd class="waiting">${row.waiting}</dd></div>
        <div class="big"><dt>Longest wait</dt><dd class="longest">${duration(longestWait(row, now))}</dd></div>
        <div><dt>Service level</dt><dd>${percent(row.service_level)}</dd></div>
        <div><dt>Speed of answer</dt><dd>${duration(row.average_speed_of_answer_seconds)}</dd></div>
        <div><dt>Answered</dt><dd>${row.answered}</dd></div>
        <div>
          <dt>Abandoned</dt>
          <dd>${row.abandoned}${row.short_abandoned ? ` (+${row.short_abandoned} short)` : nothing}</dd>
        </div>
        <div><dt>Occupancy</dt><dd>${percent(row.occupancy)}</dd></div>
        <div>
          <dt>Agents</dt>
          <dd>${agents.length ? agents.map(([state, count]) => `${stateLabel(state)} ${count}`).join(", ") : NONE}</dd>
        </div>
      </dl>
    </li>
  `;
}
