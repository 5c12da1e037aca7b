//! `moby.filesync.v1.Auth`: registry credentials. cogpack answers anonymously, so the engine
//! fetches registry tokens itself; token authority methods are not implemented.

use bollard_buildkit_proto::moby::filesync::v1::auth_server::Auth;
use bollard_buildkit_proto::moby::filesync::v1::{
    CredentialsRequest, CredentialsResponse, FetchTokenRequest, FetchTokenResponse, GetTokenAuthorityRequest,
    GetTokenAuthorityResponse, VerifyTokenAuthorityRequest, VerifyTokenAuthorityResponse,
};
use tonic::{Request, Response, Status};

pub(crate) struct AuthService;

#[tonic::async_trait]
impl Auth for AuthService {
    async fn credentials(&self, _request: Request<CredentialsRequest>) -> Result<Response<CredentialsResponse>, Status> {
        Ok(Response::new(CredentialsResponse::default()))
    }

    async fn fetch_token(&self, _request: Request<FetchTokenRequest>) -> Result<Response<FetchTokenResponse>, Status> {
        Err(Status::unimplemented("cogpack sends no registry credentials; fetch tokens anonymously"))
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
