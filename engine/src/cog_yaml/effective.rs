//! The effective configuration Cog stores in the `run.cog.config` image label: its `Config`
//! struct marshalled to JSON, so field names, order and omissions follow Cog's Go struct
//! tags (`omitempty` everywhere except `build`, weight `name`/`target`/`source`).

use serde::Serialize;

use super::config::{CogConfig, RunOrigin};

/// The label's JSON shape. Fields are public so the resolver can fill in what it decides
/// (Cog writes the CUDA and cuDNN it resolved into `build.cuda`/`build.cudnn`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EffectiveConfig {
    /// `build` (always present).
    pub build: EffectiveBuild,
    /// `image`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub image: String,
    /// `model`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub model: String,
    /// The predictor (from `predict` or `run`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub predict: String,
    /// The trainer.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub train: String,
    /// `concurrency`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<EffectiveConcurrency>,
    /// `environment` entries as written, `NAME=value`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub environment: Vec<String>,
    /// `weights`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub weights: Vec<EffectiveWeight>,
}

/// `build` in the label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EffectiveBuild {
    /// `gpu` (omitted when false).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub gpu: bool,
    /// `python_version` as written.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub python_version: String,
    /// `python_requirements`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub python_requirements: String,
    /// `python_packages` (deprecated).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub python_packages: Vec<String>,
    /// `run` steps (from `build.run` only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub run: Vec<EffectiveRun>,
    /// `system_packages`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub system_packages: Vec<String>,
    /// `pre_install` (deprecated).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pre_install: Vec<String>,
    /// `cuda` (resolved, once the resolver has set it).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cuda: String,
    /// `cudnn` (resolved, once the resolver has set it).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cudnn: String,
    /// `sdk_version`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub sdk_version: String,
}

/// A run step in the label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EffectiveRun {
    /// The command.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub command: String,
    /// Secret mounts.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mounts: Vec<EffectiveMount>,
}

/// A mount in the label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EffectiveMount {
    /// Always `secret`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Secret id.
    pub id: String,
    /// Mount target.
    pub target: String,
}

/// `concurrency` in the label (Cog's struct keeps only `max`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EffectiveConcurrency {
    /// `max` (omitted when 0).
    #[serde(skip_serializing_if = "is_zero")]
    pub max: u32,
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

/// A weight in the label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EffectiveWeight {
    /// Name.
    pub name: String,
    /// Target path.
    pub target: String,
    /// One source is written as an object, several as an array (as Cog does).
    pub source: EffectiveWeightSources,
}

/// Weight sources, serialized like Cog's `WeightSourceList`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectiveWeightSources(pub Vec<EffectiveWeightSource>);

impl Serialize for EffectiveWeightSources {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [one] => one.serialize(serializer),
            many => many.serialize(serializer),
        }
    }
}

/// A weight source in the label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EffectiveWeightSource {
    /// URI.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub uri: String,
    /// Include patterns.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    /// Exclude patterns.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
}

impl EffectiveConfig {
    /// Compact JSON exactly as Go's `encoding/json` writes it, including its escaping of
    /// `<`, `>`, `&`, U+2028 and U+2029 (JSON keeps those only inside strings, so a plain
    /// replacement is exact).
    pub fn to_json(&self) -> String {
        let json = serde_json::to_string(self).expect("plain data always serializes");
        let mut out = String::with_capacity(json.len());
        for c in json.chars() {
            match c {
                '<' => out.push_str("\\u003c"),
                '>' => out.push_str("\\u003e"),
                '&' => out.push_str("\\u0026"),
                '\u{2028}' => out.push_str("\\u2028"),
                '\u{2029}' => out.push_str("\\u2029"),
                c => out.push(c),
            }
        }
        out
    }
}

impl CogConfig {
    /// The configuration as Cog records it in the `run.cog.config` label, before
    /// resolution (the resolver fills in `build.cuda`/`build.cudnn` for GPU builds).
    pub fn effective_config(&self) -> EffectiveConfig {
        let b = &self.build;
        let strings =
            |v: &[crate::diagnostics::Located<String>]| v.iter().map(|s| s.value.clone()).collect();
        let text = |v: &Option<crate::diagnostics::Located<String>>| {
            v.as_ref().map(|s| s.value.clone()).unwrap_or_default()
        };
        let run = b
            .run
            .iter()
            .filter(|s| s.origin == RunOrigin::Run)
            .map(|s| EffectiveRun {
                command: s.command.value.clone(),
                mounts: s
                    .mounts
                    .iter()
                    .map(|m| EffectiveMount {
                        kind: "secret".into(),
                        id: m.id.value.clone(),
                        target: m.target.value.clone(),
                    })
                    .collect(),
            })
            .collect();
        let pre_install = b
            .run
            .iter()
            .filter(|s| s.origin == RunOrigin::PreInstall)
            .map(|s| s.command.value.clone())
            .collect();
        EffectiveConfig {
            build: EffectiveBuild {
                gpu: b.gpu(),
                python_version: b.python().to_string(),
                python_requirements: text(&b.python_requirements),
                python_packages: strings(&b.python_packages),
                run,
                system_packages: strings(&b.system_packages),
                pre_install,
                cuda: text(&b.cuda),
                cudnn: text(&b.cudnn),
                sdk_version: text(&b.sdk_version),
            },
            image: text(&self.image),
            model: text(&self.model),
            predict: self
                .predict
                .as_ref()
                .map(|p| p.value.to_string())
                .unwrap_or_default(),
            train: self
                .train
                .as_ref()
                .map(|p| p.value.to_string())
                .unwrap_or_default(),
            concurrency: self
                .concurrency
                .as_ref()
                .map(|c| EffectiveConcurrency { max: c.max.value }),
            environment: self
                .environment
                .iter()
                .map(|e| format!("{}={}", e.value.name, e.value.value))
                .collect(),
            weights: self
                .weights
                .iter()
                .map(|w| EffectiveWeight {
                    name: w.name.value.clone(),
                    target: w.target.value.clone(),
                    source: EffectiveWeightSources(
                        w.sources
                            .iter()
                            .map(|s| EffectiveWeightSource {
                                uri: s.uri.value.clone(),
                                include: s.include.clone(),
                                exclude: s.exclude.clone(),
                            })
                            .collect(),
                    ),
                })
                .collect(),
        }
    }

    /// [`CogConfig::effective_config`] as the label's JSON text.
    pub fn effective_config_json(&self) -> String {
        self.effective_config().to_json()
    }
}
