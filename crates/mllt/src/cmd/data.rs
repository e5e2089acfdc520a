//! `mllt data`: build the shipped real benchmarks from their package-registry sources.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use mllt_core::atomic::write_atomic;
use mllt_core::split::{Group, SplitRule};
use mllt_data::deb822::{self, IndexEntry};
use mllt_data::debtags::{Built, DebtagsConfig, build_from_files};
use mllt_data::tfidf::DEFAULT_WIDTH;
use mllt_report::Table;

/// Arguments of `mllt data`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub dataset: Dataset,
}

/// The datasets `mllt data` builds.
#[derive(Debug, clap::Subcommand)]
pub enum Dataset {
    /// DebTags-MLT: Debian package descriptions labelled by their debtags content facets (text, TF-IDF).
    Debtags(DebtagsArgs),
    /// OpenClipart-MLT: Debian's public-domain clip art rendered at 224 × 224, labelled by its keywords (images).
    Openclipart(OpenclipartArgs),
}

impl Args {
    pub fn run(self) -> anyhow::Result<()> {
        match self.dataset {
            Dataset::Debtags(a) => a.run(),
            Dataset::Openclipart(a) => a.run(),
        }
    }
}

/// Arguments of `mllt data debtags`.
#[derive(Debug, clap::Args)]
pub struct DebtagsArgs {
    /// The `Packages` index of Debian main, as `apt-get update` stores it uncompressed
    /// (`..._dists_bookworm_main_binary-amd64_Packages` with `-o Acquire::GzipIndexes=false`).
    #[arg(long)]
    pub packages: PathBuf,
    /// The `Translation-en` index of the same fetch (the long descriptions).
    #[arg(long)]
    pub translations: PathBuf,
    /// The `InRelease` (or `Release`) file of the same fetch: its date and the indices' sha256 go into MANIFEST,
    /// and the indices' sizes are checked against it.
    #[arg(long)]
    pub release: Option<PathBuf>,
    /// Seed of the long-tail construction.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Pareto reference size of the largest class (default: the largest class count of the pool).
    #[arg(long)]
    pub max: Option<usize>,
    /// Output folder: classes.txt, train.tsv, test.tsv, texts.tsv, MANIFEST.
    #[arg(long)]
    pub out: PathBuf,
}

/// The release information that MANIFEST records: the `Release` fields and the two indices' entries.
struct ReleaseInfo {
    summary: String,
    codename: String,
    indices: [IndexEntry; 2],
}

/// Reads the `Release` file and finds the entries of the two index files, checking their sizes.
fn release_info(release: &Path, indices: [&Path; 2]) -> anyhow::Result<ReleaseInfo> {
    let text = std::fs::read_to_string(release)
        .with_context(|| format!("{}: cannot read the Release file", release.display()))?;
    let paragraphs = deb822::parse_release(&text, release)?;
    let [paragraph] = &paragraphs[..] else {
        bail!(
            "{}: expected one paragraph, found {}",
            release.display(),
            paragraphs.len()
        );
    };
    let entries = deb822::sha256_entries(paragraph, release)?;
    let find = |index: &Path| -> anyhow::Result<IndexEntry> {
        let size = std::fs::metadata(index)
            .with_context(|| format!("{}: cannot read", index.display()))?
            .len();
        let name = index.file_name().unwrap_or_default().to_string_lossy();
        let Some(entry) = deb822::find_index(&entries, &name, size) else {
            bail!(
                "{}: lists no index named like {}",
                release.display(),
                index.display()
            );
        };
        if entry.size != size {
            bail!(
                "{}: {size} bytes, but {} lists {} with {} bytes (a different fetch?)",
                index.display(),
                release.display(),
                entry.path,
                entry.size
            );
        }
        Ok(entry.clone())
    };
    let summary = ["Origin", "Suite", "Codename", "Version", "Date"]
        .iter()
        .filter_map(|f| paragraph.get(f).map(|v| format!("{f} {v}")))
        .collect::<Vec<_>>()
        .join(", ");
    Ok(ReleaseInfo {
        summary,
        codename: paragraph.get("Codename").unwrap_or("bookworm").to_string(),
        indices: [find(indices[0])?, find(indices[1])?],
    })
}

/// The invocation as a shell command, with the lists folder written `$LISTS`.
fn rebuild_command(lists: &Path) -> String {
    let lists = lists.to_string_lossy();
    let args = std::env::args().skip(1).map(|a| {
        let a = if lists.is_empty() {
            a
        } else {
            a.replace(lists.as_ref(), "$LISTS")
        };
        if a.contains(|c: char| c.is_whitespace() || c == '\'') {
            format!("\"{a}\"")
        } else {
            a
        }
    });
    std::iter::once("mllt".to_string())
        .chain(args)
        .collect::<Vec<_>>()
        .join(" ")
}

impl DebtagsArgs {
    pub fn run(self) -> anyhow::Result<()> {
        let release = self
            .release
            .as_deref()
            .map(|r| release_info(r, [&self.packages, &self.translations]))
            .transpose()?;
        let config = DebtagsConfig {
            max: self.max,
            seed: self.seed,
            ..DebtagsConfig::default()
        };
        let built = build_from_files(&self.packages, &self.translations, &config)?;
        built.dataset.write(&self.out)?;
        let manifest = self.manifest(&built, &config, release.as_ref());
        write_atomic(&self.out.join("MANIFEST"), manifest.as_bytes())?;
        println!(
            "{}\nwritten to {}",
            summary_table(&built, &config),
            self.out.display()
        );
        Ok(())
    }

    /// The MANIFEST text: sources, how to fetch them and rebuild, the construction and its counts.
    fn manifest(
        &self,
        built: &Built,
        config: &DebtagsConfig,
        release: Option<&ReleaseInfo>,
    ) -> String {
        let lists = self.packages.parent().unwrap_or(Path::new(""));
        let mut m = String::from(
            "DebTags-MLT: Debian package descriptions, multi-label over their debtags content facets, made\n\
             long-tailed with the paper's appendix A.1 construction (mllt_data::debtags documents every step).\n\n",
        );
        let codename = match release {
            Some(r) => {
                let _ = writeln!(
                    m,
                    "Sources (Debian archive indices; nothing is downloaded at run time)\n  release: {}",
                    r.summary
                );
                for e in &r.indices {
                    let _ = writeln!(
                        m,
                        "  {}  {} bytes  sha256 {} (as the Release lists it)",
                        e.path, e.size, e.sha256
                    );
                }
                r.codename.as_str()
            }
            None => {
                let _ = writeln!(
                    m,
                    "Sources: {} and {} (no Release file given)",
                    self.packages.display(),
                    self.translations.display()
                );
                "bookworm"
            }
        };
        let _ = write!(
            m,
            "\nFetch (a private apt state; the machine's own lists are untouched) and rebuild\n  \
             LISTS=/tmp/debian/lists CACHE=/tmp/debian/cache\n  \
             mkdir -p $LISTS/partial $CACHE/archives/partial\n  \
             echo 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian {codename} main' > $CACHE/sources.list\n  \
             apt-get -o Dir::Etc::sourcelist=$CACHE/sources.list -o Dir::Etc::sourceparts=- -o Dir::State::Lists=$LISTS \
             -o Dir::Cache=$CACHE -o Acquire::Languages=en -o Acquire::GzipIndexes=false update\n  \
             {}\n  \
             (a later point release of {codename} has other indices: snapshot.debian.org serves the release of the date above)\n",
            rebuild_command(lists)
        );
        let r = &built.report;
        let _ = write!(
            m,
            "\nConstruction\n  \
             labels: debtags content facets (dropped: facets role, implemented-in, suite, culture, iso15924, x11, made-of;\n  \
             tags devel::lang:*, devel::library, devel::doc, devel::packaging, *::TODO); interface::graphical merged into\n  \
             interface::x11; system::cloud and admin::virtualization merged into system::virtual\n  \
             items: one binary package per source package, the one with the most content labels (ties: first name)\n  \
             text: synopsis and long description (Translation-en), cut to {} characters\n  \
             labels with >= {} items; split fnv1a64(source) % 10 < 7 -> pool, else test\n  \
             training set: Pareto construction of the pool, max {}, min {}, shape {}, tail {}, seed {}\n  \
             classes with >= {} training and >= {} test positives\n",
            config.max_text_chars,
            config.min_label_items,
            r.longtail.max,
            r.longtail.min,
            r.longtail.shape,
            r.longtail.tail,
            config.seed,
            config.min_train,
            config.min_test
        );
        let _ = write!(m, "\nCounts\n{}", summary_table(built, config));
        let _ = write!(
            m,
            "\nFiles\n  \
             classes.txt  class names, one per line (column order)\n  \
             train.tsv, test.tsv  id<TAB>comma-separated labels (ids are binary package names)\n  \
             texts.tsv  id<TAB>text of every item (\\\\, \\t, \\n, \\r escaped)\n\n\
             Features are computed at load time (mllt_data::textset::load_features): hashed TF-IDF of word unigrams and\n\
             bigrams, sublinear tf, smooth idf from the training texts, L2-normalised, width {DEFAULT_WIDTH} by default.\n"
        );
        m
    }
}

/// The construction's counts and the final dataset's class statistics as a table.
fn summary_table(built: &Built, config: &DebtagsConfig) -> Table {
    let r = &built.report;
    let (train, test) = (&built.dataset.train, &built.dataset.test);
    let counts = train.class_counts();
    let split = SplitRule::default().split(&counts);
    let extreme = |pick: fn(usize, usize) -> bool| {
        let c = (0..counts.len())
            .reduce(|a, b| if pick(counts[b], counts[a]) { b } else { a })
            .expect("at least one class");
        format!("{} ({})", counts[c], train.class_names()[c])
    };
    let groups = Group::ALL
        .iter()
        .map(|&g| format!("{} {}", g.name(), split.members(g).len()))
        .collect::<Vec<_>>()
        .join(", ");
    let mut t = Table::new(["step", "count"]);
    t.row([
        "tagged binary packages".into(),
        r.tagged_packages.to_string(),
    ])
    .row([
        "source packages with a content label".into(),
        r.sources.to_string(),
    ])
    .row([
        "  of which without Translation-en text".into(),
        r.missing_translations.to_string(),
    ])
    .row(["content labels".into(), r.labels_all.to_string()])
    .row([
        format!("labels with >= {} items", config.min_label_items),
        r.labels_frequent.to_string(),
    ])
    .row(["items with such a label".into(), r.items.to_string()])
    .row([
        "pool / held-out test".into(),
        format!("{} / {}", r.pool, r.held_out),
    ])
    .row([
        format!(
            "classes with >= {} train and >= {} test positives",
            config.min_train, config.min_test
        ),
        train.num_classes().to_string(),
    ])
    .row([
        "training items (long-tailed subset of the pool)".into(),
        train.len().to_string(),
    ])
    .row(["test items".into(), test.len().to_string()])
    .row(["largest training class".into(), extreme(|a, b| a > b)])
    .row(["smallest training class".into(), extreme(|a, b| a < b)])
    .row([
        "head / medium / tail (n >= 100, 20..100, < 20)".into(),
        groups,
    ]);
    t
}

/// Arguments of `mllt data openclipart`.
#[derive(Debug, clap::Args)]
pub struct OpenclipartArgs {
    /// The SVG folder of Debian's `openclipart-svg` (`apt-get download openclipart-svg && dpkg -x *.deb root`,
    /// then `root/usr/share/openclipart/svg`).
    #[arg(long)]
    pub svg_root: PathBuf,
    /// Seed of the long-tail construction.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Render size in pixels (square).
    #[arg(long, default_value_t = 224)]
    pub size: u32,
    /// Output image folder: classes.txt, train.tsv, test.tsv, images/*.png, MANIFEST.
    #[arg(long)]
    pub out: PathBuf,
}

impl OpenclipartArgs {
    pub fn run(self) -> anyhow::Result<()> {
        let built = mllt_data::openclipart::build(&self.svg_root, self.size, self.seed)?;
        let images = self.out.join("images");
        std::fs::create_dir_all(&images)
            .with_context(|| format!("{}: cannot create folder", images.display()))?;
        for (id, png) in &built.images {
            write_atomic(&images.join(id), png)?;
        }
        let names = built.train.class_names();
        write_atomic(
            &self.out.join("classes.txt"),
            (names.join("\n") + "\n").as_bytes(),
        )?;
        built.train.write_tsv(&self.out.join("train.tsv"))?;
        built.test.write_tsv(&self.out.join("test.tsv"))?;
        let summary = serde_json::to_string_pretty(&built.summary)?;
        let manifest = format!(
            "OpenClipart-MLT\n\
             source: Debian package openclipart-svg (public domain), unpacked with dpkg -x\n\
             rebuild: mllt data openclipart --svg-root ROOT/usr/share/openclipart/svg --seed {} --size {} --out DIR\n\
             counts: {summary}\n",
            self.seed, self.size
        );
        write_atomic(&self.out.join("MANIFEST"), manifest.as_bytes())?;
        let split = SplitRule::default().split(&built.train.class_counts());
        let groups: Vec<String> = Group::ALL
            .iter()
            .map(|&g| format!("{} {}", split.members(g).len(), g.name()))
            .collect();
        println!(
            "{summary}\n{} classes ({}), {} training and {} test images, written to {}",
            names.len(),
            groups.join(" / "),
            built.train.len(),
            built.test.len(),
            self.out.display()
        );
        Ok(())
    }
}
