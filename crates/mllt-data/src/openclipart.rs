//! OpenClipart-MLT: a real long-tailed multi-label image benchmark built from Debian's `openclipart-svg`
//! (public domain clip art; each SVG carries keyword tags in RDF `<dc:subject><rdf:Bag><rdf:li>`).
//!
//! The construction:
//! 1. read every SVG's keywords; lowercase them; drop the machine-generated `magick` star shapes (every one
//!    is tagged `magick`) and the meta keywords of [`META_KEYWORDS`];
//! 2. render each SVG with resvg at 224 × 224, aspect ratio kept and centred, on white, with the DejaVu Sans font
//!    that ships with mllt (external images are not loaded);
//! 3. merge pixel-identical renders, taking the union of their labels (the first path in sorted order names the
//!    merged image);
//! 4. split by FNV-1a-64 of the image's file name: `% 10 < 7` goes to the pool, the rest is the test set;
//! 5. keep the keywords with at least 4 pool and 3 test positives, then build the training set from the pool with
//!    the paper's head-to-tail Pareto construction (appendix A.1, shape 6, max = the largest pool class,
//!    min = 4 so that the rarest kept classes stay learnable);
//! 6. finally keep the classes with at least 4 training and 3 test positives, and the images that still hold a
//!    class.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use mllt_core::LabelSet;
use mllt_core::longtail::{LongTailConfig, build_longtail};
use quick_xml::Reader;
use quick_xml::events::Event;
use rayon::prelude::*;
use resvg::{tiny_skia, usvg};

use mllt_core::fnv::in_pool;

/// Keywords that describe the file, the icon set or the upload rather than the picture.
pub const META_KEYWORDS: &[&str] = &[
    "hash",
    "icon",
    "icons",
    "theme",
    "unsorted",
    "lemon_theme_icon",
    "appicon",
    "mimetypes",
    "mime-types",
    "clip art",
    "clipart",
    "clip-art",
    "image",
    "media",
    "svg",
    "png",
    "public domain",
    "remix",
    "externalsource",
    "architetto francesco rollandin",
    "openclipart",
    "inkscape",
];

/// The keyword marking the machine-generated star shapes.
const MAGICK: &str = "magick";

/// An error of the OpenClipart builder, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum OpenClipartError {
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error(transparent)]
    Core(#[from] mllt_core::Error),
}

fn file_error(path: &Path, message: impl ToString) -> OpenClipartError {
    OpenClipartError::File {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// The raw keywords of an SVG: the text of every `rdf:li` inside `dc:subject`, trimmed.
pub fn raw_keywords(svg: &[u8]) -> Vec<String> {
    let mut reader = Reader::from_reader(svg);
    let mut buf = Vec::new();
    let (mut in_subject, mut in_li) = (false, false);
    let mut out = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) => match e.name().as_ref() {
                "dc:subject" => in_subject = true,
                "rdf:li" if in_subject => {
                    in_li = true;
                    out.push(String::new());
                }
                _ => {}
            },
            Ok(Event::End(e)) => match e.name().as_ref() {
                "dc:subject" => in_subject = false,
                "rdf:li" => in_li = false,
                _ => {}
            },
            Ok(Event::Text(t)) if in_li => {
                if let Some(last) = out.last_mut() {
                    last.push_str(&t.xml10_content());
                }
            }
            Ok(Event::GeneralRef(r)) if in_li => {
                if let Some(last) = out.last_mut() {
                    let named = match r.xml10_content().as_ref() {
                        "amp" => Some('&'),
                        "lt" => Some('<'),
                        "gt" => Some('>'),
                        "quot" => Some('"'),
                        "apos" => Some('\''),
                        _ => None,
                    };
                    if let Some(c) = named.or(r.resolve_char_ref().ok().flatten()) {
                        last.push(c);
                    }
                }
            }
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
        buf.clear();
    }
    out.into_iter().map(|k| k.trim().to_string()).collect()
}

/// Cleans raw keywords into labels: lowercase, split on commas, drop empty and meta keywords.
/// `None` for a machine-generated `magick` star shape.
pub fn clean_keywords(raw: &[String]) -> Option<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    for k in raw {
        for part in k.split(',') {
            let part = part.trim().to_lowercase().replace('\t', " ");
            if part == MAGICK {
                return None;
            }
            if !part.is_empty() && !META_KEYWORDS.contains(&part.as_str()) {
                out.insert(part);
            }
        }
    }
    Some(out)
}

/// Renders an SVG at `size` × `size`, aspect ratio kept and centred, on white; returns PNG bytes and the
/// premultiplied RGBA pixels (opaque, so equal to straight RGBA).
pub fn render(
    svg: &[u8],
    size: u32,
    options: &usvg::Options<'_>,
) -> Result<(Vec<u8>, Vec<u8>), String> {
    let tree = usvg::Tree::from_data(svg, options).map_err(|e| e.to_string())?;
    let (w, h) = (tree.size().width(), tree.size().height());
    let mut pixmap = tiny_skia::Pixmap::new(size, size).ok_or("bad render size")?;
    pixmap.fill(tiny_skia::Color::WHITE);
    let s = size as f32 / w.max(h);
    let (dx, dy) = ((size as f32 - w * s) / 2.0, (size as f32 - h * s) / 2.0);
    resvg::render(
        &tree,
        tiny_skia::Transform::from_row(s, 0.0, 0.0, s, dx, dy),
        &mut pixmap.as_mut(),
    );
    let png = pixmap.encode_png().map_err(|e| e.to_string())?;
    Ok((png, pixmap.take()))
}

/// Rendering options: the shipped DejaVu Sans for every font family, no external resources.
pub fn render_options() -> usvg::Options<'static> {
    let mut opt = usvg::Options {
        font_family: "DejaVu Sans".into(),
        ..usvg::Options::default()
    };
    let db = opt.fontdb_mut();
    db.load_font_data(include_bytes!("../../../assets/fonts/DejaVuSans.ttf").to_vec());
    db.set_serif_family("DejaVu Sans");
    db.set_sans_serif_family("DejaVu Sans");
    db.set_monospace_family("DejaVu Sans");
    db.set_cursive_family("DejaVu Sans");
    db.set_fantasy_family("DejaVu Sans");
    opt
}

/// Every `.svg` under `root`, as sorted paths relative to `root`.
pub fn find_svgs(root: &Path) -> Result<Vec<PathBuf>, OpenClipartError> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| file_error(&dir, e))?;
        for entry in entries {
            let path = entry.map_err(|e| file_error(&dir, e))?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "svg") {
                out.push(path.strip_prefix(root).unwrap_or(&path).to_path_buf());
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Counts of one build, for the MANIFEST and the closing report.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct BuildSummary {
    pub svgs: usize,
    pub magick_dropped: usize,
    pub no_keyword_dropped: usize,
    pub render_failed: usize,
    pub merged_duplicates: usize,
    pub unique_images: usize,
    pub pool: usize,
    pub test: usize,
    pub classes: usize,
    pub train_images: usize,
    pub test_images: usize,
}

/// The built benchmark: training and test label sets over the same classes, plus the PNG of every image.
pub struct OpenClipartMlt {
    pub train: LabelSet,
    pub test: LabelSet,
    /// PNG bytes by image id.
    pub images: HashMap<String, Vec<u8>>,
    pub summary: BuildSummary,
}

/// One rendered, labelled SVG.
struct Rendered {
    id: String,
    labels: BTreeSet<String>,
    png: Vec<u8>,
    pixels: Vec<u8>,
}

/// The image id of an SVG: its relative path with `/` replaced by `__`, ending in `.png`.
fn image_id(rel: &Path) -> String {
    let s = rel
        .with_extension("png")
        .to_string_lossy()
        .replace(['/', '\\'], "__");
    s.replace('\t', " ")
}

/// Builds OpenClipart-MLT from the SVGs under `svg_root` (the package's `usr/share/openclipart/svg`).
pub fn build(svg_root: &Path, size: u32, seed: u64) -> Result<OpenClipartMlt, OpenClipartError> {
    let svgs = find_svgs(svg_root)?;
    if svgs.is_empty() {
        return Err(file_error(svg_root, "no .svg file under this folder"));
    }
    let mut summary = BuildSummary {
        svgs: svgs.len(),
        ..BuildSummary::default()
    };
    let options = render_options();
    enum Outcome {
        Magick,
        NoKeyword,
        Failed,
        Ok(Rendered),
    }
    let outcomes: Vec<Outcome> = svgs
        .par_iter()
        .map(|rel| {
            let Ok(bytes) = std::fs::read(svg_root.join(rel)) else {
                return Outcome::Failed;
            };
            let Some(labels) = clean_keywords(&raw_keywords(&bytes)) else {
                return Outcome::Magick;
            };
            if labels.is_empty() {
                return Outcome::NoKeyword;
            }
            match render(&bytes, size, &options) {
                Ok((png, pixels)) => Outcome::Ok(Rendered {
                    id: image_id(rel),
                    labels,
                    png,
                    pixels,
                }),
                Err(_) => Outcome::Failed,
            }
        })
        .collect();
    // Merge pixel-identical renders, first id (sorted path order) first.
    let mut by_pixels: HashMap<Vec<u8>, usize> = HashMap::new();
    let mut unique: Vec<Rendered> = Vec::new();
    for outcome in outcomes {
        match outcome {
            Outcome::Magick => summary.magick_dropped += 1,
            Outcome::NoKeyword => summary.no_keyword_dropped += 1,
            Outcome::Failed => summary.render_failed += 1,
            Outcome::Ok(mut r) => match by_pixels.get(&r.pixels) {
                Some(&i) => {
                    unique[i].labels.append(&mut r.labels);
                    summary.merged_duplicates += 1;
                }
                None => {
                    by_pixels.insert(std::mem::take(&mut r.pixels), unique.len());
                    unique.push(r);
                }
            },
        }
    }
    drop(by_pixels);
    summary.unique_images = unique.len();

    let (pool, test): (Vec<&Rendered>, Vec<&Rendered>) =
        unique.iter().partition(|r| in_pool(&r.id));
    summary.pool = pool.len();
    summary.test = test.len();
    let (pool_counts, test_counts) = (count(&pool), count(&test));
    let kept = |train: &BTreeMap<String, usize>| -> Vec<String> {
        train
            .iter()
            .filter(|(k, n)| **n >= 4 && test_counts.get(*k).copied().unwrap_or(0) >= 3)
            .map(|(k, _)| k.clone())
            .collect()
    };
    let candidates = kept(&pool_counts);
    let pool_set = label_set(&pool, &candidates)?;
    let max = pool_set.class_counts().into_iter().max().unwrap_or(0);
    let config = LongTailConfig {
        max,
        min: 4,
        shape: 6.0,
        tail: 0.99,
    };
    let lt = build_longtail(&pool_set, &config, seed)?;
    let train_items: Vec<&Rendered> = lt.indices.iter().map(|&k| pool[k]).collect();
    let classes = kept(&count(&train_items));
    let train = label_set(&train_items, &classes)?;
    let test = label_set(&test, &classes)?;
    let (train, test) = (drop_unlabelled(train), drop_unlabelled(test));
    summary.classes = classes.len();
    summary.train_images = train.len();
    summary.test_images = test.len();
    let wanted: BTreeSet<&str> = train
        .ids()
        .iter()
        .chain(test.ids())
        .map(String::as_str)
        .collect();
    let images = unique
        .into_iter()
        .filter(|r| wanted.contains(r.id.as_str()))
        .map(|r| (r.id, r.png))
        .collect();
    Ok(OpenClipartMlt {
        train,
        test,
        images,
        summary,
    })
}

/// How many of `items` hold each label.
fn count(items: &[&Rendered]) -> BTreeMap<String, usize> {
    let mut m: BTreeMap<String, usize> = BTreeMap::new();
    for r in items {
        for l in &r.labels {
            *m.entry(l.clone()).or_default() += 1;
        }
    }
    m
}

/// The label set of `items` over `classes` (labels outside `classes` are ignored).
fn label_set(items: &[&Rendered], classes: &[String]) -> Result<LabelSet, OpenClipartError> {
    let ids = items.iter().map(|r| r.id.clone()).collect();
    let rows = items.iter().map(|r| r.labels.iter().map(String::as_str));
    Ok(LabelSet::from_names(ids, classes.to_vec(), rows)?)
}

/// The items that hold at least one class.
fn drop_unlabelled(labels: LabelSet) -> LabelSet {
    let keep: Vec<usize> = (0..labels.len())
        .filter(|&k| !labels.row(k).is_empty())
        .collect();
    labels.subset(&keep)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SVG: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
  xmlns:dc="http://purl.org/dc/elements/1.1/" width="20" height="10">
  <metadata><rdf:RDF><dc:title>x</dc:title>
    <dc:subject><rdf:Bag><rdf:li>Fruit</rdf:li><rdf:li> apple, Food </rdf:li><rdf:li>icons</rdf:li>
      <rdf:li>fish &amp; chips</rdf:li></rdf:Bag></dc:subject></rdf:RDF></metadata>
  <rect x="0" y="0" width="20" height="10" fill="#ff0000"/></svg>"##;

    #[test]
    fn keywords_are_read_and_cleaned() {
        let raw = raw_keywords(SVG.as_bytes());
        assert_eq!(raw, vec!["Fruit", "apple, Food", "icons", "fish & chips"]);
        let clean: Vec<String> = clean_keywords(&raw).unwrap().into_iter().collect();
        assert_eq!(clean, vec!["apple", "fish & chips", "food", "fruit"]);
        assert_eq!(clean_keywords(&["stars".into(), "Magick".into()]), None);
    }

    #[test]
    fn renders_centred_on_white() {
        let (png, pixels) = render(SVG.as_bytes(), 8, &render_options()).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        let px = |x: usize, y: usize| &pixels[(y * 8 + x) * 4..(y * 8 + x) * 4 + 4];
        // 20 × 10 scaled to 8 × 4, centred: rows 2..6 red, rows 0..2 and 6..8 white.
        assert_eq!(px(4, 4), &[255, 0, 0, 255]);
        assert_eq!(px(4, 0), &[255, 255, 255, 255]);
        assert_eq!(px(4, 7), &[255, 255, 255, 255]);
        assert!(render(b"not svg", 8, &render_options()).is_err());
    }

    fn svg(color: &str, keywords: &[&str]) -> String {
        let li: String = keywords
            .iter()
            .map(|k| format!("<rdf:li>{k}</rdf:li>"))
            .collect();
        SVG.replace("#ff0000", color)
            .replace("<rdf:li>Fruit</rdf:li>", &li)
            .replace("<rdf:li> apple, Food </rdf:li><rdf:li>icons</rdf:li>", "")
            .replace("<rdf:li>fish &amp; chips</rdf:li>", "")
    }

    #[test]
    fn builds_a_benchmark_from_an_svg_tree() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("things");
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..120 {
            let mut keywords = vec!["shape"];
            if i % 3 == 0 {
                keywords.push("round");
            }
            let color = format!("#{:02x}{:02x}40", i * 2, 255 - i * 2);
            std::fs::write(dir.join(format!("s{i:03}.svg")), svg(&color, &keywords)).unwrap();
        }
        // A pixel-identical copy of s000 with another keyword, a magick star and an untagged file.
        std::fs::write(dir.join("t000.svg"), svg("#00ff40", &["shape", "copy"])).unwrap();
        std::fs::write(
            dir.join("zz_star.svg"),
            svg("#123456", &["magick", "stars"]),
        )
        .unwrap();
        std::fs::write(dir.join("zz_none.svg"), svg("#654321", &["icons"])).unwrap();
        let built = build(root.path(), 16, 0).unwrap();
        let s = &built.summary;
        assert_eq!(
            (
                s.svgs,
                s.magick_dropped,
                s.no_keyword_dropped,
                s.render_failed
            ),
            (123, 1, 1, 0)
        );
        assert_eq!((s.merged_duplicates, s.unique_images), (1, 120));
        assert_eq!(s.pool + s.test, 120);
        assert_eq!(built.train.class_names(), built.test.class_names());
        assert!(built.train.class_names().contains(&"shape".to_string()));
        for id in built.train.ids() {
            assert!(in_pool(id) && built.images.contains_key(id), "{id}");
        }
        for id in built.test.ids() {
            assert!(!in_pool(id) && built.images.contains_key(id), "{id}");
        }
        // The merged image keeps the first path's id.
        let merged = built
            .train
            .ids()
            .iter()
            .chain(built.test.ids())
            .any(|id| id.starts_with("things__t000"));
        assert!(!merged, "the duplicate is merged into things__s000.png");
        assert!(build(&root.path().join("missing"), 16, 0).is_err());
    }

    #[test]
    fn image_ids_flatten_paths() {
        assert_eq!(image_id(Path::new("a/b/c d.svg")), "a__b__c d.png");
    }
}
