//! What `.dockerignore` does to the project, checked before any script runs: the file must
//! parse (a bad pattern is an error at its `file:line`), the project's files must be listable
//! ([`Project::files`], the one walk every script question is answered from), and the files
//! cog.yaml names to run (`predict`, `train`) must not be excluded — else the image would
//! lack them and fail at run time with a Python traceback.

use super::ComposeError;
use crate::cog_yaml::CogConfig;
use crate::dockerignore::clean_path;
use crate::project::Project;

/// Reads `.dockerignore`, walks the project once, and refuses a predictor it excludes.
pub(super) fn check(project: &Project, config: Option<&CogConfig>) -> Result<(), ComposeError> {
    let ignore = project.dockerignore().map_err(|e| ComposeError::Project(e.to_string()))?;
    project.files().map_err(|e| ComposeError::Project(e.to_string()))?;
    let Some(config) = config else { return Ok(()) };
    for (field, named) in [("predict", &config.predict), ("train", &config.train)] {
        let Some(named) = named else { continue };
        let file = clean_path(&named.value.file);
        if let Some(line) = ignore.excluding_line(&file) {
            let pattern = ignore.patterns[ignore.lines.iter().position(|l| *l == line).unwrap_or(0)].clone();
            return Err(ComposeError::Project(format!(
                "{dockerignore}:{line} excludes `{file}`, the file cog.yaml `{field}` names (`{named}`), \
                 so the image would not contain it\n\
                 help: remove the pattern `{pattern}` from {dockerignore}, or add `!{file}` after it",
                dockerignore = project.display_path(".dockerignore"),
                named = named.value,
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(dockerignore: &str) -> (tempfile::TempDir, Project, CogConfig) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cog.yaml"), "build:\n  python_version: \"3.11\"\npredict: \"src/predict.py:Predictor\"\n").unwrap();
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("src/predict.py"), "class Predictor: pass\n").unwrap();
        std::fs::write(dir.path().join(".dockerignore"), dockerignore).unwrap();
        let p = Project::open(dir.path()).unwrap().with_display_root("proj");
        let config = crate::cog_yaml::load(&p).unwrap().config;
        (dir, p, config)
    }

    /// Issue 8: a `.dockerignore` that excluded the predictor gave a Python traceback at
    /// build time.
    #[test]
    fn an_excluded_predictor_is_an_error_naming_dockerignore_and_the_file() {
        let (_d, p, config) = project("# code\n*.md\nsrc/*.py\n");
        let err = check(&p, Some(&config)).unwrap_err().to_string();
        assert!(err.starts_with("proj/.dockerignore:3 excludes `src/predict.py`, the file cog.yaml `predict` names"), "{err}");
        assert!(err.contains("`!src/predict.py`"), "{err}");
        let (_d, p, config) = project("src/*.py\n!src/predict.py\n");
        check(&p, Some(&config)).unwrap();
    }

    #[test]
    fn a_bad_pattern_is_a_project_error_with_its_line() {
        let (_d, p, config) = project("ok\n[z-a]\n");
        let err = check(&p, Some(&config)).unwrap_err();
        assert_eq!(err.exit_code(), crate::diagnostics::exit::PROJECT);
        assert!(err.to_string().starts_with("proj/.dockerignore:2: pattern `[z-a]` is malformed"), "{err}");
    }
}
