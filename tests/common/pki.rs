//! TLS material for tests, made by the real `openssl` command.

use std::path::Path;

/// A self-signed certificate for `host` (also its DNS subject alternative name), valid `days`,
/// written to `dir` as `name.crt` and `name.key`, and as the PEM bundle `name.pem` (certificate
/// then key) that Fulcrum's certificate directory serves for the reference `name`.
pub fn make_cert(dir: &Path, name: &str, host: &str, days: u32) {
    std::fs::create_dir_all(dir).unwrap();
    let (key, crt) = (
        dir.join(format!("{name}.key")),
        dir.join(format!("{name}.crt")),
    );
    let ok = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days"])
        .arg(days.to_string())
        .arg("-subj")
        .arg(format!("/CN={host}"))
        .arg("-addext")
        .arg(format!("subjectAltName=DNS:{host}"))
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&crt)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let mut pem = std::fs::read(&crt).unwrap();
    pem.extend(std::fs::read(&key).unwrap());
    std::fs::write(dir.join(format!("{name}.pem")), pem).unwrap();
}
