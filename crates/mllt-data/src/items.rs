//! Unlabelled items to predict (`mllt predict --data ITEMS`), read lazily so that a file larger than memory
//! streams through in batches:
//!
//! * [`TextLines`]: a UTF-8 text file, one item per line, either `id<TAB>text` or just the text (its id is
//!   then its 1-based line number). Texts use the escapes of `texts.tsv` (`\\`, `\t`, `\n`, `\r`); a line with
//!   a bad escape is taken literally. Blank lines are skipped. An empty text (`id<TAB>` alone) is a bad item.
//! * [`PathLines`]: a list of image files, one path per line (relative paths are relative to the list's
//!   folder); the id is the path as written.
//! * [`image_files`]: every PNG or JPEG file under a folder, recursively, in sorted order; the id is the
//!   path relative to the folder.

use std::fs::File;
use std::io::{BufRead, BufReader, Lines};
use std::path::{Path, PathBuf};

use mllt_core::Error;

use crate::textset::unescape;

/// One line of an item file: its id, its 1-based line number and its content (`None` for a bad item).
#[derive(Debug, Clone, PartialEq)]
pub struct ItemLine {
    pub id: String,
    pub line: usize,
    /// The text or path; `Err` says why the item is bad.
    pub content: Result<String, String>,
}

/// The non-blank lines of a UTF-8 file, numbered.
struct NumberedLines {
    path: PathBuf,
    lines: Lines<BufReader<File>>,
    line: usize,
}

impl NumberedLines {
    fn open(path: &Path) -> Result<Self, Error> {
        let file = File::open(path).map_err(|source| Error::Io {
            path: path.into(),
            source,
        })?;
        Ok(NumberedLines {
            path: path.into(),
            lines: BufReader::new(file).lines(),
            line: 0,
        })
    }

    /// The next non-blank line and its number; an error names the line that is not UTF-8.
    fn next_line(&mut self) -> Option<Result<(usize, String), Error>> {
        loop {
            let text = self.lines.next()?;
            self.line += 1;
            match text {
                Ok(t) if t.trim().is_empty() => continue,
                Ok(t) => return Some(Ok((self.line, t.trim_end_matches('\r').to_string()))),
                Err(e) => {
                    return Some(Err(Error::Parse {
                        path: self.path.clone(),
                        line: self.line,
                        message: format!("cannot read: {e}"),
                    }));
                }
            }
        }
    }
}

/// The texts of a file, one item per line (see the module documentation).
pub struct TextLines(NumberedLines);

impl TextLines {
    /// Opens `path`; nothing is read yet.
    pub fn open(path: &Path) -> Result<Self, Error> {
        NumberedLines::open(path).map(TextLines)
    }
}

impl Iterator for TextLines {
    type Item = Result<ItemLine, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(self.0.next_line()?.map(|(line, text)| {
            let (id, field) = match text.split_once('\t') {
                Some((id, field)) => (id.to_string(), field),
                None => (line.to_string(), text.as_str()),
            };
            let text = unescape(field).unwrap_or_else(|| field.to_string());
            let content = if text.trim().is_empty() {
                Err("empty text".to_string())
            } else {
                Ok(text)
            };
            ItemLine { id, line, content }
        }))
    }
}

/// The image paths of a list file, one per line, relative to the list's folder.
pub struct PathLines {
    lines: NumberedLines,
    base: PathBuf,
}

impl PathLines {
    /// Opens `path`; nothing is read yet.
    pub fn open(path: &Path) -> Result<Self, Error> {
        Ok(PathLines {
            lines: NumberedLines::open(path)?,
            base: path.parent().unwrap_or(Path::new("")).to_path_buf(),
        })
    }
}

impl Iterator for PathLines {
    type Item = Result<ItemLine, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(self.lines.next_line()?.map(|(line, text)| {
            let id = text.trim().to_string();
            let path = self.base.join(&id);
            ItemLine {
                content: Ok(path.to_string_lossy().into_owned()),
                id,
                line,
            }
        }))
    }
}

/// Whether `path` names a PNG or JPEG file by its extension.
pub fn is_image_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg"))
}

/// Every PNG or JPEG file under `root`, recursively, as (id relative to `root`, path), sorted by id.
pub fn image_files(root: &Path) -> Result<Vec<(String, PathBuf)>, Error> {
    let mut found = Vec::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let io = |source| Error::Io {
            path: folder.clone(),
            source,
        };
        for entry in std::fs::read_dir(&folder).map_err(io)? {
            let path = entry.map_err(io)?.path();
            if path.is_dir() {
                folders.push(path);
            } else if is_image_file(&path) {
                let id = path.strip_prefix(root).unwrap_or(&path);
                found.push((id.to_string_lossy().into_owned(), path));
            }
        }
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_lines_with_and_without_ids() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("texts.txt");
        std::fs::write(
            &path,
            "a red fox\n\npkg1\tan editor\\nfor text\r\npkg2\t  \n",
        )
        .unwrap();
        let items: Vec<ItemLine> = TextLines::open(&path)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            items,
            vec![
                ItemLine {
                    id: "1".into(),
                    line: 1,
                    content: Ok("a red fox".into())
                },
                ItemLine {
                    id: "pkg1".into(),
                    line: 3,
                    content: Ok("an editor\nfor text".into())
                },
                ItemLine {
                    id: "pkg2".into(),
                    line: 4,
                    content: Err("empty text".into())
                },
            ]
        );
    }

    #[test]
    fn path_lines_and_image_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        for f in ["b.PNG", "sub/a.jpg", "notes.txt"] {
            std::fs::write(dir.path().join(f), b"x").unwrap();
        }
        let files = image_files(dir.path()).unwrap();
        let ids: Vec<&str> = files.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["b.PNG", "sub/a.jpg"]);
        let list = dir.path().join("list.txt");
        std::fs::write(&list, "sub/a.jpg\n/abs/c.png\n").unwrap();
        let items: Vec<ItemLine> = PathLines::open(&list)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(items[0].id, "sub/a.jpg");
        assert_eq!(
            items[0].content,
            Ok(dir.path().join("sub/a.jpg").to_string_lossy().into_owned())
        );
        assert_eq!(items[1].content, Ok("/abs/c.png".into()));
        assert!(TextLines::open(&dir.path().join("missing")).is_err());
    }
}
