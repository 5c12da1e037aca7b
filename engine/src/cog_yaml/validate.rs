//! From raw cog.yaml to the checked [`CogConfig`]: Cog's semantic rules, with Cog's messages
//! (`invalid <field> "<value>": <why>`), every problem collected.

use std::sync::Arc;

use crate::diagnostics::{suggest, Diagnostic, Located, SourceFile, Span};
use crate::project::Project;

use super::code;
use super::config::{
    Build, CogConfig, Concurrency, EnvVar, PythonVersion, RunOrigin, RunStep, SecretMount, TypeRef,
    Weight, WeightSource, DEFAULT_PYTHON_VERSION, MINIMUM_CUDA_MAJOR,
    MINIMUM_PYTHON_FOR_CONCURRENCY,
};
use super::env::{parse_entry, EnvProblem};
use super::raw::{Field, RawBuild, RawCogYaml, RawRunItem, RawWeight};

/// The largest Python file read to check that a predictor's name appears in it.
const MAX_PYTHON_FILE_BYTES: u64 = 4 << 20;

/// The most `build.run` commands (with `build.pre_install`). Each is a layer of the image and
/// an image has at most 127 layers (overlayfs stacks no more), with the base image's and the
/// other blocks' layers besides; past this the build could only fail late, in the engine.
pub const MAX_RUN_COMMANDS: usize = 100;

/// The most entries of `build.system_packages`, `build.python_packages`, `environment` and
/// `weights`. Real projects list a few dozen; every block script that reads them walks the
/// list (and weight targets are compared pairwise), so the bound keeps that work small and a
/// huge list a cog.yaml error, not a script-limit failure of a block.
pub const MAX_LIST_ENTRIES: usize = 1_000;

/// Cog's `ValidationError` text: `invalid <field> "<value>": <message>`.
pub(crate) fn invalid(field: &str, value: Option<&str>, message: &str) -> String {
    match value {
        Some(value) => format!("invalid {field} {value:?}: {message}"),
        None => format!("invalid {field}: {message}"),
    }
}

/// Cog's `DeprecationWarning` text.
fn deprecated(field: &str, replacement: &str) -> String {
    format!("deprecated field {field:?}: use {replacement:?} instead")
}

pub(crate) struct Checker<'a> {
    file: &'a Arc<SourceFile>,
    project: Option<&'a Project>,
    pub diagnostics: Vec<Diagnostic>,
    /// Fields already reported with a type error (see [`RawCogYaml::type_errors`]).
    type_errors: std::collections::HashSet<String>,
}

impl<'a> Checker<'a> {
    pub fn new(file: &'a Arc<SourceFile>, project: Option<&'a Project>) -> Self {
        Checker {
            file,
            project,
            diagnostics: Vec::new(),
            type_errors: Default::default(),
        }
    }

    fn error(&mut self, code: &str, message: String, span: Span, label: &str) -> &mut Diagnostic {
        self.diagnostics
            .push(Diagnostic::error(code, message).with_primary(self.file, span, label));
        self.diagnostics.last_mut().expect("just pushed")
    }

    fn warning(&mut self, code: &str, message: String, span: Span, label: &str) -> &mut Diagnostic {
        self.diagnostics
            .push(Diagnostic::warning(code, message).with_primary(self.file, span, label));
        self.diagnostics.last_mut().expect("just pushed")
    }

    /// Add a secondary label to the diagnostic just reported.
    fn also(&mut self, span: Span, message: &str) {
        let file = self.file;
        if let Some(last) = self.diagnostics.last_mut() {
            last.secondary
                .push(crate::diagnostics::Label::new(file, span, message));
        }
    }

    /// Whether `path` (or a section containing it) was already reported as mistyped: then
    /// it is not "missing" and needs no second error.
    fn reported(&self, path: &str) -> bool {
        if self.type_errors.contains("cog.yaml") {
            return true; // the document itself is not a mapping: nothing else to say
        }
        let mut prefix = String::new();
        for part in path.split('.') {
            if !prefix.is_empty() {
                prefix.push('.');
            }
            prefix.push_str(part);
            if self.type_errors.contains(&prefix) {
                return true;
            }
        }
        false
    }

    fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// Check everything; the config when there was no error.
    pub fn check(&mut self, mut raw: RawCogYaml) -> Option<CogConfig> {
        self.type_errors = std::mem::take(&mut raw.type_errors);
        let predict = self.predict(&raw);
        let train = raw
            .train
            .as_ref()
            .and_then(|t| self.type_ref("train", &t.value, "train.py:Trainer"));
        let build_span = raw.build.as_ref().map(|b| b.key);
        let raw_build = raw.build.take().map(|b| b.value.value).unwrap_or_default();
        let build = self.build(raw_build, build_span);
        let environment = self.environment(raw.environment.as_ref());
        let concurrency = self.concurrency(&raw, build.as_ref().map(Build::python));
        self.model_and_image(&raw);
        let weights = self.weights(&raw);
        if self.has_errors() {
            return None;
        }
        Some(CogConfig {
            source: Arc::clone(self.file),
            document_start: raw.document.start,
            build: build?,
            image: raw.image.map(|f| f.value),
            model: raw.model.map(|f| f.value),
            predict,
            train,
            concurrency,
            environment,
            weights,
        })
    }

    /// `predict:` or its alias `run:` (both are read; setting both is an error). Neither is
    /// deprecated: `predict` is what Cog's reference and every Cog project uses.
    fn predict(&mut self, raw: &RawCogYaml) -> Option<Located<TypeRef>> {
        let set =
            |f: &Option<Field<String>>| f.as_ref().filter(|f| !f.value.value.is_empty()).cloned();
        let (run, predict) = (set(&raw.run), set(&raw.predict));
        if let (Some(run), Some(predict)) = (&run, &predict) {
            self.error(
                code::CONFLICT,
                invalid("run", None, "only one of run or predict can be set"),
                run.key,
                "`run` set here",
            );
            self.also(predict.key, "and `predict` here");
            return None;
        }
        match (run, predict) {
            (Some(run), None) => self.type_ref("run", &run.value, "run.py:Runner"),
            (None, Some(predict)) => {
                self.type_ref("predict", &predict.value, "predict.py:Predictor")
            }
            _ => None,
        }
    }

    /// `file.py:Name`, and (with a project) the file must exist.
    fn type_ref(
        &mut self,
        field: &str,
        value: &Located<String>,
        example: &str,
    ) -> Option<Located<TypeRef>> {
        let text = value.value.as_str();
        let parts: Vec<&str> = text.split(".py:").collect();
        if parts.len() != 2 || parts[0].is_empty() || parts[1].trim().is_empty() {
            self.error(
                code::INVALID_VALUE,
                invalid(
                    field,
                    Some(text),
                    &format!("must be in the form '{example}'"),
                ),
                value.span,
                "expected `file.py:Name`",
            );
            return None;
        }
        let type_ref = TypeRef {
            file: format!("{}.py", parts[0]),
            name: parts[1].trim().to_string(),
        };
        if let Some(project) = self.project {
            if !project.has_file(&type_ref.file) {
                let candidates = project.glob("**/*.py").unwrap_or_default();
                let help = suggest(&type_ref.file, candidates.iter().map(String::as_str))
                    .map(|c| format!("did you mean `{c}:{}`?", type_ref.name));
                let message = invalid(
                    field,
                    Some(text),
                    &format!("file {:?} does not exist", type_ref.file),
                );
                let d = self.error(
                    code::MISSING_FILE,
                    message,
                    value.span,
                    "no such file in the project",
                );
                d.help = help.or_else(|| {
                    Some(format!(
                        "paths are relative to the directory holding {}",
                        "cog.yaml"
                    ))
                });
            } else if let Ok(source) = project.read_text(&type_ref.file, MAX_PYTHON_FILE_BYTES) {
                if !contains_word(&source, &type_ref.name) {
                    self.warning(
                        code::MISSING_NAME,
                        format!("{} does not mention `{}`", type_ref.file, type_ref.name),
                        value.span,
                        "this name is not defined in that file",
                    )
                    .help = Some(format!(
                        "define `class {}` (or a function of that name) in {}",
                        type_ref.name, type_ref.file
                    ));
                }
            }
        }
        Some(Located::new(type_ref, value.span))
    }

    /// Reports a list longer than [`MAX_LIST_ENTRIES`]; true when it did.
    fn too_many<T>(&mut self, field: &str, list: &Field<Vec<T>>) -> bool {
        let n = list.value.value.len();
        if n <= MAX_LIST_ENTRIES {
            return false;
        }
        self.error(
            code::INVALID_VALUE,
            invalid(field, None, &format!("{n} entries; cogpack reads at most {MAX_LIST_ENTRIES}")),
            list.key,
            "too many entries",
        )
        .help = Some(match field {
            "build.python_packages" => "list the packages in a requirements.txt and set `python_requirements: requirements.txt`".into(),
            "build.system_packages" => "install the rest from a `build.run` command or a requirements file".into(),
            _ => "real projects need far fewer; the limits are in docs/limits.md".into(),
        });
        true
    }

    fn build(&mut self, raw: RawBuild, build_key: Option<Span>) -> Option<Build> {
        let python_version = self.python_version(&raw, build_key);

        if let (Some(packages), Some(requirements)) =
            (&raw.python_packages, &raw.python_requirements)
        {
            if !packages.value.value.is_empty() && !requirements.value.value.is_empty() {
                self.error(
                    code::CONFLICT,
                    invalid(
                        "build",
                        None,
                        "only one of python_packages or python_requirements can be set, not both",
                    ),
                    packages.key,
                    "python_packages set here",
                );
                self.also(requirements.key, "and python_requirements here");
            }
        }
        if let Some(packages) = raw
            .python_packages
            .as_ref()
            .filter(|p| !p.value.value.is_empty())
        {
            self.warning(
                code::DEPRECATED_FIELD,
                deprecated("build.python_packages", "build.python_requirements"),
                packages.key,
                "deprecated",
            )
            .help = Some("list the packages in a requirements.txt and set `python_requirements: requirements.txt`".into());
        }
        let python_requirements = raw
            .python_requirements
            .as_ref()
            .filter(|r| !r.value.value.is_empty())
            .map(|r| self.requirements_file(&r.value));

        let gpu = raw.gpu.map(|g| g.value);
        let is_gpu = gpu.as_ref().is_some_and(|g| g.value);
        let cuda = raw.cuda.filter(|c| !c.value.value.is_empty()).map(|c| {
            self.cuda(&c.value);
            self.ignored_without_gpu("build.cuda", c.key, is_gpu);
            c.value
        });
        let cudnn = raw.cudnn.filter(|c| !c.value.value.is_empty()).map(|c| {
            self.cudnn(&c.value);
            self.ignored_without_gpu("build.cudnn", c.key, is_gpu);
            c.value
        });

        let mut run = Vec::new();
        if let Some(items) = &raw.run {
            for (i, item) in items.value.value.iter().enumerate() {
                if let Some(step) = self.run_step(i, item) {
                    run.push(step);
                }
            }
        }
        if let Some(pre) = raw
            .pre_install
            .as_ref()
            .filter(|p| !p.value.value.is_empty())
        {
            self.warning(code::DEPRECATED_FIELD, deprecated("build.pre_install", "build.run"), pre.key, "deprecated")
                .help = Some("move these commands to `build.run`; cogpack runs them after `build.run`, as Cog does".into());
            for (i, command) in pre.value.value.iter().enumerate() {
                if let Some(command) = self.command(&format!("build.pre_install[{i}]"), command) {
                    run.push(RunStep {
                        command,
                        mounts: Vec::new(),
                        origin: RunOrigin::PreInstall,
                    });
                }
            }
        }

        let run_key = raw.run.as_ref().map(|r| r.key).or(raw.pre_install.as_ref().map(|p| p.key));
        if let Some(key) = run_key.filter(|_| run.len() > MAX_RUN_COMMANDS) {
            self.error(
                code::INVALID_VALUE,
                invalid(
                    "build.run",
                    None,
                    &format!("{} commands (with build.pre_install); cogpack builds at most {MAX_RUN_COMMANDS}", run.len()),
                ),
                key,
                "too many commands",
            )
            .help = Some("each command is a layer of the image, and an image has at most 127 layers: join related commands with `&&` or into a script the project runs".into());
        }
        for (field, list) in [("build.system_packages", &raw.system_packages), ("build.python_packages", &raw.python_packages)] {
            if let Some(list) = list {
                self.too_many(field, list);
            }
        }

        Some(Build {
            gpu,
            python_version: python_version.ok()?,
            python_requirements: python_requirements.flatten(),
            python_packages: raw
                .python_packages
                .map(|p| p.value.value)
                .unwrap_or_default(),
            system_packages: raw
                .system_packages
                .map(|p| p.value.value)
                .unwrap_or_default(),
            run,
            cuda,
            cudnn,
            sdk_version: raw
                .sdk_version
                .filter(|s| !s.value.value.trim().is_empty())
                .map(|s| s.value),
        })
    }

    /// `Ok(None)` when cog.yaml has no `build` section (Cog then uses its default Python,
    /// [`DEFAULT_PYTHON_VERSION`]); with a section, `python_version` is required. `Err` when
    /// an error was reported.
    fn python_version(
        &mut self,
        raw: &RawBuild,
        build_key: Option<Span>,
    ) -> Result<Option<Located<PythonVersion>>, ()> {
        let Some(field) = raw
            .python_version
            .as_ref()
            .filter(|v| !v.value.value.is_empty())
        else {
            if self.reported("build.python_version") {
                return Err(());
            }
            let (span, label) = match (&raw.python_version, build_key) {
                (Some(field), _) => (field.key, "empty python_version"),
                (None, Some(key)) => (key, "this section has no python_version"),
                (None, None) => return Ok(None),
            };
            let message = invalid(
                "build.python_version",
                None,
                &format!("python_version is required. Add it to the build section of your cog.yaml, e.g. `python_version: \"{DEFAULT_PYTHON_VERSION}\"`"),
            );
            self.error(code::MISSING_FIELD, message, span, label).help = Some(format!(
                "add `python_version: \"{DEFAULT_PYTHON_VERSION}\"` under `build:`"
            ));
            return Err(());
        };
        let text = field.value.value.as_str();
        match text.parse::<PythonVersion>() {
            Ok(version) => Ok(Some(Located::new(version, field.value.span))),
            Err(why) => {
                let d = self.error(
                    code::INVALID_VALUE,
                    invalid("build.python_version", Some(text.trim()), &why.0),
                    field.value.span,
                    "unsupported Python version",
                );
                d.help = Some(format!(
                    "use a supported version, e.g. `python_version: \"{DEFAULT_PYTHON_VERSION}\"`"
                ));
                Err(())
            }
        }
    }

    /// The requirements file must exist inside the project.
    fn requirements_file(&mut self, value: &Located<String>) -> Option<Located<String>> {
        let path = value.value.trim();
        if let Some(project) = self.project {
            match project.resolve(path) {
                Ok(resolved) if resolved.is_file() => {}
                Ok(_) => {
                    self.error(
                        code::MISSING_FILE,
                        invalid("build.python_requirements", Some(path), "is not a file"),
                        value.span,
                        "not a file",
                    );
                }
                Err(crate::project::ProjectError::OutsideProject { .. }) => {
                    self.error(
                        code::INVALID_VALUE,
                        invalid(
                            "build.python_requirements",
                            Some(path),
                            "must be inside the project directory",
                        ),
                        value.span,
                        "outside the project",
                    )
                    .help = Some(
                        "copy the requirements file into the project and use a relative path"
                            .into(),
                    );
                }
                Err(_) => {
                    let candidates = project.glob("**/*requirements*.txt").unwrap_or_default();
                    let help = suggest(path, candidates.iter().map(String::as_str))
                        .map(|c| format!("did you mean `{c}`?"));
                    self.error(
                        code::MISSING_FILE,
                        invalid(
                            "build.python_requirements",
                            Some(path),
                            "file does not exist",
                        ),
                        value.span,
                        "no such file in the project",
                    )
                    .help = help;
                }
            }
        }
        Some(Located::new(path.to_string(), value.span))
    }

    fn cuda(&mut self, value: &Located<String>) {
        let text = value.value.trim();
        let parts: Vec<&str> = text.split('.').collect();
        let message = if parts.len() < 2 {
            Some("must include both major and minor versions (e.g., '11.8')".to_string())
        } else if let Ok(major) = parts[0].parse::<u32>() {
            if major < MINIMUM_CUDA_MAJOR {
                Some(format!(
                    "minimum supported CUDA version is {MINIMUM_CUDA_MAJOR}"
                ))
            } else if !parts[1..]
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            {
                Some("invalid minor version number".to_string())
            } else {
                None
            }
        } else {
            Some("invalid major version number".to_string())
        };
        if let Some(message) = message {
            self.error(
                code::INVALID_VALUE,
                invalid("build.cuda", Some(text), &message),
                value.span,
                "not a CUDA version",
            )
            .help = Some("write it as major.minor, e.g. `cuda: \"11.8\"`".into());
        }
    }

    fn cudnn(&mut self, value: &Located<String>) {
        let text = value.value.trim();
        let ok = !text.is_empty()
            && text
                .split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        if !ok {
            self.error(
                code::INVALID_VALUE,
                invalid(
                    "build.cudnn",
                    Some(text),
                    "must be a version number like \"8\" or \"8.9\"",
                ),
                value.span,
                "not a cuDNN version",
            );
        }
    }

    fn ignored_without_gpu(&mut self, field: &str, key: Span, gpu: bool) {
        if !gpu {
            self.warning(
                code::IGNORED_FIELD,
                format!("{field} is ignored because build.gpu is not true"),
                key,
                "ignored",
            )
            .help = Some("set `gpu: true` to build a CUDA image, or remove this line".into());
        }
    }

    /// A command: trimmed, not empty, one line (Cog refuses commands with newlines).
    fn command(&mut self, field: &str, command: &Located<String>) -> Option<Located<String>> {
        let text = command.value.trim();
        if text.is_empty() {
            self.error(
                code::INVALID_VALUE,
                invalid(field, None, "command must not be empty"),
                command.span,
                "empty command",
            );
            return None;
        }
        if text.contains('\n') {
            self.error(
                code::INVALID_VALUE,
                invalid(field, None, "the command contains a new line, which won't work"),
                command.span,
                "multi-line command",
            )
            .help = Some("make each command its own list item prefixed with `-`, or fold the lines with `>-`".into());
            return None;
        }
        Some(Located::new(text.to_string(), command.span))
    }

    fn run_step(&mut self, index: usize, item: &Located<RawRunItem>) -> Option<RunStep> {
        let field = format!("build.run[{index}]");
        let Some(command) = &item.value.command else {
            if self.reported(&format!("{field}.command")) {
                return None;
            }
            self.error(
                code::MISSING_FIELD,
                invalid(&field, None, "command is required"),
                item.span,
                "no `command`",
            );
            return None;
        };
        let command = self.command(&field, command);
        let mut mounts = Vec::new();
        for (j, mount) in item.value.mounts.iter().enumerate() {
            let field = format!("{field}.mounts[{j}]");
            let m = &mount.value;
            match &m.kind {
                Some(kind) if kind.value == "secret" => {}
                Some(kind) => {
                    self.error(
                        code::INVALID_VALUE,
                        invalid(
                            &format!("{field}.type"),
                            Some(&kind.value),
                            "must be \"secret\"",
                        ),
                        kind.span,
                        "unsupported mount type",
                    )
                    .help = Some(
                        "only secret mounts are supported: `{type: secret, id: ..., target: ...}`"
                            .into(),
                    );
                }
                None if self.reported(&format!("{field}.type")) => {}
                None => {
                    self.error(
                        code::MISSING_FIELD,
                        invalid(&field, None, "type is required"),
                        mount.span,
                        "no `type`",
                    );
                }
            }
            for (name, value) in [("id", &m.id), ("target", &m.target)] {
                if value.as_ref().is_none_or(|v| v.value.trim().is_empty())
                    && !self.reported(&format!("{field}.{name}"))
                {
                    self.error(
                        code::MISSING_FIELD,
                        invalid(&field, None, &format!("{name} is required")),
                        mount.span,
                        &format!("no `{name}`"),
                    );
                }
            }
            if let (Some(id), Some(target)) = (&m.id, &m.target) {
                mounts.push(SecretMount {
                    id: id.clone(),
                    target: target.clone(),
                });
            }
        }
        Some(RunStep {
            command: command?,
            mounts,
            origin: RunOrigin::Run,
        })
    }

    fn environment(&mut self, raw: Option<&Field<Vec<Located<String>>>>) -> Vec<Located<EnvVar>> {
        let mut out: Vec<Located<EnvVar>> = Vec::new();
        let Some(raw) = raw else { return out };
        if self.too_many("environment", raw) {
            return out;
        }
        for entry in &raw.value.value {
            match parse_entry(&entry.value) {
                Ok((name, value)) => {
                    if let Some(first) = out.iter().find(|e| e.value.name == name) {
                        let first = first.span;
                        self.error(
                            code::INVALID_VALUE,
                            invalid(
                                "environment",
                                None,
                                &format!("environment variable {name:?} is already defined"),
                            ),
                            entry.span,
                            "defined again here",
                        );
                        self.also(first, "first defined here");
                        continue;
                    }
                    out.push(Located::new(EnvVar { name, value }, entry.span));
                }
                Err(problem) => {
                    let (code, label, help) = match &problem {
                        EnvProblem::Reserved { rule, .. } => (
                            code::RESERVED_ENV,
                            if rule.ends_with('*') {
                                format!(
                                    "names starting with {} are reserved",
                                    rule.trim_end_matches('*')
                                )
                            } else {
                                format!("{rule} is reserved")
                            },
                            "Cog and cogpack set these themselves; choose another name".to_string(),
                        ),
                        EnvProblem::NotKeyValue => (
                            code::INVALID_VALUE,
                            "expected NAME=value".into(),
                            "write entries as `- NAME=value`".to_string(),
                        ),
                        EnvProblem::BadName(_) => (
                            code::INVALID_VALUE,
                            "invalid name".into(),
                            "names look like `MY_SETTING`".to_string(),
                        ),
                    };
                    self.error(
                        code,
                        invalid("environment", None, &problem.message(&entry.value)),
                        entry.span,
                        &label,
                    )
                    .help = Some(help);
                }
            }
        }
        out
    }

    fn concurrency(
        &mut self,
        raw: &RawCogYaml,
        python: Option<PythonVersion>,
    ) -> Option<Concurrency> {
        let field = raw.concurrency.as_ref()?;
        let c = &field.value.value;
        let positive =
            |this: &mut Self, name: &str, value: &Located<i64>| -> Option<Located<u32>> {
                match u32::try_from(value.value) {
                    Ok(v) if v >= 1 => Some(Located::new(v, value.span)),
                    _ => {
                        this.error(
                            code::INVALID_VALUE,
                            invalid(name, Some(&value.value.to_string()), "must be at least 1"),
                            value.span,
                            "too small",
                        );
                        None
                    }
                }
            };
        let Some(max_field) = &c.max else {
            if self.reported("concurrency.max") {
                return None;
            }
            self.error(
                code::MISSING_FIELD,
                invalid("concurrency", None, "max is required"),
                field.key,
                "no `max`",
            );
            return None;
        };
        let max = positive(self, "concurrency.max", &max_field.value);
        let default_target = c
            .default_target
            .as_ref()
            .and_then(|d| positive(self, "concurrency.default_target", &d.value));
        if let (Some(max), Some(python)) = (&max, python) {
            if max.value > 1 && (python.major, python.minor) < MINIMUM_PYTHON_FOR_CONCURRENCY {
                let (major, minor) = MINIMUM_PYTHON_FOR_CONCURRENCY;
                self.error(
                    code::INVALID_VALUE,
                    invalid(
                        "concurrency.max",
                        Some(&max.value.to_string()),
                        &format!("concurrency requires Python {major}.{minor} or higher"),
                    ),
                    max.span,
                    "needs a newer Python",
                );
            }
        }
        self.warning(code::DEPRECATED_FIELD, deprecated("concurrency.max", "@cog.concurrent(max=...)"), max_field.key, "deprecated")
            .help = Some("configure prediction concurrency with @cog.concurrent on your async run() method instead".into());
        Some(Concurrency {
            max: max?,
            default_target,
        })
    }

    fn model_and_image(&mut self, raw: &RawCogYaml) {
        let model = raw.model.as_ref().filter(|m| !m.value.value.is_empty());
        let image = raw.image.as_ref().filter(|m| !m.value.value.is_empty());
        if let (Some(model), Some(image)) = (model, image) {
            self.error(
                code::CONFLICT,
                invalid("model", None, "'model' and 'image' cannot both be set"),
                model.key,
                "`model` set here",
            );
            self.also(image.key, "and `image` here");
        }
        if let Some(model) = model {
            let text = model.value.value.as_str();
            let last = text.rsplit('/').next().unwrap_or(text);
            if text.contains('@') || last.contains(':') {
                self.error(
                    code::INVALID_VALUE,
                    invalid(
                        "model",
                        Some(text),
                        "must be a bare repository — tags and digests are not allowed",
                    ),
                    model.value.span,
                    "tag or digest",
                );
            }
        }
    }

    fn weights(&mut self, raw: &RawCogYaml) -> Vec<Weight> {
        let Some(field) = raw.weights.as_ref().filter(|w| !w.value.value.is_empty()) else {
            return Vec::new();
        };
        // Targets are checked pairwise (disjoint), so the count is bounded first.
        if self.too_many("weights", field) {
            return Vec::new();
        }
        let model_set = raw
            .model
            .as_ref()
            .is_some_and(|m| !m.value.value.is_empty());
        let image = raw.image.as_ref().filter(|m| !m.value.value.is_empty());
        if !model_set {
            match image {
                Some(image) => {
                    self.error(
                        code::INVALID_VALUE,
                        invalid(
                            "image",
                            None,
                            "weights require 'model', not 'image' — rename 'image' to 'model'",
                        ),
                        image.key,
                        "rename to `model`",
                    );
                }
                None => {
                    self.error(
                        code::MISSING_FIELD,
                        invalid("model", None, "weights require 'model' in cog.yaml"),
                        field.key,
                        "weights declared here",
                    )
                    .help =
                        Some("add `model: <registry>/<owner>/<name>` (a bare repository)".into());
                }
            }
        }
        let mut out = Vec::new();
        let mut names: Vec<&Located<String>> = Vec::new();
        let mut targets: Vec<(String, Span)> = Vec::new();
        for (i, weight) in field.value.value.iter().enumerate() {
            let idx = format!("weights[{i}]");
            let w: &RawWeight = &weight.value;
            match &w.name {
                None if self.reported(&format!("{idx}.name")) => {}
                None => {
                    self.error(
                        code::MISSING_FIELD,
                        invalid(&format!("{idx}.name"), None, "name is required"),
                        weight.span,
                        "no `name`",
                    );
                }
                Some(name) if !is_weight_name(&name.value) => {
                    self.error(code::INVALID_VALUE, invalid(&format!("{idx}.name"), Some(&name.value), "must contain only lowercase alphanumeric characters, hyphens, dots, or underscores (e.g. \"my-model-weights\")"), name.span, "invalid name");
                }
                Some(name) => {
                    if let Some(first) = names.iter().find(|n| n.value == name.value) {
                        let first = first.span;
                        self.error(
                            code::INVALID_VALUE,
                            invalid(
                                &format!("{idx}.name"),
                                Some(&name.value),
                                "duplicate weight name",
                            ),
                            name.span,
                            "defined again here",
                        );
                        self.also(first, "first defined here");
                    } else {
                        names.push(name);
                    }
                }
            }
            let sources = w
                .source
                .as_ref()
                .map(|s| s.value.value.as_slice())
                .unwrap_or_default();
            if sources.is_empty() && !self.reported(&format!("{idx}.source")) {
                self.error(
                    code::MISSING_FIELD,
                    invalid(&format!("{idx}.source"), None, "source is required"),
                    weight.span,
                    "no `source`",
                );
            }
            let mut checked_sources = Vec::new();
            for (j, source) in sources.iter().enumerate() {
                let src_idx = if sources.len() == 1 {
                    format!("{idx}.source")
                } else {
                    format!("{idx}.source[{j}]")
                };
                for (kind, patterns) in [
                    ("include", &source.value.include),
                    ("exclude", &source.value.exclude),
                ] {
                    for (k, pattern) in patterns.iter().enumerate() {
                        let f = format!("{src_idx}.{kind}[{k}]");
                        let p = pattern.value.trim();
                        if p.is_empty() {
                            self.error(
                                code::INVALID_VALUE,
                                invalid(&f, None, "pattern must not be empty"),
                                pattern.span,
                                "empty pattern",
                            );
                            continue;
                        }
                        if p.starts_with('!') {
                            self.error(
                                code::INVALID_VALUE,
                                invalid(
                                    &f,
                                    Some(p),
                                    "negation patterns (starting with '!') are not supported",
                                ),
                                pattern.span,
                                "negation",
                            );
                        }
                        if p.contains('\\') {
                            self.error(
                                code::INVALID_VALUE,
                                invalid(
                                    &f,
                                    Some(p),
                                    "patterns must use forward slashes, not backslashes",
                                ),
                                pattern.span,
                                "backslash",
                            );
                        }
                    }
                }
                match &source.value.uri {
                    Some(uri) if !uri.value.trim().is_empty() => {
                        checked_sources.push(WeightSource {
                            uri: uri.clone(),
                            include: source
                                .value
                                .include
                                .iter()
                                .map(|p| p.value.trim().to_string())
                                .collect(),
                            exclude: source
                                .value
                                .exclude
                                .iter()
                                .map(|p| p.value.trim().to_string())
                                .collect(),
                        })
                    }
                    _ if self.reported(&format!("{src_idx}.uri")) => {}
                    _ => {
                        self.error(
                            code::MISSING_FIELD,
                            invalid(&src_idx, None, "uri is required"),
                            source.span,
                            "no `uri`",
                        );
                    }
                }
            }
            match &w.target {
                None if self.reported(&format!("{idx}.target")) => {}
                None => {
                    self.error(
                        code::MISSING_FIELD,
                        invalid(&format!("{idx}.target"), None, "target is required"),
                        weight.span,
                        "no `target`",
                    );
                }
                Some(target) => {
                    let f = format!("{idx}.target");
                    if !target.value.starts_with('/') {
                        self.error(
                            code::INVALID_VALUE,
                            invalid(&f, Some(&target.value), "target must be an absolute path"),
                            target.span,
                            "relative path",
                        );
                    }
                    let cleaned = clean_absolute(&target.value);
                    if cleaned == "/" {
                        self.error(
                            code::INVALID_VALUE,
                            invalid(
                                &f,
                                Some(&target.value),
                                "target must not be the container root \"/\"",
                            ),
                            target.span,
                            "container root",
                        );
                    }
                    if let Some((_, first)) = targets.iter().find(|(t, _)| *t == cleaned) {
                        let first = *first;
                        self.error(
                            code::INVALID_VALUE,
                            invalid(&f, Some(&target.value), "duplicate weight target"),
                            target.span,
                            "used again here",
                        );
                        self.also(first, "first used here");
                    } else {
                        if let Some((prev, prev_span)) = targets
                            .iter()
                            .find(|(t, _)| is_subpath(&cleaned, t) || is_subpath(t, &cleaned))
                        {
                            let (prev, prev_span) = (prev.clone(), *prev_span);
                            self.error(code::INVALID_VALUE, invalid(&f, Some(&target.value), &format!("target overlaps with {prev:?}; weight targets must be disjoint")), target.span, "overlaps");
                            self.also(prev_span, "with this target");
                        }
                        targets.push((cleaned, target.span));
                    }
                }
            }
            if let (Some(name), Some(target)) = (&w.name, &w.target) {
                out.push(Weight {
                    name: name.clone(),
                    target: target.clone(),
                    sources: checked_sources,
                });
            }
        }
        out
    }
}

/// Whether `name` occurs in `text` as a whole identifier.
fn contains_word(text: &str, name: &str) -> bool {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(name).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + name.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

/// Cog's weight-name rule: lowercase alphanumeric runs separated by one of `.`, `_`, `-`.
fn is_weight_name(name: &str) -> bool {
    !name.is_empty()
        && name.split(['.', '_', '-']).all(|run| {
            !run.is_empty()
                && run
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// Lexically clean an absolute path like Go's `filepath.Clean`.
fn clean_absolute(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Whether `child` is strictly below `parent` (both cleaned absolute paths).
fn is_subpath(child: &str, parent: &str) -> bool {
    child != parent && child.starts_with(&format!("{}/", parent.trim_end_matches('/')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_and_names() {
        assert!(contains_word(
            "class Predictor(BasePredictor):",
            "Predictor"
        ));
        assert!(!contains_word("class MyPredictor2:", "Predictor"));
        assert!(!contains_word("BasePredictor", "Predictor"));
        assert!(is_weight_name("my-model.v1_2"));
        assert!(!is_weight_name("My-model"));
        assert!(!is_weight_name("a--b"));
        assert!(!is_weight_name("-a"));
        assert_eq!(clean_absolute("/a/./b/../c/"), "/a/c");
        assert_eq!(clean_absolute("/.."), "/");
        assert!(is_subpath("/a/b", "/a"));
        assert!(!is_subpath("/ab", "/a"));
        assert!(is_subpath("/a", "/"));
    }
}
