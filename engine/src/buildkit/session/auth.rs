//! `moby.filesync.v1.Auth`: registry credentials for the engine (pushes, cache export and
//! import, image pulls), answered from Docker's client config (`crate::registry`) when the
//! engine asks. The engine then fetches registry tokens itself: `FetchToken` and the
//! token-authority methods answer Unimplemented, which BuildKit takes as "do it yourself".
//!
//! Values are never logged or stored; an error names the host and the config, not the value.

use std::sync::Arc;

use bollard_buildkit_proto::moby::filesync::v1::auth_server::Auth;
use bollard_buildkit_proto::moby::filesync::v1::{
    CredentialsRequest, CredentialsResponse, FetchTokenRequest, FetchTokenResponse, GetTokenAuthorityRequest,
    GetTokenAuthorityResponse, VerifyTokenAuthorityRequest, VerifyTokenAuthorityResponse,
};
use tonic::{Request, Response, Status};

use crate::registry::DockerConfig;

pub(crate) struct AuthService {
    /// `None`: answer anonymously.
    pub config: Option<Arc<DockerConfig>>,
}

#[tonic::async_trait]
impl Auth for AuthService {
    async fn credentials(&self, request: Request<CredentialsRequest>) -> Result<Response<CredentialsResponse>, Status> {
        let Some(config) = self.config.clone() else {
            return Ok(Response::new(CredentialsResponse::default()));
        };
        let host = request.into_inner().host;
        // Credential helpers are processes: keep them off the async threads.
        let found = tokio::task::spawn_blocking(move || config.credentials(&host))
            .await
            .map_err(|e| Status::internal(format!("credential lookup stopped: {e}")))?;
        match found {
            Ok(Some(c)) => Ok(Response::new(CredentialsResponse { username: c.username, secret: c.secret })),
            Ok(None) => Ok(Response::new(CredentialsResponse::default())),
            Err(e) => Err(Status::unavailable(e.to_string())),
        }
    }

    async fn fetch_token(&self, _request: Request<FetchTokenRequest>) -> Result<Response<FetchTokenResponse>, Status> {
        Err(Status::unimplemented("cogpack serves credentials; the engine fetches registry tokens itself"))
    }

    async fn get_token_authority(
        &self,
        _request: Request<GetTokenAuthorityRequest>,
    ) -> Result<Response<GetTokenAuthorityResponse>, Status> {
        Err(Status::unimplemented("no token authority"))
    }

    async fn verify_token_authority(
        &self,
        _request: Request<VerifyTokenAuthorityRequest>,
    ) -> Result<Response<VerifyTokenAuthorityResponse>, Status> {
        Err(Status::unimplemented("no token authority"))
    }
}
