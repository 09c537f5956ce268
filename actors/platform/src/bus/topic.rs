//! RabbitMQ topic-exchange patterns ("RabbitMQ tutorial 5: Topics"): a routing key is words
//! separated by dots; in a pattern `*` stands for exactly one word and `#` for zero or more words.

use super::envelope::BusError;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Word {
    Literal(String),
    One,
    Many,
}

/// A subscription pattern such as `asset.*`, `risk.#` or `#`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicPattern {
    text: String,
    words: Vec<Word>,
}

impl TopicPattern {
    /// Parses a pattern: dot-separated words of `[a-z0-9_-]`, or `*`, or `#`; at most 255 bytes.
    ///
    /// # Errors
    /// [`BusError::InvalidPattern`].
    pub fn parse(pattern: &str) -> Result<Self, BusError> {
        let bad = || BusError::InvalidPattern(pattern.chars().take(300).collect());
        if pattern.is_empty() || pattern.len() > 255 {
            return Err(bad());
        }
        let mut words = Vec::new();
        for w in pattern.split('.') {
            words.push(match w {
                "*" => Word::One,
                "#" => Word::Many,
                _ if !w.is_empty()
                    && w.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'
                    }) =>
                {
                    Word::Literal(w.to_owned())
                }
                _ => return Err(bad()),
            });
        }
        Ok(Self {
            text: pattern.to_owned(),
            words,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `routing_key` matches. Runs in O(words(pattern) x words(key)).
    pub fn matches(&self, routing_key: &str) -> bool {
        let key: Vec<&str> = routing_key.split('.').collect();
        // reach[j]: the pattern prefix consumed so far can end right before key word j.
        let mut reach = vec![false; key.len() + 1];
        reach[0] = true;
        for w in &self.words {
            let mut next = vec![false; key.len() + 1];
            match w {
                Word::Many => {
                    let mut any = false;
                    for j in 0..=key.len() {
                        any |= reach[j];
                        next[j] = any;
                    }
                }
                Word::One => {
                    next[1..].copy_from_slice(&reach[..key.len()]);
                }
                Word::Literal(lit) => {
                    for j in 0..key.len() {
                        next[j + 1] = reach[j] && key[j] == lit;
                    }
                }
            }
            reach = next;
        }
        reach[key.len()]
    }
}
