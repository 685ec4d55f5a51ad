//! `photovaultctl`: the small client of `photovaultd`.
//!
//! Every command but `install`, `uninstall` and parts of `doctor` talks to
//! the daemon over its socket; the daemon does the work and owns the state.

mod client;
mod install;
mod render;
mod submit;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::{Parser, Subcommand};
use photovault_protocol::{paths, RequestBody, ResponseBody};

use client::Connection;

/// Talk to the photovault daemon: status, logs, backups and drives.
#[derive(Parser)]
#[command(name = "photovaultctl", version, about, long_about = None)]
struct Cli {
    /// The daemon's socket (default: from the configuration's state_dir).
    #[arg(long, global = true, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// The daemon's configuration file (to find its socket).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Print JSON for scripts instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The daemon, the library, every destination and what is running.
    Status {
        /// Keep showing the status as it changes (Ctrl-C to stop).
        #[arg(long)]
        watch: bool,
    },
    /// Back up one destination now (or every connected one).
    Backup {
        /// Destination name or id.
        dest: Option<String>,
        /// Wait for the backup to finish, showing progress.
        #[arg(long)]
        wait: bool,
        /// Let the mirror proceed although the library lost more originals than the mass-deletion guard allows.
        #[arg(long)]
        allow_deletions: bool,
    },
    /// Re-hash every file on a destination: report missing, damaged and unexpected files.
    Verify {
        /// Destination name or id.
        dest: String,
        /// Only queue it; do not wait for the result.
        #[arg(long)]
        no_wait: bool,
    },
    /// Restore the mirrored library (as of any backup) or exported photos from a destination.
    Restore(submit::RestoreArgs),
    /// Queued and running jobs.
    Jobs,
    /// Finished jobs, newest first.
    History {
        /// Only this destination.
        dest: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Cancel a queued or running job.
    Cancel {
        /// The job number (`photovaultctl jobs`).
        job: i64,
    },
    /// Stop running jobs and start none until `resume`.
    Pause,
    /// Start jobs again after `pause`.
    Resume,
    /// The daemon's log.
    Logs {
        /// Keep printing new lines (Ctrl-C to stop).
        #[arg(short, long)]
        follow: bool,
        /// Lowest level shown: error, warn, info, debug or trace.
        #[arg(long, default_value = "info")]
        level: String,
        /// How many past lines.
        #[arg(short = 'n', long, default_value_t = 50)]
        lines: u32,
    },
    /// Enrol, list and remove backup destinations.
    Dest {
        #[command(subcommand)]
        command: DestCommand,
    },
    /// Run photovaultd at every login (LaunchAgent on macOS, systemd user unit on Linux).
    Install {
        /// The photovaultd binary (default: next to photovaultctl).
        #[arg(long, value_name = "PATH")]
        daemon: Option<PathBuf>,
        /// Only write the file; do not load it.
        #[arg(long)]
        no_load: bool,
    },
    /// Stop running photovaultd at login and remove the LaunchAgent or unit.
    Uninstall {
        /// Only remove the file; do not unload it.
        #[arg(long)]
        no_load: bool,
    },
    /// Check the configuration, the library, the daemon and each destination.
    Doctor,
}

#[derive(Subcommand)]
enum DestCommand {
    /// Enrol a folder on a connected drive as a backup destination.
    Add {
        /// The folder (the drive itself, e.g. /Volumes/Backup, or a folder on it).
        path: PathBuf,
        /// The name to call it by.
        #[arg(long)]
        name: String,
        /// export, mirror, organize, or several joined by commas (export,organize).
        #[arg(long)]
        mode: Option<String>,
    },
    /// The enrolled destinations.
    List,
    /// Forget a destination (its drive keeps its backup).
    Remove {
        /// Name or id.
        name: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("photovaultctl: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let socket = || client::socket_path(cli.socket.as_deref(), cli.config.as_deref());
    let json = cli.json;
    match cli.command {
        Command::Status { watch } => status(&socket()?, watch, json),
        Command::Backup {
            dest,
            wait,
            allow_deletions,
        } => submit::backup(&socket()?, dest, wait, allow_deletions, json),
        Command::Verify { dest, no_wait } => submit::verify(&socket()?, dest, !no_wait, json),
        Command::Restore(args) => submit::restore(&socket()?, args, json),
        Command::Jobs => jobs(
            &socket()?,
            RequestBody::Jobs,
            json,
            "no job is queued or running",
        ),
        Command::History { dest, limit } => jobs(
            &socket()?,
            RequestBody::History {
                destination: dest,
                limit,
            },
            json,
            "no job has finished yet",
        ),
        Command::Cancel { job } => {
            let r = Connection::call(&socket()?, RequestBody::Cancel { job })?;
            print_one(r, json)
        }
        Command::Pause => print_one(Connection::call(&socket()?, RequestBody::Pause)?, json),
        Command::Resume => print_one(Connection::call(&socket()?, RequestBody::Resume)?, json),
        Command::Logs {
            follow,
            level,
            lines,
        } => logs(&socket()?, follow, level, lines, json),
        Command::Dest { command } => dest(&socket()?, command, json),
        Command::Install { daemon, no_load } => {
            let options = install_options(daemon, cli.config, !no_load)?;
            let report = install::install(&options)?;
            print_install(&report, json)
        }
        Command::Uninstall { no_load } => {
            let options = install_options(None, cli.config, !no_load)?;
            let report = install::uninstall(&options)?;
            print_install(&report, json)
        }
        Command::Doctor => doctor(&socket()?, cli.config.as_deref(), json),
    }
}

fn print_json(value: &impl serde::Serialize) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

fn print_one(r: ResponseBody, json: bool) -> Result<ExitCode> {
    match (&r, json) {
        (_, true) => print_json(&r)?,
        (ResponseBody::Ok { message }, false) => println!("{message}"),
        (ResponseBody::Job(j), false) => println!("{}", render::job_line(j)),
        _ => println!("{}", serde_json::to_string(&r)?),
    }
    Ok(ExitCode::SUCCESS)
}

fn status(socket: &Path, watch: bool, json: bool) -> Result<ExitCode> {
    let mut c = Connection::open(socket)?;
    c.send(RequestBody::Status { watch })?;
    loop {
        match c.next()? {
            ResponseBody::Status(s) if json => {
                if watch {
                    println!("{}", serde_json::to_string(&s)?);
                } else {
                    print_json(&s)?;
                }
            }
            ResponseBody::Status(s) => {
                if watch {
                    // Clear the screen between reports.
                    print!("\x1b[2J\x1b[H");
                }
                print!("{}", render::status(&s));
            }
            ResponseBody::End => break,
            other => bail!("unexpected answer from photovaultd: {other:?}"),
        }
        if !watch {
            break;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn jobs(socket: &Path, request: RequestBody, json: bool, none: &str) -> Result<ExitCode> {
    let ResponseBody::Jobs { jobs } = Connection::call(socket, request)? else {
        bail!("unexpected answer from photovaultd");
    };
    if json {
        print_json(&jobs)?;
    } else if jobs.is_empty() {
        println!("{none}");
    } else {
        for j in &jobs {
            println!("{}", render::job_line(j));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn logs(socket: &Path, follow: bool, level: String, lines: u32, json: bool) -> Result<ExitCode> {
    let mut c = Connection::open(socket)?;
    c.send(RequestBody::Logs {
        follow,
        level: Some(level),
        lines: Some(lines),
    })?;
    loop {
        match c.next()? {
            ResponseBody::Log(l) if json => println!("{}", serde_json::to_string(&l)?),
            ResponseBody::Log(l) => println!("{}", l.text),
            ResponseBody::End => return Ok(ExitCode::SUCCESS),
            other => bail!("unexpected answer from photovaultd: {other:?}"),
        }
    }
}

fn dest(socket: &Path, command: DestCommand, json: bool) -> Result<ExitCode> {
    match command {
        DestCommand::Add { path, name, mode } => {
            let path = std::path::absolute(&path)?;
            let r = Connection::call(
                socket,
                RequestBody::DestAdd {
                    path: path.to_string_lossy().into_owned(),
                    name,
                    mode,
                },
            )?;
            print_one(r, json)
        }
        DestCommand::Remove { name } => print_one(
            Connection::call(socket, RequestBody::DestRemove { name })?,
            json,
        ),
        DestCommand::List => {
            let ResponseBody::Status(s) =
                Connection::call(socket, RequestBody::Status { watch: false })?
            else {
                bail!("unexpected answer from photovaultd");
            };
            if json {
                print_json(&s.destinations)?;
            } else if s.destinations.is_empty() {
                println!("no destination is enrolled; add one with `photovaultctl dest add PATH --name NAME`");
            } else {
                for d in &s.destinations {
                    println!(
                        "{:<20} {}  {:<14} {}",
                        d.name,
                        d.id,
                        d.modes.join(","),
                        d.path.as_deref().unwrap_or("(not connected)")
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn install_options(
    daemon: Option<PathBuf>,
    config: Option<PathBuf>,
    load: bool,
) -> Result<install::InstallOptions> {
    let home = client::home()?;
    let macos = cfg!(target_os = "macos");
    let daemon = match daemon {
        Some(d) => std::path::absolute(d)?,
        None => std::env::current_exe()?
            .parent()
            .map(|p| p.join("photovaultd"))
            .unwrap_or_else(|| PathBuf::from("photovaultd")),
    };
    let xdg_state_home = paths::xdg_var("XDG_STATE_HOME");
    let log_dir = paths::log_dir(
        macos,
        &home,
        &paths::state_dir(macos, &home, xdg_state_home.as_deref()),
    );
    Ok(install::InstallOptions {
        daemon,
        config: config.map(std::path::absolute).transpose()?,
        home,
        log_dir,
        load,
        macos,
        xdg_config_home: paths::xdg_var("XDG_CONFIG_HOME"),
    })
}

fn print_install(report: &install::InstallReport, json: bool) -> Result<ExitCode> {
    if json {
        print_json(&serde_json::json!({
            "unit_file": report.unit_file,
            "loaded": report.loaded,
            "messages": report.messages,
        }))?;
    } else {
        for m in &report.messages {
            println!("{m}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One check of `doctor`.
#[derive(serde::Serialize)]
struct Check {
    what: String,
    ok: bool,
    detail: String,
}

fn doctor(socket: &Path, config: Option<&Path>, json: bool) -> Result<ExitCode> {
    let mut checks = Vec::new();
    let mut check = |what: &str, ok: bool, detail: String| {
        checks.push(Check {
            what: what.to_string(),
            ok,
            detail,
        })
    };
    if let Some(c) = config {
        match std::fs::read_to_string(c).map(|t| t.parse::<toml::Table>()) {
            Ok(Ok(_)) => check(
                "configuration",
                true,
                format!(
                    "{} is valid TOML (photovaultd checks every key at start)",
                    c.display()
                ),
            ),
            Ok(Err(e)) => check(
                "configuration",
                false,
                format!("{} is not valid TOML: {e}", c.display()),
            ),
            Err(e) => check(
                "configuration",
                false,
                format!("cannot read {}: {e}", c.display()),
            ),
        }
    }
    match Connection::call(socket, RequestBody::Status { watch: false }) {
        Err(e) => check("daemon", false, format!("{e:#}")),
        Ok(ResponseBody::Status(s)) => {
            check(
                "daemon",
                true,
                format!(
                    "photovaultd {} answers on {} (configuration: {})",
                    s.daemon.version,
                    socket.display(),
                    s.daemon
                        .config_file
                        .as_deref()
                        .unwrap_or("built-in defaults")
                ),
            );
            let lib = &s.library;
            let db = Path::new(&lib.path).join("database/Photos.sqlite");
            match (&lib.error, std::fs::File::open(&db)) {
                (None, Ok(_)) => check(
                    "library",
                    true,
                    format!(
                        "{} is readable{}",
                        lib.path,
                        lib.assets
                            .map(|n| format!(" ({n} assets)"))
                            .unwrap_or_default()
                    ),
                ),
                (Some(e), _) => check(
                    "library",
                    false,
                    format!(
                        "{e}{}",
                        if cfg!(target_os = "macos") {
                            "; if it is a permission error, give photovaultd Full Disk Access in System Settings > Privacy & Security"
                        } else {
                            ""
                        }
                    ),
                ),
                (None, Err(e)) => check(
                    "library",
                    false,
                    format!(
                        "cannot open {}: {e}{}",
                        db.display(),
                        if cfg!(target_os = "macos") {
                            "; give photovaultd and your terminal Full Disk Access in System Settings > Privacy & Security"
                        } else {
                            ""
                        }
                    ),
                ),
            }
            if s.destinations.is_empty() {
                check(
                    "destinations",
                    false,
                    "none enrolled; enrol a drive with `photovaultctl dest add PATH --name NAME`"
                        .into(),
                );
            }
            for d in &s.destinations {
                let (ok, detail) = match (&d.path, &d.refused) {
                    (_, Some(why)) => (false, why.clone()),
                    (Some(p), None) => (
                        true,
                        format!(
                            "connected at {p}, {} free, last success {}",
                            d.free_bytes
                                .map(render::bytes)
                                .unwrap_or_else(|| "?".into()),
                            d.last_success.as_deref().unwrap_or("never")
                        ),
                    ),
                    (None, None) => (
                        true,
                        format!(
                            "not connected (last success {})",
                            d.last_success.as_deref().unwrap_or("never")
                        ),
                    ),
                };
                check(&format!("destination {}", d.name), ok, detail);
            }
        }
        Ok(other) => check("daemon", false, format!("unexpected answer: {other:?}")),
    }
    let all_ok = checks.iter().all(|c| c.ok);
    if json {
        print_json(&checks)?;
    } else {
        for c in &checks {
            println!(
                "{} {}: {}",
                if c.ok { "ok  " } else { "FAIL" },
                c.what,
                c.detail
            );
        }
    }
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
