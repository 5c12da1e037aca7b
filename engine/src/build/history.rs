//! The image's history: one entry per layer, so `docker history` names the block and stage
//! that made each layer (`[pip-requirements/pip-requirements] install the Python
//! requirements`) instead of BuildKit's generic `mount / from exec ...` / `fileop target`.
//!
//! The entries below the first new layer are the base image's own history (read from the
//! Docker API); each op on the result's layer chain ([`crate::llb::layer_chain`]) adds one.
//! New entries carry no `created`: the exporter gives them the base image's time, so the
//! same inputs still give the same image ID. When the layers cannot be matched with
//! certainty (no Docker API, a base image whose history does not account for its layers, a
//! graph shape the chain walker does not know), no history is sent and BuildKit writes its
//! own.

use serde_json::{json, Value};

use crate::llb::{self, pb, LayerChain};

/// Written in each entry's `comment`.
pub const COMMENT: &str = "cogpack";

/// The history for an image whose layers are `chain` over a base whose own history is
/// `base` (oldest first); `None` when it cannot be matched with certainty.
pub fn history(chain: &LayerChain, base: Option<Vec<Value>>, definition: &pb::Definition) -> Option<Vec<Value>> {
    let mut out = match (&chain.base, base) {
        (None, _) => Vec::new(),
        (Some(_), Some(base)) => base,
        (Some(_), None) => return None,
    };
    for digest in &chain.ops {
        let name = definition
            .metadata
            .get(digest)
            .and_then(|m| m.description.get(llb::CUSTOM_NAME))?;
        out.push(json!({ "created_by": name, "comment": COMMENT }));
    }
    Some(out)
}

/// A base image's history from the Docker API (newest first, as the API returns it) and its
/// layer count: oldest-first OCI history entries, or `None` when the entries do not account
/// for exactly `layers` layers.
pub fn base_history(items: &[bollard::models::ImageHistoryResponseItem], layers: usize) -> Option<Vec<Value>> {
    let oldest_first: Vec<_> = items.iter().rev().collect();
    // The API does not say which entries are empty; a zero size is the sign, when the count
    // of the others matches the layers.
    let sized = oldest_first.iter().filter(|i| i.size > 0).count();
    let all_layers = oldest_first.len() == layers;
    if sized != layers && !all_layers {
        return None;
    }
    let out = oldest_first
        .iter()
        .map(|i| {
            let mut e = serde_json::Map::new();
            e.insert("created".into(), json!(crate::images::rfc3339(i.created)));
            if !i.created_by.is_empty() {
                e.insert("created_by".into(), json!(i.created_by));
            }
            if !i.comment.is_empty() {
                e.insert("comment".into(), json!(i.comment));
            }
            if !all_layers && i.size == 0 {
                e.insert("empty_layer".into(), json!(true));
            }
            Value::Object(e)
        })
        .collect();
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::ImageHistoryResponseItem;

    fn item(created: i64, by: &str, size: i64) -> ImageHistoryResponseItem {
        ImageHistoryResponseItem {
            id: "<missing>".into(),
            created,
            created_by: by.into(),
            tags: vec![],
            size,
            comment: String::new(),
        }
    }

    #[test]
    fn base_history_marks_empty_entries_only_when_the_layers_add_up() {
        // Newest first, as the API returns it: ENV (empty), RUN (layer), ADD (layer).
        let items = [item(30, "ENV A=1", 0), item(20, "RUN make", 5), item(10, "ADD rootfs", 100)];
        let h = base_history(&items, 2).unwrap();
        assert_eq!(h.len(), 3);
        assert_eq!(h[0]["created_by"], "ADD rootfs");
        assert_eq!(h[0]["created"], "1970-01-01T00:00:10Z");
        assert!(h[0].get("empty_layer").is_none() && h[1].get("empty_layer").is_none());
        assert_eq!(h[2]["empty_layer"], true);
        // An empty diff that is a real layer: every entry is one.
        let items = [item(20, "RUN true", 0), item(10, "ADD rootfs", 100)];
        assert!(base_history(&items, 2).unwrap().iter().all(|e| e.get("empty_layer").is_none()));
        // Entries that do not account for the layers: no history at all.
        assert!(base_history(&items, 3).is_none());
    }
}
