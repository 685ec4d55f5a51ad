use std::cell::RefCell;
use std::collections::VecDeque;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::render::*;
use super::service::*;
use super::*;

/// A machine whose commands answer from a script and are recorded.
struct FakeSystem {
    uid: u32,
    answers: RefCell<VecDeque<io::Result<Outcome>>>,
    calls: RefCell<Vec<String>>,
    pauses: RefCell<Vec<Duration>>,
}

impl FakeSystem {
    fn new(answers: Vec<io::Result<Outcome>>) -> Self {
        FakeSystem {
            uid: 501,
            answers: RefCell::new(answers.into()),
            calls: RefCell::new(Vec::new()),
            pauses: RefCell::new(Vec::new()),
        }
    }

    fn calls(&self) -> Vec<String> {
        self.calls.borrow().clone()
    }
}

impl System for FakeSystem {
    fn run(&self, program: &str, args: &[&str]) -> io::Result<Outcome> {
        self.calls
            .borrow_mut()
            .push(format!("{program} {}", args.join(" ")));
        self.answers
            .borrow_mut()
            .pop_front()
            .unwrap_or_else(|| Ok(ok()))
    }

    fn uid(&self) -> u32 {
        self.uid
    }

    fn pause(&self, duration: Duration) {
        self.pauses.borrow_mut().push(duration);
    }
}

fn ok() -> Outcome {
    Outcome {
        code: Some(0),
        output: String::new(),
    }
}

fn failed(code: i32, output: &str) -> io::Result<Outcome> {
    Ok(Outcome {
        code: Some(code),
        output: output.to_owned(),
    })
}

fn not_found() -> io::Result<Outcome> {
    Err(io::Error::new(
        io::ErrorKind::NotFound,
        "No such file or directory",
    ))
}

/// A temporary home with an executable stand-in for photovaultd in
/// `bin_dir` (relative to the home).
struct Setup {
    home: tempfile::TempDir,
    daemon: PathBuf,
}

fn setup(bin_dir: &str) -> Setup {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join(bin_dir);
    fs::create_dir_all(&dir).unwrap();
    let daemon = dir.join("photovaultd");
    fs::write(&daemon, "#!/bin/sh\nexit 0\n").unwrap();
    fs::set_permissions(&daemon, fs::Permissions::from_mode(0o755)).unwrap();
    Setup { home, daemon }
}

fn options(setup: &Setup, macos: bool) -> InstallOptions {
    let home = setup.home.path().to_path_buf();
    InstallOptions {
        daemon: setup.daemon.clone(),
        config: None,
        log_dir: if macos {
            home.join("Library/Logs/photovault")
        } else {
            home.join(".local/state/photovault/logs")
        },
        home,
        xdg_config_home: None,
        load: false,
        macos,
    }
}

fn parse_plist(text: &str) -> plist::Dictionary {
    plist::Value::from_reader_xml(text.as_bytes())
        .unwrap_or_else(|err| panic!("not a valid plist ({err}):\n{text}"))
        .into_dictionary()
        .expect("the top level is a dict")
}

fn string_array(value: &plist::Value) -> Vec<String> {
    value
        .as_array()
        .expect("an array")
        .iter()
        .map(|item| item.as_string().expect("a string").to_owned())
        .collect()
}

/// Splits an `ExecStart=` value the way systemd does: specifiers first
/// (`%%`), then words with double quotes and backslash escapes, then
/// `$$` in arguments (not in the executable path).
fn systemd_words(value: &str) -> Vec<String> {
    let value = value.replace("%%", "%");
    let mut words = Vec::new();
    let mut chars = value.chars().peekable();
    loop {
        while chars.peek() == Some(&' ') {
            chars.next();
        }
        let Some(&first) = chars.peek() else { break };
        let mut word = String::new();
        if first == '"' {
            chars.next();
            loop {
                match chars.next().expect("closing quote") {
                    '"' => break,
                    '\\' => word.push(chars.next().expect("escaped character")),
                    c => word.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ' ' {
                    break;
                }
                assert!(!matches!(c, '"' | '\\' | '$' | '%' | '\''), "{c} unquoted");
                word.push(c);
                chars.next();
            }
        }
        if !words.is_empty() {
            word = word.replace("$$", "$");
        }
        words.push(word);
    }
    words
}

fn exec_start(unit: &str) -> &str {
    unit.lines()
        .find_map(|line| line.strip_prefix("ExecStart="))
        .expect("an ExecStart= line")
}

#[test]
fn the_launch_agent_template_is_a_valid_plist_with_its_placeholders() {
    let dict = parse_plist(LAUNCH_AGENT_TEMPLATE);
    assert_eq!(dict["Label"].as_string(), Some(LABEL));
    assert_eq!(string_array(&dict["ProgramArguments"]), ["@DAEMON@"]);
    assert!(LAUNCH_AGENT_TEMPLATE.contains(CONFIG_ARGUMENTS_PLACEHOLDER));
    assert!(LAUNCH_AGENT_TEMPLATE.contains("photovaultctl install"));
}

#[test]
fn the_launch_agent_holds_what_launchd_needs() {
    let text = render_launch_agent(
        Path::new("/Users/ana/.local/bin/photovaultd"),
        None,
        Path::new("/Users/ana/Library/Logs/photovault"),
    );
    let dict = parse_plist(&text);
    assert_eq!(
        dict["Label"].as_string(),
        Some("com.photovault.photovaultd")
    );
    assert_eq!(
        string_array(&dict["ProgramArguments"]),
        ["/Users/ana/.local/bin/photovaultd"]
    );
    assert_eq!(dict["RunAtLoad"].as_boolean(), Some(true));
    let keep_alive = dict["KeepAlive"].as_dictionary().expect("KeepAlive dict");
    assert_eq!(keep_alive["SuccessfulExit"].as_boolean(), Some(false));
    assert_eq!(dict["ProcessType"].as_string(), Some("Background"));
    assert_eq!(dict["ExitTimeOut"].as_signed_integer(), Some(10));
    assert_eq!(
        dict["StandardOutPath"].as_string(),
        Some("/Users/ana/Library/Logs/photovault/photovaultd.stdout.log")
    );
    assert_eq!(
        dict["StandardErrorPath"].as_string(),
        Some("/Users/ana/Library/Logs/photovault/photovaultd.stderr.log")
    );
    assert!(!text.contains('@'), "a placeholder is left:\n{text}");
    assert!(text.contains("written by `photovaultctl install`"));
    assert!(!text.contains("\n\n"), "a blank line is left:\n{text}");
}

#[test]
fn the_launch_agent_escapes_awkward_paths() {
    let daemon = Path::new("/Users/ana/Tom & Jerry's <bin>/\"pv\" @LOGDIR@/photovaultd");
    let config = Path::new("/Users/ana/My Config & more/<x>.toml");
    let log_dir = Path::new("/Users/ana/Logs & <stuff>/");
    let text = render_launch_agent(daemon, Some(config), log_dir);
    let dict = parse_plist(&text);
    assert_eq!(
        string_array(&dict["ProgramArguments"]),
        [
            daemon.to_str().unwrap(),
            "--config",
            config.to_str().unwrap()
        ]
    );
    assert_eq!(
        dict["StandardErrorPath"].as_string(),
        Some("/Users/ana/Logs & <stuff>/photovaultd.stderr.log")
    );
}

#[test]
fn the_systemd_unit_holds_what_systemd_needs() {
    let unit = render_systemd_unit(Path::new("/home/ana/.local/bin/photovaultd"), None);
    assert_eq!(exec_start(&unit), "/home/ana/.local/bin/photovaultd");
    for line in [
        "Restart=on-failure",
        "KillSignal=SIGTERM",
        "TimeoutStopSec=10",
        "WantedBy=default.target",
        "[Service]",
        "[Install]",
    ] {
        assert!(unit.lines().any(|l| l == line), "no {line}:\n{unit}");
    }
    assert!(!unit.contains('@'), "a placeholder is left:\n{unit}");
    assert!(unit.starts_with(SYSTEMD_UNIT_HEADER));
}

#[test]
fn the_systemd_unit_quotes_awkward_paths() {
    let daemon = "/home/ana/My Apps & 100%/$HOME;bin/photovaultd";
    let config = "/home/ana/it's \"my\" config\\100%$x.toml";
    let unit = render_systemd_unit(Path::new(daemon), Some(Path::new(config)));
    assert_eq!(
        exec_start(&unit),
        "\"/home/ana/My Apps & 100%%/$HOME;bin/photovaultd\" --config \
         \"/home/ana/it's \\\"my\\\" config\\\\100%%$$x.toml\""
    );
    assert_eq!(
        systemd_words(exec_start(&unit)),
        [daemon, "--config", config]
    );
}

/// Checks the quoting against systemd's own parser where it is installed:
/// `systemd-analyze verify` complains when ExecStart's program, as it
/// reads it, does not exist.
#[test]
fn systemd_analyze_finds_the_daemon_through_the_quoting() {
    let setup = setup("My Apps & 100%/$HOME");
    let unit = render_systemd_unit(
        &setup.daemon,
        Some(Path::new("/etc/it's \"my\" config\\100%$x.toml")),
    );
    let unit_file = setup.home.path().join(SYSTEMD_UNIT);
    fs::write(&unit_file, unit).unwrap();
    let output = match Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit_file)
        .output()
    {
        Ok(output) => output,
        Err(err) => {
            eprintln!("systemd-analyze not usable here ({err}): skipped");
            return;
        }
    };
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        !said.contains("not executable") && !said.contains("special characters"),
        "systemd misread ExecStart: {said}"
    );
    assert!(!said.contains(".service:"), "systemd complained: {said}");
}

#[test]
fn install_writes_the_launch_agent_where_launchd_looks() {
    let setup = setup("bin");
    let options = options(&setup, true);
    let system = FakeSystem::new(vec![]);
    let report = install_with(&options, &system).unwrap();

    let expected = setup
        .home
        .path()
        .join("Library/LaunchAgents/com.photovault.photovaultd.plist");
    assert_eq!(report.unit_file, expected);
    assert!(!report.loaded);
    let text = fs::read_to_string(&expected).unwrap();
    assert_eq!(
        text,
        render_launch_agent(&setup.daemon, None, &options.log_dir)
    );
    assert_eq!(
        fs::metadata(&expected).unwrap().permissions().mode() & 0o777,
        0o644
    );
    assert!(options.log_dir.is_dir());
    assert!(system.calls().is_empty(), "ran {:?}", system.calls());
    assert!(report
        .messages
        .iter()
        .any(|m| m.contains("launchctl bootstrap gui/501")));
}

#[test]
fn install_writes_the_systemd_unit_where_systemd_looks() {
    let setup = setup("bin");
    let mut options = options(&setup, false);
    let system = FakeSystem::new(vec![]);
    let report = install_with(&options, &system).unwrap();
    let expected = setup
        .home
        .path()
        .join(".config/systemd/user/photovaultd.service");
    assert_eq!(report.unit_file, expected);
    assert_eq!(
        fs::read_to_string(&expected).unwrap(),
        render_systemd_unit(&setup.daemon, None)
    );
    assert!(options.log_dir.is_dir());
    assert!(system.calls().is_empty());

    let xdg = setup.home.path().join("xdg config");
    options.xdg_config_home = Some(xdg.clone());
    let report = install_with(&options, &system).unwrap();
    assert_eq!(
        report.unit_file,
        xdg.join("systemd/user/photovaultd.service")
    );
    assert!(report.unit_file.is_file());

    options.xdg_config_home = Some(PathBuf::from("relative/config"));
    assert_eq!(options.unit_file(), expected, "a relative value is ignored");
}

#[test]
fn install_handles_paths_with_spaces_ampersands_and_quotes() {
    let setup = setup("My Apps & \"Tools\"");
    let config = setup.home.path().join("it's <my> config & more.toml");
    fs::write(&config, "").unwrap();
    let mut options = options(&setup, true);
    options.config = Some(config.clone());
    options.log_dir = setup.home.path().join("Logs & <more>");
    let report = install_with(&options, &FakeSystem::new(vec![])).unwrap();
    let dict = parse_plist(&fs::read_to_string(report.unit_file).unwrap());
    assert_eq!(
        string_array(&dict["ProgramArguments"]),
        [
            setup.daemon.to_str().unwrap(),
            "--config",
            config.to_str().unwrap()
        ]
    );

    // systemd cannot run a program whose path has a quote: said, not written.
    let options = InstallOptions {
        macos: false,
        ..options
    };
    let err = install_with(&options, &FakeSystem::new(vec![])).unwrap_err();
    assert!(err.to_string().contains("--daemon PATH"), "{err}");
    assert!(!options.unit_file().exists());

    // Spaces, `&`, `%`, `$` in the daemon path and quotes in the config
    // path are fine for systemd.
    let setup = self::setup("My Apps & 100% $Tools");
    let mut options = self::options(&setup, false);
    options.config = Some(config.clone());
    let report = install_with(&options, &FakeSystem::new(vec![])).unwrap();
    let unit = fs::read_to_string(report.unit_file).unwrap();
    assert_eq!(
        systemd_words(exec_start(&unit)),
        [
            setup.daemon.to_str().unwrap(),
            "--config",
            config.to_str().unwrap()
        ]
    );
}

#[test]
fn systemd_refuses_a_daemon_path_with_an_apostrophe_and_launchd_does_not() {
    let setup = setup("Ana's Apps");
    let err = install_with(&options(&setup, false), &FakeSystem::new(vec![])).unwrap_err();
    assert!(err.to_string().contains("quotes or backslashes"), "{err}");
    install_with(&options(&setup, true), &FakeSystem::new(vec![])).unwrap();
}

#[test]
fn installing_twice_replaces_the_file_cleanly() {
    for macos in [true, false] {
        let setup = setup("bin");
        let mut options = options(&setup, macos);
        install_with(&options, &FakeSystem::new(vec![])).unwrap();
        let config = setup.home.path().join("config.toml");
        fs::write(&config, "").unwrap();
        options.config = Some(config.clone());
        let report = install_with(&options, &FakeSystem::new(vec![])).unwrap();

        let text = fs::read_to_string(&report.unit_file).unwrap();
        assert!(text.contains(config.to_str().unwrap()));
        assert!(
            report.messages[0].starts_with("replaced"),
            "{:?}",
            report.messages
        );
        let dir = report.unit_file.parent().unwrap();
        let names: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(names, [report.unit_file.file_name().unwrap()]);
    }
}

#[test]
fn uninstall_removes_the_file_and_says_so() {
    for macos in [true, false] {
        let setup = setup("bin");
        let options = options(&setup, macos);
        let installed = install_with(&options, &FakeSystem::new(vec![])).unwrap();
        assert!(installed.unit_file.is_file());

        let report = uninstall_with(&options, &FakeSystem::new(vec![])).unwrap();
        assert!(!installed.unit_file.exists());
        assert!(!report.loaded);
        assert!(report.messages.iter().any(|m| m.starts_with("removed")));
        assert!(options.log_dir.is_dir(), "logs are kept");
    }
}

#[test]
fn uninstall_when_not_installed_succeeds_and_says_so() {
    for macos in [true, false] {
        let setup = setup("bin");
        let options = options(&setup, macos);
        let report = uninstall_with(&options, &FakeSystem::new(vec![])).unwrap();
        assert!(
            report.messages.iter().any(|m| m.contains("not installed")),
            "{:?}",
            report.messages
        );
    }
}

#[test]
fn a_missing_daemon_says_how_to_get_one_and_writes_nothing() {
    for macos in [true, false] {
        let setup = setup("bin");
        let mut options = options(&setup, macos);
        options.daemon = setup.home.path().join("nowhere/photovaultd");
        let err = install_with(&options, &FakeSystem::new(vec![])).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("make build"), "{message}");
        assert!(message.contains("--daemon PATH"), "{message}");
        assert!(!options.unit_file().exists());
    }
}

#[test]
fn a_daemon_that_is_not_executable_is_refused() {
    let setup = setup("bin");
    fs::set_permissions(&setup.daemon, fs::Permissions::from_mode(0o644)).unwrap();
    let err = install_with(&options(&setup, true), &FakeSystem::new(vec![])).unwrap_err();
    assert!(err.to_string().contains("chmod +x"), "{err}");
}

#[test]
fn a_missing_config_is_refused() {
    let setup = setup("bin");
    let mut options = options(&setup, false);
    options.config = Some(setup.home.path().join("missing.toml"));
    let err = install_with(&options, &FakeSystem::new(vec![])).unwrap_err();
    assert!(err.to_string().contains("leave out --config"), "{err}");
    assert!(!options.unit_file().exists());
}

#[test]
fn a_path_with_a_newline_is_refused() {
    let setup = setup("bin");
    let mut options = options(&setup, true);
    options.log_dir = setup.home.path().join("logs\nmore");
    let err = install_with(&options, &FakeSystem::new(vec![])).unwrap_err();
    assert!(err.to_string().contains("control character"), "{err}");
}

#[test]
fn loading_on_macos_boots_out_then_bootstraps() {
    let setup = setup("bin");
    let mut options = options(&setup, true);
    options.load = true;
    let system = FakeSystem::new(vec![failed(3, "Boot-out failed: 3: No such process")]);
    let report = install_with(&options, &system).unwrap();
    assert!(report.loaded);
    let plist = options.unit_file();
    assert_eq!(
        system.calls(),
        [
            "launchctl bootout gui/501/com.photovault.photovaultd".to_owned(),
            format!("launchctl bootstrap gui/501 {}", plist.display()),
        ]
    );
    assert!(system.pauses.borrow().is_empty());
}

#[test]
fn loading_on_macos_retries_while_launchd_tears_the_old_agent_down() {
    let setup = setup("bin");
    let mut options = options(&setup, true);
    options.load = true;
    let busy = "Bootstrap failed: 5: Input/output error";
    let system = FakeSystem::new(vec![Ok(ok()), failed(5, busy), failed(5, busy)]);
    let report = install_with(&options, &system).unwrap();
    assert!(report.loaded);
    assert_eq!(system.calls().len(), 4);
    assert_eq!(*system.pauses.borrow(), BOOTSTRAP_RETRY_PAUSES[..2]);
    assert!(report.messages.iter().any(|m| m.contains("stopped")));
}

#[test]
fn a_failed_bootstrap_says_how_to_load_by_hand() {
    let setup = setup("bin");
    let mut options = options(&setup, true);
    options.load = true;
    let system = FakeSystem::new(vec![
        failed(113, "Could not find specified service"),
        failed(
            125,
            "Bootstrap failed: 125: Domain does not support specified action",
        ),
    ]);
    let err = install_with(&options, &system).unwrap_err().to_string();
    let plist = options.unit_file();
    assert!(
        err.contains(&format!("launchctl bootstrap gui/501 {}", plist.display())),
        "{err}"
    );
    assert!(err.contains("125"), "{err}");
    assert!(plist.is_file(), "the file stays written");

    // Still "5" after every retry: the same advice.
    let system = FakeSystem::new(vec![
        Ok(ok()),
        failed(5, "5"),
        failed(5, "5"),
        failed(5, "5"),
        failed(5, "5"),
    ]);
    let err = install_with(&options, &system).unwrap_err().to_string();
    assert!(err.contains("launchctl bootout gui/501/"), "{err}");
    assert_eq!(system.pauses.borrow().len(), BOOTSTRAP_RETRY_PAUSES.len());
}

#[test]
fn root_cannot_install_a_launch_agent() {
    let setup = setup("bin");
    let mut options = options(&setup, true);
    options.load = true;
    let mut system = FakeSystem::new(vec![]);
    system.uid = 0;
    let err = install_with(&options, &system).unwrap_err();
    assert!(err.to_string().contains("without sudo"), "{err}");
    assert!(!options.unit_file().exists());
    assert!(system.calls().is_empty());
}

#[test]
fn uninstall_on_macos_boots_out_first_and_keeps_the_file_when_that_fails() {
    let setup = setup("bin");
    let mut options = options(&setup, true);
    install_with(&options, &FakeSystem::new(vec![])).unwrap();
    options.load = true;

    let system = FakeSystem::new(vec![failed(
        1,
        "Boot-out failed: 1: Operation not permitted",
    )]);
    let err = uninstall_with(&options, &system).unwrap_err().to_string();
    assert!(err.contains("photovaultctl uninstall` again"), "{err}");
    assert!(options.unit_file().is_file());

    let system = FakeSystem::new(vec![Ok(ok())]);
    let report = uninstall_with(&options, &system).unwrap();
    assert_eq!(
        system.calls(),
        ["launchctl bootout gui/501/com.photovault.photovaultd"]
    );
    assert!(!options.unit_file().exists());
    assert!(report.messages[0].starts_with("stopped photovaultd"));

    // Neither loaded nor there.
    let system = FakeSystem::new(vec![failed(3, "Boot-out failed: 3: No such process")]);
    let report = uninstall_with(&options, &system).unwrap();
    assert!(report.messages.iter().any(|m| m.contains("not installed")));
}

#[test]
fn loading_on_linux_reloads_enables_and_restarts() {
    let setup = setup("bin");
    let mut options = options(&setup, false);
    options.load = true;
    let system = FakeSystem::new(vec![]);
    let report = install_with(&options, &system).unwrap();
    assert!(report.loaded);
    assert_eq!(
        system.calls(),
        [
            "systemctl --user daemon-reload",
            "systemctl --user enable photovaultd.service",
            "systemctl --user restart photovaultd.service",
        ]
    );
}

#[test]
fn without_systemctl_or_a_session_the_error_says_how_to_start_it() {
    let hint = "start it with `systemctl --user enable --now photovaultd.service` from a logged-in session";
    for answer in [
        not_found(),
        failed(1, "Failed to connect to bus: No medium found"),
    ] {
        let setup = setup("bin");
        let mut options = options(&setup, false);
        options.load = true;
        let err = install_with(&options, &FakeSystem::new(vec![answer]))
            .unwrap_err()
            .to_string();
        assert!(err.contains(hint), "{err}");
        assert!(
            err.contains(&options.unit_file().display().to_string()),
            "{err}"
        );
        assert!(options.unit_file().is_file());
    }
}

#[test]
fn a_failed_restart_points_at_the_journal() {
    let setup = setup("bin");
    let mut options = options(&setup, false);
    options.load = true;
    let system = FakeSystem::new(vec![
        Ok(ok()),
        Ok(ok()),
        failed(1, "Job for photovaultd.service failed because the control process exited with error code."),
    ]);
    let err = install_with(&options, &system).unwrap_err().to_string();
    assert!(
        err.contains("journalctl --user -u photovaultd.service"),
        "{err}"
    );
}

#[test]
fn uninstall_on_linux_disables_removes_and_reloads() {
    let setup = setup("bin");
    let mut options = options(&setup, false);
    install_with(&options, &FakeSystem::new(vec![])).unwrap();
    options.load = true;

    let system = FakeSystem::new(vec![failed(1, "Failed to connect to bus: No medium found")]);
    let err = uninstall_with(&options, &system).unwrap_err().to_string();
    assert!(err.contains("logged-in session"), "{err}");
    assert!(options.unit_file().is_file(), "kept until it is stopped");

    let system = FakeSystem::new(vec![]);
    uninstall_with(&options, &system).unwrap();
    assert_eq!(
        system.calls(),
        [
            "systemctl --user disable --now photovaultd.service",
            "systemctl --user daemon-reload",
        ]
    );
    assert!(!options.unit_file().exists());

    let system = FakeSystem::new(vec![failed(
        1,
        "Failed to disable unit: Unit file photovaultd.service does not exist.",
    )]);
    let report = uninstall_with(&options, &system).unwrap();
    assert!(report.messages.iter().any(|m| m.contains("not installed")));
    assert_eq!(
        system.calls().len(),
        1,
        "no reload when nothing was removed"
    );
}

#[test]
fn fill_replaces_in_one_pass() {
    assert_eq!(
        fill("a @X@ b @Y@", &[("@X@", "@Y@"), ("@Y@", "y")]),
        "a @Y@ b y"
    );
}
