// The agent's live socket (GET /api/v1/ws), signed in by the session cookie its handshake
// carries. It opens again by itself after a drop, waiting longer after each failure (so a
// service that is down is not hammered), naming the last number of each stream of the
// event log its frames came from: the service then sends what it missed, or says in its
// hello that the desk must read its state again (too far behind).

// The service closes with these when the session is over: opening again would not help.
const SESSION_OVER = new Set([4001, 4401]);
const FIRST_DELAY_MS = 500;
const LONGEST_DELAY_MS = 15_000;

export function liveSocket({ onFrame, onOpen, onDrop, onSessionOver }) {
  let socket = null;
  let delay = FIRST_DELAY_MS;
  let timer = 0;
  let stopped = false;
  // How far the frames have come, per stream of the event log: each frame's own, and the
  // positions the service tells (a fresh hello's, after what a reconnect missed, every few
  // seconds). A resumed hello's are not taken: what was missed is still on its way.
  let seen = null;

  function open() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const since = seen ? `?interactions=${seen.interactions}&agents=${seen.agents}` : "";
    socket = new WebSocket(`${scheme}://${location.host}/api/v1/ws${since}`);
    socket.addEventListener("open", () => {
      delay = FIRST_DELAY_MS;
      onOpen();
    });
    socket.addEventListener("message", (event) => {
      const frame = JSON.parse(event.data);
      if ((frame.type === "hello" && !frame.resumed) || frame.type === "position") seen = frame.log;
      else if (frame.type !== "hello" && frame.log && seen) seen = { ...seen, [frame.log.stream]: frame.log.seq };
      onFrame(frame);
    });
    socket.addEventListener("close", (event) => {
      if (stopped) return;
      if (SESSION_OVER.has(event.code)) {
        onSessionOver();
        return;
      }
      onDrop();
      timer = setTimeout(open, delay);
      delay = Math.min(delay * 2, LONGEST_DELAY_MS);
    });
  }

  // Back online: no reason to wait out the back-off.
  function online() {
    if (stopped || socket?.readyState !== WebSocket.CLOSED) return;
    clearTimeout(timer);
    open();
  }

  window.addEventListener("online", online);
  open();
  return {
    send(frame) {
      if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
      window.removeEventListener("online", online);
      socket?.close();
    },
  };
}
