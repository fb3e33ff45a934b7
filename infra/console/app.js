// Entry point: the views register their screens with the core router, then the console boots (config, sign-in).
import { boot } from "./core.js";
import "./inbox.js";
import "./supervisor.js";
import "./admin.js";
import "./reports.js";

boot().catch((err) => {
  document.getElementById("main").textContent = `No se pudo iniciar la consola / The console could not start: ${err}`;
});
