// The browser phone, and its bar on a page: Twilio's Voice SDK (vendored; a classic script that sets
// window.Twilio, loaded the first time a page needs it), registered with the signed-in
// agent's token (GET /api/v1/voice/token) and given a new one before it expires. A call
// reaches it when the service puts an accepted call through to the agent's browser
// (client:<username>: agents with no phone in their profile), or rings a supervisor who
// joins a call.
//
// Its sounds are the service's own (assets/sounds/, made by scripts/softphone_sounds.py):
// any the SDK is not given it fetches from Twilio's CDN, which the pages' policy refuses.
// It sends Twilio no call-quality reports (publishEvents) for the same reason.
import * as api from "./api.js";
import { html, nothing } from "./vendor/lit-html-3.3.3/lit-html.js";

const SDK = "/assets/vendor/twilio-voice-sdk-2.18.5/twilio.min.js";
const SOUND_NAMES = ["incoming", "outgoing", "disconnect", ..."0123456789sh"].map((name) =>
  name.length === 1 ? `dtmf${name}` : name,
);
const SOUNDS = Object.fromEntries(SOUND_NAMES.map((name) => [name, `/assets/sounds/${name}.wav`]));

let loading = null;

function loadSdk() {
  loading ??= new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = SDK;
    script.addEventListener("load", () => resolve(window.Twilio));
    script.addEventListener("error", () => {
      loading = null;
      reject(new Error("the phone's library did not load"));
    });
    document.head.append(script);
  });
  return loading;
}

// ``onChange(phone, rang)`` after each change, phone being {phase, muted, since, problem}:
// phase "connecting", "ready", "offline", "ringing" (a call waits to be answered here) or
// "talking" (since: when it was answered); ``rang``: it has just started ringing. What it
// returns is the phone bar's ``act`` as it is.
export function softphone(onChange) {
  let device = null;
  let call = null;
  let stopped = false;
  let phone = { phase: "connecting", muted: false, since: 0, problem: "" };

  function set(changes) {
    const rang = changes.phase === "ringing" && phone.phase !== "ringing";
    phone = { ...phone, ...changes };
    if (!stopped) onChange(phone, rang);
  }

  async function renew() {
    try {
      device?.updateToken((await api.voiceToken()).token);
    } catch (error) {
      set({ problem: `The phone's sign-in was not renewed: ${error.message}` });
    }
  }

  function ringing(incoming) {
    call = incoming;
    const over = () => {
      if (call !== incoming) return;
      call = null;
      set({ phase: device?.state === "registered" ? "ready" : "offline", muted: false, since: 0 });
    };
    incoming.on("accept", () => set({ phase: "talking", since: Date.now(), problem: "" }));
    incoming.on("mute", (muted) => set({ muted }));
    for (const name of ["disconnect", "cancel", "reject"]) incoming.on(name, over);
    incoming.on("error", (error) => set({ problem: error.message }));
    set({ phase: "ringing", muted: false });
  }

  async function start() {
    try {
      const { Device } = await loadSdk();
      const { token } = await api.voiceToken();
      if (stopped) return;
      device = new Device(token, { publishEvents: false, sounds: SOUNDS, logLevel: "warn", closeProtection: true });
      device.on("registered", () => set({ phase: call ? phone.phase : "ready", problem: "" }));
      device.on("unregistered", () => set({ phase: "offline" }));
      device.on("error", (error) => set({ problem: error.message }));
      device.on("tokenWillExpire", renew);
      device.on("incoming", ringing);
      await device.register();
    } catch (error) {
      set({ phase: "offline", problem: error.message });
    }
  }

  start();
  return {
    answer: () => call?.accept(),
    decline: () => call?.reject(),
    mute: (on) => call?.mute(on),
    hangUp: () => call?.disconnect(),
    stop() {
      stopped = true;
      device?.destroy();
      device = call = null;
    },
  };
}

const PHASES = {
  connecting: "Browser phone: connecting…",
  ready: "Browser phone ready: calls you accept ring here.",
  offline: "Browser phone offline: calls you accept cannot ring here.",
  ringing: "The browser phone is ringing: your call.",
};

// The browser phone's bar; ``act``: answer(), decline(), mute(on), hangUp(); ``shortcut``:
// the page's key for answering, if it has one.
export function phoneBar(phone, now, act, shortcut = "") {
  const talking = phone.phase === "talking";
  const seconds = talking ? Math.max(0, Math.floor((now - phone.since) / 1000)) : 0;
  return html`<section class=${`phone ${phone.phase}`} aria-label="Browser phone">
    <p role="status">${talking ? `On the call, ${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}` : PHASES[phone.phase]}</p>
    ${phone.problem ? html`<p class="error">${phone.problem}</p>` : nothing}
    ${phone.phase === "ringing"
      ? html`<button type="button" id="phone-answer" @click=${act.answer}>Answer ${shortcut ? html`<kbd>${shortcut}</kbd>` : nothing}</button>
          <button type="button" class="secondary" @click=${act.decline}>Decline</button>`
      : nothing}
    ${talking
      ? html`<button type="button" aria-pressed=${phone.muted ? "true" : "false"} @click=${() => act.mute(!phone.muted)}>Mute</button>
          <button type="button" class="danger" @click=${act.hangUp}>Hang up</button>`
      : nothing}
  </section>`;
}
