//! Compat tables: the facts the resolver narrows versions against, read from `compat/*.toml`.
//!
//! | file | one row per | facts |
//! |------|-------------|-------|
//! | `compat/python.toml` | supported Python minor | the minimum (lowest row) and the default |
//! | `compat/cuda.toml` | CUDA major.minor | newest patch release, cuDNN major, Ubuntu releases |
//! | `compat/torch.toml` | torch release | paired torchvision/torchaudio, variants (cpu/cuXYZ), Pythons |
//! | `compat/tensorflow.toml` | TensorFlow series | releases, CUDA, cuDNN, Pythons, package lines |
//! | `compat/base-images.toml` | base image | OS, Python, CUDA/cuDNN, what it provides, packages |
//! | `compat/cog.toml` | Cog runtime release | its `Requires-Dist` and `Requires-Python`, its server, the default |
//!
//! Every row cites the page its facts come from and the date they were read. The files are
//! embedded at compile time ([`CompatTables::builtin`]; each table is checked when first
//! read) and checked like manifests: raw rows ([`raw`], `deny_unknown_fields`,
//! [`toml::Spanned`] values) become checked rows ([`tables`]); a malformed row is a
//! [`CompatError`] at file:line:col. `docs/compat-data.md` says how to update them.

mod check;
pub(crate) mod raw;
pub mod tables;

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub use tables::*;

use crate::resolve::version::Version;

/// One problem in a compat file, at file:line:col.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file, as shown to users.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub col: u32,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when known.
    pub help: Option<String>,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.col, self.message
        )?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// Loading the compat tables failed. Exit code: [`crate::diagnostics::exit::MANIFEST`].
#[derive(Debug, Clone, thiserror::Error)]
pub enum CompatError {
    /// A table file could not be read.
    #[error("cannot read compat table {path}: {message}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        message: String,
    },
    /// One or more rows are malformed.
    #[error("{}", render_problems(.0))]
    Invalid(Vec<Problem>),
}

impl CompatError {
    /// The process exit code for this failure.
    pub fn exit_code(&self) -> u8 {
        crate::diagnostics::exit::MANIFEST
    }
}

fn render_problems(problems: &[Problem]) -> String {
    let mut out = format!(
        "invalid compat table{}:",
        if problems.len() == 1 { "" } else { "s" }
    );
    for p in problems {
        out.push_str("\n  ");
        out.push_str(&p.to_string().replace('\n', "\n  "));
    }
    out
}

/// The text of one table file and the name it is reported under.
#[derive(Debug, Clone)]
pub struct TableSource {
    /// The name used in messages and `Source::Table` (`compat/torch.toml`).
    pub label: String,
    /// The TOML text.
    pub text: Cow<'static, str>,
}

impl TableSource {
    fn embedded(label: &str, text: &'static str) -> Self {
        Self {
            label: label.to_string(),
            text: Cow::Borrowed(text),
        }
    }
}

/// The table files, before checking.
#[derive(Debug, Clone)]
pub struct CompatSources {
    /// `compat/python.toml`.
    pub python: TableSource,
    /// `compat/cuda.toml`.
    pub cuda: TableSource,
    /// `compat/torch.toml`.
    pub torch: TableSource,
    /// `compat/tensorflow.toml`.
    pub tensorflow: TableSource,
    /// `compat/base-images.toml`.
    pub base_images: TableSource,
    /// `compat/cog.toml`.
    pub cog: TableSource,
    /// `compat/jax.toml`.
    pub jax: TableSource,
}

impl CompatSources {
    /// The tables embedded in the binary at compile time.
    pub fn builtin() -> Self {
        Self {
            python: TableSource::embedded(
                "compat/python.toml",
                include_str!("../../../compat/python.toml"),
            ),
            cuda: TableSource::embedded(
                "compat/cuda.toml",
                include_str!("../../../compat/cuda.toml"),
            ),
            torch: TableSource::embedded(
                "compat/torch.toml",
                include_str!("../../../compat/torch.toml"),
            ),
            tensorflow: TableSource::embedded(
                "compat/tensorflow.toml",
                include_str!("../../../compat/tensorflow.toml"),
            ),
            base_images: TableSource::embedded(
                "compat/base-images.toml",
                include_str!("../../../compat/base-images.toml"),
            ),
            cog: TableSource::embedded("compat/cog.toml", include_str!("../../../compat/cog.toml")),
            jax: TableSource::embedded("compat/jax.toml", include_str!("../../../compat/jax.toml")),
        }
    }

    /// Reads the table files from a directory (e.g. a checkout's `compat/` while editing it).
    pub fn from_dir(dir: &Path) -> Result<Self, CompatError> {
        let read = |name: &str| -> Result<TableSource, CompatError> {
            let path = dir.join(name);
            let text = std::fs::read_to_string(&path).map_err(|e| CompatError::Io {
                path: path.clone(),
                message: e.to_string(),
            })?;
            Ok(TableSource {
                label: path.display().to_string(),
                text: Cow::Owned(text),
            })
        };
        Ok(Self {
            python: read("python.toml")?,
            cuda: read("cuda.toml")?,
            torch: read("torch.toml")?,
            tensorflow: read("tensorflow.toml")?,
            base_images: read("base-images.toml")?,
            cog: read("cog.toml")?,
            jax: read("jax.toml")?,
        })
    }
}

/// The checked compat tables. Rows are sorted oldest first.
///
/// Each table is checked when first asked for: a CPU project's plan never reads the torch,
/// CUDA, TensorFlow or JAX tables, and parsing them was a third of `cogpack plan`'s time.
/// [`CompatTables::parse`] checks every table and the references between them at once;
/// the built-in tables pass that check in `builtin_tables_are_valid`.
#[derive(Debug, Clone)]
pub struct CompatTables {
    sources: CompatSources,
    python: OnceLock<Vec<PythonRow>>,
    cuda: OnceLock<Vec<CudaRow>>,
    torch: OnceLock<Vec<TorchRow>>,
    tensorflow: OnceLock<Vec<TensorflowRow>>,
    base_images: OnceLock<Vec<BaseImage>>,
    cog: OnceLock<Vec<CogRow>>,
    jax: OnceLock<Vec<JaxRow>>,
}

/// One table: its rows' type, the checker that makes them, the `[[...]]` name a file
/// needs at least one of (none for a table that may be empty), and its cell and source.
macro_rules! tables {
    ($($name:ident: $row:ty = $check:path, $required:expr, $doc:literal;)*) => {
        impl CompatTables {
            fn unchecked(sources: CompatSources) -> Self {
                Self { sources, $($name: OnceLock::new(),)* }
            }

            /// Checks every table, filling every cell; the problems of all tables together.
            fn check_all(&self) -> Vec<Problem> {
                let mut problems = Vec::new();
                $(
                    let (rows, mut found) = check_table(&self.sources.$name, $check, $required);
                    problems.append(&mut found);
                    let _ = self.$name.set(rows);
                )*
                problems
            }

            $(
                #[doc = $doc]
                pub fn $name(&self) -> &[$row] {
                    self.$name.get_or_init(|| checked(&self.sources.$name, $check, $required))
                }
            )*
        }
    };
}

tables! {
    cog: CogRow = check::cog, Some("[[cog]]"), "Releases of the Cog runtime.";
    jax: JaxRow = check::jax, None, "JAX releases whose CUDA extra brings CUDA from PyPI.";
    python: PythonRow = check::python, Some("[[python]]"), "Supported Python versions.";
    cuda: CudaRow = check::cuda, Some("[[cuda]]"), "CUDA/cuDNN pairs with images.";
    torch: TorchRow = check::torch, Some("[[torch]]"), "The torch matrix.";
    tensorflow: TensorflowRow = check::tensorflow, Some("[[tensorflow]]"), "The TensorFlow matrix.";
    base_images: BaseImage = check::base_images, Some("[[image]]"), "Cogpack base images, in file order.";
}

/// Checks one table file: its rows, and the problems found (a required table with no rows
/// is one).
fn check_table<R>(src: &TableSource, check: fn(&mut check::Checker<'_>) -> Vec<R>, required: Option<&str>) -> (Vec<R>, Vec<Problem>) {
    let mut c = check::Checker::new(&src.label, &src.text);
    let rows = check(&mut c);
    let mut problems = c.problems;
    if let (true, true, Some(table)) = (problems.is_empty(), rows.is_empty(), required) {
        problems.push(Problem {
            file: src.label.clone(),
            line: 1,
            col: 1,
            message: format!("no `{table}` rows: the resolver needs at least one"),
            help: None,
        });
    }
    (rows, problems)
}

/// The rows of a table checked on first use. Only the built-in tables are checked this way
/// ([`CompatTables::parse`] fills every cell up front), and they are embedded at compile time
/// and checked whole by a test: a problem here is a bug in cogpack's data, not in a project.
fn checked<R>(src: &TableSource, check: fn(&mut check::Checker<'_>) -> Vec<R>, required: Option<&str>) -> Vec<R> {
    let (rows, problems) = check_table(src, check, required);
    if !problems.is_empty() {
        panic!("cogpack's built-in compat tables are invalid (a bug in cogpack; the test `builtin_tables_are_valid` shows it):\n{}", render_problems(&problems));
    }
    rows
}

impl CompatTables {
    /// The embedded tables; each is checked on first use, once per process.
    pub fn builtin() -> &'static CompatTables {
        static BUILTIN: OnceLock<CompatTables> = OnceLock::new();
        BUILTIN.get_or_init(|| CompatTables::unchecked(CompatSources::builtin()))
    }

    /// Checks every table and the references between them (every CUDA a torch variant,
    /// a TensorFlow row or a GPU image names must have a `compat/cuda.toml` row).
    pub fn parse(sources: &CompatSources) -> Result<CompatTables, CompatError> {
        let tables = CompatTables::unchecked(sources.clone());
        let mut problems = tables.check_all();
        if problems.is_empty() {
            problems.extend(tables.cross_check());
        }
        if problems.is_empty() {
            Ok(tables)
        } else {
            Err(CompatError::Invalid(problems))
        }
    }

    fn cross_check(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut missing = |at: &TableRef, what: String| {
            problems.push(Problem {
                file: at.file.clone(),
                line: at.line,
                col: 1,
                message: what,
                help: Some("add the CUDA release to compat/cuda.toml, or fix this row".into()),
            });
        };
        for row in self.torch() {
            for v in &row.variants {
                if let Some(c) = &v.cuda {
                    if self.cuda_row(c).is_none() {
                        missing(&row.at, format!("torch {} variant `{}` needs CUDA {c}, which compat/cuda.toml lacks", row.torch, v.label));
                    }
                }
            }
        }
        for row in self.tensorflow() {
            if self.cuda_row(&row.cuda).is_none() {
                missing(
                    &row.at,
                    format!(
                        "tensorflow {} needs CUDA {}, which compat/cuda.toml lacks",
                        row.versions[0], row.cuda
                    ),
                );
            }
        }
        for img in self.base_images() {
            if let (Some(c), Some(d)) = (&img.cuda, &img.cudnn) {
                match self.cuda_row(c) {
                    Some(row) if row.cudnn.major() == d.major() => {}
                    _ => missing(
                        &img.at,
                        format!(
                            "image `{}` has CUDA {c} with cuDNN {d}, which compat/cuda.toml lacks",
                            img.name
                        ),
                    ),
                }
            }
        }
        problems
    }

    /// The CUDA row for a `major.minor` (or longer) version.
    pub fn cuda_row(&self, version: &Version) -> Option<&CudaRow> {
        self.cuda().iter().find(|r| r.version.cog_matches(version))
    }

    /// The default Python row.
    pub fn default_python(&self) -> &PythonRow {
        self.python()
            .iter()
            .find(|r| r.default)
            .unwrap_or(&self.python()[self.python().len() - 1])
    }

    /// The lowest supported Python.
    pub fn min_python(&self) -> &PythonRow {
        &self.python()[0]
    }

    /// The highest supported Python.
    pub fn max_python(&self) -> &PythonRow {
        &self.python()[self.python().len() - 1]
    }

    /// The torch row for a version (local label ignored).
    pub fn torch_row(&self, version: &Version) -> Option<&TorchRow> {
        let v = version.without_local();
        self.torch().iter().find(|r| r.torch == v)
    }

    /// The Cog runtime row of a release.
    pub fn cog_row(&self, version: &Version) -> Option<&CogRow> {
        self.cog().iter().find(|r| &r.version == version)
    }

    /// The Cog runtime installed when nothing asks for another.
    pub fn default_cog(&self) -> &CogRow {
        self.cog().iter().find(|r| r.default).unwrap_or(&self.cog()[self.cog().len() - 1])
    }

    /// The TensorFlow row covering a release.
    pub fn tensorflow_row(&self, version: &Version) -> Option<&TensorflowRow> {
        self.tensorflow()
            .iter()
            .find(|r| r.versions.contains(version))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(f: impl FnOnce(&mut CompatSources)) -> Result<CompatTables, CompatError> {
        let mut s = CompatSources::builtin();
        f(&mut s);
        CompatTables::parse(&s)
    }

    fn problems(r: Result<CompatTables, CompatError>) -> Vec<Problem> {
        match r {
            Err(CompatError::Invalid(p)) => p,
            Err(e) => panic!("unexpected {e}"),
            Ok(_) => panic!("expected the tables to be rejected"),
        }
    }

    #[test]
    fn builtin_tables_are_valid() {
        let t = CompatTables::parse(&CompatSources::builtin()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.min_python().version.to_string(), "3.10");
        assert_eq!(t.default_python().version.to_string(), "3.13");
        assert!(t
            .torch_row(&Version::parse("2.0.1+cu118").unwrap())
            .is_some());
        assert!(t.torch_row(&Version::parse("1.13.0").unwrap()).is_some());
        let r270 = t.torch_row(&Version::parse("2.7.0").unwrap()).unwrap();
        let cu126 = r270.variants.iter().find(|v| v.label == "cu126").unwrap();
        assert_eq!(cu126.index_url, "https://download.pytorch.org/whl/cu126");
        assert_eq!(cu126.cuda.as_ref().unwrap().to_string(), "12.6");
        let tf = t
            .tensorflow_row(&Version::parse("2.12.0").unwrap())
            .unwrap();
        assert_eq!(
            (tf.cuda.to_string(), tf.cudnn.to_string()),
            ("11.8".into(), "8.6".into())
        );
        assert!(t
            .base_images()
            .iter()
            .any(|i| i.name == "cogpack/base:py3.11-bookworm" && i.origin == Origin::Local));
    }

    #[test]
    fn a_malformed_row_is_reported_at_its_line() {
        let p = problems(with(|s| {
            let text = s.torch.text.replacen(
                "variants = [\"cpu\", \"cu116\"",
                "variants = [\"cpu\", \"cuda116\"",
                1,
            );
            s.torch.text = Cow::Owned(text);
        }));
        assert_eq!(p.len(), 1, "{p:?}");
        let expected_line = CompatSources::builtin()
            .torch
            .text
            .lines()
            .position(|l| l.starts_with("variants = [\"cpu\", \"cu116\""))
            .unwrap() as u32
            + 1;
        assert_eq!(
            (p[0].file.as_str(), p[0].line),
            ("compat/torch.toml", expected_line)
        );
        assert!(
            p[0].message
                .contains("`cuda116` is neither `cpu` nor `cuXYZ`"),
            "{}",
            p[0].message
        );
    }

    #[test]
    fn unknown_fields_and_bad_dates_are_rejected() {
        let p = problems(with(|s| {
            s.python.text = Cow::Owned(s.python.text.replacen(
                "\ndefault = true\n",
                "\ndefault = true\nflavour = \"x\"\n",
                1,
            ));
        }));
        assert!(p[0].message.contains("unknown field `flavour`"), "{}", p[0]);
        assert!(p[0].line > 1);

        let p = problems(with(|s| {
            s.cuda.text = Cow::Owned(s.cuda.text.replacen(
                "checked = \"2026-11-21\"",
                "checked = \"yesterday\"",
                1,
            ));
        }));
        assert!(p[0].message.contains("YYYY-MM-DD"), "{}", p[0]);
    }

    #[test]
    fn cross_references_are_checked() {
        let p = problems(with(|s| {
            let text = s.cuda.text.replacen(
                "version = \"11.7\"\nrelease = \"11.7.1\"",
                "version = \"11.9\"\nrelease = \"11.9.0\"",
                1,
            );
            s.cuda.text = Cow::Owned(text);
        }));
        assert!(
            p.iter()
                .any(|p| p.file == "compat/torch.toml" && p.message.contains("needs CUDA 11.7")),
            "{p:?}"
        );
    }

    #[test]
    fn empty_tables_are_rejected() {
        let p = problems(with(|s| {
            s.tensorflow.text = Cow::Borrowed("# nothing yet\n")
        }));
        assert_eq!(
            p[0].message,
            "no `[[tensorflow]]` rows: the resolver needs at least one"
        );
    }

    #[test]
    fn local_images_must_be_debian_and_list_packages() {
        let p = problems(with(|s| {
            s.base_images.text = Cow::Owned(s.base_images.text.replacen(
                "packages = [\"ca-certificates\", \"tini\"]\n",
                "",
                1,
            ));
        }));
        assert!(
            p[0].message.contains("lists the Debian `packages`"),
            "{}",
            p[0]
        );
    }

    #[test]
    fn a_local_image_provides_init_only_with_tini() {
        let p = problems(with(|s| {
            s.base_images.text = Cow::Owned(s.base_images.text.replacen(
                "packages = [\"ca-certificates\", \"tini\"]\n",
                "packages = [\"ca-certificates\"]\n",
                1,
            ));
        }));
        assert!(p[0].message.contains("exactly when its `packages` include \"tini\""), "{}", p[0]);
        assert_eq!(p[0].file, "compat/base-images.toml");
    }
}
