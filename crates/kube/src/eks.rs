//! Bearer tokens for EKS clusters, made by ringform itself the way `aws eks get-token` and
//! aws-iam-authenticator make them, so no `aws` CLI or exec plugin is needed.
//!
//! A token is `k8s-aws-v1.` followed by the unpadded base64url of a SigV4 *presigned* URL for
//! `GET https://sts.<region>.<partition domain>/?Action=GetCallerIdentity&Version=2011-06-15`,
//! signed for service `sts` in the cluster's region with `X-Amz-Expires=60` and the header
//! `x-k8s-aws-id: <cluster name>` among the signed headers (`host;x-k8s-aws-id`). EKS's
//! authenticator replays the URL against STS with that header to learn who is calling, and
//! refuses a token for another cluster. STS accepts the URL for 15 minutes after its
//! `X-Amz-Date` whatever `X-Amz-Expires` says (60 is what the authenticator's older servers
//! demand), so [`TokenSource`] keeps each token for [`REFRESH_AFTER`] (14 minutes, as
//! `aws eks get-token` reports its expiry) and then makes a new one.
//!
//! Checked against the upstream sources rather than guessed:
//! - aws-iam-authenticator `pkg/token/token.go`: prefix, header, `X-Amz-Expires=60`,
//!   15-minute validity, `base64.RawURLEncoding`, the query parameters its verifier accepts;
//!   it presigns with the Go SDK v2 STS client, which always uses the regional endpoint.
//! - awscli `customizations/eks/get_token.py` (+ botocore `SigV4QueryAuth`): the regional
//!   endpoint (`sts.us-west-2.amazonaws.com` for `--region us-west-2` in its functional
//!   tests; botocore's default for `sts_regional_endpoints` is `regional` since 1.42), and the
//!   query parameter order ringform copies: the operation's parameters, then `X-Amz-Algorithm`,
//!   `-Credential`, `-Date`, `-Expires`, `-SignedHeaders`, `-Security-Token` (temporary
//!   credentials only), `-Signature` last; values percent-encoded except `A-Za-z0-9-_.~`.
//!
//! Tokens are secrets: they are never logged, never put in an error message, and header values
//! carrying them are marked sensitive.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http::header::{AUTHORIZATION, HeaderValue};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use ringform_core::provider::ProviderError;
use tower::{BoxError, Layer, Service};

use crate::error::KubeResult;

/// What every EKS token starts with.
pub const TOKEN_PREFIX: &str = "k8s-aws-v1.";
/// The header that binds a token to one cluster.
const CLUSTER_ID_HEADER: &str = "x-k8s-aws-id";
/// `X-Amz-Expires` of the presigned URL. STS ignores it for GetCallerIdentity (the URL is good
/// for 15 minutes after `X-Amz-Date`); the authenticator checks it is between 0 and 900, and
/// versions up to 0.3.0 wanted at most 60, which is what every client sends.
const PRESIGN_EXPIRES: Duration = Duration::from_secs(60);
/// How long a token is used before a new one is made: STS honours it for 15 minutes; the
/// minute left over covers clock skew and requests in flight. `aws eks get-token` reports the
/// same 14 minutes as the token's expiry, which is when client-go asks for a new one.
pub const REFRESH_AFTER: Duration = Duration::from_secs(14 * 60);

/// Unreserved characters stay, everything else is percent-encoded (SigV4's URI encoding, and
/// botocore's `percent_encode`).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// The host of `region`'s regional STS endpoint, in the region's partition.
///
/// The token always names the real STS: `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_STS` are
/// deliberately not consulted, because the URL is not called by ringform but by EKS's
/// authenticator, which only accepts (and only can reach) the real STS of the partition.
pub fn sts_host(region: &str) -> KubeResult<String> {
    let well_formed = !region.is_empty()
        && region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !region.starts_with('-')
        && !region.ends_with('-');
    if !well_formed {
        return Err(ProviderError::fatal(format!("`{region}` is not an AWS region name"))
            .with_hint("an EKS cluster's region looks like `eu-west-1`"));
    }
    // The STS domains of aws-iam-authenticator's `endpoints.GetSTSPartitionDomain`, keyed by
    // the region-name patterns of the SDKs' partitions.
    let domain = [
        ("cn-", "amazonaws.com.cn"),
        ("us-isob-", "sc2s.sgov.gov"),
        ("us-isof-", "csp.hci.ic.gov"),
        ("us-iso-", "c2s.ic.gov"),
        ("eu-isoe-", "cloud.adc-e.uk"),
        ("eusc-", "amazonaws.eu"),
    ]
    .iter()
    .find(|(prefix, _)| region.starts_with(prefix))
    .map_or("amazonaws.com", |(_, domain)| domain);
    Ok(format!("sts.{region}.{domain}"))
}

/// The presigned STS GetCallerIdentity URL that a token for `cluster_name` wraps, signed with
/// `credentials` at `time`. The URL is as secret as the token.
pub fn presigned_url(
    credentials: &Credentials,
    region: &str,
    cluster_name: &str,
    time: SystemTime,
) -> KubeResult<String> {
    let base = format!("https://{}/", sts_host(region)?);
    let operation = "Action=GetCallerIdentity&Version=2011-06-15";
    let signing_failed = |what: &str| {
        // The signer's own errors are not kept: they may quote what was being signed.
        ProviderError::fatal(format!("cannot sign an EKS token for cluster {cluster_name} in {region}: {what}"))
    };
    let identity: Identity = credentials.clone().into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(PRESIGN_EXPIRES);
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sts")
        .time(time)
        .settings(settings)
        .build()
        .map_err(|_| signing_failed("incomplete signing parameters"))?
        .into();
    let request = SignableRequest::new(
        "GET",
        format!("{base}?{operation}"),
        [(CLUSTER_ID_HEADER, cluster_name)].into_iter(),
        SignableBody::Bytes(&[]),
    )
    .map_err(|_| signing_failed("the request cannot be signed"))?;
    let (instructions, _signature) = sign(request, &params)
        .map_err(|_| signing_failed("the signer refused the request (is the cluster name valid in an HTTP header?)"))?
        .into_parts();
    let (_headers, signed) = instructions.into_parts();
    let value = |name: &str| signed.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone());
    let mut url = format!("{base}?{operation}");
    for name in [
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Security-Token",
        "X-Amz-Signature",
    ] {
        match value(name) {
            Some(v) => url.push_str(&format!("&{name}={}", utf8_percent_encode(&v, QUERY_VALUE))),
            None if name == "X-Amz-Security-Token" => {}
            None => return Err(signing_failed(&format!("the signer gave no {name}"))),
        }
    }
    Ok(url)
}

/// The bearer token for EKS cluster `cluster_name` in `region`, signed with `credentials` at
/// `time`: [`TOKEN_PREFIX`] and the unpadded base64url of [`presigned_url`].
pub fn token(credentials: &Credentials, region: &str, cluster_name: &str, time: SystemTime) -> KubeResult<String> {
    let url = presigned_url(credentials, region, cluster_name, time)?;
    Ok(format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(url)))
}

/// The time, as the token source sees it: the system clock, or a test's.
pub type Clock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// Tokens for one EKS cluster: made on first use, kept for [`REFRESH_AFTER`] (less when the
/// credentials expire sooner), then made anew from freshly provided credentials.
pub struct TokenSource {
    region: String,
    cluster_name: String,
    credentials: SharedCredentialsProvider,
    clock: Clock,
    cached: Mutex<Option<Cached>>,
}

struct Cached {
    /// `Bearer <token>`, marked sensitive.
    header: HeaderValue,
    /// When a new token is due.
    renew_at: SystemTime,
    /// When this one was made: a clock that went back to before it also makes a new one.
    made_at: SystemTime,
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource")
            .field("region", &self.region)
            .field("cluster_name", &self.cluster_name)
            .finish_non_exhaustive()
    }
}

impl TokenSource {
    /// Tokens signed with what `credentials` provides, at the times `clock` tells.
    pub fn new(
        region: impl Into<String>,
        cluster_name: impl Into<String>,
        credentials: SharedCredentialsProvider,
        clock: Clock,
    ) -> TokenSource {
        TokenSource {
            region: region.into(),
            cluster_name: cluster_name.into(),
            credentials,
            clock,
            cached: Mutex::new(None),
        }
    }

    /// Tokens signed with the credentials of aws-config's default chain for `region` (the
    /// chain the AWS provider uses: environment, profile, SSO, web identity, IMDS), at the
    /// system clock's times.
    pub async fn from_default_chain(region: &str, cluster_name: &str) -> KubeResult<TokenSource> {
        use aws_config::BehaviorVersion;
        use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
        // rustls with ring, as everywhere else in ringform; the chain needs HTTPS for SSO, STS
        // (web identity, assumed roles) and IMDS.
        let http =
            aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https();
        let config = aws_config::defaults(BehaviorVersion::latest())
            .region(aws_config::Region::new(region.to_owned()))
            .http_client(http)
            .load()
            .await;
        let credentials = config.credentials_provider().ok_or_else(|| {
            ProviderError::fatal(format!(
                "no AWS credentials provider is configured to sign a token for EKS cluster {cluster_name}"
            ))
        })?;
        Ok(TokenSource::new(region, cluster_name, credentials, Arc::new(SystemTime::now)))
    }

    /// `Bearer <token>` for the cluster, as an `Authorization` header value marked sensitive:
    /// the kept one while it is fresh, else a new one.
    pub async fn authorization(&self) -> KubeResult<HeaderValue> {
        let now = (self.clock)();
        if let Some(header) = self.fresh(now) {
            return Ok(header);
        }
        let credentials = self.credentials.provide_credentials().await.map_err(|e| self.credentials_error(e))?;
        // Signed at the clock's time after the credentials came, which may have taken a while.
        let now = (self.clock)();
        let token = token(&credentials, &self.region, &self.cluster_name, now)?;
        let mut header = HeaderValue::try_from(format!("Bearer {token}")).map_err(|_| {
            ProviderError::fatal(format!("the token for EKS cluster {} is not a valid header value", self.cluster_name))
        })?;
        header.set_sensitive(true);
        let mut renew_at = now + REFRESH_AFTER;
        if let Some(expiry) = credentials.expiry() {
            // A presigned URL is good only while the credentials that signed it are.
            renew_at = renew_at.min(expiry);
        }
        *self.cached.lock().unwrap_or_else(PoisonError::into_inner) =
            Some(Cached { header: header.clone(), renew_at, made_at: now });
        Ok(header)
    }

    /// The token kept, while `now` is before it is due.
    fn fresh(&self, now: SystemTime) -> Option<HeaderValue> {
        let cached = self.cached.lock().unwrap_or_else(PoisonError::into_inner);
        cached.as_ref().filter(|c| c.made_at <= now && now < c.renew_at).map(|c| c.header.clone())
    }

    fn credentials_error(&self, error: CredentialsError) -> ProviderError {
        let message = format!("cannot get AWS credentials to sign a token for EKS cluster {}", self.cluster_name);
        let hint = "ringform signs EKS tokens with aws-config's default credential chain: AWS_ACCESS_KEY_ID and \
                    AWS_SECRET_ACCESS_KEY, AWS_PROFILE (including SSO, after `aws sso login`), web identity \
                    (AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN), or an instance role";
        let classified = match &error {
            CredentialsError::ProviderTimedOut(_) | CredentialsError::ProviderError(_) => {
                ProviderError::retryable(message)
            }
            _ => ProviderError::fatal(message),
        };
        // aws-config's errors say which provider failed and why, never the secrets.
        classified.with_hint(hint).with_source(error)
    }
}

/// A [`tower::Layer`] that sets `Authorization: Bearer <token>` on every request, with a token
/// from [`TokenSource`] that is renewed as it ages: a kube client built once with it keeps
/// working for as long as the run takes, watches included (each re-list and re-watch is a new
/// request with a fresh token).
#[derive(Clone)]
pub struct BearerLayer {
    tokens: Arc<TokenSource>,
}

impl BearerLayer {
    pub fn new(tokens: Arc<TokenSource>) -> BearerLayer {
        BearerLayer { tokens }
    }
}

impl<S> Layer<S> for BearerLayer {
    type Service = Bearer<S>;

    fn layer(&self, inner: S) -> Bearer<S> {
        Bearer { inner, tokens: self.tokens.clone(), pending: None, ready: None }
    }
}

type Pending = Pin<Box<dyn Future<Output = KubeResult<HeaderValue>> + Send>>;

/// The service [`BearerLayer`] makes. The token is got in `poll_ready`, where waiting is
/// allowed (renewing may fetch credentials), so `call` only sets the header. A failure to make
/// a token is the failure of that one request, never of the service: kube's client buffers
/// its service, and a buffered service whose `poll_ready` fails is closed for good.
pub struct Bearer<S> {
    inner: S,
    tokens: Arc<TokenSource>,
    pending: Option<Pending>,
    ready: Option<KubeResult<HeaderValue>>,
}

impl<S, B> Service<http::Request<B>> for Bearer<S>
where
    S: Service<http::Request<B>>,
    S::Error: Into<BoxError>,
    S::Response: Send + 'static,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        if self.ready.is_none() {
            let pending = self.pending.get_or_insert_with(|| {
                let tokens = self.tokens.clone();
                Box::pin(async move { tokens.authorization().await })
            });
            let header = std::task::ready!(pending.as_mut().poll(cx));
            self.pending = None;
            self.ready = Some(header);
        }
        match &self.ready {
            // `call` fails this request at once, without the inner service.
            Some(Err(_)) => Poll::Ready(Ok(())),
            _ => self.inner.poll_ready(cx).map_err(Into::into),
        }
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        match self.ready.take() {
            Some(Ok(header)) => {
                request.headers_mut().insert(AUTHORIZATION, header);
                let response = self.inner.call(request);
                Box::pin(async move { response.await.map_err(Into::into) })
            }
            Some(Err(error)) => Box::pin(std::future::ready(Err(error.into()))),
            None => Box::pin(std::future::ready(Err("Bearer::call without poll_ready".into()))),
        }
    }
}

/// The certificates of an EKS cluster's `certificate_authority` (base64 of PEM, as
/// DescribeCluster returns and kubeconfig's `certificate-authority-data` holds), as DER.
pub fn root_certificates(certificate_authority: &str) -> Result<Vec<Vec<u8>>, String> {
    let compact: String = certificate_authority.split_whitespace().collect();
    let pem = STANDARD.decode(compact).map_err(|_| "it is not base64".to_owned())?;
    let pem = String::from_utf8(pem).map_err(|_| "it is not base64 of PEM text".to_owned())?;
    let mut certificates = Vec::new();
    let mut body: Option<String> = None;
    for line in pem.lines().map(str::trim) {
        match (line, &mut body) {
            ("-----BEGIN CERTIFICATE-----", None) => body = Some(String::new()),
            ("-----END CERTIFICATE-----", Some(text)) => {
                let der = STANDARD.decode(text.as_bytes()).map_err(|_| "a PEM certificate in it is not base64")?;
                certificates.push(der);
                body = None;
            }
            (line, Some(text)) => text.push_str(line),
            _ => {}
        }
    }
    if body.is_some() {
        return Err("a PEM certificate in it has no END line".to_owned());
    }
    if certificates.is_empty() {
        return Err("it holds no PEM certificate".to_owned());
    }
    Ok(certificates)
}

#[cfg(test)]
mod tests {
    //! Known answers: the expected tokens below were not computed by this code. They come from
    //! awscli's own `aws eks get-token` implementation (awscli 1.46.3,
    //! `awscli.customizations.eks.get_token.STSClientFactory(session).get_sts_client(
    //! region_name="eu-west-1")` then `TokenGenerator(sts).get_token("ring-eu-west")`, on
    //! botocore 1.44.8 from PyPI in a scratch venv), with the session's credentials set to the
    //! keys below, every `AWS_*` variable and config file cleared, and botocore's clock fixed
    //! by replacing `botocore.auth.get_current_datetime` with one returning
    //! 2026-01-02T03:04:05 (UTC). botocore presigned for the regional endpoint
    //! `sts.eu-west-1.amazonaws.com` on its own (its default `sts_regional_endpoints` is
    //! `regional`), which is also what aws-iam-authenticator's Go SDK v2 client does. In short:
    //!
    //! ```text
    //! botocore.auth.get_current_datetime = lambda remove_tzinfo=True: datetime(2026, 1, 2, 3, 4, 5)
    //! session = botocore.session.Session(); session.set_credentials(KEY, SECRET, SESSION_TOKEN or None)
    //! sts = STSClientFactory(session).get_sts_client(region_name="eu-west-1")
    //! print(TokenGenerator(sts).get_token("ring-eu-west"))
    //! ```

    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

    use aws_credential_types::provider::future;
    use ringform_core::provider::ErrorClass;
    use tower::ServiceExt;

    use super::*;

    /// 2026-01-02T03:04:05Z.
    const AT: u64 = 1_767_323_045;
    const REGION: &str = "eu-west-1";
    const CLUSTER: &str = "ring-eu-west";
    /// The AWS documentation's example keys.
    const KEY: &str = "AKIDEXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    /// Made up, with `/`, `+` and `=` to show how they are encoded.
    const SESSION_TOKEN: &str = "IQoJb3JpZ2luX2VjEXAMPLE/session+token==";

    const EXPECTED_URL: &str = "https://sts.eu-west-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15\
        &X-Amz-Algorithm=AWS4-HMAC-SHA256\
        &X-Amz-Credential=AKIDEXAMPLE%2F20260102%2Feu-west-1%2Fsts%2Faws4_request\
        &X-Amz-Date=20260102T030405Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id\
        &X-Amz-Signature=4d7e6b868bed8e269dc282abf319b4bc4015e9da565a6a678b60ff8fd2283399";
    const EXPECTED_TOKEN: &str = "k8s-aws-v1.aHR0cHM6Ly9zdHMuZXUtd2VzdC0xLmFtYXpvbmF3cy5jb20vP0FjdGlvbj1HZXRDYWxsZXJJZGVudGl0eSZWZXJzaW9uPTIwMTEtMDYtMTUmWC1BbXotQWxnb3JpdGhtPUFXUzQtSE1BQy1TSEEyNTYmWC1BbXotQ3JlZGVudGlhbD1BS0lERVhBTVBMRSUyRjIwMjYwMTAyJTJGZXUtd2VzdC0xJTJGc3RzJTJGYXdzNF9yZXF1ZXN0JlgtQW16LURhdGU9MjAyNjAxMDJUMDMwNDA1WiZYLUFtei1FeHBpcmVzPTYwJlgtQW16LVNpZ25lZEhlYWRlcnM9aG9zdCUzQngtazhzLWF3cy1pZCZYLUFtei1TaWduYXR1cmU9NGQ3ZTZiODY4YmVkOGUyNjlkYzI4MmFiZjMxOWI0YmM0MDE1ZTlkYTU2NWE2YTY3OGI2MGZmOGZkMjI4MzM5OQ";

    const EXPECTED_URL_WITH_SESSION: &str = "https://sts.eu-west-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15\
        &X-Amz-Algorithm=AWS4-HMAC-SHA256\
        &X-Amz-Credential=AKIDEXAMPLE%2F20260102%2Feu-west-1%2Fsts%2Faws4_request\
        &X-Amz-Date=20260102T030405Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id\
        &X-Amz-Security-Token=IQoJb3JpZ2luX2VjEXAMPLE%2Fsession%2Btoken%3D%3D\
        &X-Amz-Signature=f630a539a46e0049da576fdb4979629f057bbef144c0e58b6e1f426740b2847c";
    const EXPECTED_TOKEN_WITH_SESSION: &str = "k8s-aws-v1.aHR0cHM6Ly9zdHMuZXUtd2VzdC0xLmFtYXpvbmF3cy5jb20vP0FjdGlvbj1HZXRDYWxsZXJJZGVudGl0eSZWZXJzaW9uPTIwMTEtMDYtMTUmWC1BbXotQWxnb3JpdGhtPUFXUzQtSE1BQy1TSEEyNTYmWC1BbXotQ3JlZGVudGlhbD1BS0lERVhBTVBMRSUyRjIwMjYwMTAyJTJGZXUtd2VzdC0xJTJGc3RzJTJGYXdzNF9yZXF1ZXN0JlgtQW16LURhdGU9MjAyNjAxMDJUMDMwNDA1WiZYLUFtei1FeHBpcmVzPTYwJlgtQW16LVNpZ25lZEhlYWRlcnM9aG9zdCUzQngtazhzLWF3cy1pZCZYLUFtei1TZWN1cml0eS1Ub2tlbj1JUW9KYjNKcFoybHVYMlZqRVhBTVBMRSUyRnNlc3Npb24lMkJ0b2tlbiUzRCUzRCZYLUFtei1TaWduYXR1cmU9ZjYzMGE1MzlhNDZlMDA0OWRhNTc2ZmRiNDk3OTYyOWYwNTdiYmVmMTQ0YzBlNThiNmUxZjQyNjc0MGIyODQ3Yw";

    fn at(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
    }

    fn keys() -> Credentials {
        Credentials::new(KEY, SECRET, None, None, "test")
    }

    fn session_keys() -> Credentials {
        Credentials::new(KEY, SECRET, Some(SESSION_TOKEN.into()), None, "test")
    }

    /// A clock a test moves by hand.
    fn manual_clock(start: u64) -> (Arc<AtomicU64>, Clock) {
        let now = Arc::new(AtomicU64::new(start));
        let seen = now.clone();
        (now, Arc::new(move || at(seen.load(Ordering::SeqCst))))
    }

    /// Credentials that count how often they were asked for, and fail while `failing` says.
    #[derive(Debug)]
    struct Counted {
        credentials: Credentials,
        asked: AtomicUsize,
        failing: AtomicUsize,
    }

    impl Counted {
        fn new(credentials: Credentials, failing: usize) -> Arc<Counted> {
            Arc::new(Counted { credentials, asked: AtomicUsize::new(0), failing: AtomicUsize::new(failing) })
        }
    }

    impl ProvideCredentials for Counted {
        fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            self.asked.fetch_add(1, Ordering::SeqCst);
            if self.failing.load(Ordering::SeqCst) > 0 {
                self.failing.fetch_sub(1, Ordering::SeqCst);
                return future::ProvideCredentials::ready(Err(CredentialsError::not_loaded("no profile named `ring`")));
            }
            future::ProvideCredentials::ready(Ok(self.credentials.clone()))
        }
    }

    fn source(credentials: &Arc<Counted>, clock: Clock) -> Arc<TokenSource> {
        let shared = SharedCredentialsProvider::new(ArcProvider(credentials.clone()));
        Arc::new(TokenSource::new(REGION, CLUSTER, shared, clock))
    }

    #[derive(Debug)]
    struct ArcProvider(Arc<Counted>);

    impl ProvideCredentials for ArcProvider {
        fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            self.0.provide_credentials()
        }
    }

    fn bearer(header: &HeaderValue) -> String {
        header.to_str().unwrap().strip_prefix("Bearer ").unwrap().to_owned()
    }

    #[test]
    fn the_token_is_the_one_aws_eks_get_token_makes() {
        assert_eq!(presigned_url(&keys(), REGION, CLUSTER, at(AT)).unwrap(), EXPECTED_URL);
        assert_eq!(token(&keys(), REGION, CLUSTER, at(AT)).unwrap(), EXPECTED_TOKEN);
    }

    #[test]
    fn temporary_credentials_sign_their_session_token_too() {
        assert_eq!(presigned_url(&session_keys(), REGION, CLUSTER, at(AT)).unwrap(), EXPECTED_URL_WITH_SESSION);
        assert_eq!(token(&session_keys(), REGION, CLUSTER, at(AT)).unwrap(), EXPECTED_TOKEN_WITH_SESSION);
    }

    /// What aws-iam-authenticator's verifier checks before it calls STS. The regions make URLs
    /// of every length modulo 3, so padded base64 would have shown its `=`.
    #[test]
    fn the_token_is_unpadded_base64url_of_a_url_the_authenticator_accepts() {
        let mut remainders = std::collections::BTreeSet::new();
        for (credentials, region) in
            [(keys(), REGION), (session_keys(), REGION), (keys(), "ap-south-1"), (keys(), "ap-southeast-1")]
        {
            let token = token(&credentials, region, CLUSTER, at(AT)).unwrap();
            let encoded = token.strip_prefix(TOKEN_PREFIX).expect("the k8s-aws-v1. prefix");
            assert!(
                encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
                "only the base64url alphabet, no padding: {encoded}"
            );
            let url = String::from_utf8(URL_SAFE_NO_PAD.decode(encoded).expect("unpadded base64url")).unwrap();
            remainders.insert(url.len() % 3);
            let (base, query) = url.split_once('?').unwrap();
            assert_eq!(base, format!("https://sts.{region}.amazonaws.com/"));
            let params: Vec<(String, String)> = query
                .split('&')
                .map(|pair| {
                    let (k, v) = pair.split_once('=').unwrap();
                    (k.to_owned(), percent_encoding::percent_decode_str(v).decode_utf8().unwrap().into_owned())
                })
                .collect();
            let value = |name: &str| {
                let found: Vec<_> = params.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect();
                assert!(found.len() <= 1, "{name} more than once");
                found.first().copied()
            };
            // The authenticator's parameterWhitelist, nothing else.
            let allowed = [
                "Action",
                "Version",
                "X-Amz-Algorithm",
                "X-Amz-Credential",
                "X-Amz-Date",
                "X-Amz-Expires",
                "X-Amz-Security-Token",
                "X-Amz-Signature",
                "X-Amz-SignedHeaders",
            ];
            assert!(params.iter().all(|(k, _)| allowed.contains(&k.as_str())), "{params:?}");
            assert_eq!(value("Action"), Some("GetCallerIdentity"));
            assert_eq!(value("Version"), Some("2011-06-15"));
            assert_eq!(value("X-Amz-Algorithm"), Some("AWS4-HMAC-SHA256"));
            let scope = format!("AKIDEXAMPLE/20260102/{region}/sts/aws4_request");
            assert_eq!(value("X-Amz-Credential"), Some(scope.as_str()));
            assert_eq!(value("X-Amz-Date"), Some("20260102T030405Z"));
            assert_eq!(value("X-Amz-Expires"), Some("60"));
            assert_eq!(value("X-Amz-SignedHeaders"), Some("host;x-k8s-aws-id"));
            assert_eq!(value("X-Amz-Security-Token"), credentials.session_token());
            let signature = value("X-Amz-Signature").unwrap();
            assert!(signature.len() == 64 && signature.bytes().all(|b| b.is_ascii_hexdigit()), "{signature}");
        }
        assert_eq!(remainders.len(), 3, "URL lengths modulo 3: {remainders:?}");
    }

    #[test]
    fn each_cluster_and_region_gets_its_own_signature() {
        let eu = token(&keys(), REGION, CLUSTER, at(AT)).unwrap();
        assert_ne!(eu, token(&keys(), REGION, "ring-eu-central", at(AT)).unwrap());
        assert_ne!(eu, token(&keys(), "eu-central-1", CLUSTER, at(AT)).unwrap());
    }

    #[test]
    fn sts_is_the_regional_endpoint_of_the_regions_partition() {
        assert_eq!(sts_host("eu-west-1").unwrap(), "sts.eu-west-1.amazonaws.com");
        assert_eq!(sts_host("us-east-1").unwrap(), "sts.us-east-1.amazonaws.com");
        assert_eq!(sts_host("us-gov-west-1").unwrap(), "sts.us-gov-west-1.amazonaws.com");
        assert_eq!(sts_host("cn-north-1").unwrap(), "sts.cn-north-1.amazonaws.com.cn");
        assert_eq!(sts_host("us-iso-east-1").unwrap(), "sts.us-iso-east-1.c2s.ic.gov");
        assert_eq!(sts_host("us-isob-east-1").unwrap(), "sts.us-isob-east-1.sc2s.sgov.gov");
        assert_eq!(sts_host("eusc-de-east-1").unwrap(), "sts.eusc-de-east-1.amazonaws.eu");
        for bad in ["", "EU-WEST-1", "eu-west-1.evil.example", "eu west", "-eu"] {
            let error = sts_host(bad).unwrap_err();
            assert_eq!(error.class, ErrorClass::Fatal, "{bad}");
        }
    }

    #[tokio::test]
    async fn the_token_is_kept_for_14_minutes_then_made_anew() {
        let (now, clock) = manual_clock(AT);
        let credentials = Counted::new(keys(), 0);
        let tokens = source(&credentials, clock);

        let first = tokens.authorization().await.unwrap();
        assert!(first.is_sensitive());
        assert_eq!(bearer(&first), EXPECTED_TOKEN);
        now.store(AT + 14 * 60 - 1, Ordering::SeqCst);
        assert_eq!(tokens.authorization().await.unwrap(), first, "13:59 later: the same token");
        assert_eq!(credentials.asked.load(Ordering::SeqCst), 1);

        now.store(AT + 14 * 60, Ordering::SeqCst);
        let second = tokens.authorization().await.unwrap();
        assert_ne!(second, first, "14:00 later: a new token");
        assert_eq!(bearer(&second), token(&keys(), REGION, CLUSTER, at(AT + 14 * 60)).unwrap());
        assert_eq!(credentials.asked.load(Ordering::SeqCst), 2, "credentials asked for anew");
        now.store(AT + 20 * 60, Ordering::SeqCst);
        assert_eq!(tokens.authorization().await.unwrap(), second);

        // A clock set back to before the token was made: a new one.
        now.store(AT, Ordering::SeqCst);
        assert_eq!(bearer(&tokens.authorization().await.unwrap()), EXPECTED_TOKEN);
    }

    #[tokio::test]
    async fn credentials_that_expire_sooner_renew_the_token_sooner() {
        let (now, clock) = manual_clock(AT);
        let expiring = Credentials::new(KEY, SECRET, Some(SESSION_TOKEN.into()), Some(at(AT + 5 * 60)), "test");
        let tokens = source(&Counted::new(expiring, 0), clock);
        let first = tokens.authorization().await.unwrap();
        now.store(AT + 5 * 60 - 1, Ordering::SeqCst);
        assert_eq!(tokens.authorization().await.unwrap(), first);
        now.store(AT + 5 * 60, Ordering::SeqCst);
        assert_ne!(tokens.authorization().await.unwrap(), first);
    }

    #[tokio::test]
    async fn missing_credentials_are_a_fatal_error_that_names_the_chain_and_no_secret() {
        let (_, clock) = manual_clock(AT);
        let tokens = source(&Counted::new(session_keys(), 1), clock);
        let error = tokens.authorization().await.unwrap_err();
        assert_eq!(error.class, ErrorClass::Fatal);
        assert!(error.message.contains("ring-eu-west") && error.message.contains("AWS credentials"), "{error:?}");
        assert!(error.hint.as_deref().is_some_and(|h| h.contains("AWS_PROFILE")), "{error:?}");
        let shown = format!("{error:?} {tokens:?}");
        assert!(!shown.contains(SECRET) && !shown.contains(SESSION_TOKEN), "{shown}");
        // The next request tries again.
        assert_eq!(bearer(&tokens.authorization().await.unwrap()), EXPECTED_TOKEN_WITH_SESSION);
    }

    /// An inner service that answers with the Authorization header it was given.
    fn echo() -> impl Service<
        http::Request<()>,
        Response = Option<HeaderValue>,
        Error = BoxError,
        Future = impl Future<Output = Result<Option<HeaderValue>, BoxError>> + Send + 'static,
    > {
        tower::service_fn(|request: http::Request<()>| async move {
            Ok::<_, BoxError>(request.headers().get(AUTHORIZATION).cloned())
        })
    }

    #[tokio::test]
    async fn the_layer_puts_a_fresh_token_on_every_request() {
        let (now, clock) = manual_clock(AT);
        let mut service = BearerLayer::new(source(&Counted::new(keys(), 0), clock)).layer(echo());
        let mut send = async || service.ready().await.unwrap().call(http::Request::new(())).await;

        let first = send().await.unwrap().expect("an Authorization header");
        assert!(first.is_sensitive());
        assert_eq!(bearer(&first), EXPECTED_TOKEN);
        now.store(AT + 14 * 60, Ordering::SeqCst);
        let later = send().await.unwrap().unwrap();
        assert_eq!(bearer(&later), token(&keys(), REGION, CLUSTER, at(AT + 14 * 60)).unwrap());
    }

    #[tokio::test]
    async fn a_token_that_cannot_be_made_fails_that_request_only() {
        let (_, clock) = manual_clock(AT);
        let mut service = BearerLayer::new(source(&Counted::new(keys(), 1), clock)).layer(echo());
        let mut send = async || {
            service.ready().await.expect("ready, even when the token failed").call(http::Request::new(())).await
        };

        let error = send().await.unwrap_err();
        let error = error.downcast_ref::<ProviderError>().expect("the ProviderError saying why");
        assert!(error.message.contains("cannot get AWS credentials"), "{error:?}");
        assert_eq!(bearer(&send().await.unwrap().unwrap()), EXPECTED_TOKEN);
    }

    #[test]
    fn the_certificate_authority_is_base64_of_pem() {
        let pem = "-----BEGIN CERTIFICATE-----\nAAEC\nAw==\n-----END CERTIFICATE-----\n\
                   -----BEGIN CERTIFICATE-----\nBAU=\n-----END CERTIFICATE-----\n";
        let data = STANDARD.encode(pem);
        assert_eq!(root_certificates(&data).unwrap(), vec![vec![0, 1, 2, 3], vec![4, 5]]);
        assert_eq!(root_certificates(&format!(" {}\n{} ", &data[..10], &data[10..])).unwrap().len(), 2);

        let refused = |text: &str| root_certificates(text).unwrap_err();
        assert_eq!(refused("not base64!"), "it is not base64");
        assert_eq!(refused(&STANDARD.encode("plain text")), "it holds no PEM certificate");
        assert_eq!(
            refused(&STANDARD.encode("-----BEGIN CERTIFICATE-----\nAAEC\n")),
            "a PEM certificate in it has no END line"
        );
        assert_eq!(
            refused(&STANDARD.encode("-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n")),
            "a PEM certificate in it is not base64"
        );
    }
}
