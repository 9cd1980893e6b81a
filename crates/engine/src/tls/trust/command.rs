//! Running the tools trust stores are managed with (`certutil`, `update-ca-certificates`, `security`…), so a
//! missing tool or a refusal becomes a sentence with the fix rather than an exit code.

use std::process::{Command, Output};

/// Runs `program` with `args`; its output when it succeeded, else what went wrong and what to do (`missing` says
/// how to get the program when it is not installed).
pub(super) fn run(program: &str, args: &[&str], missing: &str) -> Result<Output, String> {
    match Command::new(program).args(args).output() {
        Ok(output) if output.status.success() => Ok(output),
        Ok(output) => {
            let (stderr, stdout) = (String::from_utf8_lossy(&output.stderr), String::from_utf8_lossy(&output.stdout));
            let said = stderr.lines().chain(stdout.lines()).find(|l| !l.trim().is_empty()).unwrap_or("no message");
            Err(format!("{program} failed ({}): {}", output.status, said.trim()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(format!("{program} is not installed; {missing}")),
        Err(e) => Err(format!("cannot run {program}: {e}")),
    }
}

/// True when `program` can be found on PATH.
pub(super) fn exists(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}
