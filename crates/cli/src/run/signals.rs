//! Stopping `run` and its dev server: which signal asked `run` to stop, and passing it on to the dev server. The
//! platform-specific part of `run`.

/// Why `run` was asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Ctrl-C (SIGINT).
    Interrupt,
    /// SIGTERM.
    Terminate,
    /// The terminal closed (SIGHUP).
    Hangup,
}

impl Stop {
    /// For the log: why the Upstream left.
    pub fn reason(self) -> &'static str {
        match self {
            Stop::Interrupt => "roundabout run was interrupted (Ctrl-C)",
            Stop::Terminate => "roundabout run was terminated",
            Stop::Hangup => "roundabout run's terminal closed",
        }
    }
}

/// The signals `run` handles instead of dying at once (so it can first take its Upstream out of rotation).
#[cfg(unix)]
pub struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
    hangup: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    /// Starts handling SIGINT, SIGTERM and SIGHUP.
    pub fn new() -> std::io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
            hangup: signal(SignalKind::hangup())?,
        })
    }

    /// The next stop signal.
    pub async fn recv(&mut self) -> Stop {
        tokio::select! {
            _ = self.interrupt.recv() => Stop::Interrupt,
            _ = self.terminate.recv() => Stop::Terminate,
            _ = self.hangup.recv() => Stop::Hangup,
        }
    }
}

/// Passes `stop` on to the dev server (process `pid`).
#[cfg(unix)]
pub fn forward(pid: u32, stop: Stop) {
    use nix::sys::signal::{Signal, kill};
    let signal = match stop {
        Stop::Interrupt => Signal::SIGINT,
        Stop::Terminate => Signal::SIGTERM,
        Stop::Hangup => Signal::SIGHUP,
    };
    if let Ok(pid) = i32::try_from(pid) {
        let _ = kill(nix::unistd::Pid::from_raw(pid), signal);
    }
}

/// Ctrl-C on Windows.
#[cfg(not(unix))]
pub struct Signals;

#[cfg(not(unix))]
impl Signals {
    /// Starts handling Ctrl-C.
    pub fn new() -> std::io::Result<Self> {
        Ok(Signals)
    }

    /// The next Ctrl-C.
    pub async fn recv(&mut self) -> Stop {
        let _ = tokio::signal::ctrl_c().await;
        Stop::Interrupt
    }
}

/// On Windows a console's Ctrl-C already reaches every process attached to it, the dev server included.
#[cfg(not(unix))]
pub fn forward(_pid: u32, _stop: Stop) {}

/// The exit code that reports how the dev server ended: its own, or 128 plus the signal that ended it.
pub fn exit_code(status: std::process::ExitStatus) -> u8 {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return u8::try_from(128 + signal).unwrap_or(u8::MAX);
        }
    }
    status.code().and_then(|c| u8::try_from(c).ok()).unwrap_or(1)
}
