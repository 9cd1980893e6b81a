// Entry the browser tests bundle as an IIFE and inject with page.addInitScript, before the app's own scripts run.
import { installMockBackend, type MockOptions } from "./backend";

installMockBackend((window as unknown as { __roundaboutOptions?: MockOptions }).__roundaboutOptions ?? {});
