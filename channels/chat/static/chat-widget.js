// Interaction Center web chat widget: plain JavaScript, no build step.
// Embed: <script src="https://YOUR-HOST/chat/chat-widget.js" data-name-field data-email-field></script>
// or call InteractionCenterChat.mount(element, {url: "wss://YOUR-HOST/chat/ws"}).
// The session token is kept in sessionStorage so a reload resumes the same conversation.
(function () {
  "use strict";
  var TOKEN_KEY = "interaction-center-chat-token";

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text) { node.textContent = text; }  // textContent only: messages are never HTML
    return node;
  }

  function defaultUrl(script) {
    var base = script ? new URL(script.src, location.href) : new URL(location.href);
    return (base.protocol === "https:" ? "wss://" : "ws://") + base.host + "/chat/ws";
  }

  function mount(root, options) {
    options = options || {};
    var url = options.url || defaultUrl(null);
    var log = el("div", {"class": "icc-log", "aria-live": "polite"});
    var status = el("div", {"class": "icc-status"});
    var form = el("form", {"class": "icc-form"});
    var input = el("input", {"type": "text", "placeholder": "Type a message", "maxlength": "4000"});
    var intro = el("form", {"class": "icc-intro"});
    var name = el("input", {"type": "text", "placeholder": "Your name"});
    var email = el("input", {"type": "email", "placeholder": "Email (optional)"});
    intro.append(name, email, el("button", {"type": "submit"}, "Start chat"));
    form.append(input, el("button", {"type": "submit"}, "Send"));
    form.hidden = true;
    root.append(status, log, intro, form);

    var socket = null;
    var seen = {};
    var counter = 0;
    var lastTyping = 0;
    var agentName = "";  // the display name of the agent who took the chat, once one has

    function show(who, body, id) {
      if (id && seen[id]) { return; }
      if (id) { seen[id] = true; }
      log.append(el("p", {"class": "icc-" + who}, (who === "agent" ? (agentName || "Agent") + ": " : "You: ") + body));
      log.scrollTop = log.scrollHeight;
    }

    function connect(first) {
      socket = new WebSocket(url);
      socket.onopen = function () { socket.send(JSON.stringify(first)); };
      socket.onmessage = function (event) {
        var frame = JSON.parse(event.data);
        switch (frame.type) {
          case "started":
            sessionStorage.setItem(TOKEN_KEY, frame.token);
            intro.hidden = true; form.hidden = false; status.textContent = "Connected";
            break;
          case "resumed":
            intro.hidden = true; form.hidden = false; status.textContent = "Welcome back";
            agentName = frame.agent_name || "";
            frame.messages.forEach(function (m) { show(m.from, m.body, m.message_id); });
            break;
          case "ack": show("customer", pending[frame.client_id] || "", frame.message_id); break;
          case "message": show("agent", frame.body, frame.message_id); status.textContent = ""; break;
          case "assigned":
            agentName = frame.agent_name;
            status.textContent = agentName + " has joined the chat";
            break;
          case "typing": status.textContent = (agentName || "The agent") + " is typing..."; break;
          case "queued":
            status.textContent = "You are number " + frame.position + " in the queue" +
              (frame.expected_wait_seconds ? " (about " + Math.ceil(frame.expected_wait_seconds / 60) + " min)" : "");
            break;
          case "ended":
            agentName = "";
            status.textContent = "The chat has ended. Write again to start a new one.";
            break;
          case "error":
            status.textContent = frame.message;
            if (frame.code === "chat.bad_token") { sessionStorage.removeItem(TOKEN_KEY); intro.hidden = false; form.hidden = true; }
            break;
        }
      };
      socket.onclose = function (event) {
        var token = sessionStorage.getItem(TOKEN_KEY);
        if (token && event.code !== 4401) { setTimeout(function () { connect({type: "resume", token: token}); }, 2000); }
      };
    }

    var pending = {};
    intro.addEventListener("submit", function (event) {
      event.preventDefault();
      var start = {type: "start", name: name.value};
      if (email.value) { start.email = email.value; }
      connect(start);
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!input.value.trim()) { return; }
      // The client id makes a resend after a lost ack harmless: the server keeps one message.
      var id = Date.now().toString(36) + "-" + (counter++);
      pending[id] = input.value;
      socket.send(JSON.stringify({type: "message", client_id: id, body: input.value}));
      input.value = "";
    });
    input.addEventListener("input", function () {
      var now = Date.now();
      if (now - lastTyping > 2000 && socket) { lastTyping = now; socket.send('{"type": "typing"}'); }
    });

    var token = sessionStorage.getItem(TOKEN_KEY);
    if (token) { connect({type: "resume", token: token}); }
  }

  window.InteractionCenterChat = {mount: mount};
  var script = document.currentScript;
  if (script && script.hasAttribute("data-mount")) {
    var target = document.getElementById(script.getAttribute("data-mount"));
    if (target) { mount(target, {url: defaultUrl(script)}); }
  }
})();
