//! 2-D NumPy `.npy` matrices (scores, features), read with the `ndarray-npy` crate.
//!
//! Supported: format versions 1.0, 2.0 and 3.0; `float32` or `float64` elements (`descr` `'<f4'`, `'>f4'`,
//! `'<f8'` or `'>f8'`), little- or big-endian; C or Fortran order. The matrix comes back row-major whatever the
//! file's order.
//!
//! The sizes in a header are checked against the file before anything is allocated: the header may be at most
//! [`MAX_HEADER_LEN`] bytes (NumPy's own limit), and the data must be exactly rows × cols elements.

use std::path::Path;

use ndarray_npy::ReadableElement;
use ndarray_npy::npy::header::{Header, Layout};
use py_literal::Value as PyValue;

use crate::error::{Error, Result};

/// The magic string that starts every `.npy` file.
pub const MAGIC: &[u8] = b"\x93NUMPY";

/// The longest header read, in bytes: NumPy's `max_header_size` default (`np.load` refuses longer ones).
pub const MAX_HEADER_LEN: usize = 10_000;

/// The deepest bracket nesting read in a header. A float matrix's header nests 2 deep (`{... (rows, cols)}`);
/// the crate's Python-literal parser backtracks exponentially in the depth, so deeper headers are refused first.
const MAX_HEADER_DEPTH: usize = 4;

/// A dense matrix read from a `.npy` file, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyMatrix<T = f32> {
    /// Number of rows (the first axis).
    pub rows: usize,
    /// Number of columns (the second axis).
    pub cols: usize,
    /// The `rows × cols` values, row after row.
    pub values: Vec<T>,
}

/// An element type a matrix can be read into: `f32` or `f64`. Either file type converts to either (`f64` → `f32`
/// rounds to nearest).
pub trait NpyFloat: Copy + sealed::Sealed {
    /// The value of a `float32` element.
    fn from_f32(v: f32) -> Self;
    /// The value of a `float64` element.
    fn from_f64(v: f64) -> Self;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

impl NpyFloat for f32 {
    fn from_f32(v: f32) -> Self {
        v
    }
    fn from_f64(v: f64) -> Self {
        v as f32
    }
}

impl NpyFloat for f64 {
    fn from_f32(v: f32) -> Self {
        f64::from(v)
    }
    fn from_f64(v: f64) -> Self {
        v
    }
}

/// Reads the bytes of a 2-D float `.npy` file; `path` is only used in messages, which are one line:
/// `PATH: npy ...`.
pub fn read_matrix<T: NpyFloat>(bytes: &[u8], path: &Path) -> Result<NpyMatrix<T>> {
    // The crate's parse errors can span lines (they quote the header); a message here is one line.
    let fail = |message: String| Error::Format {
        path: path.into(),
        message: format!(
            "npy {}",
            message.lines().map(str::trim).collect::<Vec<_>>().join(" ")
        ),
    };
    check_header_len(bytes).map_err(|m| fail(format!("header: {m}")))?;
    let mut data = bytes;
    let header = Header::from_reader(&mut data).map_err(|e| fail(format!("header: {e}")))?;
    let &[rows, cols] = header.shape.as_slice() else {
        return Err(fail(format!(
            "shape {:?}: a {}-D array, expected 2-D",
            header.shape,
            header.shape.len()
        )));
    };
    let descr = match &header.type_descriptor {
        PyValue::String(s) => s.as_str(),
        _ => "",
    };
    let size = match descr {
        "<f4" | ">f4" => 4,
        "<f8" | ">f8" => 8,
        _ => {
            return Err(fail(format!(
                "dtype {}: expected float32 or float64 ('<f4', '<f8', '>f4' or '>f8')",
                header.type_descriptor
            )));
        }
    };
    let len = rows
        .checked_mul(cols)
        .filter(|n| n.checked_mul(size).is_some())
        .ok_or_else(|| fail(format!("shape ({rows}, {cols}) is too large")))?;
    if data.len() != len * size {
        let what = if data.len() < len * size {
            "truncated"
        } else {
            "trailing bytes"
        };
        return Err(fail(format!(
            "data {what}: shape ({rows}, {cols}) of {descr} needs {} bytes, found {}",
            len * size,
            data.len()
        )));
    }
    let desc = &header.type_descriptor;
    let data_error = |e: ndarray_npy::ReadDataError| fail(format!("data: {e}"));
    let values: Vec<T> = if size == 4 {
        let v = f32::read_to_end_exact_vec(data, desc, len).map_err(data_error)?;
        v.into_iter().map(T::from_f32).collect()
    } else {
        let v = f64::read_to_end_exact_vec(data, desc, len).map_err(data_error)?;
        v.into_iter().map(T::from_f64).collect()
    };
    let values = match header.layout {
        Layout::Standard => values,
        // Element (r, c) is at c · rows + r.
        Layout::Fortran => (0..len)
            .map(|k| values[(k % cols) * rows + k / cols])
            .collect(),
    };
    Ok(NpyMatrix { rows, cols, values })
}

/// Checks that the header length in the preamble (magic, version, length) fits the file and NumPy's limit, so
/// that a forged length allocates nothing. The preamble itself is checked by the header reader.
fn check_header_len(bytes: &[u8]) -> std::result::Result<(), String> {
    let len_size = match bytes.get(MAGIC.len()) {
        Some(1) => 2,
        Some(2 | 3) => 4,
        _ => return Ok(()), // no version, or one the header reader refuses
    };
    let start = MAGIC.len() + 2;
    let Some(len_bytes) = bytes.get(start..start + len_size) else {
        return Ok(());
    };
    let header_len = len_bytes
        .iter()
        .rev()
        .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
    let available = bytes.len() - start - len_size;
    if header_len > MAX_HEADER_LEN {
        Err(format!(
            "the header claims {header_len} bytes, more than NumPy's limit of {MAX_HEADER_LEN}"
        ))
    } else if header_len > available {
        Err(format!(
            "truncated: the header claims {header_len} bytes, the file has {available} after the preamble"
        ))
    } else {
        check_depth(&bytes[start + len_size..start + len_size + header_len])
    }
}

/// Checks that the brackets of a header nest at most [`MAX_HEADER_DEPTH`] deep (quotes are not tracked, so
/// brackets inside strings count: no dtype of a float matrix has any).
fn check_depth(header: &[u8]) -> std::result::Result<(), String> {
    let mut depth = 0usize;
    for &b in header {
        match b {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if depth > MAX_HEADER_DEPTH {
            return Err(format!(
                "brackets nest more than {MAX_HEADER_DEPTH} deep; a float matrix's header nests 2"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An npy file as NumPy writes it: the header padded with spaces to a multiple of 64 bytes, ending in `\n`.
    pub(crate) fn npy_bytes(
        version: u8,
        descr: &str,
        fortran: bool,
        shape: &str,
        data: &[u8],
    ) -> Vec<u8> {
        let dict = format!(
            "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}",
            if fortran { "True" } else { "False" }
        );
        let len_size = if version == 1 { 2 } else { 4 };
        let unpadded = 8 + len_size + dict.len() + 1;
        let padded = unpadded.div_ceil(64) * 64;
        let header = format!("{dict}{}\n", " ".repeat(padded - unpadded));
        let mut out = MAGIC.to_vec();
        out.extend([version, 0]);
        if version == 1 {
            out.extend((header.len() as u16).to_le_bytes());
        } else {
            out.extend((header.len() as u32).to_le_bytes());
        }
        out.extend(header.as_bytes());
        out.extend(data);
        out
    }

    pub(crate) fn f8(values: &[f64]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    fn read(b: &[u8]) -> Result<NpyMatrix> {
        read_matrix(b, Path::new("x.npy"))
    }

    fn err(b: &[u8]) -> String {
        read(b).unwrap_err().to_string()
    }

    #[test]
    fn reads_f4_and_f8_of_both_byte_orders_in_all_versions() {
        for version in [1, 2, 3] {
            let b = npy_bytes(
                version,
                "<f8",
                false,
                "(2, 3)",
                &f8(&[1., 2., 3., 4., 5., 6.]),
            );
            let m = read(&b).unwrap();
            assert_eq!(
                (m.rows, m.cols, m.values),
                (2, 3, vec![1., 2., 3., 4., 5., 6.])
            );
        }
        let be: Vec<u8> = [0.5f32, -1.5]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        let m = read(&npy_bytes(1, ">f4", false, "(1, 2)", &be)).unwrap();
        assert_eq!(m.values, vec![0.5, -1.5]);
        let m64: NpyMatrix<f64> = read_matrix(
            &npy_bytes(1, "<f8", false, "(1, 1)", &f8(&[0.1])),
            Path::new("x"),
        )
        .unwrap();
        assert_eq!(m64.values, vec![0.1]);
        let empty = read(&npy_bytes(1, "<f4", false, "(0, 5)", &[])).unwrap();
        assert_eq!((empty.rows, empty.cols, empty.values.len()), (0, 5, 0));
    }

    #[test]
    fn fortran_order_comes_back_row_major() {
        // The 2 × 3 matrix [[1, 2, 3], [4, 5, 6]] stored column after column.
        let b = npy_bytes(1, "<f8", true, "(2, 3)", &f8(&[1., 4., 2., 5., 3., 6.]));
        let m = read(&b).unwrap();
        assert_eq!((m.rows, m.cols), (2, 3));
        assert_eq!(m.values, vec![1., 2., 3., 4., 5., 6.]);
    }

    #[test]
    fn errors_are_one_line_and_name_the_file() {
        let ok = f8(&[1., 2., 3., 4.]);
        assert_eq!(
            err(&npy_bytes(1, "<f8", false, "(2, 2)", &ok[..20])),
            "x.npy: npy data truncated: shape (2, 2) of <f8 needs 32 bytes, found 20"
        );
        let twice = [ok.clone(), ok.clone()].concat();
        assert!(err(&npy_bytes(1, "<f8", false, "(2, 2)", &twice)).contains("trailing bytes"));
        assert!(err(&npy_bytes(1, "<i8", false, "(2, 2)", &ok)).contains("dtype '<i8'"));
        assert!(err(&npy_bytes(1, "<f8", false, "(4,)", &ok)).contains("1-D array"));
        let huge = npy_bytes(1, "<f8", false, "(9999999999999999999, 2)", &ok);
        assert!(err(&huge).starts_with("x.npy: npy "), "{}", err(&huge));
        let overflow = npy_bytes(1, "<f8", false, "(4294967296, 4294967296)", &ok);
        assert!(err(&overflow).contains("too large"), "{}", err(&overflow));
        let full = npy_bytes(1, "<f8", false, "(2, 2)", &ok);
        for cut in [3, 7, 9, 30] {
            let e = err(&full[..cut]);
            assert!(
                e.starts_with("x.npy: npy header: ") && !e.contains('\n'),
                "{cut}: {e}"
            );
        }
        let mut bad_version = full.clone();
        bad_version[6] = 9;
        assert!(
            err(&bad_version).contains("version"),
            "{}",
            err(&bad_version)
        );
        let mut garbled = full.clone();
        garbled[11] = b'(';
        assert!(!err(&garbled).contains('\n'), "{}", err(&garbled));
    }

    #[test]
    fn deeply_nested_headers_are_errors() {
        for open in ["(", "[", "{'a': "] {
            let dict = format!("{{'descr': {}", open.repeat(1000));
            let mut b = MAGIC.to_vec();
            b.extend([1, 0]);
            b.extend((dict.len() as u16 + 1).to_le_bytes());
            b.extend(dict.as_bytes());
            b.push(b'\n');
            assert!(err(&b).contains("nest more than 4 deep"), "{}", err(&b));
        }
    }

    #[test]
    fn a_forged_header_length_allocates_nothing() {
        let mut b = npy_bytes(2, "<f8", false, "(1, 1)", &f8(&[1.0]));
        b[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(
            err(&b).contains("more than NumPy's limit of 10000"),
            "{}",
            err(&b)
        );
        b[8..12].copy_from_slice(&5000u32.to_le_bytes());
        assert!(
            err(&b).contains("truncated: the header claims 5000 bytes"),
            "{}",
            err(&b)
        );
    }
}
