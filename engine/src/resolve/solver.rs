//! The solver: per-variable candidate rows, narrowed by constraints and table relations to a
//! fixed point, then picked in order with backtracking. Every narrowing is logged as a
//! [`Fact`] so that a failure can be explained by the facts that caused it.
//!
//! Variables and their candidates:
//! * Python: rows of `compat/python.toml`;
//! * torch: (torch row, variant) pairs of `compat/torch.toml`, when the project wants torch;
//! * TensorFlow: (row, release) pairs of `compat/tensorflow.toml`, when it wants TensorFlow;
//! * CUDA: rows of `compat/cuda.toml` (each with its cuDNN), on GPU builds only.
//!
//! Relations: a torch build supports the Pythons of its row; a CUDA torch build needs a CUDA
//! at least as new as its own (Cog installs the newest build not newer than the image's
//! CUDA); a TensorFlow release supports its Pythons and needs the major version of its CUDA
//! and of its cuDNN.

use std::collections::BTreeMap;

use super::collect::{strip_local, Collected, Constraint, Target};
use super::derivation::{fmt_sources, list_strings, list_versions, Derivation, Fact, Tried};
use super::version::{Op, SpecifierSet, Version};
use super::{ResolveError, Source, Warning};
use crate::compat::{
    CompatTables, CudaRow, PythonRow, TableRef, TensorflowRow, TorchRow, TorchVariant,
};

/// Cog's CUDA when no framework asks for one (replicate/cog `defaultCUDA()`).
pub(crate) const DEFAULT_CUDA: &str = "11.8";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Var {
    Python,
    Torch,
    Tf,
    Cuda,
}

impl Var {
    fn noun(self) -> &'static str {
        match self {
            Var::Python => "Python",
            Var::Torch => "torch",
            Var::Tf => "tensorflow",
            Var::Cuda => "CUDA/cuDNN",
        }
    }
}

/// Which side of a torch candidate a narrowing looked at: its release or its build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Aspect {
    Version,
    Variant,
    Both,
}

impl Aspect {
    fn overlaps(self, other: Aspect) -> bool {
        self == Aspect::Both || other == Aspect::Both || self == other
    }
}

#[derive(Debug, Clone)]
struct Entry {
    fact: Fact,
    aspect: Aspect,
    causes: Vec<(Var, Aspect)>,
    tried: Vec<Tried>,
    constraint: Option<usize>,
}

#[derive(Debug, Clone)]
struct Dom<T> {
    items: Vec<T>,
    log: Vec<Entry>,
}

impl<T> Dom<T> {
    fn new(items: Vec<T>) -> Self {
        Self {
            items,
            log: Vec::new(),
        }
    }
}

trait Item {
    fn at(&self) -> &TableRef;
    fn describe(&self) -> String;
}

impl Item for &PythonRow {
    fn at(&self) -> &TableRef {
        &self.at
    }
    fn describe(&self) -> String {
        format!("Python {}", self.version)
    }
}

impl Item for &CudaRow {
    fn at(&self) -> &TableRef {
        &self.at
    }
    fn describe(&self) -> String {
        format!("CUDA {} with cuDNN {}", self.version, self.cudnn)
    }
}

/// One torch build.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TorchC<'t> {
    pub row: &'t TorchRow,
    pub variant: &'t TorchVariant,
}

impl TorchC<'_> {
    /// The version as the package index serves it: `2.0.1+cu118`.
    pub fn full(&self) -> Version {
        Version::parse(&format!("{}+{}", self.row.torch, self.variant.label))
            .expect("table versions parse")
    }
    fn with_label(&self, v: &Version) -> Version {
        Version::parse(&format!("{v}+{}", self.variant.label)).expect("table versions parse")
    }
}

impl Item for TorchC<'_> {
    fn at(&self) -> &TableRef {
        &self.row.at
    }
    fn describe(&self) -> String {
        format!("torch {} {}", self.row.torch, self.variant.label)
    }
}

/// One TensorFlow release.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TfC<'t> {
    pub row: &'t TensorflowRow,
    pub version: &'t Version,
}

impl Item for TfC<'_> {
    fn at(&self) -> &TableRef {
        &self.row.at
    }
    fn describe(&self) -> String {
        format!("tensorflow {}", self.version)
    }
}

/// A framework variable (torch, TensorFlow): candidates with a release and the Pythons it
/// supports. What the relations with Python need to serve both.
trait Framework: Item + Copy {
    /// The variable these candidates fill; its noun names them in facts.
    const VAR: Var;
    /// What one candidate is called: `build` or `release`.
    const UNIT: &'static str;
    /// The side of a candidate its Pythons depend on.
    const PYTHON_ASPECT: Aspect;
    /// The release.
    fn version(&self) -> &Version;
    /// The CPython versions with wheels.
    fn pythons(&self) -> &[Version];
}

impl Framework for TorchC<'_> {
    const VAR: Var = Var::Torch;
    const UNIT: &'static str = "build";
    const PYTHON_ASPECT: Aspect = Aspect::Version;
    fn version(&self) -> &Version {
        &self.row.torch
    }
    fn pythons(&self) -> &[Version] {
        &self.row.pythons
    }
}

impl Framework for TfC<'_> {
    const VAR: Var = Var::Tf;
    const UNIT: &'static str = "release";
    const PYTHON_ASPECT: Aspect = Aspect::Both;
    fn version(&self) -> &Version {
        self.version
    }
    fn pythons(&self) -> &[Version] {
        &self.row.pythons
    }
}

#[derive(Debug, Clone)]
pub(crate) struct State<'t> {
    python: Dom<&'t PythonRow>,
    torch: Option<Dom<TorchC<'t>>>,
    tf: Option<Dom<TfC<'t>>>,
    cuda: Option<Dom<&'t CudaRow>>,
}

/// A reason for a picked value, with what decided it.
#[derive(Debug, Clone)]
pub(crate) struct Why {
    pub reason: String,
    pub source: Source,
}

/// The picked values.
#[derive(Debug, Clone)]
pub(crate) struct Choice<'t> {
    pub python: &'t PythonRow,
    pub torch: Option<TorchC<'t>>,
    pub tf: Option<TfC<'t>>,
    pub cuda: Option<&'t CudaRow>,
    /// Keyed by `python`, `torch`, `tensorflow`, `cuda`, `cudnn`.
    pub why: BTreeMap<&'static str, Why>,
    pub warnings: Vec<Warning>,
    /// Warnings about the CUDA of a CUDA base image (a framework built for another one):
    /// moot when PyPI's wheels supply the framework's own CUDA.
    pub image_warnings: Vec<Warning>,
}

struct Solver<'a, 't> {
    c: &'a Collected,
    t: &'t CompatTables,
    /// Constraints switched off (for hints: "what if this one were gone?").
    skip: Option<usize>,
}

type Step = Result<(), Var>;

fn narrow<T: Item + Clone>(
    dom: &mut Dom<T>,
    fact: impl FnOnce() -> Fact,
    aspect: Aspect,
    causes: Vec<(Var, Aspect)>,
    constraint: Option<usize>,
    reject: impl Fn(&T) -> Option<String>,
) -> (bool, bool) {
    let mut kept = Vec::new();
    let mut groups: Vec<(String, Vec<String>, Vec<Source>)> = Vec::new();
    for it in dom.items.drain(..) {
        match reject(&it) {
            None => kept.push(it),
            Some(why) => {
                let src = Source::from(it.at());
                match groups.iter_mut().find(|g| g.0 == why) {
                    Some(g) => {
                        g.1.push(it.describe());
                        if !g.2.contains(&src) {
                            g.2.push(src);
                        }
                    }
                    None => groups.push((why, vec![it.describe()], vec![src])),
                }
            }
        }
    }
    dom.items = kept;
    if groups.is_empty() {
        return (false, false);
    }
    groups.sort_by_key(|g| g.1.len());
    let tried = groups
        .into_iter()
        .map(|(why, what, rows)| Tried {
            what: list_strings(&what, "candidates"),
            rows,
            why,
        })
        .collect();
    dom.log.push(Entry {
        fact: fact(),
        aspect,
        causes,
        tried,
        constraint,
    });
    (true, dom.items.is_empty())
}

fn distinct_rows<T: Item>(items: &[T]) -> Vec<Source> {
    let mut v: Vec<Source> = Vec::new();
    for it in items {
        let s = Source::from(it.at());
        if !v.contains(&s) {
            v.push(s);
        }
    }
    v
}

/// The releases among `items`, as a list: `2.0.1 and 2.1.0`.
fn versions<T: Framework>(items: &[T]) -> String {
    list_versions(items.iter().map(|i| i.version()))
}

/// The two relations between a framework and Python, in this order: Python <- framework (a
/// Python some remaining candidate supports), then framework <- Python (a candidate that
/// supports some remaining Python). `Ok(changed)`, or `Err` naming the variable left empty.
fn relate_python<T: Framework>(python: &mut Dom<&PythonRow>, fw: &mut Dom<T>) -> Result<bool, Var> {
    let name = T::VAR.noun();
    let mut changed = false;
    // Python <- framework.
    let items = fw.items.clone();
    let pythons: Vec<&Version> = items.iter().flat_map(|i| i.pythons().iter()).collect();
    let fact = || {
        Fact::new(
            format!(
                "{name} {} supports Python {}",
                versions(&items),
                list_versions(pythons.iter().copied())
            ),
            distinct_rows(&items),
        )
    };
    let (c, e) = narrow(
        python,
        fact,
        Aspect::Both,
        vec![(T::VAR, T::PYTHON_ASPECT)],
        None,
        |p| {
            (!pythons.iter().any(|v| v.cog_matches(&p.version)))
                .then(|| format!("no remaining {name} {} supports it", T::UNIT))
        },
    );
    if e {
        return Err(Var::Python);
    }
    changed |= c;
    // Framework <- Python.
    let py: Vec<&Version> = python.items.iter().map(|p| &p.version).collect();
    let supported = |i: &T| {
        i.pythons()
            .iter()
            .any(|v| py.iter().any(|p| p.cog_matches(v)))
    };
    let removed: Vec<T> = fw.items.iter().filter(|i| !supported(i)).copied().collect();
    if !removed.is_empty() {
        let fact = || {
            Fact::new(
                format!(
                    "{name} {} supports Python {} only",
                    versions(&removed),
                    list_versions(removed.iter().flat_map(|i| i.pythons().iter()))
                ),
                distinct_rows(&removed),
            )
        };
        let (c, e) = narrow(
            fw,
            fact,
            T::PYTHON_ASPECT,
            vec![(Var::Python, Aspect::Both)],
            None,
            |i| {
                (!supported(i))
                    .then(|| format!("supports Python {} only", list_versions(i.pythons())))
            },
        );
        if e {
            return Err(T::VAR);
        }
        changed |= c;
    }
    Ok(changed)
}

pub(crate) fn cudnn_matches(spec: &SpecifierSet, cudnn: &Version) -> bool {
    // cuDNN images are tagged by major version: compare majors (`8` accepts `8.6`).
    spec.specifiers().iter().all(|s| {
        let (a, b) = (cudnn.major(), s.version.major());
        match s.op {
            Op::Eq | Op::Arbitrary | Op::Compatible => a == b,
            Op::Ne => a != b,
            Op::Ge => a >= b,
            Op::Gt => a > b,
            Op::Le => a <= b,
            Op::Lt => a < b || (a == b && s.version.release().len() > 1),
        }
    })
}

fn is_not(k: &Constraint) -> String {
    match k.spec.exact() {
        Some(v) => format!("is not {v}"),
        None => format!("does not satisfy {}", k.written),
    }
}

impl<'t> Solver<'_, 't> {
    fn initial(&self) -> State<'t> {
        let t = self.t;
        let python = Dom::new(t.python().iter().collect());
        let torch = self.c.torch_wanted().then(|| {
            Dom::new(
                t.torch()
                    .iter()
                    .flat_map(|row| {
                        row.variants
                            .iter()
                            .map(move |variant| TorchC { row, variant })
                    })
                    .collect(),
            )
        });
        let tf = self.c.tensorflow.as_ref().map(|_| {
            Dom::new(
                t.tensorflow()
                    .iter()
                    .flat_map(|row| row.versions.iter().map(move |version| TfC { row, version }))
                    .collect(),
            )
        });
        let cuda = self.c.gpu.then(|| Dom::new(t.cuda().iter().collect()));
        State {
            python,
            torch,
            tf,
            cuda,
        }
    }

    fn active(&self) -> impl Iterator<Item = (usize, &Constraint)> {
        let skip = self.skip;
        self.c
            .constraints
            .iter()
            .enumerate()
            .filter(move |(i, _)| Some(*i) != skip)
    }

    /// True when some constraint names a torch build explicitly (`+cu117`, a pytorch.org index).
    fn explicit_build(&self) -> bool {
        self.active().any(|(_, k)| k.names_torch_build())
    }

    /// Applies the constraints and relations; `Err(var)` names the variable left empty.
    fn narrow_all(&self, s: &mut State<'t>) -> Step {
        if let Some(torch) = &mut s.torch {
            if !self.explicit_build() {
                let gpu = self.c.gpu;
                let fact = || {
                    if gpu {
                        Fact::new(
                            "the build uses a GPU, so torch must be a CUDA build",
                            vec![self.c.gpu_source.clone()],
                        )
                    } else {
                        Fact::new(
                            "the build is CPU-only, so torch must be a CPU build",
                            vec![self.c.gpu_source.clone()],
                        )
                    }
                };
                let (_, empty) = narrow(torch, fact, Aspect::Variant, vec![], None, |i| {
                    match (gpu, &i.variant.cuda) {
                        (true, None) => Some("is a CPU build".into()),
                        (false, Some(_)) => Some("is a CUDA build".into()),
                        _ => None,
                    }
                });
                if empty {
                    return Err(Var::Torch);
                }
            }
        }
        for (idx, k) in self.active() {
            match k.target {
                Target::Torch | Target::Torchvision | Target::Torchaudio | Target::TorchIndex => {
                    self.apply_torch(s, idx, k)?
                }
                Target::Tensorflow => self.apply_tf(s, idx, k)?,
                _ => {}
            }
        }
        self.propagate(s)?;
        for (idx, k) in self.active() {
            if k.target == Target::Python {
                let fact = || Fact::new(k.fact.clone(), vec![k.source.clone()]);
                let (_, empty) =
                    narrow(&mut s.python, fact, Aspect::Both, vec![], Some(idx), |p| {
                        (!k.spec.contains_cog(&p.version)).then(|| is_not(k))
                    });
                if empty {
                    return Err(Var::Python);
                }
                self.propagate(s)?;
            }
        }
        for (idx, k) in self.active() {
            if !matches!(k.target, Target::Cuda | Target::Cudnn) {
                continue;
            }
            let Some(cuda) = &mut s.cuda else { continue };
            let fact = || Fact::new(k.fact.clone(), vec![k.source.clone()]);
            let (_, empty) = narrow(cuda, fact, Aspect::Both, vec![], Some(idx), |r| {
                if k.target == Target::Cuda {
                    (!k.spec.contains_cog(&r.version)).then(|| format!("is not CUDA {}", k.written))
                } else {
                    (!cudnn_matches(&k.spec, &r.cudnn))
                        .then(|| format!("has cuDNN {}, not {}", r.cudnn, k.written))
                }
            });
            if empty {
                return Err(Var::Cuda);
            }
            self.propagate(s)?;
        }
        Ok(())
    }

    fn apply_torch(&self, s: &mut State<'t>, idx: usize, k: &Constraint) -> Step {
        let Some(torch) = &mut s.torch else {
            return Ok(());
        };
        let fact = || Fact::new(k.fact.clone(), vec![k.source.clone()]);
        let labelled = k
            .spec
            .specifiers()
            .iter()
            .any(|s| s.version.local().is_some());
        let aspect = match k.target {
            Target::TorchIndex => Aspect::Variant,
            _ if labelled => Aspect::Both,
            _ => Aspect::Version,
        };
        let public = SpecifierSet::parse(&strip_local(&k.spec)).unwrap_or_default();
        let wanted_label = k.spec.specifiers().iter().find_map(|s| s.version.local());
        let (_, empty) = narrow(torch, fact, aspect, vec![], Some(idx), |i| match k.target {
            Target::Torch => (!k.spec.contains(&i.full())).then(|| match &wanted_label {
                Some(l) if public.contains(&i.row.torch) => format!("is not the {l} build"),
                _ => match public.exact() {
                    Some(v) => format!("is not torch {v}"),
                    None => format!("does not satisfy torch{public}"),
                },
            }),
            Target::Torchvision => (!k.spec.contains(&i.with_label(&i.row.torchvision)))
                .then(|| format!("does not pair with torchvision{}", k.written)),
            Target::Torchaudio => (!k.spec.contains(&i.with_label(&i.row.torchaudio)))
                .then(|| format!("does not pair with torchaudio{}", k.written)),
            _ => {
                let labels = k.label.as_deref().unwrap_or_default();
                (!labels.split(',').any(|l| l == i.variant.label))
                    .then(|| format!("is not the {} build", labels.replace(',', " or ")))
            }
        });
        if empty {
            Err(Var::Torch)
        } else {
            Ok(())
        }
    }

    fn apply_tf(&self, s: &mut State<'t>, idx: usize, k: &Constraint) -> Step {
        let Some(tf) = &mut s.tf else { return Ok(()) };
        let fact = || Fact::new(k.fact.clone(), vec![k.source.clone()]);
        let (_, empty) = narrow(tf, fact, Aspect::Both, vec![], Some(idx), |i| {
            (!k.spec.contains(i.version)).then(|| is_not(k))
        });
        if empty {
            Err(Var::Tf)
        } else {
            Ok(())
        }
    }

    /// Table relations until nothing changes.
    fn propagate(&self, s: &mut State<'t>) -> Step {
        loop {
            let mut changed = false;
            if let Some(torch) = &mut s.torch {
                // Python <- torch, torch <- Python.
                changed |= relate_python(&mut s.python, torch)?;
                if let Some(cuda) = &mut s.cuda {
                    // CUDA <- torch: only when every remaining build is a CUDA build.
                    let cudas: Vec<&Version> = torch
                        .items
                        .iter()
                        .filter_map(|i| i.variant.cuda.as_ref())
                        .collect();
                    if cudas.len() == torch.items.len() {
                        if let Some(min) = cudas.iter().min().copied() {
                            let items = torch.items.clone();
                            let fact = || {
                                Fact::new(
                                    format!(
                                        "torch {} is built for CUDA {}",
                                        versions(&items),
                                        list_versions(cudas.iter().copied())
                                    ),
                                    distinct_rows(&items),
                                )
                            };
                            let (c, e) = narrow(
                                cuda,
                                fact,
                                Aspect::Both,
                                vec![(Var::Torch, Aspect::Both)],
                                None,
                                |r| {
                                    r.version.cog_cmp(min).is_lt().then(|| {
                                        format!("is older than CUDA {min}, the oldest the remaining torch builds need")
                                    })
                                },
                            );
                            if e {
                                return Err(Var::Cuda);
                            }
                            changed |= c;
                        }
                    }
                    // torch <- CUDA.
                    let newest = cuda.items.iter().map(|r| &r.version).max().cloned();
                    let fits = |i: &TorchC<'_>| match (&i.variant.cuda, &newest) {
                        (Some(c), Some(n)) => c.cog_cmp(n).is_le(),
                        (Some(_), None) => false,
                        (None, _) => true,
                    };
                    let removed: Vec<TorchC<'t>> =
                        torch.items.iter().filter(|i| !fits(i)).copied().collect();
                    if !removed.is_empty() {
                        let shown: Vec<String> = removed.iter().map(|i| i.describe()).collect();
                        let fact = || {
                            Fact::new(
                                format!(
                                    "the builds {} need a newer CUDA",
                                    list_strings(&shown, "builds")
                                ),
                                distinct_rows(&removed),
                            )
                        };
                        let newest_s = newest
                            .as_ref()
                            .map_or("none".to_string(), |n| n.to_string());
                        let (c, e) = narrow(
                            torch,
                            fact,
                            Aspect::Variant,
                            vec![(Var::Cuda, Aspect::Both)],
                            None,
                            |i| {
                                (!fits(i)).then(|| {
                                    format!(
                                        "is built for CUDA {}, newer than CUDA {newest_s}",
                                        i.variant
                                            .cuda
                                            .as_ref()
                                            .map_or(String::new(), |c| c.to_string())
                                    )
                                })
                            },
                        );
                        if e {
                            return Err(Var::Torch);
                        }
                        changed |= c;
                    }
                }
            }
            if let Some(tf) = &mut s.tf {
                // Python <- tensorflow, tensorflow <- Python.
                changed |= relate_python(&mut s.python, tf)?;
                if let Some(cuda) = &mut s.cuda {
                    let items = tf.items.clone();
                    let pairs: Vec<String> = {
                        let mut v: Vec<String> = items
                            .iter()
                            .map(|i| format!("CUDA {} and cuDNN {}", i.row.cuda, i.row.cudnn))
                            .collect();
                        v.dedup();
                        v
                    };
                    let needs: Vec<String> = {
                        let mut v: Vec<String> = items
                            .iter()
                            .map(|i| {
                                format!(
                                    "CUDA {}.x with cuDNN {}",
                                    i.row.cuda.major(),
                                    i.row.cudnn.major()
                                )
                            })
                            .collect();
                        v.dedup();
                        v
                    };
                    let fact = || {
                        Fact::new(
                            format!(
                                "tensorflow {} was built for {}, so it needs {}",
                                versions(&items),
                                pairs.join(" or "),
                                needs.join(" or ")
                            ),
                            distinct_rows(&items),
                        )
                    };
                    let ok = |r: &CudaRow, i: &TfC<'_>| {
                        i.row.cuda.major() == r.version.major()
                            && i.row.cudnn.major() == r.cudnn.major()
                    };
                    let (c, e) = narrow(
                        cuda,
                        fact,
                        Aspect::Both,
                        vec![(Var::Tf, Aspect::Both)],
                        None,
                        |r| {
                            (!items.iter().any(|i| ok(r, i)))
                                .then(|| format!("is CUDA {} with cuDNN {}", r.version, r.cudnn))
                        },
                    );
                    if e {
                        return Err(Var::Cuda);
                    }
                    changed |= c;
                    let rows = cuda.items.clone();
                    let removed: Vec<TfC<'t>> = tf
                        .items
                        .iter()
                        .filter(|i| !rows.iter().any(|r| ok(r, i)))
                        .copied()
                        .collect();
                    if !removed.is_empty() {
                        let fact = || {
                            Fact::new(
                                format!(
                                    "tensorflow {} needs CUDA {}.x with cuDNN {}",
                                    versions(&removed),
                                    removed[0].row.cuda.major(),
                                    removed[0].row.cudnn.major()
                                ),
                                distinct_rows(&removed),
                            )
                        };
                        let (c, e) = narrow(
                            tf,
                            fact,
                            Aspect::Both,
                            vec![(Var::Cuda, Aspect::Both)],
                            None,
                            |i| {
                                (!rows.iter().any(|r| ok(r, i))).then(|| {
                                    format!(
                                        "needs CUDA {}.x with cuDNN {}",
                                        i.row.cuda.major(),
                                        i.row.cudnn.major()
                                    )
                                })
                            },
                        );
                        if e {
                            return Err(Var::Tf);
                        }
                        changed |= c;
                    }
                }
            }
            if !changed {
                return Ok(());
            }
        }
    }

    fn entries<'s>(&self, s: &'s State<'t>, var: Var) -> &'s [Entry] {
        match var {
            Var::Python => &s.python.log,
            Var::Torch => s.torch.as_ref().map_or(&[], |d| &d.log),
            Var::Tf => s.tf.as_ref().map_or(&[], |d| &d.log),
            Var::Cuda => s.cuda.as_ref().map_or(&[], |d| &d.log),
        }
    }

    /// The facts that emptied `var`, causes first.
    fn explain(&self, s: &State<'t>, var: Var) -> (Vec<Fact>, Vec<Tried>, Vec<usize>) {
        let mut facts: Vec<Fact> = Vec::new();
        let mut involved = Vec::new();
        let mut visiting = vec![var];
        self.collect_facts(
            s,
            var,
            Aspect::Both,
            &mut facts,
            &mut involved,
            &mut visiting,
        );
        let tried = self
            .entries(s, var)
            .last()
            .map(|e| e.tried.clone())
            .unwrap_or_default();
        (facts, tried, involved)
    }

    fn collect_facts(
        &self,
        s: &State<'t>,
        var: Var,
        aspect: Aspect,
        facts: &mut Vec<Fact>,
        involved: &mut Vec<usize>,
        visiting: &mut Vec<Var>,
    ) {
        for e in self.entries(s, var) {
            if !e.aspect.overlaps(aspect) {
                continue;
            }
            for (cause, cause_aspect) in &e.causes {
                if !visiting.contains(cause) {
                    visiting.push(*cause);
                    self.collect_facts(s, *cause, *cause_aspect, facts, involved, visiting);
                    visiting.pop();
                }
            }
            if !facts.contains(&e.fact) {
                facts.push(e.fact.clone());
            }
            if let Some(i) = e.constraint {
                if !involved.contains(&i) {
                    involved.push(i);
                }
            }
        }
    }

    fn conflict(&self, s: &State<'t>, var: Var) -> ResolveError {
        let (facts, tried, involved) = self.explain(s, var);
        let conclusion = format!(
            "no {} {} {}",
            var.noun(),
            if var == Var::Cuda {
                "pair"
            } else if var == Var::Torch {
                "build"
            } else {
                "version"
            },
            match facts.len() {
                1 => "in cogpack's tables satisfies it",
                2 => "satisfies both",
                _ => "satisfies all of these",
            }
        );
        let hints = if facts.len() == 1 {
            self.nearest(&involved)
        } else {
            self.hints(&involved)
        };
        ResolveError::Conflict(Derivation {
            title: format!(
                "cannot resolve {}: the project's requirements conflict",
                var.noun()
            ),
            facts,
            conclusion,
            tried,
            hints,
        })
    }

    /// When one constraint alone matches no row: the rows nearest to what it asks for.
    fn nearest(&self, involved: &[usize]) -> Vec<String> {
        let mut hints = Vec::new();
        for &i in involved {
            let k = &self.c.constraints[i];
            let Some(want) = k.spec.exact() else { continue };
            let want_public = want.without_local();
            let same_series = |v: &Version| v.major() == want.major() && v.minor() == want.minor();
            match k.target {
                Target::Torch => {
                    if let Some(row) = self.t.torch_row(&want_public) {
                        let labels: Vec<&str> =
                            row.variants.iter().map(|v| v.label.as_str()).collect();
                        hints.push(format!(
                            "torch {} is built as {} ({}): use one of those labels, or drop the label",
                            row.torch,
                            labels.join(", "),
                            row.at
                        ));
                    } else {
                        let near: Vec<&Version> = self
                            .t
                            .torch()
                            .iter()
                            .map(|r| &r.torch)
                            .filter(|v| same_series(v))
                            .collect();
                        if !near.is_empty() {
                            hints.push(format!(
                                "compat/torch.toml knows torch {} in the {}.{} series",
                                list_versions(near),
                                want.major(),
                                want.minor()
                            ));
                        }
                    }
                }
                Target::Tensorflow => {
                    let near: Vec<&Version> = self
                        .t
                        .tensorflow()
                        .iter()
                        .flat_map(|r| r.versions.iter())
                        .filter(|v| same_series(v))
                        .collect();
                    if !near.is_empty() {
                        hints.push(format!(
                            "compat/tensorflow.toml knows tensorflow {} in the {}.{} series",
                            list_versions(near),
                            want.major(),
                            want.minor()
                        ));
                    }
                }
                Target::Cuda => {
                    let below = self
                        .t
                        .cuda()
                        .iter()
                        .rev()
                        .find(|r| r.version.cog_cmp(want).is_lt());
                    let above = self.t.cuda().iter().find(|r| r.version.cog_cmp(want).is_gt());
                    let near: Vec<String> = below
                        .into_iter()
                        .chain(above)
                        .map(|r| r.version.to_string())
                        .collect();
                    if !near.is_empty() {
                        hints.push(format!(
                            "the nearest CUDA releases with images are {}",
                            near.join(" and ")
                        ));
                    }
                }
                _ => {}
            }
        }
        if hints.is_empty() {
            hints.push(
                "if that release exists, add it to cogpack's compat tables (docs/compat-data.md)"
                    .into(),
            );
        }
        hints
    }

    /// For each constraint in the derivation: would the rest resolve without it, and with
    /// which values in its place?
    fn hints(&self, involved: &[usize]) -> Vec<String> {
        let mut hints = Vec::new();
        for &i in involved {
            let k = &self.c.constraints[i];
            let relaxed = Solver {
                c: self.c,
                t: self.t,
                skip: Some(i),
            };
            let mut s = relaxed.initial();
            if relaxed.narrow_all(&mut s).is_err() {
                continue;
            }
            let values = match k.target {
                Target::Python => list_versions(s.python.items.iter().map(|p| &p.version)),
                Target::Cuda => s.cuda.as_ref().map_or(String::new(), |d| {
                    list_versions(d.items.iter().map(|r| &r.version))
                }),
                Target::Cudnn => s.cuda.as_ref().map_or(String::new(), |d| {
                    list_versions(d.items.iter().map(|r| &r.cudnn))
                }),
                Target::Torch => s
                    .torch
                    .as_ref()
                    .map_or(String::new(), |d| versions(&d.items)),
                Target::Torchvision => s.torch.as_ref().map_or(String::new(), |d| {
                    list_versions(d.items.iter().map(|i| &i.row.torchvision))
                }),
                Target::Torchaudio => s.torch.as_ref().map_or(String::new(), |d| {
                    list_versions(d.items.iter().map(|i| &i.row.torchaudio))
                }),
                Target::TorchIndex => s.torch.as_ref().map_or(String::new(), |d| {
                    let mut labels: Vec<String> =
                        d.items.iter().map(|i| i.variant.label.clone()).collect();
                    labels.sort();
                    labels.dedup();
                    labels.join(", ")
                }),
                Target::Tensorflow => s.tf.as_ref().map_or(String::new(), |d| versions(&d.items)),
            };
            if values.is_empty() {
                continue;
            }
            let name = match k.target {
                Target::Cudnn => "cuDNN",
                Target::Cuda => "CUDA",
                Target::Python => "Python",
                Target::TorchIndex => "a pytorch.org index for",
                other => other.name(),
            };
            let what = match (&k.source, k.target) {
                (Source::CogYaml { field, .. }, Target::Python | Target::Cuda | Target::Cudnn) => {
                    format!("{field} \"{}\"", k.written)
                }
                (_, Target::TorchIndex) => k.written.clone(),
                _ => format!("{}{}", k.target.name(), k.written),
            };
            hints.push(format!(
                "{name} {values} would fit everything else: change {what} ({}){}",
                k.source,
                if matches!(k.source, Source::CogYaml { .. }) {
                    " or remove it"
                } else {
                    ""
                }
            ));
        }
        hints
    }

    fn has_python_image(&self, s: &State<'t>, p: &Version, local_only: bool) -> bool {
        self.t.base_images().iter().any(|img| {
            if local_only && img.origin != crate::compat::Origin::Local {
                return false;
            }
            let Some(py) = &img.python else { return false };
            if !py.cog_matches(p) {
                return false;
            }
            match (&s.cuda, &img.cuda, &img.cudnn) {
                (None, None, _) => true,
                (Some(d), Some(c), Some(n)) => d
                    .items
                    .iter()
                    .any(|r| r.version.cog_matches(c) && r.cudnn.major() == n.major()),
                _ => false,
            }
        })
    }
}

/// Narrows, then picks; see the module docs.
pub(crate) fn solve<'t>(c: &Collected, t: &'t CompatTables) -> Result<Choice<'t>, ResolveError> {
    let solver = Solver { c, t, skip: None };
    let mut s = solver.initial();
    if let Err(var) = solver.narrow_all(&mut s) {
        return Err(solver.conflict(&s, var));
    }
    pick(&solver, s).map_err(|failed| solver.conflict(&failed.0, failed.1))
}

fn fix<T: Item + Clone>(dom: &mut Dom<T>, what: String, keep: impl Fn(&T) -> bool) {
    let text = format!("cogpack picks {what}");
    narrow(
        dom,
        || Fact::new(text.clone(), vec![]),
        Aspect::Both,
        vec![],
        None,
        |i| (!keep(i)).then(|| format!("cogpack picked {what}")),
    );
}

type Picked<'t> = Result<Choice<'t>, Box<(State<'t>, Var)>>;

/// Tries each candidate in order of preference: fix it, propagate, pick the rest. The first
/// failure is kept to explain the case where none works.
fn try_each<'t, C>(
    solver: &Solver<'_, 't>,
    s: &State<'t>,
    cands: Vec<C>,
    apply: impl Fn(&mut State<'t>, &C),
) -> Picked<'t> {
    let mut first_err = None;
    for cand in cands {
        let mut next = s.clone();
        apply(&mut next, &cand);
        if let Err(var) = solver.propagate(&mut next) {
            first_err.get_or_insert(Box::new((next, var)));
            continue;
        }
        match pick(solver, next) {
            Ok(choice) => return Ok(choice),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    Err(first_err.unwrap_or_else(|| Box::new((s.clone(), Var::Python))))
}

fn pick<'t>(solver: &Solver<'_, 't>, s: State<'t>) -> Picked<'t> {
    // 1. TensorFlow: the pinned release, else the newest that fits.
    if let Some(tf) = s.tf.as_ref().filter(|d| d.items.len() > 1) {
        let mut versions: Vec<&'t Version> = tf.items.iter().map(|i| i.version).collect();
        versions.sort();
        versions.dedup();
        versions.reverse();
        return try_each(solver, &s, versions, |next, v| {
            if let Some(dom) = next.tf.as_mut() {
                fix(dom, format!("tensorflow {v}"), |i| i.version == *v);
            }
        });
    }
    // 2. torch: the pinned release, else the newest that fits.
    if let Some(torch) = &s.torch {
        let mut versions: Vec<&'t Version> = torch.items.iter().map(|i| &i.row.torch).collect();
        versions.sort();
        versions.dedup();
        if versions.len() > 1 {
            versions.reverse();
            return try_each(solver, &s, versions, |next, v| {
                if let Some(dom) = next.torch.as_mut() {
                    fix(dom, format!("torch {v}"), |i| i.row.torch == **v);
                }
            });
        }
    }
    // 3. Python: one a base image ships, the default, one a local image ships, the newest.
    if s.python.items.len() > 1 {
        let mut cands = s.python.items.clone();
        cands.sort_by_key(|p| {
            std::cmp::Reverse((
                solver.has_python_image(&s, &p.version, false),
                p.default,
                solver.has_python_image(&s, &p.version, true),
                p.version.clone(),
            ))
        });
        return try_each(solver, &s, cands, |next, p| {
            fix(&mut next.python, format!("Python {}", p.version), |r| {
                r.version == p.version
            })
        });
    }
    // 4. CUDA (GPU builds): TensorFlow's, else the newest torch's, else Cog's default 11.8.
    if let Some(cuda) = s.cuda.as_ref().filter(|d| d.items.len() > 1) {
        let tf = s.tf.as_ref().and_then(|d| d.items.first().copied());
        let torch_target = s.torch.as_ref().and_then(|d| {
            d.items
                .iter()
                .filter_map(|i| i.variant.cuda.as_ref())
                .filter(|v| cuda.items.iter().any(|r| r.version.cog_matches(v)))
                .max()
                .cloned()
        });
        let default = Version::parse(DEFAULT_CUDA).expect("constant parses");
        // TensorFlow's PyPI wheels bring their own CUDA: prefer it, so that they can supply it.
        let target = tf
            .map(|t| t.row.pypi.as_ref().map_or_else(|| t.row.cuda.clone(), |p| p.cuda.clone()))
            .or(torch_target)
            .unwrap_or(default);
        let mut cands = cuda.items.clone();
        cands.sort_by_key(|r| {
            std::cmp::Reverse((r.version.cog_matches(&target), r.version.clone()))
        });
        return try_each(solver, &s, cands, |next, r| {
            if let Some(dom) = next.cuda.as_mut() {
                fix(dom, format!("CUDA {}", r.version), |x| {
                    x.version == r.version
                });
            }
        });
    }
    // 5. The torch build: the newest CUDA build not newer than the image's CUDA (Cog's rule),
    //    or the CPU build.
    let cuda = s.cuda.as_ref().and_then(|d| d.items.first().copied());
    let torch = s.torch.as_ref().and_then(|d| {
        let mut items = d.items.clone();
        items.sort_by(|a, b| a.variant.cuda.cmp(&b.variant.cuda));
        match cuda {
            Some(row) => items
                .iter()
                .rev()
                .find(|i| {
                    i.variant
                        .cuda
                        .as_ref()
                        .is_some_and(|c| c.cog_cmp(&row.version).is_le())
                })
                .or_else(|| items.first())
                .copied(),
            None => items
                .iter()
                .find(|i| i.variant.cuda.is_none())
                .or_else(|| items.first())
                .copied(),
        }
    });
    let tf = s.tf.as_ref().and_then(|d| d.items.first().copied());
    let python = s.python.items[0];
    let mut choice = Choice {
        python,
        torch,
        tf,
        cuda,
        why: BTreeMap::new(),
        warnings: Vec::new(),
        image_warnings: Vec::new(),
    };
    explain_choice(solver, &s, &mut choice);
    Ok(choice)
}

/// Records why each value was picked, and warns where Cog's rules bend.
fn explain_choice<'t>(solver: &Solver<'_, 't>, s: &State<'t>, ch: &mut Choice<'t>) {
    let c = solver.c;
    let t = solver.t;
    let user = |target: Target| -> Option<&Constraint> {
        c.of(target)
            .find(|k| k.spec.exact().is_some() && !k.constraint_file)
            .or_else(|| c.of(target).next())
    };

    // Python.
    let py = ch.python;
    let python_why = if let Some(k) = user(Target::Python) {
        Why {
            reason: format!("{} ({})", k.fact, k.source),
            source: k.source.clone(),
        }
    } else if py.default {
        Why {
            reason: format!(
                "the default Python ({}), as in Cog; nothing narrows it",
                py.at
            ),
            source: Source::Default {
                why: format!("default Python in {}", py.at),
            },
        }
    } else {
        let default = t.default_python();
        let removed_by = s.python.log.iter().find(|e| {
            e.tried
                .iter()
                .any(|tr| tr.rows.contains(&Source::from(&default.at)))
                && !e.fact.text.starts_with("cogpack picks")
        });
        match removed_by {
            Some(e) => Why {
                reason: format!(
                    "{} ({}); Python {} is the newest of those with a base image",
                    e.fact.text,
                    fmt_sources(&e.fact.sources),
                    py.version
                ),
                source: e
                    .fact
                    .sources
                    .iter()
                    .find(|s| matches!(s, Source::Table { .. }))
                    .cloned()
                    .unwrap_or_else(|| e.fact.sources[0].clone()),
            },
            None => Why {
                reason: format!(
                    "Python {} ships in a base image and fits every constraint; the default {} does not have one here",
                    py.version, default.version
                ),
                source: Source::from(&py.at),
            },
        }
    };
    ch.why.insert("python", python_why);

    // TensorFlow.
    if let Some(tf) = ch.tf {
        let w = match user(Target::Tensorflow) {
            Some(k) if k.spec.exact().is_some() => Why {
                reason: format!("{} ({})", k.fact, k.source),
                source: k.source.clone(),
            },
            _ => Why {
                reason: format!("the newest tensorflow release that fits ({})", tf.row.at),
                source: Source::from(&tf.row.at),
            },
        };
        ch.why.insert("tensorflow", w);
    }

    // torch.
    if let Some(torch) = ch.torch {
        let pinned = c
            .of(Target::Torch)
            .find(|k| k.spec.exact().is_some() && !k.constraint_file);
        let w = match pinned {
            Some(k) => Why {
                reason: format!("{} ({})", k.fact, k.source),
                source: k.source.clone(),
            },
            None => {
                let by_vision = c
                    .of(Target::Torchvision)
                    .chain(c.of(Target::Torchaudio))
                    .find(|k| k.spec.exact().is_some());
                match by_vision {
                    Some(k) => Why {
                        reason: format!(
                            "{} ({}), and torch {} is the release it pairs with ({})",
                            k.fact, k.source, torch.row.torch, torch.row.at
                        ),
                        source: Source::from(&torch.row.at),
                    },
                    None => Why {
                        reason: format!(
                            "the newest torch release that fits every constraint ({})",
                            torch.row.at
                        ),
                        source: Source::from(&torch.row.at),
                    },
                }
            }
        };
        ch.why.insert("torch", w);
    }

    // CUDA and cuDNN.
    if let Some(cuda) = ch.cuda {
        let pinned = c.of(Target::Cuda).next();
        let w = if let Some(k) = pinned {
            Why {
                reason: format!("{} ({})", k.fact, k.source),
                source: k.source.clone(),
            }
        } else if let Some(tf) = ch.tf {
            if tf.row.cuda.cog_matches(&cuda.version) {
                Why {
                    reason: format!(
                        "tensorflow {} was built for CUDA {} ({})",
                        tf.version, tf.row.cuda, tf.row.at
                    ),
                    source: Source::from(&tf.row.at),
                }
            } else {
                Why {
                    reason: format!(
                        "tensorflow {} was built for CUDA {} with cuDNN {} ({}); CUDA {} is the newest {}.x image with cuDNN {} ({})",
                        tf.version,
                        tf.row.cuda,
                        tf.row.cudnn,
                        tf.row.at,
                        cuda.version,
                        cuda.version.major(),
                        cuda.cudnn,
                        cuda.at
                    ),
                    source: Source::from(&tf.row.at),
                }
            }
        } else if let Some(torch) = ch.torch.filter(|t| t.variant.cuda.is_some()) {
            let all: Vec<&Version> = torch
                .row
                .variants
                .iter()
                .filter_map(|v| v.cuda.as_ref())
                .collect();
            Why {
                reason: format!(
                    "the newest CUDA that torch {} is built for (CUDA {}; {})",
                    torch.row.torch,
                    list_versions(all),
                    torch.row.at
                ),
                source: Source::from(&torch.row.at),
            }
        } else {
            Why {
                reason: format!(
                    "Cog's default CUDA when no framework asks for one ({DEFAULT_CUDA})"
                ),
                source: Source::Default {
                    why: "Cog's default CUDA when no framework asks for one".into(),
                },
            }
        };
        ch.why.insert("cuda", w);
        let cudnn_w = if let Some(tf) = ch.tf {
            Why {
                reason: format!(
                    "tensorflow {} was built with cuDNN {} ({})",
                    tf.version, tf.row.cudnn, tf.row.at
                ),
                source: Source::from(&tf.row.at),
            }
        } else if let Some(k) = c.of(Target::Cudnn).next() {
            Why {
                reason: format!("{} ({})", k.fact, k.source),
                source: k.source.clone(),
            }
        } else {
            Why {
                reason: format!(
                    "the highest cuDNN with a CUDA {} image ({})",
                    cuda.version, cuda.at
                ),
                source: Source::from(&cuda.at),
            }
        };
        ch.why.insert("cudnn", cudnn_w);

        if let Some(tf) = ch.tf {
            if !tf.row.cuda.cog_matches(&cuda.version) {
                ch.image_warnings.push(Warning {
                    message: format!(
                        "tensorflow {} was built for CUDA {} and cuDNN {} ({}); the image has CUDA {} with cuDNN {}",
                        tf.version, tf.row.cuda, tf.row.cudnn, tf.row.at, cuda.version, cuda.cudnn
                    ),
                    source: pinned.map(|k| k.source.clone()),
                    help: pinned.map(|_| format!("set cuda to \"{}\" to match", tf.row.cuda)),
                });
            }
        }
        if let Some(torch) = ch.torch {
            match &torch.variant.cuda {
                Some(tc) if !tc.cog_matches(&cuda.version) => {
                    let all: Vec<&Version> = torch.row.variants.iter().filter_map(|v| v.cuda.as_ref()).collect();
                    let decided_by = pinned.map(|k| k.source.clone()).or_else(|| {
                        ch.tf.map(|tf| Source::from(&tf.row.at))
                    });
                    ch.image_warnings.push(Warning {
                        message: format!(
                            "torch {} has no build for CUDA {}; it is built for CUDA {} ({}). The {} build is used: the newest one not newer than CUDA {}",
                            torch.row.torch,
                            cuda.version,
                            list_versions(all.iter().copied()),
                            torch.row.at,
                            torch.variant.label,
                            cuda.version
                        ),
                        source: decided_by,
                        help: Some(format!(
                            "set cuda to one of {} to match torch exactly, or pick a torch release built for CUDA {}",
                            list_versions(all.iter().copied()),
                            cuda.version
                        )),
                    });
                }
                None => ch.warnings.push(Warning {
                    message: format!(
                        "the CPU build of torch {} is installed on a GPU image, as the requirements ask",
                        torch.row.torch
                    ),
                    source: c.of(Target::Torch).chain(c.of(Target::TorchIndex)).next().map(|k| k.source.clone()),
                    help: None,
                }),
                _ => {}
            }
        }
    } else if let Some(torch) = ch.torch {
        if torch.variant.cuda.is_some() {
            ch.warnings.push(Warning {
                message: format!(
                    "the {} build of torch {} is installed on a CPU-only image, as the requirements ask",
                    torch.variant.label, torch.row.torch
                ),
                source: c.of(Target::Torch).chain(c.of(Target::TorchIndex)).next().map(|k| k.source.clone()),
                help: Some("drop the `+cu...` label (or the CUDA index) for the smaller CPU build".into()),
            });
        }
    }
}
