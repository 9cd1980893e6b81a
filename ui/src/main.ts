import { mount } from "svelte";
import "./app.css";
import App from "./lib/App.svelte";

async function main(): Promise<void> {
  // `npm run dev` in a plain browser has no Tauri backend: use the in-memory one the tests use.
  if (import.meta.env.DEV && !("__TAURI_INTERNALS__" in window)) {
    const [{ installMockBackend }, { FIRST_RUN }] = await Promise.all([import("./mock/backend"), import("./mock/samples")]);
    installMockBackend({ config: FIRST_RUN.config, firstRun: FIRST_RUN.note, ticker: true });
  }
  mount(App, { target: document.getElementById("app")! });
}

void main();
