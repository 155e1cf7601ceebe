// The admins' pages: accounts (create, edit the profile, deactivate and reactivate, reset
// a password) and the audit log, paged back and kept to one actor if asked. What the API
// refuses (a weak password, a bad profile) is shown as it says it.
import { html, nothing } from "../vendor/lit-html-3.3.3/lit-html.js";
import * as api from "../api.js";
import { NONE } from "./format.js";
import { scrollTable, submitted } from "./table.js";

const ROLES = ["agent", "supervisor", "admin"];
const PAGE_SIZE = 50;

const name = (agent) => agent.display_name || agent.username;
// "billing=5, spanish=3" <-> {billing: 5, spanish: 3}
const levels = (text) =>
  Object.fromEntries(
    text
      .split(",")
      .map((part) => part.split("=").map((side) => side.trim()))
      .filter(([key]) => key)
      .map(([key, value]) => [key, Number(value)]),
  );
const levelsText = (map) => Object.entries(map).map(([key, value]) => `${key}=${value}`).join(", ");
const list = (text) => text.split(",").map((part) => part.trim()).filter(Boolean);

// The pages' state and what they do; ``draw()`` shows it again, ``announce(text)`` says
// how an action went in the board's live region.
export function adminState(draw, announce) {
  const admin = {
    agents: [],
    editing: null, // the agent whose profile is in the form; null: a new account
    resetting: null,
    error: "",
    entries: [],
    nextBefore: null,
    actor: "",
    busy: false,

    async open(page) {
      await guarded(async () => {
        admin.agents = (await api.agents()).agents;
        if (page === "#audit") await admin.readAudit(false);
      });
    },

    async readAudit(more) {
      const query = { limit: PAGE_SIZE };
      if (admin.actor) query.actor_id = admin.actor;
      if (more) query.before = admin.nextBefore;
      const page = await api.audit(query);
      admin.entries = more ? [...admin.entries, ...page.entries] : page.entries;
      admin.nextBefore = page.next_before;
    },

    // Shows the pages again with ``changes`` made (what is edited, whose password is reset).
    show(changes) {
      Object.assign(admin, changes, { error: "" });
      draw();
    },

    save: (form, element) =>
      guarded(async () => {
        const fields = {
          display_name: form.get("display_name"),
          role: form.get("role"),
          queues: list(form.get("queues")),
          skills: levels(form.get("skills")),
          capacity: levels(form.get("capacity")),
        };
        // The API takes a phone number or nothing (no null): left out when blank.
        if (form.get("phone")) fields.phone = form.get("phone");
        const editing = admin.editing;
        const saved = editing
          ? await api.editAgent(editing.id, fields)
          : await api.createAgent({ ...fields, username: form.get("username"), password: form.get("password") });
        admin.editing = null;
        element.reset();
        admin.agents = (await api.agents()).agents;
        announce(`${editing ? "Saved" : "Created"} ${name(saved)}.`);
      }),

    active: (agent, on) =>
      guarded(async () => {
        await (on ? api.reactivateAgent(agent.id) : api.deactivateAgent(agent.id));
        admin.agents = (await api.agents()).agents;
        announce(`${name(agent)} ${on ? "reactivated" : "deactivated"}.`);
      }),

    reset: (form) =>
      guarded(async () => {
        await api.resetPassword(admin.resetting.id, form.get("password"));
        announce(`Password of ${name(admin.resetting)} reset.`);
        admin.resetting = null;
      }),

    filter: (actor) =>
      guarded(async () => {
        admin.actor = actor;
        await admin.readAudit(false);
      }),

    more: () => guarded(() => admin.readAudit(true)),
  };

  async function guarded(work) {
    admin.busy = true;
    admin.error = "";
    draw();
    try {
      await work();
    } catch (error) {
      admin.error = error.message;
    }
    admin.busy = false;
    draw();
  }

  return admin;
}

export function adminView(admin, page) {
  return page === "#audit" ? auditView(admin) : accountsView(admin);
}

function accountsView(admin) {
  return html`
    <h2 id="page-heading" tabindex="-1">Accounts</h2>
    ${admin.error ? html`<p class="error" role="alert">${admin.error}</p>` : nothing}
    ${scrollTable(
      "Accounts",
      ["Name", "Username", "Role", "Queues", "Active", "Act"],
      admin.agents.map(
        (agent) => html`<tr>
          <th scope="row">${name(agent)}</th>
          <td>${agent.username}</td>
          <td>${agent.role}</td>
          <td>${agent.queues.map((q) => q.queue).join(", ") || NONE}</td>
          <td>${agent.active ? "Yes" : "No"}</td>
          <td class="actions">
            <button type="button" @click=${() => edit(admin, agent)}
              aria-label=${`Edit ${name(agent)}`}>Edit</button>
            <button type="button" ?disabled=${admin.busy} @click=${() => admin.active(agent, !agent.active)}
              aria-label=${`${agent.active ? "Deactivate" : "Reactivate"} ${name(agent)}`}>
              ${agent.active ? "Deactivate" : "Reactivate"}
            </button>
            <button type="button" @click=${() => resetting(admin, agent)}
              aria-label=${`Reset password of ${name(agent)}`}>Reset password</button>
          </td>
        </tr>`,
      ),
    )}
    ${admin.resetting ? resetForm(admin) : nothing}
    ${profileForm(admin)}
  `;
}

function edit(admin, agent) {
  admin.show({ editing: agent });
  document.querySelector("#profile-heading")?.focus();
}

function resetting(admin, agent) {
  admin.show({ resetting: agent });
  document.querySelector("#new-password")?.focus();
}

function resetForm(admin) {
  return html`
    <form class="card" @submit=${submitted(admin.reset)}>
      <h3>Reset the password of ${name(admin.resetting)}</h3>
      <label for="new-password">New password</label>
      <input id="new-password" name="password" type="password" autocomplete="new-password" required />
      <button type="submit" ?disabled=${admin.busy}>Reset password</button>
    </form>
  `;
}

function profileForm(admin) {
  const agent = admin.editing;
  const field = (id, label, value, extra = "") =>
    html`<label for=${id}>${label}</label><input id=${id} name=${id} .value=${value ?? ""} autocomplete="off" />
      ${extra ? html`<p class="hint" id=${`${id}-hint`}>${extra}</p>` : nothing}`;
  // Bound as properties, the fields show the profile of whoever is picked for editing.
  return html`
    <form class="card profile" @submit=${submitted(admin.save)}>
      <h3 id="profile-heading" tabindex="-1">${agent ? `Edit ${name(agent)}` : "New account"}</h3>
      ${agent
        ? nothing
        : html`<label for="username">Username</label><input id="username" name="username" required autocomplete="off" />
            <label for="password">Password</label>
            <input id="password" name="password" type="password" autocomplete="new-password" required />`}
      ${field("display_name", "Display name", agent?.display_name)}
      <label for="role">Role</label>
      <select id="role" name="role">
        ${ROLES.map(
          (role) => html`<option .value=${role} ?selected=${(agent?.role ?? "agent") === role}>${role}</option>`,
        )}
      </select>
      ${field("queues", "Queues", agent?.queues.map((q) => q.queue).join(", "), "Queue names, separated by commas.")}
      ${field("skills", "Skills", agent && levelsText(agent.skills), "Skill=level (1-10), e.g. billing=5, spanish=3.")}
      ${field("capacity", "Capacity", agent && levelsText(agent.capacity), "Channel=slots, e.g. sms=5, chat=3.")}
      ${field("phone", "Voice endpoint (phone)", agent?.phone)}
      <button type="submit" ?disabled=${admin.busy}>${agent ? "Save" : "Create account"}</button>
      ${agent ? html`<button type="button" class="secondary" @click=${() => cancel(admin)}>Cancel</button>` : nothing}
    </form>
  `;
}

function cancel(admin) {
  admin.show({ editing: null });
  document.querySelector("#profile-heading")?.focus();
}

function auditView(admin) {
  const names = new Map(admin.agents.map((agent) => [agent.id, name(agent)]));
  return html`
    <h2 id="page-heading" tabindex="-1">Audit log</h2>
    ${admin.error ? html`<p class="error" role="alert">${admin.error}</p>` : nothing}
    <form class="inline" @submit=${submitted((form) => admin.filter(form.get("actor")))}>
      <label for="actor">Who</label>
      <select id="actor" name="actor">
        <option value="" ?selected=${!admin.actor}>Everyone</option>
        ${admin.agents.map(
          (agent) => html`<option .value=${agent.id} ?selected=${admin.actor === agent.id}>${name(agent)}</option>`,
        )}
      </select>
      <button type="submit" ?disabled=${admin.busy}>Filter</button>
    </form>
    ${scrollTable(
      "Audit entries",
      ["When", "Who", "What", "On", "Answer", "From"],
      admin.entries.map(
        (entry) => html`<tr>
          <th scope="row"><time datetime=${entry.at}>${new Date(entry.at).toLocaleString()}</time></th>
          <td>
            ${names.get(entry.actor_id) ?? entry.actor_id ?? NONE}${entry.actor_role ? ` (${entry.actor_role})` : ""}
          </td>
          <td>${entry.action}</td>
          <td>
            ${Object.entries(entry.target)
              .map(([key, value]) => `${key}: ${names.get(value) ?? value}`)
              .join(", ") || NONE}
          </td>
          <td>${entry.status}</td>
          <td>${entry.address}</td>
        </tr>`,
      ),
    )}
    ${admin.nextBefore
      ? html`<button type="button" ?disabled=${admin.busy} @click=${admin.more}>Older entries</button>`
      : nothing}
  `;
}
