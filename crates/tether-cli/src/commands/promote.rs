//! `tether promote`: copy promotable settings from one environment file into another, in place.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, anyhow};
use tether_config::Difference;

use super::diff::render_setting;
use crate::args::PromoteArgs;
use crate::environment::{self, LoadedEnvironment};
use crate::exit::Failure;
use crate::promotion::{self, PromoteError};

/// Exit code of `--check` when the target lags the source.
const LAGS: u8 = 2;

pub fn run(args: &PromoteArgs) -> Result<ExitCode, Failure> {
    let only = promotion::parse_only(&args.only).map_err(anyhow::Error::from)?;
    let from = environment::load(&args.from)?;
    let to = environment::load(&args.to)?;

    let differences = tether_config::compare(&from.checked.environment, &to.checked.environment);
    let (changes, per_environment) = promotion::select(differences, &only);
    if args.check {
        return Ok(report_check(&changes, &args.from, &args.to));
    }
    if changes.is_empty() {
        println!("{} is in step with {}: no promotable setting differs.", args.to.display(), args.from.display());
        return Ok(ExitCode::SUCCESS);
    }

    let promoted = promotion::promoted_environment(&to.checked.environment, &changes).map_err(anyhow::Error::from)?;
    check_releases(&to.checked.environment, &promoted)?;

    let before = std::fs::read_to_string(&args.to).with_context(|| format!("cannot read {}", args.to.display()))?;
    let after = tether_config::apply_edits(&before, &promotion::edits(&changes))
        .with_context(|| format!("cannot edit {}", args.to.display()))?;
    let candidate = Candidate::write(&args.to, &after)?;
    let promoted = candidate.load()?;
    promotion::verify(&from.checked.environment, &promoted.checked.environment, &changes)
        .map_err(anyhow::Error::from)?;
    let impact = promotion::file_impact(&to.checked.environment.name, &to.desired, &promoted.desired)?;

    if args.dry_run {
        let path = args.to.display().to_string();
        print!("{}", tether_render::render_file_diff(&path, &before, &after));
        return Ok(ExitCode::SUCCESS);
    }
    print!("{}", render_changes(&changes, &per_environment, &args.from, &args.to));
    println!();
    print!("{}", tether_render::render_file_impact(&impact, &args.to.display().to_string()));
    candidate.persist(&args.to)?;
    println!(
        "\nWrote {}: {} changed; everything else in the file is as it was.",
        args.to.display(),
        count(changes.len())
    );
    Ok(ExitCode::SUCCESS)
}

/// Prints what `--check` found and returns its exit code: 2 when the target lags, 0 when in step.
fn report_check(changes: &[Difference], from: &Path, to: &Path) -> ExitCode {
    if changes.is_empty() {
        println!("{} is in step with {}.", to.display(), from.display());
        return ExitCode::SUCCESS;
    }
    println!("{} lags {} in {}:", to.display(), from.display(), count(changes.len()));
    for change in changes {
        let (new, old) = (render_setting(change.from.as_ref()), render_setting(change.to.as_ref()));
        println!("  {} = {old} -> {new}", change.path);
    }
    println!("Run `tether promote --from {} --to {}` to copy them.", from.display(), to.display());
    ExitCode::from(LAGS)
}

/// Rejects the promotion when it breaks a release rule, and warns about each release that could not be judged.
fn check_releases(current: &tether_config::Environment, promoted: &tether_config::Environment) -> Result<(), Failure> {
    let check = tether_config::check_releases(current, promoted);
    for image in &check.unjudged {
        eprintln!(
            "warning: release image {image} is pinned by digest and carries no version, so release skew and \
             downgrades were not checked for it; check them by hand"
        );
    }
    if check.violations.is_empty() {
        return Ok(());
    }
    Err(Failure::Error(PromoteError::Release(check.violations).into()))
}

fn render_changes(changes: &[Difference], per_environment: &[Difference], from: &Path, to: &Path) -> String {
    let mut out = format!("Promoting {} from {} to {}:\n", count(changes.len()), from.display(), to.display());
    for change in changes {
        let (new, old) = (render_setting(change.from.as_ref()), render_setting(change.to.as_ref()));
        let _ = writeln!(out, "  {} = {old} -> {new}", change.path);
    }
    if !per_environment.is_empty() {
        let _ = writeln!(out, "Not promoted (per-environment, {}):", per_environment.len());
        for difference in per_environment {
            let _ = writeln!(out, "  {}", difference.path);
        }
    }
    out
}

fn count(settings: usize) -> String {
    if settings == 1 { "1 setting".to_owned() } else { format!("{settings} settings") }
}

/// The promoted file, written beside the target so that relative paths and `extends` resolve as they
/// do for the target, and renamed over it only once it loads.
struct Candidate {
    file: tempfile::NamedTempFile,
}

impl Candidate {
    fn write(target: &Path, text: &str) -> Result<Candidate, Failure> {
        let folder = match target.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
        let name = target.file_name().map_or_else(|| "environment".into(), |name| name.to_string_lossy());
        let file = tempfile::Builder::new()
            .prefix(&format!(".{name}.promoted-"))
            .suffix(".toml")
            .tempfile_in(&folder)
            .with_context(|| format!("cannot create a temporary file in {}", folder.display()))?;
        std::fs::write(file.path(), text).with_context(|| format!("cannot write {}", file.path().display()))?;
        Ok(Candidate { file })
    }

    /// Loads and lowers the promoted file; its problems are reported as the promoted file's.
    fn load(&self) -> Result<LoadedEnvironment, Failure> {
        let checked = tether_config::load(self.file.path()).map_err(|diagnostics| {
            eprintln!("error: the promoted file would be invalid; nothing was written");
            Failure::Diagnostics(diagnostics)
        })?;
        let desired =
            tether_catalog::lower(&checked).context("cannot build the resource graph of the promoted file")?;
        Ok(LoadedEnvironment { checked, desired })
    }

    fn persist(self, target: &Path) -> Result<(), Failure> {
        let permissions = std::fs::metadata(target).map(|metadata| metadata.permissions()).ok();
        let file = self.file.persist(target).map_err(|error| anyhow!(error.error))?;
        if let Some(permissions) = permissions {
            file.set_permissions(permissions)
                .with_context(|| format!("cannot set the mode of {}", target.display()))?;
        }
        Ok(())
    }
}
