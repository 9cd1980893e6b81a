//! A child process the run started and must not leave behind: stopped on every exit path, because Drop runs on
//! errors and on an interrupted run alike.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// How a process is asked to stop before it is killed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// SIGKILL at once: nothing of its state matters (upstreams, Roundabout, load generators).
    Kill,
    /// SIGQUIT first, so a master process takes its workers down with it (nginx), then SIGKILL if needed.
    Quit,
}

/// A running child process, stopped when dropped.
#[derive(Debug)]
pub struct Running {
    /// What it is, for messages.
    pub name: String,
    child: Child,
    stop: Stop,
}

impl Running {
    /// Starts `command`; `name` is used in errors.
    pub fn spawn(name: &str, command: &mut Command, stop: Stop) -> Result<Running, String> {
        let child = command.spawn().map_err(|e| format!("cannot start {name} ({command:?}): {e}"))?;
        Ok(Running { name: name.to_string(), child, stop })
    }

    /// Its process id (with `taskset` in front, taskset execs the program, so this is the program's pid).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `Err` when the process has exited, which a running proxy never should.
    pub fn check_alive(&mut self) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!("{} exited unexpectedly ({status})", self.name)),
            Err(e) => Err(format!("cannot check on {}: {e}", self.name)),
        }
    }

    /// Mutable access to the child, e.g. to take its stdout.
    pub fn child_mut(&mut self) -> &mut Child {
        &mut self.child
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        if self.stop == Stop::Quit {
            let quit = Command::new("kill").args(["-QUIT", &self.child.id().to_string()]).status();
            if quit.is_ok_and(|s| s.success()) && exited_within(&mut self.child, Duration::from_secs(5)) {
                return;
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls for the child's exit until the deadline; `true` when it exited.
fn exited_within(child: &mut Child, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}
