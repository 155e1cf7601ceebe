// Offers ringing: a toast each, with what is offered and the seconds left to take it; a
// browser notification when the tab is hidden; a short beep made by WebAudio (no sound
// file, nothing inline for the CSP to refuse).
import { html, nothing } from "../vendor/lit-html-3.3.3/lit-html.js";
import { channelLabel } from "./labels.js";

// One shape for an offer, whether it came as an `offer` frame or in the `hello` frame
// (interactions with their open offer, as GET /offers gives them).
export function fromFrame(frame) {
  return {
    offerId: frame.offer_id,
    interactionId: frame.interaction_id,
    channel: frame.channel,
    queue: frame.queue,
    expiresAt: Date.parse(frame.expires_at),
    from: frame.preview?.from ?? "",
    body: frame.preview?.body ?? "",
    transferNote: frame.transfer_note,
  };
}

export function fromInteraction(interaction) {
  const inbound = interaction.messages.filter((m) => m.direction === "inbound").at(-1);
  return {
    offerId: interaction.offer.id,
    interactionId: interaction.id,
    channel: interaction.channel,
    queue: interaction.queue,
    expiresAt: Date.parse(interaction.offer.expires_at),
    from: inbound?.from ?? "",
    body: inbound?.body.slice(0, 160) ?? "",
    transferNote: interaction.transfer_note,
  };
}

export const secondsLeft = (offer, now) => Math.max(0, Math.ceil((offer.expiresAt - now) / 1000));

let audio = null;

export function ring(offer, customerName) {
  beep();
  if (document.visibilityState === "hidden" && "Notification" in window && Notification.permission === "granted") {
    const note = new Notification(`New ${channelLabel(offer.channel)} from ${customerName || offer.from}`, {
      body: offer.body,
      tag: offer.offerId,
    });
    note.addEventListener("click", () => window.focus());
  }
}

function beep() {
  // Browsers let a page make sound only once someone has used it; before that, silence.
  if (!navigator.userActivation?.hasBeenActive || !window.AudioContext) return;
  audio ??= new AudioContext();
  const tone = audio.createOscillator();
  const volume = audio.createGain();
  tone.frequency.value = 880;
  volume.gain.setValueAtTime(0.2, audio.currentTime);
  volume.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.4);
  tone.connect(volume).connect(audio.destination);
  tone.start();
  tone.stop(audio.currentTime + 0.4);
}

// Asked on a click only: browsers refuse (and remember refusing) a page that asks unbidden.
export const mayAskToNotify = () => "Notification" in window && Notification.permission === "default";
export const askToNotify = () => Notification.requestPermission();

export function offerToasts(offers, now, names, { accept, reject }) {
  return html`<section class="toasts" aria-label="Offers" aria-live="assertive">
    ${offers.map((offer, index) => {
      const name = names[offer.interactionId] || offer.from;
      return html`<article class="toast" aria-labelledby=${`offer-${offer.offerId}`}>
        <h2 id=${`offer-${offer.offerId}`}>${channelLabel(offer.channel)} from ${name}</h2>
        <p class="meta">Queue ${offer.queue} · <span class="countdown">${secondsLeft(offer, now)} s left</span></p>
        ${offer.body ? html`<p class="preview">${offer.body}</p>` : nothing}
        ${offer.transferNote ? html`<p class="transfer-note">Transfer note: ${offer.transferNote}</p>` : nothing}
        <div class="actions">
          <button type="button" @click=${() => accept(offer)}>
            Accept${index === 0 ? html` <kbd>Alt+A</kbd>` : nothing}
          </button>
          <button type="button" class="secondary" @click=${() => reject(offer)}>Reject</button>
        </div>
      </article>`;
    })}
  </section>`;
}
