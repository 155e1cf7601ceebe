// The chat page: a visitor's conversation over GET /chat/ws (frames in README, "The flow
// of one web chat"). Every text from the visitor or the agent goes in by textContent, never
// as markup. The session token is kept in sessionStorage, so a reload (of this page or of
// the site around the widget) resumes the conversation, and closing the tab forgets it.
// A file the visitor picks is sent at once (POST /chat/files, signed by that token) as
// their next message.

const TOKEN_KEY = "interaction-center-chat-token";
// How long "… is typing" stays without a new typing frame, and the least time between two
// typing frames of ours (the socket's rate limit is 5 frames a second).
const TYPING_SHOWN_MS = 4000;
const TYPING_EVERY_MS = 2000;
const BAD_TOKEN_CLOSE = 4401;
const RECONNECT_MS = 2000;
const ENDED = "The chat has ended. You can rate it, or write again to start a new one.";
// The service's bound on one file (channels/chat/service.py), checked here first so that a
// visitor is told before a long upload is refused.
const MAX_FILE_BYTES = 10 * 2 ** 20;

const $ = (id) => document.getElementById(id);
const ui = {
  status: $("status"), intro: $("intro"), name: $("name"), email: $("email"), log: $("log"),
  typing: $("typing"), compose: $("compose"), message: $("message"), end: $("end"), rate: $("rate"),
  comment: $("comment"), file: $("file"),
};
const socketUrl = new URL("ws", location.href);
socketUrl.protocol = location.protocol === "https:" ? "wss:" : "ws:";

let socket = null;
let agentName = "";
let interactionId = null;
let ratedId = null;
// The chat the rating form asks about: the service rates the latest, so the form goes once
// the visitor writes again and opens a new one.
let ratingFor = null;
let lastTyping = 0;
let typingTimer = 0;
let counter = 0;
const seen = new Set();
const pending = new Map();
const unsent = [];

function say(text) { ui.status.textContent = text; }

// ``files``: the files a line carried ({filename, size}), named under its words.
function show(from, body, messageId, files = []) {
  if (messageId) {
    if (seen.has(messageId)) { return; }
    seen.add(messageId);
  }
  const line = document.createElement("p");
  line.className = `line from-${from}`;
  const who = document.createElement("span");
  who.className = "who";
  who.textContent = from === "agent" ? (agentName || "Agent") : "You";
  const text = document.createElement("span");
  text.className = "body";
  text.textContent = body;
  line.append(who, text);
  for (const file of files) {
    const named = document.createElement("span");
    named.className = "files";
    named.textContent = `File: ${file.filename || "unnamed"} (${Math.ceil(file.size / 1024)} KB)`;
    line.append(named);
  }
  ui.log.append(line);
  ui.log.scrollTop = ui.log.scrollHeight;
}

function minutes(seconds) {
  return seconds < 60 ? "less than a minute" : `about ${Math.round(seconds / 60)} minute${seconds < 90 ? "" : "s"}`;
}

function chatting() {
  ui.intro.hidden = true;
  ui.log.hidden = false;
  ui.compose.hidden = false;
  ui.end.hidden = interactionId === null;
}

function ended(endedId) {
  agentName = "";
  interactionId = null;
  ui.end.hidden = true;
  ui.typing.textContent = "";
  // A chat the visitor ended is ended again when its agent completes it: the rating
  // already asked for (or given) is not asked again, nor the focus taken from it.
  if (endedId === ratedId || !ui.rate.hidden) { return; }
  say(ENDED);
  ratingFor = endedId;
  ui.rate.hidden = false;
  ui.rate.querySelector("input").focus();
}

function send(frame) {
  if (socket && socket.readyState === WebSocket.OPEN) {
    socket.send(JSON.stringify(frame));
    return true;
  }
  return false;
}

const handlers = {
  started(frame) {
    sessionStorage.setItem(TOKEN_KEY, frame.token);
    chatting();
    say("Connected. Write your message and we will answer as soon as we can.");
    ui.message.focus();
  },
  resumed(frame) {
    // The states the service calls closed: a message now would open a new chat.
    const closed = ["completed", "abandoned", "cancelled"].includes(frame.state);
    interactionId = closed ? null : frame.interaction_id;
    if (frame.rated) { ratedId = frame.interaction_id; }
    agentName = frame.agent_name || "";
    chatting();
    frame.messages.forEach((m) => show(m.from, m.body, m.message_id, m.files));
    // A chat that ended unrated is asked about again after a reload (and a reconnect
    // leaves a rating being written where it is).
    const ask = closed && !frame.rated;
    ui.rate.hidden = !ask;
    if (ask) {
      ratingFor = frame.interaction_id;
      say(ENDED);
    } else {
      say(agentName ? `You are chatting with ${agentName}.` : "Welcome back.");
    }
    unsent.splice(0).forEach(send);
  },
  // A message's acknowledgement (a file's comes as the answer to its upload, ``sent``).
  ack(frame) {
    const sent = frame.sent ?? {body: pending.get(frame.client_id) || "", files: []};
    show("customer", sent.body, frame.message_id, sent.files);
    pending.delete(frame.client_id);
    interactionId = frame.interaction_id;
    ui.end.hidden = false;
    if (interactionId !== ratingFor) { ui.rate.hidden = true; }
  },
  message(frame) {
    show("agent", frame.body, frame.message_id);
    ui.typing.textContent = "";
  },
  assigned(frame) {
    agentName = frame.agent_name;
    say(`${agentName} has joined the chat.`);
  },
  typing() {
    ui.typing.textContent = `${agentName || "The agent"} is typing…`;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => { ui.typing.textContent = ""; }, TYPING_SHOWN_MS);
  },
  queued(frame) {
    const place = frame.position === 1 ? "You are next in the queue." : `You are number ${frame.position} in the queue.`;
    const wait = frame.expected_wait_seconds === null ? "" : ` Estimated wait: ${minutes(frame.expected_wait_seconds)}.`;
    say(place + wait);
  },
  ended(frame) {
    ended(frame.interaction_id);
  },
  rated(frame) {
    ratedId = frame.interaction_id;
    ui.rate.hidden = true;
    say("Thank you for your rating.");
    ui.message.focus();
  },
  error(frame) {
    say(frame.message);
    if (frame.code === "chat.bad_token") {
      sessionStorage.removeItem(TOKEN_KEY);
      ui.intro.hidden = false;
      ui.log.hidden = ui.compose.hidden = ui.end.hidden = true;
    }
  },
};

function connect(first) {
  socket = new WebSocket(socketUrl);
  socket.addEventListener("open", () => send(first));
  socket.addEventListener("message", (event) => {
    const frame = JSON.parse(event.data);
    handlers[frame.type]?.(frame);
  });
  socket.addEventListener("close", (event) => {
    // Framed by the widget, Escape closes the frame and gives the focus back to the site's
// page (widget.js listens). The message says nothing of the chat, so any parent may hear it.
if (window.parent !== window) {
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") { window.parent.postMessage("interaction-center-chat:close", "*"); }
  });
}

const token = sessionStorage.getItem(TOKEN_KEY);
    if (token && event.code !== BAD_TOKEN_CLOSE) {
      say("Connection lost; reconnecting…");
      setTimeout(() => connect({type: "resume", token}), RECONNECT_MS);
    }
  });
}

ui.intro.addEventListener("submit", (event) => {
  event.preventDefault();
  const start = {type: "start", name: ui.name.value.trim()};
  if (ui.email.value.trim()) { start.email = ui.email.value.trim(); }
  say("Connecting…");
  connect(start);
});

ui.compose.addEventListener("submit", (event) => {
  event.preventDefault();
  const body = ui.message.value;
  if (!body.trim()) { return; }
  // The client id makes a resend after a lost ack harmless: the server keeps one message.
  const clientId = `${Date.now().toString(36)}-${counter++}`;
  pending.set(clientId, body);
  const frame = {type: "message", client_id: clientId, body};
  if (!send(frame)) { unsent.push(frame); }
  ui.message.value = "";
  // The next message's first keystroke says "typing" again at once.
  lastTyping = 0;
});

ui.file.addEventListener("change", async () => {
  const [file] = ui.file.files;
  if (!file) { return; }
  ui.file.value = "";
  if (file.size > MAX_FILE_BYTES) {
    say(`${file.name} is too large to send: 10 MB at most.`);
    return;
  }
  const form = new FormData();
  form.append("client_id", `${Date.now().toString(36)}-${counter++}`);
  form.append("file", file);
  say(`Sending ${file.name}…`);
  try {
    const headers = {Authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY)}`};
    const response = await fetch("files", {method: "POST", headers, body: form});
    const answer = await response.json();
    if (!response.ok) {
      say(`${file.name} was not sent: ${answer.error?.message ?? response.statusText}`);
      return;
    }
    handlers.ack({...answer, sent: {body: "", files: [{filename: file.name, size: file.size}]}});
    say(`${file.name} is sent.`);
  } catch {
    say(`${file.name} was not sent: the service cannot be reached. Try again.`);
  }
});

ui.message.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    ui.compose.requestSubmit();
  }
});

ui.message.addEventListener("input", () => {
  const now = Date.now();
  if (now - lastTyping > TYPING_EVERY_MS && send({type: "typing"})) { lastTyping = now; }
});

ui.end.addEventListener("click", () => { send({type: "end"}); });

ui.rate.addEventListener("submit", (event) => {
  event.preventDefault();
  const chosen = ui.rate.querySelector("input[name=score]:checked");
  if (!chosen) {
    say("Choose a score from 1 to 5 first.");
    ui.rate.querySelector("input").focus();
    return;
  }
  const frame = {type: "rate", score: Number(chosen.value)};
  if (ui.comment.value.trim()) { frame.comment = ui.comment.value.trim(); }
  send(frame);
});

// Framed by the widget, Escape closes the frame and gives the focus back to the site's
// page (widget.js listens). The message says nothing of the chat, so any parent may hear it.
if (window.parent !== window) {
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") { window.parent.postMessage("interaction-center-chat:close", "*"); }
  });
}

const token = sessionStorage.getItem(TOKEN_KEY);
if (token) {
  connect({type: "resume", token});
} else {
  ui.name.focus();
}
