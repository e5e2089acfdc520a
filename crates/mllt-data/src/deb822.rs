//! A parser of deb822 control files: Debian's `Packages`, `Translation-en` and `Release` indices.
//!
//! A file is a sequence of paragraphs separated by blank lines (lines that are empty or all white space).
//! A paragraph is a sequence of fields `Name: value`; a line that starts with a space or a tab continues the
//! field above it. Field names are matched case-insensitively, as deb822 prescribes.
//!
//! A field's value is its first line (trimmed), then one `\n`-separated line per continuation line with the
//! single leading space or tab removed: the ` .` paragraph separator of a long description becomes a `.` line
//! (see [`long_description`]). Every error names the file and the line.

use std::path::Path;

use mllt_core::Error;

/// One field: its name as written, its value and the line it starts on (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub value: String,
    pub line: usize,
}

/// One paragraph: its fields in file order and the line it starts on (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paragraph {
    /// Line number of the first field.
    pub line: usize,
    /// The fields in file order.
    pub fields: Vec<Field>,
}

impl Paragraph {
    /// Field `name` (case-insensitive), if present.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// The value of field `name` (case-insensitive), if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.field(name).map(|f| f.value.as_str())
    }
}

fn parse_error(path: &Path, line: usize, message: impl Into<String>) -> Error {
    Error::Parse {
        path: path.into(),
        line,
        message: message.into(),
    }
}

/// Parses the deb822 text of `path` (the path is used only in messages).
///
/// Errors: a line that is neither `Name: value` nor a continuation, a continuation line that starts a
/// paragraph, an empty or malformed field name, and a field repeated within a paragraph.
pub fn parse(text: &str, path: &Path) -> Result<Vec<Paragraph>, Error> {
    parse_from_line(text, path, 1)
}

/// [`parse`] of text whose first line is line `first_line` of `path`.
fn parse_from_line(text: &str, path: &Path, first_line: usize) -> Result<Vec<Paragraph>, Error> {
    let mut paragraphs = Vec::new();
    let mut current: Option<Paragraph> = None;
    for (i, raw) in text.lines().enumerate() {
        let lineno = i + first_line;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            paragraphs.extend(current.take());
            continue;
        }
        if let Some(rest) = line.strip_prefix([' ', '\t']) {
            let Some(field) = current.as_mut().and_then(|p| p.fields.last_mut()) else {
                return Err(parse_error(
                    path,
                    lineno,
                    "continuation line (starting with white space) outside a field",
                ));
            };
            field.value.push('\n');
            field.value.push_str(rest.trim_end());
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(parse_error(
                path,
                lineno,
                "expected `Field: value` or a continuation line starting with a space (no colon found)",
            ));
        };
        if name.is_empty()
            || !name.bytes().all(|b| b.is_ascii_graphic() && b != b':')
            || name.starts_with('#')
        {
            return Err(parse_error(
                path,
                lineno,
                format!("malformed field name `{name}`"),
            ));
        }
        let paragraph = current.get_or_insert_with(|| Paragraph {
            line: lineno,
            fields: Vec::new(),
        });
        if let Some(first) = paragraph.field(name) {
            return Err(parse_error(
                path,
                lineno,
                format!("field `{name}` repeated (first on line {})", first.line),
            ));
        }
        paragraph.fields.push(Field {
            name: name.to_string(),
            value: value.trim().to_string(),
            line: lineno,
        });
    }
    paragraphs.extend(current);
    Ok(paragraphs)
}

/// The text of a description field (`Description`, `Description-en`): the synopsis line, then the long
/// description with its ` .` paragraph separators turned into empty lines, one output line per input line.
pub fn long_description(value: &str) -> String {
    value
        .split('\n')
        .map(|l| if l == "." { "" } else { l })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Parses a `Release` or `InRelease` file: the PGP armour of an `InRelease` (the header with its hash lines,
/// and the signature) is skipped; line numbers in errors are those of the file.
pub fn parse_release(text: &str, path: &Path) -> Result<Vec<Paragraph>, Error> {
    const BEGIN: &str = "-----BEGIN PGP SIGNED MESSAGE-----";
    const SIGNATURE: &str = "-----BEGIN PGP SIGNATURE-----";
    let Some(start) = text.find(BEGIN) else {
        return parse(text, path);
    };
    // The armour headers (`Hash: SHA256`) end at the first blank line.
    let headers_end = text[start..]
        .find("\n\n")
        .map_or(text.len(), |blank| start + blank + 2);
    let body = &text[headers_end..];
    let body = body.find(SIGNATURE).map_or(body, |end| &body[..end]);
    let first_line = text[..headers_end].matches('\n').count() + 1;
    parse_from_line(body, path, first_line)
}

/// An index file listed in the `SHA256` field of a `Release` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    /// Path relative to the distribution folder, e.g. `main/binary-amd64/Packages`.
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

/// The `SHA256` entries (`hash size path` lines) of a `Release` paragraph; malformed lines are errors.
pub fn sha256_entries(release: &Paragraph, path: &Path) -> Result<Vec<IndexEntry>, Error> {
    let Some(field) = release.field("SHA256") else {
        return Ok(Vec::new());
    };
    field
        .value
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(
            |(i, l)| match l.split_whitespace().collect::<Vec<_>>()[..] {
                [hash, size, file] => match size.parse() {
                    Ok(size) => Ok(IndexEntry {
                        path: file.to_string(),
                        size,
                        sha256: hash.to_string(),
                    }),
                    Err(_) => Err(parse_error(
                        path,
                        field.line + i,
                        format!("bad size `{size}`"),
                    )),
                },
                _ => Err(parse_error(
                    path,
                    field.line + i,
                    "expected `sha256 size path` in the SHA256 field",
                )),
            },
        )
        .collect()
}

/// The entry of `entries` that a downloaded index file of `size` bytes named `file_name` is: apt names a list
/// file after its URL (`..._dists_bookworm_main_binary-amd64_Packages` for `main/binary-amd64/Packages`), so the
/// entry whose path, with `/` written `_`, ends the name; otherwise the entry with the same base name and size.
pub fn find_index<'a>(
    entries: &'a [IndexEntry],
    file_name: &str,
    size: u64,
) -> Option<&'a IndexEntry> {
    let by_path = entries.iter().find(|e| {
        let flat = e.path.replace('/', "_");
        file_name == flat || file_name.ends_with(&format!("_{flat}"))
    });
    by_path.or_else(|| {
        entries
            .iter()
            .find(|e| e.size == size && e.path.rsplit('/').next() == Some(file_name))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_continuations_and_paragraphs() {
        let text = "Package: a\nTag: x::y,\n z::w\n\n  \t\nPackage: b\r\ndescription: short\n long one\n .\n  verbatim\n";
        let ps = parse(text, Path::new("P")).unwrap();
        assert_eq!(ps.len(), 2);
        assert_eq!(ps[0].line, 1);
        assert_eq!(ps[0].get("tag"), Some("x::y,\nz::w"));
        assert_eq!(ps[1].line, 6);
        assert_eq!(ps[1].get("Package"), Some("b"));
        let d = ps[1].get("Description").unwrap();
        assert_eq!(d, "short\nlong one\n.\n verbatim");
        assert_eq!(long_description(d), "short\nlong one\n\n verbatim");
        assert_eq!(ps[0].field("TAG").unwrap().line, 2);
    }

    #[test]
    fn malformed_lines_name_file_and_line() {
        let err = parse("Package: a\nno colon here\n", Path::new("Packages")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("Packages:2: expected `Field: value`"),
            "{err}"
        );
        let err = parse("Package: a\n\n continued\n", Path::new("P")).unwrap_err();
        assert!(
            err.to_string().starts_with("P:3: continuation line"),
            "{err}"
        );
        let err = parse("Package: a\npackage: b\n", Path::new("P")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "P:2: field `package` repeated (first on line 1)"
        );
        let err = parse(": x\n", Path::new("P")).unwrap_err();
        assert_eq!(err.to_string(), "P:1: malformed field name ``");
    }

    #[test]
    fn release_sha256_entries() {
        let text = "Date: d\nSHA256:\n abc 12 main/binary-amd64/Packages\n def 7 main/i18n/Translation-en\n";
        let ps = parse(text, Path::new("R")).unwrap();
        let entries = sha256_entries(&ps[0], Path::new("R")).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(
            entries[1],
            IndexEntry {
                path: "main/i18n/Translation-en".into(),
                size: 7,
                sha256: "def".into()
            }
        );
        let apt_name = "deb.debian.org_debian_dists_bookworm_main_i18n_Translation-en";
        assert_eq!(find_index(&entries, apt_name, 0).unwrap().sha256, "def");
        assert_eq!(find_index(&entries, "Packages", 12).unwrap().sha256, "abc");
        assert_eq!(find_index(&entries, "Packages", 13), None);
        let bad = parse(&text.replace(" 7 ", " x "), Path::new("R")).unwrap();
        let err = sha256_entries(&bad[0], Path::new("R")).unwrap_err();
        assert_eq!(err.to_string(), "R:4: bad size `x`");
    }

    #[test]
    fn release_armour_is_skipped_and_lines_kept() {
        let signed = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nOrigin: Debian\nDate: Sat\n-----BEGIN PGP SIGNATURE-----\nxyz\n";
        let ps = parse_release(signed, Path::new("R")).unwrap();
        assert_eq!(ps.len(), 1);
        assert_eq!(ps[0].get("Date"), Some("Sat"));
        assert_eq!(ps[0].line, 4);
        let plain = parse_release("Origin: x\n", Path::new("R")).unwrap();
        assert_eq!(plain[0].get("origin"), Some("x"));
        let err = parse_release(&signed.replace("Date: Sat", "bad"), Path::new("R")).unwrap_err();
        assert!(err.to_string().starts_with("R:5: "), "{err}");
    }
}
