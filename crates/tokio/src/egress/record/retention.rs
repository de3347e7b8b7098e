//! Retention: which recording files to delete, by age and by total size — never one in
//! use (being written or served).

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use super::catalog::FileEntry;

/// The files to delete from `files` at `now`: every file last modified more than `max_age`
/// ago (`None`: no age limit), then the oldest (by start time) while the rest together
/// exceed `max_bytes` (`None`: no size limit). Files for which `in_use` is true are kept
/// and still count towards the size.
pub(crate) fn select(
    files: &[FileEntry],
    now: SystemTime,
    max_age: Option<Duration>,
    max_bytes: Option<u64>,
    in_use: impl Fn(&FileEntry) -> bool,
) -> Vec<PathBuf> {
    let mut order: Vec<&FileEntry> = files.iter().collect();
    order.sort_by_key(|f| (f.start_secs, f.modified));
    let mut delete = Vec::new();
    let mut kept: Vec<&FileEntry> = Vec::new();
    for f in order {
        let old = max_age.is_some_and(|age| {
            now.duration_since(f.modified)
                .is_ok_and(|since| since > age)
        });
        if old && !in_use(f) {
            delete.push(f.path.clone());
        } else {
            kept.push(f);
        }
    }
    if let Some(limit) = max_bytes {
        let mut total: u64 = kept.iter().map(|f| f.bytes).sum();
        for f in kept {
            if total <= limit {
                break;
            }
            if !in_use(f) {
                total = total.saturating_sub(f.bytes);
                delete.push(f.path.clone());
            }
        }
    }
    delete
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(name: &str, start: i64, bytes: u64, age_s: u64, now: SystemTime) -> FileEntry {
        FileEntry {
            key: "live/a".into(),
            path: PathBuf::from(name),
            name: name.into(),
            start_secs: start,
            bytes,
            modified: now - Duration::from_secs(age_s),
        }
    }

    #[test]
    fn by_age_then_size_oldest_first_never_in_use() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let files = vec![
            f("a", 10, 100, 7200, now),
            f("b", 20, 100, 5000, now),
            f("c", 30, 100, 100, now),
            f("d", 40, 100, 10, now),
        ];
        let names = |v: Vec<PathBuf>| {
            v.into_iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
        };
        // Age: older than an hour.
        let d = select(&files, now, Some(Duration::from_secs(3600)), None, |_| {
            false
        });
        assert_eq!(names(d), ["a", "b"]);
        // Size: keep at most 250 bytes → the two oldest go.
        let d = select(&files, now, None, Some(250), |_| false);
        assert_eq!(names(d), ["a", "b"]);
        // The oldest is being served: it stays and still counts, so newer ones go instead.
        let d = select(
            &files,
            now,
            Some(Duration::from_secs(3600)),
            Some(200),
            |f| f.name == "a",
        );
        assert_eq!(names(d), ["b", "c"]);
        // No limits: nothing.
        assert!(select(&files, now, None, None, |_| false).is_empty());
    }
}
