//! HTTPS in front of the simulated manager, so that a client can authenticate with a
//! certificate as an NSX principal identity.
//!
//! The API itself is served over plain HTTP on a loopback port; each TLS connection accepted
//! here is relayed, byte for byte, over a connection of its own to that port. Before relaying,
//! the common name of the client certificate (if the client showed one that chains to the
//! configured CA) is registered under the relaying connection's local port, which the API sees
//! as its peer's port: that is how a request learns it comes from a principal identity. A
//! thread serves each connection, which is plenty for a simulator.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openssl::error::ErrorStack;
use openssl::pkey::PKey;
use openssl::ssl::{ErrorCode, SslAcceptor, SslMethod, SslStream, SslVerifyMode};
use openssl::x509::X509;

use super::lock;

/// The PEM material of the HTTPS front.
#[derive(Debug, Clone)]
pub struct Tls {
    /// The manager's certificate (PEM), presented to clients.
    pub certificate: Vec<u8>,
    /// Its private key (PEM).
    pub key: Vec<u8>,
    /// The CA certificates (PEM) client certificates must chain to; their holders are
    /// principal identities named by their common name.
    pub client_ca: Vec<u8>,
}

/// The principal identities of the connections being relayed, by the relaying connection's
/// local port.
pub type Principals = Arc<Mutex<HashMap<u16, String>>>;

/// How long the relay waits when neither side has anything to say.
const IDLE: Duration = Duration::from_millis(1);

/// The acceptor of the front: the manager's certificate, client certificates asked for (not
/// required, so that basic and session authentication work over HTTPS too) and checked.
pub fn acceptor(tls: &Tls) -> Result<SslAcceptor, ErrorStack> {
    let mut builder = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls())?;
    let certificate = X509::from_pem(&tls.certificate)?;
    builder.set_certificate(&certificate)?;
    let key = PKey::private_key_from_pem(&tls.key)?;
    builder.set_private_key(&key)?;
    for ca in X509::stack_from_pem(&tls.client_ca)? {
        builder.cert_store_mut().add_cert(ca)?;
    }
    builder.set_verify(SslVerifyMode::PEER);
    Ok(builder.build())
}

/// Accept TLS connections on `listener` and relay them to `api` until `stop` is set.
pub fn serve(
    listener: TcpListener,
    api: SocketAddr,
    acceptor: SslAcceptor,
    principals: Principals,
    stop: Arc<AtomicBool>,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let acceptor = Arc::new(acceptor);
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok((stream, _)) => {
                    let acceptor = acceptor.clone();
                    let principals = principals.clone();
                    let stop = stop.clone();
                    std::thread::spawn(move || {
                        relay(stream, api, &acceptor, &principals, &stop);
                    });
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::sleep(IDLE * 10),
                Err(_) => std::thread::sleep(IDLE * 10),
            }
        }
    });
    Ok(())
}

/// One connection: the handshake, the principal registered, then bytes both ways until either
/// side closes.
fn relay(
    stream: TcpStream,
    api: SocketAddr,
    acceptor: &SslAcceptor,
    principals: &Principals,
    stop: &AtomicBool,
) {
    if stream.set_nonblocking(false).is_err() {
        return;
    }
    let Ok(mut tls) = acceptor.accept(stream) else {
        return;
    };
    let principal = tls.ssl().peer_certificate().and_then(|certificate| {
        let entry = certificate.subject_name().entries().next()?;
        entry.data().to_string().ok()
    });
    let Ok(mut inner) = TcpStream::connect(api) else {
        return;
    };
    let Ok(port) = inner.local_addr().map(|a| a.port()) else {
        return;
    };
    if let Some(name) = principal {
        lock(principals).insert(port, name);
    }
    if tls.get_ref().set_nonblocking(true).is_ok() && inner.set_nonblocking(true).is_ok() {
        pump(&mut tls, &mut inner, stop);
    }
    lock(principals).remove(&port);
    let _ = tls.shutdown();
}

fn pump(tls: &mut SslStream<TcpStream>, inner: &mut TcpStream, stop: &AtomicBool) {
    let mut buffer = vec![0u8; 16 * 1024];
    while !stop.load(Ordering::Relaxed) {
        let mut idle = true;
        match tls.ssl_read(&mut buffer) {
            Ok(0) => return,
            Ok(n) => {
                if write_plain(inner, &buffer[..n]).is_err() {
                    return;
                }
                idle = false;
            }
            Err(e) if matches!(e.code(), ErrorCode::WANT_READ | ErrorCode::WANT_WRITE) => {}
            Err(_) => return,
        }
        match inner.read(&mut buffer) {
            Ok(0) => return,
            Ok(n) => {
                if write_tls(tls, &buffer[..n]).is_err() {
                    return;
                }
                idle = false;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(_) => return,
        }
        if idle {
            std::thread::sleep(IDLE);
        }
    }
}

fn write_plain(stream: &mut TcpStream, mut bytes: &[u8]) -> std::io::Result<()> {
    while !bytes.is_empty() {
        match stream.write(bytes) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::sleep(IDLE),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn write_tls(tls: &mut SslStream<TcpStream>, mut bytes: &[u8]) -> Result<(), ()> {
    while !bytes.is_empty() {
        match tls.ssl_write(bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(e) if matches!(e.code(), ErrorCode::WANT_READ | ErrorCode::WANT_WRITE) => {
                std::thread::sleep(IDLE);
            }
            Err(_) => return Err(()),
        }
    }
    Ok(())
}
