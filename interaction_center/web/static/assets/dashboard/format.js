// How the dashboard writes figures: durations as m:ss (h:mm:ss past an hour), shares as
// whole percentages, and "—" where there is nothing to tell yet.

export const NONE = "—";

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return NONE;
  const whole = Math.max(0, Math.floor(seconds));
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = String(whole % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

export const percent = (share) => (share === null || share === undefined ? NONE : `${Math.round(share * 100)} %`);

export const CHANNELS = { sms: "SMS", email: "Email", chat: "Chat", voice: "Voice" };
export const channelLabel = (channel) => CHANNELS[channel] ?? channel;

export const STATES = { available: "Available", away: "Away", offline: "Offline", wrap_up: "Wrap-up" };
export const stateLabel = (state) => STATES[state] ?? state;

// Seconds since an ISO time, as of ``now`` (milliseconds).
export const since = (iso, now) => (now - Date.parse(iso)) / 1000;
