//! Paginated lists: `limit`/`continue` pages until the server says there are no more,
//! bounded in items, relisting from the start when a continue token expires (`410 Gone`).

use crate::{status_of, Cluster, ClusterError};
use kube::api::{ApiResource, DynamicObject, ListParams};

/// What to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListOptions {
    /// Label selector (`app.kubernetes.io/managed-by=rampart`).
    pub label_selector: Option<String>,
    /// Field selector.
    pub field_selector: Option<String>,
    /// Items per page (`limit`).
    pub page_size: u32,
    /// Most items in all; more is an error, never a silently short list.
    pub max_items: usize,
}

impl Default for ListOptions {
    /// No selectors, 500 per page (kubectl's chunk size), at most 1,000,000 items.
    fn default() -> ListOptions {
        ListOptions {
            label_selector: None,
            field_selector: None,
            page_size: 500,
            max_items: 1_000_000,
        }
    }
}

/// A whole list.
#[derive(Debug, Clone, Default)]
pub struct Listed {
    /// Every object.
    pub items: Vec<DynamicObject>,
    /// The list's `resourceVersion` (where a watch starts).
    pub resource_version: String,
    /// Pages fetched (the last attempt's).
    pub pages: usize,
}

/// How often a list restarts after its continue token expired.
const RELISTS: usize = 3;

/// List every `resource` object in `namespace` (`None`: all namespaces or
/// cluster-scoped), page by page.
pub async fn list_all(
    cluster: &Cluster,
    resource: &ApiResource,
    namespace: Option<&str>,
    opts: &ListOptions,
) -> Result<Listed, ClusterError> {
    let api = cluster.api(resource, namespace);
    let what = format!(
        "list {}{}",
        resource.plural,
        namespace.map(|n| format!(" in {n}")).unwrap_or_default()
    );
    let mut attempt = 0;
    'relist: loop {
        attempt += 1;
        let mut out = Listed::default();
        let mut token: Option<String> = None;
        loop {
            let mut lp = ListParams::default().limit(opts.page_size.max(1));
            if let Some(l) = &opts.label_selector {
                lp = lp.labels(l);
            }
            if let Some(f) = &opts.field_selector {
                lp = lp.fields(f);
            }
            if let Some(t) = &token {
                lp = lp.continue_token(t);
            }
            let page = match tokio::time::timeout(cluster.request_timeout(), api.list(&lp)).await {
                Err(_) => return Err(ClusterError::Timeout(what, cluster.request_timeout())),
                Ok(Err(e))
                    if status_of(&e) == Some(410) && token.is_some() && attempt < RELISTS =>
                {
                    continue 'relist;
                }
                Ok(Err(e)) => return Err(ClusterError::api(&what, e)),
                Ok(Ok(p)) => p,
            };
            out.pages += 1;
            if out.items.len() + page.items.len() > opts.max_items {
                return Err(ClusterError::TooLarge(format!(
                    "{what}: more than {} objects",
                    opts.max_items
                )));
            }
            out.items.extend(page.items);
            if out.pages == 1 || out.resource_version.is_empty() {
                out.resource_version = page.metadata.resource_version.unwrap_or_default();
            }
            match page.metadata.continue_.filter(|c| !c.is_empty()) {
                Some(next) if token.as_deref() == Some(next.as_str()) => {
                    return Err(ClusterError::Api(format!(
                        "{what}: the server repeated the continue token"
                    )))
                }
                Some(next) => token = Some(next),
                None => return Ok(out),
            }
        }
    }
}
