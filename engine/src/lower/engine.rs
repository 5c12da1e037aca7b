//! What the engine's BuildKit supports, as far as lowering cares.

use std::collections::BTreeSet;

use crate::llb::caps;

/// The LLB caps an engine supports and whether it has MergeOp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineCaps {
    /// Cap ids (`file.copy.includeexcludepatterns`, `mergeop`, ...).
    pub caps: BTreeSet<String>,
    /// Whether MergeOp may be used (BuildKit v0.10+, Docker 23+).
    pub merge_op: bool,
}

impl EngineCaps {
    /// BuildKit v0.8, as embedded in Docker 20.10.
    pub fn buildkit_v0_8() -> EngineCaps {
        EngineCaps::for_buildkit_minor(8)
    }

    /// A current BuildKit (every cap through v0.21).
    pub fn modern() -> EngineCaps {
        EngineCaps::for_buildkit_minor(u32::MAX)
    }

    /// BuildKit `v0.<minor>`: the v0.8 caps plus those added up to that version.
    pub fn for_buildkit_minor(minor: u32) -> EngineCaps {
        let mut set: BTreeSet<String> = caps::BUILDKIT_V0_8.iter().map(|c| c.to_string()).collect();
        set.extend(
            caps::ADDED_LATER
                .iter()
                .filter(|(_, since)| *since <= minor)
                .map(|(c, _)| c.to_string()),
        );
        EngineCaps::from_caps(set)
    }

    /// From a BuildKit version string as workers report it (`v0.12.5`, `v0.8.3-moby`,
    /// `0.20.0`); `None` when it is not `0.<minor>…`.
    pub fn for_buildkit_version(version: &str) -> Option<EngineCaps> {
        let v = version.trim().trim_start_matches('v');
        let mut parts = v.split(['.', '-', '+']);
        let major: u32 = parts.next()?.parse().ok()?;
        let minor: u32 = parts.next()?.parse().ok()?;
        match major {
            0 => Some(EngineCaps::for_buildkit_minor(minor)),
            _ => Some(EngineCaps::modern()),
        }
    }

    /// From a cap list (e.g. `LLBBridge.Ping`'s enabled `LLBCaps`); MergeOp when `mergeop` is in it.
    pub fn from_caps<S: Into<String>>(list: impl IntoIterator<Item = S>) -> EngineCaps {
        let caps: BTreeSet<String> = list.into_iter().map(Into::into).collect();
        let merge_op = caps.contains(caps::MERGE_OP);
        EngineCaps { caps, merge_op }
    }

    /// MergeOp and DiffOp both: stages with `runs_on` become independent layers.
    pub fn independent_layers(&self) -> bool {
        self.merge_op && self.caps.contains(caps::DIFF_OP)
    }

    /// Whether `cap` may be declared.
    pub fn supports(&self, cap: &str) -> bool {
        self.caps.contains(cap) || (cap == caps::MERGE_OP && self.merge_op)
    }
}

/// The BuildKit and Docker versions that first have `cap`, for help text.
pub(crate) fn first_version_with(cap: &str) -> Option<String> {
    let (_, minor) = caps::ADDED_LATER.iter().find(|(c, _)| *c == cap)?;
    let docker = match minor {
        0..=10 => "23.0",
        11 => "24.0",
        12 => "25.0",
        13 => "26.0",
        14 => "27.0",
        15..=20 => "28.0",
        _ => "29",
    };
    Some(format!("BuildKit v0.{minor} (Docker {docker})"))
}
