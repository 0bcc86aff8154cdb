//! Following CSV quoting alongside the csv reader, to report what it accepts silently: a quoted
//! field still open at the end of the input (which would merge every later line into one row),
//! and text after the closing quote of a quoted field (`"she said "no" twice"`: a quote inside
//! the field that is not doubled). The csv crate reads the latter leniently, and when the stray
//! quote is the last of its line the field stays open across lines, swallowing the next rows.

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

/// The first character found after the closing quote of a quoted field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct StrayQuote {
    /// Line where the quoted field opened.
    pub opened: u64,
    /// 1-based line and character column of the character after the quote.
    pub line: u64,
    pub column: u64,
    /// Byte offset of that character from the start of the input.
    pub offset: u64,
}

/// Passes bytes through to the csv reader while following its quoting rules, to notice what the
/// csv crate does not report: a quoted field still open at the end of the input, and the first
/// stray quote. Only the state is kept, so memory stays constant however large the input.
pub(crate) struct QuoteTracker {
    inner: Box<dyn Read>,
    delimiter: u8,
    enabled: bool,
    state: QuoteState,
    /// 1-based line of the next byte.
    line: u64,
    /// 1-based character column of the next byte (UTF-8 continuation bytes do not count).
    column: u64,
    /// Bytes seen so far.
    offset: u64,
    stray: Option<StrayQuote>,
    eof: bool,
}

impl QuoteTracker {
    pub(super) fn new(inner: Box<dyn Read>, delimiter: u8, enabled: bool) -> Self {
        QuoteTracker {
            inner,
            delimiter,
            enabled,
            state: QuoteState::FieldStart,
            line: 1,
            column: 1,
            offset: 0,
            stray: None,
            eof: false,
        }
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
                QuoteState::AfterQuote { line } => {
                    if self.stray.is_none() {
                        let (column, offset) = (self.column, self.offset);
                        self.stray = Some(StrayQuote { opened: line, line: self.line, column, offset });
                    }
                    QuoteState::Unquoted
                }
            };
            self.offset += 1;
            if b == b'\n' {
                self.line += 1;
                self.column = 1;
            } else if b & 0xC0 != 0x80 {
                self.column += 1;
            }
        }
    }

    /// The first stray quote, once the csv reader has consumed `consumed` bytes past it: the
    /// tracker reads ahead of the records, so the record that holds the stray character is the
    /// first one after which this answers.
    pub(super) fn stray_quote_before(&self, consumed: u64) -> Option<StrayQuote> {
        self.stray.filter(|s| s.offset < consumed)
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
    fn stray_quote_far_into_the_file_is_reported_at_its_record() {
        // The tracker reads ahead of the csv reader by a buffer or more: the error must come
        // with the record that holds the stray character, after every earlier row.
        let mut csv = String::from("text,label\n");
        for i in 0..20_000 {
            csv += &format!("\"comment {i}, quoted\",0\n");
        }
        let bad_line = 2 + 20_000;
        csv += "\"say \"hi\" now\",1\nafter,0\n";
        let got = rows(csv.as_bytes(), true);
        assert_eq!(got.len(), 20_001);
        assert!(got[..20_000].iter().all(|r| r.is_ok()));
        let e = got[20_000].as_ref().unwrap_err().to_string();
        assert!(e.contains(&format!("t.csv:{bad_line}:7:")) && e.contains("must be doubled"), "{e}");
    }

    #[test]
    fn stray_quote_column_counts_characters_and_the_opening_line() {
        // A field opened on line 2 and "closed" by the quote that starts line 4.
        let got = rows("text,label\n\"غير مغلق,1\nسطر,0\n\"x\",1\n".as_bytes(), true);
        let e = got.last().unwrap().as_ref().unwrap_err().to_string();
        assert!(e.contains("t.csv:4:2:") && e.contains("opened on line 2"), "{e}");
        // In the header too.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.csv");
        std::fs::write(&path, "\"te\"xt,label\na,1\n").unwrap();
        let e = TableReader::open(&path, &ReadOptions::default()).err().unwrap().to_string();
        assert!(e.contains("h.csv:1:5:"), "{e}");
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
