//! Stage 3: the sparse design matrix. Compressed sparse rows with `u32` column indices and `f32`
//! values; rows are built in parallel and appended in order, so memory stays at one copy of the
//! matrix plus one batch in flight.

use crate::error::{Error, Result};
use rayon::prelude::*;

/// A compressed-sparse-row matrix. Column indices within a row are strictly increasing.
#[derive(Debug, Clone, PartialEq)]
pub struct CsrMatrix {
    ncols: usize,
    indptr: Vec<usize>,
    indices: Vec<u32>,
    data: Vec<f32>,
}

/// One row being built: parallel vectors of column indices and values.
#[derive(Debug, Default)]
pub struct RowBuf {
    pub indices: Vec<u32>,
    pub values: Vec<f32>,
}

impl CsrMatrix {
    /// An empty matrix with `ncols` columns and no rows.
    pub fn new(ncols: usize) -> Self {
        CsrMatrix { ncols, indptr: vec![0], indices: Vec::new(), data: Vec::new() }
    }

    /// Build from raw parts. Errors when the parts are inconsistent: `indptr` not starting at 0,
    /// decreasing or not ending at `indices.len()`, lengths differing, a column out of range or
    /// columns not increasing within a row.
    pub fn from_parts(ncols: usize, indptr: Vec<usize>, indices: Vec<u32>, data: Vec<f32>) -> Result<Self> {
        let bad = |m: &str| Err(Error::InvalidParams(format!("CSR parts: {m}")));
        if indptr.first() != Some(&0) || indptr.last() != Some(&indices.len()) || indices.len() != data.len() {
            return bad("indptr must run from 0 to nnz and indices/data must have nnz entries");
        }
        for w in indptr.windows(2) {
            if w[0] > w[1] {
                return bad("indptr decreases");
            }
            let row = &indices[w[0]..w[1]];
            if row.windows(2).any(|p| p[0] >= p[1]) || row.last().is_some_and(|&c| c as usize >= ncols) {
                return bad("columns must be increasing and below ncols within each row");
            }
        }
        Ok(CsrMatrix { ncols, indptr, indices, data })
    }

    /// A dense row-major matrix as CSR (zeros dropped). For tests and small problems.
    pub fn from_dense(rows: &ndarray::Array2<f64>) -> Self {
        let mut m = CsrMatrix::new(rows.ncols());
        for row in rows.rows() {
            let (idx, val): (Vec<u32>, Vec<f32>) =
                row.iter().enumerate().filter(|(_, v)| **v != 0.0).map(|(j, v)| (j as u32, *v as f32)).unzip();
            m.push_row(&idx, &val);
        }
        m
    }

    pub fn nrows(&self) -> usize {
        self.indptr.len() - 1
    }

    pub fn ncols(&self) -> usize {
        self.ncols
    }

    pub fn nnz(&self) -> usize {
        self.indices.len()
    }

    /// Column indices and values of row `i`.
    #[inline]
    pub fn row(&self, i: usize) -> (&[u32], &[f32]) {
        let (a, b) = (self.indptr[i], self.indptr[i + 1]);
        (&self.indices[a..b], &self.data[a..b])
    }

    /// Append one row. `indices` must be increasing and below `ncols` (checked in debug builds).
    pub fn push_row(&mut self, indices: &[u32], values: &[f32]) {
        debug_assert_eq!(indices.len(), values.len());
        debug_assert!(indices.windows(2).all(|w| w[0] < w[1]));
        debug_assert!(indices.last().is_none_or(|&c| (c as usize) < self.ncols));
        self.indices.extend_from_slice(indices);
        self.data.extend_from_slice(values);
        self.indptr.push(self.indices.len());
    }

    /// Append the rows of `other` (same number of columns) after the rows of `self`.
    pub fn append(&mut self, other: &CsrMatrix) {
        assert_eq!(self.ncols, other.ncols, "appending a matrix with a different number of columns");
        let base = self.indices.len();
        self.indices.extend_from_slice(&other.indices);
        self.data.extend_from_slice(&other.data);
        self.indptr.extend(other.indptr[1..].iter().map(|p| p + base));
    }

    /// Build one row per item of `items` in parallel and append them in order. `make_row` fills a
    /// [`RowBuf`] (increasing columns) using a per-task scratch value made by `init`.
    pub fn extend_par<T, S, I, F>(&mut self, items: &[T], init: I, make_row: F)
    where
        T: Sync,
        I: Fn() -> S + Sync + Send,
        F: Fn(&T, &mut S, &mut RowBuf) + Sync + Send,
    {
        const CHUNK: usize = 512;
        let ncols = self.ncols;
        let pieces: Vec<CsrMatrix> = items
            .par_chunks(CHUNK)
            .map_init(
                || (init(), RowBuf::default()),
                |(scratch, row), chunk| {
                    let mut piece = CsrMatrix::new(ncols);
                    for item in chunk {
                        row.indices.clear();
                        row.values.clear();
                        make_row(item, scratch, row);
                        piece.push_row(&row.indices, &row.values);
                    }
                    piece
                },
            )
            .collect();
        for piece in &pieces {
            self.append(piece);
        }
    }

    /// Number of rows in which each column is non-zero (document frequency), computed in parallel
    /// over fixed row blocks and summed in block order, so the result never depends on threads.
    pub fn column_counts(&self) -> Vec<u32> {
        let blocks = self.row_blocks(1 << 20);
        let partial: Vec<Vec<u32>> = blocks
            .par_iter()
            .map(|r| {
                let mut counts = vec![0u32; self.ncols];
                for &c in &self.indices[self.indptr[r.start]..self.indptr[r.end]] {
                    counts[c as usize] += 1;
                }
                counts
            })
            .collect();
        let mut total = vec![0u32; self.ncols];
        for p in partial {
            for (t, c) in total.iter_mut().zip(p) {
                *t += c;
            }
        }
        total
    }

    /// Split the rows into contiguous blocks of about `nnz_per_block` non-zeros (at most 64
    /// blocks). Depends only on the matrix, never on the thread count: the unit of deterministic
    /// parallel reduction.
    pub fn row_blocks(&self, nnz_per_block: usize) -> Vec<std::ops::Range<usize>> {
        let n = self.nrows();
        let wanted = self.nnz().div_ceil(nnz_per_block.max(1)).clamp(1, 64).min(n.max(1));
        let mut blocks = Vec::with_capacity(wanted);
        let mut start = 0;
        for b in 1..=wanted {
            let target = self.nnz() * b / wanted;
            let end = if b == wanted { n } else { self.indptr.partition_point(|&p| p < target).clamp(start, n) };
            if end > start {
                blocks.push(start..end);
                start = end;
            }
        }
        if start < n {
            blocks.push(start..n);
        }
        blocks
    }

    /// Keep only the columns with `map[c] != u32::MAX`, renumbered to `map[c]`, and rewrite each
    /// kept value with `value(row, old_column, value)`. In place and sequential: the matrix can be
    /// most of the machine's memory. If `map` does not keep the column order, call
    /// [`CsrMatrix::sort_rows_par`] afterwards.
    pub fn remap_columns(&mut self, new_ncols: usize, map: &[u32], mut value: impl FnMut(usize, u32, f32) -> f32) {
        let mut w = 0;
        let mut start = 0;
        for i in 0..self.nrows() {
            let end = self.indptr[i + 1];
            for k in start..end {
                let c = self.indices[k];
                let m = map[c as usize];
                if m != u32::MAX {
                    self.data[w] = value(i, c, self.data[k]);
                    self.indices[w] = m;
                    w += 1;
                }
            }
            start = end;
            self.indptr[i + 1] = w;
        }
        self.indices.truncate(w);
        self.data.truncate(w);
        self.indices.shrink_to_fit();
        self.data.shrink_to_fit();
        self.ncols = new_ncols;
    }

    /// Sort each row by column, in parallel (after a renumbering that changed the order).
    pub fn sort_rows_par(&mut self) {
        let indptr = &self.indptr;
        let mut rows: Vec<(&mut [u32], &mut [f32])> = Vec::with_capacity(self.nrows());
        let (mut idx_rest, mut val_rest): (&mut [u32], &mut [f32]) = (&mut self.indices, &mut self.data);
        for w in indptr.windows(2) {
            let len = w[1] - w[0];
            let (ih, it) = std::mem::take(&mut idx_rest).split_at_mut(len);
            let (vh, vt) = std::mem::take(&mut val_rest).split_at_mut(len);
            rows.push((ih, vh));
            idx_rest = it;
            val_rest = vt;
        }
        rows.into_par_iter().with_min_len(256).for_each_init(Vec::new, |pairs, (idx, val)| {
            if idx.windows(2).all(|w| w[0] < w[1]) {
                return;
            }
            pairs.clear();
            pairs.extend(idx.iter().copied().zip(val.iter().copied()));
            pairs.sort_unstable_by_key(|p| p.0);
            for (k, (c, v)) in pairs.iter().enumerate() {
                idx[k] = *c;
                val[k] = *v;
            }
        });
    }

    /// Rewrite the values of each row in parallel (e.g. TF-IDF weighting and L2 normalisation).
    pub fn map_rows_par(&mut self, f: impl Fn(usize, &[u32], &mut [f32]) + Sync) {
        let indptr = &self.indptr;
        let indices = &self.indices;
        // Split `data` into per-row slices without copying, then work on them in parallel.
        let mut rows: Vec<&mut [f32]> = Vec::with_capacity(self.nrows());
        let mut rest: &mut [f32] = &mut self.data;
        for w in indptr.windows(2) {
            let (head, tail) = std::mem::take(&mut rest).split_at_mut(w[1] - w[0]);
            rows.push(head);
            rest = tail;
        }
        rows.into_par_iter().enumerate().with_min_len(256).for_each(|(i, vals)| {
            f(i, &indices[indptr[i]..indptr[i + 1]], vals);
        });
    }

    /// Bytes of heap memory held.
    pub fn heap_bytes(&self) -> usize {
        self.indptr.capacity() * 8 + self.indices.capacity() * 4 + self.data.capacity() * 4
    }
}

impl linfa::dataset::Records for CsrMatrix {
    type Elem = f32;

    fn nsamples(&self) -> usize {
        self.nrows()
    }

    fn nfeatures(&self) -> usize {
        self.ncols
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linfa::dataset::Records;

    #[test]
    fn build_append_and_read_rows() {
        let mut m = CsrMatrix::new(10);
        m.push_row(&[1, 4], &[1.0, 2.0]);
        m.push_row(&[], &[]);
        let mut other = CsrMatrix::new(10);
        other.push_row(&[0, 9], &[3.0, 4.0]);
        m.append(&other);
        assert_eq!((m.nrows(), m.nnz(), m.nsamples(), m.nfeatures()), (3, 4, 3, 10));
        assert_eq!(m.row(0), (&[1u32, 4][..], &[1.0f32, 2.0][..]));
        assert_eq!(m.row(1).0.len(), 0);
        assert_eq!(m.row(2), (&[0u32, 9][..], &[3.0f32, 4.0][..]));
        assert_eq!(m.column_counts(), vec![1, 1, 0, 0, 1, 0, 0, 0, 0, 1]);
    }

    #[test]
    fn parallel_build_keeps_order() {
        let items: Vec<u32> = (0..5000).collect();
        let mut m = CsrMatrix::new(5000);
        m.extend_par(
            &items,
            || (),
            |&i, _, row| {
                row.indices.push(i);
                row.values.push(i as f32);
            },
        );
        assert_eq!(m.nrows(), 5000);
        for i in 0..5000 {
            assert_eq!(m.row(i), (&[i as u32][..], &[i as f32][..]));
        }
    }

    #[test]
    fn from_parts_validates() {
        assert!(CsrMatrix::from_parts(3, vec![0, 2], vec![0, 2], vec![1.0, 1.0]).is_ok());
        assert!(CsrMatrix::from_parts(3, vec![0, 2], vec![2, 0], vec![1.0, 1.0]).is_err());
        assert!(CsrMatrix::from_parts(3, vec![0, 2], vec![0, 3], vec![1.0, 1.0]).is_err());
        assert!(CsrMatrix::from_parts(3, vec![0, 3], vec![0, 1], vec![1.0, 1.0]).is_err());
        assert!(CsrMatrix::from_parts(3, vec![1, 2], vec![0, 1], vec![1.0, 1.0]).is_err());
    }

    #[test]
    fn remap_drops_and_renumbers_columns() {
        let mut m = CsrMatrix::new(5);
        m.push_row(&[0, 2, 4], &[1.0, 2.0, 3.0]);
        m.push_row(&[1, 2], &[4.0, 5.0]);
        let map = [u32::MAX, 0, 1, u32::MAX, 2];
        m.remap_columns(3, &map, |_, _, v| v * 10.0);
        assert_eq!(m.ncols(), 3);
        assert_eq!(m.row(0), (&[1u32, 2][..], &[20.0f32, 30.0][..]));
        assert_eq!(m.row(1), (&[0u32, 1][..], &[40.0f32, 50.0][..]));
    }

    #[test]
    fn renumbering_out_of_order_then_sorting_rows() {
        let mut m = CsrMatrix::new(4);
        m.push_row(&[0, 1, 3], &[1.0, 2.0, 3.0]);
        m.push_row(&[2], &[4.0]);
        m.remap_columns(4, &[3, 0, 1, 2], |_, _, v| v);
        m.sort_rows_par();
        assert_eq!(m.row(0), (&[0u32, 2, 3][..], &[2.0f32, 3.0, 1.0][..]));
        assert_eq!(m.row(1), (&[1u32][..], &[4.0f32][..]));
    }

    #[test]
    fn row_blocks_cover_all_rows_in_order() {
        let mut m = CsrMatrix::new(4);
        for i in 0..1000 {
            m.push_row(&[(i % 4) as u32], &[1.0]);
        }
        for per in [1, 7, 100, 10_000] {
            let blocks = m.row_blocks(per);
            assert_eq!(blocks.first().unwrap().start, 0);
            assert_eq!(blocks.last().unwrap().end, 1000);
            assert!(blocks.windows(2).all(|w| w[0].end == w[1].start && w[0].start < w[0].end));
            assert!(blocks.len() <= 64);
        }
        assert_eq!(CsrMatrix::new(3).row_blocks(10), Vec::<std::ops::Range<usize>>::new());
    }
}
