//! `cogpack predict IMAGE|DIR -i key=value ...`.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

use super::{exit, Format, GlobalArgs};
use crate::daemon;
use crate::predict::{self, DataUrl, PredictEvent, PredictOptions, RawInput};

#[derive(Debug, clap::Args)]
pub struct PredictArgs {
    /// An image reference, or a project directory to build first (default: the current
    /// directory). An existing directory wins over an image of the same name.
    #[arg(value_name = "IMAGE|DIR")]
    pub target: Option<String>,
    /// An input, `name=value`; `name=@path` sends a file. Repeat for more inputs (and for
    /// list inputs).
    #[arg(short = 'i', long = "input", value_name = "NAME=VALUE")]
    pub inputs: Vec<String>,
    /// An environment variable for the container, `NAME=VALUE`. Repeatable.
    #[arg(short = 'e', long = "env", value_name = "NAME=VALUE")]
    pub env: Vec<String>,
    /// Seconds the whole prediction may take: starting the container, the model's setup and
    /// the prediction (not a build before it). The container is removed when time runs out.
    #[arg(long, default_value_t = 300, value_name = "SECS")]
    pub timeout: u64,
    /// Engine address (default: discovered)
    #[arg(long, value_name = "ADDR")]
    pub engine: Option<String>,
    /// text: the output (files are written to output.<ext>); json: the whole response
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

pub fn run(args: PredictArgs, global: &GlobalArgs) -> anyhow::Result<ExitCode> {
    let target = args.target.clone().unwrap_or_else(|| ".".to_owned());
    let target_dir_marker = target.clone();
    let image = if Path::new(&target).is_dir() {
        match super::build::build_for_predict(Path::new(&target), args.engine.clone(), global)? {
            Ok(image) => image,
            Err(code) => return Ok(ExitCode::from(code)),
        }
    } else {
        target
    };

    let inputs = match args
        .inputs
        .iter()
        .map(|a| RawInput::parse(a))
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(exit::USAGE));
        }
    };
    let mut env = Vec::new();
    for e in &args.env {
        match e.split_once('=') {
            Some((k, v)) if !k.is_empty() => env.push((k.to_owned(), v.to_owned())),
            _ => {
                eprintln!("error: --env `{}`: expected NAME=VALUE", crate::diagnostics::clean_message(e));
                return Ok(ExitCode::from(exit::USAGE));
            }
        }
    }

    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        // Installed now (not on first poll), so a Ctrl-C at any point cancels and cleans up.
        let mut interrupt =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        // A closed terminal (SIGHUP) must not leave the container running either.
        let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
        let found = match daemon::discover(args.engine.as_deref()) {
            Ok(f) => f,
            Err(e) => return Ok(super::engine::engine_error(e)),
        };
        let docker = match daemon::connect(&found.addr).await {
            Ok(d) => d,
            Err(e) => return Ok(super::engine::engine_error(e)),
        };
        // An image the engine does not have is pulled, with Docker's registry credentials.
        if !Path::new(&target_dir_marker).is_dir() && docker.inspect_image(&image).await.is_err() {
            eprintln!("{image} is not in the engine: pulling it");
            let pulled = match crate::registry::DockerConfig::load() {
                Ok(auth) => crate::registry::pull(&docker, &auth, &image).await.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            match pulled {
                Ok(r) => eprintln!("pulled {} ({} layers)", r.reference, r.layers_transferred + r.layers_present),
                Err(e) => {
                    eprintln!("error: {e}");
                    return Ok(ExitCode::from(exit::PREDICT));
                }
            }
        }
        let mut opts = PredictOptions::new(image);
        opts.inputs = inputs;
        opts.env = env;
        opts.timeout = Duration::from_secs(args.timeout);
        if let Some((host, _)) = found.addr.tcp_host().filter(|_| found.addr.is_docker()) {
            opts.host = host.to_owned();
        }

        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} predict: {msg} [{elapsed}]").expect("template"),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        bar.set_message(format!("starting {}", opts.image));
        let on_event = |e: PredictEvent| match e {
            PredictEvent::Started { url, .. } => {
                bar.set_message(format!("waiting for the model at {url}"))
            }
            PredictEvent::Waiting { status, .. } => bar.set_message(format!(
                "waiting for the model ({})",
                status.as_deref().unwrap_or("starting")
            )),
            PredictEvent::Ready { elapsed } => bar.println(format!(
                "predict: model ready in {:.1}s",
                elapsed.as_secs_f64()
            )),
            PredictEvent::NoSchema => bar
                .println("warning: the image serves no OpenAPI schema; inputs are sent as strings"),
            PredictEvent::Predicting => bar.set_message("running the prediction"),
        };
        let cancel = async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
                _ = hangup.recv() => {}
            }
        };
        let result = predict::run(&docker, &opts, &on_event, cancel).await;
        bar.finish_and_clear();
        match result {
            Ok(prediction) => {
                match args.format {
                    Format::Json => {
                        println!("{}", serde_json::to_string_pretty(&prediction.response)?)
                    }
                    Format::Text => print_output(&prediction.output)?,
                }
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                if let (Format::Json, predict::PredictError::Failed { response, .. }) =
                    (args.format, &e)
                {
                    println!("{}", serde_json::to_string_pretty(response)?);
                }
                eprintln!("error: {e}");
                Ok(ExitCode::from(e.exit_code()))
            }
        }
    })
}

/// Text output: strings as they are, data URLs written to `output.<ext>` (`output.N.<ext>`
/// inside lists), anything else as JSON.
fn print_output(output: &Value) -> anyhow::Result<()> {
    match output {
        Value::String(s) => match DataUrl::parse(s) {
            Some(file) => write_file(&file, "output")?,
            None => println!("{s}"),
        },
        Value::Array(items)
            if items
                .iter()
                .any(|v| v.as_str().is_some_and(|s| s.starts_with("data:"))) =>
        {
            for (i, item) in items.iter().enumerate() {
                match item.as_str().and_then(DataUrl::parse) {
                    Some(file) => write_file(&file, &format!("output.{i}"))?,
                    None => println!("{item}"),
                }
            }
        }
        other => println!("{}", serde_json::to_string_pretty(other)?),
    }
    Ok(())
}

fn write_file(file: &DataUrl, stem: &str) -> anyhow::Result<()> {
    let name = file.file_name(stem);
    std::fs::write(&name, &file.bytes).map_err(|e| anyhow::anyhow!("writing {name}: {e}"))?;
    println!("{name}");
    eprintln!("wrote {} bytes to {name}", file.bytes.len());
    Ok(())
}

