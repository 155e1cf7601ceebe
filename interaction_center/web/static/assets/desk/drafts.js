// Replies being written, per interaction: kept in memory and in sessionStorage, so neither
// a dropped connection nor a reload of the tab loses what the agent typed. Cleared when
// sent. Kept per agent: another agent signing in on the tab (say, taking a conversation
// transferred to them) never finds the first one's words in the reply box.
export function draftsOf(agentId) {
  const key = `ic.drafts.${agentId}`;
  let drafts;
  try {
    drafts = JSON.parse(sessionStorage.getItem(key) ?? "{}") ?? {};
  } catch {
    drafts = {};
  }
  return {
    draft: (interactionId) => drafts[interactionId] ?? "",
    keep(interactionId, text) {
      if (text) drafts[interactionId] = text;
      else delete drafts[interactionId];
      sessionStorage.setItem(key, JSON.stringify(drafts));
    },
  };
}
