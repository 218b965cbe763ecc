//! Provenance: where a gradient matrix or a result came from.
//!
//! Stored as JSON under the key `gradscope` in the Parquet key-value metadata (and in the
//! Arrow schema metadata of IPC streams), so `duckdb -c "select * from
//! parquet_kv_metadata('x.parquet')"` or `pyarrow.parquet.read_metadata` show it. Fields a
//! producer does not know stay null; unknown fields written by newer tools are kept in
//! `extra` and written back, so provenance survives a round trip through older tools.

use crate::grad_matrix::TensorLayout;
use serde::{Deserialize, Serialize};

/// The provenance record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Provenance {
    /// Format version of the gradient matrix ([`crate::FORMAT_VERSION`]).
    pub format_version: u32,
    /// What the file holds: "gradient-matrix", or the name of the table ("vmf-kappa", ...).
    pub kind: String,
    /// The producing tool and its version, e.g. "vmf-kappa 0.1.0".
    pub tool: String,
    /// The producing command line, one element per argument.
    pub command: Vec<String>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub dataset: Option<String>,
    #[serde(default)]
    pub seed: Option<u64>,
    #[serde(default)]
    pub batch_size: Option<u64>,
    /// How minibatches were drawn ("independent", "epoch", "vmf-synthetic", ...).
    #[serde(default)]
    pub sampling: Option<String>,
    /// The parameter layout of a gradient matrix: every sample holds these tensors, in
    /// this order, each flattened row-major.
    #[serde(default)]
    pub layout: Vec<TensorLayout>,
    /// For result tables: the provenance of the input they were computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Box<Provenance>>,
    /// Anything else a producer recorded (synthetic kappa, checkpoint path, ...).
    #[serde(default, flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl Provenance {
    /// A record for `kind` produced by `tool` (name and version) with the current process's
    /// command line.
    pub fn new(kind: &str, tool: &str) -> Self {
        Self {
            format_version: crate::FORMAT_VERSION,
            kind: kind.to_string(),
            tool: tool.to_string(),
            command: std::env::args().collect(),
            ..Self::default()
        }
    }

    /// Serialised JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("provenance serialises")
    }

    /// Parses the JSON; the error says what is wrong with it.
    pub fn from_json(s: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(s)
    }

    /// The provenance of a gradient matrix without `gradscope` metadata: every field
    /// unknown but the layout, which was read from the first sample's tensors (their
    /// order and lengths; each tensor's shape is its length). It says so under
    /// [`Self::LAYOUT_INFERRED`], which result tables carry in their `source`.
    pub fn inferred(layout: Vec<crate::TensorLayout>) -> Self {
        let mut extra = serde_json::Map::new();
        extra.insert(Self::LAYOUT_INFERRED.into(), serde_json::Value::Bool(true));
        Self {
            format_version: crate::FORMAT_VERSION,
            kind: "gradient-matrix".into(),
            layout,
            extra,
            ..Self::default()
        }
    }

    /// The key under which a provenance says its layout was inferred from the data.
    pub const LAYOUT_INFERRED: &'static str = "layout_inferred";

    /// Whether the layout was inferred from the first sample (no `gradscope` metadata).
    pub fn layout_inferred(&self) -> bool {
        self.extra.get(Self::LAYOUT_INFERRED) == Some(&serde_json::Value::Bool(true))
    }

    /// The total number of coordinates in the layout.
    pub fn dim(&self) -> usize {
        self.layout.iter().map(|t| t.numel).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_unknown_fields() {
        let json = r#"{"format_version":1,"kind":"gradient-matrix","tool":"x 1","command":["x"],
            "layout":[{"name":"w","shape":[2,3],"numel":6,"offset":0}],"kappa":5.0}"#;
        let p = Provenance::from_json(json).unwrap();
        assert_eq!(p.dim(), 6);
        assert_eq!(p.extra["kappa"], serde_json::json!(5.0));
        let again = Provenance::from_json(&p.to_json()).unwrap();
        assert_eq!(p, again);
    }
}
