//! Character classes and folding tables used by the normaliser. Pure functions of one `char`.
//!
//! These tables are part of the model format: a model remembers which switches were on, and the
//! mapping behind each switch must not change meaning between releases (add a switch instead).

/// Invisible and format characters used to split words or hide them from filters: zero-width
/// spaces and joiners, bidi controls, soft hyphen, BOM, variation selectors, tag characters,
/// invisible fillers, and C0/C1 controls other than whitespace.
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00}'..='\u{08}' | '\u{0E}'..='\u{1F}' | '\u{7F}'..='\u{84}' | '\u{86}'..='\u{9F}'
        | '\u{AD}'              // soft hyphen
        | '\u{34F}'             // combining grapheme joiner
        | '\u{61C}'             // arabic letter mark
        | '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' // hangul fillers (blank look-alikes)
        | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}'
        | '\u{200B}'..='\u{200F}' // zero-width space, ZWNJ, ZWJ, LRM, RLM
        | '\u{202A}'..='\u{202E}' // bidi embeddings and overrides
        | '\u{2060}'..='\u{206F}' // word joiner, invisible operators, bidi isolates
        | '\u{FE00}'..='\u{FE0F}' // variation selectors
        | '\u{FEFF}'              // BOM / zero-width no-break space
        | '\u{FFF9}'..='\u{FFFB}'
        | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0000}'..='\u{E007F}' // tags
        | '\u{E0100}'..='\u{E01EF}' // variation selectors supplement
    )
}

/// Arabic harakat, tanween, shadda, sukun, superscript alef, hamza/madda marks and Quranic
/// annotation marks. (Tatweel is separate: it is a letter-like filler, not a mark.)
pub fn is_arabic_mark(c: char) -> bool {
    matches!(c,
        '\u{610}'..='\u{61A}' | '\u{64B}'..='\u{65F}' | '\u{670}'
        | '\u{6D6}'..='\u{6DC}' | '\u{6DF}'..='\u{6E8}' | '\u{6EA}'..='\u{6ED}'
        | '\u{8CA}'..='\u{8E1}' | '\u{8E3}'..='\u{8FF}'
    )
}

pub const TATWEEL: char = '\u{640}';

/// Combining diacritical marks that accent Latin, Greek and Cyrillic letters.
pub fn is_accent_mark(c: char) -> bool {
    matches!(c,
        '\u{300}'..='\u{36F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}'
        | '\u{20D0}'..='\u{20FF}' | '\u{FE20}'..='\u{FE2F}'
    )
}

/// Scripts whose precomposed letters lose their accents under `strip_accents`.
pub fn is_latin_greek_cyrillic(c: char) -> bool {
    matches!(c, '\u{C0}'..='\u{24F}' | '\u{370}'..='\u{3FF}' | '\u{400}'..='\u{52F}' | '\u{1E00}'..='\u{1FFF}')
}

/// Arabic letter variants folded to one form: hamza carriers and alef variants to bare alef/waw/ya,
/// alef maqsura to ya, ta marbuta to ha, and Persian/Urdu/Kurdish letter shapes to the Arabic ones.
pub fn fold_arabic_letter(c: char) -> char {
    match c {
        'أ' | 'إ' | 'آ' | 'ٱ' | '\u{672}' | '\u{673}' | '\u{675}' => 'ا',
        'ى' | 'ئ' | 'ی' | 'ې' | 'ۍ' | 'ێ' | 'ے' | 'ۓ' => 'ي',
        'ؤ' | 'ۄ' | 'ۆ' | 'ۇ' | 'ۈ' | 'ۉ' | 'ۋ' => 'و',
        'ة' | 'ە' | 'ھ' | 'ہ' | 'ۀ' | 'ۂ' | 'ۃ' => 'ه',
        'ک' | 'ڪ' | 'ګ' | 'ڬ' | 'ڭ' | 'ڮ' => 'ك',
        'ڤ' => 'ف',
        'گ' => 'ك',
        _ => c,
    }
}

/// Decimal digits of any script Unicode lists as Nd in these common blocks, to ASCII.
pub fn fold_digit(c: char) -> char {
    const ZEROS: [u32; 12] = [0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66];
    let u = c as u32;
    for zero in ZEROS {
        if (zero..zero + 10).contains(&u) {
            return char::from(b'0' + (u - zero) as u8);
        }
    }
    c
}

/// Cyrillic and Greek letters that look like Latin ones, to the Latin letter. Applied after
/// lower-casing when that switch is on, so upper-case look-alikes are listed too for when it is off.
pub fn fold_homoglyph(c: char) -> char {
    match c {
        // Cyrillic lower case
        'а' => 'a',
        'в' => 'b',
        'е' => 'e',
        'һ' => 'h',
        'і' => 'i',
        'ј' => 'j',
        'к' => 'k',
        'м' => 'm',
        'н' => 'h',
        'о' => 'o',
        'р' => 'p',
        'ԛ' => 'q',
        'ѕ' => 's',
        'т' => 't',
        'у' => 'y',
        'х' => 'x',
        'ԁ' => 'd',
        'ԝ' => 'w',
        'ӏ' => 'l',
        'ү' => 'y',
        'ո' => 'n',
        // Cyrillic upper case
        'А' => 'A',
        'В' => 'B',
        'Е' => 'E',
        'Һ' => 'H',
        'І' => 'I',
        'Ј' => 'J',
        'К' => 'K',
        'М' => 'M',
        'Н' => 'H',
        'О' => 'O',
        'Р' => 'P',
        'Ԛ' => 'Q',
        'Ѕ' => 'S',
        'Т' => 'T',
        'У' => 'Y',
        'Х' => 'X',
        'Ԁ' => 'D',
        'Ԝ' => 'W',
        'Ӏ' => 'l',
        'Ү' => 'Y',
        'С' => 'C',
        'с' => 'c',
        // Greek lower case
        'α' => 'a',
        'β' => 'b',
        'γ' => 'y',
        'ε' => 'e',
        'η' => 'n',
        'ι' => 'i',
        'κ' => 'k',
        'ν' => 'v',
        'ο' => 'o',
        'ρ' => 'p',
        'τ' => 't',
        'υ' => 'u',
        'χ' => 'x',
        'ω' => 'w',
        'ϲ' => 'c',
        'ϳ' => 'j',
        // Greek upper case
        'Α' => 'A',
        'Β' => 'B',
        'Ε' => 'E',
        'Ζ' => 'Z',
        'Η' => 'H',
        'Ι' => 'I',
        'Κ' => 'K',
        'Μ' => 'M',
        'Ν' => 'N',
        'Ο' => 'O',
        'Ρ' => 'P',
        'Τ' => 'T',
        'Υ' => 'Y',
        'Χ' => 'X',
        'Ϲ' => 'C',
        _ => c,
    }
}

/// `char::is_alphabetic`, with the common scripts answered without Unicode's table search.
#[inline]
pub fn is_letter(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphabetic()
    } else if ('\u{621}'..='\u{64A}').contains(&c) {
        true
    } else {
        c.is_alphabetic()
    }
}

/// Separators that may sit between the letters of a word spelled out letter by letter.
pub fn is_spelling_separator(c: char) -> bool {
    matches!(c, ' ' | '.' | '-' | '_' | '·' | '•' | '*' | '‐' | '‑' | '–')
}
