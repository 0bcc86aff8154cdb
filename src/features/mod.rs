//! Stage 2: features. Normalised text → hashed character n-grams (and optional word n-grams).
//!
//! Tokens are maximal runs of word characters (letters, digits, marks) or of other non-space
//! characters (punctuation, emoji), so "kill!!!" gives the tokens `kill` and `!!!`. Each token is
//! padded with a boundary marker (a space) on both sides and cut into n-grams of grapheme clusters,
//! like scikit-learn's `char_wb` analyser: `kill` with n = 3 gives ` ki`, `kil`, `ill`, `ll `.
//! By default ([`FeatureConfig::squeeze_repeats`]) a run of one letter counts once in character
//! n-grams, so `kill`, `kiill` and `kiiiill` all give ` ki`, `kil`, `il `: elongation cannot move
//! a comment's character n-grams. Word n-grams keep every letter.
//!
//! **Hashing is part of the model format.** Each n-gram's UTF-8 bytes (boundary spaces included)
//! are hashed with xxh3-64 and the `seed` of [`FeatureConfig`]; the bucket is the low `bits` bits.
//! Word n-grams use the seed `seed ^ WORD_SEED_XOR`; a word pair is hashed as `w1 + " " + w2`.
//! Golden tests pin a few buckets: changing any of this breaks every saved model.

#[cfg(test)]
mod tests;

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::ops::Range;
use unicode_segmentation::UnicodeSegmentation;
use xxhash_rust::xxh3::xxh3_64_with_seed;

/// Mixed into the seed for word n-grams, so that the word `kill` and the character 4-gram `kill`
/// land in different buckets.
pub const WORD_SEED_XOR: u64 = 0x9E37_79B9_7F4A_7C15;

/// How text becomes a sparse vector. Saved in the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureConfig {
    /// Shortest character n-gram, in grapheme clusters including boundary markers. Default 2
    /// (single characters carry little signal and are a fifth of all n-grams).
    pub char_min: u8,
    /// Longest character n-gram. Default 5. `0` turns character n-grams off.
    pub char_max: u8,
    /// Word n-grams: 0 none, 1 words, 2 words and word pairs. Default 2.
    pub word_ngrams: u8,
    /// Number of hash buckets is `2^bits`, 16–24. Default 20.
    pub bits: u8,
    /// Hash seed. Default 0x7261_7169_6200 ("raqib").
    pub seed: u64,
    /// Term frequency weight `1 + ln(tf)` instead of `tf`. Default true.
    pub sublinear_tf: bool,
    /// Multiply by the inverse document frequency learned at training time. Default true.
    pub idf: bool,
    /// Scale each vector to unit length. Default true.
    pub l2_normalize: bool,
    /// Character n-grams read a run of one repeated letter as that letter once ("kill", "kiill"
    /// and "kiiiill" all give `kil`), while word n-grams keep every letter. The normaliser can only
    /// fold elongation to two letters (a word's own double must survive), so without this a letter
    /// stretched by a writer comes out doubled and changes every n-gram around it. Default true;
    /// absent from (so false in) models written before format version 2.
    #[serde(default)]
    pub squeeze_repeats: bool,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        FeatureConfig {
            char_min: 2,
            char_max: 5,
            word_ngrams: 2,
            bits: 20,
            seed: 0x7261_7169_6200,
            sublinear_tf: true,
            idf: true,
            l2_normalize: true,
            squeeze_repeats: true,
        }
    }
}

impl FeatureConfig {
    /// Errors: `bits` outside 16–24, `char_min` > `char_max` or 0 while `char_max` > 0,
    /// `char_max` > 12, `word_ngrams` > 2, or no feature at all.
    pub fn check(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidParams(m));
        if !(16..=24).contains(&self.bits) {
            return bad(format!("bits must be 16..=24, got {}", self.bits));
        }
        if self.char_max > 0 && (self.char_min == 0 || self.char_min > self.char_max) {
            return bad(format!("character n-gram range {}..={} is empty", self.char_min, self.char_max));
        }
        if self.char_max > 12 {
            return bad(format!("char_max {} is above 12", self.char_max));
        }
        if self.word_ngrams > 2 {
            return bad(format!("word_ngrams must be 0, 1 or 2, got {}", self.word_ngrams));
        }
        if self.char_max == 0 && self.word_ngrams == 0 {
            return bad("no features: both character and word n-grams are off".into());
        }
        Ok(())
    }

    pub fn buckets(&self) -> usize {
        1 << self.bits
    }

    /// Weight of a term seen `tf` times in one text.
    #[inline]
    pub fn tf_weight(&self, tf: u32) -> f32 {
        if self.sublinear_tf {
            1.0 + (tf as f32).ln()
        } else {
            tf as f32
        }
    }
}

/// What kind of n-gram a feature is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureKind {
    /// Character n-gram of this many grapheme clusters (boundary markers included).
    Chars(u8),
    Word,
    WordPair,
}

/// One feature occurrence: its bucket, what it is, and where it sits in the normalised text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feature {
    pub bucket: u32,
    pub kind: FeatureKind,
    /// Byte range in the normalised text, boundary markers excluded.
    pub span: Range<usize>,
    /// Starts or ends at a token boundary (shown as `_` in [`Feature::display`]).
    pub at_start: bool,
    pub at_end: bool,
}

impl Feature {
    /// The n-gram as a person reads it: boundary markers as `_`, word pairs joined by a space.
    pub fn display(&self, normalized: &str) -> String {
        let body = normalized.get(self.span.clone()).unwrap_or("");
        match self.kind {
            FeatureKind::Chars(_) => {
                format!("{}{}{}", if self.at_start { "_" } else { "" }, body, if self.at_end { "_" } else { "" })
            }
            FeatureKind::Word => body.to_string(),
            FeatureKind::WordPair => body.split_whitespace().collect::<Vec<_>>().join(" "),
        }
    }
}

/// Reusable buffers for featurising many texts without allocating.
#[derive(Debug, Default)]
pub struct FeatScratch {
    padded: String,
    bounds: Vec<u32>,
    /// With squeezed repeats: the byte range of the token each padded grapheme stands for.
    spans: Vec<(u32, u32)>,
    pair: String,
}

/// Turns normalised text into hashed features for one [`FeatureConfig`].
#[derive(Debug, Clone)]
pub struct Featurizer {
    config: FeatureConfig,
    mask: u64,
    word_seed: u64,
}

impl Featurizer {
    /// Errors as [`FeatureConfig::check`].
    pub fn new(config: FeatureConfig) -> Result<Self> {
        config.check()?;
        Ok(Featurizer { config, mask: (1u64 << config.bits) - 1, word_seed: config.seed ^ WORD_SEED_XOR })
    }

    pub fn config(&self) -> &FeatureConfig {
        &self.config
    }

    #[inline]
    fn bucket(&self, bytes: &[u8], seed: u64) -> u32 {
        (xxh3_64_with_seed(bytes, seed) & self.mask) as u32
    }

    /// Bucket of one character n-gram given as its exact bytes (boundary spaces included).
    pub fn char_bucket(&self, ngram: &str) -> u32 {
        self.bucket(ngram.as_bytes(), self.config.seed)
    }

    /// Bucket of one word (or a word pair written `w1 w2`).
    pub fn word_bucket(&self, word: &str) -> u32 {
        self.bucket(word.as_bytes(), self.word_seed)
    }

    /// Push the bucket of every feature occurrence of `text` (already normalised) to `out`.
    /// This is the hot path of training and scoring.
    #[inline]
    pub fn buckets(&self, text: &str, scratch: &mut FeatScratch, out: &mut Vec<u32>) {
        self.visit(text, scratch, &mut Buckets(out));
    }

    /// Count the terms of `text` (already normalised) into `counter`, each bucket turned into a
    /// key by `key` (`None` skips it: the scorer keys buckets by their feature row and skips
    /// buckets that are not features); `first_seen` is called once per distinct key as soon as it
    /// appears (the scorer prefetches the row there).
    ///
    /// `touch` sees each bucket [`KEY_LAG`] n-grams before `key` does, so that a caller whose
    /// `key` reads memory (the scorer's feature index) can prefetch it and overlap the misses
    /// with hashing. Keys are still counted in occurrence order.
    #[inline]
    pub fn count_terms(
        &self,
        text: &str,
        scratch: &mut FeatScratch,
        counter: &mut TermCounter,
        touch: impl Fn(u32),
        key: impl Fn(u32) -> Option<u32>,
        first_seen: impl FnMut(u32),
    ) {
        counter.clear();
        let mut sink = Counting { counter, touch, key, first_seen, lag: [0; KEY_LAG], seen: 0 };
        self.visit(text, scratch, &mut sink);
        sink.flush();
    }

    /// Every feature occurrence of `text` (already normalised) with its kind and span; used to
    /// explain a score.
    pub fn features(&self, text: &str) -> Vec<Feature> {
        let mut out = Vec::new();
        self.visit(text, &mut FeatScratch::default(), &mut Described(&mut out));
        out
    }

    /// The core loop, generic over what is done with each feature, so that the scorer never
    /// even builds the description the explainer needs.
    #[inline]
    fn visit(&self, text: &str, scratch: &mut FeatScratch, sink: &mut impl Sink) {
        let cfg = &self.config;
        let mut prev_word: Option<Range<usize>> = None;
        for token in Tokens::new(text) {
            let word = token.is_word;
            let range = token.range.clone();
            let tok = &text[range.clone()];
            if cfg.char_max > 0 {
                self.char_ngrams(tok, range.start, scratch, sink);
            }
            if word && cfg.word_ngrams >= 1 {
                sink.emit(self.bucket(tok.as_bytes(), self.word_seed), || {
                    (FeatureKind::Word, range.clone(), true, true)
                });
                if cfg.word_ngrams >= 2 {
                    if let Some(prev) = prev_word.take() {
                        let pair = &mut scratch.pair;
                        pair.clear();
                        pair.push_str(&text[prev.clone()]);
                        pair.push(' ');
                        pair.push_str(tok);
                        let b = self.bucket(pair.as_bytes(), self.word_seed);
                        sink.emit(b, || (FeatureKind::WordPair, prev.start..range.end, true, true));
                    }
                }
            }
            prev_word = if word { Some(range) } else { None };
        }
    }

    #[inline]
    fn char_ngrams(&self, tok: &str, offset: usize, scratch: &mut FeatScratch, sink: &mut impl Sink) {
        let padded = &mut scratch.padded;
        padded.clear();
        padded.push(' ');
        let bounds = &mut scratch.bounds;
        bounds.clear();
        bounds.push(0);
        let spans = &mut scratch.spans;
        let (simple, repeat) = scan(tok);
        // Multi-character graphemes take the grapheme path too: two of them may be equal.
        let squeezed = self.config.squeeze_repeats && (repeat || !simple);
        if squeezed {
            // Keep the first of each run of one letter; its span grows over the ones dropped, so
            // that explain still highlights the whole run in the text.
            spans.clear();
            spans.push((0, 0));
            let mut last = "";
            let mut keep = |i: usize, gr: &'_ str| {
                let end = (i + gr.len()) as u32;
                if gr == last && gr.chars().next().is_some_and(char::is_alphabetic) {
                    spans.last_mut().expect("a grapheme before").1 = end;
                    return;
                }
                bounds.push(padded.len() as u32);
                padded.push_str(gr);
                spans.push((i as u32, end));
                last = &tok[i..end as usize];
            };
            if simple {
                tok.char_indices().for_each(|(i, c)| keep(i, &tok[i..i + c.len_utf8()]));
            } else {
                tok.grapheme_indices(true).for_each(|(i, gr)| keep(i, gr));
            }
            spans.push((tok.len() as u32, tok.len() as u32));
        } else {
            padded.push_str(tok);
            if simple {
                bounds.extend(tok.char_indices().map(|(i, _)| i as u32 + 1));
            } else {
                bounds.extend(tok.grapheme_indices(true).map(|(i, _)| i as u32 + 1));
            }
        }
        bounds.push(padded.len() as u32);
        padded.push(' ');
        bounds.push(padded.len() as u32);
        let g = bounds.len() - 1; // grapheme clusters in the padded token
        let bytes = padded.as_bytes();
        let seed = self.config.seed;
        let len = tok.len();
        for n in self.config.char_min as usize..=self.config.char_max as usize {
            let whole = n >= g;
            let n = if whole { g } else { n };
            // Each window of n + 1 boundaries is one n-gram: no index arithmetic to check.
            for (i, w) in bounds.windows(n + 1).enumerate() {
                // A lone boundary marker is not a feature.
                if n == 1 && (i == 0 || i == g - 1) {
                    continue;
                }
                let (a, b) = (w[0] as usize, w[n] as usize);
                let bucket = self.bucket(&bytes[a..b], seed);
                sink.emit(bucket, || {
                    let (start, end) = if squeezed {
                        (spans[i].0 as usize, spans[i + n - 1].1 as usize)
                    } else {
                        (a.saturating_sub(1).min(len), b.saturating_sub(1).min(len))
                    };
                    (FeatureKind::Chars(n as u8), offset + start..offset + end, i == 0, i + n == g)
                });
            }
            if whole {
                break;
            }
        }
    }
}

/// One pass over a token: whether every character is a grapheme of its own (so UAX #29 can be
/// skipped), and whether the same letter comes twice in a row (so squeezing changes it).
#[inline]
fn scan(tok: &str) -> (bool, bool) {
    let (mut simple, mut repeat, mut prev) = (true, false, None);
    for c in tok.chars() {
        simple &= one_char_grapheme(c);
        repeat |= prev == Some(c) && c.is_alphabetic();
        prev = Some(c);
    }
    (simple, repeat)
}

/// Receives features from [`Featurizer::visit`]. `describe` is only called by sinks that want
/// the kind and span; being generic, it costs nothing to the others.
trait Sink {
    fn emit(&mut self, bucket: u32, describe: impl FnOnce() -> (FeatureKind, Range<usize>, bool, bool));
}

struct Buckets<'a>(&'a mut Vec<u32>);

impl Sink for Buckets<'_> {
    #[inline(always)]
    fn emit(&mut self, bucket: u32, _: impl FnOnce() -> (FeatureKind, Range<usize>, bool, bool)) {
        self.0.push(bucket);
    }
}

/// How many n-grams [`Featurizer::count_terms`] looks ahead: enough hashing to hide an L2 or L3
/// hit on the scorer's feature index. A power of two.
pub const KEY_LAG: usize = 8;

struct Counting<'a, T, K, F> {
    counter: &'a mut TermCounter,
    touch: T,
    key: K,
    first_seen: F,
    /// The last `KEY_LAG` buckets, not yet keyed (a ring indexed by `seen`).
    lag: [u32; KEY_LAG],
    seen: usize,
}

impl<T: Fn(u32), K: Fn(u32) -> Option<u32>, F: FnMut(u32)> Counting<'_, T, K, F> {
    #[inline(always)]
    fn count(&mut self, bucket: u32) {
        if let Some(k) = (self.key)(bucket) {
            if self.counter.add(k) {
                (self.first_seen)(k);
            }
        }
    }

    /// Key the buckets still in the ring, oldest first.
    #[inline]
    fn flush(&mut self) {
        for i in self.seen.saturating_sub(KEY_LAG)..self.seen {
            self.count(self.lag[i % KEY_LAG]);
        }
    }
}

impl<T: Fn(u32), K: Fn(u32) -> Option<u32>, F: FnMut(u32)> Sink for Counting<'_, T, K, F> {
    #[inline(always)]
    fn emit(&mut self, bucket: u32, _: impl FnOnce() -> (FeatureKind, Range<usize>, bool, bool)) {
        (self.touch)(bucket);
        let slot = self.seen % KEY_LAG;
        if self.seen >= KEY_LAG {
            self.count(self.lag[slot]);
        }
        self.lag[slot] = bucket;
        self.seen += 1;
    }
}

struct Described<'a>(&'a mut Vec<Feature>);

impl Sink for Described<'_> {
    fn emit(&mut self, bucket: u32, describe: impl FnOnce() -> (FeatureKind, Range<usize>, bool, bool)) {
        let (kind, span, at_start, at_end) = describe();
        self.0.push(Feature { bucket, kind, span, at_start, at_end });
    }
}

/// Characters that are always a grapheme cluster on their own (no marks, joiners or prepends):
/// Latin below the combining block, and the Arabic letters. Lets common text skip UAX #29.
#[inline]
fn one_char_grapheme(c: char) -> bool {
    c < '\u{300}' || ('\u{621}'..='\u{64A}').contains(&c)
}

#[inline]
pub(crate) fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric()
    } else {
        ('\u{621}'..='\u{64A}').contains(&c) || c.is_alphanumeric() || unicode_normalization::char::is_combining_mark(c)
    }
}

/// A token: a run of word characters, or a run of other non-space characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub range: Range<usize>,
    pub is_word: bool,
}

/// Splits text at whitespace and at changes between word and non-word characters.
pub struct Tokens<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Tokens<'a> {
    pub fn new(text: &'a str) -> Self {
        Tokens { text, pos: 0 }
    }
}

impl Iterator for Tokens<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        let rest = &self.text[self.pos..];
        let mut chars = rest.char_indices();
        let (start, first) = loop {
            let (i, c) = chars.next()?;
            if !c.is_whitespace() {
                break (i, c);
            }
        };
        let is_word = is_word_char(first);
        let mut end = rest.len();
        for (i, c) in chars {
            if c.is_whitespace() || is_word_char(c) != is_word {
                end = i;
                break;
            }
        }
        let token = Token { range: self.pos + start..self.pos + end, is_word };
        self.pos += end;
        Some(token)
    }
}

/// Runs of equal values in a sorted slice: (value, count). Turns sorted buckets into term counts.
pub fn runs(sorted: &[u32]) -> impl Iterator<Item = (u32, usize)> + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        let &b = sorted.get(i)?;
        let start = i;
        while i < sorted.len() && sorted[i] == b {
            i += 1;
        }
        Some((b, i - start))
    })
}

/// Counts the bucket occurrences of one text in an open-addressing table small enough to stay in
/// L1 cache, reset in O(1) by a generation stamp. Faster than sorting the buckets, and lets the
/// caller prefetch each distinct bucket's weights the moment it is first seen.
#[derive(Debug, Default)]
pub struct TermCounter {
    slots: Vec<Slot>,
    used: Vec<u32>,
    generation: u32,
}

#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    key: u32,
    count: u32,
    generation: u32,
}

impl TermCounter {
    /// Start a new text. O(1), except after a long text, whose big table is dropped so that the
    /// next ones fit in cache again.
    #[inline]
    pub fn clear(&mut self) {
        if self.slots.len() < 256 || self.slots.len() > 1 << 12 {
            self.slots = vec![Slot::default(); 256];
            self.generation = 0;
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.slots.fill(Slot::default());
            self.generation = 1;
        }
        self.used.clear();
    }

    /// Count one occurrence of `bucket`; true the first time it is seen since `clear`.
    #[inline(always)]
    pub fn add(&mut self, bucket: u32) -> bool {
        let mask = self.slots.len() - 1;
        // Buckets are hash outputs already: their low bits index the table well.
        let mut i = bucket as usize & mask;
        loop {
            let slot = &mut self.slots[i];
            if slot.generation != self.generation {
                *slot = Slot { key: bucket, count: 1, generation: self.generation };
                self.used.push(i as u32);
                if self.used.len() * 2 > self.slots.len() {
                    self.grow();
                }
                return true;
            }
            if slot.key == bucket {
                slot.count += 1;
                return false;
            }
            i = (i + 1) & mask;
        }
    }

    /// Double the table (load factor above ½), keeping first-seen order.
    #[cold]
    fn grow(&mut self) {
        let old: Vec<(u32, u32)> = self.terms().collect();
        self.slots = vec![Slot::default(); self.slots.len() * 2];
        self.generation = 1;
        self.used.clear();
        let mask = self.slots.len() - 1;
        for (key, count) in old {
            let mut i = key as usize & mask;
            while self.slots[i].generation == 1 {
                i = (i + 1) & mask;
            }
            self.slots[i] = Slot { key, count, generation: 1 };
            self.used.push(i as u32);
        }
    }

    /// Count `buckets` from scratch; `first_seen` is called once per distinct bucket, in
    /// first-seen order.
    pub fn count(&mut self, buckets: &[u32], mut first_seen: impl FnMut(u32)) {
        self.clear();
        for &b in buckets {
            if self.add(b) {
                first_seen(b);
            }
        }
    }

    /// (bucket, count) of the last `count` call, in first-seen order.
    #[inline]
    pub fn terms(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.used.iter().map(|&i| {
            let s = self.slots[i as usize];
            (s.key, s.count)
        })
    }

    /// Number of distinct buckets of the last `count` call.
    pub fn len(&self) -> usize {
        self.used.len()
    }

    pub fn is_empty(&self) -> bool {
        self.used.is_empty()
    }
}
