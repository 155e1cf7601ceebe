// The supervisor dashboard: the live floor (tiles, the last hour, agents, what waits),
// a wall-board mode, and for admins the accounts and audit pages (admin.js). Started by
// the shell once a supervisor or admin is signed in, into an element of its own.
import { html, nothing, render } from "../vendor/lit-html-3.3.3/lit-html.js";
import * as api from "../api.js";
import { phoneBar, softphone } from "../softphone.js";
import { adminView, adminState } from "./admin.js";
import { agentsTable } from "./agents.js";
import { History, SAMPLE_MS, charts } from "./chart.js";
import { stateLabel } from "./format.js";
import { fieldHold, follower } from "./follow.js";
import { Floor, connectFloor } from "./live.js";
import { tiles } from "./tiles.js";
import { transcriptView, waitingView } from "./waiting.js";
import { workView } from "./work.js";

const LINKS = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  ended: "Signed out: reload the page to sign in again",
};
const PAGES = { "#floor": "Floor", "#accounts": "Accounts", "#audit": "Audit log" };
const ADMIN_PAGES = ["#accounts", "#audit"];
// The rows of the views read again as the floor changes.
const WAITING_ROWS = ".waiting-list tbody";
const WORK_ROWS = ".work tbody";
// What a supervisor joining a call is told: their own line rings (the phone in their
// profile), in the mode chosen; choosing another mode on it changes it.
const JOINED = {
  listen: "Listening: your line rings, and neither the agent nor the customer hears you.",
  whisper: "Whispering: the agent hears you, the customer does not.",
  barge: "Barged in: the agent and the customer both hear you.",
};

export function dashboard() {
  let root = null;
  let stopFloor = null;
  let ticker = null;
  let me = null;
  let floor = new Floor();
  let history = new History();
  let lastSample = 0;
  let state = {};
  const admin = adminState(() => draw(), announce);
  // The waiting list shown and the work of the agent shown, read again as the floor
  // changes under them; what such a read found waits while the supervisor is in a field
  // of its rows.
  const waitingFollower = follower(() => readWaiting());
  const workFollower = follower(() => readWork(true));
  let hold = null;
  // The browser phone a supervisor with no phone of their own joins calls on; its Hang up
  // leaves the call, ending only the supervisor's own leg.
  let phone = null;

  function start(element, _shell, agent) {
    root = element;
    hold = fieldHold(() => root);
    me = agent;
    floor = new Floor();
    history = new History();
    state = {
      link: "connecting",
      notice: "",
      busy: false,
      chosen: null,
      list: null,
      workOf: null,
      transcript: null,
      opener: null,
      phoneCall: null,
    };
    setWallboard(new URLSearchParams(location.search).get("wallboard") === "1");
    window.addEventListener("hashchange", onPage);
    stopFloor = connectFloor({
      onFrame: (frame) => {
        const now = Date.now();
        floor.apply(frame, now);
        sample(now, true);
        follow(frame);
        draw();
      },
      // The call's row in the work shown says how the supervisor is on it, or that they
      // are no more: read it again.
      onMonitor: () => {
        if (state.workOf) workFollower.changed();
      },
      onLink: (link) => {
        if (link !== state.link) set({ link });
      },
    });
    // The clocks (longest wait, time in state) tick on between pushes.
    ticker = setInterval(() => {
      sample(Date.now(), false);
      draw();
    }, 1000);
    showPage();
    api.voiceSetup().then((voice) => {
      if (!voice.browser_calls || agent.phone || !root) return;
      phone = softphone((phoneCall, rang) => {
        set({ phoneCall });
        if (rang) root?.querySelector("#phone-answer")?.focus();
      });
    }, () => {});
  }

  function stop() {
    phone?.stop();
    phone = null;
    stopFloor?.();
    clearInterval(ticker);
    waitingFollower.stop();
    workFollower.stop();
    hold?.stop();
    window.removeEventListener("hashchange", onPage);
    document.body.classList.remove("wallboard");
    stopFloor = ticker = root = null;
  }

  // A snapshot (a reconnect) may hide any change; a change frame names the rows that
  // changed. What an agent holds changes with their row (state; occupancy: an offer, a
  // completion) or with their queues' (an acceptance, which leaves the occupancy as the
  // offer made it, is counted there).
  function follow(frame) {
    const whole = frame.type === "floor";
    if (state.list !== null && (whole || frame.queues.some((row) => row.queue === state.chosen))) {
      waitingFollower.changed();
    }
    const shown = state.workOf && floor.agents.get(state.workOf.agent.id);
    if (!shown) return;
    const queues = new Set(shown.queues.map((q) => q.queue));
    if (
      whole ||
      frame.agents.some((agent) => agent.id === shown.id) ||
      frame.queues.some((row) => queues.has(row.queue))
    ) {
      workFollower.changed();
    }
  }

  // Read again without the busy state a supervisor's own action has (its buttons stay
  // usable) and without moving the focus; an answer for a view since closed or changed
  // is dropped. One the floor called for waits while the supervisor is in a field of
  // the view's rows (fieldHold).
  async function readWaiting() {
    const queue = state.chosen;
    try {
      const { waiting } = await api.waiting(queue);
      hold.whenLeft(WAITING_ROWS, () => {
        if (state.list !== null && state.chosen === queue) set({ list: waiting });
      });
    } catch (error) {
      set({ notice: `Not read again: ${error.message}` });
    }
  }

  async function readWork(followed = false) {
    const agent = state.workOf?.agent;
    if (!agent) return;
    try {
      const work = await api.agentWork(agent.id);
      const apply = () => {
        if (state.workOf?.agent.id === agent.id) set({ workOf: { ...state.workOf, work } });
      };
      if (followed) hold.whenLeft(WORK_ROWS, apply);
      else {
        hold.drop(WORK_ROWS);
        apply();
      }
    } catch (error) {
      set({ notice: `Not read again: ${error.message}` });
    }
  }

  function sample(now, pushed) {
    if (!pushed && now - lastSample < SAMPLE_MS) return;
    history.record([...floor.queues.values()], now);
    lastSample = now;
  }

  function set(changes) {
    state = { ...state, ...changes };
    draw();
  }

  function announce(notice) {
    set({ notice, busy: false });
  }

  function page() {
    const hash = location.hash in PAGES ? location.hash : "#floor";
    return ADMIN_PAGES.includes(hash) && me.role !== "admin" ? "#floor" : hash;
  }

  function showPage() {
    if (page() !== "#floor") admin.open(page());
    draw();
  }

  // Another page picked: the focus goes to its heading (on signing in it stays with the
  // shell's).
  function onPage() {
    showPage();
    root?.querySelector("#page-heading")?.focus();
  }

  function setWallboard(on) {
    document.body.classList.toggle("wallboard", on);
    const url = new URL(location.href);
    if (on) url.searchParams.set("wallboard", "1");
    else url.searchParams.delete("wallboard");
    // The address keeps the mode, so a wall screen reloads into it.
    window.history.replaceState(null, "", url);
  }

  async function attempt(work, done) {
    set({ busy: true, notice: "" });
    try {
      await work();
      announce(done);
    } catch (error) {
      announce(`Not done: ${error.message}`);
    }
  }

  const act = {
    show: async (queue) => {
      hold.drop(WAITING_ROWS);
      set({ busy: true, chosen: queue });
      try {
        const { waiting } = await api.waiting(queue);
        set({ list: waiting, busy: false });
      } catch (error) {
        announce(`Not shown: ${error.message}`);
      }
    },
    work: async (agent) => {
      hold.drop(WORK_ROWS);
      try {
        set({ workOf: { agent, work: await api.agentWork(agent.id) } });
        root.querySelector("#work-heading")?.focus();
      } catch (error) {
        announce(`Not shown: ${error.message}`);
      }
    },
    close: () => {
      const agent = state.workOf.agent;
      set({ workOf: null });
      root.querySelector(`#work-${CSS.escape(agent.id)}`)?.focus();
    },
    priority: (id, priority) =>
      attempt(() => api.setPriority(id, priority), `Priority set to ${priority}.`).then(refresh),
    move: (id, target) => attempt(() => api.moveInteraction(id, target), "Moved.").then(refresh),
    takeOver: (id) => attempt(() => api.takeOver(id), "Taken over: it is yours now.").then(refresh),
    // The mode pressed is the one the work list says, read again once it changed.
    monitor: (id, mode) => attempt(() => api.monitorCall(id, mode), JOINED[mode]).then(() => readWork()),
    monitoring: (item) => (item.monitor?.supervisor_id === me.id ? item.monitor.mode : null),
    open: async (id) => {
      try {
        set({ transcript: await api.interaction(id), opener: `#open-${CSS.escape(id)}` });
        root.querySelector("#transcript-heading")?.focus();
      } catch (error) {
        announce(`Not opened: ${error.message}`);
      }
    },
  };

  // What an action may have changed, read again: the waiting list and the agent's work shown.
  async function refresh() {
    await readWork();
    if (state.chosen) await act.show(state.chosen);
  }

  function closeTranscript() {
    const opener = state.opener;
    set({ transcript: null, opener: null });
    root.querySelector(opener)?.focus();
  }

  const setStatus = (agent, status) =>
    attempt(
      () => api.setAgentStatus(agent.id, status),
      `${agent.display_name || agent.username} is now ${stateLabel(status)}.`,
    );

  function draw() {
    if (!root) return;
    render(view(Date.now()), root);
  }

  function view(now) {
    const wallboard = document.body.classList.contains("wallboard");
    const rows = [...floor.queues.keys()].sort().map((key) => floor.queues.get(key));
    const current = page();
    return html`
      <nav class="board-nav" aria-label="Dashboard">
        ${me.role === "admin"
          ? Object.entries(PAGES).map(
              ([hash, label]) => html`<a href=${hash} aria-current=${current === hash ? "page" : "false"}>${label}</a>`,
            )
          : nothing}
        <button type="button" class="wallboard-toggle" aria-pressed=${wallboard ? "true" : "false"}
          @click=${() => { setWallboard(!wallboard); draw(); }}>
          ${wallboard ? "Leave wall-board" : "Wall-board mode"}
        </button>
        <p class="link link-${state.link}" role="status">${LINKS[state.link]}</p>
      </nav>
      <p class="board-notice" role="status">${state.notice}</p>
      ${state.phoneCall ? phoneBar(state.phoneCall, now, phone) : nothing}
      ${current === "#floor" ? floorView(rows, now) : adminView(admin, current)}
    `;
  }

  function floorView(rows, now) {
    const agents = [...floor.agents.values()];
    const queues = [...new Set(rows.map((row) => row.queue))].sort();
    return html`
      <h2 id="page-heading" class="visually-hidden" tabindex="-1">Floor</h2>
      <section aria-labelledby="tiles-heading">
        <h2 id="tiles-heading">Queues</h2>
        ${tiles(rows, now)}
      </section>
      <section aria-labelledby="chart-heading" class="chart-section">
        <h2 id="chart-heading">Waiting, last hour</h2>
        ${charts(history, now)}
      </section>
      <section aria-labelledby="agents-heading" class="controls">
        <h2 id="agents-heading">Agents</h2>
        ${agentsTable(agents, now, { setStatus, showWork: act.work, busy: state.busy })}
        ${state.workOf ? workView(state.workOf, queues, agents, state.busy, act) : nothing}
      </section>
      <section aria-labelledby="waiting-heading" class="controls">
        <h2 id="waiting-heading">Waiting interactions</h2>
        ${waitingView(
          { queues, agents, chosen: state.chosen ?? queues[0], list: state.list, busy: state.busy },
          now,
          act,
        )}
      </section>
      ${state.transcript ? transcriptView(state.transcript, closeTranscript) : nothing}
    `;
  }

  return { start, stop };
}
