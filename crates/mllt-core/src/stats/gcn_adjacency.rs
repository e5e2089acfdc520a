//! ML-GCN's label graph (Chen et al., *Multi-Label Image Recognition with Graph Convolutional Networks*, CVPR
//! 2019, Sec. 3.4), the baseline of the paper's Table 1, built from the training labels as the paper does
//! ("adjacent matrix generated from the long-tailed versions of datasets").
//!
//! As ML-GCN's code computes it (`gen_A`, `gen_adj`):
//! 1. P_ij = n_{i∩j} / n_i for i ≠ j, the probability of j given i (the diagonal is left out: the identity of
//!    step 3 is the self-loop);
//! 2. binarised at τ: A_ij = 1 where P_ij ≥ τ, else 0 (τ = 0.4);
//! 3. re-weighted: every column j scaled by p / (Σ_i A_ij + 10⁻⁶) (p = 0.25), then the identity added. The
//!    ML-GCN paper's Eq. 8 normalises rows and puts 1 − p on the diagonal; the code, which produced its
//!    numbers, normalises columns and puts 1 there;
//! 4. normalised for the graph convolution: Â = D^{-1/2} Aᵀ D^{-1/2}, D the diagonal of A's row sums.

use super::Cooccurrence;

/// ML-GCN's threshold τ and re-weighting p.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GcnGraph {
    pub tau: f64,
    pub p: f64,
}

impl Default for GcnGraph {
    /// ML-GCN's τ = 0.4 and p = 0.25.
    fn default() -> Self {
        GcnGraph { tau: 0.4, p: 0.25 }
    }
}

impl GcnGraph {
    /// Steps 1–3: the re-weighted binary correlation matrix with self-loops, C × C.
    pub fn correlation(&self, co: &Cooccurrence) -> Vec<Vec<f64>> {
        let c = co.num_classes();
        let binary: Vec<Vec<f64>> = (0..c)
            .map(|i| {
                (0..c)
                    .map(|j| {
                        let n_i = co.class_count(i);
                        let p_ij = if i == j || n_i == 0 {
                            0.0
                        } else {
                            co.count(i, j) as f64 / n_i as f64
                        };
                        if p_ij >= self.tau { 1.0 } else { 0.0 }
                    })
                    .collect()
            })
            .collect();
        let column_sums: Vec<f64> = (0..c)
            .map(|j| binary.iter().map(|row| row[j]).sum())
            .collect();
        binary
            .iter()
            .enumerate()
            .map(|(i, row)| {
                row.iter()
                    .enumerate()
                    .map(|(j, &a)| {
                        let scaled = a * self.p / (column_sums[j] + 1e-6);
                        scaled + if i == j { 1.0 } else { 0.0 }
                    })
                    .collect()
            })
            .collect()
    }

    /// Step 4: the normalised adjacency Â = D^{-1/2} Aᵀ D^{-1/2} of the graph convolution.
    pub fn adjacency(&self, co: &Cooccurrence) -> Vec<Vec<f64>> {
        let a = self.correlation(co);
        let inv_sqrt: Vec<f64> = a
            .iter()
            .map(|row| row.iter().sum::<f64>().powf(-0.5))
            .collect();
        (0..a.len())
            .map(|i| {
                (0..a.len())
                    .map(|j| inv_sqrt[i] * a[j][i] * inv_sqrt[j])
                    .collect()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::LabelSet;

    #[test]
    fn three_classes_by_hand() {
        // Items {0,1}, {0,1}, {0}, {1,2}, {2}: n = (3, 3, 2), n_01 = 2, n_12 = 1, n_02 = 0.
        // P_01 = 2/3, P_10 = 2/3, P_12 = 1/3 (< τ), P_21 = 1/2: A_01 = A_10 = A_21 = 1.
        // Column sums: col 0 = 1, col 1 = 2, col 2 = 0, so A_01 = 0.25/2, A_10 = 0.25/1, A_21 = 0.25/2
        // (up to the 1e-6), plus the identity.
        let labels = LabelSet::new(
            (0..5).map(|k| k.to_string()).collect(),
            vec!["a".into(), "b".into(), "c".into()],
            vec![vec![0, 1], vec![0, 1], vec![0], vec![1, 2], vec![2]],
        )
        .unwrap();
        let co = Cooccurrence::new(&labels);
        let graph = GcnGraph::default();
        let a = graph.correlation(&co);
        let want = [[1.0, 0.125, 0.0], [0.25, 1.0, 0.0], [0.0, 0.125, 1.0]];
        for i in 0..3 {
            for j in 0..3 {
                assert!(
                    (a[i][j] - want[i][j]).abs() < 1e-6,
                    "A[{i}][{j}] = {}",
                    a[i][j]
                );
            }
        }
        // Row sums 1.125, 1.25, 1.125; Â_ij = A_ji / √(r_i r_j).
        let adj = graph.adjacency(&co);
        let r: [f64; 3] = [1.125, 1.25, 1.125];
        for i in 0..3 {
            for j in 0..3 {
                let want = want[j][i] / (r[i] * r[j]).sqrt();
                assert!(
                    (adj[i][j] - want).abs() < 1e-6,
                    "Â[{i}][{j}] = {} vs {want}",
                    adj[i][j]
                );
            }
        }
        assert!((adj[0][1] - 0.25 / 1.40625f64.sqrt()).abs() < 1e-6);
        // τ = 0.3 lets P_12 = 1/3 through.
        let loose = GcnGraph { tau: 0.3, p: 0.25 }.correlation(&co);
        assert!(loose[1][2] > 0.2);
    }
}
