//! `tether comment github`: post a saved plan as a pull-request comment, or update the comment
//! that carries the same environment's marker.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, anyhow};
use tether_plan::SavedPlan;
use tether_render::{FullPlanLocation, comment_marker};

use crate::args::{CommentCommand, GithubCommentArgs};
use crate::commands::output::{comment_markdown, full_markdown, write_full_markdown};
use crate::exit::Failure;
use crate::github::GithubClient;

pub async fn run(command: &CommentCommand) -> Result<ExitCode, Failure> {
    match command {
        CommentCommand::Github(args) => github(args).await,
    }
}

async fn github(args: &GithubCommentArgs) -> Result<ExitCode, Failure> {
    let repository = checked_repository(&args.repository)?;
    let token = std::env::var("GITHUB_TOKEN").unwrap_or_default();
    if token.trim().is_empty() {
        return Err(Failure::Error(anyhow!(
            "GITHUB_TOKEN is not set; set it to a token that may write pull-request comments"
        )));
    }
    let saved = SavedPlan::read(&args.plan).map_err(anyhow::Error::from)?;
    let plan = &saved.plan;

    let mut locations = Vec::new();
    if let Some(path) = &args.full_output {
        write_full_markdown(plan, path)?;
        locations.push(FullPlanLocation::File(path.display().to_string()));
    }
    if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|path| !path.is_empty()) {
        append_step_summary(Path::new(&summary), &full_markdown(plan))?;
        locations.push(FullPlanLocation::JobSummary { url: run_url() });
    }
    let body = comment_markdown(plan, locations);

    let client = GithubClient::new(&args.api_url, token).map_err(anyhow::Error::from)?;
    let marker = comment_marker(&plan.environment);
    let target = format!("{repository}#{}", args.pull_request);
    let existing = client
        .find_comment(repository, args.pull_request, &marker)
        .await
        .with_context(|| format!("cannot list the comments of {target}; the plan was not posted"))?;
    let (comment, verb) = match existing {
        Some(comment) => {
            let updated = client.update_comment(repository, comment.id, &body).await.with_context(|| {
                format!("cannot update comment {} on {target}; the plan was not posted", comment.id)
            })?;
            (updated, "Updated")
        }
        None => {
            let created = client
                .create_comment(repository, args.pull_request, &body)
                .await
                .with_context(|| format!("cannot comment on {target}; the plan was not posted"))?;
            (created, "Created")
        }
    };
    let link = comment.html_url.unwrap_or_else(|| format!("comment {}", comment.id));
    println!("{verb} the plan comment for `{}` on {target}: {link}", plan.environment);
    Ok(ExitCode::SUCCESS)
}

/// Accepts OWNER/NAME with the characters GitHub allows in both parts.
fn checked_repository(repository: &str) -> Result<&str, Failure> {
    let valid_part = |part: &str| {
        !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    match repository.split_once('/') {
        Some((owner, name)) if valid_part(owner) && valid_part(name) && name != "." && name != ".." => Ok(repository),
        _ => Err(Failure::Error(anyhow!(
            "invalid --repository `{repository}`: expected OWNER/NAME, e.g. octo-org/infra"
        ))),
    }
}

/// Appends the full plan to the GitHub Actions job summary file.
fn append_step_summary(path: &Path, markdown: &str) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open the job summary {} (GITHUB_STEP_SUMMARY)", path.display()))?;
    writeln!(file, "{markdown}").with_context(|| format!("cannot write the job summary {}", path.display()))
}

/// Builds the web address of the current GitHub Actions run from the variables Actions sets.
fn run_url() -> Option<String> {
    let variable = |name| std::env::var(name).ok().filter(|value: &String| !value.is_empty());
    let server = variable("GITHUB_SERVER_URL")?;
    let repository = variable("GITHUB_REPOSITORY")?;
    let run = variable("GITHUB_RUN_ID")?;
    Some(format!("{}/{repository}/actions/runs/{run}", server.trim_end_matches('/')))
}
