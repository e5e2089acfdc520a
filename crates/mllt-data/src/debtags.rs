//! DebTags-MLT: multi-label text classification of Debian packages, labelled by their debtags content facets,
//! made long-tailed with the paper's own construction (appendix A.1).
//!
//! Sources: a Debian `Packages` index (the `Tag:` field holds the debtags) and the matching `Translation-en`
//! (the long descriptions, joined on `Description-md5`). Construction:
//!
//! 1. **Labels.** The content facets of each package's tags ([`content_label`]): the facets `role`,
//!    `implemented-in`, `suite`, `culture`, `iso15924`, `x11` and `made-of` and the tags `devel::lang:*`,
//!    `devel::library`, `devel::doc` and `devel::packaging` are dropped (they can be read off the package name or
//!    section), and so are the `facet::TODO` placeholders (they mark a facet still to be tagged, not a property).
//!    `interface::graphical` is merged into `interface::x11`; `system::cloud`, `system::virtual` and
//!    `admin::virtualization` are merged into one label, [`VIRTUALIZATION`].
//! 2. **Items.** One binary package per source package (the `Source:` field without its version, or the package
//!    name when absent): the one with the most content labels, ties to the lexicographically first name. Sources
//!    whose packages have no content label give no item. The item id is the binary package name.
//! 3. **Text.** The synopsis and the long description (`Translation-en`, or the `Packages` description when the
//!    translation is missing), one line per description line, paragraph separators as empty lines, cut to at
//!    most [`DebtagsConfig::max_text_chars`] characters.
//! 4. **Frequent labels.** Labels with at least [`DebtagsConfig::min_label_items`] items are kept (10); items
//!    left without a label are dropped.
//! 5. **Split.** By the source name: `fnv1a64(source) % 10 < 7` goes to the pool ([`in_pool`]), the rest (30 %)
//!    is the test set.
//! 6. **Long tail.** The training set is [`build_longtail`] of the pool: Pareto shape 6, min 1, tail 0.99, max =
//!    the largest class count of the pool (unless [`DebtagsConfig::max`] is set), seeded.
//! 7. **Evaluable classes.** Classes with at least 4 training and 3 test positives are kept in both splits;
//!    items left without a label are dropped from both.

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use mllt_core::longtail::{LongTailConfig, build_longtail};
use mllt_core::{Error, LabelSet};

use crate::deb822::{self, long_description};
use crate::textset::{TextDataset, read_text};
use mllt_core::fnv::in_pool;

/// Facets dropped whole: not content, or readable off the package name or section.
pub const DROPPED_FACETS: [&str; 7] = [
    "role",
    "implemented-in",
    "suite",
    "culture",
    "iso15924",
    "x11",
    "made-of",
];

/// `devel` tags dropped besides `devel::lang:*`.
pub const DROPPED_DEVEL_TAGS: [&str; 3] = ["devel::library", "devel::doc", "devel::packaging"];

/// The label that `system::cloud`, `system::virtual` and `admin::virtualization` are merged into.
pub const VIRTUALIZATION: &str = "system::virtual";

/// The content label of a debtag (facet `::` value), or `None` when the tag is dropped.
pub fn content_label(tag: &str) -> Option<&str> {
    let (facet, value) = tag.split_once("::")?;
    if DROPPED_FACETS.contains(&facet)
        || value == "TODO"
        || DROPPED_DEVEL_TAGS.contains(&tag)
        || (facet == "devel" && value.starts_with("lang:"))
    {
        return None;
    }
    Some(match tag {
        "interface::graphical" => "interface::x11",
        "system::cloud" | "admin::virtualization" => VIRTUALIZATION,
        _ => tag,
    })
}

/// The sorted, de-duplicated content labels of a package's tags.
pub fn content_labels<S: AsRef<str>>(tags: &[S]) -> Vec<String> {
    let mut labels: Vec<String> = tags
        .iter()
        .filter_map(|t| content_label(t.as_ref()))
        .map(str::to_string)
        .collect();
    labels.sort_unstable();
    labels.dedup();
    labels
}

/// A tagged binary package of a `Packages` index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub name: String,
    /// The source package name, without a version.
    pub source: String,
    /// The debtags, as written.
    pub tags: Vec<String>,
    /// The `Description` field (in current archives only the synopsis).
    pub description: String,
    /// The `Description-md5` field, the key into `Translation-en`.
    pub description_md5: Option<String>,
}

fn parse_error(path: &Path, line: usize, message: impl Into<String>) -> Error {
    Error::Parse {
        path: path.into(),
        line,
        message: message.into(),
    }
}

/// The tags of a `Tag:` field value: comma- and white-space-separated `facet::value` tags.
fn parse_tags(value: &str, path: &Path, line: usize) -> Result<Vec<String>, Error> {
    value
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .map(|t| {
            if t.contains(['{', '}']) {
                Err(parse_error(
                    path,
                    line,
                    format!("tag `{t}`: the brace-compressed tag form is not supported"),
                ))
            } else if !t.contains("::") {
                Err(parse_error(
                    path,
                    line,
                    format!("tag `{t}` is not `facet::value`"),
                ))
            } else {
                Ok(t.to_string())
            }
        })
        .collect()
}

/// The packages of a `Packages` index (`path` is used only in messages) that carry a `Tag:` field.
pub fn parse_packages(text: &str, path: &Path) -> Result<Vec<Package>, Error> {
    let mut packages = Vec::new();
    for p in deb822::parse(text, path)? {
        let Some(name) = p.get("Package") else {
            return Err(parse_error(
                path,
                p.line,
                "paragraph without a `Package` field",
            ));
        };
        let Some(tag) = p.field("Tag") else {
            continue;
        };
        let source = match p.field("Source") {
            Some(f) => match f.value.split_whitespace().next() {
                Some(s) => s.to_string(),
                None => return Err(parse_error(path, f.line, "empty `Source` field")),
            },
            None => name.to_string(),
        };
        packages.push(Package {
            name: name.to_string(),
            source,
            tags: parse_tags(&tag.value, path, tag.line)?,
            description: p.get("Description").unwrap_or_default().to_string(),
            description_md5: p.get("Description-md5").map(str::to_string),
        });
    }
    Ok(packages)
}

/// The descriptions of a `Translation-en` index (`path` is used only in messages): `Description-md5` →
/// `Description-en` (synopsis and long description, as a deb822 value).
pub fn parse_translations(text: &str, path: &Path) -> Result<HashMap<String, String>, Error> {
    deb822::parse(text, path)?
        .into_iter()
        .map(
            |p| match (p.get("Description-md5"), p.get("Description-en")) {
                (Some(md5), Some(description)) => Ok((md5.to_string(), description.to_string())),
                _ => Err(parse_error(
                    path,
                    p.line,
                    "paragraph without `Description-md5` and `Description-en` fields",
                )),
            },
        )
        .collect()
}

/// One item: the chosen binary package of a source package, its content labels and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub package: String,
    pub source: String,
    pub labels: Vec<String>,
    pub text: String,
}

/// The first `max` characters of `text` (all of it when shorter), without trailing white space.
fn truncate_chars(text: &str, max: usize) -> &str {
    let end = text.char_indices().nth(max).map_or(text.len(), |(i, _)| i);
    text[..end].trim_end()
}

/// The items of a `Packages` index, with the counts of their selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// One item per source package with a content label, sorted by source name.
    pub items: Vec<Item>,
    /// Binary packages with a `Tag:` field.
    pub tagged_packages: usize,
    /// Items whose text is the `Packages` description because `Translation-en` lacks it.
    pub missing_translations: usize,
}

/// Selects one item per source package among the tagged `packages` (the first of repeated package names
/// counts), with its text from `translations` cut to `max_text_chars` characters.
pub fn select_items(
    packages: &[Package],
    translations: &HashMap<String, String>,
    max_text_chars: usize,
) -> Selection {
    let mut best: BTreeMap<&str, (&Package, Vec<String>)> = BTreeMap::new();
    let mut seen = HashSet::new();
    for p in packages.iter().filter(|p| seen.insert(p.name.as_str())) {
        let labels = content_labels(&p.tags);
        let better = match best.get(p.source.as_str()) {
            None => true,
            Some((q, l)) => (labels.len(), Reverse(&p.name)) > (l.len(), Reverse(&q.name)),
        };
        if better {
            best.insert(&p.source, (p, labels));
        }
    }
    let mut missing_translations = 0;
    let items = best
        .into_iter()
        .filter(|(_, (_, labels))| !labels.is_empty())
        .map(|(source, (p, labels))| {
            let translated = p.description_md5.as_ref().and_then(|m| translations.get(m));
            missing_translations += usize::from(translated.is_none());
            let description = long_description(translated.unwrap_or(&p.description));
            Item {
                package: p.name.clone(),
                source: source.to_string(),
                labels,
                text: truncate_chars(&description, max_text_chars).to_string(),
            }
        })
        .collect();
    Selection {
        items,
        tagged_packages: packages.len(),
        missing_translations,
    }
}

/// Parameters of the construction; [`Default`] gives the shipped dataset's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DebtagsConfig {
    /// Labels need at least this many items (before the split).
    pub min_label_items: usize,
    /// Pareto reference size of the largest class; `None`: the largest class count of the pool.
    pub max: Option<usize>,
    /// Pareto reference size of the smallest class.
    pub min: usize,
    /// Pareto shape b.
    pub shape: f64,
    /// CDF value at which the Pareto pdf is cut.
    pub tail: f64,
    /// Classes need at least this many training positives…
    pub min_train: usize,
    /// …and this many test positives.
    pub min_test: usize,
    /// Texts are cut to this many characters.
    pub max_text_chars: usize,
    /// Seed of the long-tail construction.
    pub seed: u64,
}

impl Default for DebtagsConfig {
    fn default() -> Self {
        DebtagsConfig {
            min_label_items: 10,
            max: None,
            min: 1,
            shape: 6.0,
            tail: 0.99,
            min_train: 4,
            min_test: 3,
            max_text_chars: 2000,
            seed: 0,
        }
    }
}

/// The counts of each construction step.
#[derive(Debug, Clone, PartialEq)]
pub struct DebtagsReport {
    /// Binary packages with a `Tag:` field.
    pub tagged_packages: usize,
    /// Items (source packages with a content label), before the label-frequency cut.
    pub sources: usize,
    /// Items whose text is the `Packages` description (no `Translation-en` entry).
    pub missing_translations: usize,
    /// Distinct content labels, and those with at least `min_label_items` items.
    pub labels_all: usize,
    pub labels_frequent: usize,
    /// Items with a frequent label, and how they split into pool and held-out test items.
    pub items: usize,
    pub pool: usize,
    pub held_out: usize,
    /// The Pareto parameters used (with the resolved `max`).
    pub longtail: LongTailConfig,
}

/// A built dataset and the counts of its construction.
#[derive(Debug, Clone, PartialEq)]
pub struct Built {
    pub dataset: TextDataset,
    pub report: DebtagsReport,
}

/// `labels` restricted to the classes `keep` (in that order), without the items left with no label; also the
/// source indices of the kept items.
fn restrict(labels: &LabelSet, keep: &[usize]) -> Result<(LabelSet, Vec<usize>), Error> {
    let mut new_index = vec![None; labels.num_classes()];
    for (i, &c) in keep.iter().enumerate() {
        new_index[c] = Some(i);
    }
    let names = keep
        .iter()
        .map(|&c| labels.class_names()[c].clone())
        .collect();
    let (mut ids, mut rows, mut kept) = (Vec::new(), Vec::new(), Vec::new());
    for (k, row) in labels.rows().iter().enumerate() {
        let row: Vec<usize> = row.iter().filter_map(|&c| new_index[c]).collect();
        if !row.is_empty() {
            ids.push(labels.ids()[k].clone());
            rows.push(row);
            kept.push(k);
        }
    }
    Ok((LabelSet::new(ids, names, rows)?, kept))
}

/// Builds DebTags-MLT from the selected items (see the module documentation for the steps).
pub fn build(selection: &Selection, config: &DebtagsConfig) -> Result<Built, Error> {
    let items = &selection.items;
    let mut classes: Vec<String> = items
        .iter()
        .flat_map(|i| i.labels.iter().cloned())
        .collect();
    classes.sort_unstable();
    classes.dedup();
    let ids = items.iter().map(|i| i.package.clone()).collect();
    let rows = items.iter().map(|i| i.labels.iter().map(String::as_str));
    let all = LabelSet::from_names(ids, classes.clone(), rows)?;
    let frequent: Vec<usize> = (0..classes.len())
        .filter(|&c| all.class_counts()[c] >= config.min_label_items)
        .collect();
    let (labelled, kept) = restrict(&all, &frequent)?;

    let (pool_rows, test_rows): (Vec<usize>, Vec<usize>) =
        (0..labelled.len()).partition(|&k| in_pool(&items[kept[k]].source));
    let pool = labelled.subset(&pool_rows);
    let held_out = labelled.subset(&test_rows);
    let longtail = LongTailConfig {
        max: config
            .max
            .unwrap_or_else(|| pool.class_counts().into_iter().max().unwrap_or(0)),
        min: config.min,
        shape: config.shape,
        tail: config.tail,
    };
    let train = build_longtail(&pool, &longtail, config.seed)?.subset(&pool);

    let (train_counts, test_counts) = (train.class_counts(), held_out.class_counts());
    let evaluable: Vec<usize> = (0..train.num_classes())
        .filter(|&c| train_counts[c] >= config.min_train && test_counts[c] >= config.min_test)
        .collect();
    let (train, _) = restrict(&train, &evaluable)?;
    let (test, _) = restrict(&held_out, &evaluable)?;

    let texts: HashMap<&str, &str> = items
        .iter()
        .map(|i| (i.package.as_str(), i.text.as_str()))
        .collect();
    let texts_of = |labels: &LabelSet| {
        labels
            .ids()
            .iter()
            .map(|id| texts[id.as_str()].to_string())
            .collect()
    };
    let report = DebtagsReport {
        tagged_packages: selection.tagged_packages,
        sources: items.len(),
        missing_translations: selection.missing_translations,
        labels_all: classes.len(),
        labels_frequent: frequent.len(),
        items: labelled.len(),
        pool: pool.len(),
        held_out: held_out.len(),
        longtail,
    };
    let dataset = TextDataset {
        train_texts: texts_of(&train),
        test_texts: texts_of(&test),
        train,
        test,
    };
    Ok(Built { dataset, report })
}

/// Builds DebTags-MLT from a `Packages` and a `Translation-en` file.
pub fn build_from_files(
    packages: &Path,
    translations: &Path,
    config: &DebtagsConfig,
) -> Result<Built, Error> {
    let packages = parse_packages(&read_text(packages)?, packages)?;
    let translations = parse_translations(&read_text(translations)?, translations)?;
    build(
        &select_items(&packages, &translations, config.max_text_chars),
        config,
    )
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;

    const PACKAGES: &str = "\
Package: foo-gtk
Source: foo (1.2-3)
Description: Foo viewer, GTK front-end
Description-md5: m1
Tag: interface::graphical, interface::x11, role::program,
 uitoolkit::gtk, use::viewing, x11::application

Package: foo-cli
Source: foo
Description: Foo viewer, command line
Description-md5: m2
Tag: interface::commandline, role::program, use::viewing, devel::lang:c

Package: bar
Description: Bar library
Tag: devel::library, role::shared-lib

Package: baz
Source: baz
Description: Baz, untranslated
Description-md5: missing
Tag: scope::utility, use::viewing

Package: untagged
Description: not an item
";

    const TRANSLATIONS: &str = "\
Package: foo-gtk
Description-md5: m1
Description-en: Foo viewer, GTK front-end
 Views foo files.
 .
 Also prints them.
";

    #[test]
    fn content_facets_are_filtered_and_merged() {
        let tags = [
            "role::program",
            "implemented-in::c",
            "suite::gnome",
            "culture::german",
            "iso15924::latn",
            "x11::application",
            "made-of::html",
            "devel::lang:python",
            "devel::library",
            "devel::doc",
            "devel::packaging",
            "game::TODO",
            "devel::compiler",
            "interface::graphical",
            "interface::x11",
            "system::cloud",
            "admin::virtualization",
            "system::virtual",
            "admin::boot",
            "nofacet",
        ];
        assert_eq!(
            content_labels(&tags),
            [
                "admin::boot",
                "devel::compiler",
                "interface::x11",
                "system::virtual"
            ]
        );
        assert_eq!(content_label("system::cloud"), Some(VIRTUALIZATION));
        assert_eq!(content_label("devel::lang:c++"), None);
    }

    #[test]
    fn packages_and_translations_parse() {
        let ps = parse_packages(PACKAGES, Path::new("Packages")).unwrap();
        let names: Vec<&str> = ps.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["foo-gtk", "foo-cli", "bar", "baz"]);
        assert_eq!(ps[0].source, "foo");
        assert_eq!(ps[2].source, "bar");
        assert_eq!(ps[0].tags.len(), 6);
        assert_eq!(ps[0].tags[3], "uitoolkit::gtk");
        assert_eq!(ps[0].description_md5.as_deref(), Some("m1"));
        let tr = parse_translations(TRANSLATIONS, Path::new("T")).unwrap();
        assert_eq!(
            long_description(&tr["m1"]),
            "Foo viewer, GTK front-end\nViews foo files.\n\nAlso prints them."
        );

        let err =
            parse_packages("Package: a\nTag: x::y, devel::{a,b}\n", Path::new("P")).unwrap_err();
        assert!(err.to_string().starts_with("P:2: tag `devel::{a`"), "{err}");
        let err = parse_packages("Package: a\nTag: plain\n", Path::new("P")).unwrap_err();
        assert_eq!(err.to_string(), "P:2: tag `plain` is not `facet::value`");
        let err = parse_packages("Tag: a::b\n", Path::new("P")).unwrap_err();
        assert_eq!(err.to_string(), "P:1: paragraph without a `Package` field");
        let err =
            parse_translations("Package: a\nDescription-en: x\n", Path::new("T")).unwrap_err();
        assert!(
            err.to_string().starts_with("T:1: paragraph without"),
            "{err}"
        );
    }

    #[test]
    fn one_binary_package_per_source() {
        let ps = parse_packages(PACKAGES, Path::new("Packages")).unwrap();
        let tr = parse_translations(TRANSLATIONS, Path::new("T")).unwrap();
        let sel = select_items(&ps, &tr, 30);
        assert_eq!(sel.tagged_packages, 4);
        // bar has no content label; foo-gtk (4 content labels) beats foo-cli (2).
        let got: Vec<(&str, &str)> = sel
            .items
            .iter()
            .map(|i| (i.source.as_str(), i.package.as_str()))
            .collect();
        assert_eq!(got, [("baz", "baz"), ("foo", "foo-gtk")]);
        assert_eq!(
            sel.items[1].labels,
            ["interface::x11", "uitoolkit::gtk", "use::viewing"]
        );
        // Cut to 30 characters, trailing white space removed; baz falls back to the Packages description.
        assert_eq!(sel.items[1].text, "Foo viewer, GTK front-end\nView");
        assert_eq!(sel.items[0].text, "Baz, untranslated");
        assert_eq!(sel.missing_translations, 1);

        // Ties go to the lexicographically first name, whatever the file order.
        let tie = |a: &str, b: &str| Package {
            name: a.into(),
            source: "s".into(),
            tags: vec![b.into()],
            description: String::new(),
            description_md5: None,
        };
        for order in [
            [tie("b", "use::viewing"), tie("a", "use::editing")],
            [tie("a", "use::editing"), tie("b", "use::viewing")],
        ] {
            let sel = select_items(&order, &HashMap::new(), 10);
            assert_eq!(sel.items[0].package, "a");
        }
    }

    /// A synthetic index of `n` source packages with long-tailed tags.
    fn synthetic_packages(n: usize) -> String {
        let mut text = String::new();
        for k in 0..n {
            let mut tags = vec!["role::program".to_string(), "use::c0".to_string()];
            tags.extend(
                (1..12)
                    .filter(|j| k % (j + 1) == 0)
                    .map(|j| format!("use::c{j}")),
            );
            let _ = writeln!(
                text,
                "Package: pkg{k}\nSource: src{k} (1.0)\nDescription: package {k}\nDescription-md5: md{k}\nTag: {}\n",
                tags.join(", ")
            );
        }
        text
    }

    #[test]
    fn construction_is_consistent_and_deterministic() {
        let dir = tempfile::tempdir().unwrap();
        let (p, t) = (
            dir.path().join("Packages"),
            dir.path().join("Translation-en"),
        );
        std::fs::write(&p, synthetic_packages(400)).unwrap();
        std::fs::write(
            &t,
            "Package: pkg0\nDescription-md5: md0\nDescription-en: zero\n long\n",
        )
        .unwrap();
        let config = DebtagsConfig {
            min_label_items: 40,
            ..DebtagsConfig::default()
        };
        let built = build_from_files(&p, &t, &config).unwrap();
        let (r, ds) = (&built.report, &built.dataset);
        assert_eq!(
            (r.tagged_packages, r.sources, r.missing_translations),
            (400, 400, 399)
        );
        // use::c0..c11 occur in 400, 200, 133, 100, 80, 66, 57, 50, 44, 40, 36, 33 packages.
        assert_eq!((r.labels_all, r.labels_frequent), (12, 10));
        assert_eq!(r.pool + r.held_out, r.items);
        // Every item has use::c0, so the largest pool class is the whole pool.
        assert_eq!(r.longtail.max, r.pool);
        assert_eq!(ds.train.class_names(), ds.test.class_names());
        let (train, test) = (ds.train.class_counts(), ds.test.class_counts());
        assert!(train.iter().all(|&n| n >= 4) && test.iter().all(|&n| n >= 3));
        assert!(
            ds.train.len() < r.pool,
            "the Pareto construction drops pool items"
        );
        for id in ds.train.ids() {
            assert!(in_pool(&format!("src{}", &id[3..])), "{id}");
        }
        for id in ds.test.ids() {
            assert!(!in_pool(&format!("src{}", &id[3..])), "{id}");
        }
        let ids = ds.train.ids().iter().chain(ds.test.ids());
        for (id, text) in ids.zip(ds.train_texts.iter().chain(&ds.test_texts)) {
            let want = match id.as_str() {
                "pkg0" => "zero\nlong".to_string(),
                _ => format!("package {}", &id[3..]),
            };
            assert_eq!(text, &want);
        }
        assert_eq!(build_from_files(&p, &t, &config).unwrap(), built);
        let other = DebtagsConfig { seed: 1, ..config };
        assert_ne!(
            build_from_files(&p, &t, &other).unwrap().dataset.train,
            ds.train
        );
    }
}
