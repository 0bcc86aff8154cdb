//! Probability calibration: Platt scaling of held-out decision values, with the robust Newton
//! method and regularised targets of Lin, Lin & Weng (2007), "A note on Platt's probabilistic
//! outputs for support vector machines".
//!
//! Needed because balanced class weights (and regularisation) shift and squash the raw logistic
//! output: p = σ(a·m + b) fitted on held-out margins m gives probabilities that mean what they say.

use super::objective::sigmoid;
use serde::{Deserialize, Serialize};

/// p = σ(a · margin + b). The identity is a = 1, b = 0.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Platt {
    pub a: f64,
    pub b: f64,
}

impl Platt {
    pub const IDENTITY: Platt = Platt { a: 1.0, b: 0.0 };

    #[inline]
    pub fn probability(&self, margin: f64) -> f64 {
        sigmoid(self.a * margin + self.b)
    }

    /// Fit on held-out margins and labels. Falls back to the identity if either class is missing.
    pub fn fit(margins: &[f64], labels: &[bool]) -> Platt {
        let prior1 = labels.iter().filter(|&&y| y).count() as f64;
        let prior0 = labels.len() as f64 - prior1;
        if prior1 == 0.0 || prior0 == 0.0 {
            return Platt::IDENTITY;
        }
        // In the paper's notation P(y=1|f) = 1 / (1 + exp(A f + B)).
        let hi = (prior1 + 1.0) / (prior1 + 2.0);
        let lo = 1.0 / (prior0 + 2.0);
        let t: Vec<f64> = labels.iter().map(|&y| if y { hi } else { lo }).collect();
        let objective = |a: f64, b: f64| -> f64 {
            margins
                .iter()
                .zip(&t)
                .map(|(&f, &t)| {
                    let fab = f * a + b;
                    if fab >= 0.0 {
                        t * fab + (-fab).exp().ln_1p()
                    } else {
                        (t - 1.0) * fab + fab.exp().ln_1p()
                    }
                })
                .sum()
        };
        let (mut a, mut b) = (0.0, ((prior0 + 1.0) / (prior1 + 1.0)).ln());
        let mut fval = objective(a, b);
        let sigma = 1e-12;
        for _ in 0..100 {
            let (mut h11, mut h22, mut h21, mut g1, mut g2) = (sigma, sigma, 0.0, 0.0, 0.0);
            for (&f, &t) in margins.iter().zip(&t) {
                let fab = f * a + b;
                let (p, q) = if fab >= 0.0 {
                    let e = (-fab).exp();
                    (e / (1.0 + e), 1.0 / (1.0 + e))
                } else {
                    let e = fab.exp();
                    (1.0 / (1.0 + e), e / (1.0 + e))
                };
                let d2 = p * q;
                h11 += f * f * d2;
                h22 += d2;
                h21 += f * d2;
                let d1 = t - p;
                g1 += f * d1;
                g2 += d1;
            }
            if g1.abs() < 1e-5 && g2.abs() < 1e-5 {
                break;
            }
            let det = h11 * h22 - h21 * h21;
            let da = -(h22 * g1 - h21 * g2) / det;
            let db = -(-h21 * g1 + h11 * g2) / det;
            let gd = g1 * da + g2 * db;
            let mut step = 1.0;
            while step >= 1e-10 {
                let (na, nb) = (a + step * da, b + step * db);
                let nf = objective(na, nb);
                if nf < fval + 1e-4 * step * gd {
                    (a, b, fval) = (na, nb, nf);
                    break;
                }
                step /= 2.0;
            }
            if step < 1e-10 {
                break;
            }
        }
        Platt { a: -a, b: -b }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_known_sigmoid() {
        // Labels drawn deterministically so that P(y=1|m) = σ(2m − 1).
        let mut margins = Vec::new();
        let mut labels = Vec::new();
        for i in 0..4000 {
            let m = (i % 400) as f64 / 100.0 - 2.0;
            let p = sigmoid(2.0 * m - 1.0);
            // Low-discrepancy "coin": fraction (i / 400) * golden ratio mod 1.
            let u = ((i / 400) as f64 * 0.618_033_988_75 + (i % 7) as f64 * 0.1).fract();
            margins.push(m);
            labels.push(u < p);
        }
        let platt = Platt::fit(&margins, &labels);
        assert!((platt.a - 2.0).abs() < 0.35 && (platt.b + 1.0).abs() < 0.35, "{platt:?}");
    }

    #[test]
    fn one_class_gives_identity() {
        assert_eq!(Platt::fit(&[1.0, 2.0], &[true, true]), Platt::IDENTITY);
    }
}
