//! Following CSV quoting alongside the csv reader, to report what it accepts silently: a quoted
//! field still open at the end of the input (which would merge every later line into one row).

#[cfg(test)]
use super::{ReadOptions, Result, Row, TableReader};
use std::io::Read;

/// Where a quote-aware reader stands between two bytes (the csv crate's states, merged).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QuoteState {
    FieldStart,
    Unquoted,
    Quoted {
        line: u64,
    },
    /// Just after a `"` inside a quoted field: the field's end, or the first of `""`.
    AfterQuote {
        line: u64,
    },
}

/// Passes bytes through to the csv reader while following its quoting rules, to notice what the
/// csv crate does not report: a quoted field still open at the end of the input. Only the state
/// is kept, so memory stays constant however large the input.
pub(crate) struct QuoteTracker {
    inner: Box<dyn Read>,
    delimiter: u8,
    enabled: bool,
    state: QuoteState,
    /// 1-based line of the next byte.
    line: u64,
    eof: bool,
}

impl QuoteTracker {
    pub(super) fn new(inner: Box<dyn Read>, delimiter: u8, enabled: bool) -> Self {
        QuoteTracker { inner, delimiter, enabled, state: QuoteState::FieldStart, line: 1, eof: false }
    }

    fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            let end = b == self.delimiter || b == b'\n' || b == b'\r';
            self.state = match self.state {
                QuoteState::FieldStart if b == b'"' => QuoteState::Quoted { line: self.line },
                QuoteState::FieldStart | QuoteState::Unquoted if end => QuoteState::FieldStart,
                QuoteState::FieldStart | QuoteState::Unquoted => QuoteState::Unquoted,
                QuoteState::Quoted { line } if b == b'"' => QuoteState::AfterQuote { line },
                q @ QuoteState::Quoted { .. } => q,
                QuoteState::AfterQuote { line } if b == b'"' => QuoteState::Quoted { line },
                QuoteState::AfterQuote { .. } if end => QuoteState::FieldStart,
                QuoteState::AfterQuote { .. } => QuoteState::Unquoted,
            };
            if b == b'\n' {
                self.line += 1;
            }
        }
    }

    /// The line where a quoted field opened, once the input has ended inside it. That field's
    /// record is necessarily the last one, and the csv reader only sees the end of the input
    /// while reading it, so the check after each record catches exactly that record.
    pub(super) fn unclosed_quote(&self) -> Option<u64> {
        match self.state {
            QuoteState::Quoted { line } if self.eof => Some(line),
            _ => None,
        }
    }
}

impl Read for QuoteTracker {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if self.enabled {
            if n == 0 && !buf.is_empty() {
                self.eof = true;
            }
            self.feed(&buf[..n]);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(bytes: &[u8], quoting: bool) -> Vec<Result<Row>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, bytes).unwrap();
        let opts = ReadOptions { quoting, ..ReadOptions::default() };
        let mut r = TableReader::open(&path, &opts).unwrap();
        std::iter::from_fn(|| r.next_row()).collect()
    }

    #[test]
    fn unclosed_quote_after_many_buffers_is_reported_at_its_line() {
        // Far more than the csv reader's buffer before the bad quote, so that the end of the
        // input is seen long after the first records were returned.
        let mut csv = String::from("text,label\n");
        for i in 0..20_000 {
            csv += &format!("\"comment {i}, quoted\nover two lines\",0\n");
        }
        let bad_line = 2 + 2 * 20_000;
        csv += "\"never closed,1\nmore,0\n";
        let got = rows(csv.as_bytes(), true);
        assert_eq!(got.len(), 20_001);
        assert!(got[..20_000].iter().all(|r| r.is_ok()));
        let e = got[20_000].as_ref().unwrap_err().to_string();
        assert!(e.contains(&format!("t.csv:{bad_line}:")) && e.contains("unbalanced quote"), "{e}");
    }

    #[test]
    fn balanced_and_unquoted_quotes_are_not_errors() {
        // Closed at the very end without a newline; doubled quotes; a quote inside an unquoted
        // field is an ordinary character (the csv crate reads it so).
        let got = rows(b"text,label\n\"a \"\"b\"\" c\",1\nsay \"hi,0\n\"last\",1", true);
        assert_eq!(got.len(), 3);
        assert!(got.iter().all(|r| r.is_ok()), "{got:?}");
        // Without quoting, a leading quote never opens anything.
        let got = rows(b"text,label\n\"open,1\nnext,0\n", false);
        assert_eq!(got.len(), 2);
        assert!(got.iter().all(|r| r.is_ok()));
    }
}
