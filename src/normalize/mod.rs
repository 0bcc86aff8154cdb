//! Stage 1: normalisation. Text in, canonical text out, with a map from every output character back
//! to the bytes of the original it came from (so explanations can highlight the original).
//!
//! Each fold is a switch in [`NormalizeConfig`], all on by default, saved in the model. The result is
//! idempotent for every combination of switches: `n(n(x)) == n(x)` (a property test checks it).
//!
//! Order of the steps, per combining sequence (a base character and the marks after it):
//! 1. drop invisible/format characters (zero-width, bidi controls, soft hyphen, BOM, ...);
//! 2. NFKC (folds presentation forms, ligatures, full-width and mathematical letters such as 𝐤𝐢𝐥𝐥);
//! 3. drop Arabic diacritics and Quranic marks, tatweel, Latin/Greek/Cyrillic accents;
//! 4. fold Arabic letter variants and digits of other scripts; lower-case; fold homoglyphs;
//!
//! then over the whole text:
//! 5. collapse whitespace runs to one space, trim;
//! 6. rejoin words spelled letter by letter ("k.i.l.l", "ق ت ل" → "kill", "قتل");
//! 7. collapse runs of 3+ identical letters to 2 ("kiiiill" → "kiill").

mod fold;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};
use std::ops::Range;
use unicode_normalization::char::{decompose_canonical, is_combining_mark};
use unicode_normalization::UnicodeNormalization;

/// Which folds run. Saved in the model file; every field is required there so that a switch added
/// later can default to *off* for old models and keep their meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NormalizeConfig {
    /// Unicode NFKC, applied per combining sequence.
    pub nfkc: bool,
    /// Drop zero-width characters, bidi controls, soft hyphens, BOM, variation selectors, controls.
    pub drop_invisible: bool,
    /// Map every whitespace character to a space, collapse runs, trim the ends.
    pub collapse_whitespace: bool,
    /// Drop Arabic harakat, tanween, shadda, sukun, hamza/madda marks and Quranic marks.
    pub strip_diacritics: bool,
    /// Drop tatweel (ـ).
    pub strip_tatweel: bool,
    /// أ إ آ ٱ → ا, ى ئ → ي, ؤ → و, ة → ه, Persian/Urdu letter shapes → Arabic.
    pub fold_arabic_letters: bool,
    /// Arabic-Indic, Persian and other decimal digits → ASCII.
    pub fold_digits: bool,
    /// Unicode lower-casing.
    pub lowercase: bool,
    /// Cyrillic and Greek look-alikes → Latin letters.
    pub fold_homoglyphs: bool,
    /// Drop accents from Latin, Greek and Cyrillic letters (é → e).
    pub strip_accents: bool,
    /// Runs of 3 or more identical letters → 2.
    pub collapse_elongation: bool,
    /// 3 or more single letters separated by spaces, dots, hyphens or underscores → one word.
    pub rejoin_spelled_letters: bool,
}

impl Default for NormalizeConfig {
    fn default() -> Self {
        NormalizeConfig {
            nfkc: true,
            drop_invisible: true,
            collapse_whitespace: true,
            strip_diacritics: true,
            strip_tatweel: true,
            fold_arabic_letters: true,
            fold_digits: true,
            lowercase: true,
            fold_homoglyphs: true,
            strip_accents: true,
            collapse_elongation: true,
            rejoin_spelled_letters: true,
        }
    }
}

impl NormalizeConfig {
    /// Every switch off: text passes through unchanged.
    pub fn none() -> Self {
        NormalizeConfig {
            nfkc: false,
            drop_invisible: false,
            collapse_whitespace: false,
            strip_diacritics: false,
            strip_tatweel: false,
            fold_arabic_letters: false,
            fold_digits: false,
            lowercase: false,
            fold_homoglyphs: false,
            strip_accents: false,
            collapse_elongation: false,
            rejoin_spelled_letters: false,
        }
    }
}

/// One output character and the byte range of the original text it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Mapped {
    c: char,
    start: u32,
    end: u32,
}

/// Normalised text with its map back to the original.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Normalized {
    /// The normalised text.
    pub text: String,
    /// For each byte offset where a character of `text` starts, in order: the original byte range.
    starts: Vec<u32>,
    spans: Vec<(u32, u32)>,
}

impl Normalized {
    /// Original byte range covered by the normalised byte range `range` (which must lie on
    /// character boundaries of `text`). Empty ranges map to an empty range at the right place.
    pub fn original_span(&self, range: Range<usize>) -> Range<usize> {
        let first = self.starts.partition_point(|&s| (s as usize) < range.start);
        let last = self.starts.partition_point(|&s| (s as usize) < range.end);
        if first >= last {
            let at = self.spans.get(first).map_or_else(|| self.spans.last().map_or(0, |s| s.1), |s| s.0);
            return at as usize..at as usize;
        }
        let start = self.spans[first..last].iter().map(|s| s.0).min().unwrap_or(0);
        let end = self.spans[first..last].iter().map(|s| s.1).max().unwrap_or(0);
        start as usize..end as usize
    }
}

/// Table entry for characters below [`TABLE_LEN`] standing alone (no combining mark after them).
const DROP: u32 = 0x00FF_FFFE;
const SLOW: u32 = 0x00FF_FFFF;
const COMBINING: u32 = 1 << 31;
const TABLE_LEN: usize = 0x800;

/// A combining sequence being collected by [`Normalizer::fold_text`].
#[derive(Clone, Copy)]
struct Pending {
    base: char,
    entry: u32,
    start: usize,
    end: usize,
    /// Marks joined the base: the whole sequence is in the segment buffer.
    multi: bool,
}

/// A normaliser for one [`NormalizeConfig`]. Cheap to share across threads.
#[derive(Clone)]
pub struct Normalizer {
    config: NormalizeConfig,
    /// Result of folding each code point below U+0800 alone, so ASCII, Latin, Greek, Cyrillic and
    /// Arabic letters take one lookup instead of the NFKC machinery.
    table: Box<[u32]>,
}

impl std::fmt::Debug for Normalizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Normalizer").field("config", &self.config).finish()
    }
}

/// Reusable buffers, so that normalising many texts does not allocate per text.
#[derive(Debug, Default)]
pub struct NormScratch {
    chars: Vec<Mapped>,
    raw: Vec<char>,
}

impl Normalizer {
    pub fn new(config: NormalizeConfig) -> Self {
        let mut n = Normalizer { config, table: Box::new([]) };
        let mut table = vec![SLOW; TABLE_LEN];
        let mut raw = Vec::new();
        for (cp, entry) in table.iter_mut().enumerate() {
            let Some(c) = char::from_u32(cp as u32) else { continue };
            raw.clear();
            n.fold_segment(&[c], &mut raw);
            *entry = match raw.as_slice() {
                _ if n.dropped(c) => DROP,
                [] => SLOW,
                [m] => *m as u32,
                _ => SLOW,
            };
            if is_combining_mark(c) {
                *entry |= COMBINING;
            }
        }
        n.table = table.into_boxed_slice();
        n
    }

    pub fn config(&self) -> &NormalizeConfig {
        &self.config
    }

    /// Normalise `text`. See the module docs for the steps.
    pub fn normalize(&self, text: &str) -> String {
        let mut scratch = NormScratch::default();
        let mut out = String::new();
        self.normalize_into(text, &mut scratch, &mut out, None);
        out
    }

    /// Normalise `text` and keep the map back to the original.
    pub fn normalize_mapped(&self, text: &str) -> Normalized {
        let mut scratch = NormScratch::default();
        let mut n = Normalized::default();
        let mut spans = Vec::new();
        self.normalize_into(text, &mut scratch, &mut n.text, Some(&mut spans));
        n.starts = Vec::with_capacity(spans.len());
        let mut at = 0u32;
        for (c, span) in n.text.chars().zip(&spans) {
            n.starts.push(at);
            n.spans.push(*span);
            at += c.len_utf8() as u32;
        }
        n
    }

    /// Bytes that are not valid UTF-8 are replaced by U+FFFD (lossy), never an error: a comment
    /// with one bad byte is still scored.
    pub fn normalize_bytes(&self, bytes: &[u8]) -> String {
        self.normalize(&String::from_utf8_lossy(bytes))
    }

    /// The allocation-free entry point used by the scorer. `out` is cleared first. When `spans` is
    /// given it receives one original byte range per output character.
    pub fn normalize_into(
        &self,
        text: &str,
        scratch: &mut NormScratch,
        out: &mut String,
        spans: Option<&mut Vec<(u32, u32)>>,
    ) {
        out.clear();
        if spans.is_none() {
            // The scorer's path: characters go straight into `out`. Only a text with three or more
            // letters standing alone (a possible spelled-out word, step 6) takes the mapped path.
            let mut direct = Direct { out, prev: None, last: None, alone: Alone::default() };
            self.fold_text(text, &mut scratch.raw, &mut direct);
            if self.config.collapse_whitespace && direct.out.ends_with(' ') {
                direct.out.pop();
            }
            if !self.config.rejoin_spelled_letters || direct.alone.count() < 3 {
                return;
            }
            out.clear();
        }
        let chars = &mut scratch.chars;
        chars.clear();
        self.fold_text(text, &mut scratch.raw, chars);
        if self.config.collapse_whitespace {
            while chars.last().is_some_and(|m| m.c == ' ') {
                chars.pop();
            }
        }
        out.reserve(chars.len());
        let mut alone = Alone::default();
        for m in chars.iter() {
            out.push(m.c);
            alone.see(m.c);
        }
        // Runs of letters were already collapsed as they arrived (in `push`); rejoining spelled
        // letters can make new runs ("k i i i l l"), so collapse again only when it changed text.
        if self.config.rejoin_spelled_letters && alone.count() >= 3 && rejoin_spelled(chars) {
            if self.config.collapse_elongation {
                collapse_elongation(chars);
            }
            out.clear();
            out.extend(chars.iter().map(|m| m.c));
        }
        if let Some(spans) = spans {
            spans.clear();
            spans.extend(chars.iter().map(|m| (m.start, m.end)));
        }
        // Do not let one 10 MB comment pin 120 MB of scratch for the life of the thread.
        if chars.capacity() > 1 << 20 {
            *chars = Vec::new();
        }
    }

    /// Steps 1–5: per combining sequence, into `out`. One table lookup per character: a sequence
    /// is collected until the next non-mark arrives, then folded.
    fn fold_text(&self, text: &str, raw: &mut Vec<char>, out: &mut impl Sink) {
        let mut pending: Option<Pending> = None;
        let mut segment = std::mem::take(raw);
        for (i, c) in text.char_indices() {
            let entry = self.entry(c);
            // Dropped characters are skipped before grouping, so that a tatweel or zero-width
            // character between two marks groups them exactly as the next pass will.
            if entry & !COMBINING == DROP {
                continue;
            }
            if entry & COMBINING != 0 {
                if let Some(p) = &mut pending {
                    if !p.multi {
                        segment.clear();
                        segment.push(p.base);
                        p.multi = true;
                    }
                    segment.push(c);
                    p.end = i + c.len_utf8();
                    continue;
                }
            }
            if let Some(p) = pending.take() {
                self.flush(p, &mut segment, out);
            }
            pending = Some(Pending { base: c, entry, start: i, end: i + c.len_utf8(), multi: false });
        }
        if let Some(p) = pending {
            self.flush(p, &mut segment, out);
        }
        *raw = segment;
    }

    /// Fold one collected combining sequence (`segment` holds it when marks joined the base).
    #[inline(always)]
    fn flush(&self, p: Pending, segment: &mut Vec<char>, out: &mut impl Sink) {
        let offset = |i: usize| u32::try_from(i).unwrap_or(u32::MAX);
        let (s, e) = (offset(p.start), offset(p.end));
        if p.multi || p.entry & !COMBINING == SLOW {
            if !p.multi {
                segment.clear();
                segment.push(p.base);
            }
            let mut folded = Vec::with_capacity(segment.len() + 2);
            self.fold_segment(segment, &mut folded);
            for c in folded {
                self.push(c, s, e, out);
            }
        } else {
            // Entries other than DROP and SLOW hold the folded character.
            let folded = char::from_u32(p.entry & !COMBINING).unwrap_or(p.base);
            self.push(folded, s, e, out);
        }
    }

    /// The table entry of `c`, computed for characters beyond the table.
    #[inline(always)]
    fn entry(&self, c: char) -> u32 {
        match self.table.get(c as usize) {
            Some(&t) => t,
            None => {
                let e = if self.dropped(c) { DROP } else { SLOW };
                if is_combining_mark(c) {
                    e | COMBINING
                } else {
                    e
                }
            }
        }
    }

    /// Steps 2–4 for one combining sequence, into `raw` (no stream rules yet: `push` applies
    /// them); every character maps to the whole sequence.
    fn fold_segment(&self, seg: &[char], raw: &mut Vec<char>) {
        self.fold_segment_once(seg.iter().copied(), raw);
        // A fold can leave a base and mark that NFKC composes differently on the next pass
        // (Cyrillic і + ◌́ → Latin i + ◌́ → í). Fold again until nothing changes, which keeps the
        // whole normaliser idempotent. Only multi-character outputs can be affected.
        let mut rounds = 0;
        while self.config.nfkc && raw.len() > 1 && rounds < 4 {
            let produced = std::mem::take(raw);
            self.fold_segment_once(produced.iter().copied(), raw);
            if *raw == produced {
                break;
            }
            rounds += 1;
        }
    }

    fn fold_segment_once(&self, seg: impl Iterator<Item = char>, raw: &mut Vec<char>) {
        if self.config.nfkc {
            for c in seg.nfkc() {
                self.fold_char(c, raw);
            }
        } else {
            for c in seg {
                self.fold_char(c, raw);
            }
        }
    }

    fn fold_char(&self, c: char, raw: &mut Vec<char>) {
        let cfg = &self.config;
        if self.dropped(c) {
            return;
        }
        let c = if cfg.fold_arabic_letters { fold::fold_arabic_letter(c) } else { c };
        let c = if cfg.fold_digits { fold::fold_digit(c) } else { c };
        if cfg.strip_accents && fold::is_latin_greek_cyrillic(c) {
            decompose_canonical(c, |d| {
                if !fold::is_accent_mark(d) {
                    self.fold_case(d, raw);
                }
            });
        } else {
            self.fold_case(c, raw);
        }
    }

    fn dropped(&self, c: char) -> bool {
        let cfg = &self.config;
        (cfg.drop_invisible && fold::is_invisible(c))
            || (cfg.strip_diacritics && fold::is_arabic_mark(c))
            || (cfg.strip_tatweel && c == fold::TATWEEL)
            || (cfg.strip_accents && fold::is_accent_mark(c))
    }

    fn fold_case(&self, c: char, raw: &mut Vec<char>) {
        if self.config.lowercase && !c.is_lowercase() {
            for l in c.to_lowercase() {
                // Lower-casing can emit a combining dot (İ → i̇) that the earlier steps would drop.
                if !self.dropped(l) {
                    raw.push(self.fold_glyph(l));
                }
            }
        } else {
            raw.push(self.fold_glyph(c));
        }
    }

    fn fold_glyph(&self, c: char) -> char {
        let c = if self.config.fold_homoglyphs { fold::fold_homoglyph(c) } else { c };
        if self.config.collapse_whitespace && c.is_whitespace() {
            ' '
        } else {
            c
        }
    }

    /// Steps 5 and 7 happen here, as characters arrive: whitespace runs and runs of 3+ identical
    /// letters are collapsed without another pass over the text.
    #[inline(always)]
    fn push(&self, c: char, start: u32, end: u32, out: &mut impl Sink) {
        let (before, last) = out.last_two();
        if self.config.collapse_whitespace && c.is_whitespace() {
            if last.is_none_or(|l| l == ' ') {
                return;
            }
            out.push_char(' ', start, end);
            return;
        }
        if self.config.collapse_elongation && before == Some(c) && last == Some(c) && fold::is_letter(c) {
            // The kept letter's span grows to cover the dropped one.
            out.extend_last(end);
            return;
        }
        out.push_char(c, start, end);
    }
}

/// Where folded characters go: the mapped vector (spans kept, for explanations) or straight into
/// the output text (the scorer).
trait Sink {
    /// The last two characters written: (second to last, last).
    fn last_two(&self) -> (Option<char>, Option<char>);
    fn push_char(&mut self, c: char, start: u32, end: u32);
    /// Make the last character's span end at `end` (or later).
    fn extend_last(&mut self, end: u32);
}

impl Sink for Vec<Mapped> {
    #[inline(always)]
    fn last_two(&self) -> (Option<char>, Option<char>) {
        match self.as_slice() {
            [.., a, b] => (Some(a.c), Some(b.c)),
            [b] => (None, Some(b.c)),
            [] => (None, None),
        }
    }
    #[inline(always)]
    fn push_char(&mut self, c: char, start: u32, end: u32) {
        self.push(Mapped { c, start, end });
    }
    #[inline(always)]
    fn extend_last(&mut self, end: u32) {
        if let Some(b) = self.last_mut() {
            b.end = b.end.max(end);
        }
    }
}

/// The scorer's sink: text only, with the little state the stream rules need.
struct Direct<'a> {
    out: &'a mut String,
    prev: Option<char>,
    last: Option<char>,
    alone: Alone,
}

impl Sink for Direct<'_> {
    #[inline(always)]
    fn last_two(&self) -> (Option<char>, Option<char>) {
        (self.prev, self.last)
    }
    #[inline(always)]
    fn push_char(&mut self, c: char, _: u32, _: u32) {
        self.out.push(c);
        self.alone.see(c);
        self.prev = self.last;
        self.last = Some(c);
    }
    #[inline(always)]
    fn extend_last(&mut self, _: u32) {}
}

/// Counts the letters standing alone between separators (or text edges), fed one character at a
/// time: fewer than three means step 6 has nothing to do, which is nearly every text.
#[derive(Default)]
struct Alone {
    alone: usize,
    candidate: bool,
    /// The previous character was not a separator (false at the start: the edge counts as one).
    after_text: bool,
}

impl Alone {
    #[inline(always)]
    fn see(&mut self, c: char) {
        let sep = fold::is_spelling_separator(c);
        if sep && self.candidate {
            self.alone += 1;
        }
        self.candidate = !sep && !self.after_text && fold::is_letter(c);
        self.after_text = !sep;
    }

    fn count(&self) -> usize {
        self.alone + usize::from(self.candidate)
    }
}

impl Default for Normalizer {
    fn default() -> Self {
        Normalizer::new(NormalizeConfig::default())
    }
}

/// Step 6. A "spelled" run is 3+ single letters, each separated from the next by 1–3 separator
/// characters (space, dot, hyphen, underscore, ...). The separators inside the run are removed.
/// Returns whether anything changed.
fn rejoin_spelled(chars: &mut Vec<Mapped>) -> bool {
    let n = chars.len();
    let is_sep = |i: usize| fold::is_spelling_separator(chars[i].c);
    // A single letter: a letter with a separator or the text edge on both sides. The cheap
    // separator tests go first: most characters are not next to one.
    let single = |i: usize| (i + 1 == n || is_sep(i + 1)) && (i == 0 || is_sep(i - 1)) && fold::is_letter(chars[i].c);
    let mut keep = vec![true; 0];
    let mut i = 0;
    while i < n {
        if !single(i) {
            i += 1;
            continue;
        }
        // Walk the chain of single letters starting at i.
        let mut letters = vec![i];
        let mut j = i + 1;
        loop {
            let mut k = j;
            while k < n && k - j < 3 && is_sep(k) {
                k += 1;
            }
            if k > j && k < n && single(k) {
                letters.push(k);
                j = k + 1;
            } else {
                break;
            }
        }
        if letters.len() >= 3 {
            if keep.is_empty() {
                keep = vec![true; n];
            }
            for w in letters.windows(2) {
                for flag in &mut keep[w[0] + 1..w[1]] {
                    *flag = false;
                }
            }
        }
        i = *letters.last().unwrap_or(&i) + 1;
    }
    if keep.is_empty() {
        return false;
    }
    let mut idx = 0;
    chars.retain(|_| {
        idx += 1;
        keep[idx - 1]
    });
    true
}

/// Step 7 again, after a rejoin. The second kept letter's span grows to cover the dropped ones.
fn collapse_elongation(chars: &mut Vec<Mapped>) {
    let mut w = 0;
    for r in 0..chars.len() {
        let m = chars[r];
        if w >= 2 && chars[w - 1].c == m.c && chars[w - 2].c == m.c && fold::is_letter(m.c) {
            chars[w - 1].end = chars[w - 1].end.max(m.end);
            continue;
        }
        chars[w] = m;
        w += 1;
    }
    chars.truncate(w);
}
