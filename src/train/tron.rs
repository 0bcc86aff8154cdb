//! Trust-region Newton method with preconditioned conjugate gradient, as in liblinear's `tron.cpp`
//! (Lin, Weng & Keerthi 2008; Hsia, Chiang & Lin 2018 for the diagonal preconditioner and the
//! quadratic-model stopping rule for CG).
//!
//! The Hessian is never formed: the objective supplies Hessian-vector products, each one pass over
//! the data. Every reduction is done in a fixed order, so the result is bit-identical whatever the
//! number of threads.

/// A twice-differentiable, strictly convex objective.
pub trait Objective {
    /// Number of variables.
    fn dim(&self) -> usize;
    /// f(w). May cache per-row state for the next `grad` at the same `w`.
    fn fun(&mut self, w: &[f64]) -> f64;
    /// Gradient at the `w` of the last `fun` call, and the diagonal of the Hessian there.
    fn grad(&mut self, w: &[f64], g: &mut [f64], diag: &mut [f64]);
    /// Hessian (at the `w` of the last `grad`) times `v`.
    fn hv(&mut self, v: &[f64], out: &mut [f64]);
}

/// Stopping rule and limits.
#[derive(Debug, Clone, Copy)]
pub struct TronParams {
    /// Stop when ‖∇f(w)‖ ≤ `eps` · ‖∇f(w₀)‖, with w₀ = 0 (`eps_scale` multiplies `eps`).
    pub eps: f64,
    pub max_iter: usize,
    /// CG stops when the quadratic model improves by less than this fraction.
    pub eps_cg: f64,
}

impl Default for TronParams {
    fn default() -> Self {
        TronParams { eps: 1e-3, max_iter: 200, eps_cg: 0.1 }
    }
}

/// What the optimiser did.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TronReport {
    pub iterations: usize,
    pub cg_iterations: usize,
    pub loss: f64,
    pub grad_norm: f64,
    pub grad_norm0: f64,
    pub converged: bool,
}

const ALPHA_PCG: f64 = 0.01;

fn dot(a: &[f64], b: &[f64]) -> f64 {
    // Four accumulators: fixed order (deterministic) and faster than one serial chain.
    let mut acc = [0.0f64; 4];
    let chunks = a.len() / 4 * 4;
    for i in (0..chunks).step_by(4) {
        for k in 0..4 {
            acc[k] += a[i + k] * b[i + k];
        }
    }
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for i in chunks..a.len() {
        s += a[i] * b[i];
    }
    s
}

fn axpy(alpha: f64, x: &[f64], y: &mut [f64]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += alpha * xi;
    }
}

/// uᵀ M v for diagonal M.
fn utmv(u: &[f64], m: &[f64], v: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..u.len() {
        s += u[i] * m[i] * v[i];
    }
    s
}

/// Minimise `obj` starting from `w` (updated in place). `grad_norm0` is ‖∇f(0)‖ if known (pass
/// `None` when `w` is 0: it is then measured at the start).
pub fn minimize(obj: &mut impl Objective, w: &mut [f64], params: &TronParams, grad_norm0: Option<f64>) -> TronReport {
    let n = obj.dim();
    assert_eq!(w.len(), n);
    let (eta0, eta1, eta2) = (1e-4f64, 0.25f64, 0.75f64);
    let (sigma1, sigma2, sigma3) = (0.25f64, 0.5f64, 4.0f64);

    let mut g = vec![0.0; n];
    let mut m = vec![0.0; n];
    let mut s = vec![0.0; n];
    let mut r = vec![0.0; n];
    let mut w_new = vec![0.0; n];
    let mut cg = CgBuffers::new(n);

    let mut f = obj.fun(w);
    obj.grad(w, &mut g, &mut m);
    precondition(&mut m);
    let mut gnorm = dot(&g, &g).sqrt();
    let gnorm0 = grad_norm0.unwrap_or(gnorm);
    let mut delta = utmv(&g, &m, &g).sqrt();
    let mut report =
        TronReport { iterations: 0, cg_iterations: 0, loss: f, grad_norm: gnorm, grad_norm0: gnorm0, converged: false };
    if gnorm <= params.eps * gnorm0 {
        report.converged = true;
        return report;
    }

    let mut iter = 1;
    let mut delta_adjusted = false;
    while iter <= params.max_iter {
        let (cg_iter, reach_boundary) = trpcg(obj, delta, &g, &m, &mut s, &mut r, params.eps_cg, &mut cg);
        report.cg_iterations += cg_iter;
        w_new.copy_from_slice(w);
        axpy(1.0, &s, &mut w_new);
        let gs = dot(&g, &s);
        let prered = -0.5 * (gs - dot(&s, &r));
        let fnew = obj.fun(&w_new);
        let actred = f - fnew;
        let snorm = utmv(&s, &m, &s).sqrt();
        if iter == 1 && !delta_adjusted {
            delta = delta.min(snorm);
            delta_adjusted = true;
        }
        let alpha = if fnew - f - gs <= 0.0 { sigma3 } else { sigma1.max(-0.5 * (gs / (fnew - f - gs))) };
        delta = if actred < eta0 * prered {
            (alpha * snorm).min(sigma2 * delta)
        } else if actred < eta1 * prered {
            (sigma1 * delta).max((alpha * snorm).min(sigma2 * delta))
        } else if actred < eta2 * prered {
            (sigma1 * delta).max((alpha * snorm).min(sigma3 * delta))
        } else if reach_boundary {
            sigma3 * delta
        } else {
            delta.max((alpha * snorm).min(sigma3 * delta))
        };

        if actred > eta0 * prered {
            iter += 1;
            w.copy_from_slice(&w_new);
            f = fnew;
            obj.grad(w, &mut g, &mut m);
            precondition(&mut m);
            gnorm = dot(&g, &g).sqrt();
            report.iterations += 1;
            if gnorm <= params.eps * gnorm0 {
                report.converged = true;
                break;
            }
        }
        // A rejected step needs no recomputation: `hv` uses the curvature cached by the last
        // `grad` (at w), and the next `grad` always follows an accepted `fun`.
        if f < -1.0e32 || prered <= 0.0 {
            break;
        }
        if actred.abs() <= 1.0e-12 * f.abs() && prered.abs() <= 1.0e-12 * f.abs() {
            report.converged = true;
            break;
        }
    }
    report.loss = f;
    report.grad_norm = gnorm;
    report
}

fn precondition(m: &mut [f64]) {
    for mi in m.iter_mut() {
        *mi = (1.0 - ALPHA_PCG) + ALPHA_PCG * *mi;
    }
}

struct CgBuffers {
    d: Vec<f64>,
    hd: Vec<f64>,
    z: Vec<f64>,
}

impl CgBuffers {
    fn new(n: usize) -> Self {
        CgBuffers { d: vec![0.0; n], hd: vec![0.0; n], z: vec![0.0; n] }
    }
}

/// Preconditioned CG on the trust-region subproblem. Returns (iterations, reached boundary).
#[allow(clippy::too_many_arguments)]
fn trpcg(
    obj: &mut impl Objective,
    delta: f64,
    g: &[f64],
    m: &[f64],
    s: &mut [f64],
    r: &mut [f64],
    eps_cg: f64,
    buf: &mut CgBuffers,
) -> (usize, bool) {
    let n = g.len();
    let CgBuffers { d, hd, z } = buf;
    for i in 0..n {
        s[i] = 0.0;
        r[i] = -g[i];
        z[i] = r[i] / m[i];
        d[i] = z[i];
    }
    let mut ztr = dot(z, r);
    let cgtol = eps_cg.min(ztr.sqrt().sqrt());
    let mut q = 0.0;
    let max_cg = n.max(5);
    let mut iter = 0;
    while iter < max_cg {
        iter += 1;
        obj.hv(d, hd);
        let dhd = dot(d, hd);
        if dhd <= 1.0e-16 {
            break;
        }
        let alpha = ztr / dhd;
        axpy(alpha, d, s);
        if utmv(s, m, s) > delta * delta {
            // Step back and go to the boundary along d.
            axpy(-alpha, d, s);
            let smd = utmv(s, m, d);
            let sms = utmv(s, m, s);
            let dmd = utmv(d, m, d);
            let dsq = delta * delta;
            let rad = (smd * smd + dmd * (dsq - sms)).sqrt();
            let tau = if smd >= 0.0 { (dsq - sms) / (smd + rad) } else { (rad - smd) / dmd };
            axpy(tau, d, s);
            axpy(-tau, hd, r);
            return (iter, true);
        }
        axpy(-alpha, hd, r);
        // Stop when the quadratic model's last improvement is small relative to the total.
        let newq = -0.5 * (dot(s, r) - dot(s, g));
        let qdiff = newq - q;
        if newq <= 0.0 && qdiff <= 0.0 {
            if iter as f64 * qdiff >= cgtol * newq {
                break;
            }
        } else {
            break;
        }
        q = newq;
        for i in 0..n {
            z[i] = r[i] / m[i];
        }
        let znew = dot(z, r);
        let beta = znew / ztr;
        for i in 0..n {
            d[i] = z[i] + beta * d[i];
        }
        ztr = znew;
    }
    (iter, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// f(w) = ½ wᵀAw − bᵀw + ¼Σw⁴ (strictly convex, non-quadratic).
    struct Quartic {
        a: Vec<Vec<f64>>,
        b: Vec<f64>,
        w: Vec<f64>,
    }

    impl Objective for Quartic {
        fn dim(&self) -> usize {
            self.b.len()
        }
        fn fun(&mut self, w: &[f64]) -> f64 {
            let n = w.len();
            let mut f = 0.0;
            for i in 0..n {
                for j in 0..n {
                    f += 0.5 * w[i] * self.a[i][j] * w[j];
                }
                f += -self.b[i] * w[i] + 0.25 * w[i].powi(4);
            }
            f
        }
        fn grad(&mut self, w: &[f64], g: &mut [f64], diag: &mut [f64]) {
            self.w = w.to_vec();
            for i in 0..w.len() {
                g[i] = (0..w.len()).map(|j| self.a[i][j] * w[j]).sum::<f64>() - self.b[i] + w[i].powi(3);
                diag[i] = self.a[i][i] + 3.0 * w[i] * w[i];
            }
        }
        fn hv(&mut self, v: &[f64], out: &mut [f64]) {
            for i in 0..v.len() {
                out[i] = (0..v.len()).map(|j| self.a[i][j] * v[j]).sum::<f64>() + 3.0 * self.w[i] * self.w[i] * v[i];
            }
        }
    }

    #[test]
    fn finds_the_minimum_of_a_convex_function() {
        let mut obj = Quartic {
            a: vec![vec![4.0, 1.0, 0.0], vec![1.0, 3.0, 0.5], vec![0.0, 0.5, 2.0]],
            b: vec![10.0, -3.0, 7.0],
            w: vec![],
        };
        let mut w = vec![0.0; 3];
        let report = minimize(&mut obj, &mut w, &TronParams { eps: 1e-10, ..Default::default() }, None);
        assert!(report.converged, "{report:?}");
        let mut g = vec![0.0; 3];
        let mut d = vec![0.0; 3];
        obj.fun(&w);
        obj.grad(&w, &mut g, &mut d);
        assert!(dot(&g, &g).sqrt() < 1e-6, "gradient {g:?} at {w:?}");
    }
}
