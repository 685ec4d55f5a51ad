//! Running the real `photovaultd` in a temporary world (configuration,
//! volume root, state folder) and driving it with the real `photovaultctl`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::bin;

/// A daemon under test and its world.
pub struct Daemon {
    /// The temporary folder holding everything.
    pub dir: PathBuf,
    /// The configuration file.
    pub config: PathBuf,
    /// The volume root the daemon watches.
    pub volumes: PathBuf,
    /// The daemon's state folder.
    pub state: PathBuf,
    child: Option<Child>,
}

impl Daemon {
    /// Writes a configuration for `library` in `dir` and starts the daemon.
    pub fn start(dir: &Path, library: &Path, debounce_seconds: u64) -> Daemon {
        Daemon::start_with(dir, library, debounce_seconds, "notifications = \"off\"\n")
    }

    /// [`start`](Self::start) with `extra` lines in the configuration.
    pub fn start_with(dir: &Path, library: &Path, debounce_seconds: u64, extra: &str) -> Daemon {
        let volumes = dir.join("volumes");
        let state = dir.join("state");
        std::fs::create_dir_all(&volumes).unwrap();
        let config = dir.join("config.toml");
        std::fs::write(
            &config,
            format!(
                "# test configuration\nlibrary = {:?}\nvolume_roots = [{:?}]\nstate_dir = {:?}\ndebounce_seconds = {debounce_seconds}\nretry_seconds = 1\n{extra}",
                library, volumes, state
            ),
        )
        .unwrap();
        let mut d = Daemon {
            dir: dir.to_path_buf(),
            config,
            volumes,
            state,
            child: None,
        };
        d.restart();
        d
    }

    /// Starts the daemon again (after [`kill`](Self::kill) or [`stop`](Self::stop)).
    pub fn restart(&mut self) {
        let child = Command::new(bin("photovaultd"))
            .arg("--config")
            .arg(&self.config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting photovaultd");
        self.child = Some(child);
        let socket = self.state.join("photovaultd.sock");
        wait_until(Duration::from_secs(10), "the daemon's socket", || {
            std::os::unix::net::UnixStream::connect(&socket).is_ok()
        });
    }

    /// Runs `photovaultctl --config <config> args`.
    pub fn ctl(&self, args: &[&str]) -> Output {
        Command::new(bin("photovaultctl"))
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .output()
            .expect("running photovaultctl")
    }

    /// Makes `name` (a new folder in the volume root) a drive and enrols it
    /// with `mode` (`export`, `mirror`, `organize` or a list); returns its
    /// path. Its first job starts at once.
    pub fn plug_in_and_enrol(&self, name: &str, mode: &str) -> PathBuf {
        let drive = self.volumes.join(name);
        std::fs::create_dir_all(&drive).unwrap();
        let out = self.ctl(&[
            "dest",
            "add",
            drive.to_str().unwrap(),
            "--name",
            name,
            "--mode",
            mode,
        ]);
        assert!(
            out.status.success(),
            "dest add failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        drive
    }

    /// Runs `photovaultctl … args --json`, which must succeed, and parses it.
    pub fn ctl_json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.ctl(&all);
        assert!(
            out.status.success(),
            "photovaultctl {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "photovaultctl {args:?} printed no JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    /// `status --json`.
    pub fn status(&self) -> Value {
        self.ctl_json(&["status"])
    }

    /// The status of destination `name`.
    pub fn destination(&self, name: &str) -> Value {
        self.status()["destinations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no destination {name} in the status"))
    }

    /// Finished jobs, newest first.
    pub fn history(&self) -> Vec<Value> {
        self.ctl_json(&["history"]).as_array().unwrap().clone()
    }

    /// Waits until `n` jobs have finished; returns the history.
    pub fn wait_for_finished(&self, n: usize, timeout: Duration) -> Vec<Value> {
        let mut history = Vec::new();
        wait_until(timeout, &format!("{n} finished jobs"), || {
            history = self.history();
            history.len() >= n
        });
        history
    }

    /// Kills the daemon with SIGKILL.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Sends SIGTERM and returns how it exited and how long it took.
    pub fn stop(&mut self) -> (std::process::ExitStatus, Duration) {
        let mut child = self.child.take().expect("the daemon is running");
        // SAFETY: signalling our own child.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let started = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if started.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                panic!("photovaultd did not stop within 30 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        (status, started.elapsed())
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Polls `condition` every 50 ms until it holds, failing the test after
/// `timeout` with `what`.
pub fn wait_until(timeout: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(
            started.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
