// A view read again as the floor changes under it (the waiting list, an agent's work):
// the floor pushes twice a second and a busy queue changes at every push, so the reads
// are coalesced: at most one in flight, started at most once per GAP_MS, and a change
// heard meanwhile is read by the next one rather than lost.

export const GAP_MS = 1000;

// ``read()`` returns a promise; ``changed()`` asks for it to run again soon. Returns
// {changed, stop}.
export function follower(read) {
  let running = false;
  let wanted = false;
  let timer = null;
  let last = -Infinity;

  function start() {
    timer = null;
    wanted = false;
    running = true;
    last = Date.now();
    // A failed read says so itself (``read`` handles its errors); the next change tries again.
    read().finally(() => {
      running = false;
      if (wanted) schedule();
    });
  }

  function schedule() {
    if (running || timer !== null) return;
    timer = setTimeout(start, Math.max(0, last + GAP_MS - Date.now()));
  }

  return {
    changed() {
      wanted = true;
      schedule();
    },
    stop() {
      clearTimeout(timer);
      timer = null;
      wanted = false;
    },
  };
}
