// A tiny W3C WebDriver client over fetch: only the commands the e2e test uses. The protocol is JSON over HTTP;
// every answer is `{ value }`, and an error is `{ value: { error, message } }` with a 4xx/5xx status.
// Spec: https://www.w3.org/TR/webdriver2/

// The key under which W3C drivers return an element reference.
const ELEMENT = "element-6066-11e4-a52e-4f735466cecf";

/** Special keys for `sendKeys` (W3C "Keyboard actions" code points). */
export const Key = { Enter: "\uE007", Backspace: "\uE003", Tab: "\uE004", ArrowUp: "\uE013", ArrowDown: "\uE015" };

export class WebDriverError extends Error {
  constructor(method, path, status, value) {
    super(`${method} ${path} -> ${status} ${value?.error ?? ""}: ${value?.message ?? JSON.stringify(value)}`);
    this.code = value?.error;
  }
}

/** POST/GET/DELETE `path` under `base`; resolves to the answer's `value`, throws WebDriverError on a failure. */
async function command(base, method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json; charset=utf-8" },
    body: body === undefined ? undefined : JSON.stringify(body),
    // Creating a session launches the app (about a second here; more on a cold, busy machine). A bound, because a
    // driver waiting for an app that crashed at start never answers.
    signal: AbortSignal.timeout(60_000),
  }).catch((e) => {
    throw new WebDriverError(method, path, "no answer", { error: e.name, message: e.message });
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    throw new WebDriverError(method, path, res.status, { error: "bad json", message: text.slice(0, 300) });
  }
  if (!res.ok || (json.value && typeof json.value === "object" && "error" in json.value)) {
    throw new WebDriverError(method, path, res.status, json.value);
  }
  return json.value;
}

/** One element of a session; methods map one to one onto WebDriver element commands. */
export class Element {
  constructor(session, id) {
    this.session = session;
    this.id = id;
  }
  #path(suffix) {
    return `/element/${this.id}${suffix}`;
  }
  click() {
    return this.session.cmd("POST", this.#path("/click"), {});
  }
  /** Types `text` into the element (W3C "Element Send Keys"); may include `Key.*` code points. */
  sendKeys(text) {
    return this.session.cmd("POST", this.#path("/value"), { text });
  }
  clear() {
    return this.session.cmd("POST", this.#path("/clear"), {});
  }
  /** The rendered text, as a user would read it (hidden parts left out). */
  text() {
    return this.session.cmd("GET", this.#path("/text"));
  }
  attribute(name) {
    return this.session.cmd("GET", this.#path(`/attribute/${encodeURIComponent(name)}`));
  }
  property(name) {
    return this.session.cmd("GET", this.#path(`/property/${encodeURIComponent(name)}`));
  }
  async find(css) {
    return this.session.wrap(await this.session.cmd("POST", this.#path("/element"), { using: "css selector", value: css }));
  }
  async findAll(css) {
    const refs = await this.session.cmd("POST", this.#path("/elements"), { using: "css selector", value: css });
    return refs.map((r) => this.session.wrap(r));
  }
}

export class Session {
  constructor(base, id) {
    this.base = base;
    this.id = id;
  }

  /** Starts a session (for tauri-driver: launches the app) with the given W3C capabilities. */
  static async create(base, capabilities) {
    const value = await command(base, "POST", "/session", { capabilities });
    return new Session(base, value.sessionId);
  }

  cmd(method, path, body) {
    return command(this.base, method, `/session/${this.id}${path}`, body);
  }

  wrap(ref) {
    return new Element(this, ref[ELEMENT]);
  }

  /** The first element matching `css`; throws WebDriverError (`no such element`) when there is none. */
  async find(css) {
    return this.wrap(await this.cmd("POST", "/element", { using: "css selector", value: css }));
  }

  /** Every element matching `css` (possibly none). */
  async findAll(css) {
    const refs = await this.cmd("POST", "/elements", { using: "css selector", value: css });
    return refs.map((r) => this.wrap(r));
  }

  /** Runs `script` (a function body; `arguments` holds `args`) in the page and returns its JSON result. */
  execute(script, args = []) {
    return this.cmd("POST", "/execute/sync", { script, args });
  }

  /** Runs `script` as an async function body: it resolves by calling `arguments[arguments.length - 1](value)`. */
  executeAsync(script, args = []) {
    return this.cmd("POST", "/execute/async", { script, args });
  }

  /**
   * Resolves once the page has rendered two more frames. WebKit's screenshot is of the last rendered frame, so a
   * change made just before it (a scroll, a resize) can be missing from the picture without this.
   */
  nextFrames() {
    return this.executeAsync("const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(() => done(true)));");
  }

  /** A PNG of the viewport, decoded from the driver's base64. */
  async screenshot() {
    return Buffer.from(await this.cmd("GET", "/screenshot"), "base64");
  }

  setWindowRect(rect) {
    return this.cmd("POST", "/window/rect", rect);
  }

  /** Ends the session; for tauri-driver this closes the app. */
  delete() {
    return command(this.base, "DELETE", `/session/${this.id}`);
  }
}
