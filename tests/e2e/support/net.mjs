// Real sockets on 127.0.0.1: free ports, the upstream servers the proxy forwards to, and plain HTTP requests.
import http from "node:http";
import net from "node:net";

/**
 * An ephemeral port, free at the time of asking: bind port 0, read what the kernel chose, release it. Used where
 * a port must be named before the process that binds it starts (tauri-driver, the config's Listener).
 */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts an HTTP server on 127.0.0.1:0 answering every request with `served by <name>`. Resolves to
 * `{ name, port, url, hits, close() }`; `hits` counts requests, so a test can see who was (not) contacted.
 */
export function startUpstream(name) {
  return new Promise((resolve, reject) => {
    const up = { name, port: 0, url: "", hits: 0, close: () => {} };
    const server = http.createServer((req, res) => {
      up.hits++;
      req.resume();
      res.writeHead(200, { "content-type": "text/plain" });
      res.end(`served by ${name}`);
    });
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      up.port = server.address().port;
      up.url = `http://127.0.0.1:${up.port}`;
      up.close = () =>
        new Promise((done) => {
          server.closeAllConnections();
          server.close(() => done());
        });
      resolve(up);
    });
  });
}

/** GET `path` on 127.0.0.1:`port` with the given Host header, on a fresh connection; resolves `{ status, body }`. */
export function get(port, host, path = "/") {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port, path, method: "GET", headers: { host }, agent: false, timeout: 10_000 },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode, body }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`GET ${host}${path} via :${port} timed out`)));
    req.on("error", reject);
    req.end();
  });
}
