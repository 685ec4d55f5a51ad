//! An organize job: every `[[source]]` folder that goes to the job's
//! destination, organized onto it by the organize engine.
//!
//! One job per destination covers all its sources, so a queued job is
//! simply joined whichever source changed. A source folder that is missing
//! (an unmounted disk, a renamed folder) does not stop the others: it is
//! named in the summary and the log, and organized once it is back.

use photovault_protocol::{JobSummary, OrganizeSummary};

use super::run::{Counters, Finished, JobError, Work};
use super::{reason, Pipeline, ORGANIZE};
use crate::destination::Enrol;
use crate::export::Progress;
use crate::organize::{self, OrganizeError, OrganizeOptions, Source};
use chrono::Utc;

/// The engine's progress calls for one source, counted on top of what the
/// job's earlier sources did (each run announces only its own totals).
struct Continuing<'a>(&'a Counters);

impl Progress for Continuing<'_> {
    fn start(&self, files: u64, bytes: u64) {
        let (files_done, bytes_done) = self.0.done();
        self.0.start(files_done + files, bytes_done + bytes);
    }
    fn file_done(&self, bytes: u64) {
        self.0.file_done(bytes);
    }
    fn finish(&self) {}
}

impl Pipeline {
    /// Organizes every source that goes to the job's destination.
    pub(super) fn run_organize(&self, work: &Work) -> Result<Finished, JobError> {
        let config = self.config();
        let sources: Vec<_> = config
            .sources
            .iter()
            .filter(|s| s.goes_to(&work.dest))
            .collect();
        let settle_seconds = config.debounce_seconds;
        let mut o = OrganizeSummary::default();
        let mut seconds = 0.0;
        let mut deferred = 0;
        for source in sources {
            let options = OrganizeOptions {
                heic_to_jpeg: source.heic_to_jpeg,
                jpeg_quality: source.jpeg_quality,
                zone: source.zone,
                enrol: Enrol::Never,
                cancel: Some(work.cancel.clone()),
                // A file still being written waits for the job its watcher
                // queues once the folder has been quiet that long.
                min_age: Some(std::time::Duration::from_secs(settle_seconds)),
                ..OrganizeOptions::default()
            };
            let folder = Source::Folder(source.path.clone());
            let report = match organize::organize(
                &folder,
                &work.root,
                &options,
                &Continuing(&work.counters),
            ) {
                Ok(report) => report,
                Err(e @ OrganizeError::NoSource(_)) => {
                    tracing::warn!(job = work.job.id, source = %source.name, error = %e, "a source folder cannot be organized");
                    o.unavailable.push(format!("{}: {e}", source.name));
                    continue;
                }
                Err(e) => return Err(JobError::Organize(e)),
            };
            for p in &report.problems {
                tracing::warn!(job = work.job.id, source = %source.name, problem = ?p, "a file or folder of a source could not be read");
            }
            for f in report
                .files
                .iter()
                .filter(|f| f.action == organize::Action::Failed)
            {
                tracing::warn!(job = work.job.id, source = %source.name, file = %f.source, notes = ?f.notes, "a file could not be organized");
            }
            let c = &report.counts;
            tracing::info!(
                job = work.job.id,
                source = %source.name,
                written = c.written,
                already_organized = c.already_organized,
                failed = c.failed,
                "source organized"
            );
            o.sources += 1;
            o.written += c.written;
            o.converted += c.converted;
            o.already_organized += c.already_organized;
            o.failed += c.failed;
            o.problems += c.problems;
            deferred += c.deferred;
            o.deferred += c.deferred;
            o.bytes += c.bytes;
            seconds += report.seconds;
        }
        if deferred > 0 {
            // Files caught while being written (a drive connected, or the
            // daemon started, mid-download): look again once they can have
            // settled, whatever the watcher sees.
            let at = Utc::now() + chrono::Duration::seconds(settle_seconds as i64 + 1);
            tracing::info!(
                job = work.job.id,
                files = deferred,
                "files still being written; organizing them later"
            );
            if let Err(e) = self.enqueue_later(ORGANIZE, &work.dest, reason::STILL_WRITING, at) {
                tracing::error!(error = %e, "cannot queue the organize job for files still being written");
            }
        }
        Ok(Finished {
            lines: vec![organize_line(&o)],
            news: o.written + o.failed > 0 || !o.unavailable.is_empty(),
            summary: JobSummary {
                bytes: o.bytes,
                seconds,
                organize: Some(o),
                ..JobSummary::default()
            },
            library: None,
        })
    }
}

/// "3 files organized (1 HEIC converted), 2.1 MB written" for the log and
/// the notification.
fn organize_line(o: &OrganizeSummary) -> String {
    let mut line = format!("{} files organized", o.written);
    if o.converted > 0 {
        line.push_str(&format!(" ({} HEIC converted to JPEG)", o.converted));
    }
    line.push_str(&format!(", {:.1} MB written", o.bytes as f64 / 1e6));
    if o.failed > 0 {
        line.push_str(&format!(
            ", {} could not be organized (see `photovaultctl logs`)",
            o.failed
        ));
    }
    for u in &o.unavailable {
        line.push_str(&format!("; {u}"));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_names_what_was_written_failed_and_missing() {
        let o = OrganizeSummary {
            written: 3,
            converted: 1,
            failed: 2,
            bytes: 2_100_000,
            unavailable: vec!["Phone: the source folder /x does not exist".into()],
            ..OrganizeSummary::default()
        };
        let line = organize_line(&o);
        assert!(line.starts_with("3 files organized (1 HEIC"), "{line}");
        assert!(line.contains("2.1 MB written"), "{line}");
        assert!(line.contains("2 could not be organized"), "{line}");
        assert!(
            line.ends_with("; Phone: the source folder /x does not exist"),
            "{line}"
        );
    }

    #[test]
    fn progress_of_a_later_source_adds_to_the_earlier_ones() {
        let counters = Counters::default();
        let first = Continuing(&counters);
        first.start(2, 20);
        first.file_done(10);
        first.file_done(10);
        let second = Continuing(&counters);
        second.start(3, 30);
        second.file_done(5);
        let p = counters.snapshot();
        assert_eq!(
            (p.files_done, p.files_total, p.bytes_done, p.bytes_total),
            (3, 5, 25, 50)
        );
    }
}
