// The supervisor's live floor over the WebSocket (signed in by the session cookie): a
// snapshot on subscribing, then the rows that changed. A dropped socket is opened again
// after a pause that doubles up to half a minute, and resumes from the last frame seen,
// so nothing in between is missed (the service sends a fresh snapshot if it no longer
// keeps those changes).

const FIRST_PAUSE_MS = 1000;
const LONGEST_PAUSE_MS = 30000;
// The service closes a socket whose login ended (sign-out, deactivation) with 4001, and
// one it cannot sign in (the session expired) with 4401: opening it again would not help.
const SIGNED_OUT = [4001, 4401];

const key = (row) => `${row.queue}/${row.channel}`;

// The floor as the frames tell it: queue rows (each with when it arrived, for the longest
// wait to tick on between pushes) and agents.
export class Floor {
  constructor() {
    this.queues = new Map();
    this.agents = new Map();
  }

  apply(frame, now) {
    if (frame.type === "floor") {
      this.queues.clear();
      this.agents.clear();
    }
    for (const row of frame.queues) this.queues.set(key(row), { ...row, received: now });
    for (const agent of frame.agents) this.agents.set(agent.id, agent);
    for (const id of frame.removed_agents ?? []) this.agents.delete(id);
  }
}

// ``onFrame(frame)`` for each floor frame; ``onMonitor(frame)`` when the supervisor's own
// leg on a call is put on or ends (a "monitor" frame: the same socket carries it);
// ``onLink(state)``: "live", "reconnecting" or "ended". Returns what stops it.
export function connectFloor({ onFrame, onMonitor, onLink }) {
  let socket = null;
  let since = null;
  let pause = FIRST_PAUSE_MS;
  let timer = null;
  let stopped = false;

  function open() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}/api/v1/ws`);
    socket.addEventListener("open", () => {
      const subscribe = { type: "subscribe", topic: "floor" };
      socket.send(JSON.stringify(since === null ? subscribe : { ...subscribe, since }));
      // Live from here: a resumed subscription that missed nothing gets no frame at once.
      pause = FIRST_PAUSE_MS;
      onLink("live");
    });
    socket.addEventListener("message", (event) => {
      const frame = JSON.parse(event.data);
      if (frame.type === "monitor") onMonitor(frame);
      if (frame.type !== "floor" && frame.type !== "floor_changes") return;
      since = frame.seq;
      onFrame(frame);
    });
    socket.addEventListener("close", (event) => {
      if (stopped) return;
      if (SIGNED_OUT.includes(event.code)) {
        onLink("ended");
        return;
      }
      onLink("reconnecting");
      timer = setTimeout(open, pause);
      pause = Math.min(pause * 2, LONGEST_PAUSE_MS);
    });
  }

  open();
  return () => {
    stopped = true;
    clearTimeout(timer);
    socket?.close();
  };
}
