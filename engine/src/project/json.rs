//! A JSON reader that remembers where each object member's value starts, so that a
//! malformed file is reported at `file:line:col` and a value read from it (a dotted key like
//! `engines.runtime`) can be cited at its line and column.
//!
//! Strict JSON (RFC 8259): no comments, no trailing commas. A key given twice keeps its last
//! value, as JavaScript does. Work is linear in the input; nesting is limited to
//! [`MAX_DEPTH`] levels so a hostile file cannot exhaust the stack.

use std::collections::BTreeMap;

use serde_json::{Map, Number, Value};

/// Deepest nesting of arrays and objects accepted.
pub const MAX_DEPTH: usize = 128;

/// A parsed JSON document and where its object members' values start.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonDocument {
    /// The value.
    pub value: Value,
    /// Key path (object keys; array items as their index) -> byte offset of the value.
    positions: BTreeMap<Vec<String>, usize>,
}

/// Why a text is not JSON, at a byte offset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct JsonError {
    /// Byte offset of the problem.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

impl JsonDocument {
    /// Parses a whole text as one JSON value.
    pub fn parse(text: &str) -> Result<JsonDocument, JsonError> {
        let mut p = Parser { text, bytes: text.as_bytes(), at: 0, positions: BTreeMap::new() };
        p.skip_ws();
        let mut path = Vec::new();
        let value = p.value(&mut path, 0)?;
        p.skip_ws();
        if p.at < p.bytes.len() {
            return Err(p.error("unexpected text after the JSON value"));
        }
        Ok(JsonDocument { value, positions: p.positions })
    }

    /// The value at a dotted key path (`engines.runtime`), if present.
    pub fn get(&self, dotted: &str) -> Option<&Value> {
        dotted.split('.').try_fold(&self.value, |v, key| match v {
            Value::Object(m) => m.get(key),
            Value::Array(a) => key.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        })
    }

    /// The byte offset where the value at a dotted key path starts, if present.
    pub fn offset_of(&self, dotted: &str) -> Option<usize> {
        let key: Vec<String> = dotted.split('.').map(str::to_string).collect();
        self.positions.get(&key).copied()
    }
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
    positions: BTreeMap<Vec<String>, usize>,
}

impl Parser<'_> {
    fn error(&self, message: impl Into<String>) -> JsonError {
        JsonError { offset: self.at.min(self.bytes.len()), message: message.into() }
    }

    fn skip_ws(&mut self) {
        while self.at < self.bytes.len() && matches!(self.bytes[self.at], b' ' | b'\t' | b'\n' | b'\r') {
            self.at += 1;
        }
    }

    fn expect_word(&mut self, word: &str, value: Value) -> Result<Value, JsonError> {
        if self.text[self.at..].starts_with(word) {
            self.at += word.len();
            Ok(value)
        } else {
            Err(self.error(format!("expected a JSON value (did you mean `{word}`?)")))
        }
    }

    fn value(&mut self, path: &mut Vec<String>, depth: usize) -> Result<Value, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.error(format!("nested more than {MAX_DEPTH} levels deep")));
        }
        match self.bytes.get(self.at) {
            None => Err(self.error("unexpected end of file, expected a JSON value")),
            Some(b'{') => self.object(path, depth),
            Some(b'[') => self.array(path, depth),
            Some(b'"') => self.string().map(Value::String),
            Some(b't') => self.expect_word("true", Value::Bool(true)),
            Some(b'f') => self.expect_word("false", Value::Bool(false)),
            Some(b'n') => self.expect_word("null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => {
                let c = self.text[self.at..].chars().next().unwrap_or(' ');
                Err(self.error(format!("unexpected `{c}`, expected a JSON value")))
            }
        }
    }

    fn object(&mut self, path: &mut Vec<String>, depth: usize) -> Result<Value, JsonError> {
        self.at += 1;
        let mut map = Map::new();
        self.skip_ws();
        if self.bytes.get(self.at) == Some(&b'}') {
            self.at += 1;
            return Ok(Value::Object(map));
        }
        loop {
            self.skip_ws();
            if self.bytes.get(self.at) != Some(&b'"') {
                let what = if self.bytes.get(self.at) == Some(&b'}') { "a key after `,` (trailing commas are not JSON)" } else { "a key in double quotes" };
                return Err(self.error(format!("expected {what}")));
            }
            let key = self.string()?;
            self.skip_ws();
            if self.bytes.get(self.at) != Some(&b':') {
                return Err(self.error(format!("expected `:` after the key \"{key}\"")));
            }
            self.at += 1;
            self.skip_ws();
            path.push(key.clone());
            self.positions.insert(path.clone(), self.at);
            let value = self.value(path, depth + 1)?;
            path.pop();
            map.insert(key, value);
            self.skip_ws();
            match self.bytes.get(self.at) {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(Value::Object(map));
                }
                None => return Err(self.error("unexpected end of file, expected `,` or `}`")),
                Some(_) => return Err(self.error("expected `,` or `}` after an object member")),
            }
        }
    }

    fn array(&mut self, path: &mut Vec<String>, depth: usize) -> Result<Value, JsonError> {
        self.at += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.bytes.get(self.at) == Some(&b']') {
            self.at += 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_ws();
            if self.bytes.get(self.at) == Some(&b']') {
                return Err(self.error("expected a value after `,` (trailing commas are not JSON)"));
            }
            path.push(items.len().to_string());
            self.positions.insert(path.clone(), self.at);
            items.push(self.value(path, depth + 1)?);
            path.pop();
            self.skip_ws();
            match self.bytes.get(self.at) {
                Some(b',') => self.at += 1,
                Some(b']') => {
                    self.at += 1;
                    return Ok(Value::Array(items));
                }
                None => return Err(self.error("unexpected end of file, expected `,` or `]`")),
                Some(_) => return Err(self.error("expected `,` or `]` after an array item")),
            }
        }
    }

    fn string(&mut self) -> Result<String, JsonError> {
        let start = self.at;
        self.at += 1;
        let mut out = String::new();
        loop {
            let rest = &self.text[self.at..];
            let Some(i) = rest.find(|c: char| c == '"' || c == '\\' || (c as u32) < 0x20) else {
                self.at = start;
                return Err(self.error("unterminated string"));
            };
            out.push_str(&rest[..i]);
            self.at += i;
            match self.bytes[self.at] {
                b'"' => {
                    self.at += 1;
                    return Ok(out);
                }
                b'\\' => {
                    self.at += 1;
                    let Some(&e) = self.bytes.get(self.at) else {
                        return Err(self.error("unterminated string"));
                    };
                    self.at += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => out.push(self.unicode_escape()?),
                        _ => {
                            self.at -= 2;
                            return Err(self.error("invalid escape in a string"));
                        }
                    }
                }
                _ => return Err(self.error("control character in a string (write it as an escape)")),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let digits = self.text.get(self.at..self.at + 4).filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()));
        let Some(d) = digits else {
            return Err(self.error("`\\u` needs four hex digits"));
        };
        self.at += 4;
        Ok(u32::from_str_radix(d, 16).unwrap_or(0))
    }

    fn unicode_escape(&mut self) -> Result<char, JsonError> {
        let first = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&first) {
            if !self.text[self.at..].starts_with("\\u") {
                return Err(self.error("a high surrogate `\\u` escape must be followed by a low one"));
            }
            self.at += 2;
            let second = self.hex4()?;
            if !(0xDC00..0xE000).contains(&second) {
                return Err(self.error("invalid low surrogate in a `\\u` escape"));
            }
            0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
        } else {
            first
        };
        char::from_u32(code).ok_or_else(|| self.error("`\\u` escape is not a character"))
    }

    fn number(&mut self) -> Result<Value, JsonError> {
        let start = self.at;
        let digits = |p: &mut Self| {
            let s = p.at;
            while p.bytes.get(p.at).is_some_and(u8::is_ascii_digit) {
                p.at += 1;
            }
            p.at > s
        };
        if self.bytes.get(self.at) == Some(&b'-') {
            self.at += 1;
        }
        let int_start = self.at;
        if !digits(self) {
            return Err(self.error("expected digits in a number"));
        }
        if self.bytes[int_start] == b'0' && self.at - int_start > 1 {
            self.at = int_start;
            return Err(self.error("numbers cannot have leading zeros"));
        }
        let mut float = false;
        if self.bytes.get(self.at) == Some(&b'.') {
            self.at += 1;
            float = true;
            if !digits(self) {
                return Err(self.error("expected digits after `.`"));
            }
        }
        if matches!(self.bytes.get(self.at), Some(b'e' | b'E')) {
            self.at += 1;
            float = true;
            if matches!(self.bytes.get(self.at), Some(b'+' | b'-')) {
                self.at += 1;
            }
            if !digits(self) {
                return Err(self.error("expected digits in the exponent"));
            }
        }
        let text = &self.text[start..self.at];
        let number = if float {
            text.parse::<f64>().ok().and_then(Number::from_f64)
        } else {
            text.parse::<i64>().ok().map(Number::from).or_else(|| text.parse::<f64>().ok().and_then(Number::from_f64))
        };
        number.map(Value::Number).ok_or_else(|| JsonError { offset: start, message: format!("`{text}` is not a number JSON can hold") })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_values_and_remembers_where_they_start() {
        let text = "{\n  \"name\": \"app\",\n  \"engines\": { \"rt\": \">=18\" },\n  \"list\": [1, -2.5e3, true, null, \"\\u00e9\\ud83d\\ude00\"]\n}\n";
        let doc = JsonDocument::parse(text).unwrap();
        assert_eq!(doc.get("engines.rt").unwrap(), ">=18");
        assert_eq!(doc.get("list.4").unwrap(), "é😀");
        assert_eq!(doc.get("list.1").unwrap().as_f64(), Some(-2500.0));
        let at = doc.offset_of("engines.rt").unwrap();
        assert!(text[at..].starts_with("\">=18\""));
        assert!(text[doc.offset_of("list.2").unwrap()..].starts_with("true"));
        assert_eq!(doc.get("engines.missing"), None);
        assert_eq!(doc.offset_of("nothing"), None);
    }

    #[test]
    fn errors_point_at_the_problem() {
        let cases = [
            ("{\"a\": 1,}", 8, "trailing commas"),
            ("{\"a\" 1}", 5, "expected `:`"),
            ("[1, 2", 5, "end of file"),
            ("{\"a\": tru}", 6, "did you mean `true`"),
            ("{\"a\": \"x}", 6, "unterminated string"),
            ("{} x", 3, "after the JSON value"),
            ("[01]", 1, "leading zeros"),
            ("{'a': 1}", 1, "double quotes"),
            ("", 0, "end of file"),
        ];
        for (text, offset, words) in cases {
            let err = JsonDocument::parse(text).unwrap_err();
            assert_eq!(err.offset, offset, "{text}: {err}");
            assert!(err.message.contains(words), "{text}: {err}");
        }
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = "[".repeat(MAX_DEPTH + 2);
        let err = JsonDocument::parse(&deep).unwrap_err();
        assert!(err.message.contains("nested"), "{err}");
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(JsonDocument::parse(&ok).is_ok());
    }
}
