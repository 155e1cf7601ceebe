// The last hour per queue: how many waited, sampled here from the pushes (the service
// keeps no history of it), drawn as a small SVG line with a sentence that says the same
// for those who cannot see it. History starts when the page opens.
import { html, svg } from "../vendor/lit-html-3.3.3/lit-html.js";

const HOUR_MS = 3600 * 1000;
// A sample at least this often, so a quiet queue's line runs on to now.
export const SAMPLE_MS = 10 * 1000;
const WIDTH = 320;
const HEIGHT = 80;

export class History {
  constructor() {
    this.samples = new Map(); // queue -> [{at, waiting}], oldest first
  }

  // Every queue's waiting now (all its channels together), from the floor's rows.
  record(rows, now) {
    const totals = new Map();
    for (const row of rows) totals.set(row.queue, (totals.get(row.queue) ?? 0) + row.waiting);
    for (const [queue, waiting] of totals) {
      const samples = this.samples.get(queue) ?? [];
      samples.push({ at: now, waiting });
      while (samples.length && samples[0].at < now - HOUR_MS) samples.shift();
      this.samples.set(queue, samples);
    }
  }
}

export function charts(history, now) {
  const queues = [...history.samples.keys()].sort();
  return html`<ul class="charts">${queues.map((queue) => chart(queue, history.samples.get(queue), now))}</ul>`;
}

function chart(queue, samples, now) {
  const most = Math.max(1, ...samples.map((s) => s.waiting));
  const x = (at) => (((at - (now - HOUR_MS)) / HOUR_MS) * WIDTH).toFixed(1);
  const y = (waiting) => (HEIGHT - (waiting / most) * (HEIGHT - 4)).toFixed(1);
  // A step line: the count holds until the next sample changes it.
  const points = samples.flatMap((s, i) => [
    ...(i ? [`${x(s.at)},${y(samples[i - 1].waiting)}`] : []),
    `${x(s.at)},${y(s.waiting)}`,
  ]);
  points.push(`${x(now)},${y(samples.at(-1).waiting)}`);
  const first = new Date(samples[0].at).toLocaleTimeString([], { timeStyle: "short" });
  const peak = Math.max(...samples.map((s) => s.waiting));
  const summary = `${queue}: ${samples.at(-1).waiting} waiting now, at most ${peak} since ${first}.`;
  return html`
    <li class="chart">
      <h3>${queue}</h3>
      <svg viewBox="0 0 ${WIDTH} ${HEIGHT}" width="100%" height=${HEIGHT} preserveAspectRatio="none"
        role="img" aria-label=${`Waiting in ${queue} over the last hour`}>
        ${svg`<line class="axis" x1="0" y1=${HEIGHT} x2=${WIDTH} y2=${HEIGHT}></line>
          <polyline class="line" points=${points.join(" ")}></polyline>`}
      </svg>
      <p class="summary">${summary}</p>
    </li>
  `;
}
