// The supervisor dashboard: the shell (sign in, own status) and the live floor with, for
// admins, the accounts and audit pages (dashboard/).
import { mountShell } from "./shell.js";
import { dashboard } from "./dashboard/board.js";

mountShell(document.getElementById("app"), {
  title: "Supervisor dashboard",
  roles: ["supervisor", "admin"],
  workspace: dashboard(),
});
