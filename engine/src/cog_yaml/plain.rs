//! cog.yaml as a plain JSON map, for block scripts (`cog.build?.gpu`) and detect conditions
//! (`config_equals = { "build.gpu" = true }`).
//!
//! The map comes from the same located parse as the checked [`CogConfig`], so both agree:
//! unquoted scalars keep their source text unless they are YAML's null, a boolean or an
//! integer (`python_version: 3.10` is `"3.10"`, never `3.1`), and the fields the checked
//! config types (`build.gpu`, `build.python_version`, `build.cuda`, `build.cudnn`,
//! `build.sdk_version`) are written from it, so `gpu: yes` reads as `true` here too.

use serde_json::{Map, Value};

use super::config::CogConfig;
use super::yaml::{self, Kind, Node};

impl CogConfig {
    /// cog.yaml as a plain JSON map (`{}` for an empty document). See the module docs for
    /// how scalars are typed.
    pub fn plain_map(&self) -> Value {
        let mut value = match yaml::parse(self.source.text()) {
            Ok(Some(root)) => to_json(&root),
            // A checked config always parses; an empty document is an empty map.
            Ok(None) | Err(_) => Value::Object(Map::new()),
        };
        if !value.is_object() {
            value = Value::Object(Map::new());
        }
        let build = &self.build;
        let mut typed: Vec<(&str, Value)> = Vec::new();
        if let Some(v) = &build.python_version {
            typed.push(("python_version", Value::String(v.value.to_string())));
        }
        if let Some(gpu) = &build.gpu {
            typed.push(("gpu", Value::Bool(gpu.value)));
        }
        for (key, field) in [
            ("cuda", &build.cuda),
            ("cudnn", &build.cudnn),
            ("sdk_version", &build.sdk_version),
        ] {
            if let Some(v) = field {
                typed.push((key, Value::String(v.value.clone())));
            }
        }
        if let Some(root) = value.as_object_mut() {
            let section = root
                .entry("build")
                .or_insert_with(|| Value::Object(Map::new()));
            if !section.is_object() {
                *section = Value::Object(Map::new());
            }
            if let Some(section) = section.as_object_mut() {
                for (key, v) in typed {
                    section.insert(key.to_string(), v);
                }
            }
        }
        value
    }
}

fn to_json(node: &Node) -> Value {
    match &node.kind {
        Kind::Scalar(s) => {
            if !s.plain || s.tag.is_some() {
                return Value::String(s.text.clone());
            }
            if s.is_null() {
                return Value::Null;
            }
            match s.text.as_str() {
                "true" | "True" | "TRUE" => return Value::Bool(true),
                "false" | "False" | "FALSE" => return Value::Bool(false),
                _ => {}
            }
            let digits = s.text.strip_prefix(['-', '+']).unwrap_or(&s.text);
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                if let Ok(n) = s.text.parse::<i64>() {
                    return Value::Number(n.into());
                }
            }
            Value::String(s.text.clone())
        }
        Kind::Seq(items) => Value::Array(items.iter().map(to_json).collect()),
        Kind::Map(entries) => {
            let mut out = Map::new();
            for (k, v) in entries {
                let key = match k.as_scalar() {
                    Some(s) => s.text.clone(),
                    None => k.describe(),
                };
                out.insert(key, to_json(v));
            }
            Value::Object(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::cog_yaml::check_str;

    fn plain(text: &str) -> serde_json::Value {
        check_str("cog.yaml", text, None).unwrap().config.plain_map()
    }

    #[test]
    fn versions_keep_their_text_and_typed_fields_agree() {
        let v = plain(
            "build:\n  python_version: 3.10\n  gpu: yes\n  cuda: 12.1\n  cudnn: 8\n  system_packages: [ffmpeg, \"1\"]\nconcurrency:\n  max: 1\nrun: \"predict.py:P\"\n",
        );
        assert_eq!(v["build"]["python_version"], "3.10");
        assert_eq!(v["build"]["gpu"], true);
        assert_eq!(v["build"]["cuda"], "12.1");
        assert_eq!(v["build"]["cudnn"], "8");
        assert_eq!(v["build"]["system_packages"], serde_json::json!(["ffmpeg", "1"]));
        assert_eq!(v["concurrency"]["max"], 1);
        assert_eq!(v["run"], "predict.py:P");
    }

    #[test]
    fn nulls_and_quoted_scalars() {
        let v = plain("build:\n  python_version: \"3.11\"\n  gpu: false\nimage: ~\nmodel: 'true'\n");
        assert_eq!(v["build"]["gpu"], false);
        assert!(v["image"].is_null());
        assert_eq!(v["model"], "true");
    }
}
