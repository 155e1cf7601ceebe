// The agent desktop: the shell (sign in, status) and under it the agent's work (desk/).
import { agentDesk } from "./desk/desk.js";
import { mountShell } from "./shell.js";

mountShell(document.getElementById("app"), {
  title: "Agent desktop",
  roles: ["agent", "supervisor", "admin"],
  workspace: agentDesk(),
});
