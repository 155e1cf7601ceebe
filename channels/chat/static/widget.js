// The chat widget's loader: one script tag on any page of an allowed site,
//   <script src="https://CENTRE/chat/widget.js" async></script>
// adds a "Chat with us" button that opens the chat (GET /chat/, served by the centre) in a
// frame. The conversation lives in the frame: the site's page never sees its text or token,
// and the page's own CSP and styles do not reach it. Styles are set here through the
// DOM, which a site's strict CSP allows, rather than by a style sheet it might refuse.
(() => {
  const script = document.currentScript;
  const chatUrl = new URL("./", script.src).href;
  const OPEN_KEY = "interaction-center-chat-open";
  // What the chat page posts when the visitor presses Escape in it (chat.js).
  const CLOSE = "interaction-center-chat:close";
  const narrow = window.matchMedia("(max-width: 480px)");

  const button = document.createElement("button");
  button.type = "button";
  button.textContent = "Chat with us";
  button.setAttribute("aria-expanded", "false");
  Object.assign(button.style, {
    position: "fixed", right: "16px", bottom: "16px", zIndex: "2147483000", padding: "12px 18px",
    border: "0", borderRadius: "24px", background: "#0b57d0", color: "#fff", font: "16px system-ui, sans-serif",
    cursor: "pointer", boxShadow: "0 2px 8px rgba(0,0,0,.3)",
  });

  let frame = null;

  function place() {
    // Full width on a phone; a panel above the button elsewhere.
    Object.assign(frame.style, narrow.matches
      ? {left: "0", right: "0", bottom: "72px", width: "100%", height: "calc(100% - 80px)"}
      : {left: "auto", right: "16px", bottom: "72px", width: "380px", height: "min(600px, calc(100% - 88px))"});
  }

  function remember(opened) {
    try {
      sessionStorage.setItem(OPEN_KEY, opened ? "1" : "0");
    } catch { /* storage refused by the browser: the chat is not reopened after a reload */ }
  }

  function open(focus) {
    if (frame === null) {
      // Made on the first open only: a page whose visitor never chats loads nothing more.
      frame = document.createElement("iframe");
      frame.src = chatUrl;
      frame.title = "Chat with us";
      frame.id = "interaction-center-chat";
      Object.assign(frame.style, {
        position: "fixed", zIndex: "2147483000", border: "1px solid #ccc", borderRadius: "8px",
        background: "#fff", boxShadow: "0 4px 16px rgba(0,0,0,.3)",
      });
      place();
      narrow.addEventListener("change", place);
      button.setAttribute("aria-controls", frame.id);
      document.body.append(frame);
    }
    frame.hidden = false;
    button.setAttribute("aria-expanded", "true");
    button.textContent = "Close chat";
    if (focus) { frame.focus(); }
    remember(true);
  }

  function close() {
    frame.hidden = true;
    button.setAttribute("aria-expanded", "false");
    button.textContent = "Chat with us";
    button.focus();
    remember(false);
  }

  button.addEventListener("click", () => (frame === null || frame.hidden ? open(true) : close()));
  // Only our frame's word counts: any other window may post anything.
  window.addEventListener("message", (event) => {
    if (frame !== null && event.source === frame.contentWindow && event.data === CLOSE && !frame.hidden) { close(); }
  });

  function mount() {
    document.body.append(button);
    // A visitor who had the chat open finds it open again after a reload of the page
    // (the focus left where the page puts it).
    try {
      if (sessionStorage.getItem(OPEN_KEY) === "1") { open(false); }
    } catch { /* as in remember() */ }
  }

  if (document.body) { mount(); } else { document.addEventListener("DOMContentLoaded", mount); }
})();
