// Words for the service's codes, shown the same way in every part of the desk.
const CHANNELS = { sms: "SMS", email: "Email", chat: "Chat", voice: "Call" };
const STATES = {
  offered: "offered",
  queued: "waiting",
  assigned: "yours",
  parked: "set aside",
  wrap_up: "wrap-up",
  completed: "done",
  cancelled: "ended",
};

export const channelLabel = (channel) => CHANNELS[channel] ?? channel;
export const stateLabel = (state) => STATES[state] ?? state;
export const shortTime = (iso) => new Date(iso).toLocaleTimeString([], { timeStyle: "short" });
export const shortDate = (iso) => new Date(iso).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
