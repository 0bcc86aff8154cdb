//! L2-regularised logistic loss on a CSR matrix, for the trust-region Newton optimiser.
//!
//! f(w, b) = ½‖w‖² + Σᵢ cᵢ · log(1 + exp(−yᵢ (xᵢ·w + b)))
//!
//! with yᵢ ∈ {−1, +1}, cᵢ = C × class weight × sample weight, and the bias b not regularised.
//! The variable vector is `[w₀ … w_{d−1}, b]`.
//!
//! Each function, gradient or Hessian-vector product is one pass over the rows, in parallel over
//! fixed row blocks (from the data, not the thread count); per-block partial sums and per-block
//! column accumulators are combined in block order. So the model is bit-identical on 1 or 64
//! threads.

use super::tron::Objective;
use crate::sparse::CsrMatrix;
use rayon::prelude::*;
use std::ops::Range;

/// Non-zeros per block: big enough that per-block accumulators stay a small cost.
const NNZ_PER_BLOCK: usize = 1 << 20;

pub struct Logistic<'a> {
    x: &'a CsrMatrix,
    rows: &'a [u32],
    y: Vec<f64>,
    cost: Vec<f64>,
    blocks: Vec<Range<usize>>,
    z: Vec<f64>,
    d: Vec<f64>,
    acc: Vec<Vec<f64>>,
    acc2: Vec<Vec<f64>>,
}

#[inline]
fn row_dot(idx: &[u32], val: &[f32], w: &[f64]) -> f64 {
    let mut s = 0.0;
    for (&j, &v) in idx.iter().zip(val) {
        s += v as f64 * w[j as usize];
    }
    s
}

/// log(1 + exp(−m)) without overflow.
#[inline]
pub fn log1p_exp_neg(m: f64) -> f64 {
    if m >= 0.0 {
        (-m).exp().ln_1p()
    } else {
        -m + m.exp().ln_1p()
    }
}

#[inline]
pub fn sigmoid(m: f64) -> f64 {
    1.0 / (1.0 + (-m).exp())
}

/// Split `v` into the mutable slices of `blocks` (which tile `0..v.len()` in order).
fn split_blocks<'v, T>(mut v: &'v mut [T], blocks: &[Range<usize>]) -> Vec<&'v mut [T]> {
    let mut out = Vec::with_capacity(blocks.len());
    for b in blocks {
        let (head, tail) = std::mem::take(&mut v).split_at_mut(b.len());
        out.push(head);
        v = tail;
    }
    out
}

impl<'a> Logistic<'a> {
    /// `rows` selects (and orders) the training rows of `x`; `positive[k]` and `cost[k]` belong to
    /// `rows[k]`.
    pub fn new(x: &'a CsrMatrix, rows: &'a [u32], positive: &[bool], cost: Vec<f64>) -> Self {
        assert_eq!(rows.len(), positive.len());
        assert_eq!(rows.len(), cost.len());
        // Blocks over positions in `rows`, balanced by non-zeros.
        let mut blocks = Vec::new();
        let total: usize = rows.iter().map(|&i| x.row(i as usize).0.len()).sum();
        let wanted = total.div_ceil(NNZ_PER_BLOCK).clamp(2, 16);
        let per = total.div_ceil(wanted).max(1);
        let (mut start, mut filled) = (0, 0);
        for (k, &i) in rows.iter().enumerate() {
            filled += x.row(i as usize).0.len();
            if filled >= per {
                blocks.push(start..k + 1);
                start = k + 1;
                filled = 0;
            }
        }
        if start < rows.len() {
            blocks.push(start..rows.len());
        }
        let ncols = x.ncols();
        Logistic {
            x,
            rows,
            y: positive.iter().map(|&p| if p { 1.0 } else { -1.0 }).collect(),
            cost,
            z: vec![0.0; rows.len()],
            d: vec![0.0; rows.len()],
            acc: vec![vec![0.0; ncols]; blocks.len()],
            acc2: vec![vec![0.0; ncols]; blocks.len()],
            blocks,
        }
    }

    fn ncols(&self) -> usize {
        self.x.ncols()
    }

    /// out[j] = base(j) + Σ_blocks acc[block][j], in parallel over columns, blocks in order.
    fn reduce_into(acc: &[Vec<f64>], out: &mut [f64], base: impl Fn(usize) -> f64 + Sync) {
        out.par_chunks_mut(8192).enumerate().for_each(|(c, chunk)| {
            let off = c * 8192;
            for (k, o) in chunk.iter_mut().enumerate() {
                let j = off + k;
                let mut s = base(j);
                for a in acc {
                    s += a[j];
                }
                *o = s;
            }
        });
    }
}

impl Objective for Logistic<'_> {
    fn dim(&self) -> usize {
        self.ncols() + 1
    }

    fn fun(&mut self, w: &[f64]) -> f64 {
        let (wv, b) = w.split_at(self.ncols());
        let b = b[0];
        let (x, rows, y, cost) = (self.x, self.rows, &self.y, &self.cost);
        let z = split_blocks(&mut self.z, &self.blocks);
        let partial: Vec<f64> = z
            .into_par_iter()
            .zip(self.blocks.par_iter())
            .map(|(z, block)| {
                let mut loss = 0.0;
                for (zk, k) in z.iter_mut().zip(block.clone()) {
                    let (idx, val) = x.row(rows[k] as usize);
                    *zk = row_dot(idx, val, wv) + b;
                    loss += cost[k] * log1p_exp_neg(y[k] * *zk);
                }
                loss
            })
            .collect();
        0.5 * wv.iter().map(|v| v * v).sum::<f64>() + partial.iter().sum::<f64>()
    }

    fn grad(&mut self, w: &[f64], g: &mut [f64], diag: &mut [f64]) {
        let n = self.ncols();
        let (x, rows, y, cost, zs) = (self.x, self.rows, &self.y, &self.cost, &self.z);
        let d = split_blocks(&mut self.d, &self.blocks);
        let partial: Vec<(f64, f64)> = d
            .into_par_iter()
            .zip(self.blocks.par_iter())
            .zip(self.acc.par_iter_mut().zip(self.acc2.par_iter_mut()))
            .map(|((d, block), (acc, acc2))| {
                acc.fill(0.0);
                acc2.fill(0.0);
                let (mut gb, mut hb) = (0.0, 0.0);
                for (dk, k) in d.iter_mut().zip(block.clone()) {
                    let s = sigmoid(y[k] * zs[k]);
                    let coef = cost[k] * (s - 1.0) * y[k];
                    *dk = cost[k] * s * (1.0 - s);
                    gb += coef;
                    hb += *dk;
                    let (idx, val) = x.row(rows[k] as usize);
                    for (&j, &v) in idx.iter().zip(val) {
                        let v = v as f64;
                        acc[j as usize] += coef * v;
                        acc2[j as usize] += *dk * v * v;
                    }
                }
                (gb, hb)
            })
            .collect();
        Self::reduce_into(&self.acc, &mut g[..n], |j| w[j]);
        Self::reduce_into(&self.acc2, &mut diag[..n], |_| 1.0);
        g[n] = partial.iter().map(|p| p.0).sum();
        let hb: f64 = partial.iter().map(|p| p.1).sum();
        diag[n] = if hb > 0.0 { hb } else { 1.0 };
    }

    fn hv(&mut self, v: &[f64], out: &mut [f64]) {
        let n = self.ncols();
        let (vw, vb) = (&v[..n], v[n]);
        let (x, rows, d) = (self.x, self.rows, &self.d);
        let partial: Vec<f64> = self
            .blocks
            .par_iter()
            .zip(self.acc.par_iter_mut())
            .map(|(block, acc)| {
                acc.fill(0.0);
                let mut ub = 0.0;
                for k in block.clone() {
                    let (idx, val) = x.row(rows[k] as usize);
                    let u = d[k] * (row_dot(idx, val, vw) + vb);
                    ub += u;
                    for (&j, &xv) in idx.iter().zip(val) {
                        acc[j as usize] += u * xv as f64;
                    }
                }
                ub
            })
            .collect();
        Self::reduce_into(&self.acc, &mut out[..n], |j| vw[j]);
        out[n] = partial.iter().sum();
    }
}

/// Decision values xᵢ·w + b for `rows` of `x`, in parallel, in order.
pub fn margins(x: &CsrMatrix, rows: &[u32], w: &[f32], b: f32) -> Vec<f64> {
    rows.par_iter()
        .with_min_len(1024)
        .map(|&i| {
            let (idx, val) = x.row(i as usize);
            idx.iter().zip(val).map(|(&j, &v)| v as f64 * w[j as usize] as f64).sum::<f64>() + b as f64
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The analytic gradient and Hessian-vector product agree with finite differences.
    #[test]
    fn derivatives_match_finite_differences() {
        let mut x = CsrMatrix::new(4);
        x.push_row(&[0, 2], &[1.0, 0.5]);
        x.push_row(&[1, 3], &[0.3, -1.0]);
        x.push_row(&[0, 1, 2], &[0.2, 0.2, 0.9]);
        x.push_row(&[3], &[2.0]);
        let rows = [0u32, 1, 2, 3];
        let pos = [true, false, true, false];
        let mut obj = Logistic::new(&x, &rows, &pos, vec![1.5, 0.5, 2.0, 1.0]);
        let w = [0.3, -0.2, 0.1, 0.4, 0.05];
        let (mut g, mut diag) = (vec![0.0; 5], vec![0.0; 5]);
        obj.fun(&w);
        obj.grad(&w, &mut g, &mut diag);
        let h = 1e-6;
        for j in 0..5 {
            let mut wp = w;
            wp[j] += h;
            let mut wm = w;
            wm[j] -= h;
            let num = (obj.fun(&wp) - obj.fun(&wm)) / (2.0 * h);
            assert!((num - g[j]).abs() < 1e-6, "gradient {j}: {num} vs {}", g[j]);
        }
        // Hv against finite differences of the gradient.
        obj.fun(&w);
        obj.grad(&w, &mut g, &mut diag);
        let v = [0.1, 0.2, -0.3, 0.4, 0.5];
        let mut hv = vec![0.0; 5];
        obj.hv(&v, &mut hv);
        let wp: Vec<f64> = w.iter().zip(&v).map(|(a, b)| a + h * b).collect();
        let (mut gp, mut dp) = (vec![0.0; 5], vec![0.0; 5]);
        obj.fun(&wp);
        obj.grad(&wp, &mut gp, &mut dp);
        for j in 0..5 {
            let num = (gp[j] - g[j]) / h;
            assert!((num - hv[j]).abs() < 1e-4, "Hv {j}: {num} vs {}", hv[j]);
        }
    }
}
