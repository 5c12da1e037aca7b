//! End to end against a real registry: Debian's `docker-registry` (distribution 2.8), started
//! here on loopback with TLS (a CA made here) and htpasswd authentication (a user and password
//! made up at run time, in no file of the repository). Covers `cogpack push` and pulling back
//! (`cogpack predict REF`), a second push that sends only the changed layers, the build cache
//! exported from the engine and imported into a second, empty engine reached over TCP with
//! mutual TLS (its install steps must be cache hits), base images through the mirror, and the
//! failures: wrong password, unknown registry, a certificate without its CA, a registry that
//! drops the connection mid-upload, a cache reference that does not exist yet. Every output is
//! searched for the credentials.
//!
//! Needs the engine, root, and `docker-registry`, `openssl`, `htpasswd`
//! (`scripts/test-registry-setup` installs them; the tests run it when they are missing).
//! Without them the tests fail under `CI=true` and are skipped loudly otherwise.

#[path = "engine_support/mod.rs"]
mod engine_support;

use engine_support::{assert_ok, text};

use std::collections::BTreeMap;
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use futures::FutureExt;

const BIN: &str = env!("CARGO_BIN_EXE_cogpack");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    std::fs::File::open("/dev/urandom").unwrap().read_exact(&mut buf).unwrap();
    hex::encode(buf)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Skips (or fails under CI) unless the registry tools are installed; installs them with
/// `scripts/test-registry-setup` when missing.
fn tools_or_skip(test: &str) -> bool {
    let have = || ["docker-registry", "openssl", "htpasswd"].iter().all(|t| which(t));
    if !have() && unsafe { libc::geteuid() } == 0 {
        let _ = Command::new(repo().join("scripts/test-registry-setup")).status();
    }
    if have() {
        return true;
    }
    assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "{test}: docker-registry/openssl/htpasswd missing under CI");
    eprintln!("SKIPPED {test}: docker-registry, openssl or htpasswd is missing (scripts/test-registry-setup installs them)");
    false
}

fn which(tool: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
        .unwrap_or(false)
}

fn openssl(args: &[&str], dir: &Path) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().unwrap();
    assert!(out.status.success(), "openssl {args:?}: {}", text(&out.stderr));
}

/// A CA and certificates signed by it, in one directory.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        openssl(
            &["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=cogpack test CA"],
            dir.path(),
        );
        Pki { dir }
    }

    fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.crt")
    }

    /// Issues `NAME.crt`/`NAME.key` for `usage` (serverAuth or clientAuth) and these IPs.
    fn issue(&self, name: &str, usage: &str, ips: &[&str]) -> (PathBuf, PathBuf) {
        let d = self.dir.path();
        openssl(&["req", "-newkey", "rsa:2048", "-nodes", "-keyout", &format!("{name}.key"), "-out", &format!("{name}.csr"), "-subj", &format!("/CN={name}")], d);
        let san: Vec<String> = ips.iter().map(|ip| format!("IP:{ip}")).chain(["DNS:localhost".to_owned()]).collect();
        std::fs::write(
            d.join(format!("{name}.ext")),
            format!("subjectAltName={}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage={usage}\n", san.join(",")),
        )
        .unwrap();
        openssl(
            &["x509", "-req", "-in", &format!("{name}.csr"), "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", &format!("{name}.crt"), "-days", "2", "-extfile", &format!("{name}.ext")],
            d,
        );
        (d.join(format!("{name}.crt")), d.join(format!("{name}.key")))
    }
}

/// A running `docker-registry` with TLS and htpasswd auth, and a Docker config that logs in.
struct Registry {
    dir: tempfile::TempDir,
    child: Child,
    /// `IP:PORT`
    host: String,
    user: String,
    password: String,
    /// A `DOCKER_CONFIG` directory whose config.json has the right password for `host`.
    docker_config: PathBuf,
    /// `/etc/docker/certs.d/HOST` made for this registry (removed on drop).
    certs_d: Option<PathBuf>,
}

impl Registry {
    /// Starts on `ip` (a free port); `trust` puts its CA where the engine looks for it.
    fn start(pki: &Pki, ip: &str, trust: bool) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let host = format!("{ip}:{port}");
        let (crt, key) = pki.issue(&format!("registry-{port}"), "serverAuth", &["127.0.0.1", ip]);
        let user = format!("u{}", random_hex(4));
        let password = random_hex(12);
        let htpasswd = Command::new("htpasswd").args(["-Bbn", &user, &password]).output().unwrap();
        assert!(htpasswd.status.success());
        std::fs::write(dir.path().join("htpasswd"), &htpasswd.stdout).unwrap();
        let config = format!(
            "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {data}\n  delete:\n    enabled: true\n\
             http:\n  addr: {host}\n  tls:\n    certificate: {crt}\n    key: {key}\n\
             auth:\n  htpasswd:\n    realm: cogpack-test\n    path: {htp}\n",
            data = dir.path().join("data").display(),
            crt = crt.display(),
            key = key.display(),
            htp = dir.path().join("htpasswd").display(),
        );
        std::fs::write(dir.path().join("config.yml"), config).unwrap();
        let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
        let child = Command::new("docker-registry")
            .args(["serve", dir.path().join("config.yml").to_str().unwrap()])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start docker-registry");
        let certs_d = trust.then(|| {
            let d = PathBuf::from("/etc/docker/certs.d").join(&host);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::copy(pki.ca(), d.join("ca.crt")).unwrap();
            d
        });
        let docker_config = dir.path().join("docker-config");
        std::fs::create_dir_all(&docker_config).unwrap();
        let mut reg = Registry { dir, child, host, user, password, docker_config, certs_d };
        reg.login(&[]);
        let deadline = Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(&reg.host).is_err() {
            assert!(Instant::now() < deadline, "docker-registry did not listen on {}:\n{}", reg.host, reg.log());
            std::thread::sleep(Duration::from_millis(100));
        }
        reg
    }

    /// Writes config.json: the right password for this registry and for `also` hosts.
    fn login(&mut self, also: &[&str]) {
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", self.user, self.password));
        let mut auths = serde_json::Map::new();
        for h in std::iter::once(self.host.as_str()).chain(also.iter().copied()) {
            auths.insert(h.to_owned(), serde_json::json!({ "auth": auth }));
        }
        std::fs::write(self.docker_config.join("config.json"), serde_json::json!({ "auths": auths }).to_string()).unwrap();
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// Blob uploads to `repo` the registry completed (`PUT /v2/<repo>/blobs/uploads/...`
    /// answered 201).
    fn blob_uploads(&self, repo: &str) -> usize {
        let put = format!("\"PUT /v2/{repo}/blobs/uploads/");
        self.log().lines().filter(|l| l.contains(&put) && l.contains("\" 201 ")).count()
    }

    /// `GET /v2/<repo>/tags/list` with the right password: the tags the registry has.
    fn tags(&self, repo: &str, pki: &Pki) -> Vec<String> {
        let out = Command::new("curl")
            .args(["-s", "--cacert", pki.ca().to_str().unwrap(), "-u", &format!("{}:{}", self.user, self.password)])
            .arg(format!("https://{}/v2/{repo}/tags/list", self.host))
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        let mut tags: Vec<String> =
            v["tags"].as_array().map(|a| a.iter().filter_map(|t| t.as_str().map(str::to_owned)).collect()).unwrap_or_default();
        tags.sort();
        tags
    }

    /// Strings that must never appear in any output.
    fn secrets(&self) -> Vec<String> {
        vec![
            self.password.clone(),
            base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", self.user, self.password)),
        ]
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(d) = &self.certs_d {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

/// Removes the named images from the engine when dropped, so a failing test leaves nothing
/// behind (multi-thread runtime only).
struct Untag {
    docker: bollard::Docker,
    names: Vec<String>,
}

impl Drop for Untag {
    fn drop(&mut self) {
        let names = std::mem::take(&mut self.names);
        let docker = self.docker.clone();
        tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(async {
                for n in names {
                    let _ = docker.remove_image(&n, None::<bollard::query_parameters::RemoveImageOptions>, None).await;
                }
            })
        });
    }
}

/// Every output of the test, to search for credentials at the end.
#[derive(Default)]
struct Outputs(Vec<(String, String)>);

impl Outputs {
    fn keep(&mut self, what: &str, s: String) {
        self.0.push((what.to_owned(), s));
    }

    fn assert_free_of(&self, secrets: &[String]) {
        for (what, s) in &self.0 {
            for secret in secrets {
                assert!(!s.contains(secret.as_str()), "a credential appears in {what}");
            }
        }
    }
}

/// Runs cogpack with the registry's Docker config; keeps stdout and stderr.
fn cogpack(reg: &Registry, args: &[&str], env: &[(&str, &str)], outputs: &mut Outputs) -> Output {
    let out = Command::new(BIN)
        .args(args)
        .env("DOCKER_CONFIG", &reg.docker_config)
        .env("COGPACK_CONFIG", reg.dir.path().join("no-config.toml"))
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run cogpack");
    outputs.keep(&format!("cogpack {args:?} stdout"), text(&out.stdout));
    outputs.keep(&format!("cogpack {args:?} stderr"), text(&out.stderr));
    out
}

fn assert_fails(out: &Output, what: &str, needle: &str) {
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{what} should fail:\n{err}");
    assert!(err.contains(needle), "{what}: expected `{needle}` in:\n{err}");
}

/// A small project with a pip install, so the cache test has dependency installs to skip.
fn pip_project() -> tempfile::TempDir {
    let dir = copy_fixture("string-project");
    std::fs::write(
        dir.path().join("cog.yaml"),
        "build:\n  python_version: \"3.11\"\n  python_packages:\n    - \"six==1.16.0\"\npredict: \"predict.py:Predictor\"\n",
    )
    .unwrap();
    dir
}

fn pushed(out: &Output) -> serde_json::Value {
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("JSON on stdout:\n{}", text(&out.stdout)));
    v["pushed"][0].clone()
}

/// The first non-loopback IPv4 address of this machine (where Docker checks TLS: loopback
/// registries are "insecure" to Docker by default, so their certificates are not verified).
fn outside_ip() -> Option<String> {
    let out = Command::new("ip").args(["-4", "-o", "addr", "show"]).output().ok()?;
    text(&out.stdout).lines().find_map(|l| {
        let addr = l.split_whitespace().skip_while(|w| *w != "inet").nth(1)?;
        let ip = addr.split('/').next()?;
        (!ip.starts_with("127.")).then(|| ip.to_owned())
    })
}

fn root_or_skip(test: &str) -> bool {
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "CI runs as root");
    eprintln!("SKIPPED {test}: needs root (it writes /etc/docker/certs.d)");
    false
}

#[tokio::test(flavor = "multi_thread")]
async fn push_pull_back_and_a_source_edit_sends_only_the_changed_layers() {
    let test = "push_pull_back";
    if !root_or_skip(test) || !tools_or_skip(test) {
        return;
    }
    let Some(docker) = engine_support::engine_or_skip(test).await else { return };
    engine_support::ensure_base_image();
    let pki = Pki::new();
    let reg = Registry::start(&pki, "127.0.0.1", true);
    let mut outputs = Outputs::default();
    let project = copy_fixture("string-project");
    let dir = project.path().to_str().unwrap();
    let llb = project.path().join("llb.json");
    let first_ref = format!("{}/cogpack-e2e/string:1", reg.host);
    let _untag = Untag { docker: docker.clone(), names: vec![first_ref.clone(), format!("{}/cogpack-e2e/string:2", reg.host)] };

    let first = cogpack(&reg, &["push", dir, &first_ref, "--progress", "plain", "--format", "json"], &[], &mut outputs);
    assert_ok(&first, "first push");
    let p1 = pushed(&first);
    assert!(p1["layers_transferred"].as_u64().unwrap() >= 3, "{p1}");
    let bytes1 = p1["bytes_sent"].as_u64().unwrap();
    assert!(bytes1 > 10_000_000, "the first push sends the base layers too: {p1}");
    assert!(text(&first.stderr).contains(&format!("pushed {first_ref}")), "{}", text(&first.stderr));
    let uploads1 = reg.blob_uploads("cogpack-e2e/string");
    assert!(uploads1 >= 3, "the registry received the layers:\n{}", reg.log());

    // A source-only edit: only the source layer (and the config) go up again.
    let predict = project.path().join("predict.py");
    let mut source = std::fs::read_to_string(&predict).unwrap();
    source.push_str("\n# edited\n");
    std::fs::write(&predict, source).unwrap();
    // This time the credentials come from a credential helper (`credHelpers`), for the push
    // (X-Registry-Auth) and for the cache export (the session's Auth service).
    let helpers = tempfile::tempdir().unwrap();
    let helper = helpers.path().join("docker-credential-cogpacktest");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\nread host\n[ \"$host\" = \"{}\" ] || {{ echo 'credentials not found in native keychain'; exit 1; }}\n\
             printf '{{\"ServerURL\":\"%s\",\"Username\":\"{}\",\"Secret\":\"{}\"}}' \"$host\"\n",
            reg.host, reg.user, reg.password
        ),
    )
    .unwrap();
    std::fs::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let with_auths = std::fs::read_to_string(reg.docker_config.join("config.json")).unwrap();
    std::fs::write(reg.docker_config.join("config.json"), serde_json::json!({"credHelpers": {&reg.host: "cogpacktest"}}).to_string()).unwrap();
    let path = format!("{}:{}", helpers.path().display(), std::env::var("PATH").unwrap_or_default());
    let second_ref = format!("{}/cogpack-e2e/string:2", reg.host);
    let cache_to = format!("type=registry,ref={}/cogpack-e2e/cache:string", reg.host);
    let second = cogpack(
        &reg,
        &["build", dir, "--push", "-t", &second_ref, "--progress", "plain", "--format", "json", "--dump-llb", llb.to_str().unwrap(), "--cache-to", &cache_to],
        &[("PATH", path.as_str())],
        &mut outputs,
    );
    std::fs::write(reg.docker_config.join("config.json"), with_auths).unwrap();
    assert_ok(&second, "second push");
    let p2 = pushed(&second);
    let bytes2 = p2["bytes_sent"].as_u64().unwrap();
    assert!(p2["layers_transferred"].as_u64().unwrap() <= 2, "only the changed layers: {p2}");
    assert!(p2["layers_present"].as_u64().unwrap() >= 3, "{p2}");
    assert!(bytes2 * 20 < bytes1, "second push {bytes2} B vs first {bytes1} B");
    let uploads2 = reg.blob_uploads("cogpack-e2e/string") - uploads1;
    assert!((1..=3).contains(&uploads2), "the registry received {uploads2} blobs on the second push");
    assert_eq!(reg.tags("cogpack-e2e/string", &pki), vec!["1".to_owned(), "2".to_owned()]);
    assert!(!reg.tags("cogpack-e2e/cache", &pki).is_empty(), "the cache export authenticated through the helper");

    // Pull back: `predict` pulls an image the engine does not have.
    let _ = docker.remove_image(&first_ref, None::<bollard::query_parameters::RemoveImageOptions>, None).await;
    assert!(docker.inspect_image(&first_ref).await.is_err());
    let predicted = cogpack(&reg, &["predict", &first_ref, "-i", "s=registry"], &[], &mut outputs);
    assert_ok(&predicted, "predict of a pushed image");
    assert_eq!(text(&predicted.stdout).trim(), "hello registry");
    assert!(text(&predicted.stderr).contains("pulling"), "{}", text(&predicted.stderr));

    // The image, the plan and the LLB carry no credentials either.
    let inspect = docker.inspect_image(&first_ref).await.unwrap();
    outputs.keep("the pushed image's config", serde_json::to_string(&inspect).unwrap());
    let history = docker.image_history(&first_ref).await.unwrap();
    outputs.keep("the pushed image's history", format!("{history:?}"));
    outputs.keep("the LLB dump", std::fs::read_to_string(&llb).unwrap());
    let plan = cogpack(&reg, &["plan", dir, "--format", "json"], &[], &mut outputs);
    assert_ok(&plan, "plan");
    outputs.assert_free_of(&reg.secrets());
    for r in [&first_ref, &second_ref] {
        let _ = docker.remove_image(r, None::<bollard::query_parameters::RemoveImageOptions>, None).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn registry_failures_are_clear_errors_and_leave_no_tag() {
    let test = "registry_failures";
    if !root_or_skip(test) || !tools_or_skip(test) {
        return;
    }
    let Some(docker) = engine_support::engine_or_skip(test).await else { return };
    engine_support::ensure_base_image();
    let pki = Pki::new();
    let mut reg = Registry::start(&pki, "127.0.0.1", true);
    let mut outputs = Outputs::default();
    let project = copy_fixture("string-project");
    let dir = project.path().to_str().unwrap();

    // A registry that drops every connection after 1 MB of upload: the push fails naming
    // the cause, and the registry has no tag for it.
    let proxy_port = free_port();
    let proxy_host = format!("127.0.0.1:{proxy_port}");
    let upstream = reg.host.clone();
    let proxy = tokio::spawn(dropping_proxy(proxy_port, upstream, 1 << 20));
    reg.login(&[&proxy_host]);
    let dropped = cogpack(&reg, &["push", dir, &format!("{proxy_host}/cogpack-e2e/dropped:1"), "--progress", "plain"], &[], &mut outputs);
    assert_fails(&dropped, "push through a dropping registry", "pushing");
    assert!(text(&dropped.stderr).contains("help:"), "{}", text(&dropped.stderr));
    assert!(reg.tags("cogpack-e2e/dropped", &pki).is_empty(), "no tag after a failed push");
    let local = format!("{proxy_host}/cogpack-e2e/dropped:1");
    assert!(docker.inspect_image(&local).await.is_err(), "no local name that looks pushed either");
    proxy.abort();

    // Wrong password.
    let good = std::fs::read_to_string(reg.docker_config.join("config.json")).unwrap();
    let wrong_auth = base64::engine::general_purpose::STANDARD.encode(format!("{}:wrong-{}", reg.user, random_hex(4)));
    std::fs::write(reg.docker_config.join("config.json"), serde_json::json!({"auths": {&reg.host: {"auth": wrong_auth}}}).to_string()).unwrap();
    let wrong = cogpack(&reg, &["push", dir, &format!("{}/cogpack-e2e/wrong:1", reg.host), "--progress", "plain"], &[], &mut outputs);
    assert_fails(&wrong, "push with a wrong password", "refused the credentials");
    std::fs::write(reg.docker_config.join("config.json"), good).unwrap();
    assert!(reg.tags("cogpack-e2e/wrong", &pki).is_empty());
    assert!(docker.inspect_image(&format!("{}/cogpack-e2e/wrong:1", reg.host)).await.is_err());

    // A registry that does not exist.
    let unknown = cogpack(&reg, &["push", dir, "registry.invalid:5000/cogpack-e2e/x:1", "--progress", "plain"], &[], &mut outputs);
    assert_fails(&unknown, "push to an unknown registry", "nothing answers");

    // A certificate whose CA the engine does not have (off loopback, where Docker checks TLS),
    // then the same registry once its CA is in /etc/docker/certs.d/HOST:PORT/ca.crt.
    if let Some(ip) = outside_ip() {
        let untrusted = Registry::start(&pki, &ip, false);
        let r = format!("{}/cogpack-e2e/ca:1", untrusted.host);
        let _untag = Untag { docker: docker.clone(), names: vec![r.clone()] };
        let denied = cogpack(&untrusted, &["push", dir, &r, "--progress", "plain"], &[], &mut outputs);
        assert_fails(&denied, "push to a registry whose CA is unknown", "/etc/docker/certs.d/");
        let d = PathBuf::from("/etc/docker/certs.d").join(&untrusted.host);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::copy(pki.ca(), d.join("ca.crt")).unwrap();
        let allowed = cogpack(&untrusted, &["push", dir, &r, "--progress", "plain"], &[], &mut outputs);
        let _ = std::fs::remove_dir_all(&d);
        assert_ok(&allowed, "push once the CA is in certs.d");
        let _ = docker.remove_image(&r, None::<bollard::query_parameters::RemoveImageOptions>, None).await;
        outputs.assert_free_of(&untrusted.secrets());
    } else {
        panic!("no non-loopback address to test certificate checks on");
    }

    // A bad --cache-to is a usage error before anything runs.
    let bad = cogpack(&reg, &["build", dir, "--cache-to", "type=local,dest=/tmp/x"], &[], &mut outputs);
    assert_fails(&bad, "--cache-to type=local", "type=registry");
    outputs.assert_free_of(&reg.secrets());
}

/// Forwards 127.0.0.1:`port` to `upstream`, closing each connection once the client has sent
/// more than `limit` bytes (an upload cut off in the middle).
async fn dropping_proxy(port: u16, upstream: String, limit: usize) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    loop {
        let Ok((mut client, _)) = listener.accept().await else { return };
        let upstream = upstream.clone();
        tokio::spawn(async move {
            let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await else { return };
            let (mut cr, mut cw) = client.split();
            let (mut sr, mut sw) = server.split();
            let up = async {
                let mut sent = 0;
                let mut buf = vec![0u8; 64 << 10];
                loop {
                    let n = match cr.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    sent += n;
                    if sent > limit || sw.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            };
            let down = async {
                let _ = tokio::io::copy(&mut sr, &mut cw).await;
            };
            tokio::select! { _ = up => {}, _ = down => {} }
        });
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn cache_from_the_registry_makes_a_second_empty_engine_skip_the_installs() {
    use cogpack::daemon::{down, up, EngineLayout, UpOptions};
    let test = "cache_to_second_engine";
    if !root_or_skip(test) || !tools_or_skip(test) {
        return;
    }
    let Some(docker) = engine_support::engine_or_skip(test).await else { return };
    engine_support::ensure_base_image();
    let pki = Pki::new();
    let reg = Registry::start(&pki, "127.0.0.1", true);
    let mut outputs = Outputs::default();
    let project = pip_project();
    let dir = project.path().to_str().unwrap();
    let cache = format!("{}/cogpack-e2e/cache:pip", reg.host);
    let tag = format!("cogpack-e2e/cache-pip:{}", random_hex(3));
    let _untag = Untag { docker: docker.clone(), names: vec![tag.clone(), format!("{}/cogpack/base:cuda11.0-cudnn8-focal", reg.host)] };

    // Engine A (the shared engine): a missing cache is a note, then the cache is exported.
    let a = cogpack(
        &reg,
        &["build", dir, "-t", &tag, "--progress", "plain", "--cache-from", &cache, "--cache-to", &format!("type=registry,ref={cache},mode=max")],
        &[],
        &mut outputs,
    );
    assert_ok(&a, "build on engine A with cache export");
    let err = text(&a.stderr);
    assert!(err.contains(&format!("note: no build cache at {cache} yet")), "{err}");
    assert!(err.contains(&format!("exported the build cache to {cache}")), "{err}");
    let _ = docker.remove_image(&tag, None::<bollard::query_parameters::RemoveImageOptions>, None).await;

    // The base images go to the mirror once; a registry-origin row goes there too (any image
    // stands in for it: the test checks that it comes through the mirror under its name).
    let published = cogpack(&reg, &["images", "push", engine_support::BASE_IMAGE, "--mirror", &reg.host], &[], &mut outputs);
    assert_ok(&published, "images push");
    let cuda = "cogpack/base:cuda11.0-cudnn8-focal";
    let stand_in = cogpack(&reg, &["push", engine_support::BASE_IMAGE, &format!("{}/{cuda}", reg.host)], &[], &mut outputs);
    assert_ok(&stand_in, "push of a stand-in for a registry-origin base");
    let _ = docker.remove_image(&format!("{}/{cuda}", reg.host), None::<bollard::query_parameters::RemoveImageOptions>, None).await;

    // Engine B: a second daemon with an empty store and cache, on the host's network (it
    // reaches the loopback registry) with its own bridge, listening on TCP with mutual TLS.
    let (server_crt, server_key) = pki.issue("dockerd", "serverAuth", &["127.0.0.1"]);
    let (client_crt, client_key) = pki.issue("client", "clientAuth", &["127.0.0.1"]);
    let certs = tempfile::tempdir().unwrap();
    std::fs::copy(pki.ca(), certs.path().join("ca.pem")).unwrap();
    std::fs::copy(&client_crt, certs.path().join("cert.pem")).unwrap();
    std::fs::copy(&client_key, certs.path().join("key.pem")).unwrap();
    let tls_port = free_port();
    let home = tempfile::Builder::new().prefix("cp-reg").tempdir_in("/tmp").unwrap();
    let layout = EngineLayout::at(home.path().join("state"), home.path().join("run"));
    let opts = UpOptions {
        timeout: Duration::from_secs(90),
        extra_args: vec![
            // Leave the host's firewall to the shared engine; B's steps need no network here.
            "--iptables=false".into(),
            "-H".into(),
            format!("tcp://127.0.0.1:{tls_port}"),
            "--tlsverify".into(),
            "--tlscacert".into(),
            pki.ca().display().to_string(),
            "--tlscert".into(),
            server_crt.display().to_string(),
            "--tlskey".into(),
            server_key.display().to_string(),
        ],
        ..UpOptions::default()
    };
    let started = up(&layout, &opts, &mut |_| {}).await;
    let result = std::panic::AssertUnwindSafe(async {
        started.expect("second engine up");
        let engine = format!("docker-tcp://127.0.0.1:{tls_port}");
        let tls_env = [("DOCKER_TLS_VERIFY", "1"), ("DOCKER_CERT_PATH", certs.path().to_str().unwrap())];

        // Without the client certificate the daemon refuses us.
        let refused = cogpack(&reg, &["build", dir, "--engine", &engine, "--progress", "plain"], &[], &mut outputs);
        assert!(!refused.status.success(), "a plain connection to a --tlsverify daemon must fail");

        // The registry-origin base comes through the mirror, named in cogpack's config.toml.
        let config = home.path().join("config.toml");
        std::fs::write(&config, format!("[registry]\nmirror = \"{}\"\n", reg.host)).unwrap();
        let with_config = [tls_env[0], tls_env[1], ("COGPACK_CONFIG", config.to_str().unwrap())];
        let pulled = cogpack(&reg, &["images", "pull", cuda, "--engine", &engine], &with_config, &mut outputs);
        assert_ok(&pulled, "images pull through the mirror");
        assert!(text(&pulled.stderr).contains(&format!("pulled from {}/{cuda}", reg.host)), "{}", text(&pulled.stderr));

        // The build over TLS: the base from the mirror, every install from the cache.
        let b = cogpack(
            &reg,
            &["build", dir, "-t", &tag, "--engine", &engine, "--mirror", &reg.host, "--progress", "plain", "--cache-from", &format!("type=registry,ref={cache}")],
            &tls_env,
            &mut outputs,
        );
        assert_ok(&b, "build on the empty engine B with cache import");
        let log = text(&b.stderr);
        assert!(log.contains(&format!("base image {} pulled from {}/{}", engine_support::BASE_IMAGE, reg.host, engine_support::BASE_IMAGE)), "{log}");
        let steps = steps(&log);
        // The dependency installs (venv, the requirements and the cog runtime) and the source layer
        // come from the cache. The detached `pip freeze` stage (a label's value, solved beside
        // the image and never part of it) is not in the exported cache and runs again.
        let installs: Vec<_> = steps
            .iter()
            .filter(|(name, _)| name.contains("] install ") || name.contains("] create the virtualenv") || name.contains("] copy the project source"))
            .collect();
        // venv, the requirements with the cog runtime (one resolution), the source.
        assert!(installs.len() >= 3, "{steps:#?}");
        for (name, cached) in &installs {
            assert!(*cached, "`{name}` ran again on engine B:\n{log}");
        }
        // And the image works there.
        let b_docker = cogpack::daemon::connect(&cogpack::buildkit::EngineAddr::DockerUnix { path: layout.socket() }).await.unwrap();
        let (code, out) = engine_support::run_in(&b_docker, &tag, &["python", "-c", "import six; print(six.__version__)"]).await;
        assert_eq!((code, out.trim()), (0, "1.16.0"));
    })
    .catch_unwind()
    .await;
    let _ = down(&layout, Duration::from_secs(30)).await;
    outputs.assert_free_of(&reg.secrets());
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

/// The figures of docs/benchmarks.md ("Registry"); run by hand:
/// `cargo test --test registry_e2e bench_registry -- --ignored --nocapture`.
/// Push of the weights project (first, then after a source edit), and a cold build on an
/// empty engine (a fresh private daemon, base image from the mirror) without and with the
/// registry cache.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "benchmark: run by hand for docs/benchmarks.md"]
async fn bench_registry() {
    use cogpack::daemon::{down, up, EngineLayout, UpOptions};
    if !root_or_skip("bench") || !tools_or_skip("bench") {
        return;
    }
    let Some(docker) = engine_support::engine_or_skip("bench").await else { return };
    engine_support::ensure_base_image();
    let pki = Pki::new();
    let reg = Registry::start(&pki, "127.0.0.1", true);
    let mut outputs = Outputs::default();

    let weights = copy_fixture("weights-project");
    let wdir = weights.path().to_str().unwrap();
    for (i, label) in ["first push", "after a source edit"].iter().enumerate() {
        if i == 1 {
            let predict = weights.path().join("predict.py");
            let mut s = std::fs::read_to_string(&predict).unwrap();
            s.push_str("\n# edited\n");
            std::fs::write(&predict, s).unwrap();
        }
        // Build first, so the time measured is the push.
        let r = format!("{}/bench/weights:{i}", reg.host);
        assert_ok(&cogpack(&reg, &["build", wdir, "-t", &r, "--progress", "quiet"], &[], &mut outputs), "build");
        let t = Instant::now();
        let out = cogpack(&reg, &["push", &r, &r, "--format", "json"], &[], &mut outputs);
        assert_ok(&out, label);
        let p = pushed(&out);
        println!(
            "BENCH weights-project {label}: {:.1}s, {} layers sent ({} bytes), {} already there",
            t.elapsed().as_secs_f64(),
            p["layers_transferred"],
            p["bytes_sent"],
            p["layers_present"]
        );
        let _ = docker.remove_image(&r, None::<bollard::query_parameters::RemoveImageOptions>, None).await;
    }

    let project = pip_project();
    let dir = project.path().to_str().unwrap();
    let cache = format!("{}/bench/cache:pip", reg.host);
    let t = Instant::now();
    let a = cogpack(&reg, &["build", dir, "-t", "cogpack-bench/pip:1", "--progress", "quiet", "--cache-to", &format!("type=registry,ref={cache},mode=max")], &[], &mut outputs);
    assert_ok(&a, "build with cache export");
    println!("BENCH pip project on the warm engine with --cache-to mode=max: {:.1}s", t.elapsed().as_secs_f64());
    let _ = docker.remove_image("cogpack-bench/pip:1", None::<bollard::query_parameters::RemoveImageOptions>, None).await;
    assert_ok(&cogpack(&reg, &["images", "push", engine_support::BASE_IMAGE, "--mirror", &reg.host], &[], &mut outputs), "images push");

    for with_cache in [false, true] {
        let home = tempfile::Builder::new().prefix("cp-bench").tempdir_in("/tmp").unwrap();
        let layout = EngineLayout::at(home.path().join("state"), home.path().join("run"));
        let opts = UpOptions { timeout: Duration::from_secs(90), ..UpOptions::default() };
        up(&layout, &opts, &mut |_| {}).await.expect("private engine up");
        let engine = format!("docker-unix://{}", layout.socket().display());
        let mut args = vec!["build", dir, "-t", "cogpack-bench/pip:1", "--engine", &engine, "--mirror", &reg.host, "--progress", "plain"];
        let from = format!("type=registry,ref={cache}");
        if with_cache {
            args.extend(["--cache-from", &from]);
        }
        let t = Instant::now();
        let out = cogpack(&reg, &args, &[], &mut outputs);
        let secs = t.elapsed().as_secs_f64();
        let _ = down(&layout, Duration::from_secs(30)).await;
        assert_ok(&out, "cold build");
        let log = text(&out.stderr);
        let summary = log.lines().rev().find(|l| l.starts_with("built ")).unwrap_or_default().to_owned();
        println!("BENCH cold build on an empty engine {}: {secs:.1}s ({summary})", if with_cache { "with the registry cache" } else { "without cache" });
    }
    outputs.assert_free_of(&reg.secrets());
}

/// Steps of a `--progress plain` log: vertex name -> cached?
fn steps(log: &str) -> BTreeMap<String, bool> {
    engine_support::plain_steps(log, false)
}

/// A copy of a fixture in a temporary directory, so tests can edit it.
fn copy_fixture(name: &str) -> tempfile::TempDir {
    engine_support::copy_tree(&repo().join("fixtures").join(name))
}
