//! Diagnostics shared by every module: exit codes, and (later) rendering of errors with
//! source spans.

/// Process exit codes, one per failure class, so scripts can tell them apart.
/// Documented in `docs/exit-codes.md`.
pub mod exit {
    /// Success.
    pub const SUCCESS: u8 = 0;
    /// An unexpected failure with no better class.
    pub const FAILURE: u8 = 1;
    /// Bad command-line usage (clap uses 2 as well).
    pub const USAGE: u8 = 2;
    /// A block, stack or compat manifest is invalid (cogpack's or a user's own manifest).
    pub const MANIFEST: u8 = 3;
    /// The project is invalid: cog.yaml, requirements, missing predictor, ...
    pub const PROJECT: u8 = 4;
    /// Version resolution failed because the user's constraints conflict.
    pub const RESOLVE_CONFLICT: u8 = 5;
    /// Version resolution failed because cogpack's compat tables lack the data (cogpack's fault).
    pub const RESOLVE_MISSING_DATA: u8 = 6;
    /// A build step failed inside BuildKit.
    pub const BUILD: u8 = 7;
    /// No BuildKit engine could be reached or started.
    pub const ENGINE: u8 = 8;
    /// A prediction failed (the container did not become ready, or the prediction errored).
    pub const PREDICT: u8 = 9;
}
