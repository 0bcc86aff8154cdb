//! Perspective attribute names → model labels.
//!
//! Defaults, resolved against the loaded model (later rules win):
//! 1. `TOXICITY` and `SEVERE_TOXICITY` → the highest label probability (`max`): a comment that
//!    calls for violence or supports an extremist group is what a Perspective client asking for
//!    toxicity wants held.
//! 2. `THREAT` → `violence` (when the model has that label): Perspective defines THREAT as
//!    "describes an intention to inflict pain, injury, or violence against an individual or group".
//! 3. Every model label as its upper-case name (`VIOLENCE` → `violence`, `EXTREMISM` → `extremism`).
//! 4. The operator's `NAME=label`, `NAME=max` or `NAME=none` (removes a default) specs.
//!
//! Other Perspective attributes (INSULT, PROFANITY, IDENTITY_ATTACK, SEXUALLY_EXPLICIT, FLIRTATION)
//! are not mapped: raqib does not model them, and a made-up score would mislead. Requesting one is
//! a 400 unless the request sets `dropUnsupportedAttributes`, as with Perspective itself.

use crate::{Model, Scores};
use std::collections::BTreeMap;

/// What an attribute scores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttributeTarget {
    /// One model label, by name.
    Label(String),
    /// The highest probability over all labels.
    Max,
    /// Not answered (removes a default).
    None,
}

/// Operator overrides, in the order given.
#[derive(Debug, Clone, Default)]
pub(crate) struct AttributeMap {
    overrides: Vec<(String, AttributeTarget)>,
}

/// Attribute name as Perspective spells them: upper-case ASCII letters, digits and underscores.
fn normalize_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() || name.len() > 64 || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(format!("attribute name {name:?} must be 1-64 letters, digits or underscores"));
    }
    Ok(name.to_ascii_uppercase())
}

impl AttributeMap {
    /// Parse and add one `NAME=target` spec. Errors name the problem (the label itself is
    /// checked against the model at [`AttributeMap::resolve`]).
    pub(crate) fn push_spec(&mut self, spec: &str) -> Result<(), String> {
        let (name, target) = spec.split_once('=').ok_or("expected NAME=label, NAME=max or NAME=none")?;
        let name = normalize_name(name)?;
        let target = match target.trim() {
            "" => return Err("missing target after '='".into()),
            "max" => AttributeTarget::Max,
            "none" => AttributeTarget::None,
            label => AttributeTarget::Label(label.to_string()),
        };
        self.overrides.push((name, target));
        Ok(())
    }

    /// The mapping for one model. Errors if an override names a label the model lacks.
    pub(crate) fn resolve(&self, model: &Model) -> Result<Resolved, String> {
        let mut map: BTreeMap<String, Target> = BTreeMap::new();
        map.insert("TOXICITY".into(), Target::Max);
        map.insert("SEVERE_TOXICITY".into(), Target::Max);
        if let Some(i) = model.label_names().position(|l| l == "violence") {
            map.insert("THREAT".into(), Target::Label(i));
        }
        for (i, name) in model.label_names().enumerate() {
            if let Ok(attr) = normalize_name(name) {
                map.insert(attr, Target::Label(i));
            }
        }
        for (name, target) in &self.overrides {
            match target {
                AttributeTarget::None => {
                    map.remove(name);
                }
                AttributeTarget::Max => {
                    map.insert(name.clone(), Target::Max);
                }
                AttributeTarget::Label(label) => {
                    let i = model.label_names().position(|l| l == label).ok_or_else(|| {
                        let have: Vec<&str> = model.label_names().collect();
                        format!(
                            "attribute {name} maps to label {label:?}, which the model does not have (it has {have:?})"
                        )
                    })?;
                    map.insert(name.clone(), Target::Label(i));
                }
            }
        }
        Ok(Resolved { map })
    }
}

/// An attribute's target, resolved to a label index of one model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Label(usize),
    Max,
}

/// The attribute map for one loaded model.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    map: BTreeMap<String, Target>,
}

impl Resolved {
    /// Look an attribute up, case-insensitively (Perspective names are upper case).
    pub(crate) fn get(&self, name: &str) -> Option<Target> {
        if let Some(t) = self.map.get(name) {
            return Some(*t);
        }
        self.map.get(&name.to_ascii_uppercase()).copied()
    }

    /// `(attribute, description)` pairs, for `/readyz` and the startup log.
    pub(crate) fn describe(&self, model: &Model) -> BTreeMap<String, String> {
        self.map
            .iter()
            .map(|(k, t)| {
                let v = match t {
                    Target::Max => "max".to_string(),
                    Target::Label(i) => model.labels().get(*i).map_or_else(String::new, |l| l.name.clone()),
                };
                (k.clone(), v)
            })
            .collect()
    }
}

/// Map probability `p` so that the label's `threshold` lands on `to`, piecewise linearly: [0, t)
/// → [0, to) and [t, 1] → (to, 1]. Monotone, so the order of comments is kept, and a client that
/// holds comments scoring above `to` holds exactly what raqib flags. Coral holds on
/// `score > threshold` (services/comments/pipeline/phases/toxic.ts), so a flagged comment never
/// maps onto `to` itself: a comment exactly on raqib's threshold (thresholds are chosen among
/// observed scores, so it happens) maps to the next float above `to`.
pub(crate) fn align(p: f64, threshold: f64, to: f64) -> f64 {
    // A NaN probability cannot come from the model; if it ever did, it must not hold a comment.
    let p = if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) };
    if p < threshold {
        // threshold > p ≥ 0, so the division is safe; the product stays below `to` but rounding
        // could reach it, hence the clamp.
        return (p / threshold * to).min(to).max(0.0);
    }
    let v = if threshold >= 1.0 { 1.0 } else { to + (p - threshold) / (1.0 - threshold) * (1.0 - to) };
    // 0 < to < 1 (checked at start), so the next float up is still below or at 1.
    v.clamp(next_up(to), 1.0)
}

/// The smallest `f64` above `x`, for finite positive `x` (`f64::next_up` needs Rust 1.86; the MSRV
/// is 1.85).
fn next_up(x: f64) -> f64 {
    f64::from_bits(x.to_bits() + 1)
}

/// An attribute's value for scored text: the label's probability, or the highest one, optionally
/// aligned (see [`align`]).
pub(crate) fn attribute_value(scores: &Scores, target: Target, align_to: Option<f64>) -> f64 {
    let value = |i: usize| {
        scores.labels.get(i).map_or(0.0, |l| match align_to {
            Some(to) => align(l.probability, l.threshold, to),
            None => l.probability,
        })
    };
    match target {
        Target::Label(i) => value(i),
        Target::Max => (0..scores.labels.len()).map(value).fold(0.0, f64::max),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn align_sends_threshold_to_target_and_is_monotone() {
        // Exactly on the threshold: held by a client that holds on `> 0.8`.
        assert!(align(0.3, 0.3, 0.8) > 0.8);
        assert!(align(0.3, 0.3, 0.8) - 0.8 < 1e-15);
        assert!(align(0.299_999_999, 0.3, 0.8) < 0.8);
        assert_eq!(align(0.0, 0.3, 0.8), 0.0);
        assert_eq!(align(1.0, 0.3, 0.8), 1.0);
        assert!((align(0.15, 0.3, 0.8) - 0.4).abs() < 1e-12);
        assert_eq!(align(0.5, 1.0, 0.8), 0.4);
        assert_eq!(align(1.0, 1.0, 0.8), 1.0);
        assert_eq!(align(0.2, 0.0, 0.8), 0.8 + 0.2 * 0.2);
        assert!(align(0.0, 0.0, 0.8) > 0.8, "threshold 0 flags everything");
        let mut last = -1.0;
        for i in 0..=100 {
            let v = align(i as f64 / 100.0, 0.37, 0.8);
            assert!(v >= last);
            last = v;
        }
        assert_eq!(align(f64::NAN, 0.5, 0.8), 0.0);
    }

    #[test]
    fn specs_parse_and_reject() {
        let mut m = AttributeMap::default();
        assert!(m.push_spec("threat=violence").is_ok());
        assert!(m.push_spec("INSULT = max").is_ok());
        assert!(m.push_spec("TOXICITY=none").is_ok());
        assert_eq!(m.overrides[0], ("THREAT".to_string(), AttributeTarget::Label("violence".into())));
        assert_eq!(m.overrides[1].1, AttributeTarget::Max);
        assert!(m.push_spec("NOEQUALS").is_err());
        assert!(m.push_spec("BAD NAME=max").is_err());
        assert!(m.push_spec("X=").is_err());
    }

    #[test]
    fn resolve_applies_defaults_then_overrides() {
        let model = crate::testutil::tiny_model();
        let r = AttributeMap::default().resolve(model).unwrap();
        assert_eq!(r.get("THREAT"), Some(Target::Label(0)));
        assert_eq!(r.get("toxicity"), Some(Target::Max));
        assert_eq!(r.get("EXTREMISM"), Some(Target::Label(1)));
        assert_eq!(r.get("INSULT"), None);

        let mut m = AttributeMap::default();
        m.push_spec("TOXICITY=none").unwrap();
        m.push_spec("IDENTITY_ATTACK=extremism").unwrap();
        let r = m.resolve(model).unwrap();
        assert_eq!(r.get("TOXICITY"), None);
        assert_eq!(r.get("IDENTITY_ATTACK"), Some(Target::Label(1)));

        let mut m = AttributeMap::default();
        m.push_spec("THREAT=spam").unwrap();
        assert!(m.resolve(model).unwrap_err().contains("spam"));
    }
}
