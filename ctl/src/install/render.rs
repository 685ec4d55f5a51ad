//! The LaunchAgent and systemd unit, rendered from the templates in
//! `launchd/` (embedded at build time), with every value escaped as the file
//! format reads it.

use std::path::Path;

/// The LaunchAgent template, with `@DAEMON@`, `@LOGDIR@` and the
/// `<!--@CONFIG_ARGUMENTS@-->` line to fill in.
pub(super) const LAUNCH_AGENT_TEMPLATE: &str =
    include_str!("../../../launchd/com.photovault.photovaultd.plist");

/// The systemd user unit template, with `@EXEC_START@` to fill in.
pub(super) const SYSTEMD_UNIT_TEMPLATE: &str = include_str!("../../../launchd/photovaultd.service");

/// The template line that becomes the `--config FILE` strings (or nothing).
pub(super) const CONFIG_ARGUMENTS_PLACEHOLDER: &str = "<!--@CONFIG_ARGUMENTS@-->";

/// Replaces the template's header comment in an installed LaunchAgent: the
/// template's own header documents placeholders that are gone once filled in.
pub(super) const LAUNCH_AGENT_HEADER: &str = "<!--
  photovaultd's LaunchAgent, written by `photovaultctl install` from the
  template launchd/com.photovault.photovaultd.plist of photovault.
  `photovaultctl install` rewrites this file and `photovaultctl uninstall`
  removes it: change what you give to install rather than editing it here.
-->";

/// Replaces the template's header comment in an installed systemd unit.
pub(super) const SYSTEMD_UNIT_HEADER: &str = "\
# photovaultd as a systemd user service, written by `photovaultctl install`
# from the template launchd/photovaultd.service of photovault.
# `photovaultctl install` rewrites this file and `photovaultctl uninstall`
# removes it: change what you give to install rather than editing it here.
";

/// The LaunchAgent plist for `daemon` (with `--config FILE` when given),
/// logging to `log_dir`: the template `launchd/com.photovault.photovaultd.plist`
/// filled in, every path XML-escaped.
pub fn render_launch_agent(daemon: &Path, config: Option<&Path>, log_dir: &Path) -> String {
    let daemon = xml_escape(&daemon.to_string_lossy());
    let log_dir = log_dir.to_string_lossy();
    let log_dir = xml_escape(log_dir.trim_end_matches('/'));
    let arguments: Vec<String> = match config {
        Some(config) => vec!["--config".to_owned(), xml_escape(&config.to_string_lossy())],
        None => Vec::new(),
    };

    // The template is a compile-time constant with one header comment (the
    // tests check that it is there); without one, nothing is replaced.
    let (before, body) = LAUNCH_AGENT_TEMPLATE
        .split_once("<!--")
        .and_then(|(before, rest)| Some((before, rest.split_once("-->")?.1)))
        .unwrap_or(("", LAUNCH_AGENT_TEMPLATE));

    let mut out = String::with_capacity(LAUNCH_AGENT_TEMPLATE.len() + 256);
    out.push_str(before);
    out.push_str(LAUNCH_AGENT_HEADER);
    // `body` starts with what followed `-->` on its line: nothing, so the
    // header's line ends there.
    for line in body.lines() {
        if line.trim() == CONFIG_ARGUMENTS_PLACEHOLDER {
            let indent = &line[..line.len() - line.trim_start().len()];
            for argument in &arguments {
                out.push_str(&format!("{indent}<string>{argument}</string>\n"));
            }
            continue;
        }
        out.push_str(&fill(
            line,
            &[("@DAEMON@", &daemon), ("@LOGDIR@", &log_dir)],
        ));
        out.push('\n');
    }
    out
}

/// The systemd user unit for `daemon` (with `--config FILE` when given): the
/// template `launchd/photovaultd.service` filled in, each `ExecStart=` word
/// quoted and escaped as systemd reads it (`%` specifiers, `$` variables,
/// quotes, backslashes, spaces).
pub fn render_systemd_unit(daemon: &Path, config: Option<&Path>) -> String {
    let mut words = vec![systemd_word(&daemon.to_string_lossy(), true)];
    if let Some(config) = config {
        words.push(systemd_word("--config", false));
        words.push(systemd_word(&config.to_string_lossy(), false));
    }
    let exec_start = words.join(" ");

    let mut out = String::from(SYSTEMD_UNIT_HEADER);
    for line in SYSTEMD_UNIT_TEMPLATE
        .lines()
        .skip_while(|line| line.starts_with('#'))
    {
        out.push_str(&fill(line, &[("@EXEC_START@", &exec_start)]));
        out.push('\n');
    }
    out
}

/// Replaces each `(placeholder, value)` in `line`, in one pass, so that a
/// value that happens to contain a placeholder is left as it is.
pub(super) fn fill(line: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    loop {
        let next = values
            .iter()
            .filter_map(|(placeholder, value)| {
                rest.find(placeholder)
                    .map(|at| (at, placeholder.len(), *value))
            })
            .min_by_key(|(at, _, _)| *at);
        match next {
            Some((at, len, value)) => {
                out.push_str(&rest[..at]);
                out.push_str(value);
                rest = &rest[at + len..];
            }
            None => {
                out.push_str(rest);
                return out;
            }
        }
    }
}

/// `text` safe inside an XML element.
pub(super) fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// One `ExecStart=` word as systemd reads it back: `%` doubled (specifiers
/// are expanded first, on the whole line), then, unless the word is plain,
/// double quotes with `\` and `"` escaped, and `$` doubled in arguments
/// (variables are expanded in arguments at start, but not in the
/// executable's path, where `$$` would stay `$$`).
pub(super) fn systemd_word(word: &str, executable: bool) -> String {
    let plain = !word.is_empty()
        && word.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.' | ',' | ':' | '+' | '=')
        });
    if plain {
        return word.to_owned();
    }
    let mut out = String::with_capacity(word.len() + 2);
    out.push('"');
    for c in word.chars() {
        match c {
            '%' => out.push_str("%%"),
            '$' if !executable => out.push_str("$$"),
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
