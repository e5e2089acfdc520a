//! Writing a score matrix to `.npy` row by row (`mllt predict --scores`), when the number of rows is known
//! only at the end: NumPy format 1.0, little-endian `f4`, C order. The header is first written with room for
//! any shape and rewritten in place, with the final row count, by [`NpyRowWriter::finish`]; the file appears
//! at its path only then ([`AtomicFile`]).

use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::atomic::AtomicFile;
use crate::error::{Error, Result};
use crate::npy::MAGIC;

/// Magic, version, header length and padded dictionary: a multiple of 64 bytes, room for two 20-digit sizes.
const HEADER_BYTES: usize = 128;

/// A `.npy` file of `f32` rows of a fixed width, written as they come.
pub struct NpyRowWriter {
    path: PathBuf,
    file: AtomicFile,
    cols: usize,
    rows: usize,
}

/// The header of a `rows × cols` `<f4` C-order array, [`HEADER_BYTES`] long.
fn header(rows: usize, cols: usize) -> Vec<u8> {
    let dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    let mut out = Vec::with_capacity(HEADER_BYTES);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&((HEADER_BYTES - 10) as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.resize(HEADER_BYTES - 1, b' ');
    out.push(b'\n');
    out
}

impl NpyRowWriter {
    /// Starts a matrix of `cols` columns at `path`.
    pub fn create(path: &Path, cols: usize) -> Result<Self> {
        let mut file = AtomicFile::create(path)?;
        file.write_all(&header(0, cols))
            .map_err(|e| Error::io(path, e))?;
        Ok(NpyRowWriter {
            path: path.into(),
            file,
            cols,
            rows: 0,
        })
    }

    /// Appends rows: `values` holds whole rows, row-major.
    pub fn write_rows(&mut self, values: &[f32]) -> Result<()> {
        if self.cols == 0 || !values.len().is_multiple_of(self.cols) {
            return Err(Error::Invalid(format!(
                "{}: {} values are not whole rows of {}",
                self.path.display(),
                values.len(),
                self.cols
            )));
        }
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.file
            .write_all(&bytes)
            .map_err(|e| Error::io(&self.path, e))?;
        self.rows += values.len() / self.cols;
        Ok(())
    }

    /// Writes the final shape into the header and moves the file to its path.
    pub fn finish(mut self) -> Result<()> {
        let header = header(self.rows, self.cols);
        let file = self.file.file();
        file.seek(SeekFrom::Start(0))
            .and_then(|_| file.write_all(&header))
            .map_err(|e| Error::io(&self.path, e))?;
        self.file.commit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_written_in_pieces_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.npy");
        let mut w = NpyRowWriter::create(&path, 3).unwrap();
        w.write_rows(&[1.0, 2.0, 3.0]).unwrap();
        w.write_rows(&[4.0, 5.0, 6.0, -1.5, 0.0, 1e30]).unwrap();
        assert!(w.write_rows(&[1.0]).is_err());
        assert!(!path.exists(), "the file appears only when finished");
        w.finish().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len(), HEADER_BYTES + 9 * 4);
        let m = crate::npy::read_matrix::<f32>(&bytes, &path).unwrap();
        assert_eq!((m.rows, m.cols), (3, 3));
        assert_eq!(m.values, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, -1.5, 0.0, 1e30]);
        let widest = header(usize::MAX, usize::MAX);
        assert_eq!(widest.len(), HEADER_BYTES);
        let text = String::from_utf8_lossy(&widest[10..]).into_owned();
        assert!(
            text.contains(&format!("({}, {}), }}", usize::MAX, usize::MAX)),
            "{text}"
        );
    }
}
