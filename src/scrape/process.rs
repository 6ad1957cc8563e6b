//! Local processes read from /proc: CPU time, resident memory, threads and open files.

use crate::scenario::ProcessSelector;

/// What one read of a set of processes gives (summed over every process matched).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    /// Processes matched.
    pub count: u32,
    /// CPU time, user + system, seconds.
    pub cpu_s: f64,
    /// Resident memory, bytes.
    pub rss: f64,
    /// Threads.
    pub threads: f64,
    /// Open file descriptors (those this user may count).
    pub open_files: f64,
}

/// The most /proc entries looked at for a name: enough for any machine a load test runs on.
const MAX_SCANNED: usize = 100_000;

/// The pids a selector names now.
pub fn pids(sel: &ProcessSelector) -> Vec<u32> {
    match sel {
        ProcessSelector::Pid(p) => {
            if std::path::Path::new(&format!("/proc/{p}")).exists() {
                vec![*p]
            } else {
                Vec::new()
            }
        }
        ProcessSelector::Name(name) => {
            let Ok(dir) = std::fs::read_dir("/proc") else {
                return Vec::new();
            };
            dir.flatten()
                .take(MAX_SCANNED)
                .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
                .filter(|pid| {
                    std::fs::read_to_string(format!("/proc/{pid}/comm"))
                        .is_ok_and(|c| c.trim_end() == name)
                })
                .collect()
        }
    }
}

/// Reads the processes' usage now.
pub fn usage(pids: &[u32]) -> Usage {
    // SAFETY: sysconf has no side effects.
    let hz = match unsafe { libc::sysconf(libc::_SC_CLK_TCK) } {
        n if n > 0 => n as f64,
        _ => 100.0,
    };
    let page = match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
        n if n > 0 => n as f64,
        _ => 4096.0,
    };
    let mut u = Usage::default();
    for pid in pids {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // Fields after the command (which may hold spaces and parentheses) start at its last ')'.
        let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let f: Vec<&str> = after.split_whitespace().collect();
        // After the command: state(0) … utime(11) stime(12) … num_threads(17) … rss(21).
        let num = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        u.count += 1;
        u.cpu_s += (num(11) + num(12)) / hz;
        u.threads += num(17);
        u.rss += num(21) * page;
        u.open_files += std::fs::read_dir(format!("/proc/{pid}/fd"))
            .map(|d| d.count() as f64)
            .unwrap_or(0.0);
    }
    u
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_found_by_pid_and_name_and_read() {
        let me = std::process::id();
        assert_eq!(pids(&ProcessSelector::Pid(me)), vec![me]);
        let comm = std::fs::read_to_string(format!("/proc/{me}/comm")).unwrap();
        assert!(pids(&ProcessSelector::Name(comm.trim_end().into())).contains(&me));
        let u = usage(&[me]);
        assert_eq!(u.count, 1);
        assert!(
            u.rss > 1e6 && u.threads >= 1.0 && u.open_files >= 3.0,
            "{u:?}"
        );
        assert!(pids(&ProcessSelector::Pid(u32::MAX)).is_empty());
    }
}
