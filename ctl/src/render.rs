//! Plain-text output for people (`--json` prints the protocol's objects
//! instead).

use photovault_protocol::{DestinationStatus, JobInfo, JobState, StatusReport};

/// "1.2 GB" style sizes.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// "3m 20s" style durations.
pub fn duration(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m {:02}s", s / 60, s % 60),
        s => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// One line about a job.
pub fn job_line(j: &JobInfo) -> String {
    let mut line = format!(
        "#{:<4} {:<11} {:<8} {:<20} {}",
        j.id,
        j.state.as_str(),
        j.kind,
        j.destination,
        j.reason
    );
    if let Some(p) = &j.progress {
        line.push_str(&format!(
            "  {}/{} files, {} of {}",
            p.files_done,
            p.files_total,
            bytes(p.bytes_done),
            bytes(p.bytes_total)
        ));
        if let Some(eta) = p.eta_seconds {
            line.push_str(&format!(", {} left", duration(eta)));
        }
    }
    if let Some(s) = &j.summary {
        line.push_str(&summary_text(s));
    }
    if let Some(e) = &j.error {
        if j.state != JobState::Done {
            line.push_str(&format!("  ({e})"));
        }
    }
    if let Some(t) = j.ended.as_ref().filter(|_| j.state.is_final()) {
        line.push_str(&format!("  [{t}]"));
    }
    line
}

fn destination(d: &DestinationStatus) -> String {
    let mut out = format!("  {} ({})\n", d.name, d.modes.join(", "));
    match (&d.path, d.mounted) {
        (Some(p), true) => {
            out.push_str(&format!("    connected at {p}"));
            if let Some(f) = d.free_bytes {
                out.push_str(&format!(", {} free", bytes(f)));
            }
            out.push('\n');
        }
        _ => out.push_str("    not connected\n"),
    }
    if let Some(why) = &d.refused {
        out.push_str(&format!("    not used: {why}\n"));
    }
    out.push_str(&format!(
        "    last successful backup: {}\n",
        d.last_success.as_deref().unwrap_or("never")
    ));
    if let Some(e) = &d.last_error {
        out.push_str(&format!("    LAST BACKUP FAILED: {e}\n"));
    }
    match &d.last_verify {
        Some(v) if v.problems == 0 => out.push_str(&format!(
            "    last verify: {}, {} files intact\n",
            v.ended, v.checked
        )),
        Some(v) => out.push_str(&format!(
            "    LAST VERIFY FOUND PROBLEMS: {}, {} of {} files missing, damaged or unexpected (photovaultctl history --json shows them)\n",
            v.ended, v.problems, v.checked
        )),
        None => out.push_str("    last verify: never\n"),
    }
    if let Some(j) = &d.job {
        out.push_str(&format!("    job: {}\n", job_line(j)));
    }
    out
}

/// The whole status.
pub fn status(s: &StatusReport) -> String {
    let mut out = format!(
        "photovaultd {} running (pid {}, since {}){}\n",
        s.daemon.version,
        s.daemon.pid,
        s.daemon.started,
        if s.daemon.paused { ", PAUSED" } else { "" }
    );
    out.push_str(&format!("library: {}\n", s.library.path));
    match (&s.library.error, s.library.assets) {
        (Some(e), _) => out.push_str(&format!("  cannot be read: {e}\n")),
        (None, Some(n)) => out.push_str(&format!(
            "  {n} assets, {} originals not on this computer\n",
            s.library.missing_originals.unwrap_or(0)
        )),
        (None, None) => out.push_str("  not read yet\n"),
    }
    if s.destinations.is_empty() {
        out.push_str(
            "destinations: none; enrol a drive with `photovaultctl dest add PATH --name NAME`\n",
        );
    } else {
        out.push_str("destinations:\n");
        for d in &s.destinations {
            out.push_str(&destination(d));
        }
    }
    if !s.sources.is_empty() {
        out.push_str("sources (organized onto the drives):\n");
        for src in &s.sources {
            out.push_str(&format!("  {} ({})\n", src.name, src.path));
            if !src.present {
                out.push_str("    MISSING: the folder does not exist; check `path` in the configuration (it is organized once it appears)\n");
            }
            if src.destinations.is_empty() {
                out.push_str("    goes to no destination yet: enrol one with `--mode organize`\n");
            } else {
                out.push_str(&format!("    onto: {}\n", src.destinations.join(", ")));
            }
        }
    }
    out
}

/// What a finished job did, in a few words, by kind of job.
fn summary_text(s: &photovault_protocol::JobSummary) -> String {
    if let Some(v) = &s.verify {
        let problems = v.missing + v.changed + v.unexpected;
        return if problems == 0 {
            format!(
                "  {} files checked ({}), all intact",
                v.checked,
                bytes(v.bytes)
            )
        } else {
            format!(
                "  {} files checked: {} missing, {} damaged, {} unexpected",
                v.checked, v.missing, v.changed, v.unexpected
            )
        };
    }
    if let Some(o) = &s.organize {
        let mut text = format!(
            "  {} organized, {} already organized, {} written",
            o.written,
            o.already_organized,
            bytes(o.bytes)
        );
        if o.failed > 0 {
            text.push_str(&format!(", {} failed", o.failed));
        }
        if !o.unavailable.is_empty() {
            text.push_str(&format!(", unavailable: {}", o.unavailable.join("; ")));
        }
        return text;
    }
    if let Some(r) = &s.restore {
        let mut text = format!(
            "  {} files ({}) restored to {}",
            r.files,
            bytes(r.bytes),
            r.target
        );
        if !r.unavailable.is_empty() || !r.damaged.is_empty() {
            text.push_str(&format!(
                ", {} unavailable, {} damaged",
                r.unavailable.len(),
                r.damaged.len()
            ));
        }
        return text;
    }
    let mut text = String::new();
    if s.up_to_date {
        text.push_str("  up to date");
    } else if s.mirror.is_none() || s.exported + s.updated + s.unchanged > 0 {
        text.push_str(&format!(
            "  {} new, {} updated, {} unchanged",
            s.exported, s.updated, s.unchanged
        ));
    }
    if let Some(m) = &s.mirror {
        text.push_str(&format!(
            "  mirror: {} copied, {} kept in Versions/",
            m.new + m.changed,
            m.changed + m.deleted
        ));
        if m.errors > 0 {
            text.push_str(&format!(", {} failed", m.errors));
        }
    }
    if !s.up_to_date || s.mirror.is_some() {
        text.push_str(&format!(", {} written", bytes(s.bytes)));
    }
    if s.missing > 0 {
        text.push_str(&format!(", {} originals missing", s.missing));
    }
    if s.errors > 0 {
        text.push_str(&format!(", {} errors", s.errors));
    }
    text
}
