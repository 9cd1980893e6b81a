//! Runs the real `roundabout` binary and tiny real upstreams, and polls for output with deadlines (no sleeps).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long any single expectation may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(15);

/// A running `roundabout` process whose stdout and stderr lines are collected as they arrive.
pub struct Roundabout {
    child: Child,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
    /// The threads collecting stdout and stderr; they end at end of file.
    collectors: Vec<std::thread::JoinHandle<()>>,
}

impl Roundabout {
    /// Spawns the binary with `args`, its config dir pointed at `config_home`.
    pub fn spawn(args: &[&str], config_home: &Path) -> Self {
        Self::spawn_command(Command::new(env!("CARGO_BIN_EXE_roundabout")), args, config_home)
    }

    /// Like [`spawn`](Self::spawn), allowed at most `files` open file descriptors (through util-linux's `prlimit`,
    /// which then runs the binary in its own process).
    pub fn spawn_with_fd_limit(args: &[&str], config_home: &Path, files: u32) -> Self {
        let mut command = Command::new("prlimit");
        command.arg(format!("--nofile={files}:{files}")).arg("--").arg(env!("CARGO_BIN_EXE_roundabout"));
        Self::spawn_command(command, args, config_home)
    }

    /// Like [`spawn`](Self::spawn), as the unprivileged user `nobody` when the tests run as root (through
    /// util-linux's `setpriv`), as the current user otherwise.
    pub fn spawn_unprivileged(args: &[&str], config_home: &Path) -> Self {
        let binary = env!("CARGO_BIN_EXE_roundabout");
        let root =
            Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        if !root {
            return Self::spawn(args, config_home);
        }
        let mut command = Command::new("setpriv");
        command.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--", binary]);
        Self::spawn_command(command, args, config_home)
    }

    /// Spawns `command` (already given its program, and any environment or directory of its own) with `args`.
    pub fn spawn_command(mut command: Command, args: &[&str], config_home: &Path) -> Self {
        let mut child = isolated(command.args(args), config_home)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the roundabout binary starts");
        let (stdout, out_thread) = collect(child.stdout.take().unwrap());
        let (stderr, err_thread) = collect(child.stderr.take().unwrap());
        Roundabout { child, stdout, stderr, collectors: vec![out_thread, err_thread] }
    }

    /// Waits until some stdout line satisfies `pred` and returns it.
    pub fn stdout_line(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        wait_line(&self.stdout, &self.stderr, what, pred)
    }

    /// Waits until some stderr line satisfies `pred` and returns it.
    pub fn stderr_line(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        wait_line(&self.stderr, &self.stdout, what, pred)
    }

    /// The port of the Listener named `name`, from its `running on` line.
    pub fn listener_port(&self, name: &str) -> u16 {
        let prefix = format!("listener {name}: running on 127.0.0.1:");
        let line = self.stderr_line(&prefix, |l| l.starts_with(&prefix));
        line[prefix.len()..].split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
    }

    /// The TCP ports the process listens on, read from /proc (Linux).
    pub fn listening_ports(&self) -> Vec<u16> {
        let pid = self.child.id();
        let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
            .unwrap()
            .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
            .filter_map(|link| link.to_string_lossy().strip_prefix("socket:[")?.strip_suffix(']').map(str::to_owned))
            .collect();
        let mut ports = Vec::new();
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            for line in std::fs::read_to_string(table).unwrap_or_default().lines().skip(1) {
                let fields: Vec<&str> = line.split_whitespace().collect();
                // local_address is HEX_IP:HEX_PORT; state 0A is LISTEN; the inode is the tenth field.
                if fields.len() > 9 && fields[3] == "0A" && inodes.iter().any(|i| i == fields[9]) {
                    let port = fields[1].rsplit(':').next().and_then(|p| u16::from_str_radix(p, 16).ok());
                    ports.extend(port);
                }
            }
        }
        ports.sort_unstable();
        ports.dedup();
        ports
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits (up to the deadline) for the process to exit.
    pub fn wait(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "the process did not exit; stderr: {:#?}", self.stderr.lock().unwrap());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// All stderr lines so far.
    pub fn stderr(&self) -> Vec<String> {
        self.stderr.lock().unwrap().clone()
    }

    /// All stdout lines so far.
    pub fn stdout(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    /// Sends SIGINT, waits for the exit, and returns everything printed to stdout, to the last line.
    pub fn interrupt_and_collect(mut self) -> (std::process::ExitStatus, Vec<String>) {
        let status = self.stop();
        for collector in self.collectors.drain(..) {
            collector.join().unwrap();
        }
        (status, self.stdout())
    }

    /// Sends SIGINT (Ctrl-C) and waits for the exit status.
    pub fn interrupt(mut self) -> std::process::ExitStatus {
        self.stop()
    }

    fn stop(&mut self) -> std::process::ExitStatus {
        Command::new("kill").args(["-INT", &self.child.id().to_string()]).status().unwrap();
        self.wait()
    }
}

impl Drop for Roundabout {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn collect(stream: impl Read + Send + 'static) -> (Arc<Mutex<Vec<String>>>, std::thread::JoinHandle<()>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&lines);
    let thread = std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    (lines, thread)
}

fn wait_line(
    lines: &Mutex<Vec<String>>,
    other: &Mutex<Vec<String>>,
    what: &str,
    pred: impl Fn(&str) -> bool,
) -> String {
    eventually(what, || lines.lock().unwrap().iter().find(|l| pred(l)).cloned()).unwrap_or_else(|| {
        panic!("no line {what:?} in\n{:#?}\nother stream:\n{:#?}", lines.lock().unwrap(), other.lock().unwrap())
    })
}

/// Polls `check` until it returns `Some` or the deadline passes.
pub fn eventually<T>(_what: &str, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(found) = check() {
            return Some(found);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A minimal real HTTP/1.1 upstream on 127.0.0.1:0 that answers every request with its name.
pub struct Upstream {
    /// Its port.
    pub port: u16,
}

impl Upstream {
    /// Starts serving `name` on a fresh port.
    pub fn start(name: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                std::thread::spawn(move || answer(stream, name));
            }
        });
        Upstream { port }
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

fn answer(mut stream: TcpStream, name: &str) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
        if line == "\r\n" {
            let body = format!("served by {name}");
            let _ =
                write!(stream, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
            return;
        }
        line.clear();
    }
}

/// A port nothing listens on (bound, then released).
pub fn dead_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `GET path` with the given Host through 127.0.0.1:`port`; returns (status, body).
pub fn get(port: u16, host: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

/// Writes a config file the way editors do: to a temp file, then renamed over the original.
pub fn write_config(path: &Path, json: &serde_json::Value) {
    let temp = path.with_extension("tmp");
    std::fs::write(&temp, serde_json::to_string_pretty(json).unwrap()).unwrap();
    std::fs::rename(temp, path).unwrap();
}

/// Gives `command` the test's own config, data, runtime and home directories under `home`, and no colour: nothing
/// of the machine's (its config, CA, control sockets) is read or changed.
pub fn isolated<'a>(command: &'a mut Command, home: &Path) -> &'a mut Command {
    command
        .env("XDG_CONFIG_HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_RUNTIME_DIR", home.join("run"))
        .env("HOME", home)
        .env("NO_COLOR", "1")
}

/// Runs `roundabout ARGS…` to its end with the test's own directories under `home`.
pub fn roundabout(args: &[&str], home: &Path) -> std::process::Output {
    isolated(Command::new(env!("CARGO_BIN_EXE_roundabout")).args(args), home).output().unwrap()
}

/// Output bytes as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
