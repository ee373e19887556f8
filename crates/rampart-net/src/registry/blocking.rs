//! [`RegistryClient`] for synchronous callers (`rampart image`, `rampart sign`): the same
//! client driven by a current-thread Tokio runtime of its own. Create, use and drop it
//! outside any async runtime (it refuses to block one).

use super::{FetchedManifest, Platform, RegistryClient, RegistryError, ResolvedImage};
use crate::NetError;
use rampart_core::ImageRef;

/// A blocking registry client.
pub struct BlockingRegistry {
    client: RegistryClient,
    rt: tokio::runtime::Runtime,
}

impl std::fmt::Debug for BlockingRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockingRegistry")
            .field("client", &self.client)
            .finish()
    }
}

fn outside_runtime() -> Result<(), RegistryError> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(RegistryError::Net(NetError::Request(
            "the blocking registry client cannot be used inside an async runtime".into(),
        )));
    }
    Ok(())
}

impl BlockingRegistry {
    /// Drive `client` synchronously.
    pub fn new(client: RegistryClient) -> Result<BlockingRegistry, RegistryError> {
        outside_runtime()?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(NetError::from)?;
        Ok(BlockingRegistry { client, rt })
    }

    /// The async client.
    pub fn client(&self) -> &RegistryClient {
        &self.client
    }

    /// [`RegistryClient::get_manifest`].
    pub fn get_manifest(
        &self,
        r: &ImageRef,
        reference: &str,
    ) -> Result<FetchedManifest, RegistryError> {
        outside_runtime()?;
        self.rt.block_on(self.client.get_manifest(r, reference))
    }

    /// [`RegistryClient::resolve_image`].
    pub fn resolve_image(
        &self,
        r: &ImageRef,
        platform: &Platform,
    ) -> Result<ResolvedImage, RegistryError> {
        outside_runtime()?;
        self.rt.block_on(self.client.resolve_image(r, platform))
    }

    /// [`RegistryClient::resolve_digest`].
    pub fn resolve_digest(&self, r: &ImageRef) -> Result<String, RegistryError> {
        outside_runtime()?;
        self.rt.block_on(self.client.resolve_digest(r))
    }

    /// [`RegistryClient::head_blob`].
    pub fn head_blob(&self, r: &ImageRef, digest: &str) -> Result<Option<u64>, RegistryError> {
        outside_runtime()?;
        self.rt.block_on(self.client.head_blob(r, digest))
    }

    /// [`RegistryClient::get_blob`].
    pub fn get_blob(
        &self,
        r: &ImageRef,
        digest: &str,
        limit: usize,
    ) -> Result<Vec<u8>, RegistryError> {
        outside_runtime()?;
        self.rt.block_on(self.client.get_blob(r, digest, limit))
    }

    /// [`RegistryClient::download_blob`].
    pub fn download_blob(
        &self,
        r: &ImageRef,
        digest: &str,
        limit: u64,
        out: &mut (dyn std::io::Write + Send),
    ) -> Result<u64, RegistryError> {
        outside_runtime()?;
        self.rt
            .block_on(self.client.download_blob(r, digest, limit, out))
    }

    /// [`RegistryClient::push_blob`].
    pub fn push_blob(&self, r: &ImageRef, data: &[u8]) -> Result<String, RegistryError> {
        outside_runtime()?;
        self.rt.block_on(self.client.push_blob(r, data))
    }

    /// [`RegistryClient::push_manifest`].
    pub fn push_manifest(
        &self,
        r: &ImageRef,
        reference: &str,
        media_type: &str,
        data: &[u8],
    ) -> Result<String, RegistryError> {
        outside_runtime()?;
        self.rt
            .block_on(self.client.push_manifest(r, reference, media_type, data))
    }
}
