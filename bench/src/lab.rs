//! The lab: the upstreams and every subject, started once and up for the whole run (so "idle" and "under load"
//! memory are of the same processes), and stopped together when it is dropped.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tempfile::TempDir;

use crate::measurement::Measurement;
use crate::memory::PeakSampler;
use crate::others::{self, Snapshot};
use crate::pin::Pinning;
use crate::process::{Running, Stop};
use crate::results::MemoryRow;
use crate::roundabout::{self, Listeners, ServeOutput};
use crate::subject::{Role, Subject};
use crate::{nginx, ports, tls};

/// Everything running for the benchmark. Fields drop in order: proxies, then upstreams, then the temp dir.
pub struct Lab {
    /// Direct, Roundabout (log on), Roundabout --quiet (when the build has it), nginx: the interleaving order.
    pub subjects: Vec<Subject>,
    /// The highest RSS sampled per subject during measurements, in KiB.
    peaks: Vec<u64>,
    /// What `serve` with the log on printed.
    pub log: ServeOutput,
    /// What `serve --quiet` printed.
    pub quiet_log: Option<ServeOutput>,
    /// The HTTPS files (CA, nginx's leaf, the wrk script) when the proxies have TLS Listeners.
    pub tls: Option<tls::Files>,
    /// The one process serving the three upstream ports.
    upstreams: Running,
    /// Configs, logs and nginx's files.
    dir: TempDir,
}

impl Lab {
    /// Starts the upstreams and every subject, each waited on until it accepts; with `https`, every proxy also
    /// gets a TLS Listener (Roundabout's CA created first, nginx's leaf minted from it).
    pub fn start(
        pinning: &Pinning,
        (roundabout_binary, nginx_binary): (&Path, &Path),
        quiet: bool,
        https: bool,
    ) -> Result<Lab, String> {
        let dir = tempfile::Builder::new()
            .prefix("roundabout-bench-")
            .tempdir()
            .map_err(|e| format!("cannot create a temp dir: {e}"))?;
        let tls = if https { Some(tls::prepare(roundabout_binary, dir.path())?) } else { None };
        let ports = ports::free_ports(9)?;
        let (upstream_ports, proxy_ports) = ports.split_at(3);
        // Proxy i listens on proxy_ports[i], and with TLS on proxy_ports[i + 3].
        let tls_port = |i: usize| tls.as_ref().map(|_| proxy_ports[i + 3]);
        let upstreams = start_upstreams(pinning, upstream_ports)?;
        let mut subjects = vec![Subject { role: Role::Direct, port: upstream_ports[0], tls_port: None, process: None }];
        let start_roundabout = |i: usize, quiet| {
            let data_home = tls.as_ref().map(|files| files.data_home.as_path());
            let listeners = Listeners { port: proxy_ports[i], tls: tls_port(i).zip(data_home) };
            roundabout::start(roundabout_binary, pinning, dir.path(), listeners, upstream_ports, quiet)
        };
        let (process, log) = start_roundabout(0, false)?;
        subjects.push(Subject {
            role: Role::Roundabout,
            port: proxy_ports[0],
            tls_port: tls_port(0),
            process: Some(process),
        });
        let mut quiet_log = None;
        if quiet {
            let (process, output) = start_roundabout(1, true)?;
            subjects.push(Subject {
                role: Role::RoundaboutQuiet,
                port: proxy_ports[1],
                tls_port: tls_port(1),
                process: Some(process),
            });
            quiet_log = Some(output);
        }
        let nginx_tls = tls.as_ref().zip(tls_port(2)).map(|(files, port)| nginx::Tls {
            port,
            cert: &files.leaf_cert,
            key: &files.leaf_key,
        });
        let nginx = nginx::start(nginx_binary, pinning, dir.path(), (proxy_ports[2], nginx_tls), upstream_ports)?;
        subjects.push(Subject { role: Role::Nginx, port: proxy_ports[2], tls_port: tls_port(2), process: Some(nginx) });
        let peaks = vec![0; subjects.len()];
        Ok(Lab { subjects, peaks, log, quiet_log, tls, upstreams, dir })
    }

    /// Runs `load` against subject `i` while sampling its RSS; `Err` only when a process of the lab died. A
    /// measurement during which other processes were busy is marked disturbed; before it, waits up to
    /// `wait_for_quiet` for them to calm down.
    pub fn measure(
        &mut self,
        i: usize,
        wait_for_quiet: Duration,
        load: impl FnOnce(&Subject) -> Result<Measurement, String>,
    ) -> Result<Measurement, String> {
        if !wait_for_quiet.is_zero() {
            others::wait_for_quiet(wait_for_quiet);
        }
        let subject = &mut self.subjects[i];
        let sampler = subject.process.as_ref().map(|p| PeakSampler::start(p.pid()));
        let others = Snapshot::take();
        let measured = load(subject);
        let disturbance = others.disturbance();
        if let Some(sampler) = sampler {
            self.peaks[i] = self.peaks[i].max(sampler.finish());
        }
        subject.check_alive()?;
        self.upstreams.check_alive()?;
        let mut measured = measured.unwrap_or_else(Measurement::failed);
        measured.problems.extend(disturbance);
        Ok(measured)
    }

    /// Every proxy's RSS now, in subject order (`None` for direct).
    pub fn rss_kib(&self) -> Vec<Option<u64>> {
        self.subjects.iter().map(Subject::rss_kib).collect()
    }

    /// The memory table: RSS at start and after warm-up as given, the sampled peaks, and RSS now.
    pub fn memory_rows(&self, idle_start: &[Option<u64>], idle_warm: &[Option<u64>]) -> Vec<MemoryRow> {
        let now = self.rss_kib();
        (0..self.subjects.len())
            .filter_map(|i| {
                Some(MemoryRow {
                    role: self.subjects[i].role,
                    idle_start_kib: idle_start.get(i).copied().flatten()?,
                    idle_warm_kib: idle_warm.get(i).copied().flatten()?,
                    peak_load_kib: self.peaks[i],
                    idle_end_kib: now[i]?,
                })
            })
            .collect()
    }

    /// The subject with this role.
    pub fn subject(&self, role: Role) -> Option<&Subject> {
        self.subjects.iter().find(|s| s.role == role)
    }

    /// The temp dir holding configs and logs.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// The three upstream servers: one `roundabout-bench upstream` process on the load CPU.
fn start_upstreams(pinning: &Pinning, ports: &[u16]) -> Result<Running, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))?;
    let mut command = pinning.load_command(exe);
    command.arg("upstream");
    for port in ports {
        command.args(["--port", &port.to_string()]);
    }
    command.stdin(Stdio::null()).stdout(Stdio::null());
    let mut process = Running::spawn("upstreams", &mut command, Stop::Kill)?;
    for port in ports {
        ports::wait_listening(*port, Duration::from_secs(10), || process.check_alive())?;
    }
    Ok(process)
}
