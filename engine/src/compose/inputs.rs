//! What composition reads from a project before any script runs: the checked cog.yaml (and
//! the same file as a plain map for scripts), and the Python requirements, parsed with their
//! `-r`/`-c` includes.

use super::ComposeError;
use crate::cog_yaml::{self, CogConfig};
use crate::diagnostics::Diagnostic;
use crate::project::Project;
use crate::requirements::{LineKind, RequirementsFile};
use crate::script::reqlines::RequirementLine;

/// The project's inputs as composition reads them.
#[derive(Debug, Clone)]
pub struct ProjectInputs {
    /// cog.yaml as a plain JSON map for scripts (`{}` when the project has none), made from
    /// the same parse as `config` ([`CogConfig::plain_map`]).
    pub cog: serde_json::Value,
    /// The checked cog.yaml, when the project has one.
    pub config: Option<CogConfig>,
    /// Warnings found while checking cog.yaml (deprecated or unknown keys, ...).
    pub warnings: Vec<Diagnostic>,
    /// `build.python_requirements`, parsed, with the files it includes.
    pub requirements_file: Option<RequirementsFile>,
    /// Requirement lines for scripts: the requirements file and its includes, in pip's
    /// order, or `build.python_packages`.
    pub requirements: Vec<RequirementLine>,
}

/// Reads and checks cog.yaml ([`cog_yaml::load`]) and the requirements it names. A project
/// without cog.yaml gets an empty map (stack detection then says why nothing applies),
/// except that a lone `cog.yml` is reported, since Cog ignores it.
pub fn read_inputs(project: &Project) -> Result<ProjectInputs, ComposeError> {
    if !project.exists(cog_yaml::FILE_NAME) && !project.has_file("cog.yml") {
        return Ok(ProjectInputs {
            cog: serde_json::Value::Object(Default::default()),
            config: None,
            warnings: Vec::new(),
            requirements_file: None,
            requirements: Vec::new(),
        });
    }
    let loaded = cog_yaml::load(project).map_err(ComposeError::cog_yaml)?;
    let config = loaded.config;
    let mut requirements = Vec::new();
    let mut requirements_file = None;
    if let Some(rel) = &config.build.python_requirements {
        let file = load_requirements(project, &rel.value)?;
        script_lines(&file, &mut requirements);
        requirements_file = Some(file);
    }
    for (i, item) in config.build.python_packages.iter().enumerate() {
        let origin = format!("cog.yaml build.python_packages[{i}]");
        let parsed = RequirementsFile::parse(&origin, &item.value).map_err(|e| ComposeError::Requirements(Box::new(e)))?;
        parsed.check_local_paths().map_err(|e| ComposeError::Requirements(Box::new(e)))?;
        requirements.extend(parsed.lines.iter().filter_map(|l| RequirementLine::from_line(l, origin.clone())));
    }
    Ok(ProjectInputs {
        cog: config.plain_map(),
        config: Some(config),
        warnings: loaded.warnings,
        requirements_file,
        requirements,
    })
}

/// Loads a requirements file and its includes; every file is confined to the project before
/// it is read (pip would read `-r ../other.txt` from anywhere; a build must not).
fn load_requirements(project: &Project, rel: &str) -> Result<RequirementsFile, ComposeError> {
    RequirementsFile::load(project.root(), rel).map_err(|e| ComposeError::Requirements(Box::new(e)))
}

/// The lines scripts see, walking `-r`/`-c` includes where pip reads them.
fn script_lines(file: &RequirementsFile, out: &mut Vec<RequirementLine>) {
    for line in &file.lines {
        out.extend(RequirementLine::from_line(line, format!("{}:{}", file.path, line.line)));
        if let LineKind::Option(_) = &line.kind {
            if let Some(inc) = file.included.iter().find(|i| i.from_line == line.line) {
                script_lines(&inc.file, out);
            }
        }
    }
}
