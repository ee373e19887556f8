//! `rampart rbac who-can|can-i|permissions`: RBAC questions answered from manifests
//! (files, directories, `kubectl get -o yaml` dumps, or `-` for standard input) as the
//! API server's RBAC authorizer would answer them. The analysis is `rampart_k8s::rbac`;
//! this file parses arguments, loads the objects and prints.

use crate::args::parse_size;
use crate::exit;
use anyhow::{bail, Context as _, Result};
use clap::{Args, Subcommand};
use rampart_core::ScanError;
use rampart_k8s::rbac::query::{parse_request, parse_subject};
use rampart_k8s::rbac::{self, Grant, Policy, Request, Target, UserInfo};
use rampart_k8s::render::{load_tree, TreeOptions};
use rampart_k8s::Object;
use serde_json::{json, Value};
use std::io::Read as _;
use std::path::PathBuf;

/// `rampart rbac`.
#[derive(Debug, Subcommand)]
pub enum RbacCmd {
    /// Which subjects may make a request: `who-can get secrets -n kube-system DIR`.
    WhoCan(WhoCanArgs),
    /// Whether a subject may make a request (exit 0 yes, 1 no):
    /// `can-i ServiceAccount:ns:app create pods -n ns DIR`.
    CanI(CanIArgs),
    /// Everything a subject may do, binding by binding: `permissions User:alice DIR`.
    Permissions(PermissionsArgs),
}

/// Where the manifests come from and how to print.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// Output format: table or json.
    #[arg(long, short = 'f', default_value = "table", value_parser = ["table", "json"])]
    pub format: String,
    /// Report objects that could not be analysed as warnings; the exit code then
    /// follows the answer. Default: such errors exit 2.
    #[arg(long)]
    pub allow_errors: bool,
    /// Largest file (or standard input) read: bytes or `512K`, `10M` (default 10M).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_file_size: Option<u64>,
}

/// The request of `who-can` and `can-i`.
#[derive(Debug, Args)]
pub struct RequestArgs {
    /// Namespace of the request. Without it the request is cluster-scoped (or across
    /// all namespaces), which only ClusterRoleBindings grant.
    #[arg(long, short = 'n', value_name = "NS")]
    pub namespace: Option<String>,
    /// Name of the object (rules limited by `resourceNames` only grant named requests).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// API group of RESOURCE (`''` for the core group), for resources this build does
    /// not know; or write RESOURCE.GROUP.
    #[arg(long, value_name = "GROUP")]
    pub api_group: Option<String>,
}

/// `rampart rbac who-can`.
#[derive(Debug, Args)]
pub struct WhoCanArgs {
    /// Verb: get, list, watch, create, update, patch, delete, escalate, bind, impersonate …
    pub verb: String,
    /// RESOURCE[.GROUP][/SUBRESOURCE] (`secrets`, `pods/exec`, `deployments.apps`), or a
    /// non-resource URL (`/healthz`).
    pub resource: String,
    /// Manifest files or directories, or `-` for standard input.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// The request.
    #[command(flatten)]
    pub request: RequestArgs,
    /// Input and output.
    #[command(flatten)]
    pub input: InputArgs,
}

/// `rampart rbac can-i`.
#[derive(Debug, Args)]
pub struct CanIArgs {
    /// User:NAME (or NAME), Group:NAME, or ServiceAccount:NAMESPACE:NAME.
    pub subject: String,
    /// Verb.
    pub verb: String,
    /// RESOURCE[.GROUP][/SUBRESOURCE], or a non-resource URL.
    pub resource: String,
    /// Manifest files or directories, or `-` for standard input.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// An extra group of the subject (as `kubectl --as-group`); repeatable.
    #[arg(long, value_name = "GROUP")]
    pub as_group: Vec<String>,
    /// The request.
    #[command(flatten)]
    pub request: RequestArgs,
    /// Input and output.
    #[command(flatten)]
    pub input: InputArgs,
}

/// `rampart rbac permissions`.
#[derive(Debug, Args)]
pub struct PermissionsArgs {
    /// User:NAME (or NAME), Group:NAME, or ServiceAccount:NAMESPACE:NAME.
    pub subject: String,
    /// Manifest files or directories, or `-` for standard input.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// An extra group of the subject (as `kubectl --as-group`); repeatable.
    #[arg(long, value_name = "GROUP")]
    pub as_group: Vec<String>,
    /// Input and output.
    #[command(flatten)]
    pub input: InputArgs,
}

/// Load the objects of every path (`-`: standard input).
fn load(paths: &[PathBuf], input: &InputArgs) -> Result<(Vec<Object>, Vec<ScanError>)> {
    let mut opts = TreeOptions::default();
    if let Some(max) = input.max_file_size {
        opts.walk.max_file_size = max;
    }
    let mut objects = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        if p.as_os_str() == "-" {
            let limit = opts.walk.max_file_size;
            let mut buf = Vec::new();
            std::io::stdin()
                .lock()
                .take(limit.saturating_add(1))
                .read_to_end(&mut buf)
                .context("cannot read standard input")?;
            if buf.len() as u64 > limit {
                bail!("standard input is over the {limit} byte limit (--max-file-size)");
            }
            let text = String::from_utf8(buf).context("standard input is not UTF-8")?;
            let loaded = rampart_k8s::load::load_str_with(&text, Some("<stdin>"), &opts.limits);
            objects.extend(loaded.objects);
            errors.extend(loaded.errors.into_iter().map(|e| ScanError {
                path: "<stdin>".into(),
                line: e.line,
                message: e.message,
            }));
            continue;
        }
        if !p.exists() {
            bail!("{}: no such file or directory", p.display());
        }
        let set = load_tree(p, &opts).with_context(|| format!("cannot read {}", p.display()))?;
        objects.extend(set.objects);
        errors.extend(set.errors);
    }
    Ok((objects, errors))
}

fn request(verb: &str, resource: &str, r: &RequestArgs) -> Result<Request> {
    parse_request(
        verb,
        resource,
        r.namespace.as_deref().unwrap_or(""),
        r.name.as_deref().unwrap_or(""),
        r.api_group.as_deref(),
    )
    .map_err(anyhow::Error::msg)
}

fn request_json(req: &Request) -> Value {
    match &req.target {
        Target::Resource {
            api_group,
            resource,
            subresource,
            name,
        } => json!({
            "verb": req.verb, "apiGroup": api_group, "resource": resource,
            "subresource": subresource, "namespace": req.namespace, "name": name,
        }),
        Target::NonResource { path } => json!({"verb": req.verb, "nonResourceURL": path}),
    }
}

fn request_text(req: &Request) -> String {
    let what = match &req.target {
        Target::Resource {
            api_group,
            resource,
            subresource,
            name,
        } => {
            let mut s = resource.clone();
            if !api_group.is_empty() {
                s = format!("{s}.{api_group}");
            }
            if !subresource.is_empty() {
                s = format!("{s}/{subresource}");
            }
            if !name.is_empty() {
                s = format!("{s} `{name}`");
            }
            s
        }
        Target::NonResource { path } => path.clone(),
    };
    let scope = if req.namespace.is_empty() {
        "cluster-wide".to_string()
    } else {
        format!("in namespace `{}`", req.namespace)
    };
    format!("{} {what} {scope}", req.verb)
}

fn errors_json(errors: &[ScanError]) -> Value {
    Value::Array(
        errors
            .iter()
            .map(|e| json!({"path": e.path, "line": e.line, "message": e.message}))
            .collect(),
    )
}

fn grant_json(policy: &Policy<'_>, g: &Grant<'_, '_>) -> Value {
    let s = g.subject();
    json!({
        "kind": s.kind.as_str(),
        "name": s.name,
        "namespace": s.namespace,
        "scope": rbac::scope_phrase(g.binding),
        "rule": g.rule.rule,
        "chain": rbac::chain_json(policy, g),
    })
}

fn user_json(u: &UserInfo) -> Value {
    json!({"name": u.name, "groups": u.groups})
}

/// Print the load/analysis errors on stderr; the exit code they force (or `None`).
fn report_errors(errors: &[ScanError], input: &InputArgs) -> Option<u8> {
    let word = if input.allow_errors {
        "warning"
    } else {
        "error"
    };
    for e in errors {
        crate::say!("{word}: {e}");
    }
    (!errors.is_empty() && !input.allow_errors).then_some(exit::ERROR)
}

/// Run an rbac subcommand.
pub fn run(cmd: RbacCmd) -> Result<u8> {
    match cmd {
        RbacCmd::WhoCan(a) => who_can(&a),
        RbacCmd::CanI(a) => can_i(&a),
        RbacCmd::Permissions(a) => permissions(&a),
    }
}

fn who_can(a: &WhoCanArgs) -> Result<u8> {
    let req = request(&a.verb, &a.resource, &a.request)?;
    let (objects, mut errors) = load(&a.paths, &a.input)?;
    let policy = Policy::build(&objects);
    errors.extend(policy.errors.iter().cloned());
    let grants = policy.who_can(&req);
    if a.input.format == "json" {
        let v = json!({
            "schema": "rampart.rbac/v1",
            "query": request_json(&req),
            "subjects": grants.iter().map(|g| grant_json(&policy, g)).collect::<Vec<_>>(),
            "errors": errors_json(&errors),
        });
        crate::stdout(&serde_json::to_string_pretty(&v)?)?;
    } else {
        let mut text = String::new();
        for g in &grants {
            text.push_str(&format!(
                "{}  {}  {}\n",
                g.subject().display(),
                rbac::scope_phrase(g.binding),
                rbac::chain_text(&policy, g)
            ));
        }
        text.push_str(&format!(
            "{} subject{} can {}\n",
            grants.len(),
            if grants.len() == 1 { "" } else { "s" },
            request_text(&req)
        ));
        crate::stdout(&text)?;
    }
    Ok(report_errors(&errors, &a.input).unwrap_or(exit::CLEAN))
}

fn can_i(a: &CanIArgs) -> Result<u8> {
    let user = parse_subject(&a.subject, &a.as_group).map_err(anyhow::Error::msg)?;
    let req = request(&a.verb, &a.resource, &a.request)?;
    let (objects, mut errors) = load(&a.paths, &a.input)?;
    let policy = Policy::build(&objects);
    errors.extend(policy.errors.iter().cloned());
    let grant = policy.authorize(&user, &req);
    if a.input.format == "json" {
        let v = json!({
            "schema": "rampart.rbac/v1",
            "subject": user_json(&user),
            "query": request_json(&req),
            "allowed": grant.is_some(),
            "grant": grant.as_ref().map(|g| grant_json(&policy, g)),
            "errors": errors_json(&errors),
        });
        crate::stdout(&serde_json::to_string_pretty(&v)?)?;
    } else {
        let text = match &grant {
            Some(g) => format!(
                "yes: {} can {}\n  via {}\n",
                a.subject,
                request_text(&req),
                rbac::chain_text(&policy, g)
            ),
            None => format!(
                "no: no binding in the scanned set lets {} {}\n",
                a.subject,
                request_text(&req)
            ),
        };
        crate::stdout(&text)?;
    }
    let answer = if grant.is_some() {
        exit::CLEAN
    } else {
        exit::GATE_FAILED
    };
    Ok(report_errors(&errors, &a.input).unwrap_or(answer))
}

fn permissions(a: &PermissionsArgs) -> Result<u8> {
    let user = parse_subject(&a.subject, &a.as_group).map_err(anyhow::Error::msg)?;
    let (objects, mut errors) = load(&a.paths, &a.input)?;
    let policy = Policy::build(&objects);
    errors.extend(policy.errors.iter().cloned());
    let grants = policy.permissions(&user);
    if a.input.format == "json" {
        let v = json!({
            "schema": "rampart.rbac/v1",
            "subject": user_json(&user),
            "permissions": grants.iter().map(|g| grant_json(&policy, g)).collect::<Vec<_>>(),
            "errors": errors_json(&errors),
        });
        crate::stdout(&serde_json::to_string_pretty(&v)?)?;
    } else {
        let mut text = String::new();
        for g in &grants {
            text.push_str(&format!(
                "{}  {}  via {}\n",
                rbac::scope_phrase(g.binding),
                g.rule.rule.summary(),
                rbac::chain_text(&policy, g)
            ));
        }
        text.push_str(&format!(
            "{} rule{} bound to {} ({}; groups {})\n",
            grants.len(),
            if grants.len() == 1 { "" } else { "s" },
            a.subject,
            if user.name.is_empty() {
                "no user name"
            } else {
                &user.name
            },
            user.groups.join(", ")
        ));
        crate::stdout(&text)?;
    }
    Ok(report_errors(&errors, &a.input).unwrap_or(exit::CLEAN))
}
