//! What a media file is, when it was taken, and how to turn a HEIC into a
//! JPEG that keeps everything.
//!
//! The organize engine asks three questions of every file, and each answer
//! comes with a reason a person can read, because a sorted folder the user
//! cannot explain is worse than an unsorted one:
//!
//! - [`sniff`]: what the bytes are (JPEG, HEIC, PNG, a QuickTime movie, ...),
//!   whatever the name says;
//! - [`facts`]: the metadata that decides where the file goes and what it is
//!   called (EXIF through `nom-exif`, QuickTime dates, XMP, C2PA manifests,
//!   PNG text chunks);
//! - [`classify`] and [`capture`]: the category and the capture time, from
//!   those facts;
//! - [`heic`]: HEIC decoding with `libheif` and JPEG encoding that carries
//!   EXIF, XMP and the ICC colour profile over, with orientation applied once.
//!
//! Nothing here writes anywhere: the engine decides and writes.

pub mod capture;
pub mod classify;
mod containers;
pub mod exif_edit;
pub mod facts;
pub mod heic;
pub mod sniff;

pub use capture::{CaptureTime, TimeSource, Zone};
pub use classify::{Category, Classification};
pub use facts::FileFacts;
pub use sniff::{Format, MediaKind};
