//! Manifest errors.

use crate::diagnostics::{exit, Diagnostic, HasDiagnostics};

/// One problem with a manifest.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ManifestError {
    /// A manifest file or directory could not be read.
    #[error("cannot read {path}: {message}")]
    Io { path: String, message: String },
    /// TOML syntax, an unknown key, a wrong type or value.
    #[error("{0}")]
    Toml(Diagnostic),
    /// A script that does not compile.
    #[error("{0}")]
    Script(Diagnostic),
    /// A block, stack or capability name that nothing defines.
    #[error("{0}")]
    UnknownReference(Diagnostic),
    /// Blocks whose ordering edges form a cycle.
    #[error("{0}")]
    Cycle(Diagnostic),
    /// Any other rule: ids, empty summaries, detect tables, constraints.
    #[error("{0}")]
    Invalid(Diagnostic),
}

impl ManifestError {
    /// The error as a located diagnostic.
    pub fn diagnostic(&self) -> Diagnostic {
        match self {
            ManifestError::Io { .. } => Diagnostic::error("manifest::io", self.to_string()),
            ManifestError::Toml(d)
            | ManifestError::Script(d)
            | ManifestError::UnknownReference(d)
            | ManifestError::Cycle(d)
            | ManifestError::Invalid(d) => d.clone(),
        }
    }
}

/// Everything wrong with a set of manifests.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{} manifest error(s): {}", errors.len(), errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
pub struct LoadError {
    pub errors: Vec<ManifestError>,
}

impl LoadError {
    /// Every error as a diagnostic.
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        self.errors.iter().map(ManifestError::diagnostic).collect()
    }
}

impl HasDiagnostics for LoadError {
    fn diagnostics(&self) -> Vec<Diagnostic> {
        LoadError::diagnostics(self)
    }

    fn exit_code(&self) -> u8 {
        exit::MANIFEST
    }
}
