//! Seeded, stratified splits. The generator is SplitMix64, written out here because the split is
//! part of reproducing a model bit for bit: it must never change with a dependency's version.

/// SplitMix64 (Steele, Lea & Flood 2014).
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n ≥ 1), by rejection so there is no modulo bias.
    pub fn below(&mut self, n: u64) -> u64 {
        let zone = u64::MAX - u64::MAX % n;
        loop {
            let v = self.next_u64();
            if v < zone {
                return v % n;
            }
        }
    }
}

/// Rows grouped by stratum key (label combination), each group shuffled with the seed.
fn strata(keys: &[u64], seed: u64) -> Vec<Vec<u32>> {
    let mut groups: std::collections::BTreeMap<u64, Vec<u32>> = std::collections::BTreeMap::new();
    for (i, &k) in keys.iter().enumerate() {
        groups.entry(k).or_default().push(i as u32);
    }
    let mut rng = SplitMix64(seed);
    groups
        .into_values()
        .map(|mut g| {
            for i in (1..g.len()).rev() {
                let j = rng.below(i as u64 + 1) as usize;
                g.swap(i, j);
            }
            g
        })
        .collect()
}

/// (training rows, validation rows), both sorted. About `fraction` of each stratum is held out
/// (rounded; at least one row of a stratum with two or more).
pub fn holdout(keys: &[u64], fraction: f64, seed: u64) -> (Vec<u32>, Vec<u32>) {
    let (mut train, mut val) = (Vec::new(), Vec::new());
    for g in strata(keys, seed) {
        let mut k = (g.len() as f64 * fraction).round() as usize;
        if k == 0 && g.len() >= 2 {
            k = 1;
        }
        val.extend_from_slice(&g[..k]);
        train.extend_from_slice(&g[k..]);
    }
    train.sort_unstable();
    val.sort_unstable();
    (train, val)
}

/// Fold number (0..folds) of every row; each stratum dealt round-robin after shuffling.
pub fn kfold(keys: &[u64], folds: usize, seed: u64) -> Vec<u8> {
    let mut out = vec![0u8; keys.len()];
    let mut next = 0usize;
    for g in strata(keys, seed) {
        for &r in &g {
            out[r as usize] = (next % folds) as u8;
            next += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_reference_values() {
        // First outputs for seed 1234567 from the reference C implementation.
        let mut r = SplitMix64(1234567);
        assert_eq!(r.next_u64(), 6457827717110365317);
        assert_eq!(r.next_u64(), 3203168211198807973);
    }

    #[test]
    fn holdout_is_stratified_seeded_and_complete() {
        let keys: Vec<u64> = (0..1000).map(|i| u64::from(i % 10 == 0)).collect();
        let (train, val) = holdout(&keys, 0.2, 7);
        assert_eq!(train.len() + val.len(), 1000);
        assert_eq!(val.iter().filter(|&&r| keys[r as usize] == 1).count(), 20);
        assert_eq!(holdout(&keys, 0.2, 7), (train.clone(), val.clone()));
        assert_ne!(holdout(&keys, 0.2, 8).1, val);
    }

    #[test]
    fn kfold_balances_folds_and_classes() {
        let keys: Vec<u64> = (0..100).map(|i| u64::from(i % 4 == 0)).collect();
        let f = kfold(&keys, 5, 1);
        for fold in 0..5 {
            let rows: Vec<usize> = (0..100).filter(|&r| f[r] == fold).collect();
            assert_eq!(rows.len(), 20);
            assert_eq!(rows.iter().filter(|&&r| keys[r] == 1).count(), 5);
        }
    }
}
