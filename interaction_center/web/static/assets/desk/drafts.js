// Replies being written, per interaction: kept in memory and in sessionStorage, so neither
// a dropped connection nor a reload of the tab loses what the agent typed. Cleared when sent.
const KEY = "ic.drafts";

function load() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) ?? "{}") ?? {};
  } catch {
    return {};
  }
}

const drafts = load();

export const draft = (interactionId) => drafts[interactionId] ?? "";

export function keepDraft(interactionId, text) {
  if (text) drafts[interactionId] = text;
  else delete drafts[interactionId];
  sessionStorage.setItem(KEY, JSON.stringify(drafts));
}
