// A view read again as the floor changes under it (the waiting list, an agent's work):
// the floor pushes twice a second and a busy queue changes at every push, so the reads
// are coalesced: at most one in flight, started at most once per GAP_MS, and a change
// heard meanwhile is read by the next one rather than lost. What such a read found waits
// while the focus is in a field of the view's rows (fieldHold).

const GAP_MS = 1000;

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
    // A failed read says so itself (``read`` handles its errors); the next change tries
    // again, even after one that threw rather than failed its promise.
    Promise.resolve()
      .then(read)
      .finally(() => {
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

// The rows are kept by key (lit-html's repeat), so a field stays with its interaction; but
// a row that moves or a value read again under a half-typed priority or a chosen target
// would pull it from under the supervisor. So what a read found waits while the focus is
// in a field of the view's rows (``rows``: a selector under ``root()``), and is shown once
// the focus leaves it: the latest read of each view. Returns
// {whenLeft(rows, show), drop(rows), stop()}.
export function fieldHold(root) {
  const held = new Map();

  function inField(rows) {
    const field = document.activeElement;
    return Boolean(field?.matches("input, select") && root()?.querySelector(rows)?.contains(field));
  }

  // After the focus has moved (focusout comes before it lands).
  function onFocusOut() {
    setTimeout(() => {
      for (const [rows, show] of held) {
        if (!inField(rows)) {
          held.delete(rows);
          show();
        }
      }
    });
  }

  document.addEventListener("focusout", onFocusOut);
  return {
    whenLeft(rows, show) {
      if (inField(rows)) held.set(rows, show);
      else {
        held.delete(rows);
        show();
      }
    },
    // A read the supervisor asked for (their own action) replaces what waits.
    drop(rows) {
      held.delete(rows);
    },
    stop() {
      held.clear();
      document.removeEventListener("focusout", onFocusOut);
    },
  };
}
