//! HTML comment bodies → plain text, for Coral's phase (which may send `comment.body` as HTML)
//! and Perspective's `comment.type: "HTML"`.
//!
//! Coral sanitises bodies to a few inline and block tags (b, i, a, br, div, span, blockquote,
//! ...), so a small, forgiving scanner is enough: tags are dropped (block tags and `<br>` become
//! one line break, so words on either side do not run together), `<script>`/`<style>` contents and
//! comments are dropped, character references are decoded. Malformed markup degrades to text,
//! never to an error: a lone `<` or `&` is kept as written.

/// Tags that break a line: the words on each side are separate.
fn is_block(tag: &str) -> bool {
    matches!(
        tag,
        "br" | "p"
            | "div"
            | "li"
            | "ul"
            | "ol"
            | "blockquote"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "tr"
            | "td"
            | "th"
            | "hr"
            | "pre"
    )
}

/// Plain text of an HTML fragment (see the module docs), trimmed.
pub(crate) fn to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(c) = rest.chars().next() {
        match c {
            '<' => {
                if let Some(after) = rest.strip_prefix("<!--") {
                    rest = after.find("-->").map_or("", |i| &after[i + 3..]);
                    continue;
                }
                match parse_tag(rest) {
                    Some((name, closing, len)) => {
                        rest = &rest[len..];
                        if is_block(&name) {
                            newline(&mut out);
                        } else if !closing && (name == "script" || name == "style") {
                            rest = skip_raw_text(rest, &name);
                        }
                    }
                    None => {
                        out.push('<');
                        rest = &rest[1..];
                    }
                }
            }
            '&' => {
                let (decoded, len) = entity(rest);
                match decoded {
                    Some(ch) => out.push(ch),
                    None => out.push('&'),
                }
                rest = &rest[len..];
            }
            _ => {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    let trimmed = out.trim();
    if trimmed.len() == out.len() {
        out
    } else {
        trimmed.to_string()
    }
}

fn newline(out: &mut String) {
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
}

/// `<name ...>` or `</name ...>` at the start of `s`: lower-case name, whether closing, byte
/// length through `>`. Quoted attribute values may hold `>`. None if it is not a tag (`a < b`).
fn parse_tag(s: &str) -> Option<(String, bool, usize)> {
    let b = s.as_bytes();
    let mut i = 1;
    let closing = b.get(i) == Some(&b'/');
    if closing {
        i += 1;
    }
    let name_start = i;
    while i < b.len() && b[i].is_ascii_alphanumeric() {
        i += 1;
    }
    if i == name_start || !b[name_start].is_ascii_alphabetic() {
        return None;
    }
    let name = s[name_start..i].to_ascii_lowercase();
    let mut quote = None;
    while i < b.len() {
        match (quote, b[i]) {
            (None, b'>') => return Some((name, closing, i + 1)),
            (None, q @ (b'"' | b'\'')) => quote = Some(q),
            (Some(q), c) if c == q => quote = None,
            _ => {}
        }
        i += 1;
    }
    None
}

/// Skip past `</name>` (case-insensitive), or to the end.
fn skip_raw_text<'a>(s: &'a str, name: &str) -> &'a str {
    let close = format!("</{name}");
    let lower = s.to_ascii_lowercase();
    match lower.find(&close) {
        Some(i) => {
            let after = &s[i..];
            after.find('>').map_or("", |j| &after[j + 1..])
        }
        None => "",
    }
}

/// Decode a character reference at the start of `s` (`&amp;`, `&#1575;`, `&#x627;`); returns the
/// character (None if not a reference) and how many bytes it took (1 for a lone `&`).
fn entity(s: &str) -> (Option<char>, usize) {
    let Some(end) = s.as_bytes().iter().take(12).position(|&b| b == b';') else {
        return (None, 1);
    };
    let name = &s[1..end];
    let ch = match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "nbsp" => Some(' '),
        _ => {
            let num = name.strip_prefix('#');
            let code = num.and_then(|n| match n.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok(),
                None => n.parse::<u32>().ok(),
            });
            // Invalid code points (surrogates, > U+10FFFF, NUL) become U+FFFD, as browsers do.
            code.map(|c| char::from_u32(c).filter(|&c| c != '\0').unwrap_or('\u{FFFD}'))
        }
    };
    match ch {
        Some(c) => (Some(c), end + 1),
        None => (None, 1),
    }
}

#[cfg(test)]
mod tests {
    use super::to_text;

    #[test]
    fn strips_tags_and_decodes_entities() {
        assert_eq!(to_text("<b>kill</b> them <i>all</i>"), "kill them all");
        assert_eq!(to_text("first<br>second"), "first\nsecond");
        assert_eq!(to_text("<div>one</div><div>two</div>"), "one\ntwo");
        assert_eq!(to_text("a &amp; b &lt;3 &#1575;&#x644; &nbsp;x"), "a & b <3 ال  x");
        assert_eq!(to_text("<a href=\"x>y\">link</a>"), "link");
        assert_eq!(to_text("<script>alert(1)</script>ok<style>p{}</STYLE>!"), "ok!");
        assert_eq!(to_text("<!-- hidden -->shown"), "shown");
    }

    #[test]
    fn malformed_markup_is_text_not_an_error() {
        assert_eq!(to_text("a < b and c > d"), "a < b and c > d");
        assert_eq!(to_text("AT&T &bogus; &#xZZ; &#99999999;"), "AT&T &bogus; &#xZZ; \u{FFFD}");
        assert_eq!(to_text("<b unterminated"), "<b unterminated");
        assert_eq!(to_text("<!-- never closed"), "");
        assert_eq!(to_text("<script>never closed"), "");
        assert_eq!(to_text("&"), "&");
        assert_eq!(to_text("<"), "<");
        assert_eq!(to_text("&#0;"), "\u{FFFD}");
        assert_eq!(to_text("<p>اقتلوهم</p>"), "اقتلوهم");
    }
}
