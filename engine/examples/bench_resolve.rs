//! Micro benchmark for the resolver (no Criterion; `cargo bench` needs nightly).
//!
//! `cargo run --example bench_resolve [--release] [-- ITERATIONS]` prints the time to check
//! the embedded compat tables once and the mean time of one resolution for typical projects.
//! The figures go in docs/benchmarks.md.

use std::hint::black_box;
use std::time::Instant;

use cogpack::compat::{CompatSources, CompatTables};
use cogpack::requirements::RequirementsFile;
use cogpack::resolve::{resolve, Pin, ResolveInput};

fn project(gpu: bool, python: Option<&str>, requirements: &str) -> ResolveInput {
    ResolveInput {
        gpu: gpu.then(|| Pin::cog_yaml(true, "build.gpu", 2, 8)),
        python_version: python.map(|p| Pin::cog_yaml(p.to_string(), "build.python_version", 3, 19)),
        requirements: Some(
            RequirementsFile::parse("requirements.txt", requirements).expect("parses"),
        ),
        ..Default::default()
    }
}

fn main() {
    let iterations: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000);

    let start = Instant::now();
    let tables = CompatTables::parse(&CompatSources::builtin()).expect("builtin tables are valid");
    let load = start.elapsed();

    let cases = [
        (
            "cpu, python 3.11, no framework",
            project(false, Some("3.11"), "numpy\n"),
        ),
        (
            "cpu, torch==2.1.0 + torchvision",
            project(false, None, "torch==2.1.0\ntorchvision\nnumpy\n"),
        ),
        (
            "gpu, torch==2.0.1 + torchvision",
            project(true, None, "torch==2.0.1\ntorchvision\n"),
        ),
        (
            "gpu, tensorflow==2.12.0",
            project(true, None, "tensorflow==2.12.0\n"),
        ),
        (
            "gpu, torch>=2.2 range (search)",
            project(true, None, "torch>=2.2\ntorchaudio\n"),
        ),
    ];
    println!(
        "compat tables parsed and checked once: {:.2} ms",
        load.as_secs_f64() * 1e3
    );
    for (name, input) in &cases {
        resolve(input, &tables).expect("resolves");
        let start = Instant::now();
        for _ in 0..iterations {
            black_box(resolve(black_box(input), &tables).expect("resolves"));
        }
        let per = start.elapsed() / iterations;
        println!(
            "{name:<36} {:>8.1} us per resolution ({iterations} runs)",
            per.as_secs_f64() * 1e6
        );
    }
    let conflict = project(false, Some("3.12"), "torch==1.13.1\n");
    let start = Instant::now();
    for _ in 0..iterations {
        black_box(resolve(black_box(&conflict), &tables).unwrap_err());
    }
    let per = start.elapsed() / iterations;
    println!(
        "{:<36} {:>8.1} us per failure (derivation + hints)",
        "conflict, python 3.12 + torch 1.13.1",
        per.as_secs_f64() * 1e6
    );
}
