//! The model file. Little-endian, self-describing, checksummed:
//!
//! | bytes | content |
//! |---|---|
//! | 8 | magic `RAQIBMDL` |
//! | 4 | format version (u32), currently 2 (2 added `squeeze_repeats` to the featuriser config; version 1 files load with it off) |
//! | 4 | header length H (u32) |
//! | H | header, UTF-8 JSON: normaliser and featuriser config, labels (name, bias, calibration, threshold), metadata, entry count E |
//! | E × (8 + 4L) | one entry per feature bucket: index (u32), idf (f32), L label weights (f32); indices increasing |
//! | 8 | xxh3-64 of every byte before it |
//!
//! Buckets that are not features (idf 0) are not stored. Loading checks everything and fails with
//! a typed [`ModelError`]; writing goes to a temporary file renamed over the target, so a reader
//! never sees half a model.

use super::{LabelHead, Model, ModelMeta};
use crate::error::{Error, ModelError, Result};
use crate::features::{FeatureConfig, Featurizer};
use crate::normalize::NormalizeConfig;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;
use xxhash_rust::xxh3::xxh3_64;

pub const MAGIC: &[u8; 8] = b"RAQIBMDL";
pub const FORMAT_VERSION: u32 = 2;
const PREFIX: usize = 16;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    normalize: NormalizeConfig,
    features: FeatureConfig,
    labels: Vec<LabelHead>,
    meta: ModelMeta,
    entries: u64,
}

/// The file's checksum, which is also the model's identity.
pub(super) fn content_hash(model: &Model) -> u64 {
    let bytes = model.to_bytes();
    u64::from_le_bytes(bytes[bytes.len() - 8..].try_into().expect("8 bytes"))
}

impl Model {
    /// Serialise to the file format.
    pub fn to_bytes(&self) -> Vec<u8> {
        let nl = self.labels.len();
        let header = Header {
            normalize: *self.normalizer.config(),
            features: *self.featurizer.config(),
            labels: self.labels.clone(),
            meta: self.meta.clone(),
            entries: self.features() as u64,
        };
        let json = serde_json::to_vec(&header).expect("model header serialises");
        let mut out = Vec::with_capacity(PREFIX + json.len() + self.features() * (8 + 4 * nl) + 8);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(json.len() as u32).to_le_bytes());
        out.extend_from_slice(&json);
        for (b, row) in self.feature_buckets() {
            out.extend_from_slice(&b.to_le_bytes());
            for v in &row[..1 + nl] {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        let sum = xxh3_64(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }

    /// Write atomically: a temporary file in the same directory, flushed, then renamed.
    /// Errors: [`Error::Io`] naming the path.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        write_atomic(path.as_ref(), &self.to_bytes())
    }

    /// Read and validate a model file. Errors: [`Error::Io`] if unreadable, [`Error::Model`] with
    /// the [`ModelError`] for anything wrong inside.
    pub fn load(path: impl AsRef<Path>) -> Result<Model> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Model::from_bytes(&bytes).map_err(|kind| Error::model(path.display().to_string(), kind))
    }

    /// Parse and validate a model from memory.
    pub fn from_bytes(bytes: &[u8]) -> std::result::Result<Model, ModelError> {
        if bytes.len() < MAGIC.len() {
            return Err(if MAGIC.starts_with(bytes) && !bytes.is_empty() {
                ModelError::Truncated("inside the magic bytes".into())
            } else {
                ModelError::BadMagic
            });
        }
        if &bytes[..8] != MAGIC {
            return Err(ModelError::BadMagic);
        }
        if bytes.len() < PREFIX {
            return Err(ModelError::Truncated("inside the fixed prefix".into()));
        }
        let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
        if version > FORMAT_VERSION {
            return Err(ModelError::NewerVersion { found: version, supported: FORMAT_VERSION });
        }
        if version == 0 {
            return Err(ModelError::Header("format version 0 does not exist".into()));
        }
        let hlen = u32::from_le_bytes(bytes[12..16].try_into().expect("4 bytes")) as usize;
        if bytes.len() < PREFIX + hlen + 8 {
            return Err(ModelError::Truncated(format!("header of {hlen} bytes does not fit in {} bytes", bytes.len())));
        }
        let checksum_ok = || {
            let stored = u64::from_le_bytes(bytes[bytes.len() - 8..].try_into().expect("8 bytes"));
            let computed = xxh3_64(&bytes[..bytes.len() - 8]);
            if stored == computed {
                Ok(stored)
            } else {
                Err(ModelError::Checksum { stored, computed })
            }
        };
        let header: Header = match serde_json::from_slice(&bytes[PREFIX..PREFIX + hlen]) {
            Ok(h) => h,
            Err(e) => {
                checksum_ok()?; // a garbled header is usually corruption: say so
                return Err(ModelError::Header(e.to_string()));
            }
        };
        let nl = header.labels.len();
        let entry = 8 + 4 * nl;
        let expected = (PREFIX + hlen + 8) as u128 + header.entries as u128 * entry as u128;
        if (bytes.len() as u128) < expected {
            return Err(ModelError::Truncated(format!("{} bytes, the header announces {expected}", bytes.len())));
        }
        if bytes.len() as u128 > expected {
            return Err(ModelError::SizeMismatch(format!(
                "{} bytes after the last entry",
                bytes.len() as u128 - expected
            )));
        }
        let hash = checksum_ok()?;

        let featurizer = Featurizer::new(header.features).map_err(|e| ModelError::Header(e.to_string()))?;
        let buckets = header.features.buckets();
        if header.entries as usize > buckets {
            return Err(ModelError::SizeMismatch(format!("{} entries for {buckets} buckets", header.entries)));
        }
        if nl == 0 {
            return Err(ModelError::Header("the model has no labels".into()));
        }
        for l in &header.labels {
            let finite = l.bias.is_finite() && l.calibration.a.is_finite() && l.calibration.b.is_finite();
            if !finite {
                return Err(ModelError::NonFinite(format!("label {:?} bias or calibration", l.name)));
            }
            if !(0.0..=1.0).contains(&l.threshold) {
                return Err(ModelError::Header(format!(
                    "label {:?} threshold {} is not within 0..=1",
                    l.name, l.threshold
                )));
            }
        }
        let mut model = Model::empty(header.normalize, featurizer, header.labels, header.meta);
        let mut values = Vec::with_capacity(1 + nl);
        let mut prev: Option<u32> = None;
        for (k, chunk) in bytes[PREFIX + hlen..bytes.len() - 8].chunks_exact(entry).enumerate() {
            let b = u32::from_le_bytes(chunk[..4].try_into().expect("4 bytes"));
            if b as usize >= buckets || prev.is_some_and(|p| p >= b) {
                return Err(ModelError::SizeMismatch(format!(
                    "entry {k}: bucket {b} out of order or beyond {buckets}"
                )));
            }
            prev = Some(b);
            values.clear();
            for raw in chunk[4..].chunks_exact(4) {
                let v = f32::from_le_bytes(raw.try_into().expect("4 bytes"));
                if !v.is_finite() {
                    return Err(ModelError::NonFinite(format!("entry {k} (bucket {b})")));
                }
                values.push(v);
            }
            // An entry with idf 0 would never count (and is never written): not a feature.
            if values[0] != 0.0 {
                model.push_feature(b, values[0], values[1..].iter().copied());
            }
        }
        model.finish_index();
        model.hash = hash;
        Ok(model)
    }
}

/// Write `bytes` to `path` through a temporary file in the same directory and a rename.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "model".into());
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let tmp = dir.join(format!(".{name}.tmp.{}.{nanos}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    // Make the rename itself durable where the platform allows opening a directory.
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}
