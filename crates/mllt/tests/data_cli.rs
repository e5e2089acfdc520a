//! `mllt data debtags` end to end on a small synthetic Debian index.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

fn mllt(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mllt"))
        .args(args)
        .output()
        .unwrap()
}

/// A `Packages` index of 300 source packages with long-tailed tags, and its `Translation-en`.
fn write_indices(dir: &Path) -> (String, String) {
    let (mut packages, mut translations) = (String::new(), String::new());
    for k in 0..300 {
        let mut tags = vec!["role::program".to_string(), "use::c0".to_string()];
        tags.extend(
            (1..8)
                .filter(|j| k % (j + 1) == 0)
                .map(|j| format!("use::c{j}")),
        );
        let _ = writeln!(
            packages,
            "Package: pkg{k}\nSource: src{k}\nDescription: package {k}\nDescription-md5: md{k}\nTag: {}\n",
            tags.join(", ")
        );
        let _ = writeln!(
            translations,
            "Package: pkg{k}\nDescription-md5: md{k}\nDescription-en: package {k}\n long\n"
        );
    }
    let p = dir.join("x_main_binary-amd64_Packages");
    let t = dir.join("x_main_i18n_Translation-en");
    std::fs::write(&p, &packages).unwrap();
    std::fs::write(&t, &translations).unwrap();
    let release = format!(
        "Origin: Test\nCodename: testing\nDate: today\nSHA256:\n aa {} main/binary-amd64/Packages\n bb {} main/i18n/Translation-en\n",
        packages.len(),
        translations.len()
    );
    std::fs::write(dir.join("x_Release"), release).unwrap();
    (p.to_string_lossy().into(), t.to_string_lossy().into())
}

#[test]
fn debtags_builds_a_text_dataset_with_a_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let (p, t) = write_indices(dir.path());
    let release = dir.path().join("x_Release");
    let out = dir.path().join("out");
    let build = || {
        mllt(&[
            "data",
            "debtags",
            "--packages",
            &p,
            "--translations",
            &t,
            "--release",
            release.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
    };
    let run = build();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    for file in [
        "classes.txt",
        "train.tsv",
        "test.tsv",
        "texts.tsv",
        "MANIFEST",
    ] {
        assert!(out.join(file).is_file(), "{file}");
    }
    let manifest = std::fs::read_to_string(out.join("MANIFEST")).unwrap();
    assert!(
        manifest.contains("release: Origin Test, Codename testing, Date today"),
        "{manifest}"
    );
    assert!(manifest.contains("main/i18n/Translation-en"), "{manifest}");
    assert!(
        manifest.contains("--packages $LISTS/x_main_binary-amd64_Packages"),
        "{manifest}"
    );
    let f = mllt_data::textset::load_features(&out, 256).unwrap();
    assert_eq!(f.train.labels.class_names(), f.test.labels.class_names());

    // A Release file of another fetch is refused.
    std::fs::write(&p, "Package: a\n").unwrap();
    let run = build();
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("a different fetch?"), "{err}");
}
