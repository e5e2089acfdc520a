//! What a command used, measured by the command itself (issue 11 item 5): its peak resident memory.

/// The peak resident set size of this process in bytes: `VmHWM` of `/proc/self/status` (Linux); `None`
/// elsewhere.
pub fn peak_memory_bytes() -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| vm_hwm(&status))
}

/// The `VmHWM:  N kB` line of a `/proc/<pid>/status` text, in bytes.
fn vm_hwm(status: &str) -> Option<u64> {
    let line = status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?;
    let kb = line.trim().strip_suffix("kB")?.trim().parse::<u64>().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_high_water_mark() {
        let status = "Name:\tmllt\nVmPeak:\t  900000 kB\nVmHWM:\t  340112 kB\nVmRSS:\t  1000 kB\n";
        assert_eq!(vm_hwm(status), Some(340_112 * 1024));
        assert_eq!(vm_hwm("Name:\tmllt\n"), None);
        if cfg!(target_os = "linux") {
            assert!(peak_memory_bytes().is_some_and(|b| b > 0));
        }
    }
}
