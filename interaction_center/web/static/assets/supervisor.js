// The supervisor dashboard: for now the shell (sign in, status); its tiles come next (issue 15).
import { mountShell } from "./shell.js";

mountShell(document.getElementById("app"), {
  title: "Supervisor dashboard",
  roles: ["supervisor", "admin"],
});
