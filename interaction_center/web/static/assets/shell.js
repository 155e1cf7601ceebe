// The pages' shell: the sign-in form, who is signed in, and their status with a switcher.
// Rendered with lit-html, whose templates put every value in as text: nothing the service
// sends (a name, a reason, one day a customer's message) ever becomes markup.
import { html, nothing, render } from "./vendor/lit-html-3.3.3/lit-html.js";
import * as api from "./api.js";

const STATUS_LABELS = { available: "Available", away: "Away", offline: "Offline", wrap_up: "Wrap-up" };
// The statuses an agent sets by hand (the API's PUT /agents/me/status).
const SETTABLE = ["available", "away", "offline"];
// Until the service lists reason codes of its own, the usual ones; it takes any short text.
const REASONS = ["break", "lunch", "training", "meeting"];

const capitalized = (word) => word.charAt(0).toUpperCase() + word.slice(1);
const statusLabel = (status) => STATUS_LABELS[status] ?? status;

// `workspace` (optional): what the page does once signed in by one of its roles, rendered in
// its own element under the status: {start(host, shell, agent), stop()}, where
// shell.agentChanged(agent) shows a status the workspace learnt of and
// shell.signedOut(message) ends the session's view.
export function mountShell(root, { title, roles, workspace }) {
  // lit-html renders after what is there: the page's own "Loading…" goes first.
  root.replaceChildren();
  let state = { phase: "loading", agent: null, error: "", notice: "", busy: false, choice: "", reason: REASONS[0] };

  function update(changes, focus) {
    state = { ...state, ...changes };
    render(view(), root);
    // Focus follows the view that replaced the one it was in, so keyboard users stay put.
    if (focus) root.querySelector(focus)?.focus();
  }

  function signedIn(agent, focus) {
    const choice = SETTABLE.includes(agent.status) ? agent.status : "available";
    update({ phase: "signed-in", agent, choice, error: "", busy: false }, focus);
    // Rendered only for the page's roles (see view()).
    const host = root.querySelector(".workspace");
    if (workspace && host) workspace.start(host, { agentChanged, signedOut }, agent);
  }

  function agentChanged(agent) {
    update({ agent });
  }

  function signedOut(error, notice = "") {
    workspace?.stop();
    update({ phase: "signed-out", agent: null, error, notice, busy: false }, "#username");
  }

  async function onSignIn(event) {
    event.preventDefault();
    const form = new FormData(event.target);
    update({ busy: true, error: "", notice: "" });
    try {
      const { agent } = await api.signIn(form.get("username"), form.get("password"));
      signedIn(agent, "#status-heading");
    } catch (error) {
      update({ busy: false, error: error.message }, "#username");
    }
  }

  async function onSignOut() {
    update({ busy: true });
    try {
      await api.signOut();
      signedOut("", "You have signed out.");
    } catch (error) {
      failed(error);
    }
  }

  async function onSetStatus(event) {
    event.preventDefault();
    const reason = state.choice === "away" ? state.reason : undefined;
    update({ busy: true, error: "", notice: "" });
    try {
      const agent = await api.setStatus(state.choice, reason);
      update({ agent, busy: false, notice: `Your status is now ${describe(agent)}.` });
    } catch (error) {
      failed(error);
    }
  }

  function failed(error) {
    if (error.status === 401) signedOut("Your session has ended: sign in again.");
    else update({ busy: false, error: error.message });
  }

  function describe(agent) {
    const reason = agent.status === "away" && agent.status_reason ? ` (${agent.status_reason})` : "";
    return `${statusLabel(agent.status)}${reason}`;
  }

  function view() {
    if (state.phase === "loading") return html`<p class="loading">Loading…</p>`;
    if (state.phase === "signed-out") return signInView();
    return html`
      <header class="bar">
        <h1>${title}</h1>
        <p class="who">
          Signed in as <strong>${state.agent.display_name || state.agent.username}</strong>
          (${state.agent.role})
        </p>
        <button type="button" @click=${onSignOut} ?disabled=${state.busy}>Sign out</button>
      </header>
      <main class=${workspace ? "wide" : ""}>
        ${roles.includes(state.agent.role) ? statusView() : elsewhereView()}
        ${workspace && roles.includes(state.agent.role) ? html`<div class="workspace"></div>` : nothing}
      </main>
    `;
  }

  function signInView() {
    return html`
      <main class="sign-in">
        <h1>${title}</h1>
        <form class="card" @submit=${onSignIn}>
          <h2>Sign in</h2>
          ${state.notice ? html`<p role="status">${state.notice}</p>` : nothing}
          <label for="username">Username</label>
          <input id="username" name="username" autocomplete="username" required />
          <label for="password">Password</label>
          <input id="password" name="password" type="password" autocomplete="current-password" required />
          ${state.error ? html`<p class="error" role="alert">${state.error}</p>` : nothing}
          <button type="submit" ?disabled=${state.busy}>Sign in</button>
        </form>
      </main>
    `;
  }

  function statusView() {
    const agent = state.agent;
    const since = new Date(agent.status_changed_at);
    return html`
      <section class="card own-status" aria-labelledby="status-heading">
        <h2 id="status-heading" tabindex="-1">Your status</h2>
        <p class="current">
          <strong class="status">${describe(agent)}</strong>
          since <time datetime=${since.toISOString()}>${since.toLocaleTimeString([], { timeStyle: "short" })}</time>
        </p>
        <form @submit=${onSetStatus}>
          <fieldset>
            <legend>Change your status</legend>
            ${SETTABLE.map((status) => radio("status", status, statusLabel(status), state.choice, "choice"))}
          </fieldset>
          ${state.choice === "away"
            ? html`<fieldset>
                <legend>Reason</legend>
                ${REASONS.map((reason) => radio("reason", reason, capitalized(reason), state.reason, "reason"))}
              </fieldset>`
            : nothing}
          <button type="submit" ?disabled=${state.busy}>Set status</button>
        </form>
        <p class="notice" role="status">${state.notice}</p>
        ${state.error ? html`<p class="error" role="alert">${state.error}</p>` : nothing}
      </section>
    `;
  }

  function radio(name, value, label, chosen, key) {
    return html`<label class="choice">
      <input type="radio" name=${name} .value=${value} .checked=${chosen === value}
        @change=${() => update({ [key]: value, notice: "" })} />
      ${label}
    </label>`;
  }

  function elsewhereView() {
    return html`
      <section class="card">
        <h2 id="status-heading" tabindex="-1">Not for your role</h2>
        <p>This page is for ${roles.join(" and ")} accounts.</p>
        <p><a href="/agent/">Go to the agent desktop</a></p>
      </section>
    `;
  }

  api.session().then(
    ({ agent }) => (agent ? signedIn(agent) : signedOut("")),
    (error) => signedOut(error.message),
  );
}
