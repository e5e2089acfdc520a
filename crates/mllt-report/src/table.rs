//! A plain-text table with aligned columns: the first column left-aligned, the others right-aligned.

use std::fmt;

/// A table of strings with a header row.
#[derive(Debug, Clone, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column titles.
    pub fn new<S: Into<String>>(header: impl IntoIterator<Item = S>) -> Self {
        Table {
            header: header.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row (missing cells print empty).
    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) -> &mut Self {
        self.rows.push(cells.into_iter().map(Into::into).collect());
        self
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cols = self
            .rows
            .iter()
            .map(Vec::len)
            .chain([self.header.len()])
            .max()
            .unwrap_or(0);
        let cell = |r: &Vec<String>, c: usize| r.get(c).map_or("", String::as_str).chars().count();
        let widths: Vec<usize> = (0..cols)
            .map(|c| {
                self.rows
                    .iter()
                    .chain([&self.header])
                    .map(|r| cell(r, c))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |f: &mut fmt::Formatter<'_>, r: &Vec<String>| -> fmt::Result {
            for (c, w) in widths.iter().enumerate() {
                let s = r.get(c).map_or("", String::as_str);
                if c == 0 {
                    write!(f, "{s:<w$}")?;
                } else {
                    write!(f, "  {s:>w$}")?;
                }
            }
            writeln!(f)
        };
        line(f, &self.header)?;
        writeln!(
            f,
            "{}",
            "-".repeat(widths.iter().sum::<usize>() + 2 * cols.saturating_sub(1))
        )?;
        self.rows.iter().try_for_each(|r| line(f, r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_columns() {
        let mut t = Table::new(["class", "n"]);
        t.row(["person", "775"]).row(["cow", "4"]);
        assert_eq!(
            t.to_string(),
            "class     n\n-----------\nperson  775\ncow       4\n"
        );
    }
}
