//! Dense matrix products on host memory: the `gemm` crate (burn-flex's own) behind a bounds-checked call.

/// Below this many multiply-adds a GEMM runs on the calling thread (burn-flex's threshold).
const PARALLEL_WORK: usize = 192 * 192 * 192;

/// `dst = lhs · rhs` (+ `dst` when `accumulate`), with element `(i, j)` of a matrix at
/// `i · row_stride + j · col_stride`; split over the threads when `split` and the product is large.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm(
    [m, n, k]: [usize; 3],
    dst: &mut [f32],
    [dst_rs, dst_cs]: [usize; 2],
    accumulate: bool,
    lhs: &[f32],
    [lhs_rs, lhs_cs]: [usize; 2],
    rhs: &[f32],
    [rhs_rs, rhs_cs]: [usize; 2],
    split: bool,
) {
    let reach = |rows: usize, cols: usize, rs: usize, cs: usize| (rows - 1) * rs + (cols - 1) * cs;
    if m == 0 || n == 0 {
        return;
    }
    assert!(
        reach(m, n, dst_rs, dst_cs) < dst.len(),
        "gemm: destination too short"
    );
    if k == 0 {
        if !accumulate {
            dst.fill(0.0);
        }
        return;
    }
    assert!(
        reach(m, k, lhs_rs, lhs_cs) < lhs.len(),
        "gemm: left operand too short"
    );
    assert!(
        reach(k, n, rhs_rs, rhs_cs) < rhs.len(),
        "gemm: right operand too short"
    );
    let parallelism = if split && m * n * k >= PARALLEL_WORK {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: the asserts above keep every element the strides address inside its slice; `dst` is
    // borrowed mutably, so it cannot alias the operands.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            dst_cs as isize,
            dst_rs as isize,
            accumulate,
            lhs.as_ptr(),
            lhs_cs as isize,
            lhs_rs as isize,
            rhs.as_ptr(),
            rhs_cs as isize,
            rhs_rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}
