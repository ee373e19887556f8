//! Lines of JSON objects: one pass over the text records, for every object value, its
//! path (object keys and array indices) and the line where it starts (the line of its
//! key inside an object, of its `{` inside an array). serde_json gives values without
//! positions; this gives the positions without values.

use std::collections::HashMap;

const SEP: char = '\u{1f}';

/// Path → line of every object in a JSON text.
#[derive(Debug, Default)]
pub struct JsonIndex {
    lines: HashMap<String, usize>,
}

enum Frame {
    Obj { key: String, want_key: bool },
    Arr { idx: usize },
}

impl JsonIndex {
    /// Index `text` (invalid JSON gives a partial index, never an error).
    pub fn build(text: &str) -> JsonIndex {
        let b = text.as_bytes();
        let mut lines = HashMap::new();
        let mut stack: Vec<Frame> = Vec::new();
        let mut line = 1usize;
        let mut key_line = 1usize;
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            match c {
                b'\n' => line += 1,
                b'"' => {
                    let start = i + 1;
                    let mut j = start;
                    while j < b.len() && b[j] != b'"' {
                        if b[j] == b'\\' {
                            j += 1;
                        } else if b[j] == b'\n' {
                            line += 1;
                        }
                        j += 1;
                    }
                    let end = j.min(b.len());
                    if let Some(Frame::Obj { key, want_key }) = stack.last_mut() {
                        if *want_key {
                            *key = text.get(start..end).unwrap_or_default().to_string();
                            *want_key = false;
                            key_line = line;
                        }
                    }
                    i = end + 1;
                    continue;
                }
                b'{' | b'[' => {
                    let at = match stack.last() {
                        Some(Frame::Obj { .. }) => key_line,
                        _ => line,
                    };
                    if c == b'{' {
                        let mut path = String::new();
                        for (n, f) in stack.iter().enumerate() {
                            if n > 0 {
                                path.push(SEP);
                            }
                            match f {
                                Frame::Obj { key, .. } => path.push_str(key),
                                Frame::Arr { idx } => path.push_str(&idx.to_string()),
                            }
                        }
                        lines.entry(path).or_insert(at);
                        stack.push(Frame::Obj {
                            key: String::new(),
                            want_key: true,
                        });
                    } else {
                        stack.push(Frame::Arr { idx: 0 });
                    }
                }
                b'}' | b']' => {
                    stack.pop();
                }
                b',' => match stack.last_mut() {
                    Some(Frame::Obj { want_key, .. }) => *want_key = true,
                    Some(Frame::Arr { idx }) => *idx += 1,
                    None => {}
                },
                _ => {}
            }
            i += 1;
        }
        JsonIndex { lines }
    }

    /// Line of the object at `path` (keys / array indices from the root, root excluded).
    pub fn line(&self, path: &[&str]) -> Option<usize> {
        let key = path.join(&SEP.to_string());
        self.lines.get(&key).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_objects() {
        let t = "{\n  \"a\": {\n    \"b\": [\n      {\"x\": 1},\n      {\n \"y\": {}}\n    ]\n  },\n  \"c\\\"d\": {}\n}";
        let ix = JsonIndex::build(t);
        assert_eq!(ix.line(&["a"]), Some(2));
        assert_eq!(ix.line(&["a", "b", "0"]), Some(4));
        assert_eq!(ix.line(&["a", "b", "1"]), Some(5));
        assert_eq!(ix.line(&["a", "b", "1", "y"]), Some(6));
        assert_eq!(ix.line(&["c\\\"d"]), Some(9));
        assert_eq!(ix.line(&["zz"]), None);
    }
}
