// The pages' calls to the service's API. They are signed in by the session cookie, which
// the browser sends and no script can read, and marked as the service's own pages by
// X-Requested-With, which the service asks of every changing request signed in by cookie.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function call(method, path, body) {
  const headers = { "X-Requested-With": "interaction-center" };
  // A form (an email reply with files) goes as multipart, which the browser frames itself.
  const form = body instanceof FormData;
  if (body !== undefined && !form) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined || form ? body : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "network", "The service cannot be reached. Check the connection and try again.");
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const error = data?.error ?? {};
    throw new ApiError(response.status, error.code ?? `http.${response.status}`, error.message ?? response.statusText);
  }
  return data;
}

// Who is signed in: {agent} or {agent: null}.
export const session = () => call("GET", "/api/v1/auth/session");
export const signIn = (username, password) => call("POST", "/api/v1/auth/session", { username, password });
export const signOut = () => call("POST", "/api/v1/auth/logout");
export const setStatus = (status, reason) =>
  call("PUT", "/api/v1/agents/me/status", reason ? { status, reason } : { status });
export const me = () => call("GET", "/api/v1/agents/me");
// Every active agent, for anyone to transfer to: id, names, status and queues.
export const directory = () => call("GET", "/api/v1/agents/directory");

// The agent desktop's work (README, "Agent / supervisor API").
const interactionPath = (id) => `/api/v1/interactions/${encodeURIComponent(id)}`;
const query = (params) => new URLSearchParams(Object.entries(params).filter(([, v]) => v != null)).toString();

export const work = () => call("GET", "/api/v1/work?limit=10");
export const accept = (offerId) => call("POST", `/api/v1/offers/${encodeURIComponent(offerId)}/accept`);
export const reject = (offerId) => call("POST", `/api/v1/offers/${encodeURIComponent(offerId)}/reject`);
export const interaction = (id) => call("GET", interactionPath(id));
// A FormData body when there are files (email), else {body}.
export const reply = (id, body) => call("POST", `${interactionPath(id)}/messages`, body);
export const note = (id, body) => call("POST", `${interactionPath(id)}/notes`, { body });
export const transfer = (id, target) => call("POST", `${interactionPath(id)}/transfer`, target);
export const hold = (id) => call("POST", `${interactionPath(id)}/hold`, {});
export const snooze = (id, until) => call("POST", `${interactionPath(id)}/snooze`, { until });
export const resume = (id) => call("POST", `${interactionPath(id)}/resume`);
export const complete = (id, disposition, note) =>
  call("POST", `${interactionPath(id)}/complete`, note ? { disposition, note } : { disposition });
export const dispositions = () => call("GET", "/api/v1/dispositions");
export const canned = (interactionId) => call("GET", `/api/v1/canned?${query({ interaction_id: interactionId })}`);
export const extendWrapUp = (seconds) => call("POST", "/api/v1/agents/me/wrap-up/extend", { seconds });
export const endWrapUp = () => call("POST", "/api/v1/agents/me/wrap-up/end");
export const voiceSetup = () => call("GET", "/api/v1/voice");
export const voiceToken = () => call("GET", "/api/v1/voice/token");
// A call the agent is on (hold, a warm transfer: consult then hand over, hang up).
export const holdCall = (id, on) => call("POST", `${interactionPath(id)}/call/hold`, { on });
export const consultCall = (id, agentId) => call("POST", `${interactionPath(id)}/call/consult`, { agent_id: agentId });
export const handOverCall = (id) => call("POST", `${interactionPath(id)}/call/handover`);
export const hangUpCall = (id) => call("POST", `${interactionPath(id)}/call/hangup`);

export const customer = (id, before) =>
  call("GET", `/api/v1/customers/${encodeURIComponent(id)}?${query({ limit: 5, before })}`);
export const findCustomers = (kind, value) => call("GET", `/api/v1/customers?${query({ [kind]: value })}`);
export const editCustomer = (id, change) => call("PATCH", `/api/v1/customers/${encodeURIComponent(id)}`, change);
export const merge = (id, from) => call("POST", `/api/v1/customers/${encodeURIComponent(id)}/merge`, { from });
export const unmerge = (id, mergeId) =>
  call("POST", `/api/v1/customers/${encodeURIComponent(id)}/unmerge`, { merge_id: mergeId });

// The supervisor dashboard's calls: acting on the floor (supervisors and admins).
const enc = encodeURIComponent;
export const setAgentStatus = (agentId, status, reason) =>
  call("PUT", `/api/v1/agents/${enc(agentId)}/status`, reason ? { status, reason } : { status });
export const waiting = (queue) => call("GET", `/api/v1/queues/${enc(queue)}/waiting`);
export const agentWork = (agentId) => call("GET", `/api/v1/agents/${enc(agentId)}/work`);
// ``target``: {queue} or {agent_id}.
export const moveInteraction = (id, target) => call("POST", `/api/v1/interactions/${enc(id)}/move`, target);
export const setPriority = (id, priority) => call("POST", `/api/v1/interactions/${enc(id)}/priority`, { priority });
export const takeOver = (id) => call("POST", `/api/v1/interactions/${enc(id)}/take-over`);
// ``mode``: listen, whisper (coach the agent) or barge; the supervisor's line is rung.
export const monitorCall = (id, mode) => call("POST", `/api/v1/interactions/${enc(id)}/call/monitor`, { mode });

// The admin pages' calls (admins only).
export const agents = () => call("GET", "/api/v1/agents");
export const createAgent = (fields) => call("POST", "/api/v1/agents", fields);
export const editAgent = (agentId, fields) => call("PATCH", `/api/v1/agents/${enc(agentId)}`, fields);
export const deactivateAgent = (agentId) => call("POST", `/api/v1/agents/${enc(agentId)}/deactivate`);
export const reactivateAgent = (agentId) => call("POST", `/api/v1/agents/${enc(agentId)}/reactivate`);
export const resetPassword = (agentId, password) =>
  call("PUT", `/api/v1/agents/${enc(agentId)}/password`, { password });
// ``query``: any of {limit, before, actor_id}.
export const audit = (query) => call("GET", `/api/v1/audit?${new URLSearchParams(query)}`);
