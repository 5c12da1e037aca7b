//! BuildKit LLB capability ids that our ops declare in `OpMetadata.caps`.
//!
//! The daemon checks every declared cap against its own table and fails with
//! "unknown API capability" when one is missing, so an engine that lacks a feature fails
//! loudly instead of silently dropping proto fields it does not know. The ids are exactly
//! BuildKit's (`solver/pb/caps.go`), including its misspelt `soruce.http.uidgid`.

pub const SOURCE_IMAGE: &str = "source.image";
pub const SOURCE_IMAGE_RESOLVE_MODE: &str = "source.image.resolvemode";
pub const SOURCE_LOCAL: &str = "source.local";
pub const SOURCE_LOCAL_INCLUDE_PATTERNS: &str = "source.local.includepatterns";
pub const SOURCE_LOCAL_EXCLUDE_PATTERNS: &str = "source.local.excludepatterns";
pub const SOURCE_LOCAL_FOLLOW_PATHS: &str = "source.local.followpaths";
pub const SOURCE_LOCAL_SHARED_KEY_HINT: &str = "source.local.sharedkeyhint";
pub const SOURCE_HTTP: &str = "source.http";
pub const SOURCE_HTTP_CHECKSUM: &str = "source.http.checksum";
pub const SOURCE_HTTP_PERM: &str = "source.http.perm";

pub const EXEC_META_BASE: &str = "exec.meta.base";
pub const EXEC_META_NETWORK: &str = "exec.meta.network";
pub const EXEC_MOUNT_BIND: &str = "exec.mount.bind";
pub const EXEC_MOUNT_CACHE: &str = "exec.mount.cache";
pub const EXEC_MOUNT_CACHE_SHARING: &str = "exec.mount.cache.sharing";
pub const EXEC_MOUNT_SELECTOR: &str = "exec.mount.selector";
pub const EXEC_MOUNT_TMPFS: &str = "exec.mount.tmpfs";
pub const EXEC_MOUNT_TMPFS_SIZE: &str = "exec.mount.tmpfs.size";
pub const EXEC_MOUNT_SECRET: &str = "exec.mount.secret";

pub const FILE_BASE: &str = "file.base";
pub const FILE_RM_WILDCARD: &str = "file.rm.wildcard";
pub const FILE_COPY_INCLUDE_EXCLUDE_PATTERNS: &str = "file.copy.includeexcludepatterns";

pub const MERGE_OP: &str = "mergeop";
pub const DIFF_OP: &str = "diffop";

pub const PLATFORM: &str = "platform";
pub const META_DESCRIPTION: &str = "meta.description";

/// Every cap BuildKit v0.8 (Docker 20.10) knows.
pub const BUILDKIT_V0_8: &[&str] = &[
    "source.image",
    "source.image.resolvemode",
    "source.local",
    "source.local.unique",
    "source.local.sessionid",
    "source.local.includepatterns",
    "source.local.followpaths",
    "source.local.excludepatterns",
    "source.local.sharedkeyhint",
    "source.git",
    "source.git.keepgitdir",
    "source.git.fullurl",
    "source.git.httpauth",
    "source.git.knownsshhosts",
    "source.git.mountsshsock",
    "source.http",
    "source.http.checksum",
    "source.http.perm",
    "soruce.http.uidgid",
    "source.buildop.llbfilename",
    "exec.meta.base",
    "exec.meta.proxyenv",
    "exec.meta.network",
    "exec.meta.security",
    "exec.meta.setsdefaultpath",
    "exec.meta.security.devices.v1",
    "exec.mount.bind",
    "exec.mount.bind.readwrite-nooutput",
    "exec.mount.cache",
    "exec.mount.cache.sharing",
    "exec.mount.selector",
    "exec.mount.tmpfs",
    "exec.mount.secret",
    "exec.mount.ssh",
    "exec.cgroup",
    "file.base",
    "file.rm.wildcard",
    "constraints",
    "platform",
    "meta.ignorecache",
    "meta.description",
    "meta.exportcache",
];

/// Caps added after v0.8, with the BuildKit minor version (`0.minor`) that added each.
pub const ADDED_LATER: &[(&str, u32)] = &[
    ("file.copy.includeexcludepatterns", 9),
    ("source.local.differ", 9),
    ("mergeop", 10),
    ("diffop", 10),
    ("exec.mount.tmpfs.size", 10),
    ("exec.secretenv", 10),
    ("exec.meta.ulimit", 10),
    ("exec.meta.cgroup.parent", 10),
    ("file.rm.nofollowsymlink", 10),
    ("exporter.image.annotations", 11),
    ("exporter.image.attestations", 11),
    ("exporter.sourcedateepoch", 11),
    ("source.ocilayout", 11),
    ("source.policy", 11),
    ("exporter.multiple", 13),
    ("exec.mount.cache.content", 13),
    ("file.copy.alwaysreplaceexistingdestpaths", 14),
    ("file.copy.modestring", 17),
    ("exec.validexitcode", 17),
    ("file.symlink.create", 19),
    ("exec.meta.cdi", 20),
    ("exporter.session", 21),
];
