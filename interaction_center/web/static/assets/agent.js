// The agent desktop: for now the shell (sign in, status); its work comes next (issue 15).
import { mountShell } from "./shell.js";

mountShell(document.getElementById("app"), {
  title: "Agent desktop",
  roles: ["agent", "supervisor", "admin"],
});
