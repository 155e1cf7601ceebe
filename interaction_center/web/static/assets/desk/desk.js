// The agent desktop's work, under the shell's status: the live socket, offers ringing,
// the work list, open conversations side by side (tabs) or one at a time on a phone,
// the customer panel, keyboard shortcuts and the wrap-up. State lives here, one object
// rendered whole with lit-html on every change; the other modules hold the templates.
import { html, nothing, render } from "../vendor/lit-html-3.3.3/lit-html.js";
import * as api from "../api.js";
import { commandBar, deskCommands } from "./commandbar.js";
import { callControls, callNow, callState } from "./call.js";
import { transcript } from "./conversation.js";
import { customerPanel } from "./customer.js";
import { draftsOf } from "./drafts.js";
import { channelLabel, stateLabel } from "./labels.js";
import { askToNotify, fromFrame, fromInteraction, mayAskToNotify, offerToasts, ring } from "./offers.js";
import { workPanel } from "./reply.js";
import { helpDialog, shortcutHandler } from "./shortcuts.js";
import { phoneBar, softphone } from "../softphone.js";
import { liveSocket } from "./socket.js";
import { workList } from "./worklist.js";
import { EXTEND_SECONDS, wrapUpOf, wrapUpView } from "./wrapup.js";

// How long a chat visitor's "typing" shows after their last keystroke was pushed.
const TYPING_MS = 4000;
// A chat visitor is told the agent is typing at most this often, not at each keystroke.
const TYPING_EVERY_MS = 2000;
// How often a call is read again while a colleague consulted on it is being rung.
const CONSULT_POLL_MS = 2000;
const EMPTY_WORK = { offered: [], assigned: [], parked: [], recent: [] };

export function agentDesk() {
  let host = null;
  let shell = null;
  let socket = null;
  // The browser phone, for an agent with no phone of their own where Twilio is configured.
  let browserPhone = null;
  let ticker = 0;
  let consultPoll = 0;
  let state;
  let drafts = null;
  // The signed-in agent's id: nobody transfers to themselves.
  let me = null;
  // When the chat visitor was last told, per interaction, that the agent is typing.
  const typingSent = {};

  function update(changes, focus) {
    // An answer that comes back after signing out has nowhere to go.
    if (!host) return;
    state = { ...state, ...changes };
    render(view(), host);
    if (focus) host.querySelector(focus)?.focus();
    tickWhileCounting();
    watchConsult();
  }

  // Countdowns (offers, wrap-up, a call's length) need a render each second, and only
  // while they run.
  function tickWhileCounting() {
    const counting = state.offers.length > 0 || state.wrapUp || state.phoneCall?.phase === "talking";
    if (counting && !ticker) ticker = setInterval(() => update({ now: Date.now() }), 1000);
    if (!counting && ticker) ticker = clearInterval(ticker) ?? 0;
  }

  // Whether a colleague consulted on the call answers (or not) is Twilio's to tell the
  // service, and no frame tells the desk: the call is read again while their line rings.
  function watchConsult() {
    const call = state.current ? state.details[state.current] : null;
    const ringing = call?.channel === "voice" && callNow(call).consult?.answered === false;
    if (ringing && !consultPoll) {
      consultPoll = setInterval(() => state.current && loadInteraction(state.current).catch(() => {}), CONSULT_POLL_MS);
    }
    if (!ringing && consultPoll) consultPoll = clearInterval(consultPoll) ?? 0;
  }

  async function attempt(work, failure = "") {
    update({ busy: true, error: "" });
    try {
      await work();
      update({ busy: false });
    } catch (error) {
      if (error.status === 401) shell.signedOut("Your session has ended: sign in again.");
      else update({ busy: false, error: failure ? `${failure}: ${error.message}` : error.message });
    }
  }

  // The whole state read again: on the first hello, and after a drop the service could not
  // replay (too far behind); otherwise the frames missed follow the hello.
  async function readAgain() {
    const [work, agent] = await Promise.all([api.work(), api.me()]);
    shell.agentChanged(agent);
    update({ work, names: offeredNames(work), wrapUp: wrapUpOf(agent), phone: agent.phone });
    await Promise.all(state.open.map(loadInteraction));
  }

  async function loadInteraction(id) {
    const interaction = await api.interaction(id);
    update({ details: { ...state.details, [id]: interaction } });
    return interaction;
  }

  function onFrame(frame) {
    if (frame.type === "hello") {
      update({ offers: frame.offers.filter((i) => i.offer).map(fromInteraction) });
      if (!frame.resumed) attempt(readAgain);
    } else if (frame.type === "offer") {
      const offer = fromFrame(frame);
      update({ offers: [...state.offers.filter((o) => o.offerId !== offer.offerId), offer] });
      api.work().then((work) => {
        update({ work, names: offeredNames(work) });
        ring(offer, state.names[offer.interactionId]);
      }, () => ring(offer, ""));
    } else if (frame.type === "offer_closed") {
      const gone = state.offers.find((o) => o.offerId === frame.offer_id);
      update({
        offers: state.offers.filter((o) => o.offerId !== frame.offer_id),
        notice: gone ? `The ${channelLabel(gone.channel)} offer was withdrawn (${frame.reason}).` : state.notice,
      });
    } else if (frame.type === "message") {
      const known = state.details[frame.interaction_id];
      // Already read with the interaction (opened, or read again after a reply) while
      // the socket was away: shown once.
      if (known && !known.messages.some((message) => message.id === frame.message.id)) {
        const messages = [...known.messages, frame.message];
        update({ details: { ...state.details, [known.id]: { ...known, messages } }, typing: { ...state.typing, [known.id]: 0 } });
      }
      api.work().then((work) => update({ work }), () => {});
    } else if (frame.type === "customer_ended") {
      const known = state.details[frame.interaction_id];
      if (known) {
        const who = known.channel === "voice" ? "The caller hung up" : "The customer ended the chat";
        attempt(() => changed(known.id, `${who}: complete it when you are done.`));
      }
    } else if (frame.type === "customer_typing") {
      update({ typing: { ...state.typing, [frame.interaction_id]: Date.now() + TYPING_MS } });
      setTimeout(() => update({ now: Date.now() }), TYPING_MS);
    } else if (frame.type === "work_taken") {
      const known = state.details[frame.interaction_id];
      const what = known ? `The ${channelLabel(known.channel)} with ${nameOf(known.id)}` : "A conversation";
      const how = frame.reason === "taken_over" ? "taken over" : "moved";
      // The one being worked on closes (the focus goes on); another leaves its tab quietly.
      if (state.current === frame.interaction_id) close(frame.interaction_id);
      else update({ open: state.open.filter((id) => id !== frame.interaction_id) });
      update({ notice: `${what} was ${how} by a supervisor: it is no longer yours.` });
      api.work().then((work) => update({ work }), () => {});
    } else if (frame.type === "status") {
      api.me().then((agent) => {
        shell.agentChanged(agent);
        update({ wrapUp: wrapUpOf(agent) });
      }, () => {});
    }
  }

  // --- what the agent does ---------------------------------------------------------------

  function open(id, focus = "#conversation-heading") {
    const opened = state.open.includes(id) ? state.open : [...state.open, id];
    update({ open: opened, current: id, error: "" });
    return attempt(async () => {
      // Read again each time (what was read before shows meanwhile): it may have moved on
      // (accepted again after a hold, a customer's answer while the socket was away).
      const interaction = await loadInteraction(id);
      update({}, focus);
      await Promise.all([loadCustomer(interaction.customer_id), loadCanned(interaction)]);
    });
  }

  function close(id) {
    const opened = state.open.filter((other) => other !== id);
    update({ open: opened, current: opened.at(-1) ?? null }, opened.length ? "#conversation-heading" : "#work-heading");
  }

  async function accept(offer) {
    await attempt(async () => {
      await api.accept(offer.offerId);
      update({ offers: state.offers.filter((o) => o.offerId !== offer.offerId) });
      update({ work: await api.work() });
      // A call has no reply box: its steps are read from the heading down.
      const focus = offer.channel === "voice" ? "#conversation-heading" : `#reply-${CSS.escape(offer.interactionId)}`;
      await open(offer.interactionId, focus);
    }, "The offer could not be accepted");
  }

  const reject = (offer) =>
    attempt(async () => {
      await api.reject(offer.offerId);
      update({ offers: state.offers.filter((o) => o.offerId !== offer.offerId) });
    });

  async function loadCanned(interaction) {
    const { responses } = await api.canned(interaction.id);
    update({ canned: { ...state.canned, [interaction.id]: responses } });
  }

  async function loadCustomer(id, before) {
    const record = await api.customer(id, before);
    // A page further keeps what was read and found; a fresh read (after a change) starts over.
    const known = before ? state.customers[id] : undefined;
    const history = [...(known?.history ?? []), ...record.interactions];
    update({ customers: { ...state.customers, [id]: { record, history, found: known?.found } } });
  }

  // After a change to a customer: the record, and the work list, whose names (and, after a
  // merge, whose customers) it may have changed.
  async function customerChanged(id, notice) {
    await loadCustomer(id);
    update({ work: await api.work(), notice });
  }

  // After a change to an interaction: its new state, and the work list.
  async function changed(id, notice) {
    await loadInteraction(id);
    update({ work: await api.work(), notice });
  }

  const actions = {
    draftChanged(id, text) {
      drafts.keep(id, text);
      update({});
      const interaction = state.details[id];
      if (interaction?.channel === "chat" && Date.now() - (typingSent[id] ?? 0) > TYPING_EVERY_MS) {
        typingSent[id] = Date.now();
        socket?.send({ type: "typing", interaction_id: id });
      }
    },
    useCanned(id, response) {
      drafts.keep(id, response.text ?? response.body);
      update({}, `#reply-${CSS.escape(id)}`);
    },
    send: (interaction, form, element) =>
      attempt(async () => {
        const files = form.getAll("attachment").filter((file) => file.size > 0 || file.name);
        await api.reply(interaction.id, files.length ? form : { body: form.get("body") });
        drafts.keep(interaction.id, "");
        element.reset();
        await changed(interaction.id, "Reply sent.");
      }, "The reply was not sent"),
    note: (id, body, element) =>
      attempt(async () => {
        await api.note(id, body);
        element.reset();
        await changed(id, "Note added.");
      }, "The note was not added"),
    // Read when the transfer form opens: who is available changes all day.
    lookUpColleagues: () =>
      api.directory().then(
        ({ agents }) => update({ colleagues: agents.filter((a) => a.id !== me && a.status === "available") }),
        () => {},
      ),
    transfer: (id, target, note) =>
      attempt(async () => {
        await api.transfer(id, note ? { ...target.body, note } : target.body);
        await changed(id, `Transferred to ${target.name}.`);
        close(id);
      }, "The transfer failed"),
    hold: (id) => attempt(() => api.hold(id).then(() => changed(id, "On hold until the customer answers."))),
    snooze: (id, until) =>
      attempt(() => api.snooze(id, new Date(until).toISOString()).then(() => changed(id, "Snoozed."))),
    resume: (id) => attempt(() => api.resume(id).then(() => changed(id, "Resumed."))),
    holdCall: (id, on) =>
      attempt(async () => {
        await api.holdCall(id, on);
        await changed(id, on ? "The caller is on hold." : "The caller is back with you.");
      }, "Not done"),
    consult: (id, agentId) =>
      attempt(async () => {
        await api.consultCall(id, agentId);
        await changed(id, "The caller is on hold while the colleague's line rings.");
      }, "The colleague was not called"),
    handOver: (id, name) =>
      attempt(async () => {
        await api.handOverCall(id);
        await changed(id, `Handed over to ${name}.`);
        close(id);
      }, "Not handed over"),
    hangUpCall: (id) => attempt(() => hangUp(id), "Not hung up"),
    complete: (id, disposition, note) => {
      const code = dispositionsOf(state.details[id]).find((d) => d.code === disposition);
      if (code?.note_required && !note) {
        update({ error: `${code.label} needs a wrap-up note.` }, `#wrap-note-${CSS.escape(id)}`);
        return;
      }
      return attempt(async () => {
        await api.complete(id, disposition, note);
        drafts.keep(id, "");
        await changed(id, `Completed: ${code?.label ?? disposition}.`);
        // Wrap-up follows when the queue gives time for it; else the agent is available.
        const agent = await api.me();
        shell.agentChanged(agent);
        const wrapUp = wrapUpOf(agent);
        update({ completing: false, wrapUp }, wrapUp ? "#wrap-up-heading" : "#work-heading");
      }, "Not completed");
    },
  };

  const customerActions = {
    older: (id, before) => attempt(() => loadCustomer(id, before)),
    rename: (id, name) =>
      attempt(async () => {
        await api.editCustomer(id, { display_name: name });
        await customerChanged(id, "The customer's name is saved.");
      }),
    search: (by, value) =>
      attempt(async () => {
        const { customers } = await api.findCustomers(by, value);
        const id = state.details[state.current].customer_id;
        update({ customers: { ...state.customers, [id]: { ...state.customers[id], found: customers } } });
      }),
    merge: (id, from) =>
      attempt(async () => {
        await api.merge(id, from);
        await customerChanged(id, "The records are merged.");
      }, "Not merged"),
    unmerge: (id, mergeId) =>
      attempt(async () => {
        await api.unmerge(id, mergeId);
        await customerChanged(id, "The merge is undone.");
      }, "Not undone"),
  };

  const wrapUpActions = {
    extend: () =>
      attempt(async () => {
        const { wrap_up_until } = await api.extendWrapUp(EXTEND_SECONDS);
        update({ wrapUp: { ...state.wrapUp, until: Date.parse(wrap_up_until) } });
      }),
    end: () =>
      attempt(async () => {
        shell.agentChanged(await api.endWrapUp());
        update({ wrapUp: null, notice: "Wrap-up ended: you are available." });
      }),
  };

  async function hangUp(id) {
    await api.hangUpCall(id);
    await changed(id, "Hung up: complete it when you are done.");
  }

  // The browser phone's Hang up. A call the agent holds is ended for the caller too (the
  // service ends the conference): ending only this leg would put the caller back in the
  // queue. Any other call on the phone (a colleague consulting them) is left by hanging
  // up this leg alone.
  async function hangUpPhone() {
    const live = (item) => item.channel === "voice" && state.details[item.id] && !callNow(state.details[item.id]).ended;
    const held = state.voice?.call_controls ? state.work.assigned.find(live) : undefined;
    try {
      if (held) {
        await hangUp(held.id);
        return;
      }
    } catch {
      // Not the agent's to end (it moved on meanwhile): their own leg goes.
    }
    browserPhone?.hangUp();
  }

  function startPhone(agent) {
    api.voiceSetup().then((voice) => {
      update({ voice });
      if (voice.browser_calls && !agent.phone && host) {
        browserPhone = softphone((phoneCall, rang) => update({ phoneCall }, rang ? "#phone-answer" : undefined));
      }
    }, () => {});
  }

  const dispositionsOf = (interaction) => (interaction ? state.dispositions[interaction.queue] ?? [] : []);

  // --- the keyboard ------------------------------------------------------------------------

  function next() {
    const list = state.open.length ? state.open : state.work.assigned.map((item) => item.id);
    if (!list.length) return;
    open(list[(list.indexOf(state.current) + 1) % list.length]);
  }

  const keys = {
    accept: () => state.offers[0] && accept(state.offers[0]),
    answer: () => state.phoneCall?.phase === "ringing" && browserPhone?.answer(),
    reply: () => state.current && host.querySelector(`#reply-${CSS.escape(state.current)}`)?.focus(),
    complete: () => {
      if (!state.current) return;
      update({ completing: true }, `#disposition-${CSS.escape(state.current)}`);
    },
    next,
    help: () => host.querySelector("#shortcuts")?.showModal(),
    commands: () => {
      update({ query: "" });
      host.querySelector("#command-bar")?.showModal();
    },
  };
  const onKey = shortcutHandler(keys);


  function runCommand(command) {
    host.querySelector("#command-bar").close();
    command.act();
  }

  // --- the view ----------------------------------------------------------------------------

  function view() {
    const current = state.current ? state.details[state.current] : null;
    return html`
      <div class="desk-bar">
        <p class=${`connection ${state.connection}`}>${CONNECTION[state.connection]}</p>
        ${mayAskToNotify()
          ? html`<button type="button" class="secondary" @click=${() => askToNotify().then(() => update({}))}>Turn on notifications</button>`
          : nothing}
        <button type="button" class="secondary" @click=${() => host.querySelector("#shortcuts").showModal()}>Keyboard shortcuts</button>
      </div>
      ${state.phoneCall
        ? phoneBar(state.phoneCall, state.now, { ...browserPhone, hangUp: hangUpPhone }, "Alt+P")
        : nothing}
      ${offerToasts(state.offers, state.now, state.names, { accept, reject })}
      <p class="notice" aria-live="polite">${state.notice}</p>
      ${state.error ? html`<p class="error" role="alert">${state.error}</p>` : nothing}
      ${state.wrapUp ? wrapUpView(state.wrapUp, state.now, wrapUpActions) : nothing}
      <div class=${`desk ${current ? "viewing" : ""}`}>
        ${workList(state.work, state.current, (id) => open(id))}
        ${current ? conversationView(current) : html`<section class="conversation empty"><p>Open a conversation from your work list.</p></section>`}
        ${current ? customerPanel(state.customers[current.customer_id], customerActions) : nothing}
      </div>
      ${helpDialog()}
      ${commandBar(state.query, deskCommands(state, keys, open), { filter: (query) => update({ query }), run: runCommand })}
    `;
  }

  function conversationView(interaction) {
    const id = interaction.id;
    return html`<section class="conversation" aria-labelledby="conversation-heading">
      ${state.open.length > 1
        ? html`<nav class="tabs" aria-label="Open conversations"><ul>
            ${state.open.map((other) => html`<li><button type="button" class="tab" aria-current=${other === id ? "page" : "false"}
              @click=${() => open(other)}>${nameOf(other)}</button></li>`)}
          </ul></nav>`
        : nothing}
      <div class="conversation-head">
        <button type="button" class="secondary back" @click=${() => update({ current: null }, "#work-heading")}>Back to my work</button>
        <h2 id="conversation-heading" tabindex="-1">${channelLabel(interaction.channel)} with ${nameOf(id)}</h2>
        <p class="meta">Queue ${interaction.queue} · ${stateLabel(interaction.state)}</p>
        <button type="button" class="secondary" @click=${() => close(id)}>Close</button>
      </div>
      ${interaction.channel === "voice"
        ? html`${callState(interaction, state.voice, state.phone)}
            ${callControls(interaction, { setup: state.voice, colleagues: state.colleagues, busy: state.busy, act: actions })}`
        : nothing}
      ${interaction.transfer_note ? html`<p class="transfer-note">Transfer note: ${interaction.transfer_note}</p>` : nothing}
      ${transcript(interaction, { typing: (state.typing[id] ?? 0) > Date.now() })}
      ${workPanel(interaction, {
        draft: drafts.draft(id),
        canned: state.canned[id] ?? [],
        dispositions: dispositionsOf(interaction),
        queues: Object.keys(state.dispositions),
        colleagues: state.colleagues,
        busy: state.busy,
        completing: state.completing,
        actions,
      })}
    </section>`;
  }

  function nameOf(id) {
    const all = [...state.work.assigned, ...state.work.parked, ...state.work.recent, ...state.work.offered];
    return all.find((item) => item.id === id)?.customer_name || "the customer";
  }


  return {
    start(element, theShell, agent) {
      host = element;
      shell = theShell;
      drafts = draftsOf(agent.id);
      me = agent.id;
      state = {
        connection: "connecting", offers: [], names: {}, work: EMPTY_WORK, open: [], current: null,
        details: {}, customers: {}, canned: {}, typing: {}, dispositions: {}, notice: "", error: "",
        busy: false, completing: false, wrapUp: null, voice: null, phone: agent.phone, now: Date.now(), query: "",
        colleagues: [], phoneCall: null,
      };
      update({});
      document.addEventListener("keydown", onKey);
      api.dispositions().then(({ queues }) => update({ dispositions: queues }), () => {});
      startPhone(agent);
      socket = liveSocket({
        onFrame,
        onOpen: () => update({ connection: "open" }),
        onDrop: () => update({ connection: "dropped" }),
        onSessionOver: () => shell.signedOut("Your session has ended: sign in again."),
      });
    },
    stop() {
      socket?.stop();
      socket = null;
      browserPhone?.stop();
      browserPhone = null;
      clearInterval(ticker);
      clearInterval(consultPoll);
      ticker = consultPoll = 0;
      document.removeEventListener("keydown", onKey);
      if (host) render(nothing, host);
      host = null;
    },
  };
}

const CONNECTION = {
  connecting: "Connecting…",
  open: "Live: offers arrive here.",
  dropped: "Connection lost: reconnecting… (what you type is kept)",
};

// The customers' names of what is offered, for the offers' toasts (the frames name none).
const offeredNames = (work) => Object.fromEntries(work.offered.map((item) => [item.id, item.customer_name]));
