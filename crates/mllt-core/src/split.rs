//! The head / medium / tail split of classes by their training counts.
//!
//! The reference code (`tools/create_longtail_dataset.py`) uses head n ≥ 100, medium 20 ≤ n < 100, tail n < 20.
//! The paper's text says "over 100", but only ≥ 100 gives its published 6/6/8 (VOC-MLT) and 22/33/25 (COCO-MLT)
//! splits, so ≥ 100 is the default. This module is the single source of truth for the rule.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A class group of the split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Group {
    Head,
    Medium,
    Tail,
}

impl Group {
    /// All groups, head first.
    pub const ALL: [Group; 3] = [Group::Head, Group::Medium, Group::Tail];

    /// The lowercase name used in JSON and tables.
    pub fn name(self) -> &'static str {
        match self {
            Group::Head => "head",
            Group::Medium => "medium",
            Group::Tail => "tail",
        }
    }
}

/// Thresholds of the split: head n ≥ `head_min`, medium `medium_min` ≤ n < `head_min`, tail n < `medium_min`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitRule {
    pub head_min: usize,
    pub medium_min: usize,
}

impl Default for SplitRule {
    /// The reference thresholds: 100 and 20.
    fn default() -> Self {
        SplitRule {
            head_min: 100,
            medium_min: 20,
        }
    }
}

impl SplitRule {
    /// A rule with the given thresholds; `medium_min` must not exceed `head_min`.
    pub fn new(head_min: usize, medium_min: usize) -> Result<Self> {
        if medium_min > head_min {
            return Err(Error::Invalid(format!(
                "split thresholds: medium minimum {medium_min} exceeds head minimum {head_min}"
            )));
        }
        Ok(SplitRule {
            head_min,
            medium_min,
        })
    }

    /// The group of a class with `n` training positives.
    pub fn group(&self, n: usize) -> Group {
        if n >= self.head_min {
            Group::Head
        } else if n >= self.medium_min {
            Group::Medium
        } else {
            Group::Tail
        }
    }

    /// The split of classes with the given training counts.
    pub fn split(&self, counts: &[usize]) -> Split {
        Split {
            groups: counts.iter().map(|&n| self.group(n)).collect(),
        }
    }
}

/// The group of every class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    groups: Vec<Group>,
}

impl Split {
    /// The group of class `c`.
    pub fn group(&self, c: usize) -> Group {
        self.groups[c]
    }

    /// The groups of all classes, in class order.
    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    /// The class indices of group `g`, ascending.
    pub fn members(&self, g: Group) -> Vec<usize> {
        (0..self.groups.len())
            .filter(|&c| self.groups[c] == g)
            .collect()
    }

    /// `{"head": [names], "medium": [...], "tail": [...]}`.
    pub fn to_json(&self, class_names: &[String]) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        for g in Group::ALL {
            let names: Vec<&str> = self
                .members(g)
                .into_iter()
                .map(|c| class_names[c].as_str())
                .collect();
            m.insert(g.name().into(), names.into());
        }
        m.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_follow_the_reference() {
        let r = SplitRule::default();
        assert_eq!(r.group(100), Group::Head);
        assert_eq!(r.group(99), Group::Medium);
        assert_eq!(r.group(20), Group::Medium);
        assert_eq!(r.group(19), Group::Tail);
        assert_eq!(r.group(0), Group::Tail);
        let s = r.split(&[5, 100, 20, 300]);
        assert_eq!(s.members(Group::Head), vec![1, 3]);
        assert_eq!(s.members(Group::Medium), vec![2]);
        assert_eq!(s.members(Group::Tail), vec![0]);
        assert!(SplitRule::new(10, 20).is_err());
    }
}
